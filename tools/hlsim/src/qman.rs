// SPDX-License-Identifier: GPL-2.0

//! The QMANs: GAUDI's DMA 0-7, TPC 0-7 and MME 0-1 queues and the ports'
//! NIC queues (numbered as `hlsim_regs::queue` says). Each has four
//! streams, as GAUDI's, and each stream is a command processor of its own
//! that runs in its own thread: woken by its QMAN's doorbell, it fetches
//! buffer descriptors from its PQ, runs the packets of their command
//! buffers on the QMAN's engine and writes a completion to its CQ for each.
//! A stream blocked in a `FENCE` or `WAIT` leaves its siblings running;
//! each has its own fence counters, predicates and scalar registers. The
//! QMAN's [`Arbiter`] orders the streams that ask it at `ARB_POINT`s.
//!
//! A reset halts a QMAN through its [`Streams`]: the job each stream runs
//! stops at the next packet or chunk of work and is dropped without a
//! completion.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::arb::Arbiter;
use crate::device::Shared;
use crate::nic::port::Port;
use crate::nic::rdma;
use crate::packets::{self, Engine, ExeType, LoadDst, Packet};
pub use crate::regs::qman::STREAMS;
use crate::regs::{
    CLK_CUR_MHZ, ENGINE_DMA, ENGINE_MME, ENGINE_TPC, JobStatus, QMAN_ENABLE, QMAN_STATUS_BUSY,
    QMAN_STATUS_CONFIG_ERROR, dma_core, model_ctl, qman, space::qm_arb, sync_manager as sm,
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

/// Bytes a `LOAD_AND_EXE` loads into the predicates: 32 32-bit words.
const PRED_BYTES: usize = 128;
/// Scalar registers `R0`-`R3`.
const SCALARS: usize = 4;

/// A CP's registers that `LOAD_AND_EXE` loads.
#[derive(Clone, Copy, Default)]
struct CpRegs {
    /// Predicates: bit `i` is `Pi` (`P0`, always true, is not kept).
    preds: u32,
    /// `R0`-`R3`.
    scalars: [u32; SCALARS],
}

/// What wakes a QMAN thread, and how a reset stops it.
#[derive(Default)]
pub struct Control {
    state: Mutex<State>,
    cond: Condvar,
    /// Set while a reset waits for the thread to stop.
    abort: AtomicBool,
    /// The stream's CP's registers, and those of the lower CP as the
    /// `CP_DMA`s of this stream run on it.
    cp: Mutex<[CpRegs; 2]>,
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
        *self.cp.lock().unwrap_or_else(PoisonError::into_inner) = Default::default();
        self.abort.store(false, Ordering::Relaxed);
    }

    /// The registers of the stream's CP, or with `nested` of the lower CP.
    fn cp_regs(&self, nested: bool) -> CpRegs {
        self.cp.lock().unwrap_or_else(PoisonError::into_inner)[usize::from(nested)]
    }

    /// Sets the registers [`Control::cp_regs`] returns.
    fn set_cp_regs(&self, nested: bool, regs: CpRegs) {
        self.cp.lock().unwrap_or_else(PoisonError::into_inner)[usize::from(nested)] = regs;
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

/// The [`Control`]s of a QMAN's streams, and its arbiter.
#[derive(Default)]
pub struct Streams {
    ctls: [Control; STREAMS],
    arb: Arbiter,
}

impl Streams {
    /// Stream `s`'s.
    pub fn stream(&self, s: usize) -> &Control {
        &self.ctls[s]
    }

    /// The QMAN's arbiter.
    pub fn arb(&self) -> &Arbiter {
        &self.arb
    }

    /// The QMAN's doorbell rang: each stream looks at its PQ.
    pub fn ring(&self) {
        self.ctls.iter().for_each(Control::ring);
    }

    /// Fence counters of stream `s` changed; of every stream for the
    /// lower CP's ([`sm::LOWER_CP`]), which any stream's `CP_DMA` runs on.
    pub fn kick(&self, s: usize) {
        match self.ctls.get(s) {
            Some(ctl) => ctl.kick(),
            None => self.ctls.iter().for_each(Control::kick),
        }
    }

    /// Halts every stream ([`Control::halt`]), all at once, and resets the
    /// arbiter.
    pub fn halt(&self) {
        self.ctls.iter().for_each(Control::stop);
        self.ctls.iter().for_each(Control::stopped);
        self.arb.reset();
    }

    /// Makes the streams' threads return.
    pub fn exit(&self) {
        self.ctls.iter().for_each(Control::exit);
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
            // A job's end gives back the grant it holds.
            self.shared.qman(self.q).arb().release(self.s);
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
            let (packet, size, pred) = packets::decode(cb, off).map_err(|s| at(s.into()))?;
            // A packet whose predicate is false is skipped.
            if !self.predicate(nested, pred) {
                off += size;
                continue;
            }
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
        // Only NIC queues get this far with a NIC packet.
        let port = || self.port.expect("a NIC queue has a port");
        match packet {
            Packet::Wreg32 { offset, value } => self.wreg(offset.into(), value)?,
            Packet::MsgLong { value, addr } => self.msg(addr, value)?,
            Packet::MsgShort {
                base,
                offset,
                value,
            } => {
                let base = shared.bar.read64(self.reg(qman::msg_base(base.into())));
                self.msg(base.wrapping_add(offset.into()), value)?
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
            Packet::CpLoadExe { load, exe, src } => self.load_exe(nested, load, exe, src)?,
            Packet::ArbPoint { release: true, .. } => shared.qman(self.q).arb().release(self.s),
            Packet::ArbPoint { priority, .. } => {
                shared
                    .qman(self.q)
                    .arb()
                    .acquire(self.s, priority, self.ctl())?
            }
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
            | Packet::Stop
            | Packet::WregBulk { .. }
            | Packet::CpDma { .. }
            | Packet::RepeatStart { .. }
            | Packet::RepeatEnd => {}
        }
        Ok(())
    }

    /// Writes `value` at device address `addr`, as `MSG_LONG` and
    /// `MSG_SHORT` do: a QMAN's arbitration register, or through the sync
    /// manager.
    fn msg(&self, addr: u64, value: u32) -> Result<(), JobError> {
        if let Some((q, reg)) = qm_arb(addr) {
            self.shared.qman(q).arb().write(reg, value);
            return Ok(());
        }
        let kick = |q: usize, s: usize| self.shared.qman(q).kick(s);
        Ok(self.shared.sm.write(self.space(), addr, value, kick)?)
    }

    /// Whether predicate `pred` of the stream's CP (with `nested`, of the
    /// lower CP) is true; `P0` always is.
    fn predicate(&self, nested: bool, pred: u32) -> bool {
        pred == 0 || self.ctl().cp_regs(nested).preds & 1 << pred != 0
    }

    /// GAUDI's `LOAD_AND_EXE`: loads the predicates or the scalar
    /// registers from `src`, then executes the packet the scalar registers
    /// hold at `R0` or `R2`, as if it were in the CB. That packet may not
    /// fetch or load more (`CP_DMA`, `LOAD_AND_EXE`), open or close a
    /// `REPEAT`, `STOP` or be a `WREG_BULK`: `BAD_PACKET`.
    fn load_exe(
        &self,
        nested: bool,
        load: Option<LoadDst>,
        exe: Option<ExeType>,
        src: u64,
    ) -> Result<(), JobError> {
        let mut regs = self.ctl().cp_regs(nested);
        let word = |b: &[u8]| u32::from_le_bytes(std::array::from_fn(|i| b[i]));
        match load {
            Some(LoadDst::Predicates) => {
                let mut buf = [0; PRED_BYTES];
                self.fetch(src, &mut buf)?;
                // Word i's bit 0 is Pi; P0 is not loaded.
                regs.preds = buf
                    .chunks_exact(4)
                    .enumerate()
                    .skip(1)
                    .fold(0, |preds, (i, w)| preds | (word(w) & 1) << i);
            }
            Some(LoadDst::Scalars) => {
                let mut buf = [0; 4 * SCALARS];
                self.fetch(src, &mut buf)?;
                for (r, w) in regs.scalars.iter_mut().zip(buf.chunks_exact(4)) {
                    *r = word(w);
                }
            }
            None => {}
        }
        self.ctl().set_cp_regs(nested, regs);
        let Some(exe) = exe else {
            return Ok(());
        };
        let bytes: Vec<u8> = regs.scalars.iter().flat_map(|r| r.to_le_bytes()).collect();
        let window = match exe {
            ExeType::Lower => &bytes[..],
            ExeType::Upper => &bytes[8..],
        };
        let (packet, _, pred) = packets::decode(window, 0)?;
        if !self.predicate(nested, pred) {
            return Ok(());
        }
        match packet {
            Packet::CpDma { .. }
            | Packet::LoadAndExe { .. }
            | Packet::CpLoadExe { .. }
            | Packet::RepeatStart { .. }
            | Packet::RepeatEnd
            | Packet::Stop
            | Packet::WregBulk { .. } => Err(JobStatus::BadPacket.into()),
            p if p.engine().is_some_and(|e| e != engine(self.q).0) => {
                Err(JobStatus::NotSupported.into())
            }
            p => self.execute(p, nested),
        }
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
