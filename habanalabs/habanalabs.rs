// SPDX-License-Identifier: GPL-2.0

//! habanalabs: driver for GAUDI-class AI accelerators.
//!
//! One PCI function holds the compute engines, their queue managers and the NIC ports. What
//! differs between ASICs is behind the ASIC functions of `asic.rs`; today the only one that
//! binds is the device model described in `Documentation/accel/habanalabs/device-model.rst`.

use kernel::{
    auxiliary,
    chrdev::{ClassRegistration, RegionRegistration},
    pci,
    prelude::*,
};

mod asic;
mod cb;
mod context;
mod control;
mod cs;
mod deadline;
mod device;
mod devlink;
mod dmabuf;
mod driver;
mod eq;
mod eth;
mod events;
mod file;
mod health;
mod hw;
mod hwmon;
mod identity;
mod info;
mod ioctl;
#[cfg(CONFIG_KUNIT)]
mod kunit;
mod mailbox;
mod marshal;
mod memory;
mod nic;
mod qman;
mod rdma;
mod regs;
mod reset;
mod scrub;
mod selftest;
mod stats;
mod sync_stream;
mod sysfs;

module! {
    type: HabanalabsModule,
    name: "habanalabs",
    author: "habanalabs-rs developers",
    description: "Driver for GAUDI-class AI accelerators",
    license: "GPL",
}

/// The dma-buf functions are in the `DMA_BUF` symbol namespace (C's
/// `MODULE_IMPORT_NS(DMA_BUF)`).
#[cfg(MODULE)]
#[doc(hidden)]
#[link_section = ".modinfo"]
#[used(compiler)]
pub static IMPORT_NS_DMA_BUF: [u8; 18] = *b"import_ns=DMA_BUF\0";

/// The PCI driver, the Ethernet driver of its auxiliary devices and its nodes' class and
/// numbers; the PCI driver goes first, deleting the auxiliary devices and the nodes.
struct HabanalabsModule {
    _pci: Pin<KBox<pci::Registration<driver::HlDriver>>>,
    _eth: Pin<KBox<auxiliary::DriverRegistration<eth::EthDriver>>>,
    _class: ClassRegistration,
    _minors: RegionRegistration,
}

impl kernel::Module for HabanalabsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let minors = driver::MINORS.register()?;
        let class = driver::CLASS.register()?;
        let eth = KBox::pin_init(auxiliary::DriverRegistration::new(module), GFP_KERNEL)?;
        let pci = KBox::pin_init(pci::Registration::new(module), GFP_KERNEL)?;
        Ok(Self {
            _pci: pci,
            _eth: eth,
            _class: class,
            _minors: minors,
        })
    }
}
