#!/bin/bash
# build-images.sh [--cache DIR] [--force] [--l2-612] OUTDIR
#
# Builds the guest images of the nested bench from Debian packages (apt-get download, dpkg-deb -x),
# with nothing prebuilt:
#   OUTDIR/vmlinuz               L2 kernel, the bzImage of Debian's linux-image-cloud-amd64
#   OUTDIR/vmlinux               the ELF inside it, checked for the PVH entry note (PVH boot)
#   OUTDIR/l2-initramfs.cpio.gz  busybox, the kernel's virtio modules, the test agent as /init
#   OUTDIR/l1-kernel             L1 kernel (bzImage) that runs under QEMU TCG and hosts KVM
#   OUTDIR/l1-initramfs.cpio.lz4 busybox, kvm/tun/veth/vfio modules, iproute2, the host's QEMU with
#                                its libraries and firmware in /opt/qemu, the L2 images in /images,
#                                /test/lib.sh, and an /init that runs /test/run.sh
#   OUTDIR/l1-files.txt          the paths in the L1 image (run-nested.sh skips libraries it has)
#   OUTDIR/versions.txt          what went in
# Everything is keyed by one hash of its inputs (package versions, the host files copied in, the
# builder's own files); when OUTDIR/.stamp matches, nothing is rebuilt.
#
# --l2-612 (or CELLVM_L2_612=1) also builds a second, optional L2 set from Debian's 6.12 cloud
# kernel (linux-image-6.12-cloud-amd64, followed to its versioned package), whose
# CONFIG_VIRTIO_IOMMU=m and CONFIG_ACPI_VIOT=y the 6.1 kernel lacks:
#   OUTDIR/l2-612/vmlinux (PVH ELF, checked), l2-initramfs.cpio.gz (the same busybox and agent,
#   the 6.12 virtio modules and virtio_iommu), versions.txt: what a test passes to L1
#   OUTDIR/l2-612.vmlinuz (its bzImage, kept out of that directory: 12 MB that L1 would unpack
#   under TCG for nothing)
# It has its own key (OUTDIR/.stamp-l2-612) and never enters the main set or its key; it is not in
# the L1 image: tests pass it per run (run-nested.sh --add OUTDIR/l2-612:/images/l2-612).  When
# the kernel package cannot be resolved or downloaded, OUTDIR/l2-612 holds only a file SKIP with
# the reason (a test then exits 77) and the main set is built as usual.
#
# Environment: CELLVM_CACHE (where .debs are kept, default OUTDIR/.debs), CELLVM_L2_KERNEL and
# CELLVM_L1_KERNEL (packages, default linux-image-cloud-amd64: it has the virtio modules for L2
# and kvm, kvm-amd, irqbypass, tun, veth, vfio-pci for L1), QEMU (default qemu-system-x86_64),
# CELLVM_L2_612 (1: --l2-612), CELLVM_L2_612_KERNEL (its package, default
# linux-image-6.12-cloud-amd64; a versioned linux-image-6.12.N+debX-cloud-amd64[-unsigned] too).
set -euo pipefail
# depmod and mknod live in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
nested=$(cd "$here/../nested" && pwd)
# shellcheck source=image-lib.sh
. "$here/image-lib.sh"

force=0
cache=
l2_612=${CELLVM_L2_612:-0}
only_612=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) cache=$2; shift 2 ;;
	--force) force=1; shift ;;
	--l2-612) l2_612=1; shift ;;
	# (internal: the optional set alone, in a child process of the main build)
	--only-l2-612) only_612=1; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: build-images.sh [--cache DIR] [--force] [--l2-612] OUTDIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${cache:-${CELLVM_CACHE:-$out/.debs}}
# shellcheck disable=SC2034 # read by image-lib.sh
APT_CACHE_DIR=$cache

L2_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio
	virtio_blk failover net_failover virtio_net vsock vmw_vsock_virtio_transport_common
	vmw_vsock_virtio_transport virtio_console nvram uio uio_pci_generic fuse virtiofs virtio_rng
	virtio_balloon virtio_mem libnvdimm nd_btt nd_pmem nd_virtio virtio_pmem"
# The 6.12 set: the same, and virtio_iommu right after virtio_pci.  The agent loads them in this
# order: virtio_pci binds the IOMMU's function and defers the endpoints behind it (the VIOT
# table names them, virtio_iommu being a module), which bind once virtio_iommu registers.
L2_612_MODULES=${L2_MODULES/virtio_pci virtio_mmio/virtio_pci virtio_iommu virtio_mmio}
# L1 runs the VMMs: KVM, TAP and veth for networking, VFIO for device assignment, vhost for
# comparisons with the kernel backends, and virtio in case a test gives L1 a disk or NIC.
L1_MODULES="irqbypass kvm kvm_amd tun veth bridge vfio vfio_iommu_type1 vfio_pci vhost_net
	vhost_vsock virtio_pci virtio_blk virtio_net"
# Firmware the L1 QEMU may load: SeaBIOS and qboot, the -kernel option ROMs (linuxboot, pvh,
# multiboot), kvmvapic, and the NIC option ROMs that virtio-net-pci/e1000e ask for.
QEMU_FIRMWARE="bios.bin bios-256k.bin bios-microvm.bin qboot.rom linuxboot.bin linuxboot_dma.bin
	pvh.bin multiboot.bin multiboot_dma.bin kvmvapic.bin efi-virtio.rom efi-e1000e.rom efi-e1000.rom"

# l2_612_resolve: "NAME VERSION" of the 6.12 cloud kernel package.  Its metapackage's name starts
# with a digit, which deb_resolve takes for a versioned package, so its Depends is followed here;
# when apt has no such metapackage, the newest linux-image-6.12.N+debX-cloud-amd64[-unsigned]
# with a candidate version is taken.
l2_612_resolve() {
	local pkg=${CELLVM_L2_612_KERNEL:-linux-image-6.12-cloud-amd64} dep
	case "$pkg" in
	linux-image-[0-9]*.[0-9]*.[0-9]*) deb_resolve "$pkg"; return ;;
	esac
	dep=$(apt_show "$pkg" | sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
	if [ -z "$dep" ]; then
		# shellcheck disable=SC2046 # options are words
		dep=$(apt-cache $(apt_opts) pkgnames linux-image-6.12. 2>/dev/null |
			grep -E '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-cloud-amd64(-unsigned)?$' | sort -rV |
			while read -r p; do
				[ -z "$(apt_show "$p" | sed -n 's/^Version: //p')" ] || { echo "$p"; break; }
			done)
	fi
	[ -n "$dep" ] || die "apt knows no $pkg and no linux-image-6.12.*-cloud-amd64 package (apt-get update?)"
	deb_resolve "$dep"
}

# skip_612 WHY: the optional set cannot be built: OUTDIR/l2-612 says why, for the tests.
skip_612() {
	rm -rf "$out/l2-612" "$out/l2-612.vmlinuz" "$out/.stamp-l2-612"
	mkdir -p "$out/l2-612"
	echo "$*" >"$out/l2-612/SKIP"
	note "l2-612: $* (tests of the 6.12 set will skip)"
	exit 77
}

# build_l2_612: the optional L2 set in OUTDIR/l2-612 (see the top); exits 77 through skip_612
# when the kernel package cannot be resolved or fetched, 1 on any other failure.
build_l2_612() {
	local dir="$out/l2-612" res k kv bb bbv key kdeb bbdeb rel f t0
	res=$(l2_612_resolve) ||
		skip_612 "apt cannot resolve ${CELLVM_L2_612_KERNEL:-linux-image-6.12-cloud-amd64} to a 6.12 cloud kernel package"
	read -r k kv <<<"$res"
	res=$(deb_resolve busybox-static)
	read -r bb bbv <<<"$res"
	key=$(
		{
			echo "$k=$kv $bb=$bbv"
			echo "$L2_612_MODULES"
			(cd "$here" && sha256sum agent.sh image-lib.sh extract-vmlinux.sh build-images.sh)
		} | sha256sum | cut -c1-16
	)
	if [ "$force" = 0 ] && [ "$(cat "$out/.stamp-l2-612" 2>/dev/null)" = "$key" ] &&
		[ -e "$dir/vmlinux" ] && [ -e "$dir/l2-initramfs.cpio.gz" ] && [ -e "$out/l2-612.vmlinuz" ]; then
		note "l2-612 images in $dir are up to date ($key)"
		return 0
	fi
	t0=$SECONDS
	note "building the l2-612 images in $dir ($k $kv, inputs $key)"
	kdeb=$(deb_fetch "$cache" "$k" "$kv") || skip_612 "cannot download $k=$kv"
	bbdeb=$(deb_fetch "$cache" "$bb" "$bbv")
	w="$out/.work-l2-612" # (global: the EXIT trap runs after this function returned)
	rm -rf "$w" "$out/.stamp-l2-612"
	mkdir -p "$w"
	trap 'rm -rf "$w"' EXIT
	rel=$(kernel_tree "$kdeb" "$w/k")
	cp "$w/k/boot/vmlinuz-$rel" "$w/vmlinuz"
	"$here/extract-vmlinux.sh" "$w/vmlinuz" "$w/vmlinux" >&2
	install_busybox "$bbdeb" "$w/root"
	# shellcheck disable=SC2086 # module lists are word lists
	install_mods "$w/k/lib/modules/$rel" "$w/root" $L2_612_MODULES
	install -m 0755 "$here/agent.sh" "$w/root/init"
	mkdir -p "$w/root/dev" "$w/root/proc" "$w/root/sys" "$w/root/tmp" "$w/root/root"
	mknod -m 600 "$w/root/dev/console" c 5 1 2>/dev/null || true
	mkcpio "$w/root" "$w/l2-initramfs.cpio.gz" gzip
	printf 'inputs %s\nl2-kernel %s %s %s\nbusybox %s %s\n' "$key" "$k" "$kv" "$rel" "$bb" "$bbv" \
		>"$w/versions.txt"
	rm -rf "$dir"
	mkdir -p "$dir"
	for f in vmlinuz vmlinux l2-initramfs.cpio.gz versions.txt; do chmod 0644 "$w/$f"; done
	mv -f "$w/vmlinuz" "$out/l2-612.vmlinuz"
	for f in vmlinux l2-initramfs.cpio.gz versions.txt; do mv -f "$w/$f" "$dir/$f"; done
	echo "$key" >"$out/.stamp-l2-612"
	note "l2-612 done in $((SECONDS - t0)) s: $(cd "$out" && du -sh l2-612.vmlinuz l2-612/vmlinux l2-612/l2-initramfs.cpio.gz | tr '\t\n' ': ')"
}

if [ "$only_612" = 1 ]; then
	build_l2_612
	exit 0
fi

qemu=$(command -v "${QEMU:-qemu-system-x86_64}") || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
qemu=$(readlink -f "$qemu")
qemu_prefix=$(dirname "$(dirname "$qemu")")

# host_qemu_files: "HOSTPATH L1PATH" for QEMU, its firmware and TCG module.  QEMU finds data and
# modules relative to its binary (<bin>/../share/qemu ...), so its tree is kept under /opt/qemu.
host_qemu_files() {
	local dir rel f
	echo "$qemu /opt/qemu/bin/qemu-system-x86_64"
	while read -r dir; do
		dir=$(readlink -f "$dir")
		rel=${dir#"$qemu_prefix"/}
		for f in $QEMU_FIRMWARE; do
			[ -e "$dir/$f" ] && echo "$dir/$f /opt/qemu/$rel/$f"
		done
	done < <("$qemu" -L help)
	for f in "$qemu_prefix"/lib/*/qemu/accel-tcg-x86_64.so; do
		[ -e "$f" ] && echo "$f /opt/qemu/${f#"$qemu_prefix"/}"
	done
	for f in /sbin/ip /sbin/bridge; do
		[ -x "$f" ] && echo "$f $f"
	done
	return 0
}

# Assignments, not process substitution, so that a failed resolution stops the build.
res=$(deb_resolve "${CELLVM_L2_KERNEL:-linux-image-cloud-amd64}")
read -r l2k l2kv <<<"$res"
if [ "${CELLVM_L1_KERNEL:-}" != "${CELLVM_L2_KERNEL:-}" ]; then
	res=$(deb_resolve "${CELLVM_L1_KERNEL:-linux-image-cloud-amd64}")
fi
read -r l1k l1kv <<<"$res"
res=$(deb_resolve busybox-static)
read -r bb bbv <<<"$res"
mapfile -t hostfiles < <(host_qemu_files)
[ "${#hostfiles[@]}" -gt 1 ] || die "no QEMU firmware found (apt-get install qemu-system-x86 seabios ipxe-qemu)"

hostpaths=()
for hf in "${hostfiles[@]}"; do hostpaths+=("${hf%% *}"); done
mapfile -t hostlibs < <(host_libs "${hostpaths[@]}")

# Asked for, the optional set is built in a child process (its own set -e and trap); a
# skip there does not stop the main set.  (After the main set's package resolution, which
# runs apt-get update when the lists are empty.)
if [ "$l2_612" = 1 ]; then
	rc=0
	args=(--cache "$cache" --only-l2-612)
	[ "$force" = 0 ] || args+=(--force)
	CELLVM_L2_612=0 bash "${BASH_SOURCE[0]}" "${args[@]}" "$out" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || die "the l2-612 images failed to build (status $rc)"
fi

key=$(
	{
		echo "$l2k=$l2kv $l1k=$l1kv $bb=$bbv"
		echo "$L2_MODULES $L1_MODULES"
		printf '%s\n' "${hostfiles[@]}"
		sha256sum "${hostpaths[@]}" "${hostlibs[@]}"
		(cd "$here" && sha256sum ./*.sh)
		sha256sum "$nested/l1-init.sh" "$nested/l1-lib.sh" | sed "s| $nested/| |"
	} | sha256sum | cut -c1-16
)

outputs="vmlinuz vmlinux l2-initramfs.cpio.gz l1-kernel l1-initramfs.cpio.lz4 l1-files.txt versions.txt"
if [ "$force" = 0 ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$key" ]; then
	missing=0
	for f in $outputs; do [ -e "$out/$f" ] || missing=1; done
	if [ "$missing" = 0 ]; then
		note "images in $out are up to date ($key)"
		exit 0
	fi
fi

t0=$SECONDS
note "building images in $out (inputs $key)"
work="$out/.work"
rm -rf "$work" "$out/.stamp"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

l2deb=$(deb_fetch "$cache" "$l2k" "$l2kv")
l1deb=$(deb_fetch "$cache" "$l1k" "$l1kv")
bbdeb=$(deb_fetch "$cache" "$bb" "$bbv")

l2rel=$(kernel_tree "$l2deb" "$work/k2")
if [ "$l1deb" = "$l2deb" ]; then
	ln -s k2 "$work/k1"
	l1rel=$l2rel
else
	l1rel=$(kernel_tree "$l1deb" "$work/k1")
fi

# L2 kernel, bzImage and PVH ELF.
cp "$work/k2/boot/vmlinuz-$l2rel" "$work/vmlinuz"
"$here/extract-vmlinux.sh" "$work/vmlinuz" "$work/vmlinux" >&2

# L2 initramfs.
r2="$work/root2"
install_busybox "$bbdeb" "$r2"
# shellcheck disable=SC2086 # module lists are word lists
install_mods "$work/k2/lib/modules/$l2rel" "$r2" $L2_MODULES
install -m 0755 "$here/agent.sh" "$r2/init"
mkdir -p "$r2/dev" "$r2/proc" "$r2/sys" "$r2/tmp" "$r2/root"
# The kernel gives /init its stdio from /dev/console before anything is mounted: without the node
# in the archive, early output is lost.  mknod needs root; the agent reopens it after devtmpfs.
mknod -m 600 "$r2/dev/console" c 5 1 2>/dev/null || note "not root: no /dev/console node in the initramfs"
mkcpio "$r2" "$work/l2-initramfs.cpio.gz" gzip

# L1 initramfs.
r1="$work/root1"
install_busybox "$bbdeb" "$r1"
# shellcheck disable=SC2086
install_mods "$work/k1/lib/modules/$l1rel" "$r1" $L1_MODULES
for hf in "${hostfiles[@]}"; do
	copy_host "$r1" "${hf%% *}" "${hf#* }"
done
install -m 0755 "$nested/l1-init.sh" "$r1/init"
install -D -m 0644 "$nested/l1-lib.sh" "$r1/test/lib.sh"
mkdir -p "$r1/images" "$r1/dev" "$r1/proc" "$r1/sys" "$r1/tmp" "$r1/run" "$r1/root" "$r1/etc"
mknod -m 600 "$r1/dev/console" c 5 1 2>/dev/null || true
cp "$work/vmlinuz" "$work/vmlinux" "$work/l2-initramfs.cpio.gz" "$r1/images/"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r1/etc/passwd"
printf 'root:x:0:\nkvm:x:36:\nnogroup:x:65534:\n' >"$r1/etc/group"
(cd "$r1" && find . -mindepth 1 ! -type d | sed 's|^\.||' | LC_ALL=C sort) >"$work/l1-files.txt"
# LZ4, not gzip: L1 unpacks this under TCG, where gunzip of the ~125 MiB took 4-5 s and LZ4
# about 2 s (and lz4 compresses it in 0.5 s instead of 7 s here).
mkcpio "$r1" "$work/l1-initramfs.cpio.lz4" lz4
cp "$work/k1/boot/vmlinuz-$l1rel" "$work/l1-kernel"

{
	echo "inputs $key"
	echo "l2-kernel $l2k $l2kv $l2rel"
	echo "l1-kernel $l1k $l1kv $l1rel"
	echo "busybox $bb $bbv"
	echo "qemu $qemu $(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null || echo unknown)"
} >"$work/versions.txt"

for f in $outputs; do mv -f "$work/$f" "$out/$f"; done
echo "$key" >"$out/.stamp"
note "done in $((SECONDS - t0)) s: $(cd "$out" && du -sh vmlinuz vmlinux l2-initramfs.cpio.gz l1-kernel l1-initramfs.cpio.lz4 | tr '\t\n' ': ')"
