# shellcheck shell=dash
# L1 script (suite bench): issue 19's respawn benchmark inside L1, whose /dev/kvm is L1's KVM on
# the SVM that QEMU TCG emulates. Runs tests/bench/respawn-bench.sh, the same script the host's
# bench suite runs, on the payloads and binaries tests/nested/meson.build adds under
# $L1BENCH_DIR. Figures here are TCG-slowed: only the ratio to the normal request time of the
# same run means anything.
dir=${L1BENCH_DIR:-/opt/cellvm/bench}
export TMPDIR=${TMPDIR:-/tmp}
out=$TMPDIR/l1-bench-respawn.out
# netd's TAP (the L1 image has no /dev/net/tun node of its own).
[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
bash "$dir/respawn-bench.sh" /opt/cellvm/bin/cellvm "$dir/respawn-bench" "$dir/payloads" \
	"$dir/run-reaped" 5 2500 >"$out" 2>&1
rc=$?
sed 's/^/CELLVM-BENCH: /' "$out"
exit $rc
