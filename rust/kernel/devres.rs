// SPDX-License-Identifier: GPL-2.0

//! Device-managed resources.
//!
//! A [`Devres`] owns a resource whose lifetime is bounded by a device's binding to its
//! driver: the resource is released when the `Devres` is dropped or when the driver unbinds,
//! whichever comes first. Code that may outlive the binding (an open file, a work item) reaches
//! the resource through [`Devres::try_access`] and sees `None` once it is gone.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)

use crate::{
    alloc::flags::GFP_KERNEL,
    bindings,
    device::Device,
    ffi::{c_int, c_void},
    init::InPlaceInit,
    prelude::*,
    new_mutex,
    revocable::{Revocable, RevocableGuard},
    sync::{Arc, Mutex},
    types::ARef,
};

/// A device whose reference proves it is bound to its driver.
///
/// # Safety
///
/// While a reference to the implementer exists, the device returned by `as_ref` must stay bound
/// to the driver (for instance: the reference is only handed out to the driver's probe and
/// remove callbacks).
pub unsafe trait BoundDevice: AsRef<Device> {}

#[pin_data]
struct Inner<T> {
    dev: ARef<Device>,
    #[pin]
    data: Revocable<T>,
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
/// `res` is the payload of a node allocated by [`Devres::new`], holding an `Arc<Inner<T>>`
/// reference from `Arc::into_raw`.
unsafe extern "C" fn release<T>(_dev: *mut bindings::device, res: *mut c_void) {
    // SAFETY: By the function's safety requirements, `res` holds the node's reference, which
    // the driver core hands to us exactly once.
    let inner = unsafe { Arc::from_raw(res.cast::<*const Inner<T>>().read()) };
    inner.data.revoke();
}

/// Matches the node of one particular `Devres`, for `devres_remove`.
///
/// # Safety
///
/// `res` is the payload of a node allocated by [`Devres::new`].
unsafe extern "C" fn matches<T>(
    _dev: *mut bindings::device,
    res: *mut c_void,
    data: *mut c_void,
) -> c_int {
    // SAFETY: By the function's safety requirements, `res` holds one pointer.
    let stored = unsafe { res.cast::<*const Inner<T>>().read() };
    c_int::from(stored.cast::<c_void>() == data.cast_const())
}

impl<T: Send + Sync> Devres<T> {
    /// Creates the resource with `create` and ties it to `dev`'s binding.
    ///
    /// Everything that can fail is done before `create` runs or by it, so a resource whose
    /// creation succeeded is never leaked: if a later step fails, dropping it releases it.
    pub fn new(dev: &impl BoundDevice, create: impl FnOnce() -> Result<T>) -> Result<Self> {
        let dev = dev.as_ref();
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
        let inner = create().and_then(|data| {
            Arc::pin_init(
                pin_init!(Inner { dev: dev.into(), data <- Revocable::new::<core::convert::Infallible>(data) }),
                GFP_KERNEL,
            )
        });
        let inner = match inner {
            Ok(inner) => inner,
            Err(e) => {
                // SAFETY: `node` came from `__devres_alloc_node` and was never added.
                unsafe { bindings::devres_free(node) };
                return Err(e);
            }
        };
        // SAFETY: `node` has room for one pointer (see above).
        unsafe { node.cast::<*const Inner<T>>().write(Arc::into_raw(inner.clone())) };
        // INVARIANT: The node, holding its own reference, is now on the devres list.
        // SAFETY: `dev` is valid (we hold a reference) and bound, per `BoundDevice`; `node`
        // is a fully written devres node.
        unsafe { bindings::devres_add(dev.as_raw(), node) };
        Ok(Self(inner))
    }

    /// Returns a guard to the resource, or `None` once the device has unbound. The guard holds
    /// an RCU read-side critical section: do not sleep while holding it.
    pub fn try_access(&self) -> Option<RevocableGuard<'_, T>> {
        self.0.data.try_access()
    }

    /// Gives access to the resource for as long as `dev` proves the device is bound, without
    /// RCU, so the caller may sleep. Fails with `ENXIO` if `dev` is another device or the
    /// resource was released by an earlier binding.
    pub fn access<'a>(&'a self, dev: &'a impl BoundDevice) -> Result<&'a T> {
        if !core::ptr::eq(dev.as_ref(), &*self.0.dev) || !self.0.data.is_available() {
            return Err(ENXIO);
        }
        // SAFETY: The device is bound for `'a` (`BoundDevice`) and the resource was not
        // released, so the devres release that would revoke it cannot run during `'a`; `Drop`
        // cannot run either while `&'a self` exists.
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
        if node.is_null() {
            // The device unbound: `release` has revoked the resource (or is doing so and holds
            // its own reference).
            return;
        }
        // SAFETY: We removed the node from the list, so its reference is ours to drop, and the
        // node is ours to free.
        unsafe {
            drop(Arc::from_raw(node.cast::<*const Inner<T>>().read()));
            bindings::devres_free(node);
        }
        self.0.data.revoke();
    }
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
    pub fn new(dev: &impl BoundDevice) -> Result<Self> {
        let state = Arc::pin_init(
            pin_init!(BindingState { dev: dev.as_ref().into(), bound <- new_mutex!(true) }),
            GFP_KERNEL,
        )?;
        let unbind = Devres::new(dev, || Ok(Unbind(state.clone())))?;
        Ok(Self { state, _unbind: unbind })
    }

    /// Returns a guard that proves the device is bound, or `ENODEV` if it no longer is.
    pub fn enter(&self) -> Result<BindingGuard<'_>> {
        let bound = self.state.bound.lock();
        if !*bound {
            return Err(ENODEV);
        }
        Ok(BindingGuard { _bound: bound, dev: &self.state.dev })
    }
}

/// Proof that a device is bound, from [`Binding::enter`].
pub struct BindingGuard<'a> {
    _bound: crate::sync::lock::Guard<'a, bool, crate::sync::lock::mutex::MutexBackend>,
    dev: &'a Device,
}

impl AsRef<Device> for BindingGuard<'_> {
    fn as_ref(&self) -> &Device {
        self.dev
    }
}

// SAFETY: The guard holds the lock that `Unbind::drop` takes to clear `bound`, and `bound` was
// true when it was taken: the devres release that drops `Unbind` during unbinding cannot finish
// while the guard exists.
unsafe impl BoundDevice for BindingGuard<'_> {}
