// SPDX-License-Identifier: GPL-2.0

//! The PCI driver: which functions it binds, probe, and the device nodes it registers.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    c_str,
    chrdev::{self, Node},
    device, fmt, hwmon, pci,
    prelude::*,
    str::CString,
    sync::Arc,
};

use crate::{
    asic::{
        gaudi::{self, Gaudi},
        model::Model,
        AsicFuncs,
    },
    device::HlDevice,
    devlink::Mgmt,
    file::{self, ComputeNode, ControlNode},
    hwmon::{Sensors, CHANNELS},
};

/// Red Hat's ivshmem function, which the device model is attached through. Probe checks the
/// model's magic, so other ivshmem users are left alone.
pub(crate) const IVSHMEM: (u16, u16) = (0x1af4, 0x1110);

// Each entry selects the ASIC functions that bring its devices up (asic.rs).
kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <HlDriver as pci::Driver>::IdInfo,
    [
        (pci::DeviceId::from_id(IVSHMEM.0, IVSHMEM.1), &Model),
        (pci::DeviceId::from_id(gaudi::VENDOR, gaudi::DEVICE), &Gaudi),
    ]
);

/// The ASIC functions the ID table gives `vendor:device`, if it names it.
#[cfg(CONFIG_KUNIT)]
pub(crate) fn asic_for(vendor: u16, device: u16) -> Option<&'static dyn AsicFuncs> {
    use kernel::device_id::IdTable as _;
    let ids = PCI_TABLE.ids();
    let index = ids
        .iter()
        .position(|id| id.vendor_id() == vendor && id.device_id() == device)?;
    PCI_TABLE.info(index).copied()
}

/// `/sys/class/habanalabs`, the class of the nodes.
pub(crate) static CLASS: chrdev::Class = chrdev::Class::new(c_str!("habanalabs"));

/// The nodes' minors, as mainline numbers them: `/dev/hlN` is minor `2 * N`,
/// `/dev/hl_controlDN` minor `2 * N + 1` (hl-thunk finds one from the other so).
pub(crate) static MINORS: chrdev::Region = chrdev::Region::new(c_str!("habanalabs"), 256);

/// Node numbers in use (the `N` of `/dev/hlN`), a bit each.
static NODE_NUMBERS: AtomicU32 = AtomicU32::new(0);

/// Takes the lowest free node number.
fn take_number() -> Result<u32> {
    let mut used = NODE_NUMBERS.load(Ordering::Relaxed);
    loop {
        let n = used.trailing_ones();
        if n >= u32::BITS {
            return Err(ENOSPC);
        }
        match NODE_NUMBERS.compare_exchange(
            used,
            used | 1 << n,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Ok(n),
            Err(now) => used = now,
        }
    }
}

/// Node number `n`, returned when its device unbinds.
struct NodeNumber(u32);

impl Drop for NodeNumber {
    fn drop(&mut self) {
        NODE_NUMBERS.fetch_and(!(1 << self.0), Ordering::AcqRel);
    }
}

/// Stops the device when dropped, after its nodes are gone: open files may outlive the
/// binding, but no engine runs for them any more.
struct Quiesce(Arc<HlDevice>);

impl Drop for Quiesce {
    fn drop(&mut self) {
        dev_info!(self.0.pdev(), "unbinding\n");
        self.0.quiesce();
    }
}

/// The driver's per-device data: devlink (which holds the Ethernet half), the sensors, the
/// device nodes and the device, torn down in this order.
#[pin_data]
pub(crate) struct HlDriver {
    _mgmt: Mgmt,
    _hwmon: hwmon::Registration<Sensors>,
    _compute: Node<ComputeNode>,
    _control: Node<ControlNode>,
    _dev: Quiesce,
    _number: NodeNumber,
}

impl pci::Driver for HlDriver {
    type IdInfo = &'static dyn AsicFuncs;

    const NAME: &'static CStr = c_str!("habanalabs");
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn shutdown(&self, pdev: &pci::Device<device::Core>) {
        // Stops every engine and port: after a kexec the device does no DMA into memory the
        // next kernel owns. Nothing else is torn down.
        self._dev.0.quiesce();
        dev_info!(pdev, "quiesced for shutdown\n");
    }

    // An error on the link, and a reset of the function (FLR from sysfs), go through the hard
    // reset of reset.rs, in its two halves.
    const RECOVERS: bool = true;

    fn error_detected(
        &self,
        _pdev: &pci::Device<device::Core>,
        state: pci::ChannelState,
    ) -> pci::ErsResult {
        let dev = &self._dev.0;
        match state {
            pci::ChannelState::PermanentFailure => {
                dev.vanished();
                pci::ErsResult::Disconnect
            }
            _ => {
                dev.pci_halt();
                pci::ErsResult::NeedReset
            }
        }
    }

    fn slot_reset(&self, _pdev: &pci::Device<device::Core>) -> pci::ErsResult {
        match self._dev.0.pci_restart() {
            Ok(()) => pci::ErsResult::Recovered,
            Err(_) => pci::ErsResult::Disconnect,
        }
    }

    fn reset_prepare(&self, _pdev: &pci::Device<device::Core>) {
        self._dev.0.pci_halt();
    }

    fn reset_done(&self, _pdev: &pci::Device<device::Core>) {
        let _ = self._dev.0.pci_restart();
    }

    fn probe(
        pdev: &pci::Device<device::Core>,
        asic: &&'static dyn AsicFuncs,
    ) -> Result<Pin<KBox<Self>>> {
        let dev = HlDevice::probe(pdev, *asic)?;
        let number = NodeNumber(take_number()?);
        let n = number.0;
        let parent = pdev.as_ref();
        KBox::pin_init(
            try_pin_init!(Self {
                _mgmt: Mgmt::new(pdev, &dev, n)?,
                _hwmon: hwmon::Registration::new(
                    pdev.as_ref(),
                    c_str!("habanalabs"),
                    &CHANNELS,
                    Sensors { dev: dev.clone() },
                )?,
                _compute: Node::new(
                    &CLASS,
                    &MINORS,
                    2 * n,
                    &CString::try_from_fmt(fmt!("hl{}", n))?,
                    parent,
                    file::compute_fops(),
                    dev.clone(),
                )?,
                _control: Node::new(
                    &CLASS,
                    &MINORS,
                    2 * n + 1,
                    &CString::try_from_fmt(fmt!("hl_controlD{}", n))?,
                    parent,
                    file::control_fops(),
                    dev.clone(),
                )?,
                _dev: Quiesce(dev),
                _number: number,
            }),
            GFP_KERNEL,
        )
    }
}
