// SPDX-License-Identifier: GPL-2.0

//! A port's registers, counters and descriptors (`device-model.rst`, section NIC).

use kernel::{
    prelude::*,
    types::{AsBytes, FromBytes},
};

use crate::nic::NicDevice;

/// `CTL`: bit 0 `ENABLE`, bit 1 `LOOPBACK`.
pub(crate) const CTL: usize = 0x000;
pub(crate) const CTL_ENABLE: u32 = 1 << 0;
pub(crate) const CTL_LOOPBACK: u32 = 1 << 1;
/// `LINK_CFG`: bit 0 `AUTONEG`, `[11:8]` forced speed, `[19:16]` advertised speeds.
pub(crate) const LINK_CFG: usize = 0x004;
pub(crate) const LINK_AUTONEG: u32 = 1 << 0;
/// `LINK_STATUS`: bit 0 `UP`, `[11:8]` the speed while up.
pub(crate) const LINK_STATUS: usize = 0x008;
pub(crate) const LINK_UP: u32 = 1 << 0;
/// `MAX_FRAME`: the largest frame, without FCS.
pub(crate) const MAX_FRAME: usize = 0x010;
pub(crate) const TX_BASE_LO: usize = 0x020;
pub(crate) const TX_BASE_HI: usize = 0x024;
pub(crate) const TX_SIZE: usize = 0x028;
pub(crate) const TX_PI: usize = 0x02c;
pub(crate) const TX_CI: usize = 0x030;
pub(crate) const RX_BASE_LO: usize = 0x040;
pub(crate) const RX_BASE_HI: usize = 0x044;
pub(crate) const RX_SIZE: usize = 0x048;
pub(crate) const RX_PI: usize = 0x04c;
pub(crate) const RX_CI: usize = 0x050;
/// `IRQ_MASK`: bit 0 TX, bit 1 RX, bit 2 link.
pub(crate) const IRQ_MASK: usize = 0x060;
pub(crate) const IRQ_ALL: u32 = 0x7;
pub(crate) const RX_COAL_USECS: usize = 0x064;
pub(crate) const RX_COAL_FRAMES: usize = 0x068;
/// `PFC_EN`: a bit per priority.
pub(crate) const PFC_EN: usize = 0x080;
/// `TC_BW`: TC `t`'s share in percent, a byte each at `0x084 + t`.
pub(crate) const TC_BW: usize = 0x084;
/// `PRIO_TC`: priority `p`'s traffic class in `[4p+2:4p]`.
pub(crate) const PRIO_TC: usize = 0x08c;
/// `TC_TSA`: a bit per TC, 1 ETS, 0 strict.
pub(crate) const TC_TSA: usize = 0x090;
/// The 64-bit counters, at `COUNTERS + 8 * i`.
pub(crate) const COUNTERS: usize = 0x100;

/// Link speed codes in `LINK_CFG` and `LINK_STATUS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Speed {
    G10 = 1,
    G25 = 2,
    G50 = 3,
    G100 = 4,
}

impl Speed {
    pub(crate) const ALL: [Speed; 4] = [Speed::G10, Speed::G25, Speed::G50, Speed::G100];

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as u32 == code)
    }

    /// The speed in Mb/s.
    pub(crate) fn mbps(self) -> u32 {
        match self {
            Speed::G10 => 10_000,
            Speed::G25 => 25_000,
            Speed::G50 => 50_000,
            Speed::G100 => 100_000,
        }
    }

    pub(crate) fn from_mbps(mbps: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.mbps() == mbps)
    }

    /// Its bit in `LINK_CFG`'s advertised speeds.
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8 - 1)
    }
}

/// The counters (index `i` at `COUNTERS + 8 * i`).
pub(crate) mod counter {
    pub(crate) const TX_FRAMES: usize = 0;
    pub(crate) const TX_BYTES: usize = 1;
    pub(crate) const RX_FRAMES: usize = 2;
    pub(crate) const RX_BYTES: usize = 3;
    pub(crate) const TX_ERRORS: usize = 4;
    pub(crate) const TX_DROPPED: usize = 5;
    pub(crate) const RX_NO_BUFFER: usize = 6;
    pub(crate) const RX_OVERSIZE: usize = 7;
    pub(crate) const RX_FCS_ERRORS: usize = 8;
    pub(crate) const TX_PAUSE: usize = 9;
    pub(crate) const RX_PAUSE: usize = 17;
    pub(crate) const RX_SIZE: usize = 25;
    pub(crate) const TX_SIZE: usize = 35;
    pub(crate) const RX_UNDERSIZE: usize = 45;
    pub(crate) const FEC_CORRECTED: usize = 46;
    pub(crate) const FEC_UNCORRECTABLE: usize = 47;
    pub(crate) const PCS_ERRORS: usize = 48;
    pub(crate) const TX_TC_BYTES: usize = 49;
}

/// A TX descriptor: one frame to send.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TxDesc {
    pub(crate) addr: u64,
    pub(crate) len: u16,
    pub(crate) prio: u8,
    pub(crate) flags: u8,
    pub(crate) zero: u32,
}

/// An RX descriptor: a buffer the driver posts, filled in by the device.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RxDesc {
    pub(crate) addr: u64,
    pub(crate) buf_len: u16,
    pub(crate) len: u16,
    pub(crate) status: u16,
    pub(crate) prio: u8,
    pub(crate) zero: u8,
}

/// `RxDesc::status`: the device filled the buffer.
pub(crate) const RX_DONE: u16 = 1 << 0;

// SAFETY: `TxDesc` is `repr(C)` integers of 8, 2, 1, 1 and 4 bytes: no padding.
unsafe impl AsBytes for TxDesc {}
// SAFETY: `TxDesc` holds only integers, for which every bit pattern is valid.
unsafe impl FromBytes for TxDesc {}
// SAFETY: `RxDesc` is `repr(C)` integers of 8, 2, 2, 2, 1 and 1 bytes: no padding.
unsafe impl AsBytes for RxDesc {}
// SAFETY: `RxDesc` holds only integers, for which every bit pattern is valid.
unsafe impl FromBytes for RxDesc {}

/// One port's part of the device, through the core's [`NicDevice`]: its registers, counters,
/// doorbell and module EEPROM, and the `PORT_STOP` command.
#[derive(Clone)]
pub(crate) struct PortIo {
    nic: NicDevice,
    index: u8,
}

impl PortIo {
    pub(crate) fn new(nic: NicDevice, index: u8) -> Self {
        Self { nic, index }
    }

    /// The device's NIC, for what is not the port's: DMA, identity.
    pub(crate) fn nic(&self) -> &NicDevice {
        &self.nic
    }

    /// The port's number.
    pub(crate) fn index(&self) -> u8 {
        self.index
    }

    pub(crate) fn read(&self, reg: usize) -> Result<u32> {
        self.nic.read(self.index, reg)
    }

    pub(crate) fn write(&self, reg: usize, value: u32) -> Result {
        self.nic.write(self.index, reg, value)
    }

    /// Device counter `i` (see [`counter`]), 0 if the device is gone.
    pub(crate) fn counter(&self, i: usize) -> u64 {
        self.nic.read64(self.index, COUNTERS + 8 * i).unwrap_or(0)
    }

    /// Rings the port's doorbell: the device looks at the registers again.
    pub(crate) fn kick(&self) -> Result {
        self.nic.kick(self.index)
    }

    /// Disables the port and waits until it no longer touches host memory. Sleeps.
    pub(crate) fn stop(&self) -> Result {
        self.nic.stop_port(self.index)
    }

    /// Reads `buf.len()` bytes of the module EEPROM from `offset` in the device's layout.
    pub(crate) fn read_module(&self, offset: usize, buf: &mut [u8]) -> Result {
        self.nic.read_eeprom(self.index, offset, buf)
    }
}
