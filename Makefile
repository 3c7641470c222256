# SPDX-License-Identifier: GPL-2.0
# Developer entry points. Kbuild reads ./Kbuild, not this file.
#
#   make            build everything and boot it in QEMU (same as make run)
#   make check      build everything and run every test; T=NAME runs one
#                   selftest, e.g. make check T=reload.sh
#   make campaign   build everything and run the fault campaign (campaign.sh,
#                   not part of make check): COUNT rounds of each device
#                   fault (default 100) under traffic, e.g. make campaign COUNT=5;
#                   FAULTS="link_down vanish" runs only those
#   make bench      build everything and run the benchmarks (not tests: slow
#                   numbers do not fail), printed as ratios
#   make build      build the kernel, habanalabs.ko and the device model
#   make install    install hl-thunk (library, header, pkg-config file, manual
#                   pages, CLI) under PREFIX (/usr/local); DESTDIR stages it
#   make clean      remove build/ (the kernel cache stays, see README.md)

export CARGO_TARGET_DIR := $(CURDIR)/build/target
CARGO := $(shell PATH="$$PATH:$$HOME/.cargo/bin" command -v cargo)

.DEFAULT_GOAL := run
.NOTPARALLEL:
.PHONY: run check campaign bench build setup kernel module tools install clean

run: build
	tools/vm/run.sh

check: build
	tools/testing/check.sh $(T)

# Seven kinds of round, each well under a minute in the VM: the time limits
# grow with COUNT.
COUNT ?= 100
campaign: build
	HL_CAMPAIGN_COUNT=$(COUNT) HL_CAMPAIGN_FAULTS="$(FAULTS)" HL_TEST_TIMEOUT=$$(($(COUNT) * 420 + 600)) \
		HL_VM_TIMEOUT=$$(($(COUNT) * 420 + 1200)) tools/testing/check.sh campaign.sh

bench: build
	tools/testing/bench.sh

build: kernel module tools

setup:
	tools/build/setup.sh

kernel: setup
	tools/build/kernel.sh

module: kernel
	tools/build/module.sh

tools: setup
	$(CARGO) build --release --manifest-path tools/Cargo.toml

install: tools
	tools/hl-thunk/install.sh

clean:
	rm -rf build
