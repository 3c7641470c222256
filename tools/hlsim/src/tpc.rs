// SPDX-License-Identifier: GPL-2.0

//! The TPC kernels: fp32 vector operations on device memory.
//!
//! Arithmetic is the host's IEEE-754 single precision, rounding to nearest
//! even, in the order the spec gives, so that results are bit-exact.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::mem::VolatileSlice;
use crate::qman::JobError;
use crate::regs::JobStatus;
use crate::space::{Fault, Space};

/// Bytes in a kernel descriptor.
pub const DESC_SIZE: u64 = 40;
/// Most elements a kernel works on.
pub const MAX_COUNT: u32 = 16 << 20;
/// Elements handled between checks for an abort.
const CHUNK: usize = 64 << 10;

/// A kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// `out[i] = scalar`.
    Fill = 1,
    /// `out[i] = a[i] + b[i]`.
    Add = 2,
    /// `out[i] = a[i] * scalar`.
    Scale = 3,
    /// `out[0] = a[0] + a[1] + ...`, left to right.
    Sum = 4,
}

/// A kernel descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The kernel.
    pub kernel: Kernel,
    /// Elements.
    pub count: u32,
    /// Device address of input `a`.
    pub a: u64,
    /// Device address of input `b`.
    pub b: u64,
    /// Device address of the output.
    pub out: u64,
    /// `FILL` value or `SCALE` factor, as bits.
    pub scalar: u32,
}

impl Descriptor {
    /// Decodes and checks a descriptor's fields (not its addresses).
    pub fn parse(raw: &[u8; DESC_SIZE as usize]) -> Result<Self, JobStatus> {
        let u32_at = |off: usize| u32::from_le_bytes(std::array::from_fn(|i| raw[off + i]));
        let u64_at = |off: usize| u64::from(u32_at(off)) | u64::from(u32_at(off + 4)) << 32;
        let kernel = match u32_at(0) {
            1 => Kernel::Fill,
            2 => Kernel::Add,
            3 => Kernel::Scale,
            4 => Kernel::Sum,
            _ => return Err(JobStatus::BadKernel),
        };
        let count = u32_at(4);
        if count == 0 || count > MAX_COUNT || u32_at(36) != 0 {
            return Err(JobStatus::BadKernel);
        }
        Ok(Self {
            kernel,
            count,
            a: u64_at(8),
            b: u64_at(16),
            out: u64_at(24),
            scalar: u32_at(32),
        })
    }
}

/// Runs the kernel described at device address `desc`.
pub fn run(space: Space<'_>, desc: u64, abort: &AtomicBool) -> Result<(), JobError> {
    if !desc.is_multiple_of(8) {
        return Err(Fault::BadAddress(desc).into());
    }
    let mut raw = [0; DESC_SIZE as usize];
    space.dram(desc, DESC_SIZE)?.read_to(&mut raw);
    let d = Descriptor::parse(&raw)?;
    let bytes = 4 * u64::from(d.count);
    let array = |addr: u64, len: u64| {
        if addr.is_multiple_of(4) {
            space.dram(addr, len)
        } else {
            Err(Fault::BadAddress(addr))
        }
    };
    let out_len = if d.kernel == Kernel::Sum { 4 } else { bytes };
    let out = array(d.out, out_len)?;
    let a = (d.kernel != Kernel::Fill)
        .then(|| array(d.a, bytes))
        .transpose()?;
    let b = (d.kernel == Kernel::Add)
        .then(|| array(d.b, bytes))
        .transpose()?;
    for input in [(d.a, a), (d.b, b)] {
        if let (addr, Some(_)) = input {
            let overlap = addr < d.out + out_len && d.out < addr + bytes;
            if overlap && (addr, bytes) != (d.out, out_len) {
                return Err(JobStatus::BadKernel.into());
            }
        }
    }
    compute(&d, a, b, out, abort)
}

/// Computes `d` over the checked arrays, a chunk at a time.
fn compute(
    d: &Descriptor,
    a: Option<VolatileSlice<'_>>,
    b: Option<VolatileSlice<'_>>,
    out: VolatileSlice<'_>,
    abort: &AtomicBool,
) -> Result<(), JobError> {
    let count = d.count as usize;
    let mut buf_a = vec![0; 4 * CHUNK.min(count)];
    let mut buf_b = buf_a.clone();
    let mut buf_out = buf_a.clone();
    let mut sum: Option<f32> = None;
    for start in (0..count).step_by(CHUNK) {
        if abort.load(Ordering::Relaxed) {
            return Err(JobError::Aborted);
        }
        let n = 4 * CHUNK.min(count - start);
        let (off, len) = (4 * start as u64, n as u64);
        let read = |input: Option<VolatileSlice<'_>>, buf: &mut [u8]| {
            if let Some(s) = input.and_then(|s| s.subslice(off, len)) {
                s.read_to(buf);
            }
        };
        read(a, &mut buf_a[..n]);
        read(b, &mut buf_b[..n]);
        let f = |bytes: &[u8]| f32::from_le_bytes(std::array::from_fn(|i| bytes[i]));
        let elems = buf_a[..n].chunks_exact(4).zip(buf_b[..n].chunks_exact(4));
        for ((x, y), o) in elems.zip(buf_out.chunks_exact_mut(4)) {
            let bits = match d.kernel {
                Kernel::Fill => d.scalar,
                Kernel::Add => (f(x) + f(y)).to_bits(),
                Kernel::Scale => (f(x) * f32::from_bits(d.scalar)).to_bits(),
                Kernel::Sum => {
                    sum = Some(sum.map_or(f(x), |s| s + f(x)));
                    continue;
                }
            };
            o.copy_from_slice(&bits.to_le_bytes());
        }
        if d.kernel != Kernel::Sum {
            if let Some(s) = out.subslice(off, len) {
                s.write_from(&buf_out[..n]);
            }
        }
    }
    if let Some(sum) = sum {
        out.write_from(&sum.to_bits().to_le_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kernel: u32, count: u32, zero: u32) -> [u8; DESC_SIZE as usize] {
        let mut raw = [0; DESC_SIZE as usize];
        raw[..4].copy_from_slice(&kernel.to_le_bytes());
        raw[4..8].copy_from_slice(&count.to_le_bytes());
        for (i, addr) in [0x1_0000_0000u64, 0x1_0000_1000, 0x1_0000_2000]
            .into_iter()
            .enumerate()
        {
            raw[8 + 8 * i..16 + 8 * i].copy_from_slice(&addr.to_le_bytes());
        }
        raw[32..36].copy_from_slice(&1.5f32.to_bits().to_le_bytes());
        raw[36..].copy_from_slice(&zero.to_le_bytes());
        raw
    }

    #[test]
    fn descriptors() {
        let d = Descriptor::parse(&raw(3, MAX_COUNT, 0)).unwrap();
        assert_eq!(
            d,
            Descriptor {
                kernel: Kernel::Scale,
                count: 16 << 20,
                a: 0x1_0000_0000,
                b: 0x1_0000_1000,
                out: 0x1_0000_2000,
                scalar: 1.5f32.to_bits(),
            }
        );
        for (kernel, expect) in [(1, Kernel::Fill), (2, Kernel::Add), (4, Kernel::Sum)] {
            assert_eq!(
                Descriptor::parse(&raw(kernel, 1, 0)).unwrap().kernel,
                expect
            );
        }
        for (kernel, count, zero) in [
            (0, 1, 0),
            (5, 1, 0),
            (u32::MAX, 1, 0),
            (1, 0, 0),
            (1, MAX_COUNT + 1, 0),
            (1, u32::MAX, 0),
            (1, 1, 1),
            (1, 1, 1 << 31),
        ] {
            assert_eq!(
                Descriptor::parse(&raw(kernel, count, zero)),
                Err(JobStatus::BadKernel),
                "kernel {kernel}, count {count}, zero {zero}"
            );
        }
    }
}
