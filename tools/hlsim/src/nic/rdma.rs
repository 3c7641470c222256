// SPDX-License-Identifier: GPL-2.0

//! RDMA: the ports' connections and completion queues, and the operations
//! the NIC QMANs start on them.
//!
//! An operation runs in its NIC QMAN's thread and moves its data straight
//! from DRAM to DRAM, both devices being in this process, in steps of at
//! most [`STEP`] bytes. A step holds the `rdma` locks of the two ports it
//! involves, taken in address order so that two devices writing to each
//! other cannot deadlock, and checks afresh everything it depends on:
//! contexts, links, peer, window. A reset, `PORT_STOP`, `CONN_RESET` or
//! `CQ_RESET` takes the `rdma` lock of the port it changes, so it completes
//! once the step in progress is done, and the next step sees the change.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::port::Port;
use crate::device::Shared;
use crate::mem::SharedMem;
use crate::packets::{NIC_CQE, NIC_SOB, NIC_SOB_MASK, NicOp};
use crate::qman::{Control, JobError};
use crate::regs::rdma::{self as regs, NUM_CONNS};
use crate::regs::{
    CONN_VALID, CQ_ENABLE, CQ_IRQ, NIC_QUEUE0, PORT_LOOPBACK, VECTOR_NIC0, model_ctl, nic,
    sync_manager as sm,
};
use crate::ring::Ring;
use crate::space::Fault;
use crate::sync_manager::SOB_ADD;

/// Most bytes an operation moves in one step.
pub const STEP: u64 = 64 << 10;
/// How long a SEND waits for a receive buffer.
pub const RNR_TIMEOUT: Duration = Duration::from_secs(1);
/// Period at which a waiting SEND looks for a buffer again.
const RNR_POLL: Duration = Duration::from_millis(1);
/// Bytes in a CQE.
const CQE_SIZE: u64 = 16;
/// Bytes in a receive queue entry.
const RQE_SIZE: u64 = 32;
/// CQE `ctl` bit: the entry is valid.
const CQE_READY: u32 = 1 << 31;
/// Receive queue entry `ctl` bits holding the CQ; below them, the
/// `NIC_RECV` packet's `ctl[11:0]`.
const RQE_CQ_SHIFT: u32 = 16;

/// How an operation ended: the status of its CQE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Syndrome {
    /// `OK`.
    Ok = 0,
    /// `BAD_CONN`: the local context is not valid, or was reset during the
    /// operation.
    BadConn = 1,
    /// `LINK_DOWN`: this port or its peer is disabled, or the link down.
    LinkDown = 2,
    /// `WRONG_PEER`: the peer is not the port `REQ_PEER_MAC` names.
    WrongPeer = 3,
    /// `REMOTE_ACCESS`: the responder refused the operation.
    RemoteAccess = 4,
    /// `RNR`: no receive buffer was posted in time.
    Rnr = 5,
    /// `RQ_FULL`: the receive queue is full.
    RqFull = 6,
}

/// The operation a CQE completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Opcode {
    /// `NIC_WRITE`.
    Write = 1,
    /// `NIC_SEND`.
    Send = 2,
    /// `NIC_RECV`.
    Recv = 3,
}

/// What a port's `rdma` lock guards besides its registers.
pub struct State {
    /// Resets of each connection (wrapping): an operation fails once a
    /// connection it uses, at either end, was reset since it started.
    resets: [u32; NUM_CONNS],
}

impl Default for State {
    fn default() -> Self {
        Self {
            resets: [0; NUM_CONNS],
        }
    }
}

impl State {
    /// Counts a reset of every connection.
    pub(crate) fn reset_all(&mut self) {
        for resets in &mut self.resets {
            *resets = resets.wrapping_add(1);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks the `rdma` state of each of `ports`, in address order.
pub(crate) fn lock_all(ports: &[Arc<Port>]) -> Vec<MutexGuard<'_, State>> {
    let mut sorted: Vec<_> = ports.iter().collect();
    sorted.sort_by_key(|port| Arc::as_ptr(port));
    sorted.into_iter().map(|port| lock(&port.rdma)).collect()
}

/// Locks the `rdma` state of `a`, and of `b` unless it is `a`, in address
/// order.
fn lock_pair<'a>(
    a: &'a Port,
    b: &'a Port,
) -> (MutexGuard<'a, State>, Option<MutexGuard<'a, State>>) {
    if std::ptr::eq(a, b) {
        (lock(&a.rdma), None)
    } else if std::ptr::from_ref(a) < std::ptr::from_ref(b) {
        let first = lock(&a.rdma);
        (first, Some(lock(&b.rdma)))
    } else {
        let first = lock(&b.rdma);
        (lock(&a.rdma), Some(first))
    }
}

/// The port at the other end of `port`'s link: itself in `LOOPBACK`, else
/// the port its wire leads to, if any.
fn rdma_peer(port: &Arc<Port>) -> Option<Arc<Port>> {
    if port.read(nic::CTL) & PORT_LOOPBACK != 0 {
        Some(port.clone())
    } else {
        port.peer_port()
    }
}

/// A completion.
struct Cqe {
    opcode: Opcode,
    status: Syndrome,
    /// The connection, as numbered at the CQ's port.
    conn: usize,
    /// Bytes that reached the destination.
    len: u32,
    wr_id: u32,
}

/// Writes `cqe` into completion queue `cq` of `port`, or counts it in
/// `CQ_LOST` if the queue is disabled, misconfigured or full; raises the
/// port's RDMA vector if the queue asks. The caller holds `port`'s `rdma`
/// lock.
fn post_cqe(port: &Port, cq: usize, cqe: Cqe) {
    let (bar, ram) = (&port.dev.bar, &*port.dev.ram);
    let block = regs::cq(port.index, cq);
    let ctl = bar.read32(block + regs::CQ_CTL);
    let ring = Ring::new(
        ram,
        bar.read64(block + regs::CQ_BASE_LO),
        bar.read32(block + regs::CQ_SIZE),
        CQE_SIZE,
    )
    .filter(|_| ctl & CQ_ENABLE != 0);
    let pi = bar.read32(block + regs::CQ_PI);
    let ci = bar.read32_acquire(block + regs::CQ_CI);
    let Some(ring) = ring.filter(|ring| ring.used(pi, ci).is_some_and(|n| n < ring.entries()))
    else {
        let lost = block + regs::CQ_LOST;
        bar.write32(lost, bar.read32(lost).wrapping_add(1));
        return;
    };
    let entry = ring.slot(pi);
    let word = |off| ram.atomic32(entry + off).expect("the CQ is in guest RAM");
    word(4).store(cqe.len, Ordering::Relaxed);
    word(8).store(cqe.wr_id, Ordering::Relaxed);
    word(12).store(0, Ordering::Relaxed);
    let head = CQE_READY | (cqe.opcode as u32) << 24 | (cqe.status as u32) << 16;
    word(0).store(head | cqe.conn as u32, Ordering::Release);
    bar.write32_release(block + regs::CQ_PI, pi.wrapping_add(1));
    if ctl & CQ_IRQ != 0 {
        port.dev.irq.raise(VECTOR_NIC0 + port.index as u32);
    }
}

/// Adds 1 to SOB `sob` of `dev`.
fn increment(dev: &Shared, sob: u16) -> Result<(), Fault> {
    let space = dev.space();
    dev.sm
        .write_reg(space, sm::sob(sob.into()), SOB_ADD | 1, |q, s| {
            dev.qman(q).kick(s)
        })
}

/// The receive queue of connection `c` of `port`, with its `RQ_PI` and
/// `RQ_CI`, if the responder context is valid and the queue's registers are.
fn receive_queue(port: &Port, c: usize) -> Option<(Ring, u32, u32)> {
    let (bar, base) = (&port.dev.bar, regs::conn(port.index, c));
    if bar.read32_acquire(base + regs::RES_CTL) & CONN_VALID == 0 {
        return None;
    }
    let ring = Ring::new(
        &port.dev.ram,
        bar.read64(base + regs::RQ_BASE_LO),
        bar.read32(base + regs::RQ_SIZE),
        RQE_SIZE,
    )?;
    let (pi, ci) = (
        bar.read32(base + regs::RQ_PI),
        bar.read32(base + regs::RQ_CI),
    );
    ring.used(pi, ci)?;
    Some((ring, pi, ci))
}

/// Writes the receive queue entry of the buffer `op` posts at `at`.
fn write_rqe(ram: &SharedMem, at: u64, op: &NicOp) {
    let word = |off| ram.atomic32(at + off).expect("the RQ is in guest RAM");
    let ctl = op.sob.map_or(0, |sob| NIC_SOB | u32::from(sob))
        | if op.cqe { NIC_CQE } else { 0 }
        | u32::from(op.cq) << RQE_CQ_SHIFT;
    for (off, val) in [
        (0, op.addr as u32),
        (4, (op.addr >> 32) as u32),
        (8, op.len),
        (12, op.wr_id),
        (16, ctl),
        (20, 0),
        (24, 0),
        (28, 0),
    ] {
        word(off).store(val, Ordering::Relaxed);
    }
}

/// Reads the receive queue entry at `at`, of a buffer posted on connection
/// `conn`.
fn read_rqe(ram: &SharedMem, at: u64, conn: usize) -> NicOp {
    let word = |off| {
        ram.atomic32(at + off)
            .expect("the RQ is in guest RAM")
            .load(Ordering::Relaxed)
    };
    let ctl = word(16);
    NicOp {
        len: word(8),
        conn: conn as u16,
        cq: (ctl >> RQE_CQ_SHIFT) as u8,
        wr_id: word(12),
        addr: u64::from(word(0)) | u64::from(word(4)) << 32,
        sob: (ctl & NIC_SOB != 0).then_some((ctl & NIC_SOB_MASK) as u16),
        cqe: ctl & NIC_CQE != 0,
    }
}

/// `NIC_RECV` on `port`: posts the buffer of `op`, which is in DRAM, on the
/// receive queue of connection `op.conn`, or fails with an error CQE.
pub(crate) fn post_recv(port: &Port, op: &NicOp) {
    let _state = lock(&port.rdma);
    let c = usize::from(op.conn);
    let status = match receive_queue(port, c) {
        None => Syndrome::BadConn,
        Some((ring, pi, ci)) if pi.wrapping_sub(ci) == ring.entries() => Syndrome::RqFull,
        Some((ring, pi, _)) => {
            write_rqe(&port.dev.ram, ring.slot(pi), op);
            let rq_pi = regs::conn(port.index, c) + regs::RQ_PI;
            port.dev.bar.write32_release(rq_pi, pi.wrapping_add(1));
            return;
        }
    };
    let cqe = Cqe {
        opcode: Opcode::Recv,
        status,
        conn: c,
        len: 0,
        wr_id: op.wr_id,
    };
    post_cqe(port, op.cq.into(), cqe);
}

/// Completes the receive `buf` of connection `c` of `port` with a message of
/// `len` bytes: advances `RQ_CI`, then writes the CQE and adds to the SOB as
/// `buf` asks. A SOB increment that fails is reported as an event of the
/// port's NIC queue. The caller holds `port`'s `rdma` lock.
fn received(port: &Port, c: usize, buf: &NicOp, len: u32) {
    let (dev, rq_ci) = (&port.dev, regs::conn(port.index, c) + regs::RQ_CI);
    dev.bar
        .write32_release(rq_ci, dev.bar.read32(rq_ci).wrapping_add(1));
    if buf.cqe {
        let cqe = Cqe {
            opcode: Opcode::Recv,
            status: Syndrome::Ok,
            conn: c,
            len,
            wr_id: buf.wr_id,
        };
        post_cqe(port, buf.cq.into(), cqe);
    }
    if let Some(Err(fault)) = buf.sob.map(|sob| increment(dev, sob)) {
        let info = match fault {
            Fault::Mmu(addr) | Fault::BadAddress(addr) => addr,
        };
        let q = NIC_QUEUE0 + port.index;
        dev.eq
            .post(&dev.bar, &dev.ram, &dev.irq, q, fault.status(), info);
    }
}

/// `CONN_RESET`: zeroes both contexts of connection `c` of `port` and counts
/// the reset, so that the operations using the connection, at either end,
/// fail at their next step. Returns once no step is in progress at `port`.
pub(crate) fn conn_reset(port: &Port, c: usize) {
    let mut state = lock(&port.rdma);
    state.resets[c] = state.resets[c].wrapping_add(1);
    port.dev
        .bar
        .slice(regs::conn(port.index, c), regs::CONN_SIZE)
        .expect("the connections are inside BAR2")
        .fill(0);
}

/// `CQ_RESET`: zeroes the registers of completion queue `k` of `port`;
/// returns once no step is in progress at `port`, so that none writes the
/// queue's ring any more.
pub(crate) fn cq_reset(port: &Port, k: usize) {
    let _state = lock(&port.rdma);
    port.dev
        .bar
        .slice(regs::cq(port.index, k), regs::CQ_REGS)
        .expect("the completion queues are inside BAR2")
        .fill(0);
}

/// What a step came to.
enum Step {
    /// It moved this many bytes.
    Moved(u64),
    /// A SEND found no receive buffer posted.
    NoBuffer,
    /// The operation failed.
    Failed(Syndrome),
}

/// A WRITE or SEND under way.
struct Transfer<'a> {
    me: &'a Port,
    op: &'a NicOp,
    /// WRITE: the device address at the responder; SEND: `None`.
    dst: Option<u64>,
    /// Bytes that reached the destination.
    done: u64,
    /// Once the responder accepted the operation: its connection, and the
    /// resets of the requester's and the responder's connection then.
    start: Option<(usize, u32, u32)>,
    /// SEND, once it found one: the receive buffer it fills.
    buf: Option<NicOp>,
}

impl Transfer<'_> {
    /// Checks everything, in the order of the spec, and moves the next
    /// bytes. The caller holds the `rdma` locks of this port (`mine`) and of
    /// `peer` (`theirs`, the same state in loopback).
    fn step(&mut self, peer: Option<&Port>, mine: &State, theirs: &State) -> Step {
        let (me, op, c) = (self.me, self.op, usize::from(self.op.conn));
        let bar = &me.dev.bar;
        let req = regs::conn(me.index, c);
        if bar.read32_acquire(req + regs::REQ_CTL) & CONN_VALID == 0
            || self
                .start
                .is_some_and(|(_, resets, _)| resets != mine.resets[c])
        {
            return Step::Failed(Syndrome::BadConn);
        }
        if !me.live() {
            return Step::Failed(Syndrome::LinkDown);
        }
        let Some(peer) = peer else {
            // The link is up to something other than a port: a TAP.
            return Step::Failed(Syndrome::WrongPeer);
        };
        if !peer.live() {
            return Step::Failed(Syndrome::LinkDown);
        }
        let peer_mac = (
            bar.read32(req + regs::REQ_PEER_MAC_LO),
            bar.read32(req + regs::REQ_PEER_MAC_HI),
        );
        if peer_mac != peer.mac() {
            return Step::Failed(Syndrome::WrongPeer);
        }
        let pc = bar.read32(req + regs::REQ_PEER_CONN) as usize;
        let (pbar, res) = (&peer.dev.bar, regs::conn(peer.index, pc));
        let accepted = pc < NUM_CONNS
            && pbar.read32_acquire(res + regs::RES_CTL) & CONN_VALID != 0
            && (
                pbar.read32(res + regs::RES_PEER_MAC_LO),
                pbar.read32(res + regs::RES_PEER_MAC_HI),
            ) == me.mac()
            && pbar.read32(res + regs::RES_PEER_CONN) as usize == c
            && self
                .start
                .is_none_or(|(at, _, resets)| at == pc && resets == theirs.resets[pc]);
        if !accepted {
            return Step::Failed(Syndrome::RemoteAccess);
        }
        self.start
            .get_or_insert((pc, mine.resets[c], theirs.resets[pc]));

        // The whole destination is checked at every step.
        let len = u64::from(op.len);
        let space = peer.dev.space();
        let to = match self.dst {
            Some(addr) => {
                let base = pbar.read64(res + regs::WIN_BASE_LO);
                let end = base.checked_add(pbar.read64(res + regs::WIN_SIZE_LO));
                let inside = addr >= base
                    && addr
                        .checked_add(len)
                        .zip(end)
                        .is_some_and(|(last, end)| last <= end);
                if !inside {
                    return Step::Failed(Syndrome::RemoteAccess);
                }
                space.dram(addr, len)
            }
            None => {
                let buf = match self.buf {
                    Some(buf) => buf,
                    None => {
                        let Some((ring, pi, ci)) = receive_queue(peer, pc) else {
                            return Step::Failed(Syndrome::RemoteAccess);
                        };
                        if pi == ci {
                            return Step::NoBuffer;
                        }
                        let buf = read_rqe(&peer.dev.ram, ring.slot(ci), pc);
                        if buf.len < op.len {
                            return Step::Failed(Syndrome::RemoteAccess);
                        }
                        *self.buf.insert(buf)
                    }
                };
                space.dram(buf.addr, len)
            }
        };
        let Ok(to) = to else {
            return Step::Failed(Syndrome::RemoteAccess);
        };
        let n = STEP.min(len - self.done);
        let from = me
            .dev
            .space()
            .dram(op.addr + self.done, n)
            .expect("the source was checked to be in DRAM");
        to.subslice(self.done, n)
            .expect("a step is inside its destination")
            .copy_from(&from);
        self.done += n;
        if let Some(buf) = self.buf.filter(|_| self.done == len) {
            received(peer, pc, &buf, op.len);
        }
        Step::Moved(n)
    }
}

/// `NIC_WRITE` (to `dst`) or `NIC_SEND` (`dst` `None`) of the NIC QMAN of
/// `port`: moves the data, then writes the CQE and adds to the SOB as `op`
/// asks. The source is in DRAM.
///
/// A failure of the operation is a CQE; `Err` is an abort (no CQE), or a
/// fault of the SOB increment.
pub(crate) fn request(
    port: &Arc<Port>,
    op: &NicOp,
    dst: Option<u64>,
    ctl: &Control,
) -> Result<(), JobError> {
    let started = Instant::now();
    let len = u64::from(op.len);
    let mut t = Transfer {
        me: port,
        op,
        dst,
        done: 0,
        start: None,
        buf: None,
    };
    // When the link is free for the next step, if `LINK_RATE` is set.
    let mut next: Option<Instant> = None;
    let status = loop {
        if ctl.aborted() {
            return Err(JobError::Aborted);
        }
        let rate = u64::from(port.dev.bar.read32(model_ctl::link_rate(port.index)));
        let now = Instant::now();
        if let Some(at) = next.filter(|&at| rate != 0 && at > now) {
            ctl.pause(at - now)?;
            continue;
        }
        if t.done == len {
            break Syndrome::Ok;
        }
        let peer = rdma_peer(port);
        let step = match &peer {
            Some(peer) => {
                let (mine, theirs) = lock_pair(port, peer);
                t.step(Some(peer), &mine, theirs.as_deref().unwrap_or(&mine))
            }
            None => {
                let mine = lock(&port.rdma);
                t.step(None, &mine, &mine)
            }
        };
        match step {
            Step::Moved(n) => {
                // The step occupies the link for its bytes.
                if let Some(ns) = (8 * n * 1000).checked_div(rate) {
                    let free = next.map_or(now, |at| at.max(now));
                    next = Some(free + Duration::from_nanos(ns));
                }
            }
            Step::NoBuffer if started.elapsed() < RNR_TIMEOUT => ctl.pause(RNR_POLL)?,
            Step::NoBuffer => break Syndrome::Rnr,
            Step::Failed(status) => break status,
        }
    };
    if op.cqe || status != Syndrome::Ok {
        let cqe = Cqe {
            opcode: if dst.is_some() {
                Opcode::Write
            } else {
                Opcode::Send
            },
            status,
            conn: op.conn.into(),
            len: t.done as u32,
            wr_id: op.wr_id,
        };
        let _state = lock(&port.rdma);
        post_cqe(port, op.cq.into(), cqe);
    }
    match op.sob.filter(|_| status == Syndrome::Ok) {
        Some(sob) => Ok(increment(&port.dev, sob)?),
        None => Ok(()),
    }
}
