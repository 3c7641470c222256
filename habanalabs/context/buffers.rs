// SPDX-License-Identifier: GPL-2.0

//! The context's command buffers, by handle.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{page::PAGE_SIZE, prelude::*, rbtree::RBTree, sync::Arc};

use crate::cb::Cb;

/// Command buffers one context may hold, counting those only a mapping or a job keeps alive.
const MAX_CBS: usize = 1024;

/// One of a context's [`MAX_CBS`] command buffers, held by the CB for as long as it exists
/// (past its handle's destruction, while it is mapped or a job runs it).
pub(crate) struct CbSlot(Arc<AtomicUsize>);

impl Drop for CbSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The type bits of a CB's handle, as mainline makes them (`HL_MMAP_TYPE_CB` shifted by the
/// page shift): bit 60. The completion queues' `mmap` offsets are below.
const CB_HANDLE_TYPE: u64 = 1 << 60;

/// The command buffers of a context. A CB's handle is also its `mmap` offset, as mainline's:
/// the type bits and a page number.
pub(super) struct Buffers {
    cbs: RBTree<u64, Arc<Cb>>,
    next: u64,
    /// The CBs that exist, with a handle or not: each holds a [`CbSlot`].
    live: Arc<AtomicUsize>,
}

impl Buffers {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            cbs: RBTree::new(),
            next: 1,
            live: Arc::new(AtomicUsize::new(0), GFP_KERNEL)?,
        })
    }

    /// Takes a slot for a new CB, before it is allocated; `ENOSPC` if [`MAX_CBS`] exist.
    pub(super) fn reserve(&self) -> Result<CbSlot> {
        let slot = CbSlot(self.live.clone());
        if self.live.fetch_add(1, Ordering::Relaxed) >= MAX_CBS {
            // Dropping the slot gives the count back.
            return Err(ENOSPC);
        }
        Ok(slot)
    }

    /// Adds `cb`; returns its handle.
    pub(super) fn add(&mut self, cb: Arc<Cb>) -> Result<u64> {
        let handle = self
            .next
            .checked_mul(PAGE_SIZE as u64)
            .filter(|&h| h < CB_HANDLE_TYPE)
            .ok_or(ENOSPC)?
            | CB_HANDLE_TYPE;
        self.cbs.try_create_and_insert(handle, cb, GFP_KERNEL)?;
        self.next += 1;
        Ok(handle)
    }

    /// Whether `mmap` offset `offset` is a CB's.
    pub(super) fn is_handle(offset: u64) -> bool {
        offset & CB_HANDLE_TYPE != 0
    }

    /// Forgets the CB of `handle`; the jobs and mappings that use it keep it alive.
    pub(super) fn remove(&mut self, handle: u64) -> Result {
        self.cbs.remove(&handle).map(drop).ok_or(EINVAL)
    }

    /// The CB of `handle`.
    pub(super) fn get(&self, handle: u64) -> Result<Arc<Cb>> {
        self.cbs.get(&handle).cloned().ok_or(EINVAL)
    }
}
