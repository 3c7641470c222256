// SPDX-License-Identifier: GPL-2.0

//! hlsim: a userspace model of a GAUDI-class accelerator, served to QEMU
//! over `ivshmem-doorbell`. The device is specified in
//! `Documentation/accel/habanalabs/device-model.rst`.

#![warn(missing_docs)]

pub mod arb;
pub mod device;
pub mod dma;
pub mod dma_core;
pub mod eq;
pub mod hostile;
pub mod irq;
pub mod mem;
pub mod mmu;
pub mod nic;
pub mod packets;
pub mod peer;
pub mod qman;
pub mod ring;
pub mod sensors;
pub mod server;
pub mod space;
pub mod sync_manager;
pub mod tpc;
pub mod transport;

/// The register map, in a crate of its own that hl-thunk's tests share.
pub use hlsim_regs as regs;
