#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the project's tests (make check) and prints one line per test, then
# "N passed, N failed[, N skipped]"; exits non-zero if any test failed.
#
#   check.sh           static checks (uAPI header, its agreement with the
#                      system's, rustfmt and clippy of the kernel Rust and
#                      of tools/, checkpatch of the C, docutils on
#                      Documentation/), cargo test of
#                      tools/, then every selftest in the VM
#   check.sh NAME...   only the named selftests (e.g. reload.sh)
#
# The selftests of TEST_PROGS_FOUR (their Makefile) run in a second VM, of
# four devices (run.sh --devices 4), those of TEST_PROGS_KUNIT in a third,
# booted with KUnit enabled (run.sh --kunit), each booted only if one of
# its tests is to run; the others in the VM of two. Besides the selftests' own results
# (kselftest TAP from run.sh --test) two tests judge each VM run as a
# whole: "guest ran to completion" (every planned test reported, the guest
# finished in time) and "kernel log has no splats" (no BUG, WARNING, KASAN,
# lockdep, kmemleak, ... report in the guest's console log), prefixed with
# "four devices: " for the VM of four; a third, "every device quiesced at
# power off", that the driver's shutdown ran for each device. Logs are
# kept in build/vm/, those of the VM of four in build/vm/four/.
set -uo pipefail
. "$(dirname "$0")/../build/env.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HL_BUILD/target}

logs=$HL_BUILD/vm
mkdir -p "$logs"
mapfile -t four_tests < <(hl_selftests_var TEST_PROGS_FOUR)
mapfile -t kunit_tests < <(hl_selftests_var TEST_PROGS_KUNIT)

npass=0 nfail=0 nskip=0
# result pass|fail|skip NAME
result() {
	case $1 in
	pass) npass=$((npass + 1)); echo "PASS  $2" ;;
	fail) nfail=$((nfail + 1)); echo "FAIL  $2" ;;
	skip) nskip=$((nskip + 1)); echo "SKIP  $2" ;;
	esac
}

# indent [MAX]: the first MAX (default 60) lines of stdin, indented.
indent() {
	tr -d '\r' | head -n "${1:-60}" | sed 's/^/      /'
}

cargo_tests() {
	local log=$logs/cargo-test.log manifests=() m bin= line rc=0 nfail0=$nfail
	if [ -e "$HL_TOP/tools/Cargo.toml" ]; then
		manifests=("$HL_TOP/tools/Cargo.toml")
	else
		for m in "$HL_TOP"/tools/*/Cargo.toml; do
			[ -e "$m" ] && manifests+=("$m")
		done
	fi
	if [ ${#manifests[@]} = 0 ]; then
		result skip "cargo test (no Cargo.toml in tools/)"
		return
	fi

	: > "$log"
	for m in "${manifests[@]}"; do
		cargo test --manifest-path "$m" --no-fail-fast >> "$log" 2>&1 || rc=1
	done
	while IFS= read -r line; do
		if [[ $line =~ ^\ +Running\ .*\(.*/([^/]+)-[0-9a-f]+\)$ ]]; then
			bin=${BASH_REMATCH[1]}
		elif [[ $line =~ ^\ +Doc-tests\ (.+)$ ]]; then
			bin="${BASH_REMATCH[1]} doc"
		elif [[ $line =~ ^test\ (.+)\ \.\.\.\ (ok|FAILED|ignored) ]]; then
			case ${BASH_REMATCH[2]} in
			ok) result pass "cargo: $bin: ${BASH_REMATCH[1]}" ;;
			FAILED) result fail "cargo: $bin: ${BASH_REMATCH[1]}" ;;
			ignored) result skip "cargo: $bin: ${BASH_REMATCH[1]}" ;;
			esac
		fi
	done < "$log"
	# A failure that is no failed test: the build broke.
	if [ $rc != 0 ] && [ $nfail = $nfail0 ]; then
		result fail "cargo test"
		tail -n 30 "$log" | indent
	fi
	[ $nfail = $nfail0 ] || echo "      cargo's output: $log"
}

# vm_tests DEVICES|kunit [NAME...]: the selftests in the VM of DEVICES
# devices, or in the VM of two booted with KUnit enabled, reported as their
# TAP results arrive.
vm_tests() {
	local devices=$1 dir=$logs vm= opts=()
	shift
	if [ "$devices" = kunit ]; then
		devices=2 dir=$logs/kunit vm="kunit: " opts=(--kunit)
	elif [ "$devices" != 2 ]; then
		dir=$logs/four vm="four devices: "
	fi
	opts=(--devices "$devices" "${opts[@]}")
	mkdir -p "$dir"
	local tap=$dir/tap.log console=$dir/console.log runlog=$dir/run.log
	local plan= count=0 output= line name rc=0 fd pid nfail0=$nfail
	rm -f "$tap" "$console"
	exec {fd}< <(exec "$HL_TOP/tools/vm/run.sh" "${opts[@]}" --test "$@" 2> "$runlog")
	pid=$!
	while IFS= read -r -u $fd line; do
		if [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=${BASH_REMATCH[1]}
		elif [[ $line =~ ^(not\ )?ok\ [0-9]+\ selftests:\ [^:]*:\ ([^ ]+)(.*)$ ]]; then
			count=$((count + 1))
			name="selftest: ${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
			if [ -n "${BASH_REMATCH[1]}" ]; then
				result fail "$name"
				# What failed first (a long test's may lie past the head), then the head.
				printf '%s' "$output" | grep -B 6 -A 2 '^not ok' | indent 40
				printf '%s' "$output" | indent 60
			elif [[ ${BASH_REMATCH[3]} == *'# SKIP'* ]]; then
				result skip "${name% \# SKIP*}"
			else
				result pass "$name"
			fi
		elif [[ $line =~ ^#\ selftests: ]]; then
			output=
		elif [[ $line == '# '* ]]; then
			output+=${line#'# '}$'\n'
		fi
	done
	exec {fd}<&-
	wait $pid || rc=$?

	local why=
	if [ $rc = 124 ]; then
		why="the guest timed out"
	elif [ $rc != 0 ]; then
		why="run.sh exited with $rc"
	elif [ -z "$plan" ]; then
		why="no TAP plan"
	elif [ "$count" != "$plan" ]; then
		why="$count results for a plan of $plan"
	elif ! grep -q '^hl: done' "$console"; then
		why="the guest did not finish its leak check"
	fi
	if [ -z "$why" ]; then
		result pass "${vm}guest ran to completion"
	else
		result fail "${vm}guest ran to completion ($why)"
		tail -n 20 "$runlog" | indent
		[ -s "$console" ] && tail -n 30 "$console" | indent
	fi

	splats "$console" "$vm"
	# The guest powers off with the driver bound: its shutdown quiesces
	# every device (driver.rst, Shutdown).
	local quiesced
	quiesced=$(grep -c 'habanalabs .*: quiesced for shutdown' "$console")
	if [ "$quiesced" = "$devices" ]; then
		result pass "${vm}every device quiesced at power off"
	else
		result fail "${vm}every device quiesced at power off ($quiesced of $devices)"
	fi
	[ $nfail = $nfail0 ] ||
		echo "      logs: $console, $tap, $runlog, $dir/hlsim.log"
}

splat_re='BUG:|WARNING:|KASAN|possible recursive locking|circular locking'
splat_re+='|inconsistent lock state|INFO: |lockdep|unreferenced object'
splat_re+='|suspected memory leak|Oops|Kernel panic|general protection fault'
splat_re+='|UBSAN|Call Trace'
# Boot messages that match but report nothing.
benign_re='RCU lockdep checking is enabled'

# splats LOG [PREFIX]: the kernel log has no report of a bug; on failure,
# shows the matching lines and the context of the first one. PREFIX
# starts the result's name.
splats() {
	local found first name="${2:-}kernel log has no splats"
	if [ ! -s "$1" ]; then
		result fail "$name (no log)"
		return
	fi
	found=$(grep -n -E "$splat_re" "$1" | grep -v -E "$benign_re")
	if [ -z "$found" ]; then
		result pass "$name"
		return
	fi
	result fail "$name"
	first=${found%%:*}
	printf '%s\n' "$found" | cut -d: -f2- | indent 20
	echo "      the first one:"
	tail -n +$((first > 5 ? first - 5 : 1)) "$1" | indent 60
}

# uapi_header: the uAPI header compiles on its own, as C and as C++, with
# the compiler's strictest warnings; as C++ but for ISO C++'s ban of
# anonymous structs, which Linux 6.1's layout (hl_cs_in, hl_mem_out, ...)
# has in its unions and g++ accepts.
uapi_header() {
	local h=$HL_TOP/include/uapi/misc/habanalabs.h lang out
	for lang in c c++; do
		if out=$(gcc -x $lang -fsyntax-only -Wall -Wextra -Werror -pedantic \
			$([ $lang = c++ ] && echo -Wno-pedantic) \
			-std=$([ $lang = c ] && echo c11 || echo c++17) \
			-include "$h" /dev/null 2>&1); then
			result pass "uapi header compiles standalone as $lang"
		else
			result fail "uapi header compiles standalone as $lang"
			printf '%s\n' "$out" | indent 20
		fi
	done
}

# uapi_compare: every macro, enum constant, struct size and member offset
# our uAPI header shares with the system's <misc/habanalabs.h> (Linux 6.1,
# from linux-libc-dev) has the same value there (tools/testing/uapi/).
uapi_compare() {
	local name="uapi header agrees with Linux 6.1's <misc/habanalabs.h>" out
	if out=$("$HL_TOP/tools/testing/uapi/compare.py" 2>&1); then
		result pass "$name ($(printf '%s\n' "$out" | sed -n 's/^compared \([0-9]*\) items.*/\1 items/p'))"
	else
		result fail "$name"
		printf '%s\n' "$out" | indent 60
	fi
}

# rustfmt_kernel: the kernel Rust (rust/, habanalabs/) is formatted as the
# kernel tree's .rustfmt.toml wants (what its `make rustfmtcheck` runs).
rustfmt_kernel() {
	local conf=$HL_KSRC/.rustfmt.toml dir out
	for dir in rust habanalabs; do
		if out=$(cd "$HL_TOP" && find "$dir" -name '*.rs' -print0 |
			xargs -0 rustfmt --color never --edition 2021 --config-path "$conf" --check 2>&1); then
			result pass "rustfmt: $dir/"
		else
			result fail "rustfmt: $dir/"
			printf '%s\n' "$out" | indent 20
		fi
	done
}

# clippy_kernel: clippy finds nothing in rust/ and habanalabs/, run through
# the kernel's build with its lints (tools/build/clippy.sh, make CLIPPY=1).
clippy_kernel() {
	local out rc=0 dir
	out=$("$HL_TOP/tools/build/clippy.sh" 2>&1) || rc=$?
	if [ $rc = 2 ]; then
		result fail "clippy: ran"
		printf '%s\n' "$out" | indent 20
		return
	fi
	for dir in rust habanalabs; do
		if grep -q "^$dir: [0-9]* warnings\?$" <<< "$out"; then
			result fail "clippy: $dir/"
			printf '%s\n' "$out" | sed -n "/^$dir: /,/^[a-z]*: [0-9]* warnings\?$/p" |
				grep -E "^$dir: |^  warning|^ *--> " | indent 40
		else
			result pass "clippy: $dir/"
		fi
	done
}

# checkpatch_c: the kernel's checkpatch.pl finds no error or warning in the
# project's C: the Rust helpers (rust/helpers/) and the selftests' programs.
checkpatch_c() {
	local f out
	while IFS= read -r -d '' f; do
		if out=$(perl "$HL_KSRC/scripts/checkpatch.pl" --no-tree --terse --show-types \
				-f "$HL_TOP/$f" 2>&1); then
			result pass "checkpatch: $f"
		else
			result fail "checkpatch: $f"
			printf '%s\n' "$out" | indent 20
		fi
	done < <(cd "$HL_TOP" && find rust/helpers tools/testing -name '*.c' -print0 | sort -z)
}

# docs_rst: every page of Documentation/ parses with docutils without a
# warning (tools/testing/rst_check.py: malformed tables, broken markup).
docs_rst() {
	local f out
	while IFS= read -r -d '' f; do
		if out=$("$HL_TOP/tools/testing/rst_check.py" "$HL_TOP/$f" 2>&1); then
			result pass "docs: $f"
		else
			result fail "docs: $f"
			printf '%s\n' "$out" | indent 20
		fi
	done < <(cd "$HL_TOP" && find Documentation -name '*.rst' -print0 | sort -z)
}

# cargo_lints: every crate of the tools/ workspace is formatted as rustfmt
# wants (cargo fmt --check) and clippy finds nothing in it, tests and
# binaries included (cargo clippy --all-targets -D warnings).
cargo_lints() {
	local manifest=$HL_TOP/tools/Cargo.toml m pkg out
	if [ ! -e "$manifest" ]; then
		result skip "cargo fmt, cargo clippy (no tools/Cargo.toml)"
		return
	fi
	for m in "$HL_TOP"/tools/*/Cargo.toml; do
		pkg=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$m" | head -n 1)
		if out=$(cargo fmt --manifest-path "$manifest" --check -p "$pkg" -- --color never 2>&1); then
			result pass "cargo fmt: $pkg"
		else
			result fail "cargo fmt: $pkg"
			printf '%s\n' "$out" | indent 20
		fi
		if out=$(cargo clippy --manifest-path "$manifest" -p "$pkg" --all-targets \
				--color never -- -D warnings 2>&1); then
			result pass "cargo clippy: $pkg"
		else
			result fail "cargo clippy: $pkg"
			printf '%s\n' "$out" | grep -E '^(error|warning)|^ *--> ' | indent 40
		fi
	done
}

# is_four NAME: NAME is a selftest of the VM of four devices; is_kunit
# NAME: of the VM with KUnit enabled.
in_list() {
	local name=$1 t
	shift
	for t; do
		[ "${name%.sh}" = "${t%.sh}" ] && return 0
	done
	return 1
}
is_four() { in_list "$1" "${four_tests[@]}"; }
is_kunit() { in_list "$1" "${kunit_tests[@]}"; }

if [ $# = 0 ]; then
	uapi_header
	uapi_compare
	rustfmt_kernel
	clippy_kernel
	checkpatch_c
	docs_rst
	cargo_lints
	cargo_tests
	vm_tests 2
	vm_tests 4
	vm_tests kunit "${kunit_tests[@]}"
else
	two=() four=() kunit=()
	for name; do
		if is_four "$name"; then
			four+=("$name")
		elif is_kunit "$name"; then
			kunit+=("$name")
		else
			two+=("$name")
		fi
	done
	[ ${#two[@]} = 0 ] || vm_tests 2 "${two[@]}"
	[ ${#four[@]} = 0 ] || vm_tests 4 "${four[@]}"
	[ ${#kunit[@]} = 0 ] || vm_tests kunit "${kunit[@]}"
fi

summary="$npass passed, $nfail failed"
[ $nskip = 0 ] || summary+=", $nskip skipped"
echo "$summary"
[ $nfail = 0 ]
