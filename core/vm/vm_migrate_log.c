#include "core/vm/vm_migrate_log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio_pci_vu.h"
#include "ipc/dirty_log.h"
#include "ipc/vu_sys.h"

#define PAGE DIRTY_LOG_PAGE

/* Where guest-physical space ends for the log: past the highest region. */
static uint64_t ram_end(const struct guest_mem *mem)
{
    uint64_t end = 0;

    for (uint32_t i = 0; i < mem->nregions; i++)
        if (mem->regions[i].gpa + mem->regions[i].size > end)
            end = mem->regions[i].gpa + mem->regions[i].size;
    return end;
}

static void unmap(struct mig_devlog *l)
{
    vu_sys_unmap(l->base, l->size);
    if (l->fd >= 0)
        close(l->fd);
    l->base = NULL;
    l->fd = -1;
}

int mig_devlog_start(struct vm *vm, struct mig_devlog *l, char *err, size_t errlen)
{
    void *p;
    int r;

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->size = dirty_log_bytes(ram_end(&vm->mem));
    if (!l->size || l->size > DIRTY_LOG_MAX)
        return vm_set_err(err, errlen, -E2BIG, "migration: guest RAM too large for a dirty log");
    r = vu_sys_memfd("cellvm-dirty-log", l->size, &l->fd, &p); /* sealed, zeroed, shared */
    if (r) {
        l->fd = -1;
        return vm_set_err(err, errlen, r, "migration: the dirty log's memfd");
    }
    l->base = p;
    /* The core's own queue writes first: the size before the pointer that publishes it. */
    __atomic_store_n(&vm->mem.dirty_log_size, l->size, __ATOMIC_RELAXED);
    __atomic_store_n(&vm->mem.dirty_log, l->base, __ATOMIC_RELEASE);
    if (vm->pci_inited) {
        r = vpci_dirty_log(&vm->pci.worker, l->fd, l->size, true, &l->unlogged, err, errlen);
        if (r) {
            mig_devlog_stop(vm, l);
            return r;
        }
    }
    log_info(&vm->log, "migration: dirty log of %llu KiB shared with the device processes%s",
             (unsigned long long)(l->size >> 10),
             l->unlogged ? "; some cannot log: guest RAM is hashed while paused" : "");
    return 0;
}

void mig_devlog_stop(struct vm *vm, struct mig_devlog *l)
{
    unsigned unlogged = 0;
    char err[256];

    if (!l->base)
        return;
    __atomic_store_n(&vm->mem.dirty_log, NULL, __ATOMIC_RELEASE);
    /* Also the point after which the frontend thread, which serves the core's queues, no
     * longer holds the old pointer. */
    if (vm->pci_inited &&
        vpci_dirty_log(&vm->pci.worker, l->fd, l->size, false, &unlogged, err, sizeof(err)))
        log_warn(&vm->log, "migration: turning the device processes' dirty log off: %s", err);
    unmap(l);
}

uint64_t mig_devlog_take(struct mig_devlog *l, const struct guest_mem *mem, uint32_t nregions,
                         uint64_t *const *pend, uint64_t *const *kvm)
{
    uint64_t n = 0;
    uint32_t cur = 0;

    if (!l->base)
        return 0;
    for (uint64_t w = 0; w < l->size / 8; w++) {
        uint64_t v = dirty_log_take(l->base, w);

        while (v) {
            uint64_t gpa = (w * 64 + (uint64_t)__builtin_ctzll(v)) * PAGE, p;
            const struct guest_mem_region *g;

            v &= v - 1;
            /* Pages come in rising order: the region of the last one is the likely one. */
            if (cur >= nregions || gpa < mem->regions[cur].gpa ||
                gpa - mem->regions[cur].gpa >= mem->regions[cur].size) {
                for (cur = 0; cur < nregions; cur++)
                    if (gpa >= mem->regions[cur].gpa &&
                        gpa - mem->regions[cur].gpa < mem->regions[cur].size)
                        break;
                if (cur == nregions)
                    continue; /* a hole (or a region not migrated): nothing to send */
            }
            g = &mem->regions[cur];
            p = (gpa - g->gpa) / PAGE;
            pend[cur][p / 64] |= 1ull << (p % 64);
            n++;
            if (!(kvm[cur][p / 64] & (1ull << (p % 64))))
                l->pages_log_only++;
        }
    }
    l->pages += n;
    return n;
}

uint64_t vm_ram_digest(const struct guest_mem *mem)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (uint32_t i = 0; i < mem->nregions; i++) {
        const struct guest_mem_region *g = &mem->regions[i];
        uint64_t lane[4] = { g->gpa, g->size, 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full }, w;

        if (g->vmem || g->pmem)
            continue;
        for (uint64_t off = 0; off + 8 <= g->size; off += 8) {
            memcpy(&w, g->host + off, 8);
            lane[(off / 8) & 3] = (lane[(off / 8) & 3] ^ w) * 0xff51afd7ed558ccdull;
            lane[(off / 8) & 3] ^= lane[(off / 8) & 3] >> 29;
        }
        for (int k = 0; k < 4; k++)
            h = (h ^ lane[k]) * 0x100000001b3ull;
    }
    return h;
}
