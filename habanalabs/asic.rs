// SPDX-License-Identifier: GPL-2.0

//! The ASIC functions: what the common code asks of the hardware, as mainline's habanalabs
//! asks it of `struct hl_asic_funcs`.
//!
//! The PCI ID table gives each entry the [`AsicFuncs`] of the ASIC behind it, and probe calls
//! them, never the hardware's registers, to bring a device up: [`AsicFuncs::early_init`] maps
//! the device, checks what it is and reports its properties (an [`Early`]);
//! [`AsicFuncs::hw_reset`] returns it to its power-on state at probe, unbind and in a hard
//! reset; [`AsicFuncs::vector`] and [`AsicFuncs::ring`] are its interrupts and doorbells. The
//! rest of the driver (contexts, command submission, memory, RDMA) programs what the
//! properties describe and does not know which ASIC it runs on.
//!
//! Two ASICs are known: [`model::Model`], the device model (`tools/hlsim`, attached through
//! ivshmem), and [`gaudi::Gaudi`], a real GAUDI, whose init refuses the device: bringing one up
//! takes its firmware and the CPU-CP protocol, which this driver does not have.

use kernel::{device, pci, prelude::*, sync::Arc};

use crate::{control::Control, hw::Hw, identity::Identity, regs::QMAN_ENGINE};

pub(crate) mod gaudi;
pub(crate) mod model;

/// An interrupt and doorbell of the device, by what it serves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Line {
    /// The mailbox: commands in, their completion out.
    Control,
    /// The event queue.
    Events,
    /// QMAN `q` (the device's own index): jobs in, completions out.
    Queue(usize),
    /// NIC port `p`: its registers changed; its RX queue 0 and link events.
    Port(u8),
}

/// A queue the device has: its index, its engine, and the port of a NIC QMAN.
pub(crate) type QueueDesc = (usize, QMAN_ENGINE, Option<u8>);

/// What early init found: the device's properties, its register windows and its queues
/// (compute, then the NIC QMAN of each RDMA port), with their interrupt vectors allocated.
pub(crate) struct Early {
    pub(crate) identity: Identity,
    pub(crate) hw: Arc<Hw>,
    pub(crate) queues: KVec<QueueDesc>,
}

/// The hardware-specific half of the driver, one implementation per ASIC.
pub(crate) trait AsicFuncs: Sync {
    /// The ASIC's name, which the probe's identity line starts with.
    fn name(&self) -> &'static str;

    /// Maps the device, checks that it is this ASIC, sets its DMA mask and allocates its
    /// interrupt vectors. Fails with `ENODEV` on a device to leave alone (or one this driver
    /// cannot bring up), `EIO` on one that reports nonsense.
    fn early_init(&'static self, pdev: &pci::Device<device::Core>) -> Result<Early>;

    /// Returns the device to its power-on state: every engine stopped, queues and event queue
    /// unarmed. Polls (interrupts may not be set up); probe, unbind and hard resets call it.
    fn hw_reset(&self, control: &Control) -> Result;

    /// The MSI-X vector of `line`. Lines that share a vector get the same one.
    fn vector(&self, line: Line) -> Result<u16>;

    /// Rings the doorbell of `line`: the device looks at what the driver posted there.
    fn ring(&self, hw: &Hw, line: Line) -> Result;
}
