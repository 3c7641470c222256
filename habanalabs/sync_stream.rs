// SPDX-License-Identifier: GPL-2.0

//! GAUDI's sync streams: the jobs the driver writes for `HL_CS_FLAGS_SIGNAL` and
//! `HL_CS_FLAGS_WAIT` submissions on an external queue (the streams of DMA 0 and 1).
//!
//! Each of the eight external streams has a SOB and a monitor of its own, past those a user's
//! command buffers use. A SIGNAL job adds 1 to the stream's SOB, which then holds the stream's
//! next signal value; a WAIT job arms the stream's monitor to add 1 to fence counter
//! [`FENCE_ID`] of its QMAN's stream once the signalled SOB reaches the signal's value, and
//! fences on it, as GAUDI's driver does: the QMAN's other streams run meanwhile. Encapsulated signals are values of a stream's SOB reserved for
//! a user's submission, whose command buffers add to the SOB themselves.
//!
//! `HL_CS_FLAGS_COLLECTIVE_WAIT` submissions wait for a signal on an external queue (the
//! collective master) and on its stream's slave queues, as GAUDI's driver builds them: the
//! NIC queues of the ports present and the reduction engine's (DMA 5 or TPC 7), all of the
//! master's stream `s` (queue id modulo 4). Each slave arms a monitor of its own on the
//! signal, fences on it, then sets its SOB of the stream's SOB group to the collective's
//! value; the master arms two monitors, on the group's first eight SOBs (NICs 0-7) and on its
//! next three (NICs 8 and 9, the reduction engine), and fences on each. The driver's objects
//! are at the top of the sync manager, below the sync streams': SOB groups of 16 from
//! [`COLLECTIVE_SOB_BASE`] (two per stream, used in turn each time the value wraps, as GAUDI's
//! `HL_RSVD_SOBS`), slave monitors from [`SLAVE_MON_BASE`] (one per slave queue and stream),
//! master monitors from [`MASTER_MON_BASE`] (two per external stream).

use kernel::{prelude::*, sync::Arc, uapi};

use crate::cs::Cs;
pub(crate) use crate::regs::QMAN_STREAMS;
use crate::regs::{
    CFG_BASE, FENCE_ADDR_OFFSET, FENCE_CFG, FENCE_QMAN_STRIDE, MON_ADDR_BASE, MON_ARM,
    MON_ARM_VALUE, MON_PAY_ADDRH, MON_PAY_DATA, PACKET, PACKET_FENCE, PACKET_MSG_SHORT, PACKET_NOP,
    PACKET_WREG_32, SOB_ADDR_BASE,
};

/// External streams: `GAUDI_QUEUE_ID_DMA_0_0` to `GAUDI_QUEUE_ID_DMA_1_3`.
pub(crate) const STREAMS: usize = 8;
/// The SOB of stream 0; stream `s` has `SOB_BASE + s`, the last SOBs of the sync manager.
const SOB_BASE: u32 = 2048 - STREAMS as u32;
/// The monitor of stream 0; stream `s` has `MON_BASE + s`, the last monitors.
const MON_BASE: u32 = 512 - STREAMS as u32;
/// The fence counter a WAIT job fences on, as GAUDI's driver uses.
const FENCE_ID: u8 = 2;
/// SOBs of a collective SOB group: NICs 0-9 and the reduction engine, padded to two groups
/// of eight that a monitor watches.
const GROUP_SOBS: u32 = 16;
/// The reduction engine's SOB in a collective group (NICs have SOB `p`).
const REDUCTION_SOB: usize = 10;
/// Collective SOB groups, two per stream.
const GROUPS: u32 = 2 * QMAN_STREAMS as u32;
/// The first SOB of the collective groups.
pub(crate) const COLLECTIVE_SOB_BASE: u32 = SOB_BASE - GROUPS * GROUP_SOBS;
/// Collective slave queues of a stream: NICs 0-9, DMA 5, TPC 7.
const SLAVE_QUEUES: u32 = 12;
/// The first collective slave monitor: slave queue `c`'s of stream `s` is this plus `4c + s`.
pub(crate) const SLAVE_MON_BASE: u32 = MASTER_MON_BASE - SLAVE_QUEUES * QMAN_STREAMS as u32;
/// The first collective master monitor: external stream `e` has this plus `2e` and `2e + 1`.
pub(crate) const MASTER_MON_BASE: u32 = MON_BASE - 2 * STREAMS as u32;
const _: () = assert!(COLLECTIVE_SOB_BASE % 8 == 0);
/// Largest SOB value.
pub(crate) const SOB_MAX: u32 = 0x7fff;
/// `MSG_SHORT` to a SOB: add the value instead of setting it.
const SOB_ADD: u32 = 1 << 31;
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

/// A QMAN and one of its streams, whose fence counters a job fences on.
pub(crate) type QmanStream = (usize, usize);

/// The job of a WAIT of external stream `stream`, on QMAN stream `at`, until `sob` reaches
/// `value`.
pub(crate) fn wait_job(at: QmanStream, stream: usize, sob: u32, value: u32) -> [u64; 5] {
    // Watch `sob` alone in its group of eight, for at least `value`.
    wait_on(at, MON_BASE + stream as u32, sob / 8, 1 << (sob % 8), value)
}

/// Packets that arm monitor `mon` to add 1 to fence counter [`FENCE_ID`] of QMAN stream `at`
/// once the SOBs of bits `watched` of sync group `group` (SOBs `8 group` on) reach `value`,
/// and fence on it (the job runs on that stream).
fn wait_on((qman, stream): QmanStream, mon: u32, group: u32, watched: u8, value: u32) -> [u64; 5] {
    let fence = SOB_ADDR_BASE
        + FENCE_ADDR_OFFSET
        + FENCE_QMAN_STRIDE * qman as u64
        + 16 * stream as u64
        + 4 * u64::from(FENCE_ID);
    let arm = MON_ARM_VALUE::default()
        .set_group(group as u8)
        .set_mask(!watched)
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

/// The reduction engine of a collective wait, by its `collective_engine_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reduction {
    Dma5,
    Tpc7,
}

impl Reduction {
    /// `EINVAL` for an engine other than DMA 5 and TPC 7, as mainline GAUDI.
    pub(crate) fn from_engine(id: u32) -> Result<Self> {
        match id {
            uapi::gaudi_engine_id_GAUDI_ENGINE_ID_DMA_5 => Ok(Self::Dma5),
            uapi::gaudi_engine_id_GAUDI_ENGINE_ID_TPC_7 => Ok(Self::Tpc7),
            _ => Err(EINVAL),
        }
    }
}

/// A slave job of a collective wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slave {
    /// Its GAUDI queue id.
    pub(crate) queue: u32,
    /// Its SOB in the stream's group (NIC `p`: `p`; the reduction engine: 10).
    sob: usize,
    /// Its monitor.
    mon: u32,
}

/// Where a collective wait's jobs go: the master's stream `stream` and its slaves, the NIC
/// queues of the ports in `port_mask` then the reduction engine's.
pub(crate) struct CollectivePlan {
    pub(crate) stream: usize,
    pub(crate) slaves: [Option<Slave>; REDUCTION_SOB + 1],
    /// The SOBs of the group the master watches, for its two monitors.
    watched: [u8; 2],
}

/// The plan of a collective wait on external queue `master` with reduction engine
/// `engine`: `EINVAL` for a queue that is no collective master, a device without NIC ports,
/// or an engine that is no reduction engine, mainline GAUDI's refusals.
pub(crate) fn collective_plan(master: u32, engine: u32, port_mask: u32) -> Result<CollectivePlan> {
    let ext = stream(master).ok_or(EINVAL)?;
    if port_mask == 0 {
        return Err(EINVAL);
    }
    let reduction = Reduction::from_engine(engine)?;
    let stream = ext % QMAN_STREAMS;
    let slave_mon = |c: u32| SLAVE_MON_BASE + 4 * c + stream as u32;
    let mut slaves = [None; REDUCTION_SOB + 1];
    let mut watched = [0u8; 2];
    let nic_0 = uapi::gaudi_queue_id_GAUDI_QUEUE_ID_NIC_0_0 + stream as u32;
    for (p, slave) in slaves.iter_mut().enumerate().take(REDUCTION_SOB) {
        if port_mask & (1 << p) != 0 {
            *slave = Some(Slave {
                queue: nic_0 + 4 * p as u32,
                sob: p,
                mon: slave_mon(p as u32),
            });
            watched[p / 8] |= 1 << (p % 8);
        }
    }
    let (first, c) = match reduction {
        Reduction::Dma5 => (uapi::gaudi_queue_id_GAUDI_QUEUE_ID_DMA_5_0, 10),
        Reduction::Tpc7 => (uapi::gaudi_queue_id_GAUDI_QUEUE_ID_TPC_7_0, 11),
    };
    slaves[REDUCTION_SOB] = Some(Slave {
        queue: first + stream as u32,
        sob: REDUCTION_SOB,
        mon: slave_mon(c),
    });
    watched[REDUCTION_SOB / 8] |= 1 << (REDUCTION_SOB % 8);
    Ok(CollectivePlan {
        stream,
        slaves,
        watched,
    })
}

/// The first SOB of SOB group `group` (0 or 1) of `stream`.
pub(crate) fn group_base(stream: usize, group: usize) -> u32 {
    COLLECTIVE_SOB_BASE + GROUP_SOBS * (2 * stream + group) as u32
}

/// The SOBs of a collective group, for the driver to clear before it reuses the group.
pub(crate) fn group_sobs(stream: usize, group: usize) -> core::ops::Range<u32> {
    let base = group_base(stream, group);
    base..base + GROUP_SOBS
}

impl CollectivePlan {
    /// The master's job, on QMAN stream `at` of external stream `ext`: waits until every
    /// slave's SOB of group `base` reached `value`.
    pub(crate) fn master_job(
        &self,
        at: QmanStream,
        ext: usize,
        base: u32,
        value: u32,
    ) -> [u64; 10] {
        let mon = MASTER_MON_BASE + 2 * ext as u32;
        let first = wait_on(at, mon, base / 8, self.watched[0], value);
        let second = wait_on(at, mon + 1, base / 8 + 1, self.watched[1], value);
        let [a, b, c, d, e] = first;
        let [f, g, h, i, j] = second;
        [a, b, c, d, e, f, g, h, i, j]
    }

    /// `slave`'s job, on QMAN stream `at`: waits until `sob` reaches `signal`, then sets its
    /// SOB of group `base` to `value` (setting rather than adding, so that a collective wait
    /// aborted half-way leaves no SOB behind the next one).
    pub(crate) fn slave_job(
        slave: &Slave,
        at: QmanStream,
        (sob, signal): (u32, u32),
        base: u32,
        value: u32,
    ) -> [u64; 6] {
        let wait = wait_on(at, slave.mon, sob / 8, 1 << (sob % 8), signal);
        let [a, b, c, d, e] = wait;
        let set = msg_short(BASE_SOBS, 4 * (base + slave.sob as u32), value);
        [a, b, c, d, e, set]
    }
}

/// A stream's collective waits: the value the next one's slaves give, and which SOB group.
#[derive(Default)]
pub(crate) struct CollectiveStream {
    /// The last value given (0: none yet).
    last: u32,
    group: usize,
    /// The last collective wait of each group.
    cs: [Option<Arc<Cs>>; 2],
}

impl CollectiveStream {
    /// The group and value of the next collective wait, and whether it starts the group
    /// afresh (its SOBs must be cleared first: the value wrapped). `EBUSY` while the group's
    /// last collective wait, 32767 waits ago, still runs.
    pub(crate) fn next(&self) -> Result<(usize, u32, bool)> {
        let value = self.last % SOB_MAX + 1;
        let wrapped = value == 1 && self.last != 0;
        let group = if wrapped { self.group ^ 1 } else { self.group };
        if wrapped && self.cs[group].as_ref().is_some_and(|cs| !cs.is_done()) {
            return Err(EBUSY);
        }
        Ok((group, value, wrapped))
    }

    /// Records that `cs`, the collective wait of `group` and `value` that
    /// [`CollectiveStream::next`] gave, was queued.
    pub(crate) fn advance(&mut self, group: usize, value: u32, cs: Arc<Cs>) {
        self.group = group;
        self.last = value;
        self.cs[group] = Some(cs);
    }
}
