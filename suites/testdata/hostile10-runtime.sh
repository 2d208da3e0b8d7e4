#!/bin/sh
# hostile10-runtime.sh ACT ARGS...: hostile stand-ins against the host-side
# checks of issue 10 (hostile10_test.go), driven like hostile-runtime.sh: it
# runs the real wazero CLI ($WASICERT_HOSTILE_WAZERO) with ARGS, so the
# guest's records are those of a runtime that holds, then does ACT itself.
# Its cwd is the fixture's work dir.
if [ "$1" = version ]; then
	exec "$WASICERT_HOSTILE_WAZERO" version
fi
act=$1
shift
"$WASICERT_HOSTILE_WAZERO" "$@"
status=$?
case $act in
none) ;;
# A helper that leaves the work dir before it holds 400 MiB resident for a
# second: the host must still count it among the runtime's processes.
bloat-elsewhere) (cd / && exec perl -e '$x = "x" x (400 << 20); sleep 1') ;;
# The same helper, in the work dir: the cause the test above relies on.
bloat-here) perl -e '$x = "x" x (400 << 20); sleep 1' ;;
*) echo "hostile10-runtime.sh: unknown act $act" >&2; exit 125 ;;
esac
exit $status
