#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test VM's initramfs, build/vm/initramfs.cpio.gz:
#  - busybox (static) with a symlink per applet;
#  - Debian's ip, ethtool and dcb with their shared libraries and ld.so;
#  - habanalabs.ko as /lib/modules/habanalabs.ko;
#  - hl-thunk (make tools): the hl-thunk CLI, hl-compute-tests and
#    hlthunk-c-smoke (tests/c_smoke.c, compiled here with gcc against
#    include/hlthunk.h) in /usr/bin, libhlthunk.so in /usr/lib;
#  - the selftests under /selftests/<collection>/ plus kselftest-list.txt;
#  - tools/vm/init as /init.
# It is rebuilt only when one of these inputs (or this script) changed.
# Prints the archive's path.
set -euo pipefail
. "$(dirname "$0")/../build/env.sh"

out=$HL_BUILD/vm/initramfs.cpio.gz
module=$HL_BUILD/module/habanalabs/habanalabs.ko
collection=drivers/accel/habanalabs
tests=$HL_TOP/tools/testing/selftests/$collection
busybox=/bin/busybox
bins=(/usr/sbin/ip /usr/sbin/ethtool /usr/sbin/dcb)
mapfile -t libs < <(ldd "${bins[@]}" |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u)

hl_thunk=$HL_TOP/tools/hl-thunk
hl_thunk_out=${CARGO_TARGET_DIR:-$HL_BUILD/target}/release
hl_thunk_lib=$hl_thunk_out/libhlthunk.so
hl_thunk_c=$HL_BUILD/vm/hlthunk-c-smoke
hl_thunk_bins=()
if [ -e "$hl_thunk_lib" ] && [ -e "$hl_thunk_out/hl-thunk" ] &&
   [ -e "$hl_thunk_out/hl-compute-tests" ]; then
	mkdir -p "$HL_BUILD/vm"
	gcc -std=c11 -O2 -Wall -Wextra -Werror -I"$hl_thunk/include" \
		-I"$HL_TOP/include/uapi" "$hl_thunk/tests/c_smoke.c" \
		-L"$hl_thunk_out" -lhlthunk -o "$hl_thunk_c"
	hl_thunk_bins=("$hl_thunk_out/hl-thunk" "$hl_thunk_out/hl-compute-tests" "$hl_thunk_c")
	mapfile -t libs < <({ printf '%s\n' "${libs[@]}"
		ldd "${hl_thunk_bins[@]}" "$hl_thunk_lib" |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }'
		} | sort -u)
else
	hl_log "warning: hl-thunk is not built (make tools); the VM will not have it"
fi

inputs=("$0" "$HL_TOP/tools/vm/init" "$busybox" "${bins[@]}" "${libs[@]}")
inputs+=("${hl_thunk_bins[@]}")
[ ${#hl_thunk_bins[@]} = 0 ] || inputs+=("$hl_thunk_lib")
mapfile -t -O ${#inputs[@]} inputs < <(find "$tests" -type f | sort)
if [ -e "$module" ]; then
	inputs+=("$module")
else
	hl_log "warning: $module is missing; the VM will have no driver"
fi

mkdir -p "$HL_BUILD/vm"
stamp=$(sha256sum "${inputs[@]}" | sha256sum | cut -c1-16)
if [ -e "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi

hl_log "building $out"
stage=$(mktemp -d "$HL_BUILD/vm/initramfs.XXXXXX")
trap 'rm -rf "$stage" "$stage.cpio.gz"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib/modules,dev,proc,sys,tmp,root,etc}
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ "$applet" = bin/busybox ] || ln -s /bin/busybox "$stage/$applet"
done

# Debian's tools replace busybox's applets of the same name.
for bin in "${bins[@]}"; do
	rm -f "$stage"/{bin,sbin,usr/bin,usr/sbin}/"$(basename "$bin")"
	cp "$bin" "$stage/usr/sbin/"
done
# Libraries keep their real file names (ip reads libbpf's version from it).
for lib in "${libs[@]}"; do
	dir=$(dirname "$lib") real=$(readlink -f "$lib")
	mkdir -p "$stage$dir"
	cp "$real" "$stage$dir/"
	[ "$(basename "$real")" = "$(basename "$lib")" ] ||
		ln -s "$(basename "$real")" "$stage$lib"
done
# busybox sh runs its applets before searching PATH: a function makes the
# interactive shell run Debian's tool instead of the applet of that name.
for bin in "${bins[@]}"; do
	name=$(basename "$bin")
	"$busybox" --list | grep -qx "$name" && echo "$name() { $bin \"\$@\"; }"
done > "$stage/etc/profile"

[ -e "$module" ] && cp "$module" "$stage/lib/modules/"

if [ ${#hl_thunk_bins[@]} != 0 ]; then
	cp "${hl_thunk_bins[@]}" "$stage/usr/bin/"
	mkdir -p "$stage/usr/lib"
	cp "$hl_thunk_lib" "$stage/usr/lib/"
fi

mkdir -p "$stage/selftests/$collection"
cp -a "$tests/." "$stage/selftests/$collection/"
# kselftest's list of installed tests: TEST_PROGS of the Makefile.
sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$tests/Makefile" |
	sed -n 's/^TEST_PROGS[[:space:]]*[:+]*=//p' | tr -s ' \t' '\n' |
	sed -n "s|^\(..*\)$|$collection:\1|p" > "$stage/selftests/kselftest-list.txt"

install -m 755 "$HL_TOP/tools/vm/init" "$stage/init"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$stage.cpio.gz"
mv "$stage.cpio.gz" "$out"
echo "$stamp" > "$out.stamp"
echo "$out"
