// SPDX-License-Identifier: GPL-2.0

//! Command buffers: host memory the driver owns, that userspace fills with packets through
//! mmap and the device reads jobs from.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    device::{self, Bound},
    dma::CoherentAllocation,
    dma_write,
    mm::VmArea,
    page::PAGE_SIZE,
    prelude::*,
    uapi,
};

use crate::context::CbSlot;

/// The flags of memory a user's ioctl allocates for it (CBs, timestamp buffers, RDMA rings):
/// charged to the caller's memory cgroup (`__GFP_ACCOUNT`), and a size the page allocator
/// cannot serve is the caller's `ENOMEM`, not a kernel warning (`__GFP_NOWARN`).
pub(crate) fn user_gfp() -> kernel::alloc::Flags {
    kernel::alloc::flags::GFP_KERNEL_ACCOUNT | kernel::alloc::flags::__GFP_NOWARN
}

/// One command buffer.
pub(crate) struct Cb {
    mem: CoherentAllocation<u64>,
    size: u32,
    /// Jobs queued or running on it (`HL_CB_OP_INFO`'s `usage_cnt`).
    jobs: AtomicU32,
    /// Counts the CB against its context's cap until the last mapping or job lets it go.
    _slot: CbSlot,
}

impl Cb {
    /// The memory a CB of `size` bytes takes: whole pages, one at least, as mainline rounds
    /// up; `EINVAL` past `HL_MAX_CB_SIZE`.
    pub(crate) fn footprint(size: u32) -> Result<usize> {
        if size > uapi::HL_MAX_CB_SIZE {
            return Err(EINVAL);
        }
        Ok((size.max(PAGE_SIZE as u32) as usize).next_multiple_of(PAGE_SIZE))
    }

    /// Allocates a zeroed CB of `size` bytes (at most `HL_MAX_CB_SIZE`), in whole pages.
    pub(crate) fn new(dev: &device::Device<Bound>, size: u32, slot: CbSlot) -> Result<Self> {
        let bytes = Self::footprint(size)?;
        let size = size.max(PAGE_SIZE as u32);
        // Charged to the user's memory cgroup; a failure is the user's ENOMEM, not a warning.
        let mem = CoherentAllocation::alloc_coherent(dev, bytes / 8, user_gfp())?;
        Ok(Self {
            mem,
            size,
            jobs: AtomicU32::new(0),
            _slot: slot,
        })
    }

    /// A CB of the driver's own holding `packets`, for a job it writes on a user's behalf (the
    /// user's `slot`: it counts against the user's cap like the user's own CBs).
    pub(crate) fn of_packets(
        dev: &device::Device<Bound>,
        packets: &[u64],
        slot: CbSlot,
    ) -> Result<Self> {
        let cb = Self::new(dev, (8 * packets.len()) as u32, slot)?;
        for (i, &packet) in packets.iter().enumerate() {
            dma_write!(cb.mem[i] = packet)?;
        }
        Ok(cb)
    }

    pub(crate) fn job_started(&self) {
        self.jobs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn job_ended(&self) {
        self.jobs.fetch_sub(1, Ordering::Relaxed);
    }

    /// Jobs queued or running on the CB.
    pub(crate) fn jobs(&self) -> u32 {
        self.jobs.load(Ordering::Relaxed)
    }

    /// The size userspace asked for: jobs may run at most this many bytes.
    pub(crate) fn size(&self) -> u32 {
        self.size
    }

    /// The bus address the device fetches packets from.
    pub(crate) fn dma_handle(&self) -> u64 {
        self.mem.dma_handle()
    }

    /// Maps the CB into `vma`; the caller keeps the CB alive as long as the mapping.
    pub(crate) fn mmap(&self, vma: &VmArea) -> Result {
        self.mem.mmap(vma)
    }
}
