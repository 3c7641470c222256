// SPDX-License-Identifier: GPL-2.0

//! PCI devices and drivers.
//!
//! A driver implements [`Driver`] and registers it with a pinned [`Registration`]. Its probe
//! and remove callbacks get a [`Device<Core>`]: a reference that only exists while the PCI core
//! holds the device lock for the call, which is what allows the operations that set the device
//! up (enabling it, mapping BARs, allocating interrupt vectors). Those resources are device
//! managed: the PCI core releases them when the driver unbinds, however long the driver's own
//! objects live.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

//! PCI devices and drivers.
//!
//! A driver implements [`Driver`], declares the functions it binds with [`pci_device_table!`]
//! and registers itself with a pinned [`Registration`]. Its probe callback gets a
//! [`Device<Core>`]: a reference that only exists while the PCI core holds the device lock for
//! the call, which is what allows the operations that set the device up (enabling it). The
//! resources it then takes (BAR mappings, interrupt vectors) need a [`Device<Bound>`] and are
//! device managed: they are released when the driver unbinds, however long the driver's own
//! objects live.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use crate::{
    alloc::KBox,
    bindings,
    device::{self, Bound, Core, DeviceContext, Normal},
    device_id,
    devres::{self, Devres},
    error::to_result,
    ffi::{c_int, c_void},
    init,
    io::{Io, IoRaw},
    irq::IrqRequest,
    prelude::*,
    str::CStr,
    types::{ARef, AlwaysRefCounted, ForeignOwnable, Opaque},
    ThisModule,
};
use core::{marker::PhantomData, ops::Deref, ops::RangeInclusive, ptr::NonNull};

/// A PCI device ID: vendor and device, any subsystem.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::pci_device_id);

impl DeviceId {
    /// Matches `vendor:device` with any subsystem vendor and device.
    pub const fn from_id(vendor: u16, device: u16) -> Self {
        // SAFETY: `pci_device_id` is plain data; all zeroes is a valid value.
        let mut id: bindings::pci_device_id = unsafe { core::mem::zeroed() };
        id.vendor = vendor as u32;
        id.device = device as u32;
        id.subvendor = !0;
        id.subdevice = !0;
        Self(id)
    }

    /// The vendor ID matched.
    pub const fn vendor_id(&self) -> u16 {
        self.0.vendor as u16
    }

    /// The device ID matched.
    pub const fn device_id(&self) -> u16 {
        self.0.device as u16
    }
}

/// A driver's table of PCI device IDs, each with driver information of type `U`.
pub type IdTable<U> = &'static dyn device_id::IdTable<DeviceId, U>;

/// The IDs of a table of `N` PCI device IDs as the C side reads them: `N` IDs and a zeroed
/// terminator.
///
/// # Invariants
///
/// `ids[i].driver_data == i`, and `sentinel` is all zeroes.
#[repr(C)]
pub struct RawIdArray<const N: usize> {
    ids: [DeviceId; N],
    sentinel: DeviceId,
}

impl<const N: usize> RawIdArray<N> {
    /// The size of the IDs in bytes, terminator included.
    pub const fn size(&self) -> usize {
        core::mem::size_of::<Self>()
    }
}

/// A table of `N` PCI device IDs, built at compile time by [`pci_device_table!`].
#[repr(C)]
pub struct IdArray<U, const N: usize> {
    raw: RawIdArray<N>,
    info: [U; N],
}

impl<U, const N: usize> IdArray<U, N> {
    /// Builds the table; `info[i]` belongs to `ids[i]`. Use [`pci_device_table!`].
    #[doc(hidden)]
    pub const fn new(mut ids: [DeviceId; N], info: [U; N]) -> Self {
        let mut i = 0;
        while i < N {
            ids[i].0.driver_data = i as bindings::kernel_ulong_t;
            i += 1;
        }
        // INVARIANT: Set above; the sentinel is zeroed.
        Self {
            raw: RawIdArray {
                ids,
                // SAFETY: `pci_device_id` is plain data; all zeroes is a valid value.
                sentinel: DeviceId(unsafe { core::mem::zeroed() }),
            },
            info,
        }
    }

    /// The IDs, in the order of the table.
    pub const fn ids(&self) -> &[DeviceId; N] {
        &self.raw.ids
    }

    /// The IDs as the C side reads them, for [`module_device_table!`](crate::module_device_table).
    pub const fn raw_ids(&self) -> &RawIdArray<N> {
        &self.raw
    }
}

impl<U: Sync, const N: usize> device_id::IdTable<DeviceId, U> for IdArray<U, N> {
    fn as_ptr(&self) -> *const DeviceId {
        self.raw.ids.as_ptr()
    }

    fn info(&self, index: usize) -> Option<&U> {
        self.info.get(index)
    }
}

/// Declares a table of PCI device IDs, each with its driver information, and exports it for
/// module autoloading as the static `MODULE_PCI_TABLE` (see
/// [`module_device_table!`](crate::module_device_table)):
///
/// ```ignore
/// kernel::pci_device_table!(PCI_TABLE, MODULE_PCI_TABLE, <MyDriver as pci::Driver>::IdInfo,
///     [(pci::DeviceId::from_id(0x1af4, 0x1110), ())]);
/// ```
#[macro_export]
macro_rules! pci_device_table {
    ($table_name:ident, $module_table_name:ident, $id_info_type:ty,
     [$(($id:expr, $info:expr)),* $(,)?]) => {
        const $table_name: $crate::pci::IdArray<$id_info_type, { [$($crate::pci_device_table!(@one $id)),*].len() }> =
            $crate::pci::IdArray::new([$($id),*], [$($info),*]);
        $crate::module_device_table!("pci", $module_table_name, $table_name);
    };
    (@one $id:expr) => { () };
}

/// A PCI driver. The implementing type is the driver's per-device data.
pub trait Driver: Send + Sync + Sized + 'static {
    /// Information attached to each entry of [`Driver::ID_TABLE`].
    type IdInfo: Sync + 'static;

    /// The driver's name, as sysfs shows it.
    const NAME: &'static CStr;

    /// The devices the driver may bind to.
    const ID_TABLE: IdTable<Self::IdInfo>;

    /// Binds to `dev`, which matched the entry with `info`.
    ///
    /// The returned data is dropped when the driver unbinds, before the device-managed
    /// resources are released: teardown belongs in its `Drop`, in field order.
    fn probe(dev: &Device<Core>, info: &Self::IdInfo) -> Result<Pin<KBox<Self>>>;

    /// The system is going down (reboot, power off, kexec): stop the device from doing DMA
    /// or raising interrupts, as the next kernel finds it. The driver stays bound.
    fn shutdown(&self, _dev: &Device<Core>) {}

    /// Whether the PCI core is to call the error and reset callbacks below. Without them, an
    /// error on the link or a reset of the function leaves the driver out of step.
    const RECOVERS: bool = false;

    /// An error was detected on the link (AER): `state` says whether I/O still works. Stop
    /// using the device; ask for a reset ([`ErsResult::NeedReset`]) or give up on it
    /// ([`ErsResult::Disconnect`]).
    fn error_detected(&self, _dev: &Device<Core>, _state: ChannelState) -> ErsResult {
        ErsResult::NeedReset
    }

    /// The link or the slot was reset: set the device up again ([`ErsResult::Recovered`]).
    fn slot_reset(&self, _dev: &Device<Core>) -> ErsResult {
        ErsResult::Disconnect
    }

    /// The recovery is over: resume normal work.
    fn resume(&self, _dev: &Device<Core>) {}

    /// The function is about to be reset (FLR from sysfs, ...): stop using it.
    fn reset_prepare(&self, _dev: &Device<Core>) {}

    /// The reset of [`Driver::reset_prepare`] is done: set the device up again.
    fn reset_done(&self, _dev: &Device<Core>) {}
}

/// What [`Driver::error_detected`] learns of the link (`pci_channel_state_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// I/O still works.
    Normal,
    /// I/O is blocked until the link is reset.
    Frozen,
    /// The device is gone for good.
    PermanentFailure,
}

impl ChannelState {
    fn from_raw(state: u32) -> Self {
        // The values of `enum pci_channel_state` (bindgen does not see them: they are casts).
        match state {
            1 => Self::Normal,
            2 => Self::Frozen,
            _ => Self::PermanentFailure,
        }
    }
}

/// A recovery step's outcome (`pci_ers_result_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErsResult {
    /// Nothing to say.
    None,
    /// The driver can recover without a reset.
    CanRecover,
    /// A reset is needed.
    NeedReset,
    /// The device cannot be recovered.
    Disconnect,
    /// The device works again.
    Recovered,
}

impl ErsResult {
    fn to_raw(self) -> u32 {
        // `PCI_ERS_RESULT_*` (casts in C, which bindgen does not see).
        match self {
            Self::None => 1,
            Self::CanRecover => 2,
            Self::NeedReset => 3,
            Self::Disconnect => 4,
            Self::Recovered => 5,
        }
    }
}

/// The error handlers of driver `T`.
struct ErrorHandlers<T>(PhantomData<T>);

impl<T: Driver> ErrorHandlers<T> {
    const TABLE: bindings::pci_error_handlers = bindings::pci_error_handlers {
        error_detected: Some(error_detected_callback::<T>),
        mmio_enabled: None,
        slot_reset: Some(slot_reset_callback::<T>),
        reset_prepare: Some(reset_prepare_callback::<T>),
        reset_done: Some(reset_done_callback::<T>),
        resume: Some(resume_callback::<T>),
        cor_error_detected: None,
    };
}

/// Runs `f` on the driver data of `pdev`, if it is bound.
///
/// # Safety
///
/// `pdev` is valid and locked for the call, and bound to `T` or without driver data.
unsafe fn with_bound<T: Driver, R>(
    pdev: *mut bindings::pci_dev,
    f: impl FnOnce(&T, &Device<Core>) -> R,
) -> Option<R> {
    // SAFETY: `pdev` is valid.
    let data = unsafe { bindings::pci_get_drvdata(pdev) };
    if data.is_null() {
        return None;
    }
    // SAFETY: A bound device's data is what `probe_callback::<T>` stored, until
    // `remove_callback::<T>` takes it back, which cannot run while the device is locked.
    let this = unsafe { <Pin<KBox<T>> as ForeignOwnable>::borrow(data) };
    // SAFETY: The device is valid and locked for the call: the `Core` context.
    Some(f(&this, unsafe { Device::<Core>::from_raw(pdev) }))
}

/// The C `error_detected` callback.
///
/// # Safety
///
/// Called by the PCI core with a valid `pdev` of driver `T`, under its device lock.
unsafe extern "C" fn error_detected_callback<T: Driver>(
    pdev: *mut bindings::pci_dev,
    state: bindings::pci_channel_state_t,
) -> bindings::pci_ers_result_t {
    let state = ChannelState::from_raw(state);
    // SAFETY: By the function's safety requirements.
    unsafe { with_bound::<T, _>(pdev, |t, dev| t.error_detected(dev, state)) }
        .unwrap_or(ErsResult::None)
        .to_raw()
}

/// The C `slot_reset` callback.
///
/// # Safety
///
/// As [`error_detected_callback`].
unsafe extern "C" fn slot_reset_callback<T: Driver>(
    pdev: *mut bindings::pci_dev,
) -> bindings::pci_ers_result_t {
    // SAFETY: By the function's safety requirements.
    unsafe { with_bound::<T, _>(pdev, |t, dev| t.slot_reset(dev)) }
        .unwrap_or(ErsResult::None)
        .to_raw()
}

/// The C `resume` callback.
///
/// # Safety
///
/// As [`error_detected_callback`].
unsafe extern "C" fn resume_callback<T: Driver>(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the function's safety requirements.
    unsafe { with_bound::<T, _>(pdev, |t, dev| t.resume(dev)) };
}

/// The C `reset_prepare` callback.
///
/// # Safety
///
/// As [`error_detected_callback`].
unsafe extern "C" fn reset_prepare_callback<T: Driver>(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the function's safety requirements.
    unsafe { with_bound::<T, _>(pdev, |t, dev| t.reset_prepare(dev)) };
}

/// The C `reset_done` callback.
///
/// # Safety
///
/// As [`error_detected_callback`].
unsafe extern "C" fn reset_done_callback<T: Driver>(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the function's safety requirements.
    unsafe { with_bound::<T, _>(pdev, |t, dev| t.reset_done(dev)) };
}

/// The registration of a PCI driver with the PCI core, undone on drop.
///
/// # Invariants
///
/// `drv` is registered with the PCI core for as long as the `Registration` exists.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Driver> {
    #[pin]
    drv: Opaque<bindings::pci_driver>,
    _driver: PhantomData<T>,
}

// SAFETY: The registration only holds a C `pci_driver`, which the PCI core synchronises.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers driver `T` for `module`.
    pub fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: The closure initialises both fields of `slot`, which is pinned, and only
        // registers the driver after `drv` is in place; on error nothing needs dropping.
        unsafe {
            init::pin_init_from_closure(move |slot: *mut Self| {
                let drv = Opaque::raw_get(core::ptr::addr_of!((*slot).drv));
                // SAFETY: `pci_driver` is plain data; all zeroes is a valid value.
                let mut c: bindings::pci_driver = core::mem::zeroed();
                c.name = T::NAME.as_char_ptr();
                c.id_table = T::ID_TABLE.as_ptr().cast();
                c.probe = Some(probe_callback::<T>);
                c.remove = Some(remove_callback::<T>);
                c.shutdown = Some(shutdown_callback::<T>);
                if T::RECOVERS {
                    c.err_handler = &ErrorHandlers::<T>::TABLE;
                }
                drv.write(c);
                // INVARIANT: Registered here, unregistered in `drop`.
                to_result(bindings::__pci_register_driver(
                    drv,
                    module.as_ptr(),
                    T::NAME.as_char_ptr(),
                ))
            })
        }
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the driver is registered. Unregistering unbinds every
        // device, so the callbacks never run afterwards.
        unsafe { bindings::pci_unregister_driver(self.drv.get()) };
    }
}

/// The C probe callback.
///
/// # Safety
///
/// Called by the PCI core with a valid `pdev`, under its device lock, and an `id` from
/// `T::ID_TABLE`.
unsafe extern "C" fn probe_callback<T: Driver>(
    pdev: *mut bindings::pci_dev,
    id: *const bindings::pci_device_id,
) -> c_int {
    // SAFETY: By the function's safety requirements, the device is valid and locked for the
    // call: the `Core` context.
    let dev = unsafe { Device::<Core>::from_raw(pdev) };
    // SAFETY: `id` points into `T::ID_TABLE`.
    let index = unsafe { (*id).driver_data };
    let Some(info) = T::ID_TABLE.info(index) else {
        return EINVAL.to_errno();
    };
    match T::probe(dev, info) {
        Ok(data) => {
            // SAFETY: `pdev` is valid; the data is taken back in `remove_callback`.
            unsafe { bindings::pci_set_drvdata(pdev, data.into_foreign().cast_mut()) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// The C remove callback.
///
/// # Safety
///
/// Called by the PCI core with a valid `pdev` that `probe_callback::<T>` bound, under its
/// device lock.
unsafe extern "C" fn remove_callback<T: Driver>(pdev: *mut bindings::pci_dev) {
    // SAFETY: Probe succeeded (the core only calls remove then) and stored this pointer; the
    // device is locked for the call, so `Drop` still runs while it is bound.
    drop(unsafe { Pin::<KBox<T>>::from_foreign(bindings::pci_get_drvdata(pdev)) });
}

/// The C shutdown callback.
///
/// # Safety
///
/// Called by the driver core with a valid `pdev`, under its device lock; the driver is bound
/// or the device has no driver data.
unsafe extern "C" fn shutdown_callback<T: Driver>(pdev: *mut bindings::pci_dev) {
    // SAFETY: `pdev` is valid.
    let data = unsafe { bindings::pci_get_drvdata(pdev) };
    if data.is_null() {
        return;
    }
    // SAFETY: A bound device's data is what `probe_callback::<T>` stored, until
    // `remove_callback::<T>` takes it back, which cannot run during this call (device lock).
    let this = unsafe { <Pin<KBox<T>> as ForeignOwnable>::borrow(data) };
    // SAFETY: The device is valid and locked for the call: the `Core` context.
    this.shutdown(unsafe { Device::<Core>::from_raw(pdev) });
}

/// A PCI device (`struct pci_dev`), in context `Ctx` (see [`device`]).
///
/// # Invariants
///
/// The wrapped `pci_dev` is valid and meets the guarantees of `Ctx` for as long as the
/// reference exists.
#[repr(transparent)]
pub struct Device<Ctx: DeviceContext = Normal>(Opaque<bindings::pci_dev>, PhantomData<Ctx>);

impl<Ctx: DeviceContext> Device<Ctx> {
    /// # Safety
    ///
    /// `pdev` must be valid for `'a` and meet the guarantees of `Ctx` for as long.
    unsafe fn from_raw<'a>(pdev: *mut bindings::pci_dev) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper; validity is guaranteed by the caller.
        unsafe { &*pdev.cast() }
    }

    fn as_raw(&self) -> *mut bindings::pci_dev {
        self.0.get()
    }

    /// The bus address where BAR `bar` starts (its resource's start), 0 if it does not exist.
    pub fn resource_start(&self, bar: u32) -> u64 {
        if bar >= bindings::PCI_STD_NUM_BARS {
            return 0;
        }
        // SAFETY: The device is valid and `bar` is a standard BAR index, inside `resource`.
        unsafe { (*self.as_raw()).resource[bar as usize].start }
    }

    /// The length of BAR `bar`, 0 if it does not exist.
    pub fn resource_len(&self, bar: u32) -> u64 {
        if bar >= bindings::PCI_STD_NUM_BARS {
            return 0;
        }
        // SAFETY: The device is valid and `bar` is a standard BAR index.
        unsafe { bindings::pci_resource_len(self.as_raw(), bar as c_int) }
    }
}

/// A kind of interrupt, for [`IrqTypes`].
#[derive(Clone, Copy, Debug)]
pub enum IrqType {
    /// MSI-X.
    MsiX,
}

impl IrqType {
    const fn as_raw(self) -> u32 {
        match self {
            IrqType::MsiX => bindings::PCI_IRQ_MSIX,
        }
    }
}

/// The kinds of interrupt [`Device::alloc_irq_vectors`] may allocate (`PCI_IRQ_*`).
#[derive(Clone, Copy, Debug, Default)]
pub struct IrqTypes(u32);

impl IrqTypes {
    /// Adds `irq_type` to the set.
    pub const fn with(self, irq_type: IrqType) -> Self {
        Self(self.0 | irq_type.as_raw())
    }
}

/// Disables the device when dropped, at unbind.
struct Enabled(ARef<Device>);

impl Drop for Enabled {
    fn drop(&mut self) {
        // SAFETY: The device was enabled by `enable_device_mem`, which registered this value.
        unsafe { bindings::pci_disable_device(self.0.as_raw()) };
    }
}

/// Frees the device's interrupt vectors when dropped, at unbind.
struct IrqVectors(ARef<Device>);

impl Drop for IrqVectors {
    fn drop(&mut self) {
        // SAFETY: The vectors were allocated by `alloc_irq_vectors`, which registered this
        // value after every IRQ registration on them could exist; devres releases those
        // registrations, added later, first.
        unsafe { bindings::pci_free_irq_vectors(self.0.as_raw()) };
    }
}

impl Device<Core> {
    /// Enables the device's memory decoding; it is disabled again when the driver unbinds.
    pub fn enable_device_mem(&self) -> Result {
        // SAFETY: The device is valid and bound (`Core`).
        to_result(unsafe { bindings::pci_enable_device_mem(self.as_raw()) })?;
        // On failure the value is dropped, which disables the device again.
        devres::register(self.as_ref(), Enabled(self.into()))
    }

    /// Lets the device master the bus, i.e. do DMA.
    pub fn set_master(&self) {
        // SAFETY: The device is valid and bound (`Core`).
        unsafe { bindings::pci_set_master(self.as_raw()) };
    }
}

impl<Ctx: DeviceContext> Device<Ctx> {
    /// Lets the device master the bus again (`on`), or stops it: a device that cannot master
    /// the bus does no DMA, however it fails to answer its driver. For the driver bound to it.
    pub fn set_bus_master(&self, on: bool) {
        // SAFETY: The device is valid; the bit is a configuration write.
        unsafe {
            if on {
                bindings::pci_set_master(self.as_raw())
            } else {
                bindings::pci_clear_master(self.as_raw())
            }
        };
    }
}

impl Device<Bound> {
    /// Requests BAR `bar` for `name` and maps its first `SIZE` bytes; fails with `ENODEV` if the
    /// BAR is shorter. The mapping is released at the latest when the driver unbinds.
    pub fn iomap_region_sized<const SIZE: usize>(
        &self,
        bar: u32,
        name: &'static CStr,
    ) -> Result<Devres<Bar<SIZE>>> {
        Devres::new(self.as_ref(), Bar::new(self.into(), bar, name)?)
    }

    /// Allocates between `min` and `max` interrupt vectors of the allowed `types`, and returns
    /// the range of their indices. They are freed when the driver unbinds, after every IRQ
    /// registered on them through [`crate::irq::Registration`].
    pub fn alloc_irq_vectors(
        &self,
        min: u32,
        max: u32,
        types: IrqTypes,
    ) -> Result<RangeInclusive<u32>> {
        // SAFETY: The device is valid and bound.
        let n = unsafe { bindings::pci_alloc_irq_vectors(self.as_raw(), min, max, types.0) };
        to_result(n)?;
        // On failure the value is dropped, which frees the vectors again.
        devres::register(self.as_ref(), IrqVectors(self.into()))?;
        Ok(0..=(n as u32).saturating_sub(1))
    }

    /// The interrupt of vector `index`, to register a handler for.
    pub fn irq_vector(&self, index: u32) -> Result<IrqRequest<'_>> {
        // SAFETY: The device is valid; out-of-range indices return an error.
        let irq = unsafe { bindings::pci_irq_vector(self.as_raw(), index) };
        to_result(irq)?;
        // SAFETY: `irq` is the interrupt of one of the device's vectors, which stay allocated
        // while it is bound (see `alloc_irq_vectors`).
        Ok(unsafe { IrqRequest::new(self.as_ref(), irq as u32) })
    }
}

// SAFETY: `Device<Ctx>` is a transparent wrapper of `pci_dev` for every `Ctx`.
crate::impl_device_context_deref!(unsafe { Device });
crate::impl_device_context_into_aref!(Device);

impl<Ctx: DeviceContext> AsRef<device::Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: The embedded `struct device` is valid, in the same context, for as long as
        // the `pci_dev` is.
        unsafe { device::Device::from_raw(core::ptr::addr_of_mut!((*self.as_raw()).dev)) }
    }
}

impl<'a, Ctx: DeviceContext> TryFrom<&'a device::Device<Ctx>> for &'a Device<Ctx> {
    type Error = Error;

    /// The PCI device around `dev`; `EINVAL` if `dev` is not on the PCI bus.
    fn try_from(dev: &'a device::Device<Ctx>) -> Result<Self> {
        // SAFETY: `dev` is valid; its bus does not change while it exists.
        let bus = unsafe { (*dev.as_raw()).bus };
        if bus != core::ptr::addr_of!(bindings::pci_bus_type) {
            return Err(EINVAL);
        }
        // SAFETY: A device on the PCI bus is the `dev` field of a `pci_dev`, valid as long as
        // `dev`, in the same context.
        Ok(unsafe {
            let pdev = container_of!(dev.as_raw(), bindings::pci_dev, dev).cast_mut();
            Device::from_raw(pdev)
        })
    }
}

// SAFETY: `pci_dev_get` and `pci_dev_put` manage the reference count of a `pci_dev`.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The existence of `&self` proves the reference count is non-zero.
        unsafe { bindings::pci_dev_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it holds.
        unsafe { bindings::pci_dev_put(obj.cast().as_ptr()) };
    }
}

// SAFETY: A `pci_dev` may be used and released from any thread.
unsafe impl Send for Device {}
// SAFETY: The methods of `&Device` only read fields that do not change or call thread-safe C
// functions.
unsafe impl<Ctx: DeviceContext> Sync for Device<Ctx> {}

/// A requested and mapped PCI BAR, unmapped and released on drop.
///
/// # Invariants
///
/// `io` describes `pci_iomap`'s mapping of BAR `num` of `pdev`, whose region is requested.
pub struct Bar<const SIZE: usize = 0> {
    pdev: ARef<Device>,
    io: IoRaw<SIZE>,
    num: c_int,
}

impl<const SIZE: usize> Bar<SIZE> {
    fn new(pdev: ARef<Device>, bar: u32, name: &'static CStr) -> Result<Self> {
        if (pdev.resource_len(bar) as u128) < SIZE as u128 || SIZE == 0 {
            return Err(ENODEV);
        }
        let num = bar as c_int;
        // SAFETY: `pdev` is valid; `name` is static, as the resource keeps a pointer to it.
        to_result(unsafe { bindings::pci_request_region(pdev.as_raw(), num, name.as_char_ptr()) })?;
        // SAFETY: The region is ours; `SIZE` is within the BAR (checked above).
        let addr = unsafe { bindings::pci_iomap(pdev.as_raw(), num, SIZE as _) };
        let io = NonNull::new(addr)
            .ok_or(ENOMEM)
            .and_then(|a| IoRaw::new(a.as_ptr() as usize, SIZE));
        match io {
            // INVARIANT: Requested and mapped above.
            Ok(io) => Ok(Self { pdev, io, num }),
            Err(e) => {
                if !addr.is_null() {
                    // SAFETY: Mapped above.
                    unsafe { bindings::pci_iounmap(pdev.as_raw(), addr) };
                }
                // SAFETY: Requested above.
                unsafe { bindings::pci_release_region(pdev.as_raw(), num) };
                Err(e)
            }
        }
    }
}

impl<const SIZE: usize> Drop for Bar<SIZE> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, the mapping and the region are ours to release.
        unsafe {
            bindings::pci_iounmap(self.pdev.as_raw(), self.io.addr() as *mut c_void);
            bindings::pci_release_region(self.pdev.as_raw(), self.num);
        }
    }
}

impl<const SIZE: usize> Deref for Bar<SIZE> {
    type Target = Io<SIZE>;

    fn deref(&self) -> &Io<SIZE> {
        // SAFETY: By the type invariant, the mapping is valid while `self` lives.
        unsafe { Io::from_raw(&self.io) }
    }
}

impl crate::dma::Device for Device<Core> {}
