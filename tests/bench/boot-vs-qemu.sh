#!/bin/bash
# Benchmark (suite `bench`): cellvm against QEMU's microvm on the same /dev/kvm, same run, same
# PVH payload file.
#  1. exec to payload exit: wall time from starting the VMM to its exit after the payload powers
#     off, median of N runs, the two VMMs interleaved so machine noise hits both alike;
#  2. memory: proportional set size summed over every process of the VMM while an idle payload
#     runs in a 512 MiB guest.
# Usage: boot-vs-qemu.sh CELLVM HELLO_PAYLOAD IDLE_PAYLOAD
set -euo pipefail
cellvm=$1 hello=$2 idle=$3
runs=${CELLVM_BENCH_RUNS:-21}

if [ ! -w /dev/kvm ]; then echo "SKIP: /dev/kvm is not usable"; exit 77; fi
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 missing"; exit 77; }
qemu_args=(-M microvm -cpu qemu64 -accel kvm -m 512M -nodefaults -no-user-config -display none
           -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4)

now_ns() { date +%s%N; }

run_cellvm() { "$cellvm" --kernel "$1" --memory size=512M --serial tty --console off; }
# isa-debug-exit turns the payload's "pass" (0) into exit status 1.
run_qemu() { "$qemu" "${qemu_args[@]}" -kernel "$1" 2>/dev/null; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

time_one() {
    local t0 t1 out rc
    t0=$(now_ns)
    out=$("$@" </dev/null 2>/dev/null) && rc=0 || rc=$?
    t1=$(now_ns)
    case "$out" in *"CELLVM-PAYLOAD: PASS"*) ;; *) echo "payload did not pass under: $* (rc=$rc)" >&2; return 1;; esac
    echo $(( (t1 - t0) / 1000 ))
}

tc=() tq=()
for ((i = 0; i < runs; i++)); do
    tc+=("$(time_one run_cellvm "$hello")")
    tq+=("$(time_one run_qemu "$hello")")
done
mc=$(printf '%s\n' "${tc[@]}" | median)
mq=$(printf '%s\n' "${tq[@]}" | median)

# PSS of a process tree: the VMM and every descendant.
tree_pss_kb() {
    local pid=$1 total=0 p kids
    for p in $pid $(pgrep -P "$pid" || true); do
        [ "$p" = "$pid" ] || { total=$((total + $(tree_pss_kb "$p"))); continue; }
        total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

idle_pss() {
    local log pid kb
    log=$(mktemp)
    "$@" >"$log" 2>/dev/null </dev/null &
    pid=$!
    for _ in $(seq 100); do grep -q "ready idle" "$log" && break; sleep 0.05; done
    if ! grep -q "ready idle" "$log"; then kill -9 $pid; rm -f "$log"; echo "idle payload never ready under $*" >&2; return 1; fi
    sleep 0.2
    kb=$(tree_pss_kb $pid)
    kill -9 $(pgrep -P $pid || true) $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    rm -f "$log"
    echo "$kb"
}
pc=$(idle_pss run_cellvm "$idle")
pq=$(idle_pss run_qemu "$idle")

printf 'boot-to-exit (median of %d, us): cellvm %d  qemu-microvm %d  ratio %.3f (goal <= 0.200)\n' \
    "$runs" "$mc" "$mq" "$(echo "$mc / $mq" | bc -l)"
printf 'idle 512 MiB guest PSS (KiB):     cellvm %d  qemu-microvm %d  ratio %.3f (goal <= 0.333)\n' \
    "$pc" "$pq" "$(echo "$pc / $pq" | bc -l)"
