/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * habanalabs-rs: the uAPI of GAUDI-class accelerators.
 *
 * Each device has two character devices:
 *  /dev/hlN            the compute node: one open file at a time (a second
 *                      open gets EBUSY); every ioctl below.
 *  /dev/hl_controlDN   the control node: any number of readers; INFO only.
 *
 * Every ioctl argument is a fixed-size struct with explicit padding that
 * must be zero. The driver copies in as many bytes as the caller's struct
 * has (the size encoded in the ioctl number), zero-filling the rest, and
 * copies out as many as both know, so structs may grow at their end; bytes
 * past the driver's struct are ignored.
 *
 * Errors common to every ioctl: ENOTTY for an unknown command, EACCES for
 * a command other than INFO on the control node, EFAULT for a bad pointer,
 * EINVAL for an unknown op, a non-zero padding or reserved field or flag,
 * or an argument out of the ranges stated below, ENODEV once the device is
 * gone (the driver unbound while the file was open).
 */
#ifndef _UAPI_MISC_HABANALABS_H_
#define _UAPI_MISC_HABANALABS_H_

#include <linux/ioctl.h>
#include <linux/types.h>

/* Queues: the engine behind each QMAN. */
#define HL_QUEUE_DMA_0		0
#define HL_QUEUE_DMA_1		1
#define HL_QUEUE_TPC_0		2
#define HL_QUEUE_TPC_1		3
#define HL_QUEUE_COUNT		4	/* compute queues */
/* Port p's NIC QMAN (RDMA, see NIC below) is queue HL_QUEUE_NIC_0 + p. */
#define HL_QUEUE_NIC_0		16

#define HL_MAX_PORTS		10

/* Device address space (see the device's spec). */
#define HL_SYNC_MNGR_BASE	0x0000000010000000ull
#define HL_DRAM_BASE		0x0000000100000000ull
#define HL_HOST_VA_BASE		0x8000000000000000ull

/* ----------------------------------------------------------------- INFO */

#define HL_INFO_HW_IP_INFO	0
#define HL_INFO_HW_EVENTS	1
#define HL_INFO_DRAM_USAGE	2
#define HL_INFO_DEVICE_STATUS	3
#define HL_INFO_CLK_RATE	4
#define HL_INFO_MAC_ADDR	5

struct hl_info_hw_ip_info {
	__u64 serial;
	__u64 dram_base_address;	/* HL_DRAM_BASE */
	__u64 dram_size;		/* bytes */
	__u32 device_id;		/* chip: 0x1000 GAUDI-sim */
	__u32 revision;
	__u32 model_version;		/* [31:16] major, [15:0] minor */
	__u32 queue_count;		/* HL_QUEUE_COUNT */
	__u32 dma_enabled_mask;		/* bit per DMA engine */
	__u32 tpc_enabled_mask;		/* bit per TPC engine */
	__u32 port_mask;		/* bit per NIC port */
	__u32 pad;
	char card_name[32];		/* NUL-terminated */
	__u32 nic_conns_per_port;	/* RDMA connections; 0: no RDMA */
	__u32 nic_cqs_per_port;		/* RDMA completion queues */
};

/* Causes, as the device reports them (index of hl_info_hw_events). */
#define HL_EVENT_BAD_OPCODE	1
#define HL_EVENT_BAD_ADDRESS	2
#define HL_EVENT_BAD_PACKET	3
#define HL_EVENT_MMU_FAULT	4
#define HL_EVENT_FENCE_TIMEOUT	5
#define HL_EVENT_NOT_SUPPORTED	6
#define HL_EVENT_BAD_KERNEL	7
#define HL_EVENT_COUNT		8

/* Events the device reported since the driver bound, by cause. */
struct hl_info_hw_events {
	__u64 count[HL_EVENT_COUNT];	/* [0]: unknown causes */
	__u64 lost;			/* events the device had to drop */
};

struct hl_info_dram_usage {
	__u64 dram_free_mem;		/* bytes not allocated by anyone */
	__u64 ctx_dram_mem;		/* bytes the compute user allocated */
};

#define HL_DEVICE_STATUS_OPERATIONAL	0
#define HL_DEVICE_STATUS_IN_RESET	1
#define HL_DEVICE_STATUS_MALFUNCTION	2

struct hl_info_device_status {
	__u32 status;
	__u32 pad;
};

struct hl_info_clk_rate {
	__u32 cur_clk_rate_mhz;
	__u32 max_clk_rate_mhz;
};

struct hl_info_mac_addr {
	__u64 port_mask;		/* ports with an address below */
	__u8 addr[HL_MAX_PORTS][8];	/* 6 bytes each, 2 of padding */
};

/*
 * Fills the buffer at return_pointer (return_size bytes, at most the size
 * of the op's struct are written) with the op's struct.
 */
struct hl_info_args {
	__u64 return_pointer;
	__u32 return_size;
	__u32 op;
};

/* ------------------------------------------------------------------- CB */

#define HL_CB_OP_CREATE		0
#define HL_CB_OP_DESTROY	1

#define HL_MAX_CB_SIZE		(2u << 20)

/*
 * A command buffer is host memory the driver owns and the device reads
 * packets from. CREATE returns a handle, a multiple of the page size, which
 * is also the offset to pass to mmap() on the compute node to write the
 * packets (the mapping is read-write, cb_size rounded up to pages; a longer
 * mapping is EINVAL). A user holds at most 1024 CBs (ENOSPC). DESTROY
 * succeeds at once (EINVAL for an unknown handle); the memory lives on
 * while a submission or a mapping uses it.
 */
struct hl_cb_in {
	__u64 cb_handle;		/* DESTROY */
	__u32 op;
	__u32 cb_size;			/* CREATE: 8 to HL_MAX_CB_SIZE */
	__u32 flags;			/* 0 */
	__u32 pad;
};

struct hl_cb_out {
	__u64 cb_handle;
};

union hl_cb_args {
	struct hl_cb_in in;
	struct hl_cb_out out;
};

/* ------------------------------------------------------------------- CS */

/* One job: the first cb_size bytes of a CB, run by a queue's engine. */
struct hl_cs_chunk {
	__u64 cb_handle;
	__u32 queue_index;		/* HL_QUEUE_* */
	__u32 cb_size;			/* a multiple of 8, 8 to the CB's size */
	__u32 cs_chunk_flags;		/* 0 */
	__u32 pad;
};

#define HL_MAX_JOBS_PER_CS	64

/*
 * timeout_ms (1 to HL_CS_MAX_TIMEOUT_MS) applies; without the flag it is
 * ignored and the timeout is HL_CS_DEFAULT_TIMEOUT_MS.
 */
#define HL_CS_FLAGS_CUSTOM_TIMEOUT	0x1
#define HL_CS_DEFAULT_TIMEOUT_MS	5000
#define HL_CS_MAX_TIMEOUT_MS		60000

/*
 * Submits the jobs, which run concurrently on their queues (jobs on the
 * same queue run in order). The submission is queued whole or not at all:
 * EBUSY if a queue it uses is full (256 jobs in flight). It completes when
 * all its jobs have; if it takes longer than its timeout, the driver resets
 * the queues it used (aborting whatever else they held) and it fails with
 * HL_WAIT_CS_STATUS_TIMEDOUT.
 */
struct hl_cs_in {
	__u64 chunks_execute;		/* user pointer to hl_cs_chunk[] */
	__u32 num_chunks_execute;	/* 1 to HL_MAX_JOBS_PER_CS */
	__u32 cs_flags;
	__u32 timeout_ms;
	__u32 pad;
};

struct hl_cs_out {
	__u64 seq;			/* to wait for */
};

union hl_cs_args {
	struct hl_cs_in in;
	struct hl_cs_out out;
};

/* -------------------------------------------------------------- WAIT_CS */

#define HL_WAIT_CS_STATUS_COMPLETED	0	/* all jobs succeeded */
#define HL_WAIT_CS_STATUS_BUSY		1	/* wait timed out */
#define HL_WAIT_CS_STATUS_TIMEDOUT	2	/* the CS timed out */
#define HL_WAIT_CS_STATUS_ABORTED	3	/* a job failed */

struct hl_wait_cs_in {
	__u64 seq;
	__u64 timeout_us;		/* 0: just look */
};

/*
 * Returns 0 with the outcome in status (EINVAL for seq 0 or a seq not yet
 * issued; EINTR if a signal arrived first). The error fields are set for
 * ABORTED only (cause 0: the job's queue was reset under it), and are 0
 * otherwise. The outcome of the 1024 most recent submissions is kept;
 * older ones report COMPLETED.
 */
struct hl_wait_cs_out {
	__u32 status;			/* HL_WAIT_CS_STATUS_* */
	__u32 error;			/* ABORTED: HL_EVENT_* cause */
	__u32 failed_queue;		/* ABORTED: the queue that failed */
	__u32 error_info;		/* ABORTED: offset of the packet */
};

union hl_wait_cs_args {
	struct hl_wait_cs_in in;
	struct hl_wait_cs_out out;
};

/* --------------------------------------------------------------- MEMORY */

#define HL_MEM_OP_ALLOC		0	/* device memory */
#define HL_MEM_OP_FREE		1
#define HL_MEM_OP_MAP		2	/* device memory, or host with USERPTR */
#define HL_MEM_OP_UNMAP		3

#define HL_MEM_USERPTR		0x1

/*
 * ALLOC reserves device memory (rounded up to 4 KiB; ENOMEM when none is
 * left) and returns a handle; MAP of that handle returns its device address
 * (the same address if already mapped). MAP with HL_MEM_USERPTR pins the
 * caller's memory (a page-aligned address, a size rounded up to pages, at
 * most HL_MAX_HOST_MAP bytes) and returns the device address, in the host
 * region, engines reach it at. UNMAP takes an address MAP returned; for
 * host memory it is EBUSY while a submission runs. FREE takes the handle
 * and is EBUSY while it is mapped. Unknown handles and addresses are
 * EINVAL. Closing the compute node releases everything.
 */
#define HL_MAX_HOST_MAP		(1ull << 30)

struct hl_mem_in {
	union {
		struct {
			__u64 mem_size;
		} alloc;
		struct {
			__u64 handle;
		} free;
		struct {
			__u64 handle;
		} map_device;
		struct {
			__u64 host_virt_addr;
			__u64 mem_size;
		} map_host;
		struct {
			__u64 device_virt_addr;
		} unmap;
	};
	__u32 op;
	__u32 flags;
};

struct hl_mem_out {
	union {
		__u64 device_virt_addr;	/* MAP */
		__u64 handle;		/* ALLOC */
	};
};

union hl_mem_args {
	struct hl_mem_in in;
	struct hl_mem_out out;
};

/* ------------------------------------------------------------------ NIC */

/*
 * GAUDI-to-GAUDI RDMA. Each port in port_mask has nic_conns_per_port
 * connections and nic_cqs_per_port completion queues (hl_info_hw_ip_info),
 * numbered from 0 at each port. The compute context allocates them; they
 * are its own until it destroys them or closes the compute node, which
 * tears everything down (after its submissions end). A connection, CQ or
 * port this context did not allocate or that does not exist is EINVAL;
 * a device without RDMA gives EOPNOTSUPP.
 *
 * Data moves by NIC packets (NIC_WRITE, NIC_SEND, NIC_RECV: see the
 * device's spec) in jobs on the port's NIC QMAN, queue HL_QUEUE_NIC_0 +
 * port, submitted with HL_IOCTL_CS like any job. They name the connection,
 * the CQ of their completion and the SOB to increment on success. The
 * port's Ethernet interface must be up: on a port that is down or has no
 * link, operations complete with HL_NIC_CQE_STATUS_LINK_DOWN.
 *
 * ALLOC_CONN       returns the lowest free connection of the port (ENOSPC
 *                  if none).
 * SET_REQ_CONN_CTX the requester side of conn_id: the peer (the port at
 *                  the other end of this port's link) by MAC and IPv4
 *                  address, and its connection. Once per connection
 *                  (EBUSY after).
 * SET_RES_CONN_CTX the responder side: the peer's connection that may
 *                  reach this one, and the window of this context's
 *                  device memory it may write (NIC_WRITE). Its receive
 *                  queue for NIC_SEND is the one USER_WQ_SET gave the
 *                  connection, if any. Once per connection (EBUSY after).
 * DESTROY_CONN     resets both sides (operations on them fail) and frees
 *                  the connection.
 * USER_WQ_SET      gives conn_id a receive queue of num_entries (a power
 *                  of two, 2 to HL_NIC_MAX_ENTRIES) buffers that NIC_RECV
 *                  packets post; only before SET_RES_CONN_CTX and if it
 *                  has none (EBUSY).
 * USER_WQ_UNSET    takes it away (EINVAL if none); likewise only before
 *                  SET_RES_CONN_CTX.
 * CQ_CREATE        returns the lowest free CQ of the port (ENOSPC if none)
 *                  with num_entries (a power of two, 2 to
 *                  HL_NIC_MAX_ENTRIES) entries of struct hl_nic_cqe, and
 *                  the offset and length to mmap() it (read-write, to
 *                  clear READY). Entries are produced in ring order.
 * CQ_DESTROY       stops the CQ (what would complete on it is lost) and
 *                  frees it; a mapping keeps its memory.
 * CQ_WAIT          waits up to timeout_us (0: just look) until at least
 *                  num_cqes (1 to num_entries) entries are produced and
 *                  not yet consumed; returns how many there are, whether
 *                  enough came (COMPLETED) or not (BUSY), and how many
 *                  entries the device dropped because the ring was full
 *                  since the CQ was created. EINTR on a signal.
 * CQ_UPDATE_CONSUMED
 *                  consumes num_cqes (1 to the number produced and not
 *                  yet consumed) entries: their slots may be reused. The
 *                  consumer clears HL_NIC_CQE_READY of each entry first.
 *
 * poll(2) and epoll on the compute node report POLLIN while a CQ of the
 * context has entries not yet consumed, POLLERR | POLLHUP once the device
 * is being removed. ALLOC_CONN and CQ_CREATE fail with EIO when a
 * connection or CQ of an earlier user failed to reset at its close (the
 * device may still use it), until the device is bound again.
 */
#define HL_NIC_OP_ALLOC_CONN		0
#define HL_NIC_OP_SET_REQ_CONN_CTX	1
#define HL_NIC_OP_SET_RES_CONN_CTX	2
#define HL_NIC_OP_DESTROY_CONN		3
#define HL_NIC_OP_USER_WQ_SET		4
#define HL_NIC_OP_USER_WQ_UNSET		5
#define HL_NIC_OP_CQ_CREATE		6
#define HL_NIC_OP_CQ_DESTROY		7
#define HL_NIC_OP_CQ_WAIT		8
#define HL_NIC_OP_CQ_UPDATE_CONSUMED	9

#define HL_NIC_MAX_ENTRIES		4096

/*
 * The peer: a unicast MAC, an IPv4 address in network byte order that is
 * not 0.0.0.0, loopback (127/8), multicast or broadcast, and a connection
 * below nic_conns_per_port. The device routes by MAC (its links are point
 * to point); real hardware would put the address in its RoCE headers.
 */
struct hl_nic_peer {
	__u8 mac[6];
	__u16 pad;
	__u32 ip;
	__u32 conn_id;
};

/*
 * The responder's window: win_addr and win_size multiples of 4 KiB, the
 * window inside one block of device memory this context allocated (which
 * it cannot free meanwhile: EBUSY); win_size 0 refuses every NIC_WRITE.
 */
struct hl_nic_res_ctx {
	struct hl_nic_peer peer;
	__u64 win_addr;
	__u64 win_size;
};

struct hl_nic_in {
	__u32 op;
	__u32 port;
	__u32 conn_id;		/* SET_*, DESTROY_CONN, USER_WQ_* */
	__u32 cq_id;		/* CQ_DESTROY, CQ_WAIT, CQ_UPDATE_CONSUMED */
	union {
		struct hl_nic_peer req;		/* SET_REQ_CONN_CTX */
		struct hl_nic_res_ctx res;	/* SET_RES_CONN_CTX */
		struct {
			__u32 num_entries;
			__u32 pad;
		} wq_set, cq_create;
		struct {
			__u32 num_cqes;
			__u32 pad;
			__u64 timeout_us;
		} cq_wait;
		struct {
			__u32 num_cqes;
			__u32 pad;
		} cq_update;
	};
	__u32 flags;		/* 0 */
	__u32 pad;
};

#define HL_NIC_CQ_WAIT_STATUS_COMPLETED	0
#define HL_NIC_CQ_WAIT_STATUS_BUSY	1

struct hl_nic_out {
	union {
		struct {
			__u32 conn_id;
			__u32 pad;
		} alloc_conn;
		struct {
			__u32 cq_id;
			__u32 pad;
			__u64 mmap_handle;	/* mmap() offset */
			__u64 mmap_size;	/* bytes, whole pages */
		} cq_create;
		struct {
			__u32 num_cqes;		/* produced, not consumed */
			__u32 status;		/* HL_NIC_CQ_WAIT_STATUS_* */
			__u64 lost;		/* dropped on a full ring */
		} cq_wait;
	};
};

union hl_nic_args {
	struct hl_nic_in in;
	struct hl_nic_out out;
};

/*
 * A completion queue entry, as the device writes it: READY, then the
 * operation, its status (the syndrome of a failure), the connection, the
 * bytes that reached the destination and the packet's wr_id.
 */
struct hl_nic_cqe {
	__u32 ctl;
	__u32 len;
	__u32 wr_id;
	__u32 pad;
};

#define HL_NIC_CQE_READY		0x80000000u
#define HL_NIC_CQE_OPCODE(ctl)		(((ctl) >> 24) & 0xf)
#define HL_NIC_CQE_STATUS(ctl)		(((ctl) >> 16) & 0xff)
#define HL_NIC_CQE_CONN(ctl)		((ctl) & 0xffff)

#define HL_NIC_CQE_OP_WRITE		1
#define HL_NIC_CQE_OP_SEND		2
#define HL_NIC_CQE_OP_RECV		3

#define HL_NIC_CQE_STATUS_OK		0
#define HL_NIC_CQE_STATUS_BAD_CONN	1	/* not set up, or destroyed */
#define HL_NIC_CQE_STATUS_LINK_DOWN	2
#define HL_NIC_CQE_STATUS_WRONG_PEER	3	/* the MAC is not the peer's */
#define HL_NIC_CQE_STATUS_REMOTE_ACCESS	4	/* the responder refused */
#define HL_NIC_CQE_STATUS_RNR		5	/* no receive buffer in 1 s */
#define HL_NIC_CQE_STATUS_RQ_FULL	6

/* --------------------------------------------------------------- ioctls */

#define HL_IOCTL_INFO		_IOWR('H', 0x01, struct hl_info_args)
#define HL_IOCTL_CB		_IOWR('H', 0x02, union hl_cb_args)
#define HL_IOCTL_CS		_IOWR('H', 0x03, union hl_cs_args)
#define HL_IOCTL_WAIT_CS	_IOWR('H', 0x04, union hl_wait_cs_args)
#define HL_IOCTL_MEMORY		_IOWR('H', 0x05, union hl_mem_args)
#define HL_IOCTL_NIC		_IOWR('H', 0x06, union hl_nic_args)

#define HL_COMMAND_START	0x01
#define HL_COMMAND_END		0x07	/* one past the last */

#endif /* _UAPI_MISC_HABANALABS_H_ */
