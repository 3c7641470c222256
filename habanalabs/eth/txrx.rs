// SPDX-License-Identifier: GPL-2.0

//! A port's data path: the descriptor rings of its queues, transmit, NAPI and the interrupts.
//!
//! A port has [`NUM_TXQ`] TX queues, one per traffic class (the stack picks a frame's queue
//! from its priority's class), and [`NUM_RXQ`] RX queues among which the device spreads flows
//! (RSS), each with its own interrupt and NAPI context. RX queue 0's context also reclaims the
//! TX queues and follows the link.
//!
//! Indices are free-running 32-bit counters, a ring slot being `index & (size - 1)`. The
//! device's consumer indices are checked against what the driver posted before anything is
//! taken from a ring; a device that claims more is ignored until the watchdog resets the port.
//!
//! A TX queue's new `PI` is announced by the doorbell unless the device says it is still
//! draining the rings (`TX_DRAINING`), in which case it will look again by itself. With
//! `adaptive-rx`, each RX queue's moderation follows its traffic (DIM, [`RxModeration`]).

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::{
    c_str,
    devres::BindingGuard,
    dma::{CoherentAllocation, DmaAddress},
    dma_read, dma_write,
    init::pin_init_array_from_fn,
    irq::IrqReturn,
    net::{
        dev::{with_bh_disabled, Device, Features, IrqHandler, Napi, NapiPoll},
        dim::{self, Dim, DimHandler},
        page_pool::{Page, PagePool, RxLayout},
        skb::{DropReason, MappedPieces, SkBuff},
    },
    new_spinlock, new_spinlock_irq,
    prelude::*,
    static_lock_class,
    sync::{barrier::smp_mb, SpinLock, SpinLockIrq},
    types::{AsBytes, FromBytes},
};

use super::{
    config::{Moderation, RingConfig, RING_MAX},
    port::Port,
    regs::{
        PortIo, Queue, RxDesc, TxDesc, CSUM_OFFSET_MAX, CSUM_START_MAX, IRQ_MASK, MAX_FRAME,
        NUM_RXQ, NUM_TXQ, Q_CI, Q_IRQ_MASK, Q_PI, TSO_MAX, TX_DESC_CTL, TX_DRAINING, TX_MAX_FRAGS,
    },
};

/// The MTU range.
pub(crate) const MTU_MIN: u32 = 68;
pub(crate) const MTU_MAX: u32 = 8192;
/// What a frame carries beyond the MTU: the Ethernet header and one VLAN tag.
const FRAME_OVERHEAD: u32 = 18;
/// The smallest frame the device passes: an Ethernet header.
const FRAME_MIN: u32 = 14;
/// The TX queue wakes once this many slots are free.
const TX_WAKE: u32 = 32;
/// Frames of up to this many bytes are copied into a socket buffer of their size, and their
/// page goes straight back to its pool: a buffer built on the page would charge the receiving
/// socket a whole page (see [`Page::copy_to_skb`]).
const RX_COPYBREAK: u32 = 256;

/// The longest frame: `MAX_FRAME` and the size of an RX buffer. The MTU changes only while the
/// rings are down (see [`Port::reconfigure`]).
pub(crate) fn max_frame(dev: &Device<Port>) -> u32 {
    dev.mtu() + FRAME_OVERHEAD
}

/// A ring's bookkeeping; `slots[i]` holds the buffer of the descriptor in slot `i` (of a
/// chain's last descriptor on the TX ring).
struct Ring<B> {
    pi: u32,
    ci: u32,
    /// 0 while the rings are stopped.
    size: u32,
    slots: KVec<Option<B>>,
}

impl<B> Default for Ring<B> {
    fn default() -> Self {
        Self {
            pi: 0,
            ci: 0,
            size: 0,
            slots: KVec::new(),
        }
    }
}

impl<B> Ring<B> {
    fn used(&self) -> u32 {
        self.pi.wrapping_sub(self.ci)
    }

    fn free(&self) -> u32 {
        self.size - self.used()
    }

    fn slot(&self, index: u32) -> usize {
        (index & (self.size - 1)) as usize
    }

    /// Whether the device's consumer index `ci` is plausible: between ours and what we posted.
    fn valid_ci(&self, ci: u32) -> bool {
        ci.wrapping_sub(self.ci) <= self.used()
    }

    /// The slot after our consumer index, which the device finished if its consumer index `ci`
    /// is past it; it becomes ours to empty (our index moves on). `Ok(None)` if the device
    /// finished none, `Err` if `ci` is not plausible (see [`Ring::valid_ci`]).
    fn next_done(&mut self, ci: u32) -> Result<Option<usize>> {
        if self.size == 0 || self.ci == ci {
            return Ok(None);
        }
        if !self.valid_ci(ci) {
            return Err(EIO);
        }
        let slot = self.slot(self.ci);
        self.ci = self.ci.wrapping_add(1);
        Ok(Some(slot))
    }

    /// Starts empty at the device's index `at`, with `size` slots allocated beforehand.
    fn restart(&mut self, at: u32, size: u32, slots: KVec<Option<B>>) {
        self.pi = at;
        self.ci = at;
        self.size = size;
        self.slots = slots;
    }

    /// Takes every buffer still posted.
    fn drain(&mut self) -> KVec<Option<B>> {
        self.size = 0;
        self.pi = self.ci;
        core::mem::take(&mut self.slots)
    }

    /// `size` empty slots.
    fn empty_slots(size: u32) -> Result<KVec<Option<B>>> {
        let mut v = KVec::with_capacity(size as usize, GFP_KERNEL)?;
        for _ in 0..size {
            v.push(None, GFP_KERNEL)?;
        }
        Ok(v)
    }
}

/// An RX queue: its ring of pool pages and the pool they come from, while the rings are up.
/// Dropped as [`RxBuffers`].
#[derive(Default)]
struct RxQueue {
    ring: Ring<Page>,
    pool: Option<PagePool>,
}

impl RxQueue {
    /// Takes every page still posted, and the pool.
    fn take(&mut self) -> RxBuffers {
        RxBuffers {
            pages: self.ring.drain(),
            pool: self.pool.take(),
        }
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// What an RX queue held, dropped outside its lock (destroying the pool sleeps) and with its
/// NAPI context disabled (which the pool's destruction requires).
struct RxBuffers {
    pages: KVec<Option<Page>>,
    pool: Option<PagePool>,
}

impl Drop for RxBuffers {
    /// The pages go back before the pool is destroyed, which then has none in flight but
    /// those the stack holds.
    fn drop(&mut self) {
        drop(core::mem::take(&mut self.pages));
        drop(self.pool.take());
    }
}

/// Counters the driver keeps itself, for what never reaches the device.
#[derive(Default)]
pub(crate) struct DriverCounters {
    pub(crate) tx_dropped: AtomicU64,
    pub(crate) rx_dropped: AtomicU64,
    /// Indices or descriptors from the device that made no sense.
    pub(crate) device_errors: AtomicU64,
    /// TX doorbells not rung because the device was still draining the rings.
    pub(crate) tx_doorbells_skipped: AtomicU64,
}

/// A queue's counters, each written by one context at a time (the queue's NAPI, or
/// `start_xmit` and the reclaim under the queue's lock) and read by anyone: on 64-bit
/// machines what `u64_stats` would be.
#[derive(Default)]
pub(crate) struct QueueCounters {
    pub(crate) packets: AtomicU64,
    pub(crate) bytes: AtomicU64,
    /// RX: frames whose checksums the device verified; TX: times the queue stopped.
    pub(crate) csum_or_stop: AtomicU64,
    /// RX: buffers that could not be allocated; TX: times the queue woke.
    pub(crate) alloc_fail_or_wake: AtomicU64,
}

impl QueueCounters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    fn count(&self, packets: u64, bytes: u64) {
        Self::add(&self.packets, packets);
        Self::add(&self.bytes, bytes);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The descriptor memory of a port's rings, each at its largest.
pub(crate) struct Descriptors {
    tx: KVec<CoherentAllocation<TxDesc>>,
    rx: KVec<CoherentAllocation<RxDesc>>,
}

impl Descriptors {
    /// Allocate them before registering the netdev, which takes RTNL: the binding guard must not
    /// be held then.
    pub(crate) fn alloc(bound: &BindingGuard<'_>) -> Result<Self> {
        Ok(Self {
            tx: Self::rings(bound, NUM_TXQ)?,
            rx: Self::rings(bound, NUM_RXQ)?,
        })
    }

    /// `n` rings of [`RING_MAX`] descriptors.
    fn rings<T: AsBytes + FromBytes>(
        bound: &BindingGuard<'_>,
        n: usize,
    ) -> Result<KVec<CoherentAllocation<T>>> {
        let mut rings = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            rings.push(
                CoherentAllocation::alloc_coherent(bound, RING_MAX as usize, GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(rings)
    }

    // PANIC: `alloc` made `NUM_TXQ` and `NUM_RXQ` of them, and queue numbers are below those.
    fn tx(&self, q: usize) -> &CoherentAllocation<TxDesc> {
        &self.tx[q]
    }

    fn rx(&self, r: usize) -> &CoherentAllocation<RxDesc> {
        &self.rx[r]
    }
}

/// The adaptive moderation of one RX queue: writes DIM's profiles to the queue's coalescing
/// registers.
pub(crate) struct RxModeration {
    io: PortIo,
    queue: usize,
}

impl RxModeration {
    fn write(&self, m: dim::Moderation) -> Result {
        let m = Moderation {
            usecs: m.usecs.into(),
            frames: m.frames.into(),
        };
        m.write(&self.io, Queue::Rx(self.queue))
    }
}

impl DimHandler for RxModeration {
    fn apply(dim: &Dim<Self>, m: dim::Moderation) {
        // The device reads the coalescing registers at every frame: no doorbell. A device that
        // is gone keeps nothing.
        let _ = dim.data().write(m);
    }
}

/// Adaptive RX moderation: each RX queue's DIM, fed by the queue's NAPI context while `on`.
#[pin_data]
struct AdaptiveRx {
    #[pin]
    dims: [Dim<RxModeration>; NUM_RXQ],
    on: AtomicBool,
    /// Each RX queue's interrupts (wraps).
    events: [AtomicU32; NUM_RXQ],
}

impl AdaptiveRx {
    fn new(io: PortIo) -> impl PinInit<Self> {
        pin_init!(Self {
            dims <- pin_init_array_from_fn::<_, NUM_RXQ, _, core::convert::Infallible>(|r| {
                Dim::new(
                    RxModeration {
                        io: io.clone(),
                        queue: r,
                    },
                    c_str!("habanalabs-eth-dim"),
                    static_lock_class!(),
                )
            }),
            on: AtomicBool::new(false),
            events: Default::default(),
        })
    }
}

/// A port's rings and NAPI contexts.
///
/// Each RX queue in use has a page pool, created by [`Rings::start`] for the queue's NAPI
/// context and destroyed by [`Rings::drain`] once the context is disabled; the device writes
/// frames into the pool's pages, which become the socket buffers passed up.
///
/// A TX queue's lock is taken in `start_xmit` and NAPI, an RX queue's in its NAPI, all also in
/// process context with bottom halves disabled; none is held while taking another. The TX
/// locks disable interrupts ([`SpinLockIrq`]): netpoll (netconsole) transmits and polls NAPI
/// with interrupts disabled, from any context including a hard interrupt, which must not find
/// the lock held by the code it interrupted. Buffers are freed outside them.
#[pin_data]
pub(crate) struct Rings {
    io: PortIo,
    #[pin]
    napi: [Napi; NUM_RXQ],
    descs: Descriptors,
    #[pin]
    tx: [SpinLockIrq<Ring<MappedPieces>>; NUM_TXQ],
    #[pin]
    rx: [SpinLock<RxQueue>; NUM_RXQ],
    pub(crate) counters: DriverCounters,
    pub(crate) txq: [QueueCounters; NUM_TXQ],
    pub(crate) rxq: [QueueCounters; NUM_RXQ],
    #[pin]
    adaptive: AdaptiveRx,
}

impl Rings {
    pub(crate) fn new(io: PortIo, descs: Descriptors) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            adaptive <- AdaptiveRx::new(io.clone()),
            io,
            napi <- pin_init_array_from_fn::<_, NUM_RXQ, _, core::convert::Infallible>(|_| {
                Napi::new()
            }),
            descs,
            tx <- pin_init_array_from_fn::<_, NUM_TXQ, _, core::convert::Infallible>(|_| {
                new_spinlock_irq!(Ring::default(), "Rings::tx")
            }),
            rx <- pin_init_array_from_fn::<_, NUM_RXQ, _, core::convert::Infallible>(|_| {
                new_spinlock!(RxQueue::default(), "Rings::rx")
            }),
            counters: DriverCounters::default(),
            txq: Default::default(),
            rxq: Default::default(),
        })
    }

    /// The NAPI contexts, one per RX queue.
    pub(crate) fn napis(&self) -> &[Napi; NUM_RXQ] {
        &self.napi
    }

    /// Turns adaptive RX moderation on or off. Off, no profile is written after this returns,
    /// and the caller writes the fixed moderation. Sleeps.
    pub(crate) fn set_adaptive(&self, on: bool) {
        self.adaptive.on.store(on, Ordering::Relaxed);
        if !on {
            self.cancel_adaptive();
        }
    }

    /// Waits for and cancels the writes of profiles DIM picked. Sleeps.
    pub(crate) fn cancel_adaptive(&self) {
        self.adaptive.dims.iter().for_each(Dim::cancel);
    }

    /// Writes each RX queue's current adaptive profile: after a reset or a restart, which the
    /// profiles picked before must survive.
    pub(crate) fn write_adaptive(&self) -> Result {
        self.adaptive
            .dims
            .iter()
            .try_for_each(|d| d.data().write(d.moderation()))
    }

    /// Points the stopped device at empty rings of `sizes`: every TX queue's, and the RX
    /// queues' in use (`rx_queues`), each with a new page pool and full of its pages, room for
    /// frames of [`max_frame`] bytes; the other RX queues get none. Called with the NAPI
    /// contexts disabled. The interrupt masks, `CTL` and the doorbell are the caller's.
    pub(crate) fn start(&self, dev: &Device<Port>, sizes: &RingConfig) -> Result {
        let io = &self.io;
        io.write(MAX_FRAME::from(max_frame(dev)))?;
        for (q, tx) in self.tx.iter().enumerate() {
            let slots = Ring::empty_slots(sizes.tx)?;
            // The device keeps its indices across a stop: continue from them.
            let at: u32 = io.read_q::<Q_CI>(Queue::Tx(q))?.into();
            tx.lock().restart(at, sizes.tx, slots);
            io.set_ring(Queue::Tx(q), self.descs.tx(q).dma_handle(), sizes.tx)?;
            io.write_q(Queue::Tx(q), Q_PI::from(at))?;
        }
        let in_use = dev.real_num_rx_queues() as usize;
        for (r, rx) in self.rx.iter().enumerate() {
            if r >= in_use {
                io.set_ring(Queue::Rx(r), 0, 0)?;
                continue;
            }
            let slots = Ring::empty_slots(sizes.rx)?;
            let layout = RxLayout::new(max_frame(dev));
            // SAFETY: The context is queue `r`'s, in the netdev's private data and added at
            // probe: `free_netdev` deletes it, after the private data, hence the pool kept in
            // it, is dropped.
            let pool = unsafe {
                PagePool::new(
                    dev,
                    &self.napi[r],
                    io.nic().dma_device(),
                    r as u32,
                    layout,
                    sizes.rx,
                    true,
                )
            }?;
            let at: u32 = io.read_q::<Q_CI>(Queue::Rx(r))?.into();
            let (old, pi) = with_bh_disabled(|| {
                let mut rx = rx.lock();
                let old = rx.take();
                rx.ring.restart(at, sizes.rx, slots);
                rx.pool = Some(pool);
                self.refill(r, &mut rx);
                (old, rx.ring.pi)
            });
            // Nothing, unless a previous start failed half-way; the context is disabled.
            drop(old);
            io.set_ring(Queue::Rx(r), self.descs.rx(r).dma_handle(), sizes.rx)?;
            io.write_q(Queue::Rx(r), Q_PI::from(pi))?;
        }
        Ok(())
    }

    /// Masks or unmasks every interrupt of the port.
    pub(crate) fn mask_all(&self, masked: bool) -> Result {
        self.io.write(if masked {
            IRQ_MASK::ALL
        } else {
            IRQ_MASK::NONE
        })?;
        for r in 1..NUM_RXQ {
            self.io
                .write_q(Queue::Rx(r), Q_IRQ_MASK::default().set_rx(masked))?;
        }
        Ok(())
    }

    /// Frees what the rings held and destroys the RX queues' page pools. Called once the
    /// device stopped (`PORT_STOP`), so that it no longer touches the buffers, and with the NAPI
    /// contexts disabled. Sleeps.
    pub(crate) fn drain(&self) {
        for tx in &self.tx {
            let slots = tx.lock().drain();
            for m in slots.into_iter().flatten() {
                m.unmap().drop_reason(DropReason::DevReady);
            }
        }
        for rx in &self.rx {
            drop(with_bh_disabled(|| rx.lock().take()));
        }
    }

    /// Posts fresh pages of its pool on queue `r` until its ring is full; returns whether it
    /// posted any. Called from the queue's NAPI poll, or with its context disabled.
    fn refill(&self, r: usize, rx: &mut RxQueue) -> bool {
        let RxQueue { ring, pool } = rx;
        let Some(pool) = pool else {
            return false;
        };
        let len = pool.layout().len();
        let mut posted = false;
        while ring.free() > 0 {
            // SAFETY: As this function's callers guarantee, in the NAPI poll of queue `r`,
            // whose context the pool is for, or with that context disabled.
            let Some(page) = (unsafe { pool.alloc() }) else {
                self.counters.rx_dropped.fetch_add(1, Ordering::Relaxed);
                QueueCounters::add(&self.rxq[r].alloc_fail_or_wake, 1);
                break;
            };
            let slot = ring.slot(ring.pi);
            let desc = RxDesc::new(page.frame_address(), len as u16);
            let descs = self.descs.rx(r);
            if dma_write!(descs[slot] = desc).is_err() {
                break;
            }
            ring.slots[slot] = Some(page);
            ring.pi = ring.pi.wrapping_add(1);
            posted = true;
        }
        posted
    }

    /// Writes a descriptor for the piece at `addr` into the next slot of TX queue `q`, which
    /// the next `PI` write posts; returns the slot.
    fn push_tx(
        &self,
        q: usize,
        tx: &mut Ring<MappedPieces>,
        addr: DmaAddress,
        ctl: TX_DESC_CTL,
    ) -> Result<usize> {
        let slot = tx.slot(tx.pi);
        let descs = self.descs.tx(q);
        dma_write!(descs[slot] = TxDesc::new(addr, ctl))?;
        tx.pi = tx.pi.wrapping_add(1);
        Ok(slot)
    }

    /// The offloads `skb` asks for, in the first descriptor of its chain: segmentation, the
    /// checksum, or neither once the checksum is computed here (for a layout the device
    /// cannot describe). `Err` drops the frame.
    fn offloads(skb: &mut SkBuff, ctl: TX_DESC_CTL) -> Result<TX_DESC_CTL> {
        let partial = skb.checksum_partial();
        if skb.is_gso() {
            let mss = skb.gso_tcp_size();
            return match partial {
                Some((start, _))
                    if mss > 0 && mss <= u16::MAX.into() && start <= CSUM_START_MAX =>
                {
                    Ok(ctl
                        .set_tso(true)
                        .set_csum_start(start as u16)
                        .set_mss(mss as u16))
                }
                _ => Err(EINVAL),
            };
        }
        match partial {
            Some((start, offset)) if start <= CSUM_START_MAX && offset <= CSUM_OFFSET_MAX => {
                Ok(ctl
                    .set_csum(true)
                    .set_csum_start(start as u16)
                    .set_csum_offset(offset as u8))
            }
            Some(_) => skb.checksum_help().map(|()| ctl),
            None => Ok(ctl),
        }
    }

    /// Sends one frame on the queue the stack picked: `start_xmit`. A frame it drops is
    /// counted, and if it ends a batch the device is told of the frames posted before it,
    /// which waited for the batch's last.
    pub(crate) fn xmit(&self, dev: &Device<Port>, skb: SkBuff) {
        let q = usize::from(skb.queue_mapping()).min(NUM_TXQ - 1);
        if self.post(dev, q, skb).is_ok() {
            return;
        }
        self.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
        if !dev.xmit_more() {
            let tx = self.tx[q].lock();
            if tx.size != 0 {
                self.notify_tx(q, tx.pi);
            }
        }
    }

    /// Posts `skb` on TX queue `q`, or drops it with its reason.
    fn post(&self, dev: &Device<Port>, q: usize, mut skb: SkBuff) -> Result {
        let queue = dev.tx_queue(q as u16);
        let len = skb.len();
        let limit = if skb.is_gso() {
            TSO_MAX
        } else {
            max_frame(dev)
        };
        if !(FRAME_MIN..=limit).contains(&len) {
            skb.drop_reason(DropReason::PktTooBig);
            return Err(E2BIG);
        }
        let prio = (skb.priority() & 7) as u8;
        let Ok(first) = Self::offloads(&mut skb, TX_DESC_CTL::default().set_prio(prio)) else {
            skb.drop_reason(DropReason::NotSpecified);
            return Err(EINVAL);
        };
        let mapped = match skb.map_pieces(self.io.nic().dma_device()) {
            Ok(m) => m,
            Err(skb) => {
                skb.drop_reason(DropReason::NoMem);
                return Err(ENOMEM);
            }
        };
        let count = mapped.count() as u32;
        if count > TX_MAX_FRAGS || mapped.pieces().any(|(_, l)| l == 0 || l > u16::MAX.into()) {
            mapped.unmap().drop_reason(DropReason::PktTooBig);
            return Err(E2BIG);
        }
        let mut tx = self.tx[q].lock();
        if tx.size == 0 || tx.free() < count {
            queue.stop();
            drop(tx);
            mapped.unmap().drop_reason(DropReason::FullRing);
            return Err(EBUSY);
        }
        let start = tx.pi;
        let mut last = None;
        for (i, (addr, plen)) in mapped.pieces().enumerate() {
            let ctl = if i == 0 {
                first
            } else {
                TX_DESC_CTL::default()
            };
            let ctl = ctl.set_len(plen as u16).set_more(i + 1 < count as usize);
            match self.push_tx(q, &mut tx, addr, ctl) {
                Ok(slot) => last = Some(slot),
                Err(_) => {
                    last = None;
                    break;
                }
            }
        }
        let Some(slot) = last else {
            // Not posted: take the chain back.
            tx.pi = start;
            drop(tx);
            mapped.unmap().drop_reason(DropReason::NotSpecified);
            return Err(EIO);
        };
        tx.slots[slot] = Some(mapped);
        // Room for the longest chain, or the queue stops.
        if tx.free() < TX_MAX_FRAGS {
            queue.stop();
            QueueCounters::add(&self.txq[q].csum_or_stop, 1);
        }
        // The doorbell waits for the last frame of a batch, unless the queue stopped.
        if queue.sent(len, dev.xmit_more()) {
            self.notify_tx(q, tx.pi);
        }
        Ok(())
    }

    /// Writes TX queue `q`'s producer index `pi` and rings the doorbell, unless the device is
    /// draining the rings and takes it by itself. Called under the queue's lock, which keeps
    /// the writes of `PI` in order.
    fn notify_tx(&self, q: usize, pi: u32) {
        let _ = self.io.write_q(Queue::Tx(q), Q_PI::from(pi));
        if self.draining() {
            self.counters
                .tx_doorbells_skipped
                .fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = self.io.kick();
        }
    }

    /// Whether the device is draining the TX rings and so takes a `PI` just written without a
    /// doorbell. The full barrier orders the write of `PI` before the read of `TX_DRAINING`,
    /// as the device orders its clearing of the flag before its last look at `PI`: either it
    /// sees the new `PI`, or this sees the flag clear and rings (`device-model.rst`).
    fn draining(&self) -> bool {
        smp_mb();
        self.io.read::<TX_DRAINING>().is_ok_and(|d| d.busy())
    }

    /// Sends the `len`-byte frame at `addr`, which is not a socket buffer and stays the
    /// caller's, on TX queue 0 and rings the doorbell: for the self-test, with the queue
    /// stopped.
    pub(crate) fn send_raw(&self, addr: DmaAddress, len: u32) -> Result {
        let pi = {
            let mut tx = self.tx[0].lock();
            if tx.size == 0 || tx.free() == 0 {
                return Err(EBUSY);
            }
            self.push_tx(0, &mut tx, addr, TX_DESC_CTL::default().set_len(len as u16))?;
            tx.pi
        };
        self.io.write_q(Queue::Tx(0), Q_PI::from(pi))?;
        self.io.kick()
    }

    /// The slot of [`Ring::next_done`], if any; an implausible index is counted.
    fn device_slot(&self, next: Result<Option<usize>>) -> Option<usize> {
        next.unwrap_or_else(|_| {
            self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
            None
        })
    }

    /// Takes the next slot the device finished on TX queue `q`, up to its consumer index `ci`:
    /// `None` if there is none, `Some(m)` with the frame whose chain ended there, if any. The
    /// lock, which disables interrupts, is held for one slot at a time; the caller frees the
    /// frame after.
    fn next_tx(&self, q: usize, ci: u32) -> Option<Option<MappedPieces>> {
        let mut tx = self.tx[q].lock();
        let slot = self.device_slot(tx.next_done(ci))?;
        Some(tx.slots[slot].take())
    }

    /// Reclaims transmitted frames of every TX queue and wakes those stopped for room.
    fn reclaim(&self, dev: &Device<Port>) {
        for (q, tx) in self.tx.iter().enumerate() {
            let Ok(ci) = self.io.read_q::<Q_CI>(Queue::Tx(q)).map(u32::from) else {
                return;
            };
            let (mut slots, mut frames, mut bytes) = (0, 0, 0);
            while let Some(done) = self.next_tx(q, ci) {
                slots += 1;
                if let Some(m) = done {
                    frames += 1;
                    bytes += m.len();
                    m.unmap().consume();
                }
            }
            if slots == 0 {
                continue;
            }
            let queue = dev.tx_queue(q as u16);
            queue.completed(frames, bytes);
            self.txq[q].count(frames.into(), bytes.into());
            // Under the lock, which `start_xmit` stops the queue under: no wake-up is lost and
            // none comes after the queue filled again.
            let tx = tx.lock();
            if queue.stopped() && tx.free() >= TX_WAKE.max(TX_MAX_FRAGS).min(tx.size / 2) {
                queue.wake();
                QueueCounters::add(&self.txq[q].alloc_fail_or_wake, 1);
            }
        }
    }

    /// Takes the next buffer the device filled on RX queue `r`, up to its consumer index
    /// `ci`, as a socket buffer built on its page, or for a frame of up to [`RX_COPYBREAK`]
    /// bytes a copy (the page goes back to the pool): `None` if there is none, `Some(None)` if
    /// the slot held no valid frame or no buffer could be had (counted; the page goes back to
    /// the pool).
    fn next_rx(&self, dev: &Device<Port>, r: usize, ci: u32) -> Option<Option<SkBuff>> {
        let (page, slot) = {
            let mut rx = self.rx[r].lock();
            let slot = self.device_slot(rx.ring.next_done(ci))?;
            match rx.ring.slots[slot].take() {
                Some(page) => (page, slot),
                None => return Some(None),
            }
        };
        let descs = self.descs.rx(r);
        let desc = dma_read!(descs[slot]).unwrap_or_default().ctl();
        let len = u32::from(desc.len());
        if !desc.done() || !(FRAME_MIN..=max_frame(dev)).contains(&len) {
            self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
            return Some(None);
        }
        page.sync_for_cpu(len);
        let skb = if len <= RX_COPYBREAK {
            page.copy_to_skb(dev, len)
        } else {
            page.into_skb(len)
        };
        let Ok(mut skb) = skb else {
            self.counters.rx_dropped.fetch_add(1, Ordering::Relaxed);
            QueueCounters::add(&self.rxq[r].alloc_fail_or_wake, 1);
            return Some(None);
        };
        if desc.csum_ok() && dev.features().contains(Features::RXCSUM) {
            skb.set_checksum_unnecessary();
            QueueCounters::add(&self.rxq[r].csum_or_stop, 1);
        }
        Some(Some(skb))
    }

    /// Passes up to `budget` frames received on queue `r` to the stack and refills its ring.
    fn receive(&self, dev: &Device<Port>, r: usize, napi: &Napi, budget: i32) -> i32 {
        let Ok(ci) = self.io.read_q::<Q_CI>(Queue::Rx(r)).map(u32::from) else {
            return 0;
        };
        let mut done = 0;
        while done < budget {
            // The RX lock is not held while the stack takes a frame: what it sends in reply
            // takes a TX lock.
            let Some(next) = self.next_rx(dev, r, ci) else {
                break;
            };
            done += 1;
            let Some(mut skb) = next else { continue };
            self.rxq[r].count(1, skb.len().into());
            // Cannot fail: `next_rx` passes frames of an Ethernet header at least.
            if skb.eth_type_trans(dev).is_err() {
                skb.drop_reason(DropReason::DevHdr);
                continue;
            }
            napi.gro_receive(skb);
        }
        let mut rx = self.rx[r].lock();
        if self.refill(r, &mut rx) {
            let pi = rx.ring.pi;
            drop(rx);
            let _ = self.io.write_q(Queue::Rx(r), Q_PI::from(pi));
            let _ = self.io.kick();
        }
        done
    }

    /// Takes the next frame received on queue 0 if the device has filled a buffer, with NAPI
    /// off: for the self-test. `Ok(None)` if there is none or it was not a valid frame.
    pub(crate) fn take_rx(&self, dev: &Device<Port>) -> Result<Option<SkBuff>> {
        let ci = self.io.read_q::<Q_CI>(Queue::Rx(0))?.into();
        Ok(with_bh_disabled(|| self.next_rx(dev, 0, ci)).flatten())
    }

    /// Whether the device filled buffers of RX queue 0 the driver has not taken.
    pub(crate) fn rx_pending(&self) -> Result<bool> {
        let ci: u32 = self.io.read_q::<Q_CI>(Queue::Rx(0))?.into();
        Ok(ci != with_bh_disabled(|| self.rx[0].lock().ring.ci))
    }

    /// Whether the device made progress on RX queue `r` (and for queue 0, on a TX queue) the
    /// driver has not seen. Called in NAPI.
    fn pending(&self, r: usize) -> bool {
        let rx = self
            .io
            .read_q::<Q_CI>(Queue::Rx(r))
            .is_ok_and(|ci| u32::from(ci) != self.rx[r].lock().ring.ci);
        rx || (r == 0
            && self.tx.iter().enumerate().any(|(q, tx)| {
                self.io
                    .read_q::<Q_CI>(Queue::Tx(q))
                    .is_ok_and(|ci| u32::from(ci) != tx.lock().ci)
            }))
    }

    /// Unmasks RX queue `r`'s interrupt (queue 0's: every interrupt of the port's vector).
    fn unmask(&self, r: usize) {
        let res = if r == 0 {
            self.io.write(IRQ_MASK::NONE)
        } else {
            self.io.write_q(Queue::Rx(r), Q_IRQ_MASK::default())
        };
        if res.is_ok() {
            let _ = self.io.kick();
        }
    }

    /// Masks RX queue `r`'s interrupt, from its handler.
    fn mask(&self, r: usize) {
        let _ = if r == 0 {
            self.io.write(IRQ_MASK::ALL)
        } else {
            self.io
                .write_q(Queue::Rx(r), Q_IRQ_MASK::default().set_rx(true))
        };
    }
}

impl NapiPoll for Port {
    fn poll(dev: &Device<Self>, napi: &Napi, budget: i32) -> i32 {
        let port = dev.data();
        let rings = &port.rings;
        let r = rings
            .napi
            .iter()
            .position(|n| core::ptr::eq(n, napi))
            .unwrap_or(0);
        if r == 0 {
            rings.reclaim(dev);
        }
        // netpoll (netconsole) polls with a budget of 0, interrupts disabled, to make room on
        // the TX rings only: nothing is received, refilled, completed or unmasked.
        if budget == 0 {
            return 0;
        }
        let done = rings.receive(dev, r, napi, budget);
        if r == 0 {
            port.update_link(dev);
        }
        if done < budget && napi.complete_done(done) {
            let adaptive = &rings.adaptive;
            if adaptive.on.load(Ordering::Relaxed) {
                let q = &rings.rxq[r];
                // SAFETY: Only queue `r`'s NAPI poll feeds `dims[r]`, and NAPI runs one poll of
                // a context at a time.
                unsafe {
                    adaptive.dims[r].sample(
                        adaptive.events[r].load(Ordering::Relaxed) as u16,
                        QueueCounters::get(&q.packets),
                        QueueCounters::get(&q.bytes),
                    )
                };
            }
            // Progress and link changes made while masked raise nothing: unmask, then look
            // once more.
            rings.unmask(r);
            if rings.pending(r) || (r == 0 && port.link_changed(dev)) {
                napi.schedule();
            }
        }
        done
    }
}

/// The interrupts of a port: RX queue `index`'s vector (queue 0's also signals TX and the
/// link). Masks it and lets the queue's NAPI do the work (none while the port is down).
impl IrqHandler for Port {
    fn handle_irq(dev: &Device<Self>, index: u32) -> IrqReturn {
        let rings = &dev.data().rings;
        let Some(napi) = rings.napi.get(index as usize) else {
            return IrqReturn::None;
        };
        rings.mask(index as usize);
        if let Some(events) = rings.adaptive.events.get(index as usize) {
            events.fetch_add(1, Ordering::Relaxed);
        }
        napi.schedule();
        IrqReturn::Handled
    }
}
