#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The compute uAPI through hl-thunk: hl-compute-tests (tools/hl-thunk) runs
# on the first device and prints its own TAP: INFO on both nodes, node
# semantics, command buffers, device and host memory, LIN_DMA and memset,
# every TPC kernel, fences across queues, every abort cause, a hung engine
# (the model's ENGINE_HANG, cleared on exit) and malformed ioctls.
. ./lib.sh

if ! command -v hl-compute-tests > /dev/null; then
	hl_fail "hl-compute-tests is installed"
	hl_exit
fi
hl-compute-tests -d 0
