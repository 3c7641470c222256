/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * hl-thunk: the userspace library of habanalabs-rs, C interface.
 *
 * Where it overlaps HabanaLabs' hl-thunk (hl-thunk-open, as of v5.20) it is
 * a drop-in for it: the same function names, signatures, enums and
 * structs, over the habanalabs uAPI of <misc/habanalabs.h> (Linux 6.1's,
 * or include/uapi of the kernel tree). Installed, build with
 * `pkg-config --cflags --libs hlthunk`, which puts the installed copy of
 * the uAPI header first; see hlthunk(3). The RDMA calls below are those of
 * the 2020 hl-thunk NIC series, for HL_IOCTL_NIC.
 *
 * Conventions, as in hl-thunk:
 *  - functions returning int return 0 (or a file descriptor, or a status)
 *    on success and a negative errno on failure;
 *  - functions returning a handle, an address or a pointer return it, or
 *    0 (NULL) on failure;
 *  - every failure also sets errno.
 * Some arguments the uAPI rules out (a command buffer size out of range,
 * empty host memory) fail with -EINVAL before the driver sees them;
 * submissions and the RDMA calls go to the driver as they are. File
 * descriptors are the caller's; the library keeps none.
 */
#ifndef HLTHUNK_H
#define HLTHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <misc/habanalabs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device nodes, by index N; indices 0 to HLTHUNK_MAX_MINOR - 1 are searched. */
#define HLTHUNK_MAX_MINOR		256
#define HLTHUNK_DEV_NAME_PRIMARY	"/dev/hl%d"
#define HLTHUNK_DEV_NAME_CONTROL	"/dev/hl_controlD%d"

enum hlthunk_node_type {
	HLTHUNK_NODE_PRIMARY,
	HLTHUNK_NODE_CONTROL,
	HLTHUNK_NODE_MAX
};

/* Kinds of device, by PCI device id (GAUDI: 0x1000 and 0x1010). */
enum hlthunk_device_name {
	HLTHUNK_DEVICE_GOYA,
	HLTHUNK_DEVICE_PLACEHOLDER1,
	HLTHUNK_DEVICE_GAUDI,
	HLTHUNK_DEVICE_INVALID,		/* a device id the library does not know */
	HLTHUNK_DEVICE_DONT_CARE,	/* hlthunk_open(): any device */
	HLTHUNK_DEVICE_GAUDI2,
	HLTHUNK_DEVICE_PLACEHOLDER2,
	HLTHUNK_DEVICE_PLACEHOLDER3,
	HLTHUNK_DEVICE_MAX
};

/* HL_INFO_HW_IP_INFO, as hlthunk_get_hw_ip_info() copies it. */
struct hlthunk_hw_ip_info {
	uint64_t sram_base_address;
	uint64_t dram_base_address;
	uint64_t dram_size;
	uint32_t sram_size;
	uint32_t num_of_events;
	uint32_t device_id;
	uint32_t cpld_version;
	uint32_t psoc_pci_pll_nr;
	uint32_t psoc_pci_pll_nf;
	uint32_t psoc_pci_pll_od;
	uint32_t psoc_pci_pll_div_factor;
	uint16_t tpc_enabled_mask;
	uint8_t dram_enabled;
	uint8_t cpucp_version[HL_INFO_VERSION_MAX_LEN];
	uint32_t module_id;
	uint8_t card_name[HL_INFO_CARD_NAME_MAX_LEN];
	uint32_t decoder_enabled_mask;
	uint8_t mme_master_slave_mode;
	uint64_t tpc_enabled_mask_ext;
	uint64_t dram_page_size;
	uint16_t first_available_interrupt_id;
	uint32_t edma_enabled_mask;
	uint16_t server_type;
	uint16_t number_of_user_interrupts;
	uint64_t device_mem_alloc_default_page_size;
};

struct hlthunk_dram_usage_info {
	uint64_t dram_free_mem;
	uint64_t ctx_dram_mem;
};

/* HL_INFO_HW_IDLE: mask[] has a bit per busy engine (enum gaudi_engine_id). */
struct hlthunk_engines_idle_info {
	uint32_t is_idle;
	uint32_t pad;
	uint64_t mask[HL_BUSY_ENGINES_MASK_EXT_SIZE];
};

struct hlthunk_reset_count_info {
	uint32_t hard_reset_count;
	uint32_t soft_reset_count;
};

struct hlthunk_time_sync_info {
	uint64_t device_time;
	uint64_t host_time;
};

/* A submission: arrays of struct hl_cs_chunk, and HL_CS_FLAGS_*. */
struct hlthunk_cs_in {
	void *chunks_restore;
	void *chunks_execute;
	uint32_t num_chunks_restore;
	uint32_t num_chunks_execute;
	uint32_t flags;
};

struct hlthunk_cs_out {
	uint64_t seq;			/* for hlthunk_wait_for_cs() */
	uint32_t status;		/* HL_CS_STATUS_* */
	uint16_t sob_count_before_submission;
};

struct hlthunk_wait_multi_cs_in {
	uint64_t *seq;
	uint64_t timeout_us;
	uint32_t seq_len;		/* 1 to HL_WAIT_MULTI_CS_LIST_MAX_LEN */
};

struct hlthunk_wait_multi_cs_out {
	uint32_t status;		/* HL_WAIT_CS_STATUS_* */
	uint32_t seq_set;		/* a bit per completed seq[] */
	uint8_t completed;		/* how many bits seq_set has */
};

/*
 * Opens the compute node of the device at PCI address busid
 * ("dddd:bb:dd.f" or "bb:dd.f") or, if busid is NULL, the first compute
 * node that is free and, unless device_name is HLTHUNK_DEVICE_DONT_CARE,
 * of that kind. Returns a file descriptor; -EBUSY if the only candidates
 * were open elsewhere, -ENODEV if there was none.
 */
int hlthunk_open(enum hlthunk_device_name device_name, const char *busid);

/*
 * Opens the control node of the device at PCI address busid or, if busid is
 * NULL, /dev/hl_controlD<dev_id>. The control node allows INFO only, and
 * any number of opens.
 */
int hlthunk_open_control(int dev_id, const char *busid);

/* Closes a descriptor hlthunk_open*() returned: 0 or -errno. */
int hlthunk_close(int fd);

/* The PCI device id of fd's device (either node), 0 on error. */
uint32_t hlthunk_get_device_id_from_fd(int fd);

/* The kind of device behind fd (either node), HLTHUNK_DEVICE_INVALID on error. */
enum hlthunk_device_name hlthunk_get_device_name_from_fd(int fd);

/*
 * Writes the PCI address of fd's device, "dddd:bb:dd.f" and a NUL, to
 * pci_bus_id (len bytes, at least 13); -ERANGE if it does not fit.
 */
int hlthunk_get_pci_bus_id_from_fd(int fd, char *pci_bus_id, int len);

/* The index N of /dev/hlN for the device at PCI address busid. */
int hlthunk_get_device_index_from_pci_bus_id(const char *busid);

/* The raw INFO ioctl. */
int hlthunk_get_info(int fd, struct hl_info_args *info);

/* INFO ops, on either node. */
int hlthunk_get_hw_ip_info(int fd, struct hlthunk_hw_ip_info *hw_ip);
int hlthunk_get_dram_usage(int fd, struct hlthunk_dram_usage_info *dram_usage);
int hlthunk_get_clk_rate(int fd, uint32_t *cur_clk_mhz, uint32_t *max_clk_mhz);
int hlthunk_get_reset_count_info(int fd, struct hlthunk_reset_count_info *info);
int hlthunk_get_time_sync_info(int fd, struct hlthunk_time_sync_info *info);
int hlthunk_get_busy_engines_mask(int fd, struct hlthunk_engines_idle_info *info);

/* Whether no engine is busy; false on error too. */
bool hlthunk_is_device_idle(int fd);

/* HL_DEVICE_STATUS_*, or a negative errno. */
enum hl_device_status hlthunk_get_device_status_info(int fd);

/*
 * The device's event counters by GAUDI async event id (num_of_events of
 * them, hlthunk_get_hw_ip_info()) into hw_events_arr, hw_events_arr_size
 * bytes: since the last reset, or with aggregate since the driver loaded.
 */
int hlthunk_get_hw_events_arr(int fd, bool aggregate, uint32_t hw_events_arr_size,
			      uint32_t *hw_events_arr);

/* Creates a command buffer of cb_size bytes; its handle goes to *cb_handle. */
int hlthunk_request_command_buffer(int fd, uint32_t cb_size, uint64_t *cb_handle);

/* Destroys a command buffer; a mapping of it stays valid until unmapped. */
int hlthunk_destroy_command_buffer(int fd, uint64_t cb_handle);

/*
 * Submits the jobs (restore jobs first); the sequence number and status
 * go to *out. With a timeout (seconds, not 0), HL_CS_FLAGS_CUSTOM_TIMEOUT.
 */
int hlthunk_command_submission(int fd, struct hlthunk_cs_in *in,
			       struct hlthunk_cs_out *out);
int hlthunk_command_submission_timeout(int fd, struct hlthunk_cs_in *in,
				       struct hlthunk_cs_out *out, uint32_t timeout);

/*
 * Waits up to timeout_us (0: just looks) for submission seq; its
 * HL_WAIT_CS_STATUS_* goes to *status, on failure too: a submission that
 * timed out gives -ETIMEDOUT, one that was aborted -EIO.
 */
int hlthunk_wait_for_cs(int fd, uint64_t seq, uint64_t timeout_us,
			uint32_t *status);

/* As hlthunk_wait_for_cs(), with the completion time of a HL_CS_FLAGS_TIMESTAMP submission. */
int hlthunk_wait_for_cs_with_timestamp(int fd, uint64_t seq, uint64_t timeout_us,
				       uint32_t *status, uint64_t *timestamp);

/* Waits for any of in->seq (HL_WAIT_CS_FLAGS_MULTI_CS). */
int hlthunk_wait_for_multi_cs(int fd, struct hlthunk_wait_multi_cs_in *in,
			      struct hlthunk_wait_multi_cs_out *out);

/*
 * HL_MEM_OP_ALLOC of size bytes of device memory. GAUDI's DRAM has no
 * virtual memory: the driver only counts the bytes (HL_INFO_DRAM_USAGE) and
 * the handle is 0, on success (errno 0) as on failure (errno set, ENOMEM
 * when the DRAM has not that much free); the user places its buffers in
 * [dram_base_address, + dram_size) itself.
 */
uint64_t hlthunk_device_memory_alloc(int fd, uint64_t size, uint64_t page_size,
				     bool contiguous, bool shared);

/* HL_MEM_OP_FREE: on GAUDI, handle is the size no longer used. */
int hlthunk_device_memory_free(int fd, uint64_t handle);

/* Returns the device address of an allocation, or 0 (on GAUDI always, EINVAL). */
uint64_t hlthunk_device_memory_map(int fd, uint64_t handle, uint64_t hint_addr);

/*
 * Pins host_size bytes at host_virt_addr (any alignment) and returns the
 * device address engines reach them at, or 0.
 */
uint64_t hlthunk_host_memory_map(int fd, void *host_virt_addr,
				 uint64_t hint_addr, uint64_t host_size);

/* Undoes hlthunk_device_memory_map() or hlthunk_host_memory_map(). */
int hlthunk_memory_unmap(int fd, uint64_t device_virt_addr);

/*
 * HL_MEM_OP_EXPORT_DMABUF_FD: exports size bytes of device memory at
 * handle, on GAUDI a device address (both page aligned, in the DRAM), as a
 * dma-buf; returns its file descriptor, opened with flags (O_RDWR,
 * O_CLOEXEC), or a negative errno.
 */
int hlthunk_device_memory_export_dmabuf_fd(int fd, uint64_t handle, uint64_t size,
					   uint32_t flags);

/*
 * Not in HabanaLabs' hl-thunk: HL_MEM_OP_IMPORT_DMABUF_FD maps the dma-buf
 * dmabuf_fd (another device's memory) for this device's engines; returns
 * its device address, or 0. hlthunk_memory_unmap() lets it go.
 */
uint64_t hlthunk_device_memory_import_dmabuf_fd(int fd, int dmabuf_fd);

/* Zeroed memory, and its release. */
void *hlthunk_malloc(size_t size);
void hlthunk_free(void *pt);

/*
 * Not in HabanaLabs' hl-thunk: opens /dev/hl<dev_id>; maps a command
 * buffer read-write for writing packets (its tests' hltests_cb_mmap),
 * returning its CPU address or NULL, and unmaps it.
 */
int hlthunk_open_by_index(int dev_id);
void *hlthunk_cb_mmap(int fd, uint32_t cb_size, uint64_t cb_handle);
int hlthunk_cb_munmap(void *ptr, uint32_t cb_size);

/*
 * RDMA between the devices at the ends of a port's link (HL_IOCTL_NIC).
 * Connections and completion queues (CQs) are numbered per port. Data
 * moves by NIC packets in jobs on the port's NIC queue, GAUDI_QUEUE_ID_NIC_0_0
 * + 4 * port (any of its four streams).
 */

/* Allocates the lowest free connection of port; its number goes to *conn_id. */
int hlthunk_alloc_conn(int fd, uint32_t port, uint32_t *conn_id);

/*
 * Connection conn_id of port reaches the peer ctx names: its MAC, IPv4
 * address and connection (SET_REQ_CONN_CTX; ctx's port and conn_id are
 * the arguments').
 */
int hlthunk_set_requester_conn_ctx(int fd, uint32_t port, uint32_t conn_id,
				   const struct hl_nic_req_conn_ctx_in *ctx);

/*
 * The peer ctx names may reach connection conn_id of port and write its
 * window of device memory (SET_RES_CONN_CTX; likewise).
 */
int hlthunk_set_responder_conn_ctx(int fd, uint32_t port, uint32_t conn_id,
				   const struct hl_nic_res_conn_ctx_in *ctx);

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
	uint64_t handle;		/* the driver's, for the CQ ops */
	uint32_t port;
	uint32_t cq_id;			/* as NIC packets name it */
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
	uint32_t status;		/* enum hl_nic_cq_status */
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
