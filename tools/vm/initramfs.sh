#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test VM's initramfs, build/vm/initramfs.cpio.gz:
#  - busybox (static) with a symlink per applet;
#  - Debian's ip, ethtool, dcb, devlink and sensors (with its
#    /etc/sensors3.conf) with their shared libraries and ld.so;
#  - habanalabs.ko as /lib/modules/$(uname -r)/extra/habanalabs.ko, with the
#    kernel's modules.builtin and depmod's indexes (modules.alias, ...), so
#    that modprobe finds it by name and by a device's modalias, and linked
#    from /lib/modules/habanalabs.ko, which the tests insmod;
#  - tools/vm/hotplug as /sbin/hotplug: loads the modules of an added
#    device's MODALIAS, for a uevent listener (busybox's uevent);
#  - hl-thunk (make tools): the hl-thunk CLI, hl-compute-tests,
#    hl-rdma-tests and hlthunk-c-smoke (tests/c_smoke.c, compiled here with
#    gcc against include/hlthunk.h) in /usr/bin, libhlthunk.so in /usr/lib
#    (with its soname link, libhlthunk.so.0);
#  - hl-uapi-conform in /usr/bin: the selftests' uapi_conform.c, compiled
#    here (static) against the system's <misc/habanalabs.h>, not ours;
#  - hl-ioctl-fuzz, hl-job, hl-uffd-pin and hl-buf-cap in /usr/bin: the
#    selftests' ioctl_fuzz.c, hl_job.c, uffd_pin.c and buf_cap.c, compiled
#    here (static) against our include/uapi;
#  - the selftests under /selftests/<collection>/ plus kselftest-list.txt,
#    kselftest-list-four.txt, kselftest-list-kunit.txt and
#    kselftest-list-by-hand.txt;
#  - tools/vm/init as /init;
#  - a symlink into /net for each file of build/vm/netroot;
# and build/vm/netroot, the network tests' userland, which run.sh shares
# with the guest over 9p and init mounts on /net (unpacking it with the
# initramfs would take a CPU for longer than RCU lets one go unscheduled,
# under TCG on a busy machine):
#  - Debian's tc, ping (iputils), socat, iperf3, jq, mausezahn, bash,
#    kmod (as modprobe, modinfo and depmod in /usr/sbin),
#    coreutils' timeout, env, date, readlink and comm (busybox's timeout
#    and env run its own applets for ip and ping; the kernel's scripts want
#    date +%N, readlink -e and comm) with their shared libraries;
#  - python3 with the part of its library and of PyYAML that the kernel's
#    python selftests import (found by importing their libraries here);
#  - the kernel's selftests nic_upstream.sh runs, with what they source and
#    import and ynl's specs, from the kernel tree to /usr/src/linux as laid
#    out there, and its uapi ethtool.h to /usr/include/linux (ethtool_lib.sh
#    reads it);
#  - if HL_THUNK_OPEN names the build directory of HabanaAI's hl-thunk-open
#    (cmake's, with bin/ and lib/), its test programs and libraries, with
#    libcmocka, in /opt/hl-thunk-open/{bin,lib}, for the by-hand
#    hl_thunk_open.sh; nothing of it otherwise.
# Both are rebuilt only when one of these inputs (or this script) changed.
# Prints the archive's path.
set -euo pipefail
. "$(dirname "$0")/../build/env.sh"

out=$HL_BUILD/vm/initramfs.cpio.gz
netroot=$HL_BUILD/vm/netroot
module=$HL_BUILD/module/habanalabs/habanalabs.ko
collection=drivers/accel/habanalabs
tests=$HL_TOP/tools/testing/selftests/$collection
busybox=/bin/busybox
bins=(/usr/sbin/ip /usr/sbin/ethtool /usr/sbin/dcb /usr/sbin/devlink /usr/bin/sensors)
net_bins=(/usr/sbin/tc /usr/bin/ping /usr/bin/socat /usr/bin/iperf3 /usr/bin/jq
	  /usr/sbin/mausezahn /usr/bin/bash /usr/bin/timeout /usr/bin/env
	  /usr/bin/date /usr/bin/readlink /usr/bin/comm /usr/bin/python3.11 /usr/bin/kmod)
# kmod's commands, each a link to it (busybox has applets of these names).
kmod_cmds=(modprobe modinfo depmod)

# needed_libs FILE...: the shared libraries and ld.so that FILEs load.
needed_libs() {
	ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' |
		sort -u
}
mapfile -t libs < <(needed_libs "${bins[@]}")

ksrc_files=()
ethtool_h=$HL_KSRC/include/uapi/linux/ethtool.h
py_files=()
if [ -e "$HL_KSRC/Makefile" ]; then
	ksrc_files=(tools/testing/selftests/drivers/net/{ping,stats,queues}.py
		    tools/testing/selftests/drivers/net/hw/{ethtool,ethtool_extended_state,ethtool_lib,ethtool_rmon,loopback}.sh
		    tools/testing/selftests/net/{lib,forwarding/lib,forwarding/tc_common}.sh
		    Documentation/netlink/specs/{ethtool,netdev,rt_link}.yaml)
	mapfile -t -O ${#ksrc_files[@]} ksrc_files < <(cd "$HL_KSRC" &&
		find tools/testing/selftests/{drivers/,}net/lib/py tools/net/ynl/lib \
			-maxdepth 1 -name '*.py' | sort)
	mapfile -t py_files < <(cd "$HL_KSRC/tools/testing/selftests/drivers/net" &&
		/usr/bin/python3.11 -I -c '
import os, sys, glob, errno, importlib.util, encodings.ascii, encodings.latin_1
sys.path.insert(0, ".")
import lib.py
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None) or ""
    if (f.startswith(("/usr/lib/python3.11/", "/usr/lib/python3/dist-packages/yaml/"))
            and not f.endswith("/sitecustomize.py")):
        print(f)
        if f.endswith(".py") and os.path.exists(importlib.util.cache_from_source(f)):
            print(importlib.util.cache_from_source(f))' | sort -u)
else
	hl_log "warning: no kernel tree in $HL_KSRC; the VM will not have the kernel's selftests"
fi
mapfile -t net_libs < <(needed_libs "${net_bins[@]}" $(printf '%s\n' "${py_files[@]}" | grep '\.so$'))

hlto_files=()
if [ -n "${HL_THUNK_OPEN:-}" ]; then
	[ -d "$HL_THUNK_OPEN/bin" ] && [ -d "$HL_THUNK_OPEN/lib" ] ||
		{ echo "HL_THUNK_OPEN=$HL_THUNK_OPEN has no bin/ and lib/" >&2; exit 1; }
	mapfile -t hlto_files < <(find "$HL_THUNK_OPEN/bin" "$HL_THUNK_OPEN/lib" \
		-maxdepth 1 -type f -perm -u+x | sort)
	mapfile -t -O ${#hlto_files[@]} hlto_files < <(needed_libs "${hlto_files[@]}" |
		grep -v "^$HL_THUNK_OPEN/")
fi

hl_thunk=$HL_TOP/tools/hl-thunk
hl_thunk_out=${CARGO_TARGET_DIR:-$HL_BUILD/target}/release
hl_thunk_lib=$hl_thunk_out/libhlthunk.so
hl_thunk_c=$HL_BUILD/vm/hlthunk-c-smoke
hl_thunk_bins=()
if [ -e "$hl_thunk_lib" ] && [ -e "$hl_thunk_out/hl-thunk" ] &&
   [ -e "$hl_thunk_out/hl-compute-tests" ] && [ -e "$hl_thunk_out/hl-rdma-tests" ]; then
	mkdir -p "$HL_BUILD/vm"
	gcc -std=c11 -O2 -Wall -Wextra -Werror -I"$hl_thunk/include" \
		-I"$HL_TOP/include/uapi" "$hl_thunk/tests/c_smoke.c" \
		-L"$hl_thunk_out" -lhlthunk -o "$hl_thunk_c"
	hl_thunk_bins=("$hl_thunk_out/hl-thunk" "$hl_thunk_out/hl-compute-tests"
		       "$hl_thunk_out/hl-rdma-tests" "$hl_thunk_c")
	mapfile -t libs < <(needed_libs "${bins[@]}" "${hl_thunk_bins[@]}" "$hl_thunk_lib")
else
	hl_log "warning: hl-thunk is not built (make tools); the VM will not have it"
fi

# The uAPI conformance program sees the system's header only: no -I to
# include/uapi.
conform=$HL_BUILD/vm/hl-uapi-conform
mkdir -p "$HL_BUILD/vm"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static "$tests/uapi_conform.c" -o "$conform"
# The ioctl fuzzer knows our header's HL_IOCTL_NIC too.
fuzz=$HL_BUILD/vm/hl-ioctl-fuzz
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -I"$HL_TOP/include/uapi" \
	"$tests/ioctl_fuzz.c" -o "$fuzz"
job=$HL_BUILD/vm/hl-job
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -I"$HL_TOP/include/uapi" \
	"$tests/hl_job.c" -o "$job"
uffd=$HL_BUILD/vm/hl-uffd-pin
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -I"$HL_TOP/include/uapi" \
	"$tests/uffd_pin.c" -o "$uffd"
bufcap=$HL_BUILD/vm/hl-buf-cap
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -I"$HL_TOP/include/uapi" \
	"$tests/buf_cap.c" -o "$bufcap"

krel=$(cat "$HL_KOUT/include/config/kernel.release")
kernel_modules=("$HL_KOUT/modules.builtin" "$HL_KOUT/modules.builtin.modinfo")
inputs=("$0" "$HL_TOP/tools/vm/init" "$HL_TOP/tools/vm/hotplug" "$busybox" "${bins[@]}")
inputs+=("${libs[@]}" "$HL_KOUT/include/config/kernel.release" "${kernel_modules[@]}")
inputs+=(/usr/include/misc/habanalabs.h "$HL_TOP/include/uapi/misc/habanalabs.h")
inputs+=("${net_bins[@]}" "${net_libs[@]}" "${py_files[@]}")
[ ${#ksrc_files[@]} = 0 ] || inputs+=("${ksrc_files[@]/#/$HL_KSRC/}" "$ethtool_h")
inputs+=("${hl_thunk_bins[@]}" "${hlto_files[@]}")
[ ${#hl_thunk_bins[@]} = 0 ] || inputs+=("$hl_thunk_lib")
mapfile -t -O ${#inputs[@]} inputs < <(find "$tests" -type f | sort)
if [ -e "$module" ]; then
	inputs+=("$module")
else
	hl_log "warning: $module is missing; the VM will have no driver"
fi

mkdir -p "$HL_BUILD/vm"
stamp=$(sha256sum "${inputs[@]}" | sha256sum | cut -c1-16)
if [ -e "$out" ] && [ -d "$netroot" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi

hl_log "building $out and $netroot"
stage=$(mktemp -d "$HL_BUILD/vm/initramfs.XXXXXX")
trap 'rm -rf "$stage" "$stage.cpio.gz"' EXIT
net=$stage/netroot root=$stage/root

# copy_libs DIR LIB...: LIBs into DIR at their paths, under their real file
# names (ip reads libbpf's version from it) and linked from their own.
copy_libs() {
	local dir=$1 lib real
	shift
	for lib; do
		real=$(readlink -f "$lib")
		mkdir -p "$dir${lib%/*}"
		cp "$real" "$dir${lib%/*}/"
		[ "${real##*/}" = "${lib##*/}" ] || ln -s "${real##*/}" "$dir$lib"
	done
}

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,dev,proc,sys,tmp,root,etc,net,run,var}
ln -s ../run "$root/var/run"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ "$applet" = bin/busybox ] || ln -s /bin/busybox "$root/$applet"
done
# Debian's tools replace busybox's applets of the same name.
for bin in "${bins[@]}" "${net_bins[@]}"; do
	rm -f "$root"/{bin,sbin,usr/bin,usr/sbin}/"${bin##*/}"
done
cp --parents "${bins[@]}" "$root/"
copy_libs "$root" "${libs[@]}"
ln -s /usr/bin/bash "$root/bin/bash"
# sensors reads its chip configuration from here.
cp /etc/sensors3.conf "$root/etc/"
# busybox sh runs its applets before searching PATH: a function makes the
# interactive shell run Debian's tool instead of the applet of that name.
for bin in "${bins[@]}" "${net_bins[@]}"; do
	"$busybox" --list | grep -qx "${bin##*/}" && echo "${bin##*/}() { $bin \"\$@\"; }"
done > "$root/etc/profile"

mkdir "$net"
cp --parents "${net_bins[@]}" "$net/"
copy_libs "$net" "${net_libs[@]}"
ln -s python3.11 "$net/usr/bin/python3"
mkdir -p "$net/usr/sbin"
for cmd in "${kmod_cmds[@]}"; do
	ln -s ../bin/kmod "$net/usr/sbin/$cmd"
done
# --preserve keeps the modules' times, which their compiled copies are
# checked by.
[ ${#py_files[@]} = 0 ] || cp --parents --preserve=timestamps "${py_files[@]}" "$net/"
if [ ${#ksrc_files[@]} != 0 ]; then
	mkdir -p "$net/usr/src/linux" "$net/usr/include/linux"
	(cd "$HL_KSRC" && cp --parents "${ksrc_files[@]}" "$net/usr/src/linux/")
	cp "$ethtool_h" "$net/usr/include/linux/"
	/usr/bin/python3.11 -m compileall -q "$net/usr/src/linux" > /dev/null
fi
if [ ${#hlto_files[@]} != 0 ]; then
	mkdir -p "$net/opt/hl-thunk-open/bin" "$net/opt/hl-thunk-open/lib"
	for f in "${hlto_files[@]}"; do
		case $f in
		"$HL_THUNK_OPEN"/bin/*) cp "$f" "$net/opt/hl-thunk-open/bin/" ;;
		*) cp "$(readlink -f "$f")" "$net/opt/hl-thunk-open/lib/${f##*/}" ;;
		esac
	done
fi
(cd "$net" && find . -mindepth 1 ! -type d) | while read -r f; do
	f=${f#.}
	[ -e "$root$f" ] || [ -L "$root$f" ] && continue
	mkdir -p "$root${f%/*}"
	ln -s "/net$f" "$root$f"
done

moddir=$root/lib/modules/$krel
mkdir -p "$moddir/extra"
cp "${kernel_modules[@]}" "$moddir/"
if [ -e "$module" ]; then
	cp "$module" "$moddir/extra/"
	ln -s "$krel/extra/habanalabs.ko" "$root/lib/modules/habanalabs.ko"
fi
depmod -b "$root" "$krel"
install -m 755 "$HL_TOP/tools/vm/hotplug" "$root/sbin/hotplug"
cp "$conform" "$fuzz" "$job" "$uffd" "$bufcap" "$root/usr/bin/"

if [ ${#hl_thunk_bins[@]} != 0 ]; then
	cp "${hl_thunk_bins[@]}" "$root/usr/bin/"
	mkdir -p "$root/usr/lib"
	cp "$hl_thunk_lib" "$root/usr/lib/"
	# The loader looks for it by its soname.
	ln -sf libhlthunk.so "$root/usr/lib/libhlthunk.so.0"
fi

mkdir -p "$root/selftests/$collection"
cp -a "$tests/." "$root/selftests/$collection/"
# kselftest's list of installed tests, TEST_PROGS of the Makefile, and
# the list of those the VM of four devices runs, TEST_PROGS_FOUR.
hl_selftests_var TEST_PROGS | sed "s|^|$collection:|" > "$root/selftests/kselftest-list.txt"
hl_selftests_var TEST_PROGS_FOUR | sed "s|^|$collection:|" \
	> "$root/selftests/kselftest-list-four.txt"
hl_selftests_var TEST_PROGS_KUNIT | sed "s|^|$collection:|" \
	> "$root/selftests/kselftest-list-kunit.txt"
hl_selftests_var TEST_PROGS_BY_HAND | sed "s|^|$collection:|" \
	> "$root/selftests/kselftest-list-by-hand.txt"

install -m 755 "$HL_TOP/tools/vm/init" "$root/init"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$stage.cpio.gz"
rm -rf "$netroot"
mv "$net" "$netroot"
mv "$stage.cpio.gz" "$out"
echo "$stamp" > "$out.stamp"
echo "$out"
