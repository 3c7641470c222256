/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * hl-thunk: the userspace library of habanalabs-rs, C interface.
 *
 * A subset of HabanaLabs' hl-thunk with the same names, for the uAPI in
 * <misc/habanalabs.h> (include/uapi of the kernel tree): build with
 * -I<kernel>/include/uapi and link with -lhlthunk.
 *
 * Conventions, as in hl-thunk:
 *  - functions returning int return 0 (or a file descriptor, or a status)
 *    on success and a negative errno on failure;
 *  - functions returning a handle, an address or a pointer return it, or
 *    0 (NULL) on failure;
 *  - every failure also sets errno.
 * Some arguments the uAPI rules out (a command buffer size out of range,
 * unaligned or empty host memory) fail with -EINVAL before the driver sees
 * them; submissions go to the driver as they are. File descriptors are the
 * caller's; the library keeps none.
 */
#ifndef HLTHUNK_H
#define HLTHUNK_H

#include <stdbool.h>
#include <stdint.h>

#include <misc/habanalabs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device nodes, by index N; indices 0 to HLTHUNK_MAX_MINOR - 1 are searched. */
#define HLTHUNK_MAX_MINOR		16
#define HLTHUNK_DEV_NAME_PRIMARY	"/dev/hl%d"
#define HLTHUNK_DEV_NAME_CONTROL	"/dev/hl_controlD%d"

enum hlthunk_device_name {
	HLTHUNK_DEVICE_GAUDI_SIM,	/* device_id 0x1000: the device model */
	HLTHUNK_DEVICE_INVALID,		/* a device_id the library does not know */
	HLTHUNK_DEVICE_DONT_CARE,	/* hlthunk_open(): any device */
	HLTHUNK_DEVICE_MAX
};

struct hlthunk_cs_in {
	struct hl_cs_chunk *chunks_execute;
	uint32_t num_chunks_execute;
	uint32_t flags;			/* HL_CS_FLAGS_* */
	uint32_t timeout_ms;		/* with HL_CS_FLAGS_CUSTOM_TIMEOUT */
};

struct hlthunk_cs_out {
	uint64_t seq;			/* for hlthunk_wait_for_cs() */
};

/*
 * Opens the compute node of the device at PCI address busid
 * ("dddd:bb:dd.f" or "bb:dd.f") or, if busid is NULL, the first compute
 * node that is free and, unless device_name is HLTHUNK_DEVICE_DONT_CARE,
 * of that kind. Returns a file descriptor; -EBUSY if the only candidates
 * were open elsewhere, -ENODEV if there was none.
 */
int hlthunk_open(enum hlthunk_device_name device_name, const char *busid);

/* Opens /dev/hl<dev_id>. Not in HabanaLabs' hl-thunk. */
int hlthunk_open_by_index(int dev_id);

/*
 * Opens the control node of the device at PCI address busid or, if busid is
 * NULL, /dev/hl_controlD<dev_id>. The control node allows INFO only, and
 * any number of opens.
 */
int hlthunk_open_control(int dev_id, const char *busid);

/* Closes a descriptor hlthunk_open*() returned: 0 or -errno. */
int hlthunk_close(int fd);

/* The kind of device behind fd (either node), HLTHUNK_DEVICE_INVALID on error. */
enum hlthunk_device_name hlthunk_get_device_name_from_fd(int fd);

/*
 * Writes the PCI address of fd's device, "dddd:bb:dd.f" and a NUL, to
 * pci_bus_id (len bytes, at least 13); -ERANGE if it does not fit.
 */
int hlthunk_get_pci_bus_id_from_fd(int fd, char *pci_bus_id, int len);

/* The raw INFO ioctl. */
int hlthunk_get_info(int fd, struct hl_info_args *info);

/* INFO ops, on either node. */
int hlthunk_get_hw_ip_info(int fd, struct hl_info_hw_ip_info *hw_ip);
int hlthunk_get_hw_events(int fd, struct hl_info_hw_events *events);
int hlthunk_get_dram_usage(int fd, struct hl_info_dram_usage *dram_usage);
int hlthunk_get_clk_rate(int fd, uint32_t *cur_clk_mhz, uint32_t *max_clk_mhz);
int hlthunk_get_mac_addr_info(int fd, struct hl_info_mac_addr *mac_addr);

/* HL_DEVICE_STATUS_*, or a negative errno. */
int hlthunk_get_device_status_info(int fd);

/* Creates a command buffer of cb_size bytes; its handle goes to *cb_handle. */
int hlthunk_request_command_buffer(int fd, uint32_t cb_size, uint64_t *cb_handle);

/* Destroys a command buffer; a mapping of it stays valid until unmapped. */
int hlthunk_destroy_command_buffer(int fd, uint64_t cb_handle);

/*
 * Maps a command buffer read-write for writing packets: returns its CPU
 * address, or NULL. Not in HabanaLabs' hl-thunk (its tests' hltests_cb_mmap).
 */
void *hlthunk_cb_mmap(int fd, uint32_t cb_size, uint64_t cb_handle);

/* Unmaps what hlthunk_cb_mmap() returned. */
int hlthunk_cb_munmap(void *ptr, uint32_t cb_size);

/* Submits in->num_chunks_execute jobs; the sequence number goes to out->seq. */
int hlthunk_command_submission(int fd, struct hlthunk_cs_in *in,
			       struct hlthunk_cs_out *out);

/*
 * Waits up to timeout_us (0: just looks) for submission seq; its
 * HL_WAIT_CS_STATUS_* goes to *status. Returns 0 whatever the status.
 */
int hlthunk_wait_for_cs(int fd, uint64_t seq, uint64_t timeout_us,
			uint32_t *status);

/*
 * As hlthunk_wait_for_cs(), with the cause, queue and packet offset of an
 * aborted submission. Not in HabanaLabs' hl-thunk.
 */
int hlthunk_wait_for_cs_info(int fd, uint64_t seq, uint64_t timeout_us,
			     struct hl_wait_cs_out *out);

/*
 * Allocates size bytes of device memory: returns the handle, or 0.
 * Allocations are not shared with other processes: shared must be false.
 * contiguous is accepted and has no effect.
 */
uint64_t hlthunk_device_memory_alloc(int fd, uint64_t size, bool contiguous,
				     bool shared);

int hlthunk_device_memory_free(int fd, uint64_t handle);

/* Returns the device address of an allocation, or 0. hint_addr is ignored. */
uint64_t hlthunk_device_memory_map(int fd, uint64_t handle, uint64_t hint_addr);

/*
 * Pins host_size bytes at host_virt_addr (page aligned) and returns the
 * device address engines reach them at, or 0. hint_addr is ignored.
 */
uint64_t hlthunk_host_memory_map(int fd, void *host_virt_addr,
				 uint64_t hint_addr, uint64_t host_size);

/* Undoes hlthunk_device_memory_map() or hlthunk_host_memory_map(). */
int hlthunk_memory_unmap(int fd, uint64_t device_virt_addr);

#ifdef __cplusplus
}
#endif

#endif /* HLTHUNK_H */
