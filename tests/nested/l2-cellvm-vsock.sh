#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): L2 Linux under cellvm with --vsock, rx/tx served by
# a jailed cellvm-vsockd on Cloud Hypervisor's hybrid unix sockets, the event queue kept by the
# core. Both directions with vsock-peer (the same binary in L1 and, appended to the agent's
# initramfs, in L2): the guest connects to CID 2 port 5000 (L1 serves v.sock_5000), L1 connects
# through v.sock with "CONNECT 6000" to the guest's server, and a connect to a port nobody
# serves is refused. Each way, 4 streams at once: one of 64 MiB and three of 1 MiB; every
# stream's bytes are checked by the receiver and its hash confirmed by the sender (vsock-peer's
# SUM line), so both ends verify. One L2 boot; every wait is bounded. Needs cellvm,
# cellvm-core, cellvm-vsockd and cellvm-vsock-peer in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
d=/tmp/vs
big=$((64 * 1024 * 1024))
small=$((1024 * 1024))
l2_initrd_with $d /opt/cellvm/bin/cellvm-vsock-peer || exit 1

timeout 560 cellvm-vsock-peer serve unix $d/v.sock_5000 4 >$d/serve.log 2>&1 &
serve=$!
timeout 560 cellvm-vsock-peer send unix $d/v.sock 6000 4 $big $small >$d/send.log 2>&1 &
send=$!

checks=boot,vsock:refused:vsock:2:5999,vsock:send:vsock:2:5000:4:$big:$small
checks=$checks,vsock:serve:vsock:6000:4
L2_INITRD=$d/initrd L2_CPUS=2 run_l2_cellvm 570 "$checks" --vsock cid=3,socket=$d/v.sock || rc=1
l2_quit_if_tripled "$serve:$d/serve.log" "$send:$d/send.log"
# The controller removes the socket file it bound once cellvm has exited.
if [ -e $d/v.sock ]; then
	l2_say "cellvm left its vsock socket $d/v.sock behind"
	rc=1
fi

wait $serve || {
	l2_say "L1 server (guest -> L1 streams) failed: $(tail -n 3 $d/serve.log)"
	rc=1
}
wait $send || {
	l2_say "L1 sender (L1 -> guest streams) failed: $(tail -n 3 $d/send.log)"
	rc=1
}
sed 's/^/L1 peer: /' $d/serve.log $d/send.log
exit $rc
