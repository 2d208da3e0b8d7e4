#!/usr/bin/env bash
# stop.sh RUNDIR — stop the dockerd that start.sh started for RUNDIR, by its
# recorded pid (signalled only while that pid still runs with
# RUNDIR/daemon.json: SIGTERM, SIGKILL after 20 s); then unmount anything
# left under RUNDIR, remove the run's cgroup parent (every hierarchy) and
# RUNDIR. The containerd it ran on is the caller's to stop.
# Exit 0 when nothing was left behind, 4 when leftovers had to be cleaned up
# (listed on stderr), 3 when not root, 1 when something could not be removed.
set -uo pipefail
RUN=${1:?usage: stop.sh RUNDIR}
if [ "$(id -u)" != 0 ]; then
	echo "skip: stopping a private dockerd needs root" >&2
	exit 3
fi
[ -d "$RUN" ] || { echo "stop.sh: $RUN does not exist" >&2; exit 0; }
RUN=$(cd "$RUN" && pwd)
leftover=0
ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$RUN/daemon.json"; }
# procs: any process still running a binary from RUN or with RUN on its
# command line (dockerd, a docker-proxy, a plugin).
procs() {
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$RUN/"; then echo "${p#/proc/}"; fi
	done
}

PID=
[ -f "$RUN/dockerd.ownpid" ] && PID=$(cat "$RUN/dockerd.ownpid")
if [ -n "$PID" ] && ours "$PID"; then
	kill -TERM "$PID"
	for _ in $(seq 1 200); do ours "$PID" || break; sleep 0.1; done
	if ours "$PID"; then
		echo "stop.sh: dockerd $PID ignored SIGTERM for 20 s; SIGKILL" >&2
		kill -KILL "$PID" 2>/dev/null
		for _ in $(seq 1 50); do ours "$PID" || break; sleep 0.1; done
		leftover=1
	fi
fi
left=$(procs)
if [ -n "$left" ]; then
	echo "stop.sh: leftover processes: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80; echo; done)" >&2
	leftover=1
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
	sleep 0.2
fi

mounts() { awk -v run="$RUN" '$5 == run || index($5, run "/") == 1 {print $5}' /proc/self/mountinfo | sort -r; }
# libnetwork keeps the bind mount of its default sandbox's network
# namespace (EXEC_ROOT/netns/default) after the daemon exits: dockerd's own,
# not a container's; unmounted here without counting as a leftover.
if awk '{print $5}' /proc/self/mountinfo | grep -qxF "$RUN/exec/netns/default"; then
	umount "$RUN/exec/netns/default" 2>/dev/null || umount -l "$RUN/exec/netns/default" 2>/dev/null
fi
m=$(mounts)
if [ -n "$m" ]; then
	echo "stop.sh: leftover mounts: $(echo $m)" >&2
	leftover=1
	for t in $m; do umount -l "$t" 2>/dev/null; done
fi

# The run's cgroup parent, in every hierarchy: dockerd removes a
# container's cgroup, the parent stays (empty) and goes here; one with a
# child left is a leftover.
cgroups() {
	local parent
	parent=$(cat "$RUN/cgroup-parent" 2>/dev/null) || return
	[ -n "$parent" ] || return
	find /sys/fs/cgroup -maxdepth 3 -type d -name "$parent" 2>/dev/null
}
for cg in $(cgroups); do
	kids=$(find "$cg" -mindepth 1 -type d 2>/dev/null | sort -r)
	if [ -n "$kids" ]; then
		echo "stop.sh: leftover cgroups: $(echo $kids)" >&2
		leftover=1
		for k in $kids; do rmdir "$k" 2>/dev/null; done
	fi
	rmdir "$cg" 2>/dev/null
done

if [ -n "$(procs)" ] || [ -n "$(mounts)" ] || [ -n "$(cgroups)" ] || { [ -n "$PID" ] && ours "$PID"; }; then
	echo "stop.sh: could not clean up $RUN" >&2
	exit 1
fi
rm -rf "$RUN"
[ "$leftover" = 0 ] && exit 0
exit 4
