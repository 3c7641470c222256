// SPDX-License-Identifier: GPL-2.0

//! Memory the engines reach: device memory (DRAM) ranges and host pages mapped through the
//! device's MMU.

use kernel::{
    device::{self, Bound},
    dma::{CoherentAllocation, UserPages},
    dma_write,
    prelude::*,
    rbtree::{RBTree, RBTreeNode, RBTreeNodeReservation},
};

/// A first-fit allocator of ranges in `[0, size)`.
pub(crate) struct RangeAllocator {
    /// Free ranges, start to length; never adjacent.
    free: RBTree<u64, u64>,
    size: u64,
}

impl RangeAllocator {
    pub(crate) fn new(size: u64) -> Result<Self> {
        let mut free = RBTree::new();
        if size > 0 {
            free.try_create_and_insert(0, size, GFP_KERNEL)?;
        }
        Ok(Self { free, size })
    }

    /// Bytes not allocated.
    pub(crate) fn available(&self) -> u64 {
        self.free.values().sum()
    }

    /// Allocates `len` bytes aligned to `align` (a power of two).
    pub(crate) fn alloc(&mut self, len: u64, align: u64) -> Result<u64> {
        if len == 0 || !align.is_power_of_two() {
            return Err(EINVAL);
        }
        let (start, flen, at) = self
            .free
            .iter()
            .find_map(|(&start, &flen)| {
                let at = start.checked_next_multiple_of(align)?;
                (at.checked_add(len)? <= start + flen).then_some((start, flen, at))
            })
            .ok_or(ENOMEM)?;
        let end = at + len;
        // Allocate the nodes first, so that nothing fails half way.
        let head = RBTreeNode::new(start, at - start, GFP_KERNEL)?;
        let tail = RBTreeNode::new(end, start + flen - end, GFP_KERNEL)?;
        self.free.remove(&start);
        if at > start {
            self.free.insert(head);
        }
        if start + flen > end {
            self.free.insert(tail);
        }
        Ok(at)
    }

    /// Returns `[start, start + len)`, which `alloc` handed out, to the free list.
    pub(crate) fn free(&mut self, start: u64, len: u64) -> Result {
        let end = start.checked_add(len).filter(|&e| e <= self.size).ok_or(EINVAL)?;
        let reservation = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let prev = self.free.iter().filter(|(&s, _)| s < start).last().map(|(&s, &l)| (s, l));
        let next = self.free.get(&end).copied();
        let (mut start, mut len) = (start, len);
        if let Some((ps, pl)) = prev.filter(|&(ps, pl)| ps + pl == start) {
            self.free.remove(&ps);
            start = ps;
            len += pl;
        }
        if let Some(nl) = next {
            self.free.remove(&end);
            len += nl;
        }
        self.free.insert(reservation.into_node(start, len));
        Ok(())
    }
}

/// Entries per MMU table; each table is one 4 KiB page.
const ENTRIES: usize = 512;
const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Host addresses the MMU translates: 2^39 bytes.
pub(crate) const HOST_VA_SIZE: u64 = 1 << 39;

/// One table of the MMU's three levels.
struct Table {
    mem: CoherentAllocation<u64>,
    /// Next-level tables (empty at the last level).
    children: KVec<Option<KBox<Table>>>,
}

impl Table {
    fn new(dev: &device::Device<Bound>, leaf: bool) -> Result<Self> {
        let mut children = KVec::new();
        if !leaf {
            children.reserve(ENTRIES, GFP_KERNEL)?;
            for _ in 0..ENTRIES {
                children.push(None, GFP_KERNEL)?;
            }
        }
        Ok(Self { mem: CoherentAllocation::alloc_coherent(dev, ENTRIES, GFP_KERNEL)?, children })
    }

    /// The table below entry `index`, created if missing.
    fn child(&mut self, dev: &device::Device<Bound>, index: usize, leaf: bool) -> Result<&mut Table> {
        let slot = self.children.get_mut(index).ok_or(EINVAL)?;
        if slot.is_none() {
            let table = KBox::new(Table::new(dev, leaf)?, GFP_KERNEL)?;
            dma_write!(self.mem[index] = (table.mem.dma_handle() & ADDR_MASK) | PRESENT)?;
            *slot = Some(table);
        }
        slot.as_deref_mut().ok_or(EINVAL)
    }
}

/// The page tables through which the engines reach host memory, owned by the compute context.
pub(crate) struct Mmu {
    root: Table,
}

fn indices(va: u64) -> [usize; 3] {
    [30, 21, 12].map(|shift| ((va >> shift) as usize) % ENTRIES)
}

impl Mmu {
    pub(crate) fn new(dev: &device::Device<Bound>) -> Result<Self> {
        Ok(Self { root: Table::new(dev, false)? })
    }

    /// The DMA address of the level 0 table.
    pub(crate) fn root(&self) -> u64 {
        self.root.mem.dma_handle()
    }

    /// Maps `pages` at host offset `va` (page aligned, inside [`HOST_VA_SIZE`]).
    pub(crate) fn map(&mut self, dev: &device::Device<Bound>, va: u64, pages: &UserPages) -> Result {
        for i in 0..pages.len() {
            let addr = pages.dma_address(i).ok_or(EINVAL)?;
            let page_va = va + (i as u64) * 4096;
            let [l0, l1, l2] = indices(page_va);
            let ret = self
                .root
                .child(dev, l0, false)
                .and_then(|t| t.child(dev, l1, true))
                .and_then(|t| dma_write!(t.mem[l2] = (addr & ADDR_MASK) | PRESENT | WRITABLE));
            if let Err(e) = ret {
                self.unmap(va, i);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unmaps `npages` pages at host offset `va`. Tables stay until the context goes.
    pub(crate) fn unmap(&mut self, va: u64, npages: usize) {
        for i in 0..npages {
            let [l0, l1, l2] = indices(va + (i as u64) * 4096);
            let leaf = self.root.children[l0]
                .as_deref()
                .and_then(|t| t.children.get(l1))
                .and_then(|t| t.as_deref());
            if let Some(leaf) = leaf {
                // The index is in range: `indices` reduces modulo `ENTRIES`.
                let _ = dma_write!(leaf.mem[l2] = 0);
            }
        }
    }
}
