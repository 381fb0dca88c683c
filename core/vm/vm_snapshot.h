#ifndef CELLVM_CORE_VM_VM_SNAPSHOT_H
#define CELLVM_CORE_VM_VM_SNAPSHOT_H

#include <stddef.h>

#include "core/vm/vm_priv.h"
#include "core/vm/vm_state.h"

/*
 * Snapshot and restore inside the core (issue 18), split by concern: vm_snapshot.c takes and
 * loads the vCPUs, the irqchip, the clock, the platform devices and guest RAM;
 * vm_snapshot_dev.c the virtio-pci functions (config space, MSI-X, transport, each ring's
 * position) and their backends. Both run with the vCPUs stopped.
 */

/* Each virtio device's state into s->dev (room for vm->pci.n of them). 0 or -errno with err. */
int vm_snapshot_devices(struct vm *vm, struct vm_state *s, char *err, size_t errlen);

/*
 * Loads the devices of s into the freshly built VM's devices of the same id, then sets each
 * started one's backend up (features, memory table, enabled rings) with its rings stopped where
 * they were, for the resume to restart. 0 or -errno with err (nothing the guest could see yet).
 */
int vm_restore_devices(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);

/*
 * The pieces vm_restore and live migration share (vm_migrate.c). vm_state_take: everything of a
 * paused VM but its RAM into *s (zeroed by the caller; vm_state_free after), with the memory
 * ranges. vm_state_check_layout: s fits this VM (vCPUs, memory ranges). vm_state_load: a VM
 * whose RAM is in place takes the vCPUs, irqchip, platform devices and virtio devices of s and
 * will start paused. 0 or -errno with err.
 */
int vm_state_take(struct vm *vm, struct vm_state *s, char *err, size_t errlen);
int vm_state_check_layout(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);
int vm_state_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);

#endif
