#include "core/vm/vm_slots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void *slots_main(void *arg)
{
    install(arg);
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
    if (vm_thread_start(&e->thread, slots_main, e) == 0)
        e->running = true;
    else
        install(e); /* no thread: the same work, in line */
    *out = e;
    return 0;
}

int vm_early_fd(const struct vm_early *e)
{
    return e->vm_fd;
}

int vm_early_wait(struct vm_early *e, uint32_t *where)
{
    if (e->running) {
        pthread_join(e->thread, NULL);
        e->running = false;
    }
    if (where)
        *where = e->where;
    return e->r;
}

void vm_early_free(struct vm_early *e)
{
    if (!e)
        return;
    (void)vm_early_wait(e, NULL);
    if (!e->taken)
        close(e->vm_fd);
    free(e);
}

int vm_early_joined(struct vm *vm, char *err, size_t errlen)
{
    uint32_t i;
    int r = vm_early_wait(vm->early, &i);

    if (r < 0)
        return vm_set_err(err, errlen, r, "KVM_SET_USER_MEMORY_REGION: slot %u at 0x%llx", i,
                          (unsigned long long)vm->mem.regions[i].gpa);
    return 0;
}
