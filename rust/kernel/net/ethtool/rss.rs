// SPDX-License-Identifier: GPL-2.0

//! Channels (`ethtool -l`, `-L`) and receive-side scaling (`ethtool -x`, `-X`).

use super::{ExtAck, Operations, Table};
use crate::{bindings, error::from_result, ffi::c_int, prelude::*};

/// Channel counts (`struct ethtool_channels`): filled by [`Operations::get_channels`], read by
/// [`Operations::set_channels`] once the core has checked them against the maxima and against
/// an indirection table the user set.
#[repr(transparent)]
pub struct Channels(bindings::ethtool_channels);

impl Channels {
    /// Receive-only channels.
    pub fn rx_count(&self) -> u32 {
        self.0.rx_count
    }

    /// Transmit-only channels.
    pub fn tx_count(&self) -> u32 {
        self.0.tx_count
    }

    /// Channels with both a receive and a transmit queue.
    pub fn combined_count(&self) -> u32 {
        self.0.combined_count
    }

    /// Other channels (link, events).
    pub fn other_count(&self) -> u32 {
        self.0.other_count
    }

    /// Sets the maxima of receive-only and transmit-only channels.
    pub fn set_max(&mut self, rx: u32, tx: u32) {
        self.0.max_rx = rx;
        self.0.max_tx = tx;
    }

    /// Sets the receive-only and transmit-only channels in use.
    pub fn set_counts(&mut self, rx: u32, tx: u32) {
        self.0.rx_count = rx;
        self.0.tx_count = tx;
    }
}

/// The Toeplitz hash function (`ETH_RSS_HASH_TOP`), the one this abstraction supports.
const HASH_TOP: u8 = 1 << bindings::ETH_RSS_HASH_TOP_BIT;

/// The RSS configuration (`struct ethtool_rxfh_param`) of the default context: for
/// [`Operations::get_rxfh`] to fill, for [`Operations::set_rxfh`] to read. The indirection
/// table and key have the sizes the driver reports, or are absent.
#[repr(transparent)]
pub struct Rxfh(bindings::ethtool_rxfh_param);

impl Rxfh {
    /// The indirection table to fill or apply, if the request has one.
    pub fn indir(&mut self) -> Option<&mut [u32]> {
        let p = &mut self.0;
        (!p.indir.is_null() && p.indir_size != 0).then(|| {
            // SAFETY: The core passes `indir_size` entries at `indir`, exclusive for the call.
            unsafe { core::slice::from_raw_parts_mut(p.indir, p.indir_size as usize) }
        })
    }

    /// The hash key to fill or apply, if the request has one.
    pub fn key(&mut self) -> Option<&mut [u8]> {
        let p = &mut self.0;
        (!p.key.is_null() && p.key_size != 0).then(|| {
            // SAFETY: The core passes `key_size` bytes at `key`, exclusive for the call.
            unsafe { core::slice::from_raw_parts_mut(p.key, p.key_size as usize) }
        })
    }

    /// Reports the Toeplitz hash function.
    pub fn set_hfunc_toeplitz(&mut self) {
        self.0.hfunc = HASH_TOP;
    }

    /// Whether a set request keeps the hash function or asks for Toeplitz.
    pub fn hfunc_is_toeplitz(&self) -> bool {
        matches!(self.0.hfunc, 0 | HASH_TOP)
    }

    /// Whether the request is for the default context, and changes no input transformation.
    pub fn default_context(&self) -> bool {
        self.0.rss_context == 0
            && matches!(
                u32::from(self.0.input_xfrm),
                0 | bindings::RXH_XFRM_NO_CHANGE
            )
    }
}

impl<T: Operations> Table<T> {
    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: `ch` is valid and exclusive for the call, `Channels` a transparent wrapper;
        // see `Table::dev`.
        unsafe { T::get_channels(Self::dev(dev), &mut *ch.cast::<Channels>()) }
    }

    /// # Safety
    ///
    /// As for `get_channels`.
    pub(super) unsafe extern "C" fn set_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `get_channels`.
            unsafe { T::set_channels(Self::dev(dev), &*ch.cast::<Channels>()) }.map(|()| 0)
        })
    }

    /// `get_rxnfc`: only `ETHTOOL_GRXRINGS`, the receive queues in use, which ethtool asks
    /// for with `-x`; no flow classification.
    ///
    /// # Safety
    ///
    /// As for `get_channels`.
    pub(super) unsafe extern "C" fn get_rxnfc(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_rxnfc,
        _rules: *mut u32,
    ) -> c_int {
        // SAFETY: `info` is valid and exclusive for the call; see `Table::dev`.
        unsafe {
            if (*info).cmd != bindings::ETHTOOL_GRXRINGS {
                return -(bindings::EOPNOTSUPP as c_int);
            }
            (*info).data = u64::from(Self::dev(dev).real_num_rx_queues());
        }
        0
    }

    /// # Safety
    ///
    /// Only for the ethtool core with `T`'s table.
    pub(super) unsafe extern "C" fn get_rxfh_key_size(_dev: *mut bindings::net_device) -> u32 {
        T::RSS_KEY_SIZE
    }

    /// # Safety
    ///
    /// Only for the ethtool core with `T`'s table.
    pub(super) unsafe extern "C" fn get_rxfh_indir_size(_dev: *mut bindings::net_device) -> u32 {
        T::RSS_INDIR_SIZE
    }

    /// Sets the sizes of the table and key the core passes, which it allocated for the sizes
    /// `T` reports (some callers leave the sizes 0).
    fn sizes(rxfh: &mut bindings::ethtool_rxfh_param) {
        if !rxfh.indir.is_null() {
            rxfh.indir_size = T::RSS_INDIR_SIZE;
        }
        if !rxfh.key.is_null() {
            rxfh.key_size = T::RSS_KEY_SIZE;
        }
    }

    /// # Safety
    ///
    /// As for `get_channels`.
    pub(super) unsafe extern "C" fn get_rxfh(
        dev: *mut bindings::net_device,
        rxfh: *mut bindings::ethtool_rxfh_param,
    ) -> c_int {
        // SAFETY: `rxfh` is valid and exclusive for the call, `Rxfh` a transparent wrapper;
        // see `Table::dev`.
        from_result(|| unsafe {
            Self::sizes(&mut *rxfh);
            T::get_rxfh(Self::dev(dev), &mut *rxfh.cast::<Rxfh>()).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// As for `get_channels`; `extack` is null or valid for the call.
    pub(super) unsafe extern "C" fn set_rxfh(
        dev: *mut bindings::net_device,
        rxfh: *mut bindings::ethtool_rxfh_param,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: As in `get_rxfh`; `extack` is null or valid and ours for the call.
        from_result(|| unsafe {
            Self::sizes(&mut *rxfh);
            let rxfh = &mut *rxfh.cast::<Rxfh>();
            if !rxfh.default_context() {
                return Err(EOPNOTSUPP);
            }
            T::set_rxfh(Self::dev(dev), rxfh, &mut ExtAck::from_raw(extack)).map(|()| 0)
        })
    }
}
