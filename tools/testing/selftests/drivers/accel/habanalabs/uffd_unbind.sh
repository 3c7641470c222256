#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A user whose pages fault in slowly must not hold the device: while the
# MEMORY ioctl of hl-uffd-pin (uffd_pin.c) pins pages that a userfaultfd
# handler has not filled yet, unbinding the device completes (the pinning
# does not hold the binding); once the pages come, the ioctl fails with
# ENODEV, and the device binds and computes again.
. ./lib.sh

if ! command -v hl-uffd-pin > /dev/null; then
	hl_fail "hl-uffd-pin is installed"
	hl_exit
fi

hl_check_nodes
set -- $HL_NODES
n=${1#/dev/hl}
dev=$(hl_dev_pci "$n")
fifo=/tmp/uffd.fifo out=/tmp/uffd.out
rm -f $fifo $out
mkfifo $fifo
hl-uffd-pin "/dev/hl$n" < $fifo > $out 2>&1 &
pin=$!
exec 5> $fifo
hl_check "hl$n: the driver waits on a user page fault" hl_poll 30 grep -q '^faulting' $out

# Bounded only so that a hang is reported rather than waited for.
hl_unbind "$dev" 5>&- &
unbind=$!
hl_check "$dev: unbinds while the pinning waits" hl_poll 60 hl_unbound "$dev"
if ! hl_unbound "$dev"; then
	# Let the pinning end, so that the unbind can.
	exec 5>&-
	wait $unbind
	hl_exit
fi
wait $unbind
exec 5>&-
wait $pin
sed 's/^/# /' $out
hl_check "hl$n: the mapping fails with ENODEV once the pages came" grep -q '^map: ENODEV' $out
rm -f $fifo $out
hl_check "$dev: binds again" hl_bind "$dev"
hl_check "$dev: bound" hl_poll 30 hl_bound "$dev"
n=
for node in /dev/hl[0-9]*; do
	[ "$(hl_dev_pci "${node#/dev/hl}")" = "$dev" ] && n=${node#/dev/hl}
done
hl_check "$dev: DMA copies again" hl-thunk dma-test -d "$n" --size 64K
hl_exit
