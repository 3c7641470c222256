// SPDX-License-Identifier: GPL-2.0

//! The ioctl dispatcher, as mainline's `hl_ioctl()`: one table indexed by the command's number,
//! arguments copied in the manner of `drm_ioctl()`.
//!
//! A number outside the table, or another magic or direction than the table's entry has, is
//! `ENOTTY`; the control node knows `INFO` only (`ENOTTY` for the rest). The argument is copied
//! in with the size the caller's command encodes, at most the kernel's own size, and the rest
//! is zero-filled: an older userspace with a shorter struct keeps working, a newer one's extra
//! fields are ignored. The answer is copied out the same way.

use kernel::{
    ioctl::{_IOC_DIR, _IOC_NR, _IOC_SIZE, _IOC_TYPE, _IOWR},
    prelude::*,
    uaccess::UserSlice,
    uapi,
};

use crate::{
    context::{CbOut, ComputeFile, CsOut, MemOut},
    device::HlDevice,
    info,
    marshal::{as_bytes, zeroed, Arg},
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
    pub(crate) fn device(&self) -> &HlDevice {
        match self {
            Node::Compute(file) => file.device(),
            Node::Control(dev) => dev,
        }
    }
}

/// A table entry's handler, on the argument's bytes.
enum Handler {
    /// `INFO`: both nodes; the control node refuses the opcodes bound to an open compute file.
    Info(fn(&Node<'_>, &mut [u8; MAX_ARG]) -> Result),
    /// Runs on the compute node only.
    Compute(fn(&ComputeFile, &mut [u8; MAX_ARG]) -> Result),
}

struct Desc {
    cmd: u32,
    handler: Handler,
}

/// Builds an entry: `$arg` is the argument's type (its size goes into the command number),
/// `$in` and `$out` what is read from and written to it, `$func` the handler. With `$always`,
/// the answer is copied out on failure too (`CS` and `WAIT_CS` say there why they failed).
macro_rules! desc {
    ($kind:ident, $nr:expr, $arg:ty, $in:ty, $out:ty, $func:path, $always:expr) => {{
        const _: () = assert!(size_of::<$arg>() <= MAX_ARG);
        const _: () = assert!(size_of::<$in>() <= size_of::<$arg>());
        const _: () = assert!(size_of::<$out>() <= size_of::<$arg>());
        Desc {
            cmd: _IOWR::<$arg>(MAGIC, $nr),
            handler: Handler::$kind(|node, buf| {
                let input = Arg::<$in>::new(&buf[..])?;
                let mut output: $out = zeroed();
                let ret = $func(node, input, &mut output);
                if size_of::<$out>() > 0 && (ret.is_ok() || $always) {
                    buf.fill(0);
                    buf[..size_of::<$out>()].copy_from_slice(as_bytes(&output));
                }
                ret
            }),
        }
    }};
}

const TABLE: [Desc; (uapi::HL_COMMAND_END - uapi::HL_COMMAND_START) as usize] = [
    desc!(
        Info,
        0x01,
        uapi::hl_info_args,
        uapi::hl_info_args,
        uapi::hl_info_args,
        info::info,
        false
    ),
    desc!(
        Compute,
        0x02,
        uapi::hl_cb_args,
        uapi::hl_cb_in,
        CbOut,
        ComputeFile::cb,
        false
    ),
    desc!(
        Compute,
        0x03,
        uapi::hl_cs_args,
        uapi::hl_cs_in,
        CsOut,
        ComputeFile::cs,
        true
    ),
    desc!(
        Compute,
        0x04,
        uapi::hl_wait_cs_args,
        uapi::hl_wait_cs_in,
        uapi::hl_wait_cs_out,
        ComputeFile::wait_cs,
        true
    ),
    desc!(
        Compute,
        0x05,
        uapi::hl_mem_args,
        uapi::hl_mem_in,
        MemOut,
        ComputeFile::memory,
        false
    ),
    desc!(
        Compute,
        0x06,
        uapi::hl_debug_args,
        uapi::hl_debug_args,
        (),
        ComputeFile::debug,
        false
    ),
    desc!(
        Compute,
        0x07,
        uapi::hl_nic_args,
        uapi::hl_nic_args,
        (),
        ComputeFile::nic,
        false
    ),
];

/// Runs command `cmd` with its argument at user address `arg`, arriving on `node`.
pub(crate) fn dispatch(node: Node<'_>, cmd: u32, arg: usize) -> Result<isize> {
    let desc = _IOC_NR(cmd)
        .checked_sub(uapi::HL_COMMAND_START)
        .and_then(|i| TABLE.get(i as usize))
        .ok_or(ENOTTY)?;
    // Another magic or direction is another command, not this one misspelt.
    let kernel_dir = _IOC_DIR(desc.cmd);
    if _IOC_TYPE(cmd) != MAGIC || _IOC_DIR(cmd) != kernel_dir {
        return Err(ENOTTY);
    }
    let user_size = _IOC_SIZE(cmd);
    let size = user_size.min(_IOC_SIZE(desc.cmd));
    let mut buf = [0u8; MAX_ARG];
    let (mut reader, mut writer) = UserSlice::new(arg, user_size).reader_writer();
    let ret = match (&desc.handler, &node) {
        (Handler::Info(call), _) => {
            reader.read_slice(&mut buf[..size])?;
            call(&node, &mut buf)
        }
        (Handler::Compute(call), Node::Compute(file)) => {
            // A hard reset ended the context: only `INFO` still answers (see reset.rs).
            file.check_live()?;
            reader.read_slice(&mut buf[..size])?;
            call(file, &mut buf)
        }
        (Handler::Compute(_), Node::Control(_)) => return Err(ENOTTY),
    };
    // A wait a signal interrupted is restarted (or retried on `EINTR`), and a submission that
    // found no room is retried on `EAGAIN` (as mainline leaves its argument then), with the
    // same argument: it must still hold the input, not the answer.
    if matches!(ret, Err(e) if e == ERESTARTSYS || e == EINTR || e == EAGAIN) {
        return ret.map(|()| 0);
    }
    writer.write_slice(&buf[..size])?;
    ret.map(|()| 0)
}
