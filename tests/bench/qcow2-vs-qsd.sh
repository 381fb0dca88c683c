#!/bin/bash
# qcow2-vs-qsd.sh BLOCKD BLK_BENCH [SECONDS]
#
# cellvm-blockd against qemu-storage-daemon with its qcow2 driver (file protocol, aio=io_uring,
# page cache) on the same fully allocated QCOW2 image (converted from random data, 64 KiB
# clusters), same frontend (blk-bench on the ipc/ library), same run, backends one after the
# other (each locks the image): 4k random read QD32 (the issue's figure: goal >= 1.2x qsd's IOPS
# at <= its CPU per request), 4k random write QD32 and 128k sequential read QD16. cellvm-blockd
# on the raw file the image was converted from (the same data) gives the qcow2/raw ratio (goal
# >= 0.9 on randread). Each figure is the median of ROUNDS (BLK_BENCH_ROUNDS, default 5) rounds,
# the three backends alternating inside a round, so a neighbour's load spike moves one round,
# not the result.
set -uo pipefail

blockd=${1:?usage: qcow2-vs-qsd.sh BLOCKD BLK_BENCH [SECONDS]}
bench=${2:?usage: qcow2-vs-qsd.sh BLOCKD BLK_BENCH [SECONDS]}
secs=${3:-${BLK_BENCH_SECONDS:-2}}
rounds=${BLK_BENCH_ROUNDS:-5}
qsd=$(command -v qemu-storage-daemon) || { echo "SKIP: qemu-storage-daemon not installed (qemu-utils)"; exit 77; }
qimg=$(command -v qemu-img) || { echo "SKIP: qemu-img not installed (qemu-utils)"; exit 77; }
size_mb=${BLK_BENCH_SIZE_MB:-256}

# BLK_BENCH_DIR: where the images go (default /dev/shm; a disk file system puts raw and QCOW2
# through the same io_uring path, where on tmpfs raw is read through blockd's mapping).
tmp=$(mktemp -d "${BLK_BENCH_DIR:-/dev/shm}/cellvm-q2bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
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

backend() {
	rm -f "$tmp/vu.sock"
	case "$1" in
	cellvm)
		"$blockd" --socket-path "$tmp/vu.sock" --disk "path=$2,image_type=qcow2" \
			2>>"$tmp/backend.log" &
		;;
	raw)
		"$blockd" --socket-path "$tmp/vu.sock" --disk "path=$2,image_type=raw" \
			2>>"$tmp/backend.log" &
		;;
	qsd)
		"$qsd" --blockdev "driver=qcow2,node-name=disk,file.driver=file,file.filename=$2,file.aio=io_uring,cache.direct=off" \
			--export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$tmp/vu.sock,writable=on,num-queues=1" \
			2>>"$tmp/backend.log" &
		;;
	esac
	pid=$!
	wait_sock "$tmp/vu.sock" || { echo "bench: $1 did not start: $(tail -n 3 "$tmp/backend.log")" >&2; return 1; }
}

stop_backend() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# measure NAME RW BS QD [IMAGE [SECONDS]]: prints "IOPS CPU_US_PER_REQ".
measure() {
	local out img=${5:-} s=${6:-$secs}
	[ -n "$img" ] || img=$([ "$1" = raw ] && echo "$tmp/src.raw" || echo "$tmp/disk.qcow2")
	backend "$1" "$img" || return 1
	out=$("$bench" "$tmp/vu.sock" "$pid" "$2" "$3" "$4" "$s") || { echo "bench: blk-bench failed on $1" >&2; stop_backend; return 1; }
	stop_backend
	echo "$out" | sed -n 's/.*iops=\([0-9]*\).*cpu_us_per_req=\([0-9.]*\).*/\1 \2/p'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# median of the numbers given as arguments ("-" if none)
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
	awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

head -c $((size_mb << 20)) /dev/urandom >"$tmp/src.raw" || exit 1
"$qimg" convert -q -f raw -O qcow2 -o cluster_size=65536 "$tmp/src.raw" "$tmp/disk.qcow2" || exit 1
"$qimg" check -q "$tmp/disk.qcow2" || { echo "bench: the source image is not clean"; exit 1; }

echo "host: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg); kernel $(uname -r); $("$qsd" --version | head -n 1)"
echo "images on $(df --output=fstype "$tmp" | tail -n 1); median of $rounds rounds of ${secs} s each (a shared host: only the ratios of one run mean much)"
printf '%-10s %6s %3s | %11s %10s %6s | %9s %9s %6s | %10s %6s %9s\n' workload bs qd cellvm-iops \
	qsd-iops ratio cv-us/req qsd-us/rq ratio raw-iops q2/raw raw-us/rq
fail=0
for w in randread:4096:32 randwrite:4096:32 seqread:131072:16; do
	IFS=: read -r rw bs qd <<<"$w"
	ci=() cc=() qi=() qc=() ri=() rc=()
	for round in $(seq "$rounds"); do
		# Rotate who goes first: a load change mid-round hits every side alike.
		case $((round % 3)) in
		1) order="cellvm qsd raw" ;;
		2) order="qsd raw cellvm" ;;
		*) order="raw cellvm qsd" ;;
		esac
		for who in $order; do
			# The raw file's writes would change the data the qcow2 image was made from.
			[ "$who" = raw ] && [ "$rw" = randwrite ] && continue
			read -r i c < <(measure "$who" "$rw" "$bs" "$qd") || { fail=1; continue; }
			case $who in
			cellvm) ci+=("$i") cc+=("$c") ;;
			qsd) qi+=("$i") qc+=("$c") ;;
			raw) ri+=("$i") rc+=("$c") ;;
			esac
		done
	done
	c_iops=$(median "${ci[@]}") q_iops=$(median "${qi[@]}") r_iops=$(median "${ri[@]}")
	c_cpu=$(median "${cc[@]}") q_cpu=$(median "${qc[@]}") r_cpu=$(median "${rc[@]}")
	printf '%-10s %6s %3s | %11s %10s %6s | %9s %9s %6s | %10s %6s %9s\n' "$rw" "$bs" "$qd" \
		"$c_iops" "$q_iops" "$(ratio "$c_iops" "$q_iops")" "$c_cpu" "$q_cpu" \
		"$(ratio "$c_cpu" "$q_cpu")" "$r_iops" "$(ratio "$c_iops" "$r_iops")" "$r_cpu"
done
# Writes that allocate: a fresh empty image per backend and round (BLK_BENCH_FILL_MB, default
# 1024), written once front to back in 64 KiB requests, one cluster each, QD16; the same image
# must then pass qemu-img check.
#
# Each fill writes about 1 GiB of pages tmpfs has to allocate. This host hands free memory back
# to the hypervisor below it (virtio-balloon's free page reporting: pages left free for about
# 2 s). The first write to such a page then costs a fault down there, charged to whoever
# touches it: in perf, the fill's own copy into the page cache ran 6x slower in the slow
# rounds. So a fill's speed depended on how long memory had sat free before it, and the row
# swung by 2.5x from round to round. Each backend now fills in both states: warm (a file a
# little larger than the fill written and removed just before, so the fill draws pages freed
# a moment ago) and cold (BLK_BENCH_COLD_S, default 5, seconds of rest first).
fill_mb=${BLK_BENCH_FILL_MB:-1024}
prepare_fill() {
	"$qimg" create -q -f qcow2 -o cluster_size=65536 "$tmp/fill.qcow2" "${fill_mb}M" || return 1
	if [ "$1" = warm ]; then
		head -c $(((fill_mb + 128) << 20)) /dev/zero >"$tmp/warm" || return 1
		rm -f "$tmp/warm"
	else
		sleep "${BLK_BENCH_COLD_S:-5}"
	fi
}
for state in warm cold; do
	ci=() cc=() qi=() qc=()
	for round in $(seq "$rounds"); do
		order="cellvm qsd"
		[ $((round % 2)) = 0 ] && order="qsd cellvm"
		for who in $order; do
			prepare_fill "$state" || { fail=1; continue; }
			read -r i c < <(measure "$who" fillwrite 65536 16 "$tmp/fill.qcow2" 60) || { fail=1; continue; }
			"$qimg" check -q "$tmp/fill.qcow2" || { echo "bench: qemu-img check failed after $who's allocating writes"; fail=1; }
			rm -f "$tmp/fill.qcow2"
			case $who in
			cellvm) ci+=("$i") cc+=("$c") ;;
			qsd) qi+=("$i") qc+=("$c") ;;
			esac
		done
	done
	c_iops=$(median "${ci[@]}") q_iops=$(median "${qi[@]}") c_cpu=$(median "${cc[@]}") q_cpu=$(median "${qc[@]}")
	printf '%-10s %6s %3s | %11s %10s %6s | %9s %9s %6s | %10s %6s %9s\n' "alloc-$state" 65536 16 \
		"$c_iops" "$q_iops" "$(ratio "$c_iops" "$q_iops")" "$c_cpu" "$q_cpu" "$(ratio "$c_cpu" "$q_cpu")" - - -
done
"$qimg" check -q "$tmp/disk.qcow2" || { echo "bench: qemu-img check failed after the runs"; fail=1; }
echo "alloc-warm, alloc-cold: a fresh ${fill_mb} MiB image written once, each 64 KiB request allocating a cluster, into recently freed pages (warm) or pages the host took back (cold) (goal: cellvm/qsd >= 1.00)"
echo "iops ratio: cellvm/qsd, higher is better (goal >= 1.20 on randread 4k); us/req ratio: lower is better (goal <= 1.00); q2/raw: cellvm-blockd on the QCOW2 image over cellvm-blockd on the raw file it was converted from (goal >= 0.90 on randread 4k)"
exit "$fail"
