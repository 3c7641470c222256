// SPDX-License-Identifier: GPL-2.0

//! The NIC: ten ports, each with a worker thread, each wired to a port of
//! a device of the process or bridged to a host TAP interface, and the
//! RDMA they carry for the NIC QMANs.

pub mod counters;
pub mod eeprom;
pub mod link;
pub mod offload;
pub(crate) mod port;
pub mod rdma;
pub mod sched;
pub mod tap;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use crate::device::Shared;
use crate::regs::{NUM_PORTS, eeprom as eeprom_regs};
use port::{Port, Wire};
use tap::{Bridge, Tap};

pub use port::BACKLOG_FRAMES;

/// A device's ports.
pub(crate) struct Nic {
    ports: Vec<Arc<Port>>,
    threads: Vec<JoinHandle<()>>,
    bridges: Mutex<Vec<Bridge>>,
    dev: Arc<Shared>,
    serial: u64,
}

impl Nic {
    /// Creates the ports of the device `dev` named `name`, unwired, writes
    /// their EEPROMs and starts their workers.
    pub(crate) fn new(name: &str, dev: &Arc<Shared>, serial: u64) -> io::Result<Self> {
        let ports: Vec<_> = (0..NUM_PORTS)
            .map(|p| Arc::new(Port::new(p, dev.clone())))
            .collect();
        let mut nic = Self {
            ports,
            threads: Vec::new(),
            bridges: Mutex::default(),
            dev: dev.clone(),
            serial,
        };
        nic.write_eeproms();
        for port in &nic.ports {
            let port = port.clone();
            let thread = thread::Builder::new()
                .name(format!("{name}-p{}", nic.threads.len()))
                .spawn(move || port.run())?;
            nic.threads.push(thread);
        }
        Ok(nic)
    }

    fn write_eeproms(&self) {
        for p in 0..NUM_PORTS {
            let image = eeprom::image(self.serial, p);
            self.dev
                .bar
                .slice(eeprom_regs::block(p), image.len() as u64)
                .expect("the EEPROMs are inside BAR2")
                .write_from(&image);
        }
    }

    /// Port `p`.
    pub(crate) fn port(&self, p: usize) -> Arc<Port> {
        self.ports[p].clone()
    }

    /// Port `p`'s doorbell rang.
    pub(crate) fn ring(&self, p: usize) {
        self.ports[p].ring();
    }

    /// Runs `clear`, which zeroes the port, connection and completion queue
    /// registers, with every port stopped and its state dropped and no RDMA
    /// step in progress at any of them; then restores the EEPROMs and
    /// re-evaluates the links, so that peers see theirs go down.
    pub(crate) fn reset(&self, clear: impl FnOnce()) {
        {
            let mut tx: Vec<_> = self.ports.iter().map(|p| lock(&p.tx)).collect();
            let mut rx: Vec<_> = self.ports.iter().map(|p| lock(&p.rx)).collect();
            let _link = port::lock_links();
            let mut rdma = rdma::lock_all(&self.ports);
            tx.iter_mut().for_each(|t| **t = Default::default());
            rx.iter_mut().for_each(|r| **r = Default::default());
            rdma.iter_mut().for_each(|r| r.reset_all());
            clear();
            self.write_eeproms();
        }
        for port in &self.ports {
            port.relink();
        }
    }

    /// Stops port `p` for `PORT_STOP`: see [`Port::stop`].
    pub(crate) fn stop(&self, p: usize) {
        self.ports[p].stop();
    }

    /// `CONN_RESET` of connection `c` of port `p`: see [`rdma::conn_reset`].
    pub(crate) fn conn_reset(&self, p: usize, c: usize) {
        rdma::conn_reset(&self.ports[p], c);
    }

    /// `CQ_RESET` of completion queue `k` of port `p`: see [`rdma::cq_reset`].
    pub(crate) fn cq_reset(&self, p: usize, k: usize) {
        rdma::cq_reset(&self.ports[p], k);
    }

    /// Whether port `p` is bridged to a TAP interface.
    pub(crate) fn tapped(&self, p: usize) -> bool {
        matches!(self.ports[p].wire(), Wire::Tap(_))
    }

    /// Wires port `p` of `a` to port `q` of `b`, unwiring the ports they
    /// were wired to. Neither is bridged to a TAP interface.
    pub(crate) fn wire(a: &Nic, p: usize, b: &Nic, q: usize) {
        let (a, b) = (&a.ports[p], &b.ports[q]);
        unwire_peer(a);
        unwire_peer(b);
        a.set_wire(Wire::Port(Arc::downgrade(b)));
        b.set_wire(Wire::Port(Arc::downgrade(a)));
        a.relink();
    }

    /// Bridges port `p` to the host TAP interface `ifname`, unwiring its
    /// peer port if it had one.
    pub(crate) fn attach_tap(&self, p: usize, ifname: &str) -> io::Result<()> {
        let tap = Arc::new(Tap::open(ifname)?);
        let port = self.ports[p].clone();
        unwire_peer(&port);
        port.set_wire(Wire::Tap(tap.clone()));
        port.relink();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name(format!("tap-{ifname}"))
            .spawn(move || tap.serve(&port, &flag))?;
        lock(&self.bridges).push(Bridge { stop, thread });
        Ok(())
    }
}

impl Drop for Nic {
    /// Stops the workers and the TAP readers.
    fn drop(&mut self) {
        for port in &self.ports {
            port.exit();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        for bridge in lock(&self.bridges).drain(..) {
            bridge.stop.store(true, Ordering::Relaxed);
            let _ = bridge.thread.join();
        }
    }
}

/// Unwires the port at the other end of `port`'s wire, if any, and
/// re-evaluates its link.
fn unwire_peer(port: &Port) {
    if let Some(peer) = port.peer_port() {
        peer.set_wire(Wire::None);
        peer.relink();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
