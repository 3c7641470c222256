// SPDX-License-Identifier: GPL-2.0

//! Device memory shared with other devices through dma-buf: the exports of a device, which
//! are revoked when their context closes or the device unbinds or resets, and what a context
//! imports from another device.
//!
//! Locking: an export's own lock, then the buffer's reservation lock, then an importing
//! context's lock (`move_notify`); the list of exports is only held on its own. So nothing
//! here revokes or drops an import with a context's lock held.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use kernel::{
    dma_buf::{Attachment, Export, Importer},
    new_mutex,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    sync::{Arc, Mutex},
};

use crate::regs::{DRAM_ADDR_BASE, REGS_SIZE};

/// The BAR that holds device memory, after the register window.
pub(crate) const DRAM_BAR: u32 = 2;

/// The offset in [`DRAM_BAR`] of device address `addr`, which is in device memory.
pub(crate) fn dram_bar_offset(addr: u64) -> Option<u64> {
    addr.checked_sub(DRAM_ADDR_BASE)?
        .checked_add(REGS_SIZE as u64)
}

/// What the driver keeps with an export: whose it is.
pub(crate) struct ExportInfo {
    /// The exporting context (its address, only compared).
    pub(crate) owner: usize,
}

pub(crate) type HlExport = Export<ExportInfo>;

/// The exports of a device not yet revoked, by a number of their own.
struct List {
    exports: RBTree<u64, Arc<HlExport>>,
    next: u64,
}

impl List {
    /// Moves the exports `pick` chooses into a tree of their own (no allocation).
    fn take(&mut self, mut pick: impl FnMut(&HlExport) -> bool) -> RBTree<u64, Arc<HlExport>> {
        let mut taken = RBTree::new();
        let mut cursor = self.exports.cursor_front();
        while let Some(c) = cursor {
            if pick(c.current().1) {
                let (next, node) = c.remove_current();
                taken.insert(node);
                cursor = next;
            } else {
                cursor = c.move_next();
            }
        }
        taken
    }
}

/// The exports of a device not yet revoked.
#[pin_data]
pub(crate) struct Exports {
    #[pin]
    list: Mutex<List>,
}

impl Exports {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            list <- new_mutex!(List {
                exports: RBTree::new(),
                next: 0,
            }),
        })
    }

    /// Adds `export`, and forgets the released ones; returns its number for
    /// [`Exports::remove`].
    pub(crate) fn add(&self, export: Arc<HlExport>) -> Result<u64> {
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut list = self.list.lock();
        drop(list.take(|e| e.released()));
        let id = list.next;
        list.next += 1;
        list.exports.insert(node.into_node(id, export));
        Ok(id)
    }

    /// Forgets export `id`, which was never handed out.
    pub(crate) fn remove(&self, id: u64) {
        let removed = self.list.lock().exports.remove(&id);
        drop(removed);
    }

    /// Revokes the exports of `owner`, or all of them for `None`: their importers stop and
    /// unmap. Returns the mappings importers kept anyway (none, if they follow the rules).
    pub(crate) fn revoke(&self, owner: Option<usize>) -> usize {
        let taken = self
            .list
            .lock()
            .take(|e| owner.map_or(true, |o| e.data().owner == o));
        taken.values().map(|e| e.revoke()).sum()
    }
}

/// An importing context's view of one import, which `move_notify` turns off: the range of
/// its host region where the buffer is mapped, while mapped.
pub(crate) struct ImportState {
    /// Offset in the host region (set once mapped).
    pub(crate) va: AtomicU64,
    /// Pages mapped there.
    pub(crate) pages: AtomicUsize,
    /// Set under the importing context's lock when the exporter revoked the buffer; the
    /// engines no longer reach it.
    pub(crate) revoked: AtomicBool,
}

impl ImportState {
    pub(crate) fn new() -> Self {
        Self {
            va: AtomicU64::new(u64::MAX),
            pages: AtomicUsize::new(0),
            revoked: AtomicBool::new(false),
        }
    }
}

/// Unmaps an import from its context's MMU when the exporter revokes it.
pub(crate) trait Revoke: Send + Sync + 'static {
    /// Called with the buffer's reservation lock held: takes the context's lock and unmaps.
    fn revoke(&self, state: &ImportState);
}

/// The importer data of an attachment: the context to tell, and the import's state.
pub(crate) struct ImportNotify<C: Revoke> {
    pub(crate) ctx: Arc<C>,
    pub(crate) state: ImportState,
}

impl<C: Revoke> Importer for ImportNotify<C> {
    fn move_notify(&self) {
        self.ctx.revoke(&self.state);
    }
}

/// A buffer another device exported, attached to this device.
pub(crate) type Import<C> = Attachment<ImportNotify<C>>;

/// `HL_MEM_OP_EXPORT_DMABUF_FD`'s `flags`: the file descriptor's, as mainline.
pub(crate) fn check_fd_flags(flags: u32) -> Result {
    if flags & !kernel::dma_buf::FD_FLAGS != 0 {
        return Err(EINVAL);
    }
    Ok(())
}
