// SPDX-License-Identifier: GPL-2.0

//! NIC operations signal compute jobs: a successful WRITE or RECV
//! increments its SOB, on which a job on another queue fences; a failed
//! one increments nothing, so the fenced job fails rather than run early.

use std::time::Duration;

use hlthunk::CqeOpcode::{Recv, Send, Write};
use hlthunk::CqeStatus::{BadConn, Ok as Done};
use hlthunk::sync::{arm_monitor, wait_for_sob};
use hlthunk::{Cause, CsStatus, Device, HostBuffer, NicOp, Packet, Queue};

use crate::Env;
use crate::link::{Pair, fill_sentinel, random, window};
use crate::ports::{PortCtl, sob_value};
use crate::util::{
    R, Rng, Tap, all_bytes, cb_of, download, ensure, run, run_packets, same_bytes, upload,
};

const SOB: u32 = 900;
const MON: u32 = 200;
const COUNTER: u32 = 1;
/// The link's rate while a transfer should outlast an unfenced job.
const SLOW_MBPS: u32 = 1000;
const LEN: usize = 16 << 20;

fn reset_sob(dev: &Device) -> R {
    run_packets(dev, Queue::Dma0, &[Packet::msg_short(SOB, 0)?])
}

/// Device 0's DMA 0 waits for the WRITE that reads its memory, then zeroes
/// that memory: the responder gets the data, not zeros.
fn write_signals(env: &Env, devs: [&Device; 2], rng: &mut Rng) -> R {
    let data = random(rng, LEN);
    let src = devs[0].device_memory(LEN as u64)?;
    let dst = devs[1].device_memory(LEN as u64)?;
    upload(devs[0], src.addr(), &data)?;
    reset_sob(devs[0])?;
    let mut p = Pair::new(devs, env.port, window(&dst), 0)?;
    let write = NicOp {
        sob: Some(SOB),
        ..p.op(0, 5)
    };
    let nic = cb_of(
        devs[0],
        &[Packet::nic_write(
            &write,
            src.addr(),
            dst.addr(),
            LEN as u32,
        )?],
    )?;
    let mut clobber = wait_for_sob(Queue::Dma0, MON, SOB, 1, COUNTER)?.to_vec();
    clobber.push(Packet::memset(src.addr(), 0, LEN as u32)?);
    let clobber = cb_of(devs[0], &clobber)?;
    {
        let _slow = PortCtl::rate(&env.bar2[0], env.port, SLOW_MBPS);
        let status = run(
            devs[0],
            &[clobber.job(Queue::Dma0), nic.job(Queue::Nic(env.port))],
        )?;
        ensure!(status == CsStatus::Completed, "submission {status}");
    }
    p.expect(0, Write, Done, LEN as u32, 5)?;
    let v = sob_value(&env.bar2[0], SOB);
    ensure!(v == 1, "SOB {SOB} is {v}, not 1");
    same_bytes(
        "the responder's copy",
        &download(devs[1], dst.addr(), LEN)?,
        &data,
    )?;
    all_bytes(
        "the source after DMA 0",
        &download(devs[0], src.addr(), LEN)?,
        0,
    )?;
    reset_sob(devs[0])
}

/// Device 1's DMA 1 waits for the RECV and copies its buffer to the host:
/// the copy holds the whole message.
fn recv_signals(env: &Env, devs: [&Device; 2], rng: &mut Rng) -> R {
    let data = random(rng, LEN);
    let src = devs[0].device_memory(LEN as u64)?;
    let buf = devs[1].device_memory(LEN as u64)?;
    upload(devs[0], src.addr(), &data)?;
    fill_sentinel(devs[1], buf.addr(), LEN)?;
    reset_sob(devs[1])?;
    let mut host = HostBuffer::new(LEN)?;
    let host = devs[1].map_host(&mut host)?;
    let mut p = Pair::new(devs, env.port, window(&buf), 2)?;
    let recv = NicOp {
        sob: Some(SOB),
        ..p.op(1, 6)
    };
    let recv = cb_of(devs[1], &[Packet::nic_recv(&recv, buf.addr(), LEN as u32)?])?;
    let mut copy = wait_for_sob(Queue::Dma1, MON, SOB, 1, COUNTER)?.to_vec();
    copy.push(Packet::lin_dma(buf.addr(), host.device_addr(), LEN as u32)?);
    let copy = cb_of(devs[1], &copy)?;
    let send = cb_of(
        devs[0],
        &[Packet::nic_send(&p.op(0, 7), src.addr(), LEN as u32)?],
    )?;
    {
        let _slow = PortCtl::rate(&env.bar2[0], env.port, SLOW_MBPS);
        let receiver = devs[1].submit(&[recv.job(Queue::Nic(env.port)), copy.job(Queue::Dma1)])?;
        let status = run(devs[0], &[send.job(Queue::Nic(env.port))])?;
        ensure!(status == CsStatus::Completed, "sender: {status}");
        let status = devs[1].wait_cs(receiver, Duration::from_secs(30))?;
        ensure!(status == CsStatus::Completed, "receiver: {status}");
    }
    p.expect(0, Send, Done, LEN as u32, 7)?;
    p.expect(1, Recv, Done, LEN as u32, 6)?;
    same_bytes("the host copy of the buffer", &host, &data)?;
    reset_sob(devs[1])
}

/// A WRITE that fails (no requester context) increments nothing: the job
/// fenced on it fails with FENCE_TIMEOUT and its DMA never runs.
fn failure_signals_nothing(env: &Env, devs: [&Device; 2]) -> R {
    let target = devs[0].device_memory(4096)?;
    run_packets(
        devs[0],
        Queue::Dma0,
        &[Packet::memset(target.addr(), 0x11, 4096)?],
    )?;
    reset_sob(devs[0])?;
    let mut p = Pair::bare(devs, env.port)?;
    let write = NicOp {
        sob: Some(SOB),
        ..p.op(0, 8)
    };
    let nic = cb_of(
        devs[0],
        &[Packet::nic_write(&write, target.addr(), target.addr(), 64)?],
    )?;
    let mut fenced = wait_for_sob(Queue::Dma0, MON, SOB, 1, COUNTER)?.to_vec();
    let monitor: usize = fenced[..fenced.len() - 1]
        .iter()
        .map(|p| p.as_bytes().len())
        .sum();
    fenced.push(Packet::memset(target.addr(), 0, 4096)?);
    let fenced = cb_of(devs[0], &fenced)?;
    let fences_before = devs[0]
        .hw_events(false)?
        .count(Cause::FenceTimeout.event(Queue::Dma0));
    let status = run(
        devs[0],
        &[fenced.job(Queue::Dma0), nic.job(Queue::Nic(env.port))],
    )?;
    ensure!(status == CsStatus::Aborted, "{status}, expected aborted");
    let fences = devs[0]
        .hw_events(false)?
        .count(Cause::FenceTimeout.event(Queue::Dma0));
    ensure!(
        fences > fences_before,
        "no fence timeout counted (the fence is at offset {monitor})"
    );
    p.expect(0, Write, BadConn, 0, 8)?;
    let v = sob_value(&env.bar2[0], SOB);
    ensure!(v == 0, "SOB {SOB} is {v}, not 0");
    all_bytes(
        "memory the fenced job would clear",
        &download(devs[0], target.addr(), 4096)?,
        0x11,
    )?;
    // The monitor is still armed: a target of 0 fires it at once, into
    // memory nothing reads.
    run_packets(
        devs[0],
        Queue::Dma0,
        &arm_monitor(MON, SOB, 0, target.addr(), 0)?,
    )
}

pub fn sob(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("sob: open both devices", Err(e)),
    };
    let devs = [&devs[0], &devs[1]];
    let mut rng = Rng::new(0x50b);
    t.check(
        "sob: a job fenced on a WRITE's SOB runs after the WRITE read its source",
        write_signals(env, devs, &mut rng),
    );
    t.check(
        "sob: a job fenced on a RECV's SOB at the receiver sees the whole message",
        recv_signals(env, devs, &mut rng),
    );
    t.check(
        "sob: a failed WRITE increments no SOB: the fenced job fails with FENCE_TIMEOUT",
        failure_signals_nothing(env, devs),
    );
}
