#!/usr/bin/env bash
# cri.sh VERSION RUNDIR — start a private containerd (VERSION 1.6 or 2) as
# root with its CRI plugin on and our shim registered as the runtime handler
# "wazero", everything under RUNDIR (root, state, sockets, log, config, the
# shim in RUNDIR/bin, the CNI config), no systemd. The sandbox ("pause")
# image is a Linux image like a cluster's whose entrypoint is a tripwire
# (ci/kubernetes/pause), imported into the k8s.io namespace: no registry is
# asked. Prints the socket (the containerd API and the CRI on one socket) on
# the last line of stdout. Stop it with ci/containerd/stop.sh RUNDIR, which
# also reports leftovers (shims, mounts).
#
# The same layout and exit codes as ci/containerd/start.sh (0 started; 3 not
# root; 1 anything else, with the log tail), whose binaries it uses:
# Debian's containerd 1.6, and containerd 2 in .tools/containerd-<version>
# (ci/containerd/install.sh installs them when missing).
#
# Network (WASICERT_CRI_NETWORK; RUNDIR/cni holds the CNI config): "pod" (the default) gives pods their own
# network through CNI and keeps it off the host's: cri.sh makes a network
# namespace of its own, bind-mounted at RUNDIR/netns, and runs containerd in
# it (and so its shims and the CNI plugins), in a mount namespace of its own
# too. The CNI conflist in RUNDIR/cni/conf (ci/kubernetes/cni) is a bridge
# of its own name with host-local addresses from 10.231.0.0/24 (reservations in
# RUNDIR/cni/ipam); containerd's CRI brings each pod's lo up itself with
# the loopback plugin (its own network "cni-loopback"). The plugins are the
# pinned ones of ci/kubernetes/cni/install.sh. Each pod's netns gets eth0 with an address;
# the bridge and the veths live in the daemon's netns, which has no link to
# the host's. libcni's cache (/var/lib/cni, not configurable in containerd)
# lands in RUNDIR: in the daemon's mount namespace /var/lib is an overlay
# whose writes go to RUNDIR/cni/varlib (or, where the host has /var/lib/cni,
# RUNDIR/cni/cache is bind-mounted on it). RUNDIR itself is a shared bind
# mount, so the mounts the CRI makes under it (pod netns, rootfs) show on
# the host as without a mount namespace, and stop.sh sees a leftover one.
# RUNDIR/cni/network names the network (NAME, BRIDGE, SUBNET, NETNS).
# "host": as before, containerd in the host's namespaces and no CNI config:
# only host-network pods (NamespaceMode NODE) run.
#
# Env: SHIM_BIN=path copies a prebuilt shim instead of building it;
#      WASICERT_WEAK_SHIM=1 also builds the weakened shim (build tag
#      wasicert_weakened, the negative control) as the second runtime
#      handler "wazeroweak" (io.containerd.wazeroweak.v1), or copies
#      WEAK_SHIM_BIN as that one;
#      CONTAINERD2_VERSION (default v2.2.9); WASICERT_CRI_PAUSE_IMAGE
#      (default wasicert.local/pause:tripwire).
set -euo pipefail

VERSION=${1:?usage: cri.sh 1.6|2 RUNDIR}
RUN=${2:?usage: cri.sh 1.6|2 RUNDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PAUSE=${WASICERT_CRI_PAUSE_IMAGE:-wasicert.local/pause:tripwire}

if [ "$(id -u)" != 0 ]; then
	echo "skip: a private containerd needs root (running as uid $(id -u))" >&2
	exit 3
fi
case "$VERSION" in
1.6 | 2) ;;
*)
	echo "cri.sh: unknown version $VERSION (want 1.6 or 2)" >&2
	exit 1
	;;
esac
NETWORK=${WASICERT_CRI_NETWORK:-pod}
SUBNET=10.231.0.0/24
case "$NETWORK" in
pod | host) ;;
*)
	echo "cri.sh: WASICERT_CRI_NETWORK=$NETWORK: want pod or host" >&2
	exit 1
	;;
esac
paths=$("$REPO/ci/containerd/install.sh" "$VERSION") || { echo "cri.sh: installing containerd $VERSION failed" >&2; exit 1; }
CONTAINERD=$(echo "$paths" | sed -n 1p)
CTR=$(echo "$paths" | sed -n 2p)

mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
SOCK=$RUN/containerd.sock
if [ $(( ${#RUN} + 68 )) -ge 106 ]; then
	echo "cri.sh: run dir path $RUN is too long for unix sockets; use a short one (e.g. mktemp -d /tmp/wcd.XXXX)" >&2
	exit 1
fi
if [ -e "$RUN/containerd.pid" ] && kill -0 "$(cat "$RUN/containerd.pid")" 2>/dev/null; then
	echo "cri.sh: a containerd already runs for $RUN (pid $(cat "$RUN/containerd.pid"))" >&2
	exit 1
fi
mkdir -p "$RUN/bin" "$RUN/root" "$RUN/state" "$RUN/s" "$RUN/cache" "$RUN/tmp" "$RUN/cni/conf"
CNI_BIN=$("$REPO/ci/kubernetes/cni/install.sh") || { echo "cri.sh: installing the CNI plugins failed" >&2; exit 1; }
DAEMON_NS=()
if [ "$NETWORK" = pod ]; then
	. "$HERE/cni/netns.sh"
fi
if [ -n "${SHIM_BIN:-}" ]; then
	cp "$SHIM_BIN" "$RUN/bin/containerd-shim-wazero-v1"
else
	(cd "$REPO" && go build -o "$RUN/bin/containerd-shim-wazero-v1" ./cmd/containerd-shim-wazero-v1) >&2
fi
(cd "$REPO" && go build -o "$RUN/bin/wasicert-pause-import" ./ci/kubernetes/pause &&
	CGO_ENABLED=0 go build -o "$RUN/bin/wasicert-pause" ./ci/kubernetes/pause/linux) >&2
WEAK_V3="" WEAK_V2=""
if [ -n "${WASICERT_WEAK_SHIM:-}" ]; then
	if [ -n "${WEAK_SHIM_BIN:-}" ]; then
		cp "$WEAK_SHIM_BIN" "$RUN/bin/containerd-shim-wazeroweak-v1"
	else
		(cd "$REPO" && go build -tags wasicert_weakened -o "$RUN/bin/containerd-shim-wazeroweak-v1" ./cmd/containerd-shim-wazero-v1) >&2
	fi
	WEAK_V3="  [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.wazeroweak]
    runtime_type = \"io.containerd.wazeroweak.v1\"
    sandboxer = \"podsandbox\"
    snapshotter = \"native\""
	WEAK_V2="    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.wazeroweak]
      runtime_type = \"io.containerd.wazeroweak.v1\""
fi

TOP="root = \"$RUN/root\"
state = \"$RUN/state\""
TABLES="[grpc]
  address = \"$SOCK\"

[ttrpc]
  address = \"$SOCK.ttrpc\"

[debug]
  address = \"$RUN/debug.sock\"
  level = \"info\"

[metrics]
  address = \"\""

if [ "$VERSION" = 2 ]; then
	cat >"$RUN/config.toml" <<TOML
version = 3
$TOP

disabled_plugins = [
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

$TABLES

# The CRI pulls through the transfer service, which unpacks only for the
# platforms and snapshotters listed here: the test daemons' snapshotter is
# native (the default list names overlayfs), so a pull (the cri runner's
# WASICERT_CRI_IMAGES=registry) needs it listed.
[plugins."io.containerd.transfer.v1.local"]
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "linux/$(go env GOARCH)"
    snapshotter = "native"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "native"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE"
  # Images of the handler wazero are wasi/wasm32 (internal/ociimage), the
  # host's platform for everything else.
  [plugins."io.containerd.cri.v1.images".runtime_platforms.wazero]
    platform = "wasi/wasm32"
    snapshotter = "native"
  [plugins."io.containerd.cri.v1.images".runtime_platforms.wazeroweak]
    platform = "wasi/wasm32"
    snapshotter = "native"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  # The sandbox's process.oomScoreAdj is -998; lowering it needs
  # CAP_SYS_RESOURCE, which a test machine may lack: clamp it to ours.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$CNI_BIN"]
    conf_dir = "$RUN/cni/conf"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.wazero]
    runtime_type = "io.containerd.wazero.v1"
    sandboxer = "podsandbox"
    snapshotter = "native"
$WEAK_V3

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
TOML
else
	cat >"$RUN/config.toml" <<TOML
version = 2
$TOP

disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
]

$TABLES

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$RUN/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wazero]
      runtime_type = "io.containerd.wazero.v1"
$WEAK_V2
TOML
fi

export PATH="$RUN/bin:$PATH"
export WASICERT_SHIM_SOCKET_DIR="$RUN/s"
export WASICERT_SHIM_CACHE_DIR="${WASICERT_SHIM_CACHE_DIR:-$RUN/cache}"
export TMPDIR="$RUN/tmp"
export WASICERT_CANARY="${WASICERT_CANARY:-wasicert-canary-$RANDOM$RANDOM}"
echo "WASICERT_CANARY=$WASICERT_CANARY" >"$RUN/canary"
cd "$RUN"
"${DAEMON_NS[@]}" "$CONTAINERD" --config "$RUN/config.toml" </dev/null >"$RUN/containerd.log" 2>&1 &
PID=$!
echo "$PID" >"$RUN/containerd.pid"
echo "$CTR" >"$RUN/ctr.path"
echo "cri.sh: pods on the $NETWORK network$([ "$NETWORK" = host ] || echo " ($SUBNET, the daemon in netns $RUN/netns)")" >&2

for _ in $(seq 1 100); do
	if "$CTR" --address "$SOCK" version >/dev/null 2>&1; then
		"$CTR" --address "$SOCK" version | sed -n 's/^ *Version: *//p' | tail -1 >"$RUN/version"
		if ! "$RUN/bin/wasicert-pause-import" -address "$SOCK" -name "$PAUSE" -snapshotter native -entrypoint "$RUN/bin/wasicert-pause" >&2; then
			break
		fi
		echo "containerd $(cat "$RUN/version") with CRI (handler wazero, sandbox image $PAUSE) pid $PID root $RUN" >&2
		echo "$SOCK"
		exit 0
	fi
	if ! kill -0 "$PID" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
echo "cri.sh: containerd ($CONTAINERD) did not become ready on $SOCK within 10 s; log tail:" >&2
tail -n 20 "$RUN/containerd.log" >&2 || true
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
