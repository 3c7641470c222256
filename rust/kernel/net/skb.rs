// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`) owned by a driver, and their streaming DMA mappings.
//!
//! An [`SkBuff`] is one reference to a buffer. It ends explicitly: handed to the stack,
//! consumed once transmitted ([`SkBuff::consume`]), or dropped with a [`DropReason`] that
//! `dropwatch` and the `kfree_skb` tracepoint show. Letting it go out of scope drops it with
//! `NOT_SPECIFIED`.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use crate::{
    bindings, device::Device, dma::DmaAddress, error::to_result, net::dev, prelude::*, types::ARef,
};
use core::ptr::NonNull;

/// Why a driver dropped a buffer (`enum skb_drop_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DropReason {
    /// No better reason.
    NotSpecified = bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
    /// The device is not ready: the link is down or the interface stopped.
    DevReady = bindings::skb_drop_reason_SKB_DROP_REASON_DEV_READY,
    /// A ring was full.
    FullRing = bindings::skb_drop_reason_SKB_DROP_REASON_FULL_RING,
    /// Out of memory (for a mapping or a replacement buffer).
    NoMem = bindings::skb_drop_reason_SKB_DROP_REASON_NOMEM,
    /// The frame does not fit the device's limits.
    PktTooBig = bindings::skb_drop_reason_SKB_DROP_REASON_PKT_TOO_BIG,
    /// The device reported something invalid about the frame.
    DevHdr = bindings::skb_drop_reason_SKB_DROP_REASON_DEV_HDR,
}

/// One owned reference to a socket buffer.
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` to which this value holds a reference.
pub struct SkBuff(NonNull<bindings::sk_buff>);

// SAFETY: A buffer reference may be passed between threads, as in C.
unsafe impl Send for SkBuff {}
// SAFETY: `&SkBuff` only reads the buffer's metadata.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// # Safety
    ///
    /// `skb` must be valid, and the caller gives its reference to the returned value.
    pub unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Self {
        // SAFETY: Valid pointers are non-null.
        Self(unsafe { NonNull::new_unchecked(skb) })
    }

    /// Gives up the reference without dropping it.
    pub fn into_raw(self) -> *mut bindings::sk_buff {
        let skb = self.0.as_ptr();
        core::mem::forget(self);
        skb
    }

    fn as_raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// The frame's length.
    pub fn len(&self) -> u32 {
        // SAFETY: By the type invariant.
        unsafe { (*self.as_raw()).len }
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether all of the frame is in the linear buffer (no fragments).
    pub fn is_linear(&self) -> bool {
        // SAFETY: By the type invariant.
        unsafe { bindings::skb_headlen(self.as_raw()) == self.len() }
    }

    /// The frame's priority (`skb->priority`), which the stack sets from the socket or the
    /// egress QoS map.
    pub fn priority(&self) -> u32 {
        // SAFETY: By the type invariant.
        unsafe { bindings::skb_priority(self.as_raw()) }
    }

    /// The transmit queue the stack picked.
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: By the type invariant.
        unsafe { bindings::skb_get_queue_mapping(self.as_raw()) }
    }

    /// Where the device is to insert the checksum (`CHECKSUM_PARTIAL`): the offset from the
    /// frame's start where summing starts, and the checksum field's offset from there.
    pub fn checksum_partial(&self) -> Option<(u32, u32)> {
        let (mut start, mut offset) = (0, 0);
        // SAFETY: By the type invariant; the pointers are to locals.
        unsafe { bindings::skb_csum_partial(self.as_raw(), &mut start, &mut offset) }
            .then_some((start, offset))
    }

    /// Computes the checksum the stack left to the device, in software.
    pub fn checksum_help(&mut self) -> Result {
        // SAFETY: By the type invariant; the driver owns the buffer.
        to_result(unsafe { bindings::skb_checksum_help(self.as_raw()) })
    }

    /// Whether the buffer is to be segmented (GSO).
    pub fn is_gso(&self) -> bool {
        // SAFETY: By the type invariant.
        unsafe { bindings::skb_is_gso(self.as_raw()) }
    }

    /// The segments' payload size if the buffer is a TCP segment over IPv4 or IPv6 to be
    /// segmented (TSO), else 0.
    pub fn gso_tcp_size(&self) -> u32 {
        // SAFETY: By the type invariant.
        unsafe { bindings::skb_gso_tcp_size(self.as_raw()) }
    }

    /// Marks a received frame's checksums as verified by the device (`CHECKSUM_UNNECESSARY`).
    pub fn set_checksum_unnecessary(&mut self) {
        // SAFETY: By the type invariant; the driver owns the buffer.
        unsafe { bindings::skb_set_csum_unnecessary(self.as_raw()) }
    }

    /// The linear part of the frame.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `data` points to `skb_headlen` initialised bytes owned by the buffer.
        unsafe {
            core::slice::from_raw_parts(
                (*self.as_raw()).data,
                bindings::skb_headlen(self.as_raw()) as usize,
            )
        }
    }

    /// Sets the protocol from the Ethernet header and pulls the header, as received on `dev`;
    /// `EINVAL` if the linear part is shorter than a header.
    pub fn eth_type_trans<T>(&mut self, dev: &dev::Device<T>) -> Result {
        if self.data().len() < bindings::ETH_HLEN as usize {
            return Err(EINVAL);
        }
        // SAFETY: The linear part holds at least `ETH_HLEN` bytes, checked above.
        unsafe { bindings::skb_eth_type_trans(self.as_raw(), dev.as_raw()) };
        Ok(())
    }

    /// Frees the buffer as successfully used (transmitted), from any context.
    pub fn consume(self) {
        // SAFETY: We give up our reference.
        unsafe { bindings::dev_consume_skb_any(self.into_raw()) }
    }

    /// Frees the buffer as dropped for `reason`, from any context.
    pub fn drop_reason(self, reason: DropReason) {
        // SAFETY: We give up our reference; `reason` is a valid drop reason.
        unsafe { bindings::dev_kfree_skb_any_reason(self.into_raw(), reason as _) }
    }

    /// Maps the frame for the device to read (transmit). The frame must be linear.
    pub fn map_to_device(self, dev: &Device) -> core::result::Result<Mapped, Self> {
        if !self.is_linear() {
            return Err(self);
        }
        let len = self.len();
        Mapped::new(self, dev, len, bindings::dma_data_direction_DMA_TO_DEVICE)
    }

    /// Maps the frame, its linear part and each fragment, for the device to read (transmit).
    pub fn map_pieces(self, dev: &Device) -> core::result::Result<MappedPieces, Self> {
        // SAFETY: By the type invariant.
        let frags = unsafe { bindings::skb_nr_frags(self.as_raw()) } as usize;
        let mut pieces = match KVec::with_capacity(frags, GFP_ATOMIC) {
            Ok(v) => v,
            Err(_) => return Err(self),
        };
        // SAFETY: By the type invariant.
        let headlen = unsafe { bindings::skb_headlen(self.as_raw()) };
        let head = Mapped::new(
            self,
            dev,
            headlen,
            bindings::dma_data_direction_DMA_TO_DEVICE,
        )?;
        let raw = head.skb.as_raw();
        for i in 0..frags as u32 {
            // SAFETY: `i` is below `nr_frags`; the fragment stays while the buffer does, which
            // the mapping owns until it unmaps.
            let (addr, len) = unsafe {
                (
                    bindings::skb_frag_dma_map_to_device(dev.as_raw(), raw, i),
                    bindings::skb_frag_len(raw, i),
                )
            };
            // SAFETY: `addr` was just returned for `dev`.
            if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
                let m = MappedPieces {
                    head: core::mem::ManuallyDrop::new(head),
                    frags: pieces,
                };
                return Err(m.unmap());
            }
            // Cannot fail: the capacity was reserved above.
            let _ = pieces.push((addr, len), GFP_ATOMIC);
        }
        // INVARIANT: Mapped above.
        Ok(MappedPieces {
            head: core::mem::ManuallyDrop::new(head),
            frags: pieces,
        })
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own a reference, which is given up here.
        unsafe {
            bindings::dev_kfree_skb_any_reason(
                self.as_raw(),
                bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
            )
        }
    }
}

/// A buffer mapped for streaming DMA: the device may access its data until it is unmapped.
///
/// The device must stay bound while mappings exist; a netdev's buffers satisfy this, since
/// the netdev is unregistered (and its rings emptied) before its device unbinds.
///
/// # Invariants
///
/// `addr` is a mapping of `len` bytes at the buffer's `data` for `dev` in direction `dir`.
pub struct Mapped {
    skb: core::mem::ManuallyDrop<SkBuff>,
    dev: ARef<Device>,
    addr: DmaAddress,
    len: u32,
    dir: bindings::dma_data_direction,
}

impl Mapped {
    fn new(
        skb: SkBuff,
        dev: &Device,
        len: u32,
        dir: bindings::dma_data_direction,
    ) -> core::result::Result<Self, SkBuff> {
        // SAFETY: `data` has at least `len` bytes (checked by the callers) that stay allocated
        // while the buffer is, which the mapping owns until it unmaps.
        let addr = unsafe {
            bindings::dma_map_single(dev.as_raw(), (*skb.as_raw()).data.cast(), len as usize, dir)
        };
        // SAFETY: `addr` was just returned for `dev`.
        if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
            return Err(skb);
        }
        // INVARIANT: Mapped above.
        Ok(Self {
            skb: core::mem::ManuallyDrop::new(skb),
            dev: dev.into(),
            addr,
            len,
            dir,
        })
    }

    /// The address the device uses.
    pub fn dma_address(&self) -> DmaAddress {
        self.addr
    }

    /// The mapped length.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ends the mapping; what the device wrote is visible to the CPU afterwards.
    pub fn unmap(mut self) -> SkBuff {
        self.release();
        // SAFETY: `release` unmapped; the buffer is taken once and `self` is forgotten.
        let skb = unsafe { core::mem::ManuallyDrop::take(&mut self.skb) };
        // SAFETY: `dev` is dropped here, as `forget` would leak its reference.
        unsafe { core::ptr::drop_in_place(&mut self.dev) };
        core::mem::forget(self);
        skb
    }

    fn release(&mut self) {
        // SAFETY: By the type invariant; called once, by `unmap` or `drop`.
        unsafe {
            bindings::dma_unmap_single(self.dev.as_raw(), self.addr, self.len as usize, self.dir)
        };
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        self.release();
        // SAFETY: Unmapped above; the buffer is dropped once.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.skb) };
    }
}

/// A buffer to transmit with its linear part and each of its fragments mapped for streaming
/// DMA (see [`Mapped`]).
///
/// # Invariants
///
/// Each of `frags` is a mapping for `head`'s device, towards it, of the fragment of the same
/// index of `head`'s buffer, with its length.
pub struct MappedPieces {
    head: core::mem::ManuallyDrop<Mapped>,
    frags: KVec<(DmaAddress, u32)>,
}

impl MappedPieces {
    /// The frame's length.
    pub fn len(&self) -> u32 {
        self.head.skb.len()
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pieces' addresses and lengths, the linear part first.
    pub fn pieces(&self) -> impl Iterator<Item = (DmaAddress, u32)> + '_ {
        Iterator::chain(
            core::iter::once((self.head.addr, self.head.len)),
            self.frags.iter().copied(),
        )
    }

    /// How many pieces there are.
    pub fn count(&self) -> usize {
        1 + self.frags.len()
    }

    /// The buffer, to read its metadata.
    pub fn skb(&self) -> &SkBuff {
        &self.head.skb
    }

    /// Ends the fragments' mappings.
    fn unmap_frags(&mut self) {
        let dev = self.head.dev.as_raw();
        for (addr, len) in core::mem::take(&mut self.frags) {
            // SAFETY: By the type invariant; each is unmapped once, as `frags` is emptied.
            unsafe {
                bindings::dma_unmap_page_attrs(
                    dev,
                    addr,
                    len as usize,
                    bindings::dma_data_direction_DMA_TO_DEVICE,
                    0,
                )
            };
        }
    }

    /// Ends the mappings.
    pub fn unmap(mut self) -> SkBuff {
        self.unmap_frags();
        // SAFETY: `head` is taken once and `self`, whose `frags` is now empty (nothing to
        // free), is forgotten.
        let head = unsafe { core::mem::ManuallyDrop::take(&mut self.head) };
        core::mem::forget(self);
        head.unmap()
    }
}

impl Drop for MappedPieces {
    fn drop(&mut self) {
        self.unmap_frags();
        // SAFETY: Dropped once, here.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.head) };
    }
}
