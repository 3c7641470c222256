// SPDX-License-Identifier: GPL-2.0

//! The device's health as devlink reports it: errors are counted here by the parts that see
//! them (event queue, submissions, Ethernet ports) and passed on to the devlink health
//! reporters of [`crate::devlink`] while those are registered.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::{c_str, new_mutex, prelude::*, sync::Arc, sync::Mutex};

use crate::{devlink::Reporters, nic::MAX_PORTS};

/// The last error of a kind: when (ns, 0: none yet) and what.
#[derive(Default)]
pub(crate) struct LastError {
    pub(crate) ns: AtomicU64,
    pub(crate) what: AtomicU64,
    pub(crate) info: AtomicU64,
}

impl LastError {
    fn set(&self, what: u64, info: u64) {
        self.what.store(what, Ordering::Relaxed);
        self.info.store(info, Ordering::Relaxed);
        self.ns
            .store(crate::stats::now_ns() as u64, Ordering::Release);
    }
}

/// Errors since the driver bound, and where to report them.
#[pin_data]
pub(crate) struct Health {
    /// Errors the engines reported in the event queue.
    pub(crate) device_errors: AtomicU64,
    /// The last: its cause and `queue << 32 | info` (low half).
    pub(crate) last_device_error: LastError,
    /// Device errors counted but not reported yet (the event queue reports after draining).
    pending: AtomicU64,
    /// Submissions that ran past their timeout, and the last one's sequence number.
    pub(crate) cs_timeouts: AtomicU64,
    pub(crate) last_cs_timeout: LastError,
    /// Hard resets reported, and the last one's cause (`reset::Cause`).
    pub(crate) hard_resets: AtomicU64,
    pub(crate) last_hard_reset: LastError,
    /// Events the device dropped because the event queue was full, as last reported.
    pub(crate) eq_lost: AtomicU64,
    /// Transmit timeouts per port.
    pub(crate) tx_timeouts: [AtomicU64; MAX_PORTS as usize],
    /// Ports with a transmit timeout counted but not reported yet, a bit each (the watchdog
    /// reports them).
    tx_pending: AtomicU32,
    /// The reporters, while devlink is registered. Only held to look them up: a report takes
    /// the instance's lock, under which reload looks up the devlink ports.
    #[pin]
    reporters: Mutex<Option<Arc<Reporters>>>,
    /// Held across a report, so that [`Health::detach`] waits for those in progress. Taken
    /// before `reporters` and the instance's lock.
    #[pin]
    reporting: Mutex<()>,
}

impl Health {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            device_errors: AtomicU64::new(0),
            last_device_error: LastError::default(),
            pending: AtomicU64::new(0),
            cs_timeouts: AtomicU64::new(0),
            last_cs_timeout: LastError::default(),
            hard_resets: AtomicU64::new(0),
            last_hard_reset: LastError::default(),
            eq_lost: AtomicU64::new(0),
            tx_timeouts: Default::default(),
            tx_pending: AtomicU32::new(0),
            reporters <- new_mutex!(None),
            reporting <- new_mutex!(()),
        })
    }

    /// Starts reporting to `reporters`.
    pub(crate) fn attach(&self, reporters: Arc<Reporters>) {
        *self.reporters.lock() = Some(reporters);
    }

    /// Stops reporting, once the reports in progress are done.
    pub(crate) fn detach(&self) {
        let reporters = self.reporters.lock().take();
        drop(self.reporting.lock());
        drop(reporters);
    }

    /// Runs `f` on the reporters, if attached. Sleeps.
    fn with(&self, f: impl FnOnce(&Reporters)) {
        let _reporting = self.reporting.lock();
        let reporters = self.reporters.lock().clone();
        if let Some(r) = reporters {
            f(&r);
        }
    }

    /// An engine reported error `cause` on `queue`. Callable from the event queue's thread,
    /// which reports with [`Health::report_pending`] once it has drained the queue.
    pub(crate) fn device_error(&self, cause: u32, queue: u8, info: u64) {
        self.device_errors.fetch_add(1, Ordering::Relaxed);
        self.last_device_error
            .set(cause.into(), u64::from(queue) << 32 | (info & 0xffff_ffff));
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// Reports the device errors counted since the last call, as one. Sleeps.
    pub(crate) fn report_pending(&self) {
        if self.pending.swap(0, Ordering::Relaxed) != 0 {
            self.with(|r| r.report_device(c_str!("engine error")));
        }
    }

    /// The event queue lost events: `lost` in all since the driver bound. Sleeps.
    pub(crate) fn eq_lost(&self, lost: u64) {
        if self.eq_lost.swap(lost, Ordering::Relaxed) < lost {
            self.with(|r| r.report_eq(c_str!("event queue overflow")));
        }
    }

    /// Submission `seq` ran past its timeout. Sleeps.
    pub(crate) fn cs_timed_out(&self, seq: u64) {
        self.cs_timeouts.fetch_add(1, Ordering::Relaxed);
        self.last_cs_timeout.set(seq, 0);
        self.with(|r| r.report_device(c_str!("submission timed out")));
    }

    /// The device was reset whole (a hard reset, for `cause`); reported by the watchdog, never
    /// under the reset lock. Sleeps.
    pub(crate) fn hard_reset(&self, cause: crate::reset::Cause) {
        self.hard_resets.fetch_add(1, Ordering::Relaxed);
        self.last_hard_reset.set(cause as u64, 0);
        self.with(|r| r.report_device(c_str!("hard reset")));
    }

    /// Port `port`'s transmit queue stalled: counted now, reported by
    /// [`Health::report_tx_timeouts`]. Callable from any context: the Ethernet half does not
    /// wait for a report, which takes devlink's instance lock, under which reload unbinds it.
    pub(crate) fn tx_timed_out(&self, port: u8) {
        if let Some(count) = self.tx_timeouts.get(usize::from(port)) {
            count.fetch_add(1, Ordering::Relaxed);
            self.tx_pending.fetch_or(1 << port, Ordering::AcqRel);
        }
    }

    /// Reports the ports' transmit timeouts counted since the last call. From the watchdog;
    /// sleeps.
    pub(crate) fn report_tx_timeouts(&self) {
        let pending = self.tx_pending.swap(0, Ordering::AcqRel);
        for port in (0..MAX_PORTS).filter(|p| pending & (1 << p) != 0) {
            self.with(|r| r.report_tx_timeout(port, c_str!("transmit timed out")));
        }
    }

    /// Runs `f` on devlink port `port`, if devlink is registered.
    pub(crate) fn with_port<R>(
        &self,
        port: u8,
        f: impl FnOnce(&kernel::net::devlink::Port) -> R,
    ) -> Option<R> {
        let guard = self.reporters.lock();
        guard.as_ref()?.with_port(port, f)
    }

    /// The reporters, while devlink is registered; for reload.
    pub(crate) fn reporters(&self) -> Option<Arc<Reporters>> {
        self.reporters.lock().clone()
    }
}
