#include "core/vm/vm_migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm_migrate_log.h"
#include "core/vm/virtio_mem.h"
#include "core/vm/vm_snapshot.h"
#include "ipc/mig_stream.h"

/*
 * The source of a live migration (issue 18), Cloud Hypervisor's phases: Start, Config, a full
 * copy of guest RAM (all-zero pages skipped: the destination's RAM starts zeroed), up to
 * MIG_PASSES passes over the dirty pages, the pause, a last pass, the state, Complete.
 *
 * Dirty pages come from two logs merged at every pass. KVM's dirty log sees what vCPUs write.
 * Device processes write guest memory themselves (disk reads, received packets, used rings) and
 * so does the core (the queues it serves): for them the source shares a second log, a memfd
 * bitmap over guest-physical pages (vm_migrate_log.c), which every vhost-user backend that
 * negotiated LOG_SHMFD marks through vhost-user LOG_ALL and SET_LOG_BASE, and the core marks
 * for its own queues (vm_dirty.h); each pass reads and clears it word by word. The last pass
 * runs with the VM paused and every ring stopped (GET_VRING_BASE), so no write is left behind.
 *
 * Fallback: a backend that cannot log (an external one without LOG_SHMFD, or one that refused
 * the log) writes where no log sees it. Only then every page sent keeps a 64-bit hash of the
 * bytes that went out, and the last pass hashes every page neither log names and sends again
 * the ones that changed, at the price of reading all of guest RAM once during the downtime.
 */

#define MIG_PASSES      5
#define MIG_SMALL_PAGES 512         /* 2 MiB left: stop the passes and pause */
#define MIG_STAGE       (16u << 20) /* bytes of guest RAM per MEMORY message */
#define MIG_REPLY_MS    30000       /* the destination answers a message */
#define MIG_CONFIG_MS   120000      /* ... and builds its VM from the config */
#define PAGE            MIG_PAGE
#define BLOCK_PAGES     (VMEM_BLOCK_SIZE / PAGE) /* a virtio-mem block */

struct mig_src {
    struct vm *vm;
    int sock;
    uint32_t n; /* regions */
    uint64_t npages[GUEST_MEM_MAX_REGIONS];
    uint64_t *dirty[GUEST_MEM_MAX_REGIONS]; /* KVM's bitmap of the last pass; owned */
    uint64_t *pend[GUEST_MEM_MAX_REGIONS];  /* pages still to send; owned */
    uint64_t *hash[GUEST_MEM_MAX_REGIONS];  /* of each page as last sent; owned; fallback only */
    bool logging;
    struct mig_devlog devlog; /* the device processes' and the core's log */
    uint8_t *stage;           /* MIG_STAGE bytes; owned */
    size_t staged;
    struct mig_range r[MIG_MAX_RANGES];
    uint32_t nr;
    struct vm_migrate_stats *st;
    bool sent_complete; /* past this, a lost answer leaves the outcome unknown */
};

static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Four independent multiply-xorshift lanes over the page's words, folded. */
static uint64_t page_hash(const uint8_t *p)
{
    uint64_t h[4] = { 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
                      0x27d4eb2f165667c5ull };
    uint64_t w;

    for (size_t i = 0; i < PAGE; i += 8) {
        memcpy(&w, p + i, 8);
        h[(i / 8) & 3] = (h[(i / 8) & 3] ^ w) * 0xff51afd7ed558ccdull;
        h[(i / 8) & 3] ^= h[(i / 8) & 3] >> 29;
    }
    return (h[0] ^ (h[1] << 1) ^ (h[2] << 2) ^ (h[3] << 3)) * 0xc4ceb9fe1a85ec53ull;
}

static bool page_zero(const uint8_t *p)
{
    uint64_t acc = 0, w;

    for (size_t i = 0; i < PAGE; i += 8) {
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    return !acc;
}

static int flush(struct mig_src *m, char *err, size_t errlen)
{
    uint8_t table[MIG_TABLE_SIZE(MIG_MAX_RANGES)];
    uint32_t tlen = MIG_TABLE_SIZE(m->nr);
    uint8_t hdr[MIG_HDR_SIZE];
    struct mig_hdr h = { .cmd = MIG_MEMORY };
    int r;

    if (!m->nr)
        return 0;
    memset(table, 0, 8);
    memcpy(table, &m->nr, 4); /* little-endian host (x86_64) */
    for (uint32_t i = 0; i < m->nr; i++) {
        memcpy(table + 8 + 16 * i, &m->r[i].gpa, 8);
        memcpy(table + 16 + 16 * i, &m->r[i].len, 8);
    }
    h.len = tlen + m->staged;
    mig_hdr_encode(&h, hdr);
    r = mig_write(m->sock, hdr, sizeof(hdr));
    if (!r)
        r = mig_write(m->sock, table, tlen);
    if (!r)
        r = mig_write(m->sock, m->stage, m->staged);
    if (r)
        return vm_set_err(err, errlen, r, "migration: sending guest memory");
    r = mig_wait_reply(m->sock, MIG_REPLY_MS, err, errlen);
    if (r)
        return r;
    m->st->bytes += m->staged;
    m->nr = 0;
    m->staged = 0;
    return 0;
}

/* Stages page p of region i (copied, then hashed as copied). */
static int send_page(struct mig_src *m, uint32_t i, uint64_t p, char *err, size_t errlen)
{
    const struct guest_mem_region *g = &m->vm->mem.regions[i];
    uint64_t gpa = g->gpa + p * PAGE;
    uint8_t *dst;
    int r;

    if (m->nr == MIG_MAX_RANGES || m->staged + PAGE > MIG_STAGE) {
        r = flush(m, err, errlen);
        if (r)
            return r;
    }
    dst = m->stage + m->staged;
    memcpy(dst, g->host + p * PAGE, PAGE);
    if (m->hash[i])
        m->hash[i][p] = page_hash(dst);
    m->staged += PAGE;
    m->st->pages++;
    if (m->nr && m->r[m->nr - 1].gpa + m->r[m->nr - 1].len == gpa)
        m->r[m->nr - 1].len += PAGE;
    else
        m->r[m->nr++] = (struct mig_range){ .gpa = gpa, .len = PAGE };
    return 0;
}

static int set_logging(struct mig_src *m, bool on)
{
    int r = 0;

    for (uint32_t i = 0; i < m->n; i++) {
        const struct guest_mem_region *g = &m->vm->mem.regions[i];
        int e = kvm_set_memory_slot_log(m->vm->vm_fd, i, g->gpa, g->size, g->host, on);

        if (e && !r)
            r = e;
    }
    m->logging = on && !r;
    return r;
}

/* Whether page p of region i starts a virtio-mem block the guest has not plugged. */
static bool unplugged_block(struct mig_src *m, uint32_t i, uint64_t p)
{
    const struct guest_mem_region *g = &m->vm->mem.regions[i];

    return g->vmem && p % BLOCK_PAGES == 0 && p + BLOCK_PAGES <= m->npages[i] &&
           vm_vmem_unplugged(m->vm, g->gpa + p * PAGE);
}

/* Pass 0: every page that is not all zero; pages the region's memfd has no data for (never
 * touched) are not even read, which would allocate them. */
static int send_all(struct mig_src *m, char *err, size_t errlen)
{
    uint64_t zero = 0;
    static const uint8_t zpage[PAGE];

    zero = page_hash(zpage);
    for (uint32_t i = 0; i < m->n; i++) {
        uint64_t a = 0, b = 0;

        for (uint64_t p = 0; p < m->npages[i]; p++) {
            int r;

            if (p * PAGE >= b) { /* the next stretch with data; a write into a hole after
                                    this look is in KVM's log */
                guest_mem_next_data(&m->vm->mem.regions[i], p * PAGE, &a, &b);
                for (; p * PAGE < a && p < m->npages[i]; p++)
                    if (m->hash[i])
                        m->hash[i][p] = zero;
                if (p >= m->npages[i])
                    break;
            }

            /* A virtio-mem block the guest has not plugged is not read: a block it plugs
             * from now on is written through KVM's log. */
            if (unplugged_block(m, i, p)) {
                for (uint64_t k = 0; m->hash[i] && k < BLOCK_PAGES; k++)
                    m->hash[i][p + k] = zero;
                p += BLOCK_PAGES - 1;
                continue;
            }
            if (page_zero(m->vm->mem.regions[i].host + p * PAGE)) {
                if (m->hash[i])
                    m->hash[i][p] = zero;
                continue;
            }
            r = send_page(m, i, p, err, errlen);
            if (r)
                return r;
        }
    }
    return flush(m, err, errlen);
}

/* KVM's dirty bitmaps into pend; returns the pages pending (or -errno with err). */
static int64_t collect(struct mig_src *m, char *err, size_t errlen)
{
    int64_t n = 0;

    for (uint32_t i = 0; i < m->n; i++) {
        uint64_t words = (m->npages[i] + 63) / 64;
        int r = kvm_get_dirty_log(m->vm->vm_fd, i, m->dirty[i]);

        if (r)
            return vm_set_err(err, errlen, r, "migration: KVM_GET_DIRTY_LOG slot %u", i);
        for (uint64_t w = 0; w < words; w++) {
            m->pend[i][w] |= m->dirty[i][w];
            m->st->pages_kvm_log += (uint64_t)__builtin_popcountll(m->dirty[i][w]);
        }
    }
    /* After KVM's: a page the devices wrote meanwhile is named by one log or the other. */
    mig_devlog_take(&m->devlog, &m->vm->mem, m->n, m->pend, m->dirty);
    m->st->pages_dev_log = m->devlog.pages;
    m->st->pages_dev_log_only = m->devlog.pages_log_only;
    for (uint32_t i = 0; i < m->n; i++)
        for (uint64_t w = 0; w < (m->npages[i] + 63) / 64; w++)
            n += __builtin_popcountll(m->pend[i][w]);
    return n;
}

static int send_pending(struct mig_src *m, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < m->n; i++)
        for (uint64_t w = 0; w < (m->npages[i] + 63) / 64; w++)
            while (m->pend[i][w]) {
                uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(m->pend[i][w]);
                int r;

                m->pend[i][w] &= m->pend[i][w] - 1;
                if (p >= m->npages[i])
                    continue;
                r = send_page(m, i, p, err, errlen);
                if (r)
                    return r;
            }
    return flush(m, err, errlen);
}

/* Paused: pages whose bytes no longer hash as sent join the last pass (written by a device
 * process or the core, which KVM's log does not see). */
static void verify(struct mig_src *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        for (uint64_t p = 0; p < m->npages[i]; p++) {
            uint64_t bit = 1ull << (p % 64);

            if (unplugged_block(m, i, p)) {
                p += BLOCK_PAGES - 1;
                continue;
            }
            if (m->pend[i][p / 64] & bit)
                continue;
            if (page_hash(m->vm->mem.regions[i].host + p * PAGE) != m->hash[i][p]) {
                m->pend[i][p / 64] |= bit;
                m->st->pages_outside_log++;
            }
        }
}

static int src_init(struct mig_src *m, struct vm *vm, int sock, struct vm_migrate_stats *st,
                    char *err, size_t errlen)
{
    m->vm = vm;
    m->sock = sock;
    m->st = st;
    m->n = vm->mem.nregions;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct guest_mem_region *g = &vm->mem.regions[i];
        uint64_t words;

        if (g->pmem || g->size % PAGE || g->gpa % PAGE)
            return vm_set_err(err, errlen, -EOPNOTSUPP,
                              "migration: memory region %u (pmem) cannot migrate yet", i);
        /* The destination lays out memory.size as boot RAM before any state arrives (a VM
         * restored from a snapshot with such RAM gets here: its controller saw no vm.resize). */
        if (g->zone == GUEST_MEM_HOTPLUG_ZONE && !g->detachable)
            return vm_set_err(err, errlen, -EOPNOTSUPP,
                              "migration: RAM hot-added by vm.resize (region %u at 0x%llx) cannot "
                              "migrate yet; vm.snapshot and vm.restore carry it",
                              i, (unsigned long long)g->gpa);
        m->npages[i] = g->size / PAGE;
        words = (m->npages[i] + 63) / 64;
        m->dirty[i] = calloc(words, 8);
        m->pend[i] = calloc(words, 8);
        if (!m->dirty[i] || !m->pend[i])
            return vm_set_err(err, errlen, -ENOMEM, "migration: page tables");
    }
    m->stage = malloc(MIG_STAGE);
    if (!m->stage)
        return vm_set_err(err, errlen, -ENOMEM, "migration: staging buffer");
    return 0;
}

/* The device processes' log on; the page hashes of the fallback only where a device cannot
 * log. */
static int devlog_start(struct mig_src *m, char *err, size_t errlen)
{
    int r = mig_devlog_start(m->vm, &m->devlog, err, errlen);

    if (r || !m->devlog.unlogged)
        return r;
    for (uint32_t i = 0; i < m->n; i++) {
        m->hash[i] = calloc(m->npages[i], 8);
        if (!m->hash[i])
            return vm_set_err(err, errlen, -ENOMEM, "migration: page hashes");
    }
    return 0;
}

static void src_free(struct mig_src *m)
{
    mig_devlog_stop(m->vm, &m->devlog);
    if (m->logging)
        (void)set_logging(m, false);
    for (uint32_t i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
        free(m->dirty[i]);
        free(m->pend[i]);
        free(m->hash[i]);
    }
    free(m->stage);
}

/* Start, the memory fds of a local migration (local_vm set), and Config. */
static int handshake(int sock, struct vm *local_vm, const char *config, size_t len, char *err,
                     size_t errlen)
{
    int r = mig_send(sock, MIG_START, NULL, 0);

    if (!r)
        r = mig_wait_reply(sock, MIG_REPLY_MS, err, errlen);
    else
        vm_set_err(err, errlen, r, "migration: sending Start");
    if (!r && local_vm)
        r = vm_migrate_send_memfds(local_vm, sock, err, errlen);
    if (r)
        return r;
    r = mig_send(sock, MIG_CONFIG, config, len);
    if (r)
        return vm_set_err(err, errlen, r, "migration: sending the configuration");
    return mig_wait_reply(sock, MIG_CONFIG_MS, err, errlen);
}

/* The live passes: until little is left or MIG_PASSES are done. */
static int passes(struct mig_src *m, char *err, size_t errlen)
{
    for (uint32_t pass = 1; pass <= MIG_PASSES; pass++) {
        int64_t n = collect(m, err, errlen);
        int r;

        if (n < 0)
            return (int)n;
        if (n <= MIG_SMALL_PAGES)
            return 0;
        r = send_pending(m, err, errlen);
        if (r)
            return r;
        m->st->passes = pass;
    }
    return 0;
}

/* State and Complete, the VM paused. */
static int finish(struct mig_src *m, const struct vm_migrate_ops *ops, char *err, size_t errlen)
{
    struct vm_state s = { 0 };
    char *json = NULL;
    int r = vm_state_take(m->vm, &s, err, errlen);

    if (!r) {
        json = vm_state_to_json(&s);
        if (!json)
            r = vm_set_err(err, errlen, -ENOMEM, "migration: state");
    }
    if (!r && strlen(json) > MIG_MAX_STATE)
        r = vm_set_err(err, errlen, -E2BIG,
                       "migration: the state is larger than the stream allows");
    if (!r) {
        r = mig_send(m->sock, MIG_STATE, json, strlen(json));
        if (r)
            vm_set_err(err, errlen, r, "migration: sending the state");
    }
    if (!r)
        r = mig_wait_reply(m->sock, MIG_CONFIG_MS, err, errlen);
    /* The destination holds everything: the disks are released for it to take. */
    if (!r && ops && ops->switch_over)
        r = ops->switch_over(ops->arg, err, errlen);
    if (!r) {
        r = mig_send(m->sock, MIG_COMPLETE, NULL, 0);
        m->sent_complete = !r;
        if (r)
            vm_set_err(err, errlen, r, "migration: sending Complete");
    }
    if (!r)
        r = mig_wait_reply(m->sock, MIG_CONFIG_MS, err, errlen);
    free(json);
    vm_state_free(&s);
    return r;
}

/* Complete went out and its answer did not come back: the VM stays paused. */
static void unknown_outcome(char *err, size_t errlen)
{
    char why[256];

    snprintf(why, sizeof(why), "%s", err);
    snprintf(err, errlen,
             "%s after Complete was sent: the destination may be running the guest, so this VM "
             "stays paused (vm.resume continues it here once the destination is known not to "
             "run it)",
             why);
}

int vm_migrate_send(struct vm *vm, int sock, const char *config, size_t config_len,
                    const struct vm_migrate_ops *ops, struct vm_migrate_stats *st, char *err,
                    size_t errlen)
{
    struct mig_src m = { 0 };
    int ps = atomic_load(&vm->pause_state);
    bool was_paused = ps == PAUSE_DONE, paused = false;
    bool copy = !(ops && ops->local); /* local: the destination maps this RAM itself */
    uint64_t t0 = now_ms(), tp = 0;
    int r;

    memset(st, 0, sizeof(*st));
    if (vm->nvfio)
        return vm_set_err(err, errlen, -EOPNOTSUPP,
                          "migration: passed-through (VFIO) devices cannot migrate");
    if (ps != PAUSE_NONE && !was_paused)
        return vm_set_err(err, errlen, -EBUSY, "migration: the VM is pausing or resuming");
    r = src_init(&m, vm, sock, st, err, errlen);
    if (!r)
        r = handshake(sock, copy ? NULL : vm, config, config_len, err, errlen);
    if (!r && !was_paused && copy) {
        r = set_logging(&m, true);
        if (r)
            vm_set_err(err, errlen, r, "migration: dirty page logging");
        if (!r)
            r = devlog_start(&m, err, errlen);
    }
    if (!r && copy)
        r = send_all(&m, err, errlen);
    if (!r && !was_paused && copy)
        r = passes(&m, err, errlen);
    if (!r && !was_paused) {
        tp = now_ms();
        r = vm_pause(vm);
        paused = !r;
        if (r)
            vm_set_err(err, errlen, r, "migration: pausing the VM");
    }
    if (!r && !was_paused && copy) {
        int64_t n = collect(&m, err, errlen);

        r = n < 0 ? (int)n : 0;
        if (!r) {
            if (m.devlog.unlogged) /* the fallback: some backend writes where no log sees */
                verify(&m);
            r = send_pending(&m, err, errlen);
        }
        if (!r && vm->log.level >= LOG_LEVEL_INFO) {
            /* What the destination must hold; not counted in the downtime. */
            uint64_t td = now_ms();

            log_info(&vm->log, "migration: guest RAM digest at switch-over %016llx",
                     (unsigned long long)vm_ram_digest(&vm->mem));
            tp += now_ms() - td;
        }
    }
    if (!r)
        r = finish(&m, ops, err, errlen);
    /* A refusal of Complete comes from a destination that did not resume; silence may come
     * from one that did. */
    st->outcome_unknown = r && m.sent_complete && r != -ECONNABORTED;
    if (st->outcome_unknown)
        unknown_outcome(err, errlen);
    else if (r) {
        /* Best effort: the destination drops what it built. */
        (void)mig_send(sock, MIG_ABANDON, NULL, 0);
        if (paused && vm_resume(vm))
            log_warn(&vm->log, "migration: the VM could not be resumed after the failure");
    }
    st->total_ms = now_ms() - t0;
    st->downtime_ms = tp ? now_ms() - tp : 0;
    src_free(&m);
    if (!r)
        log_info(&vm->log,
                 "migration: sent %llu MiB in %u passes; dirty pages: %llu from KVM's log, %llu "
                 "from the device log (%llu of them not in KVM's), %llu found by hashing; %llu "
                 "ms in all, %llu ms paused",
                 (unsigned long long)(st->bytes >> 20), st->passes,
                 (unsigned long long)st->pages_kvm_log, (unsigned long long)st->pages_dev_log,
                 (unsigned long long)st->pages_dev_log_only,
                 (unsigned long long)st->pages_outside_log, (unsigned long long)st->total_ms,
                 (unsigned long long)st->downtime_ms);
    return r;
}
