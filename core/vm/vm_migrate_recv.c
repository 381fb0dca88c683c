#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/vm_migrate.h"
#include "core/vm/vm_migrate_log.h"
#include "core/vm/vm_snapshot.h"
#include "ipc/mig_stream.h"

/*
 * The destination of a live migration (issue 18): the controller has answered Start and read
 * the Config it built this VM from; the core answers Config once the VM is built, takes the
 * Memory messages straight into guest RAM and the State into the vCPUs and devices (the
 * restore path), and later, with vm_run going, waits for Complete and resumes. Every length
 * and range is checked before anything is read (ipc/mig_stream.c), every range against the
 * VM's own RAM.
 */

#define RECV_MS       60000   /* the source sends its next message */
#define RECV_MAX_MSGS 1000000 /* Memory messages: far more than any VM needs */

static void refuse(int sock, const char *why)
{
    (void)mig_reply(sock, false, why);
}

/* The region holding [gpa, gpa + len) entirely, or NULL. */
static const struct guest_mem_region *region_of(const struct vm *vm, uint64_t gpa, uint64_t len)
{
    for (uint32_t i = 0; i < vm->mem.nregions; i++) {
        const struct guest_mem_region *g = &vm->mem.regions[i];

        if (!g->pmem && gpa >= g->gpa && gpa - g->gpa <= g->size && len <= g->size - (gpa - g->gpa))
            return g;
    }
    return NULL;
}

static int recv_memory(struct vm *vm, int sock, const struct mig_hdr *h, char *err, size_t errlen)
{
    uint8_t table[MIG_TABLE_SIZE(MIG_MAX_RANGES)];
    struct mig_range *rg;
    uint32_t n;
    int r = mig_read(sock, table, 8, RECV_MS);

    if (r)
        return vm_set_err(err, errlen, r, "migration: truncated memory message");
    r = mig_ranges_count(table, h->len, &n, err, errlen);
    if (r)
        return r;
    r = mig_read(sock, table + 8, 16u * n, RECV_MS);
    if (r)
        return vm_set_err(err, errlen, r, "migration: truncated memory range table");
    rg = calloc(n, sizeof(*rg));
    if (!rg)
        return vm_set_err(err, errlen, -ENOMEM, "migration: memory range table");
    r = mig_ranges_decode(table, MIG_TABLE_SIZE(n), h->len, rg, &n, err, errlen);
    for (uint32_t i = 0; !r && i < n; i++)
        if (!region_of(vm, rg[i].gpa, rg[i].len))
            r = vm_set_err(err, errlen, -EINVAL,
                           "migration: memory range 0x%llx+0x%llx is not in this VM's RAM",
                           (unsigned long long)rg[i].gpa, (unsigned long long)rg[i].len);
    for (uint32_t i = 0; !r && i < n; i++) {
        const struct guest_mem_region *g = region_of(vm, rg[i].gpa, rg[i].len);

        if (!g) { /* checked above: cannot happen */
            r = -EINVAL;
            break;
        }
        r = mig_read(sock, g->host + (rg[i].gpa - g->gpa), (size_t)rg[i].len, RECV_MS);
        if (r)
            vm_set_err(err, errlen, r, "migration: truncated guest memory");
    }
    free(rg);
    return r;
}

static int recv_state(struct vm *vm, int sock, const struct mig_hdr *h, char *err, size_t errlen)
{
    struct vm_state s = { 0 };
    char *json = malloc((size_t)h->len);
    int r = json ? mig_read(sock, json, (size_t)h->len, RECV_MS) : -ENOMEM;

    if (r) {
        free(json);
        return vm_set_err(err, errlen, r, "migration: truncated state");
    }
    r = vm_state_from_json(&s, json, (size_t)h->len, err, errlen);
    free(json);
    if (!r)
        r = vm_state_check_layout(vm, &s, err, errlen);
    if (!r)
        r = vm_state_load(vm, &s, err, errlen);
    vm_state_free(&s);
    return r;
}

int vm_migrate_receive(struct vm *vm, int sock, char *err, size_t errlen)
{
    int r = mig_reply(sock, true, NULL); /* Config: the VM is built */

    if (r)
        return vm_set_err(err, errlen, r, "migration: the source went away");
    for (uint32_t k = 0; k < RECV_MAX_MSGS; k++) {
        struct mig_hdr h;

        r = mig_recv_hdr(sock, &h, RECV_MS, err, errlen);
        if (r)
            return r;
        switch (h.cmd) {
        case MIG_MEMORY:
            r = recv_memory(vm, sock, &h, err, errlen);
            break;
        case MIG_STATE:
            /* The last page is in: what the source's RAM was at switch-over. */
            if (vm->log.level >= LOG_LEVEL_INFO)
                log_info(&vm->log, "migration: guest RAM digest at switch-over %016llx",
                         (unsigned long long)vm_ram_digest(&vm->mem));
            r = recv_state(vm, sock, &h, err, errlen);
            if (!r)
                return mig_reply(sock, true, NULL)
                           ? vm_set_err(err, errlen, -ECONNRESET, "migration: the source went away")
                           : 0;
            break;
        case MIG_ABANDON:
            return vm_set_err(err, errlen, -ECANCELED, "migration: the source abandoned it");
        default:
            r = vm_set_err(err, errlen, -EPROTO,
                           "migration: command %u where memory or the "
                           "state was due",
                           h.cmd);
            break;
        }
        if (r) {
            refuse(sock, err);
            return r;
        }
        r = mig_reply(sock, true, NULL);
        if (r)
            return vm_set_err(err, errlen, r, "migration: the source went away");
    }
    return vm_set_err(err, errlen, -E2BIG, "migration: too many memory messages");
}

int vm_migrate_finish(struct vm *vm, int sock, const struct vm_migrate_ops *ops, char *err,
                      size_t errlen)
{
    struct mig_hdr h;
    int r = mig_recv_hdr(sock, &h, RECV_MS, err, errlen);

    if (r)
        return r;
    if (h.cmd == MIG_ABANDON)
        return vm_set_err(err, errlen, -ECANCELED, "migration: the source abandoned it");
    if (h.cmd != MIG_COMPLETE) {
        vm_set_err(err, errlen, -EPROTO, "migration: command %u where Complete was due", h.cmd);
        refuse(sock, err);
        return -EPROTO;
    }
    /* The source has released its disks: they are taken here before the guest runs. */
    if (ops && ops->switch_over) {
        r = ops->switch_over(ops->arg, err, errlen);
        if (r) {
            refuse(sock, err);
            return r;
        }
    }
    r = vm_resume(vm);
    if (r) {
        vm_set_err(err, errlen, r, "migration: resuming the VM");
        refuse(sock, err);
        return r;
    }
    r = mig_reply(sock, true, NULL);
    /* The guest runs here now; a source that missed the answer ends on its own timeout. */
    if (r)
        log_warn(&vm->log, "migration: the source went away before Complete was answered");
    log_info(&vm->log, "migration: received, the VM runs");
    return 0;
}
