#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A port's queues: ethtool -l shows 4 RX and 8 TX queues (one per traffic
# class) on every port and -L changes the RX ones; ethtool -x shows the
# Toeplitz key and a table spread over the queues in use, -X changes them;
# on the first pair of wired ports, each end in a network namespace of its
# own, 64 UDP flows land on every RX queue of the receiver (its per-queue
# statistics from netdev netlink, qstats), on queue 0 alone once it has
# one, and frames of priority 1, mapped to traffic class 1 by DCB, leave on
# TX queue 1.
. ./lib.sh

# channels IF: "RX TX" in use, from ethtool -l.
channels() {
	ethtool -l "$1" | awk '/^Current/ { c = 1 } c && $1 == "RX:" { rx = $2 }
		c && $1 == "TX:" { tx = $2 } END { print rx, tx }'
}

# maxima IF: "RX TX" at most.
maxima() {
	ethtool -l "$1" | awk '/^Current/ { exit } $1 == "RX:" { rx = $2 }
		$1 == "TX:" { tx = $2 } END { print rx, tx }'
}

# table IF: the queues the indirection table names, sorted, one per line,
# and "entries N".
table() {
	ethtool -x "$1" | awk '$1 ~ /^[0-9]+:$/ { for (i = 2; i <= NF; i++) { n++; q[$i] = 1 } }
		END { for (k in q) print k; print "entries " n }' | sort
}

# key_bytes IF: the bytes of the RSS key ethtool -x shows.
key_bytes() {
	ethtool -x "$1" | awk '/^RSS hash key/ { getline; print split($0, b, ":") }'
}

# rx_queues IF: the RX queues in sysfs.
rx_queues() { ls -d /sys/class/net/"$1"/queues/rx-* | wc -l; }

# qstats NS IF TYPE: "QUEUE PACKETS" per queue of TYPE (rx or tx) in use,
# from netdev netlink.
qstats() {
	_idx=$(ip netns exec "$1" cat "/sys/class/net/$2/ifindex") || return 1
	(cd $HL_KSFT/drivers/net && ip netns exec "$1" python3 -c '
import sys
from lib.py import NetdevFamily
for q in NetdevFamily().qstats_get({"ifindex": int(sys.argv[1]), "scope": "queue"}, dump=True):
    if q["queue-type"] == sys.argv[2]:
        print(q["queue-id"], q.get(sys.argv[2] + "-packets", 0))
' "$_idx" "$3")
}

# flows: 64 UDP datagrams from A to B, each from its own source port.
flows() {
	ip netns exec hla0 mausezahn "$a" -q -c 1 -b "$bmac" -A "$(hl_addr 0 1)" \
		-B "$(hl_addr 0 2)" -t udp "sp=2000-2063,dp=9" 2> /dev/null
}

# spread N: after flows, B's RX queues 0 to N-1 each got some, no other
# queue is listed, and all 64 arrived.
spread() {
	_before=$(qstats hlb0 "$b" rx) || return 1
	flows || return 1
	sleep 1
	_after=$(qstats hlb0 "$b" rx) || return 1
	hl_diag "$b: RX queue packets before: $(echo $_before), after: $(echo $_after)"
	echo "$_before
---
$_after" | awk -v n="$1" '
		$1 == "---" { after = 1; next }
		!after { before[$1] = $2; next }
		{ d = $2 - before[$1]; sum += d; queues++; if (d > 0) got++ }
		END { exit !(queues == n && got == n && sum >= 64) }'
}

# both_carriers: A and B have a carrier (a restart at one end takes the
# link down at both; each end's carrier follows on its own).
both_carriers() {
	hl_poll 20 hl_carrier hla0 "$a" && hl_poll 20 hl_carrier hlb0 "$b"
}

# on_txq1 PRIO: a 5000-byte datagram at socket priority PRIO (SO_PRIORITY,
# socket option 12) from A to B, and A's TX queue 1 counted packets after
# it. hl_poll repeats it: the first may wait for the neighbour or queue
# behind a carrier that has just come back.
on_txq1() {
	_tx1=$(qstats hla0 "$a" tx | awk '$1 == 1 { print $2 }')
	ip netns exec hla0 socat -u OPEN:/dev/zero,readbytes=5000 \
		"UDP-DATAGRAM:$(hl_addr 0 2):9,setsockopt-int=1:12:$1" || return 1
	sleep 0.2
	[ "$(qstats hla0 "$a" tx | awk '$1 == 1 { print $2 }')" -gt "${_tx1:-0}" ]
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
for i in $(echo $HL_PAIRS); do
	hl_check "$i: at most 4 RX and 8 TX queues (ethtool -l)" [ "$(maxima "$i")" = "4 8" ]
	hl_check "$i: 4 RX and 8 TX queues in use" [ "$(channels "$i")" = "4 8" ]
done
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
hl_check "$a: a 40-byte RSS key" [ "$(key_bytes "$a")" = 40 ]
toeplitz() { ethtool -x "$a" | grep -q '^ *toeplitz: on'; }
hl_check "$a: Toeplitz" toeplitz
hl_check "$a: 128 entries over queues 0 to 3" \
	[ "$(table "$a" | tr '\n' ' ')" = "0 1 2 3 entries 128 " ]
hl_check "$a: ethtool -L rx 2" ethtool -L "$a" rx 2
hl_check "$a: 2 RX queues in use" [ "$(channels "$a")" = "2 8" ]
hl_check "$a: 2 RX queues in sysfs" [ "$(rx_queues "$a")" = 2 ]
hl_check "$a: the table spread over 2" [ "$(table "$a" | tr '\n' ' ')" = "0 1 entries 128 " ]
hl_check "$a: 5 RX queues refused" hl_not ethtool -L "$a" rx 5
hl_check "$a: 4 TX queues refused" hl_not ethtool -L "$a" tx 4
hl_check "$a: ethtool -L rx 4" ethtool -L "$a" rx 4
hl_check "$a: ethtool -X equal 2" ethtool -X "$a" equal 2
hl_check "$a: the table set over 2" [ "$(table "$a" | tr '\n' ' ')" = "0 1 entries 128 " ]
hl_check "$a: fewer RX queues than the table names refused" hl_not ethtool -L "$a" rx 1
hl_check "$a: a new key" ethtool -X "$a" hkey \
	$(seq 1 40 | awk '{ printf "%s%02x", (NR > 1 ? ":" : ""), $1 }')
key_reads_back() { ethtool -x "$a" | grep -A1 '^RSS hash key' | grep -q '^01:02:03:04'; }
hl_check "$a: the key reads back" key_reads_back
hl_check "$a: ethtool -X default" ethtool -X "$a" default
hl_check "$a: the table spread over 4 again" \
	[ "$(table "$a" | tr '\n' ' ')" = "0 1 2 3 entries 128 " ]

hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
bmac=$(ip -n hlb0 -o link show dev "$b" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
hl_check "B: 4 RX queues in qstats" [ "$(qstats hlb0 "$b" rx | wc -l)" = 4 ]
hl_check "B: 8 TX queues in qstats" [ "$(qstats hlb0 "$b" tx | wc -l)" = 8 ]
hl_check "64 flows spread over B's 4 RX queues" spread 4
hl_check "B: ethtool -L rx 1" ip netns exec hlb0 ethtool -L "$b" rx 1
hl_check "carrier again at both ends" both_carriers
hl_check "64 flows all on B's RX queue 0" spread 1
hl_check "B: ethtool -L rx 4" ip netns exec hlb0 ethtool -L "$b" rx 4
hl_check "carrier again at both ends" both_carriers
hl_check "A: priority 1 in traffic class 1 (dcb ets)" ip netns exec hla0 dcb ets set dev "$a" \
	tc-tsa all:ets tc-bw 0:50 1:50 2:0 3:0 4:0 5:0 6:0 7:0 prio-tc all:0 1:1
hl_check "A: datagrams at priority 1 leave on TX queue 1" hl_poll 10 on_txq1 1
# Priority 9: the device takes 3 bits of it, class 1's; so must the stack.
hl_check "A: datagrams at priority 9 leave on TX queue 1 too" hl_poll 10 on_txq1 9
ip netns exec hla0 dcb ets set dev "$a" tc-tsa all:ets tc-bw all:0 0:100 prio-tc all:0
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
hl_exit
