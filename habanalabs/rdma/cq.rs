// SPDX-License-Identifier: GPL-2.0

//! RDMA completion queues: rings in host memory that the device fills, the user reads through
//! a mapping, and the driver accounts for with the device's producer index.

use core::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};
use kernel::{
    device::{self, Bound},
    dma::CoherentAllocation,
    mm::VmArea,
    new_mutex, new_poll_condvar,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        lock::{mutex::MutexBackend, Guard},
        poll::{PollCondVar, POLLERR, POLLIN, POLLRDNORM},
        Arc, CondVarTimeoutResult, Mutex,
    },
    uapi,
};

use super::Resources;
use crate::{
    context::CbSlot,
    deadline::Deadline,
    mailbox::Command,
    regs::rdma::{CqBlock, CQ_BASE, CQ_CI, CQ_CTL, CQ_LOST, CQ_PI, CQ_SIZE},
};

/// Bytes in an entry (`struct hl_nic_cqe`).
const CQE_SIZE: usize = size_of::<uapi::hl_nic_cqe>();

/// Where `CQ_WAIT` and `poll(2)` sleep for the completion queues of one port. The queues raise
/// the port's NIC QMAN vector, whose handler wakes every waiter of the port.
#[pin_data]
pub(crate) struct CqEvents {
    pub(crate) port: u8,
    /// The driver is letting go of the device: the queues' registers mean nothing any more.
    gone: AtomicBool,
    #[pin]
    lock: Mutex<()>,
    #[pin]
    wake: PollCondVar,
}

impl CqEvents {
    pub(crate) fn new(port: u8) -> impl PinInit<Self> {
        pin_init!(Self {
            port,
            gone: AtomicBool::new(false),
            lock <- new_mutex!(()),
            wake <- new_poll_condvar!(),
        })
    }

    /// For unbind, before the device is reset: every look at the port's queues fails with
    /// `ENODEV` from now on, and the waiters wake up to see it. Once this returns, nobody is
    /// programming the port (see [`CqEvents::arm`]) or will.
    pub(crate) fn close(&self) {
        let guard = self.lock.lock();
        self.gone.store(true, Ordering::Release);
        drop(guard);
        self.wake.notify_all();
    }

    /// After a hard reset: the port's queues may be used again (by a new context).
    pub(crate) fn reopen(&self) {
        let guard = self.lock.lock();
        self.gone.store(false, Ordering::Release);
        drop(guard);
    }

    /// Allows programming the port's connections and queues until the guard is dropped, unless
    /// [`CqEvents::close`] already ran (`ENODEV`).
    pub(crate) fn arm(&self) -> Result<Guard<'_, (), MutexBackend>> {
        let guard = self.lock.lock();
        if self.is_gone() {
            return Err(ENODEV);
        }
        Ok(guard)
    }

    /// Whether [`CqEvents::close`] ran.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// The wait queue of `poll(2)` on a compute file: see [`Cq::poll_events`].
    pub(crate) fn poll_wait(&self) -> &PollCondVar {
        &self.wake
    }

    /// Wakes the port's waiters: an entry may have arrived, or a queue gone away.
    pub(crate) fn notify(&self) {
        // A waiter holds the lock from its look at the queue until it sleeps: taking it here
        // means none is in between, so none misses the wake-up.
        drop(self.lock.lock());
        self.wake.notify_all();
    }
}

struct CqState {
    /// Entries consumed (`CQ_CI`).
    consumed: u32,
    /// `CQ_LOST` as last read, and the entries lost since the queue was created.
    lost_seen: u32,
    lost: u64,
    /// `lost` as the last `CQ_WAIT` reported it.
    lost_reported: u64,
    /// Reset by `CQ_DESTROY`: nobody may use it any more.
    destroyed: bool,
    /// The device's `CQ_PI` was found outside the ring (and logged).
    faulted: bool,
}

/// One completion queue, kept alive by the context and by the user's mappings of its ring.
#[pin_data]
pub(crate) struct Cq {
    port: u8,
    index: u32,
    entries: u32,
    ring: CoherentAllocation<u64>,
    /// Where its waiters sleep: those of its port.
    pub(crate) events: Arc<CqEvents>,
    #[pin]
    state: Mutex<CqState>,
    /// Counts the ring against its context's cap on buffers until the last mapping lets it go.
    _slot: Option<CbSlot>,
}

impl Cq {
    /// Allocates a zeroed ring of `entries` entries, in whole pages.
    pub(crate) fn alloc_ring(
        dev: &device::Device<Bound>,
        entries: u32,
    ) -> Result<CoherentAllocation<u64>> {
        let bytes = (entries as usize * CQE_SIZE).next_multiple_of(PAGE_SIZE);
        CoherentAllocation::alloc_coherent(dev, bytes / size_of::<u64>(), crate::cb::user_gfp())
    }

    /// Completion queue `index` of port `port`, of `entries` entries in `ring`; its registers
    /// are in their reset state.
    pub(crate) fn new(
        port: u8,
        index: u32,
        entries: u32,
        ring: CoherentAllocation<u64>,
        events: Arc<CqEvents>,
        slot: Option<CbSlot>,
    ) -> impl PinInit<Self> {
        let state = CqState {
            consumed: 0,
            lost_seen: 0,
            lost: 0,
            lost_reported: 0,
            destroyed: false,
            faulted: false,
        };
        pin_init!(Self {
            port,
            index,
            entries,
            ring,
            events,
            state <- new_mutex!(state),
            _slot: slot,
        })
    }

    fn block(&self) -> CqBlock {
        CqBlock {
            port: self.port,
            cq: self.index,
        }
    }

    /// Hands the ring to the device, enabled, with an interrupt per entry. Entries lost
    /// before, while the queue was free, are not this queue's: they count from here.
    pub(crate) fn start(&self, res: &Resources) -> Result {
        let block = &self.block();
        let regs = res.control.hw().regs()?;
        let lost = CQ_LOST::try_read(&regs, block)?;
        drop(regs);
        self.state.lock().lost_seen = lost.into();
        let regs = res.control.hw().regs()?;
        CQ_BASE::from(self.ring.dma_handle()).try_write(&regs, block)?;
        CQ_SIZE::from(self.entries).try_write(&regs, block)?;
        CQ_CI::default().try_write(&regs, block)?;
        CQ_CTL::default()
            .set_enable(true)
            .set_irq(true)
            .try_write(&regs, block)
    }

    /// Resets the queue with `CQ_RESET`: once this returns, the device no longer writes the
    /// ring. Nobody may use the queue afterwards; the ring lives on in the user's mappings.
    pub(crate) fn reset(&self, res: &Resources) -> Result {
        let mut state = self.state.lock();
        let command = Command::CqReset {
            port: self.port.into(),
            cq: self.index.into(),
        };
        super::reset_done(res.control.run(command))?;
        state.destroyed = true;
        Ok(())
    }

    /// Entries produced and not consumed, from the device's `CQ_PI`, which is checked; also
    /// brings the count of lost entries up to date.
    fn available(&self, res: &Resources, state: &mut CqState) -> Result<u32> {
        if state.destroyed {
            return Err(EINVAL);
        }
        if self.events.is_gone() {
            return Err(ENODEV);
        }
        let regs = res.control.hw().regs()?;
        let produced = u32::from(CQ_PI::try_read(&regs, &self.block())?);
        let lost = u32::from(CQ_LOST::try_read(&regs, &self.block())?);
        drop(regs);
        let available = produced.wrapping_sub(state.consumed);
        if available > self.entries {
            // Once per queue: poll(2) looks again at every wake-up.
            if !state.faulted {
                state.faulted = true;
                dev_err!(
                    res.control.pdev(),
                    "port {} CQ {}: {} entries produced, {} consumed, in a ring of {}\n",
                    self.port,
                    self.index,
                    produced,
                    state.consumed,
                    self.entries
                );
            }
            return Err(EIO);
        }
        // The device's counter wraps; this one counts from the queue's creation.
        state.lost = state
            .lost
            .saturating_add(lost.wrapping_sub(state.lost_seen).into());
        state.lost_seen = lost;
        Ok(available)
    }

    /// `CQ_WAIT`: waits up to `timeout_ms` until at least `count` entries are there; reports
    /// where they start, how many there are, and `HL_NIC_CQ_OVERFLOW` if the device dropped
    /// entries since the last report.
    pub(crate) fn wait(
        &self,
        res: &Resources,
        count: u32,
        timeout_ms: u32,
    ) -> Result<uapi::hl_nic_cq_poll_wait_out> {
        let events = &self.events;
        if count == 0 || count > self.entries {
            return Err(EINVAL);
        }
        let deadline = Deadline::after(Duration::from_millis(timeout_ms.into()));
        let mut signalled = false;
        let mut guard = events.lock.lock();
        loop {
            let mut state = self.state.lock();
            let available = self.available(res, &mut state)?;
            if available >= count || deadline.passed() {
                let status = if state.lost != state.lost_reported {
                    uapi::hl_nic_cq_status_HL_NIC_CQ_OVERFLOW
                } else if available >= count {
                    uapi::hl_nic_cq_status_HL_NIC_CQ_SUCCESS
                } else {
                    uapi::hl_nic_cq_status_HL_NIC_CQ_TIMEOUT
                };
                state.lost_reported = state.lost;
                return Ok(uapi::hl_nic_cq_poll_wait_out {
                    pi: state.consumed % self.entries,
                    num_of_cqes: available,
                    status,
                    pad: 0,
                    lost: state.lost,
                });
            }
            drop(state);
            if signalled {
                return Err(EINTR);
            }
            signalled = matches!(
                events
                    .wake
                    .wait_interruptible_timeout(&mut guard, deadline.sleep()),
                CondVarTimeoutResult::Signal { .. }
            );
        }
    }

    /// The `POLL*` events of the queue: readable while it has entries not consumed, an error
    /// once it is unusable (a producer index out of the ring). The hang-up of a device going
    /// away is the file's to report, CQs or not.
    pub(crate) fn poll_events(&self, res: &Resources) -> u32 {
        match self.available(res, &mut self.state.lock()) {
            Ok(0) => 0,
            Ok(_) => POLLIN | POLLRDNORM,
            Err(_) => POLLERR,
        }
    }

    /// `CQ_UPDATE_CONSUMED`: hands `count` entries (1 to those available) back to the device.
    pub(crate) fn consume(&self, res: &Resources, count: u32) -> Result {
        let mut state = self.state.lock();
        if count == 0 || count > self.available(res, &mut state)? {
            return Err(EINVAL);
        }
        let consumed = state.consumed.wrapping_add(count);
        let regs = res.control.hw().regs()?;
        CQ_CI::from(consumed).try_write(&regs, &self.block())?;
        drop(regs);
        state.consumed = consumed;
        Ok(())
    }

    /// Maps the ring into `vma`; the caller keeps the queue alive as long as the mapping.
    pub(crate) fn mmap(&self, vma: &VmArea) -> Result {
        self.ring.mmap(vma)
    }
}
