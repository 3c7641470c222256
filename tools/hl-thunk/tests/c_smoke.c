// SPDX-License-Identifier: GPL-2.0
/*
 * hlthunk-c-smoke: libhlthunk from C, with nothing but include/hlthunk.h
 * and the uAPI header: INFO on both nodes, then LIN_DMA from host memory
 * to device memory and back, and a job that aborts. TAP on stdout; exit
 * status 0 pass, 1 fail, 4 skip (no device).
 *
 *   hlthunk-c-smoke [INDEX]   device INDEX (default: the first free one)
 */
#define _GNU_SOURCE
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

struct lin_dma_pkt {
	uint32_t tsize;
	uint32_t ctl;
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
	struct hl_info_hw_ip_info hw, hw_ctl;
	struct hl_info_dram_usage dram;
	struct hl_info_hw_events events;
	struct hl_info_mac_addr macs;
	struct hl_info_args args;
	uint32_t cur, max;
	uint64_t serial = 0;
	char busid[16];
	int ctl, rc;

	rc = hlthunk_get_hw_ip_info(fd, &hw);
	check(rc == 0 && hw.dram_base_address == HL_DRAM_BASE &&
	      hw.queue_count == HL_QUEUE_COUNT && hw.dram_size != 0,
	      "hlthunk_get_hw_ip_info", rc);
	check(hlthunk_get_device_name_from_fd(fd) == HLTHUNK_DEVICE_GAUDI_SIM,
	      "hlthunk_get_device_name_from_fd", -errno);

	memset(&args, 0, sizeof(args));
	args.op = HL_INFO_HW_IP_INFO;
	args.return_pointer = (uintptr_t)&serial;
	args.return_size = sizeof(serial);
	rc = hlthunk_get_info(fd, &args);
	check(rc == 0 && serial == hw.serial, "hlthunk_get_info", rc);

	rc = hlthunk_get_dram_usage(fd, &dram);
	check(rc == 0 && dram.dram_free_mem <= hw.dram_size,
	      "hlthunk_get_dram_usage", rc);
	rc = hlthunk_get_device_status_info(fd);
	check(rc == HL_DEVICE_STATUS_OPERATIONAL,
	      "hlthunk_get_device_status_info", rc);
	rc = hlthunk_get_clk_rate(fd, &cur, &max);
	check(rc == 0 && max != 0 && cur <= max, "hlthunk_get_clk_rate", rc);
	rc = hlthunk_get_hw_events(fd, &events);
	check(rc == 0, "hlthunk_get_hw_events", rc);
	rc = hlthunk_get_mac_addr_info(fd, &macs);
	check(rc == 0, "hlthunk_get_mac_addr_info", rc);

	rc = hlthunk_get_pci_bus_id_from_fd(fd, busid, sizeof(busid));
	if (!check(rc == 0, "hlthunk_get_pci_bus_id_from_fd", rc))
		return;
	printf("# device at %s\n", busid);
	rc = hlthunk_open(HLTHUNK_DEVICE_DONT_CARE, busid);
	check(rc == -EBUSY, "a second hlthunk_open of the device: -EBUSY", rc);
	if (rc >= 0)
		hlthunk_close(rc);

	ctl = hlthunk_open_control(0, busid);
	if (!check(ctl >= 0, "hlthunk_open_control", ctl))
		return;
	rc = hlthunk_get_hw_ip_info(ctl, &hw_ctl);
	check(rc == 0 && !memcmp(&hw, &hw_ctl, sizeof(hw)),
	      "the control node reports the same identity", rc);
	rc = hlthunk_request_command_buffer(ctl, CB_SIZE, &(uint64_t){ 0 });
	check(rc == -EACCES,
	      "the control node refuses a command buffer: -EACCES", rc);
	check(hlthunk_close(ctl) == 0, "hlthunk_close of the control node", 0);
}

/* Submits one job of cb_size bytes on DMA 0. */
static int submit(int fd, uint64_t cb, uint32_t cb_size, uint64_t *seq)
{
	struct hl_cs_chunk chunk = {
		.cb_handle = cb,
		.queue_index = HL_QUEUE_DMA_0,
		.cb_size = cb_size,
	};
	struct hlthunk_cs_in in = {
		.chunks_execute = &chunk,
		.num_chunks_execute = 1,
	};
	struct hlthunk_cs_out out;
	int rc;

	rc = hlthunk_command_submission(fd, &in, &out);
	*seq = out.seq;
	return rc;
}

static void dma(int fd)
{
	uint8_t *src = page_alloc(DMA_SIZE), *dst = page_alloc(DMA_SIZE);
	uint64_t handle, dram, src_va, dst_va, cb, seq;
	struct lin_dma_pkt *pkt;
	struct hl_wait_cs_out out;
	uint32_t status;
	uint32_t i;
	int rc;

	if (!check(src && dst, "host buffers", -errno))
		return;
	for (i = 0; i < DMA_SIZE; i++)
		src[i] = (uint8_t)(i * 7 + 1);

	handle = hlthunk_device_memory_alloc(fd, DMA_SIZE, false, false);
	check(handle != 0, "hlthunk_device_memory_alloc", -errno);
	dram = hlthunk_device_memory_map(fd, handle, 0);
	check(dram != 0, "hlthunk_device_memory_map", -errno);
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
		rc = submit(fd, cb, 2 * sizeof(*pkt), &seq);
		check(rc == 0, "hlthunk_command_submission", rc);
		rc = hlthunk_wait_for_cs(fd, seq, WAIT_US, &status);
		check(rc == 0 && status == HL_WAIT_CS_STATUS_COMPLETED,
		      "hlthunk_wait_for_cs: host -> device -> host completed", rc);
		check(!memcmp(src, dst, DMA_SIZE), "the copy is exact", 0);

		/* An unknown opcode, 0x1f, after one good packet. */
		memset(&pkt[1], 0, sizeof(pkt[1]));
		pkt[1].ctl = PKT_CTL(0x1f);
		rc = submit(fd, cb, sizeof(*pkt) + 8, &seq);
		rc = rc ? rc : hlthunk_wait_for_cs_info(fd, seq, WAIT_US, &out);
		check(rc == 0 && out.status == HL_WAIT_CS_STATUS_ABORTED &&
		      out.error == HL_EVENT_BAD_OPCODE &&
		      out.failed_queue == HL_QUEUE_DMA_0 &&
		      out.error_info == sizeof(*pkt),
		      "hlthunk_wait_for_cs_info: a bad opcode aborts, with cause, queue and offset",
		      rc);
		check(hlthunk_cb_munmap(pkt, CB_SIZE) == 0, "hlthunk_cb_munmap", -errno);
	}
	rc = hlthunk_destroy_command_buffer(fd, cb);
	check(rc == 0, "hlthunk_destroy_command_buffer", rc);

	rc = hlthunk_device_memory_free(fd, handle);
	check(rc == -EBUSY, "hlthunk_device_memory_free while mapped: -EBUSY", rc);
	rc = hlthunk_memory_unmap(fd, src_va);
	rc = rc ? rc : hlthunk_memory_unmap(fd, dst_va);
	rc = rc ? rc : hlthunk_memory_unmap(fd, dram);
	check(rc == 0, "hlthunk_memory_unmap", rc);
	rc = hlthunk_device_memory_free(fd, handle);
	check(rc == 0, "hlthunk_device_memory_free", rc);
	munmap(src, DMA_SIZE);
	munmap(dst, DMA_SIZE);
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
	check(hlthunk_close(fd) == 0, "hlthunk_close", -errno);
	return finish();
}
