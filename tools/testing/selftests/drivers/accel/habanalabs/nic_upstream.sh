#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own driver selftests, from the 6.12 tree (tools/vm/
# initramfs.sh copies them to /usr/src/linux), on the first pair of wired
# ports: drivers/net ping.py, stats.py and queues.py with the near end as
# NETIF in one namespace and the far end in another (REMOTE_TYPE=netns);
# drivers/net/hw ethtool.sh, ethtool_rmon.sh and loopback.sh with both ends
# in one namespace (the scripts put each in a VRF). Each upstream case is a
# TAP line here, with its SKIP or XFAIL and the reason; the test fails if a
# case fails or a script breaks before reporting its cases.
. ./lib.sh

ksft=/usr/src/linux/tools/testing/selftests
out=/tmp/nic_upstream.out
# The python tests run ip, ping and ethtool through /bin/sh, where busybox
# sh would run its own applets of those names: they get this /bin, with
# bash as sh, in a mount namespace of their own.
bin=/tmp/nic_upstream.bin

# report NAME RC: the cases NAME reported in $out (KTAP from the python
# tests, "TEST: ... [ OK ]" from the shell ones) as TAP lines; RC is its
# exit status, kselftest's: 0 pass, 2 xfail, 4 skip, others fail.
report() {
	_cases=$(sed -n -E \
		-e 's/^(not )?ok [0-9]+ ([^ ]+)( # (SKIP|XFAIL) ?(.*))?$/\1\4|\2|\5/p' \
		-e 's/^TEST: (.*[^ ]) +\[ ?(OK|FAIL|SKIP|XFAIL) ?\]$/\2|\1|/p' "$out" |
		sed -E 's/^(not |FAIL)\|/fail|/; s/^OK\|SKIP: /skip|/; s/^(OK)?\|/pass|/
			s/^(not )?SKIP\|/skip|/; s/^(not )?XFAIL\|/xfail|/')
	_nfail0=$hl_nfail _n=0
	while IFS='|' read -r _res _case _why <&3; do
		[ -n "$_res" ] || continue
		_n=$((_n + 1))
		case $_res in
		pass) hl_pass "$1: $_case" ;;
		skip) hl_pass "$1: $_case # SKIP${_why:+ $_why}" ;;
		xfail) hl_pass "$1: $_case # XFAIL${_why:+ $_why}" ;;
		*) hl_fail "$1: $_case" ;;
		esac
	done 3<<EOF
$_cases
EOF
	if [ $_n = 0 ] && [ "$2" = 4 ]; then
		hl_pass "$1 # SKIP $(grep -m 1 SKIP "$out")"
	elif [ $_n = 0 ] || { [ "$2" != 0 ] && [ "$2" != 2 ] && [ "$2" != 4 ] &&
			[ $hl_nfail = $_nfail0 ]; }; then
		hl_fail "$1: ran and reported its cases (exit status $2, $_n cases)"
	fi
	[ $hl_nfail = $_nfail0 ] || sed 's/^/# /' "$out"
}

# py_test NAME: drivers/net/NAME from namespace hla0 with hlb0 as the remote.
py_test() {
	(cd $ksft/drivers/net &&
		unshare -m sh -c "mount --bind $bin /bin && exec /usr/sbin/ip \"\$@\"" - \
			netns exec hla0 env NETIF="$a" REMOTE_TYPE=netns REMOTE_ARGS=hlb0 \
			LOCAL_V4="$(hl_addr 0 1)" REMOTE_V4="$(hl_addr 0 2)" \
			LOCAL_V6="$(hl_addr6 0 1)" REMOTE_V6="$(hl_addr6 0 2)" \
			timeout 120 python3 "./$1" > $out 2>&1)
	report "drivers/net/$1" $?
}

# hw_test NAME: drivers/net/hw/NAME on both ends, in namespace hlu. The links
# need no time to settle after they come up (WAIT_TIME, 5 s by default).
hw_test() {
	(cd $ksft/drivers/net/hw &&
		ip netns exec hlu env WAIT_TIME=1 timeout 200 bash "./$1" "$a" "$b" > $out 2>&1)
	report "drivers/net/hw/$1" $?
}

# both_in NS: a new namespace NS with $a and $b.
both_in() {
	ip netns add "$1" && ip link set dev "$a" netns "$1" &&
		ip link set dev "$b" netns "$1"
}

# link_modes NS IF: how many link modes IF supports.
link_modes() {
	ip netns exec "$1" ethtool "$2" | sed -n '/Supported link modes:/,/:/p' |
		grep -o '[0-9]*base[^ ]*' | wc -l
}

hl_check "the kernel's selftests are in the VM" [ -d $ksft/drivers/net/hw ]
mkdir -p $bin && cp -a /bin/. $bin/ && ln -sf /usr/bin/bash $bin/sh
hl_check "wired port pairs" hl_nic_setup
[ $hl_nfail = 0 ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
hl_diag "NETIF $a, the remote's $b"

hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "pair 0: carrier" hl_poll 20 hl_carrier hla0 "$a"
for t in ping.py stats.py queues.py; do
	py_test $t
done
hl_check "pair 0: back in the initial namespace" hl_pair_down 0

hl_check "$a and $b in namespace hlu" both_in hlu
modes=$(link_modes hlu "$a")
if [ "$modes" -ge 2 ]; then
	hw_test ethtool.sh
else
	hl_pass "drivers/net/hw/ethtool.sh # SKIP $a has $modes link modes, the test forces two"
fi
for t in ethtool_rmon.sh loopback.sh; do
	hw_test $t
done
hl_exit
