// SPDX-License-Identifier: GPL-2.0

//! The model's RDMA registers and its port faults, in BAR2 (offsets from
//! `device-model.rst`): what the tests compare the driver's answers with,
//! and how they take a link down or slow it.

use std::time::Duration;

use crate::model::Bar2;
use crate::util::{R, ensure, poll};
use crate::{Env, Four};

pub const CAPS: usize = 0x008;
pub const CAP_RDMA: u32 = 1 << 3;
pub const RDMA_CONNS: usize = 0x044;
pub const RDMA_CQS: usize = 0x048;

const PORT_BLOCKS: usize = 0x2_0000;
const PORT_STRIDE: usize = 0x800;
const LINK_STATUS: usize = 0x008;
const LINK_UP: u32 = 1;
const CONNS: usize = 0x4_0000;
const CONN_PORT_STRIDE: usize = 0x2000;
const CONN_STRIDE: usize = 0x80;
const REQ_CTL: usize = 0x00;
const RES_CTL: usize = 0x20;
const CONN_VALID: u32 = 1;
const CQS: usize = 0x5_4000;
const CQ_PORT_STRIDE: usize = 0x200;
const CQ_STRIDE: usize = 0x20;
const CQ_LOST: usize = 0x18;
const SOBS: usize = 0x1_0000;
const PORT_FAULTS: usize = 0xff010;
const LINK_RATE: usize = 0xff040;
/// `PORT_FAULTS` bit: the link goes down as if unplugged.
pub const FAULT_LINK_DOWN: u32 = 1;

/// How long a link takes to come back up.
const LINK_WAIT: Duration = Duration::from_secs(20);

fn link_up(bar: &Bar2, port: u32) -> bool {
    bar.read(PORT_BLOCKS + PORT_STRIDE * port as usize + LINK_STATUS) & LINK_UP != 0
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
    let block = CONNS + CONN_PORT_STRIDE * port as usize + CONN_STRIDE * conn as usize;
    let valid = |off| bar.read(block + off) & CONN_VALID != 0;
    (valid(REQ_CTL), valid(RES_CTL))
}

/// `CQ_LOST` of CQ `cq` of `port`.
pub fn cq_lost(bar: &Bar2, port: u32, cq: u32) -> u32 {
    bar.read(CQS + CQ_PORT_STRIDE * port as usize + CQ_STRIDE * cq as usize + CQ_LOST)
}

/// The value of SOB `sob`.
pub fn sob_value(bar: &Bar2, sob: u32) -> u32 {
    bar.read(SOBS + 4 * sob as usize)
}

/// A model-control register of a port set for the guard's lifetime, 0
/// after.
pub struct PortCtl<'a> {
    bar: &'a Bar2,
    offset: usize,
}

impl<'a> PortCtl<'a> {
    /// `PORT_FAULTS` of `port` set to `bits`.
    pub fn fault(bar: &'a Bar2, port: u32, bits: u32) -> Self {
        Self::set(bar, PORT_FAULTS + 4 * port as usize, bits)
    }

    /// `LINK_RATE` of `port` set to `mbps` Mbit/s.
    pub fn rate(bar: &'a Bar2, port: u32, mbps: u32) -> Self {
        Self::set(bar, LINK_RATE + 4 * port as usize, mbps)
    }

    fn set(bar: &'a Bar2, offset: usize, value: u32) -> Self {
        bar.write(offset, value);
        Self { bar, offset }
    }
}

impl Drop for PortCtl<'_> {
    fn drop(&mut self) {
        self.bar.write(self.offset, 0);
    }
}
