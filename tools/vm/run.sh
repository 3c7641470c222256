#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test kernel in QEMU (TCG) with two hlsim devices (or four) and
# a foreign ivshmem device, habanalabs.ko and the selftests in the
# initramfs, and build/vm/netroot (initramfs.sh) shared read-only over 9p.
#
#   run.sh [--devices 2|4] [--kunit] [MODE]
#
# --devices 4 gives the VM four devices, wired as a 2-cube: port p of
# device 0 to port p of device 1, and of device 2 to device 3, but port 9,
# which links device 0 with device 2 and device 1 with device 3; its logs
# go to build/vm/four/ instead of build/vm/. --kunit boots with
# kunit.enable=1, so that KUnit runs the kernel crate's doctests at boot
# and the driver's suite when it loads (the kunit.sh selftest); its logs go
# to build/vm/kunit/. MODE is one of:
#
#   (none)                 interactive: the guest loads the driver, lists the
#                          bound devices and gives a shell when stdin is a
#                          terminal (poweroff -f or Ctrl-A x to leave)
#   --test [NAME...]       runs the selftests (all of the VM's, see
#                          tools/vm/init, or the named ones); the
#                          kselftest TAP goes to build/vm/tap.log and to
#                          stdout, the console to build/vm/console.log
#   --bench [ARG...]       runs hl-thunk bench ARGs (no commas) in the
#                          guest, with port 0 of both devices up for its
#                          RDMA part (hl_thunk_bench.sh), then the network
#                          benchmark (nic_bench.sh)
#                          with two more NICs, virtio-net on a QEMU hub, as
#                          its reference; the output goes to
#                          build/vm/bench.log and to stdout, the console to
#                          build/vm/console.log
#
# The guest has 1 GiB of RAM, or HL_VM_RAM (QEMU's -m syntax, e.g. 12G);
# a run of hl_thunk_open.sh alone gets 12 GiB unless HL_VM_RAM says
# otherwise: HabanaAI's memory tests pin 5 GiB (memory's
# map_bigger_than_4GB) and 8 GiB (dma_dram's entire-DRAM test, two 2 MiB
# buffers for each 16 MiB of GAUDI's 31.5 GiB of DRAM) of host memory.
# The guest RAM file is sparse: the host gives only what the guest
# touches. RAM past 2 GiB is at guest physical addresses from 4 GiB on
# (max-ram-below-4g), where hlsim is told to find it.
# The exit status is QEMU's, 124 when the guest ran out of time
# (HL_VM_TIMEOUT seconds, default 3600). hlsim's output is in
# build/vm/hlsim.log. HL_NET_PAIRS and HL_UPSTREAM_RMON are passed on to
# the selftests (see their lib.sh and nic_upstream_hw.sh), and so are
# HL_CAMPAIGN_COUNT, HL_CAMPAIGN_FAULTS and HL_HOSTILE_SEED (campaign.sh,
# hostile.sh), and
# HLTO_PROGS, HLTO_TIMEOUT, HLTO_NODES, HLTO_ARGS and HLTO_FILTERS
# (hl_thunk_open.sh); HL_TEST_TIMEOUT (seconds) replaces the time limit of
# their settings file.
set -euo pipefail
. "$(dirname "$0")/../build/env.sh"

usage() {
	echo "usage: $0 [--devices 2|4] [--kunit] [--test [NAME...] | --bench [ARG...]]" >&2
	exit 2
}
devices=2
if [ "${1:-}" = --devices ]; then
	[ $# -ge 2 ] || usage
	devices=$2
	shift 2
fi
case $devices in 2 | 4) ;; *) usage ;; esac
kunit=0
if [ "${1:-}" = --kunit ]; then
	kunit=1
	shift
fi
case ${1:-} in
--test) mode=test out=tap.log param=hl.tests; shift ;;
--bench) mode=bench out=bench.log param=hl.bench; shift ;;
'') mode=interactive ;;
*) usage ;;
esac
args=$(IFS=,; echo "$*")
timeout_s=${HL_VM_TIMEOUT:-3600}
ram=${HL_VM_RAM:-}
if [ -z "$ram" ]; then
	ram=1G
	[ "$mode $args" != "test hl_thunk_open.sh" ] || ram=12G
fi
ram_bytes=$(numfmt --from=iec "$ram") || usage
avail_kib=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
[ "$ram_bytes" -le $((avail_kib * 1024)) ] ||
	echo "run.sh: warning: the host has $((avail_kib >> 10)) MiB available," \
		"less than the guest's $ram of RAM" >&2

bzimage=$HL_KOUT/arch/x86/boot/bzImage
hlsim=${CARGO_TARGET_DIR:-$HL_BUILD/target}/release/hlsim
logs=$HL_BUILD/vm
[ $devices = 2 ] || logs+=/four
[ $kunit = 0 ] || logs+=/kunit
mkdir -p "$logs"
for f in "$bzimage" "$hlsim"; do
	[ -e "$f" ] || { echo "$f is missing: run make build" >&2; exit 1; }
done
initramfs=$("$HL_TOP/tools/vm/initramfs.sh")

# Per-run files: guest RAM (shared with hlsim for DMA), the foreign
# device's memory, the ivshmem sockets.
tmp=$(mktemp -d /dev/shm/hl-vm.XXXXXX)
hlsim_pid= qemu_pid=
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	if [ -n "$hlsim_pid" ]; then
		kill "$hlsim_pid" 2>/dev/null || true
		wait "$hlsim_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

truncate -s "$ram" "$tmp/ram"
truncate -s 1M "$tmp/plain"

hlsim_args=(--device sock="$tmp/hl0.sock",size=256M,serial=0xa0000001
	    --device sock="$tmp/hl1.sock",size=256M,serial=0xa0000002)
[ $devices = 2 ] ||
	hlsim_args+=(--device sock="$tmp/hl2.sock",size=256M,serial=0xa0000003
		     --device sock="$tmp/hl3.sock",size=256M,serial=0xa0000004
		     --wire 0:9-2:9 --wire 1:9-3:9)
"$hlsim" --guest-ram "$tmp/ram" --ram-below-4g 2G "${hlsim_args[@]}" > "$logs/hlsim.log" 2>&1 &
hlsim_pid=$!
for _ in $(seq 100); do
	grep -q '^hlsim: ready' "$logs/hlsim.log" && break
	kill -0 "$hlsim_pid" 2>/dev/null || { cat "$logs/hlsim.log" >&2; exit 1; }
	sleep 0.1
done
grep -q '^hlsim: ready' "$logs/hlsim.log" || { echo "hlsim is not ready after 10 s" >&2; exit 1; }

qemu=(qemu-system-x86_64 -accel tcg -machine pc,memory-backend=mem0,max-ram-below-4g=2G
      -m "$ram" -smp 2
      -object memory-backend-file,id=mem0,size="$ram",mem-path="$tmp/ram",share=on
      -chardev socket,path="$tmp/hl0.sock",id=hl0
      -device ivshmem-doorbell,chardev=hl0,vectors=64,addr=0x4
      -chardev socket,path="$tmp/hl1.sock",id=hl1
      -device ivshmem-doorbell,chardev=hl1,vectors=64,addr=0x5
      -object memory-backend-file,id=plain,size=1M,mem-path="$tmp/plain",share=on
      -device ivshmem-plain,memdev=plain,addr=0x6
      -virtfs local,path="$HL_BUILD/vm/netroot",mount_tag=hlnet,security_model=none,readonly=on
      -nic none -kernel "$bzimage" -initrd "$initramfs" -no-reboot)
[ $mode != bench ] ||
	qemu+=(-netdev hubport,id=vn0,hubid=0 -device virtio-net-pci,netdev=vn0,addr=0x7
	       -netdev hubport,id=vn1,hubid=0 -device virtio-net-pci,netdev=vn1,addr=0x8)
# Devices 2 and 3 in slots none of the above takes: the rest keep theirs.
[ $devices = 2 ] ||
	qemu+=(-chardev socket,path="$tmp/hl2.sock",id=hl2
	       -device ivshmem-doorbell,chardev=hl2,vectors=64,addr=0x9
	       -chardev socket,path="$tmp/hl3.sock",id=hl3
	       -device ivshmem-doorbell,chardev=hl3,vectors=64,addr=0xa)
# acpi=noirq: routing a virtio device's INTx through ACPI keeps the AML
# interpreter busy for some 20 s under TCG with KASAN and kmemleak, at
# boot, while the other CPU waits in stop_machine; the BIOS's PIRQ table
# routes it at once. Under TCG on a busy 2-core host a vCPU can go
# unscheduled for tens of seconds; RCU's 21 s stall warning would then
# blame the guest.
cmdline="acpi=noirq console=ttyS0 panic=-1 printk.time=1 log_buf_len=4M"
cmdline+=" rcupdate.rcu_cpu_stall_timeout=300 hl.mode=$mode"
for var in HL_NET_PAIRS HL_UPSTREAM_RMON HL_TEST_TIMEOUT HLTO_PROGS HLTO_TIMEOUT \
	HLTO_NODES HLTO_ARGS HLTO_FILTERS HL_CAMPAIGN_COUNT HL_CAMPAIGN_FAULTS HL_HOSTILE_SEED; do
	[ -z "${!var:-}" ] || cmdline+=" hl.env.$var=$(echo ${!var} | tr ' ' ,)"
done
[ $kunit = 0 ] || cmdline+=" kunit.enable=1"
# The selftests' lib.sh assumes two devices unless told.
[ $devices = 2 ] || cmdline+=" hl.env.HL_NUM_DEVICES=$devices"

if [ $mode != interactive ]; then
	: > "$logs/$out"
	timeout -k 10 "$timeout_s" "${qemu[@]}" -display none -monitor none \
		-serial file:"$logs/console.log" -serial file:"$logs/$out" \
		-append "$cmdline${args:+ $param=$args}" < /dev/null &
	qemu_pid=$!
	tail -n +1 -f --pid=$qemu_pid "$logs/$out" | tr -d '\r' &
	tail_pid=$!
	rc=0
	wait $qemu_pid || rc=$?
	qemu_pid=
	wait $tail_pid
	[ $rc = 124 ] && echo "run.sh: the guest did not finish in $timeout_s s" >&2
	echo "run.sh: console log in $logs/console.log" >&2
	exit $rc
elif [ -t 0 ]; then
	"${qemu[@]}" -nographic -append "$cmdline hl.shell=1"
else
	timeout -k 10 "$timeout_s" "${qemu[@]}" -nographic -append "$cmdline"
fi
