# wasicert. On a fresh machine with Go, two commands do all set-up:
#   make run    run the capability suite on embedded wazero: prints the summary,
#               writes out/wazero/{junit.xml,summary.json,ginkgo.json,results.jsonl}
#   make test   install what the tests need (apt toolchain, ginkgo CLI), then
#               run every test; .ci/run calls this
#   make docs   measure the findings matrix and write README.md's generated
#               sections (spec table, labels, findings) and docs/findings/
SHELL := /bin/bash
GO ?= go
OUT ?= out
RUNTIME ?= wazero
TOOLS := $(CURDIR)/.tools
GINKGO_VERSION := v2.34.0
GINKGO := $(TOOLS)/bin/ginkgo
BENCH_COUNT ?= 6
# A certification run is the whole catalogue: fewer iterations per runtime.
CERTIFY_BENCH_COUNT ?= 3

include probes/probes.mk
include ci/runtimes/runtimes.mk
include ci/qemu/qemu.mk
include ci/github/workflow.mk
include reports/htmlreport/chromium.mk

# The runtimes `make test` runs the capability suite on: a missing one fails
# the matrix, so a broken install cannot pass as "not installed".
MATRIX_RUNTIMES ?= wazero,wazero-interpreter,wazero-confined,wazero-cli,wasmtime,wasmer,node,bun,jco

.DEFAULT_GOAL := build
.PHONY: build run test deps ginkgo vet unit race e2e matrix docs containerd cri cni-plugins bench bench-containers

build:
	$(GO) build -o bin/wasicert ./cmd/wasicert

run: build
	./bin/wasicert run --runtime $(RUNTIME) --junit $(OUT)/$(RUNTIME)/junit.xml \
		--json $(OUT)/$(RUNTIME)/ginkgo.json --results $(OUT)/$(RUNTIME)/results.jsonl

# deps installs everything the tests use; each step skips what is present.
deps: probes-toolchain ginkgo runtimes workflow-tools chromium cni-plugins

ginkgo: $(GINKGO)
$(GINKGO):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/onsi/ginkgo/v2/ginkgo@$(GINKGO_VERSION)

test: deps vet workflow-lint unit race probes-check e2e matrix arch containerd cri

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 30m ./...

# race: the shim and its runner under the race detector (their tasks are
# served concurrently: Create, Start, Kill, Delete, Wait race by design).
race:
	$(GO) test -count=1 -race ./cmd/containerd-shim-wazero-v1/ ./runners/containerd/

# e2e: the suite through the ginkgo CLI, with ginkgo's own report flags.
e2e: $(GINKGO)
	rm -rf $(OUT)/e2e && mkdir -p $(OUT)/e2e
	$(GINKGO) run --junit-report=junit.xml --json-report=ginkgo.json --output-dir=$(OUT)/e2e \
		./suites/capability -- -wasicert.runtime=wazero
	test -s $(OUT)/e2e/junit.xml && test -s $(OUT)/e2e/ginkgo.json

# matrix: the capability suite on every runtime that installs here, side by
# side; fails if one of them is missing or fails beyond its expectations, or
# if what it measured differs from the README's findings (docs/findings/).
matrix: build
	./bin/wasicert matrix --runtimes $(MATRIX_RUNTIMES) --out $(OUT)/matrix
	$(GO) run ./internal/docgen check $(OUT)/matrix/matrix.json

# docs: the same matrix run, kept as docs/findings/matrix.json (less what
# varies from run to run), and README.md's generated sections written from
# it and from the catalogue. Commit both; `go test ./internal/docgen` fails
# when README.md is stale.
docs: build runtimes
	./bin/wasicert matrix --runtimes $(MATRIX_RUNTIMES) --out $(OUT)/matrix
	$(GO) run ./internal/docgen findings $(OUT)/matrix/matrix.json

# containerd: the catalogue through our shim on a private containerd 1.6 and
# 2.x (installed on first use), as root; skipped with one line otherwise.
containerd: build
	ci/containerd/suite.sh $(OUT)/containerd

# cni-plugins: the CNI plugins (bridge, host-local, loopback; pinned) the
# CRI daemons' pod networks use, go-installed into .tools/cni-<version>.
cni-plugins:
	ci/kubernetes/cni/install.sh >/dev/null

# cri: the catalogue through containerd's CRI (one pod per probe run, our
# shim as runtime handler wazero) on a private containerd 1.6 and 2.x, as
# root; skipped with one line otherwise.
cri: build cni-plugins
	ci/kubernetes/suite.sh $(OUT)/cri

bench:
	mkdir -p $(OUT)
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./bench/ | tee $(OUT)/bench.txt
	$(GO) test -run '^$$' -bench . -count $(CERTIFY_BENCH_COUNT) -timeout 2h ./bench/certify/ | tee $(OUT)/bench-certify.txt
	$(GO) test -run '^$$' -bench . -count $(BENCH_COUNT) -timeout 30m ./bench/pods/ | tee $(OUT)/bench-pods.txt

# bench-containers (root): the same hello as a wasm container through our shim
# and as a Linux container (runc + static busybox) on one containerd, 2.2.9
# and 1.6: image size, cold start (median of 25, interleaved), peak memory;
# and the same pair through a private dockerd on 2.2.9 (docker run of the
# wasm image through our shim vs docker run of busybox through runc 1.3.7,
# go-installed into .tools with cgo + seccomp: libseccomp-dev).
bench-containers:
	@dpkg -s busybox-static runc libseccomp-dev >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static runc libseccomp-dev; }
	mkdir -p $(OUT)
	$(GO) run ./bench/containers -runs 25 -containerd 2,1.6 -docker -out $(OUT)/bench-containers.md -json $(OUT)/bench-containers.json
