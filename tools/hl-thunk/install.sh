#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installs hl-thunk as cargo built it (release): the shared library with its
# soname links, the static library, the C header with the uAPI header it
# includes, a pkg-config file, the manual pages and the hl-thunk command.
#
#   PREFIX   where it goes (default /usr/local)
#   LIBDIR   the libraries and pkgconfig/ (default $PREFIX/lib)
#   DESTDIR  a staging root prepended to every path written (packaging)
#   BUILD    cargo's release directory (default $CARGO_TARGET_DIR/release,
#            or build/target/release of the checkout)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-${CARGO_TARGET_DIR:-$top/build/target}/release}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -1)
major=${version%%.*}
for f in libhlthunk.so libhlthunk.a hl-thunk; do
	[ -e "$BUILD/$f" ] || { echo "install.sh: no $BUILD/$f: build first (make tools)" >&2; exit 1; }
done

lib=$DESTDIR$LIBDIR
inc=$DESTDIR$PREFIX/include/hlthunk
man=$DESTDIR$PREFIX/share/man
install -D -m 755 "$BUILD/hl-thunk" "$DESTDIR$PREFIX/bin/hl-thunk"
install -D -m 755 "$BUILD/libhlthunk.so" "$lib/libhlthunk.so.$version"
ln -sfn "libhlthunk.so.$version" "$lib/libhlthunk.so.$major"
ln -sfn "libhlthunk.so.$major" "$lib/libhlthunk.so"
install -m 644 "$BUILD/libhlthunk.a" "$lib/libhlthunk.a"
# The uAPI header beside ours, so that <misc/habanalabs.h> is the one with
# HL_IOCTL_NIC whatever the system's is (see the Cflags below).
install -D -m 644 "$here/include/hlthunk.h" "$inc/hlthunk.h"
install -D -m 644 "$top/include/uapi/misc/habanalabs.h" "$inc/misc/habanalabs.h"
install -D -m 644 "$here/man/hl-thunk.1" "$man/man1/hl-thunk.1"
install -D -m 644 "$here/man/hlthunk.3" "$man/man3/hlthunk.3"
mkdir -p "$lib/pkgconfig"
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@LIBDIR@|$LIBDIR|" -e "s|@VERSION@|$version|" \
	"$here/hlthunk.pc.in" > "$lib/pkgconfig/hlthunk.pc"
echo "installed hl-thunk $version under $DESTDIR$PREFIX"
