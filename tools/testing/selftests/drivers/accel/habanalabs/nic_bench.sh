#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The network half of make bench, not a selftest: tools/vm/init runs it in
# the VM after hl-thunk bench. Over the first pair of wired habanalabs
# ports, a veth pair and the two virtio-net NICs run.sh --bench puts on a
# QEMU hub, each end in a namespace of its own, it measures TCP throughput
# (iperf3), UDP throughput at 10 Gbit/s offered (received rate and loss)
# and ping latency (iputils, 200 pings 10 ms apart), and prints them as
# KIND_KEY=VALUE lines for tools/testing/bench.sh.
#
#   nic_bench.sh [SECONDS]   each iperf3 run's length, default 5
. ./lib.sh

secs=${1:-5}
json=/tmp/nic_bench.json

# iperf I ARG...: iperf3 from pair I's A to its B for $secs, JSON in $json.
iperf() {
	_i=$1
	shift
	ip netns exec "hla$_i" iperf3 -c "$(hl_addr "$_i" 2)" -t "$secs" -J "$@" > $json
}

# bench KIND I IFA IFB: the numbers of one pair of interfaces.
bench() {
	hl_pair_up "$2" "$3" "$4" && hl_poll 20 hl_carrier "hla$2" "$3" &&
		hl_poll 20 hl_carrier "hlb$2" "$4" || hl_diag "$1: $3 and $4 are not up"
	ip netns exec "hlb$2" iperf3 -s > /dev/null 2>&1 &
	hl_poll 10 hl_ping "hla$2" "$(hl_addr "$2" 2)"
	iperf "$2" && echo "$1_tcp_mbps=$(jq '.end.sum_received.bits_per_second / 1e6' $json)"
	iperf "$2" -u -b 10G &&
		echo "$1_udp_mbps=$(jq '.end.sum_received.bits_per_second / 1e6' $json)" \
			"$1_udp_loss_pct=$(jq '.end.sum_received.lost_percent' $json)"
	ip netns exec "hla$2" ping -c 200 -i 0.01 "$(hl_addr "$2" 2)" |
		sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | sort -n |
		awk -v k="$1" '{ t[NR] = $1 * 1000; sum += t[NR] }
			NR == 200 { printf "%s_ping_avg_us=%.1f %s_ping_median_us=%.1f\n",
				k, sum / NR, k, (t[100] + t[101]) / 2 }'
	hl_pair_down "$2" "$3" "$4"
}

# virtio_nics: the virtio-net interfaces.
virtio_nics() {
	for _i in /sys/class/net/*; do
		[ "$(readlink -f "$_i/device/driver")" = /sys/bus/virtio/drivers/virtio_net ] &&
			echo "${_i##*/}"
	done
}

hl_nic_setup > /dev/null
set -- $(echo "$HL_PAIRS" | head -n 1)
[ $# = 2 ] && bench habanalabs 0 "$1" "$2"
ip link add hlbench0 type veth peer name hlbench1 && bench veth 1 hlbench0 hlbench1
ip link del hlbench0
set -- $(virtio_nics)
[ $# = 2 ] && bench virtio 2 "$1" "$2"
