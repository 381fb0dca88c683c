# shellcheck shell=dash
# L1 script (suite bench): issue 21's start-up and memory benchmark inside L1, whose /dev/kvm is
# L1's KVM on the SVM that QEMU TCG emulates. Runs tests/bench/boot-vs-qemu.sh, the same script
# the host's bench suite runs, with cellvm and its device daemons against L1's QEMU microvm (the
# host's QEMU with its qboot firmware, bios-microvm.bin, in the L1 image), on the payloads
# tests/nested/meson.build adds under $L1BENCH_DIR. Every process and exit is TCG-slowed here:
# only the ratios of the same run mean anything, not the milliseconds.
# CELLVM_BENCH_RUNS (default 15) sets the runs per case: an L1 of this size takes ~40 s for 7.
dir=${L1BENCH_DIR:-/opt/cellvm/bench}
export TMPDIR=${TMPDIR:-/tmp}
export CELLVM_BENCH_RUNS=${CELLVM_BENCH_RUNS:-15}
# Where the memory goes: every mapping of 256 KiB PSS or more, for both VMMs.
export CELLVM_BENCH_MAPS=${CELLVM_BENCH_MAPS:-1}
out=$TMPDIR/l1-bench-boot.out
# The TAPs of the device case (the L1 image has no /dev/net/tun node of its own).
[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
for f in /opt/qemu/share/qemu/bios-microvm.bin /opt/qemu/share/seabios/bios-microvm.bin; do
	[ -e "$f" ] && break
	f=
done
[ -n "$f" ] || echo "CELLVM-BENCH: l1-bench-boot: no bios-microvm.bin in L1's QEMU tree"
echo "CELLVM-BENCH: L1: $(nproc) CPU, $(uname -r), QEMU $(qemu-system-x86_64 --version | head -n 1)"
bash "$dir/boot-vs-qemu.sh" /opt/cellvm/bin/cellvm "$dir/payloads/hello.elf" \
	"$dir/payloads/idle.elf" >"$out" 2>&1
rc=$?
sed 's/^/CELLVM-BENCH: /' "$out"
# What process creation alone costs in this L1, for reading the traces: exec and dynamic
# loading of each binary (--version, or its usage error), and busybox's unshare with the
# namespaces a jailed cellvm process gets (sandbox/spawn.h) against none. Median of 5, ms.
bash -c '
med() { local t0 t1 i a=(); for i in 1 2 3 4 5; do t0=${EPOCHREALTIME//[.,]/}
	"$@" >/dev/null 2>&1 </dev/null; t1=${EPOCHREALTIME//[.,]/}; a+=($((10#$t1 - 10#$t0))); done
	printf "%s\n" "${a[@]}" | sort -n | awk "NR == 3 {printf \"%.1f\", \$1 / 1000}"; }
echo "exec costs in L1 (median of 5, ms): busybox true $(med /bin/true)," \
	"cellvm --version $(med /opt/cellvm/bin/cellvm --version)," \
	"cellvm-core (usage error) $(med /opt/cellvm/bin/cellvm-core)," \
	"cellvm-blockd (usage error) $(med /opt/cellvm/bin/cellvm-blockd)," \
	"qemu-system-x86_64 --version $(med qemu-system-x86_64 --version)"
echo "namespaces in L1 (median of 5, ms): unshare true $(med unshare true)," \
	"unshare -n true $(med unshare -n true)," \
	"unshare -U -m -p -f -n -i -u -C true $(med unshare -U -m -p -f -n -i -u -C true)"
' 2>&1 | sed 's/^/CELLVM-BENCH: /'
exit $rc
