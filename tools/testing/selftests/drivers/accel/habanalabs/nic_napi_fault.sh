#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A port whose bring-up fails for want of memory: failslab and
# fail_page_alloc, limited to the task that runs ip (/proc/self/make-it-fail),
# fail one allocation of "ip link set dev A up", then of an MTU change of
# A while up (the driver takes the rings down and up around it), at a point
# that moves with the interval, until the driver reports that the port
# could not come up with ENOMEM. After the failed MTU change the interface
# is still up but its port is down: setting it down must return (a second
# napi_disable would spin forever under RTNL), and up again the pair
# passes traffic both ways.
. ./lib.sh

dbg=/sys/kernel/debug
payload=/tmp/$HL_TEST.$$.bin
out=/tmp/$HL_TEST.$$.out

if [ ! -d $dbg/failslab ] || [ ! -d $dbg/fail_page_alloc ] ||
	[ ! -e /proc/self/make-it-fail ]; then
	hl_skip "no failslab, fail_page_alloc or make-it-fail (CONFIG_FAULT_INJECTION_DEBUG_FS)"
fi

# inject_setup: fail only allocations of tasks with make-it-fail set,
# sleeping ones included; order 0 pages stay (min-order 1 is the default),
# and so do user pages (ignore-gfp-highmem).
inject_setup() {
	for f in failslab fail_page_alloc; do
		echo 1 > $dbg/$f/task-filter
		echo N > $dbg/$f/ignore-gfp-wait
		echo 0 > $dbg/$f/space
		echo 1 > $dbg/$f/verbose
	done
}

# inject_off: no more injection.
inject_off() {
	for f in failslab fail_page_alloc; do
		echo 0 > $dbg/$f/probability
		echo 0 > $dbg/$f/times
	done
}

# iproute2's ip, not busybox's applet, for the injected commands.
ip_cmd=ip
[ -x /usr/sbin/ip ] && ip_cmd=/usr/sbin/ip

# inject INTERVAL ARG...: runs ip ARGs with make-it-fail set, failing its
# INTERVAL-th allocation (or so: the count is the attribute's, shared by
# every task with make-it-fail) of each kind, once each; ip's output goes
# to $out.
inject() {
	for f in failslab fail_page_alloc; do
		echo "$1" > $dbg/$f/interval
		echo 1 > $dbg/$f/times
		echo 100 > $dbg/$f/probability
	done
	shift
	sh -c 'echo 1 > /proc/self/make-it-fail && exec "$@"' sh $ip_cmd "$@" > "$out" 2>&1
	_rc=$?
	inject_off
	return $_rc
}

# failed_enomem WHAT: the command failed with ENOMEM and the driver said
# why (WHAT: its message).
failed_enomem() {
	grep -q 'Cannot allocate memory' "$out" && hl_log | grep -q "$1: -12"
}

# sweep DESC WHAT ARG...: ip ARGs under injection, with intervals 1 to
# 400, until it fails with ENOMEM and the driver logged WHAT; $undo runs
# after a try that did not.
sweep() {
	_desc=$1 _what=$2
	shift 2
	_n=1
	while [ $_n -le 400 ]; do
		hl_mark
		if ! inject $_n "$@" && failed_enomem "$_what"; then
			hl_diag "$_desc: ENOMEM with interval $_n: $(head -n 1 "$out")"
			hl_pass "$_desc: failed with ENOMEM"
			return 0
		fi
		eval "$undo"
		_n=$((_n + 1))
	done
	hl_fail "$_desc: failed with ENOMEM (no interval up to 400 made it fail)"
	return 1
}

# down_returns NS IF: "ip link set down" returns within 20 s.
down_returns() {
	ip -n "$1" link set dev "$2" down &
	_pid=$!
	if hl_poll 20 sh -c "! kill -0 $_pid 2> /dev/null"; then
		wait $_pid
		return
	fi
	hl_diag "ip link set dev $2 down still runs after 20 s"
	return 1
}

# traffic DESC: pings both ways and a payload over TCP on pair 0.
traffic() {
	hl_check "$1: carrier at A" hl_poll 20 hl_carrier hla0 "$a"
	hl_check "$1: carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
	hl_check "$1: ping B from A" hl_ping hla0 "$(hl_addr 0 2)"
	hl_check "$1: ping A from B" hl_ping hlb0 "$(hl_addr 0 1)"
	hl_check "$1: payload A to B over TCP" hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" $payload
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
read -r a b <<EOF
$HL_PAIRS
EOF
dd if=/dev/urandom of=$payload bs=1024 count=512 2> /dev/null
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
traffic "before"
inject_setup

# Bring-up: ndo_open fails and the interface stays down.
ip -n hla0 link set dev "$a" down
undo="ip -n hla0 link set dev $a down"
sweep "ip link set dev $a up under injection" "cannot come up" \
	-n hla0 link set dev "$a" up
hl_check "$a: down after the failed up" hl_not hl_carrier hla0 "$a"
hl_check "$a: ip link set down returns" down_returns hla0 "$a"
hl_check "$a: up again" ip -n hla0 link set dev "$a" up
traffic "after a failed up"

# An MTU change while up: the rings come down, and up fails.
undo="ip -n hla0 link set dev $a mtu 1500 up"
sweep "MTU change of $a under injection" "restart failed" \
	-n hla0 link set dev "$a" mtu 1400
down_returns hla0 "$a"
rc=$?
hl_check "$a: ip link set down after the failed restart returns" [ $rc = 0 ]
if [ $rc != 0 ]; then
	# RTNL is held for good: the clean-up would block behind it.
	trap - EXIT
	hl_exit
fi
hl_check "$a: up again at MTU 1500" ip -n hla0 link set dev "$a" mtu 1500 up
traffic "after a failed restart"

inject_off
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
rm -f $payload "$out"
hl_exit
