// SPDX-License-Identifier: GPL-2.0
/*
 * Runs one submission of packets on a device and waits for it, with the
 * compute node held open afterwards until a line arrives on stdin (or EOF),
 * so that a test can look at the device while this user still holds it.
 *
 *   hl-job [-h] /dev/hlN QUEUE WORD... [/ QUEUE WORD...]...
 *
 * QUEUE is a GAUDI queue id; each WORD a 64-bit packet word (strtoull's
 * syntax), written in order into a command buffer: one job, or up to
 * MAX_JOBS separated by "/", all in one submission. With -h, the node stays
 * open after the submission until stdin has a line; "done" is printed
 * before that wait. Exits 0 if the submission completed, 1 otherwise.
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

#define CB_SIZE		4096
#define MAX_JOBS	4

/* Fills chunk with a new CB holding the n words at arg; 0 or -1. */
static int job(int fd, struct hl_cs_chunk *chunk, const char *queue, char **arg, int n)
{
	union hl_cb_args cb;
	__u64 *words;
	int i;

	memset(&cb, 0, sizeof(cb));
	cb.in.op = HL_CB_OP_CREATE;
	cb.in.cb_size = CB_SIZE;
	if (ioctl(fd, HL_IOCTL_CB, &cb)) {
		perror("CB create");
		return -1;
	}
	words = mmap(NULL, CB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     (off_t)cb.out.cb_handle);
	if (words == MAP_FAILED) {
		perror("CB mmap");
		return -1;
	}
	for (i = 0; i < n; i++)
		words[i] = strtoull(arg[i], NULL, 0);
	munmap(words, CB_SIZE);
	memset(chunk, 0, sizeof(*chunk));
	chunk->cb_handle = cb.out.cb_handle;
	chunk->queue_index = strtoul(queue, NULL, 0);
	chunk->cb_size = n * 8;
	return 0;
}

int main(int argc, char **argv)
{
	struct hl_cs_chunk chunks[MAX_JOBS];
	int hold = 0, fd, i, first, njobs = 0;
	union hl_wait_cs_args w;
	union hl_cs_args cs;
	char line[16];

	if (argc > 1 && !strcmp(argv[1], "-h")) {
		hold = 1;
		argv++;
		argc--;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: hl-job [-h] /dev/hlN QUEUE WORD... [/ QUEUE WORD...]...\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	/* Each job: QUEUE at argv[first], its words up to the next "/" or the end. */
	for (first = 2; first < argc; first = i + 1) {
		for (i = first + 1; i < argc && strcmp(argv[i], "/"); i++)
			;
		if (njobs == MAX_JOBS || i - first < 2 || (i - first - 1) * 8 > CB_SIZE) {
			fprintf(stderr, "hl-job: at most %d jobs of 1 to %d words\n", MAX_JOBS,
				CB_SIZE / 8);
			return 2;
		}
		if (job(fd, &chunks[njobs++], argv[first], &argv[first + 1], i - first - 1))
			return 1;
	}
	memset(&cs, 0, sizeof(cs));
	cs.in.chunks_execute = (__u64)(uintptr_t)chunks;
	cs.in.num_chunks_execute = njobs;
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
	close(fd);
	return 0;
}
