#!/usr/bin/env bash
# suite.sh [OUTDIR]: the capability suite through containerd's CRI, as
# kubelet drives it (the runtime cri: one pod per probe run), with our shim as
# the runtime handler "wazero", on every version in WASICERT_CONTAINERD_VERSIONS
# (default "1.6 2"), each in a private containerd that ci/kubernetes/cri.sh
# starts (host-network pods, the wasm pause image, no registry). Then it fails
# on anything left behind: a pod, container or image of the runner's in the
# k8s.io namespace (the pinned pause image stays until the daemon stops), and,
# after stopping the daemon (ci/containerd/stop.sh), a containerd or shim
# process, a mount, the run dir.
#
# WASICERT_CRI_LABEL_FILTER narrows the specs (e.g. 'Area:env || Area:preopen').
# Interrupted (INT, TERM) or failing, it still stops the daemon.
# Not root: prints one line saying why the CRI specs are skipped, exit 0.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/out/cri}
WASICERT=${WASICERT:-$REPO/bin/wasicert}
VERSIONS=${WASICERT_CONTAINERD_VERSIONS:-1.6 2}
PAUSE=${WASICERT_CRI_PAUSE_IMAGE:-wasicert.local/pause:wasm}

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

status=0
mkdir -p "$OUT"
for v in $VERSIONS; do
	run=$(mktemp -d /tmp/wcri.XXXX)
	if ! sock=$("$HERE/cri.sh" "$v" "$run" | tail -n1); then
		echo "cri suite: containerd $v with CRI did not start" >&2
		rmdir "$run" 2>/dev/null || "$REPO/ci/containerd/stop.sh" "$run" >/dev/null 2>&1
		run=
		status=1
		continue
	fi
	mkdir -p "$OUT/$v"
	filter=()
	[ -z "${WASICERT_CRI_LABEL_FILTER:-}" ] || filter=(--label-filter "$WASICERT_CRI_LABEL_FILTER")
	start=$(date +%s)
	WASICERT_CRI_STATE_DIR="$run/tmp/cri" "$WASICERT" run --runtime cri --cri-endpoint "unix://$sock" --runtime-handler wazero \
		"${filter[@]}" --junit "$OUT/$v/junit.xml" --records "$OUT/$v/records.jsonl" >"$OUT/$v/run.log" 2>&1
	rc=$?
	echo "cri suite: containerd $(cat "$run/version") via CRI: exit $rc in $(( $(date +%s) - start )) s ($OUT/$v/run.log)"
	[ $rc = 0 ] || { tail -n 30 "$OUT/$v/run.log"; status=1; }
	left=$(leftovers)
	if [ -n "$left" ]; then
		echo "cri suite: containerd $v: left behind: $left" >&2
		status=1
	fi
	if ! "$REPO/ci/containerd/stop.sh" "$run" >&2; then
		echo "cri suite: containerd $v: stop.sh found leftovers" >&2
		status=1
	fi
	run=
done
exit $status
