// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance of the driver to Linux 6.1's habanalabs uAPI, as a program
 * built against the system's <misc/habanalabs.h> (Debian's linux-libc-dev)
 * sees it: every ioctl and op of that header on one device's compute and
 * control nodes, with the answers mainline's driver gives for GAUDI
 * (drivers/accel/habanalabs/common/{habanalabs_ioctl,command_buffer,
 * command_submission,memory}.c and gaudi/gaudi.c).
 *
 *   uapi_conform /dev/hlN /dev/hl_controlDN
 *
 * Prints kselftest TAP, one line per case; exits 1 if a case failed.
 * uapi_conform.sh runs it on every device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <misc/habanalabs.h>

/*
 * GAUDI as mainline describes it: facts of the interface the driver must
 * give whatever the device behind it.
 */
#define GAUDI_PCI_ID		0x1000	/* PCI_IDS_GAUDI: hw_ip.device_id */
#define GAUDI_NUM_EVENTS	663	/* GAUDI_EVENT_SIZE: async event ids */
#define GAUDI_MAX_DCORES	8	/* HL_MAX_DCORES: SYNC_MANAGER's dcore_id */
#define GAUDI_PAGE_SIZE_2MB	(2ull << 20)	/* hw_ip.dram_page_size */
#define GAUDI_HUGE_PAGE		(2ull << 20)	/* pmmu_huge.page_size */
#define GAUDI_DRAM_BASE_ADDR_USER 0x20000000ull	/* hw_ip.dram_base_address */

/*
 * The device behind the driver: its queues, packets and memory map. Queue
 * ids are GAUDI's; the device model has its own host virtual range until
 * it takes GAUDI's (issue 11); its packets are GAUDI's layout: a 32-bit
 * value word, then ctl with the opcode in [28:24]. This table is all that
 * changes then.
 */
static const struct {
	__u32 ext_queue[2];	/* two external (DMA) queues */
	__u32 bad_queue;	/* no queue */
	__u32 op_msg_long, op_nop, op_lin_dma;
	__u64 host_va_start, host_va_end;	/* where USERPTR maps go */
} dev = {
	.ext_queue = { GAUDI_QUEUE_ID_DMA_0_0, GAUDI_QUEUE_ID_DMA_1_0 },
	.bad_queue = GAUDI_QUEUE_ID_SIZE,
	.op_msg_long = 0x03,
	.op_nop = 0x0a,
	.op_lin_dma = 0x09,
	/* GAUDI's VA_HOST_SPACE_START; the model translates 2^39 bytes of it */
	.host_va_start = 0x1000000000000ull,
	.host_va_end = 0x1000000000000ull + (1ull << 39),
};

#define PKT_OPCODE_SHIFT	24
#define PKT_LIN_DMA_LIN		(1u << 3)	/* a linear transfer */

/* Writes a NOP at p; returns its size in bytes. */
static size_t pkt_nop(__u32 *p)
{
	p[0] = 0;
	p[1] = dev.op_nop << PKT_OPCODE_SHIFT;
	return 8;
}

/* Writes a MSG_LONG of value to device address addr at p; its size. */
static size_t pkt_msg_long(__u32 *p, __u32 value, __u64 addr)
{
	p[0] = value;
	p[1] = dev.op_msg_long << PKT_OPCODE_SHIFT;
	memcpy(&p[2], &addr, sizeof(addr));
	return 16;
}

/* Writes a LIN_DMA copying size bytes from device address src to dst at p; its size. */
static size_t pkt_lin_dma(__u32 *p, __u32 size, __u64 src, __u64 dst)
{
	p[0] = size;
	p[1] = dev.op_lin_dma << PKT_OPCODE_SHIFT | PKT_LIN_DMA_LIN;
	memcpy(&p[2], &src, sizeof(src));
	memcpy(&p[4], &dst, sizeof(dst));
	return 24;
}

/* --- TAP ------------------------------------------------------------ */

static const char *label;	/* the compute node's name, e.g. hl0 */
static int ntests, nfail;

static void vresult(const char *status, const char *directive, const char *fmt, va_list ap)
{
	ntests++;
	printf("%s %d %s: ", status, ntests, label);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	printf("\n");
	fflush(stdout);
}

static int check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (!ok)
		nfail++;
	va_start(ap, fmt);
	vresult(ok ? "ok" : "not ok", NULL, fmt, ap);
	va_end(ap);
	return ok;
}

/* A word the device writes into host memory, read afresh each time. */
static __u32 dev_word(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void skip(const char *why, const char *fmt, ...)
{
	char directive[256];
	va_list ap;

	snprintf(directive, sizeof(directive), "SKIP %s", why);
	va_start(ap, fmt);
	vresult("ok", directive, fmt, ap);
	va_end(ap);
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *err_name(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "success";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case EFAULT: return "EFAULT";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case ENOMEM: return "ENOMEM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EBADF: return "EBADF";
	case ENODEV: return "ENODEV";
	case EIO: return "EIO";
	case ETIMEDOUT: return "ETIMEDOUT";
	}
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* A case that expects errno want (0: success) from an ioctl that gave got. */
static int expect(int got, int want, const char *fmt, ...)
{
	char desc[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	if (got == want)
		return check(1, "%s: %s", desc, err_name(want));
	return check(0, "%s: %s, got %s", desc, err_name(want), err_name(got));
}

/* --- ioctls --------------------------------------------------------- */

static const char *compute_node;	/* its path */
static int cfd = -1, ctlfd = -1;	/* compute and control node */

/* ioctl's errno, 0 on success. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

/* INFO op into buf of size; arg is the union's word (dcore_id, ...). */
static int info(int fd, __u32 op, void *buf, __u32 size, __u32 arg)
{
	struct hl_info_args a = {
		.return_pointer = (__u64)(uintptr_t)buf,
		.return_size = size,
		.op = op,
		.ctx_id = arg,
	};

	return xioctl(fd, HL_IOCTL_INFO, &a);
}

static int cb_create(__u32 size, __u32 flags, __u64 *handle)
{
	union hl_cb_args a = { .in = { .op = HL_CB_OP_CREATE, .cb_size = size, .flags = flags } };
	int err = xioctl(cfd, HL_IOCTL_CB, &a);

	*handle = a.out.cb_handle;
	return err;
}

static int cb_destroy(__u64 handle)
{
	union hl_cb_args a = { .in = { .op = HL_CB_OP_DESTROY, .cb_handle = handle } };

	return xioctl(cfd, HL_IOCTL_CB, &a);
}

/* A CB of size bytes holding the packets at pkts, mapped; its handle. */
static int cb_with(const void *pkts, size_t len, __u32 size, __u64 *handle)
{
	void *p;
	int err = cb_create(size, 0, handle);

	if (err)
		return err;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, *handle);
	if (p == MAP_FAILED)
		return errno;
	memcpy(p, pkts, len);
	munmap(p, size);
	return 0;
}

/* Submits chunks; returns errno, the sequence number in *seq. */
static int cs_submit(struct hl_cs_chunk *chunks, __u32 n, __u32 flags, __u32 timeout, __u64 *seq)
{
	union hl_cs_args a = { .in = {
		.chunks_execute = (__u64)(uintptr_t)chunks,
		.num_chunks_execute = n,
		.cs_flags = flags,
		.timeout = timeout,
	} };
	int err = xioctl(cfd, HL_IOCTL_CS, &a);

	if (!err && a.out.status != HL_CS_STATUS_SUCCESS)
		diag("CS status %u", a.out.status);
	*seq = a.out.seq;
	return err;
}

static int cs_wait(__u64 seq, __u64 timeout_us, struct hl_wait_cs_out *out)
{
	union hl_wait_cs_args a = { .in = { .seq = seq, .timeout_us = timeout_us } };
	int err = xioctl(cfd, HL_IOCTL_WAIT_CS, &a);

	*out = a.out;
	return err;
}

/*
 * A chunk for the first external queue, of a new CB holding the len bytes of packets at pkts
 * (its handle in chunk->cb_handle, for cb_destroy()): 0 or an errno.
 */
static int chunk_with(const void *pkts, size_t len, struct hl_cs_chunk *chunk)
{
	__u64 handle;
	int err = cb_with(pkts, len, 4096, &handle);

	if (err)
		return err;
	memset(chunk, 0, sizeof(*chunk));
	chunk->cb_handle = handle;
	chunk->queue_index = dev.ext_queue[0];
	chunk->cb_size = len;
	return 0;
}

/*
 * Runs the len bytes of packets at pkts as one job on the first DMA queue
 * and waits for it: 0 once it completed, an errno otherwise (EIO if it
 * ended without completing).
 */
static int run_job(const void *pkts, size_t len)
{
	struct hl_cs_chunk chunk;
	struct hl_wait_cs_out out;
	__u64 seq;
	int err;

	err = chunk_with(pkts, len, &chunk);
	if (err)
		return err;
	err = cs_submit(&chunk, 1, 0, 0, &seq);
	if (!err)
		err = cs_wait(seq, 5000000, &out);
	if (!err && out.status != HL_WAIT_CS_STATUS_COMPLETED)
		err = EIO;
	cb_destroy(chunk.cb_handle);
	return err;
}

static int mem(union hl_mem_args *a)
{
	return xioctl(cfd, HL_IOCTL_MEMORY, a);
}

/* --- cases ---------------------------------------------------------- */

static void test_dispatch(void)
{
	struct hl_info_hw_ip_info hw = { 0 };
	unsigned char arg[64];
	struct hl_info_args *a = (void *)arg;
	int err;

	err = xioctl(cfd, _IOWR('H', 0x00, struct hl_info_args), arg);
	expect(err, ENOTTY, "nr 0x00 (below the table)");
	err = xioctl(cfd, _IOWR('H', 0x08, struct hl_info_args), arg);
	expect(err, ENOTTY, "nr 0x08 (past the table)");
	err = xioctl(cfd, _IOWR('H', 0x40, struct hl_info_args), arg);
	expect(err, ENOTTY, "nr 0x40");

	/* The DRM rule: a shorter argument is zero-extended... */
	memset(arg, 0, sizeof(arg));
	a->return_pointer = (__u64)(uintptr_t)&hw;
	a->return_size = sizeof(hw);
	a->op = HL_INFO_HW_IP_INFO;
	err = xioctl(cfd, _IOC(_IOC_READ | _IOC_WRITE, 'H', 0x01, 16), arg);
	expect(err, 0, "INFO with a 16-byte argument (no ctx_id, pad)");
	check(hw.device_id == GAUDI_PCI_ID, "INFO with a 16-byte argument answers (device_id %#x)",
	      hw.device_id);
	/* ... to the point of return_size 0 when it is cut off. */
	err = xioctl(cfd, _IOC(_IOC_READ | _IOC_WRITE, 'H', 0x01, 8), arg);
	expect(err, EINVAL, "INFO with an 8-byte argument (return_size cut, 0)");

	/* A longer one is used up to the kernel's size; the rest comes back. */
	memset(arg, 0xab, sizeof(arg));
	memset(arg, 0, sizeof(*a));
	a->return_pointer = (__u64)(uintptr_t)&hw;
	a->return_size = sizeof(hw);
	a->op = HL_INFO_HW_IP_INFO;
	err = xioctl(cfd, _IOC(_IOC_READ | _IOC_WRITE, 'H', 0x01, sizeof(arg)), arg);
	expect(err, 0, "INFO with a 64-byte argument");
	check(arg[sizeof(*a)] == 0xab && arg[sizeof(arg) - 1] == 0xab,
	      "INFO with a 64-byte argument leaves the bytes past the kernel's size");

	/* A direction the command does not have is refused. */
	memset(arg, 0, sizeof(arg));
	a->return_pointer = (__u64)(uintptr_t)&hw;
	a->return_size = sizeof(hw);
	a->op = HL_INFO_HW_IP_INFO;
	err = xioctl(cfd, _IOW('H', 0x01, struct hl_info_args), arg);
	check(err != 0, "INFO as _IOW is refused (%s)", err_name(err));
	err = xioctl(cfd, _IOR('H', 0x01, struct hl_info_args), arg);
	check(err != 0, "INFO as _IOR is refused (%s)", err_name(err));
	err = xioctl(cfd, _IO('H', 0x01), NULL);
	check(err != 0, "INFO as _IO is refused (%s)", err_name(err));
}

static void test_info_hw_ip(int fd, const char *node)
{
	struct hl_info_hw_ip_info hw;
	unsigned char buf[sizeof(hw) + 16];
	int err;

	memset(&hw, 0, sizeof(hw));
	err = info(fd, HL_INFO_HW_IP_INFO, &hw, sizeof(hw), 0);
	if (!expect(err, 0, "%s: INFO HW_IP_INFO", node))
		return;
	check(hw.device_id == GAUDI_PCI_ID, "%s: HW_IP_INFO device_id is GAUDI's (%#x)", node,
	      hw.device_id);
	check(hw.num_of_events == GAUDI_NUM_EVENTS, "%s: HW_IP_INFO num_of_events %u (GAUDI: %u)",
	      node, hw.num_of_events, GAUDI_NUM_EVENTS);
	check(hw.dram_enabled == 1 && hw.dram_size && hw.dram_page_size == GAUDI_PAGE_SIZE_2MB &&
	      hw.dram_size % hw.dram_page_size == 0,
	      "%s: HW_IP_INFO DRAM enabled, %llu bytes in %llu-byte pages", node,
	      (unsigned long long)hw.dram_size, (unsigned long long)hw.dram_page_size);
	check(hw.device_mem_alloc_default_page_size == hw.dram_page_size,
	      "%s: HW_IP_INFO default allocation page size is the DRAM page size", node);
	/* No DRAM virtual memory: the user's DRAM at its device address. */
	check(hw.dram_base_address == GAUDI_DRAM_BASE_ADDR_USER,
	      "%s: HW_IP_INFO DRAM at GAUDI's DRAM_BASE_ADDR_USER (%#llx)", node,
	      (unsigned long long)hw.dram_base_address);
	/* GAUDI's SRAM_BASE_ADDR and SRAM_SIZE, less what its driver keeps. */
	check(hw.sram_base_address == 0x7ff0000000ull + GAUDI_DRIVER_SRAM_RESERVED_SIZE_FROM_START &&
	      hw.sram_size == 0x1400000 - GAUDI_DRIVER_SRAM_RESERVED_SIZE_FROM_START,
	      "%s: HW_IP_INFO SRAM at %#llx, %u bytes", node,
	      (unsigned long long)hw.sram_base_address, hw.sram_size);
	check(hw.tpc_enabled_mask != 0 && hw.tpc_enabled_mask_ext == hw.tpc_enabled_mask,
	      "%s: HW_IP_INFO TPC mask %#x (ext %#llx)", node, hw.tpc_enabled_mask,
	      (unsigned long long)hw.tpc_enabled_mask_ext);
	check(hw.card_name[0] && memchr(hw.card_name, 0, sizeof(hw.card_name)),
	      "%s: HW_IP_INFO card name \"%.*s\"", node, (int)sizeof(hw.card_name), hw.card_name);
	check(hw.cpucp_version[0] && memchr(hw.cpucp_version, 0, sizeof(hw.cpucp_version)),
	      "%s: HW_IP_INFO firmware version \"%.*s\"", node, (int)sizeof(hw.cpucp_version),
	      hw.cpucp_version);
	diag("cpld_version %#x, module_id %u, server_type %u", hw.cpld_version, hw.module_id,
	     hw.server_type);

	/* Copies min(return_size, its size). */
	memset(buf, 0xab, sizeof(buf));
	err = info(fd, HL_INFO_HW_IP_INFO, buf, sizeof(buf), 0);
	check(!err && !memcmp(buf, &hw, 16) && buf[sizeof(hw)] == 0xab &&
	      buf[sizeof(buf) - 1] == 0xab,
	      "%s: HW_IP_INFO into a larger buffer writes its size only", node);
	memset(buf, 0xab, sizeof(buf));
	err = info(fd, HL_INFO_HW_IP_INFO, buf, 12, 0);
	check(!err && !memcmp(buf, &hw, 12) && buf[12] == 0xab,
	      "%s: HW_IP_INFO into 12 bytes writes 12", node);

	expect(info(fd, HL_INFO_HW_IP_INFO, NULL, sizeof(hw), 0), EINVAL,
	       "%s: HW_IP_INFO to a null pointer", node);
	expect(info(fd, HL_INFO_HW_IP_INFO, &hw, 0, 0), EINVAL, "%s: HW_IP_INFO of size 0", node);
	{
		struct hl_info_args a = { .return_pointer = (__u64)(uintptr_t)&hw,
					  .return_size = sizeof(hw), .op = HL_INFO_HW_IP_INFO,
					  .pad = 1 };

		expect(xioctl(fd, HL_IOCTL_INFO, &a), EINVAL, "%s: INFO with pad set", node);
	}
	expect(info(fd, 0x7fff, &hw, sizeof(hw), 0), EINVAL, "%s: INFO op 0x7fff", node);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The INFO opcodes both nodes answer alike. */
static void test_info_common(int fd, const char *node)
{
	union {
		struct hl_info_device_status status;
		struct hl_info_hw_idle idle;
		struct hl_info_device_utilization util;
		struct hl_info_clk_rate clk;
		struct hl_info_reset_count reset;
		struct hl_info_time_sync ts;
		struct hl_info_cs_counters cs;
		struct hl_info_pci_counters pci;
		struct hl_info_clk_throttle thr;
		struct hl_info_sync_manager sm;
		struct hl_info_energy energy;
		struct hl_pll_frequency_info pll;
		struct hl_power_info power;
		struct hl_open_stats_info open;
		struct hl_info_last_err_open_dev_time last;
		struct hl_info_cs_timeout_event cst;
		struct hl_info_razwi_event razwi;
		struct hl_info_undefined_opcode_event undef;
		struct hl_info_dev_memalloc_page_sizes ps;
		__u32 events[GAUDI_NUM_EVENTS + 8];
		char text[4096];
	} u;
	struct hl_info_time_sync ts0;
	__u64 t0, energy0;
	unsigned int pll, i;
	int err;

	memset(&u, 0, sizeof(u));
	err = info(fd, HL_INFO_DEVICE_STATUS, &u, sizeof(u.status), 0);
	expect(err, 0, "%s: INFO DEVICE_STATUS", node);
	check(u.status.status == HL_DEVICE_STATUS_OPERATIONAL, "%s: DEVICE_STATUS is OPERATIONAL (%u)",
	      node, u.status.status);

	memset(&u, 0xff, sizeof(u));
	err = info(fd, HL_INFO_HW_IDLE, &u, sizeof(u.idle), 0);
	expect(err, 0, "%s: INFO HW_IDLE", node);
	check(u.idle.is_idle == 1 && u.idle.busy_engines_mask == 0 &&
	      u.idle.busy_engines_mask_ext[0] == 0,
	      "%s: HW_IDLE idle, no busy engine (is_idle %u, mask %#x)", node, u.idle.is_idle,
	      u.idle.busy_engines_mask);

	memset(&u, 0xff, sizeof(u));
	err = info(fd, HL_INFO_DEVICE_UTILIZATION, &u, sizeof(u.util), 1000);
	expect(err, 0, "%s: INFO DEVICE_UTILIZATION", node);
	check(!err && u.util.utilization <= 100, "%s: DEVICE_UTILIZATION %u%%", node,
	      u.util.utilization);

	memset(&u, 0, sizeof(u));
	err = info(fd, HL_INFO_CLK_RATE, &u, sizeof(u.clk), 0);
	expect(err, 0, "%s: INFO CLK_RATE", node);
	check(u.clk.max_clk_rate_mhz && u.clk.cur_clk_rate_mhz <= u.clk.max_clk_rate_mhz,
	      "%s: CLK_RATE %u of %u MHz", node, u.clk.cur_clk_rate_mhz, u.clk.max_clk_rate_mhz);

	err = info(fd, HL_INFO_RESET_COUNT, &u, sizeof(u.reset), 0);
	expect(err, 0, "%s: INFO RESET_COUNT", node);
	diag("hard resets %u, soft resets %u", u.reset.hard_reset_cnt, u.reset.soft_reset_cnt);

	t0 = now_ns();
	err = info(fd, HL_INFO_TIME_SYNC, &ts0, sizeof(ts0), 0);
	expect(err, 0, "%s: INFO TIME_SYNC", node);
	/*
	 * The device's clock ticks every millisecond, when the model runs: a host short of CPU
	 * may hold it for longer, so the check gives it up to 2 s.
	 */
	for (i = 0; i < 100; i++) {
		usleep(20000);
		err = info(fd, HL_INFO_TIME_SYNC, &u, sizeof(u.ts), 0);
		if (err || u.ts.device_time > ts0.device_time)
			break;
	}
	check(!err && u.ts.device_time > ts0.device_time && u.ts.host_time > ts0.host_time &&
	      ts0.host_time >= t0,
	      "%s: TIME_SYNC device and host times move (device +%llu, host +%llu)", node,
	      (unsigned long long)(u.ts.device_time - ts0.device_time),
	      (unsigned long long)(u.ts.host_time - ts0.host_time));

	expect(info(fd, HL_INFO_CS_COUNTERS, &u, sizeof(u.cs), 0), 0, "%s: INFO CS_COUNTERS", node);
	memset(&u, 0xff, sizeof(u));
	err = info(fd, HL_INFO_PCI_COUNTERS, &u, sizeof(u.pci), 0);
	expect(err, 0, "%s: INFO PCI_COUNTERS", node);
	/* The device model's link has no replays; test_pci_counters moves the rest. */
	check(!err && u.pci.replay_cnt == 0, "%s: PCI_COUNTERS rx %llu KB/s, tx %llu KB/s, %llu replays",
	      node, (unsigned long long)u.pci.rx_throughput, (unsigned long long)u.pci.tx_throughput,
	      (unsigned long long)u.pci.replay_cnt);
	expect(info(fd, HL_INFO_CLK_THROTTLE_REASON, &u, sizeof(u.thr), 0), 0,
	       "%s: INFO CLK_THROTTLE_REASON", node);
	expect(info(fd, HL_INFO_SYNC_MANAGER, &u, sizeof(u.sm), 0), 0,
	       "%s: INFO SYNC_MANAGER of dcore 0", node);
	expect(info(fd, HL_INFO_SYNC_MANAGER, &u, sizeof(u.sm), GAUDI_MAX_DCORES), EINVAL,
	       "%s: INFO SYNC_MANAGER of dcore %d", node, GAUDI_MAX_DCORES);
	memset(&u, 0, sizeof(u));
	err = info(fd, HL_INFO_TOTAL_ENERGY, &u, sizeof(u.energy), 0);
	expect(err, 0, "%s: INFO TOTAL_ENERGY", node);
	energy0 = u.energy.total_energy_consumption;
	/* At least idle power (tens of watts) for 100 ms: joules. */
	usleep(100000);
	err = info(fd, HL_INFO_TOTAL_ENERGY, &u, sizeof(u.energy), 0);
	check(!err && energy0 > 0 && u.energy.total_energy_consumption > energy0,
	      "%s: TOTAL_ENERGY grows (%llu then %llu)", node, (unsigned long long)energy0,
	      (unsigned long long)u.energy.total_energy_consumption);
	for (pll = HL_GAUDI_CPU_PLL; pll < HL_GAUDI_PLL_MAX; pll++) {
		memset(&u, 0, sizeof(u));
		err = info(fd, HL_INFO_PLL_FREQUENCY, &u, sizeof(u.pll), pll);
		check(!err && u.pll.output[0] && u.pll.output[1] && u.pll.output[1] <= u.pll.output[0],
		      "%s: PLL_FREQUENCY of PLL %u: %u, %u, %u, %u MHz", node, pll, u.pll.output[0],
		      u.pll.output[1], u.pll.output[2], u.pll.output[3]);
	}
	expect(info(fd, HL_INFO_PLL_FREQUENCY, &u, sizeof(u.pll), HL_GAUDI_PLL_MAX), EINVAL,
	       "%s: INFO PLL_FREQUENCY of PLL %d (HL_GAUDI_PLL_MAX)", node, HL_GAUDI_PLL_MAX);
	expect(info(fd, HL_INFO_PLL_FREQUENCY, &u, sizeof(u.pll), 1000), EINVAL,
	       "%s: INFO PLL_FREQUENCY of PLL 1000", node);
	memset(&u, 0, sizeof(u));
	err = info(fd, HL_INFO_POWER, &u, sizeof(u.power), 0);
	expect(err, 0, "%s: INFO POWER", node);
	check(!err && u.power.power > 0 && u.power.power < 1000000,
	      "%s: POWER %llu mW", node, (unsigned long long)u.power.power);
	expect(info(fd, HL_INFO_LAST_ERR_OPEN_DEV_TIME, &u, sizeof(u.last), 0), 0,
	       "%s: INFO LAST_ERR_OPEN_DEV_TIME", node);
	expect(info(fd, HL_INFO_CS_TIMEOUT_EVENT, &u, sizeof(u.cst), 0), 0,
	       "%s: INFO CS_TIMEOUT_EVENT", node);
	expect(info(fd, HL_INFO_RAZWI_EVENT, &u, sizeof(u.razwi), 0), 0, "%s: INFO RAZWI_EVENT",
	       node);
	expect(info(fd, HL_INFO_UNDEFINED_OPCODE_EVENT, &u, sizeof(u.undef), 0), 0,
	       "%s: INFO UNDEFINED_OPCODE_EVENT", node);

	memset(&u, 0xff, sizeof(u));
	err = info(fd, HL_INFO_DEV_MEM_ALLOC_PAGE_SIZES, &u, sizeof(u.ps), 0);
	expect(err, 0, "%s: INFO DEV_MEM_ALLOC_PAGE_SIZES", node);
	check(u.ps.page_order_bitmask == 0,
	      "%s: DEV_MEM_ALLOC_PAGE_SIZES empty, as GAUDI's (%#llx)", node,
	      (unsigned long long)u.ps.page_order_bitmask);

	memset(&u, 0xab, sizeof(u));
	err = info(fd, HL_INFO_HW_EVENTS, &u, sizeof(u.events), 0);
	expect(err, 0, "%s: INFO HW_EVENTS", node);
	check(!err && ((unsigned char *)u.events)[GAUDI_NUM_EVENTS * 4] == 0xab &&
	      ((unsigned char *)u.events)[GAUDI_NUM_EVENTS * 4 - 1] != 0xab,
	      "%s: HW_EVENTS is a counter per GAUDI event id (%u)", node, GAUDI_NUM_EVENTS);
	memset(&u, 0xab, sizeof(u));
	err = info(fd, HL_INFO_HW_EVENTS_AGGREGATE, &u, sizeof(u.events), 0);
	expect(err, 0, "%s: INFO HW_EVENTS_AGGREGATE", node);
	check(!err && ((unsigned char *)u.events)[GAUDI_NUM_EVENTS * 4] == 0xab &&
	      ((unsigned char *)u.events)[GAUDI_NUM_EVENTS * 4 - 1] != 0xab,
	      "%s: HW_EVENTS_AGGREGATE is a counter per GAUDI event id", node);

	memset(&u, 0, sizeof(u));
	{
		struct hl_info_args a = { .return_pointer = (__u64)(uintptr_t)&u,
					  .return_size = sizeof(u.text),
					  .op = HL_INFO_ENGINE_STATUS };

		err = xioctl(fd, HL_IOCTL_INFO, &a);
		expect(err, 0, "%s: INFO ENGINE_STATUS", node);
		check(!err && a.user_buffer_actual_size && u.text[0] &&
		      strlen(u.text) <= a.user_buffer_actual_size,
		      "%s: ENGINE_STATUS writes its text, %u bytes", node,
		      a.user_buffer_actual_size);
	}
	expect(info(fd, HL_INFO_ENGINE_STATUS, &u, 512, 0), EINVAL,
	       "%s: ENGINE_STATUS into less than 1 KiB", node);

	/* What GAUDI's firmware answers: nothing to compare with. */
	skip("GAUDI answers from its firmware", "%s: INFO DRAM_REPLACED_ROWS", node);
	{
		__u32 rows = ~0u;

		expect(info(fd, HL_INFO_DRAM_PENDING_ROWS, &rows, sizeof(rows), 0), 0,
		       "%s: INFO DRAM_PENDING_ROWS", node);
		check(rows == 0, "%s: DRAM_PENDING_ROWS: the model has no pending rows (%u)",
		      node, rows);
	}
	skip("GAUDI answers from its firmware", "%s: INFO SECURED_ATTESTATION", node);
}

static void test_info_compute(void)
{
	struct hl_open_stats_info open0, open1;
	struct hl_info_dram_usage du;
	struct hl_cs_chunk chunk = { 0 };
	struct hl_wait_cs_out out;
	struct pollfd pfd;
	__u64 events, handle, seq, count;
	__u32 pkts[2];
	int efd, err, fd, n;

	err = info(cfd, HL_INFO_OPEN_STATS, &open0, sizeof(open0), 0);
	expect(err, 0, "INFO OPEN_STATS");
	check(open0.is_compute_ctx_active == 1, "OPEN_STATS: a compute context is active");
	fd = open(compute_node, O_RDWR);
	check(fd < 0 && errno == EBUSY, "a second open of the compute node: EBUSY (%s)",
	      fd < 0 ? err_name(errno) : "opened");
	if (fd >= 0)
		close(fd);

	err = info(cfd, HL_INFO_DRAM_USAGE, &du, sizeof(du), 0);
	expect(err, 0, "INFO DRAM_USAGE");
	check(du.dram_free_mem > 0, "DRAM_USAGE: %llu bytes free, %llu used by this context",
	      (unsigned long long)du.dram_free_mem, (unsigned long long)du.ctx_dram_mem);

	expect(info(cfd, HL_INFO_GET_EVENTS, &events, sizeof(events), 0), 0, "INFO GET_EVENTS");
	expect(info(cfd, HL_INFO_GET_EVENTS, &events, 4, 0), EINVAL,
	       "INFO GET_EVENTS into 4 bytes");

	efd = eventfd(0, EFD_NONBLOCK);
	expect(info(cfd, HL_INFO_REGISTER_EVENTFD, NULL, 0, efd), 0, "INFO REGISTER_EVENTFD");
	expect(info(cfd, HL_INFO_REGISTER_EVENTFD, NULL, 0, efd), EINVAL,
	       "INFO REGISTER_EVENTFD again");

	/* An undefined opcode: the eventfd fires, GET_EVENTS tells which. */
	info(cfd, HL_INFO_GET_EVENTS, &events, sizeof(events), 0);
	pkts[0] = 0;
	pkts[1] = 0x1fu << PKT_OPCODE_SHIFT;
	err = cb_with(pkts, 8, 4096, &handle);
	if (!err) {
		chunk.cb_handle = handle;
		chunk.queue_index = dev.ext_queue[0];
		chunk.cb_size = 8;
		err = cs_submit(&chunk, 1, 0, 0, &seq);
		if (!err)
			cs_wait(seq, 5000000, &out);
		cb_destroy(handle);
	}
	pfd.fd = efd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 5000);
	count = 0;
	if (n == 1 && read(efd, &count, sizeof(count)) != sizeof(count))
		count = 0;
	check(!err && count >= 1, "the eventfd fires on an undefined opcode (%s, count %llu)",
	      err_name(err), (unsigned long long)count);
	events = 0;
	err = info(cfd, HL_INFO_GET_EVENTS, &events, sizeof(events), 0);
	check(!err && (events & HL_NOTIFIER_EVENT_UNDEFINED_OPCODE),
	      "GET_EVENTS: UNDEFINED_OPCODE (%#llx)", (unsigned long long)events);
	err = info(cfd, HL_INFO_GET_EVENTS, &events, sizeof(events), 0);
	check(!err && events == 0, "GET_EVENTS: read once (%#llx)", (unsigned long long)events);

	expect(info(cfd, HL_INFO_UNREGISTER_EVENTFD, NULL, 0, 0), 0, "INFO UNREGISTER_EVENTFD");
	expect(info(cfd, HL_INFO_UNREGISTER_EVENTFD, NULL, 0, 0), EINVAL,
	       "INFO UNREGISTER_EVENTFD again");
	expect(info(cfd, HL_INFO_REGISTER_EVENTFD, NULL, 0, (__u32)-1), EBADF,
	       "INFO REGISTER_EVENTFD of fd -1");
	expect(info(cfd, HL_INFO_REGISTER_EVENTFD, NULL, 0, cfd), EINVAL,
	       "INFO REGISTER_EVENTFD of a file not an eventfd");
	/* Left registered: closing the node lets it go. */
	expect(info(cfd, HL_INFO_REGISTER_EVENTFD, NULL, 0, efd), 0,
	       "INFO REGISTER_EVENTFD after UNREGISTER");
	close(efd);

	/* Reopening counts. */
	close(cfd);
	cfd = open(compute_node, O_RDWR);
	if (!check(cfd >= 0, "the compute node opens again after close")) {
		cfd = -1;
		return;
	}
	err = info(cfd, HL_INFO_OPEN_STATS, &open1, sizeof(open1), 0);
	check(!err && open1.open_counter == open0.open_counter + 1,
	      "OPEN_STATS: open_counter moves (%llu, then %llu)",
	      (unsigned long long)open0.open_counter, (unsigned long long)open1.open_counter);
}

static void test_debug(void)
{
	struct hl_debug_params_etr etr = { 0 };
	struct hl_debug_args a;
	int op;

	for (op = HL_DEBUG_OP_ETR; op <= HL_DEBUG_OP_TIMESTAMP; op++) {
		memset(&a, 0, sizeof(a));
		a.op = op;
		a.input_ptr = (__u64)(uintptr_t)&etr;
		a.input_size = sizeof(etr);
		expect(xioctl(cfd, HL_IOCTL_DEBUG, &a), EFAULT, "DEBUG op %d outside debug mode", op);
	}
	memset(&a, 0, sizeof(a));
	a.op = HL_DEBUG_OP_SET_MODE;
	expect(xioctl(cfd, HL_IOCTL_DEBUG, &a), EFAULT, "DEBUG SET_MODE off outside debug mode");
	a.enable = 1;
	expect(xioctl(cfd, HL_IOCTL_DEBUG, &a), 0, "DEBUG SET_MODE on");
	expect(xioctl(cfd, HL_IOCTL_DEBUG, &a), EFAULT, "DEBUG SET_MODE on in debug mode");
	a.enable = 0;
	expect(xioctl(cfd, HL_IOCTL_DEBUG, &a), 0, "DEBUG SET_MODE off");
	a.op = 99;
	expect(xioctl(cfd, HL_IOCTL_DEBUG, &a), EINVAL, "DEBUG op 99");
}

static void test_cb(void)
{
	union hl_cb_args a;
	__u64 handle, h2;
	void *p;
	int err;

	err = cb_create(4096, 0, &handle);
	if (!expect(err, 0, "CB CREATE of 4096 bytes"))
		return;
	check(handle != 0, "CB CREATE gives a handle (%#llx)", (unsigned long long)handle);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, handle);
	check(p != MAP_FAILED, "CB mmap at its handle");
	if (p != MAP_FAILED) {
		memset(p, 0x5a, 4096);
		munmap(p, 4096);
	}
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, handle);
	check(p == MAP_FAILED && errno == EINVAL, "CB mmap of twice its size: EINVAL (%s)",
	      p == MAP_FAILED ? err_name(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, 8192);

	memset(&a, 0, sizeof(a));
	a.in.op = HL_CB_OP_INFO;
	a.in.cb_handle = handle;
	err = xioctl(cfd, HL_IOCTL_CB, &a);
	expect(err, 0, "CB INFO");
	check(!err && a.out.usage_cnt == 0, "CB INFO: usage count 0 (%u)", a.out.usage_cnt);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_CB_OP_INFO;
	a.in.cb_handle = handle;
	a.in.flags = HL_CB_FLAGS_GET_DEVICE_VA;
	expect(xioctl(cfd, HL_IOCTL_CB, &a), EINVAL, "CB INFO GET_DEVICE_VA of an unmapped CB");

	expect(cb_destroy(handle), 0, "CB DESTROY");
	expect(cb_destroy(handle), EINVAL, "CB DESTROY again");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, handle);
	check(p == MAP_FAILED && errno == EINVAL, "CB mmap of a destroyed CB: EINVAL (%s)",
	      p == MAP_FAILED ? err_name(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_CB_OP_INFO;
	a.in.cb_handle = handle;
	expect(xioctl(cfd, HL_IOCTL_CB, &a), EINVAL, "CB INFO of a destroyed CB");

	expect(cb_create(HL_MAX_CB_SIZE + 1, 0, &h2), EINVAL, "CB CREATE of HL_MAX_CB_SIZE + 1");
	err = cb_create(4096, HL_CB_FLAGS_MAP, &h2);
	/* GAUDI maps no CB: mainline fails in the allocation (ENOMEM). */
	check(err == EINVAL || err == ENOMEM, "CB CREATE with HL_CB_FLAGS_MAP is refused (%s)",
	      err_name(err));
	if (!err)
		cb_destroy(h2);
	memset(&a, 0, sizeof(a));
	a.in.op = 99;
	expect(xioctl(cfd, HL_IOCTL_CB, &a), EINVAL, "CB op 99");
}

static void test_cs(void)
{
	struct hl_cs_chunk chunk[2] = { 0 }, *many;
	struct hl_info_cs_counters c0, c1;
	struct hl_wait_cs_out out;
	union hl_wait_cs_args w;
	union hl_cs_args a;
	__u64 seq, seq2, seqs[2];
	__u32 pkts[4];
	size_t len;
	int err;

	len = pkt_nop(pkts);
	if (!expect(chunk_with(pkts, len, &chunk[0]), 0, "CS: a CB holding a NOP"))
		return;

	err = cs_submit(chunk, 1, 0, 0, &seq);
	expect(err, 0, "CS of a NOP on external queue %u", dev.ext_queue[0]);
	check(!err && seq >= 1, "CS gives a sequence number (%llu)", (unsigned long long)seq);
	err = cs_wait(seq, 5000000, &out);
	expect(err, 0, "WAIT_CS");
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED, "WAIT_CS: COMPLETED (%u)",
	      out.status);
	err = cs_wait(seq, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS with timeout 0 on a completed CS: COMPLETED (%s, %u)", err_name(err),
	      out.status);

	err = cs_submit(chunk, 1, HL_CS_FLAGS_TIMESTAMP | HL_CS_FLAGS_CUSTOM_TIMEOUT, 2, &seq2);
	expect(err, 0, "CS with TIMESTAMP and CUSTOM_TIMEOUT of 2 s");
	check(!err && seq2 == seq + 1, "sequence numbers follow (%llu, %llu)",
	      (unsigned long long)seq, (unsigned long long)seq2);
	err = cs_wait(seq2, 5000000, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED &&
	      (out.flags & HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD) && out.timestamp_nsec > 0,
	      "WAIT_CS of a TIMESTAMP CS: COMPLETED with a timestamp (%s, flags %#x)",
	      err_name(err), out.flags);

	/* Two external queues in one CS. */
	chunk[1] = chunk[0];
	chunk[1].queue_index = dev.ext_queue[1];
	err = cs_submit(chunk, 2, 0, 0, &seq);
	expect(err, 0, "CS of two jobs on queues %u and %u", dev.ext_queue[0], dev.ext_queue[1]);
	err = cs_submit(chunk, 1, 0, 0, &seq2);
	expect(err, 0, "CS of one job");
	/* MULTI_CS returns when one of them completes: wait for both first. */
	err = cs_wait(seq, 5000000, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS of the two-job CS: COMPLETED (%s, %u)", err_name(err), out.status);
	cs_wait(seq2, 5000000, &out);
	seqs[0] = seq;
	seqs[1] = seq2;
	memset(&w, 0, sizeof(w));
	w.in.seq = (__u64)(uintptr_t)seqs;
	w.in.seq_arr_len = 2;
	w.in.timeout_us = 5000000;
	w.in.flags = HL_WAIT_CS_FLAGS_MULTI_CS;
	err = xioctl(cfd, HL_IOCTL_WAIT_CS, &w);
	check(!err && w.out.status == HL_WAIT_CS_STATUS_COMPLETED &&
	      (w.out.cs_completion_map & 3) == 3,
	      "WAIT_CS MULTI_CS of two completed CSs: COMPLETED, both in the map (%s, %u, %#x)",
	      err_name(err), w.out.status, w.out.cs_completion_map);

	expect(cs_wait(seq2 + 1000, 1000, &out), EINVAL, "WAIT_CS of a future sequence number");

	/* Refused submissions. */
	expect(cs_submit(chunk, 0, 0, 0, &seq), EINVAL, "CS of no chunk");
	chunk[1].queue_index = dev.bad_queue;
	expect(cs_submit(&chunk[1], 1, 0, 0, &seq), EINVAL, "CS on queue %u", dev.bad_queue);
	chunk[1].queue_index = dev.ext_queue[0];
	chunk[1].cb_handle = chunk[0].cb_handle + (1ull << 40);
	expect(cs_submit(&chunk[1], 1, 0, 0, &seq), EINVAL, "CS of an unknown CB handle");
	expect(cs_submit(chunk, 1, HL_CS_FLAGS_SIGNAL | HL_CS_FLAGS_WAIT, 0, &seq), EINVAL,
	       "CS with SIGNAL and WAIT");
	memset(&a, 0, sizeof(a));
	a.in.chunks_execute = (__u64)(uintptr_t)chunk;
	a.in.num_chunks_execute = 1;
	a.in.pad[0] = 1;
	expect(xioctl(cfd, HL_IOCTL_CS, &a), EINVAL, "CS with pad set");

	/* Too many chunks, counted as a validation drop. */
	info(cfd, HL_INFO_CS_COUNTERS, &c0, sizeof(c0), 0);
	many = calloc(HL_MAX_JOBS_PER_CS + 1, sizeof(*many));
	expect(cs_submit(many, HL_MAX_JOBS_PER_CS + 1, 0, 0, &seq), EINVAL,
	       "CS of HL_MAX_JOBS_PER_CS + 1 chunks");
	free(many);
	err = info(cfd, HL_INFO_CS_COUNTERS, &c1, sizeof(c1), 0);
	check(!err && c1.ctx_validation_drop_cnt == c0.ctx_validation_drop_cnt + 1 &&
	      c1.total_validation_drop_cnt == c0.total_validation_drop_cnt + 1,
	      "CS_COUNTERS: validation drops move (%llu, then %llu)",
	      (unsigned long long)c0.ctx_validation_drop_cnt,
	      (unsigned long long)c1.ctx_validation_drop_cnt);

	/* A restore chunk runs with FORCE_RESTORE. */
	memset(&a, 0, sizeof(a));
	a.in.chunks_restore = (__u64)(uintptr_t)&chunk[0];
	a.in.num_chunks_restore = 1;
	a.in.chunks_execute = (__u64)(uintptr_t)&chunk[0];
	a.in.num_chunks_execute = 1;
	a.in.cs_flags = HL_CS_FLAGS_FORCE_RESTORE;
	err = xioctl(cfd, HL_IOCTL_CS, &a);
	expect(err, 0, "CS with a restore chunk and FORCE_RESTORE");
	if (!err) {
		err = cs_wait(a.out.seq, 5000000, &out);
		check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
		      "WAIT_CS of the FORCE_RESTORE CS: COMPLETED (%s, %u)", err_name(err),
		      out.status);
	}

	/* A staged submission of one stage, first and last (GAUDI stages). */
	err = cs_submit(chunk, 1, HL_CS_FLAGS_STAGED_SUBMISSION |
			HL_CS_FLAGS_STAGED_SUBMISSION_FIRST | HL_CS_FLAGS_STAGED_SUBMISSION_LAST,
			0, &seq);
	expect(err, 0, "CS STAGED_SUBMISSION, FIRST and LAST");
	if (!err) {
		err = cs_wait(seq, 5000000, &out);
		check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
		      "WAIT_CS of the staged CS: COMPLETED (%s, %u)", err_name(err), out.status);
	}

	/* GAUDI has no engine cores (mainline: EPERM; before engine modes, EINVAL). */
	{
		__u32 core = 0;

		memset(&a, 0, sizeof(a));
		a.in.engine_cores = (__u64)(uintptr_t)&core;
		a.in.num_engine_cores = 1;
		a.in.core_command = HL_ENGINE_CORE_RUN;
		a.in.cs_flags = HL_CS_FLAGS_ENGINE_CORE_COMMAND;
		err = xioctl(cfd, HL_IOCTL_CS, &a);
		check(err == EPERM || err == EINVAL, "CS ENGINE_CORE_COMMAND is refused (%s)",
		      err_name(err));
	}

	/* Nor user interrupts to wait on. */
	memset(&w, 0, sizeof(w));
	w.in.flags = HL_WAIT_CS_FLAGS_INTERRUPT;
	w.in.interrupt_timeout_us = 1000;
	expect(xioctl(cfd, HL_IOCTL_WAIT_CS, &w), EPERM, "WAIT_CS INTERRUPT");

	/* Encapsulated signals: reserve one on an external queue, unreserve
	 * (test_sync has the rest).
	 */
	memset(&a, 0, sizeof(a));
	a.in.encaps_signals_count = 1;
	a.in.encaps_signals_q_idx = dev.ext_queue[0];
	a.in.cs_flags = HL_CS_FLAGS_RESERVE_SIGNALS_ONLY;
	err = xioctl(cfd, HL_IOCTL_CS, &a);
	expect(err, 0, "CS RESERVE_SIGNALS_ONLY of 1 on queue %u", dev.ext_queue[0]);
	if (!err) {
		__u32 id = a.out.handle_id;

		/* count is the stream's next signal value past the reserved one. */
		check(id >= 1 && a.out.count >= 2 && a.out.sob_base_addr_offset != 0,
		      "RESERVE_SIGNALS_ONLY: a handle, the next signal value, the SOB (%u, %u, %#x)",
		      id, a.out.count, a.out.sob_base_addr_offset);
		memset(&a, 0, sizeof(a));
		a.in.encaps_sig_handle_id = id;
		a.in.cs_flags = HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY;
		expect(xioctl(cfd, HL_IOCTL_CS, &a), 0, "CS UNRESERVE_SIGNALS_ONLY of it");
	}

	/* A SIGNAL CS on an external queue (GAUDI's sync stream)... */
	memset(&chunk[1], 0, sizeof(chunk[1]));
	chunk[1].queue_index = dev.ext_queue[0];
	err = cs_submit(&chunk[1], 1, HL_CS_FLAGS_SIGNAL, 0, &seq);
	expect(err, 0, "CS SIGNAL on queue %u", dev.ext_queue[0]);
	if (!err) {
		__u64 signal = seq, wait;

		err = cs_wait(seq, 5000000, &out);
		check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
		      "WAIT_CS of the SIGNAL CS: COMPLETED (%s, %u)", err_name(err), out.status);
		/* ... and a WAIT CS for it on the other external queue. */
		memset(&chunk[1], 0, sizeof(chunk[1]));
		chunk[1].queue_index = dev.ext_queue[1];
		chunk[1].signal_seq_arr = (__u64)(uintptr_t)&signal;
		chunk[1].num_signal_seq_arr = 1;
		err = cs_submit(&chunk[1], 1, HL_CS_FLAGS_WAIT, 0, &seq);
		expect(err, 0, "CS WAIT for it on queue %u", dev.ext_queue[1]);
		wait = seq;
		if (!err) {
			err = cs_wait(seq, 5000000, &out);
			check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
			      "WAIT_CS of the WAIT CS: COMPLETED (%s, %u)", err_name(err),
			      out.status);
		}
		/* Both flags, and a WAIT for a CS that is no SIGNAL: EINVAL. */
		expect(cs_submit(&chunk[1], 1, HL_CS_FLAGS_SIGNAL | HL_CS_FLAGS_WAIT, 0, &seq),
		       EINVAL, "CS SIGNAL and WAIT");
		signal = wait;
		expect(cs_submit(&chunk[1], 1, HL_CS_FLAGS_WAIT, 0, &seq), EINVAL,
		       "CS WAIT for a WAIT CS");
	}

	cb_destroy(chunk[0].cb_handle);
}

/* --- sync streams: staged submissions, encapsulated signals --------- */

/* GAUDI's configuration space (CFG_BASE): the sync manager's SOBs there. */
#define GAUDI_CFG_BASE		0x7ffc000000ull
/* DMA 2's QMAN fence counter 0 (mmDMA2_QM_CP_FENCE0_RDATA_0): a write adds. */
#define GAUDI_DMA2_FENCE0	(GAUDI_CFG_BASE + 0x548308)
#define PKT_OP_FENCE		0x08
/* A SOB write that adds its value (SOB_MOD): the signals of a user's CB. */
#define SOB_ADD			(1u << 31)

/* Writes a FENCE on counter id for target, taking dec; its size. */
static size_t pkt_fence(__u32 *p, __u32 id, __u32 target, __u32 dec)
{
	p[0] = id << 30 | target << 16 | dec;
	p[1] = PKT_OP_FENCE << PKT_OPCODE_SHIFT;
	return 8;
}

/* A CS ioctl: flags, the second union's u64 (staged seq, encaps handle, or
 * count and queue), chunks; errno, the output in *out.
 */
static int cs_ioctl(struct hl_cs_chunk *chunks, __u32 n, __u32 flags, __u32 timeout,
		    __u64 word, struct hl_cs_out *out)
{
	union hl_cs_args a;
	int err;

	memset(&a, 0, sizeof(a));
	a.in.chunks_execute = (__u64)(uintptr_t)chunks;
	a.in.num_chunks_execute = n;
	a.in.cs_flags = flags;
	a.in.timeout = timeout;
	a.in.seq = word;
	err = xioctl(cfd, HL_IOCTL_CS, &a);
	*out = a.out;
	return err;
}

static int reserve(__u32 queue, __u32 count, struct hl_cs_out *out)
{
	union hl_cs_args a;
	int err;

	memset(&a, 0, sizeof(a));
	a.in.encaps_signals_count = count;
	a.in.encaps_signals_q_idx = queue;
	a.in.cs_flags = HL_CS_FLAGS_RESERVE_SIGNALS_ONLY;
	err = xioctl(cfd, HL_IOCTL_CS, &a);
	*out = a.out;
	return err;
}

static int unreserve(__u32 id)
{
	union hl_cs_args a;

	memset(&a, 0, sizeof(a));
	a.in.encaps_sig_handle_id = id;
	a.in.cs_flags = HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY;
	return xioctl(cfd, HL_IOCTL_CS, &a);
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

#define STAGED		HL_CS_FLAGS_STAGED_SUBMISSION
#define STAGED_FIRST	(STAGED | HL_CS_FLAGS_STAGED_SUBMISSION_FIRST)
#define STAGED_LAST	(STAGED | HL_CS_FLAGS_STAGED_SUBMISSION_LAST)

static void test_staged(void)
{
	struct hl_cs_chunk chunk;
	struct hl_wait_cs_out w;
	struct hl_cs_out out;
	__u64 seq, plain;
	__u32 pkts[2];
	size_t len;
	int err;

	len = pkt_nop(pkts);
	if (!expect(chunk_with(pkts, len, &chunk), 0, "staged: a CB holding a NOP"))
		return;

	/* Three stages: the staged CS is the first's sequence number, and
	 * completes with the last.
	 */
	err = cs_ioctl(&chunk, 1, STAGED_FIRST, 0, 0, &out);
	seq = out.seq;
	expect(err, 0, "CS STAGED FIRST");
	if (!err) {
		msleep(20);
		err = cs_wait(seq, 0, &w);
		check(!err && w.status == HL_WAIT_CS_STATUS_BUSY,
		      "WAIT_CS of a staged CS without its last stage: BUSY (%s, %u)",
		      err_name(err), w.status);
		err = cs_ioctl(&chunk, 1, STAGED, 0, seq, &out);
		check(!err && out.seq == seq, "CS STAGED, a middle stage: the staged seq (%s, %llu)",
		      err_name(err), (unsigned long long)out.seq);
		err = cs_wait(seq, 0, &w);
		check(!err && w.status == HL_WAIT_CS_STATUS_BUSY,
		      "WAIT_CS of the staged CS after a middle stage: BUSY (%s, %u)",
		      err_name(err), w.status);
		err = cs_ioctl(&chunk, 1, STAGED_LAST | HL_CS_FLAGS_TIMESTAMP, 0, seq, &out);
		check(!err && out.seq == seq, "CS STAGED LAST: the staged seq (%s, %llu)",
		      err_name(err), (unsigned long long)out.seq);
		err = cs_wait(seq, 5000000, &w);
		check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
		      "WAIT_CS of the staged CS after its last stage: COMPLETED (%s, %u)",
		      err_name(err), w.status);
		expect(cs_ioctl(&chunk, 1, STAGED, 0, seq, &out), EINVAL,
		       "CS STAGED after the last stage");
		check(out.seq == (__u64)-1, "a refused stage: seq all ones (%#llx)",
		      (unsigned long long)out.seq);
	}

	/* Bad orders (mainline: EINVAL). */
	expect(cs_submit(&chunk, 1, 0, 0, &plain), 0, "CS (not staged)");
	expect(cs_ioctl(&chunk, 1, STAGED, 0, plain, &out), EINVAL,
	       "CS STAGED middle stage of a CS that is no first stage");
	expect(cs_ioctl(&chunk, 1, STAGED_LAST, 0, plain + 1000, &out), EINVAL,
	       "CS STAGED LAST of an unknown seq");
	expect(cs_ioctl(&chunk, 1, STAGED_LAST, 0, 0, &out), EINVAL, "CS STAGED LAST of seq 0");

	/* The timeout is the first stage's, for the whole staged CS. */
	err = cs_ioctl(&chunk, 1, STAGED_FIRST | HL_CS_FLAGS_CUSTOM_TIMEOUT, 1, 0, &out);
	seq = out.seq;
	expect(err, 0, "CS STAGED FIRST with a timeout of 1 s");
	if (!err) {
		err = cs_wait(seq, 5000000, &w);
		check(err == ETIMEDOUT && w.status == HL_WAIT_CS_STATUS_TIMEDOUT,
		      "WAIT_CS of a staged CS whose last stage did not come: TIMEDOUT (%s, %u)",
		      err_name(err), w.status);
		expect(cs_ioctl(&chunk, 1, STAGED_LAST, 0, seq, &out), EINVAL,
		       "CS STAGED LAST of a staged CS that timed out");
	}
	cb_destroy(chunk.cb_handle);
}

static void test_encaps_refusals(void)
{
	struct hl_cs_out r1, r2;
	int err;

	expect(reserve(dev.ext_queue[0], 1u << 15, &r1), EINVAL,
	       "RESERVE_SIGNALS_ONLY of HL_MAX_SOB_VAL signals");
	check(r1.handle_id == 0 && r1.count == 0 && r1.status == (__u32)-EINVAL,
	      "a refused RESERVE: handle 0, count 0, status -EINVAL (%u, %u, %d)", r1.handle_id,
	      r1.count, (int)r1.status);
	expect(reserve(GAUDI_QUEUE_ID_DMA_2_0, 1, &r1), EINVAL,
	       "RESERVE_SIGNALS_ONLY on an internal queue");
	expect(reserve(dev.bad_queue, 1, &r1), EINVAL, "RESERVE_SIGNALS_ONLY on queue %u",
	       dev.bad_queue);
	expect(unreserve(4000), EINVAL, "UNRESERVE_SIGNALS_ONLY of an unknown handle");

	/* Count 0 is a handle of no signals on mainline. */
	err = reserve(dev.ext_queue[1], 0, &r1);
	expect(err, 0, "RESERVE_SIGNALS_ONLY of 0 signals");
	if (!err)
		expect(unreserve(r1.handle_id), 0, "UNRESERVE_SIGNALS_ONLY of it");

	/* Only the stream's last reservation gives its values back. */
	err = reserve(dev.ext_queue[1], 3, &r1);
	expect(err, 0, "RESERVE_SIGNALS_ONLY of 3");
	if (err)
		return;
	err = reserve(dev.ext_queue[1], 2, &r2);
	expect(err, 0, "RESERVE_SIGNALS_ONLY of 2 more");
	if (!err) {
		check(r2.count == r1.count + 2 && r2.handle_id != r1.handle_id &&
		      r2.sob_base_addr_offset == r1.sob_base_addr_offset,
		      "the second reservation follows the first on the same SOB (count %u, %u)",
		      r1.count, r2.count);
		expect(unreserve(r1.handle_id), EINVAL,
		       "UNRESERVE_SIGNALS_ONLY of a reservation followed by another");
		expect(unreserve(r2.handle_id), 0, "UNRESERVE_SIGNALS_ONLY of the last");
	}
	expect(unreserve(r1.handle_id), 0, "UNRESERVE_SIGNALS_ONLY of the first, then last");
	expect(unreserve(r1.handle_id), EINVAL, "UNRESERVE_SIGNALS_ONLY again");
	err = reserve(dev.ext_queue[1], 3, &r2);
	check(!err && r2.count == r1.count, "values given back are reserved again (count %u, %u)",
	      r1.count, r2.count);
	if (!err)
		unreserve(r2.handle_id);
}

/*
 * WHAT's zeroed page of host memory, mapped for the device (its address in
 * *VA), or NULL after a failed check.
 */
static char *host_page(const char *what, __u64 *va)
{
	union hl_mem_args m;
	char *buf;

	buf = aligned_alloc(4096, 4096);
	if (!check(buf != NULL, "%s: a host buffer", what))
		return NULL;
	memset(buf, 0, 4096);
	memset(&m, 0, sizeof(m));
	m.in.op = HL_MEM_OP_MAP;
	m.in.flags = HL_MEM_USERPTR;
	m.in.map_host.host_virt_addr = (__u64)(uintptr_t)buf;
	m.in.map_host.mem_size = 4096;
	if (!expect(mem(&m), 0, "%s: MEMORY MAP USERPTR of the buffer", what)) {
		free(buf);
		return NULL;
	}
	*va = m.out.device_virt_addr;
	return buf;
}

/*
 * A staged CS signals encapsulated signals from a CB of the user's; a WAIT
 * for one holds a job on another queue until that CB ran: the results in
 * memory say in what order the jobs wrote.
 */
static void test_encaps_order(void)
{
	struct hl_cs_chunk first = { 0 }, wait = { 0 }, after = { 0 }, last = { 0 };
	__u64 va = 0, seq, seq_after = 0, h_after = 0, h_last = 0, sob;
	__u32 *word;
	struct hl_wait_cs_out w;
	struct hl_cs_out r, out;
	union hl_mem_args m;
	__u32 *cb, pkts[4];
	size_t len;
	char *buf;
	int err;

	buf = host_page("encaps", &va);
	if (!buf)
		return;
	word = (__u32 *)buf;

	err = reserve(dev.ext_queue[0], 1, &r);
	if (!expect(err, 0, "encaps: RESERVE_SIGNALS_ONLY of 1 on queue %u", dev.ext_queue[0]))
		goto out_unmap;
	sob = GAUDI_CFG_BASE + r.sob_base_addr_offset;

	/* The first stage, on internal queue DMA_2_0, from a CB in the mapped
	 * buffer: waits on its fence counter 0, writes word 0, then gives the
	 * encapsulated signal.
	 */
	cb = (__u32 *)(buf + 2048);
	len = pkt_fence(cb, 0, 1, 1);
	len += pkt_msg_long(cb + len / 4, 0x1111, va);
	len += pkt_msg_long(cb + len / 4, SOB_ADD | 1, sob);
	first.cb_handle = va + 2048;
	first.queue_index = GAUDI_QUEUE_ID_DMA_2_0;
	first.cb_size = len;
	err = cs_ioctl(&first, 1, STAGED_FIRST | HL_CS_FLAGS_ENCAP_SIGNALS, 0, r.handle_id, &out);
	seq = out.seq;
	if (!expect(err, 0, "CS STAGED FIRST with ENCAP_SIGNALS of the handle")) {
		unreserve(r.handle_id);
		goto out_unmap;
	}

	/* A WAIT for that signal on DMA_0_1, and a job behind it there. */
	wait.encaps_signal_seq = seq;
	wait.encaps_signal_offset = 1;
	wait.queue_index = GAUDI_QUEUE_ID_DMA_0_1;
	err = cs_ioctl(&wait, 1, HL_CS_FLAGS_WAIT | HL_CS_FLAGS_ENCAP_SIGNALS, 0, 0, &out);
	expect(err, 0, "CS WAIT with ENCAP_SIGNALS for signal 1 of the staged CS");
	len = pkt_msg_long(pkts, 0x2222, va + 4);
	err = err ?: cb_with(pkts, len, 4096, &h_after);
	after.cb_handle = h_after;
	after.queue_index = GAUDI_QUEUE_ID_DMA_0_1;
	after.cb_size = len;
	err = err ?: cs_submit(&after, 1, 0, 0, &seq_after);
	msleep(50);
	check(!err && dev_word(&word[0]) == 0 && dev_word(&word[1]) == 0,
	      "the job behind the WAIT is held while the signal is not given (%s, %#x, %#x)",
	      err_name(err), dev_word(&word[0]), dev_word(&word[1]));

	/* While the staged CS runs: its handle is in use, offsets past it. */
	wait.encaps_signal_offset = 2;
	expect(cs_ioctl(&wait, 1, HL_CS_FLAGS_WAIT | HL_CS_FLAGS_ENCAP_SIGNALS, 0, 0, &out),
	       EINVAL, "CS WAIT with ENCAP_SIGNALS at offset 2 of 1 signal");
	expect(unreserve(r.handle_id), EINVAL, "UNRESERVE_SIGNALS_ONLY of a handle in use");

	/* The last stage, on DMA_1_0, lets the first go. */
	len = pkt_msg_long(pkts, 1, GAUDI_DMA2_FENCE0);
	err = cb_with(pkts, len, 4096, &h_last);
	last.cb_handle = h_last;
	last.queue_index = dev.ext_queue[1];
	last.cb_size = len;
	err = err ?: cs_ioctl(&last, 1, STAGED_LAST, 0, seq, &out);
	expect(err, 0, "CS STAGED LAST that releases the first stage");
	err = cs_wait(seq, 5000000, &w);
	check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS of the encapsulated-signal staged CS: COMPLETED (%s, %u)", err_name(err),
	      w.status);
	err = cs_wait(seq_after, 5000000, &w);
	check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS of the job behind the WAIT: COMPLETED (%s, %u)", err_name(err), w.status);
	check(dev_word(&word[0]) == 0x1111 && dev_word(&word[1]) == 0x2222,
	      "both wrote, the waiting job after the signal (%#x, %#x)", dev_word(&word[0]),
	      dev_word(&word[1]));

	/* Its signals are given: a WAIT for them is done at once, the handle gone. */
	wait.encaps_signal_offset = 1;
	err = cs_ioctl(&wait, 1, HL_CS_FLAGS_WAIT | HL_CS_FLAGS_ENCAP_SIGNALS, 0, 0, &out);
	expect(err, 0, "CS WAIT with ENCAP_SIGNALS of a completed staged CS");
	expect(unreserve(r.handle_id), EINVAL, "UNRESERVE_SIGNALS_ONLY of a handle whose CS ended");

	if (h_after)
		cb_destroy(h_after);
	if (h_last)
		cb_destroy(h_last);
out_unmap:
	memset(&m, 0, sizeof(m));
	m.in.op = HL_MEM_OP_UNMAP;
	m.in.unmap.device_virt_addr = va;
	mem(&m);
	free(buf);
}

/* DMA 0's QMAN fence counter 0 (mmDMA0_QM_CP_FENCE0_RDATA_0): a write adds. */
#define GAUDI_DMA0_FENCE0	(GAUDI_CFG_BASE + 0x508308)

/* A COLLECTIVE_WAIT CS on queue for signal CS *signal, reduced by engine. */
static int collective(__u32 queue, __u32 engine, __u64 *signal, __u64 *seq)
{
	struct hl_cs_chunk c = { 0 };

	c.signal_seq_arr = (__u64)(uintptr_t)signal;
	c.num_signal_seq_arr = 1;
	c.queue_index = queue;
	c.collective_engine_id = engine;
	return cs_submit(&c, 1, HL_CS_FLAGS_COLLECTIVE_WAIT, 0, seq);
}

/* A collective wait (master on an external queue, slaves on the NIC queues
 * and the reduction engine of its stream) holds its queue until the signal
 * it waits for is given; mainline's refusals.
 */
static void test_collective(void)
{
	struct hl_cs_chunk hold = { 0 }, sig = { 0 }, after = { 0 }, rel = { 0 };
	__u64 h_hold = 0, h_after = 0, h_rel = 0, va = 0;
	__u64 s_hold = 0, s_sig = 0, s_cw = 0, s_cw1 = 0, s_after = 0, s_rel = 0, seq;
	__u32 *word;
	struct hl_wait_cs_out w;
	union hl_mem_args m;
	__u32 pkts[4];
	size_t len;
	char *buf;
	int err;

	buf = host_page("collective", &va);
	if (!buf)
		return;
	word = (__u32 *)buf;

	/* DMA 0 held on its fence counter 0, a SIGNAL on DMA_0_0 behind it. */
	len = pkt_fence(pkts, 0, 1, 1);
	err = cb_with(pkts, len, 4096, &h_hold);
	hold.cb_handle = h_hold;
	hold.queue_index = GAUDI_QUEUE_ID_DMA_0_0;
	hold.cb_size = len;
	err = err ?: cs_submit(&hold, 1, 0, 0, &s_hold);
	sig.queue_index = GAUDI_QUEUE_ID_DMA_0_0;
	err = err ?: cs_submit(&sig, 1, HL_CS_FLAGS_SIGNAL, 0, &s_sig);
	if (!expect(err, 0, "collective: a SIGNAL CS held behind a fence on DMA 0"))
		goto out_unmap;

	/* Collective waits for it: stream 0 reduced by DMA 5, stream 1 by
	 * TPC 7, both mastered on DMA 1; a job behind them writes word 0.
	 */
	err = collective(GAUDI_QUEUE_ID_DMA_1_0, GAUDI_ENGINE_ID_DMA_5, &s_sig, &s_cw);
	expect(err, 0, "CS COLLECTIVE_WAIT on DMA_1_0 with DMA 5 for the SIGNAL");
	err = collective(GAUDI_QUEUE_ID_DMA_1_1, GAUDI_ENGINE_ID_TPC_7, &s_sig, &s_cw1);
	expect(err, 0, "CS COLLECTIVE_WAIT on DMA_1_1 with TPC 7 for the SIGNAL");
	len = pkt_msg_long(pkts, 0x3333, va);
	err = cb_with(pkts, len, 4096, &h_after);
	after.cb_handle = h_after;
	after.queue_index = GAUDI_QUEUE_ID_DMA_1_0;
	after.cb_size = len;
	err = err ?: cs_submit(&after, 1, 0, 0, &s_after);
	expect(err, 0, "collective: a CS behind them on DMA_1_0 that writes host memory");
	msleep(50);
	memset(&w, 0, sizeof(w));
	err = s_cw ? cs_wait(s_cw, 0, &w) : EINVAL;
	check(!err && w.status == HL_WAIT_CS_STATUS_BUSY && dev_word(&word[0]) == 0,
	      "the collective wait and the job behind it are held until the signal (%u, %#x)",
	      w.status, dev_word(&word[0]));

	/* Refusals (mainline's order: the queue, then the engine). */
	expect(collective(GAUDI_QUEUE_ID_DMA_2_0, GAUDI_ENGINE_ID_DMA_5, &s_sig, &seq), EINVAL,
	       "CS COLLECTIVE_WAIT on internal queue DMA_2_0 (no collective master)");
	expect(collective(GAUDI_QUEUE_ID_NIC_0_0, GAUDI_ENGINE_ID_DMA_5, &s_sig, &seq), EINVAL,
	       "CS COLLECTIVE_WAIT on NIC_0_0 (a collective slave)");
	expect(collective(GAUDI_QUEUE_ID_DMA_1_0, GAUDI_ENGINE_ID_DMA_4, &s_sig, &seq), EINVAL,
	       "CS COLLECTIVE_WAIT reduced by DMA 4");
	expect(collective(GAUDI_QUEUE_ID_DMA_1_0, GAUDI_ENGINE_ID_TPC_6, &s_sig, &seq), EINVAL,
	       "CS COLLECTIVE_WAIT reduced by TPC 6");
	expect(collective(GAUDI_QUEUE_ID_DMA_1_0, GAUDI_ENGINE_ID_SIZE, &s_sig, &seq), EINVAL,
	       "CS COLLECTIVE_WAIT reduced by engine %u", GAUDI_ENGINE_ID_SIZE);
	expect(collective(GAUDI_QUEUE_ID_DMA_1_0, GAUDI_ENGINE_ID_DMA_5, &s_hold, &seq), EINVAL,
	       "CS COLLECTIVE_WAIT for a CS that is no SIGNAL");

	/* Release DMA 0 from DMA 2: the signal, then the waits. */
	len = pkt_msg_long(pkts, 1, GAUDI_DMA0_FENCE0);
	err = cb_with(pkts, len, 4096, &h_rel);
	rel.cb_handle = h_rel;
	rel.queue_index = GAUDI_QUEUE_ID_DMA_2_0;
	rel.cb_size = len;
	err = err ?: cs_submit(&rel, 1, 0, 0, &s_rel);
	expect(err, 0, "collective: a CS on DMA_2_0 that releases DMA 0");
	err = cs_wait(s_sig, 5000000, &w);
	check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS of the SIGNAL: COMPLETED (%s, %u)", err_name(err), w.status);
	err = cs_wait(s_cw, 5000000, &w);
	check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS of the DMA 5 collective wait: COMPLETED (%s, %u)", err_name(err),
	      w.status);
	err = cs_wait(s_cw1, 5000000, &w);
	check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
	      "WAIT_CS of the TPC 7 collective wait: COMPLETED (%s, %u)", err_name(err),
	      w.status);
	err = cs_wait(s_after, 5000000, &w);
	check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED && dev_word(&word[0]) == 0x3333,
	      "the job behind them ran once the signal was given (%s, %u, %#x)", err_name(err),
	      w.status, dev_word(&word[0]));

	/* A collective wait for a signal given already runs at once. */
	err = collective(GAUDI_QUEUE_ID_DMA_0_2, GAUDI_ENGINE_ID_DMA_5, &s_sig, &seq);
	expect(err, 0, "CS COLLECTIVE_WAIT for a signal given already");
	if (!err) {
		err = cs_wait(seq, 5000000, &w);
		check(!err && w.status == HL_WAIT_CS_STATUS_COMPLETED,
		      "WAIT_CS of it: COMPLETED (%s, %u)", err_name(err), w.status);
	}
	cs_wait(s_rel, 5000000, &w);

out_unmap:
	if (h_hold)
		cb_destroy(h_hold);
	if (h_after)
		cb_destroy(h_after);
	if (h_rel)
		cb_destroy(h_rel);
	memset(&m, 0, sizeof(m));
	m.in.op = HL_MEM_OP_UNMAP;
	m.in.unmap.device_virt_addr = va;
	mem(&m);
	free(buf);
}

/* DMA 0's stream 0 fence counter 1 (mmDMA0_QM_CP_FENCE1_RDATA_0), which no
 * other test uses: a fence left over by another test cannot release it.
 */
#define GAUDI_DMA0_FENCE1	(GAUDI_CFG_BASE + 0x50831c)

/* A CS of one CB of len bytes at pkts on queue; its handle in *h. */
static int cs_cb(const __u32 *pkts, size_t len, __u32 queue, __u64 *h, __u64 *seq)
{
	struct hl_cs_chunk c = { 0 };
	int err;

	err = cb_with(pkts, len, 4096, h);
	c.cb_handle = *h;
	c.queue_index = queue;
	c.cb_size = len;
	return err ?: cs_submit(&c, 1, 0, 0, seq);
}

/*
 * GAUDI's QMANs run four streams each: a stream held on a FENCE, or by a
 * WAIT for a signal, leaves its siblings of the same QMAN running, and a
 * sibling's job releases it.
 */
static void test_streams(void)
{
	struct hl_cs_chunk sig = { 0 }, wait = { 0 };
	__u64 h[3] = { 0 }, s_hold = 0, s_sig = 0, s_wait = 0, s_run = 0, s_rel = 0, va = 0;
	struct hl_wait_cs_out w0, w1;
	union hl_mem_args m;
	__u32 pkts[4], *word;
	size_t len;
	char *buf;
	int err, i, held;

	buf = host_page("streams", &va);
	if (!buf)
		return;
	word = (__u32 *)buf;

	/* Stream 0 of DMA 0 held on its fence counter 1, a SIGNAL behind it;
	 * stream 1 waits for that signal.
	 */
	len = pkt_fence(pkts, 1, 1, 1);
	err = cs_cb(pkts, len, GAUDI_QUEUE_ID_DMA_0_0, &h[0], &s_hold);
	sig.queue_index = GAUDI_QUEUE_ID_DMA_0_0;
	err = err ?: cs_submit(&sig, 1, HL_CS_FLAGS_SIGNAL, 0, &s_sig);
	wait.signal_seq_arr = (__u64)(uintptr_t)&s_sig;
	wait.num_signal_seq_arr = 1;
	wait.queue_index = GAUDI_QUEUE_ID_DMA_0_1;
	err = err ?: cs_submit(&wait, 1, HL_CS_FLAGS_WAIT, 0, &s_wait);
	if (!expect(err, 0, "streams: DMA_0_0 held on a fence, a SIGNAL behind it, a WAIT on DMA_0_1"))
		goto out;

	/* Stream 2 runs meanwhile. */
	len = pkt_msg_long(pkts, 0x5151, va);
	err = cs_cb(pkts, len, GAUDI_QUEUE_ID_DMA_0_2, &h[1], &s_run);
	err = err ?: cs_wait(s_run, 5000000, &w0);
	held = 0;
	for (i = 0; i < 2; i++) {
		memset(&w1, 0, sizeof(w1));
		held += !cs_wait(i ? s_wait : s_hold, 0, &w1) &&
			w1.status == HL_WAIT_CS_STATUS_BUSY;
	}
	check(!err && w0.status == HL_WAIT_CS_STATUS_COMPLETED && dev_word(&word[0]) == 0x5151 &&
	      held == 2,
	      "a CS on DMA_0_2 completes while DMA_0_0 and DMA_0_1 are held (%s, %u, %#x, %d held)",
	      err_name(err), w0.status, dev_word(&word[0]), held);

	/* Stream 3 releases stream 0 (its CP_FENCE1_RDATA_0): the signal is
	 * given, and the wait on stream 1 ends.
	 */
	len = pkt_msg_long(pkts, 1, GAUDI_DMA0_FENCE1);
	err = cs_cb(pkts, len, GAUDI_QUEUE_ID_DMA_0_3, &h[2], &s_rel);
	expect(err, 0, "streams: a CS on DMA_0_3 that releases DMA_0_0");
	for (i = 0; i < 3; i++) {
		__u64 seq = i == 0 ? s_hold : i == 1 ? s_sig : s_wait;

		err = cs_wait(seq, 5000000, &w0);
		check(!err && w0.status == HL_WAIT_CS_STATUS_COMPLETED,
		      "WAIT_CS of the %s: COMPLETED (%s, %u)",
		      i == 0 ? "held CS" : i == 1 ? "SIGNAL" : "WAIT on the sibling stream",
		      err_name(err), w0.status);
	}
	cs_wait(s_rel, 5000000, &w0);

out:
	for (i = 0; i < 3; i++)
		if (h[i])
			cb_destroy(h[i]);
	memset(&m, 0, sizeof(m));
	m.in.op = HL_MEM_OP_UNMAP;
	m.in.unmap.device_virt_addr = va;
	mem(&m);
	free(buf);
}

static void test_sync(void)
{
	test_staged();
	test_encaps_refusals();
	test_encaps_order();
	test_collective();
	test_streams();
}

/* --- sequence numbers past the window -------------------------------- */

/*
 * Mainline GAUDI remembers a context's last GAUDI_MAX_PENDING_CS submissions
 * (hl_ctx_get_fence); older ones are gone, and WAIT_CS answers COMPLETED
 * with FLAG_GONE, but for one submitted with TIMESTAMP whose outcome the
 * context's outcome store still holds: that answers once, with its
 * timestamp.
 */
#define GAUDI_MAX_PENDING_CS	16384

/* Submits chunk, again while its queue is full; errno, the sequence number in *seq. */
static int cs_submit_retry(struct hl_cs_chunk *chunk, __u32 flags, __u64 *seq)
{
	int err, tries = 0;

	while ((err = cs_submit(chunk, 1, flags, 0, seq)) == EAGAIN && tries++ < 10000)
		usleep(1000);
	return err;
}

/* MULTI_CS on the n sequence numbers at seqs, without waiting; errno. */
static int cs_wait_multi(__u64 *seqs, __u32 n, struct hl_wait_cs_out *out)
{
	union hl_wait_cs_args w;
	int err;

	memset(&w, 0, sizeof(w));
	w.in.seq = (__u64)(uintptr_t)seqs;
	w.in.seq_arr_len = n;
	w.in.flags = HL_WAIT_CS_FLAGS_MULTI_CS;
	err = xioctl(cfd, HL_IOCTL_WAIT_CS, &w);
	*out = w.out;
	return err;
}

#define GONE	HL_WAIT_CS_STATUS_FLAG_GONE
#define VLD	HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD

static void test_gone(void)
{
	struct hl_wait_cs_out out, t_first = { 0 }, t_second = { 0 }, t_late = { 0 };
	struct hl_cs_chunk chunk;
	__u64 first, second, plain, last, unstamped, late, seqs[2];
	__u32 pkts[2];
	size_t len;
	int err;

	len = pkt_nop(pkts);
	if (!expect(chunk_with(pkts, len, &chunk), 0, "gone: a CB holding a NOP"))
		return;

	/* Two with TIMESTAMP and one without, and their answers in the window. */
	err = cs_submit_retry(&chunk, HL_CS_FLAGS_TIMESTAMP, &first);
	err = err ?: cs_submit_retry(&chunk, HL_CS_FLAGS_TIMESTAMP, &second);
	err = err ?: cs_submit_retry(&chunk, 0, &plain);
	if (!expect(err, 0, "gone: CSs with TIMESTAMP, TIMESTAMP, none"))
		goto out;
	err = cs_wait(first, 5000000, &t_first);
	err = err ?: cs_wait(second, 5000000, &t_second);
	if (!check(!err && (t_first.flags & VLD) && (t_second.flags & VLD) &&
		   t_second.timestamp_nsec > t_first.timestamp_nsec,
		   "gone: their timestamps in the window (%s, %lld, %lld)", err_name(err),
		   (long long)t_first.timestamp_nsec, (long long)t_second.timestamp_nsec))
		goto out;

	/* The window's worth after the first: it is gone, the second is the oldest held. */
	do
		err = cs_submit_retry(&chunk, 0, &last);
	while (!err && last < first + GAUDI_MAX_PENDING_CS);
	if (!expect(err, 0, "gone: %d CSs more", GAUDI_MAX_PENDING_CS))
		goto out;
	err = cs_wait(last, 30000000, &out);
	if (!check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED,
		   "gone: the last of them COMPLETED (%s, %u)", err_name(err), out.status))
		goto out;
	err = cs_wait(second, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.flags == VLD &&
	      out.timestamp_nsec == t_second.timestamp_nsec,
	      "WAIT_CS of the oldest CS of the window: COMPLETED, its timestamp (%s, %u, %#x)",
	      err_name(err), out.status, out.flags);
	err = cs_wait(first, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.flags == VLD &&
	      out.timestamp_nsec == t_first.timestamp_nsec,
	      "WAIT_CS of a TIMESTAMP CS past the window: COMPLETED, its timestamp (%s, %u, %#x, %lld)",
	      err_name(err), out.status, out.flags, (long long)out.timestamp_nsec);
	err = cs_wait(first, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.flags == GONE,
	      "WAIT_CS of it again: COMPLETED, GONE, the store answers once (%s, %u, %#x)",
	      err_name(err), out.status, out.flags);

	/* Two more: the second and the plain one leave the window. */
	err = cs_submit_retry(&chunk, 0, &unstamped);
	err = err ?: cs_submit_retry(&chunk, HL_CS_FLAGS_TIMESTAMP, &late);
	err = err ?: cs_wait(late, 5000000, &t_late);
	if (!check(!err && (t_late.flags & VLD), "gone: two CSs more, the last with TIMESTAMP (%s)",
		   err_name(err)))
		goto out;
	err = cs_wait(plain, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.flags == GONE,
	      "WAIT_CS of a CS without TIMESTAMP past the window: COMPLETED, GONE (%s, %u, %#x)",
	      err_name(err), out.status, out.flags);

	/*
	 * MULTI_CS: a kept outcome is done, but not timed; a gone CS leaves no
	 * timestamp; nor does one without TIMESTAMP (the earliest end, 0).
	 */
	seqs[0] = second;
	seqs[1] = late;
	err = cs_wait_multi(seqs, 2, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.cs_completion_map == 3 &&
	      out.flags == VLD && out.timestamp_nsec == t_late.timestamp_nsec,
	      "MULTI_CS of a TIMESTAMP CS past the window and one in it: both, the latter's timestamp (%s, %#x, %#x)",
	      err_name(err), out.cs_completion_map, out.flags);
	err = cs_wait(second, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.flags == GONE,
	      "WAIT_CS of the former after it: GONE, MULTI_CS took it (%s, %#x)", err_name(err),
	      out.flags);
	seqs[0] = plain;
	err = cs_wait_multi(seqs, 2, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.cs_completion_map == 3 &&
	      out.flags == GONE,
	      "MULTI_CS of a gone CS and one with TIMESTAMP: both, GONE, no timestamp (%s, %#x, %#x)",
	      err_name(err), out.cs_completion_map, out.flags);
	seqs[0] = unstamped;
	err = cs_wait_multi(seqs, 2, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.cs_completion_map == 3 &&
	      out.flags == GONE,
	      "MULTI_CS of CSs without and with TIMESTAMP in the window: both, GONE, no timestamp (%s, %#x, %#x)",
	      err_name(err), out.cs_completion_map, out.flags);
	seqs[0] = late;
	err = cs_wait_multi(seqs, 1, &out);
	check(!err && out.cs_completion_map == 1 && out.flags == VLD &&
	      out.timestamp_nsec == t_late.timestamp_nsec,
	      "MULTI_CS of a TIMESTAMP CS alone: its timestamp (%s, %#x)", err_name(err), out.flags);

	/* 0 was never a sequence number: gone, not EINVAL. */
	err = cs_wait(0, 0, &out);
	check(!err && out.status == HL_WAIT_CS_STATUS_COMPLETED && out.flags == GONE,
	      "WAIT_CS of sequence number 0: COMPLETED, GONE (%s, %u, %#x)", err_name(err),
	      out.status, out.flags);
	seqs[0] = 0;
	err = cs_wait_multi(seqs, 1, &out);
	check(!err && out.cs_completion_map == 1 && out.flags == GONE,
	      "MULTI_CS of sequence number 0: done, GONE (%s, %#x, %#x)", err_name(err),
	      out.cs_completion_map, out.flags);
out:
	cb_destroy(chunk.cb_handle);
}

/* A MAP USERPTR of 4 KiB at p, hint at hint, with flags besides USERPTR. */
static void map_hinted(union hl_mem_args *a, char *p, __u64 hint, __u32 flags)
{
	memset(a, 0, sizeof(*a));
	a->in.op = HL_MEM_OP_MAP;
	a->in.flags = HL_MEM_USERPTR | flags;
	a->in.map_host.host_virt_addr = (__u64)(uintptr_t)p;
	a->in.map_host.mem_size = 4096;
	a->in.map_host.hint_addr = hint;
}

/* UNMAP of device address va: 0 or an errno. */
static int unmap(__u64 va)
{
	union hl_mem_args a;

	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_UNMAP;
	a.in.unmap.device_virt_addr = va;
	return mem(&a);
}

/* MAP USERPTR of the size bytes at p: 0 and their device address in *va, or an errno. */
static int map_userptr(void *p, __u64 size, __u64 *va)
{
	union hl_mem_args a;
	int err;

	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_MAP;
	a.in.flags = HL_MEM_USERPTR;
	a.in.map_host.host_virt_addr = (__u64)(uintptr_t)p;
	a.in.map_host.mem_size = size;
	err = mem(&a);
	*va = err ? 0 : a.out.device_virt_addr;
	return err;
}

/*
 * Hints and huge pages, as mainline's regular-page maps: a buffer that
 * starts at a 2 MiB boundary of the process (where a huge page would) is
 * mapped at one of the device, so a hint that is not one is ignored, and
 * refused with FORCE_HINT; a buffer elsewhere takes any page-aligned hint.
 */
static void test_huge_hints(void)
{
	const __u64 huge = GAUDI_HUGE_PAGE;
	__u64 va, va2, hint;
	union hl_mem_args a;
	char *raw, *buf;
	int err;

	raw = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!check(raw != MAP_FAILED, "mmap of 4 MiB"))
		return;
	buf = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
	memset(buf, 0, 2 * 4096);
	map_hinted(&a, buf, 0, 0);
	err = mem(&a);
	va = a.out.device_virt_addr;
	check(!err && va % huge == 0,
	      "MEMORY MAP USERPTR of a buffer at a 2 MiB boundary: at one of the device (%s, %#llx)",
	      err_name(err), (unsigned long long)va);
	if (err)
		goto out;
	expect(unmap(va), 0, "MEMORY UNMAP of it");
	hint = va + 4096;
	map_hinted(&a, buf, hint, 0);
	err = mem(&a);
	va2 = a.out.device_virt_addr;
	check(!err && va2 != hint && va2 % huge == 0,
	      "MEMORY MAP USERPTR of it ignores a free hint a page past a 2 MiB boundary (%s, %#llx)",
	      err_name(err), (unsigned long long)va2);
	if (!err)
		unmap(va2);
	map_hinted(&a, buf, hint, HL_MEM_FORCE_HINT);
	err = mem(&a);
	expect(err, ENOMEM, "MEMORY MAP USERPTR of it, FORCE_HINT a page past a 2 MiB boundary");
	if (!err)
		unmap(a.out.device_virt_addr);
	map_hinted(&a, buf, va, HL_MEM_FORCE_HINT);
	err = mem(&a);
	va2 = a.out.device_virt_addr;
	check(!err && va2 == va, "MEMORY MAP USERPTR of it, FORCE_HINT at a free 2 MiB boundary (%s, %#llx)",
	      err_name(err), (unsigned long long)va2);
	if (!err)
		unmap(va2);
	map_hinted(&a, buf + 4096, hint, HL_MEM_FORCE_HINT);
	err = mem(&a);
	va2 = a.out.device_virt_addr;
	check(!err && va2 == hint,
	      "MEMORY MAP USERPTR of a buffer a page past a 2 MiB boundary, FORCE_HINT there (%s, %#llx)",
	      err_name(err), (unsigned long long)va2);
	if (!err)
		unmap(va2);
out:
	munmap(raw, 2 * huge);
}

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		(21 << MAP_HUGE_SHIFT)
#endif

/*
 * A USERPTR map of npages 2 MiB huge pages (MAP_HUGETLB; uapi_conform.sh
 * reserves them), as HabanaAI's memory and dma_perf tests map them: at a
 * 2 MiB boundary of the device, in the host range, and the device reads
 * and writes every huge page of it. One LIN_DMA copies the first half of
 * the buffer, a pattern, to its second half: with several pages, both
 * halves cross a huge page's boundary. A MSG_LONG then writes the last
 * word of the last page.
 */
static void test_hugetlb(unsigned int npages)
{
	const size_t size = npages * GAUDI_HUGE_PAGE, half = size / 2;
	__u32 *words, pkts[6], seen = 0;
	size_t i, len;
	char *buf;
	__u64 va;
	int err;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	if (!check(buf != MAP_FAILED, "mmap of %u huge pages of 2 MiB (MAP_HUGETLB: %s)",
		   npages, buf == MAP_FAILED ? err_name(errno) : "mapped"))
		return;
	words = (__u32 *)buf;
	for (i = 0; i < half / 4; i++)
		words[i] = 0x9e3779b9u * (__u32)(i + 1) ^ npages;
	memset(buf + half, 0, half);
	err = map_userptr(buf, size, &va);
	expect(err, 0, "MEMORY MAP USERPTR of %u huge pages", npages);
	if (err)
		goto out;
	check(va % GAUDI_HUGE_PAGE == 0 && va >= dev.host_va_start && va + size <= dev.host_va_end,
	      "MEMORY MAP USERPTR of %u huge pages: at a 2 MiB boundary of the host range (%#llx)",
	      npages, (unsigned long long)va);
	len = pkt_lin_dma(pkts, half, va, va + half);
	err = run_job(pkts, len);
	/* The device wrote the second half behind the compiler's back. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	check(!err && half && words[0] && !memcmp(buf, buf + half, half),
	      "a LIN_DMA of %zu KiB from the first half of the huge pages to the second (%s)",
	      half >> 10, err_name(err));
	len = pkt_msg_long(pkts, 0x4a9e7a6e, va + size - 4);
	err = run_job(pkts, len);
	seen = dev_word((__u32 *)(buf + size - 4));
	check(!err && seen == 0x4a9e7a6e,
	      "a MSG_LONG to the last word of huge page %u reaches it (%s, %#x)", npages,
	      err_name(err), seen);
	expect(unmap(va), 0, "MEMORY UNMAP of %u huge pages", npages);
out:
	munmap(buf, size);
}

/*
 * A USERPTR map of more than 4 GiB, which mainline bounds only by what it
 * can pin (HabanaAI's map_bigger_than_4GB maps 5 GiB). So that the guest
 * needs little memory, the buffer is one 64 MiB memfd mapped again and
 * again: the device's write past 4 GiB into the map shows in the memfd.
 */
static void test_map_past_4g(void)
{
	const size_t part = 64 << 20, size = (4ull << 30) + part;
	__u32 *word, seen = 0;
	size_t off, len;
	__u32 pkts[4];
	char *buf;
	__u64 va;
	int fd, err;

	fd = memfd_create("hl-uapi-conform", MFD_CLOEXEC);
	if (!check(fd >= 0 && !ftruncate(fd, part), "a memfd of 64 MiB"))
		goto out_fd;
	buf = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!check(buf != MAP_FAILED, "4 GiB + 64 MiB of address space"))
		goto out_fd;
	for (off = 0; off < size; off += part)
		if (mmap(buf + off, part, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    MAP_FAILED)
			break;
	if (!check(off == size, "the memfd mapped over all of it"))
		goto out_map;
	memset(buf, 0, part);
	err = map_userptr(buf, size, &va);
	expect(err, 0, "MEMORY MAP USERPTR of 4 GiB + 64 MiB");
	if (err)
		goto out_map;
	/* The last page of the map is the memfd's last. */
	word = (__u32 *)(buf + part - 4096 + 8);
	len = pkt_msg_long(pkts, 0x5eedf00d, va + size - 4096 + 8);
	err = run_job(pkts, len);
	seen = dev_word(word);
	check(!err && seen == 0x5eedf00d,
	      "a MSG_LONG past 4 GiB into the map reaches the host page (%s, %#x)",
	      err_name(err), seen);
	expect(unmap(va), 0, "MEMORY UNMAP of 4 GiB + 64 MiB");
out_map:
	munmap(buf, size);
out_fd:
	if (fd >= 0)
		close(fd);
}

/*
 * dma-buf export of device memory, as mainline's for an ASIC without DRAM
 * virtual memory: the handle field carries the device address, which with
 * the size is page aligned and inside the DRAM; no ALLOC is needed.
 */
static void test_export_by_address(void)
{
	struct hl_info_hw_ip_info hw;
	union hl_mem_args a;
	__u64 base;
	int err;

	memset(&hw, 0, sizeof(hw));
	if (info(cfd, HL_INFO_HW_IP_INFO, &hw, sizeof(hw), 0) || !hw.dram_size) {
		check(0, "HW_IP_INFO for the DRAM's address");
		return;
	}
	base = hw.dram_base_address;
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_EXPORT_DMABUF_FD;
	a.in.export_dmabuf_fd.handle = base;
	a.in.export_dmabuf_fd.mem_size = 2 * 4096;
	a.in.flags = O_RDWR | O_CLOEXEC;
	err = mem(&a);
	expect(err, 0, "MEMORY EXPORT_DMABUF_FD of 8 KiB at the DRAM's device address");
	check(!err && a.out.fd >= 0, "MEMORY EXPORT_DMABUF_FD by address gives a file (%d)",
	      a.out.fd);
	if (!err && a.out.fd >= 0)
		close(a.out.fd);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_EXPORT_DMABUF_FD;
	a.in.export_dmabuf_fd.handle = base + 100;
	a.in.export_dmabuf_fd.mem_size = 4096;
	a.in.flags = O_RDWR;
	expect(mem(&a), EINVAL, "MEMORY EXPORT_DMABUF_FD at an unaligned device address");
	a.in.export_dmabuf_fd.handle = base;
	a.in.export_dmabuf_fd.mem_size = 4096 + 1;
	expect(mem(&a), EINVAL, "MEMORY EXPORT_DMABUF_FD of an unaligned size");
	a.in.export_dmabuf_fd.handle = base - 4096;
	a.in.export_dmabuf_fd.mem_size = 8192;
	expect(mem(&a), EINVAL, "MEMORY EXPORT_DMABUF_FD starting below the user's DRAM");
	a.in.export_dmabuf_fd.handle = base + hw.dram_size - 4096;
	a.in.export_dmabuf_fd.mem_size = 8192;
	expect(mem(&a), EINVAL, "MEMORY EXPORT_DMABUF_FD past the DRAM's end");
}

/*
 * The user's DRAM is reached at its device address without an ALLOC, and
 * the DMA to and from host memory that does it moves the PCIe counters:
 * INFO PCI_COUNTERS' throughputs (KB/s over the window since the previous
 * query, at least 10 ms) times the window cover the bytes moved.
 */
static void test_pci_counters(void)
{
	const __u32 size = 1 << 20;
	struct hl_info_pci_counters p0, p1;
	struct hl_info_hw_ip_info hw;
	__u64 va, t0, window_us, rx, tx;
	unsigned char *buf;
	union hl_mem_args a;
	__u32 pkts[12], i;
	size_t len;
	int err;

	memset(&hw, 0, sizeof(hw));
	if (info(cfd, HL_INFO_HW_IP_INFO, &hw, sizeof(hw), 0) || hw.dram_size < size) {
		check(0, "HW_IP_INFO for the DRAM's address");
		return;
	}
	/* Source, then destination. */
	buf = aligned_alloc(4096, 2 * size);
	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 12));
	memset(buf + size, 0, size);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_MAP;
	a.in.flags = HL_MEM_USERPTR;
	a.in.map_host.host_virt_addr = (__u64)(uintptr_t)buf;
	a.in.map_host.mem_size = 2 * size;
	err = mem(&a);
	va = a.out.device_virt_addr;
	if (!expect(err, 0, "MEMORY MAP USERPTR of 2 MiB for DMA")) {
		free(buf);
		return;
	}

	t0 = now_ns();
	err = info(cfd, HL_INFO_PCI_COUNTERS, &p0, sizeof(p0), 0);
	len = pkt_lin_dma(pkts, size, va, hw.dram_base_address);
	len += pkt_lin_dma(pkts + len / 4, size, hw.dram_base_address, va + size);
	err = err ?: run_job(pkts, len);
	err = err ?: info(cfd, HL_INFO_PCI_COUNTERS, &p1, sizeof(p1), 0);
	/* The driver's window (host time, its two queries) lies inside ours. */
	window_us = (now_ns() - t0) / 1000 + 1;
	if (window_us < 10000)
		window_us = 10000;
	check(!err && !memcmp(buf, buf + size, size),
	      "LIN_DMA host to DRAM at its device address %#llx and back moves 1 MiB (%s)",
	      (unsigned long long)hw.dram_base_address, err_name(err));
	/* Bytes the throughputs account for in the window, less their rounding. */
	rx = p1.rx_throughput * 1024 * window_us / 1000000 + 2048;
	tx = p1.tx_throughput * 1024 * window_us / 1000000 + 2048;
	check(!err && rx >= size, "PCI_COUNTERS rx_throughput %llu KB/s over at most %llu us: the 1 MiB read from the host",
	      (unsigned long long)p1.rx_throughput, (unsigned long long)window_us);
	check(!err && tx >= size, "PCI_COUNTERS tx_throughput %llu KB/s over at most %llu us: the 1 MiB written to the host",
	      (unsigned long long)p1.tx_throughput, (unsigned long long)window_us);

	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_UNMAP;
	a.in.unmap.device_virt_addr = va;
	expect(mem(&a), 0, "MEMORY UNMAP of the DMA buffer");
	free(buf);
}

/*
 * What the context's ALLOCs count goes when it ends: a last one is left
 * for close to give back, as the control node's DRAM_USAGE shows.
 */
static void test_dram_release(void)
{
	struct hl_info_hw_ip_info hw;
	struct hl_info_dram_usage du;
	union hl_mem_args a;
	int err;

	memset(&hw, 0, sizeof(hw));
	info(ctlfd, HL_INFO_HW_IP_INFO, &hw, sizeof(hw), 0);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_ALLOC;
	a.in.alloc.mem_size = GAUDI_PAGE_SIZE_2MB;
	expect(mem(&a), 0, "MEMORY ALLOC of 2 MiB, not freed");
	err = info(ctlfd, HL_INFO_DRAM_USAGE, &du, sizeof(du), 0);
	check(!err && du.dram_free_mem == hw.dram_size - GAUDI_PAGE_SIZE_2MB && du.ctx_dram_mem == 0,
	      "control: DRAM_USAGE counts the compute context's 2 MiB (%llu of %llu free)",
	      (unsigned long long)du.dram_free_mem, (unsigned long long)hw.dram_size);
	close(cfd);
	cfd = -1;
	err = info(ctlfd, HL_INFO_DRAM_USAGE, &du, sizeof(du), 0);
	check(!err && du.dram_free_mem == hw.dram_size,
	      "control: DRAM_USAGE is all free once the compute node is closed (%llu)",
	      (unsigned long long)du.dram_free_mem);
}

static void test_memory(void)
{
	struct hl_info_dram_usage du0, du1;
	union hl_mem_args a;
	__u64 size = GAUDI_PAGE_SIZE_2MB, va, va2, va3, hint, *ts;
	__u32 pkts[8];
	__u32 *word, seen = 0;
	__u64 handle;
	char *buf;
	size_t len;
	int err;

	/*
	 * Device memory: GAUDI's DRAM has no virtual memory; ALLOC and FREE
	 * only count (handle 0), and MAP of a device handle fails.
	 */
	info(cfd, HL_INFO_DRAM_USAGE, &du0, sizeof(du0), 0);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_ALLOC;
	a.in.alloc.mem_size = size;
	err = mem(&a);
	expect(err, 0, "MEMORY ALLOC of 2 MiB of device memory");
	check(!err && a.out.handle == 0, "MEMORY ALLOC: handle 0, as GAUDI's (%#llx)",
	      (unsigned long long)a.out.handle);
	err = info(cfd, HL_INFO_DRAM_USAGE, &du1, sizeof(du1), 0);
	check(!err && du1.ctx_dram_mem == du0.ctx_dram_mem + size &&
	      du1.dram_free_mem == du0.dram_free_mem - size,
	      "DRAM_USAGE moves by the allocation (context %llu, then %llu)",
	      (unsigned long long)du0.ctx_dram_mem, (unsigned long long)du1.ctx_dram_mem);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_MAP;
	a.in.map_device.handle = 0;
	expect(mem(&a), EINVAL, "MEMORY MAP of device handle 0");
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_FREE;
	a.in.alloc.mem_size = size;
	expect(mem(&a), 0, "MEMORY FREE of the 2 MiB");
	err = info(cfd, HL_INFO_DRAM_USAGE, &du1, sizeof(du1), 0);
	check(!err && du1.ctx_dram_mem == du0.ctx_dram_mem && du1.dram_free_mem == du0.dram_free_mem,
	      "DRAM_USAGE is back after FREE");
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_ALLOC;
	expect(mem(&a), EINVAL, "MEMORY ALLOC of 0 bytes");
	/* More than the DRAM has free: refused, nothing counted. */
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_ALLOC;
	a.in.alloc.mem_size = du0.dram_free_mem + 1;
	expect(mem(&a), ENOMEM, "MEMORY ALLOC of 1 byte more than is free");
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_FREE;
	a.in.alloc.mem_size = du0.ctx_dram_mem + 1;
	expect(mem(&a), EINVAL, "MEMORY FREE of more than the context allocated");
	err = info(cfd, HL_INFO_DRAM_USAGE, &du1, sizeof(du1), 0);
	check(!err && du1.ctx_dram_mem == du0.ctx_dram_mem && du1.dram_free_mem == du0.dram_free_mem,
	      "DRAM_USAGE is unchanged by the refused ALLOC and FREE");

	/* Host memory: a USERPTR map of an unaligned buffer. */
	buf = aligned_alloc(4096, 3 * 4096);
	memset(buf, 0, 3 * 4096);
	word = (__u32 *)(buf + 100);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_MAP;
	a.in.flags = HL_MEM_USERPTR;
	a.in.map_host.host_virt_addr = (__u64)(uintptr_t)(buf + 100);
	a.in.map_host.mem_size = 2 * 4096;
	err = mem(&a);
	va = a.out.device_virt_addr;
	expect(err, 0, "MEMORY MAP USERPTR of 8 KiB at a page offset of 100");
	check(!err && va >= dev.host_va_start && va < dev.host_va_end && (va & 4095) == 100,
	      "MEMORY MAP USERPTR: in the host range, at the same page offset (%#llx)",
	      (unsigned long long)va);

	/* The device writes through the map. */
	if (!err) {
		len = pkt_msg_long(pkts, 0xc0ffee, va);
		err = run_job(pkts, len);
		/* The device wrote it behind the compiler's back. */
		seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		check(!err && seen == 0xc0ffee,
		      "a MSG_LONG to the mapped address reaches the host buffer (%s, %#x)",
		      err_name(err), seen);
	}

	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_UNMAP;
	a.in.unmap.device_virt_addr = va;
	expect(mem(&a), 0, "MEMORY UNMAP");
	expect(mem(&a), EINVAL, "MEMORY UNMAP again");

	/* Hints, as mainline: a free, page-aligned one is taken, an unaligned
	 * one ignored; FORCE_HINT takes the hint or fails. va is free again.
	 */
	hint = (va & ~4095ULL) + 2 * 4096;
	map_hinted(&a, buf + 100, hint, 0);
	err = mem(&a);
	va2 = a.out.device_virt_addr;
	check(!err && va2 == hint + 100, "MEMORY MAP USERPTR at a free aligned hint %#llx (%s, %#llx)",
	      (unsigned long long)hint, err_name(err), (unsigned long long)va2);
	map_hinted(&a, buf + 100, hint, HL_MEM_FORCE_HINT);
	expect(mem(&a), ENOMEM, "MEMORY MAP USERPTR, FORCE_HINT at a hint in use");
	map_hinted(&a, buf + 100, hint + 8, 0);
	err = mem(&a);
	va3 = a.out.device_virt_addr;
	check(!err && va3 != hint + 8 + 100 && (va3 & 4095) == 100,
	      "MEMORY MAP USERPTR ignores an unaligned hint (%s, %#llx)", err_name(err),
	      (unsigned long long)va3);
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_UNMAP;
	a.in.unmap.device_virt_addr = va2;
	expect(mem(&a), 0, "MEMORY UNMAP of the hinted map");
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_UNMAP;
	a.in.unmap.device_virt_addr = va3;
	expect(mem(&a), 0, "MEMORY UNMAP of the unhinted map");
	free(buf);
	test_huge_hints();
	test_hugetlb(1);
	test_hugetlb(3);
	test_map_past_4g();

	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_MAP_BLOCK;
	a.in.map_block.block_addr = 0;
	expect(mem(&a), EPERM, "MEMORY MAP_BLOCK (GAUDI maps no block)");

	/* Timestamp buffers, as mainline's for every ASIC: mapped at their
	 * handle, zeroed (GAUDI has no user interrupt to stamp them).
	 */
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_TS_ALLOC;
	a.in.num_of_elements = 16;
	err = mem(&a);
	expect(err, 0, "MEMORY TS_ALLOC of 16 elements");
	handle = a.out.handle;
	check(!err && (handle >> 63) == 1 && (handle & 4095) == 0,
	      "MEMORY TS_ALLOC gives a handle of mainline's type (%#llx)",
	      (unsigned long long)handle);
	if (!err) {
		ts = mmap(NULL, 4096, PROT_READ, MAP_SHARED, cfd, (off_t)handle);
		check(ts != MAP_FAILED && ts[0] == 0 && ts[15] == 0,
		      "the timestamp buffer maps at its handle, zeroed (%s)",
		      ts == MAP_FAILED ? err_name(errno) : "mapped");
		if (ts != MAP_FAILED)
			munmap(ts, 4096);
	}
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_TS_ALLOC;
	a.in.num_of_elements = TS_MAX_ELEMENTS_NUM + 1;
	expect(mem(&a), EINVAL, "MEMORY TS_ALLOC above TS_MAX_ELEMENTS_NUM");
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_TS_ALLOC;
	expect(mem(&a), ENOMEM, "MEMORY TS_ALLOC of 0 elements");

	/* dma-buf export (dmabuf.sh moves data through one): what it refuses. */
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_EXPORT_DMABUF_FD;
	a.in.export_dmabuf_fd.handle = 0;
	a.in.export_dmabuf_fd.mem_size = 4096;
	a.in.flags = O_RDWR | O_CLOEXEC;
	expect(mem(&a), EINVAL, "MEMORY EXPORT_DMABUF_FD of address 0, outside device memory");
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_EXPORT_DMABUF_FD;
	a.in.export_dmabuf_fd.handle = 0;
	a.in.export_dmabuf_fd.mem_size = 0;
	a.in.flags = O_RDWR;
	expect(mem(&a), EINVAL, "MEMORY EXPORT_DMABUF_FD of 0 bytes");
	test_export_by_address();

	memset(&a, 0, sizeof(a));
	a.in.op = 99;
	expect(mem(&a), EINVAL, "MEMORY op 99");
}

static void test_control(void)
{
	unsigned char arg[64] = { 0 };
	__u64 events;
	int efd;

	test_info_hw_ip(ctlfd, "control");
	test_info_common(ctlfd, "control");
	expect(info(ctlfd, HL_INFO_GET_EVENTS, &events, sizeof(events), 0), EOPNOTSUPP,
	       "control: INFO GET_EVENTS");
	efd = eventfd(0, 0);
	expect(info(ctlfd, HL_INFO_REGISTER_EVENTFD, NULL, 0, efd), EOPNOTSUPP,
	       "control: INFO REGISTER_EVENTFD");
	close(efd);
	expect(info(ctlfd, HL_INFO_UNREGISTER_EVENTFD, NULL, 0, 0), EOPNOTSUPP,
	       "control: INFO UNREGISTER_EVENTFD");

	expect(xioctl(ctlfd, HL_IOCTL_CB, arg), ENOTTY, "control: CB");
	expect(xioctl(ctlfd, HL_IOCTL_CS, arg), ENOTTY, "control: CS");
	expect(xioctl(ctlfd, HL_IOCTL_WAIT_CS, arg), ENOTTY, "control: WAIT_CS");
	expect(xioctl(ctlfd, HL_IOCTL_MEMORY, arg), ENOTTY, "control: MEMORY");
	expect(xioctl(ctlfd, HL_IOCTL_DEBUG, arg), ENOTTY, "control: DEBUG");
	expect(xioctl(ctlfd, _IOWR('H', 0x07, struct hl_info_args), arg), ENOTTY,
	       "control: nr 0x07");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s /dev/hlN /dev/hl_controlDN\n", argv[0]);
		return 2;
	}
	label = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
	compute_node = argv[1];

	cfd = open(argv[1], O_RDWR);
	ctlfd = open(argv[2], O_RDWR);
	if (!check(cfd >= 0, "open %s", argv[1]) | !check(ctlfd >= 0, "open %s", argv[2])) {
		printf("1..%d\n", ntests);
		return 1;
	}

	test_dispatch();
	test_info_hw_ip(cfd, "compute");
	test_info_common(cfd, "compute");
	test_info_compute();
	if (cfd >= 0) {
		test_debug();
		test_cb();
		test_cs();
		test_sync();
		test_gone();
		test_memory();
		test_pci_counters();
	}
	test_control();
	if (cfd >= 0)
		test_dram_release();

	printf("1..%d\n", ntests);
	if (nfail)
		diag("%d of %d cases failed", nfail, ntests);
	return nfail ? 1 : 0;
}
