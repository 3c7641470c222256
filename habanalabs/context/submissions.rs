// SPDX-License-Identifier: GPL-2.0

//! The context's command submissions, by sequence number: those `WAIT_CS` can report on, and
//! among them those still running.

use kernel::{prelude::*, sync::Arc};

use crate::cs::Cs;

/// Submissions whose outcome `WAIT_CS` can still report; older ones count as completed.
const HISTORY: usize = 1024;

/// The last [`HISTORY`] submissions, in a ring indexed by sequence number. A submission's
/// slot is reused only once it is done, so every submission still running is in the ring,
/// from `oldest` on.
pub(super) struct Submissions {
    ring: KVec<Option<Arc<Cs>>>,
    /// The sequence number of the next submission (they start at 1).
    next_seq: u64,
    /// No submission before this one is still running.
    oldest: u64,
}

fn slot(seq: u64) -> usize {
    (seq % HISTORY as u64) as usize
}

impl Submissions {
    pub(super) fn new() -> Result<Self> {
        let mut ring = KVec::with_capacity(HISTORY, GFP_KERNEL)?;
        for _ in 0..HISTORY {
            ring.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            ring,
            next_seq: 1,
            oldest: 1,
        })
    }

    /// The submission of sequence number `seq`, if the ring still holds it.
    fn get(&self, seq: u64) -> Option<&Arc<Cs>> {
        self.ring[slot(seq)].as_ref().filter(|cs| cs.seq == seq)
    }

    /// The sequence number the next submission gets; `EAGAIN` while the one [`HISTORY`]
    /// before it still runs (mainline's answer when too many are in flight).
    pub(super) fn next_seq(&self) -> Result<u64> {
        match &self.ring[slot(self.next_seq)] {
            Some(old) if !old.is_done() => Err(EAGAIN),
            _ => Ok(self.next_seq),
        }
    }

    /// Adds `cs`, numbered by [`Submissions::next_seq`].
    pub(super) fn add(&mut self, cs: Arc<Cs>) {
        while self.oldest < self.next_seq && self.get(self.oldest).map_or(true, |cs| cs.is_done()) {
            self.oldest += 1;
        }
        let seq = self.next_seq;
        self.ring[slot(seq)] = Some(cs);
        self.next_seq += 1;
    }

    /// For `WAIT_CS`: the submission `seq`, or `None` if it is too old to be known (and so
    /// done); `EINVAL` if there was no such submission.
    pub(super) fn find(&self, seq: u64) -> Result<Option<Arc<Cs>>> {
        if seq == 0 || seq >= self.next_seq {
            return Err(EINVAL);
        }
        Ok(self.get(seq).cloned())
    }

    /// The submissions still running, oldest first.
    pub(super) fn in_flight(&self) -> impl Iterator<Item = &Arc<Cs>> {
        (self.oldest..self.next_seq).filter_map(|seq| self.get(seq).filter(|cs| !cs.is_done()))
    }
}
