// SPDX-License-Identifier: GPL-2.0

//! Interrupts to the guest: one eventfd per vector, given by the client.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use vmm_sys_util::eventfd::EventFd;

/// The interrupt eventfds of the attached client, if any.
#[derive(Default)]
pub struct Interrupts {
    fds: Mutex<Vec<EventFd>>,
    /// No interrupt is raised while set (a vanished device).
    muted: AtomicBool,
}

impl Interrupts {
    /// Delivers later interrupts to `fds`, indexed by vector.
    pub fn attach(&self, fds: Vec<EventFd>) {
        *self.lock() = fds;
    }

    /// Drops later interrupts.
    pub fn detach(&self) {
        self.lock().clear();
    }

    /// Stops (`true`) or resumes raising interrupts.
    pub fn mute(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    /// Raises `vector`, if a client is attached and interrupts are not muted.
    ///
    /// Interrupts are edge events with no state to lose: a failure to
    /// deliver one is logged, not returned.
    pub fn raise(&self, vector: u32) {
        if self.muted.load(Ordering::Relaxed) {
            return;
        }
        let fds = self.lock();
        let Some(fd) = fds.get(vector as usize) else {
            return;
        };
        match fd.write(1) {
            // The counter is saturated: the interrupt is pending anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => eprintln!("hlsim: interrupt {vector}: {e}"),
            Ok(()) => {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<EventFd>> {
        self.fds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmm_sys_util::eventfd::EFD_NONBLOCK;

    #[test]
    fn raises_only_attached_vectors() {
        let irq = Interrupts::default();
        irq.raise(0);
        let fds: Vec<_> = (0..2)
            .map(|_| EventFd::new(EFD_NONBLOCK).unwrap())
            .collect();
        let mine: Vec<_> = fds.iter().map(|fd| fd.try_clone().unwrap()).collect();
        irq.attach(fds);
        irq.raise(1);
        irq.raise(1);
        irq.raise(5);
        assert!(mine[0].read().is_err());
        assert_eq!(mine[1].read().unwrap(), 2);
        irq.detach();
        irq.raise(1);
        assert!(mine[1].read().is_err());
    }
}
