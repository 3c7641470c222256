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
//!
//!     hl-rdma-tests --four [-d A,B,C,D] [-p P,Q] [GROUP...]
//!
//! runs the four-device groups instead, on devices A to D (default
//! 0,1,2,3), A-B and C-D linked by port P, A-C and B-D by port Q (default
//! 0,9), as tools/vm/run.sh --devices 4 wires them; rdma_four.sh runs it.

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
use util::{Cmdline, Group, R, Tap};

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

/// What the four-device tests run against.
pub struct Four {
    /// The device indices.
    pub index: [u32; 4],
    /// The ports linking devices 0-1 and 2-3, then 0-2 and 1-3.
    pub ports: [u32; 2],
    /// Each device's BAR2.
    pub bar2: [Bar2; 4],
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

const FOUR_GROUPS: &[(&str, Group<Four>)] = &[("allreduce", allreduce::allreduce_four)];

const USAGE: &str = "usage: hl-rdma-tests [-d A,B] [-p PORT] [GROUP...]
       hl-rdma-tests --four [-d A,B,C,D] [-p P,Q] [GROUP...]";

/// Maps the BAR2 of device `index`, through its control node's PCI address.
fn bar2(tap: &Tap, index: u32) -> R<Bar2> {
    let bdf = Device::open_control(index)?.pci_bus_id()?;
    tap.diag(format!("device {index}: {bdf}"));
    Bar2::open(&bdf)
}

/// Maps the BAR2 of each device of `index`; if one fails, reports it and
/// the plan.
fn bars<const N: usize>(tap: &mut Tap, index: [u32; N]) -> Option<[Bar2; N]> {
    let bars = index.map(|i| bar2(tap, i));
    match bars.into_iter().collect::<R<Vec<_>>>() {
        Ok(bars) => bars.try_into().ok(),
        Err(why) => {
            tap.check(format!("devices {index:?}: BAR2 of the model"), Err(why));
            tap.finish();
            None
        }
    }
}

/// An option's comma-separated numbers, if it has `N` distinct ones.
fn numbers<const N: usize>(value: &str) -> Option<[u32; N]> {
    let list: Vec<u32> = value
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let distinct = list.iter().enumerate().all(|(i, n)| !list[..i].contains(n));
    list.try_into().ok().filter(|_| distinct)
}

/// Parses `args` for the `groups` of an environment of `D` devices and `P`
/// ports (`-d`, `-p`, `defaults` if not given), maps the devices' BAR2s,
/// builds the environment with `env`, runs `intro` (the diagnostics, the
/// links' check), then the groups: the exit status.
fn run<E, const D: usize, const P: usize>(
    args: impl Iterator<Item = String>,
    groups: &'static [(&'static str, Group<E>)],
    defaults: ([u32; D], [u32; P]),
    env: impl FnOnce([u32; D], [u32; P], [Bar2; D]) -> E,
    intro: impl FnOnce(&mut Tap, &E),
) -> ExitCode {
    let cmd = match Cmdline::parse_from(USAGE, groups, &["-d", "-p"], args) {
        Ok(cmd) => cmd,
        Err(code) => return code,
    };
    let (mut index, mut ports) = defaults;
    for (option, value) in &cmd.options {
        match (option.as_str(), numbers(value), numbers(value)) {
            ("-d", Some(devices), _) => index = devices,
            ("-p", _, Some(given)) => ports = given,
            _ => return cmd.usage_error(),
        }
    }

    let mut tap = Tap::default();
    let Some(bar2) = bars(&mut tap, index) else {
        return ExitCode::FAILURE;
    };
    let env = env(index, ports, bar2);
    intro(&mut tap, &env);
    cmd.run(&mut tap, &env)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.next_if_eq("--four").is_some() {
        return run(
            args,
            FOUR_GROUPS,
            ([0, 1, 2, 3], [0, 9]),
            |index, ports, bar2| Four { index, ports, bar2 },
            |tap, env| {
                let [p, q] = env.ports;
                tap.diag(format!(
                    "devices {:?}: port {p} links 0-1 and 2-3, port {q} 0-2 and 1-3",
                    env.index
                ));
                tap.check(
                    format!("ports {p} and {q}: the links are up at all four devices"),
                    ports::wait_links_up_four(env),
                );
            },
        );
    }
    run(
        args,
        GROUPS,
        ([0, 1], [0]),
        |index, [port], bar2| Env { index, port, bar2 },
        |tap, env| {
            let ([a, b], port) = (env.index, env.port);
            tap.diag(format!("devices {a} and {b}, port {port}"));
            tap.check(
                format!("port {port}: the link is up at both ends"),
                ports::wait_link_up(env),
            );
        },
    )
}
