// SPDX-License-Identifier: GPL-2.0

//! The auxiliary bus: one driver splits its device into parts, each bound by its own driver.
//!
//! The parent creates auxiliary devices of a [`Kind`] with [`Registration`], attaching data of
//! the kind's type; a [`Driver`] for the same kind binds to them and receives that data. The
//! kind ties the two ends together, so the data's type is checked by the compiler, and at run
//! time the driver only accepts devices this code created for its kind.
//!
//! C header: [`include/linux/auxiliary_bus.h`](srctree/include/linux/auxiliary_bus.h)

use crate::{
    bindings,
    device::{self, Bound, Core, DeviceContext, Normal},
    devres::Devres,
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
    str::CStr,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};
use core::{any::TypeId, marker::PhantomData, ptr::NonNull};

/// A kind of auxiliary device: its name and the data its parent attaches to it.
pub trait Kind: 'static {
    /// The creating module's name, the first part of the device's name.
    const MODNAME: &'static CStr;
    /// The device name within the module.
    const NAME: &'static CStr;
    /// `MODNAME.NAME`, which drivers match on.
    const MATCH: &'static CStr;
    /// What the parent gives the driver.
    type Data: Send + Sync + 'static;
}

/// What every device that [`Registration::new`] creates starts with.
#[repr(C)]
struct Header {
    adev: Opaque<bindings::auxiliary_device>,
    /// Frees the [`Node`] around the header.
    free: unsafe fn(*mut Header),
    /// The [`Kind`] the device was created for.
    kind: TypeId,
}

/// An auxiliary device together with its data.
#[repr(C)]
struct Node<K: Kind> {
    header: Header,
    data: K::Data,
}

impl<K: Kind> Node<K> {
    /// # Safety
    ///
    /// `header` is the header of a `Node<K>` leaked from a `KBox`, no longer used.
    unsafe fn free(header: *mut Header) {
        // SAFETY: The header is the first field of a `repr(C)` `Node<K>`.
        drop(unsafe { KBox::from_raw(header.cast::<Node<K>>()) });
    }
}

/// Frees a [`Node`] once the last reference to its device is gone. Not generic, so that its
/// address identifies the devices [`Registration::new`] created.
///
/// # Safety
///
/// `dev` is the device at the start of a [`Header`] of a node leaked from a `KBox`.
unsafe extern "C" fn release(dev: *mut bindings::device) {
    let header = dev.cast::<Header>();
    // SAFETY: `dev` is the first field of `adev`, the first field of the `repr(C)` header,
    // whose `free` matches its node.
    unsafe { ((*header).free)(header) };
}

/// A registered auxiliary device, deleted when dropped, at the latest when its parent unbinds
/// ([`Registration::new`] returns it in a [`Devres`]): a bound auxiliary device always has a
/// bound parent.
///
/// # Invariants
///
/// `node` is a `Node<K>` whose device was added to the auxiliary bus and holds the reference
/// that `drop` puts.
pub struct Registration<K: Kind> {
    node: NonNull<Node<K>>,
}

// SAFETY: The device is deleted by `drop`, which may run on any thread; `K::Data` is `Send`.
unsafe impl<K: Kind> Send for Registration<K> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<K: Kind> Sync for Registration<K> {}

impl<K: Kind> Registration<K> {
    /// Creates auxiliary device `MODNAME.NAME.id` as a child of `parent`, carrying `data`. It is
    /// deleted when the returned value is dropped or when `parent` unbinds.
    pub fn new(parent: &device::Device<Bound>, id: u32, data: K::Data) -> Result<Devres<Self>> {
        let header = Header {
            adev: Opaque::uninit(),
            free: Node::<K>::free,
            kind: TypeId::of::<K>(),
        };
        let node = KBox::into_raw(KBox::new(Node::<K> { header, data }, GFP_KERNEL)?);
        // SAFETY: `node` is valid; its `adev` is zeroed and filled in before the C functions
        // see it.
        unsafe {
            let adev = Opaque::raw_get(core::ptr::addr_of!((*node).header.adev));
            adev.write(core::mem::zeroed());
            (*adev).dev.parent = parent.as_raw();
            (*adev).dev.release = Some(release);
            (*adev).name = K::NAME.as_char_ptr();
            (*adev).id = id;
            if let Err(e) = to_result(bindings::auxiliary_device_init(adev)) {
                // The device was never initialised: nothing else refers to the node.
                drop(KBox::from_raw(node));
                return Err(e);
            }
            if let Err(e) = to_result(bindings::__auxiliary_device_add(
                adev,
                K::MODNAME.as_char_ptr(),
            )) {
                // Puts the initial reference: `release` frees the node.
                bindings::put_device(core::ptr::addr_of_mut!((*adev).dev));
                return Err(e);
            }
        }
        // INVARIANT: The device was added above.
        let this = Self {
            // SAFETY: `KBox::into_raw` never returns null.
            node: unsafe { NonNull::new_unchecked(node) },
        };
        // If this fails, dropping `this` deletes the device.
        Devres::new(parent, this)
    }
}

impl<K: Kind> Drop for Registration<K> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device is added and we own a reference. Deleting
        // unbinds its driver; `put_device` may free the node, which is not used afterwards.
        unsafe {
            let adev = Opaque::raw_get(core::ptr::addr_of!((*self.node.as_ptr()).header.adev));
            bindings::device_del(core::ptr::addr_of_mut!((*adev).dev));
            bindings::put_device(core::ptr::addr_of_mut!((*adev).dev));
        }
    }
}

/// An auxiliary device (`struct auxiliary_device`), in context `Ctx` (see [`device`]).
///
/// # Invariants
///
/// The wrapped `auxiliary_device` is valid and meets the guarantees of `Ctx` for as long as the
/// reference exists.
#[repr(transparent)]
pub struct Device<Ctx: DeviceContext = Normal>(
    Opaque<bindings::auxiliary_device>,
    PhantomData<Ctx>,
);

impl<Ctx: DeviceContext> Device<Ctx> {
    fn as_raw(&self) -> *mut bindings::auxiliary_device {
        self.0.get()
    }

    /// The device's instance number, the `id` given to [`Registration::new`].
    pub fn id(&self) -> u32 {
        // SAFETY: `id` does not change while the device exists.
        unsafe { (*self.as_raw()).id }
    }
}

impl Device<Bound> {
    /// The parent device, which is bound as long as its child is: [`Registration`] deletes the
    /// child at the latest when the parent unbinds.
    pub fn parent(&self) -> &device::Device<Bound> {
        // SAFETY: The device was created by `Registration::new` (probe only accepts those),
        // which set a parent and keeps a reference to it through the device; the parent is bound
        // while this device is bound, see above.
        unsafe { device::Device::from_raw((*self.as_raw()).dev.parent) }
    }
}

// SAFETY: `Device<Ctx>` is a transparent wrapper of `auxiliary_device` for every `Ctx`.
crate::impl_device_context_deref!(unsafe { Device });

impl<Ctx: DeviceContext> AsRef<device::Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: The embedded `struct device` is valid, in the same context, for as long as the
        // auxiliary device is.
        unsafe { device::Device::from_raw(core::ptr::addr_of_mut!((*self.as_raw()).dev)) }
    }
}

/// A driver for auxiliary devices of one [`Kind`]. The implementing type is its per-device
/// data.
pub trait Driver: Send + Sync + Sized + 'static {
    /// The devices the driver binds to.
    type Kind: Kind;

    /// Binds to `dev`, whose parent attached `data`.
    ///
    /// The returned value is dropped when the driver unbinds; teardown belongs in its `Drop`.
    fn probe(dev: &Device<Core>, data: &<Self::Kind as Kind>::Data) -> Result<Pin<KBox<Self>>>;
}

/// The C probe callback.
///
/// # Safety
///
/// Called by the auxiliary bus with a valid, locked `adev` that matched `T::Kind::MATCH`.
unsafe extern "C" fn probe_callback<T: Driver>(
    adev: *mut bindings::auxiliary_device,
    _id: *const bindings::auxiliary_device_id,
) -> c_int {
    from_result(|| {
        // Another module could create a device with our name: accept only those made by
        // `Registration::new`, whose release function identifies a `Header` around `adev`, and
        // only for our kind, which the header names.
        // SAFETY: `adev` is valid for the call.
        let release_fn = unsafe { (*adev).dev.release };
        if release_fn.map(|f| f as *const ()) != Some(release as *const ()) {
            return Err(ENODEV);
        }
        // SAFETY: `adev` starts a `Header`, as its release function shows.
        if unsafe { (*adev.cast::<Header>()).kind } != TypeId::of::<T::Kind>() {
            return Err(ENODEV);
        }
        // SAFETY: The header says `Registration::<T::Kind>::new` created the device, embedded
        // first in a `Node<T::Kind>` that lives as long as the device.
        let node = unsafe { &*adev.cast::<Node<T::Kind>>() };
        // SAFETY: The device is bound and locked for the call: the `Core` context.
        let dev = unsafe { &*adev.cast::<Device<Core>>() };
        let data = T::probe(dev, &node.data)?;
        // SAFETY: `adev` is valid; the data is taken back in `remove_callback`.
        unsafe { bindings::auxiliary_set_drvdata(adev, data.into_foreign().cast_mut()) };
        Ok(0)
    })
}

/// The C remove callback.
///
/// # Safety
///
/// Called by the auxiliary bus for a device `probe_callback::<T>` bound, under its lock.
unsafe extern "C" fn remove_callback<T: Driver>(adev: *mut bindings::auxiliary_device) {
    // SAFETY: Probe stored this pointer; remove runs once, while the device is still bound.
    drop(unsafe { Pin::<KBox<T>>::from_foreign(bindings::auxiliary_get_drvdata(adev)) });
}

/// The registration of an auxiliary driver, undone on drop.
///
/// # Invariants
///
/// `drv` is registered for as long as the `Registration` exists, with `ids` as its table.
#[pin_data(PinnedDrop)]
pub struct DriverRegistration<T: Driver> {
    #[pin]
    drv: Opaque<bindings::auxiliary_driver>,
    #[pin]
    ids: Opaque<[bindings::auxiliary_device_id; 2]>,
    _driver: PhantomData<T>,
}

// SAFETY: The registration only holds C structures that the driver core synchronises.
unsafe impl<T: Driver> Send for DriverRegistration<T> {}
// SAFETY: `&DriverRegistration` gives no access to anything.
unsafe impl<T: Driver> Sync for DriverRegistration<T> {}

impl<T: Driver> DriverRegistration<T> {
    /// Registers driver `T` for `module`, named `MODNAME.NAME` after its kind.
    pub fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: The closure initialises every field of the pinned `slot` before registering
        // the driver; on error nothing needs dropping.
        unsafe {
            init::pin_init_from_closure(move |slot: *mut Self| {
                let ids = Opaque::raw_get(core::ptr::addr_of!((*slot).ids));
                // SAFETY: Plain data; all zeroes is a valid value and the table's terminator.
                let mut table: [bindings::auxiliary_device_id; 2] = core::mem::zeroed();
                let name = T::Kind::MATCH.as_bytes();
                if name.len() >= table[0].name.len() {
                    return Err(EINVAL);
                }
                for (d, s) in table[0].name.iter_mut().zip(name) {
                    *d = *s as _;
                }
                ids.write(table);

                let drv = Opaque::raw_get(core::ptr::addr_of!((*slot).drv));
                let mut c: bindings::auxiliary_driver = core::mem::zeroed();
                c.name = T::Kind::NAME.as_char_ptr();
                c.id_table = ids.cast();
                c.probe = Some(probe_callback::<T>);
                c.remove = Some(remove_callback::<T>);
                drv.write(c);
                // INVARIANT: Registered here, unregistered in `drop`.
                to_result(bindings::__auxiliary_driver_register(
                    drv,
                    module.as_ptr(),
                    T::Kind::MODNAME.as_char_ptr(),
                ))
            })
        }
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for DriverRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the driver is registered; unregistering unbinds every
        // device, so the callbacks never run afterwards.
        unsafe { bindings::auxiliary_driver_unregister(self.drv.get()) };
    }
}
