#!/bin/sh
# /init of the L2 test guest (busybox sh).  Runs the checks named on the kernel command line and
# reports on the console with markers that the host side greps for:
#   CELLVM-AGENT: START
#   CELLVM-AGENT: PASS <name>
#   CELLVM-AGENT: FAIL <name>: <reason>
#   CELLVM-AGENT: DONE
# then powers off (or reboots, if a check asked for it).
#
# Command line:
#   cellvm.check=NAME[:ARG...][,NAME...]  checks to run, in order (default: boot)
#   cellvm.args=A,B                       extra arguments for every check (commas become spaces)
#   e.g. "cellvm.check=smp cellvm.args=2" or "cellvm.check=boot,smp:2,blk".
#
# Adding a check: write check_NAME (arguments are the check's arguments).  Return 0 to pass; to
# fail, call `fail REASON` (which returns 1) so the FAIL line says why.  Set AFTER=reboot to reboot
# instead of powering off once all checks ran.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /tmp
# The kernel opened /dev/console from the initramfs before devtmpfs covered /dev; reopen it so
# every line goes to the serial console (console=ttyS0) whatever the guest's /dev looks like.
exec </dev/console >/dev/console 2>&1

say() { echo "CELLVM-AGENT: $*"; }

REASON=
AFTER=poweroff
fail() {
	REASON=$*
	return 1
}

# Load the virtio stack; the list is in dependency order (made from modules.dep at build time).
# A module that is built in or already loaded is not an error, a missing driver shows up in the
# checks that need it.
while read -r mod; do
	[ -n "$mod" ] || continue
	out=$(insmod "/lib/modules/$mod.ko" 2>&1) || case "$out" in
		*"File exists"*) ;;
		*) echo "agent: insmod $mod: $out" ;;
	esac
done </etc/cellvm-modules
# Device nodes for the freshly probed drivers appear asynchronously; give them a moment.
mdev -s 2>/dev/null
sleep 0.2 2>/dev/null || true

cpus_online() {
	grep -c '^processor' /proc/cpuinfo
}

check_boot() {
	echo "kernel: $(uname -r)"
	echo "cpus: $(cpus_online)"
	echo "mem: $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"
	acpi=$(dmesg | grep -E 'ACPI (BIOS )?Error' | head -n 3)
	[ -z "$acpi" ] || fail "dmesg has ACPI errors: $(echo "$acpi" | tr '\n' '|')"
}

check_smp() {
	[ -n "${1:-}" ] || {
		fail "usage: smp N"
		return
	}
	n=$(cpus_online)
	echo "cpus: $n (want $1)"
	[ "$n" -eq "$1" ] || fail "$n CPUs online, want $1"
}

# dmi [SERIAL UUID OEM...]: the SMBIOS tables as Linux found them without EFI (its scan of
# 0xF0000-0xFFFFF): the 64-bit entry point, Cloud Hypervisor's vendor strings, the BIOS area
# reserved in the e820 map; with arguments, --platform's serial number and UUID in
# /sys/class/dmi/id and its OEM strings in the type 11 structure (the strings after its 5-byte
# header, then its count byte); without, no serial number, no UUID and no type 11.
check_dmi() {
	local id=/sys/class/dmi/id raw=/sys/firmware/dmi/entries/11-0/raw got e
	got=$(head -c 5 /sys/firmware/dmi/tables/smbios_entry_point 2>/dev/null)
	[ "$got" = _SM3_ ] || fail "SMBIOS entry point '$got', want _SM3_" || return
	dmesg | grep -m 1 'SMBIOS .* present'
	dmesg | grep -m 1 'DMI: '
	# The tables' page (0xff000, up to the reset vector) in a reserved range of the firmware's
	# map (PVH boots merge it into Linux's own 0xa0000-0xfffff, bzImage boots keep ours).
	got=
	for e in /sys/firmware/memmap/*; do
		[ "$(cat $e/type)" = Reserved ] && [ $(($(cat $e/start))) -le $((0xff000)) ] &&
			[ $(($(cat $e/end))) -ge $((0xfffef)) ] && got="$(cat $e/start)-$(cat $e/end)"
	done
	echo "reserved: $got"
	[ -n "$got" ] || fail "no reserved memmap range holds 0xff000-0xfffef" || return
	got=$(cat $id/sys_vendor 2>/dev/null)/$(cat $id/product_name 2>/dev/null)
	[ "$got" = "Cloud Hypervisor/cloud-hypervisor" ] || fail "vendor/product '$got'" || return
	if [ $# -eq 0 ]; then
		# Linux shows string 0 as an empty file and leaves out an all-zero UUID.
		got=$(cat $id/product_serial 2>/dev/null)
		[ -z "$got" ] || fail "a serial number: $got" || return
		[ ! -e $id/product_uuid ] || fail "a UUID: $(cat $id/product_uuid)" || return
		[ ! -e $raw ] || fail "a type 11 structure without OEM strings" || return
		return 0
	fi
	got=$(cat $id/product_serial 2>/dev/null)
	echo "product_serial: $got"
	[ "$got" = "$1" ] || fail "product_serial '$got', want '$1'" || return
	got=$(cat $id/product_uuid 2>/dev/null)
	echo "product_uuid: $got"
	[ "$got" = "$2" ] || fail "product_uuid '$got', want '$2'" || return
	shift 2
	[ -r $raw ] || fail "no type 11 structure ($raw)" || return
	got=$(dd if=$raw bs=1 skip=5 2>/dev/null | tr '\0' ' ' | sed 's/ *$//')
	echo "oem strings: $got"
	[ "$got" = "$*" ] || fail "OEM strings '$got', want '$*'" || return
	got=$(dd if=$raw bs=1 skip=4 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	[ "$got" = $# ] || fail "type 11 counts $got strings, want $#"
}

# Write random data over the first megabytes of /dev/vda with O_DIRECT (so the page cache
# cannot answer the read), read it back the same way, compare.
check_blk() {
	dev=${1:-/dev/vda}
	mb=${2:-4}
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	echo "$dev: $(cat "/sys/class/block/${dev#/dev/}/size") sectors"
	dd if=/dev/urandom of=/tmp/pattern bs=1M count="$mb" iflag=fullblock 2>/dev/null
	dd if=/tmp/pattern of="$dev" bs=1M oflag=direct conv=fsync 2>/tmp/dd.err || {
		fail "write: $(tail -n 1 /tmp/dd.err)"
		return
	}
	dd if="$dev" of=/tmp/readback bs=1M count="$mb" iflag=direct 2>/tmp/dd.err || {
		fail "read: $(tail -n 1 /tmp/dd.err)"
		return
	}
	cmp /tmp/pattern /tmp/readback || fail "read back differs from what was written"
}

check_dmesg() {
	dmesg
}

check_shell() {
	echo "agent: interactive shell on the console; exit it to power off"
	setsid cttyhack sh -l || setsid sh
}

# Reboot once all checks ran.  The command line is the same after the reboot, so the guest boots
# into this check again: whoever started the VM counts START markers and stops it.
check_reboot() {
	AFTER=reboot
}

# CMOS NVRAM through /dev/nvram (the nvram module; byte 0 is CMOS register 14): the one
# guest-visible state that survives a reset under cellvm and QEMU alike, so a check can tell its
# first boot from the next.  The cloud kernel has no /dev/port.
nvram_read() {
	dd if=/dev/nvram bs=1 skip="$1" count=1 2>/dev/null | od -An -tu1 | tr -d ' '
}
nvram_write() {
	printf "\\$(printf %o "$2")" | dd of=/dev/nvram bs=1 seek="$1" count=1 conv=notrunc 2>/dev/null
}

# Reboots the guest once and passes on the boot after it: the VMM must restart the guest on a
# reboot and still end with the final poweroff.  NVRAM byte 42 (CMOS 0x38) counts the boots.
check_rebootonce() {
	[ -c /dev/nvram ] || { fail "no /dev/nvram (nvram module)"; return 1; }
	n=$(nvram_read 42)
	case "$n" in
	0)
		nvram_write 42 1
		[ "$(nvram_read 42)" = 1 ] || { fail "CMOS NVRAM did not keep a byte"; return 1; }
		say "REBOOTING rebootonce"
		sync
		reboot -f
		sleep 30
		fail "reboot -f returned"
		return 1
		;;
	1) nvram_write 42 0 ;;
	*) fail "unexpected boot count '$n' in CMOS"; return 1 ;;
	esac
}

# blkinfo DEV SECTORS [SERIAL]: the disk's capacity (512-byte sectors) and virtio-blk serial.
check_blkinfo() {
	local bdev=${1:-/dev/vda} size serial
	[ -b "$bdev" ] || {
		fail "no block device $bdev"
		return
	}
	size=$(cat "/sys/class/block/${bdev#/dev/}/size")
	serial=$(cat "/sys/class/block/${bdev#/dev/}/serial" 2>/dev/null)
	echo "$bdev: $size sectors, serial '$serial'"
	[ "$size" = "$2" ] || fail "$size sectors, want $2" || return
	[ -z "${3:-}" ] || [ "$serial" = "$3" ] || fail "serial '$serial', want '$3'"
}

# blkmq DEV N: the driver runs N hardware queues on the disk.
check_blkmq() {
	local bdev=${1:-/dev/vda} n
	n=$(ls "/sys/block/${bdev#/dev/}/mq" | wc -l)
	echo "$bdev: $n queues"
	[ "$n" = "$2" ] || fail "$n queues, want $2"
}

# blkro DEV: the disk is read-only and a write to it fails.
check_blkro() {
	dev=${1:-/dev/vda}
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	ro=$(cat "/sys/class/block/${dev#/dev/}/ro")
	echo "$dev: ro=$ro"
	[ "$ro" = 1 ] || fail "ro=$ro, want 1" || return
	if dd if=/dev/zero of="$dev" bs=4096 count=1 seek=1 oflag=direct conv=fsync 2>/tmp/dd.err; then
		fail "write to a read-only disk succeeded"
	fi
}

# blkrate DRAIN_DEV DEV DRAIN_MB MB KIB_S [MAX_KIB_S]: reads DRAIN_MB MiB from DRAIN_DEV (empties a
# rate limiter's bucket, which starts full), then times an O_DIRECT read of MB MiB from DEV: its
# throughput must be within 10% of KIB_S KiB/s. KIB_S 0: unlimited, the read must be faster than
# MAX_KIB_S (shows the limit is the limiter's, not the machine's). Two devices of one
# --rate-limit-group share the bucket: draining one slows the other.
check_blkrate() {
	local ddev=$1 dev=$2 dmb=$3 mb=$4 want=$5 t0 t1 cs rate
	[ -b "$ddev" ] && [ -b "$dev" ] || {
		fail "no block device $ddev or $dev"
		return
	}
	if [ "$dmb" -gt 0 ]; then
		dd if="$ddev" of=/dev/null bs=1M count="$dmb" skip=32 iflag=direct 2>/tmp/dd.err || {
			fail "drain read of $ddev: $(tail -n 1 /tmp/dd.err)"
			return
		}
	fi
	t0=$(uptime_cs)
	dd if="$dev" of=/dev/null bs=1M count="$mb" iflag=direct 2>/tmp/dd.err || {
		fail "read of $dev: $(tail -n 1 /tmp/dd.err)"
		return
	}
	t1=$(uptime_cs)
	cs=$((t1 - t0))
	[ "$cs" -gt 0 ] || cs=1
	rate=$((mb * 1024 * 100 / cs))
	echo "blkrate: $mb MiB from $dev in $cs cs: $rate KiB/s (limit ${want:-0} KiB/s)"
	if [ "$want" -eq 0 ]; then
		[ "$rate" -gt "$6" ] || fail "unlimited $dev reads $rate KiB/s, not above $6"
		return
	fi
	[ $((rate * 10)) -ge $((want * 9)) ] && [ $((rate * 10)) -le $((want * 11)) ] ||
		fail "$dev reads $rate KiB/s, want $want +-10%"
}

# blkdiscard DEV OFFSET_MB LEN_MB: writes a pattern, discards it, reads zeroes back.
check_blkdiscard() {
	dev=${1:-/dev/vda}
	off=${2:-1}
	len=${3:-4}
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	echo "$dev: discard_max_bytes $(cat "/sys/class/block/${dev#/dev/}/queue/discard_max_bytes")"
	dd if=/dev/urandom of=/tmp/pattern bs=1M count="$len" iflag=fullblock 2>/dev/null
	dd if=/tmp/pattern of="$dev" bs=1M seek="$off" oflag=direct conv=fsync 2>/tmp/dd.err || {
		fail "write: $(tail -n 1 /tmp/dd.err)"
		return
	}
	blkdiscard -o $((off * 1048576)) -l $((len * 1048576)) "$dev" 2>/tmp/bd.err || {
		fail "blkdiscard: $(tail -n 1 /tmp/bd.err)"
		return
	}
	dd if=/dev/zero of=/tmp/zeroes bs=1M count="$len" 2>/dev/null
	dd if="$dev" of=/tmp/readback bs=1M skip="$off" count="$len" iflag=direct 2>/tmp/dd.err || {
		fail "read: $(tail -n 1 /tmp/dd.err)"
		return
	}
	cmp /tmp/zeroes /tmp/readback || fail "discarded range does not read back as zeroes"
}

# blksector0 DEV: a write to sector 0 fails (autodetected raw image), one to sector 8 works.
check_blksector0() {
	dev=${1:-/dev/vda}
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	if dd if=/dev/urandom of="$dev" bs=512 count=1 oflag=direct conv=fsync 2>/tmp/dd.err; then
		fail "write to sector 0 succeeded"
		return
	fi
	dd if=/dev/urandom of="$dev" bs=4096 count=1 seek=1 oflag=direct conv=fsync 2>/tmp/dd.err ||
		fail "write to sector 8 failed: $(tail -n 1 /tmp/dd.err)"
}

# numa N MB0..MB(N-1) ROW0..ROW(N-1): N nodes in /sys/devices/system/node, node I's MemTotal
# within 25% below MBi MiB (the kernel keeps some for itself, node 0 most), and node I's
# distance line equal to ROWi with '.' for spaces, e.g. numa:2:256:256:10.20:20.10.
check_numa() {
	n=${1:-}
	[ -n "$n" ] && [ $# -eq $((1 + 2 * n)) ] || {
		fail "usage: numa N MB0.. ROW0.. (got: $*)"
		return
	}
	shift
	got=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
	echo "numa: $got nodes (want $n)"
	[ "$got" -eq "$n" ] || {
		fail "$got NUMA nodes, want $n"
		return
	}
	i=0
	while [ "$i" -lt "$n" ]; do
		eval "mb=\${$((i + 1))}"
		eval "row=\${$((i + 1 + n))}"
		d=/sys/devices/system/node/node$i
		kb=$(sed -n 's/^Node [0-9]* MemTotal: *\([0-9]*\) kB$/\1/p' "$d/meminfo")
		dist=$(cat "$d/distance")
		echo "node$i: MemTotal ${kb:-?} kB (want about $((mb * 1024))), distance '$dist', cpus $(cat "$d/cpulist")"
		[ -n "$kb" ] && [ "$kb" -le $((mb * 1024)) ] && [ "$kb" -ge $((mb * 1024 * 3 / 4)) ] || {
			fail "node$i MemTotal ${kb:-?} kB, want $mb MiB within 25% below"
			return
		}
		[ "$dist" = "$(echo "$row" | tr '.' ' ')" ] || {
			fail "node$i distance '$dist', want '$(echo "$row" | tr '.' ' ')'"
			return
		}
		i=$((i + 1))
	done
}

# vsock MODE ARGS...: runs /bin/cellvm-vsock-peer (tests/vsockd/vsock-peer.c, appended to the
# initramfs by the vsockd tests) with MODE and ARGS, e.g. vsock:serve:vsock:6000:4 or
# vsock:send:vsock:2:5000:4:67108864:1048576; passes when it exits 0.
check_vsock() {
	[ -x /bin/cellvm-vsock-peer ] || {
		fail "no /bin/cellvm-vsock-peer in the initramfs"
		return
	}
	/bin/cellvm-vsock-peer "$@" || fail "cellvm-vsock-peer $*: exit $?"
}

# net GUEST_IP HOST_IP [IFACE]: the virtio-net interface comes up with a link-local address
# (169.254.0.0/16 only) and the host answers 3 pings.
check_net() {
	local ip=${1:-} host=${2:-} dev=${3:-eth0} i=0
	case "$ip$host" in 169.254.*169.254.*) ;; *)
		fail "usage: net 169.254.X.Y 169.254.Z.W [IFACE] (link-local only)"
		return
		;;
	esac
	while [ ! -e "/sys/class/net/$dev" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "/sys/class/net/$dev" ] || {
		fail "no interface $dev"
		return
	}
	echo "$dev: mac $(cat "/sys/class/net/$dev/address"), mtu $(cat "/sys/class/net/$dev/mtu"), queues $(ls "/sys/class/net/$dev/queues" | tr '\n' ' ')"
	ip link set "$dev" up && ip addr add "$ip/16" dev "$dev" || {
		fail "cannot configure $dev"
		return
	}
	ping -c 3 -W 5 "$host" || fail "no answer from $host"
}

# netxfer HOST_IP PORT MB SHA256: receives MB MiB from HOST:PORT and checks their sha256, then
# sends MB MiB of random data to HOST:PORT+1 and prints its sha256 for the host to compare.
# Each transfer is bounded by timeout(1).
check_netxfer() {
	local host=${1:-} port=${2:-} mb=${3:-} want=${4:-} got t0 t1
	[ -n "$want" ] || {
		fail "usage: netxfer HOST PORT MB SHA256"
		return
	}
	t0=$(date +%s)
	got=$(timeout 120 nc "$host" "$port" </dev/null | sha256sum | cut -d' ' -f1)
	t1=$(date +%s)
	echo "netxfer: rx $mb MiB in $((t1 - t0)) s, sha256 $got"
	[ "$got" = "$want" ] || {
		fail "received sha256 $got, want $want"
		return
	}
	dd if=/dev/urandom of=/tmp/netxfer bs=1M count="$mb" iflag=fullblock 2>/dev/null || {
		fail "cannot make $mb MiB of data"
		return
	}
	echo "netxfer: tx sha256 $(sha256sum </tmp/netxfer | cut -d' ' -f1)"
	t0=$(date +%s)
	timeout 120 nc "$host" $((port + 1)) </tmp/netxfer >/dev/null || {
		rm -f /tmp/netxfer
		fail "send to $host:$((port + 1)) failed"
		return
	}
	echo "netxfer: tx $mb MiB in $(($(date +%s) - t0)) s"
	rm -f /tmp/netxfer
}

# blkpersist DEV: data written before a guest reboot is there after it. On the first boot
# (NVRAM byte 43 is 0) it writes a fixed 1 MiB pattern at 2 MiB into DEV with O_DIRECT and
# marks NVRAM; on the next boot it reads the pattern back and clears the mark. Pair it with
# rebootonce after it: cellvm.check=blkpersist:/dev/vda,rebootonce.
check_blkpersist() {
	dev=${1:-/dev/vda}
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	[ -c /dev/nvram ] || { fail "no /dev/nvram (nvram module)"; return 1; }
	yes "cellvm persist $dev" | head -c 1048576 >/tmp/persist
	case "$(nvram_read 43)" in
	0)
		dd if=/tmp/persist of="$dev" bs=1M seek=2 oflag=direct conv=fsync 2>/tmp/dd.err || {
			fail "write: $(tail -n 1 /tmp/dd.err)"
			return
		}
		nvram_write 43 1
		echo "$dev: pattern written, read back after the reboot"
		;;
	1)
		nvram_write 43 0
		dd if="$dev" of=/tmp/readback bs=1M skip=2 count=1 iflag=direct 2>/tmp/dd.err || {
			fail "read: $(tail -n 1 /tmp/dd.err)"
			return
		}
		cmp /tmp/persist /tmp/readback || fail "the pattern did not survive the reboot"
		echo "$dev: pattern survived the reboot"
		;;
	*) fail "unexpected NVRAM mark '$(nvram_read 43)'" ;;
	esac
}

# blkfill DEV OFF_MB LEN_MB OCTAL: LEN_MB MiB at OFF_MB read (O_DIRECT) as the byte OCTAL
# throughout, e.g. 252 for 0xaa: what a backing file holds, or 0 past its end.
check_blkfill() {
	dev=${1:-/dev/vda}
	off=${2:-0}
	len=${3:-1}
	byte=${4:-0}
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	dd if=/dev/zero bs=1M count="$len" 2>/dev/null | tr '\000' "\\$byte" >/tmp/fill
	dd if="$dev" of=/tmp/readback bs=1M skip="$off" count="$len" iflag=direct 2>/tmp/dd.err || {
		fail "read: $(tail -n 1 /tmp/dd.err)"
		return
	}
	cmp /tmp/fill /tmp/readback || fail "$len MiB at $off MiB is not all byte \\$byte"
}

# blkresize DEV SECTORS [SECONDS]: prints "CELLVM-AGENT: RESIZE-READY" for the host, which
# then grows the disk; polls the capacity until it is SECTORS (bounded), then writes and reads
# back the last MiB of the new capacity.
check_blkresize() {
	dev=${1:-/dev/vda}
	want=$2
	secs=${3:-60}
	sysf=/sys/class/block/${dev#/dev/}/size
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	echo "$dev: $(cat "$sysf") sectors before the resize"
	say RESIZE-READY
	i=0
	while [ "$(cat "$sysf")" != "$want" ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "capacity still $(cat "$sysf") sectors after $secs s, want $want"
			return
		}
		sleep 0.2
	done
	echo "$dev: $want sectors after the resize"
	last=$((want / 2048 - 1))
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=1 iflag=fullblock 2>/dev/null
	dd if=/tmp/pattern of="$dev" bs=1M seek="$last" oflag=direct conv=fsync 2>/tmp/dd.err || {
		fail "write past the old end: $(tail -n 1 /tmp/dd.err)"
		return
	}
	dd if="$dev" of=/tmp/readback bs=1M skip="$last" count=1 iflag=direct 2>/tmp/dd.err || {
		fail "read past the old end: $(tail -n 1 /tmp/dd.err)"
		return
	}
	cmp /tmp/pattern /tmp/readback || fail "the grown part does not read back"
}

# netpeer ARGS...: runs cellvm-net-peer (tests/netd/net-peer.c, appended to the initramfs by
# the test) with ARGS, e.g. netpeer:send:169.254.10.1:5000:1:67108864 or netpeer:serve:6000:1;
# the streams are checked on both ends.
check_netpeer() {
	[ -x /bin/cellvm-net-peer ] || {
		fail "no /bin/cellvm-net-peer in the initramfs"
		return
	}
	/bin/cellvm-net-peer "$@" || fail "cellvm-net-peer $*: exit $?"
}

# netlink SECS [HOST_IP [IFACE]]: the host takes the link down and up again, and the guest
# sees it: prints "CELLVM-AGENT: LINK-WAIT-DOWN" (the host's cue), waits at most SECS for
# IFACE's carrier to drop, prints "CELLVM-AGENT: LINK-DOWN-SEEN" (the cue to bring it back),
# waits at most SECS for the carrier, then pings HOST_IP when given.
check_netlink() {
	local secs=${1:-60} host=${2:-} dev=${3:-eth0} c=/sys/class/net/${3:-eth0}/carrier i
	[ -r "$c" ] || {
		fail "no $c"
		return
	}
	[ "$(cat "$c")" = 1 ] || {
		fail "$dev has no carrier before the test"
		return
	}
	say LINK-WAIT-DOWN
	i=0
	while [ "$(cat "$c" 2>/dev/null)" != 0 ] && [ "$i" -lt $((secs * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(cat "$c" 2>/dev/null)" = 0 ] || {
		fail "carrier still up ${secs} s after the cue"
		return
	}
	echo "netlink: carrier down after $((i / 10)).$((i % 10)) s"
	say LINK-DOWN-SEEN
	i=0
	while [ "$(cat "$c" 2>/dev/null)" != 1 ] && [ "$i" -lt $((secs * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(cat "$c" 2>/dev/null)" = 1 ] || {
		fail "carrier still down ${secs} s after the cue"
		return
	}
	echo "netlink: carrier up after $((i / 10)).$((i % 10)) s"
	[ -z "$host" ] || ping -c 2 -W 5 "$host" || fail "no answer from $host after the link came back"
}

# ginode N: node N is a Generic Initiator node (SRAT type 5): has_generic_initiator lists it.
# Also prints the node of every PCI function, where _PXM shows up.
check_ginode() {
	f=/sys/devices/system/node/has_generic_initiator
	for d in /sys/bus/pci/devices/*; do
		[ -r "$d/numa_node" ] && echo "ginode: ${d##*/} numa_node $(cat "$d/numa_node")"
	done
	[ -r $f ] || {
		fail "no $f"
		return
	}
	list=$(cat $f)
	echo "ginode: has_generic_initiator '$list' (want node $1)"
	for r in $(echo "$list" | tr ',' ' '); do
		lo=${r%-*}
		hi=${r#*-}
		[ "$1" -ge "$lo" ] && [ "$1" -le "$hi" ] && return 0
	done
	fail "node $1 not in has_generic_initiator '$list'"
}

# pauseclock SECONDS [MAXGAP_CS]: prints "CELLVM-AGENT: TICK N" every 0.5 s of guest time for
# SECONDS (the host pauses the VM meanwhile and sees the ticks stop); fails when two ticks lie
# more than MAXGAP_CS centiseconds (200) apart on the guest's clock: it jumped across a pause.
check_pauseclock() {
	secs=${1:-10}
	maxcs=${2:-200}
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	prev=$(cut -d' ' -f1 /proc/uptime | tr -d .)
	n=0
	worst=0
	while [ "$n" -lt $((secs * 2)) ]; do
		sleep 0.5
		now=$(cut -d' ' -f1 /proc/uptime | tr -d .)
		gap=$((now - prev))
		prev=$now
		[ "$gap" -le "$worst" ] || worst=$gap
		n=$((n + 1))
		say "TICK $n"
	done
	echo "largest gap between two ticks: ${worst}0 ms"
	[ "$worst" -le "$maxcs" ] || fail "the guest clock jumped: ${worst}0 ms between two ticks"
}

# powerbutton [SECONDS]: prints "CELLVM-AGENT: POWER-BUTTON-READY", then waits (bounded) for the
# ACPI GED interrupt the host's power button raises (the button driver is a module this image
# does not load, so the interrupt count in /proc/interrupts is the evidence); the agent's
# poweroff follows, as a button handler's would.
ged_irqs() {
	awk '/ACPI:Ged/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' \
		/proc/interrupts
}
check_powerbutton() {
	secs=${1:-120}
	grep -q 'ACPI:Ged' /proc/interrupts || {
		fail "no ACPI:Ged interrupt in /proc/interrupts"
		return
	}
	before=$(ged_irqs)
	say POWER-BUTTON-READY
	i=0
	while [ "$(ged_irqs)" = "$before" ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "no GED interrupt within $secs s"
			return
		}
		sleep 0.2
	done
	echo "GED interrupts: $before before, $(ged_irqs) after"
}

# uptime_cs: the guest's uptime in centiseconds.
uptime_cs() {
	cut -d' ' -f1 /proc/uptime | tr -d .
}

# blkrespawn DEV ROUNDS [MB]: ROUNDS rounds of fresh data on DEV while the host kills the disk's
# device process: round N writes MB MiB (1) of a pattern of its own at N*MB MiB with O_DIRECT and
# a flush, reads it back (O_DIRECT) and compares, then prints "CELLVM-AGENT: BLK-ROUND N" (the
# host's cue). Afterwards every round is read again (data the dead process wrote, or that its
# replacement resubmitted, must all be there) and the kernel must have logged no I/O error.
# Prints the slowest round: the one the respawn stalled. Meanwhile a second writer rewrites a
# 4 MiB pattern at 48 MiB in 256 KiB O_DIRECT writes (bounded), so more requests are in flight
# when the process dies; that region must hold the pattern at the end.
blk_pattern() {
	yes "cellvm respawn round $1 of $2" | head -c $(($3 * 1048576))
}
check_blkrespawn() {
	local dev=${1:-/dev/vda} rounds=${2:-30} mb=${3:-1} n=1 t0 t1 worst=0 slow=0 bg
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	blk_pattern background "$dev" 4 >/tmp/bgpat
	: >/tmp/bg.run
	(
		i=0
		while [ -e /tmp/bg.run ] && [ "$i" -lt 1000 ]; do
			dd if=/tmp/bgpat of="$dev" bs=256k seek=192 oflag=direct 2>/tmp/bg.err || exit 1
			i=$((i + 1))
		done
		echo "blkrespawn: the second writer wrote its pattern $i times"
	) &
	bg=$!
	while [ "$n" -le "$rounds" ]; do
		t0=$(uptime_cs)
		blk_pattern "$n" "$dev" "$mb" >/tmp/pattern
		dd if=/tmp/pattern of="$dev" bs=1M seek=$((n * mb)) oflag=direct conv=fsync \
			2>/tmp/dd.err || {
			fail "round $n: write: $(tail -n 1 /tmp/dd.err)"
			break
		}
		dd if="$dev" of=/tmp/readback bs=1M skip=$((n * mb)) count="$mb" iflag=direct \
			2>/tmp/dd.err || {
			fail "round $n: read: $(tail -n 1 /tmp/dd.err)"
			break
		}
		cmp -s /tmp/pattern /tmp/readback || {
			fail "round $n: read back differs from what was written"
			break
		}
		t1=$(uptime_cs)
		[ $((t1 - t0)) -le "$worst" ] || {
			worst=$((t1 - t0))
			slow=$n
		}
		say "BLK-ROUND $n"
		n=$((n + 1))
	done
	rm -f /tmp/bg.run
	[ -z "$REASON" ] || return 1
	wait "$bg" || fail "the second writer failed: $(tail -n 1 /tmp/bg.err)" || return
	echo "blkrespawn: $rounds rounds verified; slowest round $slow: ${worst}0 ms"
	dd if="$dev" of=/tmp/readback bs=1M skip=48 count=4 iflag=direct 2>/tmp/dd.err &&
		cmp -s /tmp/bgpat /tmp/readback || fail "the second writer's region is wrong" || return
	n=1
	while [ "$n" -le "$rounds" ]; do
		blk_pattern "$n" "$dev" "$mb" >/tmp/pattern
		dd if="$dev" of=/tmp/readback bs=1M skip=$((n * mb)) count="$mb" iflag=direct \
			2>/tmp/dd.err || {
			fail "reread of round $n: $(tail -n 1 /tmp/dd.err)"
			return
		}
		cmp -s /tmp/pattern /tmp/readback || {
			fail "round $n no longer reads back at the end"
			return
		}
		n=$((n + 1))
	done
	echo "blkrespawn: every round reads back at the end"
	check_noioerr
}

# noioerr: the kernel logged no block I/O error (nor a virtio-blk complaint).
check_noioerr() {
	local bad
	bad=$(dmesg | grep -iE 'I/O error|blk_update_request|critical (medium|target|nexus)|virtio_blk.*(error|fail)' |
		head -n 3)
	[ -z "$bad" ] || fail "kernel logged I/O errors: $(echo "$bad" | tr '\n' '|')"
}

# netrespawn HOST SECS [MAXGAP]: prints "CELLVM-AGENT: NET-KILL-READY" (the host kills the NIC's
# device process a few seconds later), pings HOST once a second for SECS seconds and passes when
# the answers came back: the last two pings answered and no more than MAXGAP (5) pings in a row
# went unanswered.
check_netrespawn() {
	local host=${1:-} secs=${2:-15} maxgap=${3:-5} seqs sent last prev gap=0 worst=0 s
	case "$host" in 169.254.*) ;; *)
		fail "usage: netrespawn 169.254.X.Y SECS [MAXGAP] (link-local only)"
		return
		;;
	esac
	say NET-KILL-READY
	ping -w "$secs" "$host" >/tmp/ping.out 2>&1
	sed -n '/packets transmitted/p; /time=[0-9.]* ms/{s/.*seq=\([0-9]*\).*time=\([0-9.]*\) ms.*/seq \1 \2 ms/p}' \
		/tmp/ping.out | tr '\n' ' '
	echo
	seqs=$(sed -n 's/.*seq=\([0-9]*\) .*/\1/p' /tmp/ping.out)
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' /tmp/ping.out)
	[ -n "$seqs" ] && [ -n "$sent" ] || {
		fail "no answer from $host at all"
		return
	}
	prev=-1
	for s in $seqs; do
		gap=$((s - prev - 1))
		[ "$gap" -le "$worst" ] || worst=$gap
		prev=$s
	done
	last=$prev
	echo "netrespawn: $sent sent, $(echo "$seqs" | wc -l) answered, at most $worst in a row lost, last answered seq $last"
	[ "$worst" -le "$maxgap" ] || fail "$worst pings in a row unanswered (at most $maxgap allowed)" || return
	[ "$last" -ge $((sent - 2)) ] || fail "pings stopped being answered after seq $last of $sent"
}

# vsockreset PORT NEWPORT [SECS]: opens a stream to the host's PORT and holds it; the host kills
# the vsock device process once it sees "vsock-peer: holding a stream" and the stream must fail
# (the transport reset the VMM posts) within SECS (60). Then a new stream of 1 MiB to NEWPORT,
# checked on both ends, must work.
check_vsockreset() {
	local port=${1:-5000} newport=${2:-5001} secs=${3:-60}
	[ -x /bin/cellvm-vsock-peer ] || {
		fail "no /bin/cellvm-vsock-peer in the initramfs"
		return
	}
	/bin/cellvm-vsock-peer hold vsock 2 "$port" "$secs" ||
		fail "the stream to port $port was not reset" || return
	/bin/cellvm-vsock-peer send vsock 2 "$newport" 1 1048576 0 ||
		fail "a new stream to port $newport after the reset failed"
}

# sleep SECS: keeps the guest running for SECS seconds (L1 inspects the VMM meanwhile).
check_sleep() {
	sleep "${1:-5}"
}

# edu: QEMU's edu device passed through (VFIO): /bin/cellvm-edu-check reads its ident, computes a
# factorial, copies a page through its DMA engine and raises an MSI on vector 0xdf, which no driver
# owns, so the kernel logs "No irq handler for vector" when the interrupt arrives (one more such
# line each time: edu may be checked again later in the same boot).
check_edu() {
	local before i=0
	[ -x /bin/cellvm-edu-check ] || {
		fail "no /bin/cellvm-edu-check in the initramfs"
		return
	}
	before=$(dmesg | grep -c "No irq handler for vector")
	/bin/cellvm-edu-check || fail "cellvm-edu-check failed" || return
	while [ "$(dmesg | grep -c "No irq handler for vector")" -le "$before" ]; do
		[ $i -lt 20 ] || {
			fail "the edu MSI (vector 0xdf) never reached the guest"
			return
		}
		sleep 0.1
		i=$((i + 1))
	done
	dmesg | grep "No irq handler for vector" | tail -n 1
}

# eduintx: edu's INTx: the device bound to uio_pci_generic (which drives INTx only), then
# cellvm-edu-check --intx raises two interrupts and waits for each on /dev/uioN.
check_eduintx() {
	drv=/sys/bus/pci/drivers/uio_pci_generic
	[ -d $drv ] || {
		fail "no uio_pci_generic driver in the guest"
		return
	}
	echo "1234 11e8" >$drv/new_id 2>/dev/null
	i=0
	while ! ls /sys/bus/pci/drivers/uio_pci_generic/*/uio >/dev/null 2>&1; do
		[ $i -lt 20 ] || {
			fail "uio_pci_generic did not bind edu: $(dmesg | grep -i uio | tail -n 2)"
			return
		}
		sleep 0.1
		i=$((i + 1))
	done
	mdev -s 2>/dev/null
	/bin/cellvm-edu-check --intx || fail "cellvm-edu-check --intx failed" || return
	grep uio_pci_generic /proc/interrupts
}

# edubench N: cellvm-edu-check's benchmark (N BAR0 reads and N config-space reads, mean times).
check_edubench() {
	/bin/cellvm-edu-check --bench "${1:-100000}" || fail "cellvm-edu-check --bench failed"
}

# nvme DEV SHA256: the NVMe namespace DEV (a passed-through controller that Linux's nvme driver
# binds with MSI-X) appears within 15 s and its whole content hashes to SHA256.
check_nvme() {
	i=0
	while [ ! -b "$1" ]; do
		[ $i -lt 150 ] || {
			fail "no $1 after 15 s"
			return
		}
		sleep 0.1
		i=$((i + 1))
	done
	grep -i nvme /proc/interrupts | head -n 3
	got=$(sha256sum <"$1" | cut -d' ' -f1)
	echo "nvme: $1 sha256 $got"
	[ "$got" = "$2" ] || fail "$1 reads back $got, want $2"
}

# nvmerespawn DEV SHA [ROUNDS]: ROUNDS (8) reads of all of DEV with O_DIRECT (the device, not the
# page cache), each compared with SHA, while the host kills the cellvm-vfiod that serves the
# NVMe controller: round N prints "CELLVM-AGENT: NVME-ROUND N" (the host's cue). The replacement
# takes over the device as it is (no reset), so every round must read the right data without an
# error. Prints the slowest round.
check_nvmerespawn() {
	local dev=$1 want=$2 rounds=${3:-8} n=1 t0 t1 worst=0 slow=0 got i=0
	while [ ! -b "$dev" ]; do
		[ $i -lt 150 ] || {
			fail "no $dev after 15 s"
			return
		}
		sleep 0.1
		i=$((i + 1))
	done
	while [ "$n" -le "$rounds" ]; do
		t0=$(uptime_cs)
		if got=$(dd if="$dev" bs=1M iflag=direct 2>/tmp/dd.err | sha256sum | cut -d' ' -f1) &&
			! grep -q -i error /tmp/dd.err; then
			[ "$got" = "$want" ] || {
				fail "round $n: $dev reads back $got, want $want"
				return
			}
		else
			fail "round $n: read error: $(tail -n 1 /tmp/dd.err)"
			return
		fi
		t1=$(uptime_cs)
		[ $((t1 - t0)) -le "$worst" ] || {
			worst=$((t1 - t0))
			slow=$n
		}
		say "NVME-ROUND $n"
		# Per round: its time and the queues' interrupt counts (a stalled queue shows here).
		echo "nvmerespawn: round $n: $((t1 - t0))0 ms; irqs$(awk '/nvme/ { printf " %s=%s", $NF, $2 }' /proc/interrupts)"
		n=$((n + 1))
	done
	echo "nvmerespawn: $rounds rounds, slowest round $slow: ${worst}0 ms"
	dmesg | grep -i nvme | tail -n 8
}

# PCI hotplug (issue 16). The host adds and removes devices through the API when it sees each
# *-WAIT line; every wait is bounded by SECONDS.
# hpdisk DEV SECONDS: DEV appears (acpiphp scanned the slot); 1 MiB pattern written and read
# back with O_DIRECT; "HP-DISK-OK DEV PCI-PATH".
check_hpdisk() {
	dev=$1
	secs=${2:-120}
	say "HP-DISK-WAIT $dev"
	i=0
	until [ -b "/dev/$dev" ]; do
		mdev -s 2>/dev/null
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "no /dev/$dev within $secs s; lspci: $(ls /sys/bus/pci/devices | tr '\n' ' ')"
			return
		}
		sleep 0.2
	done
	path=$(readlink -f "/sys/block/$dev")
	dd if=/dev/urandom of=/tmp/hp.pat bs=1M count=1 iflag=fullblock 2>/dev/null
	dd if=/tmp/hp.pat of="/dev/$dev" bs=1M oflag=direct conv=fsync 2>/tmp/dd.err || {
		fail "write to $dev: $(tail -n 1 /tmp/dd.err)"
		return
	}
	dd if="/dev/$dev" of=/tmp/hp.back bs=1M count=1 iflag=direct 2>/tmp/dd.err || {
		fail "read from $dev: $(tail -n 1 /tmp/dd.err)"
		return
	}
	cmp -s /tmp/hp.pat /tmp/hp.back || {
		fail "$dev: the pattern read back differs"
		return
	}
	say "HP-DISK-OK $dev $path"
}

# hpgone DEV SECONDS: DEV goes away (the guest ejected its slot); "HP-GONE DEV".
check_hpgone() {
	dev=$1
	secs=${2:-120}
	say "HP-GONE-WAIT $dev"
	i=0
	while [ -e "/sys/block/$dev" ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "$dev still present after $secs s"
			return
		}
		sleep 0.2
	done
	say "HP-GONE $dev"
}

# hpnet SECONDS: a network interface other than lo appears; "HP-NET-OK NAME PCI-PATH".
check_hpnet() {
	secs=${1:-120}
	say "HP-NET-WAIT"
	i=0
	while :; do
		for n in /sys/class/net/*; do
			[ "${n##*/}" = lo ] || {
				say "HP-NET-OK ${n##*/} $(readlink -f "$n/device")"
				return 0
			}
		done
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "no network interface within $secs s"
			return
		}
		sleep 0.2
	done
}

# edu_bdf: the BDF of the first edu function (1234:11e8) in sysfs; 1 when there is none.
edu_bdf() {
	for p in /sys/bus/pci/devices/*; do
		[ "$(cat "$p/vendor" 2>/dev/null):$(cat "$p/device" 2>/dev/null)" = 0x1234:0x11e8 ] || continue
		echo "${p##*/}"
		return 0
	done
	return 1
}

# hpedu SECONDS: a hot-added edu function (passed through by the host's VFIO) appears, its BARs
# assigned (acpiphp creates resource0 last); then the edu check on it (ident, factorial, DMA,
# MSI), the MSI seen as one more "No irq handler for vector" line than before, since an earlier
# hpedu already logged one; "HP-EDU-OK BDF".
check_hpedu() {
	secs=${1:-120}
	say "HP-EDU-WAIT"
	i=0
	until bdf=$(edu_bdf) && [ -e "/sys/bus/pci/devices/$bdf/resource0" ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "no edu function within $secs s; PCI functions: $(cd /sys/bus/pci/devices && echo *)"
			return
		}
		sleep 0.2
	done
	[ -x /bin/cellvm-edu-check ] || {
		fail "no /bin/cellvm-edu-check in the initramfs"
		return
	}
	n=$(dmesg | grep -c "No irq handler for vector")
	/bin/cellvm-edu-check "$bdf" || fail "cellvm-edu-check failed on $bdf" || return
	i=0
	until [ "$(dmesg | grep -c "No irq handler for vector")" -gt "$n" ]; do
		[ $i -lt 20 ] || {
			fail "the MSI (vector 0xdf) of edu $bdf never reached the guest"
			return
		}
		sleep 0.1
		i=$((i + 1))
	done
	say "HP-EDU-OK $bdf"
}

# hpedugone SECONDS: the edu function goes away (the guest ejected its slot); "HP-EDU-GONE BDF".
check_hpedugone() {
	secs=${1:-120}
	gone=$(edu_bdf) || {
		fail "no edu function to wait for"
		return
	}
	say "HP-EDU-GONE-WAIT"
	i=0
	while bdf=$(edu_bdf); do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "edu $bdf still present after $secs s"
			return
		}
		sleep 0.2
	done
	say "HP-EDU-GONE $gone"
}

# hpcpu N SECONDS: vCPU N appears (ACPI CPU hotplug), is brought online (by the kernel or here)
# and runs a process; "HP-CPU-OK N".
check_hpcpu() {
	n=$1
	secs=${2:-120}
	say "HP-CPU-WAIT $n"
	i=0
	until [ -e "/sys/devices/system/cpu/cpu$n/online" ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "no cpu$n within $secs s"
			return
		}
		sleep 0.2
	done
	[ "$(cat "/sys/devices/system/cpu/cpu$n/online")" = 1 ] ||
		echo 1 >"/sys/devices/system/cpu/cpu$n/online" || {
		fail "cpu$n does not come online"
		return
	}
	taskset -c "$n" true 2>/dev/null || echo "hpcpu: no taskset; cpu$n online only"
	say "HP-CPU-OK $n $(grep -c '^processor' /proc/cpuinfo) online"
}

# hpcpugone N SECONDS: vCPU N goes away (the host asked, the kernel offlined and ejected it);
# "HP-CPU-GONE N".
check_hpcpugone() {
	n=$1
	secs=${2:-120}
	say "HP-CPU-GONE-WAIT $n"
	i=0
	while [ -e "/sys/devices/system/cpu/cpu$n" ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "cpu$n still present after $secs s (online $(cat "/sys/devices/system/cpu/cpu$n/online" 2>/dev/null))"
			return
		}
		sleep 0.2
	done
	say "HP-CPU-GONE $n $(grep -c '^processor' /proc/cpuinfo) online"
}

# memtotal_grows MIB SECS BEFORE: onlines the memory blocks the kernel left offline until
# MemTotal is MIB MiB above BEFORE kB (less the new memory's struct pages, under 2%); after SECS
# s without that, fail and return 1.
memtotal_grows() {
	local mib=$1 secs=$2 before=$3 now i=0
	while :; do
		for st in /sys/devices/system/memory/memory*/state; do
			[ "$(cat "$st" 2>/dev/null)" != offline ] || echo online >"$st" 2>/dev/null
		done
		now=$(sed -n "s/^MemTotal: *\([0-9]*\) kB\$/\1/p" /proc/meminfo)
		[ $((now - before)) -lt $((mib * 1024 * 95 / 100)) ] || return 0
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "MemTotal grew from $before to $now kB in $secs s, want $mib MiB more"
			return 1
		}
		sleep 0.5
	done
}

# hpmem MIB SECONDS [DISK]: at least MIB MiB of RAM appear (ACPI memory hotplug); memory blocks
# the kernel left offline (no memhp_default_state=online) are onlined here; then a tmpfs file
# fills what is free, so the new memory is written and read back; with DISK, an O_DIRECT write
# and read of /dev/DISK through a buffer in the new memory (/bin/cellvm-dio-hot: the disk's
# device process must have the region); "HP-MEM-OK MIB".
check_hpmem() {
	mib=$1
	secs=${2:-120}
	dio=${3:-}
	kb() { sed -n "s/^$1: *\([0-9]*\) kB\$/\1/p" /proc/meminfo; }
	before=$(kb MemTotal)
	say "HP-MEM-WAIT $mib"
	memtotal_grows "$mib" "$secs" "$before" || return
	now=$(kb MemTotal)
	# Free memory now exceeds what the old RAM could hold: filling it uses the new blocks.
	fill=$(($(kb MemAvailable) / 1024 - 96))
	[ "$fill" -gt "$mib" ] || fill=$mib
	mkdir -p /tmp/hpmem
	mount -t tmpfs -o size=$((fill + 16))m tmpfs /tmp/hpmem || {
		fail "no tmpfs for the fill"
		return
	}
	if ! dd if=/dev/zero of=/tmp/hpmem/f bs=1M count=$fill 2>/dev/null; then
		umount /tmp/hpmem
		fail "writing $fill MiB failed"
		return
	fi
	left=$(kb MemAvailable)
	nz=$(tr -d '\000' </tmp/hpmem/f | wc -c)
	umount /tmp/hpmem
	[ "$nz" -eq 0 ] || {
		fail "$nz bytes of the $fill MiB fill did not read back as written"
		return
	}
	if [ -n "$dio" ]; then
		/bin/cellvm-dio-hot "/dev/$dio" || {
			fail "O_DIRECT I/O on $dio through hot-added memory failed"
			return
		}
	fi
	say "HP-MEM-OK $mib MemTotal $before -> $now kB, filled $fill MiB, $left kB left"
}

# vmem MIB SECONDS: virtio-mem (issue 17), the host driving it. The virtio_mem driver binds;
# "VMEM-WAIT"; the host asks for MIB MiB: MemTotal grows by about MIB (blocks plugged and
# onlined, memhp_default_state=online), then a tmpfs file of a text pattern fills what is free
# (so the new memory is written) and reads back without a NUL; "VMEM-IN"; the file is freed,
# "VMEM-SHRINK-WAIT"; the host asks for 0 again and MemTotal drops by at least 3/4 of MIB
# (unplugged blocks), "VMEM-OK".
check_vmem() {
	local mib=$1 secs=${2:-120} before now grown fill nz i=0
	kb() { sed -n "s/^$1: *\([0-9]*\) kB\$/\1/p" /proc/meminfo; }
	while ! ls -d /sys/bus/virtio/drivers/virtio_mem/virtio* >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 50 ] || {
			fail "no virtio_mem device bound after 10 s"
			return
		}
		sleep 0.2
	done
	before=$(kb MemTotal)
	say "VMEM-WAIT $mib MemTotal $before kB"
	i=0
	while :; do
		now=$(kb MemTotal)
		[ $((now - before)) -lt $((mib * 1024 * 95 / 100)) ] || break
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "MemTotal grew from $before to $now kB in $secs s, want $mib MiB more"
			return
		}
		sleep 0.5
	done
	grown=$now
	fill=$(($(kb MemAvailable) / 1024 - 96))
	[ "$fill" -gt "$mib" ] || fill=$mib
	mkdir -p /tmp/vmem
	mount -t tmpfs -o size=$((fill + 16))m tmpfs /tmp/vmem || {
		fail "no tmpfs for the fill"
		return
	}
	if ! yes cellvm-virtio-mem | dd of=/tmp/vmem/f bs=1M count=$fill iflag=fullblock 2>/dev/null; then
		umount /tmp/vmem
		fail "writing $fill MiB failed"
		return
	fi
	nz=$(tr -d 'ceilmortv\n-' </tmp/vmem/f | wc -c) # '-' last: not a range
	umount /tmp/vmem
	[ "$nz" -eq 0 ] || {
		fail "$nz bytes of the $fill MiB fill did not read back as written"
		return
	}
	say "VMEM-IN $mib MemTotal $before -> $grown kB, filled $fill MiB"
	say "VMEM-SHRINK-WAIT"
	i=0
	while :; do
		now=$(kb MemTotal)
		[ $((grown - now)) -lt $((mib * 1024 * 3 / 4)) ] || break
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "MemTotal only went from $grown to $now kB in $secs s, want about $mib MiB less"
			return
		}
		sleep 0.5
	done
	say "VMEM-OK $mib MemTotal $grown -> $now kB"
}

# balloon MIB SECONDS: virtio-balloon (issue 17), the host driving it. The guest first writes
# most of its free memory through a tmpfs and frees it again, so the host holds those pages;
# "BALLOON-WAIT"; the host asks for a MIB balloon: MemTotal drops by about MIB (the driver takes
# inflated pages out of it without deflate_on_oom), "BALLOON-IN"; "BALLOON-DEFLATE-WAIT", the
# host asks for 0 and MemTotal comes back, "BALLOON-OK"; then the guest waits until the host,
# done with its own checks of the deflated VM, inflates 8 MiB more (its "go on": the run must
# not end while the host still reads vm.info), "BALLOON-END".
check_balloon() {
	local mib=$1 secs=${2:-120} before now fill i=0
	kb() { sed -n "s/^$1: *\([0-9]*\) kB\$/\1/p" /proc/meminfo; }
	while ! ls -d /sys/bus/virtio/drivers/virtio_balloon/virtio* >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 50 ] || {
			fail "no virtio_balloon device bound after 10 s"
			return
		}
		sleep 0.2
	done
	before=$(kb MemTotal)
	fill=$(($(kb MemAvailable) / 1024 - 96))
	[ "$fill" -le 384 ] || fill=384
	mkdir -p /tmp/balloon
	mount -t tmpfs -o size=$((fill + 16))m tmpfs /tmp/balloon &&
		dd if=/dev/zero of=/tmp/balloon/f bs=1M count=$fill 2>/dev/null
	umount /tmp/balloon
	say "BALLOON-WAIT MemTotal $before kB, $fill MiB written and freed"
	i=0
	while :; do
		now=$(kb MemTotal)
		[ $((before - now)) -lt $((mib * 1024 * 95 / 100)) ] || break
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "MemTotal went from $before to $now kB in $secs s, want $mib MiB less"
			return
		}
		sleep 0.5
	done
	say "BALLOON-IN $mib MemTotal $before -> $now kB, MemAvailable $(kb MemAvailable) kB"
	say "BALLOON-DEFLATE-WAIT"
	i=0
	while [ "$(kb MemTotal)" -lt $((before - 1024)) ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "MemTotal only came back to $(kb MemTotal) kB of $before in $secs s"
			return
		}
		sleep 0.5
	done
	now=$(kb MemTotal)
	say "BALLOON-OK MemTotal $now kB"
	i=0
	while [ "$(kb MemTotal)" -gt $((now - 4096)) ]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "the host's last 8 MiB balloon never came (MemTotal $(kb MemTotal) kB)"
			return
		}
		sleep 0.5
	done
	say "BALLOON-END MemTotal $(kb MemTotal) kB"
}

# virtio-fs (an external virtiofsd on the host). Mounts TAG on /mnt/TAG, the host put data.bin
# there; the host reads what the guest writes back (from-guest.txt).
fs_mount() {
	mkdir -p "/mnt/$1"
	mount -t virtiofs "$1" "/mnt/$1" 2>/tmp/mount.err
}
fs_writeback() {
	echo "written by the L2 guest on $1" >"/mnt/$1/from-guest.txt" && sync || {
		fail "$1: cannot write from-guest.txt"
		return 1
	}
}

# virtiofs TAG SHA256: TAG mounts, data.bin has the host's sha256, a file written back;
# "VIRTIOFS-OK TAG".
check_virtiofs() {
	fs_mount "$1" || {
		fail "mount -t virtiofs $1: $(cat /tmp/mount.err); $(grep -c . /proc/filesystems) fs types, virtiofs $(grep -c virtiofs /proc/filesystems)"
		return
	}
	got=$(sha256sum "/mnt/$1/data.bin" | cut -d' ' -f1)
	[ "$got" = "$2" ] || {
		umount "/mnt/$1"
		fail "$1: data.bin sha256 $got, want $2"
		return
	}
	fs_writeback "$1" || return
	say "VIRTIOFS-OK $1 $(ls "/mnt/$1" | tr '\n' ' ')"
	umount "/mnt/$1"
}

# hpvirtiofs TAG SECONDS: a hot-added virtio-fs with TAG appears (the mount succeeds), its
# hello.txt is read and a file written back; "HP-FS-OK TAG CONTENT".
check_hpvirtiofs() {
	secs=${2:-120}
	say "HP-FS-WAIT $1"
	i=0
	until fs_mount "$1"; do
		i=$((i + 1))
		[ "$i" -le $((secs * 2)) ] || {
			fail "no virtio-fs $1 within $secs s: $(cat /tmp/mount.err)"
			return
		}
		sleep 0.5
	done
	fs_writeback "$1" || return
	say "HP-FS-OK $1 $(cat "/mnt/$1/hello.txt")"
	umount "/mnt/$1"
}

# rng [BYTES [OCTAL]]: virtio-rng is the kernel's current hw_random source and /dev/hwrng gives
# BYTES (4096) bytes that are not all zero, or with OCTAL (e.g. 245) all equal to that byte (a host
# source file made of it); "RNG-OK SOURCE BYTES".
check_rng() {
	local want=${1:-4096} byte=$2 cur got nz i=0
	cur=$(cat /sys/devices/virtual/misc/hw_random/rng_current 2>/dev/null)
	while [ "${cur#virtio_rng.}" = "$cur" ]; do
		[ $i -lt 50 ] || {
			fail "rng_current is '$cur', not virtio_rng.*"
			return
		}
		sleep 0.1
		i=$((i + 1))
		cur=$(cat /sys/devices/virtual/misc/hw_random/rng_current 2>/dev/null)
	done
	[ -c /dev/hwrng ] || mdev -s
	got=$(dd if=/dev/hwrng bs="$want" count=1 iflag=fullblock 2>/dev/null | wc -c)
	[ "$got" -eq "$want" ] || {
		fail "read $got of $want bytes from /dev/hwrng"
		return
	}
	if [ -n "$byte" ]; then
		nz=$(dd if=/dev/hwrng bs="$want" count=1 iflag=fullblock 2>/dev/null | tr -d "\\$byte" |
			wc -c)
		[ "$nz" -eq 0 ] || {
			fail "$nz of $want bytes from /dev/hwrng are not \\$byte: not the host's source"
			return
		}
	else
		nz=$(dd if=/dev/hwrng bs="$want" count=1 iflag=fullblock 2>/dev/null | tr -d '\000' |
			wc -c)
		[ "$nz" -gt 0 ] || {
			fail "/dev/hwrng gave only zero bytes"
			return
		}
	fi
	say "RNG-OK $cur $got"
}

# rngempty: virtio_rng is the current source but the host's source has ended: a 2 s read of
# /dev/hwrng gets nothing (each request completes empty) and the guest goes on; "RNG-EMPTY".
check_rngempty() {
	local cur got i=0
	cur=$(cat /sys/devices/virtual/misc/hw_random/rng_current 2>/dev/null)
	while [ "${cur#virtio_rng.}" = "$cur" ]; do
		[ $i -lt 50 ] || {
			fail "rng_current is '$cur', not virtio_rng.*"
			return
		}
		sleep 0.1
		i=$((i + 1))
		cur=$(cat /sys/devices/virtual/misc/hw_random/rng_current 2>/dev/null)
	done
	[ -c /dev/hwrng ] || mdev -s
	got=$(timeout 2 dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)
	[ "$got" -eq 0 ] || {
		fail "read $got bytes from an ended source"
		return
	}
	say "RNG-EMPTY $cur"
}

# pmem SHA256 [MODE]: virtio-pmem (issue 20). /dev/pmem0 appears (virtio_pmem, nd_pmem) and its
# whole content has the sha256 the host computed of the file; MODE `discard`: zeros written over
# its first 4 KiB (O_DIRECT, through the mapping) read back as zeros, and the host checks that
# its file did not change; MODE `write`: "PMEM-WRITTEN" is written into its first sector and
# flushed (fsync: the driver's FLUSH request), for the host to find in the file.
check_pmem() {
	local want=$1 mode=$2 got i=0
	while [ ! -b /dev/pmem0 ]; do
		[ $i -lt 100 ] || {
			fail "no /dev/pmem0 within 10 s: $(ls /sys/bus/nd/devices 2>&1 | tr '\n' ' ')"
			return
		}
		[ $((i % 10)) -ne 5 ] || mdev -s
		sleep 0.1
		i=$((i + 1))
	done
	echo "pmem: /dev/pmem0 of $(cat /sys/block/pmem0/size) sectors"
	got=$(sha256sum </dev/pmem0 | cut -d' ' -f1)
	[ "$got" = "$want" ] || {
		fail "sha256 of /dev/pmem0 is $got, the file's is $want"
		return
	}
	case "$mode" in
	discard)
		dd if=/dev/zero of=/dev/pmem0 bs=4096 count=1 oflag=direct conv=fsync 2>/tmp/dd.err || {
			fail "write: $(tail -n 1 /tmp/dd.err)"
			return
		}
		got=$(dd if=/dev/pmem0 bs=4096 count=1 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)
		[ "$got" -eq 0 ] || {
			fail "$got of the 4096 bytes written as zeros read back non-zero"
			return
		}
		;;
	write)
		printf 'PMEM-WRITTEN\n' | dd of=/dev/pmem0 bs=512 conv=sync,fsync 2>/tmp/dd.err || {
			fail "write: $(tail -n 1 /tmp/dd.err)"
			return
		}
		;;
	esac
	say "PMEM-OK $mode"
}

# hppmem SHA256 SECONDS: vm.add-pmem on the running guest (issue 20): "HP-PMEM-WAIT" for the
# host, then within SECONDS a /dev/pmem0 (acpiphp, virtio_pmem, nd_pmem) with the file's sha256
# (check_pmem), which the host then removes (hpgone pmem0).
check_hppmem() {
	local want=$1 secs=${2:-120} i=0
	say "HP-PMEM-WAIT"
	until [ -b /dev/pmem0 ]; do
		mdev -s 2>/dev/null
		i=$((i + 1))
		[ "$i" -le $((secs * 5)) ] || {
			fail "no /dev/pmem0 within $secs s: $(ls /sys/bus/nd/devices 2>&1 | tr '\n' ' ')"
			return
		}
		sleep 0.2
	done
	check_pmem "$want"
}

# hvc [read]: virtio-console (issue 20): /dev/hvc0 appears, and "CELLVM-HVC-OUT <boot id>" written
# to it is for the host to find (in its --console file, or on its pty). With `read`, a line the
# host writes (to the pty) must come back from /dev/hvc0 within 20 s: "HVC-IN <line>".
check_hvc() {
	local mode=$1 line i=0
	while [ ! -c /dev/hvc0 ]; do
		[ $i -lt 100 ] || {
			fail "no /dev/hvc0 within 10 s: $(ls /sys/class/tty 2>&1 | grep hvc | tr '\n' ' ')"
			return
		}
		[ $((i % 10)) -ne 5 ] || mdev -s
		sleep 0.1
		i=$((i + 1))
	done
	stty -F /dev/hvc0 raw -echo 2>/dev/null
	echo "CELLVM-HVC-OUT $(cat /proc/sys/kernel/random/boot_id)" >/dev/hvc0 || {
		fail "cannot write to /dev/hvc0"
		return
	}
	[ "$mode" = read ] || return 0
	line=$(timeout 20 head -n 1 /dev/hvc0 | tr -d '\r')
	[ -n "$line" ] || {
		fail "no line from the host on /dev/hvc0 within 20 s"
		return
	}
	say "HVC-IN $line"
}

# snapcount [TICKS] [DEV]: a counter kept in RAM (a shell variable), printed as "TICK n" every
# 0.5 s; each tick writes "COUNT n" into sector n of DEV with O_DIRECT and reads it back. The
# snapshot test restores the VM in a new cellvm between two ticks: the count must go on from
# where it was, the disk must still answer, and a NIC must still be there (eth0, if any).
check_snapcount() {
	local ticks=${1:-60} dev=${2:-/dev/vda} n=0 got
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	while [ "$n" -lt "$ticks" ]; do
		sleep 0.5
		n=$((n + 1))
		printf 'COUNT %d\n' "$n" | dd of="$dev" bs=512 seek="$n" conv=sync oflag=direct \
			2>/tmp/dd.err || {
			fail "tick $n: write: $(tail -n 1 /tmp/dd.err)"
			return
		}
		got=$(dd if="$dev" bs=512 skip="$n" count=1 iflag=direct 2>/tmp/dd.err | head -n 1)
		[ "$got" = "COUNT $n" ] || {
			fail "tick $n: read back '$got': $(tail -n 1 /tmp/dd.err)"
			return
		}
		say "TICK $n disk-ok"
	done
	if [ -d /sys/class/net/eth0 ]; then
		echo "eth0: $(cat /sys/class/net/eth0/address) $(cat /sys/class/net/eth0/operstate)"
		ip link set eth0 up 2>/dev/null || ifconfig eth0 up 2>/dev/null ||
			fail "eth0 does not come up"
	fi
}

# memcount MIB TICKS [SECS]: snapshot and restore of memory the host added (issue 18). With MIB
# above 0, "MEMCOUNT-WAIT MIB", then until MemTotal has grown by MIB (ACPI memory hotplug: the
# blocks the kernel left offline are onlined here; virtio-mem: memhp_default_state=online).
# A tmpfs file of a text pattern then fills what is free, more than the boot RAM had free, so
# part of it lies in the added memory: "MEMCOUNT-FILLED MIB SHA256"; then TICKS ticks half a
# second apart, "TICK n mem KB" (MemTotal then); at the end the file must still have its
# sha256 (the host snapshotted and restored the VM meanwhile): "MEMCOUNT-OK".
check_memcount() {
	local mib=$1 ticks=${2:-40} secs=${3:-120} before fill sum got n=0
	kb() { sed -n "s/^$1: *\([0-9]*\) kB\$/\1/p" /proc/meminfo; }
	before=$(kb MemTotal)
	if [ "$mib" -gt 0 ]; then
		say "MEMCOUNT-WAIT $mib MemTotal $before kB"
		memtotal_grows "$mib" "$secs" "$before" || return
	fi
	fill=$(($(kb MemAvailable) / 1024 - 96))
	[ "$fill" -ge 16 ] || {
		fail "only $fill MiB free to fill"
		return
	}
	mkdir -p /tmp/memcount
	mount -t tmpfs -o size=$((fill + 16))m tmpfs /tmp/memcount || {
		fail "no tmpfs for the fill"
		return
	}
	yes cellvm-memcount | dd of=/tmp/memcount/f bs=1M count=$fill iflag=fullblock 2>/dev/null || {
		umount /tmp/memcount
		fail "writing $fill MiB failed"
		return
	}
	sum=$(sha256sum </tmp/memcount/f | cut -d' ' -f1)
	say "MEMCOUNT-FILLED $fill $sum MemTotal $(kb MemTotal) kB"
	while [ "$n" -lt "$ticks" ]; do
		sleep 0.5
		n=$((n + 1))
		say "TICK $n mem $(kb MemTotal)"
	done
	got=$(sha256sum </tmp/memcount/f | cut -d' ' -f1)
	umount /tmp/memcount
	[ "$got" = "$sum" ] || {
		fail "the $fill MiB pattern's sha256 is $got, was $sum"
		return
	}
	say "MEMCOUNT-OK $fill MiB $sum"
}

# dirtyrw [ROUNDS] [DEV]: keeps guest RAM changing under a live migration (issue 18), through
# both paths that write it: each round, "DIRTY n", one dd reads all of DEV (random bytes the
# host wrote) with O_DIRECT into the same 256 KiB buffer, so only the disk's device process
# writes that buffer after its first touch, then 2 MiB at a new offset are copied into a file in
# RAM by the vCPUs. The host compares the source's and the destination's RAM digests at
# switch-over.
check_dirtyrw() {
	local rounds=${1:-16} dev=${2:-/dev/vda} n=0 mb bg
	[ -b "$dev" ] || {
		fail "no block device $dev"
		return
	}
	mb=$(($(cat "/sys/block/${dev#/dev/}/size") / 2048))
	[ "$mb" -gt 8 ] || {
		fail "$dev is smaller than 8 MiB"
		return
	}
	# One reader that lives through the rounds (the whole device, several GiB of it sparse): its
	# buffer is faulted in once, by the CPU, before a migration starts, and from then on written
	# by the device alone, so a migration always has pages only the device log names. Readers
	# started per round fault theirs in anew, which KVM's log sees too.
	dd if="$dev" of=/dev/null bs=256k iflag=direct 2>/dev/null &
	bg=$!
	while [ "$n" -lt "$rounds" ]; do
		n=$((n + 1))
		dd if="$dev" of=/dev/null bs=256k count=128 iflag=direct 2>/tmp/dd.err &&
			dd if="$dev" of="/tmp/dirty.$((n % 4))" bs=1M count=2 skip=$(((n * 3) % (mb - 2))) \
				iflag=direct 2>/tmp/dd.err || {
			fail "round $n: read: $(tail -n 1 /tmp/dd.err)"
			kill "$bg" 2>/dev/null
			return
		}
		say "DIRTY $n"
	done
	kill "$bg" 2>/dev/null
	wait "$bg" 2>/dev/null || : # ended by the kill: that is its status, not the check's
}

# PCI addresses as check arguments: the arguments are split at ':', so 0001:00:01.0 is written
# 0001-00-01.0 (or 0001.00.01.0); pci_arg turns either back into the sysfs name.
pci_arg() {
	echo "$1" | sed 's/^\([0-9a-fA-F]\{4\}\)[-.]\([0-9a-fA-F]\{2\}\)[-.]\([0-9a-fA-F]\{2\}\.[0-7]\)$/\1:\2:\3/'
}

# blk_pci DEV: the PCI function (DDDD:BB:DD.F) that DEV's virtio device sits on.
blk_pci() {
	readlink -f "/sys/block/${1#/dev/}" | tr '/' '\n' |
		grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n 1
}

# wait_blk DEV SECS: until DEV exists (a probe deferred until its IOMMU came), at most SECS s.
wait_blk() {
	local i=0
	until [ -b "$1" ]; do
		mdev -s 2>/dev/null
		i=$((i + 1))
		[ "$i" -le $(($2 * 5)) ] || return 1
		sleep 0.2
	done
}

# pcidev DEV PCIADDR: DEV is the virtio disk on PCI function PCIADDR (e.g. 0001-00-01.0: a disk
# on --platform num_pci_segments=2's second segment).
check_pcidev() {
	local dev=${1:-/dev/vda} want got
	want=$(pci_arg "${2:-}")
	wait_blk "$dev" 20 || fail "no block device $dev within 20 s" || return
	got=$(blk_pci "$dev")
	echo "$dev: PCI $got ($(readlink -f "/sys/block/${dev#/dev/}"))"
	[ "$got" = "$want" ] || fail "$dev is on PCI function '$got', want '$want'"
}

# iommu DEV [PCIADDR...]: virtio-iommu (--platform iommu_segments=, iommu=on; QEMU's
# virtio-iommu-pci).  The virtio_iommu driver (insmod'ed here if the initramfs has it and it is
# not loaded: only the 6.12 L2 set has it) is there, the ACPI VIOT table too (printed in hex),
# the driver is bound to a virtio device and registered an IOMMU
# in /sys/class/iommu; DEV appears (its probe waits for the IOMMU, the ACPI VIOT table naming it
# as an endpoint); DEV's PCI function and each PCIADDR (written 0001-00-01.0) have an IOMMU
# group, and with the word "virtio" among them, every virtio PCI function but the IOMMU's own;
# 4 MiB of random data written to DEV with O_DIRECT read back the same (sha256) with O_DIRECT
# and again through the page cache after dropping it; dmesg has no virtio-iommu fault.
# With the DMA API on, the device sees IOVAs that the IOMMU maps, not guest-physical addresses:
# a VMM that did not translate them would read and write the wrong pages.
check_iommu() {
	local dev=${1:-/dev/vda} m d i pci grp a want got bad
	[ $# -eq 0 ] || shift
	if [ ! -d /sys/module/virtio_iommu ]; then
		for m in /lib/modules/virtio_iommu.ko /lib/modules/virtio-iommu.ko; do
			[ ! -e "$m" ] || insmod "$m" || fail "insmod $m failed" || return
		done
	fi
	[ -d /sys/module/virtio_iommu ] ||
		fail "no virtio_iommu driver (not built in, not in this initramfs: the 6.1 kernel has none)" || return
	# The ACPI VIOT table is how an x86 guest learns which functions sit behind which IOMMU;
	# dumped (tens of bytes) to compare one VMM's with another's.
	[ -r /sys/firmware/acpi/tables/VIOT ] || fail "no ACPI VIOT table" || return
	echo "VIOT ($(wc -c </sys/firmware/acpi/tables/VIOT) bytes):"
	od -An -tx1 -v /sys/firmware/acpi/tables/VIOT | head -n 40
	i=0
	while :; do
		d=
		for m in /sys/bus/virtio/drivers/virtio_iommu/virtio[0-9]*; do
			[ -e "$m" ] && d=${m##*/} && break
		done
		[ -z "$d" ] || break
		i=$((i + 1))
		[ "$i" -le 100 ] || fail "no virtio device bound to virtio_iommu within 20 s (virtio devices:" \
			"$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | tr '\n' ' '))" || return
		sleep 0.2
	done
	m=$(basename "$(dirname "$(readlink -f "/sys/bus/virtio/devices/$d")")")
	echo "virtio-iommu: $d on PCI $m"
	# (6.12 names the entry after the IOMMU's PCI function; the guest has no other IOMMU)
	echo "/sys/class/iommu: $(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')"
	[ -n "$(ls /sys/class/iommu 2>/dev/null)" ] ||
		fail "virtio_iommu bound $d but registered no IOMMU (/sys/class/iommu is empty)" || return
	wait_blk "$dev" 20 || fail "no block device $dev within 20 s (its probe may wait for an IOMMU" \
		"that never registered)" || return
	pci=$(blk_pci "$dev")
	[ -n "$pci" ] || fail "$dev is not on a PCI function: $(readlink -f "/sys/block/${dev#/dev/}")" || return
	bad=
	for a in "$pci" "$@"; do
		[ "$a" != virtio ] || continue
		want=$(pci_arg "$a")
		[ "$a" = "$pci" ] || [ "$want" != "$pci" ] || continue
		[ -e "/sys/bus/pci/devices/$want" ] || { bad="$bad $want(no such function)"; continue; }
		grp=$(readlink "/sys/bus/pci/devices/$want/iommu_group" 2>/dev/null) ||
			{ bad="$bad $want(no iommu_group)"; continue; }
		grp=${grp##*/}
		echo "$want: IOMMU group $grp, domain $(cat "/sys/kernel/iommu_groups/$grp/type" 2>/dev/null)"
	done
	# "virtio": every virtio PCI function but the IOMMU's own is behind it.
	for a in "$@"; do
		[ "$a" = virtio ] || continue
		for d in /sys/bus/pci/devices/*; do
			[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "${d##*/}" != "$m" ] || continue
			[ -e "$d/iommu_group" ] || bad="$bad ${d##*/}(virtio $(cat "$d/device"), no iommu_group)"
		done
	done
	for d in /sys/kernel/iommu_groups/*; do
		[ -d "$d" ] && echo "iommu_groups/${d##*/}: $(ls "$d/devices" | tr '\n' ' ')"
	done
	[ -z "$bad" ] || fail "not behind an IOMMU:$bad" || return
	dd if=/dev/urandom of=/tmp/iommu.pat bs=1M count=4 iflag=fullblock 2>/dev/null
	want=$(sha256sum </tmp/iommu.pat | cut -d' ' -f1)
	dd if=/tmp/iommu.pat of="$dev" bs=1M oflag=direct conv=fsync 2>/tmp/dd.err ||
		fail "O_DIRECT write to $dev: $(tail -n 1 /tmp/dd.err)" || return
	got=$(dd if="$dev" bs=1M count=4 iflag=direct 2>/tmp/dd.err | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "O_DIRECT read-back of $dev: sha256 $got, wrote $want" \
		"($(tail -n 1 /tmp/dd.err))" || return
	sync
	echo 3 >/proc/sys/vm/drop_caches
	got=$(dd if="$dev" bs=1M count=4 2>/tmp/dd.err | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "buffered read-back of $dev after drop_caches: sha256 $got," \
		"wrote $want" || return
	echo "$dev: 4 MiB through the IOMMU read back with sha256 $want"
	got=$(dmesg | grep -E 'fault from EP|virtio_iommu.*(error|fail)' | head -n 3)
	[ -z "$got" ] || fail "dmesg: $(echo "$got" | tr '\n' '|')"
}

arg() {
	for w in $(cat /proc/cmdline); do
		case "$w" in "$1="*) echo "${w#*=}" ;; esac
	done
}

say START
checks=$(arg cellvm.check)
extra=$(arg cellvm.args | tr ',' ' ')
for spec in $(echo "${checks:-boot}" | tr ',' ' '); do
	name=${spec%%:*}
	args=
	[ "$name" = "$spec" ] || args=$(echo "${spec#*:}" | tr ':' ' ')
	REASON=
	if ! command -v "check_$name" >/dev/null 2>&1; then
		say "FAIL $name: no such check"
		continue
	fi
	# shellcheck disable=SC2086 # the arguments are meant to be split
	if "check_$name" $args $extra; then
		say "PASS $name"
	else
		rc=$?
		say "FAIL $name: ${REASON:-exit status $rc}"
		# The console is usually quiet=; the kernel's view helps whoever reads the log.
		echo "agent: last kernel messages:"
		dmesg | tail -n 20
	fi
done
say DONE
sync
if [ "$AFTER" = reboot ]; then
	reboot -f
else
	poweroff -f
fi
# Still here (no ACPI?): there is nothing left to do, keep the kernel from panicking on exit.
while :; do sleep 3600; done
