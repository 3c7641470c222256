// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the driver's pure logic: the range allocator behind device memory and the
//! MMU's host region, the MMU's index and entry arithmetic, the RDMA ring sizes and CQ handles,
//! the sync streams' numbering and signal jobs, collective waits' plans, staged submissions'
//! completion, the outcome store of `WAIT_CS`, the uAPI timeouts, the scrub's packets, the Ethernet ports' link-mode and ETS
//! tables, their checks of `LINK_INFO` and its link states, and the ASIC functions the PCI ID
//! table selects.
//!
//! Built with `CONFIG_KUNIT`; the suite (`habanalabs`) runs when the module loads with KUnit
//! enabled (`kunit.enable=1`: the `kunit.sh` selftest's VM), its results in
//! `/sys/kernel/debug/kunit/habanalabs/results` (Documentation/accel/habanalabs/testing.rst).

use core::{sync::atomic::AtomicBool, time::Duration};
use kernel::{
    kunit_check,
    net::{
        dcbnl::Tsa,
        ethtool::{AutonegSubstate, LinkExtState, LinkMode},
    },
    prelude::*,
    sync::Arc,
    uapi,
};

use crate::{
    asic::{gaudi::Gaudi, model::Model, AsicFuncs, Line},
    cs::{
        outcomes::{Outcomes, KEPT},
        Cs, Failure, JobEnd, Outcome, Stage,
    },
    deadline::ms_from_us,
    driver::{asic_for, IVSHMEM},
    eth::{
        dcb::ets_classes,
        ethtool,
        regs::{DownReason, FecMode, LinkInfo, Speed, LINK_INFO},
    },
    memory::{Dram, RangeAllocator, GRANULE, HOST_VA_SIZE},
    rdma,
    regs::{self, HOST_VA, PTE},
    scrub, sync_stream,
};

const MIB: u64 = 1 << 20;

fn ranges(size: u64) -> RangeAllocator {
    let r = RangeAllocator::new(size);
    kunit_check!(r.is_ok());
    r.unwrap_or_else(|_| unreachable!())
}

fn range_new_all_free() {
    kunit_check!(ranges(MIB).available() == MIB);
    kunit_check!(ranges(0).available() == 0);
}

fn range_first_fit() {
    let mut r = ranges(MIB);
    kunit_check!(r.alloc(4096, 4096) == Ok(0));
    kunit_check!(r.alloc(4096, 4096) == Ok(4096));
    kunit_check!(r.alloc(100, 1) == Ok(8192));
    kunit_check!(r.available() == MIB - 8192 - 100);
}

fn range_alignment() {
    let mut r = ranges(MIB);
    kunit_check!(r.alloc(1, 1) == Ok(0));
    kunit_check!(r.alloc(4096, 65536) == Ok(65536));
    // The gap before the aligned block is still free.
    kunit_check!(r.alloc(4096, 4096) == Ok(4096));
}

fn range_bad_arguments() {
    let mut r = ranges(MIB);
    kunit_check!(r.alloc(0, 4096) == Err(EINVAL));
    kunit_check!(r.alloc(4096, 0) == Err(EINVAL));
    kunit_check!(r.alloc(4096, 3) == Err(EINVAL));
    kunit_check!(r.available() == MIB);
}

fn range_full() {
    let mut r = ranges(MIB);
    kunit_check!(r.alloc(MIB + 1, 1) == Err(ENOMEM));
    kunit_check!(r.alloc(u64::MAX, 4096) == Err(ENOMEM));
    kunit_check!(r.alloc(MIB, 4096) == Ok(0));
    kunit_check!(r.alloc(1, 1) == Err(ENOMEM));
    kunit_check!(r.available() == 0);
}

fn range_alloc_at() {
    let mut r = ranges(MIB);
    kunit_check!(r.alloc_at(8192, 4096) == Ok(8192));
    kunit_check!(r.alloc_at(8192, 4096) == Err(ENOMEM));
    kunit_check!(r.alloc_at(4096, 8192) == Err(ENOMEM));
    kunit_check!(r.alloc_at(12288, 4096) == Ok(12288));
    kunit_check!(r.alloc(8192, 4096) == Ok(0));
    kunit_check!(r.alloc(4096, 4096) == Ok(16384));
}

fn range_alloc_at_edges() {
    let mut r = ranges(MIB);
    kunit_check!(r.alloc_at(0, 0) == Err(ENOMEM));
    kunit_check!(r.alloc_at(u64::MAX, 2) == Err(ENOMEM));
    kunit_check!(r.alloc_at(MIB - 4096, 8192) == Err(ENOMEM));
    kunit_check!(r.alloc_at(MIB - 4096, 4096) == Ok(MIB - 4096));
    kunit_check!(r.available() == MIB - 4096);
}

fn range_free_coalesces() {
    let mut r = ranges(MIB);
    for i in 0..4 {
        kunit_check!(r.alloc(4096, 4096) == Ok(i * 4096));
    }
    // The middle, then the neighbours on each side, then the rest of the space.
    kunit_check!(r.free(4096, 4096).is_ok());
    kunit_check!(r.free(0, 4096).is_ok());
    kunit_check!(r.free(8192, 4096).is_ok());
    kunit_check!(r.free(12288, 4096).is_ok());
    kunit_check!(r.available() == MIB);
    // One range again: all of it fits.
    kunit_check!(r.alloc(MIB, 4096) == Ok(0));
}

fn range_free_bad() {
    let mut r = ranges(MIB);
    kunit_check!(r.free(MIB - 4096, 8192) == Err(EINVAL));
    kunit_check!(r.free(u64::MAX, 2) == Err(EINVAL));
    kunit_check!(r.available() == MIB);
}

fn dram_accounting() {
    // 16 MiB and a bit: the capacity is in whole 2 MiB pages, the reach all of it.
    let dram = Dram::new(16 * MIB + GRANULE);
    kunit_check!(dram.capacity() == 16 * MIB && dram.size() == 16 * MIB + GRANULE);
    kunit_check!(dram.charge(MIB).is_ok());
    kunit_check!(dram.available() == 15 * MIB);
    // Past the capacity: refused, nothing counted.
    kunit_check!(dram.charge(15 * MIB + 1) == Err(ENOMEM));
    kunit_check!(dram.charge(u64::MAX) == Err(ENOMEM));
    kunit_check!(dram.available() == 15 * MIB);
    kunit_check!(dram.charge(15 * MIB).is_ok());
    kunit_check!(dram.available() == 0);
    dram.uncharge(16 * MIB);
    kunit_check!(dram.available() == 16 * MIB);
    // Device addresses from the DRAM's base, to the end of what the device has.
    let base = regs::DRAM_ADDR_BASE;
    kunit_check!(dram.contains(base, 16 * MIB + GRANULE));
    kunit_check!(!dram.contains(base, 16 * MIB + GRANULE + 1));
    kunit_check!(!dram.contains(base - 1, 2));
    kunit_check!(!dram.contains(u64::MAX, 2));
}

fn mmu_indices() {
    let at = |va: u64| HOST_VA::from(va).indices();
    kunit_check!(at(0) == [0, 0, 0]);
    kunit_check!(at(4096) == [0, 0, 1]);
    kunit_check!(at(4095) == [0, 0, 0]);
    kunit_check!(at(2 * MIB) == [0, 1, 0]);
    kunit_check!(at(1 << 30) == [1, 0, 0]);
    kunit_check!(at(HOST_VA_SIZE - 4096) == [511, 511, 511]);
    // Bits past the host region are not the tables'.
    kunit_check!(at(HOST_VA_SIZE) == [0, 0, 0]);
}

fn mmu_indices_in_range() {
    let mut va = 0;
    while va < HOST_VA_SIZE {
        kunit_check!(HOST_VA::from(va).indices().iter().all(|&i| i < 512));
        va += 0x3f_fff0_1000;
    }
}

fn mmu_entries() {
    let pte = PTE::to(0x1234_5000);
    kunit_check!(pte.present() && !pte.writable());
    kunit_check!(pte.frame() == 0x12345);
    kunit_check!(u64::from(pte) == 0x1234_5001);
    kunit_check!(u64::from(pte.set_writable(true)) == 0x1234_5003);
}

fn rdma_ring_sizes() {
    kunit_check!(rdma::ring_entries(0) == Err(EINVAL));
    kunit_check!(rdma::ring_entries(1) == Err(EINVAL));
    kunit_check!(rdma::ring_entries(2) == Ok(2));
    kunit_check!(rdma::ring_entries(3) == Err(EINVAL));
    kunit_check!(rdma::ring_entries(uapi::HL_NIC_MAX_ENTRIES) == Ok(uapi::HL_NIC_MAX_ENTRIES));
    kunit_check!(rdma::ring_entries(2 * uapi::HL_NIC_MAX_ENTRIES) == Err(EINVAL));
    kunit_check!(rdma::ring_entries(1 << 31) == Err(EINVAL));
}

fn rdma_cq_handles() {
    for port in 0..uapi::HL_MAX_PORTS as u8 {
        for k in 0..regs::rdma::MAX_CQS {
            let handle = rdma::mmap_offset(port, k);
            kunit_check!(rdma::cq_of_handle(handle) == Ok((port, k)));
            kunit_check!(rdma::cq_of_handle(handle + 1) == Err(EINVAL));
        }
    }
    kunit_check!(rdma::cq_of_handle(0) == Err(EINVAL));
    kunit_check!(rdma::cq_of_handle(rdma::CQ_MMAP_BASE - 4096) == Err(EINVAL));
    kunit_check!(rdma::cq_of_handle(u64::MAX).is_err());
}

fn rdma_input_sizes() {
    for op in 0..=uapi::HL_NIC_OP_USER_WQ_UNSET {
        let size = rdma::input_size(op);
        kunit_check!(size.is_ok_and(|s| s > 0 && s <= rdma::MAX_INPUT));
    }
    kunit_check!(rdma::input_size(uapi::HL_NIC_OP_USER_WQ_UNSET + 1) == Err(ENOTTY));
    kunit_check!(rdma::input_size(u32::MAX) == Err(ENOTTY));
}

fn sync_streams() {
    let first = uapi::gaudi_queue_id_GAUDI_QUEUE_ID_DMA_0_0;
    for s in 0..sync_stream::STREAMS as u32 {
        kunit_check!(sync_stream::stream(first + s) == Some(s as usize));
    }
    kunit_check!(sync_stream::stream(first + sync_stream::STREAMS as u32).is_none());
    kunit_check!(sync_stream::stream(uapi::gaudi_queue_id_GAUDI_QUEUE_ID_TPC_0_0).is_none());
    kunit_check!(sync_stream::stream(u32::MAX).is_none());
}

fn sync_signals() {
    let (sob0, v) = sync_stream::next_signal(0, 0);
    kunit_check!(v == 1);
    let (sob7, _) = sync_stream::next_signal(7, 0);
    kunit_check!(sob7 == sob0 + 7 && sob7 < 2048);
    kunit_check!(sync_stream::next_signal(3, 41).1 == 42);
    // The SOB's 15 bits wrap to 1, never to 0 (0 is "not signalled").
    kunit_check!(sync_stream::next_signal(3, 0x7fff).1 == 1);
    // Where a user's CB gives encapsulated signals: stream 0's SOB (2040) in GAUDI's
    // configuration space, as `sob_base_addr_offset`.
    kunit_check!(sync_stream::sob_cfg_offset(sync_stream::sob(0)) == 0x4f_3fe0);
    // The SIGNAL job's MSG_SHORT value: add 1 (bit 31), or set the value.
    let [add] = sync_stream::signal_job(sob0, 5, true);
    let [set] = sync_stream::signal_job(sob0, 5, false);
    kunit_check!(add as u32 == 1 << 31 | 1);
    kunit_check!(set as u32 == 5);
}

/// A collective wait's refusals, slaves and SOB groups, as GAUDI's driver lays them out.
fn collective_plans() {
    use sync_stream::{collective_plan, CollectiveStream};
    use uapi::{
        gaudi_engine_id_GAUDI_ENGINE_ID_DMA_4 as DMA_4,
        gaudi_engine_id_GAUDI_ENGINE_ID_DMA_5 as DMA_5,
        gaudi_engine_id_GAUDI_ENGINE_ID_TPC_7 as TPC_7,
        gaudi_queue_id_GAUDI_QUEUE_ID_DMA_1_2 as DMA_1_2,
        gaudi_queue_id_GAUDI_QUEUE_ID_DMA_2_0 as DMA_2_0,
        gaudi_queue_id_GAUDI_QUEUE_ID_NIC_0_2 as NIC_0_2,
        gaudi_queue_id_GAUDI_QUEUE_ID_TPC_7_2 as TPC_7_2,
    };
    kunit_check!(collective_plan(DMA_2_0, DMA_5, 0x3ff).err() == Some(EINVAL));
    kunit_check!(collective_plan(DMA_1_2, DMA_5, 0).err() == Some(EINVAL));
    kunit_check!(collective_plan(DMA_1_2, DMA_4, 0x3ff).err() == Some(EINVAL));
    // DMA_1_2 is external stream 6, QMAN stream 2: NICs 0 and 9, then TPC 7, of stream 2.
    let plan = collective_plan(DMA_1_2, TPC_7, 1 | 1 << 9);
    kunit_check!(plan.is_ok());
    if let Ok(plan) = plan {
        kunit_check!(plan.stream == 2);
        let queues = plan.slaves.iter().flatten().map(|s| s.queue);
        let mut got = [0u32; 4];
        let mut n = 0;
        for (g, q) in got.iter_mut().zip(queues) {
            *g = q;
            n += 1;
        }
        kunit_check!(n == 3 && got[..3] == [NIC_0_2, NIC_0_2 + 36, TPC_7_2]);
    }
    // Values 1 to 0x7fff in group 0, then group 1 from 1 again, cleared first.
    let mut c = CollectiveStream::default();
    kunit_check!(c.next().ok() == Some((0, 1, false)));
    let cs = submission(1, 1, Stage::Alone);
    if let Some(cs) = cs {
        c.advance(0, 0x7fff, cs.clone());
        // Its last wait still runs: the other group is free.
        kunit_check!(c.next().ok() == Some((1, 1, true)));
        c.advance(1, 0x7fff, cs.clone());
        // Group 0's last wait still runs: not yet.
        kunit_check!(c.next().err() == Some(EBUSY));
        cs.job_done(JobEnd::Device { status: 0 });
        kunit_check!(c.next().ok() == Some((0, 1, true)));
    }
    // The driver's objects do not overlap the sync streams' and fit the sync manager.
    kunit_check!(sync_stream::group_base(3, 1) + 16 <= sync_stream::sob(0));
    kunit_check!(sync_stream::MASTER_MON_BASE + 16 <= 512 - 8);
    kunit_check!(sync_stream::SLAVE_MON_BASE + 48 == sync_stream::MASTER_MON_BASE);
}

fn submission(seq: u64, queues: u32, stage: Stage) -> Option<Arc<Cs>> {
    let timeout = Duration::from_secs(600);
    let cs = Arc::pin_init(
        Cs::staged(seq, queues, 1, timeout, None, None, stage),
        GFP_KERNEL,
    );
    kunit_check!(cs.is_ok());
    cs.ok()
}

/// A staged submission completes once its last stage was submitted and every stage completed,
/// and fails if a stage does.
fn staged_completion() {
    let open = || Stage::First {
        open: AtomicBool::new(true),
    };
    let Some(first) = submission(1, 1, open()) else {
        return;
    };
    let ok = JobEnd::Device { status: 0 };
    first.job_done(ok);
    kunit_check!(!first.is_done() && first.is_open());
    kunit_check!(first.add_stage(2).is_ok());
    let Some(later) = submission(
        2,
        2,
        Stage::Later {
            first: first.clone(),
        },
    ) else {
        return;
    };
    first.close();
    kunit_check!(!first.is_done() && !first.is_open());
    kunit_check!(first.queues() == 3);
    kunit_check!(first.add_stage(4) == Err(EINVAL));
    later.job_done(JobEnd::Reset);
    kunit_check!(later.is_done() && first.is_done() && first.failed());

    // A stage refused before it was queued does not hold the first; closing ends it.
    let Some(first) = submission(3, 1, open()) else {
        return;
    };
    kunit_check!(first.add_stage(2).is_ok());
    first.stage_dropped();
    first.job_done(ok);
    first.close();
    kunit_check!(first.is_done() && !first.failed());

    // A time-out closes a first stage, and is what it reports.
    let Some(first) = submission(4, 1, open()) else {
        return;
    };
    kunit_check!(first.claim_timeout());
    kunit_check!(!first.is_open() && !first.claim_timeout());
    first.job_done(JobEnd::Reset);
    kunit_check!(first.is_done());
    let mut out = uapi::hl_wait_cs_out::default();
    kunit_check!(first.result(&mut out) == Err(ETIMEDOUT));

    // Not staged: no hold.
    let Some(alone) = submission(5, 1, Stage::Alone) else {
        return;
    };
    kunit_check!(alone.add_stage(2) == Err(EINVAL));
    alone.job_done(ok);
    kunit_check!(alone.is_done() && !alone.failed());
}

/// The outcome store keeps [`KEPT`] outcomes, gives each once, and when full lets the first
/// to have come in go; a timestamped submission leaves its outcome there when it ends.
fn outcome_store() {
    let store = Outcomes::new().and_then(|init| Arc::pin_init(init, GFP_KERNEL));
    let Ok(store) = store else {
        kunit_check!(false);
        return;
    };
    let ended = |end_ns| Outcome {
        end_ns,
        failure: None,
    };
    for seq in 1..=KEPT as u64 + 1 {
        store.push(seq, ended(seq as i64));
    }
    kunit_check!(store.take(1).is_none());
    kunit_check!(store.take(2) == Some(ended(2)));
    kunit_check!(store.take(2).is_none());
    // The place 2 left takes the next one: 3 stays, until one more comes.
    store.push(1000, ended(1000));
    kunit_check!(store.take(3) == Some(ended(3)));
    store.push(1001, ended(1001));
    store.push(1002, ended(1002));
    kunit_check!(store.take(4).is_none());
    kunit_check!(store.take(5) == Some(ended(5)));
    kunit_check!(store.take(1000) == Some(ended(1000)));

    let timeout = Duration::from_secs(600);
    let cs = Cs::new(2000, 1, 1, timeout, Some(store.clone()), None);
    let Ok(cs) = Arc::pin_init(cs, GFP_KERNEL) else {
        kunit_check!(false);
        return;
    };
    kunit_check!(store.take(2000).is_none());
    cs.job_done(JobEnd::Device { status: 1 });
    let kept = store.take(2000);
    kunit_check!(kept == Some(cs.outcome()));
    kunit_check!(kept.is_some_and(|o| o.end_ns > 0 && o.failure == Some(Failure::Aborted)));
}

fn uapi_timeouts() {
    kunit_check!(ms_from_us(0) == 0);
    kunit_check!(ms_from_us(1) == 1);
    kunit_check!(ms_from_us(1000) == 1);
    kunit_check!(ms_from_us(1001) == 2);
    kunit_check!(ms_from_us(u64::MAX) == u32::MAX);
}

fn scrub_packets() {
    kunit_check!(scrub::tests::memset_words());
    kunit_check!(scrub::tests::ranges());
    kunit_check!(scrub::tests::arb_words());
}

fn link_modes() {
    let modes = Speed::ALL.map(ethtool::link_mode);
    kunit_check!(
        modes
            == [
                LinkMode::Base10000CrFull,
                LinkMode::Base25000CrFull,
                LinkMode::Base50000Cr2Full,
                LinkMode::Base100000Cr4Full,
            ]
    );
    kunit_check!(Speed::ALL.map(ethtool::lanes) == [1, 1, 2, 4]);
    for speed in Speed::ALL {
        kunit_check!(Speed::from_mbps(speed.mbps()) == Some(speed));
    }
    kunit_check!(Speed::from_mbps(40_000).is_none());
    kunit_check!(Speed::from_mbps(0).is_none());
}

/// `LINK_INFO` is a FEC off or RS and no reason, or a known reason and no FEC; anything else
/// is refused.
fn link_info_checks() {
    let info = |fec: u8, reason: u8| {
        LinkInfo::from_reg(LINK_INFO::default().set_fec(fec).set_reason(reason))
    };
    kunit_check!(info(1, 0) == Some(LinkInfo::Up(FecMode::Off)));
    kunit_check!(info(2, 0) == Some(LinkInfo::Up(FecMode::Rs)));
    kunit_check!(info(0, 7) == Some(LinkInfo::Down(DownReason::FecMismatch)));
    kunit_check!(info(0, 1) == Some(LinkInfo::Down(DownReason::Disabled)));
    kunit_check!(info(0, 8) == Some(LinkInfo::Down(DownReason::LinkTraining)));
    // Auto is a setting, never what a link runs; 3 is reserved.
    kunit_check!(info(0, 0).is_none());
    kunit_check!(info(3, 0).is_none());
    kunit_check!(info(0, 9).is_none());
    kunit_check!(info(0, 0xee).is_none());
    kunit_check!(info(2, 7).is_none());
    kunit_check!(LinkInfo::from_reg(LINK_INFO::from(u32::MAX)).is_none());

    let an = |s| Some(LinkExtState::Autoneg(Some(s)));
    let state = ethtool::ext_state;
    kunit_check!(
        state(DownReason::FecMismatch, true) == an(AutonegSubstate::FecMismatchDuringOverride)
    );
    kunit_check!(
        state(DownReason::PartnerDisabled, true) == an(AutonegSubstate::NoPartnerDetected)
    );
    kunit_check!(
        state(DownReason::PartnerDisabled, false)
            == an(AutonegSubstate::NoPartnerDetectedForceMode)
    );
    kunit_check!(
        state(DownReason::SpeedMismatch, false) == an(AutonegSubstate::NoPartnerDetectedForceMode)
    );
    kunit_check!(state(DownReason::AnNoCommonSpeed, true) == an(AutonegSubstate::NoHcd));
    kunit_check!(state(DownReason::NoCable, true) == Some(LinkExtState::NoCable));
    kunit_check!(state(DownReason::Disabled, true).is_none());
}

/// The ID table selects the model's ASIC functions for ivshmem, GAUDI's (which refuse the
/// device) for GAUDI, and nothing for the other Habana Labs devices.
fn asic_table() {
    let name = |vendor, device| asic_for(vendor, device).map(|a| a.name());
    kunit_check!(name(IVSHMEM.0, IVSHMEM.1) == Some(Model.name()));
    kunit_check!(name(0x1da3, 0x1000) == Some(Gaudi.name()));
    kunit_check!(Model.name() != Gaudi.name());
    // GAUDI-sec and GAUDI2 are not GAUDI.
    kunit_check!(name(0x1da3, 0x1010).is_none());
    kunit_check!(name(0x1da3, 0x1020).is_none());
    // GAUDI has no vectors or doorbells here: its init refuses it first.
    kunit_check!(Gaudi.vector(Line::Events) == Err(EOPNOTSUPP));
    kunit_check!(Model.vector(Line::Control) == Ok(regs::VECTOR_CONTROL));
    kunit_check!(Model.vector(Line::Queue(0)) != Model.vector(Line::Queue(1)));
}

fn ets_tables() {
    const S: Tsa = Tsa::STRICT;
    const E: Tsa = Tsa::ETS;
    let identity = [0, 1, 2, 3, 4, 5, 6, 7];
    // All strict: no ETS class, shares kept but not checked.
    kunit_check!(ets_classes(&[S; 8], &[0; 8], &identity) == Ok(0));
    kunit_check!(ets_classes(&[S; 8], &[12; 8], &[0; 8]) == Ok(0));
    // ETS classes 0 and 1 share 100 %.
    let tsa = [E, E, S, S, S, S, S, S];
    kunit_check!(ets_classes(&tsa, &[70, 30, 0, 0, 0, 0, 0, 0], &identity) == Ok(0b11));
    kunit_check!(ets_classes(&tsa, &[70, 29, 0, 0, 0, 0, 0, 0], &identity) == Err(EINVAL));
    kunit_check!(ets_classes(&tsa, &[70, 30, 1, 0, 0, 0, 0, 0], &identity) == Ok(0b11));
    kunit_check!(ets_classes(&[S; 8], &[101, 0, 0, 0, 0, 0, 0, 0], &identity) == Err(EINVAL));
    // A priority mapped to a class beyond the eight.
    kunit_check!(ets_classes(&[S; 8], &[0; 8], &[0, 0, 0, 0, 0, 0, 0, 8]) == Err(EINVAL));
}

kernel::kunit_suite!(
    "habanalabs",
    [
        ("range_new_all_free", range_new_all_free),
        ("range_first_fit", range_first_fit),
        ("range_alignment", range_alignment),
        ("range_bad_arguments", range_bad_arguments),
        ("range_full", range_full),
        ("range_alloc_at", range_alloc_at),
        ("range_alloc_at_edges", range_alloc_at_edges),
        ("range_free_coalesces", range_free_coalesces),
        ("range_free_bad", range_free_bad),
        ("dram_accounting", dram_accounting),
        ("mmu_indices", mmu_indices),
        ("mmu_indices_in_range", mmu_indices_in_range),
        ("mmu_entries", mmu_entries),
        ("rdma_ring_sizes", rdma_ring_sizes),
        ("rdma_cq_handles", rdma_cq_handles),
        ("rdma_input_sizes", rdma_input_sizes),
        ("sync_streams", sync_streams),
        ("sync_signals", sync_signals),
        ("collective_plans", collective_plans),
        ("staged_completion", staged_completion),
        ("outcome_store", outcome_store),
        ("uapi_timeouts", uapi_timeouts),
        ("scrub_packets", scrub_packets),
        ("link_modes", link_modes),
        ("link_info_checks", link_info_checks),
        ("ets_tables", ets_tables),
        ("asic_table", asic_table),
    ]
);
