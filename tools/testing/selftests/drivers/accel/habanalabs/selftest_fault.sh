#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A device whose DMA self-test sees corrupted data (the model's
# SELFTEST_CORRUPT fault) must not be bound: bind fails with an error
# logged. Once the fault is cleared the device binds again.
. ./lib.sh

set -- $HL_DEVS
dev=$1
hl_check "$dev: unbind" hl_unbind "$dev"
hl_set_faults "$dev" $HL_FAULT_SELFTEST_CORRUPT
hl_mark
hl_check "$dev: bind fails with a corrupting self-test" hl_not hl_bind "$dev"
hl_check "$dev: unbound" hl_unbound "$dev"
hl_check "$dev: self-test error logged" \
	hl_log_has "$dev" "self-test.*(fail|error|expected)"
hl_check "$dev: no passed self-test logged" \
	hl_log_lacks "$dev" "DMA self-test passed"
hl_log_show "$dev"

hl_recover "$dev"
hl_exit
