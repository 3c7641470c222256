#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hwmon (the hwmon section of Documentation/accel/habanalabs/driver.rst):
# each device has a hwmon device "habanalabs" with a temperature, a
# voltage, a current and a power sensor, their limits and labels, which
# sensors (lm-sensors) reads; the readings are the model's, and follow
# load: a stream of submissions (hl-thunk bench) raises device 0's power
# and temperature from their idle values while it runs.
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

# Load: /dev/hl0 runs back-to-back NOP submissions (each moves a QMAN's
# PQ_CI within the model's 20 ms sensor period); its sensors are sampled
# until the run ends. Idle is the model's floor, 60 W and 35 C; a period
# at load moves power 40 % of the way to 180 W, so any sample taken during
# the run is far above idle.
hw=$(hwmon_dir "$(hl_dev_pci 0)")
idle_power=$(cat "$hw/power1_input")
idle_temp=$(cat "$hw/temp1_input")
hl_diag "idle: power ${idle_power} uW, temperature ${idle_temp} mC"
hl_check "hl0 idle: power under 70 W" [ "$idle_power" -lt 70000000 ]
hl-thunk bench -d 0 --iterations 3000 --size 4K > /dev/null 2>&1 &
bench=$!
max_power=0 max_temp=0 samples=0
while kill -0 $bench 2>/dev/null; do
	p=$(cat "$hw/power1_input") t=$(cat "$hw/temp1_input")
	[ "$p" -gt $max_power ] && max_power=$p
	[ "$t" -gt $max_temp ] && max_temp=$t
	samples=$((samples + 1))
	sleep 0.05
done
wait $bench
hl_check "hl-thunk bench ran" [ $? -eq 0 ]
hl_diag "under load: $samples samples, power up to ${max_power} uW, temperature up to ${max_temp} mC"
hl_check "hl0 under load: power rose above 100 W" [ "$max_power" -gt 100000000 ]
hl_check "hl0 under load: temperature rose" [ "$max_temp" -gt "$idle_temp" ]

out=$(sensors 2>&1)
echo "$out" | sed 's/^/# /'
hl_check "sensors lists the devices" \
	[ "$(echo "$out" | grep -c '^habanalabs-pci-')" -eq "$HL_NUM_DEVICES" ]
hl_check "sensors reads temperature, voltage, current and power" \
	sh -c "echo '$out' | grep -q '^die:.*C' && echo '$out' | grep -q '^vcore:.*V' &&
	       echo '$out' | grep -q '^icore:.*A' && echo '$out' | grep -q '^board:.*W'"

hl_exit
