// SPDX-License-Identifier: GPL-2.0

//! The sysfs attributes of `/sys/class/habanalabs/hlN`, as mainline's habanalabs names them
//! (`Documentation/ABI/testing/sysfs-driver-habanalabs` of this tree): what hl-thunk and
//! operators read to find and identify a device. The control node has none, as on mainline.

use core::fmt::Write;
use kernel::{
    c_str,
    chrdev::{AttrBuf, Attributes},
    prelude::*,
    sync::Arc,
    uapi,
};

use crate::{
    device::HlDevice,
    file::{ComputeNode, ControlNode},
    info,
    regs::{CLK_CUR_MHZ, CLK_MAX_MHZ},
};

/// The attributes of the compute node's device, in `show`'s numbering.
const NAMES: &[&CStr] = &[
    c_str!("pci_addr"),
    c_str!("parent_device"),
    c_str!("device_type"),
    c_str!("status"),
    c_str!("soft_reset_cnt"),
    c_str!("hard_reset_cnt"),
    c_str!("clk_max_freq_mhz"),
    c_str!("clk_cur_freq_mhz"),
    c_str!("cpucp_ver"),
    c_str!("armcp_ver"),
    c_str!("security_enabled"),
];

impl Attributes for ComputeNode {
    const NAMES: &'static [&'static CStr] = NAMES;

    fn show(dev: &Arc<HlDevice>, index: usize, buf: &mut AttrBuf<'_>) -> Result {
        let name = dev.pdev().as_ref().name();
        let stats = dev.stats();
        match NAMES.get(index).map(|n| n.as_bytes()) {
            Some(b"pci_addr" | b"parent_device") => writeln!(buf, "{}", name),
            Some(b"device_type") => writeln!(buf, "GAUDI"),
            Some(b"status") => {
                // Mainline's words, capitalised as it shows them here.
                let status = match info::device_status(dev) {
                    uapi::hl_device_status_HL_DEVICE_STATUS_OPERATIONAL => "Operational",
                    uapi::hl_device_status_HL_DEVICE_STATUS_IN_RESET => "In reset",
                    _ => "Disabled",
                };
                writeln!(buf, "{}", status)
            }
            Some(b"soft_reset_cnt") => writeln!(buf, "{}", stats.soft_resets()),
            Some(b"hard_reset_cnt") => writeln!(buf, "{}", dev.reset().hard_resets()),
            Some(b"clk_max_freq_mhz") => {
                let regs = dev.hw().regs()?;
                writeln!(buf, "{}", u32::from(CLK_MAX_MHZ::read(&regs)))
            }
            Some(b"clk_cur_freq_mhz") => {
                let regs = dev.hw().regs()?;
                writeln!(buf, "{}", u32::from(CLK_CUR_MHZ::read(&regs)))
            }
            Some(b"cpucp_ver" | b"armcp_ver") => {
                writeln!(buf, "{}", info::firmware_version(dev)?.to_str()?)
            }
            Some(b"security_enabled") => writeln!(buf, "0"),
            _ => return Err(EIO),
        }
        .map_err(|_| ENOSPC)
    }
}

impl Attributes for ControlNode {}
