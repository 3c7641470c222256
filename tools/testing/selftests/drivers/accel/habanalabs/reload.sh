#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unloads and loads the driver 20 times: after rmmod the module is gone and
# no device is bound, after insmod every device is bound, and the log
# shows one passed self-test per device and load.
. ./lib.sh

rounds=20

unload() { rmmod habanalabs && hl_not hl_loaded && hl_none_bound; }
load() { insmod "$HL_MODULE" && hl_all_bound; }

hl_mark
i=1
while [ $i -le $rounds ]; do
	hl_check "round $i: rmmod, no device bound" unload
	hl_check "round $i: insmod, every device bound" load
	i=$((i + 1))
done
for dev in $HL_DEVS; do
	hl_check "$dev: $rounds passed self-tests" \
		[ "$(hl_log_count "$dev" "DMA self-test passed")" -eq $rounds ]
done
hl_exit
