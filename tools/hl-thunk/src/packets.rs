// SPDX-License-Identifier: GPL-2.0

//! The packets QMANs run, encoded byte for byte as GAUDI's
//! (`gaudi_packets.h`) and the device's spec (`device-model.rst`,
//! "Packets").
//!
//! Every packet starts with two little-endian 32-bit words: a per-packet
//! value, then the control word `ctl` (`[28:24]` opcode, bits 29-31 the
//! barriers); 64-bit fields follow. Constructors reject what the packet's
//! fields cannot hold or the spec rules out. The NIC packets (`RDMA` in the
//! spec) run on NIC queues only.

use crate::error::{Error, Result};
use crate::sync::{FENCE_COUNTERS, SOB_COUNT, SYNC_MNGR_SIZE};

/// `WREG_32`: writes a sync manager register.
pub const OP_WREG_32: u8 = 0x01;
/// `WREG_BULK`: writes consecutive sync manager registers.
pub const OP_WREG_BULK: u8 = 0x02;
/// `MSG_LONG`: writes 32 bits at a device address.
pub const OP_MSG_LONG: u8 = 0x03;
/// `MSG_SHORT`: writes at one of the QMAN's message bases plus an offset.
pub const OP_MSG_SHORT: u8 = 0x04;
/// `CP_DMA`: runs the packets at a device address.
pub const OP_CP_DMA: u8 = 0x05;
/// `REPEAT`: starts or ends a repeated block.
pub const OP_REPEAT: u8 = 0x06;
/// `FENCE`: waits for one of the QMAN's fence counters.
pub const OP_FENCE: u8 = 0x08;
/// `LIN_DMA`: copies or fills memory (DMA engines).
pub const OP_LIN_DMA: u8 = 0x09;
/// `NOP`.
pub const OP_NOP: u8 = 0x0a;
/// `STOP`: ends the job successfully.
pub const OP_STOP: u8 = 0x0b;
/// `ARB_POINT`.
pub const OP_ARB_POINT: u8 = 0x0c;
/// `WAIT`: waits some cycles, then adds to one of the QMAN's fence counters.
pub const OP_WAIT: u8 = 0x0d;
/// `LOAD_AND_EXE`: runs a TPC kernel (TPC engines).
pub const OP_LOAD_AND_EXE: u8 = 0x0f;
/// `NIC_WRITE`: writes the responder's device memory (NIC queues).
pub const OP_NIC_WRITE: u8 = 0x1c;
/// `NIC_SEND`: sends a message into the responder's next receive buffer.
pub const OP_NIC_SEND: u8 = 0x1d;
/// `NIC_RECV`: posts a receive buffer.
pub const OP_NIC_RECV: u8 = 0x1e;

const CTL_OPCODE_SHIFT: u32 = 24;
const CTL_EB: u32 = 1 << 29;
const CTL_RB: u32 = 1 << 30;
const CTL_MB: u32 = 1 << 31;
const LIN_DMA_LIN: u32 = 1 << 3;
const LIN_DMA_MEMSET: u32 = 1 << 4;
const REG_OFFSET_SHIFT: u32 = 8;
const MSG_BASE_SHIFT: u32 = 22;
/// `MSG_SHORT` base of the SOBs, as the driver sets the bases up.
const MSG_BASE_SOBS: u32 = 1;
const REPEAT_START: u32 = 1 << 31;
const NIC_SOB: u32 = 1 << 10;
const NIC_CQE: u32 = 1 << 11;

/// Checks a `WREG_32` or `WREG_BULK` register offset.
fn check_reg_offset(packet: &str, offset: u32) -> Result<()> {
    if !offset.is_multiple_of(4) || offset >= SYNC_MNGR_SIZE {
        return Err(Error::invalid(format!(
            "{packet}: register offset {offset:#x} is not a 4-byte aligned sync manager offset"
        )));
    }
    Ok(())
}

/// What a NIC packet names besides its data: the connection, the
/// completion queue of its CQE, the caller's `wr_id` echoed there, and
/// what it signals on success. A failure always writes a CQE and never
/// increments the SOB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NicOp {
    /// The connection, of the queue's port.
    pub conn: u32,
    /// The completion queue, of the queue's port.
    pub cq: u32,
    /// Echoed in the CQE.
    pub wr_id: u32,
    /// A SOB (below 1024) to increment by 1 on success.
    pub sob: Option<u32>,
    /// Whether success writes a CQE too.
    pub cqe: bool,
}

impl NicOp {
    /// An operation on connection `conn` completing in CQ `cq` with a CQE,
    /// `wr_id` 0, no SOB.
    pub fn new(conn: u32, cq: u32) -> Self {
        Self {
            conn,
            cq,
            wr_id: 0,
            sob: None,
            cqe: true,
        }
    }

    /// `ctl[11:0]` and the `conn` word.
    fn fields(&self) -> Result<(u32, u32)> {
        if self.conn > 0xffff || self.cq > 0xff || self.sob.is_some_and(|s| s >= SOB_COUNT) {
            return Err(Error::invalid(format!(
                "NIC packet: connection {}, CQ {} or SOB {:?} out of range",
                self.conn, self.cq, self.sob
            )));
        }
        let sob = self.sob.map_or(0, |s| NIC_SOB | s);
        let cqe = if self.cqe { NIC_CQE } else { 0 };
        Ok((sob | cqe, self.cq << 16 | self.conn))
    }
}

/// One encoded packet: 8, 16, 24 or 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    bytes: [u8; 32],
    len: u8,
}

impl Packet {
    /// Longest packet, `NIC_WRITE`.
    pub const MAX_LEN: usize = 32;

    /// A packet of `opcode` with first word `value`, `ctl` bits besides the
    /// opcode, and `tail` (the 64-bit fields).
    fn new(opcode: u8, value: u32, ctl: u32, tail: &[u64]) -> Self {
        let mut bytes = [0; Self::MAX_LEN];
        bytes[0..4].copy_from_slice(&value.to_le_bytes());
        let ctl = ctl | u32::from(opcode) << CTL_OPCODE_SHIFT;
        bytes[4..8].copy_from_slice(&ctl.to_le_bytes());
        for (i, v) in tail.iter().enumerate() {
            bytes[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        Self {
            bytes,
            len: (8 + 8 * tail.len()) as u8,
        }
    }

    /// `WREG_32`: writes `value` to the sync manager register at `offset`
    /// (4-byte aligned, below 64 KiB; `reg_offset`, `ctl[23:8]`); on a DMA
    /// queue, an offset below 0x1000 is a register of the engine's DMA core
    /// (`hlsim_regs::dma_core`).
    pub fn wreg32(offset: u32, value: u32) -> Result<Self> {
        check_reg_offset("WREG_32", offset)?;
        Ok(Self::new(
            OP_WREG_32,
            value,
            offset << REG_OFFSET_SHIFT,
            &[],
        ))
    }

    /// `WREG_BULK`: writes `values` (1 to 3 of them, each two registers,
    /// low half first) to consecutive registers from `offset`, as
    /// [`Packet::wreg32`] does.
    pub fn wreg_bulk(offset: u32, values: &[u64]) -> Result<Self> {
        check_reg_offset("WREG_BULK", offset)?;
        if !(1..=3).contains(&values.len()) {
            return Err(Error::invalid("WREG_BULK: 1 to 3 values"));
        }
        Ok(Self::new(
            OP_WREG_BULK,
            values.len() as u32,
            offset << REG_OFFSET_SHIFT,
            values,
        ))
    }

    /// `CP_DMA`: runs the `size` bytes of packets (a multiple of 8, at
    /// least 8) at device address `src`, which cannot hold another
    /// `CP_DMA`.
    pub fn cp_dma(src: u64, size: u32) -> Result<Self> {
        if size == 0 || !size.is_multiple_of(8) {
            return Err(Error::invalid(format!(
                "CP_DMA: size {size} is not a positive multiple of 8"
            )));
        }
        Ok(Self::new(OP_CP_DMA, size, 0, &[src]))
    }

    /// `WAIT`: waits `cycles` engine cycles (below 2^24), then adds
    /// `increment` (below 16) to fence counter `id` (below 4) of this QMAN.
    pub fn wait(cycles: u32, increment: u32, id: u32) -> Result<Self> {
        if cycles >> 24 != 0 || increment > 0xf || id >= FENCE_COUNTERS {
            return Err(Error::invalid(format!(
                "WAIT: cycles {cycles}, increment {increment} or counter {id} out of range"
            )));
        }
        Ok(Self::new(
            OP_WAIT,
            id << 28 | increment << 24 | cycles,
            0,
            &[],
        ))
    }

    /// `MSG_LONG`: writes `value` (32 bits) at device address `addr`.
    pub fn msg_long(addr: u64, value: u32) -> Self {
        Self::new(OP_MSG_LONG, value, 0, &[addr])
    }

    /// `MSG_SHORT`: writes `value` to SOB `sob` (below 2048), through the
    /// message base the driver points at the SOBs; see
    /// [`crate::sync::SOB_ADD`].
    pub fn msg_short(sob: u32, value: u32) -> Result<Self> {
        if sob >= SOB_COUNT {
            return Err(Error::invalid(format!(
                "MSG_SHORT: SOB {sob} is not below {SOB_COUNT}"
            )));
        }
        Ok(Self::msg_short_at(MSG_BASE_SOBS, 4 * sob as u16, value))
    }

    /// `MSG_SHORT`: writes `value` at the QMAN's message base `base` (0 the
    /// monitors, 1 the SOBs; below 4) plus `offset` (`msg_addr_offset`).
    pub fn msg_short_at(base: u32, offset: u16, value: u32) -> Self {
        let ctl = (base & 3) << MSG_BASE_SHIFT | u32::from(offset);
        Self::new(OP_MSG_SHORT, value, ctl, &[])
    }

    /// `REPEAT` start: the packets up to the next [`Packet::repeat_end`]
    /// run `count` times (at least 1).
    pub fn repeat_start(count: u16) -> Result<Self> {
        if count == 0 {
            return Err(Error::invalid("REPEAT: count must be at least 1"));
        }
        Ok(Self::new(
            OP_REPEAT,
            REPEAT_START | u32::from(count),
            0,
            &[],
        ))
    }

    /// `REPEAT` end.
    pub fn repeat_end() -> Self {
        Self::new(OP_REPEAT, 0, 0, &[])
    }

    /// `FENCE`: waits until fence counter `id` (below 4) of this QMAN is at
    /// least `target` (below 256), then subtracts `decrement` (below 16).
    pub fn fence(id: u32, target: u32, decrement: u32) -> Result<Self> {
        if id >= FENCE_COUNTERS || target > 0xff || decrement > 0xf {
            return Err(Error::invalid(format!(
                "FENCE: counter {id}, target {target}, decrement {decrement} out of range"
            )));
        }
        Ok(Self::new(
            OP_FENCE,
            id << 30 | target << 16 | decrement,
            0,
            &[],
        ))
    }

    /// `LIN_DMA`: copies `size` bytes (1 to 4 GiB - 1) from `src` to `dst`
    /// (56 bits: GAUDI keeps a context id in the top byte).
    pub fn lin_dma(src: u64, dst: u64, size: u32) -> Result<Self> {
        if size == 0 {
            return Err(Error::invalid("LIN_DMA: size must be at least 1"));
        }
        check_dst(dst)?;
        Ok(Self::new(OP_LIN_DMA, size, LIN_DMA_LIN, &[src, dst]))
    }

    /// `LIN_DMA` with `MEMSET`: fills `size` bytes (1 to 4 GiB - 1) at `dst`
    /// with `value`.
    pub fn memset(dst: u64, value: u8, size: u32) -> Result<Self> {
        if size == 0 {
            return Err(Error::invalid("LIN_DMA memset: size must be at least 1"));
        }
        check_dst(dst)?;
        Ok(Self::new(
            OP_LIN_DMA,
            size,
            LIN_DMA_LIN | LIN_DMA_MEMSET,
            &[u64::from(value), dst],
        ))
    }

    /// `NOP`.
    pub fn nop() -> Self {
        Self::new(OP_NOP, 0, 0, &[])
    }

    /// `STOP`: ends the job here, successfully.
    pub fn stop() -> Self {
        Self::new(OP_STOP, 0, 0, &[])
    }

    /// `ARB_POINT` (its `cfg` is ignored: 0).
    pub fn arb_point() -> Self {
        Self::new(OP_ARB_POINT, 0, 0, &[])
    }

    /// `LOAD_AND_EXE`: runs the TPC kernel described at device address
    /// `desc` (see [`crate::tpc`]).
    pub fn load_and_exe(desc: u64) -> Self {
        Self::new(OP_LOAD_AND_EXE, 0, 0, &[desc])
    }

    /// A NIC packet: `len`, `ctl`, the `conn` and `wr_id` words, `addrs`.
    fn nic(opcode: u8, op: &NicOp, len: u32, addrs: &[u64]) -> Result<Self> {
        if len == 0 {
            return Err(Error::invalid("NIC packet: length must be at least 1"));
        }
        let (ctl, conn) = op.fields()?;
        let mut tail = [u64::from(op.wr_id) << 32 | u64::from(conn), 0, 0];
        tail[1..=addrs.len()].copy_from_slice(addrs);
        Ok(Self::new(opcode, len, ctl, &tail[..=addrs.len()]))
    }

    /// `NIC_WRITE`: writes `len` bytes (at least 1) at `src`, this device's
    /// memory, to `dst` of the responder's.
    pub fn nic_write(op: &NicOp, src: u64, dst: u64, len: u32) -> Result<Self> {
        Self::nic(OP_NIC_WRITE, op, len, &[src, dst])
    }

    /// `NIC_SEND`: sends `len` bytes (at least 1) at `src`, this device's
    /// memory, into the responder's next receive buffer.
    pub fn nic_send(op: &NicOp, src: u64, len: u32) -> Result<Self> {
        Self::nic(OP_NIC_SEND, op, len, &[src])
    }

    /// `NIC_RECV`: posts the buffer of `len` bytes (at least 1) at `addr`,
    /// this device's memory, on the connection's receive queue. It
    /// completes when a message fills it.
    pub fn nic_recv(op: &NicOp, addr: u64, len: u32) -> Result<Self> {
        Self::nic(OP_NIC_RECV, op, len, &[addr])
    }

    /// The packet with its engine barrier (`EB`) bit set.
    pub fn engine_barrier(self) -> Self {
        self.with_ctl(CTL_EB)
    }

    /// The packet with its register barrier (`RB`) bit set.
    pub fn register_barrier(self) -> Self {
        self.with_ctl(CTL_RB)
    }

    /// The packet with its message barrier (`MB`) bit set.
    pub fn message_barrier(self) -> Self {
        self.with_ctl(CTL_MB)
    }

    fn with_ctl(mut self, bits: u32) -> Self {
        let ctl = u32::from_le_bytes(self.bytes[4..8].try_into().unwrap()) | bits;
        self.bytes[4..8].copy_from_slice(&ctl.to_le_bytes());
        self
    }

    /// The opcode.
    pub fn opcode(&self) -> u8 {
        self.bytes[7] & 0x1f
    }

    /// The encoded packet.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Packet(opcode {:#04x}, {:02x?})",
            self.opcode(),
            self.as_bytes()
        )
    }
}

/// Fails unless `dst` fits `LIN_DMA`'s 56-bit destination field.
fn check_dst(dst: u64) -> Result<()> {
    if dst >> 56 != 0 {
        return Err(Error::invalid(format!(
            "LIN_DMA: destination {dst:#x} does not fit 56 bits"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the expected bytes from little-endian words.
    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn wreg32() {
        let p = Packet::wreg32(0x2008, 0xdead_beef).unwrap();
        assert_eq!(p.as_bytes(), words(&[0xdead_beef, 0x0120_0800]));
        assert_eq!(p.opcode(), OP_WREG_32);
        assert!(Packet::wreg32(0xfffc, 0).is_ok());
        assert!(Packet::wreg32(0x2002, 0).is_err());
        assert!(Packet::wreg32(0x1_0000, 0).is_err());
    }

    #[test]
    fn msg_long() {
        let p = Packet::msg_long(0x1_2345_6788, 7);
        assert_eq!(
            p.as_bytes(),
            [
                7, 0, 0, 0, 0, 0, 0, 0x03, 0x88, 0x67, 0x45, 0x23, 0x01, 0, 0, 0
            ]
        );
    }

    #[test]
    fn msg_short() {
        let p = Packet::msg_short(2047, 0x8000_0001).unwrap();
        assert_eq!(p.as_bytes(), words(&[0x8000_0001, 0x0440_1ffc]));
        assert!(Packet::msg_short(2048, 0).is_err());
        let p = Packet::msg_short_at(0, 0x1804, 5);
        assert_eq!(p.as_bytes(), words(&[5, 0x0400_1804]));
    }

    #[test]
    fn repeat() {
        let p = Packet::repeat_start(0xffff).unwrap();
        assert_eq!(p.as_bytes(), words(&[0x8000_ffff, 0x0600_0000]));
        assert_eq!(Packet::repeat_end().as_bytes(), words(&[0, 0x0600_0000]));
        assert!(Packet::repeat_start(0).is_err());
    }

    #[test]
    fn fence() {
        let p = Packet::fence(3, 255, 1).unwrap();
        assert_eq!(p.as_bytes(), words(&[0xc0ff_0001, 0x0800_0000]));
        assert_eq!(
            Packet::fence(1, 2, 3).unwrap().as_bytes(),
            words(&[0x4002_0003, 0x0800_0000])
        );
        assert!(Packet::fence(4, 1, 1).is_err());
        assert!(Packet::fence(0, 256, 1).is_err());
        assert!(Packet::fence(0, 1, 16).is_err());
    }

    #[test]
    fn lin_dma() {
        let p = Packet::lin_dma(0x1_0000_0000_1001, 0x2000_0003, 0xffff_ffff).unwrap();
        assert_eq!(
            p.as_bytes(),
            words(&[
                0xffff_ffff,
                0x0900_0008,
                0x0000_1001,
                0x0001_0000,
                0x2000_0003,
                0x0000_0000
            ])
        );
        assert!(Packet::lin_dma(0, 0, 0).is_err());
        assert!(Packet::lin_dma(0, 1 << 56, 1).is_err());
        assert!(Packet::memset(1 << 63, 0, 1).is_err());
    }

    #[test]
    fn memset() {
        let p = Packet::memset(0x7f_f000_0000, 0xa5, 3).unwrap();
        assert_eq!(
            p.as_bytes(),
            words(&[3, 0x0900_0018, 0xa5, 0, 0xf000_0000, 0x7f])
        );
        assert!(Packet::memset(0, 0, 0).is_err());
    }

    #[test]
    fn single_word_packets() {
        assert_eq!(Packet::nop().as_bytes(), words(&[0, 0x0a00_0000]));
        assert_eq!(Packet::stop().as_bytes(), words(&[0, 0x0b00_0000]));
        assert_eq!(Packet::arb_point().as_bytes(), words(&[0, 0x0c00_0000]));
    }

    #[test]
    fn wreg_bulk_cp_dma_wait() {
        let p = Packet::wreg_bulk(0x40, &[2 << 32 | 1, 4 << 32 | 3]).unwrap();
        assert_eq!(p.as_bytes(), words(&[2, 0x0200_4000, 1, 2, 3, 4]));
        assert!(Packet::wreg_bulk(0x40, &[]).is_err());
        assert!(Packet::wreg_bulk(0x42, &[0]).is_err());
        let p = Packet::cp_dma(0x1_0000_0040, 16).unwrap();
        assert_eq!(p.as_bytes(), words(&[16, 0x0500_0000, 0x40, 1]));
        assert!(Packet::cp_dma(0, 12).is_err());
        let p = Packet::wait(1500, 3, 2).unwrap();
        assert_eq!(
            p.as_bytes(),
            words(&[2 << 28 | 3 << 24 | 1500, 0x0d00_0000])
        );
        assert!(Packet::wait(1 << 24, 0, 0).is_err());
        assert!(Packet::wait(0, 16, 0).is_err());
        assert!(Packet::wait(0, 0, 4).is_err());
    }

    #[test]
    fn load_and_exe() {
        let p = Packet::load_and_exe(0x1_0000_0040);
        assert_eq!(p.as_bytes(), words(&[0, 0x0f00_0000, 0x40, 1]));
    }

    #[test]
    fn nic_write() {
        let op = NicOp {
            wr_id: 0xdead_beef,
            sob: Some(1023),
            ..NicOp::new(0xffff, 0xff)
        };
        let p = Packet::nic_write(&op, 0x1_0000_1000, 0x1_0000_2000, 65537).unwrap();
        assert_eq!(
            p.as_bytes(),
            words(&[
                65537,
                0x1c00_0fff,
                0x00ff_ffff,
                0xdead_beef,
                0x1000,
                1,
                0x2000,
                1
            ])
        );
        assert_eq!(p.opcode(), OP_NIC_WRITE);
    }

    #[test]
    fn nic_send_and_recv() {
        let op = NicOp::new(3, 1);
        let p = Packet::nic_send(&op, 0x1_0000_0040, 4).unwrap();
        assert_eq!(
            p.as_bytes(),
            words(&[4, 0x1d00_0800, 0x0001_0003, 0, 0x40, 1])
        );
        let op = NicOp {
            cqe: false,
            sob: Some(7),
            wr_id: 9,
            ..NicOp::new(0, 15)
        };
        let p = Packet::nic_recv(&op, 0x1_0000_0000, 1).unwrap();
        assert_eq!(p.as_bytes(), words(&[1, 0x1e00_0407, 0x000f_0000, 9, 0, 1]));
        let silent = NicOp {
            cqe: false,
            ..NicOp::new(0, 0)
        };
        assert_eq!(
            Packet::nic_send(&silent, 0, 1).unwrap().as_bytes()[4..8],
            0x1d00_0000u32.to_le_bytes()
        );
    }

    #[test]
    fn nic_fields_out_of_range() {
        let ok = NicOp::new(1, 1);
        assert!(Packet::nic_write(&ok, 0, 0, 0).is_err());
        assert!(Packet::nic_send(&ok, 0, 0).is_err());
        assert!(Packet::nic_recv(&ok, 0, 0).is_err());
        for bad in [
            NicOp::new(0x1_0000, 0),
            NicOp::new(0, 0x100),
            NicOp {
                sob: Some(SOB_COUNT),
                ..ok
            },
        ] {
            assert_eq!(
                Packet::nic_write(&bad, 0, 0, 1).unwrap_err().errno(),
                libc::EINVAL
            );
        }
    }

    #[test]
    fn barriers() {
        let p = Packet::nop().engine_barrier();
        assert_eq!(p.as_bytes(), words(&[0, 0x2a00_0000]));
        let p = Packet::nop().register_barrier().message_barrier();
        assert_eq!(p.as_bytes(), words(&[0, 0xca00_0000]));
        assert_eq!(p.opcode(), OP_NOP);
    }

    #[test]
    fn sizes_are_fixed_and_8_byte_multiples() {
        let all = [
            (Packet::wreg32(0, 0).unwrap(), 8),
            (Packet::msg_long(0, 0), 16),
            (Packet::msg_short(0, 0).unwrap(), 8),
            (Packet::repeat_start(1).unwrap(), 8),
            (Packet::repeat_end(), 8),
            (Packet::fence(0, 0, 0).unwrap(), 8),
            (Packet::lin_dma(0, 0, 1).unwrap(), 24),
            (Packet::memset(0, 0, 1).unwrap(), 24),
            (Packet::nop(), 8),
            (Packet::stop(), 8),
            (Packet::arb_point(), 8),
            (Packet::load_and_exe(0), 16),
            (Packet::nic_write(&NicOp::new(0, 0), 0, 0, 1).unwrap(), 32),
            (Packet::nic_send(&NicOp::new(0, 0), 0, 1).unwrap(), 24),
            (Packet::nic_recv(&NicOp::new(0, 0), 0, 1).unwrap(), 24),
        ];
        for (p, len) in all {
            assert_eq!(p.as_bytes().len(), len, "{p:?}");
        }
    }
}
