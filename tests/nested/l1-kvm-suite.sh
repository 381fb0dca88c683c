# shellcheck shell=dash
# L1 script: the kvm suite of tests/kvm/meson.build run inside L1, whose /dev/kvm is L1's KVM
# on the SVM that QEMU TCG emulates (this machine's own /dev/kvm is absent or cannot host it).
# tests/nested/meson.build passes the lists from tests/kvm/meson.build, so they never drift:
#   L1KVM_CASES   cellvm_case_names: each is `cellvm-cases.sh CASE` (bash), as on the host
#   L1KVM_BUGS    cellvm_case_bugs: expected to fail (XFAIL; a pass is reported as XPASS, a failure)
#   L1KVM_RUNNER  kvm_tests as NAME|PAYLOAD|ARG...;... (a newline in an ARG written as \n)
#   L1KVM_API     api_kvm_cases of tests/api/meson.build: each is `api_test.py CASE` (reported as
#                 api-CASE), run by /opt/py/bin/python3 with its zipped standard library
#   L1KVM_DIR     where run-reaped, unix-cat, vm-runner, cellvm-cases.sh and payloads/ are
#   L1KVM_ONLY    optional: the only tests to run, by name as reported (cellvm-CASE for a
#                 cellvm-cases.sh case, NAME for a vm-runner test), separated by spaces; meson
#                 passes it on from its own environment. Unset: every test.
# One line per case: "CELLVM-KVM: PASS|FAIL|SKIP|XFAIL|XPASS NAME (secs)", a failing case's
# output indented under it, then a summary.  Exit 1 when any case failed.
# Each case gets the per-test limit of the kvm suite, 60 s, plus room for L1's slowness.

dir=${L1KVM_DIR:-/opt/cellvm/kvm}
export CELLVM=/opt/cellvm/bin/cellvm PAYLOAD_DIR=$dir/payloads RUN_REAPED=$dir/run-reaped
export UNIX_CAT=$dir/unix-cat TMPDIR=${TMPDIR:-/tmp}
export CELLVM_REMOTE=/opt/cellvm/bin/cellvm-remote
case_limit=90
api_limit=240 # tests/api/meson.build gives each 120 s on a host's /dev/kvm

# l1_skip NAME: the reason NAME cannot work inside L1 for a cause outside cellvm (a host
# feature L1 lacks), or nothing.  None at present: thp (L1 has shmem THP at "advise"), host
# NUMA node 0, CPU affinity and device respawn all work in L1.
l1_skip() {
	case $1 in
	*) ;;
	esac
}

say() { echo "CELLVM-KVM: $*"; }
# selected NAME: true unless L1KVM_ONLY is set and does not name NAME.
selected() {
	[ -z "${L1KVM_ONLY:-}" ] && return 0
	case " $L1KVM_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}
now() { cut -d' ' -f1 /proc/uptime; }
# running NAME: L1's heartbeat (l1-init.sh) says NAME is running, so a wedged L1 names the case.
running() { echo "$1" >/run/l1-status 2>/dev/null || true; }
# secs START: seconds since START (a /proc/uptime value), one decimal.
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

npass=0 nfail=0 nskip=0 nxfail=0 failed=
out=$TMPDIR/l1-kvm-case.out

# verdict NAME RC START EXPECT_FAIL: counts and prints one case's result.
verdict() {
	local name=$1 rc=$2 t
	t=$(secs "$3")
	if [ "$rc" -eq 77 ]; then
		nskip=$((nskip + 1))
		say "SKIP $name (${t} s): $(grep -v '^+ ' "$out" | tail -n 1)"
	elif [ "$4" = 1 ] && [ "$rc" -ne 0 ]; then
		nxfail=$((nxfail + 1))
		say "XFAIL $name (${t} s, exit $rc): known bug"
	elif [ "$4" = 1 ]; then
		nfail=$((nfail + 1)) failed="$failed $name"
		say "XPASS $name (${t} s): listed in cellvm_case_bugs but passed"
	elif [ "$rc" -eq 0 ]; then
		npass=$((npass + 1))
		say "PASS $name (${t} s)"
		# A selected run (L1KVM_ONLY) shows what passed cases printed too: their figures.
		[ -z "${L1KVM_ONLY:-}" ] || head -c 6000 "$out" | sed 's/^/CELLVM-KVM:   | /'
	else
		nfail=$((nfail + 1)) failed="$failed $name"
		[ "$rc" -ne 143 ] && [ "$rc" -ne 137 ] || echo "(killed after ${case_limit} s)" >>"$out"
		say "FAIL $name (${t} s, exit $rc)"
		head -c 6000 "$out" | sed 's/^/CELLVM-KVM:   | /'
	fi
}

suite_start=$(now)
"$RUN_REAPED" --check-kvm || { say "SKIP all: no usable /dev/kvm in L1"; exit 1; }

[ -z "${L1KVM_ONLY:-}" ] || say "only: $L1KVM_ONLY"
set -f
for name in $L1KVM_CASES; do
	selected "cellvm-$name" || continue
	start=$(now)
	why=$(l1_skip "$name")
	if [ -n "$why" ]; then
		nskip=$((nskip + 1))
		say "SKIP cellvm-$name (in L1): $why"
		continue
	fi
	bug=0
	case " $L1KVM_BUGS " in *" $name "*) bug=1 ;; esac
	limit=$case_limit
	case $name in
	watchdog) limit=180 ;;      # Cloud Hypervisor's real 15 s checks: about 70 s
	virtio-blk-*) limit=180 ;;  # run-reaped's own 120 s (cellvm-cases.sh) and room to report
	esac
	running "cellvm-$name"
	timeout "$limit" bash "$dir/cellvm-cases.sh" "$name" >"$out" 2>&1 </dev/null
	verdict "cellvm-$name" $? "$start" "$bug"
done

# vm-runner: NAME|PAYLOAD|ARG... records separated by ';'.
IFS=';'
for rec in $L1KVM_RUNNER; do
	IFS='|'
	# shellcheck disable=SC2086 # split into NAME PAYLOAD ARG...
	set -- $rec
	IFS=' '
	name=$1 payload=$2
	shift 2
	if ! selected "$name"; then
		IFS=';'
		continue
	fi
	# Rebuild the arguments with \n decoded; each ends with an X so $() keeps a final newline.
	n=$#
	i=0
	while [ "$i" -lt "$n" ]; do
		a=$(printf '%bX' "$1")
		set -- "$@" "${a%X}"
		shift
		i=$((i + 1))
	done
	start=$(now)
	why=$(l1_skip "$name")
	if [ -n "$why" ]; then
		nskip=$((nskip + 1))
		say "SKIP $name (in L1): $why"
	else
		running "$name"
		echo "+ vm-runner $* $PAYLOAD_DIR/$payload.elf" >"$out"
		timeout "$case_limit" "$dir/vm-runner" "$@" "$PAYLOAD_DIR/$payload.elf" >>"$out" 2>&1 </dev/null
		verdict "$name" $? "$start" 0
	fi
	IFS=';'
done
unset IFS

# The API's kvm cases, with every device daemon L1 was given.
api=/opt/cellvm/api
for c in ${L1KVM_API:-}; do
	selected "api-$c" || continue
	start=$(now)
	set -- --cellvm "$CELLVM" --core /opt/cellvm/bin/cellvm-core --api /opt/cellvm/bin/cellvm-api \
		--remote "$CELLVM_REMOTE" --payloads "$PAYLOAD_DIR" --openapi "$api/openapi.yaml"
	for d in blockd netd vsockd rngd balloond; do
		[ ! -x "/opt/cellvm/bin/cellvm-$d" ] || set -- "$@" "--$d" "/opt/cellvm/bin/cellvm-$d"
	done
	[ ! -x /opt/cellvm/bin/virtiofsd ] || set -- "$@" --virtiofsd /opt/cellvm/bin/virtiofsd
	running "api-$c"
	echo "+ api_test.py $* $c" >"$out"
	PYTHONHOME=/opt/py PYTHONDONTWRITEBYTECODE=1 timeout "$api_limit" /opt/py/bin/python3 \
		"$api/api_test.py" "$@" "$c" >>"$out" 2>&1 </dev/null
	verdict "api-$c" $? "$start" 0
done
set +f
rm -f "$out"

say "summary: $npass passed, $nfail failed, $nskip skipped, $nxfail expected failures in $(secs "$suite_start") s"
[ "$nfail" -eq 0 ] || { say "failed:$failed"; exit 1; }
exit 0
