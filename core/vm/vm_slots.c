#include "core/vm/vm_slots.h"

#include <errno.h>
#include <string.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm_thread.h"

static void install(struct vm_slots *s)
{
    for (uint32_t i = 0; !s->r && i < s->n; i++) {
        const struct guest_mem_region *g = &s->regions[i];
        int r = kvm_set_user_memory_region(s->vm_fd, i, g->gpa, g->size, g->host);

        if (r < 0) {
            s->r = r;
            s->where = i;
        }
    }
}

static void *slots_main(void *arg)
{
    install(arg);
    return NULL;
}

int vm_slots_start(struct vm_slots *s, int vm_fd, const struct guest_mem *mem)
{
    uint32_t n = mem->nregions;

    if (s->running || n > GUEST_MEM_MAX_REGIONS)
        return -EINVAL;
    s->vm_fd = vm_fd;
    s->n = n;
    s->r = 0;
    s->where = 0;
    /* A copy: the virtio-mem and pmem set-up append regions (and their own slots) meanwhile. */
    memcpy(s->regions, mem->regions, n * sizeof(s->regions[0]));
    if (vm_thread_start(&s->thread, slots_main, s) == 0) {
        s->running = true;
        return 0;
    }
    install(s); /* no thread: the same work, in line */
    return 0;
}

int vm_slots_wait(struct vm_slots *s, uint32_t *where)
{
    if (s->running) {
        pthread_join(s->thread, NULL);
        s->running = false;
    }
    if (where)
        *where = s->where;
    return s->r;
}
