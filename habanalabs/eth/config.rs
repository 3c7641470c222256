// SPDX-License-Identifier: GPL-2.0

//! A port's settings, one part per feature, as ethtool and DCB set them. They survive
//! `ip link set down`; [`Port::reconfigure`](super::port::Port::reconfigure) changes them and
//! writes them to the device.

use kernel::{net::dev::rss_key_fill, prelude::*};

use super::regs::{
    FecMode, PortIo, Queue, Speed, LINK_CFG, NUM_RXQ, NUM_TXQ, PFC_EN, PRIO_TC, Q_COAL_FRAMES,
    Q_COAL_USECS, RSS_KEY, RSS_KEY_SIZE, RSS_TABLE, RSS_TABLE_SIZE, TC_BW, TC_TSA,
};

/// Ring sizes: the default and the limits `ethtool -G` accepts.
pub(crate) const RING_DEFAULT: u32 = 512;
pub(crate) const RING_MIN: u32 = 64;
pub(crate) const RING_MAX: u32 = 4096;

/// The link (`ethtool -s`), its FEC (`ethtool --set-fec`) and the MAC loopback (the
/// `mac-loopback` private flag).
pub(crate) struct LinkConfig {
    pub(crate) autoneg: bool,
    /// Advertised speeds while autonegotiating, a [`Speed::bit`] each.
    pub(crate) advertised: u8,
    /// The speed when not autonegotiating.
    pub(crate) forced: Speed,
    pub(crate) fec: FecMode,
    pub(crate) loopback: bool,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            autoneg: true,
            advertised: Speed::ALL.iter().fold(0, |m, s| m | s.bit()),
            forced: Speed::G100,
            fec: FecMode::Auto,
            loopback: false,
        }
    }
}

impl LinkConfig {
    /// Writes `LINK_CFG`. The loopback is in `CTL`, which the port writes with `ENABLE`.
    fn write(&self, io: &PortIo) -> Result {
        let link = LINK_CFG::default()
            .set_autoneg(self.autoneg)
            .set_forced(self.forced)
            .set_advertised(self.advertised)
            .set_fec(self.fec);
        io.write(link)
    }
}

/// The ring sizes (`ethtool -G`), powers of two from [`RING_MIN`] to [`RING_MAX`]; they take
/// effect when the rings are started.
pub(crate) struct RingConfig {
    pub(crate) tx: u32,
    pub(crate) rx: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            tx: RING_DEFAULT,
            rx: RING_DEFAULT,
        }
    }
}

/// One direction's interrupt coalescing: at most `usecs` after the first unsignalled frame, or
/// once `frames` wait; 0 and 0 interrupt at once.
#[derive(Clone, Copy, Default)]
pub(crate) struct Moderation {
    pub(crate) usecs: u32,
    pub(crate) frames: u32,
}

impl Moderation {
    /// Writes it to queue `q`'s coalescing registers.
    pub(crate) fn write(&self, io: &PortIo, q: Queue) -> Result {
        io.write_q(q, Q_COAL_USECS::from(self.usecs))?;
        io.write_q(q, Q_COAL_FRAMES::from(self.frames))
    }
}

/// Interrupt coalescing (`ethtool -C`), the same for every queue of a direction.
#[derive(Default)]
pub(crate) struct CoalesceConfig {
    pub(crate) rx: Moderation,
    pub(crate) tx: Moderation,
    /// `adaptive-rx`: the RX queues' moderation follows the traffic (DIM) instead of `rx`.
    pub(crate) adaptive_rx: bool,
}

impl CoalesceConfig {
    /// Writes the TX queues' moderation, and the RX queues' unless it is adaptive (which the
    /// rings write, [`Rings::write_adaptive`](super::txrx::Rings::write_adaptive)).
    fn write(&self, io: &PortIo) -> Result {
        for q in 0..NUM_TXQ {
            self.tx.write(io, Queue::Tx(q))?;
        }
        if !self.adaptive_rx {
            for r in 0..NUM_RXQ {
                self.rx.write(io, Queue::Rx(r))?;
            }
        }
        Ok(())
    }
}

/// Priority flow control and ETS (DCB; `ethtool -A` is PFC on every priority).
pub(crate) struct DcbConfig {
    /// Priorities with flow control, a bit each.
    pub(crate) pfc: u8,
    /// Each TC's share in percent.
    pub(crate) tc_bw: [u8; 8],
    /// Each priority's TC.
    pub(crate) prio_tc: [u8; 8],
    /// The TCs that are ETS (not strict), a bit each.
    pub(crate) tc_ets: u8,
}

impl Default for DcbConfig {
    fn default() -> Self {
        Self {
            pfc: 0,
            // All priorities in TC 0, which is ETS with the whole link.
            tc_bw: [100, 0, 0, 0, 0, 0, 0, 0],
            prio_tc: [0; 8],
            tc_ets: 0xff,
        }
    }
}

impl DcbConfig {
    fn write(&self, io: &PortIo) -> Result {
        io.write(PFC_EN::default().set_prios(self.pfc))?;
        io.write(TC_BW::from(u64::from_le_bytes(self.tc_bw)))?;
        io.write(PRIO_TC::from_classes(&self.prio_tc))?;
        io.write(TC_TSA::default().set_ets(self.tc_ets))
    }
}

/// Receive-side scaling (`ethtool -x`, `-X`, and `-L rx`, the queues in use).
pub(crate) struct RssConfig {
    pub(crate) key: [u8; RSS_KEY_SIZE],
    /// Each entry an RX queue in use.
    pub(crate) table: [u8; RSS_TABLE_SIZE],
}

impl Default for RssConfig {
    fn default() -> Self {
        let mut rss = Self {
            key: [0; RSS_KEY_SIZE],
            table: [0; RSS_TABLE_SIZE],
        };
        rss_key_fill(&mut rss.key);
        rss.spread(NUM_RXQ as u32);
        rss
    }
}

impl RssConfig {
    /// Spreads the table evenly over `queues` queues.
    pub(crate) fn spread(&mut self, queues: u32) {
        for (i, e) in self.table.iter_mut().enumerate() {
            *e = (i as u32 % queues.max(1)) as u8;
        }
    }

    fn write(&self, io: &PortIo) -> Result {
        io.write_bytes(RSS_KEY, &self.key)?;
        io.write_bytes(RSS_TABLE, &self.table)
    }
}

/// All of a port's settings.
#[derive(Default)]
pub(crate) struct Config {
    pub(crate) link: LinkConfig,
    pub(crate) rings: RingConfig,
    pub(crate) coalesce: CoalesceConfig,
    pub(crate) dcb: DcbConfig,
    pub(crate) rss: RssConfig,
}

impl Config {
    /// Writes the settings that apply at once: all but the ring sizes and `CTL`.
    pub(crate) fn write(&self, io: &PortIo) -> Result {
        self.link.write(io)?;
        self.coalesce.write(io)?;
        self.rss.write(io)?;
        self.dcb.write(io)
    }
}
