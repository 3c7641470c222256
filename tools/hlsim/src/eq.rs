// SPDX-License-Identifier: GPL-2.0

//! The event queue: errors reported to the driver in a ring in guest RAM.

use std::sync::atomic::{Ordering, fence};
use std::sync::{Mutex, PoisonError};

use crate::irq::Interrupts;
use crate::mem::SharedMem;
use crate::regs::{EQ_ENABLE, JobStatus, VECTOR_EVENTS, eq};
use crate::ring::Ring;

/// Event type: a QMAN job failed.
pub const EVENT_QMAN_ERROR: u32 = 1;
/// Bytes in an event entry.
const ENTRY_SIZE: u64 = 16;
/// Entry `hdr` bit: the entry is valid.
const HDR_READY: u32 = 1 << 31;
/// Entry `hdr` bits holding the queue.
const HDR_QUEUE_SHIFT: u32 = 16;

/// The event queue of one device.
#[derive(Default)]
pub struct EventQueue {
    lock: Mutex<()>,
}

impl EventQueue {
    /// Reports that a job on queue `q` failed with `cause`, and raises
    /// [`VECTOR_EVENTS`]; counts the event in `EQ_LOST` instead if the
    /// queue is disabled, misconfigured or full.
    pub fn post(
        &self,
        bar: &SharedMem,
        ram: &SharedMem,
        irq: &Interrupts,
        q: usize,
        cause: JobStatus,
        info: u64,
    ) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = Ring::new(
            ram,
            bar.read64(eq::EQ_BASE_LO),
            bar.read32(eq::EQ_SIZE),
            ENTRY_SIZE,
        )
        .filter(|_| bar.read32(eq::EQ_CTL) & EQ_ENABLE != 0);
        let pi = bar.read32(eq::EQ_PI);
        let ci = bar.read32_acquire(eq::EQ_CI);
        let Some(ring) =
            ring.filter(|ring| ring.used(pi, ci).is_some_and(|used| used < ring.entries()))
        else {
            bar.write32(eq::EQ_LOST, bar.read32(eq::EQ_LOST).wrapping_add(1));
            return;
        };
        let entry = ring.slot(pi);
        let word = |off| ram.atomic32(entry + off).expect("the ring is in guest RAM");
        word(4).store(cause as u32, Ordering::Relaxed);
        let info_word = ram.atomic64(entry + 8).expect("the ring is in guest RAM");
        info_word.store(info, Ordering::Relaxed);
        fence(Ordering::Release);
        let hdr = HDR_READY | (q as u32) << HDR_QUEUE_SHIFT | EVENT_QMAN_ERROR;
        word(0).store(hdr, Ordering::Release);
        bar.write32_release(eq::EQ_PI, pi.wrapping_add(1));
        irq.raise(VECTOR_EVENTS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

    struct Fixture {
        bar: SharedMem,
        ram: SharedMem,
        irq: Interrupts,
        vector: EventFd,
        eq: EventQueue,
    }

    fn fixture() -> Fixture {
        let irq = Interrupts::default();
        let fds: Vec<_> = (0..2)
            .map(|_| EventFd::new(EFD_NONBLOCK).unwrap())
            .collect();
        let vector = fds[1].try_clone().unwrap();
        irq.attach(fds);
        let f = Fixture {
            bar: SharedMem::create("bar", 0x1000).unwrap(),
            ram: SharedMem::create("ram", 0x10000).unwrap(),
            irq,
            vector,
            eq: EventQueue::default(),
        };
        f.bar.write64(eq::EQ_BASE_LO, 0x2000);
        f.bar.write32(eq::EQ_SIZE, 2);
        f.bar.write32(eq::EQ_CTL, EQ_ENABLE);
        f
    }

    impl Fixture {
        fn post(&self, q: usize, cause: JobStatus, info: u64) {
            self.eq
                .post(&self.bar, &self.ram, &self.irq, q, cause, info);
        }

        fn entry(&self, slot: u64) -> (u32, u32, u64) {
            let at = 0x2000 + 16 * slot;
            (
                self.ram.read32(at),
                self.ram.read32(at + 4),
                self.ram.read64(at + 8),
            )
        }

        fn counters(&self) -> (u32, u32) {
            (self.bar.read32(eq::EQ_PI), self.bar.read32(eq::EQ_LOST))
        }
    }

    #[test]
    fn posts_until_full() {
        let f = fixture();
        f.post(3, JobStatus::MmuFault, 0x8000_0000_0000_1000);
        f.post(0, JobStatus::BadOpcode, 0x18);
        assert_eq!(f.entry(0), (0x8003_0001, 4, 0x8000_0000_0000_1000));
        assert_eq!(f.entry(1), (0x8000_0001, 1, 0x18));
        assert_eq!(f.vector.read().unwrap(), 2);
        assert_eq!(f.counters(), (2, 0));
        f.post(1, JobStatus::BadPacket, 0);
        assert_eq!(f.counters(), (2, 1), "full");
        assert!(f.vector.read().is_err());
        // The driver consumes one entry.
        f.bar.write32(eq::EQ_CI, 1);
        f.post(2, JobStatus::FenceTimeout, 8);
        assert_eq!(f.entry(0), (0x8002_0001, 5, 8));
        assert_eq!(f.counters(), (3, 1));
        assert_eq!(f.vector.read().unwrap(), 1);
    }

    #[test]
    fn disabled_or_misconfigured_loses_events() {
        let f = fixture();
        f.bar.write32(eq::EQ_CTL, 0);
        f.post(0, JobStatus::BadOpcode, 0);
        f.bar.write32(eq::EQ_CTL, EQ_ENABLE);
        f.bar.write32(eq::EQ_SIZE, 3);
        f.post(0, JobStatus::BadOpcode, 0);
        f.bar.write32(eq::EQ_SIZE, 2);
        f.bar.write32(eq::EQ_CI, 5);
        f.post(0, JobStatus::BadOpcode, 0);
        assert_eq!(f.counters(), (0, 3));
        assert_eq!(f.entry(0), (0, 0, 0));
        assert!(f.vector.read().is_err());
        f.bar.write32(eq::EQ_CI, 0);
        f.post(0, JobStatus::BadOpcode, 0);
        assert_eq!(f.counters(), (1, 3));
    }
}
