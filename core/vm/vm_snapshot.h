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

/*
 * The core-served devices' own state beside their transport (vm_pmem.c, vm_watchdog.c).
 * vm_pmem_save: each virtio-pmem region's place (its content is its file, not memory-ranges).
 * vm_pmem_check: the VM config.json built has the same pmem devices at the same places (a
 * hot-added one above the PCI windows). vm_watchdog_save/load: whether the guest armed the
 * watchdog and its times at the pause; the restored one stays paused until vm.resume, which
 * gives the guest a full period from then. 0 or -EINVAL with err.
 */
void vm_pmem_save(struct vm *vm, struct vm_state *s);
int vm_pmem_check(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);
void vm_watchdog_save(struct vm *vm, struct vms_watchdog *out);
int vm_watchdog_load(struct vm *vm, const struct vms_watchdog *in, char *err, size_t errlen);
int vm_state_check_layout(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);
int vm_state_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);

/*
 * Memory hotplug (issue 18): vm_memhp_save / vm_vmem_save put the ACPI memory hotplug slots
 * and each virtio-mem device's blocks into s (vm_vmem_save allocates the bitmaps); the loads
 * check them against the VM built from config.json (same slots and hot-added regions, same
 * virtio-mem regions) and take them over. 0 or -errno with err.
 */
void vm_memhp_save(struct vm *vm, struct vm_state *s);
int vm_memhp_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);
int vm_vmem_save(struct vm *vm, struct vm_state *s, char *err, size_t errlen);
int vm_vmem_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen);
/* Live migration: whether gpa lies in a virtio-mem block the guest has not plugged (its memory
 * was given back to the host and is not sent; reading it would allocate it again). */
bool vm_vmem_unplugged(struct vm *vm, uint64_t gpa);

/* state.json from fd (pread from 0, at most VMS_MAX_JSON) into *s (vm_state_free even on
 * failure): 0, or -errno/-EINVAL with err. */
int vm_state_read(int fd, struct vm_state *s, char *err, size_t errlen);

#endif
