#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): virtio-mem (issue 17) on one L2 Linux of 512 MiB
# started with `--memory size=512M,hotplug_method=virtio-mem,hotplug_size=1G` and the kernel's
# memhp_default_state=online, driven through the REST API:
#  1. the guest's virtio_mem driver binds to the device the core serves (no device process for
#     it); vm.info shows hotplug_method VirtioMem and hotplug_size 1 GiB; bad sizes are refused
#     (below the boot size, past hotplug_size, not a multiple of the 2 MiB block), and so is
#     vm.resize-zone (the VM has no zones);
#  2. vm.resize desired_ram=1G: the guest's MemTotal grows by 512 MiB; a text pattern filling
#     its free memory reads back; the core's resident guest memory grows; vm.info's
#     hotplugged_size says 512 MiB;
#  3. vm.resize desired_ram=512M: the guest unplugs, MemTotal drops by at least 384 MiB, the
#     core's resident memory drops by at least 256 MiB (the blocks were punched out of the
#     region's memfd), vm.info's hotplugged_size is gone again.
# Needs cellvm, cellvm-core, cellvm-api and cellvm-remote in /opt/cellvm/bin.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/vmem
mkdir -p $d "$L2_LOGDIR"
rm -f $d/api.sock $d/ev.log
raw=$d/serial.raw
log=$L2_LOGDIR/virtio-mem-serial.log
sock=$d/api.sock
checks=boot,vmem:512:300

say() { echo "l2-virtio-mem: $*"; }
remote() { cellvm-remote --api-socket $sock "$@"; }
fails=0
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
rss_kb() { sed -n 's/^Rss: *\([0-9]*\) kB$/\1/p' "/proc/$1/smaps_rollup"; }
info() { remote info | tr -d ' \n'; }
refused() { # refused WHAT ARGS...: the request must fail
	local what=$1 out
	shift
	out=$(remote "$@" 2>&1) && bad "$what was accepted: $out"
	say "$what: $out"
}

cellvm --api-socket path=$sock --event-monitor path=$d/ev.log \
	--kernel "$L2_IMAGES/vmlinux" --initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" \
	--cmdline "$(l2_cmdline "$checks") memhp_default_state=online" --cpus boot=1 \
	--memory size=512M,hotplug_method=virtio-mem,hotplug_size=1G --serial tty --console off \
	</dev/null >$raw 2>&1 &
vmm=$!
i=0
until remote ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || give_up "the API socket did not answer within 10 s"
	sleep 0.1
done

# 1. the device, vm.info, bad sizes
wait_serial 'CELLVM-AGENT: VMEM-WAIT' 300 || give_up "the guest's virtio_mem driver never bound"
grep -a 'VMEM-WAIT' $raw | head -n 1
out=$(info)
say "vm.info memory: $(echo "$out" | grep -o '"memory":{[^}]*}')"
echo "$out" | grep -q '"hotplug_method":"VirtioMem"' || bad "vm.info's hotplug_method is not VirtioMem"
echo "$out" | grep -q "\"hotplug_size\":$((1 << 30))" || bad "vm.info's hotplug_size is not 1 GiB"
refused "resize --memory 256M (below the boot size)" resize --memory 256M
refused "resize --memory 2G (past hotplug_size)" resize --memory 2G
refused "resize --memory 513M (not a 2 MiB multiple)" resize --memory 513M
refused "resize --memory 512M (the size it has, as Cloud Hypervisor)" resize --memory 512M
refused "resize-zone without zones" resize-zone --id mem0 --size 1G
core=$(pids cellvm-core)
[ "$(echo "$core" | wc -w)" = 1 ] || give_up "$(echo "$core" | wc -w) cellvm-core processes"

# 2. grow
r0=$(rss_kb "$core")
remote resize --memory 1G || give_up "vm.resize --memory 1G failed"
info | grep -q "\"hotplugged_size\":$((512 << 20))" || bad "vm.info's hotplugged_size is not 512 MiB"
wait_serial 'CELLVM-AGENT: VMEM-IN' 300 || give_up "the guest's MemTotal did not grow"
grep -a 'VMEM-IN' $raw | head -n 1
r1=$(rss_kb "$core")
say "core Rss $r0 kB -> $r1 kB after the grow and the fill"
[ $((r1 - r0)) -ge $((256 * 1024)) ] || bad "the core's Rss grew by $(((r1 - r0) / 1024)) MiB, want 256 or more"

# 3. shrink
wait_serial 'CELLVM-AGENT: VMEM-SHRINK-WAIT' 300 || give_up "the guest never got to the shrink"
remote resize --memory 512M || give_up "vm.resize --memory 512M failed"
info | grep -q '"hotplugged_size":[0-9]' && bad "vm.info still has a hotplugged_size: $(info | grep -o '"hotplugged_size":[0-9]*')"
wait_serial 'CELLVM-AGENT: VMEM-OK' 300 || give_up "the guest's MemTotal did not drop"
grep -a 'VMEM-OK' $raw | head -n 1
i=0
while :; do
	r2=$(rss_kb "$core")
	[ $((r1 - r2)) -lt $((256 * 1024)) ] || break
	i=$((i + 1))
	[ "$i" -lt 50 ] || { bad "the core's Rss only dropped by $(((r1 - r2) / 1024)) MiB, want 256 or more"; break; }
	sleep 0.2
done
say "core Rss $r1 kB -> $r2 kB after the shrink ($(((r1 - r2) / 1024)) MiB given back)"

wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "the guest did not finish"
wait_exit
