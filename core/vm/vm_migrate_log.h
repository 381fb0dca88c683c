#ifndef CELLVM_CORE_VM_VM_MIGRATE_LOG_H
#define CELLVM_CORE_VM_VM_MIGRATE_LOG_H

/*
 * The dirty log of a live migration's source (issue 18), beside KVM's: one memfd bitmap over
 * guest-physical pages (ipc/dirty_log.h) that every vhost-user backend with LOG_SHMFD marks as
 * it writes guest memory (buffers it fills, used rings), and that the core marks for the queues
 * it serves itself (vm_dirty.h). vm_migrate.c merges it into the pages to send at every pass.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/vm/vm_priv.h"

struct mig_devlog {
    int fd;            /* owned memfd, -1 if none */
    uint8_t *base;     /* owned shared mapping */
    uint64_t size;     /* bytes */
    unsigned unlogged; /* vhost-user devices whose writes it does not hold (hash fallback) */
    uint64_t pages, pages_log_only; /* pages the log named; of those, not in KVM's log */
};

/*
 * Creates the log for every region of vm's RAM (hot-added included), lets the core's queues
 * mark it and switches every vhost-user backend to it. Devices that cannot log are counted in
 * l->unlogged (and logged by the frontend). 0 or -errno with err; on failure nothing is kept.
 */
int mig_devlog_start(struct vm *vm, struct mig_devlog *l, char *err, size_t errlen);

/* Backends and core queues off the log, which is then unmapped. Idempotent. */
void mig_devlog_stop(struct vm *vm, struct mig_devlog *l);

/*
 * Reads and clears the log word by word (atomic exchange) and ORs each page it names into
 * pend[i] (bit p of region i's page bitmap; nregions regions of npages[i] pages); kvm[i] is
 * KVM's bitmap of the same pass, to count the pages only the log had. Returns the pages named.
 */
uint64_t mig_devlog_take(struct mig_devlog *l, const struct guest_mem *mem, uint32_t nregions,
                         uint64_t *const *pend, uint64_t *const *kvm);

/* A 64-bit digest of every byte of guest RAM (regions in table order), the same on both ends
 * of a migration when their RAM is identical. */
uint64_t vm_ram_digest(const struct guest_mem *mem);

#endif
