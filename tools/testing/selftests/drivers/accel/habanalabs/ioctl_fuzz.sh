#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Fuzzes the ioctls of both nodes of every device at once for a bounded
# time: hl-ioctl-fuzz (ioctl_fuzz.c, built by tools/vm/initramfs.sh against
# our uAPI header) mutates valid commands, reuses freed handles, runs
# several threads on one file and closes and reopens the compute node with
# everything live, its mappings held past the close. Every call must return
# with an errno the uAPI documents; then both devices still copy through
# their DMA engines, and the module unloads and loads again. The kernel
# log (make check's splat test) and kmemleak judge the rest.
# HL_FUZZ_SECONDS (default 20) per device, HL_FUZZ_SEED (default: the time).
. ./lib.sh

if ! command -v hl-ioctl-fuzz > /dev/null; then
	hl_fail "hl-ioctl-fuzz is installed"
	hl_exit
fi
seconds=${HL_FUZZ_SECONDS:-20}
seed=${HL_FUZZ_SEED:-$(date +%s)}

hl_check_nodes
pids= i=0
for node in $HL_NODES; do
	n=${node#/dev/hl}
	hl-ioctl-fuzz -s $((seed + i)) -t "$seconds" -j 4 "$node" /dev/hl_controlD$n \
		> /tmp/fuzz.$n 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
i=0
for pid in $pids; do
	set -- $HL_NODES
	shift $i
	n=${1#/dev/hl}
	wait "$pid"
	rc=$?
	grep '^#' /tmp/fuzz.$n
	hl_check "hl$n: fuzzed for $seconds s (seed $((seed + i))), every errno documented" \
		[ $rc = 0 ]
	rm -f /tmp/fuzz.$n
	i=$((i + 1))
done

for node in $HL_NODES; do
	n=${node#/dev/hl}
	hl_check "hl$n: DMA still copies after the fuzzing" \
		hl-thunk dma-test -d "$n" --size 64K
done
hl_check "the module unloads with every file closed" rmmod habanalabs
hl_check "and loads again" insmod "$HL_MODULE"
hl_check "every device bound again" hl_poll 30 hl_all_bound
hl_exit
