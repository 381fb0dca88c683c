#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): L2 Linux under cellvm with a virtio-net device whose
# data queues cellvm-netd serves on a TAP the controller creates (cvmtap0, link-local
# 169.254.10.1/16 on the L1 side), while the core serves the control queue. The guest takes
# 169.254.10.2 and pings L1. A second run uses two queue pairs, so the driver's VQ_PAIRS_SET
# goes through the control queue (traffic on pair 1 shows in netd's counters).
# Needs cellvm, cellvm-core and cellvm-netd in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
tap=cvmtap0
net="tap=$tap,ip=169.254.10.1,mask=255.255.0.0,mac=52:54:00:0a:0b:0c"

[ -c /dev/net/tun ] || {
	mkdir -p /dev/net
	mknod /dev/net/tun c 10 200
}

# Ping only: the checksummed transfer needs a host peer that ignores the guest's half-close
# (tests/netd/qemu-frontend.sh uses python3); L1 has only busybox nc, which quits on it.
L2_CPUS=2 run_l2_cellvm 250 boot,net:169.254.10.2:169.254.10.1 --net "$net" || rc=1
grep -q 'queues rx-0 tx-0' "$L2_LOG" || {
	l2_say "the guest did not see one queue pair"
	rc=1
}
ip link del $tap 2>/dev/null

# Two queue pairs: the guest sees 2 rx and 2 tx queues and still reaches L1.
L2_CPUS=2 run_l2_cellvm 200 boot,net:169.254.10.2:169.254.10.1 \
	--net "$net,num_queues=4" || rc=1
grep -q 'queues rx-0 rx-1 tx-0 tx-1' "$L2_LOG" || {
	l2_say "the guest did not see two queue pairs"
	rc=1
}
ip link del $tap 2>/dev/null
exit $rc
