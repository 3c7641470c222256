// SPDX-License-Identifier: GPL-2.0

//! The two character devices of each accelerator: `/dev/hlN` (compute: one user at a time,
//! every ioctl) and `/dev/hl_controlDN` (any number of readers, `INFO` only).

use kernel::{
    chrdev::FileOps,
    declare_chrdev_fops,
    miscdevice::MiscDevice,
    mm::VmArea,
    prelude::*,
    sync::{poll::PollTable, Arc},
};

use crate::{
    context::ComputeFile,
    device::HlDevice,
    ioctl::{self, Node},
};

/// The compute node.
pub(crate) struct ComputeNode;

#[vtable]
impl MiscDevice for ComputeNode {
    type RegistrationData = Arc<HlDevice>;
    type Ptr = Pin<KBox<ComputeFile>>;

    fn open(dev: &Arc<HlDevice>) -> Result<Self::Ptr> {
        ComputeFile::open(dev)
    }

    fn ioctl(file: Pin<&ComputeFile>, cmd: u32, arg: usize) -> Result<isize> {
        ioctl::dispatch(Node::Compute(&file), cmd, arg)
    }

    fn mmap(file: Pin<&ComputeFile>, vma: &VmArea) -> Result {
        file.mmap(vma)
    }

    fn poll(file: Pin<&ComputeFile>, table: &mut PollTable<'_>) -> u32 {
        file.poll(table)
    }
}

/// The control node.
pub(crate) struct ControlNode;

#[vtable]
impl MiscDevice for ControlNode {
    type RegistrationData = Arc<HlDevice>;
    type Ptr = Arc<HlDevice>;

    fn open(dev: &Arc<HlDevice>) -> Result<Self::Ptr> {
        Ok(dev.clone())
    }

    fn ioctl(dev: kernel::sync::ArcBorrow<'_, HlDevice>, cmd: u32, arg: usize) -> Result<isize> {
        ioctl::dispatch(Node::Control(&dev), cmd, arg)
    }
}

declare_chrdev_fops!(COMPUTE_FOPS, ComputeNode);
declare_chrdev_fops!(CONTROL_FOPS, ControlNode);

pub(crate) fn compute_fops() -> &'static FileOps<ComputeNode> {
    &COMPUTE_FOPS
}

pub(crate) fn control_fops() -> &'static FileOps<ControlNode> {
    &CONTROL_FOPS
}
