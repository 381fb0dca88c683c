#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): external vhost-user backends that go away and come
# back (issue 19; core/controller/vu_reconnect.h). The disks are served by standalone
# cellvm-blockd processes this script starts (`cellvm-blockd --socket-path S --disk path=...`),
# given to cellvm as --disk vhost_user=on,socket=S, so cellvm did not start them and cannot
# restart them: it must connect to S again.
#   1. One L2 boot with one such disk. The guest runs 30 rounds of fresh O_DIRECT writes and
#      read-backs on /dev/vda (the agent's blkrespawn check); after its 4th and 14th round L1
#      SIGKILLs the backend and starts a new one on the same socket path 1 s later. Every round
#      reads back right (at the end too), dmesg has no I/O error, the guest powers off, cellvm
#      exits 0, and the event log has device-disconnected then device-reconnected for disk0,
#      twice.
#   2. The timeout: one L2 boot with two such disks; the guest writes rounds on /dev/vdb
#      (disk1), and after its 2nd round L1 kills disk1's backend for good. cellvm must stop
#      the VM within the reconnection timeout (30 s) plus a margin, exit non-zero, and name
#      disk1 in the error; the event log has device-disconnected for disk1 and no
#      device-reconnected.
# Needs cellvm, cellvm-core and cellvm-blockd in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
d=/tmp/vurc
mkdir -p $d/logs $d/logs2
truncate -s 64M $d/a.img $d/b.img $d/c.img

now() { cut -d' ' -f1 /proc/uptime; }

# wait_cue DIR PATTERN SECS: until a log in DIR has a line matching PATTERN (0.1 s polls).
wait_cue() {
	local i=0
	while [ "$i" -lt $(($3 * 10)) ]; do
		grep -qs "$2" "$1"/*.log && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# backend NAME IMAGE: a standalone cellvm-blockd on $d/NAME.sock, its pid in $d/NAME.pid; waits
# (up to 10 s) until the socket exists.
backend() {
	local i=0
	rm -f "$d/$1.sock"
	cellvm-blockd --socket-path "$d/$1.sock" --disk "path=$2,num_queues=1" \
		>>"$d/$1.log" 2>&1 &
	echo $! >"$d/$1.pid"
	while [ "$i" -lt 100 ]; do
		[ -S "$d/$1.sock" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "FAIL: cellvm-blockd for $1 made no socket: $(tail -n 2 "$d/$1.log")"
	return 1
}

# events LOG: "event:id" for each device-* event of an --event-monitor log, in order.
events() {
	awk '/"event":/ { gsub(/[",]/, "", $2); ev = $2 }
		/"id":/ { gsub(/[",]/, "", $2); if (ev ~ /^device-/) print ev ":" $2; ev = "" }' "$1" |
		tr '\n' ' '
}

# 1. Reconnection: kill and restart the backend twice under the guest's disk loop.
backend disk0 $d/a.img || exit 1
(
	fails=0
	for round in 4 14; do
		if wait_cue $d/logs "^CELLVM-AGENT: BLK-ROUND $round\$" 400; then
			kill -9 "$(cat $d/disk0.pid)"
			echo "L1: killed the disk0 backend $(cat $d/disk0.pid) after round $round at $(now) s"
			sleep 1
			backend disk0 $d/a.img || fails=$((fails + 1))
			echo "L1: new disk0 backend $(cat $d/disk0.pid) at $(now) s"
			if grep -qs '^CELLVM-AGENT: BLK-ROUND 30$' $d/logs/*.log; then
				echo "FAIL: the guest's disk loop had ended before the backend was killed"
				fails=$((fails + 1))
			fi
		else
			echo "FAIL: no BLK-ROUND $round cue"
			fails=$((fails + 1))
		fi
	done
	[ "$fails" -eq 0 ] || exit 1
	echo "L1: the backend was killed and restarted twice"
) >$d/killer.log 2>&1 &
killer=$!

L2_LOGDIR=$d/logs L2_CPUS=2 run_l2_cellvm 500 "boot,blkrespawn:/dev/vda:30,noioerr" -v \
	--event-monitor path=$d/ev.log \
	--disk vhost_user=on,socket=$d/disk0.sock,id=disk0 || rc=1
l2_quit_if_tripled "$killer:$d/killer.log"

wait $killer || rc=1
sed 's/^/lib: L1 killer: /' $d/killer.log
grep -q '^L1: the backend was killed and restarted twice$' $d/killer.log || rc=1
grep -E 'device disk0|disk0: .*(vhost-user|inflight|reconnect)' "$L2_LOG" | sed 's/^/lib: L1 cellvm: /'
evs=$(events $d/ev.log)
l2_say "reconnection events: $evs"
case " $evs" in
*" device-disconnected:disk0 device-reconnected:disk0 device-disconnected:disk0 device-reconnected:disk0 "*) ;;
*)
	l2_say "FAIL: expected device-disconnected then device-reconnected for disk0, twice"
	rc=1
	;;
esac
kill "$(cat $d/disk0.pid)" 2>/dev/null

# 2. The timeout: disk1's backend never comes back; disk0's stays.
backend disk0b $d/b.img || exit 1
backend disk1 $d/c.img || exit 1
(
	if wait_cue $d/logs2 '^CELLVM-AGENT: BLK-ROUND 2$' 400; then
		kill -9 "$(cat $d/disk1.pid)"
		echo "L1: killed the disk1 backend for good at $(now) s"
	else
		echo "FAIL: no BLK-ROUND 2 cue"
		exit 1
	fi
) >$d/killer2.log 2>&1 &
killer=$!
l2_say "starting L2 (timeout case): disk1's backend is killed after round 2 and not restarted"
started=$(now)
# Not run_l2_cellvm: this guest never finishes its checks. busybox sh has no PIPESTATUS, so the
# status goes through a file; the serial console's \r goes, so the cues match.
{
	timeout -s KILL 400 cellvm --kernel "$L2_IMAGES/vmlinux" \
		--initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" \
		--cmdline "$(l2_cmdline blkrespawn:/dev/vdb:200)" \
		--cpus boot=1 --memory size=512M --serial tty --console off \
		--event-monitor path=$d/ev2.log \
		--disk vhost_user=on,socket=$d/disk0b.sock,id=disk0 \
		--disk vhost_user=on,socket=$d/disk1.sock,id=disk1 2>&1
	echo $? >$d/st2
} | tr -d '\r' >$d/logs2/cellvm.log
st=$(cat $d/st2 2>/dev/null || echo 255)
l2_say "cellvm exited with status $st after $(echo "$(now) $started" | awk '{ printf "%d", $1 - $2 }') s"
kill "$killer" 2>/dev/null # still waiting for its cue: the run failed anyway
wait $killer || rc=1
sed 's/^/lib: L1 killer: /' $d/killer2.log
grep -E '^cellvm: ' $d/logs2/cellvm.log | sed 's/^/lib: L1 cellvm: /'
if [ "$st" -eq 0 ] || [ "$st" -eq 137 ]; then
	l2_say "FAIL: cellvm should have stopped the VM with an error (status $st)"
	rc=1
fi
grep -q '^cellvm: error: device disk1: its vhost-user backend at .* did not come back within 30 s' \
	$d/logs2/cellvm.log || {
	l2_say "FAIL: no error naming disk1 and the timeout"
	rc=1
}
grep -q 'BLK-ROUND 2$' $d/logs2/cellvm.log || rc=1
evs=$(events $d/ev2.log)
l2_say "timeout events: $evs"
case " $evs" in
*" device-disconnected:disk1 "*"device-reconnected"*)
	l2_say "FAIL: disk1 reconnected"
	rc=1
	;;
*" device-disconnected:disk1 "*) ;;
*)
	l2_say "FAIL: no device-disconnected event for disk1"
	rc=1
	;;
esac
kill "$(cat $d/disk0b.pid)" 2>/dev/null
[ "$rc" -eq 0 ] && l2_say "external backend reconnection and timeout: PASS"
exit $rc
