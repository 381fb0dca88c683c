#!/bin/bash
# cellvm-cases.sh CASE
#
# One case of the kvm suite run through the product binaries: `cellvm` (which starts
# cellvm-core) boots a payload guest of tests/payloads, or is given a broken input derived from
# one and must refuse it. tests/kvm/meson.build registers every case as its own test and sets:
#   CELLVM       the controller binary
#   PAYLOAD_DIR  the built payloads (<name>.elf)
#   RUN_REAPED   tests/kvm/run-reaped.c: /dev/kvm probe, timeout, leftover-process check
#   UNIX_CAT     tests/kvm/unix-cat.c: client for --serial socket=
#
# A run that must succeed: exit 0, the payload's PASS line, no FAIL. A refused input: exit 1,
# exactly one stderr line "cellvm: error: <expected text>", nothing on stdout (no vCPU ran, so
# no guest output), and no process (cellvm-core) left running after cellvm exits. Exit 77 when
# /dev/kvm is missing or unusable.
set -uo pipefail

case_name=${1:?usage: cellvm-cases.sh CASE}
: "${CELLVM:?} ${PAYLOAD_DIR:?} ${RUN_REAPED:?} ${UNIX_CAT:?}"

"$RUN_REAPED" --check-kvm || exit $?

work=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-case.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
out=$work/stdout
err=$work/stderr
report=$work/report
mem=(--memory size=128M)

show() {
    local f
    for f in "$out" "$err" "$report" "$@"; do
        [ -s "$f" ] || continue
        echo "---- ${f##*/} ----"
        head -c 4000 "$f"
        echo "---- end ----"
    done
}

fail() {
    echo "FAIL: $case_name: $*"
    show
    exit 1
}

# cellvm ARGS...: runs the controller under run-reaped; sets rc.
cellvm() {
    # The payloads talk on COM1: no virtio-console (CH's default, tty) unless a case asks.
    case " $* " in *" --console "*) ;; *) set -- "$@" --console off ;; esac
    echo "+ cellvm $(printf '%q ' "$@" | cut -c1-300)"
    "$RUN_REAPED" --timeout 30 --report "$report" -- "$CELLVM" "$@" \
        </dev/null >"$out" 2>"$err"
    rc=$?
}

# Verdicts on the last run that every case shares.
check_reaped() {
    case $rc in
    124) fail "cellvm did not exit within its limit (run-reaped --timeout: 30 s, 120 s for the respawn cases; killed)" ;;
    125) fail "cellvm exited but left a process running: $(cat "$report")" ;;
    126) fail "run-reaped could not run cellvm: $(cat "$report")" ;;
    esac
}

# expect_pass NAME: the run succeeded and the payload NAME printed its PASS line to $1's file.
expect_pass() {
    local name=$1 file=${2:-$out}
    check_reaped
    [ "$rc" -eq 0 ] || fail "expected exit status 0, got $rc"
    grep -q "CELLVM-PAYLOAD: PASS $name" "$file" ||
        fail "payload $name did not print 'CELLVM-PAYLOAD: PASS $name' (in ${file##*/})"
    ! grep -q FAIL "$file" || fail "payload $name reported a failure"
    # A word, not a counter's name such as netd's tap_errors=0.
    ! grep -qw 'error' "$err" || fail "a successful run printed an error on stderr"
    echo "ok: exit 0, PASS $name"
}

# expect_error TEXT: the run was refused with exactly one line "cellvm: error: ...TEXT...".
expect_error() {
    local text=$1 lines
    check_reaped
    [ "$rc" -eq 1 ] || fail "expected exit status 1, got $rc"
    lines=$(wc -l <"$err")
    [ "$lines" -eq 1 ] || fail "expected exactly one line on stderr, got $lines"
    grep -q '^cellvm: error: ' "$err" || fail "stderr does not start with 'cellvm: error: '"
    grep -qF -- "$text" "$err" || fail "stderr lacks the expected message: $text"
    [ ! -s "$out" ] || fail "something ran: stdout is not empty (guest output?)"
    echo "ok: exit 1, $(cat "$err")"
}

payload() {
    echo "$PAYLOAD_DIR/$1.elf"
}

# le VALUE BYTES: VALUE as a little-endian printf escape string.
le() {
    local v=$1 n=$2 i s=
    for ((i = 0; i < n; i++)); do
        s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
    done
    printf '%s' "$s"
}

# poke FILE OFFSET ESCAPES: overwrites bytes in place.
poke() {
    # shellcheck disable=SC2059 # the escapes are the format
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# bzimage FILE VERSION MAGIC CMDLINE_SIZE: a setup header that passes every check but the one
# under test (64-bit entry, loaded high, one setup sector), followed by zeroed "code".
bzimage() {
    local f=$1
    head -c 8192 /dev/zero >"$f"
    poke "$f" $((0x1f1)) '\x01'               # setup_sects
    poke "$f" $((0x1fe)) '\x55\xaa'           # boot_flag
    poke "$f" $((0x200)) '\xeb\x6a'           # jump over the whole header (to 0x26c)
    poke "$f" $((0x202)) "$3"                 # header magic
    poke "$f" $((0x206)) "$(le "$2" 2)"       # version
    poke "$f" $((0x211)) '\x01'               # loadflags: LOADED_HIGH
    poke "$f" $((0x236)) "$(le 1 2)"          # xloadflags: XLF_KERNEL_64
    poke "$f" $((0x238)) "$(le "$4" 4)"       # cmdline_size
    poke "$f" $((0x260)) "$(le $((1 << 20)) 4)" # init_size
}

# repeat N CHAR
repeat() {
    head -c "$1" /dev/zero | tr '\0' "$2"
}

# The API cases (a guest driven through cellvm-remote while it runs): $api is the case's socket,
# $vmm the run-reaped process.
# wait_in FILE TEXT SECS: up to SECS for the fixed string TEXT in FILE.
wait_in() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
# remote CMD ARG...: cellvm-remote on the VM's API socket, bounded; sets rrc, rout, rerr.
remote() {
    echo "+ cellvm-remote $*"
    timeout 20 "$CELLVM_REMOTE" --api-socket "$api" "$@" >"$work/r.out" 2>"$work/r.err"
    rrc=$?
    rout=$(cat "$work/r.out")
    rerr=$(cat "$work/r.err")
}
# abort MSG: ends the running VMM, then fails with MSG.
abort() {
    kill -TERM "$vmm" 2>/dev/null
    wait "$vmm"
    fail "$@"
}

# start_hotplug_guest: the hotplug payload under run-reaped with an API socket ($api) and an
# event monitor ($events); sets vmm, t0 and ctl (the controller) once the guest is ready.
start_hotplug_guest() {
    "$RUN_REAPED" --timeout 50 --report "$report" -- "$CELLVM" --kernel "$(payload hotplug)" \
        --serial tty --console off "${mem[@]}" --api-socket "path=$api" \
        --event-monitor "path=$events" </dev/null >"$out" 2>"$err" &
    vmm=$!
    t0=$SECONDS
    wait_in "$out" 'ready hotplug' 20 || abort "the guest did not come up"
    ctl=$(cat /proc/"$vmm"/task/*/children 2>/dev/null | awk '{print $1}')
    [ -n "$ctl" ] || abort "no cellvm process under run-reaped"
}

hello=$(payload hello)

case $case_name in
hello)
    cellvm --kernel "$hello" --serial tty "${mem[@]}"
    expect_pass hello
    grep -q 'hello from the pvh payload' "$out" || fail "no greeting from the payload"
    ;;
hello-repeat)
    # Start-up races (the core's early thread against its jail, for one): 40 boots back to
    # back, each within 10 s. A hang here once was an fd the jail closed under that thread.
    for ((i = 1; i <= 40; i++)); do
        "$RUN_REAPED" --timeout 10 --report "$report" -- "$CELLVM" --kernel "$hello" \
            --serial tty --console off "${mem[@]}" </dev/null >"$out" 2>"$err"
        rc=$?
        [ "$rc" -ne 124 ] || fail "boot $i of 40 did not end within 10 s"
        expect_pass hello >/dev/null
    done
    echo "ok: 40 boots"
    ;;
controller-killed)
    # SIGKILL on the controller takes its children along, even a core that cannot read its
    # channel's end (stopped here): the parent-death signal, which the child's id change at
    # spawn used to clear.
    "$CELLVM" --kernel "$(payload idle)" --serial tty --console off "${mem[@]}" </dev/null \
        >"$out" 2>"$err" &
    ctl=$!
    wait_in "$out" 'CELLVM-PAYLOAD' 10 || { kill -9 "$ctl"; fail "the idle payload never printed"; }
    core=$(tr -d ' ' <"/proc/$ctl/task/$ctl/children")
    [ -n "$core" ] || { kill -9 "$ctl"; fail "no core process under the controller"; }
    kill -STOP "$core"
    kill -9 "$ctl"
    wait "$ctl" 2>/dev/null
    # The state from /proc (no ps in L1's busybox): empty once reaped, Z until then.
    for ((i = 0; i < 40; i++)); do
        st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$core/stat" 2>/dev/null)
        case $st in "" | Z*) break ;; esac
        sleep 0.05
    done
    case $st in
    "" | Z*) echo "ok: the stopped core went with its controller" ;;
    *)
        kill -9 "$core"
        fail "the core outlived its controller (state $st)"
        ;;
    esac
    ;;
devices-quiet-exit)
    # A guest that powers off with a disk, a NIC and a vsock device: the controller stops the
    # device processes as the VM ends (netd first), which is no loss to warn about. Nothing at
    # warning level on stderr, and the TAP is gone with its VM.
    if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
        echo "SKIP: a TAP needs root and /dev/net/tun"
        exit 77
    fi
    truncate -s 1M "$work/d.img"
    tap=cvq$$
    cellvm --kernel "$hello" --serial tty "${mem[@]}" --disk "path=$work/d.img,image_type=raw" \
        --net "tap=$tap,mac=52:54:00:21:00:07" --vsock "cid=3,socket=$work/v.sock"
    expect_pass hello
    ! grep -iwE 'warn|warning|error' "$err" || fail "a normal power-off with devices printed a warning"
    ! ip link show "$tap" >/dev/null 2>&1 || fail "the TAP $tap outlived its VM"
    echo "ok: no warning, the TAP is gone"
    ;;
startup-trace)
    # -v: the start-up phases (ipc/startup.h), each once, in order, times growing; then with a
    # disk, its device process's own two phases, in order, before the VM is built.
    phases_in_order() {
        local last=-1 phase line ms
        for phase in "$@"; do
            line=$(grep -n "startup +[0-9.]* ms: .*$phase" "$err") ||
                fail "no start-up line for '$phase'"
            [ "$(echo "$line" | wc -l)" -eq 1 ] || fail "'$phase' printed more than once"
            ms=$(echo "$line" | sed 's/.*startup +\([0-9]*\)\.\([0-9]\) ms.*/\1\2/')
            [ "$ms" -ge "$last" ] || fail "'$phase' at ${ms}00 us is before the phase before it"
            last=$ms
            echo "  ${line#*startup }"
        done
    }
    cellvm -v --kernel "$hello" --serial tty "${mem[@]}"
    expect_pass hello
    grep -q 'startup +[0-9.]* ms: the core is ready' "$err" || fail "no start-up line for Ready"
    phases_in_order 'command line parsed' 'resources opened' 'cellvm-core started' \
        'core: configuration received' 'core: guest memory mapped' 'core: jailed' \
        'core: VM built' 'core: vCPUs start'
    truncate -s 1M "$work/trace.img"
    cellvm -v --kernel "$hello" --serial tty "${mem[@]}" --disk "path=$work/trace.img,image_type=raw"
    expect_pass hello
    phases_in_order 'device processes started' 'blk: configured' 'blk: jailed' 'core: VM built'
    echo "ok: every start-up phase once, in order"
    ;;
pio-mmio)
    cellvm --kernel "$(payload pio-mmio)" --serial tty "${mem[@]}"
    expect_pass pio-mmio
    ;;
reset)
    # ACPI reset, then i8042 reset, then power off: three boots, in order, then exit 0.
    cellvm --kernel "$(payload reset)" --serial tty "${mem[@]}"
    expect_pass reset
    boots=$(grep -o 'CELLVM-PAYLOAD: boot [0-9]' "$out" | cut -d' ' -f3 | tr -d '\n')
    [ "$boots" = 123 ] || fail "expected boots 1, 2, 3 in order, saw '${boots}'"
    echo "ok: boots $boots"
    ;;
smp)
    cellvm --kernel "$(payload smp)" --serial tty "${mem[@]}" \
        --cpus boot=2,max=4,topology=2:2:1:1,max_phys_bits=39
    expect_pass smp
    ;;
hello-high)
    # Linked at 64 MiB: boots with 128 MiB (elf-outside-memory shows it refused with 16 MiB).
    cellvm --kernel "$(payload hello-high)" --serial tty "${mem[@]}"
    expect_pass hello
    ;;
serial-file)
    cellvm --kernel "$hello" --serial "file=$work/serial.log" "${mem[@]}"
    [ -f "$work/serial.log" ] || fail "--serial file= did not create the file"
    expect_pass hello "$work/serial.log"
    ! grep -q CELLVM-PAYLOAD "$out" || fail "guest output reached stdout, not only the file"
    ;;
serial-socket)
    # serial-in prints nothing until input arrives, so the client cannot connect too late.
    sock=$work/serial.sock
    line="ping$(repeat 150 x)"
    "$RUN_REAPED" --timeout 30 --report "$report" -- "$CELLVM" --kernel "$(payload serial-in)" \
        --serial "socket=$sock" --console off "${mem[@]}" </dev/null >"$out" 2>"$err" &
    vmm=$!
    "$UNIX_CAT" --timeout 30 --send "$line"$'\n' "$sock" >"$work/socket.out" 2>"$work/client.err"
    client=$?
    wait "$vmm"
    rc=$?
    [ "$client" -eq 0 ] || { show "$work/socket.out" "$work/client.err"; fail "socket client failed"; }
    expect_pass serial-in "$work/socket.out"
    grep -q 'got: ping' "$work/socket.out" || fail "the guest did not echo the input it read"
    ! grep -q CELLVM-PAYLOAD "$out" || fail "guest output reached stdout, not only the socket"
    ;;

missing-kernel)
    cellvm --kernel "$work/none.elf" --serial tty "${mem[@]}"
    expect_error "--kernel: cannot open '$work/none.elf': No such file or directory"
    ;;
empty-kernel)
    : >"$work/empty.elf"
    cellvm --kernel "$work/empty.elf" --serial tty "${mem[@]}"
    # The controller refuses it before any process starts (no bzImage or ELF magic).
    expect_error "--kernel: '$work/empty.elf' is not a kernel cellvm can boot (neither a bzImage nor an ELF file)"
    ;;
truncated-elf-header)
    head -c 40 "$hello" >"$work/k.elf"
    cellvm --kernel "$work/k.elf" --serial tty "${mem[@]}"
    expect_error "kernel: ELF header truncated (40 bytes)"
    ;;
truncated-elf-segment)
    # Cut inside the first PT_LOAD's file bytes, which hold the PVH note too.
    seg_off=$(od -An -t u8 -j $((64 + 8)) -N 8 "$hello" | tr -d ' ')
    head -c $((seg_off + 64)) "$hello" >"$work/k.elf"
    cellvm --kernel "$work/k.elf" --serial tty "${mem[@]}"
    expect_error "kernel: note segment 2 is truncated or too large"
    ;;
bad-elf-machine)
    cp "$hello" "$work/k.elf"
    poke "$work/k.elf" 18 "$(le 3 2)" # e_machine: EM_386
    cellvm --kernel "$work/k.elf" --serial tty "${mem[@]}"
    expect_error "kernel: not a bzImage or a PVH ELF (ELF class 2, machine 3, type 2; need ELF64 x86_64 executable)"
    ;;
bad-elf-phoff)
    cp "$hello" "$work/k.elf"
    poke "$work/k.elf" 32 "$(le $((1 << 30)) 8)" # e_phoff past the end of the file
    cellvm --kernel "$work/k.elf" --serial tty "${mem[@]}"
    expect_error "kernel: ELF program headers at offset 1073741824 run past the end of the file"
    ;;
elf-outside-memory)
    cellvm --kernel "$(payload hello-high)" --serial tty --memory size=16M
    expect_error "kernel: segment 0 at 0x4000000 outside guest memory"
    ;;
bzimage-bad-magic)
    bzimage "$work/bz" 0x020f 'HdrX' 2048
    cellvm --kernel "$work/bz" --serial tty "${mem[@]}"
    expect_error "--kernel: '$work/bz' is not a kernel cellvm can boot (neither a bzImage nor an ELF file)"
    ;;
bzimage-old-protocol)
    bzimage "$work/bz" 0x0204 'HdrS' 2048
    cellvm --kernel "$work/bz" --serial tty "${mem[@]}"
    expect_error "kernel: bzImage boot protocol 2.04 is older than 2.06"
    ;;
bzimage-cmdline-too-long)
    bzimage "$work/bz" 0x020f 'HdrS' 255
    cellvm --kernel "$work/bz" --serial tty "${mem[@]}" --cmdline "$(repeat 300 a)"
    expect_error "cmdline: 300 bytes, kernel accepts at most 255"
    ;;
missing-initramfs)
    cellvm --kernel "$hello" --initramfs "$work/none.img" --serial tty "${mem[@]}"
    expect_error "--initramfs: cannot open '$work/none.img': No such file or directory"
    ;;
initramfs-too-large)
    truncate -s 100M "$work/initrd.img"
    cellvm --kernel "$hello" --initramfs "$work/initrd.img" --serial tty --memory size=64M
    expect_error "initramfs: 104857600 bytes do not fit in guest memory"
    ;;
cmdline-too-long)
    # The PVH loader takes up to 65535 bytes; the CLI refuses anything longer.
    cellvm --kernel "$hello" --serial tty "${mem[@]}" --cmdline "$(repeat 65536 a)"
    expect_error "--cmdline: invalid value: longer than 65535 bytes"
    ;;
cmdline-long-with-tab)
    # Well past 4 KiB and with a tab: the CLI, the control message and the PVH loader all take
    # it (the kernel treats a tab as a space).
    cellvm --kernel "$hello" --serial tty "${mem[@]}" --cmdline "$(repeat 40000 a)$(printf '\t')quiet"
    expect_pass hello
    ;;
memory-too-small)
    cellvm --kernel "$hello" --serial tty --memory size=1M
    expect_error "memory: 1048576 bytes are too few to boot (need over 1 MiB)"
    ;;
unknown-option)
    cellvm --kernel "$hello" --serial tty "${mem[@]}" --bogus x
    expect_error "unknown option '--bogus'"
    ;;
unknown-key)
    cellvm --kernel "$hello" --serial tty --memory size=128M,bogus=1
    expect_error "--memory: unknown key 'bogus'"
    ;;
unsupported-option)
    cellvm --kernel "$hello" --serial tty "${mem[@]}" --pvmemcontrol
    expect_error "--pvmemcontrol: known but not supported yet"
    ;;
unsupported-key)
    cellvm --kernel "$hello" --serial tty --memory size=128M --cpus kvm_hyperv=on
    expect_error "--cpus: known but not supported yet: kvm_hyperv"
    ;;
bad-value)
    cellvm --kernel "$hello" --serial tty --memory size=12x
    expect_error "--memory: invalid value for 'size': '12x'"
    ;;
virtio-blk | virtio-blk-* | disk-*)
    # PCI, virtio-pci and the vhost-user frontend with cellvm-blockd behind each --disk.
    img=$work/disk.img
    truncate -s 64M "$img"
    printf 'CELLVM-DISK-PATTERN' | dd of="$img" bs=512 seek=16 conv=notrunc status=none
    case $case_name in
    virtio-blk)
        cellvm --kernel "$(payload virtio-blk)" --serial tty "${mem[@]}" --disk "path=$img"
        expect_pass virtio-blk
        dd if="$img" bs=512 skip=8 count=1 status=none | grep -qa 'CELLVM-WRITTEN-BY-GUEST' ||
            fail "the guest's write did not reach sector 8 of the image"
        echo "ok: sector 8 holds the guest's pattern"
        ;;
    virtio-blk-respawn | virtio-blk-respawn-budget | virtio-blk-hang)
        # Issue 19: the device process dies (or hangs) under a running guest and is replaced.
        # blockd_of CTL: the controller's cellvm-blockd child, if any.
        blockd_of() {
            local p
            for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
                [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cellvm-blockd ] && echo "$p"
            done
        }
        # wait_out TEXT: up to 20 s for TEXT on the guest's serial output.
        wait_out() {
            local i
            for ((i = 0; i < 400; i++)); do
                grep -q "$1" "$out" 2>/dev/null && return 0
                sleep 0.05
            done
            return 1
        }
        # new_blockd OLD: up to 10 s for a cellvm-blockd child other than OLD; echoes it.
        new_blockd() {
            local i p
            for ((i = 0; i < 200; i++)); do
                p=$(blockd_of "$ctl" | head -1)
                [ -n "$p" ] && [ "$p" != "$1" ] && { echo "$p"; return 0; }
                sleep 0.05
            done
            return 1
        }
        payload=blk-loop
        [ "$case_name" != virtio-blk-respawn-budget ] || payload=idle
        # 120 s: a loaded TCG L1 ran the hang case's rounds at a sixth of their usual speed.
        "$RUN_REAPED" --timeout 120 --report "$report" -- "$CELLVM" --kernel "$(payload $payload)" \
            --serial tty --console off "${mem[@]}" --disk "path=$img,id=victim" \
            </dev/null >"$out" 2>"$err" &
        vmm=$!
        wait_out "$([ $payload = idle ] && echo 'ready idle' || echo 'looping')" ||
            { kill "$vmm"; wait "$vmm"; fail "the guest did not start"; }
        ctl=$(cat /proc/"$vmm"/task/*/children 2>/dev/null | awk '{print $1}')
        blockd=$(blockd_of "${ctl:-0}" | head -1)
        [ -n "$blockd" ] || { kill "$vmm"; wait "$vmm"; fail "no cellvm-blockd child found"; }
        if [ "$case_name" = virtio-blk-respawn ]; then
            # Killed twice mid-run: every round still reads back what it wrote.
            for at in 0x14 0x64; do
                wait_out "round $at" || { kill "$vmm"; wait "$vmm"; fail "no round $at"; }
                kill -9 "$blockd"
                echo "ok: killed cellvm-blockd $blockd after round $at"
                blockd=$(new_blockd "$blockd") ||
                    { kill "$vmm"; wait "$vmm"; fail "no replacement cellvm-blockd"; }
                # The next kill only once this replacement serves: a guest running ahead of
                # this script would otherwise see the replacement killed before it took over.
                n=$((${n:-0} + 1))
                for ((i = 0; i < 400; i++)); do
                    [ "$(grep -c 'replacement blockd process took over' "$err")" -ge "$n" ] && break
                    sleep 0.05
                done
            done
            wait "$vmm"
            rc=$?
            expect_pass blk-loop
            [ "$(grep -c 'device victim: the blockd process (victim) died of signal 9; starting a replacement' "$err")" -eq 2 ] ||
                fail "cellvm did not log both replacements"
            [ "$(grep -c 'device victim: the replacement blockd process took over' "$err")" -eq 2 ] ||
                fail "cellvm did not log both reconnections"
            echo "ok: $(grep -c 'took over' "$err") replacements took over; every round verified"
        elif [ "$case_name" = virtio-blk-hang ]; then
            # Stopped, not killed: it no longer answers its control channel, so the controller
            # kills it (liveness.h, 10 s) and a replacement finishes the guest's rounds.
            wait_out "round 0x14" || { kill "$vmm"; wait "$vmm"; fail "no round 0x14"; }
            kill -STOP "$blockd"
            echo "ok: stopped cellvm-blockd $blockd after round 0x14"
            t0=$SECONDS
            # Looked for without a pause for about 20 s (the controller's limit is 10 s): the
            # replacement can finish the guest's last rounds within a second and leave with the
            # VM, and a pause between looks missed it (CI, and 2 of 3 runs here, where the
            # controller's log said it took over and the payload passed); the log is the
            # evidence then.
            if new=$(new_blockd "$blockd") || new=$(new_blockd "$blockd"); then
                echo "ok: replacement cellvm-blockd $new after $((SECONDS - t0)) s"
            elif grep -q 'device victim: the replacement blockd process took over' "$err"; then
                echo "ok: a replacement took over and was gone before a look found it ($((SECONDS - t0)) s)"
            else
                kill -9 "$blockd"
                kill "$vmm"
                wait "$vmm"
                fail "the stopped cellvm-blockd was not replaced"
            fi
            wait "$vmm"
            rc=$?
            expect_pass blk-loop
            grep -q 'device victim: the blockd process stopped answering its control channel for 10 s; killed' "$err" ||
                fail "cellvm did not say the device stopped answering"
            grep -q 'device victim: the replacement blockd process took over' "$err" ||
                fail "the replacement did not take over"
            echo "ok: $(grep 'stopped answering' "$err" | head -1)"
        else
            # Killed again and again: the sixth death within 10 s stops the VM, naming it. A
            # host too loaded to start five replacements well inside those 10 s (seen in a TCG
            # L1 beside four compilers: 2-3 s each) cannot show the budget: skip then, saying
            # so, rather than wait for a stop that rightly never comes (unit
            # controller-respawn checks the budget's arithmetic itself).
            t0=$(cut -d' ' -f1 /proc/uptime) # (busybox's date, in L1, has no %N)
            for ((k = 0; k < 6; k++)); do
                kill -9 "$blockd"
                [ $k -lt 5 ] || break
                blockd=$(new_blockd "$blockd") ||
                    { kill "$vmm"; wait "$vmm"; fail "no replacement cellvm-blockd after $k"; }
            done
            ms=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%d", (b - a) * 1000 }')
            if [ "$ms" -ge 8000 ]; then
                kill "$vmm"
                wait "$vmm"
                echo "SKIP: virtio-blk-respawn-budget: six deaths took $ms ms here, the budget's window is 10 s"
                exit 77
            fi
            wait "$vmm"
            rc=$?
            check_reaped
            [ "$rc" -eq 1 ] || fail "expected exit status 1, got $rc"
            grep -q 'error: device victim: the blockd process (victim) died of signal 9; restarted 5 times within 10 s already; stopping the VM' "$err" ||
                fail "cellvm did not name the device and its last exit"
            echo "ok: $(grep 'error: device victim' "$err" | head -1)"
        fi
        ;;
    disk-missing-image)
        cellvm --kernel "$hello" --serial tty "${mem[@]}" --disk "path=$work/none.img"
        expect_error "--disk _disk0: cannot open '$work/none.img': No such file or directory"
        ;;
    *)
        echo "cellvm-cases.sh: unknown case '$case_name'" >&2
        exit 2
        ;;
    esac
    ;;
watchdog)
    # --watchdog (issue 20), with Cloud Hypervisor's real timing (a check every 15 s, reset
    # after more than 20 s without a ping). The payload pings every 4 s from t=0 to t=24 (t:
    # seconds since its first ping) and halts: the check at t=30 must pass (had only the first
    # ping counted, it would fire: 30 s), so pings hold the reset off. At t=31 the VM is paused
    # for 4 s: no check runs meanwhile and the timeout restarts at resume, so the reset (the
    # payload's second boot) comes 21..36 s after the resume; without that it would come at
    # t=45, 10 s after it. vm.info shows "watchdog":true; the event monitor shows the reset as
    # Cloud Hypervisor's vm rebooting/rebooted pair. Every wait is bounded.
    : "${CELLVM_REMOTE:?}"
    api=$work/api.sock
    events=$work/events.json
    now() { date +%s.%N; }
    since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
    "$RUN_REAPED" --timeout 120 --report "$report" -- "$CELLVM" --kernel "$(payload watchdog)" \
        --serial tty --console off "${mem[@]}" --watchdog --api-socket "path=$api" \
        --event-monitor "path=$events" \
        </dev/null >"$out" 2>"$err" &
    vmm=$!
    t0=$SECONDS
    wait_in "$out" 'ok ping answered = 0x0' 20 || abort "the guest's first ping was not answered"
    first=$(now)
    remote info
    [ "$rrc" -eq 0 ] || abort "vm.info failed: $rerr"
    tr -d ' \n' <<<"$rout" | grep -q '"watchdog":true' || abort "vm.info lacks \"watchdog\":true"
    echo "ok: vm.info shows \"watchdog\":true"
    wait_in "$out" 'stopped pinging' 40 || abort "the guest did not finish its pings"
    echo "ok: $(grep -c 'ok ping answered' "$out") pings answered in $(since "$first") s"
    while awk -v a="$first" -v b="$(now)" 'BEGIN { exit !(b - a < 31) }'; do sleep 0.1; done
    [ "$(grep -c 'ok watchdog boot' "$out")" -eq 1 ] ||
        abort "the VM was reset although the guest pinged"
    ! grep -q '"rebooting"' "$events" || abort "a reboot event before the watchdog fired"
    echo "ok: no reset $(since "$first") s after the first ping (the t=30 check passed)"
    remote pause
    [ "$rrc" -eq 0 ] || abort "pause failed: $rerr"
    sleep 4
    remote resume
    [ "$rrc" -eq 0 ] || abort "resume failed: $rerr"
    resumed=$(now)
    wait_in "$out" 'ok watchdog boot = 0x1' 50 || abort "no reset within 50 s of the resume"
    gap=$(since "$resumed")
    echo "ok: reset $gap s after the resume ($(since "$first") s after the first ping)"
    awk -v g="$gap" 'BEGIN { exit !(g >= 20 && g <= 40) }' ||
        abort "the reset came $gap s after the resume, not 21..36 s"
    wait_in "$events" '"rebooted"' 10 || abort "no vm rebooted event after the reset"
    grep -q '"rebooting"' "$events" || abort "no vm rebooting event after the reset"
    echo "ok: events: $(grep -o '"event": *"[a-z-]*"' "$events" | tr '\n' ' ')"
    wait "$vmm"
    rc=$?
    expect_pass watchdog
    grep -q 'watchdog triggered' "$err" || fail "no 'watchdog triggered' line on stderr"
    grep 'watchdog triggered' "$err"
    echo "ok: whole case in $((SECONDS - t0)) s"
    ;;
watchdog-restore)
    # --watchdog across a snapshot (issue 18). A (-v): the payload pings (7 pings, 4 s apart);
    # after the fifth answer A is paused, snapshotted (state.json: the watchdog armed) and
    # ended. B (cellvm -v --restore) resumes it: the last two pings are answered from the
    # restored queue position, neither is taken for a first ping (the armed state came back),
    # and after the last one the watchdog resets the VM 21..36 s after the resume (the checks
    # restart a full period from the resume: the time the snapshot sat on disk is not counted),
    # then the payload's second boot passes. A boot --pmem rides along: memory-ranges holds the
    # RAM only, state.json places the file, B's core maps it again, its content never changes.
    # Every wait is bounded.
    : "${CELLVM_REMOTE:?}"
    bimg=$work/boot-pmem.img
    head -c 2097152 /dev/urandom >"$bimg"
    bsum=$(sha256sum <"$bimg")
    now() { date +%s.%N; }
    since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
    api=$work/a.sock
    "$RUN_REAPED" --timeout 60 --report "$report" -- "$CELLVM" -v --kernel "$(payload watchdog)" \
        --serial tty --console off "${mem[@]}" --watchdog --pmem "file=$bimg,id=bp0" \
        --api-socket "path=$api" </dev/null >"$out" 2>"$err" &
    vmm=$!
    t0=$SECONDS
    wait_in "$out" 'ok ping answered = 0x4' 40 || abort "A: the guest's fifth ping was not answered"
    grep -q 'first ping' "$err" || abort "A: no 'first ping' line (-v)"
    mkdir "$work/s1"
    remote pause
    [ "$rrc" -eq 0 ] || abort "pause failed: $rerr"
    remote snapshot "file://$work/s1"
    [ "$rrc" -eq 0 ] || abort "snapshot failed: $rerr"
    wd=$(tr -d ' \n' <"$work/s1/state.json" | grep -o '"watchdog":{[^}]*}')
    echo "ok: snapshot: $wd"
    [[ $wd =~ \"present\":1 ]] && [[ $wd =~ \"armed\":1 ]] ||
        abort "state.json does not hold an armed watchdog: '$wd'"
    pm=$(tr -d ' \n' <"$work/s1/state.json" | grep -o '"pmem":\[[^]]*\]')
    [[ $pm =~ \"id\":\"bp0\" ]] && [[ $pm =~ \"size\":2097152 ]] && [[ $pm =~ \"hot\":0 ]] ||
        abort "state.json does not place bp0 as a boot pmem of 2 MiB: '$pm'"
    ranges=$(stat -c %s "$work/s1/memory-ranges")
    [ "$ranges" -eq $((128 << 20)) ] || abort "memory-ranges holds $ranges bytes, not 128 MiB"
    echo "ok: $pm; memory-ranges is the RAM only"
    remote shutdown-vmm
    [ "$rrc" -eq 0 ] || abort "vmm.shutdown failed: $rerr"
    wait "$vmm"
    rc=$?
    check_reaped
    echo "ok: A ended (exit $rc) $((SECONDS - t0)) s into the case"
    api=$work/b.sock
    out=$work/b.out
    err=$work/b.err
    "$RUN_REAPED" --timeout 70 --report "$report" -- "$CELLVM" -v --api-socket "path=$api" \
        --restore "source_url=file://$work/s1" </dev/null >"$out" 2>"$err" &
    vmm=$!
    # The API answers while the restore still runs (Created): until it says Paused.
    for ((i = 0; i < 150; i++)); do
        [ -S "$api" ] && remote info >/dev/null && grep -q '"state": *"Paused"' <<<"$rout" && break
        sleep 0.1
    done
    grep -q '"state": *"Paused"' <<<"$rout" || abort "B is not Paused after --restore: $rout $rerr"
    ctl=$(cat /proc/"$vmm"/task/*/children 2>/dev/null | awk '{print $1}')
    core=
    for p in $(cat /proc/"$ctl"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cellvm-core ] && core=$p
    done
    [ -n "$core" ] && grep -qF "$bimg" /proc/"$core"/maps || abort "B's core does not map $bimg"
    remote resume
    [ "$rrc" -eq 0 ] || abort "resume of B failed: $rerr"
    resumed=$(now)
    wait_in "$out" 'stopped pinging' 30 || abort "B: the guest did not finish its pings"
    n=$(grep -c 'ok ping answered' "$out")
    [ "$n" -eq 2 ] && grep -q 'ok ping answered = 0x6' "$out" ||
        abort "B: $n pings answered, not the 2 left (0x5, 0x6)"
    ! grep -q 'watchdog boot' "$out" || abort "B: the guest booted again (not a restore)"
    ! grep -q 'first ping' "$err" || abort "B: a ping was taken for a first one (armed state lost)"
    grep 'restored armed' "$err" || abort "B: no 'restored armed' line (-v)"
    echo "ok: B answered pings 0x5, 0x6 within $(since "$resumed") s of its resume, no reset"
    wait_in "$out" 'ok watchdog boot = 0x1' 50 || abort "B: no reset within 50 s of the pings"
    gap=$(since "$resumed")
    echo "ok: B reset $gap s after its resume"
    awk -v g="$gap" 'BEGIN { exit !(g >= 20 && g <= 40) }' ||
        abort "B: the reset came $gap s after the resume, not 21..36 s"
    wait "$vmm"
    rc=$?
    expect_pass watchdog
    grep 'watchdog triggered' "$err" || fail "B: no 'watchdog triggered' line on stderr"
    [ "$(sha256sum <"$bimg")" = "$bsum" ] || fail "the boot pmem file changed"
    echo "ok: the boot pmem file unchanged"
    echo "ok: whole case in $((SECONDS - t0)) s"
    ;;
hotplug)
    # PCI hotplug (issue 16) through the API on a running guest: the hotplug payload watches
    # the GED and \_SB_.PHPR registers while this script hot-adds a raw disk and asks for its
    # removal; the guest ejects it, the controller ends its cellvm-blockd and says
    # device-removed; then the power button ends the run. Every wait is bounded.
    : "${CELLVM_REMOTE:?}"
    api=$work/api.sock
    events=$work/events.json
    img=$work/hot.img
    truncate -s 8M "$img"
    start_hotplug_guest
    remote add-disk "path=$img,image_type=raw,id=hot0"
    [ "$rrc" -eq 0 ] || abort "add-disk failed ($rrc): $rerr"
    # 200 with Cloud Hypervisor's PciDeviceInfo (a 204 would carry no body).
    echo "add-disk: $rout"
    body=$(tr -d ' \n' <<<"$rout")
    [[ $body =~ ^\{\"id\":\"hot0\",\"bdf\":\"0000:00:([0-9a-f]{2})\.0\"\}$ ]] ||
        [[ $body =~ ^\{\"bdf\":\"0000:00:([0-9a-f]{2})\.0\",\"id\":\"hot0\"\}$ ]] ||
        abort "add-disk body is not {\"id\":\"hot0\",\"bdf\":\"0000:00:XX.0\"}: $rout"
    bdf_slot=$((16#${BASH_REMATCH[1]}))
    blockd=
    for p in $(cat /proc/"$ctl"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cellvm-blockd ] && blockd=$p
    done
    [ -n "$blockd" ] || abort "no cellvm-blockd after add-disk"
    wait_in "$out" 'added slot = ' 20 || abort "the guest did not see the new device"
    guest_slot=$(grep -o 'added slot = 0x[0-9a-f]*' "$out" | head -1 | awk '{print $4}')
    [ "$((guest_slot))" -eq "$bdf_slot" ] ||
        abort "the guest found slot $guest_slot, the API answered bdf slot $bdf_slot"
    echo "ok: 200 bdf slot $bdf_slot; the guest saw 1af4:1042 there (blockd $blockd)"
    wait_in "$events" '"device-added"' 10 || abort "no device-added event"
    remote remove-device hot0
    [ "$rrc" -eq 0 ] && [ -z "$rout" ] || abort "remove-device: exit $rrc, '$rout' $rerr"
    echo "ok: remove-device answered 204 (no body)"
    wait_in "$out" 'gone slot = ' 20 || abort "the guest did not see its slot empty after B0EJ"
    wait_in "$events" '"device-removed"' 10 || abort "no device-removed event"
    for ((i = 0; i < 200; i++)); do
        [ -d /proc/"$blockd" ] || break
        sleep 0.05
    done
    [ ! -d /proc/"$blockd" ] || abort "cellvm-blockd $blockd still runs after device-removed"
    echo "ok: device-removed; cellvm-blockd $blockd exited"
    remote info
    [ "$rrc" -eq 0 ] || abort "vm.info failed: $rerr"
    ! grep -q hot0 <<<"$rout" || abort "vm.info still lists hot0: $rout"
    grep -q 'ejected slot 30 of segment 0, which is empty; ignored' "$err" ||
        abort "the B0EJ of the empty slot was not reported as ignored"
    echo "ok: the B0EJ of empty slot 30 ignored; the VM ran on"
    remote power-button
    [ "$rrc" -eq 0 ] || abort "power-button failed: $rerr"
    wait "$vmm"
    rc=$?
    expect_pass hotplug
    echo "ok: whole case in $((SECONDS - t0)) s"
    ;;
hotplug-pmem)
    # vm.add-pmem (issue 20) on a running guest, the hotplug payload watching the registers:
    # bad input first (a missing file, a file smaller than size=, a PCI segment the VM lacks),
    # each a 400 while the VM runs and nothing of it left in the core; then a 4 MiB file is
    # added (200 with PciDeviceInfo), the guest finds 1af4:105b in the slot the bdf names, the
    # core maps the file, a duplicate id is refused. Issue 18: the paused VM is snapshotted (the
    # file's content stays in the file: memory-ranges holds the 128 MiB of RAM only, state.json
    # places the hot-added region), cellvm A ends; cellvm B (API only) refuses copies whose
    # config.json names a missing file or one smaller than the snapshot's, restores the
    # snapshot (B's core maps the file again), resumes; the guest goes on where it was and, on
    # B, vm.remove-device: the guest ejects, the core's mapping of the file is gone,
    # device-removed, vm.info no longer lists it; the file's content never changed.
    : "${CELLVM_REMOTE:?}"
    api=$work/api.sock
    events=$work/events.json
    img=$work/pmem.img
    small=$work/small.img
    head -c 4194304 /dev/urandom >"$img"
    truncate -s 2M "$small"
    start_hotplug_guest
    core=
    for p in $(cat /proc/"$ctl"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cellvm-core ] && core=$p
    done
    [ -n "$core" ] || abort "no cellvm-core under the controller"
    # core_maps FILE: how many of the core's mappings are FILE.
    core_maps() { grep -c -F "$1" /proc/"$core"/maps; }
    remote add-pmem "file=$work/nonexistent.img,id=pm0"
    [ "$rrc" -ne 0 ] && grep -q "returned 400: .*cannot open '$work/nonexistent.img'" <<<"$rerr" ||
        abort "add-pmem of a missing file: exit $rrc, '$rout' $rerr"
    echo "ok: missing file refused: $rerr"
    remote add-pmem "file=$small,size=4M,id=pm0"
    [ "$rrc" -ne 0 ] && grep -q "returned 400: .*smaller than size=4194304" <<<"$rerr" ||
        abort "add-pmem of a file smaller than size: exit $rrc, '$rout' $rerr"
    echo "ok: file smaller than size refused: $rerr"
    remote add-pmem "file=$img,id=pm0,pci_segment=1"
    [ "$rrc" -ne 0 ] && grep -q "returned 400: .*pci_segment" <<<"$rerr" ||
        abort "add-pmem on PCI segment 1 of 1: exit $rrc, '$rout' $rerr"
    echo "ok: PCI segment out of range refused: $rerr"
    [ "$(core_maps "$img")" -eq 0 ] && [ "$(core_maps "$small")" -eq 0 ] ||
        abort "the core maps a refused file"
    remote info
    ! grep -q pm0 <<<"$rout" || abort "vm.info lists a refused pmem: $rout"
    grep -q 'added slot = ' "$out" && abort "the guest was told of a refused device"
    remote add-pmem "file=$img,id=pm0"
    [ "$rrc" -eq 0 ] || abort "add-pmem failed ($rrc): $rerr"
    echo "add-pmem: $rout"
    body=$(tr -d ' \n' <<<"$rout")
    [[ $body =~ ^\{\"id\":\"pm0\",\"bdf\":\"0000:00:([0-9a-f]{2})\.0\"\}$ ]] ||
        abort "add-pmem body is not {\"id\":\"pm0\",\"bdf\":\"0000:00:XX.0\"}: $rout"
    bdf_slot=$((16#${BASH_REMATCH[1]}))
    wait_in "$out" 'added pmem slot = ' 20 || abort "the guest did not see a virtio-pmem function"
    guest_slot=$(grep -o 'added pmem slot = 0x[0-9a-f]*' "$out" | head -1 | awk '{print $5}')
    [ "$((guest_slot))" -eq "$bdf_slot" ] ||
        abort "the guest found slot $guest_slot, the API answered bdf slot $bdf_slot"
    [ "$(core_maps "$img")" -ge 1 ] || abort "the core does not map $img after add-pmem"
    grep -F "$img" /proc/"$core"/maps | head -1
    echo "ok: 200 bdf slot $bdf_slot; the guest saw 1af4:105b there; the core maps the file"
    wait_in "$events" '"device-added"' 10 || abort "no device-added event"
    remote info
    grep -q '"pm0"' <<<"$rout" || abort "vm.info does not list pm0: $rout"
    remote add-pmem "file=$img,id=pm0"
    [ "$rrc" -ne 0 ] && grep -q "returned 400: .*pm0" <<<"$rerr" || abort "a duplicate id: exit $rrc, $rerr"
    echo "ok: duplicate id refused: $rerr"
    # vm.snapshot of the paused VM with its hot-added pmem (issue 18).
    sum=$(sha256sum <"$img")
    mkdir "$work/snap"
    remote pause
    [ "$rrc" -eq 0 ] || abort "pause failed: $rerr"
    remote snapshot "file://$work/snap"
    [ "$rrc" -eq 0 ] || abort "snapshot with a pmem device: exit $rrc, '$rout' $rerr"
    echo "ok: snapshot: $(ls "$work/snap" | tr '\n' ' ')"
    ranges=$(stat -c %s "$work/snap/memory-ranges")
    [ "$ranges" -eq $((128 << 20)) ] ||
        abort "memory-ranges holds $ranges bytes, not the 128 MiB of RAM (the pmem file in it?)"
    pm=$(tr -d ' \n' <"$work/snap/state.json" | grep -o '"pmem":\[[^]]*\]')
    [[ $pm =~ \"id\":\"pm0\" ]] && [[ $pm =~ \"size\":4194304 ]] && [[ $pm =~ \"hot\":1 ]] ||
        abort "state.json does not place pm0 as a hot-added 4 MiB region: '$pm'"
    grep -qF "pmem.img" "$work/snap/config.json" ||
        abort "config.json does not name the hot-added pmem file"
    echo "ok: memory-ranges is the RAM only ($ranges bytes); state.json: $pm"
    remote shutdown-vmm
    [ "$rrc" -eq 0 ] || abort "vmm.shutdown failed: $rerr"
    wait "$vmm"
    rc=$?
    check_reaped
    echo "ok: cellvm A ended (exit $rc)"
    [ "$(sha256sum <"$img")" = "$sum" ] || fail "the pmem file changed"
    # Cellvm B, API only: refused restores first, each leaving B serving.
    for bad in gone small; do
        mkdir "$work/$bad"
        cp "$work/snap/state.json" "$work/$bad/"
        ln "$work/snap/memory-ranges" "$work/$bad/memory-ranges" # the RAM: not copied
        # gone.img does not exist; small.img is $small (2 MiB, the snapshot's pmem is 4 MiB)
        sed "s|pmem\.img|$bad.img|" "$work/snap/config.json" >"$work/$bad/config.json"
    done
    api=$work/b.sock
    out=$work/b.out
    err=$work/b.err
    "$RUN_REAPED" --timeout 50 --report "$report" -- "$CELLVM" --api-socket "path=$api" \
        --event-monitor "path=$events" </dev/null >"$out" 2>"$err" &
    vmm=$!
    for ((i = 0; i < 200; i++)); do
        [ -S "$api" ] && break
        sleep 0.05
    done
    remote restore "source_url=file://$work/gone"
    [ "$rrc" -ne 0 ] && grep -q "gone.img" <<<"$rerr" ||
        abort "restore with the pmem file missing: exit $rrc, '$rout' $rerr"
    echo "ok: missing pmem file refused: $rerr"
    remote restore "source_url=file://$work/small"
    [ "$rrc" -ne 0 ] && grep -q "pm0" <<<"$rerr" ||
        abort "restore with a pmem file smaller than the snapshot's: exit $rrc, '$rout' $rerr"
    echo "ok: smaller pmem file refused: $rerr"
    remote restore "source_url=file://$work/snap"
    [ "$rrc" -eq 0 ] || abort "vm.restore failed: $rerr"
    ctl=$(cat /proc/"$vmm"/task/*/children 2>/dev/null | awk '{print $1}')
    core=
    for p in $(cat /proc/"$ctl"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cellvm-core ] && core=$p
    done
    [ -n "$core" ] || abort "no cellvm-core under cellvm B"
    [ "$(core_maps "$img")" -ge 1 ] || abort "B's core does not map $img after vm.restore"
    remote resume
    [ "$rrc" -eq 0 ] || abort "resume failed: $rerr"
    remote info
    grep -q '"pm0"' <<<"$rout" || abort "B's vm.info does not list pm0: $rout"
    ! grep -q 'ready hotplug' "$out" || abort "the guest booted again on B (not a restore)"
    echo "ok: restored on B, the core maps the file, the guest runs on"
    remote remove-device pm0
    [ "$rrc" -eq 0 ] && [ -z "$rout" ] || abort "remove-device: exit $rrc, '$rout' $rerr"
    wait_in "$out" 'gone slot = ' 20 || abort "the guest did not see its slot empty after B0EJ"
    wait_in "$events" '"device-removed"' 10 || abort "no device-removed event"
    for ((i = 0; i < 100; i++)); do
        [ "$(core_maps "$img")" -eq 0 ] && break
        sleep 0.05
    done
    [ "$(core_maps "$img")" -eq 0 ] || abort "the core still maps $img after the eject"
    echo "ok: ejected, device-removed, the core no longer maps the file"
    remote info
    [ "$rrc" -eq 0 ] || abort "vm.info failed: $rerr"
    ! grep -q pm0 <<<"$rout" || abort "vm.info still lists pm0: $rout"
    remote power-button
    [ "$rrc" -eq 0 ] || abort "power-button failed: $rerr"
    wait "$vmm"
    rc=$?
    # B's stderr holds the refused restores' errors: expect_pass's other checks only.
    check_reaped
    [ "$rc" -eq 0 ] || fail "cellvm B: expected exit status 0, got $rc"
    grep -q "CELLVM-PAYLOAD: PASS hotplug" "$out" || fail "no PASS hotplug from the restored guest"
    ! grep -q FAIL "$out" || fail "the restored guest reported a failure"
    [ "$(sha256sum <"$img")" = "$sum" ] || fail "the pmem file changed"
    echo "ok: exit 0, PASS hotplug on B; the pmem file unchanged"
    echo "ok: whole case in $((SECONDS - t0)) s"
    ;;
resize)
    # ACPI CPU and memory hotplug (issue 17) through vm.resize on a running guest: the resize
    # payload watches the GED and the \_SB_.PRES / \_SB_.MHPC registers and does what the
    # DSDT's CSCN, _EJ0, MSCN and _CRS would; it starts the added vCPU, and writes and reads
    # the added RAM. vCPUs 1 -> 2 -> 1 (429 while the eject is awaited; the power button is the
    # guest's go to eject), then RAM 128M -> 256M. Every wait is bounded.
    : "${CELLVM_REMOTE:?}"
    api=$work/api.sock
    # refused STATUS ARG...: vm.resize ARG... is answered STATUS.
    refused() {
        local st=$1
        shift
        remote resize "$@"
        [ "$rrc" -ne 0 ] && grep -q "returned $st" <<<"$rerr" ||
            abort "resize $*: expected $st, got exit $rrc: $rout $rerr"
        echo "ok: $st: $rerr"
    }
    # accepted ARG...: vm.resize ARG... is answered 204.
    accepted() {
        remote resize "$@"
        [ "$rrc" -eq 0 ] && [ -z "$rout" ] || abort "resize $*: exit $rrc, '$rout' $rerr"
    }
    info_has() {
        remote info
        [ "$rrc" -eq 0 ] || abort "vm.info failed: $rerr"
        tr -d ' \n' <<<"$rout" | grep -qF -- "$1" || abort "vm.info lacks $1"
        echo "ok: vm.info has $1"
    }
    # tasks: the number of cellvm-core's threads (each running vCPU has one).
    tasks() {
        local t=(/proc/"$core"/task/*)
        echo "${#t[@]}"
    }
    "$RUN_REAPED" --timeout 50 --report "$report" -- "$CELLVM" --kernel "$(payload resize)" \
        --serial tty --console off --cpus boot=1,max=3 --memory size=128M,hotplug_size=512M \
        --api-socket "path=$api" -v </dev/null >"$out" 2>"$err" &
    vmm=$!
    t0=$SECONDS
    wait_in "$out" 'ready resize' 20 || abort "the guest did not come up"
    ctl=$(cat /proc/"$vmm"/task/*/children 2>/dev/null | awk '{print $1}')
    core=
    for p in $(cat /proc/"$ctl"/task/*/children 2>/dev/null); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = cellvm-core ] && core=$p
    done
    [ -n "$core" ] || abort "no cellvm-core under cellvm"
    n0=$(tasks)
    refused 500 --cpus 4
    accepted --cpus 2
    wait_in "$out" 'added cpu = 0x1' 20 || abort "the guest did not find and start vCPU 1"
    n1=$(tasks)
    [ "$n1" -eq $((n0 + 1)) ] || abort "cellvm-core has $n1 threads after the add, had $n0"
    info_has '"boot_vcpus":2'
    echo "ok: vCPU 1 added, seen inserting and started by the guest; core threads $n0 -> $n1"
    accepted --cpus 1
    wait_in "$out" 'remove seen cpu = 0x1' 20 || abort "the guest did not see vCPU 1 removing"
    refused 429 --cpus 2
    info_has '"boot_vcpus":1'
    [ "$(tasks)" -eq "$n1" ] || abort "the vCPU thread ended before the guest's eject"
    remote power-button
    [ "$rrc" -eq 0 ] || abort "power-button failed: $rerr"
    wait_in "$out" 'ejected cpu = 0x1' 20 || abort "the guest did not eject vCPU 1"
    for ((i = 0; i < 50; i++)); do
        remote resize --cpus 1
        [ "$rrc" -eq 0 ] && break
        sleep 0.2
    done
    [ "$rrc" -eq 0 ] || abort "vm.resize still refused after the eject: $rerr"
    wait_in "$err" 'vCPUs 1-1 ejected by the guest' 10 || abort "the core did not take the eject"
    n2=$(tasks)
    [ "$n2" -eq "$n0" ] || abort "cellvm-core has $n2 threads after the eject, had $n0 before"
    echo "ok: vCPU 1 ejected: resize accepted again, core threads $n1 -> $n2"
    refused 500 --memory 200M
    refused 500 --memory 1G
    accepted --memory 256M
    wait_in "$out" 'memory slot = ' 20 || abort "the guest did not see the memory slot"
    line=$(grep -o 'memory slot = .*' "$out" | head -1 | tr -d '\r')
    [ "$line" = "memory slot = 0x0 base = 0x100000000 length = 0x8000000" ] ||
        abort "the guest's slot is '$line', not slot 0 at 4 GiB, 128 MiB long"
    echo "ok: guest: $line"
    wait_in "$out" 'memory backed' 30 || abort "the guest could not use the new RAM"
    wait_in "$out" 'memory eject ignored' 10 || abort "the memory eject was not ignored"
    wait_in "$err" 'ejected memory slots 0x1' 10 || abort "the core did not report the MEJ0"
    info_has '"size":268435456'
    ! grep -q 'BAD' "$out" || abort "the guest saw a bad register value"
    echo "ok: 128 MiB at 4 GiB written and read by the guest; its MEJ0 ignored"
    remote power-button
    [ "$rrc" -eq 0 ] || abort "power-button failed: $rerr"
    wait "$vmm"
    rc=$?
    expect_pass resize
    echo "ok: whole case in $((SECONDS - t0)) s"
    ;;
topo-*|numa-*|zone-*|thp-*|affinity-*)
    # SMP topology, NUMA and memory zones (issue 4): helpers and cases in one block.
    # children PID: the direct children of PID.
    children() {
        cat /proc/"$1"/task/*/children 2>/dev/null
    }
    # start_idle ARGS...: cellvm on the idle payload in the background; sets vmm (run-reaped),
    # ctl (cellvm) and core (cellvm-core) once the guest printed "ready idle".
    start_idle() {
        local i
        "$RUN_REAPED" --timeout 30 --report "$report" -- "$CELLVM" --kernel "$(payload idle)" \
            --serial tty --console off "$@" </dev/null >"$out" 2>"$err" &
        vmm=$!
        for ((i = 0; i < 200; i++)); do
            grep -q 'ready idle' "$out" 2>/dev/null && break
            sleep 0.05
        done
        ctl=$(children "$vmm" | awk '{print $1}')
        core=$(children "${ctl:-0}" | awk '{print $1}')
        [ -n "$core" ] && grep -q 'ready idle' "$out" ||
            { kill "$vmm" 2>/dev/null; wait "$vmm"; fail "the idle guest did not come up"; }
    }
    # stop_idle: SIGTERM to cellvm; it must exit and leave nothing running.
    stop_idle() {
        kill -TERM "$ctl"
        wait "$vmm"
        rc=$?
        check_reaped
    }
    # ram_flags: VmFlags of the core's guest-RAM mappings, one line each.
    ram_flags() {
        awk '/^[0-9a-f]+-[0-9a-f]+ / { ram = /cellvm-guest-ram|cellvm-zone/ } ram && /^VmFlags:/' \
            /proc/"$core"/smaps
    }
    topo_run() {
        local cpus=$1 topo=$2 boot=$3 max=$4
        shift 4
        cellvm --kernel "$(payload topo)" --serial tty "${mem[@]}" --cpus "$cpus" \
            --cmdline "topo=$topo boot=$boot max=$max $*"
        expect_pass topo
    }
    two_zones=(--memory size=0 --memory-zone id=m0,size=64M id=m1,size=64M)
    case $case_name in
    topo-smt)
        topo_run boot=4,max=8,topology=2:2:1:2 2:2:1:2 4 8
        ;;
    topo-dies)
        topo_run boot=3,max=6,topology=1:3:2:1 1:3:2:1 3 6
        ;;
    topo-default)
        topo_run boot=3 1:3:1:1 3 3
        ;;
    numa-two-nodes)
        # Two zones on two nodes, vCPUs alternating: SRAT with 4 processors, SLIT of 2.
        mem=("${two_zones[@]}" --numa guest_numa_id=0,cpus=[0,2],memory_zones=[m0],distances=[1@20]
             guest_numa_id=1,cpus=[1,3],memory_zones=[m1],distances=[0@20])
        topo_run boot=2,max=4,topology=1:2:1:2 1:2:1:2 2 4 numa=2
        ;;
    zone-files)
        # A directory (O_TMPFILE inside), a shared file, a private copy of a file, prefault.
        truncate -s 64M "$work/shared.ram"
        printf 'keep' >"$work/private.ram"
        truncate -s 64M "$work/private.ram"
        cellvm --kernel "$hello" --serial tty --memory size=0 --memory-zone \
            "id=d,size=64M,file=$work" "id=s,size=64M,file=$work/shared.ram,shared=on" \
            "id=p,size=64M,file=$work/private.ram,prefault=on"
        expect_pass hello
        [ "$(head -c 4 "$work/private.ram")" = keep ] || fail "a shared=off file was written"
        ;;
    zone-file-too-small)
        truncate -s 1M "$work/small.ram"
        cellvm --kernel "$hello" --serial tty --memory size=0 \
            --memory-zone "id=s,size=64M,file=$work/small.ram,shared=on"
        expect_error "--memory-zone: zone 's': '$work/small.ram' is not a regular file of at least 67108864 bytes"
        ;;
    thp-on | thp-off)
        # DESIGN.md: thp=on is MADV_HUGEPAGE on the shared mapping, seen as "hg" in smaps.
        start_idle --memory "size=64M,thp=${case_name#thp-}"
        flags=$(ram_flags)
        stop_idle
        [ -n "$flags" ] || fail "no guest-RAM mapping in /proc/$core/smaps"
        echo "guest RAM: $flags"
        if [ "$case_name" = thp-on ]; then
            grep -qw hg <<<"$flags" || fail "thp=on: no hg flag on the guest RAM"
        else
            ! grep -qw hg <<<"$flags" || fail "thp=off: hg flag on the guest RAM"
        fi
        echo "ok: VmFlags as asked"
        ;;
    thp-zones)
        start_idle "${two_zones[@]}"
        flags=$(ram_flags)
        stop_idle
        [ "$(grep -cw hg <<<"$flags")" -eq 2 ] || fail "expected hg on both zones: $flags"
        echo "ok: both zones advised"
        ;;
    affinity-pinned)
        # Every vCPU thread of the core (they are the only ones pinned) on host CPU 0.
        start_idle "${mem[@]}" --cpus boot=2,affinity=[0@[0],1@[0]]
        pinned=$(grep -h '^Cpus_allowed_list:' /proc/"$core"/task/*/status | awk '$2 == "0"' | wc -l)
        stop_idle
        [ "$pinned" -ge 2 ] || fail "expected 2 threads pinned to CPU 0, saw $pinned"
        echo "ok: $pinned threads on CPU 0"
        ;;
    affinity-missing-host-cpu)
        cellvm --kernel "$hello" --serial tty "${mem[@]}" --cpus boot=1,affinity=[0@[4095]]
        expect_error "--cpus: invalid value for 'affinity': host CPU 4095 does not exist"
        ;;
    numa-cpu-on-two-nodes)
        cellvm --kernel "$hello" --serial tty --cpus boot=2 "${two_zones[@]}" \
            --numa guest_numa_id=0,cpus=[0-1],memory_zones=[m0] guest_numa_id=1,cpus=[1],memory_zones=[m1]
        expect_error "--numa: invalid value for 'cpus': vCPU 1 is on nodes 0 and 1"
        ;;
    numa-cpu-on-no-node)
        cellvm --kernel "$hello" --serial tty --cpus boot=2 "${two_zones[@]}" \
            --numa guest_numa_id=0,cpus=[0],memory_zones=[m0,m1]
        expect_error "--numa: vCPU 1 is on no node"
        ;;
    numa-zone-unreferenced)
        cellvm --kernel "$hello" --serial tty "${two_zones[@]}" \
            --numa guest_numa_id=0,cpus=[0],memory_zones=[m0]
        expect_error "--numa: memory zone 'm1' is on no node"
        ;;
    numa-zone-twice)
        cellvm --kernel "$hello" --serial tty --cpus boot=2 "${two_zones[@]}" \
            --numa guest_numa_id=0,cpus=[0],memory_zones=[m0,m1] guest_numa_id=1,cpus=[1],memory_zones=[m1]
        expect_error "--numa: invalid value for 'memory_zones': 'm1' (zone already on a node)"
        ;;
    numa-distance-missing-node)
        cellvm --kernel "$hello" --serial tty "${two_zones[@]}" \
            --numa guest_numa_id=0,cpus=[0],memory_zones=[m0,m1],distances=[3@20]
        expect_error "--numa: invalid value for 'distances': node 0 has a distance to node 3, which does not exist"
        ;;
    topo-bad-product)
        cellvm --kernel "$hello" --serial tty "${mem[@]}" --cpus boot=2,max=4,topology=1:2:1:1
        expect_error "--cpus: invalid value for 'topology': '1:2:1:1' (the product is 2, max is 4)"
        ;;
    zone-host-node-missing)
        cellvm --kernel "$hello" --serial tty --memory size=0 --memory-zone id=m0,size=64M,host_numa_node=1000
        expect_error "--memory-zone: invalid value for 'host_numa_node': '1000' (no such host NUMA node)"
        ;;
    zone-host-node-0)
        # mbind to node 0 and prefault: the zone's pages come from node 0 (N0= in numa_maps).
        start_idle --memory size=0 --memory-zone id=m0,size=64M,host_numa_node=0,prefault=on
        maps=$(grep -E 'cellvm-(guest-ram|zone)' /proc/"$core"/numa_maps)
        stop_idle
        echo "numa_maps: $maps"
        grep -q 'bind:0' <<<"$maps" || fail "zone not bound to node 0"
        grep -q 'N0=16384' <<<"$maps" || fail "zone not prefaulted on node 0"
        ;;
    *)
        echo "cellvm-cases.sh: unknown case '$case_name'" >&2
        exit 2
        ;;
    esac
    ;;
*)
    echo "cellvm-cases.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
exit 0
