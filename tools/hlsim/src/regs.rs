// SPDX-License-Identifier: GPL-2.0

//! BAR2 layout and register values, named as in
//! `Documentation/accel/habanalabs/device-model.rst`.
//!
//! Register offsets are absolute BAR2 offsets, grouped by block. All
//! registers are 32-bit; a 64-bit value is a `_LO`/`_HI` pair.

/// Identity block: written when the device is created.
pub mod identity {
    /// `MAGIC`: [`super::MAGIC_HLSM`].
    pub const MAGIC: u64 = 0x000;
    /// `VERSION`: `[31:16]` major, `[15:0]` minor.
    pub const VERSION: u64 = 0x004;
    /// `CAPS`: `CAPS_*` bits.
    pub const CAPS: u64 = 0x008;
    /// `CHIP_ID`: `[15:0]` chip, `[23:16]` revision.
    pub const CHIP_ID: u64 = 0x00c;
    /// `SERIAL_LO`: serial number, unique per device, bits 31:0.
    pub const SERIAL_LO: u64 = 0x010;
    /// `SERIAL_HI`: serial number bits 63:32.
    pub const SERIAL_HI: u64 = 0x014;
    /// `DRAM_BASE`: offset of device memory in BAR2.
    pub const DRAM_BASE: u64 = 0x018;
    /// `DRAM_SIZE_LO`: bytes of device memory, bits 31:0.
    pub const DRAM_SIZE_LO: u64 = 0x020;
    /// `DRAM_SIZE_HI`: bytes of device memory, bits 63:32.
    pub const DRAM_SIZE_HI: u64 = 0x024;
    /// `NUM_VECTORS`: ivshmem vectors.
    pub const NUM_VECTORS: u64 = 0x028;
    /// `MODEL_PEER`: ivshmem peer id doorbells are sent to.
    pub const MODEL_PEER: u64 = 0x02c;
    /// `STATE`: a [`super::State`].
    pub const STATE: u64 = 0x030;
}

/// Control mailbox.
pub mod mailbox {
    /// First byte of the block.
    pub const BASE: u64 = 0x100;
    /// Bytes in the block.
    pub const SIZE: u64 = 0x100;
    /// `CMD`: `[7:0]` opcode, bit 31 [`super::CMD_IRQ`].
    pub const CMD: u64 = 0x100;
    /// `CMD_SEQ`: sequence number of the posted command.
    pub const CMD_SEQ: u64 = 0x104;
    /// `CMD_DONE_SEQ`: sequence number of the last completed command.
    pub const CMD_DONE_SEQ: u64 = 0x108;
    /// `CMD_STATUS`: a [`super::Status`].
    pub const CMD_STATUS: u64 = 0x10c;
    /// `ARG0_LO`; `ARGn_LO` is at `ARG0_LO + 8 * n`.
    pub const ARG0_LO: u64 = 0x110;
    /// Number of 64-bit arguments.
    pub const NUM_ARGS: usize = 4;
}

/// Model control page (tests only; survives resets).
pub mod model_ctl {
    /// `FAULTS`: `FAULT_*` bits.
    pub const FAULTS: u64 = 0xff000;
    /// `DOORBELLS`: doorbells the model has seen (wraps).
    pub const DOORBELLS: u64 = 0xff004;
}

/// Offset of device memory in BAR2, the value of `DRAM_BASE`.
pub const DRAM_OFFSET: u64 = 0x10_0000;

/// `MAGIC` value, the bytes `HLSM`.
pub const MAGIC_HLSM: u32 = 0x4d53_4c48;
/// `VERSION` value: 1.0.
pub const VERSION_1_0: u32 = 1 << 16;
/// `CAPS` bit: `DMA_SELFTEST` is implemented.
pub const CAPS_DMA_SELFTEST: u32 = 1 << 0;
/// `CHIP_ID` value: GAUDI-sim, revision 0.
pub const CHIP_ID_GAUDI_SIM: u32 = 0x1000;
/// `NUM_VECTORS` value.
pub const NUM_VECTORS: u32 = 32;
/// Vector of the control mailbox (doorbell and completion interrupt).
pub const VECTOR_CONTROL: u32 = 0;

/// `CMD` bits holding the opcode.
pub const CMD_OPCODE_MASK: u32 = 0xff;
/// `CMD` bit: raise [`VECTOR_CONTROL`] on completion.
pub const CMD_IRQ: u32 = 1 << 31;
/// Largest `DMA_SELFTEST` size.
pub const SELFTEST_MAX_SIZE: u64 = 1 << 20;

/// `FAULTS` bit: the self-test copy flips one byte.
pub const FAULT_SELFTEST_CORRUPT: u32 = 1 << 0;
/// `FAULTS` bit: control doorbells are ignored.
pub const FAULT_MAILBOX_HANG: u32 = 1 << 1;

// `ARG3_HI` is at 0x12c, and the blocks do not overlap.
const _: () = assert!(mailbox::ARG0_LO + 8 * mailbox::NUM_ARGS as u64 == 0x130);
const _: () = assert!(mailbox::BASE + mailbox::SIZE <= model_ctl::FAULTS);
const _: () = assert!(model_ctl::DOORBELLS + 4 <= DRAM_OFFSET);

/// `STATE` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    /// No model serves the device.
    Detached = 0,
    /// The model serves the device.
    Ready = 1,
}

/// Mailbox opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// `RESET`.
    Reset,
    /// `DMA_SELFTEST`.
    DmaSelftest,
}

impl Opcode {
    /// Decodes the opcode field of a `CMD` value.
    pub fn from_cmd(cmd: u32) -> Option<Self> {
        match cmd & CMD_OPCODE_MASK {
            0x01 => Some(Self::Reset),
            0x02 => Some(Self::DmaSelftest),
            _ => None,
        }
    }
}

/// `CMD_STATUS` codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    /// `OK`.
    Ok = 0,
    /// `BAD_OPCODE`: unknown opcode.
    BadOpcode = 1,
    /// `BAD_HOST_ADDR`: a DMA range is not inside guest RAM.
    BadHostAddr = 2,
    /// `BAD_DEV_ADDR`: a device memory range is not inside DRAM.
    BadDevAddr = 3,
    /// `BAD_SIZE`: size out of range.
    BadSize = 4,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_decodes_low_byte_only() {
        assert_eq!(Opcode::from_cmd(0x01), Some(Opcode::Reset));
        assert_eq!(Opcode::from_cmd(CMD_IRQ | 0x02), Some(Opcode::DmaSelftest));
        assert_eq!(Opcode::from_cmd(0x0102), Some(Opcode::DmaSelftest));
        for cmd in [0x00, 0x03, 0xff, CMD_IRQ] {
            assert_eq!(Opcode::from_cmd(cmd), None, "cmd {cmd:#x}");
        }
    }

    #[test]
    fn values_match_spec() {
        assert_eq!(MAGIC_HLSM.to_le_bytes(), *b"HLSM");
        assert_eq!(Status::BadSize as u32, 4);
        assert_eq!(State::Ready as u32, 1);
    }
}
