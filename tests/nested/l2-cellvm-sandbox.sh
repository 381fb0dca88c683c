#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): one L2 Linux boot under cellvm with the default
# --seccomp true and a disk (cellvm-blockd), a net device on a TAP with a link-local address
# (cellvm-netd) and a vsock device (cellvm-vsockd). The guest's device checks must pass under
# the real profiles: a 4 MiB O_DIRECT write and read-back on /dev/vda, ping to L1 over the TAP,
# and one vsock stream from L1 to the guest. While the guest waits for that stream, L1 inspects
# every process cellvm started (core, blockd, netd, vsockd) in /proc: Seccomp 2, NoNewPrivs 1,
# CapEff/CapPrm/CapBnd 0, its own mount, net, user and PID namespaces, and a root directory that
# holds only what the role needs; any deviation fails the test. Only then does L1 send the
# stream, so the guest cannot finish before the inspection. Needs cellvm, cellvm-core,
# cellvm-blockd, cellvm-netd, cellvm-vsockd and cellvm-vsock-peer in /opt/cellvm/bin
# (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
d=/tmp/sbx
tap=cvmtap0
net="tap=$tap,ip=169.254.10.1,mask=255.255.0.0,mac=52:54:00:0a:0b:0d"
mkdir -p $d/vs $d/logs
truncate -s 64M $d/a.img
l2_initrd_with $d /opt/cellvm/bin/cellvm-vsock-peer || exit 1
l2_tun_dev

# L1's side, in the background: once the guest has passed its disk and net checks (every
# daemon is up and jailed by then), inspect each cellvm process, then send the vsock stream the
# guest is waiting for.
(
	fails=0
	if ! l2_wait_log $d/logs '^CELLVM-AGENT: PASS net$' 500; then
		echo "FAIL: the guest never passed its net check; nothing inspected"
		exit 1
	fi
	for role in core blockd netd vsockd; do
		seen=0
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = "cellvm-$role" ] || continue
			seen=$((seen + 1))
			inspect "${p#/proc/}" "$role"
		done
		[ "$seen" -eq 1 ] || bad "$seen cellvm-$role processes running, want 1"
	done
	# L1 is the controller's only privilege holder; cellvm itself is not jailed, so it is not
	# inspected, but nothing else of cellvm's may run.
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		case $c in
		cellvm | cellvm-core | cellvm-blockd | cellvm-netd | cellvm-vsockd) ;;
		cellvm*) bad "unexpected cellvm process $c (${p#/proc/})" ;;
		esac
	done
	timeout 120 cellvm-vsock-peer send unix $d/vs/v.sock 6000 1 1048576 0 ||
		bad "the vsock stream to the guest failed"
	[ "$fails" -eq 0 ] || exit 1
	echo "L1: every cellvm process is jailed"
) >$d/inspect.log 2>&1 &
inspector=$!

checks=boot,blk:/dev/vda:4,net:169.254.10.2:169.254.10.1,vsock:serve:vsock:6000:1
L2_LOGDIR=$d/logs L2_INITRD=$d/initrd L2_CPUS=2 run_l2_cellvm 560 "$checks" --seccomp true \
	--disk path=$d/a.img,image_type=raw --net "$net" --vsock cid=3,socket=$d/vs/v.sock || rc=1
l2_quit_if_tripled "$inspector:$d/inspect.log"
wait $inspector || rc=1
sed 's/^/L1 inspect: /' $d/inspect.log
grep -q '^L1: every cellvm process is jailed$' $d/inspect.log || {
	l2_say "the jail inspection did not complete"
	rc=1
}
ip link del $tap 2>/dev/null
exit $rc
