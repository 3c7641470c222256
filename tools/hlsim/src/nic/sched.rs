// SPDX-License-Identifier: GPL-2.0

//! The transmit scheduler of a port whose link is the bottleneck: strict
//! classes first, highest first, then deficit round robin among the ETS
//! classes, weighted by their `TC_BW` share.

use crate::regs::NUM_PRIOS;

/// Bytes of DRR quantum per percent of `TC_BW`; a share of 0 counts as 1.
const QUANTUM_PER_PERCENT: usize = 64;

/// Deficit round robin state.
#[derive(Debug, Default)]
pub struct Scheduler {
    deficit: [usize; NUM_PRIOS],
    cursor: usize,
    /// The class at the cursor has had its quantum for this visit.
    visited: bool,
}

impl Scheduler {
    /// Picks the class to send next, given the length of the next frame
    /// of each class with one waiting, `TC_TSA` and `TC_BW`.
    pub fn pick(
        &mut self,
        heads: &[Option<usize>; NUM_PRIOS],
        tsa: u32,
        bw: [u8; NUM_PRIOS],
    ) -> Option<usize> {
        let ets = |t: usize| tsa & 1 << t != 0;
        if let Some(t) = (0..NUM_PRIOS)
            .rev()
            .find(|&t| !ets(t) && heads[t].is_some())
        {
            return Some(t);
        }
        if !(0..NUM_PRIOS).any(|t| ets(t) && heads[t].is_some()) {
            return None;
        }
        loop {
            let t = self.cursor;
            match heads[t].filter(|_| ets(t)) {
                Some(len) => {
                    if !self.visited {
                        let quantum = usize::from(bw[t].max(1)) * QUANTUM_PER_PERCENT;
                        self.deficit[t] += quantum;
                        self.visited = true;
                    }
                    if self.deficit[t] >= len {
                        self.deficit[t] -= len;
                        return Some(t);
                    }
                }
                // An idle class keeps no credit.
                None => self.deficit[t] = 0,
            }
            self.cursor = (t + 1) % NUM_PRIOS;
            self.visited = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes each class sends out of `total`, all classes always backlogged
    /// with frames of `len` bytes.
    fn shares(tsa: u32, bw: [u8; 8], active: &[usize], len: usize, total: usize) -> [usize; 8] {
        let mut sched = Scheduler::default();
        let mut heads = [None; 8];
        for &t in active {
            heads[t] = Some(len);
        }
        let mut sent = [0; 8];
        while sent.iter().sum::<usize>() < total {
            sent[sched.pick(&heads, tsa, bw).unwrap()] += len;
        }
        sent
    }

    #[test]
    fn strict_classes_go_first_highest_first() {
        let sent = shares(
            0b0000_0011,
            [50, 50, 0, 0, 0, 0, 0, 0],
            &[0, 1, 2, 5],
            100,
            10_000,
        );
        assert_eq!(sent[5], 10_000);
        let mut sched = Scheduler::default();
        assert_eq!(sched.pick(&[None; 8], 0, [0; 8]), None);
    }

    #[test]
    fn ets_shares_follow_the_weights() {
        let sent = shares(
            0xff,
            [10, 30, 60, 0, 0, 0, 0, 0],
            &[0, 1, 2],
            1500,
            3_000_000,
        );
        for (t, want) in [(0, 0.1), (1, 0.3), (2, 0.6)] {
            let got = sent[t] as f64 / 3_000_000.0;
            assert!((got - want).abs() < 0.01, "class {t}: {got}");
        }
        // Jumbo frames and zero shares still make progress, equally.
        let sent = shares(0xff, [0; 8], &[3, 4], 9216, 1_000_000);
        assert!(sent[3].abs_diff(sent[4]) <= 9216, "{sent:?}");
    }
}
