// SPDX-License-Identifier: GPL-2.0

//! Direct memory access: addressing masks and coherent allocations.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h)

use crate::{
    alloc::Flags,
    bindings, build_assert,
    device::{self, Bound, Core},
    error::to_result,
    mm::VmArea,
    prelude::*,
    types::{ARef, AsBytes, FromBytes},
};

/// A DMA address, as the device sees it.
pub type DmaAddress = bindings::dma_addr_t;

/// Orders reads of coherent memory: reads after the barrier see at least what the device wrote
/// before the writes that reads before the barrier saw (`dma_rmb()`). Use it between reading a
/// descriptor's "done" flag and reading the rest of it.
pub fn rmb() {
    // SAFETY: A barrier has no preconditions.
    unsafe { bindings::dma_rmb() };
}

/// A DMA addressing mask: the addresses a device can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaMask(u64);

impl DmaMask {
    /// The mask of the low `N` bits, like C's `DMA_BIT_MASK(N)`; `N` is at most 64.
    pub const fn new<const N: u32>() -> Self {
        build_assert!(N <= 64, "a DMA mask has at most 64 bits");
        Self(if N == 64 { u64::MAX } else { (1u64 << N) - 1 })
    }
}

/// A device that does DMA: a bus device whose probe sets its addressing mask.
pub trait Device: AsRef<device::Device<Core>> {
    /// Sets the streaming and coherent DMA masks of the device.
    ///
    /// # Safety
    ///
    /// Nothing may allocate or map DMA memory for the device concurrently.
    unsafe fn dma_set_mask_and_coherent(&self, mask: DmaMask) -> Result {
        let dev = self.as_ref().as_raw();
        // SAFETY: `dev` is a valid, bound device (`Core`); nothing maps memory for it
        // concurrently, by the function's safety requirements.
        to_result(unsafe { bindings::dma_set_mask(dev, mask.0) })?;
        // SAFETY: As above.
        to_result(unsafe { bindings::dma_set_coherent_mask(dev, mask.0) })
    }
}

/// Memory that the CPU and the device both access, without explicit syncs, holding `count`
/// elements of `T`.
///
/// The CPU side accesses elements with volatile reads and writes, through [`dma_read!`] and
/// [`dma_write!`] (the device may change them at any time), so no Rust reference to the
/// memory is ever created.
///
/// # Invariants
///
/// `cpu_addr` points to `count` elements of `T`, allocated for `dev` by `dma_alloc_attrs` with
/// bus address `dma_handle`, and freed only in `Drop`.
pub struct CoherentAllocation<T: AsBytes + FromBytes> {
    dev: ARef<device::Device>,
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
    pub fn alloc_coherent(
        dev: &device::Device<Bound>,
        count: usize,
        gfp_flags: Flags,
    ) -> Result<Self> {
        let size = count
            .checked_mul(core::mem::size_of::<T>())
            .filter(|&s| s > 0)
            .ok_or(EINVAL)?;
        let mut dma_handle = 0;
        // SAFETY: `dev` is a valid, bound device; `dma_handle` is a valid out-pointer.
        let cpu_addr = unsafe {
            bindings::dma_alloc_attrs(dev.as_raw(), size, &mut dma_handle, gfp_flags.as_raw(), 0)
        };
        if cpu_addr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: Allocated above; page alignment satisfies `T`'s alignment.
        Ok(Self {
            dev: dev.into(),
            dma_handle,
            count,
            cpu_addr: cpu_addr.cast(),
        })
    }

    /// The bus address of the first element, to hand to the device.
    pub fn dma_handle(&self) -> DmaAddress {
        self.dma_handle
    }

    /// The size in bytes.
    pub fn size(&self) -> usize {
        self.count * core::mem::size_of::<T>()
    }

    /// A pointer to element `index`, for [`dma_read!`] and [`dma_write!`]; `EINVAL` if out of
    /// range.
    #[doc(hidden)]
    pub fn item_from_index(&self, index: usize) -> Result<*mut T> {
        if index >= self.count {
            return Err(EINVAL);
        }
        // SAFETY: In bounds per the check, so within the allocation (type invariant).
        Ok(unsafe { self.cpu_addr.add(index) })
    }

    /// Reads `*field` with a volatile read. Use [`dma_read!`].
    ///
    /// # Safety
    ///
    /// `field` must point into an element of this allocation (from [`Self::item_from_index`]).
    #[doc(hidden)]
    pub unsafe fn field_read<F: FromBytes>(&self, field: *const F) -> F {
        // SAFETY: `field` is in the allocation, by the function's safety requirements, and
        // aligned as part of an element; any bit pattern is a valid `F` (`FromBytes`).
        unsafe { field.read_volatile() }
    }

    /// Writes `value` to `*field` with a volatile write. Use [`dma_write!`].
    ///
    /// # Safety
    ///
    /// `field` must point into an element of this allocation (from [`Self::item_from_index`]).
    #[doc(hidden)]
    pub unsafe fn field_write<F: AsBytes>(&self, field: *mut F, value: F) {
        // SAFETY: `field` is in the allocation, by the function's safety requirements, and
        // aligned as part of an element; the memory is not referenced by Rust anywhere.
        unsafe { field.write_volatile(value) }
    }
}

/// Reads an element of a [`CoherentAllocation`], or one of its fields, with a volatile read:
/// `dma_read!(alloc[index])`, `dma_read!(alloc[index].field)`. Evaluates to
/// `Result<T>`, `EINVAL` if `index` is out of range.
#[macro_export]
macro_rules! dma_read {
    ($($alloc:ident).+ [ $index:expr ] $(. $field:ident)*) => {
        match $crate::dma::CoherentAllocation::item_from_index(&$($alloc).+, $index) {
            ::core::result::Result::Ok(item) => ::core::result::Result::<_, $crate::error::Error>::Ok(
                // SAFETY: `item` points to an element of the allocation; the projection stays
                // within it.
                unsafe {
                    $crate::dma::CoherentAllocation::field_read(
                        &$($alloc).+,
                        ::core::ptr::addr_of!((*item) $(. $field)*),
                    )
                },
            ),
            ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
        }
    };
}

/// Writes an element of a [`CoherentAllocation`], or one of its fields, with a volatile write:
/// `dma_write!(alloc[index] = value)`, `dma_write!(alloc[index].field = value)`. Evaluates to
/// `Result`, `EINVAL` if `index` is out of range.
#[macro_export]
macro_rules! dma_write {
    ($($alloc:ident).+ [ $index:expr ] $(. $field:ident)* = $value:expr) => {
        match $crate::dma::CoherentAllocation::item_from_index(&$($alloc).+, $index) {
            ::core::result::Result::Ok(item) => {
                // SAFETY: `item` points to an element of the allocation; the projection stays
                // within it.
                unsafe {
                    $crate::dma::CoherentAllocation::field_write(
                        &$($alloc).+,
                        ::core::ptr::addr_of_mut!((*item) $(. $field)*),
                        $value,
                    )
                };
                ::core::result::Result::<(), $crate::error::Error>::Ok(())
            }
            ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
        }
    };
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

/// Pages charged to a process's `pinned_vm` (shown as `VmPin` in `/proc/PID/status`) against
/// its `RLIMIT_MEMLOCK`, as RDMA's `ib_umem_get` charges them; uncharged on drop, whichever
/// task drops it.
///
/// # Invariants
///
/// `mm` is a grabbed (`mmgrab`) reference, and `npages` were added to its `pinned_vm`.
struct PinCharge {
    mm: *mut bindings::mm_struct,
    npages: usize,
}

impl PinCharge {
    /// Charges `npages` to the current process. Fails with `ENOMEM` beyond its
    /// `RLIMIT_MEMLOCK`, unless it has `CAP_IPC_LOCK`, and with `EFAULT` for a task without
    /// an address space.
    fn new(npages: usize) -> Result<Self> {
        let delta = i64::try_from(npages).map_err(|_| ENOMEM)?;
        // SAFETY: Called in process context; the helper takes a reference if there is an mm.
        let mm = unsafe { bindings::current_mm_grab() };
        if mm.is_null() {
            return Err(EFAULT);
        }
        // INVARIANT: Grabbed above; charged here, uncharged by `drop` if over the limit.
        let this = Self { mm, npages };
        // SAFETY: `mm` is valid (grabbed).
        let pinned = unsafe { bindings::mm_pinned_vm_add(mm, delta) };
        // SAFETY: Reading the current task's limit has no preconditions.
        let limit =
            unsafe { bindings::rlimit(bindings::RLIMIT_MEMLOCK) } >> crate::page::PAGE_SHIFT;
        if pinned as u64 > limit as u64
            // SAFETY: `capable` has no preconditions.
            && !unsafe { bindings::capable(bindings::CAP_IPC_LOCK as _) }
        {
            return Err(ENOMEM);
        }
        Ok(this)
    }
}

impl Drop for PinCharge {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `mm` is grabbed and was charged `npages`, which are
        // uncharged once, here, before the reference is dropped.
        unsafe {
            bindings::mm_pinned_vm_add(self.mm, -(self.npages as i64));
            bindings::mmdrop(self.mm);
        }
    }
}

// SAFETY: The counter is atomic and the grabbed reference may be dropped on any thread.
unsafe impl Send for PinCharge {}
// SAFETY: `&PinCharge` gives no access to anything.
unsafe impl Sync for PinCharge {}

/// Pages of a process, pinned for a device but not mapped for it yet, unpinned on drop; charged
/// to the process's locked memory while they live.
///
/// Pinning needs no device: a driver pins first, without holding what keeps its device bound
/// (pinning may wait for the pages to fault in, as long as a slow file system or a
/// `userfaultfd` handler takes), and then maps them with [`UserPages::map`].
///
/// # Invariants
///
/// Every entry of `pages` is pinned (`pin_user_pages_fast`), and `charge` counts them.
pub struct PinnedPages {
    /// Vmalloc'ed when large: a buffer of gigabytes has a vector of megabytes.
    pages: KVVec<*mut bindings::page>,
    // Dropped after the pages are unpinned (`Drop::drop` runs before the fields).
    _charge: PinCharge,
}

// SAFETY: Pinned pages may be unpinned from any thread.
unsafe impl Send for PinnedPages {}
// SAFETY: `&PinnedPages` gives no access to the pages.
unsafe impl Sync for PinnedPages {}

impl PinnedPages {
    /// Pins the `npages` pages of the current process starting at the page-aligned `start`,
    /// for a device to read and write.
    ///
    /// The pages are charged to the process's `pinned_vm` first: beyond its `RLIMIT_MEMLOCK`
    /// (without `CAP_IPC_LOCK`) this fails with `ENOMEM`. The page vector is charged to the
    /// caller's memory cgroup.
    pub fn pin(start: usize, npages: usize) -> Result<Self> {
        if start % crate::page::PAGE_SIZE != 0 || npages == 0 || npages > i32::MAX as usize {
            return Err(EINVAL);
        }
        let charge = PinCharge::new(npages)?;
        let mut pages = KVVec::with_capacity(npages, GFP_KERNEL_ACCOUNT)?;
        let flags = bindings::FOLL_WRITE | bindings::FOLL_LONGTERM;
        // SAFETY: `pages` has room for `npages` pointers; the call fills at most that many.
        let pinned = unsafe {
            bindings::pin_user_pages_fast(start as _, npages as i32, flags, pages.as_mut_ptr())
        };
        if pinned > 0 {
            // SAFETY: The first `pinned` entries were written.
            unsafe { pages.set_len(pinned as usize) };
        }
        // INVARIANT: Exactly the pinned pages are in the vector; dropping `this` unpins them.
        let this = Self {
            pages,
            _charge: charge,
        };
        if pinned != npages as i32 {
            return Err(if pinned < 0 {
                Error::from_errno(pinned)
            } else {
                EFAULT
            });
        }
        Ok(this)
    }

    /// The number of pages.
    #[expect(clippy::len_without_is_empty, reason = "`pin` never pins zero pages")]
    pub fn len(&self) -> usize {
        self.pages.len()
    }
}

impl Drop for PinnedPages {
    fn drop(&mut self) {
        // SAFETY: By the type invariant these pages are pinned; they are unpinned once, here.
        // The device may have written them.
        unsafe {
            bindings::unpin_user_pages_dirty_lock(
                self.pages.as_mut_ptr(),
                self.pages.len() as _,
                true,
            )
        };
    }
}

/// Pages of a process, pinned and mapped for DMA by a device, unmapped and unpinned on drop.
/// They are charged to the process's locked memory while they live (see [`PinnedPages::pin`]).
///
/// # Invariants
///
/// `pinned.pages[i]` is mapped for `dev` at `addrs[i]`, bidirectionally, one page each; both
/// vectors have the same length.
pub struct UserPages {
    dev: ARef<device::Device>,
    addrs: KVVec<DmaAddress>,
    // Dropped after the pages are unmapped (`Drop::drop` runs before the fields).
    pinned: PinnedPages,
}

// SAFETY: Pinned pages and their DMA mappings may be released from any thread.
unsafe impl Send for UserPages {}
// SAFETY: `&UserPages` only reads the address vector.
unsafe impl Sync for UserPages {}

impl UserPages {
    /// Pins the `npages` pages at `start` ([`PinnedPages::pin`]) and maps them for the bound
    /// device `dev` ([`UserPages::map`]).
    pub fn pin(dev: &device::Device<Bound>, start: usize, npages: usize) -> Result<Self> {
        Self::map(dev, PinnedPages::pin(start, npages)?)
    }

    /// Maps `pinned` for the bound device `dev`, for it to read and write. The address vector
    /// is charged to the caller's memory cgroup.
    pub fn map(dev: &device::Device<Bound>, pinned: PinnedPages) -> Result<Self> {
        let npages = pinned.len();
        let mut addrs = KVVec::with_capacity(npages, GFP_KERNEL_ACCOUNT)?;
        let mut this = Self {
            dev: dev.into(),
            addrs: KVVec::new(),
            pinned,
        };
        for &page in this.pinned.pages.iter() {
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
        // INVARIANT: `addrs[i]` maps `pinned.pages[i]`; a short vector is unmapped by `drop`.
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
    #[expect(clippy::len_without_is_empty, reason = "`pin` never pins zero pages")]
    pub fn len(&self) -> usize {
        self.pinned.len()
    }
}

impl Drop for UserPages {
    fn drop(&mut self) {
        for &addr in self.addrs.iter() {
            // SAFETY: Mapped in `map` for this device, page-sized, bidirectional.
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
        // `pinned` unpins the pages next.
    }
}
