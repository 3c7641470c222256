#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# devlink (Documentation/accel/habanalabs/devlink.rst): each device has an
# instance whose info shows the driver, the serial number and the versions
# the device reports; a physical devlink port per Ethernet port names the
# port's netdev (phys_port_name pN, phys_switch_id the serial number); the
# device, eq and per-port tx health reporters exist; an engine error (a job
# with an unknown opcode) is counted by the device reporter, diagnosed and
# dumped. devlink dev reload (driver reinit) rebuilds the Ethernet half and
# the devlink ports around a hard reset, after which the netdevs are back
# and DMA works. A port whose stop fails (the model's MAILBOX_HANG) asks
# for a hard reset, which fails too: the device is disabled, diagnose and
# the dump say so and why; once the fault is cleared a reload revives it.
. ./lib.sh

hl_load
for dev in $HL_DEVS; do
	h=pci/$dev
	serial=$(printf %016x "$(hl_rd64 "$dev" $HL_REG_SERIAL_LO)")
	version=$(hl_rd "$dev" $HL_REG_VERSION)
	info=$(devlink dev info "$h")
	echo "$info" | sed 's/^/# /'
	hl_check "$dev: devlink dev show lists $h" \
		sh -c "devlink dev show | grep -qx '$h'"
	hl_check "$dev: info names the driver" \
		sh -c "echo '$info' | grep -q 'driver habanalabs'"
	hl_check "$dev: info shows serial $serial" \
		sh -c "echo '$info' | grep -q 'serial_number $serial'"
	hl_check "$dev: info shows the model version" \
		sh -c "echo '$info' | grep -q 'fw $((version >> 16)).$((version & 0xffff))'"
	hl_check "$dev: info shows the board and ASIC" \
		sh -c "echo '$info' | grep -q 'board.id GAUDI-sim' && echo '$info' | grep -q 'asic.id'"

	n=$(hl_port_count "$dev")
	hl_check "$dev: a devlink port per Ethernet port ($n)" \
		[ "$(devlink port show | grep -c "^$h/")" -eq "$n" ]
	for p in $(hl_ports "$dev" | awk '{ print $1 }'); do
		ifname=$(hl_port_if "$dev" "$p")
		hl_check "$dev: port $p is physical port $p of $ifname" \
			sh -c "devlink port show '$h/$p' | grep -q 'netdev $ifname flavour physical port $p'"
		hl_check "$dev: $ifname phys_port_name p$p" \
			[ "$(cat "/sys/class/net/$ifname/phys_port_name")" = "p$p" ]
		hl_check "$dev: $ifname phys_switch_id is the serial" \
			[ "$(cat "/sys/class/net/$ifname/phys_switch_id")" = "$serial" ]
		hl_check "$dev: port $p has a tx reporter" \
			sh -c "devlink health show '$h/$p' reporter tx | grep -q 'state healthy'"
	done
	for r in device eq; do
		hl_check "$dev: $r reporter healthy" \
			sh -c "devlink health show '$h' reporter $r | grep -q 'state healthy error 0'"
	done
done

# reporter_count DEV WHAT: the device reporter's error or recover count.
reporter_count() {
	devlink health show "pci/$1" reporter device |
		sed -n "s/.* $2 \([0-9]*\) .*/\1/p"
}

dev=$(hl_dev_pci 0)
h=pci/$dev
bad=/tmp/devlink-bad-opcode
# One packet: opcode 0x1f, which the device does not know.
printf '\000\000\000\000\000\000\000\037' > $bad
hl_mark
hl_check "$dev: a job with an unknown opcode fails" hl_not hl-thunk submit -d 0 --queue dma0 $bad
hl_check "$dev: the device reporter counts the error" \
	hl_poll 10 sh -c "devlink health show '$h' reporter device | grep -q ' error [1-9]'"
devlink health show "$h" reporter device | sed 's/^/# /'
diag=$(devlink health diagnose "$h" reporter device)
echo "$diag" | sed 's/^/# /'
hl_check "$dev: diagnose shows the bad opcode" sh -c "echo '$diag' | grep -q 'bad opcode'"
dump=$(devlink health dump show "$h" reporter device)
echo "$dump" | sed 's/^/# /'
hl_check "$dev: the dump names the last cause and queue" \
	sh -c "echo '$dump' | grep -q 'last_cause: bad opcode' && echo '$dump' | grep -q 'last_queue: 0'"
hl_check "$dev: the reported error was recovered" \
	hl_poll 10 sh -c "devlink health show '$h' reporter device | grep -q 'state healthy error [1-9][0-9]* recover [1-9]'"

hl_check "$dev: the device reporter is healthy" \
	sh -c "devlink health show '$h' reporter device | grep -q 'state healthy'"
rm -f $bad

class=/sys/class/habanalabs/hl0
status() { cat "$class/status"; }
operational() { [ "$(status)" = Operational ]; }
disabled() { [ "$(status)" = Disabled ]; }

# A reload of a healthy device.
errors=$(reporter_count "$dev" error)
hl_mark
hl_check "$dev: devlink dev reload" devlink dev reload "$h"
hl_check "$dev: reloaded" hl_log_has "$dev" "reloaded"
hl_check "$dev: every port is back after reload" hl_poll 20 hl_all_ports_here "$dev"
hl_check "$dev: a devlink port per Ethernet port again" \
	[ "$(devlink port show | grep -c "^$h/.*netdev ")" -eq "$(hl_port_count "$dev")" ]
hl_check "$dev: DMA works after reload" hl-thunk dma-test -d 0
reload_reported() { [ "$(reporter_count "$dev" error)" -gt "$errors" ]; }
hl_check "$dev: the device reporter reported the reload's reset" hl_poll 20 reload_reported

# A port that does not stop: a hard reset, which fails; the device is
# disabled until a reload.
devlink health dump clear "$h" reporter device
ifa=$(hl_port_if "$dev" 0)
hl_check "$dev: $ifa up" ip link set dev "$ifa" up
hl_mark
hl_set_faults "$dev" $HL_FAULT_MAILBOX_HANG
ip link set dev "$ifa" down
hl_check "$dev: the device is disabled" hl_poll 60 disabled
hl_log_show "$dev"
stop_logged() { hl_log | grep -q "$ifa: port 0: stop failed"; }
hl_check "$dev: the failed stop is logged" stop_logged
hl_check "$dev: the failed hard reset is logged" hl_log_has "$dev" "hard reset failed \(port stuck\)"
hl_check "$dev: the compute node refuses to open" hl_not hl-thunk dma-test -d 0
diag=$(devlink health diagnose "$h" reporter device)
echo "$diag" | sed 's/^/# /'
hl_check "$dev: diagnose shows the device disabled" sh -c "echo '$diag' | grep -q 'state: disabled'"
dumped() { devlink health dump show "$h" reporter device | grep -q 'last_hard_reset_cause: port stuck'; }
hl_check "$dev: the dump names the cause" hl_poll 20 dumped
devlink health dump show "$h" reporter device | sed 's/^/# /'

hl_set_faults "$dev" 0
hl_mark
hl_check "$dev: devlink dev reload revives it" devlink dev reload "$h"
hl_check "$dev: operational" operational
hl_check "$dev: every port is back" hl_poll 20 hl_all_ports_here "$dev"
hl_check "$dev: DMA works" hl-thunk dma-test -d 0
ifa=$(hl_port_if "$dev" 0)
hl_check "$dev: $ifa comes up" ip link set dev "$ifa" up
ip link set dev "$ifa" down
hl_exit
