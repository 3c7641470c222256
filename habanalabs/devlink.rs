// SPDX-License-Identifier: GPL-2.0

//! The device's devlink instance: `devlink dev info`, a port per Ethernet port (which names
//! the port's netdev), health reporters (`device`, `eq`, and `tx` per port) and reload, a
//! driver reinit that deletes the Ethernet half and the devlink ports, resets the device
//! (a hard reset, reset.rs) and builds them again. The `device` reporter's recovery asked by
//! the operator is a hard reset that keeps the Ethernet half.
//!
//! See `Documentation/accel/habanalabs/devlink.rst`.

use core::sync::atomic::Ordering;
use kernel::{
    auxiliary, c_str, device,
    devres::Devres,
    fmt,
    net::devlink::{self, Fmsg, HealthOps, HealthReporter, InfoRequest, Port, Reload},
    new_mutex, pci,
    prelude::*,
    str::{CStr, CString},
    sync::{Arc, Mutex},
};

use crate::{
    device::HlDevice,
    events::cause_name,
    health::Health,
    nic::{EthKind, NicDevice, MAX_PORTS},
    reset::{Cause, State},
};

/// The driver's data in the devlink instance: what reload needs.
#[pin_data]
pub(crate) struct HlDevlink {
    dev: Arc<HlDevice>,
    /// The auxiliary device's number (`habanalabs.eth.N`) and data.
    number: u32,
    nic: NicDevice,
    /// The Ethernet half, deleted and added again by reload.
    #[pin]
    eth: Mutex<Option<Devres<auxiliary::Registration<EthKind>>>>,
}

impl HlDevlink {
    /// Adds the Ethernet half, if the device has ports.
    fn add_eth(&self, dev: &device::Device<device::Bound>) -> Result {
        if self.nic.port_mask() != 0 {
            let reg = auxiliary::Registration::new(dev, self.number, self.nic.clone())?;
            *self.eth.lock() = Some(reg);
        }
        Ok(())
    }

    /// Deletes the Ethernet half: its netdevs go away.
    fn remove_eth(&self) {
        let eth = self.eth.lock().take();
        drop(eth);
    }
}

#[vtable]
impl devlink::Operations for HlDevlink {
    fn info_get(this: &Self, req: &mut InfoRequest) -> Result {
        let id = this.dev.identity();
        req.serial_number(&CString::try_from_fmt(fmt!("{:016x}", id.serial))?)?;
        req.board_serial_number(&CString::try_from_fmt(fmt!("{:016x}", id.serial))?)?;
        req.version_fixed(c_str!("board.id"), c_str!("GAUDI-sim"))?;
        req.version_fixed(
            c_str!("asic.id"),
            &CString::try_from_fmt(fmt!("{:#x}", id.chip.chip()))?,
        )?;
        req.version_fixed(
            c_str!("asic.rev"),
            &CString::try_from_fmt(fmt!("{}", id.chip.revision()))?,
        )?;
        req.version_running(
            c_str!("fw"),
            &CString::try_from_fmt(fmt!("{}.{}", id.version.major(), id.version.minor()))?,
        )
    }

    fn reload_down(this: &Self, _dev: &device::Device<device::Bound>, reload: &Reload) -> Result {
        // The netdevs go before their devlink ports, which the core wants gone.
        this.remove_eth();
        if let Some(r) = this.dev.health().reporters() {
            r.remove_ports(reload);
        }
        // A failure leaves the device disabled; reload_up tells.
        let _ = this.dev.hard_reset(Cause::Reload);
        Ok(())
    }

    fn reload_up(this: &Self, dev: &device::Device<device::Bound>, reload: &Reload) -> Result {
        if let Some(r) = this.dev.health().reporters() {
            r.add_ports(
                &this.dev,
                |n, id| Port::new_locked(reload, n, id),
                |port, tx| HealthReporter::for_port_locked(reload, port, tx),
            )?;
        }
        this.add_eth(dev)?;
        match this.dev.reset().state() {
            State::Operational => {
                dev_info!(dev, "reloaded\n");
                Ok(())
            }
            _ => Err(EIO),
        }
    }
}

/// The `device` reporter: errors the engines report, submissions that time out, and hard
/// resets.
struct DeviceHealth {
    dev: Arc<HlDevice>,
}

impl DeviceHealth {
    fn health(&self) -> &Health {
        self.dev.health()
    }
}

impl HealthOps for DeviceHealth {
    const NAME: &'static CStr = c_str!("device");

    fn diagnose(&self, fmsg: &mut Fmsg) -> Result {
        let h = self.health();
        let (counts, _) = self.dev.eq().counts();
        fmsg.put_u64(
            c_str!("device_errors"),
            h.device_errors.load(Ordering::Relaxed),
        );
        fmsg.put_u64(c_str!("cs_timeouts"), h.cs_timeouts.load(Ordering::Relaxed));
        fmsg.put_str(c_str!("state"), state_name(self.dev.reset().state()));
        fmsg.put_u32(c_str!("hard_resets"), self.dev.reset().hard_resets());
        fmsg.array(c_str!("causes"), |fmsg| {
            for (cause, &n) in counts.iter().enumerate().filter(|(_, &n)| n != 0) {
                fmsg.object(|fmsg| {
                    fmsg.put_str(c_str!("cause"), cause_name(cause as u64));
                    fmsg.put_u64(c_str!("count"), n);
                });
            }
        });
        Ok(())
    }

    fn dump(&self, fmsg: &mut Fmsg) -> Result {
        let h = self.health();
        let last = &h.last_device_error;
        fmsg.put_u64(
            c_str!("device_errors"),
            h.device_errors.load(Ordering::Relaxed),
        );
        if last.ns.load(Ordering::Acquire) != 0 {
            let info = last.info.load(Ordering::Relaxed);
            fmsg.put_str(
                c_str!("last_cause"),
                cause_name(last.what.load(Ordering::Relaxed)),
            );
            fmsg.put_u32(c_str!("last_queue"), (info >> 32) as u32);
            fmsg.put_u32(c_str!("last_info"), info as u32);
            fmsg.put_u64(c_str!("last_ns"), last.ns.load(Ordering::Relaxed));
        }
        fmsg.put_u64(c_str!("cs_timeouts"), h.cs_timeouts.load(Ordering::Relaxed));
        let cs = &h.last_cs_timeout;
        if cs.ns.load(Ordering::Acquire) != 0 {
            fmsg.put_u64(
                c_str!("last_cs_timeout_seq"),
                cs.what.load(Ordering::Relaxed),
            );
            fmsg.put_u64(c_str!("last_cs_timeout_ns"), cs.ns.load(Ordering::Relaxed));
        }
        fmsg.put_str(c_str!("state"), state_name(self.dev.reset().state()));
        fmsg.put_u64(c_str!("hard_resets"), h.hard_resets.load(Ordering::Relaxed));
        let reset = &h.last_hard_reset;
        if reset.ns.load(Ordering::Acquire) != 0 {
            let cause = Cause::from_index(reset.what.load(Ordering::Relaxed));
            fmsg.put_str(
                c_str!("last_hard_reset_cause"),
                cause.map_or(c_str!("other"), Cause::name),
            );
            fmsg.put_u64(
                c_str!("last_hard_reset_ns"),
                reset.ns.load(Ordering::Relaxed),
            );
        }
        Ok(())
    }

    fn recover(&self, _dev: &device::Device<device::Bound>, reported: bool) -> Result {
        // A reported error was handled where it was seen: the job ended with its cause, a
        // submission's queues were reset at its timeout, the device was reset. The operator
        // asks for a hard reset (under the instance's lock, which comes before the reset's).
        if reported {
            return Ok(());
        }
        self.dev.hard_reset(Cause::Operator)
    }
}

/// The `eq` reporter: events the device dropped because the event queue was full.
struct EqHealth {
    dev: Arc<HlDevice>,
}

impl HealthOps for EqHealth {
    const NAME: &'static CStr = c_str!("eq");

    fn diagnose(&self, fmsg: &mut Fmsg) -> Result {
        let (_, lost) = self.dev.eq().counts();
        fmsg.put_u64(c_str!("lost_events"), lost);
        Ok(())
    }

    fn dump(&self, fmsg: &mut Fmsg) -> Result {
        let (counts, lost) = self.dev.eq().counts();
        fmsg.put_u64(c_str!("lost_events"), lost);
        fmsg.put_u64(c_str!("events"), counts.iter().sum());
        Ok(())
    }

    fn recover(&self, _dev: &device::Device<device::Bound>, _reported: bool) -> Result {
        // The queue keeps running; the events are lost for good.
        Ok(())
    }
}

/// A port's `tx` reporter: transmit timeouts.
struct TxHealth {
    dev: Arc<HlDevice>,
    port: u8,
}

impl HealthOps for TxHealth {
    const NAME: &'static CStr = c_str!("tx");

    fn diagnose(&self, fmsg: &mut Fmsg) -> Result {
        let n = &self.dev.health().tx_timeouts[usize::from(self.port)];
        fmsg.put_u32(c_str!("port"), self.port.into());
        fmsg.put_u64(c_str!("tx_timeouts"), n.load(Ordering::Relaxed));
        Ok(())
    }

    fn dump(&self, fmsg: &mut Fmsg) -> Result {
        self.diagnose(fmsg)
    }

    fn recover(&self, _dev: &device::Device<device::Bound>, _reported: bool) -> Result {
        // The port restarts itself after a timeout (its reset work).
        Ok(())
    }
}

/// A devlink port and its reporter, destroyed in this order (both are there until reload
/// removes them).
struct PortEntry {
    number: u8,
    tx: Option<HealthReporter<TxHealth>>,
    port: Option<Port>,
}

/// The name of a device state, for diagnose and dump.
fn state_name(state: State) -> &'static CStr {
    match state {
        State::Operational => c_str!("operational"),
        State::InReset => c_str!("in reset"),
        State::Dead => c_str!("disabled"),
        State::Gone => c_str!("gone"),
    }
}

/// The reporters and ports, shared with [`Health`] while devlink is registered.
#[pin_data]
pub(crate) struct Reporters {
    device: HealthReporter<DeviceHealth>,
    eq: HealthReporter<EqHealth>,
    /// Removed and added again by reload. Never held across a report (which takes the
    /// instance's lock, under which reload takes this one): a report holds its entry instead.
    #[pin]
    ports: Mutex<KVec<Arc<PortEntry>>>,
}

impl Reporters {
    /// Runs `f` on devlink port `number`, if registered.
    pub(crate) fn with_port<R>(&self, number: u8, f: impl FnOnce(&Port) -> R) -> Option<R> {
        let ports = self.ports.lock();
        ports
            .iter()
            .find(|p| p.number == number)
            .and_then(|p| p.port.as_ref())
            .map(f)
    }

    /// Registers a devlink port per Ethernet port of `dev` with `register`, each with its `tx`
    /// reporter made by `reporter`.
    fn add_ports(
        &self,
        dev: &Arc<HlDevice>,
        register: impl Fn(u32, &[u8]) -> Result<Port>,
        reporter: impl Fn(&Port, TxHealth) -> Result<HealthReporter<TxHealth>>,
    ) -> Result {
        let switch_id = dev.identity().serial.to_be_bytes();
        // Registered without the lock, which a report does not hold.
        let mut ports = KVec::new();
        for p in (0..MAX_PORTS).filter(|p| dev.identity().port_mask & (1 << p) != 0) {
            let port = register(p.into(), &switch_id)?;
            let tx = reporter(
                &port,
                TxHealth {
                    dev: dev.clone(),
                    port: p,
                },
            )?;
            let entry = PortEntry {
                number: p,
                tx: Some(tx),
                port: Some(port),
            };
            ports.push(Arc::new(entry, GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let mut list = self.ports.lock();
        for entry in ports {
            list.push(entry, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Removes the ports and their reporters, within a reload; the netdevs are gone.
    fn remove_ports(&self, reload: &Reload) {
        let ports = core::mem::take(&mut *self.ports.lock());
        for entry in ports {
            // The netdevs are gone, and their transmit timeouts' reports with them: nobody else
            // holds the entry.
            let Some(entry) = entry.into_unique_or_drop() else {
                continue;
            };
            let mut entry = Pin::into_inner(entry);
            if let Some(tx) = entry.tx.take() {
                tx.destroy_locked(reload);
            }
            if let Some(port) = entry.port.take() {
                port.unregister_locked(reload);
            }
        }
    }

    /// Reports a device error or a submission timeout.
    pub(crate) fn report_device(&self, msg: &CStr) {
        self.device.report(msg);
    }

    /// Reports lost events.
    pub(crate) fn report_eq(&self, msg: &CStr) {
        self.eq.report(msg);
    }

    pub(crate) fn report_tx_timeout(&self, number: u8, msg: &CStr) {
        let entry = self
            .ports
            .lock()
            .iter()
            .find(|p| p.number == number)
            .cloned();
        if let Some(tx) = entry.as_ref().and_then(|e| e.tx.as_ref()) {
            tx.report(msg);
        }
    }
}

/// The devlink side of a bound device, torn down before the device: the instance goes, then
/// the Ethernet half, the reporters and the ports.
pub(crate) struct Mgmt {
    dev: Arc<HlDevice>,
    _reporters: Arc<Reporters>,
    devlink: devlink::Registration<HlDevlink>,
}

impl Mgmt {
    /// Creates the instance of the device `dev` bound to `pdev`, with `number` for its
    /// Ethernet half, adds the Ethernet half and registers the instance.
    pub(crate) fn new(
        pdev: &pci::Device<device::Core>,
        dev: &Arc<HlDevice>,
        number: u32,
    ) -> Result<Self> {
        let devlink = devlink::Registration::new(
            pdev.as_ref(),
            try_pin_init!(HlDevlink {
                dev: dev.clone(),
                number,
                nic: dev.nic().clone(),
                eth <- new_mutex!(None),
            }),
        )?;
        let device = HealthReporter::new(&devlink, DeviceHealth { dev: dev.clone() })?;
        let eq = HealthReporter::new(&devlink, EqHealth { dev: dev.clone() })?;
        let reporters = Arc::pin_init(
            pin_init!(Reporters {
                device,
                eq,
                ports <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        reporters.add_ports(
            dev,
            |n, id| Port::new(&devlink, n, id),
            HealthReporter::for_port,
        )?;
        let this = Self {
            dev: dev.clone(),
            _reporters: reporters.clone(),
            devlink,
        };
        // The Ethernet half finds its devlink ports through `Health`.
        dev.health().attach(reporters);
        this.devlink.data().add_eth(pdev.as_ref())?;
        this.devlink.register();
        Ok(this)
    }
}

impl Drop for Mgmt {
    fn drop(&mut self) {
        // No more reports, then no more callbacks; the netdevs go before their ports.
        self.dev.health().detach();
        self.devlink.unregister();
        self.devlink.data().remove_eth();
    }
}
