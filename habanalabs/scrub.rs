// SPDX-License-Identifier: GPL-2.0

//! Device memory scrubbing: when a compute user that ran anything on the device closes its
//! node, the device's DMA engine fills every byte a user can reach (the DRAM, and the SRAM past
//! the driver's part) with zeros before the next user may open the node, so that no user reads
//! what the previous one left (mainline's `scrub_device_mem` at context release).
//!
//! The same job then disables every QMAN's arbiter (`ARB_CFG_0`, which a user's `MSG_LONG`
//! may set), as mainline's `gaudi_restore_qm_registers` does when the next context starts, so
//! that the next user finds the streams unarbitrated.
//!
//! The scrub is one job of `LIN_DMA` memset packets and `MSG_LONG`s on DMA 0's first stream, in
//! a command buffer of the driver's. It runs after every submission of the closing user ended, so the
//! queue is idle; if it does not complete within [`TIMEOUT`] its queue is reset and the failure
//! is logged (the node opens anyway: the device is not serving anyone else).

use core::time::Duration;
use kernel::{prelude::*, register, sync::Arc, uapi};

use crate::{
    cb::Cb,
    context::CbSlot,
    cs::Cs,
    deadline::Deadline,
    device::HlDevice,
    qman::JobCb,
    regs::{
        qm_cfg_block, DRAM_ADDR_BASE, PACKET, PACKET_MSG_LONG, QMAN_ENGINE, QM_ARB_CFG_0,
        SRAM_ADDR_BASE, SRAM_SIZE,
    },
};

/// How long the scrub may take: the model fills memory at gigabytes per second, a
/// GAUDI's DMA engines at hundreds.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The most one `LIN_DMA` fills here: its size is 32 bits, and DRAM is 32 GiB.
const FILL_MAX: u64 = 1 << 31;

/// `LIN_DMA`'s opcode, as `gaudi_packets.h` numbers it.
const PACKET_LIN_DMA: u8 = 0x09;

register! {
    /// The `ctl` half of a `LIN_DMA` packet's first eight bytes (the device's spec, Packets).
    LIN_DMA_CTL(u32) {
        /// A linear transfer (the only kind the model has).
        3:3 lin as bool;
        /// Fill the destination with the low byte of `src` instead of copying.
        4:4 memset as bool;
        /// The opcode.
        28:24 opcode as u8;
    }
}

/// A `LIN_DMA` that fills `size` bytes at device address `dst` with zeros: its three words.
fn memset_zero(dst: u64, size: u32) -> [u64; 3] {
    let ctl = LIN_DMA_CTL::default()
        .set_lin(true)
        .set_memset(true)
        .set_opcode(PACKET_LIN_DMA);
    let first = u64::from(PACKET::default().set_value(size)) | u64::from(u32::from(ctl)) << 32;
    [first, 0, dst]
}

/// The ranges a user reaches with device addresses: all of DRAM, the SRAM past what GAUDI's
/// driver keeps (as `HL_INFO_HW_IP_INFO` reports it).
fn user_ranges(dram_size: u64) -> [(u64, u64); 2] {
    let sram_kmd = u64::from(uapi::GAUDI_DRIVER_SRAM_RESERVED_SIZE_FROM_START);
    [
        (DRAM_ADDR_BASE, dram_size),
        (SRAM_ADDR_BASE + sram_kmd, SRAM_SIZE - sram_kmd),
    ]
}

/// A `MSG_LONG` that writes 0 at device address `addr`: its two words.
fn msg_long_zero(addr: u64) -> [u64; 2] {
    [
        u64::from(PACKET::default().set_opcode(PACKET_MSG_LONG)),
        addr,
    ]
}

/// The `ARB_CFG_0` of the QMAN of `engine`, if GAUDI has one.
fn arb_cfg(engine: QMAN_ENGINE) -> Option<u64> {
    Some(qm_cfg_block(engine)? + QM_ARB_CFG_0)
}

/// Fills every byte a user reaches with zeros and disables every QMAN's arbiter, with the
/// device's DMA engine, and waits for it.
pub(crate) fn scrub(dev: &HlDevice) -> Result {
    let mut packets = KVec::new();
    for (addr, size) in user_ranges(dev.dram().size()) {
        let mut done = 0;
        while done < size {
            let n = (size - done).min(FILL_MAX);
            // CAST: at most `FILL_MAX`, which fits.
            packets.extend_from_slice(&memset_zero(addr + done, n as u32), GFP_KERNEL)?;
            done += n;
        }
    }
    for arb in dev.queues().iter().filter_map(|q| arb_cfg(q.engine)) {
        packets.extend_from_slice(&msg_long_zero(arb), GFP_KERNEL)?;
    }
    let (queue, stream) = dev
        .queues()
        .by_gaudi_id(uapi::gaudi_queue_id_GAUDI_QUEUE_ID_DMA_0_0)
        .ok_or(ENODEV)?;
    let queue = queue.clone();
    let cb = {
        let bound = dev.bound()?;
        Arc::new(
            Cb::of_packets(&bound, &packets, CbSlot::driver()?)?,
            GFP_KERNEL,
        )?
    };
    let cs = Arc::pin_init(
        Cs::new(u64::MAX, 1 << queue.index, 1, TIMEOUT, None, None),
        GFP_KERNEL,
    )?;
    let mut jobs = KVec::with_capacity(1, GFP_KERNEL)?;
    jobs.push(
        (
            queue.clone(),
            stream,
            JobCb::Kernel(cb),
            8 * packets.len() as u32,
        ),
        GFP_KERNEL,
    )?;
    // The driver's own work belongs to no context: the current generation.
    dev.queues()
        .submit(&cs, jobs, dev.reset().generation(), || {})?;
    let deadline = Deadline::after(TIMEOUT);
    while !cs.is_done() && !deadline.passed() {
        let _ = cs.completion().wait_timeout(deadline.sleep());
    }
    if !cs.is_done() {
        cs.claim_timeout();
        // Ends the job as reset.
        dev.queues().reset(1 << queue.index);
        cs.completion().wait();
        return Err(ETIMEDOUT);
    }
    if cs.failed() {
        return Err(EIO);
    }
    Ok(())
}

#[cfg(CONFIG_KUNIT)]
pub(crate) mod tests {
    //! What `kunit.rs` checks of the scrub.
    use super::*;

    /// The words of a memset of 4096 bytes: tsize in the value word, then `ctl` with `LIN`
    /// (bit 3), `MEMSET` (bit 4) and opcode 0x09 in bits 28:24; a zero fill byte.
    pub(crate) fn memset_words() -> bool {
        let [first, src, dst] = memset_zero(0x1_0000_0000, 4096);
        first == (0x0900_0018u64 << 32 | 4096) && src == 0 && dst == 0x1_0000_0000
    }

    /// A `MSG_LONG` of 0: opcode 0x03 in bits 60:56, the address in the second word; and
    /// `ARB_CFG_0` of DMA 0, TPC 7, NIC port 9 and the MME queues where `asic_reg/` has them
    /// (`mmDMA0_QM_ARB_CFG_0`, `mmTPC7_QM_ARB_CFG_0`, `mmNIC4_QM1_ARB_CFG_0`,
    /// `mmMME2_QM_ARB_CFG_0`, `mmMME0_QM_ARB_CFG_0`).
    pub(crate) fn arb_words() -> bool {
        let engine = |kind, index| QMAN_ENGINE::default().set_kind(kind).set_index(index);
        let cfg = |off: u64| Some(0x7f_fc00_0000 + off);
        msg_long_zero(0x7f_fc50_8a00) == [0x0300_0000u64 << 32, 0x7f_fc50_8a00]
            && arb_cfg(engine(QMAN_ENGINE::DMA, 0)) == cfg(0x50_8a00)
            && arb_cfg(engine(QMAN_ENGINE::TPC, 7)) == cfg(0xfc_8a00)
            && arb_cfg(engine(QMAN_ENGINE::NIC, 9)) == cfg(0xde_2a00)
            && arb_cfg(engine(QMAN_ENGINE::MME, 0)) == cfg(0x16_8a00)
            && arb_cfg(engine(QMAN_ENGINE::MME, 1)) == cfg(0x06_8a00)
            && arb_cfg(engine(4, 0)).is_none()
    }

    /// The user's ranges: all of DRAM, and the SRAM past the driver's 128 bytes.
    pub(crate) fn ranges() -> bool {
        let [dram, sram] = user_ranges(1 << 28);
        dram == (DRAM_ADDR_BASE, 1 << 28)
            && sram.0 == SRAM_ADDR_BASE + 128
            && sram.0 + sram.1 == SRAM_ADDR_BASE + SRAM_SIZE
    }
}
