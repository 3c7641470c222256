// SPDX-License-Identifier: GPL-2.0

//! The compute context: what the one user of the compute node owns (command buffers,
//! submissions, device memory, host mappings, RDMA connections and completion queues) and the
//! ioctls that manage it.

mod buffers;
mod memory;
mod release;
mod signals;
mod submissions;

use core::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};
use kernel::{
    c_str,
    dma::{PinnedPages, UserPages},
    mm::{flags, VmArea},
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    rbtree::RBTreeNodeReservation,
    sync::{
        poll::{PollTable, POLLERR, POLLHUP},
        Arc, Mutex,
    },
    uaccess::UserSlice,
    uapi,
};

use crate::{
    cb::Cb,
    cs::{Cs, Stage},
    deadline::Deadline,
    device::{ComputeClaim, HlDevice},
    dmabuf::{self, ExportInfo, HlExport, ImportNotify, ImportState, Revoke},
    marshal::{from_bytes, Arg, UapiIn, UapiOut},
    memory::{HOST_VA_SIZE, HUGE_PAGE},
    qman::{self, JobCb},
    rdma::{self, Cq, Rdma, Request},
    regs::{HOST_VA_BASE, SYNC_MANAGER},
    stats::{DropCounters, Refusal},
    sync_stream::{self, CollectivePlan, CollectiveStream, QMAN_STREAMS, STREAMS},
};
pub(crate) use buffers::CbSlot;
use buffers::{Buffers, TsBuffer};
use memory::Memory;
pub(crate) use release::Releaser;
use release::{Closed, GRACE};
use signals::{Reservation, Reservations};
use submissions::{Entry, Submissions};

/// GAUDI's default submission timeout on mainline.
const CS_DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The `cs_flags` of 6.1, and those the device model takes.
const CS_FLAGS_KNOWN: u32 = uapi::HL_CS_FLAGS_FORCE_RESTORE
    | uapi::HL_CS_FLAGS_SIGNAL
    | uapi::HL_CS_FLAGS_WAIT
    | uapi::HL_CS_FLAGS_COLLECTIVE_WAIT
    | uapi::HL_CS_FLAGS_TIMESTAMP
    | uapi::HL_CS_FLAGS_STAGED_SUBMISSION
    | uapi::HL_CS_FLAGS_STAGED_SUBMISSION_FIRST
    | uapi::HL_CS_FLAGS_STAGED_SUBMISSION_LAST
    | uapi::HL_CS_FLAGS_CUSTOM_TIMEOUT
    | uapi::HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT
    | uapi::HL_CS_FLAGS_ENCAP_SIGNALS
    | uapi::HL_CS_FLAGS_RESERVE_SIGNALS_ONLY
    | uapi::HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY
    | uapi::HL_CS_FLAGS_ENGINE_CORE_COMMAND;
const CS_FLAGS_SUPPORTED: u32 = uapi::HL_CS_FLAGS_FORCE_RESTORE
    | uapi::HL_CS_FLAGS_SIGNAL
    | uapi::HL_CS_FLAGS_WAIT
    | uapi::HL_CS_FLAGS_COLLECTIVE_WAIT
    | uapi::HL_CS_FLAGS_TIMESTAMP
    | uapi::HL_CS_FLAGS_STAGED_SUBMISSION
    | uapi::HL_CS_FLAGS_STAGED_SUBMISSION_FIRST
    | uapi::HL_CS_FLAGS_STAGED_SUBMISSION_LAST
    | uapi::HL_CS_FLAGS_CUSTOM_TIMEOUT
    | uapi::HL_CS_FLAGS_ENCAP_SIGNALS
    | uapi::HL_CS_FLAGS_RESERVE_SIGNALS_ONLY
    | uapi::HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY;
/// The flags that say what a submission is; one at most (mainline's `HL_CS_FLAGS_TYPE_MASK`).
const CS_FLAGS_TYPE: u32 = uapi::HL_CS_FLAGS_SIGNAL
    | uapi::HL_CS_FLAGS_WAIT
    | uapi::HL_CS_FLAGS_COLLECTIVE_WAIT
    | uapi::HL_CS_FLAGS_RESERVE_SIGNALS_ONLY
    | uapi::HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY
    | uapi::HL_CS_FLAGS_ENGINE_CORE_COMMAND;
/// `HL_MAX_SOB_VAL`: a reservation of this many signals or more is `EINVAL`.
const MAX_SOB_VAL: u32 = sync_stream::SOB_MAX + 1;

/// How often a `MULTI_CS` wait looks at the submissions it does not sleep on.
const MULTI_CS_POLL: Duration = Duration::from_millis(1);

/// `struct hl_cb_out`, a union of 8-byte members: the handle, the usage count or an address.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(crate) struct CbOut {
    value: u64,
}
const _: () = assert!(size_of::<CbOut>() == size_of::<uapi::hl_cb_out>());

/// `struct hl_cs_out`: `seq` holds `handle_id` and `count` for `RESERVE_SIGNALS_ONLY`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(crate) struct CsOut {
    seq: u64,
    status: u32,
    sob_base_addr_offset: u32,
    sob_count_before_submission: u16,
    pad: [u16; 3],
}
const _: () = assert!(size_of::<CsOut>() == size_of::<uapi::hl_cs_out>());
const _: () =
    assert!(core::mem::offset_of!(CsOut, status) == core::mem::offset_of!(uapi::hl_cs_out, status));

/// `struct hl_mem_out`: the handle or the device address.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(crate) struct MemOut {
    value: u64,
    pad: u64,
}
const _: () = assert!(size_of::<MemOut>() == size_of::<uapi::hl_mem_out>());

// SAFETY: `repr(C)` structs of integers without implicit padding (checked against the uAPI's
// sizes above): any bytes are a valid value, and every byte is initialised.
unsafe impl UapiIn for CbOut {}
// SAFETY: See above.
unsafe impl UapiOut for CbOut {}
// SAFETY: See above.
unsafe impl UapiIn for CsOut {}
// SAFETY: See above.
unsafe impl UapiOut for CsOut {}
// SAFETY: See above.
unsafe impl UapiIn for MemOut {}
// SAFETY: See above.
unsafe impl UapiOut for MemOut {}

/// A `struct hl_cs_chunk` of execute or restore chunks, from its bytes (its unions hold
/// `cb_handle` and `cb_size` there; `signal_seq_arr` and `num_signal_seq_arr`, or
/// `encaps_signal_seq` and `encaps_signal_offset`, for a WAIT). Its flags are for later ASICs'
/// queues: mainline GAUDI reads none of them.
struct Chunk {
    cb_handle: u64,
    queue_index: u32,
    cb_size: u32,
    /// For a collective wait, its reduction engine.
    collective_engine_id: u32,
}

impl Chunk {
    fn read(raw: &[u8]) -> Result<Self> {
        let _: uapi::hl_cs_chunk = from_bytes(raw)?;
        let at = |i: usize| raw.get(i..).ok_or(EINVAL);
        Ok(Self {
            cb_handle: from_bytes(at(0)?)?,
            queue_index: from_bytes(at(core::mem::offset_of!(uapi::hl_cs_chunk, queue_index))?)?,
            cb_size: from_bytes(at(core::mem::offset_of!(
                uapi::hl_cs_chunk,
                __bindgen_anon_2
            ))?)?,
            collective_engine_id: from_bytes(at(core::mem::offset_of!(
                uapi::hl_cs_chunk,
                collective_engine_id
            ))?)?,
        })
    }
}

/// What the context's lock protects. Taken after the binding (`HlDevice::bound`) and before
/// the locks of the device's parts: the submit lock, the device memory's, the RDMA
/// quarantine's and a port's CQ waiters'.
struct Context {
    buffers: Buffers,
    submissions: Submissions,
    memory: Memory,
    rdma: Rdma,
    /// The last SIGNAL value of each external stream (the SOBs start at 0 for each user),
    /// reserved encapsulated signals included.
    signals: [u32; STREAMS],
    /// The last SIGNAL submission of each external stream.
    last_signal: [Option<Arc<Cs>>; STREAMS],
    reservations: Reservations,
    /// The collective waits of each stream.
    collective: [CollectiveStream; QMAN_STREAMS],
}

/// What a submission of execute chunks is in a staged submission.
#[derive(Clone, Copy)]
enum StageArg {
    /// Not staged.
    None,
    /// The first stage (`last` if the last too), signalling the encapsulated signals of
    /// handle `encaps` if it has one.
    First { last: bool, encaps: Option<u32> },
    /// A later stage of the staged submission `seq`.
    Later { seq: u64, last: bool },
}

/// Maps `object` into `vma` with `mmap`, and keeps it alive as long as the mapping.
fn map_into<T: Send + Sync + 'static>(
    vma: &VmArea,
    object: Arc<T>,
    mmap: fn(&T, &VmArea) -> Result,
) -> Result {
    vma.set_flags(flags::DONTEXPAND | flags::DONTDUMP | flags::DONTCOPY);
    mmap(&object, vma)?;
    vma.keep_alive(object);
    Ok(())
}

/// An import the exporter revokes: its pages leave the context's MMU, under the context's lock,
/// before the exporter lets the memory go.
impl Revoke for Mutex<Context> {
    fn revoke(&self, state: &ImportState) {
        let mut ctx = self.lock();
        if !state.revoked.swap(true, Ordering::Relaxed) {
            ctx.memory.revoke_import(state);
        }
    }
}

/// An open compute node.
#[pin_data(PinnedDrop)]
pub(crate) struct ComputeFile {
    /// Shared with the `move_notify` of the dma-bufs it imports.
    ctx: Arc<Mutex<Context>>,
    /// Whether the restore chunks of a first submission have run.
    restored: AtomicBool,
    /// `HL_DEBUG_OP_SET_MODE`.
    debug_mode: AtomicBool,
    /// Whether the user submitted work or set up RDMA, and so may have written device memory,
    /// which is then scrubbed at close.
    used: AtomicBool,
    drops: DropCounters,
    /// The device's reset generation at open: a hard reset since ended the context.
    generation: u32,
    /// Dropped last: the node is free for the next user once everything above is gone.
    dev: ComputeClaim,
}

impl ComputeFile {
    /// Opens the compute node of `dev`, which has one user at a time.
    pub(crate) fn open(dev: &Arc<HlDevice>) -> Result<Pin<KBox<Self>>> {
        let dev = dev.claim_compute()?;
        let generation = dev.reset().generation();
        let ctx = Self::new_context(&dev)?;
        let ctx = Arc::pin_init(new_mutex!(ctx), GFP_KERNEL)?;
        dev.stats().opened();
        KBox::pin_init(
            pin_init!(Self {
                ctx,
                restored: AtomicBool::new(false),
                debug_mode: AtomicBool::new(false),
                used: AtomicBool::new(false),
                drops: DropCounters::default(),
                generation,
                dev,
            }),
            GFP_KERNEL,
        )
    }

    fn new_context(dev: &HlDevice) -> Result<Context> {
        let memory = Memory::new(&*dev.bound()?, dev.dram().clone())?;
        let submissions = Submissions::new()?;
        let regs = dev.hw().regs()?;
        // Nothing of the previous user's may act for this one: its SOB values, armed monitors
        // (which would write to this user's memory) and fence counters are cleared. No job runs
        // between users, so the sync manager is idle.
        for i in 0..SYNC_MANAGER::COUNT {
            SYNC_MANAGER::default().try_write_at(&regs, i)?;
        }
        drop(regs);
        memory.enable_mmu(dev.hw())?;
        Ok(Context {
            buffers: Buffers::new()?,
            submissions,
            memory,
            rdma: Rdma::new(),
            signals: [0; STREAMS],
            last_signal: Default::default(),
            reservations: Reservations::new()?,
            collective: Default::default(),
        })
    }

    pub(crate) fn device(&self) -> &HlDevice {
        &self.dev
    }

    /// `EIO` once a hard reset ended the context (reset.rs): the user closes the file and
    /// opens the node again.
    pub(crate) fn check_live(&self) -> Result {
        if self.dev.reset().generation() != self.generation {
            return Err(EIO);
        }
        Ok(())
    }

    /// `HL_IOCTL_CB`. A handle is also the CB's `mmap` offset.
    pub(crate) fn cb(&self, args: Arg<'_, uapi::hl_cb_in>, out: &mut CbOut) -> Result {
        match args.op {
            uapi::HL_CB_OP_CREATE => {
                // GAUDI's CBs are not mapped to its MMU.
                if args.flags & uapi::HL_CB_FLAGS_MAP != 0 {
                    return Err(EINVAL);
                }
                // Allocated before the context is locked: the binding comes first in the lock
                // order.
                let bytes = Cb::footprint(args.cb_size)?;
                let slot = self.ctx.lock().buffers.reserve(bytes)?;
                let cb = Arc::new(
                    Cb::new(&*self.dev.bound()?, args.cb_size, slot)?,
                    GFP_KERNEL,
                )?;
                out.value = self.ctx.lock().buffers.add(cb)?;
            }
            uapi::HL_CB_OP_DESTROY => self.ctx.lock().buffers.remove(args.cb_handle)?,
            uapi::HL_CB_OP_INFO => {
                let cb = self.ctx.lock().buffers.get(args.cb_handle)?;
                if args.flags & uapi::HL_CB_FLAGS_GET_DEVICE_VA != 0 {
                    return Err(EINVAL);
                }
                out.value = cb.jobs().into();
            }
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    /// `mmap` of a command buffer or of an RDMA completion queue's ring: the offset is the CB's
    /// handle or the offset `CQ_CREATE` returned.
    pub(crate) fn mmap(&self, vma: &VmArea) -> Result {
        self.check_live()?;
        let offset = (vma.pgoff() as u64)
            .checked_mul(PAGE_SIZE as u64)
            .ok_or(EINVAL)?;
        if Buffers::is_handle(offset) {
            let cb = self.ctx.lock().buffers.get(offset)?;
            map_into(vma, cb, Cb::mmap)
        } else if let Some(ts) = self.ts_at(offset) {
            map_into(vma, ts, TsBuffer::mmap)
        } else {
            let cq = self.ctx.lock().rdma.cq_at(offset).ok_or(EINVAL)?;
            map_into(vma, cq, Cq::mmap)
        }
    }

    /// The timestamp buffer at `mmap` offset `offset`; the lock is not held after (a
    /// temporary guard in an `if let` would be held through its `else`).
    fn ts_at(&self, offset: u64) -> Option<Arc<TsBuffer>> {
        self.ctx.lock().buffers.ts_at(offset)
    }

    /// `poll(2)`: readable while one of the context's RDMA completion queues has entries not
    /// consumed; an error and a hang-up once the device is going away. The waits are on every
    /// RDMA port, so that a queue created after an epoll registration wakes it too.
    pub(crate) fn poll(&self, table: &mut PollTable<'_>) -> u32 {
        let mut gone = false;
        for events in self.dev.rdma().all_events() {
            // SAFETY: The file holds `dev`, which holds every port's `CqEvents` as long as it
            // lives, so the condition variable outlives any `poll(2)` of this file.
            unsafe { table.register_wait(events.poll_wait()) };
            gone |= events.is_gone();
        }
        if gone || self.check_live().is_err() {
            return POLLERR | POLLHUP;
        }
        self.ctx.lock().rdma.poll_events(self.dev.rdma())
    }

    /// `HL_IOCTL_CS`: on failure too, `status` says why (a negative errno) and `seq` is all
    /// ones, as mainline.
    pub(crate) fn cs(&self, args: Arg<'_, uapi::hl_cs_in>, out: &mut CsOut) -> Result {
        self.used.store(true, Ordering::Relaxed);
        *out = CsOut {
            seq: u64::MAX,
            ..Default::default()
        };
        let ret = self.submit_cs(&args, out);
        if let Err(e) = ret {
            *out = CsOut {
                seq: out.seq,
                status: e.to_errno() as u32,
                ..Default::default()
            };
        }
        ret
    }

    /// The context's refused submissions.
    pub(crate) fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// Submits `args`; `out` holds `seq` all ones, and the answer on success.
    fn submit_cs(&self, args: &Arg<'_, uapi::hl_cs_in>, out: &mut CsOut) -> Result {
        let flags = args.cs_flags;
        if args.pad != [0; 4] {
            return Err(EINVAL);
        }
        let kind = flags & CS_FLAGS_TYPE;
        if kind.count_ones() > 1 {
            return Err(EINVAL);
        }
        // What GAUDI has on mainline and the device model not yet: `SKIP_RESET_ON_TIMEOUT`;
        // engine core commands are not GAUDI's.
        if flags & !CS_FLAGS_SUPPORTED & CS_FLAGS_KNOWN != 0 {
            return Err(EINVAL);
        }
        let sync = kind
            & (uapi::HL_CS_FLAGS_SIGNAL
                | uapi::HL_CS_FLAGS_WAIT
                | uapi::HL_CS_FLAGS_COLLECTIVE_WAIT);
        // The chunk arrays are the first union's first member; the second union holds the
        // staged submission's `seq`, the `encaps_sig_handle_id`, or the count and queue of a
        // reservation.
        let [restore, execute]: [u64; 2] = [args.read(0)?, args.read(8)?];
        let union = core::mem::offset_of!(uapi::hl_cs_in, __bindgen_anon_2);
        if kind == 0 && args.num_chunks_execute == 0 {
            return Err(EINVAL);
        }
        let timeout = if flags & uapi::HL_CS_FLAGS_CUSTOM_TIMEOUT != 0 {
            Duration::from_secs(args.timeout.into())
        } else {
            CS_DEFAULT_TIMEOUT
        };
        // The restore chunks run first on the context's first submission and on request, as
        // a submission of their own that must complete, within the submission's timeout (a
        // restore that hangs would otherwise hold the ioctl, and then the close, for the
        // default timeout).
        let first = !self.restored.swap(true, Ordering::AcqRel);
        if (first || flags & uapi::HL_CS_FLAGS_FORCE_RESTORE != 0) && args.num_chunks_restore != 0 {
            let n = args.num_chunks_restore;
            let cs = self.submit_chunks(restore, n, timeout, false, StageArg::None)?;
            let deadline = Deadline::after(timeout);
            if !self.wait_done(&cs, deadline)? || cs.failed() {
                return Err(ENOEXEC);
            }
        }
        let timestamp = flags & uapi::HL_CS_FLAGS_TIMESTAMP != 0;
        let n = args.num_chunks_execute;
        let encaps = flags & uapi::HL_CS_FLAGS_ENCAP_SIGNALS != 0;
        match kind {
            0 => {
                let stage = Self::stage_arg(flags, || args.read(union), || args.read(union))?;
                let cs = self.submit_chunks(execute, n, timeout, timestamp, stage)?;
                out.seq = match stage {
                    StageArg::Later { seq, .. } => seq,
                    _ => cs.seq,
                };
            }
            uapi::HL_CS_FLAGS_RESERVE_SIGNALS_ONLY => {
                // Mainline answers a refused reservation with a zero `handle_id` and `count`.
                out.seq = 0;
                let [count, queue]: [u32; 2] = [args.read(union)?, args.read(union + 4)?];
                self.reserve_signals(queue, count, out)?;
            }
            uapi::HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY => {
                self.unreserve_signals(args.read(union)?)?;
            }
            _ if sync != 0 => {
                self.submit_sync(sync, encaps, execute, n, timeout, timestamp, out)?;
            }
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    /// The staged-submission part of `flags`, with the staged submission's sequence number
    /// and the handle of encapsulated signals read when they are used. As mainline, the
    /// `FIRST` and `LAST` flags mean nothing without `STAGED_SUBMISSION`, and only a first
    /// stage takes encapsulated signals.
    fn stage_arg(
        flags: u32,
        seq: impl FnOnce() -> Result<u64>,
        handle: impl FnOnce() -> Result<u32>,
    ) -> Result<StageArg> {
        if flags & uapi::HL_CS_FLAGS_STAGED_SUBMISSION == 0 {
            return Ok(StageArg::None);
        }
        let last = flags & uapi::HL_CS_FLAGS_STAGED_SUBMISSION_LAST != 0;
        Ok(if flags & uapi::HL_CS_FLAGS_STAGED_SUBMISSION_FIRST != 0 {
            let encaps = flags & uapi::HL_CS_FLAGS_ENCAP_SIGNALS != 0;
            StageArg::First {
                last,
                encaps: if encaps { Some(handle()?) } else { None },
            }
        } else {
            StageArg::Later { seq: seq()?, last }
        })
    }

    /// `RESERVE_SIGNALS_ONLY`: reserves the next `count` signal values of external queue
    /// `queue`'s stream. `out` gets the handle, the SOB's place and, as mainline's `count`,
    /// the stream's next signal value after them.
    fn reserve_signals(&self, queue: u32, count: u32, out: &mut CsOut) -> Result {
        if count >= MAX_SOB_VAL {
            return Err(EINVAL);
        }
        let stream = sync_stream::stream(queue).ok_or(EINVAL)?;
        self.dev.queues().by_gaudi_id(queue).ok_or(EINVAL)?;
        let mut ctx = self.ctx.lock();
        let last = ctx.signals[stream];
        // Mainline moves to the stream's other SOB there; the model's stream has one, which
        // the stream's next SIGNAL past the largest value starts again at 1.
        if last + count >= sync_stream::SOB_MAX {
            return Err(EINVAL);
        }
        let id = ctx.reservations.add(Reservation {
            stream,
            first: last + 1,
            count,
            cs: None,
        })?;
        ctx.signals[stream] = last + count;
        let next = last + count + 1;
        let mut seq = [0u8; 8];
        seq[..4].copy_from_slice(&id.to_ne_bytes());
        seq[4..].copy_from_slice(&next.to_ne_bytes());
        out.seq = u64::from_ne_bytes(seq);
        out.sob_base_addr_offset = sync_stream::sob_cfg_offset(sync_stream::sob(stream));
        Ok(())
    }

    /// `UNRESERVE_SIGNALS_ONLY` of handle `id`: gives its values back, which only the stream's
    /// last reservation can (mainline's rule). A handle unknown, let go already, or used by a
    /// staged submission is `EINVAL`.
    fn unreserve_signals(&self, id: u32) -> Result {
        let mut guard = self.ctx.lock();
        let ctx = &mut *guard;
        let r = ctx.reservations.get(id).ok_or(EINVAL)?;
        if r.cs.is_some() || r.first + r.count != ctx.signals[r.stream] + 1 {
            return Err(EINVAL);
        }
        ctx.signals[r.stream] -= r.count;
        ctx.reservations.remove(id);
        Ok(())
    }

    /// A sync-stream SIGNAL, WAIT or COLLECTIVE_WAIT (`kind`): one chunk, naming an external
    /// queue and, for a wait, the SIGNAL submission to wait for, or with `encaps` the staged
    /// submission and the encapsulated signal (1 on; 0 is the first) to wait for; the jobs are
    /// the driver's (`sync_stream.rs`). A wait for a signal already given gets an empty job.
    #[allow(clippy::too_many_arguments)]
    fn submit_sync(
        &self,
        kind: u32,
        encaps: bool,
        chunks: u64,
        n: u32,
        timeout: Duration,
        stamp: bool,
        out: &mut CsOut,
    ) -> Result {
        if n != 1 {
            return Err(EINVAL);
        }
        let signal = kind == uapi::HL_CS_FLAGS_SIGNAL;
        let mut raw = [0u8; size_of::<uapi::hl_cs_chunk>()];
        UserSlice::new(chunks as usize, raw.len())
            .reader()
            .read_slice(&mut raw)?;
        let chunk = Chunk::read(&raw)?;
        let stream = sync_stream::stream(chunk.queue_index).ok_or(EINVAL)?;
        let (queue, qstream) = self
            .dev
            .queues()
            .by_gaudi_id(chunk.queue_index)
            .ok_or(EINVAL)?;
        // Mainline's refusals of a collective wait; it checks the engine only once it knows
        // the signal is not given yet, this driver before it looks at the signal.
        let plan = if kind == uapi::HL_CS_FLAGS_COLLECTIVE_WAIT {
            let ports = self.dev.identity().port_mask;
            let engine = chunk.collective_engine_id;
            Some(sync_stream::collective_plan(
                chunk.queue_index,
                engine,
                ports,
            )?)
        } else {
            None
        };
        let wait_for = if signal || encaps {
            chunk.cb_handle
        } else if chunk.cb_size == 1 {
            let mut seq = [0u8; 8];
            UserSlice::new(chunk.cb_handle as usize, 8)
                .reader()
                .read_slice(&mut seq)?;
            u64::from_ne_bytes(seq)
        } else {
            return Err(EINVAL);
        };
        self.recover_expired();
        let bound = self.dev.bound()?;
        let mut guard = self.ctx.lock();
        let ctx = &mut *guard;
        let mut packets = KVec::new();
        let mut sets = None;
        // A wait's SOB and the value it waits for, unless the signal was given already.
        let mut waits = None;
        if signal {
            let (sob, value) = sync_stream::next_signal(stream, ctx.signals[stream]);
            // Adds 1 as GAUDI's job does; sets the value while nothing else may add to the SOB.
            let quiet = ctx.last_signal[stream]
                .as_ref()
                .map_or(true, |cs| cs.is_done())
                && !ctx.reservations.pending_on(stream);
            let add = !quiet && value != 1;
            packets.extend_from_slice(&sync_stream::signal_job(sob, value, add), GFP_KERNEL)?;
            sets = Some((sob, value));
        } else if encaps {
            // As mainline: signals whose submission is not known (or done) are given.
            if let Some(r) = ctx.reservations.by_seq(wait_for) {
                if chunk.cb_size > r.count {
                    return Err(EINVAL);
                }
                let value = r.first + chunk.cb_size.saturating_sub(1);
                waits = Some((sync_stream::sob(r.stream), value));
            }
        } else {
            match ctx.submissions.find(wait_for)? {
                Some(Entry::Live(cs)) => waits = Some(cs.signal().ok_or(EINVAL)?),
                Some(Entry::Ended { signal: false, .. }) => return Err(EINVAL),
                // As mainline: a SIGNAL that ended, or one older than the window, is done:
                // nothing to wait for.
                Some(Entry::Ended { .. }) | None => {}
            }
        }
        let mut queues = 1 << queue.index;
        let mut slaves = KVec::new();
        let mut collective = None;
        match (waits, &plan) {
            (Some((sob, value)), None) => {
                let job = sync_stream::wait_job((queue.index, qstream), stream, sob, value);
                packets.extend_from_slice(&job, GFP_KERNEL)?;
            }
            (Some(signal), Some(plan)) => {
                let (group, value, wrapped) = ctx.collective[plan.stream].next()?;
                let base = sync_stream::group_base(plan.stream, group);
                if wrapped {
                    // The group's SOBs hold the values of its last round, whose waits ended.
                    let regs = self.dev.hw().regs()?;
                    for sob in sync_stream::group_sobs(plan.stream, group) {
                        SYNC_MANAGER::default().try_write_at(&regs, sob as usize)?;
                    }
                }
                for slave in plan.slaves.iter().flatten() {
                    let (slave_queue, slave_stream) =
                        self.dev.queues().by_gaudi_id(slave.queue).ok_or(EINVAL)?;
                    let at = (slave_queue.index, slave_stream);
                    let job = CollectivePlan::slave_job(slave, at, signal, base, value);
                    let slot = ctx.buffers.reserve(8 * job.len())?;
                    let cb = Cb::of_packets(&bound, &job, slot)?;
                    let cb = JobCb::Kernel(Arc::new(cb, GFP_KERNEL)?);
                    queues |= 1 << slave_queue.index;
                    let len = 8 * job.len() as u32;
                    slaves.push((slave_queue.clone(), slave_stream, cb, len), GFP_KERNEL)?;
                }
                let job = plan.master_job((queue.index, qstream), stream, base, value);
                packets.extend_from_slice(&job, GFP_KERNEL)?;
                collective = Some((plan.stream, group, value));
            }
            (None, _) => packets.extend_from_slice(&sync_stream::nop_job(), GFP_KERNEL)?,
        }
        let slot = ctx.buffers.reserve(8 * packets.len())?;
        let cb = Arc::new(Cb::of_packets(&bound, &packets, slot)?, GFP_KERNEL)?;
        let seq = ctx.submissions.next_seq()?;
        let count = 1 + slaves.len();
        let cs = Arc::pin_init(
            Cs::new(
                seq,
                queues,
                count as u32,
                timeout,
                ctx.submissions.stamp(stamp),
                sets,
            ),
            GFP_KERNEL,
        )?;
        // The master's job first, as mainline.
        let mut jobs = KVec::with_capacity(count, GFP_KERNEL)?;
        jobs.push(
            (
                queue.clone(),
                qstream,
                JobCb::Kernel(cb),
                8 * packets.len() as u32,
            ),
            GFP_KERNEL,
        )?;
        for slave in slaves {
            jobs.push(slave, GFP_KERNEL)?;
        }
        let submissions = &mut ctx.submissions;
        self.dev
            .queues()
            .submit(&cs, jobs, self.generation, || submissions.add(cs.clone()))?;
        out.seq = cs.seq;
        if let Some((s, group, value)) = collective {
            ctx.collective[s].advance(group, value, cs.clone());
        }
        if let Some((sob, value)) = sets {
            ctx.signals[stream] = value;
            ctx.last_signal[stream] = Some(cs);
            // As mainline: the SOB's place, and its value once this signal is given.
            out.sob_base_addr_offset = sync_stream::sob_cfg_offset(sob);
            out.sob_count_before_submission = value as u16;
        }
        Ok(())
    }

    /// Submits the `n` chunks at user address `chunks` as one submission, `stage` of a staged
    /// submission.
    fn submit_chunks(
        &self,
        chunks: u64,
        n: u32,
        timeout: Duration,
        stamp: bool,
        stage: StageArg,
    ) -> Result<Arc<Cs>> {
        let count = |why| {
            self.drops.count(why);
            self.dev.stats().drops.count(why);
        };
        let ret = self.try_submit_chunks(chunks, n, timeout, stamp, stage);
        if let Err((Some(why), _)) = &ret {
            count(*why);
        }
        ret.map_err(|(_, e)| e)
    }

    fn try_submit_chunks(
        &self,
        chunks: u64,
        n: u32,
        timeout: Duration,
        stamp: bool,
        stage: StageArg,
    ) -> core::result::Result<Arc<Cs>, (Option<Refusal>, Error)> {
        let invalid = |e| (Some(Refusal::Validation), e);
        let no_mem = |e| (Some(Refusal::OutOfMem), e);
        // What mainline refuses when it queues the submission, without counting it.
        let refused = |e| (None, e);
        let n = n as usize;
        if n > uapi::HL_MAX_JOBS_PER_CS as usize {
            return Err(invalid(EINVAL));
        }
        let chunk_size = size_of::<uapi::hl_cs_chunk>();
        let mut bytes =
            KVec::from_elem(0u8, n * chunk_size, GFP_KERNEL).map_err(|e| no_mem(e.into()))?;
        UserSlice::new(chunks as usize, bytes.len())
            .reader()
            .read_slice(&mut bytes)
            .map_err(invalid)?;

        self.recover_expired();
        let mut ctx = self.ctx.lock();
        let mut jobs = KVec::with_capacity(n, GFP_KERNEL).map_err(|e| no_mem(e.into()))?;
        let mut queues = 0u32;
        for raw in bytes.chunks_exact(chunk_size) {
            let chunk = Chunk::read(raw).map_err(invalid)?;
            // CBs are not parsed, NIC ones included. Engines reach host memory only through the
            // context's MMU. A NIC packet names a connection, a CQ and a SOB of this device and
            // a range of its memory: the compute node has one user at a time, so all of them
            // are this context's (and were reset when the previous user closed), and the device
            // checks each operation against the contexts this user set up, at both ends.
            let (queue, stream) = self
                .dev
                .queues()
                .by_gaudi_id(chunk.queue_index)
                .ok_or(invalid(EINVAL))?;
            // An external queue (DMA 0 and 1) takes a CB of the driver's. An internal one takes,
            // as on GAUDI, the device address of a CB the user placed (in device memory or
            // mapped host memory), or one of the driver's CBs: a handle has type bits no
            // device address has. `HL_CS_CHUNK_FLAGS_USER_ALLOC_CB` is for queues of later
            // ASICs: mainline GAUDI does not look at it, nor does this driver.
            if chunk.cb_size < 8 || chunk.cb_size % 8 != 0 || chunk.cb_size > qman::MAX_CB_SIZE {
                return Err(invalid(EINVAL));
            }
            let cb = if queue.external() || Buffers::is_handle(chunk.cb_handle) {
                let cb = ctx.buffers.get(chunk.cb_handle).map_err(invalid)?;
                if chunk.cb_size > cb.size() {
                    return Err(invalid(EINVAL));
                }
                JobCb::Kernel(cb)
            } else if chunk.cb_handle % 8 == 0 {
                JobCb::Device(chunk.cb_handle)
            } else {
                return Err(invalid(EINVAL));
            };
            queues |= 1 << queue.index;
            jobs.push((queue.clone(), stream, cb, chunk.cb_size), GFP_KERNEL)
                .map_err(|e| no_mem(e.into()))?;
        }

        let seq = ctx
            .submissions
            .next_seq()
            .map_err(|e| (Some(Refusal::MaxInFlight), e))?;
        let stage_arg = stage;
        // A first stage's encapsulated signals: a live handle of the context.
        if let StageArg::First {
            encaps: Some(id), ..
        } = stage
        {
            ctx.reservations.get(id).ok_or(refused(EINVAL))?;
        }
        let (stage, last) = match stage {
            StageArg::None | StageArg::First { last: true, .. } => (Stage::Alone, None),
            StageArg::First { last: false, .. } => (
                Stage::First {
                    open: AtomicBool::new(true),
                },
                None,
            ),
            StageArg::Later { seq, last } => {
                // The first stage, still taking stages; counted from here on.
                let Ok(Some(Entry::Live(first))) = ctx.submissions.find(seq) else {
                    return Err(refused(EINVAL));
                };
                first.add_stage(queues).map_err(refused)?;
                (
                    Stage::Later {
                        first: first.clone(),
                    },
                    Some((first, last)),
                )
            }
        };
        let cs = Arc::pin_init(
            Cs::staged(
                seq,
                queues,
                n as u32,
                timeout,
                ctx.submissions.stamp(stamp),
                None,
                stage,
            ),
            GFP_KERNEL,
        );
        let cs = match cs {
            Ok(cs) => cs,
            Err(e) => {
                if let Some((first, _)) = &last {
                    first.stage_dropped();
                }
                return Err(no_mem(e));
            }
        };
        let mut queued = false;
        let Context {
            submissions,
            reservations,
            ..
        } = &mut *ctx;
        let ret = self.dev.queues().submit(&cs, jobs, self.generation, || {
            queued = true;
            submissions.add(cs.clone());
            if let StageArg::First {
                encaps: Some(id), ..
            } = stage_arg
            {
                if let Some(r) = reservations.get(id) {
                    r.cs = Some(cs.clone());
                }
            }
        });
        if let Some((first, last)) = last {
            if !queued {
                first.stage_dropped();
            } else if last {
                first.close();
            }
        }
        ret.map_err(|e| (Some(Refusal::QueueFull), e))?;
        Ok(cs)
    }

    /// Waits until `cs` is done or `deadline` passes, recovering it if it runs past its
    /// timeout: whether it is done. `EINTR` if a signal came first.
    fn wait_done(&self, cs: &Cs, deadline: Deadline) -> Result<bool> {
        loop {
            if cs.is_done() {
                return Ok(true);
            }
            if cs.expired() {
                self.recover(cs);
                continue;
            }
            if deadline.passed() {
                return Ok(false);
            }
            let sleep = deadline.min(cs.deadline()).sleep();
            cs.completion().wait_interruptible_timeout(sleep)?;
        }
    }

    /// Resets the queues of the submissions that ran past their timeout.
    fn recover_expired(&self) {
        let mut expired = KVec::new();
        for cs in self
            .ctx
            .lock()
            .submissions
            .in_flight()
            .filter(|cs| cs.expired())
        {
            // Out of memory only delays the recovery to the next call.
            let _ = expired.push(cs.clone(), GFP_KERNEL);
        }
        for cs in expired {
            self.recover(&cs);
        }
    }

    fn recover(&self, cs: &Cs) {
        self.dev.recover_cs(cs);
    }

    /// `HL_IOCTL_WAIT_CS`: on one submission, or the first of several to end (`MULTI_CS`).
    /// GAUDI has no user interrupts to wait for (`EPERM`).
    pub(crate) fn wait_cs(
        &self,
        args: Arg<'_, uapi::hl_wait_cs_in>,
        out: &mut uapi::hl_wait_cs_out,
    ) -> Result {
        let [seq, timeout_us]: [u64; 2] = [args.read(0)?, args.read(8)?];
        let deadline = Deadline::after(Duration::from_micros(timeout_us));
        if args.flags & uapi::HL_WAIT_CS_FLAGS_INTERRUPT != 0 {
            return Err(EPERM);
        }
        if args.flags & uapi::HL_WAIT_CS_FLAGS_MULTI_CS != 0 {
            // seq_arr_len, then 7 bytes of padding that must be 0.
            let union = core::mem::offset_of!(uapi::hl_wait_cs_in, __bindgen_anon_2);
            let bytes = args.read::<u64>(union)?.to_ne_bytes();
            if bytes[1..] != [0; 7] {
                return Err(EINVAL);
            }
            return self.wait_multi(seq, bytes[0], deadline, out);
        }
        let found = {
            let ctx = self.ctx.lock();
            match ctx.submissions.find(seq)? {
                Some(entry) => entry,
                // As mainline: past the window, a timestamped submission's outcome answers
                // once; otherwise it is gone.
                None => match ctx.submissions.outcomes().take(seq) {
                    Some(outcome) => return outcome.answer(out),
                    None => {
                        out.status = uapi::HL_WAIT_CS_STATUS_COMPLETED;
                        out.flags = uapi::HL_WAIT_CS_STATUS_FLAG_GONE;
                        return Ok(());
                    }
                },
            }
        };
        let cs = match found {
            Entry::Live(cs) => cs,
            Entry::Ended { outcome, .. } => return outcome.answer(out),
        };
        if !self.wait_done(&cs, deadline)? {
            out.status = uapi::HL_WAIT_CS_STATUS_BUSY;
            return Ok(());
        }
        cs.result(out)
    }

    /// `MULTI_CS`: waits for the first of the `len` submissions whose numbers are at user
    /// address `seqs` to end; `cs_completion_map` has a bit for each that has.
    fn wait_multi(
        &self,
        seqs: u64,
        len: u8,
        deadline: Deadline,
        out: &mut uapi::hl_wait_cs_out,
    ) -> Result {
        if u32::from(len) > uapi::HL_WAIT_MULTI_CS_LIST_MAX_LEN {
            return Err(EINVAL);
        }
        let mut raw = [0u8; 8 * uapi::HL_WAIT_MULTI_CS_LIST_MAX_LEN as usize];
        let raw = &mut raw[..8 * usize::from(len)];
        UserSlice::new(seqs as usize, raw.len())
            .reader()
            .read_slice(raw)?;
        let mut list = KVec::with_capacity(len.into(), GFP_KERNEL)?;
        let outcomes = {
            let ctx = self.ctx.lock();
            for seq in raw.chunks_exact(8) {
                let seq = from_bytes(seq)?;
                list.push((seq, ctx.submissions.find(seq)?), GFP_KERNEL)?;
            }
            ctx.submissions.outcomes().clone()
        };
        loop {
            let mut map = 0u32;
            // As mainline's: the earliest end of those in the window that ended (0 for one
            // without a timestamp), none once one is gone.
            let mut earliest: Option<i64> = None;
            let mut gone = false;
            for (i, (seq, entry)) in list.iter().enumerate() {
                let outcome = match entry {
                    Some(Entry::Live(cs)) if !cs.is_done() => continue,
                    Some(Entry::Live(cs)) => Some(cs.outcome()),
                    Some(Entry::Ended { outcome, .. }) => Some(*outcome),
                    None => None,
                };
                match outcome {
                    Some(o) => {
                        earliest = Some(earliest.map_or(o.end_ns, |e| e.min(o.end_ns)));
                        // One that failed fails the wait, with its error.
                        if o.failure.is_some() {
                            return o.answer(out);
                        }
                    }
                    // Past the window: its outcome if kept (its end is not counted), else
                    // gone; done either way.
                    None => match outcomes.take(*seq) {
                        Some(o) if o.failure.is_some() => return o.answer(out),
                        Some(_) => {}
                        None => gone = true,
                    },
                }
                map |= 1 << i;
            }
            if map != 0 {
                out.status = uapi::HL_WAIT_CS_STATUS_COMPLETED;
                out.cs_completion_map = map;
                // As mainline: without a valid timestamp, the flag says one may be gone.
                match earliest.filter(|&end| !gone && end != 0) {
                    Some(end) => {
                        out.timestamp_nsec = end;
                        out.flags = uapi::HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD;
                    }
                    None => out.flags = uapi::HL_WAIT_CS_STATUS_FLAG_GONE,
                }
                return Ok(());
            }
            if deadline.passed() {
                out.status = uapi::HL_WAIT_CS_STATUS_BUSY;
                return Ok(());
            }
            // Every submission in the list runs: sleep on the first, a tick at a time.
            let Some((_, Some(Entry::Live(first)))) = list.first() else {
                out.status = uapi::HL_WAIT_CS_STATUS_BUSY;
                return Ok(());
            };
            if first.expired() {
                self.recover(first);
            }
            let sleep = deadline.min(Deadline::after(MULTI_CS_POLL)).sleep();
            first.completion().wait_interruptible_timeout(sleep)?;
        }
    }

    /// Bytes of device memory the context's allocations count (`HL_INFO_DRAM_USAGE`).
    pub(crate) fn dram_used(&self) -> u64 {
        self.ctx.lock().memory.dram_used()
    }

    /// `HL_IOCTL_MEMORY`, with GAUDI's memory model on mainline: device memory has no virtual
    /// addresses (`ALLOC` and `FREE` only count it, handle 0; `MAP` of a device handle fails),
    /// host memory is mapped with `USERPTR` into the host range.
    pub(crate) fn memory(&self, args: Arg<'_, uapi::hl_mem_in>, out: &mut MemOut) -> Result {
        // The union's members are up to three `u64`s.
        let union = core::mem::offset_of!(uapi::hl_mem_in, __bindgen_anon_1);
        let [a, b, c]: [u64; 3] = [
            args.read(union)?,
            args.read(union + 8)?,
            args.read(union + 16)?,
        ];
        let userptr = args.flags & uapi::HL_MEM_USERPTR != 0;
        let force_hint = args.flags & uapi::HL_MEM_FORCE_HINT != 0;
        if (args.op, userptr) == (uapi::HL_MEM_OP_MAP, true) {
            // host_virt_addr, hint_addr, mem_size
            out.value = self.map_host(a, b, c, force_hint)?;
            return Ok(());
        }
        if args.op == uapi::HL_MEM_OP_TS_ALLOC {
            // Allocated before the context is locked, as a CB.
            let ts = TsBuffer::new(&*self.dev.bound()?, args.num_of_elements)?;
            let ts = Arc::new(ts, GFP_KERNEL)?;
            out.value = self.ctx.lock().buffers.add_ts(ts)?;
            return Ok(());
        }
        if args.op == uapi::HL_MEM_OP_EXPORT_DMABUF_FD {
            // the device address (in the handle), mem_size; the file descriptor's flags.
            out.value = self.export_dmabuf(a, b, args.flags)? as u64;
            return Ok(());
        }
        if args.op == uapi::HL_MEM_OP_IMPORT_DMABUF_FD {
            // fd, pad
            if args.flags != 0 || a >> 32 != 0 || b != 0 || c != 0 {
                return Err(EINVAL);
            }
            // CAST: The low 32 bits are the `__s32` file descriptor.
            out.value = self.import_dmabuf(a as u32 as i32)?;
            return Ok(());
        }
        let mut guard = self.ctx.lock();
        let ctx = &mut *guard;
        out.value = match args.op {
            // mem_size: the handle is 0.
            uapi::HL_MEM_OP_ALLOC => ctx.memory.alloc(a).map(|()| 0)?,
            // As mainline GAUDI reads FREE's argument: the size freed.
            uapi::HL_MEM_OP_FREE => ctx.memory.free(a).map(|()| 0)?,
            // There is no device virtual memory to map a device handle into.
            uapi::HL_MEM_OP_MAP => return Err(EINVAL),
            uapi::HL_MEM_OP_UNMAP => {
                // The engines may be using a host mapping.
                let submissions = &ctx.submissions;
                let idle = || submissions.in_flight().next().is_none();
                let busy = || submissions.in_flight().next().is_none();
                if let Some(import) = ctx.memory.take_import(a, busy)? {
                    // Detached without the context's lock.
                    drop(guard);
                    drop(import);
                    return Ok(());
                }
                ctx.memory.unmap(a, idle)?;
                0
            }
            // GAUDI has no HW blocks to map (mainline's `EPERM`).
            uapi::HL_MEM_OP_MAP_BLOCK => return Err(EPERM),
            _ => return Err(EINVAL),
        };
        Ok(())
    }

    /// `HL_IOCTL_DEBUG`, as mainline for GAUDI: `SET_MODE` enters and leaves debug mode (each
    /// `EFAULT` if already there); the trace components need it (`EFAULT` outside it), and
    /// the device model has none of them (`EOPNOTSUPP` inside).
    pub(crate) fn debug(&self, args: Arg<'_, uapi::hl_debug_args>, _out: &mut ()) -> Result {
        match args.op {
            uapi::HL_DEBUG_OP_ETR..=uapi::HL_DEBUG_OP_TIMESTAMP => {
                if !self.debug_mode.load(Ordering::Acquire) {
                    return Err(EFAULT);
                }
                Err(EOPNOTSUPP)
            }
            uapi::HL_DEBUG_OP_SET_MODE => {
                let enable = args.enable != 0;
                self.debug_mode
                    .compare_exchange(!enable, enable, Ordering::AcqRel, Ordering::Acquire)
                    .map(|_| ())
                    .map_err(|_| EFAULT)
            }
            _ => Err(EINVAL),
        }
    }

    /// `HL_IOCTL_NIC`: the input struct is read from `input_ptr` (at most `input_size` bytes
    /// of it, zero-extended), the output written to `output_ptr` (at most `output_size`).
    pub(crate) fn nic(&self, args: Arg<'_, uapi::hl_nic_args>, _out: &mut ()) -> Result {
        if args.ctx_id != 0 {
            return Err(EINVAL);
        }
        // A responder context lets the peer's engines write this device's memory.
        self.used.store(true, Ordering::Relaxed);
        let mut input = [0u8; rdma::MAX_INPUT];
        let size = (args.input_size as usize).min(rdma::input_size(args.op)?);
        if size > 0 {
            UserSlice::new(args.input_ptr as usize, size)
                .reader()
                .read_slice(&mut input[..size])?;
        }
        let rdma = self.dev.rdma();
        let mut request = Request::prepare(rdma, args.op, &input)?;
        let answer = {
            let mut guard = self.ctx.lock();
            let ctx = &mut *guard;
            // A CQ's ring counts against the budget of buffers while a mapping keeps it.
            request.reserve(|bytes| ctx.buffers.reserve(bytes))?;
            let dram = self.dev.dram();
            ctx.rdma
                .run(rdma, request, |addr, size| dram.contains(addr, size))?
        };
        let output = answer.finish(rdma)?;
        let bytes = output.bytes();
        let len = (args.output_size as usize).min(bytes.len());
        if len > 0 {
            UserSlice::new(args.output_ptr as usize, len)
                .writer()
                .write_slice(&bytes[..len])?;
        }
        Ok(())
    }

    /// The context's identity among the device's exports.
    fn owner(&self) -> usize {
        release::owner(&self.ctx)
    }

    /// `HL_MEM_OP_EXPORT_DMABUF_FD`: exports `size` bytes of device memory at device address
    /// `addr` (see `Memory::export_range`) as a dma-buf, returns its file descriptor, opened
    /// with `flags`.
    fn export_dmabuf(&self, addr: u64, size: u64, flags: u32) -> Result<i32> {
        dmabuf::check_fd_flags(flags)?;
        let bound = self.dev.bound()?;
        let pdev = self.dev.pdev();
        // Registered under the context's lock, as the context's; exported without it (the
        // export's lock is taken before an importing context's, when it is revoked).
        let (export, id) = {
            let ctx = self.ctx.lock();
            let (addr, size) = ctx.memory.export_range(addr, size)?;
            let offset = dmabuf::dram_bar_offset(addr).ok_or(EINVAL)?;
            let info = ExportInfo {
                owner: self.owner(),
            };
            let size = usize::try_from(size).map_err(|_| EINVAL)?;
            let export = HlExport::new(pdev, &bound, dmabuf::DRAM_BAR, offset, size, info)?;
            let id = self.dev.exports().add(export.clone())?;
            // Importers may write device memory through it: scrubbed at close.
            self.used.store(true, Ordering::Relaxed);
            (export, id)
        };
        drop(bound);
        export
            .export(c_str!("habanalabs"), &crate::THIS_MODULE, flags)
            .inspect_err(|_| self.dev.exports().remove(id))
    }

    /// `HL_MEM_OP_IMPORT_DMABUF_FD`: attaches the device to dma-buf `fd` and maps it into the
    /// context's host region; returns its device address.
    fn import_dmabuf(&self, fd: i32) -> Result<u64> {
        let bound = self.dev.bound()?;
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let notify = ImportNotify {
            ctx: self.ctx.clone(),
            state: ImportState::new(),
        };
        let import = dmabuf::Import::new(&bound, fd, notify)?;
        let mut addr = 0;
        // Mapped under the buffer's reservation lock, then the context's (as `move_notify`).
        import.map(|ranges| {
            let mut ctx = self.ctx.lock();
            addr = ctx
                .memory
                .map_import(&bound, ranges, &import.importer().state)?;
            Ok(())
        })?;
        let va = addr - HOST_VA_BASE;
        let mut ctx = self.ctx.lock();
        if import.importer().state.revoked.load(Ordering::Relaxed) {
            // Revoked in between: its pages are already off the MMU.
            ctx.memory.forget_import(&import.importer().state)?;
            drop(ctx);
            drop(import);
            return Err(ENODEV);
        }
        ctx.memory.add_import(node.into_node(va, import));
        Ok(addr)
    }

    /// Pins `size` bytes of the caller's memory at `addr` and maps them through the MMU, at
    /// `hint` if it can (or must: `force_hint`); returns their device address.
    fn map_host(&self, addr: u64, hint: u64, size: u64, force_hint: bool) -> Result<u64> {
        // Any buffer: the pages it touches are mapped, and the address returned is where in
        // them it starts. Its size is bounded by what the caller may pin (`RLIMIT_MEMLOCK`)
        // and the host region, as mainline's is by what it can pin.
        let page = PAGE_SIZE as u64;
        let offset = addr % page;
        let span = size.checked_add(offset).ok_or(EINVAL)?;
        if size == 0 || span > HOST_VA_SIZE {
            return Err(EINVAL);
        }
        // CAST: At most `HOST_VA_SIZE / PAGE_SIZE` pages, which fits.
        let npages = span.div_ceil(page) as usize;
        // As mainline's regular pages: a buffer at a huge page's boundary in the caller's
        // address space goes to one in the device's.
        let align = if addr % HUGE_PAGE == 0 {
            HUGE_PAGE
        } else {
            page
        };
        // Pinning takes the mmap lock, and `mmap` takes the context's lock under it: pin first.
        // Nor does it hold the binding: the pages may take as long as their owner wants to
        // fault in (userfaultfd, FUSE), and unbinding waits for every binding guard.
        let pinned = PinnedPages::pin((addr - offset) as usize, npages)?;
        let bound = self.dev.bound()?;
        let pages = UserPages::map(&bound, pinned)?;
        let mut ctx = self.ctx.lock();
        Ok(ctx
            .memory
            .map_host(&bound, pages, hint, align, force_hint)?
            + offset)
    }
}

#[pinned_drop]
impl PinnedDrop for ComputeFile {
    fn drop(self: Pin<&mut Self>) {
        // A staged submission whose last stage did not come takes no more: it ends with the
        // stages it has.
        for cs in self.ctx.lock().submissions.in_flight() {
            cs.close();
        }
        let closed = Closed {
            ctx: self.ctx.clone(),
            dev: self.dev.arc().clone(),
            used: self.used.load(Ordering::Relaxed),
            generation: self.generation,
        };
        // Nothing the engines may still touch can be freed: the context goes once every
        // submission ended, here if that is soon, else in the background (release.rs).
        if closed.drain(Some(Deadline::after(GRACE))) {
            closed.finish();
        } else {
            self.dev.releaser().hand_over(closed);
        }
    }
}
