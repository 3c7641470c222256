// SPDX-License-Identifier: GPL-2.0

//! The compute context: what the one user of the compute node owns (command buffers,
//! submissions, device memory, host mappings, RDMA connections and completion queues) and the
//! ioctls that manage it.

use core::sync::atomic::Ordering;
use kernel::{
    dma::UserPages,
    mm::{flags, VmArea},
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{
        poll::{PollTable, POLLERR, POLLHUP},
        Arc, Mutex,
    },
    time::msecs_to_jiffies,
    uaccess::UserSlice,
    uapi,
};

use crate::{
    cb::Cb,
    cs::Cs,
    device::HlDevice,
    ioctl::{from_bytes, Arg},
    memory::{Mmu, RangeAllocator, HOST_VA_SIZE},
    qman::Job,
    rdma::{self, Cq, NicOut, Rdma, Request},
    regs,
};

/// Command buffers one context may hold.
const MAX_CBS: usize = 1024;
/// Submissions whose outcome `WAIT_CS` can still report; older ones count as completed.
const HISTORY: usize = 1024;
/// Device memory and host mappings are managed in pages of this size.
const GRANULE: u64 = 4096;

struct DramBlock {
    offset: u64,
    size: u64,
    mapped: bool,
}

impl DramBlock {
    /// The block's device address.
    fn addr(&self) -> u64 {
        regs::DRAM_ADDR_BASE + self.offset
    }

    /// Whether `[addr, addr + size)` lies in the block.
    fn contains(&self, addr: u64, size: u64) -> bool {
        let end = addr.checked_add(size);
        addr >= self.addr() && end.is_some_and(|end| end <= self.addr() + self.size)
    }
}

struct HostMap {
    pages: UserPages,
}

struct Context {
    cbs: RBTree<u64, Arc<Cb>>,
    next_cb: u64,
    next_seq: u64,
    history: KVec<Option<Arc<Cs>>>,
    /// Submissions not known to be done, by sequence number.
    active: RBTree<u64, Arc<Cs>>,
    dram: RBTree<u64, DramBlock>,
    next_dram: u64,
    mmu: Mmu,
    host_va: RangeAllocator,
    /// Host mappings by offset in the host region.
    host: RBTree<u64, HostMap>,
    rdma: Rdma,
}

impl Context {
    /// Forgets the oldest active submissions that are done.
    fn prune(&mut self) {
        while let Some(cursor) = self.active.cursor_front() {
            if !cursor.current().1.is_done() {
                break;
            }
            cursor.remove_current();
        }
    }

    fn in_flight(&self) -> impl Iterator<Item = &Arc<Cs>> {
        self.active.values().filter(|cs| !cs.is_done())
    }
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
    dev: Arc<HlDevice>,
    #[pin]
    ctx: Mutex<Context>,
}

impl ComputeFile {
    /// Opens the compute node of `dev`, which has one user at a time.
    pub(crate) fn open(dev: &Arc<HlDevice>) -> Result<Pin<KBox<Self>>> {
        if dev.compute_busy.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let file = Self::new_context(dev).and_then(|ctx| {
            KBox::pin_init(pin_init!(Self { dev: dev.clone(), ctx <- new_mutex!(ctx) }), GFP_KERNEL)
        });
        if file.is_err() {
            dev.compute_busy.store(false, Ordering::Release);
        }
        file
    }

    fn new_context(dev: &HlDevice) -> Result<Context> {
        let mmu = Mmu::new(&*dev.binding.enter()?)?;
        let mut history = KVec::with_capacity(HISTORY, GFP_KERNEL)?;
        for _ in 0..HISTORY {
            history.push(None, GFP_KERNEL)?;
        }
        let host_va = RangeAllocator::new(HOST_VA_SIZE)?;
        let regs = dev.hw.regs()?;
        // Nothing of the previous user's may act for this one: its SOB values, armed monitors
        // (which would write to this user's memory) and fence counters are cleared. No job runs
        // between users, so the sync manager is idle.
        for offset in (0..regs::SYNC_MANAGER_SIZE).step_by(4) {
            regs.try_write32(0, regs::SYNC_MANAGER + offset)?;
        }
        regs.write32(mmu.root() as u32, regs::MMU_ROOT_LO);
        regs.write32((mmu.root() >> 32) as u32, regs::MMU_ROOT_HI);
        regs.write32(regs::CTL_ENABLE, regs::MMU_CTL);
        drop(regs);
        Ok(Context {
            cbs: RBTree::new(),
            next_cb: 1,
            next_seq: 1,
            history,
            active: RBTree::new(),
            dram: RBTree::new(),
            next_dram: 1,
            mmu,
            host_va,
            host: RBTree::new(),
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
                // Allocated before the context is locked: `Binding::enter` comes first in the
                // lock order.
                let cb = Arc::new(Cb::new(&*self.dev.binding.enter()?, args.cb_size)?, GFP_KERNEL)?;
                let mut ctx = self.ctx.lock();
                if ctx.cbs.iter().count() >= MAX_CBS {
                    return Err(ENOSPC);
                }
                let handle = ctx
                    .next_cb
                    .checked_mul(PAGE_SIZE as u64)
                    .filter(|&h| h < rdma::CQ_MMAP_BASE)
                    .ok_or(ENOSPC)?;
                ctx.cbs.try_create_and_insert(handle, cb, GFP_KERNEL)?;
                ctx.next_cb += 1;
                Ok(uapi::hl_cb_out { cb_handle: handle })
            }
            uapi::HL_CB_OP_DESTROY => {
                self.ctx.lock().cbs.remove(&args.cb_handle).ok_or(EINVAL)?;
                Ok(uapi::hl_cb_out { cb_handle: args.cb_handle })
            }
            _ => Err(EINVAL),
        }
    }

    /// `mmap` of a command buffer or of an RDMA completion queue's ring: the offset is the CB's
    /// handle or the offset `CQ_CREATE` returned.
    pub(crate) fn mmap(&self, vma: &VmArea) -> Result {
        let offset = (vma.pgoff() as u64).checked_mul(PAGE_SIZE as u64).ok_or(EINVAL)?;
        if offset >= rdma::CQ_MMAP_BASE {
            let cq = self.ctx.lock().rdma.cq_at(offset).ok_or(EINVAL)?;
            map_into(vma, cq, Cq::mmap)
        } else {
            let cb = self.ctx.lock().cbs.get(&offset).cloned().ok_or(EINVAL)?;
            map_into(vma, cb, Cb::mmap)
        }
    }

    /// `poll(2)`: readable while one of the context's RDMA completion queues has entries not
    /// consumed; an error and a hang-up once the device is going away. The waits are on every
    /// RDMA port, so that a queue created after an epoll registration wakes it too.
    pub(crate) fn poll(&self, table: &mut PollTable<'_>) -> u32 {
        let mut gone = false;
        for events in self.dev.all_cq_events() {
            // SAFETY: The file holds `dev`, which holds every port's `CqEvents` as long as it
            // lives, so the condition variable outlives any `poll(2)` of this file.
            unsafe { table.register_wait(events.poll_wait()) };
            gone |= events.is_gone();
        }
        if gone {
            return POLLERR | POLLHUP;
        }
        self.ctx.lock().rdma.poll_events(&self.dev)
    }

    /// `HL_IOCTL_CS`.
    pub(crate) fn cs(&self, args: Arg<'_, uapi::hl_cs_in>) -> Result<uapi::hl_cs_out> {
        let n = args.num_chunks_execute as usize;
        if n == 0 || n > uapi::HL_MAX_JOBS_PER_CS as usize || args.pad != 0 {
            return Err(EINVAL);
        }
        let timeout_ms = match args.cs_flags {
            0 => uapi::HL_CS_DEFAULT_TIMEOUT_MS,
            uapi::HL_CS_FLAGS_CUSTOM_TIMEOUT if (1..=uapi::HL_CS_MAX_TIMEOUT_MS).contains(&args.timeout_ms) => {
                args.timeout_ms
            }
            _ => return Err(EINVAL),
        };
        let chunk_size = size_of::<uapi::hl_cs_chunk>();
        let mut bytes = KVec::from_elem(0u8, n * chunk_size, GFP_KERNEL)?;
        UserSlice::new(args.chunks_execute as usize, bytes.len()).reader().read_slice(&mut bytes)?;

        self.recover_expired();
        let mut ctx = self.ctx.lock();
        let mut jobs = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut per_queue = [0usize; regs::MAX_QUEUES];
        let mut queues = 0u32;
        for raw in bytes.chunks_exact(chunk_size) {
            let chunk: uapi::hl_cs_chunk = from_bytes(raw)?;
            let q = chunk.queue_index as usize;
            let cb = ctx.cbs.get(&chunk.cb_handle).cloned().ok_or(EINVAL)?;
            // CBs are not parsed, NIC ones included. Engines reach host memory only through the
            // context's MMU. A NIC packet names a connection, a CQ and a SOB of this device and
            // a range of its memory: the compute node has one user at a time, so all of them
            // are this context's (and were reset when the previous user closed), and the device
            // checks each operation against the contexts this user set up, at both ends.
            let queue = self.dev.queue(q).ok_or(EINVAL)?;
            if chunk.cs_chunk_flags != 0
                || chunk.pad != 0
                || chunk.cb_size < 8
                || chunk.cb_size % 8 != 0
                || chunk.cb_size > cb.size()
            {
                return Err(EINVAL);
            }
            per_queue[q] += 1;
            queues |= 1 << q;
            jobs.push((queue.clone(), cb, chunk.cb_size), GFP_KERNEL)?;
        }

        let seq = ctx.next_seq;
        let slot = (seq % HISTORY as u64) as usize;
        if ctx.history[slot].as_ref().is_some_and(|old| !old.is_done()) {
            return Err(EBUSY);
        }
        let cs = Arc::pin_init(Cs::new(seq, queues, n as u32, timeout_ms), GFP_KERNEL)?;
        ctx.prune();
        let active = RBTreeNode::new(seq, cs.clone(), GFP_KERNEL)?;
        let dev = &self.dev;
        let _submit = dev.submit_lock.lock();
        for queue in dev.queues() {
            let count = per_queue[queue.index];
            if count > 0 && queue.free_slots() < count {
                return Err(EBUSY);
            }
        }
        ctx.next_seq += 1;
        ctx.history[slot] = Some(cs.clone());
        ctx.active.insert(active);
        let mut ret = Ok(());
        for (queue, cb, len) in jobs {
            ret = ret.and_then(|_| queue.push(&dev.hw, Job { cs: cs.clone(), cb }, len));
            if ret.is_err() {
                // The device went away: the jobs that were not queued end here.
                cs.job_done(queue.index, crate::cs::JobEnd::Reset);
            }
        }
        ret.map(|_| uapi::hl_cs_out { seq })
    }

    /// Resets the queues of the submissions that ran past their timeout.
    fn recover_expired(&self) {
        let mut expired = KVec::new();
        for cs in self.ctx.lock().in_flight().filter(|cs| cs.expired()) {
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
        self.dev.reset_queues(cs.queues);
    }

    /// `HL_IOCTL_WAIT_CS`.
    pub(crate) fn wait_cs(&self, args: Arg<'_, uapi::hl_wait_cs_in>) -> Result<uapi::hl_wait_cs_out> {
        let cs = {
            let ctx = self.ctx.lock();
            if args.seq == 0 || args.seq >= ctx.next_seq {
                return Err(EINVAL);
            }
            let slot = (args.seq % HISTORY as u64) as usize;
            match &ctx.history[slot] {
                Some(cs) if cs.seq == args.seq => cs.clone(),
                _ => {
                    return Ok(uapi::hl_wait_cs_out {
                        status: uapi::HL_WAIT_CS_STATUS_COMPLETED,
                        ..Default::default()
                    })
                }
            }
        };
        let timeout_ms = args.timeout_us.div_ceil(1000).min(u64::from(u32::MAX)) as u32;
        let start = kernel::time::Ktime::ktime_get();
        loop {
            if cs.is_done() {
                return Ok(cs.result());
            }
            if cs.expired() {
                self.recover(&cs);
                continue;
            }
            let waited_ms = (kernel::time::Ktime::ktime_get() - start).to_ms();
            let left_ms = i64::from(timeout_ms) - waited_ms;
            if left_ms <= 0 {
                return Ok(uapi::hl_wait_cs_out {
                    status: uapi::HL_WAIT_CS_STATUS_BUSY,
                    ..Default::default()
                });
            }
            let until_deadline_ms = cs.ns_left() / kernel::time::NSEC_PER_MSEC + 1;
            let sleep_ms = left_ms.min(until_deadline_ms) as u32;
            cs.completion().wait_interruptible_timeout(msecs_to_jiffies(sleep_ms))?;
        }
    }

    /// `HL_IOCTL_MEMORY`.
    pub(crate) fn memory(&self, args: Arg<'_, uapi::hl_mem_in>) -> Result<uapi::hl_mem_out> {
        // The union's members are all one or two `u64`s.
        let union = core::mem::offset_of!(uapi::hl_mem_in, __bindgen_anon_1);
        let [a, b]: [u64; 2] = [args.read(union)?, args.read(union + 8)?];
        let out = |v: u64| uapi::hl_mem_out { __bindgen_anon_1: uapi::hl_mem_out__bindgen_ty_1 { handle: v } };
        if (args.op, args.flags) == (uapi::HL_MEM_OP_MAP, uapi::HL_MEM_USERPTR) {
            return self.map_host(a, b).map(out);
        }
        let mut ctx = self.ctx.lock();
        match (args.op, args.flags) {
            (uapi::HL_MEM_OP_ALLOC, 0) => {
                let size = a.checked_next_multiple_of(GRANULE).filter(|&s| s > 0).ok_or(EINVAL)?;
                let offset = self.dev.dram.lock().alloc(size, GRANULE)?;
                let handle = ctx.next_dram;
                if let Err(e) = ctx.dram.try_create_and_insert(handle, DramBlock { offset, size, mapped: false }, GFP_KERNEL) {
                    self.dev.dram.lock().free(offset, size)?;
                    return Err(e);
                }
                ctx.next_dram += 1;
                Ok(out(handle))
            }
            (uapi::HL_MEM_OP_FREE, 0) => {
                let block = ctx.dram.get(&a).ok_or(EINVAL)?;
                if block.mapped || ctx.rdma.has_window(block.addr(), block.size) {
                    return Err(EBUSY);
                }
                let block = ctx.dram.remove(&a).ok_or(EINVAL)?;
                self.dev.dram.lock().free(block.offset, block.size)?;
                Ok(out(0))
            }
            (uapi::HL_MEM_OP_MAP, 0) => {
                let block = ctx.dram.get_mut(&a).ok_or(EINVAL)?;
                block.mapped = true;
                Ok(out(block.addr()))
            }
            (uapi::HL_MEM_OP_UNMAP, 0) => {
                if let Some(va) = a.checked_sub(regs::HOST_VA_BASE) {
                    // The engines may be using it.
                    if ctx.in_flight().next().is_some() {
                        return Err(EBUSY);
                    }
                    let map = ctx.host.remove(&va).ok_or(EINVAL)?;
                    let npages = map.pages.len();
                    ctx.mmu.unmap(va, npages);
                    ctx.host_va.free(va, (npages * PAGE_SIZE) as u64)?;
                    return Ok(out(0));
                }
                let offset = a.checked_sub(regs::DRAM_ADDR_BASE).ok_or(EINVAL)?;
                let block = ctx.dram.values_mut().find(|b| b.offset == offset && b.mapped).ok_or(EINVAL)?;
                block.mapped = false;
                Ok(out(0))
            }
            _ => Err(EINVAL),
        }
    }
}

impl ComputeFile {
    /// `HL_IOCTL_NIC`.
    pub(crate) fn nic(&self, args: Arg<'_, uapi::hl_nic_in>) -> Result<NicOut> {
        let request = Request::prepare(&self.dev, &args)?;
        let answer = {
            let mut guard = self.ctx.lock();
            let ctx = &mut *guard;
            let dram = &ctx.dram;
            let in_dram = |addr, size| dram.values().any(|b: &DramBlock| b.contains(addr, size));
            ctx.rdma.run(&self.dev, request, in_dram)?
        };
        answer.finish(&self.dev)
    }

    /// Pins `size` bytes of the caller's memory at `addr` and maps them through the MMU;
    /// returns their device address.
    fn map_host(&self, addr: u64, size: u64) -> Result<u64> {
        if addr % PAGE_SIZE as u64 != 0 || size == 0 || size > u64::from(uapi::HL_MAX_HOST_MAP) {
            return Err(EINVAL);
        }
        let len = size.next_multiple_of(PAGE_SIZE as u64);
        let npages = (len / PAGE_SIZE as u64) as usize;
        let bound = self.dev.binding.enter()?;
        // Pinning takes the mmap lock, and `mmap` takes the context's lock under it: pin first.
        let pages = UserPages::pin(&bound, addr as usize, npages)?;
        let mut ctx = self.ctx.lock();
        let va = ctx.host_va.alloc(len, GRANULE)?;
        let mapped = ctx.mmu.map(&bound, va, &pages);
        let mapped = mapped.and_then(|_| {
            ctx.host.try_create_and_insert(va, HostMap { pages }, GFP_KERNEL).map(|_| ())
        });
        if let Err(e) = mapped {
            ctx.mmu.unmap(va, npages);
            ctx.host_va.free(va, len)?;
            return Err(e);
        }
        Ok(regs::HOST_VA_BASE + va)
    }
}

#[pinned_drop]
impl PinnedDrop for ComputeFile {
    fn drop(self: Pin<&mut Self>) {
        // Nothing the engines may still touch can be freed: wait for every submission, and
        // reset the queues of those that run past their timeout.
        loop {
            let next = self.ctx.lock().in_flight().next().cloned();
            let Some(cs) = next else { break };
            if cs.expired() {
                self.recover(&cs);
            } else {
                let wait_ms = (cs.ns_left() / kernel::time::NSEC_PER_MSEC + 1) as u32;
                let _ = cs.completion().wait_timeout(msecs_to_jiffies(wait_ms));
            }
        }
        let mut ctx = self.ctx.lock();
        // Before the memory it names goes: the receive queues, the rings, device memory.
        let clean = ctx.rdma.teardown(&self.dev);
        if let Ok(regs) = self.dev.hw.regs() {
            regs.write32(0, regs::MMU_CTL);
        }
        let mut dram = self.dev.dram.lock();
        if clean {
            for block in ctx.dram.values() {
                // Each block came from this allocator.
                let _ = dram.free(block.offset, block.size);
            }
        }
        // Otherwise a connection that failed to reset may still take WRITEs into its window:
        // the memory stays allocated until the device goes.
        ctx.dram = RBTree::new();
        drop(dram);
        drop(ctx);
        self.dev.compute_busy.store(false, Ordering::Release);
    }
}
