#!/usr/bin/env bash
# stop.sh RUNDIR — stop the containerd that start.sh started for RUNDIR, by
# its recorded pid (signalled only while that pid still runs with
# RUNDIR/config.toml; after a SIGKILL it waits for the exit); kill any of our
# shims it left (matched by their binary under RUNDIR/bin) and any other
# process whose binary or root is under RUNDIR; remove the cgroups of the
# tasks it left (their bundles name them); unmount anything
# under RUNDIR; remove RUNDIR. For ci/kubernetes/cri.sh's pod network
# (RUNDIR/cni/network) it also reports what the network left: a process
# still in the daemon's netns, a veth in it, an address still reserved
# (host-local), a libcni cache entry, the bridge or a cache entry on the
# host; then it removes the mounts cri.sh made (RUNDIR/owned-mounts: the
# daemon's netns at RUNDIR/netns, which goes with its bridge, and RUNDIR's
# own bind mount).
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

# shims: the processes of RUN: our shims with their sandbox holders and
# guests (their binary is under RUN/bin), and anything else whose binary or
# root is under RUN: a sandbox image's entrypoint that a handler executed
# from its rootfs (the tripwire), chrooted or not.
# One find for the whole scan (a readlink per process took seconds).
shims() {
	find /proc/[0-9]*/exe /proc/[0-9]*/root -maxdepth 0 -printf '%p\t%l\n' 2>/dev/null |
		awk -F'\t' -v run="$RUN/" 'index($2, run) == 1 { split($1, a, "/"); print a[3] }' | sort -un
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
	echo "stop.sh: leftover shim processes (or processes run from $RUN): $(for p in $left; do printf '%s(%s) ' "$p" "$(cat /proc/$p/comm 2>/dev/null)"; done)" >&2
	leftover=1
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
	sleep 0.2
fi

# The cgroups of the tasks the daemon still had (their bundles are left under
# RUN/state): a shim removes a task's cgroup when the task is deleted, so a
# killed shim leaves them on the host. The path is the bundle's
# linux.cgroupsPath, else /<namespace>/<id> (the shim's default); systemd's
# slice:prefix:name form is not followed.
cgroups() {
	local b rel ns id mnt
	for b in "$RUN"/state/io.containerd.runtime.v2.task/*/*; do
		[ -d "$b" ] || continue
		id=${b##*/} ns=${b%/*} ns=${ns##*/}
		rel=$(grep -o '"cgroupsPath"[[:space:]]*:[[:space:]]*"[^"]*"' "$b/config.json" 2>/dev/null | sed 's/.*"\([^"]*\)"$/\1/')
		case "$rel" in *:*) continue ;; "") rel=/$ns/$id ;; esac
		case "/$rel/" in */../*) continue ;; esac
		for mnt in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do
			[ "$rel" != / ] && [ -d "$mnt/$rel" ] && echo "$mnt/${rel#/}"
		done
	done
}
cg=$(cgroups)
if [ -n "$cg" ]; then
	echo "stop.sh: leftover cgroups: $(echo $cg)" >&2
	leftover=1
	for d in $cg; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
fi

# The pod network of ci/kubernetes/cri.sh.
if [ -f "$RUN/cni/network" ]; then
	netval() { sed -n "s/^$1=//p" "$RUN/cni/network"; }
	NETNS=$(netval NETNS) BRIDGE=$(netval BRIDGE) IPAM=$(netval IPAM) CACHE=$(netval CNI_CACHE) NAME=$(netval NAME)
	if [ -n "$NETNS" ] && mountpoint -q "$NETNS"; then
		ino=$(stat -c %i "$NETNS")
		inns=
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/net" 2>/dev/null)" = "net:[$ino]" ] && inns="$inns ${p#/proc/}"
		done
		if [ -n "$inns" ]; then
			echo "stop.sh: leftover processes in the daemon's netns $NETNS:$inns" >&2
			leftover=1
			for p in $inns; do kill -KILL "$p" 2>/dev/null; done
			sleep 0.2
		fi
		veths=$(nsenter --net="$NETNS" ip -o link show type veth 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}')
		if [ -n "$veths" ]; then
			echo "stop.sh: leftover veths in the daemon's netns: $(echo $veths)" >&2
			leftover=1
		fi
	fi
	if [ -n "$IPAM" ] && [ -d "$IPAM" ]; then
		ips=$(ls "$IPAM" | grep -v -e '^lock$' -e '^last_reserved_ip')
		if [ -n "$ips" ]; then
			echo "stop.sh: leftover host-local address reservations in $IPAM: $(echo $ips)" >&2
			leftover=1
		fi
	fi
	if [ -n "$CACHE" ] && [ -d "$CACHE/results" ] && [ -n "$(ls "$CACHE/results")" ]; then
		echo "stop.sh: leftover libcni cache entries in $CACHE/results: $(ls "$CACHE/results" | tr '\n' ' ')" >&2
		leftover=1
	fi
	if [ -n "$BRIDGE" ] && ip link show "$BRIDGE" >/dev/null 2>&1; then
		echo "stop.sh: the CNI bridge $BRIDGE is on the host's network" >&2
		leftover=1
		ip link delete "$BRIDGE" 2>/dev/null
	fi
	if [ -n "$NAME" ] && ls /var/lib/cni/results/"$NAME"-* >/dev/null 2>&1; then
		echo "stop.sh: libcni cache entries of $NAME on the host: $(ls /var/lib/cni/results/"$NAME"-* | tr '\n' ' ')" >&2
		leftover=1
		rm -f /var/lib/cni/results/"$NAME"-*
	fi
fi

# owned: the mounts cri.sh made itself (not leftovers).
owned() { cat "$RUN/owned-mounts" 2>/dev/null; }
mounts() { awk -v run="$RUN" '$5 == run || index($5, run "/") == 1 {print $5}' /proc/self/mountinfo | grep -vxF -f <(owned; echo /nonexistent) | sort -r; }
m=$(mounts)
if [ -n "$m" ]; then
	echo "stop.sh: leftover mounts: $(echo $m)" >&2
	leftover=1
	for t in $m; do umount -l "$t" 2>/dev/null; done
fi

# The daemon's netns goes with its last mount (its processes are gone), and
# its bridge with it; RUN's own bind mount last.
for t in $(owned | sort -r); do
	umount "$t" 2>/dev/null || umount -l "$t"
done
rm -f "$RUN/owned-mounts"

if [ -n "$(shims)" ] || [ -n "$(mounts)" ] || { [ -n "$PID" ] && ours "$PID"; }; then
	echo "stop.sh: could not clean up $RUN" >&2
	exit 1
fi
rm -rf "$RUN"
[ "$leftover" = 0 ] && exit 0
exit 4
