# ci/runtimes/runtimes.mk: build the runtime workers and install the runtimes
# that have a package here, into the repository (never system-wide).
#
#   make -f ci/runtimes/runtimes.mk workers    # bin/wasicert-worker-{wasmtime,wasmer}
#   make -f ci/runtimes/runtimes.mk runtimes   # workers + .tools/bin/wazero + .tools/bun + .tools/jco
#
# Or `include ci/runtimes/runtimes.mk` from the top-level Makefile. Every
# target is idempotent: a tool already present at its pinned version is kept;
# the workers are always handed to `go build`, whose cache makes a no-change
# rebuild cost about a second.
#
# Runners find what this installs without configuration, from any working
# directory: the workers next to bin/wasicert, the tools in <repo>/.tools
# for a wasicert built from this checkout. Elsewhere, install into the XDG
# cache (WASICERT_BIN=~/.cache/wasicert/bin WASICERT_TOOLS=~/.cache/wasicert/tools)
# or point $WASICERT_WORKER_DIR and $WASICERT_TOOLS_DIR here (README.md,
# "Where wasicert finds runtimes").

RUNTIMES_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
REPO_ROOT       ?= $(abspath $(RUNTIMES_MK_DIR)/../..)
WASICERT_BIN    ?= $(REPO_ROOT)/bin
WASICERT_TOOLS  ?= $(REPO_ROOT)/.tools
GO              ?= go
NPM             ?= npm

# Pinned versions: change them here and in runners/cli/templates/*.yaml (written_for).
WAZERO_CLI_VERSION ?= v1.12.0
BUN_VERSION        ?= 1.4.5
# jco with the preview2-shim it runs components on (runners/jco). 0.26.1 is
# the first shim without the default "/" preopen and with symlink resolution
# confined to the preopen; the runner configures its sandbox either way.
JCO_VERSION        ?= 1.35.0
JCO_SHIM_VERSION   ?= 0.26.1

WAZERO_CLI := $(WASICERT_TOOLS)/bin/wazero
BUN_DIR    := $(WASICERT_TOOLS)/bun
BUN        := $(BUN_DIR)/node_modules/bun/bin/bun.exe
JCO_DIR    := $(WASICERT_TOOLS)/jco

.PHONY: workers runtimes wazero-cli bun jco worker-wasmtime worker-wasmer

workers: worker-wasmtime worker-wasmer

# One executable per cgo engine: wasmtime-go and wasmer-go cannot be linked
# into one binary (both define the wasm C API; RATIONALE.md, "Runtimes and isolation").
worker-wasmtime:
	cd $(REPO_ROOT) && CGO_ENABLED=1 $(GO) build -o $(WASICERT_BIN)/wasicert-worker-wasmtime ./cmd/wasicert-worker-wasmtime

worker-wasmer:
	cd $(REPO_ROOT) && CGO_ENABLED=1 $(GO) build -o $(WASICERT_BIN)/wasicert-worker-wasmer ./cmd/wasicert-worker-wasmer

runtimes: workers wazero-cli bun jco

wazero-cli:
	@if [ -x "$(WAZERO_CLI)" ] && "$(WAZERO_CLI)" version 2>/dev/null | grep -q "$(WAZERO_CLI_VERSION:v%=%)"; then \
		echo "wazero CLI $(WAZERO_CLI_VERSION) present: $(WAZERO_CLI)"; \
	else \
		echo "installing wazero CLI $(WAZERO_CLI_VERSION) into $(WASICERT_TOOLS)/bin"; \
		mkdir -p "$(WASICERT_TOOLS)/bin" && \
		GOBIN="$(WASICERT_TOOLS)/bin" $(GO) install github.com/tetratelabs/wazero/cmd/wazero@$(WAZERO_CLI_VERSION); \
	fi

# The npm package "bun" carries the real binary (through its optional
# dependency @oven/bun-<os>-<arch>; its postinstall puts it at bin/bun.exe).
bun:
	@if [ -x "$(BUN)" ] && [ "$$("$(BUN)" --version 2>/dev/null)" = "$(BUN_VERSION)" ]; then \
		echo "bun $(BUN_VERSION) present: $(BUN)"; \
	else \
		echo "installing bun@$(BUN_VERSION) into $(BUN_DIR)"; \
		mkdir -p "$(BUN_DIR)" && \
		{ [ -f "$(BUN_DIR)/package.json" ] || echo '{"private":true}' > "$(BUN_DIR)/package.json"; } && \
		$(NPM) install --prefix "$(BUN_DIR)" --no-audit --no-fund --save-exact bun@$(BUN_VERSION) && \
		"$(BUN)" --version; \
	fi

# jco and preview2-shim at exact versions, side by side in one prefix (the
# runner reads both package.json files); the machine's node runs them.
# jco ships the wasi_snapshot_preview1 command adapter (lib/) it applies.
JCO_INSTALLED = $(JCO_DIR)/node_modules/@bytecodealliance
jco:
	@if [ "$$(node -p 'require("$(JCO_INSTALLED)/jco/package.json").version' 2>/dev/null)" = "$(JCO_VERSION)" ] && \
	    [ "$$(node -p 'require("$(JCO_INSTALLED)/preview2-shim/package.json").version' 2>/dev/null)" = "$(JCO_SHIM_VERSION)" ]; then \
		echo "jco $(JCO_VERSION) with preview2-shim $(JCO_SHIM_VERSION) present: $(JCO_DIR)"; \
	else \
		echo "installing @bytecodealliance/jco@$(JCO_VERSION) and @bytecodealliance/preview2-shim@$(JCO_SHIM_VERSION) into $(JCO_DIR)"; \
		mkdir -p "$(JCO_DIR)" && \
		{ [ -f "$(JCO_DIR)/package.json" ] || echo '{"private":true}' > "$(JCO_DIR)/package.json"; } && \
		$(NPM) install --prefix "$(JCO_DIR)" --no-audit --no-fund --save-exact \
			@bytecodealliance/jco@$(JCO_VERSION) @bytecodealliance/preview2-shim@$(JCO_SHIM_VERSION) && \
		node "$(JCO_INSTALLED)/jco/dist/jco.js" --version; \
	fi
