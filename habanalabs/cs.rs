// SPDX-License-Identifier: GPL-2.0

//! Command submissions: jobs on several queues that complete, fail or time out together.

use core::{
    sync::atomic::{AtomicI64, AtomicU32, Ordering},
    time::Duration,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Completion, Mutex},
    uapi,
};

use crate::{deadline::Deadline, stats::now_ns};

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobEnd {
    /// The device completed it with this status (0: success).
    Device { status: u32 },
    /// The driver reset its queue before it completed.
    Reset,
}

/// Why a submission failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A job failed, or its queue was reset under it.
    Aborted,
    /// The submission did not complete within its timeout.
    TimedOut,
}

/// One command submission.
#[pin_data]
pub(crate) struct Cs {
    pub(crate) seq: u64,
    /// Queues it has jobs on, a bit each.
    pub(crate) queues: u32,
    deadline: Deadline,
    remaining: AtomicU32,
    /// A sync-stream SIGNAL's SOB and the value it sets.
    signal: Option<(u32, u32)>,
    /// With `HL_CS_FLAGS_TIMESTAMP`: when it completed (monotonic ns), once it has.
    stamp: bool,
    end_ns: AtomicI64,
    #[pin]
    failure: Mutex<Option<Failure>>,
    #[pin]
    done: Completion,
}

impl Cs {
    pub(crate) fn new(
        seq: u64,
        queues: u32,
        jobs: u32,
        timeout: Duration,
        stamp: bool,
        signal: Option<(u32, u32)>,
    ) -> impl PinInit<Self> {
        let deadline = Deadline::after(timeout);
        pin_init!(Self {
            seq,
            queues,
            deadline,
            remaining: AtomicU32::new(jobs),
            signal,
            stamp,
            end_ns: AtomicI64::new(0),
            failure <- new_mutex!(None),
            done <- Completion::new(),
        })
    }

    /// Records the end of one job on `queue`; the last one completes the submission.
    pub(crate) fn job_done(&self, end: JobEnd) {
        if end != (JobEnd::Device { status: 0 }) {
            let mut failure = self.failure.lock();
            if failure.is_none() {
                *failure = Some(Failure::Aborted);
            }
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            if self.stamp {
                self.end_ns.store(now_ns(), Ordering::Relaxed);
            }
            self.done.complete_all();
        }
    }

    /// Marks the submission as timed out, unless it is done or was marked already: whether
    /// it marked it. Its jobs end when their queues are reset.
    pub(crate) fn claim_timeout(&self) -> bool {
        let mut failure = self.failure.lock();
        if self.is_done() || *failure == Some(Failure::TimedOut) {
            return false;
        }
        *failure = Some(Failure::TimedOut);
        true
    }

    /// For a sync-stream SIGNAL: its SOB and the value it sets.
    pub(crate) fn signal(&self) -> Option<(u32, u32)> {
        self.signal
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done.is_done()
    }

    /// Whether the submission is still running past its deadline.
    pub(crate) fn expired(&self) -> bool {
        !self.is_done() && self.deadline.passed()
    }

    /// When the submission times out.
    pub(crate) fn deadline(&self) -> Deadline {
        self.deadline
    }

    pub(crate) fn completion(&self) -> &Completion {
        &self.done
    }

    /// Whether the submission failed (for a finished one).
    pub(crate) fn failed(&self) -> bool {
        self.failure.lock().is_some()
    }

    /// With `HL_CS_FLAGS_TIMESTAMP`, when the submission completed; 0 otherwise.
    pub(crate) fn end_ns(&self) -> i64 {
        self.end_ns.load(Ordering::Relaxed)
    }

    /// The `WAIT_CS` answer for a finished submission, and the ioctl's error as mainline's:
    /// `ETIMEDOUT` for a submission that timed out, `EIO` for one aborted.
    pub(crate) fn result(&self, out: &mut uapi::hl_wait_cs_out) -> Result {
        match *self.failure.lock() {
            None => {
                out.status = uapi::HL_WAIT_CS_STATUS_COMPLETED;
                if self.stamp {
                    out.flags = uapi::HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD;
                    out.timestamp_nsec = self.end_ns();
                }
                Ok(())
            }
            Some(Failure::TimedOut) => {
                out.status = uapi::HL_WAIT_CS_STATUS_TIMEDOUT;
                Err(ETIMEDOUT)
            }
            Some(Failure::Aborted) => {
                out.status = uapi::HL_WAIT_CS_STATUS_ABORTED;
                Err(EIO)
            }
        }
    }
}
