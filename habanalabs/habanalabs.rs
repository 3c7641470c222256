// SPDX-License-Identifier: GPL-2.0

//! habanalabs: driver for GAUDI-class AI accelerators.
//!
//! One PCI function holds the compute engines, their queue managers and the NIC ports. Today
//! the only ASIC is the device model described in
//! `Documentation/accel/habanalabs/device-model.rst`.

use kernel::{pci, prelude::*};

mod cb;
mod context;
mod cs;
mod device;
mod driver;
mod eq;
mod file;
mod hw;
mod info;
mod ioctl;
mod mailbox;
mod memory;
mod qman;
mod regs;
mod selftest;

module! {
    type: HabanalabsModule,
    name: "habanalabs",
    author: "habanalabs-rs developers",
    description: "Driver for GAUDI-class AI accelerators",
    license: "GPL",
}

struct HabanalabsModule {
    _pci: Pin<KBox<pci::Registration<driver::HlDriver>>>,
}

impl kernel::Module for HabanalabsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _pci: KBox::pin_init(pci::Registration::new(module), GFP_KERNEL)? })
    }
}
