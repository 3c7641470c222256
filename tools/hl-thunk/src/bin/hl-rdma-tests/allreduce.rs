// SPDX-License-Identifier: GPL-2.0

//! The all-reduces of hlthunk::collective. Between two devices: each
//! WRITEs its fp32 vector to the other and SENDs a note after it, and its
//! TPC ADD job, fenced on the SOB the other's note increments, sums the
//! two. Both devices' sums must equal the host's, bit for bit, computed in
//! the same order (this device's element plus the other's). Among four, by
//! recursive doubling: every device's sums must equal the host's
//! `(a0 + a1) + (a2 + a3)`.

use std::time::Duration;

use hlthunk::Device;
use hlthunk::collective::AllReduce;

use crate::util::{Fail, R, Rng, Tap, download, upload};
use crate::{Env, Four};

/// Values whose sums show rounding, signs, subnormals and overflow to
/// infinity (no NaN, whose payload IEEE leaves open).
const SPECIAL: [f32; 12] = [
    -0.0,
    0.0,
    1.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MIN_POSITIVE,
    1e-45,
    f32::MAX,
    -f32::MAX,
    1.0 + f32::EPSILON,
    0.1,
    16_777_216.0,
];

/// `count` values: the special ones, then finite ones of many magnitudes.
fn vector(rng: &mut Rng, count: usize) -> Vec<f32> {
    (0..count)
        .map(|i| match SPECIAL.get(i) {
            Some(&s) => s,
            None => {
                let x = rng.next_u64();
                let mantissa = (x & 0xff_ffff) as f32 / (1 << 24) as f32 + 0.5;
                let sign = if x >> 63 == 0 { 1.0 } else { -1.0 };
                sign * mantissa * 2f32.powi((x >> 32) as i32 % 40)
            }
        })
        .collect()
}

fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The order in which the host sums the inputs.
#[derive(Clone, Copy)]
enum Order {
    /// Two devices: this device's element plus the other's.
    Pair,
    /// Four devices, on every one: `(a0 + a1) + (a2 + a3)`.
    Four,
}

impl Order {
    /// Device `d`'s sum of element `i` of the inputs `v`.
    fn sum(self, v: &[Vec<f32>], d: usize, i: usize) -> f32 {
        match self {
            Self::Pair => v[d][i] + v[1 - d][i],
            Self::Four => (v[0][i] + v[1][i]) + (v[2][i] + v[3][i]),
        }
    }

    /// The terms of that sum, for messages.
    fn terms(self, v: &[Vec<f32>], d: usize, i: usize) -> String {
        match self {
            Self::Pair => format!("{:e} + {:e}", v[d][i], v[1 - d][i]),
            Self::Four => format!(
                "({:e} + {:e}) + ({:e} + {:e})",
                v[0][i], v[1][i], v[2][i], v[3][i]
            ),
        }
    }
}

/// Compares device `d`'s sums with the host's.
fn check(d: usize, got: &[u8], v: &[Vec<f32>], order: Order) -> R {
    let mut sums = got.chunks_exact(4).enumerate();
    match sums.find(|&(i, g)| g != order.sum(v, d, i).to_le_bytes()) {
        None => Ok(()),
        Some((i, g)) => {
            let g = f32::from_le_bytes(g.try_into().unwrap());
            Err(Fail(format!(
                "device {d}, element {i}: {g:e} ({:#010x}), expected {} = {:e}",
                g.to_bits(),
                order.terms(v, d, i),
                order.sum(v, d, i)
            )))
        }
    }
}

/// Runs `ar`, of `count` elements among `devs`, `runs` times, each time
/// on new vectors; checks every device's sums.
fn run_checked(
    devs: &[&Device],
    mut ar: AllReduce,
    rng: &mut Rng,
    (count, runs): (usize, u32),
    order: Order,
) -> R {
    for _ in 0..runs {
        let v: Vec<_> = devs.iter().map(|_| vector(rng, count)).collect();
        for (d, dev) in devs.iter().enumerate() {
            upload(dev, ar.input(d), &to_bytes(&v[d]))?;
        }
        ar.run(Duration::from_secs(30))?;
        for (d, dev) in devs.iter().enumerate() {
            check(d, &download(dev, ar.output(d), 4 * count)?, &v, order)?;
        }
    }
    Ok(())
}

pub fn allreduce(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("allreduce: open both devices", Err(e)),
    };
    let devs = [&devs[0], &devs[1]];
    let mut rng = Rng::new(0xa11_4ed);
    for (count, runs) in [(1, 1), (1027, 3), ((1 << 20) + 3, 1), (4 << 20, 2)] {
        t.check(
            format!(
                "allreduce: {count} fp32 elements ({} bytes) per device, {runs} runs: both sums bit-exact with the host's",
                4 * count
            ),
            AllReduce::new(devs, env.port, count as u32)
                .map_err(Fail::from)
                .and_then(|ar| run_checked(&devs, ar, &mut rng, (count, runs), Order::Pair)),
        );
    }
}

pub fn allreduce_four(t: &mut Tap, env: &Four) {
    let devs = match env
        .index
        .map(Device::open)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(d) => d,
        Err(e) => return t.check("allreduce: open the four devices", Err(e.into())),
    };
    let devs: Vec<_> = devs.iter().collect();
    let mut rng = Rng::new(0xf0_a11_4ed);
    for (count, runs) in [(1, 1), (1027, 3), ((1 << 20) + 3, 1)] {
        t.check(
            format!(
                "allreduce: {count} fp32 elements ({} bytes) per device, {runs} runs, recursive doubling over ports {:?}: the four sums bit-exact with the host's (a0 + a1) + (a2 + a3)",
                4 * count,
                env.ports
            ),
            AllReduce::recursive_doubling(&devs, &env.ports, count as u32)
                .map_err(Fail::from)
                .and_then(|ar| run_checked(&devs, ar, &mut rng, (count, runs), Order::Four)),
        );
    }
}
