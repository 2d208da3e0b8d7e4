#!/usr/bin/env bash
# install.sh: install the CNI plugins the private CRI daemons use (bridge,
# host-local, loopback from github.com/containernetworking/plugins, pinned
# at $CNI_PLUGINS_VERSION, default v1.6.2) into <repo>/.tools/cni-<version>
# when missing, with `go install` (no prebuilt download), and print that
# directory. Callers (ci/kubernetes/cri.sh, `make cni-plugins`) may run
# concurrently under `go test ./...`: a lock makes the installs one at a
# time, and a half-done install is never seen (it is built aside and moved
# into place whole).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
V=${CNI_PLUGINS_VERSION:-v1.6.2}
TOOLS="$REPO/.tools"
BIN="$TOOLS/cni-${V#v}"
PLUGINS="bridge host-local loopback"

complete() {
	local p
	for p in $PLUGINS; do [ -x "$BIN/$p" ] || return 1; done
}

if ! complete; then
	mkdir -p "$TOOLS"
	exec 9>"$TOOLS/.cni-install.lock"
	flock 9
	if ! complete; then
		echo "installing the CNI plugins $PLUGINS $V into $BIN (go install)" >&2
		tmp=$(mktemp -d "$TOOLS/.cni-${V#v}.XXXX")
		trap 'rm -rf "$tmp"' EXIT
		M=github.com/containernetworking/plugins
		chmod 755 "$tmp"
		(cd "$tmp" && GOBIN="$tmp" CGO_ENABLED=0 go install \
			"$M/plugins/main/bridge@$V" "$M/plugins/ipam/host-local@$V" "$M/plugins/main/loopback@$V") >&2
		rm -rf "$BIN"
		mv -T "$tmp" "$BIN"
		trap - EXIT
	fi
fi
echo "$BIN"
