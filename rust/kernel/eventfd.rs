// SPDX-License-Identifier: GPL-2.0

//! eventfd contexts a driver signals: a user passes an eventfd's file descriptor, the driver
//! keeps a reference to its context and adds to its counter on events.
//!
//! C header: [`include/linux/eventfd.h`](srctree/include/linux/eventfd.h)

use crate::{bindings, error::from_err_ptr, prelude::*};
use core::ptr::NonNull;

/// A reference to an eventfd's context, dropped with the value.
///
/// # Invariants
///
/// `ctx` is a context the value holds a reference to.
pub struct EventFd {
    ctx: NonNull<bindings::eventfd_ctx>,
}

// SAFETY: The context is reference counted and signalled under its own lock, from any thread.
unsafe impl Send for EventFd {}
// SAFETY: `signal` may run concurrently on several threads.
unsafe impl Sync for EventFd {}

impl EventFd {
    /// The context of the caller's file descriptor `fd`: `EBADF` if `fd` is not open,
    /// `EINVAL` if it is not an eventfd.
    pub fn from_fd(fd: i32) -> Result<Self> {
        // SAFETY: Any value may be passed; the result is a referenced context or an error.
        let ctx = from_err_ptr(unsafe { bindings::eventfd_ctx_fdget(fd) })?;
        // INVARIANT: `eventfd_ctx_fdget` took a reference for us.
        Ok(Self {
            ctx: NonNull::new(ctx).ok_or(EBADF)?,
        })
    }

    /// Adds one to the eventfd's counter, waking its readers and pollers. Callable in any
    /// context.
    pub fn signal(&self) {
        // SAFETY: `ctx` is valid by the type invariant.
        unsafe { bindings::eventfd_signal_mask(self.ctx.as_ptr(), 0) };
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: The reference is ours by the type invariant, and dropped once.
        unsafe { bindings::eventfd_ctx_put(self.ctx.as_ptr()) };
    }
}
