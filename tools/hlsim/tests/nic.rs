// SPDX-License-Identifier: GPL-2.0

//! The NIC: devices wired in one process, driven through BAR2 and rings in
//! a temporary guest RAM file, as a driver would.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hlsim::device::Device;
use hlsim::mem::SharedMem;
use hlsim::nic::counters as c;
use hlsim::nic::offload::{fold, rx_checksum_ok, sum};
use hlsim::nic::{BACKLOG_FRAMES, eeprom};
use hlsim::regs::{
    CMD_IRQ, RX_ALLMULTI, RX_CSUM_OK, RX_FILTER_COUNT_SHIFT, RX_PROMISC, Status, TX_CSUM,
    TX_DRAINING_BUSY, TX_MORE, TX_TSO, eeprom as eeprom_regs, identity, mailbox, model_ctl, nic,
    vector_rxq,
};
use hlsim::regs::{
    DOWN_DISABLED, DOWN_FEC_MISMATCH, DOWN_LINK_TRAINING, DOWN_PARTNER_DISABLED, FEC_OFF, FEC_RS,
    LINK_FEC_SHIFT, LINK_INFO_DOWN_SHIFT, PORT_FAULT_FEC_ERRORS, PORT_FAULT_FEC_UNCORRECTABLE,
    PORT_FAULT_LINK_TRAINING, port_fault_tx_stall,
};
use tempfile::NamedTempFile;
use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

const TIMEOUT: Duration = Duration::from_secs(10);
const RAM_SIZE: u64 = 64 << 20;
const BAR_SIZE: u64 = 2 << 20;
const ENABLE: u32 = 1;
const LOOPBACK: u32 = 2;
/// Autonegotiation advertising every speed.
const AUTO_ALL: u32 = 1 | 0xf << 16;
const UP_100G: u32 = 1 | 4 << 8;
const BUF_LEN: u64 = 9216;

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A TX descriptor: address, length, priority, flags, reserved word.
type Desc = (u64, u16, u8, u8, u32);

/// A port's rings in guest RAM.
#[derive(Default)]
struct Rings {
    tx: u64,
    tx_n: u32,
    rx: u64,
    rx_n: u32,
    /// RX descriptors the test has read.
    seen: u32,
}

/// Devices sharing a guest RAM file, wired pairwise.
struct Rig {
    devs: Vec<Device>,
    irqs: Vec<Vec<EventFd>>,
    ram: Arc<SharedMem>,
    next: RefCell<u64>,
    rings: RefCell<HashMap<(usize, usize), Rings>>,
    _file: NamedTempFile,
}

fn rig(n: usize) -> Rig {
    let file = NamedTempFile::new().unwrap();
    file.as_file().set_len(RAM_SIZE).unwrap();
    let ram = Arc::new(SharedMem::open(file.path()).unwrap());
    let mut devs = Vec::new();
    let mut irqs = Vec::new();
    for d in 0..n {
        let dev = Device::new(&format!("n{d}"), BAR_SIZE, 0x100 + d as u64, ram.clone()).unwrap();
        let fds: Vec<_> = (0..64)
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
        next: RefCell::new(0x1000),
        rings: RefCell::default(),
        _file: file,
    }
}

impl Rig {
    fn bar(&self, d: usize) -> &SharedMem {
        self.devs[d].bar2()
    }

    fn reg(&self, d: usize, p: usize, off: u64) -> u32 {
        self.bar(d).read32(nic::block(p) + off)
    }

    fn set(&self, d: usize, p: usize, off: u64, val: u32) {
        self.bar(d).write32(nic::block(p) + off, val);
    }

    fn counter(&self, d: usize, p: usize, i: usize) -> u64 {
        self.bar(d).read64(nic::block(p) + nic::counter(i))
    }

    fn ring(&self, d: usize, p: usize) {
        self.devs[d].doorbell(6 + p as u32, 1).unwrap();
    }

    /// Rings port `p`'s doorbell and waits until its worker has served it.
    /// Rings port `p`'s doorbell and waits until the port has served it.
    fn sync(&self, d: usize, p: usize) {
        let bar = self.bar(d);
        let token = bar.read32(model_ctl::port_sync(p)).wrapping_add(1);
        bar.write32(model_ctl::port_sync(p), token);
        self.ring(d, p);
        wait_for("the doorbell served", || {
            bar.read32(model_ctl::port_sync_ack(p)) == token
        });
    }

    fn irq(&self, d: usize, p: usize) -> u64 {
        self.irqs[d][6 + p].read().unwrap_or(0)
    }

    fn alloc(&self, len: u64) -> u64 {
        let mut next = self.next.borrow_mut();
        let at = *next;
        *next = (at + len + 63) & !63;
        assert!(*next <= RAM_SIZE);
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

    /// Sets up rings (TX `tx_n`, RX `rx_n` entries, `bufs` buffers of
    /// `buf_len` posted) and enables the port with `cfg`.
    fn port(
        &self,
        d: usize,
        p: usize,
        (tx_n, rx_n): (u32, u32),
        bufs: u32,
        buf_len: u64,
        cfg: u32,
    ) {
        let rings = Rings {
            tx: self.alloc(16 * u64::from(tx_n)),
            tx_n,
            rx: self.alloc(16 * u64::from(rx_n)),
            rx_n,
            seen: 0,
        };
        self.bar(d)
            .write64(nic::block(p) + nic::TX_BASE_LO, rings.tx);
        self.set(d, p, nic::TX_SIZE, tx_n);
        self.bar(d)
            .write64(nic::block(p) + nic::RX_BASE_LO, rings.rx);
        self.set(d, p, nic::RX_SIZE, rx_n);
        self.set(d, p, nic::LINK_CFG, cfg);
        // The tests' frames go to any address; `address_filter` clears this.
        self.set(d, p, nic::RX_FILTER, RX_PROMISC);
        self.rings.borrow_mut().insert((d, p), rings);
        self.post(d, p, bufs, buf_len);
        self.set(d, p, nic::CTL, ENABLE | self.reg(d, p, nic::CTL));
        self.ring(d, p);
    }

    /// Posts `n` RX buffers of `len` bytes.
    fn post(&self, d: usize, p: usize, n: u32, len: u64) {
        let rings = self.rings.borrow();
        let r = &rings[&(d, p)];
        let mut pi = self.reg(d, p, nic::RX_PI);
        for _ in 0..n {
            let buf = self.alloc(len);
            let slot = r.rx + 16 * u64::from(pi % r.rx_n);
            let mut desc = [0u8; 16];
            desc[..8].copy_from_slice(&buf.to_le_bytes());
            desc[8..10].copy_from_slice(&(len as u16).to_le_bytes());
            self.write(slot, &desc);
            pi = pi.wrapping_add(1);
        }
        self.set(d, p, nic::RX_PI, pi);
    }

    /// Posts a TX descriptor with the given fields; returns TX_PI.
    fn post_tx(&self, d: usize, p: usize, (addr, len, prio, flags, zero): Desc) -> u32 {
        let rings = self.rings.borrow();
        let r = &rings[&(d, p)];
        let pi = self.reg(d, p, nic::TX_PI);
        let mut desc = [0u8; 16];
        desc[..8].copy_from_slice(&addr.to_le_bytes());
        desc[8..10].copy_from_slice(&len.to_le_bytes());
        desc[10] = prio;
        desc[11] = flags;
        desc[12..].copy_from_slice(&zero.to_le_bytes());
        self.write(r.tx + 16 * u64::from(pi % r.tx_n), &desc);
        self.set(d, p, nic::TX_PI, pi.wrapping_add(1));
        pi.wrapping_add(1)
    }

    /// Queues `data` at priority `prio` without ringing.
    fn queue(&self, d: usize, p: usize, data: &[u8], prio: u8) -> u32 {
        let at = self.alloc(data.len() as u64);
        self.write(at, data);
        self.post_tx(d, p, (at, data.len() as u16, prio, 0, 0))
    }

    /// Sends `data` and waits for the port to take it off the ring.
    fn send(&self, d: usize, p: usize, data: &[u8], prio: u8) {
        let pi = self.queue(d, p, data, prio);
        self.ring(d, p);
        wait_for("TX_CI", || self.reg(d, p, nic::TX_CI) == pi);
    }

    /// Frames received since the last call: data and priority.
    fn received(&self, d: usize, p: usize) -> Vec<(Vec<u8>, u8)> {
        let mut rings = self.rings.borrow_mut();
        let r = rings.get_mut(&(d, p)).unwrap();
        let ci = self.reg(d, p, nic::RX_CI);
        let mut out = Vec::new();
        while r.seen != ci {
            let desc = self.read(r.rx + 16 * u64::from(r.seen % r.rx_n), 16);
            let addr = u64::from_le_bytes(desc[..8].try_into().unwrap());
            let len = u16::from_le_bytes([desc[10], desc[11]]);
            assert_eq!(u16::from_le_bytes([desc[12], desc[13]]) & 1, 1, "DONE");
            assert_eq!(desc[15], 0);
            out.push((self.read(addr, len.into()), desc[14]));
            r.seen = r.seen.wrapping_add(1);
        }
        out
    }

    /// Waits until port `p` of `d` has received `n` frames since the last call.
    fn wait_rx(&self, d: usize, p: usize, n: usize) -> Vec<(Vec<u8>, u8)> {
        let seen = self.rings.borrow()[&(d, p)].seen;
        wait_for("RX_CI", || {
            self.reg(d, p, nic::RX_CI).wrapping_sub(seen) as usize >= n
        });
        self.received(d, p)
    }

    /// Runs `PORT_STOP` for port `p` of device `d` through its mailbox and
    /// checks that it completed with the interrupt.
    fn port_stop(&self, d: usize, p: u64) -> Status {
        let bar = self.bar(d);
        let seq = bar.read32(mailbox::CMD_SEQ) + 1;
        bar.write64(mailbox::ARG0_LO, p);
        bar.write32(mailbox::CMD, CMD_IRQ | 0x04);
        bar.write32(mailbox::CMD_SEQ, seq);
        let done = self.devs[d].doorbell(0, 1).unwrap();
        let done = done.expect("PORT_STOP completes");
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), seq);
        assert_eq!(bar.read32(mailbox::CMD_STATUS), done.status as u32);
        assert_eq!(self.irqs[d][0].read().unwrap_or(0), 1);
        done.status
    }

    /// The RX ring of port `p` of device `d`: the descriptors and `RX_CI`.
    fn rx_ring(&self, d: usize, p: usize) -> (Vec<u8>, u32) {
        let rings = self.rings.borrow();
        let r = &rings[&(d, p)];
        let ring = self.read(r.rx, 16 * r.rx_n as usize);
        (ring, self.reg(d, p, nic::RX_CI))
    }

    /// Enables port `p` on devices 0 and 1, links it up and drains the
    /// link interrupts.
    fn pair(&self, p: usize, bufs: u32) {
        self.port(0, p, (512, 512), bufs, BUF_LEN, AUTO_ALL);
        self.port(1, p, (512, 512), bufs, BUF_LEN, AUTO_ALL);
        wait_for("link", || {
            self.reg(0, p, nic::LINK_STATUS) == UP_100G
                && self.reg(1, p, nic::LINK_STATUS) == UP_100G
        });
        self.irq(0, p);
        self.irq(1, p);
    }
}

#[test]
fn link_rules_between_devices() {
    let r = rig(3);
    let (p, q) = (2, 5);
    r.set(0, p, nic::LINK_CFG, AUTO_ALL);
    r.set(0, p, nic::CTL, ENABLE);
    r.sync(0, p);
    assert_eq!(r.reg(0, p, nic::LINK_STATUS), 0, "peer disabled");
    assert_eq!(r.reg(0, p, nic::LINK_CHANGES), 0);
    assert_eq!(r.irq(0, p), 0);

    // The peer comes up at the highest common speed: both ends change.
    r.set(1, p, nic::LINK_CFG, 1 | 0b0011 << 16);
    r.set(1, p, nic::CTL, ENABLE);
    r.sync(1, p);
    for d in 0..2 {
        assert_eq!(r.reg(d, p, nic::LINK_STATUS), 1 | 2 << 8, "device {d}");
        assert_eq!(r.reg(d, p, nic::LINK_CHANGES), 1);
        assert_eq!(r.irq(d, p), 1);
    }
    // Other ports are untouched.
    assert_eq!(r.reg(1, q, nic::LINK_STATUS), 0);

    // Forced at one end, autonegotiating at the other: down.
    r.set(1, p, nic::LINK_CFG, 2 << 8);
    r.sync(1, p);
    assert_eq!(
        (r.reg(0, p, nic::LINK_STATUS), r.reg(1, p, nic::LINK_STATUS)),
        (0, 0)
    );
    // Both forced to the same speed: up.
    r.set(0, p, nic::LINK_CFG, 2 << 8);
    r.sync(0, p);
    assert_eq!(r.reg(1, p, nic::LINK_STATUS), 1 | 2 << 8);
    assert_eq!(r.reg(0, p, nic::LINK_CHANGES), 3);

    // A fault unplugs the link without a doorbell; masked, it is counted
    // but raises nothing at that end.
    r.irq(0, p);
    r.irq(1, p);
    r.set(1, p, nic::IRQ_MASK, 4);
    r.bar(0).write32(model_ctl::port_faults(p), 1);
    wait_for("link down", || r.reg(1, p, nic::LINK_STATUS) == 0);
    assert_eq!(r.reg(0, p, nic::LINK_STATUS), 0);
    assert_eq!((r.irq(0, p), r.irq(1, p)), (1, 0));
    assert_eq!(r.reg(1, p, nic::LINK_CHANGES), 4);
    r.bar(0).write32(model_ctl::port_faults(p), 0);
    wait_for("link up", || r.reg(1, p, nic::LINK_STATUS) != 0);

    // Loopback: the port is its own peer, and none to the other end.
    r.set(0, p, nic::CTL, ENABLE | LOOPBACK);
    r.sync(0, p);
    assert_eq!(r.reg(0, p, nic::LINK_STATUS), 1 | 2 << 8);
    assert_eq!(r.reg(1, p, nic::LINK_STATUS), 0);

    // The odd device out: down unless in loopback.
    r.set(2, q, nic::LINK_CFG, AUTO_ALL);
    r.set(2, q, nic::CTL, ENABLE);
    r.sync(2, q);
    assert_eq!(r.reg(2, q, nic::LINK_STATUS), 0);
    r.set(2, q, nic::CTL, ENABLE | LOOPBACK);
    r.sync(2, q);
    assert_eq!(r.reg(2, q, nic::LINK_STATUS), UP_100G);
    assert_eq!(r.irq(2, q), 1);
    r.set(2, q, nic::CTL, 0);
    r.sync(2, q);
    assert_eq!(r.reg(2, q, nic::LINK_STATUS), 0);
    assert_eq!(r.reg(2, q, nic::LINK_CHANGES), 2);
}

#[test]
fn frames_cross_byte_exact_with_counters() {
    let r = rig(2);
    let p = 7;
    r.pair(p, 64);
    r.set(0, p, nic::MAX_FRAME, 9216);
    r.set(1, p, nic::MAX_FRAME, 9216);
    let sizes = [14, 59, 60, 61, 1514, 1515, 4092, 9216];
    for (i, &len) in sizes.iter().enumerate() {
        r.send(0, p, &frame(len, i as u8), (i % 8) as u8);
    }
    let got = r.wait_rx(1, p, sizes.len());
    assert_eq!(got.len(), sizes.len());
    for (i, (&len, (data, prio))) in sizes.iter().zip(&got).enumerate() {
        assert_eq!(*data, frame(len, i as u8), "frame {i}");
        assert_eq!(*prio as usize, i % 8);
    }
    let bytes: u64 = sizes.iter().map(|&l| l as u64).sum();
    assert_eq!(r.counter(0, p, c::TX_FRAMES), sizes.len() as u64);
    assert_eq!(r.counter(0, p, c::TX_BYTES), bytes);
    assert_eq!(r.counter(1, p, c::RX_FRAMES), sizes.len() as u64);
    assert_eq!(r.counter(1, p, c::RX_BYTES), bytes);
    // With FCS: 18, 63 undersize; 64; 65, 1518 (1024-1518), 1519, 4096,
    // 9220 (last bucket).
    let rmon = [1, 1, 0, 0, 0, 1, 1, 0, 1, 1];
    for (b, &n) in rmon.iter().enumerate() {
        assert_eq!(r.counter(1, p, c::RX_SIZE + b), n, "rx bucket {b}");
        assert_eq!(r.counter(0, p, c::TX_SIZE + b), n, "tx bucket {b}");
    }
    assert_eq!(r.counter(1, p, c::RX_UNDERSIZE), 2);
    // Priorities map to TC 0 by default.
    assert_eq!(r.counter(0, p, c::TX_TC_BYTES), bytes);

    // The other way, MAX_FRAME at its default on the receiver.
    r.set(0, p, nic::MAX_FRAME, 0);
    r.send(1, p, &frame(1515, 1), 0);
    r.send(1, p, &frame(1514, 2), 0);
    assert_eq!(r.wait_rx(0, p, 1), [(frame(1514, 2), 0)]);
    assert_eq!(r.counter(0, p, c::RX_OVERSIZE), 1);
    assert_eq!(r.counter(1, p, c::TX_FRAMES), 2);
}

/// The address filter: broadcast and the port's own `MAC` pass, other
/// addresses only while an entry in use lists them, multicast ones with
/// `RX_ALLMULTI`, all with `RX_PROMISC`; the rest are counted.
#[test]
fn address_filter() {
    let r = rig(2);
    let p = 3;
    r.pair(p, 64);
    r.set(1, p, nic::RX_FILTER, 0);
    let to = |dst: [u8; 6], seed: u8| {
        let mut f = frame(64, seed);
        f[..6].copy_from_slice(&dst);
        f
    };
    let bar = r.bar(1);
    let lo = bar.read32(identity::mac_lo(p as u64)).to_le_bytes();
    let hi = bar.read32(identity::mac_hi(p as u64)).to_le_bytes();
    let own = [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1]];
    let foreign = [0x02, 0, 0, 0, 0x12, 0x34];
    let group = [0x01, 0, 0x5e, 0, 0, 0xfb];
    let other_group = [0x33, 0x33, 0, 0, 0, 0x01];
    let entry = |mac: [u8; 6]| {
        let mut b = [0u8; 8];
        b[..6].copy_from_slice(&mac);
        u64::from_le_bytes(b)
    };
    // Delivers one frame to each of `dsts` and a broadcast last, then
    // returns those received but the broadcast.
    let deliver = |dsts: &[[u8; 6]], seed: u8| {
        for (i, &d) in dsts.iter().enumerate() {
            r.send(0, p, &to(d, seed + i as u8), 0);
        }
        r.send(0, p, &to([0xff; 6], seed), 0);
        let got = r.wait_rx(1, p, 1);
        let mut got: Vec<_> = got.into_iter().map(|(f, _)| f).collect();
        while got.last().is_none_or(|f| f[..6] != [0xff; 6]) {
            got.extend(r.wait_rx(1, p, 1).into_iter().map(|(f, _)| f));
        }
        got.pop();
        got
    };
    let all = [own, foreign, group, other_group];
    assert_eq!(deliver(&all, 10), [to(own, 10)]);
    assert_eq!(r.counter(1, p, c::RX_FILTERED), 3);

    // Listed: the foreign address and the group; a third entry not in use.
    bar.write64(nic::block(p) + nic::filter_entry(0), entry(foreign));
    bar.write64(nic::block(p) + nic::filter_entry(1), entry(group));
    bar.write64(nic::block(p) + nic::filter_entry(2), entry(other_group));
    r.set(1, p, nic::RX_FILTER, 2 << RX_FILTER_COUNT_SHIFT);
    assert_eq!(
        deliver(&all, 20),
        [to(own, 20), to(foreign, 21), to(group, 22)]
    );
    assert_eq!(r.counter(1, p, c::RX_FILTERED), 4);

    // All multicast, nothing listed.
    r.set(1, p, nic::RX_FILTER, RX_ALLMULTI);
    assert_eq!(
        deliver(&all, 30),
        [to(own, 30), to(group, 32), to(other_group, 33)]
    );
    assert_eq!(r.counter(1, p, c::RX_FILTERED), 5);

    r.set(1, p, nic::RX_FILTER, RX_PROMISC);
    assert_eq!(deliver(&all, 40).len(), 4);
    assert_eq!(r.counter(1, p, c::RX_FILTERED), 5);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 20);
}

/// MAC control frames (EtherType 0x8808) are the MAC's: counted by the
/// sender and the receiver, never delivered, opcodes other than PAUSE and
/// PFC counted as unsupported.
#[test]
fn mac_control_frames() {
    let r = rig(2);
    let p = 4;
    r.pair(p, 64);
    let control = |dst: [u8; 6], opcode: u16| {
        let mut f = frame(64, 0);
        f[..6].copy_from_slice(&dst);
        f[12..14].copy_from_slice(&0x8808u16.to_be_bytes());
        f[14..16].copy_from_slice(&opcode.to_be_bytes());
        f
    };
    let reserved = [0x01, 0x80, 0xc2, 0, 0, 0x01];
    r.send(0, p, &control(reserved, 0x0001), 0);
    r.send(0, p, &control(reserved, 0x0101), 0);
    r.send(0, p, &control([0xff; 6], 0x1234), 0);
    // A data frame after them is the first the host sees.
    let mut data = frame(64, 7);
    data[..6].copy_from_slice(&[0xff; 6]);
    r.send(0, p, &data, 0);
    assert_eq!(r.wait_rx(1, p, 1), [(data, 0)]);
    assert_eq!(r.counter(1, p, c::RX_MAC_CONTROL), 3);
    assert_eq!(r.counter(1, p, c::RX_UNSUPPORTED_OPCODES), 1);
    assert_eq!(r.counter(1, p, c::RX_FRAMES), 1);
    assert_eq!(r.counter(0, p, c::TX_MAC_CONTROL), 3);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 4);
    assert_eq!(r.counter(0, p, c::RX_MAC_CONTROL), 0);
}

/// Port `p` of device 0 wired to port `q` of device 2, of four devices:
/// frames cross both ways, and the ports' former peers have no link.
#[test]
fn frames_cross_between_ports_of_different_numbers() {
    let r = rig(4);
    let (p, q) = (9, 3);
    assert!(Device::wire_ports(&r.devs[0], p, &r.devs[0], p).is_err());
    assert!(Device::wire_ports(&r.devs[0], 10, &r.devs[2], q).is_err());
    Device::wire_ports(&r.devs[0], p, &r.devs[2], q).unwrap();
    let ends = [(0, p), (2, q), (1, p), (3, q)];
    for (d, port) in ends {
        r.port(d, port, (64, 64), 16, BUF_LEN, AUTO_ALL);
    }
    wait_for("link", || {
        r.reg(0, p, nic::LINK_STATUS) == UP_100G && r.reg(2, q, nic::LINK_STATUS) == UP_100G
    });
    for (d, port) in [(1, p), (3, q)] {
        r.sync(d, port);
        assert_eq!(
            r.reg(d, port, nic::LINK_STATUS),
            0,
            "device {d} port {port}"
        );
    }
    let sizes = [60, 1000, 1514];
    for (i, &len) in sizes.iter().enumerate() {
        r.send(0, p, &frame(len, i as u8), 1);
        r.send(2, q, &frame(len, 0x80 + i as u8), 2);
    }
    let (to2, to0) = (r.wait_rx(2, q, sizes.len()), r.wait_rx(0, p, sizes.len()));
    for (i, &len) in sizes.iter().enumerate() {
        assert_eq!(to2[i], (frame(len, i as u8), 1), "frame {i} to device 2");
        assert_eq!(
            to0[i],
            (frame(len, 0x80 + i as u8), 2),
            "frame {i} to device 0"
        );
    }
    for (d, port) in ends {
        let n = if d % 2 == 0 { sizes.len() as u64 } else { 0 };
        assert_eq!(r.counter(d, port, c::TX_FRAMES), n, "device {d}");
        assert_eq!(r.counter(d, port, c::RX_FRAMES), n, "device {d}");
    }
}

#[test]
fn bad_descriptors_and_small_buffers() {
    let r = rig(2);
    let p = 0;
    r.pair(p, 0);
    r.post(1, p, 1, 100);
    let data = frame(200, 3);
    let at = r.alloc(200);
    r.write(at, &data);
    r.set(0, p, nic::MAX_FRAME, 150);
    let cases: [Desc; 8] = [
        (RAM_SIZE - 10, 20, 0, 0, 0),
        (u64::MAX - 4, 20, 0, 0, 0),
        (at, 13, 0, 0, 0),
        (at, 151, 0, 0, 0),
        (at, 0, 0, 0, 0),
        (at, 20, 8, 0, 0),
        (at, 20, 0, 8, 0),
        (at, 20, 0, 0, 1),
    ];
    for desc in cases {
        r.post_tx(0, p, desc);
    }
    r.ring(0, p);
    wait_for("TX_CI", || r.reg(0, p, nic::TX_CI) == 8);
    assert_eq!(r.counter(0, p, c::TX_ERRORS), 8);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 0);
    assert!(r.irq(0, p) >= 1);

    // Longer than the buffer: dropped, the buffer stays posted.
    r.send(0, p, &data[..150], 0);
    wait_for("rx_oversize", || r.counter(1, p, c::RX_OVERSIZE) == 1);
    r.send(0, p, &data[..100], 0);
    assert_eq!(r.wait_rx(1, p, 1), [(data[..100].to_vec(), 0)]);
    // No buffer and no PFC: dropped and counted.
    r.send(0, p, &data[..64], 0);
    wait_for("rx_no_buffer", || r.counter(1, p, c::RX_NO_BUFFER) == 1);

    // Inconsistent ring counters: nothing is taken.
    r.set(0, p, nic::TX_PI, r.reg(0, p, nic::TX_CI).wrapping_add(513));
    r.sync(0, p);
    assert_eq!(r.counter(0, p, c::TX_ERRORS), 8);
    assert_eq!(r.reg(0, p, nic::TX_CI), 11);
}

#[test]
fn pfc_holds_paused_frames_others_flow() {
    let r = rig(2);
    let p = 4;
    r.pair(p, 2);
    r.set(1, p, nic::PFC_EN, 1 << 3);
    let held: Vec<_> = (0..4).map(|i| frame(300 + i, i as u8)).collect();
    for f in &held {
        r.send(0, p, f, 3);
    }
    assert_eq!(
        r.wait_rx(1, p, 2),
        [(held[0].clone(), 3), (held[1].clone(), 3)]
    );
    wait_for("pause", || r.counter(1, p, c::TX_PAUSE + 3) == 1);
    assert_eq!(r.counter(0, p, c::RX_PAUSE + 3), 1);
    // Priority 0 is not held behind priority 3: it is dropped for want of
    // a buffer, without PFC.
    r.send(0, p, &frame(64, 9), 0);
    wait_for("rx_no_buffer", || r.counter(1, p, c::RX_NO_BUFFER) == 1);
    thread::sleep(Duration::from_millis(20));
    // Still one pause each way, however often the sender retried.
    assert_eq!(r.counter(1, p, c::TX_PAUSE + 3), 1);
    assert_eq!(r.counter(0, p, c::RX_PAUSE + 3), 1);
    assert_eq!(r.counter(1, p, c::RX_FRAMES), 2);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 3);

    // Buffers: the held frames arrive, in order, then new ones.
    r.post(1, p, 4, BUF_LEN);
    r.ring(1, p);
    assert_eq!(
        r.wait_rx(1, p, 2),
        [(held[2].clone(), 3), (held[3].clone(), 3)]
    );
    r.send(0, p, &frame(64, 10), 0);
    assert_eq!(r.wait_rx(1, p, 1), [(frame(64, 10), 0)]);
    // The sender counts a frame once it is on the wire: maybe after the
    // receiver has it.
    wait_for("tx_frames", || r.counter(0, p, c::TX_FRAMES) == 6);
    assert_eq!(r.counter(1, p, c::RX_NO_BUFFER), 1);
    for prio in (0..8).filter(|&q| q != 3) {
        assert_eq!(r.counter(1, p, c::TX_PAUSE + prio), 0);
        assert_eq!(r.counter(0, p, c::RX_PAUSE + prio), 0);
    }
}

#[test]
fn fec_modes_and_reasons() {
    let r = rig(2);
    let p = 4;
    let info = |d| r.reg(d, p, nic::LINK_INFO);
    let down = |reason: u32| reason << LINK_INFO_DOWN_SHIFT;
    r.port(0, p, (16, 16), 8, BUF_LEN, AUTO_ALL);
    r.sync(0, p);
    assert_eq!(info(0), down(DOWN_PARTNER_DISABLED));
    r.port(1, p, (16, 16), 8, BUF_LEN, AUTO_ALL);
    wait_for("link", || r.reg(0, p, nic::LINK_STATUS) == UP_100G);
    // Both in auto: RS.
    assert_eq!((info(0), info(1)), (FEC_RS, FEC_RS));
    let changes = r.reg(0, p, nic::LINK_CHANGES);

    // Off at one end, RS at the other: down at both, for the FEC.
    r.set(0, p, nic::LINK_CFG, AUTO_ALL | FEC_OFF << LINK_FEC_SHIFT);
    r.set(1, p, nic::LINK_CFG, AUTO_ALL | FEC_RS << LINK_FEC_SHIFT);
    r.sync(1, p);
    r.sync(0, p);
    for d in 0..2 {
        assert_eq!(r.reg(d, p, nic::LINK_STATUS), 0, "device {d}");
        assert_eq!(info(d), down(DOWN_FEC_MISMATCH), "device {d}");
    }
    assert_eq!(r.reg(0, p, nic::LINK_CHANGES), changes + 1);
    let pi = r.queue(0, p, &frame(64, 1), 0);
    r.ring(0, p);
    wait_for("TX_CI", || r.reg(0, p, nic::TX_CI) == pi);
    assert_eq!(r.counter(0, p, c::TX_DROPPED), 1);

    // Off at both: up without FEC, and the bit errors reach the FCS.
    r.set(1, p, nic::LINK_CFG, AUTO_ALL | FEC_OFF << LINK_FEC_SHIFT);
    r.sync(1, p);
    assert_eq!(r.reg(0, p, nic::LINK_STATUS), UP_100G);
    assert_eq!((info(0), info(1)), (FEC_OFF, FEC_OFF));
    r.bar(1)
        .write32(model_ctl::port_faults(p), PORT_FAULT_FEC_ERRORS);
    r.send(0, p, &frame(100, 2), 0);
    wait_for("rx_fcs_errors", || r.counter(1, p, c::RX_FCS_ERRORS) == 1);
    assert_eq!(r.counter(1, p, c::PCS_ERRORS), 1);
    assert_eq!(r.counter(1, p, c::FEC_CORRECTED), 0);
    assert_eq!(r.counter(1, p, c::RX_FRAMES), 0);

    // RS at one end, auto at the other: RS corrects them.
    r.set(0, p, nic::LINK_CFG, AUTO_ALL | FEC_RS << LINK_FEC_SHIFT);
    r.set(1, p, nic::LINK_CFG, AUTO_ALL);
    r.sync(1, p);
    r.sync(0, p);
    assert_eq!((info(0), info(1)), (FEC_RS, FEC_RS));
    r.send(0, p, &frame(100, 3), 0);
    assert_eq!(r.wait_rx(1, p, 1), [(frame(100, 3), 0)]);
    assert_eq!(r.counter(1, p, c::FEC_CORRECTED), 1);
    assert_eq!(r.counter(1, p, c::PCS_ERRORS), 2);
    // ... unless they are too many.
    r.bar(1)
        .write32(model_ctl::port_faults(p), PORT_FAULT_FEC_UNCORRECTABLE);
    r.send(0, p, &frame(100, 4), 0);
    wait_for("rx_fcs_errors", || r.counter(1, p, c::RX_FCS_ERRORS) == 2);
    assert_eq!(r.counter(1, p, c::FEC_UNCORRECTABLE), 1);
    assert_eq!(r.counter(1, p, c::FEC_CORRECTED), 1);
    r.bar(1).write32(model_ctl::port_faults(p), 0);
    r.send(0, p, &frame(100, 5), 0);
    assert_eq!(r.wait_rx(1, p, 1), [(frame(100, 5), 0)]);
    assert_eq!(r.counter(1, p, c::PCS_ERRORS), 3);

    // Link training fails at one end: down at both, without a doorbell.
    r.bar(1)
        .write32(model_ctl::port_faults(p), PORT_FAULT_LINK_TRAINING);
    wait_for("link down", || r.reg(0, p, nic::LINK_STATUS) == 0);
    assert_eq!(info(0), down(DOWN_LINK_TRAINING));
    assert_eq!(info(1), down(DOWN_LINK_TRAINING));
    r.bar(1).write32(model_ctl::port_faults(p), 0);
    wait_for("link up", || r.reg(0, p, nic::LINK_STATUS) == UP_100G);
    assert_eq!(info(1), FEC_RS);
}

#[test]
fn loopback_and_fault_injection() {
    let r = rig(1);
    let p = 9;
    r.set(0, p, nic::CTL, LOOPBACK);
    r.port(0, p, (16, 16), 8, BUF_LEN, 3 << 8);
    wait_for("link", || r.reg(0, p, nic::LINK_STATUS) == 1 | 3 << 8);
    r.send(0, p, &frame(100, 1), 5);
    assert_eq!(r.wait_rx(0, p, 1), [(frame(100, 1), 5)]);
    assert_eq!(r.counter(0, p, c::FEC_CORRECTED), 0);

    r.bar(0).write32(model_ctl::port_faults(p), 2 | 4);
    r.send(0, p, &frame(100, 2), 0);
    wait_for("rx_fcs_errors", || r.counter(0, p, c::RX_FCS_ERRORS) == 1);
    assert_eq!(r.counter(0, p, c::RX_FRAMES), 1);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 2);
    assert_eq!(r.counter(0, p, c::FEC_CORRECTED), 1);
    assert_eq!(r.counter(0, p, c::PCS_ERRORS), 1);

    // Down, frames are dropped at the sender.
    r.bar(0).write32(model_ctl::port_faults(p), 1);
    wait_for("link down", || r.reg(0, p, nic::LINK_STATUS) == 0);
    r.send(0, p, &frame(100, 3), 0);
    wait_for("tx_dropped", || r.counter(0, p, c::TX_DROPPED) == 1);
    r.bar(0).write32(model_ctl::port_faults(p), 0);
    wait_for("link up", || r.reg(0, p, nic::LINK_STATUS) != 0);
    r.send(0, p, &frame(1000, 4), 1);
    assert_eq!(r.wait_rx(0, p, 1), [(frame(1000, 4), 1)]);
}

#[test]
fn irq_masking_and_rx_coalescing() {
    let r = rig(2);
    let p = 1;
    r.pair(p, 64);
    // TX masked at the sender: no interrupt.
    r.set(0, p, nic::IRQ_MASK, 1);
    r.send(0, p, &frame(60, 0), 0);
    r.wait_rx(1, p, 1);
    wait_for("RX interrupt at once by default", || r.irq(1, p) == 1);
    assert_eq!(r.irq(0, p), 0);

    // Every third frame.
    let rxq0 = nic::rxq(0);
    r.set(1, p, rxq0 + nic::Q_COAL_FRAMES, 3);
    r.sync(1, p);
    for i in 0..2 {
        r.send(0, p, &frame(60, i), 0);
    }
    r.wait_rx(1, p, 2);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(r.irq(1, p), 0);
    r.send(0, p, &frame(60, 2), 0);
    r.wait_rx(1, p, 1);
    wait_for("coalesced interrupt", || r.irq(1, p) == 1);

    // 300 ms after the first frame, not before: values beyond the limit
    // count as the limit.
    r.set(1, p, rxq0 + nic::Q_COAL_FRAMES, 0);
    r.set(1, p, rxq0 + nic::Q_COAL_USECS, 300_000);
    assert_eq!(nic::COAL_USECS_MAX, 65_535);
    r.sync(1, p);
    let start = Instant::now();
    r.send(0, p, &frame(60, 3), 0);
    r.wait_rx(1, p, 1);
    assert_eq!(r.irq(1, p), 0);
    wait_for("timed interrupt", || r.irq(1, p) == 1);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(64), "{waited:?}");
    assert!(waited < Duration::from_millis(250), "{waited:?}");

    // Masked: never.
    r.set(1, p, nic::IRQ_MASK, 2);
    r.send(0, p, &frame(60, 4), 0);
    r.wait_rx(1, p, 1);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(r.irq(1, p), 0);
}

#[test]
fn tx_completion_coalescing() {
    let r = rig(2);
    let p = 4;
    r.pair(p, 64);
    // At once by default: one TX interrupt per frame taken.
    r.send(0, p, &frame(60, 0), 0);
    wait_for("TX interrupt at once by default", || r.irq(0, p) == 1);

    // Every fourth frame of TX queue 0.
    let txq0 = nic::txq(0);
    r.set(0, p, txq0 + nic::Q_COAL_FRAMES, 4);
    r.sync(0, p);
    for i in 0..3 {
        r.send(0, p, &frame(60, i), 0);
    }
    r.wait_rx(1, p, 4);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(r.irq(0, p), 0, "three frames wait");
    r.send(0, p, &frame(60, 3), 0);
    wait_for("the fourth frame's interrupt", || r.irq(0, p) == 1);

    // 50 ms after the first frame, not before.
    r.set(0, p, txq0 + nic::Q_COAL_FRAMES, 0);
    r.set(0, p, txq0 + nic::Q_COAL_USECS, 50_000);
    r.sync(0, p);
    let start = Instant::now();
    r.send(0, p, &frame(60, 4), 0);
    assert_eq!(r.irq(0, p), 0);
    wait_for("timed TX interrupt", || r.irq(0, p) == 1);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(49), "{waited:?}");

    // Masked: never, even once unmasked.
    r.set(0, p, nic::IRQ_MASK, 1);
    r.send(0, p, &frame(60, 5), 0);
    r.set(0, p, nic::IRQ_MASK, 0);
    r.sync(0, p);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(r.irq(0, p), 0);
    assert_eq!(r.wait_rx(1, p, 3).len(), 3);
}

/// Posts `frames` on port `p` of device 0 as a driver that skips the
/// doorbell while `TX_DRAINING` is set: `PI`, a full fence, the flag.
/// Returns the doorbells it skipped.
fn post_skipping_doorbells(r: &Rig, p: usize, frames: &[Vec<u8>]) -> usize {
    let mut skipped = 0;
    for f in frames {
        r.queue(0, p, f, 0);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if r.reg(0, p, nic::TX_DRAINING) & TX_DRAINING_BUSY != 0 {
            skipped += 1;
        } else {
            r.ring(0, p);
        }
    }
    skipped
}

#[test]
fn frames_posted_while_draining_need_no_doorbell() {
    let r = rig(2);
    let p = 6;
    r.pair(p, 256);
    assert_eq!(r.reg(0, p, nic::TX_DRAINING), 0, "idle");
    // 1000-byte frames at 20 Mbit/s take 0.4 ms each: the worker stays
    // in its loop while the test posts.
    r.bar(0).write32(model_ctl::link_rate(p), 20);
    let frames: Vec<_> = (0..200).map(|i| frame(1000, i as u8)).collect();
    let skipped = post_skipping_doorbells(&r, p, &frames);
    assert!(skipped > 100, "{skipped} doorbells skipped");
    let got = r.wait_rx(1, p, frames.len());
    assert_eq!(got.len(), frames.len());
    for (i, (data, _)) in got.iter().enumerate() {
        assert!(!data.is_empty());
        assert_eq!(data, &frames[i], "frame {i}");
    }
    wait_for("TX_DRAINING clear once idle", || {
        r.reg(0, p, nic::TX_DRAINING) == 0
    });

    // Unpaced, with posters racing the worker as it clears the flag: no
    // frame is left on the ring.
    r.bar(0).write32(model_ctl::link_rate(p), 0);
    for round in 0..50u8 {
        let burst: Vec<_> = (0..8).map(|i| frame(64, round ^ i)).collect();
        r.post(1, p, 8, BUF_LEN);
        post_skipping_doorbells(&r, p, &burst);
        let pi = r.reg(0, p, nic::TX_PI);
        wait_for("every posted frame taken", || r.reg(0, p, nic::TX_CI) == pi);
        assert_eq!(r.wait_rx(1, p, burst.len()).len(), burst.len());
    }
}

/// Sends 1000-byte frames alternating priorities 0 and 1 at 20 Mbit/s and
/// returns the bytes of TC 0 and TC 1 once `total` frames are out.
fn tc_shares(tsa: u32, bw: [u8; 2], total: u64) -> (u64, u64) {
    let r = rig(2);
    let p = 3;
    r.pair(p, 0);
    r.bar(0).write32(model_ctl::link_rate(p), 20);
    r.set(0, p, nic::PRIO_TC, 1 << 4);
    r.set(0, p, nic::TC_TSA, tsa);
    r.set(0, p, nic::TC_BW, u32::from_le_bytes([bw[0], bw[1], 0, 0]));
    for i in 0..200 {
        r.queue(0, p, &frame(1000, i), i % 2);
    }
    r.ring(0, p);
    wait_for("frames out", || r.counter(0, p, c::TX_FRAMES) >= total);
    let shares = (
        r.counter(0, p, c::TX_TC_BYTES),
        r.counter(0, p, c::TX_TC_BYTES + 1),
    );
    // Paced: 1004 bytes at 20 Mbit/s take 400 us.
    let all = r.counter(1, p, c::RX_NO_BUFFER);
    assert!(all <= 200, "{all}");
    shares
}

#[test]
fn ets_shares_with_link_rate() {
    let start = Instant::now();
    let (tc0, tc1) = tc_shares(0b11, [25, 75], 80);
    let share = tc1 as f64 / (tc0 + tc1) as f64;
    assert!((share - 0.75).abs() < 0.08, "TC 1 share {share}");
    assert!(start.elapsed() >= Duration::from_millis(25), "not paced");

    // TC 1 strict: it goes first, all of it.
    let (tc0, tc1) = tc_shares(0b01, [100, 0], 60);
    assert!(
        tc0 <= 2000,
        "TC 0 sent {tc0} bytes before strict TC 1 was done"
    );
    assert!(tc1 >= 58_000);
}

/// Keeps TX queues 1 and 2 of a port full of 1000-byte frames at
/// priorities 1 and 2 (TC 1 and TC 2) at 50 Mbit/s, with `TC_TSA` `tsa` and
/// `TC_BW` `bw` for TC 1 and 2, and returns the bytes each class sent
/// between the 600th and the 2000th frame: 1400 frames, well past the 512
/// the backlog (`BACKLOG_FRAMES` of each queue) held at the start, while
/// both queues still have frames posted.
fn sustained_shares(tsa: u32, bw: [u8; 2]) -> (u64, u64) {
    const N: u32 = 4096;
    let r = rig(2);
    let p = 6;
    r.pair(p, 0);
    r.bar(0).write32(model_ctl::link_rate(p), 50);
    r.set(0, p, nic::PRIO_TC, 1 << 4 | 2 << 8);
    r.set(0, p, nic::TC_TSA, tsa);
    r.set(0, p, nic::TC_BW, u32::from_le_bytes([0, bw[0], bw[1], 0]));
    for q in 1..=2u8 {
        let data = frame(1000, q);
        let at = r.alloc(data.len() as u64);
        r.write(at, &data);
        let ring = r.alloc(16 * u64::from(N));
        let mut desc = [0u8; 16];
        desc[..8].copy_from_slice(&at.to_le_bytes());
        desc[8..10].copy_from_slice(&(data.len() as u16).to_le_bytes());
        desc[10] = q;
        for i in 0..u64::from(N) {
            r.write(ring + 16 * i, &desc);
        }
        let regs = nic::txq(q.into());
        r.bar(0)
            .write64(nic::block(p) + regs + nic::Q_BASE_LO, ring);
        r.set(0, p, regs + nic::Q_SIZE, N);
        r.set(0, p, regs + nic::Q_PI, N);
    }
    r.ring(0, p);
    let tc = |t| r.counter(0, p, c::TX_TC_BYTES + t);
    wait_for("600 frames out", || r.counter(0, p, c::TX_FRAMES) >= 600);
    let start = (tc(1), tc(2));
    wait_for("2000 frames out", || r.counter(0, p, c::TX_FRAMES) >= 2000);
    let shares = (tc(1) - start.0, tc(2) - start.1);
    // Both queues were still posting: neither class ran out.
    for q in 1..=2 {
        let ci = r.reg(0, p, nic::txq(q) + nic::Q_CI);
        assert!(ci < N, "TX queue {q} ran out ({ci} taken)");
    }
    shares
}

#[test]
fn ets_shares_hold_with_two_tx_queues_kept_full() {
    let (tc1, tc2) = sustained_shares(0b110, [75, 25]);
    let share = tc1 as f64 / (tc1 + tc2) as f64;
    assert!(tc2 > 0, "TC 2 sent nothing");
    assert!((share - 0.75).abs() < 0.01, "75/25: TC 1 share {share}");

    let (tc1, tc2) = sustained_shares(0b110, [50, 50]);
    let share = tc1 as f64 / (tc1 + tc2) as f64;
    assert!((share - 0.5).abs() < 0.01, "50/50: TC 1 share {share}");

    // TC 2 strict: TC 1 waits while TC 2 has frames.
    let (tc1, tc2) = sustained_shares(0b010, [100, 0]);
    assert!(tc1 <= 2000, "TC 1 sent {tc1} bytes beside strict TC 2");
    assert!(tc2 >= 1_390_000, "strict TC 2 sent {tc2}");
}

#[test]
fn eeprom_pages_and_check_codes() {
    let r = rig(2);
    for d in 0..2 {
        for p in [0, 9] {
            let mut e = vec![0; 1024];
            r.bar(d)
                .file()
                .read_exact_at(&mut e, eeprom_regs::block(p))
                .unwrap();
            assert_eq!((e[0], e[128]), (0x11, 0x11));
            assert_eq!(&e[148..164], b"HLSIM           ");
            let sum = |range: std::ops::Range<usize>| {
                e[range].iter().fold(0u8, |s, &b| s.wrapping_add(b))
            };
            assert_eq!(e[191], sum(128..191));
            assert_eq!(e[223], sum(192..223));
            let serial = format!("HL{:08X}-P{p:02}  ", 0x100 + d);
            assert_eq!(&e[196..212], serial.as_bytes());
            assert_eq!(e[192], 0x0b, "100GBASE-CR4");
            assert_eq!(u16::from_be_bytes([e[256], e[257]]), 75 << 8);
            assert!(e[384..].iter().all(|&b| b == 0));
        }
    }
    assert_eq!(eeprom::module_serial(0x1_2345_6789, 3), "HL23456789-P03");
}

#[test]
fn reset_with_traffic_in_flight() {
    let r = rig(2);
    let p = 6;
    r.pair(p, 256);
    r.pair(p + 1, 256);
    r.set(1, p, nic::PFC_EN, 0xff);
    for d in 0..2 {
        r.bar(d).write32(model_ctl::link_rate(p), 50);
        for i in 0..300 {
            r.queue(d, p, &frame(1500, i as u8), (i % 8) as u8);
        }
        r.ring(d, p);
    }
    wait_for("traffic", || r.counter(1, p, c::RX_FRAMES) > 10);
    let changes = r.reg(1, p, nic::LINK_CHANGES);
    r.irq(1, p);
    // RESET device 0 through its mailbox.
    r.bar(0).write32(mailbox::CMD, 1);
    r.bar(0).write32(mailbox::CMD_SEQ, 1);
    r.devs[0].doorbell(0, 1).unwrap().expect("reset completes");
    for q in [p, p + 1] {
        for off in (0..nic::SIZE)
            .step_by(4)
            .filter(|&off| off != nic::LINK_INFO)
        {
            assert_eq!(r.reg(0, q, off), 0, "port {q} register {off:#x}");
        }
        // Written again at once: why the link is down.
        assert_eq!(
            r.reg(0, q, nic::LINK_INFO),
            DOWN_DISABLED << LINK_INFO_DOWN_SHIFT
        );
        assert_eq!(r.reg(1, q, nic::LINK_STATUS), 0, "peer of port {q}");
    }
    assert_eq!(r.reg(1, p, nic::LINK_CHANGES), changes + 1);
    assert!(r.irq(1, p) >= 1);
    let mut e = [0; 1];
    r.bar(0)
        .file()
        .read_exact_at(&mut e, eeprom_regs::block(p))
        .unwrap();
    assert_eq!(e[0], 0x11);
    // Device 1's backlog drains as dropped; device 0 stays quiet.
    wait_for("drops", || r.counter(1, p, c::TX_DROPPED) > 0);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(r.counter(0, p, c::RX_FRAMES), 0);
    assert_eq!(r.reg(0, p, nic::TX_CI), 0);

    // Set up again, it carries traffic.
    r.bar(1).write32(model_ctl::link_rate(p), 0);
    wait_for("backlog drained", || {
        r.reg(1, p, nic::TX_CI) == 300
            && r.counter(1, p, c::TX_FRAMES) + r.counter(1, p, c::TX_DROPPED) == 300
    });
    r.port(0, p, (16, 16), 4, BUF_LEN, AUTO_ALL);
    wait_for("link", || r.reg(1, p, nic::LINK_STATUS) == UP_100G);
    r.received(1, p);
    r.send(1, p, &frame(99, 1), 2);
    assert_eq!(r.wait_rx(0, p, 1), [(frame(99, 1), 2)]);
}

#[test]
fn tap_bridge() {
    let name = "hlsimt0";
    let r = rig(2);
    let p = 8;
    if let Err(e) = r.devs[0].attach_tap(p, name) {
        eprintln!("skipped: cannot create TAP {name}: {e}");
        return;
    }
    let sock = tap_socket(name);
    r.port(0, p, (16, 64), 64, BUF_LEN, 1 << 16 | 1);
    wait_for("link", || r.reg(0, p, nic::LINK_STATUS) == 1 | 1 << 8);
    // Device 1's port lost its peer.
    r.port(1, p, (16, 16), 4, BUF_LEN, AUTO_ALL);
    r.sync(1, p);
    assert_eq!(r.reg(1, p, nic::LINK_STATUS), 0);

    let mut out = frame(200, 5);
    out[..6].copy_from_slice(&[0xff; 6]);
    out[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    r.send(0, p, &out, 0);
    let mut buf = vec![0; 2048];
    // SAFETY: `buf` is writable for its length.
    let n = unsafe { libc::recv(sock, buf.as_mut_ptr().cast(), buf.len(), 0) };
    assert_eq!(n, 200, "{}", std::io::Error::last_os_error());
    assert_eq!(buf[..200], out[..]);

    let mut back = frame(300, 6);
    back[..6].copy_from_slice(&[0xff; 6]);
    back[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    // SAFETY: `back` is readable for its length.
    let n = unsafe { libc::send(sock, back.as_ptr().cast(), back.len(), 0) };
    assert_eq!(n, 300);
    // The host may send frames of its own (IPv6 and the like).
    wait_for("frame from the host", || {
        r.received(0, p)
            .into_iter()
            .any(|(data, prio)| data == back && prio == 0)
    });
    // SAFETY: `sock` is an open descriptor the test owns.
    unsafe { libc::close(sock) };
}

/// Brings `name` up and returns a packet socket bound to it for
/// EtherType 0x88b5.
fn tap_socket(name: &str) -> i32 {
    let proto = 0x88b5u16.to_be();
    // SAFETY: plain socket calls on descriptors and structs the test owns.
    unsafe {
        let ctl = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(ctl >= 0);
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        assert_eq!(libc::ioctl(ctl, libc::SIOCGIFFLAGS, &mut ifr), 0);
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        assert_eq!(libc::ioctl(ctl, libc::SIOCSIFFLAGS, &ifr), 0);
        libc::close(ctl);
        let index = libc::if_nametoindex(ifr.ifr_name.as_ptr());
        assert!(index > 0);
        let sock = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto.into());
        assert!(sock >= 0);
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = index as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        assert_eq!(libc::bind(sock, (&raw const addr).cast(), len), 0);
        let tv = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        let tvlen = std::mem::size_of::<libc::timeval>() as u32;
        libc::setsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            tvlen,
        );
        sock
    }
}

#[test]
fn port_stop_drops_the_backlog_and_held_frames() {
    let r = rig(2);
    let p = 5;
    r.pair(p, 2);
    // Only link interrupts from here on.
    r.set(0, p, nic::IRQ_MASK, 1);
    r.set(1, p, nic::IRQ_MASK, 2);
    r.set(1, p, nic::PFC_EN, 1 << 3);
    let frames: Vec<_> = (0..300).map(|i| frame(200 + i, i as u8)).collect();
    for f in &frames {
        r.queue(0, p, f, 3);
    }
    r.ring(0, p);
    // Two frames take device 1's buffers, a pause holds the third, and the
    // backlog fills up behind it.
    assert_eq!(
        r.wait_rx(1, p, 2),
        [(frames[0].clone(), 3), (frames[1].clone(), 3)]
    );
    wait_for("pause", || r.counter(0, p, c::RX_PAUSE + 3) == 1);
    let ci = 2 + BACKLOG_FRAMES as u32;
    wait_for("a full backlog", || r.reg(0, p, nic::TX_CI) == ci);
    let regs: Vec<_> = (0..nic::SIZE)
        .step_by(4)
        .map(|off| r.reg(0, p, off))
        .collect();
    let changes = [0, 1].map(|d| r.reg(d, p, nic::LINK_CHANGES));

    assert_eq!(r.port_stop(0, p as u64), Status::Ok);
    // ENABLE is clear and the link down at both ends, counted and signalled.
    assert_eq!(r.reg(0, p, nic::CTL), 0);
    for (d, changes) in changes.into_iter().enumerate() {
        assert_eq!(r.reg(d, p, nic::LINK_STATUS), 0, "device {d}");
        assert_eq!(r.reg(d, p, nic::LINK_CHANGES), changes + 1);
        assert_eq!(r.irq(d, p), 1);
    }
    // The backlog, the held frame included, is dropped and counted, and so
    // is the link going down; every other register keeps its value.
    assert_eq!(r.counter(0, p, c::TX_DROPPED), BACKLOG_FRAMES as u64);
    let downs = regs[nic::counter(c::LINK_DOWN_EVENTS) as usize / 4];
    assert_eq!(r.counter(0, p, c::LINK_DOWN_EVENTS), u64::from(downs) + 1);
    let dropped = nic::counter(c::TX_DROPPED);
    let down_events = nic::counter(c::LINK_DOWN_EVENTS);
    let changed = [
        nic::CTL,
        nic::LINK_STATUS,
        nic::LINK_CHANGES,
        nic::LINK_INFO,
        dropped,
        dropped + 4,
        down_events,
        down_events + 4,
    ];
    assert_eq!(
        r.reg(0, p, nic::LINK_INFO),
        DOWN_DISABLED << LINK_INFO_DOWN_SHIFT
    );
    assert_eq!(
        r.reg(1, p, nic::LINK_INFO),
        DOWN_PARTNER_DISABLED << LINK_INFO_DOWN_SHIFT
    );
    for (off, &val) in (0..nic::SIZE).step_by(4).zip(&regs) {
        if !changed.contains(&off) {
            assert_eq!(r.reg(0, p, off), val, "register {off:#x}");
        }
    }

    // Stopped, the port leaves its rings alone: the rest of the TX ring
    // stays posted, and what device 1 sends is dropped there.
    let rx = r.rx_ring(0, p);
    r.send(1, p, &frame(100, 1), 0);
    wait_for("tx_dropped", || r.counter(1, p, c::TX_DROPPED) == 1);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(r.reg(0, p, nic::TX_CI), ci);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 2);
    assert_eq!(r.counter(0, p, c::TX_DROPPED), BACKLOG_FRAMES as u64);
    assert_eq!(r.rx_ring(0, p), rx);
    assert_eq!(r.counter(0, p, c::RX_FRAMES), 0);

    // Enabled again with buffers at device 1, the port goes on from TX_CI:
    // none of the dropped frames arrives.
    r.post(1, p, 64, BUF_LEN);
    r.ring(1, p);
    r.set(0, p, nic::CTL, ENABLE);
    r.ring(0, p);
    let rest: Vec<_> = frames[ci as usize..]
        .iter()
        .map(|f| (f.clone(), 3))
        .collect();
    assert_eq!(r.wait_rx(1, p, rest.len()), rest);
    assert_eq!(r.reg(0, p, nic::LINK_STATUS), UP_100G);
    r.send(1, p, &frame(99, 2), 0);
    assert_eq!(r.wait_rx(0, p, 1), [(frame(99, 2), 0)]);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(r.received(1, p), []);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 2 + rest.len() as u64);
    assert_eq!(r.counter(0, p, c::TX_DROPPED), BACKLOG_FRAMES as u64);
}

#[test]
fn port_stop_waits_for_frames_in_flight() {
    let r = rig(2);
    let p = 2;
    r.pair(p, 500);
    for d in 0..2 {
        r.set(d, p, nic::MAX_FRAME, 9216);
    }
    // 9004 bytes at 100 Mbit/s: 720 us a frame, 360 ms for all, so the
    // stop comes in mid-stream. Dropped frames take no time.
    r.bar(1).write32(model_ctl::link_rate(p), 100);
    for i in 0..500 {
        r.queue(1, p, &frame(9000, i as u8), (i % 8) as u8);
    }
    r.ring(1, p);
    wait_for("traffic", || r.reg(0, p, nic::RX_CI) >= 2);
    assert_eq!(r.port_stop(0, p as u64), Status::Ok);
    // From the completion on, the RX ring, its buffers and the counters
    // stay as they are.
    let (ring, ci) = r.rx_ring(0, p);
    let next = u64::from_le_bytes(ring[16 * (ci % 512) as usize..][..8].try_into().unwrap());
    let counters = [c::RX_FRAMES, c::RX_BYTES, c::RX_NO_BUFFER, c::RX_OVERSIZE];
    let rx = counters.map(|i| r.counter(0, p, i));
    assert_eq!(rx, [u64::from(ci), 9000 * u64::from(ci), 0, 0]);
    wait_for("device 1 drained", || {
        r.counter(1, p, c::TX_FRAMES) + r.counter(1, p, c::TX_DROPPED) == 500
    });
    thread::sleep(Duration::from_millis(20));
    assert_eq!(r.rx_ring(0, p), (ring, ci));
    assert_eq!(r.read(next, BUF_LEN as usize), vec![0; BUF_LEN as usize]);
    assert_eq!(counters.map(|i| r.counter(0, p, i)), rx);
    assert_eq!(r.counter(1, p, c::TX_FRAMES), u64::from(ci));
    assert!(r.counter(1, p, c::TX_DROPPED) > 0);

    // Enabled again, the port receives.
    r.received(0, p);
    r.set(0, p, nic::CTL, ENABLE);
    r.ring(0, p);
    wait_for("link", || r.reg(1, p, nic::LINK_STATUS) == UP_100G);
    r.send(1, p, &frame(9000, 1), 7);
    assert_eq!(r.wait_rx(0, p, 1), [(frame(9000, 1), 7)]);
}

/// An Ethernet + IPv4 + `proto` (TCP or UDP) frame from port `sport` with
/// `payload`; its transport checksum field holds the pseudo-header's sum,
/// as a stack leaves it for the device.
fn ip_frame(proto: u8, sport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    let l4_len = if proto == 6 { 20 } else { 8 } + payload.len();
    let total = (20 + l4_len) as u16;
    f.extend_from_slice(&[0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    let c = !fold(sum(&f[14..34], 0));
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&80u16.to_be_bytes());
    if proto == 6 {
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        f.extend_from_slice(&(l4_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    }
    let pseudo = fold(sum(&f[26..34], u64::from(proto) + l4_len as u64));
    let at = if proto == 6 { 34 + 16 } else { 34 + 6 };
    f[at..at + 2].copy_from_slice(&pseudo.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn scatter_gather_checksum_and_segmentation() {
    let r = rig(2);
    let p = 1;
    r.pair(p, 64);
    let payload = frame(3000, 9);
    let tcp = ip_frame(6, 1000, &payload);
    assert!(
        !rx_checksum_ok(&tcp),
        "the checksum is the device's to insert"
    );
    // Three pieces; the first carries TSO (TCP header at 34, mss 1000).
    let at = r.alloc(tcp.len() as u64);
    r.write(at, &tcp);
    let cuts = [0, 40, 1500, tcp.len()];
    for (i, w) in cuts.windows(2).enumerate() {
        let (flags, extra) = if i == 0 {
            (TX_TSO as u8, 34 | 16 << 10 | 1000 << 16)
        } else {
            (0, 0)
        };
        let more = if i < 2 { TX_MORE as u8 } else { 0 };
        let len = (w[1] - w[0]) as u16;
        r.post_tx(0, p, (at + w[0] as u64, len, 2, flags | more, extra));
    }
    r.ring(0, p);
    let got = r.wait_rx(1, p, 3);
    let mut joined = Vec::new();
    for (i, (seg, prio)) in got.iter().enumerate() {
        assert_eq!(*prio, 2);
        assert!(rx_checksum_ok(seg), "segment {i}");
        assert_eq!(seg.len(), 54 + 1000);
        joined.extend_from_slice(&seg[54..]);
    }
    assert_eq!(joined, payload);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 3);
    assert_eq!(r.reg(0, p, nic::TX_CI), 3);
    let status = r.read(r.rings.borrow()[&(1, p)].rx + 12, 2);
    assert_eq!(u16::from_le_bytes([status[0], status[1]]), 1 | RX_CSUM_OK);

    // A UDP datagram in two pieces with the checksum inserted.
    let udp = ip_frame(17, 7, &frame(500, 1));
    let at = r.alloc(udp.len() as u64);
    r.write(at, &udp);
    r.post_tx(0, p, (at, 100, 0, (TX_CSUM | TX_MORE) as u8, 34 | 6 << 10));
    r.post_tx(0, p, (at + 100, udp.len() as u16 - 100, 0, 0, 0));
    r.ring(0, p);
    let got = r.wait_rx(1, p, 1);
    assert!(rx_checksum_ok(&got[0].0));
    assert_eq!(got[0].0[..40], udp[..40]);

    // TSO of a frame that is not TCP, a checksum field past the end, a
    // chain too long: each dropped whole and counted once.
    r.post_tx(
        0,
        p,
        (at, udp.len() as u16, 0, TX_TSO as u8, 34 | 100 << 16),
    );
    r.post_tx(0, p, (at, 60, 0, TX_CSUM as u8, 58 | 6 << 10));
    for _ in 0..32 {
        r.post_tx(0, p, (at, 60, 0, TX_MORE as u8, 0));
    }
    r.ring(0, p);
    wait_for("tx_errors", || r.counter(0, p, c::TX_ERRORS) >= 3);
    assert_eq!(r.counter(0, p, c::TX_FRAMES), 4);
}

#[test]
fn tx_queues_and_rss_over_rx_queues() {
    let r = rig(2);
    let p = 4;
    r.pair(p, 64);
    // RX queues 1 to 3 of device 1, 64 buffers each, and TX queue 5 of
    // device 0.
    for q in 1..nic::NUM_RXQ {
        let ring = r.alloc(16 * 64);
        let regs = nic::rxq(q);
        r.bar(1)
            .write64(nic::block(p) + regs + nic::Q_BASE_LO, ring);
        r.set(1, p, regs + nic::Q_SIZE, 64);
        for i in 0..64u64 {
            let buf = r.alloc(2048);
            let mut desc = [0u8; 16];
            desc[..8].copy_from_slice(&buf.to_le_bytes());
            desc[8..10].copy_from_slice(&2048u16.to_le_bytes());
            r.write(ring + 16 * i, &desc);
        }
        r.set(1, p, regs + nic::Q_PI, 64);
    }
    let key: Vec<u8> = (0..nic::RSS_KEY_SIZE as u8)
        .map(|i| i.wrapping_mul(37) ^ 0x5a)
        .collect();
    let table: Vec<u8> = (0..nic::RSS_TABLE_SIZE)
        .map(|i| (i % nic::NUM_RXQ) as u8)
        .collect();
    let bar = r.bar(1);
    bar.slice(nic::block(p) + nic::RSS_KEY, key.len() as u64)
        .unwrap()
        .write_from(&key);
    bar.slice(nic::block(p) + nic::RSS_TABLE, table.len() as u64)
        .unwrap()
        .write_from(&table);
    r.sync(1, p);

    let txq = r.alloc(16 * 64);
    let regs = nic::txq(5);
    r.bar(0).write64(nic::block(p) + regs + nic::Q_BASE_LO, txq);
    r.set(0, p, regs + nic::Q_SIZE, 64);
    let flows = 32u16;
    for i in 0..flows {
        let f = ip_frame(17, 1000 + i * 17, &frame(100, i as u8));
        let at = r.alloc(f.len() as u64);
        r.write(at, &f);
        let mut desc = [0u8; 16];
        desc[..8].copy_from_slice(&at.to_le_bytes());
        desc[8..10].copy_from_slice(&(f.len() as u16).to_le_bytes());
        desc[11] = TX_CSUM as u8;
        desc[12..16].copy_from_slice(&(34u32 | 6 << 10).to_le_bytes());
        r.write(txq + 16 * u64::from(i), &desc);
    }
    r.set(0, p, regs + nic::Q_PI, u32::from(flows));
    r.ring(0, p);
    wait_for("TX queue 5 done", || {
        r.reg(0, p, regs + nic::Q_CI) == u32::from(flows)
    });
    wait_for("all received", || {
        let n: u32 = (0..nic::NUM_RXQ)
            .map(|q| r.reg(1, p, nic::rxq(q) + nic::Q_CI))
            .sum();
        n == u32::from(flows)
    });
    // Every queue got some flows, and its own vector.
    for q in 0..nic::NUM_RXQ {
        let n = r.reg(1, p, nic::rxq(q) + nic::Q_CI);
        assert!(n > 0, "RX queue {q} got nothing");
        let irqs = r.irqs[1][vector_rxq(p, q) as usize].read().unwrap_or(0);
        assert!(irqs > 0, "RX queue {q}: no interrupt");
    }
    // The same flow always lands on the same queue.
    let before: Vec<u32> = (0..nic::NUM_RXQ)
        .map(|q| r.reg(1, p, nic::rxq(q) + nic::Q_CI))
        .collect();
    let f = ip_frame(17, 1000, &frame(100, 0));
    r.send(0, p, &f, 0);
    wait_for("one more", || {
        let n: u32 = (0..nic::NUM_RXQ)
            .map(|q| r.reg(1, p, nic::rxq(q) + nic::Q_CI))
            .sum();
        n == u32::from(flows) + 1
    });
    let grew: Vec<usize> = (0..nic::NUM_RXQ)
        .filter(|&q| r.reg(1, p, nic::rxq(q) + nic::Q_CI) != before[q])
        .collect();
    assert_eq!(grew.len(), 1);
}

#[test]
fn tx_stall_fault_holds_one_queue() {
    let r = rig(2);
    let p = 6;
    r.pair(p, 320);
    // TX queue 1 of device 0: 512 entries, 300 frames of 1000 bytes at
    // priority 1. At 10 Mbit/s a frame takes 800 us on the wire.
    let (q, n) = (1, 300u32);
    let regs = nic::txq(q);
    let ring = r.alloc(16 * 512);
    r.bar(0)
        .write64(nic::block(p) + regs + nic::Q_BASE_LO, ring);
    r.set(0, p, regs + nic::Q_SIZE, 512);
    let frames: Vec<_> = (0..n).map(|i| frame(1000, i as u8)).collect();
    for (i, f) in frames.iter().enumerate() {
        let at = r.alloc(f.len() as u64);
        r.write(at, f);
        let mut desc = [0u8; 16];
        desc[..8].copy_from_slice(&at.to_le_bytes());
        desc[8..10].copy_from_slice(&(f.len() as u16).to_le_bytes());
        desc[10] = 1;
        r.write(ring + 16 * i as u64, &desc);
    }
    let ci = || r.reg(0, p, regs + nic::Q_CI);
    let faults = model_ctl::port_faults(p);

    // Stalled before the doorbell: queue 1 keeps its frames, queue 0 sends.
    r.bar(0).write32(faults, port_fault_tx_stall(q));
    r.set(0, p, regs + nic::Q_PI, n);
    r.send(0, p, &frame(64, 1), 0);
    assert_eq!(r.wait_rx(1, p, 1), [(frame(64, 1), 0)]);
    r.sync(0, p);
    thread::sleep(Duration::from_millis(30));
    assert_eq!(ci(), 0);
    assert_eq!(r.received(1, p), []);

    // Cleared, without a doorbell: the port takes the queue again. Slowed
    // down, it fills its backlog and sends from there.
    r.bar(0).write32(model_ctl::link_rate(p), 10);
    r.bar(0).write32(faults, 0);
    wait_for("a full backlog", || ci() >= BACKLOG_FRAMES as u32);
    // Stalled again mid-stream: the backlog still goes out, nothing more is
    // taken off the queue.
    r.bar(0).write32(faults, port_fault_tx_stall(q));
    r.sync(0, p);
    let held = ci();
    assert!(held < n, "the queue was drained before the stall");
    wait_for("the backlog sent", || {
        r.counter(0, p, c::TX_FRAMES) == 1 + u64::from(held)
    });
    thread::sleep(Duration::from_millis(30));
    assert_eq!(ci(), held);
    assert_eq!(r.counter(0, p, c::TX_DROPPED), 0);

    // A stalled queue is also one PORT_STOP leaves as it is; cleared and
    // enabled again, the port sends the rest in order.
    r.bar(0).write32(model_ctl::link_rate(p), 0);
    assert_eq!(r.port_stop(0, p as u64), Status::Ok);
    assert_eq!(ci(), held);
    r.bar(0).write32(faults, 0);
    r.set(0, p, nic::CTL, ENABLE);
    r.ring(0, p);
    wait_for("the queue drained", || ci() == n);
    let got = r.wait_rx(1, p, n as usize);
    let sent: Vec<_> = frames.iter().map(|f| (f.clone(), 1)).collect();
    assert_eq!(got, sent);
}
