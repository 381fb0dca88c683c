#!/bin/sh
# /init of the L1 image (busybox sh), which QEMU TCG boots to host KVM for the L2 guests.
# Sets up the system, loads the modules, runs /test/run.sh (from the per-run archive that
# run-nested.sh appends) under a hard timeout, reports on the serial console
#   CELLVM-L1: START
#   CELLVM-L1: EXIT <status>
# and powers off.  With panic=-1 and QEMU's -no-reboot a kernel panic ends the run too.
#
# Command line: cellvm.timeout=SECS (default 600) bounds /test/run.sh.

PATH=/opt/cellvm/bin:/opt/qemu/bin:/sbin:/bin:/usr/sbin:/usr/bin
export PATH HOME=/root TMPDIR=/tmp

mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /sys/fs/cgroup
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
exec </dev/console >/dev/console 2>&1

echo "CELLVM-L1: START"
# The heartbeat: a line every 10 s on the second serial port (a file of run-nested.sh's) with
# L1's uptime and what the test last wrote to /run/l1-status (the case it is running; the loop's
# pid is in /run/l1-heartbeat.pid). When the
# lines stop, L1's kernel stopped running its timers: run-nested.sh calls L1 wedged then, and
# says what was running, instead of waiting for the timeout.
if [ -c /dev/ttyS1 ]; then
	(while :; do
		echo "alive $(cut -d' ' -f1 /proc/uptime) $(cat /run/l1-status 2>/dev/null)"
		sleep 10
	done) </dev/null >/dev/ttyS1 2>&1 &
	echo $! >/run/l1-heartbeat.pid
fi
while read -r mod; do
	[ -n "$mod" ] || continue
	out=$(insmod "/lib/modules/$mod.ko" 2>&1) || case "$out" in
		*"File exists"*) ;;
		*) echo "l1-init: insmod $mod: $out" ;;
	esac
done </etc/cellvm-modules
mdev -s 2>/dev/null
ip link set lo up 2>/dev/null
[ -c /dev/kvm ] || echo "l1-init: no /dev/kvm (is SVM in the L1 CPU model? QEMU needs -cpu max)"
# Only errors from the L1 kernel on the console from here on, so the test's output stays readable.
dmesg -n 4
# L1 itself occasionally wedges while it runs a 2-vCPU L2 (seen under heavy host load): its CPUs
# stop scheduling inside the VMM's KVM_RUN; the soft-lockup watchdog fires on each, or RCU
# reports a stall on one.  A userspace VMM cannot legitimately do that to a kernel, so the fault
# is below cellvm (L1's KVM under QEMU TCG's SVM emulation).  Panic at once, so run-nested.sh
# sees the lockup in seconds instead of waiting for its timeout, and can tell it from a test
# failure.
echo 1 >/proc/sys/kernel/softlockup_panic 2>/dev/null
echo 1 >/proc/sys/kernel/panic_on_rcu_stall 2>/dev/null
# L1 is configured as a cellvm host should be: guest RAM is a shared memfd (device processes
# map it), which gets transparent huge pages only with shmem THP at "advise" (cellvm madvises
# it with --memory thp=on, Cloud Hypervisor's default).  With "never", Debian's default, every
# 4 KiB of L2 RAM costs a nested page fault: ~18.7k against ~0.7k in one L2 boot (kvm_exit
# counts in L1).  QEMU's private guest RAM gets THP from "enabled" and is not affected.
echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null

timeout=600
for w in $(cat /proc/cmdline); do
	case "$w" in cellvm.timeout=*) timeout=${w#*=} ;; esac
done

[ ! -r /test/env.sh ] || . /test/env.sh
start=$(cut -d. -f1 /proc/uptime)
if [ -r /test/run.sh ]; then
	cd /test || exit 1
	# L2 shutdown exits (triple faults) with the guest's RIP, printed after the test (lib.sh).
	(. /test/lib.sh && l2_shutdowns_start) </dev/null
	# The sentinel beside the script ends it early when its L2 is stuck on a fault below cellvm
	# (lib.sh, l2_sentinel); it finds the script's pid in /run/l1-test.pid.  busybox timeout
	# execs the script (in the pid that wrote the file) and kills it from a watcher: status 137
	# means it fired.
	(. /test/lib.sh && l2_sentinel) </dev/null &
	sentinel=$!
	# shellcheck disable=SC2016 # $$ is the inner shell's
	sh -c 'echo $$ >/run/l1-test.pid && exec timeout -s KILL "$0" sh /test/run.sh' "$timeout"
	rc=$?
	kill "$sentinel" 2>/dev/null
	cd /
else
	echo "l1-init: no /test/run.sh (run-nested.sh appends it)"
	rc=1
fi
elapsed=$(($(cut -d. -f1 /proc/uptime) - start))
if [ -e /run/l1-sentinel ]; then
	echo "l1-init: /test/run.sh killed after ${elapsed} s: its L2 was stuck on a nested page fault (above)"
elif [ "$rc" -eq 137 ] && [ "$elapsed" -ge "$timeout" ]; then
	echo "l1-init: /test/run.sh killed after ${elapsed} s (cellvm.timeout=$timeout)"
fi
shutdowns=$(. /test/lib.sh && l2_shutdowns_say 'l1-init:   ')
if [ -n "$shutdowns" ]; then
	echo "l1-init: L2 shutdowns (triple faults) as L1's KVM saw them (rip: the guest's at the fault):"
	echo "$shutdowns"
fi
if [ "$rc" -ne 0 ]; then
	echo "l1-init: last L1 kernel messages:"
	dmesg | tail -n 15
fi
echo "CELLVM-L1: EXIT $rc"
sync
poweroff -f
sleep 10
echo o >/proc/sysrq-trigger
