// SPDX-License-Identifier: GPL-2.0

//! The device model's BAR2, mapped through sysfs (`resourceN`): its
//! identity, to check what INFO reports, and its model-control page, to
//! inject faults. Offsets and values are the model's own, from
//! `hlsim_regs`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};

use hlsim_regs::{DRAM_OFFSET, MAGIC_HLSM, identity, model_ctl};

use crate::util::{Fail, R};

/// What the tests map: the register file, up to device memory.
const LEN: usize = DRAM_OFFSET as usize;

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
        let magic = bar.read(identity::MAGIC);
        if magic != MAGIC_HLSM {
            return Err(Fail(format!("{path}: magic {magic:#x}, not the model's")));
        }
        Ok(bar)
    }

    /// The index of the 32-bit register at `offset` in the mapping.
    fn word(offset: u64) -> usize {
        assert!(offset < LEN as u64 && offset.is_multiple_of(4));
        (offset / 4) as usize
    }

    /// The 32-bit register at `offset`.
    pub fn read(&self, offset: u64) -> u32 {
        // SAFETY: inside the mapping and aligned (`word` checks); registers
        // are plain memory another party changes, hence volatile.
        unsafe { self.regs.as_ptr().add(Self::word(offset)).read_volatile() }
    }

    /// A `_LO`/`_HI` register pair.
    pub fn read64(&self, offset: u64) -> u64 {
        u64::from(self.read(offset + 4)) << 32 | u64::from(self.read(offset))
    }

    /// Writes the 32-bit register at `offset`.
    pub fn write(&self, offset: u64, value: u32) {
        // SAFETY: as in read.
        unsafe {
            self.regs
                .as_ptr()
                .add(Self::word(offset))
                .write_volatile(value)
        }
    }

    /// The MAC address of port `p`.
    pub fn mac(&self, p: usize) -> [u8; 6] {
        let lo = self.read(identity::mac_lo(p as u64)).to_le_bytes();
        let hi = self.read(identity::mac_hi(p as u64)).to_le_bytes();
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
        bar.write(
            model_ctl::ENGINE_HANG,
            bar.read(model_ctl::ENGINE_HANG) | bits,
        );
        Self { bar, bits }
    }
}

impl Drop for EngineHang<'_> {
    fn drop(&mut self) {
        let hang = self.bar.read(model_ctl::ENGINE_HANG);
        self.bar.write(model_ctl::ENGINE_HANG, hang & !self.bits);
    }
}
