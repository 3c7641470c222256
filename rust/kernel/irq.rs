// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use crate::{
    bindings,
    devres::{BoundDevice, Devres},
    error::to_result,
    ffi::{c_int, c_void},
    prelude::*,
    str::CStr,
};

/// What a handler did with an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqReturn {
    /// The interrupt was not from this device.
    None,
    /// The interrupt was handled.
    Handled,
}

impl IrqReturn {
    fn into_raw(self) -> bindings::irqreturn_t {
        match self {
            IrqReturn::None => bindings::irqreturn_IRQ_NONE,
            IrqReturn::Handled => bindings::irqreturn_IRQ_HANDLED,
        }
    }
}

/// An interrupt handler. It runs in hard interrupt context: it may not sleep.
pub trait Handler: Sync {
    /// Handles an interrupt on the line the handler was registered for.
    fn handle(&self) -> IrqReturn;
}

/// Flags for [`Registration::new`] (`IRQF_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(crate::ffi::c_ulong);

impl Flags {
    /// No flags: an exclusive line, as MSI and MSI-X vectors are.
    pub const NONE: Flags = Flags(0);
    /// The line may be shared with other devices.
    pub const SHARED: Flags = Flags(bindings::IRQF_SHARED as _);
}

/// An `irq` number requested with `cookie` as its `dev_id`; dropping it frees the IRQ.
struct RequestedIrq {
    irq: u32,
    cookie: *mut c_void,
}

// SAFETY: `free_irq` may be called from any thread; `cookie` is only compared, never
// dereferenced.
unsafe impl Send for RequestedIrq {}
// SAFETY: `RequestedIrq` has no methods taking `&self`.
unsafe impl Sync for RequestedIrq {}

impl Drop for RequestedIrq {
    fn drop(&mut self) {
        // SAFETY: The IRQ was requested with this cookie and is freed once, here. `free_irq`
        // waits for running handlers to finish.
        unsafe { bindings::free_irq(self.irq, self.cookie) };
    }
}

/// A registered interrupt handler.
///
/// The handler is unregistered when the `Registration` is dropped or when the device unbinds,
/// whichever comes first, so it never runs after the driver let go of the device; the handler
/// data itself lives as long as the `Registration`.
#[pin_data]
pub struct Registration<H: Handler> {
    // Declared first so that it is dropped (and the IRQ freed) before the handler.
    irq: Devres<RequestedIrq>,
    #[pin]
    handler: H,
}

/// The C handler: dispatches to `H`.
///
/// # Safety
///
/// `cookie` must be the `handler` field of a live `Registration<H>`.
unsafe extern "C" fn handle_irq<H: Handler>(_irq: c_int, cookie: *mut c_void) -> bindings::irqreturn_t {
    // SAFETY: By the function's safety requirements; the IRQ is freed before the handler is
    // dropped.
    unsafe { &*cookie.cast::<H>() }.handle().into_raw()
}

/// Requests `irq` with the given C handlers and `cookie`, tied to `dev`'s binding.
///
/// # Safety
///
/// `cookie` must be what `handler` and `thread_fn` expect, and stay valid until the returned
/// `Devres` is dropped or revoked.
unsafe fn request(
    dev: &impl BoundDevice,
    irq: u32,
    handler: bindings::irq_handler_t,
    thread_fn: bindings::irq_handler_t,
    flags: crate::ffi::c_ulong,
    name: &'static CStr,
    cookie: *mut c_void,
) -> Result<Devres<RequestedIrq>> {
    Devres::new(dev, || {
        // SAFETY: Guaranteed by the function's safety requirements; `name` is static.
        to_result(unsafe {
            bindings::request_threaded_irq(irq, handler, thread_fn, flags, name.as_char_ptr(), cookie)
        })?;
        Ok(RequestedIrq { irq, cookie })
    })
}

impl<H: Handler + Send + 'static> Registration<H> {
    /// Registers `handler` for interrupt number `irq` of the bound device `dev`.
    pub fn new<'a, E>(
        dev: &'a impl BoundDevice,
        irq: u32,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<H, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        Error: From<E>,
    {
        try_pin_init!(&this in Self {
            handler <- handler,
            // SAFETY: The cookie is the handler initialised above, which is pinned and outlives
            // the IRQ (see `RequestedIrq`). Only the field's address is taken.
            irq: unsafe {
                let cookie = core::ptr::addr_of_mut!((*this.as_ptr()).handler).cast();
                request(dev, irq, Some(handle_irq::<H>), None, flags.0, name, cookie)?
            },
        })
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

/// An interrupt handler that runs in a kernel thread: it may sleep.
pub trait ThreadedHandler: Sync {
    /// Handles an interrupt on the line the handler was registered for.
    fn handle_threaded(&self) -> IrqReturn;
}

/// A registered threaded interrupt handler; see [`Registration`] for its lifetime rules.
///
/// The line stays masked while the handler runs (`IRQF_ONESHOT`), so it never runs
/// concurrently with itself.
#[pin_data]
pub struct ThreadedRegistration<H: ThreadedHandler> {
    // Declared first so that it is dropped (and the IRQ freed) before the handler.
    irq: Devres<RequestedIrq>,
    #[pin]
    handler: H,
}

/// The C thread function: dispatches to `H`.
///
/// # Safety
///
/// `cookie` must be the `handler` field of a live `ThreadedRegistration<H>`.
unsafe extern "C" fn handle_threaded_irq<H: ThreadedHandler>(
    _irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: By the function's safety requirements; the IRQ is freed before the handler is
    // dropped.
    unsafe { &*cookie.cast::<H>() }.handle_threaded().into_raw()
}

impl<H: ThreadedHandler + Send + 'static> ThreadedRegistration<H> {
    /// Registers `handler` to run in a thread for interrupt number `irq` of the bound device
    /// `dev`.
    pub fn new<'a, E>(
        dev: &'a impl BoundDevice,
        irq: u32,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<H, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        Error: From<E>,
    {
        let flags = flags.0 | bindings::IRQF_ONESHOT as crate::ffi::c_ulong;
        try_pin_init!(&this in Self {
            handler <- handler,
            // SAFETY: As for `Registration::new`.
            irq: unsafe {
                let cookie = core::ptr::addr_of_mut!((*this.as_ptr()).handler).cast();
                request(dev, irq, None, Some(handle_threaded_irq::<H>), flags, name, cookie)?
            },
        })
    }
}
