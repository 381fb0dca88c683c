#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): virtio-iommu (issue 20: --platform iommu_segments=
# and iommu=on on devices), with Debian's 6.12 cloud kernel for L2 (CONFIG_VIRTIO_IOMMU=m,
# CONFIG_ACPI_VIOT=y; the 6.1 one has no virtio-iommu driver), built by
# `build-images.sh --l2-612` and passed per run to /images/l2-612 (run-nested.sh --add; it is not
# in the cached L1 image). In one L1 boot:
#  (a) the reference: QEMU q35 with virtio-iommu-pci (and its ACPI VIOT table), a virtio-blk disk
#      and a virtio-rng device behind it (iommu_platform=on); skipped with
#      IOMMU_QEMU_REFERENCE=0;
#  (b) cellvm: --platform num_pci_segments=2,iommu_segments=[1], a disk and a NIC on segment 1
#      (iommu=on, which an IOMMU segment requires), and --rng iommu=on on segment 0.
# Both run the agent's `iommu` check: virtio_iommu binds and registers an IOMMU, the disk
# appears (its probe waits for the IOMMU), it and every other virtio function have an IOMMU
# group, 4 MiB written with O_DIRECT read back the same (sha256), no fault in dmesg; then rng
# reads /dev/hwrng and (cellvm) net pings L1 over the TAP, both through the IOMMU too.
# When (b) fails, the same boot runs again without iommu_segments and iommu=on, so the log says
# whether the fault is the IOMMU's or not. IOMMU_CELLVM_OFF=1 runs only
# that boot (the disk's PCI address, the 6.12 kernel under cellvm, its disk and NIC on segment 1,
# no IOMMU); IOMMU_CELLVM=0 leaves cellvm out, IOMMU_QEMU_ROUNDS=N repeats (a).
# IOMMU_BOOT_COMPARE=1 adds cellvm boots of the 6.1 and the 6.12 kernel (PVH, `boot` check
# only), timed. Exit 77 when the 6.12 images could not be built (no package: the reason is in
# /images/l2-612/SKIP). Needs cellvm, cellvm-core, cellvm-blockd, cellvm-netd and cellvm-rngd
# in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
k=$L2_IMAGES/l2-612
if [ -e "$k/SKIP" ]; then
	echo "SKIP: no 6.12 L2 images: $(cat "$k/SKIP")"
	exit 77
fi
for f in vmlinux l2-initramfs.cpio.gz; do
	[ -e "$k/$f" ] || {
		echo "$k/$f missing: pass build-images.sh --l2-612's OUTDIR/l2-612 with" \
			"run-nested.sh --add OUTDIR/l2-612:/images/l2-612"
		exit 1
	}
done
echo "l2-612: $(grep l2-kernel "$k/versions.txt")"
rc=0
d=/tmp/iommu
mkdir -p $d
truncate -s 64M $d/qemu.img $d/cellvm.img
tap=cvmtap0
net="tap=$tap,ip=169.254.10.1,mask=255.255.0.0,mac=52:54:00:0a:0b:0e"
l2_tun_dev

now() { cut -d' ' -f1 /proc/uptime; }
# timed NAME CMD...: runs CMD (a run_l2_* call), says how long it took and how it ended.
timed() {
	local name=$1 t0 r=0
	shift
	t0=$(now)
	"$@" || r=1
	echo "iommu-test: $name: $([ $r = 0 ] && echo PASS || echo FAIL)" \
		"in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
	return $r
}

# The L2 kernel and initramfs of the runs that follow (plain assignments: a prefix assignment
# to a function call may outlive the call in busybox sh).
# shellcheck disable=SC2034 # read by lib.sh's run_l2_*
k612() { L2_KERNEL=$k/vmlinux L2_INITRD=$k/l2-initramfs.cpio.gz; }
# shellcheck disable=SC2034
k61() { L2_KERNEL=$L2_IMAGES/vmlinux L2_INITRD=$L2_IMAGES/l2-initramfs.cpio.gz; }
k612

# (a) QEMU: the IOMMU on 00:03.0, the disk on 00:04.0, the RNG on 00:05.0 (fixed, so the check
# can name the disk's function). disable-legacy: iommu_platform needs a modern-only device.
# Two vCPUs in both VMMs' IOMMU runs: Linux's virtio-iommu driver busy-waits, IRQs off, for the
# answer to each request it queued; a request never answered hangs a one-vCPU guest without a
# word (seen once in five QEMU runs here, under a host load of 10: the agent stopped right after
# START, L1's QEMU idle, its vCPU thread running), while with two the other vCPU can still run
# the agent and the kernel's RCU stall detector (pr_err, shown under `quiet`) should name the
# stuck CPU's backtrace. Three QEMU runs with two vCPUs passed here.
# IOMMU_QEMU_ROUNDS=N repeats it.
n=0
while [ "${IOMMU_QEMU_REFERENCE:-1}" = 1 ] && [ "$n" -lt "${IOMMU_QEMU_ROUNDS:-1}" ]; do
	n=$((n + 1))
	L2_CPUS=2
	timed qemu-6.12-iommu run_l2_qemu 180 boot,iommu:/dev/vda:0000-00-04.0:virtio,rng \
		-device virtio-iommu-pci,addr=0x3 \
		-drive file=$d/qemu.img,if=none,id=d0,format=raw \
		-device virtio-blk-pci,drive=d0,addr=0x4,disable-legacy=on,iommu_platform=on \
		-object rng-random,id=rng0,filename=/dev/urandom \
		-device virtio-rng-pci,rng=rng0,addr=0x5,disable-legacy=on,iommu_platform=on || rc=1
done

# (b) cellvm: the disk is the first device of segment 1 (0001:00:01.0, device 0 being the
# segment's host bridge), the NIC the second. Then L1 kills cellvm-blockd during the guest's
# O_DIRECT rounds through the IOMMU (blkrespawn): its replacement must get the domain's mappings
# again before its rings restart, or the rounds after the kill fail.
cellvm_iommu() {
	local r=0 killer
	L2_CPUS=2
	L2_LOGDIR=$d/logs
	mkdir -p "$L2_LOGDIR"
	(
		if l2_wait_log "$L2_LOGDIR" '^CELLVM-AGENT: BLK-ROUND 3$' 200; then
			l1_kill_child blockd
		else
			echo "FAIL: no BLK-ROUND 3 cue"
			exit 1
		fi
	) >$d/killer.log 2>&1 &
	killer=$!
	timed cellvm-6.12-iommu run_l2_cellvm 240 \
		boot,iommu:/dev/vda:0001-00-01.0:virtio,pcidev:/dev/vda:0001-00-01.0,rng,net:169.254.10.2:169.254.10.1,blkrespawn:/dev/vda:20,noioerr \
		--platform "num_pci_segments=2,iommu_segments=[1]" \
		--disk "path=$d/cellvm.img,image_type=raw,pci_segment=1,iommu=on" \
		--net "$net,pci_segment=1,iommu=on" \
		--rng "src=/dev/urandom,iommu=on" || r=1
	l2_quit_if_tripled "$killer:$d/killer.log"
	kill $killer 2>/dev/null
	wait $killer || r=1
	sed 's/^/L1 killer: /' $d/killer.log
	grep -q '^L1: replacement cellvm-blockd' $d/killer.log || r=1
	grep -E 'replacement|took over|IOMMU|IOTLB' "$L2_LOG" | sed 's/^/L1 cellvm: /'
	L2_LOGDIR=/tmp/l2-logs
	return $r
}
# The same devices without the IOMMU: what works without it.
cellvm_plain() {
	L2_CPUS=2
	timed cellvm-6.12-no-iommu run_l2_cellvm 240 \
		boot,pcidev:/dev/vda:0001-00-01.0,blk:/dev/vda:4,rng,net:169.254.10.2:169.254.10.1 \
		--platform num_pci_segments=2 \
		--disk "path=$d/cellvm.img,image_type=raw,pci_segment=1" \
		--net "$net,pci_segment=1" \
		--rng src=/dev/urandom
}
if [ "${IOMMU_CELLVM:-1}" = 0 ]; then
	:
elif [ "${IOMMU_CELLVM_OFF:-0}" = 1 ]; then
	cellvm_plain || rc=1
elif ! cellvm_iommu; then
	rc=1
	l2_say "the IOMMU run failed; the same devices without the IOMMU, for comparison:"
	if cellvm_plain; then
		l2_say "without the IOMMU they work: the failure is the IOMMU's"
	else
		rc=1
	fi
fi

if [ "${IOMMU_BOOT_COMPARE:-0}" = 1 ]; then
	# shellcheck disable=SC2034 # read by lib.sh's run_l2_cellvm
	L2_CPUS=1
	for _ in 1 2; do
		k61
		timed cellvm-6.1-boot run_l2_cellvm 150 boot || rc=1
		k612
		timed cellvm-6.12-boot run_l2_cellvm 150 boot || rc=1
	done
fi
exit $rc
