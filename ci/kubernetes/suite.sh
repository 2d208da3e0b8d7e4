#!/usr/bin/env bash
# suite.sh [OUTDIR]: the capability suite through containerd's CRI, as
# kubelet drives it (the runtime cri: one pod per probe run), with our shim as
# the runtime handler "wazero", each run in a private containerd that
# ci/kubernetes/cri.sh starts (the wasm pause image, no registry):
#   - on a pod network (WASICERT_CRI_NETWORK=pod: CNI bridge and host-local,
#     the daemon in a network namespace of its own), the whole catalogue, on
#     every version in WASICERT_CONTAINERD_VERSIONS (default "1.6 2");
#   - on the host's network (host: hostNetwork pods, no CNI), the specs of
#     WASICERT_CRI_HOST_FILTER (default 'Area:socket || Area:env', what the
#     network namespace changes), on WASICERT_CRI_HOST_VERSION (default the
#     last version; empty: no host-network run).
# Each run says which network it ran on and writes OUTDIR/<version>-<pod|host>.
# Then it fails on anything left behind: a pod, container or image of the
# runner's in the k8s.io namespace (the pinned pause image stays until the
# daemon stops), and, after stopping the daemon (ci/containerd/stop.sh), a
# containerd or shim process, a mount, the run dir, the daemon's netns, a
# veth, a reserved address, a libcni cache entry.
#
# WASICERT_CRI_LABEL_FILTER narrows the specs of every run (e.g.
# 'Area:env || Area:preopen').
# Interrupted (INT, TERM) or failing, it still stops the daemon.
# Not root: prints one line saying why the CRI specs are skipped, exit 0.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/out/cri}
WASICERT=${WASICERT:-$REPO/bin/wasicert}
VERSIONS=${WASICERT_CONTAINERD_VERSIONS:-1.6 2}
HOST_VERSION=${WASICERT_CRI_HOST_VERSION-${VERSIONS##* }}
HOST_FILTER=${WASICERT_CRI_HOST_FILTER:-Area:socket || Area:env}
PAUSE=${WASICERT_CRI_PAUSE_IMAGE:-wasicert.local/pause:tripwire}

if [ "$(id -u)" != 0 ]; then
	echo "cri suite: skipped: a private containerd needs root (running as uid $(id -u))"
	exit 0
fi
[ -x "$WASICERT" ] || { echo "suite.sh: $WASICERT not built: run make build" >&2; exit 2; }
export WASICERT_HOST_CANARY=${WASICERT_HOST_CANARY:-HOST-ENV-CANARY-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}

run=
cleanup() {
	if [ -n "$run" ]; then
		"$REPO/ci/containerd/stop.sh" "$run" >/dev/null 2>&1
		run=
	fi
}
trap cleanup EXIT
trap 'echo "cri suite: interrupted" >&2; cleanup; exit 130' INT
trap 'echo "cri suite: terminated" >&2; cleanup; exit 143' TERM

# leftovers: containers, and images other than the pause image, in k8s.io.
leftovers() {
	local ctr out
	ctr=$(cat "$run/ctr.path")
	out=$("$ctr" --address "$sock" -n k8s.io containers ls -q 2>/dev/null) || { echo "ctr containers ls failed"; return; }
	[ -z "$out" ] || echo "containers: $(echo $out)"
	out=$("$ctr" --address "$sock" -n k8s.io images ls -q 2>/dev/null | grep -vxF "$PAUSE" | grep -v '^sha256:')
	[ -z "$out" ] || echo "images: $(echo $out)"
}

# runs: "VERSION MODE" per line.
runs() {
	local v
	for v in $VERSIONS; do echo "$v pod"; done
	[ -z "$HOST_VERSION" ] || echo "$HOST_VERSION host"
}

status=0
mkdir -p "$OUT"
mapfile -t RUNS < <(runs)
for r in "${RUNS[@]}"; do
	read -r v mode <<<"$r"
	run=$(mktemp -d /tmp/wcri.XXXX)
	if ! sock=$(WASICERT_CRI_NETWORK=$mode "$HERE/cri.sh" "$v" "$run" | tail -n1); then
		echo "cri suite: containerd $v with CRI ($mode network) did not start" >&2
		rmdir "$run" 2>/dev/null || "$REPO/ci/containerd/stop.sh" "$run" >/dev/null 2>&1
		run=
		status=1
		continue
	fi
	out=$OUT/$v-$mode
	mkdir -p "$out"
	f=${WASICERT_CRI_LABEL_FILTER:-}
	if [ "$mode" = host ]; then
		if [ -n "$f" ]; then f="($f) && ($HOST_FILTER)"; else f=$HOST_FILTER; fi
	fi
	filter=()
	[ -z "$f" ] || filter=(--label-filter "$f")
	start=$(date +%s)
	WASICERT_CRI_NETWORK=$mode WASICERT_CRI_STATE_DIR="$run/tmp/cri" "$WASICERT" run --runtime cri --cri-endpoint "unix://$sock" --runtime-handler wazero \
		"${filter[@]}" --junit "$out/junit.xml" --records "$out/records.jsonl" >"$out/run.log" 2>&1
	rc=$?
	echo "cri suite: containerd $(cat "$run/version") via CRI, $mode network${f:+ ($f)}: exit $rc in $(( $(date +%s) - start )) s ($out/run.log)"
	[ $rc = 0 ] || { tail -n 30 "$out/run.log"; status=1; }
	left=$(leftovers)
	if [ -n "$left" ]; then
		echo "cri suite: containerd $v ($mode network): left behind: $left" >&2
		status=1
	fi
	if ! "$REPO/ci/containerd/stop.sh" "$run" >&2; then
		echo "cri suite: containerd $v ($mode network): stop.sh found leftovers" >&2
		status=1
	fi
	run=
done
exit $status
