// SPDX-License-Identifier: GPL-2.0

//! A job on one queue waiting for a job on another through the sync
//! manager: SOB, monitor, fence counter, FENCE.

use hlthunk::sync::{SOB_ADD, wait_for_sob};
use hlthunk::{Device, HostBuffer, Packet, Queue, TpcKernel, TpcKernelDesc};

use crate::Env;
use crate::tpc::{from_bytes, to_bytes};
use crate::util::{R, Rng, Tap, cb_of, download, ensure, run_ok, run_packets, same_bytes, upload};

const SOB: u32 = 200;
const MON: u32 = 20;
const COUNTER: u32 = 2;

/// Bytes DMA copies first, so that the waiting job would run ahead if it
/// did not wait.
const DELAY: usize = 16 << 20;

fn reset_sob(dev: &Device) -> R {
    run_packets(dev, Queue::Dma0, &[Packet::msg_short(SOB, 0)?])
}

/// In one submission, TPC 0 scales an array by 2 once DMA 0 has replaced
/// it with new data and incremented the SOB. The descriptor and the old
/// data are in place before: a TPC job that did not wait would compute
/// on the old data.
fn tpc_waits_for_dma(dev: &Device, rng: &mut Rng) -> R {
    let count = 1 << 16;
    let bytes = 4 * count;
    let (a_at, out_at) = (64, 64 + bytes);
    let dram = dev.device_memory((64 + 2 * bytes) as u64)?;
    let scratch = dev.device_memory(DELAY as u64)?;
    let old: Vec<f32> = (0..count).map(|i| i as f32).collect();
    let new: Vec<f32> = (0..count)
        .map(|_| (rng.next_u64() % 1_000_000) as f32 - 5e5)
        .collect();
    let desc = TpcKernelDesc {
        kernel: TpcKernel::Scale,
        count: count as u32,
        a: dram.addr() + a_at as u64,
        b: 0,
        out: dram.addr() + out_at as u64,
        scalar: 2.0,
    };
    let mut image = vec![0; 64 + 2 * bytes];
    image[..TpcKernelDesc::SIZE].copy_from_slice(&desc.to_bytes()?);
    image[a_at..out_at].copy_from_slice(&to_bytes(&old));
    upload(dev, dram.addr(), &image)?;
    reset_sob(dev)?;

    let mut delay = HostBuffer::new(DELAY)?;
    let mut data = HostBuffer::new(bytes)?;
    data.copy_from_slice(&to_bytes(&new));
    let delay = dev.map_host(&mut delay)?;
    let data = dev.map_host(&mut data)?;
    let mut waiter = wait_for_sob(Queue::Tpc0, MON, SOB, 1, COUNTER)?.to_vec();
    waiter.push(Packet::load_and_exe(dram.addr()));
    let waiter = cb_of(dev, &waiter)?;
    let signaller = cb_of(
        dev,
        &[
            Packet::lin_dma(delay.device_addr(), scratch.addr(), DELAY as u32)?,
            Packet::lin_dma(data.device_addr(), desc.a, bytes as u32)?,
            Packet::msg_short(SOB, SOB_ADD | 1)?,
        ],
    )?;
    run_ok(dev, &[waiter.job(Queue::Tpc0), signaller.job(Queue::Dma0)])?;

    let got = from_bytes(&download(dev, desc.out, bytes)?);
    let want: Vec<f32> = new.iter().map(|x| x * 2.0).collect();
    if got != want {
        let stale = got == old.iter().map(|x| x * 2.0).collect::<Vec<_>>();
        ensure!(!stale, "TPC computed on the old data: it did not wait");
        return Err("TPC output is neither the old nor the new data, doubled".into());
    }
    reset_sob(dev)
}

/// DMA 1 copies to the host what DMA 0 writes to device memory, once DMA 0
/// has signalled.
fn dma_waits_for_dma(dev: &Device, rng: &mut Rng) -> R {
    let len = 1 << 20;
    let dram = dev.device_memory(len as u64)?;
    let scratch = dev.device_memory(DELAY as u64)?;
    let mut src = HostBuffer::new(len)?;
    let mut dst = HostBuffer::new(len)?;
    let mut delay = HostBuffer::new(DELAY)?;
    rng.fill(&mut src);
    reset_sob(dev)?;
    run_packets(
        dev,
        Queue::Dma0,
        &[Packet::memset(dram.addr(), 0, len as u32)?],
    )?;
    let src = dev.map_host(&mut src)?;
    let dst = dev.map_host(&mut dst)?;
    let delay = dev.map_host(&mut delay)?;
    let mut waiter = wait_for_sob(Queue::Dma1, MON, SOB, 1, COUNTER)?.to_vec();
    waiter.push(Packet::lin_dma(dram.addr(), dst.device_addr(), len as u32)?);
    let waiter = cb_of(dev, &waiter)?;
    let signaller = cb_of(
        dev,
        &[
            Packet::lin_dma(delay.device_addr(), scratch.addr(), DELAY as u32)?,
            Packet::lin_dma(src.device_addr(), dram.addr(), len as u32)?,
            Packet::msg_short(SOB, SOB_ADD | 1)?,
        ],
    )?;
    run_ok(dev, &[signaller.job(Queue::Dma0), waiter.job(Queue::Dma1)])?;
    same_bytes("host copy", &dst, &src)?;
    reset_sob(dev)
}

/// A monitor armed on a SOB already at its target fires at once.
fn already_signalled(dev: &Device) -> R {
    run_packets(dev, Queue::Dma0, &[Packet::msg_short(SOB, 1)?])?;
    let mut packets = wait_for_sob(Queue::Tpc1, MON, SOB, 1, COUNTER)?.to_vec();
    packets.push(Packet::nop());
    run_packets(dev, Queue::Tpc1, &packets)?;
    reset_sob(dev)
}

pub fn fence(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("fence: open", Err(e)),
    };
    let mut rng = Rng::new(0xfe7ce);
    t.check(
        "fence: a TPC job waits for the DMA job that writes its input",
        tpc_waits_for_dma(&dev, &mut rng),
    );
    t.check(
        "fence: a DMA job waits for the DMA job on the other queue",
        dma_waits_for_dma(&dev, &mut rng),
    );
    t.check(
        "fence: a monitor armed on a SOB at its target fires at once",
        already_signalled(&dev),
    );
}
