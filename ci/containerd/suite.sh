#!/usr/bin/env bash
# suite.sh [OUTDIR]: the capability suite through a private containerd and our
# wazero shim (the runtime containerd-wazero: io.containerd.wazero.v1), on
# every version in WASICERT_CONTAINERD_VERSIONS (default "1.6 2"). For each
# version it runs
#   1. the whole catalogue with the guest env exactly the spec's env, and
#   2. the env and shim specs as docker/ctr run them (containerd's default
#      PATH injected: reported as injected by the engine, not as a leak),
#   3. the filesystem shim specs (device nodes, tmpfs, non-recursive binds)
#      on the weakened shim (io.containerd.wazeroweak.v1, built with the
#      wasicert_weakened tag: the first shim's behaviour), where each must
#      fail: their negative control through real containerd,
#   4. on 2.x, a private Docker engine on that containerd (ci/docker/suite.sh:
#      the catalogue and the engine specs through docker run; skipped with
#      WASICERT_SKIP_DOCKER=1),
# then fails on anything left behind: a container, image, snapshot (native or
# overlayfs) or lease in any namespace, a shim socket, a fifo, a loop device
# the specs attached; and, after stopping the daemon, a containerd or shim
# process, a mount, the run dir.
# Interrupted (INT, TERM) or failing, it still stops the daemon.
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

# The run dir of the daemon now running: stopped on any exit.
run=
cleanup() {
	if [ -n "$run" ]; then
		"$HERE/stop.sh" "$run" >/dev/null 2>&1
		run=
	fi
}
trap cleanup EXIT
trap 'echo "containerd suite: interrupted" >&2; cleanup; exit 130' INT
trap 'echo "containerd suite: terminated" >&2; cleanup; exit 143' TERM

# leftovers: every containerd object left in any namespace, and shim sockets.
# ctr's stdout only (ctr 2.x warns on stderr); snapshots ls prints a header.
leftovers() {
	local ctr nss ns what out
	ctr=$(cat "$run/ctr.path")
	if ! nss=$("$ctr" --address "$sock" namespaces ls -q 2>/dev/null); then
		echo "ctr namespaces ls failed"
		return
	fi
	for ns in $nss; do
		for what in "containers ls -q" "images ls -q" "snapshots --snapshotter native ls" \
			"snapshots --snapshotter overlayfs ls" "leases ls -q"; do
			if ! out=$("$ctr" --address "$sock" -n "$ns" $what 2>/dev/null); then
				echo "$ns: ctr $what failed"
				continue
			fi
			out=$(echo "$out" | grep -v '^KEY *PARENT *KIND')
			if [ -n "$out" ]; then echo "$ns: ${what% ls*}: $(echo $out)"; fi
		done
	done
	if [ -n "$(ls -A "$run/s")" ]; then
		echo "shim sockets: $(ls -A "$run/s" | head -3)"
	fi
	loops
}

# loops: loop devices attached to the shim.device-nodes spec's canary files
# (suites/catalogue LoopMarker), which the spec detaches after each run.
loops() {
	local f
	for f in /sys/block/loop*/loop/backing_file; do
		[ -r "$f" ] || continue
		if grep -q 'wasicert-loop-' "$f" 2>/dev/null; then
			echo "loop device: ${f#/sys/block/}: $(cat "$f")"
		fi
	done
}
export WASICERT_WEAK_SHIM=1
WEAK_SPECS='shim\.(device-nodes|tmpfs|bind-nonrecursive):'


status=0
for v in $VERSIONS; do
	run=$(mktemp -d /tmp/wcd.XXXX)
	if ! sock=$("$HERE/start.sh" "$v" "$run"); then
		echo "containerd suite: containerd $v did not start" >&2
		cleanup
		status=1
		continue
	fi
	export WASICERT_CONTAINERD_ADDRESS=$sock WASICERT_CONTAINERD_STATE_DIR=$run/fifo
	mkdir -p "$WASICERT_CONTAINERD_STATE_DIR"

	echo "== containerd $(cat "$run/version"): the catalogue through io.containerd.wazero.v1"
	"$WASICERT" run --runtime containerd-wazero --junit "$OUT/$v/junit.xml" --results "$OUT/$v/results.jsonl" || status=1
	echo "== containerd $(cat "$run/version"): env and shim specs with the engine's default env (as docker and ctr run them)"
	WASICERT_CONTAINERD_INJECT_ENV=1 "$WASICERT" run --runtime containerd-wazero --label-filter 'Area:env || Area:shim' \
		--junit "$OUT/$v-docker-env/junit.xml" --results "$OUT/$v-docker-env/results.jsonl" || status=1

	echo "== containerd $(cat "$run/version"): negative control: the filesystem shim specs on the weakened shim (each must fail)"
	WASICERT_CONTAINERD_RUNTIME=io.containerd.wazeroweak.v1 "$WASICERT" run --runtime containerd --no-expectations --focus "$WEAK_SPECS" \
		--results "$OUT/$v-weakened/results.jsonl" >"$OUT/$v-weakened.log" 2>&1
	for id in shim.device-nodes shim.tmpfs shim.bind-nonrecursive; do
		if ! grep -F "\"spec\":\"$id\"" "$OUT/$v-weakened/results.jsonl" 2>/dev/null | grep -Eq '"verdict":"(escape|leak|fail)"'; then
			echo "containerd suite: $id did not fail on the weakened shim (its negative control); see $OUT/$v-weakened.log" >&2
			status=1
		else
			echo "   $id fails on the weakened shim: $(grep -F "\"spec\":\"$id\"" "$OUT/$v-weakened/results.jsonl" | grep -o '"verdict":"[a-z]*"' | head -1)"
		fi
	done

	# On containerd 2.x: a private Docker engine on this containerd
	# (ci/docker/suite.sh): the catalogue and the engine specs through
	# docker run --runtime=io.containerd.wazero.v1, nothing left behind.
	if [ "$v" = 2 ] && [ -z "${WASICERT_SKIP_DOCKER:-}" ]; then
		"$HERE/../docker/suite.sh" "$sock" "$OUT/docker" || status=1
	fi

	# The runner keeps one fifo/ parent; every run's fifos must be gone.
	left=$(find "$WASICERT_CONTAINERD_STATE_DIR" -mindepth 1 ! -path "$WASICERT_CONTAINERD_STATE_DIR/fifo" 2>/dev/null | head -3)
	if [ -n "$left" ]; then
		echo "containerd suite: fifos left behind: $left" >&2
		status=1
	fi
	# Snapshots go in containerd's background garbage collection and shims
	# remove their sockets as they exit: give both 5 s.
	for _ in $(seq 1 50); do
		left=$(leftovers)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		echo "containerd suite: containerd $v: objects left behind:" >&2
		echo "$left" | sed 's/^/  /' >&2
		status=1
	fi
	# Every task delete must unmount its rootfs at once: a busy mount (an fd
	# left open inside it) sends containerd down its dead-shim clean-up.
	if grep -q 'failed to unmount' "$run/containerd.log"; then
		echo "containerd suite: a rootfs did not unmount cleanly: $(grep -m1 'failed to unmount' "$run/containerd.log" | cut -c1-200)" >&2
		status=1
	fi
	pid=$(cat "$run/containerd.pid")
	if ! "$HERE/stop.sh" "$run"; then
		echo "containerd suite: containerd $v left something behind (see above)" >&2
		status=1
	fi
	# still running as this run's containerd (a zombie not yet reaped is gone)
	if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$run/config.toml" || [ -e "$run" ]; then
		echo "containerd suite: containerd $pid or $run still there after stop" >&2
		status=1
	fi
	run=
	unset WASICERT_CONTAINERD_ADDRESS WASICERT_CONTAINERD_STATE_DIR
done
[ $status = 0 ] && echo && echo "containerd suite: passed on containerd $VERSIONS; nothing left behind"
exit $status
