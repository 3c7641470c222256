// SPDX-License-Identifier: GPL-2.0

//! Dynamic interrupt moderation of a receive queue (`struct dim`, the kernel's DIMLIB).
//!
//! The driver feeds the algorithm a sample (interrupts, frames and bytes so far) at the end of
//! each NAPI poll; when the algorithm decides that another moderation profile fits the traffic
//! better it schedules the work of the [`Dim`], which hands the profile's interrupt delay and
//! frame count to [`DimHandler::apply`], in process context, for the driver to program into the
//! device. The profiles are the kernel's receive ones (`net_dim_get_rx_moderation`), counted
//! from the first event (`DIM_CQ_PERIOD_MODE_START_FROM_EQE`).
//!
//! C header: [`include/linux/dim.h`](srctree/include/linux/dim.h)

use crate::{bindings, prelude::*, sync::LockClassKey, types::Opaque};

/// A moderation profile: the interrupt comes at most `usecs` after the first unsignalled
/// frame, or once `frames` wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moderation {
    /// The longest delay, in microseconds.
    pub usecs: u16,
    /// The frames that raise the interrupt at once.
    pub frames: u16,
}

/// What the driver does with a moderation profile the algorithm picked.
pub trait DimHandler: Sized + Send + Sync {
    /// Programs `moderation` for the queue `dim` moderates. Called in process context, from the
    /// system workqueue, never concurrently with itself for one [`Dim`].
    fn apply(dim: &Dim<Self>, moderation: Moderation);
}

/// The moderation state of one receive queue and the driver's data `T` for it.
///
/// The C algorithm keeps its state unlocked: one context at a time feeds it
/// ([`Dim::sample`]), while its work may run concurrently and only reads the profile and
/// restarts the measurement, as in C.
///
/// # Invariants
///
/// `dim` was zeroed and its work initialised to run [`Dim::work`] by [`Dim::new`]; the work is
/// cancelled before the `Dim` is dropped.
#[pin_data(PinnedDrop)]
pub struct Dim<T: DimHandler> {
    #[pin]
    dim: Opaque<bindings::dim>,
    data: T,
}

// SAFETY: The C state is reached through `&self` only by `sample`, whose callers guarantee a
// single context, and by the work, which C designed to run beside it; `T` is `Send`.
unsafe impl<T: DimHandler> Send for Dim<T> {}
// SAFETY: As above; `T` is `Sync`.
unsafe impl<T: DimHandler> Sync for Dim<T> {}

impl<T: DimHandler> Dim<T> {
    /// A moderation state at the kernel's default profile (`NET_DIM_DEF_PROFILE_EQE`), with
    /// `data` for [`DimHandler::apply`]; `name` and `key` are the lockdep class of its work.
    pub fn new(data: T, name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            dim <- Opaque::ffi_init(|slot: *mut bindings::dim| {
                // SAFETY: `slot` is valid for writes of a `struct dim`, which C's drivers
                // initialise as zeroes (`DIM_START_MEASURE`) with a mode and a profile; then
                // the work is initialised in place, before anything can schedule it.
                unsafe {
                    slot.write_bytes(0, 1);
                    (*slot).mode = bindings::dim_cq_period_mode_DIM_CQ_PERIOD_MODE_START_FROM_EQE
                        as u8;
                    (*slot).profile_ix = bindings::NET_DIM_DEF_PROFILE_EQE as u8;
                    bindings::init_work_with_key(
                        core::ptr::addr_of_mut!((*slot).work),
                        Some(Self::work),
                        false,
                        name.as_char_ptr(),
                        key.as_ptr(),
                    );
                }
            }),
            data,
        })
    }

    /// The driver's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The profile the algorithm is at: the last one handed to [`DimHandler::apply`], or the
    /// default one before.
    pub fn moderation(&self) -> Moderation {
        // SAFETY: `dim` was initialised by `new` (type invariant); `net_dim` may change the
        // profile concurrently, one byte, as C's drivers read it.
        let (mode, ix) = unsafe { ((*self.dim.get()).mode, (*self.dim.get()).profile_ix) };
        Self::profile(mode, ix)
    }

    /// Profile `ix` of `mode`, which must be the mode `new` set and an index `new` or
    /// `net_dim` wrote.
    fn profile(mode: u8, ix: u8) -> Moderation {
        // SAFETY: By the requirement above `mode` and `ix` are within C's table of receive
        // profiles.
        let m = unsafe { bindings::net_dim_get_rx_moderation(mode, ix.into()) };
        Moderation {
            usecs: m.usec,
            frames: m.pkts,
        }
    }

    /// Feeds the algorithm the queue's counts so far: `events` interrupts (wrapping), `frames`
    /// and `bytes` received. It may schedule [`DimHandler::apply`].
    ///
    /// # Safety
    ///
    /// Not called concurrently with itself for the same `Dim`: the algorithm's state is not
    /// locked (a NAPI poll, which runs in one context at a time, is where it belongs).
    pub unsafe fn sample(&self, events: u16, frames: u64, bytes: u64) {
        let mut sample = bindings::dim_sample::default();
        // SAFETY: `sample` is a valid, exclusive `dim_sample`; `dim` was initialised by `new`
        // (type invariant) and, by the caller's guarantee, no other `net_dim` runs on it. The
        // work `net_dim` may schedule is cancelled before `self` is dropped.
        unsafe {
            bindings::dim_update_sample(events, frames, bytes, &mut sample);
            bindings::net_dim(self.dim.get(), sample);
        }
    }

    /// Waits for the work if it runs and cancels it if it is pending, so that no
    /// [`DimHandler::apply`] comes after this until the next [`Dim::sample`]. Sleeps.
    pub fn cancel(&self) {
        // SAFETY: The work was initialised by `new` (type invariant).
        unsafe { bindings::cancel_work_sync(core::ptr::addr_of_mut!((*self.dim.get()).work)) };
    }

    /// The work `net_dim` schedules: applies the profile it picked and starts measuring
    /// afresh.
    ///
    /// # Safety
    ///
    /// Only for the workqueue, with `work` the `work` field of the `dim` of a live `Dim<T>`:
    /// `new` installs it there and the `Dim` cancels it before it goes.
    unsafe extern "C" fn work(work: *mut bindings::work_struct) {
        // SAFETY: By the function's safety requirements `work` is the `work` field of a
        // `struct dim`, itself the `dim` field of a live `Dim<T>` (`Opaque` is transparent).
        let (raw, this) = unsafe {
            let raw = crate::container_of!(work, bindings::dim, work).cast_mut();
            (raw, &*crate::container_of!(raw, Self, dim))
        };
        T::apply(this, this.moderation());
        // SAFETY: `raw` is valid; C's drivers end their work by restarting the measurement.
        unsafe { (*raw).state = bindings::dim_state_DIM_START_MEASURE as u8 };
    }
}

#[pinned_drop]
impl<T: DimHandler> PinnedDrop for Dim<T> {
    fn drop(self: Pin<&mut Self>) {
        self.cancel();
    }
}
