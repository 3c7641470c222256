// SPDX-License-Identifier: GPL-2.0

//! The event loop serving one device on its socket.
//!
//! One thread per device waits, with epoll, on a stop eventfd, the
//! listening socket, the client's connection and the client's doorbells.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;

use crate::device::Device;
use crate::regs::{State, Status};
use crate::transport::{self, Client};

/// Prints one `hlsim: <device>: <message>` line to stderr.
macro_rules! log {
    ($dev:expr, $($arg:tt)+) => {
        eprintln!("hlsim: {}: {}", $dev, format_args!($($arg)+))
    };
}

/// Epoll tokens; doorbell vector `v` is `DOORBELL + v`.
const STOP: u64 = 0;
const CLIENT: u64 = 1;
const LISTENER: u64 = 2;
const DOORBELL: u64 = 3;

/// Order of handling within one wakeup: a hang-up is seen before a new
/// connection, which then is not refused as a second client.
fn priority(token: u64) -> u8 {
    match token {
        STOP => 0,
        CLIENT => 1,
        LISTENER => 3,
        _ => 2,
    }
}

/// A device served on a UNIX socket.
pub struct Server {
    name: String,
    path: PathBuf,
    device: Device,
    epoll: Epoll,
    listener: UnixListener,
    stop: EventFd,
    client: Option<Client>,
}

impl Server {
    /// Listens at `path` for the QEMU client of `device`, named `name` in
    /// logs. [`Server::run`] returns once `stop` is signalled.
    pub fn bind(name: String, path: &Path, device: Device, stop: EventFd) -> io::Result<Self> {
        let epoll = Epoll::new()?;
        let listener = transport::listen(path)?;
        let server = Self {
            name,
            path: path.to_owned(),
            device,
            epoll,
            listener,
            stop,
            client: None,
        };
        server.watch(server.stop.as_raw_fd(), STOP)?;
        server.watch(server.listener.as_raw_fd(), LISTENER)?;
        Ok(server)
    }

    /// Serves the device until stopped.
    ///
    /// An error is fatal to the device: hlsim can no longer model it.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = [EpollEvent::default(); 64];
        loop {
            let n = match self.epoll.wait(-1, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let ready = &mut events[..n];
            ready.sort_by_key(|event| priority(event.data()));
            for event in ready.iter() {
                match event.data() {
                    STOP => return Ok(()),
                    CLIENT => self.client_event()?,
                    LISTENER => self.accept()?,
                    token => self.doorbell((token - DOORBELL) as u32)?,
                }
            }
        }
    }

    fn watch(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let event = EpollEvent::new(EventSet::IN | EventSet::READ_HANG_UP, token);
        self.epoll.ctl(ControlOperation::Add, fd, event)
    }

    fn unwatch(&self, fd: RawFd) -> io::Result<()> {
        self.epoll
            .ctl(ControlOperation::Delete, fd, EpollEvent::default())
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if self.client.is_some() {
                log!(self.name, "refused a second client");
                continue;
            }
            let client = match Client::setup(stream, self.device.bar2().file()) {
                Ok(client) => client,
                Err(e) => {
                    log!(self.name, "client setup failed: {e}");
                    continue;
                }
            };
            let interrupts = client.interrupts().iter().map(EventFd::try_clone).collect();
            match interrupts {
                Ok(fds) => self.device.attach(fds),
                Err(e) => {
                    log!(self.name, "client setup failed: {e}");
                    continue;
                }
            }
            self.watch(client.stream().as_raw_fd(), CLIENT)?;
            for (token, fd) in (DOORBELL..).zip(client.doorbells()) {
                self.watch(fd.as_raw_fd(), token)?;
            }
            self.client = Some(client);
            log!(self.name, "client connected");
        }
    }

    fn client_event(&mut self) -> io::Result<()> {
        let Some(client) = &self.client else {
            return Ok(());
        };
        match client.drain() {
            Ok(true) => return Ok(()),
            Ok(false) => log!(self.name, "client disconnected"),
            Err(e) => log!(self.name, "client connection failed: {e}"),
        }
        self.disconnect()
    }

    /// Drops the client and resets the device for the next one.
    fn disconnect(&mut self) -> io::Result<()> {
        if let Some(client) = self.client.take() {
            self.unwatch(client.stream().as_raw_fd())?;
            for fd in client.doorbells() {
                self.unwatch(fd.as_raw_fd())?;
            }
        }
        let res = self.device.reset();
        self.device.detach();
        res
    }

    fn doorbell(&mut self, vector: u32) -> io::Result<()> {
        let Some(client) = &self.client else {
            return Ok(());
        };
        let Some(fd) = client.doorbells().get(vector as usize) else {
            return Ok(());
        };
        let count = match fd.read() {
            Ok(count) => count,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(done) = self.device.doorbell(vector, count)? else {
            return Ok(());
        };
        if done.status != Status::Ok {
            log!(
                self.name,
                "command {:#x} seq {}: {:?}",
                done.cmd,
                done.seq,
                done.status
            );
        }
        Ok(())
    }
}

impl Drop for Server {
    /// Tells a guest still attached that its model is gone, and removes the socket.
    fn drop(&mut self) {
        self.device.set_state(State::Detached);
        if let Err(e) = std::fs::remove_file(&self.path) {
            log!(self.name, "cannot remove {}: {e}", self.path.display());
        }
    }
}
