// SPDX-License-Identifier: GPL-2.0

//! The DMA self-test run at probe: the device copies a host buffer through its own memory into
//! another host buffer, and the driver checks every byte.

use kernel::{device, dma::CoherentAllocation, dma_read, dma_write, pci, prelude::*, time::Ktime};

use crate::{control::Control, mailbox::Command};

/// Buffer size in 64-bit words (16 KiB: four pages, so page crossings are covered).
const WORDS: usize = 2048;

/// A xorshift64 step: a cheap pattern that differs in every word and every run.
fn next(x: u64) -> u64 {
    let x = x ^ (x << 13);
    let x = x ^ (x >> 7);
    x ^ (x << 17)
}

/// Runs the DMA self-test; `EIO` if the data that came back is not the data that went out.
pub(crate) fn dma(pdev: &pci::Device<device::Core>, control: &Control, serial: u64) -> Result {
    let src = CoherentAllocation::<u64>::alloc_coherent(pdev.as_ref(), WORDS, GFP_KERNEL)?;
    let dst = CoherentAllocation::<u64>::alloc_coherent(pdev.as_ref(), WORDS, GFP_KERNEL)?;
    let seed = (serial ^ Ktime::ktime_get().to_ns() as u64) | 1;

    let mut x = seed;
    for i in 0..WORDS {
        x = next(x);
        dma_write!(src[i] = x)?;
        dma_write!(dst[i] = !x)?;
    }

    control
        .run(Command::DmaSelftest {
            src: src.dma_handle(),
            dst: dst.dma_handle(),
            dev_offset: 0,
            size: src.size() as u64,
        })
        .inspect_err(|e| dev_err!(pdev, "DMA self-test failed: {}\n", e.to_errno()))?;

    let mut x = seed;
    for i in 0..WORDS {
        x = next(x);
        let got = dma_read!(dst[i])?;
        if got != x {
            dev_err!(
                pdev,
                "DMA self-test: word {} is {:#018x}, expected {:#018x}\n",
                i,
                got,
                x
            );
            return Err(EIO);
        }
    }
    dev_info!(pdev, "DMA self-test passed ({} bytes)\n", src.size());
    Ok(())
}
