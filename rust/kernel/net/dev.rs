// SPDX-License-Identifier: GPL-2.0

//! Ethernet network devices: registration, `net_device_ops`, NAPI and the transmit queue.
//!
//! A driver's per-netdev data `T` lives in the netdev's private area, pinned there from
//! [`Registration::new`] until the `Registration` is dropped, which unregisters the netdev
//! first. Callbacks get a [`Device<T>`], through which they reach `T` and the netdev.
//!
//! The interrupts that serve a netdev belong to its `Registration` too
//! ([`Builder::request_irq`]): they are requested before the netdev is registered, so it
//! cannot be brought up before they exist, and freed after it is unregistered, before `T`
//! goes. Their handlers reach the netdev as the callbacks do, without holding a reference on
//! it (which would keep `unregister_netdev` waiting for ever).
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h)

use crate::{
    bindings, device,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_void},
    irq::{self, IrqRequest, IrqReturn},
    net::skb::SkBuff,
    prelude::*,
    str::CStr,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{
    fmt,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};

/// An Ethernet netdev whose private data is `T` (`struct net_device`).
///
/// # Invariants
///
/// The netdev was allocated by [`Registration::new`] with an initialised `T` in its private
/// area, and is valid for as long as the reference exists.
#[repr(transparent)]
pub struct Device<T>(Opaque<bindings::net_device>, PhantomData<T>);

// SAFETY: The netdev core synchronises its own state; `T` is shared as `&T`, which is `Sync`.
unsafe impl<T: Sync> Sync for Device<T> {}
// SAFETY: A reference to a netdev may be passed to and dropped on any thread.
unsafe impl<T: Send + Sync> Send for Device<T> {}

impl<T> Device<T> {
    /// # Safety
    ///
    /// `ptr` must be a netdev created by [`Registration::<T>::new`], valid for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper; validity is guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// The C `struct net_device`.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The driver's private data.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariant the private area holds an initialised `T`, which is
        // only ever shared.
        unsafe { &*bindings::netdev_priv(self.as_raw()).cast::<T>() }
    }

    /// The interface name, e.g. `eth0`.
    pub fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array in the netdev.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// The current MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: Reading an `unsigned int` of a valid netdev; the core changes it under RTNL
        // and readers outside RTNL tolerate a stale value, as in C.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.as_raw()).mtu)) }
    }

    /// Sets the MTU, from [`Operations::change_mtu`] once the device accepted it.
    pub fn set_mtu(&self, mtu: u32) {
        // SAFETY: The core calls `ndo_change_mtu` under RTNL, which serialises MTU writers.
        unsafe { bindings::netdev_write_mtu(self.as_raw(), mtu) };
    }

    /// Reports that the link came up.
    pub fn carrier_on(&self) {
        // SAFETY: The netdev is valid; callable from any context.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Reports that the link went down.
    pub fn carrier_off(&self) {
        // SAFETY: The netdev is valid; callable from any context.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Whether the link is up, as last reported.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: The netdev is valid.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Whether the netdev lives in the calling task's network namespace. The netdev may move
    /// (under RTNL) right after: the answer is the one a socket created now would get.
    pub fn in_current_netns(&self) -> bool {
        // SAFETY: `current` is a valid task. Only the task itself changes its `nsproxy`, which
        // is null only once it exits, when it calls no driver any more.
        let ns = unsafe { (*bindings::get_current()).nsproxy };
        if ns.is_null() {
            return false;
        }
        // SAFETY: `ns` is the task's own, which holds a reference on its network namespace.
        let net = unsafe { (*ns).net_ns };
        // SAFETY: The netdev is valid.
        core::ptr::eq(net, unsafe { bindings::dev_net(self.as_raw()) })
    }

    /// Stops the stack from calling [`Operations::start_xmit`] (the ring is full).
    pub fn stop_queue(&self) {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe { bindings::netif_stop_queue(self.as_raw()) }
    }

    /// Stops the transmit queue and waits for a [`Operations::start_xmit`] running on another
    /// CPU to return.
    pub fn tx_disable(&self) {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe { bindings::netif_tx_disable(self.as_raw()) }
    }

    /// Whether the stack has more frames for [`Operations::start_xmit`] right after this one:
    /// the doorbell may wait for the last.
    pub fn xmit_more(&self) -> bool {
        // SAFETY: Reads this CPU's transmit state; called from `start_xmit`.
        unsafe { bindings::netdev_xmit_more() }
    }

    /// Lets the stack transmit again and schedules it if it was stopped.
    pub fn wake_queue(&self) {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe { bindings::netif_wake_queue(self.as_raw()) }
    }

    /// Whether the transmit queue is stopped.
    pub fn queue_stopped(&self) -> bool {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe { bindings::netif_queue_stopped(self.as_raw()) }
    }

    /// Byte queue limits: `bytes` were handed to the device.
    pub fn tx_sent(&self, bytes: u32) {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe {
            bindings::netdev_tx_sent_queue(bindings::netdev_get_tx_queue(self.as_raw(), 0), bytes)
        }
    }

    /// Byte queue limits: the device finished `frames` frames of `bytes` bytes.
    pub fn tx_completed(&self, frames: u32, bytes: u32) {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe {
            bindings::netdev_tx_completed_queue(
                bindings::netdev_get_tx_queue(self.as_raw(), 0),
                frames,
                bytes,
            )
        }
    }

    /// Marks the device as removed for now (`netif_device_detach`): its queues stop, and it
    /// cannot be brought up until [`Device::device_attach`]. It stays registered.
    pub fn device_detach(&self) {
        // SAFETY: The device is valid.
        unsafe { bindings::netif_device_detach(self.as_raw()) };
    }

    /// Marks the device as present again (`netif_device_attach`), waking its queues if it is
    /// running.
    pub fn device_attach(&self) {
        // SAFETY: The device is valid.
        unsafe { bindings::netif_device_attach(self.as_raw()) };
    }

    /// Byte queue limits: forget what is in flight (the ring was emptied without completions).
    pub fn tx_reset(&self) {
        // SAFETY: The netdev is valid and has one TX queue.
        unsafe { bindings::netdev_tx_reset_queue(bindings::netdev_get_tx_queue(self.as_raw(), 0)) }
    }

    /// Counts a received frame of `len` bytes in the per-CPU statistics.
    pub fn count_rx(&self, len: u32) {
        // SAFETY: `Registration::new` asked the core for per-CPU `tstats`.
        unsafe { bindings::dev_sw_netstats_rx_add(self.as_raw(), len) }
    }

    /// Counts `frames` transmitted frames of `bytes` bytes in the per-CPU statistics.
    pub fn count_tx(&self, frames: u32, bytes: u32) {
        // SAFETY: `Registration::new` asked the core for per-CPU `tstats`.
        unsafe { bindings::dev_sw_netstats_tx_add(self.as_raw(), frames, bytes) }
    }

    /// Transmit queue `index`, which must be below the count given to
    /// [`Registration::new_mq`].
    pub fn tx_queue(&self, index: u16) -> TxQueue<'_> {
        // SAFETY: The netdev is valid; the index is checked against the queues allocated.
        let q = unsafe {
            let dev = self.as_raw();
            let index = u32::from(index).min((*dev).num_tx_queues - 1);
            bindings::netdev_get_tx_queue(dev, index)
        };
        TxQueue(q, PhantomData)
    }

    /// Lets the stack transmit on every queue again.
    pub fn wake_all_queues(&self) {
        // SAFETY: The netdev is valid.
        unsafe { bindings::netif_tx_wake_all_queues(self.as_raw()) }
    }

    /// Byte queue limits: forgets what is in flight on every queue.
    pub fn tx_reset_all(&self) {
        // SAFETY: The netdev is valid.
        let n = unsafe { (*self.as_raw()).num_tx_queues };
        for i in 0..n {
            // SAFETY: `i` is below the queues allocated.
            unsafe {
                bindings::netdev_tx_reset_queue(bindings::netdev_get_tx_queue(self.as_raw(), i))
            }
        }
    }

    /// The receive queues in use.
    pub fn real_num_rx_queues(&self) -> u32 {
        // SAFETY: The netdev is valid.
        unsafe { bindings::netdev_real_num_rx_queues(self.as_raw()) }
    }

    /// The transmit queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: The netdev is valid.
        unsafe { bindings::netdev_real_num_tx_queues(self.as_raw()) }
    }

    /// Sets the receive queues in use, at most those allocated. Called under RTNL.
    pub fn set_real_num_rx_queues(&self, n: u32) -> Result {
        // SAFETY: The netdev is valid; the core checks `n` against the queues allocated.
        to_result(unsafe { bindings::netif_set_real_num_rx_queues(self.as_raw(), n) })
    }

    /// Maps priority `prio` to traffic class `tc`, and so to its transmit queues (see
    /// [`Builder::set_tc_queues`]). Called under RTNL.
    pub fn set_prio_tc_map(&self, prio: u8, tc: u8) -> Result {
        // SAFETY: The netdev is valid; the core checks `tc` against the classes.
        to_result(unsafe { bindings::netdev_set_prio_tc_map(self.as_raw(), prio, tc) })
    }

    /// Whether the user set the RSS indirection table (`ethtool -X`), which the driver then
    /// keeps rather than spread over a new number of queues.
    pub fn rxfh_configured(&self) -> bool {
        // SAFETY: The netdev is valid.
        unsafe { bindings::netif_is_rxfh_configured(self.as_raw()) }
    }

    /// The features on.
    pub fn features(&self) -> Features {
        // SAFETY: The netdev is valid; the helper reads the word once.
        Features(unsafe { bindings::netdev_features(self.as_raw()) })
    }

    /// Takes the netdev's address lock (`netif_addr_lock_bh`), which holds its unicast and
    /// multicast lists still, for process context code that programs the device's filters as
    /// [`Operations::set_rx_mode`] does. Bottom halves are disabled until the guard goes; do
    /// not sleep meanwhile.
    pub fn lock_addrs(&self) -> AddrGuard<'_> {
        // SAFETY: The netdev is valid; unlocked when the guard drops.
        unsafe { bindings::netif_addr_lock_bh(self.as_raw()) };
        AddrGuard(AddrLists {
            dev: self.as_raw(),
            _lock: PhantomData,
        })
    }

    /// The underlying `struct device`, for logging.
    pub fn as_dev(&self) -> &device::Device {
        // SAFETY: The embedded `struct device` is valid for as long as the netdev is.
        unsafe { device::Device::as_ref(core::ptr::addr_of_mut!((*self.as_raw()).dev)) }
    }
}

// SAFETY: `dev_hold` and `dev_put` manage the netdev's reference count, and
// `unregister_netdev` waits for every reference to go before `Registration` drops `T`.
unsafe impl<T: Sync> AlwaysRefCounted for Device<T> {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` proves the netdev is alive.
        unsafe { bindings::dev_hold(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::dev_put(obj.cast().as_ptr()) };
    }
}

/// Runs `f` with bottom halves (softirqs, hence NAPI polls and transmits) disabled on this
/// CPU: for process-context code taking a lock that the data path also takes.
pub fn with_bh_disabled<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: Balanced by the `local_bh_enable` below.
    unsafe { bindings::local_bh_disable() };
    let r = f();
    // SAFETY: Disabled above.
    unsafe { bindings::local_bh_enable() };
    r
}

/// The RTNL lock, which serialises configuration of all netdevs; the core holds it around
/// `open`, `stop`, `change_mtu` and the ethtool and DCB operations.
pub struct Rtnl(());

impl Rtnl {
    /// Takes the lock; sleeps.
    pub fn lock() -> Self {
        // SAFETY: No preconditions; released in `drop`.
        unsafe { bindings::rtnl_lock() };
        Self(())
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: Taken in `lock`.
        unsafe { bindings::rtnl_unlock() };
    }
}

/// The addresses a netdev receives for, as the stack set them: its own, its secondary unicast
/// addresses (`dev->uc`, e.g. a macvlan's), its multicast groups (`dev->mc`, `ip maddr`, group
/// joins) and whether it is promiscuous or takes every multicast frame. Only exists while the
/// netdev's address lock is held ([`Operations::set_rx_mode`], [`Device::lock_addrs`]), which
/// keeps the lists from changing.
///
/// # Invariants
///
/// `dev` is a valid Ethernet netdev whose address lock is held for `'a`.
pub struct AddrLists<'a> {
    dev: *mut bindings::net_device,
    _lock: PhantomData<&'a ()>,
}

impl<'a> AddrLists<'a> {
    fn flags(&self) -> u32 {
        // SAFETY: By the type invariant the netdev is valid; the core changes `flags` under
        // RTNL and calls `ndo_set_rx_mode` after it did.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.dev).flags)) }
    }

    /// Every frame is received (`IFF_PROMISC`).
    pub fn promiscuous(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_PROMISC != 0
    }

    /// Every multicast frame is received (`IFF_ALLMULTI`).
    pub fn all_multicast(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_ALLMULTI != 0
    }

    /// The netdev's own address.
    pub fn own(&self) -> [u8; 6] {
        let mut mac = [0; 6];
        // SAFETY: An Ethernet netdev's `dev_addr` holds at least six bytes; it changes under
        // RTNL while the interface is down, when nothing programs its filters.
        unsafe { core::ptr::copy_nonoverlapping((*self.dev).dev_addr, mac.as_mut_ptr(), 6) };
        mac
    }

    /// The secondary unicast addresses; only if the netdev said it filters them
    /// ([`Builder::set_unicast_filter`]), else the core makes it promiscuous instead.
    pub fn unicast(&self) -> AddrIter<'a> {
        // SAFETY: By the type invariant the netdev is valid.
        AddrIter::new(unsafe { core::ptr::addr_of!((*self.dev).uc.list) })
    }

    /// The multicast addresses.
    pub fn multicast(&self) -> AddrIter<'a> {
        // SAFETY: By the type invariant the netdev is valid.
        AddrIter::new(unsafe { core::ptr::addr_of!((*self.dev).mc.list) })
    }
}

/// The addresses of a list of [`AddrLists`], as `netdev_for_each_uc_addr` and
/// `netdev_for_each_mc_addr` walk them.
///
/// # Invariants
///
/// `head` is the list head of a `struct netdev_hw_addr_list` of an Ethernet netdev whose
/// address lock is held for `'a`; `cur` is `head` or an entry of that list.
pub struct AddrIter<'a> {
    head: *const bindings::list_head,
    cur: *const bindings::list_head,
    _lock: PhantomData<&'a ()>,
}

impl AddrIter<'_> {
    fn new(head: *const bindings::list_head) -> Self {
        Self {
            head,
            cur: head,
            _lock: PhantomData,
        }
    }
}

impl<'a> Iterator for AddrIter<'a> {
    type Item = &'a [u8; 6];

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: By the type invariant `cur` is a valid node of the list, which nobody changes
        // while the address lock is held.
        let next = unsafe { (*self.cur).next }.cast_const();
        if next == self.head {
            return None;
        }
        self.cur = next;
        let offset = core::mem::offset_of!(bindings::netdev_hw_addr, list);
        // SAFETY: Every node but the head is the `list` field of a `struct netdev_hw_addr`,
        // valid while the lock is held, whose `addr` holds the netdev's address length, six
        // bytes for Ethernet.
        let addr = unsafe {
            let ha = next
                .cast::<u8>()
                .sub(offset)
                .cast::<bindings::netdev_hw_addr>();
            &*core::ptr::addr_of!((*ha).addr).cast::<[u8; 6]>()
        };
        Some(addr)
    }
}

/// The netdev's address lock, held by [`Device::lock_addrs`] until this goes.
pub struct AddrGuard<'a>(AddrLists<'a>);

impl<'a> core::ops::Deref for AddrGuard<'a> {
    type Target = AddrLists<'a>;

    fn deref(&self) -> &AddrLists<'a> {
        &self.0
    }
}

impl Drop for AddrGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Taken in `Device::lock_addrs`, on this thread with bottom halves off.
        unsafe { bindings::netif_addr_unlock_bh(self.0.dev) };
    }
}

/// Interface statistics (`struct rtnl_link_stats64`), filled by [`Operations::get_stats64`].
#[repr(transparent)]
pub struct Stats64(bindings::rtnl_link_stats64);

impl Stats64 {
    /// Adds the per-CPU counters of [`Device::count_rx`] and [`Device::count_tx`].
    pub fn add_sw_counters<T>(&mut self, dev: &Device<T>) {
        // SAFETY: The netdev has per-CPU `tstats` (see `Registration::new`).
        unsafe { bindings::netdev_fetch_tstats(&mut self.0, dev.as_raw()) }
    }
}

impl core::ops::Deref for Stats64 {
    type Target = bindings::rtnl_link_stats64;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl core::ops::DerefMut for Stats64 {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// A writer for [`Operations::get_phys_port_name`]: formats into the caller's buffer.
pub struct NameWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl fmt::Write for NameWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep room for the NUL.
        let end = self.pos + s.len();
        if end >= self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.pos..end].copy_from_slice(s.as_bytes());
        self.pos = end;
        Ok(())
    }
}

/// One transmit queue of a netdev (`struct netdev_queue`).
pub struct TxQueue<'a>(*mut bindings::netdev_queue, PhantomData<&'a ()>);

impl TxQueue<'_> {
    /// Stops the stack from transmitting on the queue (its ring is full).
    pub fn stop(&self) {
        // SAFETY: The queue is valid while the netdev is, which outlives `'a`.
        unsafe { bindings::netif_tx_stop_queue(self.0) }
    }

    /// Lets the stack transmit on the queue again and schedules it if it was stopped.
    pub fn wake(&self) {
        // SAFETY: As in `stop`.
        unsafe { bindings::netif_tx_wake_queue(self.0) }
    }

    /// Whether the queue is stopped.
    pub fn stopped(&self) -> bool {
        // SAFETY: As in `stop`.
        unsafe { bindings::netif_tx_queue_stopped(self.0) }
    }

    /// Byte queue limits: `bytes` were handed to the device, and the stack has more frames
    /// for the queue right after (`more`, from [`Device::xmit_more`]). Returns whether the
    /// device must be told now: no more frames come, or the limits stopped the queue (then
    /// nothing else would flush what was posted).
    pub fn sent(&self, bytes: u32, more: bool) -> bool {
        // SAFETY: As in `stop`.
        unsafe { bindings::__netdev_tx_sent_queue(self.0, bytes, more) }
    }

    /// Byte queue limits: the device finished `frames` frames of `bytes` bytes.
    pub fn completed(&self, frames: u32, bytes: u32) {
        // SAFETY: As in `stop`.
        unsafe { bindings::netdev_tx_completed_queue(self.0, frames, bytes) }
    }
}

/// A set of netdev features (`netdev_features_t`), as `ethtool -k` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features(u64);

impl Features {
    /// Scatter-gather transmit: frames in several pieces (`NETIF_F_SG`).
    pub const SG: Self = Self::bit(bindings::NETIF_F_SG_BIT);
    /// The device inserts any checksum the stack leaves to it (`NETIF_F_HW_CSUM`).
    pub const HW_CSUM: Self = Self::bit(bindings::NETIF_F_HW_CSUM_BIT);
    /// The device segments TCP over IPv4 (`NETIF_F_TSO`).
    pub const TSO: Self = Self::bit(bindings::NETIF_F_TSO_BIT);
    /// The device segments TCP over IPv6 (`NETIF_F_TSO6`).
    pub const TSO6: Self = Self::bit(bindings::NETIF_F_TSO6_BIT);
    /// The device verifies received checksums (`NETIF_F_RXCSUM`).
    pub const RXCSUM: Self = Self::bit(bindings::NETIF_F_RXCSUM_BIT);
    /// Generic receive offload (`NETIF_F_GRO`).
    pub const GRO: Self = Self::bit(bindings::NETIF_F_GRO_BIT);
    /// Transmitted frames come back to this interface (`NETIF_F_LOOPBACK`).
    pub const LOOPBACK: Self = Self::bit(bindings::NETIF_F_LOOPBACK_BIT);
    /// No feature.
    pub const EMPTY: Self = Self(0);

    const fn bit(bit: u32) -> Self {
        Self(1 << bit)
    }

    /// Whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The features of `self` or `other`.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The features of `self` without those of `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl core::ops::BitOr for Features {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        self.union(other)
    }
}

/// The callbacks of a netdev (`struct net_device_ops`).
#[vtable]
pub trait Operations: Send + Sync + Sized + 'static {
    /// The interface is brought up.
    fn open(dev: &Device<Self>) -> Result;

    /// The interface is brought down.
    fn stop(dev: &Device<Self>) -> Result;

    /// Transmits `skb`, which the driver now owns. Runs with bottom halves disabled and is
    /// serialised by the core; stop the queue before the ring is full, there is no "busy".
    fn start_xmit(dev: &Device<Self>, skb: SkBuff);

    /// Fills the interface statistics. May run in atomic context.
    fn get_stats64(_dev: &Device<Self>, _stats: &mut Stats64) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// The transmit queue made no progress within the watchdog timeout.
    fn tx_timeout(_dev: &Device<Self>, _queue: u32) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the MTU, already checked against the range the driver set; call
    /// [`Device::set_mtu`] once the device accepted it.
    fn change_mtu(_dev: &Device<Self>, _mtu: u32) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the features that the user may toggle (`ethtool -K`) to `features`; the core
    /// sets them once this succeeds. Called under RTNL.
    fn set_features(_dev: &Device<Self>, _features: Features) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// The addresses to receive for or the promiscuous or all-multicast flags changed:
    /// program the device's filters from `addrs`. Called with the netdev's address lock held
    /// and bottom halves disabled, from any context up to softirq: atomic, must not sleep (a
    /// device whose update sleeps defers it to a work item).
    fn set_rx_mode(_dev: &Device<Self>, _addrs: &AddrLists<'_>) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Names the port within its device, e.g. `p3`.
    fn get_phys_port_name(_dev: &Device<Self>, _name: &mut NameWriter<'_>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// Holds the C callbacks of `T`.
struct Callbacks<T>(PhantomData<T>);

impl<T: Operations> Callbacks<T> {
    /// # Safety
    ///
    /// The netdev callbacks below are called by the core with a netdev registered through
    /// `Registration::<T>::new`, valid for the call.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: By the safety requirements above.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: See `Callbacks::dev`.
        from_result(|| T::open(unsafe { Self::dev(dev) }).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: See `Callbacks::dev`.
        from_result(|| T::stop(unsafe { Self::dev(dev) }).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: The core hands over its reference to `skb`; see `Callbacks::dev`.
        unsafe { T::start_xmit(Self::dev(dev), SkBuff::from_raw(skb)) };
        bindings::netdev_tx_NETDEV_TX_OK
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call; see `Callbacks::dev`.
        unsafe { T::get_stats64(Self::dev(dev), &mut *stats.cast::<Stats64>()) }
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn tx_timeout(dev: *mut bindings::net_device, queue: u32) {
        // SAFETY: See `Callbacks::dev`.
        unsafe { T::tx_timeout(Self::dev(dev), queue) }
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn change_mtu(dev: *mut bindings::net_device, mtu: c_int) -> c_int {
        // SAFETY: See `Callbacks::dev`.
        from_result(|| T::change_mtu(unsafe { Self::dev(dev) }, mtu as u32).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`; the
    /// other pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_phys_port_name(
        dev: *mut bindings::net_device,
        name: *mut c_char,
        len: usize,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a buffer of `len` bytes, exclusive for the call.
            let buf = unsafe { core::slice::from_raw_parts_mut(name.cast::<u8>(), len) };
            let mut w = NameWriter { buf, pos: 0 };
            // SAFETY: See `Callbacks::dev`.
            T::get_phys_port_name(unsafe { Self::dev(dev) }, &mut w)?;
            let end = w.pos;
            w.buf[end] = 0;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`.
    unsafe extern "C" fn set_features(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> c_int {
        // SAFETY: See `Callbacks::dev`.
        from_result(|| T::set_features(unsafe { Self::dev(dev) }, Features(features)).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for the core, as the `ndo_` callback of the same name: see `Callbacks::dev`.
    unsafe extern "C" fn set_rx_mode(dev: *mut bindings::net_device) {
        // INVARIANT: The core calls `ndo_set_rx_mode` with the address lock held.
        let addrs = AddrLists {
            dev,
            _lock: PhantomData,
        };
        // SAFETY: See `Callbacks::dev`.
        T::set_rx_mode(unsafe { Self::dev(dev) }, &addrs)
    }

    const OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::open),
        ndo_stop: Some(Self::stop),
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu)
        } else {
            None
        },
        ndo_set_features: if T::HAS_SET_FEATURES {
            Some(Self::set_features)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode)
        } else {
            None
        },
        ndo_get_phys_port_name: if T::HAS_GET_PHYS_PORT_NAME {
            Some(Self::get_phys_port_name)
        } else {
            None
        },
        // SAFETY: The remaining members are optional callbacks; null is valid for each.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// A NAPI context (`struct napi_struct`), a field of the netdev's private data.
///
/// The context knows whether it is enabled. C's `napi_disable` of a disabled context spins
/// forever (under RTNL, for a netdev's callbacks), and `napi_enable` of an enabled one is a
/// `BUG`; here disabling a disabled context, or enabling an enabled one, does nothing. The
/// state cannot live in the type: a context is a field of private data that every callback
/// reaches by shared reference, so nothing could own an "enabled" value between `open` and
/// `stop` (or a reset that rebuilds the rings in between).
#[repr(C)]
pub struct Napi {
    /// First: the poll function finds the `Napi` at the address of its `napi_struct`.
    raw: Opaque<bindings::napi_struct>,
    enabled: AtomicBool,
}

// SAFETY: The NAPI core synchronises the context's state.
unsafe impl Send for Napi {}
// SAFETY: The methods of `&Napi` are safe to call concurrently, as in C.
unsafe impl Sync for Napi {}

impl Napi {
    /// A context to be added with [`Builder::add_napi`], disabled.
    pub fn new() -> impl PinInit<Self> {
        // SAFETY: The closure initialises the whole context to all zeroes: the state
        // `netif_napi_add` expects, and `enabled` false. It cannot fail.
        unsafe {
            init::pin_init_from_closure(|slot: *mut Self| {
                slot.write_bytes(0, 1);
                Ok(())
            })
        }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::napi_struct {
        self.raw.get()
    }

    /// Whether polling is allowed (between [`Napi::enable`] and [`Napi::disable`]).
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Allows polling, from [`Operations::open`]; does nothing if it is allowed already.
    /// Enabling and disabling a context are serialised by the caller (RTNL, for a netdev).
    pub fn enable(&self) {
        if self
            .enabled
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // SAFETY: The context was added to its netdev (`Builder::add_napi`) and is
            // disabled: `enabled` was false, and the caller serialises enable and disable.
            unsafe { bindings::napi_enable(self.as_raw()) }
        }
    }

    /// Waits for a running poll and forbids new ones, from [`Operations::stop`]; does
    /// nothing if the context is disabled already (C would spin forever). Sleeps.
    pub fn disable(&self) {
        if self
            .enabled
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // SAFETY: The context was added and is enabled: `enabled` was true, and the
            // caller serialises enable and disable.
            unsafe { bindings::napi_disable(self.as_raw()) }
        }
    }

    /// Schedules a poll, typically from the interrupt handler; does nothing unless the context
    /// is enabled (as C, where a disabled context is marked scheduled), so an interrupt that
    /// comes before the context was even added schedules nothing.
    pub fn schedule(&self) {
        if self.is_enabled() {
            // SAFETY: The context is enabled, so it was added; `napi_schedule` is callable
            // from any context, and does nothing while a `napi_disable` is under way.
            unsafe { bindings::napi_schedule(self.as_raw()) };
        }
    }

    /// Ends a poll that did `work` (less than its budget). Returns false if the poll was
    /// rescheduled meanwhile, in which case the driver must not unmask its interrupt.
    pub fn complete_done(&self, work: i32) -> bool {
        // SAFETY: Called from the poll function of this context.
        unsafe { bindings::napi_complete_done(self.as_raw(), work) }
    }

    /// Passes a received frame up the stack through GRO.
    pub fn gro_receive(&self, skb: SkBuff) {
        // SAFETY: Called from the poll function; GRO takes over the reference.
        unsafe { bindings::napi_gro_receive(self.as_raw(), skb.into_raw()) };
    }
}

/// The poll function of the NAPI context of netdevs whose private data is `Self`.
pub trait NapiPoll: Operations {
    /// Does at most `budget` units of receive work and returns how many it did; reclaiming
    /// transmitted frames is free. Runs in softirq context.
    fn poll(dev: &Device<Self>, napi: &Napi, budget: i32) -> i32;
}

/// # Safety
///
/// `napi` was added by `Builder::<T>::add_napi`, so its `dev` is a netdev of `T`.
unsafe extern "C" fn napi_poll<T: NapiPoll>(
    napi: *mut bindings::napi_struct,
    budget: c_int,
) -> c_int {
    // SAFETY: By the function's safety requirements; the netdev outlives its NAPI contexts.
    let dev = unsafe { Device::<T>::from_raw((*napi).dev) };
    // SAFETY: `add_napi` only adds the `raw` field of a `Napi`, its first (`repr(C)`), and
    // the netdev's private data holds the `Napi` for as long as the context can be polled.
    let n = unsafe { &*napi.cast::<Napi>() };
    T::poll(dev, n, budget)
}

/// Fills `key` with the system's RSS hash key (random, the same for every device), as drivers
/// start with.
pub fn rss_key_fill(key: &mut [u8]) {
    // SAFETY: `key` is valid for writes of its length.
    unsafe { bindings::netdev_rss_key_fill(key.as_mut_ptr().cast(), key.len()) }
}

/// Whether `mac` may be a station's address: neither multicast (nor broadcast) nor all zeros,
/// as C's `is_valid_ether_addr`.
pub fn is_valid_ether_addr(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac.iter().any(|&b| b != 0)
}

/// The interrupt handler of the netdevs whose private data is `Self`: the driver's data handles
/// the interrupts [`Builder::request_irq`] requested, each with the index given there. It runs
/// in hard interrupt context, from before the netdev is registered until after it is
/// unregistered (so also while it is down): it may not sleep.
pub trait IrqHandler: Operations {
    /// Handles interrupt `index` of `dev`.
    fn handle_irq(dev: &Device<Self>, index: u32) -> IrqReturn;
}

/// What an interrupt handler of a netdev is called with: the netdev, not counted (the
/// [`Registration`] frees the interrupt before the netdev), and the driver's index.
struct IrqCookie {
    dev: *mut bindings::net_device,
    index: u32,
}

/// An interrupt of a netdev, kept by its [`Registration`].
struct NetIrq {
    // Declared first: the interrupt is freed (and a running handler waited for) before the
    // cookie goes.
    _irq: irq::RawRegistration,
    _cookie: KBox<IrqCookie>,
}

/// # Safety
///
/// `cookie` must be the cookie of a live [`NetIrq`] of a netdev whose private data is `T`.
unsafe extern "C" fn handle_net_irq<T: IrqHandler>(
    _irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: By the function's safety requirements.
    let cookie = unsafe { &*cookie.cast::<IrqCookie>() };
    // SAFETY: The `Registration` that holds the `NetIrq` frees the interrupt before it drops
    // `T` and frees the netdev (type invariant of `Registration`), and `T` was initialised
    // before the interrupt was requested.
    let dev = unsafe { Device::<T>::from_raw(cookie.dev) };
    T::handle_irq(dev, cookie.index).into_raw()
}

/// Set-up of a netdev before it is registered, from [`Registration::new`].
pub struct Builder<'a, T> {
    dev: &'a Device<T>,
    /// The interrupts requested so far, which the `Registration` takes over.
    irqs: KVec<NetIrq>,
}

impl<T: Operations> Builder<'_, T> {
    /// The netdev being set up.
    pub fn device(&self) -> &Device<T> {
        self.dev
    }

    /// Sets the permanent and current MAC address.
    pub fn set_mac(&mut self, mac: &[u8; 6]) {
        // SAFETY: The netdev is not registered yet: nothing else uses it.
        unsafe {
            bindings::eth_hw_addr_set(self.dev.as_raw(), mac.as_ptr());
            (&mut (*self.dev.as_raw()).perm_addr)[..6].copy_from_slice(mac);
        }
    }

    /// Gives the netdev a random, locally administered MAC address (`addr_assign_type`
    /// `NET_ADDR_RANDOM`), for a device whose own is not valid.
    pub fn set_random_mac(&mut self) {
        // SAFETY: The netdev is not registered yet: nothing else uses it.
        unsafe { bindings::eth_hw_addr_random(self.dev.as_raw()) };
    }

    /// Sets the MTU range; [`Operations::change_mtu`] only sees values within it.
    pub fn set_mtu_range(&mut self, min: u32, max: u32) {
        // SAFETY: The netdev is not registered yet.
        unsafe {
            (*self.dev.as_raw()).min_mtu = min;
            (*self.dev.as_raw()).max_mtu = max;
        }
    }

    /// Says that [`Operations::set_rx_mode`] filters secondary unicast addresses
    /// (`IFF_UNICAST_FLT`): the core then no longer makes the netdev promiscuous when it has
    /// some.
    pub fn set_unicast_filter(&mut self) {
        // SAFETY: The netdev is not registered yet: nothing else writes its flags.
        unsafe { bindings::netdev_set_unicast_filter(self.dev.as_raw()) };
    }

    /// Sets the port number within the device (sysfs `dev_port`).
    pub fn set_dev_port(&mut self, port: u16) {
        // SAFETY: The netdev is not registered yet.
        unsafe { (*self.dev.as_raw()).dev_port = port };
    }

    /// Sets how long the transmit queue may stall before [`Operations::tx_timeout`].
    pub fn set_watchdog_timeout(&mut self, ms: u32) {
        // SAFETY: The netdev is not registered yet.
        unsafe { (*self.dev.as_raw()).watchdog_timeo = bindings::msecs_to_jiffies(ms) as c_int };
    }

    /// Makes the netdev the Ethernet side of devlink port `port`, which then names it
    /// (`phys_port_name`, `phys_switch_id`): [`Operations::get_phys_port_name`] must not be
    /// implemented.
    ///
    /// # Safety
    ///
    /// `port` must stay registered until the netdev is unregistered.
    pub unsafe fn set_devlink_port(&mut self, port: &crate::net::devlink::Port) {
        // SAFETY: The netdev is not registered yet; the port outlives its registration (the
        // function's safety requirements).
        unsafe { (*self.dev.as_raw()).devlink_port = port.as_raw() };
    }

    /// Sets the features the device has (`hw_features`, which the user may toggle) and those
    /// on at first (`features`); `fixed` are on and cannot be toggled.
    pub fn set_features(&mut self, hw: Features, on: Features, fixed: Features) {
        // SAFETY: The netdev is not registered yet.
        unsafe {
            (*self.dev.as_raw()).hw_features = hw.0;
            (*self.dev.as_raw()).features = on.0 | fixed.0;
        }
    }

    /// Sets the features that VLAN interfaces on this one inherit (`vlan_features`): the
    /// offloads the device also performs on frames with an 802.1Q tag.
    pub fn set_vlan_features(&mut self, features: Features) {
        // SAFETY: The netdev is not registered yet.
        unsafe { (*self.dev.as_raw()).vlan_features = features.0 };
    }

    /// Gives each of the first `n` traffic classes one transmit queue, class `t` queue `t`; the
    /// stack then picks a frame's queue by its priority's class ([`Device::set_prio_tc_map`]).
    pub fn set_tc_queues(&mut self, n: u8) -> Result {
        // SAFETY: The netdev is not registered yet.
        to_result(unsafe { bindings::netdev_set_num_tc(self.dev.as_raw(), n) })?;
        for tc in 0..n {
            // SAFETY: As above; `tc` is below the classes just set.
            to_result(unsafe {
                bindings::netdev_set_tc_queue(self.dev.as_raw(), tc, 1, u16::from(tc))
            })?;
        }
        Ok(())
    }

    /// Uses `T`'s per-queue statistics (netdev netlink `qstats`).
    pub fn set_queue_stats(&mut self)
    where
        T: crate::net::qstats::QueueStats,
    {
        // SAFETY: The netdev is not registered yet; the table is static and matches `T`.
        unsafe {
            bindings::netdev_set_stat_ops(self.dev.as_raw(), crate::net::qstats::vtable::<T>())
        };
    }

    /// Uses `T`'s ethtool operations.
    pub fn set_ethtool_ops(&mut self)
    where
        T: crate::net::ethtool::Operations,
    {
        // SAFETY: The netdev is not registered yet; the table is static and matches `T`.
        unsafe { (*self.dev.as_raw()).ethtool_ops = crate::net::ethtool::vtable::<T>() };
    }

    /// Uses `T`'s DCB operations.
    pub fn set_dcbnl_ops(&mut self)
    where
        T: crate::net::dcbnl::Operations,
    {
        // SAFETY: The netdev is not registered yet; the table is static and matches `T`.
        unsafe { (*self.dev.as_raw()).dcbnl_ops = crate::net::dcbnl::vtable::<T>() };
    }

    /// Adds the NAPI context that `field` picks out of the private data.
    pub fn add_napi(&mut self, field: impl FnOnce(&T) -> &Napi) -> Result
    where
        T: NapiPoll,
    {
        let data = self.dev.data();
        let napi = field(data);
        // The context must live in the private data, which lives as long as the netdev.
        let start = data as *const T as usize;
        let at = napi as *const Napi as usize;
        if at < start || at + core::mem::size_of::<Napi>() > start + core::mem::size_of::<T>() {
            return Err(EINVAL);
        }
        // SAFETY: The context is in the private data, pinned until after the netdev is
        // unregistered; `free_netdev` deletes it. The netdev's private data is `T`.
        unsafe { bindings::netif_napi_add(self.dev.as_raw(), napi.as_raw(), Some(napi_poll::<T>)) };
        Ok(())
    }

    /// Requests the interrupt of `request` for the netdev: [`IrqHandler::handle_irq`] gets
    /// `index` with it. The interrupt exists before the netdev is registered and is freed
    /// after it is unregistered (or if the registration fails), so nothing that brings the
    /// netdev up can find it missing.
    pub fn request_irq(
        &mut self,
        request: IrqRequest<'_>,
        flags: irq::Flags,
        name: &'static CStr,
        index: u32,
    ) -> Result
    where
        T: IrqHandler,
    {
        self.irqs.reserve(1, GFP_KERNEL)?;
        let cookie = KBox::new(
            IrqCookie {
                dev: self.dev.as_raw(),
                index,
            },
            GFP_KERNEL,
        )?;
        let ptr = core::ptr::from_ref::<IrqCookie>(&cookie).cast_mut().cast();
        // SAFETY: The cookie names this netdev, whose private data is `T`; the `NetIrq` keeps
        // it (boxed: it does not move) until the interrupt is freed.
        let irq =
            unsafe { irq::RawRegistration::new(request, flags, name, handle_net_irq::<T>, ptr)? };
        self.irqs.push(
            NetIrq {
                _irq: irq,
                _cookie: cookie,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }
}

/// A registered Ethernet netdev with private data `T` and the interrupts that serve it; on
/// drop the netdev is unregistered, then the interrupts are freed, then `T` is dropped and the
/// netdev freed.
///
/// # Invariants
///
/// `dev` is a registered netdev whose private area holds an initialised `T`; the interrupts of
/// `irqs` name it, and are freed before it.
pub struct Registration<T: Operations> {
    dev: NonNull<bindings::net_device>,
    irqs: KVec<NetIrq>,
    _data: PhantomData<T>,
}

// SAFETY: Unregistering and freeing the interrupts may happen on any thread (their cookies
// are only read by the handlers); `T` is `Send`.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&Device<T>`, which is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Allocates an Ethernet netdev under `parent`, initialises its private data with `init`,
    /// lets `setup` configure it (and request its interrupts) and registers it.
    pub fn new(
        parent: &device::Device,
        init: impl PinInit<T, Error>,
        setup: impl FnOnce(&mut Builder<'_, T>) -> Result,
    ) -> Result<Self> {
        Self::new_mq(parent, 1, 1, init, setup)
    }

    /// As [`Registration::new`], with `txqs` transmit and `rxqs` receive queues (at least one
    /// each), all in use at first.
    pub fn new_mq(
        parent: &device::Device,
        txqs: u32,
        rxqs: u32,
        init: impl PinInit<T, Error>,
        setup: impl FnOnce(&mut Builder<'_, T>) -> Result,
    ) -> Result<Self> {
        const { assert!(core::mem::align_of::<T>() <= bindings::NETDEV_ALIGN as usize) };
        if txqs == 0 || rxqs == 0 {
            return Err(EINVAL);
        }
        // SAFETY: At least one queue each way, private area of `T`'s size.
        let raw =
            unsafe { bindings::alloc_etherdev_mqs(core::mem::size_of::<T>() as c_int, txqs, rxqs) };
        let raw = NonNull::new(raw).ok_or(ENOMEM)?;
        let dev = raw.as_ptr();
        // SAFETY: The private area is sized and aligned for `T` (aligned to `NETDEV_ALIGN`).
        if let Err(e) = unsafe { init.__pinned_init(bindings::netdev_priv(dev).cast::<T>()) } {
            // SAFETY: Nothing else knows the netdev; its private area holds no `T`.
            unsafe { bindings::free_netdev(dev) };
            return Err(e);
        }
        // SAFETY: `dev` is valid and unregistered; `Callbacks::OPS` is a static table for `T`
        // and per-CPU `tstats` are what `Device::count_rx` and friends use.
        unsafe {
            (*dev).netdev_ops = &Callbacks::<T>::OPS;
            (*dev).dev.parent = parent.as_raw();
            (*dev).set_pcpu_stat_type(bindings::netdev_stat_type_NETDEV_PCPU_STAT_TSTATS);
        }
        let mut builder = Builder {
            // SAFETY: `dev` now holds an initialised `T`.
            dev: unsafe { Device::from_raw(dev) },
            irqs: KVec::new(),
        };
        let res = setup(&mut builder).and_then(|()| {
            // SAFETY: `dev` is fully set up, its interrupts requested.
            to_result(unsafe { bindings::register_netdev(dev) })
        });
        let irqs = builder.irqs;
        if let Err(e) = res {
            // The interrupts go first: their handlers use `T` and the netdev.
            drop(irqs);
            // SAFETY: Not registered, and no handler runs any more: drop the data we
            // initialised and free the netdev.
            unsafe {
                core::ptr::drop_in_place(bindings::netdev_priv(dev).cast::<T>());
                bindings::free_netdev(dev);
            }
            return Err(e);
        }
        // INVARIANT: Registered above with an initialised `T`; `irqs` were requested for it.
        Ok(Self {
            dev: raw,
            irqs,
            _data: PhantomData,
        })
    }

    /// The registered netdev.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: By the type invariant.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// A counted reference to the netdev; dropping the `Registration` waits until every such
    /// reference is gone.
    pub fn handle(&self) -> ARef<Device<T>> {
        self.device().into()
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        let dev = self.dev.as_ptr();
        // SAFETY: By the type invariant the netdev is registered. Unregistering stops it
        // (`ndo_stop`) and waits until nobody uses it.
        unsafe { bindings::unregister_netdev(dev) };
        // Then its interrupts: a handler may run until here (on a netdev that is down).
        drop(core::mem::take(&mut self.irqs));
        // SAFETY: By the type invariant the netdev holds a `T`, which nothing uses any more:
        // it is dropped, and `free_netdev` (which deletes the NAPI contexts) frees the memory.
        unsafe {
            core::ptr::drop_in_place(bindings::netdev_priv(dev).cast::<T>());
            bindings::free_netdev(dev);
        }
    }
}
