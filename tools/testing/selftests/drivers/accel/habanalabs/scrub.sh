#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Device memory is scrubbed between users: one user fills the first MiB of
# DRAM and a page of the SRAM with a pattern through the DMA engine
# (LIN_DMA memset) and closes; the next user finds zeros in both (the
# DRAM read through BAR2, the SRAM copied to DRAM by a job of its own).
# The pattern is checked while the first user still holds the node, so
# the test sees the write it expects to be scrubbed.
. ./lib.sh

if ! command -v hl-job > /dev/null; then
	hl_fail "hl-job is installed"
	hl_exit
fi

hl_check_nodes
set -- $HL_NODES
n=${1#/dev/hl}
dev=$(hl_dev_pci "$n")
# Device addresses (device-model.rst, Device address space) and where the
# DRAM is in BAR2.
dram=0x20000000	# DRAM_BASE_ADDR_USER
sram_user=$((0x7ff0000000 + 128))
bar_dram=$(hl_rd "$dev" $HL_REG_DRAM_BASE)
mib=$((1 << 20))

# LIN_DMA packets: tsize and ctl (opcode 0x09, LIN, MEMSET), src, dst.
memset() { printf '0x%x 0x%x 0x%x' $((0x0900001800000000 | $3)) "$2" "$1"; }
copy() { printf '0x%x 0x%x 0x%x' $((0x0900000800000000 | $3)) "$1" "$2"; }

# dram_word OFFSET: the 32-bit word of DRAM at OFFSET, through BAR2.
dram_word() { printf '0x%08x' "$(hl_rd "$dev" $((bar_dram + $1)))"; }

# dram_is VALUE OFFSET...: the DRAM word at each OFFSET is VALUE.
dram_is() {
	_v=$1
	shift
	for _o; do
		[ "$(dram_word "$_o")" = "$_v" ] || return 1
	done
}

# job PACKETS...: runs them as a job on DMA 0 from a user that keeps the
# node open until release; succeeds once the job completed.
fifo=/tmp/scrub.fifo out=/tmp/scrub.out
job() {
	rm -f $fifo $out
	mkfifo $fifo
	hl-job -h "/dev/hl$n" 0 "$@" < $fifo > $out 2>&1 &
	job_pid=$!
	exec 5> $fifo
	hl_poll 60 grep -q '^done' $out
	_rc=$?
	sed 's/^/# /' $out
	return $_rc
}
release() {
	exec 5>&-
	wait $job_pid
}

hl_check "user 1: fills 1 MiB of DRAM and a page of SRAM with 0xa5" \
	job $(memset $dram 0xa5 $mib) $(memset $sram_user 0xa5 4096)
hl_check "user 1: the pattern is in DRAM ($(dram_word 0), $(dram_word $((mib - 4))))" \
	dram_is 0xa5a5a5a5 0 $((mib - 4))
release
hl_check "user 2: copies the SRAM page to DRAM at 2 MiB" \
	job $(copy $sram_user $((dram + 2 * mib)) 4096)
hl_check "user 2: the DRAM user 1 wrote is zero ($(dram_word 0), $(dram_word $((mib - 4))))" \
	dram_is 0x00000000 0 $((mib - 4))
hl_check "user 2: the SRAM user 1 wrote is zero ($(dram_word $((2 * mib))))" \
	dram_is 0x00000000 $((2 * mib)) $((2 * mib + 4092))
release
rm -f $fifo $out
hl_exit
