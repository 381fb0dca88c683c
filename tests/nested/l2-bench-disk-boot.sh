#!/bin/sh
# Benchmark (runs in L1 as /test/run.sh): boot the L2 kernel to the test agent with one
# virtio-blk disk and power off, under QEMU (q35, virtio-blk-pci) and under cellvm (cellvm-blockd
# behind virtio-pci), same kernel and initramfs, same L1 run; prints both times and the ratio
# (goal: cellvm <= 0.8x QEMU). Each VMM runs RUNS times, the two taking turns so that both see
# the same background load of the shared host (the spread between runs is seconds); the best run
# counts.  Each run is split, from L1's kvm_entry tracepoint, into VMM start-up (exec to the first
# guest entry), guest (first to last guest entry) and teardown (last guest entry to the VMM's
# exit), so a change in the ratio says on which side it happened.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
RUNS=${BENCH_RUNS:-3}
d=/tmp/bench
mkdir -p $d
truncate -s 64M $d/q.img $d/c.img

# now: seconds since boot with centiseconds, as an integer count of centiseconds.
now() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }

# Phases need tracefs with the kvm events; without them only totals are printed.
phases=0
tr=$(l2_tracefs)
if [ -w "$tr/events/kvm/kvm_entry/enable" ]; then
	# ~26k guest entries per boot must all fit; global clock: entries come from both CPUs.
	echo global >"$tr/trace_clock" && echo 16384 >"$tr/buffer_size_kb" && phases=1
fi

# phase_split NAME: "start-up guest teardown" in centiseconds from the trace of the last run.
phase_split() {
	grep -v '^#' "$tr/trace" | awk '
		function ts(i) { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) return $i + 0 }
		/BENCH_START/ { s = ts() }
		/BENCH_END/ { e = ts() }
		/kvm_entry/ { t = ts(); if (!f) f = t; l = t }
		END { if (s && e && f) printf "%d %d %d\n", (f - s) * 100, (l - f) * 100, (e - l) * 100 }'
}

# timed NAME CMD...: runs CMD, prints "TOTAL [STARTUP GUEST TEARDOWN]" in centiseconds, or 0
# when CMD failed.
timed() {
	local name=$1 t0 t1
	shift
	if [ "$phases" = 1 ]; then
		echo >"$tr/trace"
		echo 1 >"$tr/events/kvm/kvm_entry/enable"
		echo BENCH_START >"$tr/trace_marker"
	fi
	t0=$(now)
	"$@" >/dev/null 2>&1 || {
		[ "$phases" = 0 ] || echo 0 >"$tr/events/kvm/kvm_entry/enable"
		l2_say "$name run failed" >&2
		echo 0
		return
	}
	t1=$(now)
	if [ "$phases" = 1 ]; then
		echo BENCH_END >"$tr/trace_marker"
		echo 0 >"$tr/events/kvm/kvm_entry/enable"
		echo "$((t1 - t0)) $(phase_split)"
	else
		echo "$((t1 - t0))"
	fi
}

cs() { echo "$(($1 / 100)).$(printf %02d $(($1 % 100)))"; }

# show NAME I TOTAL [STARTUP GUEST TEARDOWN]
show() {
	local line
	line="bench: run $2 $1 $(cs "$3") s"
	[ $# -lt 6 ] || line="$line (start-up $(cs "$4") s, guest $(cs "$5") s, teardown $(cs "$6") s)"
	echo "$line"
}

q=0
c=0
for i in $(seq "$RUNS"); do
	r=$(timed qemu run_l2_qemu 200 boot -drive file=$d/q.img,format=raw,if=none,id=d0 \
		-device virtio-blk-pci,drive=d0)
	# shellcheck disable=SC2086 # word splitting into the fields on purpose
	show qemu "$i" $r
	r=${r%% *}
	[ "$r" -eq 0 ] && q=-1
	[ "$q" -lt 0 ] || { [ "$q" -ne 0 ] && [ "$r" -ge "$q" ]; } || q=$r
	# shellcheck disable=SC2086 # BENCH_CELLVM_ARGS: extra cellvm options, split on purpose
	r=$(timed cellvm run_l2_cellvm 200 boot --disk path=$d/c.img,image_type=raw \
		${BENCH_CELLVM_ARGS:-})
	# shellcheck disable=SC2086 # word splitting into the fields on purpose
	show cellvm "$i" $r
	r=${r%% *}
	[ "$r" -eq 0 ] && c=-1
	[ "$c" -lt 0 ] || { [ "$c" -ne 0 ] && [ "$r" -ge "$c" ]; } || c=$r
done
echo "bench: boot-to-agent-and-poweroff with a virtio-blk disk, best of $RUNS (runs alternate)"
if [ "$q" -le 0 ] || [ "$c" -le 0 ]; then
	echo "bench: a run failed"
	exit 1
fi
echo "bench: qemu   $(cs "$q") s"
echo "bench: cellvm $(cs "$c") s"
echo "bench: ratio cellvm/qemu $(awk -v c="$c" -v q="$q" 'BEGIN { printf "%.2f", c / q }') (goal <= 0.80)"
exit 0
