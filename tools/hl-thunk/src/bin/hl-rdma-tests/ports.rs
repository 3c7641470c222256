// SPDX-License-Identifier: GPL-2.0

//! The model's RDMA registers and its port faults, in BAR2 (the map of
//! `hlsim_regs`): what the tests compare the driver's answers with, and
//! how they take a link down or slow it.

use std::time::Duration;

use hlsim_regs::{CONN_VALID, LINK_UP, model_ctl, nic, rdma, sync_manager};

use crate::model::Bar2;
use crate::util::{R, ensure, poll};
use crate::{Env, Four};

/// How long a link takes to come back up.
const LINK_WAIT: Duration = Duration::from_secs(20);

fn link_up(bar: &Bar2, port: u32) -> bool {
    bar.read(nic::block(port as usize) + nic::LINK_STATUS) & LINK_UP != 0
}

/// Waits for the links of `ports` to be up at each of `bars`' devices.
fn wait_up(bars: &[Bar2], ports: &[u32]) -> R<bool> {
    poll(LINK_WAIT, || {
        Ok(bars.iter().all(|b| ports.iter().all(|&p| link_up(b, p))))
    })
}

/// Waits for the tests' link to be up at both ends.
pub fn wait_link_up(env: &Env) -> R {
    ensure!(
        wait_up(&env.bar2, &[env.port])?,
        "no link after {LINK_WAIT:?} (is the Ethernet interface of port {} up on both devices?)",
        env.port
    );
    Ok(())
}

/// Waits for the four-device tests' links to be up at all their ends.
pub fn wait_links_up_four(env: &Four) -> R {
    ensure!(
        wait_up(&env.bar2, &env.ports)?,
        "no links after {LINK_WAIT:?} (are the Ethernet interfaces of ports {:?} up on all four devices?)",
        env.ports
    );
    Ok(())
}

/// Waits for the tests' link to be down at both ends.
pub fn wait_link_down(env: &Env) -> R {
    let down = poll(LINK_WAIT, || {
        Ok(env.bar2.iter().all(|b| !link_up(b, env.port)))
    })?;
    ensure!(down, "the link is still up after {LINK_WAIT:?}");
    Ok(())
}

/// Whether connection `conn` of `port` has its requester and its
/// responder context valid.
pub fn conn_valid(bar: &Bar2, port: u32, conn: u32) -> (bool, bool) {
    let block = rdma::conn(port as usize, conn as usize);
    let valid = |off| bar.read(block + off) & CONN_VALID != 0;
    (valid(rdma::REQ_CTL), valid(rdma::RES_CTL))
}

/// `CQ_LOST` of CQ `cq` of `port`.
pub fn cq_lost(bar: &Bar2, port: u32, cq: u32) -> u32 {
    bar.read(rdma::cq(port as usize, cq as usize) + rdma::CQ_LOST)
}

/// The value of SOB `sob`.
pub fn sob_value(bar: &Bar2, sob: u32) -> u32 {
    bar.read(sync_manager::BASE + sync_manager::sob(sob.into()))
}

/// A model-control register of a port set for the guard's lifetime, 0
/// after.
pub struct PortCtl<'a> {
    bar: &'a Bar2,
    offset: u64,
}

impl<'a> PortCtl<'a> {
    /// `PORT_FAULTS` of `port` set to `bits`.
    pub fn fault(bar: &'a Bar2, port: u32, bits: u32) -> Self {
        Self::set(bar, model_ctl::port_faults(port as usize), bits)
    }

    /// `LINK_RATE` of `port` set to `mbps` Mbit/s.
    pub fn rate(bar: &'a Bar2, port: u32, mbps: u32) -> Self {
        Self::set(bar, model_ctl::link_rate(port as usize), mbps)
    }

    fn set(bar: &'a Bar2, offset: u64, value: u32) -> Self {
        bar.write(offset, value);
        Self { bar, offset }
    }
}

impl Drop for PortCtl<'_> {
    fn drop(&mut self) {
        self.bar.write(self.offset, 0);
    }
}
