// SPDX-License-Identifier: GPL-2.0

//! One port as a netdev: its state, up and down, reconfiguration and the reset after a
//! transmit timeout.
//!
//! Everything here runs under RTNL: `up`, `down` and `reconfigure` are never concurrent.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{
    c_str,
    net::{
        dev::{AddrLists, Device, Features, Napi, Operations, Rtnl, Stats64},
        qstats::{QueueStats, RxStats, TxStats},
        skb::SkBuff,
    },
    new_mutex,
    prelude::*,
    static_lock_class,
    sync::Mutex,
    types::ARef,
    workqueue::{self, DelayedWork, DelayedWorkItem},
};

use super::{
    config::Config,
    regs::{
        counter, LinkInfo, PortIo, Speed, CTL, LINK_INFO, LINK_STATUS, NUM_RXQ, RX_ADDRS,
        RX_ADDRS_ENTRIES, RX_FILTER,
    },
    txrx::{Descriptors, QueueCounters, Rings},
};
use crate::nic::NicDevice;

/// The offloads a port has (`ethtool -k`), all on at first but the loopback.
pub(crate) const OFFLOADS: Features = Features::SG
    .union(Features::HW_CSUM)
    .union(Features::TSO)
    .union(Features::TSO6)
    .union(Features::RXCSUM);

/// How long the TX queue may stall before `tx_timeout`, in milliseconds.
pub(crate) const WATCHDOG_MS: u32 = 5000;

/// No implausible [`LINK_INFO`] seen yet (a value no 32-bit register holds).
const NO_BAD_LINK_INFO: u64 = u64::MAX;

/// A port: the private data of its netdev.
#[pin_data]
pub(crate) struct Port {
    pub(crate) io: PortIo,
    /// The data path.
    #[pin]
    pub(crate) rings: Rings,
    /// Whether the rings are live (between `up` and `down`).
    live: AtomicBool,
    /// A stop failed: the rings keep their buffers until the hard reset drains them, and the
    /// port cannot come up before.
    stuck: AtomicBool,
    /// The settings. Taken under RTNL, and before the rings' locks when both are held.
    #[pin]
    pub(crate) config: Mutex<Config>,
    /// Rebuilds the port after a transmit timeout.
    #[pin]
    reset: DelayedWork<TxReset>,
    /// The last implausible [`LINK_INFO`] read, or [`NO_BAD_LINK_INFO`]: logged once per new
    /// value.
    bad_link_info: AtomicU64,
}

impl Port {
    pub(crate) fn new(nic: NicDevice, index: u8, descs: Descriptors) -> impl PinInit<Self, Error> {
        let io = PortIo::new(nic, index);
        try_pin_init!(Self {
            rings <- Rings::new(io.clone(), descs),
            io,
            live: AtomicBool::new(false),
            stuck: AtomicBool::new(false),
            config <- new_mutex!(Config::default()),
            reset <- DelayedWork::new(
                pin_init!(TxReset { dev <- new_mutex!(None) }),
                c_str!("habanalabs-eth-tx-reset"),
                static_lock_class!()
            ),
            bad_link_info: AtomicU64::new(NO_BAD_LINK_INFO),
        })
    }

    /// Lets a transmit timeout rebuild the port `dev`, once registered: the port holds a
    /// reference on its netdev until [`Port::disarm`].
    pub(crate) fn arm(dev: &ARef<Device<Port>>) {
        let old = dev.data().reset.data().dev.lock().replace(dev.clone());
        drop(old);
    }

    /// Before the netdev is unregistered: no rebuild is pending or running after this, so
    /// none outlives the driver's code, and the port no longer holds its netdev. Sleeps; not
    /// under RTNL, which the rebuild takes.
    pub(crate) fn disarm(&self) {
        let old = self.reset.data().dev.lock().take();
        self.reset.disable_sync();
        drop(old);
    }

    /// The NAPI context of RX queue `r`, for [`kernel::net::dev::Builder::add_napi`].
    pub(crate) fn napi(&self, r: usize) -> &Napi {
        &self.rings.napis()[r]
    }

    pub(crate) fn index(&self) -> u8 {
        self.io.index()
    }

    pub(crate) fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Writes `cfg` to the device (all but the ring sizes, used at `up`) and rings.
    pub(crate) fn apply(&self, cfg: &Config) -> Result {
        self.rings.set_adaptive(cfg.coalesce.adaptive_rx);
        cfg.write(&self.io)?;
        if cfg.coalesce.adaptive_rx {
            self.rings.write_adaptive()?;
        }
        let ctl = CTL::default()
            .set_enable(self.live())
            .set_loopback(cfg.link.loopback);
        self.io.write(ctl)?;
        self.io.kick()
    }

    /// Changes the configuration with `change` and applies it; if `restart` and the interface
    /// is up, the rings are rebuilt around the change. Called under RTNL.
    pub(crate) fn reconfigure(
        dev: &Device<Port>,
        restart: bool,
        change: impl FnOnce(&mut Config) -> Result,
    ) -> Result {
        let port = dev.data();
        let restart = restart && port.live();
        if restart {
            Self::down(dev);
        }
        let res = {
            let mut cfg = port.config.lock();
            change(&mut cfg).and_then(|()| port.apply(&cfg))
        };
        if restart {
            Self::up(dev).inspect_err(|e| {
                dev_err!(
                    dev.as_dev(),
                    "port {}: restart failed: {}; down and up again to retry\n",
                    port.index(),
                    e.to_errno()
                )
            })?;
        }
        res
    }

    /// Brings the rings and the port up. Called under RTNL with the port down.
    pub(crate) fn up(dev: &Device<Port>) -> Result {
        let port = dev.data();
        if port.stuck.load(Ordering::Acquire) {
            return Err(EBUSY);
        }
        let cfg = port.config.lock();
        // The rings start empty, and so do the byte queue limits. Nothing is sent before the
        // queues wake at the end: `down` or `halt` stopped them, and at open the qdiscs are not
        // attached yet.
        dev.tx_reset_all();
        port.live.store(true, Ordering::Release);
        // The rings fill from their page pools while the NAPI contexts, the pools' consumers,
        // are disabled; they are enabled before the interrupts are.
        let res = port
            .rings
            .start(dev, &cfg.rings)
            .and_then(|()| {
                port.rings.napis().iter().for_each(Napi::enable);
                port.rings.mask_all(false)
            })
            .and_then(|()| port.apply(&cfg));
        drop(cfg);
        // The address filter, under the lock that `set_rx_mode` holds: after a reset the
        // device has forgotten it.
        let res = res.and_then(|()| port.write_rx_filter(&dev.lock_addrs()));
        if let Err(e) = res {
            Self::down(dev);
            return Err(e);
        }
        // Every queue was stopped by `down` (or `halt`), and nothing woke it since: the wake-up
        // reschedules each queue's qdisc, which the limits' reset above did not.
        dev.wake_all_queues();
        // Picks up the link state and anything that happened before the interrupts were ready.
        port.rings.napis().iter().for_each(Napi::schedule);
        Ok(())
    }

    /// Stops the port and frees what its rings held. Called under RTNL. Does nothing if the
    /// rings are not live: a restart whose `up` failed already took them down, and disabling
    /// NAPI a second time would spin forever under RTNL.
    pub(crate) fn down(dev: &Device<Port>) {
        let port = dev.data();
        if !port.live() {
            return;
        }
        // Carrier first: the transmit watchdog ignores a port without one, and would otherwise
        // find the queues stopped here, some idle for long, while `PORT_STOP` runs.
        dev.carrier_off();
        // NAPI before the queues: its reclaim wakes a stopped queue with room, and would wake
        // those stopped here, letting the stack send into the rings being taken down (the
        // byte queue limits would then count frames across their reset, and the reset would
        // clear a limit's stop without rescheduling the qdisc: a silent queue).
        port.rings.napis().iter().for_each(Napi::disable);
        dev.tx_disable();
        port.rings.cancel_adaptive();
        port.live.store(false, Ordering::Release);
        let _ = port.rings.mask_all(true);
        // What the rings hold goes once the device stopped using it: now, or after the hard
        // reset a failed stop asks for ([`Port::resume`]).
        if port.stop(dev).is_ok() {
            port.rings.drain();
        }
        dev.tx_reset_all();
    }

    /// Has the device stop the port and wait until it no longer touches host memory. If it
    /// does not, the port may still write its buffers: it is detached (it cannot come up) and
    /// a hard reset is asked for, which drains it after. A device that is gone writes nothing.
    pub(crate) fn stop(&self, dev: &Device<Port>) -> Result {
        match self.io.stop() {
            Ok(()) => Ok(()),
            Err(e) if e == ENODEV => Ok(()),
            Err(e) => {
                dev_err!(
                    dev.as_dev(),
                    "port {}: stop failed: {}\n",
                    self.index(),
                    e.to_errno()
                );
                self.stuck.store(true, Ordering::Release);
                dev.device_detach();
                self.io.nic().escalate();
                Err(e)
            }
        }
    }

    /// For a hard reset: stops the port's data path without asking the device (whose reset
    /// stops it) and keeps its buffers; the netdev stays registered, detached (it cannot be
    /// brought up meanwhile). Returns whether it was live. Called under RTNL.
    pub(crate) fn halt(dev: &Device<Port>) -> bool {
        let port = dev.data();
        let live = port.live();
        // NAPI before the queues stop, as in `down`: no reclaim wakes them after.
        if live {
            port.rings.napis().iter().for_each(Napi::disable);
        }
        dev.device_detach();
        if live {
            dev.tx_disable();
            port.live.store(false, Ordering::Release);
            let _ = port.rings.mask_all(true);
        }
        dev.carrier_off();
        live
    }

    /// After a hard reset (or a failed stop's): the device no longer uses the buffers, which
    /// go; the port comes up again if `restart`, and is attached. Called under RTNL.
    pub(crate) fn resume(dev: &Device<Port>, restart: bool) {
        let port = dev.data();
        if !port.live() {
            port.rings.drain();
            dev.tx_reset_all();
            port.stuck.store(false, Ordering::Release);
        }
        if restart && !port.live() {
            if let Err(e) = Self::up(dev) {
                dev_err!(
                    dev.as_dev(),
                    "port {}: restart after reset failed: {}\n",
                    port.index(),
                    e.to_errno()
                );
            }
        }
        dev.device_attach();
    }

    /// Programs the address filter from `addrs`: the netdev's own address (which the device's
    /// `MAC` need not be), then the unicast and the multicast ones. Unicast addresses that do
    /// not fit make the port promiscuous, multicast ones all-multicast. Does not sleep.
    pub(crate) fn write_rx_filter(&self, addrs: &AddrLists<'_>) -> Result {
        let own = addrs.own();
        let (mut promisc, mut allmulti) = (addrs.promiscuous(), addrs.all_multicast());
        let mut used = 0;
        let mut add = |mac: &[u8; 6]| -> Result<bool> {
            if used == RX_ADDRS_ENTRIES {
                return Ok(false);
            }
            let mut entry = [0u8; 8];
            entry[..6].copy_from_slice(mac);
            self.io.write_bytes(RX_ADDRS + 8 * used, &entry)?;
            used += 1;
            Ok(true)
        };
        add(&own)?;
        if !promisc {
            for mac in addrs.unicast() {
                if !add(mac)? {
                    promisc = true;
                    break;
                }
            }
        }
        if !promisc && !allmulti {
            for mac in addrs.multicast() {
                if !add(mac)? {
                    allmulti = true;
                    break;
                }
            }
        }
        self.io.write(
            RX_FILTER::default()
                .set_promisc(promisc)
                .set_allmulti(allmulti)
                .set_count(used as u8),
        )
    }

    /// Whether the link is not what the carrier says.
    pub(crate) fn link_changed(&self, dev: &Device<Port>) -> bool {
        self.io.read::<LINK_STATUS>().is_ok_and(|s| s.up()) != dev.carrier_ok()
    }

    /// Makes the carrier follow the link.
    pub(crate) fn update_link(&self, dev: &Device<Port>) {
        if !self.link_changed(dev) {
            return;
        }
        if dev.carrier_ok() {
            dev.carrier_off();
        } else {
            dev.carrier_on();
        }
    }

    /// The device's [`LINK_INFO`], `None` if the device is gone or wrote a value it may not.
    /// Such a value is counted in `device_errors` and logged when it differs from the last
    /// one, so that a device stuck on it does not flood the log at each `ethtool` call.
    pub(crate) fn link_info(&self, dev: &Device<Port>) -> Option<LinkInfo> {
        let reg = self.io.read::<LINK_INFO>().ok()?;
        let info = LinkInfo::from_reg(reg);
        if info.is_none() {
            let raw = u32::from(reg);
            self.rings
                .counters
                .device_errors
                .fetch_add(1, Ordering::Relaxed);
            if self.bad_link_info.swap(raw.into(), Ordering::Relaxed) != u64::from(raw) {
                dev_warn!(
                    dev.as_dev(),
                    "port {}: implausible LINK_INFO {:#x} ignored\n",
                    self.index(),
                    raw
                );
            }
        }
        info
    }

    /// The link speed while up.
    pub(crate) fn link_speed(&self) -> Option<Speed> {
        let status = self.io.read::<LINK_STATUS>().ok()?;
        if !status.up() {
            return None;
        }
        status.speed().ok()
    }
}

#[vtable]
impl Operations for Port {
    fn open(dev: &Device<Self>) -> Result {
        Self::up(dev).inspect_err(|e| {
            dev_err!(
                dev.as_dev(),
                "port {}: cannot come up: {}\n",
                dev.data().index(),
                e.to_errno()
            )
        })
    }

    fn stop(dev: &Device<Self>) -> Result {
        Self::down(dev);
        Ok(())
    }

    fn start_xmit(dev: &Device<Self>, skb: SkBuff) {
        dev.data().rings.xmit(dev, skb)
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        let port = dev.data();
        let rings = &port.rings;
        for q in &rings.txq {
            stats.tx_packets += QueueCounters::get(&q.packets);
            stats.tx_bytes += QueueCounters::get(&q.bytes);
        }
        for q in &rings.rxq {
            stats.rx_packets += QueueCounters::get(&q.packets);
            stats.rx_bytes += QueueCounters::get(&q.bytes);
        }
        let c = |i| port.io.counter(i);
        let driver = &port.rings.counters;
        stats.tx_dropped = c(counter::TX_DROPPED) + driver.tx_dropped.load(Ordering::Relaxed);
        stats.tx_errors = c(counter::TX_ERRORS);
        stats.rx_missed_errors = c(counter::RX_NO_BUFFER);
        stats.rx_length_errors = c(counter::RX_OVERSIZE);
        stats.rx_crc_errors = c(counter::RX_FCS_ERRORS);
        stats.rx_errors = stats.rx_length_errors + stats.rx_crc_errors;
        stats.rx_dropped = driver.rx_dropped.load(Ordering::Relaxed);
    }

    fn tx_timeout(dev: &Device<Self>, _queue: u32) {
        let port = dev.data();
        dev_warn!(
            dev.as_dev(),
            "port {}: transmit timed out, resetting\n",
            port.index()
        );
        port.io.nic().health().tx_timed_out(port.index());
        port.reset.schedule(workqueue::system(), 0);
    }

    fn set_rx_mode(dev: &Device<Self>, addrs: &AddrLists<'_>) {
        // Register writes only: done here, in atomic context. A device that is gone keeps
        // nothing anyway; `up` writes the filter again.
        let _ = dev.data().write_rx_filter(addrs);
    }

    fn set_features(dev: &Device<Self>, features: Features) -> Result {
        // The offloads need nothing from the device: it does what each descriptor asks. The
        // loopback is the one the `mac-loopback` private flag sets too.
        let loopback = features.contains(Features::LOOPBACK);
        if loopback == dev.features().contains(Features::LOOPBACK) {
            return Ok(());
        }
        Self::reconfigure(dev, false, |cfg| {
            cfg.link.loopback = loopback;
            Ok(())
        })
    }

    fn change_mtu(dev: &Device<Self>, mtu: u32) -> Result {
        // The RX buffers are sized for the MTU: new rings around the change.
        Self::reconfigure(dev, true, |_| {
            dev.set_mtu(mtu);
            Ok(())
        })
    }
}

/// Rebuilds a port whose transmit queue stalled, in process context: the port's own work,
/// queued at most once at a time (nothing to allocate in `tx_timeout`), and disabled before the
/// netdev is unregistered ([`Port::disarm`]).
#[pin_data]
struct TxReset {
    /// The port's netdev, from the end of probe until [`Port::disarm`].
    #[pin]
    dev: Mutex<Option<ARef<Device<Port>>>>,
}

impl DelayedWorkItem for TxReset {
    fn run(work: &DelayedWork<Self>) {
        let Some(dev) = work.data().dev.lock().clone() else {
            return;
        };
        let _rtnl = Rtnl::lock();
        if dev.data().live() {
            Port::down(&dev);
            if let Err(e) = Port::up(&dev) {
                dev_err!(
                    dev.as_dev(),
                    "port {}: restart failed: {}\n",
                    dev.data().index(),
                    e.to_errno()
                );
            }
        }
    }
}

impl QueueStats for Port {
    fn rx_queue(dev: &Device<Self>, index: u32, stats: &mut RxStats) {
        let Some(q) = dev.data().rings.rxq.get(index as usize) else {
            return;
        };
        stats.set_packets(QueueCounters::get(&q.packets));
        stats.set_bytes(QueueCounters::get(&q.bytes));
        stats.set_csum_unnecessary(QueueCounters::get(&q.csum_or_stop));
        stats.set_alloc_fail(QueueCounters::get(&q.alloc_fail_or_wake));
    }

    fn tx_queue(dev: &Device<Self>, index: u32, stats: &mut TxStats) {
        let Some(q) = dev.data().rings.txq.get(index as usize) else {
            return;
        };
        stats.set_packets(QueueCounters::get(&q.packets));
        stats.set_bytes(QueueCounters::get(&q.bytes));
        stats.set_stop(QueueCounters::get(&q.csum_or_stop));
        stats.set_wake(QueueCounters::get(&q.alloc_fail_or_wake));
    }

    /// What the RX queues no longer in use counted (every TX queue is always in use).
    fn base(dev: &Device<Self>, rx: &mut RxStats, tx: &mut TxStats) {
        let rings = &dev.data().rings;
        let in_use = (dev.real_num_rx_queues() as usize).min(NUM_RXQ);
        let sum = |f: fn(&QueueCounters) -> u64| -> u64 { rings.rxq[in_use..].iter().map(f).sum() };
        rx.set_packets(sum(|q| QueueCounters::get(&q.packets)));
        rx.set_bytes(sum(|q| QueueCounters::get(&q.bytes)));
        rx.set_csum_unnecessary(sum(|q| QueueCounters::get(&q.csum_or_stop)));
        rx.set_alloc_fail(sum(|q| QueueCounters::get(&q.alloc_fail_or_wake)));
        for set in [
            TxStats::set_packets,
            TxStats::set_bytes,
            TxStats::set_stop,
            TxStats::set_wake,
        ] {
            set(tx, 0);
        }
    }
}
