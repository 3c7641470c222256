// SPDX-License-Identifier: GPL-2.0

//! RDMA connections: the requester and responder contexts the driver writes for the user, and
//! the receive queue through which a responder takes messages.
//!
//! A context is written only while it is not `VALID` (a connection this context allocated
//! was reset by the previous user's close, by probe or by `CONN_RESET`), `VALID` last, and
//! at most once: to take it down the driver resets the whole connection.

use kernel::{
    device::{self, Bound},
    dma::CoherentAllocation,
    prelude::*,
};

use crate::{
    hw::Hw,
    regs::{
        rdma::{
            ConnBlock, ContextBlock, Side, CONN_CTL, PEER_CONN, PEER_MAC_HI, PEER_MAC_LO, RQ_BASE,
            RQ_SIZE, WIN_BASE, WIN_SIZE,
        },
        Regs,
    },
};

/// Bytes in a receive queue entry.
const RQE_SIZE: usize = 32;
/// Device memory windows are in pages of this size.
const WINDOW_GRANULE: u64 = 4096;

/// The other end of a connection, checked.
pub(crate) struct Peer {
    mac: [u8; 6],
    conn: u32,
}

impl Peer {
    /// Checks the peer: a unicast MAC, an IPv4 address a remote host may have (not 0.0.0.0,
    /// loopback, multicast or broadcast) and a connection below `conns`.
    ///
    /// The links are point to point and the device routes by MAC, so the address goes no
    /// further; a real port would put it in its RoCE headers.
    pub(crate) fn new(mac: [u8; 6], ip: u32, conn: u32, conns: u32) -> Result<Self> {
        // The address is in network byte order: its bytes in memory are the dotted quad.
        let ip = ip.to_ne_bytes();
        let mac_ok = mac[0] & 1 == 0 && mac != [0; 6];
        let ip_ok = ip != [0; 4] && ip[0] != 127 && !(224..240).contains(&ip[0]) && ip != [255; 4];
        if !mac_ok || !ip_ok || conn >= conns {
            return Err(EINVAL);
        }
        Ok(Self { mac, conn })
    }
}

/// The device memory a responder lets its requester write, checked for alignment only: the
/// caller checks that it lies in the context's memory.
#[derive(Clone, Copy)]
pub(crate) struct Window {
    pub(crate) addr: u64,
    pub(crate) size: u64,
}

impl Window {
    pub(crate) fn new(addr: u64, size: u64) -> Result<Self> {
        let aligned = addr % WINDOW_GRANULE == 0 && size % WINDOW_GRANULE == 0;
        if !aligned || addr.checked_add(size).is_none() {
            return Err(EINVAL);
        }
        Ok(Self { addr, size })
    }
}

/// A receive queue: host memory the device writes the entries of `NIC_RECV` into.
pub(crate) struct ReceiveQueue {
    mem: CoherentAllocation<u64>,
    entries: u32,
}

impl ReceiveQueue {
    /// Allocates a queue of `entries` entries (checked by the caller).
    pub(crate) fn new(dev: &device::Device<Bound>, entries: u32) -> Result<Self> {
        let words = entries as usize * RQE_SIZE / size_of::<u64>();
        Ok(Self {
            mem: CoherentAllocation::alloc_coherent(dev, words, crate::cb::user_gfp())?,
            entries,
        })
    }
}

/// A connection this context allocated, and what it set up on it.
#[derive(Default)]
pub(crate) struct Conn {
    requester: bool,
    /// The responder context's window, once it is set.
    responder: Option<Window>,
    rq: Option<ReceiveQueue>,
}

/// Sets context `side` of connection `conn` up for `peer`, and then makes it `VALID`, after
/// `more` (the responder's own registers) has run.
fn set_context(
    regs: &Regs,
    conn: ConnBlock,
    side: Side,
    peer: &Peer,
    more: impl FnOnce(&ConnBlock) -> Result,
) -> Result {
    let m = peer.mac;
    let ctx = ContextBlock { conn, side };
    PEER_MAC_LO::from(u32::from_le_bytes([m[0], m[1], m[2], m[3]])).try_write(regs, &ctx)?;
    let hi = u16::from_le_bytes([m[4], m[5]]);
    PEER_MAC_HI::default().set_bytes(hi).try_write(regs, &ctx)?;
    PEER_CONN::from(peer.conn).try_write(regs, &ctx)?;
    more(&ctx.conn)?;
    CONN_CTL::default().set_valid(true).try_write(regs, &ctx)
}

impl Conn {
    /// `SET_REQ_CONN_CTX` on connection `conn` of port `port`.
    pub(crate) fn set_requester(&mut self, hw: &Hw, port: u8, conn: u32, peer: &Peer) -> Result {
        if self.requester {
            return Err(EBUSY);
        }
        let block = ConnBlock { port, conn };
        let regs = hw.regs()?;
        set_context(&regs, block, Side::Requester, peer, |_| Ok(()))?;
        self.requester = true;
        Ok(())
    }

    /// `SET_RES_CONN_CTX` on connection `conn` of port `port`, with the receive queue, if any.
    pub(crate) fn set_responder(
        &mut self,
        hw: &Hw,
        port: u8,
        conn: u32,
        peer: &Peer,
        window: Window,
    ) -> Result {
        if self.responder.is_some() {
            return Err(EBUSY);
        }
        let regs = hw.regs()?;
        let block = ConnBlock { port, conn };
        set_context(&regs, block, Side::Responder, peer, |c| {
            WIN_BASE::from(window.addr).try_write(&regs, c)?;
            WIN_SIZE::from(window.size).try_write(&regs, c)?;
            if let Some(rq) = &self.rq {
                RQ_BASE::from(rq.mem.dma_handle()).try_write(&regs, c)?;
                RQ_SIZE::from(rq.entries).try_write(&regs, c)?;
            }
            Ok(())
        })?;
        self.responder = Some(window);
        Ok(())
    }

    /// `USER_WQ_SET`: only before the responder context, and once.
    pub(crate) fn set_rq(&mut self, rq: ReceiveQueue) -> Result {
        if self.responder.is_some() || self.rq.is_some() {
            return Err(EBUSY);
        }
        self.rq = Some(rq);
        Ok(())
    }

    /// `USER_WQ_UNSET`: only before the responder context; `EINVAL` without a queue.
    pub(crate) fn unset_rq(&mut self) -> Result {
        if self.responder.is_some() {
            return Err(EBUSY);
        }
        self.rq.take().map(drop).ok_or(EINVAL)
    }
}
