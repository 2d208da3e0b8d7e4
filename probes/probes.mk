# probes.mk: probe module targets, included by the top-level Makefile and
# usable alone with `make -f probes/probes.mk TARGET` from the repository root.
#
#   probes            rebuild probes/*.wasm and probes/manifest.json
#   probes-check      rebuild into a temp dir; fail unless the committed
#                     modules and manifest are byte-identical to the rebuild
#   probes-toolchain  apt-get install the toolchain when a tool is missing

PROBES_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
# Included, this file leaves the includer's default goal alone; alone, it is `probes`.
probes_saved_goal := $(if $(filter 1,$(words $(MAKEFILE_LIST))),probes,$(.DEFAULT_GOAL))

.PHONY: probes probes-check probes-toolchain

probes:
	$(PROBES_DIR)/build.sh $(PROBES_DIR)

probes-check:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PROBES_DIR)/build.sh "$$tmp"; \
	bad=; \
	for f in $$(cd "$$tmp" && ls); do \
		if [ ! -f "$(PROBES_DIR)/$$f" ]; then \
			echo "probes-check: $(PROBES_DIR)/$$f is missing"; bad=1; \
		elif ! cmp -s "$$tmp/$$f" "$(PROBES_DIR)/$$f"; then \
			echo "probes-check: $(PROBES_DIR)/$$f differs from a fresh build"; bad=1; \
		fi; \
	done; \
	for f in $$(cd "$(PROBES_DIR)" && ls *.wasm); do \
		[ -f "$$tmp/$$f" ] || { echo "probes-check: $(PROBES_DIR)/$$f is not built from probes/src"; bad=1; }; \
	done; \
	if [ -n "$$bad" ]; then \
		echo "probes-check: FAILED. Either the sources changed without 'make probes', or this"; \
		echo "  toolchain differs from the one that built them. Manifest lines (- committed, + fresh build):"; \
		diff -u "$(PROBES_DIR)/manifest.json" "$$tmp/manifest.json" | grep '^[-+] ' | sed 's/^/    /' || true; \
		echo "  Fix: run 'make probes' (after 'make probes-toolchain') and commit probes/*.wasm and probes/manifest.json."; \
		exit 1; \
	fi; \
	echo "probes-check: OK:" $$(cd "$$tmp" && ls) "match a fresh build"

probes-toolchain:
	@missing=; \
	for p in clang lld wasi-libc libclang-rt-dev-wasm32 wabt; do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "probes-toolchain: all installed"; \
	else echo "probes-toolchain: installing$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

.DEFAULT_GOAL := $(probes_saved_goal)
