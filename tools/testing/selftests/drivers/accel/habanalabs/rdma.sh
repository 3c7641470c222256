#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# GAUDI-to-GAUDI RDMA between /dev/hl0 and /dev/hl1 over port 0, whose
# Ethernet interfaces it brings up at both ends (RDMA needs them):
# hl-rdma-tests (tools/hl-thunk) with its results as this test's (the
# uAPI's checks, WRITE and SEND/RECV up to 64 MiB byte for byte, error
# CQEs with the destination unchanged, SOBs fencing compute jobs, CQs,
# contexts, an all-reduce with the TPC, a context closed mid-transfer);
# "hl-thunk rdma-transfer" with both ops both ways; LINK_DOWN with an
# interface down at either end; and a transfer killed with SIGKILL in the
# middle (the model's LINK_RATE slows it), after which both devices still
# transfer and compute; device 0 unbound under a transfer and bound
# again; network namespaces (a port whose netdev is in another namespace
# is refused with ENODEV, both ports in one namespace work from there);
# and pings and TCP over the same port's Ethernet while RDMA runs on it,
# each interface in a VRF of this namespace.
. ./lib.sh

port=0
tmp=/tmp/$HL_TEST.$$

for tool in hl-thunk hl-rdma-tests; do
	if ! command -v $tool > /dev/null; then
		hl_fail "$tool is installed"
		hl_exit
	fi
done

# nic_busy DEV: DEV's NIC QMAN of the port is running a job (its STATUS).
nic_busy() {
	_q=$((HL_NIC_QUEUE0 + port))
	_s=$(hl_rd "$1" $((HL_QMAN_BLOCKS + HL_QMAN_SIZE * _q + HL_QMAN_STATUS)))
	[ $((_s & HL_QMAN_STATUS_BUSY)) != 0 ]
}

# diag CMD [ARG...]: runs CMD with its output as TAP diagnostics.
diag() {
	"$@" > "$tmp.diag" 2>&1
	_rc=$?
	sed 's/^/# /' "$tmp.diag"
	return $_rc
}

# fails_with WHAT ARG...: hl-thunk rdma-transfer ARGs fails, naming WHAT.
fails_with() {
	_what=$1
	shift
	hl-thunk rdma-transfer "$@" > "$tmp.out" 2>&1
	_rc=$?
	sed 's/^/# /' "$tmp.out"
	[ $_rc != 0 ] && grep -q "$_what" "$tmp.out"
}

pcis= ifs=
for n in 0 1; do
	d=$(hl_dev_pci $n)
	if ! hl_check "/dev/hl$n is a device of the model ($d)" hl_is_model "$d" ||
		! hl_check "$d: its ports are in this namespace" hl_poll 20 hl_all_ports_here "$d"; then
		hl_exit
	fi
	pcis="$pcis $d" ifs="$ifs $(hl_port_if "$d" $port)"
done
set -- $pcis
dev0=$1 dev1=$2
set -- $ifs
if0=$1 if1=$2
for i in $if0 $if1; do
	ip link set dev "$i" up
done
for i in $if0 $if1; do
	hl_check "port $port ($i): up, with a carrier" hl_poll 20 hl_if_carrier "$i"
done

hl_merge hl-rdma-tests -p $port

for op in write send; do
	hl_check "rdma-transfer: 64 MiB, $op, device 0 to 1" \
		diag hl-thunk rdma-transfer --from 0 --to 1 --port $port --op $op --size 64M
	hl_check "rdma-transfer: 1 MiB + 1, $op, device 1 to 0, 3 times" \
		diag hl-thunk rdma-transfer --from 1 --to 0 --port $port --op $op \
		--size 1048577 --iterations 3
done

for i in $if0 $if1; do
	ip link set dev "$i" down
	hl_check "rdma-transfer with $i down: LINK_DOWN" \
		fails_with LINK_DOWN --port $port --size 64K
	ip link set dev "$i" up
	hl_check "$i up again, with a carrier" hl_poll 20 hl_if_carrier "$i"
	hl_check "rdma-transfer with $i up again" \
		diag hl-thunk rdma-transfer --port $port --size 64K
done

# 64 MiB at 200 Mbit/s: almost 3 s on the link.
hl_link_rate "$dev0" $port 200
hl-thunk rdma-transfer --port $port --size 64M --iterations 100 > "$tmp.kill" 2>&1 &
pid=$!
hl_check "kill: a transfer is on the link" hl_poll 60 nic_busy "$dev0"
kill -9 $pid
hl_link_rate "$dev0" $port 0
wait $pid
rc=$?
sed 's/^/# /' "$tmp.kill"
hl_check "kill: the transfer died of SIGKILL (exit status $rc)" [ $rc = 137 ]
hl_check "after the kill: rdma-transfer, write, device 0 to 1" \
	diag hl-thunk rdma-transfer --from 0 --to 1 --port $port --size 16M
hl_check "after the kill: rdma-transfer, send, device 1 to 0" \
	diag hl-thunk rdma-transfer --from 1 --to 0 --port $port --op send --size 16M
# NOP, STOP: a value word, then ctl with the opcode in [28:24].
printf '\000\000\000\000\000\000\000\012\000\000\000\000\000\000\000\013' > "$tmp.nop"
for n in 0 1; do
	hl_check "after the kill: device $n: dma-test" diag hl-thunk dma-test -d $n --size 1M
	hl_check "after the kill: device $n: a TPC job" \
		diag hl-thunk submit -d $n --queue tpc0 "$tmp.nop"
done

# Unbinding device 0 under a transfer (a connection at each end, a mapped
# CQ, a NIC job on the link): the transfer fails and exits, and once bound
# again, with new interfaces, the device transfers (kmemleak and the splat
# scan judge the rest).
hl_link_rate "$dev0" $port 200
hl-thunk rdma-transfer --port $port --size 64M --iterations 100 > "$tmp.unbind" 2>&1 &
pid=$!
hl_check "unbind: a transfer is on the link" hl_poll 60 nic_busy "$dev0"
hl_check "unbind: $dev0 unbinds under it" hl_unbind "$dev0"
wait $pid
rc=$?
sed 's/^/# /' "$tmp.unbind"
hl_check "unbind: the transfer failed (exit status $rc)" [ $rc -ne 0 -a $rc -ne 137 ]
hl_link_rate "$dev0" $port 0
hl_check "unbind: $dev0 binds again" hl_bind "$dev0"
hl_check "unbind: $dev0's ports are back" hl_poll 20 hl_all_ports_here "$dev0"
if0=$(hl_port_if "$dev0" $port)
ip link set dev "$if0" up
hl_check "unbind: port $port ($if0): up, with a carrier" hl_poll 20 hl_if_carrier "$if0"
hl_check "after the rebind: rdma-transfer, write, device 0 to 1" \
	diag hl-thunk rdma-transfer --from 0 --to 1 --port $port --size 16M
hl_check "after the rebind: rdma-transfer, send, device 1 to 0" \
	diag hl-thunk rdma-transfer --from 1 --to 0 --port $port --op send --size 16M

# Network namespaces: connection set-up needs the port's netdev in the
# caller's namespace (uapi.rst, RDMA).
ip netns add hlrdma
ip link set dev "$if0" netns hlrdma
hl_check "netns: $if0 in another namespace: refused with ENODEV" \
	fails_with "No such device" --port $port --size 64K
ip link set dev "$if1" netns hlrdma
ip -n hlrdma link set dev "$if0" up
ip -n hlrdma link set dev "$if1" up
hl_check "netns: both ports in namespace hlrdma, with a carrier" \
	hl_poll 20 hl_carrier hlrdma "$if0"
hl_check "netns: rdma-transfer from within hlrdma" \
	diag ip netns exec hlrdma hl-thunk rdma-transfer --port $port --size 64K
hl_check "netns: ... and from the initial namespace refused" \
	fails_with "No such device" --port $port --size 64K
ip -n hlrdma link set dev "$if0" netns 1
ip -n hlrdma link set dev "$if1" netns 1
ip netns del hlrdma
for i in $if0 $if1; do
	ip link set dev "$i" up
done
hl_check "netns: back in the initial namespace, with a carrier" hl_poll 20 hl_if_carrier "$if0"
hl_check "netns: rdma-transfer with the ports back" \
	diag hl-thunk rdma-transfer --port $port --size 64K

# Ethernet on the same port while RDMA runs: each interface in a VRF of
# its own (RDMA needs both in this namespace), pings and a TCP transfer
# while rdma-transfer loops over the link (slowed so that it lasts), which
# then completes byte for byte.
vrf_up() {
	ip link add "$1" type vrf table "$2" &&
		ip link set dev "$1" up &&
		ip link set dev "$3" master "$1" &&
		ip address add "$(hl_addr 0 "$4")/24" dev "$3" &&
		ip link set dev "$3" up
}
vrf_down() {
	ip address flush dev "$2"
	ip link set dev "$2" nomaster
	ip link del "$1"
}
hl_check "ethernet: $if0 and $if1 each in a VRF, up" \
	eval 'vrf_up hlvrfa 101 "$if0" 1 && vrf_up hlvrfb 102 "$if1" 2'
hl_check "ethernet: carrier at $if0" hl_poll 20 hl_if_carrier "$if0"
hl_link_rate "$dev0" $port 200
hl-thunk rdma-transfer --port $port --size 64M --iterations 20 > "$tmp.bg" 2>&1 &
pid=$!
hl_check "ethernet: an RDMA transfer is on the link" hl_poll 60 nic_busy "$dev0"
dd if=/dev/urandom of="$tmp.data" bs=1024 count=1024 2> /dev/null
hl_check "ethernet: the TCP payload is 1 MiB" [ "$(wc -c < "$tmp.data")" -eq 1048576 ]
hl_check "ethernet: ping device 0 -> 1 during RDMA" hl_ping vrf:hlvrfa "$(hl_addr 0 2)"
hl_check "ethernet: ping device 1 -> 0 during RDMA" hl_ping vrf:hlvrfb "$(hl_addr 0 1)"
hl_check "ethernet: 1 MiB over TCP during RDMA, sha256 equal" \
	hl_tcp_xfer vrf:hlvrfa vrf:hlvrfb "$(hl_addr 0 2)" "$tmp.data"
hl_check "ethernet: RDMA still running meanwhile" kill -0 $pid
hl_link_rate "$dev0" $port 0
wait $pid
rc=$?
sed 's/^/# /' "$tmp.bg"
hl_check "ethernet: the RDMA transfers were exact (exit status $rc)" [ $rc = 0 ]
vrf_down hlvrfa "$if0"
vrf_down hlvrfb "$if1"

for i in $if0 $if1; do
	ip link set dev "$i" down
done
rm -f "$tmp".*
hl_exit
