// SPDX-License-Identifier: GPL-2.0

//! Command buffers and device memory: their lifetimes and mappings.

use std::os::fd::AsRawFd;
use std::ptr;

use hlthunk::uapi::*;
use hlthunk::{CsStatus, Device, HostBuffer, Job, Packet, Queue};

use crate::Env;
use crate::util::{Fail, NoAccess, R, Tap, all_bytes, cb_of, ensure, expect_errno, run_ok};

/// Errors for a handle or address the driver does not know.
const UNKNOWN: &[i32] = &[libc::EINVAL, libc::ENOENT];

/// A shared mapping of `len` bytes at `offset` of the compute node.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(dev: &Device, offset: u64, len: usize) -> Result<Self, i32> {
        let offset = libc::off_t::try_from(offset).map_err(|_| libc::EOVERFLOW)?;
        // SAFETY: a new shared mapping where the kernel chooses; it
        // replaces nothing of this process.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                dev.as_raw_fd(),
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        Ok(Self { ptr: p.cast(), len })
    }

    /// Writes a pattern over the whole mapping and reads it back.
    fn write_read(&self, seed: u8) -> R {
        // SAFETY: our read-write mapping of `len` bytes; nothing else in
        // this process refers to it.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) };
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u8);
        }
        let bad = bytes
            .iter()
            .enumerate()
            .position(|(i, &b)| b != seed.wrapping_add(i as u8));
        ensure!(bad.is_none(), "mapping reads back wrong at byte {bad:?}");
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our mapping; no reference to it outlives `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn page_up(n: u32) -> usize {
    (n as usize).next_multiple_of(4096)
}

fn create_map_destroy(dev: &Device) -> R {
    let sizes = [8, 4096, 4097, HL_MAX_CB_SIZE];
    let mut cbs = Vec::new();
    for (i, size) in sizes.into_iter().enumerate() {
        let mut cb = dev.command_buffer(size)?;
        cb.as_mut_slice().fill(i as u8);
        ensure!(
            cb.as_mut_slice().iter().all(|&b| b == i as u8),
            "CB of {size} bytes reads back wrong"
        );
        let whole = Mapping::new(dev, cb.handle(), page_up(size)).map_err(|e| {
            format!(
                "mmap of {} bytes of a {size}-byte CB: errno {e}",
                page_up(size)
            )
        })?;
        whole.write_read(i as u8)?;
        cbs.push(cb);
    }
    let mut handles: Vec<_> = cbs.iter().map(|cb| cb.handle()).collect();
    handles.sort_unstable();
    handles.dedup();
    ensure!(
        handles.len() == sizes.len(),
        "handles not distinct: {handles:x?}"
    );
    Ok(())
}

fn bad_mappings(dev: &Device) -> R {
    let cb = dev.command_buffer(4096)?;
    ensure!(
        Mapping::new(dev, cb.handle(), 8192).is_err(),
        "a 2-page mapping of a 1-page CB succeeded"
    );
    ensure!(
        Mapping::new(dev, cb.handle() ^ 1 << 40, 4096).is_err(),
        "a mapping at an offset that is no handle succeeded"
    );
    Ok(())
}

fn destroy_while_mapped(dev: &Device) -> R {
    let handle = dev.cb_create(4096)?;
    let map = Mapping::new(dev, handle, 4096).map_err(|e| format!("mmap: errno {e}"))?;
    dev.cb_destroy(handle)?;
    map.write_read(7)
        .map_err(|e| format!("after destroy: {e}"))?;
    expect_errno(dev.cb_destroy(handle), UNKNOWN).map_err(|e| format!("second destroy: {e}"))?;
    let job = Job {
        cb_handle: handle,
        queue: Queue::Dma0,
        size: 8,
    };
    expect_errno(dev.submit(&[job]), UNKNOWN)
        .map_err(|e| Fail(format!("CS of a destroyed CB: {e}")))
}

/// The CB is unmapped and destroyed right after the submission; the job
/// must run all the same.
fn submission_keeps_cb(dev: &Device) -> R {
    let size = 8 << 20;
    let dram = dev.device_memory(size)?;
    let mut host = HostBuffer::new(size as usize)?;
    let map = dev.map_host(&mut host)?;
    let cb = cb_of(
        dev,
        &[
            Packet::memset(dram.addr(), 0x77, size as u32)?,
            Packet::lin_dma(dram.addr(), map.device_addr(), size as u32)?,
        ],
    )?;
    let seq = dev.submit(&[cb.job(Queue::Dma0)])?;
    drop(cb);
    let status = dev.wait_cs(seq, crate::util::CS_WAIT)?;
    ensure!(status == CsStatus::Completed, "submission {status}");
    all_bytes("host copy", &map, 0x77)
}

fn only_cb_size_runs(dev: &Device) -> R {
    let mut cb = dev.command_buffer(16)?;
    cb.push(&Packet::nop())?;
    cb.push_bytes(&[0, 0, 0, 0, 0, 0, 0, 0x1f])?;
    let job = Job {
        size: 8,
        ..cb.job(Queue::Dma1)
    };
    run_ok(dev, &[job])
}

/// The largest CB, `HL_MAX_CB_SIZE`: 2 MiB of memory.
const BIG_CB: u32 = 0x20_0000 - 32;
/// The largest CBs a user's 256 MiB of CB memory holds.
const BIG_CBS: usize = 128;

/// At most 256 MiB of command buffers at a time (128 of the largest; not
/// even a page more), then room again after one is destroyed.
fn cb_limit(dev: &Device) -> R {
    let mut handles = Vec::new();
    for i in 0..BIG_CBS {
        let h = dev
            .cb_create(BIG_CB)
            .map_err(|e| Fail(format!("CB {i}: {e}")))?;
        handles.push(h);
    }
    let over = dev.cb_create(8);
    let after = dev
        .cb_destroy(handles[0])
        .and_then(|()| dev.cb_create(BIG_CB));
    for h in handles.into_iter().skip(1).chain(after.clone()) {
        dev.cb_destroy(h)?;
    }
    if let Ok(h) = over {
        dev.cb_destroy(h)?;
    }
    expect_errno(over, &[libc::ENOSPC]).map_err(|e| Fail(format!("a page past 256 MiB: {e}")))?;
    after.map_err(|e| Fail(format!("after a destroy: {e}")))?;
    Ok(())
}

/// A CB destroyed while mapped still counts toward the 256 MiB until it
/// is unmapped: create, map and destroy cannot hold more.
fn cb_limit_counts_mapped(dev: &Device) -> R {
    let mut maps = Vec::new();
    for i in 0..BIG_CBS {
        let h = dev
            .cb_create(BIG_CB)
            .map_err(|e| Fail(format!("CB {i}: {e}")))?;
        let map = Mapping::new(dev, h, 4096).map_err(|e| format!("CB {i}: mmap: errno {e}"));
        dev.cb_destroy(h)?;
        maps.push(map?);
    }
    let over = dev.cb_create(4096);
    if let Ok(h) = over {
        dev.cb_destroy(h)?;
    }
    expect_errno(over, &[libc::ENOSPC])
        .map_err(|e| Fail(format!("a CB past 256 MiB destroyed but mapped: {e}")))?;
    drop(maps);
    let after = dev
        .cb_create(4096)
        .map_err(|e| Fail(format!("after unmapping: {e}")))?;
    dev.cb_destroy(after)?;
    Ok(())
}

pub fn cb(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("cb: open", Err(e)),
    };
    t.check(
        "cb: create, map (rounded up to pages) read-write, destroy",
        create_map_destroy(&dev),
    );
    t.check(
        "cb: no mapping past the CB or at other offsets",
        bad_mappings(&dev),
    );
    t.check(
        "cb: destroy while mapped; the mapping lives on, the handle does not",
        destroy_while_mapped(&dev),
    );
    t.check(
        "cb: a submission keeps its CB alive after unmap and destroy",
        submission_keeps_cb(&dev),
    );
    t.check(
        "cb: a job runs only its cb_size bytes",
        only_cb_size_runs(&dev),
    );
    t.check("cb: at most 256 MiB at a time", cb_limit(&dev));
    t.check(
        "cb: destroyed but mapped CBs count toward the 256 MiB",
        cb_limit_counts_mapped(&dev),
    );
}

fn alloc_and_map(dev: &Device) -> R {
    let dram_size = dev.hw_ip_info()?.dram_size;
    let a = dev.device_memory(1 << 20)?;
    let b = dev.device_memory(4097)?;
    let end = HL_DRAM_BASE + dram_size;
    for (addr, len) in [(a.addr(), 1 << 20), (b.addr(), 4097)] {
        ensure!(
            addr >= HL_DRAM_BASE && addr + len <= end,
            "{len} bytes at {addr:#x}: not inside DRAM"
        );
    }
    ensure!(
        a.addr() + (1 << 20) <= b.addr() || b.addr() + 4097 <= a.addr(),
        "allocations overlap: {:#x}, {:#x}",
        a.addr(),
        b.addr()
    );
    Ok(())
}

/// GAUDI's ALLOC and FREE only count: `DRAM_USAGE` follows them, a FREE of
/// more than the context counted is refused, and nothing is left to map.
fn counted_not_mapped(dev: &Device) -> R {
    let before = dev.dram_usage()?;
    dev.alloc(3 << 20)?;
    let during = dev.dram_usage()?;
    ensure!(
        during.allocated == before.allocated + (3 << 20) && during.free + (3 << 20) == before.free,
        "3 MiB allocated: {during:?}, before: {before:?}"
    );
    expect_errno(dev.map(0), &[libc::EINVAL]).map_err(|e| format!("MAP of handle 0: {e}"))?;
    expect_errno(dev.free(during.allocated + 1), &[libc::EINVAL])
        .map_err(|e| format!("FREE of more than counted: {e}"))?;
    dev.free(3 << 20)?;
    let after = dev.dram_usage()?;
    ensure!(after == before, "freed: {after:?}, before: {before:?}");
    expect_errno(dev.alloc(before.free + 1), &[libc::ENOMEM])
        .map_err(|e| format!("ALLOC of more than is free: {e}"))?;
    ensure!(dev.dram_usage()? == before, "the refused ALLOC was counted");
    Ok(())
}

fn unknown_handles(dev: &Device) -> R {
    let what = [
        (
            "map of a made-up handle",
            expect_errno(dev.map(0xdead_0000_0000), UNKNOWN),
        ),
        (
            "unmap of a DRAM address",
            expect_errno(dev.unmap(HL_DRAM_BASE), UNKNOWN),
        ),
        (
            "unmap of an address never mapped",
            expect_errno(dev.unmap(HL_HOST_VA_BASE + (100 << 30)), UNKNOWN),
        ),
    ];
    for (what, r) in what {
        r.map_err(|e| Fail(format!("{what}: {e}")))?;
    }
    Ok(())
}

fn too_much(dev: &Device) -> R {
    let dram_size = dev.hw_ip_info()?.dram_size;
    // The driver refuses to count more than the DRAM has free.
    let nomem = &[libc::ENOMEM];
    expect_errno(dev.device_memory(dram_size + 4096).map(drop), nomem)?;
    expect_errno(dev.device_memory(u64::MAX).map(drop), nomem)
}

fn host_region(dev: &Device) -> R {
    let mut a = HostBuffer::new(3 * 4096)?;
    let mut b = HostBuffer::new(4096)?;
    let a = dev.map_host(&mut a)?;
    let b = dev.map_host(&mut b)?;
    let end = HL_HOST_VA_BASE + (512 << 30);
    for (m, len) in [(&a, 3 * 4096), (&b, 4096)] {
        let addr = m.device_addr();
        ensure!(
            addr >= HL_HOST_VA_BASE && addr + len <= end,
            "{len} bytes at {addr:#x}: not in the host region"
        );
    }
    let (x, y) = (a.device_addr(), b.device_addr());
    ensure!(
        x + 3 * 4096 <= y || y + 4096 <= x,
        "mappings overlap: {x:#x}, {y:#x}"
    );
    a.unmap()?;
    b.unmap()?;
    Ok(())
}

fn host_inaccessible(dev: &Device) -> R {
    let none = NoAccess::new(2 * 4096)?;
    // SAFETY: nothing can access the range: the driver must refuse it, and
    // there is nothing it could write.
    let r = unsafe { dev.map_host_ptr(none.addr() as *mut u8, 2 * 4096) };
    expect_errno(r, &[libc::EFAULT])
}

pub fn memory(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("memory: open", Err(e)),
    };
    t.check(
        "memory: device allocations are placed inside DRAM, apart",
        alloc_and_map(&dev),
    );
    t.check(
        "memory: ALLOC and FREE count, MAP of a device handle fails",
        counted_not_mapped(&dev),
    );
    t.check(
        "memory: unknown handles and addresses are refused",
        unknown_handles(&dev),
    );
    t.check("memory: allocations past DRAM's size fail", too_much(&dev));
    t.check(
        "memory: host mappings land in the host region, apart",
        host_region(&dev),
    );
    t.check(
        "memory: mapping inaccessible host memory fails with EFAULT",
        host_inaccessible(&dev),
    );
}
