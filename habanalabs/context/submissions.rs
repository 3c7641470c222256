// SPDX-License-Identifier: GPL-2.0

//! The context's command submissions, by sequence number: those `WAIT_CS` can report on, and
//! among them those still running.

use kernel::{alloc::flags::GFP_KERNEL_ACCOUNT, prelude::*, sync::Arc};

use crate::cs::{Cs, Outcome, Outcomes};

/// Submissions `WAIT_CS` can report on, the most recent ones: mainline GAUDI's
/// `max_pending_cs`. Older ones are gone.
pub(super) const WINDOW: usize = 16384;

/// A submission in the window.
#[derive(Clone)]
pub(super) enum Entry {
    /// Running, or ended since the last submission was added.
    Live(Arc<Cs>),
    /// Ended: how, and whether it was a sync-stream SIGNAL (what a WAIT may wait for).
    Ended { outcome: Outcome, signal: bool },
}

/// The window of the last [`WINDOW`] submissions, in a ring indexed by sequence number, and the
/// outcome store that answers for timestamped ones past it. A submission's place is reused only
/// once it is done, so every submission still running is in the ring, from `oldest` on. Those
/// that ended become their [`Outcome`] when the next one is added, so the ring holds no more
/// submissions than run at once: it costs 24 bytes a place (384 KiB), the store 8 KiB.
pub(super) struct Submissions {
    ring: KVVec<Option<Entry>>,
    /// The sequence number of the next submission (they start at 1).
    next_seq: u64,
    /// No submission before this one is still running.
    oldest: u64,
    outcomes: Arc<Outcomes>,
}

fn slot(seq: u64) -> usize {
    (seq % WINDOW as u64) as usize
}

impl Submissions {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            ring: KVVec::from_elem(None, WINDOW, GFP_KERNEL_ACCOUNT)?,
            next_seq: 1,
            oldest: 1,
            outcomes: Arc::pin_init(Outcomes::new()?, GFP_KERNEL_ACCOUNT)?,
        })
    }

    /// The sequence number the next submission gets; `EAGAIN` while the one [`WINDOW`]
    /// before it still runs (mainline's answer when too many are in flight).
    pub(super) fn next_seq(&self) -> Result<u64> {
        match &self.ring[slot(self.next_seq)] {
            Some(Entry::Live(old)) if !old.is_done() => Err(EAGAIN),
            _ => Ok(self.next_seq),
        }
    }

    /// For a submission with `HL_CS_FLAGS_TIMESTAMP`: the store its outcome goes to.
    pub(super) fn stamp(&self, timestamp: bool) -> Option<Arc<Outcomes>> {
        timestamp.then(|| self.outcomes.clone())
    }

    /// The store of outcomes that answers for timestamped submissions past the window.
    pub(super) fn outcomes(&self) -> &Arc<Outcomes> {
        &self.outcomes
    }

    /// Adds `cs`, numbered by [`Submissions::next_seq`].
    pub(super) fn add(&mut self, cs: Arc<Cs>) {
        self.sweep();
        let seq = self.next_seq;
        self.ring[slot(seq)] = Some(Entry::Live(cs));
        self.next_seq += 1;
    }

    /// Turns the submissions that ended into their outcomes, and moves `oldest` past them.
    fn sweep(&mut self) {
        for seq in self.oldest..self.next_seq {
            let entry = &mut self.ring[slot(seq)];
            if let Some(Entry::Live(cs)) = entry {
                if cs.is_done() {
                    let signal = cs.signal().is_some();
                    let outcome = cs.outcome();
                    *entry = Some(Entry::Ended { outcome, signal });
                }
            }
            let running = matches!(entry, Some(Entry::Live(_)));
            if seq == self.oldest && !running {
                self.oldest += 1;
            }
        }
    }

    /// For `WAIT_CS`: the submission `seq`, or `None` if it is older than the window (gone, as
    /// mainline's `hl_ctx_get_fence` answers: 0 too); `EINVAL` if there was no such submission
    /// yet.
    pub(super) fn find(&self, seq: u64) -> Result<Option<Entry>> {
        if seq >= self.next_seq {
            return Err(EINVAL);
        }
        if seq + (WINDOW as u64) < self.next_seq {
            return Ok(None);
        }
        Ok(self.ring[slot(seq)].clone())
    }

    /// The submissions still running, oldest first.
    pub(super) fn in_flight(&self) -> impl Iterator<Item = &Arc<Cs>> {
        (self.oldest..self.next_seq).filter_map(|seq| match &self.ring[slot(seq)] {
            Some(Entry::Live(cs)) if !cs.is_done() => Some(cs),
            _ => None,
        })
    }
}
