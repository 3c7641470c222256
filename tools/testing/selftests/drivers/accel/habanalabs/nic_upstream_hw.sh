#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own drivers/net/hw selftests, ethtool.sh (if the port has
# two link modes to force), ethtool_extended_state.sh and loopback.sh, on
# the first pair of wired ports, both ends in one namespace (the scripts
# put each in a VRF); ethtool_extended_state.sh's port without a cable is
# the first port of the second pair, unplugged by the model
# (PORT_FAULTS.LINK_DOWN).
# pp_alloc_fail.py is skipped with its reason.
# ethtool_rmon.sh sends 30000 frames for each of 40 histogram buckets, some
# 40 minutes under TCG: it runs with HL_UPSTREAM_RMON=1, e.g.
#   HL_UPSTREAM_RMON=1 HL_TEST_TIMEOUT=4000 HL_VM_TIMEOUT=4200 \
#	make check T=nic_upstream_hw.sh
# Each upstream case is a TAP line here, with its SKIP or XFAIL
# reason; the test fails if a case fails or a script breaks before
# reporting its cases.
. ./lib.sh

# hw_test NAME SECONDS [VAR=VALUE...]: drivers/net/hw/NAME on both ends, in
# namespace hlu, for at most SECONDS, with the variables given. The links
# come up at once here: the scripts need not wait 5 s after they do
# (WAIT_TIME) nor 20 s for them (WAIT_TIMEOUT), nor send 10 pings where 3
# tell (PING_COUNT).
hw_test() {
	_start=$(hl_uptime) _name=$1 _secs=$2
	shift 2
	(cd $HL_KSFT/drivers/net/hw &&
		ip netns exec hlu env WAIT_TIME=1 WAIT_TIMEOUT=5 PING_COUNT=3 "$@" \
			timeout "$_secs" bash "./$_name" "$a" "$b" > $HL_KSFT_OUT 2>&1)
	hl_ksft_report "drivers/net/hw/$_name" $? $_start
}

# both_in NS: a new namespace NS with $a and $b.
both_in() {
	ip netns add "$1" && ip link set dev "$a" netns "$1" &&
		ip link set dev "$b" netns "$1"
}

# both_out NS: $a and $b back in this namespace, NS deleted.
both_out() {
	ip -n "$1" link set dev "$a" netns 1 && ip -n "$1" link set dev "$b" netns 1 &&
		hl_ns_del "$1"
}

# link_modes NS IF: how many link modes IF supports.
link_modes() {
	ip netns exec "$1" ethtool "$2" | sed -n '/Supported link modes:/,/:/p' |
		grep -o '[0-9]*base[^ ]*' | wc -l
}

hl_check "the kernel's selftests are in the VM" [ -d $HL_KSFT/drivers/net/hw ]
hl_nic_setup || hl_fail "wired port pairs"
[ $hl_nfail = 0 ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
hl_check "$a and $b in namespace hlu" both_in hlu
modes=$(link_modes hlu "$a")
if [ "$modes" -ge 2 ]; then
	hw_test ethtool.sh 900
else
	hl_pass "drivers/net/hw/ethtool.sh # SKIP $a has $modes link modes, the test forces two"
fi
hw_test loopback.sh 120
c=$(echo "$HL_PAIRS" | sed -n '2s/ .*//p')
cport=$(hl_if_port "$c")
if [ -n "$cport" ] && ip link set dev "$c" netns hlu; then
	hl_port_fault $cport $HL_PORT_FAULT_LINK_DOWN
	hw_test ethtool_extended_state.sh 300 NETIF_NO_CABLE="$c"
	hl_port_fault $cport 0
	hl_check "$c back in the initial namespace" ip -n hlu link set dev "$c" netns 1
else
	hl_fail "drivers/net/hw/ethtool_extended_state.sh: a port to unplug (${c:-none})"
fi
# pp_alloc_fail.py makes page_pool_alloc_pages fail through fail_function
# while it checks that 15000 frames a second still arrive.
if [ -d /sys/kernel/debug/fail_function ]; then
	hl_pass "drivers/net/hw/pp_alloc_fail.py # SKIP it wants 15000 RX frames/s, far above what TCG carries"
else
	hl_pass "drivers/net/hw/pp_alloc_fail.py # SKIP no fail_function in debugfs (CONFIG_FAIL_FUNCTION is off in the test kernel)"
fi
if [ "${HL_UPSTREAM_RMON:-0}" = 1 ]; then
	hw_test ethtool_rmon.sh 3900
else
	hl_pass "drivers/net/hw/ethtool_rmon.sh # SKIP about 40 minutes under TCG; HL_UPSTREAM_RMON=1 runs it"
fi
hl_check "$a and $b back in the initial namespace" both_out hlu
hl_exit
