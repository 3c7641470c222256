// SPDX-License-Identifier: GPL-2.0

//! Decoding of the packets in a command buffer, encoded as GAUDI's
//! (`gaudi_packets.h`).
//!
//! A packet is two or more little-endian 32-bit words; the second is `ctl`:
//! `[28:24]` opcode, bits 29-31 the barriers (no effect: the model runs
//! packets in order), `[23:0]` the packet's fields; bits no field of the
//! packet names are reserved and must be 0. Where a packet has a predicate
//! (`ctl[4:0]`), [`decode`] returns it: the packet runs only if that
//! predicate register of the CP is set (0 is always set).

use crate::regs::JobStatus;
use crate::regs::rdma::{NUM_CONNS, NUM_CQS};

/// Opcode of `WREG_32`.
pub const OP_WREG_32: u32 = 0x01;
/// Opcode of `WREG_BULK`.
pub const OP_WREG_BULK: u32 = 0x02;
/// Opcode of `MSG_LONG`.
pub const OP_MSG_LONG: u32 = 0x03;
/// Opcode of `MSG_SHORT`.
pub const OP_MSG_SHORT: u32 = 0x04;
/// Opcode of `CP_DMA`.
pub const OP_CP_DMA: u32 = 0x05;
/// Opcode of `REPEAT`.
pub const OP_REPEAT: u32 = 0x06;
/// Opcode of `MSG_PROT` (the driver's: not supported in a user's CB).
pub const OP_MSG_PROT: u32 = 0x07;
/// Opcode of `FENCE`.
pub const OP_FENCE: u32 = 0x08;
/// Opcode of `LIN_DMA`.
pub const OP_LIN_DMA: u32 = 0x09;
/// Opcode of `NOP`.
pub const OP_NOP: u32 = 0x0a;
/// Opcode of `STOP`.
pub const OP_STOP: u32 = 0x0b;
/// Opcode of `ARB_POINT`.
pub const OP_ARB_POINT: u32 = 0x0c;
/// Opcode of `WAIT`.
pub const OP_WAIT: u32 = 0x0d;
/// Opcode of `LOAD_AND_EXE`.
pub const OP_LOAD_AND_EXE: u32 = 0x0f;
/// Opcode of `NIC_WRITE`.
pub const OP_NIC_WRITE: u32 = 0x1c;
/// Opcode of `NIC_SEND`.
pub const OP_NIC_SEND: u32 = 0x1d;
/// Opcode of `NIC_RECV`.
pub const OP_NIC_RECV: u32 = 0x1e;

/// `ctl` bits holding the opcode.
const CTL_OPCODE_SHIFT: u32 = 24;
const CTL_OPCODE_MASK: u32 = 0x1f;
/// `ctl` bits holding packet fields.
const CTL_FIELDS: u32 = 0x00ff_ffff;
/// `ctl` bits of the predicate.
const CTL_PRED: u32 = 0x1f;
/// `WREG_32` and `WREG_BULK` `ctl` field shift of the register offset.
const REG_OFFSET_SHIFT: u32 = 8;
/// `MSG_LONG` and `MSG_SHORT` `ctl` bits: weakly ordered, no snoop (no
/// effect in the model).
const MSG_WO_NS: u32 = 3 << 16;
/// `MSG_LONG` and `MSG_SHORT` `ctl` field shift of the operation (0: write
/// the value).
const MSG_OP_SHIFT: u32 = 20;
/// `MSG_SHORT` `ctl` field shift of the message base register.
const MSG_BASE_SHIFT: u32 = 22;
/// `LIN_DMA` `ctl` bit: write completion (no completion address in the
/// model: no effect).
pub const LIN_DMA_WRCOMP: u32 = 1 << 0;
/// `LIN_DMA` `ctl` bits GAUDI's DMA has and the model does not: transpose,
/// data type, compress, decompress.
const LIN_DMA_UNSUPPORTED: u32 = 0x66;
/// `LIN_DMA` `ctl` bit: linear (the only kind of transfer `LIN_DMA` makes).
pub const LIN_DMA_LIN: u32 = 1 << 3;
/// `LIN_DMA` `ctl` bit: fill instead of copy.
pub const LIN_DMA_MEMSET: u32 = 1 << 4;
/// `LIN_DMA` `ctl` bits of the low context id (ignored).
const LIN_DMA_CTX: u32 = 0xff << 16;
/// `LIN_DMA` destination bits holding the address; bits 63:56 hold the
/// high context id (ignored).
pub const LIN_DMA_DST_ADDR: u64 = 0x00ff_ffff_ffff_ffff;
/// `REPEAT` `cfg` bit: start of a block (the model's encoding).
pub const REPEAT_START: u32 = 1 << 31;
/// `REPEAT` `cfg` bits holding the count.
const REPEAT_COUNT: u32 = 0xffff;
/// `FENCE` `cfg` bits that may be set: id, 8-bit target, decrement.
const FENCE_FIELDS: u32 = 0xc0ff_000f;
/// `ARB_POINT` `cfg` bits that may be set: priority, release.
const ARB_FIELDS: u32 = 0x8000_00ff;
/// `ARB_POINT` `cfg` bit: release the arbiter (else request it).
const ARB_RELEASE: u32 = 1 << 31;
/// `WAIT` `cfg` bits that may be set: cycles, increment, fence id.
const WAIT_FIELDS: u32 = 0x3fff_ffff;
/// `LOAD_AND_EXE` `cfg` bit: the load's destination is the scalar
/// registers (else the predicates).
const LOAD_AND_EXE_DST: u32 = 1 << 0;
/// `LOAD_AND_EXE` `cfg` bit: load.
const LOAD_AND_EXE_LOAD: u32 = 1 << 8;
/// `LOAD_AND_EXE` `cfg` bit: execute the packet in the scalar registers.
const LOAD_AND_EXE_EXE: u32 = 1 << 9;
/// `LOAD_AND_EXE` `cfg` bit: execute type, the packet at `R2` (else at
/// `R0`).
const LOAD_AND_EXE_ETYPE: u32 = 1 << 10;
/// `LOAD_AND_EXE` `cfg` bits that may be set.
const LOAD_AND_EXE_FIELDS: u32 =
    LOAD_AND_EXE_DST | LOAD_AND_EXE_LOAD | LOAD_AND_EXE_EXE | LOAD_AND_EXE_ETYPE;
/// NIC packet `ctl` bits holding the SOB.
pub const NIC_SOB_MASK: u32 = 0x3ff;
/// NIC packet `ctl` bit: add 1 to the SOB when the operation succeeds.
pub const NIC_SOB: u32 = 1 << 10;
/// NIC packet `ctl` bit: write a CQE when the operation succeeds.
pub const NIC_CQE: u32 = 1 << 11;
/// NIC packet `ctl` bits that may be set.
const NIC_FIELDS: u32 = NIC_CQE | NIC_SOB | NIC_SOB_MASK;
/// Largest `WREG_BULK`, in 64-bit values.
pub const WREG_BULK_MAX: u32 = 0xffff;

/// What a `LOAD_AND_EXE` loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadDst {
    /// The predicates `P1`-`P31`, from 32 32-bit words: `Pi` is bit 0 of
    /// word `i` (GAUDI's non-consecutive map).
    Predicates,
    /// The scalar registers `R0`-`R3`, from four 32-bit words.
    Scalars,
}

/// Which packet a `LOAD_AND_EXE` executes: GAUDI's execute type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExeType {
    /// The packet at `R0` (up to 16 bytes: `R0`-`R3`).
    Lower,
    /// The packet at `R2` (up to 8 bytes: `R2`-`R3`).
    Upper,
}

/// The engine type a packet needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A DMA engine.
    Dma,
    /// A TPC.
    Tpc,
    /// A NIC port.
    Nic,
    /// An MME: runs no engine packet of the model's (GAUDI's MME is
    /// programmed through its registers, which the model does not have).
    Mme,
}

/// The fields the NIC packets share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NicOp {
    /// Bytes to move, or the size of a receive buffer; at least 1.
    pub len: u32,
    /// Connection, below `RDMA_CONNS`.
    pub conn: u16,
    /// Completion queue of the port that takes the CQE, below `RDMA_CQS`.
    pub cq: u8,
    /// Echoed in the CQE.
    pub wr_id: u32,
    /// Local device address: the source, or the receive buffer.
    pub addr: u64,
    /// SOB that gets 1 added when the operation succeeds.
    pub sob: Option<u16>,
    /// Whether success writes a CQE (failure always does).
    pub cqe: bool,
}

/// A decoded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `WREG_32`: writes `value` to sync-manager register `offset`.
    Wreg32 {
        /// Offset in the sync manager.
        offset: u16,
        /// The value.
        value: u32,
    },
    /// `WREG_BULK`: writes the `2 * count` 32-bit words that follow the
    /// header to consecutive sync-manager registers from `offset`.
    WregBulk {
        /// Offset of the first register in the sync manager.
        offset: u16,
        /// 64-bit values that follow, at least 1.
        count: u16,
    },
    /// `MSG_LONG`: writes `value` at device address `addr`.
    MsgLong {
        /// The value.
        value: u32,
        /// Device address.
        addr: u64,
    },
    /// `MSG_SHORT`: writes `value` at the QMAN's message base `base` plus
    /// `offset`.
    MsgShort {
        /// Message base register, 0-3.
        base: u8,
        /// Byte offset from the base.
        offset: u16,
        /// The value.
        value: u32,
    },
    /// `CP_DMA`: runs the `tsize` bytes of packets at device address `src`.
    CpDma {
        /// Bytes, a multiple of 8, at least 8.
        tsize: u32,
        /// Device address of the packets.
        src: u64,
    },
    /// `REPEAT` start: the block up to the next end runs `count` times.
    RepeatStart {
        /// Times the block runs, at least 1.
        count: u16,
    },
    /// `REPEAT` end.
    RepeatEnd,
    /// `FENCE`: waits until fence counter `id` is at least `target`, then
    /// subtracts `decrement`.
    Fence {
        /// Fence counter of this QMAN.
        id: u32,
        /// Value to wait for.
        target: u32,
        /// Value to subtract.
        decrement: u32,
    },
    /// `WAIT`: waits `cycles` engine clock cycles, then adds `increment` to
    /// fence counter `id`.
    Wait {
        /// Engine clock cycles.
        cycles: u32,
        /// Value to add.
        increment: u32,
        /// Fence counter of this QMAN.
        id: u32,
    },
    /// `LIN_DMA`: copies `tsize` bytes from `src` to `dst` (56 bits), or
    /// with `memset` fills them with the low byte of `src`.
    LinDma {
        /// Bytes, at least 1.
        tsize: u32,
        /// Fill instead of copy.
        memset: bool,
        /// Source device address, or the fill byte.
        src: u64,
        /// Destination device address.
        dst: u64,
    },
    /// `NOP`.
    Nop,
    /// `STOP`: ends the job successfully.
    Stop,
    /// `ARB_POINT`: requests the QMAN's arbiter with `priority`, or
    /// releases it.
    ArbPoint {
        /// The request's priority (priority arbitration).
        priority: u8,
        /// Release the grant instead of requesting it.
        release: bool,
    },
    /// `LOAD_AND_EXE` with neither load nor execute, the model's own form:
    /// runs the TPC kernel described at `desc`.
    LoadAndExe {
        /// Device address of the kernel descriptor.
        desc: u64,
    },
    /// `LOAD_AND_EXE` as GAUDI's CP runs it: loads the predicates or the
    /// scalar registers from `src`, then executes the packet the scalar
    /// registers hold.
    CpLoadExe {
        /// What to load, if anything.
        load: Option<LoadDst>,
        /// Which packet to execute, if any.
        exe: Option<ExeType>,
        /// Device address of the values to load.
        src: u64,
    },
    /// `NIC_WRITE`: writes `op.len` bytes at `op.addr` to the responder's
    /// device address `dst`.
    NicWrite {
        /// The operation.
        op: NicOp,
        /// Device address at the responder.
        dst: u64,
    },
    /// `NIC_SEND`: sends `op.len` bytes at `op.addr` as a message.
    NicSend(NicOp),
    /// `NIC_RECV`: posts the receive buffer of `op.len` bytes at `op.addr`.
    NicRecv(NicOp),
}

impl Packet {
    /// The engine type the packet needs, if it needs one.
    pub fn engine(&self) -> Option<Engine> {
        match self {
            Self::LinDma { .. } => Some(Engine::Dma),
            Self::LoadAndExe { .. } => Some(Engine::Tpc),
            Self::NicWrite { .. } | Self::NicSend(_) | Self::NicRecv(_) => Some(Engine::Nic),
            _ => None,
        }
    }
}

/// Largest packet with a fixed size, in 32-bit words.
const MAX_WORDS: usize = 8;

/// Decodes the packet at byte `off` of `cb`; returns it, its size and its
/// predicate (0, always true, for a packet without one).
pub fn decode(cb: &[u8], off: usize) -> Result<(Packet, usize, u32), JobStatus> {
    let rest = cb.get(off..).unwrap_or_default();
    // The packet's words, zero past its end.
    let mut w = [0; MAX_WORDS];
    for (word, bytes) in w.iter_mut().zip(rest.chunks_exact(4)) {
        *word = u32::from_le_bytes(std::array::from_fn(|i| bytes[i]));
    }
    if rest.len() < 8 {
        return Err(JobStatus::BadPacket);
    }
    let (cfg, ctl) = (w[0], w[1]);
    let opcode = (ctl >> CTL_OPCODE_SHIFT) & CTL_OPCODE_MASK;
    let reg_fields = 0xffff << REG_OFFSET_SHIFT | CTL_PRED;
    let (size, fields) = match opcode {
        OP_WREG_32 => (8, reg_fields),
        OP_WREG_BULK => (8 + 8 * (cfg as usize & 0xffff), reg_fields),
        OP_MSG_LONG => (16, CTL_PRED | MSG_WO_NS | 3 << MSG_OP_SHIFT),
        OP_MSG_SHORT => (
            8,
            0xffff | MSG_WO_NS | 3 << MSG_OP_SHIFT | 3 << MSG_BASE_SHIFT,
        ),
        OP_CP_DMA | OP_LOAD_AND_EXE => (16, CTL_PRED),
        OP_LIN_DMA => (
            24,
            LIN_DMA_WRCOMP | LIN_DMA_UNSUPPORTED | LIN_DMA_LIN | LIN_DMA_MEMSET | LIN_DMA_CTX,
        ),
        OP_REPEAT | OP_FENCE | OP_ARB_POINT => (8, CTL_PRED),
        OP_NOP | OP_STOP | OP_WAIT => (8, 0),
        OP_NIC_WRITE => (32, NIC_FIELDS),
        OP_NIC_SEND | OP_NIC_RECV => (24, NIC_FIELDS),
        OP_MSG_PROT => return Err(JobStatus::NotSupported),
        _ => return Err(JobStatus::BadOpcode),
    };
    if rest.len() < size || ctl & CTL_FIELDS & !fields != 0 {
        return Err(JobStatus::BadPacket);
    }
    let predicated = matches!(
        opcode,
        OP_WREG_32
            | OP_WREG_BULK
            | OP_MSG_LONG
            | OP_CP_DMA
            | OP_LOAD_AND_EXE
            | OP_REPEAT
            | OP_FENCE
            | OP_ARB_POINT
    );
    let pred = if predicated { ctl & CTL_PRED } else { 0 };
    if size < 4 * MAX_WORDS {
        w[size / 4..].fill(0);
    }
    let (a, b, c) = (
        u64::from(w[2]) | u64::from(w[3]) << 32,
        u64::from(w[4]) | u64::from(w[5]) << 32,
        u64::from(w[6]) | u64::from(w[7]) << 32,
    );
    // The NIC packets: w[2] holds the connection and the CQ, w[3] `wr_id`.
    let nic = || {
        let (conn, cq) = (w[2] & 0xffff, (w[2] >> 16) & 0xff);
        let valid =
            cfg != 0 && w[2] >> 24 == 0 && (conn as usize) < NUM_CONNS && (cq as usize) < NUM_CQS;
        valid.then_some(NicOp {
            len: cfg,
            conn: conn as u16,
            cq: cq as u8,
            wr_id: w[3],
            addr: b,
            sob: (ctl & NIC_SOB != 0).then_some((ctl & NIC_SOB_MASK) as u16),
            cqe: ctl & NIC_CQE != 0,
        })
    };
    let reg_offset = (ctl >> REG_OFFSET_SHIFT) as u16;
    let msg_op = (ctl >> MSG_OP_SHIFT) & 3;
    let packet = match opcode {
        OP_WREG_32 => Packet::Wreg32 {
            offset: reg_offset,
            value: cfg,
        },
        OP_WREG_BULK if cfg & !0xffff == 0 && cfg != 0 => Packet::WregBulk {
            offset: reg_offset,
            count: cfg as u16,
        },
        // Operation 1 writes a timestamp, which the model does not keep.
        OP_MSG_LONG | OP_MSG_SHORT if msg_op != 0 => return Err(JobStatus::NotSupported),
        OP_MSG_LONG => Packet::MsgLong {
            value: cfg,
            addr: a,
        },
        OP_MSG_SHORT => Packet::MsgShort {
            base: (ctl >> MSG_BASE_SHIFT) as u8 & 3,
            offset: ctl as u16,
            value: cfg,
        },
        OP_CP_DMA if cfg != 0 && cfg.is_multiple_of(8) => Packet::CpDma { tsize: cfg, src: a },
        OP_REPEAT if cfg & REPEAT_START != 0 => match cfg & !REPEAT_START {
            count @ 1..=REPEAT_COUNT => Packet::RepeatStart {
                count: count as u16,
            },
            _ => return Err(JobStatus::BadPacket),
        },
        OP_REPEAT if cfg == 0 => Packet::RepeatEnd,
        OP_FENCE if cfg & !FENCE_FIELDS == 0 => Packet::Fence {
            id: cfg >> 30,
            target: (cfg >> 16) & 0xff,
            decrement: cfg & 0xf,
        },
        OP_WAIT if cfg & !WAIT_FIELDS == 0 => Packet::Wait {
            cycles: cfg & 0xff_ffff,
            increment: (cfg >> 24) & 0xf,
            id: (cfg >> 28) & 3,
        },
        OP_LIN_DMA if ctl & LIN_DMA_UNSUPPORTED != 0 => return Err(JobStatus::NotSupported),
        OP_LIN_DMA if cfg != 0 => Packet::LinDma {
            tsize: cfg,
            memset: ctl & LIN_DMA_MEMSET != 0,
            src: a,
            dst: b & LIN_DMA_DST_ADDR,
        },
        OP_NOP => Packet::Nop,
        OP_STOP => Packet::Stop,
        OP_ARB_POINT if cfg & !ARB_FIELDS == 0 => Packet::ArbPoint {
            priority: cfg as u8,
            release: cfg & ARB_RELEASE != 0,
        },
        OP_LOAD_AND_EXE if cfg == 0 => Packet::LoadAndExe { desc: a },
        OP_LOAD_AND_EXE if cfg & !LOAD_AND_EXE_FIELDS == 0 => Packet::CpLoadExe {
            load: (cfg & LOAD_AND_EXE_LOAD != 0).then_some(if cfg & LOAD_AND_EXE_DST != 0 {
                LoadDst::Scalars
            } else {
                LoadDst::Predicates
            }),
            exe: (cfg & LOAD_AND_EXE_EXE != 0).then_some(if cfg & LOAD_AND_EXE_ETYPE != 0 {
                ExeType::Upper
            } else {
                ExeType::Lower
            }),
            src: a,
        },
        OP_NIC_WRITE => Packet::NicWrite {
            op: nic().ok_or(JobStatus::BadPacket)?,
            dst: c,
        },
        OP_NIC_SEND => Packet::NicSend(nic().ok_or(JobStatus::BadPacket)?),
        OP_NIC_RECV => Packet::NicRecv(nic().ok_or(JobStatus::BadPacket)?),
        _ => return Err(JobStatus::BadPacket),
    };
    Ok((packet, size, pred))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The header bits as `gaudi_packets.h` defines them, on the 64-bit
    // header (`ctl` is its high half).
    const ID_SHIFT: u32 = 56;
    const EB: u32 = 1 << 29;
    const RB: u32 = 1 << 30;
    const MB: u32 = 1 << 31;

    fn ctl(opcode: u32, fields: u32) -> u32 {
        opcode << 24 | fields
    }

    fn cb(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// The packet and size of `words`, which carry no predicate.
    fn one(words: &[u32]) -> Result<(Packet, usize), JobStatus> {
        decode(&cb(words), 0).map(|(packet, size, pred)| {
            assert_eq!(pred, 0, "{words:x?}");
            (packet, size)
        })
    }

    /// The opcode as `gaudi_packets.h` finds it: bits 60:56 of the first
    /// 64-bit header.
    fn packet_id(words: &[u32]) -> u32 {
        let header = u64::from(words[0]) | u64::from(words[1]) << 32;
        ((header & 0x1f00_0000_0000_0000) >> ID_SHIFT) as u32
    }

    #[test]
    fn opcodes_are_gaudis() {
        let ids = [
            (OP_WREG_32, 0x1),
            (OP_WREG_BULK, 0x2),
            (OP_MSG_LONG, 0x3),
            (OP_MSG_SHORT, 0x4),
            (OP_CP_DMA, 0x5),
            (OP_REPEAT, 0x6),
            (OP_MSG_PROT, 0x7),
            (OP_FENCE, 0x8),
            (OP_LIN_DMA, 0x9),
            (OP_NOP, 0xa),
            (OP_STOP, 0xb),
            (OP_ARB_POINT, 0xc),
            (OP_WAIT, 0xd),
            (OP_LOAD_AND_EXE, 0xf),
        ];
        for (op, id) in ids {
            assert_eq!(op, id);
            assert_eq!(packet_id(&[0, ctl(op, 0) | EB | RB | MB]), id);
        }
    }

    /// Every packet, its fields at `gaudi_packets.h`'s positions, decoded
    /// alone and in place between others.
    #[test]
    fn every_packet() {
        let cases: &[(&[u32], Packet, usize)] = &[
            // WREG_32: value; ctl pred [4:0], reg_offset [23:8].
            (
                &[0xdead_beef, ctl(OP_WREG_32, 0x3804 << 8) | EB | RB | MB],
                Packet::Wreg32 {
                    offset: 0x3804,
                    value: 0xdead_beef,
                },
                8,
            ),
            // WREG_BULK: size64 [15:0]; ctl as WREG_32; the values follow.
            (
                &[2, ctl(OP_WREG_BULK, 0x2000 << 8) | RB, 1, 2, 3, 4],
                Packet::WregBulk {
                    offset: 0x2000,
                    count: 2,
                },
                24,
            ),
            // MSG_LONG: value; ctl weakly ordered 16, no snoop 17; addr.
            (
                &[7, ctl(OP_MSG_LONG, 3 << 16), 0x0000_0040, 0x1],
                Packet::MsgLong {
                    value: 7,
                    addr: 0x1_0000_0040,
                },
                16,
            ),
            // MSG_SHORT: value (SOB update: [14:0] value, 31 mode); ctl
            // msg_addr_offset [15:0], base [23:22].
            (
                &[1 << 31 | 1, ctl(OP_MSG_SHORT, 1 << 22 | 0x1ffc) | MB],
                Packet::MsgShort {
                    base: 1,
                    offset: 0x1ffc,
                    value: 1 << 31 | 1,
                },
                8,
            ),
            // The monitor arm form of the value: group, mask, mode, target.
            (
                &[
                    9 << 17 | 1 << 16 | 0xfe << 8 | 3,
                    ctl(OP_MSG_SHORT, 3 << 22 | 0x1800 | 1 << 17),
                ],
                Packet::MsgShort {
                    base: 3,
                    offset: 0x1800,
                    value: 9 << 17 | 1 << 16 | 0xfe << 8 | 3,
                },
                8,
            ),
            // CP_DMA: tsize; ctl pred; src_addr.
            (
                &[0x40, ctl(OP_CP_DMA, 0) | RB, 0x1000, 0x1],
                Packet::CpDma {
                    tsize: 0x40,
                    src: 0x1_0000_1000,
                },
                16,
            ),
            (
                &[REPEAT_START | 0xffff, ctl(OP_REPEAT, 0)],
                Packet::RepeatStart { count: 0xffff },
                8,
            ),
            (&[0, ctl(OP_REPEAT, 0)], Packet::RepeatEnd, 8),
            // FENCE: dec_val [3:0], target_val [23:16], id [31:30].
            (
                &[3 << 30 | 0xff << 16 | 0xf, ctl(OP_FENCE, 0)],
                Packet::Fence {
                    id: 3,
                    target: 255,
                    decrement: 15,
                },
                8,
            ),
            // WAIT: num_cycles_to_wait [23:0], inc_val [27:24], id [29:28].
            (
                &[2 << 28 | 5 << 24 | 1500, ctl(OP_WAIT, 0) | EB],
                Packet::Wait {
                    cycles: 1500,
                    increment: 5,
                    id: 2,
                },
                8,
            ),
            // LIN_DMA: tsize; ctl wr_comp_en 0, lin 3, mem_set 4,
            // context_id_low [23:16]; src; dst.
            (
                &[
                    u32::MAX,
                    ctl(
                        OP_LIN_DMA,
                        LIN_DMA_WRCOMP | LIN_DMA_LIN | LIN_DMA_MEMSET | 0xab << 16,
                    ) | RB,
                    0xab,
                    0,
                    0x10,
                    0xcd01_0000,
                ],
                // dst's bits 63:56 are the high context id.
                Packet::LinDma {
                    tsize: u32::MAX,
                    memset: true,
                    src: 0xab,
                    dst: 0x0001_0000_0000_0010,
                },
                24,
            ),
            (&[0x1234, ctl(OP_NOP, 0) | RB], Packet::Nop, 8),
            (&[0x1234, ctl(OP_STOP, 0)], Packet::Stop, 8),
            // ARB_POINT: priority [7:0], rls 31.
            (
                &[1 << 31 | 0xff, ctl(OP_ARB_POINT, 0)],
                Packet::ArbPoint {
                    priority: 0xff,
                    release: true,
                },
                8,
            ),
            (
                &[3, ctl(OP_ARB_POINT, 0)],
                Packet::ArbPoint {
                    priority: 3,
                    release: false,
                },
                8,
            ),
            // LOAD_AND_EXE: dst 0, load 8, exe 9, etype 10; src_addr.
            (
                &[0, ctl(OP_LOAD_AND_EXE, 0) | RB, 0x28, 0x1],
                Packet::LoadAndExe {
                    desc: 0x1_0000_0028,
                },
                16,
            ),
            (
                &[0x700, ctl(OP_LOAD_AND_EXE, 0) | RB, 0x28, 0x1],
                Packet::CpLoadExe {
                    load: Some(LoadDst::Predicates),
                    exe: Some(ExeType::Upper),
                    src: 0x1_0000_0028,
                },
                16,
            ),
            (
                &[0x101, ctl(OP_LOAD_AND_EXE, 0), 0x80, 0],
                Packet::CpLoadExe {
                    load: Some(LoadDst::Scalars),
                    exe: None,
                    src: 0x80,
                },
                16,
            ),
            (
                &[0x200, ctl(OP_LOAD_AND_EXE, 0), 0, 0],
                Packet::CpLoadExe {
                    load: None,
                    exe: Some(ExeType::Lower),
                    src: 0,
                },
                16,
            ),
            (
                &[
                    u32::MAX,
                    ctl(OP_NIC_WRITE, NIC_CQE | NIC_SOB | 0x3ff) | MB,
                    15 << 16 | 63,
                    0xdead_beef,
                    0x40,
                    0x1,
                    0x80,
                    0x2,
                ],
                Packet::NicWrite {
                    op: NicOp {
                        len: u32::MAX,
                        conn: 63,
                        cq: 15,
                        wr_id: 0xdead_beef,
                        addr: 0x1_0000_0040,
                        sob: Some(1023),
                        cqe: true,
                    },
                    dst: 0x2_0000_0080,
                },
                32,
            ),
            (
                &[1, ctl(OP_NIC_SEND, 0x3ff), 0, 7, 0, 0x1],
                Packet::NicSend(NicOp {
                    len: 1,
                    conn: 0,
                    cq: 0,
                    wr_id: 7,
                    addr: 0x1_0000_0000,
                    sob: None,
                    cqe: false,
                }),
                24,
            ),
            (
                &[4096, ctl(OP_NIC_RECV, NIC_SOB | 5), 3 << 16 | 2, 9, 8, 0x1],
                Packet::NicRecv(NicOp {
                    len: 4096,
                    conn: 2,
                    cq: 3,
                    wr_id: 9,
                    addr: 0x1_0000_0008,
                    sob: Some(5),
                    cqe: false,
                }),
                24,
            ),
        ];
        for &(words, packet, size) in cases {
            assert_eq!(one(words), Ok((packet, size)), "{words:x?}");
            // Decoded in place after another packet, with more following.
            let mut longer = vec![0, ctl(OP_NOP, 0)];
            longer.extend_from_slice(words);
            longer.extend_from_slice(&[u32::MAX; 6]);
            assert_eq!(decode(&cb(&longer), 8), Ok((packet, size, 0)), "{words:x?}");
        }
        assert_eq!(
            one(&[0x10, ctl(OP_LIN_DMA, 0), 1, 2, 3, 4]).unwrap().0,
            Packet::LinDma {
                tsize: 0x10,
                memset: false,
                src: 0x2_0000_0001,
                dst: 0x4_0000_0003,
            }
        );
        assert_eq!(Packet::Nop.engine(), None);
        assert_eq!(Packet::LoadAndExe { desc: 0 }.engine(), Some(Engine::Tpc));
        let load = one(&[0x300, ctl(OP_LOAD_AND_EXE, 0), 0, 0]).unwrap().0;
        assert_eq!(load.engine(), None);
        let recv = one(&[1, ctl(OP_NIC_RECV, 0), 0, 0, 0, 0]).unwrap().0;
        assert_eq!(recv.engine(), Some(Engine::Nic));
        assert_eq!(
            one(&[1, ctl(OP_LIN_DMA, 0), 0, 0, 0, 0])
                .unwrap()
                .0
                .engine(),
            Some(Engine::Dma)
        );
    }

    #[test]
    fn unknown_and_unsupported_opcodes() {
        for op in [0x00, 0x0e, 0x10, 0x1f] {
            assert_eq!(
                one(&[0, ctl(op, 0)]),
                Err(JobStatus::BadOpcode),
                "opcode {op:#x}"
            );
        }
        let unsupported: &[&[u32]] = &[
            // The driver's packet.
            &[0, ctl(OP_MSG_PROT, 0), 0, 0],
            // A timestamp instead of the value.
            &[0, ctl(OP_MSG_LONG, 1 << 20), 0, 0],
            &[0, ctl(OP_MSG_SHORT, 1 << 20)],
            // Transpose, data type, compress, decompress.
            &[1, ctl(OP_LIN_DMA, 1 << 1), 0, 0, 0, 0],
            &[1, ctl(OP_LIN_DMA, 1 << 2), 0, 0, 0, 0],
            &[1, ctl(OP_LIN_DMA, 1 << 5), 0, 0, 0, 0],
            &[1, ctl(OP_LIN_DMA, 1 << 6), 0, 0, 0, 0],
        ];
        for &words in unsupported {
            assert_eq!(one(words), Err(JobStatus::NotSupported), "{words:x?}");
        }
    }

    #[test]
    fn predicates() {
        let predicated: &[(&[u32], u32)] = &[
            (&[0, ctl(OP_WREG_32, 1)], 1),
            (&[1, ctl(OP_WREG_BULK, 0x1f), 0, 0], 31),
            (&[0, ctl(OP_MSG_LONG, 2), 0, 0], 2),
            (&[8, ctl(OP_CP_DMA, 3), 0, 0], 3),
            (&[0, ctl(OP_FENCE, 4)], 4),
            (&[0, ctl(OP_ARB_POINT, 5)], 5),
            (&[0x100, ctl(OP_LOAD_AND_EXE, 6), 0, 0], 6),
            (&[REPEAT_START | 1, ctl(OP_REPEAT, 7)], 7),
        ];
        for &(words, pred) in predicated {
            let (_, _, got) = decode(&cb(words), 0).unwrap();
            assert_eq!(got, pred, "{words:x?}");
        }
        // MSG_SHORT's low bits are its offset, not a predicate.
        assert_eq!(decode(&cb(&[0, ctl(OP_MSG_SHORT, 0x1f)]), 0).unwrap().2, 0);
    }

    #[test]
    fn malformed_packets() {
        let cases: &[&[u32]] = &[
            // Truncated by the end of the CB.
            &[0],
            &[7, ctl(OP_MSG_LONG, 0)],
            &[7, ctl(OP_MSG_LONG, 0), 0],
            &[1, ctl(OP_LIN_DMA, 0), 0, 0],
            &[1, ctl(OP_LIN_DMA, 0), 0, 0, 0],
            &[0, ctl(OP_LOAD_AND_EXE, 0)],
            &[8, ctl(OP_CP_DMA, 0), 0],
            &[2, ctl(OP_WREG_BULK, 0), 0, 0, 0],
            &[1, ctl(OP_NIC_WRITE, 0), 0, 0, 0, 0, 0],
            &[1, ctl(OP_NIC_SEND, 0), 0, 0, 0],
            &[1, ctl(OP_NIC_RECV, 0), 0, 0],
            // Reserved ctl bits.
            &[0, ctl(OP_WREG_32, 1 << 5)],
            &[0, ctl(OP_MSG_LONG, 1 << 8), 0, 0],
            &[0, ctl(OP_MSG_LONG, 1 << 22), 0, 0],
            &[0, ctl(OP_MSG_SHORT, 1 << 18)],
            &[REPEAT_START | 1, ctl(OP_REPEAT, 1 << 5)],
            &[0, ctl(OP_FENCE, 1 << 20)],
            &[0, ctl(OP_WAIT, 1)],
            &[8, ctl(OP_CP_DMA, 1 << 8), 0, 0],
            &[1, ctl(OP_LIN_DMA, 1 << 7), 0, 0, 0, 0],
            &[1, ctl(OP_LIN_DMA, 1 << 15), 0, 0, 0, 0],
            &[0, ctl(OP_NOP, 1)],
            &[0, ctl(OP_STOP, 0x80_0000)],
            &[0, ctl(OP_ARB_POINT, 1 << 8)],
            &[0, ctl(OP_LOAD_AND_EXE, 1 << 5), 0, 0],
            &[1, ctl(OP_NIC_WRITE, 1 << 12), 0, 0, 0, 0, 0, 0],
            &[1, ctl(OP_NIC_SEND, 1 << 23), 0, 0, 0, 0],
            // Bad fields.
            &[0, ctl(OP_WREG_BULK, 0)],
            &[1 << 16 | 1, ctl(OP_WREG_BULK, 0), 0, 0],
            &[0, ctl(OP_CP_DMA, 0), 0, 0],
            &[12, ctl(OP_CP_DMA, 0), 0, 0],
            &[REPEAT_START, ctl(OP_REPEAT, 0)],
            &[REPEAT_START | 1 << 16 | 1, ctl(OP_REPEAT, 0)],
            &[1, ctl(OP_REPEAT, 0)],
            &[1 << 16, ctl(OP_REPEAT, 0)],
            &[1 << 4, ctl(OP_FENCE, 0)],
            &[1 << 29, ctl(OP_FENCE, 0)],
            &[1 << 30, ctl(OP_WAIT, 0)],
            &[1 << 8, ctl(OP_ARB_POINT, 0)],
            &[0, ctl(OP_LIN_DMA, LIN_DMA_MEMSET), 0, 0, 0, 0],
            &[1 << 12, ctl(OP_LOAD_AND_EXE, 0), 0, 0],
            &[0, ctl(OP_NIC_WRITE, 0), 0, 0, 0, 0, 0, 0],
            &[0, ctl(OP_NIC_RECV, 0), 0, 0, 0, 0],
            &[1, ctl(OP_NIC_SEND, 0), 64, 0, 0, 0],
            &[1, ctl(OP_NIC_SEND, 0), 0xffff, 0, 0, 0],
            &[1, ctl(OP_NIC_RECV, 0), 16 << 16, 0, 0, 0],
            &[1, ctl(OP_NIC_WRITE, 0), 1 << 24, 0, 0, 0, 0, 0],
        ];
        for &words in cases {
            assert_eq!(one(words), Err(JobStatus::BadPacket), "{words:x?}");
        }
        // Past the end of the CB.
        let nop = cb(&[0, ctl(OP_NOP, 0)]);
        assert_eq!(decode(&nop, 8), Err(JobStatus::BadPacket));
        assert_eq!(decode(&nop, usize::MAX), Err(JobStatus::BadPacket));
        assert_eq!(decode(&[], 0), Err(JobStatus::BadPacket));
    }
}
