#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test kernel: Debian's linux-source-6.12 with the project's rust/
# and include/uapi/ laid over the kernel's (see overlay.sh), configured from tinyconfig
# plus two fragments, with LLVM=1 and Debian's rustc.
#
# The unpacked tree and its O= output live in a cache directory keyed by the
# inputs that force a full build (kernel source, config fragments, toolchain);
# build/kernel links to it. Anything else (the overlay, the driver) is an
# incremental build in that directory. HL_CACHE_DIR=$(mktemp -d) forces a
# cold build.
set -euo pipefail
. "$(dirname "$0")/env.sh"

fragments=("$HL_TOP/tools/testing/selftests/drivers/accel/habanalabs/config"
	   "$HL_TOP/tools/vm/kernel.config")

key=$( {
	dpkg-query -W -f='${Version}\n' linux-source-6.12
	stat -c '%s %Y' "$HL_KERNEL_TARBALL"
	cat "${fragments[@]}"
	/usr/bin/rustc --version; "$HL_BINDGEN" --version; clang --version | head -1
} | sha256sum | cut -c1-16)
kdir=$HL_CACHE_DIR/kernel-$key

if [ ! -e "$kdir/src/Makefile" ]; then
	hl_log "unpacking $HL_KERNEL_TARBALL into $kdir"
	rm -rf "$kdir"; mkdir -p "$kdir/unpack"
	tar xf "$HL_KERNEL_TARBALL" -C "$kdir/unpack"
	mv "$kdir/unpack"/linux-source-6.12 "$kdir/src"; rmdir "$kdir/unpack"
fi
mkdir -p "$HL_BUILD" "$kdir/out"
ln -sfn "$kdir" "$HL_KDIR"

"$HL_TOP/tools/build/overlay.sh" "$HL_TOP/rust" "$HL_KSRC/rust"
"$HL_TOP/tools/build/overlay.sh" "$HL_TOP/include/uapi" "$HL_KSRC/include/uapi"

kmake() { make -s -C "$HL_KSRC" O="$HL_KOUT" "${HL_KMAKE_VARS[@]}" "$@"; }

if [ ! -e "$HL_KOUT/.config" ]; then
	hl_log "configuring: tinyconfig + ${fragments[*]##$HL_TOP/}"
	kmake tinyconfig
	"$HL_KSRC/scripts/kconfig/merge_config.sh" -m -O "$HL_KOUT" \
		"$HL_KOUT/.config" "${fragments[@]}" >/dev/null
	kmake olddefconfig
	# merge_config silently drops options whose dependencies are off.
	bad=0
	while read -r line; do
		case $line in
		CONFIG_*=n) opt=${line%%=*}; want="# $opt is not set" ;;
		CONFIG_*) want=$line ;;
		'# CONFIG_'*' is not set') want=$line ;;
		*) continue ;;
		esac
		grep -qxF "$want" "$HL_KOUT/.config" || {
			echo "config: '$want' did not stick" >&2; bad=1; }
	done < <(cat "${fragments[@]}")
	if [ $bad = 1 ]; then rm -f "$HL_KOUT/.config"; exit 1; fi
fi

hl_log "building the kernel in $kdir"
kmake -j"$(($(nproc) + 1))" all
