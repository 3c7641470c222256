#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ethtool on a port pair (port 1 of device 0 and of device 1): every
# setting round-trips through ethtool and reaches the device, whose
# registers and link the test reads back; the self-test passes, and fails
# once the model corrupts looped-back frames.
. ./lib.sh

set -- $HL_DEVS
a=$(hl_port_if "$1" 1)
b=$(hl_port_if "$2" 1)
if [ -z "$a" ] || [ -z "$b" ]; then
	hl_fail "port 1 of both devices has a netdev"
	hl_exit
fi
hl_diag "ports: $a ($1 p1), $b ($2 p1)"
# port_rd DEV REG: register REG of port 1 of device DEV.
port_rd() { hl_port_rd "$1" 1 "$2"; }
port_fault() { hl_port_fault "$1" 1 "$2"; }

# wait_for CMD...: polls CMD for up to 10 s.
wait_for() {
	_i=0
	while ! "$@"; do
		_i=$((_i + 1))
		[ $_i -ge 100 ] && return 1
		sleep 0.1
	done
}
carrier() { [ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" = "$2" ]; }
speed_is() { ethtool "$1" | grep -q "Speed: $2Mb/s"; }
has() { echo "$1" | grep -qE "$2"; }

ip link set "$a" up
ip link set "$b" up

# --- drvinfo, link, ksettings ----------------------------------------------
info=$(ethtool -i "$a")
hl_check "drvinfo names the driver" has "$info" "^driver: habanalabs"
hl_check "drvinfo has the bus" has "$info" "^bus-info: .+"
hl_check "link up at both ends" wait_for carrier "$a" 1
hl_check "ethtool reports the link" has "$(ethtool "$a")" "Link detected: yes"
settings=$(ethtool "$a")
for mode in 10000baseCR/Full 25000baseCR/Full 50000baseCR2/Full 100000baseCR4/Full; do
	hl_check "supports $mode" has "$settings" "$mode"
done
hl_check "autonegotiated 100G" speed_is "$a" 100000
hl_check "autoneg on in LINK_CFG" [ $(($(port_rd "$1" $HL_PORT_LINK_CFG) & HL_LINK_AUTONEG)) -ne 0 ]

# Link mode bits: 25G CR 31, 50G CR2 34, 100G CR4 38, 10G CR 42.
ethtool -s "$a" autoneg on advertise 0x80000000
hl_check "advertising 25G only reaches LINK_CFG" \
	[ $(($(port_rd "$1" $HL_PORT_LINK_CFG) >> HL_LINK_ADVERTISED_SHIFT & 0xf)) -eq 2 ]
hl_check "both ends agree on 25G" wait_for speed_is "$a" 25000
hl_check "the peer sees 25G" speed_is "$b" 25000
ethtool -s "$a" advertise 0x44480000000

ethtool -s "$a" autoneg off speed 50000
# Autoneg off, speed code 3 (50G).
hl_check "forced speed reaches LINK_CFG" \
	[ $(($(port_rd "$1" $HL_PORT_LINK_CFG) & (0xf << HL_LINK_FORCED_SHIFT | HL_LINK_AUTONEG))) \
		-eq $((3 << HL_LINK_FORCED_SHIFT)) ]
hl_check "forced at one end only: no link" wait_for carrier "$a" 0
ethtool -s "$b" autoneg off speed 50000
hl_check "forced 50G at both ends: link up" wait_for carrier "$a" 1
hl_check "at 50G" speed_is "$a" 50000
hl_check "an unknown speed is refused" hl_not ethtool -s "$a" speed 40000
ethtool -s "$a" autoneg on
ethtool -s "$b" autoneg on
hl_check "autoneg again: 100G" wait_for speed_is "$a" 100000

# --- pause ------------------------------------------------------------------------
ethtool -A "$a" autoneg off rx on tx on
hl_check "pause round-trips" has "$(ethtool -a "$a")" "RX:[[:space:]]+on"
hl_check "pause is flow control on every priority (PFC_EN 0xff)" \
	[ "$(port_rd "$1" $HL_PORT_PFC_EN)" -eq 255 ]
hl_check "asymmetric pause is refused" hl_not ethtool -A "$a" rx on tx off
ethtool -A "$a" rx off tx off
hl_check "pause off clears PFC_EN" [ "$(port_rd "$1" $HL_PORT_PFC_EN)" -eq 0 ]

# --- rings and coalescing ----------------------------------------------------
ethtool -G "$a" rx 1024 tx 256
rings=$(ethtool -g "$a" | sed -n '/Current/,$p')
hl_check "ringparam round-trips (rx)" has "$rings" "RX:[[:space:]]+1024"
hl_check "ringparam round-trips (tx)" has "$rings" "TX:[[:space:]]+256"
hl_check "RX_SIZE is 1024" [ "$(port_rd "$1" $HL_PORT_RX_SIZE)" -eq 1024 ]
hl_check "TX_SIZE is 256" [ "$(port_rd "$1" $HL_PORT_TX_SIZE)" -eq 256 ]
hl_check "a ring beyond the maximum is refused" hl_not ethtool -G "$a" rx 65536
hl_check "link back after the ring change" wait_for carrier "$a" 1

ethtool -C "$a" rx-usecs 40 rx-frames 16
coal=$(ethtool -c "$a")
hl_check "coalesce round-trips (usecs)" has "$coal" "rx-usecs:[[:space:]]+40"
hl_check "coalesce round-trips (frames)" has "$coal" "rx-frames:[[:space:]]+16"
hl_check "RX queue 0's COAL_USECS is 40" \
	[ "$(port_rd "$1" $((HL_PORT_RXQ0 + HL_Q_COAL_USECS)))" -eq 40 ]
hl_check "RX queue 3's COAL_FRAMES is 16" \
	[ "$(port_rd "$1" $((HL_PORT_RXQ0 + 3 * HL_Q_STRIDE + HL_Q_COAL_FRAMES)))" -eq 16 ]
ethtool -C "$a" rx-usecs 0 rx-frames 0

# --- statistics ----------------------------------------------------------------
stats=$(ethtool -S "$a")
hl_check "ethtool -S has counters" [ "$(echo "$stats" | grep -c ': ')" -gt 1 ]
hl_check "ethtool -S has no title lines" \
	[ "$(echo "$stats" | sed 1d | grep -vc ':[[:space:]]*[0-9]\+$')" -eq 0 ]
for group in eth-mac eth-phy rmon; do
	hl_check "standard $group statistics" ethtool -S "$a" --groups "$group"
done
hl_check "pause statistics" has "$(ethtool -I -a "$a")" "tx_pause_frames"
fec() { ethtool -I --show-fec "$1" | awk '/orrected/ { print $NF; exit }'; }
hl_check "FEC statistics" [ -n "$(fec "$b")" ]
# With FEC_ERRORS on $b's port, every frame it receives counts a corrected
# codeword: send it $a's ARP requests for an address nobody has.
fec0=$(fec "$b")
port_fault "$2" 4
ip addr add 10.99.0.1/24 dev "$a"
ping -c 3 -W 1 -I "$a" 10.99.0.2 > /dev/null 2>&1
ip addr del 10.99.0.1/24 dev "$a"
port_fault "$2" 0
hl_check "FEC_ERRORS shows as corrected codewords ($fec0 -> $(fec "$b"))" \
	[ "$(fec "$b")" -gt "$fec0" ]
before=$(ethtool -S "$a" --groups eth-mac | awk '/FramesTransmittedOK/ { print $2 }')
ethtool -t "$a" offline > /dev/null
after=$(ethtool -S "$a" --groups eth-mac | awk '/FramesTransmittedOK/ { print $2 }')
hl_check "FramesTransmittedOK counts the self-test frame ($before -> $after)" \
	[ "${after:-0}" -gt "${before:-0}" ]

# --- module ----------------------------------------------------------------------
module=$(ethtool -m "$a")
hl_check "module EEPROM: QSFP28" has "$module" "QSFP28"
hl_check "module EEPROM: vendor HLSIM" has "$module" "Vendor name[[:space:]]+: HLSIM"

# --- private flag, self-test -------------------------------------------------------
ethtool --set-priv-flags "$a" mac-loopback on
hl_check "mac-loopback round-trips" has "$(ethtool --show-priv-flags "$a")" "mac-loopback[[:space:]]*: on"
hl_check "mac-loopback sets CTL.LOOPBACK" [ $(($(port_rd "$1" $HL_PORT_CTL) & HL_PORT_LOOPBACK)) -ne 0 ]
hl_check "the peer loses its link" wait_for carrier "$b" 0
ethtool --set-priv-flags "$a" mac-loopback off
hl_check "mac-loopback off clears CTL.LOOPBACK" [ $(($(port_rd "$1" $HL_PORT_CTL) & HL_PORT_LOOPBACK)) -eq 0 ]
hl_check "the peer's link is back" wait_for carrier "$b" 1

hl_check "self-test passes" ethtool -t "$a" offline
port_fault "$1" $HL_PORT_FAULT_LOOPBACK_CORRUPT
hl_check "self-test fails with corrupted loopback" hl_not ethtool -t "$a" offline
port_fault "$1" 0
hl_check "self-test passes again" ethtool -t "$a" offline
hl_check "the interface is up after the self-test" wait_for carrier "$a" 1

hl_exit
