#!/usr/bin/env bash
# start.sh VERSION RUNDIR — start a private containerd (VERSION 1.6 or 2) as
# root, everything under RUNDIR (root, state, sockets, log, config, our shim
# in RUNDIR/bin), the CRI plugin off, no systemd. Prints the gRPC socket path
# on the last line of stdout. Stop it with stop.sh RUNDIR.
#
# Exit codes: 0 started; 3 not root (the caller skips, reason on stderr);
# 1 anything else (with the log tail).
#
# Env: SHIM_BIN=path copies a prebuilt shim instead of building it;
#      WASICERT_WEAK_SHIM=1 also builds the weakened shim (negative control)
#      as runtime io.containerd.wazeroweak.v1;
#      WASICERT_SHIM_CACHE_DIR overrides the shim's compile cache dir
#      (default RUNDIR/cache); CONTAINERD2_VERSION (default v2.2.9).
set -euo pipefail

VERSION=${1:?usage: start.sh 1.6|2 RUNDIR}
RUN=${2:?usage: start.sh 1.6|2 RUNDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "skip: a private containerd needs root (running as uid $(id -u))" >&2
	exit 3
fi

case "$VERSION" in
1.6 | 2) ;;
*)
	echo "start.sh: unknown version $VERSION (want 1.6 or 2)" >&2
	exit 1
	;;
esac
paths=$("$REPO/ci/containerd/install.sh" "$VERSION") || { echo "start.sh: installing containerd $VERSION failed" >&2; exit 1; }
CONTAINERD=$(echo "$paths" | sed -n 1p)
CTR=$(echo "$paths" | sed -n 2p)

mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
SOCK=$RUN/containerd.sock
# shim sockets go to RUN/s/<64 hex>; a unix socket path must stay < 108 bytes
if [ $(( ${#RUN} + 68 )) -ge 106 ]; then
	echo "start.sh: run dir path $RUN is too long for unix sockets; use a short one (e.g. mktemp -d /tmp/wcd.XXXX)" >&2
	exit 1
fi
if [ -e "$RUN/containerd.pid" ] && kill -0 "$(cat "$RUN/containerd.pid")" 2>/dev/null; then
	echo "start.sh: a containerd already runs for $RUN (pid $(cat "$RUN/containerd.pid"))" >&2
	exit 1
fi
mkdir -p "$RUN/bin" "$RUN/root" "$RUN/state" "$RUN/s" "$RUN/cache" "$RUN/tmp"

if [ -n "${SHIM_BIN:-}" ]; then
	cp "$SHIM_BIN" "$RUN/bin/containerd-shim-wazero-v1"
else
	(cd "$REPO" && go build -o "$RUN/bin/containerd-shim-wazero-v1" ./cmd/containerd-shim-wazero-v1) >&2
fi
# The weakened shim (build tag wasicert_weakened: the first shim's device
# nodes, tmpfs and bind handling), runtime io.containerd.wazeroweak.v1: the
# negative control of the filesystem shim specs. Only when asked for.
if [ -n "${WASICERT_WEAK_SHIM:-}" ]; then
	(cd "$REPO" && go build -tags wasicert_weakened -o "$RUN/bin/containerd-shim-wazeroweak-v1" ./cmd/containerd-shim-wazero-v1) >&2
fi

cat >"$RUN/config.toml" <<TOML
version = 2
root = "$RUN/root"
state = "$RUN/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.cri.v1.images",
  "io.containerd.cri.v1.runtime",
  "io.containerd.podsandbox.controller.v1.podsandbox",
  "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = "$RUN/debug.sock"
  level = "info"

[metrics]
  address = ""
TOML

# containerd passes its environment to the shims it starts: the shim finds
# its socket dir and compile cache dir there (never in the container spec).
export PATH="$RUN/bin:$PATH"
export WASICERT_SHIM_SOCKET_DIR="$RUN/s"
export WASICERT_SHIM_CACHE_DIR="${WASICERT_SHIM_CACHE_DIR:-$RUN/cache}"
export TMPDIR="$RUN/tmp"
# A canary in the shim's own environment: specs check it never reaches a guest.
export WASICERT_CANARY="${WASICERT_CANARY:-wasicert-canary-$RANDOM$RANDOM}"
echo "WASICERT_CANARY=$WASICERT_CANARY" >"$RUN/canary"
# containerd looks for a shim binary in its working directory before PATH
# (core/runtime/v2/shim_manager.go: os.Stat of the bare name), so a stray
# containerd-shim-wazero-v1 in the caller's cwd would replace ours: start it
# from the run dir.
cd "$RUN"
"$CONTAINERD" --config "$RUN/config.toml" </dev/null >"$RUN/containerd.log" 2>&1 &
PID=$!
echo "$PID" >"$RUN/containerd.pid"
echo "$CTR" >"$RUN/ctr.path"

for _ in $(seq 1 100); do
	if "$CTR" --address "$SOCK" version >/dev/null 2>&1; then
		"$CTR" --address "$SOCK" version | sed -n 's/^ *Version: *//p' | tail -1 >"$RUN/version"
		echo "containerd $(cat "$RUN/version") pid $PID root $RUN" >&2
		echo "$SOCK"
		exit 0
	fi
	if ! kill -0 "$PID" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
echo "start.sh: containerd ($CONTAINERD) did not become ready on $SOCK within 10 s; log tail:" >&2
tail -n 20 "$RUN/containerd.log" >&2 || true
# Our child, but signal it only while it still is ours; wait for it to exit.
ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$RUN/config.toml"; }
if ours "$PID"; then
	kill -TERM "$PID" 2>/dev/null || true
	for _ in $(seq 1 50); do ours "$PID" || break; sleep 0.1; done
	if ours "$PID"; then
		kill -KILL "$PID" 2>/dev/null || true
	fi
fi
wait "$PID" 2>/dev/null || true
exit 1
