// SPDX-License-Identifier: GPL-2.0

//! The device unbinds under an open compute node that has a command buffer
//! mapped, host memory mapped and a submission hung on an engine.

use std::fs;
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Duration;

use hlsim_regs::FAULT_MAILBOX_HANG;
use hlsim_regs::model_ctl::FAULTS;
use hlthunk::{CsStatus, Device, HostBuffer, Packet, Queue};

use crate::Env;
use crate::model::{Bar2, EngineHang};
use crate::util::{R, Tap, cb_of, ensure, expect_errno, poll_in, run_ok};

const DRIVER: &str = "/sys/bus/pci/drivers/habanalabs";

fn sysfs(file: &str, bdf: &str) -> R {
    fs::write(format!("{DRIVER}/{file}"), bdf)
        .map_err(|e| crate::util::Fail(format!("{file} {bdf}: {e}")))
}

/// The hung submission ends as aborted: the driver stopped the device.
fn aborted(dev: &Device, seq: u64) -> R {
    let status = dev.wait_cs(seq, Duration::from_secs(1))?;
    ensure!(status == CsStatus::Aborted, "{status}");
    Ok(())
}

/// A close that cannot reset a CQ (the mailbox hangs) leaves RDMA refused
/// with `EIO`, as the device may still write the CQ's ring; compute goes on.
fn reset_fails_at_close(env: &Env, bar: &Bar2) -> R {
    let dev = env.open()?;
    dev.cq_create(0, 2)?;
    bar.write(FAULTS, bar.read(FAULTS) | FAULT_MAILBOX_HANG);
    drop(dev);
    bar.write(FAULTS, bar.read(FAULTS) & !FAULT_MAILBOX_HANG);
    let dev = env.open()?;
    expect_errno(dev.cq_create(0, 2).map(drop), &[libc::EIO])?;
    expect_errno(dev.alloc_conn(0).map(drop), &[libc::EIO])?;
    let cb = cb_of(&dev, &[Packet::nop()])?;
    run_ok(&dev, &[cb.job(Queue::Dma0)])
}

pub fn unbind(t: &mut Tap, env: &Env) {
    let mut host = match HostBuffer::new(4096) {
        Ok(h) => h,
        Err(e) => return t.check("unbind: host memory", Err(e.into())),
    };
    let bar = match env.bar2() {
        Ok(b) => b,
        Err(e) => return t.check("unbind: map BAR2", Err(e)),
    };
    t.check(
        "unbind: a CQ that fails to reset at close leaves RDMA refused (EIO); compute goes on",
        reset_fails_at_close(env, bar),
    );
    let dev = match env.open() {
        Ok(d) => d,
        Err(e) => return t.check("unbind: open", Err(e)),
    };
    let bdf = match dev.pci_bus_id() {
        Ok(b) => b,
        Err(e) => return t.check("unbind: PCI address", Err(e.into())),
    };
    let mut cb = match cb_of(&dev, &[Packet::nop()]) {
        Ok(cb) => cb,
        Err(e) => return t.check("unbind: command buffer", Err(e)),
    };
    // SAFETY: `host` outlives the mapping: the device node, which unmaps
    // everything, closes first.
    if let Err(e) = unsafe { dev.map_host_ptr(host.as_mut_ptr(), 4096) } {
        return t.check("unbind: map host memory", Err(e.into()));
    }
    let hang = EngineHang::new(bar, 1 << Queue::Dma0.qman());
    let seq = match dev.submit_timeout(&[cb.job(Queue::Dma0)], Duration::from_secs(30)) {
        Ok(seq) => seq,
        Err(e) => return t.check("unbind: submit", Err(e.into())),
    };

    // A poller asleep on the node wakes up to an error and a hang-up.
    let fd = dev.as_raw_fd();
    let (unbound, polled) = thread::scope(|s| {
        let poller = s.spawn(|| poll_in(fd, Duration::from_secs(30)));
        thread::sleep(Duration::from_millis(200));
        let unbound = sysfs("unbind", &bdf);
        let polled = poller
            .join()
            .unwrap_or_else(|_| Err("the poller panicked".into()));
        (unbound, polled)
    });
    t.check("unbind: the device unbinds under an open node", unbound);
    t.check(
        "unbind: a poller of the node wakes up with POLLERR | POLLHUP",
        polled.and_then(|ev| {
            ensure!(
                ev & (libc::POLLERR | libc::POLLHUP) == libc::POLLERR | libc::POLLHUP,
                "{ev:#x}"
            );
            Ok(())
        }),
    );
    t.check(
        "unbind: the hung submission ends as aborted",
        aborted(&dev, seq),
    );
    t.check(
        "unbind: submissions and allocations fail with ENODEV",
        expect_errno(dev.submit(&[cb.job(Queue::Dma1)]), &[libc::ENODEV])
            .and_then(|()| expect_errno(dev.command_buffer(4096).map(drop), &[libc::ENODEV])),
    );
    // Still mapped: writing it must neither fault nor touch freed memory.
    cb.as_mut_slice().fill(0);
    t.check("unbind: the command buffer mapping stays usable", Ok(()));
    drop(hang);
    drop(cb);
    drop(dev);
    t.check("unbind: the device binds again", sysfs("bind", &bdf));
    t.check(
        "unbind: and runs jobs, and RDMA is allowed again",
        env.open().and_then(|dev| {
            let cb = cb_of(&dev, &[Packet::nop()])?;
            run_ok(&dev, &[cb.job(Queue::Dma0)])?;
            dev.completion_queue(0, 2)?;
            Ok(())
        }),
    );
}
