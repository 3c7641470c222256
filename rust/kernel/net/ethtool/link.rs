// SPDX-License-Identifier: GPL-2.0

//! Link settings: link modes, speed and duplex, flow control and FEC.

use super::{Operations, Table};
use crate::{
    bindings,
    error::from_result,
    ffi::{c_int, c_ulong},
};

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
    /// No FEC, as a supported or advertised FEC mode.
    FecNone = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_FEC_NONE_BIT,
    /// RS FEC, as a supported or advertised FEC mode.
    FecRs = bindings::ethtool_link_mode_bit_indices_ETHTOOL_LINK_MODE_FEC_RS_BIT,
}

impl LinkMode {
    const ALL: [LinkMode; 23] = [
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
        LinkMode::FecNone,
        LinkMode::FecRs,
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

/// A set of FEC modes (`ETHTOOL_FEC_*` bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FecModes(u32);

impl FecModes {
    /// FEC configuration is not supported.
    pub const NONE: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_NONE_BIT);
    /// The device picks the FEC (from autonegotiation, the module or the partner).
    pub const AUTO: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_AUTO_BIT);
    /// No FEC.
    pub const OFF: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_OFF_BIT);
    /// Reed-Solomon FEC (IEEE 802.3 clauses 91 and 108).
    pub const RS: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_RS_BIT);
    /// BASE-R ("Fire Code") FEC (IEEE 802.3 clause 74).
    pub const BASER: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_BASER_BIT);
    /// Low-latency Reed-Solomon FEC (25G/50G Ethernet Consortium).
    pub const LLRS: Self = Self(1 << bindings::ethtool_fec_config_bits_ETHTOOL_FEC_LLRS_BIT);
    /// The empty set: as an active mode, none (the link is down).
    pub const EMPTY: Self = Self(0);
}

/// FEC configuration (`struct ethtool_fecparam`): filled by [`Operations::get_fecparam`], read
/// by [`Operations::set_fecparam`].
#[repr(transparent)]
pub struct FecParam(bindings::ethtool_fecparam);

impl FecParam {
    /// The configured modes; in a set request, the modes asked for, never empty (the core
    /// refuses an empty request).
    pub fn configured(&self) -> FecModes {
        FecModes(self.0.fec)
    }

    /// Sets the configured modes.
    pub fn set_configured(&mut self, modes: FecModes) {
        self.0.fec = modes.0;
    }

    /// Sets the mode the link runs: one mode, or [`FecModes::EMPTY`] if none (the link is
    /// down).
    pub fn set_active(&mut self, mode: FecModes) {
        self.0.active_fec = mode.0;
    }
}

/// Why the link is down (`enum ethtool_link_ext_state` and its substate), for
/// [`Operations::get_link_ext_state`]; `ethtool DEV` prints it after "Link detected: no".
/// A state without a substate says no more than the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkExtState {
    /// Autonegotiation (or its absence) keeps the link down.
    Autoneg(Option<AutonegSubstate>),
    /// Link training failed.
    LinkTrainingFailure(Option<LinkTrainingSubstate>),
    /// The ends disagree at the PCS or FEC level.
    LinkLogicalMismatch(Option<LogicalMismatchSubstate>),
    /// The signal is bad.
    BadSignalIntegrity(Option<SignalIntegritySubstate>),
    /// No cable is plugged in.
    NoCable,
    /// The cable is not right.
    CableIssue(Option<CableIssueSubstate>),
    /// The module's EEPROM cannot be read.
    EepromIssue,
    /// Calibration failed.
    CalibrationFailure,
    /// The module needs more power than the port can give.
    PowerBudgetExceeded,
    /// The module or port is too hot.
    Overheat,
    /// The module is not ready.
    Module(Option<ModuleSubstate>),
}

/// Declares a substate enum whose variants are the bindings' constants of a C enum.
macro_rules! substate {
    ($(#[$attr:meta])* $name:ident { $($(#[$vattr:meta])* $variant:ident = $value:ident,)* }) => {
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vattr])* $variant = bindings::$value,)*
        }
    };
}

substate! {
    /// Substates of [`LinkExtState::Autoneg`].
    AutonegSubstate {
        /// No partner answers autonegotiation.
        NoPartnerDetected = ethtool_link_ext_substate_autoneg_ETHTOOL_LINK_EXT_SUBSTATE_AN_NO_PARTNER_DETECTED,
        /// The partner did not acknowledge.
        AckNotReceived = ethtool_link_ext_substate_autoneg_ETHTOOL_LINK_EXT_SUBSTATE_AN_ACK_NOT_RECEIVED,
        /// The next page exchange failed.
        NextPageExchangeFailed = ethtool_link_ext_substate_autoneg_ETHTOOL_LINK_EXT_SUBSTATE_AN_NEXT_PAGE_EXCHANGE_FAILED,
        /// No partner found while the speed is forced.
        NoPartnerDetectedForceMode = ethtool_link_ext_substate_autoneg_ETHTOOL_LINK_EXT_SUBSTATE_AN_NO_PARTNER_DETECTED_FORCE_MODE,
        /// The FEC modes the ends were set to (overriding negotiation) differ.
        FecMismatchDuringOverride = ethtool_link_ext_substate_autoneg_ETHTOOL_LINK_EXT_SUBSTATE_AN_FEC_MISMATCH_DURING_OVERRIDE,
        /// No highest common denominator: no speed both ends advertise.
        NoHcd = ethtool_link_ext_substate_autoneg_ETHTOOL_LINK_EXT_SUBSTATE_AN_NO_HCD,
    }
}

substate! {
    /// Substates of [`LinkExtState::LinkTrainingFailure`].
    LinkTrainingSubstate {
        /// Frames were not locked.
        KrFrameLockNotAcquired = ethtool_link_ext_substate_link_training_ETHTOOL_LINK_EXT_SUBSTATE_LT_KR_FRAME_LOCK_NOT_ACQUIRED,
        /// The link inhibit timer expired.
        KrLinkInhibitTimeout = ethtool_link_ext_substate_link_training_ETHTOOL_LINK_EXT_SUBSTATE_LT_KR_LINK_INHIBIT_TIMEOUT,
        /// The partner's receiver never became ready.
        KrLinkPartnerDidNotSetReceiverReady = ethtool_link_ext_substate_link_training_ETHTOOL_LINK_EXT_SUBSTATE_LT_KR_LINK_PARTNER_DID_NOT_SET_RECEIVER_READY,
        /// The partner reports a fault.
        RemoteFault = ethtool_link_ext_substate_link_training_ETHTOOL_LINK_EXT_SUBSTATE_LT_REMOTE_FAULT,
    }
}

substate! {
    /// Substates of [`LinkExtState::LinkLogicalMismatch`].
    LogicalMismatchSubstate {
        /// The PCS did not acquire block lock.
        PcsDidNotAcquireBlockLock = ethtool_link_ext_substate_link_logical_mismatch_ETHTOOL_LINK_EXT_SUBSTATE_LLM_PCS_DID_NOT_ACQUIRE_BLOCK_LOCK,
        /// The PCS did not acquire alignment marker lock.
        PcsDidNotAcquireAmLock = ethtool_link_ext_substate_link_logical_mismatch_ETHTOOL_LINK_EXT_SUBSTATE_LLM_PCS_DID_NOT_ACQUIRE_AM_LOCK,
        /// The PCS did not get align status.
        PcsDidNotGetAlignStatus = ethtool_link_ext_substate_link_logical_mismatch_ETHTOOL_LINK_EXT_SUBSTATE_LLM_PCS_DID_NOT_GET_ALIGN_STATUS,
        /// BASE-R FEC is not locked.
        FcFecIsNotLocked = ethtool_link_ext_substate_link_logical_mismatch_ETHTOOL_LINK_EXT_SUBSTATE_LLM_FC_FEC_IS_NOT_LOCKED,
        /// RS FEC is not locked.
        RsFecIsNotLocked = ethtool_link_ext_substate_link_logical_mismatch_ETHTOOL_LINK_EXT_SUBSTATE_LLM_RS_FEC_IS_NOT_LOCKED,
    }
}

substate! {
    /// Substates of [`LinkExtState::BadSignalIntegrity`].
    SignalIntegritySubstate {
        /// Many physical errors.
        LargeNumberOfPhysicalErrors = ethtool_link_ext_substate_bad_signal_integrity_ETHTOOL_LINK_EXT_SUBSTATE_BSI_LARGE_NUMBER_OF_PHYSICAL_ERRORS,
        /// The rate is not supported.
        UnsupportedRate = ethtool_link_ext_substate_bad_signal_integrity_ETHTOOL_LINK_EXT_SUBSTATE_BSI_UNSUPPORTED_RATE,
        /// The SerDes reference clock is lost.
        SerdesReferenceClockLost = ethtool_link_ext_substate_bad_signal_integrity_ETHTOOL_LINK_EXT_SUBSTATE_BSI_SERDES_REFERENCE_CLOCK_LOST,
        /// The SerDes lost its signal (ALOS).
        SerdesAlos = ethtool_link_ext_substate_bad_signal_integrity_ETHTOOL_LINK_EXT_SUBSTATE_BSI_SERDES_ALOS,
    }
}

substate! {
    /// Substates of [`LinkExtState::CableIssue`].
    CableIssueSubstate {
        /// The cable is not supported.
        UnsupportedCable = ethtool_link_ext_substate_cable_issue_ETHTOOL_LINK_EXT_SUBSTATE_CI_UNSUPPORTED_CABLE,
        /// The cable test failed.
        CableTestFailure = ethtool_link_ext_substate_cable_issue_ETHTOOL_LINK_EXT_SUBSTATE_CI_CABLE_TEST_FAILURE,
    }
}

substate! {
    /// Substates of [`LinkExtState::Module`].
    ModuleSubstate {
        /// The CMIS module is not ready.
        CmisNotReady = ethtool_link_ext_substate_module_ETHTOOL_LINK_EXT_SUBSTATE_MODULE_CMIS_NOT_READY,
    }
}

impl LinkExtState {
    /// The C state and substate (0 for none).
    fn to_raw(self) -> (bindings::ethtool_link_ext_state, u32) {
        use LinkExtState::*;
        let sub = |s: Option<u32>| s.unwrap_or(0);
        match self {
            Autoneg(s) => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_AUTONEG,
                sub(s.map(|s| s as u32)),
            ),
            LinkTrainingFailure(s) => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_LINK_TRAINING_FAILURE,
                sub(s.map(|s| s as u32)),
            ),
            LinkLogicalMismatch(s) => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_LINK_LOGICAL_MISMATCH,
                sub(s.map(|s| s as u32)),
            ),
            BadSignalIntegrity(s) => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_BAD_SIGNAL_INTEGRITY,
                sub(s.map(|s| s as u32)),
            ),
            NoCable => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_NO_CABLE,
                0,
            ),
            CableIssue(s) => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_CABLE_ISSUE,
                sub(s.map(|s| s as u32)),
            ),
            EepromIssue => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_EEPROM_ISSUE,
                0,
            ),
            CalibrationFailure => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_CALIBRATION_FAILURE,
                0,
            ),
            PowerBudgetExceeded => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_POWER_BUDGET_EXCEEDED,
                0,
            ),
            Overheat => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_OVERHEAT,
                0,
            ),
            Module(s) => (
                bindings::ethtool_link_ext_state_ETHTOOL_LINK_EXT_STATE_MODULE,
                sub(s.map(|s| s as u32)),
            ),
        }
    }
}

impl<T: Operations> Table<T> {
    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `ks` is valid and exclusive for the call, `LinkSettings` a transparent
            // wrapper; see `Table::dev`.
            unsafe { T::get_link_ksettings(Self::dev(dev), &mut *ks.cast::<LinkSettings>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn set_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *const bindings::ethtool_link_ksettings,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `ks` is valid for the call, `LinkSettings` a transparent wrapper; see
            // `Table::dev`.
            unsafe { T::set_link_ksettings(Self::dev(dev), &*ks.cast::<LinkSettings>()) }
                .map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_pauseparam(
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
    pub(super) unsafe extern "C" fn set_pauseparam(
        dev: *mut bindings::net_device,
        pause: *mut bindings::ethtool_pauseparam,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `pause` is valid for the call, `PauseParam` a transparent wrapper; see
            // `Table::dev`.
            unsafe { T::set_pauseparam(Self::dev(dev), &*pause.cast::<PauseParam>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_fecparam(
        dev: *mut bindings::net_device,
        fec: *mut bindings::ethtool_fecparam,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `fec` is valid and exclusive for the call, `FecParam` a transparent wrapper;
            // see `Table::dev`.
            unsafe { T::get_fecparam(Self::dev(dev), &mut *fec.cast::<FecParam>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn set_fecparam(
        dev: *mut bindings::net_device,
        fec: *mut bindings::ethtool_fecparam,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `fec` is valid for the call, `FecParam` a transparent wrapper; see
            // `Table::dev`.
            unsafe { T::set_fecparam(Self::dev(dev), &*fec.cast::<FecParam>()) }.map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Only for the ethtool core, as the callback of the same name: see `Table::dev`; the other
    /// pointers are the core's arguments, valid for the call.
    pub(super) unsafe extern "C" fn get_link_ext_state(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_link_ext_state_info,
    ) -> c_int {
        from_result(|| {
            // SAFETY: See `Table::dev`.
            let (state, substate) = T::get_link_ext_state(unsafe { Self::dev(dev) })?.to_raw();
            // SAFETY: `info` is valid and exclusive for the call. Every substate enum of the
            // union is a `u32`-sized C enum, so writing the `u32` member sets the substate
            // whichever the state.
            unsafe {
                (*info).link_ext_state = state;
                (*info).__bindgen_anon_1.__link_ext_substate = substate;
            }
            Ok(0)
        })
    }
}
