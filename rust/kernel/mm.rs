// SPDX-License-Identifier: GPL-2.0

//! Memory mappings of processes.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::{bindings, ffi::c_void, sync::Arc, types::Opaque};
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
