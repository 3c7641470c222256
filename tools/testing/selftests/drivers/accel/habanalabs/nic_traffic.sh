#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Traffic over every pair of wired ports, each end in a network namespace
# of its own: pings of MTU-sized packets that must not be fragmented both
# ways over IPv4 and IPv6, and a random payload over TCP (socat), its
# sha256 checked at the receiver; at MTU 1500, then at MTU 8000.
. ./lib.sh

payload=/tmp/nic_traffic.bin
dd if=/dev/urandom of=$payload bs=1M count="${HL_PAYLOAD_MIB:-2}" 2>/dev/null

# traffic PAIR I MTU: pings of MTU-sized packets with DF set both ways
# over pair I, and the payload: A to B over IPv4 at MTU 1500, else B to A
# over IPv6.
traffic() {
	_a=hla$2 _b=hlb$2 _v4="-M do -s $(($3 - 28))" _v6="-M do -s $(($3 - 48))"
	hl_check "$1: ping B from A" hl_ping $_a "$(hl_addr "$2" 2)" $_v4
	hl_check "$1: ping A from B" hl_ping $_b "$(hl_addr "$2" 1)" $_v4
	hl_check "$1: ping6 B from A" hl_ping $_a "$(hl_addr6 "$2" 2)" $_v6
	hl_check "$1: ping6 A from B" hl_ping $_b "$(hl_addr6 "$2" 1)" $_v6
	if [ "$3" = 1500 ]; then
		hl_check "$1: payload A to B over TCP" hl_tcp_xfer $_a $_b "$(hl_addr "$2" 2)" $payload
	else
		hl_check "$1: payload B to A over TCP6" hl_tcp_xfer $_b $_a "$(hl_addr6 "$2" 1)" $payload
	fi
}

# set_mtu NS IF MTU: sets the MTU and reads it back.
set_mtu() {
	ip -n "$1" link set dev "$2" mtu "$3" &&
		ip -n "$1" -o link show dev "$2" | grep -q " mtu $3 "
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
i=0
while read -r a b <&3; do
	pair="pair $i ($a, $b)"
	hl_check "$pair: each end in a namespace, up" hl_pair_up $i "$a" "$b"
	hl_check "$pair: carrier at A" hl_poll 20 hl_carrier hla$i "$a"
	hl_check "$pair: carrier at B" hl_poll 20 hl_carrier hlb$i "$b"
	traffic "$pair" $i 1500
	if [ $i = 0 ]; then
		: > $payload.empty
		hl_check "$pair: an empty payload is refused, not compared" \
			hl_not hl_tcp_xfer hla$i hlb$i "$(hl_addr "$i" 2)" $payload.empty
		rm -f $payload.empty
	fi
	hl_check "$pair: MTU 8000 at A" set_mtu hla$i "$a" 8000
	hl_check "$pair: MTU 8000 at B" set_mtu hlb$i "$b" 8000
	traffic "$pair, MTU 8000" $i 8000
	hl_check "$pair: back in the initial namespace" hl_pair_down $i "$a" "$b"
	i=$((i + 1))
done 3<<EOF
$HL_PAIRS
EOF
hl_exit
