// SPDX-License-Identifier: GPL-2.0

//! Statistics: the standard groups (pause, IEEE 802.3 MAC, MAC control and PHY, RMON, FEC, link)
//! and the driver's own counters.

use super::{Operations, Table};
use crate::bindings;
use core::ops::RangeInclusive;

/// Buckets of an RMON histogram.
pub const RMON_HIST_MAX: usize = bindings::ETHTOOL_RMON_HIST_MAX as usize;

/// Generates setters for the counters of a standard statistics group: the C structures keep
/// them in a `struct_group`, an anonymous union of two identical structures of `u64`.
macro_rules! stats_setters {
    ($ty:ident { $($(#[$doc:meta])* $set:ident => $field:ident,)* }) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $set(&mut self, value: u64) {
                    // SAFETY: Both members of the union are the same `u64` counters, for which
                    // any bit pattern is valid.
                    let counters = unsafe { &mut self.0.__bindgen_anon_1.__bindgen_anon_1 };
                    counters.$field = value;
                }
            )*
        }
    };
}

/// Pause frame counters (`struct ethtool_pause_stats`), for [`Operations::get_pause_stats`].
#[repr(transparent)]
pub struct PauseStats(bindings::ethtool_pause_stats);

stats_setters!(PauseStats {
    /// Pause frames sent.
    set_tx_pause_frames => tx_pause_frames,
    /// Pause frames received.
    set_rx_pause_frames => rx_pause_frames,
});

/// IEEE 802.3 PHY counters (`struct ethtool_eth_phy_stats`), for
/// [`Operations::get_eth_phy_stats`].
#[repr(transparent)]
pub struct EthPhyStats(bindings::ethtool_eth_phy_stats);

stats_setters!(EthPhyStats {
    /// aSymbolErrorDuringCarrier (30.3.2.1.5).
    set_symbol_error_during_carrier => SymbolErrorDuringCarrier,
});

/// IEEE 802.3 MAC counters (`struct ethtool_eth_mac_stats`), for
/// [`Operations::get_eth_mac_stats`]. Each setter names the 802.3 attribute.
#[repr(transparent)]
pub struct EthMacStats(bindings::ethtool_eth_mac_stats);

stats_setters!(EthMacStats {
    /// aFramesTransmittedOK.
    set_frames_transmitted_ok => FramesTransmittedOK,
    /// aSingleCollisionFrames.
    set_single_collision_frames => SingleCollisionFrames,
    /// aMultipleCollisionFrames.
    set_multiple_collision_frames => MultipleCollisionFrames,
    /// aFramesReceivedOK.
    set_frames_received_ok => FramesReceivedOK,
    /// aFrameCheckSequenceErrors.
    set_frame_check_sequence_errors => FrameCheckSequenceErrors,
    /// aAlignmentErrors.
    set_alignment_errors => AlignmentErrors,
    /// aOctetsTransmittedOK.
    set_octets_transmitted_ok => OctetsTransmittedOK,
    /// aFramesWithDeferredXmissions.
    set_frames_with_deferred_xmissions => FramesWithDeferredXmissions,
    /// aLateCollisions.
    set_late_collisions => LateCollisions,
    /// aFramesAbortedDueToXSColls.
    set_frames_aborted_due_to_xs_colls => FramesAbortedDueToXSColls,
    /// aFramesLostDueToIntMACXmitError.
    set_frames_lost_due_to_int_mac_xmit_error => FramesLostDueToIntMACXmitError,
    /// aCarrierSenseErrors.
    set_carrier_sense_errors => CarrierSenseErrors,
    /// aOctetsReceivedOK.
    set_octets_received_ok => OctetsReceivedOK,
    /// aFramesLostDueToIntMACRcvError.
    set_frames_lost_due_to_int_mac_rcv_error => FramesLostDueToIntMACRcvError,
    /// aMulticastFramesXmittedOK.
    set_multicast_frames_xmitted_ok => MulticastFramesXmittedOK,
    /// aBroadcastFramesXmittedOK.
    set_broadcast_frames_xmitted_ok => BroadcastFramesXmittedOK,
    /// aFramesWithExcessiveDeferral.
    set_frames_with_excessive_deferral => FramesWithExcessiveDeferral,
    /// aMulticastFramesReceivedOK.
    set_multicast_frames_received_ok => MulticastFramesReceivedOK,
    /// aBroadcastFramesReceivedOK.
    set_broadcast_frames_received_ok => BroadcastFramesReceivedOK,
    /// aInRangeLengthErrors.
    set_in_range_length_errors => InRangeLengthErrors,
    /// aOutOfRangeLengthField.
    set_out_of_range_length_field => OutOfRangeLengthField,
    /// aFrameTooLongErrors.
    set_frame_too_long_errors => FrameTooLongErrors,
});

/// IEEE 802.3 MAC control counters (`struct ethtool_eth_ctrl_stats`), for
/// [`Operations::get_eth_ctrl_stats`].
#[repr(transparent)]
pub struct EthCtrlStats(bindings::ethtool_eth_ctrl_stats);

stats_setters!(EthCtrlStats {
    /// aMACControlFramesTransmitted (30.3.3.2), PAUSE and PFC frames included.
    set_mac_control_frames_transmitted => MACControlFramesTransmitted,
    /// aMACControlFramesReceived (30.3.3.3).
    set_mac_control_frames_received => MACControlFramesReceived,
    /// aUnsupportedOpcodesReceived (30.3.3.5).
    set_unsupported_opcodes_received => UnsupportedOpcodesReceived,
});

/// RMON counters (`struct ethtool_rmon_stats`, RFC 2819), for [`Operations::get_rmon_stats`].
///
/// Histogram bucket `i` counts frames whose length is in [`Operations::RMON_HIST_RANGES`]`[i]`.
#[repr(transparent)]
pub struct RmonStats(bindings::ethtool_rmon_stats);

stats_setters!(RmonStats {
    /// etherStatsUndersizePkts: well-formed frames shorter than 64 bytes.
    set_undersize_pkts => undersize_pkts,
    /// etherStatsOversizePkts: well-formed frames longer than 1518 bytes.
    set_oversize_pkts => oversize_pkts,
    /// etherStatsFragments: short frames with a bad FCS.
    set_fragments => fragments,
    /// etherStatsJabbers: long frames with a bad FCS.
    set_jabbers => jabbers,
});

impl RmonStats {
    /// Sets histogram bucket `bucket` of received frames; out-of-range buckets are ignored.
    pub fn set_hist(&mut self, bucket: usize, value: u64) {
        // SAFETY: As in the setters above: both union members are the same `u64` counters.
        let hist = unsafe { &mut self.0.__bindgen_anon_1.__bindgen_anon_1.hist };
        if let Some(h) = hist.get_mut(bucket) {
            *h = value;
        }
    }

    /// Sets histogram bucket `bucket` of sent frames; out-of-range buckets are ignored.
    pub fn set_hist_tx(&mut self, bucket: usize, value: u64) {
        // SAFETY: As in the setters above: both union members are the same `u64` counters.
        let hist = unsafe { &mut self.0.__bindgen_anon_1.__bindgen_anon_1.hist_tx };
        if let Some(h) = hist.get_mut(bucket) {
            *h = value;
        }
    }
}

/// One FEC counter.
#[repr(transparent)]
pub struct FecStat(bindings::ethtool_fec_stats_ethtool_fec_stat);

impl FecStat {
    /// Sets the total over the lanes.
    pub fn set_total(&mut self, value: u64) {
        self.0.total = value;
    }
}

/// FEC counters (`struct ethtool_fec_stats`), for [`Operations::get_fec_stats`].
#[repr(transparent)]
pub struct FecStats(bindings::ethtool_fec_stats);

impl FecStats {
    fn stat(stat: &mut bindings::ethtool_fec_stats_ethtool_fec_stat) -> &mut FecStat {
        // SAFETY: `FecStat` is a transparent wrapper of the C structure.
        unsafe { &mut *core::ptr::from_mut(stat).cast::<FecStat>() }
    }

    /// Blocks (codewords) that had errors, all corrected.
    pub fn corrected_blocks(&mut self) -> &mut FecStat {
        Self::stat(&mut self.0.corrected_blocks)
    }

    /// Blocks (codewords) with errors FEC could not correct.
    pub fn uncorrectable_blocks(&mut self) -> &mut FecStat {
        Self::stat(&mut self.0.uncorrectable_blocks)
    }

    /// Bits FEC corrected.
    pub fn corrected_bits(&mut self) -> &mut FecStat {
        Self::stat(&mut self.0.corrected_bits)
    }
}

/// Link counters (`struct ethtool_link_ext_stats`), for [`Operations::get_link_ext_stats`].
#[repr(transparent)]
pub struct LinkExtStats(bindings::ethtool_link_ext_stats);

impl LinkExtStats {
    /// Times the link actually went down (not the carrier's local changes); netlink carries
    /// 32 bits of it.
    pub fn set_link_down_events(&mut self, value: u64) {
        self.0.link_down_events = value;
    }
}

/// The RMON histogram ranges in C form, ending with an empty range if fewer than the maximum.
const fn rmon_ranges(
    ranges: &[RangeInclusive<u16>],
) -> [bindings::ethtool_rmon_hist_range; RMON_HIST_MAX + 1] {
    assert!(
        ranges.len() <= RMON_HIST_MAX,
        "too many RMON histogram buckets"
    );
    let mut out = [bindings::ethtool_rmon_hist_range { low: 0, high: 0 }; RMON_HIST_MAX + 1];
    let mut i = 0;
    while i < ranges.len() {
        let (low, high) = (*ranges[i].start(), *ranges[i].end());
        // An empty range ends the list for the core.
        assert!(high != 0 && low <= high, "empty RMON histogram bucket");
        out[i] = bindings::ethtool_rmon_hist_range { low, high };
        i += 1;
    }
    out
}

impl<T: Operations> Table<T> {
    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_pause_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_pause_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `PauseStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_pause_stats(Self::dev(dev), &mut *stats.cast::<PauseStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        _stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: The core allocated as many values as `get_sset_count(ETH_SS_STATS)`
        // returned, `T::STATS.len()`, exclusive for the call.
        let data = unsafe { core::slice::from_raw_parts_mut(data, T::STATS.len()) };
        // SAFETY: See `Table::dev`.
        T::get_ethtool_stats(unsafe { Self::dev(dev) }, data)
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_fec_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_fec_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `FecStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_fec_stats(Self::dev(dev), &mut *stats.cast::<FecStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_link_ext_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_link_ext_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `LinkExtStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_link_ext_stats(Self::dev(dev), &mut *stats.cast::<LinkExtStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_eth_phy_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_eth_phy_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `EthPhyStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_eth_phy_stats(Self::dev(dev), &mut *stats.cast::<EthPhyStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_eth_mac_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_eth_mac_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `EthMacStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_eth_mac_stats(Self::dev(dev), &mut *stats.cast::<EthMacStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_eth_ctrl_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_eth_ctrl_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `EthCtrlStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_eth_ctrl_stats(Self::dev(dev), &mut *stats.cast::<EthCtrlStats>()) }
    }

    /// The histogram ranges the core reads after `get_rmon_stats`.
    pub(super) const RMON_RANGES: [bindings::ethtool_rmon_hist_range; RMON_HIST_MAX + 1] =
        rmon_ranges(T::RMON_HIST_RANGES);

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_rmon_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_rmon_stats,
        ranges: *mut *const bindings::ethtool_rmon_hist_range,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `RmonStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_rmon_stats(Self::dev(dev), &mut *stats.cast::<RmonStats>()) };
        let table: &'static [bindings::ethtool_rmon_hist_range; RMON_HIST_MAX + 1] =
            &Self::RMON_RANGES;
        // SAFETY: `ranges` is valid for writing for the call; the table is static.
        unsafe {
            *ranges = if T::RMON_HIST_RANGES.is_empty() {
                core::ptr::null()
            } else {
                table.as_ptr()
            };
        }
    }
}
