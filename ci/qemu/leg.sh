#!/usr/bin/env bash
# leg.sh GOARCH OUTDIR [RUNTIME]: one leg of the per-architecture comparison
# (README.md, "Architectures"). It cross-builds wasicert for GOARCH and runs
# the whole catalogue there under qemu-user, called directly (no binfmt),
# writing OUTDIR/records.jsonl (canonical records: wasicert compare reads
# them), OUTDIR/junit.xml (with summary.json beside it), OUTDIR/output.log
# and OUTDIR/times.txt (cross-build and run seconds).
#
#   GOARCH   amd64 (native, on an amd64 host: the baseline), arm64, s390x
#            (big-endian), riscv64, ppc64le
#   RUNTIME  wazero (default): embedded wazero, compiler on amd64 and arm64,
#            interpreter elsewhere (wazero's compiler targets only those two);
#            wasmtime: on arm64, the native wasicert judges and starts an
#            arm64 wasicert-worker-wasmtime (cross-built with Debian's
#            aarch64-linux-gnu toolchain) under qemu-aarch64
#            ($WASICERT_WORKER_EMULATOR); on amd64, native wasmtime.
#            amd64 legs run make build's bin/wasicert natively.
#
# Environment: WASICERT_TIME_SCALE (default 5) multiplies the per-run timeout
# (10s) under emulation; WASICERT_LEG_BIN (default <repo>/bin/linux-GOARCH)
# is where the cross-built binaries go; GO (default go).
#
# What it needs and lacks (qemu-user; for the wasmtime leg
# gcc-aarch64-linux-gnu and libc6-dev-arm64-cross) it installs with apt-get
# when run as root, and otherwise names. Exit: the run's status (0: every
# spec passed or failed as expected), 2 on bad usage or a missing tool.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}
ARCHES="amd64 arm64 s390x riscv64 ppc64le"

die() { echo "leg.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: leg.sh GOARCH OUTDIR [RUNTIME] (GOARCH: ${ARCHES// /, }; RUNTIME: wazero or wasmtime)"
ARCH=$1 OUT=$2 RUNTIME=${3:-wazero}
case " $ARCHES " in *" $ARCH "*) ;; *) die "unknown GOARCH '$ARCH': use one of ${ARCHES// /, }" ;; esac
case $RUNTIME in
wazero) ;;
wasmtime) [ "$ARCH" = arm64 ] || [ "$ARCH" = amd64 ] || die "the wasmtime leg runs on amd64 (native) or arm64 only, not '$ARCH': wasmtime-go ships no library for $ARCH" ;;
*) die "unknown RUNTIME '$RUNTIME': use wazero or wasmtime" ;;
esac
[ "$(uname -m)" = x86_64 ] || die "the legs run on an amd64 (x86_64) host, this is $(uname -m)"

# need PROGRAM PACKAGE...: install PACKAGEs (apt, as root) unless PROGRAM is there.
need() {
	local prog=$1; shift
	[ -e "$prog" ] || command -v "$prog" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "leg.sh: installing $* (for $prog)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; } ||
			die "apt-get install $* failed"
	else
		die "$prog is missing: install $* (e.g. sudo apt-get install $*)"
	fi
}

BIN=${WASICERT_LEG_BIN:-$REPO/bin/linux-$ARCH}
mkdir -p "$OUT" "$BIN"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/records.jsonl" "$OUT/junit.xml" "$OUT/summary.json" "$OUT/output.log" "$OUT/times.txt"

emu=() emulator=
if [ "$ARCH" != amd64 ]; then
	case $ARCH in arm64) q=aarch64 ;; *) q=$ARCH ;; esac
	need "qemu-$q" qemu-user
	prog=$(command -v "qemu-$q" || command -v "qemu-$q-static")
	ver=$("$prog" --version | sed -n '1s/.* version \([0-9][0-9.]*\).*/\1/p')
	emulator="qemu-$q $ver"
	emu=("$prog")
fi

start=$(date +%s)
if [ "$RUNTIME" = wasmtime ] && [ "$ARCH" = arm64 ]; then
	need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
	need /usr/aarch64-linux-gnu/lib/libc.so.6 libc6-dev-arm64-cross
	(cd "$REPO" && CGO_ENABLED=0 "$GO" build -o "$REPO/bin/wasicert" ./cmd/wasicert)
	(cd "$REPO" && GOOS=linux GOARCH=arm64 CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc \
		"$GO" build -o "$BIN/wasicert-worker-wasmtime" ./cmd/wasicert-worker-wasmtime)
	wasicert=("$REPO/bin/wasicert")
	export WASICERT_WORKER_EMULATOR="${emu[0]} -L /usr/aarch64-linux-gnu"
	export WASICERT_WORKER_DIR=$BIN WASICERT_RUNTIME_ARCH=arm64
elif [ "$ARCH" = amd64 ]; then
	# Native: make build's wasicert (wasmtime's worker comes from
	# make -f ci/runtimes/runtimes.mk workers).
	(cd "$REPO" && "$GO" build -o "$REPO/bin/wasicert" ./cmd/wasicert)
	wasicert=("$REPO/bin/wasicert")
else
	# Embedded wazero is pure Go: no cgo, so no cross toolchain.
	(cd "$REPO" && GOOS=linux GOARCH=$ARCH CGO_ENABLED=0 "$GO" build -o "$BIN/wasicert" ./cmd/wasicert)
	wasicert=("${emu[@]}" "$BIN/wasicert")
fi
built=$(date +%s)

timeout=10s
if [ -n "$emulator" ]; then
	export WASICERT_EMULATOR=$emulator
	scale=${WASICERT_TIME_SCALE:-5}
	[[ $scale =~ ^[1-9][0-9]*$ ]] || die "WASICERT_TIME_SCALE='$scale': want a whole number >= 1"
	timeout=$((10 * scale))s
fi

label="$RUNTIME on linux/$ARCH${emulator:+ under $emulator}"
echo "leg: $label: running the catalogue (timeout $timeout per run), log in $OUT/output.log"
status=0
"${wasicert[@]}" run --runtime "$RUNTIME" --timeout "$timeout" \
	--records "$OUT/records.jsonl" --junit "$OUT/junit.xml" >"$OUT/output.log" 2>&1 || status=$?
done_=$(date +%s)
printf 'arch=%s runtime=%s emulator=%s build_s=%d run_s=%d status=%d\n' \
	"$ARCH" "$RUNTIME" "${emulator:-none}" $((built - start)) $((done_ - built)) "$status" | tee "$OUT/times.txt"
[ -s "$OUT/records.jsonl" ] || { echo "leg.sh: $label wrote no records (exit $status); the end of $OUT/output.log:" >&2; tail -20 "$OUT/output.log" >&2; exit 2; }
grep -a -E '^ *(passed|wasicert summary)' "$OUT/output.log" | sed 's/^ */  /' || true
exit "$status"
