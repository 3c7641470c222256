// SPDX-License-Identifier: GPL-2.0

//! GAUDI-to-GAUDI RDMA, the uAPI's NIC section: connections, their receive
//! queues and completion queues (CQs), numbered per port. Data moves by the
//! NIC packets ([`Packet::nic_write`](crate::Packet::nic_write), ...) in
//! jobs on the port's NIC queue, [`Queue::Nic`](crate::Queue::Nic).
//!
//! The wrappers pass their arguments to the driver as they are: it is the
//! one that checks them.
//!
//! A WRITE of 1 MiB from device 0's memory into device 1's over port 0,
//! whose Ethernet interface is up at both ends:
//!
//! ```no_run
//! use hlthunk::{CqeStatus, Device, NicOp, Packet, Peer, Queue};
//! use std::{net::Ipv4Addr, time::Duration};
//!
//! let (d0, d1) = (Device::open(0)?, Device::open(1)?);
//! let (src, dst) = (d0.device_memory(1 << 20)?, d1.device_memory(1 << 20)?);
//! let (c0, c1) = (d0.connection(0)?, d1.connection(0)?);
//! let ip = |d| Ipv4Addr::new(198, 18, 0, d);
//! c1.set_responder(&Peer::of(&d0, 0, c0.id(), ip(1))?, dst.addr(), 1 << 20)?;
//! c0.set_requester(&Peer::of(&d1, 0, c1.id(), ip(2))?)?;
//! let mut cq = d0.completion_queue(0, 8)?;
//! let op = NicOp::new(c0.id(), cq.id());
//! let cb = d0.command_buffer_of(&[Packet::nic_write(&op, src.addr(), dst.addr(), 1 << 20)?])?;
//! d0.wait_cs(d0.submit(&[cb.job(Queue::Nic(0))])?, Duration::from_secs(5))?;
//! assert_eq!(cq.next(Duration::from_secs(5))?.status, CqeStatus::Ok);
//! # Ok::<(), hlthunk::Error>(())
//! ```

use std::net::Ipv4Addr;
use std::ptr::{self, NonNull};
use std::sync::atomic::{Ordering, fence};
use std::time::Duration;
use std::{fmt, mem};

use crate::device::Device;
use crate::error::{Error, Result};
use crate::uapi::*;

/// The end of a connection at the other end of a port's link: the port by
/// its MAC address, an IPv4 address (kept for the RoCE headers of real
/// hardware), and the connection there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The port's MAC address.
    pub mac: [u8; 6],
    /// Not 0.0.0.0, loopback, multicast or broadcast.
    pub ip: Ipv4Addr,
    /// The connection, of that port.
    pub conn: u32,
}

impl Peer {
    /// `SET_REQ_CONN_CTX`'s input for connection `conn` of `port` to it.
    fn requester(&self, port: u32, conn: u32) -> hl_nic_req_conn_ctx_in {
        hl_nic_req_conn_ctx_in {
            dst_ip_addr: u32::from(self.ip).to_be(),
            dst_conn_id: self.conn,
            port,
            conn_id: conn,
            dst_mac_addr: self.mac,
            ..Default::default()
        }
    }

    /// Connection `conn` of port `port` of `dev`, with address `ip`.
    pub fn of(dev: &Device, port: u32, conn: u32, ip: Ipv4Addr) -> Result<Self> {
        let mac = dev
            .mac_addrs()?
            .ports
            .into_iter()
            .find_map(|(p, mac)| (p == port).then_some(mac))
            .ok_or_else(|| Error::invalid(format!("port {port} has no MAC address")))?;
        Ok(Self { mac, ip, conn })
    }
}

/// What a wait on a CQ found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqWait {
    /// Entries produced and not yet consumed.
    pub count: u32,
    /// Whether as many came as were waited for.
    pub completed: bool,
    /// Entries the device dropped on a full ring since the CQ was created.
    pub lost: u64,
}

/// A CQ as `CQ_CREATE` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqCreated {
    /// The CQ's number, of its port, as NIC packets name it.
    pub id: u32,
    /// The driver's handle, which names the CQ in the other CQ ops and is
    /// the offset to mmap() the ring at.
    pub handle: u64,
    /// The ring's mapping length, whole pages.
    pub mmap_size: u64,
}

/// The operation a CQE completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CqeOpcode {
    /// `NIC_WRITE`.
    Write,
    /// `NIC_SEND`.
    Send,
    /// `NIC_RECV`: a message filled the buffer.
    Recv,
    /// An opcode the library does not know.
    Unknown(u32),
}

impl From<u32> for CqeOpcode {
    fn from(code: u32) -> Self {
        match code {
            HL_NIC_CQE_OP_WRITE => Self::Write,
            HL_NIC_CQE_OP_SEND => Self::Send,
            HL_NIC_CQE_OP_RECV => Self::Recv,
            code => Self::Unknown(code),
        }
    }
}

/// How an operation ended: the syndrome of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CqeStatus {
    /// Success.
    Ok,
    /// The connection is not set up, or was destroyed.
    BadConn,
    /// The port is down at either end.
    LinkDown,
    /// The requester's peer MAC is not the peer's.
    WrongPeer,
    /// The responder refused.
    RemoteAccess,
    /// No receive buffer within 1 s.
    Rnr,
    /// The receive queue is full.
    RqFull,
    /// A status the library does not know.
    Unknown(u32),
}

impl From<u32> for CqeStatus {
    fn from(code: u32) -> Self {
        match code {
            HL_NIC_CQE_STATUS_OK => Self::Ok,
            HL_NIC_CQE_STATUS_BAD_CONN => Self::BadConn,
            HL_NIC_CQE_STATUS_LINK_DOWN => Self::LinkDown,
            HL_NIC_CQE_STATUS_WRONG_PEER => Self::WrongPeer,
            HL_NIC_CQE_STATUS_REMOTE_ACCESS => Self::RemoteAccess,
            HL_NIC_CQE_STATUS_RNR => Self::Rnr,
            HL_NIC_CQE_STATUS_RQ_FULL => Self::RqFull,
            code => Self::Unknown(code),
        }
    }
}

impl fmt::Display for CqeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => f.write_str("OK"),
            Self::BadConn => f.write_str("BAD_CONN"),
            Self::LinkDown => f.write_str("LINK_DOWN"),
            Self::WrongPeer => f.write_str("WRONG_PEER"),
            Self::RemoteAccess => f.write_str("REMOTE_ACCESS"),
            Self::Rnr => f.write_str("RNR"),
            Self::RqFull => f.write_str("RQ_FULL"),
            Self::Unknown(code) => write!(f, "status {code}"),
        }
    }
}

/// A completion queue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cqe {
    /// What completed.
    pub opcode: CqeOpcode,
    /// How.
    pub status: CqeStatus,
    /// The connection, of the CQ's port.
    pub conn: u32,
    /// Bytes that reached the destination.
    pub len: u32,
    /// The packet's.
    pub wr_id: u32,
}

impl From<hl_nic_cqe> for Cqe {
    fn from(e: hl_nic_cqe) -> Self {
        Self {
            opcode: CqeOpcode::from(e.ctl >> 24 & 0xf),
            status: CqeStatus::from(e.ctl >> 16 & 0xff),
            conn: e.ctl & 0xffff,
            len: e.len,
            wr_id: e.wr_id,
        }
    }
}

impl fmt::Display for Cqe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} on connection {}, {} bytes, wr_id {:#x}",
            self.opcode, self.status, self.conn, self.len, self.wr_id
        )
    }
}

/// An input struct of a NIC op: plain integers.
///
/// # Safety
///
/// The struct holds no pointer the driver would follow, and any bytes make
/// a valid value.
pub(crate) unsafe trait NicIo: Default + Copy {}

macro_rules! nic_io {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: integers and arrays of integers only.
        unsafe impl NicIo for $t {}
    )*};
}

nic_io!(
    hl_nic_alloc_conn_in,
    hl_nic_alloc_conn_out,
    hl_nic_req_conn_ctx_in,
    hl_nic_res_conn_ctx_in,
    hl_nic_destroy_conn_in,
    hl_nic_cq_create_in,
    hl_nic_cq_create_out,
    hl_nic_cq_destroy_in,
    hl_nic_cq_update_consumed_cqes_in,
    hl_nic_cq_poll_wait_in,
    hl_nic_cq_poll_wait_out,
    hl_nic_user_wq_arr_set_in,
    hl_nic_user_wq_arr_unset_in,
);

/// No output.
#[derive(Clone, Copy, Default)]
pub(crate) struct NoOutput;
// SAFETY: nothing.
unsafe impl NicIo for NoOutput {}

/// The CQ of `handle` as NIC packets name it (their `cq` field): the
/// driver's handle is the ring's mmap() offset, `CQ_MMAP_BASE` plus a page
/// per CQ, `port * CQS_PER_PORT + cq`.
pub(crate) fn cq_number(handle: u64) -> u32 {
    const CQ_MMAP_BASE: u64 = 1 << 40;
    const CQS_PER_PORT: u64 = 16;
    let page = crate::device::page_size() as u64;
    (handle.wrapping_sub(CQ_MMAP_BASE) / page % CQS_PER_PORT) as u32
}

impl Device {
    /// The NIC ioctl: `op` with `input`, its output (if any) returned.
    pub(crate) fn nic<I: NicIo, O: NicIo>(
        &self,
        op: u32,
        input: &I,
        what: &'static str,
    ) -> Result<O> {
        let mut out = O::default();
        let out_size = mem::size_of::<O>();
        let mut args = hl_nic_args {
            input_ptr: ptr::from_ref(input) as u64,
            output_ptr: if out_size == 0 {
                0
            } else {
                ptr::from_mut(&mut out) as u64
            },
            input_size: mem::size_of::<I>() as u32,
            output_size: out_size as u32,
            ctx_id: 0,
            op,
        };
        // SAFETY: hl_nic_args is NIC's argument; its pointers are `input`
        // and `out`, of the sizes given, plain integers (NicIo).
        unsafe { self.ioctl(HL_IOCTL_NIC, &mut args, what) }?;
        Ok(out)
    }

    /// `ALLOC_CONN`: the lowest free connection of `port`.
    pub fn alloc_conn(&self, port: u32) -> Result<u32> {
        let input = hl_nic_alloc_conn_in { port, pad: 0 };
        let out: hl_nic_alloc_conn_out = self.nic(HL_NIC_OP_ALLOC_CONN, &input, "ALLOC_CONN")?;
        Ok(out.conn_id)
    }

    /// `SET_REQ_CONN_CTX`: connection `conn` of `port` reaches `peer`.
    pub fn set_requester_conn_ctx(&self, port: u32, conn: u32, peer: &Peer) -> Result<()> {
        self.set_requester_raw(&peer.requester(port, conn))
    }

    pub(crate) fn set_requester_raw(&self, input: &hl_nic_req_conn_ctx_in) -> Result<()> {
        self.nic(HL_NIC_OP_SET_REQ_CONN_CTX, input, "SET_REQ_CONN_CTX")
            .map(|NoOutput| ())
    }

    /// `SET_RES_CONN_CTX`: `peer` may reach connection `conn` of `port`,
    /// and write the `win_size` bytes of this context's device memory at
    /// `win_addr` (both multiples of 4 KiB; size 0: no writes).
    pub fn set_responder_conn_ctx(
        &self,
        port: u32,
        conn: u32,
        peer: &Peer,
        win_addr: u64,
        win_size: u64,
    ) -> Result<()> {
        let input = hl_nic_res_conn_ctx_in {
            dst_ip_addr: u32::from(peer.ip).to_be(),
            dst_conn_id: peer.conn,
            port,
            conn_id: conn,
            dst_mac_addr: peer.mac,
            conn_peer: peer.conn,
            win_addr,
            win_size,
            ..Default::default()
        };
        self.set_responder_raw(&input)
    }

    pub(crate) fn set_responder_raw(&self, input: &hl_nic_res_conn_ctx_in) -> Result<()> {
        self.nic(HL_NIC_OP_SET_RES_CONN_CTX, input, "SET_RES_CONN_CTX")
            .map(|NoOutput| ())
    }

    /// `DESTROY_CONN`: resets both sides of the connection and frees it.
    pub fn destroy_conn(&self, port: u32, conn: u32) -> Result<()> {
        let input = hl_nic_destroy_conn_in {
            port,
            conn_id: conn,
        };
        self.nic(HL_NIC_OP_DESTROY_CONN, &input, "DESTROY_CONN")
            .map(|NoOutput| ())
    }

    /// `USER_WQ_SET`: gives connection `conn` a receive queue of
    /// `num_entries` buffers, before its responder context is set.
    pub fn set_user_wq(&self, port: u32, conn: u32, num_entries: u32) -> Result<()> {
        let input = hl_nic_user_wq_arr_set_in {
            port,
            num_of_wqs: 1,
            num_of_wq_entries: num_entries,
            type_: HL_NIC_USER_WQ_RECV,
            conn_id: conn,
            ..Default::default()
        };
        self.nic(HL_NIC_OP_USER_WQ_SET, &input, "USER_WQ_SET")
            .map(|NoOutput| ())
    }

    /// `USER_WQ_UNSET`: takes the receive queue away again.
    pub fn unset_user_wq(&self, port: u32, conn: u32) -> Result<()> {
        let input = hl_nic_user_wq_arr_unset_in {
            port,
            type_: HL_NIC_USER_WQ_RECV,
            conn_id: conn,
            pad: 0,
        };
        self.nic(HL_NIC_OP_USER_WQ_UNSET, &input, "USER_WQ_UNSET")
            .map(|NoOutput| ())
    }

    /// `CQ_CREATE`: a CQ of `num_entries` entries on `port`.
    /// [`Device::completion_queue`] also maps it.
    pub fn cq_create(&self, port: u32, num_entries: u32) -> Result<CqCreated> {
        let input = hl_nic_cq_create_in {
            cq_num_of_entries: num_entries,
            port,
            ..Default::default()
        };
        let out: hl_nic_cq_create_out = self.nic(HL_NIC_OP_CQ_CREATE, &input, "CQ_CREATE")?;
        let bytes = u64::from(num_entries) * mem::size_of::<hl_nic_cqe>() as u64;
        Ok(CqCreated {
            id: cq_number(out.handle),
            handle: out.handle,
            mmap_size: bytes.next_multiple_of(crate::device::page_size() as u64),
        })
    }

    /// `CQ_DESTROY`: stops the CQ of `handle` and frees it.
    pub fn cq_destroy(&self, handle: u64) -> Result<()> {
        let input = hl_nic_cq_destroy_in { handle };
        self.nic(HL_NIC_OP_CQ_DESTROY, &input, "CQ_DESTROY")
            .map(|NoOutput| ())
    }

    /// `CQ_WAIT`: waits up to `timeout` (zero: `CQ_POLL`, just looks) for
    /// `num_cqes` entries produced and not yet consumed.
    pub fn cq_wait(&self, handle: u64, num_cqes: u32, timeout: Duration) -> Result<CqWait> {
        let timeout_us = timeout.as_micros().min(u64::MAX.into()) as u64;
        let w = self.cq_wait_raw(handle, num_cqes, timeout_us)?;
        let completed = match w.status {
            HL_NIC_CQ_SUCCESS => true,
            HL_NIC_CQ_TIMEOUT => false,
            // Entries were lost since the last wait; enough may be there.
            HL_NIC_CQ_OVERFLOW => w.num_of_cqes >= num_cqes.max(1),
            s => {
                return Err(Error::new(
                    libc::EPROTO,
                    format!("CQ_WAIT: unknown status {s}"),
                ));
            }
        };
        Ok(CqWait {
            count: w.num_of_cqes,
            completed,
            lost: w.lost,
        })
    }

    pub(crate) fn cq_wait_raw(
        &self,
        handle: u64,
        num_cqes: u32,
        timeout_us: u64,
    ) -> Result<hl_nic_cq_poll_wait_out> {
        let input = hl_nic_cq_poll_wait_in {
            handle,
            timeout_us,
            num_cqes,
            pad: 0,
        };
        if timeout_us == 0 {
            self.nic(HL_NIC_OP_CQ_POLL, &input, "CQ_POLL")
        } else {
            self.nic(HL_NIC_OP_CQ_WAIT, &input, "CQ_WAIT")
        }
    }

    /// `CQ_UPDATE_CONSUMED_CQES`: hands `num_cqes` consumed entries back.
    pub fn cq_update_consumed(&self, handle: u64, num_cqes: u32) -> Result<()> {
        let input = hl_nic_cq_update_consumed_cqes_in {
            handle,
            cq_num_of_consumed_entries: num_cqes,
            pad: 0,
        };
        self.nic(
            HL_NIC_OP_CQ_UPDATE_CONSUMED_CQES,
            &input,
            "CQ_UPDATE_CONSUMED_CQES",
        )
        .map(|NoOutput| ())
    }

    /// Allocates a connection of `port`, destroyed when the returned
    /// [`Connection`] is dropped.
    pub fn connection(&self, port: u32) -> Result<Connection<'_>> {
        Ok(Connection {
            dev: self,
            port,
            id: self.alloc_conn(port)?,
        })
    }

    /// Creates a CQ of `num_entries` entries on `port` and maps its ring,
    /// until the returned [`Cq`] is dropped.
    pub fn completion_queue(&self, port: u32, num_entries: u32) -> Result<Cq<'_>> {
        let (c, ring) = self.map_cq(port, num_entries)?;
        Ok(Cq {
            dev: self,
            port,
            id: c.id,
            handle: c.handle,
            // SAFETY: the mapping holds `num_entries` entries and lives as
            // long as the Cq, which unmaps it.
            ring: unsafe { CqRing::new(ring, num_entries) },
            map_len: c.mmap_size as usize,
            ci: 0,
            polled: 0,
        })
    }

    /// Creates a CQ and maps its ring: the ring's first entry.
    pub(crate) fn map_cq(
        &self,
        port: u32,
        num_entries: u32,
    ) -> Result<(CqCreated, NonNull<hl_nic_cqe>)> {
        let c = self.cq_create(port, num_entries)?;
        let fits = usize::try_from(c.mmap_size)
            .is_ok_and(|len| len / mem::size_of::<hl_nic_cqe>() >= num_entries as usize);
        let mapped = if fits {
            self.mmap(c.handle, c.mmap_size as usize, "mmap CQ")
        } else {
            Err(Error::new(
                libc::EPROTO,
                format!("CQ_CREATE: {} bytes for {num_entries} entries", c.mmap_size),
            ))
        };
        match mapped {
            Ok(map) => Ok((c, map.cast())),
            Err(e) => {
                // The CQ is useless unmapped; the mmap error is the news.
                let _ = self.cq_destroy(c.handle);
                Err(e)
            }
        }
    }
}

/// A connection, allocated by [`Device::connection`]; dropping it destroys
/// it.
#[derive(Debug)]
pub struct Connection<'d> {
    dev: &'d Device,
    port: u32,
    id: u32,
}

impl Connection<'_> {
    /// Its number, of its port.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its port.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// See [`Device::set_requester_conn_ctx`].
    pub fn set_requester(&self, peer: &Peer) -> Result<()> {
        self.dev.set_requester_conn_ctx(self.port, self.id, peer)
    }

    /// See [`Device::set_responder_conn_ctx`].
    pub fn set_responder(&self, peer: &Peer, win_addr: u64, win_size: u64) -> Result<()> {
        self.dev
            .set_responder_conn_ctx(self.port, self.id, peer, win_addr, win_size)
    }

    /// See [`Device::set_user_wq`].
    pub fn set_user_wq(&self, num_entries: u32) -> Result<()> {
        self.dev.set_user_wq(self.port, self.id, num_entries)
    }

    /// See [`Device::unset_user_wq`].
    pub fn unset_user_wq(&self) -> Result<()> {
        self.dev.unset_user_wq(self.port, self.id)
    }

    /// Destroys the connection, reporting a failure that dropping would
    /// ignore.
    pub fn destroy(self) -> Result<()> {
        let (dev, port, id) = (self.dev, self.port, self.id);
        mem::forget(self);
        dev.destroy_conn(port, id)
    }
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        // Nothing to do about a failure; closing the device destroys it.
        let _ = self.dev.destroy_conn(self.port, self.id);
    }
}

/// A mapped CQ ring, where entries are read and their `READY` cleared.
pub(crate) struct CqRing {
    base: NonNull<hl_nic_cqe>,
    entries: u32,
}

impl CqRing {
    /// # Safety
    ///
    /// `base` maps `entries` CQEs (a power of two), readable and writable,
    /// for as long as the ring is used.
    pub(crate) unsafe fn new(base: NonNull<hl_nic_cqe>, entries: u32) -> Self {
        Self { base, entries }
    }

    fn slot(&self, index: u32) -> *mut hl_nic_cqe {
        // SAFETY: the index is reduced into the ring (`entries` is a power
        // of two, as the driver made it).
        unsafe {
            self.base
                .as_ptr()
                .add((index & (self.entries - 1)) as usize)
        }
    }

    /// Entry `index` (modulo the ring size) as it is in memory.
    pub(crate) fn read(&self, index: u32) -> hl_nic_cqe {
        // SAFETY: a slot of the mapping (new()); the device writes it, hence
        // volatile.
        unsafe { ptr::read_volatile(self.slot(index)) }
    }

    /// Takes entry `index` if the device produced it: its copy, with
    /// `READY` cleared in the ring.
    pub(crate) fn take(&self, index: u32) -> Option<hl_nic_cqe> {
        let slot = self.slot(index);
        // SAFETY: a slot of the mapping (new()).
        let ctl = unsafe { ptr::read_volatile(&raw const (*slot).ctl) };
        if ctl & HL_NIC_CQE_READY == 0 {
            return None;
        }
        // The device writes the other fields before ctl, with release.
        fence(Ordering::Acquire);
        let entry = self.read(index);
        // SAFETY: as above; the device writes this slot again only once it
        // is handed back (CQ_UPDATE_CONSUMED).
        unsafe { ptr::write_volatile(&raw mut (*slot).ctl, ctl & !HL_NIC_CQE_READY) };
        Some(entry)
    }
}

/// A completion queue, created and mapped by [`Device::completion_queue`];
/// dropping it unmaps and destroys it. It tracks its own consumer index:
/// [`Cq::poll`] takes the next entry, [`Cq::update_consumed`] hands the
/// taken entries back to the driver.
pub struct Cq<'d> {
    dev: &'d Device,
    port: u32,
    id: u32,
    handle: u64,
    ring: CqRing,
    map_len: usize,
    /// Entries taken, free-running.
    ci: u32,
    /// Entries taken and not yet handed back.
    polled: u32,
}

impl Cq<'_> {
    /// Its number, of its port.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its port.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The driver's handle of it.
    pub fn handle(&self) -> u64 {
        self.handle
    }

    /// Its ring's entries.
    pub fn entries(&self) -> u32 {
        self.ring.entries
    }

    /// Slot `i` of the ring (modulo its size) as it is, `READY` and all.
    pub fn slot(&self, i: u32) -> hl_nic_cqe {
        self.ring.read(i)
    }

    /// Takes the next entry, if the device produced it, and clears its
    /// `READY`.
    pub fn poll(&mut self) -> Option<Cqe> {
        let entry = self.ring.take(self.ci)?;
        self.ci = self.ci.wrapping_add(1);
        self.polled += 1;
        Some(Cqe::from(entry))
    }

    /// Waits up to `timeout` for `n` entries produced and not yet handed
    /// back (taken ones included).
    pub fn wait(&self, n: u32, timeout: Duration) -> Result<CqWait> {
        self.dev.cq_wait(self.handle, n, timeout)
    }

    /// Hands the entries taken so far back to the driver; returns how many.
    pub fn update_consumed(&mut self) -> Result<u32> {
        let n = self.polled;
        if n != 0 {
            self.dev.cq_update_consumed(self.handle, n)?;
            self.polled = 0;
        }
        Ok(n)
    }

    /// The next entry, waiting up to `timeout` for it (`ETIMEDOUT`); it
    /// and the entries taken before are handed back.
    pub fn next(&mut self, timeout: Duration) -> Result<Cqe> {
        self.update_consumed()?;
        let entry = match self.poll() {
            Some(e) => e,
            None => {
                let w = self.wait(1, timeout)?;
                self.poll().ok_or_else(|| {
                    Error::new(
                        libc::ETIMEDOUT,
                        format!(
                            "CQ {} of port {}: no entry in {timeout:?} ({} produced)",
                            self.id, self.port, w.count
                        ),
                    )
                })?
            }
        };
        self.update_consumed()?;
        Ok(entry)
    }
}

impl Drop for Cq<'_> {
    fn drop(&mut self) {
        // SAFETY: our mapping of `map_len` bytes; no reference to it
        // outlives `self`.
        unsafe { libc::munmap(self.ring.base.as_ptr().cast(), self.map_len) };
        // Nothing to do about a failure; closing the device destroys it.
        let _ = self.dev.cq_destroy(self.handle);
    }
}

impl fmt::Debug for Cq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cq")
            .field("port", &self.port)
            .field("id", &self.id)
            .field("entries", &self.ring.entries)
            .field("ci", &self.ci)
            .field("polled", &self.polled)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn peer_layout() {
        let p = Peer {
            mac: [2, 0xa0, 0, 0, 1, 3],
            ip: Ipv4Addr::new(198, 18, 3, 2),
            conn: 7,
        }
        .requester(1, 5);
        assert_eq!(p.dst_mac_addr, [2, 0xa0, 0, 0, 1, 3]);
        assert_eq!(p.dst_ip_addr.to_ne_bytes(), [198, 18, 3, 2]);
        assert_eq!((p.dst_conn_id, p.port, p.conn_id), (7, 1, 5));
        assert_eq!((p.src_ip_addr, p.cq_number, p.pad), (0, 0, 0));
    }

    #[test]
    fn cq_numbers() {
        let page = crate::device::page_size() as u64;
        assert_eq!(cq_number((1 << 40) + 3 * page), 3);
        assert_eq!(cq_number((1 << 40) + (2 * 16 + 5) * page), 5);
    }

    #[test]
    fn cqe_fields() {
        let e = Cqe::from(hl_nic_cqe {
            ctl: HL_NIC_CQE_READY | 3 << 24 | 4 << 16 | 0x1234,
            len: 4096,
            wr_id: 9,
            pad: 0,
        });
        assert_eq!(
            e,
            Cqe {
                opcode: CqeOpcode::Recv,
                status: CqeStatus::RemoteAccess,
                conn: 0x1234,
                len: 4096,
                wr_id: 9
            }
        );
        assert_eq!(
            e.to_string(),
            "Recv REMOTE_ACCESS on connection 4660, 4096 bytes, wr_id 0x9"
        );
        for code in 0..9 {
            let s = CqeStatus::from(code);
            assert_eq!(s == CqeStatus::Unknown(code), code > 6, "{s}");
            assert_eq!(
                CqeOpcode::from(code) == CqeOpcode::Unknown(code),
                !(1..=3).contains(&code)
            );
        }
    }

    #[test]
    fn ring_take_clears_ready_in_order() {
        let mut ring = [hl_nic_cqe::default(); 4];
        ring[1] = hl_nic_cqe {
            ctl: HL_NIC_CQE_READY | 1 << 24 | 5,
            len: 8,
            wr_id: 1,
            pad: 0,
        };
        // SAFETY: `ring` outlives `r` and holds 4 entries.
        let r = unsafe { CqRing::new(NonNull::from(&mut ring).cast(), 4) };
        assert!(r.take(0).is_none());
        let e = r.take(5).unwrap();
        assert_eq!(
            (e.ctl, e.len, e.wr_id),
            (HL_NIC_CQE_READY | 1 << 24 | 5, 8, 1)
        );
        assert_eq!(r.read(1).ctl, 1 << 24 | 5);
        assert!(r.take(1).is_none());
    }

    /// With valid arguments the ioctl is made: /dev/null has none.
    #[test]
    fn ioctl_errors_carry_errno() {
        let dev = Device::open_path(Path::new("/dev/null")).unwrap();
        let e = dev.alloc_conn(0).unwrap_err();
        assert_eq!((e.errno(), e.context()), (libc::ENOTTY, "ALLOC_CONN"));
        assert_eq!(
            dev.completion_queue(0, 8).unwrap_err().errno(),
            libc::ENOTTY
        );
        assert_eq!(dev.connection(0).unwrap_err().errno(), libc::ENOTTY);
    }
}
