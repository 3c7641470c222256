#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Surprise removal (Documentation/accel/habanalabs/driver.rst, Hard reset):
# the model's FAULT_VANISH makes the device go away as if unplugged (its
# registers read all ones, doorbells are ignored, no interrupt comes). The
# watchdog notices it by itself; the device then reads as disabled, and
# unbind, with a compute user open and a port up, completes without a
# single mailbox command timing out (the driver knows nobody answers).
# Once the fault is cleared the device binds again and works; the run's
# kmemleak check finds nothing left behind.
. ./lib.sh

n=0
dev=$(hl_dev_pci $n)
[ -n "$dev" ] || hl_skip "no /dev/hl$n"
class=/sys/class/habanalabs/hl$n
tmp=/tmp/vanish.$$

# A port up, and a compute user holding the node.
ifa=$(hl_port_if "$dev" 0)
hl_check "$dev: port 0 ($ifa) up" ip link set dev "$ifa" up
python3 -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDWR)
print("open", flush=True)
p = select.poll()
p.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
ev = p.poll(120000)
print("revents", ev[0][1] if ev else 0, flush=True)
os.close(fd)
' /dev/hl$n > $tmp.user 2>&1 &
user=$!
hl_check "a compute user has /dev/hl$n open" hl_poll 20 grep -q '^open' $tmp.user

hl_mark
hl_set_faults "$dev" $HL_FAULT_VANISH
hl_check "$dev: its registers read all ones" \
	hl_poll 10 sh -c "[ \$(devmem $(($(hl_bar2 "$dev") + HL_REG_MAGIC)) 32) = 0xFFFFFFFF ]"
gone() { hl_log_has "$dev" "the device is gone"; }
hl_check "$dev: the watchdog notices by itself" hl_poll 20 gone
hl_check "$dev: status Disabled" [ "$(cat $class/status)" = Disabled ]
wait $user
sed 's/^/# /' $tmp.user
hl_check "the compute user's poll reports POLLERR | POLLHUP" \
	sh -c "[ \$((\$(sed -n 's/^revents //p' $tmp.user) & 24)) -eq 24 ]"

start=$(hl_uptime)
hl_check "$dev: unbind" hl_unbind "$dev"
hl_diag "unbind took about $(($(hl_uptime) - start)) s"
hl_check "$dev: unbound" hl_unbound "$dev"
hl_log_show "$dev"
# The driver logs errnos as numbers: -110 is ETIMEDOUT.
hl_check "$dev: no command waited for its timeout" hl_log_lacks "$dev" "time.?out|-110"

hl_recover "$dev"
hl_check "$dev: DMA works after it came back" hl-thunk dma-test -d $n
rm -f $tmp.*
hl_exit
