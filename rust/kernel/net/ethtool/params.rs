// SPDX-License-Identifier: GPL-2.0

//! Parameters: ring sizes, interrupt coalescing and private flags.

use super::{ExtAck, Operations, Table};
use crate::{bindings, error::from_result, ffi::c_int, prelude::*};

/// Ring sizes (`struct ethtool_ringparam`): filled by [`Operations::get_ringparam`], read by
/// [`Operations::set_ringparam`].
///
/// The core rejects requests above the maxima the get reported (so a mini or jumbo ring is
/// refused unless the driver reports a maximum for it), and every extended parameter
/// (`struct kernel_ethtool_ringparam`): this abstraction supports none.
#[repr(transparent)]
pub struct RingParam(bindings::ethtool_ringparam);

impl RingParam {
    /// The RX ring size.
    pub fn rx_pending(&self) -> u32 {
        self.0.rx_pending
    }

    /// The TX ring size.
    pub fn tx_pending(&self) -> u32 {
        self.0.tx_pending
    }

    /// Sets the RX ring size.
    pub fn set_rx_pending(&mut self, n: u32) {
        self.0.rx_pending = n;
    }

    /// Sets the TX ring size.
    pub fn set_tx_pending(&mut self, n: u32) {
        self.0.tx_pending = n;
    }

    /// Sets the largest RX ring size.
    pub fn set_rx_max_pending(&mut self, n: u32) {
        self.0.rx_max_pending = n;
    }

    /// Sets the largest TX ring size.
    pub fn set_tx_max_pending(&mut self, n: u32) {
        self.0.tx_max_pending = n;
    }
}

/// The coalescing parameters a driver supports (`ETHTOOL_COALESCE_*`); the core refuses to
/// change any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoalesceParams(pub(super) u32);

// `include/linux/ethtool.h` defines these with `BIT()`, which bindgen cannot evaluate.
impl CoalesceParams {
    /// None.
    pub const NONE: Self = Self(0);
    /// `rx-usecs`.
    pub const RX_USECS: Self = Self(1 << 0);
    /// `rx-frames`.
    pub const RX_MAX_FRAMES: Self = Self(1 << 1);
    /// `tx-usecs`.
    pub const TX_USECS: Self = Self(1 << 4);
    /// `tx-frames`.
    pub const TX_MAX_FRAMES: Self = Self(1 << 5);
    /// `adaptive-rx`.
    pub const USE_ADAPTIVE_RX: Self = Self(1 << 9);

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Interrupt coalescing (`struct ethtool_coalesce`): filled by [`Operations::get_coalesce`],
/// read by [`Operations::set_coalesce`].
///
/// A set request carries what the get reported with the user's changes, which the core has
/// checked are all in [`Operations::SUPPORTED_COALESCE_PARAMS`].
#[repr(transparent)]
pub struct Coalesce(bindings::ethtool_coalesce);

impl Coalesce {
    /// `rx-usecs`: how long an RX interrupt may be delayed.
    pub fn rx_usecs(&self) -> u32 {
        self.0.rx_coalesce_usecs
    }

    /// Sets `rx-usecs`.
    pub fn set_rx_usecs(&mut self, usecs: u32) {
        self.0.rx_coalesce_usecs = usecs;
    }

    /// `rx-frames`: how many frames may wait for an RX interrupt.
    pub fn rx_max_frames(&self) -> u32 {
        self.0.rx_max_coalesced_frames
    }

    /// Sets `rx-frames`.
    pub fn set_rx_max_frames(&mut self, frames: u32) {
        self.0.rx_max_coalesced_frames = frames;
    }

    /// `tx-usecs`: how long a TX completion interrupt may be delayed.
    pub fn tx_usecs(&self) -> u32 {
        self.0.tx_coalesce_usecs
    }

    /// Sets `tx-usecs`.
    pub fn set_tx_usecs(&mut self, usecs: u32) {
        self.0.tx_coalesce_usecs = usecs;
    }

    /// `tx-frames`: how many completed frames may wait for a TX interrupt.
    pub fn tx_max_frames(&self) -> u32 {
        self.0.tx_max_coalesced_frames
    }

    /// Sets `tx-frames`.
    pub fn set_tx_max_frames(&mut self, frames: u32) {
        self.0.tx_max_coalesced_frames = frames;
    }

    /// `adaptive-rx`: whether the driver picks the RX moderation itself.
    pub fn use_adaptive_rx(&self) -> bool {
        self.0.use_adaptive_rx_coalesce != 0
    }

    /// Sets `adaptive-rx`.
    pub fn set_use_adaptive_rx(&mut self, on: bool) {
        self.0.use_adaptive_rx_coalesce = on.into();
    }
}

impl<T: Operations> Table<T> {
    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: `ring` is valid and exclusive for the call, `RingParam` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_ringparam(Self::dev(dev), &mut *ring.cast::<RingParam>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn set_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `ring` is valid for the call, `RingParam` a transparent wrapper; `extack` is
        // null or valid and ours for the call; see `Table::dev`.
        from_result(|| unsafe {
            T::set_ringparam(
                Self::dev(dev),
                &*ring.cast::<RingParam>(),
                &mut ExtAck::from_raw(extack),
            )
            .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_coalesce(
        dev: *mut bindings::net_device,
        coalesce: *mut bindings::ethtool_coalesce,
        _kcoalesce: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `coalesce` is valid and exclusive for the call, `Coalesce` a transparent
            // wrapper; see `Table::dev`.
            unsafe { T::get_coalesce(Self::dev(dev), &mut *coalesce.cast::<Coalesce>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn set_coalesce(
        dev: *mut bindings::net_device,
        coalesce: *mut bindings::ethtool_coalesce,
        _kcoalesce: *mut bindings::kernel_ethtool_coalesce,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `coalesce` is valid for the call, `Coalesce` a transparent wrapper; `extack`
        // is null or valid and ours for the call; see `Table::dev`.
        from_result(|| unsafe {
            T::set_coalesce(
                Self::dev(dev),
                &*coalesce.cast::<Coalesce>(),
                &mut ExtAck::from_raw(extack),
            )
            .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_priv_flags(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: See `Table::dev`.
        T::get_priv_flags(unsafe { Self::dev(dev) })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn set_priv_flags(
        dev: *mut bindings::net_device,
        flags: u32,
    ) -> c_int {
        from_result(|| {
            // The ioctl path passes the user's value unchecked.
            if flags.checked_shr(T::PRIV_FLAGS.len() as u32).unwrap_or(0) != 0 {
                return Err(EINVAL);
            }
            // SAFETY: See `Table::dev`.
            T::set_priv_flags(unsafe { Self::dev(dev) }, flags).map(|()| 0)
        })
    }
}
