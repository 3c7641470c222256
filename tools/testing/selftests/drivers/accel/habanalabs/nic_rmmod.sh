#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Removing the driver under traffic: floods run over four pairs of wired
# ports (iperf3 TCP, iperf3 UDP, iperf3 TCP the other way, socat from
# /dev/zero) while habanalabs is removed. The removal must finish and take
# the ports along; after insmod every device is bound with all its ports
# again and traffic flows. What the removal leaks or breaks, check.sh finds
# in the kernel log.
. ./lib.sh

# rx_bytes NS IF
rx_bytes() {
	ip -n "$1" -j -s link show dev "$2" | jq '.[0].stats64.rx.bytes'
}

# grows NS IF FROM: IF received a MiB more than FROM bytes.
grows() { [ "$(rx_bytes "$1" "$2")" -ge $(($3 + 1048576)) ]; }

# listening NS PORT: a TCP socket listens on PORT in NS.
listening() {
	ip netns exec "$1" cat /proc/net/tcp /proc/net/tcp6 |
		grep -q "^ *[0-9]*: [0-9A-F]*:$(printf %04X "$2") [0-9A-F:]* 0A "
}

# iperf I ARG...: an iperf3 server in pair I's B and a client in A with ARGs,
# both in the background.
iperf() {
	_i=$1
	shift
	ip netns exec "hlb$_i" iperf3 -s -1 > /dev/null 2>&1 &
	hl_poll 20 listening "hlb$_i" 5201 || hl_diag "pair $_i: no iperf3 server"
	ip netns exec "hla$_i" iperf3 -c "$(hl_addr "$_i" 2)" -t 120 "$@" > /dev/null 2>&1 &
}

# ports_gone: the pairs' namespaces hold no Ethernet interface.
ports_gone() {
	for _i in 0 1 2 3; do
		for _ns in hla$_i hlb$_i; do
			[ "$(ip -n $_ns -o link show | grep -c link/ether)" -eq 0 ] || return 1
		done
	done
}

hl_nic_setup || hl_fail "wired port pairs"
hl_check "four pairs at least" [ "$(echo "$HL_PAIRS" | wc -l)" -ge 4 ]
[ $hl_nfail = 0 ] || hl_exit
for i in 0 1 2 3; do
	set -- $(echo "$HL_PAIRS" | sed -n "$((i + 1))p")
	eval "a$i=$1 b$i=$2"
	hl_check "pair $i ($1, $2): each end in a namespace, up" hl_pair_up $i "$1" "$2"
	hl_check "pair $i: carrier" hl_poll 20 hl_carrier "hla$i" "$1"
done

iperf 0
iperf 1 -u -b 200M
iperf 2 -R
ip netns exec hlb3 socat -u TCP4-LISTEN:7000 /dev/null > /dev/null 2>&1 &
ip netns exec hla3 socat -u /dev/zero "TCP4:$(hl_addr 3 2):7000,retry=100,interval=0.1" \
	> /dev/null 2>&1 &
# Pair 2's client receives (-R).
for i in 0 1 2 3; do
	eval "rx_ns=hlb$i rx_if=\$b$i"
	[ $i = 2 ] && eval "rx_ns=hla$i rx_if=\$a$i"
	hl_check "pair $i: traffic flows" \
		hl_poll 30 grows $rx_ns "$rx_if" "$(rx_bytes $rx_ns "$rx_if")"
done

hl_check "rmmod habanalabs under traffic" timeout 120 rmmod habanalabs
if [ -z "$HL_NET_PAIRS" ]; then
	hl_check "no auxiliary Ethernet device is left" \
		[ -z "$(ls "$HL_AUX" | grep '^habanalabs\.eth\.')" ]
	hl_check "the ports left their namespaces" ports_gone
fi
hl_check "insmod" hl_load
hl_check "every device bound" hl_all_bound
for i in 0 1 2 3; do
	hl_ns_del hla$i
	hl_ns_del hlb$i
done
hl_nic_setup || hl_fail "wired port pairs after insmod"
set -- $(echo "$HL_PAIRS" | head -n 1)
hl_check "pair 0 ($1, $2): each end in a namespace, up" hl_pair_up 0 "$1" "$2"
hl_check "pair 0: carrier" hl_poll 20 hl_carrier hla0 "$1"
hl_check "pair 0: ping B from A" hl_ping hla0 "$(hl_addr 0 2)"
hl_exit
