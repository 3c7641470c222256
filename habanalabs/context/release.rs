// SPDX-License-Identifier: GPL-2.0

//! The release of a closed compute context.
//!
//! Closing the compute node does not wait for the submissions still in flight, as mainline's
//! `hl_device_release` does not: it waits [`GRACE`] at most (a process that exits with a short
//! job in flight leaves the node free for the next one, as before), then hands the context to
//! the device's [`Releaser`], which releases it once the last submission ended, by itself or
//! at its timeout (the watchdog's). Meanwhile the node cannot be opened (`EAGAIN`, as
//! mainline's `compute_ctx_in_release`), and nothing the device may still write (the context's
//! MMU mappings, the host pages they pin, its command buffers) is freed.

use core::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};
use kernel::{
    c_str, new_mutex,
    prelude::*,
    static_lock_class,
    sync::{Arc, Mutex},
    workqueue::{self, DelayedWork, DelayedWorkItem},
};

use super::Context;
use crate::{deadline::Deadline, device::HlDevice, scrub};

/// How long closing the node waits for the submissions in flight before it leaves them to the
/// [`Releaser`].
pub(crate) const GRACE: Duration = Duration::from_secs(1);

/// What a closed file leaves behind: its context, released by [`Closed::finish`] once no
/// submission of it is in flight.
pub(super) struct Closed {
    pub(super) ctx: Arc<Mutex<Context>>,
    pub(super) dev: Arc<HlDevice>,
    /// Whether the user may have written device memory, which is then scrubbed.
    pub(super) used: bool,
    /// The device's reset generation at open: a hard reset since wiped device memory.
    pub(super) generation: u32,
}

/// The context's identity among the device's exports.
pub(super) fn owner(ctx: &Arc<Mutex<Context>>) -> usize {
    core::ptr::from_ref::<Mutex<Context>>(ctx) as usize
}

impl Closed {
    /// Waits for the context's submissions to end, recovering those that run past their
    /// timeout, until `until` if given: whether none is left in flight.
    pub(super) fn drain(&self, until: Option<Deadline>) -> bool {
        loop {
            let next = self.ctx.lock().submissions.in_flight().next().cloned();
            let Some(cs) = next else { return true };
            if cs.expired() {
                self.dev.recover_cs(&cs);
                continue;
            }
            let wake = match until {
                Some(until) if until.passed() => return false,
                Some(until) => until.min(cs.deadline()),
                None => cs.deadline(),
            };
            let _ = cs.completion().wait_timeout(wake.sleep());
        }
    }

    /// Releases the context, whose submissions all ended.
    pub(super) fn finish(self) {
        // Importers of the context's memory stop before it goes (without the context's lock:
        // the context may import its own exports).
        let kept = self.dev.exports().revoke(Some(owner(&self.ctx)));
        if kept > 0 {
            dev_warn!(
                self.dev.pdev(),
                "dma-buf importers kept {} mappings\n",
                kept
            );
        }
        let mut ctx = self.ctx.lock();
        let imports = ctx.memory.take_imports();
        // Before the memory it names goes: the receive queues, the rings, device memory.
        let clean = ctx.rdma.teardown(self.dev.rdma());
        drop(ctx);
        // Detached without the context's lock.
        drop(imports);
        // No submission runs and no peer reaches this device's memory any more: the next user
        // finds it zeroed (driver.rst, Memory scrubbing). Not under the context's lock: the
        // scrub takes the binding, which comes first in the lock order.
        // A hard reset that ended the context wiped device memory already; a device that
        // unbinds is reset and opened by nobody.
        let ended = self.generation != self.dev.reset().generation();
        let stopping = self.dev.releaser().stopping.load(Ordering::Acquire);
        if clean && self.used && !ended && !stopping {
            match scrub::scrub(&self.dev) {
                // Gone or going: nobody will open the node again.
                Ok(()) | Err(ENODEV) => {}
                Err(e) => dev_err!(
                    self.dev.pdev().as_ref(),
                    "device memory scrub failed: {}\n",
                    e.to_errno()
                ),
            }
        }
        self.ctx.lock().memory.release(self.dev.hw());
        self.dev.stats().closed();
    }
}

/// The device's releaser of a closed context whose submissions were still running: one at
/// most, since the node cannot be opened again before it is done.
#[pin_data]
pub(crate) struct Releaser {
    /// Set from the hand-over until the release is done.
    pending: AtomicBool,
    /// Set when the device unbinds: no scrub (the device is reset and goes).
    stopping: AtomicBool,
    #[pin]
    work: DelayedWork<Release>,
}

/// The work's data: the closed context, from the hand-over until the work takes it.
#[pin_data]
struct Release {
    #[pin]
    closed: Mutex<Option<Closed>>,
}

impl DelayedWorkItem for Release {
    fn run(work: &DelayedWork<Self>) {
        let Some(closed) = work.data().closed.lock().take() else {
            return;
        };
        let dev = closed.dev.clone();
        closed.drain(None);
        closed.finish();
        dev.releaser().pending.store(false, Ordering::Release);
    }
}

impl Releaser {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            pending: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            work <- DelayedWork::new(
                pin_init!(Release { closed <- new_mutex!(None) }),
                c_str!("habanalabs-release"),
                static_lock_class!()
            ),
        })
    }

    /// Whether a closed context is still being released.
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Releases `closed` in the background once its submissions ended; in the caller if the
    /// device is unbinding (its submissions end at once).
    pub(super) fn hand_over(&self, closed: Closed) {
        self.pending.store(true, Ordering::Release);
        *self.work.data().closed.lock() = Some(closed);
        if !self.work.schedule(workqueue::system_long(), 0) {
            // Disabled: the device unbinds, and `stop` may have run already.
            self.run_here();
        }
    }

    /// Releases what was handed over and not taken by the work.
    fn run_here(&self) {
        if let Some(closed) = self.work.data().closed.lock().take() {
            closed.drain(None);
            closed.finish();
        }
        self.pending.store(false, Ordering::Release);
    }

    /// At unbind, before the device is reset: a release from now on does not scrub.
    pub(crate) fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// At unbind, once every submission ended (the device was reset): finishes a release under
    /// way, so none runs once the driver's code may go.
    pub(crate) fn stop(&self) {
        self.work.disable_sync();
        self.run_here();
    }
}
