#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A port's interrupts exist while its netdev does (ethernet.rst, Probe
# order). A sampler checks, every few milliseconds, that each port of the
# first device visible in sysfs has its four interrupts (one per RX queue,
# among the device's MSI-X vectors in /proc/interrupts) while:
# - the device unbinds with every port up: each port is stopped while it is
#   unregistered, which takes a while, and the interrupts must still be
#   there (the old order freed them first, for that while);
# - it binds again with a udev-like watcher (ip monitor link) bringing up
#   each port the moment it shows: every "ip link set up" must succeed.
# Then pair 0 passes traffic, its port having come up that way.
. ./lib.sh

set -- $HL_DEVS
dev=$1
hl_has_nic "$dev" || hl_skip "$dev has no NIC"
tmp=/tmp/nic_up_at_bind.$$
nports=$(hl_port_count "$dev")
# The interrupts of a port: one per RX queue (ethernet.rst, Interrupts).
per_port=4

# The sampler: counts the samples, and those where a port showed without
# all its interrupts, until $tmp.stop exists.
python3 - "$dev" "$per_port" "$tmp" > $tmp.sampler 2>&1 <<'EOF' &
import glob, os, sys, time
dev, per_port, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pci = "/sys/bus/pci/devices/" + dev
samples = bad = most = 0
while not os.path.exists(tmp + ".stop"):
    # The ports first: their interrupts were requested before them.
    ports = len(glob.glob(pci + "/habanalabs.eth.*/net/*"))
    try:
        vectors = set(os.listdir(pci + "/msi_irqs"))
    except OSError:
        vectors = set()
    irqs = 0
    with open("/proc/interrupts") as f:
        for line in f:
            irq = line.split(":", 1)[0].strip()
            if irq in vectors and line.rstrip().endswith("habanalabs-eth"):
                irqs += 1
    samples += 1
    most = max(most, ports)
    if irqs < per_port * ports:
        bad += 1
        if bad <= 5:
            print("# %d ports, %d interrupts" % (ports, irqs), flush=True)
    # Leaves the other vCPU to the driver. A port being stopped stays
    # registered for far longer than this.
    time.sleep(0.005)
print("samples %d bad %d most %d" % (samples, bad, most), flush=True)
EOF
sampler=$!

ports_up() {
	[ "$(hl_ports "$dev" | wc -l)" -eq "$nports" ] || return 1
	for _i in $(hl_ports "$dev" | cut -d' ' -f2); do
		ip -o link show dev "$_i" | grep -q '[<,]UP[,>]' || return 1
	done
}

fails=0
for i in $(hl_ports "$dev" | cut -d' ' -f2); do
	ip link set dev "$i" up || fails=$((fails + 1))
done
hl_check "$nports ports up before the unbind" [ $fails = 0 ]
hl_check "unbind with the ports up" hl_unbind "$dev"

# The watcher: brings up each port of $dev that shows down, from the bind
# on. lib.sh's ip is a shell function, which a background job would run in
# a subshell of its own: $! would be that subshell, and killing it would
# leave ip holding the fifo open, the watcher waiting for ever. exec makes
# $! the monitor itself.
mkfifo $tmp.fifo
(exec /usr/sbin/ip -o monitor link) > $tmp.fifo 2>&1 &
monitor=$!
: > $tmp.ups
: > $tmp.seen
while read -r idx name rest; do
	name=${name%:}
	name=${name%@*}
	echo "$name" >> $tmp.seen
	case $idx in Deleted) continue ;; esac
	case $rest in *[\<,]UP[,\>]*) continue ;; esac
	a=$(readlink -f "/sys/class/net/$name/device" 2> /dev/null) || continue
	[ "${a%/*}" = "$(readlink -f "$HL_PCI/$dev")" ] || continue
	if ip link set dev "$name" up 2>> $tmp.ups; then
		echo "up $name" >> $tmp.ups
	else
		echo "failed $name" >> $tmp.ups
	fi
done < $tmp.fifo &
watcher=$!
# The monitor listens once the watcher sees a link of ours change (its MTU,
# until then).
mtu=1280
seen() {
	mtu=$((mtu + 1))
	ip link set dev hlupbind0 mtu $mtu
	grep -qx hlupbind0 $tmp.seen
}
ip link add hlupbind0 type veth peer name hlupbind1 &&
	hl_check "the watcher listens" hl_poll 20 seen
ip link del hlupbind0

hl_check "bind" hl_bind "$dev"
hl_check "every port brought up as it showed" hl_poll 60 ports_up

touch $tmp.stop
wait $sampler
# The watcher ends with the monitor's output.
kill $monitor
# (The shell reports the monitor terminated.)
wait $monitor $watcher 2> /dev/null

grep -h '^#' $tmp.sampler
hl_diag "$(grep -c '^up' $tmp.ups) ip link set up, $(grep -c -v '^up' $tmp.ups) failed"
hl_check "the watcher brought the ports up" [ "$(grep -c '^up' $tmp.ups)" -ge "$nports" ]
hl_check "no ip link set up failed" [ "$(grep -c -v '^up' $tmp.ups)" = 0 ]
set -- $(sed -n 's/^samples \([0-9]*\) bad \([0-9]*\) most \([0-9]*\)$/\1 \2 \3/p' $tmp.sampler)
hl_check "the sampler saw the ports ($1 samples, up to $3 ports)" [ "${3:-0}" -eq "$nports" ]
hl_check "no port showed without its interrupts ($2 samples of $1 did)" [ "${2:-1}" = 0 ]

# Traffic over pair 0, which the watcher brought up.
hl_nic_setup || hl_exit
set -- $(echo "$HL_PAIRS" | head -n 1)
hl_check "$1 and $2 up in namespaces" hl_pair_up 0 "$1" "$2"
hl_check "$1 has a carrier" hl_poll 30 hl_carrier hla0 "$1"
hl_check "ping over pair 0" hl_poll 20 hl_ping hla0 "$(hl_addr 0 2)"
hl_pair_down 0 "$1" "$2"
# The device's other ports go down as they were.
for i in $(hl_ports "$dev" | cut -d' ' -f2); do
	ip link set dev "$i" down
done
rm -f $tmp.*
hl_exit
