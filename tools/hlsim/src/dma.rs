// SPDX-License-Identifier: GPL-2.0

//! The DMA engines' `LIN_DMA`: copies and fills in DRAM and host memory.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::mem::VolatileSlice;
use crate::qman::JobError;
use crate::regs::dma_core::HOST_ENGINES;
use crate::space::{Fault, Region, Space};

/// Most bytes moved between checks for an abort.
const CHUNK: u64 = 64 << 20;

/// Refuses host memory at `addr` (`len` bytes) to DMA engine `engine`
/// unless it is one of GAUDI's PCI DMAs ([`HOST_ENGINES`]): the others are
/// device-internal, and reaching out of the device is their RAZWI.
pub(crate) fn check_reach(
    space: &Space<'_>,
    engine: u32,
    addr: u64,
    len: u64,
) -> Result<(), Fault> {
    let host = matches!(space.region(addr, len), Ok(Region::Host(_)));
    if host && HOST_ENGINES & 1 << engine == 0 {
        return Err(Fault::BadAddress(addr));
    }
    Ok(())
}

/// DMA engine `engine`'s `LIN_DMA`: copies `len` bytes from device address
/// `src` to `dst`, as `memmove` does where the two ranges overlap, or with
/// `memset` fills `dst` with the low byte of `src`.
///
/// Both ranges are checked ([`check_reach`]) and translated, the source
/// first, before any byte moves. Once all have moved, those read from or
/// written to host memory count in the PCIe traffic counters.
pub fn lin_dma(
    space: Space<'_>,
    engine: u32,
    len: u64,
    memset: bool,
    src: u64,
    dst: u64,
    abort: &AtomicBool,
) -> Result<(), JobError> {
    if memset {
        check_reach(&space, engine, dst, len)?;
        fill(&space.memory(dst, len, true)?, src as u8, abort)?;
        space.count_pcie(dst, len, true);
        return Ok(());
    }
    check_reach(&space, engine, src, len)?;
    let from = space.memory(src, len, false)?;
    check_reach(&space, engine, dst, len)?;
    let to = space.memory(dst, len, true)?;
    let copy = |(from, to): &(VolatileSlice<'_>, VolatileSlice<'_>)| {
        if abort.load(Ordering::Relaxed) {
            return Err(JobError::Aborted);
        }
        to.copy_from(from);
        Ok(())
    };
    // An overlap can only be within one region, where copying from the
    // far end when moving up keeps every source byte until it is read.
    let pairs = pairs(&from, &to);
    if dst > src {
        pairs.iter().rev().try_for_each(copy)?;
    } else {
        pairs.iter().try_for_each(copy)?;
    }
    space.count_pcie(src, len, false);
    space.count_pcie(dst, len, true);
    Ok(())
}

/// Fills `runs` with `byte`, checking `abort` between chunks.
pub(crate) fn fill(
    runs: &[VolatileSlice<'_>],
    byte: u8,
    abort: &AtomicBool,
) -> Result<(), JobError> {
    for chunk in runs.iter().copied().flat_map(chunks) {
        if abort.load(Ordering::Relaxed) {
            return Err(JobError::Aborted);
        }
        match byte {
            0 => chunk.zero(),
            byte => chunk.fill(byte),
        }
    }
    Ok(())
}

/// Copies the bytes of `from` to `to`, two sequences of runs of the same
/// total length, in order, checking `abort` between chunks.
pub(crate) fn copy_runs(
    from: &[VolatileSlice<'_>],
    to: &[VolatileSlice<'_>],
    abort: &AtomicBool,
) -> Result<(), JobError> {
    for (from, to) in pairs(from, to) {
        if abort.load(Ordering::Relaxed) {
            return Err(JobError::Aborted);
        }
        to.copy_from(&from);
    }
    Ok(())
}

/// `run` in pieces of at most [`CHUNK`] bytes.
fn chunks<'a>(run: VolatileSlice<'a>) -> impl Iterator<Item = VolatileSlice<'a>> {
    (0..run.len())
        .step_by(CHUNK as usize)
        .filter_map(move |off| run.subslice(off, CHUNK.min(run.len() - off)))
}

/// Splits two sequences of runs of the same total length into pairs of
/// equal pieces, in order.
fn pairs<'a>(
    from: &[VolatileSlice<'a>],
    to: &[VolatileSlice<'a>],
) -> Vec<(VolatileSlice<'a>, VolatileSlice<'a>)> {
    let mut out = Vec::with_capacity(from.len() + to.len());
    let (mut from, mut to) = (
        from.iter().copied().flat_map(chunks),
        to.iter().copied().flat_map(chunks),
    );
    let (mut a, mut b) = (from.next(), to.next());
    while let (Some(x), Some(y)) = (a, b) {
        let n = x.len().min(y.len());
        let (Some(x_head), Some(y_head)) = (x.subslice(0, n), y.subslice(0, n)) else {
            break;
        };
        out.push((x_head, y_head));
        a = x
            .subslice(n, x.len() - n)
            .filter(|rest| !rest.is_empty())
            .or_else(|| from.next());
        b = y
            .subslice(n, y.len() - n)
            .filter(|rest| !rest.is_empty())
            .or_else(|| to.next());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::SharedMem;

    #[test]
    fn pairs_split_at_every_boundary() {
        let mem = SharedMem::create("pairs", 0x10000).unwrap();
        let runs = |runs: &[(u64, u64)]| -> Vec<_> {
            runs.iter()
                .map(|&(off, len)| mem.slice(off, len).unwrap())
                .collect()
        };
        let from = runs(&[(0, 0x100), (0x1000, 0x300)]);
        let to = runs(&[(0x8000, 0x200), (0x9000, 0x80), (0xa000, 0x180)]);
        let pairs = pairs(&from, &to);
        let lens: Vec<_> = pairs.iter().map(|(a, b)| (a.len(), b.len())).collect();
        assert_eq!(
            lens,
            [(0x100, 0x100), (0x100, 0x100), (0x80, 0x80), (0x180, 0x180)]
        );
        // Each pair is the right place: copy and look.
        let data: Vec<u8> = (0..0x400).map(|i| (i * 7 + i / 256) as u8).collect();
        from[0].write_from(&data[..0x100]);
        from[1].write_from(&data[0x100..]);
        for (a, b) in &pairs {
            b.copy_from(a);
        }
        let mut out = vec![0; 0x400];
        to[0].read_to(&mut out[..0x200]);
        to[1].read_to(&mut out[0x200..0x280]);
        to[2].read_to(&mut out[0x280..]);
        assert_eq!(out, data);
    }

    #[test]
    fn chunks_bound_each_move() {
        let mem = SharedMem::create("chunks", CHUNK + 8).unwrap();
        let lens: Vec<_> = chunks(mem.slice(3, CHUNK + 5).unwrap())
            .map(|c| c.len())
            .collect();
        assert_eq!(lens, [CHUNK, 5]);
    }
}
