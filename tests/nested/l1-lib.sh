# shellcheck shell=dash
# /test/lib.sh in the L1 image: helpers for nested test scripts (busybox sh; source it with
# `. /test/lib.sh`).  Each run_l2_* boots the L2 kernel with the test agent, streams the L2
# serial console to L1's console, keeps it in a log, and returns 0 only when the agent printed
#   CELLVM-AGENT: PASS <check>   for every requested check, and   CELLVM-AGENT: DONE
#
#   run_l2_qemu   TIMEOUT CHECKS [qemu args...]    QEMU with KVM inside L1 (the reference)
#   run_l2_cellvm TIMEOUT CHECKS [cellvm args...]  /opt/cellvm/bin/cellvm, Cloud Hypervisor CLI
#
# CHECKS is the agent's cellvm.check value: "boot", or "boot,smp:2,blk" (NAME[:ARG...] each).
# Environment (all optional):
#   L2_CPUS (1), L2_MEM in MiB (512), L2_APPEND (more kernel command line), L2_KERNEL
#   (/images/vmlinux, PVH boot; /images/vmlinuz for the bzImage path), L2_INITRD
#   (/images/l2-initramfs.cpio.gz), L2_MACHINE (QEMU machine, q35), L2_LOGDIR (/tmp/l2-logs),
#   L2_VERBOSE=1 (the kernel's boot messages on the console too), L2_INTERACTIVE=1 (give the VM
#   this console's input, for the demo's shell check).
# Speed, measured in L1 here (KVM on SVM that TCG emulates, so every L2 exit is costly): each
# byte on L2's serial port is an exit to L1's VMM, and the kernel's boot messages cost ~20 s;
# hence `quiet` unless L2_VERBOSE=1 (the agent prints dmesg's tail when a check fails).  PVH
# boot of vmlinux saves ~13 s of bzImage decompression against vmlinuz.  QEMU q35 with vmlinux
# and quiet: about 13 s from QEMU's start to its exit.
# The last log's path is in L2_LOG afterwards.

L2_IMAGES=${L2_IMAGES:-/images}
L2_LOGDIR=${L2_LOGDIR:-/tmp/l2-logs}
L2_SEQ=0

l2_say() { echo "lib: $*"; }

# l2_initrd_with DIR FILE...: DIR/initrd is the agent's L2 initramfs with each FILE added as
# /bin/<its name> (a second cpio appended: the kernel unpacks both), for l2 runs' L2_INITRD.
l2_initrd_with() {
	local dir=$1
	shift
	mkdir -p "$dir/extra/bin" && cp "$@" "$dir/extra/bin/" || return 1
	(cd "$dir/extra" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/extra.cpio.gz" &&
		cat "$L2_IMAGES/l2-initramfs.cpio.gz" "$dir/extra.cpio.gz" >"$dir/initrd"
}

# l2_tun_dev: /dev/net/tun for cellvm's TAP devices, made when L1's /dev lacks it.
l2_tun_dev() {
	[ -c /dev/net/tun ] && return 0
	mkdir -p /dev/net && mknod /dev/net/tun c 10 200
}

# l2_wait_log DIR PATTERN SECS: until a line of a log in DIR (the L2_LOGDIR of the one L2 that
# runs) matches PATTERN, at most SECS seconds; 1 when it never did.
l2_wait_log() {
	local i=0
	while [ "$i" -lt "$3" ]; do
		grep -qs "$2" "$1"/*.log && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# l2_cmdline CHECKS: the L2 kernel command line.  panic=-1 turns a guest panic into a reset, which
# ends the VM under -no-reboot instead of leaving it to the timeout.
l2_cmdline() {
	local quiet=quiet
	[ "${L2_VERBOSE:-0}" != 1 ] || quiet=
	echo "console=ttyS0 panic=-1${quiet:+ $quiet} cellvm.check=$1${L2_APPEND:+ $L2_APPEND}"
}

# l2_verdict LOG CHECKS RC TIMEOUT [KIND]: decides from the agent's markers; prints why on
# failure.  KIND: qemu or cellvm (l2_run's NAME), or empty.
l2_verdict() {
	local log=$1 checks=$2 rc=$3 t=$4 kind=${5:-} bad=0 spec name why
	for spec in $(echo "$checks" | tr ',' ' '); do
		name=${spec%%:*}
		# A check listed twice (blkrate on several disks) passes only if no run of it failed.
		if grep -q "^CELLVM-AGENT: PASS $name\$" "$log" &&
			! grep -q "^CELLVM-AGENT: FAIL $name:" "$log"; then
			continue
		fi
		bad=1
		why=$(grep "^CELLVM-AGENT: FAIL $name:" "$log" | head -n 1 | tr -d '\r')
		if [ -n "$why" ]; then
			l2_say "L2 check $name failed: ${why#CELLVM-AGENT: FAIL }"
		else
			l2_say "L2 check $name: no PASS marker"
		fi
	done
	if ! grep -q '^CELLVM-AGENT: DONE$' "$log"; then
		bad=1
		if [ "$rc" -eq 137 ] && l2_tripled "$log"; then
			l2_say "L2 VM killed at its triple fault (status $rc), instead of its reboot"
		elif [ "$rc" -eq 137 ]; then
			l2_say "L2 VM killed after ${t} s timeout"
		elif ! grep -q '^CELLVM-AGENT: START' "$log"; then
			l2_say "L2 agent never started (VMM exit status $rc; L2_VERBOSE=1 shows the kernel's messages)"
		elif [ "$kind" = qemu ] && [ "$rc" -eq 0 ] && ! grep -q 'Kernel panic' "$log"; then
			# QEMU runs with -no-reboot: status 0 before the agent's DONE means the guest
			# reset (a triple fault) with no panic (panic=-1 prints one, then resets).
			l2_say "L2-RESET: the guest under QEMU reset without a panic message (QEMU" \
				"-no-reboot exited 0 before the agent's DONE)"
		else
			l2_say "L2 agent did not finish (VMM exit status $rc)"
		fi
	fi
	# A guest that powers off must end its VMM with status 0 (cellvm and QEMU alike).
	if [ "$bad" -eq 0 ] && [ "$rc" -ne 0 ]; then
		bad=1
		l2_say "L2 VMM exited with status $rc after the guest powered off (expected 0)"
	fi
	if [ "$bad" -ne 0 ]; then
		l2_say "L2 serial log (in L1, streamed above): $log"
		return 1
	fi
	l2_say "L2 checks passed: $checks"
	return 0
}

# l2_trace_into DIR EVENT...: one second of the tracefs EVENTs (system/name; missing ones are
# skipped) in the tracefs instance DIR, left in $L2_TRACE.
L2_TRACE=/tmp/l2-trace.txt
l2_trace_into() {
	local tr=$1 e
	shift
	echo >"$tr/trace"
	for e in "$@"; do echo 1 2>/dev/null >"$tr/events/$e/enable"; done
	sleep 1
	for e in "$@"; do echo 0 2>/dev/null >"$tr/events/$e/enable"; done
	grep -v '^#' "$tr/trace" >"$L2_TRACE"
}

# l2_tracefs [INSTANCE]: tracefs' directory, mounted if it was not ($L2_TRACEFS moves it, for
# test-nested-fault.sh); with INSTANCE, that instance of it, made if it was not.
l2_tracefs() {
	local tr=${L2_TRACEFS:-/sys/kernel/tracing}
	[ -d "$tr/events" ] || mount -t tracefs tracefs "$tr" 2>/dev/null
	if [ -n "${1:-}" ]; then
		tr=$tr/instances/$1
		mkdir -p "$tr" 2>/dev/null
	fi
	echo "$tr"
}

# l2_trace WHAT N EVENT...: l2_trace_into tracefs' top level, and the second's last N lines.
l2_trace() {
	local what=$1 n=$2
	shift 2
	l2_trace_into /sys/kernel/tracing "$@"
	l2_say "  $what (1 s of tracing):"
	tail -n "$n" "$L2_TRACE" | sed 's/^ */lib:     /'
}

# l2_ram_bytes PID: the guest RAM of the cellvm controller PID when its command line makes it
# one range from GPA 0 (--memory size=N[KMG] below 3 GiB, no hotplug, no memory zones); else
# nothing.
l2_ram_bytes() {
	local a prev='' size=''
	for a in $(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | tr -d ' '); do
		case "$prev:$a" in
		--memory:*) size=$a ;;
		*:--memory=*) size=${a#--memory=} ;;
		*:--memory-zone*) return 0 ;;
		esac
		prev=$a
	done
	case "$size" in *hotplug*) return 0 ;; esac
	size=$(echo ",$size," | sed -n 's/.*,size=\([0-9]*[KMG]\{0,1\}\),.*/\1/p')
	case "$size" in
	*K) size=$((${size%K} << 10)) ;;
	*M) size=$((${size%M} << 20)) ;;
	*G) size=$((${size%G} << 30)) ;;
	[0-9]*) ;;
	*) return 0 ;;
	esac
	[ "$size" -gt 0 ] && [ "$size" -le $((3 << 30)) ] && echo "$size"
}

# l2_nested_fault_find: looks in the last kvm_exit trace ($L2_TRACE) for the one L2 hang this
# bench repeats a run for (taken to lie below cellvm; not settled, see README).  A cellvm vCPU
# thread exits to L1's KVM only with one nested page fault, over and over (the same rip and
# address, at least 10 times in the second, nothing else and no exit to the VMM), taken while
# walking the guest's page tables (EXITINFO1 bit 33) at an L2 guest-physical address beyond the
# VM's RAM, where cellvm never had a memory slot.  Seen at 0x1_00xx_xff8 and 0x1_1197_4ff8 (a
# table entry with bit 32 set) in VMs with different devices (l2-cellvm-migrate, -iommu, -vfio),
# under QEMU 7.2 and 10.0 as L0; it never reached cellvm.  Prints "PID TID RIP INFO1 INFO2 COUNT
# RAM CORE" (the controller's pid, the vCPU thread, the exit, its count, the RAM in bytes, the
# core's pid) and returns 0 when it finds it.
l2_nested_fault_find() {
	local l task rip i1 i2 n tid pid ram core
	l=$(awk '/ kvm_exit: / {
		t = $1; k = ""; r = ""
		for (i = 2; i < NF; i++) {
			if ($i == "reason") r = $(i + 1)
			if ($i == "rip") k = k " " $(i + 1)
			if ($i == "info1" || $i == "info2") k = k " " $(i + 1)
		}
		n[t]++
		if (r != "npf") bad[t] = 1
		if (!(t in key)) key[t] = k
		else if (key[t] != k) bad[t] = 1
	}
	/ kvm_userspace_exit: / { bad[$1] = 1 }
	END { for (t in n) if (!bad[t] && n[t] >= 10) { print t key[t], n[t]; exit } }' "$L2_TRACE")
	[ -n "$l" ] || return 1
	# shellcheck disable=SC2086 # split into its fields
	set -- $l
	task=$1 rip=$2 i1=$3 i2=$4 n=$5
	tid=${task##*-}
	case "$task" in cellvm-core-*) ;; *) return 1 ;; esac
	case "$tid" in '' | *[!0-9]*) return 1 ;; esac
	[ $((i1 >> 33 & 1)) -eq 1 ] || return 1
	core=$(awk '/^Tgid:/ { print $2 }' "/proc/$tid/status" 2>/dev/null)
	pid=$(awk '/^PPid:/ { print $2 }' "/proc/$core/status" 2>/dev/null)
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = cellvm ] || return 1
	ram=$(l2_ram_bytes "$pid")
	[ -n "$ram" ] && [ $((i2)) -ge "$ram" ] || return 1
	echo "$pid $tid $rip $i1 $i2 $n $ram $core"
}

# l2_nested_fault: l2_nested_fault_find, said in a NESTED-FAULT line (run-nested.sh repeats a
# run that failed with one).
l2_nested_fault() {
	local f
	f=$(l2_nested_fault_find) || return 1
	# shellcheck disable=SC2086 # split into its fields
	l2_nested_fault_say $f
}

# l2_nested_fault_say FIELDS...: the NESTED-FAULT line for l2_nested_fault_find's fields.
l2_nested_fault_say() {
	l2_say "NESTED-FAULT: cellvm pid $1, thread $2: $6 exits to L1's KVM in 1 s, each the" \
		"same nested page fault (rip $3, info1 $4) in a walk of the guest's page tables at" \
		"L2 GPA $5, beyond its $(($7 >> 20)) MiB of RAM; none reached cellvm"
}

# l2_cpu_ticks: "TID TICKS" for each thread of each cellvm-core process, TICKS its user and
# system time so far (clock ticks).
l2_cpu_ticks() {
	local p t
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = cellvm-core ] || continue
		for t in "$p"/task/*; do
			awk -v t="${t##*/}" '{ sub(/^.*\) /, ""); print t, $12 + $13 }' "$t/stat" 2>/dev/null
		done
	done
}

# l2_busy_threads BEFORE AFTER MIN: the TIDs in both l2_cpu_ticks files whose time grew by MIN
# ticks or more.
l2_busy_threads() {
	awk -v min="$3" 'FNR == NR { t[$1] = $2; next } ($1 in t) && $2 - t[$1] >= min { print $1 }' \
		"$1" "$2"
}

# l2_sentinel [TICK]: runs beside a whole L1 test (l1-init.sh starts it and ends it) and ends a
# test whose L2 is stuck on the fault l2_nested_fault_find describes, instead of leaving it to
# the test's timeouts (CI: a VFIO test waited 500 s on it, so the run had no time left to be
# repeated).  Every TICK s (10) it looks for cellvm-core threads that ran half of that time or
# more; when there are some, it traces one second of KVM exits in a tracefs instance of its own
# (a hang report may use the top level meanwhile).  The same fault on the same thread in two
# traces in a row: it says so (NESTED-FAULT and the trace's last lines), kills that VMM and the
# test (its pid in /run/l1-test.pid) and leaves /run/l1-sentinel; run-nested.sh repeats the run.
# Without KVM's tracepoints it does nothing.  (L2_TRACEFS and L1_RUN move tracefs and /run, and
# L2_BUSY_PCT sets the share of CPU time that makes a thread busy, for test-nested-fault.sh.)
l2_sentinel() {
	local tick=${1:-10} tr run=${L1_RUN:-/run} st prev='' cur f
	tr=$(l2_tracefs cellvm-sentinel)
	[ -w "$tr/events/kvm/kvm_exit/enable" ] || return 0
	st=$(mktemp -d "${TMPDIR:-/tmp}/l2-sentinel.XXXXXX") || return 0
	L2_TRACE=$st/trace
	l2_cpu_ticks >"$st/ticks"
	while sleep "$tick"; do
		l2_cpu_ticks >"$st/now"
		cur=$(l2_busy_threads "$st/ticks" "$st/now" $((tick * ${L2_BUSY_PCT:-50})))
		mv "$st/now" "$st/ticks"
		[ -n "$cur" ] || { prev=; continue; }
		l2_trace_into "$tr" kvm/kvm_exit kvm/kvm_userspace_exit
		f=$(l2_nested_fault_find) || f=
		cur=$(echo "$f" | cut -d' ' -f1-5)
		if [ -z "$cur" ] || [ "$cur" != "$prev" ]; then
			prev=$cur
			continue
		fi
		# shellcheck disable=SC2086 # split into its fields
		l2_nested_fault_say $f
		# Where the address came from: a table entry in guest RAM, or not (cellvm-pte-scan).
		if command -v cellvm-pte-scan >/dev/null 2>&1; then
			# shellcheck disable=SC2046 # the core's pid and the address, two fields
			cellvm-pte-scan $(echo "$f" | awk '{ print $8, $5 }') 2>&1 | sed 's/^/lib: /'
		fi
		l2_say "sentinel: the same fault again ${tick} s later: cellvm pid ${cur%% *} and the" \
			"test killed (the last exits follow)"
		tail -n 3 "$L2_TRACE" | sed 's/^ */lib:     /'
		: >"$run/l1-sentinel"
		kill -KILL "${cur%% *}" "$(cat "$run/l1-test.pid" 2>/dev/null)" 2>/dev/null
		rm -rf "$st"
		return 0
	done
}

# l2_hang_report: what a VM that is about to hit its timeout is doing, so a hang in CI explains
# itself from the filtered log alone: each VMM thread's state, kernel stack and current syscall
# (L1 is root), then one second of KVM exits from tracefs (guest RIP and exit reason; map a RIP
# to a symbol with `nm` on the L2 vmlinux) and one of KVM's fault handling (page faults,
# emulation, guest page-table walks).  Every line starts with "lib: " to pass the filter.
l2_hang_report() {
	local p t c tr
	l2_say "hang report: L2 VMM threads about to be killed"
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		case "$c" in cellvm* | qemu*) ;; *) continue ;; esac
		for t in "$p"/task/*; do
			l2_say "  pid ${p#/proc/} tid ${t##*/} $(cat "$t/comm" 2>/dev/null)" \
				"state=$(cut -d' ' -f3 "$t/stat" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)" \
				"syscall=$(cut -d' ' -f1-3 "$t/syscall" 2>/dev/null)"
			sed -n 's/^/lib:       /p' "$t/stack" 2>/dev/null | head -n 8
		done
	done
	tr=$(l2_tracefs)
	if [ -w "$tr/events/kvm/kvm_exit/enable" ]; then
		l2_trace "last KVM exits" 12 kvm/kvm_exit kvm/kvm_userspace_exit
		l2_nested_fault || true
		# A guest stuck on one fault (an endless nested page fault, say): how KVM handles it
		# and, where it walks the guest's page tables to emulate, the walk (root and entries).
		l2_trace "KVM's fault handling" 16 kvm/kvm_page_fault kvm/kvm_emulate_insn \
			kvmmmu/handle_mmio_page_fault kvmmmu/kvm_mmu_pagetable_walk \
			kvmmmu/kvm_mmu_paging_element kvmmmu/kvm_mmu_walker_error
	else
		l2_say "  no kvm tracepoints in L1 (tracefs: $tr)"
	fi
	dmesg | tail -n 5 | sed 's/^/lib:   dmesg: /'
}

# L2 shutdowns (a triple fault) as L1's KVM sees them: the kvm_exit event of SVM exit 0x7f
# alone (a filter, in a tracefs instance of its own), whose rip is the guest's at the fault,
# before KVM re-initialises the vCPU (cellvm and QEMU see only the reset state).  l1-init.sh
# starts it before the test and prints what it caught after (l2_shutdowns_say).  Without
# KVM's tracepoints it does nothing.
L2_SHUTDOWNS=cellvm-shutdown
l2_shutdowns_start() {
	local tr
	tr=$(l2_tracefs $L2_SHUTDOWNS)
	[ -w "$tr/events/kvm/kvm_exit/filter" ] || return 0
	echo 'exit_reason == 127' >"$tr/events/kvm/kvm_exit/filter" &&
		echo 1 >"$tr/events/kvm/kvm_exit/enable"
}
# l2_shutdowns_say PREFIX: the shutdown exits caught so far, one line each after PREFIX.
l2_shutdowns_say() {
	local tr
	tr=$(l2_tracefs)/instances/$L2_SHUTDOWNS
	[ -r "$tr/trace" ] || return 0
	grep -v '^#' "$tr/trace" | grep 'kvm_exit' | head -n 8 | sed "s/^ */$1/"
}

# cellvm's line for an L2 triple fault (it then resets the VM, as a PC would).
L2_TRIPLE='triple fault, rebooting the VM'

# l2_tripled FILE...: one of the FILEs has cellvm's triple-fault line.
l2_tripled() { grep -qs "$L2_TRIPLE" "$@"; }

# l1_children PID: the pids of PID's children, one per line (L1's busybox has no pgrep). What
# follows the last ') ' of a stat line starts with the state, then the parent's pid.
l1_children() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v p="$1" '{ pid = $1; sub(/^.*\) /, ""); if ($2 == p) print pid }'
}

# l1_kill_tree PID...: each PID and its children, which are named first: once a subshell is
# killed its running child (a sleep, a grep, a peer) belongs to init and can no longer be named.
l1_kill_tree() {
	local p kids
	for p in "$@"; do
		kids=$(l1_children "$p")
		# shellcheck disable=SC2086 # one pid per word
		kill "$p" $kids 2>/dev/null
	done
	return 0
}

# l2_quit_if_tripled [PID[:LOG]...]: right after a run_l2_cellvm (or l2_run) whose VM was killed
# at its triple fault, ends the test: its helpers (PIDs, with their children), which would wait
# out their own cues, are killed, what each wrote to its LOG is shown (when L1 killed a device
# process, for one, and when), and the script exits 1, so that run-nested.sh repeats it with the
# time left. CI: l2-cellvm-respawn's helpers held it 633 s after such a kill, which left its
# repeat 174 s.
l2_quit_if_tripled() {
	local h
	l2_tripled "$L2_LOG" || return 0
	for h in "$@"; do l1_kill_tree "${h%%:*}"; done
	l2_say "the L2 VM was killed at its triple fault: the test ends here${1:+ (its helpers killed)}"
	for h in "$@"; do
		case $h in
		*:*) sed "s|^|lib: L1 helper ${h%%:*}: |" "${h#*:}" 2>/dev/null ;;
		esac
	done
	exit 1
}

# l2_triple_watch LOG: every 2 s, until its VM ends (l2_run kills it), whether LOG has the
# triple-fault line; then kills the VMM whose pid is in LOG.pid (status 137, which l2_verdict
# reads with that line as a kill at the fault).
l2_triple_watch() {
	while sleep 2; do
		l2_tripled "$1" || continue
		kill -KILL "$(cat "$1.pid" 2>/dev/null)" 2>/dev/null
		return 0
	done
}

# l2_run TIMEOUT CHECKS NAME CMD...: runs CMD with a hard timeout, its output streamed and kept
# in a log; then judges it.  busybox sh has no PIPESTATUS, so the status goes through a file.
l2_run() {
	local t=$1 checks=$2 name=$3 input rc started wd tw lead
	shift 3
	mkdir -p "$L2_LOGDIR"
	L2_SEQ=$((L2_SEQ + 1))
	L2_LOG="$L2_LOGDIR/$L2_SEQ-$name-$(echo "$checks" | tr ',:/' '-_-').log"
	input=/dev/null
	[ "${L2_INTERACTIVE:-0}" != 1 ] || input=/dev/console
	l2_say "starting L2 ($name, checks $checks, timeout ${t}s): $*"
	started=$(cut -d. -f1 /proc/uptime)
	# The watchdog reports on the VM before the timeout kills it (15 s before, from a minute up:
	# the report takes some seconds in L1, and the kill cut it short at 4 s); its output goes to
	# the console directly, not into the pipeline, so it never holds the log open.
	lead=4
	[ "$t" -le 60 ] || lead=15
	(
		sleep $((t > 10 ? t - lead : t)) && l2_hang_report
	) &
	wd=$!
	# An L2 triple fault ends the run at once (the VM would boot again and wait out the
	# timeout): l2_triple_watch kills the VMM, whose pid busybox timeout execs into.
	l2_triple_watch "$L2_LOG" &
	tw=$!
	{
		# shellcheck disable=SC2016 # $$ and the positional parameters are the inner shell's
		sh -c 'echo $$ >"$0" && t=$1 && shift && exec timeout -s KILL "$t" "$@"' \
			"$L2_LOG.pid" "$t" "$@" <"$input" 2>&1
		echo $? >"$L2_LOG.rc"
	} | tr -d '\r' | tee "$L2_LOG"
	l1_kill_tree "$wd" "$tw"
	rc=$(cat "$L2_LOG.rc" 2>/dev/null || echo 255)
	l2_say "L2 $name exited with status $rc after $(($(cut -d. -f1 /proc/uptime) - started)) s"
	l2_verdict "$L2_LOG" "$checks" "$rc" "$t" "$name"
}

# run_l2_qemu TIMEOUT CHECKS [qemu args...]: the L2 guest under QEMU with KVM (L1's /dev/kvm,
# nested SVM emulated by the L0 QEMU).  -nodefaults: no default NIC, VGA or monitor, only the
# serial port on stdio.
run_l2_qemu() {
	local t=$1 checks=$2
	shift 2
	l2_run "$t" "$checks" qemu \
		qemu-system-x86_64 -accel kvm -cpu host -M "${L2_MACHINE:-q35}" \
		-smp "${L2_CPUS:-1}" -m "${L2_MEM:-512}" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" \
		-initrd "${L2_INITRD:-$L2_IMAGES/l2-initramfs.cpio.gz}" \
		-append "$(l2_cmdline "$checks")" "$@"
}

# run_l2_cellvm TIMEOUT CHECKS [cellvm args...]: the same guest under cellvm, in Cloud
# Hypervisor's CLI syntax, serial on stdout.  Extra args go last (e.g. --disk path=...).
# L2_CONSOLE: the --console value (default off: the agent talks on the serial port).
run_l2_cellvm() {
	local t=$1 checks=$2
	shift 2
	if ! command -v cellvm >/dev/null 2>&1; then
		l2_say "no cellvm binary in PATH ($PATH); pass the build's binaries with run-nested.sh --add"
		return 1
	fi
	l2_run "$t" "$checks" cellvm \
		cellvm --kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" \
		--initramfs "${L2_INITRD:-$L2_IMAGES/l2-initramfs.cpio.gz}" \
		--cmdline "$(l2_cmdline "$checks")" \
		--cpus "boot=${L2_CPUS:-1}" --memory "size=${L2_MEM:-512}M" \
		--serial tty --console "${L2_CONSOLE:-off}" "$@"
}

# Jail inspection, for tests that check what /proc shows of cellvm's processes.
bad() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# field PID NAME: a value from /proc/PID/status
field() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# inspect PID ROLE [ROOT]: the jail of one process as /proc shows it (Seccomp 2, NoNewPrivs 1, no
# capabilities, its own mnt/net/user/pid namespaces, a root directory holding ROOT, default
# nothing); each deviation is a `bad` line and counts in $fails.
inspect() {
	local pid=$1 role=$2 want=$3 f v n a b got
	for f in Seccomp:2 NoNewPrivs:1 CapEff:0000000000000000 CapPrm:0000000000000000 \
		CapBnd:0000000000000000; do
		v=$(field "$pid" "${f%%:*}")
		[ "$v" = "${f#*:}" ] || bad "$role ($pid): ${f%%:*} is '$v', want ${f#*:}"
	done
	for n in mnt net user pid; do
		a=$(readlink "/proc/$pid/ns/$n")
		b=$(readlink "/proc/self/ns/$n")
		[ -n "$a" ] && [ "$a" != "$b" ] || bad "$role ($pid): shares L1's $n namespace ($a)"
	done
	got=$(ls -A "/proc/$pid/root/" 2>&1 | tr '\n' ' ')
	got=${got% }
	[ "$got" = "$want" ] || bad "$role ($pid): root holds '$got', want '${want:-nothing}'"
	echo "$role ($pid): Seccomp $(field "$pid" Seccomp), NoNewPrivs $(field "$pid" NoNewPrivs)," \
		"CapEff $(field "$pid" CapEff), CapBnd $(field "$pid" CapBnd), uid $(field "$pid" Uid)," \
		"root '$got'"
}


# VFIO (the bench of run-vfio.sh).
# vfio_bind VENDOR:DEVICE: binds the first such function to vfio-pci and prints its BDF.
vfio_bind() {
	local dev bdf
	for dev in /sys/bus/pci/devices/*; do
		[ "$(cat "$dev/vendor"):$(cat "$dev/device")" = "$1" ] || continue
		bdf=${dev##*/}
		[ ! -e "$dev/driver" ] || echo "$bdf" >"$dev/driver/unbind"
		echo vfio-pci >"$dev/driver_override"
		echo "$bdf" >/sys/bus/pci/drivers_probe
		[ "$(basename "$(readlink "$dev/driver")")" = vfio-pci ] || return 1
		echo "$bdf"
		return 0
	done
	return 1
}
# vfio_group BDF: the IOMMU group number of a PCI function.
vfio_group() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# l1_child ROLE: the pid of the cellvm-ROLE child of the cellvm this test started (the only cellvm
# controller in L1).
l1_child() {
	local ctl="" p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = cellvm ] && ctl=${p#/proc/}
	done
	[ -n "$ctl" ] || return 1
	for p in $(cat /proc/"$ctl"/task/*/children 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "cellvm-$1" ] && echo "$p" && return 0
	done
	return 1
}

# l1_kill_child ROLE: SIGKILL to the running cellvm's cellvm-ROLE child, then up to 20 s for its
# replacement (another pid); says what it saw. 1 when there was none to kill or no replacement.
l1_kill_child() {
	local old new i=0
	old=$(l1_child "$1") || {
		echo "FAIL: no cellvm-$1 child to kill"
		return 1
	}
	kill -9 "$old"
	echo "L1: killed cellvm-$1 $old at $(cut -d' ' -f1 /proc/uptime) s"
	while [ "$i" -lt 200 ]; do
		new=$(l1_child "$1") && [ "$new" != "$old" ] && {
			echo "L1: replacement cellvm-$1 $new seen at $(cut -d' ' -f1 /proc/uptime) s"
			return 0
		}
		sleep 0.1
		i=$((i + 1))
	done
	echo "FAIL: no replacement cellvm-$1 within 20 s"
	return 1
}

# For scripts that start cellvm themselves with its serial output and log in $raw and its pid in
# $vmm (the API-driven tests): the waits end early, failing, once cellvm has exited or logged
# an L2 triple fault (in $raw or $d/vmm.err).
# wait_serial PATTERN SECS: until $raw matches, at most SECS seconds.
wait_serial() {
	local i=0
	while [ "$i" -lt $(($2 * 5)) ]; do
		grep -qs "$1" $raw && return 0
		kill -0 "$vmm" 2>/dev/null || return 1
		l2_tripled $raw $d/vmm.err && return 1
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
# wait_count PATTERN N SECS: until $raw has N lines matching, at most SECS s.
wait_count() {
	local i=0
	while [ "$i" -lt $(($3 * 5)) ]; do
		[ "$(grep -c "$1" $raw)" -ge "$2" ] && return 0
		kill -0 "$vmm" 2>/dev/null || return 1
		l2_tripled $raw $d/vmm.err && return 1
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
# pids COMM: the pids of processes named COMM.
pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
}
# holders FILE: pids of processes that have FILE open.
holders() {
	local f
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$1" ] && { f=${f#/proc/}; echo "${f%%/*}"; }
	done | sort -u
}
# finish RC: the end of such a test: the guest's log and the event log ($d/ev.log) printed
# (after api_cleanup, when the script defines one), the agent's markers for $checks judged;
# exits 0 only when that and every earlier check ($fails, counted by the script's bad) passed.
finish() {
	tr -d '\r' <$raw >"$log"
	cat "$log"
	if [ -s $d/vmm.err ]; then # a test that keeps the VMM's messages out of the serial log
		say "the VMM's own messages:"
		cat $d/vmm.err
	fi
	if command -v api_cleanup >/dev/null 2>&1; then api_cleanup; fi
	say "event log:"
	cat $d/ev.log
	l2_verdict "$log" "$checks" "$1" 600 || fails=$((fails + 1))
	say "$fails failure(s)"
	[ "$fails" -eq 0 ]
	exit $?
}
# give_up WHY: the VM hangs or died: reported, killed, judged.
give_up() {
	bad "$*"
	if l2_tripled $raw $d/vmm.err; then
		l2_say "the L2 guest triple-faulted (cellvm: $L2_TRIPLE): VM killed, no hang report"
	elif kill -0 "$vmm" 2>/dev/null; then
		l2_hang_report
	fi
	kill -9 "$vmm" 2>/dev/null
	wait "$vmm"
	finish 137
}
# The API helpers below use the script's remote (cellvm-remote on $sock), bad and say.
# wait_api: until the API socket $sock answers, at most 10 s.
wait_api() {
	local i=0
	until remote ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || give_up "the API socket $sock did not answer within 10 s"
		sleep 0.1
	done
}
# expect_err STATUS CMD...: the remote command fails and its output names STATUS.
expect_err() {
	local want=$1 out
	shift
	if out=$(remote "$@" 2>&1); then
		bad "'$*' succeeded, expected HTTP $want"
	else
		case "$out" in *"$want"*) say "refused as expected: $*: $(echo "$out" | tr '\n' ' ')" ;;
		*) bad "'$*' failed without $want: $out" ;; esac
	fi
}
seen_audits=0
# audits: seccomp kills in L1's kernel log so far (each counts as a failure once).
seen_audits=0
audits() {
	local n
	n=$(dmesg | grep -c 'type=1326')
	[ "$n" -le "$seen_audits" ] && return 0
	bad "seccomp killed a process: $(dmesg | grep 'type=1326' | tail -n $((n - seen_audits)) |
		sed 's/.*comm=\("[^"]*"\).*syscall=\([0-9]*\).*/\1 syscall \2/' | tr '\n' ' ')"
	seen_audits=$n
}
# wait_exit: after the guest's DONE, cellvm has 60 s to exit by itself (then vmm.shutdown is
# asked through the script's remote) and 20 s more; finishes with its exit status.
wait_exit() {
	local i=0 rc
	while kill -0 "$vmm" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { remote shutdown-vmm >/dev/null 2>&1; break; }
		sleep 0.2
	done
	i=0
	while kill -0 "$vmm" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || give_up "cellvm still runs after the guest powered off"
		sleep 0.2
	done
	wait "$vmm"
	rc=$?
	say "cellvm exited with status $rc"
	finish $rc
}
