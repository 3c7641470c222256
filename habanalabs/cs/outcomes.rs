// SPDX-License-Identifier: GPL-2.0

//! The outcomes of a context's timestamped submissions, kept for `WAIT_CS` past the window of
//! submissions the context remembers, as mainline keeps them.
//!
//! Every submission with `HL_CS_FLAGS_TIMESTAMP` leaves its outcome here when it ends. A
//! `WAIT_CS` on a sequence number older than the window takes the outcome out (a second wait
//! on it finds it gone). The store holds [`KEPT`] outcomes: once full, a new one replaces the
//! one that came in first.

use kernel::{alloc::flags::GFP_KERNEL_ACCOUNT, new_mutex, prelude::*, sync::Mutex};

use super::Outcome;

/// How many outcomes the store holds: mainline's `HL_CS_OUTCOME_HISTORY_LEN`.
pub(crate) const KEPT: usize = 256;

#[derive(Clone, Copy)]
struct Kept {
    seq: u64,
    outcome: Outcome,
    /// Arrival order: the smallest is the first to go when the store is full.
    order: u64,
}

struct Store {
    /// [`KEPT`] places; `None` is free.
    places: KVec<Option<Kept>>,
    /// Outcomes that came in so far.
    arrivals: u64,
}

/// A context's store of outcomes; its lock is taken last (after a submission's own).
#[pin_data]
pub(crate) struct Outcomes {
    #[pin]
    store: Mutex<Store>,
}

impl Outcomes {
    pub(crate) fn new() -> Result<impl PinInit<Self>> {
        let store = Store {
            places: KVec::from_elem(None, KEPT, GFP_KERNEL_ACCOUNT)?,
            arrivals: 0,
        };
        Ok(pin_init!(Self {
            store <- new_mutex!(store, "Outcomes::store"),
        }))
    }

    /// Keeps the outcome of submission `seq`, in place of the oldest one kept if full.
    pub(crate) fn push(&self, seq: u64, outcome: Outcome) {
        let mut store = self.store.lock();
        let order = store.arrivals;
        store.arrivals += 1;
        let kept = Kept {
            seq,
            outcome,
            order,
        };
        let places = &mut store.places;
        let place = match places.iter().position(Option::is_none) {
            Some(free) => free,
            // Full: every place holds one (so `flatten` keeps the indices), and the first to
            // have come in goes.
            None => places
                .iter()
                .flatten()
                .enumerate()
                .min_by_key(|(_, k)| k.order)
                .map_or(0, |(i, _)| i),
        };
        places[place] = Some(kept);
    }

    /// Takes out the outcome of submission `seq`, if the store has it.
    pub(crate) fn take(&self, seq: u64) -> Option<Outcome> {
        let mut store = self.store.lock();
        let place = store
            .places
            .iter_mut()
            .find(|p| p.is_some_and(|k| k.seq == seq))?;
        place.take().map(|k| k.outcome)
    }
}
