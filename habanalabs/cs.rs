// SPDX-License-Identifier: GPL-2.0

//! Command submissions: jobs on several queues that complete, fail or time out together, and
//! staged submissions, several submissions that complete, fail or time out as one.

pub(crate) mod outcomes;

use core::{
    sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering},
    time::Duration,
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Completion, Mutex},
    uapi,
};

use crate::{deadline::Deadline, stats::now_ns};

pub(crate) use outcomes::Outcomes;

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

/// How a submission ended, what `WAIT_CS` answers for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// When it completed (monotonic ns) with `HL_CS_FLAGS_TIMESTAMP`; 0 without.
    pub(crate) end_ns: i64,
    pub(crate) failure: Option<Failure>,
}

impl Outcome {
    /// The `WAIT_CS` answer, and the ioctl's error as mainline's: `ETIMEDOUT` for a
    /// submission that timed out, `EIO` for one aborted.
    pub(crate) fn answer(&self, out: &mut uapi::hl_wait_cs_out) -> Result {
        match self.failure {
            None => {
                out.status = uapi::HL_WAIT_CS_STATUS_COMPLETED;
                if self.end_ns != 0 {
                    out.flags = uapi::HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD;
                    out.timestamp_nsec = self.end_ns;
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

/// A submission's place in a staged submission (`HL_CS_FLAGS_STAGED_SUBMISSION`).
pub(crate) enum Stage {
    /// Not staged, or staged as first and last at once.
    Alone,
    /// The first stage: its sequence number is the staged submission's, and it completes once
    /// the last stage has been submitted and every stage has completed. While `open`, it holds
    /// one count of its `remaining` and takes more stages.
    First { open: AtomicBool },
    /// A later stage of the staged submission that `first` started.
    Later { first: Arc<Cs> },
}

/// One command submission.
#[pin_data]
pub(crate) struct Cs {
    pub(crate) seq: u64,
    /// Queues it has jobs on, a bit each; a first stage's has its later stages' too.
    queues: AtomicU32,
    deadline: Deadline,
    /// Jobs not ended, plus a first stage's later stages not ended and the hold while open.
    remaining: AtomicU32,
    stage: Stage,
    /// A sync-stream SIGNAL's SOB and the value it sets.
    signal: Option<(u32, u32)>,
    /// With `HL_CS_FLAGS_TIMESTAMP`: the context's outcome store, which gets its outcome
    /// when it ends.
    stamp: Option<Arc<Outcomes>>,
    /// With `HL_CS_FLAGS_TIMESTAMP`: when it completed (monotonic ns), once it has.
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
        stamp: Option<Arc<Outcomes>>,
        signal: Option<(u32, u32)>,
    ) -> impl PinInit<Self> {
        Self::staged(seq, queues, jobs, timeout, stamp, signal, Stage::Alone)
    }

    /// A submission that is `stage` of a staged submission. A later stage runs against its
    /// first stage's deadline (`timeout` is not used), as mainline times a staged submission
    /// from its first stage.
    pub(crate) fn staged(
        seq: u64,
        queues: u32,
        jobs: u32,
        timeout: Duration,
        stamp: Option<Arc<Outcomes>>,
        signal: Option<(u32, u32)>,
        stage: Stage,
    ) -> impl PinInit<Self> {
        let (deadline, held) = match &stage {
            Stage::Alone => (Deadline::after(timeout), 0),
            Stage::First { .. } => (Deadline::after(timeout), 1),
            Stage::Later { first } => (first.deadline, 0),
        };
        pin_init!(Self {
            seq,
            queues: AtomicU32::new(queues),
            deadline,
            remaining: AtomicU32::new(jobs + held),
            stage,
            signal,
            stamp,
            end_ns: AtomicI64::new(0),
            failure <- new_mutex!(None),
            done <- Completion::new(),
        })
    }

    /// Records the end of one job on `queue`; the last one completes the submission.
    pub(crate) fn job_done(&self, end: JobEnd) {
        let failed = end != (JobEnd::Device { status: 0 });
        self.end_one(failed.then_some(Failure::Aborted));
    }

    /// Records `failure`: a time-out outranks an abort (its queues' reset aborts the rest).
    fn fail(failure: &mut Option<Failure>, why: Failure) {
        if failure.is_none() || why == Failure::TimedOut {
            *failure = Some(why);
        }
    }

    /// Ends one of the counts in `remaining` (a job, a later stage, a first stage's hold), with
    /// `failure` if it failed; the last one completes the submission, and then counts as one of
    /// its first stage's if it is a later stage.
    fn end_one(&self, failure: Option<Failure>) {
        if let Some(why) = failure {
            Self::fail(&mut self.failure.lock(), why);
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let failure = *self.failure.lock();
            if let Some(store) = &self.stamp {
                let end_ns = now_ns();
                self.end_ns.store(end_ns, Ordering::Relaxed);
                store.push(self.seq, Outcome { end_ns, failure });
            }
            self.done.complete_all();
            if let Stage::Later { first } = &self.stage {
                first.end_one(failure);
            }
        }
    }

    /// Marks the submission as timed out, unless it is done or was marked already: whether
    /// it marked it. Its jobs end when their queues are reset; a first stage still open
    /// takes no more stages.
    pub(crate) fn claim_timeout(&self) -> bool {
        let release = {
            let mut failure = self.failure.lock();
            if self.is_done() || *failure == Some(Failure::TimedOut) {
                return false;
            }
            *failure = Some(Failure::TimedOut);
            self.take_hold()
        };
        if release {
            self.end_one(None);
        }
        true
    }

    /// For a first stage still open: closes it (with the failure lock held). Whether it did,
    /// and so must end its hold.
    fn take_hold(&self) -> bool {
        match &self.stage {
            Stage::First { open } => open.swap(false, Ordering::AcqRel),
            _ => false,
        }
    }

    /// Ends a first stage's staged submission: it takes no more stages, and completes once
    /// those it has complete. Nothing for another submission, or a first stage closed already.
    pub(crate) fn close(&self) {
        let release = {
            let _failure = self.failure.lock();
            self.take_hold()
        };
        if release {
            self.end_one(None);
        }
    }

    /// Whether this is the first stage of a staged submission that takes more stages.
    pub(crate) fn is_open(&self) -> bool {
        matches!(&self.stage, Stage::First { open } if open.load(Ordering::Acquire))
    }

    /// Counts a later stage on `queues` into this first stage, which then completes only once
    /// that stage has: `EINVAL` unless this is a first stage still open (mainline's answer to
    /// a stage whose first is unknown or whose last was submitted). [`Cs::stage_dropped`]
    /// undoes it for a stage that was not queued.
    pub(crate) fn add_stage(&self, queues: u32) -> Result {
        let _failure = self.failure.lock();
        if !self.is_open() {
            return Err(EINVAL);
        }
        self.remaining.fetch_add(1, Ordering::AcqRel);
        self.queues.fetch_or(queues, Ordering::AcqRel);
        Ok(())
    }

    /// A later stage counted by [`Cs::add_stage`] was refused before it was queued.
    pub(crate) fn stage_dropped(&self) {
        self.end_one(None);
    }

    /// Queues it has jobs on (with a first stage's, those of its stages), a bit each.
    pub(crate) fn queues(&self) -> u32 {
        self.queues.load(Ordering::Acquire)
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

    /// How the submission ended (for a finished one).
    pub(crate) fn outcome(&self) -> Outcome {
        Outcome {
            end_ns: self.end_ns.load(Ordering::Relaxed),
            failure: *self.failure.lock(),
        }
    }

    /// The `WAIT_CS` answer for a finished submission ([`Outcome::answer`]).
    pub(crate) fn result(&self, out: &mut uapi::hl_wait_cs_out) -> Result {
        self.outcome().answer(out)
    }
}
