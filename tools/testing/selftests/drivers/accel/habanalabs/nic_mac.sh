#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A port whose MAC address from the device is not a valid station address
# (all zeros, or multicast) gets a random, locally administered one
# (addr_assign_type 1, NET_ADDR_RANDOM) and a warning, instead of the
# device's; with the device's address restored it has that one again.
. ./lib.sh

set -- $HL_DEVS
dev=$1
hl_has_nic "$dev" || hl_skip "$dev has no NIC"
lo_reg=$HL_REG_MAC_LO
hi_reg=$HL_REG_MAC_HI
lo=$(hl_rd "$dev" $lo_reg)
hi=$(hl_rd "$dev" $hi_reg)
good=$(hl_mac "$dev" 0)

# with_mac LO HI: rebinds $dev with port 0's identity registers at LO, HI.
with_mac() {
	hl_unbind "$dev" || return 1
	hl_wr "$dev" $lo_reg "$1"
	hl_wr "$dev" $hi_reg "$2"
	hl_mark
	hl_bind "$dev" && hl_poll 20 hl_all_ports_here "$dev"
}

# random_mac NAME: port 0's netdev has a random, locally administered
# unicast address and the driver warned about the device's.
random_mac() {
	_if=$(hl_port_if "$dev" 0)
	_mac=$(cat "/sys/class/net/$_if/address")
	_first=$((0x${_mac%%:*}))
	hl_diag "$1: $_if has $_mac"
	[ "$(cat "/sys/class/net/$_if/addr_assign_type")" = 1 ] &&
		[ "$_mac" != 00:00:00:00:00:00 ] &&
		[ $((_first & 1)) = 0 ] && [ $((_first & 2)) = 2 ] &&
		hl_log | grep -q "habanalabs.eth.*: port 0: invalid MAC address"
}

hl_check "all zeros: rebound" with_mac 0 0
hl_check "all zeros: port 0 has a random MAC instead, with a warning" random_mac "all zeros"
hl_check "multicast: rebound" with_mac $((lo | 1)) "$hi"
hl_check "multicast: port 0 has a random MAC instead, with a warning" random_mac multicast
hl_check "the device's MAC restored: rebound" with_mac "$lo" "$hi"
if=$(hl_port_if "$dev" 0)
hl_check "port 0 has the device's MAC $good again" \
	[ "$(cat "/sys/class/net/$if/address")" = "$good" ]
hl_check "no warning about it" hl_not eval 'hl_log | grep -q "invalid MAC address"'
hl_exit
