// SPDX-License-Identifier: GPL-2.0

//! A real GAUDI's ASIC functions: its PCI ID is in the driver's table, as in mainline's, but
//! this driver cannot bring one up. GAUDI boots from firmware that the driver loads and then
//! talks to through the CPU-CP protocol (its device CPU's queue); neither exists here, so
//! early init refuses the device, with a line in the log, before touching it. Its queues,
//! interrupts and reset would be implemented here, behind the same [`AsicFuncs`], without
//! touching the common code.

use kernel::{device, pci, prelude::*};

use super::{AsicFuncs, Early, Line};
use crate::{control::Control, hw::Hw};

/// Habana Labs' PCI vendor ID (`PCI_VENDOR_ID_HABANALABS`).
pub(crate) const VENDOR: u16 = 0x1da3;
/// GAUDI's PCI device ID (mainline's `PCI_IDS_GAUDI`).
pub(crate) const DEVICE: u16 = 0x1000;

/// A real GAUDI.
pub(crate) struct Gaudi;

impl AsicFuncs for Gaudi {
    fn name(&self) -> &'static str {
        "GAUDI"
    }

    fn early_init(&'static self, pdev: &pci::Device<device::Core>) -> Result<Early> {
        dev_err!(
            pdev,
            "GAUDI {:04x}:{:04x}: not supported, this driver has no firmware or CPU-CP loader\n",
            VENDOR,
            DEVICE
        );
        Err(EOPNOTSUPP)
    }

    // Never called: early init refuses every GAUDI.
    fn hw_reset(&self, _control: &Control) -> Result {
        Err(EOPNOTSUPP)
    }

    fn vector(&self, _line: Line) -> Result<u16> {
        Err(EOPNOTSUPP)
    }

    fn ring(&self, _hw: &Hw, _line: Line) -> Result {
        Err(EOPNOTSUPP)
    }
}
