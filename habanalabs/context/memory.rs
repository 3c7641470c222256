// SPDX-License-Identifier: GPL-2.0

//! The context's memory: the device memory it counts as allocated, and host pages mapped
//! through the device's MMU.

use core::sync::atomic::Ordering;
use kernel::{
    device::{self, Bound},
    dma::UserPages,
    page::PAGE_SIZE,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{Arc, Mutex},
};

use super::Context;
use crate::{
    dmabuf::{Import, ImportState},
    hw::Hw,
    memory::{Dram, Mmu, RangeAllocator, GRANULE, HOST_VA_SIZE},
    regs,
};

/// The largest dma-buf a context imports.
const MAX_IMPORT: u64 = 1 << 30;

/// Device memory and host mappings of a context. The device memory it counts goes back to
/// [`Dram`] when it is freed, the rest at [`Memory::release`].
pub(super) struct Memory {
    dram: Arc<Dram>,
    /// Bytes of device memory the context's `ALLOC`s counted, less its `FREE`s.
    dram_used: u64,
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
            dram_used: 0,
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

    /// `HL_MEM_OP_ALLOC` of `size` bytes of device memory, as mainline GAUDI's: no handle
    /// (the user addresses DRAM itself), the bytes counted for the context and the device;
    /// `ENOMEM` if that would count more than the DRAM has.
    pub(super) fn alloc(&mut self, size: u64) -> Result {
        if size == 0 {
            return Err(EINVAL);
        }
        self.dram.charge(size)?;
        self.dram_used += size;
        Ok(())
    }

    /// `HL_MEM_OP_FREE` of `size` bytes of device memory: no longer counted; `EINVAL` for
    /// more than the context's allocations count.
    pub(super) fn free(&mut self, size: u64) -> Result {
        self.dram_used = self.dram_used.checked_sub(size).ok_or(EINVAL)?;
        self.dram.uncharge(size);
        Ok(())
    }

    /// Bytes of device memory the context's allocations count.
    pub(super) fn dram_used(&self) -> u64 {
        self.dram_used
    }

    /// `HL_MEM_OP_UNMAP` of device address `addr`: a host mapping (any address in its first
    /// page, as `map_host` returns where the buffer starts), which fails with `EBUSY` unless
    /// `idle` says that no engine runs.
    pub(super) fn unmap(&mut self, addr: u64, idle: impl FnOnce() -> bool) -> Result {
        let va = addr.checked_sub(regs::HOST_VA_BASE).ok_or(EINVAL)?;
        let va = va - va % PAGE_SIZE as u64;
        if !idle() {
            return Err(EBUSY);
        }
        let pages = self.host.remove(&va).ok_or(EINVAL)?;
        let npages = pages.len();
        self.mmu.unmap(va, npages);
        self.host_va.free(va, (npages * PAGE_SIZE) as u64)
    }

    /// Maps `pages` (pinned user memory) through the MMU at a multiple of `align` (a page or
    /// [`crate::memory::HUGE_PAGE`], a power of two); returns their device address. As mainline, the address
    /// is `hint` if that is a multiple of `align` and free, or anywhere unless `force` (then
    /// `ENOMEM`).
    pub(super) fn map_host(
        &mut self,
        dev: &device::Device<Bound>,
        pages: UserPages,
        hint: u64,
        align: u64,
        force: bool,
    ) -> Result<u64> {
        let npages = pages.len();
        let len = (npages * PAGE_SIZE) as u64;
        let hinted = hint
            .checked_sub(regs::HOST_VA_BASE)
            .filter(|va| va % align == 0)
            .and_then(|va| self.host_va.alloc_at(va, len).ok());
        let va = match hinted {
            Some(va) => va,
            None if force => return Err(ENOMEM),
            None => self.host_va.alloc(len, align)?,
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

    /// Checks the range `HL_MEM_OP_EXPORT_DMABUF_FD` names, as mainline for a device without
    /// DRAM virtual memory: `size` bytes at device address `addr`, both page aligned, in the
    /// DRAM users reach (whether or not an `ALLOC` counted it).
    pub(super) fn export_range(&self, addr: u64, size: u64) -> Result<(u64, u64)> {
        let page = PAGE_SIZE as u64;
        if size == 0 || size % page != 0 || addr % page != 0 || !self.dram.contains(addr, size) {
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

    /// Turns the MMU off and gives back the device memory the context's allocations count.
    pub(super) fn release(&mut self, hw: &Hw) {
        Mmu::disable(hw);
        self.dram.uncharge(core::mem::take(&mut self.dram_used));
    }
}
