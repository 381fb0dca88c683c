#!/bin/sh
# Benchmark (runs in L1 as /test/run.sh), issue 18: snapshot and restore of a 512 MiB L2 Linux
# with a disk, QEMU against cellvm in the same L1 run, same kernel, initramfs and guest program
# (the agent's snapcount: counting in RAM and on its disk every 0.5 s).
#   QEMU: HMP stop, `migrate -d "exec:cat > FILE"` (QEMU 7.2 has no file: URI) with max-bandwidth
#   raised as libvirt's save does, `info migrate` until completed, quit; a new QEMU with
#   -incoming "exec:cat FILE" until `info migrate` says completed (the VM can run), cont.
#   cellvm: vm.pause, vm.snapshot file://DIR, vm.shutdown-vmm; a new cellvm started with only
#   --api-socket, vm.restore (prefault off), vm.resume; then once more with prefault=on.
#   Both: an idle guest (the agent sleeping after boot) paused and snapshotted.
# Save and restore times are the shell's (the call, or the command until `info migrate` says
# completed; the QEMU restore includes starting QEMU, the cellvm one the core and blockd that
# vm.restore starts); sizes are what the files use on L1's tmpfs (du) and their length.
# Also printed, as evidence of where cellvm's time goes: the guest memfd's allocated size before
# and after vm.snapshot and after vm.restore (stat of the memfd: what the VMM faulted in).
# Prints "BENCH snapshot ..." lines; fails only when a save or restore fails or the count does
# not go on after a restore (the figures are for reading; the shared host's load moves them).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/bsnap
mkdir -p $d "$L2_LOGDIR"
truncate -s 64M $d/q.img $d/c.img
checks=boot,snapcount:400
idle=boot,sleep:900
fails=0
say() { echo "bench-snapshot: $*"; }
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
# now_ms: milliseconds (date's %N where busybox has it, /proc/uptime's 10 ms otherwise).
case "$(date +%N)" in
*[!0-9]* | "") now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; } ;;
*) now_ms() { echo $(($(date +%s%N) / 1000000)); } ;;
esac
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
# goes_on SRC_LOG DST_LOG NAME: the restored guest's first tick follows the saved one's last.
goes_on() {
	local a b
	until_in "$2" 'CELLVM-AGENT: TICK' 120 || { bad "$3: no tick after the restore"; return; }
	a=$(ticks_in "$1" | tail -n 1)
	b=$(ticks_in "$2" | head -n 1)
	say "$3: last tick saved $a, then $b"
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -eq $((a + 1)) ] || bad "$3: the count did not go on"
	grep -q 'CELLVM-AGENT: START' "$2" && bad "$3: the guest started again (a reboot)"
}
# gone PID SECS: until PID has exited, at most SECS seconds.
gone() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt $(($2 * 5)) ] || return 1
		sleep 0.2
	done
	wait "$1" 2>/dev/null
	return 0
}
kib() { du -sk "$1" | cut -f1; }
# len_kib DIR|FILE: the apparent size (file lengths), in KiB.
len_kib() {
	if [ -d "$1" ]; then stat -c %s "$1"/*; else stat -c %s "$1"; fi |
		awk '{ s += $1 } END { printf "%d\n", s / 1024 }'
}
# memfd_kib PID...: KiB allocated in the memfds these processes hold (each memfd once).
memfd_kib() {
	local p f
	for p in "$@"; do
		for f in /proc/$p/fd/*; do
			case "$(readlink "$f" 2>/dev/null)" in /memfd:*) stat -L -c '%i %b %B' "$f" ;; esac
		done
	done 2>/dev/null | sort -u | awk '{ s += $2 * $3 } END { printf "%d\n", s / 1024 }'
}
pids_to_kill=
cleanup() { for p in $pids_to_kill; do kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT

# --- QEMU ---
qemu() {
	local c=$1 n=$2
	shift 2
	qemu-system-x86_64 -accel kvm -cpu host -M q35 -smp 2 -m 512 -nodefaults -no-user-config \
		-display none -serial stdio -no-reboot -kernel "$L2_IMAGES/vmlinux" \
		-initrd "$L2_IMAGES/l2-initramfs.cpio.gz" -append "$(l2_cmdline "$c")" \
		-drive file=$d/q.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0 \
		-chardev pipe,id=m0,path=$d/$n -mon chardev=m0,mode=readline "$@"
}
# qstart NAME CHECKS [ARGS...]: a QEMU whose serial output goes to $d/NAME.raw and whose HMP
# monitor takes `mon` lines (fd 3, held open read-write: no blocking, no EOF) and answers into
# $d/NAME.mon; its pid in $qpid.
qstart() {
	local n=$1 c=$2
	shift 2
	mkfifo $d/$n.in $d/$n.out
	exec 3>&-
	exec 3<>$d/$n.in
	qemu "$c" "$n" "$@" </dev/null >$d/$n.raw 2>&1 &
	qpid=$!
	pids_to_kill="$pids_to_kill $qpid"
	cat $d/$n.out >$d/$n.mon &
	pids_to_kill="$pids_to_kill $!"
	mlog=$d/$n.mon
}
mon() { echo "$*" >&3; }
# mon_poll CMD PATTERN SECS: CMD every 0.1 s until the monitor's log matches PATTERN.
mon_poll() {
	local i=0
	while [ "$i" -lt $(($3 * 10)) ]; do
		mon "$1"
		sleep 0.1
		grep -q "$2" $mlog && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		i=$((i + 1))
	done
	return 1
}
# qsave FILE: stop (already done), migrate to FILE, until completed; sets q_ms, QEMU's own
# total in q_own. The VM is paused and the monitor idle when called.
qsave() {
	local t0 t1 keys
	mon "migrate_set_parameter max-bandwidth 100G"
	mon_poll "info migrate_parameters" 'max-bandwidth: [0-9]' 20
	say "QEMU: $(tr -d '\r' <$mlog | grep -m 1 'max-bandwidth: [0-9]')"
	t0=$(now_ms)
	mon "migrate -d \"exec:cat > $1\""
	mon_poll "info migrate" 'Migration status: \(completed\|failed\)' 300
	t1=$(now_ms)
	q_ms=$((t1 - t0))
	sleep 0.5
	mon "info migrate" # once more: the answer that first says completed may lack the times
	sleep 1
	# The last value of each figure of `info migrate` (its answers repeat).
	keys='Migration status|total time|downtime|setup|transferred ram|throughput|duplicate'
	tr -d '\r' <$mlog | grep -aoE "($keys|normal|dirty sync count): .*" |
		awk -F: '{ v[$1] = $0; if (!($1 in o)) { o[$1] = n++; k[n - 1] = $1 } }
			END { for (i = 0; i < n; i++) printf "%s; ", v[k[i]]; print "" }' |
		sed 's/^/bench-snapshot: QEMU: /'
	q_own=$(tr -d '\r' <$mlog | sed -n 's/.*total time: \([0-9]*\) ms.*/\1/p' | tail -n 1)
	grep -q 'Migration status: completed' $mlog || bad "QEMU's save to $1 did not complete"
	mon quit
	gone "$qpid" 30 || bad "QEMU did not quit after its save"
}
qpause() {
	mon stop
	mon_poll "info status" 'VM status: paused' 30 || bad "QEMU: stop did not pause the VM"
}

qstart qa "$checks"
if ! until_in $d/qa.raw 'CELLVM-AGENT: TICK 4 disk-ok' 180; then
	bad "QEMU: no fourth tick"
	tr -d '\r' <$d/qa.raw | grep -v '^\[ ' | tail -n 5 | sed 's/^/bench-snapshot: QEMU: /'
	exit 1
fi
qpause
qsave $d/q.snap
q_save=$q_ms
q_size=$(len_kib $d/q.snap)
q_alloc=$(kib $d/q.snap)
say "QEMU: saved in $q_save ms (QEMU's total time ${q_own:-?} ms): $q_size KiB, $q_alloc KiB used"
t0=$(now_ms)
qstart qb "$checks" -incoming "exec:cat $d/q.snap"
mon_poll "info migrate" 'Migration status: \(completed\|failed\)' 300
t1=$(now_ms)
q_restore=$((t1 - t0))
grep -q 'Migration status: completed' $mlog || bad "QEMU's restore did not complete"
say "QEMU: restored in $q_restore ms (from its start)"
mon cont
goes_on $d/qa.raw $d/qb.raw QEMU
mon quit
gone "$qpid" 30 || kill -9 "$qpid"
rm -f $d/q.snap

qstart qi "$idle"
until_in $d/qi.raw 'CELLVM-AGENT: PASS boot' 180 || bad "QEMU: the idle guest did not boot"
sleep 3
qpause
qsave $d/qi.snap
q_isave=$q_ms
q_isize=$(len_kib $d/qi.snap)
q_ialloc=$(kib $d/qi.snap)
say "QEMU idle: saved in $q_isave ms (QEMU's total time ${q_own:-?} ms): $q_isize KiB"
rm -f $d/qi.snap
exec 3>&-

# --- cellvm ---
remote() { cellvm-remote --api-socket $sock "$@"; }
# cstart NAME ARGS...: a cellvm on $d/NAME.sock, its output in $d/NAME.raw, its pid in $vmm.
cstart() {
	local n=$1 i=0
	shift
	sock=$d/$n.sock
	cellvm --api-socket path=$sock "$@" </dev/null >$d/$n.raw 2>&1 &
	vmm=$!
	pids_to_kill="$pids_to_kill $vmm"
	until remote ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { bad "cellvm $n: no API socket after 10 s"; return 1; }
		sleep 0.1
	done
}
cboot() {
	cstart "$1" --kernel "$L2_IMAGES/vmlinux" --initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" \
		--cmdline "$(l2_cmdline "$2")" --cpus boot=2 --memory size=512M --serial tty \
		--console off --disk path=$d/c.img,id=disk0,image_type=raw
}
cend() {
	remote shutdown-vmm >/dev/null || bad "vmm.shutdown failed"
	gone "$vmm" 30 || { bad "cellvm still runs 30 s after vmm.shutdown"; kill -9 "$vmm"; }
}
# shellcheck disable=SC2046 # one argument per pid
mem_now() { memfd_kib "$vmm" $(pids cellvm-core); }
# csave DIR: vm.pause, vm.snapshot into DIR (timed into c_ms), vm.shutdown-vmm.
csave() {
	local t0 t1
	mkdir -p "$1"
	remote pause || bad "vm.pause failed"
	sleep 1
	m_before=$(mem_now)
	t0=$(now_ms)
	remote snapshot "file://$1" || bad "vm.snapshot into $1 failed"
	t1=$(now_ms)
	c_ms=$((t1 - t0))
	m_after=$(mem_now)
	say "cellvm: snapshot in $c_ms ms; guest memfd $m_before KiB allocated before, $m_after after:" \
		"$(ls -ls $1 | tr '\n' ' ')"
	cend
}
# crestore NAME DIR PREFAULT: a new cellvm restores DIR (timed into c_ms) and resumes.
crestore() {
	local t0 t1
	cstart "$1" -v || return
	t0=$(now_ms)
	remote restore "source_url=file://$2,prefault=$3" ||
		{ bad "vm.restore (prefault=$3) failed"; return 1; }
	t1=$(now_ms)
	c_ms=$((t1 - t0))
	say "cellvm: vm.restore prefault=$3 in $c_ms ms; guest memfd $(mem_now) KiB allocated"
	tr -d '\r' <$d/$1.raw | grep 'startup +' | sed 's/^/bench-snapshot: -v: /'
	remote resume || bad "vm.resume after the restore failed"
}

cboot ca "$checks"
until_in $d/ca.raw 'CELLVM-AGENT: TICK 4 disk-ok' 300 || bad "cellvm: no fourth tick"
csave $d/s1
c_save=$c_ms
c_save_m="$m_before $m_after"
c_size=$(len_kib $d/s1)
c_alloc=$(kib $d/s1)
say "cellvm: snapshot directory $c_size KiB long, $c_alloc KiB used"
t0=$(now_ms)
cat $d/s1/memory-ranges >/dev/null
say "cat memory-ranges >/dev/null in L1: $(($(now_ms) - t0)) ms (tmpfs; holes read as zeros)"
crestore cb $d/s1 off && c_restore=$c_ms && goes_on $d/ca.raw $d/cb.raw "cellvm"
cend
crestore cc $d/s1 on && c_restore_pf=$c_ms && goes_on $d/ca.raw $d/cc.raw "cellvm prefault=on"
cend
rm -rf $d/s1

cboot ci "$idle"
until_in $d/ci.raw 'CELLVM-AGENT: PASS boot' 300 || bad "cellvm: the idle guest did not boot"
sleep 3
csave $d/si
c_isave=$c_ms
c_isave_m="$m_before $m_after"
c_isize=$(len_kib $d/si)
c_ialloc=$(kib $d/si)
say "cellvm idle: snapshot directory $c_isize KiB long, $c_ialloc KiB used"
rm -rf $d/si

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a && b) printf "%.2f", a / b; else print "n/a" }'; }
echo "BENCH snapshot save_ms qemu ${q_save:-?} cellvm ${c_save:-?} ratio $(ratio "$c_save" "$q_save")"
echo "BENCH snapshot restore_ms qemu ${q_restore:-?} cellvm ${c_restore:-?} ratio" \
	"$(ratio "$c_restore" "$q_restore") cellvm_prefault ${c_restore_pf:-?}"
echo "BENCH snapshot size_kib qemu ${q_alloc:-?} (length $q_size) cellvm ${c_alloc:-?}" \
	"(length $c_size) ratio $(ratio "$c_alloc" "$q_alloc")"
echo "BENCH snapshot idle save_ms qemu ${q_isave:-?} cellvm ${c_isave:-?} ratio" \
	"$(ratio "$c_isave" "$q_isave")"
echo "BENCH snapshot idle size_kib qemu ${q_ialloc:-?} (length $q_isize) cellvm ${c_ialloc:-?}" \
	"(length $c_isize) ratio $(ratio "$c_ialloc" "$q_ialloc")"
echo "BENCH snapshot memfd_kib cellvm before/after vm.snapshot: busy $c_save_m, idle $c_isave_m"
[ -n "$q_save" ] && [ -n "$c_save" ] && [ -n "$q_restore" ] && [ -n "$c_restore" ] ||
	bad "a figure is missing"
say "$fails failure(s)"
[ "$fails" -eq 0 ]
exit $?
