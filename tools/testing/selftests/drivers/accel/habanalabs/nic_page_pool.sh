#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# RX buffers from page pools, as netdev netlink shows them (page-pool-get
# and napi-get, through the kernel's ynl library as the upstream stats.py
# and queues.py use it). On the first pair of wired ports, each end in a
# namespace of its own: each end has one pool per RX queue in use, naming
# its ifindex and a NAPI context of its own among the port's; a full ring's
# pages are in flight; TCP payloads arrive intact both ways (sha256, not
# empty), after which the rings are full again; short frames are copied
# out of their pages (100 datagrams of 64 bytes fit in a socket's default
# receive buffer); the pools follow ethtool -L; a port set down has no
# pool left (a destroyed pool stays listed while pages it lent are in
# flight: none leaked), and up again passes traffic; the device unbound
# with the port up leaves none of its pools behind, and bound again it
# serves.
. ./lib.sh

payload=/tmp/$HL_TEST.$$.bin

# ns_run NS CMD...: CMD in namespace NS, or in this one for NS "-".
ns_run() {
	_ns=$1
	shift
	if [ "$_ns" = - ]; then
		"$@"
	else
		ip netns exec "$_ns" "$@"
	fi
}

# pools NS IF: "ID NAPI-ID INFLIGHT" for each page pool of IF in NS (see ns_run).
pools() {
	_idx=$(ns_run "$1" cat "/sys/class/net/$2/ifindex") || return 1
	(cd $HL_KSFT/drivers/net && ns_run "$1" python3 -c '
import sys
from lib.py import NetdevFamily
for p in NetdevFamily().page_pool_get({}, dump=True):
    if p.get("ifindex") == int(sys.argv[1]):
        print(p["id"], p.get("napi-id", 0), p.get("inflight", -1))
' "$_idx")
}

# all_pool_ids NS: the id of every page pool NS sees, one per line.
all_pool_ids() {
	(cd $HL_KSFT/drivers/net && ns_run "$1" python3 -c '
from lib.py import NetdevFamily
for p in NetdevFamily().page_pool_get({}, dump=True):
    print(p["id"])
')
}

# napis NS IF: the ids of IF's NAPI contexts, one per line.
napis() {
	_idx=$(ns_run "$1" cat "/sys/class/net/$2/ifindex") || return 1
	(cd $HL_KSFT/drivers/net && ns_run "$1" python3 -c '
import sys
from lib.py import NetdevFamily
for n in NetdevFamily().napi_get({"ifindex": int(sys.argv[1])}, dump=True):
    print(n["id"])
' "$_idx")
}

# rx_channels NS IF: the RX queues in use (ethtool -l).
rx_channels() {
	ns_run "$1" ethtool -l "$2" |
		awk '/^Current/ { c = 1 } c && $1 == "RX:" { print $2 }'
}

# rx_ring NS IF: the RX ring's size (ethtool -g).
rx_ring() {
	ns_run "$1" ethtool -g "$2" |
		awk '/^Current/ { c = 1 } c && $1 == "RX:" { print $2 }'
}

# one_per_queue NS IF: IF has one pool per RX queue in use, each with its
# own NAPI context, one of IF's, and pages in flight (its ring's).
one_per_queue() {
	_pools=$(pools "$1" "$2") || return 1
	_n=$(echo "$_pools" | grep -c .)
	_q=$(rx_channels "$1" "$2")
	_napis=$(napis "$1" "$2")
	hl_diag "$2: $_q RX queues, pools (id napi-id inflight): $(echo $_pools)"
	[ "$_n" = "$_q" ] || return 1
	[ "$(echo "$_pools" | awk '{ print $2 }' | sort -u | grep -c .)" = "$_q" ] || return 1
	for _napi in $(echo "$_pools" | awk '{ print $2 }'); do
		echo "$_napis" | grep -qx "$_napi" || { hl_diag "napi-id $_napi is not $2's"; return 1; }
	done
	echo "$_pools" | awk '$3 <= 0 { bad = 1 } END { exit bad }'
}

# ring_full NS IF: each pool of IF has at least its ring's pages in flight
# (netlink counts those the pool caches too): the rings were refilled.
ring_full() {
	_ring=$(rx_ring "$1" "$2")
	_pools=$(pools "$1" "$2") || return 1
	hl_diag "$2: RX ring of $_ring, pools (id napi-id inflight): $(echo $_pools)"
	[ -n "$_pools" ] && [ -n "$_ring" ] &&
		echo "$_pools" | awk -v r="$_ring" '$3 < r { bad = 1 } END { exit bad }'
}

# no_pool NS IF: IF has no page pool.
no_pool() {
	_pools=$(pools "$1" "$2") || return 1
	[ -z "$_pools" ]
}

# none_of IDS NS...: no pool of IDS (a space-separated list) is seen from
# any of the namespaces NS.
none_of() {
	_ids=$1
	shift
	for _ns in "$@"; do
		for _id in $(all_pool_ids "$_ns"); do
			case " $_ids " in *" $_id "*) hl_diag "pool $_id is left in $_ns"; return 1 ;; esac
		done
	done
}

# held_short N: N datagrams of 64 bytes from A to a UDP socket in B that
# reads none until they all arrived (its queue and drop count, from
# /proc/net/udp, still for a second): prints what the socket had dropped,
# how many bytes it was charged (its receive queue) and how many
# non-empty datagrams it then read. Each datagram is charged its buffer's
# truesize: a whole pool page, were short frames not copied, and the
# default receive buffer (net.core.rmem_default) holds about 50 of those.
held_short() {
	_ready=/tmp/$HL_TEST.$$.ready _go=/tmp/$HL_TEST.$$.go _out=/tmp/$HL_TEST.$$.held
	rm -f $_ready $_go
	ip netns exec hlb0 python3 -c '
import os, socket, sys, time
addr, port, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.1)
def state():
    for line in open("/proc/net/udp").readlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port:
            return int(f[4].split(":")[1], 16), int(f[-1])
last, since = None, time.time()
while time.time() - since < 1:
    now = state()
    if now != last:
        last, since = now, time.time()
    time.sleep(0.1)
s.setblocking(False)
n = 0
while True:
    try:
        if s.recv(2048):
            n += 1
    except BlockingIOError:
        break
print(last[1], last[0], n)
' "$(hl_addr 0 2)" 6868 $_ready $_go > $_out &
	_pid=$!
	hl_poll 20 [ -e $_ready ] || { kill $_pid; return 1; }
	ip netns exec hla0 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"%-64d" % i, (sys.argv[1], 6868))
    time.sleep(0.005)
' "$(hl_addr 0 2)" "$1"
	touch $_go
	wait $_pid
	cat $_out
	rm -f $_ready $_go $_out
}

# short_held N: the N short datagrams of held_short all wait in the socket,
# none dropped, and are read.
short_held() {
	set -- "$1" $(held_short "$1")
	hl_diag "$1 datagrams of 64 bytes: dropped $2, $3 bytes charged, $4 read"
	[ "$2" = 0 ] && [ "$4" = "$1" ]
}

# traffic DESC: a TCP payload each way on pair 0.
traffic() {
	hl_check "$1: carrier at A" hl_poll 20 hl_carrier hla0 "$a"
	hl_check "$1: carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
	hl_check "$1: payload A to B over TCP" hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" $payload
	hl_check "$1: payload B to A over TCP" hl_tcp_xfer hlb0 hla0 "$(hl_addr 0 1)" $payload
}

hl_check "the kernel's netlink library is in the VM" [ -d $HL_KSFT/drivers/net/lib/py ]
hl_nic_setup || hl_fail "wired port pairs"
[ $hl_nfail = 0 ] || hl_exit
set -- $HL_DEVS
dev=$1
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
dd if=/dev/urandom of=$payload bs=1024 count=1024 2> /dev/null
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "A: a pool per RX queue" hl_poll 10 one_per_queue hla0 "$a"
hl_check "B: a pool per RX queue" hl_poll 10 one_per_queue hlb0 "$b"
traffic "pools"
hl_check "A: rings full after the traffic" hl_poll 10 ring_full hla0 "$a"
hl_check "B: rings full after the traffic" hl_poll 10 ring_full hlb0 "$b"

hl_check "B: 100 short datagrams wait in a socket that does not read" short_held 100

queues=$(rx_channels hlb0 "$b")
hl_check "B: ethtool -L rx 1" ip netns exec hlb0 ethtool -L "$b" rx 1
hl_check "B: one pool with one RX queue" hl_poll 10 one_per_queue hlb0 "$b"
hl_check "B: ethtool -L rx $queues" ip netns exec hlb0 ethtool -L "$b" rx "$queues"
hl_check "B: a pool per RX queue again" hl_poll 10 one_per_queue hlb0 "$b"

hl_check "A: down" ip -n hla0 link set dev "$a" down
hl_check "A: no pool once down" hl_poll 10 no_pool hla0 "$a"
hl_check "B: its pools stay" one_per_queue hlb0 "$b"
hl_check "A: up" ip -n hla0 link set dev "$a" up
hl_check "A: a pool per RX queue after down and up" hl_poll 10 one_per_queue hla0 "$a"
traffic "after down and up"

# The device unbinds with A up, in this namespace: unregistering stops
# the port, whose pools go.
ids=$(pools hla0 "$a" | awk '{ print $1 }' | tr '\n' ' ')
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
hl_check "A: up in the initial namespace" ip link set dev "$a" up
hl_check "A: a pool per RX queue in the initial namespace" hl_poll 10 one_per_queue - "$a"
ids="$ids $(pools - "$a" | awk '{ print $1 }' | tr '\n' ' ')"
hl_diag "A's pools: $ids"
port=$(hl_if_port "$a" | cut -d" " -f2)
hl_check "unbind $dev with A up" hl_unbind "$dev"
hl_check "no pool of A left after the unbind" hl_poll 10 none_of "$ids" -
hl_check "bind $dev" hl_bind "$dev"
hl_check "$dev: its ports back" hl_poll 20 hl_all_ports_here "$dev"
a=$(hl_port_if "$dev" "$port")
hl_check "pair 0: up again" hl_pair_up 0 "$a" "$b"
traffic "after unbind and bind"
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
rm -f $payload
hl_exit
