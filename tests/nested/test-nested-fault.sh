# shellcheck shell=dash
# test-nested-fault.sh LIB: l2_nested_fault and l2_sentinel from the L1 image's lib.sh (LIB), on
# this host with dash (L1 runs busybox sh): the one hang they may call a fault below cellvm, and
# the look-alikes they must not.  Real processes stand in for the VMM: a script named cellvm (its
# command line carries --memory) whose child is named cellvm-core (idle, or spinning for the
# sentinel); the trace is a kvm_exit trace as tracefs prints it, naming that child's pid.
set -u
lib=$1
# shellcheck source=l1-lib.sh
. "$lib"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-nested-fault.XXXXXX")
L2_TRACE=$tmp/trace
# (scripts, not copies of sleep: busybox's sleep would not answer to the name cellvm-core; a
# killed core leaves at most one second of its sleep behind)
printf '#!/bin/sh\nwhile :; do sleep 1; done\n' >"$tmp/cellvm-core"
chmod +x "$tmp/cellvm-core"
# shellcheck disable=SC2016 # $CORE and $! are the stand-in's
printf '#!/bin/sh\n"${CORE:-%s/cellvm-core}" &\necho $! >"%s/core.pid"\nwait\n' "$tmp" "$tmp" >"$tmp/cellvm"
chmod +x "$tmp/cellvm"
# a core whose vCPU thread spins, for the sentinel
mkdir "$tmp/busy"
printf '#!/bin/sh\nwhile :; do :; done\n' >"$tmp/busy/cellvm-core"
chmod +x "$tmp/busy/cellvm-core"
vmm=
core=
fails=0

# vmm_start ARGS...: a new stand-in VMM with ARGS on its command line; its core's pid in $core.
vmm_start() {
	local i=0
	[ -z "$vmm" ] || vmm_stop
	rm -f "$tmp/core.pid"
	"$tmp/cellvm" "$@" &
	vmm=$!
	while [ ! -s "$tmp/core.pid" ]; do
		i=$((i + 1))
		[ "$i" -le 200 ] || { echo "FAIL: the stand-in VMM did not start its core in 10 s"; exit 1; }
		sleep 0.05
	done
	core=$(cat "$tmp/core.pid")
}
vmm_stop() {
	kill "$core" 2>/dev/null
	kill "$vmm" 2>/dev/null
	wait "$vmm" 2>/dev/null
	vmm=
}
sentinel=
writer=
victim=
sentinel_stop() {
	for p in $sentinel $writer $victim; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	sentinel='' writer='' victim=''
}
trap 'sentinel_stop; vmm_stop; rm -rf "$tmp"' EXIT

# exits N REASON INFO1 INFO2 [TASK]: N kvm_exit lines of one vCPU thread.
exits() {
	local i=0
	while [ "$i" -lt "$1" ]; do
		printf '  %s [001] .....   269.%06d: kvm_exit: vcpu 1 reason %s rip 0xffffffffc03a4dcc info1 %s info2 %s intr_info 0x80000b0e error_code 0x00000010\n' \
			"${5:-cellvm-core-$core}" "$i" "$2" "$3" "$4"
		i=$((i + 1))
	done
}
GPT=0x000000020000000e
FAR=0x0000000100874ff8

# expect YES|NO WHAT: l2_nested_fault on $L2_TRACE finds the fault (YES) or not (NO).
expect() {
	local out got=NO
	out=$(l2_nested_fault) && got=YES
	if [ "$got" = "$1" ]; then
		echo "ok: $2${out:+: $out}"
	else
		echo "FAIL: $2: expected $1, got $got${out:+: $out}"
		fails=$((fails + 1))
	fi
}

vmm_start --kernel vmlinux --memory size=512M --cpus boot=2
exits 12 npf $GPT $FAR >"$L2_TRACE"
expect YES "one walk fault beyond 512M, 12 times"
out=$(l2_nested_fault)
case "$out" in
*"NESTED-FAULT: cellvm pid $vmm, thread $core:"*"L2 GPA $FAR, beyond its 512 MiB"*) echo "ok: the line names the VMM, the thread, the address and the RAM" ;;
*) echo "FAIL: the line: $out"; fails=$((fails + 1)) ;;
esac
exits 9 npf $GPT $FAR >"$L2_TRACE"
expect NO "9 times only"
{ exits 11 npf $GPT $FAR; exits 1 npf $GPT 0x0000000100875ff8; } >"$L2_TRACE"
expect NO "two addresses"
{ exits 12 npf $GPT $FAR; exits 1 io $GPT $FAR; } >"$L2_TRACE"
expect NO "another exit reason too"
{ exits 12 npf $GPT $FAR; echo "  cellvm-core-$core [001] .....   270.000001: kvm_userspace_exit: reason KVM_EXIT_IO (2)"; } >"$L2_TRACE"
expect NO "an exit reached the VMM"
exits 12 npf 0x000000010000000e $FAR >"$L2_TRACE"
expect NO "a fault on the final address, not in a walk (bit 32, not 33)"
exits 12 npf $GPT 0x0000000010874ff8 >"$L2_TRACE"
expect NO "an address inside the RAM"
exits 12 npf $GPT $FAR "qemu-system-x86-$core" >"$L2_TRACE"
expect NO "a thread that is not cellvm-core"
: >"$L2_TRACE"
expect NO "an empty trace"

vmm_start --memory size=512M,hotplug_size=1G
exits 12 npf $GPT $FAR >"$L2_TRACE"
expect NO "hotplug memory: the layout is not one range"
vmm_start --memory size=256M --memory-zone id=z0,size=256M
expect NO "memory zones"
vmm_start --memory=size=8G
expect NO "RAM above 3 GiB: the layout has a hole"
vmm_start --memory size=4294967296
exits 12 npf $GPT 0x0000000200000ff8 >"$L2_TRACE"
expect NO "a size in bytes over 3 GiB"
vmm_start --memory size=1G,shared=on
exits 12 npf $GPT $FAR >"$L2_TRACE"
expect YES "size=1G with another option"
vmm_start --cpus boot=1
expect NO "no --memory"

# The sentinel (l2_sentinel, a tick of 1 s), on a tracefs of plain files whose instance's trace a
# writer keeps filled; a stand-in test process (a sleep) in $L1_RUN/l1-test.pid.
# sentinel_run KILL|LIVE WHAT REASON: with a busy or idle core started, the sentinel kills the
# VMM and the test within 30 s and says so (KILL), or leaves both alive for 6 s (LIVE).  A thread
# is busy from 20 % of a tick here (half in L1): this test runs beside others on a loaded host.
# shellcheck disable=SC2034 # read by lib.sh
L2_TRACEFS=$tmp/tracefs L1_RUN=$tmp/run L2_BUSY_PCT=20
inst=$L2_TRACEFS/instances/cellvm-sentinel
mkdir -p "$inst/events/kvm/kvm_exit" "$inst/events/kvm/kvm_userspace_exit" "$L2_TRACEFS/events" "$L1_RUN"
: >"$inst/events/kvm/kvm_exit/enable"
: >"$inst/events/kvm/kvm_userspace_exit/enable"
sentinel_run() {
	local i=0 n want=$1 what=$2 reason=$3
	rm -f "$L1_RUN/l1-sentinel" "$tmp/sentinel.out"
	sleep 600 &
	victim=$!
	echo "$victim" >"$L1_RUN/l1-test.pid"
	(while :; do exits 12 "$reason" $GPT $FAR >"$inst/trace"; sleep 0.2; done) &
	writer=$!
	(l2_sentinel 1 >"$tmp/sentinel.out" 2>&1) &
	sentinel=$!
	n=$([ "$want" = KILL ] && echo 300 || echo 60)
	while [ "$i" -lt "$n" ] && kill -0 "$victim" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$want" = KILL ] && ! kill -0 "$victim" 2>/dev/null && ! kill -0 "$vmm" 2>/dev/null &&
		[ -e "$L1_RUN/l1-sentinel" ] && grep -q "^lib: NESTED-FAULT: cellvm pid $vmm, thread $core:" "$tmp/sentinel.out" &&
		grep -q "^lib: sentinel: the same fault again 1 s later: cellvm pid $vmm and the test killed" "$tmp/sentinel.out"; then
		echo "ok: sentinel: $what: the VMM and the test killed after $((i / 10)) s"
	elif [ "$want" = LIVE ] && kill -0 "$victim" 2>/dev/null && kill -0 "$vmm" 2>/dev/null &&
		[ ! -e "$L1_RUN/l1-sentinel" ]; then
		echo "ok: sentinel: $what: nothing killed in 6 s"
	else
		echo "FAIL: sentinel: $what: expected $want; it said: $(cat "$tmp/sentinel.out")"
		fails=$((fails + 1))
	fi
	sentinel_stop
}
CORE=$tmp/busy/cellvm-core vmm_start --memory size=512M
sentinel_run KILL "a spinning vCPU thread, stuck on the fault" npf
CORE=$tmp/busy/cellvm-core vmm_start --memory size=512M
sentinel_run LIVE "a spinning vCPU thread with other exits" io
vmm_start --memory size=512M
sentinel_run LIVE "an idle vCPU thread (not traced)" npf
vmm_stop
printf '1 100\n2 100\n3 100\n' >"$tmp/t0"
printf '1 150\n2 149\n4 900\n' >"$tmp/t1"
if [ "$(l2_busy_threads "$tmp/t0" "$tmp/t1" 50)" = 1 ]; then
	echo "ok: busy threads: 50 ticks or more, in both"
else
	echo "FAIL: l2_busy_threads: $(l2_busy_threads "$tmp/t0" "$tmp/t1" 50)"
	fails=$((fails + 1))
fi

# l2_verdict on a guest that stopped after its boot check: a reset under QEMU (status 0, no
# panic) is named L2-RESET, which run-nested.sh repeats; nothing else is.
# verdict_case YES|NO WHAT KIND RC [LINE]: the verdict on such a log with LINE added.
verdict_case() {
	local got=NO
	printf 'CELLVM-AGENT: START\nCELLVM-AGENT: PASS boot\n%s\n' "${5:-}" >"$tmp/l2.log"
	l2_verdict "$tmp/l2.log" boot,rng "$4" 180 "$3" >"$tmp/verdict.out" &&
		{ echo "FAIL: verdict: $2: passed"; fails=$((fails + 1)); return; }
	! grep -q '^lib: L2-RESET: ' "$tmp/verdict.out" || got=YES
	if [ "$got" = "$1" ]; then
		echo "ok: verdict: $2"
	else
		echo "FAIL: verdict: $2: expected $1, got $got: $(cat "$tmp/verdict.out")"
		fails=$((fails + 1))
	fi
}
verdict_case YES "QEMU exited 0 mid-test" qemu 0
verdict_case NO "QEMU exited 0 after a guest panic" qemu 0 'Kernel panic - not syncing: x'
verdict_case NO "QEMU killed at the timeout" qemu 137
verdict_case NO "QEMU failed" qemu 1
verdict_case NO "cellvm exited 0 mid-test" cellvm 0
verdict_case NO "a VMM of no kind" '' 0

# l2_run on a VMM that logs an L2 triple fault and runs on: killed within seconds, not at its
# 60 s timeout, and said so.  The stand-in timeout execs its program as busybox's does (L1's),
# and tr writes each line at once as busybox's does (GNU tr buffers a pipe's output).
mkdir "$tmp/bin"
printf '#!/bin/sh\nshift 3\nexec "$@"\n' >"$tmp/bin/timeout"
printf '#!/bin/sh\nexec stdbuf -o0 %s "$@"\n' "$(command -v tr)" >"$tmp/bin/tr"
printf '#!/bin/sh\necho "cellvm-core: warn: vcpu0: %s"\nexec sleep 60\n' "$L2_TRIPLE" >"$tmp/bin/vmm"
chmod +x "$tmp/bin/timeout" "$tmp/bin/tr" "$tmp/bin/vmm"
started=$(date +%s)
if PATH=$tmp/bin:$PATH L2_LOGDIR=$tmp/l2logs l2_run 60 boot vmm vmm >"$tmp/run.out" 2>&1; then
	echo "FAIL: l2_run: a triple-faulted VM passed"
	fails=$((fails + 1))
elif ! grep -q '^lib: L2 VM killed at its triple fault' "$tmp/run.out" ||
	[ $(($(date +%s) - started)) -ge 15 ]; then
	echo "FAIL: l2_run: a triple fault, after $(($(date +%s) - started)) s: $(cat "$tmp/run.out")"
	fails=$((fails + 1))
else
	echo "ok: l2_run: the VM killed at its triple fault in $(($(date +%s) - started)) s"
fi

# l2_quit_if_tripled after a run: with cellvm's triple-fault line in L2_LOG, the helpers (a
# subshell waiting on a cue, with its sleep, and a peer) are killed, their children too, and the
# script exits 1, after what a helper's log holds; without it, nothing happens.
# helpers: a waiting subshell in $waiter (its sleep's pid in $tmp/sleep.pid) and a peer in $peer.
helpers() {
	rm -f "$tmp/sleep.pid"
	(
		sleep 60 &
		echo $! >"$tmp/sleep.pid"
		wait
	) &
	waiter=$!
	sleep 60 &
	peer=$!
	while [ ! -s "$tmp/sleep.pid" ]; do sleep 0.05; done
}
# alive PID: running, not a zombie (the helpers are this shell's children, unreaped until waited)
alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}
helpers
L2_LOG=$tmp/quiet.log
echo 'CELLVM-AGENT: PASS boot' >"$L2_LOG"
(l2_quit_if_tripled "$waiter" "$peer") >"$tmp/quit.out" 2>&1
st=$?
if [ "$st" -ne 0 ] || ! alive "$waiter" || ! alive "$peer"; then
	echo "FAIL: l2_quit_if_tripled without a triple fault: status $st, helpers alive: $(alive "$waiter" && echo waiter) $(alive "$peer" && echo peer)"
	fails=$((fails + 1))
else
	echo "ok: l2_quit_if_tripled: no triple fault, nothing done"
fi
kids=$(l1_children "$waiter")
[ "$kids" = "$(cat "$tmp/sleep.pid")" ] || {
	echo "FAIL: l1_children: '$kids', want the waiter's sleep $(cat "$tmp/sleep.pid")"
	fails=$((fails + 1))
}
L2_LOG=$tmp/tripled.log
printf 'cellvm-core: warn: vcpu1: %s\n' "$L2_TRIPLE" >"$L2_LOG"
echo 'L1: killed cellvm-blockd 42' >"$tmp/waiter.log"
(l2_quit_if_tripled "$waiter:$tmp/waiter.log" "$peer") >"$tmp/quit.out" 2>&1
st=$?
sleep 0.2
if [ "$st" -ne 1 ] || alive "$waiter" || alive "$peer" || alive "$(cat "$tmp/sleep.pid")" ||
	! grep -q 'killed at its triple fault: the test ends here' "$tmp/quit.out" ||
	! grep -q "^lib: L1 helper $waiter: L1: killed cellvm-blockd 42\$" "$tmp/quit.out"; then
	echo "FAIL: l2_quit_if_tripled after a triple fault: status $st, said '$(cat "$tmp/quit.out")'"
	fails=$((fails + 1))
else
	echo "ok: l2_quit_if_tripled: the test ends, its helpers and their children killed, their logs shown"
fi
for p in "$waiter" "$peer" "$(cat "$tmp/sleep.pid")"; do kill "$p" 2>/dev/null; done
wait "$waiter" "$peer" 2>/dev/null

# l2_shutdowns_start and _say on a tracefs of plain files: the filter keeps SVM's shutdown exit
# alone, and what it caught comes out one line each after the prefix.
fake=$tmp/shutdown-tracefs
mkdir -p "$fake/events" "$fake/instances/cellvm-shutdown/events/kvm/kvm_exit"
: >"$fake/instances/cellvm-shutdown/events/kvm/kvm_exit/filter"
L2_TRACEFS=$fake l2_shutdowns_start
printf '# tracer: nop\n qemu-system-x86-812 [001] d.... 99.5: kvm_exit: vcpu 0 reason shutdown rip 0xffffffff81001234 info1 0x0\n' \
	>"$fake/instances/cellvm-shutdown/trace"
out=$(L2_TRACEFS=$fake l2_shutdowns_say 'l1-init:   ')
if [ "$(cat "$fake/instances/cellvm-shutdown/events/kvm/kvm_exit/filter")" = 'exit_reason == 127' ] &&
	[ "$(cat "$fake/instances/cellvm-shutdown/events/kvm/kvm_exit/enable")" = 1 ] &&
	[ "$out" = 'l1-init:   qemu-system-x86-812 [001] d.... 99.5: kvm_exit: vcpu 0 reason shutdown rip 0xffffffff81001234 info1 0x0' ]; then
	echo "ok: shutdown exits: filtered and reported"
else
	echo "FAIL: shutdown exits: filter '$(cat "$fake/instances/cellvm-shutdown/events/kvm/kvm_exit/filter")', said '$out'"
	fails=$((fails + 1))
fi

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
