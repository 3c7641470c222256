// SPDX-License-Identifier: GPL-2.0

//! One accelerator: identity, mailbox, event queue, queue managers and the resources they
//! share.

use core::sync::atomic::AtomicBool;
use kernel::{
    c_str, device,
    devres::Binding,
    dma::{self, Device as _},
    irq::{self, IrqReturn},
    new_mutex,
    pci,
    prelude::*,
    sync::{Arc, Completion, Mutex},
    types::ARef,
    uapi,
};

use crate::{
    eq::{EqIrq, EventQueue},
    hw::Hw,
    mailbox::{Command, Mailbox, Wait},
    memory::RangeAllocator,
    qman::{Qman, QmanIrq},
    rdma::{CqEvents, Quarantine},
    regs::{self, caps, rdma, ChipId, Engine, Regs, Version, IVSHMEM_SIZE, REGS_SIZE},
    selftest,
};

/// The highest port in `mask` plus one: the ports' vectors go up to there.
fn port_span(mask: u32) -> u8 {
    (u32::BITS - mask.leading_zeros()) as u8
}

/// What the device says it is, checked when it is read.
pub(crate) struct Identity {
    pub(crate) version: Version,
    pub(crate) chip: ChipId,
    pub(crate) serial: u64,
    pub(crate) dram_size: u64,
    pub(crate) num_vectors: u32,
    pub(crate) model_peer: u16,
    pub(crate) num_queues: usize,
    pub(crate) clk_cur_mhz: u32,
    pub(crate) clk_max_mhz: u32,
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
        let caps = regs.read32(regs::CAPS);
        let chip = ChipId(regs.read32(regs::CHIP_ID));
        let dram_size = u64::from(regs.read32(regs::DRAM_SIZE_LO))
            | (u64::from(regs.read32(regs::DRAM_SIZE_HI)) << 32);
        let num_vectors = regs.read32(regs::NUM_VECTORS);
        let peer = regs.read32(regs::MODEL_PEER);
        let num_queues = regs.read32(regs::NUM_QUEUES);
        let port_mask = if caps & caps::NIC != 0 { regs.read32(regs::PORT_MASK) } else { 0 };
        let rdma = (caps & caps::RDMA != 0).then(|| RdmaLimits {
            conns: regs.read32(regs::RDMA_CONNS),
            cqs: regs.read32(regs::RDMA_CQS),
        });
        // The register blocks have room for so many; RDMA needs ports.
        let rdma_valid = rdma.map_or(true, |r| {
            let conns = (1..=rdma::MAX_CONNS).contains(&r.conns);
            conns && (1..=rdma::MAX_CQS).contains(&r.cqs) && port_mask != 0
        });
        let dram_end = dram_size.checked_add(REGS_SIZE as u64);
        let wanted = caps::DMA_SELFTEST | caps::COMPUTE;
        if chip.chip() != ChipId::GAUDI_SIM
            || regs.read32(regs::DRAM_BASE) != regs::DRAM_BASE_VALUE
            || dram_end.map_or(true, |end| end > pdev.resource_len(2))
            || peer > u32::from(u16::MAX)
            || caps & wanted != wanted
            || num_queues as usize != uapi::HL_QUEUE_COUNT as usize
            || num_vectors < regs::vectors_used(port_span(port_mask), rdma.is_some())
            || port_mask >> uapi::HL_MAX_PORTS != 0
            || !rdma_valid
        {
            dev_err!(
                pdev,
                "inconsistent identity (chip {:#x}, caps {:#x}, {} bytes of memory, {} queues, {} vectors, peer {})\n",
                chip.chip(), caps, dram_size, num_queues, num_vectors, peer
            );
            return Err(EIO);
        }
        let mut macs = [[0u8; 6]; uapi::HL_MAX_PORTS as usize];
        for (p, mac) in macs.iter_mut().enumerate() {
            let lo = regs.try_read32(regs::MAC + 8 * p)?.to_le_bytes();
            let hi = regs.try_read32(regs::MAC + 8 * p + 4)?.to_le_bytes();
            *mac = [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1]];
        }
        Ok(Self {
            version,
            chip,
            serial: u64::from(regs.read32(regs::SERIAL_LO))
                | (u64::from(regs.read32(regs::SERIAL_HI)) << 32),
            dram_size,
            num_vectors,
            model_peer: peer as u16,
            num_queues: num_queues as usize,
            clk_cur_mhz: regs.read32(regs::CLK_CUR_MHZ),
            clk_max_mhz: regs.read32(regs::CLK_MAX_MHZ),
            port_mask,
            macs,
            rdma,
        })
    }

    /// The ports with RDMA: those present, if the device has it.
    pub(crate) fn rdma_ports(&self) -> impl Iterator<Item = u8> + '_ {
        let mask = if self.rdma.is_some() { self.port_mask } else { 0 };
        (0..uapi::HL_MAX_PORTS as u8).filter(move |&p| mask & (1 << p) != 0)
    }
}

/// The control interrupt (vector 0): signals mailbox completions.
#[pin_data]
pub(crate) struct ControlIrq {
    #[pin]
    done: Completion,
}

impl irq::Handler for ControlIrq {
    fn handle(&self) -> IrqReturn {
        self.done.complete();
        IrqReturn::Handled
    }
}

/// A bound accelerator, shared by the PCI driver and the files open on its nodes.
#[pin_data]
pub(crate) struct HlDevice {
    // The interrupts go first, so none runs once the rest goes away.
    #[pin]
    control_irq: irq::Registration<ControlIrq>,
    eq_irq: Pin<KBox<irq::ThreadedRegistration<EqIrq>>>,
    queue_irqs: KVec<Pin<KBox<irq::ThreadedRegistration<QmanIrq>>>>,
    pdev: ARef<pci::Device>,
    pub(crate) hw: Arc<Hw>,
    pub(crate) identity: Identity,
    #[pin]
    mailbox: Mailbox,
    pub(crate) eq: Arc<EventQueue>,
    /// The compute QMANs, then the NIC QMANs: see [`HlDevice::queue`].
    queues: KVec<Arc<Qman>>,
    /// Where waits for the RDMA completion queues of each RDMA port sleep.
    cq_events: KVec<Arc<CqEvents>>,
    /// Proves the device is bound to code that allocates DMA memory outside probe.
    pub(crate) binding: Binding,
    /// Serialises submissions, so each is queued whole or not at all.
    #[pin]
    pub(crate) submit_lock: Mutex<()>,
    /// Device memory not allocated by anyone.
    #[pin]
    pub(crate) dram: Mutex<RangeAllocator>,
    /// Whether the compute node is open (it is exclusive).
    pub(crate) compute_busy: AtomicBool,
    /// What failed to reset when its context closed, kept until the device goes.
    #[pin]
    pub(crate) rdma_quarantine: Mutex<Quarantine>,
}

impl HlDevice {
    /// Brings the device up: maps it, checks what it is, resets it, sets up its queues and
    /// interrupts, and proves that DMA works.
    pub(crate) fn probe(pdev: &pci::Device<device::Core>) -> Result<Arc<Self>> {
        pdev.enable_device_mem()?;
        let regs = pdev.iomap_region_sized::<REGS_SIZE>(2, c_str!("habanalabs"))?;
        let identity = Identity::read(pdev, regs.access(pdev.as_ref())?)?;
        let ivshmem = pdev.iomap_region_sized::<IVSHMEM_SIZE>(0, c_str!("habanalabs"))?;
        pdev.set_master();
        // SAFETY: Probe has not allocated or mapped any DMA memory for the device yet.
        unsafe { pdev.dma_set_mask_and_coherent(dma::DmaMask::new::<64>())? };

        let nvec = regs::vectors_used(port_span(identity.port_mask), identity.rdma.is_some());
        pdev.alloc_irq_vectors(nvec, nvec, pci::IrqTypes::default().with(pci::IrqType::MsiX))?;
        let mailbox = Mailbox::new(regs.access(pdev.as_ref())?);
        // The compute queues, then the NIC queue of each RDMA port, with the engine each must
        // have: a compute one, or the port's NIC.
        let mut engines = KVec::new();
        let compute = (0..identity.num_queues).map(|q| (q, None));
        let nic = identity.rdma_ports().map(|p| (regs::NIC_QUEUE_0 + usize::from(p), Some(p)));
        for (q, port) in Iterator::chain(compute, nic) {
            let engine = Engine(regs.access(pdev.as_ref())?.try_read32(regs::qman(q) + regs::QMAN_ENGINE)?);
            let expected = match port {
                None => engine.kind() != Engine::NIC,
                Some(p) => engine.kind() == Engine::NIC && engine.index() == p,
            };
            if !engine.is_valid() || !expected {
                dev_err!(pdev, "queue {}: unknown engine {:#x}\n", q, engine.0);
                return Err(EIO);
            }
            engines.push((q, engine, port), GFP_KERNEL)?;
        }
        let hw = Arc::new(Hw::new(regs, ivshmem, identity.model_peer), GFP_KERNEL)?;

        let eq = Arc::new(EventQueue::new(pdev)?, GFP_KERNEL)?;
        let eq_irq = KBox::pin_init(
            irq::ThreadedRegistration::new(
                pdev.irq_vector(u32::from(regs::VECTOR_EQ))?,
                irq::Flags::TRIGGER_NONE,
                c_str!("habanalabs-events"),
                EqIrq { eq: eq.clone(), hw: hw.clone() },
            ),
            GFP_KERNEL,
        )?;
        let mut queues = KVec::new();
        let mut queue_irqs = KVec::new();
        let mut cq_events = KVec::new();
        for &(q, engine, port) in engines.iter() {
            let qman = Arc::pin_init(Qman::new(pdev, q, engine)?, GFP_KERNEL)?;
            // A port's RDMA completion queues interrupt on its NIC QMAN's vector.
            let events = port.map(|p| Arc::pin_init(CqEvents::new(p), GFP_KERNEL)).transpose()?;
            let reg = KBox::pin_init(
                irq::ThreadedRegistration::new(
                    pdev.irq_vector(u32::from(regs::vector_qman(q)))?,
                    irq::Flags::TRIGGER_NONE,
                    c_str!("habanalabs-qman"),
                    QmanIrq { qman: qman.clone(), hw: hw.clone(), cq_events: events.clone() },
                ),
                GFP_KERNEL,
            )?;
            queues.push(qman, GFP_KERNEL)?;
            queue_irqs.push(reg, GFP_KERNEL)?;
            if let Some(events) = events {
                cq_events.push(events, GFP_KERNEL)?;
            }
        }

        let binding = Binding::new(pdev.as_ref())?;
        let dev = Arc::pin_init(
            try_pin_init!(Self {
                control_irq <- irq::Registration::new(
                    pdev.irq_vector(u32::from(regs::VECTOR_CONTROL))?,
                    irq::Flags::TRIGGER_NONE,
                    c_str!("habanalabs-control"),
                    try_pin_init!(ControlIrq { done <- Completion::new() }),
                ),
                eq_irq,
                queue_irqs,
                pdev: ARef::from(pdev),
                hw,
                dram <- new_mutex!(RangeAllocator::new(identity.dram_size)?),
                identity,
                mailbox <- mailbox,
                eq,
                queues,
                cq_events,
                binding,
                submit_lock <- new_mutex!(()),
                compute_busy: AtomicBool::new(false),
                rdma_quarantine <- new_mutex!(Quarantine::default()),
            }),
            GFP_KERNEL,
        )?;

        dev.mailbox.run(&dev.hw, Command::Reset, Wait::Poll).inspect_err(|e| {
            dev_err!(pdev, "reset failed: {}\n", e.to_errno());
        })?;
        dev.eq.start(&dev.hw)?;
        for qman in dev.queues.iter() {
            qman.start(&dev.hw)?;
        }
        let id = &dev.identity;
        dev_info!(
            pdev,
            "GAUDI-sim rev {}, serial {:#018x}, device model {}.{}, {} MiB device memory, {} queues, {} vectors\n",
            id.chip.revision(),
            id.serial,
            id.version.major(),
            id.version.minor(),
            id.dram_size >> 20,
            id.num_queues,
            id.num_vectors,
        );
        selftest::dma(&dev, pdev)?;
        Ok(dev)
    }

    /// Runs a mailbox command, waiting for it by interrupt.
    pub(crate) fn run(&self, command: Command) -> Result {
        self.mailbox.run(&self.hw, command, Wait::Irq(&self.control_irq.handler().done))
    }

    /// The queue with uAPI index `index`: a compute queue, or the NIC queue of an RDMA port.
    pub(crate) fn queue(&self, index: usize) -> Option<&Arc<Qman>> {
        self.queues.iter().find(|q| q.index == index)
    }

    /// The queues, compute then NIC.
    pub(crate) fn queues(&self) -> impl Iterator<Item = &Arc<Qman>> {
        self.queues.iter()
    }

    /// `EIO` once a connection or CQ failed to reset (see [`Quarantine`]), until the device is
    /// bound again, and so reset.
    pub(crate) fn rdma_usable(&self) -> Result {
        if !self.rdma_quarantine.lock().is_empty() {
            return Err(EIO);
        }
        Ok(())
    }

    /// Where waits for the RDMA completion queues of each RDMA port sleep.
    pub(crate) fn all_cq_events(&self) -> impl Iterator<Item = &Arc<CqEvents>> {
        self.cq_events.iter()
    }

    /// Where waits for the RDMA completion queues of port `port` sleep.
    pub(crate) fn cq_events(&self, port: u8) -> Option<&Arc<CqEvents>> {
        self.cq_events.iter().find(|e| e.port == port)
    }

    /// Resets the queues in `mask` (a bit per queue index): what they ran and had queued ends
    /// as reset, and they start again empty.
    pub(crate) fn reset_queues(&self, mask: u32) {
        for qman in self.queues.iter().filter(|q| mask & (1 << q.index) != 0) {
            let ret = qman.reset(&self.hw, || self.run(Command::QmanReset { queue: qman.index as u64 }));
            if let Err(e) = ret {
                dev_err!(self.pdev, "queue {}: reset failed: {}\n", qman.index, e.to_errno());
            }
        }
    }

    /// Stops every engine before the driver lets go of the device: nothing may DMA into
    /// memory that is about to be freed. The reset also resets every RDMA connection and
    /// completion queue, so the device writes no receive queue or completion ring any more;
    /// waits on those queues end first, with `ENODEV`.
    pub(crate) fn quiesce(&self) {
        for events in self.cq_events.iter() {
            events.close();
        }
        if let Err(e) = self.mailbox.run(&self.hw, Command::Reset, Wait::Poll) {
            dev_err!(self.pdev, "reset at unbind failed: {}\n", e.to_errno());
        }
        // The reset dropped every queued job: end them.
        for qman in self.queues.iter() {
            qman.abort_jobs();
        }
    }

    pub(crate) fn pdev(&self) -> &pci::Device {
        &self.pdev
    }
}
