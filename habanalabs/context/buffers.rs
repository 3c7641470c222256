// SPDX-License-Identifier: GPL-2.0

//! The context's command buffers and timestamp buffers, by handle.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{
    device::{self, Bound},
    dma::CoherentAllocation,
    mm::VmArea,
    page::PAGE_SIZE,
    prelude::*,
    rbtree::RBTree,
    sync::Arc,
    uapi,
};

use crate::cb::Cb;

/// Bytes of coherent memory, in whole pages, that the command buffers and RDMA completion
/// queue rings of one context may hold together, counting those only a mapping or a job keeps
/// alive (a ring mapped past `CQ_DESTROY`, a CB mapped past `HL_CB_OP_DESTROY`): 65536 CBs of a
/// page, or 128 of `HL_MAX_CB_SIZE`. Mainline has no bound; a count of buffers would let each
/// be 2 MiB.
const MAX_BYTES: usize = 256 << 20;

/// Timestamp buffers one context may hold.
const MAX_TS: usize = 1024;

/// A command buffer's or ring's share of its context's [`MAX_BYTES`], held by the buffer for
/// as long as it exists (past its handle's destruction, while it is mapped or a job runs it).
pub(crate) struct CbSlot {
    live: Arc<AtomicUsize>,
    bytes: usize,
}

impl CbSlot {
    /// A slot of a CB the driver writes for itself, counted against no user's budget.
    pub(crate) fn driver() -> Result<Self> {
        Ok(Self {
            live: Arc::new(AtomicUsize::new(0), GFP_KERNEL)?,
            bytes: 0,
        })
    }
}

impl Drop for CbSlot {
    fn drop(&mut self) {
        self.live.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// The type bits of a CB's handle, as mainline makes them (`HL_MMAP_TYPE_CB` shifted by the
/// page shift): bit 60. The completion queues' `mmap` offsets are below.
const CB_HANDLE_TYPE: u64 = 1 << 60;

/// The type bits of a timestamp buffer's handle, as mainline's (`HL_MMAP_TYPE_TS_BUFF`): bit 63.
const TS_HANDLE_TYPE: u64 = 1 << 63;

/// A timestamp buffer (`HL_MEM_OP_TS_ALLOC`): `u64` slots the user maps, where mainline writes
/// when a registered user interrupt comes. GAUDI has no user interrupts, so they stay 0.
pub(crate) struct TsBuffer {
    mem: CoherentAllocation<u64>,
}

impl TsBuffer {
    /// `elements` zeroed slots, in whole pages; as mainline, `EINVAL` above
    /// `TS_MAX_ELEMENTS_NUM` and `ENOMEM` for none.
    pub(crate) fn new(dev: &device::Device<Bound>, elements: u32) -> Result<Self> {
        if elements > uapi::TS_MAX_ELEMENTS_NUM {
            return Err(EINVAL);
        }
        if elements == 0 {
            return Err(ENOMEM);
        }
        let slots = (elements as usize).next_multiple_of(PAGE_SIZE / 8);
        Ok(Self {
            mem: CoherentAllocation::alloc_coherent(dev, slots, crate::cb::user_gfp())?,
        })
    }

    /// Maps the buffer into `vma`; the caller keeps it alive as long as the mapping.
    pub(crate) fn mmap(&self, vma: &VmArea) -> Result {
        self.mem.mmap(vma)
    }
}

/// The command buffers of a context. A CB's handle is also its `mmap` offset, as mainline's:
/// the type bits and a page number.
pub(super) struct Buffers {
    cbs: RBTree<u64, Arc<Cb>>,
    /// Timestamp buffers, kept until the node is closed, as mainline (no op frees them).
    ts: RBTree<u64, Arc<TsBuffer>>,
    /// The next page number, for either kind.
    next: u64,
    /// Bytes of the CBs and rings that exist, with a handle or not: each holds a [`CbSlot`].
    live: Arc<AtomicUsize>,
}

impl Buffers {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            cbs: RBTree::new(),
            ts: RBTree::new(),
            next: 1,
            live: Arc::new(AtomicUsize::new(0), GFP_KERNEL)?,
        })
    }

    /// Takes a slot for a new CB or ring of `bytes` (whole pages, one at least), before it is
    /// allocated; `ENOSPC` if it would take the context past [`MAX_BYTES`].
    pub(super) fn reserve(&self, bytes: usize) -> Result<CbSlot> {
        let bytes = bytes
            .max(1)
            .checked_next_multiple_of(PAGE_SIZE)
            .ok_or(ENOSPC)?;
        let slot = CbSlot {
            live: self.live.clone(),
            bytes,
        };
        if self.live.fetch_add(bytes, Ordering::Relaxed) + bytes > MAX_BYTES {
            // Dropping the slot gives the bytes back.
            return Err(ENOSPC);
        }
        Ok(slot)
    }

    /// Adds `cb`; returns its handle.
    pub(super) fn add(&mut self, cb: Arc<Cb>) -> Result<u64> {
        insert(&mut self.cbs, &mut self.next, CB_HANDLE_TYPE, cb)
    }

    /// Adds timestamp buffer `ts`; returns its handle. `ENOSPC` if [`MAX_TS`] exist.
    pub(super) fn add_ts(&mut self, ts: Arc<TsBuffer>) -> Result<u64> {
        if self.ts.iter().count() >= MAX_TS {
            return Err(ENOSPC);
        }
        insert(&mut self.ts, &mut self.next, TS_HANDLE_TYPE, ts)
    }

    /// Whether `mmap` offset `offset` is a CB's.
    pub(super) fn is_handle(offset: u64) -> bool {
        offset & (CB_HANDLE_TYPE | TS_HANDLE_TYPE) == CB_HANDLE_TYPE
    }

    /// The timestamp buffer of `mmap` offset `offset`, if it is one's.
    pub(super) fn ts_at(&self, offset: u64) -> Option<Arc<TsBuffer>> {
        self.ts.get(&offset).cloned()
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

/// Adds `value` to `tree` under the handle of type `kind` and page number `next`, which moves
/// on; returns the handle.
fn insert<T>(
    tree: &mut RBTree<u64, Arc<T>>,
    next: &mut u64,
    kind: u64,
    value: Arc<T>,
) -> Result<u64> {
    let handle = next
        .checked_mul(PAGE_SIZE as u64)
        .filter(|&h| h < CB_HANDLE_TYPE)
        .ok_or(ENOSPC)?
        | kind;
    tree.try_create_and_insert(handle, value, GFP_KERNEL)?;
    *next += 1;
    Ok(handle)
}
