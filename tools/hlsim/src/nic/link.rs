// SPDX-License-Identifier: GPL-2.0

//! Link rules: when a port's link is up, at which speed and FEC, and why
//! it is down when it is not.

use crate::regs::{
    DOWN_AN_MISMATCH, DOWN_AN_NO_COMMON_SPEED, DOWN_DISABLED, DOWN_FEC_MISMATCH,
    DOWN_LINK_TRAINING, DOWN_NO_CABLE, DOWN_PARTNER_DISABLED, DOWN_SPEED_MISMATCH, FEC_AUTO,
    FEC_OFF, FEC_RS, LINK_ADVERTISED_SHIFT, LINK_AUTONEG, LINK_FEC_SHIFT, LINK_FORCED_SHIFT,
    LINK_INFO_DOWN_SHIFT, LINK_SPEED_SHIFT, LINK_UP, PORT_ENABLE, PORT_FAULT_LINK_DOWN,
    PORT_FAULT_LINK_TRAINING, PORT_LOOPBACK, SPEED_MAX,
};

/// The speed code of 10G, which runs without FEC whatever the ends ask.
const SPEED_10G: u32 = 1;

/// What the link rules read of one port.
#[derive(Clone, Copy, Debug, Default)]
pub struct End {
    /// `CTL`.
    pub ctl: u32,
    /// `LINK_CFG`.
    pub cfg: u32,
    /// `PORT_FAULTS`.
    pub faults: u32,
}

/// The other end of a port's wire.
#[derive(Clone, Copy, Debug)]
pub enum Peer {
    /// Nothing is wired.
    None,
    /// A host TAP interface: enabled, and agrees with any configuration.
    Tap,
    /// A port.
    Port(End),
}

/// A port's link: its `LINK_STATUS` and `LINK_INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// `LINK_STATUS`.
    pub status: u32,
    /// `LINK_INFO`.
    pub info: u32,
}

impl Link {
    fn up(speed: u32, fec: u32) -> Self {
        Self {
            status: LINK_UP | speed << LINK_SPEED_SHIFT,
            info: fec,
        }
    }

    fn down(reason: u32) -> Self {
        Self {
            status: 0,
            info: reason << LINK_INFO_DOWN_SHIFT,
        }
    }
}

impl End {
    fn enabled(&self) -> bool {
        self.ctl & PORT_ENABLE != 0
    }

    fn unplugged(&self) -> bool {
        self.faults & PORT_FAULT_LINK_DOWN != 0
    }

    fn loopback(&self) -> bool {
        self.ctl & PORT_LOOPBACK != 0
    }

    fn training_fails(&self) -> bool {
        self.faults & PORT_FAULT_LINK_TRAINING != 0
    }
}

/// The speed code two `LINK_CFG`s agree on, or the `DOWN_*` reason they
/// do not.
fn speed(a: u32, b: u32) -> Result<u32, u32> {
    let forced = |cfg: u32| (cfg >> LINK_FORCED_SHIFT) & 0xf;
    let advertised = |cfg: u32| (cfg >> LINK_ADVERTISED_SHIFT) & ((1 << SPEED_MAX) - 1);
    match (a & LINK_AUTONEG != 0, b & LINK_AUTONEG != 0) {
        (true, true) => {
            let common = advertised(a) & advertised(b);
            (common != 0)
                .then(|| 32 - common.leading_zeros())
                .ok_or(DOWN_AN_NO_COMMON_SPEED)
        }
        (false, false) => Some(forced(a))
            .filter(|&s| s == forced(b) && (1..=SPEED_MAX).contains(&s))
            .ok_or(DOWN_SPEED_MISMATCH),
        _ => Err(DOWN_AN_MISMATCH),
    }
}

/// The FEC mode a `LINK_CFG` asks for: `FEC_AUTO`, `FEC_OFF` or `FEC_RS`.
fn fec_mode(cfg: u32) -> u32 {
    match (cfg >> LINK_FEC_SHIFT) & 3 {
        FEC_OFF => FEC_OFF,
        FEC_RS => FEC_RS,
        _ => FEC_AUTO,
    }
}

/// The FEC two `LINK_CFG`s run at speed code `speed`, `FEC_OFF` or
/// `FEC_RS`; `None` if they disagree. An end in auto takes what the other
/// asks, RS if both are in auto; 10G runs without FEC.
pub fn fec(a: u32, b: u32, speed: u32) -> Option<u32> {
    if speed == SPEED_10G {
        return Some(FEC_OFF);
    }
    match (fec_mode(a), fec_mode(b)) {
        (FEC_AUTO, FEC_AUTO) => Some(FEC_RS),
        (FEC_AUTO, m) | (m, FEC_AUTO) => Some(m),
        (m, n) => (m == n).then_some(m),
    }
}

/// The link between two live ends, `a` the port, `b` its partner (itself
/// in loopback).
fn resolve(a: End, b: End) -> Link {
    if a.training_fails() || b.training_fails() {
        return Link::down(DOWN_LINK_TRAINING);
    }
    match speed(a.cfg, b.cfg) {
        Ok(s) => fec(a.cfg, b.cfg, s).map_or(Link::down(DOWN_FEC_MISMATCH), |f| Link::up(s, f)),
        Err(reason) => Link::down(reason),
    }
}

/// The link of port `me` wired to `peer`. A port in loopback is its own
/// peer, and no peer to the port at the other end of its wire.
pub fn status(me: End, peer: Peer) -> Link {
    if !me.enabled() {
        return Link::down(DOWN_DISABLED);
    }
    if me.unplugged() {
        return Link::down(DOWN_NO_CABLE);
    }
    match peer {
        _ if me.loopback() => resolve(me, me),
        Peer::None => Link::down(DOWN_NO_CABLE),
        Peer::Tap => resolve(me, me),
        Peer::Port(peer) if peer.unplugged() => Link::down(DOWN_NO_CABLE),
        Peer::Port(peer) if !peer.enabled() || peer.loopback() => Link::down(DOWN_PARTNER_DISABLED),
        Peer::Port(peer) => resolve(me, peer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(a: u32, b: u32) -> Option<u32> {
        speed(a, b).ok()
    }

    const AN: u32 = LINK_AUTONEG;

    fn adv(codes: &[u32]) -> u32 {
        AN | codes
            .iter()
            .map(|c| 1 << (c - 1 + LINK_ADVERTISED_SHIFT))
            .sum::<u32>()
    }

    fn forced(code: u32) -> u32 {
        code << LINK_FORCED_SHIFT
    }

    fn end(ctl: u32, cfg: u32) -> End {
        End {
            ctl,
            cfg,
            faults: 0,
        }
    }

    #[test]
    fn speed_agreement() {
        assert_eq!(agree(adv(&[1, 2, 3, 4]), adv(&[1, 2, 3, 4])), Some(4));
        assert_eq!(agree(adv(&[1, 2, 3]), adv(&[2, 3, 4])), Some(3));
        assert_eq!(agree(adv(&[1]), adv(&[1])), Some(1));
        assert_eq!(agree(adv(&[1, 3]), adv(&[2, 4])), None);
        assert_eq!(agree(adv(&[]), adv(&[])), None);
        for s in 1..=4 {
            assert_eq!(agree(forced(s), forced(s)), Some(s));
            // Advertised speeds do not matter to forced ends.
            assert_eq!(agree(forced(s) | adv(&[1]) & !AN, forced(s)), Some(s));
        }
        assert_eq!(agree(forced(2), forced(3)), None);
        assert_eq!(agree(forced(0), forced(0)), None);
        assert_eq!(agree(forced(5), forced(5)), None);
        assert_eq!(agree(forced(15), forced(15)), None);
        // One of each never agrees, even on a common speed.
        assert_eq!(agree(adv(&[4]) | forced(4), forced(4)), None);
        assert_eq!(agree(forced(4), adv(&[4])), None);
    }

    #[test]
    fn link_rules() {
        let on = PORT_ENABLE;
        let lb = PORT_ENABLE | PORT_LOOPBACK;
        let cfg = adv(&[2, 4]);
        let up4 = LINK_UP | 4 << LINK_SPEED_SHIFT;
        let cases = [
            (end(on, cfg), Peer::Port(end(on, cfg)), up4),
            (
                end(on, cfg),
                Peer::Port(end(on, adv(&[2]))),
                LINK_UP | 2 << 8,
            ),
            (end(on, cfg), Peer::Port(end(0, cfg)), 0),
            (end(0, cfg), Peer::Port(end(on, cfg)), 0),
            (end(on, cfg), Peer::Port(end(lb, cfg)), 0),
            (end(on, cfg), Peer::Port(end(on, forced(4))), 0),
            (
                end(on, forced(1)),
                Peer::Port(end(on, forced(1))),
                LINK_UP | 1 << 8,
            ),
            (end(on, cfg), Peer::None, 0),
            (end(lb, cfg), Peer::None, up4),
            (end(lb, forced(3)), Peer::Port(end(0, 0)), LINK_UP | 3 << 8),
            (end(lb, adv(&[])), Peer::None, 0),
            (end(PORT_LOOPBACK, cfg), Peer::None, 0),
            (end(on, cfg), Peer::Tap, up4),
            (end(on, forced(2)), Peer::Tap, LINK_UP | 2 << 8),
            (end(on, forced(0)), Peer::Tap, 0),
        ];
        for (i, (me, peer, want)) in cases.into_iter().enumerate() {
            assert_eq!(status(me, peer).status, want, "case {i}");
        }
        // A fault at either end unplugs the wire; in loopback only the
        // port's own counts.
        let down = End {
            faults: PORT_FAULT_LINK_DOWN,
            ..end(on, cfg)
        };
        assert_eq!(status(down, Peer::Port(end(on, cfg))).status, 0);
        assert_eq!(status(end(on, cfg), Peer::Port(down)).status, 0);
        assert_eq!(status(End { ctl: lb, ..down }, Peer::None).status, 0);
        assert_eq!(status(end(lb, cfg), Peer::Port(down)).status, up4);
        assert_eq!(status(down, Peer::Tap).status, 0);
    }

    fn with_fec(cfg: u32, fec: u32) -> u32 {
        cfg | fec << LINK_FEC_SHIFT
    }

    #[test]
    fn fec_resolution() {
        let (auto, off, rs) = (FEC_AUTO, FEC_OFF, FEC_RS);
        let cases = [
            (auto, auto, Some(rs)),
            (auto, off, Some(off)),
            (rs, auto, Some(rs)),
            (off, off, Some(off)),
            (rs, rs, Some(rs)),
            (off, rs, None),
            (rs, off, None),
            // The reserved code is auto.
            (3, off, Some(off)),
            (3, 3, Some(rs)),
        ];
        for (a, b, want) in cases {
            for speed in 2..=SPEED_MAX {
                let got = fec(with_fec(0, a), with_fec(0, b), speed);
                assert_eq!(got, want, "{a} {b} at {speed}");
            }
            // 10G runs without FEC, whatever the ends ask.
            assert_eq!(fec(with_fec(0, a), with_fec(0, b), 1), Some(off));
        }
    }

    #[test]
    fn down_reasons() {
        let on = PORT_ENABLE;
        let cfg = adv(&[2, 4]);
        let up = |speed: u32, fec: u32| Link {
            status: LINK_UP | speed << LINK_SPEED_SHIFT,
            info: fec,
        };
        let down = |reason: u32| Link {
            status: 0,
            info: reason << LINK_INFO_DOWN_SHIFT,
        };
        let faulty = |faults: u32| End {
            faults,
            ..end(on, cfg)
        };
        let cases = [
            (end(on, cfg), Peer::Port(end(on, cfg)), up(4, FEC_RS)),
            (end(0, cfg), Peer::Port(end(on, cfg)), down(DOWN_DISABLED)),
            (end(on, cfg), Peer::None, down(DOWN_NO_CABLE)),
            (
                faulty(PORT_FAULT_LINK_DOWN),
                Peer::Port(end(on, cfg)),
                down(DOWN_NO_CABLE),
            ),
            (
                end(on, cfg),
                Peer::Port(faulty(PORT_FAULT_LINK_DOWN)),
                down(DOWN_NO_CABLE),
            ),
            // Unplugged and disabled: the cable is what the port sees.
            (
                end(on, cfg),
                Peer::Port(End {
                    ctl: 0,
                    ..faulty(PORT_FAULT_LINK_DOWN)
                }),
                down(DOWN_NO_CABLE),
            ),
            (
                end(on, cfg),
                Peer::Port(end(0, cfg)),
                down(DOWN_PARTNER_DISABLED),
            ),
            (
                end(on, cfg),
                Peer::Port(end(on | PORT_LOOPBACK, cfg)),
                down(DOWN_PARTNER_DISABLED),
            ),
            (
                end(on, adv(&[1])),
                Peer::Port(end(on, adv(&[4]))),
                down(DOWN_AN_NO_COMMON_SPEED),
            ),
            (
                end(on, cfg),
                Peer::Port(end(on, forced(4))),
                down(DOWN_AN_MISMATCH),
            ),
            (
                end(on, forced(4)),
                Peer::Port(end(on, forced(2))),
                down(DOWN_SPEED_MISMATCH),
            ),
            (
                end(on, with_fec(cfg, FEC_OFF)),
                Peer::Port(end(on, with_fec(cfg, FEC_RS))),
                down(DOWN_FEC_MISMATCH),
            ),
            (
                end(on, with_fec(cfg, FEC_OFF)),
                Peer::Port(end(on, cfg)),
                up(4, FEC_OFF),
            ),
            // At 10G the FEC modes do not matter.
            (
                end(on, with_fec(forced(1), FEC_OFF)),
                Peer::Port(end(on, with_fec(forced(1), FEC_RS))),
                up(1, FEC_OFF),
            ),
            (
                faulty(PORT_FAULT_LINK_TRAINING),
                Peer::Port(end(on, cfg)),
                down(DOWN_LINK_TRAINING),
            ),
            (
                end(on, cfg),
                Peer::Port(faulty(PORT_FAULT_LINK_TRAINING)),
                down(DOWN_LINK_TRAINING),
            ),
            // A port in loopback is its own partner.
            (
                end(on | PORT_LOOPBACK, with_fec(cfg, FEC_OFF)),
                Peer::None,
                up(4, FEC_OFF),
            ),
            (
                End {
                    ctl: on | PORT_LOOPBACK,
                    ..faulty(PORT_FAULT_LINK_TRAINING)
                },
                Peer::None,
                down(DOWN_LINK_TRAINING),
            ),
            (end(on, with_fec(cfg, FEC_OFF)), Peer::Tap, up(4, FEC_OFF)),
        ];
        for (i, (me, peer, want)) in cases.into_iter().enumerate() {
            assert_eq!(status(me, peer), want, "case {i}");
        }
    }
}
