#!/bin/bash
# qemu-frontend.sh VSOCKD PEER IMAGES_DIR
#
# QEMU as an independent vhost-user-vsock frontend for a standalone, jailed cellvm-vsockd
# (--seccomp on): a Linux guest (QEMU TCG on the host, no nesting) runs vsock-peer (PEER, a
# static binary appended to the L2 initramfs) through the agent's `vsock` check:
#   - a connect to a host port nobody listens on is refused (RST)
#   - guest -> host: 4 streams at once to PATH_5000, one of 64 MiB, verified on both ends
#   - host -> guest: 4 streams at once via "CONNECT 6000", one of 64 MiB, verified on both ends
#   - meanwhile 3000 bad or unanswerable host connection attempts; vsockd must stay up
# Exits 77 when QEMU is missing, 1 on failure (with the logs' tails).
set -uo pipefail

vsockd=${1:?usage: qemu-frontend.sh VSOCKD PEER IMAGES_DIR}
peer=${2:?usage: qemu-frontend.sh VSOCKD PEER IMAGES_DIR}
images=${3:?usage: qemu-frontend.sh VSOCKD PEER IMAGES_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
command -v cpio >/dev/null || { echo "SKIP: cpio not installed"; exit 77; }
QEMU_TIMEOUT=${QEMU_TIMEOUT:-240}
BIG=$((64 * 1024 * 1024))
SMALL=$((1024 * 1024))

say() { echo "vsockd-qemu: $*"; }

if [ -z "${CELLVM_NO_IMAGE_BUILD:-}" ]; then
	"$here/../guest/build-images.sh" "$images" >&2 || { say "image build failed"; exit 1; }
fi
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -e "$images/$f" ] || { say "$images/$f missing"; exit 1; }
done

# vsockd runs as nobody once jailed (when started by root): its directory must be searchable.
tmp=$(mktemp -d /tmp/cellvm-vsk.XXXXXX)
chmod 755 "$tmp"
pids=()
vpid=
cleanup() {
	for p in "${pids[@]}" $vpid; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The peer goes in as /bin/cellvm-vsock-peer on top of the agent's initramfs, with this tree's
# agent as /init (the same file the image builder packs; a stale image still gets `vsock`).
mkdir -p "$tmp/extra/bin"
cp "$peer" "$tmp/extra/bin/cellvm-vsock-peer"
cp "$here/../guest/agent.sh" "$tmp/extra/init"
chmod 755 "$tmp/extra/init"
(cd "$tmp/extra" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$tmp/extra.cpio.gz"
cat "$images/l2-initramfs.cpio.gz" "$tmp/extra.cpio.gz" >"$tmp/initrd"

"$vsockd" --socket-path "$tmp/vu.sock" --vsock "cid=3,socket=$tmp/v.sock" --seccomp on \
	2>"$tmp/vsockd.log" &
vpid=$!
for _ in $(seq 100); do
	[ -S "$tmp/vu.sock" ] && [ -S "$tmp/v.sock" ] && break
	kill -0 "$vpid" 2>/dev/null || break
	sleep 0.1
done
[ -S "$tmp/vu.sock" ] || { say "cellvm-vsockd did not come up: $(tail -n 5 "$tmp/vsockd.log")"; exit 1; }

"$peer" serve unix "$tmp/v.sock_5000" 4 >"$tmp/host-serve.log" 2>&1 &
pids+=($!)
serve_pid=$!
"$peer" send unix "$tmp/v.sock" 6000 4 "$BIG" "$SMALL" >"$tmp/host-send.log" 2>&1 &
pids+=($!)
send_pid=$!
(sleep 4 && "$peer" flood unix "$tmp/v.sock" 3000) >"$tmp/flood.log" 2>&1 &
pids+=($!)
flood_pid=$!

checks="vsock:refused:vsock:2:5999,vsock:send:vsock:2:5000:4:$BIG:$SMALL,vsock:serve:vsock:6000:4"
t0=$SECONDS
timeout "$QEMU_TIMEOUT" "$qemu" -M q35 -accel tcg -cpu max -smp 2 -m 512M \
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
	-chardev socket,id=c0,path="$tmp/vu.sock" -device vhost-user-vsock-pci,chardev=c0 \
	-kernel "$images/vmlinuz" -initrd "$tmp/initrd" \
	-append "console=ttyS0 panic=-1 quiet cellvm.check=$checks" \
	-display none -serial file:"$tmp/serial.log" -no-reboot -nodefaults </dev/null \
	>"$tmp/qemu.log" 2>&1

fail=0
passes=$(grep -ac 'CELLVM-AGENT: PASS vsock' "$tmp/serial.log")
[ "$passes" = 3 ] && grep -aq 'CELLVM-AGENT: DONE' "$tmp/serial.log" || { say "guest checks: $passes of 3 passed"; fail=1; }
for p in serve:$serve_pid send:$send_pid flood:$flood_pid; do
	timeout 30 tail --pid="${p#*:}" -f /dev/null ||
		{ kill "${p#*:}" 2>/dev/null; say "host ${p%:*} still ran 30 s after QEMU"; fail=1; }
	wait "${p#*:}" || { say "host ${p%:*} failed"; fail=1; }
done
kill -0 "$vpid" 2>/dev/null || { say "cellvm-vsockd died"; fail=1; }
if [ "$fail" != 0 ]; then
	say "FAIL after $((SECONDS - t0)) s"
	grep -a 'CELLVM-AGENT\|vsock-peer\|send:\|serve:' "$tmp/serial.log" | tr -d '\r' | sed 's/^/  guest: /'
	sed 's/^/  host: /' "$tmp/host-serve.log" "$tmp/host-send.log" "$tmp/flood.log"
	tail -n 5 "$tmp/qemu.log" | sed 's/^/  qemu: /'
	tail -n 10 "$tmp/vsockd.log" | sed 's/^/  vsockd: /'
	exit 1
fi
say "PASS in $((SECONDS - t0)) s"
grep -a 'vsock-peer:' "$tmp/serial.log" | tr -d '\r' | sed 's/^/  guest: /'
sed 's/^/  host: /' "$tmp/host-serve.log" "$tmp/host-send.log" "$tmp/flood.log"
