#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The offloads the device performs, on the first pair of wired ports, each
# end in a network namespace of its own: ethtool -k shows them on every
# port and -K toggles them; TCP over IPv4 and IPv6 sent with TSO arrives
# intact (sha256) at a receiver that verifies the checksums itself (its rx
# checksumming off), and the sender's device sent more frames than the
# stack gave it (it segmented them); with TSO, scatter-gather and the
# checksum off the same payload arrives intact too; the receiver counts no
# checksum error; the loopback feature is the mac-loopback private flag.
. ./lib.sh

payload=/tmp/nic_offloads.bin
dd if=/dev/urandom of=$payload bs=1M count="${HL_PAYLOAD_MIB:-2}" 2>/dev/null

# has_features IF: every offload is on, the loopback off and changeable.
has_features() {
	_k=$(ethtool -k "$1") || return 1
	for _f in scatter-gather tx-checksum-ip-generic tx-tcp-segmentation \
		tx-tcp6-segmentation rx-checksumming generic-receive-offload; do
		echo "$_k" | grep -q "^[[:space:]]*$_f: on$" || { hl_diag "$1: $_f not on"; return 1; }
	done
	echo "$_k" | grep -q "^loopback: off$" || { hl_diag "$1: loopback not off"; return 1; }
}

# toggles NS IF FEATURE NAME: -K FEATURE off shows NAME off, on shows it on.
toggles() {
	ip netns exec "$1" ethtool -K "$2" "$3" off && [ "$(hl_feature "$1" "$2" "$4")" = off ] &&
		ip netns exec "$1" ethtool -K "$2" "$3" on && [ "$(hl_feature "$1" "$2" "$4")" = on ]
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
while read -r a b <&3; do
	hl_check "$a: offloads on, loopback off (ethtool -k)" has_features "$a"
	hl_check "$b: offloads on, loopback off (ethtool -k)" has_features "$b"
done 3<<EOF2
$HL_PAIRS
EOF2
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
set -- $(hl_if_port "$a")
dev=$1 port=$2
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
for f in "sg scatter-gather" "tx tx-checksum-ip-generic" "tso tcp-segmentation-offload" \
	"rx rx-checksumming" "gro generic-receive-offload"; do
	set -- $f
	hl_check "$a: ethtool -K $1 off and on" toggles hla0 "$a" "$1" "$2"
done
hl_check "B: rx checksumming off" ip netns exec hlb0 ethtool -K "$b" rx off
errors=$(hl_csum_errors hlb0)
hl_check "TSO over IPv4: payload intact, segmented by the device" \
	hl_segmented hla0 "$a" "$dev" "$port" "$(hl_addr 0 2)" hlb0 $payload
hl_check "TSO over IPv6: payload intact, segmented by the device" \
	hl_segmented hla0 "$a" "$dev" "$port" "$(hl_addr6 0 2)" hlb0 $payload
hl_check "B: no TCP checksum error" [ "$(hl_csum_errors hlb0)" = "$errors" ]
hl_check "B: rx checksumming on" ip netns exec hlb0 ethtool -K "$b" rx on
hl_check "A: TSO, scatter-gather and checksumming off" \
	ip netns exec hla0 ethtool -K "$a" tso off sg off tx off
hl_check "A: no TSO left" [ "$(hl_feature hla0 "$a" tcp-segmentation-offload)" = off ]
hl_check "payload intact without offloads" hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" $payload
hl_check "A: offloads back on" ip netns exec hla0 ethtool -K "$a" tso on sg on tx on
hl_check "B to A over TCP6 with offloads: payload intact" \
	hl_tcp_xfer hlb0 hla0 "$(hl_addr6 0 1)" $payload
hl_check "A: no TCP checksum error" [ "$(hl_csum_errors hla0)" = 0 ]
hl_check "A: ethtool -K loopback on" ip netns exec hla0 ethtool -K "$a" loopback on
hl_check "A: loopback shows on" [ "$(hl_feature hla0 "$a" loopback)" = on ]
priv_on() { ip netns exec hla0 ethtool --show-priv-flags "$a" | grep -q '^mac-loopback *: on$'; }
hl_check "A: the mac-loopback private flag is on" priv_on
hl_check "A: no answer from B in loopback" hl_not hl_ping hla0 "$(hl_addr 0 2)" -W 2
hl_check "A: ethtool -K loopback off" ip netns exec hla0 ethtool -K "$a" loopback off
hl_check "A: ping B again" hl_poll 20 hl_ping hla0 "$(hl_addr 0 2)"
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
hl_exit
