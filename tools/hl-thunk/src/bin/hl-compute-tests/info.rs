// SPDX-License-Identifier: GPL-2.0

//! INFO on both nodes, and what each node allows.

use std::os::fd::AsRawFd;
use std::ptr;
use std::time::Duration;

use hlsim_regs::CHIP_ID_GAUDI_SIM;
use hlsim_regs::identity as id;
use hlthunk::uapi::*;
use hlthunk::{Device, DeviceStatus, HostBuffer, Job, Queue, event};

use crate::Env;
use crate::model::Bar2;
use crate::util::{R, Tap, ensure, expect_errno, poll, raw_ioctl};

/// Every INFO op the device model can answer succeeds.
fn all_ops(dev: &Device) -> R {
    dev.hw_ip_info()?;
    dev.hw_events(false)?;
    dev.hw_events(true)?;
    dev.dram_usage()?;
    dev.hw_idle()?;
    dev.device_status()?;
    dev.clk_rate()?;
    dev.reset_count()?;
    dev.cs_timeout_event()?;
    dev.razwi_event()?;
    dev.undefined_opcode_event()?;
    dev.mac_addrs()?;
    Ok(())
}

fn same_on_both(dev: &Device, ctl: &Device) -> R {
    ensure!(dev.hw_ip_info()? == ctl.hw_ip_info()?, "HW_IP_INFO differs");
    ensure!(dev.clk_rate()? == ctl.clk_rate()?, "CLK_RATE differs");
    ensure!(dev.mac_addrs()? == ctl.mac_addrs()?, "MAC_ADDR differs");
    ensure!(dev.dram_usage()? == ctl.dram_usage()?, "DRAM_USAGE differs");
    Ok(())
}

fn identity(dev: &Device) -> R {
    let hw = dev.hw_ip_info()?;
    ensure!(
        hw.dram_base == HL_DRAM_BASE,
        "dram_base_address {:#x}",
        hw.dram_base
    );
    ensure!(
        hw.device_id == CHIP_ID_GAUDI_SIM & 0xffff,
        "device_id {:#x}",
        hw.device_id
    );
    ensure!(
        hw.num_of_events == event::COUNT,
        "num_of_events {}",
        hw.num_of_events
    );
    ensure!(
        hw.tpc_enabled_mask == 0xff,
        "tpc_enabled_mask {:#x}",
        hw.tpc_enabled_mask
    );
    ensure!(hw.dram_size != 0, "dram_size 0");
    ensure!(!hw.card_name.is_empty(), "empty card_name");
    Ok(())
}

fn identity_vs_model(dev: &Device, bar: &Bar2) -> R {
    let hw = dev.hw_ip_info()?;
    let chip = bar.read(id::CHIP_ID);
    let want = [
        ("dram_size", hw.dram_size, bar.read64(id::DRAM_SIZE_LO)),
        ("device_id", hw.device_id.into(), (chip & 0xffff).into()),
    ];
    for (what, got, want) in want {
        ensure!(
            got == want,
            "{what}: INFO says {got:#x}, the model {want:#x}"
        );
    }
    Ok(())
}

fn clocks_and_macs_vs_model(dev: &Device, bar: &Bar2) -> R {
    let clk = dev.clk_rate()?;
    let (cur, max) = (bar.read(id::CLK_CUR_MHZ), bar.read(id::CLK_MAX_MHZ));
    ensure!(
        (clk.cur_mhz, clk.max_mhz) == (cur, max),
        "clocks {clk:?}, the model {cur}/{max} MHz"
    );
    let macs = dev.mac_addrs()?;
    let mask = bar.read(id::PORT_MASK);
    ensure!(
        macs.port_mask == mask.into(),
        "port_mask {:#x}, the model {mask:#x}",
        macs.port_mask
    );
    let want: Vec<_> = (0..HL_MAX_PORTS)
        .filter(|p| mask & 1 << p != 0)
        .map(|p| (p, bar.mac(p as usize)))
        .collect();
    ensure!(
        macs.ports == want,
        "MACs {:x?}, the model {want:x?}",
        macs.ports
    );
    Ok(())
}

fn status_and_usage(dev: &Device) -> R {
    let status = dev.device_status()?;
    ensure!(status == DeviceStatus::Operational, "status {status}");
    let hw = dev.hw_ip_info()?;
    let usage = dev.dram_usage()?;
    ensure!(
        usage.free <= hw.dram_size,
        "{usage:?} with {} bytes of DRAM",
        hw.dram_size
    );
    ensure!(usage.allocated == 0, "{usage:?} on a fresh open");
    let clk = dev.clk_rate()?;
    ensure!(
        clk.max_mhz != 0 && clk.cur_mhz <= clk.max_mhz,
        "clocks {clk:?}"
    );
    Ok(())
}

/// Bytes of the buffer `hw_ip_into_buffer` fills: more than the struct.
const BUF: usize = size_of::<hl_info_hw_ip_info>() + 64;

/// INFO HW_IP_INFO into a buffer of 0xee with `return_size`: the buffer
/// afterwards.
fn hw_ip_into_buffer(dev: &Device, return_size: u32) -> R<[u8; BUF]> {
    let mut buf = [0xee_u8; BUF];
    let mut args = hl_info_args {
        return_pointer: buf.as_mut_ptr() as u64,
        return_size,
        op: HL_INFO_HW_IP_INFO,
        ..Default::default()
    };
    raw_ioctl(dev, HL_IOCTL_INFO, ptr::from_mut(&mut args).cast())
        .map_err(|e| format!("INFO: {}", crate::util::errno_name(e)))?;
    Ok(buf)
}

/// The first 24 bytes of HW_IP_INFO: the SRAM and DRAM bases, the DRAM size.
fn hw_ip_head(dev: &Device) -> R<Vec<u8>> {
    let hw = dev.hw_ip_info()?;
    Ok([hw.sram_base, hw.dram_base, hw.dram_size]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect())
}

fn return_size_limits(dev: &Device) -> R {
    let head = hw_ip_head(dev)?;
    let buf = hw_ip_into_buffer(dev, 24)?;
    ensure!(
        buf[..24] == head[..],
        "return_size 24: first bytes {:x?}",
        &buf[..24]
    );
    ensure!(
        buf[24..].iter().all(|&b| b == 0xee),
        "return_size 24: bytes past 24 written"
    );
    let size = size_of::<hl_info_hw_ip_info>();
    let buf = hw_ip_into_buffer(dev, BUF as u32)?;
    ensure!(
        buf[..24] == head[..],
        "return_size {BUF}: first bytes {:x?}",
        &buf[..24]
    );
    ensure!(
        buf[size..].iter().all(|&b| b == 0xee),
        "return_size {BUF}: bytes past the {size}-byte struct written"
    );
    Ok(())
}

pub fn info(t: &mut Tap, env: &Env) {
    let (dev, ctl) = match (env.open(), env.open_control()) {
        (Ok(d), Ok(c)) => (d, c),
        (d, c) => return t.check("info: open both nodes", d.and(c).map(drop)),
    };
    t.check("info: every op on the compute node", all_ops(&dev));
    t.check("info: every op on the control node", all_ops(&ctl));
    t.check("info: both nodes report the same", same_on_both(&dev, &ctl));
    t.check("info: identity as the uAPI says", identity(&dev));
    t.check(
        "info: identity as the model's registers say",
        env.bar2().and_then(|bar| identity_vs_model(&dev, bar)),
    );
    t.check(
        "info: clocks and MAC addresses as the model's registers say",
        env.bar2()
            .and_then(|bar| clocks_and_macs_vs_model(&ctl, bar)),
    );
    t.check(
        "info: operational, nothing allocated, sane clocks",
        status_and_usage(&dev),
    );
    t.check(
        "info: return_size bounds what is written, at most the struct",
        return_size_limits(&ctl),
    );
}

fn exclusive_open(env: &Env) -> R {
    let first = env.open()?;
    expect_errno(Device::open(env.index), &[libc::EBUSY])?;
    let controls = (env.open_control()?, env.open_control()?);
    drop(first);
    env.open()?;
    drop(controls);
    Ok(())
}

/// Allocates, creates a CB and maps host memory, closes without cleaning
/// up: the driver must have released everything.
fn close_releases(env: &Env) -> R {
    let ctl = env.open_control()?;
    let before = ctl.dram_usage()?;
    let mut host = HostBuffer::new(1 << 16)?;
    {
        let dev = env.open()?;
        std::mem::forget(dev.device_memory(1 << 20)?);
        dev.cb_create(4096)?;
        // SAFETY: `host` outlives the device node, whose closing unmaps it.
        unsafe { dev.map_host_ptr(host.as_mut_ptr(), host.len() as u64) }?;
        // The control node has no context: its ctx_dram_mem is 0.
        let during = ctl.dram_usage()?;
        ensure!(
            during.free + (1 << 20) <= before.free,
            "after alloc: {during:?}, before: {before:?}"
        );
    }
    let released = poll(Duration::from_secs(2), || Ok(ctl.dram_usage()? == before))?;
    ensure!(
        released,
        "after close: {:?}, before: {before:?}",
        ctl.dram_usage()?
    );
    env.open()?;
    Ok(())
}

fn usage_accounting(env: &Env) -> R {
    let dev = env.open()?;
    let before = dev.dram_usage()?;
    let size = (1 << 20) + 1;
    let mem = dev.device_memory(size)?;
    let during = dev.dram_usage()?;
    // Counted as asked (mainline GAUDI) or in whole pages.
    let counted = [size, (1 << 20) + 4096]
        .into_iter()
        .any(|n| during.allocated == before.allocated + n && during.free + n == before.free);
    ensure!(
        counted,
        "{size} bytes allocated: {during:?}, before: {before:?}"
    );
    mem.free()?;
    let after = dev.dram_usage()?;
    ensure!(after == before, "freed: {after:?}, before: {before:?}");
    Ok(())
}

pub fn nodes(t: &mut Tap, env: &Env) {
    t.check(
        "nodes: compute node exclusive (EBUSY), control node shared",
        exclusive_open(env),
    );
    t.check(
        "nodes: closing the compute node releases everything",
        close_releases(env),
    );
    t.check(
        "nodes: DRAM usage counts allocations",
        usage_accounting(env),
    );
}

/// The control node's refusal of every command but INFO, as mainline's.
const REFUSED: &[i32] = &[libc::ENOTTY];

fn control_refuses(env: &Env) -> R {
    let dev = env.open()?;
    let ctl = env.open_control()?;
    let cb = dev.command_buffer(64)?;
    let job = Job {
        cb_handle: cb.handle(),
        queue: Queue::Dma0,
        size: 8,
    };
    expect_errno(ctl.cb_create(4096), REFUSED).map_err(|e| format!("CB create: {e}"))?;
    expect_errno(ctl.cb_destroy(cb.handle()), REFUSED).map_err(|e| format!("CB destroy: {e}"))?;
    expect_errno(ctl.submit(&[job]), REFUSED).map_err(|e| format!("CS: {e}"))?;
    expect_errno(ctl.wait_cs(1, Duration::ZERO), REFUSED).map_err(|e| format!("WAIT_CS: {e}"))?;
    expect_errno(ctl.alloc(4096), REFUSED).map_err(|e| format!("MEMORY alloc: {e}"))?;
    let mut host = HostBuffer::new(4096)?;
    expect_errno(ctl.map_host(&mut host).map(drop), REFUSED)
        .map_err(|e| format!("MEMORY map host: {e}"))?;
    Ok(())
}

fn control_no_mmap(env: &Env) -> R {
    let dev = env.open()?;
    let ctl = env.open_control()?;
    let cb = dev.command_buffer(4096)?;
    let offset = libc::off_t::try_from(cb.handle()).map_err(|_| "handle is no offset")?;
    // SAFETY: a new mapping where the kernel chooses, unmapped at once if
    // it is made.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            ctl.as_raw_fd(),
            offset,
        )
    };
    if p != libc::MAP_FAILED {
        // SAFETY: the mapping just made.
        unsafe { libc::munmap(p, 4096) };
        return Err("mmap of a CB through the control node succeeded".into());
    }
    Ok(())
}

pub fn control(t: &mut Tap, env: &Env) {
    t.check(
        "control: CB, CS, WAIT_CS and MEMORY refused with ENOTTY",
        control_refuses(env),
    );
    t.check("control: no mmap of command buffers", control_no_mmap(env));
}
