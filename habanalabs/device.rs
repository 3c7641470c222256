// SPDX-License-Identifier: GPL-2.0

//! One accelerator, and the parts it owns: control (registers and mailbox), events, queues,
//! device memory, RDMA resources and the Ethernet half's auxiliary data. Each part is given
//! what it needs when the device is probed, and keeps its own state consistent.

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    c_str, device,
    devres::{Binding, BindingGuard},
    irq::{self, IrqReturn, ThreadedHandler},
    new_mutex, pci,
    prelude::*,
    sync::{Arc, Mutex},
};

use crate::{
    asic::{AsicFuncs, Early, Line},
    context::Releaser,
    control::Control,
    dmabuf::Exports,
    eq::{EqIrq, EventQueue},
    health::Health,
    hw::Hw,
    identity::Identity,
    info::PcieSample,
    mailbox::Mailbox,
    memory::Dram,
    nic::{Netdevs, NicDevice},
    qman::{Qman, Queues},
    rdma::{self, CqEvents},
    regs::BAR2_BUS,
    reset::{Reset, State},
    selftest,
    stats::Stats,
};

/// The completion interrupt of one QMAN, or of the internal QMANs that share a vector; a NIC
/// QMAN's also signals its port's RDMA completion queues.
struct QueueIrq {
    qmans: KVec<Arc<Qman>>,
    hw: Arc<Hw>,
    /// A NIC QMAN's: the waiters of its port's RDMA completion queues, which share the vector.
    cq_events: Option<Arc<CqEvents>>,
}

impl ThreadedHandler for QueueIrq {
    fn handle_threaded(&self) -> IrqReturn {
        for qman in self.qmans.iter() {
            // A failure means the device went away; its jobs end when the driver unbinds.
            let _ = qman.reap(&self.hw);
        }
        if let Some(events) = &self.cq_events {
            events.notify();
        }
        IrqReturn::Handled
    }
}

/// Registers `irq` as the handler of `vector`.
fn queue_irq(
    pdev: &pci::Device<device::Core>,
    vector: u16,
    irq: QueueIrq,
) -> Result<Pin<KBox<irq::ThreadedRegistration<QueueIrq>>>> {
    KBox::pin_init(
        irq::ThreadedRegistration::new(
            pdev.irq_vector(u32::from(vector))?,
            irq::Flags::TRIGGER_NONE,
            c_str!("habanalabs-qman"),
            irq,
        ),
        GFP_KERNEL,
    )
}

/// A bound accelerator, shared by the PCI driver and the files open on its nodes.
#[pin_data]
pub(crate) struct HlDevice {
    // The event and queue interrupts go first, so none runs once the rest goes away. The
    // control interrupt is the mailbox's, and its handler touches nothing else.
    eq_irq: Pin<KBox<irq::ThreadedRegistration<EqIrq>>>,
    queue_irqs: KVec<Pin<KBox<irq::ThreadedRegistration<QueueIrq>>>>,
    identity: Identity,
    /// Registers, mailbox and binding, a clone of which each part below holds.
    control: Control,
    eq: Arc<EventQueue>,
    /// The QMANs and the lock that queues a submission whole.
    #[pin]
    queues: Queues,
    /// Device memory: what the contexts' allocations count.
    dram: Arc<Dram>,
    /// The start of the window `HL_INFO_PCI_COUNTERS` measures throughput over.
    #[pin]
    pcie: Mutex<PcieSample>,
    /// CQ waiters per RDMA port, and what failed to reset.
    #[pin]
    rdma: rdma::Resources,
    /// The Ethernet half's auxiliary data.
    nic: NicDevice,
    /// Whether the compute node is open (it is exclusive): see [`ComputeClaim`].
    compute_busy: AtomicBool,
    /// Releases a closed compute context once its submissions ended.
    #[pin]
    releaser: Releaser,
    /// What `INFO` reports of the device's history.
    stats: Arc<Stats>,
    /// Errors as devlink reports them.
    health: Arc<Health>,
    /// Device memory exported as dma-bufs, revoked when the device stops.
    #[pin]
    exports: Exports,
}

impl HlDevice {
    /// Brings the device up with the ASIC functions its ID table entry names: their early init
    /// maps it and checks what it is; then it is reset, its queues and interrupts are set up,
    /// and DMA is proven to work.
    pub(crate) fn probe(
        pdev: &pci::Device<device::Core>,
        asic: &'static dyn AsicFuncs,
    ) -> Result<Arc<Self>> {
        let Early {
            identity,
            hw,
            queues: engines,
        } = asic.early_init(pdev)?;
        let mailbox = Arc::pin_init(Mailbox::new(pdev, hw.clone())?, GFP_KERNEL)?;

        let stats = Arc::pin_init(Stats::new(), GFP_KERNEL)?;
        let health = Arc::pin_init(Health::new(), GFP_KERNEL)?;
        let eq = Arc::new(
            EventQueue::new(pdev, &engines, stats.clone(), health.clone())?,
            GFP_KERNEL,
        )?;
        let eq_irq = KBox::pin_init(
            irq::ThreadedRegistration::new(
                pdev.irq_vector(u32::from(asic.vector(Line::Events)?))?,
                irq::Flags::TRIGGER_NONE,
                c_str!("habanalabs-events"),
                EqIrq {
                    eq: eq.clone(),
                    hw: hw.clone(),
                },
            ),
            GFP_KERNEL,
        )?;
        let mut queues = KVec::new();
        let mut cq_events = KVec::new();
        // One handler per vector, with the queues that interrupt on it.
        let mut handlers: KVec<(u16, QueueIrq)> = KVec::new();
        for &(q, engine, port) in engines.iter() {
            let qman = Arc::pin_init(Qman::new(pdev, q, engine)?, GFP_KERNEL)?;
            queues.push(qman.clone(), GFP_KERNEL)?;
            // A port's RDMA completion queues interrupt on its NIC QMAN's vector.
            let events = port
                .map(|p| Arc::pin_init(CqEvents::new(p), GFP_KERNEL))
                .transpose()?;
            let vector = asic.vector(Line::Queue(q))?;
            match handlers.iter_mut().find(|(v, _)| *v == vector) {
                // Only compute queues share a vector; a NIC QMAN's is its port's.
                Some((_, irq)) if events.is_none() && irq.cq_events.is_none() => {
                    irq.qmans.push(qman, GFP_KERNEL)?;
                }
                Some(_) => return Err(EINVAL),
                None => {
                    let mut qmans = KVec::new();
                    qmans.push(qman, GFP_KERNEL)?;
                    let irq = QueueIrq {
                        qmans,
                        hw: hw.clone(),
                        cq_events: events.clone(),
                    };
                    handlers.push((vector, irq), GFP_KERNEL)?;
                }
            }
            if let Some(events) = events {
                cq_events.push(events, GFP_KERNEL)?;
            }
        }
        let mut queue_irqs = KVec::new();
        for (vector, irq) in handlers {
            queue_irqs.push(queue_irq(pdev, vector, irq)?, GFP_KERNEL)?;
        }

        // Proves the device is bound to code that allocates DMA memory outside probe.
        let binding = Arc::new(Binding::new(pdev.as_ref())?, GFP_KERNEL)?;
        let reset = Arc::pin_init(Reset::new(), GFP_KERNEL)?;
        let control = Control::new(pdev, hw, mailbox, binding, reset);
        let dram = Arc::new(Dram::new(identity.dram_size), GFP_KERNEL)?;
        let netdevs = Arc::pin_init(Netdevs::new(), GFP_KERNEL)?;
        let dev = Arc::pin_init(
            try_pin_init!(Self {
                eq_irq,
                queue_irqs,
                queues <- Queues::new(queues, control.clone()),
                rdma <- rdma::Resources::new(control.clone(), &identity, cq_events, netdevs.clone()),
                nic: NicDevice::new(control.clone(), &identity, health.clone(), netdevs),
                identity,
                control,
                eq,
                dram,
                pcie <- new_mutex!(PcieSample::default()),
                compute_busy: AtomicBool::new(false),
                releaser <- Releaser::new(),
                stats,
                health,
                exports <- Exports::new(),
            }),
            GFP_KERNEL,
        )?;

        dev.control.hw_reset().inspect_err(|e| {
            dev_err!(pdev, "reset failed: {}\n", e.to_errno());
        })?;
        if let Err(e) = dev.arm(pdev) {
            // The event queue and the queues may be armed: the device must not write them once
            // they are freed. If it does not take the reset, it loses the bus.
            if dev.control.hw_reset().is_err() {
                pdev.set_bus_master(false);
            }
            return Err(e);
        }
        // From here on unbind stops it (`Quiesce`), which breaks the reference cycle.
        dev.reset().start(dev.clone());
        Ok(dev)
    }

    /// Starts the event queue and the queues and proves that DMA works.
    fn arm(&self, pdev: &pci::Device<device::Core>) -> Result {
        self.eq.start(self.hw())?;
        self.queues.start()?;
        self.decode_bar()?;
        let id = &self.identity;
        dev_info!(
            pdev,
            "{} rev {}, serial {:#018x}, device model {}.{}, {} MiB device memory, {} queues, {} vectors\n",
            self.hw().asic().name(),
            id.chip.revision(),
            id.serial,
            id.version.major(),
            id.version.minor(),
            id.dram_size >> 20,
            id.num_queues + id.internal_queues.count_ones() as usize,
            id.num_vectors,
        );
        selftest::dma(pdev, &self.control, id.serial)
    }

    /// Registers, mailbox, binding and reset state.
    pub(crate) fn control(&self) -> &Control {
        &self.control
    }

    /// The device's reset state and watchdog.
    pub(crate) fn reset(&self) -> &Reset {
        self.control.reset()
    }

    /// What the device says it is.
    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The register windows.
    pub(crate) fn hw(&self) -> &Hw {
        self.control.hw()
    }

    /// The event queue.
    pub(crate) fn eq(&self) -> &EventQueue {
        &self.eq
    }

    /// The queues, compute then NIC.
    pub(crate) fn queues(&self) -> &Queues {
        &self.queues
    }

    /// The device memory.
    pub(crate) fn dram(&self) -> &Arc<Dram> {
        &self.dram
    }

    /// Where the PCIe throughput window starts (`HL_INFO_PCI_COUNTERS`).
    pub(crate) fn pcie(&self) -> &Mutex<PcieSample> {
        &self.pcie
    }

    /// The RDMA part.
    pub(crate) fn rdma(&self) -> &rdma::Resources {
        &self.rdma
    }

    /// The Ethernet half's auxiliary data.
    pub(crate) fn nic(&self) -> &NicDevice {
        &self.nic
    }

    /// A proof that the device is bound, for DMA allocations; `ENODEV` once unbound.
    pub(crate) fn bound(&self) -> Result<BindingGuard<'_>> {
        self.control.bound()
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// Whether the compute node is open.
    pub(crate) fn compute_open(&self) -> bool {
        self.compute_busy.load(Ordering::Acquire)
    }

    /// Claims the compute node, which has one user at a time: `EBUSY` while another holds it
    /// or a hard reset is under way, `EAGAIN` while the previous user's context is being
    /// released (context/release.rs), `ENODEV` once the device is disabled or gone.
    pub(crate) fn claim_compute(self: &Arc<Self>) -> Result<ComputeClaim> {
        match self.reset().state() {
            State::Operational => {}
            State::InReset => return Err(EBUSY),
            State::Dead | State::Gone => return Err(ENODEV),
        }
        if self.compute_busy.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // The previous user's context is still being released (mainline's
        // `compute_ctx_in_release`); set before that user's claim goes.
        if self.releaser.pending() {
            self.compute_busy.store(false, Ordering::Release);
            return Err(EAGAIN);
        }
        Ok(ComputeClaim(self.clone()))
    }

    /// Stops every engine before the driver lets go of the device: nothing may DMA into
    /// memory that is about to be freed. The reset also resets every RDMA connection and
    /// completion queue, so the device writes no receive queue or completion ring any more;
    /// waits on those queues end first, with `ENODEV`.
    pub(crate) fn quiesce(&self) {
        self.releaser.stopping();
        // No hard reset or look of the watchdog after this.
        self.reset().stop();
        self.revoke_exports();
        self.rdma.close();
        if let Err(e) = self.control.hw_reset() {
            dev_err!(self.pdev(), "reset at unbind failed: {}\n", e.to_errno());
        }
        // The reset dropped every queued job: end them.
        self.queues.abort_jobs();
        // So a closed context's release ends now.
        self.releaser.stop();
    }

    /// The releaser of closed compute contexts.
    pub(crate) fn releaser(&self) -> &Releaser {
        &self.releaser
    }

    pub(crate) fn pdev(&self) -> &pci::Device {
        self.control.pdev()
    }

    /// Device memory exported as dma-bufs.
    pub(crate) fn exports(&self) -> &Exports {
        &self.exports
    }

    /// Revokes every dma-buf export of the device: their importers stop and unmap, and the
    /// device no longer answers peers' DMA. Every path that resets the device or lets it go
    /// calls this first (`quiesce`, a hard reset's halt): a reset wipes device memory.
    pub(crate) fn revoke_exports(&self) {
        let kept = self.exports.revoke(None);
        if kept > 0 {
            dev_warn!(self.pdev(), "dma-buf importers kept {} mappings\n", kept);
        }
        if let Ok(regs) = self.hw().regs() {
            BAR2_BUS::default().write(&regs);
        }
    }

    /// Tells the device where the host placed BAR2, so that peers' DMA to it lands in its
    /// memory (it cannot see PCI configuration space).
    pub(crate) fn decode_bar(&self) -> Result {
        let regs = self.hw().regs()?;
        BAR2_BUS::from(self.pdev().resource_start(crate::dmabuf::DRAM_BAR)).write(&regs);
        Ok(())
    }
}

/// The compute node's one user's hold on the device; gives the node back when dropped.
pub(crate) struct ComputeClaim(Arc<HlDevice>);

impl core::ops::Deref for ComputeClaim {
    type Target = HlDevice;

    fn deref(&self) -> &HlDevice {
        &self.0
    }
}

impl ComputeClaim {
    /// The device, counted.
    pub(crate) fn arc(&self) -> &Arc<HlDevice> {
        &self.0
    }
}

impl Drop for ComputeClaim {
    fn drop(&mut self) {
        self.0.compute_busy.store(false, Ordering::Release);
    }
}
