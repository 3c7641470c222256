// SPDX-License-Identifier: GPL-2.0

//! Polling a value until it meets a condition, like `read_poll_timeout()` in
//! [`include/linux/iopoll.h`](srctree/include/linux/iopoll.h).

use crate::{bindings, prelude::*, time::Ktime};
use core::time::Duration;

/// Calls `op` until `cond` holds for its result, sleeping `sleep` between calls, for at most
/// `timeout`. Returns the value that met the condition, the first error of `op`, or
/// `ETIMEDOUT`. As in C, `op` gets one last call after the timeout, so a thread that slept
/// past the deadline still sees a value that arrived in time.
///
/// Sleeps: call it from process context only, with no spinlock or RCU read lock held.
pub fn read_poll_timeout<T>(
    mut op: impl FnMut() -> Result<T>,
    mut cond: impl FnMut(&T) -> bool,
    sleep: Duration,
    timeout: Duration,
) -> Result<T> {
    let timeout_ns = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
    let sleep_us = sleep
        .as_micros()
        .try_into()
        .unwrap_or(crate::ffi::c_ulong::MAX);
    let start = Ktime::ktime_get();
    loop {
        let val = op()?;
        if cond(&val) {
            return Ok(val);
        }
        if (Ktime::ktime_get() - start).to_ns() > timeout_ns {
            let val = op()?;
            return if cond(&val) { Ok(val) } else { Err(ETIMEDOUT) };
        }
        // SAFETY: The caller runs in process context and may sleep, as documented.
        unsafe { bindings::fsleep(sleep_us) };
    }
}
