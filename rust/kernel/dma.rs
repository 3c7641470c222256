// SPDX-License-Identifier: GPL-2.0

//! Direct memory access: addressing masks and coherent allocations.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h)

use crate::{
    alloc::Flags,
    bindings,
    devres::BoundDevice,
    device::Device,
    error::to_result,
    prelude::*,
    mm::VmArea,
    types::{ARef, AsBytes, FromBytes},
};

/// A DMA address, as the device sees it.
pub type DmaAddress = bindings::dma_addr_t;

/// Returns a mask of the low `n` bits, like C's `DMA_BIT_MASK(n)`.
pub const fn bit_mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Orders reads of coherent memory: reads after the barrier see at least what the device wrote
/// before the writes that reads before the barrier saw (`dma_rmb()`). Use it between reading a
/// descriptor's "done" flag and reading the rest of it.
pub fn rmb() {
    // SAFETY: A barrier has no preconditions.
    unsafe { bindings::dma_rmb() };
}

/// Sets the streaming and coherent DMA masks of the bound device `dev`: the addresses it can
/// reach.
pub fn set_mask_and_coherent(dev: &impl BoundDevice, mask: u64) -> Result {
    let dev = dev.as_ref().as_raw();
    // SAFETY: `dev` is a valid, bound device.
    to_result(unsafe { bindings::dma_set_mask(dev, mask) })?;
    // SAFETY: As above.
    to_result(unsafe { bindings::dma_set_coherent_mask(dev, mask) })
}

/// Memory that the CPU and the device both access, without explicit syncs, holding `count`
/// elements of `T`.
///
/// The CPU side accesses elements with volatile reads and writes (the device may change them at
/// any time), so no Rust reference to the memory is ever created.
///
/// # Invariants
///
/// `cpu_addr` points to `count` elements of `T`, allocated for `dev` by `dma_alloc_attrs` with
/// bus address `dma_handle`, and freed only in `Drop`.
pub struct CoherentAllocation<T: AsBytes + FromBytes> {
    dev: ARef<Device>,
    dma_handle: DmaAddress,
    count: usize,
    cpu_addr: *mut T,
}

// SAFETY: The allocation may be used and freed from any thread.
unsafe impl<T: AsBytes + FromBytes + Send> Send for CoherentAllocation<T> {}
// SAFETY: All accesses through `&self` are volatile element accesses.
unsafe impl<T: AsBytes + FromBytes + Sync> Sync for CoherentAllocation<T> {}

impl<T: AsBytes + FromBytes> CoherentAllocation<T> {
    /// Allocates room for `count` elements for the bound device `dev`.
    pub fn alloc(dev: &impl BoundDevice, count: usize, gfp: Flags) -> Result<Self> {
        let size = count
            .checked_mul(core::mem::size_of::<T>())
            .filter(|&s| s > 0)
            .ok_or(EINVAL)?;
        let dev = dev.as_ref();
        let mut dma_handle = 0;
        // SAFETY: `dev` is a valid, bound device; `dma_handle` is a valid out-pointer.
        let cpu_addr = unsafe {
            bindings::dma_alloc_attrs(dev.as_raw(), size, &mut dma_handle, gfp.as_raw(), 0)
        };
        if cpu_addr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: Allocated above; page alignment satisfies `T`'s alignment.
        Ok(Self { dev: dev.into(), dma_handle, count, cpu_addr: cpu_addr.cast() })
    }

    /// The bus address of the first element, to hand to the device.
    pub fn dma_handle(&self) -> DmaAddress {
        self.dma_handle
    }

    /// The size in bytes.
    pub fn size(&self) -> usize {
        self.count * core::mem::size_of::<T>()
    }

    /// Reads element `index`; `None` if out of range.
    pub fn read(&self, index: usize) -> Option<T> {
        if index >= self.count {
            return None;
        }
        // SAFETY: In bounds per the check; any bit pattern is a valid `T` (`FromBytes`).
        Some(unsafe { self.cpu_addr.add(index).read_volatile() })
    }

    /// Writes element `index`; `EINVAL` if out of range.
    pub fn write(&self, index: usize, value: T) -> Result {
        if index >= self.count {
            return Err(EINVAL);
        }
        // SAFETY: In bounds per the check.
        unsafe { self.cpu_addr.add(index).write_volatile(value) };
        Ok(())
    }
}

impl<T: AsBytes + FromBytes> CoherentAllocation<T> {
    /// Maps the whole allocation into `vma`, which must not be longer. The area's file offset is
    /// ignored (reset to 0).
    ///
    /// The caller must keep the allocation alive as long as the mapping, for instance with
    /// [`VmArea::keep_alive`].
    pub fn mmap(&self, vma: &VmArea) -> Result {
        if vma.len() > self.size().next_multiple_of(crate::page::PAGE_SIZE) {
            return Err(EINVAL);
        }
        vma.set_pgoff(0);
        // SAFETY: `vma` is being set up (type invariant of `VmArea`); the buffer is this
        // allocation, with its size and bus address.
        to_result(unsafe {
            bindings::dma_mmap_attrs(
                self.dev.as_raw(),
                vma.as_raw(),
                self.cpu_addr.cast(),
                self.dma_handle,
                self.size(),
                0,
            )
        })
    }
}

impl<T: AsBytes + FromBytes> Drop for CoherentAllocation<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, this is the allocation `dma_alloc_attrs` returned for
        // `dev`, of this size, freed only here.
        unsafe {
            bindings::dma_free_attrs(
                self.dev.as_raw(),
                self.size(),
                self.cpu_addr.cast(),
                self.dma_handle,
                0,
            )
        };
    }
}

/// Pages of a process, pinned and mapped for DMA by a device, released on drop.
///
/// # Invariants
///
/// `pages[i]` is pinned (`pin_user_pages_fast`) and mapped for `dev` at `addrs[i]`,
/// bidirectionally, one page each; both vectors have the same length.
pub struct UserPages {
    dev: ARef<Device>,
    pages: KVec<*mut bindings::page>,
    addrs: KVec<DmaAddress>,
}

// SAFETY: Pinned pages and their DMA mappings may be released from any thread.
unsafe impl Send for UserPages {}
// SAFETY: `&UserPages` only reads the address vector.
unsafe impl Sync for UserPages {}

impl UserPages {
    /// Pins the `npages` pages of the current process starting at the page-aligned `start`, for
    /// the device to read and write, and maps them for the bound device `dev`.
    pub fn pin(dev: &impl BoundDevice, start: usize, npages: usize) -> Result<Self> {
        if start % crate::page::PAGE_SIZE != 0 || npages == 0 || npages > i32::MAX as usize {
            return Err(EINVAL);
        }
        let dev = dev.as_ref();
        let mut pages = KVec::with_capacity(npages, GFP_KERNEL)?;
        let mut addrs = KVec::with_capacity(npages, GFP_KERNEL)?;
        let flags = bindings::FOLL_WRITE | bindings::FOLL_LONGTERM;
        // SAFETY: `pages` has room for `npages` pointers; the call fills at most that many.
        let pinned = unsafe {
            bindings::pin_user_pages_fast(start as _, npages as i32, flags, pages.as_mut_ptr())
        };
        if pinned > 0 {
            // SAFETY: The first `pinned` entries were written.
            unsafe { pages.set_len(pinned as usize) };
        }
        let mut this = Self { dev: dev.into(), pages, addrs: KVec::new() };
        if pinned != npages as i32 {
            return Err(if pinned < 0 { Error::from_errno(pinned) } else { EFAULT });
        }
        for &page in this.pages.iter() {
            // SAFETY: `page` is pinned; `dev` is bound.
            let addr = unsafe {
                bindings::dma_map_page_attrs(
                    dev.as_raw(),
                    page,
                    0,
                    crate::page::PAGE_SIZE,
                    bindings::dma_data_direction_DMA_BIDIRECTIONAL,
                    0,
                )
            };
            // SAFETY: `addr` was just returned for `dev`.
            if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
                break;
            }
            addrs.push(addr, GFP_KERNEL)?;
        }
        this.addrs = addrs;
        if this.addrs.len() != npages {
            return Err(ENOMEM);
        }
        Ok(this)
    }

    /// The DMA address of page `index`.
    pub fn dma_address(&self, index: usize) -> Option<DmaAddress> {
        self.addrs.get(index).copied()
    }

    /// The number of pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }
}

impl Drop for UserPages {
    fn drop(&mut self) {
        for &addr in self.addrs.iter() {
            // SAFETY: Mapped in `pin` for this device, page-sized, bidirectional.
            unsafe {
                bindings::dma_unmap_page_attrs(
                    self.dev.as_raw(),
                    addr,
                    crate::page::PAGE_SIZE,
                    bindings::dma_data_direction_DMA_BIDIRECTIONAL,
                    0,
                )
            };
        }
        // SAFETY: These pages were pinned in `pin` and are unpinned once, here. The device may
        // have written them.
        unsafe {
            bindings::unpin_user_pages_dirty_lock(self.pages.as_mut_ptr(), self.pages.len() as _, true)
        };
    }
}
