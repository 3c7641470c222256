// SPDX-License-Identifier: GPL-2.0

//! Host TAP interfaces as port peers.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::port::Port;

/// Largest frame read from a TAP.
const READ_MAX: usize = 65536;
/// How long the reader waits for a frame before it looks at its stop flag.
const POLL_MS: i32 = 20;

/// An open TAP interface.
pub struct Tap {
    file: File,
}

impl Tap {
    /// Opens the TAP interface `name`, creating it if need be.
    pub fn open(name: &str) -> io::Result<Self> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad interface name '{name}'"),
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        // struct ifreq: the name, then the flags in the union.
        let mut ifr = [0u8; 40];
        ifr[..name.len()].copy_from_slice(name.as_bytes());
        let flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        ifr[libc::IFNAMSIZ..libc::IFNAMSIZ + 2].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: TUNSETIFF reads and writes one struct ifreq, which `ifr`
        // is large enough to hold, and keeps no pointer to it.
        if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, ifr.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { file })
    }

    /// Writes one frame to the host; `false` if the host did not take it.
    pub fn send(&self, frame: &[u8]) -> bool {
        matches!((&self.file).write(frame), Ok(n) if n == frame.len())
    }

    /// Delivers frames from the host to `port` until `stop` is set.
    pub(crate) fn serve(&self, port: &Port, stop: &AtomicBool) {
        let mut buf = vec![0; READ_MAX];
        while !stop.load(Ordering::Relaxed) {
            let mut pfd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `pfd` is one valid pollfd for the duration of the call.
            if unsafe { libc::poll(&mut pfd, 1, POLL_MS) } <= 0 {
                continue;
            }
            while let Ok(n) = (&self.file).read(&mut buf) {
                if n >= crate::regs::FRAME_MIN as usize {
                    // A TAP cannot be paused: priority 0, dropped without a buffer.
                    port.receive(&buf[..n], 0, false, false);
                }
            }
        }
    }
}

/// A TAP bridged to a port, and the thread that reads it.
pub(crate) struct Bridge {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) thread: std::thread::JoinHandle<()>,
}
