// SPDX-License-Identifier: GPL-2.0

//! Revocable objects: data that its owner can take away from its users.
//!
//! Readers access the data inside an RCU read-side critical section; revoking waits for
//! every reader to leave before the data is dropped. This is how device resources are
//! withdrawn when a driver unbinds while other parts of the kernel (an open file, say) still
//! hold a reference to the structure that contains them.

use crate::{init, prelude::*, sync::rcu, types::Opaque};
use core::{
    ops::Deref,
    sync::atomic::{AtomicBool, Ordering},
};

/// An object that can become inaccessible at runtime.
///
/// # Invariants
///
/// `data` is initialised while `is_available` is true, and nothing reads it once
/// `is_available` has been seen false and a grace period has passed.
#[pin_data(PinnedDrop)]
pub struct Revocable<T> {
    is_available: AtomicBool,
    #[pin]
    data: Opaque<T>,
}

// SAFETY: `Revocable` hands out `&T` to any thread (so `T: Sync`) and may drop `T` on any
// thread (so `T: Send`).
unsafe impl<T: Sync + Send> Sync for Revocable<T> {}
// SAFETY: Moving a `Revocable` moves a `T`.
unsafe impl<T: Send> Send for Revocable<T> {}

impl<T> Revocable<T> {
    /// Returns an initialiser of a revocable object holding `data`.
    pub fn new<E>(data: impl PinInit<T, E>) -> impl PinInit<Self, E> {
        try_pin_init!(Self {
            is_available: AtomicBool::new(true),
            // SAFETY: `slot` is valid for writes and stays pinned, as `data` needs; on error
            // `data` leaves it uninitialised, which `Opaque` allows.
            data <- unsafe {
                init::pin_init_from_closure(move |slot: *mut Opaque<T>| {
                    data.__pinned_init(Opaque::raw_get(slot))
                })
            },
        }? E)
    }

    /// Returns a guard giving access to the data, or `None` if it was revoked. The guard holds
    /// an RCU read-side critical section: do not sleep while holding it.
    pub fn try_access(&self) -> Option<RevocableGuard<'_, T>> {
        let rcu = rcu::Guard::new();
        if self.is_available.load(Ordering::Relaxed) {
            // INVARIANT: The data stays valid until the RCU critical section ends, since
            // `revoke` waits for a grace period before dropping it.
            Some(RevocableGuard {
                // SAFETY: Available and protected by `rcu`, see above.
                data: unsafe { &*self.data.get() },
                _rcu: rcu,
            })
        } else {
            None
        }
    }

    /// Makes the data inaccessible and drops it, after every current reader has left.
    /// Returns `true` if this call revoked it, `false` if it already was.
    ///
    /// Sleeps (it waits for an RCU grace period).
    pub fn revoke(&self) -> bool {
        if !self.is_available.swap(false, Ordering::Relaxed) {
            return false;
        }
        rcu::synchronize_rcu();
        // SAFETY: `is_available` was true and this call alone turned it false, so the data is
        // initialised and no one else drops it; the grace period guarantees no reader is left.
        unsafe { core::ptr::drop_in_place(self.data.get()) };
        true
    }

    /// Returns whether the data is still available. It can be revoked right after.
    pub fn is_available(&self) -> bool {
        self.is_available.load(Ordering::Relaxed)
    }

    /// Gives access to the data without a runtime check.
    ///
    /// # Safety
    ///
    /// The caller must guarantee the data is not revoked for the lifetime of the returned
    /// reference.
    pub unsafe fn access_unchecked(&self) -> &T {
        // SAFETY: Guaranteed by the caller.
        unsafe { &*self.data.get() }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for Revocable<T> {
    fn drop(self: Pin<&mut Self>) {
        // No reader can exist: we have exclusive access.
        if self.is_available.load(Ordering::Relaxed) {
            // SAFETY: The data is still available, hence initialised, and dropped only here.
            unsafe { core::ptr::drop_in_place(self.data.get()) };
        }
    }
}

/// Access to revocable data, valid while the RCU read-side critical section it holds lasts.
pub struct RevocableGuard<'a, T> {
    data: &'a T,
    _rcu: rcu::Guard,
}

impl<T> Deref for RevocableGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data
    }
}
