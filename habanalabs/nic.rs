// SPDX-License-Identifier: GPL-2.0

//! The core's side of the NIC: the auxiliary device through which the Ethernet driver
//! (`eth/`) reaches the ports.
//!
//! The Ethernet driver only sees [`NicDevice`]: port registers by offset within a port's
//! block, counters, the module EEPROM, doorbells, interrupt numbers, the DMA device and the
//! `PORT_STOP` command. It never touches the compute half, so it could move to drivers/net.

use kernel::{
    auxiliary, c_str, device,
    devres::BindingGuard,
    irq, new_mutex, pci,
    prelude::*,
    str::CStr,
    sync::{Arc, Mutex},
};

use crate::{
    asic::Line,
    control::Control,
    health::Health,
    identity::Identity,
    mailbox::Command,
    regs::{self, EEPROM_SIZE},
    reset::{Cause, ResetClient},
};

/// Ports a device may have.
pub(crate) const MAX_PORTS: u8 = kernel::uapi::HL_MAX_PORTS as u8;

/// The auxiliary device of the Ethernet half: `habanalabs.eth.N`.
pub(crate) struct EthKind;

impl auxiliary::Kind for EthKind {
    const MODNAME: &'static CStr = c_str!("habanalabs");
    const NAME: &'static CStr = c_str!("eth");
    const MATCH: &'static CStr = c_str!("habanalabs.eth");
    type Data = NicDevice;
}

/// The ports' netdevs as the Ethernet half knows them, for a question RDMA asks (rdma.rs).
pub(crate) trait PortNetdevs: Send + Sync {
    /// Whether port `port` has a netdev in the calling task's network namespace.
    fn in_current_netns(&self, port: u8) -> bool;
}

/// Where the Ethernet half, while bound, answers for the ports' netdevs. Shared by the
/// Ethernet side ([`NicDevice::set_netdevs`]) and RDMA's connection set-up.
#[pin_data]
pub(crate) struct Netdevs {
    #[pin]
    inner: Mutex<Option<Arc<dyn PortNetdevs>>>,
}

impl Netdevs {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_mutex!(None),
        })
    }

    /// Whether port `port` has a netdev in the caller's network namespace: never while the
    /// Ethernet half is unbound (no port has a netdev then). Sleeps.
    pub(crate) fn in_current_netns(&self, port: u8) -> bool {
        self.inner
            .lock()
            .as_ref()
            .is_some_and(|n| n.in_current_netns(port))
    }
}

/// The NIC of one device, as the Ethernet driver sees it: the Ethernet part of the device,
/// given what it needs when the device is probed.
#[derive(Clone)]
pub(crate) struct NicDevice {
    control: Control,
    port_mask: u32,
    version: (u16, u16),
    macs: [[u8; 6]; MAX_PORTS as usize],
    /// The device's health: transmit timeouts go there, and the devlink ports are found there.
    health: Arc<Health>,
    /// Where RDMA asks about the netdevs.
    netdevs: Arc<Netdevs>,
}

impl NicDevice {
    pub(crate) fn new(
        control: Control,
        id: &Identity,
        health: Arc<Health>,
        netdevs: Arc<Netdevs>,
    ) -> Self {
        Self {
            control,
            port_mask: id.port_mask,
            version: (id.version.major(), id.version.minor()),
            macs: id.macs,
            health,
            netdevs,
        }
    }

    /// Sets who answers for the ports' netdevs: the Ethernet half, while bound (`None` as it
    /// goes, before its netdevs do). Sleeps.
    pub(crate) fn set_netdevs(&self, netdevs: Option<Arc<dyn PortNetdevs>>) {
        let old = core::mem::replace(&mut *self.netdevs.inner.lock(), netdevs);
        drop(old);
    }

    /// The device's health, for transmit timeouts and the devlink ports.
    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// The ports present, a bit each.
    pub(crate) fn port_mask(&self) -> u32 {
        self.port_mask
    }

    /// The device model's version, `(major, minor)`.
    pub(crate) fn version(&self) -> (u16, u16) {
        self.version
    }

    /// Port `port`'s MAC address.
    pub(crate) fn mac(&self, port: u8) -> [u8; 6] {
        self.macs[usize::from(port)]
    }

    /// The device that does DMA: the PCI function.
    pub(crate) fn dma_device(&self) -> &device::Device {
        self.control.pdev().as_ref()
    }

    /// A proof that the PCI function is bound, for DMA allocations; `ENODEV` once unbound.
    pub(crate) fn bound(&self) -> Result<BindingGuard<'_>> {
        self.control.bound()
    }

    /// The interrupt of RX queue `rx_queue` of port `port` (queue 0's is the port's vector),
    /// for the Ethernet driver bound to `adev`.
    pub(crate) fn irq<'a>(
        &self,
        adev: &'a auxiliary::Device<device::Bound>,
        port: u8,
        rx_queue: u16,
    ) -> Result<irq::IrqRequest<'a>> {
        if rx_queue >= regs::RX_QUEUES {
            return Err(EINVAL);
        }
        let pdev: &pci::Device<device::Bound> = adev.parent().try_into()?;
        pdev.irq_vector(u32::from(regs::vector_port_rxq(port, rx_queue)))
    }

    /// Reads register `offset` of port `port`. Callable from any context.
    pub(crate) fn read(&self, port: u8, offset: usize) -> Result<u32> {
        self.control
            .hw()
            .regs()?
            .try_read32(regs::port_reg(port, offset)?)
    }

    /// Writes register `offset` of port `port`. Callable from any context.
    pub(crate) fn write(&self, port: u8, offset: usize, value: u32) -> Result {
        self.control
            .hw()
            .regs()?
            .try_write32(value, regs::port_reg(port, offset)?)
    }

    /// Reads the 64-bit counter at `offset` of port `port`, written by the device as two
    /// halves: reads until the high half is stable, a few times at most (a counter carries into
    /// its high half once in 2^32 increments; a device whose high half never holds still gets
    /// `EIO`, not a loop it controls).
    pub(crate) fn read64(&self, port: u8, offset: usize) -> Result<u64> {
        const TRIES: usize = 4;
        let regs = self.control.hw().regs()?;
        let (lo, hi) = (
            regs::port_reg(port, offset)?,
            regs::port_reg(port, offset + 4)?,
        );
        let mut high = regs.try_read32(hi)?;
        for _ in 0..TRIES {
            let low = regs.try_read32(lo)?;
            let again = regs.try_read32(hi)?;
            if again == high {
                return Ok(u64::from(high) << 32 | u64::from(low));
            }
            high = again;
        }
        Err(EIO)
    }

    /// Reads `buf.len()` bytes of port `port`'s module EEPROM from `offset`.
    pub(crate) fn read_eeprom(&self, port: u8, offset: usize, buf: &mut [u8]) -> Result {
        if port >= MAX_PORTS
            || offset
                .checked_add(buf.len())
                .map_or(true, |end| end > EEPROM_SIZE)
        {
            return Err(EINVAL);
        }
        let regs = self.control.hw().regs()?;
        let base = regs::eeprom(port, offset);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = regs.try_read8(base + i)?;
        }
        Ok(())
    }

    /// Rings port `port`'s doorbell: the device looks at its registers again.
    pub(crate) fn kick(&self, port: u8) -> Result {
        if port >= MAX_PORTS {
            return Err(EINVAL);
        }
        self.control.hw().ring(Line::Port(port))
    }

    /// A port did not stop (`PORT_STOP` failed): asks for a hard reset, after which what the
    /// port held may go. Callable from any context.
    pub(crate) fn escalate(&self) {
        self.control.escalate(Cause::PortStuck);
    }

    /// Sets what a hard reset stops first and restarts last: the Ethernet half's ports, while
    /// it is bound (`None` as it goes). Waits for a hard reset under way. Sleeps.
    pub(crate) fn set_reset_client(&self, client: Option<Arc<dyn ResetClient>>) {
        self.control.reset().set_client(client);
    }

    /// Disables port `port` and waits until it no longer touches host memory. Sleeps.
    pub(crate) fn stop_port(&self, port: u8) -> Result {
        self.control.run(Command::PortStop {
            port: u64::from(port),
        })
    }
}
