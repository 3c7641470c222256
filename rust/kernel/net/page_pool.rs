// SPDX-License-Identifier: GPL-2.0

//! Receive buffers from a page pool (`struct page_pool`).
//!
//! A [`PagePool`] serves one receive queue: it hands out pages already mapped for its device
//! to write ([`PagePool::alloc`]), takes them back when the driver drops them or when the
//! stack frees the socket buffers built on them ([`Page::into_skb`] marks those for
//! recycling), and keeps them mapped between uses. The pool is listed by netdev netlink
//! (`page-pool-get`) with its netdev and NAPI context while it lives.
//!
//! Lifetimes: a [`Page`] holds no borrow of its pool, so that a driver can keep its pages in
//! a ring next to the pool. The pool's memory outlives its pages in any case: C frees a
//! destroyed pool only once every page it lent came back. What the driver must order is the
//! destruction itself, which is its last use of the NAPI context: the pool is destroyed
//! ([`PagePool`]'s `drop`) while the context is disabled, and best once the pages of the
//! ring went back, so that nothing is left in flight.
//!
//! C headers: [`include/net/page_pool/types.h`](srctree/include/net/page_pool/types.h),
//! [`include/net/page_pool/helpers.h`](srctree/include/net/page_pool/helpers.h)

use crate::{
    bindings,
    device::Device,
    dma::DmaAddress,
    error::from_err_ptr,
    net::{
        dev::{self, Napi},
        skb::SkBuff,
    },
    page::PAGE_SIZE,
    prelude::*,
};
use core::ptr::NonNull;

/// Where a received frame lies in a pool page: after `headroom` bytes for the stack's headers,
/// and followed by the socket buffer's shared information, which [`Page::into_skb`] builds in
/// place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxLayout {
    headroom: u32,
    len: u32,
    order: u32,
}

impl RxLayout {
    /// The layout for frames of up to `len` bytes: the stack's usual headroom
    /// (`NET_SKB_PAD + NET_IP_ALIGN`) and pages of the smallest order that hold it all.
    pub fn new(len: u32) -> Self {
        // SAFETY: No preconditions.
        let headroom = unsafe { bindings::skb_rx_headroom() };
        // SAFETY: No preconditions.
        let size = unsafe { bindings::skb_head_align(headroom + len) } as usize;
        let mut order = 0;
        while PAGE_SIZE << order < size {
            order += 1;
        }
        Self {
            headroom,
            len,
            order,
        }
    }

    /// The offset of the frame in its page.
    pub fn headroom(&self) -> u32 {
        self.headroom
    }

    /// The longest frame.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the frames are empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A page's size: `PAGE_SIZE << order`.
    pub fn truesize(&self) -> u32 {
        (PAGE_SIZE << self.order) as u32
    }
}

/// A page pool feeding one receive queue, its pages mapped for the device to write
/// (`PP_FLAG_DMA_MAP`). With `sync_for_device`, the pool also syncs the frame's area of a
/// page for the device (`PP_FLAG_DMA_SYNC_DEV`) each time it hands the page out again, so
/// that the driver only syncs what the device wrote, for the CPU ([`Page::sync_for_cpu`]).
///
/// Dropping the pool destroys it (`page_pool_destroy`): pages still out come back to it
/// later, and C frees it after the last one. A pool whose NAPI context is still enabled is
/// not destroyed but leaked, with an error in the log: a poll could still allocate from it.
///
/// # Invariants
///
/// `raw` is a pool created by `page_pool_create` for `napi`'s context and not destroyed;
/// `napi` stays added to its netdev while the pool exists.
pub struct PagePool {
    raw: NonNull<bindings::page_pool>,
    napi: NonNull<Napi>,
    layout: RxLayout,
}

// SAFETY: The pool may be used and destroyed from any thread; `alloc`'s callers guarantee the
// single-consumer rule, which does not depend on the thread.
unsafe impl Send for PagePool {}
// SAFETY: `&PagePool` only reads the pool's immutable parameters.
unsafe impl Sync for PagePool {}

impl PagePool {
    /// Creates a pool of up to `size` pages of `layout`, for receive queue `queue` of `netdev`,
    /// whose NAPI context `napi` consumes the pages, mapped for `dma`. Sleeps.
    ///
    /// # Safety
    ///
    /// `napi` must be added to `netdev` (`Builder::add_napi`) and stay so until the pool is
    /// dropped: C reads the context until the pool's destruction.
    pub unsafe fn new<T>(
        netdev: &dev::Device<T>,
        napi: &Napi,
        dma: &Device,
        queue: u32,
        layout: RxLayout,
        size: u32,
        sync_for_device: bool,
    ) -> Result<Self> {
        // SAFETY: The pointers are valid; the caller guarantees that the NAPI context outlives
        // the pool; the netdev's unregistration detaches the pools that name it.
        let raw = from_err_ptr(unsafe {
            bindings::page_pool_create_rx(
                dma.as_raw(),
                netdev.as_raw(),
                napi.as_raw(),
                queue,
                layout.order,
                size,
                sync_for_device,
                layout.headroom,
                layout.len,
            )
        })?;
        // INVARIANT: Just created for `napi`, which the caller keeps added (C returns an error
        // pointer, never null, on failure).
        Ok(Self {
            raw: NonNull::new(raw).ok_or(ENOMEM)?,
            napi: NonNull::from(napi),
            layout,
        })
    }

    /// The layout of the pool's pages.
    pub fn layout(&self) -> &RxLayout {
        &self.layout
    }

    /// A page, from the pool's cache or newly allocated and mapped, in atomic context; `None`
    /// when there is no memory.
    ///
    /// # Safety
    ///
    /// The allocation side of a pool is its NAPI context's, unlocked: the caller must run in
    /// that context's poll, or while the context is disabled (which also stops the stack from
    /// recycling pages straight into the cache). `&mut self` keeps allocations apart.
    pub unsafe fn alloc(&mut self) -> Option<Page> {
        // SAFETY: By the type invariant the pool is live; the caller guarantees the context.
        let page = unsafe {
            bindings::page_pool_alloc_pages(
                self.raw.as_ptr(),
                bindings::GFP_ATOMIC | bindings::__GFP_NOWARN,
            )
        };
        // INVARIANT: A page of this pool, mapped (`PP_FLAG_DMA_MAP`), whose reference we own.
        NonNull::new(page).map(|page| Page {
            page,
            pool: self.raw,
            layout: self.layout,
        })
    }
}

impl Drop for PagePool {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the context is still added.
        let napi = unsafe { self.napi.as_ref() };
        if napi.is_enabled() {
            // A poll could allocate from a destroyed pool; leaking it is safe.
            pr_err!("page pool destroyed with its NAPI context enabled: leaked\n");
            return;
        }
        // SAFETY: By the type invariant the pool is live; it is destroyed once, with its NAPI
        // context disabled, which C requires.
        unsafe { bindings::page_pool_destroy(self.raw.as_ptr()) };
    }
}

/// One page of a [`PagePool`], lent to the driver; dropping it gives it back to the pool.
///
/// # Invariants
///
/// `page` is a page of the pool `pool`, which mapped it for its device, and of `layout`;
/// this value owns the reference the pool lent. The pool's memory lives while the page is
/// out, destroyed or not.
pub struct Page {
    page: NonNull<bindings::page>,
    pool: NonNull<bindings::page_pool>,
    layout: RxLayout,
}

// SAFETY: A pool page may be given back, or turned into a socket buffer, from any thread.
unsafe impl Send for Page {}
// SAFETY: `&Page` only reads the page's DMA address.
unsafe impl Sync for Page {}

impl Page {
    /// The address at which the device sees the start of the page.
    pub fn dma_address(&self) -> DmaAddress {
        // SAFETY: By the type invariant the pool mapped the page.
        unsafe { bindings::page_pool_get_dma_addr(self.page.as_ptr()) }
    }

    /// The address at which the device is to write a frame (after the headroom).
    pub fn frame_address(&self) -> DmaAddress {
        self.dma_address() + DmaAddress::from(self.layout.headroom)
    }

    /// Makes the `len` bytes the device wrote at the frame's start visible to the CPU.
    pub fn sync_for_cpu(&self, len: u32) {
        let len = len.min(self.layout.len);
        // SAFETY: By the type invariant the pool is live and mapped the page; the range is
        // within the frame's area, which the pool's `offset` (the headroom) starts.
        unsafe {
            bindings::page_pool_dma_sync_for_cpu(self.pool.as_ptr(), self.page.as_ptr(), 0, len)
        }
    }

    /// A socket buffer built on the page around the `len` bytes of frame the device wrote
    /// (synced for the CPU with [`Page::sync_for_cpu`]), which gives the page back to the
    /// pool when the stack frees it; the page if `len` is too long or no buffer head could be
    /// allocated.
    pub fn into_skb(self, len: u32) -> core::result::Result<SkBuff, Self> {
        if len > self.layout.len {
            return Err(self);
        }
        // SAFETY: By the type invariant the page is ours and `truesize` long (the pool's
        // order); the layout leaves room for the shared information after `headroom + len`.
        let skb = unsafe {
            bindings::page_pool_build_skb(
                self.page.as_ptr(),
                self.layout.truesize(),
                self.layout.headroom,
                len,
            )
        };
        if skb.is_null() {
            return Err(self);
        }
        core::mem::forget(self);
        // SAFETY: A new buffer, whose reference we own; it now owns the page's reference.
        Ok(unsafe { SkBuff::from_raw(skb) })
    }

    /// A new socket buffer for `netdev` holding a copy of the `len` bytes of frame the device
    /// wrote (synced for the CPU with [`Page::sync_for_cpu`]), its head no larger than the
    /// frame needs, in atomic context; the page goes back to the pool (into its cache when
    /// called from the pool's NAPI poll). The page if `len` is too long or no buffer could be
    /// allocated.
    ///
    /// For short frames: a buffer built on the page ([`Page::into_skb`]) has the whole page as
    /// its `truesize`, which the receiving socket's buffer is charged, so that a socket whose
    /// reader lags holds a fraction of the short datagrams it would hold otherwise.
    pub fn copy_to_skb<T>(
        self,
        netdev: &dev::Device<T>,
        len: u32,
    ) -> core::result::Result<SkBuff, Self> {
        if len > self.layout.len {
            return Err(self);
        }
        // SAFETY: The netdev is valid; by the type invariant the page is ours, and of the
        // layout, whose frame area of `len` bytes at `headroom` lies within the page.
        let skb = unsafe {
            bindings::page_pool_copy_skb(
                netdev.as_raw(),
                self.page.as_ptr(),
                self.layout.headroom,
                len,
            )
        };
        if skb.is_null() {
            return Err(self);
        }
        // SAFETY: A new buffer, whose reference we own; it holds no reference to the page,
        // which goes back to the pool when `self` is dropped here.
        Ok(unsafe { SkBuff::from_raw(skb) })
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the page is the pool's, which lives while the page is
        // out; our reference goes back. Not straight into the cache: C picks that itself when
        // called from the pool's NAPI context.
        unsafe { bindings::page_pool_put_full_page(self.pool.as_ptr(), self.page.as_ptr(), false) }
    }
}
