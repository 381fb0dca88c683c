#include "core/vm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm/kvm_ioctl.h"
#include "core/vm/pio_coal.h"
#include "core/vm/vcpu_state.h"
#include "core/vm/vm_sys.h"
#include "core/vm/vm_thread.h"

int vcpu_create(struct vcpu *c, int vm_fd, uint32_t index, uint32_t apic_id, size_t run_size,
                const struct vcpu_env *env)
{
    int r;

    memset(c, 0, sizeof(*c));
    c->index = index;
    c->apic_id = apic_id;
    c->run_size = run_size;
    c->env = env;
    /* The KVM vCPU id is the APIC ID; KVM treats id 0 as the boot processor. */
    c->fd = kvm_create_vcpu(vm_fd, apic_id);
    if (c->fd < 0)
        return c->fd;
    c->run = vm_sys_map_vcpu_run(c->fd, run_size);
    if (!c->run) {
        r = -errno;
        close(c->fd);
        c->fd = -1;
        return r;
    }
    return 0;
}

void vcpu_destroy(struct vcpu *c)
{
    if (c->affinity)
        CPU_FREE(c->affinity);
    c->affinity = NULL;
    vm_sys_unmap(c->run, c->run_size);
    c->run = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int vcpu_set_cpuid(struct vcpu *c, const struct kvm_cpuid_entry2 *e, uint32_t n)
{
    struct kvm_cpuid2 *cp = calloc(1, sizeof(*cp) + n * sizeof(*e));
    int r;

    if (!cp)
        return -ENOMEM;
    cp->nent = n;
    memcpy(cp->entries, e, n * sizeof(*e));
    r = kvm_set_cpuid2(c->fd, cp);
    free(cp);
    return r;
}

bool vcpu_msr_honoured(struct vcpu *c, int kvm_fd, uint32_t msr)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = { .hdr.nmsrs = 1, .e.index = msr };

    /* KVM_GET_MSRS on the system fd reads feature MSRs. */
    return kvm_get_msrs(kvm_fd, &m.hdr) == 1 && kvm_set_msrs(c->fd, &m.hdr) == 1;
}

int vcpu_reset(struct vcpu *c, const struct boot_entry *entry)
{
    return vcpu_state_reset(c->fd, c->apic_id, entry);
}

static void fail(struct vcpu *c, const char *what, unsigned long long v)
{
    snprintf(c->err, sizeof(c->err), "vcpu%u: %s 0x%llx", c->index, what, v);
    log_error(c->env->log, "%s", c->err);
    vmev_post(c->env->ev, VMEV_ERROR);
}

static void handle_io(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    uint32_t size = run->io.size, count = run->io.count, i;
    uint16_t port = run->io.port;
    uint8_t *data;

    if (size == 0 || size > 4 || run->io.data_offset >= c->run_size)
        return;
    data = (uint8_t *)run + run->io.data_offset;
    /* String I/O: KVM keeps the data inside the run page; never walk past it. */
    if (count > (c->run_size - run->io.data_offset) / size)
        count = (uint32_t)((c->run_size - run->io.data_offset) / size);
    for (i = 0; i < count; i++, data += size) {
        uint64_t v = 0;
        int hit;

        if (run->io.direction == KVM_EXIT_IO_IN) {
            hit = bus_read(c->env->pio, port, size, &v);
            memcpy(data, &v, size);
        } else {
            memcpy(&v, data, size);
            hit = bus_write(c->env->pio, port, size, v);
        }
        if (!hit)
            log_debug(c->env->log, "vcpu%u: unhandled port %s 0x%x/%u", c->index,
                      run->io.direction == KVM_EXIT_IO_IN ? "read" : "write", port, size);
    }
}

static void handle_mmio(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    uint32_t len = run->mmio.len;
    uint64_t v = 0;
    int hit;

    if (len == 0 || len > 8)
        return;
    if (run->mmio.is_write) {
        memcpy(&v, run->mmio.data, len);
        hit = bus_write(c->env->mmio, run->mmio.phys_addr, len, v);
    } else {
        hit = bus_read(c->env->mmio, run->mmio.phys_addr, len, &v);
        memcpy(run->mmio.data, &v, len);
    }
    if (!hit)
        log_debug(c->env->log, "vcpu%u: unhandled mmio %s 0x%llx/%u", c->index,
                  run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
                  len);
}

/* Returns false when the thread should stop running the vCPU. */
static bool handle_exit(struct vcpu *c)
{
    struct kvm_run *run = c->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(c);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(c);
        return true;
    case KVM_EXIT_HLT:
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SHUTDOWN:
        /* Triple fault: a PC resets, and so do we. A warning: a guest that reboots on its own
         * must be visible to whoever watches the VM. */
        log_warn(c->env->log, "vcpu%u: triple fault, rebooting the VM", c->index);
        c->triple_fault = true; /* read by the VM thread once the vCPUs are stopped */
        vmev_post(c->env->ev, VMEV_REBOOT);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            vmev_post(c->env->ev, VMEV_POWEROFF);
            return false;
        case KVM_SYSTEM_EVENT_RESET:
            vmev_post(c->env->ev, VMEV_REBOOT);
            return false;
        default:
            fail(c, "system event", run->system_event.type);
            return false;
        }
    case KVM_EXIT_FAIL_ENTRY:
        fail(c, "entry failed, hardware reason", run->fail_entry.hardware_entry_failure_reason);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        fail(c, "KVM internal error, suberror", run->internal.suberror);
        return false;
    default:
        fail(c, "unexpected exit reason", run->exit_reason);
        return false;
    }
}

static void *vcpu_main(void *arg)
{
    struct vcpu *c = arg;
    sigset_t set;

    /* Only the kick reaches this thread; process-directed signals go to the main thread. */
    sigfillset(&set);
    sigdelset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    if (c->env->thread_init) {
        int r = c->env->thread_init(c->env->thread_arg);

        if (r < 0) {
            fail(c, "thread setup failed, errno", (unsigned long long)-r);
            return NULL;
        }
    }

    while (!atomic_load(c->env->stopping) && !vmev_halted(c->env->ev)) {
        int r = kvm_run(c->fd);

        pio_coal_exit(c->env->coal, c->run); /* before this exit is handled: in order */
        if (r == -EINTR || r == -EAGAIN)
            continue;
        if (r < 0) {
            fail(c, "KVM_RUN failed, errno", (unsigned long long)-r);
            break;
        }
        if (!handle_exit(c))
            break;
    }
    /* An I/O or MMIO exit completes only on the next KVM_RUN; enter once more with
     * immediate_exit so no half-done operation is carried into a reset or the next run. */
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    (void)kvm_run(c->fd);
    return NULL;
}

int vcpu_set_affinity(struct vcpu *c, const uint32_t *host_cpus, uint32_t n)
{
    uint32_t max = 0, i;

    if (n == 0)
        return -EINVAL;
    for (i = 0; i < n; i++)
        max = host_cpus[i] > max ? host_cpus[i] : max;
    if (max >= VCPU_MAX_HOST_CPUS)
        return -EINVAL;
    if (c->affinity)
        CPU_FREE(c->affinity);
    c->affinity = CPU_ALLOC(max + 1);
    if (!c->affinity)
        return -ENOMEM;
    c->affinity_size = CPU_ALLOC_SIZE(max + 1);
    CPU_ZERO_S(c->affinity_size, c->affinity);
    for (i = 0; i < n; i++)
        CPU_SET_S(host_cpus[i], c->affinity_size, c->affinity);
    return 0;
}

int vcpu_start(struct vcpu *c)
{
    int r;

    c->err[0] = '\0';
    __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    r = vm_thread_start(&c->thread, vcpu_main, c);
    if (r)
        return r;
    c->thread_running = true;
    /* The controller checked the CPUs exist and are ours; a failure here means the cpuset
     * changed since, and the VM must not run unpinned when pinning was asked for. */
    if (c->affinity) {
        r = vm_sys_pin_thread(c->thread, c->affinity_size, c->affinity);
        if (r < 0)
            return r;
    }
    return 0;
}

void vcpu_kick(struct vcpu *c)
{
    if (!c->thread_running)
        return;
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(c->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *c)
{
    if (!c->thread_running)
        return;
    pthread_join(c->thread, NULL);
    c->thread_running = false;
}
