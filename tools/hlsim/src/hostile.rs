// SPDX-License-Identifier: GPL-2.0

//! Hostile mode ([`FAULT_HOSTILE`]): a device that lies. While the fault
//! is set, a thread of the device acts at random, from the seed in
//! `HOSTILE_SEED` (taken when the fault is set, so a run repeats) and
//! about `HOSTILE_RATE` times per 1024 ticks of [`TICK`]:
//!
//! - a random value in a register the device owns: a QMAN's `PQ_CI`,
//!   `CQ_PI` or `STATUS`, the event queue's `EQ_PI` or `EQ_LOST`, a port's
//!   `TX_CI` or `RX_CI`;
//! - a bogus completion: a random entry, READY or not, at a QMAN's CQ
//!   producer index, which then moves on, and the QMAN's interrupt;
//! - a bogus event: a random entry at the event queue's producer index,
//!   which then moves on, and the event interrupt;
//! - an interrupt out of turn, on any vector.
//!
//! Each act counts in `HOSTILE_EVENTS`. The rings' addresses are the
//! driver's, from the registers, and checked to lie in guest RAM as the
//! model's own writes are. Clearing the fault stops the acts; what they
//! left stays until the driver resets the device (unbind and bind).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::device::Shared;
use crate::qman::{self as model_qman, NUM_QMANS};
use crate::regs::{FAULT_HOSTILE, NUM_PORTS, NUM_VECTORS, VECTOR_EVENTS, eq, model_ctl, nic, qman};
use crate::ring::Ring;

/// The hostile thread's tick.
pub const TICK: Duration = Duration::from_millis(1);
/// Acts per 1024 ticks when `HOSTILE_RATE` is 0.
pub const DEFAULT_RATE: u32 = 64;

const CQE_SIZE: u64 = 8;
const EQE_SIZE: u64 = 16;

/// xorshift64*: small, seedable, good enough to pick acts.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (not 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A 32-bit value, edges (0, all ones, off by one) half of the time.
    fn value(&mut self, near: u32) -> u32 {
        match self.below(6) {
            0 => 0,
            1 => u32::MAX,
            2 => near.wrapping_add(1),
            3 => near.wrapping_sub(1),
            _ => self.next_u64() as u32,
        }
    }
}

/// The acts of hostile mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// A random value in a register the device owns.
    Register,
    /// A random entry in a QMAN's completion queue.
    Completion,
    /// A random entry in the event queue.
    Event,
    /// An interrupt on a random vector.
    Interrupt,
}

impl Act {
    fn pick(rng: &mut Rng) -> Self {
        match rng.below(4) {
            0 => Self::Register,
            1 => Self::Completion,
            2 => Self::Event,
            _ => Self::Interrupt,
        }
    }
}

/// Does one act of kind `act` on the device; returns whether it did (a
/// ring the driver has not set up is left alone).
pub(crate) fn act(shared: &Shared, rng: &mut Rng, act: Act) -> bool {
    let bar = &shared.bar;
    match act {
        Act::Register => {
            let q = model_qman::queue(rng.below(NUM_QMANS as u64) as usize);
            let stream = qman::stream(q, rng.below(qman::STREAMS as u64) as usize);
            let p = rng.below(NUM_PORTS as u64) as usize;
            let off = match rng.below(7) {
                0 => stream + qman::PQ_CI,
                1 => stream + qman::CQ_PI,
                2 => stream + qman::STATUS,
                3 => eq::EQ_PI,
                4 => eq::EQ_LOST,
                5 => nic::block(p) + nic::TX_CI,
                _ => nic::block(p) + nic::RX_CI,
            };
            let near = bar.read32(off);
            bar.write32(off, rng.value(near));
            true
        }
        Act::Completion => {
            let q = model_qman::queue(rng.below(NUM_QMANS as u64) as usize);
            let block = qman::stream(q, rng.below(qman::STREAMS as u64) as usize);
            let Some(cq) = Ring::new(
                &shared.ram,
                bar.read64(block + qman::CQ_BASE_LO),
                bar.read32(block + qman::CQ_SIZE),
                CQE_SIZE,
            ) else {
                return false;
            };
            let pi = bar.read32(block + qman::CQ_PI);
            shared.ram.write64(cq.slot(pi), rng.next_u64());
            bar.write32_release(block + qman::CQ_PI, pi.wrapping_add(1));
            shared.irq.raise(model_qman::vector(q));
            true
        }
        Act::Event => {
            let Some(ring) = Ring::new(
                &shared.ram,
                bar.read64(eq::EQ_BASE_LO),
                bar.read32(eq::EQ_SIZE),
                EQE_SIZE,
            ) else {
                return false;
            };
            let pi = bar.read32(eq::EQ_PI);
            let slot = ring.slot(pi);
            shared.ram.write64(slot + 8, rng.next_u64());
            shared.ram.write64(slot, rng.next_u64());
            bar.write32_release(eq::EQ_PI, pi.wrapping_add(1));
            shared.irq.raise(VECTOR_EVENTS);
            true
        }
        Act::Interrupt => {
            shared.irq.raise(rng.below(u64::from(NUM_VECTORS)) as u32);
            true
        }
    }
}

/// Spawns the hostile thread of device `name`, until `stopping`.
pub(crate) fn spawn(
    name: &str,
    shared: Arc<Shared>,
    stopping: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("{name}-hostile"))
        .spawn(move || {
            let mut rng: Option<Rng> = None;
            while !stopping.load(Ordering::Relaxed) {
                thread::sleep(TICK);
                let bar = &shared.bar;
                if bar.read32(model_ctl::FAULTS) & FAULT_HOSTILE == 0 {
                    rng = None;
                    continue;
                }
                let rng =
                    rng.get_or_insert_with(|| Rng::new(bar.read32(model_ctl::HOSTILE_SEED).into()));
                let rate = match bar.read32(model_ctl::HOSTILE_RATE) {
                    0 => DEFAULT_RATE,
                    r => r.min(1024),
                };
                if rng.below(1024) >= u64::from(rate) {
                    continue;
                }
                let kind = Act::pick(rng);
                if act(&shared, rng, kind) {
                    let n = bar.read32(model_ctl::HOSTILE_EVENTS);
                    bar.write32(model_ctl::HOSTILE_EVENTS, n.wrapping_add(1));
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_runs_repeat() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(7).next_u64(), Rng::new(8).next_u64());
        // Seed 0 does not stick at 0.
        let mut z = Rng::new(0);
        assert!((0..10).any(|_| z.next_u64() != 0));
    }

    #[test]
    fn every_act_is_picked() {
        let mut rng = Rng::new(1);
        let mut seen = [false; 4];
        for _ in 0..200 {
            seen[Act::pick(&mut rng) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
    }
}
