// SPDX-License-Identifier: GPL-2.0

//! GAUDI-to-GAUDI RDMA: the connections and completion queues the compute context owns on the
//! ports, and the `HL_IOCTL_NIC` operations on them.
//!
//! Glossary:
//! - connection: one end of a link between two ports' NIC QMANs, numbered per port.
//! - requester context: whom this end's `NIC_WRITE` and `NIC_SEND` reach.
//! - responder context: who may reach this end, and the window of device memory it may write.
//! - receive queue (the uAPI's WQ): where `NIC_RECV` posts buffers for incoming messages.
//! - completion queue (CQ): a ring of entries for finished operations, mapped by the user.
//!
//! The data moves by NIC packets in jobs on the NIC QMANs; the driver only sets up and tears
//! down what those packets name, for the one user of the compute node.

mod conn;
mod cq;

use kernel::{
    dma::CoherentAllocation,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{Arc, Mutex},
    uapi,
};

use crate::{
    context::CbSlot,
    control::Control,
    deadline::ms_from_us,
    identity::{Identity, RdmaLimits},
    mailbox::Command,
    marshal::{as_bytes, from_bytes},
    nic::Netdevs,
    regs::rdma::MAX_CQS,
};
use conn::{Conn, Peer, ReceiveQueue, Window};
pub(crate) use cq::{Cq, CqEvents};

/// The first `mmap` offset of completion queues: CQ `k` of port `p` is at
/// `CQ_MMAP_BASE + (p * MAX_CQS + k) * PAGE_SIZE`, which is also its handle. Command buffer
/// handles are above them all.
pub(crate) const CQ_MMAP_BASE: u64 = 1 << 40;

/// The outcome of a reset command. `ENODEV` means that the driver unbound, which reset the
/// whole device first (see `HlDevice::quiesce`): as good as the command.
fn reset_done(ret: Result) -> Result {
    match ret {
        Err(e) if e == ENODEV => Ok(()),
        ret => ret,
    }
}

/// A ring size from the uAPI: a power of two from 2 to `HL_NIC_MAX_ENTRIES`.
pub(crate) fn ring_entries(entries: u32) -> Result<u32> {
    let in_range = (2..=uapi::HL_NIC_MAX_ENTRIES).contains(&entries);
    if !entries.is_power_of_two() || !in_range {
        return Err(EINVAL);
    }
    Ok(entries)
}

/// The largest input struct of an operation.
pub(crate) const MAX_INPUT: usize = 64;

/// The size of operation `op`'s input struct; `ENOTTY` for an unknown operation, as the 2020
/// series answered.
pub(crate) fn input_size(op: u32) -> Result<usize> {
    Ok(match op {
        uapi::HL_NIC_OP_ALLOC_CONN => size_of::<uapi::hl_nic_alloc_conn_in>(),
        uapi::HL_NIC_OP_SET_REQ_CONN_CTX => size_of::<uapi::hl_nic_req_conn_ctx_in>(),
        uapi::HL_NIC_OP_SET_RES_CONN_CTX => size_of::<uapi::hl_nic_res_conn_ctx_in>(),
        uapi::HL_NIC_OP_DESTROY_CONN => size_of::<uapi::hl_nic_destroy_conn_in>(),
        uapi::HL_NIC_OP_CQ_CREATE => size_of::<uapi::hl_nic_cq_create_in>(),
        uapi::HL_NIC_OP_CQ_DESTROY => size_of::<uapi::hl_nic_cq_destroy_in>(),
        uapi::HL_NIC_OP_CQ_WAIT | uapi::HL_NIC_OP_CQ_POLL => {
            size_of::<uapi::hl_nic_cq_poll_wait_in>()
        }
        uapi::HL_NIC_OP_CQ_UPDATE_CONSUMED_CQES => {
            size_of::<uapi::hl_nic_cq_update_consumed_cqes_in>()
        }
        uapi::HL_NIC_OP_USER_WQ_SET => size_of::<uapi::hl_nic_user_wq_arr_set_in>(),
        uapi::HL_NIC_OP_USER_WQ_UNSET => size_of::<uapi::hl_nic_user_wq_arr_unset_in>(),
        _ => return Err(ENOTTY),
    })
}
const _: () = assert!(size_of::<uapi::hl_nic_res_conn_ctx_in>() <= MAX_INPUT);
const _: () = assert!(size_of::<uapi::hl_nic_req_conn_ctx_in>() <= MAX_INPUT);

/// The port and CQ a CQ handle (its `mmap` offset) names.
pub(crate) fn cq_of_handle(handle: u64) -> Result<(u8, u32)> {
    let n = handle.checked_sub(CQ_MMAP_BASE).ok_or(EINVAL)?;
    if n % PAGE_SIZE as u64 != 0 {
        return Err(EINVAL);
    }
    let n = n / PAGE_SIZE as u64;
    let port = u8::try_from(n / u64::from(MAX_CQS)).map_err(|_| EINVAL)?;
    Ok((port, (n % u64::from(MAX_CQS)) as u32))
}

/// A checked `HL_IOCTL_NIC` request, with the memory it needs.
pub(crate) enum Request {
    /// `ALLOC_CONN`.
    AllocConn { port: u8 },
    /// `SET_REQ_CONN_CTX`.
    SetRequester { port: u8, conn: u32, peer: Peer },
    /// `SET_RES_CONN_CTX`.
    SetResponder {
        port: u8,
        conn: u32,
        peer: Peer,
        window: Window,
    },
    /// `DESTROY_CONN`.
    DestroyConn { port: u8, conn: u32 },
    /// `USER_WQ_SET`, with the queue.
    WqSet {
        port: u8,
        conn: u32,
        rq: ReceiveQueue,
    },
    /// `USER_WQ_UNSET`.
    WqUnset { port: u8, conn: u32 },
    /// `CQ_CREATE`, with the ring and its slot of the context's buffers ([`Request::reserve`]).
    CqCreate {
        port: u8,
        entries: u32,
        ring: CoherentAllocation<u64>,
        slot: Option<CbSlot>,
    },
    /// `CQ_DESTROY`.
    CqDestroy { port: u8, cq: u32 },
    /// `CQ_WAIT` (`CQ_POLL`: a timeout of 0), for at least `count` entries.
    CqWait {
        port: u8,
        cq: u32,
        count: u32,
        timeout_ms: u32,
    },
    /// `CQ_UPDATE_CONSUMED_CQES` of `count` entries.
    CqUpdate { port: u8, cq: u32, count: u32 },
}

impl Request {
    /// Gives a `CQ_CREATE` a slot of the context's budget of buffers for its ring's bytes, from
    /// `reserve`: a ring lives as long as a mapping of it, past `CQ_DESTROY`, and counts until
    /// then.
    pub(crate) fn reserve(&mut self, reserve: impl FnOnce(usize) -> Result<CbSlot>) -> Result {
        if let Self::CqCreate { slot, ring, .. } = self {
            *slot = Some(reserve(ring.size())?);
        }
        Ok(())
    }

    /// Checks operation `op` with input `input` (its struct, zero-extended) against the device,
    /// and allocates the rings the request needs; for before the context is locked
    /// (`Binding::enter` comes first in the lock order).
    pub(crate) fn prepare(res: &Resources, op: u32, input: &[u8; MAX_INPUT]) -> Result<Self> {
        let limits = res.limits.ok_or(EOPNOTSUPP)?;
        let port_of = |port: u32| -> Result<u8> {
            let present = res.port_mask.checked_shr(port).is_some_and(|m| m & 1 != 0);
            if !present {
                return Err(EINVAL);
            }
            Ok(port as u8)
        };
        // Setting up a connection needs the port's netdev in the caller's network namespace:
        // elsewhere the port does not exist for the caller, as `SO_BINDTODEVICE` and rtnetlink
        // answer for a netdev of another namespace.
        let conn_port_of = |port: u32| -> Result<u8> {
            let port = port_of(port)?;
            if !res.netdevs.in_current_netns(port) {
                return Err(ENODEV);
            }
            Ok(port)
        };
        let cq_of = |handle: u64| -> Result<(u8, u32)> {
            let (port, cq) = cq_of_handle(handle)?;
            port_of(port.into())?;
            Ok((port, cq))
        };
        Ok(match op {
            uapi::HL_NIC_OP_ALLOC_CONN => {
                let i: uapi::hl_nic_alloc_conn_in = from_bytes(input)?;
                if i.pad != 0 {
                    return Err(EINVAL);
                }
                Self::AllocConn {
                    port: conn_port_of(i.port)?,
                }
            }
            uapi::HL_NIC_OP_SET_REQ_CONN_CTX => {
                let i: uapi::hl_nic_req_conn_ctx_in = from_bytes(input)?;
                let peer = Peer::new(i.dst_mac_addr, i.dst_ip_addr, i.dst_conn_id, limits.conns)?;
                Self::SetRequester {
                    port: conn_port_of(i.port)?,
                    conn: i.conn_id,
                    peer,
                }
            }
            uapi::HL_NIC_OP_SET_RES_CONN_CTX => {
                let i: uapi::hl_nic_res_conn_ctx_in = from_bytes(input)?;
                if i.pad != 0 {
                    return Err(EINVAL);
                }
                let peer = Peer::new(i.dst_mac_addr, i.dst_ip_addr, i.dst_conn_id, limits.conns)?;
                Self::SetResponder {
                    port: conn_port_of(i.port)?,
                    conn: i.conn_id,
                    peer,
                    window: Window::new(i.win_addr, i.win_size)?,
                }
            }
            uapi::HL_NIC_OP_DESTROY_CONN => {
                let i: uapi::hl_nic_destroy_conn_in = from_bytes(input)?;
                Self::DestroyConn {
                    port: port_of(i.port)?,
                    conn: i.conn_id,
                }
            }
            uapi::HL_NIC_OP_USER_WQ_SET => {
                let i: uapi::hl_nic_user_wq_arr_set_in = from_bytes(input)?;
                // The device model keeps receive queues itself, one per connection.
                if i.type_ != uapi::HL_NIC_USER_WQ_RECV
                    || i.addr != 0
                    || i.num_of_wqs != 1
                    || i.pad != 0
                {
                    return Err(EINVAL);
                }
                let entries = ring_entries(i.num_of_wq_entries)?;
                Self::WqSet {
                    port: port_of(i.port)?,
                    conn: i.conn_id,
                    rq: ReceiveQueue::new(&*res.control.bound()?, entries)?,
                }
            }
            uapi::HL_NIC_OP_USER_WQ_UNSET => {
                let i: uapi::hl_nic_user_wq_arr_unset_in = from_bytes(input)?;
                if i.type_ != uapi::HL_NIC_USER_WQ_RECV || i.pad != 0 {
                    return Err(EINVAL);
                }
                Self::WqUnset {
                    port: port_of(i.port)?,
                    conn: i.conn_id,
                }
            }
            uapi::HL_NIC_OP_CQ_CREATE => {
                let i: uapi::hl_nic_cq_create_in = from_bytes(input)?;
                if i.pad != 0 || i.pad2 != 0 {
                    return Err(EINVAL);
                }
                let entries = ring_entries(i.cq_num_of_entries)?;
                let port = port_of(i.port)?;
                let ring = Cq::alloc_ring(&*res.control.bound()?, entries)?;
                Self::CqCreate {
                    port,
                    entries,
                    ring,
                    slot: None,
                }
            }
            uapi::HL_NIC_OP_CQ_DESTROY => {
                let i: uapi::hl_nic_cq_destroy_in = from_bytes(input)?;
                let (port, cq) = cq_of(i.handle)?;
                Self::CqDestroy { port, cq }
            }
            uapi::HL_NIC_OP_CQ_WAIT | uapi::HL_NIC_OP_CQ_POLL => {
                let i: uapi::hl_nic_cq_poll_wait_in = from_bytes(input)?;
                if i.pad != 0 {
                    return Err(EINVAL);
                }
                let (port, cq) = cq_of(i.handle)?;
                let timeout_ms = if op == uapi::HL_NIC_OP_CQ_POLL {
                    0
                } else {
                    ms_from_us(i.timeout_us)
                };
                Self::CqWait {
                    port,
                    cq,
                    count: i.num_cqes.max(1),
                    timeout_ms,
                }
            }
            uapi::HL_NIC_OP_CQ_UPDATE_CONSUMED_CQES => {
                let i: uapi::hl_nic_cq_update_consumed_cqes_in = from_bytes(input)?;
                if i.pad != 0 {
                    return Err(EINVAL);
                }
                let (port, cq) = cq_of(i.handle)?;
                Self::CqUpdate {
                    port,
                    cq,
                    count: i.cq_num_of_consumed_entries,
                }
            }
            _ => return Err(ENOTTY),
        })
    }
}

/// What a request comes to under the context's lock.
pub(crate) enum Answer {
    Done(NicOut),
    /// `CQ_WAIT`, which sleeps: see [`Answer::finish`].
    Wait {
        cq: Arc<Cq>,
        count: u32,
        timeout_ms: u32,
    },
}

impl Answer {
    /// The answer to the request; for `CQ_WAIT`, once the wait is over. For after the context's
    /// lock is dropped.
    pub(crate) fn finish(self, res: &Resources) -> Result<NicOut> {
        match self {
            Answer::Done(out) => Ok(out),
            Answer::Wait {
                cq,
                count,
                timeout_ms,
            } => Ok(NicOut::CqWait(cq.wait(res, count, timeout_ms)?)),
        }
    }
}

/// The output struct of an `HL_IOCTL_NIC` operation.
pub(crate) enum NicOut {
    None,
    AllocConn(uapi::hl_nic_alloc_conn_out),
    CqCreate(uapi::hl_nic_cq_create_out),
    CqWait(uapi::hl_nic_cq_poll_wait_out),
}

impl NicOut {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            NicOut::None => &[],
            NicOut::AllocConn(o) => as_bytes(o),
            NicOut::CqCreate(o) => as_bytes(o),
            NicOut::CqWait(o) => as_bytes(o),
        }
    }
}

/// Connections and completion queues that failed to reset when their context closed. The
/// device may still use them, so their memory is kept until the device goes (unbind resets
/// it), and no new ones are handed out meanwhile: see [`Resources::usable`].
#[derive(Default)]
struct Quarantine {
    conns: KVec<Conn>,
    cqs: KVec<Arc<Cq>>,
}

impl Quarantine {
    fn is_empty(&self) -> bool {
        self.conns.is_empty() && self.cqs.is_empty()
    }
}

/// The device's RDMA part: what the contexts' connections and completion queues need of it,
/// where their waiters sleep, and what failed to reset.
#[pin_data]
pub(crate) struct Resources {
    control: Control,
    /// `None` without `CAPS.RDMA`: every request fails with `EOPNOTSUPP`.
    limits: Option<RdmaLimits>,
    port_mask: u32,
    /// Where waits for the completion queues of each RDMA port sleep.
    cq_events: KVec<Arc<CqEvents>>,
    /// The ports' netdevs, whose namespace connection set-up checks.
    netdevs: Arc<Netdevs>,
    #[pin]
    quarantine: Mutex<Quarantine>,
}

impl Resources {
    /// The RDMA part of a device of identity `id`; `cq_events` has an entry per RDMA port.
    pub(crate) fn new(
        control: Control,
        id: &Identity,
        cq_events: KVec<Arc<CqEvents>>,
        netdevs: Arc<Netdevs>,
    ) -> impl PinInit<Self> {
        let (limits, port_mask) = (id.rdma, id.port_mask);
        pin_init!(Self {
            control,
            limits,
            port_mask,
            cq_events,
            netdevs,
            quarantine <- new_mutex!(Quarantine::default()),
        })
    }

    /// `EIO` once a connection or CQ failed to reset (see [`Quarantine`]), until the device is
    /// bound again, and so reset.
    fn usable(&self) -> Result {
        if !self.quarantine.lock().is_empty() {
            return Err(EIO);
        }
        Ok(())
    }

    /// Where waits for the RDMA completion queues of each RDMA port sleep.
    pub(crate) fn all_events(&self) -> impl Iterator<Item = &Arc<CqEvents>> {
        self.cq_events.iter()
    }

    /// Where waits for the RDMA completion queues of port `port` sleep.
    fn events(&self, port: u8) -> Option<&Arc<CqEvents>> {
        self.cq_events.iter().find(|e| e.port == port)
    }

    /// For unbind, before the device is reset: ends every wait on the completion queues, with
    /// `ENODEV`, and lets nobody program a port any more (see [`CqEvents::close`]).
    pub(crate) fn close(&self) {
        for events in self.cq_events.iter() {
            events.close();
        }
    }

    /// For a hard reset: as [`Resources::close`], until [`Resources::resume`].
    pub(crate) fn suspend(&self) {
        self.close();
    }

    /// After a hard reset, which reset every connection and completion queue: the ports may be
    /// programmed again, and what failed to reset before is safe to let go.
    pub(crate) fn resume(&self) {
        let quarantine = core::mem::take(&mut *self.quarantine.lock());
        drop(quarantine);
        for events in self.cq_events.iter() {
            events.reopen();
        }
    }
}

/// Adds `x` to `list`; without memory for it, leaks it rather than free what the device may
/// still use.
fn keep<T>(list: &mut KVec<T>, x: T) {
    if list.reserve(1, GFP_KERNEL).is_err() {
        core::mem::forget(x);
        return;
    }
    // Room is reserved: this cannot fail, and so cannot drop `x`.
    let _ = list.push(x, GFP_KERNEL);
}

/// The connections and completion queues of a context, by port and number.
pub(crate) struct Rdma {
    conns: RBTree<(u8, u32), Conn>,
    cqs: RBTree<(u8, u32), Arc<Cq>>,
}

impl Rdma {
    pub(crate) fn new() -> Self {
        Self {
            conns: RBTree::new(),
            cqs: RBTree::new(),
        }
    }

    fn conn(&mut self, port: u8, conn: u32) -> Result<&mut Conn> {
        self.conns.get_mut(&(port, conn)).ok_or(EINVAL)
    }

    fn cq(&self, port: u8, cq: u32) -> Result<&Arc<Cq>> {
        self.cqs.get(&(port, cq)).ok_or(EINVAL)
    }

    /// Runs `request`. `in_dram(addr, size)` says whether a range lies in the device memory
    /// users reach.
    pub(crate) fn run(
        &mut self,
        res: &Resources,
        request: Request,
        in_dram: impl Fn(u64, u64) -> bool,
    ) -> Result<Answer> {
        let limits = res.limits.ok_or(EOPNOTSUPP)?;
        // Programming a context or a CQ hands memory to the device: not after unbind's reset.
        let arming = match request {
            Request::SetRequester { port, .. }
            | Request::SetResponder { port, .. }
            | Request::CqCreate { port, .. } => Some(res.events(port).ok_or(EINVAL)?.arm()?),
            _ => None,
        };
        let mut out = NicOut::None;
        match request {
            Request::AllocConn { port } => {
                res.usable()?;
                let free = |&c: &u32| self.conns.get(&(port, c)).is_none();
                let conn = (0..limits.conns).find(free).ok_or(ENOSPC)?;
                self.conns
                    .try_create_and_insert((port, conn), Conn::default(), GFP_KERNEL)?;
                out = NicOut::AllocConn(uapi::hl_nic_alloc_conn_out {
                    conn_id: conn,
                    pad: 0,
                });
            }
            Request::SetRequester { port, conn, peer } => {
                self.conn(port, conn)?
                    .set_requester(res.control.hw(), port, conn, &peer)?;
            }
            Request::SetResponder {
                port,
                conn,
                peer,
                window,
            } => {
                let target = self.conn(port, conn)?;
                if window.size != 0 && !in_dram(window.addr, window.size) {
                    return Err(EINVAL);
                }
                target.set_responder(res.control.hw(), port, conn, &peer, window)?;
            }
            Request::DestroyConn { port, conn } => {
                self.conn(port, conn)?;
                reset_done(res.control.run(Command::ConnReset {
                    port: port.into(),
                    conn: conn.into(),
                }))?;
                // No step of an operation uses the receive queue any more: free it.
                self.conns.remove(&(port, conn));
            }
            Request::WqSet { port, conn, rq } => self.conn(port, conn)?.set_rq(rq)?,
            Request::WqUnset { port, conn } => self.conn(port, conn)?.unset_rq()?,
            Request::CqCreate {
                port,
                entries,
                ring,
                slot,
            } => {
                res.usable()?;
                let free = |&k: &u32| self.cqs.get(&(port, k)).is_none();
                let k = (0..limits.cqs).find(free).ok_or(ENOSPC)?;
                let events = res.events(port).ok_or(EINVAL)?.clone();
                let cq = Cq::new(port, k, entries, ring, events, slot);
                let cq = Arc::pin_init(cq, GFP_KERNEL)?;
                let node = RBTreeNode::new((port, k), cq.clone(), GFP_KERNEL)?;
                cq.start(res)?;
                self.cqs.insert(node);
                out = NicOut::CqCreate(uapi::hl_nic_cq_create_out {
                    handle: mmap_offset(port, k),
                });
            }
            Request::CqDestroy { port, cq } => {
                self.cq(port, cq)?.reset(res)?;
                // Its waiters give up.
                self.cqs
                    .remove(&(port, cq))
                    .inspect(|cq| cq.events.notify());
            }
            Request::CqWait {
                port,
                cq,
                count,
                timeout_ms,
            } => {
                return Ok(Answer::Wait {
                    cq: self.cq(port, cq)?.clone(),
                    count,
                    timeout_ms,
                });
            }
            Request::CqUpdate { port, cq, count } => self.cq(port, cq)?.consume(res, count)?,
        }
        drop(arming);
        Ok(Answer::Done(out))
    }

    /// The `POLL*` events of the context's completion queues together.
    pub(crate) fn poll_events(&self, res: &Resources) -> u32 {
        self.cqs
            .values()
            .fold(0, |events, cq| events | cq.poll_events(res))
    }

    /// The completion queue whose ring is at `mmap` offset `offset`.
    pub(crate) fn cq_at(&self, offset: u64) -> Option<Arc<Cq>> {
        let n = offset.checked_sub(CQ_MMAP_BASE)? / PAGE_SIZE as u64;
        let port = u8::try_from(n / u64::from(MAX_CQS)).ok()?;
        self.cqs
            .get(&(port, (n % u64::from(MAX_CQS)) as u32))
            .cloned()
    }

    /// Resets every connection, then every completion queue, and lets them go: afterwards the
    /// device writes none of the context's host memory and takes no operation into its device
    /// memory. What failed to reset goes to the device's [`Quarantine`], and `false` is
    /// returned: the context's device memory must not be handed out again either.
    pub(crate) fn teardown(&mut self, res: &Resources) -> bool {
        let mut clean = true;
        while let Some(cursor) = self.conns.cursor_front() {
            let ((port, c), conn) = cursor.remove_current().1.to_key_value();
            let command = Command::ConnReset {
                port: port.into(),
                conn: c.into(),
            };
            if let Err(e) = reset_done(res.control.run(command)) {
                let errno = e.to_errno();
                dev_err!(
                    res.control.pdev(),
                    "port {} connection {}: reset failed: {}\n",
                    port,
                    c,
                    errno
                );
                keep(&mut res.quarantine.lock().conns, conn);
                clean = false;
            }
        }
        while let Some(cursor) = self.cqs.cursor_front() {
            let ((port, k), cq) = cursor.remove_current().1.to_key_value();
            if let Err(e) = cq.reset(res) {
                dev_err!(
                    res.control.pdev(),
                    "port {} CQ {}: reset failed: {}\n",
                    port,
                    k,
                    e.to_errno()
                );
                keep(&mut res.quarantine.lock().cqs, cq);
                clean = false;
            }
        }
        clean
    }
}

/// The `mmap` offset of CQ `k` of port `port`.
pub(crate) fn mmap_offset(port: u8, k: u32) -> u64 {
    CQ_MMAP_BASE + (u64::from(port) * u64::from(MAX_CQS) + u64::from(k)) * PAGE_SIZE as u64
}
