#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): L2 Linux under cellvm with a virtio-net device whose
# data queues cellvm-netd serves on a TAP the controller creates (cvmtap0, link-local
# 169.254.10.1/16 on the L1 side), while the core serves the control queue.
# Boot 1, one queue pair: the guest takes 169.254.10.2 and pings L1; a 64 MiB stream goes
# guest -> L1 and another L1 -> guest, each checked on both ends by cellvm-net-peer
# (tests/netd/net-peer.c, in L1 and appended to the L2 initramfs); then L1 takes the TAP down
# and up (the controller's link watcher tells netd, netd raises a config change) and the guest
# sees its carrier go and come back, and pings L1 again.
# Boot 2, two queue pairs: the driver's VQ_PAIRS_SET goes through the control queue; the guest
# sees 2 rx and 2 tx queues and still reaches L1.
# Needs cellvm, cellvm-core, cellvm-netd and cellvm-net-peer in /opt/cellvm/bin
# (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
tap=cvmtap0
net="tap=$tap,ip=169.254.10.1,mask=255.255.0.0,mac=52:54:00:0a:0b:0c"
size=$((64 * 1024 * 1024))
d=/tmp/net
l2_initrd_with $d /opt/cellvm/bin/cellvm-net-peer || exit 1
l2_tun_dev

# L1's side of boot 1, in the background: the guest -> L1 server from the start; the
# L1 -> guest sender once the guest listens; the link flap on the agent's cues.
timeout 500 cellvm-net-peer serve 5000 1 >$d/serve.log 2>&1 &
serve=$!
(
	l2_wait_log $d/logs '^net-peer: listening on port 6000' 400 || exit 1
	timeout 300 cellvm-net-peer send 169.254.10.2 6000 1 $size
) >$d/send.log 2>&1 &
send=$!
(
	l2_wait_log $d/logs '^CELLVM-AGENT: LINK-WAIT-DOWN' 480 || {
		echo "no LINK-WAIT-DOWN cue"
		exit 1
	}
	ip link set $tap down && echo "L1: $tap down"
	l2_wait_log $d/logs '^CELLVM-AGENT: LINK-DOWN-SEEN' 60 || echo "no LINK-DOWN-SEEN cue"
	ip link set $tap up && echo "L1: $tap up"
) >$d/flap.log 2>&1 &
flap=$!

checks=boot,net:169.254.10.2:169.254.10.1,netpeer:send:169.254.10.1:5000:1:$size
checks=$checks,netpeer:serve:6000:1,netlink:60:169.254.10.1
L2_LOGDIR=$d/logs L2_INITRD=$d/initrd L2_CPUS=2 run_l2_cellvm 540 "$checks" --net "$net" || rc=1
l2_quit_if_tripled "$serve:$d/serve.log" "$send:$d/send.log" "$flap:$d/flap.log"
grep -q 'queues rx-0 tx-0' "$L2_LOG" || {
	l2_say "the guest did not see one queue pair"
	rc=1
}
for j in serve:$serve send:$send flap:$flap; do
	wait "${j#*:}" || {
		l2_say "L1 ${j%%:*} job failed: $(tail -n 3 $d/${j%%:*}.log)"
		rc=1
	}
done
sed 's/^/L1 peer: /' $d/serve.log $d/send.log $d/flap.log
grep -q 'cellvm-netd: link down' "$L2_LOG" || {
	l2_say "netd never reported the link down"
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
