// SPDX-License-Identifier: GPL-2.0

//! Plug-in modules: what their EEPROM looks like, and reads of it.

use super::{ExtAck, Operations, Table};
use crate::{bindings, error::from_result, ffi::c_int};

/// Bytes of a module EEPROM page half (what one `get_module_eeprom_by_page` call may span).
pub const MODULE_EEPROM_PAGE_LEN: u32 = bindings::ETH_MODULE_EEPROM_PAGE_LEN;

/// The memory map of a plug-in module's EEPROM (`ETH_MODULE_SFF_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ModuleType {
    /// SFP: SFF-8079, 256 bytes at address A0h.
    Sff8079 = bindings::ETH_MODULE_SFF_8079,
    /// SFP with diagnostics: SFF-8472, A0h then A2h.
    Sff8472 = bindings::ETH_MODULE_SFF_8472,
    /// QSFP+: SFF-8436.
    Sff8436 = bindings::ETH_MODULE_SFF_8436,
    /// QSFP+ and QSFP28: SFF-8636, lower page 0 then upper pages 00h, 01h, 02h, 03h.
    Sff8636 = bindings::ETH_MODULE_SFF_8636,
}

/// `ETH_MODULE_SFF_8436_LEN`: lower page 0 and upper page 00h of an SFF-8436 module.
pub const SFF_8436_LEN: u32 = bindings::ETH_MODULE_SFF_8436_LEN;
/// `ETH_MODULE_SFF_8436_MAX_LEN`: also upper pages 01h to 03h.
pub const SFF_8436_MAX_LEN: u32 = bindings::ETH_MODULE_SFF_8436_MAX_LEN;
/// `ETH_MODULE_SFF_8636_LEN`: lower page 0 and upper page 00h of an SFF-8636 module.
pub const SFF_8636_LEN: u32 = bindings::ETH_MODULE_SFF_8636_LEN;
/// `ETH_MODULE_SFF_8636_MAX_LEN`: also upper pages 01h to 03h.
pub const SFF_8636_MAX_LEN: u32 = bindings::ETH_MODULE_SFF_8636_MAX_LEN;

/// What a plug-in module's EEPROM looks like (`struct ethtool_modinfo`), filled by
/// [`Operations::get_module_info`].
#[repr(transparent)]
pub struct ModuleInfo(bindings::ethtool_modinfo);

impl ModuleInfo {
    /// Sets the memory map and how many bytes of it [`Operations::get_module_eeprom`] reads.
    pub fn set(&mut self, kind: ModuleType, eeprom_len: u32) {
        self.0.type_ = kind as u32;
        self.0.eeprom_len = eeprom_len;
    }
}

/// A read of a module EEPROM page (`struct ethtool_module_eeprom`), for
/// [`Operations::get_module_eeprom_by_page`].
///
/// The core has checked that the read stays within one half page: `offset` 0 to 127 only for
/// page 0 (the lower page), 128 to 255 for any page (its upper half).
pub struct ModulePage<'a> {
    offset: u32,
    page: u8,
    bank: u8,
    i2c_address: u8,
    data: &'a mut [u8],
}

impl ModulePage<'_> {
    /// The offset within the 256-byte window of lower page 0 and the selected upper page.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The page.
    pub fn page(&self) -> u8 {
        self.page
    }

    /// The bank (CMIS).
    pub fn bank(&self) -> u8 {
        self.bank
    }

    /// The I2C address (0x50, or 0x51 for the diagnostics of an SFF-8472 module).
    pub fn i2c_address(&self) -> u8 {
        self.i2c_address
    }

    /// Where the bytes go; its length is how many were asked for.
    pub fn data(&mut self) -> &mut [u8] {
        self.data
    }
}

impl<T: Operations> Table<T> {
    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_module_info(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_modinfo,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `info` is valid and exclusive for the call, `ModuleInfo` a transparent
            // wrapper; see `Table::dev`.
            unsafe { T::get_module_info(Self::dev(dev), &mut *info.cast::<ModuleInfo>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_module_eeprom(
        dev: *mut bindings::net_device,
        eeprom: *mut bindings::ethtool_eeprom,
        data: *mut u8,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `eeprom` is valid for the call and `data` holds its `len` bytes,
            // exclusive for the call.
            let (offset, data) = unsafe {
                (
                    (*eeprom).offset,
                    core::slice::from_raw_parts_mut(data, (*eeprom).len as usize),
                )
            };
            // SAFETY: See `Table::dev`.
            T::get_module_eeprom(unsafe { Self::dev(dev) }, offset, data).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_module_eeprom_by_page(
        dev: *mut bindings::net_device,
        page: *const bindings::ethtool_module_eeprom,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `page` is valid for the call and its `data` holds `length` bytes,
            // exclusive for the call.
            let mut page = unsafe {
                let p = &*page;
                ModulePage {
                    offset: p.offset,
                    page: p.page,
                    bank: p.bank,
                    i2c_address: p.i2c_address,
                    data: core::slice::from_raw_parts_mut(p.data, p.length as usize),
                }
            };
            let asked = page.data.len();
            // SAFETY: `extack` is null or valid and ours for the call; see `Table::dev`.
            let read = unsafe {
                T::get_module_eeprom_by_page(
                    Self::dev(dev),
                    &mut page,
                    &mut ExtAck::from_raw(extack),
                )?
            };
            // CAST: At most `length`, a `u32`.
            Ok(read.min(asked) as c_int)
        })
    }
}
