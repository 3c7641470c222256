// SPDX-License-Identifier: GPL-2.0

//! Shared memory: guest RAM and BAR2.
//!
//! Both are `MAP_SHARED` file mappings that QEMU and the guest write
//! concurrently. hlsim therefore never creates Rust references to their
//! bytes: registers and in-memory fields are accessed as atomics, bulk data
//! through bounds-checked [`VolatileSlice`]s with `memmove` and `memset` on
//! raw pointers, which assume nothing about the bytes (a guest racing a copy
//! gets unspecified bytes, as with a real DMA engine).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use vmm_sys_util::fallocate::{FallocateMode, fallocate};

/// Where a PC puts the guest RAM that does not fit below its PCI hole.
pub const ABOVE_4G: u64 = 4 << 30;

/// A whole file mapped shared and read-write, at offsets from 0 on; or, for
/// guest RAM larger than a PC has below its PCI hole, in two parts.
pub struct SharedMem {
    file: File,
    map: MmapRaw,
    /// The file's bytes past `map`'s, at offsets from [`ABOVE_4G`] on.
    high: Option<MmapRaw>,
}

impl SharedMem {
    /// Maps the existing file at `path`, such as guest RAM.
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::map(OpenOptions::new().read(true).write(true).open(path)?)
    }

    /// Maps the guest RAM file at `path` as a PC lays it out: its first
    /// `below_4g` bytes (a multiple of the page size, at most [`ABOVE_4G`])
    /// at offsets from 0, the rest from [`ABOVE_4G`] on, past the PCI hole.
    pub fn open_guest_ram(path: &Path, below_4g: u64) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let size = file.metadata()?.len();
        if below_4g == 0 || below_4g > ABOVE_4G || !below_4g.is_multiple_of(4096) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "RAM below 4G must be whole pages, at most 4G",
            ));
        }
        if size <= below_4g {
            return Self::map(file);
        }
        let high = MmapOptions::new()
            .offset(below_4g)
            .len(usize::try_from(size - below_4g).map_err(|_| too_large())?)
            .map_raw(&file)?;
        let map = MmapOptions::new()
            .len(usize::try_from(below_4g).map_err(|_| too_large())?)
            .map_raw(&file)?;
        Ok(Self {
            file,
            map,
            high: Some(high),
        })
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
        let len = usize::try_from(file.metadata()?.len()).map_err(|_| too_large())?;
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty file"));
        }
        let map = MmapOptions::new().len(len).map_raw(&file)?;
        Ok(Self {
            file,
            map,
            high: None,
        })
    }

    /// The mapped file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Size of the mapped file in bytes.
    pub fn size(&self) -> u64 {
        (self.map.len() + self.high.as_ref().map_or(0, MmapRaw::len)) as u64
    }

    /// The mapping that holds offset `off`, where `off` is in it, and where
    /// that mapping starts in the file.
    fn part(&self, off: u64) -> (&MmapRaw, u64, u64) {
        match &self.high {
            Some(high) if off >= ABOVE_4G => (high, off - ABOVE_4G, self.map.len() as u64),
            _ => (&self.map, off, 0),
        }
    }

    /// The `len` bytes at `off`, or `None` unless all of them are mapped.
    pub fn slice(&self, off: u64, len: u64) -> Option<VolatileSlice<'_>> {
        let (map, off, _) = self.part(off);
        let whole = VolatileSlice {
            ptr: map.as_mut_ptr(),
            len: map.len(),
            _mem: PhantomData,
        };
        whole.subslice(off, len)
    }

    /// The aligned 32-bit word at `off`, or `None` unless it is mapped.
    pub fn atomic32(&self, off: u64) -> Option<&AtomicU32> {
        let word = self.slice(off, 4).filter(|_| off.is_multiple_of(4))?;
        // SAFETY: the four bytes at `off` are mapped for as long as `self`
        // lives, and 4-byte aligned: the mappings are page aligned, and
        // `off` and where the second starts multiples of 4.
        // hlsim accesses them only atomically or through raw pointers; QEMU
        // and the guest are other processes, outside Rust's memory model.
        Some(unsafe { AtomicU32::from_ptr(word.ptr.cast()) })
    }

    /// The aligned 64-bit word at `off`, or `None` unless it is mapped.
    pub fn atomic64(&self, off: u64) -> Option<&AtomicU64> {
        let word = self.slice(off, 8).filter(|_| off.is_multiple_of(8))?;
        // SAFETY: as in `atomic32`, for eight bytes 8-byte aligned.
        Some(unsafe { AtomicU64::from_ptr(word.ptr.cast()) })
    }

    /// The 32-bit register at `off`.
    ///
    /// Register offsets are layout constants, so a bad one is a bug in hlsim
    /// and panics.
    fn reg(&self, off: u64) -> &AtomicU32 {
        self.atomic32(off)
            .unwrap_or_else(|| panic!("register {off:#x} outside the mapping"))
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
        let (_, at, start) = self.part(off);
        fallocate(&self.file, FallocateMode::PunchHole, true, start + at, len)
            .map_err(io::Error::from)
    }
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "file too large to map")
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

    /// Bytes in the slice.
    pub fn len(&self) -> u64 {
        self.len as u64
    }

    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `src`, which must be as long as `self`, into `self`, as
    /// `memmove` does: the two may overlap.
    pub fn copy_from(&self, src: &VolatileSlice<'_>) {
        assert_eq!(self.len, src.len, "copy between slices of different sizes");
        // SAFETY: both slices are valid for `len` bytes while they live;
        // `ptr::copy` allows overlap and creates no references.
        unsafe { ptr::copy(src.ptr, self.ptr, self.len) }
    }

    /// Sets every byte of the slice to `byte`.
    pub fn fill(&self, byte: u8) {
        // SAFETY: the slice is valid for `len` bytes while it lives.
        unsafe { ptr::write_bytes(self.ptr, byte, self.len) }
    }

    /// Fills the slice with zeros: its whole pages by giving their backing
    /// back (`MADV_REMOVE` punches a hole in the shared file, so they read
    /// as zeros and take no memory, as sparse device memory should), the
    /// rest, or everything if that fails, by writing.
    pub fn zero(&self) {
        const PAGE: usize = 4096;
        let start = self.ptr as usize;
        let (first, last) = (
            start.next_multiple_of(PAGE),
            (start + self.len) & !(PAGE - 1),
        );
        if last > first {
            // SAFETY: `first..last` lies within the slice, a shared mapping
            // of a file the model owns: removing its pages changes nothing
            // but their contents, which read as zeros after.
            let rc = unsafe {
                libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_REMOVE)
            };
            if rc == 0 {
                // SAFETY: the two edges lie within the slice.
                unsafe {
                    ptr::write_bytes(self.ptr, 0, first - start);
                    ptr::write_bytes(last as *mut u8, 0, start + self.len - last);
                }
                return;
            }
        }
        self.fill(0);
    }

    /// Copies the slice into `buf`, which must be as long.
    pub fn read_to(&self, buf: &mut [u8]) {
        assert_eq!(self.len, buf.len(), "read into a buffer of another size");
        // SAFETY: the slice is valid for `len` bytes while it lives and
        // cannot overlap `buf`, which hlsim owns.
        unsafe { ptr::copy_nonoverlapping(self.ptr, buf.as_mut_ptr(), self.len) }
    }

    /// Copies `buf`, which must be as long, into the slice.
    pub fn write_from(&self, buf: &[u8]) {
        assert_eq!(self.len, buf.len(), "write from a buffer of another size");
        // SAFETY: as in `read_to`, the other way round.
        unsafe { ptr::copy_nonoverlapping(buf.as_ptr(), self.ptr, self.len) }
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
    fn overlapping_copies_move() {
        let mem = SharedMem::create("overlap", 8192).unwrap();
        let data = pattern(4096, 3);
        for (from, to) in [(100, 101), (101, 100), (0, 4000), (4000, 0)] {
            mem.file().write_at(&data, from).unwrap();
            let src = mem.slice(from, 4096).unwrap();
            mem.slice(to, 4096).unwrap().copy_from(&src);
            let mut out = vec![0; 4096];
            mem.file().read_at(&mut out, to).unwrap();
            assert!(out == data, "{from} -> {to}");
        }
    }

    #[test]
    fn fill_read_and_write() {
        let mem = SharedMem::create("fill", 8192).unwrap();
        let slice = mem.slice(3, 5000).unwrap();
        assert_eq!(slice.len(), 5000);
        assert!(!slice.is_empty() && mem.slice(5, 0).unwrap().is_empty());
        slice.fill(0xa5);
        let mut out = vec![0; 5002];
        mem.slice(2, 5002).unwrap().read_to(&mut out);
        assert_eq!((out[0], out[5001]), (0, 0));
        assert!(out[1..5001].iter().all(|&b| b == 0xa5));
        let data = pattern(5000, 1);
        slice.write_from(&data);
        let mut back = vec![0; 5000];
        slice.read_to(&mut back);
        assert_eq!(back, data);
    }

    #[test]
    fn atomics_are_aligned_and_inside() {
        let mem = SharedMem::create("atomics", 8192).unwrap();
        assert!(mem.atomic32(8188).is_some());
        assert!(mem.atomic32(8190).is_none());
        assert!(mem.atomic32(8192).is_none());
        assert!(mem.atomic32(2).is_none());
        assert!(mem.atomic32(u64::MAX - 3).is_none());
        assert!(mem.atomic64(8184).is_some());
        assert!(mem.atomic64(8188).is_none());
        assert!(mem.atomic64(4).is_none());
        mem.atomic64(8)
            .unwrap()
            .store(0x1122_3344_5566_7788, Ordering::Relaxed);
        assert_eq!(mem.read64(8), 0x1122_3344_5566_7788);
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
    fn guest_ram_past_the_pci_hole() {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(3 * 4096).unwrap();
        let ram = SharedMem::open_guest_ram(file.path(), 4096).unwrap();
        assert_eq!(ram.size(), 3 * 4096);
        // The first page at 0, the other two from 4 GiB on; nothing between.
        assert!(ram.slice(0, 4096).is_some() && ram.slice(0, 4097).is_none());
        assert!(ram.slice(4096, 1).is_none() && ram.slice(ABOVE_4G - 1, 1).is_none());
        assert!(ram.slice(ABOVE_4G, 2 * 4096).is_some());
        assert!(ram.slice(ABOVE_4G + 4096, 4097).is_none());
        ram.write32(4092, 0x1111_1111);
        ram.atomic64(ABOVE_4G + 8)
            .unwrap()
            .store(0x2222, Ordering::Relaxed);
        ram.slice(ABOVE_4G + 4096, 4).unwrap().write_from(&[3; 4]);
        let mut raw = [0; 4];
        file.as_file().read_at(&mut raw, 4092).unwrap();
        assert_eq!(u32::from_le_bytes(raw), 0x1111_1111);
        file.as_file().read_at(&mut raw, 4096 + 8).unwrap();
        assert_eq!(u32::from_le_bytes(raw), 0x2222);
        file.as_file().read_at(&mut raw, 2 * 4096).unwrap();
        assert_eq!(raw, [3; 4]);
        // Discarding past the hole punches the file where those bytes are.
        ram.discard(ABOVE_4G + 4096, 4096).unwrap();
        file.as_file().read_at(&mut raw, 2 * 4096).unwrap();
        assert_eq!(raw, [0; 4]);
        assert_eq!(ram.read32(4092), 0x1111_1111);
        // A file no larger than what goes below 4 GiB is mapped whole at 0.
        let small = SharedMem::open_guest_ram(file.path(), 4 * 4096).unwrap();
        assert!(small.slice(0, 3 * 4096).is_some() && small.slice(ABOVE_4G, 1).is_none());
        assert!(SharedMem::open_guest_ram(file.path(), 100).is_err());
        assert!(SharedMem::open_guest_ram(file.path(), ABOVE_4G + 4096).is_err());
    }

    #[test]
    fn created_memory_cannot_be_resized() {
        let mem = SharedMem::create("sealed", 8192).unwrap();
        assert!(mem.file().set_len(4096).is_err());
        assert!(mem.file().set_len(16384).is_err());
        assert_eq!(mem.file().metadata().unwrap().len(), 8192);
    }
}
