#!/bin/bash
# net-vs-tap.sh NETD NET_BENCH [FRAMES]
# cellvm-netd against the TAP itself (issue 9): a network namespace made here with a TAP at
# 169.254.88.1/16 (link-local only) and a permanent neighbour entry for the "guest" address; in
# it, net-bench sends 64 B and 1500 B UDP frames guest->host and host->guest, first on its own
# TAP fd (the limit), then through a jailed cellvm-netd it drives as vhost-user frontend. Prints
# both packet rates per direction and size, their ratio and netd's CPU time per frame.
set -uo pipefail
netd=${1:?usage: net-vs-tap.sh NETD NET_BENCH [FRAMES]}
bench=${2:?usage: net-vs-tap.sh NETD NET_BENCH [FRAMES]}
frames=${3:-200000}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace and a TAP"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: ip(8) missing (Debian iproute2)"; exit 77; }
ns=cellvm-netbench-$$
trap 'ip netns del "$ns" 2>/dev/null' EXIT
ip netns add "$ns" || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev cvbench0 mode tap multi_queue vnet_hdr || exit 1
ip -n "$ns" addr add 169.254.88.1/16 dev cvbench0
ip -n "$ns" link set cvbench0 up
ip -n "$ns" neigh add 169.254.88.2 lladdr 02:00:00:88:00:02 dev cvbench0 nud permanent
rc=0
for size in 64 1500; do
	ip netns exec "$ns" "$bench" "$netd" cvbench0 "$size" "$frames" || rc=1
done
exit "$rc"
