// SPDX-License-Identifier: GPL-2.0

//! A QMAN's arbiter: which of its four streams holds the QMAN between two
//! `ARB_POINT`s, as GAUDI's `ARB_CFG_0`, `ARB_WRR_WEIGHT_0`-`3` and
//! `ARB_MST_QUIET_PER` configure it.
//!
//! While the arbiter is enabled, a stream's `ARB_POINT` request waits for
//! the grant and its release gives it back; the grant goes, once the quiet
//! period after the last release has passed, to the waiting stream the
//! policy picks: the highest request priority (ties to the lowest stream),
//! or weighted round robin (a stream keeps its turn for as many grants in
//! a row as its weight while it asks). Streams that do not ask run freely.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::qman::{Control, FENCE_TIMEOUT, JobError, STREAMS};
use crate::regs::space::{QM_ARB_CFG_0, QM_ARB_MST_QUIET_PER, QM_ARB_WRR_WEIGHT_0};
use crate::regs::{CLK_CUR_MHZ, JobStatus};

/// `ARB_CFG_0` bit: weighted round robin (else priority).
pub const CFG_WRR: u32 = 1 << 0;
/// `ARB_CFG_0` bit: master (kept; the model has no slave arbiters).
pub const CFG_MASTER: u32 = 1 << 4;
/// `ARB_CFG_0` bit: the arbiter is enabled.
pub const CFG_EN: u32 = 1 << 8;
/// `ARB_CFG_0` bits the register keeps: type, master, enable, the stream
/// mask `[15:12]` and `MST_MSG_NOSTALL` (bit 16; these two have no effect
/// in the model).
const CFG_FIELDS: u32 = 0x1_f111;
/// Shortest quiet period: the model's streams are threads of a host
/// process, so streams that one event releases reach their request within
/// milliseconds of each other, where GAUDI's CPs are cycles apart.
pub const MIN_QUIET: Duration = Duration::from_millis(20);
/// Period at which a waiting request looks for an abort.
const POLL: Duration = Duration::from_millis(1);

/// The registers and the grant.
#[derive(Default)]
struct State {
    cfg: u32,
    weights: [u32; STREAMS],
    quiet: u32,
    /// The stream holding the grant.
    owner: Option<usize>,
    /// The priority each waiting stream asked with.
    waiting: [Option<u8>; STREAMS],
    /// No grant before this (the quiet period after a release).
    quiet_until: Option<Instant>,
    /// Weighted round robin: the stream whose turn it is (none before the
    /// first grant) and the grants its turn has left.
    turn: Option<usize>,
    credits: u32,
}

impl State {
    /// The waiting stream the policy grants next, if any.
    fn choose(&self) -> Option<usize> {
        if self.cfg & CFG_WRR == 0 {
            // Highest priority; `max_by_key` keeps the last of equals.
            return (0..STREAMS)
                .rev()
                .filter_map(|s| Some((s, self.waiting[s]?)))
                .max_by_key(|&(_, priority)| priority)
                .map(|(s, _)| s);
        }
        if let Some(t) = self
            .turn
            .filter(|&t| self.waiting[t].is_some() && self.credits > 0)
        {
            return Some(t);
        }
        let first = self.turn.map_or(0, |t| t + 1);
        (first..first + STREAMS)
            .map(|s| s % STREAMS)
            .find(|&s| self.waiting[s].is_some())
    }

    /// Gives the grant to `s`, the stream [`State::choose`] picked.
    fn grant(&mut self, s: usize) {
        if self.cfg & CFG_WRR != 0 {
            if self.turn != Some(s) || self.credits == 0 {
                // A weight of 0 counts as 1.
                self.turn = Some(s);
                self.credits = self.weights[s].max(1);
            }
            self.credits -= 1;
        }
        self.waiting[s] = None;
        self.owner = Some(s);
    }

    /// The quiet period: `ARB_MST_QUIET_PER` cycles, at least
    /// [`MIN_QUIET`].
    fn quiet_period(&self) -> Duration {
        let ns = u64::from(self.quiet) * 1000 / u64::from(CLK_CUR_MHZ);
        Duration::from_nanos(ns).max(MIN_QUIET)
    }
}

/// A QMAN's arbiter.
#[derive(Default)]
pub struct Arbiter {
    state: Mutex<State>,
    cond: Condvar,
}

impl Arbiter {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes register `reg` (an offset in the QMAN block that
    /// [`crate::regs::space::qm_arb`] accepted). Disabling the arbiter
    /// drops the grant and lets the waiting requests through.
    pub fn write(&self, reg: u64, val: u32) {
        let mut state = self.lock();
        match reg {
            QM_ARB_CFG_0 => state.cfg = val & CFG_FIELDS,
            QM_ARB_MST_QUIET_PER => state.quiet = val,
            _ => {
                let s = (reg - QM_ARB_WRR_WEIGHT_0) / 4;
                state.weights[s as usize] = val;
            }
        }
        if state.cfg & CFG_EN == 0 {
            state.owner = None;
        }
        self.cond.notify_all();
    }

    /// `ARB_POINT` request of stream `s` with `priority`: returns once `s`
    /// holds the grant (at once while the arbiter is disabled or `s`
    /// holds it already). `FENCE_TIMEOUT` after [`FENCE_TIMEOUT`],
    /// `Aborted` on a reset of `ctl`'s stream.
    pub fn acquire(&self, s: usize, priority: u8, ctl: &Control) -> Result<(), JobError> {
        let deadline = Instant::now() + FENCE_TIMEOUT;
        let mut state = self.lock();
        if state.cfg & CFG_EN == 0 || state.owner == Some(s) {
            return Ok(());
        }
        state.waiting[s] = Some(priority);
        loop {
            let now = Instant::now();
            if state.cfg & CFG_EN == 0 {
                state.waiting[s] = None;
                return Ok(());
            }
            let quiet = state.quiet_until.filter(|&t| t > now);
            if state.owner.is_none() && quiet.is_none() && state.choose() == Some(s) {
                state.grant(s);
                return Ok(());
            }
            let err = if ctl.aborted() {
                Some(JobError::Aborted)
            } else if now >= deadline {
                Some(JobStatus::FenceTimeout.into())
            } else {
                None
            };
            if let Some(err) = err {
                state.waiting[s] = None;
                self.cond.notify_all();
                return Err(err);
            }
            let wait = quiet.map_or(POLL, |t| (t - now).min(POLL));
            state = self
                .cond
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// `ARB_POINT` release of stream `s`, or the end of its job: gives the
    /// grant back if `s` holds it, and starts the quiet period.
    pub fn release(&self, s: usize) {
        let mut state = self.lock();
        if state.owner == Some(s) {
            state.owner = None;
            state.quiet_until = Some(Instant::now() + state.quiet_period());
            self.cond.notify_all();
        }
    }

    /// Back to the power-on state: disabled, registers 0, no grant.
    pub fn reset(&self) {
        *self.lock() = State::default();
        self.cond.notify_all();
    }

    /// Whether stream `s` waits for the grant.
    #[cfg(test)]
    fn waits(&self, s: usize) -> bool {
        self.lock().waiting[s].is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    fn waiting(priorities: [Option<u8>; STREAMS]) -> State {
        State {
            cfg: CFG_EN,
            waiting: priorities,
            ..State::default()
        }
    }

    #[test]
    fn priority_picks_the_highest_then_the_lowest_stream() {
        assert_eq!(waiting([Some(1), Some(2), Some(3), None]).choose(), Some(2));
        assert_eq!(waiting([Some(2), Some(1), None, None]).choose(), Some(0));
        assert_eq!(waiting([None, Some(7), None, Some(7)]).choose(), Some(1));
        assert_eq!(waiting([None; STREAMS]).choose(), None);
    }

    #[test]
    fn wrr_gives_each_stream_its_weight_in_a_row() {
        let mut state = waiting([Some(0); STREAMS]);
        state.cfg |= CFG_WRR;
        state.weights = [2, 1, 3, 0];
        let mut order = Vec::new();
        for _ in 0..14 {
            let s = state.choose().unwrap();
            state.grant(s);
            state.owner = None;
            // Every stream asks again at once.
            state.waiting = [Some(0); STREAMS];
            order.push(s);
        }
        // Stream 0 is the first turn, weight 0 counts as 1.
        assert_eq!(order, [0, 0, 1, 2, 2, 2, 3, 0, 0, 1, 2, 2, 2, 3]);
        // A stream that stops asking loses the rest of its turn.
        state.waiting = [None, Some(0), Some(0), None];
        let s = state.choose().unwrap();
        state.grant(s);
        assert_eq!(s, 1);
    }

    #[test]
    fn quiet_period_is_the_cycles_with_a_floor() {
        let mut state = State::default();
        assert_eq!(state.quiet_period(), MIN_QUIET);
        state.quiet = 1500 * 50_000;
        assert_eq!(state.quiet_period(), Duration::from_millis(50));
    }

    #[test]
    fn registers_keep_their_fields() {
        let arb = Arbiter::default();
        arb.write(QM_ARB_CFG_0, u32::MAX);
        assert_eq!(arb.lock().cfg, CFG_FIELDS);
        arb.write(QM_ARB_WRR_WEIGHT_0 + 12, 9);
        assert_eq!(arb.lock().weights, [0, 0, 0, 9]);
        arb.write(QM_ARB_MST_QUIET_PER, 0x10);
        assert_eq!(arb.lock().quiet, 0x10);
        arb.reset();
        assert_eq!(arb.lock().cfg, 0);
    }

    /// Streams 0-2 ask while stream 3 holds the grant; each takes its
    /// turn, in the order of their priorities, once 3 releases.
    #[test]
    fn waiting_streams_run_in_priority_order() {
        let arb = Arc::new(Arbiter::default());
        let ctls: Arc<[Control; STREAMS]> = Arc::default();
        arb.write(QM_ARB_CFG_0, CFG_EN | CFG_MASTER);
        arb.acquire(3, 0, &ctls[3]).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = [(0, 1), (1, 5), (2, 3)]
            .into_iter()
            .map(|(s, priority)| {
                let (arb, ctls, order) = (arb.clone(), ctls.clone(), order.clone());
                thread::spawn(move || {
                    arb.acquire(s, priority, &ctls[s]).unwrap();
                    order.lock().unwrap().push(s);
                    arb.release(s);
                })
            })
            .collect();
        while !(0..3).all(|s| arb.waits(s)) {
            thread::sleep(POLL);
        }
        assert!(order.lock().unwrap().is_empty());
        let released = Instant::now();
        arb.release(3);
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*order.lock().unwrap(), [1, 2, 0]);
        // Three grants, each after a quiet period.
        assert!(released.elapsed() >= 3 * MIN_QUIET);
    }

    #[test]
    fn disabled_arbiter_grants_at_once_and_disabling_frees_waiters() {
        let arb = Arc::new(Arbiter::default());
        let ctls: Arc<[Control; STREAMS]> = Arc::default();
        // Disabled: both "hold" it.
        arb.acquire(0, 0, &ctls[0]).unwrap();
        arb.acquire(1, 0, &ctls[1]).unwrap();
        arb.write(QM_ARB_CFG_0, CFG_EN);
        arb.acquire(0, 0, &ctls[0]).unwrap();
        let waiter = {
            let (arb, ctls) = (arb.clone(), ctls.clone());
            thread::spawn(move || arb.acquire(1, 0, &ctls[1]))
        };
        while !arb.waits(1) {
            thread::sleep(POLL);
        }
        arb.write(QM_ARB_CFG_0, 0);
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }

    #[test]
    fn a_held_grant_times_out_the_others() {
        let arb = Arbiter::default();
        let ctls: [Control; STREAMS] = Default::default();
        arb.write(QM_ARB_CFG_0, CFG_EN);
        arb.acquire(2, 0, &ctls[2]).unwrap();
        assert_eq!(
            arb.acquire(0, 9, &ctls[0]),
            Err(JobStatus::FenceTimeout.into())
        );
        assert!(!arb.waits(0));
    }
}
