#include "core/vm/vm_slots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vm_thread.h"

static void install(struct vm_early *e)
{
    for (uint32_t i = 0; !e->r && i < e->n; i++) {
        const struct guest_mem_region *g = &e->regions[i];
        int r = kvm_set_user_memory_region(e->vm_fd, i, g->gpa, g->size, g->host);

        if (r < 0) {
            e->r = r;
            e->where = i;
        }
    }
}

/* After the slots: with the slots first, KVM installs them at once; the irqchip's devices then
 * start the SRCU grace period that closing the VM waits for (vm_slots.h). */
static void platform(struct vm_early *e)
{
    const char *what = "KVM_SET_IDENTITY_MAP_ADDR";
    int r = kvm_set_identity_map_addr(e->vm_fd, GPA_KVM_IDENTITY_MAP);

    if (r == 0) {
        what = "KVM_SET_TSS_ADDR";
        r = kvm_set_tss_addr(e->vm_fd, GPA_KVM_TSS);
    }
    if (r == 0) {
        what = "KVM_CREATE_IRQCHIP";
        r = kvm_create_irqchip(e->vm_fd);
    }
    if (r < 0) {
        e->r = r;
        e->what = what;
        return;
    }
    /* Best effort, and before expedite (an I/O bus registration like the irqchip's). */
    e->coalesced = kvm_register_coalesced_pio(e->vm_fd, PORT_SERIAL_COM1, 1) == 0;
}

/* Ends that grace period in 4-8 ms instead of 15-20: taking an I/O bus registration back waits
 * for an expedited one. The registration is an ioeventfd on the POST-code port, whose writes
 * the VM ignores anyway, so the microseconds it exists change nothing a guest can see. It runs
 * on this thread alone once vm_create waited for the VM (early_main): it holds KVM's slots lock
 * meanwhile, which only memory slots and ioeventfds added in those milliseconds wait for
 * (vm_early_free joins it before the VM fd closes). */
static void expedite(struct vm_early *e)
{
    int efd = eventfd(0, EFD_CLOEXEC);

    if (efd < 0)
        return;
    if (kvm_ioeventfd_pio(e->vm_fd, efd, PORT_POST_CODE, 1, true) == 0)
        (void)kvm_ioeventfd_pio(e->vm_fd, efd, PORT_POST_CODE, 1, false);
    close(efd);
}

/* The table vm_create builds every vCPU's CPUID from; a failure is vm_create's to report. */
static void cpuid(struct vm_early *e)
{
    struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + CPUID_MAX_ENTRIES * sizeof(t->entries[0]));

    e->cpuid_r = -ENOMEM;
    if (!t)
        return;
    t->nent = CPUID_MAX_ENTRIES;
    e->cpuid_r = kvm_get_supported_cpuid(e->kvm_fd, t);
    if (e->cpuid_r < 0) {
        free(t);
        return;
    }
    e->supported = t;
}

static void build(struct vm_early *e)
{
    install(e);
    if (e->r == 0)
        platform(e);
    if (e->r == 0)
        cpuid(e);
    pthread_mutex_lock(&e->lock);
    e->ready = true;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

/* The thread: the VM, then expedite once vm_create's wait says the caller is past its jail,
 * whose fd hygiene would otherwise close the eventfd under it and hand the number on. */
static void *early_main(void *arg)
{
    struct vm_early *e = arg;
    bool go;

    build(e);
    pthread_mutex_lock(&e->lock);
    while (!e->go && !e->quit)
        pthread_cond_wait(&e->cond, &e->lock);
    go = e->go;
    pthread_mutex_unlock(&e->lock);
    if (go && e->r == 0)
        expedite(e);
    return NULL;
}

int vm_early_start(struct vm_early **out, int kvm_fd, const struct guest_mem *mem, char *err,
                   size_t errlen)
{
    struct vm_early *e;
    int r = kvm_api_version(kvm_fd);

    *out = NULL;
    if (r != KVM_API_VERSION_EXPECTED)
        return vm_set_err(err, errlen, r < 0 ? r : -ENOTSUP, "/dev/kvm: API version %d", r);
    if (mem->nregions > GUEST_MEM_MAX_REGIONS)
        return vm_set_err(err, errlen, -EINVAL, "vm: %u memory regions", mem->nregions);
    e = calloc(1, sizeof(*e));
    if (!e)
        return vm_set_err(err, errlen, -ENOMEM, "vm");
    e->kvm_fd = kvm_fd;
    e->vm_fd = kvm_create_vm(kvm_fd);
    if (e->vm_fd < 0) {
        r = e->vm_fd;
        free(e);
        return vm_set_err(err, errlen, r, "KVM_CREATE_VM");
    }
    /* One slot per region: slots may not span the hole, nor two zones' mappings. A copy: the
     * virtio-mem and pmem set-up append regions (and their own slots) meanwhile. */
    e->n = mem->nregions;
    memcpy(e->regions, mem->regions, e->n * sizeof(e->regions[0]));
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    if (vm_thread_start(&e->thread, early_main, e) == 0)
        e->running = true;
    else
        build(e); /* no thread: the same work in line, without the expedited grace period */
    *out = e;
    return 0;
}

int vm_early_fd(const struct vm_early *e)
{
    return e->vm_fd;
}

int vm_early_wait(struct vm_early *e, uint32_t *where)
{
    pthread_mutex_lock(&e->lock);
    while (!e->ready)
        pthread_cond_wait(&e->cond, &e->lock);
    e->go = true;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    if (where)
        *where = e->where;
    return e->r;
}

void vm_early_free(struct vm_early *e)
{
    if (!e)
        return;
    if (e->running) { /* before the VM fd closes: the thread may still use it */
        pthread_mutex_lock(&e->lock);
        e->quit = true;
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->thread, NULL);
    }
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    if (!e->taken)
        close(e->vm_fd);
    free(e->supported);
    free(e);
}

int vm_early_joined(struct vm *vm, char *err, size_t errlen)
{
    uint32_t i;
    int r = vm_early_wait(vm->early, &i);

    if (r < 0 && vm->early->what)
        return vm_set_err(err, errlen, r, "%s", vm->early->what);
    if (r < 0)
        return vm_set_err(err, errlen, r, "KVM_SET_USER_MEMORY_REGION: slot %u at 0x%llx", i,
                          (unsigned long long)vm->mem.regions[i].gpa);
    return 0;
}
