#!/usr/bin/env bash
# suite.sh [OUTDIR]: the capability suite through a private containerd and our
# wazero shim (io.containerd.wazero.v1), on every version in
# WASICERT_CONTAINERD_VERSIONS (default "1.6 2"). For each version it runs
#   1. the whole catalogue with the guest env exactly the spec's env, and
#   2. the env and shim specs as docker/ctr run them (containerd's default
#      PATH injected: reported as injected by the engine, not as a leak),
# then stops the daemon and fails on anything left behind: a containerd or
# shim process, a mount, a fifo, the run dir.
#
# The launcher's env canary WASICERT_HOST_CANARY is exported before the daemon
# starts, so containerd and every shim carry it: a guest that shows it has
# read the shim's environment.
#
# Not root: prints one line saying why the containerd specs are skipped, exit 0.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/out/containerd}
WASICERT=${WASICERT:-$REPO/bin/wasicert}
VERSIONS=${WASICERT_CONTAINERD_VERSIONS:-1.6 2}

if [ "$(id -u)" != 0 ]; then
	echo "containerd suite: skipped: a private containerd needs root (running as uid $(id -u))"
	exit 0
fi
[ -x "$WASICERT" ] || { echo "suite.sh: $WASICERT not built: run make build" >&2; exit 2; }
export WASICERT_HOST_CANARY=${WASICERT_HOST_CANARY:-HOST-ENV-CANARY-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}

status=0
for v in $VERSIONS; do
	run=$(mktemp -d /tmp/wcd.XXXX)
	if ! sock=$("$HERE/start.sh" "$v" "$run"); then
		echo "containerd suite: containerd $v did not start" >&2
		"$HERE/stop.sh" "$run" >/dev/null 2>&1
		status=1
		continue
	fi
	export WASICERT_CONTAINERD_ADDRESS=$sock WASICERT_CONTAINERD_STATE_DIR=$run/fifo
	mkdir -p "$WASICERT_CONTAINERD_STATE_DIR"

	echo "== containerd $(cat "$run/version"): the catalogue through io.containerd.wazero.v1"
	"$WASICERT" run --runtime containerd --junit "$OUT/$v/junit.xml" --results "$OUT/$v/results.jsonl" || status=1
	echo "== containerd $(cat "$run/version"): env and shim specs with the engine's default env (as docker and ctr run them)"
	WASICERT_CONTAINERD_INJECT_ENV=1 "$WASICERT" run --runtime containerd --label-filter 'Area:env || Area:shim' \
		--junit "$OUT/$v-docker-env/junit.xml" --results "$OUT/$v-docker-env/results.jsonl" || status=1

	# The runner keeps one fifo/ parent; every run's fifos must be gone.
	left=$(find "$WASICERT_CONTAINERD_STATE_DIR" -mindepth 1 ! -path "$WASICERT_CONTAINERD_STATE_DIR/fifo" 2>/dev/null | head -3)
	if [ -n "$left" ]; then
		echo "containerd suite: fifos left behind: $left" >&2
		status=1
	fi
	pid=$(cat "$run/containerd.pid")
	if ! "$HERE/stop.sh" "$run"; then
		echo "containerd suite: containerd $v left something behind (see above)" >&2
		status=1
	fi
	if kill -0 "$pid" 2>/dev/null || [ -e "$run" ]; then
		echo "containerd suite: containerd $pid or $run still there after stop" >&2
		status=1
	fi
	unset WASICERT_CONTAINERD_ADDRESS WASICERT_CONTAINERD_STATE_DIR
done
[ $status = 0 ] && echo && echo "containerd suite: passed on containerd $VERSIONS; nothing left behind"
exit $status
