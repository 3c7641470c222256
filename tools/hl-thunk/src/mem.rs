// SPDX-License-Identifier: GPL-2.0

//! Memory for the device: page-aligned host buffers and their mappings,
//! and device memory.

use std::ops::{Deref, DerefMut};
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
