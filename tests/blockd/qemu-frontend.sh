#!/bin/bash
# qemu-frontend.sh BLOCKD IMAGES_DIR [SCENARIO...]
#
# QEMU as an independent vhost-user frontend for a standalone cellvm-blockd: a Linux guest
# (QEMU TCG on the host, no nesting) with vhost-user-blk-pci runs the test agent's block checks.
# Scenarios (all by default):
#   rw       image_type=raw, 2 queues offered: 1 vCPU/1 queue writes a pattern and reads it
#            back, sees capacity and serial, discards and reads zeroes; then a second QEMU on
#            the SAME blockd (it must accept a new frontend) with 2 vCPUs and 2 queues does
#            the pattern check again
#   ro       readonly=on: the guest sees a read-only disk and cannot write it
#   sector0  autodetected raw: a write to sector 0 fails, one to sector 8 works
# Exits 77 when QEMU is missing, 1 on the first failure (with the serial log's tail).
set -uo pipefail

blockd=${1:?usage: qemu-frontend.sh BLOCKD IMAGES_DIR [SCENARIO...]}
images=${2:?usage: qemu-frontend.sh BLOCKD IMAGES_DIR [SCENARIO...]}
shift 2
scenarios=${*:-rw ro sector0}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
QEMU_TIMEOUT=${QEMU_TIMEOUT:-150}

say() { echo "qemu-frontend: $*"; }

if [ -z "${CELLVM_NO_IMAGE_BUILD:-}" ]; then
	"$here/../guest/build-images.sh" "$images" >&2 || { say "image build failed"; exit 1; }
fi
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -e "$images/$f" ] || { say "$images/$f missing"; exit 1; }
done

tmp=$(mktemp -d /var/tmp/cellvm-qfe.XXXXXX)
bpid=
cleanup() {
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# start_blockd NAME DISK_SPEC: serves $tmp/NAME.sock.
start_blockd() {
	rm -f "$tmp/$1.sock"
	"$blockd" --socket-path "$tmp/$1.sock" --disk "$2" 2>"$tmp/$1.blockd.log" &
	bpid=$!
	for _ in $(seq 100); do
		[ -S "$tmp/$1.sock" ] && return 0
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	say "cellvm-blockd did not come up: $(tail -n 5 "$tmp/$1.blockd.log")"
	return 1
}

stop_blockd() {
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	bpid=
}

# boot NAME SOCK NUM_QUEUES CPUS CHECKS: runs the guest, checks every PASS came out.
boot() {
	local name=$1 sock=$2 nq=$3 cpus=$4 checks=$5 log="$tmp/$1.serial" want got
	local t0=$SECONDS
	timeout "$QEMU_TIMEOUT" "$qemu" -M q35 -accel tcg -cpu max -smp "$cpus" -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-chardev socket,id=c0,path="$sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues="$nq" \
		-kernel "$images/vmlinuz" -initrd "$images/l2-initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet cellvm.check=$checks" \
		-display none -serial file:"$log" -no-reboot -nodefaults </dev/null \
		>"$tmp/$name.qemu.log" 2>&1
	want=$(echo "$checks" | tr ',' '\n' | sed 's/:.*//' | sort)
	got=$(sed -n 's/^CELLVM-AGENT: PASS \([^ ]*\).*/\1/p' "$log" | tr -d '\r' | sort)
	if [ "$want" != "$got" ] || ! grep -q 'CELLVM-AGENT: DONE' "$log"; then
		say "FAIL $name (checks $checks) after $((SECONDS - t0)) s"
		grep 'CELLVM-AGENT' "$log" | tr -d '\r' | sed 's/^/  /'
		tail -n 20 "$log" | sed 's/^/  serial: /'
		sed 's/^/  qemu: /' "$tmp/$name.qemu.log" | tail -n 5
		sed 's/^/  blockd: /' "$tmp"/*.blockd.log | tail -n 10
		return 1
	fi
	say "PASS $name ($checks) in $((SECONDS - t0)) s;$(grep -ao 'virtio_blk.*queues\|discard_max_bytes.*\|serial .*' "$log" | tr -d '\r' | tr '\n' ';')"
}

mkimg() {
	truncate -s "$2" "$tmp/$1.img"
}

fail=0
for s in $scenarios; do
	case "$s" in
	rw)
		mkimg rw 64M
		start_blockd rw "path=$tmp/rw.img,image_type=raw,num_queues=2,serial=cellvm-serial-42" || exit 1
		boot rw-1q "$tmp/rw.sock" 1 1 "blk,blkinfo:/dev/vda:131072:cellvm-serial-42,blkdiscard:/dev/vda:8:4" || fail=1
		kill -0 "$bpid" 2>/dev/null || { say "blockd exited after the first frontend"; exit 1; }
		boot rw-2q-reconnect "$tmp/rw.sock" 2 2 "smp:2,blkmq:/dev/vda:2,blk:/dev/vda:8" || fail=1
		stop_blockd
		;;
	ro)
		mkimg ro 16M
		start_blockd ro "path=$tmp/ro.img,image_type=raw,readonly=on" || exit 1
		boot ro "$tmp/ro.sock" 1 1 "blkro,blkinfo:/dev/vda:32768" || fail=1
		stop_blockd
		;;
	sector0)
		mkimg s0 16M
		start_blockd s0 "path=$tmp/s0.img" || exit 1
		boot sector0 "$tmp/s0.sock" 1 1 "blksector0" || fail=1
		stop_blockd
		;;
	*) say "unknown scenario $s"; exit 1 ;;
	esac
	[ "$fail" = 0 ] || exit 1
done
say "all passed: $scenarios"
