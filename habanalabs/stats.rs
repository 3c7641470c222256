// SPDX-License-Identifier: GPL-2.0

//! What `INFO` reports of the device's history: compute opens, queue resets, submissions the
//! driver refused, the last errors, and the events a user has not read yet.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use kernel::{eventfd::EventFd, new_spinlock, prelude::*, sync::SpinLock, time::Ktime, uapi};

use crate::events::cause;

/// Why the driver refused a submission, as `HL_INFO_CS_COUNTERS` counts them.
#[derive(Clone, Copy)]
pub(crate) enum Refusal {
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
    pub(crate) fn count(&self, why: Refusal) {
        let counter = match why {
            Refusal::OutOfMem => &self.out_of_mem,
            Refusal::QueueFull => &self.queue_full,
            Refusal::MaxInFlight => &self.max_in_flight,
            Refusal::Validation => &self.validation,
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

/// The first error of a kind since the compute node was opened, as mainline captures it: when
/// (0: none yet), the device's cause, the queue and the device's information.
#[derive(Default)]
pub(crate) struct Captured {
    ns: AtomicI64,
    cause: AtomicU32,
    queue: AtomicU32,
    info: AtomicU64,
}

impl Captured {
    /// Keeps the error unless one is kept already. The event queue's one thread calls this.
    fn capture(&self, cause: u32, queue: u8, info: u64) {
        if self.ns.load(Ordering::Acquire) != 0 {
            return;
        }
        self.cause.store(cause, Ordering::Relaxed);
        self.queue.store(queue.into(), Ordering::Relaxed);
        self.info.store(info, Ordering::Relaxed);
        self.ns.store(now_ns(), Ordering::Release);
    }

    fn clear(&self) {
        self.ns.store(0, Ordering::Release);
    }

    /// `(when, cause, queue, info)` of the error kept, if one is.
    pub(crate) fn get(&self) -> Option<(i64, u32, u32, u64)> {
        let ns = self.ns.load(Ordering::Acquire);
        (ns != 0).then(|| {
            (
                ns,
                self.cause.load(Ordering::Relaxed),
                self.queue.load(Ordering::Relaxed),
                self.info.load(Ordering::Relaxed),
            )
        })
    }
}

/// The monotonic clock in nanoseconds, as mainline stamps its error records.
pub(crate) fn now_ns() -> i64 {
    Ktime::ktime_get().to_ns()
}

/// The device's history since the driver bound.
#[pin_data]
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
    /// The compute user's eventfd (`HL_INFO_REGISTER_EVENTFD`), signalled on each event.
    #[pin]
    eventfd: SpinLock<Option<EventFd>>,
    /// The first undefined opcode and the first bad address since the open.
    pub(crate) undefined_opcode: Captured,
    pub(crate) razwi: Captured,
}

impl Stats {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            drops: DropCounters::default(),
            opens: AtomicU64::new(0),
            open_ns: AtomicI64::new(0),
            closed_ns: AtomicI64::new(0),
            resets: AtomicU32::new(0),
            last_err_open_ns: AtomicI64::new(0),
            cs_timeout_ns: AtomicI64::new(0),
            cs_timeout_seq: AtomicU64::new(0),
            events: AtomicU64::new(0),
            eventfd <- new_spinlock!(None, "Stats::eventfd"),
            undefined_opcode: Captured::default(),
            razwi: Captured::default(),
        })
    }

    pub(crate) fn opened(&self) {
        self.opens.fetch_add(1, Ordering::Relaxed);
        self.open_ns.store(now_ns(), Ordering::Relaxed);
        self.closed_ns.store(0, Ordering::Relaxed);
        self.events.store(0, Ordering::Relaxed);
        self.undefined_opcode.clear();
        self.razwi.clear();
    }

    pub(crate) fn closed(&self) {
        self.closed_ns.store(now_ns(), Ordering::Relaxed);
        // Dropped outside the lock.
        let eventfd = self.eventfd.lock().take();
        drop(eventfd);
    }

    /// `HL_INFO_REGISTER_EVENTFD`: signal the eventfd `fd` on events; `EINVAL` if one is
    /// registered already, as mainline (one per user).
    pub(crate) fn register_eventfd(&self, fd: i32) -> Result {
        let mut eventfd = self.eventfd.lock();
        if eventfd.is_some() {
            return Err(EINVAL);
        }
        *eventfd = Some(EventFd::from_fd(fd)?);
        Ok(())
    }

    /// `HL_INFO_UNREGISTER_EVENTFD`: `EINVAL` if none is registered.
    pub(crate) fn unregister_eventfd(&self) -> Result {
        let eventfd = self.eventfd.lock().take();
        eventfd.map(drop).ok_or(EINVAL)
    }

    /// Submission `seq` ran past its timeout, and its queues were reset: as mainline tells of
    /// a timeout that resets.
    pub(crate) fn cs_timed_out(&self, seq: u64) {
        let now = now_ns();
        self.cs_timeout_seq.store(seq, Ordering::Relaxed);
        self.cs_timeout_ns.store(now, Ordering::Relaxed);
        self.resets.fetch_add(1, Ordering::Relaxed);
        self.error(
            (uapi::HL_NOTIFIER_EVENT_CS_TIMEOUT | uapi::HL_NOTIFIER_EVENT_DEVICE_RESET).into(),
        );
    }

    /// An error a queue's engine reported (a [`cause`]): kept for `INFO` as
    /// mainline GAUDI keeps its undefined opcodes and RAZWIs, and told to the user.
    pub(crate) fn device_error(&self, cause: u32, queue: u8, info: u64) {
        let event = match cause {
            cause::BAD_OPCODE => {
                self.undefined_opcode.capture(cause, queue, info);
                uapi::HL_NOTIFIER_EVENT_UNDEFINED_OPCODE
            }
            cause::BAD_ADDRESS | cause::MMU_FAULT => {
                self.razwi.capture(cause, queue, info);
                uapi::HL_NOTIFIER_EVENT_USER_ENGINE_ERR
            }
            _ => uapi::HL_NOTIFIER_EVENT_USER_ENGINE_ERR,
        };
        self.error(event.into());
    }

    /// An error the user is told of by `HL_INFO_GET_EVENTS` (`HL_NOTIFIER_EVENT_*` bits) and
    /// through the eventfd registered, signalled once the bits are there.
    pub(crate) fn error(&self, event: u64) {
        self.last_err_open_ns
            .store(self.open_ns.load(Ordering::Relaxed), Ordering::Relaxed);
        let eventfd = self.eventfd.lock();
        self.events.fetch_or(event, Ordering::Relaxed);
        if let Some(eventfd) = eventfd.as_ref() {
            eventfd.signal();
        }
    }

    /// The events since the last call, which forgets them.
    pub(crate) fn take_events(&self) -> u64 {
        self.events.swap(0, Ordering::Relaxed)
    }

    pub(crate) fn soft_resets(&self) -> u32 {
        self.resets.load(Ordering::Relaxed)
    }

    pub(crate) fn open_stats(&self, active: bool, in_release: bool) -> uapi::hl_open_stats_info {
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
            compute_ctx_in_release: in_release.into(),
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
