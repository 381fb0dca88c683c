#!/bin/bash
# Benchmark (suite `bench`, issue 21): cellvm against QEMU's microvm on the same /dev/kvm, same
# run, same PVH payload file, each case with no device and with a disk, a NIC and a vsock device
# (cellvm: three device daemons, cellvm-blockd, -netd, -vsockd; QEMU: virtio-blk-device,
# virtio-net-device on a TAP and vhost-vsock-device, all virtio-mmio).
#  1. exec to payload exit: wall time from starting the VMM to its exit after the payload powers
#     off, median of N runs (CELLVM_BENCH_RUNS, default 21), the two VMMs interleaved so machine
#     noise hits both alike (who goes first alternating, a pause before each run);
#  2. memory: proportional set size summed over every process of the VMM while an idle payload
#     runs in a 512 MiB guest, and each process's own PSS;
#  3. one traced run of each (not timed for the ratios): cellvm -v's start-up marks
#     (ipc/startup.h, milliseconds since the controller's exec) beside this script's clock
#     (milliseconds since it started the VMM) on every line either VMM printed.
# The same script runs inside L1 of the nested bench (tests/nested/l1-bench-boot.sh), so it uses
# only bash and what busybox has there: $EPOCHREALTIME for the clock (busybox date has no %N),
# /proc for the process tree (busybox has no pgrep), awk for arithmetic.
# The device case needs root and /dev/net/tun (both VMMs create a TAP; skipped otherwise);
# without /dev/vhost-vsock QEMU's side runs without its vsock device, and the lines say so.
# Usage: boot-vs-qemu.sh CELLVM HELLO_PAYLOAD IDLE_PAYLOAD
set -uo pipefail
cellvm=$1 hello=$2 idle=$3
runs=${CELLVM_BENCH_RUNS:-21}

if [ ! -w /dev/kvm ]; then echo "SKIP: /dev/kvm is not usable"; exit 77; fi
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 missing"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/boot-vs-qemu.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2054 # the commas belong to QEMU's option values
qemu_base=(-M microvm -cpu qemu64 -accel kvm -m 512M -nodefaults -no-user-config -display none
           -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4)
cellvm_mem=size=512M # (--memory thp=on, Cloud Hypervisor's default: guest RAM madvised huge)
status=0

# The device case: the same three devices for both VMMs, a fresh TAP name and vsock socket per
# run (a VMM killed for the PSS reading leaves its socket file behind).
devices=0 vsock_note=""
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ]; then
    devices=1
    truncate -s 64M "$work/c.img" "$work/q.img" || exit 1
    if [ ! -c /dev/vhost-vsock ]; then
        vsock_note=" (qemu without vhost-vsock-device: no /dev/vhost-vsock)"
        echo "boot-vs-qemu: /dev/vhost-vsock is missing: QEMU's device case runs without its vsock device"
    fi
else
    echo "boot-vs-qemu: SKIP the disk+net+vsock case (needs root and /dev/net/tun for the TAP)"
fi
seq_n=0
cid=$((1000 + $$ % 50000)) # vhost-vsock CIDs are host-wide: one no other VM is likely to hold
# (Runs happen in subshells, so the names come from $BASHPID, the subshell's own pid.)
cellvm_devs() {
    seq_n=$((seq_n + 1))
    cdev=(--disk "path=$work/c.img" --net "tap=cvbc${BASHPID}x$seq_n,mac=52:54:00:21:00:01"
          --vsock "cid=$cid,socket=$work/v$BASHPID-$seq_n.sock")
}
qemu_devs() {
    seq_n=$((seq_n + 1))
    # shellcheck disable=SC2054 # the commas belong to QEMU's option values
    qdev=(-drive "id=d0,file=$work/q.img,format=raw,if=none" -device virtio-blk-device,drive=d0
          -netdev "tap,id=n0,ifname=cvbq${BASHPID}x$seq_n,script=no,downscript=no"
          -device virtio-net-device,netdev=n0,mac=52:54:00:21:00:02)
    [ -n "$vsock_note" ] || qdev+=(-device "vhost-vsock-device,guest-cid=$cid")
}

# run_VMM PAYLOAD [devices] [more VMM args]: execs the VMM, so call it in a subshell (or with
# &): the VMM is then that process itself, with no shell between it and its parent.
run_cellvm() {
    local k=$1 cdev=()
    shift
    if [ "${1:-}" = devices ]; then cellvm_devs; shift; fi
    exec "$cellvm" "$@" --kernel "$k" --memory "$cellvm_mem" --serial tty --console off "${cdev[@]}"
}
# isa-debug-exit turns the payload's "pass" (0) into exit status 1.
run_qemu() {
    local k=$1 qdev=()
    shift
    if [ "${1:-}" = devices ]; then qemu_devs; shift; fi
    exec "$qemu" "${qemu_base[@]}" "${qdev[@]}" -kernel "$k" "$@"
}

us_now() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "n/a"}'; }

# time_one VMM ARGS...: microseconds from the VMM's start to its exit; the payload must pass.
time_one() {
    local t0 t1 out rc
    t0=${EPOCHREALTIME//[.,]/}
    out=$("$@" </dev/null 2>/dev/null) && rc=0 || rc=$?
    t1=${EPOCHREALTIME//[.,]/}
    case "$out" in *"CELLVM-PAYLOAD: PASS"*) ;; *) echo "payload did not pass under: $* (rc=$rc)" >&2; return 1;; esac
    echo $((10#$t1 - 10#$t0))
}

settle() { sleep "${CELLVM_BENCH_GAP:-0.3}"; }

# boot_case NAME GOAL NOTE [devices]: interleaved runs of both VMMs, then the medians and the
# ratio.
boot_case() {
    local name=$1 goal=$2 note=$3 tc=() tq=() c q i mc mq
    shift 3
    for ((i = 0; i < runs; i++)); do
        # Who goes first alternates, and each run starts after a pause (CELLVM_BENCH_GAP
        # seconds, default 0.3): a VMM's exit leaves kernel work behind on workers (a network
        # namespace's or a TAP's teardown, tens of ms with a TAP), which would otherwise land
        # in the next run, always the other VMM's.
        if ((i % 2)); then
            settle; q=$(time_one run_qemu "$hello" "$@") || { status=1; return; }
            settle; c=$(time_one run_cellvm "$hello" "$@") || { status=1; return; }
        else
            settle; c=$(time_one run_cellvm "$hello" "$@") || { status=1; return; }
            settle; q=$(time_one run_qemu "$hello" "$@") || { status=1; return; }
        fi
        tc+=("$c") tq+=("$q")
    done
    mc=$(printf '%s\n' "${tc[@]}" | median)
    mq=$(printf '%s\n' "${tq[@]}" | median)
    printf 'boot-to-exit, %s (median of %d, us): cellvm %d  qemu-microvm %d  ratio %s (goal <= %s)%s\n' \
        "$name" "$runs" "$mc" "$mq" "$(ratio "$mc" "$mq")" "$goal" "$note"
    echo "  runs (us): cellvm ${tc[*]}; qemu-microvm ${tq[*]}"
}

# The process tree under a pid, from /proc (children before their parent is fine: PSS adds up).
tree_pids() {
    local f s ppid a todo=("$1") p
    local -A kids=()
    for f in /proc/[0-9]*/stat; do
        read -r s 2>/dev/null <"$f" || continue
        s=${s##*") "} # after the command name, which may hold anything
        # shellcheck disable=SC2206 # stat fields: numbers and one state letter
        a=($s)
        ppid=${a[1]}
        p=${f#/proc/}
        kids[$ppid]+=" ${p%/stat}"
    done
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        echo "$p"
        # shellcheck disable=SC2206 # a list of pids, split on purpose
        todo+=(${kids[$p]:-})
    done
}
# pss_kb PID: "PSS ANON FILE SHMEM" in KiB (smaps_rollup's Pss, Pss_Anon, Pss_File, Pss_Shmem;
# guest RAM is shmem for cellvm, a memfd its processes share, and anonymous memory for QEMU;
# binaries and libraries count as file, or as shmem where they live on a tmpfs, as in L1), or
# "?" when the process is gone or unreadable. CELLVM_BENCH_MAPS=1 lists the big mappings too.
pss_kb() {
    local k v rest pss="" anon=0 file=0 shmem=0
    while read -r k v rest; do
        case "$k" in
        Pss:) pss=$v ;;
        Pss_Anon:) anon=$v ;;
        Pss_File:) file=$v ;;
        Pss_Shmem:) shmem=$v ;;
        esac
    done 2>/dev/null <"/proc/$1/smaps_rollup"
    echo "${pss:-?} $anon $file $shmem"
}
proc_name() {
    local a0=""
    IFS= read -r -d '' a0 2>/dev/null <"/proc/$1/cmdline"
    [ -n "$a0" ] || read -r a0 2>/dev/null <"/proc/$1/comm"
    echo "${a0##*/}"
}

# idle_pss VMM [devices]: the idle payload under VMM; prints
# "TOTAL_KIB NAME=KIB(anon A file F shmem S) ...".
idle_pss() {
    local log pid i p kb parts total=0 list="" pids
    log=$work/idle.log
    : >"$log"
    "$@" >"$log" 2>/dev/null </dev/null &
    pid=$!
    for ((i = 0; i < 600; i++)); do grep -q "ready idle" "$log" && break; sleep 0.05; done
    if ! grep -q "ready idle" "$log"; then
        # shellcheck disable=SC2046 # one argument per pid
        kill -9 $(tree_pids $pid) 2>/dev/null
        wait $pid 2>/dev/null
        echo "idle payload never ready under $*" >&2
        return 1
    fi
    sleep 0.5
    pids=$(tree_pids $pid)
    # shellcheck disable=SC2086 # pids
    [ -z "${CELLVM_BENCH_MAPS:-}" ] || big_maps $pids >>"$work/maps"
    for p in $pids; do
        read -r kb parts <<<"$(pss_kb "$p")"
        [ "$kb" = "?" ] || total=$((total + kb))
        # shellcheck disable=SC2086 # three numbers
        set -- $parts
        list+=" $(proc_name "$p")=$kb${1:+(anon $1 file $2 shmem $3)}"
    done
    kill -9 $pids 2>/dev/null
    wait $pid 2>/dev/null
    echo "$total$list"
}

# big_maps PID...: the mappings of at least 256 KiB PSS of each process (smaps), one line each.
big_maps() {
    local p k v rest range perm path kb
    for p in "$@"; do
        range="" kb=0
        while read -r k v rest; do
            case "$k" in
            *-*) # a mapping's header: "start-end perms offset dev inode [path]"
                [ -z "$range" ] || [ "$kb" -lt 256 ] ||
                    echo "    $(proc_name "$p"): $range $perm ${path:-[anon]} ${kb} KiB"
                range=$k perm=$v kb=0
                read -r _ _ _ path <<<"$rest"
                ;;
            Pss:) kb=$v ;;
            esac
        done 2>/dev/null <"/proc/$p/smaps"
        [ -z "$range" ] || [ "$kb" -lt 256 ] ||
            echo "    $(proc_name "$p"): $range $perm ${path:-[anon]} ${kb} KiB"
    done
}
# pss_case NAME GOAL NOTE [devices]
pss_case() {
    local name=$1 goal=$2 note=$3 c q
    shift 3
    c=$(idle_pss run_cellvm "$idle" "$@") || { status=1; return; }
    q=$(idle_pss run_qemu "$idle" "$@") || { status=1; return; }
    printf 'idle 512 MiB guest PSS, %s (KiB): cellvm %d  qemu-microvm %d  ratio %s (goal <= %s)%s\n' \
        "$name" "${c%% *}" "${q%% *}" "$(ratio "${c%% *}" "${q%% *}")" "$goal" "$note"
    echo "  per process (KiB): cellvm:${c#* }; qemu-microvm:${q#* }"
    # Huge pages decide how much of the guest's few touched pages count: say which apply.
    if [ "$name" = "no devices" ]; then
        c=$(cellvm_mem=size=512M,thp=off idle_pss run_cellvm "$idle") || { status=1; return; }
        echo "  cellvm with --memory thp=off: ${c%% *} KiB, ratio $(ratio "${c%% *}" "${q%% *}") (per process:${c#* })"
    fi
    if [ -s "$work/maps" ]; then
        echo "  mappings of 256 KiB PSS or more:"
        cat "$work/maps"
        rm -f "$work/maps"
    fi
}

# trace VMM ARGS...: every line the VMM prints (stdout and stderr), stamped with the milliseconds
# since this script started it; the last stamp is the VMM's exit (its output closed).
trace() {
    local t0 t l
    echo "  trace: $1 ${*:3}"
    t0=$(us_now)
    { ("$@" </dev/null 2>&1); echo "(exit status $?)"; } | while IFS= read -r l; do
        t=${EPOCHREALTIME//[.,]/}
        t=$((10#$t - t0))
        printf '  %7d.%d ms  %s\n' $((t / 1000)) $((t % 1000 / 100)) "${l%$'\r'}"
    done
}

thp() { local v; read -r v 2>/dev/null <"/sys/kernel/mm/transparent_hugepage/$1"; echo "${v:-?}"; }
echo "boot-vs-qemu: transparent huge pages: enabled $(thp enabled), shmem_enabled $(thp shmem_enabled)"
boot_case "no devices" 0.200 ""
[ "$devices" = 0 ] || boot_case "disk+net+vsock" 0.500 "$vsock_note" devices
pss_case "no devices" 0.100 ""
[ "$devices" = 0 ] || pss_case "disk+net+vsock" 0.150 "$vsock_note" devices
echo "where the start-up goes (one traced run each; cellvm's 'startup +T ms' count from its exec):"
trace run_cellvm "$hello" -v
trace run_qemu "$hello"
if [ "$devices" = 1 ]; then
    trace run_cellvm "$hello" devices -v
    trace run_qemu "$hello" devices
fi
exit $status
