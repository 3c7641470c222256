// SPDX-License-Identifier: GPL-2.0

//! The PCI driver: which functions it binds, and probe.

use kernel::{c_str, pci, prelude::*};

use crate::device::HlDevice;

/// The driver's per-device data is the device.
pub(crate) type HlDriver = HlDevice;

/// Red Hat's ivshmem function, which the device model is attached through. Probe checks the
/// model's magic, so other ivshmem users are left alone.
const IVSHMEM: (u16, u16) = (0x1af4, 0x1110);

static ID_TABLE: pci::IdArray<(), 1> =
    pci::IdArray::new([pci::DeviceId::from_id(IVSHMEM.0, IVSHMEM.1)], [()]);

impl pci::Driver for HlDevice {
    type IdInfo = ();

    const NAME: &'static CStr = c_str!("habanalabs");
    const ID_TABLE: &'static dyn pci::IdTable<()> = &ID_TABLE;

    fn probe(pdev: &pci::Device<pci::Core>, _info: &()) -> Result<Pin<KBox<Self>>> {
        HlDevice::probe(pdev)
    }

    fn unbind(&self, _pdev: &pci::Device<pci::Core>) {
        dev_info!(self.pdev(), "unbinding\n");
    }
}
