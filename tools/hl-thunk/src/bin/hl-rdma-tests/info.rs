// SPDX-License-Identifier: GPL-2.0

//! What INFO says about RDMA, and the NIC queues as CS queues: jobs run on
//! them, and what they cannot run fails the job with its cause.

use std::ptr;

use hlsim_regs::CAPS_RDMA;
use hlsim_regs::identity::{CAPS, RDMA_CONNS, RDMA_CQS};
use hlthunk::uapi::{HL_DRAM_BASE, HL_IOCTL_CS, HL_QUEUE_NIC_0, hl_cs_args, hl_cs_chunk, hl_cs_in};
use hlthunk::{Cause, CsError, CsStatus, Device, NicOp, Packet, Queue};

use crate::Env;
use crate::util::{Fail, R, Tap, cb_of, ensure, expect_ioctl_errno, raw_ioctl, run, run_packets};

/// INFO on both nodes of device `d`: the RDMA counts the model has, and
/// the tests' port among the ports.
fn identity(env: &Env, d: usize) -> R {
    let hw = env.open(d)?.hw_ip_info()?;
    let on_control = Device::open_control(env.index[d])?.hw_ip_info()?;
    ensure!(hw == on_control, "the nodes differ: {hw:?}, {on_control:?}");
    let bar = &env.bar2[d];
    ensure!(bar.read(CAPS) & CAPS_RDMA != 0, "the model has no RDMA");
    let want = (bar.read(RDMA_CONNS), bar.read(RDMA_CQS));
    let got = (hw.nic_conns_per_port, hw.nic_cqs_per_port);
    ensure!(
        got == want && got.0 != 0 && got.1 != 0,
        "nic_conns_per_port, nic_cqs_per_port {got:?}, the model's {want:?}"
    );
    ensure!(
        hw.port_mask & 1 << env.port != 0,
        "port {} not in port_mask {:#x}",
        env.port,
        hw.port_mask
    );
    Ok(())
}

pub fn info(t: &mut Tap, env: &Env) {
    for d in 0..2 {
        t.check(
            format!(
                "info: device {d}: nic_conns_per_port and nic_cqs_per_port as the model's, on both nodes"
            ),
            identity(env, d),
        );
    }
}

/// A NOP job on the NIC queue of every port.
fn nop_everywhere(dev: &Device) -> R {
    let mask = dev.hw_ip_info()?.port_mask;
    for port in (0..32).filter(|p| mask & 1 << p != 0) {
        run_packets(dev, Queue::Nic(port), &[Packet::nop()])
            .map_err(|e| Fail(format!("port {port}: {e}")))?;
    }
    Ok(())
}

/// The job of `bytes` on `queue` fails with `cause` at `offset`, and the
/// queue runs the next job.
fn aborts(dev: &Device, queue: Queue, bytes: &[u8], cause: Cause, offset: u32) -> R {
    let mut cb = dev.command_buffer(bytes.len() as u32)?;
    cb.push_bytes(bytes)?;
    let status = run(dev, &[cb.job(queue)])?;
    let want = CsStatus::Aborted(CsError {
        cause,
        queue: queue.index(),
        offset,
    });
    ensure!(status == want, "{status}, expected {want}");
    run_packets(dev, queue, &[Packet::nop()]).map_err(|e| Fail(format!("next job: {e}")))
}

fn bad_jobs(dev: &Device, port: u32) -> R {
    let hw = dev.hw_ip_info()?;
    let mem = dev.device_memory(4096)?;
    let nic = Queue::Nic(port);
    let write = |op: &NicOp, src| Packet::nic_write(op, src, mem.addr(), 16);
    let good = write(&NicOp::new(0, 0), mem.addr())?;
    let nop = Packet::nop();
    let cat = |p: &[&Packet]| {
        p.iter()
            .flat_map(|p| p.as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    let mut reserved = cat(&[&nop, &good]);
    reserved[13] |= 0x10;
    let mut high_conn = cat(&[&good]);
    high_conn[11] = 1;
    let cases = [
        (
            "LIN_DMA on a NIC queue",
            nic,
            cat(&[&Packet::lin_dma(mem.addr(), mem.addr() + 64, 8)?]),
            Cause::NotSupported,
            0,
        ),
        (
            "LOAD_AND_EXE on a NIC queue",
            nic,
            cat(&[&nop, &Packet::load_and_exe(mem.addr())]),
            Cause::NotSupported,
            8,
        ),
        (
            "NIC_WRITE on dma0",
            Queue::Dma0,
            cat(&[&good]),
            Cause::NotSupported,
            0,
        ),
        (
            "NIC_WRITE on tpc1",
            Queue::Tpc1,
            cat(&[&good]),
            Cause::NotSupported,
            0,
        ),
        ("a reserved ctl bit", nic, reserved, Cause::BadPacket, 8),
        ("conn[31:24] not 0", nic, high_conn, Cause::BadPacket, 0),
        (
            "a connection past nic_conns_per_port",
            nic,
            cat(&[&write(&NicOp::new(hw.nic_conns_per_port, 0), mem.addr())?]),
            Cause::BadPacket,
            0,
        ),
        (
            "a CQ past nic_cqs_per_port",
            nic,
            cat(&[
                &nop,
                &nop,
                &write(&NicOp::new(0, hw.nic_cqs_per_port), mem.addr())?,
            ]),
            Cause::BadPacket,
            16,
        ),
        (
            "a source outside device memory",
            nic,
            cat(&[&write(&NicOp::new(0, 0), HL_DRAM_BASE + hw.dram_size)?]),
            Cause::BadAddress,
            0,
        ),
    ];
    for (what, queue, bytes, cause, offset) in cases {
        aborts(dev, queue, &bytes, cause, offset).map_err(|e| Fail(format!("{what}: {e}")))?;
    }
    Ok(())
}

/// Queue indices that are neither a compute nor a NIC queue: EINVAL.
fn bad_indices(dev: &Device) -> R {
    let cb = cb_of(dev, &[Packet::nop()])?;
    for index in [4, HL_QUEUE_NIC_0 - 1, HL_QUEUE_NIC_0 + 10, u32::MAX] {
        let chunk = hl_cs_chunk {
            cb_handle: cb.handle(),
            queue_index: index,
            cb_size: 8,
            ..Default::default()
        };
        let mut args = hl_cs_args {
            in_: hl_cs_in {
                chunks_execute: ptr::from_ref(&chunk) as u64,
                num_chunks_execute: 1,
                ..Default::default()
            },
        };
        expect_ioctl_errno(
            raw_ioctl(dev, HL_IOCTL_CS, ptr::from_mut(&mut args).cast()),
            &[libc::EINVAL],
        )
        .map_err(|e| Fail(format!("queue {index}: {e}")))?;
    }
    Ok(())
}

pub fn queues(t: &mut Tap, env: &Env) {
    let dev = match env.open(0) {
        Ok(d) => d,
        Err(e) => return t.check("queues: open", Err(e)),
    };
    t.check(
        "queues: a NOP job completes on the NIC queue of every port",
        nop_everywhere(&dev),
    );
    t.check(
        "queues: compute packets on a NIC queue, NIC packets on compute queues, bad NIC fields: the job aborts with its cause and offset",
        bad_jobs(&dev, env.port),
    );
    t.check(
        "queues: queue indices 4, 15, 26 and 2^32-1: EINVAL",
        bad_indices(&dev),
    );
}
