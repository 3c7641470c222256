#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The carrier follows the link, on the first and the last pair of wired
# ports: when one end is set down the other loses its carrier (operstate
# DOWN), and when it is set up again both have their carrier back and pings
# pass; the same when the model takes the link down (PORT_FAULTS.LINK_DOWN)
# and back up. Then one end goes down and up again at once, 20 times: the
# other end's link changes twice while its interrupt may be masked, and its
# carrier must still come back each time. On the model's ports, A's
# device counts each time its link went down (ethtool netlink's
# link_down_events, ext-down-cnt).
. ./lib.sh

# down_events NS IF: IF's link down events, from ethtool netlink.
down_events() {
	_idx=$(ip netns exec "$1" cat "/sys/class/net/$2/ifindex") || return 1
	(cd $HL_KSFT/drivers/net && ip netns exec "$1" python3 -c '
import sys
from lib.py import EthtoolFamily
r = EthtoolFamily().linkstate_get({"header": {"dev-index": int(sys.argv[1]), "flags": "stats"}})
print(r["ext-down-cnt"])
' "$_idx")
}

# downs_grew WHAT N: A's link down events grew by N since the last call
# (the first sets the base).
downs=
downs_grew() {
	_now=$(down_events "hla$i" "$a")
	hl_check "$1: A's link down events $downs -> $_now, $2 more" is "$_now" $((downs + $2))
	downs=$_now
}
# is VALUE N: VALUE is the number N.
is() { [ -n "$1" ] && [ "$1" -eq "$2" ]; }

# flap PAIR NS IF PEER_NS PEER_IF I: IF's peer down, then up.
flap() {
	ip -n "$4" link set dev "$5" down
	hl_check "$1: $5 down, $3 loses its carrier" hl_poll 10 hl_no_carrier "$2" "$3"
	ip -n "$4" link set dev "$5" up
	both_back "$1: $5 up again" "$6"
}

# flap_fast PAIR I N: B down and up at once, N times, both carriers back
# after each.
flap_fast() {
	_k=0
	while [ $_k -lt "$3" ]; do
		ip -n "hlb$2" link set dev "$b" down && ip -n "hlb$2" link set dev "$b" up &&
			hl_poll 10 hl_carrier "hla$2" "$a" && hl_poll 10 hl_carrier "hlb$2" "$b" ||
			break
		_k=$((_k + 1))
	done
	hl_check "$1: B down and up at once $3 times, both carriers back each time" \
		[ $_k = "$3" ]
}

# both_back WHAT I: both ends of pair I have their carrier and pings pass.
both_back() {
	hl_check "$1: carrier at A" hl_poll 10 hl_carrier "hla$2" "$a"
	hl_check "$1: carrier at B" hl_poll 10 hl_carrier "hlb$2" "$b"
	hl_check "$1: ping B from A" hl_ping "hla$2" "$(hl_addr "$2" 2)"
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
i=0
for line in 1 $(echo "$HL_PAIRS" | wc -l); do
	set -- $(echo "$HL_PAIRS" | sed -n "${line}p")
	a=$1 b=$2 pair="pair $i ($1, $2)"
	port=
	if [ -z "$HL_NET_PAIRS" ]; then
		port=$(hl_if_port "$a")
		hl_check "$pair: A is port ${port:-?} of the model" [ -n "$port" ]
	fi
	hl_check "$pair: each end in a namespace, up" hl_pair_up $i "$a" "$b"
	both_back "$pair" $i
	[ -z "$port" ] || downs=$(down_events "hla$i" "$a")
	flap "$pair" hla$i "$a" hlb$i "$b" $i
	flap "$pair" hlb$i "$b" hla$i "$a" $i
	[ -z "$port" ] || downs_grew "$pair: two flaps" 2
	flap_fast "$pair" $i 20
	if [ -n "$port" ]; then
		downs_grew "$pair: 20 fast flaps" 20
		hl_port_fault $port $HL_PORT_FAULT_LINK_DOWN
		hl_check "$pair: LINK_DOWN at $port, A loses its carrier" \
			hl_poll 10 hl_no_carrier hla$i "$a"
		hl_check "$pair: LINK_DOWN at $port, B loses its carrier" \
			hl_poll 10 hl_no_carrier hlb$i "$b"
		hl_port_fault $port 0
		both_back "$pair: LINK_DOWN cleared" $i
		downs_grew "$pair: LINK_DOWN" 1
	else
		hl_pass "$pair: LINK_DOWN # SKIP $a is not a port of the model"
	fi
	hl_check "$pair: back in the initial namespace" hl_pair_down $i "$a" "$b"
	i=$((i + 1))
done
hl_exit
