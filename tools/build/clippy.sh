#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs clippy on the kernel Rust the way the kernel tree does (make
# CLIPPY=1: clippy-driver compiles each crate, with the lints the kernel's
# Makefile sets), on rust/'s crates and on habanalabs.ko, and prints its
# warnings as "rust: ..." and "habanalabs: ..." blocks; exits 1 if there
# is any, 2 if clippy could not run.
#
# It builds in an output directory of its own, build/clippy/out (rust/ and
# what it needs of the kernel's prepare step: a few minutes the first
# time, then only what changed), against the tree and .config of kernel.sh,
# so that the kernel build's objects stay rustc's and untouched. The
# clippy-driver must be the one of the kernel's rustc: Debian's
# rust-web-clippy for rustc-web (setup.sh installs both).
set -euo pipefail
. "$(dirname "$0")/env.sh"

driver=/usr/bin/clippy-driver
if ! "$driver" --rustc --version 2>/dev/null | grep -qxF "$(/usr/bin/rustc --version)"; then
	echo "clippy: $driver missing or not of $(/usr/bin/rustc --version)" >&2
	exit 2
fi

# The kernel tree must hold this rust/ (kernel.sh lays it over the tree).
while IFS= read -r -d '' f; do
	rel=${f#"$HL_TOP"/rust/} size=$(stat -c %s "$f")
	case $rel in
	*.ext) tail -c "$size" "$HL_KSRC/rust/${rel%.ext}" | cmp -s - "$f" ;;
	*) cmp -s "$f" "$HL_KSRC/rust/$rel" ;;
	esac || { echo "clippy: $HL_KSRC/rust is not this rust/ ($rel): build first" >&2; exit 2; }
done < <(find "$HL_TOP/rust" -type f -print0)

out=$HL_BUILD/clippy/out mirror=$HL_BUILD/clippy/module log=$HL_BUILD/clippy/build.log
mkdir -p "$out" "$mirror"
cmp -s "$HL_KOUT/.config" "$out/.config" || cp "$HL_KOUT/.config" "$out/.config"
cp "$HL_KOUT/Module.symvers" "$out/Module.symvers"
# The module's sources, as module.sh mirrors them.
rm -rf "$mirror"; mkdir -p "$mirror"
(cd "$HL_TOP" && find Kbuild habanalabs $(ls -d include 2>/dev/null) -type f \
	\( -name Kbuild -o -name '*.rs' -o -name '*.h' \) -print0 | cpio -p0dm --quiet "$mirror")

kmake() {
	make -s -C "$HL_KSRC" O="$out" "${HL_KMAKE_VARS[@]}" CLIPPY=1 CLIPPY_DRIVER="$driver" \
		-j"$(($(nproc) + 1))" "$@"
}

# lint NAME MAKE-ARG...: builds, then prints the warnings under NAME.
nwarn=0
lint() {
	local name=$1 log=$HL_BUILD/clippy/$1.log n
	shift
	if ! kmake "$@" > "$log" 2>&1; then
		echo "clippy: building $name failed, see $log" >&2
		tail -n 30 "$log" >&2
		exit 2
	fi
	n=$(grep -E '^warning: ' "$log" | grep -cvE '^warning: .* [0-9]+ warnings? emitted|^warning: [0-9]+ warnings? emitted' || true)
	[ "$n" = 0 ] || { echo "$name: $n warnings"; sed 's/^/  /' "$log"; }
	nwarn=$((nwarn + n))
}

kmake olddefconfig > /dev/null
kmake modules_prepare > /dev/null
# rust/'s crates (core is never linted), the kernel crate rebuilt each
# time so that its warnings show; then the module, from a fresh mirror.
rm -f "$out/rust/kernel.o"
lint rust rust/
lint habanalabs M="$mirror" CONFIG_DRM_ACCEL_HABANALABS_RS=m modules
[ $nwarn = 0 ]
