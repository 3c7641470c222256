// SPDX-License-Identifier: GPL-2.0

//! `HL_IOCTL_INFO`: what the device is and how it is doing, as mainline answers for GAUDI.
//! Allowed on both nodes; the control node has no context, so the context's figures are 0
//! there and the opcodes of a context's events are `EOPNOTSUPP`.
//!
//! Every answer is copied to `return_pointer`, at most `return_size` bytes of it; a size or
//! pointer of 0 is `EINVAL`. The values are read from the device (its identity, clock and
//! sensors blocks) or counted by the driver when asked; what the device model has no sensor
//! for is `EOPNOTSUPP`.

use kernel::{prelude::*, str::CString, time::Ktime, uaccess::UserSlice, uapi};

use crate::{
    device::HlDevice,
    events::{cause, GAUDI_EVENT_SIZE},
    ioctl::Node,
    mailbox::Command,
    marshal::{as_bytes, zeroed, Arg, UapiOut},
    memory::DRAM_PAGE_SIZE,
    regs::{
        self, CLK_CUR_MHZ, CLK_MAX_MHZ, ENERGY, PCIE_REPLAY_CNT, PCIE_RX_BYTES, PCIE_TX_BYTES, PLL,
        POWER, POWER_MAX, QMAN_ENGINE, TIMESTAMP,
    },
};

/// The name of the card (`card_name`).
const CARD_NAME: &[u8] = b"GAUDI-sim";

/// The largest answer of `HL_INFO_ENGINE_STATUS` (`HL_ENGINES_DATA_MAX_SIZE`), and the
/// smallest buffer it takes.
const ENGINES_DATA_MAX: u32 = 1 << 20;
const ENGINES_DATA_MIN: u32 = 1 << 10;

/// GAUDI's engine id (`enum gaudi_engine_id`) of a queue's engine.
fn engine_id(engine: QMAN_ENGINE) -> Option<u32> {
    let index = engine.index();
    match engine.kind() {
        QMAN_ENGINE::DMA => Some(uapi::gaudi_engine_id_GAUDI_ENGINE_ID_DMA_0 + u32::from(index)),
        QMAN_ENGINE::TPC => Some(uapi::gaudi_engine_id_GAUDI_ENGINE_ID_TPC_0 + u32::from(index)),
        QMAN_ENGINE::NIC => Some(uapi::gaudi_engine_id_GAUDI_ENGINE_ID_NIC_0 + u32::from(index)),
        // GAUDI's MME 0 and 1 queues feed its master MMEs, engine ids MME_0 and MME_2.
        QMAN_ENGINE::MME => {
            Some(uapi::gaudi_engine_id_GAUDI_ENGINE_ID_MME_0 + 2 * u32::from(index))
        }
        _ => None,
    }
}

/// GAUDI's engine id of the engine of queue `queue`.
fn queue_engine(dev: &HlDevice, queue: u32) -> Option<u32> {
    engine_id(dev.queues().get(queue as usize)?.engine)
}

/// The engine's name in `HL_INFO_ENGINE_STATUS`.
fn engine_name(engine: QMAN_ENGINE) -> &'static str {
    match engine.kind() {
        QMAN_ENGINE::DMA => "DMA",
        QMAN_ENGINE::TPC => "TPC",
        QMAN_ENGINE::NIC => "NIC",
        QMAN_ENGINE::MME => "MME",
        _ => "?",
    }
}

/// The buffer an answer goes to: `EINVAL` without one.
fn out(args: &uapi::hl_info_args) -> Result<UserSlice> {
    if args.return_size == 0 || args.return_pointer == 0 {
        return Err(EINVAL);
    }
    Ok(UserSlice::new(
        args.return_pointer as usize,
        args.return_size as usize,
    ))
}

/// Copies `bytes` to the caller's buffer, at most `return_size` of them.
fn reply_bytes(args: &uapi::hl_info_args, bytes: &[u8]) -> Result {
    let len = bytes.len().min(args.return_size as usize);
    out(args)?.writer().write_slice(&bytes[..len])
}

fn reply<T: UapiOut>(args: &uapi::hl_info_args, value: &T) -> Result {
    reply_bytes(args, as_bytes(value))
}

/// Copies `text` into `dst`, NUL-terminated (cut short if need be).
fn set_text(dst: &mut [u8], text: &[u8]) {
    let len = text.len().min(dst.len() - 1);
    dst[..len].copy_from_slice(&text[..len]);
}

/// The firmware's version (`cpucp_version`): the device model's, as it has no firmware.
pub(crate) fn firmware_version(dev: &HlDevice) -> Result<CString> {
    let id = dev.identity();
    CString::try_from_fmt(kernel::fmt!(
        "hlsim {}.{} rev {}",
        id.version.major(),
        id.version.minor(),
        id.chip.revision()
    ))
}

/// The power GAUDI draws idle (its `dc_power_default`), in milliwatts: utilization is the
/// share of the range from there to the power limit.
const DC_POWER_MW: u64 = 60_000;

/// `HL_INFO_POWER`'s power and the limit, in milliwatts.
fn power_mw(dev: &HlDevice) -> Result<(u64, u64)> {
    let regs = dev.hw().regs()?;
    let mw = |uw: u32| u64::from(uw) / 1000;
    Ok((
        mw(POWER::read(&regs).into()),
        mw(POWER_MAX::read(&regs).into()),
    ))
}

/// `HL_INFO_DEVICE_UTILIZATION`, as mainline derives it from power: the share, in percent,
/// of the way from idle power to the limit.
fn utilization(dev: &HlDevice) -> Result<u32> {
    let (power, max) = power_mw(dev)?;
    if max <= DC_POWER_MW {
        return Err(EOPNOTSUPP);
    }
    let used = power.clamp(DC_POWER_MW, max) - DC_POWER_MW;
    Ok((used * 100 / (max - DC_POWER_MW)) as u32)
}

/// `HL_INFO_DEVICE_STATUS`: gone or disabled (a hard reset failed), in a hard reset or
/// resetting its queues, or working.
pub(crate) fn device_status(dev: &HlDevice) -> u32 {
    use crate::reset::State;
    let state = dev.reset().state();
    if dev.hw().regs().is_err() || matches!(state, State::Dead | State::Gone) {
        uapi::hl_device_status_HL_DEVICE_STATUS_MALFUNCTION
    } else if state == State::InReset || dev.queues().resetting() {
        uapi::hl_device_status_HL_DEVICE_STATUS_IN_RESET
    } else {
        uapi::hl_device_status_HL_DEVICE_STATUS_OPERATIONAL
    }
}

fn hw_ip_info(dev: &HlDevice) -> Result<uapi::hl_info_hw_ip_info> {
    let id = dev.identity();
    let mask = |kind| {
        dev.queues()
            .iter()
            .filter(|q| q.engine.kind() == kind)
            .fold(0u64, |m, q| m | 1 << q.engine.index())
    };
    let tpc = mask(QMAN_ENGINE::TPC);
    let mut info: uapi::hl_info_hw_ip_info = zeroed();
    // The SRAM past what GAUDI's driver keeps for itself, as mainline reports it.
    let sram_kmd = u64::from(uapi::GAUDI_DRIVER_SRAM_RESERVED_SIZE_FROM_START);
    info.sram_base_address = regs::SRAM_ADDR_BASE + sram_kmd;
    info.sram_size = (regs::SRAM_SIZE - sram_kmd) as u32;
    // No DRAM virtual memory: the user's part of DRAM at its device address, in whole pages.
    info.dram_base_address = regs::DRAM_ADDR_BASE;
    info.dram_size = dev.dram().capacity();
    info.num_of_events = GAUDI_EVENT_SIZE as u32;
    info.device_id = u32::from(id.chip.chip());
    info.tpc_enabled_mask = tpc as u8;
    info.tpc_enabled_mask_ext = tpc;
    info.dram_enabled = 1;
    info.dram_page_size = DRAM_PAGE_SIZE;
    info.device_mem_alloc_default_page_size = DRAM_PAGE_SIZE;
    info.server_type = uapi::hl_server_type_HL_SERVER_TYPE_UNKNOWN as u16;
    set_text(&mut info.cpucp_version, firmware_version(dev)?.as_bytes());
    set_text(&mut info.card_name, CARD_NAME);
    Ok(info)
}

/// The shortest window `HL_INFO_PCI_COUNTERS` measures throughput over: GAUDI's firmware's.
const PCIE_WINDOW_MIN_NS: u64 = 10_000_000;

/// A reading of the device's PCIe traffic counters and the host's monotonic clock when it was
/// taken. The window is timed by the host: the model's `TIMESTAMP` is a store its timer thread
/// makes every millisecond, and can be tens of milliseconds stale on a loaded host.
#[derive(Clone, Copy, Default)]
pub(crate) struct PcieSample {
    /// Host monotonic time, nanoseconds.
    time: u64,
    /// `PCIE_RX_BYTES`, `PCIE_TX_BYTES`.
    rx: u64,
    tx: u64,
}

/// KB/s of `bytes` moved in `ns` nanoseconds, a window of at least [`PCIE_WINDOW_MIN_NS`].
fn kbps(bytes: u64, ns: u64) -> u64 {
    let us = ns.max(PCIE_WINDOW_MIN_NS) / 1000;
    (bytes / 1024).saturating_mul(1_000_000) / us
}

/// `HL_INFO_PCI_COUNTERS`: the throughput of the DMA engines' traffic to (`rx`) and from
/// (`tx`) host memory, in KB/s over the window since the previous query (the first: since
/// boot), at least 10 ms long; and the link's replays.
fn pci_counters(dev: &HlDevice) -> Result<uapi::hl_info_pci_counters> {
    let mut last = dev.pcie().lock();
    let (now, replay_cnt) = {
        let regs = dev.hw().regs()?;
        let now = PcieSample {
            time: crate::stats::now_ns() as u64,
            rx: PCIE_RX_BYTES::read(&regs).into(),
            tx: PCIE_TX_BYTES::read(&regs).into(),
        };
        (now, u32::from(PCIE_REPLAY_CNT::read(&regs)))
    };
    // A reset of the device restarts its counters, after the previous query: every byte
    // counted since then moved in this window.
    let from = if now.rx < last.rx || now.tx < last.tx {
        PcieSample {
            time: last.time,
            ..PcieSample::default()
        }
    } else {
        *last
    };
    let ns = now.time.saturating_sub(from.time);
    *last = now;
    Ok(uapi::hl_info_pci_counters {
        rx_throughput: kbps(now.rx - from.rx, ns),
        tx_throughput: kbps(now.tx - from.tx, ns),
        replay_cnt: replay_cnt.into(),
    })
}

/// `HL_INFO_HW_IDLE`: whether no queue has a job, and GAUDI's engine ids of the busy ones.
fn hw_idle(dev: &HlDevice) -> uapi::hl_info_hw_idle {
    let mut busy = 0u64;
    for q in dev.queues().iter().filter(|q| q.busy()) {
        if let Some(id) = engine_id(q.engine) {
            busy |= 1 << id;
        }
    }
    uapi::hl_info_hw_idle {
        is_idle: (busy == 0).into(),
        busy_engines_mask: busy as u32,
        busy_engines_mask_ext: [busy, 0],
    }
}

/// `HL_INFO_ENGINE_STATUS`: a line per engine; returns the text.
fn engine_status(dev: &HlDevice) -> Result<KVec<u8>> {
    let mut text = KVec::new();
    let mut line = CString::try_from_fmt(kernel::fmt!("engine  queue  is_idle  jobs\n"))?;
    for q in dev.queues().iter() {
        text.extend_from_slice(line.as_bytes(), GFP_KERNEL)?;
        let jobs = q.jobs();
        line = CString::try_from_fmt(kernel::fmt!(
            "{}{:<5} {:<6} {:<8} {}\n",
            engine_name(q.engine),
            q.engine.index(),
            q.index,
            if jobs == 0 { "Y" } else { "N" },
            jobs
        ))?;
    }
    text.extend_from_slice(line.as_bytes(), GFP_KERNEL)?;
    Ok(text)
}

/// `HL_INFO_MAC_ADDR` (the 2020 NIC series): each port's address.
fn mac_addr(dev: &HlDevice) -> uapi::hl_info_mac_addr {
    let id = dev.identity();
    let mut mac: uapi::hl_info_mac_addr = zeroed();
    mac.mask[0] = u64::from(id.port_mask);
    for (dst, src) in mac.array.iter_mut().zip(id.macs.iter()) {
        dst.addr = *src;
    }
    mac
}

/// Runs `HL_IOCTL_INFO`; `answer` is the argument as copied back (`ENGINE_STATUS` sets the
/// size of its text there).
pub(crate) fn info(
    node: &Node<'_>,
    args: Arg<'_, uapi::hl_info_args>,
    answer: &mut uapi::hl_info_args,
) -> Result {
    *answer = *args;
    let union = core::mem::offset_of!(uapi::hl_info_args, __bindgen_anon_1);
    let input: u32 = args.read(union)?;
    if args.pad != 0 {
        return Err(EINVAL);
    }
    let dev = node.device();
    let compute = match node {
        Node::Compute(file) => Some(*file),
        Node::Control(_) => None,
    };
    let stats = dev.stats();
    match args.op {
        uapi::HL_INFO_HW_IP_INFO => reply(&args, &hw_ip_info(dev)?),
        uapi::HL_INFO_HW_EVENTS | uapi::HL_INFO_HW_EVENTS_AGGREGATE => {
            out(&args)?;
            // No reset clears the counts: the aggregate is the same.
            let mut bytes = KVec::with_capacity(4 * GAUDI_EVENT_SIZE, GFP_KERNEL)?;
            for count in dev.eq().gaudi_events() {
                bytes.extend_from_slice(&count.to_ne_bytes(), GFP_KERNEL)?;
            }
            reply_bytes(&args, &bytes)
        }
        uapi::HL_INFO_DRAM_USAGE => {
            let usage = uapi::hl_info_dram_usage {
                dram_free_mem: dev.dram().available(),
                ctx_dram_mem: compute.map_or(0, |file| file.dram_used()),
            };
            reply(&args, &usage)
        }
        uapi::HL_INFO_HW_IDLE => reply(&args, &hw_idle(dev)),
        uapi::HL_INFO_DEVICE_STATUS => {
            let status = device_status(dev);
            reply(&args, &uapi::hl_info_device_status { status, pad: 0 })
        }
        uapi::HL_INFO_CLK_RATE => {
            let clk = {
                // Not held across the copy to the user, which may sleep.
                let regs = dev.hw().regs()?;
                uapi::hl_info_clk_rate {
                    cur_clk_rate_mhz: CLK_CUR_MHZ::read(&regs).into(),
                    max_clk_rate_mhz: CLK_MAX_MHZ::read(&regs).into(),
                }
            };
            reply(&args, &clk)
        }
        uapi::HL_INFO_RESET_COUNT => {
            let count = uapi::hl_info_reset_count {
                hard_reset_cnt: dev.reset().hard_resets(),
                soft_reset_cnt: stats.soft_resets(),
            };
            reply(&args, &count)
        }
        uapi::HL_INFO_CS_COUNTERS => {
            let total = stats.drops.values();
            let ctx = compute.map_or([0; 6], |f| f.drops().values());
            let c = uapi::hl_info_cs_counters {
                total_out_of_mem_drop_cnt: total[0],
                ctx_out_of_mem_drop_cnt: ctx[0],
                total_parsing_drop_cnt: total[1],
                ctx_parsing_drop_cnt: ctx[1],
                total_queue_full_drop_cnt: total[2],
                ctx_queue_full_drop_cnt: ctx[2],
                total_device_in_reset_drop_cnt: total[3],
                ctx_device_in_reset_drop_cnt: ctx[3],
                total_max_cs_in_flight_drop_cnt: total[4],
                ctx_max_cs_in_flight_drop_cnt: ctx[4],
                total_validation_drop_cnt: total[5],
                ctx_validation_drop_cnt: ctx[5],
            };
            reply(&args, &c)
        }
        // The device model's clock is never throttled.
        uapi::HL_INFO_CLK_THROTTLE_REASON => reply(&args, &uapi::hl_info_clk_throttle::default()),
        uapi::HL_INFO_SYNC_MANAGER => {
            out(&args)?;
            if input > uapi::gaudi_dcores_HL_GAUDI_ES_DCORE {
                return Err(EINVAL);
            }
            // The driver keeps no sync object, monitor or CQ of the device model's for itself.
            reply(&args, &uapi::hl_info_sync_manager::default())
        }
        uapi::HL_INFO_OPEN_STATS => reply(
            &args,
            &stats.open_stats(dev.compute_open(), dev.releaser().pending()),
        ),
        uapi::HL_INFO_LAST_ERR_OPEN_DEV_TIME => {
            let t = uapi::hl_info_last_err_open_dev_time {
                timestamp: stats.last_err_open(),
            };
            reply(&args, &t)
        }
        uapi::HL_INFO_CS_TIMEOUT_EVENT => reply(&args, &stats.cs_timeout()),
        // All zero until the first since the compute node was opened.
        uapi::HL_INFO_RAZWI_EVENT => {
            let mut razwi = uapi::hl_info_razwi_event::default();
            if let Some((ns, cause, queue, addr)) = stats.razwi.get() {
                razwi.timestamp = ns;
                razwi.addr = addr;
                match queue_engine(dev, queue) {
                    Some(id) => razwi.engine_id_1 = id as u16,
                    None => razwi.no_engine_id = 1,
                }
                razwi.engine_id_2 = u16::MAX;
                razwi.error_type = if cause == cause::MMU_FAULT {
                    uapi::HL_RAZWI_PAGE_FAULT
                } else {
                    uapi::HL_RAZWI_MMU_ACCESS_ERROR
                } as u8;
            }
            reply(&args, &razwi)
        }
        uapi::HL_INFO_UNDEFINED_OPCODE_EVENT => {
            let mut undef: uapi::hl_info_undefined_opcode_event = zeroed();
            if let Some((ns, _, queue, _)) = stats.undefined_opcode.get() {
                undef.timestamp = ns;
                undef.engine_id = queue_engine(dev, queue).unwrap_or(u32::MAX);
            }
            reply(&args, &undef)
        }
        // One page size only: an empty mask, as for every ASIC without several.
        uapi::HL_INFO_DEV_MEM_ALLOC_PAGE_SIZES => {
            reply(&args, &uapi::hl_info_dev_memalloc_page_sizes::default())
        }
        uapi::HL_INFO_GET_EVENTS => {
            if compute.is_none() {
                return Err(EOPNOTSUPP);
            }
            if args.return_size < size_of::<u64>() as u32 || args.return_pointer == 0 {
                return Err(EINVAL);
            }
            reply(&args, &stats.take_events())
        }
        uapi::HL_INFO_ENGINE_STATUS => {
            let size = args.return_size;
            if !(ENGINES_DATA_MIN..=ENGINES_DATA_MAX).contains(&size) || args.return_pointer == 0 {
                return Err(EINVAL);
            }
            let text = engine_status(dev)?;
            if text.len() > size as usize {
                return Err(ENOMEM);
            }
            reply_bytes(&args, &text)?;
            // Writing a `u32` member of a union is safe; every member is a `u32`.
            answer.__bindgen_anon_1.user_buffer_actual_size = text.len() as u32;
            Ok(())
        }
        uapi::HL_INFO_MAC_ADDR => reply(&args, &mac_addr(dev)),
        // `eventfd`, the union's member for it.
        uapi::HL_INFO_REGISTER_EVENTFD if compute.is_some() => stats.register_eventfd(input as i32),
        uapi::HL_INFO_UNREGISTER_EVENTFD if compute.is_some() => stats.unregister_eventfd(),
        uapi::HL_INFO_REGISTER_EVENTFD | uapi::HL_INFO_UNREGISTER_EVENTFD => Err(EOPNOTSUPP),
        uapi::HL_INFO_POWER => {
            out(&args)?;
            let power = power_mw(dev)?.0;
            reply(&args, &uapi::hl_power_info { power })
        }
        uapi::HL_INFO_DEVICE_UTILIZATION => {
            out(&args)?;
            let util = uapi::hl_info_device_utilization {
                utilization: utilization(dev)?,
                pad: 0,
            };
            reply(&args, &util)
        }
        uapi::HL_INFO_TOTAL_ENERGY => {
            out(&args)?;
            let total_energy_consumption = {
                let regs = dev.hw().regs()?;
                ENERGY::read(&regs).into()
            };
            reply(
                &args,
                &uapi::hl_info_energy {
                    total_energy_consumption,
                },
            )
        }
        uapi::HL_INFO_TIME_SYNC => {
            out(&args)?;
            let device_time = {
                let regs = dev.hw().regs()?;
                TIMESTAMP::read(&regs).into()
            };
            let sync = uapi::hl_info_time_sync {
                device_time,
                host_time: Ktime::ktime_get_raw().to_ns() as u64,
            };
            reply(&args, &sync)
        }
        uapi::HL_INFO_PLL_FREQUENCY => {
            out(&args)?;
            // `pll_index`, the union's member for it; GAUDI's PLLs only.
            if input >= uapi::hl_gaudi_pll_index_HL_GAUDI_PLL_MAX {
                return Err(EINVAL);
            }
            let pll = {
                let regs = dev.hw().regs()?;
                PLL::try_read_at(&regs, input as usize)?
            };
            let freq = uapi::hl_pll_frequency_info {
                output: [pll.out0(), pll.out1(), pll.out2(), pll.out3()],
            };
            reply(&args, &freq)
        }
        uapi::HL_INFO_PCI_COUNTERS => {
            out(&args)?;
            reply(&args, &pci_counters(dev)?)
        }
        uapi::HL_INFO_DRAM_PENDING_ROWS => {
            out(&args)?;
            // The device answers, as GAUDI's firmware does through CPU-CP: a doorbell and an
            // interrupt with no engine in between, the floor `make bench` times.
            // As mainline, `EBUSY` while the device is not operational.
            if dev.reset().state() != crate::reset::State::Operational {
                return Err(EBUSY);
            }
            let [pending, _] = dev.control().query(Command::DramRows)?;
            reply(&args, &u32::try_from(pending).map_err(|_| EIO)?)
        }
        // The device model has no list of replaced rows and no attestation.
        uapi::HL_INFO_DRAM_REPLACED_ROWS | uapi::HL_INFO_SECURED_ATTESTATION => {
            out(&args)?;
            Err(EOPNOTSUPP)
        }
        _ => Err(EINVAL),
    }
}
