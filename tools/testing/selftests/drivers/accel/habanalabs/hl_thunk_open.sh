#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# HabanaAI's own userspace against the driver: the cmocka test programs of
# hl-thunk-open (built against Debian's <misc/habanalabs.h>), each on every
# device, one result per program and device, with cmocka's counts and the
# first failure as diagnostics. Not part of make check: run by hand with
#
#   HL_THUNK_OPEN=/path/to/hl-thunk-open/build tools/vm/run.sh --test hl_thunk_open.sh
#
# (initramfs.sh then puts the programs in /opt/hl-thunk-open); it skips
# when they are absent. HLTO_PROGS (default: every program for GAUDI),
# HLTO_TIMEOUT (seconds per program, default 300) and HLTO_NODES (e.g.
# "hl0"; default: every compute node) narrow a run; HLTO_ARGS are passed
# to every program (e.g. "-s test_signal_wait" runs that test alone, "-l"
# lists the tests); HLTO_FILTERS, cmocka patterns ("test_cs_*
# test_wait_for_cs_*"), runs each program once per pattern. The tests
# that ran for a second or more are listed with their times. run.sh gives a run of this test alone a
# guest of 12 GiB: memory and dma_dram pin up to 8 GiB of host memory.
. ./lib.sh

hlto=/opt/hl-thunk-open
[ -d $hlto/bin ] || hl_skip "hl-thunk-open is not in the VM (HL_THUNK_OPEN)"
export LD_LIBRARY_PATH=$hlto/lib
tmp=/tmp/$HL_TEST.$$
progs=${HLTO_PROGS:-$(ls $hlto/bin | grep -v -e '^goya' -e '^gaudi2')}
limit=${HLTO_TIMEOUT:-300}
# HLTO_FILTERS: cmocka patterns, each a run of every program ("-": all of
# its tests).
filters=${HLTO_FILTERS:--}

# count WHAT: the number in cmocka's "[  WHAT  ] N test(s)" summary line.
count() {
	sed -n "s/^\[ *$1 *\] \([0-9]*\) test(s).*/\1/p" "$tmp.out" | head -n 1
}

# stamp: its input unchanged; with, in $tmp.times, the time since boot of
# each of cmocka's "[ RUN ]" and "[ OK ]", "[ FAILED ]", "[ SKIPPED ]"
# lines, as "SECONDS RUN|END TEST".
stamp() {
	: > "$tmp.times"
	awk -v times="$tmp.times" '
	/^\[ *(RUN|OK|FAILED|SKIPPED) *\] [A-Za-z_0-9]+$/ {
		getline up < "/proc/uptime"
		close("/proc/uptime")
		split(up, f, " ")
		print f[1], ($2 == "RUN" ? "RUN" : "END"), $NF > times
		fflush(times)
	}
	{ print; fflush() }'
}

hl_check_nodes
# memory's test_pmmu_hint_address_huge_page maps MAP_HUGETLB buffers
# (and keeps 3 pages until it exits); dma_perf falls back to malloc.
hl_hugepages 16
# HLTO_ARGS and HLTO_FILTERS split into words, unglobbed.
set -f
for node in ${HLTO_NODES:-$HL_NODES}; do
	node=/dev/${node#/dev/}
	# hl-thunk-open opens the first compute node it can: hold the others.
	held=
	for other in $HL_NODES; do
		[ "$other" = "$node" ] && break
		held="$held $other"
	done
	for prog in $progs; do
		for filter in $filters; do
			[ "$filter" != - ] || filter=
			run="$prog${filter:+ -s $filter}"
			(
				fd=3
				for other in $held; do
					# One still busy (a killed program's submissions
					# running out) is skipped by the library anyway.
					(exec 9<> "$other") 2> /dev/null || continue
					eval "exec $fd<> $other"
					fd=$((fd + 1))
				done
				cd /tmp && timeout "$limit" "$hlto/bin/$prog" ${HLTO_ARGS:-} \
					${filter:+-s "$filter"}
				echo $? > "$tmp.rc"
			) 2>&1 | stamp > "$tmp.out"
			rc=$(cat "$tmp.rc")
			pass=$(count PASSED) fail=$(count FAILED) skip=$(count SKIPPED)
			hl_diag "$run on $node: exit $rc, passed ${pass:-0}, failed ${fail:-0}," \
				"skipped ${skip:-0}"
			# The first failed test's output, from its RUN line.
			awk '/^\[ RUN/ { n = 0 } { line[n++] = $0 }
			     /^\[  FAILED  \]/ { for (i = n > 30 ? n - 30 : 0; i < n; i++) print line[i]; exit }' \
				"$tmp.out" | sed 's/^/#   /'
			# Every failed test (cmocka lists them at the end), and how it ended.
			failed=$(sed -n 's/^\[  FAILED  \] \([A-Za-z_0-9]*\)$/\1/p' "$tmp.out" | sort -u)
			[ -z "$failed" ] || echo "#   failed:" $failed
			[ $rc = 0 ] || tail -n 3 "$tmp.out" | sed 's/^/#   | /'
			# How long each test took, the longest first, down to 1 s.
			awk '$2 == "RUN" { start = $1; name = $3 }
			     $2 != "RUN" && $3 == name { printf "%.1f %s\n", $1 - start, name; name = "" }' \
				"$tmp.times" | sort -rn |
				awk '$1 >= 1 { t = t sep $2 " " $1 " s"; sep = ", "; next } { n++ }
				     END { if (t n) print "#   times: " t (n ? sep n " under 1 s" : "") }'
			hl_check "$run on $node" [ $rc = 0 ]
		done
	done
done
set +f
rm -f "$tmp".*
hl_hugepages_restore
hl_exit
