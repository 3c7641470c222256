#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module autoloading. habanalabs.ko exports its PCI IDs as an alias, which
# modinfo shows and depmod indexes: modprobe finds the module by name and
# by each model device's modalias, and loads it. Once the driver is
# unloaded, nothing loads it until a device appears: removing the devices
# and rescanning the bus then loads it by itself, through the uevent of
# each added device and /sbin/hotplug (tools/vm/hotplug, run by busybox's
# uevent listener as udev would run modprobe), and binds every device.
. ./lib.sh

modprobe=/usr/sbin/modprobe modinfo=/usr/sbin/modinfo
[ -x $modprobe ] && [ -x $modinfo ] || hl_skip "no kmod in the guest (modprobe, modinfo)"
alias='pci:v00001AF4d00001110sv*sd*bc*sc*i*'
path=/lib/modules/$(uname -r)/extra/habanalabs.ko
listener=

stop_listener() {
	[ -z "$listener" ] || kill "$listener" 2>/dev/null
	listener=
}

# Brings back removed devices whatever happened, before lib.sh's clean-up.
trap 'stop_listener; echo 1 > /sys/bus/pci/rescan; hl_cleanup' EXIT

has_alias() { $modinfo -F alias habanalabs | grep -qxF "$alias"; }
# resolves DEV: the modalias of DEV resolves to habanalabs alone.
resolves() { [ "$($modprobe -R "$(cat "$HL_PCI/$1/modalias")")" = habanalabs ]; }
unload() { rmmod habanalabs && hl_not hl_loaded && hl_none_bound; }
all_gone() {
	for _d in $HL_DEVS; do
		[ ! -e "$HL_PCI/$_d" ] || return 1
	done
}

# wait_bound SECONDS: every device is bound within SECONDS.
wait_bound() {
	_t=0
	until hl_loaded && hl_all_bound; do
		[ $_t -lt "$1" ] || return 1
		sleep 1
		_t=$((_t + 1))
	done
}

hl_check "modinfo habanalabs: alias $alias" has_alias
hl_check "modinfo -n habanalabs: $path" [ "$($modinfo -n habanalabs)" = "$path" ]
for dev in $HL_DEVS; do
	hl_check "$dev: modalias $(cat "$HL_PCI/$dev/modalias") resolves to habanalabs" \
		resolves "$dev"
done

hl_check "rmmod habanalabs, no device bound" unload
hl_mark
hl_check "modprobe habanalabs" $modprobe habanalabs
hl_check "every device bound after modprobe" hl_all_bound
for dev in $HL_DEVS; do
	hl_check "$dev: DMA self-test passed after modprobe" \
		hl_log_has "$dev" "DMA self-test passed"
done

hl_check "rmmod habanalabs again" unload
uevent /sbin/hotplug &
listener=$!
sleep 2
hl_check "uevent listener running" kill -0 "$listener"
hl_check "nothing loads the driver without a new device" hl_not hl_loaded
for dev in $HL_DEVS; do
	echo 1 > "$HL_PCI/$dev/remove"
done
hl_check "model devices removed" all_gone
hl_check "no uevent loaded the driver on removal" hl_not hl_loaded

hl_mark
echo 1 > /sys/bus/pci/rescan
hl_check "rescan: the driver loads and binds every device by itself" wait_bound 120
for dev in $HL_DEVS; do
	hl_check "$dev: DMA self-test passed after rescan" \
		hl_log_has "$dev" "DMA self-test passed"
done
stop_listener
hl_exit
