// SPDX-License-Identifier: GPL-2.0

//! hl-thunk: habanalabs devices from the command line, through libhlthunk.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};
use std::{env, fs};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use hlthunk::collective::AllReduce;
use hlthunk::uapi::{HL_CS_FLAGS_TIMESTAMP, HL_MAX_CB_SIZE};
use hlthunk::{
    CommandBuffer, Connection, Cq, CqeStatus, CsStatus, Device, DeviceMemory, DmabufMap,
    HostBuffer, Job, NicOp, Packet, Peer, Queue, event,
};

/// habanalabs devices from the command line, through libhlthunk.
#[derive(Debug, Parser)]
#[command(
    name = "hl-thunk",
    version,
    after_help = "Sizes take K, M and G suffixes (powers of 1024). MB in bench's output is \
                  10^6 bytes.\nExit status: 0 success, 1 failure, 2 usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Subcommand)]
enum Command {
    /// Shows a device's identity and state
    ///
    /// Device N's identity, memory, status, clocks, idle engines, resets, MAC addresses and
    /// events, from its control node (/dev/hl_controlDN).
    Info {
        /// Device N, /dev/hlN
        #[arg(short, long, value_name = "N", default_value_t = 0)]
        device: u32,
    },
    /// Copies host memory to device memory and back, and checks the copy
    ///
    /// Copies BYTES from host memory to device memory and back with LIN_DMA on queue dma0,
    /// and checks the copy.
    DmaTest {
        /// Device N, /dev/hlN
        #[arg(short, long, value_name = "N", default_value_t = 0)]
        device: u32,
        /// Bytes to copy
        #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_u32_size)]
        size: u32,
    },
    /// Runs a file of packets as one job
    ///
    /// Runs FILE, packets encoded as in the device's spec, as one job on queue Q and waits
    /// for it; an abort is reported with the causes the device counted (HL_INFO_HW_EVENTS).
    Submit {
        /// Device N, /dev/hlN
        #[arg(short, long, value_name = "N", default_value_t = 0)]
        device: u32,
        /// Queue: dma0-dma7, tpc0-tpc7, mme0, mme1, nic0-nic9 or a GAUDI queue id of theirs
        #[arg(long, value_name = "Q", value_parser = parse_queue)]
        queue: Queue,
        /// The submission's timeout, rounded up to seconds (default: the driver's)
        #[arg(long, value_name = "MS")]
        timeout: Option<u64>,
        /// The job's packets
        file: PathBuf,
    },
    /// Moves device memory to another device over RDMA, and checks it
    ///
    /// Connects port P of device N to port P of device M, the other end of its link, and
    /// moves BYTES of random data from N's device memory to M's, K times; checks every copy
    /// byte for byte and prints its time and bandwidth. The ports' interfaces must be up.
    RdmaTransfer {
        /// Device N, the sender
        #[arg(long, value_name = "N", default_value_t = 0)]
        from: u32,
        /// Device M, the receiver (default: 1, or 0 for N = 1)
        #[arg(long, value_name = "M")]
        to: Option<u32>,
        /// Port P
        #[arg(long, value_name = "P", default_value_t = 0)]
        port: u32,
        /// Bytes per transfer
        #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_u32_size)]
        size: u32,
        /// A NIC_WRITE into a window, or a NIC_SEND into a buffer M posted with NIC_RECV
        #[arg(long, value_enum, default_value_t = RdmaOp::Write)]
        op: RdmaOp,
        /// Transfers
        #[arg(long, value_name = "K", default_value_t = 1, value_parser = parse_count)]
        iterations: u32,
    },
    /// Moves device memory between two devices through a dma-buf, and checks it
    ///
    /// Device N exports BYTES of its memory as a dma-buf (HL_MEM_OP_EXPORT_DMABUF_FD) and
    /// device M imports it (HL_MEM_OP_IMPORT_DMABUF_FD); then, K times, M's DMA engine writes
    /// random data from M's memory into N's and reads other data of N's back, without the
    /// host; both are checked byte for byte against what N's and M's memory hold. With
    /// --mmap, the process also maps the dma-buf (mmap of its descriptor) and checks the
    /// CPU's view: M's write read back through the mapping, and data written through the
    /// mapping read by M's DMA engine. With --stream, M only writes into N's memory,
    /// unchecked, until a copy fails (at most K copies); it fails if one did, and with
    /// --mmap, unless the mapping then faults (SIGBUS, in a child process) and a new mmap
    /// is refused.
    DmabufTransfer {
        /// Device N, the exporter
        #[arg(long, value_name = "N", default_value_t = 0)]
        from: u32,
        /// Device M, the importer (default: 1, or 0 for N = 1)
        #[arg(long, value_name = "M")]
        to: Option<u32>,
        /// Bytes per transfer
        #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_u32_size)]
        size: u32,
        /// Transfers each way
        #[arg(long, value_name = "K", default_value_t = 1, value_parser = parse_count)]
        iterations: u32,
        /// Copy into the exporter until a copy fails, at most K times (for revocation tests)
        #[arg(long)]
        stream: bool,
        /// Also check the dma-buf through a CPU mapping of it
        #[arg(long)]
        mmap: bool,
    },
    /// Times ioctls, submissions, DMA and RDMA
    ///
    /// Times the cheapest ioctl (INFO DEVICE_STATUS on the control node), the round trip
    /// of a submission of one NOP job on dma0 (and its CS ioctl alone) and the floor of a
    /// submission (INFO DRAM_PENDING_ROWS: a doorbell the device answers with an interrupt,
    /// no engine), K times each, and a LIN_DMA of BYTES from
    /// host to device memory, 5 times; with --rdma, also a NIC_WRITE of BYTES to device M
    /// over port P and an all-reduce between them, 5 times each; prints the medians as
    /// key=value lines.
    Bench {
        /// Device N, /dev/hlN
        #[arg(short, long, value_name = "N", default_value_t = 0)]
        device: u32,
        /// Bytes of the copies
        #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_u32_size)]
        size: u32,
        /// Timed round trips
        #[arg(long, value_name = "K", default_value_t = 1000, value_parser = parse_count)]
        iterations: u32,
        /// Also time RDMA over port P
        #[arg(long, value_name = "P")]
        rdma: Option<u32>,
        /// The RDMA peer, device M (default: 1, or 0 for N = 1)
        #[arg(long, value_name = "M", requires = "rdma")]
        peer: Option<u32>,
        /// fp32 bytes per device of the all-reduce
        #[arg(long, value_name = "BYTES", requires = "rdma", default_value = "16M",
              value_parser = parse_allreduce)]
        allreduce: u32,
        /// Also time a copy of BYTES from device N's memory to device M's through a dma-buf
        /// M exports, beside the same bytes through host memory
        #[arg(long)]
        dmabuf: bool,
    },
}

impl Command {
    /// Checks what relates arguments to each other.
    fn check(&self) -> std::result::Result<(), String> {
        match *self {
            Self::RdmaTransfer { from, to, .. } | Self::DmabufTransfer { from, to, .. }
                if to.unwrap_or(other(from)) == from =>
            {
                Err("--from and --to are the same device".into())
            }
            Self::Bench {
                device,
                rdma: Some(_),
                peer,
                ..
            } if peer.unwrap_or(other(device)) == device => {
                Err("--peer is the device itself".into())
            }
            _ => Ok(()),
        }
    }
}

/// The default other device of a pair: 1, or 0 for device 1.
fn other(device: u32) -> u32 {
    u32::from(device == 0)
}

/// How a transfer moves its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RdmaOp {
    /// A NIC_WRITE into the responder's window.
    Write,
    /// A NIC_SEND into a buffer the responder posted with NIC_RECV.
    Send,
}

/// What `bench --rdma` measures besides the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RdmaBench {
    port: u32,
    peer: u32,
    allreduce_bytes: u32,
}

/// Timed copies of `bench`, and timed RDMA transfers and all-reduces.
const BENCH_DMA_RUNS: u32 = 5;

/// A number with an optional K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A size of 1 byte to 4 GiB - 1.
fn parse_u32_size(v: &str) -> std::result::Result<u32, String> {
    parse_size(v)
        .and_then(|s| u32::try_from(s).ok())
        .filter(|&s| s > 0)
        .ok_or_else(|| "1 byte to 4G - 1".into())
}

/// A size of whole fp32 values.
fn parse_allreduce(v: &str) -> std::result::Result<u32, String> {
    parse_u32_size(v)
        .ok()
        .filter(|b| b % 4 == 0)
        .ok_or_else(|| "fp32, whole, 4 bytes to 4G - 4".into())
}

/// A number of at least 1.
fn parse_count(v: &str) -> std::result::Result<u32, String> {
    v.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| "a number of at least 1".into())
}

fn parse_queue(v: &str) -> std::result::Result<Queue, String> {
    v.parse::<Queue>().map_err(|e| e.context().to_owned())
}

/// Parses the command line, `args` without the program's name.
fn parse<I: IntoIterator<Item = String>>(args: I) -> std::result::Result<Command, clap::Error> {
    let cli = Cli::try_parse_from(std::iter::once("hl-thunk".to_owned()).chain(args))?;
    cli.command
        .check()
        .map_err(|e| Cli::command().error(ErrorKind::ArgumentConflict, e))?;
    Ok(cli.command)
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn info(index: u32) -> Result<()> {
    let dev = Device::open_control(index)?;
    let hw = dev.hw_ip_info()?;
    let usage = dev.dram_usage()?;
    let clk = dev.clk_rate()?;
    println!("device:        {}", Device::control_path(index).display());
    match dev.pci_bus_id() {
        Ok(id) => println!("pci:           {id}"),
        Err(e) => println!("pci:           unknown ({e})"),
    }
    println!("card name:     {}", hw.card_name);
    println!("device id:     {:#06x}", hw.device_id);
    println!("firmware:      {}", hw.cpucp_version);
    println!("cpld version:  {:#x}", hw.cpld_version);
    println!("tpc mask:      {:#x}", hw.tpc_enabled_mask);
    println!("sram base:     {:#x}", hw.sram_base);
    println!("sram size:     {} bytes", hw.sram_size);
    println!("dram base:     {:#x}", hw.dram_base);
    println!(
        "dram size:     {} bytes ({} MiB)",
        hw.dram_size,
        hw.dram_size >> 20
    );
    println!("dram free:     {} bytes", usage.free);
    println!(
        "dram used:     {} bytes by the compute user",
        usage.allocated
    );
    println!("status:        {}", dev.device_status()?);
    println!(
        "clock:         {} MHz (max {} MHz)",
        clk.cur_mhz, clk.max_mhz
    );
    let idle = dev.hw_idle()?;
    println!(
        "idle:          {} (busy engines {:#x})",
        idle.idle, idle.busy_mask
    );
    let resets = dev.reset_count()?;
    println!(
        "resets:        {} hard, {} soft",
        resets.hard_reset_cnt, resets.soft_reset_cnt
    );
    let macs = dev.mac_addrs()?;
    println!("ports:         mask {:#x}", macs.port_mask);
    for (port, a) in macs.ports {
        let mac: Vec<_> = a.iter().map(|b| format!("{b:02x}")).collect();
        println!("{:<15}{}", format!("  port {port}:"), mac.join(":"));
    }
    let events = dev.hw_events(false)?;
    println!("events:        {} counters", events.counts.len());
    for (id, &n) in events.counts.iter().enumerate().filter(|(_, n)| **n != 0) {
        let name = event::name(id as u32).unwrap_or_else(|| format!("event {id}"));
        println!("  {name}: {n}");
    }
    Ok(())
}

/// A pattern no earlier run left behind: xorshift seeded from the clock.
fn fill_random(buf: &mut [u8]) {
    let now = SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = now ^ u64::from(std::process::id()) << 32 | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}

fn dma_test(index: u32, size: u32) -> Result<bool> {
    let dev = Device::open(index)?;
    let mut src = HostBuffer::new(size as usize)?;
    let mut dst = HostBuffer::new(size as usize)?;
    fill_random(&mut src);
    let mem = dev.device_memory(size.into())?;
    let dram = mem.addr();
    let src = dev.map_host(&mut src)?;
    let dst = dev.map_host(&mut dst)?;
    let mut cb = dev.command_buffer(64)?;
    cb.push(&Packet::lin_dma(src.device_addr(), dram, size)?)?;
    cb.push(&Packet::lin_dma(dram, dst.device_addr(), size)?)?;
    let start = Instant::now();
    let seq = dev.submit_timeout(&[cb.job(Queue::Dma0)], Duration::from_secs(60))?;
    let status = dev.wait_cs(seq, Duration::from_secs(70))?;
    let elapsed = start.elapsed();
    let what = format!("dma-test: {size} bytes host -> device -> host on dma0");
    let ok = if status != CsStatus::Completed {
        println!("{what}: {status}");
        false
    } else if let Some(i) = src.iter().zip(dst.iter()).position(|(a, b)| a != b) {
        let bad = src.iter().zip(dst.iter()).filter(|(a, b)| a != b).count();
        println!(
            "{what}: {bad} bytes differ, the first at {i}: {:#04x}, expected {:#04x}",
            dst[i], src[i]
        );
        false
    } else {
        println!("{what}: ok ({:.1} ms)", elapsed.as_secs_f64() * 1e3);
        true
    };
    drop(cb);
    src.unmap()?;
    dst.unmap()?;
    mem.free()?;
    Ok(ok)
}

fn submit(index: u32, queue: Queue, timeout: Option<Duration>, file: &PathBuf) -> Result<bool> {
    let bytes = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    if len % 8 != 0 || !(8..=HL_MAX_CB_SIZE).contains(&len) {
        return Err(format!(
            "{}: {} bytes: a job is a multiple of 8 bytes, 8 to {HL_MAX_CB_SIZE}",
            file.display(),
            bytes.len()
        )
        .into());
    }
    let dev = Device::open(index)?;
    let mut cb = dev.command_buffer(len)?;
    cb.push_bytes(&bytes)?;
    let jobs = [cb.job(queue)];
    let before = dev.hw_events(false)?;
    let seq = match timeout {
        Some(t) => dev.submit_timeout(&jobs, t)?,
        None => dev.submit(&jobs)?,
    };
    // The driver ends the submission by its timeout; wait a little longer.
    let limit = timeout.unwrap_or(DEFAULT_CS_TIMEOUT) + Duration::from_secs(10);
    let status = dev.wait_cs(seq, limit)?;
    // What the device reported meanwhile: the events that were counted.
    let after = dev.hw_events(false)?;
    let causes: Vec<String> = after
        .grown_since(&before)
        .into_iter()
        .map(|id| event::name(id).unwrap_or_else(|| format!("event {id}")))
        .collect();
    if causes.is_empty() {
        println!("submit: seq {seq} on {queue}: {status}");
    } else {
        println!(
            "submit: seq {seq} on {queue}: {status}: {}",
            causes.join(", ")
        );
    }
    Ok(status == CsStatus::Completed)
}

/// The driver's submission timeout unless the submission has its own
/// (mainline's `timeout_locked` module parameter, 30 s).
const DEFAULT_CS_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a transfer or an all-reduce may take.
const RDMA_TIMEOUT: Duration = Duration::from_secs(60);

/// Copies between a host buffer and device memory with LIN_DMA on dma0:
/// `host` to `dram`, or back if `to_host`.
fn host_copy(dev: &Device, host: &mut HostBuffer, dram: u64, to_host: bool) -> Result<()> {
    let len = host.len() as u32;
    let map = dev.map_host(host)?;
    let (src, dst) = if to_host {
        (dram, map.device_addr())
    } else {
        (map.device_addr(), dram)
    };
    let cb = dev.command_buffer_of(&[Packet::lin_dma(src, dst, len)?])?;
    let seq = dev.submit_timeout(&[cb.job(Queue::Dma0)], RDMA_TIMEOUT)?;
    match dev.wait_cs(seq, RDMA_TIMEOUT)? {
        CsStatus::Completed => Ok(()),
        status => Err(format!("LIN_DMA on dma0: {status}").into()),
    }
}

/// One direction of a link set up for transfers of `size` bytes: the
/// requester's connection (device 0 of `devs`) reaches the responder's
/// (device 1), which takes WRITEs into a window over `dst` or SENDs into
/// `dst` posted as a receive buffer. Fields drop in order: jobs, then
/// connections, then CQs and memory.
struct Transfer<'d> {
    devs: [&'d Device; 2],
    port: u32,
    op: RdmaOp,
    size: u32,
    /// The requester's job; the responder's RECV for a SEND.
    jobs: [CommandBuffer<'d>; 2],
    _conns: [Connection<'d>; 2],
    cqs: [Cq<'d>; 2],
    src: DeviceMemory<'d>,
    dst: DeviceMemory<'d>,
}

impl<'d> Transfer<'d> {
    fn new(devs: [&'d Device; 2], port: u32, op: RdmaOp, size: u32) -> Result<Self> {
        let src = devs[0].device_memory(size.into())?;
        let dst = devs[1].device_memory(size.into())?;
        let conns = [devs[0].connection(port)?, devs[1].connection(port)?];
        let cqs = [
            devs[0].completion_queue(port, 8)?,
            devs[1].completion_queue(port, 8)?,
        ];
        let peer = |d: usize| {
            let ip = Ipv4Addr::new(198, 18, port as u8, d as u8 + 1);
            Peer::of(devs[d], port, conns[d].id(), ip)
        };
        if op == RdmaOp::Send {
            conns[1].set_user_wq(2)?;
        }
        let window = u64::from(size).next_multiple_of(4096);
        conns[1].set_responder(&peer(0)?, dst.addr(), window)?;
        conns[0].set_requester(&peer(1)?)?;
        let ops = [0, 1].map(|d| NicOp::new(conns[d].id(), cqs[d].id()));
        let (request, recv) = match op {
            RdmaOp::Write => (
                Packet::nic_write(&ops[0], src.addr(), dst.addr(), size)?,
                Packet::nop(),
            ),
            RdmaOp::Send => (
                Packet::nic_send(&ops[0], src.addr(), size)?,
                Packet::nic_recv(&ops[1], dst.addr(), size)?,
            ),
        };
        Ok(Self {
            devs,
            port,
            op,
            size,
            jobs: [
                devs[0].command_buffer_of(&[request])?,
                devs[1].command_buffer_of(&[recv])?,
            ],
            _conns: conns,
            cqs,
            src,
            dst,
        })
    }

    /// Runs job `d` on its device's NIC queue and waits for it.
    fn run_job(&self, d: usize) -> Result<()> {
        let job = self.jobs[d].job(Queue::Nic(self.port));
        let seq = self.devs[d].submit_timeout(&[job], RDMA_TIMEOUT)?;
        match self.devs[d].wait_cs(seq, RDMA_TIMEOUT + Duration::from_secs(10))? {
            CsStatus::Completed => Ok(()),
            status => Err(format!("the NIC job on device {d}: {status}").into()),
        }
    }

    /// Takes device `d`'s completion, which must be a success of `size`
    /// bytes.
    fn completion(&mut self, d: usize) -> Result<()> {
        let cqe = self.cqs[d].next(RDMA_TIMEOUT)?;
        if cqe.status != CqeStatus::Ok || cqe.len != self.size {
            return Err(format!("device {d}: {cqe}").into());
        }
        Ok(())
    }

    /// Moves the data once; returns the time from the requester's
    /// submission to its completion (and the RECV's, for a SEND).
    fn run(&mut self) -> Result<Duration> {
        if self.op == RdmaOp::Send {
            self.run_job(1)?;
        }
        let start = Instant::now();
        self.run_job(0)?;
        self.completion(0)?;
        if self.op == RdmaOp::Send {
            self.completion(1)?;
        }
        Ok(start.elapsed())
    }
}

/// MB (10^6 bytes) per second.
fn mb_per_s(bytes: u32, t: Duration) -> f64 {
    f64::from(bytes) / t.as_secs_f64() / 1e6
}

fn rdma_transfer(
    [from, to]: [u32; 2],
    port: u32,
    op: RdmaOp,
    size: u32,
    iterations: u32,
) -> Result<bool> {
    let devs = [Device::open(from)?, Device::open(to)?];
    let mut t = Transfer::new([&devs[0], &devs[1]], port, op, size)?;
    let mut src = HostBuffer::new(size as usize)?;
    let mut dst = HostBuffer::new(size as usize)?;
    let what = format!(
        "rdma-transfer: {size} bytes, {} device {from} port {port} -> device {to}",
        if op == RdmaOp::Write { "WRITE" } else { "SEND" }
    );
    for i in 1..=iterations {
        fill_random(&mut src);
        host_copy(&devs[0], &mut src, t.src.addr(), false)?;
        dst.fill(!src[0]);
        host_copy(&devs[1], &mut dst, t.dst.addr(), false)?;
        let elapsed = t.run()?;
        host_copy(&devs[1], &mut dst, t.dst.addr(), true)?;
        let round = if iterations > 1 {
            format!(" ({i} of {iterations})")
        } else {
            String::new()
        };
        if let Some(at) = src.iter().zip(dst.iter()).position(|(a, b)| a != b) {
            let bad = src.iter().zip(dst.iter()).filter(|(a, b)| a != b).count();
            println!(
                "{what}{round}: {bad} bytes differ, the first at {at}: {:#04x}, expected {:#04x}",
                dst[at], src[at]
            );
            return Ok(false);
        }
        println!(
            "{what}{round}: ok, {:.3} ms, {:.1} MB/s",
            elapsed.as_secs_f64() * 1e3,
            mb_per_s(size, elapsed)
        );
    }
    Ok(true)
}

/// `bench --rdma`: a WRITE of `size` bytes and an all-reduce, each timed
/// BENCH_DMA_RUNS times after an untimed run.
fn bench_rdma(dev: &Device, r: &RdmaBench, size: u32) -> Result<()> {
    let peer = Device::open(r.peer)?;
    let devs = [dev, &peer];
    let mut t = Transfer::new(devs, r.port, RdmaOp::Write, size)?;
    let (median_us, _) = median_mean_us(time_runs(BENCH_DMA_RUNS, || t.run().map(drop))?);
    println!(
        "rdma_write_bytes={size} rdma_write_seconds={:.6} rdma_write_mb_per_s={:.1} port={} iterations={BENCH_DMA_RUNS}",
        median_us / 1e6,
        f64::from(size) / median_us,
        r.port
    );
    drop(t);
    let mut ar = AllReduce::new(devs, r.port, r.allreduce_bytes / 4)?;
    let run = || ar.run(RDMA_TIMEOUT).map_err(Into::into);
    let (median_us, _) = median_mean_us(time_runs(BENCH_DMA_RUNS, run)?);
    println!(
        "allreduce_bytes={} allreduce_seconds={:.6} iterations={BENCH_DMA_RUNS}",
        r.allreduce_bytes,
        median_us / 1e6
    );
    Ok(())
}

/// The median and the mean of `samples`, in microseconds.
fn median_mean_us(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let median = samples[samples.len() / 2].as_secs_f64() * 1e6;
    let sum: Duration = samples.iter().sum();
    (median, sum.as_secs_f64() * 1e6 / samples.len() as f64)
}

/// `CLOCK_MONOTONIC` in ns, the clock of the driver's completion stamps.
fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Times `n` runs of `op` after `n / 10` (at least one) untimed ones.
fn time_runs(n: u32, mut op: impl FnMut() -> Result<()>) -> Result<Vec<Duration>> {
    for _ in 0..n.div_ceil(10) {
        op()?;
    }
    (0..n)
        .map(|_| {
            let start = Instant::now();
            op()?;
            Ok(start.elapsed())
        })
        .collect()
}

/// Runs one LIN_DMA of `len` bytes from `src` to `dst` on dma0 of `dev`.
fn lin_dma(dev: &Device, src: u64, dst: u64, len: u32, what: &str) -> Result<()> {
    let cb = dev.command_buffer_of(&[Packet::lin_dma(src, dst, len)?])?;
    let seq = dev.submit_timeout(&[cb.job(Queue::Dma0)], RDMA_TIMEOUT)?;
    match dev.wait_cs(seq, RDMA_TIMEOUT)? {
        CsStatus::Completed => Ok(()),
        status => Err(format!("{what}: LIN_DMA on dma0: {status}").into()),
    }
}

/// `size` bytes of `exp`'s memory, exported as a dma-buf and imported by `imp`: the memory,
/// the dma-buf's file descriptor and its device address on `imp`.
fn dmabuf_pair<'d>(
    exp: &'d Device,
    imp: &Device,
    size: u32,
) -> Result<(DeviceMemory<'d>, OwnedFd, u64)> {
    let mem = exp.device_memory(size.into())?;
    let bytes = u64::from(size).next_multiple_of(4096);
    let flags = (libc::O_RDWR | libc::O_CLOEXEC) as u32;
    let fd = exp.export_dmabuf(mem.addr(), bytes, flags)?;
    let addr = imp.import_dmabuf(fd.as_fd())?;
    Ok((mem, fd, addr))
}

/// Whether `got` is `want` (not empty), said with `what` and the copy's time.
fn same(what: &str, got: &[u8], want: &[u8], time: Duration) -> bool {
    if want.is_empty() || got.len() != want.len() {
        println!("{what}: nothing to compare");
        false
    } else if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        let bad = got.iter().zip(want).filter(|(a, b)| a != b).count();
        println!(
            "{what}: {bad} bytes differ, the first at {i}: {:#04x}, expected {:#04x}",
            got[i], want[i]
        );
        false
    } else {
        let s = time.as_secs_f64();
        println!(
            "{what}: ok ({:.1} ms, {:.1} MB/s)",
            s * 1e3,
            want.len() as f64 / s / 1e6
        );
        true
    }
}

/// What `dmabuf-transfer` does besides copying.
#[derive(Clone, Copy, Debug)]
struct DmabufMode {
    /// Only copy into the exporter, until a copy fails.
    stream: bool,
    /// Check the dma-buf through a CPU mapping too.
    mmap: bool,
}

/// `dmabuf-transfer --stream`: copies into `shared` until a copy fails; with `map`, the
/// mapping must fault afterwards and a new one be refused.
fn dmabuf_stream(
    imp: &Device,
    from: u32,
    (src, shared): (u64, u64),
    size: u32,
    iterations: u32,
    fd: &OwnedFd,
    map: Option<&DmabufMap>,
) -> Result<bool> {
    let mut n = 0u64;
    while n < u64::from(iterations) {
        if let Err(e) = lin_dma(imp, src, shared, size, "importer") {
            println!("dmabuf-transfer: copy {n} into device {from}'s dma-buf failed: {e}");
            let Some(map) = map else {
                return Ok(false);
            };
            if !map.revoked()? {
                println!("dmabuf-transfer: the CPU mapping still reads after the failure");
                return Ok(false);
            }
            println!("dmabuf-transfer: the CPU mapping faults (SIGBUS)");
            match DmabufMap::new(fd.as_fd(), 0, map.len()) {
                Ok(_) => println!("dmabuf-transfer: a new CPU mapping succeeded"),
                Err(e) => println!("dmabuf-transfer: a new CPU mapping is refused: {e}"),
            }
            return Ok(false);
        }
        if n == 0 {
            println!("dmabuf-transfer: streaming into device {from}'s dma-buf");
        }
        n += 1;
    }
    println!("dmabuf-transfer: {n} copies into device {from}'s dma-buf, none failed");
    Ok(true)
}

fn dmabuf_transfer(
    from: u32,
    to: u32,
    size: u32,
    iterations: u32,
    mode: DmabufMode,
) -> Result<bool> {
    let exp = Device::open(from)?;
    let imp = Device::open(to)?;
    let (emem, fd, shared) = dmabuf_pair(&exp, &imp, size)?;
    let imem = imp.device_memory(size.into())?;
    let map = if mode.mmap {
        Some(DmabufMap::new(fd.as_fd(), 0, size as usize)?)
    } else {
        None
    };
    let mut src = HostBuffer::new(size as usize)?;
    if mode.stream {
        fill_random(&mut src);
        host_copy(&imp, &mut src, imem.addr(), false)?;
        if let Some(map) = &map {
            // Every page mapped before the revocation, so that only the revocation's zap can
            // take them away again.
            map.read(0, &mut src);
        }
        let ends = (imem.addr(), shared);
        return dmabuf_stream(&imp, from, ends, size, iterations, &fd, map.as_ref());
    }
    let mut ok = true;
    let mut dst = HostBuffer::new(size as usize)?;
    for _ in 0..iterations {
        fill_random(&mut src);
        host_copy(&imp, &mut src, imem.addr(), false)?;
        let start = Instant::now();
        lin_dma(&imp, imem.addr(), shared, size, "write")?;
        let time = start.elapsed();
        host_copy(&exp, &mut dst, emem.addr(), true)?;
        let what = format!("dmabuf-transfer: {size} bytes device {to} -> {from} (write)");
        ok &= same(&what, &dst, &src, time);
        if let Some(map) = &map {
            let start = Instant::now();
            map.read(0, &mut dst);
            let what = format!("dmabuf-transfer: {size} bytes device {to} -> CPU mapping (read)");
            ok &= same(&what, &dst, &src, start.elapsed());
        }

        fill_random(&mut src);
        let start = Instant::now();
        match &map {
            Some(map) => map.write(0, &src),
            None => host_copy(&exp, &mut src, emem.addr(), false)?,
        }
        let cpu = start.elapsed();
        if map.is_some() {
            host_copy(&exp, &mut dst, emem.addr(), true)?;
            let what =
                format!("dmabuf-transfer: {size} bytes CPU mapping -> device {from} (write)");
            ok &= same(&what, &dst, &src, cpu);
        }
        let start = Instant::now();
        lin_dma(&imp, shared, imem.addr(), size, "read")?;
        let time = start.elapsed();
        host_copy(&imp, &mut dst, imem.addr(), true)?;
        let what = format!("dmabuf-transfer: {size} bytes device {from} -> {to} (read)");
        ok &= same(&what, &dst, &src, time);
    }
    imp.unmap(shared)?;
    // The descriptor closes before the mapping goes: the mapping holds the buffer.
    drop(fd);
    if let Some(map) = &map {
        let start = Instant::now();
        map.read(0, &mut dst);
        let what = format!("dmabuf-transfer: {size} bytes CPU mapping after close (read)");
        ok &= same(&what, &dst, &src, start.elapsed());
    }
    drop(map);
    imem.free()?;
    emem.free()?;
    Ok(ok)
}

/// Times copies of `size` bytes from `dev`'s memory to device `peer`'s: through a dma-buf
/// `peer` exports (one LIN_DMA of `dev`), and through host memory (`dev` copies to a host
/// buffer, `peer` from it).
fn bench_dmabuf(dev: &Device, peer: u32, size: u32) -> Result<()> {
    let peer = Device::open(peer)?;
    let (pmem, fd, shared) = dmabuf_pair(&peer, dev, size)?;
    let mem = dev.device_memory(size.into())?;
    let p2p = || lin_dma(dev, mem.addr(), shared, size, "p2p");
    let (p2p_us, _) = median_mean_us(time_runs(BENCH_DMA_RUNS, p2p)?);
    let mut host = HostBuffer::new(size as usize)?;
    let out = dev.map_host(&mut host)?;
    // SAFETY: `host` stays allocated until `back` is unmapped below, and nothing reads it
    // while the copies run.
    let back = unsafe { peer.map_host_ptr(out.as_ptr().cast_mut(), size.into()) }?;
    let via_host = || {
        lin_dma(dev, mem.addr(), out.device_addr(), size, "to host")?;
        lin_dma(&peer, back, pmem.addr(), size, "from host")
    };
    let (host_us, _) = median_mean_us(time_runs(BENCH_DMA_RUNS, via_host)?);
    println!(
        "dmabuf_bytes={size} dmabuf_p2p_mb_per_s={:.1} dmabuf_host_mb_per_s={:.1} iterations={BENCH_DMA_RUNS}",
        f64::from(size) / p2p_us,
        f64::from(size) / host_us
    );
    peer.unmap(back)?;
    out.unmap()?;
    dev.unmap(shared)?;
    drop(fd);
    mem.free()?;
    pmem.free()?;
    Ok(())
}

fn bench(
    index: u32,
    size: u32,
    iterations: u32,
    rdma: Option<&RdmaBench>,
    dmabuf: Option<u32>,
) -> Result<()> {
    let control = Device::open_control(index)?;
    let status = || control.device_status().map(drop).map_err(Into::into);
    let (median, mean) = median_mean_us(time_runs(iterations, status)?);
    println!("null_ioctl_us={median:.1} null_ioctl_mean_us={mean:.1} iterations={iterations}");

    let dev = Device::open(index)?;
    let run = |jobs: &[Job]| -> Result<()> {
        let seq = dev.submit_timeout(jobs, Duration::from_secs(60))?;
        match dev.wait_cs(seq, Duration::from_secs(70))? {
            CsStatus::Completed => Ok(()),
            status => Err(format!("seq {seq} on {}: {status}", jobs[0].queue).into()),
        }
    };
    let mut cb = dev.command_buffer(8)?;
    cb.push(&Packet::nop())?;
    let nop = [cb.job(Queue::Dma0)];
    let (median, mean) = median_mean_us(time_runs(iterations, || run(&nop))?);
    println!("cs_roundtrip_us={median:.1} cs_roundtrip_mean_us={mean:.1} iterations={iterations}");
    // Where the round trip goes: the CS ioctl alone (checks, job build, PQ
    // entry, doorbell), the time from the submission to its completion as
    // the driver's interrupt handler stamps it (HL_CS_FLAGS_TIMESTAMP), and
    // from that stamp to WAIT_CS's return (the waiter's wake-up).
    let (mut submits, mut completed, mut woken) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iterations {
        let start = monotonic_ns();
        let seq = dev.submit_restore(&[], &nop, HL_CS_FLAGS_TIMESTAMP)?;
        let submitted = monotonic_ns();
        let (status, stamp) = dev.wait_cs_stamped(seq, Duration::from_secs(70))?;
        let end = monotonic_ns();
        let (CsStatus::Completed, Some(done)) = (status, stamp) else {
            return Err(format!("seq {seq}: {status}, completion stamp {stamp:?}").into());
        };
        let span = |a: i64, b: i64| Duration::from_nanos(b.saturating_sub(a).max(0) as u64);
        submits.push(span(start, submitted));
        completed.push(span(start, done));
        woken.push(span(done, end));
    }
    let (submit_us, _) = median_mean_us(submits);
    let (completed_us, _) = median_mean_us(completed);
    let (woken_us, _) = median_mean_us(woken);
    println!(
        "cs_submit_us={submit_us:.1} cs_completed_us={completed_us:.1} cs_wakeup_us={woken_us:.1} iterations={iterations}"
    );
    // The floor: a doorbell the device answers with an interrupt, no
    // engine in between (the mailbox's DRAM_ROWS).
    let floor = || dev.dram_pending_rows().map(drop).map_err(Into::into);
    let (median, mean) = median_mean_us(time_runs(iterations, floor)?);
    println!(
        "doorbell_floor_us={median:.1} doorbell_floor_mean_us={mean:.1} iterations={iterations}"
    );

    let mut host = HostBuffer::new(size as usize)?;
    host.fill(0x5a);
    let mem = dev.device_memory(size.into())?;
    let dram = mem.addr();
    let src = dev.map_host(&mut host)?;
    let mut cb = dev.command_buffer(64)?;
    cb.push(&Packet::lin_dma(src.device_addr(), dram, size)?)?;
    let copy = [cb.job(Queue::Dma0)];
    let (median_us, _) = median_mean_us(time_runs(BENCH_DMA_RUNS, || run(&copy))?);
    println!(
        "dma_h2d_bytes={size} dma_h2d_seconds={:.6} dma_h2d_mb_per_s={:.1} iterations={BENCH_DMA_RUNS}",
        median_us / 1e6,
        f64::from(size) / median_us
    );
    drop(cb);
    src.unmap()?;
    mem.free()?;
    if let Some(peer) = dmabuf {
        bench_dmabuf(&dev, peer, size)?;
    }
    rdma.map_or(Ok(()), |r| bench_rdma(&dev, r, size))
}

fn main() -> ExitCode {
    let cmd = parse(env::args().skip(1)).unwrap_or_else(|e| e.exit());
    let result = match cmd {
        Command::Info { device } => info(device).map(|()| true),
        Command::DmaTest { device, size } => dma_test(device, size),
        Command::Submit {
            device,
            queue,
            timeout,
            file,
        } => submit(device, queue, timeout.map(Duration::from_millis), &file),
        Command::RdmaTransfer {
            from,
            to,
            port,
            size,
            op,
            iterations,
        } => rdma_transfer(
            [from, to.unwrap_or(other(from))],
            port,
            op,
            size,
            iterations,
        ),
        Command::DmabufTransfer {
            from,
            to,
            size,
            iterations,
            stream,
            mmap,
        } => dmabuf_transfer(
            from,
            to.unwrap_or(other(from)),
            size,
            iterations,
            DmabufMode { stream, mmap },
        ),
        Command::Bench {
            device,
            size,
            iterations,
            rdma,
            peer,
            allreduce,
            dmabuf,
        } => {
            let peer = peer.unwrap_or(other(device));
            let rdma = rdma.map(|port| RdmaBench {
                port,
                peer,
                allreduce_bytes: allreduce,
            });
            let dmabuf = dmabuf.then_some(peer);
            bench(device, size, iterations, rdma.as_ref(), dmabuf).map(|()| true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hl-thunk: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> std::result::Result<Command, clap::Error> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4097"), Some(4097));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn commands() {
        let ok = |s| parse_str(s).unwrap();
        assert_eq!(ok("info"), Command::Info { device: 0 });
        assert_eq!(ok("info -d 1"), Command::Info { device: 1 });
        assert_eq!(
            ok("dma-test --size 64M -d 1"),
            Command::DmaTest {
                device: 1,
                size: 64 << 20
            }
        );
        assert_eq!(
            ok("dma-test"),
            Command::DmaTest {
                device: 0,
                size: 1 << 20
            }
        );
        assert_eq!(
            ok("submit --queue tpc1 --timeout 500 jobs.bin"),
            Command::Submit {
                device: 0,
                queue: Queue::Tpc1,
                timeout: Some(500),
                file: PathBuf::from("jobs.bin")
            }
        );
        assert_eq!(
            ok("bench"),
            Command::Bench {
                device: 0,
                size: 64 << 20,
                iterations: 1000,
                rdma: None,
                peer: None,
                allreduce: 16 << 20,
                dmabuf: false,
            }
        );
        assert_eq!(
            ok("bench -d 1 --size 1M --iterations 10"),
            Command::Bench {
                device: 1,
                size: 1 << 20,
                iterations: 10,
                rdma: None,
                peer: None,
                allreduce: 16 << 20,
                dmabuf: false,
            }
        );
        assert_eq!(
            ok("bench --rdma 3 --allreduce 4M"),
            Command::Bench {
                device: 0,
                size: 64 << 20,
                iterations: 1000,
                rdma: Some(3),
                peer: None,
                allreduce: 4 << 20,
                dmabuf: false,
            }
        );
        assert!(ok("bench -d 1 --rdma 0").check().is_ok());
        assert_eq!(
            ok("rdma-transfer"),
            Command::RdmaTransfer {
                from: 0,
                to: None,
                port: 0,
                size: 1 << 20,
                op: RdmaOp::Write,
                iterations: 1
            }
        );
        assert_eq!(
            ok("rdma-transfer --from 1 --port 9 --size 64M --op send --iterations 3"),
            Command::RdmaTransfer {
                from: 1,
                to: None,
                port: 9,
                size: 64 << 20,
                op: RdmaOp::Send,
                iterations: 3
            }
        );
        assert_eq!(
            ok("dmabuf-transfer --from 1 --size 16M --iterations 2 --stream"),
            Command::DmabufTransfer {
                from: 1,
                to: None,
                size: 16 << 20,
                iterations: 2,
                stream: true,
                mmap: false
            }
        );
        assert_eq!(
            ok("dmabuf-transfer --to 0 --from 1 --mmap"),
            Command::DmabufTransfer {
                from: 1,
                to: Some(0),
                size: 1 << 20,
                iterations: 1,
                stream: false,
                mmap: true
            }
        );
        assert!(ok("bench --dmabuf").check().is_ok());
        for help in ["info --help", "help", "--help", "help bench"] {
            let kind = parse_str(help).unwrap_err().kind();
            assert_eq!(kind, ErrorKind::DisplayHelp, "{help:?}");
        }
    }

    #[test]
    fn usage_errors() {
        for bad in [
            "",
            "frobnicate",
            "info -d",
            "info -d x",
            "info --size 1",
            "dma-test --size 0",
            "dma-test --size 4G",
            "submit jobs.bin",
            "submit --queue 8 jobs.bin",
            "submit --queue 0",
            "submit --queue 0 a b",
            "bench --size 0",
            "bench --iterations 0",
            "bench --iterations x",
            "bench --queue 0",
            "dma-test --iterations 3",
            "bench --peer 1",
            "bench --allreduce 16M",
            "bench --rdma 0 --peer 0",
            "bench -d 1 --rdma 0 --peer 1",
            "bench --rdma 0 --allreduce 6",
            "bench --rdma x",
            "rdma-transfer --from 1 --to 1",
            "dmabuf-transfer --from 0 --to 0",
            "dmabuf-transfer --size 0",
            "rdma-transfer --to 0",
            "rdma-transfer -d 1",
            "rdma-transfer --op read",
            "rdma-transfer --size 0",
            "rdma-transfer --iterations 0",
            "rdma-transfer --port",
            "info --op write",
        ] {
            let e = parse_str(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
        }
    }
}
