// SPDX-License-Identifier: GPL-2.0

//! Completion queues: waiting, poll(2) and epoll on the file, the ring as
//! the user reads it, a full ring counting what it lost, and a destroyed CQ.

use std::os::fd::{AsRawFd, RawFd};
use std::thread;
use std::time::{Duration, Instant};

use hlthunk::CqeOpcode::Write;
use hlthunk::CqeStatus::Ok as Done;
use hlthunk::uapi::HL_NIC_CQE_READY;
use hlthunk::{Cqe, Device, NicOp, Packet, Queue};

use crate::Env;
use crate::link::{Pair, WAIT, fill_sentinel, untouched, window};
use crate::ports::cq_lost;
use crate::util::{R, Tap, download, ensure, expect_errno, poll_in, upload};

/// `n` one-byte WRITEs into the window, to offsets 0 to n - 1, with
/// wr_ids `first` on, completing in CQ `cq` of device 0.
fn writes(p: &Pair, src: u64, dst: u64, cq: u32, first: u32, n: u32) -> R<Vec<Packet>> {
    (0..n)
        .map(|i| {
            let op = NicOp {
                wr_id: first + i,
                ..NicOp::new(p.conns[0].id(), cq)
            };
            Ok(Packet::nic_write(&op, src, dst + u64::from(i), 1)?)
        })
        .collect()
}

/// What the source holds.
const SRC_BYTE: u8 = 0x5a;

/// A wait on an empty CQ lasts its timeout and finds nothing; a wait of
/// 10 s returns as soon as an entry comes.
fn waits(p: &mut Pair, src: u64, dst: u64) -> R {
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let w = p.cqs[0].wait(1, timeout)?;
    let took = start.elapsed();
    ensure!(
        !w.completed && w.count == 0 && w.lost == 0,
        "an empty CQ: {w:?}"
    );
    ensure!(
        took >= timeout,
        "the wait returned after {took:?}, before its timeout"
    );

    let cb = p.devs[0].command_buffer_of(&writes(p, src, dst, p.cqs[0].id(), 0, 1)?)?;
    let seq = p.devs[0].submit(&[cb.job(Queue::Nic(p.port))])?;
    let start = Instant::now();
    let w = p.cqs[0].wait(1, Duration::from_secs(10))?;
    let took = start.elapsed();
    ensure!(w.completed && w.count == 1, "after a WRITE: {w:?}");
    ensure!(took < Duration::from_secs(5), "the wait took {took:?}");
    p.devs[0].wait_cs(seq, WAIT)?;
    p.expect(0, Write, Done, 1, 0)
}

/// An epoll instance watching one file for `EPOLLIN`.
struct Epoll(RawFd);

impl Epoll {
    fn watch(fd: RawFd) -> R<Self> {
        // SAFETY: A plain system call; the descriptor is owned by the result.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        ensure!(
            ep >= 0,
            "epoll_create1: {}",
            std::io::Error::last_os_error()
        );
        let ep = Self(ep);
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 7,
        };
        // SAFETY: `event` is valid for the call; `ep.0` and `fd` are open.
        let rc = unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, fd, &mut event) };
        ensure!(rc == 0, "epoll_ctl: {}", std::io::Error::last_os_error());
        Ok(ep)
    }

    /// The events of the watched file, or 0 if none came within `timeout`.
    fn wait(&self, timeout: Duration) -> R<u32> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `event` has room for the one event asked for.
        let n = unsafe { libc::epoll_wait(self.0, &mut event, 1, timeout.as_millis() as i32) };
        ensure!(n >= 0, "epoll_wait: {}", std::io::Error::last_os_error());
        let (events, data) = (event.events, event.u64);
        ensure!(n == 0 || data == 7, "epoll_wait: unknown data {data}");
        Ok(if n == 0 { 0 } else { events })
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the epoll descriptor this owns.
        unsafe { libc::close(self.0) };
    }
}

/// The file polls readable exactly while a CQ of the context has entries
/// not handed back: a poller asleep before a completion wakes up, and so
/// does an epoll set that watched the file before the CQ existed.
fn polls(p: &Pair, src: u64, dst: u64) -> R {
    let dev = p.devs[0];
    let fd = dev.as_raw_fd();
    let ep = Epoll::watch(fd)?;
    let mut cq = dev.completion_queue(p.port, 4)?;
    let quiet = Duration::from_millis(200);
    ensure!(poll_in(fd, quiet)? == 0, "readable before any completion");
    ensure!(
        ep.wait(Duration::ZERO)? == 0,
        "epoll: readable before any completion"
    );

    let woke = thread::scope(|s| -> R<i16> {
        let poller = s.spawn(|| poll_in(fd, WAIT));
        thread::sleep(quiet);
        p.run(0, &writes(p, src, dst, cq.id(), 0, 1)?)?;
        poller.join().map_err(|_| "the poller panicked")?
    })?;
    ensure!(woke == libc::POLLIN, "the sleeping poller got {woke:#x}");
    let events = ep.wait(WAIT)?;
    ensure!(events == libc::EPOLLIN as u32, "epoll: {events:#x}");

    // Taking the entry is not enough: handing it back is.
    let e = cq.poll().ok_or("the entry is not in the ring")?;
    ensure!(e.wr_id == 0 && e.status == Done, "{e}");
    ensure!(
        poll_in(fd, Duration::ZERO)? == libc::POLLIN,
        "not readable before the hand-back"
    );
    cq.update_consumed()?;
    ensure!(
        poll_in(fd, Duration::ZERO)? == 0,
        "readable after the hand-back"
    );
    ensure!(
        ep.wait(Duration::ZERO)? == 0,
        "epoll: readable after the hand-back"
    );
    Ok(())
}

/// Entries come in ring order, each `READY` until taken and cleared after;
/// the index wraps, handing entries back as it goes.
fn ring_order(p: &Pair, src: u64, dst: u64) -> R {
    let mut cq = p.devs[0].completion_queue(p.port, 8)?;
    let n = cq.entries() / 2 + 1;
    let mut next = 0;
    for round in 0..3 {
        p.run(0, &writes(p, src, dst, cq.id(), next, n)?)?;
        let w = cq.wait(n, WAIT)?;
        ensure!(w.completed && w.count == n, "round {round}: {w:?}");
        for _ in 0..n {
            let slot = cq.slot(next);
            ensure!(
                slot.ctl & HL_NIC_CQE_READY != 0 && slot.wr_id == next,
                "slot of entry {next}: ctl {:#x}, wr_id {}",
                slot.ctl,
                slot.wr_id
            );
            let e = cq.poll().ok_or(format!("entry {next} is not there"))?;
            let want = Cqe {
                opcode: Write,
                status: Done,
                conn: p.conns[0].id(),
                len: 1,
                wr_id: next,
            };
            ensure!(e == want, "entry {next}: {e}");
            let ctl = cq.slot(next).ctl;
            ensure!(ctl & HL_NIC_CQE_READY == 0, "READY still set: {ctl:#x}");
            next += 1;
        }
        ensure!(cq.poll().is_none(), "round {round}: an entry too many");
        let handed = cq.update_consumed()?;
        ensure!(handed == n, "handed back {handed}, not {n}");
        let w = cq.wait(1, Duration::ZERO)?;
        ensure!(w.count == 0, "after handing back: {w:?}");
    }
    Ok(())
}

/// A CQ of 2 entries takes two of five completions and loses three, as
/// the model counts them; handed back, it takes the next.
fn full(env: &Env, p: &Pair, src: u64, dst: u64) -> R {
    let mut small = p.devs[0].completion_queue(p.port, 2)?;
    p.run(0, &writes(p, src, dst, small.id(), 0, 5)?)?;
    let w = small.wait(2, WAIT)?;
    ensure!(w.completed && w.count == 2 && w.lost == 3, "{w:?}");
    let lost = cq_lost(&env.bar2[0], p.port, small.id());
    ensure!(lost == 3, "the model counted {lost} lost");
    for want in 0..2 {
        let e = small.poll().ok_or("an entry is missing")?;
        ensure!(e.wr_id == want && e.status == Done, "{e}");
    }
    ensure!(small.poll().is_none(), "a third entry");
    small.update_consumed()?;
    p.run(0, &writes(p, src, dst, small.id(), 9, 1)?)?;
    let e = small.next(WAIT)?;
    ensure!(e.wr_id == 9, "after handing back: {e}");
    let w = small.wait(1, Duration::ZERO)?;
    ensure!(w.lost == 3 && w.count == 0, "at the end: {w:?}");
    Ok(())
}

/// The uAPI's ranges for CQ_WAIT and CQ_UPDATE_CONSUMED.
fn counts(dev: &Device, p: &Pair) -> R {
    let cq = &p.cqs[0];
    let einval = &[libc::EINVAL];
    expect_errno(
        dev.cq_wait(cq.handle(), cq.entries() + 1, Duration::ZERO),
        einval,
    )?;
    expect_errno(dev.cq_update_consumed(cq.handle(), 0), einval)?;
    expect_errno(dev.cq_update_consumed(cq.handle(), 1), einval)
}

/// Completions meant for a destroyed CQ are lost: its old mapping stays
/// readable and empty, and the CQ that takes its number starts empty.
fn destroyed(p: &Pair, src: u64, dst: u64, dst_len: usize) -> R {
    let dev = p.devs[0];
    let old = dev.completion_queue(p.port, 4)?;
    let id = old.id();
    dev.cq_destroy(old.handle())?;
    fill_sentinel(p.devs[1], dst, dst_len)?;
    p.run(0, &writes(p, src, dst, id, 0, 1)?)?;
    let byte = download(p.devs[1], dst, 1)?[0];
    ensure!(
        byte == SRC_BYTE,
        "the WRITE itself did not happen: {byte:#x}"
    );
    ensure!(
        (0..4).all(|i| old.slot(i).ctl & HL_NIC_CQE_READY == 0),
        "an entry appeared in the destroyed CQ's mapping"
    );
    drop(old);
    let new = dev.completion_queue(p.port, 4)?;
    ensure!(
        new.id() == id,
        "the new CQ is {}, not the lowest free {id}",
        new.id()
    );
    let w = new.wait(1, Duration::ZERO)?;
    ensure!(w.count == 0 && w.lost == 0, "the new CQ: {w:?}");
    untouched("past the WRITE", p.devs[1], dst + 1, dst_len - 1)
}

pub fn cq(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("cq: open both devices", Err(e)),
    };
    let devs = [&devs[0], &devs[1]];
    let mem = (devs[0].device_memory(4096), devs[1].device_memory(4096));
    let (src, dst) = match mem {
        (Ok(s), Ok(d)) => (s, d),
        (s, d) => return t.check("cq: device memory", s.and(d).map(drop).map_err(Into::into)),
    };
    let pair = upload(devs[0], src.addr(), &[SRC_BYTE; 4096])
        .and_then(|()| Pair::new(devs, env.port, window(&dst), 0));
    let mut p = match pair {
        Ok(p) => p,
        Err(e) => return t.check("cq: set-up", Err(e)),
    };
    let (s, d) = (src.addr(), dst.addr());
    t.check(
        "cq: a wait on an empty CQ lasts its timeout; a completion ends a wait at once",
        waits(&mut p, s, d),
    );
    t.check(
        "cq: entries in ring order, READY until polled, handed back, three times round",
        ring_order(&p, s, d),
    );
    t.check(
        "cq: a full CQ of 2 loses 3 of 5 completions, counted as the model counts them",
        full(env, &p, s, d),
    );
    t.check(
        "cq: CQ_WAIT of 0 or more than the ring, CQ_UPDATE_CONSUMED of 0 or more than produced: EINVAL",
        counts(devs[0], &p),
    );
    t.check(
        "cq: a destroyed CQ's completions are lost; its number is reused, empty",
        destroyed(&p, s, d, 4096),
    );
    t.check(
        "cq: poll(2) and epoll: readable while a CQ holds entries not handed back",
        polls(&p, s, d),
    );
}
