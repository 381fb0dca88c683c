#ifndef CELLVM_CORE_VM_VCPU_H
#define CELLVM_CORE_VM_VCPU_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "core/boot/boot.h"
#include "core/vm/bus.h"
#include "core/vm/log.h"
#include "core/vm/vmev.h"

struct pio_coal;

/*
 * One vCPU: its KVM fd, its kvm_run page and the thread that runs it. The thread dispatches
 * port I/O and MMIO exits to the buses and posts power events; it returns when `stopping` is
 * set and it has been kicked (signal plus immediate_exit, so no kick is lost between the flag
 * check and KVM_RUN).
 */

/* Host CPU numbers an affinity may name (the CLI's limit). */
#define VCPU_MAX_HOST_CPUS 65536u

/* Real-time signal that interrupts KVM_RUN. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 0)

/* What the vCPU threads share, owned by struct vm. */
struct vcpu_env {
    const struct bus *pio, *mmio;
    struct vmev *ev;
    struct pio_coal *coal; /* played at every return from KVM_RUN */
    const struct log *log;
    atomic_bool *stopping;
    int (*thread_init)(void *arg); /* optional, from vm_params.vcpu_thread_init */
    void *thread_arg;
};

struct vcpu {
    uint32_t index, apic_id;
    int fd;              /* owned */
    struct kvm_run *run; /* owned mapping of run_size bytes */
    size_t run_size;
    const struct vcpu_env *env;
    pthread_t thread;
    bool thread_running;
    cpu_set_t *affinity; /* owned (CPU_ALLOC), NULL: the thread floats */
    size_t affinity_size;
    char err[160];     /* why the thread posted VMEV_ERROR */
    bool triple_fault; /* KVM_EXIT_SHUTDOWN: the VM thread logs where, then clears it */
};

int vcpu_create(struct vcpu *c, int vm_fd, uint32_t index, uint32_t apic_id, size_t run_size,
                const struct vcpu_env *env);
void vcpu_destroy(struct vcpu *c);
int vcpu_set_cpuid(struct vcpu *c, const struct kvm_cpuid_entry2 *e, uint32_t n);
/*
 * Does this vCPU accept the host's value of a feature MSR (KVM_GET_MSRS on /dev/kvm)? Some
 * hosts list a feature in KVM_GET_SUPPORTED_CPUID yet refuse to set its MSR to the value they
 * report (kvm_pvm and ARCH_CAPABILITIES): state with that MSR could then never be restored.
 */
bool vcpu_msr_honoured(struct vcpu *c, int kvm_fd, uint32_t msr);
/*
 * Power-on state: MSRs, FPU, local APIC (LINT0 ExtINT, LINT1 NMI). With an entry this is the
 * boot vCPU, set up for the boot protocol and runnable; without, an AP waiting for INIT/SIPI.
 */
int vcpu_reset(struct vcpu *c, const struct boot_entry *entry);
/* Pins the vCPU's thread to these host CPUs from its next vcpu_start on. -EINVAL for an
 * empty list or a CPU number of 65536 or more. */
int vcpu_set_affinity(struct vcpu *c, const uint32_t *host_cpus, uint32_t n);
int vcpu_start(struct vcpu *c);
void vcpu_kick(struct vcpu *c);
void vcpu_join(struct vcpu *c);

#endif
