#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The fault campaign (make campaign, not part of make check): every device
# fault the model injects, HL_CAMPAIGN_COUNT times each (default 100), on
# device 0 while pings run over port 0 (device 0 to device 1, each end in
# a namespace) and submissions run on device 1 throughout and on device 0
# around the fault, then HL_CAMPAIGN_COUNT unload/load cycles of the driver
# under traffic. The faults: an engine hang (the watchdog times the job
# out), a mailbox hang at bind, the link down, a corrupted loopback under
# ethtool -t, hostile mode (then a rebind) and the device vanishing (then
# a rebind). Each round must end with device 0 serving again: a DMA test
# and a ping over port 0; a port's fault must not fail device 0's DMA
# tests meanwhile. One TAP result per fault with its count, time and
# device 0's DMA tests; at the end device 1 must have run DMA tests, all
# passed, and both devices compute and pass TCP traffic. make check's
# judges of the VM run do the rest: no splat, kmemleak finds no leak.
# HL_CAMPAIGN_FAULTS (default: all, in the order below) names the faults
# to run, so that a long campaign can be split over several runs.
. ./lib.sh

count=${HL_CAMPAIGN_COUNT:-100}
faults=${HL_CAMPAIGN_FAULTS:-engine_hang mailbox_hang link_down loopback_corrupt hostile vanish reload}
tmp=/tmp/$HL_TEST.$$
n=0
dev=$(hl_dev_pci 0)
dev1=$(hl_dev_pci 1)
[ -n "$dev" ] && [ -n "$dev1" ] || hl_skip "needs /dev/hl0 and /dev/hl1"
# NOP, NOP: a value word, then ctl with the opcode in [28:24].
printf '\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\012' > $tmp.nop
dd if=/dev/urandom of=$tmp.data bs=1024 count=256 2> /dev/null
hl_diag "$count rounds of each fault on $dev"

# --- Traffic and submissions -------------------------------------------

# pair_up: port 0 of both devices, each in its namespace, up with a
# carrier (after a rebind or reload the netdevs are new).
pair_up() {
	ip netns list | grep -q '^hla0' && hl_ns_del hla0
	ip netns list | grep -q '^hlb0' && hl_ns_del hlb0
	hl_poll 20 hl_all_ports_here "$dev" && hl_poll 20 hl_all_ports_here "$dev1" ||
		return 1
	ifa=$(hl_port_if "$dev" 0) ifb=$(hl_port_if "$dev1" 0)
	hl_pair_up 0 "$ifa" "$ifb" > /dev/null && hl_poll 30 hl_carrier hla0 "$ifa"
}

# ping_start, ping_stop: pings every 0.1 s over port 0 meanwhile. ip netns
# exec runs ping in a child of its own, which killing ip would leave
# running: the shell inside the namespace writes its PID, which ping takes.
ping_start() {
	rm -f $tmp.ping
	ip netns exec hla0 sh -c "echo \$\$ > $tmp.ping; exec ping -q -i 0.1 $(hl_addr 0 2)" \
		> /dev/null 2>&1 &
	ping_pid=$!
}
ping_stop() {
	hl_poll 10 [ -s $tmp.ping ]
	kill "$(cat $tmp.ping)" 2> /dev/null
	wait "$ping_pid" 2> /dev/null
}

# number_in FILE: the number in FILE, 0 if there is none.
number_in() { cat "$1" 2> /dev/null || echo 0; }

# load_loop N FILE: DMA tests on /dev/hlN until FILE goes; counts them in
# FILE.ok and FILE.failed, on top of what they counted. A test still
# running when FILE goes is ended (its submissions in flight as the file
# closes) and not counted. Its callers send its stderr to /dev/null, where
# the shell reports that kill.
load_loop() {
	_ok=$(number_in "$2.ok") _failed=$(number_in "$2.failed")
	while [ -e "$2" ]; do
		timeout 120 hl-thunk dma-test -d "$1" --size 64K > /dev/null 2>&1 &
		echo $! > "$2.pid"
		if wait $!; then
			_ok=$((_ok + 1))
		elif [ -e "$2" ]; then
			_failed=$((_failed + 1))
		fi
		echo $_ok > "$2.ok"
		echo $_failed > "$2.failed"
	done
}

# load_stop FILE PID: ends load_loop PID of FILE and its test in flight.
load_stop() {
	rm -f "$1"
	kill "$(cat "$1.pid" 2> /dev/null)" 2> /dev/null
	wait "$2"
}

# load0_start, load0_stop: submissions on device 0 around a fault (it has
# one compute user at a time: none while a round submits itself).
load0_start() {
	: > $tmp.load0
	load_loop 0 $tmp.load0 2> /dev/null &
	load0_pid=$!
}
load0_stop() {
	load_stop $tmp.load0 "$load0_pid"
}

# serving: device 0 copies and port 0 passes a ping; what failed is in
# $tmp.serve.
serving() {
	timeout 120 hl-thunk dma-test -d 0 --size 64K > $tmp.serve 2>&1 || return 1
	hl_poll 30 hl_carrier hla0 "$ifa" || { echo "no carrier at $ifa" >> $tmp.serve; return 1; }
	hl_ping hla0 "$(hl_addr 0 2)" && return
	ping_trace 2>&1 | sed "s/^/# /"
	hl_poll 20 hl_ping hla0 "$(hl_addr 0 2)" ||
		{ echo "no ping over $ifa" >> $tmp.serve; return 1; }
}

# counters: port 0's device counters on both devices (frames sent and
# received, dropped for the link, filtered, no RX buffer) and each end's
# packets sent and received as the interface counts them.
counters() {
	for _d in "$dev" "$dev1"; do
		for _c in $HL_COUNTER_TX_FRAMES $HL_COUNTER_RX_FRAMES $HL_COUNTER_TX_DROPPED \
			$HL_COUNTER_RX_FILTERED $HL_COUNTER_RX_NO_BUFFER; do
			printf '%s ' "$(hl_port_counter "$_d" 0 $_c)"
		done
	done
	ip -n hla0 -s link show dev "$ifa" | awk 'NR == 4 || NR == 6 { printf "%s ", $2 }'
	ip -n hlb0 -s link show dev "$ifb" | awk 'NR == 4 || NR == 6 { printf "%s ", $2 }'
}

# ping_trace: while a ping fails, the processes running most and what
# three pings move: where the requests and replies stop, or what else
# fills the link.
ping_trace() {
	echo "  processes: $(ps -o comm | sort | uniq -c | sort -rn | head -n 5 | tr -s ' \n' ' ')"
	_before=$(counters)
	_pings=$(ip netns exec hla0 ping -c 3 -i 0.2 -W 2 "$(hl_addr 0 2)" 2>&1 |
		grep 'packets transmitted')
	_after=$(counters)
	echo "$_before" "$_after" | awk -v pings="$_pings" '{
		n = NF / 2
		split("A:tx A:rx A:dropped_link A:filtered A:no_buffer B:tx B:rx B:dropped_link B:filtered B:no_buffer a:rx_packets a:tx_packets b:rx_packets b:tx_packets", name, " ")
		printf "  while a ping failed, 3 pings (%s) moved:", pings
		for (i = 1; i <= n; i++) printf " %s +%d", name[i], $(i + n) - $i
		printf "\n" }'
}

# state: what the two ends of port 0 show, after a failed round: flags,
# neighbours, the device's non-zero counters, the packets passed and the
# bytes each TX queue has in flight; and whether a ping passes now.
state() {
	hl_diag "  ping now: $(ip netns exec hla0 ping -c 3 -i 0.2 -W 2 "$(hl_addr 0 2)" 2>&1 |
		grep 'packets transmitted')"
	for _d in "$dev" "$dev1"; do
		_q=$HL_PORT_TXQ0
		hl_diag "  $_d port 0: LINK_STATUS $(hl_port_rd "$_d" 0 $HL_PORT_LINK_STATUS)," \
			"TX_DRAINING $(hl_port_rd "$_d" 0 $HL_PORT_TX_DRAINING), TX queue 0 CI" \
			"$(hl_port_rd "$_d" 0 $((_q + HL_Q_CI))) PI $(hl_port_rd "$_d" 0 $((_q + HL_Q_PI)))," \
			"faults $(hl_rd "$_d" $((HL_CTL_PORT_FAULTS)))"
	done
	for _end in "hla0 $ifa" "hlb0 $ifb"; do
		set -- $_end
		hl_diag "  $1 $2: $(ip -n "$1" -o link show dev "$2" 2>&1 | grep -o '<[^>]*>')," \
			"neighbours: $(ip -n "$1" neigh show dev "$2" 2>&1 | tr '\n' ' ')"
		ip netns exec "$1" ethtool -S "$2" 2>&1 |
			awk '$2 ~ /^[1-9]/ && !/_bytes|pause/ { printf "#     %s %s\n", $1, $2 }'
		hl_diag "    RX, TX bytes packets errors dropped: $(ip -n "$1" -s link show dev "$2" |
			awk 'NR == 4 || NR == 6 { printf "%s %s %s %s; ", $1, $2, $3, $4 }')"
		hl_diag "    BQL inflight per TX queue: $(ip netns exec "$1" sh -c \
			"cat /sys/class/net/$2/queues/tx-*/byte_queue_limits/inflight" | tr '\n' ' ')"
	done
}

# --- The faults ---------------------------------------------------------

# A job hangs on dma0; the watchdog times it out and resets the queue.
round_engine_hang() {
	hl_wr "$dev" $HL_CTL_ENGINE_HANG 1
	hl-thunk submit -d 0 --queue dma0 --timeout 1000 $tmp.nop > $tmp.out 2>&1
	_rc=$?
	hl_wr "$dev" $HL_CTL_ENGINE_HANG 0
	[ $_rc -ne 0 ] && grep -qi 'timed out' $tmp.out
}

# The mailbox hangs: bind fails in time, and works once it is cleared.
round_mailbox_hang() {
	hl_unbind "$dev" || return 1
	hl_set_faults "$dev" $HL_FAULT_MAILBOX_HANG
	hl_bind "$dev" > /dev/null 2>&1
	_rc=$?
	hl_set_faults "$dev" 0
	[ $_rc -ne 0 ] && hl_unbound "$dev" && hl_bind "$dev" && pair_up
}

# The link goes down at port 0 and comes back.
round_link_down() {
	load0_start
	hl_port_fault "$dev" 0 $HL_PORT_FAULT_LINK_DOWN
	hl_poll 10 hl_no_carrier hla0 "$ifa"
	_rc=$?
	hl_port_fault "$dev" 0 0
	load0_stop
	[ $_rc = 0 ]
}

# Port 0 corrupts what it loops back: its self-test fails, then passes.
round_loopback_corrupt() {
	load0_start
	hl_port_fault "$dev" 0 $HL_PORT_FAULT_LOOPBACK_CORRUPT
	ip netns exec hla0 ethtool -t "$ifa" offline > $tmp.out 2>&1
	_rc=$?
	hl_port_fault "$dev" 0 0
	load0_stop
	[ $_rc -ne 0 ] && ip netns exec hla0 ethtool -t "$ifa" offline > $tmp.out 2>&1
}

# Hostile for 2 s under submissions and pings, then a rebind clears what
# the acts left in the registers.
round_hostile() {
	hl_wr "$dev" $HL_CTL_HOSTILE_SEED $((seed + r))
	hl_wr "$dev" $HL_CTL_HOSTILE_RATE 256
	load0_start
	hl_set_faults "$dev" $HL_FAULT_HOSTILE
	sleep 2
	hl_set_faults "$dev" 0
	load0_stop
	acts=$((acts + $(hl_rd "$dev" $HL_CTL_HOSTILE_EVENTS)))
	hl_unbind "$dev" && hl_bind "$dev" && pair_up
}

# The device vanishes under submissions: the watchdog notices, unbind is
# quick, and it binds again once back.
round_vanish() {
	load0_start
	hl_mark
	hl_set_faults "$dev" $HL_FAULT_VANISH
	hl_poll 20 hl_log_has "$dev" "the device is gone"
	_rc=$?
	load0_stop
	hl_unbind "$dev"
	hl_set_faults "$dev" 0
	[ $_rc = 0 ] && hl_bind "$dev" && pair_up
}

# Unload and load the driver with pings on port 0 (no compute user: it
# would hold the module).
round_reload() {
	load_stop $tmp.load1 "$load1_pid"
	rmmod habanalabs && hl_load && hl_poll 20 hl_all_bound && pair_up
	_rc=$?
	: > $tmp.load1
	load_loop 1 $tmp.load1 2> /dev/null &
	load1_pid=$!
	return $_rc
}

# compute_spared NAME: fault NAME leaves compute alone (a port's fault):
# device 0's DMA tests around it must all pass. Under the others they may
# fail, with an errno and in time, which serving then shows.
compute_spared() {
	case $1 in
	link_down | loopback_corrupt) ;;
	*) return 1 ;;
	esac
}

# campaign_passed NAME: every round served again, and device 0's DMA
# tests passed if NAME spares compute.
campaign_passed() {
	[ $_failed = 0 ] && { ! compute_spared "$1" || [ $_failed0 = 0 ]; }
}

# campaign NAME: HL_CAMPAIGN_COUNT rounds of round_NAME with pings
# running, each followed by serving; one result, with the time taken and
# device 0's DMA tests around the rounds, and the count so far every ten
# rounds (a long campaign stopped early still tells).
campaign() {
	_start=$(hl_uptime) _failed=0 r=0
	_ok0=$(number_in $tmp.load0.ok) _failed0=$(number_in $tmp.load0.failed)
	while [ $r -lt "$count" ]; do
		r=$((r + 1))
		rm -f $tmp.out $tmp.serve
		ping_start
		"round_$1"
		_rc=$?
		ping_stop
		_why=
		if [ $_rc != 0 ]; then
			_why="the fault's steps (status $_rc)"
		elif ! serving; then
			_why="not serving again"
		fi
		if [ -n "$_why" ]; then
			_failed=$((_failed + 1))
			hl_diag "$1: round $r failed: $_why"
			sed 's/^/#   /' $tmp.out $tmp.serve 2> /dev/null | tail -n 20
			state
			# The next round needs the device back.
			hl_set_faults "$dev" 0
			hl_bound "$dev" || hl_bind "$dev"
			pair_up || hl_diag "$1: port 0 is not back"
		fi
		[ $((r % 10)) = 0 ] &&
			hl_diag "$1: $((r - _failed)) of $r rounds so far ($(($(hl_uptime) - _start)) s)"
	done
	_t=$(($(hl_uptime) - _start))
	_ok0=$(($(number_in $tmp.load0.ok) - _ok0)) _failed0=$(($(number_in $tmp.load0.failed) - _failed0))
	hl_check "$1: $((count - _failed)) of $count rounds served again ($_t s; device 0's DMA tests around them: $_ok0 passed, $_failed0 failed)" \
		campaign_passed "$1"
	times="$times $1=${_t}s"
}

seed=${HL_HOSTILE_SEED:-$(date +%s)}
acts=0 times= ifa= ifb=
hl_check "port 0 pair up" pair_up
: > $tmp.load1
load_loop 1 $tmp.load1 2> /dev/null &
load1_pid=$!
for f in $faults; do
	campaign $f
done
load_stop $tmp.load1 "$load1_pid"
hl_diag "times:$times; hostile seed $seed, $acts acts"
ok1=$(number_in $tmp.load1.ok) failed1=$(number_in $tmp.load1.failed)
hl_check "device 1 served throughout ($ok1 DMA tests, $failed1 failed)" \
	[ $((ok1 > 0 && failed1 == 0)) = 1 ]
for i in 0 1; do
	hl_check "device $i: a TPC job" hl-thunk submit -d $i --queue tpc0 $tmp.nop
	hl_check "device $i: DMA" hl-thunk dma-test -d $i --size 1M
done
hl_check "TCP over port 0" hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" $tmp.data
hl_check "TCP over port 0, back" hl_tcp_xfer hlb0 hla0 "$(hl_addr 0 1)" $tmp.data
rm -f $tmp.*
hl_exit
