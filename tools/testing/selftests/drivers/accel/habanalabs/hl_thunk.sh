#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hl-thunk's command line and C interface on every device of the model,
# over the habanalabs uAPI of Linux 6.1: "hl-thunk info" reports what the
# model's registers say, "hl-thunk dma-test" copies exactly, "hl-thunk
# submit" runs a packet file and reports an abort with the cause the
# device counted, and the C smoke test (built against include/hlthunk.h,
# hl-thunk-open's interface, and libhlthunk.so) passes.
. ./lib.sh

for tool in hl-thunk hlthunk-c-smoke; do
	if ! command -v $tool > /dev/null; then
		hl_fail "$tool is installed"
		hl_exit
	fi
done
tmp=/tmp/$HL_TEST.$$

# diag CMD [ARG...]: runs CMD with its output as TAP diagnostics.
diag() {
	"$@" > "$tmp.diag" 2>&1
	_rc=$?
	sed 's/^/# /' "$tmp.diag"
	return $_rc
}

# info N: hl-thunk info of device N, kept for field.
info() { hl-thunk info -d "$1" > "$tmp.info"; }

# field NAME: the value of "NAME:" in the last info.
field() { sed -n "s/^$1: *//p" "$tmp.info"; }

hl_check_nodes
for node in $HL_NODES; do
	n=${node#/dev/hl}
	hl_check "hl-thunk info -d $n" info "$n"
	sed 's/^/# /' "$tmp.info"
	dev=$(field pci)
	hl_check "device $n: hl-thunk info names a device of the model" \
		hl_is_model "$dev"
	hl_check "device $n: device id as in BAR2" \
		[ "$(($(field 'device id')))" -eq $(($(hl_rd "$dev" $HL_REG_CHIP_ID) & 0xffff)) ]
	hl_check "device $n: DRAM size as in BAR2" \
		[ "$(field 'dram size' | cut -d' ' -f1)" -eq \
		  "$(hl_rd64 "$dev" $HL_REG_DRAM_SIZE_LO)" ]
	for size in 1 4097 1M; do
		hl_check "hl-thunk dma-test -d $n --size $size" \
			diag hl-thunk dma-test -d "$n" --size $size
	done
done

# Packets are little-endian: a value word, then ctl with the opcode in
# [28:24]. NOP is 0x0a, STOP 0x0b; 0x1f is no opcode.
printf '\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\013' > "$tmp.ok"
printf '\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\037' > "$tmp.bad"
submit_all() {
	for q in dma0 dma1 tpc0 tpc1; do
		hl-thunk submit --queue $q "$1" || return 1
	done
}
hl_check "hl-thunk submit: NOP, STOP completes on every queue" \
	diag submit_all "$tmp.ok"
submit_bad() { hl-thunk submit --queue dma1 "$tmp.bad" > "$tmp.out"; }
hl_check "hl-thunk submit: a bad opcode fails" hl_not submit_bad
sed 's/^/# /' "$tmp.out"
# A bad opcode is an error of the QMAN that met it: GAUDI's DMA1_QM event.
hl_check "hl-thunk submit: the abort and its GAUDI event are reported" \
	grep -q "on dma1: aborted: DMA1_QM" "$tmp.out"

hl_check "hlthunk-c-smoke 0: the C interface" diag hlthunk-c-smoke 0

rm -f "$tmp".*
hl_exit
