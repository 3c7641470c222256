// SPDX-License-Identifier: GPL-2.0

//! The control mailbox: the driver posts one command at a time and learns of its completion by
//! polling or by the interrupt on vector 0.

use core::time::Duration;
use kernel::{
    c_str, device,
    io::poll::read_poll_timeout,
    irq::{self, IrqReturn},
    new_mutex, pci,
    prelude::*,
    sync::{Arc, Completion, Mutex},
};

use crate::{
    asic::Line,
    deadline::Deadline,
    hw::Hw,
    regs::{Opcode, Status, CMD, CMD_ARG, CMD_DONE_SEQ, CMD_SEQ, CMD_STATUS},
};

/// How long the device may take for any command.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How often a polled wait looks at the device.
const POLL_INTERVAL: Duration = Duration::from_micros(100);

/// A mailbox command with its arguments.
pub(crate) enum Command {
    /// Return the device to its power-on state.
    Reset,
    /// Copy `size` bytes from host `src` through device memory at `dev_offset` to host `dst`.
    DmaSelftest {
        src: u64,
        dst: u64,
        dev_offset: u64,
        size: u64,
    },
    /// Abort what QMAN `queue` runs, drop its queued jobs and return it to power-on state.
    QmanReset { queue: u64 },
    /// Disable NIC port `port` and wait until it no longer touches host memory.
    PortStop { port: u64 },
    /// Zero both contexts of connection `conn` of port `port`, and wait until no RDMA step
    /// uses them.
    ConnReset { port: u64, conn: u64 },
    /// Zero the registers of completion queue `cq` of port `port`, and wait until no RDMA
    /// step writes its ring.
    CqReset { port: u64, cq: u64 },
    /// Report the device memory rows pending replacement and those replaced (the reply). The
    /// device answers it without running an engine.
    DramRows,
}

impl Command {
    fn opcode(&self) -> Opcode {
        match self {
            Self::Reset => Opcode::Reset,
            Self::DmaSelftest { .. } => Opcode::DmaSelftest,
            Self::QmanReset { .. } => Opcode::QmanReset,
            Self::PortStop { .. } => Opcode::PortStop,
            Self::ConnReset { .. } => Opcode::ConnReset,
            Self::CqReset { .. } => Opcode::CqReset,
            Self::DramRows => Opcode::DramRows,
        }
    }

    fn args(&self) -> [u64; CMD_ARG::COUNT] {
        match *self {
            Self::Reset | Self::DramRows => [0; CMD_ARG::COUNT],
            Self::DmaSelftest {
                src,
                dst,
                dev_offset,
                size,
            } => [src, dst, dev_offset, size],
            Self::QmanReset { queue } => [queue, 0, 0, 0],
            Self::PortStop { port } => [port, 0, 0, 0],
            Self::ConnReset { port, conn } => [port, conn, 0, 0],
            Self::CqReset { port, cq } => [port, cq, 0, 0],
        }
    }
}

/// How to wait for a command.
enum Wait {
    /// Poll the device; for when interrupts are not set up (yet).
    Poll,
    /// Sleep until the vector 0 handler signals completion.
    Irq,
}

/// The control interrupt (vector 0): signals mailbox completions.
#[pin_data]
struct ControlIrq {
    #[pin]
    done: Completion,
}

impl irq::Handler for ControlIrq {
    fn handle(&self) -> IrqReturn {
        self.done.complete();
        IrqReturn::Handled
    }
}

/// The mailbox, its interrupt and the sequence number of the last command posted.
#[pin_data]
pub(crate) struct Mailbox {
    #[pin]
    irq: irq::Registration<ControlIrq>,
    hw: Arc<Hw>,
    #[pin]
    last_seq: Mutex<u32>,
}

impl Mailbox {
    /// Takes over the mailbox, continuing from the last sequence number the device completed
    /// (an earlier driver instance may have used it), and registers its interrupt.
    pub(crate) fn new<'a>(
        pdev: &'a pci::Device<device::Core>,
        hw: Arc<Hw>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let regs = hw.regs()?;
        let last = CMD_DONE_SEQ::read(&regs).into();
        drop(regs);
        let irq = pdev.irq_vector(u32::from(hw.asic().vector(Line::Control)?))?;
        Ok(try_pin_init!(Self {
            irq <- irq::Registration::new(
                irq,
                irq::Flags::TRIGGER_NONE,
                c_str!("habanalabs-control"),
                try_pin_init!(ControlIrq { done <- Completion::new() }),
            ),
            hw,
            last_seq <- new_mutex!(last),
        }? Error))
    }

    /// Runs `command`, waiting for it by interrupt, and returns its status as the result.
    pub(crate) fn run(&self, command: Command) -> Result {
        self.exec(command, Wait::Irq, false).map(drop)
    }

    /// Runs `command`, waiting for it by interrupt, and returns the two words of its reply
    /// (`ARG0`, `ARG1` after completion).
    pub(crate) fn query(&self, command: Command) -> Result<[u64; 2]> {
        self.exec(command, Wait::Irq, true)
    }

    /// Runs `command`, polling for its end; for probe's reset, which comes before any
    /// interrupt, and for unbind's.
    pub(crate) fn run_polled(&self, command: Command) -> Result {
        self.exec(command, Wait::Poll, false).map(drop)
    }

    /// Runs `command`; with `reply`, returns `ARG0` and `ARG1` as the device left them (zeroes
    /// without).
    fn exec(&self, command: Command, wait: Wait, reply: bool) -> Result<[u64; 2]> {
        let hw = &self.hw;
        // A dead device is only tried with another reset (reset.rs); the others fail at once.
        if hw.is_dead() && !matches!(command, Command::Reset) {
            return Err(EIO);
        }
        let done = &self.irq.handler().done;
        let mut last = self.last_seq.lock();
        let seq = match last.wrapping_add(1) {
            0 => 1,
            s => s,
        };
        {
            let regs = hw.regs()?;
            for (i, arg) in command.args().into_iter().enumerate() {
                CMD_ARG::from(arg).try_write_at(&regs, i)?;
            }
            CMD::default()
                .set_opcode(command.opcode() as u8)
                .set_irq(matches!(wait, Wait::Irq))
                .write(&regs);
            if let Wait::Irq = wait {
                done.reinit();
            }
            CMD_SEQ::from(seq).write(&regs);
        }
        *last = seq;
        hw.ring(Line::Control)?;

        let is_done = || -> Result<bool> {
            let regs = hw.regs()?;
            let done = u32::from(CMD_DONE_SEQ::read(&regs));
            drop(regs);
            // All ones: maybe the device went away; then there is nothing to wait for.
            if done == u32::MAX && hw.check_gone() {
                return Err(ENODEV);
            }
            Ok(done == seq)
        };
        match wait {
            Wait::Poll => {
                read_poll_timeout(is_done, |&done| done, POLL_INTERVAL, TIMEOUT)?;
            }
            Wait::Irq => {
                let deadline = Deadline::after(TIMEOUT);
                // The completion may be stale (a late interrupt of an earlier command), so the
                // sequence number decides.
                while !is_done()? {
                    if deadline.passed() {
                        return Err(ETIMEDOUT);
                    }
                    let _ = done.wait_timeout(deadline.sleep());
                }
            }
        }
        let regs = hw.regs()?;
        Status::from_raw(CMD_STATUS::read(&regs).into())?.to_result()?;
        let mut words = [0; 2];
        if reply {
            for (i, word) in words.iter_mut().enumerate() {
                *word = CMD_ARG::try_read_at(&regs, i)?.into();
            }
        }
        Ok(words)
    }
}
