# ci/qemu/qemu.mk: the per-architecture legs (README.md, "Architectures"),
# included by the top-level Makefile.
#
#   make arch       native amd64, arm64 and s390x (big-endian) under
#                   qemu-user, then `wasicert compare` of them: fails on a
#                   real divergence (part of `make test`)
#   make arch-all   arch, plus riscv64 and ppc64le, and wasmtime on arm64
#                   (an arm64 worker under qemu-aarch64, judged by the native
#                   wasicert) against native wasmtime
#   make qemu-deps  install qemu-user and the arm64 cross toolchain (apt)
#
# Each leg is ci/qemu/leg.sh GOARCH OUTDIR [RUNTIME]; its records, JUnit,
# log and times.txt go to $(OUT)/arch/<leg>/. A leg exits 1 when a spec
# failed beyond its expectations: the compare decides whether that differs
# from amd64; exit 2 (no records) fails the target.

QEMU_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
ARCH_OUT ?= $(OUT)/arch
QEMU_PKGS := qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross

.PHONY: arch arch-all qemu-deps arch-legs arch-legs-all

qemu-deps:
	@dpkg -s $(QEMU_PKGS) >/dev/null 2>&1 || { \
		[ "$$(id -u)" = 0 ] || { echo "qemu-deps: $(QEMU_PKGS) missing and not root: install them (sudo make qemu-deps)" >&2; exit 2; }; \
		echo "installing $(QEMU_PKGS)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(QEMU_PKGS) >/dev/null || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(QEMU_PKGS) >/dev/null; }; }

# leg GOARCH NAME [RUNTIME]: one leg into $(ARCH_OUT)/NAME; exit 1 is kept
# for the compare, anything else fails.
leg = $(QEMU_DIR)/leg.sh $(1) $(ARCH_OUT)/$(2) $(3) || [ $$? = 1 ]

arch-legs: build qemu-deps
	rm -rf $(ARCH_OUT) && mkdir -p $(ARCH_OUT)
	$(call leg,amd64,wazero-amd64)
	$(call leg,arm64,wazero-arm64)
	$(call leg,s390x,wazero-s390x)

arch: arch-legs
	./bin/wasicert compare --json $(ARCH_OUT)/compare.json $(ARCH_OUT)/wazero-amd64 $(ARCH_OUT)/wazero-arm64 $(ARCH_OUT)/wazero-s390x

arch-legs-all: arch-legs
	$(call leg,riscv64,wazero-riscv64)
	$(call leg,ppc64le,wazero-ppc64le)
	$(call leg,amd64,wasmtime-amd64,wasmtime)
	$(call leg,arm64,wasmtime-arm64,wasmtime)

arch-all: arch-legs-all
	./bin/wasicert compare --json $(ARCH_OUT)/compare.json $(ARCH_OUT)/*/
