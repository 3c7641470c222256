// SPDX-License-Identifier: GPL-2.0

//! hl-compute-tests: the compute uAPI of habanalabs.ko, through hl-thunk,
//! against the device model. The kselftest compute.sh runs it in the test
//! VM.
//!
//!     hl-compute-tests [-d N] [GROUP...]
//!
//! runs the named groups (default: all) on device N (/dev/hlN, default 0)
//! and prints TAP; the exit status is 0 if every check passed, 1 if not,
//! 2 on a usage error.

mod cb;
mod dma;
mod dmabuf;
mod faults;
mod gaudi;
mod info;
mod ioctls;
#[path = "../common/model.rs"]
mod model;
mod sync;
mod tpc;
mod unbind;
#[path = "../common/util.rs"]
mod util;

use std::process::ExitCode;

use hlthunk::Device;

use util::{Cmdline, Fail, Group, R, Tap};

/// What the tests run against.
pub struct Env {
    /// The device index: /dev/hlN, /dev/hl_controlDN.
    pub index: u32,
    /// The device's BAR2, or why it could not be mapped.
    pub bar2: R<model::Bar2>,
}

impl Env {
    /// Opens the compute node.
    pub fn open(&self) -> R<Device> {
        Ok(Device::open(self.index)?)
    }

    /// Opens the control node.
    pub fn open_control(&self) -> R<Device> {
        Ok(Device::open_control(self.index)?)
    }

    /// BAR2, for the tests that need the model.
    pub fn bar2(&self) -> R<&model::Bar2> {
        self.bar2
            .as_ref()
            .map_err(|e| Fail(format!("no access to the model's BAR2: {e}")))
    }
}

const GROUPS: &[(&str, Group<Env>)] = &[
    ("info", info::info),
    ("nodes", info::nodes),
    ("control", info::control),
    ("cb", cb::cb),
    ("memory", cb::memory),
    ("dma", dma::dma),
    ("packets", dma::packets),
    ("dmabuf", dmabuf::dmabuf),
    ("tpc", tpc::tpc),
    ("fence", sync::fence),
    ("gaudi", gaudi::gaudi),
    ("aborts", faults::aborts),
    ("hang", faults::hang),
    ("ioctls", ioctls::ioctls),
    ("unbind", unbind::unbind),
];

const USAGE: &str = "usage: hl-compute-tests [-d N] [GROUP...]";

fn main() -> ExitCode {
    let cmd = match Cmdline::parse(USAGE, GROUPS, &["-d"]) {
        Ok(cmd) => cmd,
        Err(code) => return code,
    };
    let mut index = 0;
    for (_, value) in &cmd.options {
        match value.parse() {
            Ok(n) => index = n,
            Err(_) => return cmd.usage_error(),
        }
    }

    let mut tap = Tap::default();
    let nodes = [Device::compute_path(index), Device::control_path(index)];
    if let Some(missing) = nodes.iter().find(|n| !n.exists()) {
        tap.check(
            format!("device {index}: its nodes exist"),
            Err(Fail(format!("no {}", missing.display()))),
        );
        tap.finish();
        return ExitCode::FAILURE;
    }
    let bar2 = Device::open_control(index)
        .and_then(|d| d.pci_bus_id())
        .map_err(Fail::from)
        .and_then(|bdf| {
            tap.diag(format!("device {index}: {bdf}"));
            model::Bar2::open(&bdf)
        });
    if let Err(e) = &bar2 {
        tap.diag(format!("model BAR2: {e}"));
    }
    cmd.run(&mut tap, &Env { index, bar2 })
}
