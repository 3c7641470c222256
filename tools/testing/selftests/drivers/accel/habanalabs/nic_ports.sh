#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Each device of the model has an auxiliary Ethernet device under its PCI
# device with a netdev per port: dev_port the port's index,
# phys_port_name p<index>, phys_switch_id the device's serial number (both
# from the port's devlink port, devlink.rst), and the MAC address the
# device's identity registers hold for that port; no two ports share one.
. ./lib.sh

# sysfs_has IF ATTR VALUE: the netdev's attribute reads VALUE.
sysfs_has() { [ "$(cat "/sys/class/net/$1/$2" 2>/dev/null)" = "$3" ]; }

# serial DEV: DEV's serial number, 16 hex digits, as the switch id shows it.
serial() {
	printf '%08x%08x' "$(hl_rd "$1" $HL_REG_SERIAL_HI)" "$(hl_rd "$1" $HL_REG_SERIAL_LO)"
}

macs=
for dev in $HL_DEVS; do
	hl_check "$dev: NIC capability" hl_has_nic "$dev"
	nports=$(hl_port_count "$dev")
	aux=$(hl_eth_aux "$dev")
	hl_check "$dev: one auxiliary Ethernet device (${aux:-none})" \
		[ "$(echo "$aux" | grep -c .)" -eq 1 ]
	hl_check "$dev: $nports netdevs" hl_poll 20 hl_all_ports_here "$dev"
	ports=$(hl_ports "$dev")
	sn=$(serial "$dev")
	hl_diag "$dev: $(echo $ports)"
	hl_check "$dev: dev_port 0 to $((nports - 1))" \
		[ "$(echo "$ports" | cut -d' ' -f1 | tr '\n' ' ')" = "$(seq -s ' ' 0 $((nports - 1))) " ]
	for port in $(echo "$ports" | cut -d' ' -f1); do
		if=$(echo "$ports" | awk -v p="$port" '$1 == p { print $2 }')
		mac=$(hl_mac "$dev" "$port")
		macs="$macs $mac"
		hl_check "$dev port $port ($if): phys_port_name p$port" \
			sysfs_has "$if" phys_port_name "p$port"
		hl_check "$dev port $port ($if): phys_switch_id $sn" \
			sysfs_has "$if" phys_switch_id "$sn"
		hl_check "$dev port $port ($if): MAC $mac" sysfs_has "$if" address "$mac"
		hl_check "$dev port $port ($if): a permanent address" \
			sysfs_has "$if" addr_assign_type 0
	done
done
hl_check "MAC addresses are unique" \
	[ "$(echo $macs | tr ' ' '\n' | sort -u | wc -l)" -eq "$(echo $macs | wc -w)" ]
hl_exit
