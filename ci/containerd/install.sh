#!/usr/bin/env bash
# install.sh VERSION: install containerd VERSION (1.6: Debian's, with apt;
# 2: v2.2.9 or $CONTAINERD2_VERSION, go-installed into <repo>/.tools) when
# missing, and print the containerd and ctr paths, one per line. Callers
# (start.sh, ci/kubernetes/cri.sh) run concurrently under `go test ./...`:
# a lock makes the installs one at a time (apt's lock would refuse a second).
set -euo pipefail
VERSION=${1:?usage: install.sh 1.6|2}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
C2V=${CONTAINERD2_VERSION:-v2.2.9}

exec 9>/tmp/wasicert-containerd-install.lock
flock 9
case "$VERSION" in
1.6)
	if ! command -v containerd >/dev/null || ! containerd --version | grep -q ' 1\.6\.'; then
		echo "installing Debian's containerd 1.6 (apt-get install -y containerd)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y containerd >&2 ||
			{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y containerd >&2; }
	fi
	command -v containerd
	command -v ctr
	;;
2)
	BIN="$REPO/.tools/containerd-${C2V#v}"
	if [ ! -x "$BIN/containerd" ] || [ ! -x "$BIN/ctr" ]; then
		echo "installing containerd $C2V into $BIN (go install, ~2 min on 2 cores)" >&2
		mkdir -p "$BIN"
		(cd /tmp && GOBIN="$BIN" CGO_ENABLED=0 go install -tags "no_btrfs no_devmapper no_zfs no_aufs" \
			"github.com/containerd/containerd/v2/cmd/containerd@$C2V" \
			"github.com/containerd/containerd/v2/cmd/ctr@$C2V") >&2
	fi
	echo "$BIN/containerd"
	echo "$BIN/ctr"
	;;
*)
	echo "install.sh: unknown version $VERSION (want 1.6 or 2)" >&2
	exit 1
	;;
esac
