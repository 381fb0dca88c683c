#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): an L2 Linux under cellvm with 2 vCPUs reports 2
# processors; with two memory zones on two NUMA nodes it reports 2 nodes in
# /sys/devices/system/node with the zones' sizes and the given distances; its dmesg has no ACPI
# errors (the agent's boot check). The same boot has a third node, memory-less and CPU-less,
# whose Generic Initiator is a virtio-blk disk (--numa device_id=): the guest lists node 2 in
# has_generic_initiator. Needs cellvm, cellvm-core and cellvm-blockd in /opt/cellvm/bin
# (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0

L2_CPUS=2 run_l2_cellvm 150 boot,smp:2 || rc=1
l2_quit_if_tripled

# run_l2_cellvm always passes --cpus and --memory, which NUMA needs in another form.
mkdir -p /tmp/disks
truncate -s 16M /tmp/disks/gi.img
checks=boot,smp:2,numa:3:256:256:0:10.20.20:20.10.20:20.20.10,ginode:2
l2_run 150 "$checks" cellvm-numa \
	cellvm --kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" \
	--initramfs "${L2_INITRD:-$L2_IMAGES/l2-initramfs.cpio.gz}" \
	--cmdline "$(l2_cmdline "$checks")" \
	--cpus boot=2 --memory size=0 \
	--memory-zone id=m0,size=256M id=m1,size=256M \
	--numa guest_numa_id=0,cpus=[0],memory_zones=[m0],distances=[1@20] \
	guest_numa_id=1,cpus=[1],memory_zones=[m1],distances=[0@20] \
	guest_numa_id=2,device_id=gidisk \
	--disk path=/tmp/disks/gi.img,image_type=raw,id=gidisk \
	--serial tty --console off || rc=1
exit $rc
