#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unbinds each device through sysfs and binds it again: the device is
# unbound in between, the other devices stay bound, and the new probe
# talks to the device (its doorbell counter moves) and passes the DMA
# self-test again.
. ./lib.sh

for dev in $HL_DEVS; do
	hl_mark
	hl_check "$dev: unbind" hl_unbind "$dev"
	hl_check "$dev: unbound" hl_unbound "$dev"
	for other in $HL_DEVS; do
		[ "$other" = "$dev" ] || hl_check "$other: still bound" hl_bound "$other"
	done
	doorbells=$(hl_rd "$dev" $HL_CTL_DOORBELLS)
	hl_check "$dev: bind" hl_bind "$dev"
	hl_check "$dev: bound again" hl_bound "$dev"
	hl_check "$dev: the driver rang the doorbell" \
		[ "$(hl_rd "$dev" $HL_CTL_DOORBELLS)" -ne "$doorbells" ]
	hl_check "$dev: DMA self-test passed again" \
		hl_log_has "$dev" "DMA self-test passed"
	hl_log_show "$dev"
done
hl_exit
