#!/bin/sh
# Nested test (runs in L1 as /test/run.sh), issue 18: snapshot and restore of L2 Linux guests
# whose memory changed since boot, in one L1 boot. Each guest runs the agent's memcount check:
# it fills its free memory with a pattern (part of it in the added memory), then ticks with its
# MemTotal; after the restore the count goes on, MemTotal is what it was, and the pattern's
# sha256 still matches at the end.
#   1. ACPI memory hotplug: --memory size=256M,hotplug_size=512M; vm.resize to 384M adds a DIMM
#      the guest onlines; pause, snapshot (config.json says 384 MiB, state.json's
#      memory_hotplug has the slot, memory-ranges is 384 MiB), vmm.shutdown; a cellvm with only
#      --api-socket vm.restore's it, vm.resume; then vm.resize to 512M adds the next slot at the
#      next place and the guest's MemTotal grows again.
#   2. virtio-mem: --memory size=256M,hotplug_method=virtio-mem,hotplug_size=512M; vm.resize to
#      384M plugs 128 MiB; pause, snapshot (state.json's virtio_mem has 64 blocks plugged; the
#      unplugged ones are holes in memory-ranges), vmm.shutdown; cellvm --restore, vm.resume;
#      then it migrates live to a third cellvm and counts on there.
#   3. A memory zone backed by a file on read-only storage (file=,shared=off, Cloud Hypervisor's
#      #7674): the file sits under a read-only bind mount; boot, snapshot, restore; the file is
#      never written; the restored VM then migrates live to a third cellvm and counts on there.
# Needs cellvm, cellvm-core, cellvm-api and cellvm-remote in /opt/cellvm/bin.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/snapmem
mkdir -p $d "$L2_LOGDIR"
rm -rf $d/s* $d/*.raw $d/ro $d/ro-src
mkdir -p $d/s1 $d/s2 $d/s3 $d/ro $d/ro-src
TICKS=40
checks=boot,memcount
log=$L2_LOGDIR/snapshot-mem-serial.log
fails=0
: >$d/ev.log

say() { echo "l2-snapshot-mem: $*"; }
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
remote() { cellvm-remote --api-socket $sock "$@"; }
# ticks: "n mem-kB" of every TICK in $raw.
ticks() { tr -d '\r' <$raw | sed -n 's/.*CELLVM-AGENT: TICK \([0-9]*\) mem \([0-9]*\).*/\1 \2/p'; }
last_tick() { ticks | tail -n 1; }
first_tick() { ticks | head -n 1; }
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
# run_out: the restored guest finishes its check and powers off; cellvm ends by itself.
run_out() {
	local i=0
	wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "$1: the guest did not finish"
	grep -q 'CELLVM-AGENT: PASS memcount' $raw || bad "$1: memcount did not pass after the restore"
	grep -a 'MEMCOUNT-OK' $raw | tr -d '\r' | sed "s/^/l2-snapshot-mem: $1: /"
	while kill -0 "$vmm" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || give_up "$1: cellvm still runs 60 s after the guest powered off"
		sleep 0.2
	done
	wait "$vmm" || bad "$1: cellvm exited with status $?"
}
# snap DIR: pause, snapshot into DIR, the last tick and MemTotal in $n_a/$mem_a.
snap() {
	wait_serial "CELLVM-AGENT: TICK 4 mem" 300 || give_up "no fourth tick"
	remote pause || give_up "vm.pause failed"
	sleep 1
	set -- "$1" $(last_tick)
	n_a=$2
	mem_a=$3
	remote snapshot "file://$1" || give_up "vm.snapshot into $1 failed"
	say "snapshot at tick $n_a (MemTotal $mem_a kB): $(ls -ls $1 | tr '\n' ' ')"
	say "memory-ranges uses $(du -k $1/memory-ranges | cut -f1) KiB on disk"
	end_vmm
	audits
}
# resumed WHAT: after vm.resume, the count continues from $n_a with MemTotal $mem_a.
resumed() {
	local n m
	remote resume || give_up "$1: vm.resume failed"
	wait_serial 'CELLVM-AGENT: TICK' 120 || give_up "$1: no tick within 120 s of vm.resume"
	set -- "$1" $(first_tick)
	n=$2
	m=$3
	say "$1: stopped at tick $n_a (MemTotal $mem_a kB), restored guest's first tick $n ($m kB)"
	if [ -z "$n" ] || [ "$n" -le "$n_a" ] || [ "$n" -gt $((n_a + 2)) ]; then
		bad "$1: the count did not continue: it stopped at $n_a, went on at '$n'"
	fi
	[ "$m" = "$mem_a" ] || bad "$1: MemTotal $m kB after the restore, $mem_a kB before"
	grep -q 'CELLVM-AGENT: START' $raw && bad "$1: the guest started again (a reboot)"
}
# migrate_to NAME WHAT: the VM of $vmm/$sock/$raw moves live over unix to a new cellvm NAME,
# whose serial output, socket and pid become $raw, $sock and $vmm; the count goes on there.
migrate_to() {
	local vmm_b=$vmm sock_b=$sock raw_b=$raw vmm_c sock_c raw_c n m
	empty_vmm "$1"
	vmm_c=$vmm
	sock_c=$sock
	raw_c=$raw
	remote receive-migration "unix:$d/mig-$1.sock" >$d/recv-$1.out 2>&1 &
	recv=$!
	i=0
	until [ -S $d/mig-$1.sock ]; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || give_up "$2: the destination does not listen on $d/mig-$1.sock"
		sleep 0.1
	done
	raw=$raw_b
	sock=$sock_b
	vmm=$vmm_b
	remote send-migration "unix:$d/mig-$1.sock" || bad "$2: vm.send-migration failed"
	wait "$recv" || bad "$2: vm.receive-migration failed: $(cat $d/recv-$1.out)"
	i=0
	while kill -0 "$vmm_b" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 150 ] || { bad "$2: the source still runs 30 s after its migration"; break; }
		sleep 0.2
	done
	wait "$vmm_b" || bad "$2: the source exited with status $? after its migration"
	grep -a 'cellvm: migration:' $raw_b | tr -d '\r' | sed "s/^/l2-snapshot-mem: $2: /"
	set -- "$1" "$2" $(last_tick)
	n_a=$3
	mem_a=$4
	raw=$raw_c
	sock=$sock_c
	vmm=$vmm_c
	wait_serial 'CELLVM-AGENT: TICK' 120 || give_up "$2: no tick after the migration"
	set -- "$1" "$2" $(first_tick)
	say "$2: the source stopped at tick $n_a ($mem_a kB), the destination went on at $3 ($4 kB)"
	if [ -z "$3" ] || [ "$3" -le "$n_a" ] || [ "$3" -gt $((n_a + 2)) ]; then
		bad "$2: the count did not continue after the migration: $n_a, then '$3'"
	fi
	[ "$4" = "$mem_a" ] || bad "$2: MemTotal $4 kB after the migration, $mem_a kB before"
}
api_cleanup() {
	cat $d/*.raw 2>/dev/null | tr -d '\r' >"$log"
	umount $d/ro 2>/dev/null
}
boot() {
	raw=$d/$1.raw
	sock=$d/$1.sock
	shift
	rm -f $sock
	cellvm --api-socket path=$sock --event-monitor path=$d/ev.log --kernel "$L2_IMAGES/vmlinux" \
		--initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" --cpus boot=1 --serial tty \
		--console off "$@" </dev/null >$raw 2>&1 &
	vmm=$!
	wait_api
}
empty_vmm() {
	raw=$d/$1.raw
	sock=$d/$1.sock
	rm -f $sock
	shift
	cellvm --api-socket path=$sock --event-monitor path=$d/ev.log "$@" </dev/null >$raw 2>&1 &
	vmm=$!
	wait_api
}
cmd() { echo "$(l2_cmdline "boot,memcount:$1:${2:-$TICKS}:300") memhp_default_state=online"; }

# --- 1: ACPI memory hotplug ---
boot acpi-a --cmdline "$(cmd 128)" --memory size=256M,hotplug_size=512M
wait_serial 'CELLVM-AGENT: MEMCOUNT-WAIT' 300 || give_up "the guest did not get to memcount"
remote resize --memory 384M || give_up "vm.resize --memory 384M failed"
wait_serial 'CELLVM-AGENT: MEMCOUNT-FILLED' 300 || give_up "ACPI: the guest did not fill its memory"
snap $d/s1
grep -q '"size": *402653184' $d/s1/config.json || bad "config.json's memory.size is not 384 MiB"
grep -o '"memory_hotplug":{[^]]*' $d/s1/state.json | head -c 300
echo
grep -q '"enabled":1' $d/s1/state.json || bad "state.json has no enabled memory hotplug slot"
[ "$(stat -c %s $d/s1/memory-ranges)" = $((384 << 20)) ] ||
	bad "memory-ranges is $(stat -c %s $d/s1/memory-ranges) bytes, not 384 MiB"
empty_vmm acpi-b
remote restore "source_url=file://$d/s1" || give_up "ACPI: vm.restore failed"
remote info | grep -q '"state": *"Paused"' || bad "ACPI: vm.info does not say Paused after vm.restore"
resumed ACPI
# Its controller saw no vm.resize: the core refuses to migrate the added RAM (the destination
# would lay memory.size out as boot RAM), the VM runs on.
vmm_b=$vmm
empty_vmm acpi-c
vmm_c=$vmm
remote receive-migration "unix:$d/mig-acpi.sock" >$d/recv-acpi.out 2>&1 &
recv=$!
i=0
until [ -S $d/mig-acpi.sock ]; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || give_up "ACPI: the destination does not listen on $d/mig-acpi.sock"
	sleep 0.1
done
raw=$d/acpi-b.raw
sock=$d/acpi-b.sock
vmm=$vmm_b
out=$(remote send-migration "unix:$d/mig-acpi.sock" 2>&1) &&
	bad "ACPI: the migration of a restored VM with hot-added RAM succeeded"
say "ACPI: send-migration: $(echo "$out" | tr '\n' ' ')"
case "$out" in *"hot-added"*) ;; *) bad "ACPI: the refusal does not name the hot-added RAM" ;; esac
wait "$recv" && bad "ACPI: the destination's receive-migration succeeded"
remote info | grep -q '"state": *"Running"' || bad "ACPI: the source does not run after the refusal"
sock=$d/acpi-c.sock
remote shutdown-vmm >/dev/null 2>&1
wait "$vmm_c"
sock=$d/acpi-b.sock
remote resize --memory 512M || bad "ACPI: vm.resize --memory 512M after the restore failed"
grep -a 'hotplug: .* MiB of RAM added' $raw | tr -d '\r' | sed 's/^/l2-snapshot-mem: /'
i=0
until [ "$(ticks | tail -n 1 | cut -d' ' -f2)" -gt $((mem_a + 120 * 1024)) ] 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || { bad "ACPI: MemTotal did not grow after the second resize: $(last_tick)"; break; }
	kill -0 "$vmm" 2>/dev/null || break
	sleep 0.2
done
say "ACPI: after the second resize: tick $(last_tick)"
run_out ACPI

# --- 2: virtio-mem ---
boot vmem-a --cmdline "$(cmd 128 80)" --memory size=256M,hotplug_method=virtio-mem,hotplug_size=512M
wait_serial 'CELLVM-AGENT: MEMCOUNT-WAIT' 300 || give_up "virtio-mem: the guest did not get to memcount"
remote resize --memory 384M || give_up "virtio-mem: vm.resize --memory 384M failed"
wait_serial 'CELLVM-AGENT: MEMCOUNT-FILLED' 300 || give_up "virtio-mem: the guest did not fill its memory"
snap $d/s2
grep -q '"hotplugged_size": *134217728' $d/s2/config.json ||
	bad "config.json's memory.hotplugged_size is not 128 MiB"
grep -q '"plugged_size":134217728' $d/s2/state.json || bad "state.json's virtio_mem has not 128 MiB plugged"
[ "$(stat -c %s $d/s2/memory-ranges)" = $((768 << 20)) ] ||
	bad "memory-ranges is $(stat -c %s $d/s2/memory-ranges) bytes, not 768 MiB"
empty_vmm vmem-b --restore "source_url=file://$d/s2"
i=0
until remote info 2>/dev/null | grep -q '"state": *"Paused"'; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || give_up "virtio-mem: not Paused within 120 s of --restore"
	sleep 0.2
done
grep -a 'plugged, .* requested' $raw | tr -d '\r' | sed 's/^/l2-snapshot-mem: /'
resumed virtio-mem
# Live to a third cellvm: config.json's hotplug_size places the region, the plugged blocks'
# pages and the device's state (its bitmap) follow; unplugged blocks are not read nor sent.
migrate_to vmem-c virtio-mem
run_out virtio-mem

# --- 3: a zone backed by a file on read-only storage (shared=off) ---
truncate -s 256M $d/ro-src/zone.img
mount -o bind $d/ro-src $d/ro && mount -o remount,bind,ro $d/ro ||
	give_up "no read-only bind mount"
( : >>$d/ro/zone.img ) 2>/dev/null && bad "the zone's file is writable through the mount"
boot zone-a --cmdline "$(cmd 0 80)" --memory size=0 \
	--memory-zone id=z0,size=256M,file=$d/ro/zone.img,shared=off
wait_serial 'CELLVM-AGENT: MEMCOUNT-FILLED' 300 || give_up "zone: the guest did not fill its memory"
snap $d/s3
grep -q "zone.img" $d/s3/config.json || bad "config.json does not name the zone's file"
empty_vmm zone-b
remote restore "source_url=file://$d/s3" || give_up "zone: vm.restore from a read-only file failed"
resumed zone
# The restored VM moves on to a third cellvm, live over unix: the destination makes the zone
# from config.json (the read-only file again) and takes the memory and the state.
migrate_to zone-c zone
run_out zone
nz=$(tr -d '\000' <$d/ro/zone.img | wc -c)
[ "$nz" = 0 ] || bad "the read-only zone file changed ($nz non-zero bytes)"
umount $d/ro

finish 0
