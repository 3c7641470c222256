// SPDX-License-Identifier: GPL-2.0

//! Device-managed resources.
//!
//! A [`Devres`] owns a resource whose lifetime is bounded by a device's binding to its
//! driver: the resource is released when the `Devres` is dropped or when the driver unbinds,
//! whichever comes first. Code that may outlive the binding (an open file, a work item) reaches
//! the resource through [`Devres::try_access`] and sees `None` once it is gone; code that holds
//! a `&Device<Bound>` uses [`Devres::access`]. [`register`] ties a resource to the binding with
//! no handle at all.
//!
//! [`Binding`] lets code outside the bus callbacks obtain a `&Device<Bound>` for a while.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)

use crate::{
    alloc::flags::GFP_KERNEL,
    bindings,
    device::{Bound, Device},
    ffi::{c_int, c_void},
    init::InPlaceInit,
    new_mutex,
    prelude::*,
    revocable::{Revocable, RevocableGuard},
    sync::{Arc, Completion, Mutex},
    types::ARef,
};

#[pin_data]
struct Inner<T> {
    dev: ARef<Device>,
    #[pin]
    data: Revocable<T>,
    /// Completed once the data is dropped, by whichever of the devres release and
    /// `Devres::drop` revoked it; the other waits for it.
    #[pin]
    revoked: Completion,
}

impl<T> Inner<T> {
    /// Revokes and drops the data, or, if someone else is doing so, waits until they are done:
    /// either way the data is gone when this returns.
    fn revoke_and_wait(&self) {
        if self.data.revoke() {
            self.revoked.complete_all();
        } else {
            self.revoked.wait();
        }
    }
}

/// A resource released at the latest when its device unbinds.
///
/// # Invariants
///
/// Until a devres release or `Drop` removes it, the device's devres list holds a node that
/// owns one reference to `self.0`, stored as the pointer returned by `Arc::into_raw`.
pub struct Devres<T>(Arc<Inner<T>>);

/// Called by the driver core when the device unbinds.
///
/// # Safety
///
/// `res` is the payload of a node allocated by [`add`], holding an `Arc<Inner<T>>` reference
/// from `Arc::into_raw`.
unsafe extern "C" fn release<T>(_dev: *mut bindings::device, res: *mut c_void) {
    // SAFETY: By the function's safety requirements, `res` holds the node's reference, which
    // the driver core hands to us exactly once.
    let inner = unsafe { Arc::from_raw(res.cast::<*const Inner<T>>().read()) };
    // If `Devres::drop` revoked the data first, the device must not finish unbinding before
    // it has dropped it.
    inner.revoke_and_wait();
}

/// Matches the node of one particular `Devres`, for `devres_remove`.
///
/// # Safety
///
/// `res` is the payload of a node allocated by [`add`].
unsafe extern "C" fn matches<T>(
    _dev: *mut bindings::device,
    res: *mut c_void,
    data: *mut c_void,
) -> c_int {
    // SAFETY: By the function's safety requirements, `res` holds one pointer.
    let stored = unsafe { res.cast::<*const Inner<T>>().read() };
    c_int::from(stored.cast::<c_void>() == data.cast_const())
}

/// Initialises `data` and adds a devres node to the bound `dev` that releases it at unbind; the
/// node holds one reference to the returned `Inner`.
///
/// The node is allocated first, so once `data` is initialised nothing can fail: a resource is
/// either released by dropping it here or by the node.
fn add<T: Send + Sync>(dev: &Device<Bound>, data: impl PinInit<T, Error>) -> Result<Arc<Inner<T>>> {
    // SAFETY: `release::<T>` matches the payload written below; the size is one pointer.
    let node = unsafe {
        bindings::__devres_alloc_node(
            Some(release::<T>),
            core::mem::size_of::<*const Inner<T>>(),
            GFP_KERNEL.as_raw(),
            bindings::NUMA_NO_NODE,
            crate::c_str!("rust devres").as_char_ptr(),
        )
    };
    if node.is_null() {
        return Err(ENOMEM);
    }
    let inner = Arc::pin_init(
        try_pin_init!(Inner {
            dev: ARef::from(dev),
            data <- Revocable::new(data),
            revoked <- Completion::new(),
        }),
        GFP_KERNEL,
    );
    let inner = match inner {
        Ok(inner) => inner,
        Err(e) => {
            // SAFETY: `node` came from `__devres_alloc_node` and was never added.
            unsafe { bindings::devres_free(node) };
            return Err(e);
        }
    };
    // SAFETY: `node` has room for one pointer (see above).
    unsafe {
        node.cast::<*const Inner<T>>()
            .write(Arc::into_raw(inner.clone()))
    };
    // SAFETY: `dev` is valid and bound (`Bound`), so its devres list is released at unbind;
    // `node` is a fully written devres node.
    unsafe { bindings::devres_add(dev.as_raw(), node) };
    Ok(inner)
}

impl<T: Send + Sync> Devres<T> {
    /// Initialises `data` and ties it to the binding of `dev`.
    pub fn new(dev: &Device<Bound>, data: impl PinInit<T, Error>) -> Result<Self> {
        // INVARIANT: `add` put a node holding its own reference on the devres list.
        Ok(Self(add(dev, data)?))
    }

    /// Returns a guard to the resource, or `None` once the device has unbound. The guard holds
    /// an RCU read-side critical section: do not sleep while holding it.
    pub fn try_access(&self) -> Option<RevocableGuard<'_, T>> {
        self.0.data.try_access()
    }

    /// Gives access to the resource for as long as `dev` proves the device is bound, without
    /// RCU, so the caller may sleep. Fails with `ENXIO` if `dev` is another device or the
    /// resource was released by an earlier binding.
    pub fn access<'a>(&'a self, dev: &'a Device<Bound>) -> Result<&'a T> {
        if dev.as_raw() != self.0.dev.as_raw() || !self.0.data.is_available() {
            return Err(ENXIO);
        }
        // SAFETY: The device is bound for `'a` (`Bound`) and the resource was not released,
        // so the devres release that would revoke it cannot run during `'a`; `Drop` cannot run
        // either while `&'a self` exists.
        Ok(unsafe { self.0.data.access_unchecked() })
    }
}

impl<T> Drop for Devres<T> {
    fn drop(&mut self) {
        let ptr: *const Inner<T> = &*self.0;
        // SAFETY: `dev` is valid (we hold a reference); the callbacks match the node's layout.
        let node = unsafe {
            bindings::devres_remove(
                self.0.dev.as_raw(),
                Some(release::<T>),
                Some(matches::<T>),
                ptr.cast_mut().cast(),
            )
        };
        if !node.is_null() {
            // SAFETY: We removed the node from the list, so its reference is ours to drop, and
            // the node is ours to free.
            unsafe {
                drop(Arc::from_raw(node.cast::<*const Inner<T>>().read()));
                bindings::devres_free(node);
            }
        }
        // Without the node the device is unbinding and `release` has run, is running or is
        // about to run. Either way the resource (an IRQ whose handler lives next to this
        // `Devres`, say) must be gone before our owner is freed: whoever revokes it first drops
        // it and the other waits. A `release` not yet started does not wait for us: we revoke
        // first, so waiting here cannot deadlock on a release queued behind our caller.
        self.0.revoke_and_wait();
    }
}

/// Initialises `data` and keeps it until the driver unbinds from `dev`.
pub fn register<T: Send + Sync>(dev: &Device<Bound>, data: impl PinInit<T, Error>) -> Result {
    // The node holds the only other reference: dropping ours leaves the data to the release.
    add(dev, data).map(drop)
}

/// Lets code that runs outside the driver's callbacks (an ioctl, say) prove that the device is
/// still bound while it does something that may sleep, such as allocating DMA memory.
///
/// [`Binding::enter`] succeeds until the device unbinds; while its guard lives, unbinding waits.
pub struct Binding {
    state: Arc<BindingState>,
    _unbind: Devres<Unbind>,
}

#[pin_data]
struct BindingState {
    dev: ARef<Device>,
    #[pin]
    bound: Mutex<bool>,
}

/// Clears `bound` when dropped: at unbind, or when the `Binding` goes away.
struct Unbind(Arc<BindingState>);

impl Drop for Unbind {
    fn drop(&mut self) {
        *self.0.bound.lock() = false;
    }
}

impl Binding {
    /// Tracks the binding of `dev`.
    pub fn new(dev: &Device<Bound>) -> Result<Self> {
        let state = Arc::pin_init(
            pin_init!(BindingState { dev: ARef::from(dev), bound <- new_mutex!(true) }),
            GFP_KERNEL,
        )?;
        let unbind = Devres::new(dev, Unbind(state.clone()))?;
        Ok(Self {
            state,
            _unbind: unbind,
        })
    }

    /// Returns a guard that proves the device is bound, or `ENODEV` if it no longer is.
    pub fn enter(&self) -> Result<BindingGuard<'_>> {
        let bound = self.state.bound.lock();
        if !*bound {
            return Err(ENODEV);
        }
        Ok(BindingGuard {
            _bound: bound,
            dev: &self.state.dev,
        })
    }
}

/// Proof that a device is bound, from [`Binding::enter`]: it dereferences to `Device<Bound>`.
pub struct BindingGuard<'a> {
    _bound: crate::sync::lock::Guard<'a, bool, crate::sync::lock::mutex::MutexBackend>,
    dev: &'a Device,
}

impl core::ops::Deref for BindingGuard<'_> {
    type Target = Device<Bound>;

    fn deref(&self) -> &Device<Bound> {
        // The guard holds the lock that `Unbind::drop` takes to clear `bound`, and `bound` was
        // true when it was taken: the devres release that drops `Unbind` cannot finish while
        // the guard, which the returned reference borrows, exists.
        // SAFETY: The device is bound (above) and valid (`BindingState` holds a reference).
        unsafe { Device::from_raw(self.dev.as_raw()) }
    }
}
