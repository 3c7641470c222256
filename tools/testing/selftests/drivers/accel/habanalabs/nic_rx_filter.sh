#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The address filter of the device (ndo_set_rx_mode), on the first pair of
# wired ports, each end in a network namespace of its own. A sends bursts
# of raw frames (EtherType 0x88b5, a tag each burst) to one destination; a
# packet socket at B, which sees frames for other hosts too, counts those
# that arrive. Frames to a multicast group arrive only while B has joined
# it (ip maddr), to a foreign unicast address only while B is promiscuous,
# to any group while B is all-multicast or has joined more groups than the
# device's table holds; B's own address and broadcast always; what the
# device drops it counts in ethtool -S rx_filtered. MAC control frames
# (EtherType 0x8808) never arrive, even to B's own address: the MAC
# consumes them and counts them in the eth-ctrl statistics group.
. ./lib.sh

N=20
py=/tmp/nic_rx_filter.py
cat > $py <<'EOF'
import os, socket, sys, time
# EtherType, and bytes before the tag (a MAC control opcode), from the
# environment.
ETH_P = int(os.environ.get("ETH_P", "0x88b5"), 16)
prefix = bytes.fromhex(os.environ.get("PREFIX", ""))
mode, ifname, tag = sys.argv[1], sys.argv[2], (sys.argv[3] + ";").encode()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P))
s.bind((ifname, ETH_P))
if mode == "send":
    dst = bytes.fromhex(sys.argv[4].replace(":", ""))
    src = s.getsockname()[4]
    frame = (dst + src + ETH_P.to_bytes(2, "big") + prefix + tag).ljust(60, b"\0")
    for _ in range(int(sys.argv[5])):
        s.send(frame)
        time.sleep(0.005)
else:
    # Counts the frames with the tag from when it says it is ready (the
    # file argv[4]) until a second after the sender is done (argv[5]), or
    # 60 s.
    ready, done = sys.argv[4], sys.argv[5]
    open(ready, "w").close()
    n, end = 0, time.monotonic() + 60
    s.settimeout(0.1)
    while time.monotonic() < end:
        if os.path.exists(done):
            end = min(end, time.monotonic() + 1)
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        if data[14 + len(prefix):].startswith(tag):
            n += 1
    print(n)
EOF

tag=0
ethp=0x88b5 prefix=

# received DST: how many of a burst of $N frames A sends to DST reach B's
# packet socket.
received() {
	tag=$((tag + 1))
	_ready=/tmp/nic_rx_filter.ready _done=/tmp/nic_rx_filter.done
	_out=/tmp/nic_rx_filter.out
	rm -f $_ready $_done $_out
	ip netns exec hlb0 env ETH_P=$ethp PREFIX=$prefix \
		python3 $py count "$b" "hl-rx-filter-$tag" $_ready $_done > $_out &
	_pid=$!
	hl_poll 30 test -e $_ready || { kill $_pid; return 1; }
	ip netns exec hla0 env ETH_P=$ethp PREFIX=$prefix \
		python3 $py send "$a" "hl-rx-filter-$tag" "$1" $N
	touch $_done
	wait $_pid
	_n=$(cat $_out)
	hl_diag "to $1: $_n of $N received; B: $(B_stats)" >&2
	echo "$_n"
}

# arrive DST: every frame of a burst to DST arrives; dropped DST: none does,
# and the device counted at least the burst as filtered.
arrive() { [ "$(received "$1")" = $N ]; }
dropped() {
	_f0=$(filtered)
	[ "$(received "$1")" = 0 ] && [ $(($(filtered) - _f0)) -ge $N ]
}

# B_stats: B's frames received and filtered out, A's sent, for diagnostics.
B_stats() {
	echo "rx_packets $(ip netns exec hlb0 cat /sys/class/net/$b/statistics/rx_packets)" \
		"rx_filtered $(filtered) flags $(ip netns exec hlb0 cat /sys/class/net/$b/flags)" \
		"A tx_packets $(ip netns exec hla0 cat /sys/class/net/$a/statistics/tx_packets)"
}

# filtered: B's device counter of frames it filtered out.
filtered() {
	ip netns exec hlb0 ethtool -S "$b" | awk '$1 == "rx_filtered:" { print $2 }'
}

# ctrl NS IF NAME: counter NAME of IF's eth-ctrl statistics group.
ctrl() {
	ip netns exec "$1" ethtool -S "$2" --groups eth-ctrl |
		awk -v k="eth-ctrl-$3:" '$1 == k { print $2 }'
}

# B joins or leaves the link-layer group ADDR; maddr_has ADDR: B lists it.
join() { ip -n hlb0 maddr add "$1" dev "$b"; }
leave() { ip -n hlb0 maddr del "$1" dev "$b"; }
setflag() { ip -n hlb0 link set dev "$b" "$1" "$2"; }

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
hl_check "each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
hl_check "rx_filtered in ethtool -S" test -n "$(filtered)"

own=$(ip netns exec hlb0 cat /sys/class/net/$b/address)
group=01:00:5e:01:02:03
other=01:00:5e:01:02:04
foreign=02:00:00:12:34:56
hl_check "B's own address arrives" arrive "$own"
hl_check "broadcast arrives" arrive ff:ff:ff:ff:ff:ff
hl_check "a group B has not joined is dropped by the device" dropped $group
hl_check "B joins $group" join $group
hl_check "the group arrives once joined" arrive $group
hl_check "another group is still dropped" dropped $other
hl_check "B leaves $group" leave $group
hl_check "the group is dropped again once left" dropped $group

hl_check "a foreign unicast address is dropped" dropped $foreign
hl_check "promiscuous on" setflag promisc on
hl_check "the foreign address arrives while promiscuous" arrive $foreign
hl_check "promiscuous off" setflag promisc off
hl_check "the foreign address is dropped again" dropped $foreign

hl_check "all-multicast on" setflag allmulticast on
hl_check "a group not joined arrives while all-multicast" arrive $other
hl_check "the foreign address is still dropped" dropped $foreign
hl_check "all-multicast off" setflag allmulticast off
hl_check "the group is dropped again" dropped $other

# More groups than the device's 32 table entries: it takes every group.
joined=0
for i in $(seq 10 49); do
	join 01:00:5e:02:00:$i && joined=$((joined + 1))
done
hl_check "B joins 40 more groups" [ $joined = 40 ]
hl_check "with the table overflowing, a group not joined arrives" arrive $other
hl_check "and a foreign unicast address is still dropped" dropped $foreign
for i in $(seq 10 49); do
	leave 01:00:5e:02:00:$i
done
hl_check "with the 40 groups left, the group is dropped again" dropped $other

# The filter survives a restart of the port (new rings, ethtool -G).
hl_check "B joins $group again" join $group
hl_check "ring resize restarts B" ip netns exec hlb0 ethtool -G "$b" rx 1024
hl_check "carrier at B after the restart" hl_poll 20 hl_carrier hlb0 "$b"
hl_check "the group arrives after the restart" arrive $group
hl_check "another group is dropped after the restart" dropped $other
hl_check "ring size back to 512" ip netns exec hlb0 ethtool -G "$b" rx 512

# MAC control frames, to B's own address so that the address filter would
# pass them: PFC (opcode 0x0101), then an opcode no MAC knows.
tx0=$(ctrl hla0 "$a" MACControlFramesTransmitted)
rx0=$(ctrl hlb0 "$b" MACControlFramesReceived)
un0=$(ctrl hlb0 "$b" UnsupportedOpcodesReceived)
hl_check "eth-ctrl statistics at A and B" test -n "$tx0" -a -n "$rx0" -a -n "$un0"
ethp=0x8808 prefix=0101
hl_check "PFC frames to B's address never reach its packet socket" \
	[ "$(received "$own")" = 0 ]
prefix=1234
hl_check "nor frames with an unknown opcode" [ "$(received "$own")" = 0 ]
ethp=0x88b5 prefix=
tx=$(($(ctrl hla0 "$a" MACControlFramesTransmitted) - tx0))
rx=$(($(ctrl hlb0 "$b" MACControlFramesReceived) - rx0))
un=$(($(ctrl hlb0 "$b" UnsupportedOpcodesReceived) - un0))
hl_diag "eth-ctrl: A sent $tx, B received $rx, $un with an unsupported opcode"
hl_check "A counted the $((2 * N)) control frames it sent" [ $tx = $((2 * N)) ]
hl_check "B counted the $((2 * N)) it received" [ $rx = $((2 * N)) ]
hl_check "B counted $N unsupported opcodes" [ $un = $N ]
hl_check "data frames still arrive after them" arrive "$own"

hl_check "back in the initial namespace" hl_pair_down 0 "$a" "$b"
rm -f $py
hl_exit
