// SPDX-License-Identifier: GPL-2.0

//! Queue managers: the driver's side of a QMAN's primary queue (jobs in) and completion queue
//! (completions out).

use kernel::{
    device,
    dma::{self, CoherentAllocation},
    dma_read, dma_write,
    irq::{IrqReturn, ThreadedHandler},
    new_mutex, pci,
    prelude::*,
    sync::{Arc, Mutex},
    types::{ARef, AsBytes, FromBytes},
};

use crate::{
    cb::Cb,
    cs::{Cs, JobEnd},
    hw::Hw,
    rdma::CqEvents,
    regs::{self, Engine},
};

/// Entries of each PQ and CQ: at most this many jobs in flight per queue.
pub(crate) const QUEUE_ENTRIES: usize = 256;

/// A buffer descriptor.
#[repr(C)]
#[derive(Clone, Copy)]
struct Bd {
    ptr: u64,
    len: u32,
    ctl: u32,
}

/// A completion entry.
#[repr(C)]
#[derive(Clone, Copy)]
struct Cqe {
    ctl: u32,
    info: u32,
}

// SAFETY: Plain integers, no padding: every bit pattern is valid and fully initialised.
unsafe impl FromBytes for Bd {}
// SAFETY: As above.
unsafe impl AsBytes for Bd {}
// SAFETY: As above.
unsafe impl FromBytes for Cqe {}
// SAFETY: As above.
unsafe impl AsBytes for Cqe {}

const CQE_READY: u32 = 1 << 31;

impl Cqe {
    fn tag(self) -> usize {
        (self.ctl & 0xffff) as usize
    }

    fn status(self) -> u32 {
        (self.ctl >> 16) & 0xff
    }
}

/// A job the device may be running: what it needs stays alive until it completes.
pub(crate) struct Job {
    pub(crate) cs: Arc<Cs>,
    pub(crate) cb: Arc<Cb>,
}

struct Ring {
    /// Jobs posted (`PQ_PI`).
    pi: u32,
    /// Completions consumed (`CQ_CI`).
    cq_ci: u32,
    /// The job behind each tag; the tag is the PQ index.
    slots: KVec<Option<Job>>,
    in_flight: usize,
}

/// One queue manager.
#[pin_data]
pub(crate) struct Qman {
    pub(crate) index: usize,
    pub(crate) engine: Engine,
    pdev: ARef<pci::Device>,
    pq: CoherentAllocation<Bd>,
    cq: CoherentAllocation<Cqe>,
    #[pin]
    ring: Mutex<Ring>,
}

impl Qman {
    pub(crate) fn new(pdev: &pci::Device<device::Core>, index: usize, engine: Engine) -> Result<impl PinInit<Self, Error>> {
        let mut slots = KVec::with_capacity(QUEUE_ENTRIES, GFP_KERNEL)?;
        for _ in 0..QUEUE_ENTRIES {
            slots.push(None, GFP_KERNEL)?;
        }
        let pq = CoherentAllocation::alloc_coherent(pdev.as_ref(), QUEUE_ENTRIES, GFP_KERNEL)?;
        let cq = CoherentAllocation::alloc_coherent(pdev.as_ref(), QUEUE_ENTRIES, GFP_KERNEL)?;
        let pdev: ARef<pci::Device> = pdev.into();
        Ok(try_pin_init!(Self {
            index,
            engine,
            pdev,
            pq,
            cq,
            ring <- new_mutex!(Ring { pi: 0, cq_ci: 0, slots, in_flight: 0 }),
        }? Error))
    }

    /// Programs the QMAN's rings (empty) and enables it. Jobs still in the ring end as reset.
    pub(crate) fn start(&self, hw: &Hw) -> Result {
        let mut ring = self.ring.lock();
        self.restart(hw, &mut ring)
    }

    /// Ends every job in the ring as reset; for after the device dropped them.
    pub(crate) fn abort_jobs(&self) {
        Self::end_all(self.index, &mut self.ring.lock());
    }

    fn end_all(index: usize, ring: &mut Ring) {
        for slot in ring.slots.iter_mut() {
            if let Some(job) = slot.take() {
                job.cs.job_done(index, JobEnd::Reset);
            }
        }
        ring.pi = 0;
        ring.cq_ci = 0;
        ring.in_flight = 0;
    }

    fn restart(&self, hw: &Hw, ring: &mut Ring) -> Result {
        Self::end_all(self.index, ring);
        for i in 0..QUEUE_ENTRIES {
            dma_write!(self.cq[i] = Cqe { ctl: 0, info: 0 })?;
        }
        let regs = hw.regs()?;
        let base = regs::qman(self.index);
        let pq = self.pq.dma_handle();
        let cq = self.cq.dma_handle();
        regs.try_write32(0, base + regs::QMAN_CTL)?;
        regs.try_write32(pq as u32, base + regs::PQ_BASE_LO)?;
        regs.try_write32((pq >> 32) as u32, base + regs::PQ_BASE_HI)?;
        regs.try_write32(QUEUE_ENTRIES as u32, base + regs::PQ_SIZE)?;
        regs.try_write32(0, base + regs::PQ_PI)?;
        regs.try_write32(cq as u32, base + regs::CQ_BASE_LO)?;
        regs.try_write32((cq >> 32) as u32, base + regs::CQ_BASE_HI)?;
        regs.try_write32(QUEUE_ENTRIES as u32, base + regs::CQ_SIZE)?;
        regs.try_write32(0, base + regs::CQ_CI)?;
        regs.try_write32(regs::CTL_ENABLE, base + regs::QMAN_CTL)
    }

    /// How many more jobs the queue takes now.
    pub(crate) fn free_slots(&self) -> usize {
        QUEUE_ENTRIES - self.ring.lock().in_flight
    }

    /// Posts `job`, which runs `len` bytes of its CB, and rings the QMAN's doorbell. On error
    /// the job was not posted; once posted, it ends through [`JobEnd`] however it goes.
    pub(crate) fn push(&self, hw: &Hw, job: Job, len: u32) -> Result {
        let mut ring = self.ring.lock();
        let regs = hw.regs()?;
        let tag = ring.pi as usize % QUEUE_ENTRIES;
        if ring.slots[tag].is_some() {
            return Err(EBUSY);
        }
        dma_write!(self.pq[tag] = Bd { ptr: job.cb.dma_handle(), len, ctl: tag as u32 })?;
        let pi = ring.pi.wrapping_add(1);
        regs.try_write32(pi, regs::qman(self.index) + regs::PQ_PI)?;
        drop(regs);
        ring.slots[tag] = Some(job);
        ring.in_flight += 1;
        ring.pi = pi;
        drop(ring);
        // If the device is gone, the job ends when the driver unbinds.
        let _ = hw.ring(regs::vector_qman(self.index));
        Ok(())
    }

    /// Consumes the completions the QMAN has written and ends their jobs.
    fn reap(&self, hw: &Hw) -> Result {
        let mut ring = self.ring.lock();
        let start = ring.cq_ci;
        loop {
            let index = ring.cq_ci as usize % QUEUE_ENTRIES;
            if dma_read!(self.cq[index])?.ctl & CQE_READY == 0 {
                break;
            }
            // The QMAN writes `info`, then `ctl` with READY: read it all after seeing READY.
            dma::rmb();
            let cqe = dma_read!(self.cq[index])?;
            dma_write!(self.cq[index] = Cqe { ctl: 0, info: 0 })?;
            ring.cq_ci = ring.cq_ci.wrapping_add(1);
            let tag = cqe.tag();
            match ring.slots.get_mut(tag).and_then(Option::take) {
                Some(job) => {
                    ring.in_flight -= 1;
                    job.cs.job_done(self.index, JobEnd::Device { status: cqe.status(), info: cqe.info });
                }
                None => dev_warn!(self.pdev, "queue {}: completion for unknown tag {}\n", self.index, tag),
            }
        }
        if ring.cq_ci != start {
            hw.regs()?.try_write32(ring.cq_ci, regs::qman(self.index) + regs::CQ_CI)?;
            drop(ring);
            // A QMAN stalled on a full CQ resumes at its next doorbell.
            hw.ring(regs::vector_qman(self.index))?;
        }
        Ok(())
    }

    /// Resets the QMAN through `reset` (the device command), ends its jobs as reset and starts
    /// it again.
    pub(crate) fn reset(&self, hw: &Hw, reset: impl FnOnce() -> Result) -> Result {
        let mut ring = self.ring.lock();
        let ret = reset();
        self.restart(hw, &mut ring)?;
        ret
    }
}

/// The completion interrupt of one QMAN.
pub(crate) struct QmanIrq {
    pub(crate) qman: Arc<Qman>,
    pub(crate) hw: Arc<Hw>,
    /// A NIC QMAN's: the waiters of its port's RDMA completion queues, which share the vector.
    pub(crate) cq_events: Option<Arc<CqEvents>>,
}

impl ThreadedHandler for QmanIrq {
    fn handle_threaded(&self) -> IrqReturn {
        // A failure means the device went away; its jobs end when the driver unbinds.
        let _ = self.qman.reap(&self.hw);
        if let Some(events) = &self.cq_events {
            events.notify();
        }
        IrqReturn::Handled
    }
}
