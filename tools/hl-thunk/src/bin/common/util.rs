// SPDX-License-Identifier: GPL-2.0

//! What the test programs share: results, TAP, running jobs, moving data
//! between host and device memory.

use std::fmt::{self, Debug, Display};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hlthunk::{Cause, CommandBuffer, CsStatus, Device, HostBuffer, Job, Packet, Queue};

/// Why a check failed.
#[derive(Debug)]
pub struct Fail(pub String);

impl From<hlthunk::Error> for Fail {
    fn from(e: hlthunk::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// A check's result.
pub type R<T = ()> = Result<T, Fail>;

/// Fails the check with a message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::util::Fail(format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;

/// TAP output as kselftest reads it: a line per check, diagnostics as
/// comments, the plan at the end.
#[derive(Default)]
pub struct Tap {
    count: u32,
    failed: u32,
}

impl Tap {
    /// Reports one check.
    pub fn check(&mut self, name: impl Display, result: R) {
        self.count += 1;
        match result {
            Ok(()) => println!("ok {} {name}", self.count),
            Err(Fail(why)) => {
                self.failed += 1;
                println!("not ok {} {name}", self.count);
                for line in why.lines() {
                    println!("# {line}");
                }
            }
        }
    }

    /// A diagnostic line.
    pub fn diag(&self, msg: impl Display) {
        println!("# {msg}");
    }

    /// Prints the plan; whether every check passed.
    pub fn finish(&self) -> bool {
        println!("1..{}", self.count);
        if self.failed != 0 {
            println!("# {} of {} checks failed", self.failed, self.count);
        }
        self.failed == 0 && self.count != 0
    }
}

/// A group of checks on what the tests run against.
pub type Group<E> = fn(&mut Tap, &E);

/// A test program's command line: options with a value (`-d N`), then the
/// names of the groups to run.
pub struct Cmdline<E: 'static> {
    usage: &'static str,
    all: &'static [(&'static str, Group<E>)],
    /// The options given, with their values, in order.
    pub options: Vec<(String, String)>,
    /// The groups named, or all of them.
    pub groups: Vec<Group<E>>,
}

impl<E> Cmdline<E> {
    /// The process's arguments: options among `options`, then names of
    /// groups among `all`; anything else is a usage error.
    pub fn parse(
        usage: &'static str,
        all: &'static [(&'static str, Group<E>)],
        options: &[&str],
    ) -> Result<Self, ExitCode> {
        Self::parse_from(usage, all, options, std::env::args().skip(1))
    }

    /// [`Cmdline::parse`] of the arguments `args`.
    pub fn parse_from(
        usage: &'static str,
        all: &'static [(&'static str, Group<E>)],
        options: &[&str],
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, ExitCode> {
        let mut cmd = Self {
            usage,
            all,
            options: Vec::new(),
            groups: Vec::new(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if options.contains(&arg.as_str()) {
                let value = args.next().ok_or_else(|| cmd.usage_error())?;
                cmd.options.push((arg, value));
            } else if let Some(&(_, g)) = all.iter().find(|(name, _)| *name == arg) {
                cmd.groups.push(g);
            } else {
                return Err(cmd.usage_error());
            }
        }
        if cmd.groups.is_empty() {
            cmd.groups = all.iter().map(|&(_, g)| g).collect();
        }
        Ok(cmd)
    }

    /// Prints the usage and the groups' names: the exit status of a usage
    /// error.
    pub fn usage_error(&self) -> ExitCode {
        let names: Vec<_> = self.all.iter().map(|(n, _)| *n).collect();
        eprintln!("{}\ngroups: {}", self.usage, names.join(" "));
        ExitCode::from(2)
    }

    /// Runs the groups against `env` and prints the plan: the exit status.
    pub fn run(&self, tap: &mut Tap, env: &E) -> ExitCode {
        for group in &self.groups {
            group(tap, env);
        }
        if tap.finish() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// The name of an errno, for messages.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::E2BIG => "E2BIG",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EOVERFLOW => "EOVERFLOW",
        _ => return format!("errno {errno}"),
    };
    name.to_owned()
}

/// Names of errnos, "EACCES or EPERM".
fn errno_names(errnos: &[i32]) -> String {
    errnos
        .iter()
        .map(|&e| errno_name(e))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks that a call failed with one of `errnos`.
pub fn expect_errno<T: Debug>(r: hlthunk::Result<T>, errnos: &[i32]) -> R {
    match r {
        Err(e) if errnos.contains(&e.errno()) => Ok(()),
        Err(e) => Err(Fail(format!(
            "expected {}, got {} ({e})",
            errno_names(errnos),
            errno_name(e.errno())
        ))),
        Ok(v) => Err(Fail(format!(
            "expected {}, the call succeeded ({v:?})",
            errno_names(errnos)
        ))),
    }
}

/// The raw ioctl: the errno on failure.
pub fn raw_ioctl(dev: &Device, request: libc::c_ulong, arg: *mut libc::c_void) -> Result<(), i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: the tests pass arguments the kernel may only read, write or
    // reject: pointers into this process's memory, or invalid ones on
    // purpose (the kernel checks user pointers).
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), request, arg) };
    if rc < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(())
    }
}

/// Checks that a raw ioctl failed with one of `errnos`.
pub fn expect_ioctl_errno(r: Result<(), i32>, errnos: &[i32]) -> R {
    match r {
        Err(e) if errnos.contains(&e) => Ok(()),
        Err(e) => Err(Fail(format!(
            "expected {}, got {}",
            errno_names(errnos),
            errno_name(e)
        ))),
        Ok(()) => Err(Fail(format!(
            "expected {}, the ioctl succeeded",
            errno_names(errnos)
        ))),
    }
}

/// How long a submission that should finish may take.
pub const CS_WAIT: Duration = Duration::from_secs(30);

/// Submits `jobs` and waits for them to be done.
pub fn run(dev: &Device, jobs: &[Job]) -> R<CsStatus> {
    let seq = dev.submit(jobs)?;
    let status = dev.wait_cs(seq, CS_WAIT)?;
    ensure!(
        status != CsStatus::Busy,
        "seq {seq} still busy after {CS_WAIT:?}"
    );
    Ok(status)
}

/// Submits `jobs` and expects them to complete.
pub fn run_ok(dev: &Device, jobs: &[Job]) -> R {
    let status = run(dev, jobs)?;
    ensure!(status == CsStatus::Completed, "submission {status}");
    Ok(())
}

/// Runs the job of `bytes` on `queue`, which must abort (WAIT_CS: EIO,
/// ABORTED) with `cause` counted in `HL_INFO_HW_EVENTS`; then the queue
/// must run the next job.
pub fn expect_abort(dev: &Device, queue: Queue, bytes: &[u8], cause: Cause) -> R {
    let event = cause.event(queue);
    let before = dev.hw_events(false)?.count(event);
    let mut cb = dev.command_buffer(bytes.len() as u32)?;
    cb.push_bytes(bytes)?;
    let status = run(dev, &[cb.job(queue)])?;
    ensure!(status == CsStatus::Aborted, "{status}, expected aborted");
    let counted = poll(Duration::from_secs(2), || {
        Ok(dev.hw_events(false)?.count(event) > before)
    })?;
    ensure!(counted, "no {cause} event counted (GAUDI event {event})");
    run_packets(dev, queue, &[Packet::nop()]).map_err(|e| Fail(format!("next job: {e}")))
}

/// A command buffer of `packets`.
pub fn cb_of<'d>(dev: &'d Device, packets: &[Packet]) -> R<CommandBuffer<'d>> {
    Ok(dev.command_buffer_of(packets)?)
}

/// Runs `packets` as one job on `queue` and expects it to complete.
pub fn run_packets(dev: &Device, queue: Queue, packets: &[Packet]) -> R {
    let cb = cb_of(dev, packets)?;
    run_ok(dev, &[cb.job(queue)])
}

/// Copies `data` to device address `addr` with DMA 0.
pub fn upload(dev: &Device, addr: u64, data: &[u8]) -> R {
    let mut buf = HostBuffer::new(data.len())?;
    buf.copy_from_slice(data);
    let host = dev.map_host(&mut buf)?;
    run_packets(
        dev,
        Queue::Dma0,
        &[Packet::lin_dma(
            host.device_addr(),
            addr,
            data.len() as u32,
        )?],
    )
}

/// Copies `len` bytes at device address `addr` to the host with DMA 1.
pub fn download(dev: &Device, addr: u64, len: usize) -> R<Vec<u8>> {
    let mut buf = HostBuffer::new(len)?;
    let host = dev.map_host(&mut buf)?;
    run_packets(
        dev,
        Queue::Dma1,
        &[Packet::lin_dma(addr, host.device_addr(), len as u32)?],
    )?;
    Ok(host.to_vec())
}

/// Address space nothing may access (PROT_NONE): user pointers into it are
/// bad ones.
pub struct NoAccess {
    ptr: *mut libc::c_void,
    len: usize,
}

impl NoAccess {
    pub fn new(len: usize) -> R<Self> {
        // SAFETY: a new private mapping where the kernel chooses; it
        // replaces nothing of this process.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Fail(format!(
                "mmap of {len} bytes: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Self { ptr, len })
    }

    /// The first byte's address.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }
}

impl Drop for NoAccess {
    fn drop(&mut self) {
        // SAFETY: our mapping, which nothing can have accessed.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// xorshift64: reproducible test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let x = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&x[..chunk.len()]);
        }
    }
}

/// Polls `f` until it holds or `timeout` passes.
pub fn poll(timeout: Duration, mut f: impl FnMut() -> R<bool>) -> R<bool> {
    let start = Instant::now();
    loop {
        if f()? {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// poll(2) on `fd` for `POLLIN`: the events it returned (0 on timeout).
pub fn poll_in(fd: std::os::fd::RawFd, timeout: Duration) -> R<i16> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
    ensure!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    Ok(pfd.revents)
}

/// Compares two byte ranges, naming the first difference.
pub fn same_bytes(what: &str, got: &[u8], want: &[u8]) -> R {
    ensure!(
        got.len() == want.len(),
        "{what}: {} bytes, expected {}",
        got.len(),
        want.len()
    );
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        let n = got.iter().zip(want).filter(|(a, b)| a != b).count();
        return Err(Fail(format!(
            "{what}: {n} of {} bytes differ, the first at {i}: {:#04x}, expected {:#04x}",
            got.len(),
            got[i],
            want[i]
        )));
    }
    Ok(())
}

/// Checks that every byte is `value`.
pub fn all_bytes(what: &str, got: &[u8], value: u8) -> R {
    if let Some(i) = got.iter().position(|&b| b != value) {
        return Err(Fail(format!(
            "{what}: byte {i} of {} is {:#04x}, expected {value:#04x}",
            got.len(),
            got[i]
        )));
    }
    Ok(())
}

impl Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
