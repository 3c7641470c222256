// SPDX-License-Identifier: GPL-2.0

//! Queue managers: the driver's side of a QMAN's streams, each a primary queue (jobs in) and a
//! completion queue (completions out) of its own, which the QMAN runs independently of each
//! other, as GAUDI's four streams.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    device,
    dma::{self, CoherentAllocation},
    dma_read, dma_write, new_mutex, pci,
    prelude::*,
    sync::{Arc, Mutex},
    types::{ARef, AsBytes, FromBytes},
};

use crate::{
    asic::Line,
    cb::Cb,
    control::Control,
    cs::{Cs, JobEnd},
    hw::Hw,
    mailbox::Command,
    regs::{
        self, QmanBlock, BD_CTL, CQE_CTL, CQ_CI, CQ_SIZE, MSG_BASE0, MSG_BASE1, PQ_BASE, PQ_PI,
        PQ_SIZE, QMAN_CTL, QMAN_ENGINE, QMAN_STREAMS,
    },
    reset::Cause,
};

/// Entries of each PQ and CQ: at most this many jobs in flight per stream.
pub(crate) const QUEUE_ENTRIES: usize = 256;
/// Largest CB a job runs, the device's limit.
pub(crate) const MAX_CB_SIZE: u32 = 2 << 20;

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
// SAFETY: Plain integers without padding: all bytes are initialised.
unsafe impl AsBytes for Bd {}
// SAFETY: Two `u32`s, no padding: every bit pattern is valid.
unsafe impl FromBytes for Cqe {}
// SAFETY: Two `u32`s, no padding: all bytes are initialised.
unsafe impl AsBytes for Cqe {}

impl Cqe {
    fn ctl(self) -> CQE_CTL {
        CQE_CTL::from(self.ctl)
    }
}

/// The command buffer of a job.
pub(crate) enum JobCb {
    /// One of the driver's, kept alive while the job may run.
    Kernel(Arc<Cb>),
    /// The device address of one the user placed in device memory or mapped host memory, as
    /// GAUDI's internal queues take it: its lifetime is the user's.
    Device(u64),
}

/// A job the device may be running: what it needs stays alive until it completes.
struct Job {
    cs: Arc<Cs>,
    cb: JobCb,
}

impl Job {
    fn new(cs: Arc<Cs>, cb: JobCb) -> Self {
        if let JobCb::Kernel(cb) = &cb {
            cb.job_started();
        }
        Self { cs, cb }
    }

    /// The BD's `ptr`, and whether it is a device address.
    fn ptr(&self) -> (u64, bool) {
        match &self.cb {
            JobCb::Kernel(cb) => (cb.dma_handle(), false),
            JobCb::Device(addr) => (*addr, true),
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let JobCb::Kernel(cb) = &self.cb {
            cb.job_ended();
        }
    }
}

/// One stream's rings.
struct Ring {
    /// Jobs posted (`PQ_PI`).
    pi: u32,
    /// Completions consumed (`CQ_CI`).
    cq_ci: u32,
    /// The job behind each tag; the tag is the PQ index.
    slots: KVec<Option<Job>>,
    in_flight: usize,
    /// Completions for no job (a device that lies), since the driver bound.
    bogus: u64,
}

impl Ring {
    fn new() -> Result<Self> {
        let mut slots = KVec::with_capacity(QUEUE_ENTRIES, GFP_KERNEL)?;
        for _ in 0..QUEUE_ENTRIES {
            slots.push(None, GFP_KERNEL)?;
        }
        Ok(Self {
            pi: 0,
            cq_ci: 0,
            slots,
            in_flight: 0,
            bogus: 0,
        })
    }
}

/// One queue manager. Stream `s`'s PQ and CQ are entries `s * QUEUE_ENTRIES` on of [`Qman::pq`]
/// and [`Qman::cq`].
#[pin_data]
pub(crate) struct Qman {
    pub(crate) index: usize,
    pub(crate) engine: QMAN_ENGINE,
    pdev: ARef<pci::Device>,
    pq: CoherentAllocation<Bd>,
    cq: CoherentAllocation<Cqe>,
    /// The streams' rings, in stream order.
    #[pin]
    rings: Mutex<[Ring; QMAN_STREAMS]>,
}

impl Qman {
    pub(crate) fn new(
        pdev: &pci::Device<device::Core>,
        index: usize,
        engine: QMAN_ENGINE,
    ) -> Result<impl PinInit<Self, Error>> {
        let rings = [Ring::new()?, Ring::new()?, Ring::new()?, Ring::new()?];
        let entries = QMAN_STREAMS * QUEUE_ENTRIES;
        let pq = CoherentAllocation::alloc_coherent(pdev.as_ref(), entries, GFP_KERNEL)?;
        let cq = CoherentAllocation::alloc_coherent(pdev.as_ref(), entries, GFP_KERNEL)?;
        let pdev: ARef<pci::Device> = pdev.into();
        Ok(try_pin_init!(Self {
            index,
            engine,
            pdev,
            pq,
            cq,
            rings <- new_mutex!(rings),
        }? Error))
    }

    /// Programs the streams' rings (empty) and enables them. Jobs still in the rings end as
    /// reset.
    fn start(&self, hw: &Hw) -> Result {
        let mut rings = self.rings.lock();
        self.restart(hw, &mut rings)
    }

    /// Ends every job in the rings as reset; for after the device dropped them.
    fn abort_jobs(&self) {
        self.rings.lock().iter_mut().for_each(Self::end_all);
    }

    fn end_all(ring: &mut Ring) {
        for slot in ring.slots.iter_mut() {
            if let Some(job) = slot.take() {
                job.cs.job_done(JobEnd::Reset);
            }
        }
        ring.pi = 0;
        ring.cq_ci = 0;
        ring.in_flight = 0;
    }

    fn restart(&self, hw: &Hw, rings: &mut [Ring; QMAN_STREAMS]) -> Result {
        rings.iter_mut().for_each(Self::end_all);
        for i in 0..QMAN_STREAMS * QUEUE_ENTRIES {
            dma_write!(self.cq[i] = Cqe { ctl: 0, info: 0 })?;
        }
        let regs = hw.regs()?;
        for s in 0..QMAN_STREAMS {
            let block = &QmanBlock(self.index, s);
            // Stream `s`'s rings, in bytes from the start of the QMAN's.
            let pq = (s * QUEUE_ENTRIES * size_of::<Bd>()) as u64;
            let cq = (s * QUEUE_ENTRIES * size_of::<Cqe>()) as u64;
            QMAN_CTL::default().try_write(&regs, block)?;
            PQ_BASE::from(self.pq.dma_handle() + pq).try_write(&regs, block)?;
            PQ_SIZE::from(QUEUE_ENTRIES as u32).try_write(&regs, block)?;
            PQ_PI::default().try_write(&regs, block)?;
            // The CQ's address is not 8-byte aligned in the block: two writes.
            let (cq_lo, cq_hi) = regs::cq_base(self.cq.dma_handle() + cq);
            cq_lo.try_write(&regs, block)?;
            cq_hi.try_write(&regs, block)?;
            CQ_SIZE::from(QUEUE_ENTRIES as u32).try_write(&regs, block)?;
            CQ_CI::default().try_write(&regs, block)?;
            MSG_BASE0::from(regs::MON_ADDR_BASE).try_write(&regs, block)?;
            MSG_BASE1::from(regs::SOB_ADDR_BASE).try_write(&regs, block)?;
            QMAN_CTL::default()
                .set_enable(true)
                .try_write(&regs, block)?;
        }
        Ok(())
    }

    /// Whether this is one of GAUDI's external queues (DMA 0 and 1), which take only the
    /// driver's CBs.
    pub(crate) fn external(&self) -> bool {
        self.engine.kind() == QMAN_ENGINE::DMA && self.engine.index() < 2
    }

    /// Jobs queued or running, on all streams.
    pub(crate) fn jobs(&self) -> usize {
        self.rings.lock().iter().map(|r| r.in_flight).sum()
    }

    /// Whether the engine has a job queued or running.
    pub(crate) fn busy(&self) -> bool {
        self.jobs() != 0
    }

    /// How many more jobs stream `stream` takes now.
    fn free_slots(&self, stream: usize) -> usize {
        QUEUE_ENTRIES - self.rings.lock()[stream].in_flight
    }

    /// Posts `job`, which runs `len` bytes of its CB, on stream `stream` and rings the QMAN's
    /// doorbell. On error the job was not posted; once posted, it ends through [`JobEnd`]
    /// however it goes.
    fn push(&self, hw: &Hw, stream: usize, job: Job, len: u32) -> Result {
        let mut rings = self.rings.lock();
        let ring = &mut rings[stream];
        let regs = hw.regs()?;
        let tag = ring.pi as usize % QUEUE_ENTRIES;
        if ring.slots[tag].is_some() {
            return Err(EBUSY);
        }
        let (ptr, device_cb) = job.ptr();
        dma_write!(
            self.pq[stream * QUEUE_ENTRIES + tag] = Bd {
                ptr,
                len,
                ctl: BD_CTL::default()
                    .set_tag(tag as u16)
                    .set_device_cb(device_cb)
                    .into(),
            }
        )?;
        let pi = ring.pi.wrapping_add(1);
        PQ_PI::from(pi).try_write(&regs, &QmanBlock(self.index, stream))?;
        drop(regs);
        ring.slots[tag] = Some(job);
        ring.in_flight += 1;
        ring.pi = pi;
        drop(rings);
        // If the device is gone, the job ends when the driver unbinds.
        let _ = hw.ring(Line::Queue(self.index));
        Ok(())
    }

    /// Consumes the completions the QMAN's streams have written and ends their jobs.
    pub(crate) fn reap(&self, hw: &Hw) -> Result {
        let mut consumed = false;
        for stream in 0..QMAN_STREAMS {
            consumed |= self.reap_stream(hw, stream)?;
        }
        if consumed {
            // A stream stalled on a full CQ resumes at its QMAN's next doorbell.
            hw.ring(Line::Queue(self.index))?;
        }
        Ok(())
    }

    /// Consumes the completions stream `stream` has written and ends their jobs: at most a
    /// ring's worth, which is all a device that keeps to the ring can have written; the rest
    /// waits for the next interrupt. Whether it consumed any.
    fn reap_stream(&self, hw: &Hw, stream: usize) -> Result<bool> {
        let mut rings = self.rings.lock();
        let ring = &mut rings[stream];
        let start = ring.cq_ci;
        for _ in 0..QUEUE_ENTRIES {
            let index = stream * QUEUE_ENTRIES + ring.cq_ci as usize % QUEUE_ENTRIES;
            if !dma_read!(self.cq[index])?.ctl().ready() {
                break;
            }
            // The QMAN writes `info`, then `ctl` with READY: read it all after seeing READY.
            dma::rmb();
            let cqe = dma_read!(self.cq[index])?;
            dma_write!(self.cq[index] = Cqe { ctl: 0, info: 0 })?;
            ring.cq_ci = ring.cq_ci.wrapping_add(1);
            let tag = usize::from(cqe.ctl().tag());
            match ring.slots.get_mut(tag).and_then(Option::take) {
                Some(job) => {
                    ring.in_flight -= 1;
                    let status = cqe.ctl().status().into();
                    if status != 0 {
                        pr_debug!(
                            "queue {} stream {}: job of CS {} failed: cause {} at {:#x}\n",
                            self.index,
                            stream,
                            job.cs.seq,
                            status,
                            cqe.info
                        );
                    }
                    job.cs.job_done(JobEnd::Device { status });
                }
                None => {
                    // Logged at the first, second, fourth, ... so that a device that keeps
                    // lying does not flood the log.
                    ring.bogus += 1;
                    if ring.bogus.is_power_of_two() {
                        dev_warn!(
                            self.pdev,
                            "queue {}: completion for unknown tag {} ({} so far)\n",
                            self.index,
                            tag,
                            ring.bogus
                        );
                    }
                }
            }
        }
        if ring.cq_ci == start {
            return Ok(false);
        }
        let regs = hw.regs()?;
        CQ_CI::from(ring.cq_ci).try_write(&regs, &QmanBlock(self.index, stream))?;
        Ok(true)
    }

    /// Resets the QMAN through `reset` (the device command), ends its streams' jobs as reset
    /// and starts it again. If the command fails, the QMAN may still run them: they are kept
    /// (with their CBs) for the hard reset the caller asks for.
    fn reset(&self, hw: &Hw, reset: impl FnOnce() -> Result) -> Result {
        let mut rings = self.rings.lock();
        reset()?;
        self.restart(hw, &mut rings)
    }

    /// Adds to `out` the submissions of the queue's jobs that ran past their timeout.
    pub(crate) fn expired(&self, out: &mut KVec<Arc<Cs>>) {
        let rings = self.rings.lock();
        for job in rings.iter().flat_map(|r| r.slots.iter().flatten()) {
            if job.cs.expired() && !out.iter().any(|cs| cs.seq == job.cs.seq) {
                // Out of memory only delays the recovery to the next look.
                let _ = out.push(job.cs.clone(), GFP_KERNEL);
            }
        }
    }
}

/// The engine (`QMAN_ENGINE` kind and index) whose QMAN serves GAUDI queue id `id`, and the
/// QMAN's stream; `None` for the CPU queue and ids past the last.
fn gaudi_engine(id: u32) -> Option<(u8, u32, usize)> {
    use kernel::uapi::{
        gaudi_queue_id_GAUDI_QUEUE_ID_DMA_0_0 as DMA_0_0,
        gaudi_queue_id_GAUDI_QUEUE_ID_DMA_1_3 as DMA_1_3,
        gaudi_queue_id_GAUDI_QUEUE_ID_DMA_2_0 as DMA_2_0,
        gaudi_queue_id_GAUDI_QUEUE_ID_DMA_7_3 as DMA_7_3,
        gaudi_queue_id_GAUDI_QUEUE_ID_MME_0_0 as MME_0_0,
        gaudi_queue_id_GAUDI_QUEUE_ID_MME_1_3 as MME_1_3,
        gaudi_queue_id_GAUDI_QUEUE_ID_NIC_0_0 as NIC_0_0,
        gaudi_queue_id_GAUDI_QUEUE_ID_NIC_9_3 as NIC_9_3,
        gaudi_queue_id_GAUDI_QUEUE_ID_TPC_0_0 as TPC_0_0,
        gaudi_queue_id_GAUDI_QUEUE_ID_TPC_7_3 as TPC_7_3,
    };
    // Each QMAN has four streams, numbered consecutively; DMA 2 follows the CPU queue.
    let streams = QMAN_STREAMS as u32;
    let (kind, first, base) = match id {
        DMA_0_0..=DMA_1_3 => (QMAN_ENGINE::DMA, DMA_0_0, 0),
        DMA_2_0..=DMA_7_3 => (QMAN_ENGINE::DMA, DMA_2_0, 2),
        MME_0_0..=MME_1_3 => (QMAN_ENGINE::MME, MME_0_0, 0),
        TPC_0_0..=TPC_7_3 => (QMAN_ENGINE::TPC, TPC_0_0, 0),
        NIC_0_0..=NIC_9_3 => (QMAN_ENGINE::NIC, NIC_0_0, 0),
        _ => return None,
    };
    let n = id - first;
    Some((kind, n / streams + base, (n % streams) as usize))
}

/// The queues of a device, compute then NIC, and what keeps each submission whole.
#[pin_data]
pub(crate) struct Queues {
    list: KVec<Arc<Qman>>,
    control: Control,
    /// Serialises submissions, so each is queued whole or not at all.
    #[pin]
    submit: Mutex<()>,
    /// Queue resets under way.
    resetting: AtomicU32,
}

impl Queues {
    pub(crate) fn new(list: KVec<Arc<Qman>>, control: Control) -> impl PinInit<Self> {
        pin_init!(Self {
            list,
            control,
            submit <- new_mutex!(()),
            resetting: AtomicU32::new(0),
        })
    }

    /// The queue with the device's own index `index`: a compute queue, or the NIC queue of an
    /// RDMA port.
    pub(crate) fn get(&self, index: usize) -> Option<&Arc<Qman>> {
        self.list.iter().find(|q| q.index == index)
    }

    /// The queue behind GAUDI queue id `id` (`enum gaudi_queue_id`): the QMAN of its engine
    /// and the QMAN's stream. `None` for the CPU queue, an id out of range, and an engine this
    /// device does not have (mainline's "not applicable").
    pub(crate) fn by_gaudi_id(&self, id: u32) -> Option<(&Arc<Qman>, usize)> {
        let (kind, index, stream) = gaudi_engine(id)?;
        let qman = self
            .list
            .iter()
            .find(|q| q.engine.kind() == kind && u32::from(q.engine.index()) == index)?;
        Some((qman, stream))
    }

    /// The queues, compute then NIC.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Qman>> {
        self.list.iter()
    }

    /// Starts every queue, empty.
    pub(crate) fn start(&self) -> Result {
        self.list
            .iter()
            .try_for_each(|qman| qman.start(self.control.hw()))
    }

    /// Runs `f` with no submission being queued; for a hard reset's new generation.
    pub(crate) fn fence<R>(&self, f: impl FnOnce() -> R) -> R {
        let _submit = self.submit.lock();
        f()
    }

    /// Queues the jobs of `cs`, each a queue, its stream, a CB and the bytes of it to run,
    /// whole or not at all, for a context of `generation`: `EAGAIN` if a stream has no room for
    /// its jobs yet (as mainline, whose users retry), `EINVAL` if they are more than a stream
    /// holds, `EIO` if a hard reset ended the context. `commit` runs once the room is known,
    /// before the first job is posted. A job that fails to post (the device went away) ends as
    /// reset.
    pub(crate) fn submit(
        &self,
        cs: &Arc<Cs>,
        jobs: KVec<(Arc<Qman>, usize, JobCb, u32)>,
        generation: u32,
        commit: impl FnOnce(),
    ) -> Result {
        let mut per_stream = [[0usize; QMAN_STREAMS]; regs::MAX_QUEUES];
        for (queue, stream, _, _) in jobs.iter() {
            per_stream[queue.index][*stream] += 1;
        }
        if per_stream
            .iter()
            .flatten()
            .any(|&count| count > QUEUE_ENTRIES)
        {
            return Err(EINVAL);
        }
        let _submit = self.submit.lock();
        // A hard reset ended the context of generation `generation` (see reset.rs).
        if self.control.reset().generation() != generation {
            return Err(EIO);
        }
        for queue in self.list.iter() {
            for (stream, &count) in per_stream[queue.index].iter().enumerate() {
                if count > 0 && queue.free_slots(stream) < count {
                    return Err(EAGAIN);
                }
            }
        }
        commit();
        let mut ret = Ok(());
        for (queue, stream, cb, len) in jobs {
            let hw = self.control.hw();
            ret = ret.and_then(|()| queue.push(hw, stream, Job::new(cs.clone(), cb), len));
            if ret.is_err() {
                cs.job_done(JobEnd::Reset);
            }
        }
        ret
    }

    /// Resets the queues in `mask` (a bit per queue index): what they ran and had queued ends
    /// as reset, and they start again empty.
    pub(crate) fn reset(&self, mask: u32) {
        self.resetting.fetch_add(1, Ordering::Relaxed);
        for qman in self.list.iter().filter(|q| mask & (1 << q.index) != 0) {
            let command = Command::QmanReset {
                queue: qman.index as u64,
            };
            if let Err(e) = qman.reset(self.control.hw(), || self.control.run(command)) {
                dev_err!(
                    qman.pdev,
                    "queue {}: reset failed: {}\n",
                    qman.index,
                    e.to_errno()
                );
                // The engine may still run its jobs: only a hard reset stops it.
                if e != ENODEV {
                    self.control.escalate(Cause::QueueStuck);
                }
            }
        }
        self.resetting.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether queues are being reset (`HL_DEVICE_STATUS_IN_RESET`).
    pub(crate) fn resetting(&self) -> bool {
        self.resetting.load(Ordering::Relaxed) != 0
    }

    /// Ends every queued job as reset; for after the device dropped them.
    pub(crate) fn abort_jobs(&self) {
        for qman in self.list.iter() {
            qman.abort_jobs();
        }
    }
}
