// SPDX-License-Identifier: GPL-2.0
/*
 * Runs one job of packets on a device and waits for it, with the compute
 * node held open afterwards until a line arrives on stdin (or EOF), so
 * that a test can look at the device while this user still holds it.
 *
 *   hl-job [-h] /dev/hlN QUEUE WORD...
 *
 * QUEUE is a GAUDI queue id; each WORD a 64-bit packet word (strtoull's
 * syntax), written in order into a command buffer. With -h, the node stays
 * open after the job until stdin has a line; "done" is printed before that
 * wait. Exits 0 if the job completed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <misc/habanalabs.h>

#define CB_SIZE	4096

int main(int argc, char **argv)
{
	int hold = 0, fd, i, nwords;
	struct hl_cs_chunk chunk;
	union hl_wait_cs_args w;
	union hl_cs_args cs;
	union hl_cb_args cb;
	__u64 *words;
	char line[16];

	if (argc > 1 && !strcmp(argv[1], "-h")) {
		hold = 1;
		argv++;
		argc--;
	}
	nwords = argc - 3;
	if (nwords < 1 || nwords * 8 > CB_SIZE) {
		fprintf(stderr, "usage: hl-job [-h] /dev/hlN QUEUE WORD...\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	memset(&cb, 0, sizeof(cb));
	cb.in.op = HL_CB_OP_CREATE;
	cb.in.cb_size = CB_SIZE;
	if (ioctl(fd, HL_IOCTL_CB, &cb)) {
		perror("CB create");
		return 1;
	}
	words = mmap(NULL, CB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     (off_t)cb.out.cb_handle);
	if (words == MAP_FAILED) {
		perror("CB mmap");
		return 1;
	}
	for (i = 0; i < nwords; i++)
		words[i] = strtoull(argv[3 + i], NULL, 0);

	memset(&chunk, 0, sizeof(chunk));
	chunk.cb_handle = cb.out.cb_handle;
	chunk.queue_index = strtoul(argv[2], NULL, 0);
	chunk.cb_size = nwords * 8;
	memset(&cs, 0, sizeof(cs));
	cs.in.chunks_execute = (__u64)(uintptr_t)&chunk;
	cs.in.num_chunks_execute = 1;
	if (ioctl(fd, HL_IOCTL_CS, &cs)) {
		perror("CS");
		return 1;
	}
	memset(&w, 0, sizeof(w));
	w.in.seq = cs.out.seq;
	w.in.timeout_us = 30000000;
	if (ioctl(fd, HL_IOCTL_WAIT_CS, &w) || w.out.status != HL_WAIT_CS_STATUS_COMPLETED) {
		fprintf(stderr, "WAIT_CS: %s, status %u\n", strerror(errno), w.out.status);
		return 1;
	}
	printf("done\n");
	fflush(stdout);
	if (hold && !fgets(line, sizeof(line), stdin))
		line[0] = 0;
	munmap(words, CB_SIZE);
	close(fd);
	return 0;
}
