// SPDX-License-Identifier: GPL-2.0
/*
 * Maps host memory whose pages fault in only when this program says so
 * (userfaultfd, missing mode) for a device: the MEMORY ioctl's pinning
 * waits on the first fault until a line arrives on stdin, which lets a
 * test unbind the device meanwhile. Then the pages are filled with zeros
 * and the ioctl's outcome printed.
 *
 *   hl-uffd-pin /dev/hlN
 *
 * Prints "faulting" once the driver waits on a fault, then, after the line,
 * "map: ERRNO-NAME". Exits 0 once the ioctl returned, whatever it
 * returned; 1 if the setup failed or no fault came.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <misc/habanalabs.h>

#define LEN	(64 * 4096)

static int fd;
static void *area;
static int map_err = -1;

static void *map_thread(void *arg)
{
	union hl_mem_args a;

	(void)arg;
	memset(&a, 0, sizeof(a));
	a.in.op = HL_MEM_OP_MAP;
	a.in.flags = HL_MEM_USERPTR;
	a.in.map_host.host_virt_addr = (__u64)(uintptr_t)area;
	a.in.map_host.mem_size = LEN;
	map_err = ioctl(fd, HL_IOCTL_MEMORY, &a) ? errno : 0;
	return NULL;
}

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffdio_zeropage zero;
	struct uffd_msg msg;
	struct pollfd p;
	pthread_t thread;
	char line[16];
	int uffd;

	if (argc != 2) {
		fprintf(stderr, "usage: hl-uffd-pin /dev/hlN\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		perror("userfaultfd");
		return 1;
	}
	area = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (__u64)(uintptr_t)area;
	reg.range.len = LEN;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}
	pthread_create(&thread, NULL, map_thread, NULL);

	p.fd = uffd;
	p.events = POLLIN;
	if (poll(&p, 1, 30000) != 1 || read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT) {
		fprintf(stderr, "no page fault from the driver's pinning\n");
		return 1;
	}
	printf("faulting\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;

	zero.range.start = (__u64)(uintptr_t)area;
	zero.range.len = LEN;
	zero.mode = 0;
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zero) && errno != EEXIST) {
		perror("UFFDIO_ZEROPAGE");
		return 1;
	}
	pthread_join(thread, NULL);
	printf("map: %s\n", map_err ? strerrorname_np(map_err) : "success");
	close(fd);
	return 0;
}
