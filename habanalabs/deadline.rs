// SPDX-License-Identifier: GPL-2.0

//! The deadlines of the driver's timed waits (mailbox commands, submissions, `WAIT_CS`, RDMA
//! `CQ_WAIT`): when a wait must end, whether that time has come, and how long to sleep.
//!
//! The arithmetic is in `const fn`s on plain nanoseconds, checked at build time below.

use core::time::Duration;
use kernel::time::{msecs_to_jiffies, Jiffies, Ktime, NSEC_PER_MSEC};

/// When a timed wait must end, in nanoseconds of the monotonic clock.
#[derive(Clone, Copy)]
pub(crate) struct Deadline {
    end_ns: i64,
}

impl Deadline {
    /// `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Self {
        Self::at(now_ns(), timeout)
    }

    /// `timeout` after `now_ns`; saturates at the end of time.
    const fn at(now_ns: i64, timeout: Duration) -> Self {
        let ns = timeout.as_nanos();
        let ns = if ns > i64::MAX as u128 {
            i64::MAX
        } else {
            ns as i64
        };
        Self {
            end_ns: now_ns.saturating_add(ns),
        }
    }

    /// Nanoseconds left at `now_ns`, 0 once the deadline has come.
    const fn left_ns_at(self, now_ns: i64) -> i64 {
        let left = self.end_ns.saturating_sub(now_ns);
        if left > 0 {
            left
        } else {
            0
        }
    }

    /// Whether the deadline has come.
    pub(crate) fn passed(self) -> bool {
        self.left_ns_at(now_ns()) == 0
    }

    /// The earlier of the two.
    pub(crate) fn min(self, other: Self) -> Self {
        if other.end_ns < self.end_ns {
            other
        } else {
            self
        }
    }

    /// How long to sleep to wake at the deadline or just after it, not before.
    pub(crate) fn sleep(self) -> Jiffies {
        msecs_to_jiffies(ms_ceil(self.left_ns_at(now_ns())))
    }
}

fn now_ns() -> i64 {
    Ktime::ktime_get().to_ns()
}

/// `ns` (not negative) in whole milliseconds, rounded up; saturates.
const fn ms_ceil(ns: i64) -> u32 {
    let ms = (ns as u64).div_ceil(NSEC_PER_MSEC as u64);
    if ms > u32::MAX as u64 {
        u32::MAX
    } else {
        ms as u32
    }
}

/// A timeout the uAPI gives in microseconds, in whole milliseconds, rounded up; saturates.
pub(crate) const fn ms_from_us(us: u64) -> u32 {
    let ms = us.div_ceil(1000);
    if ms > u32::MAX as u64 {
        u32::MAX
    } else {
        ms as u32
    }
}

const _: () = {
    let d = Deadline::at(1_000, Duration::from_millis(2));
    assert!(d.left_ns_at(1_000) == 2_000_000);
    assert!(d.left_ns_at(2_000_999) == 1);
    assert!(d.left_ns_at(2_001_000) == 0);
    assert!(d.left_ns_at(i64::MAX) == 0);
    assert!(Deadline::at(i64::MAX - 1, Duration::from_secs(1)).end_ns == i64::MAX);
    assert!(Deadline::at(0, Duration::MAX).end_ns == i64::MAX);
    assert!(ms_ceil(0) == 0);
    assert!(ms_ceil(1) == 1);
    assert!(ms_ceil(1_000_000) == 1);
    assert!(ms_ceil(1_000_001) == 2);
    assert!(ms_ceil(i64::MAX) == u32::MAX);
    assert!(ms_from_us(0) == 0);
    assert!(ms_from_us(1) == 1);
    assert!(ms_from_us(1000) == 1);
    assert!(ms_from_us(1001) == 2);
    assert!(ms_from_us(u64::MAX) == u32::MAX);
};
