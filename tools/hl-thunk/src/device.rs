// SPDX-License-Identifier: GPL-2.0

//! A device node and the ioctls on it.

use std::fmt;
use std::fs::{self, File};
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::mem::{DeviceMemory, DramPool, HostMapping};
use crate::packets::Packet;
use crate::uapi::*;

/// An open compute node (`/dev/hlN`: every ioctl, one open at a time) or
/// control node (`/dev/hl_controlDN`: INFO only). Closing the compute node
/// releases everything its user had: command buffers, device memory,
/// mappings.
#[derive(Debug)]
pub struct Device {
    file: File,
    /// Device memory the library placed (mainline GAUDI: see [`DeviceMemory`]),
    /// set up at the first placement.
    dram: Mutex<Option<DramPool>>,
}

impl Device {
    /// The compute node of device `index`.
    pub fn compute_path(index: u32) -> PathBuf {
        PathBuf::from(format!("/dev/hl{index}"))
    }

    /// The control node of device `index`.
    pub fn control_path(index: u32) -> PathBuf {
        PathBuf::from(format!("/dev/hl_controlD{index}"))
    }

    /// Opens the compute node of device `index`; `EBUSY` while another file
    /// has it open.
    pub fn open(index: u32) -> Result<Self> {
        Self::open_path(&Self::compute_path(index))
    }

    /// Opens the control node of device `index`.
    pub fn open_control(index: u32) -> Result<Self> {
        Self::open_path(&Self::control_path(index))
    }

    /// Opens a node by path.
    pub fn open_path(path: &Path) -> Result<Self> {
        // std opens with O_CLOEXEC.
        File::options()
            .read(true)
            .write(true)
            .open(path)
            .map(Self::from_file)
            .map_err(|e| {
                Error::new(
                    e.raw_os_error().unwrap_or(libc::EIO),
                    format!("open {}", path.display()),
                )
            })
    }

    fn from_file(file: File) -> Self {
        Self {
            file,
            dram: Mutex::new(None),
        }
    }

    /// The PCI address ("dddd:bb:dd.f") of the node's device.
    pub fn pci_bus_id(&self) -> Result<String> {
        let meta = self
            .file
            .metadata()
            .map_err(|e| Error::new(e.raw_os_error().unwrap_or(libc::EIO), "fstat"))?;
        pci_bus_id_of(meta.rdev())
    }

    /// Runs ioctl `request` with `arg`, again if a signal interrupted it.
    ///
    /// # Safety
    ///
    /// `T` must be the argument type of `request`, and any pointer in `arg`
    /// must be valid for what the driver does with it.
    pub(crate) unsafe fn ioctl<T>(
        &self,
        request: libc::c_ulong,
        arg: &mut T,
        what: &'static str,
    ) -> Result<()> {
        debug_assert_eq!(ioc_size(request), size_of::<T>());
        loop {
            // SAFETY: `arg` is valid for reads and writes of the size the
            // request encodes; the caller vouches for pointers inside it.
            let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), request, ptr::from_mut(arg)) };
            if rc >= 0 {
                return Ok(());
            }
            let e = Error::last_os(what);
            if e.errno() != libc::EINTR {
                return Err(e);
            }
        }
    }

    /// The raw INFO ioctl.
    ///
    /// # Safety
    ///
    /// `args.return_pointer` must be valid for writes of
    /// `args.return_size` bytes.
    pub(crate) unsafe fn info_raw(&self, args: &mut hl_info_args) -> Result<()> {
        // SAFETY: hl_info_args is INFO's argument; the caller vouches for
        // return_pointer.
        unsafe { self.ioctl(HL_IOCTL_INFO, args, "INFO") }
    }

    /// INFO op `T::OP` with `arg` in the op's argument word (`dcore_id`,
    /// `period_ms`, `pll_index`, ...).
    pub(crate) fn info_with<T: InfoOp>(&self, arg: u32) -> Result<T> {
        let mut out = T::default();
        let mut args = hl_info_args {
            return_pointer: ptr::from_mut(&mut out) as u64,
            return_size: size_of::<T>() as u32,
            op: T::OP,
            ..Default::default()
        };
        args.__bindgen_anon_1.period_ms = arg;
        // SAFETY: return_pointer is `out`, writable for return_size bytes,
        // and any bytes the driver writes there make a valid T (InfoOp).
        unsafe { self.info_raw(&mut args) }?;
        Ok(out)
    }

    pub(crate) fn info<T: InfoOp>(&self) -> Result<T> {
        self.info_with(0)
    }

    /// The device's identity (`HL_INFO_HW_IP_INFO`).
    pub fn hw_ip_info(&self) -> Result<HwIpInfo> {
        self.info::<hl_info_hw_ip_info>().map(HwIpInfo::from)
    }

    /// The device's event counters (`HL_INFO_HW_EVENTS`, or
    /// `HL_INFO_HW_EVENTS_AGGREGATE` for the counts since the driver was
    /// loaded rather than since the last reset): `num_of_events` of
    /// [`Device::hw_ip_info`] of them.
    pub fn hw_events(&self, aggregate: bool) -> Result<HwEvents> {
        let n = self.hw_ip_info()?.num_of_events;
        let mut counts = vec![0u32; n as usize];
        let mut args = hl_info_args {
            return_pointer: counts.as_mut_ptr() as u64,
            return_size: n * size_of::<u32>() as u32,
            op: if aggregate {
                HL_INFO_HW_EVENTS_AGGREGATE
            } else {
                HL_INFO_HW_EVENTS
            },
            ..Default::default()
        };
        // SAFETY: return_pointer is `counts`, writable for return_size bytes.
        unsafe { self.info_raw(&mut args) }?;
        Ok(HwEvents { counts })
    }

    /// Device memory use (`HL_INFO_DRAM_USAGE`).
    pub fn dram_usage(&self) -> Result<DramUsage> {
        let u = self.info::<hl_info_dram_usage>()?;
        Ok(DramUsage {
            free: u.dram_free_mem,
            allocated: u.ctx_dram_mem,
        })
    }

    /// Whether the engines are idle, and the busy ones
    /// (`HL_INFO_HW_IDLE`).
    pub fn hw_idle(&self) -> Result<HwIdle> {
        let i = self.info::<hl_info_hw_idle>()?;
        Ok(HwIdle {
            idle: i.is_idle != 0,
            busy_mask: i.busy_engines_mask,
            busy_mask_ext: i.busy_engines_mask_ext,
        })
    }

    /// The device's state (`HL_INFO_DEVICE_STATUS`).
    pub fn device_status(&self) -> Result<DeviceStatus> {
        self.info::<hl_info_device_status>()
            .map(|s| DeviceStatus::from(s.status))
    }

    /// Device memory rows pending replacement (`HL_INFO_DRAM_PENDING_ROWS`):
    /// the device's answer, a round trip to it that runs no engine.
    pub fn dram_pending_rows(&self) -> Result<u32> {
        let mut rows = 0u32;
        let mut args = hl_info_args {
            return_pointer: ptr::from_mut(&mut rows) as u64,
            return_size: size_of::<u32>() as u32,
            op: HL_INFO_DRAM_PENDING_ROWS,
            ..Default::default()
        };
        // SAFETY: return_pointer is `rows`, writable for return_size bytes.
        unsafe { self.info_raw(&mut args) }?;
        Ok(rows)
    }

    /// Engine clocks (`HL_INFO_CLK_RATE`).
    pub fn clk_rate(&self) -> Result<ClkRate> {
        let c = self.info::<hl_info_clk_rate>()?;
        Ok(ClkRate {
            cur_mhz: c.cur_clk_rate_mhz,
            max_mhz: c.max_clk_rate_mhz,
        })
    }

    /// Hard and soft resets since the driver was loaded
    /// (`HL_INFO_RESET_COUNT`).
    pub fn reset_count(&self) -> Result<hl_info_reset_count> {
        self.info()
    }

    /// The device's clock and the host's at one moment
    /// (`HL_INFO_TIME_SYNC`).
    pub fn time_sync(&self) -> Result<hl_info_time_sync> {
        self.info()
    }

    /// The last submission that timed out (`HL_INFO_CS_TIMEOUT_EVENT`):
    /// its sequence number and when (`timestamp` 0: none yet).
    pub fn cs_timeout_event(&self) -> Result<hl_info_cs_timeout_event> {
        self.info()
    }

    /// The last access an engine made outside what it may reach
    /// (`HL_INFO_RAZWI_EVENT`; `timestamp` 0: none yet).
    pub fn razwi_event(&self) -> Result<hl_info_razwi_event> {
        self.info()
    }

    /// The last undefined opcode a queue met
    /// (`HL_INFO_UNDEFINED_OPCODE_EVENT`; `timestamp` 0: none yet).
    pub fn undefined_opcode_event(&self) -> Result<hl_info_undefined_opcode_event> {
        self.info()
    }

    /// NIC port MAC addresses (`HL_INFO_MAC_ADDR`).
    pub fn mac_addrs(&self) -> Result<MacAddrs> {
        let m = self.info::<hl_info_mac_addr>()?;
        let ports = (0..HL_INFO_MAC_ADDR_MAX_NUM)
            .filter(|&p| m.mask[p as usize / 64] & 1 << (p % 64) != 0)
            .map(|p| {
                let a = m.array[p as usize].addr;
                (p, a)
            })
            .collect();
        Ok(MacAddrs {
            port_mask: m.mask[0],
            ports,
        })
    }

    /// The raw CB ioctl: returns the handle `out` holds.
    fn cb_raw(&self, cb: hl_cb_in, what: &'static str) -> Result<u64> {
        let mut args = hl_cb_args { in_: cb };
        // SAFETY: hl_cb_args is CB's argument; it holds no pointer.
        unsafe { self.ioctl(HL_IOCTL_CB, &mut args, what) }?;
        // SAFETY: every byte of the union is initialised, and `out` is a u64.
        Ok(unsafe { args.out.__bindgen_anon_1.cb_handle })
    }

    /// Creates a command buffer of `size` bytes (8 to `HL_MAX_CB_SIZE`) and
    /// returns its handle. [`Device::command_buffer`] also maps it.
    pub fn cb_create(&self, size: u32) -> Result<u64> {
        if !(8..=HL_MAX_CB_SIZE).contains(&size) {
            return Err(Error::invalid(format!(
                "CB size {size} is not in 8..={HL_MAX_CB_SIZE}"
            )));
        }
        let cb = hl_cb_in {
            op: HL_CB_OP_CREATE,
            cb_size: size,
            ..Default::default()
        };
        self.cb_raw(cb, "CB create")
    }

    /// Destroys a command buffer; mappings and submissions that use it keep
    /// it alive.
    pub fn cb_destroy(&self, handle: u64) -> Result<()> {
        let cb = hl_cb_in {
            cb_handle: handle,
            op: HL_CB_OP_DESTROY,
            ..Default::default()
        };
        self.cb_raw(cb, "CB destroy").map(drop)
    }

    /// Maps command buffer `handle` (`size` bytes) read-write.
    pub(crate) fn cb_mmap(&self, handle: u64, size: u32) -> Result<NonNull<u8>> {
        self.mmap(handle, size as usize, "mmap CB")
    }

    /// Maps `len` bytes of the node at `offset` (a handle the driver gave
    /// for it) read-write and shared.
    pub(crate) fn mmap(&self, offset: u64, len: usize, what: &'static str) -> Result<NonNull<u8>> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| Error::invalid(format!("{what}: {offset:#x} is not an mmap offset")))?;
        // SAFETY: a new shared mapping where the kernel chooses; it replaces
        // nothing of this process.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os(what));
        }
        NonNull::new(p.cast()).ok_or_else(|| Error::new(libc::ENOMEM, what))
    }

    /// Creates and maps a command buffer of `size` bytes.
    pub fn command_buffer(&self, size: u32) -> Result<CommandBuffer<'_>> {
        let handle = self.cb_create(size)?;
        match self.cb_mmap(handle, size) {
            Ok(map) => Ok(CommandBuffer {
                dev: self,
                handle,
                map,
                size,
                len: 0,
            }),
            Err(e) => {
                // The handle is useless unmapped; the mmap error is the news.
                let _ = self.cb_destroy(handle);
                Err(e)
            }
        }
    }

    /// Creates and maps a command buffer holding `packets` (at least 8
    /// bytes).
    pub fn command_buffer_of(&self, packets: &[Packet]) -> Result<CommandBuffer<'_>> {
        let size: usize = packets.iter().map(|p| p.as_bytes().len()).sum();
        let size = u32::try_from(size.max(8))
            .map_err(|_| Error::invalid(format!("CB: {size} bytes of packets")))?;
        let mut cb = self.command_buffer(size)?;
        cb.push_all(packets)?;
        Ok(cb)
    }

    /// The raw CS ioctl: returns its output (the sequence number).
    ///
    /// # Safety
    ///
    /// The chunk pointers of `cs` must point to as many readable chunks
    /// as it says.
    pub(crate) unsafe fn cs_raw(&self, cs: hl_cs_in) -> Result<hl_cs_out> {
        let mut args = hl_cs_args { in_: cs };
        // SAFETY: hl_cs_args is CS's argument; the caller vouches for the
        // chunk arrays.
        unsafe { self.ioctl(HL_IOCTL_CS, &mut args, "CS") }?;
        // SAFETY: every byte of the union is initialised, and `out` is made
        // of integers.
        Ok(unsafe { args.out })
    }

    /// Submits `restore` and `execute` jobs with `flags`; `timeout_s` goes
    /// with `HL_CS_FLAGS_CUSTOM_TIMEOUT`.
    fn submit_with(
        &self,
        restore: &[Job],
        execute: &[Job],
        flags: u32,
        timeout_s: u32,
        word: u64,
    ) -> Result<u64> {
        for (what, jobs) in [("restore", restore), ("execute", execute)] {
            if jobs.len() > HL_MAX_JOBS_PER_CS as usize {
                return Err(Error::invalid(format!(
                    "CS: {} {what} jobs, more than {HL_MAX_JOBS_PER_CS}",
                    jobs.len()
                )));
            }
        }
        if execute.is_empty() {
            return Err(Error::invalid("CS: no jobs to execute"));
        }
        let chunks = |jobs: &[Job]| jobs.iter().map(|j| j.chunk()).collect::<Result<Vec<_>>>();
        let (restore, execute) = (chunks(restore)?, chunks(execute)?);
        let mut cs = hl_cs_in {
            num_chunks_restore: restore.len() as u32,
            num_chunks_execute: execute.len() as u32,
            timeout: timeout_s,
            cs_flags: flags,
            ..Default::default()
        };
        cs.__bindgen_anon_1.__bindgen_anon_1 = hl_cs_in__bindgen_ty_1__bindgen_ty_1 {
            chunks_restore: restore.as_ptr() as u64,
            chunks_execute: execute.as_ptr() as u64,
        };
        // The staged submission's sequence number, or the handle of
        // encapsulated signals.
        cs.__bindgen_anon_2.seq = word;
        // SAFETY: the chunk pointers are `restore` and `execute`, of as
        // many elements as the counts say.
        unsafe { self.cs_raw(cs) }.map(|out| {
            // SAFETY: `seq` is a u64 of the union; every byte is initialised.
            unsafe { out.__bindgen_anon_1.seq }
        })
    }

    /// Submits `jobs` (1 to `HL_MAX_JOBS_PER_CS`) with the driver's default
    /// timeout; returns the sequence number to wait for.
    pub fn submit(&self, jobs: &[Job]) -> Result<u64> {
        self.submit_with(&[], jobs, 0, 0, 0)
    }

    /// Submits `jobs` with a timeout of their own (`HL_CS_FLAGS_CUSTOM_TIMEOUT`,
    /// in seconds: rounded up to one, at most `u32::MAX`).
    pub fn submit_timeout(&self, jobs: &[Job], timeout: Duration) -> Result<u64> {
        let s = timeout
            .as_nanos()
            .div_ceil(1_000_000_000)
            .clamp(1, u32::MAX.into()) as u32;
        self.submit_with(&[], jobs, HL_CS_FLAGS_CUSTOM_TIMEOUT, s, 0)
    }

    /// Submits `execute` after the `restore` jobs, with `HL_CS_FLAGS_*`
    /// `flags` (`HL_CS_FLAGS_FORCE_RESTORE` runs the restore jobs even if
    /// this context's last submission did, `HL_CS_FLAGS_TIMESTAMP` records
    /// when it completes).
    pub fn submit_restore(&self, restore: &[Job], execute: &[Job], flags: u32) -> Result<u64> {
        self.submit_with(restore, execute, flags, 0, 0)
    }

    /// Submits `jobs` as `stage` of a staged submission
    /// (`HL_CS_FLAGS_STAGED_SUBMISSION`); returns the staged submission's
    /// sequence number, its first stage's, which the later stages take
    /// and [`Device::wait_cs`] waits for: it completes once its last stage
    /// has been submitted and every stage has completed, within the first
    /// stage's timeout.
    pub fn submit_stage(&self, jobs: &[Job], stage: Stage) -> Result<u64> {
        let staged = HL_CS_FLAGS_STAGED_SUBMISSION;
        let last = |last| {
            if last {
                HL_CS_FLAGS_STAGED_SUBMISSION_LAST
            } else {
                0
            }
        };
        let (flags, word) = match stage {
            Stage::First { last: l, signals } => {
                let encaps = signals.map_or(0, |_| HL_CS_FLAGS_ENCAP_SIGNALS);
                let flags = staged | HL_CS_FLAGS_STAGED_SUBMISSION_FIRST | last(l) | encaps;
                (flags, signals.map_or(0, |s| two_u32(s.handle_id, 0)))
            }
            Stage::Next { seq, last: l } => (staged | last(l), seq),
        };
        self.submit_with(&[], jobs, flags, 0, word)
    }

    /// The CS ioctl for a submission without chunks of execute jobs, or
    /// with `chunk` as its one chunk.
    fn cs_sync(&self, flags: u32, word: u64, chunk: Option<&hl_cs_chunk>) -> Result<hl_cs_out> {
        let mut cs = hl_cs_in {
            cs_flags: flags,
            num_chunks_execute: chunk.is_some().into(),
            ..Default::default()
        };
        cs.__bindgen_anon_1.__bindgen_anon_1 = hl_cs_in__bindgen_ty_1__bindgen_ty_1 {
            chunks_restore: 0,
            chunks_execute: chunk.map_or(0, |c| ptr::from_ref(c) as u64),
        };
        cs.__bindgen_anon_2.seq = word;
        // SAFETY: the chunk pointer is `chunk`'s, one element, or none.
        unsafe { self.cs_raw(cs) }
    }

    /// The sync-stream chunk of external `queue`'s `stream` (0-3).
    fn stream_chunk(queue: Queue, stream: u32) -> Result<hl_cs_chunk> {
        if !queue.external() || stream > 3 {
            return Err(Error::invalid(format!(
                "{queue} stream {stream}: sync streams are DMA 0 and 1's, 0-3"
            )));
        }
        Ok(hl_cs_chunk {
            queue_index: queue.index() + stream,
            ..Default::default()
        })
    }

    /// A sync-stream SIGNAL on external `queue`'s `stream` (0-3): the
    /// driver's job adds 1 to the stream's SOB. Returns its sequence
    /// number, for [`Device::submit_wait`].
    pub fn submit_signal(&self, queue: Queue, stream: u32) -> Result<u64> {
        let chunk = Self::stream_chunk(queue, stream)?;
        let out = self.cs_sync(HL_CS_FLAGS_SIGNAL, 0, Some(&chunk))?;
        // SAFETY: `seq` is a u64 of the union; every byte is initialised.
        Ok(unsafe { out.__bindgen_anon_1.seq })
    }

    /// A sync-stream WAIT on external `queue`'s `stream` for the SIGNAL
    /// submission `signal`: the jobs submitted after it to that stream run
    /// once the SIGNAL's job has.
    pub fn submit_wait(&self, queue: Queue, stream: u32, signal: u64) -> Result<u64> {
        let mut chunk = Self::stream_chunk(queue, stream)?;
        let seqs = [signal];
        chunk.__bindgen_anon_1.signal_seq_arr = seqs.as_ptr() as u64;
        chunk.__bindgen_anon_2.num_signal_seq_arr = 1;
        let out = self.cs_sync(HL_CS_FLAGS_WAIT, 0, Some(&chunk))?;
        // SAFETY: as in `submit_signal`.
        Ok(unsafe { out.__bindgen_anon_1.seq })
    }

    /// A sync-stream WAIT on external `queue`'s `stream` for encapsulated
    /// signal `offset` (1 the first) of staged submission `staged`, whose
    /// first stage gives them ([`Stage::First`] with `signals`).
    pub fn submit_wait_signals(
        &self,
        queue: Queue,
        stream: u32,
        staged: u64,
        offset: u32,
    ) -> Result<u64> {
        let mut chunk = Self::stream_chunk(queue, stream)?;
        chunk.__bindgen_anon_1.encaps_signal_seq = staged;
        chunk.__bindgen_anon_2.encaps_signal_offset = offset;
        let flags = HL_CS_FLAGS_WAIT | HL_CS_FLAGS_ENCAP_SIGNALS;
        let out = self.cs_sync(flags, 0, Some(&chunk))?;
        // SAFETY: as in `submit_signal`.
        Ok(unsafe { out.__bindgen_anon_1.seq })
    }

    /// Reserves the next `count` signal values of external `queue`'s
    /// `stream` for a staged submission whose jobs give them
    /// (`HL_CS_FLAGS_RESERVE_SIGNALS_ONLY`).
    pub fn reserve_signals(&self, queue: Queue, stream: u32, count: u32) -> Result<Signals> {
        let chunk = Self::stream_chunk(queue, stream)?;
        let word = two_u32(count, chunk.queue_index);
        let out = self.cs_sync(HL_CS_FLAGS_RESERVE_SIGNALS_ONLY, word, None)?;
        // SAFETY: `handle_id` and `count` are u32s of the union; every byte
        // is initialised.
        let ids = unsafe { out.__bindgen_anon_1.__bindgen_anon_1 };
        Ok(Signals {
            handle_id: ids.handle_id,
            sob_offset: out.sob_base_addr_offset,
            next: ids.count,
            count,
        })
    }

    /// Gives reserved signals back (`HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY`):
    /// those of the stream's last reservation, not used by a submission.
    pub fn unreserve_signals(&self, signals: Signals) -> Result<()> {
        let flags = HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY;
        self.cs_sync(flags, two_u32(signals.handle_id, 0), None)
            .map(|_| ())
    }

    /// The raw WAIT_CS ioctl: the ioctl's result and what it wrote back,
    /// which WAIT_CS does on failure too.
    pub(crate) fn wait_cs_raw(&self, seq: u64, timeout_us: u64) -> (Result<()>, hl_wait_cs_out) {
        let mut input = hl_wait_cs_in::default();
        input.__bindgen_anon_1.__bindgen_anon_1 =
            hl_wait_cs_in__bindgen_ty_1__bindgen_ty_1 { seq, timeout_us };
        let mut args = hl_wait_cs_args { in_: input };
        // SAFETY: hl_wait_cs_args is WAIT_CS's argument; it holds no pointer.
        let rc = unsafe { self.ioctl(HL_IOCTL_WAIT_CS, &mut args, "WAIT_CS") };
        // SAFETY: every byte of the union is initialised, and `out` is made
        // of integers.
        (rc, unsafe { args.out })
    }

    /// Waits up to `timeout` (zero: just looks) for submission `seq`.
    pub fn wait_cs(&self, seq: u64, timeout: Duration) -> Result<CsStatus> {
        self.wait_cs_stamped(seq, timeout).map(|(s, _)| s)
    }

    /// As [`Device::wait_cs`], with the completion time (`CLOCK_MONOTONIC`,
    /// ns) of a submission made with `HL_CS_FLAGS_TIMESTAMP`.
    pub fn wait_cs_stamped(&self, seq: u64, timeout: Duration) -> Result<(CsStatus, Option<i64>)> {
        let timeout_us = timeout.as_micros().min(u64::MAX.into()) as u64;
        let (rc, out) = self.wait_cs_raw(seq, timeout_us);
        let status = CsStatus::from_uapi(rc, &out)?;
        let stamp =
            (out.flags & HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD != 0).then_some(out.timestamp_nsec);
        Ok((status, stamp))
    }

    /// Waits up to `timeout` for any of `seqs` (1 to
    /// `HL_WAIT_MULTI_CS_LIST_MAX_LEN`, `HL_WAIT_CS_FLAGS_MULTI_CS`): a bit
    /// per completed submission, by position in `seqs`, 0 if none completed
    /// in time.
    pub fn wait_multi_cs(&self, seqs: &[u64], timeout: Duration) -> Result<u32> {
        if !(1..=HL_WAIT_MULTI_CS_LIST_MAX_LEN as usize).contains(&seqs.len()) {
            return Err(Error::invalid(format!(
                "WAIT_CS: {} submissions, not 1 to {HL_WAIT_MULTI_CS_LIST_MAX_LEN}",
                seqs.len()
            )));
        }
        let mut input = hl_wait_cs_in {
            flags: HL_WAIT_CS_FLAGS_MULTI_CS,
            ..Default::default()
        };
        input.__bindgen_anon_1.__bindgen_anon_1 = hl_wait_cs_in__bindgen_ty_1__bindgen_ty_1 {
            seq: seqs.as_ptr() as u64,
            timeout_us: timeout.as_micros().min(u64::MAX.into()) as u64,
        };
        input.__bindgen_anon_2.__bindgen_anon_1.seq_arr_len = seqs.len() as u8;
        let mut args = hl_wait_cs_args { in_: input };
        // SAFETY: hl_wait_cs_args is WAIT_CS's argument; its seq points to
        // seq_arr_len readable sequence numbers.
        let rc = unsafe { self.ioctl(HL_IOCTL_WAIT_CS, &mut args, "WAIT_CS multi") };
        // SAFETY: every byte of the union is initialised, and `out` is made
        // of integers.
        let out = unsafe { args.out };
        match CsStatus::from_uapi(rc, &out)? {
            CsStatus::Completed => Ok(out.cs_completion_map),
            CsStatus::Busy => Ok(0),
            s => Err(Error::new(libc::EIO, format!("WAIT_CS multi: {s}"))),
        }
    }

    /// The raw MEMORY ioctl: returns the handle or address `out` holds.
    ///
    /// # Safety
    ///
    /// For `HL_MEM_OP_MAP` with `HL_MEM_USERPTR`, the host range must stay
    /// allocated, and be used as device memory only, until it is unmapped.
    pub(crate) unsafe fn mem_raw(&self, mem: hl_mem_in, what: &'static str) -> Result<u64> {
        let mut args = hl_mem_args { in_: mem };
        // SAFETY: hl_mem_args is MEMORY's argument; the caller vouches for
        // a host range.
        unsafe { self.ioctl(HL_IOCTL_MEMORY, &mut args, what) }?;
        // SAFETY: every byte of the union is initialised, and `out` is a u64.
        Ok(unsafe { args.out.__bindgen_anon_1.handle })
    }

    /// `HL_MEM_OP_ALLOC` of `size` bytes of device memory, GAUDI's: without
    /// DRAM virtual memory the driver only counts them (`ENOMEM` past what
    /// the DRAM has free) and answers handle 0; the user addresses DRAM
    /// itself. [`Device::device_memory`] also places the bytes.
    pub fn alloc(&self, size: u64) -> Result<()> {
        if size == 0 {
            return Err(Error::invalid("alloc: size is 0"));
        }
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_ALLOC,
            ..Default::default()
        };
        mem.__bindgen_anon_1.alloc.mem_size = size;
        // SAFETY: no host range.
        match unsafe { self.mem_raw(mem, "MEMORY alloc") }? {
            0 => Ok(()),
            h => Err(Error::new(
                libc::EPROTO,
                format!("MEMORY alloc: handle {h:#x}, not GAUDI's 0"),
            )),
        }
    }

    /// `HL_MEM_OP_FREE` of `size` bytes [`Device::alloc`] counted (mainline
    /// reads a GAUDI FREE's handle as the size).
    pub fn free(&self, size: u64) -> Result<()> {
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_FREE,
            ..Default::default()
        };
        mem.__bindgen_anon_1.free.handle = size;
        // SAFETY: no host range.
        unsafe { self.mem_raw(mem, "MEMORY free") }.map(drop)
    }

    /// `HL_MEM_OP_MAP` of a device memory handle; GAUDI has no device
    /// virtual memory to map it into: `EINVAL`.
    pub fn map(&self, handle: u64) -> Result<u64> {
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_MAP,
            ..Default::default()
        };
        mem.__bindgen_anon_1.map_device.handle = handle;
        // SAFETY: no host range.
        unsafe { self.mem_raw(mem, "MEMORY map") }
    }

    /// Unmaps what [`Device::map_host_ptr`] or [`Device::import_dmabuf`]
    /// mapped at `device_addr`.
    pub fn unmap(&self, device_addr: u64) -> Result<()> {
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_UNMAP,
            ..Default::default()
        };
        mem.__bindgen_anon_1.unmap.device_virt_addr = device_addr;
        // SAFETY: unmapping hands no host range to the device.
        unsafe { self.mem_raw(mem, "MEMORY unmap") }.map(drop)
    }

    /// `HL_MEM_OP_EXPORT_DMABUF_FD`: exports device memory as a dma-buf,
    /// `size` bytes at device address `addr` (both page aligned, in DRAM;
    /// GAUDI's driver reads the handle field as the address), and returns
    /// its file descriptor, opened with `flags` (`O_RDWR`, `O_CLOEXEC`).
    pub fn export_dmabuf(&self, addr: u64, size: u64, flags: u32) -> Result<OwnedFd> {
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_EXPORT_DMABUF_FD,
            flags,
            ..Default::default()
        };
        mem.__bindgen_anon_1.export_dmabuf_fd.handle = addr;
        mem.__bindgen_anon_1.export_dmabuf_fd.mem_size = size;
        // SAFETY: no host range.
        let fd = unsafe { self.mem_raw(mem, "MEMORY export dma-buf") }?;
        // The union's `fd` is its low 32 bits.
        let fd = fd as u32 as i32;
        if fd < 0 {
            return Err(Error::new(libc::EIO, "MEMORY export dma-buf: no fd"));
        }
        // SAFETY: the driver installed a new file descriptor for us.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// `HL_MEM_OP_IMPORT_DMABUF_FD` (habanalabs-rs's extension): maps the
    /// dma-buf `fd` (another device's memory) for this device's engines and
    /// returns its device address, until [`Device::unmap`].
    pub fn import_dmabuf(&self, fd: BorrowedFd<'_>) -> Result<u64> {
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_IMPORT_DMABUF_FD,
            ..Default::default()
        };
        mem.__bindgen_anon_1.import_dmabuf_fd.fd = fd.as_raw_fd();
        // SAFETY: the engines reach only the buffer's memory, no host range.
        unsafe { self.mem_raw(mem, "MEMORY import dma-buf") }
    }

    /// `size` bytes of device memory, until the returned [`DeviceMemory`]
    /// is dropped.
    pub fn device_memory(&self, size: u64) -> Result<DeviceMemory<'_>> {
        DeviceMemory::new(self, size)
    }

    /// Places `size` bytes in device memory for a [`DeviceMemory`].
    pub(crate) fn dram_place(&self, size: u64) -> Result<u64> {
        let mut pool = self.dram.lock().unwrap_or_else(|e| e.into_inner());
        if pool.is_none() {
            let hw = self.hw_ip_info()?;
            *pool = Some(DramPool::new(hw.dram_base, hw.dram_size));
        }
        pool.as_mut()
            .map_or(Err(Error::new(libc::ENOMEM, "device memory")), |p| {
                p.place(size)
            })
    }

    /// Frees what [`Device::dram_place`] placed at `addr`.
    pub(crate) fn dram_unplace(&self, addr: u64) {
        let mut pool = self.dram.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pool.as_mut() {
            p.unplace(addr);
        }
    }

    /// Maps `buf` for the device, until the returned mapping is dropped.
    pub fn map_host<'a>(&'a self, buf: &'a mut [u8]) -> Result<HostMapping<'a>> {
        // SAFETY: `buf` is borrowed by the mapping, which unmaps it before
        // the borrow ends, and is memory the device may read and write.
        let addr = unsafe { self.map_host_ptr(buf.as_mut_ptr(), buf.len() as u64) }?;
        Ok(HostMapping::new(self, buf, addr))
    }

    /// Maps `len` bytes at `ptr` (any alignment) for the device: returns
    /// the device address of `ptr`, for [`Device::unmap`].
    ///
    /// # Safety
    ///
    /// The range must stay allocated until it is unmapped, and the device
    /// may write it at any time until then: nothing may rely on its contents
    /// while a submission that writes it runs.
    pub unsafe fn map_host_ptr(&self, ptr: *mut u8, len: u64) -> Result<u64> {
        if len == 0 {
            return Err(Error::invalid(format!("map_host: 0 bytes at {ptr:p}")));
        }
        let mut mem = hl_mem_in {
            op: HL_MEM_OP_MAP,
            flags: HL_MEM_USERPTR,
            ..Default::default()
        };
        mem.__bindgen_anon_1.map_host.host_virt_addr = ptr as u64;
        mem.__bindgen_anon_1.map_host.mem_size = len;
        // SAFETY: the caller vouches for the range.
        unsafe { self.mem_raw(mem, "MEMORY map host") }
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for Device {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl FromRawFd for Device {
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller gives us `fd`, open, to own.
        Self::from_file(unsafe { File::from_raw_fd(fd) })
    }
}

impl IntoRawFd for Device {
    fn into_raw_fd(self) -> RawFd {
        self.file.into_raw_fd()
    }
}

/// The PCI address of the device behind character device `rdev`: its
/// parent in sysfs.
pub(crate) fn pci_bus_id_of(rdev: u64) -> Result<String> {
    let link = format!(
        "/sys/dev/char/{}:{}/device",
        libc::major(rdev),
        libc::minor(rdev)
    );
    let path = fs::canonicalize(&link)
        .map_err(|e| Error::new(e.raw_os_error().unwrap_or(libc::EIO), link))?;
    Ok(path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default())
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// A uAPI struct an INFO op returns.
///
/// # Safety
///
/// The struct is made of integers only, so that any bytes are a valid
/// value, and `OP` is the op that returns it.
pub(crate) unsafe trait InfoOp: Default {
    const OP: u32;
}

macro_rules! info_ops {
    ($($t:ty => $op:expr),* $(,)?) => {$(
        // SAFETY: integers and arrays of integers only, and its op.
        unsafe impl InfoOp for $t {
            const OP: u32 = $op;
        }
    )*};
}

info_ops! {
    hl_info_hw_ip_info => HL_INFO_HW_IP_INFO,
    hl_info_dram_usage => HL_INFO_DRAM_USAGE,
    hl_info_hw_idle => HL_INFO_HW_IDLE,
    hl_info_device_status => HL_INFO_DEVICE_STATUS,
    hl_info_clk_rate => HL_INFO_CLK_RATE,
    hl_info_reset_count => HL_INFO_RESET_COUNT,
    hl_info_time_sync => HL_INFO_TIME_SYNC,
    hl_info_cs_timeout_event => HL_INFO_CS_TIMEOUT_EVENT,
    hl_info_razwi_event => HL_INFO_RAZWI_EVENT,
    hl_info_undefined_opcode_event => HL_INFO_UNDEFINED_OPCODE_EVENT,
    hl_info_mac_addr => HL_INFO_MAC_ADDR,
}

/// The text of a NUL-terminated (or full) byte array.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The device's identity and resources, as `HL_INFO_HW_IP_INFO` gives
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HwIpInfo {
    /// PCI device id of the chip (GAUDI: 0x1000).
    pub device_id: u32,
    /// Module id of the card in its server.
    pub module_id: u32,
    /// The card's name.
    pub card_name: String,
    /// The device CPU's firmware version.
    pub cpucp_version: String,
    /// The board's CPLD version.
    pub cpld_version: u32,
    /// First device address of SRAM free for the user.
    pub sram_base: u64,
    /// Bytes of SRAM for the user.
    pub sram_size: u32,
    /// First device address of device memory free for the user.
    pub dram_base: u64,
    /// Bytes of device memory for the user.
    pub dram_size: u64,
    /// Whether the device has device memory.
    pub dram_enabled: bool,
    /// A bit per enabled TPC engine.
    pub tpc_enabled_mask: u8,
    /// Event counters `HL_INFO_HW_EVENTS` returns.
    pub num_of_events: u32,
    /// `enum hl_server_type`.
    pub server_type: u16,
}

impl From<hl_info_hw_ip_info> for HwIpInfo {
    fn from(i: hl_info_hw_ip_info) -> Self {
        Self {
            device_id: i.device_id,
            module_id: i.module_id,
            card_name: c_string(&i.card_name),
            cpucp_version: c_string(&i.cpucp_version),
            cpld_version: i.cpld_version,
            sram_base: i.sram_base_address,
            sram_size: i.sram_size,
            dram_base: i.dram_base_address,
            dram_size: i.dram_size,
            dram_enabled: i.dram_enabled != 0,
            tpc_enabled_mask: i.tpc_enabled_mask,
            num_of_events: i.num_of_events,
            server_type: i.server_type,
        }
    }
}

/// What went wrong on the device: the causes of an engine's error that the
/// device reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// An unknown opcode.
    BadOpcode,
    /// An address outside every region, crossing regions, or misaligned.
    BadAddress,
    /// A truncated packet, a reserved field set, a bad buffer descriptor.
    BadPacket,
    /// A host address not mapped, or read-only and written.
    MmuFault,
    /// A `FENCE` not resolved within 1 s.
    FenceTimeout,
    /// A packet the engine does not run.
    NotSupported,
    /// An invalid TPC kernel descriptor.
    BadKernel,
}

/// GAUDI's async event ids (`gaudi_async_events.h`) that an error is
/// counted under in `HL_INFO_HW_EVENTS`.
pub mod event {
    /// `GAUDI_EVENT_SIZE`: the counters `HL_INFO_HW_EVENTS` answers.
    pub const COUNT: u32 = 663;
    /// `GAUDI_EVENT_TPC0_KRN_ERR`; TPC `n`'s is 6 `* n` further.
    pub const TPC0_KRN_ERR: u32 = 301;
    /// `GAUDI_EVENT_MMU_PAGE_FAULT`.
    pub const MMU_PAGE_FAULT: u32 = 380;
    /// `GAUDI_EVENT_RAZWI_OR_ADC`.
    pub const RAZWI_OR_ADC: u32 = 548;
    /// `GAUDI_EVENT_TPC0_QM` to `TPC7_QM`.
    pub const TPC0_QM: u32 = 572;
    /// `GAUDI_EVENT_MME0_QM` and `MME2_QM`: the QMANs of MME 0 and 1.
    pub const MME0_QM: u32 = 581;
    /// `GAUDI_EVENT_DMA0_QM` to `DMA7_QM`.
    pub const DMA0_QM: u32 = 583;
    /// `GAUDI_EVENT_NIC0_QM0`: port `p`'s NIC QMAN is `NIC0_QM0 + p`
    /// (`NIC(p/2)_QM(p%2)`).
    pub const NIC0_QM0: u32 = 594;

    /// The name of event `id` (without `GAUDI_EVENT_`), if it is one an
    /// error of the device is counted under.
    pub fn name(id: u32) -> Option<String> {
        Some(match id {
            MMU_PAGE_FAULT => "MMU_PAGE_FAULT".into(),
            RAZWI_OR_ADC => "RAZWI_OR_ADC".into(),
            TPC0_KRN_ERR..=343 if (id - TPC0_KRN_ERR).is_multiple_of(6) => {
                format!("TPC{}_KRN_ERR", (id - TPC0_KRN_ERR) / 6)
            }
            TPC0_QM..=579 => format!("TPC{}_QM", id - TPC0_QM),
            MME0_QM..=582 => format!("MME{}_QM", 2 * (id - MME0_QM)),
            DMA0_QM..=590 => format!("DMA{}_QM", id - DMA0_QM),
            NIC0_QM0..=603 => format!("NIC{}_QM{}", (id - NIC0_QM0) / 2, (id - NIC0_QM0) % 2),
            _ => return None,
        })
    }
}

impl Cause {
    /// Every cause.
    pub const ALL: [Self; 7] = [
        Self::BadOpcode,
        Self::BadAddress,
        Self::BadPacket,
        Self::MmuFault,
        Self::FenceTimeout,
        Self::NotSupported,
        Self::BadKernel,
    ];

    /// The GAUDI event id an error of this cause on `queue` is counted
    /// under: a bad address is RAZWI and an MMU fault a page fault whatever
    /// the engine, a bad TPC kernel that TPC's kernel error, the rest the
    /// engine's QMAN's error.
    pub fn event(self, queue: Queue) -> u32 {
        let qm = match queue {
            Queue::Dma0 => event::DMA0_QM,
            Queue::Dma1 => event::DMA0_QM + 1,
            Queue::Tpc0 => event::TPC0_QM,
            Queue::Tpc1 => event::TPC0_QM + 1,
            Queue::Nic(port) => event::NIC0_QM0 + port,
            Queue::Dma(n) => event::DMA0_QM + n,
            Queue::Tpc(n) => event::TPC0_QM + n,
            Queue::Mme(n) => event::MME0_QM + n,
        };
        match (self, queue) {
            (Self::MmuFault, _) => event::MMU_PAGE_FAULT,
            (Self::BadAddress, _) => event::RAZWI_OR_ADC,
            (Self::BadKernel, Queue::Tpc0) => event::TPC0_KRN_ERR,
            (Self::BadKernel, Queue::Tpc1) => event::TPC0_KRN_ERR + 6,
            (Self::BadKernel, Queue::Tpc(n)) => event::TPC0_KRN_ERR + 6 * n,
            _ => qm,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadOpcode => "bad opcode",
            Self::BadAddress => "bad address",
            Self::BadPacket => "bad packet",
            Self::MmuFault => "MMU fault",
            Self::FenceTimeout => "fence timeout",
            Self::NotSupported => "not supported",
            Self::BadKernel => "bad kernel",
        })
    }
}

/// The device's event counters (`HL_INFO_HW_EVENTS`), by GAUDI event id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HwEvents {
    /// By event id: `num_of_events` of them.
    pub counts: Vec<u32>,
}

impl HwEvents {
    /// Events of id `id` (0 for an id beyond the array).
    pub fn count(&self, id: u32) -> u32 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }

    /// The ids whose counters are higher here than in `before`.
    pub fn grown_since(&self, before: &Self) -> Vec<u32> {
        (0..self.counts.len() as u32)
            .filter(|&id| self.count(id) > before.count(id))
            .collect()
    }
}

/// Device memory use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DramUsage {
    /// Bytes nobody allocated.
    pub free: u64,
    /// Bytes the compute node's user allocated.
    pub allocated: u64,
}

/// Whether the engines are idle (`HL_INFO_HW_IDLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwIdle {
    /// No engine is busy.
    pub idle: bool,
    /// A bit per busy engine, by `enum gaudi_engine_id`, the first 32.
    pub busy_mask: u32,
    /// The same for every engine id.
    pub busy_mask_ext: [u64; HL_BUSY_ENGINES_MASK_EXT_SIZE as usize],
}

/// The device's state (`enum hl_device_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Working.
    Operational,
    /// Being reset.
    InReset,
    /// Broken.
    Malfunction,
    /// Needs a reset the driver will not do by itself.
    NeedsReset,
    /// Working, still being set up.
    InDeviceCreation,
    /// Being reset after its user closed it.
    InResetAfterDeviceRelease,
    /// A status the library does not know.
    Unknown(u32),
}

impl From<u32> for DeviceStatus {
    fn from(s: u32) -> Self {
        match s {
            HL_DEVICE_STATUS_OPERATIONAL => Self::Operational,
            HL_DEVICE_STATUS_IN_RESET => Self::InReset,
            HL_DEVICE_STATUS_MALFUNCTION => Self::Malfunction,
            HL_DEVICE_STATUS_NEEDS_RESET => Self::NeedsReset,
            HL_DEVICE_STATUS_IN_DEVICE_CREATION => Self::InDeviceCreation,
            HL_DEVICE_STATUS_IN_RESET_AFTER_DEVICE_RELEASE => Self::InResetAfterDeviceRelease,
            s => Self::Unknown(s),
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Operational => f.write_str("operational"),
            Self::InReset => f.write_str("in reset"),
            Self::Malfunction => f.write_str("malfunction"),
            Self::NeedsReset => f.write_str("needs reset"),
            Self::InDeviceCreation => f.write_str("in device creation"),
            Self::InResetAfterDeviceRelease => f.write_str("in reset after device release"),
            Self::Unknown(s) => write!(f, "unknown status {s}"),
        }
    }
}

/// NIC port MAC addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacAddrs {
    /// Ports 0 to 63 that have an address.
    pub port_mask: u64,
    /// Those ports and their addresses, by port.
    pub ports: Vec<(u32, [u8; 6])>,
}

/// Engine clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClkRate {
    /// Current, MHz.
    pub cur_mhz: u32,
    /// Maximum, MHz.
    pub max_mhz: u32,
}

/// A queue: the engine behind a QMAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    /// DMA engine 0: `LIN_DMA`, an external queue (host memory).
    Dma0,
    /// DMA engine 1, external.
    Dma1,
    /// TPC engine 0: `LOAD_AND_EXE`.
    Tpc0,
    /// TPC engine 1.
    Tpc1,
    /// The NIC QMAN of a port: `NIC_WRITE`, `NIC_SEND`, `NIC_RECV`.
    Nic(u32),
    /// Internal DMA engine 2-7: `LIN_DMA` within the device.
    Dma(u32),
    /// TPC engine 2-7.
    Tpc(u32),
    /// MME 0-1: the QMAN's own packets, no engine packet.
    Mme(u32),
}

impl Queue {
    /// The compute queues that have been there from the start.
    pub const ALL: [Self; 4] = [Self::Dma0, Self::Dma1, Self::Tpc0, Self::Tpc1];

    /// Every compute queue of GAUDI: DMA 0-7, TPC 0-7, MME 0-1.
    pub fn every() -> impl Iterator<Item = Self> {
        let dma = (0..8).map(|n| Self::dma(n).expect("DMA 0-7"));
        let tpc = (0..8).map(|n| Self::tpc(n).expect("TPC 0-7"));
        dma.chain(tpc).chain((0..2).map(Self::Mme))
    }

    /// DMA engine `n`'s queue, 0-7.
    pub fn dma(n: u32) -> Option<Self> {
        match n {
            0 => Some(Self::Dma0),
            1 => Some(Self::Dma1),
            2..=7 => Some(Self::Dma(n)),
            _ => None,
        }
    }

    /// TPC engine `n`'s queue, 0-7.
    pub fn tpc(n: u32) -> Option<Self> {
        match n {
            0 => Some(Self::Tpc0),
            1 => Some(Self::Tpc1),
            2..=7 => Some(Self::Tpc(n)),
            _ => None,
        }
    }

    /// The `queue_index` of a job on it: GAUDI's queue id (`enum
    /// gaudi_queue_id`) of stream 0 of the engine's QMAN.
    pub fn index(self) -> u32 {
        match self {
            Self::Dma0 => GAUDI_QUEUE_ID_DMA_0_0,
            Self::Dma1 => GAUDI_QUEUE_ID_DMA_1_0,
            Self::Tpc0 => GAUDI_QUEUE_ID_TPC_0_0,
            Self::Tpc1 => GAUDI_QUEUE_ID_TPC_1_0,
            Self::Nic(port) => GAUDI_QUEUE_ID_NIC_0_0.saturating_add(port.saturating_mul(4)),
            // DMA 2 follows the CPU queue.
            Self::Dma(n) => GAUDI_QUEUE_ID_DMA_2_0.saturating_add(4 * n.saturating_sub(2)),
            Self::Tpc(n) => GAUDI_QUEUE_ID_TPC_0_0.saturating_add(n.saturating_mul(4)),
            Self::Mme(n) => GAUDI_QUEUE_ID_MME_0_0.saturating_add(n.saturating_mul(4)),
        }
    }

    /// The device model's own number of the engine's QMAN (its block in
    /// BAR2, its fence counters, its bit in `ENGINE_HANG`): 0-3 for DMA 0,
    /// DMA 1, TPC 0, TPC 1, 4-9 DMA 2-7, 10-15 TPC 2-7, `16 + port` for a
    /// NIC queue, 26-27 MME 0-1.
    pub fn qman(self) -> u32 {
        match self {
            Self::Dma0 => 0,
            Self::Dma1 => 1,
            Self::Tpc0 => 2,
            Self::Tpc1 => 3,
            Self::Nic(port) => 16u32.saturating_add(port),
            Self::Dma(n) => n.saturating_add(2),
            Self::Tpc(n) => n.saturating_add(8),
            Self::Mme(n) => n.saturating_add(26),
        }
    }

    /// Whether the queue is one of GAUDI's external queues (DMA 0 and 1),
    /// the ones whose engines reach host memory on GAUDI.
    pub fn external(self) -> bool {
        matches!(self, Self::Dma0 | Self::Dma1)
    }

    /// The queue of GAUDI queue id `i`, any of the QMAN's four streams.
    pub fn from_index(i: u32) -> Option<Self> {
        let nic = (0..HL_MAX_PORTS).map(Self::Nic);
        Self::every()
            .chain(nic)
            .find(|q| (q.index()..q.index() + 4).contains(&i))
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, n) = match *self {
            Self::Dma0 => ("dma", 0),
            Self::Dma1 => ("dma", 1),
            Self::Tpc0 => ("tpc", 0),
            Self::Tpc1 => ("tpc", 1),
            Self::Nic(port) => ("nic", port),
            Self::Dma(n) => ("dma", n),
            Self::Tpc(n) => ("tpc", n),
            Self::Mme(n) => ("mme", n),
        };
        write!(f, "{kind}{n}")
    }
}

impl FromStr for Queue {
    type Err = Error;

    /// A GAUDI queue id ("41", "77") or a name ("tpc0", "nic1").
    fn from_str(s: &str) -> Result<Self> {
        let nic = (0..HL_MAX_PORTS).map(Self::Nic);
        let by_id = s.parse().ok().and_then(Self::from_index);
        by_id
            .or_else(|| {
                Self::every()
                    .chain(nic)
                    .find(|q| s.eq_ignore_ascii_case(&q.to_string()))
            })
            .ok_or_else(|| {
                Error::invalid(format!(
                    "no queue {s:?}: dma0-dma7, tpc0-tpc7, mme0, mme1, nic0-nic9 or a GAUDI queue id of theirs"
                ))
            })
    }
}

/// The 8 bytes of `first` then `second`, as a union of a `u64` and two
/// `u32`s holds them.
fn two_u32(first: u32, second: u32) -> u64 {
    let mut bytes = [0; 8];
    bytes[..4].copy_from_slice(&first.to_ne_bytes());
    bytes[4..].copy_from_slice(&second.to_ne_bytes());
    u64::from_ne_bytes(bytes)
}

/// Encapsulated signals reserved by [`Device::reserve_signals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signals {
    /// The handle, for [`Stage::First`] and [`Device::unreserve_signals`].
    pub handle_id: u32,
    /// Where the stream's SOB is in GAUDI's configuration space: a job
    /// gives one signal by adding 1 to it ([`Signals::sob_addr`]).
    pub sob_offset: u32,
    /// The stream's next signal value after the reserved ones.
    pub next: u32,
    /// How many were reserved.
    pub count: u32,
}

impl Signals {
    /// The device address of the stream's SOB, for `MSG_LONG` of
    /// `sync::SOB_ADD | 1`.
    pub fn sob_addr(&self) -> u64 {
        hlsim_regs::space::CFG_BASE + u64::from(self.sob_offset)
    }
}

/// A stage of a staged submission, for [`Device::submit_stage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The first stage.
    First {
        /// Also the last.
        last: bool,
        /// Encapsulated signals its jobs give.
        signals: Option<Signals>,
    },
    /// A later stage.
    Next {
        /// The staged submission: its first stage's sequence number.
        seq: u64,
        /// The last stage.
        last: bool,
    },
}

/// A job: the first `size` bytes of command buffer `cb_handle`, on `queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// The command buffer.
    pub cb_handle: u64,
    /// The queue that runs it.
    pub queue: Queue,
    /// Bytes of packets: a multiple of 8, 8 to `HL_MAX_CB_SIZE`.
    pub size: u32,
}

impl Job {
    fn chunk(self) -> Result<hl_cs_chunk> {
        if !self.size.is_multiple_of(8) || !(8..=HL_MAX_CB_SIZE).contains(&self.size) {
            return Err(Error::invalid(format!(
                "CS: job size {} is not a multiple of 8 in 8..={HL_MAX_CB_SIZE}",
                self.size
            )));
        }
        let mut chunk = hl_cs_chunk {
            queue_index: self.queue.index(),
            ..Default::default()
        };
        chunk.__bindgen_anon_1.cb_handle = self.cb_handle;
        chunk.__bindgen_anon_2.cb_size = self.size;
        Ok(chunk)
    }
}

/// A command buffer, created and mapped by [`Device::command_buffer`];
/// dropping it unmaps and destroys it.
pub struct CommandBuffer<'d> {
    dev: &'d Device,
    handle: u64,
    map: NonNull<u8>,
    size: u32,
    len: u32,
}

impl CommandBuffer<'_> {
    /// The handle, for [`Job`]s.
    pub fn handle(&self) -> u64 {
        self.handle
    }

    /// Bytes the command buffer holds.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Bytes of packets pushed so far.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a packet.
    pub fn push(&mut self, packet: &Packet) -> Result<()> {
        self.push_bytes(packet.as_bytes())
    }

    /// Appends packets.
    pub fn push_all<'p>(&mut self, packets: impl IntoIterator<Item = &'p Packet>) -> Result<()> {
        packets.into_iter().try_for_each(|p| self.push(p))
    }

    /// Appends raw bytes; `ENOSPC` if they do not fit.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let start = self.len as usize;
        let end = start + bytes.len();
        if end > self.size as usize {
            return Err(Error::new(
                libc::ENOSPC,
                format!(
                    "CB: {} bytes do not fit after {start} of {}",
                    bytes.len(),
                    self.size
                ),
            ));
        }
        self.as_mut_slice()[start..end].copy_from_slice(bytes);
        self.len = end as u32;
        Ok(())
    }

    /// All the command buffer's bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `map` is a read-write mapping of `size` bytes that lives
        // as long as `self`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_ptr(), self.size as usize) }
    }

    /// A job of the packets pushed so far, on `queue`.
    pub fn job(&self, queue: Queue) -> Job {
        Job {
            cb_handle: self.handle,
            queue,
            size: self.len,
        }
    }
}

impl Drop for CommandBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: `map` is our mapping of `size` bytes, and no reference to
        // it outlives `self`.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.size as usize) };
        // Nothing to do about a failure here; submissions keep the CB alive.
        let _ = self.dev.cb_destroy(self.handle);
    }
}

impl fmt::Debug for CommandBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandBuffer")
            .field("handle", &self.handle)
            .field("size", &self.size)
            .field("len", &self.len)
            .finish()
    }
}

/// Where a submission is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsStatus {
    /// Every job succeeded (also for a submission so old the driver no
    /// longer tracks it).
    Completed,
    /// Still running when the wait timed out.
    Busy,
    /// It ran out of time (WAIT_CS fails with `ETIMEDOUT`).
    TimedOut,
    /// A job failed and the submission was aborted (WAIT_CS fails with
    /// `EIO`); the INFO events (`HL_INFO_UNDEFINED_OPCODE_EVENT`,
    /// `HL_INFO_RAZWI_EVENT`) tell what happened.
    Aborted,
}

impl CsStatus {
    /// The outcome of a WAIT_CS that returned `rc` and wrote `out`:
    /// mainline reports a timed-out or aborted submission with the ioctl's
    /// `ETIMEDOUT` or `EIO` and the status set.
    fn from_uapi(rc: Result<()>, out: &hl_wait_cs_out) -> Result<Self> {
        let status = match (rc, out.status) {
            (Ok(()), HL_WAIT_CS_STATUS_COMPLETED) => Self::Completed,
            (Ok(()), HL_WAIT_CS_STATUS_BUSY) => Self::Busy,
            (Err(e), HL_WAIT_CS_STATUS_TIMEDOUT) if e.errno() == libc::ETIMEDOUT => Self::TimedOut,
            (Err(e), HL_WAIT_CS_STATUS_ABORTED) if e.errno() == libc::EIO => Self::Aborted,
            (Err(e), _) => return Err(e),
            (Ok(()), s) => {
                return Err(Error::new(
                    libc::EPROTO,
                    format!("WAIT_CS: unknown status {s}"),
                ));
            }
        };
        Ok(status)
    }
}

impl fmt::Display for CsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::TimedOut => "timed out",
            Self::Aborted => "aborted",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues() {
        let ids = [
            GAUDI_QUEUE_ID_DMA_0_0,
            GAUDI_QUEUE_ID_DMA_1_0,
            GAUDI_QUEUE_ID_TPC_0_0,
            GAUDI_QUEUE_ID_TPC_1_0,
        ];
        for (i, (q, id)) in Queue::ALL.into_iter().zip(ids).enumerate() {
            assert_eq!((q.index(), q.qman()), (id, i as u32));
            for stream in 0..4 {
                assert_eq!(Queue::from_index(id + stream), Some(q));
            }
            assert_eq!(q.to_string().parse::<Queue>().unwrap(), q);
            assert_eq!(id.to_string().parse::<Queue>().unwrap(), q);
        }
        assert_eq!(Queue::ALL.map(|q| q.index()), [0, 4, 41, 45]);
        assert_eq!("TPC1".parse::<Queue>().unwrap(), Queue::Tpc1);
        for bad in [GAUDI_QUEUE_ID_CPU_PQ, GAUDI_QUEUE_ID_SIZE] {
            assert_eq!(Queue::from_index(bad), None, "{bad}");
        }
        // GAUDI's other queues, and the model's numbers of their QMANs.
        let others = [
            (Queue::Dma(2), GAUDI_QUEUE_ID_DMA_2_0, 4),
            (Queue::Dma(7), GAUDI_QUEUE_ID_DMA_7_0, 9),
            (Queue::Tpc(2), GAUDI_QUEUE_ID_TPC_2_0, 10),
            (Queue::Tpc(7), GAUDI_QUEUE_ID_TPC_7_0, 15),
            (Queue::Mme(0), GAUDI_QUEUE_ID_MME_0_0, 26),
            (Queue::Mme(1), GAUDI_QUEUE_ID_MME_1_0, 27),
        ];
        for (q, id, qman) in others {
            assert_eq!((q.index(), q.qman()), (id, qman), "{q}");
            assert_eq!(Queue::from_index(id + 3), Some(q));
            assert_eq!(q.to_string().parse::<Queue>().unwrap(), q);
        }
        assert_eq!(Queue::every().count(), 18);
        assert_eq!(Queue::dma(1), Some(Queue::Dma1));
        assert_eq!(Queue::tpc(8), None);
        for p in 0..HL_MAX_PORTS {
            let q = Queue::Nic(p);
            assert_eq!((q.index(), q.qman()), (73 + 4 * p, 16 + p));
            assert_eq!(Queue::from_index(73 + 4 * p + 3), Some(q));
            assert_eq!(q.to_string().parse::<Queue>().unwrap(), q);
            assert_eq!((73 + 4 * p).to_string().parse::<Queue>().unwrap(), q);
        }
        assert_eq!(GAUDI_QUEUE_ID_NIC_9_3, 73 + 4 * HL_MAX_PORTS - 1);
        assert_eq!("NIC9".parse::<Queue>().unwrap(), Queue::Nic(9));
        assert!("nic10".parse::<Queue>().is_err());
        assert_eq!("8".parse::<Queue>().unwrap_err().errno(), libc::EINVAL);
        assert!("dma8".parse::<Queue>().is_err());
        assert!("mme2".parse::<Queue>().is_err());
    }

    #[test]
    fn job_validation() {
        let job = |size| Job {
            cb_handle: 1,
            queue: Queue::Tpc1,
            size,
        };
        let c = job(16).chunk().unwrap();
        // SAFETY: both unions were written whole as u64 and u32.
        let (handle, size) = unsafe { (c.__bindgen_anon_1.cb_handle, c.__bindgen_anon_2.cb_size) };
        assert_eq!(
            (handle, c.queue_index, size),
            (1, GAUDI_QUEUE_ID_TPC_1_0, 16)
        );
        assert_eq!((c.cs_chunk_flags, c.pad), (0, [0; 10]));
        assert!(job(HL_MAX_CB_SIZE).chunk().is_ok());
        for bad in [0, 4, 12, HL_MAX_CB_SIZE + 8] {
            assert_eq!(
                job(bad).chunk().map(drop).unwrap_err().errno(),
                libc::EINVAL
            );
        }
    }

    /// Argument checks happen before any ioctl, so /dev/null will do.
    fn null_device() -> Device {
        Device::open_path(Path::new("/dev/null")).unwrap()
    }

    #[test]
    fn argument_validation() {
        let dev = null_device();
        fn einval<T>(r: Result<T>) -> bool {
            r.is_err_and(|e| e.errno() == libc::EINVAL)
        }
        assert!(einval(dev.cb_create(0)));
        assert!(einval(dev.cb_create(7)));
        assert!(einval(dev.cb_create(HL_MAX_CB_SIZE + 1)));
        assert!(einval(dev.submit(&[])));
        let job = Job {
            cb_handle: 1,
            queue: Queue::Dma0,
            size: 8,
        };
        assert!(einval(dev.submit(&[job; HL_MAX_JOBS_PER_CS as usize + 1])));
        assert!(einval(dev.alloc(0)));
        let mut buf = [0u8; 8];
        assert!(einval(dev.map_host(&mut buf[..0])));
        // Any alignment is the driver's to map: /dev/null says ENOTTY.
        assert_eq!(
            dev.map_host(&mut buf[1..]).unwrap_err().errno(),
            libc::ENOTTY
        );
    }

    /// With valid arguments the ioctl is made: /dev/null has none.
    #[test]
    fn ioctl_errors_carry_errno() {
        let dev = null_device();
        let e = dev.hw_ip_info().unwrap_err();
        assert_eq!(e.errno(), libc::ENOTTY);
        assert_eq!(e.context(), "INFO");
        assert_eq!(dev.cb_create(8).unwrap_err().errno(), libc::ENOTTY);
        let e = Device::open_path(Path::new("/nonexistent/hl0")).unwrap_err();
        assert_eq!(e.errno(), libc::ENOENT);
        assert_eq!(e.context(), "open /nonexistent/hl0");
    }

    #[test]
    fn cs_union_words() {
        let mut cs = hl_cs_in::default();
        cs.__bindgen_anon_2.seq = two_u32(7, GAUDI_QUEUE_ID_DMA_1_2);
        // SAFETY: the union is initialised whole; its members are integers.
        let reserve = unsafe { cs.__bindgen_anon_2.__bindgen_anon_1 };
        assert_eq!(reserve.encaps_signals_count, 7);
        assert_eq!(reserve.encaps_signals_q_idx, GAUDI_QUEUE_ID_DMA_1_2);
        cs.__bindgen_anon_2.seq = two_u32(5, 0);
        // SAFETY: as above.
        assert_eq!(unsafe { cs.__bindgen_anon_2.encaps_sig_handle_id }, 5);
        let signals = Signals {
            handle_id: 1,
            sob_offset: 0x4f_3fe0,
            next: 3,
            count: 2,
        };
        assert_eq!(signals.sob_addr(), crate::sync::sob_addr(2040).unwrap());
    }

    #[test]
    fn wait_status() {
        let out = |status, flags| hl_wait_cs_out {
            status,
            flags,
            ..Default::default()
        };
        let err = |errno| Err(Error::new(errno, "WAIT_CS"));
        let status = |rc, o| CsStatus::from_uapi(rc, &o);
        assert_eq!(status(Ok(()), out(0, 0)).unwrap(), CsStatus::Completed);
        assert_eq!(
            status(Ok(()), out(0, HL_WAIT_CS_STATUS_FLAG_GONE)).unwrap(),
            CsStatus::Completed
        );
        assert_eq!(status(Ok(()), out(1, 0)).unwrap(), CsStatus::Busy);
        assert_eq!(
            status(err(libc::ETIMEDOUT), out(2, 0)).unwrap(),
            CsStatus::TimedOut
        );
        assert_eq!(
            status(err(libc::EIO), out(3, 0)).unwrap(),
            CsStatus::Aborted
        );
        assert_eq!(CsStatus::Aborted.to_string(), "aborted");
        assert_eq!(status(Ok(()), out(4, 0)).unwrap_err().errno(), libc::EPROTO);
        assert_eq!(
            status(err(libc::EINVAL), out(0, 0)).unwrap_err().errno(),
            libc::EINVAL
        );
        assert_eq!(
            status(err(libc::EIO), out(2, 0)).unwrap_err().errno(),
            libc::EIO
        );
    }

    #[test]
    fn causes_count_under_gaudi_events() {
        // gaudi_async_events.h: DMA1_QM, TPC1_QM, TPC1_KRN_ERR, NIC3_QM1.
        assert_eq!(Cause::BadOpcode.event(Queue::Dma1), 584);
        assert_eq!(Cause::FenceTimeout.event(Queue::Tpc1), 573);
        assert_eq!(Cause::BadKernel.event(Queue::Tpc1), 307);
        assert_eq!(Cause::BadKernel.event(Queue::Dma0), 583);
        assert_eq!(Cause::BadPacket.event(Queue::Nic(7)), 601);
        for q in [Queue::Dma0, Queue::Tpc0, Queue::Nic(9)] {
            assert_eq!(Cause::MmuFault.event(q), event::MMU_PAGE_FAULT);
            assert_eq!(Cause::BadAddress.event(q), event::RAZWI_OR_ADC);
        }
        assert_eq!(event::name(584).as_deref(), Some("DMA1_QM"));
        assert_eq!(event::name(307).as_deref(), Some("TPC1_KRN_ERR"));
        assert_eq!(event::name(601).as_deref(), Some("NIC3_QM1"));
        assert_eq!(event::name(302), None);
        assert_eq!(Cause::BadOpcode.event(Queue::Mme(1)), 582);
        assert_eq!(event::name(582).as_deref(), Some("MME2_QM"));
        assert_eq!(Cause::BadKernel.event(Queue::Tpc(7)), 343);
        assert_eq!(Cause::NotSupported.event(Queue::Dma(7)), 590);
        let mut counts = vec![0; event::COUNT as usize];
        counts[event::MMU_PAGE_FAULT as usize] = 4;
        let ev = HwEvents { counts };
        assert_eq!(ev.count(event::MMU_PAGE_FAULT), 4);
        assert_eq!(ev.count(event::COUNT + 5), 0);
        let mut grown = ev.clone();
        grown.counts[event::DMA0_QM as usize] += 1;
        assert_eq!(grown.grown_since(&ev), [event::DMA0_QM]);
    }

    #[test]
    fn hw_ip_info_conversion() {
        let mut raw = hl_info_hw_ip_info {
            device_id: 0x1000,
            dram_base_address: HL_DRAM_BASE,
            dram_enabled: 1,
            ..Default::default()
        };
        raw.card_name[..9].copy_from_slice(b"GAUDI-sim");
        raw.cpucp_version.fill(b'x');
        let info = HwIpInfo::from(raw);
        assert_eq!(info.card_name, "GAUDI-sim");
        assert_eq!(info.cpucp_version.len(), HL_INFO_VERSION_MAX_LEN as usize);
        assert_eq!(
            (info.device_id, info.dram_base, info.dram_enabled),
            (0x1000, HL_DRAM_BASE, true)
        );
    }
}
