#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# 802.1Q over the first pair of wired ports, each end in a network
# namespace of its own, VLAN interfaces on each: the tags pass the device
# both ways (ping over VLAN 100; nothing sent on VLAN 200 reaches a peer
# on VLAN 300), a tagged frame of the largest MTU fits (the device's frame
# limit counts one tag), and the VLAN interface inherits the port's
# offloads: TCP over it with TSO arrives intact (sha256) at a receiver
# verifying the checksums itself, and the sender's device sent more frames
# than the stack gave it.
. ./lib.sh

payload=/tmp/nic_vlan.bin
dd if=/dev/urandom of=$payload bs=1M count="${HL_PAYLOAD_MIB:-2}" 2>/dev/null

# vlan NS IF ID HOST: VLAN ID on IF in NS as v<ID>, address 198.18.<ID>.HOST.
vlan() {
	ip -n "$1" link add link "$2" name "v$3" type vlan id "$3" &&
		ip -n "$1" address add "$(hl_addr "$3" "$4")/24" dev "v$3" &&
		ip -n "$1" link set dev "v$3" up
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
set -- $(hl_if_port "$a")
dev=$1 port=$2
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
hl_check "A: VLAN 100" vlan hla0 "$a" 100 1
hl_check "B: VLAN 100" vlan hlb0 "$b" 100 2
# A on VLAN 200, B on VLAN 300 with the address A looks for there: a tag
# lost or changed on the way would let B answer (it answers ARP for any of
# its addresses on any interface).
hl_check "A: VLAN 200" vlan hla0 "$a" 200 1
hl_check "B: VLAN 300, with VLAN 200's address" \
	ip -n hlb0 link add link "$b" name v300 type vlan id 300
ip -n hlb0 address add "$(hl_addr 200 2)/24" dev v300
ip -n hlb0 link set dev v300 up
hl_check "A pings B over VLAN 100" hl_poll 20 hl_ping hla0 "$(hl_addr 100 2)"
hl_check "B pings A over VLAN 100" hl_ping hlb0 "$(hl_addr 100 1)"
hl_check "the untagged addresses still answer" hl_ping hla0 "$(hl_addr 0 2)"
rx300=$(hl_if_stat hlb0 v300 rx_packets)
hl_check "A gets no answer over VLAN 200" hl_not hl_ping hla0 "$(hl_addr 200 2)" -W 2
hl_check "B's VLAN 300 received nothing" [ "$(hl_if_stat hlb0 v300 rx_packets)" = "$rx300" ]

for f in scatter-gather tx-checksum-ip-generic tcp-segmentation-offload; do
	hl_check "A: v100 inherits $f" [ "$(hl_feature hla0 v100 $f)" = on ]
done
hl_check "B: rx checksumming off" ip netns exec hlb0 ethtool -K "$b" rx off
errors=$(hl_csum_errors hlb0)
hl_check "TSO over VLAN 100: payload intact, segmented by the device" \
	hl_segmented hla0 v100 "$dev" "$port" "$(hl_addr 100 2)" hlb0 $payload
hl_check "B: no TCP checksum error" [ "$(hl_csum_errors hlb0)" = "$errors" ]
hl_check "B: rx checksumming on" ip netns exec hlb0 ethtool -K "$b" rx on

# The largest MTU, 8192, on both ends and their VLANs: a tagged 8210-byte
# frame (8192 + header + tag, the device's MAX_FRAME) crosses unfragmented.
# jumbo NS IF: IF and its VLAN 100 at MTU 8192.
jumbo() { ip -n "$1" link set dev "$2" mtu 8192 && ip -n "$1" link set dev v100 mtu 8192; }
hl_check "A: MTU 8192, and its VLAN 100" jumbo hla0 "$a"
hl_check "B: MTU 8192, and its VLAN 100" jumbo hlb0 "$b"
hl_check "carrier at A after the MTU change" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B after the MTU change" hl_poll 20 hl_carrier hlb0 "$b"
hl_check "an 8192-byte unfragmented ping over VLAN 100" \
	hl_poll 20 hl_ping hla0 "$(hl_addr 100 2)" -M do -s 8164

ip -n hla0 link del v100
ip -n hla0 link del v200
ip -n hlb0 link del v100
ip -n hlb0 link del v300
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
rm -f $payload
hl_exit
