// SPDX-License-Identifier: GPL-2.0

//! ethtool operations (`struct ethtool_ops`).
//!
//! A driver implements [`Operations`] for the private data `T` of its netdevs and calls
//! [`Builder::set_ethtool_ops`](dev::Builder::set_ethtool_ops). Each callback gets the
//! [`Device<T>`] and a small wrapper of the C structure it reads a request from or fills a
//! reply into. The core holds RTNL around every callback.
//!
//! The string sets (driver statistics, private flags, self-tests) are constants of the trait:
//! the abstraction answers `get_sset_count` and `get_strings` from them, so names, counts and
//! the values the driver fills cannot disagree, and a name too long for `ETH_GSTRING_LEN`
//! fails the build.
//!
//! The standard statistics groups (pause, IEEE 802.3 MAC and PHY, RMON, FEC) arrive with every
//! counter set to "not reported"; the driver sets those the device has.
//!
//! The request and reply types live in one module per concern, re-exported here: link settings
//! (`link`), ring, coalescing and flag parameters (`params`), statistics (`stats`) and plug-in
//! modules (`module`). Each also holds the C callbacks of its operations.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)

use super::vtable::maybe;
use crate::{
    bindings, device,
    ffi::{c_char, c_int},
    net::dev::{self, Device},
    prelude::*,
    str::CStr,
};
use core::{fmt, marker::PhantomData, ops::RangeInclusive};

mod link;
mod module;
mod params;
mod rss;
mod stats;

pub use self::{
    link::{
        AutonegSubstate, CableIssueSubstate, Connector, Duplex, FecModes, FecParam, LinkExtState,
        LinkMode, LinkModes, LinkSettings, LinkTrainingSubstate, LogicalMismatchSubstate,
        ModuleSubstate, PauseParam, SignalIntegritySubstate,
    },
    module::{
        ModuleInfo, ModulePage, ModuleType, MODULE_EEPROM_PAGE_LEN, SFF_8436_LEN, SFF_8436_MAX_LEN,
        SFF_8636_LEN, SFF_8636_MAX_LEN,
    },
    params::{Coalesce, CoalesceParams, RingParam},
    rss::{Channels, Rxfh},
    stats::{
        EthCtrlStats, EthMacStats, EthPhyStats, FecStat, FecStats, LinkExtStats, PauseStats,
        RmonStats, RMON_HIST_MAX,
    },
};

/// The length of an ethtool string, the terminating NUL included.
const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// Writes `value` into the C string `buf`, truncated if needed, NUL-terminated and padded with
/// NULs, like `strscpy_pad`.
fn set_c_string(buf: &mut [c_char], value: impl fmt::Display) {
    struct Writer<'a> {
        buf: &'a mut [c_char],
        pos: usize,
    }

    impl fmt::Write for Writer<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for &b in s.as_bytes() {
                // Keep room for the NUL; truncate silently, as `strscpy` does.
                if self.pos + 1 >= self.buf.len() {
                    break;
                }
                self.buf[self.pos] = b as c_char;
                self.pos += 1;
            }
            Ok(())
        }
    }

    buf.fill(0);
    let _ = fmt::write(&mut Writer { buf, pos: 0 }, format_args!("{value}"));
}

/// Whether every name fits an ethtool string with its NUL, and none is empty.
const fn names_fit(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if names[i].is_empty() || names[i].len() >= GSTRING_LEN {
            return false;
        }
        i += 1;
    }
    true
}

/// A netlink request's extended acknowledgement, for a message explaining an error.
///
/// Requests that come through the legacy ioctl have none; messages are then dropped.
///
/// # Invariants
///
/// `ptr` is null or a `netlink_ext_ack` valid for `'a` that nothing else writes meanwhile.
pub struct ExtAck<'a> {
    ptr: *mut bindings::netlink_ext_ack,
    _p: PhantomData<&'a mut bindings::netlink_ext_ack>,
}

impl ExtAck<'_> {
    /// # Safety
    ///
    /// `ptr` is null or a `netlink_ext_ack` valid and not otherwise written for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::netlink_ext_ack) -> ExtAck<'a> {
        // INVARIANT: By the safety requirements.
        ExtAck {
            ptr,
            _p: PhantomData,
        }
    }

    /// Sets the message user space sees with the error, like `NL_SET_ERR_MSG`.
    pub fn set_message(&mut self, msg: &'static CStr) {
        if !self.ptr.is_null() {
            // SAFETY: By the type invariant the ack is valid and ours to write; the message is
            // static, as `NL_SET_ERR_MSG` requires.
            unsafe { (*self.ptr)._msg = msg.as_char_ptr() };
        }
    }
}

/// Driver information (`struct ethtool_drvinfo`), filled by [`Operations::get_drvinfo`].
///
/// The core fills `version` with the kernel release, and the bus and driver names from the
/// netdev's parent if the driver leaves them empty; the string set sizes come from the
/// [`Operations`] constants.
#[repr(transparent)]
pub struct DrvInfo(bindings::ethtool_drvinfo);

impl DrvInfo {
    /// Sets the driver name.
    pub fn set_driver(&mut self, name: impl fmt::Display) {
        set_c_string(&mut self.0.driver, name);
    }

    /// Sets the firmware version.
    pub fn set_fw_version(&mut self, version: impl fmt::Display) {
        set_c_string(&mut self.0.fw_version, version);
    }

    /// Sets the bus address to `dev`'s name, e.g. a PCI function's `0000:00:04.0`.
    pub fn set_bus_info(&mut self, dev: &device::Device) {
        // SAFETY: `dev` is a valid device; `dev_name` returns its NUL-terminated name, which
        // lives as long as the device.
        let name = unsafe { CStr::from_char_ptr(bindings::dev_name(dev.as_raw())) };
        set_c_string(&mut self.0.bus_info, name);
    }
}

/// A self-test run (`struct ethtool_test` and its results), for [`Operations::self_test`].
///
/// Result `i` belongs to test [`Operations::SELF_TESTS`]`[i]`; 0 means passed.
pub struct SelfTest<'a> {
    flags: &'a mut u32,
    results: &'a mut [u64],
}

impl SelfTest<'_> {
    /// Whether the user allowed offline tests, which may interrupt traffic.
    pub fn offline(&self) -> bool {
        *self.flags & bindings::ethtool_test_flags_ETH_TEST_FL_OFFLINE != 0
    }

    fn set(&mut self, test: usize, value: u64) {
        if let Some(r) = self.results.get_mut(test) {
            *r = value;
            if value != 0 {
                *self.flags |= bindings::ethtool_test_flags_ETH_TEST_FL_FAILED;
            }
        }
    }

    /// Test `test` passed (also the result of a test that did not run).
    pub fn pass(&mut self, test: usize) {
        self.set(test, 0);
    }

    /// Test `test` failed: its result is 1 and the run fails.
    pub fn fail(&mut self, test: usize) {
        self.set(test, 1);
    }

    /// Test `test` could not run: its result is the (positive) errno and the run fails.
    pub fn error(&mut self, test: usize, err: Error) {
        self.set(test, u64::from(err.to_errno().unsigned_abs()));
    }
}

/// The ethtool callbacks of netdevs whose private data is `Self`.
///
/// Every callback runs under RTNL, in process context. `get_link` is always
/// `ethtool_op_get_link` (the carrier state).
#[vtable]
pub trait Operations: dev::Operations {
    /// The names of the driver's statistics (`ethtool -S`), in the order
    /// [`Operations::get_ethtool_stats`] fills them. Each must be a counter, not a title, and
    /// should not repeat one of a standard group. Shorter than `ETH_GSTRING_LEN`.
    const STATS: &'static [&'static str] = &[];

    /// The names of the private flags (`ethtool --show-priv-flags`), bit `i` for name `i`.
    const PRIV_FLAGS: &'static [&'static str] = &[];

    /// The names of the self-tests (`ethtool -t`), result `i` for name `i`.
    const SELF_TESTS: &'static [&'static str] = &[];

    /// The coalescing parameters [`Operations::set_coalesce`] accepts.
    const SUPPORTED_COALESCE_PARAMS: CoalesceParams = CoalesceParams::NONE;

    /// The frame lengths (with FCS) of the RMON histogram buckets, at most [`RMON_HIST_MAX`].
    const RMON_HIST_RANGES: &'static [RangeInclusive<u16>] = &[];

    /// Bytes in the RSS hash key, with [`Operations::get_rxfh`].
    const RSS_KEY_SIZE: u32 = 0;

    /// Entries in the RSS indirection table, with [`Operations::get_rxfh`].
    const RSS_INDIR_SIZE: u32 = 0;

    /// Reports the channels (`ethtool -l`).
    fn get_channels(_dev: &Device<Self>, _ch: &mut Channels) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the channels (`ethtool -L`).
    fn set_channels(_dev: &Device<Self>, _ch: &Channels) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the RSS hash function, key and indirection table (`ethtool -x`).
    fn get_rxfh(_dev: &Device<Self>, _rxfh: &mut Rxfh) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the RSS key or indirection table (`ethtool -X`), each entry of which the core
    /// has checked is a receive queue in use.
    fn set_rxfh(_dev: &Device<Self>, _rxfh: &mut Rxfh, _extack: &mut ExtAck<'_>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the driver, firmware and bus.
    fn get_drvinfo(_dev: &Device<Self>, _info: &mut DrvInfo) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the link settings; the structure arrives zeroed.
    fn get_link_ksettings(_dev: &Device<Self>, _settings: &mut LinkSettings) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the link settings.
    fn set_link_ksettings(_dev: &Device<Self>, _settings: &LinkSettings) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the ring sizes and their maxima.
    fn get_ringparam(_dev: &Device<Self>, _ring: &mut RingParam) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the ring sizes, which the core checked against the maxima.
    fn set_ringparam(_dev: &Device<Self>, _ring: &RingParam, _extack: &mut ExtAck<'_>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the interrupt coalescing.
    fn get_coalesce(_dev: &Device<Self>, _coalesce: &mut Coalesce) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the interrupt coalescing; needs [`Operations::SUPPORTED_COALESCE_PARAMS`].
    fn set_coalesce(_dev: &Device<Self>, _coalesce: &Coalesce, _extack: &mut ExtAck<'_>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports link-level flow control.
    fn get_pauseparam(_dev: &Device<Self>, _pause: &mut PauseParam) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes link-level flow control.
    fn set_pauseparam(_dev: &Device<Self>, _pause: &PauseParam) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the pause frame counters (`ethtool -I -a`).
    fn get_pause_stats(_dev: &Device<Self>, _stats: &mut PauseStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Fills the values of [`Operations::STATS`], one each.
    fn get_ethtool_stats(_dev: &Device<Self>, _data: &mut [u64]) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the private flags, bit `i` for [`Operations::PRIV_FLAGS`]`[i]`.
    fn get_priv_flags(_dev: &Device<Self>) -> u32 {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the private flags; the abstraction refuses bits beyond
    /// [`Operations::PRIV_FLAGS`] with `EINVAL`.
    fn set_priv_flags(_dev: &Device<Self>, _flags: u32) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Runs the tests of [`Operations::SELF_TESTS`]; the core has marked the interface as
    /// testing (`IF_OPER_TESTING`) for the duration.
    fn self_test(_dev: &Device<Self>, _test: &mut SelfTest<'_>) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the plug-in module's EEPROM map.
    fn get_module_info(_dev: &Device<Self>, _info: &mut ModuleInfo) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reads the module EEPROM from `offset`, in the flat layout of
    /// [`Operations::get_module_info`]; the core has checked the range against it.
    fn get_module_eeprom(_dev: &Device<Self>, _offset: u32, _data: &mut [u8]) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reads part of a module EEPROM page; returns how many bytes it read.
    fn get_module_eeprom_by_page(
        _dev: &Device<Self>,
        _page: &mut ModulePage<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result<usize> {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the FEC configuration; the FEC counters are only asked for alongside it.
    fn get_fecparam(_dev: &Device<Self>, _fec: &mut FecParam) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the FEC configuration (`ethtool --set-fec`). The request holds one or more
    /// modes; a driver refuses those the port cannot run (`EINVAL` or `EOPNOTSUPP`).
    fn set_fecparam(_dev: &Device<Self>, _fec: &FecParam) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports why the link is down; `ENODATA` if there is nothing to report (the link is up,
    /// or the device does not say). Asked while the interface is up.
    fn get_link_ext_state(_dev: &Device<Self>) -> Result<LinkExtState> {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the FEC counters (`ethtool -I --show-fec`).
    fn get_fec_stats(_dev: &Device<Self>, _stats: &mut FecStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the link counters (netlink `linkstate-get` with statistics: `ext-down-cnt`).
    fn get_link_ext_stats(_dev: &Device<Self>, _stats: &mut LinkExtStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the IEEE 802.3 PHY counters (`ethtool -S --groups eth-phy`).
    fn get_eth_phy_stats(_dev: &Device<Self>, _stats: &mut EthPhyStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the IEEE 802.3 MAC counters (`ethtool -S --groups eth-mac`).
    fn get_eth_mac_stats(_dev: &Device<Self>, _stats: &mut EthMacStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the IEEE 802.3 MAC control counters (`ethtool -S --groups eth-ctrl`).
    fn get_eth_ctrl_stats(_dev: &Device<Self>, _stats: &mut EthCtrlStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the RMON counters (`ethtool -S --groups rmon`).
    fn get_rmon_stats(_dev: &Device<Self>, _stats: &mut RmonStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The names of string set `set` of `T`, if it has any.
fn string_set<T: Operations>(set: u32) -> Option<&'static [&'static str]> {
    let names = match set {
        bindings::ethtool_stringset_ETH_SS_STATS => T::STATS,
        bindings::ethtool_stringset_ETH_SS_PRIV_FLAGS => T::PRIV_FLAGS,
        bindings::ethtool_stringset_ETH_SS_TEST => T::SELF_TESTS,
        _ => return None,
    };
    (!names.is_empty()).then_some(names)
}

/// Holds the C callbacks of `T`.
struct Table<T>(PhantomData<T>);

impl<T: Operations> Table<T> {
    /// Whether `T` has any string set.
    const HAS_STRINGS: bool =
        !T::STATS.is_empty() || !T::PRIV_FLAGS.is_empty() || !T::SELF_TESTS.is_empty();

    /// # Safety
    ///
    /// The callbacks below are called by the ethtool core with a netdev whose ethtool
    /// operations are this table, set by `Builder::<T>::set_ethtool_ops`, valid for the call.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: By the safety requirements above, `dev` was created by `Registration::<T>`.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: `info` is valid and exclusive for the call, `DrvInfo` a transparent wrapper;
        // see `Table::dev`.
        unsafe { T::get_drvinfo(Self::dev(dev), &mut *info.cast::<DrvInfo>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_sset_count(_dev: *mut bindings::net_device, set: c_int) -> c_int {
        match u32::try_from(set).ok().and_then(string_set::<T>) {
            // CAST: The names are a constant list, far shorter than `c_int::MAX`.
            Some(names) => names.len() as c_int,
            None => EOPNOTSUPP.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_strings(_dev: *mut bindings::net_device, set: u32, data: *mut u8) {
        let Some(names) = string_set::<T>(set) else {
            return;
        };
        // SAFETY: The core allocated as many strings as `get_sset_count` returned for `set`,
        // `ETH_GSTRING_LEN` bytes each, exclusive for the call.
        let buf = unsafe { core::slice::from_raw_parts_mut(data, names.len() * GSTRING_LEN) };
        // Not `chunks_exact_mut`: its division by a run-time chunk size panics through a
        // function objtool does not know as noreturn.
        for (i, name) in names.iter().enumerate() {
            let Some(slot) = buf.get_mut(i * GSTRING_LEN..(i + 1) * GSTRING_LEN) else {
                break;
            };
            slot.fill(0);
            // `vtable` checked at build time that each name fits with its NUL.
            for (dst, &src) in slot.iter_mut().zip(name.as_bytes()).take(GSTRING_LEN - 1) {
                *dst = src;
            }
        }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn self_test(
        dev: *mut bindings::net_device,
        test: *mut bindings::ethtool_test,
        data: *mut u64,
    ) {
        // SAFETY: `test` is valid and exclusive for the call; the core allocated as many
        // results as `get_sset_count(ETH_SS_TEST)` returned, `T::SELF_TESTS.len()`.
        let mut run = unsafe {
            SelfTest {
                flags: &mut (*test).flags,
                results: core::slice::from_raw_parts_mut(data, T::SELF_TESTS.len()),
            }
        };
        // SAFETY: See `Table::dev`.
        T::self_test(unsafe { Self::dev(dev) }, &mut run)
    }

    const OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        supported_coalesce_params: T::SUPPORTED_COALESCE_PARAMS.0,
        get_drvinfo: maybe(T::HAS_GET_DRVINFO, Self::get_drvinfo as _),
        get_link: Some(bindings::ethtool_op_get_link),
        get_link_ksettings: maybe(T::HAS_GET_LINK_KSETTINGS, Self::get_link_ksettings as _),
        set_link_ksettings: maybe(T::HAS_SET_LINK_KSETTINGS, Self::set_link_ksettings as _),
        get_ringparam: maybe(T::HAS_GET_RINGPARAM, Self::get_ringparam as _),
        set_ringparam: maybe(T::HAS_SET_RINGPARAM, Self::set_ringparam as _),
        get_coalesce: maybe(T::HAS_GET_COALESCE, Self::get_coalesce as _),
        set_coalesce: maybe(T::HAS_SET_COALESCE, Self::set_coalesce as _),
        get_pauseparam: maybe(T::HAS_GET_PAUSEPARAM, Self::get_pauseparam as _),
        set_pauseparam: maybe(T::HAS_SET_PAUSEPARAM, Self::set_pauseparam as _),
        get_pause_stats: maybe(T::HAS_GET_PAUSE_STATS, Self::get_pause_stats as _),
        get_sset_count: maybe(Self::HAS_STRINGS, Self::get_sset_count as _),
        get_strings: maybe(Self::HAS_STRINGS, Self::get_strings as _),
        get_ethtool_stats: maybe(T::HAS_GET_ETHTOOL_STATS, Self::get_ethtool_stats as _),
        get_priv_flags: maybe(T::HAS_GET_PRIV_FLAGS, Self::get_priv_flags as _),
        set_priv_flags: maybe(T::HAS_SET_PRIV_FLAGS, Self::set_priv_flags as _),
        self_test: maybe(T::HAS_SELF_TEST, Self::self_test as _),
        get_module_info: maybe(T::HAS_GET_MODULE_INFO, Self::get_module_info as _),
        get_module_eeprom: maybe(T::HAS_GET_MODULE_EEPROM, Self::get_module_eeprom as _),
        get_module_eeprom_by_page: maybe(
            T::HAS_GET_MODULE_EEPROM_BY_PAGE,
            Self::get_module_eeprom_by_page as _,
        ),
        get_fecparam: maybe(T::HAS_GET_FECPARAM, Self::get_fecparam as _),
        set_fecparam: maybe(T::HAS_SET_FECPARAM, Self::set_fecparam as _),
        get_fec_stats: maybe(T::HAS_GET_FEC_STATS, Self::get_fec_stats as _),
        get_link_ext_state: maybe(T::HAS_GET_LINK_EXT_STATE, Self::get_link_ext_state as _),
        get_link_ext_stats: maybe(T::HAS_GET_LINK_EXT_STATS, Self::get_link_ext_stats as _),
        get_eth_phy_stats: maybe(T::HAS_GET_ETH_PHY_STATS, Self::get_eth_phy_stats as _),
        get_eth_mac_stats: maybe(T::HAS_GET_ETH_MAC_STATS, Self::get_eth_mac_stats as _),
        get_eth_ctrl_stats: maybe(T::HAS_GET_ETH_CTRL_STATS, Self::get_eth_ctrl_stats as _),
        get_rmon_stats: maybe(T::HAS_GET_RMON_STATS, Self::get_rmon_stats as _),
        get_channels: maybe(T::HAS_GET_CHANNELS, Self::get_channels as _),
        set_channels: maybe(T::HAS_SET_CHANNELS, Self::set_channels as _),
        get_rxnfc: maybe(T::HAS_GET_RXFH, Self::get_rxnfc as _),
        get_rxfh_key_size: maybe(T::HAS_GET_RXFH, Self::get_rxfh_key_size as _),
        get_rxfh_indir_size: maybe(T::HAS_GET_RXFH, Self::get_rxfh_indir_size as _),
        get_rxfh: maybe(T::HAS_GET_RXFH, Self::get_rxfh as _),
        set_rxfh: maybe(T::HAS_SET_RXFH, Self::set_rxfh as _),
        // SAFETY: The remaining members are optional callbacks, bitfields and sizes; zero is
        // valid for each.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// The static table for `T`. Checks at build time that the string sets and the callbacks
/// agree.
pub(crate) fn vtable<T: Operations>() -> &'static bindings::ethtool_ops {
    const {
        assert!(
            names_fit(T::STATS),
            "a statistics name is empty or too long"
        );
        assert!(
            names_fit(T::PRIV_FLAGS),
            "a private flag name is empty or too long"
        );
        assert!(
            names_fit(T::SELF_TESTS),
            "a self-test name is empty or too long"
        );
        assert!(T::PRIV_FLAGS.len() <= 32, "more than 32 private flags");
        assert!(
            T::STATS.is_empty() != T::HAS_GET_ETHTOOL_STATS,
            "STATS needs get_ethtool_stats"
        );
        assert!(
            T::SELF_TESTS.is_empty() != T::HAS_SELF_TEST,
            "SELF_TESTS needs self_test"
        );
        assert!(
            T::PRIV_FLAGS.is_empty() != (T::HAS_GET_PRIV_FLAGS && T::HAS_SET_PRIV_FLAGS),
            "PRIV_FLAGS needs get_priv_flags and set_priv_flags"
        );
        assert!(
            !T::HAS_SET_COALESCE || T::SUPPORTED_COALESCE_PARAMS.0 != 0,
            "set_coalesce needs SUPPORTED_COALESCE_PARAMS"
        );
        assert!(
            T::RMON_HIST_RANGES.is_empty() || T::HAS_GET_RMON_STATS,
            "RMON_HIST_RANGES needs get_rmon_stats"
        );
        // The core reads the configuration before it changes it.
        assert!(
            !T::HAS_SET_FECPARAM || T::HAS_GET_FECPARAM,
            "set_fecparam needs get_fecparam"
        );
    };
    &Table::<T>::OPS
}
