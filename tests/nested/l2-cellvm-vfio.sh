#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): VFIO passthrough (issue 15). L0's QEMU gives L1 an
# Intel IOMMU, QEMU's edu device and an NVMe controller (run-nested.sh --qemu-arg, see
# tests/nested/meson.build) whose 16 MiB image holds data whose sha256 is $NVME_SHA. L1 binds both
# to vfio-pci and cellvm passes both to one L2 Linux boot:
#   edu   ident, factorial, a DMA round trip through a page of guest memory and an MSI
#         (tests/guest/edu-check.c), and its node is a Generic Initiator node (--numa device_id=);
#         eduintx: two INTx interrupts with edu bound to uio_pci_generic (edu-check.c --intx)
#   nvme  Linux's nvme driver binds the controller (MSI-X) and reads back the whole image
# While L2 runs, L1 checks each cellvm-vfiod's jail (Seccomp 2, NoNewPrivs 1, no capabilities,
# own namespaces, empty root) and that the core holds no /dev/vfio fd. After cellvm exits, both
# groups open again at once. With VFIO_QEMU_REFERENCE=1, QEMU in L1 passes the same devices to
# the same guest first (the bench's reference). Then a shorter second boot: L1 starts
# cellvm-vfiod standalone (--socket-path, it opens the edu group itself) and cellvm is only its
# vfio-user client (--user-device socket=); the guest passes boot,edu, L1 checks that vfiod's
# seccomp filter and privileges, and once that vfiod is killed the group opens again. Then the
# respawn (issue 19): the NVMe alone, its vfiod killed under a guest reading it in a loop (the
# replacement takes the device over as it is, no reset: every round reads the right data without
# an error); edu alone (a device without a function reset), its vfiod killed between two checks:
# the second passes, DMA and MSI included. Needs cellvm, cellvm-core, cellvm-vfiod and
# cellvm-edu-check in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
rc=0
d=/tmp/vfio
mkdir -p $d/logs
l2_initrd_with $d /opt/cellvm/bin/cellvm-edu-check || exit 1

edu=$(vfio_bind 0x1234:0x11e8) || {
	l2_say "no edu device bound to vfio-pci (run-nested.sh --qemu-arg -device edu...)"
	exit 1
}
nvme=$(vfio_bind 0x1b36:0x0010) || {
	l2_say "no NVMe controller bound to vfio-pci"
	exit 1
}
l2_say "edu $edu (group $(vfio_group "$edu")), nvme $nvme (group $(vfio_group "$nvme")) bound to vfio-pci"

checks=boot,edu,eduintx,nvme:/dev/nvme0n1:$NVME_SHA
if [ "${VFIO_QEMU_REFERENCE:-0}" = 1 ]; then
	L2_INITRD=$d/initrd L2_LOGDIR=$d/qlogs run_l2_qemu 200 "$checks" \
		-device "vfio-pci,host=$edu" -device "vfio-pci,host=$nvme" || rc=1
fi

# L1's side while the guest sleeps after its device checks.
(
	fails=0
	if ! l2_wait_log $d/logs '^CELLVM-AGENT: PASS nvme$' 400; then
		echo "FAIL: the guest never passed its nvme check; nothing inspected"
		exit 1
	fi
	n=0
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		case $c in
		cellvm-vfiod)
			n=$((n + 1))
			inspect "${p#/proc/}" vfiod
			;;
		cellvm-core)
			for f in "$p"/fd/*; do
				t=$(readlink "$f")
				case $t in /dev/vfio/*) bad "the core holds $t (fd ${f##*/})" ;; esac
			done
			;;
		esac
	done
	[ "$n" -eq 2 ] || bad "$n cellvm-vfiod processes running, want 2"
	[ "$fails" -eq 0 ] || exit 1
	echo "L1: both cellvm-vfiod are jailed, the core holds no VFIO group"
) >$d/inspect.log 2>&1 &
inspector=$!

checks=$checks,ginode:1,sleep:8
L2_LOGDIR=$d/logs l2_run 400 "$checks" cellvm-vfio \
	cellvm --kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" --initramfs $d/initrd \
	--cmdline "$(l2_cmdline "$checks")" --cpus boot=1 --memory size=0 \
	--memory-zone id=m0,size=512M \
	--numa guest_numa_id=0,cpus=[0],memory_zones=[m0] guest_numa_id=1,device_id=edu0 \
	--device "path=/sys/bus/pci/devices/$edu,id=edu0" "path=/sys/bus/pci/devices/$nvme" \
	--serial tty --console off -v || rc=1
l2_quit_if_tripled "$inspector:$d/inspect.log"
wait $inspector || rc=1
sed 's/^/L1 inspect: /' $d/inspect.log
grep -q '^L1: both cellvm-vfiod' $d/inspect.log || rc=1

# Every fd of the groups is gone with cellvm: both open again at once.
for b in "$edu" "$nvme"; do
	g=$(vfio_group "$b")
	if (exec 3<>"/dev/vfio/$g") 2>/dev/null; then
		l2_say "group $g ($b) opens again after cellvm exited"
	else
		l2_say "group $g ($b) cannot be opened after cellvm exited (still held?)"
		rc=1
	fi
done

# --user-device: an external vfio-user server, here cellvm-vfiod run standalone. VFIO pins the
# guest's RAM against the server's RLIMIT_MEMLOCK, which is ours to raise.
mem=${L2_MEM:-512}
rm -f $d/edu.sock
(
	ulimit -l $((mem * 1024 + 88 * 1024))
	exec cellvm-vfiod --socket-path $d/edu.sock --device "path=/sys/bus/pci/devices/$edu" \
		--seccomp=on
) >$d/vfiod-standalone.log 2>&1 &
vfiod=$!
i=0
while [ ! -S $d/edu.sock ] && [ "$i" -lt 30 ] && kill -0 $vfiod 2>/dev/null; do
	sleep 1
	i=$((i + 1))
done
if [ -S $d/edu.sock ]; then
	l2_say "standalone cellvm-vfiod ($vfiod) listens on $d/edu.sock"
	# Its jail while it serves the guest: the filter and no privileges are what the standalone
	# mode must have; the rest of inspect's view (namespaces, root) is shown, not required.
	(
		fails=0
		l2_wait_log $d/ulogs '^CELLVM-AGENT: PASS edu$' 300 || {
			echo "FAIL: the guest never passed its edu check; nothing inspected"
			exit 1
		}
		inspect $vfiod vfiod-standalone | sed 's/^FAIL: /shown, not required: /'
		fails=0
		for f in Seccomp:2 NoNewPrivs:1 CapEff:0000000000000000; do
			v=$(field $vfiod "${f%%:*}")
			[ "$v" = "${f#*:}" ] || bad "standalone vfiod: ${f%%:*} is '$v', want ${f#*:}"
		done
		[ "$fails" -eq 0 ] && echo "L1: the standalone cellvm-vfiod is jailed"
	) >$d/uinspect.log 2>&1 &
	uinspector=$!
	checks=boot,edu,sleep:6
	L2_LOGDIR=$d/ulogs l2_run 300 "$checks" cellvm-user-device \
		cellvm --kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" --initramfs $d/initrd \
		--cmdline "$(l2_cmdline "$checks")" --cpus boot=1 --memory "size=${mem}M" \
		--user-device "socket=$d/edu.sock,id=uedu" --serial tty --console off -v || rc=1
	l2_quit_if_tripled "$uinspector:$d/uinspect.log" "$vfiod:$d/vfiod-standalone.log"
	wait $uinspector || rc=1
	sed 's/^/L1 inspect: /' $d/uinspect.log
	grep -q '^L1: the standalone cellvm-vfiod is jailed' $d/uinspect.log || rc=1
	kill -0 $vfiod 2>/dev/null || {
		l2_say "standalone cellvm-vfiod exited during the boot (it serves until killed)"
		rc=1
	}
else
	l2_say "standalone cellvm-vfiod never listened on $d/edu.sock"
	rc=1
fi
kill $vfiod 2>/dev/null
wait $vfiod
sed 's/^/L1 vfiod: /' $d/vfiod-standalone.log
g=$(vfio_group "$edu")
if (exec 3<>"/dev/vfio/$g") 2>/dev/null; then
	l2_say "group $g ($edu) opens again after the standalone cellvm-vfiod was killed"
else
	l2_say "group $g ($edu) cannot be opened after the standalone cellvm-vfiod was killed"
	rc=1
fi
# Respawn (issue 19). A third boot with only the NVMe controller: the guest reads the whole
# namespace in rounds (nvmerespawn) and L1 SIGKILLs its cellvm-vfiod once after round 2. The
# controller kept the container, group and device fds, so the device, its DMA mappings and its
# interrupt triggers outlive the process; the core lets go of the dead server's BAR mappings
# with the vCPUs stopped, the replacement starts with the same fds and the core reconnects it
# without a reset. Every round reads the image, none with an error.
(
	l2_wait_log $d/rlogs '^CELLVM-AGENT: NVME-ROUND 2$' 400 || {
		echo "FAIL: no NVME-ROUND 2 cue"
		exit 1
	}
	old=$(l1_child vfiod) || {
		echo "FAIL: no cellvm-vfiod child to kill"
		exit 1
	}
	kill -9 "$old"
	echo "L1: killed cellvm-vfiod $old"
	i=0
	while [ "$i" -lt 300 ]; do
		new=$(l1_child vfiod) && [ "$new" != "$old" ] && {
			echo "L1: replacement cellvm-vfiod $new"
			exit 0
		}
		sleep 0.1
		i=$((i + 1))
	done
	echo "FAIL: no replacement cellvm-vfiod within 30 s"
	exit 1
) >$d/rkill.log 2>&1 &
killer=$!
rm -f $d/rev.log
checks=nvmerespawn:/dev/nvme0n1:$NVME_SHA:8
L2_APPEND="nvme_core.io_timeout=5 nvme_core.admin_timeout=5${L2_APPEND:+ $L2_APPEND}" L2_LOGDIR=$d/rlogs l2_run 500 "$checks" \
	cellvm-vfio-respawn cellvm --kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" --initramfs $d/initrd \
	--cmdline "$(L2_APPEND="nvme_core.io_timeout=5 nvme_core.admin_timeout=5${L2_APPEND:+ $L2_APPEND}" l2_cmdline "$checks")" \
	--cpus boot=1 --memory "size=${mem}M" --device "path=/sys/bus/pci/devices/$nvme" \
	--event-monitor path=$d/rev.log --serial tty --console off -v || rc=1
l2_quit_if_tripled "$killer:$d/rkill.log"
wait $killer || rc=1
sed 's/^/L1 respawn: /' $d/rkill.log
if grep -qs 'device-respawned' $d/rev.log; then
	l2_say "the event log has device-respawned for the NVMe's cellvm-vfiod"
else
	l2_say "no device-respawned event in $d/rev.log"
	rc=1
fi

# And a device without a function reset (edu): its vfiod killed after the first check, the
# replacement takes it over as it was, and the second check (ident, factorial, DMA, MSI) passes.
(
	l2_wait_log $d/elogs '^CELLVM-AGENT: PASS edu$' 300 || exit 1
	old=$(l1_child vfiod) && kill -9 "$old" && echo "L1: killed edu's cellvm-vfiod $old" || exit 1
	i=0
	while [ "$i" -lt 300 ]; do
		new=$(l1_child vfiod) && [ "$new" != "$old" ] && {
			echo "L1: replacement cellvm-vfiod $new"
			exit 0
		}
		sleep 0.1
		i=$((i + 1))
	done
	echo "FAIL: no replacement cellvm-vfiod within 30 s"
	exit 1
) >$d/ekill.log 2>&1 &
killer=$!
checks=boot,edu,sleep:10,edu
L2_LOGDIR=$d/elogs l2_run 300 "$checks" cellvm-vfio-respawn-edu cellvm \
	--kernel "${L2_KERNEL:-$L2_IMAGES/vmlinux}" --initramfs $d/initrd \
	--cmdline "$(l2_cmdline "$checks")" --cpus boot=1 --memory "size=${mem}M" \
	--device "path=/sys/bus/pci/devices/$edu" --serial tty --console off -v || rc=1
l2_quit_if_tripled "$killer:$d/ekill.log"
wait $killer || rc=1
sed 's/^/L1 edu kill: /' $d/ekill.log
if [ "$(grep -c '^CELLVM-AGENT: PASS edu$' $d/elogs/*.log 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }')" -ge 2 ]; then
	l2_say "edu passed again after its cellvm-vfiod was replaced"
else
	l2_say "edu did not pass twice around the replacement of its cellvm-vfiod"
	rc=1
fi
# The controller held the device's fds across the replacement: they go with the VM.
g=$(vfio_group "$edu")
if (exec 3<>"/dev/vfio/$g") 2>/dev/null; then
	l2_say "group $g ($edu) opens again after the VM with a replaced cellvm-vfiod ended"
else
	l2_say "group $g ($edu) cannot be opened after the VM with a replaced cellvm-vfiod ended"
	rc=1
fi
exit $rc
