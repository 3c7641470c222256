// SPDX-License-Identifier: GPL-2.0

//! A port's data path: the descriptor rings, transmit, NAPI and the interrupt.
//!
//! Indices are free-running 32-bit counters, a ring slot being `index & (size - 1)`. The
//! device's `TX_CI` and `RX_CI` are checked against what the driver posted before anything is
//! taken from a ring; a device that claims more is ignored until the watchdog resets the port.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    devres::BindingGuard,
    dma::{CoherentAllocation, DmaAddress},
    dma_read, dma_write,
    irq::{Handler, IrqReturn},
    net::{
        dev::{with_bh_disabled, Device, Napi, NapiPoll},
        dev::Features,
        skb::{DropReason, Mapped, MappedPieces, SkBuff},
    },
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    types::ARef,
};

use super::{
    config::{RingConfig, RING_MAX},
    port::Port,
    regs::{
        PortIo, RxDesc, TxDesc, CSUM_OFFSET_MAX, CSUM_START_MAX, IRQ_MASK, MAX_FRAME, RX_BASE,
        RX_CI, RX_PI, RX_SIZE, TSO_MAX, TX_BASE, TX_CI, TX_DESC_CTL, TX_MAX_FRAGS, TX_PI, TX_SIZE,
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

/// Counters the driver keeps itself, for what never reaches the device.
#[derive(Default)]
pub(crate) struct DriverCounters {
    pub(crate) tx_dropped: AtomicU64,
    pub(crate) rx_dropped: AtomicU64,
    /// Indices or descriptors from the device that made no sense.
    pub(crate) device_errors: AtomicU64,
}

/// The descriptor memory of a port's two rings, at their largest.
pub(crate) struct Descriptors {
    tx: CoherentAllocation<TxDesc>,
    rx: CoherentAllocation<RxDesc>,
}

impl Descriptors {
    /// Allocate them before registering the netdev, which takes RTNL: the binding guard must not
    /// be held then.
    pub(crate) fn alloc(bound: &BindingGuard<'_>) -> Result<Self> {
        Ok(Self {
            tx: CoherentAllocation::alloc_coherent(bound, RING_MAX as usize, GFP_KERNEL)?,
            rx: CoherentAllocation::alloc_coherent(bound, RING_MAX as usize, GFP_KERNEL)?,
        })
    }
}

/// A port's rings and NAPI context.
///
/// The TX lock is taken in `start_xmit` and NAPI, the RX lock in NAPI, both also in process
/// context with bottom halves disabled; neither is held while taking the other.
#[pin_data]
pub(crate) struct Rings {
    io: PortIo,
    #[pin]
    napi: Napi,
    descs: Descriptors,
    #[pin]
    tx: SpinLock<Ring<MappedPieces>>,
    #[pin]
    rx: SpinLock<Ring<Mapped>>,
    pub(crate) counters: DriverCounters,
}

impl Rings {
    pub(crate) fn new(io: PortIo, descs: Descriptors) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            io,
            napi <- Napi::new(),
            descs,
            tx <- new_spinlock!(Ring::default()),
            rx <- new_spinlock!(Ring::default()),
            counters: DriverCounters::default(),
        })
    }

    pub(crate) fn napi(&self) -> &Napi {
        &self.napi
    }

    /// Points the stopped device at empty rings of `sizes`, the RX ring full of buffers of
    /// [`max_frame`] bytes. The interrupt mask, `CTL` and the doorbell are the caller's.
    pub(crate) fn start(&self, dev: &Device<Port>, sizes: &RingConfig) -> Result {
        let (tx_slots, rx_slots) = (Ring::empty_slots(sizes.tx)?, Ring::empty_slots(sizes.rx)?);
        let io = &self.io;
        // The device keeps its indices across a stop: continue from them.
        let (tx_at, rx_at) = (io.read::<TX_CI>()?.into(), io.read::<RX_CI>()?.into());
        let rx_pi = with_bh_disabled(|| {
            self.tx.lock().restart(tx_at, sizes.tx, tx_slots);
            let mut rx = self.rx.lock();
            rx.restart(rx_at, sizes.rx, rx_slots);
            self.refill(dev, &mut rx);
            rx.pi
        });
        let (tx_base, rx_base) = (self.descs.tx.dma_handle(), self.descs.rx.dma_handle());
        io.write(MAX_FRAME::from(max_frame(dev)))?;
        io.write(TX_BASE::from(tx_base))?;
        io.write(TX_SIZE::from(sizes.tx))?;
        io.write(TX_PI::from(tx_at))?;
        io.write(RX_BASE::from(rx_base))?;
        io.write(RX_SIZE::from(sizes.rx))?;
        io.write(RX_PI::from(rx_pi))
    }

    /// Frees what the rings held. Called once the device stopped (`PORT_STOP`): it no longer
    /// touches the buffers.
    pub(crate) fn drain(&self) {
        let tx = with_bh_disabled(|| self.tx.lock().drain());
        let rx = with_bh_disabled(|| self.rx.lock().drain());
        for m in tx.into_iter().flatten() {
            m.unmap().drop_reason(DropReason::DevReady);
        }
        for m in rx.into_iter().flatten() {
            m.unmap().consume();
        }
    }

    /// Posts fresh RX buffers until the ring is full; returns whether it posted any.
    fn refill(&self, dev: &Device<Port>, rx: &mut Ring<Mapped>) -> bool {
        let len = max_frame(dev);
        let mut posted = false;
        while rx.free() > 0 {
            let Some(skb) = SkBuff::alloc_rx(dev, len) else {
                self.counters.rx_dropped.fetch_add(1, Ordering::Relaxed);
                break;
            };
            let mapped = match skb.map_from_device(self.io.nic().dma_device(), len) {
                Ok(m) => m,
                Err(skb) => {
                    skb.drop_reason(DropReason::NoMem);
                    break;
                }
            };
            let slot = rx.slot(rx.pi);
            let desc = RxDesc::new(mapped.dma_address(), len as u16);
            if dma_write!(self.descs.rx[slot] = desc).is_err() {
                break;
            }
            rx.slots[slot] = Some(mapped);
            rx.pi = rx.pi.wrapping_add(1);
            posted = true;
        }
        posted
    }

    /// Writes a descriptor for the `len`-byte piece at `addr` into the next TX slot, which the
    /// next `TX_PI` write posts; returns the slot.
    fn push_tx(&self, tx: &mut Ring<MappedPieces>, addr: DmaAddress, ctl: TX_DESC_CTL) -> Result<usize> {
        let slot = tx.slot(tx.pi);
        dma_write!(self.descs.tx[slot] = TxDesc::new(addr, ctl))?;
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
            match partial {
                Some((start, _)) if mss > 0 && mss <= u16::MAX.into() && start <= CSUM_START_MAX => {
                    return Ok(ctl.set_tso(true).set_csum_start(start as u16).set_mss(mss as u16));
                }
                _ => return Err(EINVAL),
            }
        }
        match partial {
            Some((start, offset)) if start <= CSUM_START_MAX && offset <= CSUM_OFFSET_MAX => Ok(ctl
                .set_csum(true)
                .set_csum_start(start as u16)
                .set_csum_offset(offset as u8)),
            Some(_) => skb.checksum_help().map(|()| ctl),
            None => Ok(ctl),
        }
    }

    /// Sends one frame: `start_xmit`.
    pub(crate) fn xmit(&self, dev: &Device<Port>, mut skb: SkBuff) {
        let len = skb.len();
        let limit = if skb.is_gso() { TSO_MAX } else { max_frame(dev) };
        if !(FRAME_MIN..=limit).contains(&len) {
            self.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
            skb.drop_reason(DropReason::PktTooBig);
            return;
        }
        let prio = (skb.priority() & 7) as u8;
        let first = match Self::offloads(&mut skb, TX_DESC_CTL::default().set_prio(prio)) {
            Ok(ctl) => ctl,
            Err(_) => {
                self.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
                skb.drop_reason(DropReason::NotSpecified);
                return;
            }
        };
        let mapped = match skb.map_pieces(self.io.nic().dma_device()) {
            Ok(m) => m,
            Err(skb) => {
                self.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
                skb.drop_reason(DropReason::NoMem);
                return;
            }
        };
        let count = mapped.count() as u32;
        if count > TX_MAX_FRAGS || mapped.pieces().any(|(_, l)| l == 0 || l > u16::MAX.into()) {
            self.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
            mapped.unmap().drop_reason(DropReason::PktTooBig);
            return;
        }
        let mut tx = self.tx.lock();
        if tx.size == 0 || tx.free() < count {
            drop(tx);
            dev.stop_queue();
            self.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
            mapped.unmap().drop_reason(DropReason::FullRing);
            return;
        }
        let start = tx.pi;
        let mut last = None;
        for (i, (addr, plen)) in mapped.pieces().enumerate() {
            let ctl = if i == 0 { first } else { TX_DESC_CTL::default() };
            let ctl = ctl.set_len(plen as u16).set_more(i + 1 < count as usize);
            match self.push_tx(&mut tx, addr, ctl) {
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
            return;
        };
        tx.slots[slot] = Some(mapped);
        dev.tx_sent(len);
        // Room for the largest chain, or the queue stops.
        if tx.free() < TX_MAX_FRAGS {
            dev.stop_queue();
        }
        if !dev.xmit_more() || dev.queue_stopped() {
            let _ = self.io.write(TX_PI::from(tx.pi));
            let _ = self.io.kick();
        }
    }

    /// Sends the `len`-byte frame at `addr`, which is not a socket buffer and stays the
    /// caller's, and rings the doorbell: for the self-test, with the queue stopped.
    pub(crate) fn send_raw(&self, addr: DmaAddress, len: u32) -> Result {
        let pi = with_bh_disabled(|| {
            let mut tx = self.tx.lock();
            if tx.size == 0 || tx.free() == 0 {
                return Err(EBUSY);
            }
            self.push_tx(&mut tx, addr, TX_DESC_CTL::default().set_len(len as u16))?;
            Ok(tx.pi)
        })?;
        self.io.write(TX_PI::from(pi))?;
        self.io.kick()
    }

    /// Reclaims transmitted frames and wakes the queue if it was stopped for room.
    fn reclaim(&self, dev: &Device<Port>) {
        let Ok(ci) = self.io.read::<TX_CI>().map(u32::from) else {
            return;
        };
        let mut tx = self.tx.lock();
        if tx.size == 0 || ci == tx.ci {
            return;
        }
        if !tx.valid_ci(ci) {
            self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (mut frames, mut bytes) = (0, 0);
        while tx.ci != ci {
            let slot = tx.slot(tx.ci);
            if let Some(m) = tx.slots[slot].take() {
                frames += 1;
                bytes += m.len();
                m.unmap().consume();
            }
            tx.ci = tx.ci.wrapping_add(1);
        }
        dev.tx_completed(frames, bytes);
        dev.count_tx(frames, bytes);
        if dev.queue_stopped() && tx.free() >= TX_WAKE.max(TX_MAX_FRAGS).min(tx.size / 2) {
            dev.wake_queue();
        }
    }

    /// Takes the next buffer the device filled, up to its `RX_CI` `ci`: `None` if there is
    /// none, `Some(None)` if the slot held no valid frame (counted and dropped).
    fn next_rx(&self, dev: &Device<Port>, ci: u32) -> Option<Option<SkBuff>> {
        let (m, slot) = {
            let mut rx = self.rx.lock();
            if rx.size == 0 || rx.ci == ci {
                return None;
            }
            if !rx.valid_ci(ci) {
                self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            let slot = rx.slot(rx.ci);
            rx.ci = rx.ci.wrapping_add(1);
            match rx.slots[slot].take() {
                Some(m) => (m, slot),
                None => return Some(None),
            }
        };
        let desc = dma_read!(self.descs.rx[slot]).unwrap_or_default().ctl();
        let len = u32::from(desc.len());
        let mut skb = m.unmap();
        if !desc.done() || !(FRAME_MIN..=max_frame(dev)).contains(&len) || skb.put(len).is_err() {
            self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
            skb.drop_reason(DropReason::DevHdr);
            return Some(None);
        }
        if desc.csum_ok() && dev.features().contains(Features::RXCSUM) {
            skb.set_checksum_unnecessary();
        }
        Some(Some(skb))
    }

    /// Passes up to `budget` received frames to the stack and refills the ring.
    fn receive(&self, dev: &Device<Port>, napi: &Napi, budget: i32) -> i32 {
        let Ok(ci) = self.io.read::<RX_CI>().map(u32::from) else {
            return 0;
        };
        let mut done = 0;
        while done < budget {
            // The RX lock is not held while the stack takes a frame: what it sends in reply
            // takes the TX lock.
            let Some(next) = self.next_rx(dev, ci) else {
                break;
            };
            done += 1;
            let Some(mut skb) = next else { continue };
            dev.count_rx(skb.len());
            skb.eth_type_trans(dev);
            napi.gro_receive(skb);
        }
        let mut rx = self.rx.lock();
        if self.refill(dev, &mut rx) {
            let pi = rx.pi;
            drop(rx);
            let _ = self.io.write(RX_PI::from(pi));
            let _ = self.io.kick();
        }
        done
    }

    /// Takes the next received frame if the device has filled a buffer, with NAPI off: for the
    /// self-test. `Ok(None)` if there is none or it was not a valid frame.
    pub(crate) fn take_rx(&self, dev: &Device<Port>) -> Result<Option<SkBuff>> {
        let ci = self.io.read::<RX_CI>()?.into();
        Ok(with_bh_disabled(|| self.next_rx(dev, ci)).flatten())
    }

    /// Whether the device filled RX buffers the driver has not taken.
    pub(crate) fn rx_pending(&self) -> Result<bool> {
        Ok(u32::from(self.io.read::<RX_CI>()?) != with_bh_disabled(|| self.rx.lock().ci))
    }

    /// Whether the device made progress the driver has not seen. Called in NAPI.
    fn pending(&self) -> bool {
        let tx = self
            .io
            .read::<TX_CI>()
            .is_ok_and(|ci| u32::from(ci) != self.tx.lock().ci);
        tx || self
            .io
            .read::<RX_CI>()
            .is_ok_and(|ci| u32::from(ci) != self.rx.lock().ci)
    }
}

impl NapiPoll for Port {
    fn poll(dev: &Device<Self>, napi: &Napi, budget: i32) -> i32 {
        let port = dev.data();
        let rings = &port.rings;
        rings.reclaim(dev);
        let done = rings.receive(dev, napi, budget);
        port.update_link(dev);
        if done < budget && napi.complete_done(done) {
            // Progress made while masked raises nothing: unmask, then look once more.
            if rings.io.write(IRQ_MASK::NONE).is_ok() {
                let _ = rings.io.kick();
            }
            if rings.pending() {
                napi.schedule();
            }
        }
        done
    }
}

/// The port's interrupt: masks it and lets NAPI do the work.
pub(crate) struct PortIrq {
    pub(crate) dev: ARef<Device<Port>>,
}

impl Handler for PortIrq {
    fn handle(&self) -> IrqReturn {
        let rings = &self.dev.data().rings;
        let _ = rings.io.write(IRQ_MASK::ALL);
        rings.napi.schedule();
        IrqReturn::Handled
    }
}
