// SPDX-License-Identifier: GPL-2.0

//! Hardware monitoring: a device's sensors under `/sys/class/hwmon`, read by lm-sensors.
//!
//! A driver lists its channels (a sensor type and the attributes each channel has) and
//! implements [`Operations`]; [`Registration`] describes them to the hwmon core, which
//! creates the files (`temp1_input`, `power1_max`, ...) and calls [`Operations::read`] when
//! one is read. Values are in the units of the sysfs ABI: millidegrees Celsius, millivolts,
//! milliamperes, microwatts.
//!
//! C header: [`include/linux/hwmon.h`](srctree/include/linux/hwmon.h)

use crate::{
    bindings, device,
    error::{from_err_ptr, from_result},
    ffi::{c_char, c_int, c_long, c_void},
    prelude::*,
    str::CStr,
};
use core::{marker::PhantomData, ptr::NonNull};

/// A kind of sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensorType {
    /// Temperature (`tempN_*`), millidegrees Celsius.
    Temp,
    /// Voltage (`inN_*`, numbered from 0), millivolts.
    In,
    /// Current (`currN_*`), milliamperes.
    Curr,
    /// Power (`powerN_*`), microwatts.
    Power,
}

impl SensorType {
    const ALL: [Self; 4] = [Self::Temp, Self::In, Self::Curr, Self::Power];

    fn raw(self) -> bindings::hwmon_sensor_types {
        match self {
            Self::Temp => bindings::hwmon_sensor_types_hwmon_temp,
            Self::In => bindings::hwmon_sensor_types_hwmon_in,
            Self::Curr => bindings::hwmon_sensor_types_hwmon_curr,
            Self::Power => bindings::hwmon_sensor_types_hwmon_power,
        }
    }

    fn from_raw(raw: bindings::hwmon_sensor_types) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.raw() == raw)
    }
}

/// An attribute of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// The reading (`_input`).
    Input,
    /// The lowest value in specification (`_min`; voltage only).
    Min,
    /// The highest value in specification (`_max`).
    Max,
    /// The critical value (`_crit`; temperature only).
    Crit,
    /// The channel's name (`_label`), from [`Operations::label`].
    Label,
}

impl Attr {
    const ALL: [Self; 5] = [Self::Input, Self::Min, Self::Max, Self::Crit, Self::Label];

    /// The attribute's number for sensors of type `ty`, if they have it.
    fn raw(self, ty: SensorType) -> Option<u32> {
        use SensorType::*;
        Some(match (ty, self) {
            (Temp, Self::Input) => bindings::hwmon_temp_attributes_hwmon_temp_input,
            (Temp, Self::Max) => bindings::hwmon_temp_attributes_hwmon_temp_max,
            (Temp, Self::Crit) => bindings::hwmon_temp_attributes_hwmon_temp_crit,
            (Temp, Self::Label) => bindings::hwmon_temp_attributes_hwmon_temp_label,
            (In, Self::Input) => bindings::hwmon_in_attributes_hwmon_in_input,
            (In, Self::Min) => bindings::hwmon_in_attributes_hwmon_in_min,
            (In, Self::Max) => bindings::hwmon_in_attributes_hwmon_in_max,
            (In, Self::Label) => bindings::hwmon_in_attributes_hwmon_in_label,
            (Curr, Self::Input) => bindings::hwmon_curr_attributes_hwmon_curr_input,
            (Curr, Self::Max) => bindings::hwmon_curr_attributes_hwmon_curr_max,
            (Curr, Self::Label) => bindings::hwmon_curr_attributes_hwmon_curr_label,
            (Power, Self::Input) => bindings::hwmon_power_attributes_hwmon_power_input,
            (Power, Self::Max) => bindings::hwmon_power_attributes_hwmon_power_max,
            (Power, Self::Label) => bindings::hwmon_power_attributes_hwmon_power_label,
            _ => return None,
        })
    }

    fn from_raw(ty: SensorType, raw: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.raw(ty) == Some(raw))
    }
}

/// One channel: its type and attributes.
pub struct Channel {
    /// The sensor type.
    pub ty: SensorType,
    /// The attributes it has.
    pub attrs: &'static [Attr],
}

/// A device's sensors.
pub trait Operations: Send + Sync + Sized + 'static {
    /// Reads attribute `attr` of channel `channel` (numbered within its type, in the order of
    /// [`Registration::new`]'s channels). May sleep.
    fn read(&self, ty: SensorType, attr: Attr, channel: u32) -> Result<i64>;

    /// The label of channel `channel`, if it has [`Attr::Label`].
    fn label(&self, _ty: SensorType, _channel: u32) -> Option<&'static CStr> {
        None
    }
}

/// Holds the C callbacks of `T`.
struct Callbacks<T>(PhantomData<T>);

impl<T: Operations> Callbacks<T> {
    /// # Safety
    ///
    /// `dev` is a hwmon device registered by `Registration::<T>::new`, valid for `'a`.
    unsafe fn data<'a>(dev: *mut bindings::device) -> &'a T {
        // SAFETY: Its driver data is the registration's `T`, which outlives the device's
        // attributes (the caller's guarantee and `Registration::drop`).
        unsafe { &*bindings::dev_get_drvdata(dev).cast::<T>() }
    }

    /// # Safety
    ///
    /// Only for the hwmon core, as `hwmon_ops.is_visible`.
    unsafe extern "C" fn is_visible(
        _data: *const c_void,
        _ty: bindings::hwmon_sensor_types,
        _attr: u32,
        _channel: c_int,
    ) -> bindings::umode_t {
        // The core only asks about the attributes the channels list; all are read only.
        0o444
    }

    /// # Safety
    ///
    /// Only for the hwmon core, as `hwmon_ops.read`; `val` is valid for writes.
    unsafe extern "C" fn read(
        dev: *mut bindings::device,
        ty: bindings::hwmon_sensor_types,
        attr: u32,
        channel: c_int,
        val: *mut c_long,
    ) -> c_int {
        from_result(|| {
            let ty = SensorType::from_raw(ty).ok_or(EOPNOTSUPP)?;
            let attr = Attr::from_raw(ty, attr).ok_or(EOPNOTSUPP)?;
            // SAFETY: The core calls with a device of `T` (the function's requirements).
            let v = unsafe { Self::data(dev) }.read(ty, attr, channel as u32)?;
            // SAFETY: `val` is valid for writes.
            unsafe { *val = v as c_long };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for the hwmon core, as `hwmon_ops.read_string`; `s` is valid for writes.
    unsafe extern "C" fn read_string(
        dev: *mut bindings::device,
        ty: bindings::hwmon_sensor_types,
        _attr: u32,
        channel: c_int,
        s: *mut *const c_char,
    ) -> c_int {
        from_result(|| {
            let ty = SensorType::from_raw(ty).ok_or(EOPNOTSUPP)?;
            // SAFETY: As in `read`.
            let label = unsafe { Self::data(dev) }
                .label(ty, channel as u32)
                .ok_or(EOPNOTSUPP)?;
            // SAFETY: `s` is valid for writes; the label is static.
            unsafe { *s = label.as_char_ptr() };
            Ok(0)
        })
    }

    const OPS: bindings::hwmon_ops = bindings::hwmon_ops {
        is_visible: Some(Self::is_visible),
        read: Some(Self::read),
        read_string: Some(Self::read_string),
        write: None,
    };
}

/// The tables the hwmon core reads for as long as the device is registered.
struct Tables {
    /// Per type: a mask of attributes per channel, then 0.
    _configs: KVec<KVec<u32>>,
    /// Per type: its configuration.
    _infos: KVec<bindings::hwmon_channel_info>,
    /// Pointers to the above, then null.
    _info_ptrs: KVec<*const bindings::hwmon_channel_info>,
    chip: KBox<bindings::hwmon_chip_info>,
}

impl Tables {
    fn new<T: Operations>(channels: &[Channel]) -> Result<Self> {
        let mut configs = KVec::new();
        let mut types = KVec::new();
        for ty in SensorType::ALL {
            let mut config = KVec::new();
            for ch in channels.iter().filter(|c| c.ty == ty) {
                let mut mask = 0u32;
                for a in ch.attrs {
                    mask |= 1 << a.raw(ty).ok_or(EINVAL)?;
                }
                config.push(mask, GFP_KERNEL)?;
            }
            if !config.is_empty() {
                config.push(0, GFP_KERNEL)?;
                configs.push(config, GFP_KERNEL)?;
                types.push(ty, GFP_KERNEL)?;
            }
        }
        // The inner vectors' buffers do not move when `configs` is moved.
        let mut infos = KVec::with_capacity(types.len(), GFP_KERNEL)?;
        for (ty, config) in types.iter().zip(configs.iter()) {
            infos.push(
                bindings::hwmon_channel_info {
                    type_: ty.raw(),
                    config: config.as_ptr(),
                },
                GFP_KERNEL,
            )?;
        }
        let mut info_ptrs = KVec::with_capacity(infos.len() + 1, GFP_KERNEL)?;
        for info in infos.iter() {
            info_ptrs.push(info as *const _, GFP_KERNEL)?;
        }
        info_ptrs.push(core::ptr::null(), GFP_KERNEL)?;
        let chip = KBox::new(
            bindings::hwmon_chip_info {
                ops: &Callbacks::<T>::OPS,
                info: info_ptrs.as_ptr(),
            },
            GFP_KERNEL,
        )?;
        Ok(Self {
            _configs: configs,
            _infos: infos,
            _info_ptrs: info_ptrs,
            chip,
        })
    }
}

/// A registered hwmon device with sensors `T`, unregistered on drop.
///
/// # Invariants
///
/// `hwdev` was registered with `tables` and `data` as its driver data.
pub struct Registration<T: Operations> {
    hwdev: NonNull<bindings::device>,
    _tables: Tables,
    _data: Pin<KBox<T>>,
}

// SAFETY: The tables are only read, by the core; `T` is `Send + Sync`. Unregistering may
// happen on any thread.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers hwmon device `name` (no `-`, `*` or spaces) under `parent`, with `channels`.
    pub fn new(
        parent: &device::Device<device::Bound>,
        name: &'static CStr,
        channels: &[Channel],
        data: T,
    ) -> Result<Self> {
        let tables = Tables::new::<T>(channels)?;
        let data = KBox::pin(data, GFP_KERNEL)?;
        // SAFETY: `parent` is valid; the name is static; the tables and `data` live in heap
        // memory that stays put until `drop` unregisters the device.
        let raw = unsafe {
            bindings::hwmon_device_register_with_info(
                parent.as_raw(),
                name.as_char_ptr(),
                (&*data as *const T).cast_mut().cast(),
                &*tables.chip,
                core::ptr::null_mut(),
            )
        };
        let hwdev = NonNull::new(from_err_ptr(raw)?).ok_or(ENOMEM)?;
        // INVARIANT: Registered above with the tables and `data`.
        Ok(Self {
            hwdev,
            _tables: tables,
            _data: data,
        })
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant). Removing the attributes waits for reads in
        // progress, so the tables and data may go afterwards.
        unsafe { bindings::hwmon_device_unregister(self.hwdev.as_ptr()) };
    }
}
