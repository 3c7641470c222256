// SPDX-License-Identifier: GPL-2.0

//! Encapsulated signals: values of an external stream's SOB that a user reserves
//! (`HL_CS_FLAGS_RESERVE_SIGNALS_ONLY`) for a staged submission of its own, whose command
//! buffers add to the SOB themselves, and that WAIT submissions wait for one by one.

use kernel::{prelude::*, sync::Arc};

use crate::cs::Cs;

/// Reservations a context holds at once (mainline's are bounded by memory only); the next is
/// `EINVAL`, mainline's answer when it cannot allocate a handle.
const MAX_RESERVATIONS: usize = 256;

/// A range of signal values of one stream.
pub(super) struct Reservation {
    pub(super) stream: usize,
    /// The SOB value the first reserved signal brings the SOB to; the others follow.
    pub(super) first: u32,
    pub(super) count: u32,
    /// The first stage of the staged submission that signals them, once one does.
    pub(super) cs: Option<Arc<Cs>>,
}

impl Reservation {
    /// Whether it still holds: not yet used, or used by a submission that still runs (mainline
    /// lets the handle go with that submission).
    fn live(&self) -> bool {
        self.cs.as_ref().map_or(true, |cs| !cs.is_done())
    }
}

/// The context's reservations; handle `id` is slot `id - 1`.
pub(super) struct Reservations {
    slots: KVec<Option<Reservation>>,
}

impl Reservations {
    pub(super) fn new() -> Result<Self> {
        let mut slots = KVec::with_capacity(MAX_RESERVATIONS, GFP_KERNEL)?;
        for _ in 0..MAX_RESERVATIONS {
            slots.push(None, GFP_KERNEL)?;
        }
        Ok(Self { slots })
    }

    /// Adds `r` and returns its handle, the lowest free from 1 on as mainline numbers them;
    /// `EINVAL` when there is none.
    pub(super) fn add(&mut self, r: Reservation) -> Result<u32> {
        let (i, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, slot)| !slot.as_ref().is_some_and(Reservation::live))
            .ok_or(EINVAL)?;
        *slot = Some(r);
        Ok(i as u32 + 1)
    }

    fn slot(&mut self, id: u32) -> Option<&mut Option<Reservation>> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.slots.get_mut(i)
    }

    /// The live reservation of handle `id`.
    pub(super) fn get(&mut self, id: u32) -> Option<&mut Reservation> {
        self.slot(id)?.as_mut().filter(|r| r.live())
    }

    /// Lets handle `id` go.
    pub(super) fn remove(&mut self, id: u32) {
        if let Some(slot) = self.slot(id) {
            *slot = None;
        }
    }

    /// The live reservation that the staged submission of sequence number `seq` signals.
    pub(super) fn by_seq(&self, seq: u64) -> Option<&Reservation> {
        self.slots
            .iter()
            .flatten()
            .find(|r| r.live() && r.cs.as_ref().is_some_and(|cs| cs.seq == seq))
    }

    /// Whether a reservation on `stream` may still add to its SOB.
    pub(super) fn pending_on(&self, stream: usize) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|r| r.stream == stream && r.live())
    }
}
