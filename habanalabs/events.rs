// SPDX-License-Identifier: GPL-2.0

//! What the device reports on its event queue: the cause of an engine's error, and the GAUDI
//! async event id (`gaudi_async_events.h`) that `INFO HW_EVENTS` counts it under.

use kernel::{c_str, str::CStr};

use crate::regs::QMAN_ENGINE;

/// The causes of an engine's error, the `cause` of an event entry (device-model.rst, "Event
/// queue"): the job statuses of the device model.
pub(crate) mod cause {
    /// An unknown opcode.
    pub(crate) const BAD_OPCODE: u32 = 1;
    /// An address outside every region, crossing regions, or misaligned.
    pub(crate) const BAD_ADDRESS: u32 = 2;
    /// A truncated packet, a reserved field set, a bad buffer descriptor.
    pub(crate) const BAD_PACKET: u32 = 3;
    /// A host address not mapped, or read-only and written.
    pub(crate) const MMU_FAULT: u32 = 4;
    /// A `FENCE` not resolved in time.
    pub(crate) const FENCE_TIMEOUT: u32 = 5;
    /// A packet the engine does not run.
    pub(crate) const NOT_SUPPORTED: u32 = 6;
    /// An invalid TPC kernel descriptor.
    pub(crate) const BAD_KERNEL: u32 = 7;
    /// One past the last cause.
    pub(crate) const COUNT: usize = 8;
}

/// The number of GAUDI's async event ids (`GAUDI_EVENT_SIZE`): `INFO HW_EVENTS` answers a
/// counter for each, as mainline does for GAUDI.
pub(crate) const GAUDI_EVENT_SIZE: usize = 663;

/// The GAUDI event ids the device's errors are counted under.
mod gaudi {
    /// `GAUDI_EVENT_TPC0_KRN_ERR`; TPC `n`'s is [`TPC_KRN_ERR_STRIDE`] `* n` further.
    pub(super) const TPC0_KRN_ERR: usize = 301;
    pub(super) const TPC_KRN_ERR_STRIDE: usize = 6;
    /// `GAUDI_EVENT_MMU_PAGE_FAULT`.
    pub(super) const MMU_PAGE_FAULT: usize = 380;
    /// `GAUDI_EVENT_RAZWI_OR_ADC`: an access to no memory ("read as zero, write ignored").
    pub(super) const RAZWI_OR_ADC: usize = 548;
    /// `GAUDI_EVENT_TPC0_QM` to `TPC7_QM`: a TPC QMAN's error.
    pub(super) const TPC0_QM: usize = 572;
    /// `GAUDI_EVENT_DMA0_QM` to `DMA7_QM`.
    pub(super) const DMA0_QM: usize = 583;
    /// `GAUDI_EVENT_MME0_QM` and `MME2_QM`: the QMANs of MME 0 and 1 (GAUDI's MME 0 and 2
    /// have QMANs, 1 and 3 are their slaves).
    pub(super) const MME0_QM: usize = 581;
    /// `GAUDI_EVENT_NIC0_QM0`: NIC macro `m` has ports `2m` and `2m + 1`, whose QMANs' events
    /// are `NICm_QM0` and `NICm_QM1`, so port `p`'s is `NIC0_QM0 + p`.
    pub(super) const NIC0_QM0: usize = 594;
    /// Engines of each kind that have events.
    pub(super) const DMA_ENGINES: usize = 8;
    pub(super) const TPC_ENGINES: usize = 8;
    pub(super) const NIC_PORTS: usize = 10;
    pub(super) const MME_QMANS: usize = 2;
}

/// The GAUDI event id of an error of `cause` on a QMAN of `engine`, `None` for a cause or
/// engine GAUDI has no event for.
///
/// Bad addresses are RAZWI and MMU faults page faults, whichever engine made them; a bad TPC
/// kernel is that TPC's kernel error; anything else the engine's QMAN reports as its own.
pub(crate) fn gaudi_event(cause: u32, engine: QMAN_ENGINE) -> Option<usize> {
    let index = usize::from(engine.index());
    let in_range = |base: usize, count: usize| (index < count).then_some(base + index);
    if !is_known(cause) {
        return None;
    }
    match (cause, engine.kind()) {
        (cause::MMU_FAULT, _) => Some(gaudi::MMU_PAGE_FAULT),
        (cause::BAD_ADDRESS, _) => Some(gaudi::RAZWI_OR_ADC),
        (cause::BAD_KERNEL, QMAN_ENGINE::TPC) => in_range(0, gaudi::TPC_ENGINES)
            .map(|tpc| gaudi::TPC0_KRN_ERR + gaudi::TPC_KRN_ERR_STRIDE * tpc),
        (_, QMAN_ENGINE::DMA) => in_range(gaudi::DMA0_QM, gaudi::DMA_ENGINES),
        (_, QMAN_ENGINE::TPC) => in_range(gaudi::TPC0_QM, gaudi::TPC_ENGINES),
        (_, QMAN_ENGINE::NIC) => in_range(gaudi::NIC0_QM0, gaudi::NIC_PORTS),
        (_, QMAN_ENGINE::MME) => in_range(gaudi::MME0_QM, gaudi::MME_QMANS),
        _ => None,
    }
}

/// Whether `cause` is one of [`cause`]'s.
pub(crate) fn is_known(cause: u32) -> bool {
    (cause::BAD_OPCODE..cause::COUNT as u32).contains(&cause)
}

/// The name of a cause, for devlink's diagnose and dump.
pub(crate) fn cause_name(cause: u64) -> &'static CStr {
    match u32::try_from(cause).unwrap_or(u32::MAX) {
        cause::BAD_OPCODE => c_str!("bad opcode"),
        cause::BAD_ADDRESS => c_str!("bad address"),
        cause::MMU_FAULT => c_str!("MMU fault"),
        cause::NOT_SUPPORTED => c_str!("not supported"),
        cause::BAD_PACKET => c_str!("bad packet"),
        cause::BAD_KERNEL => c_str!("bad kernel"),
        cause::FENCE_TIMEOUT => c_str!("fence timeout"),
        _ => c_str!("other"),
    }
}
