#!/bin/bash
# demo.sh [--auto | --vmm qemu|cellvm] [--check CHECKS] [--build DIR] [--images DIR] [--timeout SECS]
#
# Shows a Linux guest booting under a VMM: boots L1 (QEMU TCG) and, inside it, the L2 Debian cloud
# kernel with the test agent, printing L2's whole console (kernel messages included).  The agent
# runs CHECKS (default `boot`) and powers the guest off; `--check shell` gives an interactive
# shell in L2 instead (exit it to power off; Ctrl-A X leaves the outer QEMU at once).
#
#   --auto         what setup.sh runs: cellvm directly on /dev/kvm where it can boot Linux,
#                  otherwise L2 under cellvm inside the nested bench (and it says so)
#   --vmm qemu     L2 under QEMU with KVM (default, the reference)
#   --vmm cellvm   L2 under cellvm; its binaries come from the meson build dir (--build, default
#                  ./build) and are copied into L1 at /opt/cellvm/bin with their libraries
# Images default to the build dir's tests/nested/images when it exists (shared with meson test).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

die() {
	echo "demo: $*" >&2
	exit 2
}

vmm=qemu
check=boot
build=$top/build
images=
timeout=300
while [ $# -gt 0 ]; do
	case "$1" in
	--vmm) vmm=$2; shift 2 ;;
	--auto) vmm=auto; shift ;;
	--check) check=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--images) images=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
# --auto (what setup.sh runs): cellvm boots the guest directly where /dev/kvm can run Linux; on a
# software nested hypervisor (kvm_pvm) it cannot, so the demo goes one level down and says so.
if [ "$vmm" = auto ]; then
	vmm=cellvm
	if [ -e /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
		[ -n "$images" ] || images=$build/tests/nested/images
		"$top/tests/guest/build-images.sh" "$images" >/dev/null
		# A scratch disk and a vsock device; no network here: a TAP would land in the host's
		# own namespace (the nested demo below has one).
		d=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-demo.XXXXXX")
		trap 'rm -rf "$d"' EXIT
		truncate -s 64M "$d/disk.raw"
		echo "demo: booting the Debian cloud kernel under cellvm on this machine's /dev/kvm"
		echo "demo: with a 64 MiB virtio-blk disk (written and read back) and a vsock device"
		rc=0
		"$build/core/controller/cellvm" --kernel "$images/vmlinux" \
			--initramfs "$images/l2-initramfs.cpio.gz" \
			--cmdline "console=ttyS0 cellvm.check=$check,blk" \
			--cpus boot=2 --memory size=512M --serial tty --console off \
			--disk "path=$d/disk.raw,image_type=raw" \
			--vsock "cid=3,socket=$d/vsock.sock" || rc=$?
		exit "$rc"
	fi
	echo "demo: /dev/kvm here cannot boot a stock Linux kernel (software nested hypervisor):"
	echo "demo: running the demo one level down, inside the nested bench (QEMU TCG -> L1 KVM -> cellvm)"
fi
case "$vmm" in qemu | cellvm) ;; *) die "--vmm must be qemu or cellvm" ;; esac
if ! [[ "$timeout" =~ ^[0-9]+$ ]] || [ "$timeout" -lt 120 ]; then
	die "--timeout needs at least 120 s"
fi
case "$check" in *[!a-z0-9_:,]*) die "bad --check $check" ;; esac
if [ -z "$images" ] && [ -d "$build/tests/nested" ]; then
	images=$build/tests/nested/images
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

args=(--verbose --timeout "$timeout")
[ -z "$images" ] || args+=(--images "$images")
interactive=0
if [ -t 0 ]; then
	interactive=1
	args+=(--interactive)
fi
if [ "$vmm" = cellvm ]; then
	[ -d "$build" ] || die "no build dir $build (meson setup build && ninja -C build), or pass --build"
	n=0
	while IFS= read -r bin; do
		args+=(--add "$bin:/opt/cellvm/bin/$(basename "$bin")")
		n=$((n + 1))
	done < <(find "$build" -maxdepth 3 -type f -perm -u+x \( -name cellvm -o -name 'cellvm-*' \) ! -name '*.so*' ! -name '*test*')
	[ "$n" -gt 0 ] || die "no cellvm binaries under $build"
fi

# The L1 script: the L2 run with its kernel messages on the console.
if [ "$vmm" = cellvm ]; then
	# cellvm's guest gets a disk (written and read back), a NIC on a TAP in L1 with link-local
	# addresses only (pinged from the guest) and a vsock device.
	cat >"$tmp/demo-$vmm.sh" <<EOF
#!/bin/sh
. /test/lib.sh
export PATH=/opt/cellvm/bin:\$PATH
[ -c /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }
dd if=/dev/zero of=/tmp/demo-disk.raw bs=1M count=64 2>/dev/null
echo "demo: booting the L2 guest under cellvm with a disk, a NIC and a vsock device (checks: $check,blk,net)"
L2_VERBOSE=1 L2_INTERACTIVE=$interactive L2_CPUS=2 run_l2_cellvm $((timeout - 60)) \\
	$check,blk,net:169.254.10.2:169.254.10.1 \\
	--disk path=/tmp/demo-disk.raw,image_type=raw \\
	--net tap=cvmdemo0,ip=169.254.10.1,mask=255.255.0.0 \\
	--vsock cid=3,socket=/tmp/demo-vsock.sock
EOF
else
	cat >"$tmp/demo-$vmm.sh" <<EOF
#!/bin/sh
. /test/lib.sh
echo "demo: booting the L2 guest under $vmm (checks: $check)"
L2_VERBOSE=1 L2_INTERACTIVE=$interactive run_l2_$vmm $((timeout - 60)) $check
EOF
fi
rc=0
"$here/run-nested.sh" "${args[@]}" "$tmp/demo-$vmm.sh" || rc=$?
exit "$rc"
