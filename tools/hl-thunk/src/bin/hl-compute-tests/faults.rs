// SPDX-License-Identifier: GPL-2.0

//! Jobs that fail: each cause the device reports, as the driver passes it
//! on, and a hung engine.

use std::time::{Duration, Instant};

use hlthunk::packets::{OP_LIN_DMA, OP_NOP, OP_WREG_BULK};
use hlthunk::uapi::{HL_DRAM_BASE, HL_HOST_VA_BASE};
use hlthunk::{
    Cause, CommandBuffer, CsStatus, Device, DeviceMemory, DeviceStatus, HostBuffer, Packet, Queue,
    TpcKernel, TpcKernelDesc,
};

use crate::Env;
use crate::model::EngineHang;
use crate::util::{Fail, R, Tap, cb_of, ensure, expect_abort, expect_errno, run_ok, upload};

/// A packet header: first word, then `ctl` with `opcode` and `bits`.
fn raw(opcode: u8, bits: u32) -> [u8; 8] {
    let ctl = u32::from(opcode) << 24 | bits;
    let mut b = [0; 8];
    b[4..].copy_from_slice(&ctl.to_le_bytes());
    b
}

/// A job that must fail: its bytes, and where and why.
struct Bad {
    what: &'static str,
    queue: Queue,
    bytes: Vec<u8>,
    cause: Cause,
}

fn bytes(packets: &[Packet]) -> Vec<u8> {
    packets.iter().flat_map(|p| p.as_bytes().to_vec()).collect()
}

/// A descriptor in device memory at `addr`, made bad by `spoil`.
fn bad_desc(dev: &Device, addr: u64, spoil: impl FnOnce(&mut [u8])) -> R {
    let mut b = TpcKernelDesc {
        kernel: TpcKernel::Fill,
        count: 16,
        a: addr + 64,
        b: addr + 64,
        out: addr + 64,
        scalar: 1.0,
    }
    .to_bytes()?;
    spoil(&mut b);
    upload(dev, addr, &b)
}

fn bad_jobs(dev: &Device, dram: &DeviceMemory) -> R<Vec<Bad>> {
    let dram_size = dev.hw_ip_info()?.dram_size;
    let d = dram.addr();
    let lin_dma = Packet::lin_dma(d, d + 4096, 8)?;
    let mut truncated = bytes(&[Packet::nop()]);
    truncated.extend_from_slice(&lin_dma.as_bytes()[..8]);
    let mut bad_opcode = bytes(&[Packet::nop(), Packet::nop()]);
    bad_opcode.extend(raw(0x1f, 0));
    // MSG_PROT (opcode 7) is the driver's, not a user's.
    let mut msg_prot = bytes(&[Packet::nop()]);
    msg_prot.extend(raw(0x07, 0));
    msg_prot.extend([0; 8]);
    let (desc_kernel, desc_count, desc_zero) = (d + 8192, d + 8192 + 64, d + 8192 + 128);
    bad_desc(dev, desc_kernel, |b| b[0] = 9)?;
    bad_desc(dev, desc_count, |b| b[4..8].fill(0))?;
    bad_desc(dev, desc_zero, |b| b[39] = 1)?;
    Ok(vec![
        Bad {
            what: "unknown opcode 0x1f",
            queue: Queue::Dma0,
            bytes: bad_opcode,
            cause: Cause::BadOpcode,
        },
        Bad {
            what: "opcode 0",
            queue: Queue::Tpc1,
            bytes: raw(0, 0).to_vec(),
            cause: Cause::BadOpcode,
        },
        Bad {
            what: "MSG_PROT",
            queue: Queue::Dma1,
            bytes: msg_prot,
            cause: Cause::NotSupported,
        },
        Bad {
            what: "WREG_BULK of no values",
            queue: Queue::Dma1,
            bytes: raw(OP_WREG_BULK, 0).to_vec(),
            cause: Cause::BadPacket,
        },
        Bad {
            what: "LIN_DMA on a TPC",
            queue: Queue::Tpc0,
            bytes: bytes(&[lin_dma]),
            cause: Cause::NotSupported,
        },
        Bad {
            what: "LOAD_AND_EXE on a DMA engine",
            queue: Queue::Dma0,
            bytes: bytes(&[Packet::nop(), Packet::load_and_exe(desc_kernel)]),
            cause: Cause::NotSupported,
        },
        Bad {
            what: "LIN_DMA to an unmapped host address",
            queue: Queue::Dma1,
            bytes: bytes(&[Packet::lin_dma(d, HL_HOST_VA_BASE + (300 << 30), 64)?]),
            cause: Cause::MmuFault,
        },
        Bad {
            what: "LIN_DMA from outside every region",
            queue: Queue::Dma0,
            bytes: bytes(&[Packet::lin_dma(0x4000_0000_0000, d, 8)?]),
            cause: Cause::BadAddress,
        },
        Bad {
            what: "LIN_DMA across the end of DRAM",
            queue: Queue::Dma1,
            bytes: bytes(&[Packet::lin_dma(d, HL_DRAM_BASE + dram_size - 4, 8)?]),
            cause: Cause::BadAddress,
        },
        Bad {
            what: "LIN_DMA cut short by the end of the job",
            queue: Queue::Dma0,
            bytes: truncated,
            cause: Cause::BadPacket,
        },
        Bad {
            what: "NOP with a reserved ctl bit",
            queue: Queue::Tpc0,
            bytes: raw(OP_NOP, 1).to_vec(),
            cause: Cause::BadPacket,
        },
        Bad {
            what: "LIN_DMA with a reserved ctl bit",
            queue: Queue::Dma1,
            bytes: {
                let mut b = lin_dma.as_bytes().to_vec();
                b[4..8].copy_from_slice(&(u32::from(OP_LIN_DMA) << 24 | 1 << 7).to_le_bytes());
                b
            },
            cause: Cause::BadPacket,
        },
        Bad {
            what: "kernel 9",
            queue: Queue::Tpc1,
            bytes: bytes(&[Packet::load_and_exe(desc_kernel)]),
            cause: Cause::BadKernel,
        },
        Bad {
            what: "kernel of 0 elements",
            queue: Queue::Tpc0,
            bytes: bytes(&[Packet::nop(), Packet::load_and_exe(desc_count)]),
            cause: Cause::BadKernel,
        },
        Bad {
            what: "kernel descriptor with its zero word set",
            queue: Queue::Tpc1,
            bytes: bytes(&[Packet::load_and_exe(desc_zero)]),
            cause: Cause::BadKernel,
        },
        Bad {
            what: "FENCE on a counter nobody increments",
            queue: Queue::Tpc1,
            bytes: bytes(&[Packet::nop(), Packet::fence(3, 1, 1)?]),
            cause: Cause::FenceTimeout,
        },
    ])
}

pub fn aborts(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("aborts: open", Err(e)),
    };
    let dram = match dev.device_memory(4 << 20) {
        Ok(d) => d,
        Err(e) => return t.check("aborts: device memory", Err(e.into())),
    };
    let bad = match bad_jobs(&dev, &dram) {
        Ok(b) => b,
        Err(e) => return t.check("aborts: set-up", Err(e)),
    };
    for b in &bad {
        t.check(
            format!(
                "aborts: {} on {}: aborted, {} counted, queue runs on",
                b.what, b.queue, b.cause
            ),
            expect_abort(&dev, b.queue, &b.bytes, b.cause),
        );
    }
}

/// How long the hung submission may run.
const HANG_TIMEOUT: Duration = Duration::from_secs(3);

fn busy(dev: &Device, seq: u64) -> R {
    let now = dev.wait_cs(seq, Duration::ZERO)?;
    let later = dev.wait_cs(seq, Duration::from_millis(200))?;
    ensure!(
        (now, later) == (CsStatus::Busy, CsStatus::Busy),
        "{now}, then {later}"
    );
    Ok(())
}

/// Host memory cannot be unmapped while a submission runs.
fn unmap_busy(dev: &Device, addr: u64) -> R {
    expect_errno(dev.unmap(addr), &[libc::EBUSY])
}

fn others_run(dev: &Device, cb: &CommandBuffer) -> R {
    for q in [Queue::Dma1, Queue::Tpc0, Queue::Tpc1] {
        run_ok(dev, &[cb.job(q)]).map_err(|e| Fail(format!("{q}: {e}")))?;
    }
    Ok(())
}

fn times_out(dev: &Device, seq: u64, start: Instant) -> R {
    let status = dev.wait_cs(seq, Duration::from_secs(30))?;
    let took = start.elapsed();
    ensure!(status == CsStatus::TimedOut, "{status}");
    ensure!(
        took + Duration::from_millis(100) >= HANG_TIMEOUT && took < Duration::from_secs(20),
        "timed out after {took:?}"
    );
    Ok(())
}

fn runs_again(dev: &Device, cb: &CommandBuffer) -> R {
    run_ok(dev, &[cb.job(Queue::Dma0)])?;
    let status = dev.device_status()?;
    ensure!(status == DeviceStatus::Operational, "device {status}");
    Ok(())
}

/// DMA 0's engine hangs (the model's ENGINE_HANG) under a submission with
/// a short timeout of its own.
pub fn hang(t: &mut Tap, env: &Env) {
    // Before the device node: dropped after it, when nothing maps it.
    let mut host = match HostBuffer::new(4096) {
        Ok(h) => h,
        Err(e) => return t.check("hang: host memory", Err(e.into())),
    };
    let (dev, bar) = match (env.open(), env.bar2()) {
        (Ok(d), Ok(b)) => (d, b),
        (d, b) => return t.check("hang: open and map BAR2", d.map(drop).and(b.map(drop))),
    };
    let cb = match cb_of(&dev, &[Packet::nop()]) {
        Ok(cb) => cb,
        Err(e) => return t.check("hang: command buffer", Err(e)),
    };
    // SAFETY: `host` outlives the mapping: it is unmapped below, or the
    // device node, which unmaps everything, closes first.
    let host_addr = match unsafe { dev.map_host_ptr(host.as_mut_ptr(), 4096) } {
        Ok(a) => a,
        Err(e) => return t.check("hang: map host memory", Err(e.into())),
    };
    {
        let _hang = EngineHang::new(bar, 1 << Queue::Dma0.qman());
        let start = Instant::now();
        let seq = match dev.submit_timeout(&[cb.job(Queue::Dma0)], HANG_TIMEOUT) {
            Ok(seq) => seq,
            Err(e) => return t.check("hang: submit", Err(e.into())),
        };
        t.check(
            "hang: a hung submission is busy (WAIT_CS of 0 and of 200 ms)",
            busy(&dev, seq),
        );
        t.check(
            "hang: unmapping host memory meanwhile fails with EBUSY",
            unmap_busy(&dev, host_addr),
        );
        t.check(
            "hang: the other queues run meanwhile",
            others_run(&dev, &cb),
        );
        t.check(
            format!("hang: the submission times out after {HANG_TIMEOUT:?}"),
            times_out(&dev, seq, start),
        );
    }
    t.check(
        "hang: with the fault cleared the queue runs again, host memory unmaps",
        runs_again(&dev, &cb).and_then(|()| Ok(dev.unmap(host_addr)?)),
    );
}
