// SPDX-License-Identifier: GPL-2.0
/*
 * hlthunk-c-smoke: libhlthunk from C, with nothing but include/hlthunk.h
 * and the uAPI header, as a program written for HabanaLabs' hl-thunk
 * would call it: INFO on both nodes, then LIN_DMA from (unaligned) host
 * memory to device memory and back, a job that aborts, and the RDMA calls
 * on one device: connections, a receive queue, a CQ that takes the error
 * completion of a WRITE on a connection never set up. TAP on stdout; exit
 * status 0 pass, 1 fail, 4 skip (no device).
 *
 *   hlthunk-c-smoke [INDEX]   device INDEX (default: the first free one)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hlthunk.h>

#define DMA_SIZE	65537u
#define CB_SIZE		4096u
#define WAIT_US		(30 * 1000 * 1000ull)

/* Packets, as the device's spec encodes them (on a little-endian host). */
#define PKT_CTL(op)	((uint32_t)(op) << 24)
#define OP_LIN_DMA	0x09
#define OP_NIC_WRITE	0x1c
#define NIC_CQE		(1u << 11)	/* a CQE on success too */
#define NIC_PORT	0

struct lin_dma_pkt {
	uint32_t tsize;
	uint32_t ctl;
	uint64_t src;
	uint64_t dst;
};

struct nic_write_pkt {
	uint32_t len;
	uint32_t ctl;
	uint32_t conn;			/* [15:0] connection, [23:16] CQ */
	uint32_t wr_id;
	uint64_t src;
	uint64_t dst;
};

static int ntests, nfailed;

static int check(int ok, const char *what, int rc)
{
	ntests++;
	if (ok) {
		printf("ok %d %s\n", ntests, what);
	} else {
		nfailed++;
		printf("not ok %d %s\n", ntests, what);
		if (rc < 0)
			printf("# %s\n", strerror(-rc));
	}
	return ok;
}

static int finish(void)
{
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}

static void *page_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void info(int fd)
{
	struct hlthunk_hw_ip_info hw, hw_ctl;
	struct hlthunk_dram_usage_info dram;
	struct hlthunk_engines_idle_info idle;
	struct hlthunk_reset_count_info resets;
	struct hl_info_mac_addr macs;
	struct hl_info_args args;
	uint32_t cur, max, *events;
	uint64_t head[3] = { 0 };
	char busid[16];
	int ctl, rc;

	rc = hlthunk_get_hw_ip_info(fd, &hw);
	check(rc == 0 && hw.dram_base_address == HL_DRAM_BASE &&
	      hw.dram_size != 0 && hw.num_of_events == 663 /* GAUDI_EVENT_SIZE */,
	      "hlthunk_get_hw_ip_info", rc);
	check(hlthunk_get_device_name_from_fd(fd) == HLTHUNK_DEVICE_GAUDI,
	      "hlthunk_get_device_name_from_fd: GAUDI", -errno);
	check(hlthunk_get_device_id_from_fd(fd) == hw.device_id,
	      "hlthunk_get_device_id_from_fd", -errno);

	memset(&args, 0, sizeof(args));
	args.op = HL_INFO_HW_IP_INFO;
	args.return_pointer = (uintptr_t)head;
	args.return_size = sizeof(head);
	rc = hlthunk_get_info(fd, &args);
	check(rc == 0 && head[1] == hw.dram_base_address &&
	      head[2] == hw.dram_size, "hlthunk_get_info", rc);

	rc = hlthunk_get_dram_usage(fd, &dram);
	check(rc == 0 && dram.dram_free_mem <= hw.dram_size,
	      "hlthunk_get_dram_usage", rc);
	rc = (int)hlthunk_get_device_status_info(fd);
	check(rc == HL_DEVICE_STATUS_OPERATIONAL,
	      "hlthunk_get_device_status_info", rc);
	check(hlthunk_is_device_idle(fd), "hlthunk_is_device_idle", -errno);
	rc = hlthunk_get_busy_engines_mask(fd, &idle);
	check(rc == 0 && idle.is_idle, "hlthunk_get_busy_engines_mask", rc);
	rc = hlthunk_get_clk_rate(fd, &cur, &max);
	check(rc == 0 && max != 0 && cur <= max, "hlthunk_get_clk_rate", rc);
	rc = hlthunk_get_reset_count_info(fd, &resets);
	check(rc == 0, "hlthunk_get_reset_count_info", rc);
	events = calloc(hw.num_of_events, sizeof(*events));
	rc = events ? hlthunk_get_hw_events_arr(fd, false,
			hw.num_of_events * sizeof(*events), events) : -ENOMEM;
	check(rc == 0, "hlthunk_get_hw_events_arr", rc);
	free(events);

	memset(&args, 0, sizeof(args));
	args.op = HL_INFO_MAC_ADDR;
	args.return_pointer = (uintptr_t)&macs;
	args.return_size = sizeof(macs);
	rc = hlthunk_get_info(fd, &args);
	check(rc == 0, "hlthunk_get_info HL_INFO_MAC_ADDR", rc);

	rc = hlthunk_get_pci_bus_id_from_fd(fd, busid, sizeof(busid));
	if (!check(rc == 0, "hlthunk_get_pci_bus_id_from_fd", rc))
		return;
	printf("# device at %s\n", busid);
	check(hlthunk_get_device_index_from_pci_bus_id(busid) >= 0,
	      "hlthunk_get_device_index_from_pci_bus_id", 0);
	rc = hlthunk_open(HLTHUNK_DEVICE_DONT_CARE, busid);
	check(rc == -EBUSY, "a second hlthunk_open of the device: -EBUSY", rc);
	if (rc >= 0)
		hlthunk_close(rc);

	ctl = hlthunk_open_control(0, busid);
	if (!check(ctl >= 0, "hlthunk_open_control", ctl))
		return;
	rc = hlthunk_get_hw_ip_info(ctl, &hw_ctl);
	/* Field by field: the struct has holes that nobody writes. */
	check(rc == 0 && hw.device_id == hw_ctl.device_id &&
	      hw.dram_base_address == hw_ctl.dram_base_address &&
	      hw.dram_size == hw_ctl.dram_size &&
	      hw.sram_size == hw_ctl.sram_size &&
	      !memcmp(hw.card_name, hw_ctl.card_name, sizeof(hw.card_name)) &&
	      !memcmp(hw.cpucp_version, hw_ctl.cpucp_version,
		      sizeof(hw.cpucp_version)),
	      "the control node reports the same identity", rc);
	rc = hlthunk_request_command_buffer(ctl, CB_SIZE, &(uint64_t){ 0 });
	check(rc == -ENOTTY,
	      "the control node refuses a command buffer: -ENOTTY", rc);
	check(hlthunk_close(ctl) == 0, "hlthunk_close of the control node", 0);
}

/* Submits one job of cb_size bytes on queue, with a timeout if not 0. */
static int submit(int fd, uint32_t queue, uint64_t cb, uint32_t cb_size,
		  uint32_t timeout, uint64_t *seq)
{
	struct hl_cs_chunk chunk;
	struct hlthunk_cs_in in = {
		.chunks_execute = &chunk,
		.num_chunks_execute = 1,
	};
	struct hlthunk_cs_out out;
	int rc;

	memset(&chunk, 0, sizeof(chunk));
	chunk.cb_handle = cb;
	chunk.queue_index = queue;
	chunk.cb_size = cb_size;
	if (timeout)
		rc = hlthunk_command_submission_timeout(fd, &in, &out, timeout);
	else
		rc = hlthunk_command_submission(fd, &in, &out);
	*seq = out.seq;
	return rc ? rc : (int)out.status;
}

static void dma(int fd)
{
	uint8_t *src = page_alloc(DMA_SIZE + 1), *dst = page_alloc(DMA_SIZE);
	struct hlthunk_dram_usage_info before, during;
	struct hlthunk_hw_ip_info hw;
	uint64_t handle, dram, src_va, dst_va, cb, seq, stamp = 0;
	struct lin_dma_pkt *pkt;
	uint32_t status;
	uint32_t i;
	int rc, alloc_errno;

	if (!check(src && dst, "host buffers", -errno))
		return;
	/* Host memory need not be page aligned. */
	src++;
	for (i = 0; i < DMA_SIZE; i++)
		src[i] = (uint8_t)(i * 7 + 1);

	/*
	 * GAUDI's DRAM has no virtual memory: an allocation is only counted
	 * (handle 0), and the user addresses DRAM from dram_base_address on.
	 */
	rc = hlthunk_get_hw_ip_info(fd, &hw);
	dram = hw.dram_base_address;
	check(rc == 0 && dram != 0 && hw.dram_size >= DMA_SIZE,
	      "hlthunk_get_hw_ip_info: the user's DRAM", rc);
	rc = hlthunk_get_dram_usage(fd, &before);
	errno = EIO;
	handle = hlthunk_device_memory_alloc(fd, DMA_SIZE, 0, true, false);
	alloc_errno = errno;
	rc = rc ? rc : hlthunk_get_dram_usage(fd, &during);
	check(rc == 0 && handle == 0 && alloc_errno == 0 &&
	      during.ctx_dram_mem == before.ctx_dram_mem + DMA_SIZE,
	      "hlthunk_device_memory_alloc: handle 0, the bytes counted", rc);
	errno = 0;
	check(hlthunk_device_memory_map(fd, handle, 0) == 0 && errno == EINVAL,
	      "hlthunk_device_memory_map of a device handle: EINVAL", -errno);
	src_va = hlthunk_host_memory_map(fd, src, 0, DMA_SIZE);
	dst_va = hlthunk_host_memory_map(fd, dst, 0, DMA_SIZE);
	check(src_va && dst_va, "hlthunk_host_memory_map", -errno);

	rc = hlthunk_request_command_buffer(fd, CB_SIZE, &cb);
	if (!check(rc == 0, "hlthunk_request_command_buffer", rc))
		return;
	pkt = hlthunk_cb_mmap(fd, CB_SIZE, cb);
	if (check(pkt != NULL, "hlthunk_cb_mmap", -errno)) {
		pkt[0] = (struct lin_dma_pkt){ DMA_SIZE, PKT_CTL(OP_LIN_DMA),
					       src_va, dram };
		pkt[1] = (struct lin_dma_pkt){ DMA_SIZE, PKT_CTL(OP_LIN_DMA),
					       dram, dst_va };
		rc = submit(fd, GAUDI_QUEUE_ID_DMA_0_0, cb, 2 * sizeof(*pkt), 0, &seq);
		check(rc == HL_CS_STATUS_SUCCESS, "hlthunk_command_submission", rc);
		rc = hlthunk_wait_for_cs(fd, seq, WAIT_US, &status);
		check(rc == 0 && status == HL_WAIT_CS_STATUS_COMPLETED,
		      "hlthunk_wait_for_cs: host -> device -> host completed", rc);
		check(!memcmp(src, dst, DMA_SIZE), "the copy is exact", 0);
		rc = hlthunk_wait_for_cs_with_timestamp(fd, seq, 0, &status, &stamp);
		check(rc == 0 && status == HL_WAIT_CS_STATUS_COMPLETED,
		      "hlthunk_wait_for_cs_with_timestamp", rc);

		/* An unknown opcode, 0x1f, after one good packet. */
		memset(&pkt[1], 0, sizeof(pkt[1]));
		pkt[1].ctl = PKT_CTL(0x1f);
		rc = submit(fd, GAUDI_QUEUE_ID_DMA_0_0, cb, sizeof(*pkt) + 8, 5, &seq);
		check(rc == 0, "hlthunk_command_submission_timeout", rc);
		rc = hlthunk_wait_for_cs(fd, seq, WAIT_US, &status);
		check(rc == -EIO && status == HL_WAIT_CS_STATUS_ABORTED,
		      "hlthunk_wait_for_cs: a bad opcode aborts: -EIO, ABORTED",
		      rc);
		check(hlthunk_cb_munmap(pkt, CB_SIZE) == 0, "hlthunk_cb_munmap", -errno);
	}
	rc = hlthunk_destroy_command_buffer(fd, cb);
	check(rc == 0, "hlthunk_destroy_command_buffer", rc);

	rc = hlthunk_memory_unmap(fd, src_va);
	rc = rc ? rc : hlthunk_memory_unmap(fd, dst_va);
	check(rc == 0, "hlthunk_memory_unmap", rc);
	rc = hlthunk_memory_unmap(fd, dram);
	check(rc == -EINVAL, "hlthunk_memory_unmap of a DRAM address: -EINVAL", rc);
	/* As mainline reads a GAUDI FREE: the size given back. */
	rc = hlthunk_device_memory_free(fd, DMA_SIZE);
	rc = rc ? rc : hlthunk_get_dram_usage(fd, &during);
	check(rc == 0 && during.ctx_dram_mem == before.ctx_dram_mem,
	      "hlthunk_device_memory_free of the size", rc);
	munmap(src - 1, DMA_SIZE + 1);
	munmap(dst, DMA_SIZE);
}

/*
 * A WRITE on connection conn of NIC_PORT, completing in cq with wr_id
 * 0x1234, run as a job on the port's NIC queue.
 */
static int nic_write(int fd, uint32_t conn, uint32_t cq, uint64_t dram)
{
	struct nic_write_pkt *pkt;
	uint64_t cb, seq;
	uint32_t status;
	int rc;

	rc = hlthunk_request_command_buffer(fd, CB_SIZE, &cb);
	if (rc)
		return rc;
	pkt = hlthunk_cb_mmap(fd, CB_SIZE, cb);
	if (!pkt) {
		rc = -errno;
		goto out;
	}
	*pkt = (struct nic_write_pkt){ 64, PKT_CTL(OP_NIC_WRITE) | NIC_CQE,
				       cq << 16 | conn, 0x1234, dram, dram };
	rc = submit(fd, GAUDI_QUEUE_ID_NIC_0_0 + 4 * NIC_PORT, cb, sizeof(*pkt), 0, &seq);
	rc = rc ? rc : hlthunk_wait_for_cs(fd, seq, WAIT_US, &status);
	hlthunk_cb_munmap(pkt, CB_SIZE);
out:
	hlthunk_destroy_command_buffer(fd, cb);
	return rc;
}

static void nic(int fd)
{
	struct hl_info_mac_addr macs;
	struct hl_info_args args;
	struct hl_nic_res_conn_ctx_in res;
	struct hl_nic_req_conn_ctx_in req;
	struct hlthunk_cq_wait_out w;
	struct hlthunk_cq cq;
	struct hl_nic_cqe cqe[2];
	struct hlthunk_hw_ip_info hw;
	uint64_t dram;
	uint32_t a, b;
	int rc;

	memset(&args, 0, sizeof(args));
	args.op = HL_INFO_MAC_ADDR;
	args.return_pointer = (uintptr_t)&macs;
	args.return_size = sizeof(macs);
	rc = hlthunk_get_info(fd, &args);
	if (!check(rc == 0 && (macs.mask[0] & 2), "a MAC address for the peer", rc))
		return;
	/* The window: device memory at its device address, counted. */
	rc = hlthunk_get_hw_ip_info(fd, &hw);
	dram = hw.dram_base_address;
	hlthunk_device_memory_alloc(fd, 4096, 0, false, false);
	if (!check(rc == 0 && dram != 0, "device memory for the window", rc))
		return;

	rc = hlthunk_alloc_conn(fd, NIC_PORT, &a);
	rc = rc ? rc : hlthunk_alloc_conn(fd, NIC_PORT, &b);
	check(rc == 0 && a != b, "hlthunk_alloc_conn, twice", rc);
	rc = hlthunk_set_user_wq(fd, NIC_PORT, a, 4);
	rc = rc ? rc : hlthunk_unset_user_wq(fd, NIC_PORT, a);
	rc = rc ? rc : hlthunk_set_user_wq(fd, NIC_PORT, a, 4);
	check(rc == 0, "hlthunk_set_user_wq, hlthunk_unset_user_wq", rc);

	/* Any unicast MAC is a valid peer: port 1's. */
	memset(&res, 0, sizeof(res));
	memcpy(res.dst_mac_addr, macs.array[1].addr, sizeof(res.dst_mac_addr));
	res.dst_ip_addr = htonl(0xc6120002);	/* 198.18.0.2 */
	res.win_addr = dram;
	res.win_size = 4096;
	rc = hlthunk_set_responder_conn_ctx(fd, NIC_PORT, a, &res);
	check(rc == 0, "hlthunk_set_responder_conn_ctx", rc);
	rc = hlthunk_set_responder_conn_ctx(fd, NIC_PORT, a, &res);
	check(rc == -EBUSY, "hlthunk_set_responder_conn_ctx again: -EBUSY", rc);

	rc = hlthunk_create_cq(fd, NIC_PORT, 4, &cq);
	if (!check(rc == 0 && cq.ring && cq.num_entries == 4 &&
		   cq.mmap_size >= 4 * sizeof(*cq.ring), "hlthunk_create_cq", rc))
		goto conns;
	rc = hlthunk_poll_cq(&cq, cqe, 2);
	check(rc == 0, "hlthunk_poll_cq of an empty CQ: nothing", rc);
	rc = hlthunk_wait_cq(fd, &cq, 1, 0, &w);
	check(rc == 0 && w.status == HL_NIC_CQ_TIMEOUT && w.num_cqes == 0,
	      "hlthunk_wait_cq of an empty CQ: not enough", rc);

	/* b has no requester context: the WRITE fails with BAD_CONN. */
	rc = nic_write(fd, b, cq.cq_id, dram);
	check(rc == 0, "a WRITE job on the NIC queue completes", rc);
	rc = hlthunk_wait_cq(fd, &cq, 1, WAIT_US, &w);
	check(rc == 0 && w.status == HL_NIC_CQ_SUCCESS &&
	      w.num_cqes == 1 && w.lost == 0, "hlthunk_wait_cq: one entry", rc);
	rc = hlthunk_poll_cq(&cq, cqe, 2);
	check(rc == 1 && (cqe[0].ctl & HL_NIC_CQE_READY) &&
	      HL_NIC_CQE_OPCODE(cqe[0].ctl) == HL_NIC_CQE_OP_WRITE &&
	      HL_NIC_CQE_STATUS(cqe[0].ctl) == HL_NIC_CQE_STATUS_BAD_CONN &&
	      HL_NIC_CQE_CONN(cqe[0].ctl) == b && cqe[0].len == 0 &&
	      cqe[0].wr_id == 0x1234,
	      "hlthunk_poll_cq: the WRITE's BAD_CONN entry", rc);
	check(!(cq.ring[0].ctl & HL_NIC_CQE_READY) && cq.polled == 1,
	      "hlthunk_poll_cq clears READY in the ring", 0);
	rc = hlthunk_update_cq_consumed(fd, &cq);
	check(rc == 1, "hlthunk_update_cq_consumed: one entry", rc);
	rc = hlthunk_wait_cq(fd, &cq, 1, 0, &w);
	check(rc == 0 && w.num_cqes == 0, "nothing left to consume", rc);
	rc = hlthunk_destroy_cq(fd, &cq);
	check(rc == 0 && !cq.ring, "hlthunk_destroy_cq", rc);

conns:
	memset(&req, 0, sizeof(req));
	memcpy(req.dst_mac_addr, res.dst_mac_addr, sizeof(req.dst_mac_addr));
	req.dst_ip_addr = res.dst_ip_addr;
	rc = hlthunk_set_requester_conn_ctx(fd, NIC_PORT, b, &req);
	check(rc == 0, "hlthunk_set_requester_conn_ctx", rc);
	rc = hlthunk_destroy_conn(fd, NIC_PORT, a);
	rc = rc ? rc : hlthunk_destroy_conn(fd, NIC_PORT, b);
	check(rc == 0, "hlthunk_destroy_conn", rc);
	rc = hlthunk_destroy_conn(fd, NIC_PORT, a);
	check(rc == -EINVAL, "hlthunk_destroy_conn again: -EINVAL", rc);
	hlthunk_device_memory_free(fd, 4096);
}

int main(int argc, char **argv)
{
	int fd;

	if (argc > 1)
		fd = hlthunk_open_by_index(atoi(argv[1]));
	else
		fd = hlthunk_open(HLTHUNK_DEVICE_DONT_CARE, NULL);
	if (fd == -ENODEV || fd == -ENOENT) {
		printf("1..0 # SKIP no habanalabs device: %s\n", strerror(-fd));
		return 4;
	}
	if (!check(fd >= 0, "hlthunk_open", fd))
		return finish();

	info(fd);
	dma(fd);
	nic(fd);
	check(hlthunk_close(fd) == 0, "hlthunk_close", -errno);
	return finish();
}
