/*
 * Crash simulator: the engine runs a random workload over a recording file layer; the image is
 * rebuilt as of every flush point and at random cuts between flushes (later writes dropped,
 * kept or torn). Every rebuilt image must pass `qemu-img check` (leaks allowed) and hold, as
 * read by qemu-img, every write completed before its last flush. The seed is printed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q2t.h"
#include "record_file.h"

#define MAX_OPS 400

struct ckpt {
    size_t log; /* log entries durable at this point */
    size_t ops; /* ops completed before it */
    uint64_t size;
    uint8_t *model;
};

struct wop {
    size_t log_start;
    uint64_t off, len;
};

struct sim {
    uint32_t cs;
    uint64_t size;
    uint8_t *model;
    struct ckpt ck[MAX_OPS + 2];
    size_t nck;
    struct wop ops[MAX_OPS];
    size_t nops;
};

static void checkpoint(struct sim *s, struct rec_file *r)
{
    struct ckpt *c = &s->ck[s->nck++];
    c->log = rec_count(r);
    c->ops = s->nops;
    c->size = s->size;
    c->model = malloc(s->size);
    memcpy(c->model, s->model, s->size);
}

static void workload(struct sim *s, struct qcow2 *q, struct rec_file *r, uint64_t *st,
                     unsigned nops)
{
    uint8_t *buf = malloc(4ull * s->cs + 4096);
    unsigned resizes = 0;

    checkpoint(s, r);
    for (unsigned i = 0; i < nops && s->nops < MAX_OPS; i++) {
        unsigned pick = (unsigned)(q2t_rand(st) % 100);
        uint64_t off = q2t_rand(st) % s->size;
        uint64_t len = 1 + q2t_rand(st) % (3ull * s->cs + 1000);
        if (len > s->size - off)
            len = s->size - off;
        struct wop *w = &s->ops[s->nops];
        w->log_start = rec_count(r);
        w->off = off;
        w->len = len;
        if (pick < 50) {
            memset(buf, (int)(1 + i % 250), len);
            cr_assert_eq(qcow2_pwrite(q, buf, len, off), 0, "write %u", i);
            memcpy(s->model + off, buf, len);
        } else if (pick < 62) {
            cr_assert_eq(qcow2_discard(q, off, len, true), 0, "zeroes %u", i);
            memset(s->model + off, 0, len);
        } else if (pick < 72) {
            cr_assert_eq(qcow2_discard(q, off, len, false), 0, "discard %u", i);
            /* Discard promises nothing for partial clusters; whole ones read as zeroes. */
            uint64_t a = (off + s->cs - 1) / s->cs * s->cs, b = (off + len) / s->cs * s->cs;
            if (off + len == s->size)
                b = s->size;
            if (b > a)
                memset(s->model + a, 0, b - a);
        } else if (pick < 88) {
            cr_assert_eq(qcow2_flush(q), 0);
            checkpoint(s, r);
            continue;
        } else if (pick < 90 && resizes < 2) {
            uint64_t ns = s->size + s->cs * (1 + q2t_rand(st) % 8);
            cr_assert_eq(qcow2_resize(q, ns), 0);
            s->model = realloc(s->model, ns);
            memset(s->model + s->size, 0, ns - s->size);
            w->off = s->size;
            w->len = ns - s->size;
            s->size = ns;
            resizes++;
        } else {
            continue;
        }
        s->nops++;
    }
    cr_assert_eq(qcow2_flush(q), 0);
    checkpoint(s, r);
    free(buf);
}

/* Rebuilds at one cut and checks it against the checkpoint before it. */
static void verify_cut(struct sim *s, struct rec_file *r, const char *dir, size_t ci, size_t cut,
                       uint64_t *rng)
{
    const struct ckpt *c = &s->ck[ci];
    char path[128], raw[128], out[2048];
    size_t rlen = 0;

    snprintf(path, sizeof(path), "%s/cut.qcow2", dir);
    snprintf(raw, sizeof(raw), "%s/cut.raw", dir);
    cr_assert_eq(rec_rebuild(r, c->log, cut, rng, path), 0);
    int rc = q2t_sh_out(out, sizeof(out), "qemu-img check %s 2>&1", path);
    cr_assert(rc == 0 || rc == 3, "cut %zu (checkpoint %zu): qemu-img check rc=%d\n%s", cut, ci, rc,
              out);
    cr_assert_eq(q2t_sh("qemu-img convert -U -O raw %s %s", path, raw), 0, "cut %zu", cut);
    uint8_t *img = q2t_slurp(raw, &rlen);
    cr_assert(img);
    cr_assert_geq(rlen, c->size, "cut %zu: image shrank", cut);
    uint8_t *mask = calloc(1, c->size);
    for (size_t k = c->ops; k < s->nops; k++) {
        if (s->ops[k].log_start >= cut)
            break;
        for (uint64_t b = s->ops[k].off; b < s->ops[k].off + s->ops[k].len && b < c->size; b++)
            mask[b] = 1;
    }
    for (uint64_t b = 0; b < c->size; b++) {
        if (!mask[b] && img[b] != c->model[b])
            cr_assert_fail("cut %zu (checkpoint %zu): byte %lu is 0x%02x, flushed 0x%02x", cut, ci,
                           (unsigned long)b, img[b], c->model[b]);
    }
    free(mask);
    free(img);
}

static void run_sim(uint32_t cs, uint32_t rb, uint64_t size, const char *name)
{
    char dir[64], path[128], err[256];
    uint64_t st = q2t_seed(name), rng;
    unsigned nops = 120, cuts = 8;
    const char *e = getenv("CELLVM_QCOW2_CRASH_CUTS");
    struct sim *s = calloc(1, sizeof(*s));

    if (e) {
        cuts = (unsigned)strtoul(e, NULL, 0);
        nops = 300;
    }
    q2t_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/base.qcow2", dir);
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 -o cluster_size=%u,refcount_bits=%u %s %lu",
                        cs, rb, path, (unsigned long)size),
                 0);
    size_t blen;
    uint8_t *base = q2t_slurp(path, &blen);
    struct rec_file *r = rec_new(base, blen);
    free(base);
    s->cs = cs;
    s->size = size;
    s->model = calloc(1, size);
    struct qcow2 *q;
    struct qcow2_opts o = { .sparse = true,
                            .l2_cache_bytes = 4ull * cs,
                            .rc_cache_bytes = 4ull * cs };
    cr_assert_eq(qcow2_open(&q, rec_layer(r), &o, err, sizeof(err)), 0, "%s", err);
    workload(s, q, r, &st, nops);
    cr_assert_eq(qcow2_close(q), 0);
    fprintf(stderr, "%s: %zu ops, %zu flush points, %zu log entries\n", name, s->nops, s->nck,
            rec_count(r));

    /* Every flush point, then random cuts between flush points. */
    for (size_t i = 0; i < s->nck; i++)
        verify_cut(s, r, dir, i, s->ck[i].log, NULL);
    rng = st ^ 0x9e3779b97f4a7c15ull;
    for (unsigned k = 0; k < cuts && s->nck > 1; k++) {
        size_t i = (size_t)(q2t_rand(&rng) % (s->nck - 1));
        size_t a = s->ck[i].log, b = s->ck[i + 1].log;
        if (b <= a + 1)
            continue;
        size_t cut = a + 1 + (size_t)(q2t_rand(&rng) % (b - a - 1));
        verify_cut(s, r, dir, i, cut, &rng);
    }
    /* The cleanly closed image: no leaks, and exactly the model. */
    cr_assert_eq(rec_rebuild(r, rec_count(r), rec_count(r), NULL, path), 0);
    cr_expect_eq(q2t_sh("qemu-img check -q %s", path), 0, "closed image not clean");
    for (size_t i = 0; i < s->nck; i++)
        free(s->ck[i].model);
    free(s->model);
    free(s);
    rec_free(r);
    q2t_rmdir(dir);
}

Test(qcow2_crash, small_clusters_reftable_growth, .timeout = 240)
{
    if (!q2t_have_qemu())
        cr_skip_test("qemu-img not installed (Debian qemu-utils)");
    run_sim(512, 64, 3u << 20, "qcow2_crash::512B/64-bit");
}

Test(qcow2_crash, default_layout, .timeout = 240)
{
    if (!q2t_have_qemu())
        cr_skip_test("qemu-img not installed (Debian qemu-utils)");
    run_sim(4096, 16, 2u << 20, "qcow2_crash::4K/16-bit");
}
