#!/bin/bash
# sandbox.sh CASE: one case of suite `sandbox` (tests/sandbox/meson.build sets the paths).
#
#   proc-PROFILE          sbx-probe jails itself standalone with PROFILE and holds: /proc shows
#                         Seccomp 2, NoNewPrivs 1, no capability, own mount/net/ipc/uts
#                         namespaces and an empty root
#   kill-PROFILE-ACTION   the action kills the jailed probe with SIGSYS, and the kernel's audit
#                         record names the action's syscall
#   errno-PROFILE-ACTION-N  the action fails with errno N instead
#   uring                 a restricted ring reads a fixed file, refuses the rest with EACCES
#   core-proc             cellvm (started by the test) runs the idle payload: its cellvm-core
#                         shows the jail in /proc, with its own user and PID namespaces too;
#                         as root with a disk and --api-socket: the core and cellvm-blockd share
#                         one network namespace (a loopback device, down), cellvm-api has its own
#   core-hook-ACTION      cellvm starts the hooked cellvm-core (hooked/, via CELLVM_LIBEXEC_DIR),
#                         which attempts ACTION after its jail; cellvm must exit 1 naming the
#                         syscall from the audit record
#   dev-proc-ROLE         (root) the real daemon (blockd on a raw image, netd on a TAP in a
#                         network namespace made here, vsockd with a socket directory) started
#                         standalone with --seccomp on: the jail in /proc, own mount/net/user
#                         namespaces (no PID namespace standalone), a root with only what the
#                         role needs, and the profile's allowed-syscall count within its goal
#   dev-kill-ROLE-ACTION  (root) the hooked copy of the daemon (hooked/) attempts ACTION right
#                         after its jail (CELLVM_TEST_JAIL_PROBE): SIGSYS, and the audit record
#                         names it
#   dev-errno-ROLE-ACTION-N  the same, answered with errno N: the daemon says so and serves on
#   counts                the allowed-syscall count of every profile, each within its goal
#   product-no-hooks      the shipped binaries have no hook linked in, and a shipped daemon asked
#                         for a forbidden action ignores the request
#   vfiod-cli             cellvm-vfiod's command-line and --device errors: one clear line, exit 1,
#                         no socket file left behind (no VFIO device is needed)
# Exit 77 (skip) with a reason when the case cannot run here.
set -uo pipefail
case_name=${1:?usage: sandbox.sh CASE}
: "${SBX_PROBE:?} ${CELLVM:?} ${PAYLOAD_DIR:?} ${HOOKED_DIR:?} ${CELLVM_CORE:?}"
: "${BLOCKD:?} ${NETD:?} ${VSOCKD:?} ${VFIOD:?} ${RNGD:?} ${CONSOLED:?}"

work=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-sbx.XXXXXX") || exit 1
pids=()
netns=
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [ -z "$netns" ] || ip netns del "$netns" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $case_name: $*"; exit 1; }
skip() { echo "SKIP: $case_name: $*"; exit 77; }

# syscall number of a probe action (sandbox/probe.h), x86_64
declare -A nr=([open]=257 [exec]=59 [socket-tcp]=41 [ptrace]=101 [mount]=165 [mmap-exec]=9
               [fork]=56 [clone3]=435 [eventfd]=290)

# audit_record PID NR [SINCE]: waits up to 2.5 s for the seccomp audit record of PID; 0 when it
# names syscall NR, 1 when it names another one (printed), 2 when there is none. With SINCE (a
# /proc/uptime reading taken before PID started), records older than that are ignored: the
# kernel log keeps records of earlier processes that had the same pid.
audit_record() {
    local pid=$1 want=$2 since=${3:-0} line i
    for i in $(seq 1 25); do
        line=$(dmesg | grep 'type=1326' | grep " pid=$pid " |
            awk -v t="$since" '{ s = $0; sub(/^\[ */, "", s); if (s + 0 >= t - 1) print }' |
            tail -n 1)
        [ -n "$line" ] && break
        sleep 0.1
    done
    [ -n "$line" ] || return 2
    [[ $line == *" syscall=$want "* ]] && return 0
    echo "audit record names another syscall: $line"
    return 1
}

# launch_probe PROFILE ACTION: the jailed probe in the background, its pid in $pid.
launch_probe() {
    "$SBX_PROBE" "$1" "$2" >"$work/out" 2>"$work/err" &
    pid=$!
}

# launch_dev ROLE ACTION: the daemon attempts ACTION once jailed.
launch_dev() {
    CELLVM_TEST_JAIL_PROBE=$2 start_dev "$1"
}

# run_killed PROFILE ACTION NR [LAUNCHER]: the process dies of SIGSYS and the audit record
# names NR. The kernel prints at most 10 audit records per 5 s without auditd, shared with
# every seccomp log on the host, so a missing record is retried after the rate-limit window.
run_killed() {
    local profile=$1 action=$2 want=$3 launch=${4:-launch_probe} try rc dog since
    for try in 1 2 3; do
        since=$(cut -d' ' -f1 /proc/uptime)
        "$launch" "$profile" "$action"
        (sleep 15 && kill -KILL "$pid") >/dev/null 2>&1 &
        dog=$!
        wait "$pid"
        rc=$?
        kill "$dog" 2>/dev/null
        wait "$dog" 2>/dev/null
        [ "$rc" -eq 159 ] ||
            fail "expected death by SIGSYS (159), got $rc: $(cat "$work/out" "$work/err")"
        echo "ok: $profile killed by SIGSYS on $action"
        if ! dmesg >/dev/null 2>&1; then
            echo "note: kernel log unreadable here (dmesg_restrict): audit record not checked"
            return 0
        fi
        audit_record "$pid" "$want" "$since"
        case $? in
        0) echo "ok: audit record: syscall=$want"; return 0 ;;
        1) fail "wrong syscall in the audit record" ;;
        esac
        echo "note: no audit record for pid $pid (rate-limited?), retrying in 5.5 s"
        sleep 5.5
    done
    fail "no seccomp audit record in 3 tries"
}

# check_status PID: the jail as /proc shows it.
check_status() {
    local s=/proc/$1/status f v
    [ -r "$s" ] || fail "no $s"
    for f in Seccomp:2 NoNewPrivs:1 CapEff:0000000000000000 CapPrm:0000000000000000 \
        CapBnd:0000000000000000 CapAmb:0000000000000000; do
        v=$(awk -v k="${f%%:*}:" '$1 == k { print $2 }' "$s")
        [ "$v" = "${f#*:}" ] || fail "${f%%:*} is '$v', want ${f#*:}"
    done
    echo "ok: Seccomp 2, NoNewPrivs 1, CapEff/CapPrm/CapBnd/CapAmb 0"
}

# check_ns PID NS...: PID's namespaces differ from this shell's.
check_ns() {
    local pid=$1 n a b
    shift
    for n in "$@"; do
        a=$(readlink "/proc/$pid/ns/$n") || fail "cannot read /proc/$pid/ns/$n"
        b=$(readlink "/proc/self/ns/$n")
        [ "$a" != "$b" ] || fail "shares the $n namespace ($a)"
    done
    echo "ok: own namespaces: $*"
}

# check_root PID [NAME...]: the root directory holds exactly NAME... (nothing by default).
check_root() {
    local pid=$1 got want
    shift
    got=$(ls -A "/proc/$pid/root/" 2>&1 | sort | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "root holds '$got', want '$want'"
    want=${want% }
    echo "ok: root holds only: ${want:-nothing}"
}

check_empty_root() {
    check_root "$1"
}

# goal of allowed syscalls per profile (issue 11)
declare -A goal=([blockd]=60 [netd]=50 [vsockd]=50 [vcpu]=25 [vsockconn]=8 [vfiod]=45 [rngd]=25 [consoled]=25)

check_count() {
    local out n
    out=$("$SBX_PROBE" "$1" count) || fail "cannot count $1's profile: $out"
    n=$(awk '{ print $3 }' <<<"$out")
    [[ $n =~ ^[0-9]+$ ]] || fail "unreadable count: $out"
    if [ -z "${goal[$1]:-}" ]; then
        echo "ok: $out (no goal)"
        return 0
    fi
    [ "$n" -le "${goal[$1]}" ] || fail "$out: goal ${goal[$1]}"
    echo "ok: $out (goal ${goal[$1]})"
}

need_root() {
    [ "$(id -u)" = 0 ] || skip "starts device daemons as root (TAP, netns); run as root"
}

# use_hooked: the daemons started from here on are the hooked copies.
use_hooked() {
    local d
    for d in "$HOOKED_DIR"/cellvm-{core,blockd,netd,vsockd,rngd,consoled}; do
        [ -x "$d" ] || fail "no hooked build at $d"
    done
    BLOCKD=$HOOKED_DIR/cellvm-blockd
    NETD=$HOOKED_DIR/cellvm-netd
    VSOCKD=$HOOKED_DIR/cellvm-vsockd
    RNGD=$HOOKED_DIR/cellvm-rngd
    CONSOLED=$HOOKED_DIR/cellvm-consoled
}

# start_dev ROLE: the daemon standalone with --seccomp on, in the background; pid in $pid,
# stderr in $work/err. Each gets what its role needs: a raw image, a TAP in a network
# namespace made here (link-local only, nothing configured), a socket directory.
start_dev() {
    local role=$1
    : >"$work/out"
    case $role in
    blockd)
        truncate -s 16M "$work/disk.raw"
        "$BLOCKD" --socket-path "$work/vu.sock" --disk "path=$work/disk.raw,image_type=raw" \
            --seccomp on >"$work/out" 2>"$work/err" </dev/null &
        ;;
    netd)
        command -v ip >/dev/null || skip "iproute2's ip is not installed"
        if [ -z "$netns" ]; then
            netns=cellvm-sbx-$$
            ip netns add "$netns" || skip "cannot create a network namespace"
        fi
        ip netns exec "$netns" "$NETD" --socket-path "$work/vu.sock" --net tap=sbxtap0 \
            --seccomp on >"$work/out" 2>"$work/err" </dev/null &
        ;;
    vsockd)
        mkdir -p "$work/vsock"
        "$VSOCKD" --socket-path "$work/vu.sock" --vsock "cid=3,socket=$work/vsock/v.sock" \
            --seccomp on >"$work/out" 2>"$work/err" </dev/null &
        ;;
    rngd)
        "$RNGD" --socket-path "$work/vu.sock" --source /dev/urandom \
            --seccomp on >"$work/out" 2>"$work/err" </dev/null &
        ;;
    consoled)
        "$CONSOLED" --socket-path "$work/vu.sock" --console "file=$work/console.log" \
            --seccomp on >"$work/out" 2>"$work/err" </dev/null &
        ;;
    *)
        fail "no daemon for role $role"
        ;;
    esac
    pid=$!
    pids+=("$pid")
}

# wait_jailed PID: up to 20 s for the filter to be in place (the socket exists before the jail).
wait_jailed() {
    local i
    for i in $(seq 1 200); do
        [ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$1/status" 2>/dev/null)" = 2 ] && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

stop_dev() {
    kill -TERM "$1"
    wait "$1"
    local rc=$?
    [ "$rc" -eq 0 ] || fail "the daemon exited with $rc after SIGTERM: $(cat "$work/err")"
    echo "ok: stopped cleanly"
}

# wait_for FILE TEXT: up to 20 s
wait_for() {
    local i
    for i in $(seq 1 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

case $case_name in
proc-*)
    profile=${case_name#proc-}
    mkfifo "$work/in"
    "$SBX_PROBE" "$profile" hold <"$work/in" >"$work/out" 2>"$work/err" &
    pid=$!
    pids+=("$pid")
    exec 7>"$work/in"
    wait_for "$work/out" ready || fail "probe did not get ready: $(cat "$work/err")"
    check_status "$pid"
    if [ "$(id -u)" = 0 ]; then
        if setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U true 2>/dev/null; then
            check_ns "$pid" mnt net ipc uts cgroup user
        else
            check_ns "$pid" mnt net ipc uts cgroup
        fi
        grep -q "^Uid:.*65534" "/proc/$pid/status" || fail "root standalone did not become nobody"
        echo "ok: root standalone runs as nobody"
    else
        check_ns "$pid" mnt net ipc uts cgroup user
    fi
    check_empty_root "$pid"
    exec 7>&-
    wait "$pid" || fail "probe exited with $?"
    ;;
kill-*)
    rest=${case_name#kill-}
    profile=${rest%%-*}
    action=${rest#*-}
    run_killed "$profile" "$action" "${nr[${action#thread-}]}"
    ;;
errno-*)
    rest=${case_name#errno-}
    profile=${rest%%-*}
    rest=${rest#*-}
    action=${rest%-*}
    want=${rest##*-}
    out=$("$SBX_PROBE" "$profile" "$action" 2>&1) || fail "probe failed: $out"
    expect="probe $action: errno $want"
    [ "$want" != 0 ] || expect="probe $action: allowed"
    [ "$out" = "$expect" ] || fail "got '$out', want '$expect'"
    echo "ok: $out"
    ;;
uring)
    echo "sandbox io_uring check" >"$work/file"
    out=$("$SBX_PROBE" blockd uring "$work/file" 2>&1) || fail "probe failed: $out"
    echo "$out"
    grep -q "^uring read fixed: 23$" <<<"$out" || fail "fixed-file read did not return 23 bytes"
    grep -q "^uring read unregistered fd: -13$" <<<"$out" || fail "plain fd not refused"
    grep -q "^uring openat: -13$" <<<"$out" || fail "openat opcode not refused"
    ;;
core-proc)
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable here"
    # As root, a disk (cellvm-blockd) and the API process too: the VM's processes share one
    # empty network namespace (sandbox/netns.h), the API process has its own.
    more=()
    if [ "$(id -u)" = 0 ]; then
        truncate -s 1M "$work/disk.img" || fail "truncate"
        more=(--disk "path=$work/disk.img" --api-socket "path=$work/api.sock")
    fi
    "$CELLVM" --kernel "$PAYLOAD_DIR/idle.elf" --serial tty --console off --memory size=64M \
        "${more[@]}" >"$work/out" 2>"$work/err" </dev/null &
    ctl=$!
    pids+=("$ctl")
    wait_for "$work/out" "ready idle" || fail "the idle payload did not start: $(cat "$work/err")"
    core=$(pgrep -P "$ctl" cellvm-core) || fail "no cellvm-core child of cellvm $ctl"
    check_status "$core"
    check_ns "$core" mnt net ipc uts pid cgroup
    if [ "$(id -u)" = 0 ]; then
        vmnet=$(readlink "/proc/$core/ns/net")
        blk=$(pgrep -P "$ctl" cellvm-blockd) || fail "no cellvm-blockd child of cellvm $ctl"
        api=$(pgrep -P "$ctl" cellvm-api) || fail "no cellvm-api child of cellvm $ctl"
        [ "$(readlink "/proc/$blk/ns/net")" = "$vmnet" ] ||
            fail "cellvm-blockd is not in the VM's network namespace $vmnet"
        [ "$(readlink "/proc/$api/ns/net")" != "$vmnet" ] ||
            fail "cellvm-api shares the VM's network namespace (it binds an abstract socket)"
        check_ns "$api" net
        # Nothing in it but a loopback device that is down, and no child may change that.
        links=$(nsenter --net="/proc/$core/ns/net" ip -o link show) || fail "nsenter"
        [ "$(wc -l <<<"$links")" = 1 ] && grep -q '^1: lo: <LOOPBACK>' <<<"$links" ||
            fail "the VM's network namespace holds more than a loopback device that is down: $links"
        # Root of the core's own user namespace may not bring even the loopback device up: the
        # host's user namespace owns this network namespace.
        out=$(nsenter --net="/proc/$core/ns/net" --user="/proc/$core/ns/user" ip link set lo up 2>&1) &&
            fail "root of the core's user namespace could configure the VM's network namespace"
        grep -q "Operation not permitted" <<<"$out" || fail "ip link set lo up: $out"
        echo "ok: the core and cellvm-blockd share $vmnet (lo down, nothing else); cellvm-api has its own"
    fi
    if [ "$(readlink /proc/$core/ns/user)" != "$(readlink /proc/self/ns/user)" ]; then
        echo "ok: own user namespace: $(tr -s ' ' <"/proc/$core/uid_map")"
    else
        echo "note: no user namespace here: per-VM uid $(awk '/^Uid:/ { print $2 }' "/proc/$core/status")"
    fi
    awk '/^Uid:/ { exit !($2 != 0) }' "/proc/$core/status" || fail "the core runs as host root"
    check_empty_root "$core"
    kill -TERM "$ctl"
    wait "$ctl"
    rc=$?
    [ "$rc" -eq 0 ] || fail "cellvm exited with $rc after SIGTERM: $(cat "$work/err")"
    echo "ok: stopped cleanly"
    ;;
core-hook-*)
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable here"
    use_hooked
    action=${case_name#core-hook-}
    want=${nr[${action#vcpu-}]}
    # The controller reads the kernel's audit record, which is rate-limited (see run_killed):
    # a report without one is retried after the rate-limit window.
    for try in 1 2 3; do
        CELLVM_LIBEXEC_DIR=$HOOKED_DIR CELLVM_TEST_FORBIDDEN=$action timeout 30 "$CELLVM" \
            --kernel "$PAYLOAD_DIR/hello.elf" --serial tty --console off --memory size=64M \
            >"$work/out" 2>"$work/err" </dev/null
        rc=$?
        [ "$rc" -eq 1 ] || fail "expected exit 1, got $rc: $(cat "$work/err")"
        grep -q "killed by its seccomp filter" "$work/err" ||
            fail "no seccomp kill reported: $(cat "$work/err")"
        grep -q "no audit record" "$work/err" || break
        [ "$try" -lt 3 ] || fail "no audit record in 3 tries: $(cat "$work/err")"
        echo "note: $(cat "$work/err"); retrying in 5.5 s"
        sleep 5.5
    done
    grep -q "killed by its seccomp filter: syscall $want " "$work/err" ||
        fail "no report naming syscall $want: $(cat "$work/err")"
    echo "ok: $(cat "$work/err")"
    ;;
dev-proc-*)
    role=${case_name#dev-proc-}
    need_root
    check_count "$role"
    start_dev "$role"
    wait_jailed "$pid" || fail "cellvm-$role did not reach its jail: $(cat "$work/err")"
    check_status "$pid"
    if [ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/self/ns/user)" ]; then
        check_ns "$pid" mnt net ipc uts cgroup user
        echo "ok: user namespace map: $(tr -s ' ' <"/proc/$pid/uid_map")"
    elif setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U true 2>/dev/null; then
        fail "shares the user namespace although nobody may create one here"
    else
        check_ns "$pid" mnt net ipc uts cgroup
        echo "note: this host refuses unprivileged user namespaces: host user namespace"
    fi
    [ "$(readlink /proc/$pid/ns/pid)" = "$(readlink /proc/self/ns/pid)" ] &&
        echo "ok: no PID namespace standalone (it needs a clone by the parent)"
    grep -q "^Uid:.*65534" "/proc/$pid/status" || fail "root standalone did not become nobody"
    echo "ok: runs as nobody on the host"
    case $role in
    vsockd) check_root "$pid" ;; # guests reach host sockets through its connector
    *) check_root "$pid" ;;
    esac
    stop_dev "$pid"
    ;;
dev-kill-*)
    rest=${case_name#dev-kill-}
    role=${rest%%-*}
    action=${rest#*-}
    need_root
    use_hooked
    run_killed "$role" "$action" "${nr[$action]}" launch_dev
    ;;
dev-errno-*)
    rest=${case_name#dev-errno-}
    role=${rest%%-*}
    rest=${rest#*-}
    action=${rest%-*}
    want=${rest##*-}
    need_root
    use_hooked
    launch_dev "$role" "$action"
    expect="test hook: probe $action: errno $want"
    wait_for "$work/err" "$expect\$" || fail "no '$expect': $(cat "$work/err")"
    echo "ok: $expect"
    wait_jailed "$pid" || fail "the daemon did not stay up after the refused call"
    stop_dev "$pid"
    ;;
counts)
    for p in api core vcpu blockd netd vsockd vsockconn vfiod rngd consoled; do
        check_count "$p"
    done
    ;;
product-no-hooks)
    for b in "$CELLVM" "$CELLVM_CORE" "$BLOCKD" "$NETD" "$VSOCKD" "$VFIOD" "$RNGD" "$CONSOLED"; do
        ! grep -q -a -e CELLVM_TEST_JAIL_PROBE -e CELLVM_TEST_FORBIDDEN "$b" ||
            fail "$b has a test hook compiled in"
        ! nm "$b" 2>/dev/null | grep -qw sbx_probe || fail "$b links sbx_probe"
    done
    echo "ok: no hook in cellvm, cellvm-core, cellvm-blockd, cellvm-netd, cellvm-vsockd, cellvm-vfiod, cellvm-rngd, cellvm-consoled"
    # the negative control: the hooked copies do carry it, so the check above can fail
    grep -q -a CELLVM_TEST_JAIL_PROBE "$HOOKED_DIR/cellvm-blockd" ||
        fail "the hooked cellvm-blockd has no hook either: the check proves nothing"
    need_root
    launch_dev blockd exec
    wait_jailed "$pid" || fail "the shipped blockd did not reach its jail: $(cat "$work/err")"
    sleep 0.5
    kill -0 "$pid" 2>/dev/null || fail "the shipped blockd died after a probe request"
    ! grep -q "test hook" "$work/err" || fail "the shipped blockd ran a hook: $(cat "$work/err")"
    echo "ok: the shipped cellvm-blockd ignores CELLVM_TEST_JAIL_PROBE"
    stop_dev "$pid"
    ;;
vfiod-cli)
    dev=/sys/bus/pci/devices/0000:00:00.0
    # vfiod_refused WANT ARGS...: exit 1, and stderr's one "vfiod:" line contains WANT.
    vfiod_refused() {
        local want=$1 rc
        shift
        "$VFIOD" "$@" >"$work/out" 2>"$work/err" </dev/null
        rc=$?
        [ "$rc" -eq 1 ] || fail "$*: exit $rc, want 1: $(cat "$work/err")"
        grep -q "^vfiod: .*$want" "$work/err" || fail "$*: no '$want' in: $(cat "$work/err")"
        [ ! -e "$work/v.sock" ] || fail "$*: left $work/v.sock behind"
        echo "ok: $* -> $(grep '^vfiod: ' "$work/err" | tail -n 1)"
    }
    vfiod_refused "unknown" --socket-path "$work/v.sock" --device "path=$dev,foo=1"
    vfiod_refused "iommu" --socket-path "$work/v.sock" --device "path=$dev,iommu=on"
    vfiod_refused "x_nv_gpudirect_clique" --socket-path "$work/v.sock" --device "path=$dev,x_nv_gpudirect_clique=0"
    vfiod_refused "path" --socket-path "$work/v.sock" --device "id=x"
    vfiod_refused "/nonexistent/0000:00:01.0" --socket-path "$work/v.sock" \
        --device "path=/nonexistent/0000:00:01.0"
    vfiod_refused "/proc/self" --socket-path "$work/v.sock" --device "path=/proc/self"
    vfiod_refused "exactly one of" --device "path=$dev"
    vfiod_refused "exactly one of" --fd 0 --socket-path "$work/v.sock" --device "path=$dev"
    vfiod_refused "device is needed" --socket-path "$work/v.sock"
    vfiod_refused "one --device" --socket-path "$work/v.sock" --device "path=$dev" \
        --device "path=$dev"
    vfiod_refused "--seccomp" --socket-path "$work/v.sock" --seccomp maybe --device "path=$dev"
    vfiod_refused "--fd 99" --fd 99 --device "path=$dev"
    # A real PCI device of this host without an IOMMU group (no host IOMMU), where there is one.
    for d in /sys/bus/pci/devices/*; do
        [ -e "$d" ] && [ ! -e "$d/iommu_group" ] || continue
        vfiod_refused "no IOMMU group" --socket-path "$work/v.sock" --device "path=$d"
        break
    done
    ;;
*)
    fail "unknown case"
    ;;
esac
echo "PASS: $case_name"
