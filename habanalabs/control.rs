// SPDX-License-Identifier: GPL-2.0

//! The device's control part: its register windows, its mailbox and the proof that it is
//! bound, handed to each part that programs the device.

use kernel::{
    devres::{Binding, BindingGuard},
    pci,
    prelude::*,
    sync::Arc,
    types::ARef,
};

use crate::{
    hw::Hw,
    mailbox::{Command, Mailbox},
    reset::{Cause, Reset},
};

/// What a part needs to program the device; cheap to clone.
#[derive(Clone)]
pub(crate) struct Control {
    pdev: ARef<pci::Device>,
    hw: Arc<Hw>,
    mailbox: Arc<Mailbox>,
    binding: Arc<Binding>,
    reset: Arc<Reset>,
}

impl Control {
    pub(crate) fn new(
        pdev: &pci::Device,
        hw: Arc<Hw>,
        mailbox: Arc<Mailbox>,
        binding: Arc<Binding>,
        reset: Arc<Reset>,
    ) -> Self {
        Self {
            pdev: pdev.into(),
            hw,
            mailbox,
            binding,
            reset,
        }
    }

    /// The device's reset state and watchdog.
    pub(crate) fn reset(&self) -> &Reset {
        &self.reset
    }

    /// A part could not stop the device from using host memory: asks for a hard reset, and
    /// keeps that memory until it is done.
    pub(crate) fn escalate(&self, cause: Cause) {
        self.reset.escalate(cause);
    }

    /// The PCI function, for logging and its interrupt vectors.
    pub(crate) fn pdev(&self) -> &pci::Device {
        &self.pdev
    }

    /// The register windows.
    pub(crate) fn hw(&self) -> &Hw {
        &self.hw
    }

    /// Returns the device to its power-on state, polling: the ASIC's [`AsicFuncs::hw_reset`].
    ///
    /// [`AsicFuncs::hw_reset`]: crate::asic::AsicFuncs::hw_reset
    pub(crate) fn hw_reset(&self) -> Result {
        self.hw.asic().hw_reset(self)
    }

    /// Runs a mailbox command, waiting for it by interrupt.
    pub(crate) fn run(&self, command: Command) -> Result {
        self.mailbox.run(command)
    }

    /// Runs a mailbox command that replies, waiting for it by interrupt; its two reply words.
    pub(crate) fn query(&self, command: Command) -> Result<[u64; 2]> {
        self.mailbox.query(command)
    }

    /// Runs a mailbox command, polling for its end.
    pub(crate) fn run_polled(&self, command: Command) -> Result {
        self.mailbox.run_polled(command)
    }

    /// A proof that the device is bound, for DMA allocations; `ENODEV` once unbound.
    pub(crate) fn bound(&self) -> Result<BindingGuard<'_>> {
        self.binding.enter()
    }
}
