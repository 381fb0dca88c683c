#!/bin/bash
# qemu-frontend.sh RNGD IMAGES_DIR
#
# QEMU as an independent vhost-user-rng frontend (vhost-user-rng-pci, TCG on the host, no
# nesting) for a standalone, jailed cellvm-rngd (--seccomp on):
#   1. --source FILE, a file made of one byte value: the guest's current hw_random source is
#      virtio_rng.* and every byte it reads from /dev/hwrng is that value (they came from FILE)
#   2. --rng src=/dev/urandom (Cloud Hypervisor's spelling): 64 KiB from /dev/hwrng, not all zero
#   3. a source at its end (an empty file): the guest's read gets nothing, the daemon logs it at
#      most once per 10 s, keeps serving and is alive when QEMU ends
# The daemon must be alive after each run (it serves the next frontend) and print its counters.
# Exits 77 when QEMU is missing, 1 on failure (with the logs' tails).
set -uo pipefail

rngd=${1:?usage: qemu-frontend.sh RNGD IMAGES_DIR}
images=${2:?usage: qemu-frontend.sh RNGD IMAGES_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
"$qemu" -device help 2>/dev/null | grep -q '"vhost-user-rng-pci"' ||
	{ echo "SKIP: this QEMU has no vhost-user-rng-pci"; exit 77; }
QEMU_TIMEOUT=${QEMU_TIMEOUT:-180}

say() { echo "rngd-qemu: $*"; }

if [ -z "${CELLVM_NO_IMAGE_BUILD:-}" ]; then
	"$here/../guest/build-images.sh" "$images" >&2 || { say "image build failed"; exit 1; }
fi
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -e "$images/$f" ] || { say "$images/$f missing"; exit 1; }
done

# rngd runs as nobody once jailed (when started by root): its directory must be searchable.
tmp=$(mktemp -d /tmp/cellvm-rng.XXXXXX)
chmod 755 "$tmp"
rpid=
cleanup() {
	[ -z "$rpid" ] || kill "$rpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# This tree's agent as /init (a stale image still gets `rng`).
mkdir -p "$tmp/extra"
cp "$here/../guest/agent.sh" "$tmp/extra/init"
chmod 755 "$tmp/extra/init"
(cd "$tmp/extra" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/extra.cpio.gz"
cat "$images/l2-initramfs.cpio.gz" "$tmp/extra.cpio.gz" >"$tmp/initrd"

# A source of 16 MiB of 0xa5 (octal 245): more than the guest's hwrng thread takes in a run.
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\000' '\245' >"$tmp/a5.bin"
: >"$tmp/empty.bin"
chmod 644 "$tmp/a5.bin" "$tmp/empty.bin"

fail=0
# run NAME CHECKS RNGD-ARGS...: one rngd, one guest; the checks' PASS lines are counted.
run() {
	local name=$1 checks=$2 want=$3 passes t0
	shift 3
	rm -f "$tmp/vu.sock"
	"$rngd" --socket "$tmp/vu.sock" --seccomp on "$@" 2>"$tmp/$name-rngd.log" &
	rpid=$!
	for _ in $(seq 100); do
		[ -S "$tmp/vu.sock" ] && break
		kill -0 "$rpid" 2>/dev/null || break
		sleep 0.1
	done
	[ -S "$tmp/vu.sock" ] || {
		say "$name: cellvm-rngd did not come up: $(tail -n 5 "$tmp/$name-rngd.log")"
		fail=1
		return
	}
	t0=$SECONDS
	timeout "$QEMU_TIMEOUT" "$qemu" -M q35 -accel tcg -cpu max -smp 1 -m 256M \
		-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
		-chardev socket,id=c0,path="$tmp/vu.sock" -device vhost-user-rng-pci,chardev=c0 \
		-kernel "$images/vmlinuz" -initrd "$tmp/initrd" \
		-append "console=ttyS0 panic=-1 quiet cellvm.check=$checks" \
		-display none -serial file:"$tmp/$name-serial.log" -no-reboot -nodefaults </dev/null \
		>"$tmp/$name-qemu.log" 2>&1
	passes=$(grep -ac 'CELLVM-AGENT: PASS' "$tmp/$name-serial.log")
	if [ "$passes" != "$want" ] || ! grep -aq 'CELLVM-AGENT: DONE' "$tmp/$name-serial.log"; then
		say "$name: FAIL ($passes of $want checks passed) after $((SECONDS - t0)) s"
		grep -a 'CELLVM-AGENT\|agent:' "$tmp/$name-serial.log" | tr -d '\r' | sed 's/^/  guest: /'
		tail -n 5 "$tmp/$name-qemu.log" | sed 's/^/  qemu: /'
		tail -n 10 "$tmp/$name-rngd.log" | sed 's/^/  rngd: /'
		fail=1
	fi
	kill -0 "$rpid" 2>/dev/null || { say "$name: cellvm-rngd died: $(tail -n 3 "$tmp/$name-rngd.log")"; fail=1; }
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	rpid=
	grep -a 'RNG-OK\|RNG-EMPTY' "$tmp/$name-serial.log" | tr -d '\r' | sed "s/^/  $name guest: /"
	grep -a 'requests=' "$tmp/$name-rngd.log" | sed "s/^/  $name rngd: /"
	[ "$fail" != 0 ] || say "$name: PASS in $((SECONDS - t0)) s"
}

run file rng:65536:245 1 --source "$tmp/a5.bin"
run urandom rng:65536 1 --rng src=/dev/urandom
# The guest's read of an ended source returns nothing; `rngempty` checks just that and that the
# guest is not stuck (its hwrng thread keeps asking and sleeps).
run empty rngempty 1 --source "$tmp/empty.bin"
grep -q 'entropy source: end of file' "$tmp/empty-rngd.log" ||
	{ say "empty: no report of the ended source"; fail=1; }
n=$(grep -c 'entropy source: end of file' "$tmp/empty-rngd.log")
[ "$n" -le 3 ] || { say "empty: $n reports of the ended source: not rate-limited"; fail=1; }
[ "$fail" = 0 ] && say PASS || say FAIL
exit "$fail"
