// SPDX-License-Identifier: GPL-2.0

//! The offline self-test: one frame through the MAC loopback, on the port's ordinary rings.

use core::time::Duration;
use kernel::{
    dma::CoherentAllocation, dma_write, io::poll::read_poll_timeout, net::dev::Device, prelude::*,
};

use super::{
    port::Port,
    regs::{CTL, LINK_STATUS},
    txrx::max_frame,
};

/// The test frame's length, unless the MTU allows less.
const LEN: u32 = 128;
/// A local experimental EtherType (IEEE 802), so nothing would take the frame for its own if it
/// leaked.
const ETHERTYPE: [u8; 2] = [0x88, 0xb5];
/// How long each step may take: the looped-back link coming up, the frame coming back.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How often the registers are read meanwhile.
const POLL_INTERVAL: Duration = Duration::from_micros(200);

/// Waits until `done` holds, for at most [`TIMEOUT`]: `Ok(false)` if it never did.
fn wait_for(done: impl FnMut() -> Result<bool>) -> Result<bool> {
    match read_poll_timeout(done, |&d| d, POLL_INTERVAL, TIMEOUT) {
        Ok(_) => Ok(true),
        Err(e) if e == ETIMEDOUT => Ok(false),
        Err(e) => Err(e),
    }
}

impl Port {
    /// Sends one frame through the MAC loopback and checks that it comes back intact. Called
    /// under RTNL; the interface stops for the duration.
    pub(crate) fn loopback_test(dev: &Device<Port>) -> Result<bool> {
        let port = dev.data();
        let live = port.live();
        if live {
            Self::down(dev);
        }
        let res = port.run_loopback_test(dev);
        if live {
            Self::up(dev)?;
        } else {
            port.apply(&port.config.lock())?;
        }
        res
    }

    /// Starts the rings as `up` does but with the interrupt masked, NAPI off and the loopback
    /// on, loops a frame, and stops the port again.
    fn run_loopback_test(&self, dev: &Device<Port>) -> Result<bool> {
        let len = LEN.min(max_frame(dev));
        let frame = {
            let bound = self.io.nic().bound()?;
            CoherentAllocation::<u8>::alloc_coherent(&bound, len as usize, GFP_KERNEL)?
        };
        for i in 0..len as usize {
            dma_write!(frame[i] = self.test_byte(i))?;
        }
        self.rings.mask_all(true)?;
        let started = {
            let cfg = self.config.lock();
            self.rings.start(dev, &cfg.rings)
        };
        let res = started.and_then(|()| self.loop_frame(dev, &frame, len));
        // After this the device no longer reads the frame or writes the RX buffers, unless the
        // stop failed: then the rings wait for the hard reset it asked for, and the frame,
        // which nothing tracks, is leaked rather than freed under the device.
        if self.stop(dev).is_ok() {
            self.rings.drain();
            drop(frame);
        } else {
            core::mem::forget(frame);
        }
        res
    }

    /// Byte `i` of the test frame: from and to the port's MAC address, then a pattern that
    /// differs between ports.
    fn test_byte(&self, i: usize) -> u8 {
        match i {
            0..=11 => self.io.nic().mac(self.index())[i % 6],
            12 | 13 => ETHERTYPE[i - 12],
            _ => (i as u8).wrapping_mul(29) ^ self.index(),
        }
    }

    /// Enables the port in loopback, sends `frame` once the link is up and checks what comes
    /// back.
    fn loop_frame(
        &self,
        dev: &Device<Port>,
        frame: &CoherentAllocation<u8>,
        len: u32,
    ) -> Result<bool> {
        self.io
            .write(CTL::default().set_enable(true).set_loopback(true))?;
        self.io.kick()?;
        let link_up = || Ok(self.io.read::<LINK_STATUS>()?.up());
        if !wait_for(link_up)? {
            dev_info!(
                dev.as_dev(),
                "loopback self-test: the looped-back link did not come up\n"
            );
            return Ok(false);
        }
        self.rings.send_raw(frame.dma_handle(), len)?;
        if !wait_for(|| self.rings.rx_pending())? {
            dev_info!(
                dev.as_dev(),
                "loopback self-test: the frame did not come back\n"
            );
            return Ok(false);
        }
        let intact = match self.rings.take_rx(dev)? {
            Some(echo) => {
                let data = echo.data();
                let same = data.len() == len as usize
                    && data
                        .iter()
                        .enumerate()
                        .all(|(i, &b)| b == self.test_byte(i));
                echo.consume();
                same
            }
            None => false,
        };
        if !intact {
            dev_info!(
                dev.as_dev(),
                "loopback self-test: the frame came back changed\n"
            );
        }
        Ok(intact)
    }
}
