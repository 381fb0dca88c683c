#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): device respawn (issue 19) under a real guest. One L2
# boot under cellvm with a disk (cellvm-blockd), a NIC on a TAP with link-local addresses
# (cellvm-netd) and a vsock device (cellvm-vsockd), --event-monitor to a file. L1 kills each
# device process with SIGKILL while the guest uses it, on the agent's cues:
#   1. blockd, twice (after the guest's 4th and 14th rounds of fresh O_DIRECT writes and
#      read-backs on /dev/vda): every one of the 30 rounds reads back right, at the end too, and
#      dmesg has no I/O error;
#   2. netd, 3 s into the guest's 15 s of pings to L1: the answers come back within seconds;
#   3. vsockd, while the guest holds a stream to L1: the stream is reset (the transport reset
#      the core posts) and new streams both ways work.
# The guest then powers off, cellvm exits 0, and the event log has device-respawned and
# device-reconnected for each of the three devices. The processes killed are children of the
# cellvm this test started (found by parent pid). Needs cellvm, cellvm-core, cellvm-blockd,
# cellvm-netd, cellvm-vsockd and cellvm-vsock-peer in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
d=/tmp/respawn
tap=cvmtap0
net="tap=$tap,ip=169.254.10.1,mask=255.255.0.0,mac=52:54:00:0a:0b:0e,id=net0"
mkdir -p $d/vs $d/logs
truncate -s 64M $d/a.img
l2_initrd_with $d /opt/cellvm/bin/cellvm-vsock-peer || exit 1
l2_tun_dev

# L1's ends of the vsock streams: the one the guest holds (5000), and the new ones after the
# reset (the guest sends to 5001; L1 sends to the guest's 6000 once vsockd was replaced).
timeout 500 cellvm-vsock-peer hold unix $d/vs/v.sock_5000 400 >$d/hold.log 2>&1 &
holder=$!
timeout 500 cellvm-vsock-peer serve unix $d/vs/v.sock_5001 1 >$d/serve.log 2>&1 &
server=$!

now() { cut -d' ' -f1 /proc/uptime; }

# wait_cue PATTERN SECS: until the L2 log has a line matching PATTERN, polling every 0.1 s.
wait_cue() {
	local i=0
	while [ "$i" -lt $(($2 * 10)) ]; do
		grep -qs "$1" $d/logs/*.log && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# L1's side, in the background: the three kills on the guest's cues.
(
	fails=0
	for round in 4 14; do
		if wait_cue "^CELLVM-AGENT: BLK-ROUND $round\$" 400; then
			l1_kill_child blockd || fails=$((fails + 1))
			if grep -qs '^CELLVM-AGENT: BLK-ROUND 30$' $d/logs/*.log; then
				echo "FAIL: the guest's disk loop had ended before blockd was killed"
				fails=$((fails + 1))
			fi
		else
			echo "FAIL: no BLK-ROUND $round cue"
			fails=$((fails + 1))
		fi
	done

	if wait_cue '^CELLVM-AGENT: NET-KILL-READY' 300; then
		sleep 3
		l1_kill_child netd || fails=$((fails + 1))
	else
		echo "FAIL: no NET-KILL-READY cue"
		fails=$((fails + 1))
	fi

	if wait_cue '^vsock-peer: holding a stream to port 5000' 300; then
		sleep 1
		l1_kill_child vsockd || fails=$((fails + 1))
		timeout 200 cellvm-vsock-peer send unix $d/vs/v.sock 6000 1 1048576 0 || {
			echo "FAIL: the stream L1 -> guest after the vsock reset failed"
			fails=$((fails + 1))
		}
	else
		echo "FAIL: no vsock hold cue"
		fails=$((fails + 1))
	fi
	[ "$fails" -eq 0 ] || exit 1
	echo "L1: all three device processes killed and replaced"
) >$d/killer.log 2>&1 &
killer=$!

checks=boot,blkrespawn:/dev/vda:30,net:169.254.10.2:169.254.10.1,netrespawn:169.254.10.1:15
checks=$checks,vsockreset:5000:5001:60,vsock:serve:vsock:6000:1,noioerr
L2_LOGDIR=$d/logs L2_INITRD=$d/initrd L2_CPUS=2 run_l2_cellvm 500 "$checks" -v \
	--event-monitor path=$d/ev.log \
	--disk path=$d/a.img,image_type=raw,id=disk0 --net "$net" \
	--vsock cid=3,socket=$d/vs/v.sock,id=vsock0 || rc=1
l2_quit_if_tripled "$killer:$d/killer.log" "$holder:$d/hold.log" "$server:$d/serve.log"

wait $killer || rc=1
sed 's/^/L1 killer: /' $d/killer.log
grep -q '^L1: all three device processes killed and replaced$' $d/killer.log || rc=1
for j in holder:$holder server:$server; do
	wait "${j#*:}" || {
		l2_say "L1 vsock ${j%%:*} failed: $(tail -n 3 "$d/${j%%:*}.log" 2>/dev/null)"
		rc=1
	}
done
sed 's/^/L1 peer: /' $d/hold.log $d/serve.log
grep -E 'device .*(replacement|took over)|reconnect|transport reset|resubmitting' "$L2_LOG" |
	sed 's/^/L1 cellvm: /'

# The event log: device-respawned and device-reconnected for each device, in that order.
evs=$(awk '/"event":/ { gsub(/[",]/, "", $2); ev = $2 }
	/"id":/ { gsub(/[",]/, "", $2); if (ev ~ /^device-re/) print ev ":" $2; ev = "" }' $d/ev.log |
	tr '\n' ' ')
l2_say "respawn events: $evs"
for id in disk0 net0 vsock0; do
	case " $evs" in
	*" device-respawned:$id "*"device-reconnected:$id "*) ;;
	*)
		l2_say "no device-respawned then device-reconnected event for $id"
		rc=1
		;;
	esac
done
ip link del $tap 2>/dev/null
exit $rc
