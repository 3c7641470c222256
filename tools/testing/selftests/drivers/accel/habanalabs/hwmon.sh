#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hwmon (the hwmon section of Documentation/accel/habanalabs/driver.rst):
# each device has a hwmon device "habanalabs" with a temperature, a
# voltage, a current and a power sensor, their limits and labels, which
# sensors (lm-sensors) reads; the readings are the model's. (How power
# follows load is hlsim's unit test: sampling it here under TCG was flaky.)
. ./lib.sh

# hwmon_dir DEV: DEV's hwmon directory.
hwmon_dir() {
	for _h in "$HL_PCI/$1"/hwmon/hwmon*; do
		[ "$(cat "$_h/name" 2>/dev/null)" = habanalabs ] && echo "$_h"
	done
}

hl_load
for dev in $HL_DEVS; do
	hw=$(hwmon_dir "$dev")
	hl_check "$dev: a habanalabs hwmon device" [ -n "$hw" ]
	[ -n "$hw" ] || continue
	for f in temp1_input temp1_max temp1_crit in0_input in0_min in0_max \
		 curr1_input curr1_max power1_input power1_max; do
		hl_check "$dev: $f reads a positive number" [ "$(cat "$hw/$f")" -gt 0 ]
	done
	hl_check "$dev: labels" [ "$(cat "$hw/temp1_label" "$hw/in0_label" \
		"$hw/curr1_label" "$hw/power1_label" | tr '\n' ' ')" = "die vcore icore board " ]
	hl_check "$dev: temp1_crit above temp1_max above temp1_input" \
		[ "$(cat "$hw/temp1_crit")" -gt "$(cat "$hw/temp1_max")" ] &&
		[ "$(cat "$hw/temp1_max")" -gt "$(cat "$hw/temp1_input")" ]
	hl_check "$dev: power1_max is the model's limit" \
		[ "$(cat "$hw/power1_max")" -eq "$(hl_rd "$dev" $HL_SENSOR_POWER_MAX)" ]
done

out=$(sensors 2>&1)
echo "$out" | sed 's/^/# /'
hl_check "sensors lists the devices" \
	[ "$(echo "$out" | grep -c '^habanalabs-pci-')" -eq "$HL_NUM_DEVICES" ]
hl_check "sensors reads temperature, voltage, current and power" \
	sh -c "echo '$out' | grep -q '^die:.*C' && echo '$out' | grep -q '^vcore:.*V' &&
	       echo '$out' | grep -q '^icore:.*A' && echo '$out' | grep -q '^board:.*W'"

hl_exit
