#ifndef CELLVM_CORE_VM_VCPU_STATE_H
#define CELLVM_CORE_VM_VCPU_STATE_H

#include <stdint.h>

#include "core/boot/boot.h"

/*
 * Puts a vCPU into its power-on state for the platform, also after a guest reboot left it in
 * any state (x2APIC mode, paging, pending interrupts): APIC base and local APIC, MSRs, FPU,
 * and for the boot vCPU (entry != NULL) the registers of the boot protocol, runnable; an AP
 * (entry == NULL) waits for INIT/SIPI.
 */
int vcpu_state_reset(int vcpu_fd, uint32_t apic_id, const struct boot_entry *entry);

#endif
