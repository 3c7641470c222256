#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lays the project's rust/ over a kernel tree's rust/, the way new
# abstractions are developed in tree:
#  - every file is copied to the same path in the kernel's rust/;
#  - a file named NAME.ext is instead appended to the kernel's own NAME
#    (lib.rs gets our `pub mod` lines, helpers.c our `#include`s,
#    bindings_helper.h our headers), starting from a pristine copy.
# Files are only written when their content changes, so an unchanged
# overlay costs no rebuild. Files a previous overlay added and the project
# no longer has are removed.
set -euo pipefail
src=$1 dst=$2
manifest=$dst/.habanalabs-overlay

put() { # put CONTENT_FILE TARGET
	cmp -s "$1" "$2" || cp "$1" "$2"
}

declare -A ours=()
while IFS= read -r -d '' f; do
	rel=${f#"$src"/}
	case $rel in
	*.ext)
		base=${rel%.ext}
		[ -e "$dst/$base.orig" ] || cp -p "$dst/$base" "$dst/$base.orig"
		tmp=$(mktemp)
		{ cat "$dst/$base.orig"; echo
		  echo "/* Extended by habanalabs-rs from rust/$rel. */"
		  cat "$f"; } > "$tmp"
		put "$tmp" "$dst/$base"; rm -f "$tmp"
		ours[$base.orig]=1 ;;
	*)
		mkdir -p "$(dirname "$dst/$rel")"
		put "$f" "$dst/$rel"
		ours[$rel]=1 ;;
	esac
done < <(find "$src" -type f -print0)

# Undo what the previous overlay did and this one no longer does.
if [ -e "$manifest" ]; then
	while IFS= read -r rel; do
		[ -z "$rel" ] || [ -n "${ours[$rel]:-}" ] && continue
		case $rel in
		*.orig) # Restore the kernel's file, unless the project now replaces it whole.
			[ -n "${ours[${rel%.orig}]:-}" ] || cp "$dst/$rel" "$dst/${rel%.orig}"
			rm "$dst/$rel" ;;
		*) rm -f "$dst/$rel" ;;
		esac
	done < "$manifest"
fi
printf '%s\n' "${!ours[@]}" | sort > "$manifest"
