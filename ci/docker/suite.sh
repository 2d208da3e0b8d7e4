#!/usr/bin/env bash
# suite.sh CONTAINERD_SOCKET [OUTDIR]: the capability suite through a
# private Docker engine (ci/docker/start.sh) on the private containerd at
# CONTAINERD_SOCKET, which runs our shim (io.containerd.wazero.v1) and the
# weakened one (io.containerd.wazeroweak.v1): ci/containerd/suite.sh calls
# it for containerd 2.x. It runs
#   1. the whole catalogue through docker run --runtime=io.containerd.wazero.v1
#      (runners/docker; the engine's PATH and HOSTNAME reported as injected),
#   2. the engine specs' negative controls (runners/docker TestEngineSpecs,
#      TestSeedsCommand: the seeds' docker run, through the Go client and the
#      docker CLI where one is installed),
# then fails on anything the engine left: a container or image it lists,
# and, after stopping it by pid, a process, mount or cgroup of its run dir.
# WASICERT_HOST_CANARY (exported by the caller) is in dockerd's environment.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CSOCK=${1:?usage: suite.sh CONTAINERD_SOCKET [OUTDIR]}
OUT=${2:-$REPO/out/docker}
WASICERT=${WASICERT:-$REPO/bin/wasicert}

if [ "$(id -u)" != 0 ]; then
	echo "docker suite: skipped: a private dockerd needs root (running as uid $(id -u))"
	exit 0
fi
drun=$(mktemp -d /tmp/wdk.XXXX)
stopped=
stop() {
	[ -n "$stopped" ] && return
	stopped=1
	"$HERE/stop.sh" "$drun"
}
trap 'stop >/dev/null 2>&1' EXIT
trap 'echo "docker suite: interrupted" >&2; stop; exit 130' INT
trap 'echo "docker suite: terminated" >&2; stop; exit 143' TERM

if ! host=$("$HERE/start.sh" "$drun" "$CSOCK"); then
	echo "docker suite: dockerd did not start" >&2
	exit 1
fi
export WASICERT_DOCKER_HOST=$host DOCKER_HOST=$host DOCKER_CONFIG=$drun/cli
status=0
start=$(date +%s)
echo "== dockerd $(cat "$drun/version") on containerd $CSOCK: the catalogue through docker run --runtime=io.containerd.wazero.v1"
"$WASICERT" run --runtime docker --junit "$OUT/junit.xml" --results "$OUT/results.jsonl" || status=1
echo "== dockerd: the engine specs' negative controls, the seeds' command"
(cd "$REPO" && go test -count=1 -run 'TestEngineSpecs|TestSeedsCommand|TestSeedsObservations|TestTraces' ./runners/docker/) || status=1

# Leftovers the engine lists: containers (any state), images.
api() { curl -sf --unix-socket "$drun/docker.sock" "http://d$1"; }
left=$(api '/containers/json?all=1' | python3 -c 'import json,sys; print(" ".join(c["Id"][:12]+":"+",".join(c["Names"]) for c in json.load(sys.stdin)))')
if [ -n "$left" ]; then
	echo "docker suite: containers left behind: $left" >&2
	status=1
fi
left=$(api '/images/json?all=1' | python3 -c 'import json,sys; print(" ".join(",".join(i.get("RepoTags") or [i["Id"][:19]]) for i in json.load(sys.stdin)))')
if [ -n "$left" ]; then
	echo "docker suite: images left behind: $left" >&2
	status=1
fi
if ! stop; then
	echo "docker suite: dockerd left something behind (see above)" >&2
	status=1
fi
[ -e "$drun" ] && { echo "docker suite: $drun still there after stop" >&2; status=1; }
[ $status = 0 ] && echo "docker suite: passed in $(( $(date +%s) - start )) s; nothing left behind"
exit $status
