#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): L2 Linux under cellvm with virtio-blk disks served
# by cellvm-blockd processes (one per --disk), then by qemu-storage-daemon's vhost-user-blk
# export (--disk vhost_user=on,socket=). Each run writes a pattern, reboots and reads it back,
# discards a range and reads zeroes, and checks capacities, serial numbers, the queue count of
# the two-queue disk and that the read-only disk is read-only. Needs cellvm, cellvm-core and
# cellvm-blockd in /opt/cellvm/bin (run-nested.sh --add); qemu-storage-daemon is optional there.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
d=/tmp/disks
mkdir -p $d
truncate -s 64M $d/a.img $d/b.img $d/q.img
truncate -s 16M $d/ro.img

# 64 MiB = 131072 sectors, 16 MiB = 32768.
checks=boot,blkinfo:/dev/vda:131072:CELLVM-A,blkinfo:/dev/vdb:131072:CELLVM-B
checks=$checks,blkinfo:/dev/vdc:32768,blkmq:/dev/vdb:2,blkdiscard:/dev/vdb:4:4,blkro:/dev/vdc
checks=$checks,blkpersist:/dev/vda,rebootonce
L2_CPUS=2 run_l2_cellvm 300 "$checks" \
	--disk path=$d/a.img,image_type=raw,serial=CELLVM-A \
	path=$d/b.img,image_type=raw,serial=CELLVM-B,num_queues=2 \
	path=$d/ro.img,image_type=raw,readonly=on || rc=1
l2_quit_if_tripled

if command -v qemu-storage-daemon >/dev/null 2>&1; then
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f0,filename=$d/q.img,discard=unmap \
		--export type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$d/q.sock,writable=on,num-queues=2 \
		--blockdev driver=file,node-name=f1,filename=$d/ro.img,read-only=on \
		--export type=vhost-user-blk,id=e1,node-name=f1,addr.type=unix,addr.path=$d/r.sock,writable=off \
		&
	qsd=$!
	for _ in $(seq 50); do
		[ -S $d/q.sock ] && [ -S $d/r.sock ] && break
		sleep 0.1
	done
	checks=boot,blkinfo:/dev/vda:131072,blkmq:/dev/vda:2,blkdiscard:/dev/vda:4:4
	checks=$checks,blkro:/dev/vdb,blkpersist:/dev/vda,rebootonce
	L2_CPUS=2 run_l2_cellvm 300 "$checks" \
		--disk vhost_user=on,socket=$d/q.sock,num_queues=2 vhost_user=on,socket=$d/r.sock ||
		rc=1
	kill $qsd 2>/dev/null
	wait $qsd 2>/dev/null
else
	l2_say "qemu-storage-daemon is not in L1 (run-nested.sh --add it): vhost_user=on not tested"
	rc=1
fi
exit $rc
