// SPDX-License-Identifier: GPL-2.0

//! GAUDI's sync streams: the jobs the driver writes for `HL_CS_FLAGS_SIGNAL` and
//! `HL_CS_FLAGS_WAIT` submissions on an external queue (the streams of DMA 0 and 1).
//!
//! Each of the eight external streams has a SOB and a monitor of its own, past those a user's
//! command buffers use. A SIGNAL job sets the stream's SOB to the stream's next signal value;
//! a WAIT job arms the stream's monitor to add 1 to fence counter [`FENCE_ID`] of its QMAN once
//! the signalled SOB reaches the signal's value, and fences on it, as GAUDI's driver does.

use kernel::uapi;

use crate::regs::{MON_ADDR_BASE, SOB_ADDR_BASE};

/// External streams: `GAUDI_QUEUE_ID_DMA_0_0` to `GAUDI_QUEUE_ID_DMA_1_3`.
pub(crate) const STREAMS: usize = 8;
/// The SOB of stream 0; stream `s` has `SOB_BASE + s`, the last SOBs of the sync manager.
const SOB_BASE: u32 = 2048 - STREAMS as u32;
/// The monitor of stream 0; stream `s` has `MON_BASE + s`, the last monitors.
const MON_BASE: u32 = 512 - STREAMS as u32;
/// The fence counter a WAIT job fences on, as GAUDI's driver uses.
const FENCE_ID: u32 = 2;
/// Largest SOB value.
const SOB_MAX: u32 = 0x7fff;
/// Where the model's fence counters start in the sync manager.
const FENCE_OFFSET: u64 = 0x8000;

/// Packet opcodes and fields, as `gaudi_packets.h` lays them out.
const OP_WREG_32: u32 = 0x01;
const OP_MSG_SHORT: u32 = 0x04;
const OP_FENCE: u32 = 0x08;
const OP_NOP: u32 = 0x0a;
const CTL_RB: u32 = 1 << 30;
const CTL_MB: u32 = 1 << 31;
/// `MSG_SHORT`'s message bases, as the driver sets them (`qman.rs`).
const BASE_MONITORS: u32 = 0;
const BASE_SOBS: u32 = 1;
/// Offsets of a monitor's registers from `MON_PAY_ADDRL[0]`.
const MON_PAY_ADDR_HI: u32 = 0x800;
const MON_PAY_DATA: u32 = 0x1000;
const MON_ARM: u32 = 0x1800;

/// The external stream of GAUDI queue id `queue`, if it is one.
pub(crate) fn stream(queue: u32) -> Option<usize> {
    let first = uapi::gaudi_queue_id_GAUDI_QUEUE_ID_DMA_0_0;
    let stream = queue.checked_sub(first)? as usize;
    (stream < STREAMS).then_some(stream)
}

/// The SOB of `stream` and the value after `last`, the stream's previous signal value.
pub(crate) fn next_signal(stream: usize, last: u32) -> (u32, u32) {
    (SOB_BASE + stream as u32, last % SOB_MAX + 1)
}

/// A packet: its first word and `ctl` (opcode, fields), as one little-endian `u64`.
fn packet(opcode: u32, fields: u32, value: u32) -> u64 {
    u64::from(opcode << 24 | fields) << 32 | u64::from(value)
}

fn msg_short(base: u32, offset: u32, value: u32) -> u64 {
    packet(OP_MSG_SHORT, CTL_MB | base << 22 | offset, value)
}

/// `WREG_32` of `value` to the sync manager register at `offset` from `MON_PAY_ADDRL[0]`.
fn wreg_monitor(offset: u32, value: u32) -> u64 {
    let offset = (MON_ADDR_BASE - SOB_ADDR_BASE) as u32 + offset;
    packet(OP_WREG_32, CTL_RB | offset << 8, value)
}

/// The job of a WAIT with nothing to wait for.
pub(crate) fn nop_job() -> [u64; 1] {
    [packet(OP_NOP, 0, 0)]
}

/// The job of a SIGNAL: sets `sob` to `value`.
pub(crate) fn signal_job(sob: u32, value: u32) -> [u64; 1] {
    [msg_short(BASE_SOBS, 4 * sob, value)]
}

/// The job of a WAIT on QMAN `qman`'s `stream` until `sob` reaches `value`.
pub(crate) fn wait_job(qman: usize, stream: usize, sob: u32, value: u32) -> [u64; 5] {
    let mon = MON_BASE + stream as u32;
    let fence = SOB_ADDR_BASE + FENCE_OFFSET + 16 * qman as u64 + 4 * u64::from(FENCE_ID);
    // Watch `sob` alone in its group of eight, for at least `value`.
    let arm = value << 17 | (!(1u32 << (sob % 8)) & 0xff) << 8 | (sob / 8);
    [
        wreg_monitor(4 * mon, fence as u32),
        wreg_monitor(MON_PAY_ADDR_HI + 4 * mon, (fence >> 32) as u32),
        wreg_monitor(MON_PAY_DATA + 4 * mon, 1),
        msg_short(BASE_MONITORS, MON_ARM + 4 * mon, arm),
        packet(OP_FENCE, CTL_RB, FENCE_ID << 30 | 1 << 16 | 1),
    ]
}
