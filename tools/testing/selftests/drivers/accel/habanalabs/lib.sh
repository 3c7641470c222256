# SPDX-License-Identifier: GPL-2.0
# Helpers for the habanalabs selftests, sourced by each test (busybox sh).
#
# Tests print TAP lines (hl_check, hl_pass, hl_fail), finish with hl_exit
# (exit 0 pass, 1 fail, 4 skip as kselftest wants) and need not restore
# the devices: on exit every fault is cleared, the driver is loaded and
# every model device is bound again.
#
# Devices are found by PCI id (ivshmem, 1af4:1110) and by the model's
# magic at the start of BAR2; BAR2 is read and written through /dev/mem
# (busybox devmem). Offsets and bits are from
# Documentation/accel/habanalabs/device-model.rst.

HL_DRV=/sys/bus/pci/drivers/habanalabs
HL_PCI=/sys/bus/pci/devices
HL_MODULE=${HL_MODULE:-/lib/modules/habanalabs.ko}
HL_TEST=${0##*/}
# tools/vm/run.sh gives the VM this many model devices.
HL_NUM_DEVICES=${HL_NUM_DEVICES:-2}

HL_MAGIC=0x4d534c48
HL_MAJOR=1
HL_REG_MAGIC=0x000
HL_REG_VERSION=0x004
HL_REG_SERIAL_LO=0x010
HL_REG_SERIAL_HI=0x014
HL_REG_DRAM_SIZE_LO=0x020
HL_REG_DRAM_SIZE_HI=0x024
HL_CTL_FAULTS=0xff000
HL_CTL_DOORBELLS=0xff004
HL_FAULT_SELFTEST_CORRUPT=0x1
HL_FAULT_MAILBOX_HANG=0x2
# Bit q stops QMAN q's engine (the compute tests set it).
HL_CTL_ENGINE_HANG=0xff008

# busybox sh runs its own applets before searching PATH: ip must be
# iproute2's.
[ -x /usr/sbin/ip ] && ip() { /usr/sbin/ip "$@"; }

# --- TAP ---------------------------------------------------------------

hl_ntests=0
hl_nfail=0

hl_diag() { echo "# $*"; }
hl_pass() { hl_ntests=$((hl_ntests + 1)); echo "ok $hl_ntests $*"; }
hl_fail() {
	hl_ntests=$((hl_ntests + 1)) hl_nfail=$((hl_nfail + 1))
	echo "not ok $hl_ntests $*"
}

# hl_check DESC CMD [ARG...]: one TAP result, ok if CMD succeeds.
hl_check() {
	_desc=$1
	shift
	if "$@"; then hl_pass "$_desc"; else hl_fail "$_desc"; fi
}

# hl_not CMD [ARG...]: succeeds when CMD fails.
hl_not() { ! "$@"; }

hl_skip() {
	echo "1..0 # SKIP $*"
	exit 4
}

hl_exit() {
	echo "1..$hl_ntests"
	if [ $hl_nfail -ne 0 ] || [ $hl_ntests -eq 0 ]; then
		hl_diag "$hl_nfail of $hl_ntests checks failed"
		exit 1
	fi
	exit 0
}

# --- BAR2 and the model ----------------------------------------------------

# hl_bar2 DEV: BAR2's physical address (the third line of "resource").
hl_bar2() {
	set -- $(sed -n 3p "$HL_PCI/$1/resource")
	echo "$1"
}

# hl_rd DEV OFFSET, hl_wr DEV OFFSET VALUE: a 32-bit BAR2 register.
hl_rd() { echo $(($(devmem $(($(hl_bar2 "$1") + $2)) 32))); }
hl_wr() { devmem $(($(hl_bar2 "$1") + $2)) 32 "$3"; }

hl_is_ivshmem() {
	[ "$(cat "$HL_PCI/$1/vendor")" = 0x1af4 ] &&
		[ "$(cat "$HL_PCI/$1/device")" = 0x1110 ]
}

hl_is_model() {
	[ $(($(hl_bar2 "$1"))) -ne 0 ] &&
		[ "$(hl_rd "$1" $HL_REG_MAGIC)" -eq $((HL_MAGIC)) ] &&
		[ $(($(hl_rd "$1" $HL_REG_VERSION) >> 16)) -eq $HL_MAJOR ]
}

# hl_rd64 DEV OFFSET: a _LO/_HI register pair.
hl_rd64() { echo $(($(hl_rd "$1" $(($2 + 4))) << 32 | $(hl_rd "$1" $2))); }

hl_set_faults() { hl_wr "$1" $HL_CTL_FAULTS "$2"; }

# The model's devices and the other ivshmem devices, as PCI addresses.
HL_DEVS=
HL_FOREIGN=
for _d in "$HL_PCI"/*; do
	_d=${_d##*/}
	hl_is_ivshmem "$_d" || continue
	if hl_is_model "$_d"; then
		HL_DEVS="$HL_DEVS $_d"
	else
		HL_FOREIGN="$HL_FOREIGN $_d"
	fi
done

# --- The driver --------------------------------------------------------

hl_loaded() { [ -d /sys/module/habanalabs ]; }

hl_load() { hl_loaded || insmod "$HL_MODULE"; }

hl_driver_of() { readlink "$HL_PCI/$1/driver" 2>/dev/null | sed 's|.*/||'; }

hl_bound() { [ "$(hl_driver_of "$1")" = habanalabs ]; }

hl_unbound() { [ ! -e "$HL_PCI/$1/driver" ]; }

hl_all_bound() {
	for _d in $HL_DEVS; do
		hl_bound "$_d" || return 1
	done
}

# hl_recover DEV: clears DEV's faults and checks that it binds and passes its
# self-test again, with every other device still bound.
hl_recover() {
	hl_set_faults "$1" 0
	hl_mark
	hl_check "$1: bind after clearing the fault" hl_bind "$1"
	hl_check "$1: bound" hl_bound "$1"
	hl_check "$1: DMA self-test passed" hl_log_has "$1" "DMA self-test passed"
	hl_check "every device bound" hl_all_bound
}

hl_none_bound() {
	for _d in $HL_DEVS; do
		hl_unbound "$_d" || return 1
	done
}

# hl_sysfs_write FILE VALUE: a write whose failure is reported, not fatal.
hl_sysfs_write() {
	_err=$( { echo "$2" > "$1"; } 2>&1)
	_rc=$?
	[ -z "$_err" ] || hl_diag "echo $2 > $1: $_err"
	return $_rc
}

hl_bind() { hl_sysfs_write "$HL_DRV/bind" "$1"; }
hl_unbind() { hl_sysfs_write "$HL_DRV/unbind" "$1"; }

# --- The kernel log --------------------------------------------------------

# hl_mark: writes a marker to the kernel log; hl_log then shows what
# follows the latest marker (all of the log before the first hl_mark).
hl_marker=
hl_nmarks=0
hl_mark() {
	hl_nmarks=$((hl_nmarks + 1))
	hl_marker="hl-selftest: $HL_TEST[$$] mark $hl_nmarks"
	echo "$hl_marker" > /dev/kmsg
}

hl_log() {
	dmesg | awk -v m="$hl_marker" \
		'm == "" || found; m != "" && index($0, m) { found = 1 }'
}

# hl_log_count DEV REGEX: lines the driver logged for DEV since the
# marker that match REGEX (extended, case-insensitive).
hl_log_count() {
	hl_log | grep -F "habanalabs $1: " | grep -ciE "$2"
}

hl_log_has() { [ "$(hl_log_count "$@")" -gt 0 ]; }

hl_log_lacks() { [ "$(hl_log_count "$@")" -eq 0 ]; }

# hl_log_show DEV: the driver's lines for DEV since the marker, as TAP
# diagnostics.
hl_log_show() {
	hl_log | grep -F "habanalabs $1: " | sed 's/^/# /'
}

# --- Set-up and clean-up ---------------------------------------------------

hl_cleanup() {
	for _d in $HL_DEVS; do
		hl_set_faults "$_d" 0
		hl_wr "$_d" $HL_CTL_ENGINE_HANG 0
	done
	hl_load || hl_diag "cleanup: insmod failed"
	for _d in $HL_DEVS; do
		hl_bound "$_d" || hl_bind "$_d" || hl_diag "cleanup: cannot bind $_d"
	done
}
trap hl_cleanup EXIT
trap 'exit 1' INT TERM

hl_diag "model devices:${HL_DEVS:- none}; foreign ivshmem devices:${HL_FOREIGN:- none}"
if [ -z "$HL_DEVS" ]; then
	hl_fail "the VM has devices of the model"
	hl_exit
fi
hl_load || hl_diag "insmod $HL_MODULE failed"
