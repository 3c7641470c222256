// SPDX-License-Identifier: GPL-2.0

//! The all-reduce of hlthunk::collective: each device WRITEs its fp32
//! vector to the other and SENDs a note after it, and its TPC ADD job,
//! fenced on the SOB the other's note increments, sums the two. Both
//! devices' sums must equal the host's, bit for bit, computed in the same
//! order (this device's element plus the other's).

use std::time::Duration;

use hlthunk::Device;
use hlthunk::collective::AllReduce;

use crate::Env;
use crate::util::{Fail, R, Rng, Tap, download, upload};

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

/// Compares device `d`'s sums with the host's.
fn check(d: usize, got: &[u8], mine: &[f32], theirs: &[f32]) -> R {
    let bad = got
        .chunks_exact(4)
        .zip(mine.iter().zip(theirs))
        .position(|(g, (a, b))| g != (a + b).to_le_bytes());
    match bad {
        None => Ok(()),
        Some(i) => {
            let g = f32::from_le_bytes(got[4 * i..4 * i + 4].try_into().unwrap());
            Err(Fail(format!(
                "device {d}, element {i}: {g:e} ({:#010x}), expected {:e} + {:e} = {:e}",
                g.to_bits(),
                mine[i],
                theirs[i],
                mine[i] + theirs[i]
            )))
        }
    }
}

/// Sets up an all-reduce of `count` elements and runs it `runs` times,
/// each time on new vectors.
fn all_reduce(devs: [&Device; 2], port: u32, rng: &mut Rng, count: usize, runs: u32) -> R {
    let mut ar = AllReduce::new(devs, port, count as u32)?;
    for _ in 0..runs {
        let v = [vector(rng, count), vector(rng, count)];
        for (d, dev) in devs.iter().enumerate() {
            upload(dev, ar.input(d), &to_bytes(&v[d]))?;
        }
        ar.run(Duration::from_secs(30))?;
        for (d, dev) in devs.iter().enumerate() {
            check(
                d,
                &download(dev, ar.output(d), 4 * count)?,
                &v[d],
                &v[1 - d],
            )?;
        }
    }
    Ok(())
}

pub fn allreduce(t: &mut Tap, env: &Env) {
    let devs = match env.open_both() {
        Ok(d) => d,
        Err(e) => return t.check("allreduce: open both devices", Err(e)),
    };
    let mut rng = Rng::new(0xa11_4ed);
    for (count, runs) in [(1, 1), (1027, 3), ((1 << 20) + 3, 1), (4 << 20, 2)] {
        t.check(
            format!(
                "allreduce: {count} fp32 elements ({} bytes) per device, {runs} runs: both sums bit-exact with the host's",
                4 * count
            ),
            all_reduce([&devs[0], &devs[1]], env.port, &mut rng, count, runs),
        );
    }
}
