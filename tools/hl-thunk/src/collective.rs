// SPDX-License-Identifier: GPL-2.0

//! An all-reduce over RDMA: the element-wise sum of two fp32 vectors, one
//! in each device at the ends of a link, left in both.
//!
//! Each device runs one submission of two jobs. On its NIC queue: post a
//! receive buffer for the other's note (`NIC_RECV`, which increments
//! [`SOB`] when the note arrives), write its vector into the other's
//! device memory (`NIC_WRITE`), then send the note (`NIC_SEND`). The NIC
//! queue runs one operation at a time, so the note arrives after the data.
//! On TPC 0: wait for [`SOB`] (monitor [`MON`], fence counter
//! [`FENCE_COUNTER`]), run the TPC `ADD` kernel, `out[i] = mine[i] +
//! theirs[i]`, and set [`SOB`] back to 0.
//!
//! The connections use port `p` of both devices, with the IPv4 addresses
//! 198.18.`p`.1 and 198.18.`p`.2 (for the RoCE headers of real hardware).

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::device::{CommandBuffer, CsStatus, Device, Queue};
use crate::error::{Error, Result};
use crate::mem::DeviceMemory;
use crate::nic::{Connection, Cq, CqeStatus, Peer};
use crate::packets::{NicOp, Packet};
use crate::sync::wait_for_sob;
use crate::tpc::{TpcKernel, TpcKernelDesc};

/// The SOB the note's arrival increments, on each device.
pub const SOB: u32 = 1023;
/// The monitor TPC 0's job arms, on each device.
pub const MON: u32 = 255;
/// The fence counter of TPC 0 that monitor adds to.
pub const FENCE_COUNTER: u32 = 3;
/// Entries of each device's CQ: a run completes three operations.
const CQ_ENTRIES: u32 = 8;
/// Receive buffers a connection may have posted.
const WQ_ENTRIES: u32 = 2;
const NOTE_LEN: u32 = 4;

/// Where things are in each device's block of device memory, from its
/// start: the kernel descriptor at 0, the note sent at `NOTE`, the note
/// received at `NOTE_IN`, then three 4 KiB-aligned vectors: this device's
/// input, the other's (the window the other writes) and the output.
#[derive(Clone, Copy)]
struct Layout {
    /// Bytes of a vector.
    bytes: u64,
    /// Bytes between vectors.
    stride: u64,
}

impl Layout {
    const NOTE: u64 = 64;
    const NOTE_IN: u64 = 128;
    const INPUT: u64 = 4096;

    fn new(count: u32) -> Self {
        let bytes = 4 * u64::from(count);
        Self {
            bytes,
            stride: bytes.next_multiple_of(4096),
        }
    }

    fn theirs(self) -> u64 {
        Self::INPUT + self.stride
    }

    fn output(self) -> u64 {
        Self::INPUT + 2 * self.stride
    }

    fn size(self) -> u64 {
        Self::INPUT + 3 * self.stride
    }
}

/// One device's part.
struct End<'d> {
    dev: &'d Device,
    // Fields drop in order: the jobs, then the connection (whose window is
    // in `mem`), then the CQ and the memory.
    tpc: CommandBuffer<'d>,
    nic: CommandBuffer<'d>,
    conn: Connection<'d>,
    cq: Cq<'d>,
    mem: DeviceMemory<'d>,
}

impl<'d> End<'d> {
    /// Sets up `conn` of port `port` to reach `peer` and to take its
    /// writes into `mem`, writes the kernel descriptor and resets the SOB,
    /// and builds the jobs; the other device's copy of our vector goes to
    /// `dst`.
    fn new(
        dev: &'d Device,
        port: u32,
        l: Layout,
        (mem, conn): (DeviceMemory<'d>, Connection<'d>),
        peer: &Peer,
        dst: u64,
    ) -> Result<Self> {
        let base = mem.addr();
        conn.set_user_wq(WQ_ENTRIES)?;
        conn.set_responder(peer, base + l.theirs(), l.stride)?;
        conn.set_requester(peer)?;
        let cq = dev.completion_queue(port, CQ_ENTRIES)?;

        let desc = TpcKernelDesc {
            kernel: TpcKernel::Add,
            count: (l.bytes / 4) as u32,
            a: base + Layout::INPUT,
            b: base + l.theirs(),
            out: base + l.output(),
            scalar: 0.0,
        };
        let mut setup = desc.msg_long_packets(base)?.to_vec();
        setup.push(Packet::msg_short(SOB, 0)?);
        let setup = dev.command_buffer_of(&setup)?;
        let seq = dev.submit(&[setup.job(Queue::Tpc0)])?;
        match dev.wait_cs(seq, Duration::from_secs(30))? {
            CsStatus::Completed => {}
            s => return Err(Error::new(libc::EIO, format!("all-reduce set-up: {s}"))),
        }

        let mut add = wait_for_sob(Queue::Tpc0, MON, SOB, 1, FENCE_COUNTER)?.to_vec();
        add.push(Packet::load_and_exe(base));
        add.push(Packet::msg_short(SOB, 0)?);
        let op = NicOp::new(conn.id(), cq.id());
        let recv = NicOp {
            sob: Some(SOB),
            ..op
        };
        let nic = [
            Packet::nic_recv(&recv, base + Layout::NOTE_IN, NOTE_LEN)?,
            Packet::nic_write(&op, desc.a, dst, l.bytes as u32)?,
            Packet::nic_send(&op, base + Layout::NOTE, NOTE_LEN)?,
        ];
        Ok(Self {
            dev,
            tpc: dev.command_buffer_of(&add)?,
            nic: dev.command_buffer_of(&nic)?,
            conn,
            cq,
            mem,
        })
    }
}

/// An all-reduce of fp32 elements between two devices, set up once and
/// run any number of times: write the inputs at [`AllReduce::input`],
/// [`AllReduce::run`], read the sums at [`AllReduce::output`].
pub struct AllReduce<'d> {
    port: u32,
    layout: Layout,
    ends: [End<'d>; 2],
}

impl<'d> AllReduce<'d> {
    /// Sets up an all-reduce of `count` elements (1 to
    /// [`TpcKernelDesc::MAX_COUNT`]) between `devs` over port `port`.
    pub fn new(devs: [&'d Device; 2], port: u32, count: u32) -> Result<Self> {
        if !(1..=TpcKernelDesc::MAX_COUNT).contains(&count) {
            return Err(Error::invalid(format!(
                "all-reduce: {count} elements, not 1 to {}",
                TpcKernelDesc::MAX_COUNT
            )));
        }
        let l = Layout::new(count);
        let [m0, m1] = [
            devs[0].device_memory(l.size())?,
            devs[1].device_memory(l.size())?,
        ];
        let [c0, c1] = [devs[0].connection(port)?, devs[1].connection(port)?];
        let ip = |d: u8| Ipv4Addr::new(198, 18, port as u8, d + 1);
        let p0 = Peer::of(devs[0], port, c0.id(), ip(0))?;
        let p1 = Peer::of(devs[1], port, c1.id(), ip(1))?;
        let (dst0, dst1) = (m1.addr() + l.theirs(), m0.addr() + l.theirs());
        let ends = [
            End::new(devs[0], port, l, (m0, c0), &p1, dst0)?,
            End::new(devs[1], port, l, (m1, c1), &p0, dst1)?,
        ];
        Ok(Self {
            port,
            layout: l,
            ends,
        })
    }

    /// Where device `d`'s input vector is (`d` 0 or 1, in `new`'s order).
    pub fn input(&self, d: usize) -> u64 {
        self.ends[d].mem.addr() + Layout::INPUT
    }

    /// Where device `d`'s sums go.
    pub fn output(&self, d: usize) -> u64 {
        self.ends[d].mem.addr() + self.layout.output()
    }

    /// Runs the all-reduce once: both submissions, then their six
    /// completions, each of which must have succeeded (`EIO` if not).
    /// `timeout` bounds each submission and each wait.
    pub fn run(&mut self, timeout: Duration) -> Result<()> {
        let queue = Queue::Nic(self.port);
        let mut seqs = [0; 2];
        for (seq, e) in seqs.iter_mut().zip(&self.ends) {
            *seq = e
                .dev
                .submit_timeout(&[e.tpc.job(Queue::Tpc0), e.nic.job(queue)], timeout)?;
        }
        for (d, (seq, e)) in seqs.into_iter().zip(&mut self.ends).enumerate() {
            let status = e.dev.wait_cs(seq, timeout + Duration::from_secs(5))?;
            if status != CsStatus::Completed {
                return Err(Error::new(
                    libc::EIO,
                    format!("all-reduce on device {d}: {status}"),
                ));
            }
            for _ in 0..3 {
                let cqe = e.cq.next(timeout)?;
                if cqe.status != CqeStatus::Ok || cqe.conn != e.conn.id() {
                    return Err(Error::new(
                        libc::EIO,
                        format!("all-reduce on device {d}: {cqe}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn layout() {
        let l = Layout::new(1025);
        assert_eq!((l.bytes, l.stride), (4100, 8192));
        assert_eq!(
            (l.theirs(), l.output(), l.size()),
            (4096 + 8192, 4096 + 16384, 4096 + 24576)
        );
        assert!(Layout::NOTE + u64::from(NOTE_LEN) <= Layout::NOTE_IN);
        assert!(Layout::NOTE_IN + u64::from(NOTE_LEN) <= Layout::INPUT);
        assert!(TpcKernelDesc::SIZE as u64 <= Layout::NOTE);
    }

    /// The count is checked before any ioctl, so /dev/null will do.
    #[test]
    fn count_range() {
        let dev = Device::open_path(Path::new("/dev/null")).unwrap();
        for bad in [0, TpcKernelDesc::MAX_COUNT + 1] {
            let e = AllReduce::new([&dev, &dev], 0, bad).err().unwrap();
            assert_eq!(e.errno(), libc::EINVAL);
        }
        let e = AllReduce::new([&dev, &dev], 0, 1).err().unwrap();
        assert_eq!(e.errno(), libc::ENOTTY);
    }
}
