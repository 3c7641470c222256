#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# An all-reduce among four devices by recursive doubling, in the VM of
# four (tools/vm/run.sh --devices 4), wired as a 2-cube: port p of
# /dev/hl0 to port p of /dev/hl1, and of /dev/hl2 to /dev/hl3, but port 9,
# which links /dev/hl0 with /dev/hl2 and /dev/hl1 with /dev/hl3. It brings
# up the Ethernet interfaces of ports 0 and 9 on all four devices (RDMA
# needs them) and runs "hl-rdma-tests --four", with its results as this
# test's: pairs 0-1 and 2-3 sum over port 0, then 0-2 and 1-3 over port 9,
# and every device's sums of 1, 1027 and 2^20 + 3 fp32 elements, special
# values among them, must be the host's (a0 + a1) + (a2 + a3) bit for bit.
. ./lib.sh

ports="0 9"

set -- $HL_DEVS
[ $# -ge 4 ] || hl_skip "four devices of the model needed, $# found (run.sh --devices 4)"
for tool in hl-thunk hl-rdma-tests; do
	if ! command -v $tool > /dev/null; then
		hl_fail "$tool is installed"
		hl_exit
	fi
done

ifs=
for n in 0 1 2 3; do
	d=$(hl_dev_pci $n)
	if ! hl_check "/dev/hl$n is a device of the model ($d)" hl_is_model "$d" ||
		! hl_check "$d: its ports are in this namespace" hl_poll 20 hl_all_ports_here "$d"; then
		hl_exit
	fi
	for p in $ports; do
		ifs="$ifs $(hl_port_if "$d" $p)"
	done
done
for i in $ifs; do
	ip link set dev "$i" up
done
for i in $ifs; do
	hl_check "$i: up, with a carrier" hl_poll 20 hl_if_carrier "$i"
done

hl_merge hl-rdma-tests --four -d 0,1,2,3 -p 0,9

for i in $ifs; do
	ip link set dev "$i" down
done
hl_exit
