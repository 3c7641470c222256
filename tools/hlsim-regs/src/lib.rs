// SPDX-License-Identifier: GPL-2.0

//! The device model's register map: the BAR2 layout, the registers' values
//! and the codes of `Documentation/accel/habanalabs/device-model.rst`, with
//! its names.
//!
//! This is userspace's one copy of the map: hlsim implements it (as
//! `hlsim::regs`), hl-thunk's tests read the model through it, and the
//! selftests' `regs.sh` is generated from it by [`shell`] (this crate's
//! binary prints it; a test fails when the file and the map differ).
//! A change to the layout is made in device-model.rst, here and in the
//! driver's `habanalabs/regs.rs`, which no test compares with this map
//! yet; then `regs.sh` is regenerated.
//!
//! All registers are 32-bit; a 64-bit value is a `_LO`/`_HI` pair. BAR2
//! holds, in order:
//!
//! | Offset     | Block                                                |
//! |------------|------------------------------------------------------|
//! | `0x000`    | [`identity`], the ports' MAC addresses from `0x080`  |
//! | `0x100`    | [`mailbox`], one control command at a time           |
//! | `0x200`    | [`mmu`]                                              |
//! | `0x300`    | [`eq`], the event queue                              |
//! | `0x400`    | [`sensors`]: temperature, power, current, voltage    |
//! | `0x500`    | [`pci`]: where the host placed BAR2, for peer DMA    |
//! | `0x1000`   | [`qman`], a block per compute or NIC queue           |
//! | `0x10000`  | [`sync_manager`]: SOBs, monitors, fence counters     |
//! | `0x20000`  | [`nic`], a block per port, with its [`counters`]     |
//! | `0x30000`  | [`eeprom`], a window per port                        |
//! | `0x40000`  | [`rdma`] connections, from `0x54000` its CQs         |
//! | `0xff000`  | [`model_ctl`], the tests' page                       |
//! | `0x100000` | device memory, [`DRAM_OFFSET`]                       |
//!
//! A block's module gives absolute BAR2 offsets, except for the blocks
//! repeated per queue, port, connection or CQ, and the sync manager, whose
//! registers are relative to the block (`block()`, `conn()`, `cq()`,
//! [`sync_manager::BASE`]). The values of the identity registers, and the
//! bits and codes of all registers, follow the blocks, in the same order.

#![warn(missing_docs)]

mod shell;

pub use shell::{SHELL_PATH, shell};

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
    /// `NUM_QUEUES`: compute QMANs with vectors of their own (queues 0 to
    /// `NUM_QUEUES - 1`).
    pub const NUM_QUEUES: u64 = 0x034;
    /// `CLK_CUR_MHZ`: current engine clock.
    pub const CLK_CUR_MHZ: u64 = 0x038;
    /// `CLK_MAX_MHZ`: maximum engine clock.
    pub const CLK_MAX_MHZ: u64 = 0x03c;
    /// `PORT_MASK`: NIC ports present, a bit per port.
    pub const PORT_MASK: u64 = 0x040;
    /// `RDMA_CONNS`: RDMA connections per port.
    pub const RDMA_CONNS: u64 = 0x044;
    /// `RDMA_CQS`: RDMA completion queues per port.
    pub const RDMA_CQS: u64 = 0x048;
    /// `QUEUE_MASK`: QMANs present, a bit per queue number.
    pub const QUEUE_MASK: u64 = 0x04c;

    /// Ports the `MAC` registers have room for.
    pub const MAX_PORTS: u64 = 16;

    /// `MAC` of port `p`, bytes 0-3 (byte 0 in bits 7:0).
    pub const fn mac_lo(p: u64) -> u64 {
        0x080 + 8 * p
    }

    /// `MAC` of port `p`, bytes 4-5 in bits 15:0.
    pub const fn mac_hi(p: u64) -> u64 {
        0x084 + 8 * p
    }
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

/// MMU.
pub mod mmu {
    /// First byte of the block.
    pub const BASE: u64 = 0x200;
    /// Bytes in the block.
    pub const SIZE: u64 = 0x100;
    /// `ROOT_LO`: DMA address of the level 0 table, bits 31:0.
    pub const ROOT_LO: u64 = 0x200;
    /// `ROOT_HI`: bits 63:32 of the root.
    pub const ROOT_HI: u64 = 0x204;
    /// `CTL`: bit 0 [`super::MMU_ENABLE`].
    pub const CTL: u64 = 0x208;
}

/// Event queue.
pub mod eq {
    /// First byte of the block.
    pub const BASE: u64 = 0x300;
    /// Bytes in the block.
    pub const SIZE: u64 = 0x100;
    /// `EQ_BASE_LO`: DMA address of the ring, bits 31:0.
    pub const EQ_BASE_LO: u64 = 0x300;
    /// `EQ_BASE_HI`: bits 63:32 of the ring address.
    pub const EQ_BASE_HI: u64 = 0x304;
    /// `EQ_SIZE`: entries in the ring.
    pub const EQ_SIZE: u64 = 0x308;
    /// `EQ_PI`: events produced (written by the model).
    pub const EQ_PI: u64 = 0x30c;
    /// `EQ_CI`: events consumed (written by the driver).
    pub const EQ_CI: u64 = 0x310;
    /// `EQ_CTL`: bit 0 [`super::EQ_ENABLE`].
    pub const EQ_CTL: u64 = 0x314;
    /// `EQ_LOST`: events dropped (written by the model).
    pub const EQ_LOST: u64 = 0x318;
}

/// Sensors: the model's readings, updated every [`sensors::PERIOD_MS`]
/// from how busy its engines and ports are, and their limits; its clock,
/// updated every [`sensors::TICK_MS`]; its PLLs. Read only.
pub mod sensors {
    /// First byte of the block.
    pub const BASE: u64 = 0x400;
    /// Bytes in the block.
    pub const SIZE: u64 = 0x100;
    /// `TEMP`: die temperature, millidegrees Celsius.
    pub const TEMP: u64 = 0x400;
    /// `TEMP_MAX`: temperature above which the device throttles.
    pub const TEMP_MAX: u64 = 0x404;
    /// `TEMP_CRIT`: temperature at which the device shuts down.
    pub const TEMP_CRIT: u64 = 0x408;
    /// `POWER`: board power, microwatts.
    pub const POWER: u64 = 0x410;
    /// `POWER_MAX`: the board's power limit.
    pub const POWER_MAX: u64 = 0x414;
    /// `CURR`: core current, milliamperes.
    pub const CURR: u64 = 0x420;
    /// `CURR_MAX`: the core rail's current limit.
    pub const CURR_MAX: u64 = 0x424;
    /// `VOLT`: core voltage, millivolts.
    pub const VOLT: u64 = 0x430;
    /// `VOLT_MIN`: lowest core voltage in specification.
    pub const VOLT_MIN: u64 = 0x434;
    /// `VOLT_MAX`: highest core voltage in specification.
    pub const VOLT_MAX: u64 = 0x438;
    /// `ENERGY` (64 bits): energy used since the model started, millijoules.
    pub const ENERGY: u64 = 0x440;
    /// `TIMESTAMP` (64 bits): the device's clock, nanoseconds since the
    /// model started (GAUDI's PSOC timestamp counter).
    pub const TIMESTAMP: u64 = 0x448;
    /// `HEARTBEAT`: a counter the device's firmware advances every
    /// [`PERIOD_MS`] while it is alive; the driver's watchdog checks that
    /// it moves ([`super::FAULT_HEARTBEAT_STOP`] stops it).
    pub const HEARTBEAT: u64 = 0x450;
    /// `PLL`: [`NUM_PLLS`] PLLs in the order of `enum hl_gaudi_pll_index`,
    /// each four 16-bit output frequencies in MHz ([`pll`]).
    pub const PLL: u64 = 0x480;
    /// PLLs in [`PLL`].
    pub const NUM_PLLS: usize = 10;
    /// How often the model updates the readings, in milliseconds.
    pub const PERIOD_MS: u64 = 20;
    /// How often the model updates [`TIMESTAMP`], in milliseconds.
    pub const TICK_MS: u64 = 1;

    /// Offset of output `out` (0 to 3) of PLL `pll`.
    pub const fn pll(pll: usize, out: usize) -> u64 {
        PLL + 8 * pll as u64 + 2 * out as u64
    }
}

/// PCI: where the host placed BAR2 on the bus, which the model cannot see
/// (QEMU owns configuration space), and the traffic of its DMA engines to
/// and from host memory. The driver writes it at probe and
/// clears it when it lets the device go; while it is set, another device's
/// DMA to an address in the window lands in this device's BAR2
/// (peer-to-peer, as through a dma-buf). Reset value 0: no window.
pub mod pci {
    /// First byte of the block.
    pub const BASE: u64 = 0x500;
    /// Bytes in the block.
    pub const SIZE: u64 = 0x100;
    /// `BAR2_BUS_LO`: BAR2's bus address, bits 31:0.
    pub const BAR2_BUS_LO: u64 = 0x500;
    /// `BAR2_BUS_HI`: BAR2's bus address, bits 63:32.
    pub const BAR2_BUS_HI: u64 = 0x504;
    /// `RX_BYTES` (64 bits, read only): bytes the DMA engines have read
    /// from host memory over PCIe (the device received) since the model
    /// started.
    pub const RX_BYTES: u64 = 0x510;
    /// `TX_BYTES` (64 bits, read only): bytes the DMA engines have written
    /// to host memory over PCIe (the device sent) since the model started.
    pub const TX_BYTES: u64 = 0x518;
    /// `REPLAY_CNT` (read only): PCIe replays; the model's link has none, 0.
    pub const REPLAY_CNT: u64 = 0x520;
}

/// QMAN blocks, of the compute queues and of the ports' NIC queues. A
/// QMAN has [`qman::STREAMS`] streams, as GAUDI's: each its own PQ, CQ
/// and command processor, laid out alike from [`qman::stream`]; the
/// offsets below are relative to a stream's registers. Stream 0's are at
/// the QMAN's [`qman::block`].
pub mod qman {
    /// Streams of a QMAN (GAUDI's `QMAN_STREAMS`).
    pub const STREAMS: usize = 4;
    /// Bytes of one stream's registers.
    pub const STREAM_SIZE: u64 = 0x100;
    /// Bytes in one QMAN's block: its streams' registers.
    pub const SIZE: u64 = STREAM_SIZE * STREAMS as u64;
    /// `PQ_BASE_LO`: DMA address of the PQ, bits 31:0.
    pub const PQ_BASE_LO: u64 = 0x00;
    /// `PQ_BASE_HI`: bits 63:32 of the PQ address.
    pub const PQ_BASE_HI: u64 = 0x04;
    /// `PQ_SIZE`: entries in the PQ.
    pub const PQ_SIZE: u64 = 0x08;
    /// `PQ_PI`: BDs posted (written by the driver).
    pub const PQ_PI: u64 = 0x0c;
    /// `PQ_CI`: BDs consumed (written by the QMAN).
    pub const PQ_CI: u64 = 0x10;
    /// `CQ_BASE_LO`: DMA address of the CQ, bits 31:0.
    pub const CQ_BASE_LO: u64 = 0x14;
    /// `CQ_BASE_HI`: bits 63:32 of the CQ address.
    pub const CQ_BASE_HI: u64 = 0x18;
    /// `CQ_SIZE`: entries in the CQ.
    pub const CQ_SIZE: u64 = 0x1c;
    /// `CQ_PI`: entries produced (written by the QMAN).
    pub const CQ_PI: u64 = 0x20;
    /// `CQ_CI`: entries consumed (written by the driver).
    pub const CQ_CI: u64 = 0x24;
    /// `CTL`: bit 0 [`super::QMAN_ENABLE`].
    pub const CTL: u64 = 0x28;
    /// `STATUS`: `QMAN_STATUS_*` bits (written by the QMAN).
    pub const STATUS: u64 = 0x2c;
    /// `ENGINE`: `[7:0]` type, `[15:8]` index within the type.
    pub const ENGINE: u64 = 0x30;
    /// `MSG_BASE0_LO`: device address `MSG_SHORT` base 0 names, bits 31:0
    /// (GAUDI's `CP_MSG_BASE0_ADDR_LO`); base `b` is at [`msg_base`].
    pub const MSG_BASE0_LO: u64 = 0x40;
    /// Message base registers (`MSG_SHORT`'s `base` field).
    pub const NUM_MSG_BASES: u64 = 4;

    /// Offset of `MSG_BASEb_LO`; `MSG_BASEb_HI` follows it.
    pub const fn msg_base(b: u64) -> u64 {
        MSG_BASE0_LO + 8 * b
    }

    /// BAR2 offset of QMAN `q`'s block (see [`super::queue`] for the
    /// numbering).
    pub const fn block(q: usize) -> u64 {
        0x1000 + SIZE * q as u64
    }

    /// BAR2 offset of the registers of stream `s` of QMAN `q`.
    pub const fn stream(q: usize, s: usize) -> u64 {
        block(q) + STREAM_SIZE * s as u64
    }
}

/// Sync manager; offsets are relative to [`sync_manager::BASE`]. From
/// `SOB` to the last `MON_STATUS` the block is laid out as GAUDI's
/// `SYNC_MNGR_E_N` objects, from its `SOB_OBJ_0`; the fence counters are
/// the model's.
pub mod sync_manager {
    /// BAR2 offset of the block.
    pub const BASE: u64 = 0x10000;
    /// Bytes in the block.
    pub const SIZE: u64 = 0x10000;
    /// `SOB_OBJ[0]`; `SOB_OBJ[s]` is at `SOB + 4 * s`.
    pub const SOB: u64 = 0x0000;
    /// Sync objects.
    pub const NUM_SOBS: u64 = 2048;
    /// SOBs in a sync group, the unit a monitor watches.
    pub const GROUP_SOBS: u64 = 8;
    /// Monitors.
    pub const NUM_MONITORS: u64 = 512;
    /// `MON_PAY_ADDRL[0]`: payload device address, bits 31:0; each monitor
    /// register is an array, monitor `m`'s at `+ 4 * m`.
    pub const PAY_ADDR_LO: u64 = 0x2000;
    /// `MON_PAY_ADDRH[0]`: payload address bits 63:32.
    pub const PAY_ADDR_HI: u64 = 0x2800;
    /// `MON_PAY_DATA[0]`: the 32-bit payload.
    pub const PAY_DATA: u64 = 0x3000;
    /// `MON_ARM[0]`: `[7:0]` sync group, `[15:8]` mask (a 0 bit watches
    /// that SOB of the group), bit 16 mode (0 at least, 1 equal), `[31:17]`
    /// target; a write arms.
    pub const ARM: u64 = 0x3800;
    /// `MON_STATUS[0]`: bit 0 [`super::MON_ARMED`] (GAUDI's `VALID`).
    pub const STATUS: u64 = 0x4000;
    /// `FENCE[0][0][0]`; fence counter `i` of stream `s` of QMAN `q`,
    /// `FENCE[q][s][i]`, is at [`fence`].
    pub const FENCE: u64 = 0x8000;
    /// Fence counters per stream.
    pub const NUM_FENCES: u64 = 4;
    /// Sets of fence counters per QMAN: one per stream, then the lower
    /// CP's ([`LOWER_CP`]), as GAUDI's `CP_FENCEi_RDATA_0` to `_4`.
    pub const FENCE_STREAMS: usize = super::qman::STREAMS + 1;
    /// The set of fence counters of the lower CP, which runs the command
    /// buffers a `CP_DMA` fetched, on behalf of any stream of the QMAN.
    pub const LOWER_CP: usize = super::qman::STREAMS;
    /// Bytes between QMANs' fence counters.
    pub const FENCE_STRIDE: u64 = 4 * NUM_FENCES * FENCE_STREAMS as u64;

    /// Offset of `SOB_OBJ[s]`.
    pub const fn sob(s: u64) -> u64 {
        SOB + 4 * s
    }

    /// Offset of monitor `m`'s register `reg` (`PAY_ADDR_LO` ... `STATUS`).
    pub const fn mon(m: u64, reg: u64) -> u64 {
        reg + 4 * m
    }

    /// Offset of `FENCE[q][s][i]`: fence counter `i` of stream `s` (or
    /// [`LOWER_CP`]) of QMAN `q`.
    pub const fn fence(q: usize, s: usize, i: u64) -> u64 {
        FENCE + FENCE_STRIDE * q as u64 + 4 * NUM_FENCES * s as u64 + 4 * i
    }
}

/// NIC port blocks; offsets are relative to [`nic::block`].
pub mod nic {
    /// Bytes in one port's block.
    pub const SIZE: u64 = 0x800;
    /// `CTL`: [`super::PORT_ENABLE`], [`super::PORT_LOOPBACK`].
    pub const CTL: u64 = 0x000;
    /// `LINK_CFG`: [`super::LINK_AUTONEG`], forced speed, advertised speeds,
    /// FEC mode ([`super::LINK_FEC_SHIFT`]).
    pub const LINK_CFG: u64 = 0x004;
    /// `LINK_STATUS`: [`super::LINK_UP`], speed code (written by the model).
    pub const LINK_STATUS: u64 = 0x008;
    /// `LINK_CHANGES`: changes of `LINK_STATUS` (written by the model).
    pub const LINK_CHANGES: u64 = 0x00c;
    /// `MAX_FRAME`: largest frame in bytes, 0 for the default.
    pub const MAX_FRAME: u64 = 0x010;
    /// `LINK_INFO`: the active FEC while the link is up, why it is down
    /// while it is not (written by the model, before `LINK_STATUS`).
    pub const LINK_INFO: u64 = 0x014;
    /// `TX_BASE_LO` of TX queue 0 ([`txq`]).
    pub const TX_BASE_LO: u64 = txq(0) + Q_BASE_LO;
    /// `TX_BASE_HI` of TX queue 0.
    pub const TX_BASE_HI: u64 = txq(0) + Q_BASE_HI;
    /// `TX_SIZE` of TX queue 0.
    pub const TX_SIZE: u64 = txq(0) + Q_SIZE;
    /// `TX_PI` of TX queue 0.
    pub const TX_PI: u64 = txq(0) + Q_PI;
    /// `TX_CI` of TX queue 0.
    pub const TX_CI: u64 = txq(0) + Q_CI;
    /// `RX_BASE_LO` of RX queue 0 ([`rxq`]).
    pub const RX_BASE_LO: u64 = rxq(0) + Q_BASE_LO;
    /// `RX_BASE_HI` of RX queue 0.
    pub const RX_BASE_HI: u64 = rxq(0) + Q_BASE_HI;
    /// `RX_SIZE` of RX queue 0.
    pub const RX_SIZE: u64 = rxq(0) + Q_SIZE;
    /// `RX_PI` of RX queue 0.
    pub const RX_PI: u64 = rxq(0) + Q_PI;
    /// `RX_CI` of RX queue 0.
    pub const RX_CI: u64 = rxq(0) + Q_CI;
    /// `IRQ_MASK`: `PORT_IRQ_*` bits.
    pub const IRQ_MASK: u64 = 0x060;
    /// `TX_DRAINING`: written by the model, [`super::TX_DRAINING_BUSY`]
    /// while its TX worker is draining the rings and will look at every
    /// TX queue's `PI` again before it sleeps, so a `PI` written meanwhile
    /// needs no doorbell (see device-model.rst, TX without a doorbell).
    pub const TX_DRAINING: u64 = 0x070;
    /// `PFC_EN`: bit per priority.
    pub const PFC_EN: u64 = 0x080;
    /// `TC_BW`: byte `t` is TC `t`'s ETS share in percent.
    pub const TC_BW: u64 = 0x084;
    /// `PRIO_TC`: `[4p+2:4p]` is the traffic class of priority `p`.
    pub const PRIO_TC: u64 = 0x08c;
    /// `TC_TSA`: bit per TC, 1 ETS, 0 strict priority.
    pub const TC_TSA: u64 = 0x090;
    /// `RX_FILTER`: [`super::RX_PROMISC`], [`super::RX_ALLMULTI`] and, in
    /// bits 13:8 ([`super::RX_FILTER_COUNT_SHIFT`]), the entries of
    /// [`RX_ADDRS`] in use.
    pub const RX_FILTER: u64 = 0x094;
    /// `COUNTERS`: 64-bit counters; counter `i` is at `COUNTERS + 8 * i`.
    pub const COUNTERS: u64 = 0x100;

    /// TX queues per port, one per traffic class.
    pub const NUM_TXQ: usize = 8;
    /// RX queues per port.
    pub const NUM_RXQ: usize = 4;
    /// Bytes between queues' blocks.
    pub const Q_STRIDE: u64 = 0x20;
    /// A queue's `BASE_LO`: DMA address of its ring, bits 31:0.
    pub const Q_BASE_LO: u64 = 0x00;
    /// A queue's `BASE_HI`: bits 63:32 of the ring address.
    pub const Q_BASE_HI: u64 = 0x04;
    /// A queue's `SIZE`: entries in its ring.
    pub const Q_SIZE: u64 = 0x08;
    /// A queue's `PI`: descriptors or buffers posted (written by the driver).
    pub const Q_PI: u64 = 0x0c;
    /// A queue's `CI`: descriptors done or buffers filled (written by the
    /// model).
    pub const Q_CI: u64 = 0x10;
    /// An RX queue's `IRQ_MASK` (queues 1 and up; queue 0 has the port's
    /// [`IRQ_MASK`]): bit 0 [`super::PORT_IRQ_RX`] masks its vector.
    pub const Q_IRQ_MASK: u64 = 0x14;
    /// A queue's `COAL_USECS`: its interrupt comes at most this long after
    /// the first unsignalled frame, or ...
    pub const Q_COAL_USECS: u64 = 0x18;
    /// ... a queue's `COAL_FRAMES`: once this many frames wait (0 and 0:
    /// at once).
    pub const Q_COAL_FRAMES: u64 = 0x1c;
    /// The largest `COAL_USECS` the model honours; larger values count as
    /// this.
    pub const COAL_USECS_MAX: u32 = 65_535;
    /// The largest `COAL_FRAMES` the model honours; larger values count as
    /// this.
    pub const COAL_FRAMES_MAX: u32 = 4096;
    /// `RSS_KEY`: the Toeplitz key, [`RSS_KEY_SIZE`] bytes, byte `i` at
    /// `RSS_KEY + i`.
    pub const RSS_KEY: u64 = 0x600;
    /// Bytes in the RSS key.
    pub const RSS_KEY_SIZE: usize = 40;
    /// `RSS_TABLE`: the indirection table, [`RSS_TABLE_SIZE`] bytes, each
    /// an RX queue number.
    pub const RSS_TABLE: u64 = 0x680;
    /// Entries in the indirection table.
    pub const RSS_TABLE_SIZE: usize = 128;
    /// `RX_ADDRS`: [`RX_ADDRS_ENTRIES`] addresses the port accepts
    /// besides its own and broadcast, unicast or multicast, a 64-bit entry
    /// each ([`filter_entry`]) with the address in bits 47:0 as in `MAC`,
    /// its first byte lowest.
    pub const RX_ADDRS: u64 = 0x700;
    /// Entries in the address filter table.
    pub const RX_ADDRS_ENTRIES: usize = 32;

    /// Offset of TX queue `q`'s block within a port's block.
    pub const fn txq(q: usize) -> u64 {
        0x400 + Q_STRIDE * q as u64
    }

    /// Offset of RX queue `r`'s block within a port's block.
    pub const fn rxq(r: usize) -> u64 {
        0x500 + Q_STRIDE * r as u64
    }

    /// BAR2 offset of port `p`'s block.
    pub const fn block(p: usize) -> u64 {
        0x20000 + SIZE * p as u64
    }

    /// Offset of entry `i` of the address filter table within a port's
    /// block.
    pub const fn filter_entry(i: usize) -> u64 {
        RX_ADDRS + 8 * i as u64
    }

    /// Offset of counter `i` within a port's block.
    pub const fn counter(i: usize) -> u64 {
        COUNTERS + 8 * i as u64
    }
}

/// A port's 64-bit counters, by their index `i` in its `COUNTERS` array
/// ([`nic::counter`]).
pub mod counters {
    /// `tx_frames`: frames sent.
    pub const TX_FRAMES: usize = 0;
    /// `tx_bytes`: their bytes.
    pub const TX_BYTES: usize = 1;
    /// `rx_frames`: frames received into the RX ring.
    pub const RX_FRAMES: usize = 2;
    /// `rx_bytes`: their bytes.
    pub const RX_BYTES: usize = 3;
    /// `tx_errors`: bad TX descriptors.
    pub const TX_ERRORS: usize = 4;
    /// `tx_dropped`: frames sent while the link was down.
    pub const TX_DROPPED: usize = 5;
    /// `rx_no_buffer`: frames dropped for want of an RX buffer.
    pub const RX_NO_BUFFER: usize = 6;
    /// `rx_oversize`: frames longer than `MAX_FRAME` or the buffer.
    pub const RX_OVERSIZE: usize = 7;
    /// `rx_fcs_errors`: frames that arrived corrupted.
    pub const RX_FCS_ERRORS: usize = 8;
    /// `tx_pause[0]`; priority `p` is `TX_PAUSE + p`.
    pub const TX_PAUSE: usize = 9;
    /// `rx_pause[0]`; priority `p` is `RX_PAUSE + p`.
    pub const RX_PAUSE: usize = 17;
    /// `rx_size[0]`; RMON bucket `b` is `RX_SIZE + b`.
    pub const RX_SIZE: usize = 25;
    /// `tx_size[0]`; RMON bucket `b` is `TX_SIZE + b`.
    pub const TX_SIZE: usize = 35;
    /// `rx_undersize`: frames shorter than 64 bytes with FCS.
    pub const RX_UNDERSIZE: usize = 45;
    /// `fec_corrected`: FEC corrected codewords.
    pub const FEC_CORRECTED: usize = 46;
    /// `fec_uncorrectable`: FEC uncorrectable codewords.
    pub const FEC_UNCORRECTABLE: usize = 47;
    /// `pcs_errors`: PCS symbol errors.
    pub const PCS_ERRORS: usize = 48;
    /// `tx_tc_bytes[0]`; traffic class `t` is `TX_TC_BYTES + t`.
    pub const TX_TC_BYTES: usize = 49;
    /// `rx_filtered`: frames dropped by the address filter.
    pub const RX_FILTERED: usize = 57;
    /// `rx_mac_control`: MAC control frames (EtherType 0x8808) received
    /// from the wire, consumed by the MAC.
    pub const RX_MAC_CONTROL: usize = 58;
    /// `rx_unsupported_opcodes`: those whose opcode is neither PAUSE nor
    /// PFC.
    pub const RX_UNSUPPORTED_OPCODES: usize = 59;
    /// `tx_mac_control`: MAC control frames the host sent.
    pub const TX_MAC_CONTROL: usize = 60;
    /// `link_down_events`: times `LINK_STATUS` lost `LINK_UP`.
    pub const LINK_DOWN_EVENTS: usize = 61;
    /// Counters in the array.
    pub const NUM_COUNTERS: usize = 62;
}

/// RDMA connections and completion queues; offsets within a connection
/// are relative to [`rdma::conn`], within a CQ to [`rdma::cq`].
pub mod rdma {
    /// Connections per port, the value of `RDMA_CONNS`.
    pub const NUM_CONNS: usize = 64;
    /// Completion queues per port, the value of `RDMA_CQS`.
    pub const NUM_CQS: usize = 16;
    /// BAR2 offset of the connections.
    pub const CONNS: u64 = 0x40000;
    /// Bytes of one port's connections.
    pub const CONNS_SIZE: u64 = 0x2000;
    /// Bytes of one connection.
    pub const CONN_SIZE: u64 = 0x80;
    /// `REQ_CTL`: bit 0 [`super::CONN_VALID`].
    pub const REQ_CTL: u64 = 0x00;
    /// `REQ_PEER_MAC_LO`: the responder's port MAC, bytes 0-3.
    pub const REQ_PEER_MAC_LO: u64 = 0x04;
    /// `REQ_PEER_MAC_HI`: bytes 4-5 of the responder's MAC in bits 15:0.
    pub const REQ_PEER_MAC_HI: u64 = 0x08;
    /// `REQ_PEER_CONN`: the responder's connection.
    pub const REQ_PEER_CONN: u64 = 0x0c;
    /// `RES_CTL`: bit 0 [`super::CONN_VALID`].
    pub const RES_CTL: u64 = 0x20;
    /// `RES_PEER_MAC_LO`: the requester's port MAC, bytes 0-3.
    pub const RES_PEER_MAC_LO: u64 = 0x24;
    /// `RES_PEER_MAC_HI`: bytes 4-5 of the requester's MAC in bits 15:0.
    pub const RES_PEER_MAC_HI: u64 = 0x28;
    /// `RES_PEER_CONN`: the requester's connection.
    pub const RES_PEER_CONN: u64 = 0x2c;
    /// `WIN_BASE_LO`: device address of the WRITE window, bits 31:0.
    pub const WIN_BASE_LO: u64 = 0x30;
    /// `WIN_BASE_HI`: bits 63:32 of the window address.
    pub const WIN_BASE_HI: u64 = 0x34;
    /// `WIN_SIZE_LO`: bytes in the window, bits 31:0.
    pub const WIN_SIZE_LO: u64 = 0x38;
    /// `WIN_SIZE_HI`: bits 63:32 of the window size.
    pub const WIN_SIZE_HI: u64 = 0x3c;
    /// `RQ_BASE_LO`: DMA address of the receive queue, bits 31:0.
    pub const RQ_BASE_LO: u64 = 0x40;
    /// `RQ_BASE_HI`: bits 63:32 of the receive queue address.
    pub const RQ_BASE_HI: u64 = 0x44;
    /// `RQ_SIZE`: entries in the receive queue.
    pub const RQ_SIZE: u64 = 0x48;
    /// `RQ_PI`: buffers posted (written by the model).
    pub const RQ_PI: u64 = 0x4c;
    /// `RQ_CI`: buffers filled (written by the model).
    pub const RQ_CI: u64 = 0x50;
    /// BAR2 offset of the completion queues.
    pub const CQS: u64 = 0x54000;
    /// Bytes of one port's completion queues.
    pub const CQS_SIZE: u64 = 0x200;
    /// Bytes of one completion queue's registers.
    pub const CQ_REGS: u64 = 0x20;
    /// `CQ_BASE_LO`: DMA address of the ring, bits 31:0.
    pub const CQ_BASE_LO: u64 = 0x00;
    /// `CQ_BASE_HI`: bits 63:32 of the ring address.
    pub const CQ_BASE_HI: u64 = 0x04;
    /// `CQ_SIZE`: entries in the ring.
    pub const CQ_SIZE: u64 = 0x08;
    /// `CQ_PI`: entries produced (written by the model).
    pub const CQ_PI: u64 = 0x0c;
    /// `CQ_CI`: entries consumed (written by the driver).
    pub const CQ_CI: u64 = 0x10;
    /// `CQ_CTL`: [`super::CQ_ENABLE`], [`super::CQ_IRQ`].
    pub const CQ_CTL: u64 = 0x14;
    /// `CQ_LOST`: entries dropped (written by the model).
    pub const CQ_LOST: u64 = 0x18;

    /// BAR2 offset of connection `c` of port `p`.
    pub const fn conn(p: usize, c: usize) -> u64 {
        CONNS + CONNS_SIZE * p as u64 + CONN_SIZE * c as u64
    }

    /// BAR2 offset of completion queue `k` of port `p`.
    pub const fn cq(p: usize, k: usize) -> u64 {
        CQS + CQS_SIZE * p as u64 + CQ_REGS * k as u64
    }
}

/// Port module EEPROMs.
pub mod eeprom {
    /// Bytes in one port's EEPROM window.
    pub const SIZE: u64 = 0x400;

    /// BAR2 offset of port `p`'s EEPROM.
    pub const fn block(p: usize) -> u64 {
        0x30000 + SIZE * p as u64
    }
}

/// Model control page (tests only; survives resets).
pub mod model_ctl {
    /// First byte of the page.
    pub const BASE: u64 = 0xff000;
    /// `FAULTS`: `FAULT_*` bits.
    pub const FAULTS: u64 = 0xff000;
    /// `DOORBELLS`: doorbells the model has seen (wraps).
    pub const DOORBELLS: u64 = 0xff004;
    /// `ENGINE_HANG`: bit `q` stops QMAN `q`'s engine before its next packet.
    pub const ENGINE_HANG: u64 = 0xff008;

    /// `HOSTILE_SEED`: the seed of [`super::FAULT_HOSTILE`]'s generator,
    /// taken when the fault is set.
    pub const HOSTILE_SEED: u64 = 0xff200;
    /// `HOSTILE_RATE`: hostile acts per 1024 ticks of 1 ms (0: 64).
    pub const HOSTILE_RATE: u64 = 0xff204;
    /// `HOSTILE_EVENTS`: hostile acts so far (wraps).
    pub const HOSTILE_EVENTS: u64 = 0xff208;

    /// `PORT_FAULTS` of port `p`: `PORT_FAULT_*` bits.
    pub const fn port_faults(p: usize) -> u64 {
        0xff010 + 4 * p as u64
    }

    /// `LINK_RATE` of port `p`: Mbit/s, 0 for unlimited.
    pub const fn link_rate(p: usize) -> u64 {
        0xff040 + 4 * p as u64
    }

    /// `PORT_SYNC` of port `p`: a token the port echoes in `PORT_SYNC_ACK`
    /// once it has served a doorbell rung after the token was written.
    pub const fn port_sync(p: usize) -> u64 {
        0xff080 + 8 * p as u64
    }

    /// `PORT_SYNC_ACK` of port `p`.
    pub const fn port_sync_ack(p: usize) -> u64 {
        0xff084 + 8 * p as u64
    }
}

/// The device address space the packets, kernel descriptors and monitor
/// payloads name: GAUDI's (`gaudi.h`, `gaudiP.h`, `asic_reg/`), with the
/// parts of it the model has.
pub mod space {
    /// GAUDI's configuration space, `CFG_BASE`.
    pub const CFG_BASE: u64 = 0x7f_fc00_0000;
    /// The sync manager: at GAUDI's `SYNC_MNGR_E_N` `SOB_OBJ_0`, laid out
    /// as [`super::sync_manager`] says.
    pub const SM_BASE: u64 = CFG_BASE + 0x4f_2000;
    /// GAUDI's SRAM, `SRAM_BASE_ADDR`.
    pub const SRAM_BASE: u64 = 0x7f_f000_0000;
    /// Bytes of SRAM, `SRAM_SIZE` (20 MiB).
    pub const SRAM_SIZE: u64 = 0x140_0000;
    /// First DRAM (HBM) address a user reaches, GAUDI's
    /// `DRAM_BASE_ADDR_USER`: what lies below is the driver's on GAUDI and
    /// absent from the model.
    pub const DRAM_BASE: u64 = 0x2000_0000;
    /// End of DRAM: GAUDI's 32 GiB of HBM from `DRAM_PHYS_BASE` (0).
    pub const DRAM_END: u64 = 0x8_0000_0000;
    /// Bytes of DRAM from [`DRAM_BASE`], the `DRAM_SIZE` value.
    pub const DRAM_SIZE: u64 = DRAM_END - DRAM_BASE;
    /// Host memory through the MMU, from GAUDI's `VA_HOST_SPACE_START`.
    pub const HOST_BASE: u64 = 0x1_0000_0000_0000;
    /// Bytes of the host range the MMU translates (three levels of 4 KiB
    /// tables: 2^39).
    pub const HOST_SIZE: u64 = 1 << 39;
    /// Offset of `CP_FENCE0_RDATA_0` in a QMAN's configuration block; fence
    /// `i` of stream `s` (4: the lower CP) is at `+ FENCE_ID_STRIDE * i + 4 * s`.
    pub const QM_FENCE: u64 = 0x308;
    /// Bytes between a QMAN's `CP_FENCEi_RDATA_0` registers.
    pub const QM_FENCE_ID_STRIDE: u64 = 0x14;
    /// `CP_FENCEi_RDATA_s` registers per fence id: four streams and the
    /// lower CP.
    pub const QM_FENCE_STREAMS: u64 = 5;

    /// Offset in the configuration space of the QMAN block GAUDI has for
    /// model queue `q` ([`super::queue`]), if there is one.
    pub const fn qm_block(q: usize) -> Option<u64> {
        match super::queue(q) {
            Some((super::ENGINE_DMA, i)) => Some(0x50_8000 + 0x2_0000 * i as u64),
            Some((super::ENGINE_TPC, i)) => Some(0xe0_8000 + 0x4_0000 * i as u64),
            Some((super::ENGINE_NIC, p)) => {
                Some(0xce_0000 + 0x4_0000 * (p as u64 / 2) + 0x2000 * (p as u64 % 2))
            }
            // GAUDI's MME 0 queues are the MME2 QMAN's, MME 1's the MME0's.
            Some((super::ENGINE_MME, 0)) => Some(0x16_8000),
            Some((super::ENGINE_MME, _)) => Some(0x06_8000),
            _ => None,
        }
    }

    /// Offset of `ARB_CFG_0` in a QMAN's configuration block: `[0]` type
    /// (0 priority, 1 weighted round robin), bit 4 master, bit 8 enable.
    pub const QM_ARB_CFG_0: u64 = 0xa00;
    /// Offset of `ARB_WRR_WEIGHT_0`; stream `s`'s weight is `4 * s` further.
    pub const QM_ARB_WRR_WEIGHT_0: u64 = 0xa08;
    /// Offset of `ARB_MST_QUIET_PER`: engine clock cycles between a
    /// release and the next grant.
    pub const QM_ARB_MST_QUIET_PER: u64 = 0xb34;

    /// The model queue and the offset in its QMAN block of
    /// configuration-space address `addr`, an arbitration register the
    /// model keeps (`ARB_CFG_0`, `ARB_WRR_WEIGHT_0`-`3`, `ARB_MST_QUIET_PER`:
    /// those GAUDI leaves unprotected).
    pub fn qm_arb(addr: u64) -> Option<(usize, u64)> {
        let off = addr.checked_sub(CFG_BASE)?;
        (0..super::NUM_QMANS).find_map(|q| {
            let reg = off.checked_sub(qm_block(q)?)?;
            let kept = reg == QM_ARB_CFG_0
                || reg == QM_ARB_MST_QUIET_PER
                || (QM_ARB_WRR_WEIGHT_0..QM_ARB_WRR_WEIGHT_0 + 16).contains(&reg)
                    && reg.is_multiple_of(4);
            kept.then_some((q, reg))
        })
    }

    /// The model queue, stream (4: the lower CP) and fence id behind
    /// configuration-space address `addr`, a `CP_FENCEi_RDATA_s` register
    /// of a QMAN block.
    pub fn qm_fence(addr: u64) -> Option<(usize, usize, u64)> {
        let off = addr.checked_sub(CFG_BASE)?;
        (0..super::NUM_QMANS).find_map(|q| {
            let reg = off.checked_sub(qm_block(q)? + QM_FENCE)?;
            let (id, stream) = (reg / QM_FENCE_ID_STRIDE, reg % QM_FENCE_ID_STRIDE);
            (id < super::sync_manager::NUM_FENCES
                && stream.is_multiple_of(4)
                && stream / 4 < QM_FENCE_STREAMS)
                .then_some((q, stream as usize / 4, id))
        })
    }
}

/// A DMA engine's core registers (GAUDI's `DMA_CORE` block, from
/// `asic_reg/`): what a DMA QMAN's `WREG_32` and `WREG_BULK` reach at
/// `reg_offset`s below [`dma_core::SIZE`], and what `COMMIT` runs.
pub mod dma_core {
    /// Offset of DMA engine 0's block in the configuration space; engine
    /// `i`'s is [`BLOCK_STRIDE`] `* i` further.
    pub const BLOCK: u64 = 0x50_0000;
    /// Bytes between two engines' blocks.
    pub const BLOCK_STRIDE: u64 = 0x2_0000;
    /// DMA engines, each with a core.
    pub const ENGINES: usize = 8;
    /// Bytes of the block the model keeps (GAUDI's `DMA_CORE` block).
    pub const SIZE: u64 = 0x1000;
    /// `SRC_BASE_LO`, `SRC_BASE_HI`: the source address, or with
    /// [`COMMIT_MEM_SET`] the fill value (its low byte).
    pub const SRC_BASE_LO: u64 = 0x14;
    /// The high half of the source.
    pub const SRC_BASE_HI: u64 = 0x18;
    /// `DST_BASE_LO`, `DST_BASE_HI`: the destination address.
    pub const DST_BASE_LO: u64 = 0x1c;
    /// The high half of the destination.
    pub const DST_BASE_HI: u64 = 0x20;
    /// `SRC_TSIZE_0`: bytes of the source's first dimension.
    pub const SRC_TSIZE_0: u64 = 0x4c;
    /// `DST_TSIZE_0`: bytes of the destination's first dimension; a linear
    /// transfer's size.
    pub const DST_TSIZE_0: u64 = 0x74;
    /// `COMMIT`: a write starts the transfer; `COMMIT_*` bits.
    pub const COMMIT: u64 = 0x78;
    /// `WR_COMP_WDATA`: the value the write completion writes.
    pub const WR_COMP_WDATA: u64 = 0x7c;
    /// `WR_COMP_ADDR_LO`, `WR_COMP_ADDR_HI`: where the write completion
    /// writes.
    pub const WR_COMP_ADDR_LO: u64 = 0x80;
    /// The high half of the write completion's address.
    pub const WR_COMP_ADDR_HI: u64 = 0x84;
    /// Dimensions of a transfer: 0, whose size is in bytes, and 1-4,
    /// counts of the dimension below, each with a stride in bytes.
    pub const DIMS: usize = 5;

    /// `SRC_TSIZE_d` (`d` 1-4): elements of dimension `d`.
    pub const fn src_tsize(d: usize) -> u64 {
        0x2c + 8 * (d as u64 - 1)
    }

    /// `SRC_STRIDE_d` (`d` 1-4): bytes between two elements of dimension
    /// `d`.
    pub const fn src_stride(d: usize) -> u64 {
        src_tsize(d) + 4
    }

    /// `DST_TSIZE_d` (`d` 1-4).
    pub const fn dst_tsize(d: usize) -> u64 {
        0x54 + 8 * (d as u64 - 1)
    }

    /// `DST_STRIDE_d` (`d` 1-4).
    pub const fn dst_stride(d: usize) -> u64 {
        dst_tsize(d) + 4
    }

    /// Configuration-space offset of DMA engine `i`'s block.
    pub const fn block(i: u32) -> u64 {
        BLOCK + BLOCK_STRIDE * i as u64
    }

    /// `COMMIT` bit: write the completion when the transfer is done.
    pub const COMMIT_WR_COMP_EN: u32 = 1 << 0;
    /// `COMMIT` bit: transpose (not in the model).
    pub const COMMIT_TRANSPOSE: u32 = 1 << 1;
    /// `COMMIT` bit: data type (not in the model).
    pub const COMMIT_DTYPE: u32 = 1 << 2;
    /// `COMMIT` bit: linear, [`DST_TSIZE_0`] bytes; else the dimensions.
    pub const COMMIT_LIN: u32 = 1 << 3;
    /// `COMMIT` bit: fill instead of copy.
    pub const COMMIT_MEM_SET: u32 = 1 << 4;
    /// `COMMIT` bit: compress (not in the model).
    pub const COMMIT_COMPRESS: u32 = 1 << 5;
    /// `COMMIT` bit: decompress (not in the model).
    pub const COMMIT_DECOMPRESS: u32 = 1 << 6;
    /// `COMMIT` bits: context id (ignored).
    pub const COMMIT_CTX_ID: u32 = 0xff << 16;
    /// DMA engines whose transfers reach host memory: GAUDI's PCI DMAs.
    pub const HOST_ENGINES: u32 = 0b11;
}

/// The engine type (`ENGINE_*`) and index of model queue `q`: 0-3 DMA 0,
/// DMA 1, TPC 0, TPC 1; 4-9 DMA 2-7; 10-15 TPC 2-7; 16-25 the NIC queues
/// of ports 0-9; 26-27 MME 0-1.
pub const fn queue(q: usize) -> Option<(u32, u32)> {
    match q {
        0 | 1 => Some((ENGINE_DMA, q as u32)),
        2 | 3 => Some((ENGINE_TPC, q as u32 - 2)),
        4..=9 => Some((ENGINE_DMA, q as u32 - 2)),
        10..=15 => Some((ENGINE_TPC, q as u32 - 8)),
        16..=25 => Some((ENGINE_NIC, q as u32 - 16)),
        26 | 27 => Some((ENGINE_MME, q as u32 - 26)),
        _ => None,
    }
}

/// The model queue of engine `kind` (`ENGINE_*`) number `index`.
pub const fn queue_of(kind: u32, index: u32) -> Option<usize> {
    let q = match (kind, index) {
        (ENGINE_DMA, 0..=1) => index as usize,
        (ENGINE_DMA, 2..=7) => index as usize + 2,
        (ENGINE_TPC, 0..=1) => index as usize + 2,
        (ENGINE_TPC, 2..=7) => index as usize + 8,
        (ENGINE_NIC, 0..=9) => index as usize + 16,
        (ENGINE_MME, 0..=1) => index as usize + 26,
        _ => return None,
    };
    Some(q)
}

/// The vector of model queue `q`: its doorbell and its completion
/// interrupt.
pub const fn queue_vector(q: usize) -> u32 {
    match q {
        0..=3 => VECTOR_QMAN0 + q as u32,
        16..=25 => VECTOR_NIC0 + (q - NIC_QUEUE0) as u32,
        _ => VECTOR_INTERNAL,
    }
}

// ---- Values of the identity registers, and interrupt vectors ----------

/// Offset of device memory in BAR2, the value of `DRAM_BASE`.
pub const DRAM_OFFSET: u64 = 0x10_0000;

/// `MAGIC` value, the bytes `HLSM`.
pub const MAGIC_HLSM: u32 = 0x4d53_4c48;
/// `VERSION` value: 1.0.
pub const VERSION_1_0: u32 = 1 << 16;
/// `CAPS` bit: `DMA_SELFTEST` is implemented.
pub const CAPS_DMA_SELFTEST: u32 = 1 << 0;
/// `CAPS` bit: QMANs, MMU, event queue and sync manager are implemented.
pub const CAPS_COMPUTE: u32 = 1 << 1;
/// `CAPS` bit: the NIC ports are implemented.
pub const CAPS_NIC: u32 = 1 << 2;
/// `CAPS` bit: the NIC QMANs, RDMA connections and completion queues are
/// implemented.
pub const CAPS_RDMA: u32 = 1 << 3;
/// `CHIP_ID` value: GAUDI-sim, revision 0.
pub const CHIP_ID_GAUDI_SIM: u32 = 0x1000;
/// `NUM_VECTORS` value.
pub const NUM_VECTORS: u32 = 64;
/// `NUM_QUEUES` value: the compute QMANs with vectors of their own.
pub const NUM_QUEUES: usize = 4;
/// Queue number of port 0's NIC QMAN; port `p`'s is `NIC_QUEUE0 + p`.
pub const NIC_QUEUE0: usize = 16;
/// QMANs, numbered `0..NUM_QMANS` (some numbers below are NIC queues).
pub const NUM_QMANS: usize = 28;
/// `QUEUE_MASK` value: every QMAN.
pub const QUEUE_MASK: u32 = (1 << NUM_QMANS) - 1;
/// `CLK_CUR_MHZ` value.
pub const CLK_CUR_MHZ: u32 = 1500;
/// `CLK_MAX_MHZ` value.
pub const CLK_MAX_MHZ: u32 = 2200;
/// `PORT_MASK` value: ten NIC ports.
pub const PORT_MASK: u32 = 0x3ff;
/// NIC ports.
pub const NUM_PORTS: usize = 10;
/// Vector of the control mailbox (doorbell and completion interrupt).
pub const VECTOR_CONTROL: u32 = 0;
/// Vector of the event queue interrupt.
pub const VECTOR_EVENTS: u32 = 1;
/// Vector of QMAN 0; QMAN `q` uses `VECTOR_QMAN0 + q`.
pub const VECTOR_QMAN0: u32 = 2;
/// Vector of NIC port 0; port `p` uses `VECTOR_PORT0 + p`.
pub const VECTOR_PORT0: u32 = 6;
/// Vector of port 0's NIC QMAN and RDMA completion queues; port `p` uses
/// `VECTOR_NIC0 + p`.
pub const VECTOR_NIC0: u32 = 16;
/// Vector of port 0's RX queue 1; RX queue `r` (1 and up) of port `p` uses
/// [`vector_rxq`].
pub const VECTOR_RXQ1: u32 = 26;
/// Vector the internal QMANs without a vector of their own share, for
/// their doorbell (which wakes them all) and their completions: after the
/// ports' RX queues'.
pub const VECTOR_INTERNAL: u32 = VECTOR_RXQ1 + ((nic::NUM_RXQ - 1) * NUM_PORTS) as u32;

/// The vector of RX queue `r` of port `p`: the port's for queue 0.
pub const fn vector_rxq(p: usize, r: usize) -> u32 {
    if r == 0 {
        VECTOR_PORT0 + p as u32
    } else {
        VECTOR_RXQ1 + ((nic::NUM_RXQ - 1) * p + r - 1) as u32
    }
}

// ---- Mailbox --------------------------------------------------------------

/// `CMD` bits holding the opcode.
pub const CMD_OPCODE_MASK: u32 = 0xff;
/// `CMD` bit: raise [`VECTOR_CONTROL`] on completion.
pub const CMD_IRQ: u32 = 1 << 31;
/// Largest `DMA_SELFTEST` size.
pub const SELFTEST_MAX_SIZE: u64 = 1 << 20;

// ---- MMU, event queue, QMANs and sync manager -----------------------------

/// MMU `CTL` bit: translation enabled.
pub const MMU_ENABLE: u32 = 1 << 0;
/// `EQ_CTL` bit: the event queue is enabled.
pub const EQ_ENABLE: u32 = 1 << 0;
/// QMAN `CTL` bit: the QMAN is enabled.
pub const QMAN_ENABLE: u32 = 1 << 0;
/// QMAN `STATUS` bit: a job is running.
pub const QMAN_STATUS_BUSY: u32 = 1 << 0;
/// QMAN `STATUS` bit: the ring registers were invalid at the doorbell.
pub const QMAN_STATUS_CONFIG_ERROR: u32 = 1 << 1;
/// QMAN `ENGINE` type of a DMA engine.
pub const ENGINE_DMA: u32 = 0;
/// QMAN `ENGINE` type of a TPC engine.
pub const ENGINE_TPC: u32 = 1;
/// QMAN `ENGINE` type of a NIC engine.
pub const ENGINE_NIC: u32 = 2;
/// QMAN `ENGINE` type of an MME.
pub const ENGINE_MME: u32 = 3;
/// Monitor `STATUS` bit: armed.
pub const MON_ARMED: u32 = 1 << 0;
/// Smallest PQ, CQ or event queue, in entries.
pub const RING_MIN_ENTRIES: u32 = 2;
/// Largest PQ, CQ or event queue, in entries.
pub const RING_MAX_ENTRIES: u32 = 4096;

// ---- NIC ports ------------------------------------------------------------

/// Port `CTL` bit: the port is enabled.
pub const PORT_ENABLE: u32 = 1 << 0;
/// Port `CTL` bit: MAC loopback.
pub const PORT_LOOPBACK: u32 = 1 << 1;
/// `LINK_CFG` bit: autonegotiate.
pub const LINK_AUTONEG: u32 = 1 << 0;
/// `LINK_CFG` field shift of the forced speed code (4 bits).
pub const LINK_FORCED_SHIFT: u32 = 8;
/// `LINK_CFG` field shift of the advertised speeds (4 bits).
pub const LINK_ADVERTISED_SHIFT: u32 = 16;
/// `LINK_STATUS` bit: the link is up.
pub const LINK_UP: u32 = 1 << 0;
/// `LINK_STATUS` field shift of the speed code.
pub const LINK_SPEED_SHIFT: u32 = 8;
/// Highest speed code (100G).
pub const SPEED_MAX: u32 = 4;
/// `LINK_CFG` field shift of the FEC mode (2 bits, a `FEC_*` code; 3 is
/// taken as [`FEC_AUTO`]).
pub const LINK_FEC_SHIFT: u32 = 24;
/// FEC code: whatever the partner runs, RS(528,514) if it says auto too.
pub const FEC_AUTO: u32 = 0;
/// FEC code: no FEC.
pub const FEC_OFF: u32 = 1;
/// FEC code: RS(528,514), IEEE 802.3 clause 91.
pub const FEC_RS: u32 = 2;
/// `LINK_INFO` field mask of the active FEC code ([`FEC_OFF`] or
/// [`FEC_RS`] while up, 0 while down).
pub const LINK_INFO_FEC_MASK: u32 = 0x3;
/// `LINK_INFO` field shift of the reason the link is down (8 bits, a
/// `DOWN_*` code).
pub const LINK_INFO_DOWN_SHIFT: u32 = 8;
/// Link down reason: none, the link is up.
pub const DOWN_NONE: u32 = 0;
/// Link down reason: the port is not enabled.
pub const DOWN_DISABLED: u32 = 1;
/// Link down reason: nothing is wired to the port, or the wire is
/// unplugged (`PORT_FAULTS.LINK_DOWN` at either end).
pub const DOWN_NO_CABLE: u32 = 2;
/// Link down reason: the partner is not enabled, or it is in loopback.
pub const DOWN_PARTNER_DISABLED: u32 = 3;
/// Link down reason: both ends autonegotiate, with no speed in common.
pub const DOWN_AN_NO_COMMON_SPEED: u32 = 4;
/// Link down reason: one end autonegotiates, the other forces a speed.
pub const DOWN_AN_MISMATCH: u32 = 5;
/// Link down reason: both ends force a speed, not the same valid one.
pub const DOWN_SPEED_MISMATCH: u32 = 6;
/// Link down reason: the ends' FEC modes disagree (one off, one RS).
pub const DOWN_FEC_MISMATCH: u32 = 7;
/// Link down reason: link training fails (`PORT_FAULTS.LINK_TRAINING`
/// at either end).
pub const DOWN_LINK_TRAINING: u32 = 8;
/// `RX_FILTER` bit: promiscuous, every frame is received.
pub const RX_PROMISC: u32 = 1 << 0;
/// `RX_FILTER` bit: every multicast frame is received.
pub const RX_ALLMULTI: u32 = 1 << 1;
/// `RX_FILTER` field shift of the table entries in use (6 bits).
pub const RX_FILTER_COUNT_SHIFT: u32 = 8;
/// `TX_DRAINING` bit: the model's TX worker is draining the rings.
pub const TX_DRAINING_BUSY: u32 = 1 << 0;
/// `IRQ_MASK` bit: TX progress raises no interrupt.
pub const PORT_IRQ_TX: u32 = 1 << 0;
/// `IRQ_MASK` bit: RX progress raises no interrupt.
pub const PORT_IRQ_RX: u32 = 1 << 1;
/// `IRQ_MASK` bit: link changes raise no interrupt.
pub const PORT_IRQ_LINK: u32 = 1 << 2;
/// RX descriptor `status` bit: the buffer holds a frame.
pub const RX_DONE: u16 = 1 << 0;
/// RX descriptor `status` bit: the frame is TCP or UDP over IP and its
/// checksums verified.
pub const RX_CSUM_OK: u16 = 1 << 1;
/// TX descriptor `flags` bit: insert the checksum (`csum_start`,
/// `csum_offset`).
pub const TX_CSUM: u32 = 1 << 0;
/// TX descriptor `flags` bit: segment the TCP frame into `mss`-byte
/// segments.
pub const TX_TSO: u32 = 1 << 1;
/// TX descriptor `flags` bit: the frame goes on in the next descriptor.
pub const TX_MORE: u32 = 1 << 2;
/// Most descriptors of one frame.
pub const TX_MAX_FRAGS: u32 = 32;
/// Largest frame to segment (`TX_TSO`), headers included.
pub const TSO_MAX: u32 = 0x20000;
/// Smallest frame, without FCS.
pub const FRAME_MIN: u32 = 14;
/// Smallest `MAX_FRAME`.
pub const MAX_FRAME_MIN: u32 = 60;
/// Largest `MAX_FRAME`.
pub const MAX_FRAME_MAX: u32 = 9216;
/// `MAX_FRAME` meaning of 0.
pub const MAX_FRAME_DEFAULT: u32 = 1514;
/// Priorities and traffic classes.
pub const NUM_PRIOS: usize = 8;

// ---- RDMA -----------------------------------------------------------------

/// `REQ_CTL` and `RES_CTL` bit: the context is valid.
pub const CONN_VALID: u32 = 1 << 0;
/// `CQ_CTL` bit: the completion queue is enabled.
pub const CQ_ENABLE: u32 = 1 << 0;
/// `CQ_CTL` bit: each entry raises the port's RDMA vector.
pub const CQ_IRQ: u32 = 1 << 1;

// ---- Model control page ---------------------------------------------------

/// `PORT_FAULTS` bit: the link is down as if unplugged.
pub const PORT_FAULT_LINK_DOWN: u32 = 1 << 0;
/// `PORT_FAULTS` bit: looped-back frames arrive corrupted.
pub const PORT_FAULT_LOOPBACK_CORRUPT: u32 = 1 << 1;
/// `PORT_FAULTS` bit: every received frame has bit errors: with RS FEC
/// active they are corrected (`fec_corrected`), without FEC the frame is
/// dropped as an FCS error; `pcs_errors` counts them either way.
pub const PORT_FAULT_FEC_ERRORS: u32 = 1 << 2;
/// `PORT_FAULTS` bit: every received frame has errors RS FEC cannot
/// correct (`fec_uncorrectable` with RS active, `pcs_errors`): it is
/// dropped as an FCS error.
pub const PORT_FAULT_FEC_UNCORRECTABLE: u32 = 1 << 3;
/// `PORT_FAULTS` bit: link training never completes: the link stays down
/// ([`DOWN_LINK_TRAINING`]) whatever the configuration.
pub const PORT_FAULT_LINK_TRAINING: u32 = 1 << 4;
/// `PORT_FAULTS` bits 8-15, bit `8 + q` for TX queue `q`
/// ([`port_fault_tx_stall`]): the port takes no frame off the queue, whose
/// `CI` stays where it is, as a stalled TX ring; what the backlog already
/// holds is sent, and the other queues go on. Cleared, the port takes the
/// queue's frames again within the 10 ms it looks at `PORT_FAULTS`.
pub const PORT_FAULT_TX_STALL_SHIFT: u32 = 8;

/// The `PORT_FAULTS` bit that stalls TX queue `q` (see
/// [`PORT_FAULT_TX_STALL_SHIFT`]).
pub const fn port_fault_tx_stall(q: usize) -> u32 {
    1 << (PORT_FAULT_TX_STALL_SHIFT as usize + q)
}

/// `FAULTS` bit: the self-test copy flips one byte.
pub const FAULT_SELFTEST_CORRUPT: u32 = 1 << 0;
/// `FAULTS` bit: control doorbells are ignored.
pub const FAULT_MAILBOX_HANG: u32 = 1 << 1;
/// `FAULTS` bit: the device turns hostile: at a rate and from a seed of the
/// model control page it writes random values into the registers it owns
/// (indices, status), bogus entries into the completion and event queues,
/// and raises interrupts out of turn (device-model.rst, Hostile mode).
pub const FAULT_HOSTILE: u32 = 1 << 8;
/// `FAULTS` bit: every vector but the control one is raised about every
/// millisecond, whether or not there is anything to handle.
pub const FAULT_IRQ_STORM: u32 = 1 << 2;
/// `FAULTS` bit: the device is gone, as if surprise-removed: every
/// register below the model control page reads all ones, doorbells are
/// ignored, no interrupt is raised, the engines and ports stop. Clearing
/// it brings the device back in its power-on state.
pub const FAULT_VANISH: u32 = 1 << 3;
/// `FAULTS` bit: the firmware hangs: `HEARTBEAT` stops. The next device
/// reset (`RESET`) clears it, as a reset revives a hung firmware.
pub const FAULT_HEARTBEAT_STOP: u32 = 1 << 4;

// ---- Layout checks ---------------------------------------------------------

// The blocks are in order and do not overlap.
const _: () = assert!(mailbox::ARG0_LO + 8 * mailbox::NUM_ARGS as u64 == 0x130);
const _: () = assert!(identity::mac_hi(identity::MAX_PORTS - 1) + 4 <= mailbox::BASE);
const _: () = assert!(PORT_MASK >> identity::MAX_PORTS == 0);
const _: () = assert!(mailbox::BASE + mailbox::SIZE <= mmu::BASE);
const _: () = assert!(mmu::BASE + mmu::SIZE <= eq::BASE);
const _: () = assert!(eq::BASE + eq::SIZE <= qman::block(0));
const _: () = assert!(qman::msg_base(qman::NUM_MSG_BASES) <= qman::STREAM_SIZE);
const _: () = assert!(qman::block(NUM_QUEUES) <= sync_manager::BASE);
const _: () = assert!(sync_manager::BASE + sync_manager::SIZE <= nic::block(0));
const _: () = assert!(qman::block(NUM_QUEUES) <= qman::block(NIC_QUEUE0));
const _: () = assert!(qman::block(NIC_QUEUE0 + NUM_PORTS) <= sync_manager::BASE);
const _: () = assert!(nic::block(NUM_PORTS) <= eeprom::block(0));
const _: () = assert!(eeprom::block(NUM_PORTS) <= rdma::CONNS);
const _: () = assert!(rdma::conn(0, rdma::NUM_CONNS) <= rdma::conn(1, 0));
const _: () = assert!(rdma::RQ_CI < rdma::CONN_SIZE);
const _: () = assert!(nic::counter(counters::NUM_COUNTERS) <= nic::txq(0));
const _: () = assert!(nic::txq(nic::NUM_TXQ) <= nic::rxq(0));
// The TX stall bits of every queue fit in PORT_FAULTS, above the others.
const _: () = assert!(PORT_FAULT_TX_STALL_SHIFT as usize + nic::NUM_TXQ <= 32);
const _: () = assert!(PORT_FAULT_LINK_TRAINING < port_fault_tx_stall(0));
const _: () = assert!(nic::rxq(nic::NUM_RXQ) <= nic::RSS_KEY);
const _: () = assert!(nic::RSS_KEY + nic::RSS_KEY_SIZE as u64 <= nic::RSS_TABLE);
const _: () = assert!(nic::RSS_TABLE + nic::RSS_TABLE_SIZE as u64 <= nic::RX_ADDRS);
const _: () = assert!(nic::filter_entry(nic::RX_ADDRS_ENTRIES) <= nic::SIZE);
const _: () = assert!(nic::RSS_TABLE + nic::RSS_TABLE_SIZE as u64 <= nic::SIZE);
const _: () = assert!(VECTOR_NIC0 + NUM_PORTS as u32 <= VECTOR_RXQ1);
const _: () = assert!(vector_rxq(NUM_PORTS - 1, nic::NUM_RXQ - 1) < NUM_VECTORS);
const _: () = assert!(rdma::conn(NUM_PORTS, 0) <= rdma::CQS);
const _: () = assert!(rdma::cq(0, rdma::NUM_CQS) <= rdma::cq(1, 0));
const _: () = assert!(rdma::CQ_LOST < rdma::CQ_REGS);
const _: () = assert!(rdma::cq(NUM_PORTS, 0) <= model_ctl::BASE);
const _: () = assert!(model_ctl::link_rate(NUM_PORTS) <= DRAM_OFFSET);
const _: () = assert!(model_ctl::port_faults(NUM_PORTS) <= model_ctl::link_rate(0));
const _: () = assert!(PORT_MASK == (1 << NUM_PORTS) - 1);
const _: () = assert!(VECTOR_PORT0 == VECTOR_QMAN0 + NUM_QUEUES as u32);
const _: () = assert!(VECTOR_PORT0 + NUM_PORTS as u32 <= NUM_VECTORS);
const _: () = assert!(sync_manager::sob(sync_manager::NUM_SOBS) <= sync_manager::PAY_ADDR_LO);
const _: () = assert!(
    sync_manager::mon(sync_manager::NUM_MONITORS, sync_manager::STATUS) <= sync_manager::FENCE
);
const _: () = assert!(VECTOR_QMAN0 + NUM_QUEUES as u32 <= NUM_VECTORS);
const _: () = assert!(VECTOR_PORT0 + NUM_PORTS as u32 <= VECTOR_NIC0);
const _: () = assert!(VECTOR_NIC0 + NUM_PORTS as u32 <= NUM_VECTORS);
const _: () = assert!(VECTOR_NIC0 as usize == NIC_QUEUE0);
const _: () = assert!(NUM_QUEUES <= NIC_QUEUE0);
// A queue's bit in ENGINE_HANG and in the sync manager's kicks.
const _: () = assert!(NIC_QUEUE0 + NUM_PORTS <= 32);
const _: () = assert!(sync_manager::fence(NIC_QUEUE0 + NUM_PORTS, 0, 0) <= sync_manager::SIZE);
const _: () = assert!(qman::block(NUM_QMANS) <= sync_manager::BASE);
const _: () = assert!(sync_manager::fence(NUM_QMANS, 0, 0) <= sync_manager::SIZE);
const _: () = assert!(sync_manager::FENCE_STREAMS as u64 == space::QM_FENCE_STREAMS);
// A queue's bit in ENGINE_HANG, QUEUE_MASK and the sync manager's kicks.
const _: () = assert!(NUM_QMANS <= 32);
const _: () = assert!(VECTOR_NIC0 + NUM_PORTS as u32 <= VECTOR_INTERNAL);
const _: () = assert!(VECTOR_INTERNAL < NUM_VECTORS);

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
    /// `QMAN_RESET`.
    QmanReset,
    /// `PORT_STOP`.
    PortStop,
    /// `CONN_RESET`.
    ConnReset,
    /// `CQ_RESET`.
    CqReset,
    /// `DRAM_ROWS`.
    DramRows,
}

impl Opcode {
    /// Decodes the opcode field of a `CMD` value.
    pub fn from_cmd(cmd: u32) -> Option<Self> {
        match cmd & CMD_OPCODE_MASK {
            0x01 => Some(Self::Reset),
            0x02 => Some(Self::DmaSelftest),
            0x03 => Some(Self::QmanReset),
            0x04 => Some(Self::PortStop),
            0x05 => Some(Self::ConnReset),
            0x06 => Some(Self::CqReset),
            0x07 => Some(Self::DramRows),
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

/// Status of a job in its completion entry, and cause of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum JobStatus {
    /// `OK`.
    Ok = 0,
    /// `BAD_OPCODE`: unknown opcode.
    BadOpcode = 1,
    /// `BAD_ADDRESS`: outside every region, crossing regions, or misaligned.
    BadAddress = 2,
    /// `BAD_PACKET`: truncated packet, reserved field set, bad BD.
    BadPacket = 3,
    /// `MMU_FAULT`: a host address not mapped, or read-only and written.
    MmuFault = 4,
    /// `FENCE_TIMEOUT`: a `FENCE` not resolved within 1 s.
    FenceTimeout = 5,
    /// `NOT_SUPPORTED`: a packet this engine does not run.
    NotSupported = 6,
    /// `BAD_KERNEL`: an invalid TPC kernel descriptor.
    BadKernel = 7,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_decodes_low_byte_only() {
        assert_eq!(Opcode::from_cmd(0x01), Some(Opcode::Reset));
        assert_eq!(Opcode::from_cmd(CMD_IRQ | 0x02), Some(Opcode::DmaSelftest));
        assert_eq!(Opcode::from_cmd(0x0102), Some(Opcode::DmaSelftest));
        assert_eq!(Opcode::from_cmd(0x03), Some(Opcode::QmanReset));
        assert_eq!(Opcode::from_cmd(CMD_IRQ | 0x04), Some(Opcode::PortStop));
        assert_eq!(Opcode::from_cmd(0x05), Some(Opcode::ConnReset));
        assert_eq!(Opcode::from_cmd(0x06), Some(Opcode::CqReset));
        assert_eq!(Opcode::from_cmd(CMD_IRQ | 0x07), Some(Opcode::DramRows));
        for cmd in [0x00, 0x08, 0xff, CMD_IRQ] {
            assert_eq!(Opcode::from_cmd(cmd), None, "cmd {cmd:#x}");
        }
    }

    #[test]
    fn queues_and_gaudis_fence_registers() {
        for q in 0..NUM_QMANS {
            let (kind, index) = queue(q).unwrap();
            assert_eq!(queue_of(kind, index), Some(q), "queue {q}");
        }
        assert_eq!(queue(NUM_QMANS), None);
        assert_eq!(queue_of(ENGINE_DMA, 8), None);
        assert_eq!(queue_of(ENGINE_MME, 2), None);
        assert_eq!(QUEUE_MASK, 0x0fff_ffff);
        assert_eq!(
            (
                queue_vector(1),
                queue_vector(4),
                queue_vector(19),
                queue_vector(27)
            ),
            (3, 56, 19, 56)
        );
        // CP_FENCE2_RDATA_3 of DMA5, TPC7, NIC3_QM1 (port 7), MME 0
        // (GAUDI's MME2 QMAN) and MME 1 (MME0), from asic_reg/.
        let cfg = space::CFG_BASE;
        for (reg, q) in [
            (0x5a_833c, 7),
            (0xfc_833c, 15),
            (0xda_233c, 23),
            (0x16_833c, 26),
            (0x06_833c, 27),
        ] {
            assert_eq!(space::qm_fence(cfg + reg), Some((q, 3, 2)), "{reg:#x}");
        }
        // DMA0's FENCE0_RDATA_0 and FENCE3_RDATA_4, the first and last;
        // DMA1's FENCE2_RDATA_1.
        assert_eq!(space::qm_fence(cfg + 0x50_8308), Some((0, 0, 0)));
        assert_eq!(space::qm_fence(cfg + 0x50_8354), Some((0, 4, 3)));
        assert_eq!(space::qm_fence(cfg + 0x52_8334), Some((1, 1, 2)));
        for bad in [0x50_8304, 0x50_8358, 0x50_830a, 0x50_8000, 0] {
            assert_eq!(space::qm_fence(cfg + bad), None, "{bad:#x}");
        }
        assert_eq!(space::qm_fence(0x50_8308), None);
        assert_eq!(space::SM_BASE, 0x7f_fc4f_2000);
        // DMA0's ARB_CFG_0, ARB_WRR_WEIGHT_3 and ARB_MST_QUIET_PER
        // (mmDMA0_QM_*), TPC7's ARB_CFG_0.
        assert_eq!(space::qm_arb(cfg + 0x50_8a00), Some((0, 0xa00)));
        assert_eq!(space::qm_arb(cfg + 0x50_8a14), Some((0, 0xa14)));
        assert_eq!(space::qm_arb(cfg + 0x50_8b34), Some((0, 0xb34)));
        let tpc7 = (0..NUM_QMANS).find(|&q| queue(q) == Some((ENGINE_TPC, 7)));
        assert_eq!(space::qm_arb(cfg + 0xfc_8a00), tpc7.map(|q| (q, 0xa00)));
        // ARB_CHOISE_Q_PUSH, ARB_CFG_1, a misaligned weight, ARB_SLV_CHOISE_WDT.
        for bad in [0x50_8a04, 0x50_8a18, 0x50_8a09, 0x50_8b38, 0x50_8308] {
            assert_eq!(space::qm_arb(cfg + bad), None, "{bad:#x}");
        }
    }

    #[test]
    fn values_match_spec() {
        assert_eq!(MAGIC_HLSM.to_le_bytes(), *b"HLSM");
        assert_eq!(Status::BadSize as u32, 4);
        assert_eq!(State::Ready as u32, 1);
        assert_eq!(JobStatus::BadKernel as u32, 7);
        assert_eq!(qman::block(3) + qman::ENGINE, 0x1c30);
        assert_eq!(qman::stream(3, 2) + qman::ENGINE, 0x1e30);
        assert_eq!(sync_manager::mon(511, sync_manager::STATUS), 0x47fc);
        assert_eq!(sync_manager::fence(3, 0, 3), 0x80fc);
        assert_eq!(sync_manager::fence(3, 2, 3), 0x811c);
        assert_eq!(identity::mac_hi(9), 0x0cc);
        assert_eq!(nic::block(9) + nic::counter(56), 0x24ac0);
        assert_eq!(eeprom::block(9), 0x32400);
        assert_eq!(model_ctl::port_faults(9), 0xff034);
        assert_eq!(model_ctl::link_rate(9), 0xff064);
        assert_eq!(qman::block(NIC_QUEUE0 + 9) + qman::ENGINE, 0x7430);
        assert_eq!(sync_manager::fence(NIC_QUEUE0 + 9, 4, 3), 0x881c);
        assert_eq!(rdma::conn(9, 63) + rdma::RQ_CI, 0x53fd0);
        assert_eq!(rdma::cq(9, 15) + rdma::CQ_LOST, 0x553f8);
    }

    /// The DMA core's registers are GAUDI's: `asic_reg/dma0_core_regs.h`'s
    /// offsets minus `mmDMA0_CORE_BASE`, its `COMMIT` bits, and
    /// `gaudi_blocks.h`' block of each engine; checked against the kernel
    /// tree's headers too when the kernel is unpacked (`build/kernel`).
    #[test]
    fn dma_core_is_gaudis() {
        use dma_core::*;
        let mut regs = vec![
            ("SRC_BASE_LO", SRC_BASE_LO, 0x14),
            ("SRC_BASE_HI", SRC_BASE_HI, 0x18),
            ("DST_BASE_LO", DST_BASE_LO, 0x1c),
            ("DST_BASE_HI", DST_BASE_HI, 0x20),
            ("SRC_TSIZE_0", SRC_TSIZE_0, 0x4c),
            ("DST_TSIZE_0", DST_TSIZE_0, 0x74),
            ("COMMIT", COMMIT, 0x78),
            ("WR_COMP_WDATA", WR_COMP_WDATA, 0x7c),
            ("WR_COMP_ADDR_LO", WR_COMP_ADDR_LO, 0x80),
            ("WR_COMP_ADDR_HI", WR_COMP_ADDR_HI, 0x84),
        ];
        let dims = [
            (1, 0x2c, 0x30, 0x54, 0x58),
            (2, 0x34, 0x38, 0x5c, 0x60),
            (3, 0x3c, 0x40, 0x64, 0x68),
            (4, 0x44, 0x48, 0x6c, 0x70),
        ];
        let names: Vec<[String; 4]> = dims
            .iter()
            .map(|(d, ..)| {
                ["SRC_TSIZE", "SRC_STRIDE", "DST_TSIZE", "DST_STRIDE"].map(|n| format!("{n}_{d}"))
            })
            .collect();
        for ((d, st, ss, dt, ds), n) in dims.into_iter().zip(&names) {
            regs.push((&n[0], src_tsize(d), st));
            regs.push((&n[1], src_stride(d), ss));
            regs.push((&n[2], dst_tsize(d), dt));
            regs.push((&n[3], dst_stride(d), ds));
        }
        for &(name, ours, gaudis) in &regs {
            assert_eq!(ours, gaudis, "{name}");
        }
        let bits = [
            ("WR_COMP_EN", COMMIT_WR_COMP_EN, 0x1),
            ("TRANSPOSE", COMMIT_TRANSPOSE, 0x2),
            ("DTYPE", COMMIT_DTYPE, 0x4),
            ("LIN", COMMIT_LIN, 0x8),
            ("MEM_SET", COMMIT_MEM_SET, 0x10),
            ("COMPRESS", COMMIT_COMPRESS, 0x20),
            ("DECOMPRESS", COMMIT_DECOMPRESS, 0x40),
            ("CTX_ID", COMMIT_CTX_ID, 0xff_0000),
        ];
        for (name, ours, gaudis) in bits {
            assert_eq!(ours, gaudis, "COMMIT_{name}");
        }
        for (i, base) in [
            (0, 0x7f_fc50_0000),
            (1, 0x7f_fc52_0000),
            (7, 0x7f_fc5e_0000),
        ] {
            assert_eq!(space::CFG_BASE + block(i), base, "DMA{i}_CORE_BASE");
        }
        // The same, read from the headers themselves.
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../build/kernel/src/drivers/accel/habanalabs/include/gaudi/asic_reg/"
        );
        let (Ok(h), Ok(m)) = (
            std::fs::read_to_string(format!("{dir}dma0_core_regs.h")),
            std::fs::read_to_string(format!("{dir}dma0_core_masks.h")),
        ) else {
            return;
        };
        let define = |text: &str, name: &str| -> u64 {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().nth(1) == Some(name))
                .unwrap_or_else(|| panic!("{name} not in the header"));
            let value = line.split_whitespace().nth(2).expect("a value");
            u64::from_str_radix(value.trim_start_matches("0x"), 16).expect("hex")
        };
        for &(name, ours, _) in &regs {
            assert_eq!(
                BLOCK + ours,
                define(&h, &format!("mmDMA0_CORE_{name}")),
                "{name}"
            );
        }
        for (name, ours, _) in bits {
            let mask = define(&m, &format!("DMA0_CORE_COMMIT_{name}_MASK"));
            assert_eq!(u64::from(ours), mask, "COMMIT_{name}");
        }
    }
}
