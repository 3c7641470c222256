#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Closing the compute node with a submission in flight (driver.rst, Closing
# with work in flight):
#  - a job hangs on dma0 (the model's ENGINE_HANG) in a submission whose
#    timeout is 20 s, and its process is killed: the file closes (the
#    process is reaped) within a few seconds, not at the timeout;
#  - until the watchdog ends the job at its timeout the context is not
#    released: opening the node fails with EAGAIN all along; then (the engine running
#    again for the release's scrub) it opens and the device computes;
#  - again with a 60 s timeout, the hang cleared after the close: the job
#    ends, and the node opens long before the timeout;
#  - kmemleak and the kernel log (make check's checks) find no leak and no
#    splat.
. ./lib.sh

n=0
dev=$(hl_dev_pci $n)
[ -n "$dev" ] || hl_skip "no /dev/hl$n"
tmp=/tmp/close_inflight.$$

ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
dma0_busy() {
	[ $(($(hl_rd "$dev" $((HL_QMAN_BLOCKS + HL_QMAN_STATUS))) & HL_QMAN_STATUS_BUSY)) -ne 0 ]
}
# open_errno: the errno of opening /dev/hlN (0 if it opened).
open_errno() {
	python3 -c '
import os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDWR))
    print(0)
except OSError as e:
    print(e.errno)' "/dev/hl$n"
}
opens() { [ "$(open_errno)" = 0 ]; }
soft_resets() {
	hl-thunk info -d $n | sed -n 's/^resets: *[0-9]* hard, \([0-9]*\) soft/\1/p'
}
EAGAIN=11

printf '\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\012' > $tmp.nop

# hang_and_kill TIMEOUT_MS: submits the NOP job on a hung dma0 with that
# timeout, kills the submitter once the job is on the engine; prints how
# long the kill took to reap it (the close), in ms.
hang_and_kill() {
	hl_wr "$dev" $HL_CTL_ENGINE_HANG 1
	hl-thunk submit -d $n --queue dma0 --timeout "$1" $tmp.nop > $tmp.submit 2>&1 &
	_pid=$!
	hl_poll 20 dma0_busy || { kill -KILL $_pid; wait $_pid; echo 999999; return; }
	_t0=$(ms)
	kill -KILL $_pid
	wait $_pid 2> /dev/null
	echo $(($(ms) - _t0))
}

# --- The watchdog ends the job ----------------------------------------------
soft0=$(soft_resets)
closed_ms=$(hang_and_kill 20000)
t_closed=$(ms)
hl_diag "close with a hung job (timeout 20 s): $closed_ms ms"
hl_check "the close with a job in flight returns within 5 s" [ "$closed_ms" -lt 5000 ]
errno=$(open_errno)
hl_diag "open right after: errno $errno"
hl_check "the node is not free while the context is released (EAGAIN)" [ "$errno" = $EAGAIN ]
# Until the watchdog ends the job, the node stays closed to openers.
soft_moved() { [ "$(soft_resets)" -gt "$soft0" ]; }
early=
until soft_moved || [ $(($(ms) - t_closed)) -gt 90000 ]; do
	errno=$(open_errno)
	[ "$errno" = $EAGAIN ] || { early="errno $errno at $(($(ms) - t_closed)) ms"; break; }
	sleep 0.5
done
hl_diag "${early:-EAGAIN until the job timed out}"
hl_check "the node does not open before the job ended" [ -z "$early" ]
hl_check "the watchdog times the job out (a queue reset)" hl_poll 60 soft_moved
timeout_ms=$(($(ms) - t_closed))
hl_diag "the job timed out $timeout_ms ms after the close"
hl_check "not before its timeout (20 s after the submission)" [ "$timeout_ms" -gt 10000 ]
# The release scrubs device memory on dma0: the engine runs again.
hl_wr "$dev" $HL_CTL_ENGINE_HANG 0
hl_check "the node opens again once the context is released" hl_poll 30 opens
hl_diag "the node opened again $(($(ms) - t_closed)) ms after the close"
hl_check "the device computes for the next user" hl-thunk dma-test -d $n --size 64K

# --- The job ends by itself ------------------------------------------------
closed_ms=$(hang_and_kill 60000)
t_closed=$(ms)
hl_diag "close with a hung job (timeout 60 s): $closed_ms ms"
hl_check "the close returns within 5 s" [ "$closed_ms" -lt 5000 ]
hl_check "the node is not free while the job runs (EAGAIN)" [ "$(open_errno)" = $EAGAIN ]
hl_wr "$dev" $HL_CTL_ENGINE_HANG 0
hl_check "the node opens once the job ended" hl_poll 20 opens
reopen_ms=$(($(ms) - t_closed))
hl_diag "the node opened again $reopen_ms ms after the close"
hl_check "long before the job's timeout" [ "$reopen_ms" -lt 30000 ]
hl_check "the device computes again" hl-thunk dma-test -d $n --size 64K

# --- Unbind with a release pending --------------------------------------------
closed_ms=$(hang_and_kill 60000)
hl_check "a third close returns within 5 s" [ "$closed_ms" -lt 5000 ]
t0=$(ms)
hl_check "$dev unbinds with the release pending" hl_unbind "$dev"
hl_diag "unbind took $(($(ms) - t0)) ms"
hl_wr "$dev" $HL_CTL_ENGINE_HANG 0
hl_check "$dev binds again" hl_bind "$dev"
n=$(for d in /dev/hl[0-9]*; do d=${d#/dev/hl}; [ "$(hl_dev_pci "$d")" = "$dev" ] && echo "$d"; done | head -n 1)
hl_check "$dev computes after the rebind" hl-thunk dma-test -d "$n" --size 64K

rm -f $tmp.*
hl_exit
