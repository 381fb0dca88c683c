#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): virtio-balloon (issue 17) on one L2 Linux of
# 512 MiB, started with `--balloon size=0` and driven through the REST API:
#  1. a jailed cellvm-balloond runs (Seccomp 2, NoNewPrivs 1); vm.info shows the balloon's
#     config as Cloud Hypervisor's BalloonConfig;
#  2. once the guest has written and freed most of its memory (so the host holds those pages),
#     vm.resize desired_balloon=256M: the guest's MemTotal drops by 256 MiB, the core's resident
#     guest memory (Rss in /proc/<core>/smaps_rollup) drops by at least 200 MiB (balloond
#     punched the pages out of the memfd), vm.info says balloon.size 256 MiB and
#     memory_actual_size 256 MiB;
#  3. a balloon as big as the RAM is refused (400) and changes nothing;
#  4. vm.resize desired_balloon=0: MemTotal comes back, memory_actual_size is 512 MiB again;
#  5. vm.resize desired_balloon=8M lets the guest finish (it waits for that balloon).
# Needs cellvm, cellvm-core, cellvm-api, cellvm-remote and cellvm-balloond in /opt/cellvm/bin.
. /test/lib.sh
export PATH=/opt/cellvm/bin:$PATH
d=/tmp/balloon
mkdir -p $d "$L2_LOGDIR"
rm -f $d/api.sock $d/ev.log
raw=$d/serial.raw
log=$L2_LOGDIR/balloon-serial.log
sock=$d/api.sock
checks=boot,balloon:256:300

say() { echo "l2-balloon: $*"; }
remote() { cellvm-remote --api-socket $sock "$@"; }
fails=0
bad() {
	say "FAIL: $*"
	fails=$((fails + 1))
}
rss_kb() { sed -n 's/^Rss: *\([0-9]*\) kB$/\1/p' "/proc/$1/smaps_rollup"; }
info() { remote info | tr -d ' \n'; }

cellvm --api-socket path=$sock --event-monitor path=$d/ev.log \
	--kernel "$L2_IMAGES/vmlinux" --initramfs "$L2_IMAGES/l2-initramfs.cpio.gz" \
	--cmdline "$(l2_cmdline "$checks")" --cpus boot=1 --memory size=512M \
	--balloon size=0 --serial tty --console off </dev/null >$raw 2>&1 &
vmm=$!
i=0
until remote ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || give_up "the API socket did not answer within 10 s"
	sleep 0.1
done

# 1. the daemon and vm.info
wait_serial 'CELLVM-AGENT: BALLOON-WAIT' 300 || give_up "the guest never got to the balloon"
b=$(pids cellvm-balloond)
[ "$(echo "$b" | wc -w)" = 1 ] || bad "$(echo "$b" | wc -w) cellvm-balloond processes, want 1"
for p in $b; do
	grep -q '^Seccomp:[[:space:]]*2' /proc/$p/status || bad "cellvm-balloond has no seccomp filter"
	grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$p/status || bad "cellvm-balloond lacks no_new_privs"
done
out=$(info)
say "vm.info before: $(echo "$out" | grep -o '"balloon":{[^}]*}') $(echo "$out" | grep -o '"memory_actual_size":[0-9]*')"
echo "$out" | grep -q '"balloon":{"size":0,"deflate_on_oom":false,"free_page_reporting":false}' ||
	bad "vm.info's balloon is not {size 0, deflate_on_oom false, free_page_reporting false}"
echo "$out" | grep -q "\"memory_actual_size\":$((512 << 20))" || bad "memory_actual_size is not 512 MiB"

# 2. inflate
core=$(pids cellvm-core)
r0=$(rss_kb "$core")
remote resize --balloon 256M || give_up "vm.resize --balloon 256M failed"
wait_serial 'CELLVM-AGENT: BALLOON-IN' 300 || give_up "the guest's MemTotal did not drop"
grep -a 'BALLOON-IN' $raw | head -n 1
i=0
r1=$(rss_kb "$core")
# The driver reports `actual` as it goes; its last write may trail the MemTotal the guest saw.
until echo "$(info)" | grep -q "\"memory_actual_size\":$((256 << 20))"; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || { bad "memory_actual_size did not become 256 MiB: $(info | grep -o '"memory_actual_size":[0-9]*')"; break; }
	sleep 0.2
done
say "core Rss $r0 kB -> $r1 kB ($(((r0 - r1) / 1024)) MiB given back)"
[ $((r0 - r1)) -ge $((200 * 1024)) ] || bad "the core's Rss dropped by $(((r0 - r1) / 1024)) MiB, want 200 or more"
info | grep -q "\"balloon\":{\"size\":$((256 << 20))," || bad "vm.info's balloon.size is not 256 MiB"

# 3. too big
out=$(remote resize --balloon 512M 2>&1) && bad "a balloon as big as the RAM was accepted: $out"
say "resize --balloon 512M: $out"
echo "$out" | grep -q 'smaller than' || bad "the refusal does not say why: $out"
info | grep -q "\"balloon\":{\"size\":$((256 << 20))," || bad "the refused resize changed balloon.size"

# 4. deflate
wait_serial 'CELLVM-AGENT: BALLOON-DEFLATE-WAIT' 300 || give_up "the guest never got to the deflate"
remote resize --balloon 0 || give_up "vm.resize --balloon 0 failed"
wait_serial 'CELLVM-AGENT: BALLOON-OK' 300 || give_up "MemTotal did not come back"
grep -a 'BALLOON-OK' $raw | head -n 1
i=0
until info | grep -q "\"memory_actual_size\":$((512 << 20))"; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || { bad "memory_actual_size did not go back to 512 MiB: $(info | grep -o '"memory_actual_size":[0-9]*')"; break; }
	sleep 0.2
done
# 5. the guest's go to finish: it waits (BALLOON-END) for this last 8 MiB balloon, so the VM
#    cannot end while the checks above still read vm.info.
remote resize --balloon 8M || give_up "vm.resize --balloon 8M failed"
wait_serial 'CELLVM-AGENT: BALLOON-END' 300 || give_up "the guest did not see the last balloon"

wait_serial 'CELLVM-AGENT: DONE' 300 || give_up "the guest did not finish"
wait_exit
