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
    control::Control,
    deadline::ms_from_us,
    identity::{Identity, RdmaLimits},
    mailbox::Command,
    marshal::{Arg, UapiIn, UapiOut},
    regs::rdma::MAX_CQS,
};
use conn::{Conn, Peer, ReceiveQueue, Window};
pub(crate) use cq::{Cq, CqEvents};

/// The first `mmap` offset of completion queues: CQ `k` of port `p` is at
/// `CQ_MMAP_BASE + (p * MAX_CQS + k) * PAGE_SIZE`. Command buffer handles stay below it.
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
fn ring_entries(entries: u32, pad: u32) -> Result<u32> {
    let in_range = (2..=uapi::HL_NIC_MAX_ENTRIES).contains(&entries);
    if pad != 0 || !entries.is_power_of_two() || !in_range {
        return Err(EINVAL);
    }
    Ok(entries)
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
    /// `CQ_CREATE`, with the ring.
    CqCreate {
        port: u8,
        entries: u32,
        ring: CoherentAllocation<u64>,
    },
    /// `CQ_DESTROY`.
    CqDestroy { port: u8, cq: u32 },
    /// `CQ_WAIT`, for at least `count` entries.
    CqWait {
        port: u8,
        cq: u32,
        count: u32,
        timeout_ms: u32,
    },
    /// `CQ_UPDATE_CONSUMED` of `count` entries.
    CqUpdate { port: u8, cq: u32, count: u32 },
}

impl Request {
    /// Checks `args` against the device and allocates the rings the request needs; for before
    /// the context is locked (`Binding::enter` comes first in the lock order).
    pub(crate) fn prepare(res: &Resources, args: &Arg<'_, uapi::hl_nic_in>) -> Result<Self> {
        let limits = res.limits.ok_or(EOPNOTSUPP)?;
        let present = res
            .port_mask
            .checked_shr(args.port)
            .is_some_and(|m| m & 1 != 0);
        if !present || args.flags != 0 || args.pad != 0 {
            return Err(EINVAL);
        }
        let (port, conn, cq) = (args.port as u8, args.conn_id, args.cq_id);
        // The union's members all start at its start.
        let union = core::mem::offset_of!(uapi::hl_nic_in, __bindgen_anon_1);
        Ok(match args.op {
            uapi::HL_NIC_OP_ALLOC_CONN => Self::AllocConn { port },
            uapi::HL_NIC_OP_SET_REQ_CONN_CTX => {
                let peer = Peer::new(&args.read(union)?, limits.conns)?;
                Self::SetRequester { port, conn, peer }
            }
            uapi::HL_NIC_OP_SET_RES_CONN_CTX => {
                let ctx: uapi::hl_nic_res_ctx = args.read(union)?;
                let peer = Peer::new(&ctx.peer, limits.conns)?;
                let window = Window::new(ctx.win_addr, ctx.win_size)?;
                Self::SetResponder {
                    port,
                    conn,
                    peer,
                    window,
                }
            }
            uapi::HL_NIC_OP_DESTROY_CONN => Self::DestroyConn { port, conn },
            uapi::HL_NIC_OP_USER_WQ_SET => {
                let wq: uapi::hl_nic_in__bindgen_ty_1__bindgen_ty_1 = args.read(union)?;
                let entries = ring_entries(wq.num_entries, wq.pad)?;
                Self::WqSet {
                    port,
                    conn,
                    rq: ReceiveQueue::new(&*res.control.bound()?, entries)?,
                }
            }
            uapi::HL_NIC_OP_USER_WQ_UNSET => Self::WqUnset { port, conn },
            uapi::HL_NIC_OP_CQ_CREATE => {
                let create: uapi::hl_nic_in__bindgen_ty_1__bindgen_ty_1 = args.read(union)?;
                let entries = ring_entries(create.num_entries, create.pad)?;
                let ring = Cq::alloc_ring(&*res.control.bound()?, entries)?;
                Self::CqCreate {
                    port,
                    entries,
                    ring,
                }
            }
            uapi::HL_NIC_OP_CQ_DESTROY => Self::CqDestroy { port, cq },
            uapi::HL_NIC_OP_CQ_WAIT => {
                let wait: uapi::hl_nic_in__bindgen_ty_1__bindgen_ty_2 = args.read(union)?;
                if wait.pad != 0 {
                    return Err(EINVAL);
                }
                let timeout_ms = ms_from_us(wait.timeout_us);
                Self::CqWait {
                    port,
                    cq,
                    count: wait.num_cqes,
                    timeout_ms,
                }
            }
            uapi::HL_NIC_OP_CQ_UPDATE_CONSUMED => {
                let update: uapi::hl_nic_in__bindgen_ty_1__bindgen_ty_3 = args.read(union)?;
                if update.pad != 0 {
                    return Err(EINVAL);
                }
                Self::CqUpdate {
                    port,
                    cq,
                    count: update.num_cqes,
                }
            }
            _ => return Err(EINVAL),
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
            } => {
                let mut out = NicOut::zeroed();
                out.set(Member::CqWait(cq.wait(res, count, timeout_ms)?));
                Ok(out)
            }
        }
    }
}

/// The answer of `HL_IOCTL_NIC`: an `hl_nic_out` with all its bytes initialised.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct NicOut(uapi::hl_nic_out);

/// A member of the answer's union.
enum Member {
    AllocConn(uapi::hl_nic_out__bindgen_ty_1__bindgen_ty_1),
    CqCreate(uapi::hl_nic_out__bindgen_ty_1__bindgen_ty_2),
    CqWait(uapi::hl_nic_out__bindgen_ty_1__bindgen_ty_3),
}

impl NicOut {
    /// All zeroes.
    fn zeroed() -> Self {
        // The largest member spans the union; bindgen's `Default` for unions is not inlined,
        // and the kernel does not export it to modules.
        type Largest = uapi::hl_nic_out__bindgen_ty_1__bindgen_ty_2;
        const _: () = assert!(size_of::<Largest>() == size_of::<uapi::hl_nic_out>());
        let u = uapi::hl_nic_out__bindgen_ty_1 {
            cq_create: Largest::default(),
        };
        Self(uapi::hl_nic_out {
            __bindgen_anon_1: u,
        })
    }

    /// Writes `member` over the start of the union; the bytes past it keep their values.
    fn set(&mut self, member: Member) {
        let u = &mut self.0.__bindgen_anon_1;
        match member {
            Member::AllocConn(m) => u.alloc_conn = m,
            Member::CqCreate(m) => u.cq_create = m,
            Member::CqWait(m) => u.cq_wait = m,
        }
    }
}

// SAFETY: `hl_nic_out` is `UapiIn`, and so is this transparent wrapper of it.
unsafe impl UapiIn for NicOut {}
// SAFETY: Made only by `NicOut::zeroed` (every byte initialised), then changed only by
// `NicOut::set`, which writes one member, a struct without implicit padding: no byte becomes
// uninitialised.
unsafe impl UapiOut for NicOut {}

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
    #[pin]
    quarantine: Mutex<Quarantine>,
}

impl Resources {
    /// The RDMA part of a device of identity `id`; `cq_events` has an entry per RDMA port.
    pub(crate) fn new(
        control: Control,
        id: &Identity,
        cq_events: KVec<Arc<CqEvents>>,
    ) -> impl PinInit<Self> {
        let (limits, port_mask) = (id.rdma, id.port_mask);
        pin_init!(Self {
            control,
            limits,
            port_mask,
            cq_events,
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

    /// Runs `request`. `in_dram(addr, size)` says whether a range lies in one block of the
    /// context's device memory.
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
        let mut out = NicOut::zeroed();
        match request {
            Request::AllocConn { port } => {
                res.usable()?;
                let free = |&c: &u32| self.conns.get(&(port, c)).is_none();
                let conn = (0..limits.conns).find(free).ok_or(ENOSPC)?;
                self.conns
                    .try_create_and_insert((port, conn), Conn::default(), GFP_KERNEL)?;
                out.set(Member::AllocConn(
                    uapi::hl_nic_out__bindgen_ty_1__bindgen_ty_1 {
                        conn_id: conn,
                        pad: 0,
                    },
                ));
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
            } => {
                res.usable()?;
                let free = |&k: &u32| self.cqs.get(&(port, k)).is_none();
                let k = (0..limits.cqs).find(free).ok_or(ENOSPC)?;
                let events = res.events(port).ok_or(EINVAL)?.clone();
                let cq = Arc::pin_init(Cq::new(port, k, entries, ring, events), GFP_KERNEL)?;
                let node = RBTreeNode::new((port, k), cq.clone(), GFP_KERNEL)?;
                cq.start(res)?;
                self.cqs.insert(node);
                out.set(Member::CqCreate(
                    uapi::hl_nic_out__bindgen_ty_1__bindgen_ty_2 {
                        cq_id: k,
                        pad: 0,
                        mmap_handle: mmap_offset(port, k),
                        mmap_size: cq.ring_size() as u64,
                    },
                ));
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

    /// Whether a responder window lies in `[start, start + len)` of device memory.
    pub(crate) fn has_window(&self, start: u64, len: u64) -> bool {
        self.conns
            .values()
            .any(|c| c.window().is_some_and(|w| w.overlaps(start, len)))
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
fn mmap_offset(port: u8, k: u32) -> u64 {
    CQ_MMAP_BASE + (u64::from(port) * u64::from(MAX_CQS) + u64::from(k)) * PAGE_SIZE as u64
}
