// SPDX-License-Identifier: GPL-2.0

//! `HL_IOCTL_INFO`: what the device is and how it is doing. Allowed on both nodes.

use kernel::{prelude::*, uaccess::UserSlice, uapi};

use crate::{
    device::HlDevice,
    marshal::{as_bytes, Arg, UapiOut},
    regs::{self, QMAN_ENGINE},
};

/// Copies `value` to the caller's buffer, at most `return_size` bytes of it.
fn reply<T: UapiOut>(args: &uapi::hl_info_args, value: &T) -> Result {
    if args.return_size == 0 {
        return Err(EINVAL);
    }
    let bytes = as_bytes(value);
    let len = bytes.len().min(args.return_size as usize);
    UserSlice::new(args.return_pointer as usize, len)
        .writer()
        .write_slice(&bytes[..len])
}

fn card_name() -> [u8; 32] {
    let mut name = [0u8; 32];
    let text = b"GAUDI-sim";
    name[..text.len()].copy_from_slice(text);
    name
}

pub(crate) fn info(dev: &HlDevice, args: Arg<'_, uapi::hl_info_args>) -> Result<()> {
    let id = dev.identity();
    match args.op {
        uapi::HL_INFO_HW_IP_INFO => {
            let mask = |kind| {
                dev.queues()
                    .iter()
                    .filter(|q| q.engine.kind() == kind)
                    .fold(0u32, |m, q| m | 1 << q.engine.index())
            };
            let mut info = uapi::hl_info_hw_ip_info {
                serial: id.serial,
                dram_base_address: regs::DRAM_ADDR_BASE,
                dram_size: id.dram_size,
                device_id: u32::from(id.chip.chip()),
                revision: u32::from(id.chip.revision()),
                model_version: id.version.into(),
                queue_count: id.num_queues as u32,
                dma_enabled_mask: mask(QMAN_ENGINE::DMA),
                tpc_enabled_mask: mask(QMAN_ENGINE::TPC),
                port_mask: id.port_mask,
                nic_conns_per_port: id.rdma.map_or(0, |r| r.conns),
                nic_cqs_per_port: id.rdma.map_or(0, |r| r.cqs),
                ..Default::default()
            };
            for (dst, src) in info.card_name.iter_mut().zip(card_name()) {
                *dst = src as _;
            }
            reply(&args, &info)
        }
        uapi::HL_INFO_HW_EVENTS => {
            let (count, lost) = dev.eq().counts();
            reply(&args, &uapi::hl_info_hw_events { count, lost })
        }
        uapi::HL_INFO_DRAM_USAGE => {
            let dram = dev.dram();
            let free = dram.available();
            let usage = uapi::hl_info_dram_usage {
                dram_free_mem: free,
                ctx_dram_mem: dram.size() - free,
            };
            reply(&args, &usage)
        }
        uapi::HL_INFO_DEVICE_STATUS => {
            let status = if dev.hw().regs().is_ok() {
                uapi::HL_DEVICE_STATUS_OPERATIONAL
            } else {
                uapi::HL_DEVICE_STATUS_MALFUNCTION
            };
            reply(&args, &uapi::hl_info_device_status { status, pad: 0 })
        }
        uapi::HL_INFO_CLK_RATE => {
            let clk = uapi::hl_info_clk_rate {
                cur_clk_rate_mhz: id.clk_cur_mhz,
                max_clk_rate_mhz: id.clk_max_mhz,
            };
            reply(&args, &clk)
        }
        uapi::HL_INFO_MAC_ADDR => {
            let mut mac = uapi::hl_info_mac_addr {
                port_mask: u64::from(id.port_mask),
                ..Default::default()
            };
            for (dst, src) in mac.addr.iter_mut().zip(id.macs.iter()) {
                dst[..6].copy_from_slice(src);
            }
            reply(&args, &mac)
        }
        _ => Err(EINVAL),
    }
}
