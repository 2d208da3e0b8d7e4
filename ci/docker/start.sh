#!/usr/bin/env bash
# start.sh RUNDIR CONTAINERD_SOCKET — start a private Docker engine (moby's
# dockerd, DOCKERD_VERSION, installed into .tools on first use) as root on
# the private containerd at CONTAINERD_SOCKET (ci/containerd/start.sh 2),
# everything under RUNDIR: data root, exec root, socket, pid file, log,
# daemon config, the CLI's config dir. No bridge, no iptables or ip6tables
# rules, no userland proxy, no forwarding or masquerading changes: the
# host's network configuration is never touched. Containers' cgroups go
# under a parent of the run's own (RUNDIR/cgroup-parent holds its name).
# DOCKERD_RUNC=/abs/path/runc (optional): a runc this dockerd accepts
# (Debian's 1.1.5 does not: it knows no time namespace), registered as the
# runtime "wasicert-runc" and made the default, so that a plain docker run
# of a Linux image uses it (make bench-containers go-installs runc 1.3.7).
# Prints the engine's socket (unix://...) on the last line of stdout.
# Stop it with stop.sh RUNDIR.
#
# Exit codes: 0 started; 3 not root (the caller skips, reason on stderr);
# 1 anything else (with the log tail).
set -euo pipefail
RUN=${1:?usage: start.sh RUNDIR CONTAINERD_SOCKET}
CSOCK=${2:?usage: start.sh RUNDIR CONTAINERD_SOCKET}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DV=${DOCKERD_VERSION:-v2.0.0-beta.24}

if [ "$(id -u)" != 0 ]; then
	echo "skip: a private dockerd needs root (running as uid $(id -u))" >&2
	exit 3
fi
BIN="$REPO/.tools/dockerd-${DV#v}"
if [ ! -x "$BIN/dockerd" ]; then
	echo "installing dockerd $DV into $BIN (go install, ~2 min on 2 cores)" >&2
	mkdir -p "$BIN"
	(cd /tmp && GOBIN="$BIN" CGO_ENABLED=0 go install "github.com/moby/moby/v2/cmd/dockerd@$DV") >&2
fi

mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
if [ -e "$RUN/docker.pid" ] && kill -0 "$(cat "$RUN/docker.pid")" 2>/dev/null; then
	echo "start.sh: a dockerd already runs for $RUN (pid $(cat "$RUN/docker.pid"))" >&2
	exit 1
fi
mkdir -p "$RUN/data" "$RUN/exec" "$RUN/cli" "$RUN/tmp"
SOCK=$RUN/docker.sock
# The daemon's own config file: /etc/docker/daemon.json is never read.
if [ -n "${DOCKERD_RUNC:-}" ]; then
	[ -x "$DOCKERD_RUNC" ] || { echo "start.sh: DOCKERD_RUNC=$DOCKERD_RUNC is not an executable" >&2; exit 1; }
	printf '{"runtimes": {"wasicert-runc": {"path": "%s"}}, "default-runtime": "wasicert-runc"}\n' "$DOCKERD_RUNC" >"$RUN/daemon.json"
else
	echo '{}' >"$RUN/daemon.json"
fi
PARENT="wasicert-docker-$(basename "$RUN")"
echo "$PARENT" >"$RUN/cgroup-parent"
# DOCKER_CONFIG: the CLI's config (and its contexts) under the run dir.
export DOCKER_CONFIG="$RUN/cli" TMPDIR="$RUN/tmp"
cd "$RUN"
"$BIN/dockerd" --config-file "$RUN/daemon.json" \
	--data-root "$RUN/data" --exec-root "$RUN/exec" --pidfile "$RUN/docker.pid" \
	-H "unix://$SOCK" --containerd "$CSOCK" \
	--containerd-namespace wasicert-moby --containerd-plugins-namespace wasicert-moby-plugins \
	--cgroup-parent "/$PARENT" \
	--bridge=none --iptables=false --ip6tables=false --userland-proxy=false --ip-forward=false --ip-masq=false \
	</dev/null >"$RUN/dockerd.log" 2>&1 &
PID=$!
echo "$PID" >"$RUN/dockerd.ownpid"
echo "$BIN/dockerd" >"$RUN/dockerd.path"

ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$RUN/daemon.json"; }
for _ in $(seq 1 300); do
	if [ -S "$SOCK" ] && curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; then
		echo "${DV#v} ($(curl -sf --unix-socket "$SOCK" http://d/version | python3 -c 'import json,sys; print("API " + json.load(sys.stdin)["ApiVersion"])'))" >"$RUN/version"
		echo "dockerd $(cat "$RUN/version") pid $PID root $RUN" >&2
		echo "unix://$SOCK"
		exit 0
	fi
	if ! kill -0 "$PID" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
echo "start.sh: dockerd did not become ready on $SOCK within 30 s; log tail:" >&2
tail -n 20 "$RUN/dockerd.log" >&2 || true
if ours "$PID"; then
	kill -TERM "$PID" 2>/dev/null || true
	for _ in $(seq 1 100); do ours "$PID" || break; sleep 0.1; done
	if ours "$PID"; then kill -KILL "$PID" 2>/dev/null || true; fi
fi
wait "$PID" 2>/dev/null || true
exit 1
