// SPDX-License-Identifier: GPL-2.0
//! stub
use kernel::{net::ethtool::Operations, prelude::*};
use super::port::Port;
#[vtable]
impl Operations for Port {}
