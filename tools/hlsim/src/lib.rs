// SPDX-License-Identifier: GPL-2.0

//! hlsim: a userspace model of a GAUDI-class accelerator, served to QEMU
//! over `ivshmem-doorbell`. The device is specified in
//! `Documentation/accel/habanalabs/device-model.rst`.

#![warn(missing_docs)]

pub mod device;
pub mod mem;
pub mod regs;
pub mod server;
pub mod transport;
