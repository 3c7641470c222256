#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Closes the last files open on a device while it unbinds, in a loop, with
# the model raising every interrupt about every millisecond (IRQ_STORM):
# the structure that holds the interrupt handlers goes away with the last
# file, which closes once the devres release has freed the first queue
# interrupt, so it must not be freed before the devres release has freed
# the others (a handler would run on freed memory: KASAN). The kernel log
# must stay clean, and the device binds and computes again after the loop.
. ./lib.sh

# node_of DEV: the N of DEV's /dev/hlN.
node_of() {
	for _n in /dev/hl[0-9]*; do
		_n=${_n#/dev/hl}
		[ "$(hl_dev_pci "$_n")" = "$1" ] && echo "$_n" && return 0
	done
	return 1
}

set -- $HL_DEVS
dev=$1

# events: the interrupts counted so far on the events vectors.
events() {
	awk '/habanalabs-events/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i }
		END { print n + 0 }' /proc/interrupts
}

before=$(events)
hl_set_faults "$dev" $HL_FAULT_IRQ_STORM
sleep 0.2
hl_set_faults "$dev" 0
hl_diag "events interrupts: $before before 200 ms of storm, $(events) after"
hl_check "the storm raises the events interrupt" [ "$(events)" -gt $((before + 10)) ]
rounds=${HL_UNBIND_CLOSE_ROUNDS:-12}
fails=0 inside=0
i=0
while [ $i -lt $rounds ]; do
	n=$(node_of "$dev") || { hl_diag "round $i: no node for $dev"; fails=$((fails + 1)); break; }
	hl_set_faults "$dev" $HL_FAULT_IRQ_STORM
	exec 3<> "/dev/hl$n" 4<> "/dev/hl_controlD$n"
	qirqs=$(grep -c habanalabs-qman /proc/interrupts)
	# The background job must not hold copies of the files.
	hl_unbind "$dev" 3<&- 4<&- &
	unbind=$!
	# Close once the devres release has freed the first queue interrupt,
	# the events interrupt being still requested.
	until [ "$(grep -c habanalabs-qman /proc/interrupts)" -lt "$qirqs" ]; do
		kill -0 $unbind 2> /dev/null || break
	done
	evirqs=$(grep -c habanalabs-events /proc/interrupts)
	exec 3<&- 4<&-
	# Both devices' events interrupts still requested: the close came
	# before the release freed this one's.
	[ "$evirqs" = 2 ] && inside=$((inside + 1))
	wait $unbind || { hl_diag "round $i: unbind failed"; fails=$((fails + 1)); }
	hl_set_faults "$dev" 0
	hl_bind "$dev" || { hl_diag "round $i: bind failed"; fails=$((fails + 1)); break; }
	i=$((i + 1))
done
hl_check "$rounds rounds of closing the last files during unbind, under an interrupt storm" \
	[ $fails = 0 ]
hl_diag "$inside of $rounds closes came with the events interrupt still requested"
hl_check "some closes came with the events interrupt still requested" [ $inside -gt 0 ]
hl_check "$dev: bound after the loop" hl_bound "$dev"
n=$(node_of "$dev")
hl_check "$dev: computes after the loop" hl-thunk dma-test -d "$n" --size 4096
hl_exit
