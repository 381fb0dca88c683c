#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): rate limiters (issue 20). L2 Linux reads with
# O_DIRECT from four cellvm-blockd disks: one unlimited (the control: the machine reads faster
# than the limit), one with its own 2 MiB/s bandwidth bucket (bw_size=2097152,
# bw_refill_time=1000), and two in one --rate-limit-group of 2 MiB/s whose bucket lives in memory
# both blockd processes map: draining the group through the first disk must slow the second.
# Each limited read of 8 MiB must run at 2048 KiB/s +-10% once the initially full bucket is
# drained. Needs cellvm, cellvm-core and cellvm-blockd in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/disks
mkdir -p $d
truncate -s 64M $d/free.img $d/own.img $d/g1.img $d/g2.img

checks=boot,blkrate:/dev/vda:/dev/vda:0:8:0:2300
checks=$checks,blkrate:/dev/vdb:/dev/vdb:2:8:2048
checks=$checks,blkrate:/dev/vdc:/dev/vdd:2:8:2048
L2_CPUS=1 run_l2_cellvm 300 "$checks" \
	--rate-limit-group bw_size=2097152,bw_refill_time=1000,id=g0 \
	--disk path=$d/free.img,image_type=raw \
	path=$d/own.img,image_type=raw,bw_size=2097152,bw_refill_time=1000 \
	path=$d/g1.img,image_type=raw,rate_limit_group=g0 \
	path=$d/g2.img,image_type=raw,rate_limit_group=g0
