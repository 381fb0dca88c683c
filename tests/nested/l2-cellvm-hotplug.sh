#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): PCI hotplug (issue 16) on one running L2 Linux,
# through the REST API only. cellvm starts with --api-socket and --event-monitor; the VM is
# created with no device at all and booted. Then, each step when the guest agent asks for it:
#  1. vm.add-disk hd1 (a 16 MiB raw image): 200 with {"id":"hd1","bdf":"0000:00:XX.0"}; a new
#     jailed cellvm-blockd runs; the guest's acpiphp finds vda and a pattern written with
#     O_DIRECT reads back.
#  2. bad input while it runs: removing an unknown id (404), adding hd1 again (refused), and a
#     second vm.remove-device while the first waits for the guest (refused).
#  3. vm.remove-device hd1: 204; the guest ejects the slot and vda disappears; cellvm-blockd exits,
#     no cellvm process holds the image any more, the event log says device-removed, vm.info no
#     longer lists hd1.
#  4. vm.add-disk hd1 again (same id, same image): works, the pattern is still there.
#  5. vm.add-net with a TAP the controller creates: a network interface appears in the guest.
#  6. vm.add-disk on PCI segment 1 (the VM has platform.num_pci_segments=2): the guest finds it
#     in PCI domain 0001.
#  7. vm.resize desired_vcpus 2 -> 3: a vCPU comes (ACPI CPU hotplug) and goes online; 3 -> 2:
#     the guest offlines and ejects it; vm.info's boot_vcpus follows.
#  8. vm.resize desired_ram 512 MiB -> 1 GiB (ACPI memory hotplug, hotplug_size 1 GiB): the
#     guest's MemTotal grows by 512 MiB and a fill of its free memory reads back; an O_DIRECT
#     write and read of vdb through a buffer above 4 GiB (in the new RAM) returns the data
#     (blockd has the new region); vm.info's memory size follows; shrinking is refused.
# Needs cellvm, cellvm-core, cellvm-api, cellvm-remote, cellvm-blockd, cellvm-netd and
# cellvm-dio-hot in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/hp
mkdir -p $d "$L2_LOGDIR"
rm -f $d/api.sock $d/ev.log $d/vmm.err
truncate -s 16M $d/hd1.img
raw=$d/serial.raw
log=$L2_LOGDIR/hotplug-serial.log
sock=$d/api.sock
tap=cvmhp0
checks=boot,hpdisk:vda:300,hpgone:vda:300,hpdisk:vda:300,hpnet:300,hpdisk:vdb:300
checks=$checks,hpcpu:2:300,hpcpugone:2:300,hpmem:512:300:vdb
truncate -s 16M $d/seg1.img
l2_initrd_with $d /opt/cellvm/bin/cellvm-dio-hot || exit 1

say() { echo "l2-hotplug: $*"; }
remote() { cellvm-remote --api-socket $sock "$@"; }
fails=0
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
api_cleanup() { ip link del $tap 2>/dev/null; }
# add_disk: vm.add-disk hd1; checks the body Cloud Hypervisor gives (id, then bdf, lowercase).
add_disk() {
	local out
	out=$(remote add-disk "path=$d/hd1.img,id=hd1,image_type=raw") || give_up "vm.add-disk hd1 failed: $out"
	say "vm.add-disk: $out"
	echo "$out" | tr -d ' \n' | grep -Eq '^\{"id":"hd1","bdf":"0000:00:[0-1][0-9a-f]\.0"\}$' ||
		bad "vm.add-disk body '$out' is not Cloud Hypervisor's PciDeviceInfo"
}

cat >$d/vm.json <<EOF
{
  "payload": {
    "kernel": "$L2_IMAGES/vmlinux",
    "initramfs": "$d/initrd",
    "cmdline": "$(l2_cmdline "$checks")"
  },
  "cpus": {"boot_vcpus": 2, "max_vcpus": 3},
  "memory": {"size": $((512 << 20)), "hotplug_size": $((1 << 30))},
  "platform": {"num_pci_segments": 2},
  "serial": {"mode": "Tty"},
  "console": {"mode": "Off"}
}
EOF

ip link del $tap 2>/dev/null
# The VMM's own messages go to a file of their own (finish prints it): in the serial log a core
# warning (the guest's second eject of an emptied slot) once landed inside the agent's
# "HP-DISK-WAIT vda" line, and the marker was never seen.
cellvm --api-socket path=$sock --event-monitor path=$d/ev.log </dev/null >$raw 2>$d/vmm.err &
vmm=$!
i=0
until remote ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || give_up "the API socket did not answer within 10 s"
	sleep 0.1
done
remote create $d/vm.json || give_up "vm.create failed"
remote boot || give_up "vm.boot failed"

# 1. hot-add a disk
wait_serial 'CELLVM-AGENT: HP-DISK-WAIT vda' 300 || give_up "the guest never asked for the disk"
add_disk
[ "$(pids cellvm-blockd | wc -l)" = 1 ] || bad "$(pids cellvm-blockd | wc -l) cellvm-blockd processes, want 1"
wait_serial 'CELLVM-AGENT: HP-DISK-OK vda' 300 || give_up "the guest did not get the hot-added disk"
grep -a 'HP-DISK-OK vda' $raw | head -n 1

# 2. bad input on a running VM
out=$(remote remove-device nosuch 2>&1) && bad "removing an unknown device succeeded: $out"
say "remove-device nosuch: $out"
out=$(remote add-disk "path=$d/hd1.img,id=hd1" 2>&1) && bad "adding hd1 twice succeeded: $out"
say "add-disk hd1 again: $out"

# 3. hot-remove it
wait_serial 'CELLVM-AGENT: HP-GONE-WAIT vda' 300 || give_up "the guest never got to the removal"
b=$(pids cellvm-blockd)
remote remove-device hd1 || give_up "vm.remove-device hd1 failed"
out=$(remote remove-device hd1 2>&1) && say "second vm.remove-device hd1 answered: $out (the eject was already done)"
wait_serial 'CELLVM-AGENT: HP-GONE vda' 300 || give_up "vda did not go away in the guest"
i=0
while [ -n "$b" ] && kill -0 "$b" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { bad "cellvm-blockd $b still runs 20 s after the eject"; break; }
	sleep 0.2
done
i=0
until grep -q '"device-removed"' $d/ev.log; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { bad "no device-removed event"; break; }
	sleep 0.2
done
h=$(holders $d/hd1.img)
[ -z "$h" ] || bad "processes $h still hold hd1.img after its removal"
remote info | grep -q '"hd1"' && bad "vm.info still lists hd1 after its removal"

# 4. the same id again
wait_count 'CELLVM-AGENT: HP-DISK-WAIT vda' 2 300 || give_up "the guest never asked for hd1 again"
add_disk
wait_count 'CELLVM-AGENT: HP-DISK-OK vda' 2 300 || give_up "the guest did not get hd1 back"

# 5. hot-add a NIC
wait_serial 'CELLVM-AGENT: HP-NET-WAIT' 300 || give_up "the guest never asked for the NIC"
out=$(remote add-net "tap=$tap,mac=52:54:00:0a:0b:0d,id=nic1") || give_up "vm.add-net failed: $out"
say "vm.add-net: $out"
wait_serial 'CELLVM-AGENT: HP-NET-OK' 300 || give_up "no interface appeared in the guest"
[ "$(pids cellvm-netd | wc -l)" = 1 ] || bad "no cellvm-netd for the hot-added NIC"

# 6. a disk on segment 1
wait_serial 'CELLVM-AGENT: HP-DISK-WAIT vdb' 300 || give_up "the guest never asked for vdb"
out=$(remote add-disk "path=$d/seg1.img,id=seg1,image_type=raw,pci_segment=1") ||
	give_up "vm.add-disk on segment 1 failed: $out"
say "vm.add-disk seg1: $out"
case "$(echo "$out" | tr -d ' ')" in *'"bdf":"0001:00:'*) ;; *) bad "segment 1 disk's bdf: $out" ;; esac
wait_serial 'CELLVM-AGENT: HP-DISK-OK vdb' 300 || give_up "the guest did not get the segment 1 disk"
grep -a 'HP-DISK-OK vdb' $raw | grep -q 'pci0001:00' || bad "vdb is not in PCI domain 0001"

# 7. a vCPU added and removed
wait_serial 'CELLVM-AGENT: HP-CPU-WAIT 2' 300 || give_up "the guest never asked for vCPU 2"
remote resize --cpus 3 || give_up "vm.resize --cpus 3 failed"
remote info | tr -d ' \n' | grep -q '"boot_vcpus":3' || bad "vm.info does not say boot_vcpus 3"
wait_serial 'CELLVM-AGENT: HP-CPU-OK 2' 300 || give_up "vCPU 2 did not come online"
grep -a 'HP-CPU-OK 2' $raw | head -n 1
wait_serial 'CELLVM-AGENT: HP-CPU-GONE-WAIT 2' 300 || give_up "the guest never got to the vCPU removal"
remote resize --cpus 2 || give_up "vm.resize --cpus 2 failed"
wait_serial 'CELLVM-AGENT: HP-CPU-GONE 2' 300 || give_up "vCPU 2 did not go away"
remote info | tr -d ' \n' | grep -q '"boot_vcpus":2' || bad "vm.info does not say boot_vcpus 2"

# 8. RAM added
wait_serial 'CELLVM-AGENT: HP-MEM-WAIT 512' 300 || give_up "the guest never asked for memory"
out=$(remote resize --memory 1000M 2>&1) && bad "a resize by less than 128 MiB steps succeeded: $out"
say "resize --memory 1000M: $out"
remote resize --memory 1G || give_up "vm.resize --memory 1G failed"
remote info | tr -d ' \n' | grep -q "\"size\":$((1 << 30))," || bad "vm.info does not say memory size 1 GiB"
out=$(remote resize --memory 512M 2>&1) && bad "shrinking ACPI memory succeeded: $out"
say "resize --memory 512M: $out"
wait_serial 'CELLVM-AGENT: HP-MEM-OK 512' 300 || give_up "the hot-added memory did not reach the guest"
grep -a 'HP-MEM-OK 512' $raw | head -n 1

wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "the guest did not finish"
wait_exit
