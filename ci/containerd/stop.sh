#!/usr/bin/env bash
# stop.sh RUNDIR — stop the containerd that start.sh started for RUNDIR, by
# its recorded pid (signalled only while that pid still runs with
# RUNDIR/config.toml; after a SIGKILL it waits for the exit); kill any of our
# shims it left (matched by their binary under RUNDIR/bin); unmount anything
# under RUNDIR; remove RUNDIR.
# Exit 0 when nothing was left behind, 4 when leftovers had to be cleaned up
# (they are listed on stderr), 3 when not root.
set -uo pipefail
RUN=${1:?usage: stop.sh RUNDIR}
if [ "$(id -u)" != 0 ]; then
	echo "skip: stopping a private containerd needs root" >&2
	exit 3
fi
[ -d "$RUN" ] || { echo "stop.sh: $RUN does not exist" >&2; exit 0; }
RUN=$(cd "$RUN" && pwd)
leftover=0

shims() {
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in "$RUN"/bin/*) echo "${p#/proc/}" ;; esac
	done
}

# ours PID: PID is still the containerd started for RUN (a recorded pid may
# have been reused by another process since).
ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$RUN/config.toml"; }

PID=
if [ -f "$RUN/containerd.pid" ]; then
	PID=$(cat "$RUN/containerd.pid")
	if ours "$PID"; then
		kill -TERM "$PID"
		for _ in $(seq 1 100); do ours "$PID" || break; sleep 0.1; done
		if ours "$PID"; then
			echo "stop.sh: containerd $PID ignored SIGTERM for 10 s; SIGKILL" >&2
			kill -KILL "$PID" 2>/dev/null
			for _ in $(seq 1 50); do ours "$PID" || break; sleep 0.1; done
			leftover=1
		fi
	fi
fi

# Shims outlive containerd by design; any still running here is a leftover
# of a container that was not deleted.
# A shim exits on its own shortly after its last task is deleted: give it 5 s.
for _ in $(seq 1 50); do [ -z "$(shims)" ] && break; sleep 0.1; done
left=$(shims)
if [ -n "$left" ]; then
	echo "stop.sh: leftover shim processes: $(echo $left)" >&2
	leftover=1
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
	sleep 0.2
fi

mounts() { awk -v run="$RUN" '$5 == run || index($5, run "/") == 1 {print $5}' /proc/self/mountinfo | sort -r; }
m=$(mounts)
if [ -n "$m" ]; then
	echo "stop.sh: leftover mounts: $(echo $m)" >&2
	leftover=1
	for t in $m; do umount -l "$t" 2>/dev/null; done
fi

if [ -n "$(shims)" ] || [ -n "$(mounts)" ] || { [ -n "$PID" ] && ours "$PID"; }; then
	echo "stop.sh: could not clean up $RUN" >&2
	exit 1
fi
rm -rf "$RUN"
[ "$leftover" = 0 ] && exit 0
exit 4
