// SPDX-License-Identifier: GPL-2.0

//! One accelerator: its identity, register windows, mailbox and control interrupt.

use kernel::{
    c_str, dma,
    devres::Devres,
    irq::{self, IrqReturn},
    pci::{self, Bar},
    prelude::*,
    sync::Completion,
    types::ARef,
};

use crate::{
    mailbox::{Command, Mailbox, Wait},
    regs::{self, caps, ChipId, Regs, Version, IVSHMEM_SIZE, REGS_SIZE},
    selftest,
};

/// What the device says it is, checked when it is read.
pub(crate) struct Identity {
    pub(crate) version: Version,
    pub(crate) caps: u32,
    pub(crate) chip: ChipId,
    pub(crate) serial: u64,
    pub(crate) dram_size: u64,
    pub(crate) num_vectors: u32,
    pub(crate) model_peer: u16,
}

impl Identity {
    /// Reads the identity block. Fails with `ENODEV` if this is not a device this driver knows
    /// (another user of ivshmem), with `EIO` if the device reports nonsense.
    fn read(pdev: &pci::Device, regs: &Regs) -> Result<Self> {
        let magic = regs.read32(regs::MAGIC);
        if magic != regs::MAGIC_VALUE {
            dev_info!(pdev, "not an accelerator (magic {:#010x}), leaving it alone\n", magic);
            return Err(ENODEV);
        }
        let version = Version(regs.read32(regs::VERSION));
        if version.major() != regs::VERSION_MAJOR {
            dev_err!(pdev, "unsupported device version {}.{}\n", version.major(), version.minor());
            return Err(ENODEV);
        }
        let id = Self {
            version,
            caps: regs.read32(regs::CAPS),
            chip: ChipId(regs.read32(regs::CHIP_ID)),
            serial: u64::from(regs.read32(regs::SERIAL_LO))
                | (u64::from(regs.read32(regs::SERIAL_HI)) << 32),
            dram_size: u64::from(regs.read32(regs::DRAM_SIZE_LO))
                | (u64::from(regs.read32(regs::DRAM_SIZE_HI)) << 32),
            num_vectors: regs.read32(regs::NUM_VECTORS),
            model_peer: 0,
        };
        let peer = regs.read32(regs::MODEL_PEER);
        let dram_end = id.dram_size.checked_add(REGS_SIZE as u64);
        if id.chip.chip() != ChipId::GAUDI_SIM
            || regs.read32(regs::DRAM_BASE) != regs::DRAM_BASE_VALUE
            || dram_end.map_or(true, |end| end > pdev.resource_len(2))
            || id.num_vectors == 0
            || peer > u32::from(u16::MAX)
            || id.caps & caps::DMA_SELFTEST == 0
        {
            dev_err!(pdev, "inconsistent identity (chip {:#x}, {} bytes of memory, {} vectors, peer {})\n",
                id.chip.chip(), id.dram_size, id.num_vectors, peer);
            return Err(EIO);
        }
        Ok(Self { model_peer: peer as u16, ..id })
    }
}

/// The control interrupt (vector 0): signals mailbox completions.
#[pin_data]
pub(crate) struct ControlIrq {
    #[pin]
    pub(crate) done: Completion,
}

impl irq::Handler for ControlIrq {
    fn handle(&self) -> IrqReturn {
        self.done.complete();
        IrqReturn::Handled
    }
}

/// A bound accelerator: the PCI driver's per-device data.
#[pin_data]
pub(crate) struct HlDevice {
    // Dropped first: no interrupt runs once the rest goes away.
    #[pin]
    control_irq: irq::Registration<ControlIrq>,
    pdev: ARef<pci::Device>,
    regs: Devres<Bar<REGS_SIZE>>,
    ivshmem: Devres<Bar<IVSHMEM_SIZE>>,
    pub(crate) identity: Identity,
    #[pin]
    mailbox: Mailbox,
}

impl HlDevice {
    /// Brings the device up: maps it, checks what it is, resets it, sets up its control
    /// interrupt and proves that DMA works.
    pub(crate) fn probe(pdev: &pci::Device<pci::Core>) -> Result<Pin<KBox<Self>>> {
        pdev.enable_device()?;
        let regs = pdev.iomap_region_sized::<REGS_SIZE>(2, c_str!("habanalabs"))?;
        let identity = Identity::read(pdev, regs.access(pdev)?)?;
        let ivshmem = pdev.iomap_region_sized::<IVSHMEM_SIZE>(0, c_str!("habanalabs"))?;
        pdev.set_master();
        dma::set_mask_and_coherent(pdev, dma::bit_mask(64))?;

        let nvec = pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::MSIX)?;
        let control_vector = pdev.irq_vector(u32::from(regs::VECTOR_CONTROL))?;
        dev_dbg!(pdev, "{} interrupt vector(s), control on IRQ {}\n", nvec, control_vector);

        let mailbox = Mailbox::new(regs.access(pdev)?, identity.model_peer);
        let dev = KBox::pin_init(
            try_pin_init!(Self {
                control_irq <- irq::Registration::new(
                    pdev,
                    control_vector,
                    irq::Flags::NONE,
                    c_str!("habanalabs-control"),
                    pin_init!(ControlIrq { done <- Completion::new() }),
                ),
                pdev: ARef::from(pdev),
                regs,
                ivshmem,
                identity,
                mailbox <- mailbox,
            }),
            GFP_KERNEL,
        )?;

        dev.run(pdev, Command::Reset, Wait::Poll).inspect_err(|e| {
            dev_err!(pdev, "reset failed: {}\n", e.to_errno());
        })?;
        let id = &dev.identity;
        dev_info!(
            pdev,
            "GAUDI-sim rev {}, serial {:#018x}, device model {}.{}, {} MiB device memory, {} vectors\n",
            id.chip.revision(),
            id.serial,
            id.version.major(),
            id.version.minor(),
            id.dram_size >> 20,
            id.num_vectors,
        );
        selftest::dma(&dev, pdev)?;
        Ok(dev)
    }

    /// Runs a mailbox command.
    pub(crate) fn run(
        &self,
        pdev: &pci::Device<pci::Core>,
        command: Command,
        wait: Wait<'_>,
    ) -> Result {
        let regs = self.regs.access(pdev)?;
        let ivshmem = self.ivshmem.access(pdev)?;
        self.mailbox.run(regs, ivshmem, command, wait)
    }

    /// The completion the control interrupt signals.
    pub(crate) fn control_done(&self) -> &Completion {
        &self.control_irq.handler().done
    }

    pub(crate) fn pdev(&self) -> &pci::Device {
        &self.pdev
    }
}
