#ifndef CELLVM_CORE_VM_VMEV_H
#define CELLVM_CORE_VM_VMEV_H

#include <stdatomic.h>
#include <stdbool.h>

/*
 * VM-wide events (power off, reboot, stop, error) posted by vCPU threads, devices and signal
 * handlers, and consumed by the thread in vm_run(). Posting is async-signal-safe: an atomic OR
 * plus a write() to an eventfd that the consumer polls.
 */

enum vmev_bits {
    VMEV_POWEROFF = 1u << 0,
    VMEV_REBOOT = 1u << 1,
    VMEV_STOP = 1u << 2,
    VMEV_ERROR = 1u << 3,
    VMEV_PAUSE = 1u << 4, /* vm_pause(): vCPUs stop until VMEV_RESUME */
    VMEV_RESUME = 1u << 5,
    VMEV_NMI = 1u << 6, /* vm_nmi(): vCPUs stop, each gets KVM_NMI, they restart */
};

struct vmev {
    atomic_uint pending;
    /* Set by any event that ends this run of the vCPUs (everything but a plain wake-up), so a
     * vCPU stops at its next exit instead of running guest code past a reset or power-off
     * write; cleared by vmev_resume() when the vCPUs start again. */
    atomic_bool halted;
    int efd; /* eventfd, owned */
};

int vmev_init(struct vmev *ev);
void vmev_destroy(struct vmev *ev);
void vmev_post(struct vmev *ev, unsigned int bits);
/* Blocks until the eventfd is signalled (or timeout_ms passes; -1 waits forever), then takes
 * and returns all pending bits: 0 on timeout, on a signal, and on a plain wake-up (vmev_post
 * with no bits), which lets the waiter look at its own state again; callers loop on 0. */
unsigned int vmev_wait(struct vmev *ev, int timeout_ms);
/* Whether the vCPUs must stop running (see `halted`), and the reset before they restart. */
bool vmev_halted(struct vmev *ev);
void vmev_resume(struct vmev *ev);
/* Takes whatever is pending without blocking. */
unsigned int vmev_take(struct vmev *ev);

#endif
