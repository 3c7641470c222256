// SPDX-License-Identifier: GPL-2.0

//! The sync manager (`device-model.rst`, "Sync manager"): where its
//! registers are, and the packets by which a job on one queue waits for
//! a job on another.
//!
//! The signalling job adds to a sync object (SOB), e.g. with
//! `Packet::msg_short(sob, SOB_ADD | 1)`; the waiting job starts with
//! [`wait_for_sob`]: it arms a monitor whose payload adds 1 to one of its
//! own QMAN's fence counters, then `FENCE`s on that counter.

use crate::device::Queue;
use crate::error::{Error, Result};
use crate::packets::Packet;
use crate::uapi::{HL_MAX_PORTS, HL_SYNC_MNGR_BASE};

/// Bytes of sync manager registers, from `HL_SYNC_MNGR_BASE`.
pub const SYNC_MNGR_SIZE: u32 = 64 << 10;
/// Sync objects.
pub const SOB_COUNT: u32 = 2048;
/// Monitors.
pub const MON_COUNT: u32 = 512;
/// Fence counters per QMAN.
pub const FENCE_COUNTERS: u32 = 4;
/// Largest SOB value (15 bits), and so largest monitor target.
pub const SOB_MAX: u32 = (1 << 15) - 1;
/// In a value written to a SOB: add `[14:0]` instead of setting the SOB.
pub const SOB_ADD: u32 = 1 << 31;

// GAUDI's monitor registers: an array each, monitor m's at + 4 * m.
const MON_PAY_ADDR_LO: u32 = 0x2000;
const MON_PAY_ADDR_HI: u32 = 0x2800;
const MON_PAY_DATA: u32 = 0x3000;
const MON_ARM: u32 = 0x3800;

/// Register offset of SOB `sob`.
pub fn sob_offset(sob: u32) -> Result<u32> {
    if sob >= SOB_COUNT {
        return Err(Error::invalid(format!(
            "SOB {sob} is not below {SOB_COUNT}"
        )));
    }
    Ok(4 * sob)
}

/// Device address of SOB `sob`.
pub fn sob_addr(sob: u32) -> Result<u64> {
    Ok(HL_SYNC_MNGR_BASE + u64::from(sob_offset(sob)?))
}

/// Device address of fence counter `counter` of `queue`'s QMAN, as GAUDI
/// has it: the QMAN's `CP_FENCE<counter>_RDATA_0` in the configuration
/// space; a write there adds its value to the counter.
pub fn fence_addr(queue: Queue, counter: u32) -> Result<u64> {
    use hlsim_regs::space::{CFG_BASE, QM_FENCE, QM_FENCE_ID_STRIDE, qm_block};
    if counter >= FENCE_COUNTERS {
        return Err(Error::invalid(format!(
            "fence counter {counter} is not below {FENCE_COUNTERS}"
        )));
    }
    let block = qm_block(queue.qman() as usize)
        .filter(|_| !matches!(queue, Queue::Nic(port) if port >= HL_MAX_PORTS))
        .ok_or_else(|| Error::invalid(format!("{queue} has no fence counters")))?;
    Ok(CFG_BASE + block + QM_FENCE + QM_FENCE_ID_STRIDE * u64::from(counter))
}

/// `WREG_32` packets that arm monitor `mon` to write `data` at device
/// address `addr` once SOB `sob` is at least `target`.
pub fn arm_monitor(mon: u32, sob: u32, target: u32, addr: u64, data: u32) -> Result<[Packet; 4]> {
    if mon >= MON_COUNT {
        return Err(Error::invalid(format!(
            "monitor {mon} is not below {MON_COUNT}"
        )));
    }
    if target > SOB_MAX {
        return Err(Error::invalid(format!(
            "monitor target {target} exceeds {SOB_MAX}"
        )));
    }
    sob_offset(sob)?;
    Ok([
        Packet::wreg32(MON_PAY_ADDR_LO + 4 * mon, addr as u32)?,
        Packet::wreg32(MON_PAY_ADDR_HI + 4 * mon, (addr >> 32) as u32)?,
        Packet::wreg32(MON_PAY_DATA + 4 * mon, data)?,
        Packet::wreg32(MON_ARM + 4 * mon, arm_value(sob, target))?,
    ])
}

/// GAUDI's `MON_ARM` value that watches SOB `sob` alone until it is at least
/// `target`: `[7:0]` its sync group (eight SOBs), `[15:8]` a mask with only
/// its bit clear, bit 16 mode 0 (at least), `[31:17]` the target.
pub fn arm_value(sob: u32, target: u32) -> u32 {
    target << 17 | (!(1u32 << (sob % 8)) & 0xff) << 8 | (sob / 8)
}

/// The packets that make a job on `queue` wait until SOB `sob` is at least
/// `target`: monitor `mon` adds 1 to fence counter `counter` of `queue`,
/// and a `FENCE` waits for it and takes it back to 0.
pub fn wait_for_sob(
    queue: Queue,
    mon: u32,
    sob: u32,
    target: u32,
    counter: u32,
) -> Result<[Packet; 5]> {
    let [a, b, c, d] = arm_monitor(mon, sob, target, fence_addr(queue, counter)?, 1)?;
    Ok([a, b, c, d, Packet::fence(counter, 1, 1)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(sob_addr(0).unwrap(), 0x7f_fc4f_2000);
        assert_eq!(sob_addr(2047).unwrap(), 0x7f_fc4f_3ffc);
        assert!(sob_addr(2048).is_err());
        // mmDMA0_QM_CP_FENCE0_RDATA_0, mmTPC1_QM_CP_FENCE3_RDATA_0,
        // mmNIC0_QM0_CP_FENCE0_RDATA_0, mmNIC4_QM1_CP_FENCE3_RDATA_0,
        // mmMME0_QM_CP_FENCE1_RDATA_0 (MME 1's) from asic_reg/.
        let cfg = 0x7f_fc00_0000;
        assert_eq!(fence_addr(Queue::Dma0, 0).unwrap(), cfg + 0x50_8308);
        assert_eq!(fence_addr(Queue::Tpc1, 3).unwrap(), cfg + 0xe4_8344);
        assert!(fence_addr(Queue::Tpc0, 4).is_err());
        assert_eq!(fence_addr(Queue::Nic(0), 0).unwrap(), cfg + 0xce_0308);
        assert_eq!(fence_addr(Queue::Nic(9), 3).unwrap(), cfg + 0xde_2344);
        assert_eq!(fence_addr(Queue::Mme(1), 1).unwrap(), cfg + 0x06_831c);
        assert!(fence_addr(Queue::Nic(10), 0).is_err());
        assert!(fence_addr(Queue::Mme(2), 0).is_err());
    }

    #[test]
    fn monitor_packets() {
        let p = arm_monitor(511, 2047, 0x7fff, 0x1000_8024, 1).unwrap();
        let expect: [(u32, u32); 4] = [
            (0x27fc, 0x1000_8024),
            (0x2ffc, 0),
            (0x37fc, 1),
            (0x3ffc, 0x7fff << 17 | 0x7f << 8 | 255),
        ];
        for (p, (off, val)) in p.iter().zip(expect) {
            assert_eq!(p, &Packet::wreg32(off, val).unwrap());
        }
        assert!(arm_monitor(512, 0, 1, 0, 1).is_err());
        assert!(arm_monitor(0, 2048, 1, 0, 1).is_err());
        assert!(arm_monitor(0, 0, 0x8000, 0, 1).is_err());
    }

    #[test]
    fn wait_for_sob_fences_on_its_own_counter() {
        let p = wait_for_sob(Queue::Tpc0, 3, 7, 2, 1).unwrap();
        // TPC 0's CP_FENCE1_RDATA_0.
        assert_eq!(p[0], Packet::wreg32(0x200c, 0xfce0_831c).unwrap());
        assert_eq!(p[1], Packet::wreg32(0x280c, 0x7f).unwrap());
        assert_eq!(p[3], Packet::wreg32(0x380c, 2 << 17 | 0x7f << 8).unwrap());
        assert_eq!(p[4], Packet::fence(1, 1, 1).unwrap());
    }
}
