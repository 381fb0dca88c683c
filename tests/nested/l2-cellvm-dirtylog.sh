#!/bin/sh
# Nested test (runs in L1 as /test/run.sh), issue 18: dirty logging of the device processes
# during a live migration. The L2 guest (agent check dirtyrw) keeps reading random bytes from
# its disk with O_DIRECT into one buffer, so cellvm-blockd writes guest RAM the vCPUs do not
# touch, and copying some into RAM, while A migrates it to B over a unix socket. Both cellvm run with -v: A prints a digest of all guest
# RAM after its last pass (VM paused, rings stopped), B the digest of what it received before
# the state and the resume. They must be equal, with no page found by the hash fallback (every
# device here logs: blockd negotiated LOG_SHMFD) and pages named by the device log that KVM's
# log did not have. The count goes on in B and the guest finishes there.
# Needs cellvm, cellvm-core, cellvm-api, cellvm-remote, cellvm-blockd in /opt/cellvm/bin.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/dirtylog
mkdir -p $d "$L2_LOGDIR"
rm -f $d/a.sock $d/b.sock $d/mig.sock
# Random bytes: every round's read changes the buffer pages it lands in.
dd if=/dev/urandom of=$d/disk.img bs=1M count=32 2>/dev/null
# ...and a sparse tail, so that the guest's long-lived reader (agent check dirtyrw) lasts through
# the migration: its buffer's pages are the ones only the device log names.
truncate -s 4G $d/disk.img
ROUNDS=16
checks=boot,dirtyrw:$ROUNDS
log=$L2_LOGDIR/dirtylog-serial.log
fails=0

say() { echo "l2-dirtylog: $*"; }
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
remote() { cellvm-remote --api-socket $sock "$@"; }
rounds_in() { sed -n 's/.*CELLVM-AGENT: DIRTY \([0-9]*\).*/\1/p' "$1" | tr -d '\r'; }
digest_in() { sed -n 's/.*guest RAM digest at switch-over \([0-9a-f]*\).*/\1/p' "$1" | tr -d '\r'; }
api_cleanup() {
	say "log of cellvm A (the source):"
	tr -d '\r' <$d/a.raw | grep -v 'CELLVM-AGENT: DIRTY'
	cat $d/a.raw $d/b.raw 2>/dev/null | tr -d '\r' >"$log"
	[ -n "$recv" ] && kill "$recv" 2>/dev/null
	[ -n "$vmm_a" ] && [ "$vmm_a" != "$vmm" ] && kill -9 "$vmm_a" 2>/dev/null
}
: >$d/ev.log

# --- A: the source, the guest reading its disk ---
raw=$d/a.raw
sock=$d/a.sock
cellvm -v --api-socket path=$sock --kernel "$L2_IMAGES/vmlinux" \
	--initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" --cmdline "$(l2_cmdline "$checks")" \
	--cpus boot=2 --memory size=256M,shared=on --serial tty --console off \
	--disk path=$d/disk.img,id=disk0,image_type=raw </dev/null >$raw 2>&1 &
vmm=$!
vmm_a=$vmm
wait_api
wait_serial 'CELLVM-AGENT: DIRTY 2' 300 || give_up "the guest does not read its disk"

# --- B: the destination ---
sock=$d/b.sock
cellvm -v --api-socket path=$sock </dev/null >$d/b.raw 2>&1 &
vmm_b=$!
wait_api
remote receive-migration "unix:$d/mig.sock" >$d/recv.out 2>&1 &
recv=$!
i=0
until [ -S $d/mig.sock ]; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || give_up "B does not listen on $d/mig.sock"
	sleep 0.1
done

# --- the migration, the guest reading and copying all along ---
sock=$d/a.sock
r0=$(rounds_in $raw | tail -n 1)
remote send-migration "unix:$d/mig.sock" || bad "vm.send-migration failed"
wait "$recv"
rc=$?
recv=
[ "$rc" = 0 ] || bad "vm.receive-migration failed: $(cat $d/recv.out)"
r1=$(rounds_in $raw | tail -n 1)
say "the guest did rounds $r0 to $r1 on A while the migration ran"
[ -n "$r0" ] && [ -n "$r1" ] || bad "no round from the guest around the migration"
grep 'migration:\|dirty log' $raw | tr -d '\r' | sed 's/^/l2-dirtylog: A: /'
grep 'migration:' $d/b.raw | tr -d '\r' | sed 's/^/l2-dirtylog: B: /'
da=$(digest_in $raw | tail -n 1)
db=$(digest_in $d/b.raw | tail -n 1)
say "RAM digest at switch-over: A $da, B $db"
[ -n "$da" ] || bad "A printed no RAM digest"
[ -n "$db" ] || bad "B printed no RAM digest"
[ "$da" = "$db" ] || bad "B's RAM differs from A's at switch-over"
stats=$(grep 'cellvm-core: info: migration: sent' $raw | tr -d '\r' | tail -n 1)
case "$stats" in
*", 0 found by hashing;"*) ;;
*) bad "the hash fallback ran or found pages: $stats" ;;
esac
dev_only=$(echo "$stats" | sed -n 's/.*(\([0-9]*\) of them not in KVM.s).*/\1/p')
[ -n "$dev_only" ] && [ "$dev_only" -gt 0 ] ||
	bad "the device log named no page KVM's log missed ($stats)"
grep -q 'some cannot log' $raw && bad "a device of A could not log"
i=0
while kill -0 "$vmm_a" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 150 ] || { bad "A still runs 30 s after its migration"; break; }
	sleep 0.2
done
kill -0 "$vmm_a" 2>/dev/null || {
	wait "$vmm_a"
	rc=$?
	[ "$rc" = 0 ] || bad "A exited with status $rc after the migration"
	vmm_a=
}
audits

# --- B runs the guest: the rounds go on, the guest finishes ---
raw=$d/b.raw
vmm=$vmm_b
sock=$d/b.sock
wait_serial 'CELLVM-AGENT: DIRTY' 120 || give_up "no round in B within 120 s of the migration"
nb=$(rounds_in $raw | head -n 1)
say "B's first round is $nb (A's last $r1)"
[ -n "$nb" ] && [ "$nb" -eq $((r1 + 1)) ] || bad "the rounds did not continue in B"
grep -q 'CELLVM-AGENT: START' $raw && bad "the guest started again in B (a reboot)"
wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "the guest did not finish in B"
audits
wait_exit
