#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds habanalabs.ko against the kernel from kernel.sh. Kbuild writes an
# external module's objects next to its sources, so the sources are mirrored
# (copied only when changed) into build/module and built there.
set -euo pipefail
. "$(dirname "$0")/env.sh"

mirror=$HL_BUILD/module
mkdir -p "$mirror"
(cd "$HL_TOP" && find Kbuild habanalabs $(ls -d include 2>/dev/null) -type f \
	\( -name Kbuild -o -name '*.rs' -o -name '*.h' \)) | while read -r f; do
	mkdir -p "$mirror/$(dirname "$f")"
	cmp -s "$HL_TOP/$f" "$mirror/$f" || cp "$HL_TOP/$f" "$mirror/$f"
done
# Drop sources the project no longer has.
(cd "$mirror" && find . -type f \( -name Kbuild -o -name '*.rs' -o -name '*.h' \) \
	-not -path './.tmp*') | while read -r f; do
	[ -e "$HL_TOP/$f" ] || rm -f "$mirror/$f"
done

make -s -C "$HL_KSRC" O="$HL_KOUT" "${HL_KMAKE_VARS[@]}" M="$mirror" \
	CONFIG_DRM_ACCEL_HABANALABS_RS=m \
	-j"$(($(nproc) + 1))" modules
