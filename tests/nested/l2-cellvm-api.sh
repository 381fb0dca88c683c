#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): one L2 Linux driven only through the REST API.
# cellvm starts with nothing but --api-socket and --event-monitor; cellvm-remote creates the VM
# (kernel, initramfs, 2 vCPUs, 512 MiB, a 64 MiB raw disk behind cellvm-blockd, serial on
# cellvm's stdout) and boots it. While the agent prints a tick every 0.5 s of guest time, L1
# pauses the VM for 4 s: no tick may arrive, vm.counters may not move, and cellvm-blockd must
# have closed its kick eventfds (the rings are stopped with GET_VRING_BASE, so a backend that
# still ran would keep them); after vm.resume the ticks go on, the kick fds are back, and the
# guest's clock must not have jumped across the pause. Then vm.resize-disk grows the disk to
# 128 MiB while the guest runs (the guest sees the new capacity and writes past the old end).
# vm.shutdown then ends the core and cellvm-blockd while cellvm keeps serving, and vm.boot boots
# the same configuration again: the guest starts a second time and runs its checks again (the
# disk already has its new size). vm.power-button ends that boot: the guest sees the GED
# interrupt and powers off, cellvm exits 0, and the event log lists every step in order.
# With L2_API_PMEM=1 (the quarantined l2-cellvm-api-pmem: once in CI the guest triple-faulted
# during the second boot's hot-add), vm.add-pmem (issue 20), on each boot before the ticks:
# a missing file is refused while the
# guest runs; a 4 MiB file is hot-added (200, PciDeviceInfo), the guest's /dev/pmem0 reads the
# file's sha256 and cellvm-core maps the file; vm.remove-device, the guest ejects it, pmem0 goes
# and cellvm-core no longer maps the file. Needs cellvm, cellvm-core, cellvm-api,
# cellvm-remote and cellvm-blockd in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/api
mkdir -p $d "$L2_LOGDIR"
rm -f $d/api.sock $d/ev.log
truncate -s 64M $d/disk.img
head -c 4194304 /dev/urandom >$d/pm.img
pmsha=$(sha256sum <$d/pm.img | cut -d' ' -f1)
raw=$d/serial.raw
log=$L2_LOGDIR/api-serial.log
sock=$d/api.sock
PAUSE_S=4 # a clock that jumped shows a gap of 4.5 s; load alone stays under 3 s

# 128 MiB = 262144 sectors.
pmem=${L2_API_PMEM:-0}
checks=boot
[ "$pmem" = 0 ] || checks=$checks,hppmem:$pmsha:150,hpgone:pmem0:150
checks=$checks,pauseclock:12:300
checks=$checks,blkresize:/dev/vda:262144:150,powerbutton:150

say() { echo "l2-api: $*"; }
remote() { cellvm-remote --api-socket $sock "$@"; }
ticks() { grep -c 'CELLVM-AGENT: TICK' $raw; }
core_pid() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = cellvm-core ] && echo "${p#/proc/}" && return 0
	done
	return 1
}
blockd_pid() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = cellvm-blockd ] && echo "${p#/proc/}" && return 0
	done
	return 1
}
# eventfds PID: how many eventfds the process holds (blockd's kick and call fds among them).
eventfds() {
	local f n=0
	for f in "/proc/$1/fd/"*; do
		[ "$(readlink "$f" 2>/dev/null)" = 'anon_inode:[eventfd]' ] && n=$((n + 1))
	done
	echo $n
}
# ctr NAME: disk0's Cloud Hypervisor counter NAME from vm.counters (the only device with any).
ctr() { remote counters | tr -d ' \n' | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
ops() {
	local r w
	r=$(ctr read_ops) && w=$(ctr write_ops) && [ -n "$r" ] && [ -n "$w" ] && echo $((r + w))
}
fails=0
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
# maps_pm: how many of cellvm-core's mappings are the pmem file.
maps_pm() { grep -c -F "$d/pm.img" "/proc/$(core_pid)/maps"; }
# pmem_step N: boot N's vm.add-pmem and vm.remove-device, each when the agent asks for it.
pmem_step() {
	local out i=0
	wait_count 'CELLVM-AGENT: HP-PMEM-WAIT' "$1" 300 || give_up "boot $1 never asked for the pmem"
	out=$(remote add-pmem "file=$d/missing.img,id=pm0" 2>&1) &&
		bad "vm.add-pmem of a missing file succeeded: $out"
	case "$out" in *"returned 400"*"cannot open '$d/missing.img'"*) ;;
	*) bad "vm.add-pmem of a missing file: '$out'" ;; esac
	out=$(remote add-pmem "file=$d/pm.img,id=pm0") || give_up "vm.add-pmem failed: $out"
	say "vm.add-pmem: $out"
	echo "$out" | tr -d ' \n' | grep -Eq '^\{"id":"pm0","bdf":"0000:00:[0-1][0-9a-f]\.0"\}$' ||
		bad "vm.add-pmem body '$out' is not Cloud Hypervisor's PciDeviceInfo"
	[ "$(maps_pm)" -ge 1 ] || bad "cellvm-core does not map $d/pm.img after vm.add-pmem"
	wait_count 'CELLVM-AGENT: HP-GONE-WAIT pmem0' "$1" 150 ||
		give_up "boot $1: the guest did not read /dev/pmem0 ($(grep 'FAIL hppmem' $raw))"
	remote remove-device pm0 || bad "vm.remove-device pm0 failed"
	wait_count 'CELLVM-AGENT: HP-GONE pmem0' "$1" 150 || give_up "boot $1: pmem0 never went away"
	until [ "$(maps_pm)" -eq 0 ]; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || { bad "cellvm-core still maps $d/pm.img after the eject"; break; }
		sleep 0.2
	done
	remote info | grep -q '"pm0"' && bad "vm.info still lists pm0 after the eject"
	say "boot $1: pmem hot-added, read in the guest, removed and unmapped"
}

cat >$d/vm.json <<EOF
{
  "payload": {
    "kernel": "$L2_IMAGES/vmlinux",
    "initramfs": "$L2_IMAGES/l2-initramfs.cpio.gz",
    "cmdline": "$(l2_cmdline "$checks")"
  },
  "cpus": {"boot_vcpus": 2, "max_vcpus": 2},
  "memory": {"size": $((512 << 20))},
  "disks": [{"path": "$d/disk.img", "id": "disk0"}],
  "serial": {"mode": "Tty"},
  "console": {"mode": "Off"}
}
EOF

cellvm --api-socket path=$sock --event-monitor path=$d/ev.log </dev/null >$raw 2>&1 &
vmm=$!
i=0
until remote ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || give_up "the API socket did not answer within 10 s"
	sleep 0.1
done
remote create $d/vm.json || give_up "vm.create failed"
remote info | grep -q '"state": *"Created"' || bad "vm.info does not say Created"
t0=$(cut -d. -f1 /proc/uptime)
remote boot || give_up "vm.boot failed"
[ "$pmem" = 0 ] || pmem_step 1
wait_serial 'CELLVM-AGENT: TICK 2' 300 || give_up "no tick from the guest within 300 s of vm.boot"
say "guest ticking $(($(cut -d. -f1 /proc/uptime) - t0)) s after vm.boot"

b=$(blockd_pid) || give_up "no cellvm-blockd process"
run_fds=$(eventfds "$b")
remote pause || give_up "vm.pause failed"
remote info | grep -q '"state": *"Paused"' || bad "vm.info does not say Paused"
sleep 0.5
t_paused=$(ticks)
r_paused=$(ops)
pause_fds=$(eventfds "$b")
sleep $PAUSE_S
t_end=$(ticks)
r_end=$(ops)
say "paused: ticks $t_paused -> $t_end, disk0 read_ops+write_ops $r_paused -> $r_end," \
	"blockd eventfds $run_fds running, $pause_fds paused"
[ "$t_paused" = "$t_end" ] || bad "the guest ticked while paused ($t_paused -> $t_end)"
if [ -z "$r_paused" ] || [ "$r_paused" != "$r_end" ]; then
	bad "disk0's read_ops+write_ops moved while paused ('$r_paused' -> '$r_end')"
fi
[ "$pause_fds" -lt "$run_fds" ] ||
	bad "cellvm-blockd still holds its kick eventfds while paused: the rings were not stopped"
remote resume || give_up "vm.resume failed"
remote info | grep -q '"state": *"Running"' || bad "vm.info does not say Running"
i=0
until [ "$(ticks)" -ge $((t_end + 2)) ]; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || give_up "no tick within 60 s of vm.resume"
	sleep 0.2
done
res_fds=$(eventfds "$b")
say "resumed: ticking again, blockd eventfds $res_fds"
[ "$res_fds" = "$run_fds" ] || bad "cellvm-blockd holds $res_fds eventfds after resume, $run_fds before"

wait_serial 'CELLVM-AGENT: RESIZE-READY' 120 || give_up "the guest never got to the resize"
# vm.counters has Cloud Hypervisor's block names, and the guest's 1 MiB write past the old end
# (blkresize, done before POWER-BUTTON-READY) shows in write_bytes and write_ops.
c=$(remote counters | tr -d ' \n')
for k in read_bytes write_bytes read_ops write_ops read_latency_min read_latency_max \
	read_latency_avg write_latency_min write_latency_max write_latency_avg; do
	case "$c" in *"\"$k\":"[0-9]*) ;; *) bad "vm.counters has no $k: $c" ;; esac
done
case "$c" in *requests* | *kicks*) bad "vm.counters has names Cloud Hypervisor lacks: $c" ;; esac
wb0=$(ctr write_bytes)
wo0=$(ctr write_ops)
remote resize-disk --disk disk0 --size 128M || bad "vm.resize-disk failed"
[ "$(stat -c %s $d/disk.img)" = $((128 << 20)) ] || bad "the image is $(stat -c %s $d/disk.img) bytes"
wait_serial 'CELLVM-AGENT: POWER-BUTTON-READY' 200 || give_up "the guest never got to the power button"
wb1=$(ctr write_bytes)
wo1=$(ctr write_ops)
say "disk0 write_bytes $wb0 -> $wb1, write_ops $wo0 -> $wo1 across the guest's 1 MiB write"
if [ -z "$wb0" ] || [ -z "$wb1" ] || [ $((wb1 - wb0)) -lt $((1 << 20)) ] || [ "$wo1" -le "$wo0" ]; then
	bad "write_bytes/write_ops did not grow by the guest's 1 MiB write"
fi
# vm.shutdown: the VM's processes end, cellvm serves on; vm.boot: the guest boots again.
remote shutdown || give_up "vm.shutdown failed"
remote info | grep -q '"state": *"Shutdown"' || bad "vm.info does not say Shutdown"
blockd_pid >/dev/null && bad "cellvm-blockd still runs after vm.shutdown"
core_pid >/dev/null && bad "cellvm-core still runs after vm.shutdown"
remote ping >/dev/null || give_up "vmm.ping failed after vm.shutdown"
t0=$(cut -d. -f1 /proc/uptime)
remote boot || give_up "vm.boot after vm.shutdown failed"
remote info | grep -q '"state": *"Running"' || bad "vm.info does not say Running after the second vm.boot"
wait_count 'CELLVM-AGENT: START' 2 300 || give_up "the guest did not start again within 300 s"
say "guest started again $(($(cut -d. -f1 /proc/uptime) - t0)) s after the second vm.boot"
[ "$pmem" = 0 ] || pmem_step 2
blockd_pid >/dev/null || bad "no cellvm-blockd after the second vm.boot"
wait_count 'CELLVM-AGENT: POWER-BUTTON-READY' 2 300 ||
	give_up "the second boot never got to the power button"
remote power-button || bad "vm.power-button failed"
i=0
while kill -0 "$vmm" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || give_up "cellvm still runs 120 s after vm.power-button"
	sleep 0.2
done
wait "$vmm"
rc=$?
say "cellvm exited with status $rc"

evs=$(sed -n 's/^  "event": "\(.*\)",*$/\1/p' $d/ev.log | grep -v child-exited | tr '\n' ' ')
# Each boot's pmem, when L2_API_PMEM asks for it, is added and removed after the boot.
hp=
[ "$pmem" = 0 ] || hp=" device-added device-removed"
want="starting booting device-added booted$hp pausing paused resuming"
want="$want resumed device-resized shutdown booting device-added booted$hp"
want="$want shutdown deleted shutdown "
[ "$evs" = "$want" ] || bad "events '$evs', expected '$want'"
finish $rc
