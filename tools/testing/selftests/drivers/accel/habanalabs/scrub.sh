#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Device memory is scrubbed between users: one user fills the first MiB of
# DRAM and a page of the SRAM with a pattern through the DMA engine
# (LIN_DMA memset) and closes; the next user finds zeros in both (the
# DRAM read through BAR2, the SRAM copied to DRAM by a job of its own).
# The pattern is checked while the first user still holds the node, so
# the test sees the write it expects to be scrubbed. Then a third user
# enables DMA 0's arbiter (ARB_CFG_0, which a user's MSG_LONG may write)
# and closes; the fourth finds it disabled again: two jobs on DMA 0's
# streams 0 and 1 that each take the arbiter, release the other's fence
# and wait on their own both complete (with the arbiter enabled, the first
# to take it holds it while it waits, the other's request waits for it,
# and both time out).
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

# job QUEUE PACKETS... [/ QUEUE PACKETS...]: runs them as jobs (queue 0:
# DMA 0's first stream) in one submission from a user that keeps the node
# open until release; succeeds once the submission completed.
fifo=/tmp/scrub.fifo out=/tmp/scrub.out
job() {
	rm -f $fifo $out
	mkfifo $fifo
	hl-job -h "/dev/hl$n" "$@" < $fifo > $out 2>&1 &
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
	job 0 $(memset $dram 0xa5 $mib) $(memset $sram_user 0xa5 4096)
hl_check "user 1: the pattern is in DRAM ($(dram_word 0), $(dram_word $((mib - 4))))" \
	dram_is 0xa5a5a5a5 0 $((mib - 4))
release
hl_check "user 2: copies the SRAM page to DRAM at 2 MiB" \
	job 0 $(copy $sram_user $((dram + 2 * mib)) 4096)
hl_check "user 2: the DRAM user 1 wrote is zero ($(dram_word 0), $(dram_word $((mib - 4))))" \
	dram_is 0x00000000 0 $((mib - 4))
hl_check "user 2: the SRAM user 1 wrote is zero ($(dram_word $((2 * mib))))" \
	dram_is 0x00000000 $((2 * mib)) $((2 * mib + 4092))
release

# DMA 0's ARB_CFG_0 and its streams' CP_FENCE0_RDATA_0 and _1
# (device-model.rst, QMAN arbiter); MSG_LONG, a request of the arbiter
# (ARB_POINT), a FENCE on counter 0 for 1 that takes 1.
arb_cfg=0x7ffc508a00 fence_s0=0x7ffc508308 fence_s1=0x7ffc50830c
msg_long() { printf '0x%x %s' $((0x0300000000000000 | $2)) "$1"; }
arb_request=0x0c00000000000000 fence=0x0800000000010001
hl_check "user 3: enables DMA 0's arbiter (priority, master)" \
	job 0 $(msg_long $arb_cfg 0x110)
release
hl_check "user 4: two streams that each hold the arbiter while they wait for the other both complete" \
	job 0 $arb_request $(msg_long $fence_s1 1) $fence \
	/ 1 $arb_request $(msg_long $fence_s0 1) $fence
release
rm -f $fifo $out
hl_exit
