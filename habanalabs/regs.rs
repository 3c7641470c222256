// SPDX-License-Identifier: GPL-2.0

//! The device's registers, as `Documentation/accel/habanalabs/device-model.rst` defines them.
//!
//! Glossary:
//! - BAR0: ivshmem's own registers; the driver only uses `Doorbell`.
//! - BAR2: the device's register file, then its memory (DRAM).
//! - doorbell: a write of `(peer << 16) | vector` to BAR0 that wakes the device.
//! - mailbox: the control block through which the driver posts one command at a time.
//!
//! Each register and each word format the device shares with the driver through memory is
//! declared once, here, with `register!`: the rest of the driver uses the typed values.

use kernel::{
    io::{register::RegisterBlock, Io},
    prelude::*,
    register,
};

/// The part of BAR2 the driver maps: everything before device memory.
pub(crate) const REGS_SIZE: usize = 0x10_0000;
/// The part of BAR0 the driver maps: ivshmem's register page.
pub(crate) const IVSHMEM_SIZE: usize = 0x100;

/// BAR2 registers.
pub(crate) type Regs = Io<REGS_SIZE>;

// The identity block, written by the device when it is created.
register! {
    /// The bytes "HLSM" ([`MAGIC_VALUE`]).
    pub(crate) MAGIC(u32) @ 0x000 {}
}
register! {
    /// The device model's version.
    pub(crate) VERSION(u32) @ 0x004 {
        /// Changes compatibly.
        15:0 minor as u16;
        /// Changes incompatibly: the driver speaks [`VERSION_MAJOR`].
        31:16 major as u16;
    }
}
register! {
    /// What the device has.
    pub(crate) CAPS(u32) @ 0x008 {
        /// The `DMA_SELFTEST` mailbox command.
        0:0 dma_selftest as bool;
        /// Compute engines and their queues.
        1:1 compute as bool;
        /// NIC ports.
        2:2 nic as bool;
        /// RDMA on the ports.
        3:3 rdma as bool;
    }
}
register! {
    /// Which chip this is.
    pub(crate) CHIP_ID(u32) @ 0x00c {
        /// The chip: [`CHIP_ID::GAUDI_SIM`].
        15:0 chip as u16;
        /// Its revision.
        23:16 revision as u8;
    }
}
register! {
    /// The serial number, unique per device.
    pub(crate) SERIAL(u64) @ 0x010 {}
}
register! {
    /// Where device memory starts in BAR2: [`DRAM_BASE_VALUE`].
    pub(crate) DRAM_BASE(u32) @ 0x018 {}
}
register! {
    /// Bytes of device memory.
    pub(crate) DRAM_SIZE(u64) @ 0x020 {}
}
register! {
    /// The ivshmem vectors the device has.
    pub(crate) NUM_VECTORS(u32) @ 0x028 {}
}
register! {
    /// The ivshmem peer id doorbells are sent to.
    pub(crate) MODEL_PEER(u32) @ 0x02c {}
}
register! {
    /// Compute QMANs.
    pub(crate) NUM_QUEUES(u32) @ 0x034 {}
}
register! {
    /// The engines' current clock, in MHz.
    pub(crate) CLK_CUR_MHZ(u32) @ 0x038 {}
}
register! {
    /// The engines' maximum clock, in MHz.
    pub(crate) CLK_MAX_MHZ(u32) @ 0x03c {}
}
register! {
    /// The NIC ports present, a bit each.
    pub(crate) PORT_MASK(u32) @ 0x040 {}
}
register! {
    /// With `CAPS.RDMA`: connections per port.
    pub(crate) RDMA_CONNS(u32) @ 0x044 {}
}
register! {
    /// With `CAPS.RDMA`: completion queues per port.
    pub(crate) RDMA_CQS(u32) @ 0x048 {}
}
register! {
    /// The QMANs present, a bit per queue index (0: only the first `NUM_QUEUES`).
    pub(crate) QUEUE_MASK(u32) @ 0x04c {}
}
register! {
    /// Port `p`'s MAC address, first byte lowest; the upper 16 bits are not the address's.
    pub(crate) MAC(u64) @ 0x080[10; 8] {
        /// The address.
        47:0 addr as u64;
    }
}
const _: () = assert!(MAC::COUNT == kernel::uapi::HL_MAX_PORTS as usize);

impl MAC {
    /// The address's bytes, first on the wire first.
    pub(crate) fn bytes(self) -> [u8; 6] {
        let b = self.addr().to_le_bytes();
        [b[0], b[1], b[2], b[3], b[4], b[5]]
    }
}

// The control mailbox.
register! {
    /// The command posted.
    pub(crate) CMD(u32) @ 0x100 {
        /// Its [`Opcode`].
        7:0 opcode as u8;
        /// Raise vector [`VECTOR_CONTROL`] when done.
        31:31 irq as bool;
    }
}
register! {
    /// The sequence number of the command posted; the device runs it when this changes.
    pub(crate) CMD_SEQ(u32) @ 0x104 {}
}
register! {
    /// The sequence number of the last command the device completed.
    pub(crate) CMD_DONE_SEQ(u32) @ 0x108 {}
}
register! {
    /// How that command ended: a [`Status`] code.
    pub(crate) CMD_STATUS(u32) @ 0x10c {}
}
register! {
    /// The command's four arguments.
    pub(crate) CMD_ARG(u64) @ 0x110[4; 8] {}
}

// The sensors block (the hwmon device reads it whole, `hwmon.rs`).
register! {
    /// Board power, microwatts.
    pub(crate) POWER(u32) @ 0x410 {}
}
register! {
    /// The board's power limit, microwatts.
    pub(crate) POWER_MAX(u32) @ 0x414 {}
}
register! {
    /// Energy used since the device started, millijoules.
    pub(crate) ENERGY(u64) @ 0x440 {}
}
register! {
    /// The device's clock (GAUDI's PSOC timestamp counter), nanoseconds.
    pub(crate) TIMESTAMP(u64) @ 0x448 {}
}
register! {
    /// The firmware's heartbeat: a counter that moves every few tens of milliseconds while the
    /// firmware lives (the watchdog of reset.rs checks it).
    pub(crate) HEARTBEAT(u32) @ 0x450 {}
}
register! {
    /// The four output frequencies of each PLL, in MHz, in the order of
    /// `enum hl_gaudi_pll_index`.
    pub(crate) PLL(u64) @ 0x480[10; 8] {
        15:0 out0 as u16;
        31:16 out1 as u16;
        47:32 out2 as u16;
        63:48 out3 as u16;
    }
}

// The MMU.
register! {
    /// The DMA address of the level 0 table.
    pub(crate) MMU_ROOT(u64) @ 0x200 {}
}
register! {
    /// The MMU's control; while not enabled, every host access faults.
    pub(crate) MMU_CTL(u32) @ 0x208 {
        0:0 enable as bool;
    }
}

// The event queue.
register! {
    /// The DMA address of the ring.
    pub(crate) EQ_BASE(u64) @ 0x300 {}
}
register! {
    /// Entries in the ring.
    pub(crate) EQ_SIZE(u32) @ 0x308 {}
}
register! {
    /// Events consumed, written by the driver.
    pub(crate) EQ_CI(u32) @ 0x310 {}
}
register! {
    /// The event queue's control.
    pub(crate) EQ_CTL(u32) @ 0x314 {
        0:0 enable as bool;
    }
}
register! {
    /// Events the device dropped because the ring was full.
    pub(crate) EQ_LOST(u32) @ 0x318 {}
}

register! {
    /// The sync manager: SOBs, monitors and fence counters, all state in BAR2.
    pub(crate) SYNC_MANAGER(u32) @ 0x10000[16384; 4] {}
}

/// Streams of a QMAN (GAUDI's `QMAN_STREAMS`), each with its own PQ, CQ and fence counters.
pub(crate) const QMAN_STREAMS: usize = 4;

/// The register block of stream `s` of QMAN `q`, `QmanBlock(q, s)` (the device's own QMAN
/// number, not a GAUDI queue id): a QMAN's block holds its streams' blocks in turn.
pub(crate) struct QmanBlock(pub(crate) usize, pub(crate) usize);

impl RegisterBlock for QmanBlock {
    fn base(&self) -> usize {
        0x1000 + 0x400 * self.0 + 0x100 * self.1
    }
}

register! {
    /// The DMA address of the primary queue (PQ).
    pub(crate) PQ_BASE(u64) @ QmanBlock[0x00] {}
}
register! {
    /// Entries in the PQ.
    pub(crate) PQ_SIZE(u32) @ QmanBlock[0x08] {}
}
register! {
    /// Buffer descriptors posted, written by the driver.
    pub(crate) PQ_PI(u32) @ QmanBlock[0x0c] {}
}
// The CQ's DMA address is not 8-byte aligned in the block, so it is two registers.
register! {
    /// The low half of the completion queue's (CQ's) DMA address.
    pub(crate) CQ_BASE_LO(u32) @ QmanBlock[0x14] {}
}
register! {
    /// The high half of the CQ's DMA address.
    pub(crate) CQ_BASE_HI(u32) @ QmanBlock[0x18] {}
}
/// The CQ's DMA address `addr` as its two registers.
pub(crate) fn cq_base(addr: u64) -> (CQ_BASE_LO, CQ_BASE_HI) {
    (
        CQ_BASE_LO::from(addr as u32),
        CQ_BASE_HI::from((addr >> 32) as u32),
    )
}

register! {
    /// Entries in the CQ.
    pub(crate) CQ_SIZE(u32) @ QmanBlock[0x1c] {}
}
register! {
    /// Completions consumed, written by the driver.
    pub(crate) CQ_CI(u32) @ QmanBlock[0x24] {}
}
register! {
    /// Message base 0 of `MSG_SHORT`: the device address of the monitors, as GAUDI's driver
    /// sets it.
    pub(crate) MSG_BASE0(u64) @ QmanBlock[0x40] {}
}
register! {
    /// Message base 1 of `MSG_SHORT`: the device address of the SOBs.
    pub(crate) MSG_BASE1(u64) @ QmanBlock[0x48] {}
}
register! {
    /// The QMAN's control.
    pub(crate) QMAN_CTL(u32) @ QmanBlock[0x28] {
        0:0 enable as bool;
    }
}
register! {
    /// The engine the QMAN feeds.
    pub(crate) QMAN_ENGINE(u32) @ QmanBlock[0x30] {
        /// [`QMAN_ENGINE::DMA`], [`QMAN_ENGINE::TPC`], [`QMAN_ENGINE::NIC`] or
        /// [`QMAN_ENGINE::MME`].
        7:0 kind as u8;
        /// Its index among the engines of its kind.
        15:8 index as u8;
        /// Nothing: 0.
        31:16 reserved as u16;
    }
}

impl QMAN_ENGINE {
    pub(crate) const DMA: u8 = 0;
    pub(crate) const TPC: u8 = 1;
    pub(crate) const NIC: u8 = 2;
    pub(crate) const MME: u8 = 3;

    /// A type this driver knows, an index that fits the uAPI's engine masks, nothing else set.
    pub(crate) fn is_valid(self) -> bool {
        let known = matches!(self.kind(), Self::DMA | Self::TPC | Self::NIC | Self::MME);
        known && self.index() < 32 && self.reserved() == 0
    }
}

register! {
    /// The `ctl` word of a buffer descriptor.
    pub(crate) BD_CTL(u32) {
        /// Echoed in the job's completion entry.
        15:0 tag as u16;
        /// The BD's `ptr` is a device address (a CB the user placed in device memory or in
        /// mapped host memory, as GAUDI's internal queues take it), not a DMA address.
        16:16 device_cb as bool;
    }
}
register! {
    /// The `ctl` word of a QMAN completion entry.
    pub(crate) CQE_CTL(u32) {
        /// The tag of the job's buffer descriptor.
        15:0 tag as u16;
        /// How the job ended (0: success).
        23:16 status as u8;
        /// Written last by the device; cleared by the driver when it consumes the entry.
        31:31 ready as bool;
    }
}
register! {
    /// The `hdr` word of an event queue entry.
    pub(crate) EQE_HDR(u32) {
        /// The event's type: [`EQE_HDR::QMAN_ERROR`] or one this driver does not know.
        15:0 kind as u16;
        /// The queue it happened on.
        23:16 queue as u8;
        /// Written last by the device; cleared by the driver when it consumes the entry.
        31:31 ready as bool;
    }
}

impl EQE_HDR {
    /// A QMAN reported an error; the entry's `cause` is a uAPI event cause.
    pub(crate) const QMAN_ERROR: u16 = 1;
}

register! {
    /// An entry of an MMU table.
    pub(crate) PTE(u64) {
        /// The entry maps something.
        0:0 present as bool;
        /// The page may be written (leaf entries only).
        1:1 writable as bool;
        /// The 4 KiB frame of the next table or of the page.
        51:12 frame as u64;
    }
}

impl PTE {
    /// A present entry pointing to the table or page at DMA address `addr` (4 KiB aligned).
    pub(crate) fn to(addr: u64) -> Self {
        Self::default().set_present(true).set_frame(addr >> 12)
    }
}

register! {
    /// An offset in the host region of the device address space, as the MMU splits it.
    pub(crate) HOST_VA(u64) {
        /// The entry in the level 0 table.
        38:30 l0 as u16;
        /// The entry in the level 1 table.
        29:21 l1 as u16;
        /// The entry in the level 2 (leaf) table.
        20:12 l2 as u16;
    }
}

impl HOST_VA {
    /// The table entries that translate `self`, level 0 first.
    pub(crate) fn indices(self) -> [usize; 3] {
        [self.l0(), self.l1(), self.l2()].map(usize::from)
    }
}

/// The NIC port blocks, 2 KiB each: registers by offset in the block, for the Ethernet
/// driver (`eth/regs.rs`), which names them.
const PORTS: usize = 0x20000;
/// The size of a port's register block.
const PORT_BLOCK: usize = 0x800;
/// The ports' module EEPROMs.
const EEPROMS: usize = 0x30000;
/// The size of a port's module EEPROM window.
pub(crate) const EEPROM_SIZE: usize = 0x400;

/// The BAR2 offset of register `offset` of port `port`'s block.
pub(crate) fn port_reg(port: u8, offset: usize) -> Result<usize> {
    if port >= kernel::uapi::HL_MAX_PORTS as u8 || offset >= PORT_BLOCK {
        return Err(EINVAL);
    }
    Ok(PORTS + PORT_BLOCK * usize::from(port) + offset)
}

/// The BAR2 offset of byte `offset` of port `port`'s module EEPROM (`offset` below
/// [`EEPROM_SIZE`], checked by the caller).
pub(crate) fn eeprom(port: u8, offset: usize) -> usize {
    EEPROMS + EEPROM_SIZE * usize::from(port) + offset
}

/// The RDMA registers of the ports: connection contexts and completion queues.
pub(crate) mod rdma {
    use kernel::{io::register::RegisterBlock, register};

    /// Connections a port may have: its block holds this many contexts.
    pub(crate) const MAX_CONNS: u32 = 64;
    /// Completion queues a port may have: its block holds this many.
    pub(crate) const MAX_CQS: u32 = 16;

    /// Connection `conn` of port `port` (`conn` below [`MAX_CONNS`]): the responder's own
    /// registers.
    pub(crate) struct ConnBlock {
        pub(crate) port: u8,
        pub(crate) conn: u32,
    }

    impl RegisterBlock for ConnBlock {
        fn base(&self) -> usize {
            0x40000 + 0x2000 * self.port as usize + 0x80 * self.conn as usize
        }
    }

    /// Which of a connection's two contexts.
    #[derive(Clone, Copy)]
    pub(crate) enum Side {
        /// Whom this end's `NIC_WRITE` and `NIC_SEND` reach.
        Requester,
        /// Who may reach this end.
        Responder,
    }

    /// One context of a connection: the requester's and the responder's start alike.
    pub(crate) struct ContextBlock {
        pub(crate) conn: ConnBlock,
        pub(crate) side: Side,
    }

    impl RegisterBlock for ContextBlock {
        fn base(&self) -> usize {
            let side = match self.side {
                Side::Requester => 0x00,
                Side::Responder => 0x20,
            };
            self.conn.base() + side
        }
    }

    register! {
        /// A context's control; written last, once the context is set up.
        pub(crate) CONN_CTL(u32) @ ContextBlock[0x00] {
            /// The context is in use: the device reads the others.
            0:0 valid as bool;
        }
    }
    // The peer's MAC is not 8-byte aligned in the context, so it is two registers.
    register! {
        /// Bytes 0-3 of the peer port's MAC, first byte lowest.
        pub(crate) PEER_MAC_LO(u32) @ ContextBlock[0x04] {}
    }
    register! {
        /// Bytes 4-5 of the peer port's MAC.
        pub(crate) PEER_MAC_HI(u32) @ ContextBlock[0x08] {
            15:0 bytes as u16;
        }
    }
    register! {
        /// The peer's connection.
        pub(crate) PEER_CONN(u32) @ ContextBlock[0x0c] {}
    }
    register! {
        /// The device address of the responder's window.
        pub(crate) WIN_BASE(u64) @ ConnBlock[0x30] {}
    }
    register! {
        /// The window's size in bytes.
        pub(crate) WIN_SIZE(u64) @ ConnBlock[0x38] {}
    }
    register! {
        /// The DMA address of the responder's receive queue.
        pub(crate) RQ_BASE(u64) @ ConnBlock[0x40] {}
    }
    register! {
        /// Entries in the receive queue.
        pub(crate) RQ_SIZE(u32) @ ConnBlock[0x48] {}
    }

    /// Completion queue `cq` of port `port` (`cq` below [`MAX_CQS`]).
    pub(crate) struct CqBlock {
        pub(crate) port: u8,
        pub(crate) cq: u32,
    }

    impl RegisterBlock for CqBlock {
        fn base(&self) -> usize {
            0x54000 + 0x200 * self.port as usize + 0x20 * self.cq as usize
        }
    }

    register! {
        /// The DMA address of the ring.
        pub(crate) CQ_BASE(u64) @ CqBlock[0x00] {}
    }
    register! {
        /// Entries in the ring.
        pub(crate) CQ_SIZE(u32) @ CqBlock[0x08] {}
    }
    register! {
        /// Entries produced, written by the device.
        pub(crate) CQ_PI(u32) @ CqBlock[0x0c] {}
    }
    register! {
        /// Entries consumed, written by the driver.
        pub(crate) CQ_CI(u32) @ CqBlock[0x10] {}
    }
    register! {
        /// The queue's control.
        pub(crate) CQ_CTL(u32) @ CqBlock[0x14] {
            0:0 enable as bool;
            /// Raise the port's NIC QMAN vector after each entry.
            1:1 irq as bool;
        }
    }
    register! {
        /// Entries the device dropped because the ring was full.
        pub(crate) CQ_LOST(u32) @ CqBlock[0x18] {}
    }
}

// PCI.
register! {
    /// BAR2's bus address, which the model cannot see itself: while set, other devices' DMA
    /// to BAR2's window lands in its memory (peer-to-peer); 0 decodes nothing.
    pub(crate) BAR2_BUS(u64) @ 0x500 {}
}
register! {
    /// Bytes the DMA engines read from host memory over PCIe (received) since the model
    /// started.
    pub(crate) PCIE_RX_BYTES(u64) @ 0x510 {}
}
register! {
    /// Bytes the DMA engines wrote to host memory over PCIe (sent) since the model started.
    pub(crate) PCIE_TX_BYTES(u64) @ 0x518 {}
}
register! {
    /// PCIe replays (retried transfers) the link has seen.
    pub(crate) PCIE_REPLAY_CNT(u32) @ 0x520 {}
}

register! {
    /// BAR0 (ivshmem) `Doorbell`: wakes vector `vector` of peer `peer`.
    pub(crate) DOORBELL(u32) @ 0x0c {
        15:0 vector as u16;
        31:16 peer as u16;
    }
}

/// Where device memory starts in the device address space.
pub(crate) const DRAM_ADDR_BASE: u64 = kernel::uapi::HL_DRAM_BASE as u64;
/// Where the SRAM starts in the device address space: GAUDI's `SRAM_BASE_ADDR`.
pub(crate) const SRAM_ADDR_BASE: u64 = 0x7f_f000_0000;
/// Bytes of SRAM: GAUDI's `SRAM_SIZE`.
pub(crate) const SRAM_SIZE: u64 = 0x140_0000;
/// GAUDI's configuration space, `CFG_BASE`: the sync manager's and the QMANs' registers.
pub(crate) const CFG_BASE: u64 = 0x7f_fc00_0000;
/// `ARB_CFG_0` in a QMAN's configuration block: its arbiter's type and enable bits, which a
/// user's `MSG_LONG` may set (GAUDI leaves the register unprotected).
pub(crate) const QM_ARB_CFG_0: u64 = 0xa00;

/// Where the configuration block of the QMAN of `engine` is in GAUDI's configuration space
/// (`asic_reg/`'s `mmDMA0_QM_BASE` and the others), if GAUDI has one.
pub(crate) fn qm_cfg_block(engine: QMAN_ENGINE) -> Option<u64> {
    let i = u64::from(engine.index());
    let block = match engine.kind() {
        QMAN_ENGINE::DMA => 0x50_8000 + 0x2_0000 * i,
        QMAN_ENGINE::TPC => 0xe0_8000 + 0x4_0000 * i,
        QMAN_ENGINE::NIC => 0xce_0000 + 0x4_0000 * (i / 2) + 0x2000 * (i % 2),
        // The model's MME 0 queues are GAUDI's MME2 QMAN's, MME 1's its MME0's.
        QMAN_ENGINE::MME if i == 0 => 0x16_8000,
        QMAN_ENGINE::MME => 0x06_8000,
        _ => return None,
    };
    Some(CFG_BASE + block)
}
/// Where the sync manager's SOBs start in the device address space: GAUDI's
/// `SYNC_MNGR_E_N` `SOB_OBJ_0` in the configuration space.
pub(crate) const SOB_ADDR_BASE: u64 = kernel::uapi::HL_SYNC_MNGR_BASE;
/// Where its monitors' registers start (`MON_PAY_ADDRL[0]`).
pub(crate) const MON_ADDR_BASE: u64 = SOB_ADDR_BASE + 0x2000;
/// Where the model's fence counters start, from [`SOB_ADDR_BASE`]: [`FENCE_QMAN_STRIDE`]
/// bytes per QMAN, in it 16 bytes per stream (then the lower CP's), a counter of 4 bytes per
/// fence id.
pub(crate) const FENCE_ADDR_OFFSET: u64 = 0x8000;
/// Bytes of a QMAN's fence counters: its four streams' and its lower CP's.
pub(crate) const FENCE_QMAN_STRIDE: u64 = 16 * (QMAN_STREAMS as u64 + 1);
/// Offsets of a monitor's payload address (high), payload data and arm registers from its
/// `MON_PAY_ADDRL`, as GAUDI's sync manager lays them out (arrays of 512 registers).
pub(crate) const MON_PAY_ADDRH: u32 = 0x800;
pub(crate) const MON_PAY_DATA: u32 = 0x1000;
pub(crate) const MON_ARM: u32 = 0x1800;

/// Packet opcodes the driver writes itself, as `gaudi_packets.h` numbers them.
pub(crate) const PACKET_WREG_32: u8 = 0x01;
pub(crate) const PACKET_MSG_LONG: u8 = 0x03;
pub(crate) const PACKET_MSG_SHORT: u8 = 0x04;
pub(crate) const PACKET_FENCE: u8 = 0x08;
pub(crate) const PACKET_NOP: u8 = 0x0a;

register! {
    /// A packet's first eight bytes as `gaudi_packets.h` lays them out: the value word, then
    /// `ctl` with the opcode-specific fields, the opcode and the barrier bits. The fields of
    /// the packets the driver writes are named; the rest of `ctl` is zero for them.
    pub(crate) PACKET(u64) {
        /// The value word: the data of WREG_32 and MSG_SHORT, FENCE's configuration.
        31:0 value as u32;
        /// MSG_SHORT: the offset from the message base.
        47:32 msg_offset as u16;
        /// WREG_32: the register's offset (the model's position: `ctl` bits 23:8).
        55:40 reg_offset as u16;
        /// MSG_SHORT: which of the QMAN's message bases (`MSG_BASE0`..3).
        55:54 msg_base as u8;
        /// The packet's opcode.
        60:56 opcode as u8;
        /// Register barrier: earlier register writes complete first.
        62:62 rb as bool;
        /// Message barrier: earlier messages complete first.
        63:63 mb as bool;
    }
}

register! {
    /// FENCE's value word: wait until fence counter `id` reaches `target`, then take `dec`.
    pub(crate) FENCE_CFG(u32) {
        /// Subtracted from the counter when the wait ends.
        3:0 dec as u8;
        /// The value waited for.
        23:16 target as u8;
        /// The fence counter (0-3) of the stream.
        31:30 id as u8;
    }
}

register! {
    /// A monitor's arm value (MSG_SHORT to `MON_ARM`): fire when the unmasked SOBs of group
    /// `group` (SOBs `8 * group` to `8 * group + 7`) reach `value`.
    pub(crate) MON_ARM_VALUE(u32) {
        /// The group of eight SOBs watched.
        7:0 group as u8;
        /// SOBs of the group ignored (bit n: SOB `8 * group + n`).
        15:8 mask as u8;
        /// Set: fire on equality; clear: fire on greater or equal.
        16:16 equal as bool;
        /// The value the SOBs must reach.
        31:17 value as u16;
    }
}

/// Where host memory (through the MMU) starts in the device address space.
pub(crate) const HOST_VA_BASE: u64 = kernel::uapi::HL_HOST_VA_BASE;

/// `MAGIC`: the bytes "HLSM".
pub(crate) const MAGIC_VALUE: u32 = 0x4d53_4c48;
/// The `VERSION` major this driver speaks.
pub(crate) const VERSION_MAJOR: u16 = 1;
/// `DRAM_BASE` must be where the register window ends.
pub(crate) const DRAM_BASE_VALUE: u32 = REGS_SIZE as u32;
/// Most DRAM from [`DRAM_ADDR_BASE`]: to the end of GAUDI's 32 GiB of HBM.
pub(crate) const DRAM_SIZE_MAX: u64 = (32 << 30) - DRAM_ADDR_BASE;

impl CHIP_ID {
    /// GAUDI-sim, the device model.
    pub(crate) const GAUDI_SIM: u16 = 0x1000;
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
    DramRows = 0x07,
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
/// The vector of compute QMAN 0; QMANs 1 to 3 follow.
const VECTOR_QMAN_0: u16 = 2;
/// The vector the internal QMANs without one of their own (DMA 2-7, TPC 2-7, MME 0-1) share,
/// for their doorbell and their completions: after the ports' RX queues'.
pub(crate) const VECTOR_INTERNAL: u16 = 56;
/// The vector of NIC port 0; the others follow.
const VECTOR_PORT_0: u16 = 6;

/// The device's own index of port `p`'s NIC QMAN (its QMAN blocks and vectors follow it).
pub(crate) const NIC_QUEUE_0: usize = 16;

/// Queue indices are below this: a submission's queues fit a `u32` mask.
pub(crate) const MAX_QUEUES: usize = 32;
const _: () = assert!(NIC_QUEUE_0 + kernel::uapi::HL_MAX_PORTS as usize <= MAX_QUEUES);

/// The device's own index of MME 0's QMAN; MME 1's follows.
pub(crate) const MME_QUEUE_0: usize = 26;

/// The vector of QMAN `q`: its doorbell and its completion interrupt. A NIC QMAN's vector is
/// its queue index; it also signals its port's RDMA completion queues.
pub(crate) fn vector_qman(q: usize) -> u16 {
    match q {
        0..=3 => VECTOR_QMAN_0 + q as u16,
        NIC_QUEUE_0..MME_QUEUE_0 => q as u16,
        _ => VECTOR_INTERNAL,
    }
}

/// The device's own indices of the internal QMANs that share [`VECTOR_INTERNAL`]: DMA 2-7,
/// TPC 2-7, MME 0-1.
pub(crate) fn internal_queues() -> impl Iterator<Item = usize> {
    Iterator::chain(4..NIC_QUEUE_0, MME_QUEUE_0..MME_QUEUE_0 + 2)
}

/// The vector of NIC port `p`: its doorbell and its interrupt.
pub(crate) fn vector_port(p: u8) -> u16 {
    VECTOR_PORT_0 + u16::from(p)
}

/// The vector of port 0's RX queue 1; port `p`'s RX queue `r` (1 and up) follows at
/// `(RX_QUEUES - 1) * p + r - 1`.
const VECTOR_RXQ_1: u16 = 26;
/// RX queues per port, each with its vector.
pub(crate) const RX_QUEUES: u16 = 4;

/// The vector of RX queue `r` of NIC port `p`: the port's own for queue 0.
pub(crate) fn vector_port_rxq(p: u8, r: u16) -> u16 {
    if r == 0 {
        vector_port(p)
    } else {
        VECTOR_RXQ_1 + (RX_QUEUES - 1) * u16::from(p) + r - 1
    }
}

/// Vectors the driver uses: control, event queue, the QMANs, the ports and, with RDMA, the
/// NIC QMANs, then the ports' other RX queues, and with `internal` queues their shared vector.
pub(crate) const fn vectors_used(ports: u8, rdma: bool, internal: bool) -> u32 {
    if internal {
        return VECTOR_INTERNAL as u32 + 1;
    }
    let base = if rdma {
        NIC_QUEUE_0 as u32 + ports as u32
    } else {
        VECTOR_PORT_0 as u32 + ports as u32
    };
    if ports == 0 {
        base
    } else {
        VECTOR_RXQ_1 as u32 + (RX_QUEUES as u32 - 1) * ports as u32
    }
}
