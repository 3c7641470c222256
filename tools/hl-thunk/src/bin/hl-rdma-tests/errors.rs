// SPDX-License-Identifier: GPL-2.0

//! Operations that fail: each ends in an error CQE with its syndrome at the
//! requester, none at the responder, and the responder's memory unchanged.

use hlsim_regs::PORT_FAULT_LINK_DOWN;
use hlthunk::CqeOpcode::{Send, Write};
use hlthunk::CqeStatus::{BadConn, LinkDown, Ok as Done, RemoteAccess, WrongPeer};
use hlthunk::uapi::HL_MAX_PORTS;
use hlthunk::{Device, DeviceMemory, Packet, Peer};

use crate::Env;
use crate::link::{Pair, SENTINEL, fill_sentinel, random, untouched};
use crate::ports::{PortCtl, wait_link_down, wait_link_up};
use crate::util::{R, Rng, Tap, download, ensure, same_bytes, upload};

const PAGE: u64 = 4096;
/// Bytes each WRITE moves: several of the model's 64 KiB steps.
const LEN: u32 = 3 * 65536 + 5;
/// The responder's window, inside its block with a page on each side.
const WIN: u64 = 64 * PAGE;
const BLOCK: u64 = WIN + 2 * PAGE;
const WR_ID: u32 = 0xe44;

/// The data at device 0 and the block at device 1, filled with the
/// sentinel, that every case uses.
struct Setup<'a> {
    devs: [&'a Device; 2],
    port: u32,
    src: DeviceMemory<'a>,
    dst: DeviceMemory<'a>,
    data: Vec<u8>,
}

impl<'a> Setup<'a> {
    fn new(devs: [&'a Device; 2], port: u32) -> R<Self> {
        let data = random(&mut Rng::new(0xe7703), LEN as usize);
        let src = devs[0].device_memory(u64::from(LEN))?;
        let dst = devs[1].device_memory(BLOCK)?;
        upload(devs[0], src.addr(), &data)?;
        Ok(Self {
            devs,
            port,
            src,
            dst,
            data,
        })
    }

    /// The window: the block less its first and last page.
    fn window(&self) -> (u64, u64) {
        (self.dst.addr() + PAGE, WIN)
    }

    /// The block filled with the sentinel, and the two ends: device 0's
    /// connection the requester of device 1's, with the window.
    fn pair(&self) -> R<Pair<'a>> {
        fill_sentinel(self.devs[1], self.dst.addr(), BLOCK as usize)?;
        Pair::new(self.devs, self.port, self.window(), 0)
    }

    /// A WRITE of the data to offset `at` of the block.
    fn write(&self, p: &Pair, at: u64, len: u32) -> R<Packet> {
        Ok(Packet::nic_write(
            &p.op(0, WR_ID),
            self.src.addr(),
            self.dst.addr() + at,
            len,
        )?)
    }

    /// Runs a WRITE to offset `at` and checks that it failed with `status`
    /// at device 0, that device 1 saw nothing and that the block still
    /// holds the sentinel.
    fn refused(&self, p: &mut Pair, at: u64, len: u32, status: hlthunk::CqeStatus) -> R {
        p.run(0, &[self.write(p, at, len)?])?;
        p.expect(0, Write, status, 0, WR_ID)?;
        p.no_cqe(1)?;
        untouched(
            "the responder's block",
            self.devs[1],
            self.dst.addr(),
            BLOCK as usize,
        )
    }

    /// Runs a WRITE of the data to the window's start and checks it.
    fn works(&self, p: &mut Pair) -> R {
        p.run(0, &[self.write(p, PAGE, LEN)?])?;
        p.expect(0, Write, Done, LEN, WR_ID)?;
        let got = download(self.devs[1], self.dst.addr() + PAGE, LEN as usize)?;
        same_bytes("the window", &got, &self.data)
    }
}

fn destroyed_requester(s: &Setup) -> R {
    let mut p = s.pair()?;
    s.devs[0].destroy_conn(s.port, p.conns[0].id())?;
    s.refused(&mut p, PAGE, LEN, BadConn)
}

fn destroyed_responder(s: &Setup) -> R {
    let mut p = s.pair()?;
    s.devs[1].destroy_conn(s.port, p.conns[1].id())?;
    s.refused(&mut p, PAGE, LEN, RemoteAccess)?;
    p.run(0, &[Packet::nic_send(&p.op(0, 1), s.src.addr(), 8)?])?;
    p.expect(0, Send, RemoteAccess, 0, 1)
}

fn requester_not_set(s: &Setup) -> R {
    fill_sentinel(s.devs[1], s.dst.addr(), BLOCK as usize)?;
    let mut p = Pair::bare(s.devs, s.port)?;
    let (addr, size) = s.window();
    p.conns[1].set_responder(&p.peer(0)?, addr, size)?;
    s.refused(&mut p, PAGE, LEN, BadConn)
}

/// Device 0's connection names a port that is not its link's other end:
/// device 1's next port, or its own.
fn wrong_peer(s: &Setup) -> R {
    let next = (s.port + 1) % HL_MAX_PORTS;
    for (dev, port) in [(s.devs[1], next), (s.devs[0], s.port)] {
        fill_sentinel(s.devs[1], s.dst.addr(), BLOCK as usize)?;
        let mut p = Pair::bare(s.devs, s.port)?;
        let (addr, size) = s.window();
        p.conns[1].set_responder(&p.peer(0)?, addr, size)?;
        let wrong = Peer {
            mac: Peer::of(dev, port, 0, p.peer(1)?.ip)?.mac,
            ..p.peer(1)?
        };
        p.conns[0].set_requester(&wrong)?;
        s.refused(&mut p, PAGE, LEN, WrongPeer)?;
    }
    Ok(())
}

/// WRITEs that end past the window, start before it, or lie beyond it are
/// refused whole; one that ends exactly at its end is not.
fn outside_the_window(s: &Setup) -> R {
    let mut p = s.pair()?;
    let end = PAGE + WIN;
    s.refused(&mut p, end - u64::from(LEN) + 1, LEN, RemoteAccess)?;
    s.refused(&mut p, PAGE - 1, 100, RemoteAccess)?;
    s.refused(&mut p, 0, 1, RemoteAccess)?;
    s.refused(&mut p, end, 1, RemoteAccess)?;
    p.run(0, &[s.write(&p, end - u64::from(LEN), LEN)?])?;
    p.expect(0, Write, Done, LEN, WR_ID)?;
    let got = download(s.devs[1], s.dst.addr(), BLOCK as usize)?;
    let at = (end - u64::from(LEN)) as usize;
    same_bytes("the window's end", &got[at..at + LEN as usize], &s.data)?;
    ensure!(
        got[..at]
            .iter()
            .chain(&got[at + LEN as usize..])
            .all(|&b| b == SENTINEL),
        "bytes outside the WRITE changed"
    );
    Ok(())
}

fn empty_window(s: &Setup) -> R {
    fill_sentinel(s.devs[1], s.dst.addr(), BLOCK as usize)?;
    let mut p = Pair::new(s.devs, s.port, (s.dst.addr() + PAGE, 0), 0)?;
    s.refused(&mut p, PAGE, 1, RemoteAccess)
}

/// Device 1's responder names another connection of device 0.
fn responder_names_another(s: &Setup) -> R {
    fill_sentinel(s.devs[1], s.dst.addr(), BLOCK as usize)?;
    let mut p = Pair::bare(s.devs, s.port)?;
    let other = s.devs[0].connection(s.port)?;
    let (addr, size) = s.window();
    let named = Peer {
        conn: other.id(),
        ..p.peer(0)?
    };
    p.conns[1].set_responder(&named, addr, size)?;
    p.conns[0].set_requester(&p.peer(1)?)?;
    s.refused(&mut p, PAGE, LEN, RemoteAccess)
}

/// The model takes device `d`'s end of the link down: LINK_DOWN, nothing
/// written; once it is back, the same connections work.
fn link_down(s: &Setup, env: &Env, d: usize) -> R {
    let mut p = s.pair()?;
    {
        let _fault = PortCtl::fault(&env.bar2[d], s.port, PORT_FAULT_LINK_DOWN);
        wait_link_down(env)?;
        s.refused(&mut p, PAGE, LEN, LinkDown)?;
    }
    wait_link_up(env)?;
    s.works(&mut p)
}

pub fn errors(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("errors: open both devices", Err(e)),
    };
    let s = match Setup::new([&devs[0], &devs[1]], env.port) {
        Ok(s) => s,
        Err(e) => return t.check("errors: set-up", Err(e)),
    };
    t.check(
        "errors: the set-up works: a WRITE into the window is exact",
        s.pair().and_then(|mut p| s.works(&mut p)),
    );
    t.check(
        "errors: a destroyed requester connection: BAD_CONN, the destination unchanged",
        destroyed_requester(&s),
    );
    t.check(
        "errors: a destroyed responder connection: REMOTE_ACCESS for WRITE and SEND, the destination unchanged",
        destroyed_responder(&s),
    );
    t.check(
        "errors: a requester context never set: BAD_CONN, the destination unchanged",
        requester_not_set(&s),
    );
    t.check(
        "errors: a MAC not the peer's (another port, this port): WRONG_PEER, the destination unchanged",
        wrong_peer(&s),
    );
    t.check(
        "errors: WRITEs past, before and beyond the window: REMOTE_ACCESS, nothing written; up to its end: exact",
        outside_the_window(&s),
    );
    t.check(
        "errors: a window of 0 bytes: REMOTE_ACCESS, the destination unchanged",
        empty_window(&s),
    );
    t.check(
        "errors: a responder naming another connection: REMOTE_ACCESS, the destination unchanged",
        responder_names_another(&s),
    );
    for (d, end) in [(0, "requester"), (1, "responder")] {
        t.check(
            format!(
                "errors: PORT_FAULTS takes the link down at the {end}: LINK_DOWN, the destination unchanged; back up, it works"
            ),
            link_down(&s, env, d),
        );
    }
}
