// SPDX-License-Identifier: GPL-2.0

//! The device: identity, control mailbox, reset, fault injection, and the
//! compute blocks and NIC queues its QMAN threads run.
//!
//! The device acts only when a doorbell rings. Everything it reads from
//! BAR2 or guest RAM was written by the guest and is validated before use.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use vmm_sys_util::eventfd::EventFd;

use crate::dma_core::DmaCore;
use crate::eq::EventQueue;
use crate::hostile;
use crate::irq::Interrupts;
use crate::mem::SharedMem;
use crate::nic::Nic;
use crate::peer::Bus;
use crate::qman::{self, NUM_QMANS, STREAMS, Streams};
use crate::regs::{
    CAPS_COMPUTE, CAPS_DMA_SELFTEST, CAPS_NIC, CAPS_RDMA, CHIP_ID_GAUDI_SIM, CLK_CUR_MHZ,
    CLK_MAX_MHZ, CMD_IRQ, DRAM_OFFSET, FAULT_HEARTBEAT_STOP, FAULT_IRQ_STORM, FAULT_MAILBOX_HANG,
    FAULT_SELFTEST_CORRUPT, FAULT_VANISH, MAGIC_HLSM, NIC_QUEUE0, NUM_PORTS, NUM_QUEUES,
    NUM_VECTORS, Opcode, PORT_MASK, QUEUE_MASK, SELFTEST_MAX_SIZE, State, Status, VECTOR_CONTROL,
    VECTOR_INTERNAL, VECTOR_NIC0, VECTOR_PORT0, VECTOR_QMAN0, VERSION_1_0, dma_core, identity,
    mailbox, model_ctl, qman as qman_regs, rdma,
};
use crate::sensors::Sensors;
use crate::space::{DRAM_SIZE, SRAM_SIZE, Space};
use crate::sync_manager::SyncManager;
use crate::transport::MODEL_PEER;

/// Smallest BAR2: the register blocks and 1 MiB of DRAM.
pub const MIN_SIZE: u64 = 2 * DRAM_OFFSET;

/// A control command the device has completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// `CMD` as posted.
    pub cmd: u32,
    /// `CMD_SEQ` of the command.
    pub seq: u32,
    /// `CMD_STATUS` written.
    pub status: Status,
}

/// The MAC address of NIC port `port` of the device with serial `serial`:
/// locally administered, from the low 32 bits of the serial and the port.
pub fn mac_address(serial: u64, port: u8) -> [u8; 6] {
    let [s0, s1, s2, s3] = (serial as u32).to_be_bytes();
    [0x02, s0, s1, s2, s3, port]
}

/// The state the device's threads share.
pub(crate) struct Shared {
    pub(crate) bar: Arc<SharedMem>,
    /// GAUDI's SRAM, [`crate::space::SRAM_SIZE`] bytes.
    pub(crate) sram: SharedMem,
    /// GAUDI's DRAM past BAR2's window, [`crate::space::DRAM_SIZE`] bytes,
    /// sparse.
    pub(crate) hbm: SharedMem,
    pub(crate) ram: Arc<SharedMem>,
    /// Every device's BAR2, for peer-to-peer DMA: set once all devices exist.
    pub(crate) bus: OnceLock<Arc<Bus>>,
    pub(crate) irq: Arc<Interrupts>,
    pub(crate) sm: SyncManager,
    pub(crate) eq: EventQueue,
    /// In the order of [`qman::queue`].
    pub(crate) qmans: [Streams; NUM_QMANS],
    /// The DMA engines' cores, by engine number.
    pub(crate) dma_cores: [DmaCore; dma_core::ENGINES],
}

impl Shared {
    /// The device address space.
    pub(crate) fn space(&self) -> Space<'_> {
        Space::new(&self.bar, &self.sram, &self.hbm, &self.ram)
            .with_bus(self.bus.get().map(|b| &**b))
    }

    /// The controls of QMAN `q`'s streams; the QMAN exists.
    pub(crate) fn qman(&self, q: usize) -> &Streams {
        &self.qmans[qman::index(q).expect("the queue exists")]
    }
}

/// Writes the identity block: what the device is, as at power-on.
fn write_identity(bar: &SharedMem, serial: u64) {
    bar.write32(identity::MAGIC, MAGIC_HLSM);
    bar.write32(identity::VERSION, VERSION_1_0);
    let caps = CAPS_DMA_SELFTEST | CAPS_COMPUTE | CAPS_NIC | CAPS_RDMA;
    bar.write32(identity::CAPS, caps);
    bar.write32(identity::CHIP_ID, CHIP_ID_GAUDI_SIM);
    bar.write64(identity::SERIAL_LO, serial);
    bar.write32(identity::DRAM_BASE, DRAM_OFFSET as u32);
    bar.write64(identity::DRAM_SIZE_LO, DRAM_SIZE);
    bar.write32(identity::NUM_VECTORS, NUM_VECTORS);
    bar.write32(identity::MODEL_PEER, MODEL_PEER.into());
    bar.write32(identity::STATE, State::Ready as u32);
    bar.write32(identity::NUM_QUEUES, NUM_QUEUES as u32);
    bar.write32(identity::QUEUE_MASK, QUEUE_MASK);
    bar.write32(identity::CLK_CUR_MHZ, CLK_CUR_MHZ);
    bar.write32(identity::CLK_MAX_MHZ, CLK_MAX_MHZ);
    bar.write32(identity::PORT_MASK, PORT_MASK);
    bar.write32(identity::RDMA_CONNS, rdma::NUM_CONNS as u32);
    bar.write32(identity::RDMA_CQS, rdma::NUM_CQS as u32);
    for port in (0..identity::MAX_PORTS).filter(|p| PORT_MASK & 1 << p != 0) {
        let mac = mac_address(serial, port as u8);
        bar.write32(
            identity::mac_lo(port),
            u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
        );
        bar.write32(
            identity::mac_hi(port),
            u32::from_le_bytes([mac[4], mac[5], 0, 0]),
        );
    }
}

/// Writes the `ENGINE` register of every QMAN's streams.
fn write_engines(bar: &SharedMem) {
    for q in (0..NUM_QMANS).map(qman::queue) {
        write_engine(bar, q);
    }
}

/// Writes the `ENGINE` register of QMAN `q`'s streams.
fn write_engine(bar: &SharedMem, q: usize) {
    for s in 0..STREAMS {
        let reg = qman_regs::stream(q, s) + qman_regs::ENGINE;
        bar.write32(reg, qman::engine_reg(q));
    }
}

/// Fails unless `port` is a port of the NIC.
fn check_port(port: usize) -> io::Result<()> {
    if port < NUM_PORTS {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no port {port}"),
        ))
    }
}

/// One modelled device.
pub struct Device {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// Tells the threads that are not QMANs' to exit.
    stopping: Arc<AtomicBool>,
    nic: Arc<Nic>,
    _sensors: Sensors,
}

/// How often [`FAULT_IRQ_STORM`] raises the vectors.
const STORM_PERIOD: Duration = Duration::from_millis(1);

/// Spawns the thread that acts on the faults no doorbell starts, until
/// `stopping`: it raises every vector but the control one while
/// [`FAULT_IRQ_STORM`] is set, and makes the device vanish when
/// [`FAULT_VANISH`] is set and come back, reset, when it is cleared.
fn spawn_faults(
    name: &str,
    shared: Arc<Shared>,
    nic: Arc<Nic>,
    serial: u64,
    stopping: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let name = name.to_owned();
    thread::Builder::new()
        .name(format!("{name}-faults"))
        .spawn(move || {
            let mut vanished = false;
            while !stopping.load(Ordering::Relaxed) {
                thread::sleep(STORM_PERIOD);
                let faults = shared.bar.read32(model_ctl::FAULTS);
                match (vanished, faults & FAULT_VANISH != 0) {
                    (false, true) => vanish(&shared, &nic),
                    (true, false) => {
                        if let Err(e) = reappear(&shared, &nic, serial) {
                            eprintln!("hlsim: {name}: coming back: {e}");
                        }
                    }
                    _ => {}
                }
                vanished = faults & FAULT_VANISH != 0;
                if !vanished && faults & FAULT_IRQ_STORM != 0 {
                    for vector in VECTOR_CONTROL + 1..NUM_VECTORS {
                        shared.irq.raise(vector);
                    }
                }
            }
        })
}

/// Fills the register blocks below the model control page with all ones.
fn fill_ones(bar: &SharedMem) {
    bar.slice(0, model_ctl::BASE)
        .expect("the register blocks are inside BAR2")
        .fill(0xff);
}

/// [`FAULT_VANISH`]: the device goes away as if surprise-removed. No
/// interrupt is raised any more, the engines and ports stop (the ports'
/// peers see their links go down), and every register reads all ones.
fn vanish(shared: &Shared, nic: &Nic) {
    shared.irq.mute(true);
    for ctl in &shared.qmans {
        ctl.halt();
    }
    nic.reset(|| fill_ones(&shared.bar));
    // The reset wrote the EEPROMs back.
    fill_ones(&shared.bar);
}

/// The device is back after [`FAULT_VANISH`], in its power-on state.
fn reappear(shared: &Shared, nic: &Nic, serial: u64) -> io::Result<()> {
    reset_blocks(shared, nic)?;
    shared
        .bar
        .slice(0, mailbox::BASE)
        .expect("the identity block is inside BAR2")
        .fill(0);
    write_identity(&shared.bar, serial);
    shared.irq.mute(false);
    Ok(())
}

/// Returns every block but Identity and Model control to its power-on state,
/// once the QMANs, ports and RDMA steps have stopped: see [`Device::reset`].
fn reset_blocks(shared: &Shared, nic: &Nic) -> io::Result<()> {
    let bar = &shared.bar;
    for ctl in &shared.qmans {
        ctl.halt();
    }
    for core in &shared.dma_cores {
        core.reset();
    }
    // With the QMANs and ports stopped, nothing else writes the blocks.
    nic.reset(|| {
        bar.slice(mailbox::BASE, model_ctl::BASE - mailbox::BASE)
            .expect("the register blocks are inside BAR2")
            .fill(0);
        write_engines(bar);
    });
    // A reset revives a hung firmware.
    let faults = bar.read32(model_ctl::FAULTS);
    bar.write32(model_ctl::FAULTS, faults & !FAULT_HEARTBEAT_STOP);
    shared.sram.discard(0, SRAM_SIZE)?;
    shared.hbm.discard(0, DRAM_SIZE)?;
    bar.discard(DRAM_OFFSET, bar.size() - DRAM_OFFSET)
}

impl Device {
    /// Creates a device named `name` with a BAR2 of `size` bytes (a power
    /// of two, at least [`MIN_SIZE`]), writes its identity and starts its
    /// QMAN and port threads. Its ports are unwired until [`Device::wire`],
    /// [`Device::wire_ports`] or [`Device::attach_tap`].
    pub fn new(name: &str, size: u64, serial: u64, ram: Arc<SharedMem>) -> io::Result<Self> {
        if !size.is_power_of_two() || size < MIN_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("BAR2 size {size:#x} is not a power of two of at least 2 MiB"),
            ));
        }
        let bar = SharedMem::create(&format!("hlsim-{name}"), size)?;
        write_identity(&bar, serial);
        write_engines(&bar);
        let sram = SharedMem::create(&format!("hlsim-{name}-sram"), SRAM_SIZE)?;
        let hbm = SharedMem::create(&format!("hlsim-{name}-hbm"), DRAM_SIZE)?;
        let shared = Arc::new(Shared {
            bar: Arc::new(bar),
            sram,
            hbm,
            ram,
            bus: OnceLock::new(),
            irq: Arc::new(Interrupts::default()),
            sm: SyncManager::default(),
            eq: EventQueue::default(),
            qmans: Default::default(),
            dma_cores: std::array::from_fn(|i| DmaCore::new(i as u32)),
        });
        let nic = Arc::new(Nic::new(name, &shared, serial)?);
        let sensors = Sensors::spawn(name, shared.bar.clone())?;
        let mut device = Self {
            shared,
            threads: Vec::new(),
            stopping: Arc::new(AtomicBool::new(false)),
            nic,
            _sensors: sensors,
        };
        let storm = spawn_faults(
            name,
            device.shared.clone(),
            device.nic.clone(),
            serial,
            device.stopping.clone(),
        )?;
        device.threads.push(storm);
        let hostile = hostile::spawn(name, device.shared.clone(), device.stopping.clone())?;
        device.threads.push(hostile);
        for q in (0..NUM_QMANS).map(qman::queue) {
            let port = match qman::engine(q) {
                (crate::packets::Engine::Nic, p) => Some(device.nic.port(p as usize)),
                _ => None,
            };
            for s in 0..STREAMS {
                let thread = qman::spawn(name, device.shared.clone(), (q, s), port.clone())?;
                device.threads.push(thread);
            }
        }
        Ok(device)
    }

    /// Puts `devices` on one PCI bus: each one's DMA to another's BAR2
    /// lands there (see [`crate::peer`]). Once only; later calls do nothing.
    pub fn join_bus(devices: &[Device]) {
        let bus = Arc::new(Bus::new(
            devices.iter().map(|d| d.shared.bar.clone()).collect(),
        ));
        for d in devices {
            let _ = d.shared.bus.set(bus.clone());
        }
    }

    /// Wires each port of `a` to the same port of `b`.
    pub fn wire(a: &Device, b: &Device) {
        for p in 0..NUM_PORTS {
            Nic::wire(&a.nic, p, &b.nic, p);
        }
    }

    /// Wires port `p` of `a` to port `q` of `b`, another port or another
    /// device's, unwiring the ports they were wired to; neither may be
    /// bridged to a TAP interface.
    pub fn wire_ports(a: &Device, p: usize, b: &Device, q: usize) -> io::Result<()> {
        check_port(p)?;
        check_port(q)?;
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        if std::ptr::eq(a, b) && p == q {
            return invalid("a port cannot be wired to itself");
        }
        if a.nic.tapped(p) || b.nic.tapped(q) {
            return invalid("the port is bridged to a TAP interface");
        }
        Nic::wire(&a.nic, p, &b.nic, q);
        Ok(())
    }

    /// Bridges port `port` to the host TAP interface `ifname`, which is
    /// created if it does not exist; the port's peer, if any, is unwired.
    pub fn attach_tap(&self, port: usize, ifname: &str) -> io::Result<()> {
        check_port(port)?;
        self.nic.attach_tap(port, ifname)
    }

    /// BAR2: registers and DRAM.
    pub fn bar2(&self) -> &SharedMem {
        &self.shared.bar
    }

    /// Publishes `state` in `STATE`.
    pub fn set_state(&self, state: State) {
        self.shared.bar.write32(identity::STATE, state as u32);
    }

    /// Delivers later interrupts to `fds`, indexed by vector.
    pub fn attach(&self, fds: Vec<EventFd>) {
        self.shared.irq.attach(fds);
    }

    /// Drops later interrupts.
    pub fn detach(&self) {
        self.shared.irq.detach();
    }

    /// Returns every block but Identity and Model control to its power-on
    /// state, once the QMANs, ports and RDMA steps have stopped: registers
    /// and DRAM read as zeroes, but for the QMANs' `ENGINE` and the port
    /// EEPROMs. The peers of the ports see their links go down, and their
    /// operations with this device fail. Clears [`FAULT_HEARTBEAT_STOP`].
    pub fn reset(&self) -> io::Result<()> {
        reset_blocks(&self.shared, &self.nic)
    }

    /// Handles `count` rings of doorbell `vector`.
    ///
    /// Returns the control command this completed, if any.
    pub fn doorbell(&self, vector: u32, count: u64) -> io::Result<Option<Completion>> {
        let bar = &self.shared.bar;
        let seen = bar.read32(model_ctl::DOORBELLS).wrapping_add(count as u32);
        bar.write32(model_ctl::DOORBELLS, seen);
        if self.faults() & FAULT_VANISH != 0 {
            return Ok(None);
        }
        match vector {
            VECTOR_CONTROL if self.faults() & FAULT_MAILBOX_HANG == 0 => self.run_mailbox(),
            v if (VECTOR_QMAN0..VECTOR_QMAN0 + NUM_QUEUES as u32).contains(&v) => {
                self.shared.qmans[(v - VECTOR_QMAN0) as usize].ring();
                Ok(None)
            }
            // The internal queues share a doorbell: each looks at its PQ.
            VECTOR_INTERNAL => {
                (0..NUM_QMANS)
                    .filter(|&q| qman::vector(q) == VECTOR_INTERNAL)
                    .for_each(|q| self.shared.qman(q).ring());
                Ok(None)
            }
            v if (VECTOR_PORT0..VECTOR_PORT0 + NUM_PORTS as u32).contains(&v) => {
                self.nic.ring((v - VECTOR_PORT0) as usize);
                Ok(None)
            }
            v if (VECTOR_NIC0..VECTOR_NIC0 + NUM_PORTS as u32).contains(&v) => {
                let q = NIC_QUEUE0 + (v - VECTOR_NIC0) as usize;
                self.shared.qman(q).ring();
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    fn faults(&self) -> u32 {
        self.shared.bar.read32(model_ctl::FAULTS)
    }

    /// Runs the posted command unless it has already completed.
    fn run_mailbox(&self) -> io::Result<Option<Completion>> {
        let bar = &self.shared.bar;
        let seq = bar.read32_acquire(mailbox::CMD_SEQ);
        if seq == bar.read32(mailbox::CMD_DONE_SEQ) {
            return Ok(None);
        }
        let cmd = bar.read32(mailbox::CMD);
        let status = match Opcode::from_cmd(cmd) {
            Some(Opcode::Reset) => {
                self.reset()?;
                // The reset itself stays posted, so that it reads as completed.
                bar.write32(mailbox::CMD_SEQ, seq);
                Status::Ok
            }
            Some(Opcode::DmaSelftest) => self.dma_selftest(),
            Some(Opcode::QmanReset) => self.qman_reset(),
            Some(Opcode::PortStop) => self.port_stop(),
            Some(Opcode::ConnReset) => self.conn_reset(),
            Some(Opcode::CqReset) => self.cq_reset(),
            Some(Opcode::DramRows) => self.dram_rows(),
            None => Status::BadOpcode,
        };
        bar.write32(mailbox::CMD_STATUS, status as u32);
        bar.write32_release(mailbox::CMD_DONE_SEQ, seq);
        if cmd & CMD_IRQ != 0 {
            self.shared.irq.raise(VECTOR_CONTROL);
        }
        Ok(Some(Completion { cmd, seq, status }))
    }

    /// `DMA_SELFTEST`: guest RAM at `ARG0` to DRAM at `ARG2` to guest RAM at
    /// `ARG1`, `ARG3` bytes. Every range is checked before any byte moves.
    fn dma_selftest(&self) -> Status {
        let [src, dst, dev, size] = self.args();
        if size == 0 || size > SELFTEST_MAX_SIZE {
            return Status::BadSize;
        }
        let ram = &self.shared.ram;
        let (Some(src), Some(dst)) = (ram.slice(src, size), ram.slice(dst, size)) else {
            return Status::BadHostAddr;
        };
        // DRAM runs to the end of BAR2, so a range inside BAR2 past
        // DRAM_OFFSET is inside DRAM.
        let Some(dev) = dev
            .checked_add(DRAM_OFFSET)
            .and_then(|off| self.shared.bar.slice(off, size))
        else {
            return Status::BadDevAddr;
        };
        dev.copy_from(&src);
        if self.faults() & FAULT_SELFTEST_CORRUPT != 0 {
            dev.flip_byte(0);
        }
        dst.copy_from(&dev);
        Status::Ok
    }

    /// `QMAN_RESET`: stops QMAN `ARG0`'s streams and returns its block and
    /// fence counters to their power-on state.
    fn qman_reset(&self) -> Status {
        let [q, ..] = self.args();
        let Some(q) = usize::try_from(q)
            .ok()
            .filter(|&q| qman::index(q).is_some())
        else {
            return Status::BadSize;
        };
        let (shared, bar) = (&self.shared, &self.shared.bar);
        shared.qman(q).halt();
        let block = qman_regs::block(q);
        bar.slice(block, qman_regs::SIZE)
            .expect("the QMAN blocks are inside BAR2")
            .fill(0);
        write_engine(bar, q);
        shared.sm.reset_fences(bar, q);
        Status::Ok
    }

    /// `PORT_STOP`: clears port `ARG0`'s `ENABLE` and returns once the port
    /// no longer touches guest RAM, its backlog dropped and its link down.
    fn port_stop(&self) -> Status {
        let [p, ..] = self.args();
        let Some(p) = present(p) else {
            return Status::BadSize;
        };
        self.nic.stop(p);
        Status::Ok
    }

    /// `CONN_RESET`: zeroes both contexts of connection `ARG1` of port
    /// `ARG0` and returns once no RDMA step uses them.
    fn conn_reset(&self) -> Status {
        let [p, c, ..] = self.args();
        match (present(p), below(c, rdma::NUM_CONNS)) {
            (Some(p), Some(c)) => self.nic.conn_reset(p, c),
            _ => return Status::BadSize,
        }
        Status::Ok
    }

    /// `CQ_RESET`: zeroes the registers of completion queue `ARG1` of port
    /// `ARG0` and returns once no RDMA step writes the queue.
    fn cq_reset(&self) -> Status {
        let [p, k, ..] = self.args();
        match (present(p), below(k, rdma::NUM_CQS)) {
            (Some(p), Some(k)) => self.nic.cq_reset(p, k),
            _ => return Status::BadSize,
        }
        Status::Ok
    }

    /// `DRAM_ROWS`: the device memory rows pending replacement in `ARG0`,
    /// those replaced in `ARG1`. The model's memory has no bad rows: both
    /// are 0. Answered here, in the thread the doorbell woke, with no
    /// engine: the device's cheapest round trip.
    fn dram_rows(&self) -> Status {
        let bar = &self.shared.bar;
        bar.write64(mailbox::ARG0_LO, 0);
        bar.write64(mailbox::ARG0_LO + 8, 0);
        Status::Ok
    }

    fn args(&self) -> [u64; mailbox::NUM_ARGS] {
        std::array::from_fn(|n| self.shared.bar.read64(mailbox::ARG0_LO + 8 * n as u64))
    }
}

/// Port `arg`, if it is in `PORT_MASK`.
fn present(arg: u64) -> Option<usize> {
    let p = u32::try_from(arg).ok()?;
    (PORT_MASK.checked_shr(p)? & 1 != 0).then_some(p as usize)
}

/// `arg`, if it is below `limit`.
fn below(arg: u64, limit: usize) -> Option<usize> {
    usize::try_from(arg).ok().filter(|&n| n < limit)
}

impl Drop for Device {
    /// Stops the QMAN and storm threads.
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        for ctl in &self.shared.qmans {
            ctl.exit();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs::{PORT_ENABLE, PORT_LOOPBACK, eq, mmu, nic, sync_manager};
    use std::os::unix::fs::FileExt;
    use tempfile::NamedTempFile;
    use vmm_sys_util::eventfd::EFD_NONBLOCK;

    const RAM_SIZE: u64 = 4 << 20;
    const BAR_SIZE: u64 = 4 << 20;
    const DRAM_SIZE: u64 = BAR_SIZE - DRAM_OFFSET;
    const MIB: u64 = 1 << 20;

    struct Fixture {
        dev: Device,
        ram: Arc<SharedMem>,
        irq0: EventFd,
        _ram_file: NamedTempFile,
    }

    fn fixture() -> Fixture {
        let ram_file = NamedTempFile::new().unwrap();
        ram_file.as_file().set_len(RAM_SIZE).unwrap();
        let ram = Arc::new(SharedMem::open(ram_file.path()).unwrap());
        let dev = Device::new("test", BAR_SIZE, 0x1234_5678_9abc_def0, ram.clone()).unwrap();
        let irq0 = EventFd::new(EFD_NONBLOCK).unwrap();
        dev.attach(vec![irq0.try_clone().unwrap()]);
        Fixture {
            dev,
            ram,
            irq0,
            _ram_file: ram_file,
        }
    }

    fn pattern(len: u64, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 8) as u8)
            .collect()
    }

    impl Fixture {
        /// Posts `cmd` with `args` as sequence `seq` and rings vector 0.
        fn post(&self, cmd: u32, seq: u32, args: [u64; 4]) -> Option<Completion> {
            let bar = self.dev.bar2();
            for (n, arg) in args.into_iter().enumerate() {
                bar.write64(mailbox::ARG0_LO + 8 * n as u64, arg);
            }
            bar.write32(mailbox::CMD, cmd);
            bar.write32(mailbox::CMD_SEQ, seq);
            self.dev.doorbell(VECTOR_CONTROL, 1).unwrap()
        }

        /// Posts a command and checks that it completed with `status`.
        fn run(&self, cmd: u32, seq: u32, args: [u64; 4]) -> Status {
            let done = self.post(cmd, seq, args).expect("command did not complete");
            let bar = self.dev.bar2();
            assert_eq!((done.cmd, done.seq), (cmd, seq));
            assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), seq);
            assert_eq!(bar.read32(mailbox::CMD_STATUS), done.status as u32);
            done.status
        }

        fn selftest(&self, seq: u32, src: u64, dst: u64, dev: u64, size: u64) -> Status {
            self.run(0x02, seq, [src, dst, dev, size])
        }

        fn ram_bytes(&self, off: u64, len: u64) -> Vec<u8> {
            let mut buf = vec![0; len as usize];
            self.ram.file().read_at(&mut buf, off).unwrap();
            buf
        }

        /// Whether vector 0 was raised since the last call.
        fn irq0(&self) -> bool {
            self.irq0.read().is_ok()
        }

        fn dram_bytes(&self, off: u64, len: u64) -> Vec<u8> {
            let mut buf = vec![0; len as usize];
            self.dev
                .bar2()
                .file()
                .read_at(&mut buf, DRAM_OFFSET + off)
                .unwrap();
            buf
        }
    }

    #[test]
    fn identity() {
        let f = fixture();
        let bar = f.dev.bar2();
        assert_eq!(bar.size(), BAR_SIZE);
        let mut raw = [0; 4];
        bar.file().read_at(&mut raw, 0).unwrap();
        assert_eq!(&raw, b"HLSM");
        assert_eq!(bar.read32(identity::VERSION), 0x0001_0000);
        assert_eq!(bar.read32(identity::CAPS), 0xf);
        assert_eq!(bar.read32(identity::CHIP_ID) & 0xffff, 0x1000);
        assert_eq!(bar.read32(identity::SERIAL_LO), 0x9abc_def0);
        assert_eq!(bar.read32(identity::SERIAL_HI), 0x1234_5678);
        assert_eq!(bar.read32(identity::DRAM_BASE), 0x10_0000);
        // GAUDI's 32 GiB of HBM less the 512 MiB below DRAM_BASE_ADDR_USER.
        assert_eq!(bar.read64(identity::DRAM_SIZE_LO), 0x7_e000_0000);
        assert_eq!(bar.read32(identity::NUM_VECTORS), 64);
        assert_eq!(bar.read32(identity::MODEL_PEER), u32::from(MODEL_PEER));
        assert_eq!(bar.read32(identity::STATE), State::Ready as u32);
        assert_eq!(bar.read32(identity::NUM_QUEUES), 4);
        assert_eq!(bar.read32(identity::CLK_CUR_MHZ), 1500);
        assert_eq!(bar.read32(identity::CLK_MAX_MHZ), 2200);
        assert_eq!(bar.read32(identity::PORT_MASK), 0x3ff);
        assert_eq!(bar.read32(identity::RDMA_CONNS), 64);
        assert_eq!(bar.read32(identity::RDMA_CQS), 16);
        assert_eq!(bar.read32(identity::QUEUE_MASK), 0x0fff_ffff);
        for port in 0..10 {
            let mut mac = [0; 8];
            bar.file()
                .read_at(&mut mac, identity::mac_lo(port))
                .unwrap();
            assert_eq!(mac, [0x02, 0x9a, 0xbc, 0xde, 0xf0, port as u8, 0, 0]);
        }
        for off in (identity::mac_lo(10)..mailbox::BASE).step_by(4) {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
        // DMA 0, 1, TPC 0, 1, DMA 2-7, TPC 2-7, then after the NIC queues
        // MME 0, 1.
        let engines = [0x000, 0x100, 0x001, 0x101]
            .into_iter()
            .chain((2..8).map(|i| i << 8))
            .chain((2..8).map(|i| i << 8 | 1));
        let every_stream = |q: usize, want: u32| {
            for s in 0..STREAMS {
                let engine = bar.read32(qman_regs::stream(q, s) + qman_regs::ENGINE);
                assert_eq!(engine, want, "queue {q} stream {s}");
            }
        };
        for (q, want) in engines.enumerate() {
            every_stream(q, want);
        }
        for (q, want) in [(26, 0x003), (27, 0x103)] {
            every_stream(q, want);
        }
        for p in 0..NUM_PORTS {
            // Port p's NIC queue, 16 + p; stream 3 is 0x300 into the block.
            let engine = bar.read32(0x5000 + 0x400 * p as u64 + 0x300 + qman_regs::ENGINE);
            assert_eq!(engine, 2 | (p as u32) << 8, "port {p}");
        }
        for off in (mailbox::BASE..0x100000).step_by(4) {
            let eeprom = (0x30000..0x32800).contains(&off);
            let engine = off % qman_regs::STREAM_SIZE == qman_regs::ENGINE
                && (0x1000..0x8000).contains(&off);
            // The sensors' thread writes its block from the start.
            let sensor = (crate::regs::sensors::BASE
                ..crate::regs::sensors::BASE + crate::regs::sensors::SIZE)
                .contains(&off);
            if !eeprom && !engine && !sensor {
                assert_eq!(bar.read32(off), 0, "register {off:#x}");
            }
        }
    }

    #[test]
    fn macs_are_unique_per_device_and_port() {
        assert_eq!(mac_address(0x1_0000_0001, 9), [2, 0, 0, 0, 1, 9]);
        assert_ne!(mac_address(1, 0), mac_address(2, 0));
        assert_ne!(mac_address(1, 0), mac_address(1, 1));
        assert_eq!(mac_address(1, 0)[0] & 3, 2, "unicast, locally administered");
    }

    #[test]
    fn bad_sizes_are_refused() {
        let ram = fixture().ram;
        for size in [0, MIN_SIZE / 2, MIN_SIZE + 4096, 3 << 20] {
            assert!(
                Device::new("bad", size, 1, ram.clone()).is_err(),
                "size {size:#x}"
            );
        }
        let dev = Device::new("big", 1 << 34, 1, ram).unwrap();
        assert_eq!(
            dev.bar2().read64(identity::DRAM_SIZE_LO),
            crate::space::DRAM_SIZE
        );
    }

    #[test]
    fn selftest_copies_through_dram() {
        let f = fixture();
        let data = pattern(MIB, 3);
        f.ram.file().write_at(&data, 0x1000).unwrap();
        assert_eq!(f.selftest(1, 0x1000, 0x20_0000, 0x3000, MIB), Status::Ok);
        assert_eq!(f.ram_bytes(0x20_0000, MIB), data);
        assert_eq!(f.dram_bytes(0x3000, MIB), data);
        assert_eq!(f.dram_bytes(0, 0x3000), vec![0; 0x3000]);

        // Unaligned, one byte, and up to the very end of RAM and DRAM.
        let small = pattern(333, 9);
        f.ram.file().write_at(&small, 5).unwrap();
        assert_eq!(
            f.selftest(2, 5, RAM_SIZE - 333, DRAM_SIZE - 333, 333),
            Status::Ok
        );
        assert_eq!(f.ram_bytes(RAM_SIZE - 333, 333), small);
        assert_eq!(f.selftest(3, 5, 7, DRAM_SIZE - 1, 1), Status::Ok);
        assert_eq!(f.ram_bytes(7, 1), [small[0]]);
    }

    #[test]
    fn selftest_rejects_bad_ranges_before_moving_bytes() {
        let f = fixture();
        let data = pattern(4096, 1);
        f.ram.file().write_at(&data, 0).unwrap();
        let cases = [
            (0, 0x1000, 0, 0, Status::BadSize),
            (0, 0x1000, 0, MIB + 1, Status::BadSize),
            (0, 0x1000, 0, u64::MAX, Status::BadSize),
            (RAM_SIZE, 0x1000, 0, 1, Status::BadHostAddr),
            (RAM_SIZE - 4095, 0x1000, 0, 4096, Status::BadHostAddr),
            (u64::MAX - 10, 0x1000, 0, 4096, Status::BadHostAddr),
            (0, RAM_SIZE - 1, 0, 2, Status::BadHostAddr),
            (0, u64::MAX, 0, 4096, Status::BadHostAddr),
            (0, 0x1000, DRAM_SIZE, 1, Status::BadDevAddr),
            (0, 0x1000, DRAM_SIZE - 4095, 4096, Status::BadDevAddr),
            (
                0,
                0x1000,
                u64::MAX - DRAM_OFFSET + 1,
                4096,
                Status::BadDevAddr,
            ),
            (0, 0x1000, u64::MAX, 4096, Status::BadDevAddr),
        ];
        for (seq, &(src, dst, dev, size, status)) in (1..).zip(&cases) {
            assert_eq!(f.selftest(seq, src, dst, dev, size), status, "case {seq}");
        }
        assert_eq!(f.ram_bytes(0x1000, 4096), vec![0; 4096]);
        assert_eq!(f.dram_bytes(0, 4096), vec![0; 4096]);
        assert_eq!(f.dram_bytes(DRAM_SIZE - 4096, 4096), vec![0; 4096]);
        // The device still serves.
        assert_eq!(f.selftest(100, 0, 0x1000, 0, 4096), Status::Ok);
        assert_eq!(f.ram_bytes(0x1000, 4096), data);
    }

    #[test]
    fn unknown_opcodes() {
        let f = fixture();
        for (seq, cmd) in (1..).zip([0x00, 0x08, 0xff, CMD_IRQ | 0x7f]) {
            assert_eq!(f.run(cmd, seq, [0; 4]), Status::BadOpcode, "cmd {cmd:#x}");
        }
        assert_eq!(f.run(CMD_IRQ | 0x01, 10, [0; 4]), Status::Ok);
    }

    #[test]
    fn dram_rows_answers_zero_with_the_interrupt() {
        let f = fixture();
        assert!(!f.irq0());
        assert_eq!(f.run(CMD_IRQ | 0x07, 1, [5, 6, 7, 8]), Status::Ok);
        assert!(f.irq0());
        let bar = f.dev.bar2();
        assert_eq!(bar.read64(mailbox::ARG0_LO), 0);
        assert_eq!(bar.read64(mailbox::ARG0_LO + 8), 0);
        // The other arguments are left alone.
        assert_eq!(bar.read64(mailbox::ARG0_LO + 16), 7);
        // Without the IRQ bit, no interrupt.
        assert_eq!(f.run(0x07, 2, [1; 4]), Status::Ok);
        assert!(!f.irq0());
    }

    #[test]
    fn qman_reset_checks_the_queue() {
        let f = fixture();
        let bar = f.dev.bar2();
        bar.write32(qman_regs::block(1) + qman_regs::PQ_SIZE, 8);
        bar.write32(qman_regs::stream(1, 3) + qman_regs::PQ_SIZE, 8);
        bar.write32(qman_regs::block(2) + qman_regs::PQ_SIZE, 8);
        for (seq, q) in (1..).zip([28, 1 << 32, u64::MAX]) {
            assert_eq!(f.run(0x03, seq, [q, 0, 0, 0]), Status::BadSize, "queue {q}");
        }
        assert_eq!(f.run(0x03, 10, [1, 0, 0, 0]), Status::Ok);
        // Every stream of the QMAN.
        for s in [0, 3] {
            let stream = qman_regs::stream(1, s);
            assert_eq!(bar.read32(stream + qman_regs::PQ_SIZE), 0);
            assert_eq!(bar.read32(stream + qman_regs::ENGINE), 0x100);
        }
        assert_eq!(bar.read32(qman_regs::block(2) + qman_regs::PQ_SIZE), 8);
    }

    #[test]
    fn port_stop_checks_the_port() {
        let f = fixture();
        let bar = f.dev.bar2();
        let (ctl, max_frame) = (nic::block(9) + nic::CTL, nic::block(9) + nic::MAX_FRAME);
        let other = nic::block(0) + nic::CTL;
        bar.write32(ctl, PORT_ENABLE | PORT_LOOPBACK);
        bar.write32(max_frame, 1500);
        bar.write32(other, PORT_ENABLE);
        for (seq, p) in (1..).zip([10, 31, 32, 64, 1 << 32 | 9, u64::MAX]) {
            assert_eq!(f.run(0x04, seq, [p, 0, 0, 0]), Status::BadSize, "port {p}");
        }
        assert_eq!(bar.read32(ctl), PORT_ENABLE | PORT_LOOPBACK);
        // ENABLE goes, LOOPBACK and the rest stay; other ports are untouched.
        assert_eq!(f.run(CMD_IRQ | 0x04, 10, [9, 0, 0, 0]), Status::Ok);
        assert!(f.irq0());
        assert_eq!(bar.read32(ctl), PORT_LOOPBACK);
        assert_eq!(bar.read32(max_frame), 1500);
        assert_eq!(bar.read32(other), PORT_ENABLE);
        // Stopping a stopped port is harmless.
        assert_eq!(f.run(0x04, 11, [9, 0, 0, 0]), Status::Ok);
        assert_eq!(bar.read32(ctl), PORT_LOOPBACK);
    }

    #[test]
    fn completion_and_irq_bit() {
        let f = fixture();
        f.post(CMD_IRQ | 0x01, 7, [0; 4]).unwrap();
        assert!(f.irq0());
        f.post(0x01, 8, [0; 4]).unwrap();
        assert!(!f.irq0());
        // Ringing again without a new sequence number does nothing.
        f.dev.bar2().write32(mailbox::CMD_STATUS, 0xdead);
        assert_eq!(f.dev.doorbell(VECTOR_CONTROL, 1).unwrap(), None);
        assert_eq!(f.dev.bar2().read32(mailbox::CMD_STATUS), 0xdead);
        // Nor does a reserved vector, nor the zero sequence after power-on.
        f.dev.bar2().write32(mailbox::CMD_SEQ, 9);
        assert_eq!(f.dev.doorbell(1, 1).unwrap(), None);
        assert_eq!(f.dev.doorbell(31, 1).unwrap(), None);
        assert_eq!(fixture().dev.doorbell(VECTOR_CONTROL, 1).unwrap(), None);
    }

    #[test]
    fn reset_command() {
        let f = fixture();
        let bar = f.dev.bar2();
        f.ram.file().write_at(&pattern(8192, 5), 0).unwrap();
        assert_eq!(f.selftest(1, 0, 0x4000, DRAM_SIZE - 8192, 8192), Status::Ok);
        bar.write32(model_ctl::FAULTS, FAULT_SELFTEST_CORRUPT);
        let doorbells = bar.read32(model_ctl::DOORBELLS);

        // Registers of every block, and unassigned ones between them (in
        // the sensors block one the sensors thread does not rewrite).
        let offs = [
            mmu::ROOT_LO,
            eq::EQ_LOST,
            0x40c,
            qman_regs::block(3),
            0x1ffc,
            sync_manager::BASE + 0xfffc,
            0x2_0000,
            model_ctl::BASE - 4,
        ];
        for off in offs {
            bar.write32(off, 0x55);
        }
        let done = f.post(CMD_IRQ | 0x01, 2, [1, 2, 3, 4]).unwrap();
        assert_eq!(done.status, Status::Ok);
        assert!(f.irq0());
        for off in offs {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
        assert_eq!(bar.read32(qman_regs::block(3) + qman_regs::ENGINE), 0x101);
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), 2);
        assert_eq!(bar.read32(mailbox::CMD_STATUS), 0);
        assert_eq!(bar.read32(mailbox::CMD), 0);
        for off in (mailbox::ARG0_LO..mailbox::BASE + mailbox::SIZE).step_by(4) {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
        assert_eq!(f.dram_bytes(DRAM_SIZE - 8192, 8192), vec![0; 8192]);
        assert_eq!(bar.read32(identity::MAGIC), MAGIC_HLSM);
        assert_eq!(bar.read32(identity::SERIAL_LO), 0x9abc_def0);
        assert_eq!(bar.read32(model_ctl::FAULTS), FAULT_SELFTEST_CORRUPT);
        assert_eq!(bar.read32(model_ctl::DOORBELLS), doorbells + 1);
        // Guest RAM is not the device's to reset.
        assert_eq!(f.ram_bytes(0x4000, 8192), pattern(8192, 5));
        // The spurious ring of a reset command does not run it again.
        assert_eq!(f.dev.doorbell(VECTOR_CONTROL, 1).unwrap(), None);
    }

    #[test]
    fn disconnect_reset_clears_the_mailbox() {
        let f = fixture();
        let bar = f.dev.bar2();
        assert_eq!(f.run(0x02, 5, [0, 0, 0, 0]), Status::BadSize);
        bar.write32(model_ctl::FAULTS, FAULT_MAILBOX_HANG);
        f.dev.reset().unwrap();
        for off in (mailbox::BASE..mailbox::BASE + mailbox::SIZE).step_by(4) {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
        assert_eq!(bar.read32(model_ctl::FAULTS), FAULT_MAILBOX_HANG);
    }

    #[test]
    fn fault_selftest_corrupt() {
        let f = fixture();
        let data = pattern(4096, 2);
        f.ram.file().write_at(&data, 0).unwrap();
        f.dev
            .bar2()
            .write32(model_ctl::FAULTS, FAULT_SELFTEST_CORRUPT);
        assert_eq!(f.selftest(1, 0, 0x10000, 0, 4096), Status::Ok);
        let out = f.ram_bytes(0x10000, 4096);
        let diffs = out.iter().zip(&data).filter(|(a, b)| a != b).count();
        assert_eq!(diffs, 1);
        f.dev.bar2().write32(model_ctl::FAULTS, 0);
        assert_eq!(f.selftest(2, 0, 0x10000, 0, 4096), Status::Ok);
        assert_eq!(f.ram_bytes(0x10000, 4096), data);
    }

    #[test]
    fn fault_irq_storm_raises_every_vector_but_control() {
        let f = fixture();
        let fds: Vec<_> = (0..NUM_VECTORS)
            .map(|_| EventFd::new(EFD_NONBLOCK).unwrap())
            .collect();
        f.dev
            .attach(fds.iter().map(|fd| fd.try_clone().unwrap()).collect());
        thread::sleep(STORM_PERIOD * 20);
        assert!(fds.iter().all(|fd| fd.read().is_err()), "no storm yet");
        f.dev.bar2().write32(model_ctl::FAULTS, FAULT_IRQ_STORM);
        thread::sleep(STORM_PERIOD * 50);
        f.dev.bar2().write32(model_ctl::FAULTS, 0);
        thread::sleep(STORM_PERIOD * 20);
        assert!(fds[VECTOR_CONTROL as usize].read().is_err());
        for fd in &fds[VECTOR_CONTROL as usize + 1..] {
            assert!(fd.read().unwrap() > 0);
        }
        thread::sleep(STORM_PERIOD * 20);
        assert!(fds.iter().all(|fd| fd.read().is_err()), "the storm ended");
    }

    #[test]
    fn fault_mailbox_hang_and_doorbell_count() {
        let f = fixture();
        let bar = f.dev.bar2();
        bar.write32(model_ctl::FAULTS, FAULT_MAILBOX_HANG);
        assert_eq!(f.post(CMD_IRQ | 0x01, 1, [0; 4]), None);
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), 0);
        assert_eq!(f.dev.doorbell(3, 5).unwrap(), None);
        assert_eq!(bar.read32(model_ctl::DOORBELLS), 6);
        bar.write32(model_ctl::FAULTS, 0);
        assert_eq!(
            f.dev.doorbell(VECTOR_CONTROL, 1).unwrap().map(|c| c.seq),
            Some(1)
        );
        assert_eq!(bar.read32(model_ctl::DOORBELLS), 7);
        bar.write32(model_ctl::DOORBELLS, u32::MAX);
        f.dev.doorbell(1, 3).unwrap();
        assert_eq!(bar.read32(model_ctl::DOORBELLS), 2);
    }

    #[test]
    fn fault_vanish_and_back() {
        let f = fixture();
        let bar = f.dev.bar2();
        let fds: Vec<_> = (0..NUM_VECTORS)
            .map(|_| EventFd::new(EFD_NONBLOCK).unwrap())
            .collect();
        f.dev
            .attach(fds.iter().map(|fd| fd.try_clone().unwrap()).collect());
        bar.write32(model_ctl::FAULTS, FAULT_VANISH);
        let gone = || bar.read32(identity::MAGIC) == u32::MAX;
        for _ in 0..1000 {
            if gone() {
                break;
            }
            thread::sleep(STORM_PERIOD);
        }
        assert!(gone(), "the registers read all ones");
        thread::sleep(STORM_PERIOD * 20);
        for off in [identity::SERIAL_LO, mailbox::CMD_DONE_SEQ, 0x450, 0x2_0000] {
            assert_eq!(bar.read32(off), u32::MAX, "register {off:#x}");
        }
        // Doorbells are ignored and raise nothing.
        f.post(CMD_IRQ | 0x01, 1, [0; 4]);
        assert!(fds.iter().all(|fd| fd.read().is_err()));
        bar.write32(model_ctl::FAULTS, 0);
        for _ in 0..1000 {
            if bar.read32(identity::MAGIC) == MAGIC_HLSM {
                break;
            }
            thread::sleep(STORM_PERIOD);
        }
        thread::sleep(STORM_PERIOD * 20);
        assert_eq!(bar.read32(identity::MAGIC), MAGIC_HLSM);
        assert_eq!(bar.read32(identity::SERIAL_LO), 0x9abc_def0);
        assert_eq!(bar.read32(identity::mac_hi(11)), 0);
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), 0);
        assert_eq!(f.run(CMD_IRQ | 0x01, 2, [0; 4]), Status::Ok);
        assert!(fds[VECTOR_CONTROL as usize].read().is_ok());
    }

    #[test]
    fn reset_clears_heartbeat_stop() {
        let f = fixture();
        let bar = f.dev.bar2();
        bar.write32(
            model_ctl::FAULTS,
            FAULT_HEARTBEAT_STOP | FAULT_SELFTEST_CORRUPT,
        );
        assert_eq!(f.run(0x01, 1, [0; 4]), Status::Ok);
        assert_eq!(bar.read32(model_ctl::FAULTS), FAULT_SELFTEST_CORRUPT);
    }
}
