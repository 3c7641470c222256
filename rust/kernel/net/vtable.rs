// SPDX-License-Identifier: GPL-2.0

//! Helpers for the C operations tables (`struct ethtool_ops`, `struct dcbnl_rtnl_ops`) that
//! the abstractions build from a driver's `#[vtable]` trait.

/// `Some(f)` if `has`: a callback that the table holds only if the driver implements it, so
/// that the C core sees the operation as unsupported otherwise.
pub(crate) const fn maybe<F: Copy>(has: bool, f: F) -> Option<F> {
    if has {
        Some(f)
    } else {
        None
    }
}
