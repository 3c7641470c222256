#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Interrupt coalescing on port 3 of devices 0 (A) and 1 (B), each end in a
# network namespace of its own: ethtool -c shows and -C sets rx-usecs,
# rx-frames, tx-usecs, tx-frames and adaptive-rx, which reach every queue's
# COAL_USECS and COAL_FRAMES; values beyond the device's limits are
# refused. Under the same UDP stream (2000 datagrams 1 ms apart) A's TX
# completion interrupts and B's RX interrupts (counted in /proc/interrupts)
# drop once tx-frames/tx-usecs and rx-frames/rx-usecs go up; under a
# flood A skips doorbells while the device is still draining its rings
# (ethtool -S tx_doorbells_skipped) and leaves nothing on them; with
# adaptive-rx, DIM moves B's RX
# moderation away from its starting profile under load and the fixed one
# comes back when it is turned off; a file crosses intact with coalescing
# on both ways.
. ./lib.sh

port=3
set -- $HL_DEVS
deva=$1 devb=$2
a=$(hl_port_if "$deva" $port)
b=$(hl_port_if "$devb" $port)
if [ -z "$a" ] || [ -z "$b" ]; then
	hl_fail "port $port of both devices has a netdev"
	hl_exit
fi
hl_diag "ports: $a ($deva p$port), $b ($devb p$port)"

# The port's vectors: RX queue 0's (also TX and link), then RX queues 1-3'.
vec0=$((6 + port))
vecs_rx="$vec0 $((26 + 3 * port)) $((27 + 3 * port)) $((28 + 3 * port))"

# qreg DEV KIND Q REG: register REG of DEV's TX (KIND tx) or RX queue Q.
qreg() {
	case $2 in
	tx) _base=$HL_PORT_TXQ0 ;;
	*) _base=$HL_PORT_RXQ0 ;;
	esac
	hl_port_rd "$1" $port $((_base + $3 * HL_Q_STRIDE + $4))
}

# all_queues DEV KIND REG VALUE: every queue of KIND holds VALUE in REG.
all_queues() {
	case $2 in
	tx) _n=8 ;;
	*) _n=4 ;;
	esac
	_q=0
	while [ $_q -lt $_n ]; do
		[ "$(qreg "$1" "$2" $_q "$3")" -eq "$4" ] || return 1
		_q=$((_q + 1))
	done
}

# all_taken DEV: the device took every descriptor posted on DEV's TX queues.
all_taken() {
	_q=0
	while [ $_q -lt 8 ]; do
		[ "$(qreg "$1" tx $_q $HL_Q_PI)" = "$(qreg "$1" tx $_q $HL_Q_CI)" ] || return 1
		_q=$((_q + 1))
	done
}

# irqs DEV VECTOR...: the interrupts DEV's MSI-X VECTORs got, over all CPUs.
# The vectors' IRQs are the function's msi_irqs in order.
irqs() {
	_list=$(ls "/sys/bus/pci/devices/$1/msi_irqs" | sort -n)
	shift
	_sum=0
	for _v; do
		_irq=$(echo "$_list" | sed -n "$((_v + 1))p")
		_n=$(awk -v i="$_irq:" '$1 == i && /habanalabs-eth/ {
			for (k = 2; k <= NF && $k ~ /^[0-9]+$/; k++) s += $k; print s + 0 }' \
			/proc/interrupts)
		[ -n "$_n" ] || return 1
		_sum=$((_sum + _n))
	done
	echo $_sum
}

# coal IF: "rx-usecs rx-frames tx-usecs tx-frames adaptive-rx" from ethtool -c.
coal() {
	ip netns exec "$2" ethtool -c "$1" | awk '$1 == "rx-usecs:" { ru = $2 }
		$1 == "rx-frames:" { rf = $2 } $1 == "tx-usecs:" { tu = $2 }
		$1 == "tx-frames:" { tf = $2 }
		$1 == "Adaptive" && $2 == "RX:" { ad = $3 }
		END { print ru, rf, tu, tf, ad }'
}

set_a() { ip netns exec hla0 ethtool -C "$a" "$@"; }
set_b() { ip netns exec hlb0 ethtool -C "$b" "$@"; }

# flood N [USECS]: N 200-byte UDP datagrams from A to B, one flow, USECS
# apart (as fast as A sends by default).
flood() {
	ip netns exec hla0 mausezahn "$a" -q -c "$1" -d "${2:-0}" -p 200 -b "$bmac" \
		-A "$(hl_addr 0 1)" -B "$(hl_addr 0 2)" -t udp "sp=4000,dp=9" 2> /dev/null
}

# flood_irqs: "TX RX": A's TX vector and B's RX vectors' interrupts during
# 2000 datagrams a millisecond apart: a rate at which NAPI goes idle between
# frames (a flood that keeps the guest busy keeps NAPI polling, with the
# interrupts masked whatever the coalescing).
flood_irqs() {
	_ta=$(irqs "$deva" $vec0) && _rb=$(irqs "$devb" $vecs_rx) || return 1
	flood 2000 1000
	sleep 1
	echo $(($(irqs "$deva" $vec0) - _ta)) $(($(irqs "$devb" $vecs_rx) - _rb))
}

hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
bmac=$(ip -n hlb0 -o link show dev "$b" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
hl_poll 10 hl_ping hla0 "$(hl_addr 0 2)"

# --- ethtool -c / -C and the device's limits ------------------------------------
hl_check "ethtool -c: all 0, adaptive-rx off" [ "$(coal "$a" hla0)" = "0 0 0 0 off" ]
hl_check "ethtool -C sets all four" set_a rx-usecs 50 rx-frames 16 tx-usecs 100 tx-frames 32
hl_check "ethtool -c shows them" [ "$(coal "$a" hla0)" = "50 16 100 32 off" ]
hl_check "every TX queue's COAL_USECS is 100" all_queues "$deva" tx $HL_Q_COAL_USECS 100
hl_check "every TX queue's COAL_FRAMES is 32" all_queues "$deva" tx $HL_Q_COAL_FRAMES 32
hl_check "every RX queue's COAL_USECS is 50" all_queues "$deva" rx $HL_Q_COAL_USECS 50
hl_check "every RX queue's COAL_FRAMES is 16" all_queues "$deva" rx $HL_Q_COAL_FRAMES 16
hl_check "rx-usecs $HL_COAL_USECS_MAX (the device's limit) accepted" \
	set_a rx-usecs "$HL_COAL_USECS_MAX"
hl_check "rx-usecs above the limit refused" hl_not set_a rx-usecs $((HL_COAL_USECS_MAX + 1))
hl_check "tx-usecs above the limit refused" hl_not set_a tx-usecs $((HL_COAL_USECS_MAX + 1))
hl_check "rx-frames above the RX ring refused" hl_not set_a rx-frames 513
hl_check "tx-frames above the TX ring refused" hl_not set_a tx-frames 513
hl_check "tx-frames without tx-usecs refused" hl_not set_a tx-usecs 0 tx-frames 8
hl_check "nothing changed by the refusals" \
	[ "$(coal "$a" hla0)" = "$HL_COAL_USECS_MAX 16 100 32 off" ]
hl_check "RX queue 2 still at the limit" \
	[ "$(qreg "$deva" rx 2 $HL_Q_COAL_USECS)" -eq "$HL_COAL_USECS_MAX" ]

# --- interrupts under the same flood ---------------------------------------------
set_a rx-usecs 0 rx-frames 0 tx-usecs 0 tx-frames 0
set_b rx-usecs 0 rx-frames 0 tx-usecs 0 tx-frames 0
set -- $(flood_irqs)
tx0=${1:-0} rx0=${2:-0}
hl_diag "at once: A's TX vector $tx0 interrupts, B's RX vectors $rx0"
hl_check "tx-usecs 20000 tx-frames 128 at A" set_a tx-usecs 20000 tx-frames 128
hl_check "rx-usecs 20000 rx-frames 128 at B" set_b rx-usecs 20000 rx-frames 128
set -- $(flood_irqs)
tx1=${1:-0} rx1=${2:-0}
hl_diag "coalesced: A's TX vector $tx1 interrupts, B's RX vectors $rx1"
both_over() { [ "$1" -gt "$3" ] && [ "$2" -gt "$3" ]; }
hl_check "the flood raised interrupts at once ($tx0 TX, $rx0 RX)" both_over "$tx0" "$rx0" 500
hl_check "TX interrupts at least halved ($tx0 -> $tx1)" [ $((2 * tx1)) -lt "$tx0" ]
hl_check "RX interrupts at least halved ($rx0 -> $rx1)" [ $((2 * rx1)) -lt "$rx0" ]

# --- TX without a doorbell ----------------------------------------------------------
# As fast as A sends, the device is at times still draining A's rings when
# the next datagram is posted.
set_a tx-usecs 0 tx-frames 0
skipped() {
	ip netns exec hla0 ethtool -S "$a" | awk '$1 == "tx_doorbells_skipped:" { print $2 }'
}
skipped0=$(skipped)
rx_before=$(hl_if_stat hlb0 "$b" rx_packets)
flood 20000
sleep 1
skipped1=$(skipped)
rx_after=$(hl_if_stat hlb0 "$b" rx_packets)
hl_check "A skipped doorbells while the device drained (${skipped0:-?} -> ${skipped1:-?})" \
	[ "${skipped1:-0}" -gt "${skipped0:-0}" ]
hl_check "B received the flood ($((rx_after - rx_before)) frames)" \
	[ $((rx_after - rx_before)) -gt 1000 ]
# tx_rings DEV: DEV's TX queues' PI/CI and TX_DRAINING, for a failure's
# trace: after 5 s more, a stuck ring (a lost doorbell) reads the same.
tx_rings() {
	_q=0 _rings=
	while [ $_q -lt 8 ]; do
		_rings="$_rings $(qreg "$1" tx $_q $HL_Q_PI)/$(qreg "$1" tx $_q $HL_Q_CI)"
		_q=$((_q + 1))
	done
	echo "PI/CI:$_rings; TX_DRAINING $(hl_port_rd "$1" $port $HL_PORT_TX_DRAINING)"
}
# A's stack still sends now and then (PI and CI read a frame apart), so
# all_taken is polled: a ring left behind stays so until A sends again.
if hl_poll 5 all_taken "$deva"; then
	hl_pass "nothing left on A's TX rings (every PI taken)"
else
	hl_fail "nothing left on A's TX rings (every PI taken)"
	hl_diag "A's TX rings: $(tx_rings "$deva")"
	sleep 5
	hl_diag "5 s later: $(tx_rings "$deva")"
fi

# --- adaptive-rx ---------------------------------------------------------------
# DIM starts at the kernel's default RX profile (8 us, 256 frames).
set_b rx-usecs 0 rx-frames 0
hl_check "adaptive-rx on at B" set_b adaptive-rx on
hl_check "ethtool -c shows adaptive-rx on" [ "$(coal "$b" hlb0 | cut -d' ' -f5)" = on ]
hl_check "B's RX queues start at DIM's default profile" \
	all_queues "$devb" rx $HL_Q_COAL_USECS 8
seen=/tmp/hl-coal-seen.$$
: > $seen
flood 30000 &
flooder=$!
for i in $(seq 40); do
	for q in 0 1 2 3; do
		qreg "$devb" rx $q $HL_Q_COAL_USECS >> $seen
	done
	sleep 0.1
done
wait $flooder
hl_diag "B's RX COAL_USECS seen under load: $(sort -n $seen | uniq -c | tr '\n' ' ')"
hl_check "DIM moved B's RX moderation under load" grep -qv '^8$' $seen
rm -f $seen
hl_check "adaptive-rx off" set_b adaptive-rx off rx-usecs 30
hl_check "the fixed rx-usecs is back on every RX queue" all_queues "$devb" rx $HL_Q_COAL_USECS 30

# --- traffic with coalescing both ways ---------------------------------------------
set_a tx-usecs 1000 tx-frames 64
set_b adaptive-rx on
file=/tmp/hl-coal-payload.$$
head -c 3000000 /dev/urandom > $file
hl_check "3 MB over TCP arrive intact, coalesced both ways" \
	hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" $file
rm -f $file
hl_check "A pings B" hl_ping hla0 "$(hl_addr 0 2)"

set_a rx-usecs 0 rx-frames 0 tx-usecs 0 tx-frames 0
set_b adaptive-rx off rx-usecs 0 rx-frames 0 tx-usecs 0 tx-frames 0
hl_check "B's RX queues back to 0" all_queues "$devb" rx $HL_Q_COAL_USECS 0
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
hl_exit
