// SPDX-License-Identifier: GPL-2.0

//! Per-queue statistics through netdev netlink (`struct netdev_stat_ops`, `qstats`).
//!
//! The core asks for each queue in use and for the base: what the device counted outside the
//! queues in use (queues no longer in use included), so that the sum over the base and the
//! queues matches the interface's totals. A statistic the driver does not set is not reported.
//!
//! C header: [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h)

use super::dev::Device;
use crate::{bindings, ffi::c_int};
use core::marker::PhantomData;

/// One receive queue's statistics, or the base's (`struct netdev_queue_stats_rx`).
#[repr(transparent)]
pub struct RxStats(bindings::netdev_queue_stats_rx);

impl RxStats {
    /// Sets the frames received.
    pub fn set_packets(&mut self, n: u64) {
        self.0.packets = n;
    }

    /// Sets their bytes.
    pub fn set_bytes(&mut self, n: u64) {
        self.0.bytes = n;
    }

    /// Sets the buffer allocations that failed.
    pub fn set_alloc_fail(&mut self, n: u64) {
        self.0.alloc_fail = n;
    }

    /// Sets the frames whose checksum the device verified.
    pub fn set_csum_unnecessary(&mut self, n: u64) {
        self.0.csum_unnecessary = n;
    }
}

/// One transmit queue's statistics, or the base's (`struct netdev_queue_stats_tx`).
#[repr(transparent)]
pub struct TxStats(bindings::netdev_queue_stats_tx);

impl TxStats {
    /// Sets the frames sent.
    pub fn set_packets(&mut self, n: u64) {
        self.0.packets = n;
    }

    /// Sets their bytes.
    pub fn set_bytes(&mut self, n: u64) {
        self.0.bytes = n;
    }

    /// Sets the times the queue stopped for want of room.
    pub fn set_stop(&mut self, n: u64) {
        self.0.stop = n;
    }

    /// Sets the times it woke again.
    pub fn set_wake(&mut self, n: u64) {
        self.0.wake = n;
    }
}

/// A netdev's per-queue statistics. May run in atomic context.
pub trait QueueStats: Sized {
    /// Fills receive queue `index`'s statistics.
    fn rx_queue(dev: &Device<Self>, index: u32, stats: &mut RxStats);

    /// Fills transmit queue `index`'s statistics.
    fn tx_queue(dev: &Device<Self>, index: u32, stats: &mut TxStats);

    /// Fills what is counted outside the queues in use; each statistic the queues report must
    /// be set, 0 if there is nothing.
    fn base(dev: &Device<Self>, rx: &mut RxStats, tx: &mut TxStats);
}

struct Table<T>(PhantomData<T>);

impl<T: QueueStats> Table<T> {
    /// # Safety
    ///
    /// Only for the core, with a netdev whose stat ops are `T`'s (so registered by
    /// [`super::dev::Registration`] with private data `T`) and a valid, exclusive `stats`.
    unsafe extern "C" fn rx_queue(
        dev: *mut bindings::net_device,
        index: c_int,
        stats: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: By the safety requirements; `RxStats` is a transparent wrapper.
        unsafe { T::rx_queue(Device::from_raw(dev), index as u32, &mut *stats.cast()) }
    }

    /// # Safety
    ///
    /// As for `rx_queue`.
    unsafe extern "C" fn tx_queue(
        dev: *mut bindings::net_device,
        index: c_int,
        stats: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: By the safety requirements; `TxStats` is a transparent wrapper.
        unsafe { T::tx_queue(Device::from_raw(dev), index as u32, &mut *stats.cast()) }
    }

    /// # Safety
    ///
    /// As for `rx_queue`, for both `rx` and `tx`.
    unsafe extern "C" fn base(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: By the safety requirements; the wrappers are transparent.
        unsafe { T::base(Device::from_raw(dev), &mut *rx.cast(), &mut *tx.cast()) }
    }

    const OPS: bindings::netdev_stat_ops = bindings::netdev_stat_ops {
        get_queue_stats_rx: Some(Self::rx_queue),
        get_queue_stats_tx: Some(Self::tx_queue),
        get_base_stats: Some(Self::base),
    };
}

/// The static table for `T`.
pub(crate) fn vtable<T: QueueStats>() -> &'static bindings::netdev_stat_ops {
    &Table::<T>::OPS
}
