// SPDX-License-Identifier: GPL-2.0

//! TPC kernels against the same computation on the host, bit for bit.

use hlthunk::{Device, Packet, Queue, TpcKernel, TpcKernelDesc};

use crate::Env;
use crate::util::{Fail, R, Rng, Tap, all_bytes, download, run_packets, upload};

const SENTINEL: u8 = 0xee;
const GUARD: usize = 64;

/// Values that make rounding, signs and IEEE special cases show.
const SPECIAL: [f32; 16] = [
    -0.0,
    0.0,
    1.0,
    -1.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    f32::MIN_POSITIVE,
    1e-45,
    -3e-42,
    f32::MAX,
    -f32::MAX,
    1.0 + f32::EPSILON,
    0.1,
    16_777_216.0,
    3.0e38,
];

/// Finite values of many magnitudes.
fn nice(rng: &mut Rng) -> f32 {
    let x = rng.next_u64();
    let mantissa = (x & 0xff_ffff) as f32 / (1 << 24) as f32 + 0.5;
    let exp = (x >> 32) as i32 % 20;
    let sign = if x >> 63 == 0 { 1.0 } else { -1.0 };
    sign * mantissa * 2f32.powi(exp)
}

/// `count` inputs: the special values first, then (unless `finite`) a mix
/// of random bit patterns and finite values.
fn inputs(rng: &mut Rng, count: usize, finite: bool) -> Vec<f32> {
    (0..count)
        .map(|i| match SPECIAL.get(i) {
            Some(&s) if !finite => s,
            _ if !finite && i % 2 == 1 => f32::from_bits(rng.next_u64() as u32),
            _ => nice(rng),
        })
        .collect()
}

/// What the device must compute (IEEE single precision, round to nearest
/// even, as the host's f32 does).
fn reference(kernel: TpcKernel, a: &[f32], b: &[f32], scalar: f32) -> Vec<f32> {
    match kernel {
        TpcKernel::Fill => vec![scalar; a.len()],
        TpcKernel::Add => a.iter().zip(b).map(|(x, y)| x + y).collect(),
        TpcKernel::Scale => a.iter().map(|x| x * scalar).collect(),
        TpcKernel::Sum => vec![a[1..].iter().fold(a[0], |acc, x| acc + x)],
    }
}

pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Bit-exact, except that any NaN matches any NaN (IEEE leaves the
/// payload open).
fn same_f32(got: &[f32], want: &[f32], a: &[f32], b: &[f32]) -> R {
    let bad = got
        .iter()
        .zip(want)
        .position(|(g, w)| g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan()));
    if let Some(i) = bad {
        return Err(Fail(format!(
            "element {i}: {:e} ({:#010x}), expected {:e} ({:#010x}); inputs {:?}, {:?}",
            got[i],
            got[i].to_bits(),
            want[i],
            want[i].to_bits(),
            a.get(i),
            b.get(i)
        )));
    }
    Ok(())
}

/// How the kernel is set up.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    /// The descriptor is copied in with the data.
    Upload,
    /// The TPC job writes its own descriptor with MSG_LONG.
    MsgLong,
    /// As Upload, with the output over input `a`.
    InPlace,
}

/// Where the descriptor and arrays go in device memory.
struct Layout {
    a: usize,
    b: usize,
    out: usize,
    total: usize,
}

impl Layout {
    fn new(count: usize) -> Self {
        let array = (4 * count).next_multiple_of(64) + GUARD;
        let a = 64;
        Self {
            a,
            b: a + array,
            out: a + 2 * array,
            total: a + 3 * array,
        }
    }
}

/// Runs `kernel` on `count` elements on `queue` and checks its output and
/// the bytes after it.
fn kernel(
    dev: &Device,
    rng: &mut Rng,
    queue: Queue,
    kernel: TpcKernel,
    count: usize,
    setup: Setup,
) -> R {
    let finite = kernel == TpcKernel::Sum && count > 1;
    let a = inputs(rng, count, finite);
    let b = inputs(rng, count, finite);
    let scalar = nice(rng);
    let l = Layout::new(count);
    let dram = dev.device_memory(l.total as u64)?;
    let at = |offset: usize| dram.addr() + offset as u64;
    let out = if setup == Setup::InPlace { l.a } else { l.out };
    let desc = TpcKernelDesc {
        kernel,
        count: count as u32,
        a: at(l.a),
        b: at(l.b),
        out: at(out),
        scalar,
    };

    let mut image = vec![SENTINEL; l.total];
    if setup != Setup::MsgLong {
        image[..TpcKernelDesc::SIZE].copy_from_slice(&desc.to_bytes()?);
    }
    image[l.a..l.a + 4 * count].copy_from_slice(&to_bytes(&a));
    image[l.b..l.b + 4 * count].copy_from_slice(&to_bytes(&b));
    upload(dev, dram.addr(), &image)?;

    let mut packets = Vec::new();
    if setup == Setup::MsgLong {
        packets.extend(desc.msg_long_packets(dram.addr())?);
    }
    packets.push(Packet::load_and_exe(dram.addr()));
    run_packets(dev, queue, &packets)?;

    let want = reference(kernel, &a, &b, scalar);
    let len = 4 * want.len();
    let got = download(dev, at(out), len + GUARD)?;
    same_f32(&from_bytes(&got[..len]), &want, &a, &b)?;
    all_bytes("bytes after the output", &got[len..], SENTINEL)
}

pub fn tpc(t: &mut Tap, env: &Env) {
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("tpc: open", Err(e)),
    };
    let mut rng = Rng::new(0x7bc_f32);
    let cases = [
        (TpcKernel::Fill, 1, Setup::Upload),
        (TpcKernel::Fill, 4099, Setup::MsgLong),
        (TpcKernel::Add, 1, Setup::Upload),
        (TpcKernel::Add, 1027, Setup::Upload),
        (TpcKernel::Add, (1 << 20) + 1, Setup::Upload),
        (TpcKernel::Scale, 3, Setup::Upload),
        (TpcKernel::Scale, 65539, Setup::Upload),
        (TpcKernel::Scale, 4096, Setup::InPlace),
        (TpcKernel::Sum, 1, Setup::Upload),
        (TpcKernel::Sum, 2, Setup::Upload),
        (TpcKernel::Sum, 16, Setup::Upload),
        (TpcKernel::Sum, 1000, Setup::MsgLong),
        (TpcKernel::Sum, 100_003, Setup::Upload),
    ];
    for (i, (k, count, setup)) in cases.into_iter().enumerate() {
        let queue = if i % 2 == 0 { Queue::Tpc0 } else { Queue::Tpc1 };
        let how = match setup {
            Setup::Upload => "",
            Setup::MsgLong => ", descriptor by MSG_LONG",
            Setup::InPlace => ", in place",
        };
        t.check(
            format!("tpc: {k:?} of {count} elements on {queue}{how}"),
            kernel(&dev, &mut rng, queue, k, count, setup),
        );
    }
}
