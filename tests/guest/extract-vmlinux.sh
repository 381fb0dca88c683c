#!/bin/bash
# extract-vmlinux.sh BZIMAGE OUT
#
# Turns an x86 bzImage into the ELF vmlinux inside it, for PVH boot, and checks that the ELF
# carries the Xen PVH entry note.  Only bash, dd, od and lz4 (or zstd) are used, so the guest-image build
# needs no python and no binutils.
#
# The setup header (Documentation/arch/x86/boot.rst) says where the compressed kernel is:
#   0x1f1 setup_sects (u8): real-mode setup is (setup_sects + 1) * 512 bytes, protected-mode code
#                           starts right after it (0 means 4, an old convention).
#   0x202 "HdrS" magic; 0x248 payload_offset (u32) and 0x24c payload_length (u32), the offset
#                           counted from the start of the protected-mode code.
# Debian's 6.1 kernels use CONFIG_KERNEL_LZ4 (an LZ4 legacy frame), its 6.12 ones
# CONFIG_KERNEL_ZSTD; either payload is followed by the kernel's 4-byte little-endian
# uncompressed size (size_append), which the tools would read as a broken block or frame, so it
# is cut off and used to check the output length instead.
set -euo pipefail

die() { echo "extract-vmlinux: $*" >&2; exit 1; }

# le BYTES OFFSET FILE: unsigned little-endian integer read from FILE (od prints host order,
# which is little-endian on every machine this runs on; the format is spelled out anyway).
le() {
	local v
	v=$(od -An -v -t "u$1" -j "$2" -N "$1" --endian=little "$3" | tr -d ' \n')
	[ -n "$v" ] || die "$3: short read at offset $2"
	echo "$v"
}

# has_pvh_note ELF: 0 if a PT_NOTE segment holds a note named "Xen" of type 18
# (XEN_ELFNOTE_PHYS32_ENTRY, a 32-bit physical entry point); prints the entry point.
has_pvh_note() {
	local elf=$1 phoff phentsize phnum i ph type off size pos end namesz descsz ntype name
	phoff=$(le 8 32 "$elf")
	phentsize=$(le 2 54 "$elf")
	phnum=$(le 2 56 "$elf")
	for ((i = 0; i < phnum; i++)); do
		ph=$((phoff + i * phentsize))
		type=$(le 4 "$ph" "$elf")
		[ "$type" -eq 4 ] || continue # PT_NOTE
		off=$(le 8 $((ph + 8)) "$elf")
		size=$(le 8 $((ph + 32)) "$elf")
		pos=$off
		end=$((off + size))
		# Each note: namesz, descsz, type (u32 each), then name and desc, both padded to 4.
		while ((pos + 12 <= end)); do
			namesz=$(le 4 "$pos" "$elf")
			descsz=$(le 4 $((pos + 4)) "$elf")
			ntype=$(le 4 $((pos + 8)) "$elf")
			name=$(dd if="$elf" bs=1 skip=$((pos + 12)) count=3 status=none | tr -d "\0")
			if [ "$namesz" -eq 4 ] && [ "$name" = Xen ] && [ "$ntype" -eq 18 ] && [ "$descsz" -ge 4 ]; then
				printf '0x%x\n' "$(le 4 $((pos + 12 + 4)) "$elf")"
				return 0
			fi
			pos=$((pos + 12 + (namesz + 3) / 4 * 4 + (descsz + 3) / 4 * 4))
		done
	done
	return 1
}

[ $# -eq 2 ] || die "usage: extract-vmlinux.sh BZIMAGE OUT"
bz=$1
out=$2
[ -r "$bz" ] || die "$bz: not readable"
[ "$(dd if="$bz" bs=1 skip=$((0x202)) count=4 status=none | tr -d "\0")" = HdrS ] ||
	die "$bz: no 'HdrS' setup header magic at 0x202, not a bzImage"

setup_sects=$(le 1 $((0x1f1)) "$bz")
[ "$setup_sects" -ne 0 ] || setup_sects=4
payload_offset=$(le 4 $((0x248)) "$bz")
payload_length=$(le 4 $((0x24c)) "$bz")
start=$(((setup_sects + 1) * 512 + payload_offset))
filesize=$(stat -c %s "$bz")
((payload_length > 4 && start + payload_length <= filesize)) ||
	die "$bz: payload ($start+$payload_length) lies outside the file ($filesize bytes)"

# LZ4 (the 6.1 cloud kernel) or zstd (6.12's, built with `zstd -22 --ultra`: a 128 MiB window,
# which the zstd tool's default memory limit allows).
magic=$(od -An -t x1 -j "$start" -N 4 "$bz" | tr -d ' \n')
case "$magic" in
02214c18) unz="lz4 -d -c -q" ;;
28b52ffd) unz="zstd -d -c -q --memory=256MB" ;;
*) die "$bz: payload is neither an LZ4 legacy frame (02214c18) nor zstd (28b52ffd): magic $magic" ;;
esac
want_size=$(le 4 $((start + payload_length - 4)) "$bz")

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
dd if="$bz" iflag=skip_bytes,count_bytes skip="$start" count=$((payload_length - 4)) bs=1M status=none |
	$unz >"$tmp" || die "$bz: ${unz%% *} failed to decompress the payload"

got_size=$(stat -c %s "$tmp")
[ "$got_size" -eq "$want_size" ] ||
	die "$bz: decompressed $got_size bytes, the trailer says $want_size"
# ELF64 (class 2), little-endian (data 1), executable (e_type 2), x86-64 (e_machine 62).
[ "$(od -An -t x1 -N 6 "$tmp" | tr -d ' \n')" = 7f454c460201 ] || die "$bz: payload is not an ELF64 little-endian file"
if [ "$(le 2 16 "$tmp")" -ne 2 ] || [ "$(le 2 18 "$tmp")" -ne 62 ]; then
	die "$bz: payload ELF is not an x86-64 executable"
fi
entry=$(has_pvh_note "$tmp") ||
	die "$bz: vmlinux has no Xen PVH note (ELFNOTE 'Xen' type 18, XEN_ELFNOTE_PHYS32_ENTRY); kernel lacks CONFIG_PVH"

mv "$tmp" "$out"
trap - EXIT
echo "extract-vmlinux: $out: ELF vmlinux, $got_size bytes, PVH entry $entry"
