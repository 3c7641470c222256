// SPDX-License-Identifier: GPL-2.0

//! Read-copy update.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use crate::bindings;
use core::marker::PhantomData;

/// An RCU read-side critical section, open while the guard lives.
///
/// It may not be sent to another thread: `rcu_read_unlock()` must run on
/// the CPU context that called `rcu_read_lock()`.
#[must_use = "the RCU read-side critical section ends when the guard is dropped"]
pub struct Guard(PhantomData<*mut ()>);

impl Guard {
    /// Enters an RCU read-side critical section.
    pub fn new() -> Self {
        // SAFETY: `rcu_read_lock()` may be called from any context; the matching unlock is in
        // `Drop`.
        unsafe { bindings::rcu_read_lock() };
        Self(PhantomData)
    }
}

impl Default for Guard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: `new` entered the critical section on this thread (the guard is not `Send`).
        unsafe { bindings::rcu_read_unlock() };
    }
}

/// Waits until every RCU read-side critical section open at the time of the call has ended.
pub fn synchronize_rcu() {
    // SAFETY: `synchronize_rcu()` may be called from any sleepable context.
    unsafe { bindings::synchronize_rcu() };
}
