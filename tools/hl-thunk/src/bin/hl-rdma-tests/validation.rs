// SPDX-License-Identifier: GPL-2.0

//! HL_IOCTL_NIC's argument checks, each with the errno the uAPI header
//! gives it. A refused call changes nothing: after the refusals, the
//! valid call they were variations of still succeeds once.

use std::mem::size_of;
use std::net::Ipv4Addr;
use std::ptr;
use std::time::Duration;

use hlsim_regs::identity::{RDMA_CONNS, RDMA_CQS};
use hlthunk::uapi::*;
use hlthunk::{Device, HostBuffer, Peer};

use crate::Env;
use crate::link::ip;
use crate::util::{Fail, R, Tap, ensure, expect_errno, expect_ioctl_errno, raw_ioctl};

const EINVAL: &[i32] = &[libc::EINVAL];
const EBUSY: &[i32] = &[libc::EBUSY];

/// Labels a failed expectation.
fn labelled(what: impl std::fmt::Display, r: R) -> R {
    r.map_err(|e| Fail(format!("{what}: {e}")))
}

/// The NIC ioctl `op` with `input` and no output.
fn nic_raw<T>(dev: &Device, op: u32, input: &T) -> Result<(), i32> {
    let mut args = hl_nic_args {
        input_ptr: ptr::from_ref(input) as u64,
        input_size: size_of::<T>() as u32,
        op,
        ..Default::default()
    };
    raw_ioctl(dev, HL_IOCTL_NIC, ptr::from_mut(&mut args).cast())
}

/// What every check needs: this context's device 0, the model's RDMA
/// resources and ports, and a valid peer (connection 0 of device 1's end
/// of the link).
struct Ctx {
    dev: Device,
    conns: u32,
    cqs: u32,
    port_mask: u64,
    dram_size: u64,
    port: u32,
    peer: Peer,
}

fn control_node(env: &Env) -> R {
    let ctl = Device::open_control(env.index[0])?;
    let enotty = &[libc::ENOTTY];
    expect_errno(ctl.alloc_conn(env.port), enotty)?;
    expect_errno(ctl.cq_create(env.port, 8), enotty)?;
    expect_errno(ctl.destroy_conn(env.port, 0), enotty)
}

fn bad_ports(c: &Ctx) -> R {
    let absent = (0..32).find(|p| c.port_mask & 1 << p == 0).unwrap_or(32);
    for port in [HL_MAX_PORTS, absent, u32::MAX] {
        let dev = &c.dev;
        labelled(
            format!("port {port}"),
            expect_errno(dev.alloc_conn(port), EINVAL)
                .and(expect_errno(dev.cq_create(port, 8), EINVAL))
                .and(expect_errno(dev.destroy_conn(port, 0), EINVAL))
                .and(expect_errno(dev.set_user_wq(port, 0, 2), EINVAL)),
        )?;
    }
    Ok(())
}

fn unknown_ops(c: &Ctx) -> R {
    let input = hl_nic_alloc_conn_in {
        port: c.port,
        pad: 0,
    };
    for op in [HL_NIC_OP_USER_WQ_UNSET + 1, 0x100, u32::MAX] {
        labelled(
            format!("op {op}"),
            expect_ioctl_errno(nic_raw(&c.dev, op, &input), &[libc::EINVAL, libc::ENOTTY]),
        )?;
    }
    Ok(())
}

/// Connections this context did not allocate or past the port's, and CQ
/// handles the driver did not give.
fn unowned(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    for conn in [c.conns - 1, c.conns, u32::MAX] {
        labelled(
            format!("connection {conn}"),
            expect_errno(dev.set_requester_conn_ctx(port, conn, &c.peer), EINVAL)
                .and(expect_errno(
                    dev.set_responder_conn_ctx(port, conn, &c.peer, 0, 0),
                    EINVAL,
                ))
                .and(expect_errno(dev.destroy_conn(port, conn), EINVAL))
                .and(expect_errno(dev.set_user_wq(port, conn, 2), EINVAL))
                .and(expect_errno(dev.unset_user_wq(port, conn), EINVAL)),
        )?;
    }
    for handle in [0, 0x1234_5000, u64::MAX] {
        labelled(
            format!("CQ handle {handle:#x}"),
            expect_errno(dev.cq_destroy(handle), EINVAL)
                .and(expect_errno(dev.cq_wait(handle, 1, Duration::ZERO), EINVAL))
                .and(expect_errno(dev.cq_update_consumed(handle, 1), EINVAL)),
        )?;
    }
    Ok(())
}

/// ALLOC_CONN and CQ_CREATE give the lowest free number, ENOSPC when none
/// is left.
fn lowest_free(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let (nconns, ncqs) = (c.conns, c.cqs);
    for want in 0..nconns {
        let got = dev.alloc_conn(port)?;
        ensure!(got == want, "ALLOC_CONN gave {got}, expected {want}");
    }
    expect_errno(dev.alloc_conn(port), &[libc::ENOSPC])?;
    dev.destroy_conn(port, nconns / 2)?;
    ensure!(
        dev.alloc_conn(port)? == nconns / 2,
        "not the freed connection"
    );
    let mut handles = Vec::new();
    for want in 0..ncqs {
        let got = dev.cq_create(port, 2)?;
        ensure!(
            got.id == want,
            "CQ_CREATE gave CQ {}, expected {want}",
            got.id
        );
        handles.push(got.handle);
    }
    expect_errno(dev.cq_create(port, 2), &[libc::ENOSPC])?;
    dev.cq_destroy(handles[ncqs as usize - 1])?;
    let again = dev.cq_create(port, 2)?;
    ensure!(again.id == ncqs - 1, "not the freed CQ: {}", again.id);
    handles[ncqs as usize - 1] = again.handle;
    (0..nconns).try_for_each(|conn| dev.destroy_conn(port, conn))?;
    handles.into_iter().try_for_each(|h| dev.cq_destroy(h))?;
    Ok(())
}

/// Peers that are not a unicast MAC, an IPv4 address of a host, or a
/// connection of the port.
fn bad_peers(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    let mem = dev.device_memory(4096)?;
    let macs = [
        [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
        [0x33, 0x33, 0x00, 0x00, 0x00, 0x01],
        [0xff; 6],
    ];
    let ips = [
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::new(127, 1, 2, 3),
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(239, 255, 255, 250),
        Ipv4Addr::BROADCAST,
    ];
    let mut bad: Vec<Peer> = macs.iter().map(|&mac| Peer { mac, ..c.peer }).collect();
    bad.extend(ips.iter().map(|&ip| Peer { ip, ..c.peer }));
    for conn_id in [c.conns, u32::MAX] {
        bad.push(Peer {
            conn: conn_id,
            ..c.peer
        });
    }
    for p in &bad {
        labelled(
            format!("{p:?}"),
            expect_errno(dev.set_requester_conn_ctx(port, conn, p), EINVAL).and(expect_errno(
                dev.set_responder_conn_ctx(port, conn, p, mem.addr(), 4096),
                EINVAL,
            )),
        )?;
    }
    dev.set_requester_conn_ctx(port, conn, &c.peer)?;
    dev.set_responder_conn_ctx(port, conn, &c.peer, mem.addr(), 4096)?;
    dev.destroy_conn(port, conn)?;
    Ok(())
}

fn sizes(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    for n in [
        0,
        1,
        3,
        6,
        100,
        HL_NIC_MAX_ENTRIES + 1,
        2 * HL_NIC_MAX_ENTRIES,
        u32::MAX,
    ] {
        labelled(
            format!("{n} entries"),
            expect_errno(dev.set_user_wq(port, conn, n), EINVAL)
                .and(expect_errno(dev.cq_create(port, n), EINVAL)),
        )?;
    }
    for n in [2, HL_NIC_MAX_ENTRIES] {
        dev.set_user_wq(port, conn, n)?;
        dev.unset_user_wq(port, conn)?;
        let cq = dev.cq_create(port, n)?;
        dev.cq_destroy(cq.handle)?;
    }
    dev.destroy_conn(port, conn)?;
    Ok(())
}

/// Windows that are not 4 KiB pages of device memory.
fn bad_windows(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    let block = dev.device_memory(16 << 10)?;
    let b = block.addr();
    let mut buf = HostBuffer::new(4096)?;
    let host = dev.map_host(&mut buf)?;
    let end_of_dram = HL_DRAM_BASE + c.dram_size;
    let windows = [
        ("misaligned by 1", b + 1, 4096),
        ("misaligned by 2048", b + 2048, 4096),
        ("4095 bytes", b, 4095),
        ("4097 bytes", b, 4097),
        ("past device memory", end_of_dram, 4096),
        ("below device memory", HL_DRAM_BASE - 4096, 4096),
        ("host memory", host.device_addr(), 4096),
        ("wrapping around", b, 0u64.wrapping_sub(4096)),
    ];
    for (what, addr, size) in windows {
        labelled(
            format!("window {what} ({addr:#x}, {size:#x})"),
            expect_errno(
                dev.set_responder_conn_ctx(port, conn, &c.peer, addr, size),
                EINVAL,
            ),
        )?;
    }
    dev.set_responder_conn_ctx(port, conn, &c.peer, b + 4096, 8192)?;
    dev.destroy_conn(port, conn)?;
    Ok(())
}

/// Each context is set once; the receive queue only before the responder
/// context; a destroyed connection is gone.
fn once(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    let mem = dev.device_memory(4096)?;
    dev.set_requester_conn_ctx(port, conn, &c.peer)?;
    labelled(
        "SET_REQ_CONN_CTX again",
        expect_errno(dev.set_requester_conn_ctx(port, conn, &c.peer), EBUSY),
    )?;
    dev.set_user_wq(port, conn, 4)?;
    dev.set_responder_conn_ctx(port, conn, &c.peer, mem.addr(), 4096)?;
    let again = [
        (
            "SET_RES_CONN_CTX again",
            expect_errno(
                dev.set_responder_conn_ctx(port, conn, &c.peer, mem.addr(), 4096),
                EBUSY,
            ),
        ),
        (
            "USER_WQ_SET after it",
            expect_errno(dev.set_user_wq(port, conn, 4), EBUSY),
        ),
        (
            "USER_WQ_UNSET after it",
            expect_errno(dev.unset_user_wq(port, conn), EBUSY),
        ),
    ];
    for (what, r) in again {
        labelled(what, r)?;
    }
    dev.destroy_conn(port, conn)?;
    labelled(
        "DESTROY_CONN again",
        expect_errno(dev.destroy_conn(port, conn), EINVAL),
    )
}

pub fn validation(t: &mut Tap, env: &Env) {
    t.check(
        "validation: NIC ops on the control node: ENOTTY",
        control_node(env),
    );
    let ctx = env.open(0).and_then(|dev| {
        let dram_size = dev.hw_ip_info()?.dram_size;
        let port_mask = dev.mac_addrs()?.port_mask;
        let ctl1 = Device::open_control(env.index[1])?;
        let peer = Peer::of(&ctl1, env.port, 0, ip(env.port, 1))?;
        let bar = &env.bar2[0];
        Ok(Ctx {
            dev,
            conns: bar.read(RDMA_CONNS),
            cqs: bar.read(RDMA_CQS),
            port_mask,
            dram_size,
            port: env.port,
            peer,
        })
    });
    let c = match ctx {
        Ok(c) => c,
        Err(e) => return t.check("validation: open", Err(e)),
    };
    type Check = fn(&Ctx) -> R;
    let checks: [(&str, Check); 8] = [
        (
            "a port past the device's or not in MAC_ADDR's mask: EINVAL",
            bad_ports,
        ),
        ("an unknown op: EINVAL or ENOTTY", unknown_ops),
        (
            "a connection or CQ this context does not own: EINVAL",
            unowned,
        ),
        (
            "ALLOC_CONN and CQ_CREATE: the lowest free, ENOSPC when none is left",
            lowest_free,
        ),
        (
            "a multicast or broadcast MAC, a non-host IPv4 address, a peer connection past the port's: EINVAL",
            bad_peers,
        ),
        (
            "ring sizes not a power of two from 2 to 4096: EINVAL",
            sizes,
        ),
        (
            "windows misaligned, not whole pages, outside device memory: EINVAL",
            bad_windows,
        ),
        (
            "contexts set twice, receive queue changes after the responder: EBUSY; DESTROY_CONN twice: EINVAL",
            once,
        ),
    ];
    for (what, check) in checks {
        t.check(format!("validation: {what}"), check(&c));
    }
}
