// SPDX-License-Identifier: GPL-2.0

//! The two ends of the tests' link as most tests set them up: a connection
//! and a CQ on the port of each device, device 0's connection the
//! requester of device 1's.

use std::net::Ipv4Addr;
use std::time::Duration;

use hlthunk::{
    Connection, Cq, Cqe, CqeOpcode, CqeStatus, Device, DeviceMemory, NicOp, Packet, Peer, Queue,
};

use crate::util::{R, Rng, all_bytes, download, ensure, run_packets};

/// Entries of each CQ.
pub const CQ_ENTRIES: u32 = 64;
/// How long a completion may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// What fills memory an operation must not touch.
pub const SENTINEL: u8 = 0xc3;

/// The IPv4 address of device `d`'s end of port `port`'s link.
pub fn ip(port: u32, d: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, port as u8, d as u8 + 1)
}

/// `len` bytes of test data.
pub fn random(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    rng.fill(&mut v);
    v
}

/// Fills `len` bytes of `dev`'s memory at `addr` with [`SENTINEL`].
pub fn fill_sentinel(dev: &Device, addr: u64, len: usize) -> R {
    run_packets(
        dev,
        Queue::Dma0,
        &[Packet::memset(addr, SENTINEL, len as u32)?],
    )
}

/// Checks that the `len` bytes of `dev`'s memory at `addr` still hold
/// [`SENTINEL`].
pub fn untouched(what: &str, dev: &Device, addr: u64, len: usize) -> R {
    all_bytes(what, &download(dev, addr, len)?, SENTINEL)
}

/// A window over all of `mem` (the driver allocates whole 4 KiB pages).
pub fn window(mem: &DeviceMemory) -> (u64, u64) {
    (mem.addr(), mem.size().next_multiple_of(4096))
}

/// A connection and a CQ of the port on each of two devices.
pub struct Pair<'a> {
    pub devs: [&'a Device; 2],
    pub port: u32,
    pub conns: [Connection<'a>; 2],
    pub cqs: [Cq<'a>; 2],
}

impl<'a> Pair<'a> {
    /// A connection and a CQ on each device, neither context set.
    pub fn bare(devs: [&'a Device; 2], port: u32) -> R<Self> {
        Ok(Self {
            devs,
            port,
            conns: [devs[0].connection(port)?, devs[1].connection(port)?],
            cqs: [
                devs[0].completion_queue(port, CQ_ENTRIES)?,
                devs[1].completion_queue(port, CQ_ENTRIES)?,
            ],
        })
    }

    /// Device 0's connection reaches device 1's, which takes its writes
    /// into `window` (address, size) and has a receive queue of `wq`
    /// buffers (0: none).
    pub fn new(devs: [&'a Device; 2], port: u32, window: (u64, u64), wq: u32) -> R<Self> {
        let p = Self::bare(devs, port)?;
        if wq != 0 {
            p.conns[1].set_user_wq(wq)?;
        }
        p.conns[1].set_responder(&p.peer(0)?, window.0, window.1)?;
        p.conns[0].set_requester(&p.peer(1)?)?;
        Ok(p)
    }

    /// Device `d`'s connection, as the other end names it.
    pub fn peer(&self, d: usize) -> R<Peer> {
        Ok(Peer::of(
            self.devs[d],
            self.port,
            self.conns[d].id(),
            ip(self.port, d),
        )?)
    }

    /// An operation of device `d`'s connection, completing in its CQ.
    pub fn op(&self, d: usize, wr_id: u32) -> NicOp {
        NicOp {
            wr_id,
            ..NicOp::new(self.conns[d].id(), self.cqs[d].id())
        }
    }

    /// Runs `packets` as one job on device `d`'s NIC queue; the job must
    /// complete (a failed operation is a CQE, not a failed job).
    pub fn run(&self, d: usize, packets: &[Packet]) -> R {
        run_packets(self.devs[d], Queue::Nic(self.port), packets)
    }

    /// The next CQE of device `d`.
    pub fn cqe(&mut self, d: usize) -> R<Cqe> {
        Ok(self.cqs[d].next(WAIT)?)
    }

    /// Checks the next CQE of device `d`: an operation of its connection.
    pub fn expect(
        &mut self,
        d: usize,
        opcode: CqeOpcode,
        status: CqeStatus,
        len: u32,
        wr_id: u32,
    ) -> R {
        let got = self.cqe(d)?;
        let want = Cqe {
            opcode,
            status,
            conn: self.conns[d].id(),
            len,
            wr_id,
        };
        ensure!(got == want, "device {d}: CQE {got}, expected {want}");
        Ok(())
    }

    /// Checks that device `d`'s CQ holds no entry.
    pub fn no_cqe(&self, d: usize) -> R {
        let w = self.cqs[d].wait(1, Duration::ZERO)?;
        ensure!(
            w.count == 0 && !w.completed,
            "device {d}: {} unexpected CQEs",
            w.count
        );
        Ok(())
    }
}
