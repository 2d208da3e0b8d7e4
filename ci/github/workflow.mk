# ci/github/workflow.mk: lint the GitHub Actions workflow users adopt
# (ci/github/wasicert.yml) and this repository's copy of it, with actionlint
# at a pinned version and, through it, shellcheck on every `run:` script.
#
#   make workflow-tools   install actionlint into .tools/bin and Debian's shellcheck
#   make workflow-lint    the two files identical, and actionlint clean on both
#
# `go test ./ci/github/` is the negative control: broken copies of the
# workflow that actionlint must fail, naming what is broken.

TOOLS              ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)/.tools
GO                 ?= go
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT         := $(TOOLS)/bin/actionlint
WORKFLOW           := ci/github/wasicert.yml
WORKFLOW_COPY      := .github/workflows/wasicert.yml

.PHONY: workflow-tools workflow-lint

workflow-tools:
	@if [ "$$("$(ACTIONLINT)" -version 2>/dev/null | head -n1)" = "$(ACTIONLINT_VERSION)" ]; then \
		echo "actionlint $(ACTIONLINT_VERSION) present: $(ACTIONLINT)"; \
	else \
		echo "installing actionlint $(ACTIONLINT_VERSION) into $(TOOLS)/bin"; \
		GOBIN="$(TOOLS)/bin" $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION); \
	fi
	@if command -v shellcheck >/dev/null; then echo "shellcheck present: $$(command -v shellcheck)"; \
	else echo "installing shellcheck"; apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y shellcheck; fi

# -shellcheck names it so that a missing shellcheck fails here instead of
# being skipped without a word.
workflow-lint: workflow-tools
	@cmp -s $(WORKFLOW) $(WORKFLOW_COPY) || { \
		echo "workflow-lint: $(WORKFLOW_COPY) differs from $(WORKFLOW); GitHub does not follow a symlink"; \
		echo "  there, so it is a copy: cp $(WORKFLOW) $(WORKFLOW_COPY)"; exit 1; }
	"$(ACTIONLINT)" -no-color -shellcheck="$$(command -v shellcheck)" $(WORKFLOW) $(WORKFLOW_COPY)
	@echo "workflow-lint: OK: actionlint $(ACTIONLINT_VERSION), shellcheck $$(shellcheck --version | sed -n 's/^version: //p')"
