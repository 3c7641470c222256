#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A port whose bring-up fails for want of memory: one process asks by
# rtnetlink for A up, then for an MTU change of A while up (the driver
# takes the rings down and up around it), with the N-th slab or page
# allocation the kernel makes for the request failed
# (/proc/thread-self/fail-nth with failslab and fail_page_alloc), N from
# 1 up, until the driver reports that the port could not come up with
# ENOMEM. After the failed MTU change the interface is still up but its
# port is down: setting it down must return (a second napi_disable would
# spin forever under RTNL), and up again the pair passes traffic both
# ways.
. ./lib.sh

dbg=/sys/kernel/debug
payload=/tmp/$HL_TEST.$$.bin

if [ ! -d $dbg/failslab ] || [ ! -d $dbg/fail_page_alloc ] ||
	[ ! -e /proc/thread-self/fail-nth ]; then
	hl_skip "no failslab, fail_page_alloc or fail-nth (CONFIG_FAULT_INJECTION_DEBUG_FS)"
fi

# inject_setup, inject_off: fail-nth may fail sleeping allocations too;
# order 0 pages stay (min-order 1 is the default), and so do user pages
# (ignore-gfp-highmem).
inject_setup() {
	for f in failslab fail_page_alloc; do
		echo N > $dbg/$f/ignore-gfp-wait
		echo 1 > $dbg/$f/verbose
	done
}
inject_off() {
	for f in failslab fail_page_alloc; do
		echo Y > $dbg/$f/ignore-gfp-wait
	done
}

# nth_sweep NS IF OP FROM TO: in namespace NS, one process sets IF up (OP
# "up") or its MTU to 1400 (OP "mtu"), by rtnetlink, failing the N-th
# allocation the kernel makes for it (/proc/thread-self/fail-nth) for N
# from FROM to TO, undoing each try that worked, until one answers ENOMEM:
# prints that N and succeeds. Fails, printing "none N", when the request
# made fewer than N allocations (no later N can fail it) or at TO.
nth_sweep() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" <<'EOF'
import errno, socket, struct, sys

ifname, op, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
IFF_UP, IFLA_MTU, RTM_NEWLINK, NLMSG_ERROR = 1, 4, 16, 2
index = socket.if_nametoindex(ifname)
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
NTH = "/proc/thread-self/fail-nth"
seq = 0


def newlink(up, mtu=None):
    """An RTM_NEWLINK request for IF, with its flags and maybe its MTU."""
    global seq
    seq += 1
    attrs = struct.pack("=HHI", 8, IFLA_MTU, mtu) if mtu else b""
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP)
    # NLM_F_REQUEST | NLM_F_ACK
    return struct.pack("=IHHII", 16 + len(body) + len(attrs), RTM_NEWLINK, 5, seq, 0) + body + attrs


def ask(msg):
    """Sends msg; its errno from the acknowledgement (0 if it worked)."""
    try:
        sock.send(msg)
        while True:
            data = sock.recv(65536)
            _, kind, _, ack_seq, _ = struct.unpack_from("=IHHII", data)
            if kind == NLMSG_ERROR and ack_seq == seq:
                return -struct.unpack_from("=i", data, 16)[0]
    except OSError as e:
        return e.errno


def set_nth(n):
    # Not seekable: a file opened for each access.
    with open(NTH, "w") as f:
        f.write(str(n))


def left():
    with open(NTH) as f:
        return int(f.read())


for n in range(first, last + 1):
    msg = newlink(True, 1400 if op == "mtu" else None)
    set_nth(n)
    err = ask(msg)
    remaining = left()
    set_nth(0)
    if remaining:
        print("none", n)
        sys.exit(1)
    if err == errno.ENOMEM:
        print(n)
        sys.exit(0)
    # Undone without injection: down again, or back to 1500 and up.
    ask(newlink(False) if op == "up" else newlink(True, 1500))
print("none", last)
sys.exit(1)
EOF
}

# sweep DESC WHAT OP: nth_sweep of A's OP from N = 1, until a try fails
# with ENOMEM and the driver logged WHAT (a failure elsewhere, e.g. the
# request's own buffer, goes on to the next N).
sweep() {
	_n=1
	while _n=$(nth_sweep hla0 "$a" "$3" $_n 2000); do
		if hl_log | grep -q "$2: -12"; then
			hl_diag "$1: ENOMEM at the kernel's allocation $_n for the request"
			hl_pass "$1: failed with ENOMEM"
			return 0
		fi
		_n=$((_n + 1))
	done
	hl_fail "$1: failed with ENOMEM (the driver did not, up to allocation ${_n#none })"
	return 1
}

# down_returns NS IF: "ip link set down" returns within 20 s.
down_returns() {
	ip -n "$1" link set dev "$2" down &
	_pid=$!
	if hl_poll 20 sh -c "! kill -0 $_pid 2> /dev/null"; then
		wait $_pid
		return
	fi
	hl_diag "ip link set dev $2 down still runs after 20 s"
	return 1
}

# traffic DESC: pings both ways and a payload over TCP on pair 0.
traffic() {
	hl_check "$1: carrier at A" hl_poll 20 hl_carrier hla0 "$a"
	hl_check "$1: carrier at B" hl_poll 20 hl_carrier hlb0 "$b"
	hl_check "$1: ping B from A" hl_ping hla0 "$(hl_addr 0 2)"
	hl_check "$1: ping A from B" hl_ping hlb0 "$(hl_addr 0 1)"
	hl_check "$1: payload A to B over TCP" hl_tcp_xfer hla0 hlb0 "$(hl_addr 0 2)" $payload
}

hl_nic_setup || hl_fail "wired port pairs"
[ -n "$HL_PAIRS" ] || hl_exit
read -r a b <<EOF
$HL_PAIRS
EOF
dd if=/dev/urandom of=$payload bs=1024 count=512 2> /dev/null
hl_check "pair 0 ($a, $b): each end in a namespace, up" hl_pair_up 0 "$a" "$b"
traffic "before"
inject_setup

# Bring-up: ndo_open fails and the interface stays down.
ip -n hla0 link set dev "$a" down
hl_mark
sweep "ip link set dev $a up under injection" "cannot come up" up
hl_check "$a: down after the failed up" hl_not hl_carrier hla0 "$a"
hl_check "$a: ip link set down returns" down_returns hla0 "$a"
hl_check "$a: up again" ip -n hla0 link set dev "$a" up
traffic "after a failed up"

# An MTU change while up: the rings come down, and up fails.
hl_mark
sweep "MTU change of $a under injection" "restart failed" mtu
down_returns hla0 "$a"
rc=$?
hl_check "$a: ip link set down after the failed restart returns" [ $rc = 0 ]
if [ $rc != 0 ]; then
	# RTNL is held for good: the clean-up would block behind it.
	trap - EXIT
	hl_exit
fi
hl_check "$a: up again at MTU 1500" ip -n hla0 link set dev "$a" mtu 1500 up
traffic "after a failed restart"

inject_off
hl_check "pair 0: back in the initial namespace" hl_pair_down 0 "$a" "$b"
rm -f $payload
hl_exit
