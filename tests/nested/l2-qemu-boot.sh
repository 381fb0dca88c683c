#!/bin/sh
# Nested test (runs in L1 as /test/run.sh): QEMU with KVM inside L1 boots the L2 cloud kernel with
# the agent's initramfs, and the agent's `boot` check passes.  This is the reference the cellvm
# tests compare with: if it fails, the bench itself is broken, not cellvm.
. /test/lib.sh
run_l2_qemu 150 boot
