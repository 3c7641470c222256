// SPDX-License-Identifier: GPL-2.0

//! Typed registers: each register, and each word format a device shares with its driver
//! through memory, is declared once, as data, with its place and its bit fields.
//!
//! Driver code then reads a register into a value with named getters, builds a value with
//! named setters and writes it back; nobody shifts and masks by hand, and a 64-bit register
//! is written in one access.
//!
//! The shape follows the `register!` macro that nova-core brought upstream (Linux 6.18's
//! `kernel::io::register`): `hi:lo name as type` fields, `set_name()` setters that return the
//! new value, `read()`/`write()`/`alter()` on an [`Io`](super::Io) mapping. Two things are
//! ours: registers inside a block whose base is only known at run time (a queue's, a port's)
//! name the block's type, so a register of one kind of block cannot be used with another; and
//! word formats with no place in the register file (descriptors, completion entries) use the
//! same field syntax.

/// A block of registers that appears several times in a register file (one per queue, one per
/// port), at a base offset known at run time.
///
/// Registers declared with `@ Block[offset]` are read and written through a value of `Block`:
/// the type says which kind of block a register belongs to.
pub trait RegisterBlock {
    /// The block's offset in the mapping.
    fn base(&self) -> usize;
}

/// Declares a register, or a word format, with named bit fields.
///
/// Each declaration makes a `#[repr(transparent)]` newtype over its storage type (`u32` or
/// `u64`), convertible from and to it with `From`, with for each field:
///
/// - `name()`, the field's value as its type (`bool`, an integer type, or through `=> T`,
///   `T::from()`; through `?=> T`, `T::try_from()`, returning its `Result`);
/// - `set_name(value)`, a copy of the register with the field replaced (excess bits of an
///   integer value are dropped).
///
/// Placement picks the accessors:
///
/// - `@ 0x100`: a register at a fixed offset; `read(io)`, `write(io)` and `alter(io, f)`,
///   whose offset is checked at build time against the mapping's minimum size;
/// - `@ Block[0x10]`: a register at that offset within each [`RegisterBlock`] of type
///   `Block`; `try_read(io, &block)`, `try_write(io, &block)` and `try_alter(io, &block, f)`,
///   checked at run time (`EINVAL` outside the mapping);
/// - `@ 0x80[10; 8]`: an array of 10 registers 8 bytes apart; `try_read_at(io, i)` and
///   `try_write_at(io, i)`, with `EINVAL` for an index out of the array;
/// - nothing: a word format, with no accessors.
///
/// Field ranges are checked at build time: `hi >= lo`, inside the storage type, and no wider
/// than the field's type (one bit for `bool`).
///
/// # Examples
///
/// ```
/// use kernel::{io::{register::RegisterBlock, Io}, prelude::*, register};
///
/// register! {
///     /// The device's version.
///     pub VERSION(u32) @ 0x004 {
///         /// Minor version.
///         15:0 minor as u16;
///         /// Major version.
///         31:16 major as u16;
///     }
/// }
///
/// /// A queue's register block.
/// pub struct QueueBlock(usize);
///
/// impl RegisterBlock for QueueBlock {
///     fn base(&self) -> usize {
///         0x1000 + self.0 * 0x100
///     }
/// }
///
/// register! {
///     /// Where a queue's ring is.
///     pub RING_BASE(u64) @ QueueBlock[0x00] {}
/// }
///
/// register! {
///     /// A queue's control register.
///     pub QUEUE_CTL(u32) @ QueueBlock[0x08] {
///         /// The queue runs.
///         0:0 enable as bool;
///     }
/// }
///
/// fn start(io: &Io<0x2000>, queue: &QueueBlock, ring: u64) -> Result<u16> {
///     RING_BASE::from(ring).try_write(io, queue)?;
///     QUEUE_CTL::default().set_enable(true).try_write(io, queue)?;
///     Ok(VERSION::read(io).major())
/// }
/// ```
#[macro_export]
macro_rules! register {
    // The type, its conversions, its fields and its `Debug`.
    (@type
        $(#[$attr:meta])* $vis:vis $name:ident($st:ident) {
            $(
                $(#[$fattr:meta])*
                $hi:literal:$lo:literal $field:ident as $ft:ident
                    $(=> $conv:ident)? $(?=> $tryconv:ident)?;
            )*
        }
    ) => {
        $(#[$attr])*
        // Registers keep the names of the device's documentation.
        #[allow(non_camel_case_types)]
        #[repr(transparent)]
        #[derive(Clone, Copy, Default, PartialEq, Eq)]
        $vis struct $name($st);

        $($crate::register!(@check $st, $hi, $lo, $ft);)*

        impl ::core::convert::From<$st> for $name {
            fn from(raw: $st) -> Self {
                Self(raw)
            }
        }

        impl ::core::convert::From<$name> for $st {
            fn from(reg: $name) -> $st {
                reg.0
            }
        }

        #[allow(dead_code)]
        impl $name {
            $(
                $crate::register!(@field $vis $name($st) $(#[$fattr])*
                    $hi:$lo $field as $ft $(=> $conv)? $(?=> $tryconv)?);
            )*
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!($name))
                    .field("raw", &::core::format_args!("{:#x}", self.0))
                    $(
                        .field(
                            ::core::stringify!($field),
                            &::core::format_args!(
                                "{:#x}",
                                (self.0 & $crate::register!(@mask $st, $hi, $lo)) >> $lo,
                            ),
                        )
                    )*
                    .finish()
            }
        }
    };

    // A field read as a `bool` or an integer type.
    (@field $vis:vis $name:ident($st:ident) $(#[$fattr:meta])* $hi:literal:$lo:literal
        $field:ident as $ft:ident
    ) => {
        $(#[$fattr])*
        #[inline(always)]
        $vis const fn $field(self) -> $ft {
            $crate::register!(@raw $st, $ft, self.0, $hi, $lo)
        }

        $crate::macros::paste! {
            $(#[$fattr])*
            #[inline(always)]
            #[must_use]
            $vis const fn [<set_ $field>](self, value: $ft) -> Self {
                let mask = $crate::register!(@mask $st, $hi, $lo);
                Self((self.0 & !mask) | (((value as $st) << $lo) & mask))
            }
        }
    };

    // A field read through `From`.
    (@field $vis:vis $name:ident($st:ident) $(#[$fattr:meta])* $hi:literal:$lo:literal
        $field:ident as $ft:ident => $conv:ty
    ) => {
        $(#[$fattr])*
        #[inline(always)]
        $vis fn $field(self) -> $conv {
            let raw = $crate::register!(@raw $st, $ft, self.0, $hi, $lo);
            <$conv as ::core::convert::From<$ft>>::from(raw)
        }

        $crate::register!(@set_from $vis $st $(#[$fattr])* $hi:$lo $field as $ft => $conv);
    };

    // A field read through `TryFrom`: values the type has no meaning for are errors.
    (@field $vis:vis $name:ident($st:ident) $(#[$fattr:meta])* $hi:literal:$lo:literal
        $field:ident as $ft:ident ?=> $conv:ty
    ) => {
        $(#[$fattr])*
        #[inline(always)]
        $vis fn $field(
            self,
        ) -> ::core::result::Result<$conv, <$conv as ::core::convert::TryFrom<$ft>>::Error> {
            let raw = $crate::register!(@raw $st, $ft, self.0, $hi, $lo);
            <$conv as ::core::convert::TryFrom<$ft>>::try_from(raw)
        }

        $crate::register!(@set_from $vis $st $(#[$fattr])* $hi:$lo $field as $ft => $conv);
    };

    // The setter of a field converted with `From` or `TryFrom`: its type converts into the
    // field's.
    (@set_from $vis:vis $st:ident $(#[$fattr:meta])* $hi:literal:$lo:literal
        $field:ident as $ft:ident => $conv:ty
    ) => {
        $crate::macros::paste! {
            $(#[$fattr])*
            #[inline(always)]
            #[must_use]
            $vis fn [<set_ $field>](self, value: $conv) -> Self {
                let mask = $crate::register!(@mask $st, $hi, $lo);
                let value = <$ft as ::core::convert::From<$conv>>::from(value);
                Self((self.0 & !mask) | (((value as $st) << $lo) & mask))
            }
        }
    };

    // A field's value as its raw type.
    (@raw $st:ident, $ft:ident, $v:expr, $hi:literal, $lo:literal) => {
        $crate::register!(@get $ft, ($v & $crate::register!(@mask $st, $hi, $lo)) >> $lo)
    };

    // Build-time checks of a field's range.
    (@check $st:ident, $hi:literal, $lo:literal, bool) => {
        const _: () = ::core::assert!($hi == $lo && $hi < <$st>::BITS, "bad bool field");
    };
    (@check $st:ident, $hi:literal, $lo:literal, $ft:ident) => {
        const _: () = ::core::assert!(
            $hi >= $lo && $hi < <$st>::BITS && $hi - $lo < <$ft>::BITS,
            "bad field range"
        );
    };

    // The field's bits, in place.
    (@mask $st:ident, $hi:literal, $lo:literal) => {
        (<$st>::MAX >> (<$st>::BITS - 1 - ($hi - $lo))) << $lo
    };

    // A field's raw bits (shifted down) as its type.
    (@get bool, $raw:expr) => { $raw != 0 };
    (@get $ft:ident, $raw:expr) => { $raw as $ft };

    // The offset of a register in a block, or `EINVAL` if it does not fit a `usize`.
    (@offset $block:expr, $offset:expr) => {
        $crate::io::register::RegisterBlock::base($block)
            .checked_add($offset)
            .ok_or($crate::error::code::EINVAL)
    };

    // Accessors by storage type.
    (@read u32, $io:expr, $off:expr) => { $io.read32($off) };
    (@read u64, $io:expr, $off:expr) => { $io.read64($off) };
    (@write u32, $io:expr, $v:expr, $off:expr) => { $io.write32($v, $off) };
    (@write u64, $io:expr, $v:expr, $off:expr) => { $io.write64($v, $off) };
    (@try_read u32, $io:expr, $off:expr) => { $io.try_read32($off) };
    (@try_read u64, $io:expr, $off:expr) => { $io.try_read64($off) };
    (@try_write u32, $io:expr, $v:expr, $off:expr) => { $io.try_write32($v, $off) };
    (@try_write u64, $io:expr, $v:expr, $off:expr) => { $io.try_write64($v, $off) };

    // A register at a fixed offset.
    (
        $(#[$attr:meta])* $vis:vis $name:ident($st:ident) @ $offset:literal
        { $($fields:tt)* }
    ) => {
        $crate::register!(@type $(#[$attr])* $vis $name($st) { $($fields)* });
        // Not every register is both read and written.
        #[allow(dead_code)]
        impl $name {
            /// The register's offset in its mapping.
            $vis const OFFSET: usize = $offset;

            /// Reads the register.
            #[inline(always)]
            $vis fn read<const SIZE: usize>(io: &$crate::io::Io<SIZE>) -> Self {
                Self($crate::register!(@read $st, io, Self::OFFSET))
            }

            /// Writes `self` to the register.
            #[inline(always)]
            $vis fn write<const SIZE: usize>(self, io: &$crate::io::Io<SIZE>) {
                $crate::register!(@write $st, io, self.0, Self::OFFSET)
            }

            /// Reads the register, changes it with `f` and writes the result.
            #[inline(always)]
            $vis fn alter<const SIZE: usize>(
                io: &$crate::io::Io<SIZE>,
                f: impl FnOnce(Self) -> Self,
            ) {
                f(Self::read(io)).write(io)
            }
        }
    };

    // A register within each block of type `$block`.
    (
        $(#[$attr:meta])* $vis:vis $name:ident($st:ident) @ $block:ident[$offset:literal]
        { $($fields:tt)* }
    ) => {
        $crate::register!(@type $(#[$attr])* $vis $name($st) { $($fields)* });
        // Not every register is both read and written.
        #[allow(dead_code)]
        impl $name {
            /// The register's offset in its block.
            $vis const OFFSET: usize = $offset;

            /// Reads the register of `block`.
            #[inline]
            $vis fn try_read<const SIZE: usize>(
                io: &$crate::io::Io<SIZE>,
                block: &$block,
            ) -> $crate::error::Result<Self> {
                let offset = $crate::register!(@offset block, Self::OFFSET)?;
                Ok(Self($crate::register!(@try_read $st, io, offset)?))
            }

            /// Writes `self` to the register of `block`.
            #[inline]
            $vis fn try_write<const SIZE: usize>(
                self,
                io: &$crate::io::Io<SIZE>,
                block: &$block,
            ) -> $crate::error::Result {
                let offset = $crate::register!(@offset block, Self::OFFSET)?;
                $crate::register!(@try_write $st, io, self.0, offset)
            }

            /// Reads the register of `block`, changes it with `f` and writes the result.
            #[inline]
            $vis fn try_alter<const SIZE: usize>(
                io: &$crate::io::Io<SIZE>,
                block: &$block,
                f: impl FnOnce(Self) -> Self,
            ) -> $crate::error::Result {
                f(Self::try_read(io, block)?).try_write(io, block)
            }
        }
    };

    // An array of `$count` registers, `$stride` bytes apart.
    (
        $(#[$attr:meta])* $vis:vis $name:ident($st:ident) @ $offset:literal[$count:literal; $stride:literal]
        { $($fields:tt)* }
    ) => {
        $crate::register!(@type $(#[$attr])* $vis $name($st) { $($fields)* });
        // Not every register is both read and written.
        #[allow(dead_code)]
        impl $name {
            /// The offset of the first register of the array.
            $vis const OFFSET: usize = $offset;
            /// How many registers the array has.
            $vis const COUNT: usize = $count;
            /// The distance between two registers of the array.
            $vis const STRIDE: usize = $stride;

            fn offset_at(index: usize) -> $crate::error::Result<usize> {
                if index >= Self::COUNT {
                    return Err($crate::error::code::EINVAL);
                }
                // No overflow: both factors are small constants.
                Ok(Self::OFFSET + index * Self::STRIDE)
            }

            /// Reads register `index` of the array.
            #[inline]
            $vis fn try_read_at<const SIZE: usize>(
                io: &$crate::io::Io<SIZE>,
                index: usize,
            ) -> $crate::error::Result<Self> {
                Ok(Self($crate::register!(@try_read $st, io, Self::offset_at(index)?)?))
            }

            /// Writes `self` to register `index` of the array.
            #[inline]
            $vis fn try_write_at<const SIZE: usize>(
                self,
                io: &$crate::io::Io<SIZE>,
                index: usize,
            ) -> $crate::error::Result {
                $crate::register!(@try_write $st, io, self.0, Self::offset_at(index)?)
            }
        }
    };

    // A word format, with no place in a register file.
    (
        $(#[$attr:meta])* $vis:vis $name:ident($st:ident) { $($fields:tt)* }
    ) => {
        $crate::register!(@type $(#[$attr])* $vis $name($st) { $($fields)* });
    };
}
