#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DCB with iproute2's dcb on port 2 of devices 0 (sender, $a) and 1
# (receiver, $b), each in its own network namespace: PFC, ETS and DCBX
# settings round-trip and reach the device, and change what it does:
# with PFC a receiver out of buffers pauses the sender instead of
# dropping, and ETS shares a slow link by the configured bandwidth.
. ./lib.sh

PORT=2

set -- $HL_DEVS
a=$(hl_port_if "$1" $PORT)
b=$(hl_port_if "$2" $PORT)
if [ -z "$a" ] || [ -z "$b" ]; then
	hl_fail "port $PORT of both devices has a netdev"
	hl_exit
fi
hl_diag "sender $a ($1 p$PORT), receiver $b ($2 p$PORT)"
port_rd() { hl_port_rd "$1" $PORT "$2"; }
counter() { hl_port_counter "$1" $PORT "$2"; }
has() { echo "$1" | grep -qE "$2"; }

# lib.sh's clean-up deletes the hl* namespaces and resets LINK_RATE.
ip netns add hl-dcb-a
ip netns add hl-dcb-b
ip link set "$a" netns hl-dcb-a
ip link set "$b" netns hl-dcb-b
A() { ip netns exec hl-dcb-a "$@"; }
B() { ip netns exec hl-dcb-b "$@"; }
A ip addr add 10.77.0.1/24 dev "$a"
B ip addr add 10.77.0.2/24 dev "$b"
A ip link set "$a" up
B ip link set "$b" up
hl_check "link up" A ping -c 1 -W 5 10.77.0.2

# --- DCBX --------------------------------------------------------------------------
hl_check "DCBX is host-managed IEEE" has "$(A dcb dcbx show dev "$a")" "host.*ieee|ieee.*host"
hl_check "DCBX CEE is refused" hl_not A dcb dcbx set dev "$a" cee
hl_check "DCBX host ieee is accepted" A dcb dcbx set dev "$a" host ieee

# --- PFC ---------------------------------------------------------------------------
A dcb pfc set dev "$a" prio-pfc all:off 3:on
hl_check "PFC round-trips" has "$(A dcb pfc show dev "$a" prio-pfc)" "3:on"
hl_check "PFC_EN is 0x08" [ "$(port_rd "$1" $HL_PORT_PFC_EN)" -eq 8 ]
hl_check "pfc-cap is 8" has "$(A dcb pfc show dev "$a" pfc-cap)" "pfc-cap 8"
A dcb pfc set dev "$a" prio-pfc all:off

# A receiver that takes its time: a small RX ring and the longest interrupt
# delay the device has, so that a burst finds it out of buffers.
B ethtool -G "$b" rx 64
hl_check "the receiver's RX interrupt is held back" \
	B ethtool -C "$b" rx-usecs "$HL_COAL_USECS_MAX" rx-frames 0
B ip link set "$b" up
A ping -c 1 -W 5 10.77.0.2 > /dev/null
# burst: 1000 UDP datagrams of 1000 bytes at priority 0, broadcast so that
# the receiver sends nothing back (its transmit interrupts would poll RX),
# from a packet socket as fast as the sender goes. The ring runs out only
# if more than 64 frames come within one interrupt delay (65 ms at most):
# 400 datagrams from socat did not in a loaded guest; these come with
# less work each, and in more delays.
burst() {
	_t0=$(cut -d' ' -f1 /proc/uptime)
	A mausezahn "$a" -q -c 1000 -d 0 -p 1000 -b ff:ff:ff:ff:ff:ff \
		-A 10.77.0.1 -B 10.77.0.255 -t udp "sp=4000,dp=9" 2> /dev/null
	hl_diag "1000 datagrams sent in $_t0 .. $(cut -d' ' -f1 /proc/uptime) s"
}
nobuf=$(counter "$2" $HL_COUNTER_RX_NO_BUFFER)
burst
hl_check "without PFC the receiver drops for want of buffers" \
	[ "$(counter "$2" $HL_COUNTER_RX_NO_BUFFER)" -gt "$nobuf" ]

B dcb pfc set dev "$b" prio-pfc 0:on
hl_check "receiver PFC_EN is 0x01" [ "$(port_rd "$2" $HL_PORT_PFC_EN)" -eq 1 ]
nobuf=$(counter "$2" $HL_COUNTER_RX_NO_BUFFER)
txp=$(counter "$2" $HL_COUNTER_TX_PAUSE)
rxp=$(counter "$1" $HL_COUNTER_RX_PAUSE)
burst
hl_check "with PFC the receiver sends pauses" [ "$(counter "$2" $HL_COUNTER_TX_PAUSE)" -gt "$txp" ]
hl_check "with PFC the sender sees pauses" [ "$(counter "$1" $HL_COUNTER_RX_PAUSE)" -gt "$rxp" ]
hl_check "with PFC nothing is dropped for want of buffers" \
	[ "$(counter "$2" $HL_COUNTER_RX_NO_BUFFER)" -eq "$nobuf" ]
requests=$(B dcb -s pfc show dev "$b" requests)
hl_check "PFC requests count the pauses sent ($requests)" has "$requests" "0:[1-9]"
B dcb pfc set dev "$b" prio-pfc all:off
B ethtool -C "$b" rx-usecs 0 rx-frames 0
B ethtool -G "$b" rx 512

# --- ETS ---------------------------------------------------------------------------
A dcb ets set dev "$a" tc-tsa all:ets tc-bw 0:0 1:75 2:25 3:0 4:0 5:0 6:0 7:0 \
	prio-tc all:0 1:1 2:2
ets=$(A dcb ets show dev "$a")
hl_check "ETS round-trips (tc-bw)" has "$ets" "1:75 2:25"
hl_check "ETS round-trips (prio-tc)" has "$ets" "1:1 2:2"
hl_check "TC_BW reaches the device" [ "$(port_rd "$1" $HL_PORT_TC_BW)" -eq $((0x194b00)) ]
hl_check "PRIO_TC reaches the device" [ "$(port_rd "$1" $HL_PORT_PRIO_TC)" -eq $((0x210)) ]
hl_check "TC_TSA reaches the device" [ "$(port_rd "$1" $HL_PORT_TC_TSA)" -eq 255 ]
hl_check "bandwidths not summing to 100 are refused" \
	hl_not A dcb ets set dev "$a" tc-bw 0:50 1:20 2:20 3:0 4:0 5:0 6:0 7:0

# Bursts of 150 and 100 full-size datagrams at priorities 1 and 2
# (broadcast, so that nothing comes back to end a sender early) fit in the
# device's 256-frame backlog (BACKLOG_FRAMES in the model), where ETS shares
# the link. At 1 Mbit/s TC 1 takes about 2.4 s to run out; in a window of
# 60 kB (half a second) while both classes wait, it sends three times TC 2's
# bytes. Each sender's socket has room for its whole burst (SO_SNDBUFFORCE,
# 1 MiB), so that the window opens as soon as both are queued, not once
# enough went out to make room; and it is counted in bytes, not in this
# shell's time, which a loaded host stretches.
# snap X: sets X1 and X2 to the bytes TC 1 and TC 2 sent so far, read at
# one time by ethtool -S.
snap() {
	eval "$(A ethtool -S "$a" | awk -v x="$1" '
		$1 == "tx_tc1_bytes:" { t1 = $2 }
		$1 == "tx_tc2_bytes:" { t2 = $2 }
		END { printf "%s1=%d %s2=%d\n", x, t1, x, t2 }')"
}
hl_link_rate "$1" $PORT 1
snap b
for burst in 1:150 2:100; do
	A socat -u -b 1472 OPEN:/dev/zero,readbytes=$((${burst#*:} * 1472)) \
		UDP-DATAGRAM:10.77.0.255:9,broadcast,setsockopt-int=1:12:${burst%:*},setsockopt-int=1:32:1048576 \
		2>/dev/null &
done
wait
snap s
for _ in $(seq 50); do
	sleep 0.1
	snap e
	[ $((e1 + e2 - s1 - s2)) -ge 60000 ] && break
done
d1=$((e1 - s1)) d2=$((e2 - s2)) all1=$((e1 - b1))
hl_diag "in the window: TC 1 sent $d1 bytes, TC 2 $d2; TC 1 in all $all1"
hl_check "TC 1 still had frames waiting when the window closed" \
	[ $all1 -lt $((150 * 1514)) ]
three_to_one() {
	[ "$d2" -gt 0 ] && [ $((d1 * 10 / d2)) -ge 20 ] && [ $((d1 * 10 / d2)) -le 45 ]
}
hl_check "ETS: TC 1 gets about three times TC 2" three_to_one
hl_link_rate "$1" $PORT 0
A dcb ets set dev "$a" tc-tsa all:ets tc-bw all:0 0:100 prio-tc all:0

hl_exit
