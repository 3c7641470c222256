// SPDX-License-Identifier: GPL-2.0

//! The device: identity, control mailbox, reset and fault injection.
//!
//! The device acts only when a doorbell rings. Everything it reads from
//! BAR2 was written by the guest and is validated before use.

use std::io;
use std::sync::Arc;

use crate::mem::SharedMem;
use crate::regs::{
    CAPS_DMA_SELFTEST, CHIP_ID_GAUDI_SIM, CMD_IRQ, DRAM_OFFSET, FAULT_MAILBOX_HANG,
    FAULT_SELFTEST_CORRUPT, MAGIC_HLSM, NUM_VECTORS, Opcode, SELFTEST_MAX_SIZE, State, Status,
    VECTOR_CONTROL, VERSION_1_0, identity, mailbox, model_ctl,
};
use crate::transport::MODEL_PEER;

/// Smallest BAR2: the register blocks and 1 MiB of DRAM.
pub const MIN_SIZE: u64 = 2 * DRAM_OFFSET;

/// A control command the device has completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// `CMD` as posted.
    pub cmd: u32,
    /// `CMD_SEQ` of the command.
    pub seq: u32,
    /// `CMD_STATUS` written.
    pub status: Status,
}

impl Completion {
    /// Whether the driver asked for an interrupt on [`VECTOR_CONTROL`].
    pub fn wants_irq(&self) -> bool {
        self.cmd & CMD_IRQ != 0
    }
}

/// One modelled device.
pub struct Device {
    bar: SharedMem,
    ram: Arc<SharedMem>,
}

impl Device {
    /// Creates a device named `name` with a BAR2 of `size` bytes (a power
    /// of two, at least [`MIN_SIZE`]) and writes its identity.
    pub fn new(name: &str, size: u64, serial: u64, ram: Arc<SharedMem>) -> io::Result<Self> {
        if !size.is_power_of_two() || size < MIN_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("BAR2 size {size:#x} is not a power of two of at least 2 MiB"),
            ));
        }
        let bar = SharedMem::create(&format!("hlsim-{name}"), size)?;
        bar.write32(identity::MAGIC, MAGIC_HLSM);
        bar.write32(identity::VERSION, VERSION_1_0);
        bar.write32(identity::CAPS, CAPS_DMA_SELFTEST);
        bar.write32(identity::CHIP_ID, CHIP_ID_GAUDI_SIM);
        bar.write64(identity::SERIAL_LO, serial);
        bar.write32(identity::DRAM_BASE, DRAM_OFFSET as u32);
        bar.write64(identity::DRAM_SIZE_LO, size - DRAM_OFFSET);
        bar.write32(identity::NUM_VECTORS, NUM_VECTORS);
        bar.write32(identity::MODEL_PEER, MODEL_PEER.into());
        bar.write32(identity::STATE, State::Ready as u32);
        Ok(Self { bar, ram })
    }

    /// BAR2: registers and DRAM.
    pub fn bar2(&self) -> &SharedMem {
        &self.bar
    }

    /// Publishes `state` in `STATE`.
    pub fn set_state(&self, state: State) {
        self.bar.write32(identity::STATE, state as u32);
    }

    /// Returns every block but Identity and Model control to its power-on
    /// state: the mailbox and DRAM read as zeroes.
    pub fn reset(&self) -> io::Result<()> {
        for off in (mailbox::BASE..mailbox::BASE + mailbox::SIZE).step_by(4) {
            self.bar.write32(off, 0);
        }
        self.bar.discard(DRAM_OFFSET, self.bar.size() - DRAM_OFFSET)
    }

    /// Handles `count` rings of doorbell `vector`.
    ///
    /// Returns the control command this completed, if any.
    pub fn doorbell(&self, vector: u32, count: u64) -> io::Result<Option<Completion>> {
        let seen = self
            .bar
            .read32(model_ctl::DOORBELLS)
            .wrapping_add(count as u32);
        self.bar.write32(model_ctl::DOORBELLS, seen);
        if vector != VECTOR_CONTROL || self.faults() & FAULT_MAILBOX_HANG != 0 {
            return Ok(None);
        }
        self.run_mailbox()
    }

    fn faults(&self) -> u32 {
        self.bar.read32(model_ctl::FAULTS)
    }

    /// Runs the posted command unless it has already completed.
    fn run_mailbox(&self) -> io::Result<Option<Completion>> {
        let seq = self.bar.read32_acquire(mailbox::CMD_SEQ);
        if seq == self.bar.read32(mailbox::CMD_DONE_SEQ) {
            return Ok(None);
        }
        let cmd = self.bar.read32(mailbox::CMD);
        let status = match Opcode::from_cmd(cmd) {
            Some(Opcode::Reset) => {
                self.reset()?;
                // The reset itself stays posted, so that it reads as completed.
                self.bar.write32(mailbox::CMD_SEQ, seq);
                Status::Ok
            }
            Some(Opcode::DmaSelftest) => self.dma_selftest(),
            None => Status::BadOpcode,
        };
        self.bar.write32(mailbox::CMD_STATUS, status as u32);
        self.bar.write32_release(mailbox::CMD_DONE_SEQ, seq);
        Ok(Some(Completion { cmd, seq, status }))
    }

    /// `DMA_SELFTEST`: guest RAM at `ARG0` to DRAM at `ARG2` to guest RAM at
    /// `ARG1`, `ARG3` bytes. Every range is checked before any byte moves.
    fn dma_selftest(&self) -> Status {
        let [src, dst, dev, size] = self.args();
        if size == 0 || size > SELFTEST_MAX_SIZE {
            return Status::BadSize;
        }
        let (Some(src), Some(dst)) = (self.ram.slice(src, size), self.ram.slice(dst, size)) else {
            return Status::BadHostAddr;
        };
        // DRAM runs to the end of BAR2, so a range inside BAR2 past
        // DRAM_OFFSET is inside DRAM.
        let Some(dev) = dev
            .checked_add(DRAM_OFFSET)
            .and_then(|off| self.bar.slice(off, size))
        else {
            return Status::BadDevAddr;
        };
        dev.copy_from(&src);
        if self.faults() & FAULT_SELFTEST_CORRUPT != 0 {
            dev.flip_byte(0);
        }
        dst.copy_from(&dev);
        Status::Ok
    }

    fn args(&self) -> [u64; mailbox::NUM_ARGS] {
        std::array::from_fn(|n| self.bar.read64(mailbox::ARG0_LO + 8 * n as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;
    use tempfile::NamedTempFile;

    const RAM_SIZE: u64 = 4 << 20;
    const BAR_SIZE: u64 = 4 << 20;
    const DRAM_SIZE: u64 = BAR_SIZE - DRAM_OFFSET;
    const MIB: u64 = 1 << 20;

    struct Fixture {
        dev: Device,
        ram: Arc<SharedMem>,
        _ram_file: NamedTempFile,
    }

    fn fixture() -> Fixture {
        let ram_file = NamedTempFile::new().unwrap();
        ram_file.as_file().set_len(RAM_SIZE).unwrap();
        let ram = Arc::new(SharedMem::open(ram_file.path()).unwrap());
        let dev = Device::new("test", BAR_SIZE, 0x1234_5678_9abc_def0, ram.clone()).unwrap();
        Fixture {
            dev,
            ram,
            _ram_file: ram_file,
        }
    }

    fn pattern(len: u64, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 8) as u8)
            .collect()
    }

    impl Fixture {
        /// Posts `cmd` with `args` as sequence `seq` and rings vector 0.
        fn post(&self, cmd: u32, seq: u32, args: [u64; 4]) -> Option<Completion> {
            let bar = self.dev.bar2();
            for (n, arg) in args.into_iter().enumerate() {
                bar.write64(mailbox::ARG0_LO + 8 * n as u64, arg);
            }
            bar.write32(mailbox::CMD, cmd);
            bar.write32(mailbox::CMD_SEQ, seq);
            self.dev.doorbell(VECTOR_CONTROL, 1).unwrap()
        }

        /// Posts a command and checks that it completed with `status`.
        fn run(&self, cmd: u32, seq: u32, args: [u64; 4]) -> Status {
            let done = self.post(cmd, seq, args).expect("command did not complete");
            let bar = self.dev.bar2();
            assert_eq!((done.cmd, done.seq), (cmd, seq));
            assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), seq);
            assert_eq!(bar.read32(mailbox::CMD_STATUS), done.status as u32);
            done.status
        }

        fn selftest(&self, seq: u32, src: u64, dst: u64, dev: u64, size: u64) -> Status {
            self.run(0x02, seq, [src, dst, dev, size])
        }

        fn ram_bytes(&self, off: u64, len: u64) -> Vec<u8> {
            let mut buf = vec![0; len as usize];
            self.ram.file().read_at(&mut buf, off).unwrap();
            buf
        }

        fn dram_bytes(&self, off: u64, len: u64) -> Vec<u8> {
            let mut buf = vec![0; len as usize];
            self.dev
                .bar2()
                .file()
                .read_at(&mut buf, DRAM_OFFSET + off)
                .unwrap();
            buf
        }
    }

    #[test]
    fn identity() {
        let f = fixture();
        let bar = f.dev.bar2();
        assert_eq!(bar.size(), BAR_SIZE);
        let mut raw = [0; 4];
        bar.file().read_at(&mut raw, 0).unwrap();
        assert_eq!(&raw, b"HLSM");
        assert_eq!(bar.read32(identity::VERSION), 0x0001_0000);
        assert_eq!(bar.read32(identity::CAPS), 1);
        assert_eq!(bar.read32(identity::CHIP_ID) & 0xffff, 0x1000);
        assert_eq!(bar.read32(identity::SERIAL_LO), 0x9abc_def0);
        assert_eq!(bar.read32(identity::SERIAL_HI), 0x1234_5678);
        assert_eq!(bar.read32(identity::DRAM_BASE), 0x10_0000);
        assert_eq!(bar.read32(identity::DRAM_SIZE_LO), DRAM_SIZE as u32);
        assert_eq!(bar.read32(identity::DRAM_SIZE_HI), 0);
        assert_eq!(bar.read32(identity::NUM_VECTORS), 32);
        assert_eq!(bar.read32(identity::MODEL_PEER), u32::from(MODEL_PEER));
        assert_eq!(bar.read32(identity::STATE), State::Ready as u32);
        for off in (mailbox::BASE..0x100000).step_by(4) {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        let ram = fixture().ram;
        for size in [0, MIN_SIZE / 2, MIN_SIZE + 4096, 3 << 20] {
            assert!(
                Device::new("bad", size, 1, ram.clone()).is_err(),
                "size {size:#x}"
            );
        }
        let dev = Device::new("big", 1 << 34, 1, ram).unwrap();
        assert_eq!(
            dev.bar2().read64(identity::DRAM_SIZE_LO),
            (1 << 34) - DRAM_OFFSET
        );
    }

    #[test]
    fn selftest_copies_through_dram() {
        let f = fixture();
        let data = pattern(MIB, 3);
        f.ram.file().write_at(&data, 0x1000).unwrap();
        assert_eq!(f.selftest(1, 0x1000, 0x20_0000, 0x3000, MIB), Status::Ok);
        assert_eq!(f.ram_bytes(0x20_0000, MIB), data);
        assert_eq!(f.dram_bytes(0x3000, MIB), data);
        assert_eq!(f.dram_bytes(0, 0x3000), vec![0; 0x3000]);

        // Unaligned, one byte, and up to the very end of RAM and DRAM.
        let small = pattern(333, 9);
        f.ram.file().write_at(&small, 5).unwrap();
        assert_eq!(
            f.selftest(2, 5, RAM_SIZE - 333, DRAM_SIZE - 333, 333),
            Status::Ok
        );
        assert_eq!(f.ram_bytes(RAM_SIZE - 333, 333), small);
        assert_eq!(f.selftest(3, 5, 7, DRAM_SIZE - 1, 1), Status::Ok);
        assert_eq!(f.ram_bytes(7, 1), [small[0]]);
    }

    #[test]
    fn selftest_rejects_bad_ranges_before_moving_bytes() {
        let f = fixture();
        let data = pattern(4096, 1);
        f.ram.file().write_at(&data, 0).unwrap();
        let cases = [
            (0, 0x1000, 0, 0, Status::BadSize),
            (0, 0x1000, 0, MIB + 1, Status::BadSize),
            (0, 0x1000, 0, u64::MAX, Status::BadSize),
            (RAM_SIZE, 0x1000, 0, 1, Status::BadHostAddr),
            (RAM_SIZE - 4095, 0x1000, 0, 4096, Status::BadHostAddr),
            (u64::MAX - 10, 0x1000, 0, 4096, Status::BadHostAddr),
            (0, RAM_SIZE - 1, 0, 2, Status::BadHostAddr),
            (0, u64::MAX, 0, 4096, Status::BadHostAddr),
            (0, 0x1000, DRAM_SIZE, 1, Status::BadDevAddr),
            (0, 0x1000, DRAM_SIZE - 4095, 4096, Status::BadDevAddr),
            (
                0,
                0x1000,
                u64::MAX - DRAM_OFFSET + 1,
                4096,
                Status::BadDevAddr,
            ),
            (0, 0x1000, u64::MAX, 4096, Status::BadDevAddr),
        ];
        for (seq, &(src, dst, dev, size, status)) in (1..).zip(&cases) {
            assert_eq!(f.selftest(seq, src, dst, dev, size), status, "case {seq}");
        }
        assert_eq!(f.ram_bytes(0x1000, 4096), vec![0; 4096]);
        assert_eq!(f.dram_bytes(0, 4096), vec![0; 4096]);
        assert_eq!(f.dram_bytes(DRAM_SIZE - 4096, 4096), vec![0; 4096]);
        // The device still serves.
        assert_eq!(f.selftest(100, 0, 0x1000, 0, 4096), Status::Ok);
        assert_eq!(f.ram_bytes(0x1000, 4096), data);
    }

    #[test]
    fn unknown_opcodes() {
        let f = fixture();
        for (seq, cmd) in (1..).zip([0x00, 0x03, 0xff, CMD_IRQ | 0x7f]) {
            assert_eq!(f.run(cmd, seq, [0; 4]), Status::BadOpcode, "cmd {cmd:#x}");
        }
        assert_eq!(f.run(CMD_IRQ | 0x01, 10, [0; 4]), Status::Ok);
    }

    #[test]
    fn completion_and_irq_bit() {
        let f = fixture();
        let done = f.post(CMD_IRQ | 0x01, 7, [0; 4]).unwrap();
        assert!(done.wants_irq());
        assert!(!f.post(0x01, 8, [0; 4]).unwrap().wants_irq());
        // Ringing again without a new sequence number does nothing.
        f.dev.bar2().write32(mailbox::CMD_STATUS, 0xdead);
        assert_eq!(f.dev.doorbell(VECTOR_CONTROL, 1).unwrap(), None);
        assert_eq!(f.dev.bar2().read32(mailbox::CMD_STATUS), 0xdead);
        // Nor does a reserved vector, nor the zero sequence after power-on.
        f.dev.bar2().write32(mailbox::CMD_SEQ, 9);
        assert_eq!(f.dev.doorbell(1, 1).unwrap(), None);
        assert_eq!(f.dev.doorbell(31, 1).unwrap(), None);
        assert_eq!(fixture().dev.doorbell(VECTOR_CONTROL, 1).unwrap(), None);
    }

    #[test]
    fn reset_command() {
        let f = fixture();
        let bar = f.dev.bar2();
        f.ram.file().write_at(&pattern(8192, 5), 0).unwrap();
        assert_eq!(f.selftest(1, 0, 0x4000, DRAM_SIZE - 8192, 8192), Status::Ok);
        bar.write32(model_ctl::FAULTS, FAULT_SELFTEST_CORRUPT);
        let doorbells = bar.read32(model_ctl::DOORBELLS);

        let done = f.post(CMD_IRQ | 0x01, 2, [1, 2, 3, 4]).unwrap();
        assert_eq!(done.status, Status::Ok);
        assert!(done.wants_irq());
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), 2);
        assert_eq!(bar.read32(mailbox::CMD_STATUS), 0);
        assert_eq!(bar.read32(mailbox::CMD), 0);
        for off in (mailbox::ARG0_LO..mailbox::BASE + mailbox::SIZE).step_by(4) {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
        assert_eq!(f.dram_bytes(DRAM_SIZE - 8192, 8192), vec![0; 8192]);
        assert_eq!(bar.read32(identity::MAGIC), MAGIC_HLSM);
        assert_eq!(bar.read32(identity::SERIAL_LO), 0x9abc_def0);
        assert_eq!(bar.read32(model_ctl::FAULTS), FAULT_SELFTEST_CORRUPT);
        assert_eq!(bar.read32(model_ctl::DOORBELLS), doorbells + 1);
        // Guest RAM is not the device's to reset.
        assert_eq!(f.ram_bytes(0x4000, 8192), pattern(8192, 5));
        // The spurious ring of a reset command does not run it again.
        assert_eq!(f.dev.doorbell(VECTOR_CONTROL, 1).unwrap(), None);
    }

    #[test]
    fn disconnect_reset_clears_the_mailbox() {
        let f = fixture();
        let bar = f.dev.bar2();
        assert_eq!(f.run(0x02, 5, [0, 0, 0, 0]), Status::BadSize);
        bar.write32(model_ctl::FAULTS, FAULT_MAILBOX_HANG);
        f.dev.reset().unwrap();
        for off in (mailbox::BASE..mailbox::BASE + mailbox::SIZE).step_by(4) {
            assert_eq!(bar.read32(off), 0, "register {off:#x}");
        }
        assert_eq!(bar.read32(model_ctl::FAULTS), FAULT_MAILBOX_HANG);
    }

    #[test]
    fn fault_selftest_corrupt() {
        let f = fixture();
        let data = pattern(4096, 2);
        f.ram.file().write_at(&data, 0).unwrap();
        f.dev
            .bar2()
            .write32(model_ctl::FAULTS, FAULT_SELFTEST_CORRUPT);
        assert_eq!(f.selftest(1, 0, 0x10000, 0, 4096), Status::Ok);
        let out = f.ram_bytes(0x10000, 4096);
        let diffs = out.iter().zip(&data).filter(|(a, b)| a != b).count();
        assert_eq!(diffs, 1);
        f.dev.bar2().write32(model_ctl::FAULTS, 0);
        assert_eq!(f.selftest(2, 0, 0x10000, 0, 4096), Status::Ok);
        assert_eq!(f.ram_bytes(0x10000, 4096), data);
    }

    #[test]
    fn fault_mailbox_hang_and_doorbell_count() {
        let f = fixture();
        let bar = f.dev.bar2();
        bar.write32(model_ctl::FAULTS, FAULT_MAILBOX_HANG);
        assert_eq!(f.post(CMD_IRQ | 0x01, 1, [0; 4]), None);
        assert_eq!(bar.read32(mailbox::CMD_DONE_SEQ), 0);
        assert_eq!(f.dev.doorbell(3, 5).unwrap(), None);
        assert_eq!(bar.read32(model_ctl::DOORBELLS), 6);
        bar.write32(model_ctl::FAULTS, 0);
        assert_eq!(
            f.dev.doorbell(VECTOR_CONTROL, 1).unwrap().map(|c| c.seq),
            Some(1)
        );
        assert_eq!(bar.read32(model_ctl::DOORBELLS), 7);
        bar.write32(model_ctl::DOORBELLS, u32::MAX);
        f.dev.doorbell(1, 3).unwrap();
        assert_eq!(bar.read32(model_ctl::DOORBELLS), 2);
    }
}
