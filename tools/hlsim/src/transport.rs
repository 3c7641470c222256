// SPDX-License-Identifier: GPL-2.0

//! The ivshmem server protocol (QEMU `docs/specs/ivshmem-spec.rst`).
//!
//! The server talks in 8-byte little-endian messages, some carrying one
//! file descriptor. hlsim is both the server of a device and a peer of its
//! client: on connection it sends the client
//!
//! 1. the protocol version, [`PROTOCOL_VERSION`];
//! 2. the client's peer id, [`CLIENT_PEER`];
//! 3. `-1` with the shared memory (BAR2);
//! 4. [`MODEL_PEER`] once per vector, each with a doorbell eventfd that
//!    hlsim reads: the guest rings it with `(MODEL_PEER << 16) | vector`;
//! 5. [`CLIENT_PEER`] once per vector, each with an eventfd that hlsim
//!    writes to raise that MSI-X vector in the guest.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use vmm_sys_util::eventfd::{EFD_CLOEXEC, EFD_NONBLOCK, EventFd};
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

use crate::regs::NUM_VECTORS;

/// Protocol version sent first.
pub const PROTOCOL_VERSION: i64 = 0;
/// hlsim's peer id, the target of every doorbell.
pub const MODEL_PEER: u16 = 0;
/// The peer id of the (only) client.
pub const CLIENT_PEER: u16 = 1;
/// Message carrying the shared memory.
const SHM_MESSAGE: i64 = -1;
/// Bound on sending the setup messages to a client that does not read them.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Listens on `path`, replacing a stale socket left there.
///
/// The listener is non-blocking.
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A connected client (QEMU) and the eventfds shared with it.
pub struct Client {
    stream: UnixStream,
    doorbells: Vec<EventFd>,
    interrupts: Vec<EventFd>,
}

impl Client {
    /// Sends the setup messages over a newly accepted `stream`, sharing `shm`.
    ///
    /// The stream is non-blocking afterwards.
    pub fn setup(stream: UnixStream, shm: &File) -> io::Result<Self> {
        let eventfds = || -> io::Result<Vec<EventFd>> {
            (0..NUM_VECTORS)
                .map(|_| EventFd::new(EFD_NONBLOCK | EFD_CLOEXEC))
                .collect()
        };
        let (doorbells, interrupts) = (eventfds()?, eventfds()?);
        stream.set_write_timeout(Some(SEND_TIMEOUT))?;
        send(&stream, PROTOCOL_VERSION, None)?;
        send(&stream, CLIENT_PEER.into(), None)?;
        send(&stream, SHM_MESSAGE, Some(shm.as_raw_fd()))?;
        for fd in &doorbells {
            send(&stream, MODEL_PEER.into(), Some(fd.as_raw_fd()))?;
        }
        for fd in &interrupts {
            send(&stream, CLIENT_PEER.into(), Some(fd.as_raw_fd()))?;
        }
        stream.set_nonblocking(true)?;
        Ok(Self {
            stream,
            doorbells,
            interrupts,
        })
    }

    /// The connection.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// hlsim's doorbell eventfds, indexed by vector.
    pub fn doorbells(&self) -> &[EventFd] {
        &self.doorbells
    }

    /// The eventfds raising each vector in the guest, indexed by vector.
    pub fn interrupts(&self) -> &[EventFd] {
        &self.interrupts
    }

    /// Reads and drops whatever the client sent; `Ok(false)` once it has hung up.
    pub fn drain(&self) -> io::Result<bool> {
        let mut buf = [0; 64];
        loop {
            match (&self.stream).read(&mut buf) {
                Ok(0) => return Ok(false),
                // Closed with our messages unread, as QEMU may at exit.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Sends one message, with `fd` if given.
fn send(stream: &UnixStream, msg: i64, fd: Option<RawFd>) -> io::Result<()> {
    let buf = msg.to_le_bytes();
    let fds = fd.as_slice();
    let sent = stream
        .send_with_fds(&[&buf[..]], fds)
        .map_err(io::Error::from)?;
    if sent != buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short message write",
        ));
    }
    Ok(())
}
