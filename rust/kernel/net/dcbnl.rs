// SPDX-License-Identifier: GPL-2.0
//! stub
use crate::{bindings, net::dev, prelude::*};
use core::marker::PhantomData;
#[vtable]
pub trait Operations: dev::Operations {}
struct Table<T>(PhantomData<T>);
impl<T: Operations> Table<T> {
    // SAFETY: zero ok.
    const OPS: bindings::dcbnl_rtnl_ops = unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
}
pub(crate) fn vtable<T: Operations>() -> &'static bindings::dcbnl_rtnl_ops {
    &Table::<T>::OPS
}
