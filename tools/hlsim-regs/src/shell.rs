// SPDX-License-Identifier: GPL-2.0

//! The selftests' copy of the map: `regs.sh`, shell variables their
//! `lib.sh` sources. Registers are `HL_` and their block (`REG_` for the
//! identity block) and name; values, bits and fields are `HL_` and the
//! map's name. It holds what the shell tests use, and the rest of a
//! block or set of bits where that is short; a test that needs more adds
//! it here and regenerates the file.

use std::fmt::Write;

use crate::{counters as c, identity as id, model_ctl as ctl, nic, qman, sensors};

/// Where [`shell`]'s output is kept, from the top of the tree.
pub const SHELL_PATH: &str = "tools/testing/selftests/drivers/accel/habanalabs/regs.sh";

/// The text of `regs.sh`.
pub fn shell() -> String {
    let mut sh = Shell(String::new());
    sh.0.push_str(
        "# SPDX-License-Identifier: GPL-2.0\n\
         # Generated from tools/hlsim-regs, the device model's register map (see\n\
         # device-model.rst), by\n\
         #   cargo run -q --manifest-path tools/Cargo.toml -p hlsim-regs\n\
         # Do not edit: a cargo test fails when this file and the map differ.\n",
    );

    sh.section("Identity block: registers (HL_REG_*), values and CAPS bits.");
    for (name, offset) in [
        ("MAGIC", id::MAGIC),
        ("VERSION", id::VERSION),
        ("CAPS", id::CAPS),
        ("CHIP_ID", id::CHIP_ID),
        ("SERIAL_LO", id::SERIAL_LO),
        ("SERIAL_HI", id::SERIAL_HI),
        ("DRAM_BASE", id::DRAM_BASE),
        ("DRAM_SIZE_LO", id::DRAM_SIZE_LO),
        ("DRAM_SIZE_HI", id::DRAM_SIZE_HI),
        ("NUM_VECTORS", id::NUM_VECTORS),
        ("MODEL_PEER", id::MODEL_PEER),
        ("STATE", id::STATE),
        ("NUM_QUEUES", id::NUM_QUEUES),
        ("CLK_CUR_MHZ", id::CLK_CUR_MHZ),
        ("CLK_MAX_MHZ", id::CLK_MAX_MHZ),
        ("PORT_MASK", id::PORT_MASK),
        ("RDMA_CONNS", id::RDMA_CONNS),
        ("RDMA_CQS", id::RDMA_CQS),
    ] {
        sh.offset(&format!("REG_{name}"), offset);
    }
    sh.comment("Port p's MAC: bytes 0-3 at HL_REG_MAC_LO + p * HL_REG_MAC_STRIDE,");
    sh.comment("bytes 4-5 in bits 15:0 at HL_REG_MAC_HI + p * HL_REG_MAC_STRIDE.");
    sh.offset("REG_MAC_LO", id::mac_lo(0));
    sh.offset("REG_MAC_HI", id::mac_hi(0));
    sh.number("REG_MAC_STRIDE", id::mac_lo(1) - id::mac_lo(0));
    sh.bits("MAGIC_HLSM", crate::MAGIC_HLSM.into());
    sh.comment("VERSION's bits 31:16.");
    sh.number("VERSION_MAJOR", (crate::VERSION_1_0 >> 16).into());
    sh.bits("CAPS_DMA_SELFTEST", crate::CAPS_DMA_SELFTEST.into());
    sh.bits("CAPS_COMPUTE", crate::CAPS_COMPUTE.into());
    sh.bits("CAPS_NIC", crate::CAPS_NIC.into());
    sh.bits("CAPS_RDMA", crate::CAPS_RDMA.into());

    sh.section("Sensors (HL_SENSOR_*): readings and limits.");
    for (name, offset) in [
        ("TEMP", sensors::TEMP),
        ("POWER", sensors::POWER),
        ("POWER_MAX", sensors::POWER_MAX),
        ("HEARTBEAT", sensors::HEARTBEAT),
    ] {
        sh.offset(&format!("SENSOR_{name}"), offset);
    }

    sh.section("PCI (HL_PCI_*): where the host placed BAR2, for peers' DMA.");
    sh.offset("PCI_BAR2_BUS_LO", crate::pci::BAR2_BUS_LO);
    sh.offset("PCI_BAR2_BUS_HI", crate::pci::BAR2_BUS_HI);

    sh.section("QMANs: register R of queue q's stream 0 at HL_QMAN_BLOCKS + q * HL_QMAN_SIZE + R;");
    sh.comment("port p's NIC queue is HL_NIC_QUEUE0 + p.");
    sh.offset("QMAN_BLOCKS", qman::block(0));
    sh.offset("QMAN_SIZE", qman::SIZE);
    sh.offset("QMAN_STATUS", qman::STATUS);
    sh.bits("QMAN_STATUS_BUSY", crate::QMAN_STATUS_BUSY.into());
    sh.number("NIC_QUEUE0", crate::NIC_QUEUE0 as u64);

    sh.section("NIC ports: port p's register R at HL_PORT_BLOCKS + p * HL_PORT_SIZE + R;");
    sh.comment("counter i (HL_COUNTER_*) at R = HL_PORT_COUNTERS + i * HL_PORT_COUNTER_STRIDE.");
    sh.offset("PORT_BLOCKS", nic::block(0));
    sh.offset("PORT_SIZE", nic::SIZE);
    for (name, offset) in [
        ("CTL", nic::CTL),
        ("LINK_CFG", nic::LINK_CFG),
        ("LINK_STATUS", nic::LINK_STATUS),
        ("LINK_CHANGES", nic::LINK_CHANGES),
        ("MAX_FRAME", nic::MAX_FRAME),
        ("LINK_INFO", nic::LINK_INFO),
        ("TX_SIZE", nic::TX_SIZE),
        ("RX_SIZE", nic::RX_SIZE),
        ("IRQ_MASK", nic::IRQ_MASK),
        ("TX_DRAINING", nic::TX_DRAINING),
        ("PFC_EN", nic::PFC_EN),
        ("TC_BW", nic::TC_BW),
        ("PRIO_TC", nic::PRIO_TC),
        ("TC_TSA", nic::TC_TSA),
        ("COUNTERS", nic::COUNTERS),
    ] {
        sh.offset(&format!("PORT_{name}"), offset);
    }
    sh.number("PORT_COUNTER_STRIDE", nic::counter(1) - nic::counter(0));
    sh.comment("Queue blocks: TX queue q's register R at R + HL_PORT_TXQ0 + q * HL_Q_STRIDE,");
    sh.comment("RX queue r's at R + HL_PORT_RXQ0 + r * HL_Q_STRIDE; coalescing limits.");
    sh.offset("PORT_TXQ0", nic::txq(0));
    sh.offset("PORT_RXQ0", nic::rxq(0));
    sh.offset("Q_STRIDE", nic::Q_STRIDE);
    sh.offset("Q_PI", nic::Q_PI);
    sh.offset("Q_CI", nic::Q_CI);
    sh.offset("Q_COAL_USECS", nic::Q_COAL_USECS);
    sh.offset("Q_COAL_FRAMES", nic::Q_COAL_FRAMES);
    sh.number("COAL_USECS_MAX", nic::COAL_USECS_MAX.into());
    sh.number("COAL_FRAMES_MAX", nic::COAL_FRAMES_MAX.into());
    sh.bits("TX_DRAINING_BUSY", crate::TX_DRAINING_BUSY.into());
    sh.bits("PORT_LOOPBACK", crate::PORT_LOOPBACK.into());
    sh.bits("LINK_AUTONEG", crate::LINK_AUTONEG.into());
    sh.comment("LINK_CFG's 4-bit fields: the forced speed code, the advertised speeds.");
    sh.number("LINK_FORCED_SHIFT", crate::LINK_FORCED_SHIFT.into());
    sh.number("LINK_ADVERTISED_SHIFT", crate::LINK_ADVERTISED_SHIFT.into());
    sh.comment("LINK_CFG's FEC mode and LINK_INFO's active FEC: FEC_* codes.");
    sh.number("LINK_FEC_SHIFT", crate::LINK_FEC_SHIFT.into());
    for (name, code) in [
        ("AUTO", crate::FEC_AUTO),
        ("OFF", crate::FEC_OFF),
        ("RS", crate::FEC_RS),
    ] {
        sh.number(&format!("FEC_{name}"), code.into());
    }
    sh.comment("LINK_INFO's reason the link is down: a DOWN_* code.");
    sh.number("LINK_INFO_DOWN_SHIFT", crate::LINK_INFO_DOWN_SHIFT.into());
    for (name, code) in [
        ("DISABLED", crate::DOWN_DISABLED),
        ("NO_CABLE", crate::DOWN_NO_CABLE),
        ("PARTNER_DISABLED", crate::DOWN_PARTNER_DISABLED),
        ("AN_NO_COMMON_SPEED", crate::DOWN_AN_NO_COMMON_SPEED),
        ("AN_MISMATCH", crate::DOWN_AN_MISMATCH),
        ("SPEED_MISMATCH", crate::DOWN_SPEED_MISMATCH),
        ("FEC_MISMATCH", crate::DOWN_FEC_MISMATCH),
        ("LINK_TRAINING", crate::DOWN_LINK_TRAINING),
    ] {
        sh.number(&format!("DOWN_{name}"), code.into());
    }
    sh.comment("Counter indices; TX_PAUSE and RX_PAUSE are priority 0's, priority p's + p.");
    for (name, index) in [
        ("TX_FRAMES", c::TX_FRAMES),
        ("RX_FRAMES", c::RX_FRAMES),
        ("TX_DROPPED", c::TX_DROPPED),
        ("RX_FILTERED", c::RX_FILTERED),
        ("RX_NO_BUFFER", c::RX_NO_BUFFER),
        ("TX_PAUSE", c::TX_PAUSE),
        ("RX_PAUSE", c::RX_PAUSE),
    ] {
        sh.number(&format!("COUNTER_{name}"), index as u64);
    }

    sh.section("Model control page: registers (HL_CTL_*) and fault bits; port p's");
    sh.comment("PORT_FAULTS and LINK_RATE at + p * their stride.");
    sh.offset("CTL_FAULTS", ctl::FAULTS);
    sh.offset("CTL_DOORBELLS", ctl::DOORBELLS);
    sh.comment("Bit q stops QMAN q's engine.");
    sh.offset("CTL_ENGINE_HANG", ctl::ENGINE_HANG);
    sh.offset("CTL_PORT_FAULTS", ctl::port_faults(0));
    sh.number(
        "CTL_PORT_FAULTS_STRIDE",
        ctl::port_faults(1) - ctl::port_faults(0),
    );
    sh.offset("CTL_LINK_RATE", ctl::link_rate(0));
    sh.number(
        "CTL_LINK_RATE_STRIDE",
        ctl::link_rate(1) - ctl::link_rate(0),
    );
    sh.bits(
        "FAULT_SELFTEST_CORRUPT",
        crate::FAULT_SELFTEST_CORRUPT.into(),
    );
    sh.bits("FAULT_MAILBOX_HANG", crate::FAULT_MAILBOX_HANG.into());
    sh.bits("FAULT_IRQ_STORM", crate::FAULT_IRQ_STORM.into());
    sh.bits("FAULT_VANISH", crate::FAULT_VANISH.into());
    sh.bits("FAULT_HEARTBEAT_STOP", crate::FAULT_HEARTBEAT_STOP.into());
    sh.bits("FAULT_HOSTILE", crate::FAULT_HOSTILE.into());
    sh.offset("CTL_HOSTILE_SEED", ctl::HOSTILE_SEED);
    sh.offset("CTL_HOSTILE_RATE", ctl::HOSTILE_RATE);
    sh.offset("CTL_HOSTILE_EVENTS", ctl::HOSTILE_EVENTS);
    sh.bits("PORT_FAULT_LINK_DOWN", crate::PORT_FAULT_LINK_DOWN.into());
    sh.bits(
        "PORT_FAULT_LOOPBACK_CORRUPT",
        crate::PORT_FAULT_LOOPBACK_CORRUPT.into(),
    );
    sh.bits("PORT_FAULT_FEC_ERRORS", crate::PORT_FAULT_FEC_ERRORS.into());
    sh.bits(
        "PORT_FAULT_FEC_UNCORRECTABLE",
        crate::PORT_FAULT_FEC_UNCORRECTABLE.into(),
    );
    sh.bits(
        "PORT_FAULT_LINK_TRAINING",
        crate::PORT_FAULT_LINK_TRAINING.into(),
    );
    sh.comment("PORT_FAULTS bit PORT_FAULT_TX_STALL_SHIFT + q stalls TX queue q.");
    sh.number(
        "PORT_FAULT_TX_STALL_SHIFT",
        crate::PORT_FAULT_TX_STALL_SHIFT.into(),
    );
    sh.0
}

/// `regs.sh` being written.
struct Shell(String);

impl Shell {
    /// A blank line and a comment opening a group of variables.
    fn section(&mut self, comment: &str) {
        self.0.push('\n');
        self.comment(comment);
    }

    fn comment(&mut self, comment: &str) {
        writeln!(self.0, "# {comment}").unwrap();
    }

    /// `HL_<name>`, a register offset, in hex of at least three digits.
    fn offset(&mut self, name: &str, value: u64) {
        writeln!(self.0, "HL_{name}={value:#05x}").unwrap();
    }

    /// `HL_<name>`, a value or bits, in hex.
    fn bits(&mut self, name: &str, value: u64) {
        writeln!(self.0, "HL_{name}={value:#x}").unwrap();
    }

    /// `HL_<name>`, a number, stride or index, in decimal.
    fn number(&mut self, name: &str, value: u64) {
        writeln!(self.0, "HL_{name}={value}").unwrap();
    }
}
