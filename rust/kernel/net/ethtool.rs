// SPDX-License-Identifier: GPL-2.0
//! stub
use crate::{bindings, net::dev, prelude::*};
use core::marker::PhantomData;
#[vtable]
pub trait Operations: dev::Operations {}
struct Table<T>(PhantomData<T>);
impl<T: Operations> Table<T> {
    const OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_link: Some(bindings::ethtool_op_get_link),
        // SAFETY: zero ok.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}
pub(crate) fn vtable<T: Operations>() -> &'static bindings::ethtool_ops {
    &Table::<T>::OPS
}
