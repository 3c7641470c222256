// SPDX-License-Identifier: GPL-2.0

//! Memory-mapped IO with bounds-checked accessors.
//!
//! C header: [`include/asm-generic/io.h`](srctree/include/asm-generic/io.h)

use crate::{bindings, build_assert, ffi::c_void, prelude::*};

pub mod poll;
pub mod register;

/// The address and length of an IO mapping, with `SIZE` the length known at compile time.
///
/// # Invariants
///
/// `maxsize >= SIZE`.
pub struct IoRaw<const SIZE: usize = 0> {
    addr: usize,
    maxsize: usize,
}

impl<const SIZE: usize> IoRaw<SIZE> {
    /// Describes a mapping of `maxsize` bytes at `addr`; fails if it is shorter than `SIZE`.
    pub fn new(addr: usize, maxsize: usize) -> Result<Self> {
        if maxsize < SIZE || addr.checked_add(maxsize).is_none() {
            return Err(EINVAL);
        }
        // INVARIANT: Checked above.
        Ok(Self { addr, maxsize })
    }

    /// The start of the mapping.
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The length of the mapping.
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }
}

/// An IO mapping: registers read and written with `readl()`/`writel()` and friends.
///
/// Accessors come in two kinds: `read32(OFFSET)` checks at build time that the offset is in the
/// first `SIZE` bytes and aligned (a constant offset is required); `try_read32(offset)` checks
/// at runtime against the mapping's full length and fails with `EINVAL`.
///
/// # Invariants
///
/// `self.0.addr() .. self.0.addr() + self.0.maxsize()` is a valid IO mapping for as long as
/// the `Io` exists.
#[repr(transparent)]
pub struct Io<const SIZE: usize = 0>(IoRaw<SIZE>);

macro_rules! define_accessors {
    ($read:ident, $try_read:ident, $write:ident, $try_write:ident, $c_read:ident,
     $c_write:ident, $ty:ty) => {
        #[doc = concat!("Reads a `", stringify!($ty), "` at a build-time checked offset.")]
        // Always inlined: the offset check is only decidable at build time once the constant
        // offset is propagated into it.
        #[inline(always)]
        pub fn $read(&self, offset: usize) -> $ty {
            let addr = self.io_addr_assert::<$ty>(offset);
            // SAFETY: By the type invariant and the check above, `addr` is a valid, aligned IO
            // address.
            unsafe { bindings::$c_read(addr as *const c_void) }
        }

        #[doc = concat!("Reads a `", stringify!($ty), "`; fails if `offset` is out of range.")]
        #[inline]
        pub fn $try_read(&self, offset: usize) -> Result<$ty> {
            let addr = self.io_addr::<$ty>(offset)?;
            // SAFETY: By the type invariant and the check above, `addr` is a valid, aligned IO
            // address.
            Ok(unsafe { bindings::$c_read(addr as *const c_void) })
        }

        #[doc = concat!("Writes a `", stringify!($ty), "` at a build-time checked offset.")]
        #[inline(always)]
        pub fn $write(&self, value: $ty, offset: usize) {
            let addr = self.io_addr_assert::<$ty>(offset);
            // SAFETY: By the type invariant and the check above, `addr` is a valid, aligned IO
            // address.
            unsafe { bindings::$c_write(value, addr as *mut c_void) }
        }

        #[doc = concat!("Writes a `", stringify!($ty), "`; fails if `offset` is out of range.")]
        #[inline]
        pub fn $try_write(&self, value: $ty, offset: usize) -> Result {
            let addr = self.io_addr::<$ty>(offset)?;
            // SAFETY: By the type invariant and the check above, `addr` is a valid, aligned IO
            // address.
            unsafe { bindings::$c_write(value, addr as *mut c_void) };
            Ok(())
        }
    };
}

impl<const SIZE: usize> Io<SIZE> {
    /// Views `raw` as an `Io`.
    ///
    /// # Safety
    ///
    /// `raw` must describe a valid IO mapping that outlives the returned reference.
    pub unsafe fn from_raw(raw: &IoRaw<SIZE>) -> &Self {
        // SAFETY: `Io` is a transparent wrapper of `IoRaw`; the mapping's validity is
        // guaranteed by the caller.
        unsafe { &*core::ptr::from_ref(raw).cast::<Self>() }
    }

    /// The length of the mapping, at least `SIZE`.
    pub fn maxsize(&self) -> usize {
        self.0.maxsize()
    }

    #[inline(always)]
    const fn offset_valid<U>(offset: usize, size: usize) -> bool {
        let type_size = core::mem::size_of::<U>();
        match offset.checked_add(type_size) {
            Some(end) => end <= size && offset % type_size == 0,
            None => false,
        }
    }

    #[inline]
    fn io_addr<U>(&self, offset: usize) -> Result<usize> {
        if !Self::offset_valid::<U>(offset, self.maxsize()) {
            return Err(EINVAL);
        }
        // No overflow: `IoRaw::new` checked that `addr + maxsize` fits.
        Ok(self.0.addr() + offset)
    }

    #[inline(always)]
    fn io_addr_assert<U>(&self, offset: usize) -> usize {
        build_assert!(Self::offset_valid::<U>(offset, SIZE));
        self.0.addr() + offset
    }

    define_accessors!(read8, try_read8, write8, try_write8, readb, writeb, u8);
    define_accessors!(read16, try_read16, write16, try_write16, readw, writew, u16);
    define_accessors!(read32, try_read32, write32, try_write32, readl, writel, u32);
    define_accessors!(read64, try_read64, write64, try_write64, readq, writeq, u64);
}
