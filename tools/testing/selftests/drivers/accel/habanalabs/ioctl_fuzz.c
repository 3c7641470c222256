// SPDX-License-Identifier: GPL-2.0
/*
 * A structure-aware fuzzer of the driver's ioctls: it knows each command's
 * argument, builds valid ones and then mutates one or two fields (sizes,
 * handles, queue ids, flags, pointers, padding), reuses handles after
 * they were destroyed, runs several threads on one open file, closes and
 * reopens the compute node with buffers, mappings, submissions and
 * completion queues live, and keeps mmaps of command buffers past the
 * close and touches them. The control node gets INFO with every opcode and
 * mutated sizes and pointers.
 *
 *   ioctl_fuzz [-s SEED] [-t SECONDS] [-j THREADS] /dev/hlN /dev/hl_controlDN
 *
 * Passes when every call returned (the caller bounds the time) and every
 * failure was an errno the uAPI documents; the kernel log is the caller's
 * to check. Prints kselftest TAP and a line of counts per ioctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <misc/habanalabs.h>

#define OP_NOP		0x0a
#define OP_MSG_LONG	0x03
#define OP_FENCE	0x08
#define OP_STOP		0x0b
#define OPCODE_SHIFT	24

#define MAX_THREADS	8
#define TABLE		64	/* handles remembered per kind */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum { K_INFO, K_CB, K_CS, K_WAIT, K_MEM, K_DEBUG, K_NIC, K_BAD, K_MMAP, K_NKINDS };
static const char * const kind_name[K_NKINDS] = {
	"info", "cb", "cs", "wait_cs", "memory", "debug", "nic", "bad-cmd", "mmap",
};

/* Per kind: calls, successes, unexpected errnos. */
static unsigned long ncalls[K_NKINDS], nok[K_NKINDS], nbad[K_NKINDS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* What the threads on one file share: the handles they made. */
struct live {
	__u64 cb[TABLE], mem[TABLE], va[TABLE], cq[TABLE], ts[TABLE], seq[TABLE];
	void *map[TABLE];
	size_t map_len[TABLE];
	void *host[TABLE];
	size_t host_len[TABLE];
};

static struct live live;
static int cfd = -1;
static const char *compute, *control;
static int stop_threads;	/* __atomic */
static time_t deadline;

/* xorshift64*, one state per thread */
static __thread __u64 rng_state;

static __u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static int chance(int percent)
{
	return (int)below(100) < percent;
}

/* A value for a size or count field: edges more often than not. */
static __u64 fuzz_u64(__u64 valid)
{
	static const __u64 edges[] = {
		0, 1, 7, 8, 4095, 4096, 4097, 0x200000 - 32, 0x200000, 0x7fffffff,
		0x80000000ull, 0xffffffffull, 0x100000000ull, ~0ull, ~0ull >> 1,
	};

	switch (below(4)) {
	case 0:
		return edges[below(ARRAY_SIZE(edges))];
	case 1:
		return valid ^ (1ull << below(64));
	case 2:
		return rnd();
	default:
		return valid;
	}
}

/* A user pointer: good, NULL, unmapped, kernel or unaligned. */
static __u64 fuzz_ptr(void *good)
{
	switch (below(6)) {
	case 0:
		return 0;
	case 1:
		return 0xdead0000ull;
	case 2:
		return 0xffff888000000000ull;
	case 3:
		return (__u64)(uintptr_t)good + 1;
	default:
		return (__u64)(uintptr_t)good;
	}
}

static __u64 pick(__u64 *table)
{
	__u64 v = table[below(TABLE)];

	return v && !chance(5) ? v : fuzz_u64(v);
}

static void keep(__u64 *table, __u64 v)
{
	table[below(TABLE)] = v;
}

/* The errnos the uAPI gives for bad input or a busy or failing device. */
static int expected_errno(int err)
{
	switch (err) {
	case EINVAL: case ENOTTY: case EFAULT: case EPERM: case EBUSY:
	case ENOMEM: case EOPNOTSUPP: case ENOSPC: case ENODEV: case EIO:
	case ETIMEDOUT: case EAGAIN: case EINTR: case ENOENT: case E2BIG:
	case ERANGE: case EEXIST: case ENXIO: case EBADF: case ENOLINK:
	case ENETDOWN: case ECANCELED: case EOVERFLOW: case ENOBUFS: case EMSGSIZE:
	case EADDRINUSE: case EACCES: case ENOEXEC:
		return 1;
	}
	return 0;
}

static int call(int fd, int kind, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);
	int err = errno;

	pthread_mutex_lock(&lock);
	ncalls[kind]++;
	if (ret >= 0) {
		nok[kind]++;
	} else if (!expected_errno(err)) {
		if (nbad[kind]++ < 5)
			printf("# %s: cmd %#lx: unexpected errno %d (%s)\n", kind_name[kind], cmd,
			       err, strerror(err));
	}
	pthread_mutex_unlock(&lock);
	errno = err;
	return ret;
}

/* --- the commands ---------------------------------------------------- */

static void fuzz_info(int fd)
{
	static __thread __u8 buf[8192];
	struct hl_info_args a;
	__u32 sizes[] = { 0, 1, 8, 64, 256, sizeof(buf) };

	memset(&a, 0, sizeof(a));
	a.op = chance(90) ? below(HL_INFO_ENGINE_STATUS + 2) : (__u32)rnd();
	a.return_size = sizes[below(6)];
	a.return_pointer = chance(85) ? (__u64)(uintptr_t)buf : fuzz_ptr(buf);
	if (chance(20))
		a.return_size = (__u32)fuzz_u64(a.return_size);
	if (a.return_pointer == (__u64)(uintptr_t)buf && a.return_size > sizeof(buf))
		a.return_size = sizeof(buf);
	/* REGISTER_EVENTFD with a random number would steal a descriptor. */
	if (a.op == HL_INFO_REGISTER_EVENTFD)
		a.op = HL_INFO_UNREGISTER_EVENTFD;
	a.ctx_id = chance(80) ? 0 : (__u32)rnd();
	a.pad = chance(90) ? 0 : (__u32)rnd();
	call(fd, K_INFO, HL_IOCTL_INFO, &a);
}

static void fill_cb(__u32 *p, size_t words)
{
	size_t i;

	for (i = 0; i + 1 < words; i += 2) {
		if (chance(90)) {
			p[i] = 0;
			p[i + 1] = OP_NOP << OPCODE_SHIFT;
		} else if (chance(50) && i + 3 < words) {
			/* a MSG_LONG to a random device address */
			__u64 addr = chance(50) ? rnd() : live.va[below(TABLE)] + below(4096);

			p[i] = (__u32)rnd();
			p[i + 1] = OP_MSG_LONG << OPCODE_SHIFT;
			memcpy(&p[i + 2], &addr, sizeof(addr));
			i += 2;
		} else {
			p[i] = (__u32)rnd();
			p[i + 1] = (__u32)rnd();
		}
	}
}

static void fuzz_cb(int fd)
{
	union hl_cb_args a;
	int op = below(10);

	memset(&a, 0, sizeof(a));
	if (op < 5) {
		a.in.op = HL_CB_OP_CREATE;
		a.in.cb_size = chance(80) ? 64 + below(8192) : (__u32)fuzz_u64(4096);
		a.in.flags = chance(90) ? 0 : (__u32)rnd();
		if (call(fd, K_CB, HL_IOCTL_CB, &a) == 0)
			keep(live.cb, a.out.cb_handle);
		return;
	}
	a.in.op = op < 8 ? HL_CB_OP_DESTROY : chance(90) ? HL_CB_OP_INFO : (__u32)rnd();
	a.in.cb_handle = pick(live.cb);
	a.in.flags = chance(90) ? 0 : (__u32)rnd();
	a.in.ctx_id = chance(90) ? 0 : (__u32)rnd();
	call(fd, K_CB, HL_IOCTL_CB, &a);
}

/* mmap of a CB, a CQ or a timestamp buffer, kept (maybe past close). */
static void fuzz_mmap(int fd)
{
	__u64 *tables[] = { live.cb, live.cq, live.ts };
	__u64 off = pick(tables[below(3)]);
	size_t len = chance(80) ? 4096 : (size_t)(below(4) + 1) * 4096;
	void *p;
	int slot = below(TABLE);

	pthread_mutex_lock(&lock);
	ncalls[K_MMAP]++;
	pthread_mutex_unlock(&lock);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED)
		return;
	pthread_mutex_lock(&lock);
	nok[K_MMAP]++;
	if (live.map[slot])
		munmap(live.map[slot], live.map_len[slot]);
	live.map[slot] = p;
	live.map_len[slot] = len;
	/* A CB's contents: packets, mostly valid. */
	fill_cb(p, len / 4);
	pthread_mutex_unlock(&lock);
}

static void fuzz_cs(int fd)
{
	struct hl_cs_chunk chunks[4];
	union hl_cs_args a;
	unsigned int i, n = below(4) + (chance(90) ? 1 : 0);
	static const __u32 queues[] = {
		GAUDI_QUEUE_ID_DMA_0_0, GAUDI_QUEUE_ID_DMA_1_0, GAUDI_QUEUE_ID_DMA_0_1,
		GAUDI_QUEUE_ID_DMA_5_0, GAUDI_QUEUE_ID_MME_0_0, GAUDI_QUEUE_ID_TPC_0_0,
		GAUDI_QUEUE_ID_NIC_0_0, GAUDI_QUEUE_ID_CPU_PQ, GAUDI_QUEUE_ID_SIZE,
	};

	if (n > 4)
		n = 4;
	memset(chunks, 0, sizeof(chunks));
	for (i = 0; i < n; i++) {
		chunks[i].cb_handle = pick(live.cb);
		chunks[i].queue_index = chance(90) ? queues[below(4)] : queues[below(9)];
		chunks[i].cb_size = chance(80) ? 8 * (below(8) + 1) : (__u32)fuzz_u64(64);
		if (chance(10))
			chunks[i].cs_chunk_flags = (__u32)rnd();
		if (chance(5))
			chunks[i].pad[below(10)] = 1;
	}
	memset(&a, 0, sizeof(a));
	a.in.chunks_execute = chance(95) ? (__u64)(uintptr_t)chunks : fuzz_ptr(chunks);
	a.in.num_chunks_execute = chance(95) ? n : (__u32)fuzz_u64(n);
	if (chance(15)) {
		a.in.chunks_restore = (__u64)(uintptr_t)chunks;
		a.in.num_chunks_restore = n;
	}
	if (chance(20))
		a.in.cs_flags = 1u << below(16);
	if (chance(5))
		a.in.cs_flags = (__u32)rnd();
	/*
	 * Random packets may hang an engine until the submission times out,
	 * and closing the node waits for that: short timeouts keep the rounds
	 * short (the default is minutes).
	 */
	a.in.cs_flags |= HL_CS_FLAGS_CUSTOM_TIMEOUT;
	a.in.timeout = 1 + below(2);
	if (a.in.cs_flags & (HL_CS_FLAGS_SIGNAL | HL_CS_FLAGS_WAIT)) {
		chunks[0].queue_index = queues[below(2)];
		chunks[0].signal_seq_arr = (__u64)(uintptr_t)&live.seq[below(TABLE - 4)];
		chunks[0].num_signal_seq_arr = chance(90) ? 1 : (__u32)fuzz_u64(1);
	}
	if (chance(3))
		a.in.pad[below(4)] = 1;
	if (chance(3))
		a.in.ctx_id = (__u32)rnd();
	if (call(fd, K_CS, HL_IOCTL_CS, &a) == 0)
		keep(live.seq, a.out.seq);
}

static void fuzz_wait(int fd)
{
	union hl_wait_cs_args a;
	__u64 seqs[4];
	int i;

	memset(&a, 0, sizeof(a));
	a.in.seq = pick(live.seq);
	a.in.timeout_us = chance(90) ? below(20000) : fuzz_u64(1000) % 200000;
	if (chance(10)) {
		for (i = 0; i < 4; i++)
			seqs[i] = pick(live.seq);
		a.in.flags = HL_WAIT_CS_FLAGS_MULTI_CS;
		a.in.seq = (__u64)(uintptr_t)seqs;
		a.in.seq_arr_len = chance(90) ? 1 + below(4) : (__u8)rnd();
	} else if (chance(5)) {
		a.in.flags = (__u32)rnd() & ~HL_WAIT_CS_FLAGS_MULTI_CS;
	}
	if (chance(3))
		a.in.ctx_id = (__u32)rnd();
	call(fd, K_WAIT, HL_IOCTL_WAIT_CS, &a);
}

static void fuzz_mem(int fd)
{
	union hl_mem_args a;
	int op = below(12), slot;
	size_t len;
	void *host;

	memset(&a, 0, sizeof(a));
	switch (op) {
	case 0: case 1:
		/* GAUDI's ALLOC only counts: kept is the size, FREE's argument. */
		a.in.op = HL_MEM_OP_ALLOC;
		a.in.alloc.mem_size = chance(85) ? 4096 * (below(64) + 1) : fuzz_u64(4096);
		len = a.in.alloc.mem_size;
		if (call(fd, K_MEM, HL_IOCTL_MEMORY, &a) == 0)
			keep(live.mem, len);
		return;
	case 2:
		a.in.op = HL_MEM_OP_FREE;
		a.in.free.handle = pick(live.mem);
		break;
	case 3: case 4:
		a.in.op = HL_MEM_OP_MAP;
		a.in.map_device.handle = pick(live.mem);
		a.in.map_device.hint_addr = chance(80) ? 0 : rnd();
		if (chance(5))
			a.in.flags = HL_MEM_FORCE_HINT;
		if (call(fd, K_MEM, HL_IOCTL_MEMORY, &a) == 0)
			keep(live.va, a.out.device_virt_addr);
		return;
	case 5: case 6:
		/* host memory, sometimes unmapped by the user while mapped */
		slot = below(TABLE);
		len = chance(80) ? 4096 * (below(16) + 1) : (size_t)(fuzz_u64(4096) % (8 << 20));
		if (!len)
			len = 1;
		host = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
		if (host == MAP_FAILED)
			return;
		memset(host, 0x5a, len < 4096 ? len : 4096);
		a.in.op = HL_MEM_OP_MAP;
		a.in.flags = HL_MEM_USERPTR | (chance(5) ? HL_MEM_FORCE_HINT : 0);
		a.in.map_host.host_virt_addr = chance(90) ? (__u64)(uintptr_t)host + below(64)
							  : fuzz_ptr(host);
		a.in.map_host.mem_size = chance(90) ? len - 64 : fuzz_u64(len);
		a.in.map_host.hint_addr = chance(80) ? 0 : rnd();
		if (call(fd, K_MEM, HL_IOCTL_MEMORY, &a) == 0)
			keep(live.va, a.out.device_virt_addr);
		pthread_mutex_lock(&lock);
		if (live.host[slot])
			munmap(live.host[slot], live.host_len[slot]);
		live.host[slot] = host;
		live.host_len[slot] = len;
		if (chance(20)) {
			/* gone from the process while the device maps it */
			munmap(host, len);
			live.host[slot] = NULL;
		}
		pthread_mutex_unlock(&lock);
		return;
	case 7: case 8:
		a.in.op = HL_MEM_OP_UNMAP;
		a.in.unmap.device_virt_addr = pick(live.va);
		break;
	case 9:
		a.in.op = HL_MEM_OP_TS_ALLOC;
		a.in.num_of_elements = chance(70) ? 1 + below(1024) : (__u32)fuzz_u64(512);
		if (call(fd, K_MEM, HL_IOCTL_MEMORY, &a) == 0)
			keep(live.ts, a.out.handle);
		return;
	default:
		a.in.op = chance(50) ? (__u32)below(10) : (__u32)rnd();
		a.in.flags = (__u32)rnd();
		a.in.map_host.host_virt_addr = rnd();
		a.in.map_host.mem_size = fuzz_u64(4096) % (64 << 20);
		a.in.num_of_elements = (__u32)rnd();
		break;
	}
	if (chance(5))
		a.in.ctx_id = (__u32)rnd();
	call(fd, K_MEM, HL_IOCTL_MEMORY, &a);
}

static void fuzz_debug(int fd)
{
	struct hl_debug_args a;
	__u8 buf[64];

	memset(&a, 0, sizeof(a));
	a.op = chance(80) ? below(HL_DEBUG_OP_SET_MODE + 2) : (__u32)rnd();
	a.enable = below(2);
	a.input_ptr = fuzz_ptr(buf);
	a.input_size = (__u32)fuzz_u64(sizeof(buf)) % 4096;
	a.output_ptr = fuzz_ptr(buf);
	a.output_size = a.input_size;
	call(fd, K_DEBUG, HL_IOCTL_DEBUG, &a);
}

static void fuzz_nic(int fd)
{
	union {
		struct hl_nic_alloc_conn_in alloc;
		struct hl_nic_req_conn_ctx_in req;
		struct hl_nic_res_conn_ctx_in res;
		struct hl_nic_destroy_conn_in destroy;
		struct hl_nic_cq_create_in cq;
		struct hl_nic_cq_destroy_in cq_destroy;
		struct hl_nic_cq_update_consumed_cqes_in consumed;
		struct hl_nic_cq_poll_wait_in wait;
		struct hl_nic_user_wq_arr_set_in wq;
		struct hl_nic_user_wq_arr_unset_in wq_unset;
		__u8 raw[128];
	} in;
	union {
		struct hl_nic_cq_create_out cq;
		struct hl_nic_cq_poll_wait_out wait;
		__u8 raw[128];
	} out;
	struct hl_nic_args a;
	__u32 port = chance(90) ? below(10) : (__u32)rnd();
	__u32 conn = chance(90) ? below(8) : (__u32)rnd();

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	memset(&a, 0, sizeof(a));
	a.op = chance(95) ? below(HL_NIC_OP_USER_WQ_UNSET + 1) : (__u32)rnd();
	switch (a.op) {
	case HL_NIC_OP_ALLOC_CONN:
		in.alloc.port = port;
		break;
	case HL_NIC_OP_SET_REQ_CONN_CTX:
	case HL_NIC_OP_SET_RES_CONN_CTX:
		in.req.port = port;
		in.req.conn_id = conn;
		in.req.dst_conn_id = conn;
		in.req.dst_ip_addr = (__u32)rnd();
		if (a.op == HL_NIC_OP_SET_RES_CONN_CTX) {
			memset(&in.res, 0, sizeof(in.res));
			in.res.port = port;
			in.res.conn_id = conn;
			in.res.win_addr = pick(live.va);
			in.res.win_size = fuzz_u64(4096);
		}
		break;
	case HL_NIC_OP_DESTROY_CONN:
		in.destroy.port = port;
		in.destroy.conn_id = conn;
		break;
	case HL_NIC_OP_CQ_CREATE:
		in.cq.cq_num_of_entries = chance(80) ? 1u << below(13) : (__u32)fuzz_u64(64);
		in.cq.port = port;
		break;
	case HL_NIC_OP_CQ_DESTROY:
		in.cq_destroy.handle = pick(live.cq);
		break;
	case HL_NIC_OP_CQ_WAIT:
	case HL_NIC_OP_CQ_POLL:
		in.wait.handle = pick(live.cq);
		in.wait.timeout_us = below(20000);
		in.wait.num_cqes = chance(80) ? below(4) : (__u32)rnd();
		break;
	case HL_NIC_OP_CQ_UPDATE_CONSUMED_CQES:
		in.consumed.handle = pick(live.cq);
		in.consumed.cq_num_of_consumed_entries = (__u32)fuzz_u64(1);
		break;
	case HL_NIC_OP_USER_WQ_SET:
		in.wq.port = port;
		in.wq.conn_id = conn;
		in.wq.type = chance(80) ? HL_NIC_USER_WQ_RECV : (__u32)rnd();
		in.wq.num_of_wqs = chance(80) ? 1 : (__u32)rnd();
		in.wq.num_of_wq_entries = chance(80) ? 1u << below(13) : (__u32)rnd();
		break;
	case HL_NIC_OP_USER_WQ_UNSET:
		in.wq_unset.port = port;
		in.wq_unset.conn_id = conn;
		in.wq_unset.type = HL_NIC_USER_WQ_RECV;
		break;
	default:
		memset(&in, 0xa5, sizeof(in));
		break;
	}
	a.input_ptr = chance(95) ? (__u64)(uintptr_t)&in : fuzz_ptr(&in);
	a.input_size = chance(90) ? 64 : (__u32)fuzz_u64(64);
	if (a.input_ptr == (__u64)(uintptr_t)&in && a.input_size > sizeof(in))
		a.input_size = sizeof(in);
	a.output_ptr = chance(95) ? (__u64)(uintptr_t)&out : fuzz_ptr(&out);
	a.output_size = chance(90) ? sizeof(out) : (__u32)fuzz_u64(sizeof(out));
	if (a.output_ptr == (__u64)(uintptr_t)&out && a.output_size > sizeof(out))
		a.output_size = sizeof(out);
	if (chance(3))
		a.ctx_id = (__u32)rnd();
	if (call(fd, K_NIC, HL_IOCTL_NIC, &a) == 0 && a.op == HL_NIC_OP_CQ_CREATE)
		keep(live.cq, out.cq.handle);
}

/* A command number the driver does not have, or has with other bits. */
static void fuzz_bad(int fd)
{
	__u8 buf[256];
	unsigned long cmd;

	memset(buf, 0, sizeof(buf));
	switch (below(4)) {
	case 0:
		cmd = _IOC(_IOC_READ | _IOC_WRITE, 'H', below(16), below(sizeof(buf)));
		break;
	case 1:
		cmd = _IOC(below(4), 'H', 1 + below(7), below(sizeof(buf)));
		break;
	case 2:
		cmd = _IOC(_IOC_READ | _IOC_WRITE, below(256), 1 + below(7), 64);
		break;
	default:
		cmd = (unsigned long)(__u32)rnd();
		break;
	}
	call(fd, K_BAD, cmd, buf);
}

static void fuzz_poll(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, 0);
}

/* The commands, as often as they appear here. */
static void (* const ops[])(int fd) = {
	fuzz_info, fuzz_info, fuzz_cb, fuzz_cb, fuzz_cb, fuzz_cs, fuzz_cs, fuzz_cs,
	fuzz_wait, fuzz_wait, fuzz_mem, fuzz_mem, fuzz_mem, fuzz_debug, fuzz_nic, fuzz_nic,
	fuzz_bad, fuzz_mmap, fuzz_mmap, fuzz_poll,
};

static void *thread_main(void *arg)
{
	rng_state = (__u64)(uintptr_t)arg;
	while (!__atomic_load_n(&stop_threads, __ATOMIC_RELAXED))
		ops[below(ARRAY_SIZE(ops))](cfd);
	return NULL;
}

/*
 * Touches every mapping kept past close, then lets them go: they hold the
 * file, whose release (and the node's next open) waits for the last one.
 */
static void touch_maps(void)
{
	__u8 *p;
	int i;

	for (i = 0; i < TABLE; i++) {
		p = live.map[i];
		if (!p)
			continue;
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
		munmap(live.map[i], live.map_len[i]);
		live.map[i] = NULL;
	}
}

static int open_compute(void)
{
	int i, fd;

	/*
	 * The compute node has one user; the previous file may still be
	 * closing (waiting for its submissions to end or time out).
	 */
	for (i = 0; i < 1200; i++) {
		fd = open(compute, O_RDWR);
		if (fd >= 0 || errno != EBUSY)
			return fd;
		usleep(50000);
	}
	return -1;
}

int main(int argc, char **argv)
{
	unsigned long seed = (unsigned long)time(NULL), seconds = 20, nthreads = 4;
	unsigned long rounds = 0, total = 0, bad = 0;
	pthread_t threads[MAX_THREADS];
	int opt, i, k, ctl, fails = 0;

	while ((opt = getopt(argc, argv, "s:t:j:")) != -1) {
		if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
		else if (opt == 't')
			seconds = strtoul(optarg, NULL, 0);
		else if (opt == 'j')
			nthreads = strtoul(optarg, NULL, 0);
		else
			goto usage;
	}
	if (argc - optind != 2 || !nthreads || nthreads > MAX_THREADS)
		goto usage;
	compute = argv[optind];
	control = argv[optind + 1];
	signal(SIGPIPE, SIG_IGN);
	rng_state = seed * 2654435761u + 1;
	printf("# %s: seed %lu, %lu s, %lu threads\n", compute, seed, seconds, nthreads);

	ctl = open(control, O_RDWR);
	if (ctl < 0) {
		printf("not ok 1 %s: open: %s\n", control, strerror(errno));
		return 1;
	}
	deadline = time(NULL) + seconds;
	while (time(NULL) < deadline) {
		cfd = open_compute();
		if (cfd < 0) {
			printf("# %s: open: %s\n", compute, strerror(errno));
			fails++;
			break;
		}
		__atomic_store_n(&stop_threads, 0, __ATOMIC_RELAXED);
		for (i = 0; i < (int)nthreads; i++)
			pthread_create(&threads[i], NULL, thread_main,
				       (void *)(uintptr_t)(rnd() | 1));
		/* The control node meanwhile, from this thread. */
		for (i = 0; i < 200 && time(NULL) < deadline; i++) {
			fuzz_info(ctl);
			if (chance(5))
				fuzz_bad(ctl);
			if (chance(2)) {
				/* CB on the control node: ENOTTY */
				union hl_cb_args a = { .in.op = HL_CB_OP_CREATE, .in.cb_size = 64 };

				call(ctl, K_CB, HL_IOCTL_CB, &a);
			}
			usleep(below(2000));
		}
		__atomic_store_n(&stop_threads, 1, __ATOMIC_RELAXED);
		for (i = 0; i < (int)nthreads; i++)
			pthread_join(threads[i], NULL);
		/* Close with everything live; the mappings stay. */
		close(cfd);
		touch_maps();
		memset(live.cb, 0, sizeof(live.cb));
		if (chance(50))
			memset(live.seq, 0, sizeof(live.seq));
		rounds++;
	}
	for (i = 0; i < TABLE; i++) {
		if (live.map[i])
			munmap(live.map[i], live.map_len[i]);
		if (live.host[i])
			munmap(live.host[i], live.host_len[i]);
	}
	close(ctl);

	for (k = 0; k < K_NKINDS; k++) {
		printf("# %-8s %8lu calls, %8lu succeeded, %lu unexpected errnos\n", kind_name[k],
		       ncalls[k], nok[k], nbad[k]);
		total += ncalls[k];
		bad += nbad[k];
	}
	printf("# %lu calls in %lu rounds (opens of the compute node)\n", total, rounds);
	printf("%s 1 %s: %lu calls in %lu rounds, every failure a documented errno\n",
	       bad || fails || !total ? "not ok" : "ok", compute, total, rounds);
	printf("1..1\n");
	return bad || fails || !total;
usage:
	fprintf(stderr, "usage: %s [-s SEED] [-t SECONDS] [-j THREADS] COMPUTE CONTROL\n",
		argv[0]);
	return 2;
}
