// SPDX-License-Identifier: GPL-2.0

//! Access to the device's register windows and doorbells, from any context.
//!
//! The ASIC's early init maps the windows (asic.rs); its doorbells are rung through it.
//!
//! The windows are device managed: once the driver unbinds they are gone, and every access
//! fails with `ENODEV`, even from an open file that outlives the binding. The same happens
//! once the device is found gone (a surprise removal: its registers read all ones), and
//! mailbox commands fail at once with `EIO` while it is dead (a hard reset failed).

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{devres::Devres, pci::Bar, prelude::*, revocable::RevocableGuard};

use crate::{
    asic::{AsicFuncs, Line},
    regs::{IVSHMEM_SIZE, MAGIC, REGS_SIZE},
};

/// The register windows of one device.
pub(crate) struct Hw {
    asic: &'static dyn AsicFuncs,
    regs: Devres<Bar<REGS_SIZE>>,
    /// The doorbell window (the device model's ivshmem BAR0).
    doorbells: Devres<Bar<IVSHMEM_SIZE>>,
    /// The device model's ivshmem peer, which its doorbells name.
    model_peer: u16,
    /// The device is gone for good: no access reaches it any more.
    gone: AtomicBool,
    /// A hard reset failed: only another reset is tried (see reset.rs).
    dead: AtomicBool,
}

impl Hw {
    pub(crate) fn new(
        asic: &'static dyn AsicFuncs,
        regs: Devres<Bar<REGS_SIZE>>,
        doorbells: Devres<Bar<IVSHMEM_SIZE>>,
        model_peer: u16,
    ) -> Self {
        Self {
            asic,
            regs,
            doorbells,
            model_peer,
            gone: AtomicBool::new(false),
            dead: AtomicBool::new(false),
        }
    }

    /// The BAR2 register window. The guard holds an RCU read lock: do not sleep with it.
    /// `ENODEV` once the device is gone.
    pub(crate) fn regs(&self) -> Result<RevocableGuard<'_, Bar<REGS_SIZE>>> {
        if self.is_gone() {
            return Err(ENODEV);
        }
        self.regs.try_access().ok_or(ENODEV)
    }

    /// Whether the device was found gone.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Looks whether the device is still there: a PCI function that went away reads all ones,
    /// and `MAGIC` never does otherwise. Once found gone it stays so. Callable from any
    /// context.
    pub(crate) fn check_gone(&self) -> bool {
        if self.is_gone() {
            return true;
        }
        let Some(regs) = self.regs.try_access() else {
            return false;
        };
        if u32::from(MAGIC::read(&regs)) != u32::MAX {
            return false;
        }
        self.gone.store(true, Ordering::Release);
        true
    }

    /// Whether a hard reset failed and none has worked since.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Records the outcome of a hard reset.
    pub(crate) fn set_dead(&self, dead: bool) {
        self.dead.store(dead, Ordering::Release);
    }

    /// The ASIC functions of the device.
    pub(crate) fn asic(&self) -> &'static dyn AsicFuncs {
        self.asic
    }

    /// The doorbell window, for the ASIC's [`AsicFuncs::ring`]. `ENODEV` once the device is
    /// gone.
    pub(crate) fn doorbells(&self) -> Result<RevocableGuard<'_, Bar<IVSHMEM_SIZE>>> {
        if self.is_gone() {
            return Err(ENODEV);
        }
        self.doorbells.try_access().ok_or(ENODEV)
    }

    /// The device model's ivshmem peer.
    pub(crate) fn model_peer(&self) -> u16 {
        self.model_peer
    }

    /// Rings the doorbell of `line`.
    pub(crate) fn ring(&self, line: Line) -> Result {
        self.asic.ring(self, line)
    }
}
