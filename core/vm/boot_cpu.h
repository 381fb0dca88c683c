#ifndef CELLVM_CORE_VM_BOOT_CPU_H
#define CELLVM_CORE_VM_BOOT_CPU_H

#include <linux/kvm.h>

#include "core/boot/boot.h"
#include "core/mem/guest_mem.h"

/*
 * The boot vCPU's entry state for each boot protocol, and the GDT and page tables it needs.
 * Pure: writes guest memory and fills KVM structs; vcpu.c applies them.
 *
 *  - BOOT_LINUX64: long mode with paging on, the first 4 GiB identity-mapped with 2 MiB pages
 *    (PML4/PDPT/PD at platform.h addresses), CS = 0x10 64-bit, DS = 0x18, RSI = zero page.
 *  - BOOT_PVH: 32-bit protected mode, paging off, flat CS = 0x10 / DS = 0x18, EBX = start_info
 *    (the PVH ABI of Xen's docs/misc/pvh.pandoc).
 */

/* Writes the GDT (and for LINUX64 the page tables). -EFAULT if guest RAM is too small. */
int boot_cpu_write_tables(const struct guest_mem *gm, enum boot_mode mode);

/* sregs must hold the vCPU's current (reset) state: only what the protocol needs changes. */
void boot_cpu_sregs(const struct boot_entry *entry, struct kvm_sregs *sregs);
void boot_cpu_regs(const struct boot_entry *entry, struct kvm_regs *regs);

#endif
