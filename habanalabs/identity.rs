// SPDX-License-Identifier: GPL-2.0

//! What the device says it is: the identity block at the start of BAR2, read and checked once
//! at probe.

use kernel::{pci, prelude::*, uapi};

use crate::regs::{
    self, rdma, Regs, CAPS, CHIP_ID, DRAM_BASE, DRAM_SIZE, MAC, MAGIC, MODEL_PEER, NUM_QUEUES,
    NUM_VECTORS, PORT_MASK, QUEUE_MASK, RDMA_CONNS, RDMA_CQS, REGS_SIZE, SERIAL, VERSION,
};

/// The highest port in `mask` plus one: the ports' vectors go up to there.
pub(crate) fn port_span(mask: u32) -> u8 {
    (u32::BITS - mask.leading_zeros()) as u8
}

/// What the device says it is, checked when it is read.
pub(crate) struct Identity {
    pub(crate) version: VERSION,
    pub(crate) chip: CHIP_ID,
    pub(crate) serial: u64,
    pub(crate) dram_size: u64,
    pub(crate) num_vectors: u32,
    pub(crate) model_peer: u16,
    pub(crate) num_queues: usize,
    /// The internal QMANs present beyond the first `num_queues`, a bit per queue index.
    pub(crate) internal_queues: u32,
    pub(crate) port_mask: u32,
    pub(crate) macs: [[u8; 6]; uapi::HL_MAX_PORTS as usize],
    /// With `CAPS.RDMA`: the connections and completion queues of each port.
    pub(crate) rdma: Option<RdmaLimits>,
}

/// How many connections and completion queues each port has.
#[derive(Clone, Copy)]
pub(crate) struct RdmaLimits {
    pub(crate) conns: u32,
    pub(crate) cqs: u32,
}

impl Identity {
    /// Reads the identity block. Fails with `ENODEV` if this is not a device this driver knows
    /// (another user of ivshmem), with `EIO` if the device reports nonsense.
    pub(crate) fn read(pdev: &pci::Device, regs: &Regs) -> Result<Self> {
        let magic = u32::from(MAGIC::read(regs));
        if magic != regs::MAGIC_VALUE {
            dev_info!(
                pdev,
                "not an accelerator (magic {:#010x}), leaving it alone\n",
                magic
            );
            return Err(ENODEV);
        }
        let version = VERSION::read(regs);
        if version.major() != regs::VERSION_MAJOR {
            dev_err!(
                pdev,
                "unsupported device version {}.{}\n",
                version.major(),
                version.minor()
            );
            return Err(ENODEV);
        }
        let caps = CAPS::read(regs);
        let chip = CHIP_ID::read(regs);
        let dram_size = u64::from(DRAM_SIZE::read(regs));
        let num_vectors = u32::from(NUM_VECTORS::read(regs));
        let peer = u32::from(MODEL_PEER::read(regs));
        let num_queues = u32::from(NUM_QUEUES::read(regs));
        let queue_mask = u32::from(QUEUE_MASK::read(regs));
        let internal_queues = regs::internal_queues().fold(0, |m, q| m | (queue_mask & (1 << q)));
        let port_mask = if caps.nic() {
            PORT_MASK::read(regs).into()
        } else {
            0
        };
        let rdma = caps.rdma().then(|| RdmaLimits {
            conns: RDMA_CONNS::read(regs).into(),
            cqs: RDMA_CQS::read(regs).into(),
        });
        // The register blocks have room for so many; RDMA needs ports.
        let rdma_valid = rdma.map_or(true, |r| {
            let conns = (1..=rdma::MAX_CONNS).contains(&r.conns);
            conns && (1..=rdma::MAX_CQS).contains(&r.cqs) && port_mask != 0
        });
        // DRAM past BAR2's window is the model's own (GAUDI's HBM BAR is a window too).
        if chip.chip() != CHIP_ID::GAUDI_SIM
            || u32::from(DRAM_BASE::read(regs)) != regs::DRAM_BASE_VALUE
            || dram_size == 0
            || dram_size > regs::DRAM_SIZE_MAX
            || (REGS_SIZE as u64) >= pdev.resource_len(2)
            || peer > u32::from(u16::MAX)
            || !caps.dma_selftest()
            || !caps.compute()
            || num_queues as usize != uapi::HL_QUEUE_COUNT as usize
            || num_vectors
                < regs::vectors_used(port_span(port_mask), rdma.is_some(), internal_queues != 0)
            || port_mask >> uapi::HL_MAX_PORTS != 0
            || !rdma_valid
        {
            dev_err!(
                pdev,
                "inconsistent identity (chip {:#x}, caps {:#x}, {} bytes of memory, {} queues, {} vectors, peer {})\n",
                chip.chip(), u32::from(caps), dram_size, num_queues, num_vectors, peer
            );
            return Err(EIO);
        }
        let mut macs = [[0u8; 6]; uapi::HL_MAX_PORTS as usize];
        for (p, mac) in macs.iter_mut().enumerate() {
            *mac = MAC::try_read_at(regs, p)?.bytes();
        }
        Ok(Self {
            version,
            chip,
            serial: SERIAL::read(regs).into(),
            dram_size,
            num_vectors,
            model_peer: peer as u16,
            num_queues: num_queues as usize,
            internal_queues,
            port_mask,
            macs,
            rdma,
        })
    }

    /// The ports with RDMA: those present, if the device has it.
    pub(crate) fn rdma_ports(&self) -> impl Iterator<Item = u8> + '_ {
        let mask = if self.rdma.is_some() {
            self.port_mask
        } else {
            0
        };
        (0..uapi::HL_MAX_PORTS as u8).filter(move |&p| mask & (1 << p) != 0)
    }
}
