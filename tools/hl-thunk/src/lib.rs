// SPDX-License-Identifier: GPL-2.0

//! hl-thunk: the userspace library of habanalabs-rs.
//!
//! A safe interface to the uAPI of `habanalabs.ko`
//! (`include/uapi/misc/habanalabs.h`, Linux 6.1's habanalabs uAPI and the
//! 2020 series' NIC ioctl): [`Device`] opens a device's compute
//! or control node and wraps each ioctl, RDMA's [`Connection`]s and
//! completion queues ([`Cq`]) included; [`packets`] and [`tpc`] encode
//! what the device runs, as specified in
//! `Documentation/accel/habanalabs/device-model.rst`; [`collective`] is an
//! all-reduce between two devices. The same library exports the C
//! interface of `include/hlthunk.h`, a drop-in for HabanaLabs' hl-thunk
//! where the two overlap.
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
pub mod collective;
mod device;
mod error;
mod mem;
mod nic;
pub mod packets;
pub mod sync;
pub mod tpc;
pub mod uapi;

pub use device::{
    Cause, ClkRate, CommandBuffer, CsStatus, Device, DeviceStatus, DramUsage, HwEvents, HwIdle,
    HwIpInfo, Job, MacAddrs, Queue, Signals, Stage, event,
};
pub use error::{Error, Result};
pub use mem::{DeviceMemory, DmabufMap, HostBuffer, HostMapping};
pub use nic::{Connection, Cq, CqCreated, CqWait, Cqe, CqeOpcode, CqeStatus, Peer};
pub use packets::{NicOp, Packet};
pub use tpc::{TpcKernel, TpcKernelDesc};
