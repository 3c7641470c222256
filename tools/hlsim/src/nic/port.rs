// SPDX-License-Identifier: GPL-2.0

//! One NIC port: its TX path (descriptors into a bounded backlog, then
//! scheduled, paced and delivered to the peer), its RX ring, interrupt
//! coalescing (per queue, both ways), the `TX_DRAINING` flag and link.
//!
//! Locks, always taken in this order: a port's `tx` (held by its worker
//! while it works), any one port's `rx` (the receiver's, while a frame is
//! written into its ring), the process-wide [`LINK`] lock; `wake`, `wire`
//! and the interrupt lock are leaves. A worker never holds two `rx` locks,
//! so two devices sending to each other cannot deadlock, and a reset, which
//! takes all its ports' `tx` then `rx` locks, waits at most for one frame.
//! `PORT_STOP` takes one port's `tx` then its `rx`, lets both go, then takes
//! the [`LINK`] lock and, last and alone, the peer's `rx`.
//!
//! RDMA ([`super::rdma`]) runs in the NIC QMANs' threads under the ports'
//! `rdma` locks, which come after all of the above; the sync manager, event
//! queue, QMAN control and interrupt locks are leaves below them.

use std::collections::VecDeque;
use std::sync::atomic::{self, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::counters::{self as c, FCS_LEN, rmon_bucket};
use super::link::{self, End, Peer};
use super::offload;
use super::rdma;
use super::sched::Scheduler;
use super::tap::Tap;
use crate::device::Shared;
use crate::irq::Interrupts;
use crate::mem::SharedMem;
use crate::regs::{
    FEC_RS, FRAME_MIN, LINK_INFO_FEC_MASK, LINK_UP, MAX_FRAME_DEFAULT, MAX_FRAME_MAX,
    MAX_FRAME_MIN, NUM_PRIOS, PORT_ENABLE, PORT_FAULT_FEC_ERRORS, PORT_FAULT_FEC_UNCORRECTABLE,
    PORT_FAULT_LINK_DOWN, PORT_FAULT_LINK_TRAINING, PORT_FAULT_LOOPBACK_CORRUPT, PORT_IRQ_LINK,
    PORT_IRQ_RX, PORT_IRQ_TX, PORT_LOOPBACK, RX_ALLMULTI, RX_CSUM_OK, RX_DONE,
    RX_FILTER_COUNT_SHIFT, RX_PROMISC, TSO_MAX, TX_CSUM, TX_DRAINING_BUSY, TX_MAX_FRAGS, TX_MORE,
    TX_TSO, VECTOR_PORT0, identity, model_ctl, nic,
    nic::{NUM_RXQ, NUM_TXQ},
    port_fault_tx_stall, vector_rxq,
};
use crate::ring::Ring;

/// Bytes in a TX or RX descriptor.
const DESC_SIZE: u64 = 16;
/// Frames a port takes off each TX queue before it has sent them.
pub const BACKLOG_FRAMES: usize = 256;
/// Period of a paused sender's retries, besides when the receiver's
/// doorbell rings.
const PAUSE_RETRY: Duration = Duration::from_millis(1);
/// EtherType of MAC control frames (IEEE 802.3 clause 31).
const ETH_P_MAC_CONTROL: u16 = 0x8808;
/// The MAC control opcodes a port knows: PAUSE (annex 31B) and PFC
/// (802.1Qbb). It counts the others as unsupported.
const OPCODE_PAUSE: u16 = 0x0001;
const OPCODE_PFC: u16 = 0x0101;
/// Period at which an idle worker looks at `PORT_FAULTS`.
const POLL: Duration = Duration::from_millis(10);

/// Serialises link evaluation across all devices of the process.
static LINK: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Holds off link evaluation everywhere, for a reset.
pub(crate) fn lock_links() -> MutexGuard<'static, ()> {
    lock(&LINK)
}

/// The other end of a port's wire.
#[derive(Clone, Default)]
pub(crate) enum Wire {
    /// Unwired.
    #[default]
    None,
    /// A port of this or another device.
    Port(Weak<Port>),
    /// A host TAP interface.
    Tap(Arc<Tap>),
}

/// Why a worker was woken.
#[derive(Clone, Copy, Default)]
struct Wake {
    /// The port's doorbell rang.
    doorbell: bool,
    /// The receiver that paused this port posted buffers.
    resume: bool,
    /// An RX interrupt is being coalesced.
    timer: bool,
    /// The device is going away.
    exit: bool,
}

/// A frame taken off the TX ring.
struct Frame {
    seq: u64,
    prio: usize,
    /// The TX queue it came from.
    txq: usize,
    data: Vec<u8>,
}

/// The TX side, owned by the worker while it works.
#[derive(Default)]
pub(crate) struct Tx {
    /// The backlog, by priority.
    queues: [VecDeque<Frame>; NUM_PRIOS],
    held: usize,
    /// Frames in the backlog from each TX queue.
    queued: [usize; NUM_TXQ],
    /// The TX queue fetched from first next time.
    next_txq: usize,
    seq: u64,
    /// Priorities the peer paused, until [`Tx::retry`].
    paused: u8,
    retry: Option<Instant>,
    sched: Scheduler,
    /// When the link is free for the next frame, if `LINK_RATE` is set.
    next_send: Option<Instant>,
    /// `PORT_FAULTS` at the last look.
    faults: u32,
    /// Frames taken off each TX queue without an interrupt yet, and when
    /// the first was.
    pending: [u32; NUM_TXQ],
    first: [Option<Instant>; NUM_TXQ],
}

impl Tx {
    /// Whether priority `p` has a frame waiting that is not paused.
    fn ready_prio(&self, p: usize) -> bool {
        self.paused & 1 << p == 0 && !self.queues[p].is_empty()
    }

    /// Whether any frame waits that is not paused.
    fn ready(&self) -> bool {
        (0..NUM_PRIOS).any(|p| self.ready_prio(p))
    }
}

/// The RX side, locked by whoever delivers a frame to the port.
#[derive(Default)]
pub(crate) struct Rx {
    /// Frames received on each RX queue without an interrupt yet, and when
    /// the first came.
    pending: [u32; NUM_RXQ],
    first: [Option<Instant>; NUM_RXQ],
    /// Priorities this port has paused at its peer.
    paused: u8,
}

/// When a queue's coalesced interrupt is due.
enum Due {
    Now,
    At(Instant),
    /// Only once more frames came.
    MoreFrames,
}

/// What became of a frame delivered to a port.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// It went onto the wire: received, or dropped and counted there.
    Taken,
    /// The receiver paused its priority: the sender keeps it. `first` if
    /// this starts the pause.
    Paused { first: bool },
    /// The receiver's link is down.
    LinkDown,
}

/// One port.
pub(crate) struct Port {
    pub(super) index: usize,
    /// The device the port belongs to.
    pub(super) dev: Arc<Shared>,
    wake: Mutex<Wake>,
    cond: Condvar,
    pub(crate) tx: Mutex<Tx>,
    pub(crate) rx: Mutex<Rx>,
    /// Held while an RDMA step reads or writes anything of this port.
    pub(crate) rdma: Mutex<rdma::State>,
    wire: Mutex<Wire>,
}

impl Port {
    pub(crate) fn new(index: usize, dev: Arc<Shared>) -> Self {
        Self {
            index,
            dev,
            wake: Mutex::default(),
            cond: Condvar::new(),
            tx: Mutex::default(),
            rx: Mutex::default(),
            rdma: Mutex::default(),
            wire: Mutex::default(),
        }
    }

    fn bar(&self) -> &SharedMem {
        &self.dev.bar
    }

    fn ram(&self) -> &SharedMem {
        &self.dev.ram
    }

    fn irq(&self) -> &Interrupts {
        &self.dev.irq
    }

    pub(super) fn read(&self, off: u64) -> u32 {
        self.bar().read32(nic::block(self.index) + off)
    }

    fn write(&self, off: u64, val: u32) {
        self.bar().write32(nic::block(self.index) + off, val);
    }

    fn enabled(&self) -> bool {
        self.read(nic::CTL) & PORT_ENABLE != 0
    }

    /// Whether the port is enabled and its link up.
    pub(super) fn live(&self) -> bool {
        self.enabled() && self.read(nic::LINK_STATUS) & LINK_UP != 0
    }

    /// The port's MAC address as its `MAC` registers hold it: bytes 0-3,
    /// and bytes 4-5 in bits 15:0.
    pub(super) fn mac(&self) -> (u32, u32) {
        let (bar, p) = (self.bar(), self.index as u64);
        (
            bar.read32(identity::mac_lo(p)),
            bar.read32(identity::mac_hi(p)),
        )
    }

    fn faults(&self) -> u32 {
        self.bar().read32(model_ctl::port_faults(self.index))
    }

    fn count(&self, counter: usize, n: u64) {
        self.bar()
            .atomic64(nic::block(self.index) + nic::counter(counter))
            .expect("the counters are inside BAR2")
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Raises the port's interrupt unless `IRQ_MASK` has `bit`.
    fn raise(&self, bit: u32) {
        if self.read(nic::IRQ_MASK) & bit == 0 {
            self.irq().raise(VECTOR_PORT0 + self.index as u32);
        }
    }

    fn max_frame(&self) -> usize {
        match self.read(nic::MAX_FRAME) {
            0 => MAX_FRAME_DEFAULT as usize,
            n => n.clamp(MAX_FRAME_MIN, MAX_FRAME_MAX) as usize,
        }
    }

    pub(crate) fn wire(&self) -> Wire {
        lock(&self.wire).clone()
    }

    pub(crate) fn set_wire(&self, wire: Wire) {
        *lock(&self.wire) = wire;
    }

    pub(super) fn peer_port(&self) -> Option<Arc<Port>> {
        match self.wire() {
            Wire::Port(peer) => peer.upgrade(),
            _ => None,
        }
    }

    fn notify(&self, set: impl FnOnce(&mut Wake)) {
        set(&mut lock(&self.wake));
        self.cond.notify_all();
    }

    /// The doorbell rang.
    pub(crate) fn ring(&self) {
        self.notify(|w| w.doorbell = true);
    }

    /// Makes the worker return.
    pub(crate) fn exit(&self) {
        self.notify(|w| w.exit = true);
    }

    /// Waits for a reason to work, at most until `deadline` or [`POLL`];
    /// `None` on exit.
    fn wait(&self, deadline: Option<Instant>) -> Option<Wake> {
        let limit = Instant::now() + POLL;
        let until = deadline.map_or(limit, |d| d.min(limit));
        let mut wake = lock(&self.wake);
        loop {
            if wake.exit {
                return None;
            }
            if wake.doorbell || wake.resume || wake.timer {
                return Some(std::mem::take(&mut *wake));
            }
            let now = Instant::now();
            if now >= until {
                return Some(Wake::default());
            }
            wake = self
                .cond
                .wait_timeout(wake, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The worker thread's loop.
    pub(crate) fn run(&self) {
        let mut deadline = None;
        while let Some(wake) = self.wait(deadline) {
            let mut tx = lock(&self.tx);
            deadline = self.step(&mut tx, wake);
        }
    }

    /// Does what `wake` and the time call for; returns when to look again.
    fn step(&self, tx: &mut Tx, wake: Wake) -> Option<Instant> {
        // A test's token, read before serving the doorbell and echoed after.
        let sync = wake
            .doorbell
            .then(|| self.bar().read32(model_ctl::port_sync(self.index)));
        let next = self.serve(tx, wake);
        if let Some(token) = sync {
            self.bar()
                .write32(model_ctl::port_sync_ack(self.index), token);
        }
        next
    }

    fn serve(&self, tx: &mut Tx, wake: Wake) -> Option<Instant> {
        let now = Instant::now();
        let faults = self.faults();
        if wake.doorbell
            || (faults ^ tx.faults) & (PORT_FAULT_LINK_DOWN | PORT_FAULT_LINK_TRAINING) != 0
        {
            self.relink();
        }
        tx.faults = faults;
        if wake.resume || tx.retry.is_some_and(|t| now >= t) {
            tx.paused = 0;
            tx.retry = None;
        }
        if wake.doorbell && lock(&self.rx).paused != 0 {
            // New buffers, perhaps: whoever we paused may try again.
            self.notify(|w| w.resume = true);
            if let Some(peer) = self.peer_port() {
                peer.notify(|w| w.resume = true);
            }
        }
        let coalesce = self.coalesce(&mut lock(&self.rx), now);
        let transmit = if self.enabled() {
            self.transmit(tx)
        } else {
            None
        };
        let coalesce_tx = self.coalesce_tx(tx, Instant::now());
        [coalesce, transmit, coalesce_tx]
            .into_iter()
            .flatten()
            .min()
    }

    /// `PORT_STOP`: clears `ENABLE` and returns once the port no longer
    /// reads or writes guest RAM, with its backlog dropped (counted in
    /// `tx_dropped`), its pause and coalescing state gone and its link down,
    /// and no RDMA step using it in progress. The other registers keep their
    /// values.
    pub(crate) fn stop(&self) {
        // Seen by the worker before its next frame and by `receive` under
        // `rx`, ENABLE clear bounds the waits below to one frame each.
        self.bar()
            .atomic32(nic::block(self.index) + nic::CTL)
            .expect("the port registers are inside BAR2")
            .fetch_and(!PORT_ENABLE, Ordering::Release);
        {
            // In the order of the worker (`tx`: fetching and sending) and of
            // a sender (`rx`: writing the RX ring). Whoever takes either
            // lock after this sees ENABLE clear and leaves the rings alone.
            let mut tx = lock(&self.tx);
            let mut rx = lock(&self.rx);
            // Frames held by a pause are in the backlog too.
            self.count(c::TX_DROPPED, tx.held as u64);
            *tx = Tx::default();
            *rx = Rx::default();
        }
        // An RDMA step in either direction finishes; the next one sees
        // ENABLE clear.
        drop(lock(&self.rdma));
        self.relink();
        // The pauses the peer sent this port are over with the link: the
        // peer forgets them, so that it pauses afresh once the link is back.
        if let Some(peer) = self.peer_port() {
            lock(&peer.rx).paused = 0;
        }
    }

    /// Re-evaluates the link of this port and of its peer.
    pub(crate) fn relink(&self) {
        let _link = lock(&LINK);
        self.update_link();
        if let Some(peer) = self.peer_port() {
            peer.update_link();
        }
    }

    fn end(&self) -> End {
        End {
            ctl: self.read(nic::CTL),
            cfg: self.read(nic::LINK_CFG),
            faults: self.faults(),
        }
    }

    /// Writes `LINK_INFO` then `LINK_STATUS`, under [`LINK`], counting and
    /// signalling a change of `LINK_STATUS` (a new reason alone is not one)
    /// and counting the link going down.
    fn update_link(&self) {
        let peer = match self.wire() {
            Wire::None => Peer::None,
            Wire::Tap(_) => Peer::Tap,
            Wire::Port(peer) => peer.upgrade().map_or(Peer::None, |p| Peer::Port(p.end())),
        };
        let link = link::status(self.end(), peer);
        if link.info != self.read(nic::LINK_INFO) {
            self.write(nic::LINK_INFO, link.info);
        }
        let (status, old) = (link.status, self.read(nic::LINK_STATUS));
        if status != old {
            if old & LINK_UP != 0 && status & LINK_UP == 0 {
                self.count(c::LINK_DOWN_EVENTS, 1);
            }
            self.write(nic::LINK_STATUS, status);
            self.write(
                nic::LINK_CHANGES,
                self.read(nic::LINK_CHANGES).wrapping_add(1),
            );
            self.raise(PORT_IRQ_LINK);
        }
    }

    fn ring_regs(&self, base_lo: u64, size: u64) -> Option<Ring> {
        let base = self.bar().read64(nic::block(self.index) + base_lo);
        Ring::new(self.ram(), base, self.read(size), DESC_SIZE)
    }

    /// Takes frames off the TX queues into the backlog, each queue in turn
    /// while it has less than [`BACKLOG_FRAMES`] there, and raises the TX
    /// interrupt if coalescing says it is due; returns whether it took any.
    fn fetch(&self, tx: &mut Tx) -> bool {
        let mut took = false;
        let now = Instant::now();
        for i in 0..NUM_TXQ {
            let q = (tx.next_txq + i) % NUM_TXQ;
            let frames = self.fetch_queue(tx, q);
            if frames > 0 {
                tx.pending[q] += frames;
                tx.first[q].get_or_insert(now);
                took = true;
            }
        }
        tx.next_txq = (tx.next_txq + 1) % NUM_TXQ;
        if took {
            self.coalesce_tx(tx, now);
        }
        took
    }

    /// Sets or clears `TX_DRAINING`. Sequentially consistent, as the
    /// driver's write of `PI` and read of the flag are: either the worker's
    /// look at the rings after clearing it sees a `PI` the driver wrote,
    /// or the driver sees the flag clear and rings the doorbell.
    fn set_draining(&self, busy: bool) {
        self.bar()
            .atomic32(nic::block(self.index) + nic::TX_DRAINING)
            .expect("the port registers are inside BAR2")
            .store(if busy { TX_DRAINING_BUSY } else { 0 }, Ordering::SeqCst);
        atomic::fence(Ordering::SeqCst);
    }

    /// Raises the TX interrupt if a TX queue's coalescing says it is due;
    /// returns when the next will be, if one waits for time.
    fn coalesce_tx(&self, tx: &mut Tx, now: Instant) -> Option<Instant> {
        let masked = self.read(nic::IRQ_MASK) & PORT_IRQ_TX != 0;
        let mut due = false;
        let mut next: Option<Instant> = None;
        for q in 0..NUM_TXQ {
            let Some(first) = tx.first[q] else {
                continue;
            };
            if masked {
                // Progress while masked is never signalled.
                (tx.pending[q], tx.first[q]) = (0, None);
                continue;
            }
            match self.moderation(nic::txq(q), tx.pending[q], first, now) {
                Due::Now => {
                    (tx.pending[q], tx.first[q]) = (0, None);
                    due = true;
                }
                Due::At(at) => next = Some(next.map_or(at, |n| n.min(at))),
                Due::MoreFrames => {}
            }
        }
        if due {
            self.raise(PORT_IRQ_TX);
        }
        next
    }

    /// When the interrupt of the queue whose block is at `regs` is due,
    /// with `pending` frames unsignalled since `first`, by its
    /// `COAL_USECS` and `COAL_FRAMES`.
    fn moderation(&self, regs: u64, pending: u32, first: Instant, now: Instant) -> Due {
        let usecs = self.read(regs + nic::Q_COAL_USECS).min(nic::COAL_USECS_MAX);
        let frames = self
            .read(regs + nic::Q_COAL_FRAMES)
            .min(nic::COAL_FRAMES_MAX);
        let at = first + Duration::from_micros(usecs.into());
        let due = (usecs == 0 && frames == 0)
            || (frames != 0 && pending >= frames)
            || (usecs != 0 && now >= at);
        if due {
            Due::Now
        } else if usecs != 0 {
            Due::At(at)
        } else {
            Due::MoreFrames
        }
    }

    /// Takes frames, each one descriptor or a chain of them (`TX_MORE`),
    /// off TX queue `q` into the backlog while the queue has room there and
    /// is not stalled (`PORT_FAULTS`); a frame with `TX_TSO` enters it as
    /// its segments. Returns how many frames (chains) it took.
    fn fetch_queue(&self, tx: &mut Tx, q: usize) -> u32 {
        if self.faults() & port_fault_tx_stall(q) != 0 {
            return 0;
        }
        let regs = nic::txq(q);
        let Some(ring) = self.ring_regs(regs + nic::Q_BASE_LO, regs + nic::Q_SIZE) else {
            return 0;
        };
        let pi = self
            .bar()
            .read32_acquire(nic::block(self.index) + regs + nic::Q_PI);
        let mut ci = self.read(regs + nic::Q_CI);
        let Some(mut posted) = ring.used(pi, ci) else {
            return 0;
        };
        let mut taken = 0;
        // Cleared ENABLE (PORT_STOP) ends the copying at a frame boundary.
        while posted > 0 && tx.queued[q] < BACKLOG_FRAMES && self.enabled() {
            // A chain not yet posted to its end waits for the rest.
            let Some((descs, frames)) = self.gather(&ring, ci, posted) else {
                break;
            };
            match frames {
                Some((prio, frames)) => {
                    for data in frames {
                        tx.seq += 1;
                        tx.queues[prio].push_back(Frame {
                            seq: tx.seq,
                            prio,
                            txq: q,
                            data,
                        });
                        tx.held += 1;
                        tx.queued[q] += 1;
                    }
                }
                None => self.count(c::TX_ERRORS, 1),
            }
            ci = ci.wrapping_add(descs);
            posted -= descs;
            taken += 1;
        }
        if taken > 0 {
            self.bar()
                .write32_release(nic::block(self.index) + regs + nic::Q_CI, ci);
        }
        taken
    }

    /// Reads the frame whose first descriptor is at `ci`, of the `posted`
    /// ones: `None` if its chain goes past them, else the descriptors it
    /// takes and its priority and frames (`None` if it is invalid).
    #[allow(clippy::type_complexity)]
    fn gather(
        &self,
        ring: &Ring,
        ci: u32,
        posted: u32,
    ) -> Option<(u32, Option<(usize, Vec<Vec<u8>>)>)> {
        let word = |i: u32, off| {
            self.ram()
                .atomic32(ring.slot(ci.wrapping_add(i)) + off)
                .map_or(0, |w| w.load(Ordering::Relaxed))
        };
        let flags = |i| word(i, 8) >> 24;
        // The chain's length; one too long ends at TX_MAX_FRAGS, invalid.
        let mut descs = 1;
        while flags(descs - 1) & TX_MORE != 0 && descs < TX_MAX_FRAGS {
            descs += 1;
            if descs > posted {
                return None;
            }
        }
        let first = word(0, 8);
        let (prio, first_flags, extra) = ((first >> 16 & 0xff) as usize, first >> 24, word(0, 12));
        let limit = if first_flags & TX_TSO != 0 {
            TSO_MAX as usize
        } else {
            self.max_frame()
        };
        let valid_chain = flags(descs - 1) & TX_MORE == 0
            && prio < NUM_PRIOS
            && first_flags & !(TX_CSUM | TX_TSO | TX_MORE) == 0
            && (first_flags & (TX_CSUM | TX_TSO) != 0 || extra == 0);
        let mut data = Vec::new();
        let mut valid = valid_chain;
        for i in 0..descs {
            if !valid {
                break;
            }
            let addr = u64::from(word(i, 0)) | u64::from(word(i, 4)) << 32;
            let len = (word(i, 8) & 0xffff) as usize;
            match self.ram().slice(addr, len as u64) {
                Some(src) if len > 0 && data.len() + len <= limit => {
                    let at = data.len();
                    data.resize(at + len, 0);
                    src.read_to(&mut data[at..]);
                }
                _ => valid = false,
            }
        }
        if !valid || data.len() < FRAME_MIN as usize {
            return Some((descs, None));
        }
        let (csum_start, csum_offset) = ((extra & 0x3ff) as usize, (extra >> 10 & 0x3f) as usize);
        let mss = (extra >> 16) as usize;
        let frames = if first_flags & TX_TSO != 0 {
            let max_frame = self.max_frame();
            offload::segment(&data, csum_start, mss)
                .ok()
                .filter(|segs| segs.iter().all(|s| s.len() <= max_frame))
        } else if first_flags & TX_CSUM != 0 {
            offload::insert_checksum(&mut data, csum_start, csum_offset)
                .ok()
                .map(|()| vec![data])
        } else {
            Some(vec![data])
        };
        Some((descs, frames.map(|f| (prio, f))))
    }

    /// The priority whose frame goes next: in ring order while the link is
    /// unlimited, else as the scheduler says.
    fn pick(&self, tx: &mut Tx, limited: bool) -> Option<usize> {
        let oldest = |prios: &mut dyn Iterator<Item = usize>| {
            prios
                .filter(|&p| tx.ready_prio(p))
                .min_by_key(|&p| tx.queues[p][0].seq)
        };
        if !limited {
            return oldest(&mut (0..NUM_PRIOS));
        }
        let prio_tc = self.read(nic::PRIO_TC);
        let tc_of = |p: usize| (prio_tc >> (4 * p) & 7) as usize;
        let heads: [Option<usize>; NUM_PRIOS] =
            std::array::from_fn(|t| oldest(&mut (0..NUM_PRIOS).filter(|&p| tc_of(p) == t)));
        let lens = heads.map(|p| p.map(|p| tx.queues[p][0].data.len() + FCS_LEN));
        let bw = self
            .bar()
            .read64(nic::block(self.index) + nic::TC_BW)
            .to_le_bytes();
        let tc = tx.sched.pick(&lens, self.read(nic::TC_TSA), bw)?;
        heads[tc]
    }

    /// Drains the TX rings into the backlog and sends it until it is
    /// empty, paused or waiting for the link, with `TX_DRAINING` set;
    /// returns when to go on. Having cleared the flag it looks at the rings
    /// once more, and goes on if it finds a frame posted without a
    /// doorbell.
    fn transmit(&self, tx: &mut Tx) -> Option<Instant> {
        loop {
            self.set_draining(true);
            let next = self.send_backlog(tx);
            self.set_draining(false);
            if !self.fetch(tx) {
                return next;
            }
        }
    }

    /// Sends the backlog until it is empty, paused or waiting for the link;
    /// returns when to go on.
    fn send_backlog(&self, tx: &mut Tx) -> Option<Instant> {
        loop {
            // Cleared ENABLE stops the port after the frame it was sending,
            // so that PORT_STOP waits for at most one frame.
            if !self.enabled() {
                return None;
            }
            self.fetch(tx);
            let rate = u64::from(self.bar().read32(model_ctl::link_rate(self.index)));
            let now = Instant::now();
            // The scheduler charges a class for the frame it picks: it
            // picks only when the link is free to send that frame.
            if let Some(at) = tx.next_send.filter(|&at| rate != 0 && at > now) {
                return if tx.ready() { Some(at) } else { tx.retry };
            }
            let Some(prio) = self.pick(tx, rate != 0) else {
                return tx.retry;
            };
            let frame = tx.queues[prio].pop_front().expect("picked a waiting frame");
            tx.held -= 1;
            tx.queued[frame.txq] -= 1;
            match self.send(&frame) {
                Arrival::Paused { first } => {
                    if first {
                        self.count(c::RX_PAUSE + prio, 1);
                    }
                    tx.queued[frame.txq] += 1;
                    tx.queues[prio].push_front(frame);
                    tx.held += 1;
                    tx.paused |= 1 << prio;
                    tx.retry = Some(now + PAUSE_RETRY);
                }
                Arrival::LinkDown => self.count(c::TX_DROPPED, 1),
                Arrival::Taken => {
                    let len = frame.data.len();
                    let tc = (self.read(nic::PRIO_TC) >> (4 * prio) & 7) as usize;
                    self.count(c::TX_FRAMES, 1);
                    self.count(c::TX_BYTES, len as u64);
                    self.count(c::TX_TC_BYTES + tc, len as u64);
                    if mac_control_opcode(&frame.data).is_some() {
                        self.count(c::TX_MAC_CONTROL, 1);
                    }
                    if let Some(b) = rmon_bucket(len) {
                        self.count(c::TX_SIZE + b, 1);
                    }
                    let bits = 8 * (len + FCS_LEN) as u64;
                    if let Some(ns) = (bits * 1000).checked_div(rate) {
                        let time = Duration::from_nanos(ns);
                        tx.next_send = Some(tx.next_send.map_or(now, |at| at.max(now)) + time);
                    }
                }
            }
        }
    }

    /// Puts `frame` on the wire.
    fn send(&self, frame: &Frame) -> Arrival {
        if self.read(nic::LINK_STATUS) & LINK_UP == 0 {
            return Arrival::LinkDown;
        }
        if self.read(nic::CTL) & PORT_LOOPBACK != 0 {
            let corrupt = self.faults() & PORT_FAULT_LOOPBACK_CORRUPT != 0;
            return self.receive(&frame.data, frame.prio, corrupt, true);
        }
        match self.wire() {
            Wire::None => Arrival::LinkDown,
            Wire::Port(peer) => peer.upgrade().map_or(Arrival::LinkDown, |peer| {
                peer.receive(&frame.data, frame.prio, false, true)
            }),
            Wire::Tap(tap) if tap.send(&frame.data) => Arrival::Taken,
            Wire::Tap(_) => Arrival::LinkDown,
        }
    }

    /// A frame of priority `prio` arrives: into the RX ring, or dropped and
    /// counted, or paused if `pausable` and PFC says so.
    pub(crate) fn receive(
        &self,
        data: &[u8],
        prio: usize,
        corrupt: bool,
        pausable: bool,
    ) -> Arrival {
        let mut rx = lock(&self.rx);
        if !self.enabled() || self.read(nic::LINK_STATUS) & LINK_UP == 0 {
            return Arrival::LinkDown;
        }
        // Counted whether or not the loopback corrupts the frame too.
        let corrupt = self.line_errors() || corrupt;
        if corrupt {
            self.count(c::RX_FCS_ERRORS, 1);
            return Arrival::Taken;
        }
        if let Some(opcode) = mac_control_opcode(data) {
            // The MAC control sublayer's, never the host's.
            self.count(c::RX_MAC_CONTROL, 1);
            if opcode != OPCODE_PAUSE && opcode != OPCODE_PFC {
                self.count(c::RX_UNSUPPORTED_OPCODES, 1);
            }
            return Arrival::Taken;
        }
        if !self.accepts(data) {
            self.count(c::RX_FILTERED, 1);
            return Arrival::Taken;
        }
        let len = data.len();
        if len > self.max_frame() {
            self.count(c::RX_OVERSIZE, 1);
            return Arrival::Taken;
        }
        let block = nic::block(self.index);
        let r = self.rss_queue(data);
        let regs = nic::rxq(r);
        let ring = self.ring_regs(regs + nic::Q_BASE_LO, regs + nic::Q_SIZE);
        let pi = self.bar().read32_acquire(block + regs + nic::Q_PI);
        let ci = self.read(regs + nic::Q_CI);
        let Some(ring) = ring.filter(|r| r.used(pi, ci).is_some_and(|n| n > 0)) else {
            let bit = 1u8 << prio;
            if pausable && self.read(nic::PFC_EN) & u32::from(bit) != 0 {
                let first = rx.paused & bit == 0;
                if first {
                    rx.paused |= bit;
                    self.count(c::TX_PAUSE + prio, 1);
                }
                return Arrival::Paused { first };
            }
            self.count(c::RX_NO_BUFFER, 1);
            return Arrival::Taken;
        };
        let slot = ring.slot(ci);
        let word = |off| {
            self.ram()
                .atomic32(slot + off)
                .expect("the RX ring is in guest RAM")
        };
        let addr = u64::from(word(0).load(Ordering::Relaxed))
            | u64::from(word(4).load(Ordering::Relaxed)) << 32;
        let buf_len = word(8).load(Ordering::Relaxed) & 0xffff;
        if len > buf_len as usize {
            self.count(c::RX_OVERSIZE, 1);
            return Arrival::Taken;
        }
        let Some(dst) = self.ram().slice(addr, len as u64) else {
            self.count(c::RX_NO_BUFFER, 1);
            return Arrival::Taken;
        };
        dst.write_from(data);
        word(8).store(buf_len | (len as u32) << 16, Ordering::Relaxed);
        let status = if offload::rx_checksum_ok(data) {
            RX_DONE | RX_CSUM_OK
        } else {
            RX_DONE
        };
        word(12).store(u32::from(status) | (prio as u32) << 16, Ordering::Release);
        self.bar()
            .write32_release(block + regs + nic::Q_CI, ci.wrapping_add(1));
        self.count(c::RX_FRAMES, 1);
        self.count(c::RX_BYTES, len as u64);
        match rmon_bucket(len) {
            Some(b) => self.count(c::RX_SIZE + b, 1),
            None => self.count(c::RX_UNDERSIZE, 1),
        }
        rx.paused &= !(1 << prio);
        rx.pending[r] += 1;
        let now = Instant::now();
        rx.first[r].get_or_insert(now);
        if self.coalesce(&mut rx, now).is_some() {
            self.notify(|w| w.timer = true);
        }
        Arrival::Taken
    }

    /// Counts the bit errors `PORT_FAULTS` puts in a frame arriving from
    /// the wire; returns whether they are left in it: none without the
    /// faults, corrected by RS FEC, left without FEC or beyond what RS
    /// corrects.
    fn line_errors(&self) -> bool {
        let faults = self.faults();
        let uncorrectable = faults & PORT_FAULT_FEC_UNCORRECTABLE != 0;
        if !uncorrectable && faults & PORT_FAULT_FEC_ERRORS == 0 {
            return false;
        }
        self.count(c::PCS_ERRORS, 1);
        if self.read(nic::LINK_INFO) & LINK_INFO_FEC_MASK != FEC_RS {
            return true;
        }
        if uncorrectable {
            self.count(c::FEC_UNCORRECTABLE, 1);
        } else {
            self.count(c::FEC_CORRECTED, 1);
        }
        uncorrectable
    }

    /// Whether the address filter (`RX_FILTER`) passes the frame `data`:
    /// with `RX_PROMISC`, or if it goes to broadcast, the port's `MAC`, an
    /// address of the first entries of `RX_ADDRS` or, with
    /// `RX_ALLMULTI`, any multicast address.
    fn accepts(&self, data: &[u8]) -> bool {
        let filter = self.read(nic::RX_FILTER);
        let Some(dst) = data.get(..6) else {
            return false;
        };
        if filter & RX_PROMISC != 0 || dst == [0xff; 6] {
            return true;
        }
        if dst[0] & 1 != 0 && filter & RX_ALLMULTI != 0 {
            return true;
        }
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(dst);
        let addr = u64::from_le_bytes(addr);
        let (lo, hi) = self.mac();
        if addr == u64::from(lo) | u64::from(hi & 0xffff) << 32 {
            return true;
        }
        let used = (filter >> RX_FILTER_COUNT_SHIFT & 0x3f) as usize;
        let block = nic::block(self.index);
        (0..used.min(nic::RX_ADDRS_ENTRIES))
            .any(|i| self.bar().read64(block + nic::filter_entry(i)) & 0xffff_ffff_ffff == addr)
    }

    /// The RX queue of `data`: the RSS indirection table's entry for the
    /// Toeplitz hash of its addresses and ports, queue 0 if it is not IP
    /// or the entry names no queue.
    fn rss_queue(&self, data: &[u8]) -> usize {
        let Some(input) = offload::rss_input(data) else {
            return 0;
        };
        let block = nic::block(self.index);
        let mut key = [0u8; nic::RSS_KEY_SIZE];
        self.bar()
            .slice(block + nic::RSS_KEY, key.len() as u64)
            .expect("the RSS key is inside BAR2")
            .read_to(&mut key);
        let hash = offload::toeplitz(&key, &input);
        let entry = hash as u64 % nic::RSS_TABLE_SIZE as u64;
        let mut q = [0u8; 1];
        self.bar()
            .slice(block + nic::RSS_TABLE + entry, 1)
            .expect("the RSS table is inside BAR2")
            .read_to(&mut q);
        match usize::from(q[0]) {
            r if r < NUM_RXQ => r,
            _ => 0,
        }
    }

    /// Whether RX queue `r`'s interrupt is masked.
    fn rx_masked(&self, r: usize) -> bool {
        if r == 0 {
            self.read(nic::IRQ_MASK) & PORT_IRQ_RX != 0
        } else {
            self.read(nic::rxq(r) + nic::Q_IRQ_MASK) & PORT_IRQ_RX != 0
        }
    }

    /// Raises each RX queue's interrupt if the coalescing rules say it is
    /// due; returns when the next will be, if one waits for time.
    fn coalesce(&self, rx: &mut Rx, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for r in 0..NUM_RXQ {
            let Some(first) = rx.first[r] else {
                continue;
            };
            if self.rx_masked(r) {
                // Progress while masked is never signalled.
                (rx.pending[r], rx.first[r]) = (0, None);
                continue;
            }
            match self.moderation(nic::rxq(r), rx.pending[r], first, now) {
                Due::Now => {
                    (rx.pending[r], rx.first[r]) = (0, None);
                    if r == 0 {
                        self.raise(PORT_IRQ_RX);
                    } else {
                        self.irq().raise(vector_rxq(self.index, r));
                    }
                }
                Due::At(at) => next = Some(next.map_or(at, |n| n.min(at))),
                Due::MoreFrames => {}
            }
        }
        next
    }
}

/// The opcode of `frame` if it is a MAC control frame.
fn mac_control_opcode(frame: &[u8]) -> Option<u16> {
    let field = |at: usize| Some(u16::from_be_bytes(frame.get(at..at + 2)?.try_into().ok()?));
    (field(12)? == ETH_P_MAC_CONTROL).then_some(field(14)?)
}
