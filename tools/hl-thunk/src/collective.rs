// SPDX-License-Identifier: GPL-2.0

//! An all-reduce over RDMA: the element-wise sum of two fp32 vectors, one
//! in each device at the ends of a link, left in both; and of 2^k vectors
//! on 2^k devices, by recursive doubling: k such steps, over k ports.
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
//!
//! Among 2^k devices ([`AllReduce::recursive_doubling`]) it takes k such
//! steps: at step `s`, devices `d` and `d + 2^s` (bit `s` of `d` clear)
//! sum, over port `ports[s]`, what the previous step left in them, which
//! their `NIC_WRITE`s read in place.

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
/// received at `NOTE_IN`, then 4 KiB-aligned vectors: the other device's
/// (the window it writes), the output and, unless the input is elsewhere,
/// this device's input.
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
    const THEIRS: u64 = 4096;

    fn new(count: u32) -> Self {
        let bytes = 4 * u64::from(count);
        Self {
            bytes,
            stride: bytes.next_multiple_of(4096),
        }
    }

    fn output(self) -> u64 {
        Self::THEIRS + self.stride
    }

    fn input(self) -> u64 {
        Self::THEIRS + 2 * self.stride
    }

    /// The block's size, with room for the input if `own_input`.
    fn size(self, own_input: bool) -> u64 {
        Self::THEIRS + (2 + u64::from(own_input)) * self.stride
    }
}

/// One device's part.
struct End<'d> {
    dev: &'d Device,
    /// The device address of its input.
    input: u64,
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
    /// and builds the jobs; our vector, at `input`, goes to `dst` in the
    /// other device.
    fn new(
        dev: &'d Device,
        port: u32,
        l: Layout,
        (mem, conn): (DeviceMemory<'d>, Connection<'d>),
        (input, dst): (u64, u64),
        peer: &Peer,
    ) -> Result<Self> {
        let base = mem.addr();
        conn.set_user_wq(WQ_ENTRIES)?;
        conn.set_responder(peer, base + Layout::THEIRS, l.stride)?;
        conn.set_requester(peer)?;
        let cq = dev.completion_queue(port, CQ_ENTRIES)?;

        let desc = TpcKernelDesc {
            kernel: TpcKernel::Add,
            count: (l.bytes / 4) as u32,
            a: input,
            b: base + Layout::THEIRS,
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
            Packet::nic_write(&op, input, dst, l.bytes as u32)?,
            Packet::nic_send(&op, base + Layout::NOTE, NOTE_LEN)?,
        ];
        Ok(Self {
            dev,
            input,
            tpc: dev.command_buffer_of(&add)?,
            nic: dev.command_buffer_of(&nic)?,
            conn,
            cq,
            mem,
        })
    }
}

/// A two-device all-reduce: one step of an [`AllReduce`].
struct Pair<'d> {
    port: u32,
    layout: Layout,
    ends: [End<'d>; 2],
}

impl<'d> Pair<'d> {
    /// Sets up the sum of `count` elements (1 to
    /// [`TpcKernelDesc::MAX_COUNT`]) between `devs` over port `port`, of
    /// the inputs at the device addresses `inputs` if given, in memory that
    /// outlives it, else in memory of its own.
    fn new(devs: [&'d Device; 2], port: u32, count: u32, inputs: Option<[u64; 2]>) -> Result<Self> {
        if !(1..=TpcKernelDesc::MAX_COUNT).contains(&count) {
            return Err(Error::invalid(format!(
                "all-reduce: {count} elements, not 1 to {}",
                TpcKernelDesc::MAX_COUNT
            )));
        }
        let l = Layout::new(count);
        let size = l.size(inputs.is_none());
        let [m0, m1] = [devs[0].device_memory(size)?, devs[1].device_memory(size)?];
        let [in0, in1] = inputs.unwrap_or([m0.addr() + l.input(), m1.addr() + l.input()]);
        let [c0, c1] = [devs[0].connection(port)?, devs[1].connection(port)?];
        let ip = |d: u8| Ipv4Addr::new(198, 18, port as u8, d + 1);
        let p0 = Peer::of(devs[0], port, c0.id(), ip(0))?;
        let p1 = Peer::of(devs[1], port, c1.id(), ip(1))?;
        let (dst0, dst1) = (m1.addr() + Layout::THEIRS, m0.addr() + Layout::THEIRS);
        let ends = [
            End::new(devs[0], port, l, (m0, c0), (in0, dst0), &p1)?,
            End::new(devs[1], port, l, (m1, c1), (in1, dst1), &p0)?,
        ];
        Ok(Self {
            port,
            layout: l,
            ends,
        })
    }

    fn input(&self, end: usize) -> u64 {
        self.ends[end].input
    }

    fn output(&self, end: usize) -> u64 {
        self.ends[end].mem.addr() + self.layout.output()
    }

    /// Submits both devices' jobs: their sequence numbers.
    fn submit(&self, timeout: Duration) -> Result<[u64; 2]> {
        let queue = Queue::Nic(self.port);
        let mut seqs = [0; 2];
        for (seq, e) in seqs.iter_mut().zip(&self.ends) {
            *seq = e
                .dev
                .submit_timeout(&[e.tpc.job(Queue::Tpc0), e.nic.job(queue)], timeout)?;
        }
        Ok(seqs)
    }

    /// Waits for the submissions `seqs` and their six completions, each of
    /// which must have succeeded (`EIO` if not).
    fn wait(&mut self, seqs: [u64; 2], timeout: Duration) -> Result<()> {
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

/// The pair of step `s` that device `d` is in, and its end of it.
fn pair_of(d: usize, s: usize) -> (usize, usize) {
    let low = d & ((1 << s) - 1);
    ((d >> (s + 1) << s) | low, d >> s & 1)
}

/// An all-reduce of fp32 elements, between two devices or among 2^k by
/// recursive doubling, set up once and run any number of times: write the
/// inputs at [`AllReduce::input`], [`AllReduce::run`], read the sums at
/// [`AllReduce::output`].
pub struct AllReduce<'d> {
    /// Per step `s`, the pairs of devices `d` and `d + 2^s`, in the order
    /// of `d`.
    steps: Vec<Vec<Pair<'d>>>,
}

impl<'d> AllReduce<'d> {
    /// Sets up an all-reduce of `count` elements (1 to
    /// [`TpcKernelDesc::MAX_COUNT`]) between `devs` over port `port`.
    pub fn new(devs: [&'d Device; 2], port: u32, count: u32) -> Result<Self> {
        Self::recursive_doubling(&devs, &[port], count)
    }

    /// Sets up an all-reduce of `count` elements among `devs`, 2^k of them
    /// for k `ports` (k at least 1): at step `s`, over port `ports[s]`,
    /// which must link them, devices `d` (bit `s` clear) and `d + 2^s` sum
    /// what the previous step left in them. Every device gets the same
    /// sums: for four, `(a0 + a1) + (a2 + a3)`, fp32 addition being
    /// commutative.
    pub fn recursive_doubling(devs: &[&'d Device], ports: &[u32], count: u32) -> Result<Self> {
        if ports.is_empty() || 1usize.checked_shl(ports.len() as u32) != Some(devs.len()) {
            return Err(Error::invalid(format!(
                "all-reduce: {} devices and {} ports, not 2^k and k (k at least 1)",
                devs.len(),
                ports.len()
            )));
        }
        let mut steps: Vec<Vec<Pair<'d>>> = Vec::new();
        for (s, &port) in ports.iter().enumerate() {
            let step = (0..devs.len())
                .filter(|d| d >> s & 1 == 0)
                .map(|d| {
                    let ds = [d, d | 1 << s];
                    // The previous step's sums are this one's inputs.
                    let inputs = steps.last().map(|prev| {
                        ds.map(|d| {
                            let (i, end) = pair_of(d, s - 1);
                            prev[i].output(end)
                        })
                    });
                    Pair::new(ds.map(|d| devs[d]), port, count, inputs)
                })
                .collect::<Result<_>>()?;
            steps.push(step);
        }
        Ok(Self { steps })
    }

    /// Where device `d`'s input vector is (`d` in the order of `devs`).
    pub fn input(&self, d: usize) -> u64 {
        let (i, end) = pair_of(d, 0);
        self.steps[0][i].input(end)
    }

    /// Where device `d`'s sums go.
    pub fn output(&self, d: usize) -> u64 {
        let last = self.steps.len() - 1;
        let (i, end) = pair_of(d, last);
        self.steps[last][i].output(end)
    }

    /// Runs the all-reduce once, step by step: a step's submissions on
    /// every device, then their completions (three per device), each of
    /// which must have succeeded (`EIO` if not). `timeout` bounds each
    /// submission and each wait.
    pub fn run(&mut self, timeout: Duration) -> Result<()> {
        for step in &mut self.steps {
            let seqs = step
                .iter()
                .map(|pair| pair.submit(timeout))
                .collect::<Result<Vec<_>>>()?;
            for (pair, seqs) in step.iter_mut().zip(seqs) {
                pair.wait(seqs, timeout)?;
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
            (l.output(), l.input(), l.size(true), l.size(false)),
            (4096 + 8192, 4096 + 16384, 4096 + 24576, 4096 + 16384)
        );
        assert!(Layout::NOTE + u64::from(NOTE_LEN) <= Layout::NOTE_IN);
        assert!(Layout::NOTE_IN + u64::from(NOTE_LEN) <= Layout::THEIRS);
        assert!(TpcKernelDesc::SIZE as u64 <= Layout::NOTE);
    }

    /// Four devices: pairs 0-1 and 2-3, then 0-2 and 1-3.
    #[test]
    fn pairs_of_recursive_doubling() {
        let step = |s| (0..4).map(|d| pair_of(d, s)).collect::<Vec<_>>();
        assert_eq!(step(0), [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(step(1), [(0, 0), (1, 0), (0, 1), (1, 1)]);
        assert_eq!(pair_of(6, 2), (2, 1));
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
        let devs = [&dev; 8];
        for (n, ports) in [(4, &[0][..]), (2, &[0, 9]), (8, &[0, 9]), (1, &[])] {
            let e = AllReduce::recursive_doubling(&devs[..n], ports, 1).err();
            assert_eq!(e.unwrap().errno(), libc::EINVAL, "{n} devices, {ports:?}");
        }
        for (count, errno) in [(0, libc::EINVAL), (1, libc::ENOTTY)] {
            let e = AllReduce::recursive_doubling(&devs[..4], &[0, 9], count).err();
            assert_eq!(e.unwrap().errno(), errno, "{count} elements");
        }
    }
}
