// SPDX-License-Identifier: GPL-2.0

//! Data center bridging operations (`struct dcbnl_rtnl_ops`): IEEE 802.1Qaz enhanced
//! transmission selection (ETS), IEEE 802.1Qbb priority flow control (PFC) and the DCBX mode.
//!
//! A driver implements [`Operations`] for the private data `T` of its netdevs and calls
//! [`Builder::set_dcbnl_ops`](dev::Builder::set_dcbnl_ops). The core holds RTNL around every
//! callback.
//!
//! C header: [`include/net/dcbnl.h`](srctree/include/net/dcbnl.h)

use super::vtable::maybe;
use crate::{
    bindings,
    error::from_result,
    ffi::c_int,
    net::dev::{self, Device},
    prelude::*,
};
use core::marker::PhantomData;

/// Traffic classes, and priorities, of IEEE 802.1Q.
pub const MAX_TCS: usize = bindings::IEEE_8021QAZ_MAX_TCS as usize;

/// DCBX mode bits (`DCB_CAP_DCBX_*`), for [`Operations::getdcbx`] and [`Operations::setdcbx`].
pub mod dcbx {
    use crate::bindings;

    /// The host runs the DCBX agent (e.g. lldpad), not the device's firmware.
    pub const HOST: u8 = bindings::DCB_CAP_DCBX_HOST as u8;
    /// IEEE DCBX.
    pub const VER_IEEE: u8 = bindings::DCB_CAP_DCBX_VER_IEEE as u8;
}

/// A transmission selection algorithm (`IEEE_8021QAZ_TSA_*`). Requests may carry any value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tsa(u8);

impl Tsa {
    /// Strict priority.
    pub const STRICT: Self = Self(bindings::IEEE_8021QAZ_TSA_STRICT as u8);
    /// Enhanced transmission selection: a share of the bandwidth.
    pub const ETS: Self = Self(bindings::IEEE_8021QAZ_TSA_ETS as u8);
}

/// ETS configuration (`struct ieee_ets`): filled by [`Operations::ieee_getets`] (it arrives
/// zeroed), read by [`Operations::ieee_setets`] as user space sent it, unchecked.
#[repr(transparent)]
pub struct Ets(bindings::ieee_ets);

impl Ets {
    /// How many traffic classes can be ETS.
    pub fn ets_cap(&self) -> u8 {
        self.0.ets_cap
    }

    /// Sets how many traffic classes can be ETS.
    pub fn set_ets_cap(&mut self, n: u8) {
        self.0.ets_cap = n;
    }

    /// Whether the configuration accepts the peer's recommendation.
    pub fn willing(&self) -> bool {
        self.0.willing != 0
    }

    /// Whether the credit-based shaper is in use.
    pub fn cbs(&self) -> bool {
        self.0.cbs != 0
    }

    /// Each traffic class's share of the transmit bandwidth, in percent.
    pub fn tc_tx_bw(&self) -> &[u8; MAX_TCS] {
        &self.0.tc_tx_bw
    }

    /// Sets each traffic class's share of the transmit bandwidth, in percent.
    pub fn set_tc_tx_bw(&mut self, bw: [u8; MAX_TCS]) {
        self.0.tc_tx_bw = bw;
    }

    /// Each traffic class's transmission selection algorithm.
    pub fn tc_tsa(&self) -> [Tsa; MAX_TCS] {
        self.0.tc_tsa.map(Tsa)
    }

    /// Sets each traffic class's transmission selection algorithm.
    pub fn set_tc_tsa(&mut self, tsa: [Tsa; MAX_TCS]) {
        self.0.tc_tsa = tsa.map(|t| t.0);
    }

    /// Each priority's traffic class.
    pub fn prio_tc(&self) -> &[u8; MAX_TCS] {
        &self.0.prio_tc
    }

    /// Sets each priority's traffic class.
    pub fn set_prio_tc(&mut self, prio_tc: [u8; MAX_TCS]) {
        self.0.prio_tc = prio_tc;
    }
}

/// PFC configuration and counters (`struct ieee_pfc`): filled by [`Operations::ieee_getpfc`]
/// (it arrives zeroed), read by [`Operations::ieee_setpfc`] as user space sent it, unchecked.
#[repr(transparent)]
pub struct Pfc(bindings::ieee_pfc);

impl Pfc {
    /// How many priorities can have flow control at once.
    pub fn pfc_cap(&self) -> u8 {
        self.0.pfc_cap
    }

    /// Sets how many priorities can have flow control at once.
    pub fn set_pfc_cap(&mut self, n: u8) {
        self.0.pfc_cap = n;
    }

    /// The priorities with flow control, a bit each.
    pub fn enabled(&self) -> u8 {
        self.0.pfc_en
    }

    /// Sets the priorities with flow control, a bit each.
    pub fn set_enabled(&mut self, prios: u8) {
        self.0.pfc_en = prios;
    }

    /// Whether MACsec bypass capability is set.
    pub fn mbc(&self) -> bool {
        self.0.mbc != 0
    }

    /// The allowance for the delay of the link, in bit times.
    pub fn delay(&self) -> u16 {
        self.0.delay
    }

    /// Sets the pause frames sent (requests) for each priority.
    pub fn set_requests(&mut self, counts: [u64; MAX_TCS]) {
        self.0.requests = counts;
    }

    /// Sets the pause frames received (indications) for each priority.
    pub fn set_indications(&mut self, counts: [u64; MAX_TCS]) {
        self.0.indications = counts;
    }
}

/// The DCB callbacks of netdevs whose private data is `Self`.
///
/// Every callback runs under RTNL, in process context.
#[vtable]
pub trait Operations: dev::Operations {
    /// Reports the ETS configuration.
    fn ieee_getets(_dev: &Device<Self>, _ets: &mut Ets) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the ETS configuration.
    fn ieee_setets(_dev: &Device<Self>, _ets: &Ets) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the PFC configuration and counters.
    fn ieee_getpfc(_dev: &Device<Self>, _pfc: &mut Pfc) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the PFC configuration.
    fn ieee_setpfc(_dev: &Device<Self>, _pfc: &Pfc) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// The DCBX mode, [`dcbx`] bits. Called under a spinlock: must not sleep.
    fn getdcbx(_dev: &Device<Self>) -> u8 {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the DCBX mode; an error tells user space the mode is refused (the C callback
    /// returns nonzero).
    fn setdcbx(_dev: &Device<Self>, _mode: u8) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// Holds the C callbacks of `T`.
struct Table<T>(PhantomData<T>);

impl<T: Operations> Table<T> {
    /// # Safety
    ///
    /// The callbacks below are called by the DCB core with a netdev whose DCB operations are
    /// this table, set by `Builder::<T>::set_dcbnl_ops`, valid for the call.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: By the safety requirements above, `dev` was created by `Registration::<T>`.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Only for the DCB core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn ieee_getets(
        dev: *mut bindings::net_device,
        ets: *mut bindings::ieee_ets,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `ets` is valid and exclusive for the call, `Ets` a transparent wrapper; see
            // `Table::dev`.
            unsafe { T::ieee_getets(Self::dev(dev), &mut *ets.cast::<Ets>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the DCB core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn ieee_setets(
        dev: *mut bindings::net_device,
        ets: *mut bindings::ieee_ets,
    ) -> c_int {
        // SAFETY: `ets` (netlink attribute data, bytes only, so aligned) is valid for the call,
        // `Ets` a transparent wrapper; see `Table::dev`.
        from_result(|| unsafe { T::ieee_setets(Self::dev(dev), &*ets.cast::<Ets>()) }.map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the DCB core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn ieee_getpfc(
        dev: *mut bindings::net_device,
        pfc: *mut bindings::ieee_pfc,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `pfc` is the core's own (aligned) structure, valid and exclusive for the
            // call, `Pfc` a transparent wrapper; see `Table::dev`.
            unsafe { T::ieee_getpfc(Self::dev(dev), &mut *pfc.cast::<Pfc>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the DCB core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn ieee_setpfc(
        dev: *mut bindings::net_device,
        pfc: *mut bindings::ieee_pfc,
    ) -> c_int {
        // SAFETY: `pfc` is valid for the call. It is netlink attribute data, aligned to 4 bytes
        // only while the structure holds `u64`s: copy it out unaligned.
        let pfc = Pfc(unsafe { pfc.read_unaligned() });
        // SAFETY: See `Table::dev`.
        from_result(|| T::ieee_setpfc(unsafe { Self::dev(dev) }, &pfc).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the DCB core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn getdcbx(dev: *mut bindings::net_device) -> u8 {
        // SAFETY: See `Table::dev`.
        T::getdcbx(unsafe { Self::dev(dev) })
    }

    /// # Safety
    ///
    /// Only for the DCB core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn setdcbx(dev: *mut bindings::net_device, mode: u8) -> u8 {
        // SAFETY: See `Table::dev`.
        match T::setdcbx(unsafe { Self::dev(dev) }, mode) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    }

    const OPS: bindings::dcbnl_rtnl_ops = bindings::dcbnl_rtnl_ops {
        ieee_getets: maybe(T::HAS_IEEE_GETETS, Self::ieee_getets as _),
        ieee_setets: maybe(T::HAS_IEEE_SETETS, Self::ieee_setets as _),
        ieee_getpfc: maybe(T::HAS_IEEE_GETPFC, Self::ieee_getpfc as _),
        ieee_setpfc: maybe(T::HAS_IEEE_SETPFC, Self::ieee_setpfc as _),
        getdcbx: maybe(T::HAS_GETDCBX, Self::getdcbx as _),
        setdcbx: maybe(T::HAS_SETDCBX, Self::setdcbx as _),
        // SAFETY: The remaining members are optional callbacks; null is valid for each.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// The static table for `T`.
pub(crate) fn vtable<T: Operations>() -> &'static bindings::dcbnl_rtnl_ops {
    &Table::<T>::OPS
}
