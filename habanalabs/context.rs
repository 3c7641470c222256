// SPDX-License-Identifier: GPL-2.0

//! The compute context: what the one user of the compute node owns (command buffers,
//! submissions, device memory, host mappings, RDMA connections and completion queues) and the
//! ioctls that manage it.

mod buffers;
mod memory;
mod submissions;

use kernel::{
    dma::UserPages,
    mm::{flags, VmArea},
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        poll::{PollTable, POLLERR, POLLHUP},
        Arc, Mutex,
    },
    uaccess::UserSlice,
    uapi,
};

use crate::{
    cb::Cb,
    cs::Cs,
    deadline::{ms_from_us, Deadline},
    device::{ComputeClaim, HlDevice},
    marshal::{from_bytes, Arg},
    rdma::{self, Cq, NicOut, Rdma, Request},
    regs::SYNC_MANAGER,
};
use buffers::Buffers;
use memory::Memory;
use submissions::Submissions;

/// What the context's lock protects. Taken after the binding (`HlDevice::bound`) and before
/// the locks of the device's parts: the submit lock, the device memory's, the RDMA
/// quarantine's and a port's CQ waiters'.
struct Context {
    buffers: Buffers,
    submissions: Submissions,
    memory: Memory,
    rdma: Rdma,
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

/// An open compute node.
#[pin_data(PinnedDrop)]
pub(crate) struct ComputeFile {
    #[pin]
    ctx: Mutex<Context>,
    /// Dropped last: the node is free for the next user once everything above is gone.
    dev: ComputeClaim,
}

impl ComputeFile {
    /// Opens the compute node of `dev`, which has one user at a time.
    pub(crate) fn open(dev: &Arc<HlDevice>) -> Result<Pin<KBox<Self>>> {
        let dev = dev.claim_compute()?;
        let ctx = Self::new_context(&dev)?;
        KBox::pin_init(pin_init!(Self { ctx <- new_mutex!(ctx), dev }), GFP_KERNEL)
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
            buffers: Buffers::new(),
            submissions,
            memory,
            rdma: Rdma::new(),
        })
    }

    pub(crate) fn device(&self) -> &HlDevice {
        &self.dev
    }

    /// `HL_IOCTL_CB`.
    pub(crate) fn cb(&self, args: Arg<'_, uapi::hl_cb_in>) -> Result<uapi::hl_cb_out> {
        if args.flags != 0 || args.pad != 0 {
            return Err(EINVAL);
        }
        match args.op {
            uapi::HL_CB_OP_CREATE => {
                // Allocated before the context is locked: the binding comes first in the lock
                // order.
                let cb = Arc::new(Cb::new(&*self.dev.bound()?, args.cb_size)?, GFP_KERNEL)?;
                let cb_handle = self.ctx.lock().buffers.add(cb)?;
                Ok(uapi::hl_cb_out { cb_handle })
            }
            uapi::HL_CB_OP_DESTROY => {
                self.ctx.lock().buffers.remove(args.cb_handle)?;
                Ok(uapi::hl_cb_out {
                    cb_handle: args.cb_handle,
                })
            }
            _ => Err(EINVAL),
        }
    }

    /// `mmap` of a command buffer or of an RDMA completion queue's ring: the offset is the CB's
    /// handle or the offset `CQ_CREATE` returned.
    pub(crate) fn mmap(&self, vma: &VmArea) -> Result {
        let offset = (vma.pgoff() as u64)
            .checked_mul(PAGE_SIZE as u64)
            .ok_or(EINVAL)?;
        if offset >= rdma::CQ_MMAP_BASE {
            let cq = self.ctx.lock().rdma.cq_at(offset).ok_or(EINVAL)?;
            map_into(vma, cq, Cq::mmap)
        } else {
            let cb = self.ctx.lock().buffers.get(offset)?;
            map_into(vma, cb, Cb::mmap)
        }
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
        if gone {
            return POLLERR | POLLHUP;
        }
        self.ctx.lock().rdma.poll_events(self.dev.rdma())
    }

    /// `HL_IOCTL_CS`.
    pub(crate) fn cs(&self, args: Arg<'_, uapi::hl_cs_in>) -> Result<uapi::hl_cs_out> {
        let n = args.num_chunks_execute as usize;
        if n == 0 || n > uapi::HL_MAX_JOBS_PER_CS as usize || args.pad != 0 {
            return Err(EINVAL);
        }
        let timeout_ms = match args.cs_flags {
            0 => uapi::HL_CS_DEFAULT_TIMEOUT_MS,
            uapi::HL_CS_FLAGS_CUSTOM_TIMEOUT
                if (1..=uapi::HL_CS_MAX_TIMEOUT_MS).contains(&args.timeout_ms) =>
            {
                args.timeout_ms
            }
            _ => return Err(EINVAL),
        };
        let chunk_size = size_of::<uapi::hl_cs_chunk>();
        let mut bytes = KVec::from_elem(0u8, n * chunk_size, GFP_KERNEL)?;
        UserSlice::new(args.chunks_execute as usize, bytes.len())
            .reader()
            .read_slice(&mut bytes)?;

        self.recover_expired();
        let mut ctx = self.ctx.lock();
        let mut jobs = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut queues = 0u32;
        for raw in bytes.chunks_exact(chunk_size) {
            let chunk: uapi::hl_cs_chunk = from_bytes(raw)?;
            let cb = ctx.buffers.get(chunk.cb_handle)?;
            // CBs are not parsed, NIC ones included. Engines reach host memory only through the
            // context's MMU. A NIC packet names a connection, a CQ and a SOB of this device and
            // a range of its memory: the compute node has one user at a time, so all of them
            // are this context's (and were reset when the previous user closed), and the device
            // checks each operation against the contexts this user set up, at both ends.
            let queue = self
                .dev
                .queues()
                .get(chunk.queue_index as usize)
                .ok_or(EINVAL)?;
            if chunk.cs_chunk_flags != 0
                || chunk.pad != 0
                || chunk.cb_size < 8
                || chunk.cb_size % 8 != 0
                || chunk.cb_size > cb.size()
            {
                return Err(EINVAL);
            }
            queues |= 1 << queue.index;
            jobs.push((queue.clone(), cb, chunk.cb_size), GFP_KERNEL)?;
        }

        let seq = ctx.submissions.next_seq()?;
        let cs = Arc::pin_init(Cs::new(seq, queues, n as u32, timeout_ms), GFP_KERNEL)?;
        let submissions = &mut ctx.submissions;
        self.dev
            .queues()
            .submit(&cs, jobs, || submissions.add(cs.clone()))?;
        Ok(uapi::hl_cs_out { seq })
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
        if cs.is_done() {
            return;
        }
        cs.time_out();
        self.dev.queues().reset(cs.queues);
    }

    /// `HL_IOCTL_WAIT_CS`.
    pub(crate) fn wait_cs(
        &self,
        args: Arg<'_, uapi::hl_wait_cs_in>,
    ) -> Result<uapi::hl_wait_cs_out> {
        let Some(cs) = self.ctx.lock().submissions.find(args.seq)? else {
            return Ok(uapi::hl_wait_cs_out {
                status: uapi::HL_WAIT_CS_STATUS_COMPLETED,
                ..Default::default()
            });
        };
        let deadline = Deadline::after(core::time::Duration::from_millis(
            ms_from_us(args.timeout_us).into(),
        ));
        loop {
            if cs.is_done() {
                return Ok(cs.result());
            }
            if cs.expired() {
                self.recover(&cs);
                continue;
            }
            if deadline.passed() {
                return Ok(uapi::hl_wait_cs_out {
                    status: uapi::HL_WAIT_CS_STATUS_BUSY,
                    ..Default::default()
                });
            }
            let sleep = deadline.min(cs.deadline()).sleep();
            cs.completion().wait_interruptible_timeout(sleep)?;
        }
    }

    /// `HL_IOCTL_MEMORY`.
    pub(crate) fn memory(&self, args: Arg<'_, uapi::hl_mem_in>) -> Result<uapi::hl_mem_out> {
        // The union's members are all one or two `u64`s.
        let union = core::mem::offset_of!(uapi::hl_mem_in, __bindgen_anon_1);
        let [a, b]: [u64; 2] = [args.read(union)?, args.read(union + 8)?];
        let out = |v: u64| uapi::hl_mem_out {
            __bindgen_anon_1: uapi::hl_mem_out__bindgen_ty_1 { handle: v },
        };
        if (args.op, args.flags) == (uapi::HL_MEM_OP_MAP, uapi::HL_MEM_USERPTR) {
            return self.map_host(a, b).map(out);
        }
        let mut guard = self.ctx.lock();
        let ctx = &mut *guard;
        match (args.op, args.flags) {
            (uapi::HL_MEM_OP_ALLOC, 0) => ctx.memory.alloc(a).map(out),
            (uapi::HL_MEM_OP_FREE, 0) => {
                let rdma = &ctx.rdma;
                ctx.memory
                    .free(a, |addr, size| rdma.has_window(addr, size))
                    .map(|_| out(0))
            }
            (uapi::HL_MEM_OP_MAP, 0) => ctx.memory.map(a).map(out),
            (uapi::HL_MEM_OP_UNMAP, 0) => {
                // The engines may be using a host mapping.
                let submissions = &ctx.submissions;
                let idle = || submissions.in_flight().next().is_none();
                ctx.memory.unmap(a, idle).map(|_| out(0))
            }
            _ => Err(EINVAL),
        }
    }

    /// `HL_IOCTL_NIC`.
    pub(crate) fn nic(&self, args: Arg<'_, uapi::hl_nic_in>) -> Result<NicOut> {
        let rdma = self.dev.rdma();
        let request = Request::prepare(rdma, &args)?;
        let answer = {
            let mut guard = self.ctx.lock();
            let ctx = &mut *guard;
            let memory = &ctx.memory;
            ctx.rdma
                .run(rdma, request, |addr, size| memory.contains(addr, size))?
        };
        answer.finish(rdma)
    }

    /// Pins `size` bytes of the caller's memory at `addr` and maps them through the MMU;
    /// returns their device address.
    fn map_host(&self, addr: u64, size: u64) -> Result<u64> {
        if addr % PAGE_SIZE as u64 != 0 || size == 0 || size > u64::from(uapi::HL_MAX_HOST_MAP) {
            return Err(EINVAL);
        }
        let npages = (size.next_multiple_of(PAGE_SIZE as u64) / PAGE_SIZE as u64) as usize;
        let bound = self.dev.bound()?;
        // Pinning takes the mmap lock, and `mmap` takes the context's lock under it: pin first.
        let pages = UserPages::pin(&bound, addr as usize, npages)?;
        self.ctx.lock().memory.map_host(&bound, pages)
    }
}

#[pinned_drop]
impl PinnedDrop for ComputeFile {
    fn drop(self: Pin<&mut Self>) {
        // Nothing the engines may still touch can be freed: wait for every submission, and
        // reset the queues of those that run past their timeout.
        loop {
            let next = self.ctx.lock().submissions.in_flight().next().cloned();
            let Some(cs) = next else { break };
            if cs.expired() {
                self.recover(&cs);
            } else {
                let _ = cs.completion().wait_timeout(cs.deadline().sleep());
            }
        }
        let mut ctx = self.ctx.lock();
        // Before the memory it names goes: the receive queues, the rings, device memory.
        let clean = ctx.rdma.teardown(self.dev.rdma());
        ctx.memory.release(self.dev.hw(), clean);
    }
}
