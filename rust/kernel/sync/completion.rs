// SPDX-License-Identifier: GPL-2.0

//! Completions: one side waits until the other says something happened.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h)

use crate::{bindings, prelude::*, time::Jiffies, types::Opaque};

/// A `struct completion`.
///
/// # Invariants
///
/// `inner` was initialised by `init_completion()` and is pinned.
#[pin_data]
pub struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: `struct completion` is designed to be used from any thread; all its operations take
// its internal lock.
unsafe impl Send for Completion {}
// SAFETY: See above.
unsafe impl Sync for Completion {}

impl Completion {
    /// Returns an initialiser for a completion that has not completed.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `init_completion` initialises the memory it is given, which `ffi_init`
            // provides uninitialised and pinned.
            inner <- Opaque::ffi_init(|slot| unsafe { bindings::init_completion(slot) }),
        })
    }

    fn as_raw(&self) -> *mut bindings::completion {
        self.inner.get()
    }

    /// Marks the completion as not completed, before starting a new round. The caller must make
    /// sure no one calls [`Completion::complete`] for the previous round afterwards.
    pub fn reinit(&self) {
        // SAFETY: By the type invariant the completion is initialised.
        unsafe { bindings::reinit_completion(self.as_raw()) };
    }

    /// Wakes one waiter, or lets the next wait return at once. Callable from any context,
    /// including hard interrupt handlers.
    pub fn complete(&self) {
        // SAFETY: By the type invariant the completion is initialised.
        unsafe { bindings::complete(self.as_raw()) };
    }

    /// Wakes every waiter, now and in the future, until [`Completion::reinit`].
    pub fn complete_all(&self) {
        // SAFETY: By the type invariant the completion is initialised.
        unsafe { bindings::complete_all(self.as_raw()) };
    }

    /// Whether the completion has completed (and a wait would not block).
    pub fn is_done(&self) -> bool {
        // SAFETY: By the type invariant the completion is initialised.
        unsafe { bindings::completion_done(self.as_raw()) }
    }

    /// Waits, uninterruptibly and without a timeout, until the completion comes. Only for
    /// completions that are bound to come soon (the end of a teardown that has started).
    pub fn wait(&self) {
        // SAFETY: By the type invariant the completion is initialised; the caller may sleep.
        unsafe { bindings::wait_for_completion(self.as_raw()) };
    }

    /// Waits at most `timeout` jiffies, or until a signal arrives: `Ok(true)` if the completion
    /// came, `Ok(false)` on timeout, `Err(ERESTARTSYS)` on a signal.
    pub fn wait_interruptible_timeout(&self, timeout: Jiffies) -> Result<bool> {
        // SAFETY: By the type invariant the completion is initialised; the caller may sleep.
        let left =
            unsafe { bindings::wait_for_completion_interruptible_timeout(self.as_raw(), timeout) };
        match left {
            0 => Ok(false),
            l if l < 0 => Err(Error::from_errno(l as i32)),
            _ => Ok(true),
        }
    }

    /// Waits at most `timeout` jiffies; returns `Err(ETIMEDOUT)` if the completion did not come.
    pub fn wait_timeout(&self, timeout: Jiffies) -> Result {
        // SAFETY: By the type invariant the completion is initialised; the caller sleeps, which
        // `might_sleep()` inside checks.
        let left = unsafe { bindings::wait_for_completion_timeout(self.as_raw(), timeout) };
        if left == 0 {
            Err(ETIMEDOUT)
        } else {
            Ok(())
        }
    }
}
