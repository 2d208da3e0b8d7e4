# netns.sh: sourced by ci/kubernetes/cri.sh for WASICERT_CRI_NETWORK=pod,
# with RUN, HERE and SUBNET set. It
#   - makes RUN a shared bind mount of its own (so what the daemon mounts
#     under RUN from its own mount namespace shows on the host, and nothing
#     else does);
#   - makes a network namespace, bind-mounted at RUN/netns, with lo up;
#   - writes the CNI conflist (bridge with host-local addresses) into
#     RUN/cni/conf and names the network in RUN/cni/network;
#   - sets DAEMON_NS, the command prefix that runs the daemon in that netns
#     and in a new mount namespace where /var/lib/cni (libcni's cache) is RUN's.
# RUN/owned-mounts lists the mounts made here, for stop.sh to remove.

h=$(printf %s "$RUN" | sha256sum | cut -c1-8)
CNI_NAME=wasicert-$h
CNI_BRIDGE=wcbr$h
mkdir -p "$RUN/cni/ipam" "$RUN/cni/cache" "$RUN/cni/varlib/upper" "$RUN/cni/varlib/work"
: >"$RUN/owned-mounts"

mount --bind "$RUN" "$RUN"
echo "$RUN" >>"$RUN/owned-mounts"
mount --make-private "$RUN"
mount --make-shared "$RUN"
touch "$RUN/netns"
unshare --net="$RUN/netns" true
echo "$RUN/netns" >>"$RUN/owned-mounts"
nsenter --net="$RUN/netns" ip link set lo up

if [ -d /var/lib/cni ]; then
	CNI_CACHE=$RUN/cni/cache
else
	CNI_CACHE=$RUN/cni/varlib/upper/cni
fi
sed -e "s|@NAME@|$CNI_NAME|" -e "s|@BRIDGE@|$CNI_BRIDGE|" -e "s|@SUBNET@|$SUBNET|" -e "s|@IPAM_DIR@|$RUN/cni/ipam|" \
	"$HERE/cni/wasicert.conflist.in" >"$RUN/cni/conf/10-wasicert.conflist"
cat >"$RUN/cni/network" <<NET
NAME=$CNI_NAME
BRIDGE=$CNI_BRIDGE
SUBNET=$SUBNET
NETNS=$RUN/netns
IPAM=$RUN/cni/ipam/$CNI_NAME
CNI_CACHE=$CNI_CACHE
NET

# DAEMON_NS is the command prefix that runs the daemon in its namespaces:
# that netns, and a new mount namespace, a copy of the host's (RUN stays a
# peer of the host's RUN), where the mount holding /var/lib turns slave (so
# nothing mounted on it reaches the host) and /var/lib/cni becomes RUN's:
# bind-mounted when the host has that dir, else through an overlay on
# /var/lib whose writes go to RUN/cni/varlib (a mount needs a mount point,
# and the host's /var/lib must not get one). Every step execs: the daemon
# keeps the pid it was started with.
DAEMON_NS=(nsenter --net="$RUN/netns" -- unshare --mount --propagation unchanged -- /bin/sh -c '
	set -e
	run=$1
	shift
	mount --make-slave "$(findmnt -no TARGET -T /var/lib)"
	if [ -d /var/lib/cni ]; then
		mount --bind "$run/cni/cache" /var/lib/cni
	else
		mount -t overlay wcri-varlib -o "lowerdir=/var/lib,upperdir=$run/cni/varlib/upper,workdir=$run/cni/varlib/work" /var/lib
	fi
	exec "$@"' wcri-netns "$RUN")
