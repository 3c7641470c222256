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
# (busybox devmem). Offsets and bits are those of regs.sh, generated from
# the device model's register map (tools/hlsim-regs, after
# Documentation/accel/habanalabs/device-model.rst).

HL_DRV=/sys/bus/pci/drivers/habanalabs
HL_PCI=/sys/bus/pci/devices
HL_MODULE=${HL_MODULE:-/lib/modules/habanalabs.ko}
HL_TEST=${0##*/}
# tools/vm/run.sh gives the VM this many model devices.
HL_NUM_DEVICES=${HL_NUM_DEVICES:-2}

# Registers and their values: HL_REG_*, HL_CTL_*, HL_PORT_*, ...
. ./regs.sh

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

# hl_merge CMD [ARG...]: CMD's TAP results, as they come, as this test's
# under CMD's name, and its diagnostics; CMD failing without a failed
# result fails too.
hl_merge() {
	_nfail0=$hl_nfail _fifo=/tmp/hl-merge.$$
	rm -f "$_fifo"
	mkfifo "$_fifo"
	"$@" > "$_fifo" 2>&1 &
	_pid=$!
	while IFS= read -r _line; do
		case $_line in
		"ok "*) hl_pass "$1: ${_line#ok [0-9]* }" ;;
		"not ok "*) hl_fail "$1: ${_line#not ok [0-9]* }" ;;
		"#"*) echo "$_line" ;;
		esac
	done < "$_fifo"
	wait $_pid
	_rc=$?
	rm -f "$_fifo"
	[ $_rc = 0 ] || [ $hl_nfail != $_nfail0 ] || hl_fail "$1: exit status $_rc"
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
		[ "$(hl_rd "$1" $HL_REG_MAGIC)" -eq $((HL_MAGIC_HLSM)) ] &&
		[ $(($(hl_rd "$1" $HL_REG_VERSION) >> 16)) -eq $HL_VERSION_MAJOR ]
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

# hl_check_nodes: one result, a compute node /dev/hlN per device; sets
# HL_NODES to them.
hl_check_nodes() {
	set -- $HL_DEVS
	_ndevs=$#
	set -- /dev/hl[0-9]*
	[ -e "$1" ] || set --
	HL_NODES="$*"
	hl_check "a compute node per device ($# for $_ndevs)" [ $# -eq $_ndevs ]
}

# hl_hugepages N: one result, a pool of at least N huge pages of 2 MiB
# for MAP_HUGETLB buffers (the kernel reserves none by default); the pool's
# size before is in hl_hugepages_was, for hl_hugepages_restore.
hl_hugepages() {
	_pool=/proc/sys/vm/nr_hugepages
	hl_hugepages_was=$(cat $_pool)
	[ "$hl_hugepages_was" -ge "$1" ] || echo "$1" > $_pool
	hl_check "a pool of $1 huge pages of 2 MiB (MAP_HUGETLB)" [ "$(cat $_pool)" -ge "$1" ]
}

hl_hugepages_restore() { echo "$hl_hugepages_was" > /proc/sys/vm/nr_hugepages; }

# --- The driver --------------------------------------------------------

hl_loaded() { [ -d /sys/module/habanalabs ]; }

hl_load() { hl_loaded || insmod "$HL_MODULE"; }

# hl_dev_pci N: the PCI address of /dev/hlN.
hl_dev_pci() { hl-thunk info -d "$1" | sed -n 's/^pci: *//p'; }

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

# --- Waiting ---------------------------------------------------------------

# hl_uptime: whole seconds since boot.
hl_uptime() {
	read -r _up _ < /proc/uptime
	echo "${_up%.*}"
}

# hl_poll SECONDS CMD [ARG...]: runs CMD every 50 ms until it succeeds, for
# at most SECONDS; fails if it never did.
hl_poll() {
	_poll_end=$(($(hl_uptime) + $1))
	shift
	until "$@"; do
		[ "$(hl_uptime)" -lt $_poll_end ] || return 1
		sleep 0.05
	done
}

# --- NIC ports -------------------------------------------------------------
#
# A bound device with the NIC capability has an auxiliary device,
# habanalabs.eth.N, under its PCI device, and under that a netdev per port.
# Tests find the ports through sysfs, never by name. hl_nic_setup lists the
# wired pairs, port p of device 2k with port p of device 2k + 1. With
# HL_NET_PAIRS="A:B C:D" (run.sh passes it on from the host) the tests use
# those interfaces instead, with HL_NET_PAIRS=veth ten veth pairs, so that
# they can be tried without the driver.

HL_AUX=/sys/bus/auxiliary/devices
HL_NET_PAIRS=${HL_NET_PAIRS:-}
HL_PAIRS=
HL_NIC_FAULTS=0

hl_has_nic() { [ $(($(hl_rd "$1" $HL_REG_CAPS) & HL_CAPS_NIC)) -ne 0 ]; }

# hl_port_count DEV: the ports PORT_MASK shows.
hl_port_count() {
	_mask=$(hl_rd "$1" $HL_REG_PORT_MASK) _n=0
	while [ "$_mask" -ne 0 ]; do
		_n=$((_n + (_mask & 1))) _mask=$((_mask >> 1))
	done
	echo $_n
}

# hl_mac DEV PORT: the port's MAC address, from the identity registers.
hl_mac() {
	_lo=$(hl_rd "$1" $((HL_REG_MAC_LO + HL_REG_MAC_STRIDE * $2)))
	_hi=$(hl_rd "$1" $((HL_REG_MAC_HI + HL_REG_MAC_STRIDE * $2)))
	printf '%02x:%02x:%02x:%02x:%02x:%02x\n' $((_lo & 255)) $((_lo >> 8 & 255)) \
		$((_lo >> 16 & 255)) $((_lo >> 24 & 255)) $((_hi & 255)) $((_hi >> 8 & 255))
}

# hl_eth_aux DEV: the sysfs directory of DEV's auxiliary Ethernet device.
hl_eth_aux() {
	for _a in "$HL_AUX"/habanalabs.eth.*; do
		[ -e "$_a" ] || continue
		_a=$(readlink -f "$_a")
		[ "${_a%/*}" = "$(readlink -f "$HL_PCI/$1")" ] && echo "$_a"
	done
}

# hl_ports DEV: "PORT IFNAME" for each netdev of DEV in this namespace, by
# port.
hl_ports() {
	_a=$(hl_eth_aux "$1")
	[ -n "$_a" ] || return 0
	for _i in "$_a"/net/*; do
		[ -e "$_i/dev_port" ] && echo "$(cat "$_i/dev_port") ${_i##*/}"
	done | sort -n
}

hl_all_ports_here() {
	[ "$(hl_ports "$1" | wc -l)" -eq "$(hl_port_count "$1")" ]
}

# hl_port_if DEV PORT: the netdev of DEV's port PORT.
hl_port_if() { hl_ports "$1" | awk -v p="$2" '$1 == p { print $2 }'; }

# hl_if_port IF: "DEV PORT" of a habanalabs netdev in this namespace.
hl_if_port() {
	_a=$(readlink -f "/sys/class/net/$1/device") || return 1
	_a=${_a%/*}
	echo "${_a##*/} $(cat "/sys/class/net/$1/dev_port")"
}

# hl_port_fault DEV PORT BITS: sets the port's PORT_FAULTS.
hl_port_fault() {
	HL_NIC_FAULTS=1
	hl_wr "$1" $((HL_CTL_PORT_FAULTS + HL_CTL_PORT_FAULTS_STRIDE * $2)) "$3"
}

# hl_link_rate DEV PORT MBPS: the port's LINK_RATE (0: unlimited).
hl_link_rate() {
	HL_NIC_FAULTS=1
	hl_wr "$1" $((HL_CTL_LINK_RATE + HL_CTL_LINK_RATE_STRIDE * $2)) "$3"
}

# hl_port_rd DEV PORT REG: register REG of DEV's port PORT.
hl_port_rd() { hl_rd "$1" $((HL_PORT_BLOCKS + HL_PORT_SIZE * $2 + $3)); }

# hl_port_counter DEV PORT I: the port's 64-bit counter I.
hl_port_counter() {
	hl_rd64 "$1" $((HL_PORT_BLOCKS + HL_PORT_SIZE * $2 + HL_PORT_COUNTERS +
		HL_PORT_COUNTER_STRIDE * $3))
}

# hl_nic_setup: sets HL_PAIRS, an "IFA IFB" line per pair of wired ports,
# with two TAP results per device: it has the NIC capability, and all its
# ports show up in this namespace within 20 s (the netdevs of a deleted
# namespace come back in the background). Fails if there is no pair.
hl_nic_setup() {
	HL_PAIRS=
	case $HL_NET_PAIRS in
	veth)
		for _p in 0 1 2 3 4 5 6 7 8 9; do
			ip link show dev hlva$_p > /dev/null 2>&1 ||
				ip link add hlva$_p type veth peer name hlvb$_p || return 1
			HL_PAIRS="$HL_PAIRS
hlva$_p hlvb$_p"
		done
		;;
	?*)
		for _p in $HL_NET_PAIRS; do
			HL_PAIRS="$HL_PAIRS
${_p%%:*} ${_p#*:}"
		done
		;;
	*)
		set -- $HL_DEVS
		while [ $# -ge 2 ]; do
			for _d in "$1" "$2"; do
				hl_check "$_d: NIC capability" hl_has_nic "$_d"
				hl_check "$_d: $(hl_port_count "$_d") ports" \
					hl_poll 20 hl_all_ports_here "$_d"
			done
			for _p in $(hl_ports "$1" | cut -d' ' -f1); do
				_a=$(hl_port_if "$1" "$_p") _b=$(hl_port_if "$2" "$_p")
				[ -n "$_b" ] && HL_PAIRS="$HL_PAIRS
$_a $_b"
			done
			shift 2
		done
		;;
	esac
	HL_PAIRS=${HL_PAIRS#?}
	hl_diag "port pairs: $(echo $HL_PAIRS)"
	[ -n "$HL_PAIRS" ]
}

# hl_addr I HOST, hl_addr6 I HOST: pair I's address of HOST (1 or 2), from
# the benchmarking range (RFC 2544) and the documentation prefix.
hl_addr() { echo "198.18.$1.$2"; }
hl_addr6() { echo "2001:db8:$1::$2"; }

# hl_pair_up I IFA IFB: IFA into namespace hla<I> as host 1, IFB into hlb<I>
# as host 2, both up.
hl_pair_up() {
	ip -batch - <<-EOF &&
	netns add hla$1
	netns add hlb$1
	link set dev $2 netns hla$1
	link set dev $3 netns hlb$1
	EOF
		hl_host_up "hla$1" "$2" "$1" 1 && hl_host_up "hlb$1" "$3" "$1" 2
}

# hl_host_up NS IF I HOST
hl_host_up() {
	ip -n "$1" -batch - <<-EOF
	link set dev lo up
	address add $(hl_addr "$3" "$4")/24 dev $2
	address add $(hl_addr6 "$3" "$4")/64 dev $2 nodad
	link set dev $2 up
	EOF
}

# hl_pair_down I IFA IFB: IFA and IFB back from pair I's namespaces into
# this one at MTU 1500, the namespaces deleted.
hl_pair_down() {
	ip -n "hla$1" link set dev "$2" netns 1 mtu 1500 &&
		ip -n "hlb$1" link set dev "$3" netns 1 mtu 1500 &&
		hl_ns_del "hla$1" && hl_ns_del "hlb$1"
}

# hl_ns_del NS: NS's processes killed, its Ethernet interfaces that may
# leave back in this namespace at MTU 1500, NS deleted.
hl_ns_del() {
	kill -9 $(ip netns pids "$1") 2> /dev/null
	for _i in $(ip -n "$1" -o link show | grep link/ether |
		awk -F': ' '{ sub("@.*", "", $2); print $2 }'); do
		ip -n "$1" link set dev "$_i" netns 1 mtu 1500 2> /dev/null
	done
	ip netns del "$1"
}

# hl_carrier NS IF: the interface has a carrier; hl_no_carrier: it has not
# and its operstate is DOWN; hl_if_carrier IF: IF, in this namespace, has a
# carrier.
hl_carrier() { ip -n "$1" -o link show dev "$2" | grep -q 'LOWER_UP'; }
hl_if_carrier() { ip -o link show dev "$1" | grep -q 'LOWER_UP'; }
hl_no_carrier() {
	ip -n "$1" -o link show dev "$2" | grep 'NO-CARRIER' | grep -q ' state DOWN '
}

# hl_in NS: the ip subcommand that runs a command in network namespace NS,
# or for NS vrf:V in VRF V of this namespace: ip $(hl_in NS) CMD [ARG...].
hl_in() {
	case $1 in
	vrf:*) echo "vrf exec ${1#vrf:}" ;;
	*) echo "netns exec $1" ;;
	esac
}

# hl_ping NS ADDR [ARG...]: a ping from NS (see hl_in) gets its answer.
hl_ping() {
	_ns=$1 _to=$2
	shift 2
	ip $(hl_in "$_ns") ping -q -c 1 -W 5 "$@" "$_to" > /dev/null
}

# hl_same_payload A B: files A and B hold the same bytes, and they are not
# empty (two empty files hash alike, which proves nothing).
hl_same_payload() {
	if [ ! -s "$1" ] || [ ! -s "$2" ]; then
		hl_diag "empty payload: $1 $(wc -c < "$1" 2>&1) bytes, $2 $(wc -c < "$2" 2>&1) bytes"
		return 1
	fi
	set -- $(sha256sum "$1" "$2")
	[ "$1" = "$3" ]
}

# hl_tcp_xfer FROM TO ADDR FILE: sends FILE with socat over TCP from
# namespace FROM to ADDR in namespace TO (see hl_in); succeeds if what arrived has
# FILE's sha256. Either side gives up after 60 s without progress. An
# empty FILE is refused before anything is sent.
hl_tcp_xfer() {
	if [ ! -s "$4" ]; then
		hl_diag "hl_tcp_xfer: refusing the empty payload $4"
		return 1
	fi
	case $3 in
	*:*) _listen=TCP6-LISTEN _conn="TCP6:[$3]" ;;
	*) _listen=TCP4-LISTEN _conn="TCP4:$3" ;;
	esac
	_rx=/tmp/hl-rx.$$
	rm -f "$_rx"
	ip $(hl_in "$2") socat -T 60 -u "$_listen:7000,reuseaddr" "OPEN:$_rx,creat,trunc" &
	_rx_pid=$!
	if ! ip $(hl_in "$1") socat -T 60 -u "OPEN:$4" "$_conn:7000,retry=100,interval=0.1"; then
		kill "$_rx_pid"
		wait "$_rx_pid"
		return 1
	fi
	wait "$_rx_pid" || return 1
	hl_same_payload "$4" "$_rx"
	set -- $? "$_rx"
	rm -f "$2"
	return "$1"
}

# hl_feature NS IF NAME: the state (on/off) ethtool -k shows for NAME.
hl_feature() {
	ip netns exec "$1" ethtool -k "$2" | awk -v n="$3:" '$1 == n { print $2 }'
}

# hl_if_stat NS IF NAME: the netdev statistic NAME.
hl_if_stat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

# hl_csum_errors NS: the TCP checksum errors the namespace counted.
hl_csum_errors() {
	ip netns exec "$1" cat /proc/net/snmp |
		awk '$1 == "Tcp:" && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
			$1 == "Tcp:" { print $c["InCsumErrors"] }'
}

# hl_segmented NS IF DEV PORT ADDR TO FILE: FILE over TCP from NS to ADDR
# in namespace TO arrives intact, and DEV's port PORT sent more frames than
# the stack gave IF (the device segmented them).
hl_segmented() {
	_skbs=$(hl_if_stat "$1" "$2" tx_packets) _frames=$(hl_port_counter "$3" "$4" 0)
	hl_tcp_xfer "$1" "$6" "$5" "$7" || return 1
	_skbs=$(($(hl_if_stat "$1" "$2" tx_packets) - _skbs))
	_frames=$(($(hl_port_counter "$3" "$4" 0) - _frames))
	hl_diag "$2: $_skbs buffers from the stack, $_frames frames sent"
	[ "$_skbs" -gt 0 ] && [ "$_frames" -gt $((_skbs + _skbs / 2)) ]
}

hl_nic_cleanup() {
	for _ns in $(ip netns list | cut -d' ' -f1); do
		case $_ns in
		hl*) hl_ns_del "$_ns" || hl_diag "cleanup: cannot delete netns $_ns" ;;
		esac
	done
	if [ "$HL_NET_PAIRS" = veth ]; then
		for _p in 0 1 2 3 4 5 6 7 8 9; do
			ip link del "hlva$_p" 2> /dev/null
		done
	fi
	[ $HL_NIC_FAULTS = 0 ] && return
	for _d in $HL_DEVS; do
		for _p in 0 1 2 3 4 5 6 7 8 9; do
			hl_wr "$_d" $((HL_CTL_PORT_FAULTS + HL_CTL_PORT_FAULTS_STRIDE * _p)) 0
			hl_wr "$_d" $((HL_CTL_LINK_RATE + HL_CTL_LINK_RATE_STRIDE * _p)) 0
		done
	done
}

# --- The kernel's selftests -----------------------------------------------
#
# tools/vm/initramfs.sh puts those nic_upstream*.sh run, from the 6.12 tree,
# in /usr/src/linux as laid out there.

HL_KSFT=/usr/src/linux/tools/testing/selftests
HL_KSFT_OUT=/tmp/hl-ksft.out

# hl_ksft_report NAME RC START: the cases NAME wrote to $HL_KSFT_OUT (KTAP
# from the python tests, "TEST: ... [ OK ]" from the shell ones) as TAP
# lines with their SKIP or XFAIL reasons; RC is its exit status,
# kselftest's (0 pass, 2 xfail, 4 skip, others fail), START when it started
# (hl_uptime). A case failing, or NAME failing before it reported any case,
# is a failure, and then its output follows as diagnostics.
hl_ksft_report() {
	hl_diag "$1: exit status $2 after $(($(hl_uptime) - $3)) s"
	_cases=$(sed -n -E \
		-e 's/^(not )?ok [0-9]+ ([^ ]+)( # (SKIP|XFAIL) ?(.*))?$/\1\4|\2|\5/p' \
		-e 's/^TEST: (.*[^ ]) +\[ ?(OK|FAIL|SKIP|XFAIL) ?\]$/\2|\1|/p' "$HL_KSFT_OUT" |
		sed -E 's/^(not |FAIL)\|/fail|/; s/^OK\|SKIP: /skip|/; s/^(OK)?\|/pass|/
			s/^(not )?SKIP\|/skip|/; s/^(not )?XFAIL\|/xfail|/')
	_nfail0=$hl_nfail _n=0 _known=0
	while IFS='|' read -r _res _case _why <&3; do
		[ -n "$_res" ] || continue
		_n=$((_n + 1))
		case $_res in
		pass) hl_pass "$1: $_case" ;;
		skip) hl_pass "$1: $_case # SKIP${_why:+ $_why}" ;;
		xfail) hl_pass "$1: $_case # XFAIL${_why:+ $_why}" ;;
		*)
			_why=$(hl_ksft_known "$_case")
			if [ -n "$_why" ]; then
				_known=$((_known + 1))
				hl_pass "$1: $_case # XFAIL $_why"
			else
				hl_fail "$1: $_case"
			fi ;;
		esac
	done 3<<EOF
$_cases
EOF
	if [ $_n = 0 ] && [ "$2" = 4 ]; then
		hl_pass "$1 # SKIP $(grep -m 1 SKIP "$HL_KSFT_OUT")"
	elif [ $_n = 0 ] || { [ "$2" != 0 ] && [ "$2" != 2 ] && [ "$2" != 4 ] &&
			[ $hl_nfail = $_nfail0 ] && [ $_known = 0 ]; }; then
		hl_fail "$1: ran and reported its cases (exit status $2, $_n cases)"
	fi
	[ $hl_nfail = $_nfail0 ] || sed 's/^/# /' "$HL_KSFT_OUT"
}

# hl_ksft_known CASE: why upstream CASE fails by design on these ports, if
# it does; such a case is reported as XFAIL.
hl_ksft_known() {
	case $1 in
	"force speed "*" vs. autoneg")
		echo "100GBASE-CR ports autonegotiate by clause 73: a forced end and an" \
			"autonegotiating end never link (device-model.rst, Link); the" \
			"script expects BASE-T parallel detection" ;;
	esac
}

# --- Set-up and clean-up ---------------------------------------------------

hl_cleanup() {
	hl_nic_cleanup
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
