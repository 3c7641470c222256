// SPDX-License-Identifier: GPL-2.0

//! The sensors block: a thread that turns how busy the engines are into
//! temperature, power, current and voltage readings and the energy used,
//! and keeps the device's clock (see [`crate::regs::sensors`]).
//!
//! Load is the share of QMANs running a job (`STATUS.BUSY`) or having
//! finished one since the last period. Power follows load within a few
//! periods, temperature follows power more slowly, as a heat sink would.
//! Energy is power integrated over time. The PLLs are fixed. The firmware's
//! heartbeat advances every period, unless `FAULT_HEARTBEAT_STOP` is set;
//! nothing is written while `FAULT_VANISH` is.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::mem::SharedMem;
use crate::qman::{self, NUM_QMANS};
use crate::regs::{
    FAULT_HEARTBEAT_STOP, FAULT_VANISH, QMAN_STATUS_BUSY, model_ctl, qman as qman_regs, sensors,
};

/// Idle and full-load power, microwatts.
const POWER_IDLE_UW: f64 = 60e6;
const POWER_LOAD_UW: f64 = 300e6;
/// Ambient temperature and degrees per watt above idle, millidegrees.
const TEMP_IDLE_MC: f64 = 35_000.0;
const TEMP_PER_W_MC: f64 = 150.0;
/// Core voltage at idle and its droop at full load, millivolts.
const VOLT_IDLE_MV: f64 = 850.0;
const VOLT_DROOP_MV: f64 = 30.0;
/// Smoothing per period: power reaches most of a step in 5 periods,
/// temperature in 25.
const POWER_ALPHA: f64 = 0.4;
const TEMP_ALPHA: f64 = 0.08;

/// Each PLL's first output in MHz, in the order of `enum hl_gaudi_pll_index`
/// (CPU, PCI, SRAM, HBM, NIC, DMA, MESH, MME, TPC, IF); its other outputs
/// divide it by 2, 4 and 8.
const PLL_MHZ: [u16; sensors::NUM_PLLS] =
    [1100, 500, 1600, 1000, 1250, 1600, 1600, 1600, 1600, 1600];

/// The readings and what they follow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Readings {
    /// Microwatts.
    pub power: f64,
    /// Millidegrees Celsius.
    pub temp: f64,
    /// Microjoules used so far.
    pub energy: f64,
}

impl Default for Readings {
    fn default() -> Self {
        Self {
            power: POWER_IDLE_UW,
            temp: TEMP_IDLE_MC,
            energy: 0.0,
        }
    }
}

impl Readings {
    /// One period at `load` (0 to 1).
    pub fn step(&mut self, load: f64) {
        let load = load.clamp(0.0, 1.0);
        let power = POWER_IDLE_UW + (POWER_LOAD_UW - POWER_IDLE_UW) * load;
        self.power += (power - self.power) * POWER_ALPHA;
        self.energy += self.power * sensors::PERIOD_MS as f64 / 1e3;
        let temp = TEMP_IDLE_MC + TEMP_PER_W_MC * (self.power - POWER_IDLE_UW) / 1e6;
        self.temp += (temp - self.temp) * TEMP_ALPHA;
    }

    /// Core voltage, millivolts.
    pub fn volt(&self) -> f64 {
        let load = (self.power - POWER_IDLE_UW) / (POWER_LOAD_UW - POWER_IDLE_UW);
        VOLT_IDLE_MV - VOLT_DROOP_MV * load
    }

    /// Writes the readings and limits to the block.
    fn publish(&self, bar: &SharedMem) {
        let volt = self.volt();
        bar.write32(sensors::TEMP, self.temp as u32);
        bar.write32(sensors::TEMP_MAX, 85_000);
        bar.write32(sensors::TEMP_CRIT, 95_000);
        bar.write32(sensors::POWER, self.power as u32);
        bar.write32(sensors::POWER_MAX, 350_000_000);
        // Watts over volts, in milliamperes.
        bar.write32(sensors::CURR, (self.power / volt) as u32);
        bar.write32(sensors::CURR_MAX, 450_000);
        bar.write32(sensors::VOLT, volt as u32);
        bar.write32(sensors::VOLT_MIN, 750);
        bar.write32(sensors::VOLT_MAX, 900);
        write64(bar, sensors::ENERGY, (self.energy / 1e3) as u64);
    }
}

/// Writes the 64-bit register at `off` in one store, so that a 64-bit read
/// never sees half of it.
fn write64(bar: &SharedMem, off: u64, val: u64) {
    bar.atomic64(off)
        .expect("64-bit sensor registers are aligned")
        .store(val, Ordering::Relaxed);
}

/// Writes the PLL table.
fn publish_plls(bar: &SharedMem) {
    for (pll, &mhz) in PLL_MHZ.iter().enumerate() {
        let out = |i: usize| u32::from(mhz >> i);
        bar.write32(sensors::pll(pll, 0), out(0) | out(1) << 16);
        bar.write32(sensors::pll(pll, 2), out(2) | out(3) << 16);
    }
}

/// The share of QMANs that ran jobs since the last call; `last_ci` holds
/// the sum of each one's streams' `PQ_CI` from then.
fn load(bar: &SharedMem, last_ci: &mut [u32; NUM_QMANS]) -> f64 {
    let mut busy = 0;
    for (i, last) in last_ci.iter_mut().enumerate() {
        let streams = (0..qman_regs::STREAMS).map(|s| qman_regs::stream(qman::queue(i), s));
        let (mut ci, mut running) = (0u32, false);
        for stream in streams {
            ci = ci.wrapping_add(bar.read32(stream + qman_regs::PQ_CI));
            running |= bar.read32(stream + qman_regs::STATUS) & QMAN_STATUS_BUSY != 0;
        }
        if running || ci != *last {
            busy += 1;
        }
        *last = ci;
    }
    // A few busy engines are what a DMA or a kernel keeps busy.
    f64::from(busy) / 2.0
}

/// The sensors' thread, stopped and joined on drop.
pub struct Sensors {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sensors {
    /// Starts updating the block of `bar`.
    pub fn spawn(name: &str, bar: Arc<SharedMem>) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name(format!("{name}-sensors"))
            .spawn(move || {
                let start = Instant::now();
                let mut readings = Readings::default();
                let mut last_ci = [0; NUM_QMANS];
                let mut next_period = start;
                let mut heartbeat = 0u32;
                while !flag.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    let faults = bar.read32(model_ctl::FAULTS);
                    // A vanished device's registers read all ones: nothing is published.
                    if faults & FAULT_VANISH != 0 {
                        thread::sleep(Duration::from_millis(sensors::TICK_MS));
                        continue;
                    }
                    write64(&bar, sensors::TIMESTAMP, (now - start).as_nanos() as u64);
                    if now >= next_period {
                        readings.step(load(&bar, &mut last_ci));
                        readings.publish(&bar);
                        // A device reset clears the block.
                        publish_plls(&bar);
                        if faults & FAULT_HEARTBEAT_STOP == 0 {
                            heartbeat = heartbeat.wrapping_add(1);
                        }
                        bar.write32(sensors::HEARTBEAT, heartbeat);
                        next_period += Duration::from_millis(sensors::PERIOD_MS);
                    }
                    thread::sleep(Duration::from_millis(sensors::TICK_MS));
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Sensors {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_and_temperature_follow_load() {
        let mut r = Readings::default();
        let idle = r;
        for _ in 0..10 {
            r.step(1.0);
        }
        assert!(r.power > idle.power + 200e6);
        assert!(r.temp > idle.temp);
        assert!(r.volt() < VOLT_IDLE_MV);
        for _ in 0..200 {
            r.step(0.0);
        }
        assert!((r.power - idle.power).abs() < 1e6);
        // 210 periods of 20 ms (4.2 s) at 60 W or more.
        assert!(r.energy > 4.2 * 60e6, "{} uJ", r.energy);
    }

    #[test]
    fn plls_are_in_the_block() {
        let bar = SharedMem::create("hlsim-sensors-test", 0x1000).unwrap();
        publish_plls(&bar);
        let tpc = 8;
        let word = bar.read32(sensors::pll(tpc, 0));
        assert_eq!(word & 0xffff, u32::from(PLL_MHZ[tpc]));
        assert_eq!(word >> 16, u32::from(PLL_MHZ[tpc] / 2));
        assert_eq!(
            bar.read32(sensors::pll(tpc, 2)) >> 16,
            u32::from(PLL_MHZ[tpc] / 8)
        );
    }

    #[test]
    fn heartbeat_moves_until_the_firmware_hangs() {
        let bar = Arc::new(SharedMem::create("hlsim-heartbeat-test", 0x10_0000).unwrap());
        let _sensors = Sensors::spawn("heartbeat-test", bar.clone()).unwrap();
        let period = Duration::from_millis(sensors::PERIOD_MS);
        let moved = || {
            let before = bar.read32(sensors::HEARTBEAT);
            // Generous: the thread may be slow to run on a loaded machine.
            (0..200).any(|_| {
                thread::sleep(period);
                bar.read32(sensors::HEARTBEAT) != before
            })
        };
        assert!(moved(), "the heartbeat moves");
        bar.write32(model_ctl::FAULTS, FAULT_HEARTBEAT_STOP);
        thread::sleep(period * 3);
        let stopped = bar.read32(sensors::HEARTBEAT);
        thread::sleep(period * 10);
        assert_eq!(bar.read32(sensors::HEARTBEAT), stopped, "it stands still");
        bar.write32(model_ctl::FAULTS, 0);
        assert!(moved(), "it moves again");
    }
}
