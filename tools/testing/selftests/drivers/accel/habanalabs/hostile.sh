#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Both devices turn hostile (the model's HOSTILE fault: random values in
# the registers the device owns, bogus completion and event entries,
# interrupts out of turn, from a seed) while DMA submissions run on both
# and pings cross the first pair of wired ports. Submissions may fail and
# pings may be lost; the driver must not hang (each command is bounded),
# splat or leak (make check's log and kmemleak checks). The model counts
# its hostile acts; the driver counts the events it read. Once the fault
# is cleared, each device is rebound (a reset) and copies again.
# HL_HOSTILE_SECONDS (default 20), HL_HOSTILE_SEED (default: the time),
# HL_HOSTILE_RATE (acts per 1024 ms, default 256).
. ./lib.sh

seconds=${HL_HOSTILE_SECONDS:-20}
seed=${HL_HOSTILE_SEED:-$(date +%s)}
rate=${HL_HOSTILE_RATE:-256}

hl_check_nodes
hl_nic_setup || hl_fail "wired port pairs"
pair=$(echo "$HL_PAIRS" | sed -n 1p)
set -- $pair
hl_check "pair 0 ($1, $2): each end in a namespace, up" hl_pair_up 0 "$1" "$2"
hl_check "pair 0: a ping before" hl_poll 10 hl_ping hla0 "$(hl_addr 0 2)"

i=0
for dev in $HL_DEVS; do
	hl_wr "$dev" $HL_CTL_HOSTILE_SEED $((seed + i))
	hl_wr "$dev" $HL_CTL_HOSTILE_RATE "$rate"
	hl_wr "$dev" $HL_CTL_HOSTILE_EVENTS 0
	i=$((i + 1))
done
hl_diag "seed $seed, $rate acts per 1024 ms, $seconds s"
for dev in $HL_DEVS; do
	hl_set_faults "$dev" $HL_FAULT_HOSTILE
done

# Submissions on every device and pings, until the time is up; each
# command bounded, so that a hang shows as a failure here.
end=$(($(hl_uptime) + seconds))
pids=
for node in $HL_NODES; do
	n=${node#/dev/hl}
	(
		ok=0 failed=0
		while [ "$(hl_uptime)" -lt $end ]; do
			if timeout 120 hl-thunk dma-test -d "$n" --size 64K > /dev/null 2>&1; then
				ok=$((ok + 1))
			else
				failed=$((failed + 1))
			fi
		done
		echo "$ok $failed" > /tmp/hostile.$n
	) &
	pids="$pids $!"
done
# ping -w bounds itself (busybox's timeout would run busybox's ip).
ip netns exec hla0 ping -q -i 0.05 -w "$seconds" "$(hl_addr 0 2)" > /tmp/hostile.ping 2>&1
hl_diag "ping: $(grep -E 'transmitted|loss' /tmp/hostile.ping)"
for pid in $pids; do
	wait "$pid"
done
for node in $HL_NODES; do
	n=${node#/dev/hl}
	set -- $(cat /tmp/hostile.$n 2>/dev/null)
	hl_check "hl$n: submissions ran under the hostile device ($1 completed, $2 failed)" \
		[ $(($1 + $2)) -gt 0 ]
	rm -f /tmp/hostile.$n
done
for dev in $HL_DEVS; do
	hl_set_faults "$dev" 0
	acts=$(hl_rd "$dev" $HL_CTL_HOSTILE_EVENTS)
	hl_check "$dev: the model acted hostile ($acts acts)" [ "$acts" -gt 0 ]
done
rm -f /tmp/hostile.ping
hl_diag "completions for no job, as last logged:" \
	"$(dmesg | grep -o 'queue [0-9]*: completion for unknown tag.*' | tail -n 2 | tr '\n' ' ')"

# What the acts left in the device's registers goes with a reset.
hl_nic_cleanup
for dev in $HL_DEVS; do
	hl_check "$dev: unbinds after the hostile run" hl_unbind "$dev"
	hl_check "$dev: binds again" hl_bind "$dev"
done
hl_check "every device bound" hl_all_bound
for node in /dev/hl[0-9]*; do
	n=${node#/dev/hl}
	hl_check "hl$n: DMA copies again" hl-thunk dma-test -d "$n" --size 64K
done
hl_exit
