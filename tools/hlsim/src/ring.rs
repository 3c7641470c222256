// SPDX-License-Identifier: GPL-2.0

//! Rings in guest RAM: the QMANs' PQ and CQ and the event queue.

use crate::mem::SharedMem;
use crate::regs::{RING_MAX_ENTRIES, RING_MIN_ENTRIES};

/// A validated ring: aligned to its entry size, entirely in guest RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    base: u64,
    entries: u32,
    entry_size: u64,
}

impl Ring {
    /// The ring of `entries` entries of `entry_size` bytes at DMA address
    /// `base`, or `None` unless `entries` is a power of two in range,
    /// `base` is aligned to `entry_size` and the ring lies in `ram`.
    pub fn new(ram: &SharedMem, base: u64, entries: u32, entry_size: u64) -> Option<Self> {
        let valid = entries.is_power_of_two()
            && (RING_MIN_ENTRIES..=RING_MAX_ENTRIES).contains(&entries)
            && base.is_multiple_of(entry_size)
            && ram.slice(base, u64::from(entries) * entry_size).is_some();
        valid.then_some(Self {
            base,
            entries,
            entry_size,
        })
    }

    /// Entries in the ring.
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// DMA address of the entry free-running counter `counter` designates.
    pub fn slot(&self, counter: u32) -> u64 {
        self.base + u64::from(counter % self.entries) * self.entry_size
    }

    /// Entries between consumer `ci` and producer `pi`, or `None` if that
    /// is more than the ring holds (the counters are inconsistent).
    pub fn used(&self, pi: u32, ci: u32) -> Option<u32> {
        let used = pi.wrapping_sub(ci);
        (used <= self.entries).then_some(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_slots() {
        let ram = SharedMem::create("ram", 0x10000).unwrap();
        let ring = Ring::new(&ram, 0x1000, 4, 16).unwrap();
        assert_eq!(ring.entries(), 4);
        assert_eq!(ring.slot(0), 0x1000);
        assert_eq!(ring.slot(5), 0x1010);
        assert_eq!(ring.slot(u32::MAX), 0x1030);
        assert_eq!(ring.used(2, u32::MAX - 1), Some(4));
        assert_eq!(ring.used(3, u32::MAX - 1), None);
        assert_eq!(ring.used(1, 2), None);
        assert!(Ring::new(&ram, 0x10000 - 4096 * 8, 4096, 8).is_some());
        assert!(Ring::new(&ram, 0x10000 - 32, 2, 16).is_some());
        for (base, entries, size) in [
            (0x1000, 0, 16),
            (0x1000, 1, 16),
            (0x1000, 3, 16),
            (0x1000, 8192, 8),
            (0x1008, 4, 16),
            (0x1004, 4, 8),
            (0x10000 - 16, 2, 16),
            (!15, 2, 16),
        ] {
            assert_eq!(
                Ring::new(&ram, base, entries, size),
                None,
                "{base:#x} {entries} {size}"
            );
        }
    }
}
