// SPDX-License-Identifier: GPL-2.0

//! The ioctl dispatcher: one table, command numbers and argument sizes that only the kernel's
//! side decides, in the manner of `drm_ioctl()`.
//!
//! The command's number picks the table entry (range-checked). The argument is copied in with
//! the size the caller's command encodes, at most the kernel's own size, and the rest is
//! zero-filled: an older userspace with a shorter struct keeps working, a newer one's extra
//! fields are ignored. The answer is copied out the same way. Entries are typed by the node
//! they may run on: the control node runs `Any` entries only.

use kernel::{
    ioctl::{_IOC_NR, _IOC_SIZE, _IOC_TYPE, _IOWR},
    prelude::*,
    uaccess::UserSlice,
    uapi,
};

use crate::{
    context::ComputeFile,
    device::HlDevice,
    info,
    marshal::{as_bytes, Arg},
    rdma::NicOut,
};

/// The largest argument of any command.
const MAX_ARG: usize = 64;

/// The magic of every command (`'H'`).
const MAGIC: u32 = b'H' as u32;

/// The node a command arrives on.
pub(crate) enum Node<'a> {
    Compute(&'a ComputeFile),
    Control(&'a HlDevice),
}

impl Node<'_> {
    fn device(&self) -> &HlDevice {
        match self {
            Node::Compute(file) => file.device(),
            Node::Control(dev) => dev,
        }
    }
}

/// A table entry's handler, on the argument's bytes.
enum Handler {
    /// Runs on both nodes.
    Any(fn(&HlDevice, &mut [u8; MAX_ARG]) -> Result),
    /// Runs on the compute node only.
    Compute(fn(&ComputeFile, &mut [u8; MAX_ARG]) -> Result),
}

struct Desc {
    cmd: u32,
    handler: Handler,
}

/// Builds an entry: `$arg` is the argument's type (its size goes into the command number),
/// `$in` and `$out` what is read from and written to it, `$func` the handler.
macro_rules! desc {
    ($kind:ident, $nr:expr, $arg:ty, $in:ty, $out:ty, $func:path) => {{
        const _: () = assert!(size_of::<$arg>() <= MAX_ARG);
        const _: () = assert!(size_of::<$in>() <= size_of::<$arg>());
        const _: () = assert!(size_of::<$out>() <= size_of::<$arg>());
        Desc {
            cmd: _IOWR::<$arg>(MAGIC, $nr),
            handler: Handler::$kind(|node, buf| {
                let input = Arg::<$in>::new(&buf[..])?;
                let output: $out = $func(node, input)?;
                if size_of::<$out>() > 0 {
                    buf.fill(0);
                    buf[..size_of::<$out>()].copy_from_slice(as_bytes(&output));
                }
                Ok(())
            }),
        }
    }};
}

const TABLE: [Desc; (uapi::HL_COMMAND_END - uapi::HL_COMMAND_START) as usize] = [
    desc!(
        Any,
        0x01,
        uapi::hl_info_args,
        uapi::hl_info_args,
        (),
        info::info
    ),
    desc!(
        Compute,
        0x02,
        uapi::hl_cb_args,
        uapi::hl_cb_in,
        uapi::hl_cb_out,
        ComputeFile::cb
    ),
    desc!(
        Compute,
        0x03,
        uapi::hl_cs_args,
        uapi::hl_cs_in,
        uapi::hl_cs_out,
        ComputeFile::cs
    ),
    desc!(
        Compute,
        0x04,
        uapi::hl_wait_cs_args,
        uapi::hl_wait_cs_in,
        uapi::hl_wait_cs_out,
        ComputeFile::wait_cs
    ),
    desc!(
        Compute,
        0x05,
        uapi::hl_mem_args,
        uapi::hl_mem_in,
        uapi::hl_mem_out,
        ComputeFile::memory
    ),
    desc!(
        Compute,
        0x06,
        uapi::hl_nic_args,
        uapi::hl_nic_in,
        NicOut,
        ComputeFile::nic
    ),
];

/// Runs command `cmd` with its argument at user address `arg`, arriving on `node`.
pub(crate) fn dispatch(node: Node<'_>, cmd: u32, arg: usize) -> Result<isize> {
    if _IOC_TYPE(cmd) != MAGIC {
        return Err(ENOTTY);
    }
    let desc = _IOC_NR(cmd)
        .checked_sub(uapi::HL_COMMAND_START)
        .and_then(|i| TABLE.get(i as usize))
        .ok_or(ENOTTY)?;
    // The caller's direction bits do not matter: every command is read-write.
    let user_size = _IOC_SIZE(cmd);
    let size = user_size.min(_IOC_SIZE(desc.cmd));
    let mut buf = [0u8; MAX_ARG];
    let (mut reader, mut writer) = UserSlice::new(arg, user_size).reader_writer();
    reader.read_slice(&mut buf[..size])?;

    match (&desc.handler, &node) {
        (Handler::Any(call), _) => call(node.device(), &mut buf)?,
        (Handler::Compute(call), Node::Compute(file)) => call(file, &mut buf)?,
        (Handler::Compute(_), Node::Control(_)) => return Err(EACCES),
    }
    writer.write_slice(&buf[..size])?;
    Ok(0)
}
