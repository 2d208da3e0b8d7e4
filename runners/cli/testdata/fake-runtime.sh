#!/bin/sh
# A fake runtime for the template runner's tests. $FAKE_MODE picks what it
# does when asked to run: segv (dies by SIGSEGV), abort, fork-and-hang
# (children that would outlive it), exit3.
case "$1" in
--version) echo "fake-runtime 9.9.9"; exit 0 ;;
esac
case "$FAKE_MODE" in
segv) kill -SEGV $$ ;;
abort) kill -ABRT $$ ;;
fork-and-hang) sleep 1000 & sleep 1000 & sleep 1000; wait ;;
exit3) echo "ran $*"; exit 3 ;;
esac
