// SPDX-License-Identifier: GPL-2.0

//! Command submissions: jobs on several queues that complete, fail or time out together.

use core::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Completion, Mutex},
    uapi,
};

use crate::deadline::Deadline;

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobEnd {
    /// The device completed it with this status (0: success) and info.
    Device { status: u32, info: u32 },
    /// The driver reset its queue before it completed.
    Reset,
}

/// Why a submission failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A job failed on `queue` with a device `cause` (0 if its queue was reset).
    Aborted { cause: u32, queue: u32, info: u32 },
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
    #[pin]
    failure: Mutex<Option<Failure>>,
    #[pin]
    done: Completion,
}

impl Cs {
    pub(crate) fn new(seq: u64, queues: u32, jobs: u32, timeout_ms: u32) -> impl PinInit<Self> {
        let deadline = Deadline::after(Duration::from_millis(timeout_ms.into()));
        pin_init!(Self {
            seq,
            queues,
            deadline,
            remaining: AtomicU32::new(jobs),
            failure <- new_mutex!(None),
            done <- Completion::new(),
        })
    }

    /// Records the end of one job on `queue`; the last one completes the submission.
    pub(crate) fn job_done(&self, queue: usize, end: JobEnd) {
        let cause = match end {
            JobEnd::Device { status: 0, .. } => None,
            JobEnd::Device { status, info } => Some((status, info)),
            JobEnd::Reset => Some((0, 0)),
        };
        if let Some((cause, info)) = cause {
            let mut failure = self.failure.lock();
            if failure.is_none() {
                *failure = Some(Failure::Aborted {
                    cause,
                    queue: queue as u32,
                    info,
                });
            }
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.complete_all();
        }
    }

    /// Marks the submission as timed out; its jobs end when their queues are reset.
    pub(crate) fn time_out(&self) {
        *self.failure.lock() = Some(Failure::TimedOut);
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

    /// The `WAIT_CS` answer for a finished submission.
    pub(crate) fn result(&self) -> uapi::hl_wait_cs_out {
        let mut out = uapi::hl_wait_cs_out::default();
        match *self.failure.lock() {
            None => out.status = uapi::HL_WAIT_CS_STATUS_COMPLETED,
            Some(Failure::TimedOut) => out.status = uapi::HL_WAIT_CS_STATUS_TIMEDOUT,
            Some(Failure::Aborted { cause, queue, info }) => {
                out.status = uapi::HL_WAIT_CS_STATUS_ABORTED;
                out.error = cause;
                out.failed_queue = queue;
                out.error_info = info;
            }
        }
        out
    }
}
