# shellcheck shell=dash
# test-nested-fault.sh LIB: l2_nested_fault from the L1 image's lib.sh (LIB), on this host with
# dash (L1 runs busybox sh): the one hang it may call a fault below cellvm, and the look-alikes
# it must not.  Real processes stand in for the VMM: a script named cellvm (its command line
# carries --memory) whose child is named cellvm-core; the trace is a kvm_exit trace as tracefs
# prints it, naming that child's pid.
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
printf '#!/bin/sh\n"%s/cellvm-core" &\necho $! >"%s/core.pid"\nwait\n' "$tmp" "$tmp" >"$tmp/cellvm"
chmod +x "$tmp/cellvm"
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
	wait "$vmm" 2>/dev/null
	vmm=
}
trap 'vmm_stop; rm -rf "$tmp"' EXIT

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

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
