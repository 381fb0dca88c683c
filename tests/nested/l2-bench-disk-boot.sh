#!/bin/sh
# Benchmark (runs in L1 as /test/run.sh): boot the L2 kernel to the test agent with one
# virtio-blk disk and power off, under QEMU (q35, virtio-blk-pci) and under cellvm (cellvm-blockd
# behind virtio-pci), same kernel and initramfs, same L1 run; prints both times and the ratio
# (goal: cellvm <= 0.8x QEMU). Each VMM runs RUNS times; the best run counts.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
RUNS=${BENCH_RUNS:-2}
d=/tmp/bench
mkdir -p $d
truncate -s 64M $d/q.img $d/c.img

# now: seconds since boot with centiseconds, as an integer count of centiseconds.
now() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }

best() {
	local name=$1 t0 t1 b=0 i
	shift
	for i in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null 2>&1 || { l2_say "$name run $i failed"; echo 0; return; }
		t1=$(now)
		[ "$b" -ne 0 ] && [ $((t1 - t0)) -ge "$b" ] || b=$((t1 - t0))
	done
	echo "$b"
}

q=$(best qemu run_l2_qemu 200 boot -drive file=$d/q.img,format=raw,if=none,id=d0 \
	-device virtio-blk-pci,drive=d0)
# shellcheck disable=SC2086 # BENCH_CELLVM_ARGS: extra cellvm options, split on purpose
c=$(best cellvm run_l2_cellvm 200 boot --disk path=$d/c.img,image_type=raw ${BENCH_CELLVM_ARGS:-})
echo "bench: boot-to-agent-and-poweroff with a virtio-blk disk, best of $RUNS"
echo "bench: qemu   $((q / 100)).$(printf %02d $((q % 100))) s"
echo "bench: cellvm $((c / 100)).$(printf %02d $((c % 100))) s"
[ "$q" -gt 0 ] && [ "$c" -gt 0 ] || exit 1
echo "bench: ratio cellvm/qemu $(awk -v c="$c" -v q="$q" 'BEGIN { printf "%.2f", c / q }') (goal <= 0.80)"
exit 0
