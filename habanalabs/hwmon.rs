// SPDX-License-Identifier: GPL-2.0

//! The device's sensors as a hwmon device: die temperature, core voltage and current, board
//! power, with their limits, read from the sensors block at each access.
//!
//! See the hwmon section of `Documentation/accel/habanalabs/driver.rst`.

use kernel::{
    c_str,
    hwmon::{Attr, Channel, Operations, SensorType},
    prelude::*,
    register,
    str::CStr,
    sync::Arc,
};

use crate::device::HlDevice;

register! {
    /// The sensors block: a reading or a limit per word, in the units of hwmon.
    SENSOR(u32) @ 0x400[16; 4] {}
}

/// The word of `attr` of sensor type `ty` in the block.
fn word(ty: SensorType, attr: Attr) -> Option<usize> {
    let base = match ty {
        SensorType::Temp => 0,
        SensorType::Power => 4,
        SensorType::Curr => 8,
        SensorType::In => 12,
    };
    let off = match (ty, attr) {
        (_, Attr::Input) => 0,
        (SensorType::In, Attr::Min) => 1,
        (SensorType::In, Attr::Max) => 2,
        (_, Attr::Max) => 1,
        (SensorType::Temp, Attr::Crit) => 2,
        _ => return None,
    };
    Some(base + off)
}

/// The channels: one sensor of each type.
pub(crate) const CHANNELS: [Channel; 4] = [
    Channel {
        ty: SensorType::Temp,
        attrs: &[Attr::Input, Attr::Max, Attr::Crit, Attr::Label],
    },
    Channel {
        ty: SensorType::In,
        attrs: &[Attr::Input, Attr::Min, Attr::Max, Attr::Label],
    },
    Channel {
        ty: SensorType::Curr,
        attrs: &[Attr::Input, Attr::Max, Attr::Label],
    },
    Channel {
        ty: SensorType::Power,
        attrs: &[Attr::Input, Attr::Max, Attr::Label],
    },
];

/// The hwmon device's data.
pub(crate) struct Sensors {
    pub(crate) dev: Arc<HlDevice>,
}

impl Operations for Sensors {
    fn read(&self, ty: SensorType, attr: Attr, _channel: u32) -> Result<i64> {
        let index = word(ty, attr).ok_or(EOPNOTSUPP)?;
        let regs = self.dev.hw().regs()?;
        Ok(u32::from(SENSOR::try_read_at(&regs, index)?).into())
    }

    fn label(&self, ty: SensorType, _channel: u32) -> Option<&'static CStr> {
        Some(match ty {
            SensorType::Temp => c_str!("die"),
            SensorType::In => c_str!("vcore"),
            SensorType::Curr => c_str!("icore"),
            SensorType::Power => c_str!("board"),
        })
    }
}
