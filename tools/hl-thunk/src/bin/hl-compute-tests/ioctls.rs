// SPDX-License-Identifier: GPL-2.0

//! Malformed ioctls, made raw so that the library's own checks do not
//! stop them first: every one must fail, the device must work after.

use std::mem::size_of;
use std::ptr;
use std::time::Duration;

use hlthunk::uapi::*;
use hlthunk::{Device, HostBuffer, Packet, Queue};

use crate::Env;
use crate::util::{
    Fail, NoAccess, R, Tap, ensure, errno_name, expect_ioctl_errno, raw_ioctl, run_packets,
};

const EINVAL: &[i32] = &[libc::EINVAL];
const EFAULT: &[i32] = &[libc::EFAULT];
/// A handle the driver does not know.
const UNKNOWN: &[i32] = &[libc::EINVAL, libc::ENOENT];

/// The bytes of a uAPI struct.
fn bytes_of<T: Copy>(arg: &T) -> Vec<u8> {
    // SAFETY: uAPI structs are integers with explicit padding: all of their
    // size_of bytes are initialised.
    unsafe { std::slice::from_raw_parts(ptr::from_ref(arg).cast::<u8>(), size_of::<T>()) }.to_vec()
}

/// Runs `request` as a caller whose struct is `size` bytes would: `bytes`
/// cut or zero-extended to `size`.
fn sized(
    dev: &Device,
    request: libc::c_ulong,
    size: usize,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>, i32> {
    bytes.resize(size.max(1), 0);
    raw_ioctl(dev, ioc_with_size(request, size), bytes.as_mut_ptr().cast())?;
    Ok(bytes)
}

/// Runs `request` with `arg` as it is.
fn call<T: Copy>(dev: &Device, request: libc::c_ulong, arg: &T) -> Result<Vec<u8>, i32> {
    sized(dev, request, size_of::<T>(), bytes_of(arg))
}

/// Labels a failed expectation.
fn labelled(what: &str, r: R) -> R {
    r.map_err(|e| Fail(format!("{what}: {e}")))
}

fn info_args(return_pointer: u64, return_size: u32, op: u32) -> hl_info_args {
    hl_info_args {
        return_pointer,
        return_size,
        op,
        ..Default::default()
    }
}

fn chunk(cb_handle: u64, queue_index: u32, cb_size: u32) -> hl_cs_chunk {
    let mut c = hl_cs_chunk {
        queue_index,
        ..Default::default()
    };
    c.__bindgen_anon_1.cb_handle = cb_handle;
    c.__bindgen_anon_2.cb_size = cb_size;
    c
}

fn cs_execute(chunks_execute: u64, num_chunks_execute: u32) -> hl_cs_in {
    let mut cs = hl_cs_in {
        num_chunks_execute,
        ..Default::default()
    };
    cs.__bindgen_anon_1.__bindgen_anon_1.chunks_execute = chunks_execute;
    cs
}

fn wait_in(seq: u64, timeout_us: u64) -> hl_wait_cs_in {
    let mut w = hl_wait_cs_in::default();
    w.__bindgen_anon_1.__bindgen_anon_1 =
        hl_wait_cs_in__bindgen_ty_1__bindgen_ty_1 { seq, timeout_us };
    w
}

fn cb_create(size: u32) -> hl_cb_in {
    hl_cb_in {
        op: HL_CB_OP_CREATE,
        cb_size: size,
        ..Default::default()
    }
}

fn mem_alloc(size: u64) -> hl_mem_in {
    let mut m = hl_mem_in {
        op: HL_MEM_OP_ALLOC,
        ..Default::default()
    };
    m.__bindgen_anon_1.alloc.mem_size = size;
    m
}

fn unknown_numbers(dev: &Device) -> R {
    let nr = |n: u64| HL_IOCTL_INFO & !0xff | n;
    let requests = [
        ("nr 0", nr(0)),
        ("nr HL_COMMAND_END", nr(HL_COMMAND_END.into())),
        ("nr 0x3f", nr(0x3f)),
        ("type 'X'", HL_IOCTL_INFO & !0xff00 | u64::from(b'X') << 8),
    ];
    for (what, request) in requests {
        let mut buf = [0u8; 64];
        labelled(
            what,
            expect_ioctl_errno(
                raw_ioctl(dev, request, buf.as_mut_ptr().cast()),
                &[libc::ENOTTY],
            ),
        )?;
    }
    Ok(())
}

fn bad_pointers(dev: &Device) -> R {
    let inaccessible = NoAccess::new(4096)?;
    let gone = inaccessible.addr();
    let mut read_only = HostBuffer::new(4096)?;
    // SAFETY: makes our own mapping read-only; nothing writes it after.
    let rc = unsafe { libc::mprotect(read_only.as_mut_ptr().cast(), 4096, libc::PROT_READ) };
    ensure!(rc == 0, "mprotect: {}", std::io::Error::last_os_error());

    for (what, arg) in [("NULL", 0), ("0x10", 0x10), ("inaccessible", gone)] {
        labelled(
            &format!("INFO with argument {what}"),
            expect_ioctl_errno(raw_ioctl(dev, HL_IOCTL_INFO, arg as *mut _), EFAULT),
        )?;
        labelled(
            &format!("CS with argument {what}"),
            expect_ioctl_errno(raw_ioctl(dev, HL_IOCTL_CS, arg as *mut _), EFAULT),
        )?;
    }
    for (what, at) in [
        ("8", 8),
        ("inaccessible", gone),
        ("read-only", read_only.as_ptr() as u64),
    ] {
        let info = info_args(
            at,
            size_of::<hl_info_hw_ip_info>() as u32,
            HL_INFO_HW_IP_INFO,
        );
        labelled(
            &format!("INFO into {what} memory"),
            expect_ioctl_errno(call(dev, HL_IOCTL_INFO, &info).map(drop), EFAULT),
        )?;
    }
    let cs = cs_execute(gone, 1);
    labelled(
        "CS with inaccessible chunks",
        expect_ioctl_errno(call(dev, HL_IOCTL_CS, &cs).map(drop), EFAULT),
    )
}

/// The driver zero-fills a short struct (the DRM rule): INFO missing `op`
/// is HW_IP_INFO, a CS missing its counts has no jobs, an ALLOC missing its
/// size allocates nothing.
fn short_structs(dev: &Device) -> R {
    let device_id = dev.hw_ip_info()?.device_id;
    let mut out = hl_info_hw_ip_info::default();
    let info = info_args(
        ptr::from_mut(&mut out) as u64,
        size_of::<hl_info_hw_ip_info>() as u32,
        HL_INFO_HW_EVENTS,
    );
    sized(dev, HL_IOCTL_INFO, 12, bytes_of(&info))
        .map_err(|e| format!("INFO of 12 bytes: {}", errno_name(e)))?;
    ensure!(
        out.device_id == device_id && device_id != 0,
        "INFO of 12 bytes did not return HW_IP_INFO"
    );

    let cases = [
        (
            "CS of 16 bytes (no num_chunks_execute)",
            HL_IOCTL_CS,
            16,
            bytes_of(&cs_execute(8, 1)),
        ),
        (
            "MEMORY of 0 bytes (alloc of 0)",
            HL_IOCTL_MEMORY,
            0,
            bytes_of(&mem_alloc(4096)),
        ),
    ];
    for (what, request, size, bytes) in cases {
        labelled(
            what,
            expect_ioctl_errno(sized(dev, request, size, bytes).map(drop), EINVAL),
        )?;
    }
    Ok(())
}

/// A longer struct works: the driver ignores the bytes it does not know,
/// and writes none of them back.
fn long_structs(dev: &Device, cb: u64) -> R {
    let mut out = hl_info_hw_ip_info::default();
    let info = info_args(
        ptr::from_mut(&mut out) as u64,
        size_of::<hl_info_hw_ip_info>() as u32,
        HL_INFO_HW_IP_INFO,
    );
    let size = size_of::<hl_info_args>() + 8;
    let mut bytes = bytes_of(&info);
    bytes.resize(size, 0xab);
    sized(dev, HL_IOCTL_INFO, size, bytes)
        .map_err(|e| format!("INFO of {size} bytes: {}", errno_name(e)))?;
    ensure!(
        out.device_id == dev.hw_ip_info()?.device_id && out.dram_size != 0,
        "INFO of {size} bytes: wrong data"
    );

    let job = hlthunk::Job {
        cb_handle: cb,
        queue: Queue::Dma0,
        size: 8,
    };
    let seq = dev.submit(&[job])?;
    let wait = wait_in(seq, 10_000_000);
    let size = size_of::<hl_wait_cs_args>() + 8;
    let mut bytes = bytes_of(&wait);
    bytes.resize(size, 0xab);
    let got = sized(dev, HL_IOCTL_WAIT_CS, size, bytes)
        .map_err(|e| format!("WAIT_CS of {size} bytes: {}", errno_name(e)))?;
    let status = u32::from_le_bytes(got[..4].try_into().unwrap());
    ensure!(
        status == HL_WAIT_CS_STATUS_COMPLETED,
        "WAIT_CS of {size} bytes: status {status}"
    );
    ensure!(
        got[size - 8..].iter().all(|&b| b == 0xab),
        "WAIT_CS of {size} bytes wrote past its struct: {:x?}",
        &got[size - 8..]
    );
    Ok(())
}

/// Ops past the 6.1 header's (and the habanalabs-rs additions) fail:
/// EINVAL as mainline's INFO, EINVAL or ENOTTY for CB and MEMORY.
fn unknown_ops(dev: &Device) -> R {
    let mut out = [0u8; 128];
    for op in [HL_INFO_ENGINE_STATUS + 1, u32::MAX] {
        let info = info_args(out.as_mut_ptr() as u64, out.len() as u32, op);
        labelled(
            &format!("INFO op {op:#x}"),
            expect_ioctl_errno(call(dev, HL_IOCTL_INFO, &info).map(drop), EINVAL),
        )?;
    }
    let cb = hl_cb_in {
        op: HL_CB_OP_INFO + 1,
        cb_size: 4096,
        ..Default::default()
    };
    let not_an_op = &[libc::EINVAL, libc::ENOTTY];
    labelled(
        "CB op 3",
        expect_ioctl_errno(call(dev, HL_IOCTL_CB, &cb).map(drop), not_an_op),
    )?;
    let mem = hl_mem_in {
        op: HL_MEM_OP_TS_ALLOC + 1,
        ..mem_alloc(4096)
    };
    labelled(
        "MEMORY op 7",
        expect_ioctl_errno(call(dev, HL_IOCTL_MEMORY, &mem).map(drop), not_an_op),
    )
}

fn cb_sizes(dev: &Device) -> R {
    for size in [HL_MAX_CB_SIZE + 1, u32::MAX] {
        labelled(
            &format!("CB of {size} bytes"),
            expect_ioctl_errno(call(dev, HL_IOCTL_CB, &cb_create(size)).map(drop), EINVAL),
        )?;
    }
    Ok(())
}

fn bad_jobs(dev: &Device, cb: u64) -> R {
    let good = chunk(cb, GAUDI_QUEUE_ID_DMA_0_0, 8);
    let with = |f: &dyn Fn(&mut hl_cs_chunk)| {
        let mut c = good;
        f(&mut c);
        c
    };
    let submit = |chunks: &[hl_cs_chunk], n: u32| {
        call(dev, HL_IOCTL_CS, &cs_execute(chunks.as_ptr() as u64, n)).map(drop)
    };
    let too_many = vec![good; HL_MAX_JOBS_PER_CS as usize + 1];
    let cases = [
        ("no jobs", submit(&too_many, 0), EINVAL),
        (
            "too many jobs",
            submit(&too_many, HL_MAX_JOBS_PER_CS + 1),
            EINVAL,
        ),
        (
            "cb_size past the CB",
            submit(&[with(&|c| c.__bindgen_anon_2.cb_size = 4096 + 8)], 1),
            EINVAL,
        ),
        (
            "unknown CB",
            submit(&[with(&|c| c.__bindgen_anon_1.cb_handle = cb ^ 1 << 40)], 1),
            UNKNOWN,
        ),
        (
            "a bad job after a good one",
            submit(&[good, with(&|c| c.queue_index = GAUDI_QUEUE_ID_CPU_PQ)], 2),
            EINVAL,
        ),
    ];
    for (what, r, errnos) in cases {
        labelled(what, expect_ioctl_errno(r, errnos))?;
    }
    // GAUDI queue ids without a queue: past the last, the CPU queue (the
    // firmware's).
    for queue in [GAUDI_QUEUE_ID_SIZE, u32::MAX, GAUDI_QUEUE_ID_CPU_PQ] {
        let r = submit(&[with(&|c| c.queue_index = queue)], 1);
        labelled(&format!("queue {queue}"), expect_ioctl_errno(r, EINVAL))?;
    }
    Ok(())
}

/// A job runs on each of the four streams (GAUDI queue ids) of every queue.
fn every_stream(dev: &Device, cb: u64) -> R {
    for queue in Queue::ALL {
        for id in queue.index()..queue.index() + 4 {
            let c = chunk(cb, id, 8);
            let out = call(dev, HL_IOCTL_CS, &cs_execute(ptr::from_ref(&c) as u64, 1))
                .map_err(|e| Fail(format!("queue id {id}: errno {e}")))?;
            let seq = u64::from_le_bytes(out[..8].try_into().unwrap());
            let status = dev.wait_cs(seq, Duration::from_secs(10))?;
            ensure!(
                status == hlthunk::CsStatus::Completed,
                "queue id {id}: {status}"
            );
        }
    }
    Ok(())
}

fn future_seq(dev: &Device, cb: u64) -> R {
    let job = hlthunk::Job {
        cb_handle: cb,
        queue: Queue::Dma1,
        size: 8,
    };
    let seq = dev.submit(&[job])?;
    dev.wait_cs(seq, Duration::from_secs(10))?;
    let wait = wait_in(seq + 1000, 0);
    labelled(
        "WAIT_CS of a sequence number not issued",
        expect_ioctl_errno(call(dev, HL_IOCTL_WAIT_CS, &wait).map(drop), EINVAL),
    )
}

fn bad_host_ranges(dev: &Device) -> R {
    let mut buf = HostBuffer::new(3 * 4096)?;
    let base = buf.as_mut_ptr() as u64;
    let mut m = hl_mem_in {
        op: HL_MEM_OP_MAP,
        flags: HL_MEM_USERPTR,
        ..Default::default()
    };
    m.__bindgen_anon_1.map_host.host_virt_addr = base;
    m.__bindgen_anon_1.map_host.mem_size = 0;
    labelled(
        "empty host range",
        expect_ioctl_errno(call(dev, HL_IOCTL_MEMORY, &m).map(drop), EINVAL),
    )?;
    labelled(
        "device memory of 0 bytes",
        expect_ioctl_errno(call(dev, HL_IOCTL_MEMORY, &mem_alloc(0)).map(drop), EINVAL),
    )
}

pub fn ioctls(t: &mut Tap, env: &Env) {
    let (dev, ctl) = match (env.open(), env.open_control()) {
        (Ok(d), Ok(c)) => (d, c),
        (d, c) => return t.check("ioctls: open both nodes", d.and(c).map(drop)),
    };
    let cb = match dev.command_buffer(4096) {
        Ok(mut cb) => match cb.push(&Packet::nop()) {
            Ok(()) => cb,
            Err(e) => return t.check("ioctls: command buffer", Err(e.into())),
        },
        Err(e) => return t.check("ioctls: command buffer", Err(e.into())),
    };
    t.check(
        "ioctls: unknown numbers fail with ENOTTY (compute node)",
        unknown_numbers(&dev),
    );
    t.check(
        "ioctls: unknown numbers fail with ENOTTY (control node)",
        unknown_numbers(&ctl),
    );
    t.check(
        "ioctls: bad user pointers fail with EFAULT",
        bad_pointers(&dev),
    );
    t.check(
        "ioctls: short structs are zero-filled: invalid ones fail with EINVAL",
        short_structs(&dev),
    );
    t.check(
        "ioctls: longer structs work, the bytes past the known struct ignored",
        long_structs(&dev, cb.handle()),
    );
    t.check("ioctls: unknown ops fail with EINVAL", unknown_ops(&dev));
    t.check(
        "ioctls: CB sizes past HL_MAX_CB_SIZE fail with EINVAL",
        cb_sizes(&dev),
    );
    t.check(
        "ioctls: bad jobs and job counts fail",
        bad_jobs(&dev, cb.handle()),
    );
    t.check(
        "ioctls: a job runs on every stream (GAUDI queue id) of every queue",
        every_stream(&dev, cb.handle()),
    );
    t.check(
        "ioctls: WAIT_CS of a future sequence number fails",
        future_seq(&dev, cb.handle()),
    );
    t.check(
        "ioctls: empty host ranges and empty allocations fail",
        bad_host_ranges(&dev),
    );
    t.check(
        "ioctls: the device works after all that",
        Queue::ALL
            .into_iter()
            .try_for_each(|q| run_packets(&dev, q, &[Packet::nop()])),
    );
}
