#!/bin/sh
# Nested test (runs in L1 as /test/run.sh), issue 18: live migration of a running L2 Linux with
# a disk (cellvm-blockd) between two cellvm instances in the same L1, over a unix socket.
#   A: cellvm boots the guest from the command line (with --api-socket); the agent's snapcount
#      counts in RAM and writes/reads sector n of the disk every tick.
#   B: a cellvm started with only --api-socket waits in vm.receive-migration; a second
#      receive-migration is refused while it waits. Bad destinations for A's send-migration
#      (nobody listening, tcp:, not a URL) are refused and A keeps counting.
#   Then vm.send-migration from A while the guest runs: both calls answer 204, A's cellvm
#   exits 0 by itself (its guest runs on B), the count goes on in B from where A stopped (no
#   second START), the disk still answers.
#   Second hop, B to C over TCP (receive-migration tcp:0.0.0.0:PORT, send-migration
#   tcp:127.0.0.1:PORT); meanwhile D's receive-migration on the same port is refused (in use),
#   and local=true over tcp: is refused. Third hop, C to D over unix: with --local: the guest
#   memory goes as fds (C sends no page), the count goes on in D, the guest finishes its checks
#   and powers off.
# Needs cellvm, cellvm-core, cellvm-api, cellvm-remote, cellvm-blockd in /opt/cellvm/bin
# (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/mig
mkdir -p $d "$L2_LOGDIR"
rm -f $d/a.sock $d/b.sock $d/mig.sock $d/none.sock
truncate -s 64M $d/disk.img
TICKS=110
PORT=6123
checks=boot,snapcount:$TICKS
log=$L2_LOGDIR/migrate-serial.log
fails=0

say() { echo "l2-migrate: $*"; }
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
remote() { cellvm-remote --api-socket $sock "$@"; }
# up_cs: L1's uptime in centiseconds (busybox date has no %N).
up_cs() {
	local u
	u=$(cut -d' ' -f1 /proc/uptime)
	echo $((${u%.*} * 100 + 1${u#*.} - 100))
}
ticks_in() { sed -n 's/.*CELLVM-AGENT: TICK \([0-9]*\) disk-ok.*/\1/p' "$1" | tr -d '\r'; }
api_cleanup() {
	say "serial output and log of cellvm A (the source):"
	tr -d '\r' <$d/a.raw
	cat $d/a.raw $d/b.raw $d/c.raw $d/d.raw 2>/dev/null | tr -d '\r' >"$log"
	[ -n "$recv" ] && kill "$recv" 2>/dev/null
	for p in "$vmm_a" "$vmm_b" "$vmm_c"; do
		[ -n "$p" ] && [ "$p" != "$vmm" ] && kill -9 "$p" 2>/dev/null
	done
}
# tcp_listening PORT: something listens on PORT (IPv4 or IPv6).
tcp_listening() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p=":$(printf '%04X' "$1")" '$2 ~ p "$" && $4 == "0A" { f = 1 } END { exit !f }'
}
# ended PID NAME: the source's cellvm exits 0 by itself within 30 s of its migration.
ended() {
	local i=0 rc
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 150 ] || { bad "$2 still runs 30 s after its migration"; return; }
		sleep 0.2
	done
	wait "$1"
	rc=$?
	[ "$rc" = 0 ] || bad "$2 exited with status $rc after the migration"
}
# continued SRC DST: the count goes on in DST's output ($raw) from where SRC's ($d/src.raw,
# lower case) stopped, no reboot; sets n_b to DST's first tick.
continued() {
	local n_a
	wait_serial 'CELLVM-AGENT: TICK' 120 || give_up "no tick in $2 within 120 s of the migration"
	n_a=$(ticks_in "$d/$(echo "$1" | tr 'A-Z' 'a-z').raw" | tail -n 1)
	n_b=$(ticks_in $raw | head -n 1)
	say "$1's last tick is $n_a, $2's first tick is $n_b"
	if [ -z "$n_b" ] || [ -z "$n_a" ] || [ "$n_b" -ne $((n_a + 1)) ]; then
		bad "the count did not continue: $1 ended at '$n_a', $2 started at '$n_b'"
	fi
	grep -q 'CELLVM-AGENT: START' $raw && bad "the guest started again in $2 (a reboot)"
	wait_serial "CELLVM-AGENT: TICK $((n_b + 2)) disk-ok" 60 || give_up "$2 stopped ticking"
}
: >$d/ev.log

# --- A: the source ---
raw=$d/a.raw
sock=$d/a.sock
cellvm --api-socket path=$sock --kernel "$L2_IMAGES/vmlinux" \
	--initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" --cmdline "$(l2_cmdline "$checks")" \
	--cpus boot=2 --memory size=256M,shared=on --serial tty --console off \
	--disk path=$d/disk.img,id=disk0,image_type=raw </dev/null >$raw 2>&1 &
vmm=$!
vmm_a=$vmm
wait_api
wait_serial 'CELLVM-AGENT: TICK 4 disk-ok' 300 || give_up "no fourth tick from the guest"

# --- B: the destination, waiting ---
sock=$d/b.sock
cellvm --api-socket path=$sock --event-monitor path=$d/ev.log </dev/null >$d/b.raw 2>&1 &
vmm_b=$!
wait_api
remote receive-migration "unix:$d/mig.sock" >$d/recv.out 2>&1 &
recv=$!
i=0
until [ -S $d/mig.sock ]; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || give_up "B does not listen on $d/mig.sock"
	sleep 0.1
done
expect_err 500 receive-migration "unix:$d/other.sock"
expect_err 500 info

# --- bad destinations: A refuses, keeps running ---
sock=$d/a.sock
expect_err 500 send-migration "unix:$d/none.sock"
expect_err refused send-migration "tcp:127.0.0.1:$PORT"
expect_err 400 send-migration "tcp:127.0.0.1"
expect_err 400 send-migration "$d/mig.sock"
remote info | grep -q '"state": *"Running"' || bad "A is not Running after refused migrations"
n0=$(ticks_in $raw | tail -n 1)
wait_serial "CELLVM-AGENT: TICK $((n0 + 2)) disk-ok" 60 || give_up "A stopped counting"

# --- the migration, while the guest runs ---
t0=$(up_cs)
remote send-migration "unix:$d/mig.sock" || bad "vm.send-migration failed"
t1=$(up_cs)
say "vm.send-migration took $(((t1 - t0) * 10)) ms"
wait "$recv"
rc=$?
recv=
[ "$rc" = 0 ] || bad "vm.receive-migration failed: $(cat $d/recv.out)"
grep 'migration:' $raw | tr -d '\r' | sed 's/^/l2-migrate: A: /'
i=0
while kill -0 "$vmm_a" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 150 ] || { bad "A still runs 30 s after its migration"; break; }
	sleep 0.2
done
wait "$vmm_a"
rc=$?
[ "$rc" = 0 ] || bad "A exited with status $rc after the migration"
vmm_a=
n_a=$(ticks_in $d/a.raw | tail -n 1)
[ -n "$(pids cellvm-core)" ] || bad "no cellvm-core runs after the migration"
audits

# --- B runs the guest: the count goes on ---
raw=$d/b.raw
vmm=$vmm_b
sock=$d/b.sock
remote info | grep -q '"state": *"Running"' || bad "B's vm.info does not say Running"
continued A B
# The disk's own state (vhost-user DEVICE_STATE) came along in the State phase.
grep -h 'cellvm-blockd: state loaded' $raw | tr -d '\r' | sed 's/^/l2-migrate: B: /'
grep -q 'cellvm-blockd: state loaded' $raw || bad "B's blockd did not load A's device state"

# --- second hop, B to C over TCP ---
sock=$d/c.sock
cellvm --api-socket path=$sock </dev/null >$d/c.raw 2>&1 &
vmm_c=$!
wait_api
remote receive-migration "tcp:0.0.0.0:$PORT" >$d/recv.out 2>&1 &
recv=$!
i=0
until tcp_listening $PORT; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || give_up "C does not listen on TCP port $PORT"
	sleep 0.1
done
sock=$d/d.sock
cellvm --api-socket path=$sock </dev/null >$d/d.raw 2>&1 &
vmm_d=$!
wait_api
expect_err "the port is in use" receive-migration "tcp:0.0.0.0:$PORT"
sock=$d/b.sock
expect_err "only supported with a unix:" send-migration "tcp:127.0.0.1:$PORT" --local
t0=$(up_cs)
remote send-migration "tcp:127.0.0.1:$PORT" || bad "vm.send-migration over TCP failed"
t1=$(up_cs)
say "vm.send-migration over TCP took $(((t1 - t0) * 10)) ms"
wait "$recv"
rc=$?
recv=
[ "$rc" = 0 ] || bad "vm.receive-migration over TCP failed: $(cat $d/recv.out)"
grep 'migration:' $raw | tr -d '\r' | sed 's/^/l2-migrate: B: /'
ended "$vmm_b" B
vmm_b=
raw=$d/c.raw
vmm=$vmm_c
sock=$d/c.sock
continued B C

# --- third hop, C to D over unix: with local=true (memory fds, no copy) ---
sock=$d/d.sock
remote receive-migration "unix:$d/mig2.sock" >$d/recv.out 2>&1 &
recv=$!
i=0
until [ -S $d/mig2.sock ]; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || give_up "D does not listen on $d/mig2.sock"
	sleep 0.1
done
sock=$d/c.sock
t0=$(up_cs)
remote send-migration "unix:$d/mig2.sock" --local || bad "vm.send-migration --local failed"
t1=$(up_cs)
say "vm.send-migration --local took $(((t1 - t0) * 10)) ms"
wait "$recv"
rc=$?
recv=
[ "$rc" = 0 ] || bad "vm.receive-migration of the local migration failed: $(cat $d/recv.out)"
grep 'migration:' $raw | tr -d '\r' | sed 's/^/l2-migrate: C: /'
grep -q 'guest memory passed as fds (local), 0 bytes of it copied' $raw ||
	bad "C did not pass its memory as fds, or copied some of it"
ended "$vmm_c" C
vmm_c=
raw=$d/d.raw
vmm=$vmm_d
sock=$d/d.sock
remote info | grep -q '"state": *"Running"' || bad "D's vm.info does not say Running"
continued C D
[ -n "$(pids cellvm-core)" ] || bad "no cellvm-core runs after the migrations"
wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "the guest did not finish its checks in D"
audits
wait_exit
