#include <errno.h>
#include <stdio.h>

#include "core/vm/vm_migrate.h"
#include "ipc/mig_stream.h"

/*
 * The local migration's memory (issue 18, vm.send-migration local=true): instead of its pages
 * the source hands the destination its guest RAM itself, one fd per memory zone in zone order
 * (MEMORY_FD, ipc/mig_stream.h), between Start and Config as Cloud Hypervisor sends its
 * MemoryFd. Both VMs then map the same memory and the source sends no page. Only boot RAM can
 * go this way: a region added later (ACPI hotplug, virtio-mem, pmem) has no zone row on the
 * destination, so such a VM migrates by copy.
 */

int vm_migrate_send_memfds(struct vm *vm, int sock, char *err, size_t errlen)
{
    uint64_t sizes[MIG_MAX_MEMFDS] = { 0 };
    int fds[MIG_MAX_MEMFDS];
    uint32_t nz = vm->mem.nzones;
    int r;

    if (!nz || nz > MIG_MAX_MEMFDS)
        return vm_set_err(err, errlen, -EINVAL, "local migration: %u memory zones", nz);
    for (uint32_t z = 0; z < nz; z++)
        fds[z] = -1;
    for (uint32_t i = 0; i < vm->mem.nregions; i++) {
        const struct guest_mem_region *g = &vm->mem.regions[i];

        if (g->vmem || g->pmem || g->zone >= nz)
            return vm_set_err(err, errlen, -EOPNOTSUPP,
                              "local migration: memory added after boot (hotplug, virtio-mem, "
                              "pmem) cannot be passed as fds; send without local");
        if (g->fd < 0 || (fds[g->zone] >= 0 && fds[g->zone] != g->fd) ||
            g->fd_offset != sizes[g->zone])
            return vm_set_err(err, errlen, -EINVAL,
                              "local migration: memory zone %u is not one file", g->zone);
        fds[g->zone] = g->fd;
        sizes[g->zone] += g->size;
    }
    for (uint32_t z = 0; z < nz; z++)
        if (fds[z] < 0)
            return vm_set_err(err, errlen, -EINVAL, "local migration: memory zone %u has no fd", z);
    r = mig_send_memfds(sock, fds, sizes, nz);
    if (r)
        return vm_set_err(err, errlen, r, "local migration: sending the memory fds");
    r = mig_wait_reply(sock, 30000, err, errlen);
    if (!r)
        log_info(&vm->log, "migration: guest memory passed as %u fd(s), not copied", nz);
    return r;
}
