// SPDX-License-Identifier: GPL-2.0

//! Access to the device's register windows and doorbells, from any context.
//!
//! The windows are device managed: once the driver unbinds they are gone, and every access
//! fails with `ENODEV`, even from an open file that outlives the binding.

use kernel::{devres::Devres, pci::Bar, prelude::*, revocable::RevocableGuard};

use crate::regs::{DOORBELL, IVSHMEM_SIZE, REGS_SIZE};

/// The register windows of one device.
pub(crate) struct Hw {
    regs: Devres<Bar<REGS_SIZE>>,
    ivshmem: Devres<Bar<IVSHMEM_SIZE>>,
    model_peer: u16,
}

impl Hw {
    pub(crate) fn new(
        regs: Devres<Bar<REGS_SIZE>>,
        ivshmem: Devres<Bar<IVSHMEM_SIZE>>,
        model_peer: u16,
    ) -> Self {
        Self {
            regs,
            ivshmem,
            model_peer,
        }
    }

    /// The BAR2 register window. The guard holds an RCU read lock: do not sleep with it.
    pub(crate) fn regs(&self) -> Result<RevocableGuard<'_, Bar<REGS_SIZE>>> {
        self.regs.try_access().ok_or(ENODEV)
    }

    /// Rings doorbell `vector` of the device.
    pub(crate) fn ring(&self, vector: u16) -> Result {
        let bar = self.ivshmem.try_access().ok_or(ENODEV)?;
        DOORBELL::default()
            .set_peer(self.model_peer)
            .set_vector(vector)
            .write(&bar);
        Ok(())
    }
}
