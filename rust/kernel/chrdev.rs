// SPDX-License-Identifier: GPL-2.0

//! Character device nodes of a driver's own region and class, with read-only sysfs attributes.
//!
//! The way a driver outside any subsystem numbers its nodes itself: a [`Region`] of minors under
//! one major, a [`Class`] (`/sys/class/<name>`) and, per node, a [`Node`] whose file operations
//! are a [`MiscDevice`]'s and whose device carries the [`Attributes`] of its registration data.
//!
//! C headers: [`include/linux/cdev.h`](srctree/include/linux/cdev.h),
//! [`include/linux/device/class.h`](srctree/include/linux/device/class.h)

use crate::{
    bindings,
    device::Device,
    error::to_result,
    ffi::{c_char, c_int},
    miscdevice::{open_file, FileOps as MiscFileOps, MiscDevice},
    new_mutex,
    prelude::*,
    sync::Mutex,
    types::Opaque,
};
use core::{
    fmt::Write,
    marker::PhantomData,
    sync::atomic::{AtomicU32, Ordering},
};

/// A class, `/sys/class/<name>`, declared as a `static` and registered by [`Class::register`].
pub struct Class(Opaque<bindings::class>);

// SAFETY: The C side synchronises every use of a registered class; it is not changed after
// construction.
unsafe impl Sync for Class {}

impl Class {
    /// A class named `name`.
    pub const fn new(name: &'static CStr) -> Self {
        // SAFETY: `class` is plain data; all zeroes means "no callback, no group".
        let mut c: bindings::class = unsafe { core::mem::zeroed() };
        c.name = name.as_char_ptr();
        Self(Opaque::new(c))
    }

    /// Registers the class until the returned guard is dropped.
    pub fn register(&'static self) -> Result<ClassRegistration> {
        // SAFETY: `self` is a valid class for the rest of the kernel's life.
        to_result(unsafe { bindings::class_register(self.0.get()) })?;
        // INVARIANT: Registered just now.
        Ok(ClassRegistration(self))
    }
}

/// A registered [`Class`], unregistered on drop.
///
/// # Invariants
///
/// The class is registered.
pub struct ClassRegistration(&'static Class);

impl Drop for ClassRegistration {
    fn drop(&mut self) {
        // SAFETY: Registered by the type invariant; its nodes are gone, as they hold it.
        unsafe { bindings::class_unregister(self.0 .0.get()) };
    }
}

/// A range of `count` minors under a dynamic major, declared as a `static` and allocated by
/// [`Region::register`].
pub struct Region {
    name: &'static CStr,
    count: u32,
    first: AtomicU32,
}

impl Region {
    /// A region of `count` minors named `name` (`/proc/devices`).
    pub const fn new(name: &'static CStr, count: u32) -> Self {
        Self {
            name,
            count,
            first: AtomicU32::new(0),
        }
    }

    /// Allocates the numbers until the returned guard is dropped.
    pub fn register(&'static self) -> Result<RegionRegistration> {
        let mut first: bindings::dev_t = 0;
        // SAFETY: `first` is writable; the name is a valid string for ever.
        to_result(unsafe {
            bindings::alloc_chrdev_region(&mut first, 0, self.count, self.name.as_char_ptr())
        })?;
        self.first.store(first, Ordering::Release);
        // INVARIANT: Allocated just now.
        Ok(RegionRegistration(self))
    }

    /// The device number of `minor`, `EINVAL` outside the region or before it is allocated.
    fn devt(&self, minor: u32) -> Result<bindings::dev_t> {
        let first = self.first.load(Ordering::Acquire);
        if first == 0 || minor >= self.count {
            return Err(EINVAL);
        }
        Ok(first + minor)
    }
}

/// An allocated [`Region`], released on drop.
///
/// # Invariants
///
/// The region's numbers are allocated, from `first`.
pub struct RegionRegistration(&'static Region);

impl Drop for RegionRegistration {
    fn drop(&mut self) {
        let first = self.0.first.swap(0, Ordering::AcqRel);
        // SAFETY: Allocated by the type invariant; no node uses them any more.
        unsafe { bindings::unregister_chrdev_region(first, self.0.count) };
    }
}

/// What `read(2)` of a sysfs attribute returns: at most a page, written with `write!`.
pub struct AttrBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for AttrBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The read-only sysfs attributes of a [`Node`]'s device, answered from its registration data.
pub trait Attributes: MiscDevice {
    /// The attributes' names, in `show`'s numbering.
    const NAMES: &'static [&'static CStr] = &[];

    /// Writes attribute `index`'s value (a line) to `buf`.
    fn show(_data: &Self::RegistrationData, _index: usize, _buf: &mut AttrBuf<'_>) -> Result {
        Err(EIO)
    }
}

/// The file operations of a [`Node`] of `T`: `T`'s, opened through the node's character device.
///
/// Declare one `static` per implementation with
/// [`declare_chrdev_fops!`](crate::declare_chrdev_fops): open files keep a reference to it, and
/// through its owner to the module.
#[repr(transparent)]
pub struct FileOps<T: MiscDevice>(bindings::file_operations, PhantomData<T>);

// SAFETY: The file operations are immutable after construction.
unsafe impl<T: MiscDevice> Sync for FileOps<T> {}

impl<T: MiscDevice> FileOps<T> {
    /// Builds the file operations for `T`.
    ///
    /// # Safety
    ///
    /// `owner` must be the module that contains `T`'s code (`&raw mut __this_module`).
    pub const unsafe fn new(owner: *mut bindings::module) -> Self {
        // SAFETY: As required of our caller.
        let mut fops = unsafe { MiscFileOps::<T>::new(owner) }.into_raw();
        fops.open = Some(open::<T>);
        Self(fops, PhantomData)
    }
}

/// Declares `static $name: FileOps<$type>` owned by the calling module.
#[macro_export]
macro_rules! declare_chrdev_fops {
    ($name:ident, $type:ty) => {
        static $name: $crate::chrdev::FileOps<$type> =
            // SAFETY: `__this_module` is the module this macro is expanded in, which contains
            // the implementation of `$type`.
            unsafe {
                $crate::chrdev::FileOps::new(::core::ptr::addr_of_mut!(
                    $crate::bindings::__this_module
                ))
            };
    };
}

/// What a [`Node`] shares with its open files and sysfs: the character device, its device and
/// the registration data until the node is removed. It is freed when the device's last
/// reference goes (open files hold the device through the character device).
#[pin_data]
struct Shared<T: MiscDevice> {
    #[pin]
    cdev: Opaque<bindings::cdev>,
    #[pin]
    dev: Opaque<bindings::device>,
    #[pin]
    data: Mutex<Option<T::RegistrationData>>,
    attrs: KVec<bindings::device_attribute>,
    attr_ptrs: KVec<*mut bindings::attribute>,
    group: bindings::attribute_group,
    groups: [*const bindings::attribute_group; 2],
}

/// A device node `/dev/<name>` of a [`Region`]'s minor in a [`Class`], below a parent device,
/// removed on drop. Open files that outlive it keep their state; a new open of it fails with
/// `ENODEV`.
///
/// # Invariants
///
/// `shared` came from `KBox::into_raw`; its device and character device are added, and the
/// node holds a reference to the device, whose release frees `shared`.
pub struct Node<T: Attributes> {
    shared: *mut Shared<T>,
}

// SAFETY: `Shared` is only reached through the C side's synchronisation and `data`'s mutex; the
// registration data is `Send`.
unsafe impl<T: Attributes> Send for Node<T> {}
// SAFETY: `&Node` gives access to nothing.
unsafe impl<T: Attributes> Sync for Node<T> {}

impl<T: Attributes> Node<T> {
    /// Adds node `name`, minor `minor` of `region`, in `class` below `parent`, served by
    /// `fops`, its attributes those of `data`.
    pub fn new(
        class: &'static Class,
        region: &'static Region,
        minor: u32,
        name: &CStr,
        parent: &Device,
        fops: &'static FileOps<T>,
        data: T::RegistrationData,
    ) -> Result<Self> {
        let devt = region.devt(minor)?;
        let names = T::NAMES;
        let mut attrs = KVec::with_capacity(names.len(), GFP_KERNEL)?;
        for name in names {
            // SAFETY: `device_attribute` is plain data; all zeroes means "no callback".
            let mut attr: bindings::device_attribute = unsafe { core::mem::zeroed() };
            attr.attr.name = name.as_char_ptr();
            attr.attr.mode = 0o444;
            attr.show = Some(show::<T>);
            attrs.push(attr, GFP_KERNEL)?;
        }
        let mut attr_ptrs = KVec::with_capacity(names.len() + 1, GFP_KERNEL)?;
        for attr in attrs.iter_mut() {
            // SAFETY: `attr` is valid; its key (lockdep's) is set before sysfs sees it.
            unsafe { bindings::sysfs_attr_init(&mut attr.attr) };
            attr_ptrs.push(&mut attr.attr as *mut _, GFP_KERNEL)?;
        }
        attr_ptrs.push(core::ptr::null_mut(), GFP_KERNEL)?;
        let shared = KBox::pin_init(
            try_pin_init!(Shared::<T> {
                cdev: Opaque::uninit(),
                dev: Opaque::uninit(),
                data <- new_mutex!(Some(data)),
                attrs,
                attr_ptrs,
                // SAFETY: `attribute_group` is plain data; all zeroes is an empty group.
                group: unsafe { core::mem::zeroed() },
                groups: [core::ptr::null(); 2],
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: Nothing moves out of `shared`; its device's release frees it.
        let shared = KBox::into_raw(unsafe { Pin::into_inner_unchecked(shared) });
        // SAFETY: `shared` is valid and not yet shared. Once `device_initialize` has run, the
        // device's release owns `shared`, so every failure drops the last reference instead of
        // freeing it.
        unsafe {
            let s = &mut *shared;
            s.group.attrs = s.attr_ptrs.as_mut_ptr();
            s.groups[0] = if names.is_empty() {
                core::ptr::null()
            } else {
                &s.group
            };
            let dev = s.dev.get();
            core::ptr::write_bytes(dev, 0, 1);
            bindings::device_initialize(dev);
            (*dev).class = class.0.get();
            (*dev).parent = parent.as_raw();
            (*dev).devt = devt;
            (*dev).groups = s.groups.as_mut_ptr();
            (*dev).release = Some(release_shared::<T>);
            let cdev = s.cdev.get();
            core::ptr::write_bytes(cdev, 0, 1);
            bindings::cdev_init(cdev, &fops.0);
            (*cdev).owner = fops.0.owner;
            let mut ret =
                bindings::dev_set_name(dev, crate::c_str!("%s").as_char_ptr(), name.as_char_ptr());
            if ret == 0 {
                ret = bindings::cdev_device_add(cdev, dev);
            }
            if let Err(e) = to_result(ret) {
                bindings::put_device(dev);
                return Err(e);
            }
        }
        // INVARIANT: Added above; the reference is `device_initialize`'s.
        Ok(Self { shared })
    }
}

impl<T: Attributes> Drop for Node<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `shared` is valid until the reference dropped last
        // here; removing the device waits for sysfs readers, the lock for running opens.
        unsafe {
            let s = &*self.shared;
            bindings::cdev_device_del(s.cdev.get(), s.dev.get());
            let data = s.data.lock().take();
            drop(data);
            bindings::put_device(s.dev.get());
        }
    }
}

/// # Safety
///
/// Called by the driver core once the last reference to the device of a `Shared<T>` is gone.
unsafe extern "C" fn release_shared<T: MiscDevice>(dev: *mut bindings::device) {
    // SAFETY: `dev` is the `dev` of a `Shared<T>` that `Node::new` leaked with `into_raw`.
    drop(unsafe {
        KBox::from_raw(
            crate::container_of!(dev, Shared<T>, dev)
                .cast::<Shared<T>>()
                .cast_mut(),
        )
    });
}

/// # Safety
///
/// Called by the VFS through `chrdev_open`, which holds a reference to the inode's character
/// device, that of a `Shared<T>` (so the `Shared<T>` stays valid).
unsafe extern "C" fn open<T: MiscDevice>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: See the function's safety requirements.
    let shared = unsafe {
        let cdev = bindings::inode_cdev(inode).cast::<Opaque<bindings::cdev>>();
        &*crate::container_of!(cdev, Shared<T>, cdev)
    };
    let data = shared.data.lock();
    let Some(data) = data.as_ref() else {
        return ENODEV.to_errno();
    };
    // SAFETY: `file` is being opened, with `T`'s operations.
    unsafe { open_file::<T>(data, file) }
}

/// # Safety
///
/// Called by sysfs for an attribute of the device of a `Shared<T>`, which `Node::drop` waits
/// for before it drops its reference.
unsafe extern "C" fn show<T: Attributes>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: See the function's safety requirements.
    let shared = unsafe { &*crate::container_of!(dev, Shared<T>, dev) };
    // SAFETY: `attr` is one of `shared.attrs`, so both are in one allocation.
    let index = unsafe { attr.cast_const().offset_from(shared.attrs.as_ptr()) } as usize;
    // SAFETY: sysfs hands a page to fill.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), crate::page::PAGE_SIZE) };
    let mut out = AttrBuf { buf: page, len: 0 };
    let data = shared.data.lock();
    let ret = match data.as_ref() {
        Some(data) => T::show(data, index, &mut out),
        None => Err(ENODEV),
    };
    match ret {
        Ok(()) => out.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}
