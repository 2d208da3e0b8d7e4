#!/bin/sh
# A fake runtime for the template runner's tests. $FAKE_MODE picks what it
# does when asked to run: segv (dies by SIGSEGV), abort, fork-and-hang
# (children that would outlive it), exit3, trap0 and trap1 (a trap line on
# stderr, exit 0 or 1), starterr0 (a start error line, exit 0), setsid (a
# child that escapes the process group, holding stdout).
case "$1" in
--version) echo "fake-runtime 9.9.9"; exit 0 ;;
esac
case "$FAKE_MODE" in
segv) kill -SEGV $$ ;;
abort) kill -ABRT $$ ;;
fork-and-hang) sleep 1000 & sleep 1000 & sleep 1000; wait ;;
exit3) echo "ran $*"; exit 3 ;;
trap0) echo "wasm trap: unreachable" >&2; exit 0 ;;
trap1) echo "wasm trap: unreachable" >&2; exit 1 ;;
starterr0) echo "failed to instantiate" >&2; exit 0 ;;
setsid) setsid sleep 30 & sleep .3; exit 0 ;;
esac
