// SPDX-License-Identifier: GPL-2.0

//! Connections and CQs belong to the compute context that allocated them:
//! no other context reaches them, and closing the context tears them down,
//! even in the middle of a transfer, leaving both devices usable.

use std::time::{Duration, Instant};

use hlthunk::CqeOpcode::Write;
use hlthunk::CqeStatus::{Ok as Done, RemoteAccess};
use hlthunk::{Device, NicOp, Packet, Peer, Queue};

use crate::Env;
use crate::link::{Pair, SENTINEL, WAIT, fill_sentinel, ip, random, window};
use crate::ports::{PortCtl, conn_valid};
use crate::util::{
    Fail, R, Rng, Tap, download, ensure, expect_errno, poll, run_packets, same_bytes, upload,
};

const EINVAL: &[i32] = &[libc::EINVAL];
const MIB: usize = 1 << 20;

/// Device memory allocated without a guard, for a context to leave behind
/// when it closes: the DRAM at its base address.
fn leave_allocated(dev: &Device, size: u64) -> R<u64> {
    dev.alloc(size)?;
    Ok(dev.hw_ip_info()?.dram_base)
}

/// Checks that connection `conn` of device `d`'s port has neither context
/// valid in the model.
fn reset_in_model(env: &Env, d: usize, conn: u32) -> R {
    let valid = conn_valid(&env.bar2[d], env.port, conn);
    ensure!(
        valid == (false, false),
        "device {d} connection {conn}: requester, responder valid: {valid:?}"
    );
    Ok(())
}

/// Opens device `d` again once the closed context has let it go.
fn reopen(env: &Env, d: usize) -> R<Device> {
    let mut dev = None;
    poll(Duration::from_secs(30), || {
        match Device::open(env.index[d]) {
            Ok(opened) => dev = Some(opened),
            // Still held, or its closed context still being released.
            Err(e) if e.errno() == libc::EBUSY || e.errno() == libc::EAGAIN => {}
            Err(e) => return Err(e.into()),
        }
        Ok(dev.is_some())
    })?;
    dev.ok_or_else(|| Fail(format!("device {d} is still busy after 30 s")))
}

/// A first context on device 0 allocates two connections, a CQ and a
/// window, and sets its first connection up both ways with one of device
/// 1's; then it closes without undoing anything. Device 1's WRITEs to it
/// are refused, the model shows the connections reset, and the next
/// context gets EINVAL for each of the old numbers, which are free again.
fn closed_ids(env: &Env) -> R {
    let port = env.port;
    let dev1 = env.open(1)?;
    let src1 = dev1.device_memory(4096)?;
    let mut cq1 = dev1.completion_queue(port, 8)?;
    let c1 = dev1.connection(port)?;
    let (conns, cq, win) = {
        let dev0 = env.open(0)?;
        expect_errno(Device::open(env.index[0]), &[libc::EBUSY])
            .map_err(|e| Fail(format!("a second open of device 0: {e}")))?;
        let win = leave_allocated(&dev0, 4096)?;
        let conns = [dev0.alloc_conn(port)?, dev0.alloc_conn(port)?];
        let cq = dev0.cq_create(port, 8)?.handle;
        let peer1 = Peer::of(&dev1, port, c1.id(), ip(port, 1))?;
        dev0.set_responder_conn_ctx(port, conns[0], &peer1, win, 4096)?;
        dev0.set_requester_conn_ctx(port, conns[0], &peer1)?;
        c1.set_requester(&Peer::of(&dev0, port, conns[0], ip(port, 0))?)?;
        let write = Packet::nic_write(&NicOp::new(c1.id(), cq1.id()), src1.addr(), win, 64)?;
        run_packets(&dev1, Queue::Nic(port), &[write])?;
        let e = cq1.next(WAIT)?;
        ensure!(e.status == Done, "before the close: {e}");
        (conns, cq, win)
    };

    for conn in conns {
        reset_in_model(env, 0, conn)?;
    }
    let write = Packet::nic_write(&NicOp::new(c1.id(), cq1.id()), src1.addr(), win, 64)?;
    run_packets(&dev1, Queue::Nic(port), &[write])?;
    let e = cq1.next(WAIT)?;
    ensure!(
        e.opcode == Write && e.status == RemoteAccess,
        "a WRITE to the closed context's connection: {e}"
    );

    let dev0 = reopen(env, 0)?;
    let peer1 = Peer::of(&dev1, port, c1.id(), ip(port, 1))?;
    let refused = [
        (
            "DESTROY_CONN",
            expect_errno(dev0.destroy_conn(port, conns[0]), EINVAL),
        ),
        (
            "SET_REQ_CONN_CTX",
            expect_errno(dev0.set_requester_conn_ctx(port, conns[1], &peer1), EINVAL),
        ),
        (
            "SET_RES_CONN_CTX",
            expect_errno(
                dev0.set_responder_conn_ctx(port, conns[1], &peer1, 0, 0),
                EINVAL,
            ),
        ),
        (
            "USER_WQ_SET",
            expect_errno(dev0.set_user_wq(port, conns[1], 2), EINVAL),
        ),
        (
            "USER_WQ_UNSET",
            expect_errno(dev0.unset_user_wq(port, conns[0]), EINVAL),
        ),
        (
            "CQ_WAIT",
            expect_errno(dev0.cq_wait(cq, 1, Duration::ZERO), EINVAL),
        ),
        (
            "CQ_UPDATE_CONSUMED",
            expect_errno(dev0.cq_update_consumed(cq, 1), EINVAL),
        ),
        ("CQ_DESTROY", expect_errno(dev0.cq_destroy(cq), EINVAL)),
    ];
    for (op, r) in refused {
        r.map_err(|e| Fail(format!("{op} on the closed context's number: {e}")))?;
    }
    let first = dev0.alloc_conn(port)?;
    ensure!(
        first == conns[0].min(conns[1]),
        "ALLOC_CONN gave {first}, not the lowest freed {}",
        conns[0].min(conns[1])
    );
    let new_cq = dev0.cq_create(port, 8)?.handle;
    ensure!(
        new_cq == cq,
        "CQ_CREATE gave handle {new_cq:#x}, not the freed {cq:#x}"
    );
    Ok(())
}

/// The responder's first and last bytes, which a WRITE in progress has
/// reached and not yet reached.
fn progress(dev: &Device, dst: u64, len: usize) -> R<(bool, bool)> {
    let first = download(dev, dst, 64)?;
    let last = download(dev, dst + (len - 64) as u64, 64)?;
    Ok((
        first.iter().any(|&b| b != SENTINEL),
        last.iter().any(|&b| b != SENTINEL),
    ))
}

/// A context on device 0 closes while a 64 MiB WRITE (slowed by the
/// model's LINK_RATE) is on its way to device 1: the close returns, and the
/// connection is reset once the WRITE ended; then both devices run transfers
/// and compute jobs.
fn close_mid_transfer(t: &mut Tap, env: &Env, rng: &mut Rng) -> R {
    let (port, len) = (env.port, 64 * MIB);
    {
        let dev1 = env.open(1)?;
        let dst = dev1.device_memory(len as u64)?;
        fill_sentinel(&dev1, dst.addr(), len)?;
        let c1 = dev1.connection(port)?;
        let dev0 = env.open(0)?;
        let src = leave_allocated(&dev0, len as u64)?;
        run_packets(
            &dev0,
            Queue::Dma0,
            &[Packet::memset(src, 0x77, len as u32)?],
        )?;
        let conn = dev0.alloc_conn(port)?;
        let cq = dev0.cq_create(port, 4)?.id;
        c1.set_responder(
            &Peer::of(&dev0, port, conn, ip(port, 0))?,
            dst.addr(),
            len as u64,
        )?;
        dev0.set_requester_conn_ctx(port, conn, &Peer::of(&dev1, port, c1.id(), ip(port, 1))?)?;
        let write = Packet::nic_write(&NicOp::new(conn, cq), src, dst.addr(), len as u32)?;
        let cb = dev0.command_buffer_of(&[write])?;
        let _slow = PortCtl::rate(&env.bar2[0], port, 200);
        dev0.submit_timeout(&[cb.job(Queue::Nic(port))], Duration::from_secs(30))?;
        let started = poll(Duration::from_secs(10), || {
            Ok(progress(&dev1, dst.addr(), len)?.0)
        })?;
        ensure!(started, "the WRITE did not start");
        ensure!(
            !progress(&dev1, dst.addr(), len)?.1,
            "the WRITE was over before the close"
        );
        let start = Instant::now();
        drop(cb);
        drop(dev0);
        t.diag(format!("teardown: the close took {:?}", start.elapsed()));
        // The context is released, and its connection reset, once the WRITE in flight ended
        // (driver.rst, Closing with work in flight).
        let reset = poll(Duration::from_secs(30), || {
            Ok(conn_valid(&env.bar2[0], port, conn) == (false, false))
        })?;
        ensure!(
            reset,
            "device 0 connection {conn}: not reset 30 s after the close"
        );
    }
    for (from, to) in [(0, 1), (1, 0)] {
        let devs = [reopen(env, from)?, reopen(env, to)?];
        let data = random(rng, MIB + 1);
        let src = devs[0].device_memory(data.len() as u64)?;
        let dst = devs[1].device_memory(data.len() as u64)?;
        upload(&devs[0], src.addr(), &data)?;
        let mut p = Pair::new([&devs[0], &devs[1]], port, window(&dst), 0)?;
        p.run(
            0,
            &[Packet::nic_write(
                &p.op(0, 3),
                src.addr(),
                dst.addr(),
                data.len() as u32,
            )?],
        )?;
        p.expect(0, Write, Done, data.len() as u32, 3)?;
        same_bytes(
            &format!("device {from} to device {to}"),
            &download(&devs[1], dst.addr(), data.len())?,
            &data,
        )?;
        for (d, dev) in devs.iter().enumerate() {
            run_packets(dev, Queue::Tpc0, &[Packet::nop()])
                .map_err(|e| Fail(format!("a TPC job on device {d}: {e}")))?;
        }
    }
    Ok(())
}

pub fn contexts(t: &mut Tap, env: &Env) {
    t.check(
        "contexts: a second open is EBUSY; a closed context's connections are reset, its numbers EINVAL for the next and free again",
        closed_ids(env),
    );
}

pub fn teardown(t: &mut Tap, env: &Env) {
    let mut rng = Rng::new(0x7ea4);
    let r = close_mid_transfer(t, env, &mut rng);
    t.check(
        "teardown: a context closed in the middle of a 64 MiB WRITE; then both devices transfer, both ways, and compute",
        r,
    );
}
