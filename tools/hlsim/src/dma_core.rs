// SPDX-License-Identifier: GPL-2.0

//! A DMA engine's core (GAUDI's `DMA_CORE` block): the registers its QMAN
//! programs with `WREG_32` and `WREG_BULK`, and the transfer a write to
//! `COMMIT` runs: linear or of up to five dimensions, a copy or a fill, with
//! a completion write when it is done.
//!
//! Glossary: a *row* is one element of dimension 0, `TSIZE_0` contiguous
//! bytes; dimensions 1-4 repeat the dimension below `TSIZE_d` times,
//! `STRIDE_d` bytes apart. Source and destination have shapes of their own
//! and the same total size: the bytes move in order, row after row.

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};

use crate::dma;
use crate::mem::VolatileSlice;
use crate::qman::JobError;
use crate::regs::JobStatus;
use crate::regs::dma_core::*;
use crate::regs::space::CFG_BASE;
use crate::space::{Fault, Space};

/// Most rows a shape may have: the rows of both sides are translated
/// before any byte moves.
pub const MAX_ROWS: u64 = 1 << 16;

/// `COMMIT` bits the model refuses with `NOT_SUPPORTED`.
const UNSUPPORTED: u32 = COMMIT_TRANSPOSE | COMMIT_DTYPE | COMMIT_COMPRESS | COMMIT_DECOMPRESS;
/// `COMMIT` bits a commit may set.
const FIELDS: u32 = COMMIT_WR_COMP_EN | UNSUPPORTED | COMMIT_LIN | COMMIT_MEM_SET | COMMIT_CTX_ID;

/// The registers of one DMA engine's core.
pub struct DmaCore {
    /// Its engine number, 0-7.
    engine: u32,
    regs: Mutex<Vec<u32>>,
}

/// One side of a transfer: where it starts and its dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Device address of the first byte.
    pub base: u64,
    /// Bytes of dimension 0, then the element counts of dimensions 1-4
    /// (0, a register never written, counts as 1).
    pub sizes: [u64; DIMS],
    /// Bytes between two elements of dimensions 1-4 (index 0 unused).
    pub strides: [u64; DIMS],
}

/// What a `COMMIT` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The source; its base's low byte is the fill value of a memset.
    pub src: Shape,
    /// The destination.
    pub dst: Shape,
    /// Fill the destination instead of copying.
    pub memset: bool,
    /// The write completion: `WR_COMP_WDATA` at `WR_COMP_ADDR`.
    pub completion: Option<(u64, u32)>,
}

impl DmaCore {
    /// The core of DMA engine `engine`, at its power-on state (all 0).
    pub fn new(engine: u32) -> Self {
        Self {
            engine,
            regs: Mutex::new(vec![0; (SIZE / 4) as usize]),
        }
    }

    /// Device address of register `off`.
    fn addr(&self, off: u64) -> u64 {
        CFG_BASE + block(self.engine) + off
    }

    /// Register `off` (4-byte aligned, below [`SIZE`]).
    pub fn read(&self, off: u64) -> u32 {
        self.regs.lock().unwrap_or_else(PoisonError::into_inner)[(off / 4) as usize]
    }

    /// Back to the power-on state.
    pub fn reset(&self) {
        self.regs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill(0);
    }

    /// Writes `val` to register `off`, as the QMAN's `WREG_32` does. A write
    /// to `COMMIT` returns the transfer the registers describe, for the
    /// engine to run; a misaligned or out-of-block offset is a RAZWI.
    pub fn write(&self, off: u64, val: u32) -> Result<Option<Transfer>, JobError> {
        if off >= SIZE || !off.is_multiple_of(4) {
            return Err(Fault::BadAddress(self.addr(off)).into());
        }
        let mut regs = self.regs.lock().unwrap_or_else(PoisonError::into_inner);
        regs[(off / 4) as usize] = val;
        if off != COMMIT {
            return Ok(None);
        }
        if val & !FIELDS != 0 {
            return Err(JobStatus::BadPacket.into());
        }
        if val & UNSUPPORTED != 0 {
            return Err(JobStatus::NotSupported.into());
        }
        let reg = |off: u64| u64::from(regs[(off / 4) as usize]);
        let reg64 = |lo: u64| reg(lo) | reg(lo + 4) << 32;
        let shape = |base: u64, size0: u64, tsize: fn(usize) -> u64, stride: fn(usize) -> u64| {
            let mut shape = Shape {
                base,
                sizes: [reg(size0), 1, 1, 1, 1],
                strides: [0; DIMS],
            };
            if val & COMMIT_LIN == 0 {
                for d in 1..DIMS {
                    shape.sizes[d] = reg(tsize(d)).max(1);
                    shape.strides[d] = reg(stride(d));
                }
            }
            shape
        };
        let dst = shape(reg64(DST_BASE_LO), DST_TSIZE_0, dst_tsize, dst_stride);
        let src = if val & COMMIT_LIN != 0 {
            // A linear transfer's size is the destination's.
            Shape {
                base: reg64(SRC_BASE_LO),
                ..dst
            }
        } else {
            shape(reg64(SRC_BASE_LO), SRC_TSIZE_0, src_tsize, src_stride)
        };
        Ok(Some(Transfer {
            src,
            dst,
            memset: val & COMMIT_MEM_SET != 0,
            completion: (val & COMMIT_WR_COMP_EN != 0)
                .then(|| (reg64(WR_COMP_ADDR_LO), reg(WR_COMP_WDATA) as u32)),
        }))
    }
}

impl Shape {
    /// Rows, and total bytes; `BAD_PACKET` for an empty shape, one past
    /// [`MAX_ROWS`] is `NOT_SUPPORTED`.
    fn size(&self) -> Result<(u64, u64), JobStatus> {
        let rows = self.sizes[1..]
            .iter()
            .try_fold(1u64, |n, &c| n.checked_mul(c))
            .filter(|&n| n <= MAX_ROWS)
            .ok_or(JobStatus::NotSupported)?;
        if self.sizes[0] == 0 {
            return Err(JobStatus::BadPacket);
        }
        let bytes = rows
            .checked_mul(self.sizes[0])
            .ok_or(JobStatus::NotSupported)?;
        Ok((rows, bytes))
    }

    /// Device address of each row, in order.
    fn rows(&self) -> impl Iterator<Item = Result<u64, Fault>> + '_ {
        let [_, n1, n2, n3, n4] = self.sizes;
        let count = n1 * n2 * n3 * n4;
        (0..count).map(move |mut i| {
            let mut addr = Some(self.base);
            for d in 1..DIMS {
                let index = i % self.sizes[d];
                i /= self.sizes[d];
                addr = index
                    .checked_mul(self.strides[d])
                    .and_then(|off| addr?.checked_add(off));
            }
            addr.ok_or(Fault::BadAddress(self.base))
        })
    }

    /// The memory behind every row, in order, translated for a read or a
    /// `write`; host memory only for a PCI DMA ([`dma::check_reach`]).
    fn memory<'a>(
        &self,
        space: &Space<'a>,
        engine: u32,
        write: bool,
    ) -> Result<Vec<VolatileSlice<'a>>, Fault> {
        let mut runs = Vec::new();
        for row in self.rows() {
            let row = row?;
            dma::check_reach(space, engine, row, self.sizes[0])?;
            runs.extend(space.memory(row, self.sizes[0], write)?);
        }
        Ok(runs)
    }

    /// Counts the rows' bytes in the PCIe traffic counters.
    fn count_pcie(&self, space: &Space<'_>, write: bool) {
        for row in self.rows().flatten() {
            space.count_pcie(row, self.sizes[0], write);
        }
    }
}

impl Transfer {
    /// Runs the transfer on DMA engine `engine`: every row of both sides is
    /// translated, the source first, before any byte moves. The completion
    /// write is the caller's, once this returns `Ok`.
    pub fn run(&self, space: Space<'_>, engine: u32, abort: &AtomicBool) -> Result<(), JobError> {
        let (_, bytes) = self.dst.size()?;
        if !self.memset && self.src.size()?.1 != bytes {
            return Err(JobStatus::BadPacket.into());
        }
        let from = if self.memset {
            Vec::new()
        } else {
            self.src.memory(&space, engine, false)?
        };
        let to = self.dst.memory(&space, engine, true)?;
        if self.memset {
            dma::fill(&to, self.src.base as u8, abort)?;
        } else {
            dma::copy_runs(&from, &to, abort)?;
            self.src.count_pcie(&space, false);
        }
        self.dst.count_pcie(&space, true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(core: &DmaCore, regs: &[(u64, u32)], val: u32) -> Result<Option<Transfer>, JobError> {
        for &(off, v) in regs {
            assert_eq!(core.write(off, v), Ok(None), "{off:#x}");
        }
        core.write(COMMIT, val)
    }

    #[test]
    fn commit_reads_the_registers() {
        let core = DmaCore::new(3);
        let mut regs = vec![
            (SRC_BASE_LO, 0x1000),
            (SRC_BASE_HI, 0x1),
            (DST_BASE_LO, 0x2000_0040),
            (DST_BASE_HI, 0),
            (SRC_TSIZE_0, 64),
            (DST_TSIZE_0, 128),
            (WR_COMP_ADDR_LO, 0xfc4f_2000),
            (WR_COMP_ADDR_HI, 0x7f),
            (WR_COMP_WDATA, 1 << 31 | 1),
        ];
        for d in 1..DIMS {
            regs.push((src_tsize(d), d as u32 + 1));
            regs.push((src_stride(d), 0x100 * d as u32));
        }
        regs.push((dst_tsize(1), 60));
        regs.push((dst_stride(1), 256));
        let t = commit(&core, &regs, COMMIT_WR_COMP_EN | 0xab << 16)
            .unwrap()
            .unwrap();
        assert_eq!(
            t.src,
            Shape {
                base: 0x1_0000_1000,
                sizes: [64, 2, 3, 4, 5],
                strides: [0, 0x100, 0x200, 0x300, 0x400],
            }
        );
        // Dimensions 2-4 never written count as 1.
        assert_eq!(t.dst.sizes, [128, 60, 1, 1, 1]);
        assert_eq!(t.dst.strides, [0, 256, 0, 0, 0]);
        assert_eq!(t.completion, Some((0x7f_fc4f_2000, 1 << 31 | 1)));
        assert!(!t.memset);
        assert_eq!(t.src.size(), Ok((120, 120 * 64)));
        // Linear: the destination's size, no dimensions, no completion.
        let t = core
            .write(COMMIT, COMMIT_LIN | COMMIT_MEM_SET)
            .unwrap()
            .unwrap();
        assert_eq!(t.src.sizes, [128, 1, 1, 1, 1]);
        assert_eq!(t.src.base, 0x1_0000_1000);
        assert!(t.memset && t.completion.is_none());
        assert_eq!(core.read(DST_TSIZE_0), 128);
        assert_eq!(core.read(COMMIT), COMMIT_LIN | COMMIT_MEM_SET);
        core.reset();
        assert_eq!(core.read(DST_TSIZE_0), 0);
    }

    #[test]
    fn commit_refuses_what_the_model_lacks() {
        let core = DmaCore::new(0);
        for bit in [1 << 1, 1 << 2, 1 << 5, 1 << 6] {
            assert_eq!(core.write(COMMIT, bit), Err(JobStatus::NotSupported.into()));
        }
        for bit in [1 << 7, 1 << 15, 1 << 24, 1 << 31] {
            assert_eq!(core.write(COMMIT, bit), Err(JobStatus::BadPacket.into()));
        }
        for off in [2, SIZE, SIZE + 4] {
            assert_eq!(
                core.write(off, 0),
                Err(Fault::BadAddress(CFG_BASE + 0x50_0000 + off).into())
            );
        }
        let t = core.write(COMMIT, 0).unwrap().unwrap();
        assert_eq!(t.dst.size(), Err(JobStatus::BadPacket), "no bytes");
        let t = commit(
            &core,
            &[(DST_TSIZE_0, 1), (dst_tsize(1), 1 << 16), (dst_tsize(2), 2)],
            0,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.dst.size(), Err(JobStatus::NotSupported), "too many rows");
    }

    #[test]
    fn rows_walk_dimension_1_first() {
        let shape = Shape {
            base: 0x1000,
            sizes: [4, 3, 2, 1, 1],
            strides: [0, 0x10, 0x100, 0, 0],
        };
        let rows: Vec<u64> = shape.rows().map(Result::unwrap).collect();
        assert_eq!(rows, [0x1000, 0x1010, 0x1020, 0x1100, 0x1110, 0x1120]);
        let wraps = Shape {
            base: u64::MAX - 8,
            sizes: [4, 2, 1, 1, 1],
            strides: [0, 0x10, 0, 0, 0],
        };
        let rows: Vec<_> = wraps.rows().collect();
        assert_eq!(
            rows,
            [Ok(u64::MAX - 8), Err(Fault::BadAddress(u64::MAX - 8))]
        );
    }
}
