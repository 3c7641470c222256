#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest's half of make bench, not a selftest: tools/vm/init runs it in
# the VM with the arguments tools/testing/bench.sh gave, before
# nic_bench.sh. It brings up port 0's Ethernet interfaces of /dev/hl0 and
# /dev/hl1 (RDMA needs them) and runs "hl-thunk bench ARG... --dmabuf
# --rdma 0", whose key=value lines bench.sh reads; then it takes the
# interfaces down.
#
#   hl_thunk_bench.sh [ARG...]
. ./lib.sh

port=0

ifs=
for n in 0 1; do
	d=$(hl_dev_pci $n)
	hl_poll 20 hl_all_ports_here "$d" || hl_diag "$d: not all its ports are here"
	ifs="$ifs $(hl_port_if "$d" $port)"
done
for i in $ifs; do
	ip link set dev "$i" up
done
for i in $ifs; do
	hl_poll 20 hl_if_carrier "$i" || hl_diag "$i has no carrier"
done
hl-thunk bench "$@" --dmabuf --rdma $port
rc=$?
for i in $ifs; do
	ip link set dev "$i" down
done
exit $rc
