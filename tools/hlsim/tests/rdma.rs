// SPDX-License-Identifier: GPL-2.0

//! RDMA between devices wired in one process, driven as a driver drives it:
//! jobs on the NIC QMANs, connection contexts and completion queues in BAR2,
//! rings in a temp-file guest RAM, doorbells to [`Device::doorbell`].
//!
//! Packets and entries are encoded here from the spec, independently of the
//! model's decoders.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hlsim::device::Device;
use hlsim::mem::SharedMem;
use hlsim::regs::{eq, identity, mailbox, model_ctl, nic, qman, rdma, sync_manager as sm};
use tempfile::NamedTempFile;
use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

/// Failure bound of every wait.
const TIMEOUT: Duration = Duration::from_secs(10);
const RAM_SIZE: u64 = 32 << 20;
const DRAM_OFFSET: u64 = 0x10_0000;
const MIB: u64 = 1 << 20;
/// The model's step, which bounds what an operation moves at once.
const STEP: u64 = 64 << 10;

/// Device addresses, GAUDI's (see compute.rs).
const SM: u64 = 0x7f_fc4f_2000;
const DRAM: u64 = 0x2000_0000;
const HOST: u64 = 0x1_0000_0000_0000;

/// Job statuses and event causes.
const OK: u32 = 0;
const BAD_ADDRESS: u32 = 2;
const BAD_PACKET: u32 = 3;
const FENCE_TIMEOUT: u32 = 5;
const NOT_SUPPORTED: u32 = 6;

/// CQE statuses.
const BAD_CONN: u32 = 1;
const LINK_DOWN: u32 = 2;
const WRONG_PEER: u32 = 3;
const REMOTE_ACCESS: u32 = 4;
const RNR: u32 = 5;
const RQ_FULL: u32 = 6;

/// CQE opcodes.
const WRITE: u32 = 1;
const SEND: u32 = 2;
const RECV: u32 = 3;

/// NIC packet `ctl` bits.
const SOB: u32 = 1 << 10;
const CQE: u32 = 1 << 11;

/// Mailbox opcodes and statuses.
const RESET: u32 = 0x01;
const QMAN_RESET: u32 = 0x03;
const PORT_STOP: u32 = 0x04;
const CONN_RESET: u32 = 0x05;
const CQ_RESET: u32 = 0x06;
const BAD_SIZE: u32 = 4;

/// Compute queues.
const DMA0: usize = 0;
const TPC0: usize = 2;

/// Autonegotiation advertising every speed, and the link it gives.
const AUTO_ALL: u32 = 1 | 0xf << 16;
const UP_100G: u32 = 1 | 4 << 8;

/// The queue of port `p`'s NIC QMAN.
fn nicq(p: usize) -> usize {
    16 + p
}

/// Bytes without a zero among them, so that a prefix is easy to tell.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + (i >> 9) * 7 + usize::from(seed)) % 255 + 1) as u8)
        .collect()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_micros(200));
    }
}

/// The fields of a NIC packet.
#[derive(Clone, Copy)]
struct Op {
    conn: u32,
    cq: u32,
    wr_id: u32,
    /// Source, or the receive buffer.
    addr: u64,
    len: u32,
    ctl: u32,
}

/// An operation on connection `conn` of `len` bytes at DRAM offset `off`,
/// completing in CQ 0 with a CQE.
fn op(conn: u32, off: u64, len: u32) -> Op {
    Op {
        conn,
        cq: 0,
        wr_id: 0,
        addr: DRAM + off,
        len,
        ctl: CQE,
    }
}

/// A command buffer under construction.
#[derive(Default)]
struct Cb(Vec<u8>);

impl Cb {
    /// Appends a packet: `cfg`, `ctl` with `opcode`, then `rest`.
    fn packet(mut self, opcode: u32, fields: u32, cfg: u32, rest: &[u32]) -> Self {
        for word in [cfg, opcode << 24 | fields].iter().chain(rest) {
            self.0.extend(word.to_le_bytes());
        }
        self
    }

    fn wreg(self, off: u64, val: u32) -> Self {
        self.packet(0x01, (off as u32) << 8, val, &[])
    }

    fn msg_long(self, addr: u64, val: u32) -> Self {
        self.packet(0x03, 0, val, &[addr as u32, (addr >> 32) as u32])
    }

    /// `MSG_SHORT` to SOB `sob` through message base 1 (the SOBs).
    fn msg_short(self, sob: u32, val: u32) -> Self {
        self.packet(0x04, 1 << 22 | (4 * sob), val, &[])
    }

    fn fence(self, id: u32, target: u32, decrement: u32) -> Self {
        self.packet(0x08, 0, id << 30 | target << 16 | decrement, &[])
    }

    fn lin_dma(self, src: u64, dst: u64, size: u32) -> Self {
        let words = [
            src as u32,
            (src >> 32) as u32,
            dst as u32,
            (dst >> 32) as u32,
        ];
        self.packet(0x09, 0, size, &words)
    }

    fn nop(self) -> Self {
        self.packet(0x0a, 0, 0, &[])
    }

    fn exe(self, desc: u64) -> Self {
        self.packet(0x0f, 0, 0, &[desc as u32, (desc >> 32) as u32])
    }

    fn nic(self, opcode: u32, op: Op, dst: Option<u64>) -> Self {
        let mut words = vec![
            op.cq << 16 | op.conn,
            op.wr_id,
            op.addr as u32,
            (op.addr >> 32) as u32,
        ];
        if let Some(dst) = dst {
            words.extend([dst as u32, (dst >> 32) as u32]);
        }
        self.packet(opcode, op.ctl, op.len, &words)
    }

    fn write(self, op: Op, dst: u64) -> Self {
        self.nic(0x1c, op, Some(dst))
    }

    fn send(self, op: Op) -> Self {
        self.nic(0x1d, op, None)
    }

    fn recv(self, op: Op) -> Self {
        self.nic(0x1e, op, None)
    }

    /// Arms monitor `m` to add `data` to fence counter `id` of `queue` once
    /// SOB `sob` reaches `target`.
    fn arm_fence(self, m: u64, sob: u32, target: u32, queue: usize, id: u64, data: u32) -> Self {
        let pay = SM + sm::fence(queue, 0, id);
        self.wreg(sm::mon(m, sm::PAY_ADDR_LO), pay as u32)
            .wreg(sm::mon(m, sm::PAY_ADDR_HI), (pay >> 32) as u32)
            .wreg(sm::mon(m, sm::PAY_DATA), data)
            .wreg(
                sm::mon(m, sm::ARM),
                target << 17 | (!(1 << (sob % 8)) & 0xff) << 8 | (sob / 8),
            )
    }
}

/// A job completion: status, tag, info.
type Job = (u32, u32, u32);

/// An RDMA completion queue entry, `READY` checked and stripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cqe {
    opcode: u32,
    status: u32,
    conn: u32,
    len: u32,
    wr_id: u32,
}

fn cqe(opcode: u32, status: u32, conn: u32, len: u32, wr_id: u32) -> Cqe {
    Cqe {
        opcode,
        status,
        conn,
        len,
        wr_id,
    }
}

/// The driver's view of a QMAN: its PQ, BDs posted, its CQ.
struct Queue {
    pq: u64,
    pi: u32,
    cq: Consumer,
}

/// The driver's view of a ring it consumes: base, entries, consumed.
#[derive(Clone, Copy)]
struct Consumer {
    base: u64,
    entries: u32,
    ci: u32,
}

/// Devices sharing a guest RAM file, wired pairwise.
struct Rig {
    devs: Vec<Device>,
    irqs: Vec<Vec<EventFd>>,
    ram: Arc<SharedMem>,
    brk: Cell<u64>,
    /// Per device and queue.
    queues: RefCell<HashMap<(usize, usize), Queue>>,
    /// Per device, port and RDMA CQ.
    cqs: RefCell<HashMap<(usize, usize, usize), Consumer>>,
    /// Per device: the event queue.
    events: RefCell<HashMap<usize, Consumer>>,
    _file: NamedTempFile,
}

fn rig(n: usize, bar_size: u64) -> Rig {
    let file = NamedTempFile::new().unwrap();
    file.as_file().set_len(RAM_SIZE).unwrap();
    let ram = Arc::new(SharedMem::open(file.path()).unwrap());
    let mut devs = Vec::new();
    let mut irqs = Vec::new();
    for d in 0..n {
        let name = format!("r{d}");
        let dev = Device::new(&name, bar_size, 0x300 + d as u64, ram.clone()).unwrap();
        let fds: Vec<_> = (0..32)
            .map(|_| EventFd::new(EFD_NONBLOCK).unwrap())
            .collect();
        dev.attach(fds.iter().map(|f| f.try_clone().unwrap()).collect());
        devs.push(dev);
        irqs.push(fds);
    }
    for pair in devs.chunks(2) {
        if let [a, b] = pair {
            Device::wire(a, b);
        }
    }
    Rig {
        devs,
        irqs,
        ram,
        brk: Cell::new(0x1000),
        queues: RefCell::default(),
        cqs: RefCell::default(),
        events: RefCell::default(),
        _file: file,
    }
}

impl Rig {
    fn bar(&self, d: usize) -> &SharedMem {
        self.devs[d].bar2()
    }

    fn alloc(&self, len: u64, align: u64) -> u64 {
        let at = self.brk.get().next_multiple_of(align);
        assert!(at + len <= RAM_SIZE, "guest RAM exhausted");
        self.brk.set(at + len);
        at
    }

    fn write(&self, at: u64, data: &[u8]) {
        self.ram.file().write_all_at(data, at).unwrap();
    }

    fn read(&self, at: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.ram.file().read_exact_at(&mut buf, at).unwrap();
        buf
    }

    fn read_u32(&self, at: u64) -> u32 {
        u32::from_le_bytes(self.read(at, 4).try_into().unwrap())
    }

    fn write_u32(&self, at: u64, val: u32) {
        self.write(at, &val.to_le_bytes());
    }

    fn dram_write(&self, d: usize, off: u64, data: &[u8]) {
        self.bar(d)
            .file()
            .write_all_at(data, DRAM_OFFSET + off)
            .unwrap();
    }

    fn dram_read(&self, d: usize, off: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.bar(d)
            .file()
            .read_exact_at(&mut buf, DRAM_OFFSET + off)
            .unwrap();
        buf
    }

    fn sob(&self, d: usize, s: u64) -> u32 {
        self.bar(d).read32(sm::BASE + sm::sob(s))
    }

    fn doorbell(&self, d: usize, vector: usize) {
        self.devs[d].doorbell(vector as u32, 1).unwrap();
    }

    /// Sets up and enables queue `q` of device `d`, with 16-entry rings.
    fn queue(&self, d: usize, q: usize) {
        let (pq, cq) = (self.alloc(16 * 16, 16), self.alloc(8 * 16, 8));
        let (bar, block) = (self.bar(d), qman::block(q));
        bar.write64(block + qman::PQ_BASE_LO, pq);
        bar.write32(block + qman::PQ_SIZE, 16);
        bar.write64(block + qman::CQ_BASE_LO, cq);
        bar.write32(block + qman::CQ_SIZE, 16);
        bar.write64(block + qman::msg_base(0), SM + sm::PAY_ADDR_LO);
        bar.write64(block + qman::msg_base(1), SM + sm::SOB);
        bar.write32(block + qman::CTL, 1);
        let cq = Consumer {
            base: cq,
            entries: 16,
            ci: 0,
        };
        self.queues
            .borrow_mut()
            .insert((d, q), Queue { pq, pi: 0, cq });
    }

    /// Posts `cb` on queue `q` of device `d` and rings; returns its tag.
    fn submit(&self, d: usize, q: usize, cb: &Cb) -> u32 {
        let ptr = self.alloc(cb.0.len() as u64, 8);
        self.write(ptr, &cb.0);
        let tag = {
            let mut queues = self.queues.borrow_mut();
            let queue = queues.get_mut(&(d, q)).unwrap();
            let slot = queue.pq + 16 * u64::from(queue.pi % 16);
            self.write(slot, &ptr.to_le_bytes());
            self.write_u32(slot + 8, cb.0.len() as u32);
            self.write_u32(slot + 12, queue.pi & 0xffff);
            queue.pi += 1;
            self.bar(d)
                .write32_release(qman::block(q) + qman::PQ_PI, queue.pi);
            queue.pi - 1
        };
        self.doorbell(d, if q < 4 { 2 + q } else { q });
        tag
    }

    /// The next completion of queue `q` of device `d`, if any.
    fn try_job(&self, d: usize, q: usize) -> Option<Job> {
        let mut queues = self.queues.borrow_mut();
        let cq = &mut queues.get_mut(&(d, q)).unwrap().cq;
        if self.bar(d).read32_acquire(qman::block(q) + qman::CQ_PI) == cq.ci {
            return None;
        }
        let slot = cq.base + 8 * u64::from(cq.ci % cq.entries);
        let (ctl, info) = (self.read_u32(slot), self.read_u32(slot + 4));
        assert!(ctl & 1 << 31 != 0, "CQ_PI moved before READY");
        self.write_u32(slot, 0);
        cq.ci += 1;
        self.bar(d).write32(qman::block(q) + qman::CQ_CI, cq.ci);
        Some(((ctl >> 16) & 0xff, ctl & 0xffff, info))
    }

    /// Waits for the next completion of queue `q` of device `d`.
    fn job(&self, d: usize, q: usize) -> Job {
        let mut job = None;
        wait_for(&format!("a job of queue {q} of device {d}"), || {
            job = self.try_job(d, q);
            job.is_some()
        });
        job.unwrap()
    }

    /// Runs `cb` on queue `q` of device `d`: its status and info.
    fn run(&self, d: usize, q: usize, cb: &Cb) -> (u32, u32) {
        eprintln!(
            "CB {:x?}",
            cb.0.chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect::<Vec<_>>()
        );
        let tag = self.submit(d, q, cb);
        let (status, done, info) = self.job(d, q);
        assert_eq!(done, tag);
        (status, info)
    }

    fn run_ok(&self, d: usize, q: usize, cb: &Cb) {
        assert_eq!(self.run(d, q, cb), (OK, 0), "device {d} queue {q}");
    }

    /// Runs mailbox command `opcode` on device `d`: its status.
    fn command(&self, d: usize, opcode: u32, args: [u64; 2]) -> u32 {
        let bar = self.bar(d);
        let seq = bar.read32(mailbox::CMD_DONE_SEQ) + 1;
        bar.write64(mailbox::ARG0_LO, args[0]);
        bar.write64(mailbox::ARG0_LO + 8, args[1]);
        bar.write32(mailbox::CMD, opcode);
        bar.write32(mailbox::CMD_SEQ, seq);
        let done = self.devs[d].doorbell(0, 1).unwrap();
        assert_eq!(done.map(|c| c.seq), Some(seq), "command did not run");
        bar.read32(mailbox::CMD_STATUS)
    }

    /// Enables port `p` of devices 0 and 1 and waits for the link.
    fn up(&self, p: usize) {
        self.link([(0, p), (1, p)]);
    }

    /// Enables the two ports `ends`, (device, port), and waits for their
    /// link.
    fn link(&self, ends: [(usize, usize); 2]) {
        for (d, p) in ends {
            let block = nic::block(p);
            self.bar(d).write32(block + nic::LINK_CFG, AUTO_ALL);
            // Ethernet frames of the tests go to any address: promiscuous.
            self.bar(d).write32(block + nic::RX_FILTER, 1);
            self.bar(d).write32(block + nic::CTL, 1);
            self.doorbell(d, 6 + p);
        }
        wait_for("the link", || {
            ends.iter()
                .all(|&(d, p)| self.bar(d).read32(nic::block(p) + nic::LINK_STATUS) == UP_100G)
        });
    }

    /// Port `p`'s MAC as its `MAC` registers hold it.
    fn mac(&self, d: usize, p: usize) -> (u32, u32) {
        let p = p as u64;
        let bar = self.bar(d);
        (
            bar.read32(identity::mac_lo(p)),
            bar.read32(identity::mac_hi(p)),
        )
    }

    fn conn_set(&self, d: usize, p: usize, c: usize, off: u64, val: u32) {
        self.bar(d).write32(rdma::conn(p, c) + off, val);
    }

    /// Sets the requester context of connection `c` of port `p` of device
    /// `d`, to connection `pc` of the port with MAC `mac`.
    fn req(&self, (d, p, c): (usize, usize, usize), mac: (u32, u32), pc: usize) {
        self.conn_set(d, p, c, rdma::REQ_PEER_MAC_LO, mac.0);
        self.conn_set(d, p, c, rdma::REQ_PEER_MAC_HI, mac.1);
        self.conn_set(d, p, c, rdma::REQ_PEER_CONN, pc as u32);
        self.conn_set(d, p, c, rdma::REQ_CTL, 1);
    }

    /// Sets the responder context of connection `c` of port `p` of device
    /// `d`, for connection `pc` of the port with MAC `mac`: a WRITE window
    /// of `size` bytes at DRAM offset `base`, and a receive queue of `rq`
    /// entries if not 0.
    fn res(
        &self,
        (d, p, c): (usize, usize, usize),
        mac: (u32, u32),
        pc: usize,
        (base, size): (u64, u64),
        rq: u32,
    ) {
        let bar = self.bar(d);
        let ctx = rdma::conn(p, c);
        bar.write32(ctx + rdma::RES_PEER_MAC_LO, mac.0);
        bar.write32(ctx + rdma::RES_PEER_MAC_HI, mac.1);
        bar.write32(ctx + rdma::RES_PEER_CONN, pc as u32);
        bar.write64(ctx + rdma::WIN_BASE_LO, DRAM + base);
        bar.write64(ctx + rdma::WIN_SIZE_LO, size);
        if rq != 0 {
            bar.write64(ctx + rdma::RQ_BASE_LO, self.alloc(32 * u64::from(rq), 32));
            bar.write32(ctx + rdma::RQ_SIZE, rq);
        }
        bar.write32_release(ctx + rdma::RES_CTL, 1);
    }

    /// Connects connection `c0` of port `p` of device 0 with connection
    /// `c1` of device 1 both ways: windows of `size` bytes at `base` at
    /// each end, receive queues of `rq` entries.
    fn connect(&self, p: usize, (c0, c1): (usize, usize), window: (u64, u64), rq: u32) {
        self.connect_ends([(0, p, c0), (1, p, c1)], window, rq);
    }

    /// Connects the two connections `ends`, (device, port, connection),
    /// both ways, as [`Rig::connect`] does.
    fn connect_ends(&self, ends: [(usize, usize, usize); 2], window: (u64, u64), rq: u32) {
        let [a, b] = ends;
        let (ma, mb) = (self.mac(a.0, a.1), self.mac(b.0, b.1));
        self.req(a, mb, b.2);
        self.req(b, ma, a.2);
        self.res(a, mb, b.2, window, rq);
        self.res(b, ma, a.2, window, rq);
    }

    /// Sets up and enables RDMA CQ `k` of port `p` of device `d` with
    /// `entries` entries, raising its vector if `irq`.
    fn cq(&self, (d, p, k): (usize, usize, usize), entries: u32, irq: bool) {
        let base = self.alloc(16 * u64::from(entries), 16);
        let (bar, block) = (self.bar(d), rdma::cq(p, k));
        bar.write64(block + rdma::CQ_BASE_LO, base);
        bar.write32(block + rdma::CQ_SIZE, entries);
        bar.write32(block + rdma::CQ_CTL, 1 | u32::from(irq) << 1);
        let cq = Consumer {
            base,
            entries,
            ci: 0,
        };
        self.cqs.borrow_mut().insert((d, p, k), cq);
    }

    fn cq_reg(&self, (d, p, k): (usize, usize, usize), off: u64) -> u32 {
        self.bar(d).read32_acquire(rdma::cq(p, k) + off)
    }

    /// The next entry of RDMA CQ `k` of port `p` of device `d`, if any.
    fn try_cqe(&self, at: (usize, usize, usize)) -> Option<Cqe> {
        let mut cqs = self.cqs.borrow_mut();
        let cq = cqs.get_mut(&at).unwrap();
        if self.cq_reg(at, rdma::CQ_PI) == cq.ci {
            return None;
        }
        let slot = cq.base + 16 * u64::from(cq.ci % cq.entries);
        let ctl = self.read_u32(slot);
        assert!(ctl & 1 << 31 != 0, "CQ_PI moved before READY");
        assert_eq!(ctl & 0x7000_0000, 0, "reserved CQE bits");
        assert_eq!(self.read_u32(slot + 12), 0, "reserved CQE word");
        self.write_u32(slot, 0);
        cq.ci += 1;
        let (d, p, k) = at;
        self.bar(d).write32(rdma::cq(p, k) + rdma::CQ_CI, cq.ci);
        Some(cqe(
            ctl >> 24 & 0xf,
            ctl >> 16 & 0xff,
            ctl & 0xffff,
            self.read_u32(slot + 4),
            self.read_u32(slot + 8),
        ))
    }

    /// Waits for the next entry of an RDMA CQ.
    fn cqe(&self, at: (usize, usize, usize)) -> Cqe {
        let mut cqe = None;
        wait_for(&format!("a CQE in {at:?}"), || {
            cqe = self.try_cqe(at);
            cqe.is_some()
        });
        cqe.unwrap()
    }

    /// Interrupts on `vector` of device `d` since the last look.
    fn irqs(&self, d: usize, vector: usize) -> u64 {
        self.irqs[d][vector].read().unwrap_or(0)
    }

    /// Waits for `n` interrupts on `vector` of device `d`, then a while
    /// for more; returns how many came.
    fn irqs_settle(&self, d: usize, vector: usize, n: u64) -> u64 {
        let mut seen = 0;
        wait_for("interrupts", || {
            seen += self.irqs(d, vector);
            seen >= n
        });
        thread::sleep(Duration::from_millis(20));
        seen + self.irqs(d, vector)
    }

    /// Sets up the event queue of device `d` with 16 entries.
    fn event_queue(&self, d: usize) {
        let base = self.alloc(16 * 16, 16);
        self.bar(d).write64(eq::EQ_BASE_LO, base);
        self.bar(d).write32(eq::EQ_SIZE, 16);
        self.bar(d).write32(eq::EQ_CTL, 1);
        let events = Consumer {
            base,
            entries: 16,
            ci: 0,
        };
        self.events.borrow_mut().insert(d, events);
    }

    /// The next event of device `d`: queue, cause, info.
    fn event(&self, d: usize) -> Option<(u32, u32, u64)> {
        let mut events = self.events.borrow_mut();
        let ev = events.get_mut(&d).unwrap();
        if self.bar(d).read32_acquire(eq::EQ_PI) == ev.ci {
            return None;
        }
        let slot = ev.base + 16 * u64::from(ev.ci % ev.entries);
        let hdr = self.read_u32(slot);
        let info = u64::from_le_bytes(self.read(slot + 8, 8).try_into().unwrap());
        ev.ci += 1;
        self.bar(d).write32(eq::EQ_CI, ev.ci);
        Some((hdr >> 16 & 0xff, self.read_u32(slot + 4), info))
    }

    /// The length of the prefix of `data` that DRAM of device `d` holds at
    /// `off`, checking that the rest is still zero.
    fn prefix(&self, d: usize, off: u64, data: &[u8]) -> usize {
        let got = self.dram_read(d, off, data.len());
        let n = got.iter().zip(data).take_while(|(a, b)| a == b).count();
        assert!(got[n..].iter().all(|&b| b == 0), "not a prefix");
        n
    }
}

/// A rig of two devices with `bar_size` BARs, port `p` up between them,
/// connection 1 of device 0 and connection 2 of device 1 connected with
/// `window`, receive queues of `rq` entries, NIC queues and CQ 0 set up.
fn pair(bar_size: u64, p: usize, window: (u64, u64), rq: u32) -> Rig {
    let r = rig(2, bar_size);
    r.up(p);
    r.connect(p, (1, 2), window, rq);
    for d in 0..2 {
        r.queue(d, nicq(p));
        r.cq((d, p, 0), 64, true);
    }
    r
}

#[test]
fn identity_and_nic_queues() {
    let r = rig(2, 4 << 20);
    let bar = r.bar(0);
    assert_eq!(bar.read32(identity::CAPS), 0xf);
    assert_eq!(bar.read32(identity::RDMA_CONNS), 64);
    assert_eq!(bar.read32(identity::RDMA_CQS), 16);
    assert_eq!(bar.read32(identity::NUM_QUEUES), 4);
    for p in 0..10 {
        // ENGINE of the NIC queue's stream 0 (queue 16 + p, blocks of 0x400).
        assert_eq!(bar.read32(0x5030 + 0x400 * p as u64), 2 | (p as u32) << 8);
    }
    // The generic packets run on a NIC queue, with its own fence counters.
    let p = 3;
    r.queue(0, nicq(p));
    r.queue(0, DMA0);
    let cb = Cb::default()
        .msg_short(5, 0x1234)
        .msg_long(DRAM + 0x100, 0xabcd)
        .wreg(sm::fence(nicq(p), 0, 2), 1)
        .fence(2, 1, 1);
    r.run_ok(0, nicq(p), &cb);
    assert_eq!(r.sob(0, 5), 0x1234);
    assert_eq!(r.dram_read(0, 0x100, 4), 0xabcdu32.to_le_bytes());
    assert_eq!(r.irqs_settle(0, 16 + p, 1), 1, "vector 16 + p");
    // A job on another queue releases a NIC job's FENCE.
    let tag = r.submit(
        0,
        nicq(p),
        &Cb::default()
            .arm_fence(0, 20, 1, nicq(p), 1, 1)
            .fence(1, 1, 1)
            .msg_short(21, 7),
    );
    thread::sleep(Duration::from_millis(50));
    assert_eq!(r.try_job(0, nicq(p)), None, "fenced");
    r.run_ok(0, DMA0, &Cb::default().msg_short(20, 1));
    assert_eq!(r.job(0, nicq(p)), (OK, tag, 0));
    assert_eq!(r.sob(0, 21), 7);

    // QMAN_RESET knows the NIC queues, and only the existing ones.
    assert_eq!(r.command(0, QMAN_RESET, [nicq(p) as u64, 0]), OK);
    assert_eq!(bar.read32(qman::block(nicq(p)) + qman::CTL), 0);
    assert_eq!(bar.read32(qman::block(nicq(p)) + qman::ENGINE), 0x302);
    for q in [28, 31, 1 << 32] {
        assert_eq!(r.command(0, QMAN_RESET, [q, 0]), BAD_SIZE, "queue {q}");
    }
}

#[test]
fn bad_packets_fail_the_job() {
    let p = 0;
    let r = pair(4 << 20, p, (0, MIB), 4);
    r.event_queue(0);
    r.queue(0, DMA0);
    r.queue(0, TPC0);
    let dram_size = (4 << 20) - DRAM_OFFSET;
    let ok = op(1, 0, 16);
    // Each failing packet follows a NOP.
    let nop = || Cb::default().nop();
    let cases = [
        (nicq(p), BAD_PACKET, nop().write(Op { len: 0, ..ok }, DRAM)),
        (nicq(p), BAD_PACKET, nop().send(Op { conn: 64, ..ok })),
        (nicq(p), BAD_PACKET, nop().recv(Op { cq: 16, ..ok })),
        (
            nicq(p),
            BAD_PACKET,
            nop().send(Op {
                conn: 1 << 24 | 1,
                ..ok
            }),
        ),
        (nicq(p), BAD_PACKET, nop().send(Op { ctl: 1 << 12, ..ok })),
        // Truncated by the end of the CB.
        (nicq(p), BAD_PACKET, nop().packet(0x1c, 0, 1, &[0, 0, 0, 0])),
        (
            nicq(p),
            BAD_ADDRESS,
            nop().write(
                Op {
                    addr: DRAM + dram_size - 8,
                    ..ok
                },
                DRAM,
            ),
        ),
        (nicq(p), BAD_ADDRESS, nop().send(Op { addr: HOST, ..ok })),
        (nicq(p), BAD_ADDRESS, nop().recv(Op { addr: SM, ..ok })),
        (nicq(p), NOT_SUPPORTED, nop().lin_dma(DRAM, DRAM + 64, 4)),
        (nicq(p), NOT_SUPPORTED, nop().exe(DRAM)),
        (DMA0, NOT_SUPPORTED, nop().write(ok, DRAM)),
        (TPC0, NOT_SUPPORTED, nop().recv(ok)),
    ];
    // The BAD_ADDRESS events carry the address (GAUDI's RAZWI), in order:
    // a range across the end of BAR2's window, the host range, the SM.
    let mut razwi = [DRAM + dram_size - 8, HOST, SM].into_iter();
    for (i, (q, status, cb)) in cases.into_iter().enumerate() {
        assert_eq!(r.run(0, q, &cb), (status, 8), "case {i}");
        let info = match status {
            BAD_ADDRESS => razwi.next().unwrap(),
            _ => 8,
        };
        assert_eq!(r.event(0), Some((q as u32, status, info)), "case {i}");
    }
    assert_eq!(razwi.next(), None);
    // Nothing moved, nothing completed.
    assert_eq!(r.try_cqe((0, p, 0)), None);
    assert_eq!(r.try_cqe((1, p, 0)), None);
    assert_eq!(r.bar(0).read32(rdma::conn(p, 1) + rdma::RQ_PI), 0);
}

#[test]
fn writes_are_byte_exact() {
    let p = 4;
    let window = (0x100_0000, 0x500_0000);
    let r = pair(256 << 20, p, window, 0);
    let data = pattern(64 << 20, 1);
    r.dram_write(0, 0x10, &data);
    let cases = [
        (0, 1),
        (3, 7),
        (0, 4096),
        (1, STEP - 1),
        (0, STEP),
        (5, STEP + 1),
        (100, MIB + 3),
        (0, 64 * MIB),
    ];
    for (i, &(off, len)) in cases.iter().enumerate() {
        let dst = window.0 + 0x40 + 3 * off;
        let mut write = op(1, 0x10 + off, len as u32);
        write.wr_id = 0x1000 + i as u32;
        let start = Instant::now();
        r.run_ok(0, nicq(p), &Cb::default().write(write, DRAM + dst));
        let took = start.elapsed();
        let len = len as usize;
        let expect = &data[off as usize..off as usize + len];
        assert!(r.dram_read(1, dst, len) == expect, "{len} bytes at {off}");
        assert_eq!(r.dram_read(1, dst - 1, 1), [0], "byte before");
        assert_eq!(r.dram_read(1, dst + len as u64, 1), [0], "byte after");
        let done = cqe(WRITE, OK, 1, len as u32, 0x1000 + i as u32);
        assert_eq!(r.cqe((0, p, 0)), done);
        if len == 64 << 20 {
            eprintln!("RDMA WRITE of 64 MiB in {took:?}");
        }
        r.dram_write(1, dst, &vec![0; len]);
    }
    assert!(r.irqs(0, 16 + p) >= cases.len() as u64);
    // The responder saw nothing of it.
    assert_eq!(r.try_cqe((1, p, 0)), None);
    assert_eq!(r.irqs(1, 16 + p), 0);
    // The other way, and with the window's last byte.
    r.dram_write(1, 0, &data[..4096]);
    let back = op(2, 0, 4096);
    let last = window.0 + window.1 - 4096;
    r.run_ok(1, nicq(p), &Cb::default().write(back, DRAM + last));
    assert_eq!(r.cqe((1, p, 0)), cqe(WRITE, OK, 2, 4096, 0));
    assert!(r.dram_read(0, last, 4096) == data[..4096]);
}

#[test]
fn send_fills_posted_buffers_in_order() {
    let p = 1;
    let r = pair(64 << 20, p, (0, 0), 4);
    let data = pattern(8 << 20, 2);
    r.dram_write(0, 0, &data);
    // Device 1 posts three buffers, the first two completing in CQ 3.
    r.cq((1, p, 3), 16, false);
    let bufs = [(0x100_0000, 4096), (0x200_0000, 100), (0x300_0000, 9 << 20)];
    let mut cb = Cb::default();
    for (i, &(at, len)) in bufs.iter().enumerate() {
        let mut recv = op(2, at, len);
        recv.wr_id = 0x50 + i as u32;
        recv.cq = if i < 2 { 3 } else { 0 };
        cb = cb.recv(recv);
    }
    r.run_ok(1, nicq(p), &cb);
    assert_eq!(r.bar(1).read32(rdma::conn(p, 2) + rdma::RQ_PI), 3);
    assert_eq!(r.try_cqe((1, p, 3)), None, "posting completes nothing");

    // Messages of the buffers' sizes, or smaller.
    let sends = [(0, 4096), (7, 100), (13, (8 << 20) - 13)];
    let mut cb = Cb::default();
    for (i, &(off, len)) in sends.iter().enumerate() {
        cb = cb.send(Op {
            wr_id: i as u32,
            ..op(1, off, len)
        });
    }
    r.run_ok(0, nicq(p), &cb);
    for (i, (&(off, len), &(at, _))) in sends.iter().zip(&bufs).enumerate() {
        assert_eq!(r.cqe((0, p, 0)), cqe(SEND, OK, 1, len, i as u32));
        let cq = (1, p, if i < 2 { 3 } else { 0 });
        assert_eq!(r.cqe(cq), cqe(RECV, OK, 2, len, 0x50 + i as u32));
        let msg = &data[off as usize..(off as usize + len as usize)];
        assert!(r.dram_read(1, at, len as usize) == msg, "message {i}");
        assert_eq!(r.dram_read(1, at + u64::from(len), 1), [0]);
    }
    assert_eq!(r.bar(1).read32(rdma::conn(p, 2) + rdma::RQ_CI), 3);
    // The receive queue entries are as the spec lays them out.
    let rq = r.bar(1).read64(rdma::conn(p, 2) + rdma::RQ_BASE_LO);
    let entry = r.read(rq + 32, 32);
    let word = |i: usize| u32::from_le_bytes(entry[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!(
        (0..8).map(word).collect::<Vec<_>>(),
        [0x2200_0000, 0, 100, 0x51, CQE | 3 << 16, 0, 0, 0]
    );
}

#[test]
fn send_and_recv_errors() {
    let p = 2;
    let r = pair(16 << 20, p, (0, 0), 2);
    r.dram_write(0, 0, &pattern(8192, 3));
    // A message longer than the buffer is refused; the buffer stays.
    r.run_ok(1, nicq(p), &Cb::default().recv(op(2, 0x10_0000, 100)));
    r.run_ok(0, nicq(p), &Cb::default().send(op(1, 0, 101)));
    assert_eq!(r.cqe((0, p, 0)), cqe(SEND, REMOTE_ACCESS, 1, 0, 0));
    assert_eq!(r.dram_read(1, 0x10_0000, 101), vec![0; 101]);
    r.run_ok(0, nicq(p), &Cb::default().send(op(1, 0, 100)));
    assert_eq!(r.cqe((0, p, 0)), cqe(SEND, OK, 1, 100, 0));
    assert_eq!(r.cqe((1, p, 0)), cqe(RECV, OK, 2, 100, 0));

    // The receive queue holds two buffers.
    let recv = Cb::default()
        .recv(op(2, 0x20_0000, 64))
        .recv(op(2, 0x20_1000, 64))
        .recv(Op {
            wr_id: 9,
            ..op(2, 0x20_2000, 64)
        });
    r.run_ok(1, nicq(p), &recv);
    assert_eq!(r.cqe((1, p, 0)), cqe(RECV, RQ_FULL, 2, 0, 9));
    assert_eq!(r.bar(1).read32(rdma::conn(p, 2) + rdma::RQ_PI), 3);

    // A RECV on a connection without a responder context, or with invalid
    // receive queue registers.
    r.run_ok(1, nicq(p), &Cb::default().recv(op(5, 0, 64)));
    assert_eq!(r.cqe((1, p, 0)), cqe(RECV, BAD_CONN, 5, 0, 0));
    r.bar(1).write32(rdma::conn(p, 2) + rdma::RQ_SIZE, 3);
    r.run_ok(1, nicq(p), &Cb::default().recv(op(2, 0, 64)));
    assert_eq!(r.cqe((1, p, 0)), cqe(RECV, BAD_CONN, 2, 0, 0));
    // ... to which a SEND gets REMOTE_ACCESS.
    r.run_ok(0, nicq(p), &Cb::default().send(op(1, 0, 1)));
    assert_eq!(r.cqe((0, p, 0)), cqe(SEND, REMOTE_ACCESS, 1, 0, 0));
    r.bar(1).write32(rdma::conn(p, 2) + rdma::RQ_SIZE, 2);
    // Two SENDs take the two buffers; a third waits 1 s for one, in vain.
    let send = Cb::default()
        .send(op(1, 0, 64))
        .send(op(1, 64, 64))
        .send(op(1, 128, 64));
    let start = Instant::now();
    r.run_ok(0, nicq(p), &send);
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(1), "RNR after {took:?}");
    for _ in 0..2 {
        assert_eq!(r.cqe((0, p, 0)), cqe(SEND, OK, 1, 64, 0));
        assert_eq!(r.cqe((1, p, 0)).status, OK);
    }
    assert_eq!(r.cqe((0, p, 0)), cqe(SEND, RNR, 1, 0, 0));
    // A SEND waiting for a buffer takes one posted meanwhile.
    let tag = r.submit(0, nicq(p), &Cb::default().send(op(1, 4096, 32)));
    thread::sleep(Duration::from_millis(100));
    assert_eq!(r.try_job(0, nicq(p)), None, "waiting for a buffer");
    r.run_ok(1, nicq(p), &Cb::default().recv(op(2, 0x30_0000, 32)));
    assert_eq!(r.job(0, nicq(p)), (OK, tag, 0));
    assert_eq!(r.cqe((0, p, 0)), cqe(SEND, OK, 1, 32, 0));
    assert!(r.dram_read(1, 0x30_0000, 32) == pattern(8192, 3)[4096..4128]);
}

#[test]
fn errors_have_syndromes_and_corrupt_nothing() {
    let p = 6;
    let window = (0x10_0000, 0x10_0000);
    let r = pair(16 << 20, p, window, 0);
    r.dram_write(0, 0, &pattern(8192, 4));
    let dst = DRAM + window.0;
    // Each case breaks something, runs a WRITE with a SOB increment and no
    // CQE asked for, and mends it.
    let write = |status: u32, dst: u64| {
        let w = Op {
            ctl: SOB | 9,
            wr_id: status,
            ..op(1, 0, 4096)
        };
        r.run_ok(0, nicq(p), &Cb::default().write(w, dst));
        assert_eq!(r.cqe((0, p, 0)), cqe(WRITE, status, 1, 0, status));
    };
    let (m0, m1) = (r.mac(0, p), r.mac(1, p));
    let req = rdma::conn(p, 1);
    let res = rdma::conn(p, 2);
    let set = |d: usize, off: u64, val: u32| r.bar(d).write32(off, val);

    set(0, req + rdma::REQ_CTL, 0);
    write(BAD_CONN, dst);
    set(0, req + rdma::REQ_CTL, 1);

    // The port itself, another port of the peer, a MAC with bits 31:16.
    r.req((0, p, 1), m0, 2);
    write(WRONG_PEER, dst);
    r.req((0, p, 1), r.mac(1, p + 1), 2);
    write(WRONG_PEER, dst);
    r.req((0, p, 1), (m1.0, m1.1 | 1 << 16), 2);
    write(WRONG_PEER, dst);
    r.req((0, p, 1), m1, 2);

    set(1, res + rdma::RES_CTL, 0);
    write(REMOTE_ACCESS, dst);
    set(1, res + rdma::RES_CTL, 1);
    set(1, res + rdma::RES_PEER_CONN, 3);
    write(REMOTE_ACCESS, dst);
    set(1, res + rdma::RES_PEER_CONN, 1);
    set(1, res + rdma::RES_PEER_MAC_HI, m1.1);
    write(REMOTE_ACCESS, dst);
    set(1, res + rdma::RES_PEER_MAC_HI, m0.1);
    set(0, req + rdma::REQ_PEER_CONN, 64);
    write(REMOTE_ACCESS, dst);
    set(0, req + rdma::REQ_PEER_CONN, 2);
    // Outside the window at either end, by one byte.
    write(REMOTE_ACCESS, dst - 1);
    write(REMOTE_ACCESS, dst + window.1 - 4095);
    // A window past DRAM (15 MiB), or wrapping around.
    r.bar(1)
        .write64(res + rdma::WIN_BASE_LO, DRAM + (15 << 20) - 2048);
    write(REMOTE_ACCESS, DRAM + (15 << 20) - 2048);
    r.bar(1).write64(res + rdma::WIN_BASE_LO, u64::MAX - 4096);
    r.bar(1).write64(res + rdma::WIN_SIZE_LO, 8192);
    write(REMOTE_ACCESS, u64::MAX - 4096);
    r.bar(1).write64(res + rdma::WIN_BASE_LO, dst);
    r.bar(1).write64(res + rdma::WIN_SIZE_LO, 0);
    write(REMOTE_ACCESS, dst);
    r.bar(1).write64(res + rdma::WIN_SIZE_LO, window.1);

    // The link down at either end, by a fault or a disabled port.
    r.bar(0).write32(model_ctl::port_faults(p), 1);
    wait_for("the fault", || {
        r.bar(1).read32(nic::block(p) + nic::LINK_STATUS) == 0
    });
    write(LINK_DOWN, dst);
    r.bar(0).write32(model_ctl::port_faults(p), 0);
    r.up(p);
    r.bar(1).write32(nic::block(p) + nic::CTL, 0);
    r.doorbell(1, 6 + p);
    wait_for("the link down", || {
        r.bar(0).read32(nic::block(p) + nic::LINK_STATUS) == 0
    });
    write(LINK_DOWN, dst);
    r.up(p);

    // Nothing was written, nothing counted.
    assert_eq!(r.dram_read(1, 0, 4 << 20), vec![0; 4 << 20]);
    assert_eq!(r.sob(0, 9), 0);
    // Mended, it works; without CQE asked, success writes none.
    let w = Op {
        ctl: SOB | 9,
        ..op(1, 0, 4096)
    };
    r.run_ok(0, nicq(p), &Cb::default().write(w, dst));
    assert_eq!(r.try_cqe((0, p, 0)), None);
    assert_eq!(r.sob(0, 9), 1);
    assert!(r.dram_read(1, window.0, 4096) == pattern(8192, 4)[..4096]);
}

#[test]
fn unwired_and_loopback_ports() {
    let r = rig(3, 4 << 20);
    let p = 0;
    r.dram_write(2, 0, &pattern(1000, 5));
    r.queue(2, nicq(p));
    r.cq((2, p, 0), 4, false);
    // Device 2's ports have no wire: the link is down.
    r.bar(2).write32(nic::block(p) + nic::LINK_CFG, AUTO_ALL);
    r.bar(2).write32(nic::block(p) + nic::CTL, 1);
    r.doorbell(2, 6 + p);
    r.req((2, p, 0), r.mac(2, p), 1);
    r.res((2, p, 1), r.mac(2, p), 0, (0x10_0000, 4096), 0);
    r.run_ok(
        2,
        nicq(p),
        &Cb::default().write(op(0, 0, 1000), DRAM + 0x10_0000),
    );
    assert_eq!(r.cqe((2, p, 0)), cqe(WRITE, LINK_DOWN, 0, 0, 0));
    // In loopback the port is its own peer.
    r.bar(2).write32(nic::block(p) + nic::CTL, 3);
    r.doorbell(2, 6 + p);
    wait_for("the link", || {
        r.bar(2).read32(nic::block(p) + nic::LINK_STATUS) == UP_100G
    });
    r.run_ok(
        2,
        nicq(p),
        &Cb::default().write(op(0, 0, 1000), DRAM + 0x10_0000),
    );
    assert_eq!(r.cqe((2, p, 0)), cqe(WRITE, OK, 0, 1000, 0));
    assert!(r.dram_read(2, 0x10_0000, 1000) == pattern(1000, 5));
}

/// Port `p` of device 0 wired to port `q` of device 2, of four devices:
/// RDMA between them reaches the port at the other end of the wire, which
/// its MAC names; the ports' former peers are no peers any more.
#[test]
fn rdma_between_ports_of_different_numbers() {
    let r = rig(4, 4 << 20);
    let (p, q) = (9, 4);
    Device::wire_ports(&r.devs[0], p, &r.devs[2], q).unwrap();
    r.link([(0, p), (2, q)]);
    let window = (0x10_0000, 0x10_0000);
    let ends = [(0, p, 1), (2, q, 2)];
    r.connect_ends(ends, window, 2);
    for (d, port, _) in ends {
        r.queue(d, nicq(port));
        r.cq((d, port, 0), 16, false);
    }

    // A WRITE of a few steps from device 0 to device 2, byte for byte.
    let len = 3 * STEP + 5;
    let data = pattern(len as usize, 7);
    r.dram_write(0, 0, &data);
    let dst = window.0 + 0x40;
    let write = Cb::default().write(op(1, 0, len as u32), DRAM + dst);
    r.run_ok(0, nicq(p), &write);
    assert_eq!(r.cqe((0, p, 0)), cqe(WRITE, OK, 1, len as u32, 0));
    assert!(r.dram_read(2, dst, len as usize) == data);
    assert_eq!(r.dram_read(2, dst + len, 1), [0], "byte after");

    // A SEND back, into the buffer device 0 posted.
    let msg = pattern(5000, 8);
    r.dram_write(2, 0, &msg);
    let buf = 0x20_0000;
    r.run_ok(0, nicq(p), &Cb::default().recv(op(1, buf, 8192)));
    r.run_ok(2, nicq(q), &Cb::default().send(op(2, 0, 5000)));
    assert_eq!(r.cqe((2, q, 0)), cqe(SEND, OK, 2, 5000, 0));
    assert_eq!(r.cqe((0, p, 0)), cqe(RECV, OK, 1, 5000, 0));
    assert!(r.dram_read(0, buf, 5000) == msg);

    // Aimed at the former peer, port p of device 1, or at port p of
    // device 2: WRONG_PEER, and nothing written.
    for mac in [r.mac(1, p), r.mac(2, p)] {
        r.req((0, p, 1), mac, 2);
        r.run_ok(
            0,
            nicq(p),
            &Cb::default().write(op(1, 0, 64), DRAM + window.0),
        );
        assert_eq!(r.cqe((0, p, 0)), cqe(WRITE, WRONG_PEER, 1, 0, 0));
    }
    assert_eq!(r.dram_read(2, window.0, 0x40), [0; 0x40]);
}

#[test]
fn cq_full_disabled_and_reset() {
    let p = 7;
    let r = pair(4 << 20, p, (0, 4096), 0);
    r.cq((0, p, 5), 2, true);
    r.irqs(0, 16 + p);
    let w = |wr_id: u32| Op {
        cq: 5,
        wr_id,
        ..op(1, 0, 8)
    };
    let cb = Cb::default()
        .write(w(1), DRAM)
        .write(w(2), DRAM)
        .write(w(3), DRAM);
    r.run_ok(0, nicq(p), &cb);
    let at = (0, p, 5);
    assert_eq!(r.cq_reg(at, rdma::CQ_PI), 2);
    assert_eq!(r.cq_reg(at, rdma::CQ_LOST), 1);
    // Two CQEs and the job's completion.
    assert_eq!(r.irqs_settle(0, 16 + p, 3), 3);
    assert_eq!(r.cqe(at).wr_id, 1);
    assert_eq!(r.cqe(at).wr_id, 2);
    // Disabled, it loses entries; IRQ clear, it raises nothing.
    let ctl_reg = rdma::cq(p, 5) + rdma::CQ_CTL;
    r.bar(0).write32(ctl_reg, 0);
    r.run_ok(0, nicq(p), &Cb::default().write(w(4), DRAM));
    assert_eq!(r.cq_reg(at, rdma::CQ_LOST), 2);
    r.bar(0).write32(ctl_reg, 1);
    r.irqs_settle(0, 16 + p, 1);
    r.run_ok(0, nicq(p), &Cb::default().write(w(5), DRAM));
    assert_eq!(r.cqe(at).wr_id, 5);
    assert_eq!(r.irqs_settle(0, 16 + p, 1), 1, "the job only");

    assert_eq!(r.command(0, CQ_RESET, [p as u64, 5]), OK);
    for off in (0..rdma::CQ_REGS).step_by(4) {
        assert_eq!(r.cq_reg(at, off), 0, "register {off:#x}");
    }
    r.run_ok(0, nicq(p), &Cb::default().write(w(6), DRAM));
    assert_eq!(r.cq_reg(at, rdma::CQ_LOST), 1);
    let p = p as u64;
    for args in [[10, 0], [p, 16], [1 << 32, 0], [0, u64::MAX]] {
        assert_eq!(r.command(0, CQ_RESET, args), BAD_SIZE, "{args:x?}");
    }
    for args in [[10, 0], [p, 64], [1 << 32, 0], [0, u64::MAX]] {
        assert_eq!(r.command(0, CONN_RESET, args), BAD_SIZE, "{args:x?}");
    }
}

#[test]
fn sob_increments_only_on_success() {
    let p = 5;
    let r = pair(4 << 20, p, (0, 4096), 0);
    r.queue(0, TPC0);
    r.dram_write(0, 0x1000, &pattern(256, 6));
    // A compute job waits for the WRITE's completion.
    let wait = |target: u32, marker: u32| {
        Cb::default()
            .arm_fence(0, 9, target, TPC0, 0, 1)
            .fence(0, 1, 1)
            .msg_long(DRAM + 0x2000, marker)
    };
    let tag = r.submit(0, TPC0, &wait(1, 0x11));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(r.try_job(0, TPC0), None);
    let w = Op {
        ctl: SOB | 9,
        ..op(1, 0x1000, 256)
    };
    r.run_ok(0, nicq(p), &Cb::default().write(w, DRAM));
    assert_eq!(r.job(0, TPC0), (OK, tag, 0));
    assert_eq!(r.dram_read(0, 0x2000, 4), 0x11u32.to_le_bytes());
    assert!(r.dram_read(1, 0, 256) == pattern(256, 6));
    // A failed one releases nobody: the waiting job times out.
    let tag = r.submit(0, TPC0, &wait(2, 0x22));
    r.run_ok(0, nicq(p), &Cb::default().write(Op { conn: 9, ..w }, DRAM));
    assert_eq!(r.cqe((0, p, 0)).status, BAD_CONN);
    assert_eq!(r.job(0, TPC0), (FENCE_TIMEOUT, tag, 0x20));
    assert_eq!(r.sob(0, 9), 1);
}

/// Two devices each add the other's vector to their own, a TPC kernel
/// started once the other's data has arrived: RDMA WRITE, then a SEND whose
/// RECV increments the SOB the kernel's job fences on.
#[test]
fn all_reduce_with_tpc_add() {
    let p = 9;
    let n: usize = 300_000;
    let r = pair(16 << 20, p, (0x40_0000, 4 * n as u64), 2);
    let vecs: Vec<Vec<f32>> = (0..2)
        .map(|d| {
            (0..n)
                .map(|i| ((i * 7919 + d * 104_729) % 100_003) as f32 / 977.0 - 51.3)
                .collect()
        })
        .collect();
    let bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (mine, theirs, out, note, desc) = (0x10_0000, 0x40_0000, 0x80_0000, 0xc0_0000, 0x1000);
    let conns: [u32; 2] = [1, 2];
    for (d, &c) in conns.iter().enumerate() {
        r.queue(d, TPC0);
        r.dram_write(d, mine, &bytes(&vecs[d]));
        let mut kernel = Vec::new();
        kernel.extend(2u32.to_le_bytes());
        kernel.extend((n as u32).to_le_bytes());
        for addr in [mine, theirs, out] {
            kernel.extend((DRAM + addr).to_le_bytes());
        }
        kernel.extend([0; 8]);
        r.dram_write(d, desc, &kernel);
        let recv = Op {
            ctl: CQE | SOB | 7,
            ..op(c, note, 16)
        };
        r.run_ok(d, nicq(p), &Cb::default().recv(recv));
        let add = Cb::default()
            .arm_fence(0, 7, 1, TPC0, 0, 1)
            .fence(0, 1, 1)
            .exe(DRAM + desc);
        r.submit(d, TPC0, &add);
    }
    for (d, &c) in conns.iter().enumerate() {
        let cb = Cb::default()
            .write(op(c, mine, 4 * n as u32), DRAM + theirs)
            .send(op(c, mine, 4));
        r.submit(d, nicq(p), &cb);
    }
    let sums: Vec<f32> = vecs[0].iter().zip(&vecs[1]).map(|(a, b)| a + b).collect();
    for (d, &c) in conns.iter().enumerate() {
        assert_eq!(r.job(d, nicq(p)).0, OK);
        assert_eq!(r.job(d, TPC0).0, OK, "device {d}");
        assert_eq!(r.sob(d, 7), 1);
        // The RECV's completion comes when the other device's SEND does.
        let mut cqes: Vec<_> = (0..3).map(|_| r.cqe((d, p, 0))).collect();
        cqes.sort_by_key(|cqe| cqe.opcode);
        let want = [
            cqe(WRITE, OK, c, 4 * n as u32, 0),
            cqe(SEND, OK, c, 4, 0),
            cqe(RECV, OK, c, 4, 0),
        ];
        assert_eq!(cqes, want, "device {d}");
        assert!(r.dram_read(d, out, 4 * n) == bytes(&sums), "device {d}");
    }
}

/// Ethernet rings of a port: TX and RX of 64 entries, RX buffers posted.
fn ethernet(r: &Rig, d: usize, p: usize) -> (u64, u64) {
    let (tx, rx) = (r.alloc(16 * 64, 16), r.alloc(16 * 64, 16));
    for i in 0..64 {
        let buf = r.alloc(2048, 64);
        let mut desc = [0; 16];
        desc[..8].copy_from_slice(&buf.to_le_bytes());
        desc[8..10].copy_from_slice(&2048u16.to_le_bytes());
        r.write(rx + 16 * i, &desc);
    }
    let (bar, block) = (r.bar(d), nic::block(p));
    bar.write64(block + nic::TX_BASE_LO, tx);
    bar.write32(block + nic::TX_SIZE, 64);
    bar.write64(block + nic::RX_BASE_LO, rx);
    bar.write32(block + nic::RX_SIZE, 64);
    bar.write32(block + nic::RX_PI, 64);
    r.doorbell(d, 6 + p);
    (tx, rx)
}

#[test]
fn ethernet_flows_during_a_big_write() {
    let p = 8;
    let window = (0x100_0000, 64 * MIB);
    let r = pair(128 << 20, p, window, 0);
    let data = pattern(64 << 20, 7);
    r.dram_write(0, 0, &data);
    let rings = [ethernet(&r, 0, p), ethernet(&r, 1, p)];
    // About 270 ms for the WRITE; frames get the same rate.
    for d in 0..2 {
        r.bar(d).write32(model_ctl::link_rate(p), 2000);
    }
    let tag = r.submit(
        0,
        nicq(p),
        &Cb::default().write(op(1, 0, 64 << 20), DRAM + window.0),
    );
    wait_for("the WRITE under way", || {
        r.dram_read(1, window.0, 1)[0] != 0
    });
    let frames: Vec<Vec<u8>> = (0..40).map(|i| pattern(60 + 37 * i, i as u8)).collect();
    for (d, &(tx, _)) in rings.iter().enumerate() {
        for (i, f) in frames.iter().enumerate() {
            let at = r.alloc(f.len() as u64, 64);
            r.write(at, f);
            let mut desc = [0; 16];
            desc[..8].copy_from_slice(&at.to_le_bytes());
            desc[8..10].copy_from_slice(&(f.len() as u16).to_le_bytes());
            r.write(tx + 16 * i as u64, &desc);
        }
        r.bar(d).write32(nic::block(p) + nic::TX_PI, 40);
        r.doorbell(d, 6 + p);
    }
    for (d, &(_, rx)) in rings.iter().enumerate() {
        wait_for("the frames", || {
            r.bar(d).read32(nic::block(p) + nic::RX_CI) == 40
        });
        for (i, f) in frames.iter().enumerate() {
            let desc = r.read(rx + 16 * i as u64, 16);
            let addr = u64::from_le_bytes(desc[..8].try_into().unwrap());
            let len = u16::from_le_bytes([desc[10], desc[11]]);
            assert_eq!(usize::from(len), f.len());
            assert!(r.read(addr, f.len()) == *f, "frame {i} at device {d}");
        }
    }
    // All of them came while the WRITE was still going.
    assert_eq!(r.try_job(0, nicq(p)), None, "the WRITE is over");
    assert_eq!(r.job(0, nicq(p)), (OK, tag, 0));
    assert_eq!(r.cqe((0, p, 0)), cqe(WRITE, OK, 1, 64 << 20, 0));
    assert!(r.dram_read(1, window.0, 64 << 20) == data);
}

/// A rig with a 64 MiB WRITE from device 0 to device 1 on port `p` under
/// way at 100 Mbit/s, over 5 s in all, so that whatever stops it stops it
/// short: returns the rig, the data and the WRITE's tag.
fn slow_write(p: usize) -> (Rig, Vec<u8>, u32) {
    let r = pair(128 << 20, p, (0x100_0000, 64 * MIB), 0);
    let data = pattern(64 << 20, 8);
    r.dram_write(0, 0, &data);
    r.bar(0).write32(model_ctl::link_rate(p), 100);
    let write = op(1, 0, 64 << 20);
    let tag = r.submit(0, nicq(p), &Cb::default().write(write, DRAM + 0x100_0000));
    wait_for("the WRITE under way", || {
        r.dram_read(1, 0x100_0000 + STEP, 1)[0] != 0
    });
    (r, data, tag)
}

/// Checks that device 0 WRITEs to device 1 again on port `p`, once both
/// are set up afresh as a driver would: connections, queue and CQ reset
/// first.
fn usable_again(r: &Rig, p: usize) {
    r.up(p);
    for (d, c) in [(0, 1), (1, 2)] {
        assert_eq!(r.command(d, CONN_RESET, [p as u64, c]), OK);
    }
    r.connect(p, (1, 2), (0x100_0000, MIB), 0);
    for d in 0..2 {
        r.bar(d).write32(model_ctl::link_rate(p), 0);
        assert_eq!(r.command(d, QMAN_RESET, [nicq(p) as u64, 0]), OK);
        assert_eq!(r.command(d, CQ_RESET, [p as u64, 0]), OK);
        r.queue(d, nicq(p));
        r.cq((d, p, 0), 64, false);
    }
    let data = pattern(MIB as usize, 9);
    r.dram_write(0, 0, &data);
    r.run_ok(
        0,
        nicq(p),
        &Cb::default().write(op(1, 0, MIB as u32), DRAM + 0x100_0000),
    );
    assert_eq!(r.cqe((0, p, 0)), cqe(WRITE, OK, 1, MIB as u32, 0));
    assert!(r.dram_read(1, 0x100_0000, MIB as usize) == data);
}

#[test]
fn qman_reset_stops_a_write() {
    let p = 3;
    let (r, data, _) = slow_write(p);
    assert_eq!(r.command(0, QMAN_RESET, [nicq(p) as u64, 0]), OK);
    // Stopped: no completion, a prefix that no longer grows.
    let n = r.prefix(1, 0x100_0000, &data);
    assert!(n > 0 && n < data.len(), "{n} bytes");
    assert!((n as u64).is_multiple_of(STEP), "{n} bytes");
    thread::sleep(Duration::from_millis(50));
    assert_eq!(r.prefix(1, 0x100_0000, &data), n);
    assert_eq!(r.try_cqe((0, p, 0)), None);
    let job_cq = r.queues.borrow()[&(0, nicq(p))].cq.base;
    assert_eq!(r.read_u32(job_cq), 0, "no job completion");
    // The links and contexts are as they were: set up again, all works.
    r.dram_write(1, 0x100_0000, &vec![0; n]);
    usable_again(&r, p);
}

#[test]
fn reset_of_either_device_stops_a_write() {
    // The requester's RESET: no CQE; the responder keeps a prefix.
    let p = 4;
    let (r, data, _) = slow_write(p);
    assert_eq!(r.command(0, RESET, [0, 0]), OK);
    let n = r.prefix(1, 0x100_0000, &data);
    assert!(n > 0 && n < data.len(), "{n} bytes");
    thread::sleep(Duration::from_millis(50));
    assert_eq!(r.prefix(1, 0x100_0000, &data), n);
    assert_eq!(r.read_u32(r.cqs.borrow()[&(0, p, 0)].base), 0, "no CQE");
    assert_eq!(r.bar(1).read32(nic::block(p) + nic::LINK_STATUS), 0);
    r.dram_write(1, 0x100_0000, &vec![0; n]);
    usable_again(&r, p);

    // The responder's RESET: LINK_DOWN at the requester.
    let (r, _, tag) = slow_write(p);
    assert_eq!(r.command(1, RESET, [0, 0]), OK);
    assert_eq!(r.job(0, nicq(p)), (OK, tag, 0));
    let done = r.cqe((0, p, 0));
    assert_eq!((done.opcode, done.status), (WRITE, LINK_DOWN));
    assert!(done.len > 0 && done.len < 64 << 20 && u64::from(done.len).is_multiple_of(STEP));
    assert_eq!(r.dram_read(1, 0x100_0000, 1 << 20), vec![0; 1 << 20]);
    usable_again(&r, p);
}

#[test]
fn stops_and_connection_resets_fail_a_write() {
    let p = 2;
    // PORT_STOP at either end.
    for d in 0..2 {
        let (r, data, tag) = slow_write(p);
        assert_eq!(r.command(d, PORT_STOP, [p as u64, 0]), OK);
        assert_eq!(r.job(0, nicq(p)), (OK, tag, 0));
        let done = r.cqe((0, p, 0));
        assert_eq!((done.opcode, done.status), (WRITE, LINK_DOWN), "device {d}");
        assert_eq!(r.prefix(1, 0x100_0000, &data), done.len as usize);
        assert!(done.len < 64 << 20);
    }
    // CONN_RESET at the requester, or at the responder, even set up again
    // at once.
    for (d, status) in [(0, BAD_CONN), (1, REMOTE_ACCESS)] {
        let (r, data, tag) = slow_write(p);
        let c = [1, 2][d];
        assert_eq!(r.command(d, CONN_RESET, [p as u64, c as u64]), OK);
        for off in (0..rdma::CONN_SIZE).step_by(4) {
            assert_eq!(r.bar(d).read32(rdma::conn(p, c) + off), 0);
        }
        r.connect(p, (1, 2), (0x100_0000, 64 * MIB), 0);
        assert_eq!(r.job(0, nicq(p)), (OK, tag, 0));
        let done = r.cqe((0, p, 0));
        assert_eq!((done.opcode, done.status), (WRITE, status), "device {d}");
        assert_eq!(r.prefix(1, 0x100_0000, &data), done.len as usize);
        assert!(done.len > 0 && done.len < 64 << 20);
    }
}
