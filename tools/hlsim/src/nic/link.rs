// SPDX-License-Identifier: GPL-2.0

//! Link rules: when a port's link is up, and at which speed.

use crate::regs::{
    LINK_ADVERTISED_SHIFT, LINK_AUTONEG, LINK_FORCED_SHIFT, LINK_SPEED_SHIFT, LINK_UP, PORT_ENABLE,
    PORT_FAULT_LINK_DOWN, PORT_LOOPBACK, SPEED_MAX,
};

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

impl End {
    /// Whether this end is enabled and plugged in.
    fn live(&self) -> bool {
        self.ctl & PORT_ENABLE != 0 && self.faults & PORT_FAULT_LINK_DOWN == 0
    }

    fn loopback(&self) -> bool {
        self.ctl & PORT_LOOPBACK != 0
    }
}

/// The speed code two `LINK_CFG`s agree on, if any.
pub fn agree(a: u32, b: u32) -> Option<u32> {
    let forced = |cfg: u32| (cfg >> LINK_FORCED_SHIFT) & 0xf;
    let advertised = |cfg: u32| (cfg >> LINK_ADVERTISED_SHIFT) & ((1 << SPEED_MAX) - 1);
    match (a & LINK_AUTONEG != 0, b & LINK_AUTONEG != 0) {
        (true, true) => {
            let common = advertised(a) & advertised(b);
            (common != 0).then(|| 32 - common.leading_zeros())
        }
        (false, false) => {
            Some(forced(a)).filter(|&s| s == forced(b) && (1..=SPEED_MAX).contains(&s))
        }
        _ => None,
    }
}

/// The `LINK_STATUS` of port `me` wired to `peer`. A port in loopback is
/// its own peer, and no peer to the port at the other end of its wire.
pub fn status(me: End, peer: Peer) -> u32 {
    if !me.live() {
        return 0;
    }
    let speed = match peer {
        _ if me.loopback() => agree(me.cfg, me.cfg),
        Peer::None => None,
        Peer::Tap => agree(me.cfg, me.cfg),
        Peer::Port(peer) if peer.live() && !peer.loopback() => agree(me.cfg, peer.cfg),
        Peer::Port(_) => None,
    };
    speed.map_or(0, |s| LINK_UP | s << LINK_SPEED_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert_eq!(status(me, peer), want, "case {i}");
        }
        // A fault at either end unplugs the wire; in loopback only the
        // port's own counts.
        let down = End {
            faults: PORT_FAULT_LINK_DOWN,
            ..end(on, cfg)
        };
        assert_eq!(status(down, Peer::Port(end(on, cfg))), 0);
        assert_eq!(status(end(on, cfg), Peer::Port(down)), 0);
        assert_eq!(status(End { ctl: lb, ..down }, Peer::None), 0);
        assert_eq!(status(end(lb, cfg), Peer::Port(down)), up4);
        assert_eq!(status(down, Peer::Tap), 0);
    }
}
