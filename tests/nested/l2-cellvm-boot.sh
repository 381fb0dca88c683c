# L1 script: cellvm boots the Debian cloud kernel to the L2 agent from the PVH vmlinux and from
# the bzImage (full console, so the kernel's own messages go through cellvm's serial port too);
# a guest poweroff ends cellvm with status 0; a guest reboot starts the guest again and the boot
# after it powers off; no "ACPI Error"/"ACPI BIOS Error" in any boot's dmesg (the `boot` check).
. /test/lib.sh

run_l2_cellvm 150 boot || exit 1
L2_KERNEL=/images/vmlinuz run_l2_cellvm 150 boot || exit 1
run_l2_cellvm 150 boot,rebootonce || exit 1
boots=$(grep -c '^CELLVM-AGENT: START' "$L2_LOG")
if [ "$boots" -ne 2 ]; then
	echo "rebootonce: expected 2 boots in $L2_LOG, saw $boots"
	exit 1
fi
grep -q '^CELLVM-AGENT: REBOOTING rebootonce' "$L2_LOG" || { echo "no reboot marker"; exit 1; }
echo "cellvm: PVH and bzImage boots passed, poweroff exit 0, reboot restarted the guest"
