#!/bin/bash
# run-nested.sh [options] SCRIPT
#
# Boots the L1 image under QEMU TCG (-cpu max emulates AMD SVM, so L1 has KVM) and runs SCRIPT
# in it as /test/run.sh (busybox sh; `. /test/lib.sh` for the L2 helpers).  Exits with SCRIPT's
# status, read from the `CELLVM-L1: EXIT n` line on L1's serial console.
#
# Options:
#   --timeout SECS   hard wall-clock limit for the whole run (default 300); QEMU is killed then
#   --retry-timeout SECS  a run that failed below cellvm (L1 itself failed, or L2 stuck on a
#                    nested page fault) is repeated once with this limit; the meson timeout must
#                    leave room for both runs.  Without it: at most 3 times, each with what is left
#                    of --timeout plus 150 s, while that is at least 120 s
#   --log FILE       serial log (default: a new file under $TMPDIR); printed on failure
#   --mem MB         L1 memory (default 4096)
#   --smp N          L1 vCPUs (default 2)
#   --add HOST[:L1]  copy HOST (file or directory) into L1 at L1 (default: the same path); the
#                    shared libraries of added ELF programs come along, found with ldd
#   --env NAME=VAL   exported to SCRIPT
#   --images DIR     images from build-images.sh (default $CELLVM_IMAGES or
#                    ~/.cache/cellvm/images); build-images.sh is run first (cached: ~1 s)
#   --no-build       use --images as they are
#   --append ARGS    more L1 kernel command line
#   --qemu-arg ARG   one more argument for L0's QEMU (repeatable; e.g. devices to pass through)
#   --verbose        stream the serial console to stdout (the default when stdout is a tty)
#   --quiet          do not stream
#   --interactive    give L1's console this terminal's input (for demo shells)
# Exit: SCRIPT's status; 1 on timeout or a missing marker; 77 (skip) without QEMU.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest=$(cd "$here/../guest" && pwd)
# shellcheck source=../guest/image-lib.sh
. "$guest/image-lib.sh"

say() { echo "run-nested: $*" >&2; }
usage() { sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//'; }

timeout=300
retry_timeout=
log=
mem=4096
smp=2
images=${CELLVM_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/cellvm/images}
build=1
append=
stream=auto
interactive=0
adds=()
envs=()
qargs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout=$2; shift 2 ;;
	--retry-timeout) retry_timeout=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--add) adds+=("$2"); shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--images) images=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--append) append=$2; shift 2 ;;
	--qemu-arg) qargs+=("$2"); shift 2 ;;
	--verbose) stream=1; shift ;;
	--quiet) stream=0; shift ;;
	--interactive) interactive=1; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) say "unknown option $1"; usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
script=$1
[ -r "$script" ] || { say "cannot read $script"; exit 2; }
if ! [[ "$timeout" =~ ^[0-9]+$ ]] || [ "$timeout" -lt 30 ]; then
	say "--timeout needs at least 30 s"
	exit 2
fi
if [ -n "$retry_timeout" ] && { ! [[ "$retry_timeout" =~ ^[0-9]+$ ]] || [ "$retry_timeout" -lt 120 ]; }; then
	say "--retry-timeout needs at least 120 s"
	exit 2
fi
if [ "$stream" = auto ]; then
	stream=0
	[ ! -t 1 ] || stream=1
fi

qemu=${QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
	say "SKIP: $qemu not found (apt-get install qemu-system-x86)"
	exit 77
fi

if [ "$build" = 1 ]; then
	"$guest/build-images.sh" "$images" >&2 || { say "image build failed"; exit 1; }
fi
for f in l1-kernel l1-initramfs.cpio.lz4 l1-files.txt; do
	[ -e "$images/$f" ] || { say "$images/$f missing (run tests/guest/build-images.sh $images)"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-nested.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
keep_log=1
if [ -z "$log" ]; then
	# A log of our own choosing is kept only when something failed.
	log=$(mktemp "${TMPDIR:-/tmp}/cellvm-nested-$(basename "$script" .sh).XXXXXX.log")
	keep_log=0
fi
mkdir -p "$(dirname "$log")"
: >"$log"

# The per-run archive: the script, its environment, the added files and their libraries.  The
# kernel unpacks it over the base image (initramfs archives may be concatenated), so the cached
# image never holds anything that changes with each build of cellvm.
x="$tmp/extra"
mkdir -p "$x/test"
install -m 0755 "$script" "$x/test/run.sh"
for e in "${envs[@]}"; do
	printf 'export %q\n' "$e" >>"$x/test/env.sh"
done
for a in "${adds[@]}"; do
	src=${a%%:*}
	dst=${a#*:}
	[ "$dst" != "$a" ] || dst=$(readlink -f "$src")
	[ -e "$src" ] || { say "--add $src: no such file"; exit 2; }
	mkdir -p "$x/$(dirname "$dst")"
	cp -rL "$src" "$x/$dst"
	while IFS= read -r lib; do
		grep -qxF "$lib" "$images/l1-files.txt" || [ -e "$x/$lib" ] ||
			{ mkdir -p "$x/$(dirname "$lib")" && cp -L "$lib" "$x/$lib"; }
	done < <(find "$src" -type f -perm -u+x -print0 | xargs -0r sh -c 'ldd "$@" 2>/dev/null' sh |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' | sort -u)
done
# The base image is an LZ4 legacy stream, which has no end marker: the kernel's unlz4 reads
# chunks up to the end of the initrd, skipping any further LZ4 magic.  So the per-run archive
# is an LZ4 stream too, appended directly; the cpio unpacker then sees the two archives back to
# back in one decompressed stream.  (An uncompressed archive after it fails to decode.)
(cd "$x" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	lz4 -l -q -c >"$tmp/extra.cpio.lz4"
cat "$images/l1-initramfs.cpio.lz4" "$tmp/extra.cpio.lz4" >"$tmp/initrd"

# The script's own limit inside L1 expires before ours, so a hung test still reports through
# the console (L1 prints its dmesg tail); ours catches a wedged L1.  L1's second serial port is
# the heartbeat file (l1-init.sh).
hb=$tmp/heartbeat
l1_cmd() {
	local t=$1 inner=$(($1 - 30))
	[ "$inner" -ge 20 ] || inner=20
	qemu_cmd=(timeout --foreground -k 5 "$t" "$qemu" -accel tcg -cpu max -smp "$smp" -m "$mem"
		-M q35 -no-reboot -nographic -nodefaults -no-user-config -serial mon:stdio
		-chardev "file,id=hb,path=$hb" -serial chardev:hb -pidfile "$tmp/qemu.pid"
		-kernel "$images/l1-kernel" -initrd "$tmp/initrd" "${qargs[@]}"
		-append "console=ttyS0 panic=-1 cellvm.timeout=$inner${append:+ $append}")
}
l1_cmd "$timeout"
input=/dev/null
[ "$interactive" = 0 ] || input=/dev/stdin
say "L1: $(basename "$script"), timeout ${timeout}s, serial log $log"
start=$SECONDS
# watch_l1: kills QEMU when L1's heartbeat has not grown for $stall seconds, and leaves the
# silence's length in $tmp/stalled and what was silent in $tmp/stalled_what.  A beat every 10 s;
# a test's own limits (90 s a kvm case, 240 s an API case) run inside L1 and do not stop its
# beat.  Before the first beat (L1's boot, which prints all along and reaches l1-init.sh's
# heartbeat within seconds) its console must keep growing instead: CI saw a repeat after an L1
# panic stop for good at 1.1 s of L1's boot, and only the whole timeout ended it.
stall=${CELLVM_L1_STALL:-120}
watch_l1() {
	local last=-1 size same=0 what
	while sleep 5; do
		[ -s "$tmp/qemu.pid" ] || continue
		size=$(stat -c %s "$hb" 2>/dev/null || echo 0)
		what="no heartbeat"
		if [ "$size" -eq 0 ]; then
			size=boot$(stat -c %s "$log" 2>/dev/null || echo 0)
			what="a silent console before its first heartbeat"
		fi
		if [ "$size" = "$last" ]; then same=$((same + 5)); else same=0 last=$size; fi
		if [ "$same" -ge "$stall" ]; then
			echo "$same" >"$tmp/stalled"
			echo "$what" >"$tmp/stalled_what"
			kill -KILL "$(cat "$tmp/qemu.pid")" 2>/dev/null
			return 0
		fi
	done
}
run_l1() {
	local wpid
	rm -f "$tmp/qemu.pid" "$tmp/stalled" "$tmp/stalled_what"
	: >"$hb"
	[ "$interactive" = 1 ] || { watch_l1 & wpid=$!; }
	set +e
	if [ "$stream" = 1 ]; then
		"${qemu_cmd[@]}" <"$input" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
	else
		"${qemu_cmd[@]}" <"$input" >"$log" 2>&1
		rc=$?
	fi
	[ -z "${wpid:-}" ] || { kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null; }
	set -e
}
# last_beat: what L1's last heartbeat said ("alive UPTIME STATUS"), or that there was none.
last_beat() {
	local b
	b=$(tr -d '\r' <"$hb" | grep -a '^alive ' | tail -n 1 || true)
	if [ -n "$b" ]; then
		# shellcheck disable=SC2086 # split into alive, uptime, status
		set -- $b
		shift
		echo "L1's last heartbeat at ${1}s of its uptime${2:+, running $2}"
	else
		echo "no heartbeat from L1"
	fi
}
run_l1
# L1's own kernel failing (a panic, and l1-init.sh turns lockups and RCU stalls into panics) is a
# fault below cellvm (see l1-init.sh), not the test's: the run is repeated (see below), and said
# so; each failed run's log is kept next to the last.  L1 panicked when its log has a kernel
# panic and no EXIT line (an L2 panic leaves L1 running to its EXIT line).  Anything else is a
# failure.
l1_panicked() {
	! tr -d '\r' <"$log" | grep -aq '^CELLVM-L1: EXIT ' &&
		grep -aq 'Kernel panic - not syncing' "$log"
}
# L1 wedged: our timeout killed QEMU and L1 never printed its EXIT line, although l1-init.sh
# ends the script and prints that line 30 s before our timeout (cellvm.timeout). So L1's own
# kernel stopped running its timers: a fault below cellvm too (seen here under load with no
# lockup report at all, even with a QEMU L2 that never printed a byte). A hung test is not
# repeated: L1 reports it through its EXIT line.
l1_wedged() {
	{ [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } &&
		! tr -d '\r' <"$log" | grep -aq '^CELLVM-L1: EXIT '
}
# L1 reset on its own: QEMU (-no-reboot) ended with status 0 after L1 reset or powered off, and
# L1 printed neither a panic nor its EXIT line, which l1-init.sh prints before every power-off.
# A user-space VMM in L1 cannot reset L1; its kernel failed under TCG's nested SVM, like the
# panics above, only silently.  CI saw it once, 36 s into l2-cellvm-hotplug (2026-12-07), right
# after the test's resize checks; repeated like them.
l1_reset() {
	[ "$rc" -eq 0 ] && ! tr -d '\r' <"$log" | grep -aq '^CELLVM-L1: EXIT '
}
# L2 stuck on a nested page fault that never reaches cellvm: the sentinel or the hang report
# (l1-lib.sh, l2_sentinel and l2_nested_fault) printed its NESTED-FAULT line, and the test failed.
# Not anchored at the line's start: L2's console can leave part of a line before it (CI saw
# "CELLVMlib: NESTED-FAULT: ..." in l2-cellvm-disk, and the run was not repeated).
# A vCPU exits to L1's KVM only with one fault, over and over, in a walk of the guest's page
# tables at an address beyond the VM's RAM.  Seen in CI in l2-cellvm-migrate, -iommu and -vfio
# (different devices), each once in many runs, and gone when the test ran again; repeated too,
# and said so.  The sentinel ends such a test within about 30 s, so the repeat has time left.
l1_passed() { tr -d '\r' <"$log" | grep -aq '^CELLVM-L1: EXIT 0$'; }
l2_nested_fault() {
	tr -d '\r' <"$log" | grep -aq 'lib: NESTED-FAULT: ' && ! l1_passed
}
# An L2 Linux that triple-faulted, and the test failed: cellvm logs the fault and resets the
# VM as a PC would, and the test's guest starts again where it should have counted on.  Seen in
# CI once each in l2-cellvm-hotplug (right after a disk's hot-add) and the quarantined
# l2-cellvm-api-pmem (during a pmem hot-add), each passing when run again; l2-cellvm-snapshot-mem's
# virtio-mem guest started again without a panic about 30 s after its live migration, while it
# only ticked (its digest did not say why: likely the same).  On AMD, which L1's CPU is, L1's
# KVM re-initialises the vCPU on the shutdown intercept, so cellvm sees only the reset state and
# cannot say where; the kvm suite on L0 never showed one.
# Repeated, and said so; a fault that comes back in the repeats still fails the test.
l2_triple_fault() {
	tr -d '\r' <"$log" | grep -aq 'warn: vcpu[0-9]*: triple fault, rebooting the VM' && ! l1_passed
}
# An L2 guest under QEMU (the reference VMM, in the test beside cellvm) that reset with no panic
# before its agent finished (l1-lib.sh, l2_verdict's L2-RESET line), and the test failed: the
# same kind of fault as the triple faults above, with no cellvm involved.  CI saw it once, in
# l2-cellvm-iommu's QEMU run (2026-12-07, during its iommu check); repeated like them.
l2_qemu_reset() {
	tr -d '\r' <"$log" | grep -aq 'lib: L2-RESET: ' && ! l1_passed
}
# A run that failed below cellvm is repeated: once with --retry-timeout, else at most 3 times,
# each time with what is left of the timeout plus 150 s, and only while that is 120 s or more
# (so the whole stays within the timeout plus 150 s, which the meson timeouts leave room for).
# CI saw one test fail that way twice in a row (L1 wedged, then L1 panicked, l2-cellvm-iommu),
# and once three times (2026-12-07 23:05, l2-cellvm-iommu: an L2 triple fault, L1 wedged, the
# nested page fault; all in 315 s, so a fourth run would have had 435 s).
repeats=0 max_repeats=3
[ -z "$retry_timeout" ] || max_repeats=1
while [ "$interactive" = 0 ] && [ "$repeats" -lt "$max_repeats" ]; do
	retry_t=${retry_timeout:-$((timeout + 150 - (SECONDS - start)))}
	[ "$retry_t" -ge 120 ] || break
	l1_panicked || l1_wedged || l1_reset || l2_nested_fault || l2_triple_fault || l2_qemu_reset ||
		break
	repeats=$((repeats + 1))
	what="L1's kernel panicked" see=l1-init.sh first=$log.l1panic below="a fault below cellvm"
	if [ -s "$tmp/stalled" ]; then
		what="L1 wedged ($(cat "$tmp/stalled_what") for $(cat "$tmp/stalled") s, QEMU killed after $((SECONDS - start)) s; $(last_beat))"
	elif l1_wedged; then
		what="L1 wedged (no EXIT line, even from its own timeout; $(last_beat))"
	elif l1_reset && ! l1_panicked; then
		what="L1 reset without a panic message (QEMU exited 0, no EXIT line; $(last_beat))"
		see="run-nested.sh, l1_reset" first=$log.l1reset
	elif l2_nested_fault; then
		what="L2 stuck on a nested page fault: $(tr -d '\r' <"$log" | grep -a -m 1 'lib: NESTED-FAULT: ' | sed 's/^.*lib: NESTED-FAULT: //')"
		see="l1-lib.sh, l2_nested_fault" first=$log.l2fault
	elif l2_qemu_reset && ! l1_panicked; then
		what="L2 Linux under QEMU reset without a panic message"
		see="run-nested.sh, l2_qemu_reset" first=$log.l2reset below="a fault below cellvm"
	elif ! l1_panicked; then
		what="L2 Linux triple-faulted ($(tr -d '\r' <"$log" | grep -a -m 1 -o 'vcpu[0-9]*: triple fault'))"
		see="run-nested.sh, l2_triple_fault" first=$log.l2triple below="not known to be cellvm's"
	fi
	[ "$repeats" -eq 1 ] || first=$first.$repeats
	say "$what ($below, see $see; log $first): repeat $repeats of at most $max_repeats, timeout ${retry_t}s"
	l1_cmd "$retry_t"
	# (set -e and pipefail: a wedge leaves no such line, and grep's status must not end the script)
	tr -d '\r' <"$log" | grep -a -E 'soft lockup|detected stalls|Kernel panic| RIP: 0010:|^lib: |triple fault' |
		head -n 12 | sed 's/^/  | /' >&2 || true
	mv "$log" "$first"
	run_l1
done
elapsed=$((SECONDS - start))

status=$(tr -d '\r' <"$log" | sed -n 's/^CELLVM-L1: EXIT \([0-9]\{1,3\}\)$/\1/p' | tail -n 1)
if [ -s "$tmp/stalled" ]; then
	say "FAIL: L1 wedged: $(cat "$tmp/stalled_what") for $(cat "$tmp/stalled") s, QEMU killed ($(last_beat))"
	status=1
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	say "FAIL: timed out after ${timeout}s, QEMU killed (L1 wedged or the script hung; $(last_beat))"
	status=1
elif [ -z "$status" ]; then
	say "FAIL: no 'CELLVM-L1: EXIT' line on L1's console (QEMU exit status $rc; L1 panicked or never booted)"
	status=1
elif [ "$status" -ne 0 ]; then
	say "FAIL: $(basename "$script") exited with status $status in L1"
fi
if [ "$status" -ne 0 ]; then
	if [ "$stream" = 0 ]; then
		# What the test infrastructure said (lib.sh, L1's init, the agent's markers, the
		# warnings and errors of cellvm and its processes, `cellvm-core: warn: ...`) explains a
		# failure better than the log's tail, which is mostly kernel messages.  The test's own
		# FAIL lines come first: a hang report's trace can push them out of the tail (CI's
		# l2-cellvm-snapshot-mem showed 80 lines and not its reason).
		summary=$(tr -d '\r' <"$log" | grep -a -E '^[a-z0-9-]+: FAIL: ' | head -n 20 || true)
		summary=$summary${summary:+$'\n'}$(tr -d '\r' <"$log" | grep -a -E '^(lib: |l1-init: |CELLVM-|cellvm: )|^(cellvm[a-z-]*: )?(warn|error): |Kernel panic|soft lockup|detected stalls| RIP: 0010:' | tail -n 80 || true)
		if [ -n "$summary" ]; then
			say "what the run reported (serial log, filtered):"
		else
			say "last lines of the serial log:"
			summary=$(tr -d '\r' <"$log" | tail -n 25)
		fi
		echo "$summary" | sed 's/^/  | /' >&2
	fi
	say "serial log: $log"
elif [ "$keep_log" = 1 ]; then
	say "PASS: $(basename "$script") in ${elapsed}s (serial log $log)"
else
	say "PASS: $(basename "$script") in ${elapsed}s"
	rm -f "$log"
fi
exit "$status"
