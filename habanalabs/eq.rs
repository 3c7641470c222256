// SPDX-License-Identifier: GPL-2.0

//! The event queue: the device reports errors there, the driver logs and counts them.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::{
    device,
    dma::{self, CoherentAllocation},
    dma_read, dma_write,
    irq::{IrqReturn, ThreadedHandler},
    pci,
    prelude::*,
    sync::Arc,
    types::{ARef, AsBytes, FromBytes},
};

use crate::{
    events::{self, cause, GAUDI_EVENT_SIZE},
    health::Health,
    hw::Hw,
    regs::{EQE_HDR, EQ_BASE, EQ_CI, EQ_CTL, EQ_LOST, EQ_SIZE, QMAN_ENGINE},
    stats::Stats,
};

/// Entries in the ring.
const EQ_ENTRIES: usize = 256;
/// Events logged at warning level; the rest only count (see INFO).
const EVENTS_LOGGED: u32 = 32;

/// An event entry, as the device writes it.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct EqEntry {
    hdr: u32,
    cause: u32,
    info: u64,
}

// SAFETY: Plain integers without padding: every bit pattern is valid.
unsafe impl FromBytes for EqEntry {}
// SAFETY: Plain integers without padding: all bytes are initialised.
unsafe impl AsBytes for EqEntry {}

/// The ring and what it has reported since the driver bound.
pub(crate) struct EventQueue {
    pdev: ARef<pci::Device>,
    ring: CoherentAllocation<EqEntry>,
    ci: AtomicU32,
    /// The engine of each queue, by queue number, to name its errors' GAUDI events.
    engines: KVec<Option<QMAN_ENGINE>>,
    /// Events counted by cause (index 0: causes this driver does not know).
    counts: [AtomicU64; cause::COUNT],
    /// Events counted by GAUDI event id, for `INFO HW_EVENTS`.
    gaudi_events: KVec<AtomicU32>,
    lost: AtomicU64,
    logged: AtomicU32,
    /// The device's history, where the errors of queues are kept for `INFO`.
    stats: Arc<Stats>,
    /// Where devlink learns of errors and lost events.
    health: Arc<Health>,
}

impl EventQueue {
    /// The event queue of a device whose queue `q` has engine `engines[i].1` where
    /// `engines[i].0 == q`.
    pub(crate) fn new(
        pdev: &pci::Device<device::Core>,
        engines: &[(usize, QMAN_ENGINE, Option<u8>)],
        stats: Arc<Stats>,
        health: Arc<Health>,
    ) -> Result<Self> {
        let queues = engines.iter().map(|&(q, ..)| q + 1).max().unwrap_or(0);
        let mut by_queue = KVec::from_elem(None, queues, GFP_KERNEL)?;
        for &(q, engine, _) in engines {
            by_queue[q] = Some(engine);
        }
        let mut gaudi_events = KVec::with_capacity(GAUDI_EVENT_SIZE, GFP_KERNEL)?;
        for _ in 0..GAUDI_EVENT_SIZE {
            gaudi_events.push(AtomicU32::new(0), GFP_KERNEL)?;
        }
        Ok(Self {
            pdev: pdev.into(),
            ring: CoherentAllocation::alloc_coherent(pdev.as_ref(), EQ_ENTRIES, GFP_KERNEL)?,
            ci: AtomicU32::new(0),
            engines: by_queue,
            counts: Default::default(),
            gaudi_events,
            lost: AtomicU64::new(0),
            logged: AtomicU32::new(0),
            stats,
            health,
        })
    }

    /// Hands the ring to the device (after a reset: empty).
    pub(crate) fn start(&self, hw: &Hw) -> Result {
        for i in 0..EQ_ENTRIES {
            dma_write!(
                self.ring[i] = EqEntry {
                    hdr: 0,
                    cause: 0,
                    info: 0,
                }
            )?;
        }
        self.ci.store(0, Ordering::Relaxed);
        let regs = hw.regs()?;
        let base = self.ring.dma_handle();
        EQ_BASE::from(base).write(&regs);
        EQ_SIZE::from(EQ_ENTRIES as u32).write(&regs);
        EQ_CI::default().write(&regs);
        EQ_CTL::default().set_enable(true).write(&regs);
        Ok(())
    }

    /// The counter of each GAUDI event id, in order.
    pub(crate) fn gaudi_events(&self) -> impl Iterator<Item = u32> + '_ {
        self.gaudi_events.iter().map(|c| c.load(Ordering::Relaxed))
    }

    /// Events counted by cause (index 0: causes this driver does not know), and events lost.
    pub(crate) fn counts(&self) -> ([u64; cause::COUNT], u64) {
        (
            self.counts.each_ref().map(|c| c.load(Ordering::Relaxed)),
            self.lost.load(Ordering::Relaxed),
        )
    }

    /// Consumes the entries the device has written: at most a ring's worth, which is all a
    /// device that keeps to the ring can have written; the rest waits for the next interrupt.
    fn drain(&self, hw: &Hw) -> Result {
        let mut ci = self.ci.load(Ordering::Relaxed);
        for _ in 0..EQ_ENTRIES {
            let index = ci as usize % EQ_ENTRIES;
            if !EQE_HDR::from(dma_read!(self.ring[index])?.hdr).ready() {
                break;
            }
            // The device writes the entry, then its READY bit: read the rest after seeing it.
            dma::rmb();
            let entry = dma_read!(self.ring[index])?;
            self.record(&entry);
            dma_write!(self.ring[index] = EqEntry { hdr: 0, ..entry })?;
            ci = ci.wrapping_add(1);
        }
        self.ci.store(ci, Ordering::Relaxed);
        let regs = hw.regs()?;
        EQ_CI::from(ci).write(&regs);
        let lost = u64::from(u32::from(EQ_LOST::read(&regs)));
        self.lost.store(lost, Ordering::Relaxed);
        Ok(())
    }

    /// Tells devlink of the errors and lost events [`EventQueue::drain`] found. Sleeps.
    fn report(&self) {
        self.health.eq_lost(self.lost.load(Ordering::Relaxed));
        self.health.report_pending();
    }

    fn record(&self, entry: &EqEntry) {
        let hdr = EQE_HDR::from(entry.hdr);
        let (ty, queue) = (hdr.kind(), hdr.queue());
        let known = ty == EQE_HDR::QMAN_ERROR && events::is_known(entry.cause);
        let slot = if known { entry.cause as usize } else { 0 };
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let engine = self.engines.get(usize::from(queue)).copied().flatten();
        let event = engine
            .filter(|_| known)
            .and_then(|e| events::gaudi_event(entry.cause, e));
        if let Some(counter) = event.and_then(|id| self.gaudi_events.get(id)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if known {
            self.stats.device_error(entry.cause, queue, entry.info);
            self.health.device_error(entry.cause, queue, entry.info);
        }
        if self.logged.fetch_add(1, Ordering::Relaxed) < EVENTS_LOGGED {
            dev_warn!(
                self.pdev,
                "event {} on queue {}: cause {}, info {:#x}\n",
                ty,
                queue,
                entry.cause,
                entry.info
            );
        }
    }
}

/// The event queue's interrupt (vector 1).
pub(crate) struct EqIrq {
    pub(crate) eq: Arc<EventQueue>,
    pub(crate) hw: Arc<Hw>,
}

impl ThreadedHandler for EqIrq {
    fn handle_threaded(&self) -> IrqReturn {
        // A failure means the device went away; there is nothing left to drain.
        let _ = self.eq.drain(&self.hw);
        self.eq.report();
        IrqReturn::Handled
    }
}
