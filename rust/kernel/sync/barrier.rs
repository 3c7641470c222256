// SPDX-License-Identifier: GPL-2.0

//! Memory barriers of the Linux kernel memory model.
//!
//! The same name and shape as the module upstream added later (`kernel::sync::barrier`), with
//! only the barrier this tree needs so far.
//!
//! C header: [`include/asm-generic/barrier.h`](srctree/include/asm-generic/barrier.h)

/// A full memory barrier (`smp_mb()`): every load and store before it is ordered before every
/// load and store after it, as other CPUs and devices sharing the memory see them.
#[inline]
pub fn smp_mb() {
    // SAFETY: `smp_mb` only orders memory accesses; it has no other effect.
    unsafe { crate::bindings::smp_mb() }
}
