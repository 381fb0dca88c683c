/* The KVM VM, guest RAM's memory slots and the in-kernel irqchip, begun early (vm.h's
 * vm_early_start), on a thread while the core jails itself; vm_create waits for it before it
 * builds the rest, and the table of CPUID leaves KVM supports. The order matters (measured on
 * the benchmark host's 6.18 kernel):
 *  - KVM_CREATE_IRQCHIP registers the PIC and IOAPIC on KVM's I/O buses, and each registration
 *    frees the old bus with call_srcu: that starts a normal SRCU grace period of 15-20 ms;
 *  - a slot installed while that grace period runs waits 5-7 ms for an expedited one; before
 *    it, a slot takes 0.1 ms; so the slots come first;
 *  - closing the VM waits (srcu_barrier) for what is left of that grace period: a VM that
 *    lives 12 ms paid the rest at exit, 5 ms on average; so the irqchip is created as early as
 *    it can be, and the thread then ends the grace period early (vm_slots.c, expedite). */
#ifndef CELLVM_CORE_VM_VM_SLOTS_H
#define CELLVM_CORE_VM_VM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "core/vm/vm.h"

struct vm_early {
    int vm_fd;  /* owned until vm_create takes it (taken), borrowed by the early thread */
    bool taken; /* vm_create owns vm_fd now */
    pthread_t thread;
    bool running; /* started: vm_early_free joins it */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool ready; /* under lock: slots and irqchip done, r and where final */
    bool go;    /* under lock: vm_create waited (the caller's jail is over): expedite */
    bool quit;  /* under lock: vm_early_free: no expedite any more */
    uint32_t n; /* slots 0..n-1 are regions[0..n-1], copied at the start */
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
    int r;            /* 0 or the first failure's -errno */
    uint32_t where;   /* the slot that failed */
    const char *what; /* or the VM-wide call that failed (static), NULL for a slot */
    bool coalesced;   /* COM1's data register is coalesced (pio_coal.h) */
    /* KVM_GET_SUPPORTED_CPUID, read here (0.2-0.35 ms of cpuid instructions, which trap on a
     * nested host) so that it overlaps the jail: owned until vm_create takes it; NULL when the
     * read failed with cpuid_r, which vm_create reports. */
    int kvm_fd; /* /dev/kvm, borrowed: the caller keeps it open through its jail */
    struct kvm_cpuid2 *supported;
    int cpuid_r;
};

/* Waits for the VM (slots, irqchip): 0, or -errno with *where (if not NULL) the slot that
 * failed. Call it only once past the caller's jail: it lets the thread's expedite step go.
 * Again after the first call: the same outcome. */
int vm_early_wait(struct vm_early *e, uint32_t *where);

/* vm_create: vm_early_wait; 0, or -errno with err naming the slot or the call that failed. */
int vm_early_joined(struct vm *vm, char *err, size_t errlen);

#endif
