// SPDX-License-Identifier: GPL-2.0

//! Peer-to-peer: the PCI bus the devices share, on which a DMA to another
//! device's BAR2 lands in that device's memory.
//!
//! All devices of a VM are served by this one process, each BAR2 a memory
//! file it maps, so routing is a lookup: an engine's DMA address (a guest
//! physical address after the MMU, there being no IOMMU) is guest RAM when
//! RAM holds it, otherwise the BAR2 of the device whose window holds it.
//! hlsim cannot see PCI configuration space, which QEMU owns, so the driver
//! writes where the host placed BAR2 into the device's
//! [`crate::regs::pci::BAR2_BUS_LO`] pair, as the bus address decoding
//! would have it; 0 (the reset value, or after the driver let the device
//! go) decodes nothing.

use std::sync::Arc;

use crate::mem::{SharedMem, VolatileSlice};
use crate::regs::pci;

/// The BAR2s of every device, in no particular order.
#[derive(Default)]
pub struct Bus {
    bars: Vec<Arc<SharedMem>>,
}

impl Bus {
    /// A bus of the devices whose BAR2s are `bars`.
    pub fn new(bars: Vec<Arc<SharedMem>>) -> Self {
        Self { bars }
    }

    /// The BAR2 decoding bus address `addr`, and `addr`'s offset in it.
    fn decode(&self, addr: u64) -> Option<(&SharedMem, u64)> {
        self.bars.iter().find_map(|bar| {
            let base = bar.read64(pci::BAR2_BUS_LO);
            let off = addr.checked_sub(base)?;
            (base != 0 && off < bar.size()).then_some((&**bar, off))
        })
    }

    /// The `len` bytes at bus address `addr`, if one BAR2 holds all of them.
    pub fn slice(&self, addr: u64, len: u64) -> Option<VolatileSlice<'_>> {
        let (bar, off) = self.decode(addr)?;
        bar.slice(off, len)
    }

    /// The aligned 32-bit word at bus address `addr`, if a BAR2 holds it.
    pub fn atomic32(&self, addr: u64) -> Option<&std::sync::atomic::AtomicU32> {
        let (bar, off) = self.decode(addr)?;
        bar.atomic32(off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_each_bars_programmed_address() {
        let a = Arc::new(SharedMem::create("a", 0x10000).unwrap());
        let b = Arc::new(SharedMem::create("b", 0x20000).unwrap());
        let bus = Bus::new(vec![a.clone(), b.clone()]);
        // Nothing decodes before the driver programs the addresses.
        assert!(bus.slice(0x1000, 4).is_none());
        a.write64(pci::BAR2_BUS_LO, 0x8_0000_0000);
        b.write64(pci::BAR2_BUS_LO, 0x8_0010_0000);
        bus.slice(0x8_0010_2000, 4)
            .unwrap()
            .write_from(&[1, 2, 3, 4]);
        let mut got = [0; 4];
        b.slice(0x2000, 4).unwrap().read_to(&mut got);
        assert_eq!(got, [1, 2, 3, 4]);
        bus.atomic32(0x8_0000_3000)
            .unwrap()
            .store(0x5a5a, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(a.read32(0x3000), 0x5a5a);
        // Past a window's end, across it, or below every window: nothing.
        assert!(bus.slice(0x8_0001_0000, 1).is_none());
        assert!(bus.slice(0x8_0000_fffe, 4).is_none());
        assert!(bus.slice(0x7_ffff_f000, 4).is_none());
        assert!(bus.slice(0x8_0012_0000, 4).is_none());
        // A device the driver let go decodes nothing.
        b.write64(pci::BAR2_BUS_LO, 0);
        assert!(bus.slice(0x8_0010_2000, 4).is_none());
    }
}
