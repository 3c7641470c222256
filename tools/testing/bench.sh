#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks the driver against references measured in the same run (make
# bench). A benchmark, not a test: slow numbers never fail it, only a
# number that could not be measured does.
#
#   bench.sh [--size BYTES] [--iterations K]
#
# On the host, hlsim --bench-memcpy times the model's own copy of BYTES
# (default 64M); in the VM (run.sh --bench), hl-thunk bench times the null
# ioctl and a NOP submission's round trip (K times each, default 1000) and
# a host-to-device LIN_DMA of BYTES. Prints the numbers and two ratios: the
# round trip over the null ioctl, and the DMA's throughput over the model's
# memcpy. Logs in build/vm/: bench.log (the guest's output), bench-run.log
# (run.sh's), console.log and hlsim.log.
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
args+=(--size "$size")

logs=$HL_BUILD/vm
hlsim=${CARGO_TARGET_DIR:-$HL_BUILD/target}/release/hlsim
mkdir -p "$logs"

# value KEY TEXT: the number after KEY= in TEXT, if positive.
value() {
	grep -o "\b$1=[0-9.]*" <<< "$2" | head -n 1 | cut -d= -f2 |
		awk '$1 > 0 { print $1 }'
}

declare -A v
echo "bench: model memcpy of $size on the host"
memcpy=$("$hlsim" --bench-memcpy "$size" 2>&1)
v[memcpy_mb_per_s]=$(value mb_per_s "$memcpy")
if [ -z "${v[memcpy_mb_per_s]}" ]; then
	echo "bench: not measured: the model's memcpy"
	head -n 5 <<< "$memcpy" | sed 's/^/    /'
	exit 1
fi

echo "bench: booting the VM for hl-thunk bench ${args[*]}"
guest=$("$HL_TOP/tools/vm/run.sh" --bench "${args[@]}" 2> "$logs/bench-run.log" | tr -d '\r')
rc=$?
missing=()
for key in null_ioctl_us cs_roundtrip_us dma_h2d_bytes dma_h2d_mb_per_s; do
	v[$key]=$(value $key "$guest")
	[ -n "${v[$key]}" ] || missing+=("$key")
done
if [ ${#missing[@]} != 0 ]; then
	echo "bench: not measured: ${missing[*]}; the guest's output ($logs/bench.log):"
	tail -n 20 <<< "$guest" | sed 's/^/    /'
	[ $rc = 0 ] || echo "  run.sh exited with $rc: $logs/bench-run.log, $logs/console.log"
	exit 1
fi
[ $rc = 0 ] || echo "bench: run.sh exited with $rc after the numbers ($logs/bench-run.log)"

rounds=$(sed -n 's/^cs_roundtrip_us=.* iterations=\([0-9]*\).*/\1/p' <<< "$guest")
echo
echo "make bench, $(date -u '+%F %H:%M UTC'): ${v[dma_h2d_bytes]} bytes, $rounds round trips (medians)"
awk -v null="${v[null_ioctl_us]}" -v cs="${v[cs_roundtrip_us]}" \
    -v dma="${v[dma_h2d_mb_per_s]}" -v memcpy="${v[memcpy_mb_per_s]}" '
function row(name, x, unit, note,    line) {
	line = sprintf("  %-36s %10.1f %s", name, x, unit)
	if (note != "")
		line = sprintf("%-55s %s", line, note)
	print line
}
BEGIN {
	row("null ioctl (INFO, control node)", null, "us")
	row("CS round trip (one NOP job, dma0)", cs, "us",
	    sprintf("%.1fx the null ioctl", cs / null))
	row("DMA host -> device (LIN_DMA, guest)", dma, "MB/s",
	    sprintf("%.3gx the model memcpy", dma / memcpy))
	row("model memcpy (hlsim, host)", memcpy, "MB/s")
}'
