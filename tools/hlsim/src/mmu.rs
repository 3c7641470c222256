// SPDX-License-Identifier: GPL-2.0

//! The MMU: translates the host region of the device address space through
//! a three-level table in guest RAM that the driver owns.
//!
//! There is no translation cache: every access walks the table as it is.

use std::sync::atomic::Ordering;

use crate::mem::SharedMem;
use crate::regs::{MMU_ENABLE, mmu};

/// Bytes in a page and in a table.
pub const PAGE_SIZE: u64 = 4096;
/// Entry bit: the entry is valid.
pub const PTE_PRESENT: u64 = 1 << 0;
/// Entry bit: the page may be written (leaf entries only).
pub const PTE_WRITABLE: u64 = 1 << 1;
/// Entry bits holding the DMA address of the next table or of the page.
pub const PTE_ADDR: u64 = 0x000f_ffff_ffff_f000;
/// Levels of tables.
const LEVELS: u32 = 3;
/// Index bits per level.
const INDEX_BITS: u32 = 9;

/// Translates `v`, an offset into the host region (below 2^39), for a read
/// or a `write`.
///
/// Returns the DMA address of the byte at `v`, or `None` if the access
/// faults: the MMU is disabled, the root is misaligned, an entry is not
/// present, has a reserved bit set or lies outside guest RAM, or the page
/// is read-only and written.
pub fn translate(bar: &SharedMem, ram: &SharedMem, v: u64, write: bool) -> Option<u64> {
    if bar.read32(mmu::CTL) & MMU_ENABLE == 0 {
        return None;
    }
    let mut table = bar.read64(mmu::ROOT_LO);
    if !table.is_multiple_of(PAGE_SIZE) {
        return None;
    }
    for level in 0..LEVELS {
        let shift = 12 + INDEX_BITS * (LEVELS - 1 - level);
        let index = (v >> shift) & ((1 << INDEX_BITS) - 1);
        let entry = ram
            .atomic64(table.checked_add(8 * index)?)?
            .load(Ordering::Relaxed);
        let leaf = level == LEVELS - 1;
        let valid = PTE_PRESENT | PTE_ADDR | if leaf { PTE_WRITABLE } else { 0 };
        if entry & PTE_PRESENT == 0 || entry & !valid != 0 {
            return None;
        }
        if leaf && write && entry & PTE_WRITABLE == 0 {
            return None;
        }
        table = entry & PTE_ADDR;
    }
    Some(table | (v & (PAGE_SIZE - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: u64 = 0x1000;
    const L1: u64 = 0x2000;
    const L2: u64 = 0x3000;

    struct Fixture {
        bar: SharedMem,
        ram: SharedMem,
    }

    impl Fixture {
        fn set(&self, table: u64, index: u64, entry: u64) {
            self.ram
                .atomic64(table + 8 * index)
                .unwrap()
                .store(entry, Ordering::Relaxed);
        }

        fn tr(&self, v: u64, write: bool) -> Option<u64> {
            translate(&self.bar, &self.ram, v, write)
        }
    }

    /// Maps `v = 0x40_2000_3000` (indices 1, 1, 3) to page 0x7000, writable.
    fn fixture() -> Fixture {
        let f = Fixture {
            bar: SharedMem::create("bar", 0x1000).unwrap(),
            ram: SharedMem::create("ram", 0x10000).unwrap(),
        };
        f.bar.write64(mmu::ROOT_LO, ROOT);
        f.bar.write32(mmu::CTL, MMU_ENABLE);
        f.set(ROOT, 1, L1 | PTE_PRESENT);
        f.set(L1, 1, L2 | PTE_PRESENT);
        f.set(L2, 3, 0x7000 | PTE_PRESENT | PTE_WRITABLE);
        f
    }

    const V: u64 = (1 << 30) | (1 << 21) | (3 << 12);

    #[test]
    fn walks_three_levels() {
        let f = fixture();
        assert_eq!(f.tr(V, false), Some(0x7000));
        assert_eq!(f.tr(V + 0xfff, true), Some(0x7fff));
        assert_eq!(f.tr(V + 0x1000, false), None);
        assert_eq!(f.tr(V - 1, false), None);
        // No cache: a changed entry takes effect at once.
        f.set(L2, 3, 0x9000 | PTE_PRESENT);
        assert_eq!(f.tr(V + 5, false), Some(0x9005));
        assert_eq!(f.tr(V + 5, true), None, "read-only page written");
    }

    #[test]
    fn faults() {
        let f = fixture();
        f.bar.write32(mmu::CTL, 0);
        assert_eq!(f.tr(V, false), None, "disabled");
        f.bar.write32(mmu::CTL, MMU_ENABLE | 2);
        assert_eq!(f.tr(V, false), Some(0x7000), "CTL bit 1 is ignored");
        f.bar.write64(mmu::ROOT_LO, ROOT + 8);
        assert_eq!(f.tr(V, false), None, "misaligned root");
        f.bar.write64(mmu::ROOT_LO, 0xf000);
        assert_eq!(f.tr(V, false), None, "empty root");
        f.bar.write64(mmu::ROOT_LO, 0x10000);
        assert_eq!(f.tr(V, false), None, "root outside RAM");
        f.bar.write64(mmu::ROOT_LO, !0xfff);
        assert_eq!(f.tr(V, false), None, "root at the top of the space");
        f.bar.write64(mmu::ROOT_LO, ROOT);

        let cases = [
            (ROOT, 1, L1, "level 0 not present"),
            (
                ROOT,
                1,
                L1 | PTE_PRESENT | PTE_WRITABLE,
                "WRITABLE in a table entry",
            ),
            (ROOT, 1, L1 | PTE_PRESENT | 1 << 52, "reserved high bit"),
            (L1, 1, L2 | PTE_PRESENT | 1 << 5, "reserved low bit"),
            (L1, 1, 0x2_0000 | PTE_PRESENT, "table outside RAM"),
            (L2, 3, 0x7000 | PTE_WRITABLE, "leaf not present"),
            (L2, 3, 0x7000 | PTE_PRESENT | 1 << 63, "reserved bit 63"),
        ];
        for (table, index, entry, what) in cases {
            let f = fixture();
            f.set(table, index, entry);
            assert_eq!(f.tr(V, false), None, "{what}");
        }
    }

    #[test]
    fn uses_the_highest_indices() {
        let f = fixture();
        let v = (1 << 39) - 1;
        f.set(ROOT, 511, L1 | PTE_PRESENT);
        f.set(L1, 511, L2 | PTE_PRESENT);
        f.set(L2, 511, 0xf_ffff_ffff_f000 | PTE_PRESENT);
        assert_eq!(f.tr(v, false), Some(0xf_ffff_ffff_ffff));
    }
}
