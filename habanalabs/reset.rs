// SPDX-License-Identifier: GPL-2.0

//! Hard reset and the watchdog.
//!
//! A hard reset returns the whole device to its power-on state and sets it up again, as
//! mainline's `hl_device_reset` does. It is brought about by:
//! - the watchdog, when the firmware's heartbeat stands still ([`HEARTBEAT_TIMEOUT`]);
//! - a part that could not stop what the device does with host memory: a queue whose
//!   `QMAN_RESET` failed, a port whose `PORT_STOP` failed ([`Reset::escalate`]);
//! - the operator: `devlink health recover` of the `device` reporter, and `devlink dev
//!   reload` (driver reinit);
//! - the PCI core: an error on the link (AER) or a reset of the function (FLR).
//!
//! What users see, step by step, is in `Documentation/accel/habanalabs/driver.rst`
//! (Hard reset). In short: the compute context open at the time is ended (every ioctl but
//! `INFO` fails with `EIO`, `poll(2)` reports `POLLERR | POLLHUP`, its submissions end
//! aborted), and the node can be opened again once the file is closed; the Ethernet ports
//! stay registered, stop, and come back up if they were; `INFO`'s `RESET_COUNT` and sysfs's
//! `hard_reset_cnt` count the resets, the `device` reporter reports them.
//!
//! Nothing the device may still write is freed before the device is stopped: the rings and
//! buffers of the queues and ports are let go only once the reset command completed. If it
//! does not, the device is dead: its bus mastering is turned off (a device that cannot
//! master the bus does no DMA), and only another hard reset (reload) may revive it.
//!
//! The watchdog also notices a device that went away (a surprise removal: its registers read
//! all ones) within [`PERIOD`], and enforces the submissions' timeouts on time, whether or
//! not anybody waits for them.
//!
//! Locking: [`Reset`]'s `clients` lock serialises hard resets; it is taken after the
//! instance lock of devlink and the PCI device lock (reload and the PCI callbacks run under
//! them), and before RTNL (the Ethernet client's steps) and the mailbox's lock. No devlink
//! report is made under it: the watchdog reports the resets afterwards.

use core::{
    sync::atomic::{AtomicI64, AtomicU32, AtomicU8, Ordering},
    time::Duration,
};
use kernel::{
    c_str, new_mutex,
    prelude::*,
    static_lock_class,
    sync::{Arc, Mutex},
    time::msecs_to_jiffies,
    uapi,
    workqueue::{self, DelayedWork, DelayedWorkItem},
};

use crate::{cs::Cs, device::HlDevice, regs::HEARTBEAT, stats::now_ns};

/// How often the watchdog looks at the device.
pub(crate) const PERIOD: Duration = Duration::from_millis(500);
/// How long the heartbeat may stand still before the firmware counts as hung.
pub(crate) const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);

/// What brought a hard reset about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The operator: `devlink health recover`.
    Operator,
    /// `devlink dev reload`.
    Reload,
    /// A queue did not stop (`QMAN_RESET` failed).
    QueueStuck,
    /// A port did not stop (`PORT_STOP` failed).
    PortStuck,
    /// The firmware's heartbeat stood still.
    Heartbeat,
    /// The PCI core: an error on the link, or a reset of the function.
    Pci,
}

impl Cause {
    const ALL: [Cause; 6] = [
        Cause::Operator,
        Cause::Reload,
        Cause::QueueStuck,
        Cause::PortStuck,
        Cause::Heartbeat,
        Cause::Pci,
    ];

    pub(crate) fn name(self) -> &'static CStr {
        match self {
            Cause::Operator => c_str!("operator"),
            Cause::Reload => c_str!("reload"),
            Cause::QueueStuck => c_str!("queue stuck"),
            Cause::PortStuck => c_str!("port stuck"),
            Cause::Heartbeat => c_str!("heartbeat lost"),
            Cause::Pci => c_str!("PCI"),
        }
    }

    /// The cause `cause as u64` names (as kept by `Health`).
    pub(crate) fn from_index(index: u64) -> Option<Cause> {
        Self::ALL.into_iter().find(|&c| c as u64 == index)
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The first cause of `bits`.
    fn first(bits: u32) -> Option<Cause> {
        Self::ALL.into_iter().find(|c| bits & c.bit() != 0)
    }
}

/// The device's state, as `INFO DEVICE_STATUS` and sysfs's `status` tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Operational = 0,
    /// A hard reset is under way.
    InReset = 1,
    /// A hard reset failed: bus mastering is off until another one works.
    Dead = 2,
    /// The device went away (surprise removal, or a permanent PCI failure).
    Gone = 3,
}

/// A part of the driver that uses the device on its own and must stop for a hard reset: the
/// Ethernet half.
pub(crate) trait ResetClient: Send + Sync {
    /// Before the reset: stop using the device and free nothing it may write. Sleeps.
    fn prepare(&self);
    /// After it: what the device held may go; set up again what ran, if `restart` (the device
    /// works again). Sleeps.
    fn done(&self, restart: bool);
}

/// The watchdog's data: the device it watches, from probe's end to unbind.
#[pin_data]
pub(crate) struct Watch {
    #[pin]
    dev: Mutex<Option<Arc<HlDevice>>>,
}

impl DelayedWorkItem for Watch {
    fn run(work: &DelayedWork<Self>) {
        let dev = work.data().dev.lock().clone();
        let Some(dev) = dev else { return };
        if dev.watch() {
            work.schedule(workqueue::system_unbound(), jiffies(PERIOD));
        }
    }
}

fn jiffies(d: Duration) -> kernel::time::Jiffies {
    msecs_to_jiffies(d.as_millis().try_into().unwrap_or(u32::MAX))
}

/// The device's reset state, shared by every part (through `Control`): what the device is up
/// to, the hard resets so far, what asked for one, and the watchdog.
#[pin_data]
pub(crate) struct Reset {
    state: AtomicU8,
    /// Bumped by each hard reset: a compute context opened before one is over.
    generation: AtomicU32,
    hard_resets: AtomicU32,
    /// Causes that asked for a hard reset, a bit each, for the watchdog.
    requested: AtomicU32,
    /// Causes of the resets done and not reported to devlink yet.
    unreported: AtomicU32,
    /// The heartbeat as last read, and when it last moved (ns).
    beat: AtomicU32,
    beat_ns: AtomicI64,
    /// The Ethernet half, while bound. The lock serialises hard resets.
    #[pin]
    clients: Mutex<Option<Arc<dyn ResetClient>>>,
    #[pin]
    watchdog: DelayedWork<Watch>,
}

impl Reset {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            state: AtomicU8::new(State::Operational as u8),
            generation: AtomicU32::new(0),
            hard_resets: AtomicU32::new(0),
            requested: AtomicU32::new(0),
            unreported: AtomicU32::new(0),
            beat: AtomicU32::new(0),
            beat_ns: AtomicI64::new(0),
            clients <- new_mutex!(None),
            watchdog <- DelayedWork::new(
                pin_init!(Watch { dev <- new_mutex!(None) }),
                c_str!("habanalabs-watchdog"),
                static_lock_class!()
            ),
        })
    }

    pub(crate) fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Operational,
            1 => State::InReset,
            2 => State::Dead,
            _ => State::Gone,
        }
    }

    fn set_state(&self, state: State) {
        // Gone stays gone.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s != State::Gone as u8).then_some(state as u8)
            });
    }

    /// The compute contexts of this generation are live; those of an earlier one were ended
    /// by a hard reset.
    pub(crate) fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// Hard resets that completed since the driver bound.
    pub(crate) fn hard_resets(&self) -> u32 {
        self.hard_resets.load(Ordering::Relaxed)
    }

    /// Asks for a hard reset, which the watchdog runs as soon as it can. Callable from any
    /// context.
    pub(crate) fn escalate(&self, cause: Cause) {
        self.requested.fetch_or(cause.bit(), Ordering::AcqRel);
        self.kick();
    }

    /// Has the watchdog look now.
    fn kick(&self) {
        self.watchdog.reschedule(workqueue::system_unbound(), 0);
    }

    /// Sets the Ethernet half that a hard reset stops and restarts (`None` when it goes).
    /// Waits for a hard reset under way.
    pub(crate) fn set_client(&self, client: Option<Arc<dyn ResetClient>>) {
        let old = core::mem::replace(&mut *self.clients.lock(), client);
        drop(old);
    }

    /// Starts watching `dev`, at probe's end.
    pub(crate) fn start(&self, dev: Arc<HlDevice>) {
        self.beat_ns.store(now_ns(), Ordering::Relaxed);
        *self.watchdog.data().dev.lock() = Some(dev);
        self.watchdog
            .schedule(workqueue::system_unbound(), jiffies(PERIOD));
    }

    /// Stops watching, at unbind: waits for a look in progress (and the hard reset it may
    /// run).
    pub(crate) fn stop(&self) {
        self.watchdog.disable_sync();
        let dev = self.watchdog.data().dev.lock().take();
        drop(dev);
    }
}

impl HlDevice {
    /// One look of the watchdog: returns whether to look again.
    fn watch(&self) -> bool {
        let reset = self.reset();
        if self.hw().check_gone() {
            self.vanished();
            return false;
        }
        if let Some(cause) = Cause::first(reset.requested.swap(0, Ordering::AcqRel)) {
            let _ = self.hard_reset(cause);
        } else if reset.state() == State::Operational && self.heartbeat_lost() {
            dev_err!(
                self.pdev(),
                "no heartbeat for {} ms\n",
                HEARTBEAT_TIMEOUT.as_millis()
            );
            let _ = self.hard_reset(Cause::Heartbeat);
        }
        if reset.state() == State::Operational {
            self.enforce_timeouts();
        }
        // Outside the reset lock, which devlink's lock comes before.
        let unreported = reset.unreported.swap(0, Ordering::AcqRel);
        if let Some(cause) = Cause::first(unreported) {
            self.health().hard_reset(cause);
        }
        self.health().report_tx_timeouts();
        true
    }

    /// Whether the heartbeat stood still for [`HEARTBEAT_TIMEOUT`].
    fn heartbeat_lost(&self) -> bool {
        let reset = self.reset();
        let Ok(regs) = self.hw().regs() else {
            return false;
        };
        let beat = u32::from(HEARTBEAT::read(&regs));
        drop(regs);
        let now = now_ns();
        if reset.beat.swap(beat, Ordering::Relaxed) != beat {
            reset.beat_ns.store(now, Ordering::Relaxed);
            return false;
        }
        let still = now - reset.beat_ns.load(Ordering::Relaxed);
        still > HEARTBEAT_TIMEOUT.as_nanos() as i64
    }

    /// Ends the submissions that ran past their timeout, whoever waits for them.
    fn enforce_timeouts(&self) {
        let mut expired = KVec::new();
        for qman in self.queues().iter() {
            qman.expired(&mut expired);
        }
        for cs in expired {
            self.recover_cs(&cs);
        }
    }

    /// Submission `cs` ran past its timeout: it fails as timed out, and its queues are reset
    /// (which ends its jobs). Once per submission; sleeps.
    pub(crate) fn recover_cs(&self, cs: &Cs) {
        if !cs.claim_timeout() {
            return;
        }
        self.stats().cs_timed_out(cs.seq);
        self.health().cs_timed_out(cs.seq);
        self.queues().reset(cs.queues());
    }

    /// The device went away: every user is told, and what the device held is let go (it
    /// does no DMA any more). Unbind then has nothing to wait for.
    pub(crate) fn vanished(&self) {
        let reset = self.reset();
        let clients = reset.clients.lock();
        if reset.state() == State::Gone {
            return;
        }
        dev_err!(self.pdev(), "the device is gone\n");
        self.halt(&clients);
        reset.set_state(State::Gone);
        self.queues().abort_jobs();
        if let Some(c) = clients.as_ref() {
            c.done(false);
        }
        self.stats()
            .error(uapi::HL_NOTIFIER_EVENT_DEVICE_UNAVAILABLE.into());
    }

    /// Stops everybody from using the device: the first half of a hard reset. Called with the
    /// reset lock held (`clients`).
    fn halt(&self, clients: &Option<Arc<dyn ResetClient>>) {
        let reset = self.reset();
        reset.set_state(State::InReset);
        // The reset wipes device memory: importers of it stop first.
        self.revoke_exports();
        // No submission of an ended context is queued after this.
        self.queues()
            .fence(|| reset.generation.fetch_add(1, Ordering::AcqRel));
        // RDMA waits and polls wake up, and see the context ended.
        self.rdma().suspend();
        if let Some(c) = clients.as_ref() {
            c.prepare();
        }
    }

    /// The second half: `reset` is the outcome of the reset command. Called with the reset
    /// lock held.
    fn restart(
        &self,
        clients: &Option<Arc<dyn ResetClient>>,
        cause: Cause,
        reset: Result,
    ) -> Result {
        let r = self.reset();
        let hw = self.hw();
        let ret = reset.and_then(|()| {
            // The device dropped every job: end them, and set the queues up, empty.
            self.queues().abort_jobs();
            self.eq().start(hw)?;
            self.queues().start()?;
            self.decode_bar()
        });
        match ret {
            Ok(()) => {
                hw.set_dead(false);
                self.pdev().set_bus_master(true);
                self.rdma().resume();
                if let Some(c) = clients.as_ref() {
                    c.done(true);
                }
                r.beat_ns.store(now_ns(), Ordering::Relaxed);
                r.hard_resets.fetch_add(1, Ordering::Relaxed);
                r.set_state(State::Operational);
                dev_info!(self.pdev(), "hard reset done ({})\n", cause.name());
            }
            Err(e) => {
                // The device may still be running: cut it off from memory before anything it
                // held goes.
                self.pdev().set_bus_master(false);
                hw.set_dead(true);
                self.queues().abort_jobs();
                if let Some(c) = clients.as_ref() {
                    c.done(false);
                }
                r.set_state(if hw.is_gone() {
                    State::Gone
                } else {
                    State::Dead
                });
                dev_err!(
                    self.pdev(),
                    "hard reset failed ({}): {}; the device is disabled\n",
                    cause.name(),
                    e.to_errno()
                );
            }
        }
        r.unreported.fetch_or(cause.bit(), Ordering::AcqRel);
        self.stats()
            .error(uapi::HL_NOTIFIER_EVENT_DEVICE_RESET.into());
        r.kick();
        ret
    }

    /// Resets the whole device and sets it up again; see the module's documentation. Sleeps;
    /// never reports to devlink itself (the watchdog does, after).
    pub(crate) fn hard_reset(&self, cause: Cause) -> Result {
        let clients = self.reset().clients.lock();
        if self.reset().state() == State::Gone {
            return Err(ENODEV);
        }
        dev_err!(self.pdev(), "hard reset: {}\n", cause.name());
        self.halt(&clients);
        let ret = self.control().hw_reset();
        self.restart(&clients, cause, ret)
    }

    /// The PCI core is about to reset the function, or found an error on the link: the first
    /// half of a hard reset.
    pub(crate) fn pci_halt(&self) {
        let clients = self.reset().clients.lock();
        if self.reset().state() != State::Gone {
            dev_err!(self.pdev(), "hard reset: {}\n", Cause::Pci.name());
            self.halt(&clients);
        }
    }

    /// The PCI core reset the function or the link: the second half, with the reset command
    /// for good measure (a function reset leaves the device in its power-on state).
    pub(crate) fn pci_restart(&self) -> Result {
        let clients = self.reset().clients.lock();
        if self.reset().state() == State::Gone {
            return Err(ENODEV);
        }
        let ret = self.control().hw_reset();
        self.restart(&clients, Cause::Pci, ret)
    }
}
