#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# An ivshmem device that is not the model's (no magic in BAR2) is left
# alone: it is not bound, an explicit bind fails, and the model's devices
# stay bound.
. ./lib.sh

[ -n "$HL_FOREIGN" ] || hl_skip "no foreign ivshmem device"
for dev in $HL_FOREIGN; do
	hl_check "$dev: unbound" hl_unbound "$dev"
	hl_mark
	hl_check "$dev: bind fails" hl_not hl_bind "$dev"
	hl_check "$dev: still unbound" hl_unbound "$dev"
	hl_check "$dev: no self-test run" hl_log_lacks "$dev" "self-test"
	hl_log_show "$dev"
done
hl_check "the model's devices stay bound" hl_all_bound
hl_exit
