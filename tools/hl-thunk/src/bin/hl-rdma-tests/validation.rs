// SPDX-License-Identifier: GPL-2.0

//! HL_IOCTL_NIC's argument checks, each with the errno the uAPI header
//! gives it. A refused call changes nothing: after the refusals, the
//! valid call they were variations of still succeeds once.

use std::net::Ipv4Addr;
use std::ptr;
use std::time::Duration;

use hlthunk::uapi::*;
use hlthunk::{Device, HostBuffer, HwIpInfo, Peer};

use crate::Env;
use crate::link::ip;
use crate::util::{Fail, R, Tap, ensure, expect_errno, expect_ioctl_errno, raw_ioctl};

const EINVAL: &[i32] = &[libc::EINVAL];
const EBUSY: &[i32] = &[libc::EBUSY];

/// Labels a failed expectation.
fn labelled(what: impl std::fmt::Display, r: R) -> R {
    r.map_err(|e| Fail(format!("{what}: {e}")))
}

/// The NIC ioctl with `arg` as it is.
fn nic_raw(dev: &Device, arg: hl_nic_in) -> Result<(), i32> {
    let mut args = hl_nic_args { in_: arg };
    raw_ioctl(dev, HL_IOCTL_NIC, ptr::from_mut(&mut args).cast())
}

/// What every check needs: this context's device 0 and what INFO says,
/// and a valid peer (connection 0 of device 1's end of the link).
struct Ctx {
    dev: Device,
    hw: HwIpInfo,
    port: u32,
    peer: Peer,
}

fn control_node(env: &Env) -> R {
    let ctl = Device::open_control(env.index[0])?;
    let eacces = &[libc::EACCES];
    expect_errno(ctl.alloc_conn(env.port), eacces)?;
    expect_errno(ctl.cq_create(env.port, 8), eacces)?;
    expect_errno(ctl.destroy_conn(env.port, 0), eacces)
}

fn bad_ports(c: &Ctx) -> R {
    let absent = (0..32).find(|p| c.hw.port_mask & 1 << p == 0).unwrap_or(32);
    for port in [HL_MAX_PORTS, absent, u32::MAX] {
        let dev = &c.dev;
        labelled(
            format!("port {port}"),
            expect_errno(dev.alloc_conn(port), EINVAL)
                .and(expect_errno(dev.cq_create(port, 8), EINVAL))
                .and(expect_errno(dev.destroy_conn(port, 0), EINVAL))
                .and(expect_errno(dev.set_user_wq(port, 0, 2), EINVAL))
                .and(expect_errno(
                    dev.cq_wait(port, 0, 1, Duration::ZERO),
                    EINVAL,
                )),
        )?;
    }
    Ok(())
}

fn unknown_ops(c: &Ctx) -> R {
    for op in [HL_NIC_OP_CQ_UPDATE_CONSUMED + 1, 0x100, u32::MAX] {
        let arg = hl_nic_in {
            op,
            port: c.port,
            ..Default::default()
        };
        labelled(
            format!("op {op}"),
            expect_ioctl_errno(nic_raw(&c.dev, arg), EINVAL),
        )?;
    }
    Ok(())
}

/// Each op, valid but for its `flags`, its `pad` or the padding of its own
/// fields.
fn reserved_fields(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    let cq = dev.cq_create(port, 8)?.id;
    let mem = dev.device_memory(4096)?;
    let base = |op| hl_nic_in {
        op,
        port,
        conn_id: conn,
        cq_id: cq,
        ..Default::default()
    };
    let with = |op, f: &dyn Fn(&mut hl_nic_in__bindgen_ty_1)| {
        let mut a = base(op);
        f(&mut a.__bindgen_anon_1);
        a
    };
    // The ops whose fields are a count and its padding share their layout.
    let padded = |op, n| {
        with(op, &|u| {
            u.cq_update = hl_nic_in__bindgen_ty_1__bindgen_ty_3 {
                num_cqes: n,
                pad: 1,
            }
        })
    };
    let reserved = |op, flags, pad| hl_nic_in {
        flags,
        pad,
        ..base(op)
    };
    let peer = hl_nic_peer::from(c.peer);
    let cases = [
        ("ALLOC_CONN flags", reserved(HL_NIC_OP_ALLOC_CONN, 1, 0)),
        ("ALLOC_CONN pad", reserved(HL_NIC_OP_ALLOC_CONN, 0, 1)),
        (
            "DESTROY_CONN flags",
            reserved(HL_NIC_OP_DESTROY_CONN, 1 << 31, 0),
        ),
        ("CQ_DESTROY flags", reserved(HL_NIC_OP_CQ_DESTROY, 2, 0)),
        (
            "SET_REQ_CONN_CTX peer.pad",
            with(HL_NIC_OP_SET_REQ_CONN_CTX, &|u| {
                u.req = hl_nic_peer { pad: 1, ..peer }
            }),
        ),
        (
            "SET_RES_CONN_CTX peer.pad",
            with(HL_NIC_OP_SET_RES_CONN_CTX, &|u| {
                u.res = hl_nic_res_ctx {
                    peer: hl_nic_peer { pad: 0x100, ..peer },
                    win_addr: mem.addr(),
                    win_size: 4096,
                }
            }),
        ),
        ("USER_WQ_SET pad", padded(HL_NIC_OP_USER_WQ_SET, 2)),
        ("CQ_CREATE pad", padded(HL_NIC_OP_CQ_CREATE, 8)),
        ("CQ_WAIT pad", padded(HL_NIC_OP_CQ_WAIT, 1)),
        (
            "CQ_UPDATE_CONSUMED pad",
            padded(HL_NIC_OP_CQ_UPDATE_CONSUMED, 1),
        ),
    ];
    for (what, arg) in cases {
        labelled(what, expect_ioctl_errno(nic_raw(dev, arg), EINVAL))?;
    }
    // Nothing was allocated, set or destroyed.
    let (next_conn, next_cq) = (dev.alloc_conn(port)?, dev.cq_create(port, 2)?.id);
    ensure!(next_conn == conn + 1, "a refused ALLOC_CONN allocated");
    ensure!(next_cq == cq + 1, "a refused CQ_CREATE created");
    dev.set_requester_conn_ctx(port, conn, &c.peer)?;
    dev.set_user_wq(port, conn, 2)?;
    dev.set_responder_conn_ctx(port, conn, &c.peer, mem.addr(), 4096)?;
    for conn in [conn, next_conn] {
        dev.destroy_conn(port, conn)?;
    }
    for cq in [cq, next_cq] {
        dev.cq_destroy(port, cq)?;
    }
    Ok(())
}

/// Connections and CQs this context did not allocate, or past the port's.
fn unowned(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    for conn in [
        c.hw.nic_conns_per_port - 1,
        c.hw.nic_conns_per_port,
        u32::MAX,
    ] {
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
    for cq in [c.hw.nic_cqs_per_port - 1, c.hw.nic_cqs_per_port, u32::MAX] {
        labelled(
            format!("CQ {cq}"),
            expect_errno(dev.cq_destroy(port, cq), EINVAL)
                .and(expect_errno(
                    dev.cq_wait(port, cq, 1, Duration::ZERO),
                    EINVAL,
                ))
                .and(expect_errno(dev.cq_update_consumed(port, cq, 1), EINVAL)),
        )?;
    }
    Ok(())
}

/// ALLOC_CONN and CQ_CREATE give the lowest free number, ENOSPC when none
/// is left.
fn lowest_free(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let (nconns, ncqs) = (c.hw.nic_conns_per_port, c.hw.nic_cqs_per_port);
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
    for want in 0..ncqs {
        let got = dev.cq_create(port, 2)?.id;
        ensure!(got == want, "CQ_CREATE gave {got}, expected {want}");
    }
    expect_errno(dev.cq_create(port, 2), &[libc::ENOSPC])?;
    dev.cq_destroy(port, ncqs - 1)?;
    ensure!(dev.cq_create(port, 2)?.id == ncqs - 1, "not the freed CQ");
    (0..nconns).try_for_each(|conn| dev.destroy_conn(port, conn))?;
    (0..ncqs).try_for_each(|cq| dev.cq_destroy(port, cq))?;
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
    for conn_id in [c.hw.nic_conns_per_port, u32::MAX] {
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
        dev.cq_destroy(port, cq.id)?;
    }
    dev.destroy_conn(port, conn)?;
    Ok(())
}

/// Windows that are not 4 KiB pages inside one block this context
/// allocated.
fn bad_windows(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    let block = dev.device_memory(16 << 10)?;
    let b = block.addr();
    let freed = dev.device_memory(4096)?;
    let gone = freed.addr();
    freed.free()?;
    let mut buf = HostBuffer::new(4096)?;
    let host = dev.map_host(&mut buf)?;
    let end_of_dram = HL_DRAM_BASE + c.hw.dram_size;
    let windows = [
        ("misaligned by 1", b + 1, 4096),
        ("misaligned by 2048", b + 2048, 4096),
        ("4095 bytes", b, 4095),
        ("4097 bytes", b, 4097),
        ("past the block's end", b + 4096, 16 << 10),
        ("twice the block", b, 32 << 10),
        ("freed memory", gone, 4096),
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

/// The block under a window cannot be freed, even unmapped, until the
/// connection is destroyed.
fn free_under_window(c: &Ctx) -> R {
    let (dev, port) = (&c.dev, c.port);
    let conn = dev.alloc_conn(port)?;
    let handle = dev.alloc(8192)?;
    let addr = dev.map(handle)?;
    dev.set_responder_conn_ctx(port, conn, &c.peer, addr + 4096, 4096)?;
    dev.unmap(addr)?;
    labelled("FREE under a window", expect_errno(dev.free(handle), EBUSY))?;
    dev.destroy_conn(port, conn)?;
    dev.free(handle)?;
    Ok(())
}

pub fn validation(t: &mut Tap, env: &Env) {
    t.check(
        "validation: NIC ops on the control node: EACCES",
        control_node(env),
    );
    let ctx = env.open(0).and_then(|dev| {
        let hw = dev.hw_ip_info()?;
        let ctl1 = Device::open_control(env.index[1])?;
        let peer = Peer::of(&ctl1, env.port, 0, ip(env.port, 1))?;
        Ok(Ctx {
            dev,
            hw,
            port: env.port,
            peer,
        })
    });
    let c = match ctx {
        Ok(c) => c,
        Err(e) => return t.check("validation: open", Err(e)),
    };
    type Check = fn(&Ctx) -> R;
    let checks: [(&str, Check); 10] = [
        (
            "a port past the device's or not in port_mask: EINVAL",
            bad_ports,
        ),
        ("an unknown op: EINVAL", unknown_ops),
        (
            "flags, pad or an op's padding not 0: EINVAL, nothing done",
            reserved_fields,
        ),
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
            "windows misaligned, not whole pages, outside one block of this context: EINVAL",
            bad_windows,
        ),
        (
            "contexts set twice, receive queue changes after the responder: EBUSY; DESTROY_CONN twice: EINVAL",
            once,
        ),
        (
            "FREE of the block under a window: EBUSY, even unmapped",
            free_under_window,
        ),
    ];
    for (what, check) in checks {
        t.check(format!("validation: {what}"), check(&c));
    }
}
