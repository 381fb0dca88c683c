#!/bin/bash
# qemu-frontend.sh BLOCKD IMAGES_DIR [SCENARIO...]   (BLK_CTL=path-to-blk-ctl for qcow2)
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
#   qcow2    a qcow2 disk over a qcow2 backing file over a raw one (backing_files=on, relative
#            names), 2 queues: backing data and zeroes past each shorter layer read right; a
#            write, sync and read back; a discard reads zeroes where the backing file has data;
#            then the disk grows through --control-socket while the guest runs (blk-ctl) and
#            the guest sees the new capacity and uses it; afterwards qemu-img check is clean
# Exits 77 when QEMU is missing, 1 on the first failure (with the serial log's tail).
set -uo pipefail

blockd=${1:?usage: qemu-frontend.sh BLOCKD IMAGES_DIR [SCENARIO...]}
images=${2:?usage: qemu-frontend.sh BLOCKD IMAGES_DIR [SCENARIO...]}
shift 2
scenarios=${*:-rw ro sector0 qcow2}
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

# start_blockd NAME DISK_SPEC [ARGS...]: serves $tmp/NAME.sock.
start_blockd() {
	local name=$1 spec=$2
	shift 2
	rm -f "$tmp/$name.sock"
	"$blockd" --socket-path "$tmp/$name.sock" --disk "$spec" "$@" 2>"$tmp/$name.blockd.log" &
	bpid=$!
	for _ in $(seq 100); do
		# The socket exists before a backing chain opens: give a refusal a moment to show.
		[ -S "$tmp/$name.sock" ] && sleep 0.2 && kill -0 "$bpid" 2>/dev/null && return 0
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	say "cellvm-blockd did not come up: $(tail -n 5 "$tmp/$name.blockd.log")"
	return 1
}

stop_blockd() {
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	bpid=
}

# boot NAME SOCK NUM_QUEUES CPUS CHECKS [ON_MARK]: runs the guest, checks every PASS came out.
# ON_MARK, if given, is run once the guest prints CELLVM-AGENT: RESIZE-READY.
boot() {
	local name=$1 sock=$2 nq=$3 cpus=$4 checks=$5 on_mark=${6:-} log="$tmp/$1.serial" want got
	local t0=$SECONDS qpid
	: >"$log"
	timeout "$QEMU_TIMEOUT" "$qemu" -M q35 -accel tcg -cpu max -smp "$cpus" -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-chardev socket,id=c0,path="$sock" \
		-device vhost-user-blk-pci,chardev=c0,num-queues="$nq" \
		-kernel "$images/vmlinuz" -initrd "$images/l2-initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet cellvm.check=$checks" \
		-display none -serial file:"$log" -no-reboot -nodefaults </dev/null \
		>"$tmp/$name.qemu.log" 2>&1 &
	qpid=$!
	if [ -n "$on_mark" ]; then
		while kill -0 "$qpid" 2>/dev/null; do
			if grep -q 'CELLVM-AGENT: RESIZE-READY' "$log"; then
				$on_mark || say "$name: '$on_mark' failed"
				break
			fi
			sleep 0.2
		done
	fi
	wait "$qpid"
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
	qcow2)
		ctl=${BLK_CTL:-$(dirname "$blockd")/../tests/blockd/blk-ctl}
		[ -x "$ctl" ] || { say "blk-ctl missing ($ctl): set BLK_CTL"; exit 1; }
		qimg=$(command -v qemu-img) || { say "SKIP qcow2: qemu-img not installed"; continue; }
		(cd "$tmp" && "$qimg" create -q -f raw base.raw 16M &&
			qemu-io -f raw -c 'write -P 0xaa 0 16M' base.raw >/dev/null &&
			"$qimg" create -q -f qcow2 -F raw -b base.raw mid.qcow2 32M &&
			qemu-io -f qcow2 -c 'write -P 0xbb 16M 4M' mid.qcow2 >/dev/null &&
			"$qimg" create -q -f qcow2 -F qcow2 -b mid.qcow2 top.qcow2 64M) ||
			{ say "cannot build the qcow2 chain"; exit 1; }
		start_blockd q2 "path=$tmp/top.qcow2,image_type=qcow2,backing_files=on,num_queues=2" \
			--control-socket "$tmp/q2.ctl" || exit 1
		# 0xaa = octal 252 from base.raw, 0xbb = 273 from mid.qcow2, zeroes past mid's end.
		grow() { "$ctl" "$tmp/q2.ctl" resize $((128 << 20)); }
		boot qcow2-chain "$tmp/q2.sock" 2 2 \
			"blkinfo:/dev/vda:131072,blkfill:/dev/vda:8:4:252,blkfill:/dev/vda:16:4:273,blkfill:/dev/vda:40:4:0,blk:/dev/vda:4,blkdiscard:/dev/vda:12:2,blkresize:/dev/vda:262144" \
			grow || fail=1
		stop_blockd
		"$qimg" check -q "$tmp/top.qcow2" || { say "FAIL qemu-img check after the guest"; fail=1; }
		"$qimg" info "$tmp/top.qcow2" | grep -q 'virtual size: 128 MiB' ||
			{ say "FAIL the image did not grow to 128 MiB"; fail=1; }
		qemu-io -r -f qcow2 -c 'read -P 0 12M 2M' "$tmp/top.qcow2" | grep -q 'read 2097152/' ||
			{ say "FAIL QEMU does not read zeroes where the guest discarded"; fail=1; }
		;;
	*) say "unknown scenario $s"; exit 1 ;;
	esac
	[ "$fail" = 0 ] || exit 1
done
say "all passed: $scenarios"
