// SPDX-License-Identifier: GPL-2.0

//! hlsim: serves modelled GAUDI-class devices to QEMU, one ivshmem socket
//! per device, until SIGTERM or SIGINT; or times the model's memory copy.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::time::Instant;
use std::{env, ptr, thread};

use hlsim::device::Device;
use hlsim::mem::{ABOVE_4G, SharedMem};
use hlsim::server::Server;
use vmm_sys_util::eventfd::{EFD_CLOEXEC, EFD_NONBLOCK, EventFd};
use vmm_sys_util::signal::create_sigset;

const USAGE: &str = "\
usage: hlsim --guest-ram PATH [--ram-below-4g SIZE]
             --device sock=PATH[,size=SIZE][,serial=N] [--device ...]
             [--wire A:P-B:Q ...] [--tap DEV.PORT=IFNAME ...]
       hlsim --bench-memcpy SIZE[,ITERATIONS]

  --guest-ram PATH  the file backing guest RAM; DMA address A is its byte A
  --ram-below-4g SIZE
                    but for the file's bytes from SIZE on (whole pages, at
                    most 4G, K, M and G suffixes), which are at DMA
                    addresses from 4G on, past the PCI hole: QEMU's pc
                    machine puts RAM beyond its max-ram-below-4g there
  --device ...      serve one device on the UNIX socket PATH
      size=SIZE     BAR2 bytes, a power of two of at least 2M, with an
                    optional K, M or G suffix (default 256M)
      serial=N      serial number, decimal or 0x-prefixed hex, unique in
                    its low 32 bits, from which the MAC addresses derive
                    (default: the device's position, from 1)
                    Port p of device 2k is wired to port p of device 2k + 1.
  --wire A:P-B:Q    wires port P of device A to port Q of device B instead
                    (devices from 0, in --device order), unwiring the ports
                    they were wired to
  --tap DEV.PORT=IFNAME
                    bridges port PORT of device DEV (from 0, in --device
                    order) to the host TAP interface IFNAME instead,
                    creating it if need be
  --bench-memcpy    times the copy LIN_DMA does, of SIZE bytes (1 byte to
                    4G - 1, K, M and G suffixes) between two memory files,
                    ITERATIONS times (default 9), and prints the median:
                    memcpy bytes=N iterations=N seconds=S mb_per_s=R
                    (MB: 10^6 bytes)";

/// Default BAR2 size.
const DEFAULT_SIZE: u64 = 256 << 20;
/// Default number of timed copies of `--bench-memcpy`.
const BENCH_ITERATIONS: u32 = 9;

/// One `--device`.
#[derive(Debug, PartialEq)]
struct DeviceOpts {
    sock: PathBuf,
    size: u64,
    serial: u64,
}

/// A port: its device's index and its own.
type PortAt = (usize, usize);

/// One `--wire`: the ports at its ends.
#[derive(Debug, PartialEq)]
struct WireOpts(PortAt, PortAt);

/// One `--tap`.
#[derive(Debug, PartialEq)]
struct TapOpts {
    device: usize,
    port: usize,
    ifname: String,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Run {
        guest_ram: PathBuf,
        below_4g: u64,
        devices: Vec<DeviceOpts>,
        wires: Vec<WireOpts>,
        taps: Vec<TapOpts>,
    },
    BenchMemcpy {
        size: u64,
        iterations: u32,
    },
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args
        .into_iter()
        .map(|arg| arg.into_string().map_err(|_| "arguments must be UTF-8"));
    let mut guest_ram = None;
    let mut below_4g = None;
    let mut devices: Vec<DeviceOpts> = Vec::new();
    let mut bench = None;
    let mut wires: Vec<WireOpts> = Vec::new();
    let mut taps: Vec<TapOpts> = Vec::new();
    // The ports --wire and --tap name: none twice.
    let mut named: Vec<PortAt> = Vec::new();
    let mut name = |at: PortAt, option: &str| {
        if named.contains(&at) {
            return Err(format!("{option}: port {}.{} given twice", at.0, at.1));
        }
        named.push(at);
        Ok(())
    };
    while let Some(arg) = args.next() {
        match arg?.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--bench-memcpy" => {
                bench = Some(parse_bench(
                    &args.next().ok_or("--bench-memcpy needs a SIZE")??,
                )?)
            }
            "--guest-ram" => {
                guest_ram = Some(args.next().ok_or("--guest-ram needs a PATH")??.into())
            }
            "--ram-below-4g" => {
                let val = args.next().ok_or("--ram-below-4g needs a SIZE")??;
                below_4g = Some(
                    parse_size(&val)
                        .filter(|s| (1..=ABOVE_4G).contains(s) && s.is_multiple_of(4096))
                        .ok_or(format!("bad --ram-below-4g '{val}'"))?,
                );
            }
            "--device" => {
                let opts = parse_device(
                    &args.next().ok_or("--device needs sock=PATH")??,
                    devices.len(),
                )?;
                if devices.iter().any(|dev| dev.sock == opts.sock) {
                    return Err(format!("socket {} given twice", opts.sock.display()));
                }
                // The MAC addresses derive from the low 32 bits.
                if devices
                    .iter()
                    .any(|dev| dev.serial as u32 == opts.serial as u32)
                {
                    return Err(format!(
                        "serial {:#x} not unique in its low 32 bits",
                        opts.serial
                    ));
                }
                devices.push(opts);
            }
            "--wire" => {
                let wire = parse_wire(&args.next().ok_or("--wire needs A:P-B:Q")??)?;
                name(wire.0, "--wire")?;
                name(wire.1, "--wire")?;
                wires.push(wire);
            }
            "--tap" => {
                let tap = parse_tap(&args.next().ok_or("--tap needs DEV.PORT=IFNAME")??)?;
                if taps.iter().any(|t| t.ifname == tap.ifname) {
                    return Err(format!("--tap: {} given twice", tap.ifname));
                }
                name((tap.device, tap.port), "--tap")?;
                taps.push(tap);
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if let Some((size, iterations)) = bench {
        if guest_ram.is_some()
            || below_4g.is_some()
            || !devices.is_empty()
            || !wires.is_empty()
            || !taps.is_empty()
        {
            return Err("--bench-memcpy serves no device".into());
        }
        return Ok(Command::BenchMemcpy { size, iterations });
    }
    let guest_ram = guest_ram.ok_or("--guest-ram is required")?;
    if devices.is_empty() {
        return Err("at least one --device is required".into());
    }
    if let Some(tap) = taps.iter().find(|t| t.device >= devices.len()) {
        return Err(format!("--tap: no device {}", tap.device));
    }
    if let Some(&(device, _)) = wires
        .iter()
        .flat_map(|WireOpts(a, b)| [a, b])
        .find(|(device, _)| *device >= devices.len())
    {
        return Err(format!("--wire: no device {device}"));
    }
    Ok(Command::Run {
        guest_ram,
        below_4g: below_4g.unwrap_or(ABOVE_4G),
        devices,
        wires,
        taps,
    })
}

/// Parses a `--wire` value, `A:P-B:Q`.
fn parse_wire(spec: &str) -> Result<WireOpts, String> {
    let bad = || format!("bad --wire '{spec}': A:P-B:Q");
    let end = |at: &str| {
        let (device, port) = at.split_once(':')?;
        let port = port.parse().ok().filter(|&p| p < hlsim::regs::NUM_PORTS)?;
        Some((device.parse().ok()?, port))
    };
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    match (end(a), end(b)) {
        (Some(a), Some(b)) if a != b => Ok(WireOpts(a, b)),
        _ => Err(bad()),
    }
}

/// Parses a `--tap` value, `DEV.PORT=IFNAME`.
fn parse_tap(spec: &str) -> Result<TapOpts, String> {
    let bad = || format!("bad --tap '{spec}': DEV.PORT=IFNAME");
    let (at, ifname) = spec.split_once('=').ok_or_else(bad)?;
    let (device, port) = at.split_once('.').ok_or_else(bad)?;
    let (Ok(device), Ok(port)) = (device.parse(), port.parse::<usize>()) else {
        return Err(bad());
    };
    if port >= hlsim::regs::NUM_PORTS || ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ {
        return Err(bad());
    }
    Ok(TapOpts {
        device,
        port,
        ifname: ifname.into(),
    })
}

/// Parses the `--device` value of the device at `index`.
fn parse_device(spec: &str, index: usize) -> Result<DeviceOpts, String> {
    let mut sock = None;
    let mut size = DEFAULT_SIZE;
    let mut serial = index as u64 + 1;
    for opt in spec.split(',') {
        match opt.split_once('=') {
            Some(("sock", path)) if !path.is_empty() => sock = Some(PathBuf::from(path)),
            Some(("size", val)) => size = parse_size(val).ok_or(format!("bad size '{val}'"))?,
            Some(("serial", val)) => {
                serial = parse_u64(val).ok_or(format!("bad serial '{val}'"))?
            }
            _ => return Err(format!("bad device option '{opt}'")),
        }
    }
    let sock = sock.ok_or(format!("device '{spec}' has no sock=PATH"))?;
    Ok(DeviceOpts { sock, size, serial })
}

/// Parses the `--bench-memcpy` value: SIZE and ITERATIONS.
fn parse_bench(spec: &str) -> Result<(u64, u32), String> {
    let (size, iterations) = match spec.split_once(',') {
        Some((size, n)) => (size, Some(n)),
        None => (spec, None),
    };
    let size = parse_size(size)
        .filter(|s| (1..=u64::from(u32::MAX)).contains(s))
        .ok_or(format!("bad memcpy size '{size}': 1 byte to 4G - 1"))?;
    let iterations = match iterations {
        Some(n) => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("bad iteration count '{n}'"))?,
        None => BENCH_ITERATIONS,
    };
    Ok((size, iterations))
}

/// Parses a byte count with an optional binary `K`, `M` or `G` suffix.
fn parse_size(val: &str) -> Option<u64> {
    let (num, shift) = match val.as_bytes().last()? {
        b'K' | b'k' => (&val[..val.len() - 1], 10),
        b'M' | b'm' => (&val[..val.len() - 1], 20),
        b'G' | b'g' => (&val[..val.len() - 1], 30),
        _ => (val, 0),
    };
    parse_u64(num)?.checked_mul(1 << shift)
}

/// Parses a decimal or `0x`-prefixed hexadecimal number.
fn parse_u64(val: &str) -> Option<u64> {
    match val.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => val.parse().ok(),
    }
}

/// Serves `devices`, wired pairwise, then as `wires` say, and to `taps`,
/// until a signal or a device's failure.
fn run(
    guest_ram: PathBuf,
    below_4g: u64,
    devices: Vec<DeviceOpts>,
    wires: Vec<WireOpts>,
    taps: Vec<TapOpts>,
) -> Result<(), String> {
    // One thread takes SIGINT and SIGTERM synchronously; the mask is set
    // before any other thread starts, so that all inherit it.
    let signals = create_sigset(&[libc::SIGINT, libc::SIGTERM]).map_err(|e| e.to_string())?;
    // SAFETY: `signals` is an initialised set and the old mask is not wanted.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &signals, ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc).to_string());
    }

    let ram = SharedMem::open_guest_ram(&guest_ram, below_4g)
        .map_err(|e| format!("{}: {e}", guest_ram.display()))?;
    let ram = Arc::new(ram);
    let stop = EventFd::new(EFD_NONBLOCK | EFD_CLOEXEC).map_err(|e| e.to_string())?;
    let mut models = Vec::new();
    for (index, opts) in devices.iter().enumerate() {
        let name = format!("dev{index}");
        let device = Device::new(&name, opts.size, opts.serial, ram.clone())
            .map_err(|e| format!("{name}: {e}"))?;
        models.push(device);
    }
    Device::join_bus(&models);
    for pair in models.chunks(2) {
        if let [a, b] = pair {
            Device::wire(a, b);
        }
    }
    for WireOpts((a, p), (b, q)) in wires {
        Device::wire_ports(&models[a], p, &models[b], q)
            .map_err(|e| format!("--wire {a}:{p}-{b}:{q}: {e}"))?;
    }
    for tap in &taps {
        models[tap.device]
            .attach_tap(tap.port, &tap.ifname)
            .map_err(|e| format!("dev{}: tap {}: {e}", tap.device, tap.ifname))?;
    }
    let mut servers = Vec::new();
    for ((index, opts), device) in devices.iter().enumerate().zip(models) {
        let name = format!("dev{index}");
        let server = stop
            .try_clone()
            .and_then(|stop| Server::bind(name.clone(), &opts.sock, device, stop))
            .map_err(|e| format!("{name}: {e}"))?;
        eprintln!(
            "hlsim: {name}: listening on {} ({} MiB, serial {:#x})",
            opts.sock.display(),
            opts.size >> 20,
            opts.serial
        );
        servers.push((name, server));
    }
    println!("hlsim: ready");
    io::stdout().flush().map_err(|e| e.to_string())?;

    let (done_tx, done_rx) = mpsc::channel();
    let mut threads = Vec::new();
    for (name, server) in servers {
        let done = done_tx.clone();
        let thread = thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let res = server.run();
                // The receiver lives until all threads are joined.
                let _ = done.send(());
                res
            })
            .map_err(|e| e.to_string())?;
        threads.push((name, thread));
    }
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut sig = 0;
            // SAFETY: `signals` is an initialised set and `sig` is writable.
            if unsafe { libc::sigwait(&signals, &mut sig) } == 0 {
                eprintln!("hlsim: signal {sig}, exiting");
            }
            let _ = done_tx.send(());
        })
        .map_err(|e| e.to_string())?;

    // The first to finish, a device thread or the signal, stops them all.
    let _ = done_rx.recv();
    stop.write(1).map_err(|e| e.to_string())?;
    let mut failed = false;
    for (name, thread) in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("hlsim: {name}: {e}");
                failed = true;
            }
            Err(_) => failed = true,
        }
    }
    if failed {
        Err("a device failed".into())
    } else {
        Ok(())
    }
}

/// Times the copy of `LIN_DMA` ([`hlsim::mem::VolatileSlice::copy_from`])
/// of `size` bytes between two memory files, like guest RAM and device
/// memory, and prints the median of `iterations` copies. An untimed copy
/// first faults the pages in.
fn bench_memcpy(size: u64, iterations: u32) -> Result<(), String> {
    let create = |name: &str| SharedMem::create(name, size).map_err(|e| format!("{name}: {e}"));
    let (src, dst) = (create("memcpy-src")?, create("memcpy-dst")?);
    let (Some(from), Some(to)) = (src.slice(0, size), dst.slice(0, size)) else {
        return Err("the memory files are too small".into());
    };
    from.fill(0x5a);
    to.copy_from(&from);
    let mut times: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            to.copy_from(&from);
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "memcpy bytes={size} iterations={iterations} seconds={median:.6} mb_per_s={:.1}",
        size as f64 / median / 1e6
    );
    Ok(())
}

fn main() -> ExitCode {
    let result = match parse_args(env::args_os().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run {
            guest_ram,
            below_4g,
            devices,
            wires,
            taps,
        }) => run(guest_ram, below_4g, devices, wires, taps),
        Ok(Command::BenchMemcpy { size, iterations }) => bench_memcpy(size, iterations),
        Err(e) => {
            eprintln!("hlsim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hlsim: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn sizes_and_numbers() {
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("2m"), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("0x200000"), Some(2 << 20));
        assert_eq!(parse_size("17179869184G"), None);
        for bad in ["", "M", "-1M", "1T", "1.5G"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(parse_u64("0xdeadbeef"), Some(0xdead_beef));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
    }

    #[test]
    fn devices_get_defaults_and_distinct_serials() {
        let cmd = parse(&[
            "--guest-ram",
            "/r",
            "--device",
            "sock=/a",
            "--device",
            "size=2M,sock=/b,serial=0x10",
        ]);
        let devices = vec![
            DeviceOpts {
                sock: "/a".into(),
                size: DEFAULT_SIZE,
                serial: 1,
            },
            DeviceOpts {
                sock: "/b".into(),
                size: 2 << 20,
                serial: 16,
            },
        ];
        assert_eq!(
            cmd,
            Ok(Command::Run {
                guest_ram: "/r".into(),
                below_4g: ABOVE_4G,
                devices,
                wires: Vec::new(),
                taps: Vec::new(),
            })
        );
        assert_eq!(parse(&["--guest-ram", "/r", "--help"]), Ok(Command::Help));
    }

    #[test]
    fn ram_below_4g() {
        let with = |size| {
            parse(&[
                "--guest-ram",
                "/r",
                "--ram-below-4g",
                size,
                "--device",
                "sock=/a",
            ])
        };
        let Ok(Command::Run { below_4g, .. }) = with("2G") else {
            panic!("2G");
        };
        assert_eq!(below_4g, 2 << 30);
        for bad in ["0", "4097", "5G", "x"] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert!(parse(&["--bench-memcpy", "1M", "--ram-below-4g", "2G"]).is_err());
    }

    #[test]
    fn taps() {
        let cmd = parse(&[
            "--guest-ram",
            "/r",
            "--device",
            "sock=/a",
            "--tap",
            "0.9=hltap0",
        ]);
        let Ok(Command::Run { taps, .. }) = cmd else {
            panic!("{cmd:?}");
        };
        let want = TapOpts {
            device: 0,
            port: 9,
            ifname: "hltap0".into(),
        };
        assert_eq!(taps, [want]);
        let base = ["--guest-ram", "/r", "--device", "sock=/a"];
        for bad in [
            &["--tap", "1.0=t"][..],
            &["--tap", "0.10=t"],
            &["--tap", "0.1="],
            &["--tap", "0=t"],
            &["--tap", "x.1=t"],
            &["--tap", "0.1=sixteen-chars-xx"],
            &["--tap", "0.1=t", "--tap", "0.1=u"],
            &["--tap", "0.1=t", "--tap", "0.2=t"],
            &["--tap"],
        ] {
            let args: Vec<_> = base.iter().chain(bad).copied().collect();
            assert!(parse(&args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wires() {
        let base = [
            "--guest-ram",
            "/r",
            "--device",
            "sock=/a",
            "--device",
            "sock=/b",
            "--device",
            "sock=/c",
        ];
        let with = |more: &[&str]| {
            let args: Vec<_> = base.iter().chain(more).copied().collect();
            parse(&args)
        };
        let cmd = with(&["--wire", "0:9-2:3", "--wire", "1:4-1:5", "--tap", "1.9=t"]);
        let Ok(Command::Run { wires, taps, .. }) = cmd else {
            panic!("{cmd:?}");
        };
        assert_eq!(wires, [WireOpts((0, 9), (2, 3)), WireOpts((1, 4), (1, 5))]);
        assert_eq!(taps.len(), 1);
        for bad in [
            &["--wire", "0:1-3:1"][..],
            &["--wire", "0:10-1:0"],
            &["--wire", "0:1-0:1"],
            &["--wire", "0:1"],
            &["--wire", "0:1-1"],
            &["--wire", "0-1:1"],
            &["--wire", "0:1-1:x"],
            &["--wire", "0:1+1:1"],
            &["--wire", "0:1-1:1", "--wire", "2:1-1:1"],
            &["--wire", "0:1-1:1", "--wire", "0:1-2:1"],
            &["--wire", "0:1-1:1", "--tap", "1.1=t"],
            &["--tap", "0.1=t", "--wire", "2:3-0:1"],
            &["--wire"],
        ] {
            assert!(with(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["--bench-memcpy", "1M", "--wire", "0:1-1:1"]).is_err());
    }

    #[test]
    fn bench_memcpy_size_and_iterations() {
        let bench = |spec| parse(&["--bench-memcpy", spec]);
        assert_eq!(
            bench("64M"),
            Ok(Command::BenchMemcpy {
                size: 64 << 20,
                iterations: BENCH_ITERATIONS
            })
        );
        assert_eq!(
            bench("4097,3"),
            Ok(Command::BenchMemcpy {
                size: 4097,
                iterations: 3
            })
        );
        assert_eq!(parse_bench("4294967295,1"), Ok((u32::MAX.into(), 1)));
        for bad in ["", "0", "4G", "64M,", "64M,0", "64M,x", ",3", "1,2,3"] {
            assert!(bench(bad).is_err(), "{bad}");
        }
        assert!(parse(&["--bench-memcpy"]).is_err());
        assert!(parse(&["--bench-memcpy", "1M", "--guest-ram", "/r"]).is_err());
        assert!(parse(&["--device", "sock=/a", "--bench-memcpy", "1M"]).is_err());
    }

    #[test]
    fn bad_command_lines() {
        for args in [
            &["--device", "sock=/a"][..],
            &["--guest-ram", "/r"],
            &["--guest-ram"],
            &["--guest-ram", "/r", "--device"],
            &["--guest-ram", "/r", "--device", "size=2M"],
            &["--guest-ram", "/r", "--device", "sock="],
            &["--guest-ram", "/r", "--device", "sock=/a,size=big"],
            &["--guest-ram", "/r", "--device", "sock=/a,color=red"],
            &[
                "--guest-ram",
                "/r",
                "--device",
                "sock=/a",
                "--device",
                "sock=/a",
            ],
            &[
                "--guest-ram",
                "/r",
                "--device",
                "sock=/a",
                "--device",
                "sock=/b,serial=1",
            ],
            &[
                "--guest-ram",
                "/r",
                "--device",
                "sock=/a,serial=0x100000002",
                "--device",
                "sock=/b,serial=2",
            ],
            &["--guest-ram", "/r", "--device", "sock=/a", "--verbose"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
