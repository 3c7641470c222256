// SPDX-License-Identifier: GPL-2.0

//! The device model's BAR2, mapped through sysfs (`resourceN`): its
//! identity, to check what INFO reports, and its model-control page, to
//! inject faults. Offsets are from `device-model.rst`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};

use crate::util::{Fail, R};

pub const MAGIC: usize = 0x000;
pub const VERSION: usize = 0x004;
pub const CHIP_ID: usize = 0x00c;
pub const SERIAL_LO: usize = 0x010;
pub const DRAM_SIZE_LO: usize = 0x020;
pub const NUM_QUEUES: usize = 0x034;
pub const CLK_CUR_MHZ: usize = 0x038;
pub const CLK_MAX_MHZ: usize = 0x03c;
pub const PORT_MASK: usize = 0x040;
pub const MAC: usize = 0x080;
pub const FAULTS: usize = 0xff000;
pub const FAULT_MAILBOX_HANG: u32 = 1 << 1;
pub const ENGINE_HANG: usize = 0xff008;

pub const MAGIC_VALUE: u32 = 0x4d53_4c48;

/// What the tests map: the register file, up to device memory.
const LEN: usize = 0x10_0000;

/// BAR2 of one device.
pub struct Bar2 {
    regs: NonNull<u32>,
}

impl Bar2 {
    /// Maps BAR2 of the PCI device `bdf` and checks the model's magic.
    pub fn open(bdf: &str) -> R<Self> {
        let path = format!("/sys/bus/pci/devices/{bdf}/resource2");
        let file = File::options()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Fail(format!("{path}: {e}")))?;
        // SAFETY: a new shared mapping of the BAR where the kernel chooses;
        // it replaces nothing of this process.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Fail(format!(
                "mmap {path}: {}",
                std::io::Error::last_os_error()
            )));
        }
        let bar = Self {
            regs: NonNull::new(p.cast()).ok_or("mmap returned NULL")?,
        };
        let magic = bar.read(MAGIC);
        if magic != MAGIC_VALUE {
            return Err(Fail(format!("{path}: magic {magic:#x}, not the model's")));
        }
        Ok(bar)
    }

    /// The 32-bit register at `offset`.
    pub fn read(&self, offset: usize) -> u32 {
        assert!(offset < LEN && offset.is_multiple_of(4));
        // SAFETY: inside the mapping and aligned; registers are plain memory
        // another party changes, hence volatile.
        unsafe { self.regs.as_ptr().add(offset / 4).read_volatile() }
    }

    /// A `_LO`/`_HI` register pair.
    pub fn read64(&self, offset: usize) -> u64 {
        u64::from(self.read(offset + 4)) << 32 | u64::from(self.read(offset))
    }

    /// Writes the 32-bit register at `offset`.
    pub fn write(&self, offset: usize, value: u32) {
        assert!(offset < LEN && offset.is_multiple_of(4));
        // SAFETY: as in read.
        unsafe { self.regs.as_ptr().add(offset / 4).write_volatile(value) }
    }

    /// The MAC address of port `p`.
    pub fn mac(&self, p: usize) -> [u8; 6] {
        let lo = self.read(MAC + 8 * p).to_le_bytes();
        let hi = self.read(MAC + 8 * p + 4).to_le_bytes();
        [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1]]
    }
}

impl Drop for Bar2 {
    fn drop(&mut self) {
        // SAFETY: our mapping; nothing refers to it past `self`.
        unsafe { libc::munmap(self.regs.as_ptr().cast(), LEN) };
    }
}

/// Sets `ENGINE_HANG` bits for its lifetime.
pub struct EngineHang<'a> {
    bar: &'a Bar2,
    bits: u32,
}

impl<'a> EngineHang<'a> {
    pub fn new(bar: &'a Bar2, bits: u32) -> Self {
        bar.write(ENGINE_HANG, bar.read(ENGINE_HANG) | bits);
        Self { bar, bits }
    }
}

impl Drop for EngineHang<'_> {
    fn drop(&mut self) {
        let hang = self.bar.read(ENGINE_HANG);
        self.bar.write(ENGINE_HANG, hang & !self.bits);
    }
}
