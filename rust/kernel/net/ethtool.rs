// SPDX-License-Identifier: GPL-2.0

//! ethtool operations (`struct ethtool_ops`).
//!
//! A driver implements [`Operations`] for the private data `T` of its netdevs and calls
//! [`Builder::set_ethtool_ops`](dev::Builder::set_ethtool_ops). Each callback gets the
//! [`Device<T>`] and a small wrapper of the C structure it reads a request from or fills a
//! reply into. The core holds RTNL around every callback.
//!
//! The string sets (driver statistics, private flags, self-tests) are constants of the trait:
//! the abstraction answers `get_sset_count` and `get_strings` from them, so names, counts and
//! the values the driver fills cannot disagree, and a name too long for `ETH_GSTRING_LEN`
//! fails the build.
//!
//! The standard statistics groups (pause, IEEE 802.3 MAC and PHY, RMON, FEC) arrive with every
//! counter set to "not reported"; the driver sets those the device has.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)

use crate::{
    bindings, device,
    error::from_result,
    ffi::{c_char, c_int, c_ulong},
    net::dev::{self, Device},
    prelude::*,
    str::CStr,
};
use core::{fmt, marker::PhantomData, ops::RangeInclusive};

/// The length of an ethtool string, the terminating NUL included.
const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;
/// Buckets of an RMON histogram.
pub const RMON_HIST_MAX: usize = bindings::ETHTOOL_RMON_HIST_MAX as usize;
/// Bytes of a module EEPROM page half (what one `get_module_eeprom_by_page` call may span).
pub const MODULE_EEPROM_PAGE_LEN: u32 = bindings::ETH_MODULE_EEPROM_PAGE_LEN;

/// Writes `value` into the C string `buf`, truncated if needed, NUL-terminated and padded with
/// NULs, like `strscpy_pad`.
fn set_c_string(buf: &mut [c_char], value: impl fmt::Display) {
    struct Writer<'a> {
        buf: &'a mut [c_char],
        pos: usize,
    }

    impl fmt::Write for Writer<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for &b in s.as_bytes() {
                // Keep room for the NUL; truncate silently, as `strscpy` does.
                if self.pos + 1 >= self.buf.len() {
                    break;
                }
                self.buf[self.pos] = b as c_char;
                self.pos += 1;
            }
            Ok(())
        }
    }

    buf.fill(0);
    let _ = fmt::write(&mut Writer { buf, pos: 0 }, format_args!("{value}"));
}

/// Whether every name fits an ethtool string with its NUL, and none is empty.
const fn names_fit(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if names[i].is_empty() || names[i].len() >= GSTRING_LEN {
            return false;
        }
        i += 1;
    }
    true
}

/// A netlink request's extended acknowledgement, for a message explaining an error.
///
/// Requests that come through the legacy ioctl have none; messages are then dropped.
///
/// # Invariants
///
/// `ptr` is null or a `netlink_ext_ack` valid for `'a` that nothing else writes meanwhile.
pub struct ExtAck<'a> {
    ptr: *mut bindings::netlink_ext_ack,
    _p: PhantomData<&'a mut bindings::netlink_ext_ack>,
}

impl ExtAck<'_> {
    /// # Safety
    ///
    /// `ptr` is null or a `netlink_ext_ack` valid and not otherwise written for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::netlink_ext_ack) -> ExtAck<'a> {
        // INVARIANT: By the safety requirements.
        ExtAck {
            ptr,
            _p: PhantomData,
        }
    }

    /// Sets the message user space sees with the error, like `NL_SET_ERR_MSG`.
    pub fn set_message(&mut self, msg: &'static CStr) {
        if !self.ptr.is_null() {
            // SAFETY: By the type invariant the ack is valid and ours to write; the message is
            // static, as `NL_SET_ERR_MSG` requires.
            unsafe { (*self.ptr)._msg = msg.as_char_ptr() };
        }
    }
}

/// Driver information (`struct ethtool_drvinfo`), filled by [`Operations::get_drvinfo`].
///
/// The core fills `version` with the kernel release, and the bus and driver names from the
/// netdev's parent if the driver leaves them empty; the string set sizes come from the
/// [`Operations`] constants.
#[repr(transparent)]
pub struct DrvInfo(bindings::ethtool_drvinfo);

impl DrvInfo {
    /// Sets the driver name.
    pub fn set_driver(&mut self, name: impl fmt::Display) {
        set_c_string(&mut self.0.driver, name);
    }

    /// Sets the firmware version.
    pub fn set_fw_version(&mut self, version: impl fmt::Display) {
        set_c_string(&mut self.0.fw_version, version);
    }

    /// Sets the bus address to `dev`'s name, e.g. a PCI function's `0000:00:04.0`.
    pub fn set_bus_info(&mut self, dev: &device::Device) {
        // SAFETY: `dev` is a valid device; `dev_name` returns its NUL-terminated name, which
        // lives as long as the device.
        let name = unsafe { CStr::from_char_ptr(bindings::dev_name(dev.as_raw())) };
        set_c_string(&mut self.0.bus_info, name);
    }
}

/// A link mode bit (`enum ethtool_link_mode_bit_indices`): a speed, medium and duplex, or a
/// port type or feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
#[allow(missing_docs)]
pub enum LinkMode {
    Autoneg = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_Autoneg_BIT,
    Tp = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_TP_BIT,
    Fibre = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_FIBRE_BIT,
    Backplane = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_Backplane_BIT,
    Pause = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_Pause_BIT,
    AsymPause = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_Asym_Pause_BIT,
    Base10000TFull = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10000baseT_Full_BIT,
    Base10000KrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10000baseKR_Full_BIT,
    Base10000CrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10000baseCR_Full_BIT,
    Base10000SrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10000baseSR_Full_BIT,
    Base10000LrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_10000baseLR_Full_BIT,
    Base25000CrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_25000baseCR_Full_BIT,
    Base25000KrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_25000baseKR_Full_BIT,
    Base25000SrFull =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_25000baseSR_Full_BIT,
    Base50000Cr2Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_50000baseCR2_Full_BIT,
    Base50000Kr2Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_50000baseKR2_Full_BIT,
    Base50000Sr2Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_50000baseSR2_Full_BIT,
    Base100000Cr4Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_100000baseCR4_Full_BIT,
    Base100000Kr4Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_100000baseKR4_Full_BIT,
    Base100000Sr4Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_100000baseSR4_Full_BIT,
    Base100000Lr4Er4Full =
        bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_100000baseLR4_ER4_Full_BIT,
}

impl LinkMode {
    const ALL: [LinkMode; 21] = [
        LinkMode::Autoneg,
        LinkMode::Tp,
        LinkMode::Fibre,
        LinkMode::Backplane,
        LinkMode::Pause,
        LinkMode::AsymPause,
        LinkMode::Base10000TFull,
        LinkMode::Base10000KrFull,
        LinkMode::Base10000CrFull,
        LinkMode::Base10000SrFull,
        LinkMode::Base10000LrFull,
        LinkMode::Base25000CrFull,
        LinkMode::Base25000KrFull,
        LinkMode::Base25000SrFull,
        LinkMode::Base50000Cr2Full,
        LinkMode::Base50000Kr2Full,
        LinkMode::Base50000Sr2Full,
        LinkMode::Base100000Cr4Full,
        LinkMode::Base100000Kr4Full,
        LinkMode::Base100000Sr4Full,
        LinkMode::Base100000Lr4Er4Full,
    ];

    /// The mode of bit `bit`, if this abstraction names it.
    pub fn from_bit(bit: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|m| *m as u32 == bit)
    }
}

/// A set of link modes (a `__ETHTOOL_DECLARE_LINK_MODE_MASK` bitmap).
#[repr(transparent)]
pub struct LinkModes([c_ulong]);

impl LinkModes {
    fn from_mask(mask: &[c_ulong]) -> &Self {
        // SAFETY: `LinkModes` is a transparent wrapper of `[c_ulong]`.
        unsafe { &*(core::ptr::from_ref(mask) as *const Self) }
    }

    fn from_mask_mut(mask: &mut [c_ulong]) -> &mut Self {
        // SAFETY: `LinkModes` is a transparent wrapper of `[c_ulong]`.
        unsafe { &mut *(core::ptr::from_mut(mask) as *mut Self) }
    }

    /// The word and bit of `mode`.
    fn position(mode: LinkMode) -> (usize, u32) {
        let bit = mode as u32;
        ((bit / c_ulong::BITS) as usize, bit % c_ulong::BITS)
    }

    /// Whether `mode` is in the set.
    pub fn contains(&self, mode: LinkMode) -> bool {
        let (word, bit) = Self::position(mode);
        self.0.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Adds `mode`.
    pub fn insert(&mut self, mode: LinkMode) {
        let (word, bit) = Self::position(mode);
        if let Some(w) = self.0.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// Removes `mode`.
    pub fn remove(&mut self, mode: LinkMode) {
        let (word, bit) = Self::position(mode);
        if let Some(w) = self.0.get_mut(word) {
            *w &= !(1 << bit);
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// The modes in the set, each `Some` if [`LinkMode`] names it, `None` if not.
    pub fn modes(&self) -> impl Iterator<Item = Option<LinkMode>> + '_ {
        self.0.iter().enumerate().flat_map(|(word, &w)| {
            (0..c_ulong::BITS)
                .filter(move |bit| w & (1 << bit) != 0)
                // CAST: A bit number of the mask, far below `u32::MAX`.
                .map(move |bit| LinkMode::from_bit(word as u32 * c_ulong::BITS + bit))
        })
    }
}

/// Duplex of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplex {
    /// Half duplex.
    Half,
    /// Full duplex.
    Full,
    /// Not known (link down) or not given.
    Unknown,
}

/// The physical connector of a port (`PORT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Connector {
    TwistedPair = bindings::PORT_TP as u8,
    Aui = bindings::PORT_AUI as u8,
    Mii = bindings::PORT_MII as u8,
    Fibre = bindings::PORT_FIBRE as u8,
    Bnc = bindings::PORT_BNC as u8,
    /// Direct attach copper.
    DirectAttach = bindings::PORT_DA as u8,
    /// No connector.
    NoPort = bindings::PORT_NONE as u8,
    Other = bindings::PORT_OTHER as u8,
}

/// Link settings (`struct ethtool_link_ksettings`): read by
/// [`Operations::set_link_ksettings`], filled by [`Operations::get_link_ksettings`].
///
/// A set request carries what the get reported, changed by the user. Through netlink, when the
/// user asked for autonegotiation with a speed, duplex or lane count but named no modes, the
/// core has already reduced the advertised modes to the supported ones that match.
#[repr(transparent)]
pub struct LinkSettings(bindings::ethtool_link_ksettings);

impl LinkSettings {
    /// The speed in Mb/s, `None` if unknown (link down).
    pub fn speed(&self) -> Option<u32> {
        let speed = self.0.base.speed;
        (speed != bindings::SPEED_UNKNOWN as u32).then_some(speed)
    }

    /// Sets the speed in Mb/s; `None` reports it unknown.
    pub fn set_speed(&mut self, mbps: Option<u32>) {
        self.0.base.speed = mbps.unwrap_or(bindings::SPEED_UNKNOWN as u32);
    }

    /// The duplex.
    pub fn duplex(&self) -> Duplex {
        match u32::from(self.0.base.duplex) {
            bindings::DUPLEX_HALF => Duplex::Half,
            bindings::DUPLEX_FULL => Duplex::Full,
            _ => Duplex::Unknown,
        }
    }

    /// Sets the duplex.
    pub fn set_duplex(&mut self, duplex: Duplex) {
        self.0.base.duplex = match duplex {
            Duplex::Half => bindings::DUPLEX_HALF,
            Duplex::Full => bindings::DUPLEX_FULL,
            Duplex::Unknown => bindings::DUPLEX_UNKNOWN,
        } as u8;
    }

    /// Whether autonegotiation is on.
    pub fn autoneg(&self) -> bool {
        u32::from(self.0.base.autoneg) == bindings::AUTONEG_ENABLE
    }

    /// Sets whether autonegotiation is on.
    pub fn set_autoneg(&mut self, on: bool) {
        self.0.base.autoneg = if on {
            bindings::AUTONEG_ENABLE
        } else {
            bindings::AUTONEG_DISABLE
        } as u8;
    }

    /// The connector, `None` for a value this abstraction does not know.
    pub fn connector(&self) -> Option<Connector> {
        const ALL: [Connector; 8] = [
            Connector::TwistedPair,
            Connector::Aui,
            Connector::Mii,
            Connector::Fibre,
            Connector::Bnc,
            Connector::DirectAttach,
            Connector::NoPort,
            Connector::Other,
        ];
        ALL.into_iter().find(|c| *c as u8 == self.0.base.port)
    }

    /// Sets the connector.
    pub fn set_connector(&mut self, connector: Connector) {
        self.0.base.port = connector as u8;
    }

    /// The number of lanes, `None` if unknown or not given.
    pub fn lanes(&self) -> Option<u32> {
        (self.0.lanes != 0).then_some(self.0.lanes)
    }

    /// Sets the number of lanes in use; `None` reports it unknown.
    pub fn set_lanes(&mut self, lanes: Option<u32>) {
        self.0.lanes = lanes.unwrap_or(0);
    }

    /// The modes the port supports.
    pub fn supported(&self) -> &LinkModes {
        LinkModes::from_mask(&self.0.link_modes.supported)
    }

    /// The modes the port supports, to fill.
    pub fn supported_mut(&mut self) -> &mut LinkModes {
        LinkModes::from_mask_mut(&mut self.0.link_modes.supported)
    }

    /// The modes advertised (while autonegotiating).
    pub fn advertising(&self) -> &LinkModes {
        LinkModes::from_mask(&self.0.link_modes.advertising)
    }

    /// The modes advertised, to fill.
    pub fn advertising_mut(&mut self) -> &mut LinkModes {
        LinkModes::from_mask_mut(&mut self.0.link_modes.advertising)
    }

    /// The modes the link partner advertised.
    pub fn lp_advertising(&self) -> &LinkModes {
        LinkModes::from_mask(&self.0.link_modes.lp_advertising)
    }
}

/// Ring sizes (`struct ethtool_ringparam`): filled by [`Operations::get_ringparam`], read by
/// [`Operations::set_ringparam`].
///
/// The core rejects requests above the maxima the get reported (so a mini or jumbo ring is
/// refused unless the driver reports a maximum for it), and every extended parameter
/// (`struct kernel_ethtool_ringparam`): this abstraction supports none.
#[repr(transparent)]
pub struct RingParam(bindings::ethtool_ringparam);

impl RingParam {
    /// The RX ring size.
    pub fn rx_pending(&self) -> u32 {
        self.0.rx_pending
    }

    /// The TX ring size.
    pub fn tx_pending(&self) -> u32 {
        self.0.tx_pending
    }

    /// Sets the RX ring size.
    pub fn set_rx_pending(&mut self, n: u32) {
        self.0.rx_pending = n;
    }

    /// Sets the TX ring size.
    pub fn set_tx_pending(&mut self, n: u32) {
        self.0.tx_pending = n;
    }

    /// Sets the largest RX ring size.
    pub fn set_rx_max_pending(&mut self, n: u32) {
        self.0.rx_max_pending = n;
    }

    /// Sets the largest TX ring size.
    pub fn set_tx_max_pending(&mut self, n: u32) {
        self.0.tx_max_pending = n;
    }
}

/// The coalescing parameters a driver supports (`ETHTOOL_COALESCE_*`); the core refuses to
/// change any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoalesceParams(u32);

// `include/linux/ethtool.h` defines these with `BIT()`, which bindgen cannot evaluate.
impl CoalesceParams {
    /// None.
    pub const NONE: Self = Self(0);
    /// `rx-usecs`.
    pub const RX_USECS: Self = Self(1 << 0);
    /// `rx-frames`.
    pub const RX_MAX_FRAMES: Self = Self(1 << 1);
    /// `rx-usecs-irq`.
    pub const RX_USECS_IRQ: Self = Self(1 << 2);
    /// `rx-frames-irq`.
    pub const RX_MAX_FRAMES_IRQ: Self = Self(1 << 3);
    /// `tx-usecs`.
    pub const TX_USECS: Self = Self(1 << 4);
    /// `tx-frames`.
    pub const TX_MAX_FRAMES: Self = Self(1 << 5);
    /// `tx-usecs-irq`.
    pub const TX_USECS_IRQ: Self = Self(1 << 6);
    /// `tx-frames-irq`.
    pub const TX_MAX_FRAMES_IRQ: Self = Self(1 << 7);
    /// `adaptive-rx`.
    pub const USE_ADAPTIVE_RX: Self = Self(1 << 9);
    /// `adaptive-tx`.
    pub const USE_ADAPTIVE_TX: Self = Self(1 << 10);

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Interrupt coalescing (`struct ethtool_coalesce`): filled by [`Operations::get_coalesce`],
/// read by [`Operations::set_coalesce`].
///
/// A set request carries what the get reported with the user's changes, which the core has
/// checked are all in [`Operations::SUPPORTED_COALESCE_PARAMS`].
#[repr(transparent)]
pub struct Coalesce(bindings::ethtool_coalesce);

impl Coalesce {
    /// `rx-usecs`: how long an RX interrupt may be delayed.
    pub fn rx_usecs(&self) -> u32 {
        self.0.rx_coalesce_usecs
    }

    /// Sets `rx-usecs`.
    pub fn set_rx_usecs(&mut self, usecs: u32) {
        self.0.rx_coalesce_usecs = usecs;
    }

    /// `rx-frames`: how many frames may wait for an RX interrupt.
    pub fn rx_max_frames(&self) -> u32 {
        self.0.rx_max_coalesced_frames
    }

    /// Sets `rx-frames`.
    pub fn set_rx_max_frames(&mut self, frames: u32) {
        self.0.rx_max_coalesced_frames = frames;
    }
}

/// Link-level flow control (`struct ethtool_pauseparam`): filled by
/// [`Operations::get_pauseparam`], read by [`Operations::set_pauseparam`].
#[repr(transparent)]
pub struct PauseParam(bindings::ethtool_pauseparam);

impl PauseParam {
    /// Whether pause is autonegotiated.
    pub fn autoneg(&self) -> bool {
        self.0.autoneg != 0
    }

    /// Whether received pause frames are honoured.
    pub fn rx_pause(&self) -> bool {
        self.0.rx_pause != 0
    }

    /// Whether pause frames are sent.
    pub fn tx_pause(&self) -> bool {
        self.0.tx_pause != 0
    }

    /// Sets whether pause is autonegotiated.
    pub fn set_autoneg(&mut self, on: bool) {
        self.0.autoneg = on.into();
    }

    /// Sets whether received pause frames are honoured.
    pub fn set_rx_pause(&mut self, on: bool) {
        self.0.rx_pause = on.into();
    }

    /// Sets whether pause frames are sent.
    pub fn set_tx_pause(&mut self, on: bool) {
        self.0.tx_pause = on.into();
    }
}

/// A self-test run (`struct ethtool_test` and its results), for [`Operations::self_test`].
///
/// Result `i` belongs to test [`Operations::SELF_TESTS`]`[i]`; 0 means passed.
pub struct SelfTest<'a> {
    flags: &'a mut u32,
    results: &'a mut [u64],
}

impl SelfTest<'_> {
    /// Whether the user allowed offline tests, which may interrupt traffic.
    pub fn offline(&self) -> bool {
        *self.flags & bindings::ethtool_test_flags_ETH_TEST_FL_OFFLINE != 0
    }

    fn set(&mut self, test: usize, value: u64) {
        if let Some(r) = self.results.get_mut(test) {
            *r = value;
            if value != 0 {
                *self.flags |= bindings::ethtool_test_flags_ETH_TEST_FL_FAILED;
            }
        }
    }

    /// Test `test` passed (also the result of a test that did not run).
    pub fn pass(&mut self, test: usize) {
        self.set(test, 0);
    }

    /// Test `test` failed: its result is 1 and the run fails.
    pub fn fail(&mut self, test: usize) {
        self.set(test, 1);
    }

    /// Test `test` could not run: its result is the (positive) errno and the run fails.
    pub fn error(&mut self, test: usize, err: Error) {
        self.set(test, u64::from(err.to_errno().unsigned_abs()));
    }
}

/// The memory map of a plug-in module's EEPROM (`ETH_MODULE_SFF_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ModuleType {
    /// SFP: SFF-8079, 256 bytes at address A0h.
    Sff8079 = bindings::ETH_MODULE_SFF_8079,
    /// SFP with diagnostics: SFF-8472, A0h then A2h.
    Sff8472 = bindings::ETH_MODULE_SFF_8472,
    /// QSFP+: SFF-8436.
    Sff8436 = bindings::ETH_MODULE_SFF_8436,
    /// QSFP+ and QSFP28: SFF-8636, lower page 0 then upper pages 00h, 01h, 02h, 03h.
    Sff8636 = bindings::ETH_MODULE_SFF_8636,
}

/// `ETH_MODULE_SFF_8436_LEN`: lower page 0 and upper page 00h of an SFF-8436 module.
pub const SFF_8436_LEN: u32 = bindings::ETH_MODULE_SFF_8436_LEN;
/// `ETH_MODULE_SFF_8436_MAX_LEN`: also upper pages 01h to 03h.
pub const SFF_8436_MAX_LEN: u32 = bindings::ETH_MODULE_SFF_8436_MAX_LEN;
/// `ETH_MODULE_SFF_8636_LEN`: lower page 0 and upper page 00h of an SFF-8636 module.
pub const SFF_8636_LEN: u32 = bindings::ETH_MODULE_SFF_8636_LEN;
/// `ETH_MODULE_SFF_8636_MAX_LEN`: also upper pages 01h to 03h.
pub const SFF_8636_MAX_LEN: u32 = bindings::ETH_MODULE_SFF_8636_MAX_LEN;

/// What a plug-in module's EEPROM looks like (`struct ethtool_modinfo`), filled by
/// [`Operations::get_module_info`].
#[repr(transparent)]
pub struct ModuleInfo(bindings::ethtool_modinfo);

impl ModuleInfo {
    /// Sets the memory map and how many bytes of it [`Operations::get_module_eeprom`] reads.
    pub fn set(&mut self, kind: ModuleType, eeprom_len: u32) {
        self.0.type_ = kind as u32;
        self.0.eeprom_len = eeprom_len;
    }
}

/// A read of a module EEPROM page (`struct ethtool_module_eeprom`), for
/// [`Operations::get_module_eeprom_by_page`].
///
/// The core has checked that the read stays within one half page: `offset` 0 to 127 only for
/// page 0 (the lower page), 128 to 255 for any page (its upper half).
pub struct ModulePage<'a> {
    offset: u32,
    page: u8,
    bank: u8,
    i2c_address: u8,
    data: &'a mut [u8],
}

impl ModulePage<'_> {
    /// The offset within the 256-byte window of lower page 0 and the selected upper page.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The page.
    pub fn page(&self) -> u8 {
        self.page
    }

    /// The bank (CMIS).
    pub fn bank(&self) -> u8 {
        self.bank
    }

    /// The I2C address (0x50, or 0x51 for the diagnostics of an SFF-8472 module).
    pub fn i2c_address(&self) -> u8 {
        self.i2c_address
    }

    /// Where the bytes go; its length is how many were asked for.
    pub fn data(&mut self) -> &mut [u8] {
        self.data
    }
}

/// FEC modes (`ETHTOOL_FEC_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FecModes(u32);

impl FecModes {
    /// FEC configuration is not supported.
    pub const NONE: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_NONE_BIT);
    /// Chosen automatically.
    pub const AUTO: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_AUTO_BIT);
    /// No FEC.
    pub const OFF: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_OFF_BIT);
    /// Reed-Solomon (clause 91).
    pub const RS: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_RS_BIT);
    /// BASE-R (clause 74).
    pub const BASER: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_BASER_BIT);
    /// Low-latency Reed-Solomon.
    pub const LLRS: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_LLRS_BIT);

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// FEC configuration (`struct ethtool_fecparam`), filled by [`Operations::get_fecparam`].
#[repr(transparent)]
pub struct FecParam(bindings::ethtool_fecparam);

impl FecParam {
    /// Sets the configured modes.
    pub fn set_configured(&mut self, modes: FecModes) {
        self.0.fec = modes.0;
    }
}

/// Generates setters for the counters of a standard statistics group: the C structures keep
/// them in a `struct_group`, an anonymous union of two identical structures of `u64`.
macro_rules! stats_setters {
    ($ty:ident { $($(#[$doc:meta])* $set:ident => $field:ident,)* }) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $set(&mut self, value: u64) {
                    // SAFETY: Both members of the union are the same `u64` counters, for which
                    // any bit pattern is valid.
                    let counters = unsafe { &mut self.0.__bindgen_anon_1.__bindgen_anon_1 };
                    counters.$field = value;
                }
            )*
        }
    };
}

/// Pause frame counters (`struct ethtool_pause_stats`), for [`Operations::get_pause_stats`].
#[repr(transparent)]
pub struct PauseStats(bindings::ethtool_pause_stats);

stats_setters!(PauseStats {
    /// Pause frames sent.
    set_tx_pause_frames => tx_pause_frames,
    /// Pause frames received.
    set_rx_pause_frames => rx_pause_frames,
});

/// IEEE 802.3 PHY counters (`struct ethtool_eth_phy_stats`), for
/// [`Operations::get_eth_phy_stats`].
#[repr(transparent)]
pub struct EthPhyStats(bindings::ethtool_eth_phy_stats);

stats_setters!(EthPhyStats {
    /// aSymbolErrorDuringCarrier (30.3.2.1.5).
    set_symbol_error_during_carrier => SymbolErrorDuringCarrier,
});

/// IEEE 802.3 MAC counters (`struct ethtool_eth_mac_stats`), for
/// [`Operations::get_eth_mac_stats`]. Each setter names the 802.3 attribute.
#[repr(transparent)]
pub struct EthMacStats(bindings::ethtool_eth_mac_stats);

stats_setters!(EthMacStats {
    /// aFramesTransmittedOK.
    set_frames_transmitted_ok => FramesTransmittedOK,
    /// aSingleCollisionFrames.
    set_single_collision_frames => SingleCollisionFrames,
    /// aMultipleCollisionFrames.
    set_multiple_collision_frames => MultipleCollisionFrames,
    /// aFramesReceivedOK.
    set_frames_received_ok => FramesReceivedOK,
    /// aFrameCheckSequenceErrors.
    set_frame_check_sequence_errors => FrameCheckSequenceErrors,
    /// aAlignmentErrors.
    set_alignment_errors => AlignmentErrors,
    /// aOctetsTransmittedOK.
    set_octets_transmitted_ok => OctetsTransmittedOK,
    /// aFramesWithDeferredXmissions.
    set_frames_with_deferred_xmissions => FramesWithDeferredXmissions,
    /// aLateCollisions.
    set_late_collisions => LateCollisions,
    /// aFramesAbortedDueToXSColls.
    set_frames_aborted_due_to_xs_colls => FramesAbortedDueToXSColls,
    /// aFramesLostDueToIntMACXmitError.
    set_frames_lost_due_to_int_mac_xmit_error => FramesLostDueToIntMACXmitError,
    /// aCarrierSenseErrors.
    set_carrier_sense_errors => CarrierSenseErrors,
    /// aOctetsReceivedOK.
    set_octets_received_ok => OctetsReceivedOK,
    /// aFramesLostDueToIntMACRcvError.
    set_frames_lost_due_to_int_mac_rcv_error => FramesLostDueToIntMACRcvError,
    /// aMulticastFramesXmittedOK.
    set_multicast_frames_xmitted_ok => MulticastFramesXmittedOK,
    /// aBroadcastFramesXmittedOK.
    set_broadcast_frames_xmitted_ok => BroadcastFramesXmittedOK,
    /// aFramesWithExcessiveDeferral.
    set_frames_with_excessive_deferral => FramesWithExcessiveDeferral,
    /// aMulticastFramesReceivedOK.
    set_multicast_frames_received_ok => MulticastFramesReceivedOK,
    /// aBroadcastFramesReceivedOK.
    set_broadcast_frames_received_ok => BroadcastFramesReceivedOK,
    /// aInRangeLengthErrors.
    set_in_range_length_errors => InRangeLengthErrors,
    /// aOutOfRangeLengthField.
    set_out_of_range_length_field => OutOfRangeLengthField,
    /// aFrameTooLongErrors.
    set_frame_too_long_errors => FrameTooLongErrors,
});

/// RMON counters (`struct ethtool_rmon_stats`, RFC 2819), for [`Operations::get_rmon_stats`].
///
/// Histogram bucket `i` counts frames whose length is in [`Operations::RMON_HIST_RANGES`]`[i]`.
#[repr(transparent)]
pub struct RmonStats(bindings::ethtool_rmon_stats);

stats_setters!(RmonStats {
    /// etherStatsUndersizePkts: well-formed frames shorter than 64 bytes.
    set_undersize_pkts => undersize_pkts,
    /// etherStatsOversizePkts: well-formed frames longer than 1518 bytes.
    set_oversize_pkts => oversize_pkts,
    /// etherStatsFragments: short frames with a bad FCS.
    set_fragments => fragments,
    /// etherStatsJabbers: long frames with a bad FCS.
    set_jabbers => jabbers,
});

impl RmonStats {
    /// Sets histogram bucket `bucket` of received frames; out-of-range buckets are ignored.
    pub fn set_hist(&mut self, bucket: usize, value: u64) {
        // SAFETY: As in the setters above: both union members are the same `u64` counters.
        let hist = unsafe { &mut self.0.__bindgen_anon_1.__bindgen_anon_1.hist };
        if let Some(h) = hist.get_mut(bucket) {
            *h = value;
        }
    }

    /// Sets histogram bucket `bucket` of sent frames; out-of-range buckets are ignored.
    pub fn set_hist_tx(&mut self, bucket: usize, value: u64) {
        // SAFETY: As in the setters above: both union members are the same `u64` counters.
        let hist = unsafe { &mut self.0.__bindgen_anon_1.__bindgen_anon_1.hist_tx };
        if let Some(h) = hist.get_mut(bucket) {
            *h = value;
        }
    }
}

/// One FEC counter.
#[repr(transparent)]
pub struct FecStat(bindings::ethtool_fec_stats_ethtool_fec_stat);

impl FecStat {
    /// Sets the total over the lanes.
    pub fn set_total(&mut self, value: u64) {
        self.0.total = value;
    }
}

/// FEC counters (`struct ethtool_fec_stats`), for [`Operations::get_fec_stats`].
#[repr(transparent)]
pub struct FecStats(bindings::ethtool_fec_stats);

impl FecStats {
    fn stat(stat: &mut bindings::ethtool_fec_stats_ethtool_fec_stat) -> &mut FecStat {
        // SAFETY: `FecStat` is a transparent wrapper of the C structure.
        unsafe { &mut *core::ptr::from_mut(stat).cast::<FecStat>() }
    }

    /// Blocks (codewords) that had errors, all corrected.
    pub fn corrected_blocks(&mut self) -> &mut FecStat {
        Self::stat(&mut self.0.corrected_blocks)
    }

    /// Blocks (codewords) with errors FEC could not correct.
    pub fn uncorrectable_blocks(&mut self) -> &mut FecStat {
        Self::stat(&mut self.0.uncorrectable_blocks)
    }

    /// Bits FEC corrected.
    pub fn corrected_bits(&mut self) -> &mut FecStat {
        Self::stat(&mut self.0.corrected_bits)
    }
}

/// The ethtool callbacks of netdevs whose private data is `Self`.
///
/// Every callback runs under RTNL, in process context. `get_link` is always
/// `ethtool_op_get_link` (the carrier state).
#[vtable]
pub trait Operations: dev::Operations {
    /// The names of the driver's statistics (`ethtool -S`), in the order
    /// [`Operations::get_ethtool_stats`] fills them. Each must be a counter, not a title, and
    /// should not repeat one of a standard group. Shorter than `ETH_GSTRING_LEN`.
    const STATS: &'static [&'static str] = &[];

    /// The names of the private flags (`ethtool --show-priv-flags`), bit `i` for name `i`.
    const PRIV_FLAGS: &'static [&'static str] = &[];

    /// The names of the self-tests (`ethtool -t`), result `i` for name `i`.
    const SELF_TESTS: &'static [&'static str] = &[];

    /// The coalescing parameters [`Operations::set_coalesce`] accepts.
    const SUPPORTED_COALESCE_PARAMS: CoalesceParams = CoalesceParams::NONE;

    /// The frame lengths (with FCS) of the RMON histogram buckets, at most [`RMON_HIST_MAX`].
    const RMON_HIST_RANGES: &'static [RangeInclusive<u16>] = &[];

    /// Reports the driver, firmware and bus.
    fn get_drvinfo(_dev: &Device<Self>, _info: &mut DrvInfo) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the link settings; the structure arrives zeroed.
    fn get_link_ksettings(_dev: &Device<Self>, _settings: &mut LinkSettings) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the link settings.
    fn set_link_ksettings(_dev: &Device<Self>, _settings: &LinkSettings) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the ring sizes and their maxima.
    fn get_ringparam(_dev: &Device<Self>, _ring: &mut RingParam) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the ring sizes, which the core checked against the maxima.
    fn set_ringparam(_dev: &Device<Self>, _ring: &RingParam, _extack: &mut ExtAck<'_>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the interrupt coalescing.
    fn get_coalesce(_dev: &Device<Self>, _coalesce: &mut Coalesce) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the interrupt coalescing; needs [`Operations::SUPPORTED_COALESCE_PARAMS`].
    fn set_coalesce(_dev: &Device<Self>, _coalesce: &Coalesce, _extack: &mut ExtAck<'_>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports link-level flow control.
    fn get_pauseparam(_dev: &Device<Self>, _pause: &mut PauseParam) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes link-level flow control.
    fn set_pauseparam(_dev: &Device<Self>, _pause: &PauseParam) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the pause frame counters (`ethtool -I -a`).
    fn get_pause_stats(_dev: &Device<Self>, _stats: &mut PauseStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Fills the values of [`Operations::STATS`], one each.
    fn get_ethtool_stats(_dev: &Device<Self>, _data: &mut [u64]) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the private flags, bit `i` for [`Operations::PRIV_FLAGS`]`[i]`.
    fn get_priv_flags(_dev: &Device<Self>) -> u32 {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes the private flags; the abstraction refuses bits beyond
    /// [`Operations::PRIV_FLAGS`] with `EINVAL`.
    fn set_priv_flags(_dev: &Device<Self>, _flags: u32) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Runs the tests of [`Operations::SELF_TESTS`]; the core has marked the interface as
    /// testing (`IF_OPER_TESTING`) for the duration.
    fn self_test(_dev: &Device<Self>, _test: &mut SelfTest<'_>) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the plug-in module's EEPROM map.
    fn get_module_info(_dev: &Device<Self>, _info: &mut ModuleInfo) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reads the module EEPROM from `offset`, in the flat layout of
    /// [`Operations::get_module_info`]; the core has checked the range against it.
    fn get_module_eeprom(_dev: &Device<Self>, _offset: u32, _data: &mut [u8]) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reads part of a module EEPROM page; returns how many bytes it read.
    fn get_module_eeprom_by_page(
        _dev: &Device<Self>,
        _page: &mut ModulePage<'_>,
        _extack: &mut ExtAck<'_>,
    ) -> Result<usize> {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the FEC configuration; the FEC counters are only asked for alongside it.
    fn get_fecparam(_dev: &Device<Self>, _fec: &mut FecParam) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the FEC counters (`ethtool -I --show-fec`).
    fn get_fec_stats(_dev: &Device<Self>, _stats: &mut FecStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the IEEE 802.3 PHY counters (`ethtool -S --groups eth-phy`).
    fn get_eth_phy_stats(_dev: &Device<Self>, _stats: &mut EthPhyStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the IEEE 802.3 MAC counters (`ethtool -S --groups eth-mac`).
    fn get_eth_mac_stats(_dev: &Device<Self>, _stats: &mut EthMacStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the RMON counters (`ethtool -S --groups rmon`).
    fn get_rmon_stats(_dev: &Device<Self>, _stats: &mut RmonStats) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The names of string set `set` of `T`, if it has any.
fn string_set<T: Operations>(set: u32) -> Option<&'static [&'static str]> {
    let names = match set {
        bindings::ethtool_stringset_ETH_SS_STATS => T::STATS,
        bindings::ethtool_stringset_ETH_SS_PRIV_FLAGS => T::PRIV_FLAGS,
        bindings::ethtool_stringset_ETH_SS_TEST => T::SELF_TESTS,
        _ => return None,
    };
    (!names.is_empty()).then_some(names)
}

/// The RMON histogram ranges in C form, ending with an empty range if fewer than the maximum.
const fn rmon_ranges(
    ranges: &[RangeInclusive<u16>],
) -> [bindings::ethtool_rmon_hist_range; RMON_HIST_MAX + 1] {
    assert!(
        ranges.len() <= RMON_HIST_MAX,
        "too many RMON histogram buckets"
    );
    let mut out = [bindings::ethtool_rmon_hist_range { low: 0, high: 0 }; RMON_HIST_MAX + 1];
    let mut i = 0;
    while i < ranges.len() {
        let (low, high) = (*ranges[i].start(), *ranges[i].end());
        // An empty range ends the list for the core.
        assert!(high != 0 && low <= high, "empty RMON histogram bucket");
        out[i] = bindings::ethtool_rmon_hist_range { low, high };
        i += 1;
    }
    out
}

/// `Some(f)` if `has`: a callback of a vtable.
const fn maybe<F: Copy>(has: bool, f: F) -> Option<F> {
    if has {
        Some(f)
    } else {
        None
    }
}

/// Holds the C callbacks of `T`.
struct Table<T>(PhantomData<T>);

impl<T: Operations> Table<T> {
    /// Whether `T` has any string set.
    const HAS_STRINGS: bool =
        !T::STATS.is_empty() || !T::PRIV_FLAGS.is_empty() || !T::SELF_TESTS.is_empty();

    /// # Safety
    ///
    /// The callbacks below are called by the ethtool core with a netdev whose ethtool
    /// operations are this table, set by `Builder::<T>::set_ethtool_ops`, valid for the call.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: By the safety requirements above, `dev` was created by `Registration::<T>`.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: `info` is valid and exclusive for the call, `DrvInfo` a transparent wrapper;
        // see `Table::dev`.
        unsafe { T::get_drvinfo(Self::dev(dev), &mut *info.cast::<DrvInfo>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: `ks` is valid and exclusive for the call, `LinkSettings` a transparent
        // wrapper; see `Table::dev`.
        from_result(|| {
            unsafe { T::get_link_ksettings(Self::dev(dev), &mut *ks.cast::<LinkSettings>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn set_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *const bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: `ks` is valid for the call, `LinkSettings` a transparent wrapper; see
        // `Table::dev`.
        from_result(|| {
            unsafe { T::set_link_ksettings(Self::dev(dev), &*ks.cast::<LinkSettings>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: `ring` is valid and exclusive for the call, `RingParam` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_ringparam(Self::dev(dev), &mut *ring.cast::<RingParam>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn set_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `ring` is valid for the call, `RingParam` a transparent wrapper; `extack` is
        // null or valid and ours for the call; see `Table::dev`.
        from_result(|| unsafe {
            T::set_ringparam(
                Self::dev(dev),
                &*ring.cast::<RingParam>(),
                &mut ExtAck::from_raw(extack),
            )
            .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_coalesce(
        dev: *mut bindings::net_device,
        coalesce: *mut bindings::ethtool_coalesce,
        _kcoalesce: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `coalesce` is valid and exclusive for the call, `Coalesce` a transparent
        // wrapper; see `Table::dev`.
        from_result(|| {
            unsafe { T::get_coalesce(Self::dev(dev), &mut *coalesce.cast::<Coalesce>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn set_coalesce(
        dev: *mut bindings::net_device,
        coalesce: *mut bindings::ethtool_coalesce,
        _kcoalesce: *mut bindings::kernel_ethtool_coalesce,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: `coalesce` is valid for the call, `Coalesce` a transparent wrapper; `extack`
        // is null or valid and ours for the call; see `Table::dev`.
        from_result(|| unsafe {
            T::set_coalesce(
                Self::dev(dev),
                &*coalesce.cast::<Coalesce>(),
                &mut ExtAck::from_raw(extack),
            )
            .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_pauseparam(
        dev: *mut bindings::net_device,
        pause: *mut bindings::ethtool_pauseparam,
    ) {
        // SAFETY: `pause` is valid and exclusive for the call, `PauseParam` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_pauseparam(Self::dev(dev), &mut *pause.cast::<PauseParam>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn set_pauseparam(
        dev: *mut bindings::net_device,
        pause: *mut bindings::ethtool_pauseparam,
    ) -> c_int {
        // SAFETY: `pause` is valid for the call, `PauseParam` a transparent wrapper; see
        // `Table::dev`.
        from_result(|| {
            unsafe { T::set_pauseparam(Self::dev(dev), &*pause.cast::<PauseParam>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_pause_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_pause_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `PauseStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_pause_stats(Self::dev(dev), &mut *stats.cast::<PauseStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_sset_count(_dev: *mut bindings::net_device, set: c_int) -> c_int {
        match u32::try_from(set).ok().and_then(string_set::<T>) {
            // CAST: The names are a constant list, far shorter than `c_int::MAX`.
            Some(names) => names.len() as c_int,
            None => EOPNOTSUPP.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_strings(_dev: *mut bindings::net_device, set: u32, data: *mut u8) {
        let Some(names) = string_set::<T>(set) else {
            return;
        };
        // SAFETY: The core allocated as many strings as `get_sset_count` returned for `set`,
        // `ETH_GSTRING_LEN` bytes each, exclusive for the call.
        let buf = unsafe { core::slice::from_raw_parts_mut(data, names.len() * GSTRING_LEN) };
        // Not `chunks_exact_mut`: its division by a run-time chunk size panics through a
        // function objtool does not know as noreturn.
        for (i, name) in names.iter().enumerate() {
            let Some(slot) = buf.get_mut(i * GSTRING_LEN..(i + 1) * GSTRING_LEN) else {
                break;
            };
            slot.fill(0);
            // `vtable` checked at build time that each name fits with its NUL.
            for (dst, &src) in slot.iter_mut().zip(name.as_bytes()).take(GSTRING_LEN - 1) {
                *dst = src;
            }
        }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        _stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: The core allocated as many values as `get_sset_count(ETH_SS_STATS)`
        // returned, `T::STATS.len()`, exclusive for the call.
        let data = unsafe { core::slice::from_raw_parts_mut(data, T::STATS.len()) };
        // SAFETY: See `Table::dev`.
        T::get_ethtool_stats(unsafe { Self::dev(dev) }, data)
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_priv_flags(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: See `Table::dev`.
        T::get_priv_flags(unsafe { Self::dev(dev) })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn set_priv_flags(dev: *mut bindings::net_device, flags: u32) -> c_int {
        from_result(|| {
            // The ioctl path passes the user's value unchecked.
            if flags.checked_shr(T::PRIV_FLAGS.len() as u32).unwrap_or(0) != 0 {
                return Err(EINVAL);
            }
            // SAFETY: See `Table::dev`.
            T::set_priv_flags(unsafe { Self::dev(dev) }, flags).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn self_test(
        dev: *mut bindings::net_device,
        test: *mut bindings::ethtool_test,
        data: *mut u64,
    ) {
        // SAFETY: `test` is valid and exclusive for the call; the core allocated as many
        // results as `get_sset_count(ETH_SS_TEST)` returned, `T::SELF_TESTS.len()`.
        let mut run = unsafe {
            SelfTest {
                flags: &mut (*test).flags,
                results: core::slice::from_raw_parts_mut(data, T::SELF_TESTS.len()),
            }
        };
        // SAFETY: See `Table::dev`.
        T::self_test(unsafe { Self::dev(dev) }, &mut run)
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_module_info(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_modinfo,
    ) -> c_int {
        // SAFETY: `info` is valid and exclusive for the call, `ModuleInfo` a transparent
        // wrapper; see `Table::dev`.
        from_result(|| {
            unsafe { T::get_module_info(Self::dev(dev), &mut *info.cast::<ModuleInfo>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_module_eeprom(
        dev: *mut bindings::net_device,
        eeprom: *mut bindings::ethtool_eeprom,
        data: *mut u8,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `eeprom` is valid for the call and `data` holds its `len` bytes,
            // exclusive for the call.
            let (offset, data) = unsafe {
                (
                    (*eeprom).offset,
                    core::slice::from_raw_parts_mut(data, (*eeprom).len as usize),
                )
            };
            // SAFETY: See `Table::dev`.
            T::get_module_eeprom(unsafe { Self::dev(dev) }, offset, data).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_module_eeprom_by_page(
        dev: *mut bindings::net_device,
        page: *const bindings::ethtool_module_eeprom,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `page` is valid for the call and its `data` holds `length` bytes,
            // exclusive for the call.
            let mut page = unsafe {
                let p = &*page;
                ModulePage {
                    offset: p.offset,
                    page: p.page,
                    bank: p.bank,
                    i2c_address: p.i2c_address,
                    data: core::slice::from_raw_parts_mut(p.data, p.length as usize),
                }
            };
            let asked = page.data.len();
            // SAFETY: `extack` is null or valid and ours for the call; see `Table::dev`.
            let read = unsafe {
                T::get_module_eeprom_by_page(
                    Self::dev(dev),
                    &mut page,
                    &mut ExtAck::from_raw(extack),
                )?
            };
            // CAST: At most `length`, a `u32`.
            Ok(read.min(asked) as c_int)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_fecparam(
        dev: *mut bindings::net_device,
        fec: *mut bindings::ethtool_fecparam,
    ) -> c_int {
        // SAFETY: `fec` is valid and exclusive for the call, `FecParam` a transparent wrapper;
        // see `Table::dev`.
        from_result(|| {
            unsafe { T::get_fecparam(Self::dev(dev), &mut *fec.cast::<FecParam>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_fec_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_fec_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `FecStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_fec_stats(Self::dev(dev), &mut *stats.cast::<FecStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_eth_phy_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_eth_phy_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `EthPhyStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_eth_phy_stats(Self::dev(dev), &mut *stats.cast::<EthPhyStats>()) }
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_eth_mac_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_eth_mac_stats,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `EthMacStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_eth_mac_stats(Self::dev(dev), &mut *stats.cast::<EthMacStats>()) }
    }

    /// The histogram ranges the core reads after `get_rmon_stats`.
    const RMON_RANGES: [bindings::ethtool_rmon_hist_range; RMON_HIST_MAX + 1] =
        rmon_ranges(T::RMON_HIST_RANGES);

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    unsafe extern "C" fn get_rmon_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_rmon_stats,
        ranges: *mut *const bindings::ethtool_rmon_hist_range,
    ) {
        // SAFETY: `stats` is valid and exclusive for the call, `RmonStats` a transparent
        // wrapper; see `Table::dev`.
        unsafe { T::get_rmon_stats(Self::dev(dev), &mut *stats.cast::<RmonStats>()) };
        let table: &'static [bindings::ethtool_rmon_hist_range; RMON_HIST_MAX + 1] =
            &Self::RMON_RANGES;
        // SAFETY: `ranges` is valid for writing for the call; the table is static.
        unsafe {
            *ranges = if T::RMON_HIST_RANGES.is_empty() {
                core::ptr::null()
            } else {
                table.as_ptr()
            };
        }
    }

    const OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        supported_coalesce_params: T::SUPPORTED_COALESCE_PARAMS.0,
        get_drvinfo: maybe(T::HAS_GET_DRVINFO, Self::get_drvinfo as _),
        get_link: Some(bindings::ethtool_op_get_link),
        get_link_ksettings: maybe(T::HAS_GET_LINK_KSETTINGS, Self::get_link_ksettings as _),
        set_link_ksettings: maybe(T::HAS_SET_LINK_KSETTINGS, Self::set_link_ksettings as _),
        get_ringparam: maybe(T::HAS_GET_RINGPARAM, Self::get_ringparam as _),
        set_ringparam: maybe(T::HAS_SET_RINGPARAM, Self::set_ringparam as _),
        get_coalesce: maybe(T::HAS_GET_COALESCE, Self::get_coalesce as _),
        set_coalesce: maybe(T::HAS_SET_COALESCE, Self::set_coalesce as _),
        get_pauseparam: maybe(T::HAS_GET_PAUSEPARAM, Self::get_pauseparam as _),
        set_pauseparam: maybe(T::HAS_SET_PAUSEPARAM, Self::set_pauseparam as _),
        get_pause_stats: maybe(T::HAS_GET_PAUSE_STATS, Self::get_pause_stats as _),
        get_sset_count: maybe(Self::HAS_STRINGS, Self::get_sset_count as _),
        get_strings: maybe(Self::HAS_STRINGS, Self::get_strings as _),
        get_ethtool_stats: maybe(T::HAS_GET_ETHTOOL_STATS, Self::get_ethtool_stats as _),
        get_priv_flags: maybe(T::HAS_GET_PRIV_FLAGS, Self::get_priv_flags as _),
        set_priv_flags: maybe(T::HAS_SET_PRIV_FLAGS, Self::set_priv_flags as _),
        self_test: maybe(T::HAS_SELF_TEST, Self::self_test as _),
        get_module_info: maybe(T::HAS_GET_MODULE_INFO, Self::get_module_info as _),
        get_module_eeprom: maybe(T::HAS_GET_MODULE_EEPROM, Self::get_module_eeprom as _),
        get_module_eeprom_by_page: maybe(
            T::HAS_GET_MODULE_EEPROM_BY_PAGE,
            Self::get_module_eeprom_by_page as _,
        ),
        get_fecparam: maybe(T::HAS_GET_FECPARAM, Self::get_fecparam as _),
        get_fec_stats: maybe(T::HAS_GET_FEC_STATS, Self::get_fec_stats as _),
        get_eth_phy_stats: maybe(T::HAS_GET_ETH_PHY_STATS, Self::get_eth_phy_stats as _),
        get_eth_mac_stats: maybe(T::HAS_GET_ETH_MAC_STATS, Self::get_eth_mac_stats as _),
        get_rmon_stats: maybe(T::HAS_GET_RMON_STATS, Self::get_rmon_stats as _),
        // SAFETY: The remaining members are optional callbacks, bitfields and sizes; zero is
        // valid for each.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };
}

/// The static table for `T`. Checks at build time that the string sets and the callbacks
/// agree.
pub(crate) fn vtable<T: Operations>() -> &'static bindings::ethtool_ops {
    const {
        assert!(
            names_fit(T::STATS),
            "a statistics name is empty or too long"
        );
        assert!(
            names_fit(T::PRIV_FLAGS),
            "a private flag name is empty or too long"
        );
        assert!(
            names_fit(T::SELF_TESTS),
            "a self-test name is empty or too long"
        );
        assert!(T::PRIV_FLAGS.len() <= 32, "more than 32 private flags");
        assert!(
            T::STATS.is_empty() != T::HAS_GET_ETHTOOL_STATS,
            "STATS needs get_ethtool_stats"
        );
        assert!(
            T::SELF_TESTS.is_empty() != T::HAS_SELF_TEST,
            "SELF_TESTS needs self_test"
        );
        assert!(
            T::PRIV_FLAGS.is_empty() != (T::HAS_GET_PRIV_FLAGS && T::HAS_SET_PRIV_FLAGS),
            "PRIV_FLAGS needs get_priv_flags and set_priv_flags"
        );
        assert!(
            !T::HAS_SET_COALESCE || T::SUPPORTED_COALESCE_PARAMS.0 != 0,
            "set_coalesce needs SUPPORTED_COALESCE_PARAMS"
        );
        assert!(
            T::RMON_HIST_RANGES.is_empty() || T::HAS_GET_RMON_STATS,
            "RMON_HIST_RANGES needs get_rmon_stats"
        );
    };
    &Table::<T>::OPS
}
