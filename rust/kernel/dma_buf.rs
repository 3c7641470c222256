// SPDX-License-Identifier: GPL-2.0

//! Buffer sharing between devices (dma-buf): exporting a range of a PCI BAR, and importing a
//! dma-buf for a device's DMA.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! An [`Export`] is a window of a PCI device's BAR (device memory) handed to other devices as a
//! dma-buf. Its rules:
//!
//! - Peer-to-peer only: an importer attaches if it accepts peer-to-peer mappings
//!   (`allow_peer2peer`), handles `move_notify`, and is a PCI function on the same PCI bus as
//!   the exporter, where a transaction to the BAR crosses no bridge and no host bridge.
//!   `pci_p2pdma_distance()` is not used: it needs `CONFIG_PCI_P2PDMA` and refuses every
//!   host bridge that it does not list, QEMU's i440FX among them.
//! - Dynamic: the export has `pin` and `unpin` (the memory never moves; pinning succeeds until
//!   the export is revoked). Mapping and unmapping take the buffer's reservation lock, as the
//!   dma-buf core requires of dynamic exporters.
//! - Revocable: [`Export::revoke`] (the device goes away or resets, or its owner lets the
//!   memory go) marks the export revoked and calls `dma_buf_move_notify()` under the
//!   reservation lock; every importer then stops its DMA and unmaps. Later attachments, pins
//!   and mappings fail with `ENODEV`. An importer without `move_notify` could not be told, so
//!   it is refused at attach.
//! - CPU mappings (`mmap` of the dma-buf, shared only): the BAR pages are mapped uncached
//!   ([`VmArea::map_io_on_fault`]), one page per fault, while the export is not revoked;
//!   [`Export::revoke`] zaps every CPU mapping of the buffer, so a later access faults
//!   (`SIGBUS`) instead of reaching memory the next user owns. A BAR mapped uncached is
//!   coherent with the devices' DMA: there is no `begin_cpu_access` / `end_cpu_access`.
//!
//! An [`Attachment`] is the importer's side: a device attached to a dma-buf from a file
//! descriptor, which maps it for DMA and is told through [`Importer::move_notify`] when the
//! exporter revokes it; the abstraction then unmaps it.

use crate::{
    bindings,
    device::{self, Bound},
    error::{from_err_ptr, to_result},
    mm::{FaultResult, IoFault, VmArea, VmFault},
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    types::{ARef, Opaque},
    ThisModule,
};
use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

/// `O_ACCMODE | O_CLOEXEC`: the flags an export's file descriptor may be given.
pub const FD_FLAGS: u32 = bindings::O_ACCMODE | bindings::O_CLOEXEC;

/// The PCI bus of `dev`, if it is a PCI function.
///
/// # Safety
///
/// `dev` must be a valid device.
unsafe fn pci_bus_of(dev: *mut bindings::device) -> Option<*mut bindings::pci_bus> {
    // SAFETY: `dev` is valid (the function's safety requirements); only the address of the
    // PCI bus type is taken.
    let is_pci = unsafe { ptr::eq((*dev).bus, ptr::addr_of!(bindings::pci_bus_type)) };
    if !is_pci {
        return None;
    }
    // SAFETY: A device on the PCI bus is the `dev` member of a `struct pci_dev`.
    let pdev = unsafe { crate::container_of!(dev, bindings::pci_dev, dev) };
    // SAFETY: `pdev` is valid as `dev` is.
    Some(unsafe { (*pdev).bus })
}

/// The exported buffer while it lives: set by [`Export::export`], cleared by the release op.
struct Live(*mut bindings::dma_buf);

// SAFETY: The pointer is only used under the `Export::live` lock, while the buffer exists.
unsafe impl Send for Live {}

/// A window of a PCI BAR exported as a dma-buf, with the owner's `data`.
///
/// # Invariants
///
/// `live` holds the buffer from its export until its release op, which clears it under the
/// lock: a pointer read under the lock is valid while the lock is held.
#[pin_data]
pub struct Export<T: Send + Sync + 'static> {
    /// The exporting function, held for the p2p check.
    provider: ARef<device::Device>,
    /// Its PCI bus.
    bus: *mut bindings::pci_bus,
    /// First bus address of the window (a physical address: the BAR's resource).
    phys: u64,
    size: usize,
    #[pin]
    live: Mutex<Live>,
    /// Held by a CPU fault while it maps a page, and by [`Export::revoke`] while it sets
    /// `revoked`: a fault maps no page after the revocation's zap.
    #[pin]
    cpu: Mutex<()>,
    revoked: AtomicBool,
    /// Whether the dma-buf was released (every file and attachment gone).
    released: AtomicBool,
    /// Mappings handed to importers and not yet unmapped.
    mapped: AtomicUsize,
    data: T,
}

// SAFETY: `bus` is only compared, and lives as long as `provider` (a device holds its parent);
// the rest is `Send` and `Sync`.
unsafe impl<T: Send + Sync + 'static> Send for Export<T> {}
// SAFETY: See above.
unsafe impl<T: Send + Sync + 'static> Sync for Export<T> {}

impl<T: Send + Sync + 'static> Export<T> {
    /// An export of the `size` bytes at `offset` in BAR `bar` of `pdev` (page aligned, inside the
    /// BAR), not yet a dma-buf: see [`Export::export`]. `bound` is `pdev`'s device, bound (its
    /// BARs are its resources).
    pub fn new(
        pdev: &crate::pci::Device,
        bound: &device::Device<Bound>,
        bar: u32,
        offset: u64,
        size: usize,
        data: T,
    ) -> Result<Arc<Self>> {
        let dev: &device::Device = pdev.as_ref();
        let raw = dev.as_raw();
        if !ptr::eq(raw, bound.as_raw()) {
            return Err(EINVAL);
        }
        let page = crate::page::PAGE_SIZE as u64;
        let end = offset.checked_add(size as u64).ok_or(EINVAL)?;
        if size == 0 || offset % page != 0 || size as u64 % page != 0 {
            return Err(EINVAL);
        }
        if end > pdev.resource_len(bar) {
            return Err(EINVAL);
        }
        let phys = pdev.resource_start(bar) + offset;
        // SAFETY: `raw` is a valid device; it is a PCI function.
        let bus = unsafe { pci_bus_of(raw) }.ok_or(EINVAL)?;
        // SAFETY: `raw` is valid; `get_device` takes a reference of its own.
        let provider = unsafe { device::Device::get_device(raw) };
        Arc::pin_init(
            pin_init!(Self {
                provider,
                bus,
                phys,
                size,
                live <- new_mutex!(Live(ptr::null_mut())),
                cpu <- new_mutex!(()),
                revoked: AtomicBool::new(false),
                released: AtomicBool::new(false),
                mapped: AtomicUsize::new(0),
                data,
            }),
            GFP_KERNEL,
        )
    }

    /// The owner's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The window's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the export was revoked.
    pub fn revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }

    /// Whether the dma-buf was released: nobody holds or maps it any more.
    pub fn released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    /// Mappings importers hold.
    pub fn mapped(&self) -> usize {
        self.mapped.load(Ordering::Relaxed)
    }

    /// Exports the window as a dma-buf named `name` of `module` and returns a new file
    /// descriptor for it, opened with `flags` (within [`FD_FLAGS`]).
    pub fn export(
        self: &Arc<Self>,
        name: &'static CStr,
        module: &'static ThisModule,
        flags: u32,
    ) -> Result<i32> {
        if flags & !FD_FLAGS != 0 {
            return Err(EINVAL);
        }
        let mut live = self.live.lock();
        if !live.0.is_null() || self.revoked() {
            return Err(EINVAL);
        }
        let data = Arc::into_raw(self.clone());
        let info = bindings::dma_buf_export_info {
            exp_name: name.as_char_ptr(),
            owner: module.as_ptr(),
            ops: &Self::OPS,
            size: self.size,
            flags: bindings::O_RDWR as i32,
            resv: ptr::null_mut(),
            priv_: data.cast_mut().cast(),
        };
        // SAFETY: `info` is complete; on success the buffer owns the reference in `priv_`,
        // released by `release`.
        let dmabuf = match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
            Ok(d) => d,
            Err(e) => {
                // SAFETY: The export failed: the reference is still ours.
                drop(unsafe { Arc::from_raw(data) });
                return Err(e);
            }
        };
        // SAFETY: `dmabuf` is the buffer just exported.
        let fd = unsafe { bindings::dma_buf_fd(dmabuf, flags as i32) };
        if fd < 0 {
            drop(live);
            // SAFETY: Nothing else holds the buffer: this drops it, and `release` its reference.
            unsafe { bindings::dma_buf_put(dmabuf) };
            return Err(Error::from_errno(fd));
        }
        // INVARIANT: Set under the lock, cleared by `release`.
        live.0 = dmabuf;
        Ok(fd)
    }

    /// Revokes the export: importers are told to stop and unmap (`move_notify`), the CPU
    /// mappings of the buffer are zapped, and nothing attaches, pins or maps any more. Returns
    /// the mappings importers still hold, which should be none.
    ///
    /// Must not be called with a lock an importer's `move_notify` takes, nor under a process's
    /// mmap lock.
    pub fn revoke(&self) -> usize {
        let live = self.live.lock();
        {
            // A fault that maps a page holds `cpu`: it finished (its page is zapped below), or
            // it sees `revoked` and maps nothing.
            let _cpu = self.cpu.lock();
            self.revoked.store(true, Ordering::Release);
        }
        if !live.0.is_null() {
            // Each buffer has an inode of its own, whose mapping holds every CPU mapping of the
            // buffer, forked processes' included: all of them are zapped.
            // SAFETY: By the type invariant, the buffer is valid while `live` is locked, and so
            // is its file (released after the buffer's release op).
            unsafe { bindings::unmap_mapping_range((*(*live.0).file).f_mapping, 0, 0, 1) };
            // SAFETY: By the type invariant, the buffer is valid while `live` is locked.
            let resv = unsafe { (*live.0).resv };
            // SAFETY: `resv` is the buffer's reservation object; with it locked, importers are
            // told of the move.
            unsafe {
                bindings::dma_resv_lock(resv);
                bindings::dma_buf_move_notify(live.0);
                bindings::dma_resv_unlock(resv);
            }
        }
        self.mapped()
    }

    /// The export behind `dmabuf`.
    ///
    /// # Safety
    ///
    /// `dmabuf` must be a buffer `export` made, not yet released.
    unsafe fn from_buf<'a>(dmabuf: *mut bindings::dma_buf) -> &'a Self {
        // SAFETY: `priv_` holds a reference to `Self` until `release`.
        unsafe { &*(*dmabuf).priv_.cast::<Self>() }
    }

    const OPS: bindings::dma_buf_ops = {
        // SAFETY: `dma_buf_ops` is plain data; zeroes mean "no callback".
        let mut ops: bindings::dma_buf_ops = unsafe { core::mem::zeroed() };
        ops.attach = Some(Self::attach);
        ops.pin = Some(Self::pin);
        ops.unpin = Some(Self::unpin);
        ops.map_dma_buf = Some(Self::map);
        ops.unmap_dma_buf = Some(Self::unmap);
        ops.release = Some(Self::release);
        ops.mmap = Some(Self::mmap);
        ops
    };

    /// # Safety
    ///
    /// Called by the dma-buf core with a live buffer of ours and an area being set up for
    /// the buffer's file, under the mm's write lock.
    unsafe extern "C" fn mmap(
        dmabuf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> i32 {
        // SAFETY: `priv_` holds a reference to `Self` until `release`, which cannot run while
        // the buffer is being mapped: the area holds its file.
        let this = ManuallyDrop::new(unsafe { Arc::from_raw((*dmabuf).priv_.cast::<Self>()) });
        // SAFETY: By the function's safety requirements.
        let vma = unsafe { VmArea::from_raw(vma) };
        match this.mmap_cpu(vma) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// Maps the window into `vma` for the CPU, from page `vma.pgoff()` of the window on: pages
    /// are mapped as the process touches them, until the export is revoked.
    fn mmap_cpu(self: &Arc<Self>, vma: &VmArea) -> Result {
        if self.revoked() {
            return Err(ENODEV);
        }
        let pages = self.size >> crate::page::PAGE_SHIFT;
        let end = vma
            .pgoff()
            .checked_add(vma.len() >> crate::page::PAGE_SHIFT)
            .ok_or(EINVAL)?;
        if end > pages {
            return Err(EINVAL);
        }
        vma.map_io_on_fault(self.clone())
    }

    /// # Safety
    ///
    /// Called by the dma-buf core with a live buffer of ours and a new attachment.
    unsafe extern "C" fn attach(
        dmabuf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> i32 {
        // SAFETY: By the function's safety requirements.
        let this = unsafe { Self::from_buf(dmabuf) };
        if this.revoked() {
            return ENODEV.to_errno();
        }
        // SAFETY: `attach` is valid, and its device too.
        let (p2p, dynamic, bus) = unsafe {
            (
                (*attach).peer2peer,
                !(*attach).importer_ops.is_null(),
                pci_bus_of((*attach).dev),
            )
        };
        if !dynamic {
            // Could not be told of a revocation.
            return EOPNOTSUPP.to_errno();
        }
        if !p2p || bus != Some(this.bus) {
            // SAFETY: `attach->dev` is valid for the call.
            let importer = unsafe { device::Device::as_ref((*attach).dev) };
            crate::dev_info!(importer, "dma-buf: no peer-to-peer path to the exporter\n");
            return EOPNOTSUPP.to_errno();
        }
        0
    }

    /// # Safety
    ///
    /// Called by the dma-buf core with the reservation lock held.
    unsafe extern "C" fn pin(attach: *mut bindings::dma_buf_attachment) -> i32 {
        // SAFETY: `attach` and its buffer are valid.
        let this = unsafe { Self::from_buf((*attach).dmabuf) };
        if this.revoked() {
            ENODEV.to_errno()
        } else {
            0
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core with the reservation lock held.
    unsafe extern "C" fn unpin(_attach: *mut bindings::dma_buf_attachment) {}

    /// # Safety
    ///
    /// Called by the dma-buf core with the reservation lock held.
    unsafe extern "C" fn map(
        attach: *mut bindings::dma_buf_attachment,
        dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table {
        // SAFETY: `attach` and its buffer are valid.
        let (this, dev) = unsafe { (Self::from_buf((*attach).dmabuf), (*attach).dev) };
        // SAFETY: `dev` is the importer's, valid while attached.
        match unsafe { this.map_for(dev, dir) } {
            Ok(sgt) => {
                this.mapped.fetch_add(1, Ordering::Relaxed);
                sgt
            }
            Err(e) => e.to_ptr(),
        }
    }

    /// Chunks of a mapping, each at most this long (`sg_dma_len` is 32-bit).
    const CHUNK: usize = 1 << 30;

    /// # Safety
    ///
    /// `dev` must be valid.
    unsafe fn map_for(
        &self,
        dev: *mut bindings::device,
        dir: bindings::dma_data_direction,
    ) -> Result<*mut bindings::sg_table> {
        if self.revoked() {
            return Err(ENODEV);
        }
        let sgt = KBox::new(Opaque::<bindings::sg_table>::uninit(), GFP_KERNEL)?;
        let sgt = KBox::into_raw(sgt).cast::<bindings::sg_table>();
        let nents = self.size.div_ceil(Self::CHUNK);
        // SAFETY: `sgt` is writable memory for a table.
        let ret = unsafe { bindings::sg_alloc_table(sgt, nents as u32, bindings::GFP_KERNEL) };
        if let Err(e) = to_result(ret) {
            // SAFETY: `sgt` came from `KBox::into_raw` above.
            drop(unsafe { KBox::from_raw(sgt.cast::<Opaque<bindings::sg_table>>()) });
            return Err(e);
        }
        // SAFETY: The table was allocated with `nents` entries.
        let mut sg = unsafe { (*sgt).sgl };
        let mut done = 0;
        while done < self.size {
            let len = Self::CHUNK.min(self.size - done);
            // SAFETY: `dev` is valid; the range is inside the exporter's BAR, which stays
            // until the export is revoked.
            let addr = unsafe {
                bindings::dma_map_resource(
                    dev,
                    self.phys + done as u64,
                    len,
                    dir,
                    bindings::DMA_ATTR_SKIP_CPU_SYNC as _,
                )
            };
            // SAFETY: `addr` came from mapping for `dev`.
            if unsafe { bindings::dma_mapping_error(dev, addr) } != 0 {
                // SAFETY: `sgt` holds `done` bytes mapped for `dev`, for `dir`.
                unsafe { Self::free_table(dev, sgt, done, dir) };
                return Err(EIO);
            }
            // SAFETY: `sg` is an entry of the table.
            unsafe {
                bindings::sg_set_dma(sg, addr, len as u32);
                sg = bindings::sg_next(sg);
            }
            done += len;
        }
        Ok(sgt)
    }

    /// Unmaps the first `bytes` of `sgt` for `dev` and frees it.
    ///
    /// # Safety
    ///
    /// `sgt` must come from `map_for` for `dev` and `dir`, with at least `bytes` mapped.
    unsafe fn free_table(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        bytes: usize,
        dir: bindings::dma_data_direction,
    ) {
        // SAFETY: By the function's safety requirements.
        let mut sg = unsafe { (*sgt).sgl };
        let mut left = bytes;
        while left > 0 && !sg.is_null() {
            // SAFETY: `sg` is a mapped entry of the table.
            unsafe {
                let len = bindings::sg_dma_len(sg) as usize;
                bindings::dma_unmap_resource(
                    dev,
                    bindings::sg_dma_address(sg),
                    len,
                    dir,
                    bindings::DMA_ATTR_SKIP_CPU_SYNC as _,
                );
                left = left.saturating_sub(len);
                sg = bindings::sg_next(sg);
            }
        }
        // SAFETY: The table was allocated by `sg_alloc_table` in a `KBox`.
        unsafe {
            bindings::sg_free_table(sgt);
            drop(KBox::from_raw(sgt.cast::<Opaque<bindings::sg_table>>()));
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core with the reservation lock held, for a table `map` returned.
    unsafe extern "C" fn unmap(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    ) {
        // SAFETY: `attach` and its buffer are valid.
        let (this, dev) = unsafe { (Self::from_buf((*attach).dmabuf), (*attach).dev) };
        // SAFETY: `sgt` was mapped whole by `map_for` for `dev` and `dir`.
        unsafe { Self::free_table(dev, sgt, this.size, dir) };
        this.mapped.fetch_sub(1, Ordering::Relaxed);
    }

    /// # Safety
    ///
    /// Called by the dma-buf core once, when the buffer goes.
    unsafe extern "C" fn release(dmabuf: *mut bindings::dma_buf) {
        // SAFETY: `priv_` holds the reference `export` gave the buffer.
        let this = unsafe { Arc::from_raw((*dmabuf).priv_.cast::<Self>()) };
        // INVARIANT: Cleared under the lock before the buffer goes.
        this.live.lock().0 = ptr::null_mut();
        this.released.store(true, Ordering::Release);
    }
}

impl<T: Send + Sync + 'static> IoFault for Export<T> {
    fn fault(&self, fault: &VmFault) -> FaultResult {
        let pgoff = fault.pgoff();
        if pgoff >= self.size >> crate::page::PAGE_SHIFT {
            return FaultResult::SIGBUS;
        }
        let _cpu = self.cpu.lock();
        if self.revoked() {
            return FaultResult::SIGBUS;
        }
        let pfn = (self.phys >> crate::page::PAGE_SHIFT) as usize + pgoff;
        // SAFETY: `pfn` is a page of the exported window of the BAR (`pgoff` is inside it),
        // IO memory; it is mapped with `cpu` held and the export not revoked, and `revoke`
        // sets `revoked` under `cpu` before it zaps the buffer's mappings.
        unsafe { fault.insert_pfn(pfn) }
    }
}

/// What an importer does when the exporter revokes a buffer.
pub trait Importer: Send + Sync + 'static {
    /// The buffer is about to become unreachable: stop every DMA to it. Called with the
    /// buffer's reservation lock held; the abstraction unmaps it afterwards.
    fn move_notify(&self);
}

/// The importer's state the dma-buf core points to (`importer_priv`).
struct AttachState<T: Importer> {
    /// The mapping, if mapped: only accessed with the buffer's reservation lock held.
    sgt: UnsafeCell<*mut bindings::sg_table>,
    importer: T,
}

/// A device attached to a dma-buf, as a dynamic, peer-to-peer importer.
///
/// # Invariants
///
/// `dmabuf` is a buffer reference and `attach` an attachment of `state`'s, both held until
/// drop.
pub struct Attachment<T: Importer> {
    dmabuf: *mut bindings::dma_buf,
    attach: *mut bindings::dma_buf_attachment,
    state: KBox<AttachState<T>>,
    _p: PhantomData<T>,
}

// SAFETY: The buffer and attachment may be used and released from any thread; the mapping is
// only accessed under the buffer's reservation lock.
unsafe impl<T: Importer> Send for Attachment<T> {}
// SAFETY: See above.
unsafe impl<T: Importer> Sync for Attachment<T> {}

impl<T: Importer> Attachment<T> {
    const OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: true,
        move_notify: Some(Self::move_notify),
    };

    /// Attaches `dev` to the dma-buf of file descriptor `fd`.
    pub fn new(dev: &device::Device<Bound>, fd: i32, importer: T) -> Result<Self> {
        let state = KBox::new(
            AttachState {
                sgt: UnsafeCell::new(ptr::null_mut()),
                importer,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: Any `fd` may be asked for; a reference is returned.
        let dmabuf = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        let priv_ = ptr::from_ref::<AttachState<T>>(&state)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `dmabuf` is held, `dev` valid; `state` outlives the attachment (drop detaches
        // before it frees `state`).
        let attach =
            unsafe { bindings::dma_buf_dynamic_attach(dmabuf, dev.as_raw(), &Self::OPS, priv_) };
        let attach = match from_err_ptr(attach) {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: The reference from `dma_buf_get`.
                unsafe { bindings::dma_buf_put(dmabuf) };
                return Err(e);
            }
        };
        Ok(Self {
            dmabuf,
            attach,
            state,
            _p: PhantomData,
        })
    }

    /// The buffer's size in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: The buffer is held (type invariant).
        unsafe { (*self.dmabuf).size }
    }

    /// The importer's data.
    pub fn importer(&self) -> &T {
        &self.state.importer
    }

    /// Maps the buffer for the device and calls `f` with the mapping's ranges, as
    /// `(DMA address, bytes)` in order, under the reservation lock (so no revocation runs
    /// during `f`). `f` failing unmaps it again.
    pub fn map(&self, mut f: impl FnMut(&[(u64, usize)]) -> Result) -> Result {
        // SAFETY: The buffer is held; its reservation object lives as long.
        let resv = unsafe { (*self.dmabuf).resv };
        // SAFETY: `resv` is valid; it is unlocked below on every path.
        to_result(unsafe { bindings::dma_resv_lock(resv) })?;
        let ret = self.map_locked(&mut f);
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(resv) };
        ret
    }

    fn map_locked(&self, f: &mut impl FnMut(&[(u64, usize)]) -> Result) -> Result {
        let slot = self.state.sgt.get();
        // SAFETY: The reservation lock is held.
        if unsafe { !(*slot).is_null() } {
            return Err(EBUSY);
        }
        // SAFETY: The attachment is valid and the lock held.
        let sgt = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment(
                self.attach,
                bindings::dma_data_direction_DMA_BIDIRECTIONAL,
            )
        })?;
        let mut ranges = KVec::new();
        let ret = (|| {
            // SAFETY: `sgt` is a mapped table: walk its DMA entries.
            let (mut sg, n) = unsafe { ((*sgt).sgl, (*sgt).nents) };
            for _ in 0..n {
                // SAFETY: `sg` is an entry of the table.
                unsafe {
                    ranges.push(
                        (
                            bindings::sg_dma_address(sg),
                            bindings::sg_dma_len(sg) as usize,
                        ),
                        GFP_KERNEL,
                    )?;
                    sg = bindings::sg_next(sg);
                }
            }
            f(&ranges)
        })();
        match ret {
            // SAFETY: The lock is held.
            Ok(()) => unsafe { *slot = sgt },
            // SAFETY: `sgt` was mapped for this attachment above; the lock is held.
            Err(_) => unsafe {
                bindings::dma_buf_unmap_attachment(
                    self.attach,
                    sgt,
                    bindings::dma_data_direction_DMA_BIDIRECTIONAL,
                )
            },
        }
        ret
    }

    /// Unmaps the buffer if mapped.
    ///
    /// # Safety
    ///
    /// The buffer's reservation lock must be held.
    unsafe fn unmap_locked(attach: *mut bindings::dma_buf_attachment, state: &AttachState<T>) {
        let slot = state.sgt.get();
        // SAFETY: The lock is held (the function's safety requirements).
        let sgt = unsafe { core::mem::take(&mut *slot) };
        if !sgt.is_null() {
            // SAFETY: `sgt` was mapped for `attach`; the lock is held.
            unsafe {
                bindings::dma_buf_unmap_attachment(
                    attach,
                    sgt,
                    bindings::dma_data_direction_DMA_BIDIRECTIONAL,
                )
            };
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core, with the reservation lock held, for an attachment of ours.
    unsafe extern "C" fn move_notify(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: `importer_priv` is the `AttachState` that outlives the attachment.
        let state = unsafe { &*(*attach).importer_priv.cast::<AttachState<T>>() };
        state.importer.move_notify();
        // SAFETY: The lock is held.
        unsafe { Self::unmap_locked(attach, state) };
    }
}

impl<T: Importer> Drop for Attachment<T> {
    fn drop(&mut self) {
        // SAFETY: The buffer and the attachment are held (type invariant).
        unsafe {
            let resv = (*self.dmabuf).resv;
            // Uninterruptible without a ww context: cannot fail.
            bindings::dma_resv_lock(resv);
            Self::unmap_locked(self.attach, &self.state);
            bindings::dma_resv_unlock(resv);
            bindings::dma_buf_detach(self.dmabuf, self.attach);
            bindings::dma_buf_put(self.dmabuf);
        }
    }
}
