// SPDX-License-Identifier: GPL-2.0

//! LIN_DMA between host and device memory, memset, and the packets that
//! only move control: NOP, ARB_POINT, STOP, REPEAT, MSG_*, WREG_32.

use hlthunk::sync::{SOB_ADD, arm_monitor, arm_value, fence_addr, sob_addr, sob_offset};
use hlthunk::{Device, HostBuffer, Packet, Queue};

use crate::Env;
use crate::util::{
    R, Rng, Tap, all_bytes, download, ensure, run_ok, run_packets, same_bytes, upload,
};

/// What surrounds a transfer, to catch bytes written past it.
const GUARD: usize = 64;
const HOST_FILL: u8 = 0xa5;
const DRAM_FILL: u8 = 0x5a;

/// One transfer: `size` bytes from host buffer offset `src`, to device
/// memory offset `dram`, back to host buffer offset `dst`.
struct Copy {
    size: usize,
    src: usize,
    dram: usize,
    dst: usize,
}

/// One job: fills the device memory around the transfer, copies the host
/// bytes in and back out, and copies the whole device range out too.
fn round_trip(dev: &Device, rng: &mut Rng, queue: Queue, c: &Copy) -> R {
    let total = c.dram + c.size + GUARD;
    let mut src = HostBuffer::new(c.src + c.size)?;
    let mut dst = HostBuffer::new(c.dst + c.size + GUARD)?;
    let mut image = HostBuffer::new(total)?;
    rng.fill(&mut src);
    dst.fill(HOST_FILL);
    image.fill(HOST_FILL);
    let dram = dev.device_memory(total as u64)?;
    let src = dev.map_host(&mut src)?;
    let dst = dev.map_host(&mut dst)?;
    let image = dev.map_host(&mut image)?;
    let (dram_at, size) = (dram.addr() + c.dram as u64, c.size as u32);
    run_packets(
        dev,
        queue,
        &[
            Packet::memset(dram.addr(), DRAM_FILL, total as u32)?,
            Packet::lin_dma(src.device_addr() + c.src as u64, dram_at, size)?,
            Packet::lin_dma(dram_at, dst.device_addr() + c.dst as u64, size)?,
            Packet::lin_dma(dram.addr(), image.device_addr(), total as u32)?,
        ],
    )?;
    let data = &src[c.src..];
    same_bytes("host copy", &dst[c.dst..c.dst + c.size], data)?;
    all_bytes("host bytes before the copy", &dst[..c.dst], HOST_FILL)?;
    all_bytes(
        "host bytes after the copy",
        &dst[c.dst + c.size..],
        HOST_FILL,
    )?;
    same_bytes("device copy", &image[c.dram..c.dram + c.size], data)?;
    all_bytes("device bytes before the copy", &image[..c.dram], DRAM_FILL)?;
    all_bytes(
        "device bytes after the copy",
        &image[c.dram + c.size..],
        DRAM_FILL,
    )
}

/// Fills `size` bytes at offset `at` of host memory.
fn memset_host(dev: &Device, queue: Queue, size: usize, at: usize, value: u8) -> R {
    let mut buf = HostBuffer::new(at + size + GUARD)?;
    buf.fill(HOST_FILL);
    let buf = dev.map_host(&mut buf)?;
    let addr = buf.device_addr() + at as u64;
    run_packets(dev, queue, &[Packet::memset(addr, value, size as u32)?])?;
    all_bytes("filled bytes", &buf[at..at + size], value)?;
    all_bytes("bytes before", &buf[..at], HOST_FILL)?;
    all_bytes("bytes after", &buf[at + size..], HOST_FILL)
}

/// Fills `size` bytes at offset `at` of device memory cleared before.
fn memset_dram(dev: &Device, queue: Queue, size: usize, at: usize, value: u8) -> R {
    let total = at + size + GUARD;
    let dram = dev.device_memory(total as u64)?;
    run_packets(
        dev,
        queue,
        &[
            Packet::memset(dram.addr(), 0, total as u32)?,
            Packet::memset(dram.addr() + at as u64, value, size as u32)?,
        ],
    )?;
    let image = download(dev, dram.addr(), total)?;
    all_bytes("filled bytes", &image[at..at + size], value)?;
    all_bytes("bytes before", &image[..at], 0)?;
    all_bytes("bytes after", &image[at + size..], 0)
}

/// Copies within device memory with `dst - src = shift`, overlapping:
/// LIN_DMA moves as memmove does.
fn memmove(dev: &Device, rng: &mut Rng, len: usize, shift: isize) -> R {
    let dram = dev.device_memory(len as u64)?;
    let mut data = vec![0; len];
    rng.fill(&mut data);
    upload(dev, dram.addr(), &data)?;
    let n = len - shift.unsigned_abs();
    let (from, to) = if shift > 0 {
        (0, shift as usize)
    } else {
        (-shift as usize, 0)
    };
    run_packets(
        dev,
        Queue::Dma1,
        &[Packet::lin_dma(
            dram.addr() + from as u64,
            dram.addr() + to as u64,
            n as u32,
        )?],
    )?;
    let mut want = data.clone();
    want.copy_within(from..from + n, to);
    same_bytes("device memory", &download(dev, dram.addr(), len)?, &want)
}

/// Host to DRAM to GAUDI's SRAM (where INFO HW_IP says the user's part of
/// it is, at both ends) and back to DRAM and the host.
fn sram_round_trip(dev: &Device, rng: &mut Rng, queue: Queue) -> R {
    let hw = dev.hw_ip_info()?;
    ensure!(
        (hw.sram_base, hw.sram_size) == (0x7f_f000_0080, 0x140_0000 - 0x80),
        "SRAM at {:#x}, {} bytes: not GAUDI's user SRAM",
        hw.sram_base,
        hw.sram_size
    );
    let len = 64 << 10;
    let dram = dev.device_memory(2 * len as u64)?;
    let (a, b) = (dram.addr(), dram.addr() + len as u64);
    for sram in [
        hw.sram_base,
        hw.sram_base + u64::from(hw.sram_size) - len as u64,
    ] {
        let mut data = vec![0; len];
        rng.fill(&mut data);
        upload(dev, a, &data)?;
        run_packets(
            dev,
            queue,
            &[
                Packet::lin_dma(a, sram, len as u32)?,
                Packet::memset(b, 0, len as u32)?,
                Packet::lin_dma(sram, b, len as u32)?,
            ],
        )?;
        same_bytes("DRAM after SRAM", &download(dev, b, len)?, &data)?;
    }
    Ok(())
}

pub fn dma(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("dma: open", Err(e)),
    };
    let mut rng = Rng::new(0x5eed_dead);
    let copies = [
        (1, 0, 0, 0),
        (3, 1, 5, 7),
        (8, 0, 0, 0),
        (4095, 3, 1, 2),
        (4096, 0, 0, 0),
        (4097, 0, 0, 0),
        (4097, 4095, 3, 4093),
        (65537, 1, 7, 4093),
        (3 * 65536 + 5, 4093, 4097, 2),
        ((1 << 20) + 7, 5, 11, 3),
        ((16 << 20) + 3, 4097, 1, 4095),
        (64 << 20, 0, 0, 0),
    ];
    for (i, (size, src, dram, dst)) in copies.into_iter().enumerate() {
        let queue = if i % 2 == 0 { Queue::Dma0 } else { Queue::Dma1 };
        t.check(
            format!("dma: {size} bytes host+{src} -> device+{dram} -> host+{dst} on {queue}"),
            round_trip(
                &dev,
                &mut rng,
                queue,
                &Copy {
                    size,
                    src,
                    dram,
                    dst,
                },
            ),
        );
    }
    for (size, at, queue) in [
        (1, 0, Queue::Dma0),
        (4097, 3, Queue::Dma1),
        ((1 << 20) + 3, 4095, Queue::Dma0),
    ] {
        t.check(
            format!("dma: memset of {size} bytes at host+{at} on {queue}"),
            memset_host(&dev, queue, size, at, 0xc3),
        );
        t.check(
            format!("dma: memset of {size} bytes at device+{at} on {queue}"),
            memset_dram(&dev, queue, size, at, 0x3c),
        );
    }
    for queue in (0..8).filter_map(Queue::dma) {
        t.check(
            format!("dma: host -> DRAM -> SRAM -> DRAM -> host on {queue}"),
            sram_round_trip(&dev, &mut rng, queue),
        );
    }
    for shift in [3, -5, 4096] {
        t.check(
            format!("dma: overlapping copy within device memory, shift {shift}"),
            memmove(&dev, &mut rng, 10000, shift),
        );
    }
}

/// Every queue runs NOP and ARB_POINT, with or without barrier bits, and
/// stops at STOP: the bad opcode after it is never reached.
fn control_packets(dev: &Device) -> R {
    for queue in Queue::every() {
        run_packets(
            dev,
            queue,
            &[
                Packet::nop(),
                Packet::arb_point(),
                Packet::nop()
                    .engine_barrier()
                    .register_barrier()
                    .message_barrier(),
                Packet::stop(),
            ],
        )
        .map_err(|e| format!("{queue}: {e}"))?;
        let mut cb = dev.command_buffer(24)?;
        cb.push(&Packet::nop())?;
        cb.push(&Packet::stop())?;
        cb.push_bytes(&[0, 0, 0, 0, 0, 0, 0, 0x1f])?;
        run_ok(dev, &[cb.job(queue)])
            .map_err(|e| format!("{queue}, STOP then a bad opcode: {e}"))?;
    }
    Ok(())
}

/// MSG_LONG from a DMA and a TPC queue writes 32 bits where it says.
fn msg_long(dev: &Device) -> R {
    let dram = dev.device_memory(4096)?;
    run_packets(dev, Queue::Dma0, &[Packet::memset(dram.addr(), 0, 32)?])?;
    run_packets(
        dev,
        Queue::Dma1,
        &[Packet::msg_long(dram.addr() + 8, 0xdead_beef)],
    )?;
    run_packets(
        dev,
        Queue::Tpc1,
        &[Packet::msg_long(dram.addr() + 20, 0x0102_0304)],
    )?;
    let got = download(dev, dram.addr(), 32)?;
    let mut want = [0; 32];
    want[8..12].copy_from_slice(&0xdead_beef_u32.to_le_bytes());
    want[20..24].copy_from_slice(&0x0102_0304_u32.to_le_bytes());
    same_bytes("device memory", &got, &want)
}

/// At 1024 or above: a DMA QMAN's `WREG_32` below 0x1000 reaches its
/// DMA core, not SOBs 0-1023.
const SOB: u32 = 1100;
const MON_AT: u32 = 30;
const MON_PAST: u32 = 31;

/// Sets a SOB with WREG_32, adds with MSG_LONG and with MSG_SHORT in a
/// REPEAT block, and reads it back through two monitors: the one whose
/// target is reached writes its payload (at once: it is armed after the
/// SOB got there), the one just past it only after one more increment.
fn sob_repeat_monitor(dev: &Device) -> R {
    let dram = dev.device_memory(4096)?;
    let (at, past) = (dram.addr(), dram.addr() + 4);
    let mut packets = vec![
        Packet::memset(dram.addr(), 0, 8)?,
        Packet::wreg32(sob_offset(SOB)?, 2)?,
        Packet::msg_long(sob_addr(SOB)?, SOB_ADD | 1),
        Packet::repeat_start(10)?,
        Packet::msg_short(SOB, SOB_ADD | 1)?,
        Packet::repeat_end(),
    ];
    packets.extend(arm_monitor(MON_AT, SOB, 13, at, 0x600d)?);
    packets.extend(arm_monitor(MON_PAST, SOB, 14, past, 0xbad0)?);
    run_packets(dev, Queue::Dma0, &packets)?;
    let got = download(dev, dram.addr(), 8)?;
    let word = |i: usize| u32::from_le_bytes(got[4 * i..4 * i + 4].try_into().unwrap());
    ensure!(
        (word(0), word(1)) == (0x600d, 0),
        "SOB should be 13: payloads {:#x}, {:#x}",
        word(0),
        word(1)
    );
    run_packets(dev, Queue::Dma1, &[Packet::msg_short(SOB, SOB_ADD | 1)?])?;
    let got = download(dev, dram.addr(), 8)?;
    let word = |i: usize| u32::from_le_bytes(got[4 * i..4 * i + 4].try_into().unwrap());
    ensure!(
        word(1) == 0xbad0,
        "SOB should be 14: payload {:#x}",
        word(1)
    );
    run_packets(dev, Queue::Dma0, &[Packet::msg_short(SOB, 0)?])
}

/// GAUDI's WREG_BULK, CP_DMA, WAIT and a monitor armed by MSG_SHORT
/// through message base 0, on each queue.
fn gaudi_packets(dev: &Device) -> R {
    let dram = dev.device_memory(4096)?;
    for (i, queue) in Queue::every().enumerate() {
        // SOBs from 1024: WREG_BULK below 0x1000 reaches a DMA core.
        let (sob, mon) = (1200 + 8 * i as u32, 40 + i as u32);
        // Packets run by CP_DMA from device memory: SOB `sob + 4` += 5.
        let inner = Packet::msg_short(sob + 4, SOB_ADD | 5)?;
        upload(dev, dram.addr(), inner.as_bytes())?;
        let [lo, hi, data, _] = arm_monitor(mon, sob + 4, 5, fence_addr(queue, 2)?, 1)?;
        // A monitor on the last register WREG_BULK writes reports it.
        let seen = dram.addr() + 64 + 4 * i as u64;
        let [a, b, c, d] = arm_monitor(mon + 100, sob + 3, 4, seen, 0x600d)?;
        run_packets(
            dev,
            queue,
            &[
                Packet::wreg_bulk(sob_offset(sob)?, &[2 << 32 | 1, 4 << 32 | 3])?,
                a,
                b,
                c,
                d,
                Packet::cp_dma(dram.addr(), 8)?,
                lo,
                hi,
                data,
                // MON_ARM[mon] from base 0, MON_PAY_ADDRL[0].
                Packet::msg_short_at(0, (0x1800 + 4 * mon) as u16, arm_value(sob + 4, 5)),
                Packet::fence(2, 1, 1)?,
                Packet::wait(1500, 3, 1)?,
                Packet::fence(1, 3, 3)?,
            ],
        )
        .map_err(|e| format!("{queue}: {e}"))?;
        let got = download(dev, seen, 4)?;
        ensure!(
            got == 0x600d_u32.to_le_bytes(),
            "{queue}: WREG_BULK's SOB not seen ({got:02x?})"
        );
        // Back to 0 for the next run.
        let zero: Vec<Packet> = (sob..sob + 5)
            .map(|s| Packet::msg_short(s, 0))
            .collect::<hlthunk::Result<_>>()?;
        run_packets(dev, queue, &zero)?;
    }
    Ok(())
}

pub fn packets(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("packets: open", Err(e)),
    };
    t.check(
        "packets: NOP, ARB_POINT, barriers and STOP on every queue",
        control_packets(&dev),
    );
    t.check("packets: MSG_LONG writes device memory", msg_long(&dev));
    t.check(
        "packets: WREG_32, MSG_LONG, MSG_SHORT, REPEAT on a SOB; monitors fire at their target",
        sob_repeat_monitor(&dev),
    );
    t.check(
        "packets: WREG_BULK, CP_DMA, WAIT and a MSG_SHORT monitor arm on every queue",
        gaudi_packets(&dev),
    );
}
