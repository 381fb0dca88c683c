#!/bin/sh
# run-qemu.sh PAYLOAD.elf [ACCEL]
#
# Boots one payload the way QEMU would for a comparison with cellvm: microvm, qemu64, serial on
# stdout. QEMU has no register at cellvm's ACPI sleep port, so the payload falls back to
# isa-debug-exit (exit status 1 for PASS, 3 for FAIL). Payloads that wait for cellvm-only events
# (idle, loop, reset, serial-in) never exit here and the timeout ends them; checks of
# cellvm's own platform (dispatch, button, pio-mmio's MMIO, smp's topology) report BAD there.
# ACCEL is tcg (default) or kvm. The RTC is asked for explicitly: under KVM microvm leaves it out.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 PAYLOAD.elf [tcg|kvm]" >&2; exit 2; }
exec timeout 20 qemu-system-x86_64 -M microvm,rtc=on -cpu qemu64 -accel "${2:-tcg}" -m 128 \
	-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$1" </dev/null
