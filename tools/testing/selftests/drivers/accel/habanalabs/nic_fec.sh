#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# FEC and the extended link state on a port pair (port 3 of device 0 and of
# device 1, each end in a namespace of its own), with ethtool: the FEC mode
# set with --set-fec reaches LINK_CFG and --show-fec reports the mode the
# link runs; off at one end and RS at the other takes the link down at both,
# and ethtool says why, until the modes match again and a TCP payload
# passes; BASE-R, LLRS and several modes at once are refused. The link
# state names the other causes the model reports (partner down, with and
# without autonegotiation, no common speed, no cable, link training), and a
# reason code the driver does not know is counted, logged once and not
# reported. The FEC counters (ethtool -I --show-fec) follow the model's
# bit errors: corrected with RS, uncorrectable, or FCS errors without FEC.
. ./lib.sh

set -- $HL_DEVS
a=$(hl_port_if "$1" 3)
b=$(hl_port_if "$2" 3)
if [ -z "$a" ] || [ -z "$b" ]; then
	hl_fail "port 3 of both devices has a netdev"
	hl_exit
fi
da=$1 db=$2
hl_diag "ports: $a ($da p3), $b ($db p3)"

# eta/etb ARG...: ethtool in A's or B's namespace.
eta() { ip netns exec hla0 ethtool "$@"; }
etb() { ip netns exec hlb0 ethtool "$@"; }
# port_rd DEV REG: register REG of port 3 of DEV.
port_rd() { hl_port_rd "$1" 3 "$2"; }
# cfg_fec DEV: the FEC code of the port's LINK_CFG.
cfg_fec() { echo $(($(port_rd "$1" $HL_PORT_LINK_CFG) >> HL_LINK_FEC_SHIFT & 3)); }
# reason DEV: the reason code of the port's LINK_INFO.
reason() { echo $(($(port_rd "$1" $HL_PORT_LINK_INFO) >> HL_LINK_INFO_DOWN_SHIFT & 0xff)); }
# reasons CODE: LINK_INFO gives reason CODE at both ends.
reasons() { [ "$(reason "$da")" -eq "$1" ] && [ "$(reason "$db")" -eq "$1" ]; }
has() { echo "$1" | grep -qE "$2"; }
# refused ERR RC: a command that printed ERR failed with status RC, EINVAL.
refused() { [ "$2" -ne 0 ] && has "$1" "Invalid argument"; }
both_set() { [ -n "$1" ] && [ -n "$2" ]; }
# lie: a reason code no version of the device has, in A's LINK_INFO (until
# the model next evaluates the link).
lie() { hl_wr "$da" $((HL_PORT_BLOCKS + HL_PORT_SIZE * 3 + HL_PORT_LINK_INFO)) $((0xee << HL_LINK_INFO_DOWN_SHIFT)); }
# show_fec ET: ethtool --show-fec through ET (eta or etb).
show_fec() { $1 --show-fec "$2"; }
active_is() { has "$($1 --show-fec "$2")" "Active FEC encoding: $3"; }
# link_state ET IF: ethtool's "Link detected" line.
link_state() { $1 "$2" | sed -n 's/^[[:space:]]*Link detected: //p'; }
link_is() { [ "$(link_state "$1" "$2")" = "$3" ]; }
# fec_stat ET IF NAME: a FEC counter of ethtool -I --show-fec.
fec_stat() { $1 -I --show-fec "$2" | awk -v n="$3:" '$1 == n { print $2; exit }'; }
up_both() {
	hl_poll 10 hl_carrier hla0 "$a" && hl_poll 10 hl_carrier hlb0 "$b"
}
down_both() {
	hl_poll 10 hl_no_carrier hla0 "$a" && hl_poll 10 hl_no_carrier hlb0 "$b"
}
# Link mode bits: 10G CR 42, 25G CR 31, 50G CR2 34, 100G CR4 38.
all=0x44480000000 g10=0x40000000000 g100=0x4000000000
# The FEC configuration lives in the driver, not in the device: back to
# auto however the test ends, before hl_cleanup moves the ports back.
restore() {
	for _e in "hla0 $a" "hlb0 $b"; do
		set -- $_e
		ip netns exec "$1" ethtool --set-fec "$2" encoding auto 2> /dev/null ||
			ethtool --set-fec "$2" encoding auto 2> /dev/null
		ip netns exec "$1" ethtool -s "$2" autoneg on advertise $all 2> /dev/null ||
			ethtool -s "$2" autoneg on advertise $all 2> /dev/null
	done
	hl_cleanup
}
trap restore EXIT

payload=/tmp/hl-fec.$$
dd if=/dev/urandom of="$payload" bs=64k count=16 2> /dev/null

hl_check "each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "link up" up_both
hl_check "ethtool: supported FEC modes None and RS" \
	has "$(eta "$a")" "Supported FEC modes:[[:space:]]+None[[:space:]]+RS"
hl_check "FEC auto by default (LINK_CFG)" [ "$(cfg_fec "$da")" -eq $HL_FEC_AUTO ]
hl_check "--show-fec: configured auto" has "$(show_fec eta "$a")" "Configured FEC encodings: Auto"
hl_check "--show-fec: auto at both ends runs RS" active_is eta "$a" RS

# --- Off at one end: auto follows it -----------------------------------------
eta --set-fec "$a" encoding off
hl_check "--set-fec off reaches LINK_CFG" [ "$(cfg_fec "$da")" -eq $HL_FEC_OFF ]
hl_check "--show-fec: configured off" has "$(show_fec eta "$a")" "Configured FEC encodings: Off"
hl_check "off against auto: up" up_both
hl_check "off against auto: no FEC at A" hl_poll 10 active_is eta "$a" Off
hl_check "off against auto: no FEC at B" active_is etb "$b" Off

# --- Off against RS: down at both ends, and why ----------------------------
etb --set-fec "$b" encoding rs
hl_check "--set-fec rs reaches LINK_CFG" [ "$(cfg_fec "$db")" -eq $HL_FEC_RS ]
hl_check "off against RS: carrier lost at both ends" down_both
hl_check "LINK_INFO: FEC mismatch at both ends" reasons $HL_DOWN_FEC_MISMATCH
mismatch="no (Autoneg, FEC mismatch during override)"
hl_diag "A: Link detected: $(link_state eta "$a")"
hl_check "ethtool at A: $mismatch" link_is eta "$a" "$mismatch"
hl_check "ethtool at B: $mismatch" link_is etb "$b" "$mismatch"
hl_check "no active FEC while down" hl_not active_is eta "$a" "(RS|Off)"
hl_check "no ping through the mismatch" hl_not hl_ping hla0 "$(hl_addr 0 2)" -W 1

eta --set-fec "$a" encoding rs
hl_check "RS at both ends: up again" up_both
hl_check "RS at both ends: RS at A" hl_poll 10 active_is eta "$a" RS
hl_check "RS at both ends: RS at B" active_is etb "$b" RS
hl_check "ethtool: link detected" link_is eta "$a" yes
hl_check "ping through" hl_ping hla0 "$(hl_addr 0 2)"
hl_check "a 1 MiB TCP payload arrives intact" hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" "$payload"

# --- What the port cannot run ------------------------------------------------
for enc in baser llrs "off rs" "auto rs"; do
	err=$(eta --set-fec "$a" encoding $enc 2>&1)
	rc=$?
	hl_diag "encoding $enc: $err"
	hl_check "--set-fec encoding $enc: refused, EINVAL" refused "$err" $rc
done
hl_check "refusals left LINK_CFG at RS" [ "$(cfg_fec "$da")" -eq $HL_FEC_RS ]
hl_check "refusals left the link up" hl_carrier hla0 "$a"

# --- FEC counters ------------------------------------------------------------
corr=$(fec_stat etb "$b" corrected_blocks)
unc=$(fec_stat etb "$b" uncorrectable_blocks)
hl_check "FEC counters shown (corrected $corr, uncorrectable $unc)" both_set "$corr" "$unc"
hl_port_fault "$db" 3 $HL_PORT_FAULT_FEC_ERRORS
hl_check "bit errors under RS: pings pass" hl_ping hla0 "$(hl_addr 0 2)" -c 3
hl_check "... counted as corrected codewords ($corr -> $(fec_stat etb "$b" corrected_blocks))" \
	[ "$(fec_stat etb "$b" corrected_blocks)" -gt "$corr" ]
hl_port_fault "$db" 3 $HL_PORT_FAULT_FEC_UNCORRECTABLE
crc=$(hl_if_stat hlb0 "$b" rx_crc_errors)
ip netns exec hla0 ping -q -c 3 -W 1 "$(hl_addr 0 2)" > /dev/null 2>&1
hl_check "uncorrectable errors counted ($unc -> $(fec_stat etb "$b" uncorrectable_blocks))" \
	[ "$(fec_stat etb "$b" uncorrectable_blocks)" -gt "$unc" ]
hl_check "... and the frames dropped as FCS errors" [ "$(hl_if_stat hlb0 "$b" rx_crc_errors)" -gt "$crc" ]
hl_port_fault "$db" 3 0
eta --set-fec "$a" encoding off
etb --set-fec "$b" encoding off
hl_check "off at both ends: up without FEC" up_both
hl_check "off at both ends: Off" hl_poll 10 active_is eta "$a" Off
hl_port_fault "$db" 3 $HL_PORT_FAULT_FEC_ERRORS
corr=$(fec_stat etb "$b" corrected_blocks)
crc=$(hl_if_stat hlb0 "$b" rx_crc_errors)
ip netns exec hla0 ping -q -c 3 -W 1 "$(hl_addr 0 2)" > /dev/null 2>&1
hl_check "bit errors without FEC: FCS errors" [ "$(hl_if_stat hlb0 "$b" rx_crc_errors)" -gt "$crc" ]
hl_check "... and no corrected codewords" [ "$(fec_stat etb "$b" corrected_blocks)" -eq "$corr" ]
hl_port_fault "$db" 3 0
eta --set-fec "$a" encoding auto
etb --set-fec "$b" encoding auto
hl_check "auto at both ends again: RS" hl_poll 10 active_is eta "$a" RS

# --- Other reasons -----------------------------------------------------------
ip -n hlb0 link set dev "$b" down
hl_check "B down: A loses its carrier" hl_poll 10 hl_no_carrier hla0 "$a"
hl_check "B down: LINK_INFO says partner disabled at A" [ "$(reason "$da")" -eq $HL_DOWN_PARTNER_DISABLED ]
hl_check "B down: LINK_INFO says disabled at B" [ "$(reason "$db")" -eq $HL_DOWN_DISABLED ]
hl_check "B down, A autonegotiating: no partner detected" \
	link_is eta "$a" "no (Autoneg, No partner detected)"
eta -s "$a" autoneg off speed 100000
hl_check "B down, A forced: no partner detected during force mode" \
	hl_poll 10 link_is eta "$a" "no (Autoneg, No partner detected during force mode)"
eta -s "$a" autoneg on

# A reason the driver does not know: counted, logged once, not reported.
errs=$(eta -S "$a" | awk '$1 == "device_errors:" { print $2 }')
hl_mark
lie
hl_check "an unknown reason is not reported" link_is eta "$a" no
lie
link_state eta "$a" > /dev/null
errs2=$(eta -S "$a" | awk '$1 == "device_errors:" { print $2 }')
hl_check "... and counted in device_errors ($errs -> $errs2)" [ "$errs2" -ge $((errs + 2)) ]
hl_check "... and logged once" [ "$(hl_log | grep -c 'implausible LINK_INFO 0xee00')" -eq 1 ]

ip -n hlb0 link set dev "$b" up
hl_check "B up again: link up" up_both

hl_port_fault "$db" 3 $HL_PORT_FAULT_LINK_DOWN
hl_check "unplugged: down at both ends" down_both
hl_check "unplugged: no cable at A" link_is eta "$a" "no (No cable)"
hl_check "unplugged: no cable at B" link_is etb "$b" "no (No cable)"
hl_port_fault "$db" 3 $HL_PORT_FAULT_LINK_TRAINING
hl_check "training fails: link training failure" \
	hl_poll 10 link_is eta "$a" "no (Link training failure, KR frame lock not acquired)"
hl_port_fault "$db" 3 0
hl_check "faults cleared: link up" up_both

eta -s "$a" advertise $g10
etb -s "$b" advertise $g100
hl_check "no common speed: down" down_both
hl_check "no common speed: no HCD" link_is eta "$a" "no (Autoneg, No HCD)"
eta -s "$a" advertise $all
etb -s "$b" advertise $all
hl_check "common speeds again: up" up_both
hl_check "and traffic passes" hl_tcp_xfer hlb0 hla0 "$(hl_addr 0 1)" "$payload"

hl_check "back in the initial namespace" hl_pair_down 0 "$a" "$b"
rm -f "$payload"
hl_exit
