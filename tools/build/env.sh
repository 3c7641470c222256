# SPDX-License-Identifier: GPL-2.0
# Shared settings for the build and runner scripts; sourced, not run.
#
# Kernel builds use Debian's rustc (it ships the library source the kernel
# needs) and bindgen from cargo; userspace crates use the ordinary cargo.

HL_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HL_BUILD=${HL_BUILD:-$HL_TOP/build}
HL_CACHE_DIR=${HL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/habanalabs-rs}
HL_KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz

export PATH="$PATH:$HOME/.cargo/bin"
HL_BINDGEN=$HOME/.cargo/bin/bindgen
HL_KMAKE_VARS=(LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
               BINDGEN="$HL_BINDGEN")

# The kernel tree and its build output, behind one symlink (see kernel.sh).
HL_KDIR=$HL_BUILD/kernel
HL_KSRC=$HL_KDIR/src
HL_KOUT=$HL_KDIR/out

hl_log() { printf '==> %s\n' "$*" >&2; }

# hl_selftests_var VAR: the words of VAR in the selftests' Makefile, one a
# line.
hl_selftests_var() {
	sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' \
		"$HL_TOP/tools/testing/selftests/drivers/accel/habanalabs/Makefile" |
		sed -n "s/^$1[[:space:]]*[:+]*=//p" | tr -s ' \t' '\n' | sed '/^$/d'
}
