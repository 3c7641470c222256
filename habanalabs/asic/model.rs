// SPDX-License-Identifier: GPL-2.0

//! The device model's ASIC functions: the GAUDI-like device of `tools/hlsim`, attached through
//! Red Hat's ivshmem function (Documentation/accel/habanalabs/device-model.rst). Its registers
//! are BAR2 (`regs.rs`), its doorbells writes to the ivshmem BAR0, its interrupts one ivshmem
//! vector per line, and its power-on reset a mailbox command.

use kernel::{c_str, device, dma, dma::Device as _, pci, prelude::*, sync::Arc};

use super::{AsicFuncs, Early, Line};
use crate::{
    control::Control,
    hw::Hw,
    identity::{port_span, Identity},
    mailbox::Command,
    regs::{self, QmanBlock, DOORBELL, IVSHMEM_SIZE, QMAN_ENGINE, REGS_SIZE},
};

/// The device model.
pub(crate) struct Model;

impl AsicFuncs for Model {
    fn name(&self) -> &'static str {
        "GAUDI-sim"
    }

    fn early_init(&'static self, pdev: &pci::Device<device::Core>) -> Result<Early> {
        pdev.enable_device_mem()?;
        let regs = pdev.iomap_region_sized::<REGS_SIZE>(2, c_str!("habanalabs"))?;
        let identity = Identity::read(pdev, regs.access(pdev.as_ref())?)?;
        let ivshmem = pdev.iomap_region_sized::<IVSHMEM_SIZE>(0, c_str!("habanalabs"))?;
        pdev.set_master();
        // SAFETY: Probe has not allocated or mapped any DMA memory for the device yet.
        unsafe { pdev.dma_set_mask_and_coherent(dma::DmaMask::new::<64>())? };

        let nvec = regs::vectors_used(
            port_span(identity.port_mask),
            identity.rdma.is_some(),
            identity.internal_queues != 0,
        );
        pdev.alloc_irq_vectors(
            nvec,
            nvec,
            pci::IrqTypes::default().with(pci::IrqType::MsiX),
        )?;
        // The compute queues (those with vectors of their own, then the internal ones that
        // share one), then the NIC queue of each RDMA port, with the engine each must have: a
        // compute one, or the port's NIC.
        let mut queues = KVec::new();
        let internal = identity.internal_queues;
        let present = regs::internal_queues().filter(|q| internal & (1 << q) != 0);
        let compute = Iterator::chain(0..identity.num_queues, present).map(|q| (q, None));
        let nic = identity
            .rdma_ports()
            .map(|p| (regs::NIC_QUEUE_0 + usize::from(p), Some(p)));
        for (q, port) in Iterator::chain(compute, nic) {
            let engine = QMAN_ENGINE::try_read(regs.access(pdev.as_ref())?, &QmanBlock(q, 0))?;
            let expected = match port {
                None => engine.kind() != QMAN_ENGINE::NIC,
                Some(p) => engine.kind() == QMAN_ENGINE::NIC && engine.index() == p,
            };
            if !engine.is_valid() || !expected {
                dev_err!(
                    pdev,
                    "queue {}: unknown engine {:#x}\n",
                    q,
                    u32::from(engine)
                );
                return Err(EIO);
            }
            queues.push((q, engine, port), GFP_KERNEL)?;
        }
        let hw = Arc::new(
            Hw::new(self, regs, ivshmem, identity.model_peer),
            GFP_KERNEL,
        )?;
        Ok(Early {
            identity,
            hw,
            queues,
        })
    }

    fn hw_reset(&self, control: &Control) -> Result {
        control.run_polled(Command::Reset)
    }

    fn vector(&self, line: Line) -> Result<u16> {
        Ok(match line {
            Line::Control => regs::VECTOR_CONTROL,
            Line::Events => regs::VECTOR_EQ,
            Line::Queue(q) => regs::vector_qman(q),
            Line::Port(p) => regs::vector_port(p),
        })
    }

    fn ring(&self, hw: &Hw, line: Line) -> Result {
        let bar = hw.doorbells()?;
        DOORBELL::default()
            .set_peer(hw.model_peer())
            .set_vector(self.vector(line)?)
            .write(&bar);
        Ok(())
    }
}
