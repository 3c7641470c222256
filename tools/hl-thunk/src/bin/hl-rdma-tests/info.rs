// SPDX-License-Identifier: GPL-2.0

//! What INFO says about RDMA, and the NIC queues as CS queues: jobs run on
//! them, and what they cannot run fails the job with its cause.

use std::ptr;

use hlsim_regs::CAPS_RDMA;
use hlsim_regs::identity::{CAPS, RDMA_CONNS, RDMA_CQS};
use hlthunk::uapi::{
    GAUDI_QUEUE_ID_CPU_PQ, GAUDI_QUEUE_ID_NIC_9_3, GAUDI_QUEUE_ID_SIZE, HL_DRAM_BASE, HL_IOCTL_CS,
    hl_cs_args, hl_cs_chunk, hl_cs_in,
};
use hlthunk::{Cause, Device, NicOp, Packet, Queue};

use crate::Env;
use crate::util::{
    Fail, R, Tap, cb_of, ensure, expect_abort, expect_ioctl_errno, raw_ioctl, run_packets,
};

/// INFO MAC_ADDR on both nodes of device `d`: the tests' port among the
/// ports, with the model's address; the model has RDMA.
fn identity(env: &Env, d: usize) -> R {
    let macs = env.open(d)?.mac_addrs()?;
    let on_control = Device::open_control(env.index[d])?.mac_addrs()?;
    ensure!(
        macs == on_control,
        "the nodes differ: {macs:?}, {on_control:?}"
    );
    let bar = &env.bar2[d];
    ensure!(bar.read(CAPS) & CAPS_RDMA != 0, "the model has no RDMA");
    ensure!(
        bar.read(RDMA_CONNS) != 0 && bar.read(RDMA_CQS) != 0,
        "the model has no RDMA connections or CQs"
    );
    let port = env.port;
    let mac = bar.mac(port as usize);
    ensure!(
        macs.ports.contains(&(port, mac)),
        "port {port} ({mac:x?}) not in MAC_ADDR {macs:x?}"
    );
    Ok(())
}

pub fn info(t: &mut Tap, env: &Env) {
    for d in 0..2 {
        t.check(
            format!(
                "info: device {d}: MAC_ADDR has the port with the model's address, on both nodes"
            ),
            identity(env, d),
        );
    }
}

/// A NOP job on the NIC queue of every port.
fn nop_everywhere(dev: &Device) -> R {
    let mask = dev.mac_addrs()?.port_mask;
    for port in (0..32).filter(|p| mask & 1 << p != 0) {
        run_packets(dev, Queue::Nic(port), &[Packet::nop()])
            .map_err(|e| Fail(format!("port {port}: {e}")))?;
    }
    Ok(())
}

fn bad_jobs(dev: &Device, env: &Env) -> R {
    let port = env.port;
    let hw = dev.hw_ip_info()?;
    let (conns, cqs) = (env.bar2[0].read(RDMA_CONNS), env.bar2[0].read(RDMA_CQS));
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
        ),
        (
            "LOAD_AND_EXE on a NIC queue",
            nic,
            cat(&[&nop, &Packet::load_and_exe(mem.addr())]),
            Cause::NotSupported,
        ),
        (
            "NIC_WRITE on dma0",
            Queue::Dma0,
            cat(&[&good]),
            Cause::NotSupported,
        ),
        (
            "NIC_WRITE on tpc1",
            Queue::Tpc1,
            cat(&[&good]),
            Cause::NotSupported,
        ),
        ("a reserved ctl bit", nic, reserved, Cause::BadPacket),
        ("conn[31:24] not 0", nic, high_conn, Cause::BadPacket),
        (
            "a connection past nic_conns_per_port",
            nic,
            cat(&[&write(&NicOp::new(conns, 0), mem.addr())?]),
            Cause::BadPacket,
        ),
        (
            "a CQ past nic_cqs_per_port",
            nic,
            cat(&[&nop, &nop, &write(&NicOp::new(0, cqs), mem.addr())?]),
            Cause::BadPacket,
        ),
        (
            "a source outside device memory",
            nic,
            cat(&[&write(&NicOp::new(0, 0), HL_DRAM_BASE + hw.dram_size)?]),
            Cause::BadAddress,
        ),
    ];
    for (what, queue, bytes, cause) in cases {
        expect_abort(dev, queue, &bytes, cause).map_err(|e| Fail(format!("{what}: {e}")))?;
    }
    Ok(())
}

/// GAUDI queue ids the device has no queue for: EINVAL.
fn bad_indices(dev: &Device) -> R {
    let cb = cb_of(dev, &[Packet::nop()])?;
    for index in [
        GAUDI_QUEUE_ID_CPU_PQ,
        GAUDI_QUEUE_ID_NIC_9_3 + 1,
        GAUDI_QUEUE_ID_SIZE,
        u32::MAX,
    ] {
        let mut chunk = hl_cs_chunk {
            queue_index: index,
            ..Default::default()
        };
        chunk.__bindgen_anon_1.cb_handle = cb.handle();
        chunk.__bindgen_anon_2.cb_size = 8;
        let mut cs = hl_cs_in {
            num_chunks_execute: 1,
            ..Default::default()
        };
        cs.__bindgen_anon_1.__bindgen_anon_1.chunks_execute = ptr::from_ref(&chunk) as u64;
        let mut args = hl_cs_args { in_: cs };
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
        "queues: compute packets on a NIC queue, NIC packets on compute queues, bad NIC fields: the job aborts, its cause counted",
        bad_jobs(&dev, env),
    );
    t.check(
        "queues: GAUDI queue ids 8 (CPU), 113 (past the last) and 2^32-1: EINVAL",
        bad_indices(&dev),
    );
}
