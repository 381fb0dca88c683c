#!/bin/sh
# Benchmark (runs in L1 as /test/run.sh), issue 18: live migration of a running 512 MiB L2
# Linux with a disk between two VMMs in the same L1, QEMU against cellvm, same kernel,
# initramfs and guest program (the agent's snapcount: counting in RAM and on its disk).
#   QEMU: a second QEMU waits with -incoming unix:, the source's monitor (HMP on a pipe) says
#   migrate; total time and downtime as QEMU's `info migrate` reports them.
#   cellvm: vm.receive-migration on a second cellvm, vm.send-migration (copy) from the first,
#   then vm.send-migration --local to a third; total time and downtime as the source reports
#   them.
# Prints "BENCH migrate ..." lines; fails only when a migration fails or the count does not go
# on (the figures are for reading, the shared host's load moves them by seconds).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/bmig
mkdir -p $d "$L2_LOGDIR"
truncate -s 64M $d/q.img $d/c.img
checks=boot,snapcount:200
fails=0
say() { echo "bench-migrate: $*"; }
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
ticks_in() { sed -n 's/.*CELLVM-AGENT: TICK \([0-9]*\) disk-ok.*/\1/p' "$1" | tr -d '\r'; }
# until_in FILE PATTERN SECS
until_in() {
	local i=0
	while [ "$i" -lt $(($3 * 5)) ]; do
		grep -qs "$2" "$1" && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
# goes_on SRC_LOG DST_LOG NAME: the destination's first tick follows the source's last.
goes_on() {
	local a b
	until_in "$2" 'CELLVM-AGENT: TICK' 120 || { bad "$3: no tick on the destination"; return; }
	a=$(ticks_in "$1" | tail -n 1)
	b=$(ticks_in "$2" | head -n 1)
	say "$3: last tick $a, then $b"
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -eq $((a + 1)) ] || bad "$3: the count did not go on"
}
pids_to_kill=
cleanup() { for p in $pids_to_kill; do kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT

# --- QEMU ---
qemu() {
	qemu-system-x86_64 -accel kvm -cpu host -M q35 -smp 2 -m 512 -nodefaults -no-user-config \
		-display none -serial stdio -no-reboot -kernel "$L2_IMAGES/vmlinux" \
		-initrd "$L2_IMAGES/l2-initramfs.cpio.gz" -append "$(l2_cmdline "$checks")" \
		-drive file=$d/q.img,if=none,id=d0,format=raw \
		-device virtio-blk-pci,drive=d0 "$@"
}
mkfifo $d/mon.in $d/mon.out
qemu -chardev pipe,id=m0,path=$d/mon -mon chardev=m0,mode=readline </dev/null >$d/qa.raw 2>&1 &
qa=$!
pids_to_kill="$qa"
cat $d/mon.out >$d/mon.log &
pids_to_kill="$pids_to_kill $!"
if ! until_in $d/qa.raw 'CELLVM-AGENT: TICK 4 disk-ok' 120; then
	bad "QEMU: no fourth tick"
	tr -d '\r' <$d/qa.raw | grep -v '^\[ ' | tail -n 5 | sed 's/^/bench-migrate: QEMU: /'
	exit 1
fi
qemu -incoming unix:$d/qmig.sock </dev/null >$d/qb.raw 2>&1 &
qb=$!
pids_to_kill="$pids_to_kill $qb"
i=0
until [ -S $d/qmig.sock ] || [ "$i" -ge 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
echo "migrate -d unix:$d/qmig.sock" >$d/mon.in
i=0
while [ "$i" -lt 240 ]; do
	echo "info migrate" >$d/mon.in
	sleep 0.5
	grep -q 'Migration status: \(completed\|failed\)' $d/mon.log && break
	i=$((i + 1))
done
sleep 1 # the rest of the last answer
tr -d '\r' <$d/mon.log | grep -E 'Migration status|total time|downtime|transferred ram' | tail -n 4 |
	sed 's/^/bench-migrate: QEMU: /'
q_total=$(tr -d '\r' <$d/mon.log | sed -n 's/.*total time: \([0-9]*\) ms.*/\1/p' | tail -n 1)
q_down=$(tr -d '\r' <$d/mon.log | sed -n 's/.*[^d ]*downtime: \([0-9]*\) ms.*/\1/p' | tail -n 1)
grep -q 'Migration status: completed' $d/mon.log || bad "QEMU's migration did not complete"
echo "quit" >$d/mon.in
goes_on $d/qa.raw $d/qb.raw QEMU
kill -9 $qa $qb 2>/dev/null
wait $qa $qb 2>/dev/null

# --- cellvm ---
remote() { cellvm-remote --api-socket $sock "$@"; }
sock=$d/a.sock
cellvm --api-socket path=$sock --kernel "$L2_IMAGES/vmlinux" \
	--initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" --cmdline "$(l2_cmdline "$checks")" \
	--cpus boot=2 --memory size=512M,shared=on --serial tty --console off \
	--disk path=$d/c.img,id=disk0,image_type=raw </dev/null >$d/ca.raw 2>&1 &
ca=$!
pids_to_kill="$pids_to_kill $ca"
until_in $d/ca.raw 'CELLVM-AGENT: TICK 4 disk-ok' 300 || bad "cellvm: no fourth tick"
for n in b c; do
	sock=$d/$n.sock
	cellvm --api-socket path=$sock </dev/null >$d/c$n.raw 2>&1 &
	pids_to_kill="$pids_to_kill $!"
	eval "c$n=$!"
done
sleep 1
sock=$d/b.sock
remote receive-migration "unix:$d/cmig.sock" >$d/recv.out 2>&1 &
recv=$!
i=0
until [ -S $d/cmig.sock ] || [ "$i" -ge 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
sock=$d/a.sock
remote send-migration "unix:$d/cmig.sock" || bad "cellvm: vm.send-migration failed"
wait $recv || bad "cellvm: vm.receive-migration failed: $(cat $d/recv.out)"
line=$(tr -d '\r' <$d/ca.raw | grep 'cellvm: migration: sent' | tail -n 1)
say "cellvm: $line"
c_total=$(echo "$line" | sed -n 's/.*, \([0-9]*\) ms, \([0-9]*\) ms paused.*/\1/p')
c_down=$(echo "$line" | sed -n 's/.*, \([0-9]*\) ms, \([0-9]*\) ms paused.*/\2/p')
goes_on $d/ca.raw $d/cb.raw cellvm
sock=$d/c.sock
remote receive-migration "unix:$d/cmig2.sock" >$d/recv.out 2>&1 &
recv=$!
i=0
until [ -S $d/cmig2.sock ] || [ "$i" -ge 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
sock=$d/b.sock
remote send-migration "unix:$d/cmig2.sock" --local || bad "cellvm: send-migration --local failed"
wait $recv || bad "cellvm: receive of the local migration failed: $(cat $d/recv.out)"
line=$(tr -d '\r' <$d/cb.raw | grep 'cellvm: migration: guest memory passed' | tail -n 1)
say "cellvm --local: $line"
l_total=$(echo "$line" | sed -n 's/.*, \([0-9]*\) ms, \([0-9]*\) ms paused.*/\1/p')
l_down=$(echo "$line" | sed -n 's/.*, \([0-9]*\) ms, \([0-9]*\) ms paused.*/\2/p')
goes_on $d/cb.raw $d/cc.raw "cellvm --local"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a && b) printf "%.2f", a / b; else print "n/a" }'; }
echo "BENCH migrate total_ms qemu ${q_total:-?} cellvm ${c_total:-?} ratio $(ratio "$c_total" "$q_total")"
echo "BENCH migrate downtime_ms qemu ${q_down:-?} cellvm ${c_down:-?} ratio $(ratio "$c_down" "$q_down")"
echo "BENCH migrate local total_ms cellvm ${l_total:-?} downtime_ms cellvm ${l_down:-?}"
[ -n "$q_total" ] && [ -n "$c_total" ] && [ -n "$l_total" ] || bad "a figure is missing"
say "$fails failure(s)"
[ "$fails" -eq 0 ]
exit $?
