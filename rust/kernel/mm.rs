// SPDX-License-Identifier: GPL-2.0

//! Memory mappings of processes.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::{bindings, error::code::EINVAL, error::Result, ffi::c_void, sync::Arc, types::Opaque};
use core::{marker::PhantomData, mem::ManuallyDrop};

/// A virtual memory area being set up by a driver's `mmap`.
///
/// # Invariants
///
/// The wrapped VMA is valid and its mm's mmap lock is held for writing for the lifetime of the
/// reference: `mmap` handlers get it from the VFS in that state.
#[repr(transparent)]
pub struct VmArea(Opaque<bindings::vm_area_struct>);

/// Flags for [`VmArea::set_flags`] (`VM_*`).
pub mod flags {
    use crate::bindings;

    /// Memory-mapped IO or DMA memory: no struct page semantics for core dumps and GUP.
    pub const IO: usize = bindings::VM_IO as usize;
    /// The area may not be grown with `mremap`.
    pub const DONTEXPAND: usize = bindings::VM_DONTEXPAND as usize;
    /// The area is left out of core dumps.
    pub const DONTDUMP: usize = bindings::VM_DONTDUMP as usize;
    /// The area is not copied into a child on fork.
    pub const DONTCOPY: usize = bindings::VM_DONTCOPY as usize;
    /// The area maps page frames that have no `struct page` semantics (see
    /// [`super::VmArea::map_io_on_fault`]).
    pub const PFNMAP: usize = bindings::VM_PFNMAP as usize;
    /// Writes reach the mapped object (`MAP_SHARED` of a file opened for writing) rather than
    /// private copies of its pages.
    pub const SHARED: usize = bindings::VM_SHARED as usize;
}

impl VmArea {
    /// # Safety
    ///
    /// `vma` must be valid and being set up under its mm's write lock for `'a`.
    pub unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmArea` is a transparent wrapper; validity is guaranteed by the caller.
        unsafe { &*vma.cast() }
    }

    /// The raw VMA, for C functions that map memory into it.
    pub fn as_raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// The first address of the area.
    pub fn start(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// The address just past the area.
    pub fn end(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// The length of the area in bytes.
    #[expect(clippy::len_without_is_empty, reason = "a VMA is never empty")]
    pub fn len(&self) -> usize {
        self.end() - self.start()
    }

    /// The offset in the file the area maps, in pages.
    pub fn pgoff(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.as_raw()).vm_pgoff }
    }

    /// Sets the file offset in pages; `mmap` handlers that use the offset as a handle reset it
    /// to 0 before mapping the object it names.
    pub fn set_pgoff(&self, pgoff: usize) {
        // SAFETY: Valid and write-locked by the type invariant.
        unsafe { (*self.as_raw()).vm_pgoff = pgoff as _ };
    }

    /// Adds `flags` (see [`flags`]).
    pub fn set_flags(&self, flags: usize) {
        // SAFETY: Valid and write-locked by the type invariant.
        unsafe { bindings::vm_flags_set(self.as_raw(), flags as _) };
    }

    /// The area's flags (see [`flags`]).
    pub fn flags(&self) -> usize {
        // SAFETY: Valid by the type invariant; the flags only change under the write lock.
        unsafe { (*self.as_raw()).__bindgen_anon_2.vm_flags }
    }

    /// Sets the area up to map IO memory (a PCI BAR) page by page as the process touches it:
    /// `source` decides what each fault maps ([`IoFault`]) and lives as long as the area.
    ///
    /// The area must be shared ([`flags::SHARED`]), else `EINVAL`: a page frame of IO memory
    /// cannot be copied on write. It becomes `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`
    /// (no `get_user_pages()`, no growing, no core dumps) and is mapped uncached, as
    /// `io_remap_pfn_range()` maps. Nothing is mapped until the first fault: a source that
    /// revokes its memory only has to zap the mappings of its file (`unmap_mapping_range()`)
    /// after it stopped mapping pages in [`IoFault::fault`]; an area still being set up, not yet
    /// reachable by a zap, has no pages to zap. This replaces the area's `vm_ops`.
    pub fn map_io_on_fault<T: IoFault>(&self, source: Arc<T>) -> Result {
        if self.flags() & flags::SHARED == 0 {
            return Err(EINVAL);
        }
        let vma = self.as_raw();
        // SAFETY: Valid and write-locked by the type invariant.
        unsafe {
            let prot = bindings::pgprot_noncached((*vma).vm_page_prot);
            (*vma).vm_page_prot = bindings::pgprot_decrypted(prot);
        }
        self.set_flags(flags::IO | flags::PFNMAP | flags::DONTEXPAND | flags::DONTDUMP);
        // SAFETY: Valid and write-locked by the type invariant; the reference stored in
        // `vm_private_data` is released by `KeepAlive::<T>::close`, and `IoMap::<T>::fault`
        // borrows it.
        unsafe {
            (*vma).vm_private_data = Arc::into_raw(source).cast_mut().cast::<c_void>();
            (*vma).vm_ops = &IoMap::<T>::OPS;
        }
        Ok(())
    }

    /// Keeps `data` alive for as long as the area (or any area split from it) exists.
    ///
    /// This is how a driver keeps memory it mapped into a process from being freed under the
    /// mapping. It replaces the area's `vm_ops`.
    pub fn keep_alive<T: Send + Sync + 'static>(&self, data: Arc<T>) {
        // SAFETY: Valid and write-locked by the type invariant; the reference stored in
        // `vm_private_data` is released by `KeepAlive::<T>::close`.
        unsafe {
            (*self.as_raw()).vm_private_data = Arc::into_raw(data).cast_mut().cast::<c_void>();
            (*self.as_raw()).vm_ops = &KeepAlive::<T>::OPS;
        }
    }
}

/// What a page fault in an area of [`VmArea::map_io_on_fault`] ends with (`vm_fault_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultResult(bindings::vm_fault_t);

impl FaultResult {
    /// The access is refused: the process gets `SIGBUS`.
    pub const SIGBUS: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS);
    /// The page is mapped (a page table entry now maps it).
    pub const NOPAGE: Self = Self(bindings::vm_fault_reason_VM_FAULT_NOPAGE);
}

/// A page fault being handled in an area of [`VmArea::map_io_on_fault`].
///
/// # Invariants
///
/// The wrapped fault is valid, for an area set up by [`VmArea::map_io_on_fault`], with the
/// area's mm or the area itself locked for reading, for the lifetime of the reference.
#[repr(transparent)]
pub struct VmFault(Opaque<bindings::vm_fault>);

impl VmFault {
    fn raw(&self) -> *mut bindings::vm_fault {
        self.0.get()
    }

    /// The faulting page's offset in the mapped file, in pages (the area's offset plus the
    /// page's index in the area).
    pub fn pgoff(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.raw()).__bindgen_anon_1.pgoff }
    }

    /// Maps page frame `pfn` at the faulting address, with the area's protection (uncached).
    /// Another thread that faulted on the same page first is no error.
    ///
    /// # Safety
    ///
    /// `pfn` must be a page of IO memory (not RAM the kernel allocates), and the caller must
    /// zap the file's mappings (`unmap_mapping_range()`) before the page stops being its to
    /// hand out (the device resets or goes away), without mapping it in a fault afterwards.
    pub unsafe fn insert_pfn(&self, pfn: usize) -> FaultResult {
        // SAFETY: Valid by the type invariant; the area is `VM_PFNMAP` and shared, as
        // `vmf_insert_pfn` requires; the page is IO memory the caller lends (the function's
        // safety requirements).
        let ret = unsafe {
            let vmf = &(*self.raw()).__bindgen_anon_1;
            bindings::vmf_insert_pfn(vmf.vma, vmf.address, pfn as _)
        };
        FaultResult(ret)
    }
}

/// IO memory that [`VmArea::map_io_on_fault`] maps into processes.
pub trait IoFault: Send + Sync + 'static {
    /// Maps the page `fault` asks for ([`VmFault::insert_pfn`], returning what it returned)
    /// or refuses it ([`FaultResult::SIGBUS`]). Called with the mm's mmap lock, or the area's
    /// own lock, held for reading; may sleep.
    fn fault(&self, fault: &VmFault) -> FaultResult;
}

struct IoMap<T>(PhantomData<T>);

impl<T: IoFault> IoMap<T> {
    const OPS: bindings::vm_operations_struct = {
        // SAFETY: `vm_operations_struct` is plain data; all zeroes means "no callback".
        let mut ops: bindings::vm_operations_struct = unsafe { core::mem::zeroed() };
        ops.open = Some(KeepAlive::<T>::open);
        ops.close = Some(KeepAlive::<T>::close);
        ops.fault = Some(Self::fault);
        ops
    };

    /// # Safety
    ///
    /// Called by the mm for a fault in an area `map_io_on_fault::<T>` set up, locked for
    /// reading.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The area's `vm_private_data` holds a `T` reference (`map_io_on_fault`,
        // `KeepAlive::open`) for as long as the area exists.
        let source = unsafe { &*(*(*vmf).__bindgen_anon_1.vma).vm_private_data.cast::<T>() };
        // SAFETY: `VmFault` is a transparent wrapper; the fault is valid and its area locked
        // for the call (the function's safety requirements).
        let fault = unsafe { &*vmf.cast::<VmFault>() };
        source.fault(fault).0
    }
}

struct KeepAlive<T>(PhantomData<T>);

impl<T: Send + Sync + 'static> KeepAlive<T> {
    const OPS: bindings::vm_operations_struct = {
        // SAFETY: `vm_operations_struct` is plain data; all zeroes means "no callback".
        let mut ops: bindings::vm_operations_struct = unsafe { core::mem::zeroed() };
        ops.open = Some(Self::open);
        ops.close = Some(Self::close);
        ops
    };

    /// A copy of the area was made (split, mremap): it holds a reference too.
    ///
    /// # Safety
    ///
    /// `vma` carries a reference from `keep_alive::<T>`.
    unsafe extern "C" fn open(vma: *mut bindings::vm_area_struct) {
        // SAFETY: `vm_private_data` holds a live `Arc<T>` reference; the clone stays owned by
        // the new area.
        let arc =
            ManuallyDrop::new(unsafe { Arc::<T>::from_raw((*vma).vm_private_data.cast::<T>()) });
        core::mem::forget(Arc::clone(&arc));
    }

    /// # Safety
    ///
    /// `vma` carries a reference from `keep_alive::<T>` or `open`, released here once.
    unsafe extern "C" fn close(vma: *mut bindings::vm_area_struct) {
        // SAFETY: See above.
        drop(unsafe { Arc::<T>::from_raw((*vma).vm_private_data.cast::<T>()) });
    }
}
