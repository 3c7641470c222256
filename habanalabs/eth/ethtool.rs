// SPDX-License-Identifier: GPL-2.0

//! ethtool operations of a port.
//!
//! Choices where the device leaves room:
//!
//! - Link modes: the module is a QSFP28 copper cable (100GBASE-CR4), whose lanes also carry
//!   50GBASE-CR2, 25GBASE-CR and 10GBASE-CR; the port is reported as direct attach. Forcing a
//!   speed without naming one (link down, speed unknown) keeps the last forced speed.
//! - Rings: sizes below [`RING_MIN`] are refused, others rounded up to a power of two (the
//!   device's rings are powers of two); the core refuses sizes above [`RING_MAX`].
//! - Pause: the device has only priority flow control. Link-level pause is reported on, both
//!   ways, when every priority has flow control (`PFC_EN` 0xff), and setting it on or off sets
//!   all eight or none. RX and TX cannot differ and pause is never autonegotiated (`EINVAL`).
//!   While DCB has flow control on some priorities only, `ethtool -A` refuses (`EBUSY`)
//!   rather than overwrite it.
//! - `ethtool -S` holds only counters no standard interface reports: the per-priority pause
//!   frames (their sums are the pause statistics), the bytes per traffic class, and the two
//!   parts of the interface's `tx_dropped`. The rest is in `ip -s link`, `ethtool -I -a`,
//!   `ethtool -I --show-fec` and `ethtool -S --groups eth-mac eth-ctrl eth-phy rmon`.
//! - Channels: `ethtool -L rx N` sets the RX queues in use (1 to 4, the port restarting if it
//!   is up); the TX queues are one per traffic class, always 8.
//! - RSS: Toeplitz only, over a 40-byte key and a 128-entry table; a table the user did not
//!   set is spread over the RX queues in use.
//! - Self-test: one offline test, the MAC loopback; an online-only run does not run it and
//!   reports 0 for it.
//! - FEC: the port runs RS(528,514) or none; auto takes the partner's mode (RS if the partner
//!   is in auto too). `ethtool --set-fec` takes one of auto, off and rs: BASE-R and LLRS are
//!   not modes of these lanes, and a request of several modes is refused too (`EINVAL`, as
//!   ice does), since the device does not choose among a set. At 10G the link runs no FEC.
//! - Link state: why the link is down, as the device reports it, mapped as [`ext_state`] says
//!   (ethernet.rst, Link state); an unknown reason reports nothing (and is counted).

use core::sync::atomic::Ordering;
use kernel::{
    c_str,
    net::{
        dev::Device,
        ethtool::{
            AutonegSubstate, Channels, Coalesce, CoalesceParams, Connector, DrvInfo, Duplex,
            EthCtrlStats, EthMacStats, EthPhyStats, ExtAck, FecModes, FecParam, FecStats,
            LinkExtState, LinkExtStats, LinkMode, LinkSettings, LinkTrainingSubstate, ModuleInfo,
            ModulePage, ModuleType, Operations, PauseParam, PauseStats, RingParam, RmonStats, Rxfh,
            SelfTest, MODULE_EEPROM_PAGE_LEN, SFF_8436_LEN, SFF_8436_MAX_LEN, SFF_8636_LEN,
            SFF_8636_MAX_LEN,
        },
    },
    prelude::*,
};

use super::{
    config::{Moderation, RING_MAX, RING_MIN},
    port::Port,
    regs::{
        counter, DownReason, FecMode, LinkInfo, Speed, COAL_FRAMES_MAX, COAL_USECS_MAX, NUM_RXQ,
        NUM_TXQ, RSS_KEY_SIZE, RSS_TABLE_SIZE,
    },
};

/// Refuses an `ethtool` request with `msg`.
fn invalid(extack: &mut ExtAck<'_>, msg: &'static CStr) -> Result {
    extack.set_message(msg);
    Err(EINVAL)
}

/// The link mode of each speed over the port's copper cable.
pub(crate) fn link_mode(speed: Speed) -> LinkMode {
    match speed {
        Speed::G10 => LinkMode::Base10000CrFull,
        Speed::G25 => LinkMode::Base25000CrFull,
        Speed::G50 => LinkMode::Base50000Cr2Full,
        Speed::G100 => LinkMode::Base100000Cr4Full,
    }
}

/// The lanes each speed uses.
pub(crate) fn lanes(speed: Speed) -> u32 {
    match speed {
        Speed::G10 | Speed::G25 => 1,
        Speed::G50 => 2,
        Speed::G100 => 4,
    }
}

/// The ethtool FEC mode of a device FEC mode.
fn fec_modes(mode: FecMode) -> FecModes {
    match mode {
        FecMode::Auto => FecModes::AUTO,
        FecMode::Off => FecModes::OFF,
        FecMode::Rs => FecModes::RS,
    }
}

/// What ethtool reports for the reason the device gives for a link down, at a port that
/// autonegotiates or not: the states a 100G NIC's firmware reports for the same causes.
/// Nothing for a disabled port (the interface is down, or going down).
pub(crate) fn ext_state(reason: DownReason, autoneg: bool) -> Option<LinkExtState> {
    use AutonegSubstate::*;
    use LinkExtState::*;
    Some(match reason {
        DownReason::Disabled => return None,
        DownReason::NoCable => NoCable,
        DownReason::PartnerDisabled if autoneg => Autoneg(Some(NoPartnerDetected)),
        DownReason::PartnerDisabled => Autoneg(Some(NoPartnerDetectedForceMode)),
        DownReason::AnNoCommonSpeed => Autoneg(Some(NoHcd)),
        // An end finds no partner in its own mode: an autonegotiating one hears no pages, a
        // forced one no link at its speed (what the kernel's `ethtool_extended_state.sh`
        // expects of two different forced speeds).
        DownReason::AnMismatch if autoneg => Autoneg(Some(NoPartnerDetected)),
        DownReason::AnMismatch | DownReason::SpeedMismatch => {
            Autoneg(Some(NoPartnerDetectedForceMode))
        }
        // Only two fixed modes disagree: each end's FEC was set over what it would negotiate.
        DownReason::FecMismatch => Autoneg(Some(FecMismatchDuringOverride)),
        DownReason::LinkTraining => {
            LinkTrainingFailure(Some(LinkTrainingSubstate::KrFrameLockNotAcquired))
        }
    })
}

/// Where a value of `ethtool -S` comes from.
#[derive(Clone, Copy)]
enum Source {
    /// The device's counter `i` (see [`counter`]).
    Device(usize),
    /// Frames the driver dropped before they reached the device.
    DriverTxDropped,
    /// Indices and descriptors from the device that made no sense.
    DriverDeviceErrors,
    /// TX doorbells not rung because the device was draining the rings.
    DriverDoorbellsSkipped,
}

/// A statistic of `ethtool -S`.
struct Stat {
    name: &'static str,
    source: Source,
}

const fn dev(name: &'static str, i: usize) -> Stat {
    Stat {
        name,
        source: Source::Device(i),
    }
}

const STAT_TABLE: [Stat; 29] = [
    dev("tx_pause_prio0", counter::TX_PAUSE),
    dev("tx_pause_prio1", counter::TX_PAUSE + 1),
    dev("tx_pause_prio2", counter::TX_PAUSE + 2),
    dev("tx_pause_prio3", counter::TX_PAUSE + 3),
    dev("tx_pause_prio4", counter::TX_PAUSE + 4),
    dev("tx_pause_prio5", counter::TX_PAUSE + 5),
    dev("tx_pause_prio6", counter::TX_PAUSE + 6),
    dev("tx_pause_prio7", counter::TX_PAUSE + 7),
    dev("rx_pause_prio0", counter::RX_PAUSE),
    dev("rx_pause_prio1", counter::RX_PAUSE + 1),
    dev("rx_pause_prio2", counter::RX_PAUSE + 2),
    dev("rx_pause_prio3", counter::RX_PAUSE + 3),
    dev("rx_pause_prio4", counter::RX_PAUSE + 4),
    dev("rx_pause_prio5", counter::RX_PAUSE + 5),
    dev("rx_pause_prio6", counter::RX_PAUSE + 6),
    dev("rx_pause_prio7", counter::RX_PAUSE + 7),
    dev("tx_tc0_bytes", counter::TX_TC_BYTES),
    dev("tx_tc1_bytes", counter::TX_TC_BYTES + 1),
    dev("tx_tc2_bytes", counter::TX_TC_BYTES + 2),
    dev("tx_tc3_bytes", counter::TX_TC_BYTES + 3),
    dev("tx_tc4_bytes", counter::TX_TC_BYTES + 4),
    dev("tx_tc5_bytes", counter::TX_TC_BYTES + 5),
    dev("tx_tc6_bytes", counter::TX_TC_BYTES + 6),
    dev("tx_tc7_bytes", counter::TX_TC_BYTES + 7),
    // The interface's `tx_dropped` is the sum of these two.
    dev("tx_dropped_link_down", counter::TX_DROPPED),
    // Frames to addresses the port does not listen to (`ndo_set_rx_mode`).
    dev("rx_filtered", counter::RX_FILTERED),
    Stat {
        name: "tx_dropped_driver",
        source: Source::DriverTxDropped,
    },
    Stat {
        name: "device_errors",
        source: Source::DriverDeviceErrors,
    },
    Stat {
        name: "tx_doorbells_skipped",
        source: Source::DriverDoorbellsSkipped,
    },
];

const fn stat_names<const N: usize>(stats: &[Stat; N]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = stats[i].name;
        i += 1;
    }
    names
}

const STAT_NAMES: [&str; STAT_TABLE.len()] = stat_names(&STAT_TABLE);

/// Private flag bits.
const PRIV_MAC_LOOPBACK: u32 = 1 << 0;

/// Self-tests.
const TEST_MAC_LOOPBACK: usize = 0;

/// `PFC_EN` when link-level pause is on: every priority.
const PFC_ALL: u8 = 0xff;

/// SFF-8024 identifiers of the modules the port takes.
const SFF8024_ID_QSFP: u8 = 0x0c;
const SFF8024_ID_QSFP_PLUS: u8 = 0x0d;
const SFF8024_ID_QSFP28: u8 = 0x11;
/// SFF-8636 lower page 0: byte 1 the revision, byte 2 bit 2 `Flat_mem` (no upper pages but
/// 00h).
const SFF8636_REVISION: usize = 1;
const SFF8636_STATUS: usize = 2;
const SFF8636_FLAT_MEM: u8 = 1 << 2;
/// SFF-8636 revision 1.3 and later (the first SFF-8636 revision code).
const SFF8636_REV_8636: u8 = 3;
/// The I2C address of a QSFP module's memory.
const QSFP_I2C_ADDRESS: u8 = 0x50;
/// Bytes of a half page.
const HALF_PAGE: usize = MODULE_EEPROM_PAGE_LEN as usize;
/// Where the device keeps upper page 03h, after lower page 0 and upper page 00h.
const DEVICE_PAGE_3: usize = 2 * HALF_PAGE;

impl Port {
    /// Whether the module has only upper page 00h.
    fn module_flat(&self) -> Result<bool> {
        let mut status = [0];
        self.io.read_module(SFF8636_STATUS, &mut status)?;
        Ok(status[0] & SFF8636_FLAT_MEM != 0)
    }

    /// The sum of the eight per-priority counters from `first`.
    fn sum_prio(&self, first: usize) -> u64 {
        (first..first + 8)
            .map(|i| self.io.counter(i))
            .fold(0, u64::wrapping_add)
    }
}

#[vtable]
impl Operations for Port {
    const STATS: &'static [&'static str] = &STAT_NAMES;
    const PRIV_FLAGS: &'static [&'static str] = &["mac-loopback"];
    const SELF_TESTS: &'static [&'static str] = &["mac-loopback"];
    const SUPPORTED_COALESCE_PARAMS: CoalesceParams = CoalesceParams::RX_USECS
        .union(CoalesceParams::RX_MAX_FRAMES)
        .union(CoalesceParams::TX_USECS)
        .union(CoalesceParams::TX_MAX_FRAMES)
        .union(CoalesceParams::USE_ADAPTIVE_RX);
    /// The device's `rx_size` and `tx_size` buckets.
    const RMON_HIST_RANGES: &'static [core::ops::RangeInclusive<u16>] = &[
        64..=64,
        65..=127,
        128..=255,
        256..=511,
        512..=1023,
        1024..=1518,
        1519..=2047,
        2048..=4095,
        4096..=8191,
        8192..=9220,
    ];

    fn get_drvinfo(dev: &Device<Self>, info: &mut DrvInfo) {
        let nic = dev.data().io.nic();
        let (major, minor) = nic.version();
        info.set_driver("habanalabs");
        // The device model plays the firmware's part.
        info.set_fw_version(format_args!("{major}.{minor}"));
        info.set_bus_info(nic.dma_device());
    }

    fn get_link_ksettings(dev: &Device<Self>, ks: &mut LinkSettings) -> Result {
        let port = dev.data();
        let (autoneg, advertised) = {
            let link = &port.config.lock().link;
            (link.autoneg, link.advertised)
        };
        let fec = port.config.lock().link.fec;
        let supported = ks.supported_mut();
        supported.insert(LinkMode::Autoneg);
        supported.insert(LinkMode::Fibre);
        supported.insert(LinkMode::FecNone);
        supported.insert(LinkMode::FecRs);
        for speed in Speed::ALL {
            supported.insert(link_mode(speed));
        }
        // The advertised speeds are kept while a speed is forced, for when autonegotiation
        // comes back.
        let advertising = ks.advertising_mut();
        if autoneg {
            advertising.insert(LinkMode::Autoneg);
        }
        for speed in Speed::ALL.into_iter().filter(|s| advertised & s.bit() != 0) {
            advertising.insert(link_mode(speed));
        }
        // The FEC modes the port would run.
        if fec != FecMode::Rs {
            advertising.insert(LinkMode::FecNone);
        }
        if fec != FecMode::Off {
            advertising.insert(LinkMode::FecRs);
        }
        ks.set_autoneg(autoneg);
        ks.set_connector(Connector::DirectAttach);
        match port.link_speed() {
            Some(speed) => {
                ks.set_speed(Some(speed.mbps()));
                ks.set_duplex(Duplex::Full);
                ks.set_lanes(Some(lanes(speed)));
            }
            None => {
                ks.set_speed(None);
                ks.set_duplex(Duplex::Unknown);
                ks.set_lanes(None);
            }
        }
        Ok(())
    }

    fn set_link_ksettings(dev: &Device<Self>, ks: &LinkSettings) -> Result {
        if ks.duplex() == Duplex::Half || ks.connector() != Some(Connector::DirectAttach) {
            return Err(EINVAL);
        }
        let mut advertised = 0;
        for mode in ks.advertising().modes() {
            match mode {
                // Not speeds, but reported with them; the FEC is `--set-fec`'s.
                Some(LinkMode::Autoneg | LinkMode::Fibre | LinkMode::FecNone | LinkMode::FecRs) => {
                }
                Some(mode) => {
                    let speed = Speed::ALL
                        .into_iter()
                        .find(|&s| link_mode(s) == mode)
                        .ok_or(EINVAL)?;
                    advertised |= speed.bit();
                }
                None => return Err(EINVAL),
            }
        }
        if ks.autoneg() {
            if advertised == 0 {
                return Err(EINVAL);
            }
            return Port::reconfigure(dev, false, |cfg| {
                cfg.link.autoneg = true;
                cfg.link.advertised = advertised;
                Ok(())
            });
        }
        // An unknown speed (the link is down and none was given) keeps the forced one.
        let forced = ks
            .speed()
            .map(|mbps| Speed::from_mbps(mbps).ok_or(EINVAL))
            .transpose()?;
        if let (Some(speed), Some(n)) = (forced, ks.lanes()) {
            if n != lanes(speed) {
                return Err(EINVAL);
            }
        }
        Port::reconfigure(dev, false, |cfg| {
            cfg.link.autoneg = false;
            if let Some(speed) = forced {
                cfg.link.forced = speed;
            }
            if advertised != 0 {
                cfg.link.advertised = advertised;
            }
            Ok(())
        })
    }

    fn get_ringparam(dev: &Device<Self>, ring: &mut RingParam) {
        let rings = &dev.data().config.lock().rings;
        ring.set_rx_max_pending(RING_MAX);
        ring.set_tx_max_pending(RING_MAX);
        ring.set_rx_pending(rings.rx);
        ring.set_tx_pending(rings.tx);
    }

    fn set_ringparam(dev: &Device<Self>, ring: &RingParam, extack: &mut ExtAck<'_>) -> Result {
        const { assert!(RING_MIN == 64, "the message below names the minimum") };
        if ring.rx_pending() < RING_MIN || ring.tx_pending() < RING_MIN {
            extack.set_message(c_str!("ring sizes start at 64"));
            return Err(EINVAL);
        }
        // At most `RING_MAX`, a power of two, so the rounding stays within it.
        let (rx, tx) = (
            ring.rx_pending().next_power_of_two(),
            ring.tx_pending().next_power_of_two(),
        );
        {
            let cfg = dev.data().config.lock();
            if (rx, tx) == (cfg.rings.rx, cfg.rings.tx) {
                return Ok(());
            }
            if rx < cfg.coalesce.rx.frames {
                extack.set_message(c_str!("RX ring smaller than rx-frames"));
                return Err(EINVAL);
            }
            if tx < cfg.coalesce.tx.frames {
                extack.set_message(c_str!("TX ring smaller than tx-frames"));
                return Err(EINVAL);
            }
        }
        Port::reconfigure(dev, true, |cfg| {
            cfg.rings.rx = rx;
            cfg.rings.tx = tx;
            Ok(())
        })
    }

    fn get_channels(dev: &Device<Self>, ch: &mut Channels) {
        ch.set_max(NUM_RXQ as u32, NUM_TXQ as u32);
        ch.set_counts(dev.real_num_rx_queues(), NUM_TXQ as u32);
    }

    /// The RX queues in use, 1 to 4; the TX queues are one per traffic class, always 8.
    fn set_channels(dev: &Device<Self>, ch: &Channels) -> Result {
        let rx = ch.rx_count();
        if ch.tx_count() != NUM_TXQ as u32 || ch.combined_count() != 0 || ch.other_count() != 0 {
            return Err(EINVAL);
        }
        if !(1..=NUM_RXQ as u32).contains(&rx) {
            return Err(EINVAL);
        }
        if rx == dev.real_num_rx_queues() {
            return Ok(());
        }
        // A table the user set stays, if it names only queues still in use.
        let keep = dev.rxfh_configured();
        if keep
            && dev
                .data()
                .config
                .lock()
                .rss
                .table
                .iter()
                .any(|&q| u32::from(q) >= rx)
        {
            return Err(EINVAL);
        }
        // The RX rings in use change: new rings around the change.
        Port::reconfigure(dev, true, |cfg| {
            dev.set_real_num_rx_queues(rx)?;
            if !keep {
                cfg.rss.spread(rx);
            }
            Ok(())
        })
    }

    const RSS_KEY_SIZE: u32 = RSS_KEY_SIZE as u32;
    const RSS_INDIR_SIZE: u32 = RSS_TABLE_SIZE as u32;

    fn get_rxfh(dev: &Device<Self>, rxfh: &mut Rxfh) -> Result {
        let cfg = dev.data().config.lock();
        rxfh.set_hfunc_toeplitz();
        if let Some(key) = rxfh.key() {
            if key.len() != cfg.rss.key.len() {
                return Err(EINVAL);
            }
            key.copy_from_slice(&cfg.rss.key);
        }
        if let Some(indir) = rxfh.indir() {
            if indir.len() != cfg.rss.table.len() {
                return Err(EINVAL);
            }
            for (e, &q) in indir.iter_mut().zip(cfg.rss.table.iter()) {
                *e = q.into();
            }
        }
        Ok(())
    }

    fn set_rxfh(dev: &Device<Self>, rxfh: &mut Rxfh, extack: &mut ExtAck<'_>) -> Result {
        if !rxfh.hfunc_is_toeplitz() {
            extack.set_message(c_str!("the device hashes with Toeplitz only"));
            return Err(EOPNOTSUPP);
        }
        let in_use = dev.real_num_rx_queues();
        let mut table = None;
        if let Some(indir) = rxfh.indir() {
            if indir.len() != RSS_TABLE_SIZE || indir.iter().any(|&q| q >= in_use) {
                return Err(EINVAL);
            }
            let mut t = [0u8; RSS_TABLE_SIZE];
            for (e, &q) in t.iter_mut().zip(indir.iter()) {
                *e = q as u8;
            }
            table = Some(t);
        }
        let mut key = None;
        if let Some(k) = rxfh.key() {
            key = Some(<[u8; RSS_KEY_SIZE]>::try_from(&*k).map_err(|_| EINVAL)?);
        }
        Port::reconfigure(dev, false, |cfg| {
            if let Some(t) = table {
                cfg.rss.table = t;
            }
            if let Some(k) = key {
                cfg.rss.key = k;
            }
            Ok(())
        })
    }

    fn get_coalesce(dev: &Device<Self>, coalesce: &mut Coalesce) -> Result {
        let cfg = &dev.data().config.lock().coalesce;
        coalesce.set_rx_usecs(cfg.rx.usecs);
        coalesce.set_rx_max_frames(cfg.rx.frames);
        coalesce.set_tx_usecs(cfg.tx.usecs);
        coalesce.set_tx_max_frames(cfg.tx.frames);
        coalesce.set_use_adaptive_rx(cfg.adaptive_rx);
        Ok(())
    }

    fn set_coalesce(dev: &Device<Self>, coalesce: &Coalesce, extack: &mut ExtAck<'_>) -> Result {
        let rx = Moderation {
            usecs: coalesce.rx_usecs(),
            frames: coalesce.rx_max_frames(),
        };
        let tx = Moderation {
            usecs: coalesce.tx_usecs(),
            frames: coalesce.tx_max_frames(),
        };
        let adaptive_rx = coalesce.use_adaptive_rx();
        let rings = {
            let cfg = dev.data().config.lock();
            (cfg.rings.rx, cfg.rings.tx)
        };
        if rx.usecs > COAL_USECS_MAX || tx.usecs > COAL_USECS_MAX {
            return invalid(extack, c_str!("usecs above the device's 65535"));
        }
        // More frames than the ring holds would never raise the interrupt.
        if rx.frames > rings.0.min(COAL_FRAMES_MAX) {
            return invalid(extack, c_str!("rx-frames larger than the RX ring"));
        }
        if tx.frames > rings.1.min(COAL_FRAMES_MAX) {
            return invalid(extack, c_str!("tx-frames larger than the TX ring"));
        }
        // The last frames of a burst would wait for more, the queue stopping for them.
        if tx.frames != 0 && tx.usecs == 0 {
            return invalid(extack, c_str!("tx-frames needs tx-usecs"));
        }
        Port::reconfigure(dev, false, |cfg| {
            cfg.coalesce.rx = rx;
            cfg.coalesce.tx = tx;
            cfg.coalesce.adaptive_rx = adaptive_rx;
            Ok(())
        })
    }

    fn get_pauseparam(dev: &Device<Self>, pause: &mut PauseParam) {
        let all = dev.data().config.lock().dcb.pfc == PFC_ALL;
        pause.set_autoneg(false);
        pause.set_rx_pause(all);
        pause.set_tx_pause(all);
    }

    fn set_pauseparam(dev: &Device<Self>, pause: &PauseParam) -> Result {
        if pause.autoneg() || pause.rx_pause() != pause.tx_pause() {
            return Err(EINVAL);
        }
        let pfc = if pause.rx_pause() { PFC_ALL } else { 0 };
        let current = dev.data().config.lock().dcb.pfc;
        if current != 0 && current != PFC_ALL {
            // DCB set flow control on some priorities: leave it to DCB.
            return Err(EBUSY);
        }
        Port::reconfigure(dev, false, |cfg| {
            cfg.dcb.pfc = pfc;
            Ok(())
        })
    }

    fn get_pause_stats(dev: &Device<Self>, stats: &mut PauseStats) {
        let port = dev.data();
        stats.set_tx_pause_frames(port.sum_prio(counter::TX_PAUSE));
        stats.set_rx_pause_frames(port.sum_prio(counter::RX_PAUSE));
    }

    fn get_ethtool_stats(dev: &Device<Self>, data: &mut [u64]) {
        let port = dev.data();
        for (value, stat) in data.iter_mut().zip(STAT_TABLE.iter()) {
            *value = match stat.source {
                Source::Device(i) => port.io.counter(i),
                Source::DriverTxDropped => port.rings.counters.tx_dropped.load(Ordering::Relaxed),
                Source::DriverDeviceErrors => {
                    port.rings.counters.device_errors.load(Ordering::Relaxed)
                }
                Source::DriverDoorbellsSkipped => port
                    .rings
                    .counters
                    .tx_doorbells_skipped
                    .load(Ordering::Relaxed),
            };
        }
    }

    fn get_priv_flags(dev: &Device<Self>) -> u32 {
        if dev.data().config.lock().link.loopback {
            PRIV_MAC_LOOPBACK
        } else {
            0
        }
    }

    fn set_priv_flags(dev: &Device<Self>, flags: u32) -> Result {
        Port::reconfigure(dev, false, |cfg| {
            cfg.link.loopback = flags & PRIV_MAC_LOOPBACK != 0;
            Ok(())
        })
    }

    fn self_test(dev: &Device<Self>, test: &mut SelfTest<'_>) {
        if !test.offline() {
            // The only test stops the interface: not run.
            test.pass(TEST_MAC_LOOPBACK);
            return;
        }
        match Port::loopback_test(dev) {
            Ok(true) => test.pass(TEST_MAC_LOOPBACK),
            Ok(false) => test.fail(TEST_MAC_LOOPBACK),
            Err(e) => test.error(TEST_MAC_LOOPBACK, e),
        }
    }

    fn get_module_info(dev: &Device<Self>, info: &mut ModuleInfo) -> Result {
        let mut id = [0; 3];
        dev.data().io.read_module(0, &mut id)?;
        let flat = id[SFF8636_STATUS] & SFF8636_FLAT_MEM != 0;
        let sff8636 = match id[0] {
            SFF8024_ID_QSFP28 => true,
            SFF8024_ID_QSFP_PLUS => id[SFF8636_REVISION] >= SFF8636_REV_8636,
            SFF8024_ID_QSFP => false,
            _ => return Err(EOPNOTSUPP),
        };
        match (sff8636, flat) {
            (true, true) => info.set(ModuleType::Sff8636, SFF_8636_LEN),
            (true, false) => info.set(ModuleType::Sff8636, SFF_8636_MAX_LEN),
            (false, true) => info.set(ModuleType::Sff8436, SFF_8436_LEN),
            (false, false) => info.set(ModuleType::Sff8436, SFF_8436_MAX_LEN),
        }
        Ok(())
    }

    /// The flat layout is lower page 0 then upper pages 00h to 03h. The device has no upper
    /// pages 01h and 02h (optional, and the module does not claim them): they read as zeroes.
    fn get_module_eeprom(dev: &Device<Self>, offset: u32, data: &mut [u8]) -> Result {
        let port = dev.data();
        let mut at = offset as usize;
        let mut rest = data;
        while !rest.is_empty() {
            // Where `at` is on the device, if there, and how far that part goes.
            let (device, end) = match at / HALF_PAGE {
                0 | 1 => (Some(at), 2 * HALF_PAGE),
                2 | 3 => (None, 4 * HALF_PAGE),
                4 => (Some(at - 4 * HALF_PAGE + DEVICE_PAGE_3), 5 * HALF_PAGE),
                _ => return Err(EINVAL),
            };
            let len = (end - at).min(rest.len());
            let (chunk, tail) = core::mem::take(&mut rest).split_at_mut(len);
            match device {
                Some(from) => port.io.read_module(from, chunk)?,
                None => chunk.fill(0),
            }
            at += chunk.len();
            rest = tail;
        }
        Ok(())
    }

    fn get_module_eeprom_by_page(
        dev: &Device<Self>,
        page: &mut ModulePage<'_>,
        extack: &mut ExtAck<'_>,
    ) -> Result<usize> {
        let port = dev.data();
        if page.i2c_address() != QSFP_I2C_ADDRESS || page.bank() != 0 {
            extack.set_message(c_str!("the module has one bank at address 0x50"));
            return Err(EINVAL);
        }
        let offset = page.offset() as usize;
        let from = match page.page() {
            0 => offset,
            3 if !port.module_flat()? && offset >= HALF_PAGE => offset - HALF_PAGE + DEVICE_PAGE_3,
            _ => {
                extack.set_message(c_str!("the module has pages 00h and 03h only"));
                return Err(EINVAL);
            }
        };
        let data = page.data();
        port.io.read_module(from, data)?;
        Ok(data.len())
    }

    fn get_fecparam(dev: &Device<Self>, fec: &mut FecParam) -> Result {
        let port = dev.data();
        fec.set_configured(fec_modes(port.config.lock().link.fec));
        fec.set_active(match port.link_info(dev) {
            Some(LinkInfo::Up(mode)) => fec_modes(mode),
            _ => FecModes::EMPTY,
        });
        Ok(())
    }

    fn set_fecparam(dev: &Device<Self>, fec: &FecParam) -> Result {
        let mode = match fec.configured() {
            FecModes::AUTO => FecMode::Auto,
            FecModes::OFF => FecMode::Off,
            FecModes::RS => FecMode::Rs,
            // BASE-R, LLRS, or a set of modes to choose from.
            _ => return Err(EINVAL),
        };
        Port::reconfigure(dev, false, |cfg| {
            cfg.link.fec = mode;
            Ok(())
        })
    }

    fn get_link_ext_state(dev: &Device<Self>) -> Result<LinkExtState> {
        let port = dev.data();
        match port.link_info(dev) {
            Some(LinkInfo::Down(reason)) => {
                ext_state(reason, port.config.lock().link.autoneg).ok_or(ENODATA)
            }
            _ => Err(ENODATA),
        }
    }

    fn get_fec_stats(dev: &Device<Self>, stats: &mut FecStats) {
        let port = dev.data();
        stats
            .corrected_blocks()
            .set_total(port.io.counter(counter::FEC_CORRECTED));
        stats
            .uncorrectable_blocks()
            .set_total(port.io.counter(counter::FEC_UNCORRECTABLE));
    }

    fn get_link_ext_stats(dev: &Device<Self>, stats: &mut LinkExtStats) {
        stats.set_link_down_events(dev.data().io.counter(counter::LINK_DOWN_EVENTS));
    }

    fn get_eth_phy_stats(dev: &Device<Self>, stats: &mut EthPhyStats) {
        stats.set_symbol_error_during_carrier(dev.data().io.counter(counter::PCS_ERRORS));
    }

    fn get_eth_mac_stats(dev: &Device<Self>, stats: &mut EthMacStats) {
        let c = |i| dev.data().io.counter(i);
        stats.set_frames_transmitted_ok(c(counter::TX_FRAMES));
        stats.set_octets_transmitted_ok(c(counter::TX_BYTES));
        stats.set_frames_received_ok(c(counter::RX_FRAMES));
        stats.set_octets_received_ok(c(counter::RX_BYTES));
        stats.set_frame_check_sequence_errors(c(counter::RX_FCS_ERRORS));
        stats.set_frame_too_long_errors(c(counter::RX_OVERSIZE));
    }

    fn get_eth_ctrl_stats(dev: &Device<Self>, stats: &mut EthCtrlStats) {
        let port = dev.data();
        // The PFC frames of the device's own flow control, and the control frames the host
        // sent or the wire brought.
        let tx = port
            .sum_prio(counter::TX_PAUSE)
            .wrapping_add(port.io.counter(counter::TX_MAC_CONTROL));
        let rx = port
            .sum_prio(counter::RX_PAUSE)
            .wrapping_add(port.io.counter(counter::RX_MAC_CONTROL));
        stats.set_mac_control_frames_transmitted(tx);
        stats.set_mac_control_frames_received(rx);
        stats.set_unsupported_opcodes_received(port.io.counter(counter::RX_UNSUPPORTED_OPCODES));
    }

    fn get_rmon_stats(dev: &Device<Self>, stats: &mut RmonStats) {
        let port = dev.data();
        stats.set_undersize_pkts(port.io.counter(counter::RX_UNDERSIZE));
        for bucket in 0..Self::RMON_HIST_RANGES.len() {
            stats.set_hist(bucket, port.io.counter(counter::RX_SIZE + bucket));
            stats.set_hist_tx(bucket, port.io.counter(counter::TX_SIZE + bucket));
        }
    }
}
