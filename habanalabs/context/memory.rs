// SPDX-License-Identifier: GPL-2.0

//! The context's memory: blocks of device memory by handle, and host pages mapped through the
//! device's MMU.

use core::sync::atomic::Ordering;
use kernel::{
    device::{self, Bound},
    dma::UserPages,
    page::PAGE_SIZE,
    prelude::*,
    rbtree::{RBTree, RBTreeNode, RBTreeNodeReservation},
    sync::{Arc, Mutex},
};

use super::Context;
use crate::{
    dmabuf::{Import, ImportState},
    hw::Hw,
    memory::{Dram, DramBlock, Mmu, RangeAllocator, GRANULE, HOST_VA_SIZE},
    regs,
};

struct Block {
    block: DramBlock,
    mapped: bool,
}

/// The largest dma-buf a context imports.
const MAX_IMPORT: u64 = 1 << 30;

/// Device memory and host mappings of a context. The device memory it holds comes back to
/// [`Dram`] when it is freed, or at [`Memory::release`].
pub(super) struct Memory {
    dram: Arc<Dram>,
    blocks: RBTree<u64, Block>,
    next_handle: u64,
    mmu: Mmu,
    host_va: RangeAllocator,
    /// Host mappings by offset in the host region: their pinned pages.
    host: RBTree<u64, UserPages>,
    /// Imported dma-bufs by offset in the host region. Never dropped with the context's lock
    /// held (detaching takes the buffer's reservation lock, which `move_notify` holds while it
    /// takes the context's).
    imports: RBTree<u64, Import<Mutex<Context>>>,
}

/// An import taken out of the context, to drop once its lock is released.
pub(super) type TakenImports = RBTree<u64, Import<Mutex<Context>>>;

impl Memory {
    pub(super) fn new(dev: &device::Device<Bound>, dram: Arc<Dram>) -> Result<Self> {
        Ok(Self {
            dram,
            blocks: RBTree::new(),
            next_handle: 1,
            mmu: Mmu::new(dev)?,
            host_va: RangeAllocator::new(HOST_VA_SIZE)?,
            host: RBTree::new(),
            imports: RBTree::new(),
        })
    }

    /// Points the device's MMU at the context's page tables.
    pub(super) fn enable_mmu(&self, hw: &Hw) -> Result {
        self.mmu.enable(hw)
    }

    /// `HL_MEM_OP_ALLOC` of `size` bytes: returns the block's handle.
    pub(super) fn alloc(&mut self, size: u64) -> Result<u64> {
        // First the node, so that nothing fails once the block is taken.
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let block = self.dram.alloc(size)?;
        let handle = self.next_handle;
        self.blocks.insert(node.into_node(
            handle,
            Block {
                block,
                mapped: false,
            },
        ));
        self.next_handle += 1;
        Ok(handle)
    }

    /// `HL_MEM_OP_FREE` of the block `handle`; `EBUSY` while it is mapped or `in_use` says
    /// that something uses its range.
    pub(super) fn free(&mut self, handle: u64, in_use: impl Fn(u64, u64) -> bool) -> Result {
        let b = self.blocks.get(&handle).ok_or(EINVAL)?;
        if b.mapped || in_use(b.block.addr(), b.block.size()) {
            return Err(EBUSY);
        }
        let b = self.blocks.remove(&handle).ok_or(EINVAL)?;
        self.dram.free(b.block)
    }

    /// `HL_MEM_OP_MAP` of the block `handle`: its device address.
    pub(super) fn map(&mut self, handle: u64) -> Result<u64> {
        let b = self.blocks.get_mut(&handle).ok_or(EINVAL)?;
        b.mapped = true;
        Ok(b.block.addr())
    }

    /// `HL_MEM_OP_UNMAP` of device address `addr`: a host mapping (any address in its first
    /// page, as `map_host` returns where the buffer starts), which fails with `EBUSY` unless
    /// `idle` says that no engine runs, or a mapped block.
    pub(super) fn unmap(&mut self, addr: u64, idle: impl FnOnce() -> bool) -> Result {
        if let Some(va) = addr.checked_sub(regs::HOST_VA_BASE) {
            let va = va - va % PAGE_SIZE as u64;
            if !idle() {
                return Err(EBUSY);
            }
            let pages = self.host.remove(&va).ok_or(EINVAL)?;
            let npages = pages.len();
            self.mmu.unmap(va, npages);
            return self.host_va.free(va, (npages * PAGE_SIZE) as u64);
        }
        let b = self
            .blocks
            .values_mut()
            .find(|b| b.block.addr() == addr && b.mapped);
        b.ok_or(EINVAL)?.mapped = false;
        Ok(())
    }

    /// Maps `pages` (pinned user memory) through the MMU; returns their device address. As
    /// mainline, the address is `hint` if that is page aligned and free, or anywhere unless
    /// `force` (then `ENOMEM`).
    pub(super) fn map_host(
        &mut self,
        dev: &device::Device<Bound>,
        pages: UserPages,
        hint: u64,
        force: bool,
    ) -> Result<u64> {
        let npages = pages.len();
        let len = (npages * PAGE_SIZE) as u64;
        let hinted = hint
            .checked_sub(regs::HOST_VA_BASE)
            .filter(|va| va % PAGE_SIZE as u64 == 0)
            .and_then(|va| self.host_va.alloc_at(va, len).ok());
        let va = match hinted {
            Some(va) => va,
            None if force => return Err(ENOMEM),
            None => self.host_va.alloc(len, GRANULE)?,
        };
        let mapped = self.mmu.map(dev, va, &pages);
        let mapped = mapped.and_then(|()| {
            self.host
                .try_create_and_insert(va, pages, GFP_KERNEL)
                .map(|_| ())
        });
        if let Err(e) = mapped {
            self.mmu.unmap(va, npages);
            self.host_va.free(va, len)?;
            return Err(e);
        }
        Ok(regs::HOST_VA_BASE + va)
    }

    /// The range `HL_MEM_OP_EXPORT_DMABUF_FD` names: `handle` a block's handle (its whole
    /// size, or the first `size` bytes) or, as 6.1 reads it for GAUDI, a device address in a
    /// block with `size` bytes from there. Both page aligned (a size is rounded up) and inside
    /// the block. Returns the device address and size.
    pub(super) fn export_range(&self, handle: u64, size: u64) -> Result<(u64, u64)> {
        let page = PAGE_SIZE as u64;
        let (addr, size) = match self.blocks.get(&handle) {
            Some(b) if size == 0 => (b.block.addr(), b.block.size()),
            Some(b) => (b.block.addr(), size),
            None => (handle, size),
        };
        let size = size.checked_next_multiple_of(page).ok_or(EINVAL)?;
        if size == 0 || addr % page != 0 || !self.contains(addr, size) {
            return Err(EINVAL);
        }
        Ok((addr, size))
    }

    /// Maps an imported buffer whose DMA ranges are `ranges` (page aligned) into the host
    /// region; records where in `state`, and returns the device address.
    pub(super) fn map_import(
        &mut self,
        dev: &device::Device<Bound>,
        ranges: &[(u64, usize)],
        state: &ImportState,
    ) -> Result<u64> {
        let page = PAGE_SIZE as u64;
        let mut len = 0u64;
        for &(addr, n) in ranges {
            if addr % page != 0 || n as u64 % page != 0 {
                return Err(EINVAL);
            }
            len = len.checked_add(n as u64).ok_or(EINVAL)?;
        }
        if len == 0 || len > MAX_IMPORT {
            return Err(EINVAL);
        }
        let va = self.host_va.alloc(len, GRANULE)?;
        // Page `i` of the buffer: in the range holding it.
        let addr = |i: usize| {
            let mut off = i as u64 * page;
            ranges.iter().find_map(|&(a, n)| {
                if off < n as u64 {
                    Some(a + off)
                } else {
                    off -= n as u64;
                    None
                }
            })
        };
        let npages = (len / page) as usize;
        if let Err(e) = self.mmu.map_each(dev, va, npages, addr) {
            self.host_va.free(va, len)?;
            return Err(e);
        }
        state.pages.store(npages, Ordering::Relaxed);
        state.va.store(va, Ordering::Relaxed);
        Ok(regs::HOST_VA_BASE + va)
    }

    /// Keeps an import, mapped at the host offset that is its key.
    pub(super) fn add_import(&mut self, node: RBTreeNode<u64, Import<Mutex<Context>>>) {
        self.imports.insert(node);
    }

    /// Gives back the host range of an import revoked before it was kept.
    pub(super) fn forget_import(&mut self, state: &ImportState) -> Result {
        let va = state.va.load(Ordering::Relaxed);
        let npages = state.pages.load(Ordering::Relaxed);
        self.host_va.free(va, (npages * PAGE_SIZE) as u64)
    }

    /// Turns off the MMU's mapping of an import the exporter revoked.
    pub(super) fn revoke_import(&mut self, state: &ImportState) {
        let va = state.va.load(Ordering::Relaxed);
        if va != u64::MAX {
            self.mmu.unmap(va, state.pages.load(Ordering::Relaxed));
        }
    }

    /// Takes out the import mapped at device address `addr` (`HL_MEM_OP_UNMAP`), unless `idle`
    /// says that an engine runs; `None` if none is there.
    pub(super) fn take_import(
        &mut self,
        addr: u64,
        idle: impl FnOnce() -> bool,
    ) -> Result<Option<Import<Mutex<Context>>>> {
        let Some(va) = addr.checked_sub(regs::HOST_VA_BASE) else {
            return Ok(None);
        };
        if self.imports.get(&va).is_none() {
            return Ok(None);
        }
        if !idle() {
            return Err(EBUSY);
        }
        let Some(import) = self.imports.remove(&va) else {
            return Ok(None);
        };
        let state = &import.importer().state;
        let npages = state.pages.load(Ordering::Relaxed);
        if !state.revoked.load(Ordering::Relaxed) {
            self.mmu.unmap(va, npages);
        }
        self.host_va.free(va, (npages * PAGE_SIZE) as u64)?;
        Ok(Some(import))
    }

    /// Takes out every import, to drop once the context's lock is released.
    pub(super) fn take_imports(&mut self) -> TakenImports {
        let imports = core::mem::take(&mut self.imports);
        for import in imports.values() {
            self.revoke_import(&import.importer().state);
        }
        imports
    }

    /// Whether `[addr, addr + size)` lies in one block.
    pub(super) fn contains(&self, addr: u64, size: u64) -> bool {
        self.blocks.values().any(|b| b.block.contains(addr, size))
    }

    /// Turns the MMU off and lets the blocks go: back to [`Dram`] if `clean`, otherwise kept
    /// allocated until the device goes (something that failed to reset may still write them).
    pub(super) fn release(&mut self, hw: &Hw, clean: bool) {
        Mmu::disable(hw);
        while let Some(cursor) = self.blocks.cursor_front() {
            let (_, b) = cursor.remove_current().1.to_key_value();
            if clean {
                // Without memory for the free list, the block stays allocated.
                let _ = self.dram.free(b.block);
            }
        }
    }
}
