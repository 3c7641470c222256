// SPDX-License-Identifier: GPL-2.0

//! hl-thunk: the userspace library of habanalabs-rs.
//!
//! A safe interface to the compute uAPI of `habanalabs.ko`
//! (`include/uapi/misc/habanalabs.h`): [`Device`] opens a device's compute
//! or control node and wraps each ioctl; [`packets`] and [`tpc`] encode
//! what the device runs, as specified in
//! `Documentation/accel/habanalabs/device-model.rst`. The same library
//! exports the C interface of `include/hlthunk.h`.
//!
//! ```no_run
//! use hlthunk::{Device, Packet, Queue};
//! use std::time::Duration;
//!
//! let dev = Device::open(0)?;
//! let mut cb = dev.command_buffer(4096)?;
//! cb.push(&Packet::nop())?;
//! let seq = dev.submit(&[cb.job(Queue::Dma0)])?;
//! println!("{:?}", dev.wait_cs(seq, Duration::from_secs(5))?);
//! # Ok::<(), hlthunk::Error>(())
//! ```

#![warn(missing_docs)]

mod capi;
mod device;
mod error;
mod mem;
pub mod packets;
pub mod sync;
pub mod tpc;
pub mod uapi;

pub use device::{
    Cause, ClkRate, CommandBuffer, CsError, CsStatus, Device, DeviceStatus, DramUsage, HwEvents,
    HwIpInfo, Job, MacAddrs, Queue,
};
pub use error::{Error, Result};
pub use mem::{HostBuffer, HostMapping};
pub use packets::Packet;
pub use tpc::{TpcKernel, TpcKernelDesc};
