#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The port restart after a transmit timeout, under traffic, on the first
# pair of wired ports: two UDP flows from A, priority 0 on TX queue 0 and
# priority 1 on TX queue 1 (dcb prio-tc), each from a socket whose buffer
# the qdisc fills, the link slowed down to RATE Mbit/s (LINK_RATE) so
# that frames wait in the host. The model stalls TX queue 1
# (PORT_FAULTS.TX_STALL): its ring fills (64 entries, fewer than the
# socket buffer holds), the queue stops, the watchdog times it out and
# the driver restarts the port, ROUNDS times while the stall lasts. Queue
# 0 keeps sending meanwhile, so the NAPI context reclaims its frames while
# the port goes down: after each restart queue 0 must send again before
# the next one (a queue the reclaim woke during the restart stays silent,
# or trips the byte queue limits). Then the stall is cleared: both queues
# send, a TCP transfer arrives intact, and the log has no BQL bug.
. ./lib.sh

ROUNDS=5
RATE=20

[ -z "$HL_NET_PAIRS" ] || hl_skip "needs the model's PORT_FAULTS"
hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
set -- $(hl_if_port "$a")
dev=$1 port=$2
hl_diag "A $a ($dev p$port), B $b"
hl_check "each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 10 hl_carrier hla0 "$a"
hl_check "ping B from A" hl_ping hla0 "$(hl_addr 0 2)"
hl_check "priority 1 to TX queue 1" ip netns exec hla0 dcb ets set dev "$a" \
	tc-tsa all:ets tc-bw all:0 0:50 1:50 prio-tc all:0 1:1
tx_ring=$(ip netns exec hla0 ethtool -g "$a" | awk '$1 == "TX:" { n = $2 } END { print n }')
hl_check "TX rings of 64 entries (were $tx_ring)" ip netns exec hla0 ethtool -G "$a" tx 64
hl_check "carrier at A again" hl_poll 10 hl_carrier hla0 "$a"
hl_mark

# tc_bytes TC: the bytes A's device sent of traffic class TC (ethtool -S).
tc_bytes() {
	ip netns exec hla0 ethtool -S "$a" | awk -v n="tx_tc$1_bytes:" '$1 == n { print $2 }'
}
# above TC BYTES: TC sent more than BYTES.
above() { [ "$(tc_bytes "$1")" -gt "$2" ]; }
# sends TC SECONDS: TC sends within SECONDS.
sends() { hl_poll "$2" above "$1" "$(tc_bytes "$1")"; }
# timeouts: the transmit timeouts the driver logged for the port.
timeouts() { hl_log | grep -c "port $port: transmit timed out"; }
# timed_out N: more than N of them.
timed_out() { [ "$(timeouts)" -gt "$1" ]; }
# carrier_changes: A's carrier changes (a restart makes two).
carrier_changes() { ip netns exec hla0 cat "/sys/class/net/$a/carrier_changes"; }
# back CHANGES: A's carrier is on, after two more changes than CHANGES.
back() { [ "$(carrier_changes)" -ge $(($1 + 2)) ] && hl_carrier hla0 "$a"; }
# bql_bug: the log has BQL's bug, or any kernel BUG.
bql_bug() { hl_log | grep -qE 'dql_completed|kernel BUG'; }

# The flows, until killed: 1472-byte datagrams from sockets of 256 KiB
# (SO_SNDBUFFORCE), priority 1 by SO_PRIORITY.
hl_link_rate "$dev" "$port" $RATE
pids=
for prio in 0 1; do
	ip netns exec hla0 socat -u -b 1472 OPEN:/dev/zero \
		"UDP-DATAGRAM:$(hl_addr 0 2):500$prio,setsockopt-int=1:12:$prio,setsockopt-int=1:32:262144" \
		2> /dev/null &
	pids="$pids $!"
done
hl_check "queue 0 sends" sends 0 10
hl_check "queue 1 sends" sends 1 10

hl_port_fault "$dev" "$port" $((1 << (HL_PORT_FAULT_TX_STALL_SHIFT + 1)))
n=0
while [ $n -lt $ROUNDS ]; do
	changes=$(carrier_changes)
	if ! hl_poll 30 timed_out $n; then
		hl_fail "round $((n + 1)): queue 1 stalled, the transmit watchdog fires"
		break
	fi
	n=$(timeouts)
	hl_check "round $n: the port restarts, carrier at A again" hl_poll 10 back "$changes"
	# Well before the next timeout, 5 s after queue 1 stopped again.
	hl_check "round $n: queue 0 sends again" sends 0 3
done
hl_diag "$(hl_log | grep -c 'NETDEV WATCHDOG.*transmit queue 1 timed out') of" \
	"$(hl_log | grep -c 'NETDEV WATCHDOG') watchdog timeouts were queue 1's"

hl_port_fault "$dev" "$port" 0
hl_check "stall cleared: queue 1 sends again" sends 1 10
hl_check "stall cleared: queue 0 sends" sends 0 3
kill $pids
wait
hl_link_rate "$dev" "$port" 0
ip netns exec hla0 dcb ets set dev "$a" tc-tsa all:ets tc-bw all:0 0:100 prio-tc all:0
ip netns exec hla0 ethtool -G "$a" tx "$tx_ring"
hl_check "carrier at A with its TX rings back" hl_poll 10 hl_carrier hla0 "$a"

payload=/tmp/hl-tx-timeout.$$
head -c 2000000 /dev/urandom > "$payload"
hl_check "a TCP transfer after the restarts arrives intact" \
	hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" "$payload"
rm -f "$payload"
hl_check "no BQL bug in the log" hl_not bql_bug
hl_check "back in the initial namespace" hl_pair_down 0 "$a" "$b"
hl_exit
