// SPDX-License-Identifier: GPL-2.0

//! DCB operations of a port: priority flow control and ETS (IEEE 802.1Qbb, 802.1Qaz).
//!
//! The host runs DCBX, if anyone does (`DCB_CAP_DCBX_HOST | DCB_CAP_DCBX_VER_IEEE`, the only
//! mode accepted); the device has no agent of its own, so "willing" and the peer's
//! recommendations do not apply. Link-level pause (`ethtool -A`) is PFC on every priority:
//! see `ethtool.rs`.

use kernel::{
    net::{
        dcbnl::{dcbx, Ets, Operations, Pfc, Tsa, MAX_TCS},
        dev::Device,
    },
    prelude::*,
};

use super::{port::Port, regs::counter};

/// The DCBX mode: the host's, IEEE.
const DCBX_MODE: u8 = dcbx::HOST | dcbx::VER_IEEE;

/// Traffic classes and priorities, as the registers count them.
// CAST: 8.
const TCS: u8 = MAX_TCS as u8;

/// Checks an ETS configuration and returns its ETS classes as a bit mask: every class strict
/// or ETS, shares of at most 100 % and those of the ETS classes adding up to 100 (strict
/// classes keep the share they were given, which the device ignores), priorities mapped to
/// classes that exist.
pub(crate) fn ets_classes(
    tsa: &[Tsa; MAX_TCS],
    bw: &[u8; MAX_TCS],
    prio_tc: &[u8; MAX_TCS],
) -> Result<u8> {
    let mut tc_ets = 0u8;
    let mut ets_bw = 0u32;
    for (tc, &tsa) in tsa.iter().enumerate() {
        if tsa == Tsa::ETS {
            tc_ets |= 1 << tc;
            ets_bw += u32::from(bw[tc]);
        } else if tsa != Tsa::STRICT {
            return Err(EINVAL);
        }
    }
    if bw.iter().any(|&b| b > 100)
        || (tc_ets != 0 && ets_bw != 100)
        || prio_tc.iter().any(|&tc| tc >= TCS)
    {
        return Err(EINVAL);
    }
    Ok(tc_ets)
}

/// The eight per-priority counters from `first`.
fn per_prio(port: &Port, first: usize) -> [u64; MAX_TCS] {
    core::array::from_fn(|p| port.io.counter(first + p))
}

#[vtable]
impl Operations for Port {
    fn ieee_getets(dev: &Device<Self>, ets: &mut Ets) -> Result {
        let cfg = &dev.data().config.lock().dcb;
        ets.set_ets_cap(TCS);
        ets.set_tc_tx_bw(cfg.tc_bw);
        ets.set_tc_tsa(core::array::from_fn(|tc| {
            if cfg.tc_ets & (1 << tc) != 0 {
                Tsa::ETS
            } else {
                Tsa::STRICT
            }
        }));
        ets.set_prio_tc(cfg.prio_tc);
        Ok(())
    }

    fn ieee_setets(dev: &Device<Self>, ets: &Ets) -> Result {
        let (bw, prio_tc) = (*ets.tc_tx_bw(), *ets.prio_tc());
        let tc_ets = ets_classes(&ets.tc_tsa(), &bw, &prio_tc)?;
        Port::reconfigure(dev, false, |cfg| {
            cfg.dcb.tc_bw = bw;
            cfg.dcb.prio_tc = prio_tc;
            cfg.dcb.tc_ets = tc_ets;
            Ok(())
        })?;
        // Each class has its TX queue: the stack queues each priority on its class's. The
        // stack's map has 16 priorities where the device's descriptor carries 3 bits: 8-15 follow
        // the class the device gives them, that of their low 3 bits.
        for prio in 0..2 * MAX_TCS {
            dev.set_prio_tc_map(prio as u8, prio_tc[prio % MAX_TCS])?;
        }
        Ok(())
    }

    fn ieee_getpfc(dev: &Device<Self>, pfc: &mut Pfc) -> Result {
        let port = dev.data();
        pfc.set_pfc_cap(TCS);
        pfc.set_enabled(port.config.lock().dcb.pfc);
        // Requests are the pauses this port sent, indications those it received.
        pfc.set_requests(per_prio(port, counter::TX_PAUSE));
        pfc.set_indications(per_prio(port, counter::RX_PAUSE));
        Ok(())
    }

    fn ieee_setpfc(dev: &Device<Self>, pfc: &Pfc) -> Result {
        let enabled = pfc.enabled();
        Port::reconfigure(dev, false, |cfg| {
            cfg.dcb.pfc = enabled;
            Ok(())
        })
    }

    // The one mode there is: no state to keep, and `getdcbx` is called under a spinlock.
    fn getdcbx(_dev: &Device<Self>) -> u8 {
        DCBX_MODE
    }

    fn setdcbx(_dev: &Device<Self>, mode: u8) -> Result {
        if mode != DCBX_MODE {
            return Err(EINVAL);
        }
        Ok(())
    }
}
