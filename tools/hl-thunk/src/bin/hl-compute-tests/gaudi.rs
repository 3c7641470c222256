// SPDX-License-Identifier: GPL-2.0

//! GAUDI's programming model on every queue: DMA 0-7, TPC 0-7 and MME 0-1
//! by their GAUDI queue ids, command buffers of internal queues at device
//! addresses, a chain of DMA engines through DRAM and SRAM with
//! sync-manager fences across queues (GAUDI's CP_FENCE registers as the
//! monitors' payload), and RAZWI reporting.

use hlthunk::sync::{SOB_ADD, wait_for_sob};
use hlthunk::uapi::{HL_HOST_VA_BASE, HL_RAZWI_MMU_ACCESS_ERROR, HL_RAZWI_PAGE_FAULT};
use hlthunk::{Cause, Device, HostBuffer, Job, Packet, Queue};

use crate::Env;
use crate::util::{
    R, Rng, Tap, cb_of, download, ensure, expect_abort, run_ok, run_packets, same_bytes, upload,
};

const SOB: u32 = 700;
const MON: u32 = 70;

/// Each compute QMAN (DMA 0-7, TPC 0-7, MME 0-1, by their GAUDI queue ids)
/// runs four jobs of one submission that each add 1 to a SOB; the SOB
/// counts them.
fn every_queue(dev: &Device) -> R {
    let reset = cb_of(dev, &[Packet::msg_short(SOB, 0)?])?;
    run_ok(dev, &[reset.job(Queue::Dma0)])?;
    let add = cb_of(dev, &[Packet::msg_short(SOB, SOB_ADD | 1)?])?;
    let mut jobs = Vec::new();
    for queue in Queue::every() {
        jobs.extend([add.job(queue); 4]);
    }
    ensure!(jobs.len() == 72, "{} jobs", jobs.len());
    run_ok(dev, &jobs)?;
    // A SOB is read through a monitor: its payload lands once it is 72.
    let dram = dev.device_memory(4096)?;
    let probe = cb_of(
        dev,
        &hlthunk::sync::arm_monitor(MON, SOB, 72, dram.addr(), 0x600d)?,
    )?;
    run_ok(dev, &[probe.job(Queue::Dma1)])?;
    let got = download(dev, dram.addr(), 4)?;
    ensure!(
        got == 0x600d_u32.to_le_bytes(),
        "SOB short of 72 ({got:02x?})"
    );
    run_ok(dev, &[reset.job(Queue::Dma0)])
}

/// Host -> DRAM on DMA 0, then each of DMA 2-7 in turn moves the data
/// DRAM -> SRAM -> DRAM, each waiting for the previous one's SOB through
/// its own CP_FENCE register, all in one submission; DMA 1 brings it back.
fn dma_chain(dev: &Device, rng: &mut Rng) -> R {
    let len = 256 << 10;
    let hw = dev.hw_ip_info()?;
    let dram = dev.device_memory(8 * len as u64)?;
    let mut src = HostBuffer::new(len)?;
    rng.fill(&mut src);
    let want = src.to_vec();
    let mut dst = HostBuffer::new(len)?;
    let host_src = dev.map_host(&mut src)?;
    let host_dst = dev.map_host(&mut dst)?;
    let stage = |i: u64| dram.addr() + i * len as u64;
    let zero: Vec<Packet> = (SOB..SOB + 8)
        .map(|s| Packet::msg_short(s, 0))
        .collect::<hlthunk::Result<_>>()?;
    run_ok(dev, &[cb_of(dev, &zero)?.job(Queue::Dma0)])?;
    let mut cbs = Vec::new();
    cbs.push((
        Queue::Dma0,
        cb_of(
            dev,
            &[
                Packet::lin_dma(host_src.device_addr(), stage(0), len as u32)?,
                Packet::msg_short(SOB, SOB_ADD | 1)?,
            ],
        )?,
    ));
    for n in 2..8u32 {
        let queue = Queue::dma(n).ok_or("no DMA")?;
        let i = u64::from(n) - 1;
        let sram = hw.sram_base + i * len as u64;
        let mut packets = wait_for_sob(queue, MON + n, SOB + n - 2, 1, 0)?.to_vec();
        packets.extend([
            Packet::lin_dma(stage(i - 1), sram, len as u32)?,
            Packet::lin_dma(sram, stage(i), len as u32)?,
            Packet::msg_short(SOB + n - 1, SOB_ADD | 1)?,
        ]);
        cbs.push((queue, cb_of(dev, &packets)?));
    }
    let mut last = wait_for_sob(Queue::Dma1, MON + 8, SOB + 6, 1, 0)?.to_vec();
    last.push(Packet::lin_dma(
        stage(6),
        host_dst.device_addr(),
        len as u32,
    )?);
    cbs.push((Queue::Dma1, cb_of(dev, &last)?));
    // Submitted last stage first: only the fences order them.
    let jobs: Vec<Job> = cbs.iter().rev().map(|(q, cb)| cb.job(*q)).collect();
    run_ok(dev, &jobs)?;
    same_bytes("host copy after DMA 0, 2-7, 1", &host_dst, &want)?;
    run_ok(dev, &[cb_of(dev, &zero)?.job(Queue::Dma0)])
}

/// An internal queue runs a CB the user placed at a device address: in
/// DRAM, in SRAM and in mapped host memory; an external one refuses it.
fn internal_cbs(dev: &Device) -> R {
    let hw = dev.hw_ip_info()?;
    let dram = dev.device_memory(8192)?;
    let out = dram.addr() + 4096;
    let packets = |value: u32| -> R<Vec<u8>> {
        let mut bytes = Vec::new();
        for p in [Packet::nop(), Packet::msg_long(out, value)] {
            bytes.extend_from_slice(p.as_bytes());
        }
        Ok(bytes)
    };
    let mut host = HostBuffer::new(4096)?;
    host[..24].copy_from_slice(&packets(3)?);
    let host = dev.map_host(&mut host)?;
    upload(dev, dram.addr(), &packets(1)?)?;
    let sram = hw.sram_base + 0x1000;
    upload(dev, sram, &packets(2)?)?;
    let places = [(dram.addr(), 1u32), (sram, 2), (host.device_addr(), 3)];
    for (queue, (addr, value)) in [Queue::Tpc(5), Queue::Mme(1), Queue::Dma(4)]
        .into_iter()
        .zip(places)
    {
        let job = Job {
            cb_handle: addr,
            queue,
            size: 24,
        };
        run_ok(dev, &[job]).map_err(|e| format!("{queue}, CB at {addr:#x}: {e}"))?;
        let got = download(dev, out, 4)?;
        ensure!(
            got == value.to_le_bytes(),
            "{queue}, CB at {addr:#x}: wrote {got:02x?}"
        );
    }
    let job = Job {
        cb_handle: dram.addr(),
        queue: Queue::Dma0,
        size: 24,
    };
    ensure!(
        dev.submit(&[job]).is_err(),
        "DMA 0 took a device address as CB"
    );
    Ok(())
}

/// `WREG_32`s that program DMA core registers `regs` (offsets and values),
/// then `COMMIT` with `commit`.
fn program_core(regs: &[(u64, u64)], commit: u32) -> R<Vec<Packet>> {
    use hlsim_regs::dma_core::COMMIT;
    let mut packets = Vec::new();
    for &(off, value) in regs {
        packets.push(Packet::wreg32(off as u32, value as u32)?);
    }
    packets.push(Packet::wreg32(COMMIT as u32, commit)?);
    Ok(packets)
}

/// hl-thunk-open's strided DMA through the DMA core's registers: DMA 0
/// copies a host buffer to ten places of another, twice its size apart,
/// and its write completion adds 1 to a SOB that releases a fence on DMA 1;
/// then DMA 3 gathers rows of DRAM into SRAM, and its reach of host memory
/// is a RAZWI (only the PCI DMAs 0 and 1 reach the host).
fn dma_core(dev: &Device, rng: &mut Rng) -> R {
    use hlsim_regs::dma_core::*;
    let (len, n) = (64 << 10, 10u64);
    let mut src = HostBuffer::new(len)?;
    rng.fill(&mut src);
    let want = src.to_vec();
    let mut dst = HostBuffer::new(2 * n as usize * len)?;
    dst.fill(0xff);
    let host_src = dev.map_host(&mut src)?;
    let host_dst = dev.map_host(&mut dst)?;
    let reset = cb_of(dev, &[Packet::msg_short(SOB + 1, 0)?])?;
    run_ok(dev, &[reset.job(Queue::Dma0)])?;
    let sob = hlthunk::sync::sob_addr(SOB + 1)?;
    let len = len as u64;
    let mut regs = vec![
        (SRC_BASE_LO, host_src.device_addr()),
        (SRC_BASE_HI, host_src.device_addr() >> 32),
        (DST_BASE_LO, host_dst.device_addr()),
        (DST_BASE_HI, host_dst.device_addr() >> 32),
        (SRC_TSIZE_0, len),
        (DST_TSIZE_0, len),
        (src_tsize(1), n),
        (src_stride(1), 0),
        (dst_tsize(1), n),
        (dst_stride(1), 2 * len),
        (WR_COMP_ADDR_LO, sob),
        (WR_COMP_ADDR_HI, sob >> 32),
        (WR_COMP_WDATA, u64::from(SOB_ADD | 1)),
    ];
    for d in 2..DIMS {
        regs.extend([(src_tsize(d), 1), (src_stride(d), len)]);
        regs.extend([(dst_tsize(d), 1), (dst_stride(d), len)]);
    }
    let copy = cb_of(dev, &program_core(&regs, COMMIT_WR_COMP_EN)?)?;
    let dram = dev.device_memory(4096)?;
    let mut wait = wait_for_sob(Queue::Dma1, MON, SOB + 1, 1, 0)?.to_vec();
    wait.push(Packet::msg_long(dram.addr(), 0x600d));
    let waiter = cb_of(dev, &wait)?;
    // The waiter first: only the completion write releases it.
    run_ok(dev, &[waiter.job(Queue::Dma1), copy.job(Queue::Dma0)])?;
    let got = download(dev, dram.addr(), 4)?;
    ensure!(
        got == 0x600d_u32.to_le_bytes(),
        "fence not released ({got:02x?})"
    );
    ensure!(!want.is_empty(), "no payload");
    for (i, stride) in host_dst.chunks(2 * len as usize).enumerate() {
        same_bytes(&format!("stride {i}"), &stride[..len as usize], &want)?;
        ensure!(
            stride[len as usize..].iter().all(|&b| b == 0xff),
            "gap after stride {i} written"
        );
    }
    // DMA 3 gathers 16-byte rows, 0x100 apart, from DRAM into SRAM.
    let hw = dev.hw_ip_info()?;
    let rows = dev.device_memory(0x1000)?;
    let mut data = vec![0; 0x1000];
    rng.fill(&mut data);
    upload(dev, rows.addr(), &data)?;
    let sram = hw.sram_base + 0x8000;
    let gather = [
        (SRC_BASE_LO, rows.addr()),
        (SRC_BASE_HI, rows.addr() >> 32),
        (DST_BASE_LO, sram),
        (DST_BASE_HI, sram >> 32),
        (SRC_TSIZE_0, 16),
        (DST_TSIZE_0, 16 * 16),
        (src_tsize(1), 16),
        (src_stride(1), 0x100),
        (dst_tsize(1), 1),
    ];
    run_packets(dev, Queue::Dma(3), &program_core(&gather, 0)?)?;
    let rows_want: Vec<u8> = (0..16)
        .flat_map(|r| data[0x100 * r..0x100 * r + 16].to_vec())
        .collect();
    same_bytes("gathered rows", &download(dev, sram, 256)?, &rows_want)?;
    // DMA 3 is an HBM DMA: host memory is out of its reach.
    let mut to_host = gather.to_vec();
    to_host[2..4].copy_from_slice(&[
        (DST_BASE_LO, host_dst.device_addr()),
        (DST_BASE_HI, host_dst.device_addr() >> 32),
    ]);
    let bytes: Vec<u8> = program_core(&to_host, 0)?
        .iter()
        .flat_map(|p| p.as_bytes().to_vec())
        .collect();
    expect_abort(dev, Queue::Dma(3), &bytes, Cause::BadAddress)?;
    same_bytes("host after DMA 3's RAZWI", &host_dst[..256], &want[..256])?;
    run_ok(dev, &[reset.job(Queue::Dma0)])
}

/// A job reaching outside every region, an internal DMA reaching host
/// memory, or a PCI DMA an unmapped host address, is reported in INFO
/// RAZWI_EVENT with the address and the engine: the first one since the
/// compute node was opened, as mainline keeps it.
fn razwi(env: &Env) -> R {
    let cases = [
        (
            Queue::Dma(6),
            0x4000_0000_0000u64,
            Cause::BadAddress,
            HL_RAZWI_MMU_ACCESS_ERROR,
        ),
        (
            Queue::Tpc(3),
            0x1000_0000,
            Cause::BadAddress,
            HL_RAZWI_MMU_ACCESS_ERROR,
        ),
        (
            Queue::Dma(7),
            HL_HOST_VA_BASE + (301 << 30),
            Cause::BadAddress,
            HL_RAZWI_MMU_ACCESS_ERROR,
        ),
        (
            Queue::Dma1,
            HL_HOST_VA_BASE + (301 << 30),
            Cause::MmuFault,
            HL_RAZWI_PAGE_FAULT,
        ),
    ];
    for (queue, addr, cause, kind) in cases {
        let dev = env.open()?;
        let dram = dev.device_memory(4096)?;
        let packet = if matches!(queue, Queue::Tpc(_)) {
            Packet::msg_long(addr, 1)
        } else {
            Packet::lin_dma(addr, dram.addr(), 8)?
        };
        let before = dev.razwi_event()?;
        ensure!(
            before.timestamp == 0,
            "{queue}: a RAZWI kept from before the open"
        );
        expect_abort(&dev, queue, packet.as_bytes(), cause)?;
        // A second one is counted but not kept.
        expect_abort(&dev, queue, packet.as_bytes(), cause)?;
        let ev = dev.razwi_event()?;
        ensure!(
            ev.timestamp != 0 && ev.addr == addr && u32::from(ev.error_type) == kind,
            "{queue}: RAZWI at {:#x}, type {} (want {addr:#x}, {kind})",
            ev.addr,
            ev.error_type
        );
        ensure!(ev.no_engine_id == 0, "{queue}: no engine id");
    }
    Ok(())
}

pub fn gaudi(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("gaudi: open", Err(e)),
    };
    let mut rng = Rng::new(0x6a0d1);
    t.check(
        "gaudi: DMA 0-7, TPC 0-7 and MME 0-1 each run four jobs of one submission",
        every_queue(&dev),
    );
    t.check(
        "gaudi: host -> DMA 0 -> DMA 2-7 through SRAM, fenced on CP_FENCE -> DMA 1 -> host",
        dma_chain(&dev, &mut rng),
    );
    t.check(
        "gaudi: internal queues run CBs at device addresses (DRAM, SRAM, host)",
        internal_cbs(&dev),
    );
    t.check(
        "gaudi: DMA core registers: a strided copy host -> host with a completion, a gather, RAZWI off the PCI DMAs",
        dma_core(&dev, &mut rng),
    );
    drop(dev);
    t.check(
        "gaudi: RAZWI and page faults in INFO RAZWI_EVENT",
        razwi(env),
    );
}
