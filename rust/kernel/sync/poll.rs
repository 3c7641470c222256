// SPDX-License-Identifier: GPL-2.0

//! Waiting in `poll(2)`, `select(2)` and `epoll(7)`.
//!
//! C header: [`include/linux/poll.h`](srctree/include/linux/poll.h)

use crate::{
    bindings,
    prelude::*,
    sync::{rcu, CondVar, LockClassKey},
};
use core::{marker::PhantomData, ops::Deref};

/// Readable (`EPOLLIN`).
pub const POLLIN: u32 = 0x0001;
/// An error condition (`EPOLLERR`).
pub const POLLERR: u32 = 0x0008;
/// Hung up: nothing more will come (`EPOLLHUP`).
pub const POLLHUP: u32 = 0x0010;
/// Normal data readable (`EPOLLRDNORM`).
pub const POLLRDNORM: u32 = 0x0040;

/// Creates a [`PollCondVar`] initialiser with the given name and a new lock class.
#[macro_export]
macro_rules! new_poll_condvar {
    ($($name:literal)?) => {
        $crate::sync::poll::PollCondVar::new($crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}

/// The table a file's `poll` callback registers its wait queues with, for one call.
pub struct PollTable<'a> {
    file: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
    _call: PhantomData<&'a mut bindings::poll_table_struct>,
}

impl<'a> PollTable<'a> {
    /// Wraps the arguments of a `poll` file operation.
    ///
    /// # Safety
    ///
    /// `file` must be the file being polled and `table` the table passed with it (possibly
    /// null), both valid for `'a`, the duration of the callback.
    pub unsafe fn from_raw(
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> Self {
        Self {
            file,
            table,
            _call: PhantomData,
        }
    }

    /// Makes the poller wake up when `cv` is notified. Register before looking at the state
    /// that decides the returned mask, so that no notification in between is missed.
    ///
    /// # Safety
    ///
    /// `cv` must outlive the `poll(2)` or `select(2)` call polling the file, which removes its
    /// registrations only on return: in practice, the file's data keeps `cv` alive. epoll's
    /// registrations may outlive `cv`; its drop detaches them.
    pub unsafe fn register_wait(&mut self, cv: &PollCondVar) {
        // SAFETY: `file` and `table` are valid for the call (see `from_raw`); the wait queue
        // head outlives every registration made here (see the safety requirements and
        // `PollCondVar`'s drop).
        unsafe { bindings::poll_wait(self.file, cv.wait_queue_head.get(), self.table) };
    }
}

/// A [`CondVar`] that `poll` callbacks may register with.
///
/// epoll keeps its registration for as long as the file is in the epoll set, which may be
/// longer than the condition variable lives; dropping it therefore detaches every poller
/// first.
#[pin_data(PinnedDrop)]
pub struct PollCondVar {
    #[pin]
    inner: CondVar,
}

impl PollCondVar {
    /// Creates an initialiser; use [`new_poll_condvar!`](crate::new_poll_condvar).
    pub fn new(name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        pin_init!(Self { inner <- CondVar::new(name, key) })
    }
}

impl Deref for PollCondVar {
    type Target = CondVar;

    fn deref(&self) -> &CondVar {
        &self.inner
    }
}

#[pinned_drop]
impl PinnedDrop for PollCondVar {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The wait queue head is initialised and still alive; this wakes every poller
        // with `POLLFREE`, which makes epoll drop its entry.
        unsafe { bindings::__wake_up_pollfree(self.inner.wait_queue_head.get()) };
        // epoll unlinks its entries under RCU: wait until none can still touch the head.
        rcu::synchronize_rcu();
    }
}
