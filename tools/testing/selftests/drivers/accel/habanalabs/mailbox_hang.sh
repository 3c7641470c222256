#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A device that ignores its mailbox (the model's MAILBOX_HANG fault) makes
# probe time out: bind fails within a bounded time with a timeout logged,
# and the device stays unbound. Once the fault is cleared it binds again.
. ./lib.sh

# The longest a failing probe may take.
limit=30

set -- $HL_DEVS
dev=$1
hl_check "$dev: unbind" hl_unbind "$dev"
hl_set_faults "$dev" $HL_FAULT_MAILBOX_HANG
hl_mark
out=/tmp/$HL_TEST.$$
start=$(date +%s)
hl_bind "$dev" > "$out" &
bind=$!
while kill -0 $bind 2>/dev/null && [ $(($(date +%s) - start)) -le $limit ]; do
	sleep 1
done
if kill -0 $bind 2>/dev/null; then
	hl_fail "$dev: bind returns within $limit s"
	hl_log_show "$dev"
	# The clean-up would block behind the hung probe.
	trap - EXIT
	hl_exit
fi
wait $bind
rc=$?
hl_pass "$dev: bind returns within $limit s (took $(($(date +%s) - start)) s)"
cat "$out"
hl_check "$dev: bind fails on a hung device" [ $rc -ne 0 ]
hl_check "$dev: with ETIMEDOUT" grep -q "timed out" "$out"
rm -f "$out"
hl_check "$dev: unbound" hl_unbound "$dev"
# The driver logs errnos as numbers: -110 is ETIMEDOUT.
hl_check "$dev: timeout logged" hl_log_has "$dev" "time.?out|-110"
hl_log_show "$dev"

hl_recover "$dev"
hl_exit
