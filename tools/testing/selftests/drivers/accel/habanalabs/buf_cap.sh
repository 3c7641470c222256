#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Buffers that only a mapping keeps count against the compute user's cap
# (1024): command buffers and RDMA completion queues created, mapped and
# destroyed in a loop are refused with ENOSPC before 1100, and can be
# created again once the mappings are gone (hl-buf-cap, buf_cap.c).
. ./lib.sh

if ! command -v hl-buf-cap > /dev/null; then
	hl_fail "hl-buf-cap is installed"
	hl_exit
fi
hl_check_nodes
set -- $HL_NODES
hl_merge hl-buf-cap "$1"
hl_exit
