#!/bin/bash
# blk-vs-qsd.sh BLOCKD BLK_BENCH [SECONDS]
#
# cellvm-blockd against qemu-storage-daemon (vhost-user-blk export, aio=io_uring) on the same
# file, same frontend (blk-bench, on the ipc/ library), same queue depth, same run: 4k random
# read QD32, 128k sequential read QD16, 4k random write QD32; once on a /dev/shm file (buffered),
# once on a disk file with O_DIRECT and, as root, once on a loop block device over a /dev/shm file
# with O_DIRECT; on the last two fio (io_uring, direct) on the same file gives the device's own
# limit. The disk row depends on the host's disk, which can move 2x between neighbouring runs;
# the loop device is the steady one: the same block layer and O_DIRECT path, its limit set by
# the CPU. Prints IOPS and the backend's CPU time per request for both, and ratios.
# The backends run one after the other (each locks the image), alternating, ROUNDS times per
# workload (BLK_BENCH_ROUNDS, default 5); every figure is the median of its rounds, so a
# neighbour's load spike shifts one round, not the result. CPU per request is utime + stime of
# the backend's whole thread group (io_uring workers included) over the measured seconds, as
# /proc/PID/stat counts it; blk-bench's own CPU is not in it.
set -uo pipefail

blockd=${1:?usage: blk-vs-qsd.sh BLOCKD BLK_BENCH [SECONDS]}
bench=${2:?usage: blk-vs-qsd.sh BLOCKD BLK_BENCH [SECONDS]}
secs=${3:-${BLK_BENCH_SECONDS:-2}}
rounds=${BLK_BENCH_ROUNDS:-5}
qsd=$(command -v qemu-storage-daemon) || { echo "SKIP: qemu-storage-daemon not installed (qemu-utils)"; exit 77; }
fio=$(command -v fio || true)
size_mb=${BLK_BENCH_SIZE_MB:-256}

tmp=$(mktemp -d /var/tmp/cellvm-blkbench.XXXXXX)
shm=/dev/shm/cellvm-blkbench.$$.img
pid=
loopdev=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$loopdev" ] && losetup -d "$loopdev"
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

wait_sock() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# backend NAME FILE DIRECT: starts one backend on $tmp/vu.sock, sets $pid.
backend() {
	local direct=$3
	rm -f "$tmp/vu.sock"
	case "$1" in
	cellvm)
		"$blockd" --socket-path "$tmp/vu.sock" \
			--disk "path=$2,image_type=raw,direct=$([ "$direct" = 1 ] && echo on || echo off)" \
			2>>"$tmp/backend.log" &
		;;
	qsd)
		"$qsd" --blockdev "driver=$([ -b "$2" ] && echo host_device || echo file),node-name=disk,filename=$2,aio=io_uring,cache.direct=$([ "$direct" = 1 ] && echo on || echo off)" \
			--export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$tmp/vu.sock,writable=on,num-queues=1" \
			2>>"$tmp/backend.log" &
		;;
	esac
	pid=$!
	wait_sock "$tmp/vu.sock" || { echo "bench: $1 did not start: $(tail -n 3 "$tmp/backend.log")"; return 1; }
}

stop_backend() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# measure NAME FILE DIRECT RW BS QD: prints "IOPS CPU_US_PER_REQ".
measure() {
	local out
	backend "$1" "$2" "$3" || return 1
	out=$("$bench" "$tmp/vu.sock" "$pid" "$4" "$5" "$6" "$secs") || { echo "bench: blk-bench failed on $1" >&2; stop_backend; return 1; }
	stop_backend
	echo "$out" | sed -n 's/.*iops=\([0-9]*\).*cpu_us_per_req=\([0-9.]*\).*/\1 \2/p'
}

# fio_run FILE RW BS QD: prints fio's IOPS and its own process's CPU per request (user and
# system time as fio reports them, in µs), the peer of blockd's figure.
fio_run() {
	local rw=$2
	[ "$rw" = seqread ] && rw="read"
	"$fio" --name=dev --filename="$1" --ioengine=io_uring --direct=1 --rw="$rw" --bs="$3" \
		--iodepth="$4" --runtime="$secs" --time_based --ramp_time=0.5 --randrepeat=0 \
		--output-format=json 2>/dev/null |
		python3 -c 'import json,sys
j = json.load(sys.stdin)["jobs"][0]
iops = j["read"]["iops"] + j["write"]["iops"]
cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * 1e6 / iops if iops else 0
print(int(iops), "%.2f" % cpu)'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# median of the numbers given as arguments ("-" if none)
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
	awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "host: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg); kernel $(uname -r); $("$qsd" --version | head -n 1)"
echo "median of $rounds alternating rounds of ${secs} s each (a shared host: only the ratios of one run mean much)"

workloads="randread:4096:32 seqread:131072:16 randwrite:4096:32"
printf '%-5s %-10s %5s %3s | %10s %10s %6s | %8s %8s %6s | %10s %8s %8s\n' medium workload bs qd \
	cellvm-iops qsd-iops ratio cv-us/req qsd-us/rq ratio fio-iops cv/fio fio-us/rq
fail=0
media="shm disk"
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
	media+=" loop"
else
	echo "bench: the loop row needs root and losetup: left out"
fi
for medium in $media; do
	case $medium in
	shm) f=$shm direct=0 ;;
	disk) f=$tmp/disk.img direct=1 ;;
	loop) f=$shm direct=1 ;;
	esac
	dd if=/dev/urandom of="$f" bs=1M count="$size_mb" status=none conv=fsync || exit 1
	if [ "$medium" = loop ]; then
		loopdev=$(losetup --find --show --direct-io=on "$f") || { echo "bench: losetup failed: loop row left out"; rm -f "$f"; break; }
		f=$loopdev
	fi
	for w in $workloads; do
		IFS=: read -r rw bs qd <<<"$w"
		ci=() cc=() qi=() qc=() fi_=() fc=()
		for round in $(seq "$rounds"); do
			# Alternate who goes first: a load change mid-round hits both sides alike.
			for who in $([ $((round % 2)) = 1 ] && echo "cellvm qsd" || echo "qsd cellvm"); do
				read -r i c < <(measure "$who" "$f" "$direct" "$rw" "$bs" "$qd") || { fail=1; continue; }
				if [ "$who" = cellvm ]; then ci+=("$i") cc+=("$c"); else qi+=("$i") qc+=("$c"); fi
			done
			if [ "$medium" != shm ] && [ -n "$fio" ]; then
				read -r i c < <(fio_run "$f" "$rw" "$bs" "$qd") && fi_+=("$i") fc+=("$c")
			fi
		done
		c_iops=$(median "${ci[@]}") c_cpu=$(median "${cc[@]}")
		q_iops=$(median "${qi[@]}") q_cpu=$(median "${qc[@]}")
		f_iops=- cf=- f_cpu=-
		if [ "${#fi_[@]}" -gt 0 ]; then
			f_iops=$(median "${fi_[@]}")
			f_cpu=$(median "${fc[@]}")
			cf=$(ratio "$c_iops" "$f_iops")
		fi
		printf '%-5s %-10s %5s %3s | %10s %10s %6s | %8s %8s %6s | %10s %8s %8s\n' "$medium" "$rw" \
			"$bs" "$qd" "$c_iops" "$q_iops" "$(ratio "$c_iops" "$q_iops")" "$c_cpu" "$q_cpu" \
			"$(ratio "$c_cpu" "$q_cpu")" "$f_iops" "$cf" "$f_cpu"
	done
	if [ "$medium" = loop ]; then
		losetup -d "$loopdev"
		loopdev=
		f=$shm
	fi
	rm -f "$f"
done
echo "cellvm-iops/qsd-iops: higher is better; cv-us/req/qsd-us/req: backend CPU per request, lower is better (goal <= 0.30 on shm randread 4k); cv/fio: goal >= 0.95 on disk and loop; fio-us/rq: fio's own CPU per request (its process alone, where blockd's figure leaves the frontend out)"
exit "$fail"
