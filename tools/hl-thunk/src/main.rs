// SPDX-License-Identifier: GPL-2.0

//! hl-thunk: habanalabs devices from the command line, through libhlthunk.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};
use std::{env, fs};

use hlthunk::uapi::{HL_CS_DEFAULT_TIMEOUT_MS, HL_EVENT_COUNT, HL_MAX_CB_SIZE};
use hlthunk::{Cause, CsStatus, Device, HostBuffer, Job, Packet, Queue};

const USAGE: &str = "\
usage: hl-thunk info [-d N]
       hl-thunk dma-test [-d N] [--size BYTES]
       hl-thunk submit [-d N] --queue Q [--timeout MS] FILE
       hl-thunk bench [-d N] [--size BYTES] [--iterations K]

  info      device N's identity, memory, status, clocks, MAC addresses and
            events, from its control node (/dev/hl_controlDN)
  dma-test  copies BYTES (default 1M; K, M and G suffixes) from host memory
            to device memory and back with LIN_DMA on queue dma0, and
            checks the copy
  submit    runs FILE, packets encoded as in the device's spec, as one job
            on queue Q (dma0, dma1, tpc0, tpc1 or 0-3) and waits for it;
            MS is the submission's timeout (default: the driver's)
  bench     times the cheapest ioctl (INFO DEVICE_STATUS on the control
            node) and the round trip of a submission of one NOP job on
            dma0, K times each (default 1000), and a LIN_DMA of BYTES
            (default 64M) from host to device memory, 5 times; prints
            the medians as key=value lines (MB: 10^6 bytes)
  -d N      device N, /dev/hlN (default 0)

Exit status: 0 success, 1 failure, 2 usage error.";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Info {
        device: u32,
    },
    DmaTest {
        device: u32,
        size: u32,
    },
    Submit {
        device: u32,
        queue: Queue,
        timeout: Option<Duration>,
        file: PathBuf,
    },
    Bench {
        device: u32,
        size: u32,
        iterations: u32,
    },
}

/// `bench`'s defaults: bytes to copy and timed round trips.
const BENCH_SIZE: u32 = 64 << 20;
const BENCH_ITERATIONS: u32 = 1000;
/// Timed copies of `bench`.
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

fn parse(args: &[String]) -> std::result::Result<Command, String> {
    let Some((cmd, mut rest)) = args.split_first() else {
        return Err("no command".into());
    };
    let (mut device, mut size, mut queue, mut timeout, mut file) = (0, None, None, None, None);
    let mut iterations = BENCH_ITERATIONS;
    while let Some((arg, tail)) = rest.split_first() {
        let value = || tail.first().ok_or_else(|| format!("{arg} needs a value"));
        let mut consumed = 2;
        match (cmd.as_str(), arg.as_str()) {
            (_, "-h" | "--help") => return Ok(Command::Help),
            (_, "-d" | "--device") => {
                let v = value()?;
                device = v.parse().map_err(|_| format!("bad device index {v:?}"))?;
            }
            ("dma-test" | "bench", "--size") => {
                let v = value()?;
                size = Some(
                    parse_size(v)
                        .and_then(|s| u32::try_from(s).ok())
                        .filter(|&s| s > 0)
                        .ok_or_else(|| format!("bad size {v:?}: 1 byte to 4G - 1"))?,
                );
            }
            ("bench", "--iterations") => {
                let v = value()?;
                iterations = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("bad iteration count {v:?}"))?;
            }
            ("submit", "--queue") => {
                queue = Some(
                    value()?
                        .parse::<Queue>()
                        .map_err(|e| e.context().to_owned())?,
                );
            }
            ("submit", "--timeout") => {
                let v = value()?;
                let ms = v.parse().map_err(|_| format!("bad timeout {v:?}"))?;
                timeout = Some(Duration::from_millis(ms));
            }
            ("submit", f) if !f.starts_with('-') && file.is_none() => {
                file = Some(PathBuf::from(f));
                consumed = 1;
            }
            _ => return Err(format!("{cmd}: unexpected {arg:?}")),
        }
        rest = &rest[consumed..];
    }
    Ok(match cmd.as_str() {
        "-h" | "--help" | "help" => Command::Help,
        "info" => Command::Info { device },
        "dma-test" => Command::DmaTest {
            device,
            size: size.unwrap_or(1 << 20),
        },
        "submit" => Command::Submit {
            device,
            queue: queue.ok_or("submit needs --queue")?,
            timeout,
            file: file.ok_or("submit needs a FILE")?,
        },
        "bench" => Command::Bench {
            device,
            size: size.unwrap_or(BENCH_SIZE),
            iterations,
        },
        _ => return Err(format!("unknown command {cmd:?}")),
    })
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
    println!(
        "device id:     {:#06x} revision {}",
        hw.device_id, hw.revision
    );
    println!("serial:        {:#018x}", hw.serial);
    println!("model version: {}.{}", hw.model_major, hw.model_minor);
    println!(
        "queues:        {} (DMA mask {:#x}, TPC mask {:#x})",
        hw.queue_count, hw.dma_enabled_mask, hw.tpc_enabled_mask
    );
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
    println!("ports:         mask {:#x}", hw.port_mask);
    for (port, a) in dev.mac_addrs()?.ports {
        let mac: Vec<_> = a.iter().map(|b| format!("{b:02x}")).collect();
        println!("{:<15}{}", format!("  port {port}:"), mac.join(":"));
    }
    let events = dev.hw_events()?;
    println!("events lost:   {}", events.lost);
    for code in 0..HL_EVENT_COUNT {
        let n = events.counts[code as usize];
        if n != 0 {
            let cause = Cause::from(code);
            println!("  {cause}: {n}");
        }
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
    let handle = dev.alloc(size.into())?;
    let dram = dev.map(handle)?;
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
    dev.unmap(dram)?;
    dev.free(handle)?;
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
    let seq = match timeout {
        Some(t) => dev.submit_timeout(&jobs, t)?,
        None => dev.submit(&jobs)?,
    };
    // The driver ends the submission by its timeout; wait a little longer.
    let limit = timeout.unwrap_or(Duration::from_millis(HL_CS_DEFAULT_TIMEOUT_MS.into()))
        + Duration::from_secs(10);
    let status = dev.wait_cs(seq, limit)?;
    println!("submit: seq {seq} on {queue}: {status}");
    Ok(status == CsStatus::Completed)
}

/// The median and the mean of `samples`, in microseconds.
fn median_mean_us(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let median = samples[samples.len() / 2].as_secs_f64() * 1e6;
    let sum: Duration = samples.iter().sum();
    (median, sum.as_secs_f64() * 1e6 / samples.len() as f64)
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

fn bench(index: u32, size: u32, iterations: u32) -> Result<()> {
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

    let mut host = HostBuffer::new(size as usize)?;
    host.fill(0x5a);
    let handle = dev.alloc(size.into())?;
    let dram = dev.map(handle)?;
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
    dev.unmap(dram)?;
    dev.free(handle)?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let cmd = match parse(&args) {
        Ok(cmd) => cmd,
        Err(e) => {
            eprintln!("hl-thunk: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match &cmd {
        Command::Help => {
            println!("{USAGE}");
            Ok(true)
        }
        Command::Info { device } => info(*device).map(|()| true),
        Command::DmaTest { device, size } => dma_test(*device, *size),
        Command::Submit {
            device,
            queue,
            timeout,
            file,
        } => submit(*device, *queue, *timeout, file),
        Command::Bench {
            device,
            size,
            iterations,
        } => bench(*device, *size, *iterations).map(|()| true),
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

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
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
    fn commands() {
        assert_eq!(parse(&args("info")), Ok(Command::Info { device: 0 }));
        assert_eq!(parse(&args("info -d 1")), Ok(Command::Info { device: 1 }));
        assert_eq!(
            parse(&args("dma-test --size 64M -d 1")),
            Ok(Command::DmaTest {
                device: 1,
                size: 64 << 20
            })
        );
        assert_eq!(
            parse(&args("dma-test")),
            Ok(Command::DmaTest {
                device: 0,
                size: 1 << 20
            })
        );
        assert_eq!(
            parse(&args("submit --queue tpc1 --timeout 500 jobs.bin")),
            Ok(Command::Submit {
                device: 0,
                queue: Queue::Tpc1,
                timeout: Some(Duration::from_millis(500)),
                file: PathBuf::from("jobs.bin")
            })
        );
        assert_eq!(
            parse(&args("bench")),
            Ok(Command::Bench {
                device: 0,
                size: BENCH_SIZE,
                iterations: BENCH_ITERATIONS
            })
        );
        assert_eq!(
            parse(&args("bench -d 1 --size 1M --iterations 10")),
            Ok(Command::Bench {
                device: 1,
                size: 1 << 20,
                iterations: 10
            })
        );
        assert_eq!(parse(&args("info --help")), Ok(Command::Help));
        assert_eq!(parse(&args("help")), Ok(Command::Help));
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
            "submit --queue 4 jobs.bin",
            "submit --queue 0",
            "submit --queue 0 a b",
            "bench --size 0",
            "bench --iterations 0",
            "bench --iterations x",
            "bench --queue 0",
            "dma-test --iterations 3",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
