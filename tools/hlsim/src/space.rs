// SPDX-License-Identifier: GPL-2.0

//! The device address space that packets and kernel descriptors name,
//! GAUDI's: the sync manager and the QMANs' fence registers in the
//! configuration space, DRAM (HBM), SRAM and host memory through the MMU.
//!
//! DRAM's first bytes are BAR2's device memory window (from `DRAM_OFFSET`);
//! the rest, up to GAUDI's 32 GiB, is a sparse memory file of the model's.

use std::sync::atomic::Ordering;

use crate::mem::{SharedMem, VolatileSlice};
use crate::mmu::{self, PAGE_SIZE};
use crate::peer::Bus;
use crate::regs::space::qm_fence;
pub use crate::regs::space::{
    DRAM_BASE, DRAM_SIZE, HOST_BASE, HOST_SIZE, SM_BASE, SRAM_BASE, SRAM_SIZE,
};
use crate::regs::{DRAM_OFFSET, JobStatus, pci, sync_manager};

/// Where a device address range lies, as an offset into its region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// The sync manager's registers.
    SyncManager(u64),
    /// Device memory.
    Dram(u64),
    /// The SRAM.
    Sram(u64),
    /// Host memory, before translation.
    Host(u64),
    /// A QMAN's `CP_FENCEi_RDATA_s` register: its queue, stream (4: the
    /// lower CP) and fence id.
    Fence(usize, usize, u64),
}

/// Why an access to the device address space failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Outside every region, crossing regions, misaligned, or a region the
    /// access cannot use: the address accessed (GAUDI's RAZWI).
    BadAddress(u64),
    /// The MMU refused the host address.
    Mmu(u64),
}

impl Fault {
    /// The status reporting the fault.
    pub fn status(self) -> JobStatus {
        match self {
            Self::BadAddress(_) => JobStatus::BadAddress,
            Self::Mmu(_) => JobStatus::MmuFault,
        }
    }
}

/// The address space of one device.
#[derive(Clone, Copy)]
pub struct Space<'a> {
    bar: &'a SharedMem,
    sram: &'a SharedMem,
    hbm: &'a SharedMem,
    ram: &'a SharedMem,
    /// The other devices' BAR2s, for DMA addresses outside guest RAM.
    bus: Option<&'a Bus>,
}

impl<'a> Space<'a> {
    /// The space of the device with BAR2 `bar`, SRAM `sram` (at least
    /// [`SRAM_SIZE`] bytes) and the DRAM past BAR2's window `hbm` (DRAM
    /// offset `o` at `o`; at least [`DRAM_SIZE`] bytes, sparse), attached
    /// to guest RAM `ram`.
    pub fn new(
        bar: &'a SharedMem,
        sram: &'a SharedMem,
        hbm: &'a SharedMem,
        ram: &'a SharedMem,
    ) -> Self {
        Self {
            bar,
            sram,
            hbm,
            ram,
            bus: None,
        }
    }

    /// The same space, with DMA addresses outside guest RAM routed on `bus`
    /// (peer-to-peer).
    pub fn with_bus(self, bus: Option<&'a Bus>) -> Self {
        Self { bus, ..self }
    }

    /// The `len` bytes at DMA address `dma`: guest RAM, or a BAR2 on the bus.
    fn bus_slice(&self, dma: u64, len: u64) -> Option<VolatileSlice<'a>> {
        self.ram
            .slice(dma, len)
            .or_else(|| self.bus?.slice(dma, len))
    }

    /// Bytes of DRAM in BAR2's window.
    fn bar_dram(&self) -> u64 {
        self.bar.size() - DRAM_OFFSET
    }

    /// The memory holding DRAM offset `off` and the offset there.
    fn dram_at(&self, off: u64) -> (&'a SharedMem, u64) {
        if off < self.bar_dram() {
            (self.bar, DRAM_OFFSET + off)
        } else {
            (self.hbm, off)
        }
    }

    /// BAR2.
    pub fn bar(&self) -> &'a SharedMem {
        self.bar
    }

    /// Counts `len` bytes a DMA engine moved at `addr` in the PCIe traffic
    /// counters when they are host memory: [`pci::TX_BYTES`] for a `write`,
    /// [`pci::RX_BYTES`] for a read.
    pub fn count_pcie(&self, addr: u64, len: u64, write: bool) {
        if !matches!(self.region(addr, len), Ok(Region::Host(_))) {
            return;
        }
        let counter = if write { pci::TX_BYTES } else { pci::RX_BYTES };
        if let Some(c) = self.bar.atomic64(counter) {
            c.fetch_add(len, Ordering::Relaxed);
        }
    }

    /// The region holding all `len` bytes at `addr`.
    pub fn region(&self, addr: u64, len: u64) -> Result<Region, Fault> {
        let end = addr.checked_add(len).ok_or(Fault::BadAddress(addr))?;
        let inside = |base: u64, size: u64| addr >= base && end - base <= size;
        if inside(SM_BASE, sync_manager::SIZE) {
            Ok(Region::SyncManager(addr - SM_BASE))
        } else if let Some((q, s, id)) = qm_fence(addr).filter(|_| len == 4) {
            Ok(Region::Fence(q, s, id))
        } else if inside(DRAM_BASE, DRAM_SIZE) {
            Ok(Region::Dram(addr - DRAM_BASE))
        } else if inside(SRAM_BASE, SRAM_SIZE) {
            Ok(Region::Sram(addr - SRAM_BASE))
        } else if inside(HOST_BASE, HOST_SIZE) {
            Ok(Region::Host(addr - HOST_BASE))
        } else {
            Err(Fault::BadAddress(addr))
        }
    }

    /// The `len` bytes of DRAM at device address `addr`, all in BAR2's
    /// window or all past it.
    pub fn dram(&self, addr: u64, len: u64) -> Result<VolatileSlice<'a>, Fault> {
        match self.region(addr, len)? {
            Region::Dram(off) if off < self.bar_dram() && off + len > self.bar_dram() => {
                Err(Fault::BadAddress(addr))
            }
            Region::Dram(off) => {
                let (mem, at) = self.dram_at(off);
                mem.slice(at, len).ok_or(Fault::BadAddress(addr))
            }
            _ => Err(Fault::BadAddress(addr)),
        }
    }

    /// The DRAM at `addr` as one slice, or two where the range crosses the
    /// end of BAR2's window.
    fn dram_runs(&self, addr: u64, len: u64) -> Result<Vec<VolatileSlice<'a>>, Fault> {
        let off = addr - DRAM_BASE;
        let split = self.bar_dram();
        if off < split && off + len > split {
            let head = split - off;
            Ok(vec![
                self.dram(addr, head)?,
                self.dram(addr + head, len - head)?,
            ])
        } else {
            Ok(vec![self.dram(addr, len)?])
        }
    }

    /// The memory behind the `len` bytes at `addr`, in DRAM, SRAM or the
    /// host region, in order: one slice for SRAM, one or two for DRAM, one
    /// per run of physically contiguous pages for host memory, translated
    /// for a read or a `write`.
    ///
    /// Every page is translated, once, before this returns.
    pub fn memory(
        &self,
        addr: u64,
        len: u64,
        write: bool,
    ) -> Result<Vec<VolatileSlice<'a>>, Fault> {
        let v = match self.region(addr, len)? {
            Region::Dram(_) => return self.dram_runs(addr, len),
            Region::Sram(off) => {
                return Ok(vec![
                    self.sram.slice(off, len).ok_or(Fault::BadAddress(addr))?,
                ]);
            }
            Region::Host(v) => v,
            Region::SyncManager(_) | Region::Fence(..) => return Err(Fault::BadAddress(addr)),
        };
        // Runs of (host offset, DMA address, bytes); every page of a run
        // was checked to be inside guest RAM.
        let mut runs: Vec<(u64, u64, u64)> = Vec::new();
        let mut pos = v;
        while pos < v + len {
            let n = (PAGE_SIZE - pos % PAGE_SIZE).min(v + len - pos);
            let fault = Fault::Mmu(HOST_BASE + pos);
            let dma = mmu::translate(self.bar, self.ram, pos, write).ok_or(fault)?;
            self.bus_slice(dma, n).ok_or(fault)?;
            match runs.last_mut() {
                Some((_, start, bytes)) if *start + *bytes == dma => *bytes += n,
                _ => runs.push((pos, dma, n)),
            }
            pos += n;
        }
        runs.into_iter()
            .map(|(pos, dma, n)| self.bus_slice(dma, n).ok_or(Fault::Mmu(HOST_BASE + pos)))
            .collect()
    }

    /// Writes the 32-bit `val` at `addr`, 4-byte aligned, in DRAM, SRAM or
    /// the host region.
    pub fn write32(&self, addr: u64, val: u32) -> Result<(), Fault> {
        if !addr.is_multiple_of(4) {
            return Err(Fault::BadAddress(addr));
        }
        let word = match self.region(addr, 4)? {
            Region::Dram(off) => {
                let (mem, at) = self.dram_at(off);
                mem.atomic32(at)
            }
            Region::Sram(off) => self.sram.atomic32(off),
            Region::Host(v) => {
                let fault = Fault::Mmu(addr);
                let dma = mmu::translate(self.bar, self.ram, v, true).ok_or(fault)?;
                let word = self.ram.atomic32(dma);
                Some(word.or_else(|| self.bus?.atomic32(dma)).ok_or(fault)?)
            }
            Region::SyncManager(_) | Region::Fence(..) => None,
        };
        word.ok_or(Fault::BadAddress(addr))?
            .store(val, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::{PTE_PRESENT, PTE_WRITABLE};
    use crate::regs::{MMU_ENABLE, mmu as mmu_regs};

    const BAR_SIZE: u64 = 2 << 20;
    /// DRAM in BAR2's window.
    const WINDOW: u64 = BAR_SIZE - DRAM_OFFSET;

    fn mems() -> (SharedMem, SharedMem, SharedMem, SharedMem) {
        (
            SharedMem::create("bar", BAR_SIZE).unwrap(),
            SharedMem::create("sram", SRAM_SIZE).unwrap(),
            SharedMem::create("hbm", DRAM_SIZE).unwrap(),
            SharedMem::create("ram", 0x20000).unwrap(),
        )
    }

    fn set(ram: &SharedMem, addr: u64, entry: u64) {
        ram.atomic64(addr).unwrap().store(entry, Ordering::Relaxed);
    }

    /// Maps host pages 0-3 to DMA pages 0x10000, 0x11000, 0x13000 (read
    /// only) and 0x1f000; page 4 to 0x20000, outside RAM.
    fn map(bar: &SharedMem, ram: &SharedMem) {
        bar.write64(mmu_regs::ROOT_LO, 0x1000);
        bar.write32(mmu_regs::CTL, MMU_ENABLE);
        set(ram, 0x1000, 0x2000 | PTE_PRESENT);
        set(ram, 0x2000, 0x3000 | PTE_PRESENT);
        let rw = PTE_PRESENT | PTE_WRITABLE;
        for (i, entry) in [
            0x10000 | rw,
            0x11000 | rw,
            0x13000 | PTE_PRESENT,
            0x1f000 | rw,
            0x20000 | rw,
        ]
        .into_iter()
        .enumerate()
        {
            set(ram, 0x3000 + 8 * i as u64, entry);
        }
    }

    #[test]
    fn regions() {
        let (bar, sram, hbm, ram) = mems();
        let space = Space::new(&bar, &sram, &hbm, &ram);
        let ok = [
            (SM_BASE, 4, Region::SyncManager(0)),
            (SM_BASE + 0xfffc, 4, Region::SyncManager(0xfffc)),
            (DRAM_BASE, DRAM_SIZE, Region::Dram(0)),
            (DRAM_BASE + DRAM_SIZE - 1, 1, Region::Dram(DRAM_SIZE - 1)),
            (DRAM_BASE + WINDOW - 4, 8, Region::Dram(WINDOW - 4)),
            (0x7f_fc50_8308, 4, Region::Fence(0, 0, 0)),
            (0x7f_fcfc_8350, 4, Region::Fence(15, 3, 3)),
            (SRAM_BASE, SRAM_SIZE, Region::Sram(0)),
            (SRAM_BASE + SRAM_SIZE - 4, 4, Region::Sram(SRAM_SIZE - 4)),
            (HOST_BASE, 1, Region::Host(0)),
            (HOST_BASE + HOST_SIZE - 8, 8, Region::Host(HOST_SIZE - 8)),
        ];
        for (addr, len, region) in ok {
            assert_eq!(space.region(addr, len), Ok(region), "{addr:#x}+{len}");
        }
        let bad = [
            (0, 4),
            (SM_BASE - 4, 8),
            (SM_BASE + 0xfffc, 8),
            (DRAM_BASE - 1, 2),
            (DRAM_BASE + DRAM_SIZE - 1, 2),
            (DRAM_BASE + DRAM_SIZE, 1),
            (SRAM_BASE - 4, 8),
            (SRAM_BASE + SRAM_SIZE - 4, 8),
            (HOST_BASE - 1, 1),
            (HOST_BASE + HOST_SIZE - 1, 2),
            (u64::MAX, 1),
            (u64::MAX - 3, 8),
            // A fence register is one 32-bit word.
            (0x7f_fc50_8308, 8),
            (0x7f_fc50_8300, 8),
            // The old map's sync manager, DRAM and host range.
            (0x1000_0000, 4),
            (0x8_0000_0000, 4),
            (0x8000_0000_0000_0000, 4),
        ];
        for (addr, len) in bad {
            assert_eq!(
                space.region(addr, len),
                Err(Fault::BadAddress(addr)),
                "{addr:#x}+{len}"
            );
        }
    }

    #[test]
    fn dma_to_and_from_host_memory_counts_pcie_traffic() {
        use std::sync::atomic::AtomicBool;
        let (bar, sram, hbm, ram) = mems();
        map(&bar, &ram);
        let space = Space::new(&bar, &sram, &hbm, &ram);
        let abort = AtomicBool::new(false);
        let counters = || (bar.read64(pci::RX_BYTES), bar.read64(pci::TX_BYTES));
        assert_eq!(counters(), (0, 0));
        // Host to DRAM is received, DRAM to host sent.
        crate::dma::lin_dma(space, 0, 0x1800, false, HOST_BASE + 0x10, DRAM_BASE, &abort).unwrap();
        assert_eq!(counters(), (0x1800, 0));
        crate::dma::lin_dma(space, 0, 0x100, false, DRAM_BASE, HOST_BASE, &abort).unwrap();
        assert_eq!(counters(), (0x1800, 0x100));
        // A fill of host memory is sent; device to device is no PCIe traffic.
        crate::dma::lin_dma(space, 0, 0x20, true, 0, HOST_BASE + 0x1000, &abort).unwrap();
        crate::dma::lin_dma(space, 0, 0x1000, false, DRAM_BASE, SRAM_BASE, &abort).unwrap();
        assert_eq!(counters(), (0x1800, 0x120));
        // Host to host, both; a fault moves nothing and counts nothing.
        crate::dma::lin_dma(space, 0, 0x10, false, HOST_BASE, HOST_BASE + 0x1000, &abort).unwrap();
        assert_eq!(counters(), (0x1810, 0x130));
        assert!(
            crate::dma::lin_dma(space, 0, 0x10, false, HOST_BASE, HOST_BASE + 0x2000, &abort)
                .is_err()
        );
        assert_eq!(counters(), (0x1810, 0x130));
    }

    #[test]
    fn only_the_pci_dmas_reach_host_memory() {
        use crate::dma::lin_dma;
        use crate::qman::JobError;
        use std::os::unix::fs::FileExt;
        use std::sync::atomic::AtomicBool;
        let (bar, sram, hbm, ram) = mems();
        map(&bar, &ram);
        let space = Space::new(&bar, &sram, &hbm, &ram);
        let abort = AtomicBool::new(false);
        let razwi = |addr| Err(JobError::Fault(Fault::BadAddress(addr)));
        let dram = || {
            let mut buf = vec![0; 0x100];
            space.dram(DRAM_BASE, 0x100).unwrap().read_to(&mut buf);
            buf
        };
        ram.file().write_at(&[0x5a; 0x100], 0x10000).unwrap();
        for engine in 2..8 {
            // From, to or filling host memory: refused before a byte moves.
            let to = HOST_BASE + 0x1000;
            assert_eq!(
                lin_dma(space, engine, 0x100, false, HOST_BASE, DRAM_BASE, &abort),
                razwi(HOST_BASE)
            );
            assert_eq!(
                lin_dma(space, engine, 0x100, false, DRAM_BASE, to, &abort),
                razwi(to)
            );
            assert_eq!(
                lin_dma(space, engine, 0x100, true, 0, to, &abort),
                razwi(to)
            );
            // Device memory, DRAM and SRAM, as the PCI DMAs.
            lin_dma(space, engine, 0x100, false, DRAM_BASE, SRAM_BASE, &abort).unwrap();
        }
        assert_eq!(dram(), vec![0; 0x100]);
        assert_eq!(bar.read64(pci::RX_BYTES) + bar.read64(pci::TX_BYTES), 0);
        for engine in 0..2 {
            lin_dma(space, engine, 0x100, false, HOST_BASE, DRAM_BASE, &abort).unwrap();
        }
        assert_eq!(dram(), vec![0x5a; 0x100]);
    }

    #[test]
    fn host_memory_is_translated_page_by_page() {
        let (bar, sram, hbm, ram) = mems();
        map(&bar, &ram);
        let space = Space::new(&bar, &sram, &hbm, &ram);
        let lens =
            |slices: Vec<VolatileSlice<'_>>| slices.iter().map(|s| s.len()).collect::<Vec<_>>();
        // Pages 0 and 1 are contiguous: one run; then 0x13000 and 0x1f000.
        let runs = space
            .memory(HOST_BASE + 0x10, 0x4000 - 0x20, false)
            .unwrap();
        assert_eq!(lens(runs), [0x1ff0, 0x1000, 0xff0]);
        assert_eq!(
            space.memory(HOST_BASE + 0x2000, 1, true).err(),
            Some(Fault::Mmu(HOST_BASE + 0x2000))
        );
        assert_eq!(
            space.memory(HOST_BASE + 0x1ffe, 4, true).err(),
            Some(Fault::Mmu(HOST_BASE + 0x2000))
        );
        assert_eq!(
            space.memory(HOST_BASE + 0x3ff0, 0x20, false).err(),
            Some(Fault::Mmu(HOST_BASE + 0x4000))
        );
        assert_eq!(
            space.memory(HOST_BASE + 0x5000, 1, false).err(),
            Some(Fault::Mmu(HOST_BASE + 0x5000))
        );
        assert_eq!(
            space.memory(SM_BASE, 4, false).err(),
            Some(Fault::BadAddress(SM_BASE))
        );
        assert_eq!(
            lens(space.memory(DRAM_BASE + 3, 5000, true).unwrap()),
            [5000]
        );

        space.write32(HOST_BASE + 0x1004, 0xabcd).unwrap();
        assert_eq!(ram.read32(0x11004), 0xabcd);
        space.write32(DRAM_BASE + 8, 0x1234).unwrap();
        assert_eq!(bar.read32(DRAM_OFFSET + 8), 0x1234);
        assert_eq!(
            space.write32(HOST_BASE + 0x2000, 1),
            Err(Fault::Mmu(HOST_BASE + 0x2000))
        );
        assert_eq!(
            space.write32(HOST_BASE + 0x4000, 1),
            Err(Fault::Mmu(HOST_BASE + 0x4000))
        );
        assert_eq!(
            space.write32(DRAM_BASE + 2, 1),
            Err(Fault::BadAddress(DRAM_BASE + 2))
        );
        space.write32(SRAM_BASE + 0x80, 0x5a5a).unwrap();
        assert_eq!(sram.read32(0x80), 0x5a5a);
        assert_eq!(lens(space.memory(SRAM_BASE, 4096, true).unwrap()), [4096]);
        assert_eq!(
            space.dram(SRAM_BASE, 4).err(),
            Some(Fault::BadAddress(SRAM_BASE))
        );
        assert_eq!(space.write32(SM_BASE, 1), Err(Fault::BadAddress(SM_BASE)));
        assert_eq!(
            space.dram(HOST_BASE, 4).err(),
            Some(Fault::BadAddress(HOST_BASE))
        );
        assert_eq!(
            space.write32(0x7f_fc50_8308, 1),
            Err(Fault::BadAddress(0x7f_fc50_8308)),
            "fence registers are the sync manager's to write"
        );
    }

    #[test]
    fn dram_past_the_bar_window_is_the_sparse_file() {
        let (bar, sram, hbm, ram) = mems();
        let space = Space::new(&bar, &sram, &hbm, &ram);
        // A range across the end of the window is two runs, in order.
        let at = DRAM_BASE + WINDOW - 6;
        let runs = space.memory(at, 10, true).unwrap();
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [6, 4]);
        runs[0].write_from(&[1, 2, 3, 4, 5, 6]);
        runs[1].write_from(&[7, 8, 9, 10]);
        assert_eq!(bar.read32(BAR_SIZE - 4), u32::from_le_bytes([3, 4, 5, 6]));
        assert_eq!(hbm.read32(WINDOW), u32::from_le_bytes([7, 8, 9, 10]));
        // One slice only where it is all on one side.
        assert_eq!(space.dram(at, 10).err(), Some(Fault::BadAddress(at)));
        assert_eq!(space.dram(at, 6).unwrap().len(), 6);
        // The top of GAUDI's 32 GiB.
        space.write32(DRAM_BASE + DRAM_SIZE - 4, 0xfeed).unwrap();
        assert_eq!(hbm.read32(DRAM_SIZE - 4), 0xfeed);
        assert_eq!(DRAM_BASE + DRAM_SIZE, 32 << 30);
    }
}
