// SPDX-License-Identifier: GPL-2.0

//! The device's devlink instance: `devlink dev info`, a port per Ethernet port (which names
//! the port's netdev), health reporters (`device`, `eq`, and `tx` per port) and reload, a
//! driver reinit that deletes the Ethernet half, resets the device and builds it again.
//!
//! See `Documentation/accel/habanalabs/devlink.rst`.

use core::sync::atomic::Ordering;
use kernel::{
    auxiliary, c_str, device,
    devres::Devres,
    fmt,
    net::devlink::{self, Fmsg, HealthOps, HealthReporter, InfoRequest, Port},
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

    /// Rebuilds everything the driver set up on the device.
    fn reinit(&self, dev: &device::Device<device::Bound>) -> Result {
        self.remove_eth();
        self.dev.reinit()?;
        self.add_eth(dev)
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
}

/// The `device` reporter: errors the engines report, and submissions that time out.
struct DeviceHealth {
    dev: Arc<HlDevice>,
    /// The instance's data, for the operator's recovery (a driver reinit). Valid while the
    /// reporter is: the reporter is destroyed before the instance is freed.
    devlink: *const HlDevlink,
}

// SAFETY: `devlink` points at `Sync` data that outlives the reporter; the rest is `Send`.
unsafe impl Send for DeviceHealth {}
// SAFETY: As above; shared access only.
unsafe impl Sync for DeviceHealth {}

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
        Ok(())
    }

    fn recover(&self, dev: &device::Device<device::Bound>, reported: bool) -> Result {
        // A reported error was handled where it was seen: the job ended with its cause, a
        // submission's queues were reset at its timeout. The operator asks for a reinit.
        if reported {
            return Ok(());
        }
        // SAFETY: The instance outlives the reporter (see the field).
        unsafe { &*self.devlink }.reinit(dev)
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

/// A devlink port and its reporter, destroyed in this order.
struct PortEntry {
    number: u8,
    tx: HealthReporter<TxHealth>,
    port: Port,
}

/// The reporters and ports, shared with [`Health`] while devlink is registered.
pub(crate) struct Reporters {
    device: HealthReporter<DeviceHealth>,
    eq: HealthReporter<EqHealth>,
    ports: KVec<PortEntry>,
}

impl Reporters {
    pub(crate) fn port(&self, number: u8) -> Option<&Port> {
        self.ports
            .iter()
            .find(|p| p.number == number)
            .map(|p| &p.port)
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
        if let Some(p) = self.ports.iter().find(|p| p.number == number) {
            p.tx.report(msg);
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
        let mut ports = KVec::new();
        let switch_id = dev.identity().serial.to_be_bytes();
        for p in (0..MAX_PORTS).filter(|p| dev.identity().port_mask & (1 << p) != 0) {
            let port = Port::new(&devlink, p.into(), &switch_id)?;
            let tx = HealthReporter::for_port(
                &port,
                TxHealth {
                    dev: dev.clone(),
                    port: p,
                },
            )?;
            ports.push(
                PortEntry {
                    number: p,
                    tx,
                    port,
                },
                GFP_KERNEL,
            )?;
        }
        let reporters = Arc::new(
            Reporters {
                device: HealthReporter::new(
                    &devlink,
                    DeviceHealth {
                        dev: dev.clone(),
                        devlink: devlink.data(),
                    },
                )?,
                eq: HealthReporter::new(&devlink, EqHealth { dev: dev.clone() })?,
                ports,
            },
            GFP_KERNEL,
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
