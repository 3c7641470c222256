// SPDX-License-Identifier: GPL-2.0

//! A port's registers, counters and descriptors (`device-model.rst`, section NIC).

//!
//! [`NicDevice`] reaches a port's registers by offset within the port's block; each register is
//! declared here with [`register!`], and [`PortReg`] gives its offset. The rest of `eth/` reads
//! and writes typed values through [`PortIo`].

use kernel::{
    prelude::*,
    register,
    types::{AsBytes, FromBytes},
};

use crate::nic::NicDevice;

/// A register of a port's block.
pub(crate) trait PortReg: Copy + Into<Self::Raw> + From<Self::Raw> {
    /// Its storage type.
    type Raw: Words;
    /// Its offset in a port's block.
    const OFFSET: usize;
}

/// Declares a register of a port's block with [`register!`], at its offset in the block.
macro_rules! port_register {
    ($(#[$attr:meta])* $name:ident($raw:ident) @ $offset:literal { $($fields:tt)* }) => {
        register! {
            $(#[$attr])*
            pub(crate) $name($raw) { $($fields)* }
        }

        impl PortReg for $name {
            type Raw = $raw;
            const OFFSET: usize = $offset;
        }
    };
}

port_register! {
    /// The port's control.
    CTL(u32) @ 0x000 {
        /// The port sends and receives.
        0:0 enable as bool;
        /// MAC loopback: transmitted frames come back on this port's RX ring, none reach the
        /// peer.
        1:1 loopback as bool;
    }
}

port_register! {
    /// How the link is set up.
    LINK_CFG(u32) @ 0x004 {
        /// Autonegotiate among the advertised speeds.
        0:0 autoneg as bool;
        /// The speed when not autonegotiating.
        11:8 forced as u8 ?=> Speed;
        /// The advertised speeds, a [`Speed::bit`] each.
        19:16 advertised as u8;
        /// The FEC mode.
        25:24 fec as u8 ?=> FecMode;
    }
}

port_register! {
    /// The link, as the device reports it.
    LINK_STATUS(u32) @ 0x008 {
        /// The link is up.
        0:0 up as bool;
        /// The speed while up.
        11:8 speed as u8 ?=> Speed;
    }
}

port_register! {
    /// The largest frame, without FCS; also the size of the driver's RX buffers.
    MAX_FRAME(u32) @ 0x010 {}
}

port_register! {
    /// More about the link, written by the device before [`LINK_STATUS`]. Raw codes: the
    /// driver checks them ([`LinkInfo`]).
    LINK_INFO(u32) @ 0x014 {
        /// While up, the FEC the link runs: a [`FecMode`] code, off or RS; 0 while down.
        1:0 fec as u8;
        /// While down, why: a [`DownReason`] code; 0 while up.
        15:8 reason as u8;
    }
}

/// FEC mode codes in [`LINK_CFG`] and [`LINK_INFO`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FecMode {
    /// Whatever the partner runs; RS if it says auto too. Only in [`LINK_CFG`].
    Auto = 0,
    Off = 1,
    /// RS(528,514), IEEE 802.3 clause 91.
    Rs = 2,
}

impl TryFrom<u8> for FecMode {
    type Error = Error;

    fn try_from(code: u8) -> Result<Self> {
        match code {
            0 => Ok(Self::Auto),
            1 => Ok(Self::Off),
            2 => Ok(Self::Rs),
            _ => Err(EINVAL),
        }
    }
}

impl From<FecMode> for u8 {
    fn from(mode: FecMode) -> u8 {
        mode as u8
    }
}

/// Why the device says the link is down: [`LINK_INFO::reason`] codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DownReason {
    /// The port is not enabled.
    Disabled = 1,
    /// Nothing is wired to the port, or the wire is unplugged.
    NoCable = 2,
    /// The partner is not enabled (or in loopback).
    PartnerDisabled = 3,
    /// Both ends autonegotiate, with no speed in common.
    AnNoCommonSpeed = 4,
    /// One end autonegotiates, the other forces a speed.
    AnMismatch = 5,
    /// Both ends force a speed, not the same.
    SpeedMismatch = 6,
    /// The ends' FEC modes disagree.
    FecMismatch = 7,
    /// Link training fails.
    LinkTraining = 8,
}

impl TryFrom<u8> for DownReason {
    type Error = Error;

    fn try_from(code: u8) -> Result<Self> {
        use DownReason::*;
        [
            Disabled,
            NoCable,
            PartnerDisabled,
            AnNoCommonSpeed,
            AnMismatch,
            SpeedMismatch,
            FecMismatch,
            LinkTraining,
        ]
        .into_iter()
        .find(|r| *r as u8 == code)
        .ok_or(EINVAL)
    }
}

/// The TX queues (one per traffic class) and RX queues of a port.
pub(crate) const NUM_TXQ: usize = 8;
pub(crate) const NUM_RXQ: usize = 4;

/// A queue of a port: its ring registers are in a block of their own.
#[derive(Clone, Copy)]
pub(crate) enum Queue {
    Tx(usize),
    Rx(usize),
}

impl Queue {
    /// The offset of the queue's block in the port's.
    fn block(self) -> usize {
        match self {
            Queue::Tx(q) => 0x400 + 0x20 * q,
            Queue::Rx(r) => 0x500 + 0x20 * r,
        }
    }
}

/// A register of a queue's block.
pub(crate) trait QueueReg: Copy + Into<u32> + From<u32> {
    /// Its offset in the queue's block.
    const OFFSET: usize;
}

/// Declares a register of a queue's block with [`register!`], at its offset in the block.
macro_rules! queue_register {
    ($(#[$attr:meta])* $name:ident @ $offset:literal { $($fields:tt)* }) => {
        register! {
            $(#[$attr])*
            pub(crate) $name(u32) { $($fields)* }
        }

        impl QueueReg for $name {
            const OFFSET: usize = $offset;
        }
    };
}

queue_register! {
    /// The DMA address of the queue's ring (16-byte aligned), bits 31:0.
    Q_BASE_LO @ 0x00 {}
}

queue_register! {
    /// Bits 63:32 of the ring's address.
    Q_BASE_HI @ 0x04 {}
}

queue_register! {
    /// The ring's entries, a power of two; 0 while the queue is not in use.
    Q_SIZE @ 0x08 {}
}

queue_register! {
    /// Written by the driver: the descriptors or buffers posted (a free-running index).
    Q_PI @ 0x0c {}
}

queue_register! {
    /// Written by the device: the descriptors done or buffers filled (a free-running index).
    Q_CI @ 0x10 {}
}

queue_register! {
    /// An RX queue's interrupt mask (queues 1 and up; queue 0's is in [`IRQ_MASK`]).
    Q_IRQ_MASK @ 0x14 {
        /// RX progress raises no interrupt.
        1:1 rx as bool;
    }
}

queue_register! {
    /// The queue's interrupt comes at most this many microseconds after the first unsignalled
    /// frame ...
    Q_COAL_USECS @ 0x18 {}
}

queue_register! {
    /// ... or once this many frames wait (0 and 0: at once). A TX queue's frames are those
    /// the device finished.
    Q_COAL_FRAMES @ 0x1c {}
}

/// The largest [`Q_COAL_USECS`] and [`Q_COAL_FRAMES`] the device honours.
pub(crate) const COAL_USECS_MAX: u32 = 65_535;
pub(crate) const COAL_FRAMES_MAX: u32 = 4096;

/// The RSS hash key: [`RSS_KEY_SIZE`] bytes from this offset.
pub(crate) const RSS_KEY: usize = 0x600;
pub(crate) const RSS_KEY_SIZE: usize = 40;
/// The RSS indirection table: [`RSS_TABLE_SIZE`] bytes from this offset, each an RX queue.
pub(crate) const RSS_TABLE: usize = 0x680;
pub(crate) const RSS_TABLE_SIZE: usize = 128;

port_register! {
    /// Progress that raises no interrupt while its bit is set.
    IRQ_MASK(u32) @ 0x060 {
        /// TX progress.
        0:0 tx as bool;
        /// RX progress.
        1:1 rx as bool;
        /// Link changes.
        2:2 link as bool;
    }
}

impl IRQ_MASK {
    /// Every interrupt masked.
    pub(crate) const ALL: Self = Self::NONE.set_tx(true).set_rx(true).set_link(true);
    /// Every interrupt unmasked.
    pub(crate) const NONE: Self = Self(0);
}

port_register! {
    /// Written by the device: whether it is draining the TX rings, in which case it looks at
    /// every TX queue's [`Q_PI`] again before it stops, so a `PI` written meanwhile needs no
    /// doorbell (`device-model.rst`, TX without a doorbell).
    TX_DRAINING(u32) @ 0x070 {
        /// Draining.
        0:0 busy as bool;
    }
}

port_register! {
    /// Priority flow control.
    PFC_EN(u32) @ 0x080 {
        /// The priorities with flow control, a bit each.
        7:0 prios as u8;
    }
}

port_register! {
    /// The traffic classes' shares of the link in percent: byte `t` is TC `t`'s
    /// ([`u64::from_le_bytes`] of the eight shares).
    TC_BW(u64) @ 0x084 {}
}

port_register! {
    /// The traffic class of each priority.
    PRIO_TC(u32) @ 0x08c {
        /// Priority 0's traffic class.
        2:0 prio0 as u8;
        /// Priority 1's.
        6:4 prio1 as u8;
        /// Priority 2's.
        10:8 prio2 as u8;
        /// Priority 3's.
        14:12 prio3 as u8;
        /// Priority 4's.
        18:16 prio4 as u8;
        /// Priority 5's.
        22:20 prio5 as u8;
        /// Priority 6's.
        26:24 prio6 as u8;
        /// Priority 7's.
        30:28 prio7 as u8;
    }
}

impl PRIO_TC {
    /// The register for `prio_tc`, each priority's traffic class.
    pub(crate) fn from_classes(tc: &[u8; 8]) -> Self {
        Self::default()
            .set_prio0(tc[0])
            .set_prio1(tc[1])
            .set_prio2(tc[2])
            .set_prio3(tc[3])
            .set_prio4(tc[4])
            .set_prio5(tc[5])
            .set_prio6(tc[6])
            .set_prio7(tc[7])
    }
}

port_register! {
    /// Each traffic class's scheduling.
    TC_TSA(u32) @ 0x090 {
        /// The classes that are ETS, a bit each; the others have strict priority.
        7:0 ets as u8;
    }
}

port_register! {
    /// The address filter: which frames the port receives besides those to broadcast, its
    /// `MAC` and the first `count` addresses of [`RX_ADDRS`].
    RX_FILTER(u32) @ 0x094 {
        /// Every frame.
        0:0 promisc as bool;
        /// Every multicast frame.
        1:1 allmulti as bool;
        /// The entries of the table in use.
        13:8 count as u8;
    }
}

/// The address filter table: [`RX_ADDRS_ENTRIES`] entries of 8 bytes from this offset, each an
/// address in its first six bytes.
pub(crate) const RX_ADDRS: usize = 0x700;
pub(crate) const RX_ADDRS_ENTRIES: usize = 32;

/// Link speed codes in [`LINK_CFG`] and [`LINK_STATUS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Speed {
    G10 = 1,
    G25 = 2,
    G50 = 3,
    G100 = 4,
}

impl Speed {
    pub(crate) const ALL: [Speed; 4] = [Speed::G10, Speed::G25, Speed::G50, Speed::G100];

    /// The speed in Mb/s.
    pub(crate) fn mbps(self) -> u32 {
        match self {
            Speed::G10 => 10_000,
            Speed::G25 => 25_000,
            Speed::G50 => 50_000,
            Speed::G100 => 100_000,
        }
    }

    pub(crate) fn from_mbps(mbps: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.mbps() == mbps)
    }

    /// Its bit in [`LINK_CFG::advertised`]: bit `code - 1`.
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8 - 1)
    }
}

impl TryFrom<u8> for Speed {
    type Error = Error;

    fn try_from(code: u8) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| *s as u8 == code)
            .ok_or(EINVAL)
    }
}

impl From<Speed> for u8 {
    fn from(speed: Speed) -> u8 {
        speed as u8
    }
}

/// What the device says of the link beyond up and speed ([`LINK_INFO`]), checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkInfo {
    /// Up, with FEC off or RS.
    Up(FecMode),
    /// Down, and why.
    Down(DownReason),
}

impl LinkInfo {
    /// The [`LINK_INFO`] value `info`, if it is one the device may write: a FEC off or RS and
    /// no reason, or a known reason and no FEC.
    pub(crate) fn from_reg(info: LINK_INFO) -> Option<Self> {
        match (info.fec(), info.reason()) {
            (0, reason) => DownReason::try_from(reason).ok().map(Self::Down),
            (fec, 0) => match FecMode::try_from(fec) {
                Ok(mode @ (FecMode::Off | FecMode::Rs)) => Some(Self::Up(mode)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The device's 64-bit counters, at `COUNTERS + 8 * i`: `i` for each.
pub(crate) mod counter {
    pub(crate) const TX_FRAMES: usize = 0;
    pub(crate) const TX_BYTES: usize = 1;
    pub(crate) const RX_FRAMES: usize = 2;
    pub(crate) const RX_BYTES: usize = 3;
    pub(crate) const TX_ERRORS: usize = 4;
    pub(crate) const TX_DROPPED: usize = 5;
    pub(crate) const RX_NO_BUFFER: usize = 6;
    pub(crate) const RX_OVERSIZE: usize = 7;
    pub(crate) const RX_FCS_ERRORS: usize = 8;
    pub(crate) const TX_PAUSE: usize = 9;
    pub(crate) const RX_PAUSE: usize = 17;
    pub(crate) const RX_SIZE: usize = 25;
    pub(crate) const TX_SIZE: usize = 35;
    pub(crate) const RX_UNDERSIZE: usize = 45;
    pub(crate) const FEC_CORRECTED: usize = 46;
    pub(crate) const FEC_UNCORRECTABLE: usize = 47;
    pub(crate) const PCS_ERRORS: usize = 48;
    pub(crate) const TX_TC_BYTES: usize = 49;
    pub(crate) const RX_FILTERED: usize = 57;
    pub(crate) const RX_MAC_CONTROL: usize = 58;
    pub(crate) const RX_UNSUPPORTED_OPCODES: usize = 59;
    pub(crate) const TX_MAC_CONTROL: usize = 60;
    pub(crate) const LINK_DOWN_EVENTS: usize = 61;
}

/// The counters' offset in a port's block.
const COUNTERS: usize = 0x100;

register! {
    /// The second word of a TX descriptor. A frame is one descriptor or a chain of them
    /// (`more`); the first of a chain holds the priority and the offloads.
    pub(crate) TX_DESC_CTL(u64) {
        /// The piece's bytes; the frame's add up to 14 to [`MAX_FRAME`] ([`TSO_MAX`] with
        /// `tso`).
        15:0 len as u16;
        /// The frame's priority, 0 to 7.
        23:16 prio as u8;
        /// The device inserts the checksum of the bytes from `csum_start` at
        /// `csum_start + csum_offset`.
        24:24 csum as bool;
        /// The device cuts the TCP segment, whose TCP header starts at `csum_start`, into
        /// segments of `mss` bytes of payload.
        25:25 tso as bool;
        /// The frame goes on in the next descriptor.
        26:26 more as bool;
        /// Where the checksummed bytes (the TCP header with `tso`) start.
        41:32 csum_start as u16;
        /// Where the checksum field is, from `csum_start`.
        47:42 csum_offset as u8;
        /// The segments' payload size with `tso`.
        63:48 mss as u16;
    }
}

/// The largest `TX_DESC_CTL::csum_start` and `csum_offset`.
pub(crate) const CSUM_START_MAX: u32 = 0x3ff;
pub(crate) const CSUM_OFFSET_MAX: u32 = 0x3f;
/// Most descriptors of one frame.
pub(crate) const TX_MAX_FRAGS: u32 = 32;
/// The largest frame with `TX_DESC_CTL::tso`, headers included.
pub(crate) const TSO_MAX: u32 = 0x20000;

/// A TX descriptor: one frame to send. Little-endian words.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TxDesc {
    /// The frame's DMA address.
    addr: u64,
    ctl: u64,
}

impl TxDesc {
    pub(crate) fn new(addr: u64, ctl: TX_DESC_CTL) -> Self {
        Self {
            addr: addr.to_le(),
            ctl: u64::from(ctl).to_le(),
        }
    }
}

register! {
    /// The second word of an RX descriptor: the driver writes `buf_len` with the rest 0, the
    /// device the rest when it fills the buffer.
    pub(crate) RX_DESC_CTL(u64) {
        /// The buffer's size.
        15:0 buf_len as u16;
        /// The frame's length.
        31:16 len as u16;
        /// The device filled the buffer.
        32:32 done as bool;
        /// The frame is TCP or UDP over IP and the device verified its checksums.
        33:33 csum_ok as bool;
    }
}

/// An RX descriptor: a buffer the driver posts, filled in by the device. Little-endian words.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RxDesc {
    /// The buffer's DMA address.
    addr: u64,
    ctl: u64,
}

impl RxDesc {
    /// A buffer of `buf_len` bytes at `addr`, to be filled.
    pub(crate) fn new(addr: u64, buf_len: u16) -> Self {
        let ctl = RX_DESC_CTL::default().set_buf_len(buf_len);
        Self {
            addr: addr.to_le(),
            ctl: u64::from(ctl).to_le(),
        }
    }

    pub(crate) fn ctl(&self) -> RX_DESC_CTL {
        RX_DESC_CTL::from(u64::from_le(self.ctl))
    }
}

// SAFETY: `TxDesc` is two `u64`s under `repr(C)`: no padding.
unsafe impl AsBytes for TxDesc {}
// SAFETY: `TxDesc` holds only integers, for which every bit pattern is valid.
unsafe impl FromBytes for TxDesc {}
// SAFETY: `RxDesc` is two `u64`s under `repr(C)`: no padding.
unsafe impl AsBytes for RxDesc {}
// SAFETY: `RxDesc` holds only integers, for which every bit pattern is valid.
unsafe impl FromBytes for RxDesc {}

/// A register's value as the 32-bit words [`NicDevice`] reads and writes.
pub(crate) trait Words: Copy {
    /// The words, lowest first.
    type Array: AsRef<[u32]>;

    fn to_words(self) -> Self::Array;
}

impl Words for u32 {
    type Array = [u32; 1];

    fn to_words(self) -> [u32; 1] {
        [self]
    }
}

impl Words for u64 {
    type Array = [u32; 2];

    fn to_words(self) -> [u32; 2] {
        [self as u32, (self >> 32) as u32]
    }
}

/// One port's part of the device, through the core's [`NicDevice`]: its registers, counters,
/// doorbell and module EEPROM, and the `PORT_STOP` command.
#[derive(Clone)]
pub(crate) struct PortIo {
    nic: NicDevice,
    index: u8,
}

impl PortIo {
    pub(crate) fn new(nic: NicDevice, index: u8) -> Self {
        Self { nic, index }
    }

    /// The device's NIC, for what is not the port's: DMA, identity.
    pub(crate) fn nic(&self) -> &NicDevice {
        &self.nic
    }

    /// The port's number.
    pub(crate) fn index(&self) -> u8 {
        self.index
    }

    /// Reads register `R`.
    pub(crate) fn read<R: PortReg<Raw = u32>>(&self) -> Result<R> {
        Ok(R::from(self.nic.read(self.index, R::OFFSET)?))
    }

    /// Writes `value` to its register; a 64-bit one as its two halves, which the device takes
    /// together when the doorbell rings.
    pub(crate) fn write<R: PortReg>(&self, value: R) -> Result {
        let words = value.into().to_words();
        for (i, &word) in words.as_ref().iter().enumerate() {
            self.nic.write(self.index, R::OFFSET + 4 * i, word)?;
        }
        Ok(())
    }

    /// Reads register `R` of queue `q`.
    pub(crate) fn read_q<R: QueueReg>(&self, q: Queue) -> Result<R> {
        Ok(R::from(self.nic.read(self.index, q.block() + R::OFFSET)?))
    }

    /// Writes `value` to its register of queue `q`.
    pub(crate) fn write_q<R: QueueReg>(&self, q: Queue, value: R) -> Result {
        self.nic
            .write(self.index, q.block() + R::OFFSET, value.into())
    }

    /// Points queue `q` at a ring of `size` entries at `base` (0 entries: not in use).
    pub(crate) fn set_ring(&self, q: Queue, base: u64, size: u32) -> Result {
        self.write_q(q, Q_BASE_LO::from(base as u32))?;
        self.write_q(q, Q_BASE_HI::from((base >> 32) as u32))?;
        self.write_q(q, Q_SIZE::from(size))
    }

    /// Writes `bytes` from `offset`, a multiple of 4, byte `i` in bits `8 * (i % 4)` of its
    /// word.
    pub(crate) fn write_bytes(&self, offset: usize, bytes: &[u8]) -> Result {
        for (i, chunk) in bytes.chunks(4).enumerate() {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.nic
                .write(self.index, offset + 4 * i, u32::from_le_bytes(word))?;
        }
        Ok(())
    }

    /// Device counter `i` (see [`counter`]), 0 if the device is gone.
    pub(crate) fn counter(&self, i: usize) -> u64 {
        self.nic.read64(self.index, COUNTERS + 8 * i).unwrap_or(0)
    }

    /// Rings the port's doorbell: the device looks at the registers again.
    pub(crate) fn kick(&self) -> Result {
        self.nic.kick(self.index)
    }

    /// Disables the port and waits until it no longer touches host memory. Sleeps.
    pub(crate) fn stop(&self) -> Result {
        self.nic.stop_port(self.index)
    }

    /// Reads `buf.len()` bytes of the module EEPROM from `offset` in the device's layout.
    pub(crate) fn read_module(&self, offset: usize, buf: &mut [u8]) -> Result {
        self.nic.read_eeprom(self.index, offset, buf)
    }
}
