// SPDX-License-Identifier: GPL-2.0

//! The sync manager: sync objects (SOBs), monitors and the QMANs' fence
//! counters. Its whole state is its BAR2 block. A write to a QMAN's
//! `CP_FENCEi_RDATA_s` register in GAUDI's configuration space is a write
//! to fence counter `i` of stream `s` of that QMAN (`s` 4: its lower CP's).
//!
//! A packet's write and the monitor firings it causes form one step, applied
//! under a lock so that it is atomic with respect to every engine. Within a
//! step each monitor fires at most once, which bounds the cascade of
//! payloads that write SOBs or arm monitors.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use crate::mem::SharedMem;
use crate::qman;
use crate::regs::{MON_ARMED, NUM_QMANS, sync_manager as sm};
use crate::space::{Fault, Region, Space};

/// `SOB` write bit: add instead of set.
pub const SOB_ADD: u32 = 1 << 31;
/// Bits of a SOB value.
const SOB_MASK: u32 = 0x7fff;
/// `MON_ARM` bits holding the sync group.
pub const ARM_GROUP_MASK: u32 = 0xff;
/// `MON_ARM` field shift of the mask of SOBs not watched.
pub const ARM_MASK_SHIFT: u32 = 8;
/// `MON_ARM` bit: fire when equal to the target, not at least.
pub const ARM_EQUAL: u32 = 1 << 16;
/// `MON_ARM` field shift of the target value.
pub const ARM_TARGET_SHIFT: u32 = 17;

/// The `MON_ARM` value that watches SOB `sob` alone for at least `target`,
/// as GAUDI's driver arms its monitors.
pub fn arm_value(sob: u64, target: u32) -> u32 {
    let (group, i) = (sob / sm::GROUP_SOBS, sob % sm::GROUP_SOBS);
    (target & SOB_MASK) << ARM_TARGET_SHIFT
        | (!(1u32 << i) & 0xff) << ARM_MASK_SHIFT
        | group as u32 & ARM_GROUP_MASK
}

/// The sync manager of one device.
#[derive(Default)]
pub struct SyncManager {
    lock: Mutex<()>,
}

impl SyncManager {
    /// Writes `val` at device address `addr`, in any region, as `MSG_LONG`
    /// does, and fires the monitors this satisfies.
    ///
    /// Calls `kick(q, s)`, once the step is applied, for each stream `s`
    /// (or lower CP) of QMAN `q` whose fence counters it changed. Returns the first fault of the write or
    /// of a payload; the other payloads are still written.
    pub fn write(
        &self,
        space: Space<'_>,
        addr: u64,
        val: u32,
        kick: impl Fn(usize, usize),
    ) -> Result<(), Fault> {
        let mut step = Step {
            space,
            pending: VecDeque::from([(addr, val)]),
            fired: [0; sm::NUM_MONITORS as usize / 64],
            kicks: [0; NUM_QMANS],
        };
        let mut res = Ok(());
        {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some((addr, val)) = step.pending.pop_front() {
                let done = match space.region(addr, 4) {
                    Ok(Region::SyncManager(off)) => step.write_reg(off, val),
                    // GAUDI's CP_FENCE registers: the model's fence counters.
                    Ok(Region::Fence(q, s, id)) => step.write_reg(sm::fence(q, s, id), val),
                    _ => space.write32(addr, val),
                };
                res = res.and(done);
            }
        }
        for (q, streams) in step.kicks.iter().enumerate() {
            (0..sm::FENCE_STREAMS)
                .filter(|s| streams & 1 << s != 0)
                .for_each(|s| kick(q, s));
        }
        res
    }

    /// Writes `val` to register `off` of the sync manager, as `WREG_32` does.
    pub fn write_reg(
        &self,
        space: Space<'_>,
        off: u64,
        val: u32,
        kick: impl Fn(usize, usize),
    ) -> Result<(), Fault> {
        if off >= sm::SIZE {
            return Err(Fault::BadAddress(crate::space::SM_BASE.wrapping_add(off)));
        }
        self.write(space, crate::space::SM_BASE + off, val, kick)
    }

    /// If fence counter `id` of stream `s` (or the lower CP) of QMAN `q` is
    /// at least `target`, subtracts `decrement` from it (stopping at 0) and
    /// returns `true`.
    pub fn try_fence(
        &self,
        bar: &SharedMem,
        (q, s): (usize, usize),
        id: u32,
        target: u32,
        decrement: u32,
    ) -> bool {
        let counter = bar.atomic32(sm::BASE + sm::fence(q, s, id.into()));
        let counter = counter.expect("fence counters are inside BAR2");
        counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |val| {
                (val >= target).then(|| val.saturating_sub(decrement))
            })
            .is_ok()
    }

    /// Zeroes the fence counters of QMAN `q`, of its streams and lower CP.
    pub fn reset_fences(&self, bar: &SharedMem, q: usize) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        for s in 0..sm::FENCE_STREAMS {
            for i in 0..sm::NUM_FENCES {
                bar.write32(sm::BASE + sm::fence(q, s, i), 0);
            }
        }
    }
}

/// One write and the monitor firings it causes.
struct Step<'a> {
    space: Space<'a>,
    /// Writes still to apply: the packet's, then payloads, in order.
    pending: VecDeque<(u64, u32)>,
    /// Monitors fired in this step, a bit each.
    fired: [u64; sm::NUM_MONITORS as usize / 64],
    /// Per QMAN, the streams (and lower CP) whose fence counters changed,
    /// a bit each.
    kicks: [u8; NUM_QMANS],
}

impl Step<'_> {
    fn read(&self, off: u64) -> u32 {
        self.space.bar().read32(sm::BASE + off)
    }

    fn set(&self, off: u64, val: u32) {
        self.space.bar().write32(sm::BASE + off, val);
    }

    /// Applies a write to register `off`; only the writable registers exist.
    fn write_reg(&mut self, off: u64, val: u32) -> Result<(), Fault> {
        let fault = Fault::BadAddress(crate::space::SM_BASE + off);
        if !off.is_multiple_of(4) {
            return Err(fault);
        }
        if off < sm::sob(sm::NUM_SOBS) {
            let old = self.read(off);
            let new = if val & SOB_ADD != 0 {
                // The guest may have stored any value in BAR2.
                old.wrapping_add(val & SOB_MASK)
            } else {
                val
            };
            self.set(off, new & SOB_MASK);
            let group = (off - sm::SOB) / 4 / sm::GROUP_SOBS;
            for m in 0..sm::NUM_MONITORS {
                if u64::from(self.read(sm::mon(m, sm::ARM)) & ARM_GROUP_MASK) == group {
                    self.check(m);
                }
            }
        } else if (sm::PAY_ADDR_LO..sm::STATUS).contains(&off) {
            self.set(off, val);
            if off >= sm::ARM {
                let m = (off - sm::ARM) / 4;
                self.set(sm::mon(m, sm::STATUS), MON_ARMED);
                self.check(m);
            }
        } else if let Some(q) = (off >= sm::FENCE)
            .then(|| ((off - sm::FENCE) / sm::FENCE_STRIDE) as usize)
            .filter(|&q| qman::index(q).is_some())
        {
            let counter = self.space.bar().atomic32(sm::BASE + off);
            counter
                .expect("fence counters are inside BAR2")
                .fetch_add(val, Ordering::Relaxed);
            let s = (off - sm::fence(q, 0, 0)) / (4 * sm::NUM_FENCES);
            self.kicks[q] |= 1 << s;
        } else {
            return Err(fault);
        }
        Ok(())
    }

    /// Fires monitor `m` if it is armed, has not fired in this step and
    /// every SOB it watches satisfies its condition.
    fn check(&mut self, m: u64) {
        let (word, bit) = ((m / 64) as usize, 1 << (m % 64));
        if self.read(sm::mon(m, sm::STATUS)) & MON_ARMED == 0 || self.fired[word] & bit != 0 {
            return;
        }
        let arm = self.read(sm::mon(m, sm::ARM));
        let target = arm >> ARM_TARGET_SHIFT;
        let first = u64::from(arm & ARM_GROUP_MASK) * sm::GROUP_SOBS;
        let mask = (arm >> ARM_MASK_SHIFT) & 0xff;
        let met = (0..sm::GROUP_SOBS).filter(|i| mask & 1 << i == 0).all(|i| {
            let sob = self.read(sm::sob(first + i)) & SOB_MASK;
            if arm & ARM_EQUAL != 0 {
                sob == target
            } else {
                sob >= target
            }
        });
        if !met {
            return;
        }
        self.set(sm::mon(m, sm::STATUS), 0);
        self.fired[word] |= bit;
        let addr = u64::from(self.read(sm::mon(m, sm::PAY_ADDR_LO)))
            | u64::from(self.read(sm::mon(m, sm::PAY_ADDR_HI))) << 32;
        self.pending
            .push_back((addr, self.read(sm::mon(m, sm::PAY_DATA))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs::DRAM_OFFSET;
    use crate::space::{DRAM_BASE, HOST_BASE, SM_BASE};
    use std::cell::RefCell;

    struct Fixture {
        bar: SharedMem,
        sram: SharedMem,
        hbm: SharedMem,
        ram: SharedMem,
        sm: SyncManager,
        kicked: RefCell<Vec<(usize, usize)>>,
    }

    fn fixture() -> Fixture {
        Fixture {
            bar: SharedMem::create("bar", 2 << 20).unwrap(),
            sram: SharedMem::create("sram", crate::space::SRAM_SIZE).unwrap(),
            hbm: SharedMem::create("hbm", crate::space::DRAM_SIZE).unwrap(),
            ram: SharedMem::create("ram", 0x10000).unwrap(),
            sm: SyncManager::default(),
            kicked: RefCell::default(),
        }
    }

    impl Fixture {
        fn wreg(&self, off: u64, val: u32) -> Result<(), Fault> {
            let space = Space::new(&self.bar, &self.sram, &self.hbm, &self.ram);
            self.sm.write_reg(space, off, val, |q, s| {
                self.kicked.borrow_mut().push((q, s))
            })
        }

        fn write(&self, addr: u64, val: u32) -> Result<(), Fault> {
            let space = Space::new(&self.bar, &self.sram, &self.hbm, &self.ram);
            self.sm.write(space, addr, val, |q, s| {
                self.kicked.borrow_mut().push((q, s))
            })
        }

        fn reg(&self, off: u64) -> u32 {
            self.bar.read32(sm::BASE + off)
        }

        /// Sets monitor `m`'s payload and arms it on `sob` >= `target`.
        fn monitor(&self, m: u64, addr: u64, data: u32, sob: u32, target: u32) {
            self.wreg(sm::mon(m, sm::PAY_ADDR_LO), addr as u32).unwrap();
            self.wreg(sm::mon(m, sm::PAY_ADDR_HI), (addr >> 32) as u32)
                .unwrap();
            self.wreg(sm::mon(m, sm::PAY_DATA), data).unwrap();
            self.wreg(sm::mon(m, sm::ARM), arm_value(sob.into(), target))
                .unwrap();
        }
    }

    #[test]
    fn sob_set_and_add_modulo_2_15() {
        let f = fixture();
        f.wreg(sm::sob(5), 0x7fff_1234).unwrap();
        assert_eq!(f.reg(sm::sob(5)), 0x1234);
        f.wreg(sm::sob(5), SOB_ADD | 0x7000).unwrap();
        assert_eq!(f.reg(sm::sob(5)), 0x0234);
        f.write(SM_BASE + sm::sob(2047), SOB_ADD | 0xffff).unwrap();
        assert_eq!(f.reg(sm::sob(2047)), 0x7fff);
        // A value the guest stored in BAR2 is taken modulo 2^15.
        f.bar.write32(sm::BASE + sm::sob(7), u32::MAX);
        f.wreg(sm::sob(7), SOB_ADD | 1).unwrap();
        assert_eq!(f.reg(sm::sob(7)), 0);
        assert!(f.kicked.borrow().is_empty());
    }

    #[test]
    fn only_writable_registers_exist() {
        let f = fixture();
        for off in [
            2,
            sm::PAY_ADDR_LO + 1,
            sm::mon(0, sm::STATUS),
            sm::mon(511, sm::STATUS),
            sm::mon(512, sm::STATUS),
            sm::FENCE - 4,
            sm::fence(crate::regs::NUM_QMANS, 0, 0),
            sm::SIZE - 4,
            sm::SIZE,
        ] {
            let fault = Fault::BadAddress(SM_BASE + off);
            assert_eq!(f.wreg(off, 1), Err(fault), "offset {off:#x}");
        }
        assert_eq!(f.write(SM_BASE + 2, 1), Err(Fault::BadAddress(SM_BASE + 2)));
        assert_eq!(
            f.write(SM_BASE + sm::SIZE - 2, 1),
            Err(Fault::BadAddress(SM_BASE + sm::SIZE - 2))
        );
        let state = f.bar.slice(sm::BASE, sm::SIZE).unwrap();
        let mut buf = vec![0xff; sm::SIZE as usize];
        state.read_to(&mut buf);
        assert!(buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn monitor_fires_once_when_reached() {
        let f = fixture();
        let fence = SM_BASE + sm::fence(2, 3, 1);
        f.monitor(7, fence, 3, 9, 2);
        assert_eq!(f.reg(sm::mon(7, sm::STATUS)), MON_ARMED);
        f.wreg(sm::sob(9), SOB_ADD | 1).unwrap();
        assert_eq!(f.reg(sm::fence(2, 3, 1)), 0);
        f.wreg(sm::sob(8), 5).unwrap();
        assert_eq!(f.reg(sm::fence(2, 3, 1)), 0);
        f.wreg(sm::sob(9), SOB_ADD | 1).unwrap();
        assert_eq!(f.reg(sm::fence(2, 3, 1)), 3);
        assert_eq!(f.reg(sm::mon(7, sm::STATUS)), 0);
        assert_eq!(*f.kicked.borrow(), [(2, 3)]);
        f.wreg(sm::sob(9), SOB_ADD | 1).unwrap();
        assert_eq!(f.reg(sm::fence(2, 3, 1)), 3, "disarmed");

        // Already reached: fires at the arm; fence counters add.
        f.monitor(0, fence, 4, 9, 3);
        assert_eq!(f.reg(sm::fence(2, 3, 1)), 7);
        assert_eq!(*f.kicked.borrow(), [(2, 3), (2, 3)]);
        // The other streams' counters are their own.
        for s in [0, 1, 2, sm::LOWER_CP] {
            assert_eq!(f.reg(sm::fence(2, s, 1)), 0, "stream {s}");
        }
    }

    #[test]
    fn gaudis_fence_registers_are_the_fence_counters() {
        let f = fixture();
        // TPC 3's (queue 11) CP_FENCE2_RDATA_1 and the lower CP's
        // CP_FENCE2_RDATA_4, from asic_reg/: fence 2 of its stream 1 and of
        // its lower CP.
        let cfg = crate::regs::space::CFG_BASE;
        f.monitor(4, cfg + 0xec_8334, 2, 20, 1);
        f.wreg(sm::sob(20), 1).unwrap();
        assert_eq!(f.reg(sm::fence(11, 1, 2)), 2);
        f.write(cfg + 0xec_8340, 3).unwrap();
        assert_eq!(f.reg(sm::fence(11, sm::LOWER_CP, 2)), 3);
        assert_eq!(f.reg(sm::fence(11, 1, 2)), 2);
        assert_eq!(*f.kicked.borrow(), [(11, 1), (11, sm::LOWER_CP)]);
        // Other configuration-space registers are not the model's.
        assert_eq!(
            f.write(cfg + 0xec_8304, 1),
            Err(Fault::BadAddress(cfg + 0xec_8304))
        );
    }

    #[test]
    fn payloads_reach_every_region() {
        let f = fixture();
        f.bar.write64(crate::regs::mmu::ROOT_LO, 0x1000);
        f.bar
            .write32(crate::regs::mmu::CTL, crate::regs::MMU_ENABLE);
        for (table, entry) in [(0x1000, 0x2001), (0x2000, 0x3001), (0x3000, 0x8003)] {
            f.ram
                .atomic64(table)
                .unwrap()
                .store(entry, Ordering::Relaxed);
        }
        f.monitor(1, DRAM_BASE + 0x40, 0xaaaa, 1, 1);
        f.monitor(2, HOST_BASE + 0x10, 0xbbbb, 1, 1);
        f.monitor(3, SM_BASE + sm::sob(2), 0x11, 1, 1);
        f.monitor(4, DRAM_BASE + 0x44, 0xcccc, 2, 0x11);
        f.wreg(sm::sob(1), 1).unwrap();
        assert_eq!(f.bar.read32(DRAM_OFFSET + 0x40), 0xaaaa);
        assert_eq!(f.ram.read32(0x8010), 0xbbbb);
        assert_eq!(f.reg(sm::sob(2)), 0x11);
        assert_eq!(f.bar.read32(DRAM_OFFSET + 0x44), 0xcccc, "cascaded");

        // A bad payload is reported; the others are still written.
        f.monitor(1, HOST_BASE + 0x1000, 1, 3, 1);
        f.monitor(2, DRAM_BASE + 0x48, 2, 3, 1);
        f.monitor(3, DRAM_BASE + 0x4a, 3, 3, 1);
        assert_eq!(f.wreg(sm::sob(3), 1), Err(Fault::Mmu(HOST_BASE + 0x1000)));
        assert_eq!(f.bar.read32(DRAM_OFFSET + 0x48), 2);
        // A payload fails the write that fired it: here the arm.
        f.wreg(sm::mon(1, sm::PAY_ADDR_LO), 0x8).unwrap();
        f.wreg(sm::mon(1, sm::PAY_ADDR_HI), 0).unwrap();
        assert_eq!(
            f.wreg(sm::mon(1, sm::ARM), arm_value(3, 1)),
            Err(Fault::BadAddress(0x8))
        );
        assert_eq!(f.reg(sm::mon(1, sm::STATUS)), 0);
        assert_eq!(f.reg(sm::mon(1, sm::ARM)), arm_value(3, 1));
    }

    #[test]
    fn rearming_cascades_end() {
        let f = fixture();
        // Monitors 5 and 6 arm each other; monitor 7 arms itself.
        let arm = |m| SM_BASE + sm::mon(m, sm::ARM);
        f.wreg(sm::sob(10), 1).unwrap();
        for (m, to) in [(5, 6), (6, 5)] {
            f.wreg(sm::mon(m, sm::PAY_ADDR_LO), arm(to) as u32).unwrap();
            f.wreg(sm::mon(m, sm::PAY_ADDR_HI), (arm(to) >> 32) as u32)
                .unwrap();
            f.wreg(sm::mon(m, sm::PAY_DATA), arm_value(10, 1)).unwrap();
        }
        f.monitor(7, arm(7), arm_value(10, 1), 10, 1);
        assert_eq!(
            f.reg(sm::mon(7, sm::STATUS)),
            MON_ARMED,
            "re-armed by its payload"
        );
        f.wreg(sm::mon(5, sm::ARM), arm_value(10, 1)).unwrap();
        assert_eq!(f.reg(sm::mon(5, sm::STATUS)), MON_ARMED);
        assert_eq!(f.reg(sm::mon(6, sm::STATUS)), 0);
        // The next write to the SOB runs the same cascade again.
        f.wreg(sm::sob(10), SOB_ADD).unwrap();
        assert_eq!(f.reg(sm::mon(5, sm::STATUS)), MON_ARMED);
        assert_eq!(f.reg(sm::mon(6, sm::STATUS)), 0);
        assert_eq!(f.reg(sm::mon(7, sm::STATUS)), MON_ARMED);
    }

    #[test]
    fn monitors_watch_a_group_as_gaudi_arms_them() {
        let f = fixture();
        let fence = SM_BASE + sm::fence(1, 0, 0);
        // GAUDI's layout: SOB 13 is bit 5 of group 1; the arm watches it alone.
        assert_eq!(arm_value(13, 3), 3 << 17 | 0xdf << 8 | 1);
        f.monitor(511, fence, 1, 13, 3);
        assert_eq!(f.reg(sm::STATUS + 4 * 511), MON_ARMED);
        f.wreg(sm::sob(12), 9).unwrap();
        assert_eq!(f.reg(sm::fence(1, 0, 0)), 0, "another SOB of the group");
        f.wreg(sm::sob(13), 3).unwrap();
        assert_eq!(f.reg(sm::fence(1, 0, 0)), 1);
        // Two SOBs of group 2 (16, 17), equal mode: both must be 4.
        f.wreg(sm::mon(0, sm::PAY_ADDR_LO), fence as u32).unwrap();
        f.wreg(sm::mon(0, sm::PAY_ADDR_HI), (fence >> 32) as u32)
            .unwrap();
        f.wreg(sm::mon(0, sm::PAY_DATA), 1).unwrap();
        let arm = 4 << ARM_TARGET_SHIFT | ARM_EQUAL | 0xfc << ARM_MASK_SHIFT | 2;
        f.wreg(sm::mon(0, sm::ARM), arm).unwrap();
        f.wreg(sm::sob(16), 4).unwrap();
        f.wreg(sm::sob(17), 5).unwrap();
        assert_eq!(f.reg(sm::mon(0, sm::STATUS)), MON_ARMED, "5 is not 4");
        f.wreg(sm::sob(17), 4).unwrap();
        assert_eq!(f.reg(sm::mon(0, sm::STATUS)), 0);
        assert_eq!(f.reg(sm::fence(1, 0, 0)), 2);
        // The payload half of the monitor lives in HI.
        f.wreg(sm::mon(3, sm::PAY_ADDR_HI), 0x7f).unwrap();
        assert_eq!(f.reg(sm::PAY_ADDR_HI + 12), 0x7f);
    }

    #[test]
    fn fences() {
        let f = fixture();
        assert!(f.sm.try_fence(&f.bar, (1, 2), 3, 0, 0));
        assert!(!f.sm.try_fence(&f.bar, (1, 2), 3, 1, 1));
        f.wreg(sm::fence(1, 2, 3), 2).unwrap();
        assert_eq!(*f.kicked.borrow(), [(1, 2)]);
        // Stream 2's counter, not its siblings'.
        assert!(!f.sm.try_fence(&f.bar, (1, 1), 3, 1, 1));
        assert!(!f.sm.try_fence(&f.bar, (1, sm::LOWER_CP), 3, 1, 1));
        assert!(f.sm.try_fence(&f.bar, (1, 2), 3, 2, 1));
        assert_eq!(f.reg(sm::fence(1, 2, 3)), 1);
        assert!(!f.sm.try_fence(&f.bar, (1, 2), 3, 2, 1));
        assert!(f.sm.try_fence(&f.bar, (1, 2), 3, 1, 15));
        assert_eq!(f.reg(sm::fence(1, 2, 3)), 0, "stops at 0");
        f.wreg(sm::fence(3, 0, 0), u32::MAX).unwrap();
        f.wreg(sm::fence(3, 0, 0), 2).unwrap();
        assert_eq!(f.reg(sm::fence(3, 0, 0)), 1, "wraps");
        f.wreg(sm::fence(3, sm::LOWER_CP, 1), 4).unwrap();
        f.wreg(sm::fence(0, 0, 0), 5).unwrap();
        f.sm.reset_fences(&f.bar, 3);
        assert_eq!(f.reg(sm::fence(3, 0, 0)), 0);
        assert_eq!(f.reg(sm::fence(3, sm::LOWER_CP, 1)), 0);
        assert_eq!(f.reg(sm::fence(0, 0, 0)), 5);
    }
}
