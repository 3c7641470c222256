// SPDX-License-Identifier: GPL-2.0

//! One port as a netdev: its rings, NAPI, interrupt and configuration.
//!
//! Indices are free-running 32-bit counters, a ring slot being `index & (size - 1)`. The
//! device's `TX_CI` and `RX_CI` are checked against what the driver posted before anything is
//! taken from a ring; a device that claims more is ignored until the watchdog resets the port.

use core::{
    fmt::Write,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};
use kernel::{
    dma::CoherentAllocation,
    devres::BindingGuard,
    dma_read, dma_write,
    fmt,
    io::poll::read_poll_timeout,
    irq::{Handler, IrqReturn},
    net::{
        dev::{with_bh_disabled, Device, NameWriter, Napi, NapiPoll, Operations, Rtnl, Stats64},
        skb::{DropReason, Mapped, SkBuff},
    },
    new_mutex, new_spinlock, new_work,
    prelude::*,
    sync::{Arc, Mutex, SpinLock},
    types::ARef,
    workqueue::{self, impl_has_work, Work, WorkItem},
};

use super::regs::{self, counter, RxDesc, Speed, TxDesc};
use crate::nic::NicDevice;

/// Ring sizes: the default and the limits `ethtool -G` accepts.
pub(crate) const RING_DEFAULT: u32 = 512;
pub(crate) const RING_MIN: u32 = 64;
pub(crate) const RING_MAX: u32 = 4096;
/// The MTU range.
pub(crate) const MTU_MIN: u32 = 68;
pub(crate) const MTU_MAX: u32 = 8192;
/// What a frame carries beyond the MTU: the Ethernet header and one VLAN tag.
const FRAME_OVERHEAD: u32 = 18;
/// The smallest frame the device passes: an Ethernet header.
const FRAME_MIN: u32 = 14;
/// The TX queue wakes once this many slots are free.
const TX_WAKE: u32 = 32;
/// How long the TX queue may stall before `tx_timeout`, in milliseconds.
pub(crate) const WATCHDOG_MS: u32 = 5000;

/// The longest frame: `MAX_FRAME` and the size of an RX buffer. The MTU changes only while the
/// rings are down (see [`Operations::change_mtu`]).
fn max_frame(dev: &Device<Port>) -> u32 {
    dev.mtu() + FRAME_OVERHEAD
}

/// Settings that survive `ip link set down`, changed by ethtool and DCB.
pub(crate) struct Config {
    pub(crate) tx_ring: u32,
    pub(crate) rx_ring: u32,
    pub(crate) coalesce_usecs: u32,
    pub(crate) coalesce_frames: u32,
    pub(crate) autoneg: bool,
    /// Advertised speeds while autonegotiating, a [`Speed::bit`] each.
    pub(crate) advertised: u8,
    /// The speed when not autonegotiating.
    pub(crate) forced: Speed,
    pub(crate) loopback: bool,
    /// Priorities with flow control, a bit each.
    pub(crate) pfc: u8,
    /// ETS: each TC's share in percent, each priority's TC, TCs that are ETS (not strict).
    pub(crate) tc_bw: [u8; 8],
    pub(crate) prio_tc: [u8; 8],
    pub(crate) tc_ets: u8,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tx_ring: RING_DEFAULT,
            rx_ring: RING_DEFAULT,
            coalesce_usecs: 0,
            coalesce_frames: 0,
            autoneg: true,
            advertised: Speed::ALL.iter().fold(0, |m, s| m | s.bit()),
            forced: Speed::G100,
            loopback: false,
            pfc: 0,
            // All priorities in TC 0, which is ETS with the whole link.
            tc_bw: [100, 0, 0, 0, 0, 0, 0, 0],
            prio_tc: [0; 8],
            tc_ets: 0xff,
        }
    }
}

/// A ring's bookkeeping; `slots[i]` holds the buffer of the descriptor in slot `i`.
#[derive(Default)]
struct Ring {
    pi: u32,
    ci: u32,
    size: u32,
    slots: KVec<Option<Mapped>>,
}

impl Ring {
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
    fn restart(&mut self, at: u32, size: u32, slots: KVec<Option<Mapped>>) {
        self.pi = at;
        self.ci = at;
        self.size = size;
        self.slots = slots;
    }

    /// Takes every buffer still posted.
    fn drain(&mut self) -> KVec<Option<Mapped>> {
        self.size = 0;
        self.pi = self.ci;
        core::mem::take(&mut self.slots)
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

/// A port: the private data of its netdev.
#[pin_data]
pub(crate) struct Port {
    pub(crate) nic: NicDevice,
    pub(crate) index: u8,
    #[pin]
    napi: Napi,
    tx_descs: CoherentAllocation<TxDesc>,
    rx_descs: CoherentAllocation<RxDesc>,
    #[pin]
    tx: SpinLock<Ring>,
    #[pin]
    rx: SpinLock<Ring>,
    /// Whether the rings are live (between `up` and `down`).
    live: AtomicBool,
    #[pin]
    pub(crate) config: Mutex<Config>,
    pub(crate) counters: DriverCounters,
}

impl Port {
    /// The descriptor rings of a port, at their largest; allocate them before registering
    /// the netdev, which takes RTNL: the binding guard must not be held then.
    pub(crate) fn alloc_rings(
        bound: &BindingGuard<'_>,
    ) -> Result<(CoherentAllocation<TxDesc>, CoherentAllocation<RxDesc>)> {
        Ok((
            CoherentAllocation::alloc_coherent(bound, RING_MAX as usize, GFP_KERNEL)?,
            CoherentAllocation::alloc_coherent(bound, RING_MAX as usize, GFP_KERNEL)?,
        ))
    }

    pub(crate) fn new(
        nic: NicDevice,
        index: u8,
        (tx_descs, rx_descs): (CoherentAllocation<TxDesc>, CoherentAllocation<RxDesc>),
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            nic,
            index,
            napi <- Napi::new(),
            tx_descs,
            rx_descs,
            tx <- new_spinlock!(Ring::default()),
            rx <- new_spinlock!(Ring::default()),
            live: AtomicBool::new(false),
            config <- new_mutex!(Config::default()),
            counters: DriverCounters::default(),
        })
    }

    /// The NAPI context, for [`kernel::net::dev::Builder::add_napi`].
    pub(crate) fn napi(&self) -> &Napi {
        &self.napi
    }

    pub(crate) fn read(&self, reg: usize) -> Result<u32> {
        self.nic.read(self.index, reg)
    }

    pub(crate) fn write(&self, reg: usize, value: u32) -> Result {
        self.nic.write(self.index, reg, value)
    }

    /// Device counter `i` (see [`counter`]).
    pub(crate) fn counter(&self, i: usize) -> u64 {
        self.nic.read64(self.index, regs::COUNTERS + 8 * i).unwrap_or(0)
    }

    /// Rings the port's doorbell.
    pub(crate) fn kick(&self) -> Result {
        self.nic.kick(self.index)
    }

    /// Writes `cfg` to the device (all but the ring sizes, used at `up`) and rings.
    pub(crate) fn apply(&self, cfg: &Config) -> Result {
        let enable = if self.live.load(Ordering::Acquire) { regs::CTL_ENABLE } else { 0 };
        let loopback = if cfg.loopback { regs::CTL_LOOPBACK } else { 0 };
        let link = if cfg.autoneg { regs::LINK_AUTONEG } else { 0 }
            | (cfg.forced as u32) << 8
            | u32::from(cfg.advertised) << 16;
        self.write(regs::LINK_CFG, link)?;
        self.write(regs::RX_COAL_USECS, cfg.coalesce_usecs)?;
        self.write(regs::RX_COAL_FRAMES, cfg.coalesce_frames)?;
        self.write(regs::PFC_EN, u32::from(cfg.pfc))?;
        self.write(regs::TC_BW, u32::from_le_bytes([cfg.tc_bw[0], cfg.tc_bw[1], cfg.tc_bw[2], cfg.tc_bw[3]]))?;
        self.write(regs::TC_BW + 4, u32::from_le_bytes([cfg.tc_bw[4], cfg.tc_bw[5], cfg.tc_bw[6], cfg.tc_bw[7]]))?;
        let prio_tc = cfg.prio_tc.iter().enumerate().fold(0, |m, (p, &tc)| m | u32::from(tc & 7) << (4 * p));
        self.write(regs::PRIO_TC, prio_tc)?;
        self.write(regs::TC_TSA, u32::from(cfg.tc_ets))?;
        self.write(regs::CTL, enable | loopback)?;
        self.kick()
    }

    /// Changes the configuration with `change` and applies it; if `restart` and the interface
    /// is up, the rings are rebuilt around the change. Called under RTNL.
    pub(crate) fn reconfigure(
        dev: &Device<Port>,
        restart: bool,
        change: impl FnOnce(&mut Config) -> Result,
    ) -> Result {
        let port = dev.data();
        let restart = restart && port.live.load(Ordering::Acquire);
        if restart {
            Self::down(dev);
        }
        let res = {
            let mut cfg = port.config.lock();
            change(&mut cfg).and_then(|()| port.apply(&cfg))
        };
        if restart {
            Self::up(dev)?;
        }
        res
    }

    /// Posts fresh RX buffers until the ring is full; returns whether it posted any.
    fn refill(&self, dev: &Device<Port>, rx: &mut Ring) -> bool {
        let len = max_frame(dev);
        let mut posted = false;
        while rx.free() > 0 {
            let Some(skb) = SkBuff::alloc_rx(dev, len) else {
                self.counters.rx_dropped.fetch_add(1, Ordering::Relaxed);
                break;
            };
            let mapped = match skb.map_from_device(self.nic.dma_device(), len) {
                Ok(m) => m,
                Err(skb) => {
                    skb.drop_reason(DropReason::NoMem);
                    break;
                }
            };
            let slot = rx.slot(rx.pi);
            let desc = RxDesc {
                addr: mapped.dma_address().to_le(),
                buf_len: (len as u16).to_le(),
                ..Default::default()
            };
            if dma_write!(self.rx_descs[slot] = desc).is_err() {
                break;
            }
            rx.slots[slot] = Some(mapped);
            rx.pi = rx.pi.wrapping_add(1);
            posted = true;
        }
        posted
    }

    /// Allocates `size` empty slots.
    fn slots(size: u32) -> Result<KVec<Option<Mapped>>> {
        let mut v = KVec::with_capacity(size as usize, GFP_KERNEL)?;
        for _ in 0..size {
            v.push(None, GFP_KERNEL)?;
        }
        Ok(v)
    }

    /// Brings the rings and the port up. Called under RTNL with the port down.
    pub(crate) fn up(dev: &Device<Port>) -> Result {
        let port = dev.data();
        let cfg = port.config.lock();
        let (tx_slots, rx_slots) = (Self::slots(cfg.tx_ring)?, Self::slots(cfg.rx_ring)?);
        port.napi.enable();
        port.live.store(true, Ordering::Release);
        let res = port.start_rings(dev, &cfg, tx_slots, rx_slots).and_then(|()| port.apply(&cfg));
        drop(cfg);
        if let Err(e) = res {
            Self::down(dev);
            return Err(e);
        }
        dev.tx_reset();
        dev.wake_queue();
        // Picks up the link state and anything that happened before the interrupt was ready.
        port.napi.schedule();
        Ok(())
    }

    /// Points the device at empty rings, the RX ring filled with buffers.
    fn start_rings(
        &self,
        dev: &Device<Port>,
        cfg: &Config,
        tx_slots: KVec<Option<Mapped>>,
        rx_slots: KVec<Option<Mapped>>,
    ) -> Result {
        let frame = max_frame(dev);
        // The device keeps its indices across a stop: continue from them.
        let (tx_at, rx_at) = (self.read(regs::TX_CI)?, self.read(regs::RX_CI)?);
        let rx_pi = with_bh_disabled(|| {
            self.tx.lock().restart(tx_at, cfg.tx_ring, tx_slots);
            let mut rx = self.rx.lock();
            rx.restart(rx_at, cfg.rx_ring, rx_slots);
            self.refill(dev, &mut rx);
            rx.pi
        });
        let (tx_base, rx_base) = (self.tx_descs.dma_handle(), self.rx_descs.dma_handle());
        self.write(regs::MAX_FRAME, frame)?;
        self.write(regs::TX_BASE_LO, tx_base as u32)?;
        self.write(regs::TX_BASE_HI, (tx_base >> 32) as u32)?;
        self.write(regs::TX_SIZE, cfg.tx_ring)?;
        self.write(regs::TX_PI, tx_at)?;
        self.write(regs::RX_BASE_LO, rx_base as u32)?;
        self.write(regs::RX_BASE_HI, (rx_base >> 32) as u32)?;
        self.write(regs::RX_SIZE, cfg.rx_ring)?;
        self.write(regs::RX_PI, rx_pi)?;
        self.write(regs::IRQ_MASK, 0)
    }

    /// Stops the port and frees what its rings held. Called under RTNL with the port up.
    pub(crate) fn down(dev: &Device<Port>) {
        let port = dev.data();
        dev.tx_disable();
        port.napi.disable();
        port.live.store(false, Ordering::Release);
        let _ = port.write(regs::IRQ_MASK, regs::IRQ_ALL);
        if let Err(e) = port.nic.stop_port(port.index) {
            dev_err!(dev.as_dev(), "port {}: stop failed: {}\n", port.index, e.to_errno());
        }
        // The device no longer touches the buffers.
        let tx = with_bh_disabled(|| port.tx.lock().drain());
        let rx = with_bh_disabled(|| port.rx.lock().drain());
        for m in tx.into_iter().flatten() {
            m.unmap().drop_reason(DropReason::DevReady);
        }
        for m in rx.into_iter().flatten() {
            m.unmap().consume();
        }
        dev.tx_reset();
        dev.carrier_off();
    }

    /// Reclaims transmitted frames and wakes the queue if it was stopped for room.
    fn reclaim(&self, dev: &Device<Port>) {
        let Ok(ci) = self.read(regs::TX_CI) else { return };
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
        if dev.queue_stopped() && tx.free() >= TX_WAKE.min(tx.size / 2) {
            dev.wake_queue();
        }
    }

    /// Passes up to `budget` received frames to the stack and refills the ring.
    fn receive(&self, dev: &Device<Port>, napi: &Napi, budget: i32) -> i32 {
        let Ok(ci) = self.read(regs::RX_CI) else { return 0 };
        let room = max_frame(dev);
        let mut done = 0;
        while done < budget {
            // Not held while the stack takes a frame: what it sends in reply takes the TX lock.
            let next = {
                let mut rx = self.rx.lock();
                if rx.size == 0 || rx.ci == ci {
                    break;
                }
                if !rx.valid_ci(ci) {
                    self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                let slot = rx.slot(rx.ci);
                rx.ci = rx.ci.wrapping_add(1);
                rx.slots[slot].take().map(|m| (m, slot))
            };
            done += 1;
            let Some((m, slot)) = next else { continue };
            let desc = dma_read!(self.rx_descs[slot]).unwrap_or_default();
            let (len, status) = (u32::from(u16::from_le(desc.len)), u16::from_le(desc.status));
            let mut skb = m.unmap();
            if status & regs::RX_DONE == 0 || !(FRAME_MIN..=room).contains(&len) || skb.put(len).is_err() {
                self.counters.device_errors.fetch_add(1, Ordering::Relaxed);
                skb.drop_reason(DropReason::DevHdr);
                continue;
            }
            skb.eth_type_trans(dev);
            dev.count_rx(len);
            napi.gro_receive(skb);
        }
        let mut rx = self.rx.lock();
        if self.refill(dev, &mut rx) {
            let pi = rx.pi;
            drop(rx);
            let _ = self.write(regs::RX_PI, pi);
            let _ = self.kick();
        }
        done
    }

    /// Whether the device made progress the driver has not seen.
    fn pending(&self) -> bool {
        let tx = self.read(regs::TX_CI).is_ok_and(|ci| ci != self.tx.lock().ci);
        tx || self.read(regs::RX_CI).is_ok_and(|ci| ci != self.rx.lock().ci)
    }

    /// Makes the carrier follow the link.
    fn update_link(&self, dev: &Device<Port>) {
        let up = self.read(regs::LINK_STATUS).is_ok_and(|s| s & regs::LINK_UP != 0);
        if up != dev.carrier_ok() {
            if up {
                dev.carrier_on();
            } else {
                dev.carrier_off();
            }
        }
    }

    /// Sends one frame through the MAC loopback and checks that it comes back intact: the
    /// offline self-test. Called under RTNL; the interface stops for the duration.
    pub(crate) fn loopback_test(dev: &Device<Port>) -> Result<bool> {
        let port = dev.data();
        let live = port.live.load(Ordering::Acquire);
        if live {
            Self::down(dev);
        }
        let res = port.run_loopback_test(dev);
        if let Err(e) = port.nic.stop_port(port.index) {
            dev_err!(dev.as_dev(), "port {}: stop failed: {}\n", port.index, e.to_errno());
        }
        if live {
            Self::up(dev)?;
        } else {
            port.apply(&port.config.lock())?;
        }
        res
    }

    fn run_loopback_test(&self, dev: &Device<Port>) -> Result<bool> {
        let mac = self.nic.mac(self.index);
        const LEN: usize = 128;
        // A local experimental EtherType (IEEE 802), so nothing would take the frame for its
        // own if it leaked.
        const ETHERTYPE: [u8; 2] = [0x88, 0xb5];
        let bound = self.nic.bound()?;
        let frame = CoherentAllocation::<u8>::alloc_coherent(&bound, LEN, GFP_KERNEL)?;
        let echo = CoherentAllocation::<u8>::alloc_coherent(&bound, LEN, GFP_KERNEL)?;
        drop(bound);
        let pattern = |i: usize| match i {
            0..=5 | 6..=11 => mac[i % 6],
            12 | 13 => ETHERTYPE[i - 12],
            _ => (i as u8).wrapping_mul(29) ^ self.index,
        };
        for i in 0..LEN {
            dma_write!(frame[i] = pattern(i))?;
        }
        // Two-entry rings with one descriptor each, from where the device's indices are.
        const SIZE: u32 = 2;
        let (tx_at, rx_at) = (self.read(regs::TX_CI)?, self.read(regs::RX_CI)?);
        let slot = |at: u32| (at & (SIZE - 1)) as usize;
        dma_write!(
            self.rx_descs[slot(rx_at)] =
                RxDesc { addr: echo.dma_handle().to_le(), buf_len: (LEN as u16).to_le(), ..Default::default() }
        )?;
        dma_write!(
            self.tx_descs[slot(tx_at)] =
                TxDesc { addr: frame.dma_handle().to_le(), len: (LEN as u16).to_le(), ..Default::default() }
        )?;
        let (tx_base, rx_base) = (self.tx_descs.dma_handle(), self.rx_descs.dma_handle());
        self.write(regs::IRQ_MASK, regs::IRQ_ALL)?;
        self.write(regs::MAX_FRAME, LEN as u32)?;
        self.write(regs::TX_BASE_LO, tx_base as u32)?;
        self.write(regs::TX_BASE_HI, (tx_base >> 32) as u32)?;
        self.write(regs::TX_SIZE, SIZE)?;
        self.write(regs::RX_BASE_LO, rx_base as u32)?;
        self.write(regs::RX_BASE_HI, (rx_base >> 32) as u32)?;
        self.write(regs::RX_SIZE, SIZE)?;
        self.write(regs::RX_PI, rx_at.wrapping_add(1))?;
        self.write(regs::CTL, regs::CTL_ENABLE | regs::CTL_LOOPBACK)?;
        self.kick()?;
        // The frame goes out once the looped-back link is up.
        let poll = |reg, done: &dyn Fn(u32) -> bool| {
            read_poll_timeout(|| self.read(reg), |&v| done(v), Duration::from_micros(200), Duration::from_secs(1))
        };
        let outcome = poll(regs::LINK_STATUS, &|s| s & regs::LINK_UP != 0)
            .map_err(|e| (e, "the looped-back link did not come up"))
            .and_then(|_| {
                self.write(regs::TX_PI, tx_at.wrapping_add(1)).map_err(|e| (e, ""))?;
                self.kick().map_err(|e| (e, ""))?;
                poll(regs::RX_CI, &|ci| ci != rx_at).map_err(|e| (e, "the frame did not come back"))
            });
        if let Err((e, why)) = outcome {
            if e != ETIMEDOUT {
                return Err(e);
            }
            dev_info!(dev.as_dev(), "loopback self-test: {}\n", why);
            return Ok(false);
        }
        let desc = dma_read!(self.rx_descs[slot(rx_at)]).map_err(|_| EIO)?;
        let intact = u16::from_le(desc.status) & regs::RX_DONE != 0
            && usize::from(u16::from_le(desc.len)) == LEN
            && (0..LEN).all(|i| dma_read!(echo[i]).ok() == Some(pattern(i)));
        if !intact {
            dev_info!(dev.as_dev(), "loopback self-test: the frame came back changed\n");
        }
        Ok(intact)
    }

    /// The link speed while up.
    pub(crate) fn link_speed(&self) -> Option<Speed> {
        let status = self.read(regs::LINK_STATUS).ok()?;
        if status & regs::LINK_UP == 0 {
            return None;
        }
        Speed::from_code((status >> 8) & 0xf)
    }
}

#[vtable]
impl Operations for Port {
    fn open(dev: &Device<Self>) -> Result {
        Self::up(dev)
    }

    fn stop(dev: &Device<Self>) -> Result {
        Self::down(dev);
        Ok(())
    }

    fn start_xmit(dev: &Device<Self>, skb: SkBuff) {
        let port = dev.data();
        let len = skb.len();
        if !(FRAME_MIN..=max_frame(dev)).contains(&len) {
            port.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
            skb.drop_reason(DropReason::PktTooBig);
            return;
        }
        let prio = (skb.priority() & 7) as u8;
        let mapped = match skb.map_to_device(port.nic.dma_device()) {
            Ok(m) => m,
            Err(skb) => {
                port.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
                skb.drop_reason(DropReason::NoMem);
                return;
            }
        };
        let mut tx = port.tx.lock();
        if tx.size == 0 || tx.free() == 0 {
            drop(tx);
            dev.stop_queue();
            port.counters.tx_dropped.fetch_add(1, Ordering::Relaxed);
            mapped.unmap().drop_reason(DropReason::FullRing);
            return;
        }
        let slot = tx.slot(tx.pi);
        let desc = TxDesc { addr: mapped.dma_address().to_le(), len: (len as u16).to_le(), prio, ..Default::default() };
        if dma_write!(port.tx_descs[slot] = desc).is_err() {
            drop(tx);
            mapped.unmap().drop_reason(DropReason::NotSpecified);
            return;
        }
        tx.slots[slot] = Some(mapped);
        tx.pi = tx.pi.wrapping_add(1);
        dev.tx_sent(len);
        if tx.free() == 0 {
            dev.stop_queue();
        }
        if !dev.xmit_more() || dev.queue_stopped() {
            let _ = port.write(regs::TX_PI, tx.pi);
            let _ = port.kick();
        }
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        let port = dev.data();
        stats.add_sw_counters(dev);
        let c = |i| port.counter(i);
        let driver = &port.counters;
        stats.tx_dropped = c(counter::TX_DROPPED) + driver.tx_dropped.load(Ordering::Relaxed);
        stats.tx_errors = c(counter::TX_ERRORS);
        stats.rx_missed_errors = c(counter::RX_NO_BUFFER);
        stats.rx_length_errors = c(counter::RX_OVERSIZE);
        stats.rx_crc_errors = c(counter::RX_FCS_ERRORS);
        stats.rx_errors = stats.rx_length_errors + stats.rx_crc_errors;
        stats.rx_dropped = driver.rx_dropped.load(Ordering::Relaxed);
    }

    fn tx_timeout(dev: &Device<Self>, _queue: u32) {
        dev_warn!(dev.as_dev(), "port {}: transmit timed out, resetting\n", dev.data().index);
        let reset = Arc::pin_init(
            pin_init!(Reset { dev: dev.into(), work <- new_work!("Reset::work") }),
            GFP_ATOMIC,
        );
        match reset {
            Ok(reset) => {
                let _ = workqueue::system().enqueue(reset);
            }
            Err(_) => dev_err!(dev.as_dev(), "no memory to reset the port\n"),
        }
    }

    fn change_mtu(dev: &Device<Self>, mtu: u32) -> Result {
        // The RX buffers are sized for the MTU: new rings around the change.
        Self::reconfigure(dev, true, |_| {
            dev.set_mtu(mtu);
            Ok(())
        })
    }

    fn get_phys_port_name(dev: &Device<Self>, name: &mut NameWriter<'_>) -> Result {
        name.write_fmt(fmt!("p{}", dev.data().index)).map_err(|_| EOPNOTSUPP)
    }
}

impl NapiPoll for Port {
    fn poll(dev: &Device<Self>, napi: &Napi, budget: i32) -> i32 {
        let port = dev.data();
        port.reclaim(dev);
        let done = port.receive(dev, napi, budget);
        port.update_link(dev);
        if done < budget && napi.complete_done(done) {
            // Progress made while masked raises nothing: unmask, then look once more.
            if port.write(regs::IRQ_MASK, 0).is_ok() {
                let _ = port.kick();
            }
            if port.pending() {
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
        let port = self.dev.data();
        let _ = port.write(regs::IRQ_MASK, regs::IRQ_ALL);
        port.napi.schedule();
        IrqReturn::Handled
    }
}

/// Rebuilds a port whose transmit queue stalled, in process context.
#[pin_data]
struct Reset {
    dev: ARef<Device<Port>>,
    #[pin]
    work: Work<Reset>,
}

impl_has_work! {
    impl HasWork<Self> for Reset { self.work }
}

impl WorkItem for Reset {
    type Pointer = Arc<Reset>;

    fn run(this: Arc<Reset>) {
        let _rtnl = Rtnl::lock();
        let dev = &*this.dev;
        if dev.data().live.load(Ordering::Acquire) {
            Port::down(dev);
            if let Err(e) = Port::up(dev) {
                dev_err!(dev.as_dev(), "port {}: restart failed: {}\n", dev.data().index, e.to_errno());
            }
        }
    }
}
