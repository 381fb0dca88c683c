#!/bin/bash
# respawn-bench.sh CELLVM RESPAWN_BENCH PAYLOAD_DIR RUN_REAPED [KILLS [GAP_MS]]
#
# Issue 19's benchmark: the time from a device process's death to the guest's next completed
# request, per daemon, against the normal request time of the same run (respawn_bench.c). The
# same script runs on a host with /dev/kvm (suite bench) and inside L1 of the nested bench
# (tests/nested/l1-bench-respawn.sh). Payloads: blk-stream (blockd: write and verified
# read-back, one sector each), net-stream (netd: broadcast frames out of a TAP cellvm creates,
# link-local 169.254.213.1/30; needs root and /dev/net/tun, else that daemon is skipped),
# vsock-stream (vsockd: RST packets to the host). Exit 77 without a usable /dev/kvm.
set -u
cellvm=$1 bench=$2 payloads=$3 reaped=$4 kills=${5:-5} gap=${6:-2500}

"$reaped" --check-kvm || exit 77
work=$(mktemp -d "${TMPDIR:-/tmp}/respawn-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
status=0

# run ROLE ARGS...: one respawn-bench run under run-reaped (which finds anything left running).
run() {
	local role=$1
	shift
	if "$reaped" --timeout $((60 + kills * (gap / 1000 + 30))) -- \
		"$bench" "$role" "$kills" "$gap" -- "$cellvm" -v --serial tty --console off --memory size=128M "$@" \
		>"$work/$role.out" 2>"$work/$role.err"; then
		grep '^BENCH ' "$work/$role.out"
		grep '^respawn-bench: kill ' "$work/$role.err" | sed 's/^/  /'
		# Where each kill's time went: cellvm's log lines timed from the kill (respawn_bench.c).
		grep -E '^(  \+|respawn-bench: kill )' "$work/$role.err" | sed 's/^/  | /'
	else
		echo "respawn-bench.sh: $role: failed; its log:"
		tail -n 40 "$work/$role.err" | sed 's/^/  | /'
		status=1
	fi
}

truncate -s 64M "$work/disk.img" || exit 1
run blockd --kernel "$payloads/blk-stream.elf" --disk "path=$work/disk.img,id=victim"
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ]; then
	tap=cvmrb$$
	run netd --kernel "$payloads/net-stream.elf" \
		--net "tap=${tap:0:15},ip=169.254.213.1,mask=255.255.255.252,mac=52:54:00:0a:0b:0f,id=victim"
else
	echo "respawn-bench.sh: netd: SKIP (needs root and /dev/net/tun for the TAP)"
fi
run vsockd --kernel "$payloads/vsock-stream.elf" --vsock "cid=3,socket=$work/v.sock,id=victim"
exit $status
