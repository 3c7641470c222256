// SPDX-License-Identifier: GPL-2.0

//! The NIC: ten ports, each with a worker thread, wired pairwise to ports
//! of other devices of the process or bridged to host TAP interfaces.

pub mod counters;
pub mod eeprom;
pub mod link;
mod port;
pub mod sched;
pub mod tap;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use crate::irq::Interrupts;
use crate::mem::SharedMem;
use crate::regs::{NUM_PORTS, eeprom as eeprom_regs};
use port::{Port, Wire};
use tap::{Bridge, Tap};

pub use port::BACKLOG_FRAMES;

/// A device's ports.
pub(crate) struct Nic {
    ports: Vec<Arc<Port>>,
    threads: Vec<JoinHandle<()>>,
    bridges: Mutex<Vec<Bridge>>,
    bar: Arc<SharedMem>,
    serial: u64,
}

impl Nic {
    /// Creates the ports of the device named `name`, unwired, writes their
    /// EEPROMs and starts their workers.
    pub(crate) fn new(
        name: &str,
        bar: Arc<SharedMem>,
        ram: Arc<SharedMem>,
        irq: Arc<Interrupts>,
        serial: u64,
    ) -> io::Result<Self> {
        let ports: Vec<_> = (0..NUM_PORTS)
            .map(|p| Arc::new(Port::new(p, bar.clone(), ram.clone(), irq.clone())))
            .collect();
        let mut nic = Self {
            ports,
            threads: Vec::new(),
            bridges: Mutex::default(),
            bar,
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
            self.bar
                .slice(eeprom_regs::block(p), image.len() as u64)
                .expect("the EEPROMs are inside BAR2")
                .write_from(&image);
        }
    }

    /// Port `p`'s doorbell rang.
    pub(crate) fn ring(&self, p: usize) {
        self.ports[p].ring();
    }

    /// Runs `clear`, which zeroes the port registers, with every port
    /// stopped and its state dropped; then restores the EEPROMs and
    /// re-evaluates the links, so that peers see theirs go down.
    pub(crate) fn reset(&self, clear: impl FnOnce()) {
        {
            let mut tx: Vec<_> = self.ports.iter().map(|p| lock(&p.tx)).collect();
            let mut rx: Vec<_> = self.ports.iter().map(|p| lock(&p.rx)).collect();
            let _link = port::lock_links();
            tx.iter_mut().for_each(|t| **t = Default::default());
            rx.iter_mut().for_each(|r| **r = Default::default());
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

    /// Wires port `p` of `a` to port `p` of `b`.
    pub(crate) fn wire(a: &Nic, b: &Nic, p: usize) {
        a.ports[p].set_wire(Wire::Port(Arc::downgrade(&b.ports[p])));
        b.ports[p].set_wire(Wire::Port(Arc::downgrade(&a.ports[p])));
        a.ports[p].relink();
    }

    /// Bridges port `p` to the host TAP interface `ifname`, unwiring its
    /// peer port if it had one.
    pub(crate) fn attach_tap(&self, p: usize, ifname: &str) -> io::Result<()> {
        let tap = Arc::new(Tap::open(ifname)?);
        let port = self.ports[p].clone();
        if let Wire::Port(peer) = port.wire() {
            if let Some(peer) = peer.upgrade() {
                peer.set_wire(Wire::None);
                peer.relink();
            }
        }
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
