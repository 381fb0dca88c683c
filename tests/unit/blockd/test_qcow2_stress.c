/* Two queues of one cellvm-blockd hammering one QCOW2 image (over a raw backing file) for a
 * bounded time: writes, whole-cluster discards, write-zeroes and reads of overlapping ranges,
 * sixteen requests in flight per queue, so allocations of the same cluster race between the
 * queue threads. A model of every block (backing pattern, zero, or the tag of the last
 * completed write) checks each read that no write overlapped, the whole disk at the end, and,
 * after the daemon exits, `qemu-img check` and QEMU's own reading of the image. */
#include <criterion/criterion.h>
#include <endian.h>
#include <linux/virtio_blk.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "fe_util.h"

#define BLK        4096u
#define DISK       (2u << 20)
#define NBLK       (DISK / BLK)
#define CLUSTER    65536u
#define PER_CL     (CLUSTER / BLK)
#define TAG_ZERO   0u
#define TAG_BASE   1u
#define BASE_BYTE  0x5a
#define MAX_BLOCKS 8u

struct model {
    uint32_t tag[NBLK];   /* what a read must return once nothing overlaps */
    uint32_t wbusy[NBLK]; /* in-flight writes covering the block */
    uint32_t wsub[NBLK];  /* writes ever submitted over the block */
    uint32_t next_tag;
    /* Per slot: the block range and, for reads, wsub at submit and whether it was clean. */
    struct {
        uint32_t first, n, tag;
        uint32_t wsub[MAX_BLOCKS];
        bool clean;
    } io[FE_MAX_Q][FE_SLOTS];
    uint64_t verified_reads, writes, discards, zeroes, reads, flushes;
};

static struct fe_daemon t;
static struct model m;

static void setup(void)
{
    fe_init(&t);
    if (!fe_have("qemu-img") || !fe_have("qemu-io"))
        cr_skip_test("qemu-img/qemu-io not installed (qemu-utils)");
}

static void teardown(void)
{
    fe_fini(&t);
}

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void fill(uint8_t *p, uint32_t blk, uint32_t tag)
{
    uint64_t w = (uint64_t)blk << 32 | tag;

    for (unsigned i = 0; i < BLK; i += 8)
        memcpy(p + i, &w, 8);
}

/* Checks one block of data against tag; returns true if it matches. */
static bool block_ok(const uint8_t *p, uint32_t blk, uint32_t tag)
{
    uint8_t want[BLK];

    if (tag == TAG_ZERO)
        memset(want, 0, BLK);
    else if (tag == TAG_BASE)
        memset(want, BASE_BYTE, BLK);
    else
        fill(want, blk, tag);
    return memcmp(p, want, BLK) == 0;
}

static bool range_free(uint32_t first, uint32_t n)
{
    for (uint32_t b = first; b < first + n; b++)
        if (m.wbusy[b])
            return false;
    return true;
}

static void mark_write(unsigned q, unsigned s, uint32_t first, uint32_t n, uint32_t tag)
{
    for (uint32_t b = first; b < first + n; b++) {
        m.wbusy[b]++;
        m.wsub[b]++;
    }
    m.io[q][s].first = first;
    m.io[q][s].n = n;
    m.io[q][s].tag = tag;
}

static void dwz_seg(unsigned q, unsigned s, uint32_t first, uint32_t n)
{
    struct virtio_blk_discard_write_zeroes *seg = (void *)fe_data(&t, q, s);

    seg->sector = htole64((uint64_t)first * (BLK / 512));
    seg->num_sectors = htole32(n * (BLK / 512));
    seg->flags = 0;
}

/* Starts one random request in slot s of queue q (if the dice find a free range). */
static void start_one(unsigned q, unsigned s)
{
    uint32_t dice = rnd(100), first, n;

    if (dice < 40) {
        n = 1 + rnd(4);
        first = rnd(NBLK - n + 1);
        if (!range_free(first, n))
            goto read;
        uint32_t tag = m.next_tag++;
        for (uint32_t i = 0; i < n; i++)
            fill(fe_data(&t, q, s) + i * BLK, first + i, tag);
        mark_write(q, s, first, n, tag);
        fe_submit(&t, q, s, VIRTIO_BLK_T_OUT, (uint64_t)first * (BLK / 512), n * BLK, false);
        m.writes++;
        return;
    }
    if (dice < 55) {
        first = rnd(NBLK / PER_CL) * PER_CL;
        n = PER_CL;
        if (!range_free(first, n))
            goto read;
        mark_write(q, s, first, n, TAG_ZERO);
        dwz_seg(q, s, first, n);
        fe_submit(&t, q, s, VIRTIO_BLK_T_DISCARD, 0, sizeof(struct virtio_blk_discard_write_zeroes),
                  false);
        m.discards++;
        return;
    }
    if (dice < 65) {
        n = 1 + rnd(2);
        first = rnd(NBLK - n + 1);
        if (!range_free(first, n))
            goto read;
        mark_write(q, s, first, n, TAG_ZERO);
        dwz_seg(q, s, first, n);
        fe_submit(&t, q, s, VIRTIO_BLK_T_WRITE_ZEROES, 0,
                  sizeof(struct virtio_blk_discard_write_zeroes), false);
        m.zeroes++;
        return;
    }
    if (dice < 68) {
        /* As a guest does now and then; completes like a read that checks nothing. */
        m.io[q][s].first = 0;
        m.io[q][s].n = 0;
        m.io[q][s].tag = UINT32_MAX;
        m.io[q][s].clean = false;
        fe_submit(&t, q, s, VIRTIO_BLK_T_FLUSH, 0, 0, false);
        m.flushes++;
        return;
    }
read:
    n = 1 + rnd(MAX_BLOCKS);
    first = rnd(NBLK - n + 1);
    m.io[q][s].first = first;
    m.io[q][s].n = n;
    m.io[q][s].tag = UINT32_MAX;
    m.io[q][s].clean = range_free(first, n);
    for (uint32_t i = 0; i < n; i++)
        m.io[q][s].wsub[i] = m.wsub[first + i];
    fe_submit(&t, q, s, VIRTIO_BLK_T_IN, (uint64_t)first * (BLK / 512), n * BLK, true);
    m.reads++;
}

static void complete_one(unsigned q, unsigned s)
{
    uint32_t first = m.io[q][s].first, n = m.io[q][s].n;

    cr_assert_eq(fe_status(&t, q, s), VIRTIO_BLK_S_OK, "request type %u failed", t.slot[q][s].type);
    if (m.io[q][s].tag != UINT32_MAX) {
        for (uint32_t b = first; b < first + n; b++) {
            m.wbusy[b]--;
            m.tag[b] = m.io[q][s].tag;
        }
        return;
    }
    if (!m.io[q][s].clean)
        return;
    for (uint32_t i = 0; i < n; i++)
        if (m.io[q][s].wsub[i] != m.wsub[first + i])
            return; /* a write started meanwhile: either content is right */
    for (uint32_t i = 0; i < n; i++)
        cr_assert(block_ok(fe_data(&t, q, s) + i * BLK, first + i, m.tag[first + i]),
                  "queue %u: block %u does not hold tag %u", q, first + i, m.tag[first + i]);
    m.verified_reads++;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned busy_slots(void)
{
    unsigned n = 0;

    for (unsigned q = 0; q < t.nq; q++)
        for (unsigned s = 0; s < FE_SLOTS; s++)
            n += t.slot[q][s].busy;
    return n;
}

static void reap_all(void)
{
    int s;

    for (unsigned q = 0; q < t.nq; q++)
        while ((s = fe_reap(&t, q)) >= 0)
            complete_one(q, (unsigned)s);
}

TestSuite(qcow2_stress, .init = setup, .fini = teardown, .timeout = 90);

Test(qcow2_stress, two_queues_overlapping_io)
{
    const char *env = getenv("CELLVM_STRESS_SECONDS");
    double secs = env ? atof(env) : 3.0, end, idle_since;
    char spec[256], cmd[256];
    uint8_t *img;
    FILE *f;

    rng_state = (uint64_t)time(NULL) | 1;
    cr_log_info("seed %llu", (unsigned long long)rng_state);
    cr_assert_eq(fe_sh("cd %s && qemu-img create -f raw base.raw 2M && "
                       "qemu-io -f raw -c 'write -P 0x5a 0 2M' base.raw && "
                       "qemu-img create -f qcow2 -F raw -b base.raw top.qcow2 2M",
                       t.dir),
                 0);
    for (uint32_t b = 0; b < NBLK; b++)
        m.tag[b] = TAG_BASE;
    m.next_tag = 2;
    snprintf(spec, sizeof(spec), "path=%s/top.qcow2,backing_files=on,num_queues=2", t.dir);
    cr_assert_eq(fe_start(&t, spec, false), 0, "blockd refused: see %s", t.log);
    fe_connect(&t, 2);

    end = now() + secs;
    idle_since = now();
    while (now() < end || busy_slots()) {
        bool progress = false;

        for (unsigned q = 0; q < t.nq; q++) {
            for (unsigned s = 0; s < FE_SLOTS && now() < end; s++)
                if (!t.slot[q][s].busy)
                    start_one(q, s);
        }
        fe_wait(&t, 50);
        for (unsigned q = 0; q < t.nq; q++) {
            int s;

            while ((s = fe_reap(&t, q)) >= 0) {
                complete_one(q, (unsigned)s);
                progress = true;
            }
        }
        if (progress)
            idle_since = now();
        cr_assert_lt(now() - idle_since, 10.0, "no completion for 10 s (%u in flight)",
                     busy_slots());
    }
    reap_all();
    cr_log_info("%llu writes, %llu discards, %llu write-zeroes, %llu flushes, %llu reads (%llu "
                "verified)",
                (unsigned long long)m.writes, (unsigned long long)m.discards,
                (unsigned long long)m.zeroes, (unsigned long long)m.flushes,
                (unsigned long long)m.reads, (unsigned long long)m.verified_reads);
    cr_assert_gt(m.verified_reads, 0);

    /* Every completed write reads back, through blockd... */
    for (uint32_t b = 0; b < NBLK; b += FE_BUF / BLK) {
        cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_IN, (uint64_t)b * (BLK / 512), FE_BUF, true),
                     VIRTIO_BLK_S_OK);
        for (uint32_t i = 0; i < FE_BUF / BLK; i++)
            cr_assert(block_ok(fe_data(&t, 0, 0) + i * BLK, b + i, m.tag[b + i]),
                      "final read: block %u does not hold tag %u", b + i, m.tag[b + i]);
    }
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
    kill(t.pid, SIGTERM);
    waitpid(t.pid, NULL, 0);
    t.pid = -1;

    /* ...and through QEMU, on an image QEMU finds consistent. */
    cr_assert_eq(fe_sh("qemu-img check %s/top.qcow2", t.dir), 0, "qemu-img check is not clean");
    cr_assert_eq(fe_sh("qemu-img convert -O raw %s/top.qcow2 %s/out.raw", t.dir, t.dir), 0);
    snprintf(cmd, sizeof(cmd), "%s/out.raw", t.dir);
    f = fopen(cmd, "rb");
    cr_assert_not_null(f);
    img = malloc(DISK);
    cr_assert_eq(fread(img, 1, DISK, f), DISK);
    fclose(f);
    for (uint32_t b = 0; b < NBLK; b++)
        cr_assert(block_ok(img + (size_t)b * BLK, b, m.tag[b]),
                  "qemu: block %u does not hold tag %u", b, m.tag[b]);
    free(img);
}
