#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ETS under sustained load, on port 3 of devices 0 (sender, $a) and 1
# (receiver, $b), each in its own network namespace: two UDP flows at
# priorities 1 and 2 (SO_PRIORITY), mapped by dcb's prio-tc to traffic
# classes 1 and 2 and so to TX queues 1 and 2, keep a 2 Mbit/s link (the
# model's LINK_RATE) saturated with more frames waiting in each queue
# than the device holds. The link is shared as dcb ets says: 75/25,
# then 50/50, each over a window of seconds in which the smaller class
# alone sends more than the device held of it when the window opened. (A
# strict class is hlsim's test: here it would starve the other's queue
# into the transmit watchdog.) Measured twice: the bytes each class sent
# (tx_tcN_bytes, ethtool -S of the sender) and the bytes of each flow the
# receiver got (flower filters at its ingress).
. ./lib.sh

PORT=3
RATE=2
# Seconds of a window.
WINDOW=8
# Bytes of a 1472-byte datagram on the wire, and what 256 of them
# (BACKLOG_FRAMES, the most of each TX queue the device holds) make.
FRAME=1514
BACKLOG=$((256 * FRAME))

set -- $HL_DEVS
a=$(hl_port_if "$1" $PORT)
b=$(hl_port_if "$2" $PORT)
if [ -z "$a" ] || [ -z "$b" ]; then
	hl_fail "port $PORT of both devices has a netdev"
	hl_exit
fi
hl_diag "sender $a ($1 p$PORT), receiver $b ($2 p$PORT)"

# lib.sh's clean-up deletes the hl* namespaces and resets LINK_RATE.
ip netns add hl-ets-a
ip netns add hl-ets-b
ip link set "$a" netns hl-ets-a
ip link set "$b" netns hl-ets-b
A() { ip netns exec hl-ets-a "$@"; }
B() { ip netns exec hl-ets-b "$@"; }
A ip addr add 10.78.0.1/24 dev "$a"
B ip addr add 10.78.0.2/24 dev "$b"
A ip link set "$a" up
B ip link set "$b" up
hl_check "link up" A ping -c 1 -W 5 10.78.0.2

# The receiver counts the frames of each flow at its ingress: UDP ports
# 5001 (priority 1) and 5002 (priority 2), filter preferences 1 and 2.
B tc qdisc add dev "$b" clsact
for prio in 1 2; do
	B tc filter add dev "$b" ingress protocol ip pref $prio flower ip_proto udp \
		dst_port 500$prio action pass
done

# waiting Q: the frames waiting in the sender's qdisc of TX queue Q (its
# mq child :Q+1), on top of what the ring and the device hold.
waiting() {
	A tc -s -j qdisc show dev "$a" | jq ".[] | select(.parent == \":$(($1 + 1))\") | .qlen"
}

# snap X: sets X1 and X2 to the bytes TC 1 and TC 2 sent so far (ethtool
# -S of the sender), rX1 and rX2 to those the receiver got of each flow,
# tX to the time in ms.
snap() {
	eval "$(A ethtool -S "$a" | awk -v x="$1" '
		$1 == "tx_tc1_bytes:" { t1 = $2 }
		$1 == "tx_tc2_bytes:" { t2 = $2 }
		END { printf "%s1=%d %s2=%d\n", x, t1, x, t2 }')"
	eval "t$1=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)"
	eval "$(B tc -s -j filter show dev "$b" ingress | jq -r --arg x "$1" '
		.[] | select(.options) |
		"r\($x)\(.pref)=\(.options.actions[0].stats.bytes)"')"
}

# share X Y: X's percentage of X + Y (0 if both are 0).
share() { [ $(($1 + $2)) -gt 0 ] && echo $(($1 * 100 / ($1 + $2))) || echo 0; }

# within X Y LOW HIGH: X's share of X + Y is LOW to HIGH percent, X is
# more than the backlog and, unless HIGH is 100, so is Y.
within() {
	_s=$(share "$1" "$2")
	[ "$1" -gt $BACKLOG ] && { [ "$4" -eq 100 ] || [ "$2" -gt $BACKLOG ]; } &&
		[ "$_s" -ge "$3" ] && [ "$_s" -le "$4" ]
}

# deep: both queues have 256 frames waiting in the host.
deep() { [ "$(waiting 1)" -ge 256 ] && [ "$(waiting 2)" -ge 256 ]; }

# timeouts: the transmit watchdog's timeouts of the sender's TX queues.
timeouts() {
	A sh -c "cat /sys/class/net/$a/queues/tx-*/tx_timeout" | awk '{ n += $1 } END { print n + 0 }'
}

# window NAME LOW HIGH: over WINDOW s, TC 1 sends LOW to HIGH percent of
# the bytes, and so much of TC 1's flow reaches the receiver; each class
# sends more than the device held of it when the window opened, and frames
# still wait in the host at its end: the link, not the senders, was the
# bottleneck. The link's rate is what the model kept up (a host short of
# CPU makes it slower than LINK_RATE; it may also starve the senders, so
# that the queues run dry, or stop a queue long enough for the transmit
# watchdog, whose restart of the port empties the rings and the device:
# such a window is measured again, at most twice, once both queues are
# deep again).
window() {
	for try in 1 2 3; do
		hl_poll 60 deep
		w0=$(timeouts)
		snap s
		sleep $WINDOW
		snap e
		w1=$(waiting 1) w2=$(waiting 2)
		if [ "$(timeouts)" -ne "$w0" ]; then
			hl_diag "$1: the transmit watchdog restarted the port in window $try"
		elif [ $((${w1:-0} + ${w2:-0})) -eq 0 ]; then
			hl_diag "$1: the senders fell behind the link in window $try"
		else
			break
		fi
	done
	hl_check "$1: a window without a watchdog restart" [ "$(timeouts)" -eq "$w0" ]
	d1=$((e1 - s1)) d2=$((e2 - s2)) r1=$((re1 - rs1)) r2=$((re2 - rs2))
	ms=$((te - ts))
	hl_diag "$1: in $ms ms ($(((d1 + d2) * 8 / ms)) kbit/s) TC 1 sent $d1 bytes," \
		"TC 2 $d2; the receiver got $r1 and $r2; waiting at the end: $w1 and $w2"
	hl_check "$1: TC 1 sends $2-$3 % of the bytes ($(share $d1 $d2) %)" \
		within $d1 $d2 $2 $3
	hl_check "$1: the receiver gets $2-$3 % on TC 1's flow ($(share $r1 $r2) %)" \
		within $r1 $r2 $2 $3
	hl_check "$1: frames still wait in the host" [ $((${w1:-0} + ${w2:-0})) -gt 0 ]
}

set_ets() {
	A dcb ets set dev "$a" tc-tsa all:ets "$@" prio-tc all:0 1:1 2:2
}

set_ets tc-bw 0:0 1:75 2:25 3:0 4:0 5:0 6:0 7:0
hl_check "ETS 75/25 reaches the device" \
	[ "$(hl_port_rd "$1" $PORT $HL_PORT_TC_BW)" -eq $((0x194b00)) ]

# The flows, each socket with room for some 900 frames in the host
# (SO_SNDBUFFORCE, 2 MiB), until killed; ip netns exec becomes timeout,
# which passes the kill on to socat, and ends it anyway after 900 s. At
# 1 Mbit/s until both queues have 256 frames waiting beyond the ring and
# the device: then neither runs dry in a window if the guest is slow.
hl_link_rate "$1" $PORT 1
pids=
for prio in 1 2; do
	ip netns exec hl-ets-a timeout 900 socat -u -b 1472 OPEN:/dev/zero \
		UDP-DATAGRAM:10.78.0.2:500$prio,setsockopt-int=1:12:$prio,setsockopt-int=1:32:2097152 \
		2> /dev/null &
	pids="$pids $!"
done
hl_check "both queues fill up" hl_poll 60 deep
hl_diag "waiting: $(waiting 1) and $(waiting 2) frames"
hl_link_rate "$1" $PORT $RATE

# 75/25: three to one. At 2 Mbit/s TC 2 sends some 330 frames in the
# window, more than the 256 the device held of its queue.
window "75/25" 72 78

# 50/50: even; a 3:1 result here would fail, as 1:1 fails above.
set_ets tc-bw 0:0 1:50 2:50 3:0 4:0 5:0 6:0 7:0
window "50/50" 46 54

kill $pids
# What the flows left goes out at once.
hl_link_rate "$1" $PORT 0
wait
A dcb ets set dev "$a" tc-tsa all:ets tc-bw all:0 0:100 prio-tc all:0

hl_exit
