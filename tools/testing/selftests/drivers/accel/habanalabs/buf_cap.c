// SPDX-License-Identifier: GPL-2.0
/*
 * The budget of memory one compute user's buffers take (256 MiB) counts
 * buffers that only a mapping keeps: command buffers of HL_MAX_CB_SIZE
 * (2 MiB of memory each) created, mapped and destroyed, and RDMA completion
 * queues of the most entries created, mapped and destroyed, in a loop,
 * until the driver refuses one, with ENOSPC, exactly at the budget.
 * Once the mappings are gone, both kinds can be created again.
 *
 *   hl-buf-cap /dev/hlN
 *
 * Prints kselftest TAP; exits 1 if a case failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <misc/habanalabs.h>

#define TRIES	8192
#define BUDGET	(256 << 20)
#define PAGE	4096
/* The memory of a CB of HL_MAX_CB_SIZE, and of a ring of the most CQEs. */
#define CB_BYTES	((HL_MAX_CB_SIZE + PAGE - 1) / PAGE * PAGE)
#define CQ_BYTES	((HL_NIC_MAX_ENTRIES * sizeof(struct hl_nic_cqe) + PAGE - 1) / PAGE * PAGE)

static void *maps[TRIES];
static int fd, ntests, nfail;

static void check(int ok, const char *what, int n, int err)
{
	ntests++;
	if (!ok)
		nfail++;
	printf("%sok %d %s (%d made, then %s)\n", ok ? "" : "not ", ntests, what, n,
	       err ? strerror(err) : "none refused");
}

/* Creates a CB, maps it and destroys it; the mapping stays. 0 or an errno. */
static int cb_round(void **map)
{
	union hl_cb_args a;
	__u64 handle;

	memset(&a, 0, sizeof(a));
	a.in.op = HL_CB_OP_CREATE;
	a.in.cb_size = HL_MAX_CB_SIZE;
	if (ioctl(fd, HL_IOCTL_CB, &a))
		return errno;
	handle = a.out.cb_handle;
	*map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)handle);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return errno;
	}
	memset(&a, 0, sizeof(a));
	a.in.op = HL_CB_OP_DESTROY;
	a.in.cb_handle = handle;
	return ioctl(fd, HL_IOCTL_CB, &a) ? errno : 0;
}

/* The same with an RDMA completion queue of port 0. */
static int cq_round(void **map)
{
	struct hl_nic_cq_create_in in = { .cq_num_of_entries = HL_NIC_MAX_ENTRIES };
	struct hl_nic_cq_create_out out;
	struct hl_nic_cq_destroy_in destroy;
	struct hl_nic_args a;

	memset(&a, 0, sizeof(a));
	a.op = HL_NIC_OP_CQ_CREATE;
	a.input_ptr = (__u64)(uintptr_t)&in;
	a.input_size = sizeof(in);
	a.output_ptr = (__u64)(uintptr_t)&out;
	a.output_size = sizeof(out);
	if (ioctl(fd, HL_IOCTL_NIC, &a))
		return errno;
	*map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)out.handle);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return errno;
	}
	destroy.handle = out.handle;
	a.op = HL_NIC_OP_CQ_DESTROY;
	a.input_ptr = (__u64)(uintptr_t)&destroy;
	a.input_size = sizeof(destroy);
	a.output_size = 0;
	return ioctl(fd, HL_IOCTL_NIC, &a) ? errno : 0;
}

static void unmap_all(void)
{
	int i;

	for (i = 0; i < TRIES; i++) {
		if (maps[i])
			munmap(maps[i], 4096);
		maps[i] = NULL;
	}
}

static void kind(const char *name, int (*round)(void **map), long bytes)
{
	char what[128];
	int n, err = 0;

	for (n = 0; n < TRIES; n++) {
		err = round(&maps[n]);
		if (err)
			break;
	}
	snprintf(what, sizeof(what), "%s created, mapped, destroyed: refused after %ld",
		 name, BUDGET / bytes);
	check(n == BUDGET / bytes && err == ENOSPC, what, n, err);
	unmap_all();
	err = round(&maps[0]);
	snprintf(what, sizeof(what), "%s: created again once the mappings are gone", name);
	check(!err, what, 1, err);
	unmap_all();
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hl-buf-cap /dev/hlN\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	kind("command buffers", cb_round, CB_BYTES);
	kind("RDMA completion queues", cq_round, CQ_BYTES);
	close(fd);
	printf("1..%d\n", ntests);
	return nfail != 0;
}
