#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host memory mapped for the device is pinned and charged to the process's
# pinned_vm against its RLIMIT_MEMLOCK: an unprivileged process (no
# CAP_IPC_LOCK) with a 512 KiB limit maps 2 x 64 KiB but not 2 x 1 MiB,
# which fails with ENOMEM, as RDMA's memory registration does; the charge
# goes with the mappings (the small copy works again after the failure),
# and root, with CAP_IPC_LOCK, is not limited.
. ./lib.sh

set -- $HL_DEVS
n=
for node in /dev/hl[0-9]*; do
	node=${node#/dev/hl}
	[ "$(hl_dev_pci "$node")" = "$1" ] && n=$node
done
[ -n "$n" ] || hl_skip "no node for $1"
out=/tmp/pin_limit.out

# as_user KIB CMD...: CMD as user nobody (no capabilities), with
# RLIMIT_MEMLOCK at KIB KiB (busybox has no chpst: python3, from /net).
as_user() {
	_kib=$1
	shift
	(ulimit -l "$_kib" && exec python3 -c '
import os, sys
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
os.execvp(sys.argv[1], sys.argv[1:])
' "$@") > $out 2>&1
	_rc=$?
	sed 's/^/# /' $out
	return $_rc
}

modes=$(stat -c '%a' "/dev/hl$n" "/dev/hl_controlD$n")
chmod 666 "/dev/hl$n" "/dev/hl_controlD$n"
hl_check "nobody, 512 KiB: 2 x 64 KiB mapped and copied" \
	as_user 512 hl-thunk dma-test -d "$n" --size 64K
hl_check "nobody, 512 KiB: 2 x 1 MiB refused" \
	hl_not as_user 512 hl-thunk dma-test -d "$n" --size 1M
hl_check "... with ENOMEM" grep -q "Cannot allocate memory" $out
hl_check "nobody, 512 KiB: 2 x 64 KiB again (the charge went with the mappings)" \
	as_user 512 hl-thunk dma-test -d "$n" --size 64K
hl_check "root (CAP_IPC_LOCK), 512 KiB: 2 x 1 MiB mapped and copied" \
	sh -c "ulimit -l 512 && exec hl-thunk dma-test -d $n --size 1M"
set -- $modes
chmod "$1" "/dev/hl$n"
chmod "$2" "/dev/hl_controlD$n"
rm -f $out
hl_exit
