# L1 script: cellvm boots the Debian cloud kernel to the L2 agent from the PVH vmlinux and from
# the bzImage (full console, so the kernel's own messages go through cellvm's serial port too);
# a guest poweroff ends cellvm with status 0; a guest reboot starts the guest again and the boot
# after it powers off; no "ACPI Error"/"ACPI BIOS Error" in any boot's dmesg (the `boot` check).
# The SMBIOS tables (issue 20, the `dmi` check): the PVH boots get --platform serial_number, uuid
# (given in capitals, read back as Linux prints it) and oem_strings and read them from
# /sys/class/dmi/id and the type 11 structure, on both boots of the reboot run; the bzImage boot
# has no --platform and finds the tables without serial number, UUID or OEM strings.
# virtio-rng (issue 20, the `rng` check): the bzImage boot has --rng src=/dev/urandom, the reboot
# run --rng src=/dev/random; virtio_rng is the guest's hw_random source and /dev/hwrng gives
# bytes, on both boots around the reboot (the ring is set up again after the guest's reset); in
# the bzImage boot L1 kills cellvm-rngd (SIGKILL) once the first `rng` passed, and the second one
# reads from its replacement; a source that cannot be opened is one clear line, nothing starts.
# virtio-pmem (issue 20, the `pmem` check): the first PVH boot has a 2 MiB image with
# discard_writes=on: /dev/pmem0 reads the image's sha256, zeros the guest writes over it read
# back, and the file is unchanged afterwards; the bzImage boot has a writable image, reads its
# sha256, writes a line and flushes, and L1 finds the line in the file; a file smaller than
# size= is one clear line, nothing starts.
# virtio-console (issue 20, the `hvc` check): the first PVH boot has --console file=: the guest
# has /dev/hvc0 and its line is in the file; the reboot run has --console pty: on both boots the
# guest's line is read from the pty in L1 and a line L1 writes to the pty comes back from
# /dev/hvc0 (the rings set up again after the guest's reset).
. /test/lib.sh

ro=/tmp/pmem-ro.img
rw=/tmp/pmem-rw.img
head -c 2097152 /dev/urandom >$ro
head -c 2097152 /dev/urandom >$rw
rosha=$(sha256sum <$ro | cut -d' ' -f1)
rwsha=$(sha256sum <$rw | cut -d' ' -f1)
out=$(timeout 20 cellvm --kernel "$L2_IMAGES/vmlinux" --memory size=128M --serial null \
	--console off --pmem file=$ro,size=4M 2>&1)
rc=$?
if [ "$rc" -ne 1 ] || ! echo "$out" | grep -q "pmem: '$ro' is 2097152 bytes, smaller than size=4194304"; then
	echo "--pmem with a file smaller than size: exit $rc: $out"
	exit 1
fi
echo "--pmem with a file smaller than size refused: $out"

out=$(timeout 20 cellvm --kernel "$L2_IMAGES/vmlinux" --memory size=128M --serial null \
	--console off --rng src=/nonexistent/rng 2>&1)
rc=$?
if [ "$rc" -ne 1 ] || ! echo "$out" | grep -q "rng: cannot open source '/nonexistent/rng'"; then
	echo "--rng with a missing source: exit $rc: $out"
	exit 1
fi
echo "--rng with a missing source refused: $out"

sn=cellvm-sn-0042
uuid=4c4c4544-0042-4d10-8031-b4c04f4a4a32
plat="serial_number=$sn,uuid=$(echo $uuid | tr a-f A-F),oem_strings=[oem-one,io.cellvm.two]"
dmi=dmi:$sn:$uuid:oem-one:io.cellvm.two

L2_CONSOLE=file=/tmp/hvc.log run_l2_cellvm 150 boot,$dmi,pmem:$rosha:discard,hvc \
	--platform "$plat" --pmem file=$ro,discard_writes=on || exit 1
# The guest's tty may add a CR (onlcr): the line is compared without it.
tr -d '\r' </tmp/hvc.log | grep -q '^CELLVM-HVC-OUT [0-9a-f-]*$' ||
	{ echo "hvc: the guest's line is not in the --console file: $(head -c 200 /tmp/hvc.log)"; exit 1; }
echo "hvc: --console file= has the guest's line: $(grep -m1 CELLVM-HVC-OUT /tmp/hvc.log)"
[ "$(sha256sum <$ro | cut -d' ' -f1)" = "$rosha" ] ||
	{ echo "pmem: the guest's writes reached the discard_writes=on file"; exit 1; }
# The replacement of a killed cellvm-rngd (respawn), cued by the first `rng` of the bzImage boot.
(
	i=0
	until grep -qs '^CELLVM-AGENT: PASS rng' "$L2_LOGDIR"/*-rng-sleep_6-rng.log; do
		[ "$i" -lt 1200 ] || { echo "L1: the first rng never passed"; exit 1; }
		sleep 0.1
		i=$((i + 1))
	done
	old=$(l1_child rngd) || { echo "L1: no cellvm-rngd to kill"; exit 1; }
	kill -9 "$old"
	echo "L1: killed cellvm-rngd $old"
	i=0
	while [ "$i" -lt 100 ]; do
		new=$(l1_child rngd) && [ "$new" != "$old" ] && {
			echo "L1: replacement cellvm-rngd $new"
			exit 0
		}
		sleep 0.1
		i=$((i + 1))
	done
	echo "L1: no replacement for cellvm-rngd $old within 10 s"
	exit 1
) >/tmp/rng-respawn.txt 2>&1 &
killer=$!
L2_KERNEL=/images/vmlinuz run_l2_cellvm 150 boot,dmi,pmem:$rwsha:write,rng,sleep:6,rng \
	--rng src=/dev/urandom --pmem file=$rw,id=rw0 ||
	{ cat /tmp/rng-respawn.txt; exit 1; }
[ "$(head -c 13 $rw)" = "PMEM-WRITTEN" ] ||
	{ echo "pmem: the guest's line is not in the writable file: $(head -c 13 $rw | od -c | head -2)"; exit 1; }
wait "$killer" || { cat /tmp/rng-respawn.txt; echo "rngd respawn failed"; exit 1; }
cat /tmp/rng-respawn.txt
n=$(grep -c '^CELLVM-AGENT: PASS rng' "$L2_LOG")
[ "$n" -eq 2 ] || { echo "rng: passed $n times around cellvm-rngd's replacement, want 2"; exit 1; }
# The pty's other end in L1: reads what the guest writes, and writes a line every 0.5 s until
# both boots read one (cellvm prints the pty's name on its stderr, which is in the L2 log).
(
	i=0 pty=
	until [ -n "$pty" ]; do
		[ "$i" -lt 600 ] || { echo "L1: cellvm named no pty"; exit 1; }
		pty=$(sed -n 's|^cellvm: console: pty \(/dev/pts/[0-9]*\)$|\1|p' \
			"$L2_LOGDIR"/*-hvc_read-*.log 2>/dev/null | tail -n 1)
		sleep 0.1
		i=$((i + 1))
	done
	echo "L1: console pty $pty"
	exec 3<>"$pty"
	cat <&3 >/tmp/hvc-pty.out &
	reader=$!
	i=0
	# A line only once the boot's guest has written its own (its hvc0 is raw by then, so
	# no echo or line editing mixes the two).
	until [ "$(cat "$L2_LOGDIR"/*-hvc_read-*.log | grep -c '^CELLVM-AGENT: HVC-IN ')" -ge 2 ]; do
		[ "$i" -lt 300 ] || { echo "L1: the guest read no line twice"; kill $reader; exit 1; }
		out=$(grep -o 'CELLVM-HVC-OUT [0-9a-f-]\{36\}' /tmp/hvc-pty.out | wc -l)
		in=$(cat "$L2_LOGDIR"/*-hvc_read-*.log | grep -c '^CELLVM-AGENT: HVC-IN ')
		[ "$out" -le "$in" ] || echo "CELLVM-FROM-L1 $i" >&3
		sleep 0.5
		i=$((i + 1))
	done
	sleep 0.5
	# cat may have ended already: the pty reads EIO once cellvm closed its master.
	kill $reader 2>/dev/null
	exit 0
) >/tmp/hvc-pty.txt 2>&1 &
ptyhelper=$!
L2_CONSOLE=pty run_l2_cellvm 150 boot,$dmi,rng,hvc:read,rebootonce --platform "$plat" \
	--rng src=/dev/random || { cat /tmp/hvc-pty.txt; exit 1; }
wait "$ptyhelper" || { cat /tmp/hvc-pty.txt; echo "hvc: the pty side failed"; exit 1; }
cat /tmp/hvc-pty.txt
n=$(grep -o 'CELLVM-HVC-OUT [0-9a-f-]\{36\}' /tmp/hvc-pty.out | sort -u | wc -l)
[ "$n" -eq 2 ] || { echo "hvc: $n guest lines on the pty, want 2: $(head -c 300 /tmp/hvc-pty.out)"; exit 1; }
n=$(grep -c '^CELLVM-AGENT: HVC-IN CELLVM-FROM-L1 ' "$L2_LOG")
[ "$n" -eq 2 ] || { echo "hvc: the guest read L1's line on $n of the 2 boots"; exit 1; }
boots=$(grep -c '^CELLVM-AGENT: START' "$L2_LOG")
if [ "$boots" -ne 2 ]; then
	echo "rebootonce: expected 2 boots in $L2_LOG, saw $boots"
	exit 1
fi
grep -q '^CELLVM-AGENT: REBOOTING rebootonce' "$L2_LOG" || { echo "no reboot marker"; exit 1; }
n=$(grep -c '^CELLVM-AGENT: PASS dmi' "$L2_LOG")
[ "$n" -eq 2 ] || { echo "dmi: passed on $n of the 2 boots around the reboot"; exit 1; }
n=$(grep -c '^CELLVM-AGENT: PASS rng' "$L2_LOG")
[ "$n" -eq 2 ] || { echo "rng: passed on $n of the 2 boots around the reboot"; exit 1; }
echo "cellvm: PVH and bzImage boots passed, poweroff exit 0, reboot restarted the guest," \
	"SMBIOS serial number, UUID and OEM strings read in the guest before and after the reboot," \
	"virtio-rng the guest's hw_random source before and after the reboot and a killed" \
	"cellvm-rngd replaced, virtio-pmem read, written through and kept private with discard_writes," \
	"virtio-console lines to a --console file and both ways through a --console pty"
