// SPDX-License-Identifier: GPL-2.0

//! Tables of device IDs, which a bus matches devices against.
//!
//! A bus declares its ID type and a macro that builds a table of IDs, each with a piece of
//! driver information (`pci_device_table!`); the bus's driver trait takes the table as an
//! [`IdTable`].

/// A table of IDs of C type `T`, ending with a zeroed entry, each with driver information `U`.
pub trait IdTable<T, U>: Sync {
    /// The table, as the C side reads it.
    fn as_ptr(&self) -> *const T;

    /// The driver information of entry `index`.
    fn info(&self, index: usize) -> Option<&U>;
}
