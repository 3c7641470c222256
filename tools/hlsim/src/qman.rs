// SPDX-License-Identifier: GPL-2.0

//! The QMANs: GAUDI's DMA 0-7, TPC 0-7 and MME 0-1 queues and the ports'
//! NIC queues (numbered as `hlsim_regs::queue` says). Each has four
//! streams, as GAUDI's, and each stream is a command processor of its own
//! that runs in its own thread: woken by its QMAN's doorbell, it fetches
//! buffer descriptors from its PQ, runs the packets of their command
//! buffers on the QMAN's engine and writes a completion to its CQ for each.
//! A stream blocked in a `FENCE` or `WAIT` leaves its siblings running;
//! each has its own fence counters.
//!
//! A reset halts a QMAN through its [`Streams`]: the job each stream runs
//! stops at the next packet or chunk of work and is dropped without a
//! completion.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::device::Shared;
use crate::nic::port::Port;
use crate::nic::rdma;
use crate::packets::{self, Engine, Packet};
pub use crate::regs::qman::STREAMS;
use crate::regs::{
    CLK_CUR_MHZ, ENGINE_DMA, ENGINE_MME, ENGINE_TPC, JobStatus, QMAN_ENABLE, QMAN_STATUS_BUSY,
    QMAN_STATUS_CONFIG_ERROR, dma_core, model_ctl, qman, sync_manager as sm,
};
use crate::ring::Ring;
use crate::space::{Fault, Space};
use crate::{dma, tpc};

/// How long a `FENCE` waits.
pub const FENCE_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest command buffer.
pub const MAX_CB_SIZE: u32 = 2 << 20;
/// Bytes in a buffer descriptor.
const BD_SIZE: u64 = 16;
/// Bytes in a completion entry.
const CQE_SIZE: u64 = 8;
/// Completion `ctl` bit: the entry is valid.
const CQE_READY: u32 = 1 << 31;
/// Completion `ctl` bits holding the status.
const CQE_STATUS_SHIFT: u32 = 16;
/// BD `ctl` bits holding the tag.
const BD_TAG_MASK: u32 = 0xffff;
/// BD `ctl` bit: `ptr` is a device address (a CB the user placed in DRAM,
/// SRAM or mapped host memory, as GAUDI's internal queues take it), not a
/// DMA address.
pub const BD_DEVICE_CB: u32 = 1 << 16;
/// Period at which a stalled engine looks at `ENGINE_HANG` and a blocked
/// `FENCE` at its counter, besides when woken.
const POLL: Duration = Duration::from_millis(1);

pub use crate::regs::NUM_QMANS;

/// The queue number of the QMAN at `index`: QMANs are indexed by their
/// number.
pub fn queue(index: usize) -> usize {
    index
}

/// The index of queue `q`, if it exists.
pub fn index(q: usize) -> Option<usize> {
    (q < NUM_QMANS).then_some(q)
}

/// The engine type of QMAN `q`, which exists, and its index within the
/// type.
pub fn engine(q: usize) -> (Engine, u32) {
    match crate::regs::queue(q).expect("the queue exists") {
        (ENGINE_DMA, index) => (Engine::Dma, index),
        (ENGINE_TPC, index) => (Engine::Tpc, index),
        (ENGINE_MME, index) => (Engine::Mme, index),
        (_, index) => (Engine::Nic, index),
    }
}

/// The `ENGINE` register value of QMAN `q`.
pub fn engine_reg(q: usize) -> u32 {
    let (kind, index) = crate::regs::queue(q).expect("the queue exists");
    kind | index << 8
}

/// The vector of QMAN `q`: its doorbell and its completion interrupt.
pub fn vector(q: usize) -> u32 {
    crate::regs::queue_vector(q)
}

/// Why a job stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobError {
    /// A reset aborted it: no completion.
    Aborted,
    /// It failed with this status.
    Status(JobStatus),
    /// A device address access failed.
    Fault(Fault),
}

impl From<JobStatus> for JobError {
    fn from(status: JobStatus) -> Self {
        Self::Status(status)
    }
}

impl From<Fault> for JobError {
    fn from(fault: Fault) -> Self {
        Self::Fault(fault)
    }
}

/// What wakes a QMAN thread, and how a reset stops it.
#[derive(Default)]
pub struct Control {
    state: Mutex<State>,
    cond: Condvar,
    /// Set while a reset waits for the thread to stop.
    abort: AtomicBool,
}

#[derive(Default)]
struct State {
    /// The doorbell rang since the thread last looked at its rings.
    doorbell: bool,
    /// The thread is serving its rings.
    running: bool,
    /// The device is going away.
    exit: bool,
    /// Sync-manager writes to this QMAN's fence counters (wraps).
    kicks: u64,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The doorbell rang.
    pub fn ring(&self) {
        self.lock().doorbell = true;
        self.cond.notify_all();
    }

    /// A fence counter of this QMAN changed.
    pub fn kick(&self) {
        let mut state = self.lock();
        state.kicks = state.kicks.wrapping_add(1);
        self.cond.notify_all();
    }

    /// Aborts the running job and drops a pending doorbell; returns once
    /// the thread is idle, which it stays until the next doorbell.
    pub fn halt(&self) {
        self.stop();
        self.stopped();
    }

    /// Starts a [`Control::halt`]: aborts the running job and drops a
    /// pending doorbell.
    fn stop(&self) {
        let mut state = self.lock();
        self.abort.store(true, Ordering::Relaxed);
        state.doorbell = false;
        self.cond.notify_all();
    }

    /// Ends a [`Control::halt`]: waits for the thread to be idle.
    fn stopped(&self) {
        let mut state = self.lock();
        while state.running {
            state = self
                .cond
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        self.abort.store(false, Ordering::Relaxed);
    }

    /// Makes the thread return.
    pub fn exit(&self) {
        self.lock().exit = true;
        self.abort.store(true, Ordering::Relaxed);
        self.cond.notify_all();
    }

    /// Whether a reset is stopping the thread.
    pub(crate) fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Waits for `time`; `Err(Aborted)` as soon as a reset comes.
    pub(crate) fn pause(&self, time: Duration) -> Result<(), JobError> {
        let deadline = Instant::now() + time;
        loop {
            if self.aborted() {
                return Err(JobError::Aborted);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.sleep(self.kicks(), left);
        }
    }

    /// Marks the thread idle and waits for a doorbell; `false` on exit.
    fn next(&self) -> bool {
        let mut state = self.lock();
        state.running = false;
        self.cond.notify_all();
        loop {
            if state.exit {
                return false;
            }
            if state.doorbell {
                state.doorbell = false;
                state.running = true;
                return true;
            }
            state = self
                .cond
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The number of kicks so far.
    fn kicks(&self) -> u64 {
        self.lock().kicks
    }

    /// Waits up to `timeout` for a kick after the first `seen`, or an abort.
    fn sleep(&self, seen: u64, timeout: Duration) {
        let state = self.lock();
        let _wait = self
            .cond
            .wait_timeout_while(state, timeout, |s| s.kicks == seen && !self.aborted());
    }
}

/// The [`Control`]s of a QMAN's streams.
#[derive(Default)]
pub struct Streams([Control; STREAMS]);

impl Streams {
    /// Stream `s`'s.
    pub fn stream(&self, s: usize) -> &Control {
        &self.0[s]
    }

    /// The QMAN's doorbell rang: each stream looks at its PQ.
    pub fn ring(&self) {
        self.0.iter().for_each(Control::ring);
    }

    /// Fence counters of stream `s` changed; of every stream for the
    /// lower CP's ([`sm::LOWER_CP`]), which any stream's `CP_DMA` runs on.
    pub fn kick(&self, s: usize) {
        match self.0.get(s) {
            Some(ctl) => ctl.kick(),
            None => self.0.iter().for_each(Control::kick),
        }
    }

    /// Halts every stream ([`Control::halt`]), all at once.
    pub fn halt(&self) {
        self.0.iter().for_each(Control::stop);
        self.0.iter().for_each(Control::stopped);
    }

    /// Makes the streams' threads return.
    pub fn exit(&self) {
        self.0.iter().for_each(Control::exit);
    }
}

/// Starts the thread of stream `s` of QMAN `q` of the device `shared`; a
/// NIC queue's `port` too.
pub(crate) fn spawn(
    name: &str,
    shared: Arc<Shared>,
    (q, s): (usize, usize),
    port: Option<Arc<Port>>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("{name}-q{q}.{s}"))
        .spawn(move || {
            Worker {
                shared: &shared,
                q,
                s,
                port: port.as_ref(),
            }
            .run()
        })
}

/// A stream's thread.
struct Worker<'a> {
    shared: &'a Shared,
    q: usize,
    /// The stream.
    s: usize,
    /// A NIC queue's port.
    port: Option<&'a Arc<Port>>,
}

/// A job failure: why, and the offset of the failing packet in its CB.
type Failure = (JobError, u32);

impl Worker<'_> {
    fn ctl(&self) -> &Control {
        self.shared.qman(self.q).stream(self.s)
    }

    fn reg(&self, off: u64) -> u64 {
        qman::stream(self.q, self.s) + off
    }

    /// The set of fence counters the packets run: the stream's, or for
    /// those a `CP_DMA` fetched (`nested`) the lower CP's.
    fn cp(&self, nested: bool) -> usize {
        if nested { sm::LOWER_CP } else { self.s }
    }

    fn read(&self, off: u64) -> u32 {
        self.shared.bar.read32(self.reg(off))
    }

    fn write(&self, off: u64, val: u32) {
        self.shared.bar.write32(self.reg(off), val);
    }

    fn space(&self) -> Space<'_> {
        self.shared.space()
    }

    fn run(&self) {
        while self.ctl().next() {
            self.serve();
        }
    }

    /// Runs the stream's posted jobs until its PQ is empty, its CQ full,
    /// the stream disabled or misconfigured, or a reset.
    fn serve(&self) {
        let (bar, ram) = (&self.shared.bar, &*self.shared.ram);
        while !self.ctl().aborted() && self.read(qman::CTL) & QMAN_ENABLE != 0 {
            let pq = Ring::new(
                ram,
                bar.read64(self.reg(qman::PQ_BASE_LO)),
                self.read(qman::PQ_SIZE),
                BD_SIZE,
            );
            let cq = Ring::new(
                ram,
                bar.read64(self.reg(qman::CQ_BASE_LO)),
                self.read(qman::CQ_SIZE),
                CQE_SIZE,
            );
            let pq_pi = bar.read32_acquire(self.reg(qman::PQ_PI));
            let pq_ci = self.read(qman::PQ_CI);
            let cq_pi = self.read(qman::CQ_PI);
            let cq_ci = bar.read32_acquire(self.reg(qman::CQ_CI));
            let (Some(pq), Some(cq)) = (pq, cq) else {
                self.write(qman::STATUS, QMAN_STATUS_CONFIG_ERROR);
                return;
            };
            let (Some(posted), Some(done)) = (pq.used(pq_pi, pq_ci), cq.used(cq_pi, cq_ci)) else {
                self.write(qman::STATUS, QMAN_STATUS_CONFIG_ERROR);
                return;
            };
            self.write(qman::STATUS, 0);
            // Stall while the CQ is full; the driver rings again.
            if posted == 0 || done == cq.entries() {
                return;
            }
            let bd = pq.slot(pq_ci);
            let word = |off| {
                ram.atomic32(bd + off)
                    .map_or(0, |w| w.load(Ordering::Relaxed))
            };
            let (ptr, len, ctl) = (
                u64::from(word(0)) | u64::from(word(4)) << 32,
                word(8),
                word(12),
            );
            bar.write32_release(self.reg(qman::PQ_CI), pq_ci.wrapping_add(1));
            self.write(qman::STATUS, QMAN_STATUS_BUSY);
            let res = self.job(ptr, len, ctl);
            if matches!(res, Err((JobError::Aborted, _)))
                || !self.complete(cq, cq_pi, ctl & BD_TAG_MASK, res)
            {
                return;
            }
        }
    }

    /// Publishes the completion of a job, and its event if it failed,
    /// unless a reset got there first.
    fn complete(&self, cq: Ring, cq_pi: u32, tag: u32, res: Result<(), Failure>) -> bool {
        let shared = self.shared;
        let _guard = self.ctl().lock();
        if self.ctl().aborted() {
            return false;
        }
        let (status, info) = match res {
            Ok(()) => (JobStatus::Ok, 0),
            Err((err, off)) => {
                let (status, info) = match err {
                    JobError::Status(status) => (status, u64::from(off)),
                    JobError::Fault(Fault::Mmu(addr)) => (JobStatus::MmuFault, addr),
                    JobError::Fault(Fault::BadAddress(addr)) => (JobStatus::BadAddress, addr),
                    JobError::Aborted => return false,
                };
                shared
                    .eq
                    .post(&shared.bar, &shared.ram, &shared.irq, self.q, status, info);
                (status, off)
            }
        };
        // Idle before the completion is visible, so a driver that sees
        // the CQE never reads a stale BUSY.
        self.write(qman::STATUS, 0);
        let entry = cq.slot(cq_pi);
        let word = |off| {
            shared
                .ram
                .atomic32(entry + off)
                .expect("the CQ is in guest RAM")
        };
        word(4).store(info, Ordering::Relaxed);
        word(0).store(
            CQE_READY | (status as u32) << CQE_STATUS_SHIFT | tag,
            Ordering::Release,
        );
        shared
            .bar
            .write32_release(self.reg(qman::CQ_PI), cq_pi.wrapping_add(1));
        shared.irq.raise(vector(self.q));
        true
    }

    /// Fetches the CB of a BD and runs it; any fault of the BD itself,
    /// including a CB outside guest RAM, is `BAD_PACKET` at offset 0.
    fn job(&self, ptr: u64, len: u32, ctl: u32) -> Result<(), Failure> {
        if ctl & !(BD_TAG_MASK | BD_DEVICE_CB) != 0
            || !ptr.is_multiple_of(8)
            || !len.is_multiple_of(8)
            || !(8..=MAX_CB_SIZE).contains(&len)
        {
            return Err((JobStatus::BadPacket.into(), 0));
        }
        let mut cb = vec![0; len as usize];
        if ctl & BD_DEVICE_CB != 0 {
            // A device address: a fault is reported as the access's, at offset 0.
            self.fetch(ptr, &mut cb).map_err(|f| (f.into(), 0))?;
        } else {
            let src = self
                .shared
                .ram
                .slice(ptr, len.into())
                .ok_or((JobStatus::BadPacket.into(), 0))?;
            src.read_to(&mut cb);
        }
        self.interpret(&cb, false)
    }

    /// Reads `buf.len()` bytes at device address `src`.
    fn fetch(&self, src: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let mut pos = 0;
        for run in self.space().memory(src, buf.len() as u64, false)? {
            run.read_to(&mut buf[pos..pos + run.len() as usize]);
            pos += run.len() as usize;
        }
        Ok(())
    }

    /// Runs the packets of `cb` in order; `nested` for the packets a
    /// `CP_DMA` fetched, which cannot fetch more.
    fn interpret(&self, cb: &[u8], nested: bool) -> Result<(), Failure> {
        // The open REPEAT block: its start, first packet and runs left.
        let mut block: Option<(usize, usize, u16)> = None;
        let mut off = 0;
        while off < cb.len() {
            let at = |err: JobError| (err, off as u32);
            self.hang().map_err(at)?;
            let (packet, size) = packets::decode(cb, off).map_err(|s| at(s.into()))?;
            if packet.engine().is_some_and(|e| e != engine(self.q).0) {
                return Err(at(JobStatus::NotSupported.into()));
            }
            match packet {
                Packet::RepeatStart { count } => {
                    if block.is_some() {
                        return Err(at(JobStatus::BadPacket.into()));
                    }
                    block = Some((off, off + size, count));
                }
                Packet::RepeatEnd => match block {
                    None => return Err(at(JobStatus::BadPacket.into())),
                    Some((start, first, runs)) if runs > 1 => {
                        block = Some((start, first, runs - 1));
                        off = first;
                        continue;
                    }
                    Some(_) => block = None,
                },
                Packet::Stop => return Ok(()),
                Packet::WregBulk { offset, .. } => {
                    // The values follow the header, each 64-bit one two registers.
                    for (i, word) in cb[off + 8..off + size].chunks_exact(4).enumerate() {
                        let value = u32::from_le_bytes(std::array::from_fn(|b| word[b]));
                        let reg = u64::from(offset) + 4 * i as u64;
                        self.wreg(reg, value).map_err(at)?;
                    }
                }
                Packet::CpDma { .. } if nested => return Err(at(JobStatus::BadPacket.into())),
                Packet::CpDma { tsize, src } => {
                    let mut fetched = vec![0; tsize as usize];
                    self.fetch(src, &mut fetched).map_err(|f| at(f.into()))?;
                    // A failure inside is reported at the CP_DMA.
                    self.interpret(&fetched, true).map_err(|(err, _)| at(err))?;
                }
                packet => self.execute(packet, nested).map_err(at)?,
            }
            off += size;
        }
        match block {
            Some((start, ..)) => Err((JobStatus::BadPacket.into(), start as u32)),
            None => Ok(()),
        }
    }

    /// Writes `value` to register `off`, as `WREG_32` does: on a DMA QMAN,
    /// below [`dma_core::SIZE`] a register of its engine's core (where a
    /// `COMMIT` runs the transfer), else one of the sync manager.
    fn wreg(&self, off: u64, value: u32) -> Result<(), JobError> {
        let kick = |q: usize, s: usize| self.shared.qman(q).kick(s);
        let space = self.space();
        let i = match engine(self.q) {
            (Engine::Dma, i) if off < dma_core::SIZE => i,
            _ => return Ok(self.shared.sm.write_reg(space, off, value, kick)?),
        };
        let Some(transfer) = self.shared.dma_cores[i as usize].write(off, value)? else {
            return Ok(());
        };
        transfer.run(space, i, &self.ctl().abort)?;
        if let Some((addr, data)) = transfer.completion {
            self.shared.sm.write(space, addr, data, kick)?;
        }
        Ok(())
    }

    /// Runs one packet other than `REPEAT`, `STOP`, `WREG_BULK` and
    /// `CP_DMA`; `nested` as for [`Worker::interpret`].
    fn execute(&self, packet: Packet, nested: bool) -> Result<(), JobError> {
        let (shared, space) = (self.shared, self.space());
        let kick = |q: usize, s: usize| shared.qman(q).kick(s);
        // Only NIC queues get this far with a NIC packet.
        let port = || self.port.expect("a NIC queue has a port");
        match packet {
            Packet::Wreg32 { offset, value } => self.wreg(offset.into(), value)?,
            Packet::MsgLong { value, addr } => shared.sm.write(space, addr, value, kick)?,
            Packet::MsgShort {
                base,
                offset,
                value,
            } => {
                let base = shared.bar.read64(self.reg(qman::msg_base(base.into())));
                let addr = base.wrapping_add(offset.into());
                shared.sm.write(space, addr, value, kick)?
            }
            Packet::Fence {
                id,
                target,
                decrement,
            } => self.fence(self.cp(nested), id, target, decrement)?,
            Packet::Wait {
                cycles,
                increment,
                id,
            } => {
                let ns = u64::from(cycles) * 1000 / u64::from(CLK_CUR_MHZ);
                self.ctl().pause(Duration::from_nanos(ns))?;
                let fence = sm::fence(self.q, self.cp(nested), id.into());
                self.wreg(fence, increment)?
            }
            Packet::LinDma {
                tsize,
                memset,
                src,
                dst,
            } => {
                let (_, engine) = engine(self.q);
                let abort = &self.ctl().abort;
                dma::lin_dma(space, engine, tsize.into(), memset, src, dst, abort)?
            }
            Packet::LoadAndExe { desc } => tpc::run(space, desc, &self.ctl().abort)?,
            Packet::NicWrite { op, dst } => {
                space.dram(op.addr, op.len.into())?;
                rdma::request(port(), &op, Some(dst), self.ctl())?
            }
            Packet::NicSend(op) => {
                space.dram(op.addr, op.len.into())?;
                rdma::request(port(), &op, None, self.ctl())?
            }
            Packet::NicRecv(op) => {
                space.dram(op.addr, op.len.into())?;
                rdma::post_recv(port(), &op)
            }
            Packet::Nop
            | Packet::ArbPoint
            | Packet::Stop
            | Packet::WregBulk { .. }
            | Packet::CpDma { .. }
            | Packet::RepeatStart { .. }
            | Packet::RepeatEnd => {}
        }
        Ok(())
    }

    /// Waits for fence counter `id` of CP `cp` (the stream or the lower CP)
    /// to reach `target`, then subtracts `decrement`.
    fn fence(&self, cp: usize, id: u32, target: u32, decrement: u32) -> Result<(), JobError> {
        let deadline = Instant::now() + FENCE_TIMEOUT;
        loop {
            let seen = self.ctl().kicks();
            if self
                .shared
                .sm
                .try_fence(&self.shared.bar, (self.q, cp), id, target, decrement)
            {
                return Ok(());
            }
            if self.ctl().aborted() {
                return Err(JobError::Aborted);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(JobStatus::FenceTimeout.into());
            }
            self.ctl().sleep(seen, left.min(POLL));
        }
    }

    /// Stays stopped while `ENGINE_HANG` says so.
    fn hang(&self) -> Result<(), JobError> {
        loop {
            if self.ctl().aborted() {
                return Err(JobError::Aborted);
            }
            if self.shared.bar.read32(model_ctl::ENGINE_HANG) & 1 << self.q == 0 {
                return Ok(());
            }
            self.ctl().sleep(self.ctl().kicks(), POLL);
        }
    }
}
