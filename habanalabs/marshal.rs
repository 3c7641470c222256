// SPDX-License-Identifier: GPL-2.0

//! Marshalling of the uAPI's structs: which of bindgen's types may be read from the caller's
//! bytes and written back, and the argument of an ioctl as copied in.
//!
//! The kernel crate has traits of the same meaning (`kernel::types::FromBytes` and `AsBytes`),
//! but this crate may not implement them for the uAPI's types: those come from the `uapi`
//! crate, the traits from `kernel`, and the orphan rule forbids implementing a foreign trait
//! for a foreign type. The ways around it, a newtype around every uAPI struct or impls for
//! this driver's uAPI inside the kernel crate, cost more than two local traits.

use kernel::{prelude::*, uapi};

/// A uAPI type any bytes make a valid value of: it may be read from what the caller passed.
///
/// # Safety
///
/// The type must be `repr(C)` plain data: fixed-size integers, arrays of them, and structs and
/// unions of such, with no implicit padding.
pub(crate) unsafe trait UapiIn: Copy {}

/// A uAPI type whose every value, however made, has all its bytes initialised: it may be
/// copied out to the caller.
///
/// # Safety
///
/// The type must be [`UapiIn`] and hold no union with members of different sizes (which
/// safe code can set through a small member, leaving bytes uninitialised).
pub(crate) unsafe trait UapiOut: UapiIn {}

macro_rules! uapi_types {
    (input: [$($f:ident),* $(,)?], output: [$($a:ident),* $(,)?] $(,)?) => {
        // SAFETY: bindgen's translations of the uAPI header, whose structs and unions are made
        // of fixed-size integers and arrays of them, with explicit padding fields.
        $(unsafe impl UapiIn for uapi::$f {})*
        // SAFETY: The output types are bindgen's translations of the same header, made of
        // fixed-size integers and arrays of them with explicit padding fields.
        $(unsafe impl UapiIn for uapi::$a {})*
        // SAFETY: These hold no union, except `hl_info_args`, whose members are each a `u32`.
        $(unsafe impl UapiOut for uapi::$a {})*
    };
}

uapi_types!(
    input: [hl_cs_in, hl_cs_chunk, hl_wait_cs_in, hl_mem_in],
    output: [
        hl_info_args, hl_cb_in, hl_wait_cs_out, hl_debug_args, hl_info_hw_ip_info, hl_info_dram_usage,
        hl_info_hw_idle, hl_info_device_status, hl_info_device_utilization, hl_info_clk_rate,
        hl_info_reset_count, hl_info_time_sync, hl_info_clk_throttle, hl_open_stats_info,
        hl_info_sync_manager, hl_info_cs_counters, hl_info_last_err_open_dev_time,
        hl_info_cs_timeout_event, hl_info_razwi_event, hl_info_undefined_opcode_event,
        hl_info_dev_memalloc_page_sizes, hl_power_info, hl_info_energy, hl_pll_frequency_info,
        hl_info_pci_counters,
        hl_mac_addr, hl_info_mac_addr, hl_nic_args,
        hl_nic_alloc_conn_in, hl_nic_alloc_conn_out, hl_nic_req_conn_ctx_in,
        hl_nic_res_conn_ctx_in, hl_nic_destroy_conn_in, hl_nic_cq_create_in,
        hl_nic_cq_create_out, hl_nic_cq_destroy_in, hl_nic_cq_update_consumed_cqes_in,
        hl_nic_cq_poll_wait_in, hl_nic_cq_poll_wait_out, hl_nic_user_wq_arr_set_in,
        hl_nic_user_wq_arr_unset_in,
    ],
);

// SAFETY: `()` has no bytes.
unsafe impl UapiIn for () {}
// SAFETY: `()` has no bytes.
unsafe impl UapiOut for () {}
// SAFETY: Any bit pattern is a valid `u32`, which has no padding.
unsafe impl UapiIn for u32 {}
// SAFETY: A `u32` is all initialised bytes.
unsafe impl UapiOut for u32 {}
// SAFETY: Any bit pattern is a valid `u64`, which has no padding.
unsafe impl UapiIn for u64 {}
// SAFETY: A `u64` is all initialised bytes.
unsafe impl UapiOut for u64 {}

/// A `T` of zero bytes. For the uAPI's structs whose `Default` bindgen writes by hand (those
/// with long arrays), which is not inlined into modules.
pub(crate) fn zeroed<T: UapiIn>() -> T {
    // SAFETY: Any bit pattern, zeroes included, is a valid `T` (`UapiIn`).
    unsafe { core::mem::zeroed() }
}

/// The bytes of `value`.
pub(crate) fn as_bytes<T: UapiOut>(value: &T) -> &[u8] {
    // SAFETY: All of `T`'s bytes are initialised (`UapiOut`).
    unsafe { core::slice::from_raw_parts(core::ptr::from_ref(value).cast(), size_of::<T>()) }
}

/// Reads a `T` from the start of `bytes` (which must be long enough).
pub(crate) fn from_bytes<T: UapiIn>(bytes: &[u8]) -> Result<T> {
    if bytes.len() < size_of::<T>() {
        return Err(EINVAL);
    }
    // SAFETY: In bounds (checked above); any bit pattern is a valid `T` (`UapiIn`).
    Ok(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// An argument as copied in: a `T`, and the bytes it was read from, for the members of its
/// unions (which safe code may only read from bytes known to be initialised).
pub(crate) struct Arg<'a, T> {
    value: T,
    bytes: &'a [u8],
}

impl<'a, T: UapiIn> Arg<'a, T> {
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self> {
        Ok(Self {
            value: from_bytes(bytes)?,
            bytes: &bytes[..size_of::<T>()],
        })
    }

    /// The `U` at byte `offset` of the argument: one member of a union.
    pub(crate) fn read<U: UapiIn>(&self, offset: usize) -> Result<U> {
        from_bytes(self.bytes.get(offset..).ok_or(EINVAL)?)
    }
}

impl<T> core::ops::Deref for Arg<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}
