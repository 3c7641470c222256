// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use crate::{
    bindings,
    device::{Bound, Device},
    devres::Devres,
    error::to_result,
    ffi::{c_int, c_void},
    prelude::*,
    str::CStr,
};
use core::marker::PhantomPinned;

/// What a handler did with an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqReturn {
    /// The interrupt was not from this device.
    None,
    /// The interrupt was handled.
    Handled,
}

impl IrqReturn {
    pub(crate) fn into_raw(self) -> bindings::irqreturn_t {
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

/// Whether local interrupts are disabled on this CPU (`irqs_disabled()`), for assertions about
/// the context code runs in.
pub fn irqs_disabled() -> bool {
    // SAFETY: `irqs_disabled()` only reads the CPU's interrupt flag; callable from any context.
    unsafe { bindings::irqs_disabled() }
}

/// Flags for [`Registration::new`] (`IRQF_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(crate::ffi::c_ulong);

impl Flags {
    /// No trigger type to configure (MSI and MSI-X vectors have none), no sharing.
    pub const TRIGGER_NONE: Flags = Flags(bindings::IRQF_TRIGGER_NONE as _);
}

/// An interrupt of a bound device, for a [`Registration`] to request.
///
/// # Invariants
///
/// `irq` is an interrupt of `dev` that stays allocated while `dev` is bound.
pub struct IrqRequest<'a> {
    dev: &'a Device<Bound>,
    irq: u32,
}

impl<'a> IrqRequest<'a> {
    /// Describes interrupt number `irq` of `dev`.
    ///
    /// # Safety
    ///
    /// `irq` must be an interrupt of `dev` that stays allocated while `dev` is bound.
    pub(crate) unsafe fn new(dev: &'a Device<Bound>, irq: u32) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self { dev, irq }
    }
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
    /// The handler's address is the IRQ's cookie: it must not move.
    #[pin]
    _pin: PhantomPinned,
}

/// The C handler: dispatches to `H`.
///
/// # Safety
///
/// `cookie` must be the `handler` field of a live `Registration<H>`.
unsafe extern "C" fn handle_irq<H: Handler>(
    _irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: By the function's safety requirements; the IRQ is freed before the handler is
    // dropped.
    unsafe { &*cookie.cast::<H>() }.handle().into_raw()
}

/// Requests the interrupt of `request` with the given C handlers and `cookie`, tied to the
/// binding of its device.
///
/// # Safety
///
/// `cookie` must be what `handler` and `thread_fn` expect, and stay valid until the returned
/// `Devres` is dropped or revoked.
unsafe fn request_irq(
    request: IrqRequest<'_>,
    handler: bindings::irq_handler_t,
    thread_fn: bindings::irq_handler_t,
    flags: crate::ffi::c_ulong,
    name: &'static CStr,
    cookie: *mut c_void,
) -> Result<Devres<RequestedIrq>> {
    let irq = request.irq;
    // SAFETY: Guaranteed by the function's safety requirements; `name` is static; `irq` stays
    // allocated while the device is bound (type invariant of `IrqRequest`), and the `Devres`
    // frees it at the latest when the device unbinds.
    to_result(unsafe {
        bindings::request_threaded_irq(irq, handler, thread_fn, flags, name.as_char_ptr(), cookie)
    })?;
    // If this fails, dropping the value frees the IRQ.
    Devres::new(request.dev, RequestedIrq { irq, cookie })
}

/// An interrupt that another abstraction of this crate requested with a C handler of its own,
/// for handlers whose data that abstraction keeps alive (a netdev's interrupts: see
/// `net::dev::Builder::request_irq`). It is freed when dropped or when the device unbinds,
/// whichever comes first; `free_irq` waits for a running handler.
pub(crate) struct RawRegistration {
    _irq: Devres<RequestedIrq>,
}

impl RawRegistration {
    /// Requests the interrupt of `request`, handled by `handler` with `cookie`.
    ///
    /// # Safety
    ///
    /// `handler` must be sound to call with `cookie` until the returned value is dropped.
    pub(crate) unsafe fn new(
        request: IrqRequest<'_>,
        flags: Flags,
        name: &'static CStr,
        handler: unsafe extern "C" fn(c_int, *mut c_void) -> bindings::irqreturn_t,
        cookie: *mut c_void,
    ) -> Result<Self> {
        // SAFETY: Guaranteed by the function's safety requirements: the cookie stays valid for
        // `handler` until the value, hence the `Devres`, is dropped.
        let irq = unsafe { request_irq(request, Some(handler), None, flags.0, name, cookie)? };
        Ok(Self { _irq: irq })
    }
}

impl<H: Handler + Send + 'static> Registration<H> {
    /// Registers `handler` for the interrupt of `request`.
    #[expect(
        clippy::undocumented_unsafe_blocks,
        reason = "6.12's `try_pin_init!(&this in ...)` expands to an unsafe block without a comment"
    )]
    pub fn new<'a>(
        request: IrqRequest<'a>,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a {
        try_pin_init!(&this in Self {
            handler <- handler,
            // SAFETY: The cookie is the handler initialised above, which is pinned and outlives
            // the IRQ (see `RequestedIrq`). Only the field's address is taken.
            irq: unsafe {
                let cookie = core::ptr::addr_of_mut!((*this.as_ptr()).handler).cast();
                request_irq(request, Some(handle_irq::<H>), None, flags.0, name, cookie)?
            },
            _pin: PhantomPinned,
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
    /// The handler's address is the IRQ's cookie: it must not move.
    #[pin]
    _pin: PhantomPinned,
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
    /// Registers `handler` to run in a thread for the interrupt of `request`.
    #[expect(
        clippy::undocumented_unsafe_blocks,
        reason = "6.12's `try_pin_init!(&this in ...)` expands to an unsafe block without a comment"
    )]
    pub fn new<'a>(
        request: IrqRequest<'a>,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a {
        let flags = flags.0 | bindings::IRQF_ONESHOT as crate::ffi::c_ulong;
        try_pin_init!(&this in Self {
            handler <- handler,
            // SAFETY: As for `Registration::new`.
            irq: unsafe {
                let cookie = core::ptr::addr_of_mut!((*this.as_ptr()).handler).cast();
                request_irq(request, None, Some(handle_threaded_irq::<H>), flags, name, cookie)?
            },
            _pin: PhantomPinned,
        })
    }
}
