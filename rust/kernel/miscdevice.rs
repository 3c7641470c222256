// SPDX-License-Identifier: GPL-2.0

//! Miscellaneous character devices.
//!
//! A driver implements [`MiscDevice`] for each kind of node it exposes, declares the file
//! operations once with [`declare_misc_fops!`](crate::declare_misc_fops) (so that open files
//! pin the module) and registers nodes with a pinned [`Registration`] that carries data every
//! open receives.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h)

use crate::{
    bindings, build_error,
    device::Device,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_long, c_uint, c_ulong},
    init,
    mm::VmArea,
    prelude::*,
    str::CString,
    sync::poll::PollTable,
    types::{ForeignOwnable, Opaque},
};
use core::marker::PhantomData;

/// The open file of a misc device node.
#[vtable]
pub trait MiscDevice: Sized + 'static {
    /// Data every open of a node receives, owned by its [`Registration`].
    type RegistrationData: Send + Sync;

    /// The per-file state, stored in the file.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Opens a file of the node registered with `data`.
    fn open(data: &Self::RegistrationData) -> Result<Self::Ptr>;

    /// Called when the last reference to the file goes away.
    fn release(file: Self::Ptr) {
        drop(file);
    }

    /// Handles an ioctl; the return value is what the system call returns.
    fn ioctl(
        _file: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps part of the file into a process.
    fn mmap(_file: <Self::Ptr as ForeignOwnable>::Borrowed<'_>, _vma: &VmArea) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the `POLL*` events the file has now, having first registered with `table` the
    /// waits that announce a change.
    fn poll(_file: <Self::Ptr as ForeignOwnable>::Borrowed<'_>, _table: &mut PollTable<'_>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The file operations of a [`MiscDevice`], with the module that implements them as owner.
///
/// Create one `static` per implementation with [`declare_misc_fops!`](crate::declare_misc_fops):
/// open files keep a reference to it, and through its owner to the module.
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
        // SAFETY: `file_operations` is plain data; all zeroes means "no callback".
        let mut fops: bindings::file_operations = unsafe { core::mem::zeroed() };
        fops.owner = owner;
        fops.open = Some(open::<T>);
        fops.release = Some(release::<T>);
        if T::HAS_IOCTL {
            fops.unlocked_ioctl = Some(ioctl::<T>);
        }
        if T::HAS_MMAP {
            fops.mmap = Some(mmap::<T>);
        }
        if T::HAS_POLL {
            fops.poll = Some(poll::<T>);
        }
        fops.llseek = Some(bindings::noop_llseek);
        Self(fops, PhantomData)
    }

    /// The operations as C sees them, for other kinds of node to build on.
    pub(crate) const fn into_raw(self) -> bindings::file_operations {
        self.0
    }
}

/// Declares `static $name: FileOps<$type>` owned by the calling module.
#[macro_export]
macro_rules! declare_misc_fops {
    ($name:ident, $type:ty) => {
        static $name: $crate::miscdevice::FileOps<$type> =
            // SAFETY: `__this_module` is the module this macro is expanded in, which contains
            // the implementation of `$type`.
            unsafe {
                $crate::miscdevice::FileOps::new(::core::ptr::addr_of_mut!(
                    $crate::bindings::__this_module
                ))
            };
    };
}

/// A registered misc device node, removed on drop. Files that are already open stay usable:
/// they hold what [`MiscDevice::open`] gave them.
///
/// # Invariants
///
/// `misc` is registered, with `name`'s buffer as its name and `fops` as its file operations.
#[pin_data(PinnedDrop)]
pub struct Registration<T: MiscDevice> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    name: CString,
    data: T::RegistrationData,
}

// SAFETY: The C side synchronises the registration; `data` is `Send`.
unsafe impl<T: MiscDevice> Send for Registration<T> {}
// SAFETY: `&Registration` only gives access to `data`, which is `Sync`.
unsafe impl<T: MiscDevice> Sync for Registration<T> {}

impl<T: MiscDevice> Registration<T> {
    /// Registers node `/dev/<name>` (a dynamic minor) below `parent`, served by `fops`.
    pub fn new<'a>(
        name: CString,
        parent: &'a Device,
        fops: &'static FileOps<T>,
        data: T::RegistrationData,
    ) -> impl PinInit<Self, Error> + 'a {
        // SAFETY: The closure initialises every field of `slot`, which is pinned; it registers
        // the node only once all of them are in place, and on failure drops what it wrote.
        unsafe {
            init::pin_init_from_closure(move |slot: *mut Self| {
                core::ptr::addr_of_mut!((*slot).name).write(name);
                core::ptr::addr_of_mut!((*slot).data).write(data);
                let misc = Opaque::raw_get(core::ptr::addr_of!((*slot).misc));
                // SAFETY: `miscdevice` is plain data; all zeroes is a valid value.
                let mut c: bindings::miscdevice = core::mem::zeroed();
                c.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                c.name = (*slot).name.as_char_ptr();
                c.fops = &fops.0;
                c.parent = parent.as_raw();
                misc.write(c);
                // INVARIANT: Registered here, deregistered in `drop`.
                let ret = to_result(bindings::misc_register(misc));
                if ret.is_err() {
                    core::ptr::drop_in_place(core::ptr::addr_of_mut!((*slot).name));
                    core::ptr::drop_in_place(core::ptr::addr_of_mut!((*slot).data));
                }
                ret
            })
        }
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered by the type invariant. After this returns no new open can start
        // and no open is running (both hold `misc_mtx`).
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// # Safety
///
/// Called by the VFS through `misc_open`, which holds `misc_mtx` (so the registration cannot
/// go away) and has set `private_data` to the `miscdevice` of a `Registration<T>`.
unsafe extern "C" fn open<T: MiscDevice>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: See the function's safety requirements.
    let reg = unsafe {
        let misc = (*file).private_data.cast::<Opaque<bindings::miscdevice>>();
        &*crate::container_of!(misc, Registration<T>, misc)
    };
    // SAFETY: `file` is being opened.
    unsafe { open_file::<T>(&reg.data, file) }
}

/// Opens `file` with `data` and keeps what [`MiscDevice::open`] gives in its `private_data`,
/// for the other operations.
///
/// # Safety
///
/// `file` is being opened, with `T`'s file operations.
pub(crate) unsafe fn open_file<T: MiscDevice>(
    data: &T::RegistrationData,
    file: *mut bindings::file,
) -> c_int {
    match T::open(data) {
        Ok(ptr) => {
            // SAFETY: `file` is valid; `release` takes the pointer back.
            unsafe { (*file).private_data = ptr.into_foreign().cast_mut() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS once per file that `open::<T>` opened successfully.
unsafe extern "C" fn release<T: MiscDevice>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `open` stored this pointer; this is the last use of the file.
    let ptr = unsafe { T::Ptr::from_foreign((*file).private_data) };
    T::release(ptr);
    0
}

/// # Safety
///
/// Called by the VFS on a file `open::<T>` opened, while it is open.
unsafe extern "C" fn ioctl<T: MiscDevice>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The file is open, so `release` has not taken the pointer back.
    let data = unsafe { T::Ptr::borrow((*file).private_data) };
    from_result(|| Ok(T::ioctl(data, cmd, arg)? as c_long))
}

/// # Safety
///
/// Called by the VFS on a file `open::<T>` opened, with a valid VMA being set up.
unsafe extern "C" fn mmap<T: MiscDevice>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: The file is open, so `release` has not taken the pointer back.
    let data = unsafe { T::Ptr::borrow((*file).private_data) };
    // SAFETY: `vma` is valid and being set up by the caller, which holds the mmap lock.
    let vma = unsafe { VmArea::from_raw(vma) };
    from_result(|| {
        T::mmap(data, vma)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS on a file `open::<T>` opened, while it is open, with the poll table of
/// this call (possibly null).
unsafe extern "C" fn poll<T: MiscDevice>(
    file: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: The file is open, so `release` has not taken the pointer back.
    let data = unsafe { T::Ptr::borrow((*file).private_data) };
    // SAFETY: `file` is being polled with `table`, both valid until this returns.
    let mut table = unsafe { PollTable::from_raw(file, table) };
    T::poll(data, &mut table)
}
