// SPDX-License-Identifier: GPL-2.0

//! The compute half of the device, driven as a driver drives it: rings,
//! buffer descriptors, command buffers and page tables in a temp-file guest
//! RAM, doorbells to [`Device::doorbell`] and interrupts on eventfds.
//!
//! Packets, descriptors and page tables are encoded here from the spec,
//! independently of the model's decoders.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hlsim::device::Device;
use hlsim::mem::SharedMem;
use hlsim::regs::{eq, mailbox, mmu, model_ctl, pci, qman, sync_manager as sm};
use tempfile::NamedTempFile;
use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

/// Failure bound of every wait.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a queue must stay quiet to count as blocked.
const QUIET: Duration = Duration::from_millis(100);
const RAM_SIZE: u64 = 64 << 20;
const BAR_SIZE: u64 = 32 << 20;
const DRAM_OFFSET: u64 = 0x10_0000;

/// Device addresses, GAUDI's: the sync manager at `SYNC_MNGR_E_N`'s
/// `SOB_OBJ_0` in the configuration space, DRAM from `DRAM_BASE_ADDR_USER`,
/// host memory from `VA_HOST_SPACE_START`.
const CFG: u64 = 0x7f_fc00_0000;
const SM: u64 = CFG + 0x4f_2000;
/// DMA engine 0's and 1's cores (`DMA0_CORE`, `DMA1_CORE`).
const DMA0_CORE: u64 = CFG + 0x50_0000;
const DMA1_CORE: u64 = CFG + 0x52_0000;
const DRAM: u64 = 0x2000_0000;
const HOST: u64 = 0x1_0000_0000_0000;
/// Bytes of DRAM from `DRAM`, to the end of GAUDI's 32 GiB: BAR2's window
/// (`DRAM_SIZE` bytes), then the model's sparse rest.
const DRAM_ALL: u64 = 0x8_0000_0000 - DRAM;
/// GAUDI's SRAM: `SRAM_BASE_ADDR`, `SRAM_SIZE`.
const SRAM: u64 = 0x7f_f000_0000;
const SRAM_SIZE: u64 = 0x140_0000;

/// Job statuses and event causes.
const OK: u32 = 0;
const BAD_OPCODE: u32 = 1;
const BAD_ADDRESS: u32 = 2;
const BAD_PACKET: u32 = 3;
const MMU_FAULT: u32 = 4;
const FENCE_TIMEOUT: u32 = 5;
const NOT_SUPPORTED: u32 = 6;
const BAD_KERNEL: u32 = 7;

/// Queues.
const DMA0: usize = 0;
const DMA1: usize = 1;
const TPC0: usize = 2;
const TPC1: usize = 3;
/// GAUDI's other queues: DMA 2-7, TPC 2-7, MME 0-1, as the model numbers
/// them; they share vector 56, after the NIC ports' RX queues'.
const DMA2: usize = 4;
const TPC2: usize = 10;
const MME0: usize = 26;
const INTERNAL_VECTOR: usize = hlsim::regs::VECTOR_INTERNAL as usize;

/// The vector of queue `q`.
fn vector(q: usize) -> usize {
    match q {
        0..=3 => 2 + q,
        _ => INTERNAL_VECTOR,
    }
}

const PAGE: u64 = 4096;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

/// A command buffer under construction.
#[derive(Default)]
struct Cb(Vec<u8>);

impl Cb {
    /// Appends a packet: `cfg`, `ctl` with `opcode`, then `rest`.
    fn packet(mut self, opcode: u32, fields: u32, cfg: u32, rest: &[u64]) -> Self {
        self.0.extend(cfg.to_le_bytes());
        self.0.extend((opcode << 24 | fields).to_le_bytes());
        for word in rest {
            self.0.extend(word.to_le_bytes());
        }
        self
    }

    /// Offset of the next packet.
    fn here(&self) -> u32 {
        self.0.len() as u32
    }

    fn wreg(self, off: u64, val: u32) -> Self {
        self.packet(0x01, (off as u32) << 8, val, &[])
    }

    /// `WREG_BULK` of `values` from register `off`.
    fn wreg_bulk(self, off: u64, values: &[u64]) -> Self {
        self.packet(0x02, (off as u32) << 8, values.len() as u32, values)
    }

    fn msg_long(self, addr: u64, val: u32) -> Self {
        self.packet(0x03, 0, val, &[addr])
    }

    /// `MSG_SHORT` to SOB `sob` through message base 1, as GAUDI's driver
    /// sets the bases up.
    fn msg_short(self, sob: u32, val: u32) -> Self {
        self.packet(0x04, 1 << 22 | (4 * sob), val, &[])
    }

    /// `MSG_SHORT` of `val` at `offset` from message base `base`.
    fn msg_short_at(self, base: u32, offset: u32, val: u32) -> Self {
        self.packet(0x04, base << 22 | offset, val, &[])
    }

    fn cp_dma(self, src: u64, size: u32) -> Self {
        self.packet(0x05, 0, size, &[src])
    }

    fn wait(self, cycles: u32, increment: u32, id: u32) -> Self {
        self.packet(0x0d, 0, id << 28 | increment << 24 | cycles, &[])
    }

    fn repeat(self, count: u32) -> Self {
        self.packet(0x06, 0, 1 << 31 | count, &[])
    }

    fn end(self) -> Self {
        self.packet(0x06, 0, 0, &[])
    }

    fn fence(self, id: u32, target: u32, decrement: u32) -> Self {
        self.packet(0x08, 0, id << 30 | target << 16 | decrement, &[])
    }

    fn lin_dma(self, src: u64, dst: u64, size: u32) -> Self {
        self.packet(0x09, 0, size, &[src, dst])
    }

    fn memset(self, dst: u64, byte: u8, size: u32) -> Self {
        self.packet(0x09, 1 << 4, size, &[byte.into(), dst])
    }

    fn nop(self) -> Self {
        self.packet(0x0a, 0, 0, &[])
    }

    fn stop(self) -> Self {
        self.packet(0x0b, 0, 0, &[])
    }

    fn arb_point(self) -> Self {
        self.packet(0x0c, 0, 1 << 31 | 0xff, &[])
    }

    fn exe(self, desc: u64) -> Self {
        self.packet(0x0f, 0, 0, &[desc])
    }

    /// Arms monitor `m` to add `data` to fence counter `id` of `queue` once
    /// SOB `sob` reaches `target`.
    fn arm_fence(self, m: u64, sob: u32, target: u32, queue: usize, id: u64, data: u32) -> Self {
        self.arm_payload(m, sob, target, SM + sm::fence(queue, 0, id), data)
    }

    /// Arms monitor `m` to write `data` at `pay` once SOB `sob` reaches
    /// `target`.
    fn arm_payload(self, m: u64, sob: u32, target: u32, pay: u64, data: u32) -> Self {
        self.wreg(sm::mon(m, sm::PAY_ADDR_LO), pay as u32)
            .wreg(sm::mon(m, sm::PAY_ADDR_HI), (pay >> 32) as u32)
            .wreg(sm::mon(m, sm::PAY_DATA), data)
            .wreg(sm::mon(m, sm::ARM), arm(sob, target))
    }
}

/// The `MON_ARM` value watching SOB `sob` alone for at least `target`:
/// its group, a mask with only its bit clear, mode 0.
fn arm(sob: u32, target: u32) -> u32 {
    target << 17 | (!(1 << (sob % 8)) & 0xff) << 8 | (sob / 8)
}

/// A completion entry, `READY` checked and stripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cqe {
    status: u32,
    tag: u32,
    info: u32,
}

fn cqe(status: u32, tag: u32, info: u32) -> Cqe {
    Cqe { status, tag, info }
}

/// An event entry, `READY` checked and stripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    queue: u32,
    cause: u32,
    info: u64,
}

fn event(queue: u32, cause: u32, info: u64) -> Event {
    Event { queue, cause, info }
}

/// A kernel descriptor.
struct Kernel {
    kernel: u32,
    count: u32,
    a: u64,
    b: u64,
    out: u64,
    scalar: u32,
    zero: u32,
}

impl Kernel {
    fn bytes(&self) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend(self.kernel.to_le_bytes());
        raw.extend(self.count.to_le_bytes());
        for addr in [self.a, self.b, self.out] {
            raw.extend(addr.to_le_bytes());
        }
        raw.extend(self.scalar.to_le_bytes());
        raw.extend(self.zero.to_le_bytes());
        raw
    }
}

/// The driver's view of one queue.
#[derive(Clone, Copy)]
struct Queue {
    pq: u64,
    cq: u64,
    cq_entries: u32,
    /// BDs posted.
    pi: u32,
    /// Completions consumed.
    ci: u32,
    /// Interrupts received.
    irqs: u64,
}

/// The driver's view of one device.
struct Guest {
    dev: Device,
    ram: Arc<SharedMem>,
    irqs: Vec<EventFd>,
    /// Interrupts of the shared internal vector seen, and completions of
    /// its queues taken.
    shared: Cell<(u64, u64)>,
    /// Next free byte of guest RAM.
    brk: Cell<u64>,
    /// The level 0 table.
    root: u64,
    /// Host page (device address) to DMA page.
    pages: RefCell<HashMap<u64, u64>>,
    /// The queues set up.
    queues: RefCell<HashMap<usize, Queue>>,
    /// The event queue: ring, entries, events consumed.
    events: Cell<Option<(u64, u32, u32)>>,
    _file: NamedTempFile,
}

impl Guest {
    fn new() -> Self {
        Self::with_sizes(RAM_SIZE, BAR_SIZE)
    }

    fn with_sizes(ram_size: u64, bar_size: u64) -> Self {
        let file = NamedTempFile::new().unwrap();
        file.as_file().set_len(ram_size).unwrap();
        let ram = Arc::new(SharedMem::open(file.path()).unwrap());
        let dev = Device::new("test", bar_size, 0x5eed, ram.clone()).unwrap();
        let irqs: Vec<_> = (0..hlsim::regs::NUM_VECTORS)
            .map(|_| EventFd::new(EFD_NONBLOCK).unwrap())
            .collect();
        dev.attach(irqs.iter().map(|fd| fd.try_clone().unwrap()).collect());
        let guest = Self {
            dev,
            ram,
            irqs,
            shared: Cell::new((0, 0)),
            brk: Cell::new(0x10_0000),
            root: 0,
            pages: RefCell::default(),
            queues: RefCell::default(),
            events: Cell::new(None),
            _file: file,
        };
        let root = guest.alloc(PAGE, PAGE);
        let guest = Self { root, ..guest };
        guest.enable_mmu();
        guest
    }

    fn bar(&self) -> &SharedMem {
        self.dev.bar2()
    }

    fn qreg(&self, q: usize, off: u64) -> u32 {
        self.bar().read32_acquire(qman::block(q) + off)
    }

    fn set_qreg(&self, q: usize, off: u64, val: u32) {
        self.bar().write32_release(qman::block(q) + off, val);
    }

    fn enable_mmu(&self) {
        self.bar().write64(mmu::ROOT_LO, self.root);
        self.bar().write32(mmu::CTL, 1);
    }

    /// Allocates `len` zeroed bytes of guest RAM aligned to `align`.
    fn alloc(&self, len: u64, align: u64) -> u64 {
        let at = self.brk.get().next_multiple_of(align);
        assert!(at + len <= self.ram.size(), "guest RAM exhausted");
        self.brk.set(at + len);
        at
    }

    fn write(&self, dma: u64, data: &[u8]) {
        self.ram.file().write_all_at(data, dma).unwrap();
    }

    fn read(&self, dma: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.ram.file().read_exact_at(&mut buf, dma).unwrap();
        buf
    }

    fn write_u32(&self, dma: u64, val: u32) {
        self.write(dma, &val.to_le_bytes());
    }

    fn read_u32(&self, dma: u64) -> u32 {
        u32::from_le_bytes(self.read(dma, 4).try_into().unwrap())
    }

    fn write_u64(&self, dma: u64, val: u64) {
        self.write(dma, &val.to_le_bytes());
    }

    fn read_u64(&self, dma: u64) -> u64 {
        u64::from_le_bytes(self.read(dma, 8).try_into().unwrap())
    }

    fn dram_write(&self, off: u64, data: &[u8]) {
        self.bar()
            .file()
            .write_all_at(data, DRAM_OFFSET + off)
            .unwrap();
    }

    fn dram_read(&self, off: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.bar()
            .file()
            .read_exact_at(&mut buf, DRAM_OFFSET + off)
            .unwrap();
        buf
    }

    fn dram_u32(&self, off: u64) -> u32 {
        u32::from_le_bytes(self.dram_read(off, 4).try_into().unwrap())
    }

    fn sm_reg(&self, off: u64) -> u32 {
        self.bar().read32(sm::BASE + off)
    }

    /// Maps host page `va` (a device address) to DMA page `pa`.
    fn map(&self, va: u64, pa: u64, writable: bool) {
        let v = va - HOST;
        let mut table = self.root;
        for shift in [30, 21] {
            let slot = table + 8 * ((v >> shift) & 511);
            let mut entry = self.read_u64(slot);
            if entry & 1 == 0 {
                entry = self.alloc(PAGE, PAGE) | 1;
                self.write_u64(slot, entry);
            }
            table = entry & 0x000f_ffff_ffff_f000;
        }
        self.write_u64(
            table + 8 * ((v >> 12) & 511),
            pa | 1 | u64::from(writable) << 1,
        );
        self.pages.borrow_mut().insert(va, pa);
    }

    /// Allocates `pages` pages of guest RAM and maps them at `va` in
    /// reverse order, so that no two neighbours are contiguous.
    fn map_buffer(&self, va: u64, pages: u64, writable: bool) {
        let base = self.alloc(pages * PAGE, PAGE);
        for i in 0..pages {
            self.map(va + i * PAGE, base + (pages - 1 - i) * PAGE, writable);
        }
    }

    /// Splits `len` bytes at host device address `va` into mapped pieces.
    fn host_pieces(&self, va: u64, len: usize) -> Vec<(u64, usize, usize)> {
        let mut pieces = Vec::new();
        let mut done = 0;
        while done < len {
            let at = va + done as u64;
            let n = ((PAGE - at % PAGE) as usize).min(len - done);
            let pa = self.pages.borrow()[&(at & !(PAGE - 1))];
            pieces.push((pa + at % PAGE, done, n));
            done += n;
        }
        pieces
    }

    fn host_write(&self, va: u64, data: &[u8]) {
        for (pa, off, n) in self.host_pieces(va, data.len()) {
            self.write(pa, &data[off..off + n]);
        }
    }

    fn host_read(&self, va: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        for (pa, off, n) in self.host_pieces(va, len) {
            self.ram
                .file()
                .read_exact_at(&mut buf[off..off + n], pa)
                .unwrap();
        }
        buf
    }

    /// Sets up and enables queue `q` with `pq` and `cq` entries.
    fn queue(&self, q: usize, pq: u32, cq: u32) {
        let pq_base = self.alloc(16 * u64::from(pq), 16);
        let cq_base = self.alloc(8 * u64::from(cq), 8);
        let bar = self.bar();
        bar.write64(qman::block(q) + qman::PQ_BASE_LO, pq_base);
        bar.write32(qman::block(q) + qman::PQ_SIZE, pq);
        bar.write64(qman::block(q) + qman::CQ_BASE_LO, cq_base);
        bar.write32(qman::block(q) + qman::CQ_SIZE, cq);
        // GAUDI's driver: base 0 the monitors, base 1 the SOBs.
        bar.write64(qman::block(q) + qman::msg_base(0), SM + sm::PAY_ADDR_LO);
        bar.write64(qman::block(q) + qman::msg_base(1), SM + sm::SOB);
        self.set_qreg(q, qman::CTL, 1);
        let queue = Queue {
            pq: pq_base,
            cq: cq_base,
            cq_entries: cq,
            pi: 0,
            ci: 0,
            irqs: 0,
        };
        self.queues.borrow_mut().insert(q, queue);
    }

    /// Sets up the event queue with `entries` entries.
    fn event_queue(&self, entries: u32) {
        let base = self.alloc(16 * u64::from(entries), 16);
        self.bar().write64(eq::EQ_BASE_LO, base);
        self.bar().write32(eq::EQ_SIZE, entries);
        self.bar().write32(eq::EQ_CTL, 1);
        self.events.set(Some((base, entries, 0)));
    }

    /// Posts a BD on queue `q` without ringing.
    fn post_bd(&self, q: usize, ptr: u64, len: u32, ctl: u32) {
        let mut queues = self.queues.borrow_mut();
        let queue = queues.get_mut(&q).unwrap();
        let pq_size = self.qreg(q, qman::PQ_SIZE);
        let slot = queue.pq + 16 * u64::from(queue.pi % pq_size);
        self.write_u64(slot, ptr);
        self.write_u32(slot + 8, len);
        self.write_u32(slot + 12, ctl);
        queue.pi = queue.pi.wrapping_add(1);
        self.set_qreg(q, qman::PQ_PI, queue.pi);
    }

    /// Copies `cb` to guest RAM and posts it on queue `q` without ringing.
    fn post(&self, q: usize, cb: &Cb, tag: u16) {
        let ptr = self.alloc(cb.0.len() as u64, 8);
        self.write(ptr, &cb.0);
        self.post_bd(q, ptr, cb.0.len() as u32, tag.into());
    }

    fn ring(&self, q: usize) {
        self.dev.doorbell(vector(q) as u32, 1).unwrap();
    }

    /// Posts `cb` on queue `q` and rings.
    fn submit(&self, q: usize, cb: &Cb, tag: u16) {
        self.post(q, cb, tag);
        self.ring(q);
    }

    /// The next completion of queue `q`, if it has one.
    fn try_cqe(&self, q: usize) -> Option<Cqe> {
        let mut queues = self.queues.borrow_mut();
        let queue = queues.get_mut(&q).unwrap();
        if self.qreg(q, qman::CQ_PI) == queue.ci {
            return None;
        }
        let slot = queue.cq + 8 * u64::from(queue.ci % queue.cq_entries);
        let (ctl, info) = (self.read_u32(slot), self.read_u32(slot + 4));
        assert_eq!(ctl & 0x7f00_0000, 0, "queue {q}: reserved CQE bits");
        assert!(ctl & 1 << 31 != 0, "queue {q}: CQ_PI moved before READY");
        self.write_u32(slot, 0);
        queue.ci = queue.ci.wrapping_add(1);
        self.set_qreg(q, qman::CQ_CI, queue.ci);
        Some(cqe((ctl >> 16) & 0xff, ctl & 0xffff, info))
    }

    /// Waits for the next completion of queue `q`, and for as many
    /// interrupts as completions so far: each raises one after `CQ_PI`.
    fn cqe(&self, q: usize) -> Cqe {
        let deadline = Instant::now() + TIMEOUT;
        let cqe = loop {
            if let Some(cqe) = self.try_cqe(q) {
                break cqe;
            }
            assert!(Instant::now() < deadline, "queue {q}: no completion");
            thread::sleep(Duration::from_micros(100));
        };
        if vector(q) == INTERNAL_VECTOR {
            // Every completion of the queues sharing the vector raises it.
            let (seen, taken) = self.shared.get();
            self.shared.set((seen, taken + 1));
            loop {
                let (seen, taken) = self.shared.get();
                let seen = seen + self.irqs[INTERNAL_VECTOR].read().unwrap_or(0);
                self.shared.set((seen, taken));
                if seen >= taken {
                    return cqe;
                }
                assert!(Instant::now() < deadline, "queue {q}: no interrupt");
                thread::sleep(Duration::from_micros(100));
            }
        }
        loop {
            let mut queues = self.queues.borrow_mut();
            let queue = queues.get_mut(&q).unwrap();
            queue.irqs += self.irqs[2 + q].read().unwrap_or(0);
            if queue.irqs >= queue.ci.into() {
                return cqe;
            }
            assert!(Instant::now() < deadline, "queue {q}: no interrupt");
            drop(queues);
            thread::sleep(Duration::from_micros(100));
        }
    }

    /// Runs `cb` on queue `q` and returns its completion.
    fn run(&self, q: usize, cb: &Cb) -> Cqe {
        self.submit(q, cb, 0x77);
        let cqe = self.cqe(q);
        assert_eq!(cqe.tag, 0x77);
        cqe
    }

    /// Runs `cb` on queue `q` and checks it succeeded.
    fn run_ok(&self, q: usize, cb: &Cb) {
        assert_eq!(self.run(q, cb), cqe(OK, 0x77, 0), "queue {q}");
    }

    /// Reads and clears interrupt `vector`; whether it was raised.
    fn irq_pending(&self, vector: usize) -> bool {
        self.irqs[vector].read().is_ok()
    }

    /// The next event, if any.
    fn event(&self) -> Option<Event> {
        let (base, entries, ci) = self.events.get().unwrap();
        if self.bar().read32_acquire(eq::EQ_PI) == ci {
            return None;
        }
        let slot = base + 16 * u64::from(ci % entries);
        let hdr = self.read_u32(slot);
        assert_eq!(
            hdr & 0x7f00_ffff,
            1,
            "event type QMAN_ERROR, reserved bits 0"
        );
        assert!(hdr & 1 << 31 != 0, "EQ_PI moved before READY");
        let entry = event(
            (hdr >> 16) & 0xff,
            self.read_u32(slot + 4),
            self.read_u64(slot + 8),
        );
        self.write_u32(slot, 0);
        self.events.set(Some((base, entries, ci + 1)));
        self.bar().write32(eq::EQ_CI, ci + 1);
        Some(entry)
    }

    /// Runs a mailbox command and returns its status.
    fn command(&self, opcode: u32, arg0: u64) -> u32 {
        let bar = self.bar();
        let seq = bar.read32(mailbox::CMD_DONE_SEQ) + 1;
        bar.write64(mailbox::ARG0_LO, arg0);
        bar.write32(mailbox::CMD, opcode);
        bar.write32(mailbox::CMD_SEQ, seq);
        let done = self
            .dev
            .doorbell(0, 1)
            .unwrap()
            .expect("command did not run");
        assert_eq!(done.seq, seq);
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), seq);
        bar.read32(mailbox::CMD_STATUS)
    }

    /// Waits until `cond` holds.
    fn wait(&self, what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_micros(100));
        }
    }

    /// Checks that queue `q` produces no completion for a while.
    fn quiet(&self, q: usize) {
        let cq_pi = self.qreg(q, qman::CQ_PI);
        thread::sleep(QUIET);
        assert_eq!(
            self.qreg(q, qman::CQ_PI),
            cq_pi,
            "queue {q} completed a job"
        );
    }

    /// Writes a kernel descriptor at DRAM offset `off`.
    fn kernel(&self, off: u64, kernel: &Kernel) -> u64 {
        self.dram_write(off, &kernel.bytes());
        DRAM + off
    }
}

fn floats(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mixed signs and magnitudes, so that rounding matters.
            let mantissa = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            mantissa * 2f32.powi((x % 40) as i32 - 20)
        })
        .collect()
}

fn f32_bytes(vals: &[f32]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn f32_bits(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn lin_dma_round_trips_host_dram_host() {
    let g = Guest::new();
    g.queue(DMA0, 8, 8);
    let (src, dst) = (HOST + 0x100_0000, HOST + 0x200_0000);
    let pages = (9 << 20) / PAGE;
    g.map_buffer(src, pages, false);
    g.map_buffer(dst, pages, true);
    let data = pattern(9 << 20, 1);
    g.host_write(src, &data);
    let cases = [
        (0, 1),
        (1, 3),
        (7, 4095),
        (0, 4096),
        (4095, 4097),
        (333, 12345),
        (13, (8 << 20) + 13),
    ];
    for (off, len) in cases {
        let dram = 0x10_0000 + 3 * off;
        let cb = Cb::default().lin_dma(src + off, DRAM + dram, len).lin_dma(
            DRAM + dram,
            dst + 2 * off,
            len,
        );
        let pcie = |reg| g.bar().read64(reg);
        let (rx, tx) = (pcie(pci::RX_BYTES), pcie(pci::TX_BYTES));
        g.run_ok(DMA0, &cb);
        // Read from the host, then written to it: the PCIe counters' bytes.
        assert_eq!(
            pcie(pci::RX_BYTES) - rx,
            u64::from(len),
            "PCIe RX of {len} bytes"
        );
        assert_eq!(
            pcie(pci::TX_BYTES) - tx,
            u64::from(len),
            "PCIe TX of {len} bytes"
        );
        let (off, len) = (off as usize, len as usize);
        let expect = &data[off..off + len];
        assert!(
            g.dram_read(dram, len) == expect,
            "DRAM, {len} bytes at {off}"
        );
        let back = g.host_read(dst, 2 * off + len + 1);
        assert!(
            back[2 * off..2 * off + len] == *expect,
            "host, {len} bytes at {off}"
        );
        assert_eq!(back[2 * off + len], 0, "byte after {len} bytes at {off}");
        assert!(
            back[..2 * off].iter().all(|&b| b == 0),
            "bytes before {len} bytes at {off}"
        );
        g.host_write(dst, &vec![0; 2 * off + len]);
    }
}

#[test]
fn large_copies_are_byte_exact() {
    let g = Guest::with_sizes(80 << 20, 256 << 20);
    g.queue(DMA1, 4, 4);
    let len = 64 << 20;
    g.map_buffer(HOST, len / PAGE, true);
    let data = pattern(len as usize, 9);
    g.host_write(HOST, &data);
    let cb = Cb::default()
        .lin_dma(HOST, DRAM + 0x1000, len as u32)
        .lin_dma(DRAM + 0x1000, DRAM + 0x1001 + len, len as u32)
        .memset(HOST, 0, len as u32)
        .lin_dma(DRAM + 0x1001 + len, HOST, len as u32);
    g.run_ok(DMA1, &cb);
    assert!(g.host_read(HOST, len as usize) == data);
}

#[test]
fn overlapping_copies_are_memmoves() {
    let g = Guest::new();
    g.queue(DMA0, 8, 8);
    let data = pattern(3 * PAGE as usize, 4);
    let len = data.len() as u32;
    // Up and down in DRAM, by less than a page and by more.
    for (from, to) in [
        (0x1000, 0x1003),
        (0x1003, 0x1000),
        (0x1000, 0x2801),
        (0x2801, 0x1000),
    ] {
        g.dram_write(from, &data);
        g.run_ok(DMA0, &Cb::default().lin_dma(DRAM + from, DRAM + to, len));
        assert!(
            g.dram_read(to, data.len()) == data,
            "DRAM {from:#x} -> {to:#x}"
        );
    }
    // The same in host memory, through scattered pages.
    g.map_buffer(HOST, 8, true);
    for (from, to) in [(0x10, 0x13), (0x13, 0x10), (0x10, 0x1811), (0x1811, 0x10)] {
        g.host_write(HOST + from, &data);
        g.run_ok(DMA0, &Cb::default().lin_dma(HOST + from, HOST + to, len));
        assert!(
            g.host_read(HOST + to, data.len()) == data,
            "host {from:#x} -> {to:#x}"
        );
    }
}

#[test]
fn memset_fills_exactly() {
    let g = Guest::new();
    g.queue(DMA1, 8, 8);
    g.map_buffer(HOST, 4, true);
    let cb = Cb::default()
        .memset(DRAM + 0x1001, 0xa5, 4097)
        .memset(HOST + 0xffd, 0x5a, 8195);
    g.run_ok(DMA1, &cb);
    let dram = g.dram_read(0x1000, 4099);
    assert_eq!(dram[0], 0);
    assert!(dram[1..4098].iter().all(|&b| b == 0xa5));
    assert_eq!(dram[4098], 0);
    let host = g.host_read(HOST, 4 * PAGE as usize);
    assert!(host[..0xffd].iter().all(|&b| b == 0));
    assert!(host[0xffd..0xffd + 8195].iter().all(|&b| b == 0x5a));
    assert!(host[0xffd + 8195..].iter().all(|&b| b == 0));
}

#[test]
fn tpc_kernels_match_the_host_bit_for_bit() {
    let g = Guest::new();
    g.queue(TPC0, 8, 8);
    g.queue(TPC1, 8, 8);
    // Crosses the model's internal chunks.
    let n = 100_003;
    let (a, b) = (floats(n, 1), floats(n, 2));
    let (a_off, b_off, out_off) = (0x10_0000, 0x20_0000, 0x30_0000);
    let bytes = 4 * n as u64;
    g.dram_write(a_off, &f32_bytes(&a));
    g.dram_write(b_off, &f32_bytes(&b));
    let scalar = 1.1f32;
    let kernel = |kernel, count: usize, out_off| Kernel {
        kernel,
        count: count as u32,
        a: DRAM + a_off,
        b: DRAM + b_off,
        out: DRAM + out_off,
        scalar: scalar.to_bits(),
        zero: 0,
    };
    let out = |len| f32_bits(&g.dram_read(out_off, 4 * len));

    let fill = Kernel {
        scalar: 0x7fa0_0001, // a signalling NaN: copied, not computed
        ..kernel(1, n, out_off)
    };
    g.run_ok(TPC0, &Cb::default().exe(g.kernel(0, &fill)));
    assert!(out(n).iter().all(|&v| v == 0x7fa0_0001));
    assert_eq!(g.dram_u32(out_off + bytes), 0, "past the end");

    g.run_ok(
        TPC1,
        &Cb::default().exe(g.kernel(0x40, &kernel(2, n, out_off))),
    );
    let expect: Vec<u32> = a.iter().zip(&b).map(|(x, y)| (x + y).to_bits()).collect();
    assert!(out(n) == expect, "ADD");

    g.run_ok(
        TPC0,
        &Cb::default().exe(g.kernel(0x80, &kernel(3, n, out_off))),
    );
    let expect: Vec<u32> = a.iter().map(|x| (x * scalar).to_bits()).collect();
    assert!(out(n) == expect, "SCALE");

    g.run_ok(
        TPC1,
        &Cb::default().exe(g.kernel(0xc0, &kernel(4, n, out_off))),
    );
    let sum = a[1..].iter().fold(a[0], |acc, x| acc + x);
    assert_eq!(out(1), [sum.to_bits()], "SUM");
    assert_ne!(
        sum.to_bits(),
        a.iter().rev().fold(0.0f32, |acc, x| acc + x).to_bits(),
        "order matters"
    );
    assert_eq!(g.dram_u32(out_off + 4), expect[1], "SUM writes one element");

    // In place, and a one-element SUM onto itself: -0.0 stays -0.0.
    let in_place = Kernel {
        out: DRAM + a_off,
        ..kernel(2, n, 0)
    };
    g.run_ok(TPC0, &Cb::default().exe(g.kernel(0x100, &in_place)));
    let expect: Vec<u32> = a.iter().zip(&b).map(|(x, y)| (x + y).to_bits()).collect();
    assert!(
        f32_bits(&g.dram_read(a_off, 4 * n)) == expect,
        "ADD in place"
    );
    g.dram_write(a_off, &(-0.0f32).to_le_bytes());
    let one = Kernel {
        out: DRAM + a_off,
        ..kernel(4, 1, 0)
    };
    g.run_ok(TPC0, &Cb::default().exe(g.kernel(0x140, &one)));
    assert_eq!(g.dram_u32(a_off), (-0.0f32).to_bits());
}

#[test]
fn cross_queue_fence_orders_jobs() {
    let g = Guest::new();
    g.queue(DMA0, 8, 8);
    g.queue(TPC0, 8, 8);
    g.map_buffer(HOST, 1, false);
    let input = floats(1024, 7);
    g.host_write(HOST, &f32_bytes(&input));
    let scale = Kernel {
        kernel: 3,
        count: 1024,
        a: DRAM + 0x1_0000,
        b: 0,
        out: DRAM + 0x2_0000,
        scalar: 3.0f32.to_bits(),
        zero: 0,
    };
    let desc = g.kernel(0, &scale);
    // The TPC job waits for SOB 5 to reach 1, through monitor 9 and its
    // fence counter 2, then scales what the DMA job brought in.
    let consumer = Cb::default()
        .arm_fence(9, 5, 1, TPC0, 2, 1)
        .fence(2, 1, 1)
        .exe(desc);
    g.submit(TPC0, &consumer, 1);
    g.wait("the monitor to be armed", || {
        g.sm_reg(sm::mon(9, sm::STATUS)) == 1
    });
    g.quiet(TPC0);
    assert_eq!(g.qreg(TPC0, qman::STATUS), 1, "busy in the FENCE");
    let producer = Cb::default()
        .lin_dma(HOST, DRAM + 0x1_0000, 4096)
        .msg_short(5, 1 << 31 | 1);
    g.submit(DMA0, &producer, 2);
    assert_eq!(g.cqe(DMA0), cqe(OK, 2, 0));
    assert_eq!(g.cqe(TPC0), cqe(OK, 1, 0));
    let expect: Vec<u32> = input.iter().map(|x| (x * 3.0).to_bits()).collect();
    assert!(f32_bits(&g.dram_read(0x2_0000, 4096)) == expect);
    assert_eq!(g.sm_reg(sm::fence(TPC0, 0, 2)), 0, "decremented");
    assert_eq!(g.sm_reg(sm::mon(9, sm::STATUS)), 0, "disarmed");
    assert_eq!(g.sm_reg(sm::sob(5)), 1);
    assert_eq!(g.qreg(TPC0, qman::STATUS), 0);
}

#[test]
fn fence_timeout_fails_the_job_and_the_queue_goes_on() {
    let g = Guest::new();
    g.event_queue(8);
    g.queue(DMA1, 8, 8);
    let cb = Cb::default().msg_long(DRAM, 1);
    let at = cb.here();
    let cb = cb.fence(1, 2, 1).msg_long(DRAM + 4, 2);
    let start = Instant::now();
    assert_eq!(g.run(DMA1, &cb), cqe(FENCE_TIMEOUT, 0x77, at));
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!((g.dram_u32(0), g.dram_u32(4)), (1, 0));
    assert!(g.irq_pending(1));
    assert_eq!(g.event(), Some(event(1, FENCE_TIMEOUT, at.into())));
    assert_eq!(g.event(), None);
    // Only a FENCE that passes decrements.
    g.run_ok(DMA1, &Cb::default().wreg(sm::fence(DMA1, 0, 1), 1));
    g.run_ok(
        DMA1,
        &Cb::default().wreg(sm::fence(DMA1, 0, 1), 1).fence(1, 2, 1),
    );
    assert_eq!(g.sm_reg(sm::fence(DMA1, 0, 1)), 1);
}

#[test]
fn failing_packets_report_status_and_event_then_the_queue_goes_on() {
    let g = Guest::new();
    g.event_queue(64);
    for q in [DMA0, DMA1, TPC0, TPC1] {
        g.queue(q, 4, 4);
    }
    g.map_buffer(HOST, 1, true);
    g.map_buffer(HOST + PAGE, 1, false);
    // Kernel descriptor number `n`, at DRAM 0x1000 + 0x40 n.
    let desc = |n: u64, kernel, count, a, out, zero| {
        let raw = Kernel {
            kernel,
            count,
            a: DRAM + a,
            b: DRAM + a,
            out: DRAM + out,
            scalar: 0,
            zero,
        };
        g.kernel(0x1000 + 0x40 * n, &raw)
    };
    let p = Cb::default;
    // A failing packet, and the event's info if not the packet's offset.
    let cases = [
        (DMA0, BAD_OPCODE, p().packet(0x1f, 0, 0, &[]), None),
        (DMA1, BAD_OPCODE, p().packet(0x00, 0, 0, &[]), None),
        (TPC0, BAD_OPCODE, p().packet(0x0e, 0, 0, &[0]), None),
        (DMA0, NOT_SUPPORTED, p().packet(0x07, 0, 0, &[0]), None),
        (
            DMA1,
            NOT_SUPPORTED,
            p().packet(0x09, 1 << 1, 1, &[DRAM, DRAM]),
            None,
        ),
        (DMA0, BAD_PACKET, p().packet(0x02, 0, 0, &[]), None),
        (DMA1, BAD_PACKET, p().packet(0x0a, 1 << 12, 0, &[]), None),
        (
            DMA1,
            BAD_PACKET,
            p().packet(0x09, 0, 0, &[DRAM, DRAM]),
            None,
        ),
        (DMA0, BAD_PACKET, p().packet(0x08, 0, 1 << 8, &[]), None),
        (
            TPC0,
            BAD_PACKET,
            p().packet(0x0f, 0, 1 << 12, &[DRAM]),
            None,
        ),
        (DMA0, BAD_PACKET, p().end(), None),
        (DMA1, BAD_PACKET, p().repeat(0).end(), None),
        (
            TPC1,
            BAD_ADDRESS,
            p().msg_long(DRAM + DRAM_ALL, 1),
            Some(DRAM + DRAM_ALL),
        ),
        (TPC1, BAD_ADDRESS, p().msg_long(DRAM + 2, 1), Some(DRAM + 2)),
        // Below DRAM_BASE_ADDR_USER: the driver's part of HBM on GAUDI.
        (DMA0, BAD_ADDRESS, p().msg_long(DRAM - 4, 1), Some(DRAM - 4)),
        (
            DMA0,
            BAD_ADDRESS,
            p().wreg(sm::mon(3, sm::STATUS), 1),
            Some(SM + sm::mon(3, sm::STATUS)),
        ),
        (
            TPC0,
            BAD_ADDRESS,
            p().wreg(sm::sob(1) + 1, 1),
            Some(SM + sm::sob(1) + 1),
        ),
        // Below 0x1000, a DMA QMAN's WREG_32 reaches its engine's core.
        (DMA1, BAD_ADDRESS, p().wreg(0x7a, 1), Some(DMA1_CORE + 0x7a)),
        (
            DMA0,
            BAD_ADDRESS,
            p().wreg(0xffe, 1),
            Some(DMA0_CORE + 0xffe),
        ),
        (DMA0, BAD_ADDRESS, p().wreg(0xf000, 1), Some(SM + 0xf000)),
        (
            DMA1,
            BAD_ADDRESS,
            p().lin_dma(DRAM + DRAM_ALL - 8, DRAM, 9),
            Some(DRAM + DRAM_ALL - 8),
        ),
        (DMA1, BAD_ADDRESS, p().lin_dma(SM, DRAM, 4), Some(SM)),
        (
            DMA1,
            BAD_ADDRESS,
            p().lin_dma(DRAM, DRAM + (1 << 46), 4),
            Some(DRAM + (1 << 46)),
        ),
        (
            DMA1,
            BAD_ADDRESS,
            p().memset(HOST + (1 << 39) - 4, 0, 8),
            Some(HOST + (1 << 39) - 4),
        ),
        (
            DMA0,
            MMU_FAULT,
            p().lin_dma(HOST + 0x10, DRAM, 0x3000),
            Some(HOST + 0x2000),
        ),
        (
            DMA0,
            MMU_FAULT,
            p().lin_dma(DRAM, HOST + 0xff0, 0x20),
            Some(HOST + PAGE),
        ),
        (
            DMA1,
            MMU_FAULT,
            p().memset(HOST + 0x12_3000, 0, 1),
            Some(HOST + 0x12_3000),
        ),
        (
            TPC0,
            MMU_FAULT,
            p().msg_long(HOST + PAGE + 4, 1),
            Some(HOST + PAGE + 4),
        ),
        (TPC0, NOT_SUPPORTED, p().lin_dma(DRAM, DRAM + 4, 4), None),
        (TPC1, NOT_SUPPORTED, p().memset(DRAM, 0, 4), None),
        (DMA0, NOT_SUPPORTED, p().exe(DRAM), None),
        (TPC0, BAD_KERNEL, p().exe(desc(0, 0, 1, 0, 0x100, 0)), None),
        (TPC0, BAD_KERNEL, p().exe(desc(1, 5, 1, 0, 0x100, 0)), None),
        (TPC1, BAD_KERNEL, p().exe(desc(2, 1, 0, 0, 0x100, 0)), None),
        (
            TPC1,
            BAD_KERNEL,
            p().exe(desc(3, 1, (16 << 20) + 1, 0, 0x100, 0)),
            None,
        ),
        (TPC0, BAD_KERNEL, p().exe(desc(4, 1, 1, 0, 0x100, 1)), None),
        (
            TPC0,
            BAD_KERNEL,
            p().exe(desc(5, 2, 8, 0x100, 0x104, 0)),
            None,
        ),
        (
            TPC1,
            BAD_KERNEL,
            p().exe(desc(6, 4, 2, 0x100, 0x100, 0)),
            None,
        ),
        (
            TPC1,
            BAD_ADDRESS,
            p().exe(desc(7, 3, 1, 0x102, 0x200, 0)),
            Some(DRAM + 0x102),
        ),
        (
            TPC0,
            BAD_ADDRESS,
            p().exe(desc(8, 1, 4, 0, DRAM_ALL - 8, 0)),
            Some(DRAM + DRAM_ALL - 8),
        ),
        (
            TPC0,
            BAD_ADDRESS,
            p().exe(DRAM + 0x1004),
            Some(DRAM + 0x1004),
        ),
        (TPC1, BAD_ADDRESS, p().exe(HOST), Some(HOST)),
        (
            TPC1,
            BAD_ADDRESS,
            p().exe(DRAM + DRAM_ALL - 32),
            Some(DRAM + DRAM_ALL - 32),
        ),
    ];
    for (i, (q, status, fail, info)) in cases.into_iter().enumerate() {
        // Between two markers.
        let marker = 0x8000 + 8 * i as u64;
        let mut cb = Cb::default().nop().msg_long(DRAM + marker, 0xaa);
        let at = cb.here();
        cb.0.extend(fail.0);
        let cb = cb.msg_long(DRAM + marker + 4, 0xbb);
        assert_eq!(g.run(q, &cb), cqe(status, 0x77, at), "case {i}");
        let expect = event(q as u32, status, info.unwrap_or(at.into()));
        assert_eq!(g.event(), Some(expect), "case {i}");
        assert!(g.irq_pending(1), "case {i}");
        assert_eq!(g.dram_u32(marker), 0xaa, "case {i}: the packets before ran");
        assert_eq!(
            g.dram_u32(marker + 4),
            0,
            "case {i}: the packets after did not"
        );
        g.run_ok(q, &Cb::default().msg_long(DRAM + marker + 4, 0xcc));
        assert_eq!(g.dram_u32(marker + 4), 0xcc, "case {i}: the next job ran");
    }
    assert_eq!(g.event(), None);
    assert_eq!(g.bar().read32(eq::EQ_LOST), 0);
}

#[test]
fn truncated_and_unterminated_command_buffers() {
    let g = Guest::new();
    g.event_queue(8);
    g.queue(DMA0, 4, 4);
    let cb = Cb::default().nop();
    let at = cb.here();
    let mut cb = cb.lin_dma(DRAM, DRAM + 8, 4);
    cb.0.truncate(cb.0.len() - 8);
    assert_eq!(g.run(DMA0, &cb), cqe(BAD_PACKET, 0x77, at));
    assert_eq!(g.event().map(|e| e.info), Some(at.into()));

    // The block ran once before its missing end was found.
    let cb = Cb::default().nop();
    let at = cb.here();
    let cb = cb.repeat(3).msg_short(1, 1 << 31 | 1);
    assert_eq!(g.run(DMA0, &cb), cqe(BAD_PACKET, 0x77, at));
    assert_eq!(
        g.event().map(|e| (e.cause, e.info)),
        Some((BAD_PACKET, at.into()))
    );
    assert_eq!(g.sm_reg(sm::sob(1)), 1);

    // Blocks do not nest.
    let cb = Cb::default().repeat(2);
    let at = cb.here();
    let cb = cb.repeat(2).end().end();
    assert_eq!(g.run(DMA0, &cb), cqe(BAD_PACKET, 0x77, at));
    assert_eq!(
        g.event().map(|e| (e.cause, e.info)),
        Some((BAD_PACKET, at.into()))
    );
}

#[test]
fn bad_buffer_descriptors() {
    let g = Guest::new();
    g.event_queue(16);
    g.queue(DMA1, 16, 16);
    let cb = Cb::default().msg_short(2, 1 << 31 | 1);
    let ptr = g.alloc(16, 8);
    g.write(ptr, &cb.0);
    let cases = [
        (ptr, 0, 0),
        (ptr, 4, 0),
        (ptr, 12, 0),
        (ptr + 4, 8, 0),
        (ptr, (2 << 20) + 8, 0),
        (ptr, 8, 1 << 17),
        (RAM_SIZE - 8, 16, 0),
        (u64::MAX - 7, 8, 0),
    ];
    for (i, &(ptr, len, ctl)) in cases.iter().enumerate() {
        g.post_bd(DMA1, ptr, len, ctl | 0x40 | i as u32);
        g.ring(DMA1);
        let tag = 0x40 | i as u32;
        assert_eq!(g.cqe(DMA1), cqe(BAD_PACKET, tag, 0), "case {i}");
        assert_eq!(g.event(), Some(event(1, BAD_PACKET, 0)), "case {i}");
    }
    g.post_bd(DMA1, ptr, 8, 0xffff);
    g.ring(DMA1);
    assert_eq!(g.cqe(DMA1), cqe(OK, 0xffff, 0));
    // A 2 MiB CB of NOPs ending in the SOB increment.
    let mut big = Cb::default();
    while big.0.len() < (2 << 20) - 8 {
        big = big.nop();
    }
    let big = big.msg_short(2, 1 << 31 | 1);
    g.run_ok(DMA1, &big);
    assert_eq!(g.sm_reg(sm::sob(2)), 2);
}

#[test]
fn repeat_stop_and_sync_manager_packets() {
    let g = Guest::new();
    g.queue(DMA0, 4, 4);
    g.map_buffer(HOST, 1, true);
    let cb = Cb::default()
        .repeat(5)
        .msg_short(3, 1 << 31 | 2)
        .arb_point()
        .end()
        .repeat(1)
        .msg_long(SM + sm::sob(4), 1 << 31 | 0x7fff)
        .end()
        .wreg(sm::sob(1030), 0x1_2345)
        .msg_short(1023, 9)
        // Monitor 255 on SOB 3 >= 10 writes host memory at once.
        .wreg(sm::mon(255, sm::PAY_ADDR_LO), 0x40)
        .wreg(sm::mon(255, sm::PAY_ADDR_HI), (HOST >> 32) as u32)
        .wreg(sm::mon(255, sm::PAY_DATA), 0xfeed)
        .wreg(sm::mon(255, sm::ARM), arm(3, 10))
        .stop()
        .packet(0x1f, 0xff_ffff, 0, &[])
        .msg_short(7, 1);
    g.run_ok(DMA0, &cb);
    assert_eq!(g.sm_reg(sm::sob(3)), 10);
    assert_eq!(g.sm_reg(sm::sob(4)), 0x7fff);
    assert_eq!(g.sm_reg(sm::sob(1030)), 0x2345);
    assert_eq!(g.sm_reg(sm::sob(1023)), 9);
    assert_eq!(g.sm_reg(sm::sob(7)), 0, "after STOP");
    assert_eq!(g.host_read(HOST + 0x40, 4), 0xfeed_u32.to_le_bytes());
    assert_eq!(g.sm_reg(sm::mon(255, sm::STATUS)), 0);
}

/// The packets GAUDI has beyond the basic ones, run as GAUDI runs them.
#[test]
fn gaudi_packets_run() {
    let g = Guest::new();
    g.queue(DMA0, 4, 4);
    g.queue(TPC1, 4, 4);
    g.map_buffer(HOST, 1, true);
    // A CB in device memory for CP_DMA: it adds 5 to SOB 20.
    let inner = Cb::default().msg_short(20, 1 << 31 | 5).nop();
    g.dram_write(0x2000, &inner.0);
    let cb = Cb::default()
        // WREG_BULK: SOBs 1040-1043 in one packet (two 64-bit values;
        // below SOB 1024, a DMA QMAN's WREG_BULK reaches its DMA core).
        .wreg_bulk(sm::sob(1040), &[2 << 32 | 1, 4 << 32 | 3])
        .cp_dma(DRAM + 0x2000, inner.here())
        // MSG_SHORT through base 0 (the monitors) arms monitor 40: its
        // payload (set by WREG_32) adds 1 to fence 2 of this queue once
        // SOB 20 reaches 5, which it has.
        .wreg(
            sm::mon(40, sm::PAY_ADDR_LO),
            (SM + sm::fence(DMA0, 0, 2)) as u32,
        )
        .wreg(
            sm::mon(40, sm::PAY_ADDR_HI),
            ((SM + sm::fence(DMA0, 0, 2)) >> 32) as u32,
        )
        .wreg(sm::mon(40, sm::PAY_DATA), 1)
        .msg_short_at(
            0,
            (sm::mon(40, sm::ARM) - sm::PAY_ADDR_LO) as u32,
            arm(20, 5),
        )
        .fence(2, 1, 1)
        // WAIT: 1500 cycles, then 3 added to fence 1.
        .wait(1500, 3, 1)
        .fence(1, 3, 3);
    g.run_ok(DMA0, &cb);
    let sobs: Vec<u32> = (1040..=1043)
        .chain([20])
        .map(|s| g.sm_reg(sm::sob(s)))
        .collect();
    assert_eq!(sobs, [1, 2, 3, 4, 5]);
    assert_eq!(g.sm_reg(sm::mon(40, sm::STATUS)), 0, "fired");
    assert_eq!(g.sm_reg(sm::fence(DMA0, 0, 1)), 0);
    // A CP_DMA inside a CP_DMA is refused, reported at the outer one.
    let nested = Cb::default().cp_dma(DRAM + 0x2000, 24);
    g.dram_write(0x3000, &nested.0);
    let cb = Cb::default().nop().cp_dma(DRAM + 0x3000, nested.here());
    assert_eq!(g.run(TPC1, &cb), cqe(BAD_PACKET, 0x77, 8));
}

/// DRAM to SRAM and back, at both ends of the SRAM; past it is a RAZWI.
#[test]
fn sram_round_trip() {
    let g = Guest::new();
    g.queue(DMA1, 4, 4);
    let data = pattern(8192, 3);
    g.dram_write(0x1000, &data);
    for at in [SRAM, SRAM + SRAM_SIZE - 8192] {
        let cb = Cb::default()
            .lin_dma(DRAM + 0x1000, at, 8192)
            .memset(DRAM + 0x4000, 0, 8192)
            .lin_dma(at, DRAM + 0x4000, 8192);
        g.run_ok(DMA1, &cb);
        assert!(g.dram_read(0x4000, 8192) == data, "through {at:#x}");
    }
    let cb = Cb::default().lin_dma(DRAM, SRAM + SRAM_SIZE - 4, 8);
    assert_eq!(g.run(DMA1, &cb), cqe(BAD_ADDRESS, 0x77, 0));
}

#[test]
fn cq_full_stalls_without_losing_jobs() {
    let g = Guest::new();
    g.queue(DMA0, 8, 2);
    for tag in 1..=3 {
        g.post(DMA0, &Cb::default().msg_short(0, 1 << 31 | 1), tag);
    }
    g.ring(DMA0);
    g.wait("two completions", || g.qreg(DMA0, qman::CQ_PI) == 2);
    thread::sleep(QUIET);
    assert_eq!(g.qreg(DMA0, qman::CQ_PI), 2, "wrote into a full CQ");
    assert_eq!(
        g.qreg(DMA0, qman::PQ_CI),
        2,
        "took a job it cannot complete"
    );
    assert_eq!(g.sm_reg(sm::sob(0)), 2);
    assert_eq!(g.cqe(DMA0).tag, 1);
    // Consuming alone does not resume the queue: the doorbell does.
    thread::sleep(QUIET);
    assert_eq!(g.qreg(DMA0, qman::CQ_PI), 2);
    g.ring(DMA0);
    assert_eq!(g.cqe(DMA0).tag, 2);
    assert_eq!(g.cqe(DMA0).tag, 3);
    assert_eq!(g.sm_reg(sm::sob(0)), 3);
    assert_eq!(g.qreg(DMA0, qman::PQ_CI), 3);
}

#[test]
fn doorbells_are_not_lost() {
    let g = Guest::new();
    for q in [DMA0, DMA1, TPC0, TPC1] {
        g.queue(q, 64, 64);
    }
    // Enough work that doorbells ring while jobs run.
    let cb = Cb::default().repeat(200).msg_short(0, 1 << 31 | 1).end();
    for tag in 0..40 {
        for q in [DMA0, DMA1, TPC0, TPC1] {
            g.submit(q, &cb, tag);
        }
    }
    for q in [DMA0, DMA1, TPC0, TPC1] {
        for tag in 0..40 {
            assert_eq!(g.cqe(q), cqe(OK, tag, 0), "queue {q}");
        }
    }
    assert_eq!(g.sm_reg(sm::sob(0)), 160 * 200);
}

#[test]
fn ring_registers_are_checked() {
    let g = Guest::new();
    g.queue(TPC1, 4, 4);
    let cb = Cb::default().msg_short(8, 1 << 31 | 1);
    g.post(TPC1, &cb, 1);
    let pq_base = g.bar().read64(qman::block(TPC1) + qman::PQ_BASE_LO);
    let bad = [
        (qman::PQ_SIZE, 3),
        (qman::PQ_SIZE, 8192),
        (qman::CQ_SIZE, 1),
        (qman::PQ_BASE_LO, pq_base as u32 + 8),
        (qman::CQ_BASE_LO, RAM_SIZE as u32 - 8),
        (qman::PQ_PI, 6),
        (qman::CQ_CI, 1),
    ];
    for (reg, val) in bad {
        let old = g.qreg(TPC1, reg);
        g.set_qreg(TPC1, reg, val);
        g.set_qreg(TPC1, qman::STATUS, 0);
        g.ring(TPC1);
        g.wait("CONFIG_ERROR", || g.qreg(TPC1, qman::STATUS) == 2);
        thread::sleep(Duration::from_millis(10));
        assert_eq!(g.qreg(TPC1, qman::PQ_CI), 0, "register {reg:#x} = {val:#x}");
        g.set_qreg(TPC1, reg, old);
    }
    // Disabled, the doorbell does nothing.
    g.set_qreg(TPC1, qman::CTL, 0);
    g.ring(TPC1);
    g.quiet(TPC1);
    g.set_qreg(TPC1, qman::CTL, 1);
    g.ring(TPC1);
    assert_eq!(g.cqe(TPC1), cqe(OK, 1, 0));
    assert_eq!(g.qreg(TPC1, qman::STATUS), 0);
    assert_eq!(g.sm_reg(sm::sob(8)), 1);
}

#[test]
fn engine_hang_stops_one_queue_until_cleared_or_reset() {
    let g = Guest::new();
    g.event_queue(8);
    g.queue(DMA0, 4, 4);
    g.queue(DMA1, 4, 4);
    let bar = g.bar();
    bar.write32(model_ctl::ENGINE_HANG, 1 << DMA1);
    g.submit(DMA1, &Cb::default().msg_short(1, 1), 1);
    g.wait("DMA1 busy", || g.qreg(DMA1, qman::STATUS) == 1);
    g.run_ok(DMA0, &Cb::default().msg_short(0, 1));
    g.quiet(DMA1);
    assert_eq!(g.sm_reg(sm::sob(1)), 0);
    bar.write32(model_ctl::ENGINE_HANG, 0);
    assert_eq!(g.cqe(DMA1), cqe(OK, 1, 0));
    assert_eq!(g.sm_reg(sm::sob(1)), 1);

    // Hung mid-job (past a FENCE that DMA0 releases), with another job
    // queued: QMAN_RESET drops both.
    let cb = Cb::default().msg_short(2, 1).fence(0, 1, 0).msg_short(3, 1);
    g.submit(DMA1, &cb, 2);
    g.submit(DMA1, &Cb::default().msg_short(4, 1), 3);
    g.wait("the first packet", || g.sm_reg(sm::sob(2)) == 1);
    bar.write32(model_ctl::ENGINE_HANG, 1 << DMA1);
    g.run_ok(DMA0, &Cb::default().wreg(sm::fence(DMA1, 0, 0), 1));
    thread::sleep(QUIET);
    assert_eq!(g.sm_reg(sm::sob(3)), 0, "ran while hung");
    assert_eq!(g.qreg(DMA1, qman::STATUS), 1);
    assert_eq!(g.command(0x03, DMA1 as u64), 0);
    assert_eq!(g.sm_reg(sm::fence(DMA1, 0, 0)), 0);
    for off in (0..qman::SIZE).step_by(4) {
        let expect = if off % qman::STREAM_SIZE == qman::ENGINE {
            0x100
        } else {
            0
        };
        assert_eq!(g.qreg(DMA1, off), expect, "register {off:#x}");
    }
    assert_eq!(g.qreg(DMA0, qman::CTL), 1, "other queues are left alone");
    bar.write32(model_ctl::ENGINE_HANG, 0);
    thread::sleep(QUIET);
    assert_eq!(g.sm_reg(sm::sob(4)), 0, "dropped job ran");
    let cq_base = g.queues.borrow()[&DMA1].cq;
    assert_eq!(
        g.read(cq_base, 32),
        vec![0; 32],
        "completion of an aborted job"
    );
    assert_eq!(g.event(), None);
    assert_eq!(bar.read32(model_ctl::ENGINE_HANG), 0);

    // The queue serves again once set up again.
    g.queue(DMA1, 4, 4);
    g.run_ok(DMA1, &Cb::default().msg_short(5, 1));
    assert_eq!(g.sm_reg(sm::sob(5)), 1);
    assert_eq!(g.sm_reg(sm::sob(3)), 0);
}

#[test]
fn qman_reset_aborts_a_fence_and_zeroes_its_counters() {
    let g = Guest::new();
    g.event_queue(8);
    g.queue(TPC0, 4, 4);
    g.queue(TPC1, 4, 4);
    g.run_ok(
        TPC1,
        &Cb::default()
            .wreg(sm::fence(TPC0, 0, 0), 1)
            .wreg(sm::fence(TPC1, 0, 0), 1),
    );
    g.submit(TPC0, &Cb::default().fence(0, 2, 1).msg_short(1, 1), 1);
    g.wait("TPC0 busy", || g.qreg(TPC0, qman::STATUS) == 1);
    assert_eq!(g.command(0x03, TPC0 as u64), 0);
    assert_eq!(g.qreg(TPC0, qman::STATUS), 0);
    assert_eq!(g.sm_reg(sm::fence(TPC0, 0, 0)), 0);
    assert_eq!(g.sm_reg(sm::fence(TPC1, 0, 0)), 1);
    thread::sleep(Duration::from_millis(1100));
    assert_eq!(g.qreg(TPC0, qman::CQ_PI), 0, "no completion after a reset");
    assert_eq!(g.event(), None, "the reset waited for the FENCE's timeout");
    assert_eq!(g.command(0x03, 28), 4, "BAD_SIZE");
}

#[test]
fn reset_aborts_every_job_and_clears_every_block() {
    let g = Guest::new();
    g.event_queue(8);
    for q in [DMA0, DMA1, TPC0] {
        g.queue(q, 4, 4);
    }
    g.map_buffer(HOST, 1, true);
    g.run_ok(
        DMA0,
        &Cb::default()
            .memset(DRAM, 0xff, 64)
            .msg_short(9, 9)
            .arm_fence(1, 10, 1, TPC0, 0, 1),
    );
    g.bar().write32(model_ctl::ENGINE_HANG, 1 << DMA1);
    g.submit(DMA1, &Cb::default().msg_short(2, 1), 1);
    g.submit(TPC0, &Cb::default().fence(0, 1, 1).msg_short(3, 1), 1);
    g.wait("both busy", || {
        g.qreg(DMA1, qman::STATUS) == 1 && g.qreg(TPC0, qman::STATUS) == 1
    });
    assert_eq!(g.command(0x01, 0), 0);
    let bar = g.bar();
    assert_eq!(
        bar.read32(model_ctl::ENGINE_HANG),
        1 << DMA1,
        "model control survives"
    );
    bar.write32(model_ctl::ENGINE_HANG, 0);
    thread::sleep(Duration::from_millis(1100));
    for q in [DMA0, DMA1, TPC0, TPC1] {
        for off in (0..qman::SIZE).step_by(4) {
            if off % qman::STREAM_SIZE != qman::ENGINE {
                assert_eq!(g.qreg(q, off), 0, "queue {q} register {off:#x}");
            }
        }
    }
    for off in (mmu::BASE..eq::BASE + eq::SIZE).step_by(4) {
        assert_eq!(bar.read32(off), 0, "register {off:#x}");
    }
    for off in (0..sm::SIZE).step_by(4) {
        assert_eq!(g.sm_reg(off), 0, "sync manager {off:#x}");
    }
    assert_eq!(g.dram_read(0, 64), vec![0; 64]);
    // No completion or event was written after the reset.
    for q in [DMA1, TPC0] {
        let cq_base = g.queues.borrow()[&q].cq;
        assert_eq!(g.read(cq_base, 32), vec![0; 32], "queue {q}");
    }
    let (eq_base, ..) = g.events.get().unwrap();
    assert_eq!(g.read(eq_base, 16 * 8), vec![0; 16 * 8]);

    // Set up again, everything works.
    g.enable_mmu();
    g.event_queue(8);
    g.queue(TPC0, 4, 4);
    g.run_ok(
        TPC0,
        &Cb::default()
            .msg_long(HOST, 5)
            .wreg(sm::fence(TPC0, 0, 0), 1)
            .fence(0, 1, 1),
    );
    assert_eq!(g.host_read(HOST, 4), 5u32.to_le_bytes());
}

#[test]
fn full_or_disabled_event_queue_counts_lost_events() {
    let g = Guest::new();
    g.event_queue(2);
    g.queue(DMA0, 8, 8);
    let bad = Cb::default().packet(0x1f, 0, 0, &[]);
    for _ in 0..3 {
        assert_eq!(g.run(DMA0, &bad).status, BAD_OPCODE);
    }
    assert_eq!(g.bar().read32(eq::EQ_PI), 2);
    assert_eq!(g.bar().read32(eq::EQ_LOST), 1);
    assert!(g.event().is_some() && g.event().is_some() && g.event().is_none());
    assert_eq!(g.run(DMA0, &bad).status, BAD_OPCODE);
    assert_eq!(g.event().map(|e| e.cause), Some(BAD_OPCODE));
    g.bar().write32(eq::EQ_CTL, 0);
    assert_eq!(g.run(DMA0, &bad).status, BAD_OPCODE);
    assert_eq!(g.bar().read32(eq::EQ_LOST), 2);
    assert_eq!(g.bar().read32(eq::EQ_PI), 3);
}

#[test]
fn random_jobs_and_registers_never_wedge_the_device() {
    let g = Guest::new();
    g.event_queue(4096);
    let queues = [DMA0, DMA1, TPC0, TPC1];
    for q in queues {
        g.queue(q, 64, 64);
    }
    g.map_buffer(HOST, 4, true);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..100 {
        for q in queues {
            let mut cb = Cb::default();
            for _ in 0..1 + next() % 6 {
                let (r, s) = (next(), next());
                // Mostly valid addresses, so that jobs get somewhere.
                let addr = |r: u64| match r % 8 {
                    0..=2 => DRAM + (r >> 40) % 0x10000,
                    3 | 4 => HOST + (r >> 40) % 0x4000,
                    5 => SM + (r >> 40) % 0x1000,
                    6 => DRAM + DRAM_ALL - (r >> 56),
                    _ => r,
                };
                let val = (r >> 8) as u32;
                cb = match (r >> 32) % 16 {
                    0 | 1 => cb.wreg((s >> 16) & 0xfffc, val),
                    2 | 3 => cb.msg_long(addr(s) & !3, val),
                    4 => cb.msg_short(s as u32 & 0x3ff, val),
                    5 => cb.repeat(1 + s as u32 % 4),
                    6 => cb.end(),
                    7 => cb.fence(s as u32 & 3, 0, (s >> 8) as u32 & 0xf),
                    8 | 9 => cb.lin_dma(addr(s), addr(next()), 1 + val % 0x3000),
                    10 => cb.memset(addr(s), s as u8, 1 + val % 0x3000),
                    11 | 12 => cb.exe(addr(s) & !7),
                    13 => cb.packet((s & 0x1f) as u32, (s >> 8) as u32 & 0xff_ffff, val, &[s]),
                    14 => cb.nop(),
                    _ => cb.arb_point(),
                };
            }
            g.submit(q, &cb, round);
        }
        for q in queues {
            let done = g.cqe(q);
            assert_eq!(done.tag, u32::from(round), "queue {q}");
            assert!(done.status <= BAD_KERNEL, "queue {q}: {done:?}");
        }
    }
    while let Some(event) = g.event() {
        assert!(
            (BAD_OPCODE..=BAD_KERNEL).contains(&event.cause),
            "{event:?}"
        );
    }

    // Garbage in every register, and every doorbell.
    let bar = g.bar();
    for off in (mmu::BASE..eq::BASE + eq::SIZE)
        .chain(qman::block(0)..qman::block(4))
        .step_by(4)
    {
        bar.write32(off, next() as u32);
    }
    for q in queues {
        g.set_qreg(q, qman::CTL, 1);
    }
    for vector in 0..32 {
        g.dev.doorbell(vector, 1).unwrap();
    }
    thread::sleep(QUIET);
    assert_eq!(g.command(0x01, 0), 0);
    g.enable_mmu();
    g.queue(TPC1, 4, 4);
    g.run_ok(TPC1, &Cb::default().msg_long(HOST, 1));
}

/// GAUDI's compute queues as the model numbers them: DMA 0-7, TPC 0-7,
/// MME 0-1.
fn gaudi_queues() -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let dma = [DMA0, DMA1].into_iter().chain(DMA2..DMA2 + 6).collect();
    let tpc = [TPC0, TPC1].into_iter().chain(TPC2..TPC2 + 6).collect();
    (dma, tpc, vec![MME0, MME0 + 1])
}

#[test]
fn every_gaudi_queue_runs_its_engines_packets() {
    let g = Guest::new();
    g.event_queue(64);
    let (dma, tpc, mme) = gaudi_queues();
    for &q in dma.iter().chain(&tpc).chain(&mme) {
        g.queue(q, 4, 4);
    }
    // Each DMA engine: DRAM to SRAM and back, at offsets of its own.
    for (i, &q) in dma.iter().enumerate() {
        let (i64, len) = (i as u64, 4096 + 8 * i as u32);
        let data = pattern(len as usize, i as u8);
        g.dram_write(0x10_0000 * i64, &data);
        let sram = SRAM + 0x2_0000 * i64 + 3;
        let cb = Cb::default()
            .lin_dma(DRAM + 0x10_0000 * i64, sram, len)
            .lin_dma(sram, DRAM + 0x10_0000 * i64 + 0x8_0001, len)
            .msg_short(100 + i as u32, 1 << 31 | 1);
        g.run_ok(q, &cb);
        let back = g.dram_read(0x10_0000 * i64 + 0x8_0001, len as usize);
        assert!(back == data, "DMA queue {q}");
        assert_eq!(g.sm_reg(sm::sob(100 + i as u64)), 1, "DMA queue {q}");
    }
    // Each TPC: a fill kernel into DRAM.
    for (i, &q) in tpc.iter().enumerate() {
        let fill = Kernel {
            kernel: 1,
            count: 64,
            a: 0,
            b: 0,
            out: DRAM + 0x90_0000 + 0x1000 * i as u64,
            scalar: (i as f32 + 0.5).to_bits(),
            zero: 0,
        };
        let desc = g.kernel(0x80_0000 + 0x100 * i as u64, &fill);
        g.run_ok(q, &Cb::default().exe(desc).nop());
        let out = f32_bits(&g.dram_read(0x90_0000 + 0x1000 * i as u64, 256));
        assert!(out.iter().all(|&x| x == fill.scalar), "TPC queue {q}");
    }
    // Each MME: the QMAN's own packets run; the DMA's and the TPC's do
    // not, and report GAUDI's way (an event).
    for &q in &mme {
        let cb = Cb::default().nop().msg_short(120, 1 << 31 | 1).arb_point();
        g.run_ok(q, &cb);
        for bad in [
            Cb::default().lin_dma(DRAM, DRAM + 8, 8),
            Cb::default().exe(DRAM),
        ] {
            assert_eq!(g.run(q, &bad), cqe(NOT_SUPPORTED, 0x77, 0), "MME queue {q}");
            assert_eq!(g.event(), Some(event(q as u32, NOT_SUPPORTED, 0)));
        }
    }
    assert_eq!(g.sm_reg(sm::sob(120)), 2);
    assert_eq!(g.event(), None);
}

#[test]
fn a_gaudi_fence_across_internal_queues() {
    let g = Guest::new();
    let (tpc5, dma6) = (TPC2 + 3, DMA2 + 4);
    for q in [tpc5, dma6] {
        g.queue(q, 4, 4);
    }
    // TPC 5's job arms monitor 40 as hl-thunk-open's GAUDI tests do: the
    // payload is its QMAN's CP_FENCE2_RDATA_0 (asic_reg: TPC5_QM at
    // CFG_BASE + 0xf48000, the register at + 0x308 + 2 * 0x14).
    let fence = CFG + 0xf4_8000 + 0x308 + 2 * 0x14;
    let consumer = Cb::default()
        .arm_payload(40, 33, 1, fence, 1)
        .fence(2, 1, 1)
        .lin_dma(SRAM, DRAM + 0x4000, 64);
    g.submit(tpc5, &consumer, 1);
    g.wait("the monitor to be armed", || {
        g.sm_reg(sm::mon(40, sm::STATUS)) == 1
    });
    g.quiet(tpc5);
    let producer = Cb::default().memset(SRAM, 0x3c, 64).msg_short(33, 1);
    g.submit(dma6, &producer, 2);
    assert_eq!(g.cqe(dma6), cqe(OK, 2, 0));
    // The TPC's QMAN has no DMA engine: its LIN_DMA is refused, after the
    // fence let it through.
    assert_eq!(g.cqe(tpc5).status, NOT_SUPPORTED);
    assert_eq!(g.sm_reg(sm::fence(tpc5, 0, 2)), 0, "decremented");
    // The same on a DMA queue completes.
    // DMA 6's CP_FENCE0_RDATA_0.
    let consumer = Cb::default()
        .arm_payload(41, 34, 1, CFG + 0x5c_8308, 1)
        .fence(0, 1, 1)
        .lin_dma(SRAM, DRAM + 0x4000, 64);
    g.submit(dma6, &consumer, 3);
    g.quiet(dma6);
    g.queue(MME0, 4, 4);
    g.run_ok(MME0, &Cb::default().msg_short(34, 1));
    assert_eq!(g.cqe(dma6), cqe(OK, 3, 0));
    assert_eq!(g.dram_read(0x4000, 64), vec![0x3c; 64]);
}

/// The driver's view of one stream of a QMAN, set up and read without the
/// interrupt accounting of [`Guest::queue`]: its completions are polled.
struct Stream {
    block: u64,
    pq: u64,
    cq: u64,
    entries: u32,
    pi: Cell<u32>,
    ci: Cell<u32>,
}

impl Guest {
    /// Sets up and enables stream `s` of QMAN `q`, `entries` in each ring.
    fn stream(&self, q: usize, s: usize, entries: u32) -> Stream {
        let block = qman::stream(q, s);
        let (pq, cq) = (
            self.alloc(16 * u64::from(entries), 16),
            self.alloc(8 * u64::from(entries), 8),
        );
        let bar = self.bar();
        bar.write64(block + qman::PQ_BASE_LO, pq);
        bar.write32(block + qman::PQ_SIZE, entries);
        bar.write64(block + qman::CQ_BASE_LO, cq);
        bar.write32(block + qman::CQ_SIZE, entries);
        bar.write64(block + qman::msg_base(1), SM + sm::SOB);
        bar.write32_release(block + qman::CTL, 1);
        let (pi, ci) = (Cell::new(0), Cell::new(0));
        Stream {
            block,
            pq,
            cq,
            entries,
            pi,
            ci,
        }
    }

    /// Posts `cb` with `tag` on `stream` and rings its QMAN's doorbell,
    /// vector `vector`.
    fn submit_stream(&self, stream: &Stream, vector: usize, cb: &Cb, tag: u16) {
        let ptr = self.alloc(cb.0.len() as u64, 8);
        self.write(ptr, &cb.0);
        let slot = stream.pq + 16 * u64::from(stream.pi.get() % stream.entries);
        self.write_u64(slot, ptr);
        self.write_u32(slot + 8, cb.0.len() as u32);
        self.write_u32(slot + 12, tag.into());
        stream.pi.set(stream.pi.get() + 1);
        self.bar()
            .write32_release(stream.block + qman::PQ_PI, stream.pi.get());
        self.dev.doorbell(vector as u32, 1).unwrap();
    }

    /// The next completion of `stream`, waited for.
    fn stream_cqe(&self, stream: &Stream) -> Cqe {
        let ci = stream.ci.get();
        self.wait("a completion of the stream", || {
            self.bar().read32_acquire(stream.block + qman::CQ_PI) != ci
        });
        let slot = stream.cq + 8 * u64::from(ci % stream.entries);
        let (ctl, info) = (self.read_u32(slot), self.read_u32(slot + 4));
        stream.ci.set(ci + 1);
        self.bar().write32(stream.block + qman::CQ_CI, ci + 1);
        cqe((ctl >> 16) & 0xff, ctl & 0xffff, info)
    }

    /// Checks that `stream` completes nothing for a while.
    fn stream_quiet(&self, stream: &Stream) {
        let cq_pi = self.bar().read32(stream.block + qman::CQ_PI);
        thread::sleep(QUIET);
        assert_eq!(self.bar().read32(stream.block + qman::CQ_PI), cq_pi);
    }
}

#[test]
fn a_fenced_stream_leaves_its_siblings_running() {
    let g = Guest::new();
    g.event_queue(8);
    let streams: Vec<_> = (0..4).map(|s| g.stream(DMA0, s, 4)).collect();
    let run = |s: usize, cb: &Cb, tag| g.submit_stream(&streams[s], vector(DMA0), cb, tag);
    // Stream 1 waits on its fence 2 for SOB 30, through GAUDI's register
    // (DMA0_QM CP_FENCE2_RDATA_1: CFG_BASE + 0x508000 + 0x308 + 2 * 0x14 + 4),
    // then sets SOB 31; stream 2 waits on its fence 2 for SOB 32 through
    // the model's counter.
    let fence1 = CFG + 0x50_8000 + 0x308 + 2 * 0x14 + 4;
    run(
        1,
        &Cb::default()
            .arm_payload(0, 30, 1, fence1, 1)
            .fence(2, 1, 1)
            .msg_short(31, 5),
        1,
    );
    let fence2 = SM + sm::fence(DMA0, 2, 2);
    run(
        2,
        &Cb::default()
            .arm_payload(1, 32, 1, fence2, 1)
            .fence(2, 1, 1)
            .msg_short(33, 6),
        2,
    );
    g.wait("both armed", || {
        g.sm_reg(sm::mon(0, sm::STATUS)) == 1 && g.sm_reg(sm::mon(1, sm::STATUS)) == 1
    });
    // Their siblings run meanwhile; the fence counters of stream 0 and of
    // the lower CP are not theirs.
    run(
        0,
        &Cb::default()
            .wreg(sm::fence(DMA0, 0, 2), 1)
            .msg_short(34, 1),
        3,
    );
    assert_eq!(g.stream_cqe(&streams[0]), cqe(OK, 3, 0));
    run(
        3,
        &Cb::default()
            .wreg(sm::fence(DMA0, sm::LOWER_CP, 2), 1)
            .nop(),
        4,
    );
    assert_eq!(g.stream_cqe(&streams[3]), cqe(OK, 4, 0));
    g.stream_quiet(&streams[1]);
    g.stream_quiet(&streams[2]);
    assert_eq!((g.sm_reg(sm::sob(31)), g.sm_reg(sm::sob(33))), (0, 0));
    assert_eq!(g.qreg(DMA0, qman::STATUS), 0, "stream 0 is idle");
    assert_eq!(
        g.bar().read32(streams[1].block + qman::STATUS),
        1,
        "stream 1 is busy"
    );
    // A sibling releases them, stream 2 first.
    run(0, &Cb::default().msg_short(32, 1), 5);
    assert_eq!(g.stream_cqe(&streams[0]), cqe(OK, 5, 0));
    assert_eq!(g.stream_cqe(&streams[2]), cqe(OK, 2, 0));
    assert_eq!(g.sm_reg(sm::sob(33)), 6);
    assert_eq!(g.sm_reg(sm::sob(31)), 0, "stream 1 still waits");
    run(3, &Cb::default().msg_short(30, 1), 6);
    assert_eq!(g.stream_cqe(&streams[3]), cqe(OK, 6, 0));
    assert_eq!(g.stream_cqe(&streams[1]), cqe(OK, 1, 0));
    assert_eq!(g.sm_reg(sm::sob(31)), 5);
    assert_eq!(g.sm_reg(sm::fence(DMA0, 1, 2)), 0, "decremented");
    assert_eq!(g.sm_reg(sm::fence(DMA0, 0, 2)), 1, "stream 0's untouched");
    assert_eq!(g.event(), None);
    // A QMAN reset stops and clears every stream.
    run(2, &Cb::default().fence(1, 1, 1), 7);
    g.wait("stream 2 busy", || {
        g.bar().read32(streams[2].block + qman::STATUS) == 1
    });
    assert_eq!(g.command(0x03, DMA0 as u64), 0);
    for stream in &streams {
        assert_eq!(g.bar().read32(stream.block + qman::CTL), 0);
        assert_eq!(g.bar().read32(stream.block + qman::STATUS), 0);
    }
    assert_eq!(g.sm_reg(sm::fence(DMA0, 0, 2)), 0);
}

/// BD `ctl` bit: the CB is at a device address (GAUDI's internal queues).
const BD_DEVICE_CB: u32 = 1 << 16;

#[test]
fn internal_queues_fetch_cbs_from_device_addresses() {
    let g = Guest::new();
    g.event_queue(8);
    let (dma3, tpc7) = (DMA2 + 1, TPC2 + 5);
    g.queue(dma3, 4, 4);
    g.queue(tpc7, 4, 4);
    // A CB in DRAM, one in mapped host memory, one in SRAM (put there by a
    // DMA engine, as GAUDI's users do).
    let cb = |marker: u32| Cb::default().nop().msg_long(DRAM + 0x100, marker);
    g.dram_write(0x8000, &cb(1).0);
    g.map_buffer(HOST + 0x40_0000, 1, false);
    g.host_write(HOST + 0x40_0010, &cb(2).0);
    let len = cb(0).0.len() as u32;
    g.run_ok(
        dma3,
        &Cb::default().lin_dma(DRAM + 0x8000, SRAM + 0x800, len),
    );
    for (ptr, marker) in [(DRAM + 0x8000, 1), (HOST + 0x40_0010, 2), (SRAM + 0x800, 1)] {
        g.dram_write(0x100, &[0; 4]);
        g.post_bd(tpc7, ptr, len, BD_DEVICE_CB | 5);
        g.ring(tpc7);
        assert_eq!(g.cqe(tpc7), cqe(OK, 5, 0), "CB at {ptr:#x}");
        assert_eq!(g.dram_u32(0x100), marker, "CB at {ptr:#x}");
    }
    // A device address that reaches nothing is the fetch's fault, at
    // offset 0, reported with the address.
    for (ptr, status) in [(DRAM - 8, BAD_ADDRESS), (HOST + 0x50_0000, MMU_FAULT)] {
        g.post_bd(tpc7, ptr, len, BD_DEVICE_CB | 6);
        g.ring(tpc7);
        assert_eq!(g.cqe(tpc7), cqe(status, 6, 0));
        assert_eq!(g.event(), Some(event(tpc7 as u32, status, ptr)));
    }
    // Without the bit, the address is a DMA address in guest RAM.
    g.post_bd(tpc7, DRAM + 0x8000, len, 7);
    g.ring(tpc7);
    assert_eq!(g.cqe(tpc7).status, BAD_PACKET);
}

/// The model's part of a submission's floor and of a NOP job's round trip,
/// on the host: from the doorbell to the interrupt, for the mailbox's
/// `DRAM_ROWS` (answered by the thread the doorbell wakes) and for one NOP
/// job (which also wakes the QMAN's thread). Not a test: `cargo test -p
/// hlsim --release --test compute -- --ignored --nocapture doorbell_latency`.
#[test]
#[ignore]
fn doorbell_latency() {
    const RUNS: usize = 2000;
    let g = Guest::new();
    g.queue(DMA0, 256, 256);
    let cb = Cb::default().nop();
    let ptr = g.alloc(cb.0.len() as u64, 8);
    g.write(ptr, &cb.0);
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e6
    };
    let spin = |vector: usize| {
        let deadline = Instant::now() + TIMEOUT;
        while !g.irq_pending(vector) {
            assert!(Instant::now() < deadline, "no interrupt {vector}");
            std::hint::spin_loop();
        }
    };
    let mut job = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        g.post_bd(DMA0, ptr, cb.0.len() as u32, 1);
        g.ring(DMA0);
        spin(2 + DMA0);
        job.push(start.elapsed());
        assert!(g.try_cqe(DMA0).is_some());
    }
    let bar = g.bar();
    let mut mailbox = Vec::with_capacity(RUNS);
    for seq in 1..=RUNS as u32 {
        let start = Instant::now();
        bar.write32(mailbox::CMD, 1 << 31 | 0x07);
        bar.write32(mailbox::CMD_SEQ, seq);
        g.dev.doorbell(0, 1).unwrap();
        spin(0);
        mailbox.push(start.elapsed());
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), seq);
    }
    println!(
        "doorbell to interrupt, medians of {RUNS}: mailbox DRAM_ROWS {:.1} us, NOP job {:.1} us",
        median(mailbox),
        median(job)
    );
}

/// GAUDI's DMA core registers (`DMA0_CORE_*` minus `DMA0_CORE_BASE`, from
/// `asic_reg/dma0_core_regs.h`) and `COMMIT` bits (`dma0_core_masks.h`),
/// written here from the headers, not from the model's map.
mod core_reg {
    pub const SRC_BASE_LO: u64 = 0x14;
    pub const SRC_BASE_HI: u64 = 0x18;
    pub const DST_BASE_LO: u64 = 0x1c;
    pub const DST_BASE_HI: u64 = 0x20;
    /// `SRC_TSIZE_1`; `SRC_STRIDE_1` follows, then dimensions 2-4.
    pub const SRC_TSIZE_1: u64 = 0x2c;
    pub const SRC_TSIZE_0: u64 = 0x4c;
    pub const DST_TSIZE_1: u64 = 0x54;
    pub const DST_TSIZE_0: u64 = 0x74;
    pub const COMMIT: u64 = 0x78;
    pub const WR_COMP_WDATA: u64 = 0x7c;
    pub const WR_COMP_ADDR_LO: u64 = 0x80;
    pub const WR_COMP_ADDR_HI: u64 = 0x84;
    pub const WR_COMP_EN: u32 = 1 << 0;
    pub const LIN: u32 = 1 << 3;
    pub const MEM_SET: u32 = 1 << 4;
}

impl Cb {
    /// `WREG_32`s that program a DMA core: `src` and `dst` as (base,
    /// dimension 0 bytes, [(count, stride); 4]), a completion adding 1 to
    /// SOB `sob`, and `COMMIT` with `commit`.
    fn dma_core(
        self,
        src: (u64, u32, [(u32, u32); 4]),
        dst: (u64, u32, [(u32, u32); 4]),
        sob: u32,
        commit: u32,
    ) -> Self {
        use core_reg::*;
        let mut cb = self
            .wreg(SRC_BASE_LO, src.0 as u32)
            .wreg(SRC_BASE_HI, (src.0 >> 32) as u32)
            .wreg(DST_BASE_LO, dst.0 as u32)
            .wreg(DST_BASE_HI, (dst.0 >> 32) as u32)
            .wreg(SRC_TSIZE_0, src.1)
            .wreg(DST_TSIZE_0, dst.1);
        for (d, ((sn, ss), (dn, ds))) in src.2.into_iter().zip(dst.2).enumerate() {
            let d = 8 * d as u64;
            cb = cb
                .wreg(SRC_TSIZE_1 + d, sn)
                .wreg(SRC_TSIZE_1 + d + 4, ss)
                .wreg(DST_TSIZE_1 + d, dn)
                .wreg(DST_TSIZE_1 + d + 4, ds);
        }
        let sob_addr = SM + sm::sob(sob.into());
        cb.wreg(WR_COMP_ADDR_LO, sob_addr as u32)
            .wreg(WR_COMP_ADDR_HI, (sob_addr >> 32) as u32)
            .wreg(WR_COMP_WDATA, 1 << 31 | 1)
            .wreg(COMMIT, commit)
    }
}

/// hl-thunk-open's `gaudi_dma` strided test, smaller: DMA 0's core copies
/// one host buffer to ten places of another, `2 * len` apart (the source's
/// dimension 1 has stride 0), and its completion adds 1 to a SOB whose
/// monitor releases a fence on another queue.
#[test]
fn dma_core_strided_copy_as_gaudi_dma() {
    let g = Guest::new();
    g.queue(DMA0, 4, 4);
    g.queue(DMA1, 4, 4);
    let (len, n) = (3 * PAGE as u32 + 100, 10u32);
    let (src, dst) = (HOST, HOST + 0x10_0000);
    g.map_buffer(src, 4, false);
    g.map_buffer(dst, 2 * u64::from(n * len) / PAGE + 1, true);
    let data = pattern(len as usize, 9);
    g.host_write(src, &data);
    g.host_write(dst, &vec![0xff; (2 * n * len) as usize]);
    // DMA 1 waits on SOB 1050 reaching 1, through fence 0.
    let waiter = Cb::default()
        .msg_long(SM + sm::sob(1050), 0)
        .arm_fence(7, 1050, 1, DMA1, 0, 1)
        .fence(0, 1, 1)
        .msg_long(DRAM, 0x600d);
    g.submit(DMA1, &waiter, 1);
    let ones = [(1, len); 3];
    let cb = Cb::default().dma_core(
        (src, len, [(n, 0), ones[0], ones[1], ones[2]]),
        (dst, len, [(n, 2 * len), ones[0], ones[1], ones[2]]),
        1050,
        core_reg::WR_COMP_EN,
    );
    let (rx, tx) = (g.bar().read64(pci::RX_BYTES), g.bar().read64(pci::TX_BYTES));
    g.run_ok(DMA0, &cb);
    assert_eq!(
        g.cqe(DMA1),
        cqe(OK, 1, 0),
        "the completion fired the monitor"
    );
    assert_eq!(g.dram_u32(0), 0x600d);
    let back = g.host_read(dst, (2 * n * len) as usize);
    for (i, stride) in back.chunks(2 * len as usize).enumerate() {
        assert!(stride[..len as usize] == data, "stride {i}");
        assert!(stride[len as usize..].iter().all(|&b| b == 0xff), "gap {i}");
    }
    assert_eq!(g.bar().read64(pci::RX_BYTES) - rx, u64::from(n * len));
    assert_eq!(g.bar().read64(pci::TX_BYTES) - tx, u64::from(n * len));
}

/// An internal DMA engine gathers a 3-D block of DRAM into SRAM and
/// scatters it back; fills a strided destination and a linear one.
#[test]
fn dma_core_gathers_scatters_and_fills() {
    let g = Guest::new();
    g.queue(DMA2, 4, 4);
    let data = pattern(0x4000, 3);
    g.dram_write(0, &data);
    let none = (1, 0);
    // 16-byte rows, 4 per group 0x100 apart, 3 groups 0x1000 apart.
    let block = [(4, 0x100), (3, 0x1000), none, none];
    let cb = Cb::default()
        .dma_core(
            (DRAM + 0x10, 16, block),
            (SRAM + 0x40, 16 * 12, [none; 4]),
            1060,
            0,
        )
        .dma_core(
            (SRAM + 0x40, 16 * 12, [none; 4]),
            (DRAM + 0x8000, 8, [(24, 0x20), none, none, none]),
            1060,
            core_reg::WR_COMP_EN,
        );
    g.run_ok(DMA2, &cb);
    let want: Vec<u8> = (0..3)
        .flat_map(|k| (0..4).map(move |j| 0x10 + 0x1000 * k + 0x100 * j))
        .flat_map(|at| data[at..at + 16].to_vec())
        .collect();
    assert_eq!(want.len(), 192);
    let got: Vec<u8> = (0..24)
        .flat_map(|r| g.dram_read(0x8000 + 0x20 * r, 8))
        .collect();
    assert!(got == want, "gathered and scattered");
    assert_eq!(g.dram_read(0x8008, 24), vec![0; 24], "between the rows");
    assert_eq!(g.sm_reg(sm::sob(1060)), 1, "only the second completion");
    // A fill: the source's low byte, into 5 rows of 3 bytes 8 apart.
    let cb = Cb::default().dma_core(
        (0x1a5, 0, [none; 4]),
        (DRAM + 0x9000, 3, [(5, 8), none, none, none]),
        1060,
        core_reg::MEM_SET | core_reg::WR_COMP_EN,
    );
    g.run_ok(DMA2, &cb);
    let got = g.dram_read(0x9000, 40);
    for (i, b) in got.iter().enumerate() {
        assert_eq!(*b, if i % 8 < 3 { 0xa5 } else { 0 }, "byte {i}");
    }
    // Linear: DST_TSIZE_0 bytes, the dimensions ignored.
    let cb = Cb::default().dma_core(
        (DRAM + 0x10, 0, [(9, 9); 4]),
        (DRAM + 0xa000, 100, [(9, 9); 4]),
        1060,
        core_reg::LIN | core_reg::WR_COMP_EN,
    );
    g.run_ok(DMA2, &cb);
    assert_eq!(g.dram_read(0xa000, 101)[..100], data[0x10..0x10 + 100]);
    assert_eq!(g.dram_read(0xa000, 101)[100], 0);
    assert_eq!(g.sm_reg(sm::sob(1060)), 3);
}

/// A transfer reaching outside the memory map, or host memory from an
/// engine other than the PCI DMAs 0 and 1, is a RAZWI: the job fails with
/// `BAD_ADDRESS`, the event names the address, nothing moves and no
/// completion is written; a shape the model refuses moves nothing either.
#[test]
fn dma_core_bad_addresses_raise_razwi() {
    let g = Guest::new();
    g.event_queue(16);
    g.queue(DMA0, 4, 4);
    g.queue(DMA2, 4, 4);
    g.map_buffer(HOST, 1, true);
    g.dram_write(0, &pattern(256, 5));
    let none = (1, 0);
    let cases = [
        // The third row is past the end of DRAM.
        (
            DMA0,
            (DRAM, 64, [none; 4]),
            (DRAM + DRAM_ALL - 0x40, 16, [(4, 0x20), none, none, none]),
            BAD_ADDRESS,
            Some(DRAM + DRAM_ALL),
        ),
        // A source in no region.
        (
            DMA0,
            (0x1000_0000, 16, [none; 4]),
            (DRAM + 0x100, 16, [none; 4]),
            BAD_ADDRESS,
            Some(0x1000_0000),
        ),
        // DMA 2 is an HBM DMA: the host is not in its reach.
        (
            DMA2,
            (DRAM, 16, [none; 4]),
            (HOST, 16, [none; 4]),
            BAD_ADDRESS,
            Some(HOST),
        ),
        (
            DMA2,
            (HOST, 16, [none; 4]),
            (DRAM + 0x100, 16, [none; 4]),
            BAD_ADDRESS,
            Some(HOST),
        ),
        // Sizes that differ, and no bytes: refused.
        (
            DMA0,
            (DRAM, 16, [none; 4]),
            (DRAM + 0x100, 16, [(2, 16), none, none, none]),
            BAD_PACKET,
            None,
        ),
        (
            DMA2,
            (DRAM, 0, [none; 4]),
            (DRAM + 0x100, 0, [none; 4]),
            BAD_PACKET,
            None,
        ),
    ];
    for (i, (q, src, dst, status, addr)) in cases.into_iter().enumerate() {
        g.run_ok(q, &Cb::default().msg_long(SM + sm::sob(1070), 0));
        let cb = Cb::default().dma_core(src, dst, 1070, core_reg::WR_COMP_EN);
        let at = cb.here() - 8;
        assert_eq!(g.run(q, &cb), cqe(status, 0x77, at), "case {i}");
        let info = addr.unwrap_or(at.into());
        assert_eq!(g.event(), Some(event(q as u32, status, info)), "case {i}");
        assert_eq!(g.sm_reg(sm::sob(1070)), 0, "case {i}: no completion");
        assert_eq!(g.dram_read(0x100, 16), vec![0; 16], "case {i}");
        assert_eq!(g.host_read(HOST, 16), vec![0; 16], "case {i}");
    }
    // DMA 0, a PCI DMA, reaches the host.
    let cb = Cb::default().dma_core(
        (DRAM, 16, [none; 4]),
        (HOST, 16, [none; 4]),
        1070,
        core_reg::WR_COMP_EN,
    );
    g.run_ok(DMA0, &cb);
    assert_eq!(g.host_read(HOST, 16), pattern(256, 5)[..16]);
    assert_eq!(g.sm_reg(sm::sob(1070)), 1);
    assert_eq!(g.event(), None);
}

/// `LOAD_AND_EXE` as GAUDI's CP runs it: `cfg` `dst` scalars, load, execute,
/// execute type (the packet at `R2`).
fn load_exe(cb: Cb, scalars: bool, load: bool, exe: bool, upper: bool, src: u64) -> Cb {
    let cfg = u32::from(scalars) | u32::from(load) << 8 | u32::from(exe) << 9;
    cb.packet(0x0f, 0, cfg | u32::from(upper) << 10, &[src])
}

#[test]
fn loaded_predicates_gate_packets() {
    let g = Guest::new();
    g.queue(DMA0, 4, 4);
    // P10 set (bit 0 of word 10), P11 clear though word 11 has other bits.
    let mut preds = vec![0u8; 128];
    preds[40] = 1;
    preds[44] = 0xfe;
    g.dram_write(0x1000, &preds);
    let pred = |cb: Cb, p: u32, addr: u64, val: u32| cb.packet(0x03, p, val, &[addr]);
    let cb = load_exe(Cb::default(), false, true, false, false, DRAM + 0x1000);
    let cb = pred(cb, 10, DRAM + 0x2000, 7);
    let cb = pred(cb, 11, DRAM + 0x2004, 9);
    // P0 is always true.
    let cb = pred(cb, 0, DRAM + 0x2008, 5);
    g.run_ok(DMA0, &cb);
    assert_eq!(g.dram_u32(0x2000), 7);
    assert_eq!(g.dram_u32(0x2004), 0);
    assert_eq!(g.dram_u32(0x2008), 5);
    // The predicates stay loaded for the stream's next job.
    let cb = Cb::default().packet(0x03, 11, 3, &[DRAM + 0x2004]);
    g.run_ok(DMA0, &cb.packet(0x03, 10, 8, &[DRAM + 0x200c]));
    assert_eq!(g.dram_u32(0x2004), 0);
    assert_eq!(g.dram_u32(0x200c), 8);
    // Reloaded with P10 clear.
    preds[40] = 0;
    g.dram_write(0x1000, &preds);
    let cb = load_exe(Cb::default(), false, true, false, false, DRAM + 0x1000);
    g.run_ok(DMA0, &pred(cb, 10, DRAM + 0x2000, 1));
    assert_eq!(g.dram_u32(0x2000), 7);
}

#[test]
fn loaded_scalars_run_as_a_packet() {
    let g = Guest::new();
    g.queue(DMA2, 4, 4);
    // R0-R3: a MSG_LONG writing 0x55 at DRAM 0x3000.
    let long = Cb::default().msg_long(DRAM + 0x3000, 0x55);
    g.dram_write(0x1000, &long.0);
    // R0-R1 a NOP, R2-R3 a MSG_SHORT setting SOB 40 to 3.
    let short = Cb::default().nop().msg_short(40, 3);
    g.dram_write(0x1010, &short.0);
    // Load and execute in one packet, then in two.
    let cb = load_exe(Cb::default(), true, true, true, false, DRAM + 0x1000);
    g.run_ok(DMA2, &cb);
    assert_eq!(g.dram_u32(0x3000), 0x55);
    g.dram_write(0x3000, &[0; 4]);
    let cb = load_exe(Cb::default(), true, true, false, false, DRAM + 0x1000);
    assert_eq!(g.dram_u32(0x3000), 0);
    g.run_ok(DMA2, &load_exe(cb, false, false, true, false, 0));
    assert_eq!(g.dram_u32(0x3000), 0x55);
    // The upper execute type runs the packet at R2.
    let cb = load_exe(Cb::default(), true, true, true, true, DRAM + 0x1010);
    g.run_ok(DMA2, &cb);
    assert_eq!(g.sm_reg(sm::sob(40)), 3);
    // A packet that fetches more is refused, at the LOAD_AND_EXE.
    g.dram_write(0x1020, &Cb::default().cp_dma(DRAM, 8).0);
    let cb = load_exe(Cb::default().nop(), true, true, true, false, DRAM + 0x1020);
    let done = g.run(DMA2, &cb);
    assert_eq!((done.status, done.info), (BAD_PACKET, 8));
}

#[test]
fn the_arbiter_orders_streams_by_priority_and_is_reset() {
    let g = Guest::new();
    g.event_queue(8);
    let streams: Vec<_> = (0..3).map(|s| g.stream(DMA0, s, 4)).collect();
    let run = |s: usize, cb: &Cb, tag| g.submit_stream(&streams[s], vector(DMA0), cb, tag);
    // DMA0_QM's ARB_CFG_0 (enable, master, priority) and fence 0 of its
    // streams 0 and 1 (CP_FENCE0_RDATA_s).
    let (arb_cfg, fence) = (CFG + 0x50_8a00, |s: u64| CFG + 0x50_8308 + 4 * s);
    let arb = |priority: u32, release: bool| u32::from(release) << 31 | priority;
    for (p0, p1, last) in [(2, 1, 11), (1, 2, 10)] {
        run(2, &Cb::default().msg_long(arb_cfg, 1 << 8 | 1 << 4), 0);
        assert_eq!(g.stream_cqe(&streams[2]), cqe(OK, 0, 0));
        // Each waits for its fence, takes the arbiter, lets it go and takes
        // it again (so that both ask at once), writes, and releases it.
        for (s, p, val) in [(0, p0, 10), (1, p1, 11)] {
            let cb = Cb::default()
                .fence(0, 1, 1)
                .packet(0x0c, 0, arb(p, false), &[])
                .packet(0x0c, 0, arb(p, true), &[])
                .packet(0x0c, 0, arb(p, false), &[])
                .msg_long(DRAM + 0x100, val)
                .packet(0x0c, 0, arb(p, true), &[]);
            run(s, &cb, 1);
        }
        run(
            2,
            &Cb::default().msg_long(fence(0), 1).msg_long(fence(1), 1),
            2,
        );
        for stream in &streams {
            assert_eq!(g.stream_cqe(stream).status, OK);
        }
        // The lower priority writes last.
        assert_eq!(g.dram_u32(0x100), last);
    }
    // A stream that ends its job holding the grant gives it back.
    run(0, &Cb::default().packet(0x0c, 0, 0, &[]), 3);
    assert_eq!(g.stream_cqe(&streams[0]), cqe(OK, 3, 0));
    run(1, &Cb::default().packet(0x0c, 0, 0, &[]), 4);
    assert_eq!(g.stream_cqe(&streams[1]), cqe(OK, 4, 0));
    // QMAN_RESET disables the arbiter: a held grant no longer blocks.
    run(0, &Cb::default().packet(0x0c, 0, 0, &[]).fence(1, 1, 1), 5);
    g.stream_quiet(&streams[0]);
    assert_eq!(g.command(0x03, DMA0 as u64), 0);
    let s1 = g.stream(DMA0, 1, 4);
    g.submit_stream(&s1, vector(DMA0), &Cb::default().packet(0x0c, 0, 0, &[]), 6);
    assert_eq!(g.stream_cqe(&s1), cqe(OK, 6, 0));
}

/// What `scrub.sh` relies on: two streams that each take the arbiter,
/// release the other's fence and wait on their own both complete while the
/// arbiter is disabled; enabled, the one holding it waits in vain, the
/// other waits for it, and at least one times out.
#[test]
fn crossed_streams_need_the_arbiter_disabled() {
    let g = Guest::new();
    g.event_queue(8);
    let streams: Vec<_> = (0..2).map(|s| g.stream(DMA0, s, 4)).collect();
    let fence = |s: u64| CFG + 0x50_8308 + 4 * s;
    let crossed = |tag| {
        for (s, stream) in streams.iter().enumerate() {
            let cb = Cb::default()
                .packet(0x0c, 0, 0, &[])
                .msg_long(fence(1 - s as u64), 1)
                .fence(0, 1, 1);
            g.submit_stream(stream, vector(DMA0), &cb, tag);
        }
        [g.stream_cqe(&streams[0]), g.stream_cqe(&streams[1])].map(|c| c.status)
    };
    assert_eq!(crossed(1), [OK, OK]);
    let enable = Cb::default().msg_long(CFG + 0x50_8a00, 1 << 8 | 1 << 4);
    g.submit_stream(&streams[0], vector(DMA0), &enable, 2);
    assert_eq!(g.stream_cqe(&streams[0]).status, OK);
    assert!(crossed(3).contains(&FENCE_TIMEOUT));
}
