// SPDX-License-Identifier: GPL-2.0

//! The device's registers, as `Documentation/accel/habanalabs/device-model.rst` defines them.
//!
//! Glossary:
//! - BAR0: ivshmem's own registers; the driver only uses `Doorbell`.
//! - BAR2: the device's register file, then its memory (DRAM).
//! - doorbell: a write of `(peer << 16) | vector` to BAR0 that wakes the device.
//! - mailbox: the control block through which the driver posts one command at a time.
//!
//! Raw offsets stay in this file: the rest of the driver uses the typed values below.

use kernel::{io::Io, prelude::*};

/// The part of BAR2 the driver maps: everything before device memory.
pub(crate) const REGS_SIZE: usize = 0x10_0000;
/// The part of BAR0 the driver maps: ivshmem's register page.
pub(crate) const IVSHMEM_SIZE: usize = 0x100;

/// BAR2 registers.
pub(crate) type Regs = Io<REGS_SIZE>;

pub(crate) const MAGIC: usize = 0x000;
pub(crate) const VERSION: usize = 0x004;
pub(crate) const CAPS: usize = 0x008;
pub(crate) const CHIP_ID: usize = 0x00c;
pub(crate) const SERIAL_LO: usize = 0x010;
pub(crate) const SERIAL_HI: usize = 0x014;
pub(crate) const DRAM_BASE: usize = 0x018;
pub(crate) const DRAM_SIZE_LO: usize = 0x020;
pub(crate) const DRAM_SIZE_HI: usize = 0x024;
pub(crate) const NUM_VECTORS: usize = 0x028;
pub(crate) const MODEL_PEER: usize = 0x02c;
pub(crate) const NUM_QUEUES: usize = 0x034;
pub(crate) const CLK_CUR_MHZ: usize = 0x038;
pub(crate) const CLK_MAX_MHZ: usize = 0x03c;
pub(crate) const PORT_MASK: usize = 0x040;
pub(crate) const RDMA_CONNS: usize = 0x044;
pub(crate) const RDMA_CQS: usize = 0x048;
/// Port `p`'s MAC: bytes 0-3 at `MAC + 8 * p`, bytes 4-5 in the low half of the next word.
pub(crate) const MAC: usize = 0x080;

pub(crate) const CMD: usize = 0x100;
pub(crate) const CMD_SEQ: usize = 0x104;
pub(crate) const CMD_DONE_SEQ: usize = 0x108;
pub(crate) const CMD_STATUS: usize = 0x10c;
/// `ARGn_LO` is at `CMD_ARG0 + 8 * n`, `ARGn_HI` 4 bytes later.
pub(crate) const CMD_ARG0: usize = 0x110;
pub(crate) const CMD_ARGS: usize = 4;

pub(crate) const MMU_ROOT_LO: usize = 0x200;
pub(crate) const MMU_ROOT_HI: usize = 0x204;
pub(crate) const MMU_CTL: usize = 0x208;

pub(crate) const EQ_BASE_LO: usize = 0x300;
pub(crate) const EQ_BASE_HI: usize = 0x304;
pub(crate) const EQ_SIZE: usize = 0x308;
pub(crate) const EQ_CI: usize = 0x310;
pub(crate) const EQ_CTL: usize = 0x314;
pub(crate) const EQ_LOST: usize = 0x318;

/// `ENABLE`, bit 0 of `MMU_CTL`, `EQ_CTL`, a QMAN's `CTL` and an RDMA CQ's `CQ_CTL`.
pub(crate) const CTL_ENABLE: u32 = 1 << 0;

/// The sync manager: SOBs, monitors and fence counters, all state in BAR2.
pub(crate) const SYNC_MANAGER: usize = 0x10000;
pub(crate) const SYNC_MANAGER_SIZE: usize = 0x10000;

/// The NIC port blocks, 2 KiB each.
pub(crate) const PORTS: usize = 0x20000;
/// The ports' module EEPROMs, 1 KiB each.
pub(crate) const EEPROMS: usize = 0x30000;

/// The RDMA registers of the ports: connection contexts and completion queues.
pub(crate) mod rdma {
    /// Connections a port may have: its block holds this many contexts.
    pub(crate) const MAX_CONNS: u32 = 64;
    /// Completion queues a port may have: its block holds this many.
    pub(crate) const MAX_CQS: u32 = 16;

    /// The contexts of connection `c` of port `p` (`c` below [`MAX_CONNS`]), at
    /// `conn(p, c) + offset`.
    pub(crate) const fn conn(p: u8, c: u32) -> usize {
        0x40000 + 0x2000 * p as usize + 0x80 * c as usize
    }

    /// The requester context and the responder context start alike, at these offsets: `CTL`,
    /// then the peer's port MAC and connection.
    pub(crate) const REQ: usize = 0x00;
    pub(crate) const RES: usize = 0x20;
    pub(crate) const CTL: usize = 0x00;
    pub(crate) const PEER_MAC_LO: usize = 0x04;
    pub(crate) const PEER_MAC_HI: usize = 0x08;
    pub(crate) const PEER_CONN: usize = 0x0c;
    /// The responder context's own registers.
    pub(crate) const WIN_BASE_LO: usize = 0x30;
    pub(crate) const WIN_BASE_HI: usize = 0x34;
    pub(crate) const WIN_SIZE_LO: usize = 0x38;
    pub(crate) const WIN_SIZE_HI: usize = 0x3c;
    pub(crate) const RQ_BASE_LO: usize = 0x40;
    pub(crate) const RQ_BASE_HI: usize = 0x44;
    pub(crate) const RQ_SIZE: usize = 0x48;

    /// `VALID`, bit 0 of either context's `CTL`.
    pub(crate) const CONN_VALID: u32 = 1 << 0;

    /// The registers of completion queue `k` of port `p` (`k` below [`MAX_CQS`]), at
    /// `cq(p, k) + offset`.
    pub(crate) const fn cq(p: u8, k: u32) -> usize {
        0x54000 + 0x200 * p as usize + 0x20 * k as usize
    }

    pub(crate) const CQ_BASE_LO: usize = 0x00;
    pub(crate) const CQ_BASE_HI: usize = 0x04;
    pub(crate) const CQ_SIZE: usize = 0x08;
    pub(crate) const CQ_PI: usize = 0x0c;
    pub(crate) const CQ_CI: usize = 0x10;
    pub(crate) const CQ_CTL: usize = 0x14;
    pub(crate) const CQ_LOST: usize = 0x18;

    /// `IRQ`, bit 1 of `CQ_CTL`: raise the port's NIC QMAN vector after each entry.
    pub(crate) const CQ_CTL_IRQ: u32 = 1 << 1;

    /// A MAC address as the `*_MAC_LO` and `*_MAC_HI` registers hold it.
    pub(crate) fn mac_words(mac: [u8; 6]) -> (u32, u32) {
        let lo = u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]);
        (lo, u32::from_le_bytes([mac[4], mac[5], 0, 0]))
    }
}

/// The registers of QMAN `q`, at `qman(q) + offset`.
pub(crate) const fn qman(q: usize) -> usize {
    0x1000 + 0x100 * q
}

pub(crate) const PQ_BASE_LO: usize = 0x00;
pub(crate) const PQ_BASE_HI: usize = 0x04;
pub(crate) const PQ_SIZE: usize = 0x08;
pub(crate) const PQ_PI: usize = 0x0c;
pub(crate) const CQ_BASE_LO: usize = 0x14;
pub(crate) const CQ_BASE_HI: usize = 0x18;
pub(crate) const CQ_SIZE: usize = 0x1c;
pub(crate) const CQ_CI: usize = 0x24;
pub(crate) const QMAN_CTL: usize = 0x28;
pub(crate) const QMAN_ENGINE: usize = 0x30;

/// BAR0 (ivshmem) `Doorbell`.
pub(crate) const IVSHMEM_DOORBELL: usize = 0x0c;

/// Where device memory starts in the device address space.
pub(crate) const DRAM_ADDR_BASE: u64 = kernel::uapi::HL_DRAM_BASE as u64;
/// Where host memory (through the MMU) starts in the device address space.
pub(crate) const HOST_VA_BASE: u64 = kernel::uapi::HL_HOST_VA_BASE as u64;

/// `MAGIC`: the bytes "HLSM".
pub(crate) const MAGIC_VALUE: u32 = 0x4d53_4c48;
/// The `VERSION` major this driver speaks.
pub(crate) const VERSION_MAJOR: u16 = 1;
/// `DRAM_BASE` must be where the register window ends.
pub(crate) const DRAM_BASE_VALUE: u32 = REGS_SIZE as u32;

/// `VERSION`.
#[derive(Clone, Copy)]
pub(crate) struct Version(pub(crate) u32);

impl Version {
    pub(crate) fn major(self) -> u16 {
        (self.0 >> 16) as u16
    }

    pub(crate) fn minor(self) -> u16 {
        self.0 as u16
    }
}

/// `CHIP_ID`.
#[derive(Clone, Copy)]
pub(crate) struct ChipId(pub(crate) u32);

impl ChipId {
    /// GAUDI-sim, the device model.
    pub(crate) const GAUDI_SIM: u16 = 0x1000;

    pub(crate) fn chip(self) -> u16 {
        self.0 as u16
    }

    pub(crate) fn revision(self) -> u8 {
        (self.0 >> 16) as u8
    }
}

/// `CAPS` bits.
pub(crate) mod caps {
    pub(crate) const DMA_SELFTEST: u32 = 1 << 0;
    pub(crate) const COMPUTE: u32 = 1 << 1;
    pub(crate) const NIC: u32 = 1 << 2;
    pub(crate) const RDMA: u32 = 1 << 3;
}

/// Mailbox opcodes (`CMD[7:0]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Opcode {
    Reset = 0x01,
    DmaSelftest = 0x02,
    QmanReset = 0x03,
    PortStop = 0x04,
    ConnReset = 0x05,
    CqReset = 0x06,
}

/// `CMD`: an opcode, and whether the device raises vector 0 when done.
pub(crate) fn cmd(opcode: Opcode, irq: bool) -> u32 {
    const IRQ: u32 = 1 << 31;
    u32::from(opcode as u8) | if irq { IRQ } else { 0 }
}

/// `CMD_STATUS`, as the device reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    BadOpcode,
    BadHostAddr,
    BadDevAddr,
    BadSize,
}

impl Status {
    /// Decodes a status word; an unknown one is a device fault.
    pub(crate) fn from_raw(raw: u32) -> Result<Self> {
        Ok(match raw {
            0 => Self::Ok,
            1 => Self::BadOpcode,
            2 => Self::BadHostAddr,
            3 => Self::BadDevAddr,
            4 => Self::BadSize,
            _ => return Err(EIO),
        })
    }

    /// The errno a command that ended with this status fails with.
    pub(crate) fn to_result(self) -> Result {
        match self {
            Self::Ok => Ok(()),
            Self::BadOpcode => Err(EOPNOTSUPP),
            Self::BadHostAddr => Err(EFAULT),
            Self::BadDevAddr | Self::BadSize => Err(EINVAL),
        }
    }
}

/// Vector 0: the control mailbox, both as doorbell and as interrupt.
pub(crate) const VECTOR_CONTROL: u16 = 0;
/// Vector 1: the event queue's interrupt.
pub(crate) const VECTOR_EQ: u16 = 1;

/// The queue index of port `p`'s NIC QMAN.
pub(crate) const NIC_QUEUE_0: usize = kernel::uapi::HL_QUEUE_NIC_0 as usize;

/// Queue indices are below this: a submission's queues fit a `u32` mask.
pub(crate) const MAX_QUEUES: usize = 32;
const _: () = assert!(NIC_QUEUE_0 + kernel::uapi::HL_MAX_PORTS as usize <= MAX_QUEUES);

/// The vector of QMAN `q`: its doorbell and its completion interrupt. A NIC QMAN's vector is
/// its queue index; it also signals its port's RDMA completion queues.
pub(crate) fn vector_qman(q: usize) -> u16 {
    if q >= NIC_QUEUE_0 {
        q as u16
    } else {
        2 + q as u16
    }
}

/// The vector of NIC port `p`: its doorbell and its interrupt.
pub(crate) fn vector_port(p: u8) -> u16 {
    6 + u16::from(p)
}

/// Vectors the driver uses: control, event queue, the QMANs, the ports and, with RDMA, the
/// NIC QMANs.
pub(crate) const fn vectors_used(ports: u8, rdma: bool) -> u32 {
    if rdma {
        NIC_QUEUE_0 as u32 + ports as u32
    } else {
        6 + ports as u32
    }
}

/// `ENGINE` of a QMAN.
#[derive(Clone, Copy)]
pub(crate) struct Engine(pub(crate) u32);

impl Engine {
    pub(crate) const DMA: u8 = 0;
    pub(crate) const TPC: u8 = 1;
    pub(crate) const NIC: u8 = 2;

    pub(crate) fn kind(self) -> u8 {
        self.0 as u8
    }

    pub(crate) fn index(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// A type this driver knows, an index that fits the uAPI's engine masks, nothing else set.
    pub(crate) fn is_valid(self) -> bool {
        let known = matches!(self.kind(), Self::DMA | Self::TPC | Self::NIC);
        known && self.index() < 32 && self.0 >> 16 == 0
    }
}

/// The value written to ivshmem's `Doorbell` to ring `vector` of `peer`.
pub(crate) fn doorbell(peer: u16, vector: u16) -> u32 {
    (u32::from(peer) << 16) | u32::from(vector)
}
