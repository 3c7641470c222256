#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The nodes and sysfs attributes of mainline's habanalabs (before the accel
# core), which hl-thunk-open and operators rely on: /dev/hlN and
# /dev/hl_controlDN in class habanalabs, minors 2N and 2N+1 of one major,
# and the attributes of Documentation/ABI/testing/sysfs-driver-habanalabs
# with values read from the device (BAR2) and the uAPI (hl-thunk info).
. ./lib.sh

class=/sys/class/habanalabs
tmp=/tmp/$HL_TEST.$$

# attr N NAME: attribute NAME of /dev/hlN.
attr() { cat "$class/hl$1/$2"; }

# info N: hl-thunk info of device N, kept for field.
info() { hl-thunk info -d "$1" > "$tmp.info"; }
field() { sed -n "s/^$1: *//p" "$tmp.info"; }

hl_check "class habanalabs exists" [ -d $class ]
hl_check "the major is in /proc/devices" grep -q ' habanalabs$' /proc/devices
major=$(sed -n 's/^ *\([0-9]*\) habanalabs$/\1/p' /proc/devices)
hl_check_nodes
for node in $HL_NODES; do
	n=${node#/dev/hl}
	hl_check "hl$n and hl_controlD$n are in the class" \
		[ -e "$class/hl$n/dev" ] && [ -e "$class/hl_controlD$n/dev" ]
	hl_check "hl$n is $major:$((2 * n))" [ "$(cat "$class/hl$n/dev")" = "$major:$((2 * n))" ]
	hl_check "hl_controlD$n is $major:$((2 * n + 1))" \
		[ "$(cat "$class/hl_controlD$n/dev")" = "$major:$((2 * n + 1))" ]
	hl_check "/dev/hl$n has that number" \
		[ "$(stat -c '%t:%T' "/dev/hl$n")" = "$(printf '%x:%x' "$major" $((2 * n)))" ]
	dev=$(readlink "$class/hl$n/device" | sed 's|.*/||')
	hl_check "hl$n: the device is a model's PCI function" hl_is_model "$dev"
	hl_check "hl$n: pci_addr is $dev" [ "$(attr "$n" pci_addr)" = "$dev" ]
	hl_check "hl$n: parent_device is $dev" [ "$(attr "$n" parent_device)" = "$dev" ]
	hl_check "hl$n: device_type is GAUDI" [ "$(attr "$n" device_type)" = GAUDI ]
	hl_check "hl$n: status is Operational" [ "$(attr "$n" status)" = Operational ]
	hl_check "hl$n: clk_cur_freq_mhz as in BAR2" \
		[ "$(attr "$n" clk_cur_freq_mhz)" -eq "$(hl_rd "$dev" $HL_REG_CLK_CUR_MHZ)" ]
	hl_check "hl$n: clk_max_freq_mhz as in BAR2" \
		[ "$(attr "$n" clk_max_freq_mhz)" -eq "$(hl_rd "$dev" $HL_REG_CLK_MAX_MHZ)" ]
	hl_check "hl-thunk info -d $n" info "$n"
	hl_check "hl$n: cpucp_ver is the INFO firmware version" \
		[ "$(attr "$n" cpucp_ver)" = "$(field firmware)" ]
	hl_check "hl$n: armcp_ver is the same" [ "$(attr "$n" armcp_ver)" = "$(field firmware)" ]
	resets=$(field resets)
	hl_check "hl$n: the reset counters are INFO's ($resets)" \
		[ "$(attr "$n" hard_reset_cnt) hard, $(attr "$n" soft_reset_cnt) soft" = "$resets" ]
	hl_check "hl$n: security_enabled is 0" [ "$(attr "$n" security_enabled)" = 0 ]
	hl_check "hl_controlD$n has no attributes of its own" \
		[ ! -e "$class/hl_controlD$n/pci_addr" ]
	hl_check "hl$n: the attributes are read-only" \
		hl_not sh -c "echo 1 > $class/hl$n/status" 2> /dev/null
done

# A clock change shows at once; the model's current clock is writable.
set -- $HL_DEVS
cur=$(hl_rd "$1" $HL_REG_CLK_CUR_MHZ)
hl_wr "$1" $HL_REG_CLK_CUR_MHZ $((cur - 1))
n=$(for c in $class/hl[0-9]*; do
	[ "$(cat "$c/pci_addr")" = "$1" ] && echo "${c##*/hl}"
done)
hl_check "clk_cur_freq_mhz follows the device" \
	[ "$(attr "$n" clk_cur_freq_mhz)" -eq $((cur - 1)) ]
hl_wr "$1" $HL_REG_CLK_CUR_MHZ "$cur"

# Unbinding removes the nodes and their attributes; binding brings them back.
# A file open across it stays usable for close, but its node cannot be
# opened again through it.
exec 5< "/dev/hl_controlD$n"
hl_check "unbind $1" hl_unbind "$1"
hl_check "hl$n is gone from the class" [ ! -e "$class/hl$n" ]
hl_check "an unbound node does not open again (ENODEV)" \
	hl_not sh -c 'exec 6< /proc/self/fd/5' 2> /dev/null
exec 5<&-
hl_check "bind $1" hl_bind "$1"
hl_check "hl$n is back, pci_addr $1" [ "$(attr "$n" pci_addr)" = "$1" ]
rm -f "$tmp".*
hl_exit
