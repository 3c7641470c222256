// SPDX-License-Identifier: GPL-2.0

//! Memory the engines reach: device memory (DRAM), which users address physically and the
//! driver only counts, and host pages mapped through the device's MMU.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    device::{self, Bound},
    dma::{CoherentAllocation, UserPages},
    dma_write,
    prelude::*,
    rbtree::{RBTree, RBTreeNode, RBTreeNodeReservation},
};

use crate::{
    hw::Hw,
    regs::{self, HOST_VA, MMU_CTL, MMU_ROOT, PTE},
};

/// Host mappings are managed in pages of this size, the MMU's.
pub(crate) const GRANULE: u64 = 4096;

/// GAUDI's huge page for host memory (mainline's `pmmu_huge.page_size`): a buffer that starts
/// on one in the caller's address space is mapped at one in the device's.
pub(crate) const HUGE_PAGE: u64 = 2 << 20;

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
        self.take(start, flen, at, len)
    }

    /// Allocates `[at, at + len)`, `ENOMEM` unless all of it is free.
    pub(crate) fn alloc_at(&mut self, at: u64, len: u64) -> Result<u64> {
        let end = at.checked_add(len).filter(|_| len > 0).ok_or(ENOMEM)?;
        let (start, flen) = self
            .free
            .iter()
            .take_while(|(&start, _)| start <= at)
            .last()
            .map(|(&start, &flen)| (start, flen))
            .filter(|&(start, flen)| start + flen >= end)
            .ok_or(ENOMEM)?;
        self.take(start, flen, at, len)
    }

    /// Takes `[at, at + len)` out of free range `[start, start + flen)`, which holds it.
    fn take(&mut self, start: u64, flen: u64, at: u64, len: u64) -> Result<u64> {
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
        let end = start
            .checked_add(len)
            .filter(|&e| e <= self.size)
            .ok_or(EINVAL)?;
        let reservation = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let prev = self
            .free
            .iter()
            .filter(|(&s, _)| s < start)
            .last()
            .map(|(&s, &l)| (s, l));
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

/// GAUDI's DRAM page size (`dram_page_size` in `HL_INFO_HW_IP_INFO`).
pub(crate) const DRAM_PAGE_SIZE: u64 = 2 << 20;

/// The device's memory (DRAM), as GAUDI's driver has it on mainline: without device virtual
/// memory, users address it by device address from [`regs::DRAM_ADDR_BASE`] on, and
/// `HL_MEM_OP_ALLOC` and `FREE` only count the bytes a user says it takes (`HL_INFO_DRAM_USAGE`).
pub(crate) struct Dram {
    /// Bytes from [`regs::DRAM_ADDR_BASE`] that the device has.
    size: u64,
    /// Bytes the contexts' allocations count.
    used: AtomicU64,
}

impl Dram {
    pub(crate) fn new(size: u64) -> Self {
        Self {
            size,
            used: AtomicU64::new(0),
        }
    }

    /// Counts `size` more bytes as allocated; `ENOMEM` (nothing counted) when more than
    /// [`Dram::capacity`] would be.
    pub(crate) fn charge(&self, size: u64) -> Result {
        let cap = self.capacity();
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(size).filter(|&u| u <= cap)
            })
            .map(|_| ())
            .map_err(|_| ENOMEM)
    }

    /// Counts `size` bytes, which [`Dram::charge`] counted, as free again.
    pub(crate) fn uncharge(&self, size: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(size))
            });
    }

    /// Bytes the allocations leave of [`Dram::capacity`].
    pub(crate) fn available(&self) -> u64 {
        self.capacity()
            .saturating_sub(self.used.load(Ordering::Relaxed))
    }

    /// Bytes users may allocate: the DRAM in whole pages of [`DRAM_PAGE_SIZE`].
    pub(crate) fn capacity(&self) -> u64 {
        self.size - self.size % DRAM_PAGE_SIZE
    }

    /// Bytes a user reaches from [`regs::DRAM_ADDR_BASE`]: all the device has.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Whether device addresses `[addr, addr + size)` lie in the DRAM users reach.
    pub(crate) fn contains(&self, addr: u64, size: u64) -> bool {
        let end = addr.checked_add(size);
        addr >= regs::DRAM_ADDR_BASE
            && end.is_some_and(|end| end <= regs::DRAM_ADDR_BASE + self.size)
    }
}

/// Entries per MMU table; each table is one 4 KiB page.
const ENTRIES: usize = 512;
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
        Ok(Self {
            mem: CoherentAllocation::alloc_coherent(dev, ENTRIES, GFP_KERNEL)?,
            children,
        })
    }

    /// The table below entry `index`, created if missing.
    fn child(
        &mut self,
        dev: &device::Device<Bound>,
        index: usize,
        leaf: bool,
    ) -> Result<&mut Table> {
        let slot = self.children.get_mut(index).ok_or(EINVAL)?;
        if slot.is_none() {
            let table = KBox::new(Table::new(dev, leaf)?, GFP_KERNEL)?;
            dma_write!(self.mem[index] = PTE::to(table.mem.dma_handle()).into())?;
            *slot = Some(table);
        }
        slot.as_deref_mut().ok_or(EINVAL)
    }
}

/// The page tables through which the engines reach host memory, owned by the compute context.
pub(crate) struct Mmu {
    root: Table,
}

impl Mmu {
    pub(crate) fn new(dev: &device::Device<Bound>) -> Result<Self> {
        Ok(Self {
            root: Table::new(dev, false)?,
        })
    }

    /// Points the device's MMU at these tables and turns it on.
    pub(crate) fn enable(&self, hw: &Hw) -> Result {
        let regs = hw.regs()?;
        MMU_ROOT::from(self.root.mem.dma_handle()).write(&regs);
        MMU_CTL::default().set_enable(true).write(&regs);
        Ok(())
    }

    /// Turns the device's MMU off, unless the device is gone.
    pub(crate) fn disable(hw: &Hw) {
        if let Ok(regs) = hw.regs() {
            MMU_CTL::default().write(&regs);
        }
    }

    /// Maps `pages` at host offset `va` (page aligned, inside [`HOST_VA_SIZE`]).
    pub(crate) fn map(
        &mut self,
        dev: &device::Device<Bound>,
        va: u64,
        pages: &UserPages,
    ) -> Result {
        self.map_each(dev, va, pages.len(), |i| pages.dma_address(i))
    }

    /// Maps `npages` pages at host offset `va`, page `i` at DMA address `addr(i)`.
    pub(crate) fn map_each(
        &mut self,
        dev: &device::Device<Bound>,
        va: u64,
        npages: usize,
        addr: impl Fn(usize) -> Option<u64>,
    ) -> Result {
        for i in 0..npages {
            let addr = addr(i).ok_or(EINVAL)?;
            let page_va = va + (i as u64) * GRANULE;
            let [l0, l1, l2] = HOST_VA::from(page_va).indices();
            let ret = self
                .root
                .child(dev, l0, false)
                .and_then(|t| t.child(dev, l1, true))
                .and_then(|t| dma_write!(t.mem[l2] = PTE::to(addr).set_writable(true).into()));
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
            let [l0, l1, l2] = HOST_VA::from(va + (i as u64) * GRANULE).indices();
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
