// SPDX-License-Identifier: GPL-2.0

//! A job on one queue waiting for a job on another through the sync
//! manager: SOB, monitor, fence counter, FENCE; and through the driver's
//! sync streams: SIGNAL and WAIT submissions, encapsulated signals that a
//! staged submission gives.

use hlthunk::sync::{SOB_ADD, sob_addr, wait_for_sob};
use hlthunk::{CsStatus, Device, HostBuffer, Packet, Queue, Stage, TpcKernel, TpcKernelDesc};

use crate::Env;
use crate::tpc::{from_bytes, to_bytes};
use crate::util::{
    CS_WAIT, R, Rng, Tap, cb_of, download, ensure, run_ok, run_packets, same_bytes, upload,
};

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

/// Waits for each of `seqs` to complete.
fn all_complete(dev: &Device, seqs: &[u64]) -> R {
    for &seq in seqs {
        let status = dev.wait_cs(seq, CS_WAIT)?;
        ensure!(status == CsStatus::Completed, "seq {seq}: {status}");
    }
    Ok(())
}

/// The `u32` at `at` of `bytes`.
fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The packets that hold a job on DMA 0 until [`release`] runs: a monitor
/// on [`SOB`] and a `FENCE` on another counter than the sync streams'.
fn held() -> R<Vec<Packet>> {
    Ok(wait_for_sob(Queue::Dma0, MON, SOB, 1, 1)?.to_vec())
}

/// A job on DMA 2 (neither DMA 0 nor 1, which wait) that lets the [`held`]
/// job go.
fn release(dev: &Device) -> R<hlthunk::CommandBuffer<'_>> {
    let dma2 = Queue::dma(2).ok_or("no DMA 2")?;
    let cb = cb_of(dev, &[Packet::msg_long(sob_addr(SOB)?, SOB_ADD | 1)])?;
    ensure!(!dma2.external(), "DMA 2 is internal");
    Ok(cb)
}

/// DMA 1 copies a word DMA 0 writes, behind a WAIT submission for the
/// SIGNAL submitted after DMA 0's job, which is held until everything is
/// submitted: a copy that did not wait would read 0.
fn stream_waits_for_signal(dev: &Device) -> R {
    reset_sob(dev)?;
    let mut words = HostBuffer::new(4096)?;
    let words = dev.map_host(&mut words)?;
    let at = words.device_addr();
    let mut writer = held()?;
    writer.push(Packet::msg_long(at, 0x5eed));
    let writer = cb_of(dev, &writer)?;
    let copier = cb_of(dev, &[Packet::lin_dma(at, at + 4, 4)?])?;
    let go = release(dev)?;
    let written = dev.submit(&[writer.job(Queue::Dma0)])?;
    let signal = dev.submit_signal(Queue::Dma0, 0)?;
    let wait = dev.submit_wait(Queue::Dma1, 0, signal)?;
    let copied = dev.submit(&[copier.job(Queue::Dma1)])?;
    let dma2 = Queue::dma(2).ok_or("no DMA 2")?;
    let released = dev.submit(&[go.job(dma2)])?;
    all_complete(dev, &[written, signal, wait, copied, released])?;
    let got = [word(&words, 0), word(&words, 4)];
    ensure!(got == [0x5eed; 2], "words {got:x?}: the copy did not wait");
    reset_sob(dev)
}

/// A staged submission gives two encapsulated signals on DMA 0, each after
/// a long copy and a word written, once its last stage lets it go; DMA 1
/// copies each word behind a WAIT for its signal. A copy that did not wait
/// for its own signal reads 0.
fn copies_wait_for_encapsulated_signals(dev: &Device) -> R {
    reset_sob(dev)?;
    let scratch = dev.device_memory(DELAY as u64)?;
    let mut delay = HostBuffer::new(DELAY)?;
    let mut words = HostBuffer::new(4096)?;
    let delay = dev.map_host(&mut delay)?;
    let words = dev.map_host(&mut words)?;
    let at = words.device_addr();
    let signals = dev.reserve_signals(Queue::Dma0, 1, 2)?;
    ensure!(signals.handle_id >= 1, "handle {}", signals.handle_id);
    let slow = Packet::lin_dma(delay.device_addr(), scratch.addr(), DELAY as u32)?;
    let give = Packet::msg_long(signals.sob_addr(), SOB_ADD | 1);
    let mut first = held()?;
    first.extend([
        Packet::msg_long(at, 0x1111),
        give,
        slow,
        Packet::msg_long(at + 8, 0x2222),
        give,
    ]);
    let first = cb_of(dev, &first)?;
    let go = release(dev)?;
    let dma2 = Queue::dma(2).ok_or("no DMA 2")?;
    let copy1 = cb_of(dev, &[Packet::lin_dma(at, at + 4, 4)?])?;
    let copy2 = cb_of(dev, &[Packet::lin_dma(at + 8, at + 12, 4)?])?;
    let last = cb_of(dev, &[Packet::nop()])?;
    let stage = Stage::First {
        last: false,
        signals: Some(signals),
    };
    let staged = dev.submit_stage(&[first.job(Queue::Dma0)], stage)?;
    let wait1 = dev.submit_wait_signals(Queue::Dma1, 0, staged, 1)?;
    let copied1 = dev.submit(&[copy1.job(Queue::Dma1)])?;
    let wait2 = dev.submit_wait_signals(Queue::Dma1, 0, staged, 2)?;
    let copied2 = dev.submit(&[copy2.job(Queue::Dma1)])?;
    let stage = Stage::Next {
        seq: staged,
        last: true,
    };
    let same = dev.submit_stage(&[go.job(dma2), last.job(Queue::Dma0)], stage)?;
    ensure!(
        same == staged,
        "the last stage answered {same}, not {staged}"
    );
    all_complete(dev, &[staged, wait1, copied1, wait2, copied2])?;
    let got: Vec<u32> = (0..4).map(|i| word(&words, 4 * i)).collect();
    ensure!(
        got == [0x1111, 0x1111, 0x2222, 0x2222],
        "words {got:x?}: a copy did not wait for its signal"
    );
    // The handle went with the staged submission.
    ensure!(
        dev.unreserve_signals(signals).is_err(),
        "UNRESERVE of the handle of a completed staged submission"
    );
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
    t.check(
        "fence: a WAIT submission holds DMA 1 until DMA 0's SIGNAL",
        stream_waits_for_signal(&dev),
    );
    t.check(
        "fence: WAITs hold DMA 1 until each encapsulated signal of a staged submission",
        copies_wait_for_encapsulated_signals(&dev),
    );
}
