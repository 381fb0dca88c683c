#ifndef CELLVM_CORE_CORE_JAIL_H
#define CELLVM_CORE_CORE_JAIL_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "sandbox/jail.h"

/*
 * The core's jail: entered once the core holds every fd from the controller and has mapped
 * guest RAM, before vm_create (so the kernel image is parsed, and every KVM object made, inside
 * it) and before any thread exists (the process filter is loaded with TSYNC). Each vCPU thread
 * then stacks the narrower vCPU filter through core_jail_vcpu_thread.
 */
struct core_jail {
    struct sbx_thread_filter vcpu; /* compiled before the process filter; owned */
    char probe[32];                /* test builds: CELLVM_TEST_FORBIDDEN, else empty */
};

/* Reads what the environment says before the jail clears it. */
void core_jail_init(struct core_jail *j);

/* Keeps 0-2, chan and the nfds received fds, vhost-user sockets included (entries of -1
 * skipped; at most PB_MAX_CORE_FDS + PB_MAX_ATTACH). 0 or -errno and err. */
int core_jail_enter(struct core_jail *j, Cellvm__SeccompMode mode, int chan, const int *fds,
                    size_t nfds, uint32_t max_vcpus, char *err, size_t errlen);

/* vm_params.vcpu_thread_init: arg is the struct core_jail. */
int core_jail_vcpu_thread(void *arg);

void core_jail_release(struct core_jail *j);

#endif
