#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# netconsole over a port: a target configured through configfs sends the
# kernel log from port A (namespace hla0) to a UDP listener on the wired
# port B (namespace hlb0). netpoll transmits with interrupts disabled, from
# any context, and polls NAPI with a budget of 0 (TX reclaim only): the
# driver's TX ring lock must never be taken with interrupts enabled, which
# /proc/lockdep shows of its class (Rings::tx). Checked: marked messages
# written to /dev/kmsg arrive all and in order, also under a TCP flood on
# the same pair; a message logged with printk_deferred arrives (the
# "callbacks suppressed" line of a rate limit, provoked with signals
# dropped at RLIMIT_SIGPENDING, which the kernel reports, rate limited,
# while kernel.print-fatal-signals is set; its console output may run
# from an irq_work, in a hard interrupt, or be flushed by the next
# printk); nothing arrives once the target is disabled; no lockdep report.
. ./lib.sh

cfgfs=/tmp/$HL_TEST.cfg
target=$cfgfs/netconsole/hl_netconsole
rx=/tmp/$HL_TEST.$$.rx
run=$$
port=6666

[ -e /sys/module/netconsole ] || hl_skip "no netconsole (CONFIG_NETCONSOLE)"
grep -qw configfs /proc/filesystems || hl_skip "no configfs (CONFIG_CONFIGFS_FS)"

# configfs is mounted outside /sys, which ip netns exec mounts anew: the
# target is enabled from A's namespace, the one netpoll looks its device up
# in.
mkdir -p $cfgfs
mount -t configfs configfs $cfgfs || hl_skip "cannot mount configfs"
[ -d $cfgfs/netconsole ] || hl_skip "no dynamic netconsole targets (CONFIG_NETCONSOLE_DYNAMIC)"

rx_pid=
nc_cleanup() {
	if [ -d $target ]; then
		echo 0 > $target/enabled 2> /dev/null
		rmdir $target
	fi
	[ -z "$rx_pid" ] || kill "$rx_pid" 2> /dev/null
	umount $cfgfs 2> /dev/null && rmdir $cfgfs
	rm -f "$rx" /tmp/$HL_TEST.$$.*
	hl_cleanup
}
trap nc_cleanup EXIT

# enable 0|1: disables or enables the target, from A's namespace.
enable() { ip netns exec hla0 sh -c "echo $1 > $target/enabled"; }

# send PHASE N: writes N marked messages to the kernel log, at level 5.
send() {
	_i=1
	while [ $_i -le "$2" ]; do
		echo "<5>hl-netconsole $run $1 $_i" > /dev/kmsg
		_i=$((_i + 1))
	done
}

# received PHASE: the numbers of PHASE's messages that arrived, in order.
received() {
	tr -d '\0' < "$rx" | sed -n "s/.*hl-netconsole $run $1 \([0-9]*\).*/\1/p"
}

# all_received PHASE N: PHASE's messages 1 to N arrived, each once, in order.
all_received() { [ "$(received "$1" | tr '\n' ' ')" = "$(seq -s ' ' 1 "$2") " ]; }

# probe: a probe message arrives (the receiver is listening).
probe() {
	send probe 1
	received probe | grep -q .
}

# tx_lock_usage: the hard-interrupt usage of the TX ring locks' lock class,
# from /proc/lockdep: '.' (taken with interrupts disabled only), '-' (also
# in hard interrupt context), '+' or '?' (taken with interrupts enabled);
# empty if the class is not known (yet).
tx_lock_usage() {
	sed -n 's/.* \([-.+?]\)[-.+?][-.+?][-.+?]: Rings::tx$/\1/p' /proc/lockdep | head -n 1
}

tx_lock_irq_safe() {
	_u=$(tx_lock_usage)
	hl_diag "Rings::tx hard-interrupt usage: '${_u:-unknown}'"
	[ "$_u" = . ] || [ "$_u" = - ]
}

# drop_signals: more real-time signals than RLIMIT_SIGPENDING (0) lets
# queue, 20 (10 reported, 10 suppressed), then one more once the rate
# limit's 5 s interval is over: the kernel reports the suppressed ones
# with printk_deferred.
drop_signals() {
	echo 1 > /proc/sys/kernel/print-fatal-signals
	(ulimit -i 0 && exec python3 -c '
import os, signal, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
for i in range(21):
    if i == 20:
        time.sleep(6)
    os.kill(os.getpid(), signal.SIGRTMIN)')
	_rc=$?
	echo 0 > /proc/sys/kernel/print-fatal-signals
	return $_rc
}

listening_udp() {
	ip netns exec hlb0 cat /proc/net/udp |
		grep -q "^ *[0-9]*: [0-9A-F]*:$(printf %04X $port) "
}

tcp_listening() {
	ip netns exec hlb0 cat /proc/net/tcp /proc/net/tcp6 |
		grep -q "^ *[0-9]*: [0-9A-F]*:$(printf %04X 5201) [0-9A-F:]* 0A "
}

# lockdep_report: lockdep reported something since the test began.
lockdep_report() {
	hl_log | grep -E 'possible (recursive|circular|irq lock inversion)|inconsistent lock state|lock order detected'
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
a=$1 b=$2
hl_mark
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
hl_check "carrier at A" hl_poll 20 hl_carrier hla0 "$a"
hl_check "carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
hl_check "ping B from A" hl_poll 20 hl_ping hla0 "$(hl_addr 0 2)"
mac_b=$(ip -n hlb0 -j link show dev "$b" | jq -r '.[0].address')

ip netns exec hlb0 socat -u "UDP4-RECV:$port" "OPEN:$rx,creat,append" &
rx_pid=$!
hl_check "the receiver listens in B" hl_poll 20 listening_udp

hl_check "a netconsole target is created" mkdir $target
echo "$a" > $target/dev_name &&
	echo "$(hl_addr 0 1)" > $target/local_ip &&
	echo "$(hl_addr 0 2)" > $target/remote_ip &&
	echo "$mac_b" > $target/remote_mac &&
	echo $port > $target/remote_port
hl_check "the target is set up: $a to $(hl_addr 0 2):$port ($mac_b)" [ $? = 0 ]
hl_check "the target is enabled on $a" enable 1
hl_check "the target says enabled" [ "$(cat $target/enabled)" = 1 ]
hl_check "netconsole logs it" hl_poll 10 sh -c 'dmesg | grep -q "netconsole: network logging started"'
hl_check "a probe message arrives" hl_poll 20 probe

n=100
send ordered $n
hl_check "$n marked messages arrive, each once, in order" hl_poll 30 all_received ordered $n
hl_diag "ordered: $(received ordered | wc -l) of $n"

# Under load: a TCP flood from A to B on the same queue (priority 0), the
# messages sent while it runs.
ip netns exec hlb0 iperf3 -s -1 > /dev/null 2>&1 &
hl_poll 20 tcp_listening || hl_diag "no iperf3 server"
ip netns exec hla0 iperf3 -c "$(hl_addr 0 2)" -t 15 -J > /tmp/$HL_TEST.$$.iperf 2> /dev/null &
iperf_pid=$!
sleep 3
send load $n
wait $iperf_pid
hl_check "the TCP flood ran (a MiB at least)" \
	[ "$(jq '.end.sum_received.bytes' /tmp/$HL_TEST.$$.iperf)" -ge 1048576 ]
hl_diag "flood: $(jq '.end.sum_received.bits_per_second / 1e6 | floor' \
	/tmp/$HL_TEST.$$.iperf) Mbit/s"
hl_check "$n marked messages sent under the flood arrive in order" \
	hl_poll 30 all_received load $n
hl_diag "under load: $(received load | wc -l) of $n"

# A deferred message (console output from an irq_work, unless the next
# printk flushes it first: the lock usage below tells which).
hl_check "signals dropped at RLIMIT_SIGPENDING" drop_signals
hl_check "their rate limit's report arrives" hl_poll 30 \
	grep -q "print_dropped_signal: [0-9]* callbacks suppressed" "$rx"
hl_check "the TX ring lock is never taken with interrupts enabled" tx_lock_irq_safe

hl_check "the target is disabled" enable 0
hl_check "the target says disabled" [ "$(cat $target/enabled)" = 0 ]
send disabled 20
# A datagram sent by hand after them arrives, and so would they before it.
ip netns exec hla0 sh -c "echo hl-netconsole $run control 1 |
	socat -u - UDP4:$(hl_addr 0 2):$port"
hl_check "a datagram sent after them arrives" hl_poll 20 all_received control 1
hl_check "nothing arrives once disabled" [ -z "$(received disabled)" ]
hl_check "ping B from A after netconsole" hl_ping hla0 "$(hl_addr 0 2)"
hl_check "the target is removed" rmdir $target
hl_check "no lockdep report" hl_not lockdep_report
hl_exit
