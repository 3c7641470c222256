// SPDX-License-Identifier: GPL-2.0

//! hlsim as QEMU sees it: a fake QEMU connects to a served device over a
//! real UNIX socket, receives the ivshmem setup messages and descriptors,
//! rings doorbells and waits for interrupts.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hlsim::device::Device;
use hlsim::mem::SharedMem;
use hlsim::regs::{
    CMD_IRQ, FAULT_MAILBOX_HANG, FAULT_SELFTEST_CORRUPT, eq, identity, mailbox, model_ctl, qman,
    sync_manager,
};
use hlsim::server::Server;
use tempfile::TempDir;
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

/// Failure bound of every wait.
const TIMEOUT: Duration = Duration::from_secs(10);
const RAM_SIZE: u64 = 16 << 20;
const BAR_SIZE: u64 = 4 << 20;
const DRAM: u64 = 0x10_0000;
const VECTORS: usize = 64;

const RESET: u32 = 0x01;
const SELFTEST: u32 = 0x02;
const OK: u32 = 0;
const BAD_OPCODE: u32 = 1;
const BAD_HOST_ADDR: u32 = 2;
const BAD_DEV_ADDR: u32 = 3;
const BAD_SIZE: u32 = 4;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

/// Guest RAM: a file in a temporary directory that also holds sockets.
struct Host {
    dir: TempDir,
    ram: File,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ram = File::create_new(dir.path().join("ram")).unwrap();
        ram.set_len(RAM_SIZE).unwrap();
        Self { dir, ram }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ram_bytes(&self, off: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.ram.read_exact_at(&mut buf, off).unwrap();
        buf
    }
}

/// One device served by a [`Server`] thread, as `hlsim` runs it.
struct Model {
    host: Host,
    sock: PathBuf,
    stop: EventFd,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Model {
    fn start() -> Self {
        Self::start_at(Host::new(), "dev0.sock")
    }

    fn start_at(host: Host, sock: &str) -> Self {
        let sock = host.path(sock);
        let ram = Arc::new(SharedMem::open(&host.path("ram")).unwrap());
        let device = Device::new("dev0", BAR_SIZE, 0xfeed_0000_0001, ram).unwrap();
        let stop = EventFd::new(0).unwrap();
        let server = Server::bind("dev0".into(), &sock, device, stop.try_clone().unwrap()).unwrap();
        let thread = Some(thread::spawn(move || server.run()));
        Self {
            host,
            sock,
            stop,
            thread,
        }
    }

    fn connect(&self) -> Qemu {
        Qemu::connect(&self.sock)
    }

    /// Stops the server and returns what its loop returned.
    fn stop(&mut self) -> io::Result<()> {
        self.stop.write(1).unwrap();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        if self.thread.is_some() && !thread::panicking() {
            self.stop().unwrap();
        }
    }
}

/// Receives one 8-byte message and the descriptor it carries, if any.
fn recv(stream: &UnixStream) -> (i64, Option<File>) {
    let mut buf = [0; 8];
    // A stop and continue of the process interrupts a receive with a timeout.
    let (len, fd) = loop {
        match stream.recv_with_fd(&mut buf) {
            Err(e) if e.errno() == libc::EINTR => continue,
            res => break res.unwrap(),
        }
    };
    assert_eq!(len, 8, "short or missing message");
    (i64::from_le_bytes(buf), fd)
}

/// Waits up to `timeout` for `fd` to be readable.
fn readable(fd: &impl AsRawFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
    assert!(n >= 0, "poll: {}", io::Error::last_os_error());
    n == 1
}

/// Polls `cond` until it holds; panics after [`TIMEOUT`].
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// The QEMU side of one connection.
struct Qemu {
    stream: UnixStream,
    bar2: File,
    doorbells: Vec<File>,
    interrupts: Vec<File>,
}

/// Hangs up the socket itself, not just this descriptor: a process that
/// another test thread is forking may hold a copy of it until its exec.
impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl Qemu {
    /// Connects and checks the setup messages, in the order of the spec.
    fn connect(sock: &Path) -> Self {
        let stream = UnixStream::connect(sock).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let (version, fd) = recv(&stream);
        assert_eq!((version, fd.is_none()), (0, true), "protocol version");
        let (id, fd) = recv(&stream);
        assert_eq!((id, fd.is_none()), (1, true), "client peer id");
        let (shm, bar2) = recv(&stream);
        assert_eq!(shm, -1, "shared memory message");
        let bar2 = bar2.expect("shared memory fd");
        let peer_fds = |peer: i64| -> Vec<File> {
            (0..VECTORS)
                .map(|v| match recv(&stream) {
                    (id, Some(fd)) if id == peer => fd,
                    (id, fd) => panic!("vector {v}: peer {id}, fd {fd:?}; wanted peer {peer}"),
                })
                .collect()
        };
        let doorbells = peer_fds(0);
        let interrupts = peer_fds(1);
        Self {
            stream,
            bar2,
            doorbells,
            interrupts,
        }
    }

    fn read32(&self, off: u64) -> u32 {
        let mut buf = [0; 4];
        self.bar2.read_exact_at(&mut buf, off).unwrap();
        u32::from_le_bytes(buf)
    }

    fn write32(&self, off: u64, val: u32) {
        self.bar2.write_all_at(&val.to_le_bytes(), off).unwrap();
    }

    fn ring(&self, vector: usize) {
        (&self.doorbells[vector])
            .write_all(&1u64.to_le_bytes())
            .unwrap();
    }

    /// Posts a command as the driver does and rings vector 0.
    fn post(&self, cmd: u32, seq: u32, args: [u64; 4]) {
        for (n, arg) in (0..).zip(args) {
            self.bar2
                .write_all_at(&arg.to_le_bytes(), mailbox::ARG0_LO + 8 * n)
                .unwrap();
        }
        self.write32(mailbox::CMD, cmd);
        self.write32(mailbox::CMD_SEQ, seq);
        self.ring(0);
    }

    /// Runs a command with an interrupt on completion and returns its status.
    fn run(&self, cmd: u32, seq: u32, args: [u64; 4]) -> u32 {
        self.post(cmd | CMD_IRQ, seq, args);
        assert_eq!(self.wait_interrupt(0), 1);
        assert_eq!(self.read32(mailbox::CMD_DONE_SEQ), seq);
        self.read32(mailbox::CMD_STATUS)
    }

    /// Waits for interrupt `vector` and returns how many times it was raised.
    fn wait_interrupt(&self, vector: usize) -> u64 {
        assert!(
            readable(&self.interrupts[vector], TIMEOUT),
            "no interrupt {vector}"
        );
        let mut buf = [0; 8];
        (&self.interrupts[vector]).read_exact(&mut buf).unwrap();
        u64::from_le_bytes(buf)
    }

    fn interrupt_pending(&self, vector: usize) -> bool {
        readable(&self.interrupts[vector], Duration::ZERO)
    }
}

#[test]
fn setup_messages_and_identity() {
    let model = Model::start();
    let qemu = model.connect();
    // Nothing follows the setup messages.
    qemu.stream.set_nonblocking(true).unwrap();
    let err = (&qemu.stream).read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    assert_eq!(qemu.bar2.metadata().unwrap().len(), BAR_SIZE);
    let mut magic = [0; 4];
    qemu.bar2.read_exact_at(&mut magic, 0).unwrap();
    assert_eq!(&magic, b"HLSM");
    assert_eq!(qemu.read32(identity::VERSION), 1 << 16);
    assert_eq!(qemu.read32(identity::CAPS), 0xf);
    assert_eq!(qemu.read32(identity::CHIP_ID), 0x1000);
    assert_eq!(qemu.read32(identity::SERIAL_LO), 1);
    assert_eq!(qemu.read32(identity::SERIAL_HI), 0xfeed);
    assert_eq!(qemu.read32(identity::DRAM_BASE), DRAM as u32);
    // GAUDI's 32 GiB of HBM from DRAM_BASE_ADDR_USER on.
    assert_eq!(qemu.read32(identity::DRAM_SIZE_LO), 0xe000_0000);
    assert_eq!(qemu.read32(identity::DRAM_SIZE_HI), 7);
    assert_eq!(qemu.read32(identity::NUM_VECTORS), 64);
    assert_eq!(qemu.read32(identity::MODEL_PEER), 0);
    assert_eq!(qemu.read32(identity::STATE), 1);
}

#[test]
fn selftest_over_doorbell_and_interrupt() {
    let model = Model::start();
    let qemu = model.connect();
    let data = pattern(1 << 20, 4);
    model.host.ram.write_all_at(&data, 0x10_0000).unwrap();
    assert_eq!(
        qemu.run(SELFTEST, 1, [0x10_0000, 0x30_0003, 0x1_0000, 1 << 20]),
        OK
    );
    assert_eq!(model.host.ram_bytes(0x30_0003, 1 << 20), data);
    let mut dram = vec![0; 1 << 20];
    qemu.bar2.read_exact_at(&mut dram, DRAM + 0x1_0000).unwrap();
    assert_eq!(dram, data);
    assert_eq!(qemu.read32(model_ctl::DOORBELLS), 1);
}

#[test]
fn interrupts_only_when_asked() {
    let model = Model::start();
    let qemu = model.connect();
    qemu.post(RESET, 1, [0; 4]);
    wait_for("command 1", || qemu.read32(mailbox::CMD_DONE_SEQ) == 1);
    qemu.ring(5);
    qemu.ring(31);
    // Handled in order: no interrupt can be left over from the above.
    assert_eq!(qemu.run(RESET, 2, [0; 4]), OK);
    assert_eq!(qemu.read32(model_ctl::DOORBELLS), 4);
    assert!((0..VECTORS).all(|v| !qemu.interrupt_pending(v)));
}

#[test]
fn bad_commands_fail_and_the_model_keeps_serving() {
    let model = Model::start();
    let qemu = model.connect();
    let dram_size = BAR_SIZE - DRAM;
    let cases = [
        (0x00, [0; 4], BAD_OPCODE),
        (0x7f, [0; 4], BAD_OPCODE),
        (SELFTEST, [0, 0, 0, 0], BAD_SIZE),
        (SELFTEST, [0, 0, 0, (1 << 20) + 1], BAD_SIZE),
        (SELFTEST, [RAM_SIZE, 0, 0, 1], BAD_HOST_ADDR),
        (SELFTEST, [0, RAM_SIZE - 8, 0, 16], BAD_HOST_ADDR),
        (SELFTEST, [u64::MAX - 7, 0, 0, 16], BAD_HOST_ADDR),
        (SELFTEST, [0, 0, dram_size, 1], BAD_DEV_ADDR),
        (SELFTEST, [0, 0, u64::MAX - 3, 16], BAD_DEV_ADDR),
    ];
    for (seq, (cmd, args, status)) in (1..).zip(cases) {
        assert_eq!(qemu.run(cmd, seq, args), status, "command {seq}");
    }
    model.host.ram.write_all_at(&pattern(4096, 8), 0).unwrap();
    assert_eq!(
        qemu.run(SELFTEST, 100, [0, 0x2000, dram_size - 4096, 4096]),
        OK
    );
    assert_eq!(model.host.ram_bytes(0x2000, 4096), pattern(4096, 8));
}

#[test]
fn fault_injection() {
    let model = Model::start();
    let qemu = model.connect();
    let data = pattern(4096, 1);
    model.host.ram.write_all_at(&data, 0).unwrap();

    qemu.write32(model_ctl::FAULTS, FAULT_SELFTEST_CORRUPT);
    assert_eq!(qemu.run(SELFTEST, 1, [0, 0x1000, 0, 4096]), OK);
    let out = model.host.ram_bytes(0x1000, 4096);
    assert_eq!(out.iter().zip(&data).filter(|(a, b)| a != b).count(), 1);

    qemu.write32(model_ctl::FAULTS, FAULT_MAILBOX_HANG);
    qemu.post(SELFTEST | CMD_IRQ, 2, [0, 0x1000, 0, 4096]);
    wait_for("the doorbell", || qemu.read32(model_ctl::DOORBELLS) == 2);
    assert_eq!(qemu.read32(mailbox::CMD_DONE_SEQ), 1);
    assert!(!qemu.interrupt_pending(0));

    // Once the fault clears, the next ring runs the command still posted.
    qemu.write32(model_ctl::FAULTS, 0);
    qemu.ring(0);
    assert_eq!(qemu.wait_interrupt(0), 1);
    assert_eq!(qemu.read32(mailbox::CMD_DONE_SEQ), 2);
    assert_eq!(model.host.ram_bytes(0x1000, 4096), data);
}

#[test]
fn second_client_is_refused() {
    let model = Model::start();
    let qemu = model.connect();
    let second = UnixStream::connect(&model.sock).unwrap();
    second.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert_eq!(
        (&second).read(&mut [0; 8]).unwrap(),
        0,
        "second client not closed"
    );
    assert_eq!(qemu.run(RESET, 1, [0; 4]), OK);
}

#[test]
fn reconnect_finds_a_reset_device() {
    let model = Model::start();
    let qemu = model.connect();
    model.host.ram.write_all_at(&pattern(4096, 3), 0).unwrap();
    assert_eq!(qemu.run(SELFTEST, 7, [0, 0x1000, 0, 4096]), OK);
    qemu.write32(model_ctl::FAULTS, FAULT_SELFTEST_CORRUPT);
    qemu.write32(mailbox::CMD, 0x55);
    drop(qemu);

    let qemu = model.connect();
    for off in (mailbox::BASE..mailbox::BASE + mailbox::SIZE).step_by(4) {
        assert_eq!(qemu.read32(off), 0, "register {off:#x}");
    }
    let mut dram = vec![0xff; 4096];
    qemu.bar2.read_exact_at(&mut dram, DRAM).unwrap();
    assert_eq!(dram, vec![0; 4096]);
    assert_eq!(qemu.read32(identity::MAGIC), 0x4d53_4c48);
    assert_eq!(qemu.read32(model_ctl::FAULTS), FAULT_SELFTEST_CORRUPT);
    assert_eq!(qemu.read32(model_ctl::DOORBELLS), 1);
    qemu.write32(model_ctl::FAULTS, 0);
    assert_eq!(qemu.run(SELFTEST, 1, [0, 0x2000, 0, 4096]), OK);
    assert_eq!(model.host.ram_bytes(0x2000, 4096), pattern(4096, 3));
}

#[test]
fn stop_detaches_and_removes_the_socket() {
    let mut model = Model::start();
    let qemu = model.connect();
    model.stop().unwrap();
    assert!(!model.sock.exists());
    assert_eq!(qemu.read32(identity::STATE), 0);
    assert_eq!((&qemu.stream).read(&mut [0; 8]).unwrap(), 0);
}

#[test]
fn stale_socket_is_replaced() {
    let host = Host::new();
    drop(UnixListener::bind(host.path("dev0.sock")).unwrap());
    assert!(host.path("dev0.sock").exists());
    let model = Model::start_at(host, "dev0.sock");
    assert_eq!(model.connect().run(RESET, 1, [0; 4]), OK);

    File::create_new(model.host.path("file")).unwrap();
    let ram = Arc::new(SharedMem::open(&model.host.path("ram")).unwrap());
    let device = Device::new("dev1", BAR_SIZE, 2, ram).unwrap();
    let stop = EventFd::new(0).unwrap();
    assert!(Server::bind("dev1".into(), &model.host.path("file"), device, stop).is_err());
    assert!(model.host.path("file").exists());
}

/// Writes `words` little-endian at `off` of `file`.
fn write_words(file: &File, off: u64, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    file.write_all_at(&bytes, off).unwrap();
}

#[test]
fn compute_job_over_doorbells_and_interrupts() {
    let model = Model::start();
    let qemu = model.connect();
    let ram = &model.host.ram;
    let read32 = |off| u32::from_le_bytes(model.host.ram_bytes(off, 4).try_into().unwrap());
    // Event queue: 4 entries at 0x1000. Queue 0: PQ at 0x2000, CQ at 0x3000.
    qemu.write32(eq::EQ_BASE_LO, 0x1000);
    qemu.write32(eq::EQ_SIZE, 4);
    qemu.write32(eq::EQ_CTL, 1);
    let q0 = qman::block(0);
    qemu.write32(q0 + qman::PQ_BASE_LO, 0x2000);
    qemu.write32(q0 + qman::PQ_SIZE, 4);
    qemu.write32(q0 + qman::CQ_BASE_LO, 0x3000);
    qemu.write32(q0 + qman::CQ_SIZE, 4);
    // Message base 1: the SOBs (device address 0x7f_fc4f_2000, GAUDI's).
    qemu.write32(q0 + qman::msg_base(1), 0xfc4f_2000);
    qemu.write32(q0 + qman::msg_base(1) + 4, 0x7f);
    qemu.write32(q0 + qman::CTL, 1);
    // Job 1: memset 256 bytes of DRAM at 0x40 (device address
    // 0x2000_0040) to 0x5a, SOB 3 = 7.
    write_words(
        ram,
        0x4000,
        &[256, 0x0900_0018, 0x5a, 0, 0x2000_0040, 0, 7, 0x0440_000c],
    );
    // Job 2: a NOP, then an unknown opcode.
    write_words(ram, 0x5000, &[0, 0x0a00_0000, 0, 0x1f00_0000]);
    write_words(ram, 0x2000, &[0x4000, 0, 32, 0x11, 0x5000, 0, 16, 0x22]);

    qemu.write32(q0 + qman::PQ_PI, 1);
    qemu.ring(2);
    assert_eq!(qemu.wait_interrupt(2), 1);
    assert_eq!(qemu.read32(q0 + qman::CQ_PI), 1);
    assert_eq!(qemu.read32(q0 + qman::PQ_CI), 1);
    assert_eq!((read32(0x3000), read32(0x3004)), (0x8000_0011, 0));
    let mut dram = vec![0; 258];
    qemu.bar2.read_exact_at(&mut dram, DRAM + 0x3f).unwrap();
    assert_eq!((dram[0], dram[257]), (0, 0));
    assert!(dram[1..257].iter().all(|&b| b == 0x5a));
    assert_eq!(qemu.read32(sync_manager::BASE + sync_manager::sob(3)), 7);

    qemu.write32(q0 + qman::PQ_PI, 2);
    qemu.ring(2);
    assert_eq!(qemu.wait_interrupt(1), 1);
    assert_eq!(qemu.wait_interrupt(2), 1);
    assert_eq!(
        (read32(0x3008), read32(0x300c)),
        (0x8001_0022, 8),
        "BAD_OPCODE at 8"
    );
    assert_eq!(qemu.read32(eq::EQ_PI), 1);
    let event = model.host.ram_bytes(0x1000, 16);
    assert_eq!(event, [1, 0, 0, 0x80, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
    // The QMAN may have found job 2 before its doorbell: it re-reads PQ_PI.
    wait_for("the doorbells", || qemu.read32(model_ctl::DOORBELLS) == 2);
    assert!((0..VECTORS).all(|v| !qemu.interrupt_pending(v)));

    // A disconnect resets the compute blocks.
    drop(qemu);
    let qemu = model.connect();
    for off in (0..qman::SIZE)
        .step_by(4)
        .filter(|&off| off % qman::STREAM_SIZE != qman::ENGINE)
    {
        assert_eq!(qemu.read32(q0 + off), 0, "QMAN register {off:#x}");
    }
    assert_eq!(qemu.read32(q0 + qman::ENGINE), 0);
    assert_eq!(qemu.read32(eq::EQ_PI), 0);
    assert_eq!(qemu.read32(sync_manager::BASE + sync_manager::sob(3)), 0);
}

/// A running `hlsim` binary, killed if a test fails while it runs.
struct Hlsim(Child);

impl Hlsim {
    /// Starts `hlsim` and waits for its ready line.
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hlsim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let hlsim = Self(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line, "hlsim: ready\n");
        hlsim
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(&mut self) -> ExitStatus {
        // SAFETY: kill() only sends a signal to the child this test started.
        assert_eq!(unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "hlsim did not exit");
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Hlsim {
    fn drop(&mut self) {
        if self.0.try_wait().unwrap().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn binary_serves_devices_until_sigterm() {
    let host = Host::new();
    let (ram, a, b) = (host.path("ram"), host.path("a.sock"), host.path("b.sock"));
    let dev_a = format!("sock={}", a.display());
    let dev_b = format!("sock={},size=2M", b.display());
    let mut hlsim = Hlsim::spawn(&[
        "--guest-ram",
        ram.to_str().unwrap(),
        "--device",
        &dev_a,
        "--device",
        &dev_b,
    ]);

    let (qa, qb) = (Qemu::connect(&a), Qemu::connect(&b));
    assert_eq!(qa.bar2.metadata().unwrap().len(), 256 << 20);
    assert_eq!(qb.bar2.metadata().unwrap().len(), 2 << 20);
    assert_eq!(qa.read32(identity::SERIAL_LO), 1);
    assert_eq!(qb.read32(identity::SERIAL_LO), 2);
    host.ram.write_all_at(&pattern(512, 6), 0x100).unwrap();
    assert_eq!(qa.run(SELFTEST, 1, [0x100, 0x1000, 0, 512]), OK);
    assert_eq!(
        qb.run(SELFTEST, 1, [0x1000, 0x2000, (1 << 20) - 512, 512]),
        OK
    );
    assert_eq!(host.ram_bytes(0x2000, 512), pattern(512, 6));

    assert!(hlsim.terminate().success());
    assert!(!a.exists() && !b.exists());
    assert_eq!(qa.read32(identity::STATE), 0);
}

#[test]
fn binary_rejects_bad_setups() {
    let host = Host::new();
    let ram = host.path("ram");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hlsim"))
            .args(args)
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    let sock = format!("sock={}", host.path("s.sock").display());
    assert_eq!(run(&["--guest-ram", ram.to_str().unwrap()]).code(), Some(2));
    assert_eq!(
        run(&["--guest-ram", "/nonexistent/ram", "--device", &sock]).code(),
        Some(1)
    );
    let bad_size = format!("{sock},size=3M");
    assert_eq!(
        run(&["--guest-ram", ram.to_str().unwrap(), "--device", &bad_size]).code(),
        Some(1)
    );
    assert!(!host.path("s.sock").exists());
}

#[test]
fn nic_loopback_frame_over_ivshmem() {
    use hlsim::regs::nic;
    let model = Model::start();
    let qemu = model.connect();
    let (p, vector) = (2, 8);
    let port = |off| nic::block(p) + off;
    let (tx, rx, buf, data) = (0x1000u64, 0x2000u64, 0x3000u64, 0x4000u64);
    let frame = pattern(1514, 6);
    model.host.ram.write_all_at(&frame, data).unwrap();
    let mut desc = [0u8; 16];
    desc[..8].copy_from_slice(&buf.to_le_bytes());
    desc[8..10].copy_from_slice(&2048u16.to_le_bytes());
    model.host.ram.write_all_at(&desc, rx).unwrap();
    desc[..8].copy_from_slice(&data.to_le_bytes());
    desc[8..10].copy_from_slice(&1514u16.to_le_bytes());
    desc[10] = 6;
    model.host.ram.write_all_at(&desc, tx).unwrap();
    qemu.write32(port(nic::TX_BASE_LO), tx as u32);
    qemu.write32(port(nic::TX_SIZE), 2);
    qemu.write32(port(nic::RX_BASE_LO), rx as u32);
    qemu.write32(port(nic::RX_SIZE), 2);
    qemu.write32(port(nic::RX_PI), 1);
    qemu.write32(port(nic::LINK_CFG), 1 << 8);
    // The pattern's destination is no address the port listens to.
    qemu.write32(port(nic::RX_FILTER), 1);
    qemu.write32(port(nic::CTL), 3);
    qemu.ring(vector);
    assert_eq!(qemu.wait_interrupt(vector), 1, "link change");
    assert_eq!(qemu.read32(port(nic::LINK_STATUS)), 1 | 1 << 8);
    qemu.write32(port(nic::TX_PI), 1);
    qemu.ring(vector);
    wait_for("the frame", || qemu.read32(port(nic::RX_CI)) == 1);
    assert!(qemu.wait_interrupt(vector) >= 1);
    assert_eq!(qemu.read32(port(nic::TX_CI)), 1);
    assert_eq!(model.host.ram_bytes(buf, 1514), frame);
    let desc = model.host.ram_bytes(rx, 16);
    assert_eq!(desc[10..16], [0xea, 0x05, 1, 0, 6, 0]);
}
