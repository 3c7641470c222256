// SPDX-License-Identifier: GPL-2.0

//! GAUDI's sync streams: the jobs the driver writes for `HL_CS_FLAGS_SIGNAL` and
//! `HL_CS_FLAGS_WAIT` submissions on an external queue (the streams of DMA 0 and 1).
//!
//! Each of the eight external streams has a SOB and a monitor of its own, past those a user's
//! command buffers use. A SIGNAL job adds 1 to the stream's SOB, which then holds the stream's
//! next signal value; a WAIT job arms the stream's monitor to add 1 to fence counter
//! [`FENCE_ID`] of its QMAN once the signalled SOB reaches the signal's value, and fences on
//! it, as GAUDI's driver does. Encapsulated signals are values of a stream's SOB reserved for
//! a user's submission, whose command buffers add to the SOB themselves.

use kernel::uapi;

use crate::regs::{
    FENCE_ADDR_OFFSET, FENCE_CFG, MON_ADDR_BASE, MON_ARM, MON_ARM_VALUE, MON_PAY_ADDRH,
    MON_PAY_DATA, PACKET, PACKET_FENCE, PACKET_MSG_SHORT, PACKET_NOP, PACKET_WREG_32,
    SOB_ADDR_BASE,
};

/// External streams: `GAUDI_QUEUE_ID_DMA_0_0` to `GAUDI_QUEUE_ID_DMA_1_3`.
pub(crate) const STREAMS: usize = 8;
/// The SOB of stream 0; stream `s` has `SOB_BASE + s`, the last SOBs of the sync manager.
const SOB_BASE: u32 = 2048 - STREAMS as u32;
/// The monitor of stream 0; stream `s` has `MON_BASE + s`, the last monitors.
const MON_BASE: u32 = 512 - STREAMS as u32;
/// The fence counter a WAIT job fences on, as GAUDI's driver uses.
const FENCE_ID: u8 = 2;
/// Largest SOB value.
pub(crate) const SOB_MAX: u32 = 0x7fff;
/// `MSG_SHORT` to a SOB: add the value instead of setting it.
const SOB_ADD: u32 = 1 << 31;
/// GAUDI's configuration space, `CFG_BASE`, where the sync manager's registers are.
const CFG_BASE: u64 = 0x7f_fc00_0000;
/// `MSG_SHORT`'s message bases, as the driver sets them (`qman.rs`).
const BASE_MONITORS: u8 = 0;
const BASE_SOBS: u8 = 1;

/// The external stream of GAUDI queue id `queue`, if it is one.
pub(crate) fn stream(queue: u32) -> Option<usize> {
    let first = uapi::gaudi_queue_id_GAUDI_QUEUE_ID_DMA_0_0;
    let stream = queue.checked_sub(first)? as usize;
    (stream < STREAMS).then_some(stream)
}

/// The SOB of `stream`.
pub(crate) fn sob(stream: usize) -> u32 {
    SOB_BASE + stream as u32
}

/// The SOB of `stream` and the value after `last`, the stream's previous signal value.
pub(crate) fn next_signal(stream: usize, last: u32) -> (u32, u32) {
    (sob(stream), last % SOB_MAX + 1)
}

/// Where SOB `sob` is in GAUDI's configuration space (`sob_base_addr_offset`, as mainline's
/// `get_sob_addr`): a user's command buffer writes `CFG_BASE` plus this.
pub(crate) fn sob_cfg_offset(sob: u32) -> u32 {
    (SOB_ADDR_BASE - CFG_BASE) as u32 + 4 * sob
}

fn packet(opcode: u8, value: u32) -> PACKET {
    PACKET::default().set_opcode(opcode).set_value(value)
}

fn msg_short(base: u8, offset: u32, value: u32) -> u64 {
    let p = packet(PACKET_MSG_SHORT, value)
        .set_mb(true)
        .set_msg_base(base);
    p.set_msg_offset(offset as u16).into()
}

/// `WREG_32` of `value` to the sync manager register at `offset` from `MON_PAY_ADDRL[0]`.
fn wreg_monitor(offset: u32, value: u32) -> u64 {
    let offset = (MON_ADDR_BASE - SOB_ADDR_BASE) as u32 + offset;
    let p = packet(PACKET_WREG_32, value).set_rb(true);
    p.set_reg_offset(offset as u16).into()
}

/// The job of a WAIT with nothing to wait for.
pub(crate) fn nop_job() -> [u64; 1] {
    [packet(PACKET_NOP, 0).into()]
}

/// The job of a SIGNAL that takes `sob` to `value`: adds 1 to it (`add`), or sets it, which
/// is the same while the SOB holds the previous value and brings it back to the stream's count
/// when an aborted job left it behind.
pub(crate) fn signal_job(sob: u32, value: u32, add: bool) -> [u64; 1] {
    let value = if add { SOB_ADD | 1 } else { value };
    [msg_short(BASE_SOBS, 4 * sob, value)]
}

/// The job of a WAIT on QMAN `qman`'s `stream` until `sob` reaches `value`.
pub(crate) fn wait_job(qman: usize, stream: usize, sob: u32, value: u32) -> [u64; 5] {
    let mon = MON_BASE + stream as u32;
    let fence = SOB_ADDR_BASE + FENCE_ADDR_OFFSET + 16 * qman as u64 + 4 * u64::from(FENCE_ID);
    // Watch `sob` alone in its group of eight, for at least `value`.
    let arm = MON_ARM_VALUE::default()
        .set_group((sob / 8) as u8)
        .set_mask(!(1u8 << (sob % 8)))
        .set_value(value as u16);
    let cfg = FENCE_CFG::default()
        .set_id(FENCE_ID)
        .set_target(1)
        .set_dec(1);
    [
        wreg_monitor(4 * mon, fence as u32),
        wreg_monitor(MON_PAY_ADDRH + 4 * mon, (fence >> 32) as u32),
        wreg_monitor(MON_PAY_DATA + 4 * mon, 1),
        msg_short(BASE_MONITORS, MON_ARM + 4 * mon, arm.into()),
        packet(PACKET_FENCE, cfg.into()).set_rb(true).into(),
    ]
}
