// SPDX-License-Identifier: GPL-2.0

//! hl-rdma-tests: GAUDI-to-GAUDI RDMA of habanalabs.ko, through hl-thunk,
//! between two devices of the model whose port P is wired to each other's.
//! The kselftest rdma.sh runs it in the test VM after bringing port P's
//! Ethernet interface up on both devices.
//!
//!     hl-rdma-tests [-d A,B] [-p PORT] [GROUP...]
//!
//! runs the named groups (default: all) between devices A and B (default
//! 0,1) on port PORT (default 0) and prints TAP; the exit status is 0 if
//! every check passed, 1 if not, 2 on a usage error.

mod allreduce;
mod contexts;
mod cq;
mod errors;
mod info;
mod link;
// model and util are shared with hl-compute-tests, which uses all of them.
#[allow(dead_code)]
#[path = "../common/model.rs"]
mod model;
mod ports;
mod sob;
mod transfer;
#[allow(dead_code)]
#[path = "../common/util.rs"]
mod util;
mod validation;

use std::process::ExitCode;

use hlthunk::Device;

use model::Bar2;
use util::{Cmdline, Fail, Group, R, Tap};

/// What the tests run against.
pub struct Env {
    /// The device indices: /dev/hlN, /dev/hl_controlDN. Device 0 is the
    /// requester of most tests, device 1 the responder.
    pub index: [u32; 2],
    /// The port whose link the tests use.
    pub port: u32,
    /// Each device's BAR2.
    pub bar2: [Bar2; 2],
}

impl Env {
    /// Opens device `d`'s compute node.
    pub fn open(&self, d: usize) -> R<Device> {
        Ok(Device::open(self.index[d])?)
    }

    /// Opens both compute nodes.
    pub fn open_both(&self) -> R<[Device; 2]> {
        Ok([self.open(0)?, self.open(1)?])
    }
}

const GROUPS: &[(&str, Group<Env>)] = &[
    ("info", info::info),
    ("queues", info::queues),
    ("validation", validation::validation),
    ("write", transfer::write),
    ("send", transfer::send),
    ("errors", errors::errors),
    ("sob", sob::sob),
    ("cq", cq::cq),
    ("contexts", contexts::contexts),
    ("allreduce", allreduce::allreduce),
    ("teardown", contexts::teardown),
];

const USAGE: &str = "usage: hl-rdma-tests [-d A,B] [-p PORT] [GROUP...]";

/// Maps the BAR2 of device `index`, through its control node's PCI address.
fn bar2(tap: &Tap, index: u32) -> R<Bar2> {
    let bdf = Device::open_control(index)?.pci_bus_id()?;
    tap.diag(format!("device {index}: {bdf}"));
    Bar2::open(&bdf)
}

fn main() -> ExitCode {
    let cmd = match Cmdline::parse(USAGE, GROUPS, &["-d", "-p"]) {
        Ok(cmd) => cmd,
        Err(code) => return code,
    };
    let (mut index, mut port) = ([0, 1], 0);
    for (option, value) in &cmd.options {
        let pair: Vec<_> = value.split(',').map(str::parse).collect();
        match (option.as_str(), &pair[..]) {
            ("-d", &[Ok(a), Ok(b)]) if a != b => index = [a, b],
            ("-p", &[Ok(p)]) => port = p,
            _ => return cmd.usage_error(),
        }
    }

    let mut tap = Tap::default();
    let bars = match (bar2(&tap, index[0]), bar2(&tap, index[1])) {
        (Ok(a), Ok(b)) => [a, b],
        (a, b) => {
            let why = a.err().or(b.err()).unwrap_or_else(|| Fail("?".into()));
            tap.check(format!("devices {index:?}: BAR2 of the model"), Err(why));
            tap.finish();
            return ExitCode::FAILURE;
        }
    };
    let env = Env {
        index,
        port,
        bar2: bars,
    };
    tap.diag(format!(
        "devices {} and {}, port {port}",
        index[0], index[1]
    ));
    tap.check(
        format!("port {port}: the link is up at both ends"),
        ports::wait_link_up(&env),
    );
    cmd.run(&mut tap, &env)
}
