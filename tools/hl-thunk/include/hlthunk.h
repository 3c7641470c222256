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
 * them; submissions and the RDMA calls go to the driver as they are. File
 * descriptors are the caller's; the library keeps none.
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

/*
 * RDMA between the devices at the ends of a port's link (HL_IOCTL_NIC).
 * Connections and completion queues (CQs) are numbered per port. Data
 * moves by NIC packets in jobs on queue HL_QUEUE_NIC_0 + port.
 */

/* Allocates the lowest free connection of port; its number goes to *conn_id. */
int hlthunk_alloc_conn(int fd, uint32_t port, uint32_t *conn_id);

/* Connection conn_id of port reaches *peer (SET_REQ_CONN_CTX). */
int hlthunk_set_requester_conn_ctx(int fd, uint32_t port, uint32_t conn_id,
				   const struct hl_nic_peer *peer);

/*
 * ctx->peer may reach connection conn_id of port and write its window of
 * device memory (SET_RES_CONN_CTX).
 */
int hlthunk_set_responder_conn_ctx(int fd, uint32_t port, uint32_t conn_id,
				   const struct hl_nic_res_ctx *ctx);

/* Resets both sides of the connection and frees it. */
int hlthunk_destroy_conn(int fd, uint32_t port, uint32_t conn_id);

/*
 * Gives the connection a receive queue of num_entries buffers (posted by
 * NIC_RECV), or takes it away; both before its responder context is set.
 */
int hlthunk_set_user_wq(int fd, uint32_t port, uint32_t conn_id,
			uint32_t num_entries);
int hlthunk_unset_user_wq(int fd, uint32_t port, uint32_t conn_id);

/*
 * A CQ with its ring mapped, as hlthunk_create_cq() fills it in the
 * caller's memory. The library tracks what was taken from the ring here.
 */
struct hlthunk_cq {
	struct hl_nic_cqe *ring;	/* num_entries entries */
	uint64_t mmap_size;		/* bytes mapped at ring */
	uint32_t port;
	uint32_t cq_id;
	uint32_t num_entries;
	uint32_t ci;			/* entries taken, free-running */
	uint32_t polled;		/* taken, not yet handed back */
	uint32_t pad;
};

/* Creates a CQ of num_entries entries on port and maps its ring into *cq. */
int hlthunk_create_cq(int fd, uint32_t port, uint32_t num_entries,
		      struct hlthunk_cq *cq);

/* Unmaps and destroys the CQ. */
int hlthunk_destroy_cq(int fd, struct hlthunk_cq *cq);

/*
 * Takes up to max entries the device produced, in ring order, into cqes
 * (as they were, HL_NIC_CQE_READY set) and clears their READY in the ring.
 * Returns how many (0: none yet), or a negative errno.
 */
int hlthunk_poll_cq(struct hlthunk_cq *cq, struct hl_nic_cqe *cqes,
		    uint32_t max);

struct hlthunk_cq_wait_out {
	uint32_t num_cqes;		/* produced, not yet handed back */
	uint32_t status;		/* HL_NIC_CQ_WAIT_STATUS_* */
	uint64_t lost;			/* dropped on a full ring */
};

/*
 * Waits up to timeout_us (0: just looks) until num_cqes entries are
 * produced and not yet handed back (taken ones included). Returns 0
 * whatever the status.
 */
int hlthunk_wait_cq(int fd, const struct hlthunk_cq *cq, uint32_t num_cqes,
		    uint64_t timeout_us, struct hlthunk_cq_wait_out *out);

/*
 * Hands the entries hlthunk_poll_cq() took back to the driver, so that
 * their slots may be reused (CQ_UPDATE_CONSUMED). Returns how many.
 */
int hlthunk_update_cq_consumed(int fd, struct hlthunk_cq *cq);

#ifdef __cplusplus
}
#endif

#endif /* HLTHUNK_H */
