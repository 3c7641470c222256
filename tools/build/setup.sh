#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installs what a fresh Debian 12 machine lacks to build and run the project:
# Debian packages, bindgen-cli 0.69.5 from crates.io. Idempotent and quiet
# when everything is already there.
set -euo pipefail
. "$(dirname "$0")/env.sh"

packages=(
	# Kernel source and the kernel's Rust toolchain, with its clippy.
	linux-source-6.12 rustc-web rust-web-src rust-web-clippy
	# Kernel build.
	make flex bison bc libelf-dev libssl-dev cpio clang libclang-dev lld llvm
	# Runner, guest userspace, hl-thunk's C ABI test; linux-libc-dev is the
	# system <misc/habanalabs.h> the uAPI checks compare against.
	qemu-system-x86 busybox-static iproute2 ethtool kmod gzip gcc g++ libc6-dev linux-libc-dev
	# The guest's network tests and the kernel's python and shell selftests.
	python3 python3-yaml socat iperf3 iputils-ping jq netsniff-ng
	# The management tests: devlink (iproute2) and sensors.
	lm-sensors
	# hl-thunk's install test: pkg-config, groff for its manual pages, readelf.
	pkgconf groff-base binutils
	# The documentation check (tools/testing/rst_check.py).
	python3-docutils
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	hl_log "installing Debian packages: ${missing[*]}"
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if ! "$HL_BINDGEN" --version 2>/dev/null | grep -q ' 0\.69\.5$'; then
	hl_log "installing bindgen-cli 0.69.5"
	cargo install --locked bindgen-cli@0.69.5
fi
