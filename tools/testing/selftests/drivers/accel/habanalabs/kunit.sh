#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The KUnit suites: the driver's own (habanalabs, tests of its pure logic
# in habanalabs/kunit.rs, run when the module loads) and the kernel
# crate's doctests (rust_doctests_kernel, run at boot), each case a result
# here, read from KUnit's debugfs results. Needs a kernel booted with
# kunit.enable=1: make check boots a VM of its own for this test
# (run.sh --kunit); elsewhere it skips.
. ./lib.sh

kunit=/sys/kernel/debug/kunit
grep -qw 'kunit.enable=1' /proc/cmdline || hl_skip "KUnit is not enabled (boot with kunit.enable=1)"
[ -d $kunit ] || hl_skip "no $kunit (CONFIG_KUNIT_DEBUGFS)"

# The module's suite runs when it loads: load it again, so that this run's
# results are those of the module being tested.
hl_loaded && rmmod habanalabs
hl_check "the module loads with KUnit enabled" insmod "$HL_MODULE"

# suite_results SUITE: one result per case of SUITE, and one for the
# suite; fails if the suite is missing or has no case.
suite_results() {
	_f=$kunit/$1/results
	if [ ! -r "$_f" ]; then
		hl_fail "$1: the suite ran ($_f)"
		return
	fi
	_n=0
	# Cases are the indented KTAP lines; the suite's own is not indented.
	sed -n -E 's/^[[:space:]]+(not )?ok [0-9]+ ([^#]*[^ #])( # (SKIP.*))?$/\1|\2|\4/p' "$_f" > /tmp/kunit.cases
	while IFS='|' read -r _not _case _skip; do
		_n=$((_n + 1))
		if [ -n "$_not" ]; then
			hl_fail "$1: $_case"
		elif [ -n "$_skip" ]; then
			hl_pass "$1: $_case # $_skip"
		else
			hl_pass "$1: $_case"
		fi
	done < /tmp/kunit.cases
	hl_check "$1: $_n cases ran" [ $_n -gt 0 ]
	hl_check "$1: the suite passed" grep -qE '^ok [0-9]+ ' "$_f"
	if grep -q 'not ok' "$_f"; then
		sed 's/^/# /' "$_f" | grep -v '^#[[:space:]]*ok '
	fi
	rm -f /tmp/kunit.cases
}

suite_results habanalabs
suite_results rust_doctests_kernel
hl_exit
