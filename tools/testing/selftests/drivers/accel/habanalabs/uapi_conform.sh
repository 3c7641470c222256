#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Conformance to Linux 6.1's habanalabs uAPI: hl-uapi-conform
# (uapi_conform.c, built by tools/vm/initramfs.sh against the system's
# <misc/habanalabs.h>, not ours) drives every ioctl and op of that header on
# each device's compute node /dev/hlN and control node /dev/hl_controlDN
# and checks mainline GAUDI's answers; its cases are this test's. The
# huge pages its MAP_HUGETLB cases map are reserved for the run.
. ./lib.sh

if ! command -v hl-uapi-conform > /dev/null; then
	hl_fail "hl-uapi-conform is installed"
	hl_exit
fi

hl_check_nodes
# Its MAP_HUGETLB cases map up to 3 huge pages at a time.
hl_hugepages 3
for node in $HL_NODES; do
	n=${node#/dev/hl}
	hl_check "hl$n: a control node /dev/hl_controlD$n" [ -c /dev/hl_controlD$n ]
	hl_merge hl-uapi-conform "$node" /dev/hl_controlD$n
done
hl_hugepages_restore
hl_exit
