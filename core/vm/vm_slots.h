/* The KVM VM and guest RAM's memory slots, begun early (vm.h's vm_early_start): each slot KVM
 * installs waits for an SRCU grace period, 6-8 ms for one slot on the benchmark host and the
 * longest single step of building a VM with no device, and nothing before the guest's first
 * instruction needs the slots (vCPUs, devices, the device processes' vhost-user set-up, ACPI
 * and the kernel, written through the core's own mapping, do not). So a thread installs them
 * while the core jails itself and vm_create builds the rest; vm_create waits for it before
 * the guest's state is loaded. */
#ifndef CELLVM_CORE_VM_VM_SLOTS_H
#define CELLVM_CORE_VM_VM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "core/vm/vm.h"

struct vm_early {
    int vm_fd;  /* owned until vm_create takes it (taken), borrowed by the slots' thread */
    bool taken; /* vm_create owns vm_fd now */
    pthread_t thread;
    bool running; /* started and not joined yet */
    uint32_t n;   /* slots 0..n-1 are regions[0..n-1], copied at the start */
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
    int r;          /* 0 or the first failure's -errno */
    uint32_t where; /* the slot that failed */
};

/* Waits for the slots: 0, or -errno with *where (if not NULL) the slot that failed. Again
 * after the first call: the same outcome. */
int vm_early_wait(struct vm_early *e, uint32_t *where);

/* vm_create: the slots' thread joined; 0, or -errno with err naming the slot that failed. */
int vm_early_joined(struct vm *vm, char *err, size_t errlen);

#endif
