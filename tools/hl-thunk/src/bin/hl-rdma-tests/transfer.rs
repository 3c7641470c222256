// SPDX-License-Identifier: GPL-2.0

//! Data that crosses the link: NIC_WRITE into the responder's window, and
//! NIC_SEND into the buffers NIC_RECV posted, byte for byte, with the
//! bytes around the destination untouched and a CQE per operation.

use hlthunk::CqeOpcode::{Recv, Send, Write};
use hlthunk::CqeStatus::{Ok as Done, RemoteAccess, Rnr, RqFull};
use hlthunk::{Device, Packet};

use crate::Env;
use crate::link::{Pair, SENTINEL, fill_sentinel, random, untouched, window};
use crate::util::{R, Rng, Tap, download, ensure, same_bytes, upload};

/// Bytes of the window on each side of the destination, to catch a write
/// past it.
const GUARD: usize = 4096;
const MIB: usize = 1 << 20;

/// One WRITE of `size` bytes from offset `src_off` of a block of `from`'s
/// memory to offset `GUARD + dst_off` of `to`'s window, alone in its job.
fn write_once(
    devs: [&Device; 2],
    port: u32,
    rng: &mut Rng,
    size: usize,
    (src_off, dst_off): (usize, usize),
) -> R {
    let [from, to] = devs;
    let data = random(rng, size);
    let src = from.device_memory((src_off + size) as u64)?;
    let win = (GUARD + dst_off + size + GUARD).next_multiple_of(4096);
    let dst = to.device_memory(win as u64)?;
    upload(from, src.addr() + src_off as u64, &data)?;
    fill_sentinel(to, dst.addr(), win)?;
    let mut p = Pair::new(devs, port, (dst.addr(), win as u64), 0)?;
    let at = GUARD + dst_off;
    let write = Packet::nic_write(
        &p.op(0, size as u32),
        src.addr() + src_off as u64,
        dst.addr() + at as u64,
        size as u32,
    )?;
    p.run(0, &[write])?;
    p.expect(0, Write, Done, size as u32, size as u32)?;
    p.no_cqe(1)?;
    let got = download(to, dst.addr(), win)?;
    same_bytes("destination", &got[at..at + size], &data)?;
    ensure!(
        got[..at]
            .iter()
            .chain(&got[at + size..])
            .all(|&b| b == SENTINEL),
        "bytes around the destination changed"
    );
    Ok(())
}

/// Eight WRITEs in one job, each to the next slice of the window: eight
/// CQEs in order, every slice exact.
fn writes_in_one_job(devs: [&Device; 2], port: u32, rng: &mut Rng) -> R {
    let [from, to] = devs;
    let (n, size) = (8, 65537);
    let data = random(rng, n * size);
    let src = from.device_memory(data.len() as u64)?;
    let dst = to.device_memory(data.len() as u64)?;
    upload(from, src.addr(), &data)?;
    fill_sentinel(to, dst.addr(), data.len())?;
    let win = (data.len() as u64).next_multiple_of(4096);
    let mut p = Pair::new(devs, port, (dst.addr(), win), 0)?;
    // Backwards, so that an operation run out of order shows in the CQEs.
    let writes = (0..n)
        .rev()
        .map(|i| {
            let off = (i * size) as u64;
            Packet::nic_write(
                &p.op(0, i as u32),
                src.addr() + off,
                dst.addr() + off,
                size as u32,
            )
        })
        .collect::<hlthunk::Result<Vec<_>>>()?;
    p.run(0, &writes)?;
    for i in (0..n).rev() {
        p.expect(0, Write, Done, size as u32, i as u32)?;
    }
    same_bytes("destination", &download(to, dst.addr(), data.len())?, &data)
}

pub fn write(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("write: open both devices", Err(e)),
    };
    let [d0, d1] = &devs;
    let mut rng = Rng::new(0x3e17e);
    let cases = [
        (1, (0, 0)),
        (4095, (5, 3)),
        (4096, (0, 0)),
        (65535, (0, 1)),
        (65536, (0, 0)),
        (65537, (7, 4093)),
        (MIB + 13, (1, 2)),
        (16 * MIB, (0, 0)),
        (64 * MIB, (3, 5)),
    ];
    for (size, offsets) in cases {
        t.check(
            format!(
                "write: {size} bytes, device 0 to device 1, offsets {offsets:?}: exact, nothing around it touched"
            ),
            write_once([d0, d1], env.port, &mut rng, size, offsets),
        );
    }
    t.check(
        format!("write: {} bytes, device 1 to device 0: exact", 4 * MIB + 1),
        write_once([d1, d0], env.port, &mut rng, 4 * MIB + 1, (0, 0)),
    );
    t.check(
        "write: eight WRITEs in one job: their CQEs in order, all data exact",
        writes_in_one_job([d0, d1], env.port, &mut rng),
    );
}

/// Device 1 posts a buffer per message, each `slack` bytes longer than the
/// message, then device 0 sends the messages in one job: each buffer holds
/// its message and its slack untouched; RECV CQEs at device 1 (with the
/// message's length and the RECV's wr_id) and SEND CQEs at device 0.
fn send_recv(devs: [&Device; 2], port: u32, rng: &mut Rng, sizes: &[usize], slack: usize) -> R {
    let [from, to] = devs;
    let msgs: Vec<Vec<u8>> = sizes.iter().map(|&s| random(rng, s)).collect();
    let total: usize = sizes.iter().sum();
    let src = from.device_memory(total as u64)?;
    let mut at = 0;
    for m in &msgs {
        upload(from, src.addr() + at as u64, m)?;
        at += m.len();
    }
    let bufs_len = total + slack * sizes.len();
    let bufs = to.device_memory(bufs_len as u64)?;
    fill_sentinel(to, bufs.addr(), bufs_len)?;
    let wq = sizes.len().next_power_of_two().max(2) as u32;
    let mut p = Pair::new(devs, port, window(&bufs), wq)?;

    let (mut recvs, mut sends, mut src_at, mut buf_at) = (vec![], vec![], 0, 0);
    for (i, &len) in sizes.iter().enumerate() {
        let buf_len = (len + slack) as u32;
        recvs.push(Packet::nic_recv(
            &p.op(1, 100 + i as u32),
            bufs.addr() + buf_at,
            buf_len,
        )?);
        sends.push(Packet::nic_send(
            &p.op(0, i as u32),
            src.addr() + src_at,
            len as u32,
        )?);
        src_at += len as u64;
        buf_at += u64::from(buf_len);
    }
    p.run(1, &recvs)?;
    p.no_cqe(1)?;
    p.run(0, &sends)?;
    for (i, &len) in sizes.iter().enumerate() {
        p.expect(0, Send, Done, len as u32, i as u32)?;
        p.expect(1, Recv, Done, len as u32, 100 + i as u32)?;
    }
    let got = download(to, bufs.addr(), bufs_len)?;
    let mut at = 0;
    for (i, m) in msgs.iter().enumerate() {
        same_bytes(&format!("buffer {i}"), &got[at..at + m.len()], m)?;
        at += m.len();
        ensure!(
            got[at..at + slack].iter().all(|&b| b == SENTINEL),
            "buffer {i}: its bytes past the message changed"
        );
        at += slack;
    }
    Ok(())
}

/// A SEND longer than the posted buffer: REMOTE_ACCESS with the bytes that
/// arrived (a prefix), the buffer still posted; the next SEND that fits
/// fills it and completes its RECV.
fn longer_than_buffer(devs: [&Device; 2], port: u32, rng: &mut Rng) -> R {
    let [from, to] = devs;
    let (buf_len, long, short) = (8192, 3 * 65536, 5000);
    let data = random(rng, long);
    let src = from.device_memory(long as u64)?;
    let buf = to.device_memory(buf_len as u64)?;
    upload(from, src.addr(), &data)?;
    fill_sentinel(to, buf.addr(), buf_len)?;
    let mut p = Pair::new(devs, port, window(&buf), 2)?;
    p.run(
        1,
        &[Packet::nic_recv(&p.op(1, 7), buf.addr(), buf_len as u32)?],
    )?;
    p.run(
        0,
        &[Packet::nic_send(&p.op(0, 1), src.addr(), long as u32)?],
    )?;
    let cqe = p.cqe(0)?;
    ensure!(
        cqe.opcode == Send && cqe.status == RemoteAccess && cqe.len as usize <= buf_len,
        "CQE {cqe}, expected a SEND with REMOTE_ACCESS"
    );
    p.no_cqe(1)?;
    let got = download(to, buf.addr(), buf_len)?;
    let n = cqe.len as usize;
    same_bytes("the prefix that arrived", &got[..n], &data[..n])?;
    ensure!(
        got[n..].iter().all(|&b| b == SENTINEL),
        "bytes past the prefix changed"
    );

    p.run(
        0,
        &[Packet::nic_send(&p.op(0, 2), src.addr() + 1, short as u32)?],
    )?;
    p.expect(0, Send, Done, short as u32, 2)?;
    p.expect(1, Recv, Done, short as u32, 7)?;
    same_bytes(
        "the buffer after a SEND that fits",
        &download(to, buf.addr(), short)?,
        &data[1..=short],
    )
}

/// Without a buffer posted a SEND fails with RNR and delivers nothing; a
/// responder without a receive queue refuses it (REMOTE_ACCESS).
fn no_buffer(devs: [&Device; 2], port: u32) -> R {
    let src = devs[0].device_memory(4096)?;
    let win = devs[1].device_memory(4096)?;
    let mut p = Pair::new(devs, port, window(&win), 4)?;
    p.run(0, &[Packet::nic_send(&p.op(0, 1), src.addr(), 100)?])?;
    p.expect(0, Send, Rnr, 0, 1)?;
    p.no_cqe(1)?;
    drop(p);
    let mut p = Pair::new(devs, port, window(&win), 0)?;
    p.run(0, &[Packet::nic_send(&p.op(0, 2), src.addr(), 100)?])?;
    p.expect(0, Send, RemoteAccess, 0, 2)?;
    p.no_cqe(1)
}

/// A receive queue of 2 takes two buffers; a third RECV fails with
/// RQ_FULL, and the two posted ones still take messages.
fn receive_queue_full(devs: [&Device; 2], port: u32) -> R {
    let src = devs[0].device_memory(4096)?;
    let buf = devs[1].device_memory(3 * 4096)?;
    fill_sentinel(devs[1], buf.addr(), 3 * 4096)?;
    let mut p = Pair::new(devs, port, window(&buf), 2)?;
    let recvs = (0..3)
        .map(|i| Packet::nic_recv(&p.op(1, i), buf.addr() + 4096 * u64::from(i), 4096))
        .collect::<hlthunk::Result<Vec<_>>>()?;
    p.run(1, &recvs)?;
    p.expect(1, Recv, RqFull, 0, 2)?;
    let sends = [
        Packet::nic_send(&p.op(0, 10), src.addr(), 64)?,
        Packet::nic_send(&p.op(0, 11), src.addr(), 64)?,
    ];
    p.run(0, &sends)?;
    p.expect(1, Recv, Done, 64, 0)?;
    p.expect(1, Recv, Done, 64, 1)?;
    untouched("the third buffer", devs[1], buf.addr() + 2 * 4096, 4096)
}

pub fn send(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("send: open both devices", Err(e)),
    };
    let [d0, d1] = &devs;
    let mut rng = Rng::new(0x5e4d);
    let port = env.port;
    let cases: [(&[usize], usize); 4] = [
        (&[1, 4097, 65536, 65537, MIB + 5], 0),
        (&[3, 100, 65536 + 7], 4096),
        (&[16 * MIB], 13),
        (&[64 * MIB], 0),
    ];
    for (sizes, slack) in cases {
        t.check(
            format!(
                "send: messages of {sizes:?} bytes into buffers {slack} bytes longer: exact, RECV CQEs at the receiver"
            ),
            send_recv([d0, d1], port, &mut rng, sizes, slack),
        );
    }
    t.check(
        "send: device 1 to device 0, 1 MiB: exact",
        send_recv([d1, d0], port, &mut rng, &[MIB], 1),
    );
    t.check(
        "send: longer than the buffer: REMOTE_ACCESS, a prefix at most, the buffer stays posted",
        longer_than_buffer([d0, d1], port, &mut rng),
    );
    t.check(
        "send: no buffer posted: RNR; no receive queue: REMOTE_ACCESS",
        no_buffer([d0, d1], port),
    );
    t.check(
        "send: a third RECV on a receive queue of 2: RQ_FULL",
        receive_queue_full([d0, d1], port),
    );
}
