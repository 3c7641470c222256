// SPDX-License-Identifier: GPL-2.0

//! The Ethernet driver: binds the `habanalabs.eth` auxiliary device of each device and
//! registers a netdev per NIC port.
//!
//! It reaches the hardware only through [`NicDevice`], so it could live in drivers/net.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    auxiliary, c_str, device, irq,
    net::dev::{is_valid_ether_addr, Device, Features, Registration, Rtnl},
    prelude::*,
    sync::Arc,
    types::ARef,
};

use crate::{
    nic::{EthKind, NicDevice, PortNetdevs, MAX_PORTS},
    reset::ResetClient,
};

mod config;
pub(crate) mod dcb;
pub(crate) mod ethtool;
mod port;
pub(crate) mod regs;
mod selftest;
mod txrx;

use port::Port;
use regs::{NUM_RXQ, NUM_TXQ};
use txrx::Descriptors;

/// A port's netdev, with its interrupts (one per RX queue), unregistered once the port's
/// transmit-timeout rebuild is disarmed.
struct PortEntry {
    netdev: Registration<Port>,
}

impl Drop for PortEntry {
    fn drop(&mut self) {
        self.netdev.handle().data().disarm();
    }
}

/// The ports as a hard reset sees them (reset.rs): it stops them first and restarts them
/// last; they stay registered. RDMA asks it in which namespace each netdev is (rdma.rs).
struct PortsReset {
    ports: KVec<ARef<Device<Port>>>,
    /// The ports that were up when the reset began, a bit each (by position).
    live: AtomicU32,
}

impl ResetClient for PortsReset {
    fn prepare(&self) {
        let _rtnl = Rtnl::lock();
        let mut live = 0;
        for (i, dev) in self.ports.iter().enumerate() {
            if Port::halt(dev) {
                live |= 1 << i;
            }
        }
        self.live.store(live, Ordering::Relaxed);
    }

    fn done(&self, restart: bool) {
        let _rtnl = Rtnl::lock();
        let live = self.live.swap(0, Ordering::Relaxed);
        for (i, dev) in self.ports.iter().enumerate() {
            Port::resume(dev, restart && live & (1 << i) != 0);
        }
    }
}

impl PortNetdevs for PortsReset {
    fn in_current_netns(&self, port: u8) -> bool {
        self.ports
            .iter()
            .any(|dev| dev.data().index() == port && dev.in_current_netns())
    }
}

/// The hard reset's and RDMA's hold on the ports, given up first when the driver unbinds:
/// the netdevs it refers to go after it.
struct ResetHook(NicDevice);

impl Drop for ResetHook {
    fn drop(&mut self) {
        self.0.set_netdevs(None);
        self.0.set_reset_client(None);
    }
}

/// The driver's data for one device: its ports.
pub(crate) struct EthDriver {
    _reset: ResetHook,
    _ports: KVec<PortEntry>,
}

impl auxiliary::Driver for EthDriver {
    type Kind = EthKind;

    fn probe(adev: &auxiliary::Device<device::Core>, nic: &NicDevice) -> Result<Pin<KBox<Self>>> {
        let mut ports = KVec::new();
        for p in (0..MAX_PORTS).filter(|p| nic.port_mask() & (1 << p) != 0) {
            let descs = Descriptors::alloc(&nic.bound()?)?;
            let port = Port::new(nic.clone(), p, descs);
            let (txqs, rxqs) = (NUM_TXQ as u32, NUM_RXQ as u32);
            let netdev = Registration::new_mq(adev.as_ref(), txqs, rxqs, port, |b| {
                let mac = nic.mac(p);
                if is_valid_ether_addr(&mac) {
                    b.set_mac(&mac);
                } else {
                    dev_warn!(
                        adev.as_ref(),
                        "port {}: invalid MAC address {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} from the device, using a random one\n",
                        p,
                        mac[0],
                        mac[1],
                        mac[2],
                        mac[3],
                        mac[4],
                        mac[5]
                    );
                    b.set_random_mac();
                }
                b.set_mtu_range(txrx::MTU_MIN, txrx::MTU_MAX);
                b.set_dev_port(p.into());
                b.set_unicast_filter();
                // The devlink port names the netdev (`pN`, the device's switch id).
                nic.health().with_port(p, |port| {
                    // SAFETY: The devlink ports are unregistered only after this auxiliary
                    // device is deleted, which unregisters the netdev first.
                    unsafe { b.set_devlink_port(port) }
                });
                b.set_watchdog_timeout(port::WATCHDOG_MS);
                b.set_features(
                    port::OFFLOADS.union(Features::LOOPBACK),
                    port::OFFLOADS,
                    Features::EMPTY,
                );
                // The model finds the IP header behind an 802.1Q tag too.
                b.set_vlan_features(port::OFFLOADS);
                b.set_ethtool_ops();
                b.set_dcbnl_ops();
                b.set_queue_stats();
                // A TX queue per traffic class: the stack picks it by the frame's priority.
                b.set_tc_queues(NUM_TXQ as u8)?;
                for r in 0..NUM_RXQ {
                    b.add_napi(|port| port.napi(r))?;
                }
                // Before the netdev is registered: it may be brought up at once (udev).
                for r in 0..NUM_RXQ {
                    b.request_irq(
                        nic.irq(adev, p, r as u16)?,
                        irq::Flags::TRIGGER_NONE,
                        c_str!("habanalabs-eth"),
                        r as u32,
                    )?;
                }
                Ok(())
            })?;
            ports.push(PortEntry { netdev }, GFP_KERNEL)?;
        }
        dev_info!(adev.as_ref(), "{} ports\n", ports.len());
        let mut handles = KVec::with_capacity(ports.len(), GFP_KERNEL)?;
        for p in ports.iter() {
            let handle = p.netdev.handle();
            Port::arm(&handle);
            handles.push(handle, GFP_KERNEL)?;
        }
        let client = Arc::new(
            PortsReset {
                ports: handles,
                live: AtomicU32::new(0),
            },
            GFP_KERNEL,
        )?;
        nic.set_reset_client(Some(client.clone()));
        nic.set_netdevs(Some(client));
        Ok(KBox::pin(
            Self {
                _reset: ResetHook(nic.clone()),
                _ports: ports,
            },
            GFP_KERNEL,
        )?)
    }
}
