// SPDX-License-Identifier: GPL-2.0

//! TPC kernels (`device-model.rst`, "TPC kernels"): the 40-byte descriptor
//! `LOAD_AND_EXE` points at, in device memory.

use crate::error::{Error, Result};
use crate::packets::Packet;

/// A kernel the TPC engines run, on fp32 arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TpcKernel {
    /// `out[i] = scalar`.
    Fill = 1,
    /// `out[i] = a[i] + b[i]`.
    Add = 2,
    /// `out[i] = a[i] * scalar`.
    Scale = 3,
    /// `out[0] = a[0] + a[1] + ...`, left to right.
    Sum = 4,
}

/// A kernel descriptor. Addresses are device memory addresses of 4-byte
/// aligned fp32 arrays; inputs the kernel does not use are ignored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TpcKernelDesc {
    /// The kernel.
    pub kernel: TpcKernel,
    /// Elements, 1 to [`TpcKernelDesc::MAX_COUNT`].
    pub count: u32,
    /// Input `a`.
    pub a: u64,
    /// Input `b` (`Add` only).
    pub b: u64,
    /// The output.
    pub out: u64,
    /// `Fill`'s value, `Scale`'s factor.
    pub scalar: f32,
}

impl TpcKernelDesc {
    /// Bytes of an encoded descriptor.
    pub const SIZE: usize = 40;
    /// Alignment the descriptor needs in device memory.
    pub const ALIGN: u64 = 8;
    /// Most elements a kernel runs on (16M).
    pub const MAX_COUNT: u32 = 16 << 20;

    /// The descriptor's bytes.
    pub fn to_bytes(&self) -> Result<[u8; Self::SIZE]> {
        if !(1..=Self::MAX_COUNT).contains(&self.count) {
            return Err(Error::invalid(format!(
                "TPC kernel: count {} is not in 1..={}",
                self.count,
                Self::MAX_COUNT
            )));
        }
        let mut b = [0; Self::SIZE];
        b[0..4].copy_from_slice(&(self.kernel as u32).to_le_bytes());
        b[4..8].copy_from_slice(&self.count.to_le_bytes());
        b[8..16].copy_from_slice(&self.a.to_le_bytes());
        b[16..24].copy_from_slice(&self.b.to_le_bytes());
        b[24..32].copy_from_slice(&self.out.to_le_bytes());
        b[32..36].copy_from_slice(&self.scalar.to_bits().to_le_bytes());
        Ok(b)
    }

    /// `MSG_LONG` packets that write the descriptor at device address
    /// `addr` (8-byte aligned), so that a job can set up its own kernel.
    pub fn msg_long_packets(&self, addr: u64) -> Result<[Packet; Self::SIZE / 4]> {
        if !addr.is_multiple_of(Self::ALIGN) {
            return Err(Error::invalid(format!(
                "TPC kernel descriptor address {addr:#x} is not 8-byte aligned"
            )));
        }
        let bytes = self.to_bytes()?;
        Ok(std::array::from_fn(|i| {
            let word = u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
            Packet::msg_long(addr + 4 * i as u64, word)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(kernel: TpcKernel, count: u32) -> TpcKernelDesc {
        TpcKernelDesc {
            kernel,
            count,
            a: 0x1_0000_1000,
            b: 0x1_0000_2000,
            out: 0x1_0000_3000,
            scalar: -2.5,
        }
    }

    #[test]
    fn layout() {
        let b = desc(TpcKernel::Scale, 0x1234).to_bytes().unwrap();
        #[rustfmt::skip]
        let expect = [
            3, 0, 0, 0, 0x34, 0x12, 0, 0,
            0, 0x10, 0, 0, 1, 0, 0, 0,
            0, 0x20, 0, 0, 1, 0, 0, 0,
            0, 0x30, 0, 0, 1, 0, 0, 0,
            0, 0, 0x20, 0xc0, 0, 0, 0, 0,
        ];
        assert_eq!(b, expect);
    }

    #[test]
    fn kernel_codes() {
        let codes = [
            (TpcKernel::Fill, 1),
            (TpcKernel::Add, 2),
            (TpcKernel::Scale, 3),
            (TpcKernel::Sum, 4),
        ];
        for (k, code) in codes {
            assert_eq!(desc(k, 1).to_bytes().unwrap()[0], code);
        }
    }

    #[test]
    fn count_range() {
        assert!(desc(TpcKernel::Fill, 0).to_bytes().is_err());
        assert!(
            desc(TpcKernel::Fill, TpcKernelDesc::MAX_COUNT)
                .to_bytes()
                .is_ok()
        );
        assert!(
            desc(TpcKernel::Fill, TpcKernelDesc::MAX_COUNT + 1)
                .to_bytes()
                .is_err()
        );
    }

    #[test]
    fn msg_long_packets_write_every_word() {
        let d = desc(TpcKernel::Add, 5);
        let bytes = d.to_bytes().unwrap();
        let p = d.msg_long_packets(0x1_0000_0008).unwrap();
        for (i, p) in p.iter().enumerate() {
            let word = u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
            assert_eq!(p, &Packet::msg_long(0x1_0000_0008 + 4 * i as u64, word));
        }
        assert!(d.msg_long_packets(0x1_0000_0004).is_err());
    }
}
