// SPDX-License-Identifier: GPL-2.0

//! Tables of device IDs, which a bus matches devices against.
//!
//! A bus declares its ID type and a macro that builds a table of IDs, each with a piece of
//! driver information (`pci_device_table!`); the bus's driver trait takes the table as an
//! [`IdTable`]. The macro also exports the IDs for module autoloading, through
//! [`module_device_table!`](crate::module_device_table).

/// A table of IDs of C type `T`, ending with a zeroed entry, each with driver information `U`.
pub trait IdTable<T, U>: Sync {
    /// The table, as the C side reads it.
    fn as_ptr(&self) -> *const T;

    /// The driver information of entry `index`.
    fn info(&self, index: usize) -> Option<&U>;
}

/// Exports table `$table_name` of bus `$bus` as modpost's device table, under the static
/// `$module_table_name`, so that the module gets one `alias` per ID and udev or modprobe load it
/// when a matching device appears. This is what C's `MODULE_DEVICE_TABLE()` does.
///
/// `$table_name` is a constant with a `const fn raw_ids(&self)` returning the IDs as C lays them
/// out, terminator included, whose type has a `const fn size(&self) -> usize`.
///
/// modpost (`scripts/mod/file2alias.c`) looks for data objects named
/// `__mod_<bus>__<identifier>_device_table`, checks that their size is a multiple of the bus's
/// ID struct and that the last entry is zero, and turns each entry into a `MODULE_ALIAS()`. Only
/// loadable modules get one, as in C.
#[macro_export]
macro_rules! module_device_table {
    ($bus:literal, $module_table_name:ident, $table_name:ident) => {
        #[cfg(MODULE)]
        #[used]
        #[export_name = concat!("__mod_", $bus, "__", stringify!($table_name), "_device_table")]
        static $module_table_name: [::core::mem::MaybeUninit<u8>; $table_name.raw_ids().size()] =
            // SAFETY: The array has the size of the raw IDs, any bytes are valid
            // `MaybeUninit<u8>`s, and `transmute_copy` reads them unaligned.
            unsafe { ::core::mem::transmute_copy($table_name.raw_ids()) };
    };
}
