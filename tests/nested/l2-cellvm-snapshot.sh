#!/bin/sh
# Nested test (runs in L1 as /test/run.sh), issue 18: snapshot and restore of a running L2
# Linux with a disk (cellvm-blockd) and a NIC (cellvm-netd on a TAP), in one boot.
#   A: cellvm boots the guest from the command line (with --api-socket); the agent's snapcount
#      counts in RAM and writes/reads sector n of the disk every tick. vm.snapshot is refused
#      while it runs; vm.pause, vm.snapshot into an empty directory (config.json, state.json,
#      memory-ranges), a second vm.snapshot into it is refused; vm.shutdown-vmm ends A.
#   B: a cellvm started with only --api-socket refuses a restore from a copy whose
#      memory-ranges is truncated and from a directory without config.json (and keeps serving),
#      then vm.restore's the snapshot: the VM is Paused, vm.restore again is refused, vm.resume
#      continues it: the count goes on from where A stopped (no second START), the disk answers.
#      After a few more ticks: vm.pause, vm.snapshot into a second directory, vm.shutdown-vmm.
#   C: cellvm --restore source_url=file://...,prefault=on, vm.resume: the count goes on again
#      to its end, the agent powers off, cellvm exits 0.
# Needs cellvm, cellvm-core, cellvm-api, cellvm-remote, cellvm-blockd, cellvm-netd in
# /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/snap
mkdir -p $d "$L2_LOGDIR"
rm -rf $d/s1 $d/s2 $d/bad $d/empty
mkdir -p $d/s1 $d/s2 $d/bad $d/empty
truncate -s 64M $d/disk.img
l2_tun_dev
TICKS=70
checks=boot,snapcount:$TICKS
log=$L2_LOGDIR/snapshot-serial.log
tap=cvmsnap0
net="tap=$tap,ip=169.254.30.1,mask=255.255.0.0,mac=52:54:00:0a:1b:2c"
fails=0

say() { echo "l2-snapshot: $*"; }
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
remote() { cellvm-remote --api-socket $sock "$@"; }
# last_tick: the highest "TICK n" in $raw.
last_tick() { sed -n 's/.*CELLVM-AGENT: TICK \([0-9]*\) disk-ok.*/\1/p' $raw | tail -n 1; }
first_tick() { sed -n 's/.*CELLVM-AGENT: TICK \([0-9]*\) disk-ok.*/\1/p' $raw | head -n 1; }
# end_vmm: vmm.shutdown and the wait for cellvm $vmm to exit.
end_vmm() {
	local i=0
	remote shutdown-vmm >/dev/null || bad "vmm.shutdown failed"
	while kill -0 "$vmm" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 150 ] || give_up "cellvm still runs 30 s after vmm.shutdown"
		sleep 0.2
	done
	wait "$vmm"
}
all_raw() { cat $d/a.raw $d/b.raw $d/c.raw 2>/dev/null | tr -d '\r'; }
# finish's hook: the log the verdict reads holds all three VMMs' serial output, A's and B's
# printed (finish prints the last one's).
api_cleanup() {
	say "serial output of cellvm A and B:"
	cat $d/a.raw $d/b.raw 2>/dev/null | tr -d '\r'
	all_raw >"$log"
	ip link del $tap 2>/dev/null
}
: >$d/ev.log

# --- A: boot, refuse a running snapshot, pause, snapshot ---
raw=$d/a.raw
sock=$d/a.sock
rm -f $sock
cellvm --api-socket path=$sock --kernel "$L2_IMAGES/vmlinux" \
	--initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" --cmdline "$(l2_cmdline "$checks")" \
	--cpus boot=2 --memory size=256M --serial tty --console off \
	--disk path=$d/disk.img,id=disk0,image_type=raw --net "$net,id=net0" </dev/null >$raw 2>&1 &
vmm=$!
wait_api
wait_serial 'CELLVM-AGENT: TICK 6 disk-ok' 300 || give_up "no sixth tick from the guest"
expect_err 500 snapshot "file://$d/s1"
[ -z "$(ls $d/s1)" ] || bad "a refused snapshot left files: $(ls $d/s1)"
remote pause || give_up "vm.pause failed"
sleep 1
n_a=$(last_tick)
t0=$(cut -d. -f1 /proc/uptime)
remote snapshot "file://$d/s1" || give_up "vm.snapshot failed"
say "snapshot at tick $n_a took $(($(cut -d. -f1 /proc/uptime) - t0)) s:" \
	"$(ls -ls $d/s1 | tr '\n' ' ')"
for f in config.json state.json memory-ranges; do
	[ -s $d/s1/$f ] || bad "the snapshot has no $f"
done
grep -q '"boot_vcpus": *2' $d/s1/config.json || bad "config.json lacks boot_vcpus 2"
grep -q '"id": *"disk0"' $d/s1/config.json || bad "config.json lacks disk0"
grep -q '"id": *"net0"' $d/s1/config.json || bad "config.json lacks net0"
[ "$(stat -c %s $d/s1/memory-ranges)" = $((256 << 20)) ] ||
	bad "memory-ranges is $(stat -c %s $d/s1/memory-ranges) bytes, not 256 MiB"
say "memory-ranges uses $(du -k $d/s1/memory-ranges | cut -f1) KiB on disk (zero pages are holes)"
# The daemons' own state (vhost-user DEVICE_STATE): blockd's and netd's, in state.json.
n_ds=$(grep -o '"device_state": *"backend"' $d/s1/state.json | wc -l)
say "backend states in state.json: $n_ds ($(grep -o '"device_state_len": *[0-9]*' $d/s1/state.json |
	tr -d ' "' | tr '\n' ' '))"
[ "$n_ds" = 2 ] || bad "state.json holds $n_ds backend states, not disk0's and net0's"
expect_err 500 snapshot "file://$d/s1"
expect_err 400 snapshot "http://$d/s1"
[ "$(last_tick)" = "$n_a" ] || bad "the guest ticked while paused"
sleep 1
[ -n "$(pids cellvm-core)" ] || bad "cellvm-core is gone after the snapshot"
audits
end_vmm
say "cellvm A ended (status $?)"
audits

# --- B: refused restores, then vm.restore, resume, more ticks, second snapshot ---
cp $d/s1/config.json $d/s1/state.json $d/bad/
truncate -s $((128 << 20)) $d/bad/memory-ranges
raw=$d/b.raw
sock=$d/b.sock
rm -f $sock
cellvm --api-socket path=$sock --event-monitor path=$d/ev.log </dev/null >$raw 2>&1 &
vmm=$!
wait_api
expect_err 400 restore "source_url=file://$d/empty"
expect_err 500 restore "source_url=file://$d/bad"
remote ping >/dev/null || give_up "cellvm B stopped serving after a failed restore"
expect_err 500 info
t0=$(cut -d. -f1 /proc/uptime)
remote restore "source_url=file://$d/s1" || give_up "vm.restore failed"
say "vm.restore took $(($(cut -d. -f1 /proc/uptime) - t0)) s"
grep -h 'state loaded' $raw | tr -d '\r' | sed 's/^/l2-snapshot: B: /'
for dm in blockd netd; do
	grep -q "cellvm-$dm: state loaded" $raw || bad "B's cellvm-$dm did not load its saved state"
done
remote info | grep -q '"state": *"Paused"' || bad "vm.info does not say Paused after vm.restore"
expect_err 404 restore "source_url=file://$d/s1"
sleep 1
[ -z "$(first_tick)" ] || bad "the restored guest ran before vm.resume"
remote resume || give_up "vm.resume failed"
wait_serial 'CELLVM-AGENT: TICK' 120 || give_up "no tick within 120 s of vm.resume"
n_b=$(first_tick)
say "A stopped at tick $n_a, B's first tick is $n_b"
if [ -z "$n_b" ] || [ "$n_b" -le "$n_a" ] || [ "$n_b" -gt $((n_a + 2)) ]; then
	bad "the count did not continue: A ended at $n_a, B started at '$n_b'"
fi
grep -q 'CELLVM-AGENT: START' $raw && bad "the guest started again in B (a reboot, not a restore)"
grep -q 'CELLVM-AGENT: FAIL' $raw && bad "the agent failed in B: $(grep 'CELLVM-AGENT: FAIL' $raw)"
wait_serial "CELLVM-AGENT: TICK $((n_b + 6)) disk-ok" 120 || give_up "B stopped ticking"
remote pause || give_up "vm.pause in B failed"
sleep 1
n_b2=$(last_tick)
remote snapshot "file://$d/s2" || give_up "the second vm.snapshot failed"
sleep 1
[ -n "$(pids cellvm-core)" ] || bad "cellvm-core is gone after the second snapshot"
audits
end_vmm
say "cellvm B ended (status $?) at tick $n_b2"
audits

# --- C: --restore on the command line, resume, run to the end ---
raw=$d/c.raw
sock=$d/c.sock
rm -f $sock
cellvm --api-socket path=$sock --restore "source_url=file://$d/s2,prefault=on" </dev/null \
	>$raw 2>&1 &
vmm=$!
wait_api
i=0
until remote info | grep -q '"state": *"Paused"'; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || give_up "vm.info does not say Paused within 120 s of --restore"
	sleep 0.2
done
say "C is Paused after $((i / 5)) s"
remote resume || give_up "vm.resume in C failed"
wait_serial 'CELLVM-AGENT: TICK' 120 || give_up "no tick within 120 s of vm.resume in C"
n_c=$(first_tick)
say "B stopped at tick $n_b2, C's first tick is $n_c"
if [ -z "$n_c" ] || [ "$n_c" -le "$n_b2" ] || [ "$n_c" -gt $((n_b2 + 2)) ]; then
	bad "the count did not continue: B ended at $n_b2, C started at '$n_c'"
fi
wait_serial 'CELLVM-AGENT: DONE' 200 || give_up "the guest did not finish its checks in C"
wait_exit
