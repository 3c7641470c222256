#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks the driver against references measured in the same run (make
# bench). A benchmark, not a test: slow numbers never fail it, only a
# number that could not be measured does.
#
#   bench.sh [--size BYTES] [--iterations K]
#
# On the host, hlsim --bench-memcpy times the model's own copy of BYTES
# (default 64M) and of 16M; in the VM (run.sh --bench), hl-thunk bench
# times the null ioctl and a NOP submission's round trip (K times each,
# default 1000; then, stamped, the CS ioctl alone, the time to the
# completion interrupt and from there to WAIT_CS's return) and the doorbell floor (INFO
# DRAM_PENDING_ROWS: the device answers a mailbox doorbell with an
# interrupt, no engine between), a host-to-device LIN_DMA of BYTES, a copy of BYTES from
# device 0's memory to device 1's through a dma-buf device 1 exports (one
# LIN_DMA of device 0, peer to peer) and through host memory (device 0 to
# a host buffer, device 1 from it), an RDMA WRITE of BYTES from device 0
# to device 1 over port 0, and an all-reduce of 16M of fp32 per device
# between them (WRITEs both ways, then the TPC's ADD). Prints the numbers
# and six ratios: the round trip over the null ioctl and over the floor, the DMA's and the
# WRITE's throughput over the model's memcpy of BYTES, the dma-buf copy's
# over the host path's, and the all-reduce's time over that of the memcpy
# of 16M. Then, from the
# same VM (the selftests' nic_bench.sh), TCP and UDP
# throughput (iperf3) and ping latency over a pair of habanalabs ports, a
# veth pair and two virtio-net NICs on a QEMU hub, each end in a network
# namespace of its own, with the habanalabs numbers over the others. Logs
# in build/vm/: bench.log (the guest's output), bench-run.log (run.sh's),
# console.log and hlsim.log.
set -uo pipefail
. "$(dirname "$0")/../build/env.sh"

usage() { echo "usage: $0 [--size BYTES] [--iterations K]" >&2; exit 2; }
size=64M
args=()
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--size) size=$2 ;;
	--iterations) args+=(--iterations "$2") ;;
	*) usage ;;
	esac
	shift 2
done
# fp32 bytes per device of the all-reduce.
allreduce=16M
args+=(--size "$size" --allreduce "$allreduce")

logs=$HL_BUILD/vm
hlsim=${CARGO_TARGET_DIR:-$HL_BUILD/target}/release/hlsim
mkdir -p "$logs"

# value KEY TEXT: the number after KEY= in TEXT, if positive.
value() {
	grep -o "\b$1=[0-9.]*" <<< "$2" | head -n 1 | cut -d= -f2 |
		awk '$1 > 0 { print $1 }'
}

# not_measured: says which numbers are missing, with the guest's output.
not_measured() {
	echo "bench: not measured: ${missing[*]}; the guest's output ($logs/bench.log):"
	tail -n 20 <<< "$guest" | sed 's/^/    /'
	[ $rc = 0 ] || echo "  run.sh exited with $rc: $logs/bench-run.log, $logs/console.log"
}

declare -A v
kinds=(habanalabs veth virtio)
for bytes in "$size" "$allreduce"; do
	echo "bench: model memcpy of $bytes on the host"
	memcpy=$("$hlsim" --bench-memcpy "$bytes" 2>&1)
	v[memcpy_$bytes]=$(value mb_per_s "$memcpy")
	v[memcpy_seconds_$bytes]=$(value seconds "$memcpy")
	if [ -z "${v[memcpy_$bytes]}" ] || [ -z "${v[memcpy_seconds_$bytes]}" ]; then
		echo "bench: not measured: the model's memcpy of $bytes"
		head -n 5 <<< "$memcpy" | sed 's/^/    /'
		exit 1
	fi
done
v[memcpy_mb_per_s]=${v[memcpy_$size]}

echo "bench: booting the VM for hl-thunk bench ${args[*]}"
guest=$("$HL_TOP/tools/vm/run.sh" --bench "${args[@]}" 2> "$logs/bench-run.log" | tr -d '\r')
rc=$?
missing=()
for key in null_ioctl_us cs_roundtrip_us cs_submit_us cs_completed_us \
	cs_wakeup_us doorbell_floor_us \
	dma_h2d_bytes dma_h2d_mb_per_s \
	dmabuf_p2p_mb_per_s dmabuf_host_mb_per_s \
	rdma_write_mb_per_s allreduce_bytes allreduce_seconds; do
	v[$key]=$(value $key "$guest")
	[ -n "${v[$key]}" ] || missing+=("$key")
done
if [ ${#missing[@]} != 0 ]; then
	not_measured
	exit 1
fi
# UDP loss may be 0.
for kind in "${kinds[@]}"; do
	for key in tcp_mbps udp_mbps ping_avg_us ping_median_us; do
		v[${kind}_$key]=$(value ${kind}_$key "$guest")
		[ -n "${v[${kind}_$key]}" ] || missing+=("${kind}_$key")
	done
	v[${kind}_udp_loss_pct]=$(grep -o "\b${kind}_udp_loss_pct=[0-9.]*" <<< "$guest" |
		head -n 1 | cut -d= -f2)
	[ -n "${v[${kind}_udp_loss_pct]}" ] || missing+=("${kind}_udp_loss_pct")
done
[ $rc = 0 ] || echo "bench: run.sh exited with $rc after the numbers ($logs/bench-run.log)"

rounds=$(sed -n 's/^cs_roundtrip_us=.* iterations=\([0-9]*\).*/\1/p' <<< "$guest")
echo
echo "make bench, $(date -u '+%F %H:%M UTC'): ${v[dma_h2d_bytes]} bytes, $rounds round trips (medians)"
awk -v null="${v[null_ioctl_us]}" -v cs="${v[cs_roundtrip_us]}" \
    -v submit="${v[cs_submit_us]}" -v floor="${v[doorbell_floor_us]}" \
    -v completed="${v[cs_completed_us]}" -v wakeup="${v[cs_wakeup_us]}" \
    -v dma="${v[dma_h2d_mb_per_s]}" -v memcpy="${v[memcpy_mb_per_s]}" \
    -v rdma="${v[rdma_write_mb_per_s]}" -v ar="${v[allreduce_seconds]}" \
    -v p2p="${v[dmabuf_p2p_mb_per_s]}" -v via_host="${v[dmabuf_host_mb_per_s]}" \
    -v ar_bytes="${v[allreduce_bytes]}" -v ar_memcpy="${v[memcpy_seconds_$allreduce]}" '
function row(name, x, unit, note,    line) {
	line = sprintf("  %-36s %10.1f %s", name, x, unit)
	if (note != "")
		line = sprintf("%-55s %s", line, note)
	print line
}
BEGIN {
	mib = sprintf("%d MiB", ar_bytes / 1048576)
	row("null ioctl (INFO, control node)", null, "us")
	row("doorbell floor (mailbox, no engine)", floor, "us",
	    sprintf("%.1fx the null ioctl", floor / null))
	row("CS round trip (one NOP job, dma0)", cs, "us",
	    sprintf("%.1fx the null ioctl, %.2fx the floor", cs / null, cs / floor))
	row("  CS ioctl (the same CSs, stamped)", submit, "us")
	row("  submission to completion irq", completed, "us")
	row("  completion irq to WAIT_CS return", wakeup, "us")
	row("DMA host -> device (LIN_DMA, guest)", dma, "MB/s",
	    sprintf("%.3gx the model memcpy", dma / memcpy))
	row("dma-buf copy device 0 -> 1 (guest)", p2p, "MB/s",
	    sprintf("%.3gx through host memory", p2p / via_host))
	row("host-path copy device 0 -> 1 (guest)", via_host, "MB/s")
	row("RDMA WRITE device 0 -> 1 (guest)", rdma, "MB/s",
	    sprintf("%.3gx the model memcpy", rdma / memcpy))
	row("model memcpy (hlsim, host)", memcpy, "MB/s")
	row("all-reduce, " mib " fp32 each (guest)", ar * 1e3, "ms",
	    sprintf("%.3gx the model memcpy of " mib, ar / ar_memcpy))
	row("model memcpy of " mib " (hlsim, host)", ar_memcpy * 1e3, "ms")
}'
echo
awk -v net="$(for key in "${!v[@]}"; do echo "$key=${v[$key]}"; done)" '
function cell(x) { return x == "" ? sprintf("%11s", "-") : sprintf("%11.1f", x) }
function ratio(a, b) { return a == "" || b == "" || b == 0 ? sprintf("%10s", "-") : sprintf("%10.3g", a / b) }
function row(name, key, ratios,    h, e, o) {
	h = v["habanalabs_" key]; e = v["veth_" key]; o = v["virtio_" key]
	printf "  %-30s%s%s%s", name, cell(h), cell(e), cell(o)
	if (ratios)
		printf "%s%s", ratio(h, e), ratio(h, o)
	printf "\n"
}
BEGIN {
	n = split(net, kv, "\n")
	for (i = 1; i <= n; i++) {
		split(kv[i], p, "=")
		v[p[1]] = p[2]
	}
	printf "  %-30s%11s%11s%11s%10s%10s\n", "network (netns to netns)", "habanalabs",
	       "veth", "virtio-net", "hl/veth", "hl/virtio"
	row("TCP, iperf3 (Mbit/s)", "tcp_mbps", 1)
	row("UDP, 10G offered (Mbit/s)", "udp_mbps", 1)
	row("UDP loss (%)", "udp_loss_pct", 0)
	row("ping RTT, average (us)", "ping_avg_us", 1)
	row("ping RTT, median (us)", "ping_median_us", 1)
}'
if [ ${#missing[@]} != 0 ]; then
	not_measured
	exit 1
fi
