// SPDX-License-Identifier: GPL-2.0

//! Generic devices that are part of the kernel's driver model.
//!
//! A reference to a [`Device`] says, through its context parameter, what the holder may do with
//! the device: any reference ([`Normal`]) identifies it; [`Bound`] proves it is bound to a
//! driver for as long as the reference lives, which device-managed resources need; [`Core`] is
//! only handed to a bus's probe and remove callbacks, under the device lock. Bus devices
//! (`pci::Device<Ctx>`, `auxiliary::Device<Ctx>`) take the same parameters and dereference
//! along `Core` to `Bound` to `Normal`.
//!
//! This file replaces the kernel's own `rust/kernel/device.rs` (see `tools/build/overlay.sh`),
//! whose `Device` has no context parameter.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)

use crate::{
    bindings,
    str::CStr,
    types::{ARef, Opaque},
};
use core::{marker::PhantomData, ptr};

/// A reference-counted `struct device`.
///
/// `ARef<Device>` holds a reference (`get_device()`), which keeps the structure alive but says
/// nothing about its driver; `&Device<Bound>` and `&Device<Core>` are only created where the
/// driver core guarantees their context.
///
/// # Invariants
///
/// The wrapped `struct device` is valid, with a non-zero reference count, for as long as the
/// Rust reference exists, and meets the guarantees of `Ctx` for as long.
///
/// `bindings::device::release` may be called from any thread, so `ARef<Device>` may be dropped
/// on any thread.
#[repr(transparent)]
pub struct Device<Ctx: DeviceContext = Normal>(Opaque<bindings::device>, PhantomData<Ctx>);

impl Device {
    /// Takes a new reference to the `struct device` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct device` whose reference count cannot drop to zero
    /// during the call.
    pub unsafe fn get_device(ptr: *mut bindings::device) -> ARef<Self> {
        // SAFETY: By the function's safety requirements, `ptr` is valid for the call; the
        // conversion into `ARef` takes a reference of its own.
        unsafe { Self::as_ref(ptr) }.into()
    }

    /// Borrows the `struct device` at `ptr`, in no particular context.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct device` whose reference count cannot drop to zero
    /// while the returned reference exists.
    pub unsafe fn as_ref<'a>(ptr: *mut bindings::device) -> &'a Self {
        // SAFETY: Guaranteed by the function's safety requirements.
        unsafe { Self::from_raw(ptr) }
    }
}

impl<Ctx: DeviceContext> Device<Ctx> {
    /// Borrows the `struct device` at `ptr` in context `Ctx`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct device` whose reference count cannot drop to zero
    /// while the returned reference exists, and the device must meet the guarantees of `Ctx`
    /// for as long.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `struct device`; validity and context
        // are guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw `struct device`.
    pub(crate) fn as_raw(&self) -> *mut bindings::device {
        self.0.get()
    }

    /// The device's name, as sysfs shows it (for a PCI function, its address).
    pub fn name(&self) -> &CStr {
        // SAFETY: `self.as_raw()` is valid; a registered device's name is a valid string that
        // lives as long as the device and does not change.
        unsafe { CStr::from_char_ptr(bindings::dev_name(self.as_raw())) }
    }

    /// Prints a message prefixed with the driver and device name, like the C `dev_printk()`.
    /// Use the `dev_*!` macros rather than calling this.
    #[doc(hidden)]
    pub fn printk(&self, level: &[u8; 3], args: core::fmt::Arguments<'_>) {
        // SAFETY: `level` is one of the `KERN_*` strings, `self.as_raw()` is a valid device for
        // the lifetime of `&self`, and `%pA` formats the `fmt::Arguments` the last argument
        // points to, which outlives the call.
        unsafe {
            bindings::_dev_printk(
                level.as_ptr().cast(),
                self.as_raw(),
                crate::c_str!("%pA").as_char_ptr(),
                core::ptr::from_ref(&args).cast::<crate::ffi::c_void>(),
            )
        };
    }
}

// SAFETY: `get_device` and `put_device` manage the reference count of a `struct device`.
unsafe impl crate::types::AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` proves the reference count is non-zero.
        unsafe { bindings::get_device(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: ptr::NonNull<Self>) {
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::put_device(obj.cast().as_ptr()) }
    }
}

// SAFETY: By the type invariant, a `struct device` may be used and released on any thread.
unsafe impl Send for Device {}

// SAFETY: The methods of `&Device` are protected by the synchronisation in `struct device`.
unsafe impl<Ctx: DeviceContext> Sync for Device<Ctx> {}

impl<Ctx: DeviceContext> AsRef<Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &Device<Ctx> {
        self
    }
}

/// What a reference to a device allows; see the [module documentation](self).
pub trait DeviceContext: private::Sealed {}

/// Any reference to a device: identity and information, no guarantee about its driver.
pub struct Normal;

/// The device is bound to the driver for as long as the reference exists.
pub struct Bound;

/// The device is bound and locked by the driver core for a bus callback (probe, remove): the
/// operations that set it up or tear it down.
pub struct Core;

impl DeviceContext for Normal {}
impl DeviceContext for Bound {}
impl DeviceContext for Core {}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Normal {}
    impl Sealed for super::Bound {}
    impl Sealed for super::Core {}
}

/// Implements `Deref` from `$device<Core>` to `$device<Bound>` and from `$device<Bound>` to
/// `$device`, for a device type `$device<Ctx>` in scope.
///
/// The `unsafe` block asserts that `$device<Ctx>` is a transparent wrapper whose layout does
/// not depend on `Ctx`.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_device_context_deref {
    // SAFETY: not a block; the caller's `unsafe` asserts the layout rule above.
    (unsafe { $device:ident }) => {
        impl ::core::ops::Deref for $device<$crate::device::Core> {
            type Target = $device<$crate::device::Bound>;

            fn deref(&self) -> &Self::Target {
                // SAFETY: `Bound` is weaker than `Core`, and the layout does not depend on the
                // context (by the macro's safety requirements).
                unsafe { &*::core::ptr::from_ref(self).cast::<Self::Target>() }
            }
        }

        impl ::core::ops::Deref for $device<$crate::device::Bound> {
            type Target = $device;

            fn deref(&self) -> &Self::Target {
                // SAFETY: `Normal` is weaker than `Bound`, and the layout does not depend on
                // the context (by the macro's safety requirements).
                unsafe { &*::core::ptr::from_ref(self).cast::<Self::Target>() }
            }
        }
    };
}

/// Implements `From<&$device<Core>>` and `From<&$device<Bound>>` for `ARef<$device>`, for a
/// device type `$device<Ctx>` in scope that [`impl_device_context_deref`] was applied to and
/// with `$device: AlwaysRefCounted`.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_device_context_into_aref {
    ($device:ident) => {
        impl ::core::convert::From<&$device<$crate::device::Core>>
            for $crate::types::ARef<$device>
        {
            fn from(dev: &$device<$crate::device::Core>) -> Self {
                (&***dev).into()
            }
        }

        impl ::core::convert::From<&$device<$crate::device::Bound>>
            for $crate::types::ARef<$device>
        {
            fn from(dev: &$device<$crate::device::Bound>) -> Self {
                (&**dev).into()
            }
        }
    };
}

// SAFETY: `Device<Ctx>` is a transparent wrapper of `struct device` for every `Ctx`.
impl_device_context_deref!(unsafe { Device });
impl_device_context_into_aref!(Device);

/// Log levels for [`Device::printk`], the kernel's `KERN_*` prefixes.
#[doc(hidden)]
pub mod level {
    /// `KERN_ERR`.
    pub const ERR: &[u8; 3] = crate::bindings::KERN_ERR;
    /// `KERN_WARNING`.
    pub const WARNING: &[u8; 3] = crate::bindings::KERN_WARNING;
    /// `KERN_INFO`.
    pub const INFO: &[u8; 3] = crate::bindings::KERN_INFO;
}

#[doc(hidden)]
#[macro_export]
macro_rules! dev_printk {
    ($level:ident, $dev:expr, $($arg:tt)*) => {
        {
            let dev: &$crate::device::Device<_> = ($dev).as_ref();
            dev.printk($crate::device::level::$level, ::core::format_args!($($arg)*))
        }
    };
}

/// Prints an error message for a device: `dev_err!(dev, "fmt", args...)`.
#[macro_export]
macro_rules! dev_err { ($($arg:tt)*) => { $crate::dev_printk!(ERR, $($arg)*) }; }

/// Prints a warning for a device.
#[macro_export]
macro_rules! dev_warn { ($($arg:tt)*) => { $crate::dev_printk!(WARNING, $($arg)*) }; }

/// Prints an informational message for a device.
#[macro_export]
macro_rules! dev_info { ($($arg:tt)*) => { $crate::dev_printk!(INFO, $($arg)*) }; }
