#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own drivers/net selftests, ping.py, stats.py and queues.py,
# on the first pair of wired ports: the near end is NETIF in one
# namespace, the far end the remote in another (REMOTE_TYPE=netns). Each
# upstream case is a TAP line here, with its SKIP or XFAIL reason; the test
# fails if a case fails or a script breaks before reporting its cases.
. ./lib.sh

# The python tests run ip, ping and ethtool through /bin/sh, where busybox
# sh would run its own applets of those names: they get this /bin, with
# bash as sh, in a mount namespace of their own.
bin=/tmp/nic_upstream.bin

# py_test NAME: drivers/net/NAME from namespace hla0 with hlb0 as the remote.
py_test() {
	_start=$(hl_uptime)
	(cd $HL_KSFT/drivers/net &&
		unshare -m sh -c "mount --bind $bin /bin && exec /usr/sbin/ip \"\$@\"" - \
			netns exec hla0 env NETIF="$a" REMOTE_TYPE=netns REMOTE_ARGS=hlb0 \
			LOCAL_V4="$(hl_addr 0 1)" REMOTE_V4="$(hl_addr 0 2)" \
			LOCAL_V6="$(hl_addr6 0 1)" REMOTE_V6="$(hl_addr6 0 2)" \
			timeout 120 python3 "./$1" > $HL_KSFT_OUT 2>&1)
	hl_ksft_report "drivers/net/$1" $? $_start
}

hl_check "the kernel's selftests are in the VM" [ -d $HL_KSFT/drivers/net ]
mkdir -p $bin && cp -a /bin/. $bin/ && ln -sf /usr/bin/bash $bin/sh
hl_nic_setup || hl_fail "wired port pairs"
[ $hl_nfail = 0 ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
hl_diag "NETIF $a, the remote's $b"
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "pair 0: carrier" hl_poll 20 hl_carrier hla0 "$a"
for t in ping.py stats.py queues.py; do
	py_test $t
done
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
hl_exit
