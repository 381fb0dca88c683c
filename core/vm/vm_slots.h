/* Guest RAM's KVM memory slots, installed on a thread of their own while the rest of the VM is
 * built (vm_create). Each slot KVM installs waits for an SRCU grace period: 7-8 ms for one slot
 * on the benchmark host, the longest single step of building a VM with no device, and nothing
 * before the guest's first instruction needs the slots: vCPUs, devices, the device processes'
 * vhost-user set-up, ACPI and the kernel (written through the core's own mapping) do not. */
#ifndef CELLVM_CORE_VM_VM_SLOTS_H
#define CELLVM_CORE_VM_VM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"

struct vm_slots {
    pthread_t thread;
    bool running; /* started and not joined yet */
    int vm_fd;    /* borrowed */
    uint32_t n;   /* slots 0..n-1 are regions[0..n-1], copied at the start */
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
    int r;          /* 0 or the first failure's -errno */
    uint32_t where; /* the slot that failed */
};

/* Starts installing slot i for each of mem's first nregions regions (vm_fd borrowed). Without
 * a thread (none could be started) it installs them before returning. 0 or -errno; the
 * outcome of the installation itself comes from vm_slots_wait. */
int vm_slots_start(struct vm_slots *s, int vm_fd, const struct guest_mem *mem);

/* Waits for the installation: 0, or -errno with *where the slot that failed. A second call,
 * or one without a start, returns the first outcome (0 without a start). */
int vm_slots_wait(struct vm_slots *s, uint32_t *where);

#endif
