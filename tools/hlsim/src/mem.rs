// SPDX-License-Identifier: GPL-2.0

//! Shared memory: guest RAM and BAR2.
//!
//! Both are `MAP_SHARED` file mappings that QEMU and the guest write
//! concurrently. hlsim therefore never creates Rust references to their
//! bytes: registers are accessed as atomics and bulk data with volatile
//! loads and stores through bounds-checked [`VolatileSlice`]s.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use vmm_sys_util::fallocate::{FallocateMode, fallocate};

/// A whole file mapped shared and read-write.
pub struct SharedMem {
    file: File,
    map: MmapRaw,
}

impl SharedMem {
    /// Maps the existing file at `path`, such as guest RAM.
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::map(OpenOptions::new().read(true).write(true).open(path)?)
    }

    /// Creates and maps an anonymous memory file of `size` bytes.
    ///
    /// Its size is sealed, so no process it is shared with can truncate it
    /// under hlsim's mapping.
    pub fn create(name: &str, size: u64) -> io::Result<Self> {
        let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `name` is NUL-terminated and outlives the call.
        let fd = unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and nothing else owns it.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(size)?;
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: F_ADD_SEALS takes an int argument and touches no memory.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Self::map(file)
    }

    fn map(file: File) -> io::Result<Self> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty file"));
        }
        let map = MmapOptions::new().len(len).map_raw(&file)?;
        Ok(Self { file, map })
    }

    /// The mapped file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Size of the mapping in bytes.
    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    /// The `len` bytes at `off`, or `None` unless all of them are mapped.
    pub fn slice(&self, off: u64, len: u64) -> Option<VolatileSlice<'_>> {
        let whole = VolatileSlice {
            ptr: self.map.as_mut_ptr(),
            len: self.map.len(),
            _mem: PhantomData,
        };
        whole.subslice(off, len)
    }

    /// The 32-bit register at `off`.
    ///
    /// Register offsets are layout constants, so a bad one is a bug in hlsim
    /// and panics.
    fn reg(&self, off: u64) -> &AtomicU32 {
        assert!(
            off.is_multiple_of(4) && off.checked_add(4).is_some_and(|end| end <= self.size()),
            "register {off:#x} outside the mapping"
        );
        // SAFETY: the four bytes at `off` are mapped for as long as `self`
        // lives and are 4-byte aligned because the mapping is page aligned.
        // hlsim accesses them only atomically; QEMU and the guest are other
        // processes, outside Rust's memory model.
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(off as usize).cast()) }
    }

    /// Reads the register at `off`.
    pub fn read32(&self, off: u64) -> u32 {
        self.reg(off).load(Ordering::Relaxed)
    }

    /// Writes the register at `off`.
    pub fn write32(&self, off: u64, val: u32) {
        self.reg(off).store(val, Ordering::Relaxed);
    }

    /// Reads the register at `off`; later reads observe what was written before it.
    pub fn read32_acquire(&self, off: u64) -> u32 {
        self.reg(off).load(Ordering::Acquire)
    }

    /// Writes the register at `off` after every earlier write.
    pub fn write32_release(&self, off: u64, val: u32) {
        self.reg(off).store(val, Ordering::Release);
    }

    /// Reads the `_LO`/`_HI` register pair at `lo`.
    pub fn read64(&self, lo: u64) -> u64 {
        u64::from(self.read32(lo)) | u64::from(self.read32(lo + 4)) << 32
    }

    /// Writes the `_LO`/`_HI` register pair at `lo`.
    pub fn write64(&self, lo: u64, val: u64) {
        self.write32(lo, val as u32);
        self.write32(lo + 4, (val >> 32) as u32);
    }

    /// Zeroes the `len` bytes at `off` and frees the memory behind them.
    pub fn discard(&self, off: u64, len: u64) -> io::Result<()> {
        if self.slice(off, len).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "range outside the mapping",
            ));
        }
        fallocate(&self.file, FallocateMode::PunchHole, true, off, len).map_err(io::Error::from)
    }
}

/// A bounds-checked range of a [`SharedMem`], accessed with volatile operations.
#[derive(Clone, Copy)]
pub struct VolatileSlice<'a> {
    ptr: *mut u8,
    len: usize,
    _mem: PhantomData<&'a SharedMem>,
}

impl VolatileSlice<'_> {
    /// The `len` bytes at `off` within this slice, or `None` unless all of
    /// them are inside it.
    pub fn subslice(&self, off: u64, len: u64) -> Option<Self> {
        let end = off.checked_add(len)?;
        if end > self.len as u64 {
            return None;
        }
        Some(Self {
            // SAFETY: `off <= end <= self.len`, so the result stays within
            // (or one past the end of) this slice's mapping.
            ptr: unsafe { self.ptr.add(off as usize) },
            len: len as usize,
            _mem: PhantomData,
        })
    }

    /// Copies `src`, which must be as long as `self`, into `self`.
    ///
    /// Copies 8 bytes at a time where both ranges allow it.
    pub fn copy_from(&self, src: &VolatileSlice<'_>) {
        assert_eq!(self.len, src.len, "copy between slices of different sizes");
        let (dst, src, len) = (self.ptr, src.ptr.cast_const(), self.len);
        let head = dst.align_offset(8);
        let (head, words) = if head == src.align_offset(8) {
            (head.min(len), true)
        } else {
            (len, false)
        };
        let mut i = 0;
        // SAFETY: both slices are valid for `len` bytes while they live, and
        // every access below is at an offset below `len`; word accesses are
        // made only once `i >= head`, where both pointers are 8-byte aligned.
        unsafe {
            while i < head {
                ptr::write_volatile(dst.add(i), ptr::read_volatile(src.add(i)));
                i += 1;
            }
            while words && i + 8 <= len {
                let word = ptr::read_volatile(src.add(i).cast::<u64>());
                ptr::write_volatile(dst.add(i).cast::<u64>(), word);
                i += 8;
            }
            while i < len {
                ptr::write_volatile(dst.add(i), ptr::read_volatile(src.add(i)));
                i += 1;
            }
        }
    }

    /// Inverts every bit of the byte at `off`, which must be inside the slice.
    pub fn flip_byte(&self, off: u64) {
        assert!(off < self.len as u64, "byte {off} outside the slice");
        // SAFETY: `off` is inside the slice, which is valid while it lives.
        unsafe {
            let byte = self.ptr.add(off as usize);
            ptr::write_volatile(byte, !ptr::read_volatile(byte));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn slices_are_bounds_checked() {
        let mem = SharedMem::create("test", 8192).unwrap();
        assert!(mem.slice(0, 8192).is_some());
        assert!(mem.slice(8192, 0).is_some());
        assert!(mem.slice(8191, 2).is_none());
        assert!(mem.slice(8193, 0).is_none());
        assert!(mem.slice(1, u64::MAX).is_none());
        assert!(mem.slice(u64::MAX, 1).is_none());
        let sub = mem.slice(4096, 4096).unwrap();
        assert!(sub.subslice(0, 4096).is_some());
        assert!(sub.subslice(1, 4096).is_none());
        assert!(sub.subslice(u64::MAX, 2).is_none());
    }

    #[test]
    fn copy_is_byte_exact_at_any_alignment() {
        let a = SharedMem::create("a", 8192).unwrap();
        let b = SharedMem::create("b", 8192).unwrap();
        let data = pattern(4096, 7);
        a.file().write_at(&data, 0).unwrap();
        for (src_off, dst_off, len) in [(0, 0, 4096), (3, 5, 1000), (8, 16, 7), (1, 9, 4001)] {
            let zero = vec![0; 8192];
            b.file().write_at(&zero, 0).unwrap();
            let src = a.slice(src_off, len).unwrap();
            b.slice(dst_off, len).unwrap().copy_from(&src);
            let mut out = vec![0; 8192];
            b.file().read_at(&mut out, 0).unwrap();
            let (s, d, l) = (src_off as usize, dst_off as usize, len as usize);
            assert_eq!(
                out[d..d + l],
                data[s..s + l],
                "copy {src_off} -> {dst_off}, {len}"
            );
            assert!(out[..d].iter().chain(&out[d + l..]).all(|&x| x == 0));
        }
    }

    #[test]
    fn registers_and_discard() {
        let mem = SharedMem::create("regs", 8192).unwrap();
        mem.write64(0x10, 0x1122_3344_5566_7788);
        assert_eq!(mem.read32(0x10), 0x5566_7788);
        assert_eq!(mem.read32(0x14), 0x1122_3344);
        let mut raw = [0; 8];
        mem.file().read_at(&mut raw, 0x10).unwrap();
        assert_eq!(u64::from_le_bytes(raw), 0x1122_3344_5566_7788);
        mem.file().write_at(&[0xff; 8192], 0).unwrap();
        mem.discard(4096, 4096).unwrap();
        assert_eq!(mem.read32(4092), u32::MAX);
        assert_eq!(mem.read32(4096), 0);
        assert_eq!(mem.read32(8188), 0);
        assert!(mem.discard(4096, 4097).is_err());
    }

    #[test]
    fn created_memory_cannot_be_resized() {
        let mem = SharedMem::create("sealed", 8192).unwrap();
        assert!(mem.file().set_len(4096).is_err());
        assert!(mem.file().set_len(16384).is_err());
        assert_eq!(mem.file().metadata().unwrap().len(), 8192);
    }
}
