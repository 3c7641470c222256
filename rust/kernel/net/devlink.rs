// SPDX-License-Identifier: GPL-2.0

//! devlink: a device's instance (info and reload), its ports and its health reporters.
//!
//! A driver allocates a [`Registration`] with its data `T` in the instance's private area,
//! adds [`Port`]s and [`HealthReporter`]s to it, then registers it. Teardown runs the other
//! way: [`Registration::unregister`], then the reporters and ports are dropped, then the
//! registration (which frees the instance and `T`). The instance is registered only while its
//! device is bound, so the callbacks get the device as `&Device<Bound>`.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)

use crate::{
    bindings, device,
    error::{from_result, to_result},
    ffi::{c_int, c_void},
    prelude::*,
    str::CStr,
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};

/// What `devlink dev info` reports: serial numbers and versions.
#[repr(transparent)]
pub struct InfoRequest(Opaque<bindings::devlink_info_req>);

impl InfoRequest {
    fn as_raw(&self) -> *mut bindings::devlink_info_req {
        self.0.get()
    }

    /// The device's serial number.
    pub fn serial_number(&mut self, serial: &CStr) -> Result {
        // SAFETY: The request is valid for the callback; `serial` is NUL-terminated.
        to_result(unsafe {
            bindings::devlink_info_serial_number_put(self.as_raw(), serial.as_char_ptr())
        })
    }

    /// The board's serial number.
    pub fn board_serial_number(&mut self, serial: &CStr) -> Result {
        // SAFETY: As in `serial_number`.
        to_result(unsafe {
            bindings::devlink_info_board_serial_number_put(self.as_raw(), serial.as_char_ptr())
        })
    }

    /// A version fixed in the hardware, e.g. `asic.id` or `board.id`.
    pub fn version_fixed(&mut self, name: &CStr, value: &CStr) -> Result {
        // SAFETY: As in `serial_number`; both strings are NUL-terminated.
        to_result(unsafe {
            bindings::devlink_info_version_fixed_put(
                self.as_raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        })
    }

    /// A version of what runs now, e.g. `fw`.
    pub fn version_running(&mut self, name: &CStr, value: &CStr) -> Result {
        // SAFETY: As in `version_fixed`.
        to_result(unsafe {
            bindings::devlink_info_version_running_put(
                self.as_raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        })
    }
}

/// The callbacks of a devlink instance whose private data is `Self`.
#[vtable]
pub trait Operations: Send + Sync + Sized + 'static {
    /// Fills `devlink dev info` (the core adds the driver's name).
    fn info_get(_data: &Self, _req: &mut InfoRequest) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// First half of a driver reinit (`devlink dev reload`): let go of what the driver
    /// built on the device, the instance's ports among it (the core checks that none is left).
    /// Called with the instance's lock held, which `reload` proves.
    fn reload_down(_data: &Self, _dev: &device::Device<device::Bound>, _reload: &Reload) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Second half of a driver reinit: build it again. Called with the instance's lock held.
    fn reload_up(_data: &Self, _dev: &device::Device<device::Bound>, _reload: &Reload) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The proof, within [`Operations::reload_down`] and [`Operations::reload_up`], that the
/// instance's lock is held: ports and their reporters are added and removed through it.
///
/// # Invariants
///
/// `devlink` is a registered instance whose lock is held for the token's lifetime.
pub struct Reload {
    devlink: NonNull<bindings::devlink>,
}

/// Holds the C callbacks of `T`.
struct Callbacks<T>(PhantomData<T>);

impl<T: Operations> Callbacks<T> {
    /// # Safety
    ///
    /// `devlink` was allocated by `Registration::<T>::new` and is valid for `'a`.
    unsafe fn data<'a>(devlink: *mut bindings::devlink) -> &'a T {
        // SAFETY: The private area holds an initialised `T` until the instance is freed.
        unsafe { &*bindings::devlink_priv(devlink).cast::<T>() }
    }

    /// # Safety
    ///
    /// `devlink` is registered: its device is bound for the call.
    unsafe fn bound<'a>(devlink: *mut bindings::devlink) -> &'a device::Device<device::Bound> {
        // SAFETY: A registered instance's device is bound (see `Registration`) and holds a
        // reference of the instance.
        unsafe { device::Device::from_raw(bindings::devlink_to_dev(devlink)) }
    }

    /// # Safety
    ///
    /// Only for the core, as `devlink_ops.info_get`.
    unsafe extern "C" fn info_get(
        devlink: *mut bindings::devlink,
        req: *mut bindings::devlink_info_req,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a valid instance of `T` and a request valid and
            // exclusive for the call; `InfoRequest` is a transparent wrapper.
            T::info_get(unsafe { Self::data(devlink) }, unsafe { &mut *req.cast() })?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for the core, as `devlink_ops.reload_down`.
    unsafe extern "C" fn reload_down(
        devlink: *mut bindings::devlink,
        netns_change: bool,
        _action: bindings::devlink_reload_action,
        _limit: bindings::devlink_reload_limit,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // Moving the instance to another namespace is not supported.
            if netns_change {
                return Err(EOPNOTSUPP);
            }
            let reload = Reload {
                // INVARIANT: The core calls with the lock of this registered instance held.
                devlink: NonNull::new(devlink).ok_or(EINVAL)?,
            };
            // SAFETY: The core reloads a registered instance of `T`.
            let data = unsafe { Self::data(devlink) };
            // SAFETY: A registered instance's device is bound.
            let dev = unsafe { Self::bound(devlink) };
            T::reload_down(data, dev, &reload)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for the core, as `devlink_ops.reload_up`; `performed` is valid for writes.
    unsafe extern "C" fn reload_up(
        devlink: *mut bindings::devlink,
        _action: bindings::devlink_reload_action,
        _limit: bindings::devlink_reload_limit,
        performed: *mut u32,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            let reload = Reload {
                // INVARIANT: The core calls with the lock of this registered instance held.
                devlink: NonNull::new(devlink).ok_or(EINVAL)?,
            };
            // SAFETY: The core reloads a registered instance of `T`.
            let data = unsafe { Self::data(devlink) };
            // SAFETY: A registered instance's device is bound.
            let dev = unsafe { Self::bound(devlink) };
            T::reload_up(data, dev, &reload)?;
            // SAFETY: `performed` is valid for writes (the function's safety requirements).
            unsafe {
                *performed =
                    1 << bindings::devlink_reload_action_DEVLINK_RELOAD_ACTION_DRIVER_REINIT
            };
            Ok(0)
        })
    }

    const OPS: bindings::devlink_ops = bindings::devlink_ops {
        info_get: if T::HAS_INFO_GET {
            Some(Self::info_get)
        } else {
            None
        },
        reload_actions: if T::HAS_RELOAD_UP {
            1 << bindings::devlink_reload_action_DEVLINK_RELOAD_ACTION_DRIVER_REINIT
        } else {
            0
        },
        reload_down: if T::HAS_RELOAD_UP {
            Some(Self::reload_down)
        } else {
            None
        },
        reload_up: if T::HAS_RELOAD_UP {
            Some(Self::reload_up)
        } else {
            None
        },
        // SAFETY: The remaining members are optional callbacks and masks; zero is valid.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// A devlink instance with private data `T`, freed on drop (unregistered first if it still
/// is).
///
/// # Invariants
///
/// `devlink` was allocated with `T`'s callbacks and holds an initialised `T`; it is registered
/// iff `registered` is set.
pub struct Registration<T: Operations> {
    devlink: NonNull<bindings::devlink>,
    registered: AtomicBool,
    _data: PhantomData<T>,
}

// SAFETY: The instance may be unregistered and freed on any thread; `T` is `Send`.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: `&Registration` gives `&T` (`T: Sync`) and calls the core's thread-safe functions.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Allocates an instance for `dev` with private data `data`, not registered yet.
    pub fn new(dev: &device::Device<device::Bound>, data: impl PinInit<T, Error>) -> Result<Self> {
        // SAFETY: The table is static and matches `T`; the private area is sized for `T`, and
        // `dev` is valid (the core takes a reference).
        let raw = unsafe {
            bindings::devlink_alloc_ns(
                &Callbacks::<T>::OPS,
                core::mem::size_of::<T>(),
                core::ptr::addr_of_mut!(bindings::init_net),
                dev.as_raw(),
            )
        };
        let devlink = NonNull::new(raw).ok_or(ENOMEM)?;
        const { assert!(core::mem::align_of::<T>() <= bindings::NETDEV_ALIGN as usize) };
        // SAFETY: The private area is valid for a `T` and aligned to `NETDEV_ALIGN`.
        if let Err(e) = unsafe { data.__pinned_init(bindings::devlink_priv(raw).cast::<T>()) } {
            // SAFETY: Nothing else knows the instance; its private area holds no `T`.
            unsafe { bindings::devlink_free(raw) };
            return Err(e);
        }
        // INVARIANT: Allocated and initialised above, not registered.
        Ok(Self {
            devlink,
            registered: AtomicBool::new(false),
            _data: PhantomData,
        })
    }

    fn as_raw(&self) -> *mut bindings::devlink {
        self.devlink.as_ptr()
    }

    /// The driver's data.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariant the private area holds an initialised `T`.
        unsafe { &*bindings::devlink_priv(self.as_raw()).cast::<T>() }
    }

    /// Makes the instance visible to user space, once its ports and reporters are added.
    pub fn register(&self) {
        if !self.registered.swap(true, Ordering::AcqRel) {
            // SAFETY: Allocated and not registered (type invariant and the flag).
            unsafe { bindings::devlink_register(self.as_raw()) };
        }
    }

    /// Hides the instance again and waits for callbacks in progress; before its ports and
    /// reporters are dropped.
    pub fn unregister(&self) {
        if self.registered.swap(false, Ordering::AcqRel) {
            // SAFETY: Registered (the flag).
            unsafe { bindings::devlink_unregister(self.as_raw()) };
        }
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        self.unregister();
        // SAFETY: Unregistered; the ports and reporters, which borrow the registration, are
        // gone. Drop `T`, then free the instance.
        unsafe {
            core::ptr::drop_in_place(bindings::devlink_priv(self.as_raw()).cast::<T>());
            bindings::devlink_free(self.as_raw());
        }
    }
}

/// A physical port of a devlink instance (`struct devlink_port`), unregistered on drop.
///
/// Its netdev, if any, names itself after it (`phys_port_name` `pN`, `phys_switch_id` the
/// switch id), so it must be unregistered before the port is dropped.
pub struct Port {
    port: KBox<Opaque<bindings::devlink_port>>,
    /// The instance's device, for the callbacks of the port's reporters.
    dev: *mut bindings::device,
}

// SAFETY: The core synchronises the port; it may be unregistered on any thread.
unsafe impl Send for Port {}
// SAFETY: `&Port` only gives its address and calls to the core's thread-safe functions.
unsafe impl Sync for Port {}

impl Port {
    /// Registers physical port `number` of `devlink`, on switch `switch_id` (at most
    /// `MAX_PHYS_ITEM_ID_LEN` bytes; every port of a device shares it).
    pub fn new<T: Operations>(
        devlink: &Registration<T>,
        number: u32,
        switch_id: &[u8],
    ) -> Result<Self> {
        Self::register(devlink.as_raw(), false, number, switch_id)
    }

    /// As [`Port::new`], within a reload (the instance's lock held).
    pub fn new_locked(reload: &Reload, number: u32, switch_id: &[u8]) -> Result<Self> {
        Self::register(reload.devlink.as_ptr(), true, number, switch_id)
    }

    /// Unregisters the port within a reload (the instance's lock held); its reporters are gone.
    pub fn unregister_locked(self, _reload: &Reload) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: Registered in `new`; the lock is held (the token). `this` is not dropped, so
        // the port is unregistered once; its box is freed after.
        unsafe {
            bindings::devl_port_unregister(this.as_raw());
            drop(core::ptr::read(&this.port));
        }
    }

    fn register(
        devlink: *mut bindings::devlink,
        locked: bool,
        number: u32,
        switch_id: &[u8],
    ) -> Result<Self> {
        let mut attrs = bindings::devlink_port_attrs::default();
        let id = &mut attrs.switch_id;
        if switch_id.len() > id.id.len() {
            return Err(EINVAL);
        }
        id.id[..switch_id.len()].copy_from_slice(switch_id);
        id.id_len = switch_id.len() as u8;
        attrs.flavour = bindings::devlink_port_flavour_DEVLINK_PORT_FLAVOUR_PHYSICAL;
        attrs.__bindgen_anon_1.phys.port_number = number;
        let port = KBox::new(Opaque::<bindings::devlink_port>::uninit(), GFP_KERNEL)?;
        // SAFETY: An all-zero `devlink_port` is the state the core expects before registering;
        // the attributes are copied. The port lives in its box, which does not move, until
        // `drop` unregisters it.
        to_result(unsafe {
            port.get().write_bytes(0, 1);
            bindings::devlink_port_attrs_set(port.get(), &mut attrs);
            if locked {
                bindings::devl_port_register_with_ops(
                    devlink,
                    port.get(),
                    number,
                    core::ptr::null(),
                )
            } else {
                bindings::devlink_port_register_with_ops(
                    devlink,
                    port.get(),
                    number,
                    core::ptr::null(),
                )
            }
        })?;
        Ok(Self {
            port,
            // SAFETY: The instance is valid; its device outlives it.
            dev: unsafe { bindings::devlink_to_dev(devlink) },
        })
    }

    /// The C `struct devlink_port`, for [`crate::net::dev::Builder::set_devlink_port`].
    pub fn as_raw(&self) -> *mut bindings::devlink_port {
        self.port.get()
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`; its netdev is gone (see the type's documentation).
        unsafe { bindings::devlink_port_unregister(self.as_raw()) };
    }
}

/// A health message under construction (`struct devlink_fmsg`): name-value pairs, objects and
/// arrays, for [`HealthOps::diagnose`] and [`HealthOps::dump`].
#[repr(transparent)]
pub struct Fmsg(Opaque<bindings::devlink_fmsg>);

impl Fmsg {
    fn as_raw(&self) -> *mut bindings::devlink_fmsg {
        self.0.get()
    }

    /// Adds `name: value`.
    pub fn put_u64(&mut self, name: &CStr, value: u64) {
        // SAFETY: The message is valid for the callback; `name` is NUL-terminated. Errors are
        // kept in the message and reported by the core at the end.
        unsafe { bindings::devlink_fmsg_u64_pair_put(self.as_raw(), name.as_char_ptr(), value) }
    }

    /// Adds `name: value`.
    pub fn put_u32(&mut self, name: &CStr, value: u32) {
        // SAFETY: As in `put_u64`.
        unsafe { bindings::devlink_fmsg_u32_pair_put(self.as_raw(), name.as_char_ptr(), value) }
    }

    /// Adds `name: value`.
    pub fn put_str(&mut self, name: &CStr, value: &CStr) {
        // SAFETY: As in `put_u64`; `value` is NUL-terminated too.
        unsafe {
            bindings::devlink_fmsg_string_pair_put(
                self.as_raw(),
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        }
    }

    /// Adds `name: [...]`, an array of objects that `f` adds with [`Fmsg::object`].
    pub fn array(&mut self, name: &CStr, f: impl FnOnce(&mut Self)) {
        // SAFETY: As in `put_u64`; the start is balanced by the end below.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_start(self.as_raw(), name.as_char_ptr()) };
        f(self);
        // SAFETY: Ends the array started above.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_end(self.as_raw()) };
    }

    /// Adds an object, whose pairs `f` adds (an element of an [`Fmsg::array`]).
    pub fn object(&mut self, f: impl FnOnce(&mut Self)) {
        // SAFETY: As in `put_u64`; the start is balanced by the end below.
        unsafe { bindings::devlink_fmsg_obj_nest_start(self.as_raw()) };
        f(self);
        // SAFETY: Ends the object started above.
        unsafe { bindings::devlink_fmsg_obj_nest_end(self.as_raw()) };
    }
}

/// What a health reporter does (`struct devlink_health_reporter_ops`).
pub trait HealthOps: Send + Sync + Sized + 'static {
    /// The reporter's name, e.g. `tx`.
    const NAME: &'static CStr;

    /// Describes the current state (`devlink health diagnose`).
    fn diagnose(&self, fmsg: &mut Fmsg) -> Result;

    /// Describes what the driver knows of the last error, kept by the core when an error is
    /// reported (`devlink health dump show`).
    fn dump(&self, fmsg: &mut Fmsg) -> Result;

    /// Recovers from the error: `reported` when the core recovers automatically right after
    /// [`HealthReporter::report`], false when the operator asks (`devlink health recover`).
    /// `dev` is the instance's device.
    fn recover(&self, dev: &device::Device<device::Bound>, reported: bool) -> Result;
}

/// Holds the C callbacks of a reporter of `R`.
struct HealthCallbacks<R>(PhantomData<R>);

impl<R: HealthOps> HealthCallbacks<R> {
    /// # Safety
    ///
    /// `reporter` was created by `HealthReporter::<R>::new` and is valid for `'a`.
    unsafe fn inner<'a>(reporter: *mut bindings::devlink_health_reporter) -> &'a Inner<R> {
        // SAFETY: The private pointer is the `Inner` the reporter owns until it is destroyed.
        unsafe { &*bindings::devlink_health_reporter_priv(reporter).cast::<Inner<R>>() }
    }

    /// # Safety
    ///
    /// As for `HealthCallbacks::inner`.
    unsafe fn ops<'a>(reporter: *mut bindings::devlink_health_reporter) -> &'a R {
        // SAFETY: By the function's safety requirements.
        &unsafe { Self::inner(reporter) }.ops
    }

    /// # Safety
    ///
    /// Only for the core, as the callback of the same name.
    unsafe extern "C" fn recover(
        reporter: *mut bindings::devlink_health_reporter,
        ctx: *mut c_void,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: See `HealthCallbacks::inner`.
            let inner = unsafe { Self::inner(reporter) };
            // SAFETY: The reporter exists only while its instance does, which is registered
            // (the operator's request) or reported on by its driver, both while the device is
            // bound (see `Registration`).
            let dev = unsafe { device::Device::from_raw(inner.dev) };
            // `HealthReporter::report` passes a context, the operator's request none.
            inner.ops.recover(dev, !ctx.is_null())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for the core, as the callback of the same name; `fmsg` is valid for the call.
    unsafe extern "C" fn dump(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        _ctx: *mut c_void,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: See `HealthCallbacks::ops`; `Fmsg` is a transparent wrapper of `fmsg`.
        from_result(|| unsafe { Self::ops(reporter).dump(&mut *fmsg.cast()) }.map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the core, as the callback of the same name; `fmsg` is valid for the call.
    unsafe extern "C" fn diagnose(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: As in `dump`.
        from_result(|| unsafe { Self::ops(reporter).diagnose(&mut *fmsg.cast()) }.map(|()| 0))
    }

    const OPS: bindings::devlink_health_reporter_ops = bindings::devlink_health_reporter_ops {
        // The core only reads the name.
        name: R::NAME.as_char_ptr().cast_mut(),
        recover: Some(Self::recover),
        dump: Some(Self::dump),
        diagnose: Some(Self::diagnose),
        test: None,
    };
}

/// A reporter's private data: the driver's operations and the instance's device.
struct Inner<R> {
    ops: R,
    dev: *mut bindings::device,
}

/// A health reporter of a devlink instance or port, destroyed on drop.
///
/// # Invariants
///
/// `reporter` was created with `R`'s callbacks and `inner` as its private data.
pub struct HealthReporter<R: HealthOps> {
    reporter: NonNull<bindings::devlink_health_reporter>,
    inner: Pin<KBox<Inner<R>>>,
}

// SAFETY: The core synchronises the reporter; `R` is `Send + Sync`, and the device pointer is
// only read.
unsafe impl<R: HealthOps> Send for HealthReporter<R> {}
// SAFETY: `report` may be called concurrently, as in C; `R` is `Sync`.
unsafe impl<R: HealthOps> Sync for HealthReporter<R> {}

/// The minimum time between automatic recoveries, in milliseconds: errors reported sooner
/// after one leave the reporter in error until the operator recovers.
const GRACEFUL_PERIOD_MS: u64 = 500;

impl<R: HealthOps> HealthReporter<R> {
    fn from_raw(
        raw: *mut bindings::devlink_health_reporter,
        inner: Pin<KBox<Inner<R>>>,
    ) -> Result<Self> {
        // The core returns an error pointer, never null.
        let reporter = NonNull::new(crate::error::from_err_ptr(raw)?).ok_or(ENOMEM)?;
        // INVARIANT: Created by the caller with `R`'s callbacks and `inner`.
        Ok(Self { reporter, inner })
    }

    fn priv_data(inner: &Pin<KBox<Inner<R>>>) -> *mut c_void {
        (&**inner as *const Inner<R>).cast_mut().cast()
    }

    /// Adds a reporter of the instance `devlink`.
    pub fn new<T: Operations>(devlink: &Registration<T>, ops: R) -> Result<Self> {
        // SAFETY: The instance is valid; its device outlives it.
        let dev = unsafe { bindings::devlink_to_dev(devlink.as_raw()) };
        let inner = KBox::pin(Inner { ops, dev }, GFP_KERNEL)?;
        // SAFETY: The table is static and matches `R`; `inner` lives in its box, which does
        // not move, until `drop` destroys the reporter.
        let raw = unsafe {
            bindings::devlink_health_reporter_create(
                devlink.as_raw(),
                &HealthCallbacks::<R>::OPS,
                GRACEFUL_PERIOD_MS,
                Self::priv_data(&inner),
            )
        };
        Self::from_raw(raw, inner)
    }

    /// Adds a reporter of `port`.
    pub fn for_port(port: &Port, ops: R) -> Result<Self> {
        let inner = KBox::pin(Inner { ops, dev: port.dev }, GFP_KERNEL)?;
        // SAFETY: As in `new`; the port is registered.
        let raw = unsafe {
            bindings::devlink_port_health_reporter_create(
                port.as_raw(),
                &HealthCallbacks::<R>::OPS,
                GRACEFUL_PERIOD_MS,
                Self::priv_data(&inner),
            )
        };
        Self::from_raw(raw, inner)
    }

    /// As [`HealthReporter::for_port`], within a reload (the instance's lock held).
    pub fn for_port_locked(_reload: &Reload, port: &Port, ops: R) -> Result<Self> {
        let inner = KBox::pin(Inner { ops, dev: port.dev }, GFP_KERNEL)?;
        // SAFETY: As in `new`; the port is registered and the lock held (the token).
        let raw = unsafe {
            bindings::devl_port_health_reporter_create(
                port.as_raw(),
                &HealthCallbacks::<R>::OPS,
                GRACEFUL_PERIOD_MS,
                Self::priv_data(&inner),
            )
        };
        Self::from_raw(raw, inner)
    }

    /// Destroys the reporter within a reload (the instance's lock held).
    pub fn destroy_locked(self, _reload: &Reload) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: Created in `new`; the lock is held (the token). No callback runs once this
        // returns; `this` is not dropped, so `inner` is freed once, after.
        unsafe {
            bindings::devl_health_reporter_destroy(this.reporter.as_ptr());
            drop(core::ptr::read(&this.inner));
        }
    }

    /// The reporter's operations.
    pub fn ops(&self) -> &R {
        &self.inner.ops
    }

    /// Reports an error described by `msg`: the core counts it, takes a dump and recovers
    /// (unless the last recovery was too recent or the operator turned that off). Sleeps.
    pub fn report(&self, msg: &CStr) {
        // A non-null context tells `recover` that the report asked for it; the callbacks
        // never dereference it.
        let ctx = NonNull::<c_void>::dangling().as_ptr();
        // SAFETY: The reporter is valid (type invariant); `msg` is NUL-terminated. The
        // result only says whether the recovery ran or succeeded, which the core records.
        let _ = unsafe {
            bindings::devlink_health_report(self.reporter.as_ptr(), msg.as_char_ptr(), ctx)
        };
    }
}

impl<R: HealthOps> Drop for HealthReporter<R> {
    fn drop(&mut self) {
        // SAFETY: Created in `new`; no callback runs once this returns, so `inner` may go.
        unsafe { bindings::devlink_health_reporter_destroy(self.reporter.as_ptr()) };
    }
}
