// SPDX-License-Identifier: GPL-2.0

//! Device memory shared through dma-buf: this device exports
//! (`HL_MEM_OP_EXPORT_DMABUF_FD`), the other device imports
//! (`HL_MEM_OP_IMPORT_DMABUF_FD`) and its DMA engine reads and writes the
//! exported memory without the host; what the export refuses; the file
//! descriptor closed before and after the import; the exporter's context
//! closing under the importer. The CPU's mapping of the dma-buf (`mmap` of
//! its descriptor): what the importer's DMA wrote read through it, what it
//! wrote read by the DMA, the ranges it refuses, no pin of its pages, the
//! mapping outliving the descriptor, and revoked (`SIGBUS`) when the
//! exporter's context closes.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use hlthunk::uapi::{HL_IOCTL_MEMORY, HL_MEM_OP_IMPORT_DMABUF_FD, hl_mem_args, hl_mem_in};
use hlthunk::{CsStatus, Device, DmabufMap, Packet, Queue};

use crate::Env;
use crate::util::{
    R, Rng, Tap, cb_of, download, ensure, expect_errno, expect_ioctl_errno, raw_ioctl, run,
    same_bytes, upload,
};

const SIZE: usize = 256 << 10;
const PAGE: u64 = 4096;

fn flags() -> u32 {
    (libc::O_RDWR | libc::O_CLOEXEC) as u32
}

/// The other device of the VM: the importer.
fn peer(env: &Env) -> R<Device> {
    Ok(Device::open(u32::from(env.index == 0))?)
}

fn random(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    rng.fill(&mut v);
    v
}

/// Runs one LIN_DMA on `dev`'s dma0 and returns how it ended.
fn copy(dev: &Device, src: u64, dst: u64, len: usize) -> R<CsStatus> {
    let cb = cb_of(dev, &[Packet::lin_dma(src, dst, len as u32)?])?;
    run(dev, &[cb.job(Queue::Dma0)])
}

fn copy_ok(dev: &Device, src: u64, dst: u64, len: usize) -> R {
    let status = copy(dev, src, dst, len)?;
    ensure!(status == CsStatus::Completed, "LIN_DMA: {status}");
    Ok(())
}

/// The importer writes the exporter's memory and reads it back, checked
/// byte for byte on both devices.
fn both_ways(exp: &Device, imp: &Device, rng: &mut Rng) -> R {
    let emem = exp.device_memory(SIZE as u64)?;
    let imem = imp.device_memory(SIZE as u64)?;
    let fd = exp.export_dmabuf(emem.addr(), SIZE as u64, flags())?;
    let shared = imp.import_dmabuf(fd.as_fd())?;
    let data = random(rng, SIZE);
    ensure!(!data.is_empty(), "no payload");
    upload(imp, imem.addr(), &data)?;
    copy_ok(imp, imem.addr(), shared, SIZE)?;
    same_bytes(
        "exporter's memory after the write",
        &download(exp, emem.addr(), SIZE)?,
        &data,
    )?;
    let back = random(rng, SIZE);
    upload(exp, emem.addr(), &back)?;
    copy_ok(imp, shared, imem.addr(), SIZE)?;
    same_bytes(
        "importer's memory after the read",
        &download(imp, imem.addr(), SIZE)?,
        &back,
    )?;
    imp.unmap(shared)?;
    Ok(())
}

/// The CPU's mapping of the dma-buf sees what the importer's DMA wrote, and
/// the importer's DMA what the CPU wrote, byte for byte; a mapping of a
/// part, from an offset, sees those bytes.
fn mmap_both_ways(exp: &Device, imp: &Device, rng: &mut Rng) -> R {
    let emem = exp.device_memory(SIZE as u64)?;
    let imem = imp.device_memory(SIZE as u64)?;
    let fd = exp.export_dmabuf(emem.addr(), SIZE as u64, flags())?;
    let shared = imp.import_dmabuf(fd.as_fd())?;
    let map = DmabufMap::new(fd.as_fd(), 0, SIZE)?;
    let data = random(rng, SIZE);
    ensure!(!data.is_empty(), "no payload");
    upload(imp, imem.addr(), &data)?;
    copy_ok(imp, imem.addr(), shared, SIZE)?;
    let mut got = vec![0; SIZE];
    map.read(0, &mut got);
    same_bytes("the CPU mapping after the importer's write", &got, &data)?;
    let back = random(rng, SIZE);
    map.write(0, &back);
    copy_ok(imp, shared, imem.addr(), SIZE)?;
    same_bytes(
        "the importer's memory after reading the CPU's write",
        &download(imp, imem.addr(), SIZE)?,
        &back,
    )?;
    let (at, len) = (3 * PAGE as usize, 2 * PAGE as usize);
    let part = DmabufMap::new(fd.as_fd(), at as u64, len)?;
    let mut got = vec![0; len];
    part.read(0, &mut got);
    same_bytes("a mapping from page 3", &got, &back[at..at + len])?;
    imp.unmap(shared)?;
    Ok(())
}

/// A CPU mapping past the buffer, at an offset not a page's, or private,
/// is `EINVAL`; the whole buffer maps.
fn mmap_refused(exp: &Device) -> R {
    let size = 4 * PAGE;
    let emem = exp.device_memory(size)?;
    let fd = exp.export_dmabuf(emem.addr(), size, flags())?;
    let (p, n) = (PAGE as usize, size as usize);
    for (what, offset, len, fl) in [
        ("one page past the end", 0, n + p, libc::MAP_SHARED),
        ("at the end", size, p, libc::MAP_SHARED),
        ("from page 1, the whole size", PAGE, n, libc::MAP_SHARED),
        ("far past the end", 1 << 40, p, libc::MAP_SHARED),
        ("at an offset inside a page", 8, p, libc::MAP_SHARED),
        ("private", 0, p, libc::MAP_PRIVATE),
    ] {
        expect_errno(
            DmabufMap::with_flags(fd.as_fd(), offset, len, fl),
            &[libc::EINVAL],
        )
        .map_err(|e| format!("mmap {what}: {}", e.0))?;
    }
    let map = DmabufMap::new(fd.as_fd(), 0, n)?;
    ensure!(
        !map.revoked()?,
        "a read of the whole buffer's mapping faults"
    );
    // Its BAR pages cannot be pinned (VM_IO | VM_PFNMAP): no pin outlives a
    // revocation.
    // SAFETY: the driver refuses the range; were it mapped, it is unmapped
    // before `map` goes.
    let pinned = unsafe { exp.map_host_ptr(map.as_ptr(), size) };
    if let Ok(addr) = pinned {
        exp.unmap(addr)?;
    }
    expect_errno(pinned, &[libc::EFAULT])
        .map_err(|e| format!("MAP of the CPU mapping as host memory: {}", e.0))?;
    Ok(())
}

/// The CPU mapping outlives the descriptor (it holds the buffer), FREE
/// (which only counts) does not end it, and it unmaps after both.
fn mmap_after_close(exp: &Device, rng: &mut Rng) -> R {
    let emem = exp.device_memory(SIZE as u64)?;
    let data = random(rng, SIZE);
    ensure!(!data.is_empty(), "no payload");
    upload(exp, emem.addr(), &data)?;
    let fd = exp.export_dmabuf(emem.addr(), SIZE as u64, flags())?;
    let map = DmabufMap::new(fd.as_fd(), 0, SIZE)?;
    drop(fd);
    emem.free()?;
    let mut got = vec![0; SIZE];
    map.read(0, &mut got);
    same_bytes("the CPU mapping after close and FREE", &got, &data)?;
    ensure!(!map.revoked()?, "the mapping faults after close and FREE");
    drop(map);
    Ok(())
}

/// The exporter's context closes under a CPU mapping: the mapping is
/// revoked (a read faults with SIGBUS), a new one is `ENODEV`, and it can
/// still be unmapped after the descriptor closes.
fn mmap_revoked_at_close(env: &Env, rng: &mut Rng) -> R {
    let data = random(rng, SIZE);
    ensure!(!data.is_empty(), "no payload");
    let (fd, map) = {
        let exp = env.open()?;
        let emem = exp.device_memory(SIZE as u64)?;
        upload(&exp, emem.addr(), &data)?;
        let fd = exp.export_dmabuf(emem.addr(), SIZE as u64, flags())?;
        let map = DmabufMap::new(fd.as_fd(), 0, SIZE)?;
        let mut got = vec![0; SIZE];
        map.read(0, &mut got);
        same_bytes("the CPU mapping", &got, &data)?;
        ensure!(!map.revoked()?, "the mapping faults while exported");
        // exp closes here, the exporter first releasing its memory.
        std::mem::forget(emem);
        (fd, map)
    };
    ensure!(
        map.revoked()?,
        "a read through the CPU mapping did not fault after the exporter closed"
    );
    expect_errno(DmabufMap::new(fd.as_fd(), 0, SIZE), &[libc::ENODEV])
        .map_err(|e| format!("mmap of a revoked dma-buf: {}", e.0))?;
    drop(fd);
    drop(map);
    Ok(())
}

/// A part of an allocation, by address, at an offset: only those bytes.
fn part(exp: &Device, imp: &Device, rng: &mut Rng) -> R {
    let emem = exp.device_memory(SIZE as u64)?;
    let imem = imp.device_memory(PAGE)?;
    let at = emem.addr() + 3 * PAGE;
    let fd = exp.export_dmabuf(at, 2 * PAGE, flags())?;
    let shared = imp.import_dmabuf(fd.as_fd())?;
    let before = random(rng, SIZE);
    upload(exp, emem.addr(), &before)?;
    let data = random(rng, PAGE as usize);
    upload(imp, imem.addr(), &data)?;
    copy_ok(imp, imem.addr(), shared + PAGE, PAGE as usize)?;
    let mut want = before;
    want[4 * PAGE as usize..5 * PAGE as usize].copy_from_slice(&data);
    same_bytes(
        "exporter's memory",
        &download(exp, emem.addr(), SIZE)?,
        &want,
    )?;
    // Past the exported two pages, the importer's MMU faults.
    let status = copy(imp, imem.addr(), shared + 2 * PAGE, PAGE as usize)?;
    ensure!(
        status != CsStatus::Completed,
        "a copy past the dma-buf completed"
    );
    same_bytes(
        "exporter's memory after the refused copy",
        &download(exp, emem.addr(), SIZE)?,
        &want,
    )?;
    imp.unmap(shared)?;
    Ok(())
}

/// As mainline without DRAM virtual memory: any page-aligned range of the
/// user's DRAM exports, allocated or not; ranges outside it, unaligned
/// ones and bad flags are `EINVAL`.
fn refused(exp: &Device) -> R {
    let hw = exp.hw_ip_info()?;
    let (base, end) = (hw.dram_base, hw.dram_base + hw.dram_size);
    let emem = exp.device_memory(4 * PAGE)?;
    let a = emem.addr();
    for (what, addr, size, fl) in [
        ("past the DRAM's end", end - PAGE, 2 * PAGE, flags()),
        ("at the DRAM's end", end, PAGE, flags()),
        ("below the DRAM", base - PAGE, 2 * PAGE, flags()),
        ("unaligned", a + 8, PAGE, flags()),
        ("of an unaligned size", a, PAGE + 1, flags()),
        ("of 0 bytes at an address", a, 0, flags()),
        ("a size that wraps", a, u64::MAX - PAGE + 1, flags()),
        ("with O_TRUNC", a, PAGE, flags() | libc::O_TRUNC as u32),
    ] {
        expect_errno(exp.export_dmabuf(addr, size, fl), &[libc::EINVAL])
            .map_err(|e| format!("export {what}: {}", e.0))?;
    }
    // Memory nobody allocated is the user's to export too.
    drop(exp.export_dmabuf(a + (64 << 20), PAGE, flags())?);
    Ok(())
}

/// What the import refuses: a file that is not a dma-buf, a closed file
/// descriptor (the dma-buf was released), a non-zero pad.
fn import_refused(exp: &Device, imp: &Device) -> R {
    let null = File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    expect_errno(imp.import_dmabuf(null.as_fd()), &[libc::EINVAL])
        .map_err(|e| format!("import of /dev/null: {}", e.0))?;
    let emem = exp.device_memory(PAGE)?;
    let fd = exp.export_dmabuf(emem.addr(), PAGE, flags())?;
    let raw = fd.as_raw_fd();
    drop(fd);
    // SAFETY: the number is closed: the kernel sees a bad descriptor.
    let closed = unsafe { BorrowedFd::borrow_raw(raw) };
    expect_errno(imp.import_dmabuf(closed), &[libc::EBADF])
        .map_err(|e| format!("import of a closed descriptor: {}", e.0))?;
    let fd = exp.export_dmabuf(emem.addr(), PAGE, flags())?;
    let mut mem = hl_mem_in {
        op: HL_MEM_OP_IMPORT_DMABUF_FD,
        ..Default::default()
    };
    mem.__bindgen_anon_1.import_dmabuf_fd.fd = fd.as_raw_fd();
    mem.__bindgen_anon_1.import_dmabuf_fd.pad = 1;
    let mut args = hl_mem_args { in_: mem };
    let ret = raw_ioctl(imp, HL_IOCTL_MEMORY, (&raw mut args).cast());
    expect_ioctl_errno(ret, &[libc::EINVAL]).map_err(|e| format!("import with a pad: {}", e.0))?;
    Ok(())
}

/// The exporter's descriptor closed after the import: the import holds the
/// dma-buf, transfers go on; the exporter's FREE does not stop them, the
/// importer's UNMAP does.
fn closed_after_import(exp: &Device, imp: &Device, rng: &mut Rng) -> R {
    let emem = exp.device_memory(SIZE as u64)?;
    let imem = imp.device_memory(SIZE as u64)?;
    let fd: OwnedFd = exp.export_dmabuf(emem.addr(), SIZE as u64, flags())?;
    let shared = imp.import_dmabuf(fd.as_fd())?;
    drop(fd);
    let data = random(rng, SIZE);
    upload(imp, imem.addr(), &data)?;
    copy_ok(imp, imem.addr(), shared, SIZE)?;
    same_bytes(
        "exporter's memory",
        &download(exp, emem.addr(), SIZE)?,
        &data,
    )?;
    // FREE only counts: the import goes on reaching the memory.
    emem.free()?;
    copy_ok(imp, imem.addr(), shared, SIZE)?;
    imp.unmap(shared)?;
    // The importer no longer reaches it.
    let status = copy(imp, imem.addr(), shared, SIZE)?;
    ensure!(
        status != CsStatus::Completed,
        "a copy after UNMAP completed"
    );
    Ok(())
}

/// The exporter's context closes under an import: the import is revoked,
/// the importer's copies fail, and it still works otherwise.
fn exporter_closes(env: &Env, rng: &mut Rng) -> R {
    let imp = peer(env)?;
    let imem = imp.device_memory(SIZE as u64)?;
    let data = random(rng, SIZE);
    upload(&imp, imem.addr(), &data)?;
    let shared = {
        let exp = env.open()?;
        let emem = exp.device_memory(SIZE as u64)?;
        let fd = exp.export_dmabuf(emem.addr(), SIZE as u64, flags())?;
        let shared = imp.import_dmabuf(fd.as_fd())?;
        copy_ok(&imp, imem.addr(), shared, SIZE)?;
        // fd and exp close here, the exporter first releasing its memory.
        std::mem::forget(emem);
        shared
    };
    let status = copy(&imp, imem.addr(), shared, SIZE)?;
    ensure!(
        status != CsStatus::Completed,
        "a copy into a revoked dma-buf completed"
    );
    imp.unmap(shared)?;
    same_bytes(
        "importer's own memory",
        &download(&imp, imem.addr(), SIZE)?,
        &data,
    )?;
    Ok(())
}

pub fn dmabuf(t: &mut Tap, env: &Env) {
    let mut rng = Rng::new(0xd3ab_0f00 ^ u64::from(env.index));
    let pair = env.open().and_then(|e| Ok((e, peer(env)?)));
    let (exp, imp) = match pair {
        Ok(p) => p,
        Err(e) => return t.check("dmabuf: open both devices", Err(e)),
    };
    t.check(
        "dmabuf: the importer writes and reads the exported memory, byte for byte",
        both_ways(&exp, &imp, &mut rng),
    );
    t.check(
        "dmabuf: a part of a buffer at an offset; nothing past it",
        part(&exp, &imp, &mut rng),
    );
    t.check(
        "dmabuf: export outside DRAM, unaligned or with bad flags is EINVAL",
        refused(&exp),
    );
    t.check(
        "dmabuf: import of a non-dma-buf, a closed descriptor or a pad refused",
        import_refused(&exp, &imp),
    );
    t.check(
        "dmabuf: descriptor closed after the import; UNMAP ends the access",
        closed_after_import(&exp, &imp, &mut rng),
    );
    t.check(
        "dmabuf: mmap: the importer's DMA write read by the CPU, the CPU's write by the DMA",
        mmap_both_ways(&exp, &imp, &mut rng),
    );
    t.check(
        "dmabuf: mmap past the buffer, at an offset inside a page or private is EINVAL; no pin",
        mmap_refused(&exp),
    );
    t.check(
        "dmabuf: mmap outlives the descriptor and FREE; munmap after both",
        mmap_after_close(&exp, &mut rng),
    );
    drop(exp);
    drop(imp);
    t.check(
        "dmabuf: the exporter's close revokes the import; the importer goes on",
        exporter_closes(env, &mut rng),
    );
    t.check(
        "dmabuf: mmap: the exporter's close revokes the CPU mapping (SIGBUS, ENODEV)",
        mmap_revoked_at_close(env, &mut rng),
    );
}
