#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# An ivshmem device that is not the model's (no magic in BAR2) is left
# alone: it is not bound, an explicit bind fails, and the model's devices
# stay bound. Then, through a dynamic ID that carries the driver data of
# the ID table's GAUDI entry (1da3:1000, index 1), the PCI core probes it
# as a GAUDI: GAUDI's ASIC functions refuse it, with their line in the log.
. ./lib.sh

[ -n "$HL_FOREIGN" ] || hl_skip "no foreign ivshmem device"
# ivshmem, any subsystem, any class, driver data 1: the GAUDI entry's.
dynid="1af4 1110 ffffffff ffffffff 0 0"
trap 'echo "$dynid" > "$HL_DRV/remove_id" 2>/dev/null; hl_cleanup' EXIT
# refused DEV: the driver core logged DEV's probe failing with -EOPNOTSUPP.
refused() { hl_log | grep -qF "$1: probe with driver habanalabs failed with error -95"; }
for dev in $HL_FOREIGN; do
	hl_check "$dev: unbound" hl_unbound "$dev"
	hl_mark
	hl_check "$dev: bind fails" hl_not hl_bind "$dev"
	hl_check "$dev: still unbound" hl_unbound "$dev"
	hl_check "$dev: no self-test run" hl_log_lacks "$dev" "self-test"
	hl_log_show "$dev"
done

hl_mark
hl_check "new_id $dynid 1: probes the foreign devices as GAUDI" \
	hl_sysfs_write "$HL_DRV/new_id" "$dynid 1"
for dev in $HL_FOREIGN; do
	hl_check "$dev: GAUDI's init refused it" \
		hl_log_has "$dev" "GAUDI 1da3:1000: not supported"
	hl_check "$dev: probe failed with EOPNOTSUPP" refused "$dev"
	hl_check "$dev: unbound" hl_unbound "$dev"
	hl_check "$dev: no self-test run" hl_log_lacks "$dev" "self-test"
	hl_log_show "$dev"
done
hl_check "remove_id $dynid" hl_sysfs_write "$HL_DRV/remove_id" "$dynid"
hl_check "the model's devices stay bound" hl_all_bound
hl_exit
