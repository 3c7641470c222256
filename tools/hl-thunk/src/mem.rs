// SPDX-License-Identifier: GPL-2.0

//! Memory for the device: page-aligned host buffers and their mappings,
//! and device memory.

use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::{self, NonNull};
use std::{fmt, slice};

use crate::device::Device;
use crate::error::{Error, Result};

/// Zeroed, page-aligned host memory (an anonymous mapping), as
/// [`Device::map_host`] needs.
pub struct HostBuffer {
    ptr: NonNull<u8>,
    len: usize,
}

impl HostBuffer {
    /// `len` bytes (at least 1).
    pub fn new(len: usize) -> Result<Self> {
        if len == 0 {
            return Err(Error::invalid("HostBuffer: length is 0"));
        }
        // SAFETY: a new private mapping where the kernel chooses; it
        // replaces nothing of this process.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os(format!("mmap {len} bytes")));
        }
        let ptr = NonNull::new(p.cast()).ok_or_else(|| Error::new(libc::ENOMEM, "mmap"))?;
        Ok(Self { ptr, len })
    }
}

impl Deref for HostBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is a readable mapping of `len` bytes owned by `self`.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for HostBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, writable, and `&mut self` is unique.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        // SAFETY: our mapping; no reference to it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl fmt::Debug for HostBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostBuffer({:p}, {} bytes)", self.ptr, self.len)
    }
}

// SAFETY: HostBuffer owns its memory like a Box<[u8]>.
unsafe impl Send for HostBuffer {}
// SAFETY: shared access only reads.
unsafe impl Sync for HostBuffer {}

/// Host memory mapped for the device by [`Device::map_host`]; dropping it
/// unmaps it. It dereferences to the memory, whose contents a submission
/// may change: read it after waiting for the submission.
pub struct HostMapping<'a> {
    dev: &'a Device,
    buf: &'a mut [u8],
    addr: u64,
}

impl<'a> HostMapping<'a> {
    pub(crate) fn new(dev: &'a Device, buf: &'a mut [u8], addr: u64) -> Self {
        Self { dev, buf, addr }
    }

    /// The device address of the memory's first byte.
    pub fn device_addr(&self) -> u64 {
        self.addr
    }

    /// Unmaps the memory, reporting a failure that dropping would ignore.
    pub fn unmap(self) -> Result<()> {
        let (dev, addr) = (self.dev, self.addr);
        std::mem::forget(self);
        dev.unmap(addr)
    }
}

impl Deref for HostMapping<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.buf
    }
}

impl DerefMut for HostMapping<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.buf
    }
}

impl Drop for HostMapping<'_> {
    fn drop(&mut self) {
        // Nothing to do about a failure; closing the device unmaps anyway.
        let _ = self.dev.unmap(self.addr);
    }
}

impl fmt::Debug for HostMapping<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostMapping({:#x}, {} bytes)", self.addr, self.buf.len())
    }
}

/// Device memory, from [`Device::device_memory`]; dropping it frees it.
///
/// GAUDI has no device virtual memory: its driver's `ALLOC` answers handle
/// 0 and only counts the bytes (`HL_INFO_DRAM_USAGE`), and the user places
/// its buffers in device memory itself; the library does that, in the
/// range `HL_INFO_HW_IP_INFO` gives, per open device.
pub struct DeviceMemory<'d> {
    dev: &'d Device,
    addr: u64,
    size: u64,
}

impl<'d> DeviceMemory<'d> {
    pub(crate) fn new(dev: &'d Device, size: u64) -> Result<Self> {
        dev.alloc(size)?;
        match dev.dram_place(size) {
            Ok(addr) => Ok(Self { dev, addr, size }),
            Err(e) => {
                // The count is useless unplaced; that error is the news.
                let _ = dev.free(size);
                Err(e)
            }
        }
    }

    /// The device address of the first byte.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Bytes asked for (placed in whole 4 KiB).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Frees the memory, reporting a failure that dropping would ignore.
    pub fn free(self) -> Result<()> {
        let (dev, addr, size) = (self.dev, self.addr, self.size);
        std::mem::forget(self);
        Self::release(dev, addr, size)
    }

    fn release(dev: &Device, addr: u64, size: u64) -> Result<()> {
        dev.dram_unplace(addr);
        dev.free(size)
    }
}

impl Drop for DeviceMemory<'_> {
    fn drop(&mut self) {
        // Nothing to do about a failure; closing the device frees anyway.
        let _ = Self::release(self.dev, self.addr, self.size);
    }
}

impl fmt::Debug for DeviceMemory<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceMemory({:#x}, {} bytes)", self.addr, self.size)
    }
}

/// Device memory the library places itself (see [`DeviceMemory`]): the
/// blocks in use, by address, in `[base, end)`.
#[derive(Debug)]
pub(crate) struct DramPool {
    base: u64,
    end: u64,
    used: Vec<(u64, u64)>,
}

/// Placement granularity.
const DRAM_ALIGN: u64 = 4096;

impl DramPool {
    pub(crate) fn new(base: u64, size: u64) -> Self {
        Self {
            base,
            end: base.saturating_add(size),
            used: Vec::new(),
        }
    }

    /// The lowest free block of `size` bytes (rounded up to 4 KiB).
    pub(crate) fn place(&mut self, size: u64) -> Result<u64> {
        let len = size
            .checked_next_multiple_of(DRAM_ALIGN)
            .filter(|&l| l > 0)
            .ok_or_else(|| Error::invalid(format!("device memory: {size} bytes")))?;
        let mut at = self.base;
        let mut slot = self.used.len();
        for (i, &(start, used)) in self.used.iter().enumerate() {
            if start - at >= len {
                slot = i;
                break;
            }
            at = start + used;
        }
        if slot == self.used.len() && self.end.saturating_sub(at) < len {
            return Err(Error::new(
                libc::ENOMEM,
                format!("device memory: no {len} bytes free"),
            ));
        }
        self.used.insert(slot, (at, len));
        Ok(at)
    }

    /// Frees the block at `addr`.
    pub(crate) fn unplace(&mut self, addr: u64) {
        self.used.retain(|&(start, _)| start != addr);
    }
}

/// A CPU mapping of a dma-buf: `mmap()` of its file descriptor, shared and
/// read-write, for checking what devices' DMA put in the memory it shares.
/// Devices change that memory under the CPU, so it is read and written by
/// copies ([`DmabufMap::read`], [`DmabufMap::write`]), never as a slice.
/// Once the exporter revokes the buffer (its context closes, its device
/// resets or goes away), an access faults with `SIGBUS`: see
/// [`DmabufMap::revoked`]. Dropping it unmaps it, which may come after the
/// dma-buf's descriptor is closed (the mapping holds the buffer).
pub struct DmabufMap {
    ptr: NonNull<u8>,
    len: usize,
}

impl DmabufMap {
    /// Maps `len` bytes of dma-buf `fd` from byte `offset` (a page
    /// multiple). A range past the buffer, or a private mapping, is
    /// `EINVAL`; a revoked buffer `ENODEV`.
    pub fn new(fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Self> {
        Self::with_flags(fd, offset, len, libc::MAP_SHARED)
    }

    /// As [`DmabufMap::new`], with `mmap()`'s `flags` (for tests of what
    /// the driver refuses).
    pub fn with_flags(fd: BorrowedFd<'_>, offset: u64, len: usize, flags: i32) -> Result<Self> {
        let what = || format!("mmap of {len} bytes of a dma-buf at {offset:#x}");
        if len == 0 {
            return Err(Error::invalid(what()));
        }
        let off = libc::off_t::try_from(offset).map_err(|_| Error::invalid(what()))?;
        // SAFETY: a new mapping where the kernel chooses; it replaces
        // nothing of this process.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd.as_raw_fd(),
                off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os(what()));
        }
        let ptr = NonNull::new(p.cast()).ok_or_else(|| Error::new(libc::ENOMEM, what()))?;
        Ok(Self { ptr, len })
    }

    /// The mapping's length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The mapping's first byte, for tests of what may not be done with
    /// it (e.g. [`Device::map_host_ptr`], which cannot pin BAR pages).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The range `[at, at + n)` of the mapping, or a panic.
    fn range(&self, at: usize, n: usize) -> *mut u8 {
        let end = at.checked_add(n).expect("DmabufMap: range overflows");
        assert!(
            end <= self.len,
            "DmabufMap: {at}+{n} past {} bytes",
            self.len
        );
        // SAFETY: `at` is inside the mapping (checked above).
        unsafe { self.ptr.as_ptr().add(at) }
    }

    /// Copies the bytes at `at` into `buf` (a panic past the mapping).
    pub fn read(&self, at: usize, buf: &mut [u8]) {
        let p = self.range(at, buf.len());
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: inside the mapping; volatile, as devices write it.
            *b = unsafe { p.add(i).read_volatile() };
        }
    }

    /// Writes `data` at `at` (a panic past the mapping).
    pub fn write(&self, at: usize, data: &[u8]) {
        let p = self.range(at, data.len());
        for (i, b) in data.iter().enumerate() {
            // SAFETY: inside the mapping; volatile, as devices read it.
            unsafe { p.add(i).write_volatile(*b) };
        }
    }

    /// Whether the exporter revoked the buffer: a read of the mapping's
    /// first byte, made in a child process (so the fault ends the child,
    /// not the caller), faults with `SIGBUS`. `Ok(false)` if the child read
    /// the byte.
    pub fn revoked(&self) -> Result<bool> {
        let p = self.ptr.as_ptr();
        // SAFETY: the child only makes system calls and one volatile read
        // of our mapping before `_exit`, all async-signal-safe.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::last_os("fork"));
        }
        if pid == 0 {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: no core file for the expected SIGBUS; the read is of
            // the mapping the child inherited.
            unsafe {
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                p.read_volatile();
                libc::_exit(0)
            }
        }
        let mut status = 0;
        // SAFETY: our child; `status` is writable.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return Err(Error::last_os("waitpid"));
        }
        if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS {
            Ok(true)
        } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Ok(false)
        } else {
            Err(Error::new(
                libc::EIO,
                format!("the child reading a dma-buf mapping ended with status {status:#x}"),
            ))
        }
    }
}

impl Drop for DmabufMap {
    fn drop(&mut self) {
        // SAFETY: our mapping; no reference into it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl fmt::Debug for DmabufMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DmabufMap({:p}, {} bytes)", self.ptr, self.len)
    }
}

// SAFETY: the mapping is owned like a Box<[u8]>; accesses are volatile copies.
unsafe impl Send for DmabufMap {}
// SAFETY: as above: shared access copies bytes, as devices do concurrently.
unsafe impl Sync for DmabufMap {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::page_size;

    #[test]
    fn host_buffer_is_zeroed_and_page_aligned() {
        let mut b = HostBuffer::new(5000).unwrap();
        assert_eq!(b.len(), 5000);
        assert_eq!(b.as_ptr() as usize % page_size(), 0);
        assert!(b.iter().all(|&x| x == 0));
        b[4999] = 1;
        assert_eq!(b[4999], 1);
        assert_eq!(HostBuffer::new(0).unwrap_err().errno(), libc::EINVAL);
    }

    #[test]
    fn dram_pool_first_fit() {
        let mut p = DramPool::new(0x1000_0000, 5 * DRAM_ALIGN);
        let a = p.place(1).unwrap();
        let b = p.place(DRAM_ALIGN + 1).unwrap();
        let c = p.place(DRAM_ALIGN).unwrap();
        assert_eq!((a, b, c), (0x1000_0000, 0x1000_1000, 0x1000_3000));
        assert_eq!(p.place(2 * DRAM_ALIGN).unwrap_err().errno(), libc::ENOMEM);
        p.unplace(b);
        assert_eq!(p.place(2 * DRAM_ALIGN).unwrap(), b);
        assert_eq!(p.place(DRAM_ALIGN).unwrap(), 0x1000_4000);
        assert_eq!(p.place(0).unwrap_err().errno(), libc::EINVAL);
    }
}
