#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): virtio-fs with an external virtiofsd (QEMU 7.2's C
# virtiofsd), through the REST API only.
#  1. L1 makes a directory with data.bin (1 MiB of random bytes, sha256 known) and starts
#     virtiofsd on it (sandbox=chroot: L1's root is an initramfs, where the namespace sandbox's
#     pivot_root fails; cache=none so what the guest writes is in L1's file at once).
#  2. vm.create with fs [{tag share0, socket}] and vm.boot; the guest mounts share0, checks
#     data.bin's sha256 and writes from-guest.txt, which L1 then reads; vm.info lists _fs0.
#  3. A second virtiofsd; `cellvm-remote add-fs tag=share1,socket=S2,id=fs1` on the running VM
#     answers Cloud Hypervisor's PciDeviceInfo; the guest mounts share1 (ACPI PCI hotplug),
#     reads hello.txt and writes back.
# Needs cellvm, cellvm-core, cellvm-api, cellvm-remote, cellvm-blockd, cellvm-netd and virtiofsd
# in /opt/cellvm/bin (run-nested.sh --add).
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/vfs
mkdir -p $d "$L2_LOGDIR"
rm -rf $d/share0 $d/share1 $d/*.sock $d/ev.log
mkdir -p $d/share0 $d/share1
dd if=/dev/urandom of=$d/share0/data.bin bs=1M count=1 2>/dev/null
sha=$(sha256sum $d/share0/data.bin | cut -d' ' -f1)
echo "hello from L1 share1" >$d/share1/hello.txt
raw=$d/serial.raw
log=$L2_LOGDIR/fs-serial.log
sock=$d/api.sock
checks=boot,virtiofs:share0:$sha,hpvirtiofs:share1:300

say() { echo "l2-fs: $*"; }
remote() { cellvm-remote --api-socket $sock "$@"; }
fails=0
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
# After the guest's log: virtiofsd's own logs, and both stopped.
api_cleanup() {
	for n in 0 1; do
		if [ -s $d/virtiofsd$n.log ]; then
			say "virtiofsd$n log:"
			tail -n 20 $d/virtiofsd$n.log
		fi
	done
	for p in $vfsd0 $vfsd1; do kill "$p" 2>/dev/null; done
}
# virtiofsd N: serves $d/shareN on $d/fsN.sock (its pid in $!); waits for the socket.
virtiofsd_start() {
	local i=0
	virtiofsd --socket-path=$d/fs$1.sock -o source=$d/share$1 -o cache=none -o sandbox=chroot \
		</dev/null >$d/virtiofsd$1.log 2>&1 &
	until [ -S $d/fs$1.sock ]; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat $d/virtiofsd$1.log; return 1; }
		sleep 0.1
	done
}

virtiofsd_start 0 || { say "FAIL: virtiofsd 0 did not listen"; exit 1; }
vfsd0=$!
virtiofsd_start 1 || { say "FAIL: virtiofsd 1 did not listen"; kill $vfsd0; exit 1; }
vfsd1=$!
vmm=

cat >$d/vm.json <<EOF
{
  "payload": {
    "kernel": "$L2_IMAGES/vmlinux",
    "initramfs": "$L2_IMAGES/l2-initramfs.cpio.gz",
    "cmdline": "$(l2_cmdline "$checks")"
  },
  "cpus": {"boot_vcpus": 2},
  "memory": {"size": $((512 << 20))},
  "fs": [{"tag": "share0", "socket": "$d/fs0.sock", "num_queues": 1, "queue_size": 1024}],
  "serial": {"mode": "Tty"},
  "console": {"mode": "Off"}
}
EOF

cellvm --api-socket path=$sock --event-monitor path=$d/ev.log </dev/null >$raw 2>&1 &
vmm=$!
i=0
until remote ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || give_up "the API socket did not answer within 10 s"
	sleep 0.1
done
remote create $d/vm.json || give_up "vm.create failed"
remote boot || give_up "vm.boot failed"
remote info | tr -d ' \n' | grep -q '"id":"_fs0"' || bad "vm.info does not list _fs0: $(remote info)"

# 2. share0 at boot
wait_serial 'CELLVM-AGENT: \(VIRTIOFS-OK\|FAIL virtiofs\)' 300 || give_up "the guest never got to share0"
grep -a 'VIRTIOFS-OK share0' $raw | head -n 1
if [ -f $d/share0/from-guest.txt ]; then
	say "share0/from-guest.txt: $(cat $d/share0/from-guest.txt)"
	grep -q "written by the L2 guest on share0" $d/share0/from-guest.txt ||
		bad "share0/from-guest.txt does not hold what the guest wrote"
else
	bad "the guest's from-guest.txt is not in L1's share0"
fi

# 3. share1 hot-added
wait_serial 'CELLVM-AGENT: HP-FS-WAIT share1' 300 || give_up "the guest never asked for share1"
out=$(remote add-fs "tag=share1,socket=$d/fs1.sock,id=fs1") || give_up "vm.add-fs fs1 failed: $out"
say "vm.add-fs: $out"
echo "$out" | tr -d ' \n' | grep -Eq '^\{"id":"fs1","bdf":"0000:00:[0-1][0-9a-f]\.0"\}$' ||
	bad "vm.add-fs body '$out' is not Cloud Hypervisor's PciDeviceInfo"
remote info | tr -d ' \n' | grep -q '"tag":"share1"' || bad "vm.info does not list share1"
out=$(remote add-fs "tag=share2,socket=$d/fs1.sock,id=fs1" 2>&1) && bad "adding fs1 twice succeeded: $out"
say "add-fs fs1 again: $out"
wait_serial 'CELLVM-AGENT: \(HP-FS-OK\|FAIL hpvirtiofs\)' 300 || give_up "the guest did not get share1"
grep -a 'HP-FS-OK share1' $raw | head -n 1
grep -aq 'HP-FS-OK share1 hello from L1 share1' $raw || bad "the guest did not read share1/hello.txt"
[ -f $d/share1/from-guest.txt ] || bad "the guest's from-guest.txt is not in L1's share1"

wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "the guest did not finish"
wait_exit
