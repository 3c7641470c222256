#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hard reset and the watchdog (Documentation/accel/habanalabs/driver.rst,
# Hard reset):
#  - a submission on a hung engine that nobody waits for (its process is
#    stopped) ends by its timeout: the watchdog enforces it;
#  - the firmware's heartbeat stops (the model's FAULT_HEARTBEAT_STOP): the
#    watchdog resets the device whole. The compute user open at the time
#    sees POLLERR | POLLHUP and EIO, and can open the node again once it
#    closed it; port 0's netdev stays registered (same ifindex, in its
#    namespace) and its link and traffic come back; INFO RESET_COUNT,
#    sysfs hard_reset_cnt and the device reporter count the reset, whose
#    dump names the cause;
#  - the operator's devlink health recover (of the device reporter in
#    error: auto-recovery off) is a hard reset too, and so is
#    a reset of the PCI function from sysfs where the device has one (the
#    test VM's ivshmem has none: skipped).
. ./lib.sh

n=0
dev=$(hl_dev_pci $n)
[ -n "$dev" ] || hl_skip "no /dev/hl$n"
h=pci/$dev
class=/sys/class/habanalabs/hl$n
tmp=/tmp/hard_reset.$$

hard_resets() { cat "$class/hard_reset_cnt"; }
info_resets() { hl-thunk info -d $n | sed -n 's/^resets: *\([0-9]*\) hard, \([0-9]*\) soft/\1 \2/p'; }
soft_resets() { set -- $(info_resets); echo "$2"; }
status() { cat "$class/status"; }
dma0_busy() {
	[ $(($(hl_rd "$dev" $((HL_QMAN_BLOCKS + HL_QMAN_STATUS))) & HL_QMAN_STATUS_BUSY)) -ne 0 ]
}
reporter_errors() {
	devlink health show "$h" reporter device | sed -n 's/.* error \([0-9]*\) .*/\1/p'
}

# --- The watchdog enforces a submission's timeout ---------------------------
printf '\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\012' > $tmp.nop
soft0=$(soft_resets)
errors_a=$(reporter_errors)
hl_wr "$dev" $HL_CTL_ENGINE_HANG 1
hl-thunk submit -d $n --queue dma0 --timeout 1000 $tmp.nop > $tmp.submit 2>&1 &
submit=$!
# The job is on the engine once the QMAN is busy; then its process stops.
hl_check "a job hangs on dma0" hl_poll 20 dma0_busy
kill -STOP $submit
soft_moved() { [ "$(soft_resets)" -gt "$soft0" ]; }
hl_check "nobody waiting, the watchdog times the submission out (a queue reset)" \
	hl_poll 30 soft_moved
kill -CONT $submit
wait $submit
rc=$?
sed 's/^/# /' $tmp.submit
hl_check "the submitter learns it timed out" sh -c "[ $rc -ne 0 ] && grep -qi 'timed out' $tmp.submit"
hl_wr "$dev" $HL_CTL_ENGINE_HANG 0
timeout_reported() { [ "$(reporter_errors)" -gt "$errors_a" ]; }
hl_check "the device reporter reported the timeout" hl_poll 20 timeout_reported
# The core keeps the first dump taken since the last clear.
devlink health dump clear "$h" reporter device

# --- Port 0 up in a namespace, traffic, a compute user ----------------------
hl_nic_setup || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
ifa=$1 ifb=$2
[ "$(hl_if_port "$ifa")" = "$dev 0" ] || { set -- "$ifb" "$ifa"; ifa=$1 ifb=$2; }
hl_check "port 0 of $dev is $ifa" [ "$(hl_if_port "$ifa")" = "$dev 0" ]
hl_check "$ifa and $ifb up in namespaces" hl_pair_up 0 "$ifa" "$ifb"
hl_check "$ifa has a carrier" hl_poll 30 hl_carrier hla0 "$ifa"
hl_check "ping over port 0" hl_poll 20 hl_ping hla0 "$(hl_addr 0 2)"
ifindex=$(ip -n hla0 -o link show dev "$ifa" | cut -d: -f1)

# A compute user: opens /dev/hlN, waits in poll(2), then tries an ioctl
# (HL_IOCTL_CB CREATE, 4 KiB).
python3 -c '
import os, select, fcntl, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
print("open", flush=True)
p = select.poll()
p.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
ev = p.poll(120000)
print("revents", ev[0][1] if ev else 0, flush=True)
cmd = (3 << 30) | (24 << 16) | (ord("H") << 8) | 2
try:
    fcntl.ioctl(fd, cmd, bytearray(struct.pack("=QIIII", 0, 0, 4096, 0, 0)))
    print("ioctl ok", flush=True)
except OSError as e:
    print("ioctl errno", e.errno, flush=True)
os.close(fd)
print("closed", flush=True)
' /dev/hl$n > $tmp.user 2>&1 &
user=$!
hl_check "a compute user has /dev/hl$n open" hl_poll 20 grep -q '^open' $tmp.user

# --- The heartbeat stops: a hard reset --------------------------------------
hard0=$(hard_resets)
set -- $(info_resets)
info0=$1
errors0=$(reporter_errors)
# devlink runs the operator's recovery for a reporter in error only: without
# auto-recovery, the report of this reset leaves it so.
devlink health set "$h" reporter device auto_recover false
hl_mark
hl_set_faults "$dev" $HL_FAULT_HEARTBEAT_STOP
reset_moved() { [ "$(hard_resets)" -gt "$hard0" ]; }
operational() { [ "$(status)" = Operational ]; }
hl_check "the watchdog notices the lost heartbeat and resets the device" \
	hl_poll 60 reset_moved
hl_check "the device is operational again" hl_poll 30 operational
hl_log_show "$dev"
hl_check "the lost heartbeat is logged" hl_log_has "$dev" "no heartbeat"
hl_check "the reset is logged with its cause" hl_log_has "$dev" "hard reset done \(heartbeat lost\)"
hl_check "the reset revived the firmware (fault cleared)" \
	[ $(($(hl_rd "$dev" $HL_CTL_FAULTS) & HL_FAULT_HEARTBEAT_STOP)) -eq 0 ]
set -- $(info_resets)
hl_check "INFO RESET_COUNT counts the hard reset" [ "${1:-0}" -gt "$info0" ]

wait $user
sed 's/^/# /' $tmp.user
hl_check "the compute user's poll reports POLLERR | POLLHUP" \
	sh -c "[ \$((\$(sed -n 's/^revents //p' $tmp.user) & 24)) -eq 24 ]"
hl_check "its ioctl fails with EIO" grep -q '^ioctl errno 5$' $tmp.user
hl_check "it closed the node" grep -q '^closed' $tmp.user
hl_check "the node opens again, and DMA works" hl-thunk dma-test -d $n

reported() { [ "$(reporter_errors)" -gt "$errors0" ]; }
hl_check "the device reporter reported the reset" hl_poll 20 reported
dump=$(devlink health dump show "$h" reporter device)
echo "$dump" | sed 's/^/# /'
hl_check "the dump names the cause" sh -c "echo '$dump' | grep -q 'last_hard_reset_cause: heartbeat lost'"

hl_check "$ifa is still registered, in its namespace, with ifindex $ifindex" \
	[ "$(ip -n hla0 -o link show dev "$ifa" | cut -d: -f1)" = "$ifindex" ]
hl_check "$ifa's link comes back" hl_poll 30 hl_carrier hla0 "$ifa"
hl_check "ping over port 0 after the reset" hl_poll 20 hl_ping hla0 "$(hl_addr 0 2)"

# --- The operator's recovery ------------------------------------------------
in_error() { devlink health show "$h" reporter device | grep -q 'state error'; }
hl_check "the device reporter is in error (no auto-recovery)" hl_poll 10 in_error
hard0=$(hard_resets)
hl_check "devlink health recover $h reporter device" \
	devlink health recover "$h" reporter device
devlink health set "$h" reporter device auto_recover true
hl_check "... is a hard reset" [ "$(hard_resets)" -gt "$hard0" ]
hl_check "$ifa keeps ifindex $ifindex" \
	[ "$(ip -n hla0 -o link show dev "$ifa" | cut -d: -f1)" = "$ifindex" ]
hl_check "ping over port 0 after the operator's reset" hl_poll 30 hl_ping hla0 "$(hl_addr 0 2)"
hl_check "DMA works after it" hl-thunk dma-test -d $n

# --- A reset of the function from sysfs (FLR), if the device has one --------
if [ -e "$HL_PCI/$dev/reset" ]; then
	hard0=$(hard_resets)
	hl_check "echo 1 > $HL_PCI/$dev/reset" hl_sysfs_write "$HL_PCI/$dev/reset" 1
	hl_check "... goes through the hard reset" [ "$(hard_resets)" -gt "$hard0" ]
	hl_check "DMA works after it" hl-thunk dma-test -d $n
else
	# ivshmem has no FLR in QEMU 7.2 and sits on the root bus: no reset method.
	hl_pass "PCI function reset from sysfs # SKIP $dev has no reset method"
fi

hl_pair_down 0 "$ifa" "$ifb"
rm -f $tmp.*
hl_exit
