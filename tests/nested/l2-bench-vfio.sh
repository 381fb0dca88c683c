#!/bin/sh
# Benchmark (runs in L1 as /test/run.sh; suite bench): MMIO and config-space read latency on a
# passed-through device. QEMU's edu (bound to vfio-pci in L1, run-vfio.sh) goes to the same L2
# guest under QEMU's vfio-pci and under cellvm (cellvm-vfiod), taking turns RUNS times; in each,
# cellvm-edu-check --bench times N reads of a BAR0 register (mapped into the guest: no exit in
# either VMM) and N config-space reads through sysfs (trapped: QEMU preads the VFIO device fd,
# cellvm answers from the core). The best run of each counts; prints both and the ratios
# (goal: the MMIO read within 1.5x of QEMU's).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
RUNS=${BENCH_RUNS:-2}
N=${BENCH_READS:-2000}
d=/tmp/vbench
mkdir -p $d
l2_initrd_with $d /opt/cellvm/bin/cellvm-edu-check || exit 1
edu=$(vfio_bind 0x1234:0x11e8) || {
	l2_say "no edu device bound to vfio-pci"
	exit 1
}

# figures LOG: "MMIO_NS CONFIG_NS" from a run's log, nothing when it did not report.
figures() {
	sed -n 's/^edu-bench: mmio_read_ns \([0-9]*\) config_read_ns \([0-9]*\).*/\1 \2/p' "$1" | head -n 1
}

# best OLD NEW: the smaller figure pair by MMIO time (empty OLD: NEW).
best() {
	if [ -z "$1" ] || [ "${2%% *}" -lt "${1%% *}" ]; then echo "$2"; else echo "$1"; fi
}

q= c= i=0 rc=0
checks=edubench:$N
while [ $i -lt "$RUNS" ]; do
	i=$((i + 1))
	L2_INITRD=$d/initrd L2_LOGDIR=$d/q$i run_l2_qemu 200 "$checks" -device "vfio-pci,host=$edu" || rc=1
	f=$(figures "$L2_LOG")
	[ -z "$f" ] || q=$(best "$q" "$f")
	L2_INITRD=$d/initrd L2_LOGDIR=$d/c$i run_l2_cellvm 200 "$checks" \
		--device "path=/sys/bus/pci/devices/$edu" || rc=1
	f=$(figures "$L2_LOG")
	[ -z "$f" ] || c=$(best "$c" "$f")
done
if [ -z "$q" ] || [ -z "$c" ]; then
	l2_say "bench: no figures (qemu '$q', cellvm '$c')"
	exit 1
fi
set -- $q $c
echo "BENCH vfio mmio_read_ns qemu $1 cellvm $3 ratio $(awk -v a="$3" -v b="$1" 'BEGIN { printf "%.2f", a / b }') (goal <= 1.5)"
echo "BENCH vfio config_read_ns qemu $2 cellvm $4 ratio $(awk -v a="$4" -v b="$2" 'BEGIN { printf "%.2f", a / b }')"
exit $rc
