#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Every device of the model is bound to habanalabs, and the driver logged
# its identity (chip, and the serial number and memory size the model
# reports) and a passed DMA self-test for it. The identity line starts with
# the name of the ASIC functions probe used, which for ivshmem must be the
# model's; the module's ID table also names a real GAUDI (1da3:1000).
. ./lib.sh

modinfo=/usr/sbin/modinfo
if [ -x $modinfo ]; then
	aliases=$($modinfo -F alias "$HL_MODULE")
	for alias in 'pci:v00001AF4d00001110sv*sd*bc*sc*i*' 'pci:v00001DA3d00001000sv*sd*bc*sc*i*'; do
		hl_check "module alias $alias" sh -c 'echo "$1" | grep -qxF "$2"' - "$aliases" "$alias"
	done
fi

set -- $HL_DEVS
hl_check "$HL_NUM_DEVICES devices of the model (found $#)" [ $# -eq "$HL_NUM_DEVICES" ]

# identity_has REGEX: the identity line matches.
identity_has() { echo "$identity" | grep -qiE "$1"; }

serials=
for dev in $HL_DEVS; do
	serial=$(printf %x "$(hl_rd64 "$dev" $HL_REG_SERIAL_LO)")
	mib=$(($(hl_rd64 "$dev" $HL_REG_DRAM_SIZE_LO) >> 20))
	serials="$serials $serial"
	identity=$(hl_log | grep -F "habanalabs $dev: " |
		grep -iE "serial[^0-9]*((0x)?0*$serial|$((0x$serial)))([^0-9a-z]|$)")
	hl_check "$dev bound to habanalabs" hl_bound "$dev"
	hl_check "$dev: identity logged with serial 0x$serial" [ -n "$identity" ]
	hl_check "$dev: identity names the chip" identity_has "GAUDI"
	hl_check "$dev: brought up by the device model's ASIC functions" \
		identity_has "habanalabs $dev: GAUDI-sim rev "
	hl_check "$dev: identity shows $mib MiB of device memory" \
		identity_has "(^|[^0-9])$mib MiB"
	hl_check "$dev: DMA self-test passed" hl_log_has "$dev" "DMA self-test passed"
	hl_log_show "$dev"
done
hl_check "serial numbers are unique" \
	[ "$(echo $serials | tr ' ' '\n' | sort -u | wc -l)" -eq $# ]
hl_exit
