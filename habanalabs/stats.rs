// SPDX-License-Identifier: GPL-2.0

//! What `INFO` reports of the device's history: compute opens, queue resets, submissions the
//! driver refused, the last errors, and the events a user has not read yet.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use kernel::{time::Ktime, uapi};

/// Why the driver refused a submission, as `HL_INFO_CS_COUNTERS` counts them.
#[derive(Clone, Copy)]
pub(crate) enum Drop {
    OutOfMem,
    QueueFull,
    MaxInFlight,
    Validation,
}

/// Refused submissions, by reason.
#[derive(Default)]
pub(crate) struct DropCounters {
    out_of_mem: AtomicU64,
    queue_full: AtomicU64,
    max_in_flight: AtomicU64,
    validation: AtomicU64,
}

impl DropCounters {
    pub(crate) fn count(&self, why: Drop) {
        let counter = match why {
            Drop::OutOfMem => &self.out_of_mem,
            Drop::QueueFull => &self.queue_full,
            Drop::MaxInFlight => &self.max_in_flight,
            Drop::Validation => &self.validation,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `[out of memory, parsing, queue full, device in reset, max in flight, validation]`, the
    /// order of `struct hl_info_cs_counters`.
    pub(crate) fn values(&self) -> [u64; 6] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            get(&self.out_of_mem),
            0,
            get(&self.queue_full),
            0,
            get(&self.max_in_flight),
            get(&self.validation),
        ]
    }
}

/// The monotonic clock in nanoseconds, as mainline stamps its error records.
pub(crate) fn now_ns() -> i64 {
    Ktime::ktime_get().to_ns()
}

/// The device's history since the driver bound.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) drops: DropCounters,
    opens: AtomicU64,
    /// When the compute node was last opened, and how long it stayed open (0 while open).
    open_ns: AtomicI64,
    closed_ns: AtomicI64,
    /// Queue resets: the driver's soft resets.
    resets: AtomicU32,
    /// The open of the compute node during which the last error happened.
    last_err_open_ns: AtomicI64,
    /// The last submission that timed out, and when.
    cs_timeout_ns: AtomicI64,
    cs_timeout_seq: AtomicU64,
    /// `HL_NOTIFIER_EVENT_*` bits not yet read by `HL_INFO_GET_EVENTS`.
    events: AtomicU64,
}

impl Stats {
    pub(crate) fn opened(&self) {
        self.opens.fetch_add(1, Ordering::Relaxed);
        self.open_ns.store(now_ns(), Ordering::Relaxed);
        self.closed_ns.store(0, Ordering::Relaxed);
        self.events.store(0, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self) {
        self.closed_ns.store(now_ns(), Ordering::Relaxed);
    }

    /// Submission `seq` ran past its timeout, and its queues were reset.
    pub(crate) fn cs_timed_out(&self, seq: u64) {
        let now = now_ns();
        self.cs_timeout_seq.store(seq, Ordering::Relaxed);
        self.cs_timeout_ns.store(now, Ordering::Relaxed);
        self.resets.fetch_add(1, Ordering::Relaxed);
        self.error(uapi::HL_NOTIFIER_EVENT_CS_TIMEOUT.into());
    }

    /// An error the user is told of by `HL_INFO_GET_EVENTS` (a `HL_NOTIFIER_EVENT_*` bit).
    pub(crate) fn error(&self, event: u64) {
        self.last_err_open_ns
            .store(self.open_ns.load(Ordering::Relaxed), Ordering::Relaxed);
        self.events.fetch_or(event, Ordering::Relaxed);
    }

    /// The events since the last call, which forgets them.
    pub(crate) fn take_events(&self) -> u64 {
        self.events.swap(0, Ordering::Relaxed)
    }

    pub(crate) fn soft_resets(&self) -> u32 {
        self.resets.load(Ordering::Relaxed)
    }

    pub(crate) fn open_stats(&self, active: bool) -> uapi::hl_open_stats_info {
        let open = self.open_ns.load(Ordering::Relaxed);
        let closed = self.closed_ns.load(Ordering::Relaxed);
        let end = if active || closed == 0 {
            now_ns()
        } else {
            closed
        };
        let period_ms = if open == 0 {
            0
        } else {
            (end - open).max(0) / 1_000_000
        };
        uapi::hl_open_stats_info {
            open_counter: self.opens.load(Ordering::Relaxed),
            last_open_period_ms: period_ms as u64,
            is_compute_ctx_active: active.into(),
            compute_ctx_in_release: 0,
            pad: [0; 6],
        }
    }

    pub(crate) fn last_err_open(&self) -> i64 {
        self.last_err_open_ns.load(Ordering::Relaxed)
    }

    pub(crate) fn cs_timeout(&self) -> uapi::hl_info_cs_timeout_event {
        uapi::hl_info_cs_timeout_event {
            timestamp: self.cs_timeout_ns.load(Ordering::Relaxed),
            seq: self.cs_timeout_seq.load(Ordering::Relaxed),
        }
    }
}
