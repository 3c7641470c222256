#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Peer-to-peer through dma-buf (Documentation/accel/habanalabs/uapi.rst,
# driver.rst): each device exports device memory and the other imports it
# and moves data with its DMA engine, without the host: hl-compute-tests'
# dmabuf group both ways (transfers byte for byte, what export and import
# refuse, the descriptor closed before and after the import, the
# exporter's close revoking the import, and the CPU's mmap of the dma-buf:
# DMA writes read through it, its writes read by DMA, the ranges it
# refuses, munmap after close and FREE, SIGBUS once the exporter's context closed);
# "hl-thunk dmabuf-transfer" of 16 MiB both ways, and of 1 MiB checked
# through a CPU mapping too (--mmap); a mutation check: with the
# exporter's BAR no longer decoded by the model the transfer fails; the
# exporter unbound, then reset (devlink health recover), under a stream of
# copies with the dma-buf mapped by the CPU: the importer sees an error, a
# read through the CPU mapping faults (SIGBUS) and a new mmap is refused,
# no importer kept a mapping, and both devices transfer again.
. ./lib.sh

tmp=/tmp/$HL_TEST.$$

for tool in hl-thunk hl-compute-tests; do
	if ! command -v $tool > /dev/null; then
		hl_fail "$tool is installed"
		hl_exit
	fi
done

hl_load
pcis=
for n in 0 1; do
	d=$(hl_dev_pci $n)
	if ! hl_check "/dev/hl$n is a device of the model ($d)" hl_is_model "$d"; then
		hl_exit
	fi
	pcis="$pcis $d"
done
set -- $pcis
d0=$1 d1=$2

# transfer OUT ARG...: hl-thunk dmabuf-transfer ARGs, its output in OUT and
# as diagnostics; succeeds if it did and reported ok copies.
transfer() {
	_out=$1
	shift
	hl-thunk dmabuf-transfer "$@" > "$_out" 2>&1
	_rc=$?
	sed 's/^/# /' "$_out"
	[ $_rc = 0 ] && grep -q ': ok (' "$_out"
}

# oks OUT: the ok copies in OUT.
oks() { grep -c ': ok (' "$1"; }

hl_merge hl-compute-tests -d 0 dmabuf
hl_merge hl-compute-tests -d 1 dmabuf

hl_check "16 MiB device 1 -> 0 and back through device 0's dma-buf" \
	transfer $tmp.a --from 0 --to 1 --size 16M --iterations 2
hl_check "4 copies checked byte for byte" [ "$(oks $tmp.a)" -eq 4 ]
hl_check "16 MiB device 0 -> 1 and back through device 1's dma-buf" \
	transfer $tmp.b --from 1 --to 0 --size 16M
hl_check "2 copies checked byte for byte" [ "$(oks $tmp.b)" -eq 2 ]
for from in 0 1; do
	hl_check "1 MiB through device $from's dma-buf, checked through a CPU mapping" \
		transfer $tmp.m$from --from $from --size 1M --mmap
	# The DMA write and read, the CPU's read of the write, its own write
	# read by the exporter, and its read after the descriptor closed.
	hl_check "5 copies checked byte for byte" [ "$(oks $tmp.m$from)" -eq 5 ]
done

# Mutation: the model no longer decodes device 0's BAR (as if the bus
# did not route peer traffic): the same transfer must fail.
lo=$(hl_rd "$d0" $HL_PCI_BAR2_BUS_LO)
hi=$(hl_rd "$d0" $HL_PCI_BAR2_BUS_HI)
hl_check "device 0's BAR2 bus address is set ($hi:$lo)" [ $((lo | hi)) -ne 0 ]
hl_wr "$d0" $HL_PCI_BAR2_BUS_LO 0
hl_wr "$d0" $HL_PCI_BAR2_BUS_HI 0
hl_check "mutation: with peer routing off the transfer fails" \
	hl_not transfer $tmp.c --from 0 --to 1 --size 1M
hl_wr "$d0" $HL_PCI_BAR2_BUS_LO "$lo"
hl_wr "$d0" $HL_PCI_BAR2_BUS_HI "$hi"
hl_check "routing back on, the transfer passes" \
	transfer $tmp.c --from 0 --to 1 --size 1M

# stream_then WHAT CMD...: device 1 copies into device 0's dma-buf, which
# the process also maps for the CPU, until a copy fails; once copies run,
# CMD stops the exporter. The stream must end with an error, the CPU
# mapping must fault and a new one be refused, and nothing may be left
# mapped.
stream_then() {
	_what=$1
	shift
	hl_mark
	hl-thunk dmabuf-transfer --from 0 --to 1 --size 4M --stream --mmap --iterations 20000 > $tmp.s 2>&1 &
	_pid=$!
	hl_check "$_what: copies run" hl_poll 60 grep -q '^dmabuf-transfer: streaming' $tmp.s
	hl_check "$_what: done" "$@"
	_rc=0
	wait $_pid || _rc=$?
	sed 's/^/# /' $tmp.s
	hl_check "$_what: the importer's copy failed" \
		sh -c "[ $_rc != 0 ] && grep -q 'failed' $tmp.s"
	hl_check "$_what: a read through the CPU mapping faults (SIGBUS)" \
		grep -q 'the CPU mapping faults (SIGBUS)' $tmp.s
	hl_check "$_what: a new CPU mapping is refused (ENODEV)" \
		grep -q 'a new CPU mapping is refused: .*No such device' $tmp.s
	hl_check "$_what: no importer kept a mapping" hl_log_lacks "$d0" "importers kept"
}

stream_then "exporter unbound" hl_unbind "$d0"
hl_check "device 0 bound again" hl_bind "$d0"
hl_check "every device bound" hl_all_bound
hl_check "device 1 still moves data through a new dma-buf of device 0" \
	transfer $tmp.d --from 0 --to 1 --size 1M

# A reset: the operator's recover of device 0's device reporter, left in
# error by a job with an unknown opcode while auto-recovery is off,
# hard-resets the device.
printf '\000\000\000\000\000\000\000\037' > $tmp.bad
devlink health set "pci/$d0" reporter device auto_recover false
hl_check "device 0: a job with an unknown opcode fails" \
	hl_not hl-thunk submit -d 0 --queue dma0 $tmp.bad
hl_check "device 0's device reporter is in error" \
	hl_poll 10 sh -c "devlink health show pci/$d0 reporter device | grep -q 'state error'"
stream_then "exporter reset" devlink health recover "pci/$d0" reporter device
hl_check "exporter reset: device 0 was reset" hl_log_has "$d0" "hard reset done"
devlink health set "pci/$d0" reporter device auto_recover true
hl_check "device 1 still moves data through a new dma-buf of device 0" \
	transfer $tmp.e --from 0 --to 1 --size 1M
hl_check "device 1 moves data through a dma-buf of device 1 to device 0" \
	transfer $tmp.f --from 1 --to 0 --size 1M

rm -f $tmp.*
hl_exit
