#!/bin/bash
# qemu-frontend.sh NETD IMAGES_DIR [MB]
#
# QEMU as an independent vhost-user-net frontend for a standalone cellvm-netd. A network
# namespace made here holds a multi-queue TAP with a link-local address (169.254.0.0/16, nothing
# else, ever); netd runs inside it on that TAP with seccomp on; a Linux guest under QEMU TCG (on
# the host, no nesting) with -netdev vhost-user and two queue pairs runs the agent's `net` check
# (link-local address on eth0, pings to the host side) and `netxfer` (MB MiB, default 64, from
# the namespace to the guest and back, sha256 compared on both ends). Every wait is bounded.
# Exits 77 without root, ip(8), python3 or QEMU; 1 on failure with the logs' tails.
set -uo pipefail

netd=${1:?usage: qemu-frontend.sh NETD IMAGES_DIR [MB]}
images=${2:?usage: qemu-frontend.sh NETD IMAGES_DIR [MB]}
mb=${3:-64}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QEMU_TIMEOUT=${QEMU_TIMEOUT:-300}
HOST_IP=169.254.77.1
GUEST_IP=169.254.77.2
PORT=5001

say() { echo "netd-qemu-frontend: $*"; }
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root for a network namespace and a TAP"
command -v ip >/dev/null || skip "ip(8) missing (Debian iproute2)"
command -v python3 >/dev/null || skip "python3 missing"
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not installed"
[ -c /dev/net/tun ] || skip "/dev/net/tun missing"

if [ -z "${CELLVM_NO_IMAGE_BUILD:-}" ]; then
	"$here/../guest/build-images.sh" "$images" >&2 || { say "image build failed"; exit 1; }
fi
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -e "$images/$f" ] || { say "$images/$f missing"; exit 1; }
done

ns=cellvm-netd-$$
tmp=$(mktemp -d /var/tmp/cellvm-nfe.XXXXXX)
npid= hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	[ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns" || skip "cannot create a network namespace"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev cvtap0 mode tap multi_queue vnet_hdr || { say "cannot create the TAP"; exit 1; }
ip -n "$ns" addr add "$HOST_IP/16" dev cvtap0
ip -n "$ns" link set cvtap0 up

# The host side of the transfer: serves $mb MiB on PORT, then takes $mb MiB on PORT+1 and
# writes their sha256. One connection each, every socket operation under a deadline.
cat >"$tmp/peer.py" <<'PY'
import hashlib, socket, sys, time
host, port, path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
deadline = time.time() + float(sys.argv[5])
def listener(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, p)); s.listen(1); s.settimeout(max(1, deadline - time.time())); return s
a, b = listener(port), listener(port + 1)
c, _ = a.accept(); c.settimeout(60)
with open(path, 'rb') as f:
    while (chunk := f.read(1 << 16)):
        c.sendall(chunk)
c.close()
c, _ = b.accept(); c.settimeout(60)
h, n = hashlib.sha256(), 0
size = int(sys.argv[6])
while n < size and time.time() < deadline:
    d = c.recv(1 << 16)
    if not d:
        break
    h.update(d); n += len(d)
c.close()
open(out, 'w').write('%s %d\n' % (h.hexdigest(), n))
PY
head -c $((mb * 1048576)) /dev/urandom >"$tmp/tx.bin"
want=$(sha256sum <"$tmp/tx.bin" | cut -d' ' -f1)

ip netns exec "$ns" "$netd" --socket-path "$tmp/net.sock" --seccomp "${NETD_SECCOMP:-on}" \
	--net "tap=cvtap0,num_queues=4,mac=52:54:00:77:00:02" 2>"$tmp/netd.log" &
npid=$!
for _ in $(seq 100); do
	[ -S "$tmp/net.sock" ] && break
	kill -0 "$npid" 2>/dev/null || break
	sleep 0.1
done
[ -S "$tmp/net.sock" ] || { say "cellvm-netd did not come up: $(tail -n 5 "$tmp/netd.log")"; exit 1; }

ip netns exec "$ns" python3 "$tmp/peer.py" "$HOST_IP" "$PORT" "$tmp/tx.bin" "$tmp/rx.sha" \
	"$QEMU_TIMEOUT" $((mb * 1048576)) 2>"$tmp/peer.log" &
hpid=$!

checks="net:$GUEST_IP:$HOST_IP,netxfer:$HOST_IP:$PORT:$mb:$want"
# vectors=0 (INTx): QEMU 7.2 under TCG segfaults in msix_set_vector_notifiers ->
# virtio-net's config-interrupt mask when vhost-user-net starts with MSI-X (seen here with any
# protocol feature set); the guest then takes legacy interrupts, which work.
log=$tmp/serial.log
t0=$SECONDS
timeout "$QEMU_TIMEOUT" "$qemu" -M q35 -accel tcg -cpu max -smp 2 -m 512M \
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
	-chardev socket,id=c0,path="$tmp/net.sock" \
	-netdev vhost-user,id=n0,chardev=c0,queues=2 \
	-device virtio-net-pci,netdev=n0,mq=on,vectors=0,mac=52:54:00:77:00:02 \
	-kernel "$images/vmlinuz" -initrd "$images/l2-initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet cellvm.check=$checks" \
	-display none -serial file:"$log" -no-reboot -nodefaults </dev/null >"$tmp/qemu.log" 2>&1
qrc=$?
# The peer is done when the guest got through; otherwise it would sit out its deadline.
for _ in $(seq 50); do
	kill -0 "$hpid" 2>/dev/null || break
	sleep 0.1
done
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null
hpid=
kill "$npid" 2>/dev/null
wait "$npid" 2>/dev/null
npid=

guest_tx=$(sed -n 's/^netxfer: tx sha256 \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r' | head -n 1)
host_rx=$(cut -d' ' -f1 "$tmp/rx.sha" 2>/dev/null)
fail=0
for c in net netxfer; do
	grep -q "CELLVM-AGENT: PASS $c" "$log" || { say "check $c did not pass"; fail=1; }
done
if [ -z "$guest_tx" ] || [ "$guest_tx" != "$host_rx" ]; then
	say "guest sent sha256 '${guest_tx:-?}', host received '${host_rx:-?}' ($(cut -d' ' -f2 "$tmp/rx.sha" 2>/dev/null) bytes)"
	fail=1
fi
if [ "$fail" != 0 ]; then
	say "FAIL after $((SECONDS - t0)) s (qemu status $qrc)"
	grep -a 'CELLVM-AGENT\|netxfer\|eth0' "$log" | tr -d '\r' | sed 's/^/  /'
	tail -n 20 "$log" | tr -d '\r' | sed 's/^/  serial: /'
	tail -n 5 "$tmp/qemu.log" | sed 's/^/  qemu: /'
	tail -n 5 "$tmp/peer.log" | sed 's/^/  peer: /'
	tail -n 10 "$tmp/netd.log" | sed 's/^/  netd: /'
	exit 1
fi
say "PASS in $((SECONDS - t0)) s: ping, $mb MiB each way with matching sha256"
grep -a 'netxfer: .* in ' "$log" | tr -d '\r' | sed 's/^/  /'
grep 'pair' "$tmp/netd.log" | sed 's/^/  netd: /'
