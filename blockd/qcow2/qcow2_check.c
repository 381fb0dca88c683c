/* Reference counting from scratch: image check, leak repair and the refcount rebuild that a
 * dirty (lazy_refcounts or crashed) image gets on open. Every walk is bounded by the file, not
 * by what a header or table claims: each distinct L2 table is read once however many L1
 * entries name it, the comparison covers the clusters the file holds, and refcount blocks that
 * describe only clusters past the end of the file are read once per distinct block. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_check.h"
#include "blockd/qcow2/qcow2_priv.h"

#define MAX_CLUSTERS (1ull << 28) /* counting array bound: 1 GiB of uint32 */
#define MAX_FINDINGS 20
#define L1_IDX_BITS  24 /* an L1 index (at most 2^22 entries) packed under a cluster number */

struct counter {
    struct qcow2 *q;
    uint32_t *cnt;
    uint64_t n;
    uint64_t errors;
};

/* Counts `times` references to every cluster of [off, off+len); saturates. */
static void add(struct counter *c, uint64_t off, uint64_t len, uint64_t times, const char *what)
{
    struct qcow2 *q = c->q;

    if (len == 0)
        return;
    for (uint64_t k = off >> q->cluster_bits; k <= (off + len - 1) >> q->cluster_bits; k++) {
        if (k >= c->n) {
            if (c->errors++ < MAX_FINDINGS)
                q2_warn(q, "ERROR %s at 0x%" PRIx64 " is past the end of the image", what,
                        k << q->cluster_bits);
            return;
        }
        uint64_t v = c->cnt[k] + times;
        c->cnt[k] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
}

static bool bad_off(struct counter *c, uint64_t e, uint64_t reserved, const char *what)
{
    struct qcow2 *q = c->q;

    if ((e & reserved) == 0 && (e & Q2_OFF_MASK) % q->cluster_size == 0)
        return false;
    if (c->errors++ < MAX_FINDINGS)
        q2_warn(q, "ERROR %s entry 0x%" PRIx64 " is invalid", what, e);
    return true;
}

static int count_l2(struct counter *c, uint64_t l1_idx, uint64_t times)
{
    struct qcow2 *q = c->q;
    uint64_t per = 1ull << q->l2_bits, e, off, len;
    uint64_t reserved = Q2_L2_RESERVED | (q->version < 3 ? Q2_OFLAG_ZERO : 0);

    for (uint64_t i = 0; i < per; i++) {
        int ret = q2_l2_get(q, (l1_idx << q->l2_bits) + i, &e);
        if (ret < 0)
            return ret;
        if (e & Q2_OFLAG_COMPRESSED) {
            q2_compressed_span(q, e, &off, &len);
            add(c, off, len, times, "compressed cluster");
        } else if ((e & Q2_OFF_MASK) && !bad_off(c, e, reserved, "L2")) {
            add(c, e & Q2_OFF_MASK, q->cluster_size, times, "data cluster");
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * L2 tables, each walked once and counted as often as L1 names it: an L1 that repeats one
 * table millions of times costs one walk, so the work is bounded by the tables in the file.
 */
static int count_tables(struct counter *c)
{
    struct qcow2 *q = c->q;
    uint64_t *tabs = malloc((q->l1_size ? q->l1_size : 1) * sizeof(*tabs)), n = 0;
    int ret = 0;

    if (!tabs)
        return -ENOMEM;
    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t e = q->l1[i], off = e & Q2_OFF_MASK;
        if (!off || bad_off(c, e, Q2_L1_RESERVED, "L1"))
            continue;
        add(c, off, q->cluster_size, 1, "L2 table");
        if (off >> q->cluster_bits >= c->n)
            continue;
        const char *what = q2_meta_at(q, off, q->cluster_size, Q2_META_L2);
        if (what) {
            /* Counted above, so the overlap also shows as a refcount error; not walked. */
            if (c->errors++ < MAX_FINDINGS)
                q2_warn(q, "ERROR L1 entry %" PRIu32 " puts an L2 table on %s", i, what);
            continue;
        }
        tabs[n++] = (off >> q->cluster_bits) << L1_IDX_BITS | i;
    }
    qsort(tabs, n, sizeof(*tabs), cmp_u64);
    for (uint64_t a = 0, b; a < n && ret == 0; a = b) {
        for (b = a + 1; b < n && tabs[b] >> L1_IDX_BITS == tabs[a] >> L1_IDX_BITS; b++)
            ;
        ret = count_l2(c, tabs[a] & ((1ull << L1_IDX_BITS) - 1), b - a);
    }
    free(tabs);
    return ret;
}

/* Counts references; with meta, also the refcount table and blocks themselves. */
static int count_refs(struct qcow2 *q, bool meta, struct counter *c)
{
    uint64_t fsize, end;
    int ret;

    if (q->nb_snapshots)
        return -ENOTSUP;
    if ((ret = q->file->ops->size(q->file, &fsize)) < 0)
        return ret;
    end = q2_round_up(fsize > q->host_end ? fsize : q->host_end, q->cluster_size);
    memset(c, 0, sizeof(*c));
    c->q = q;
    c->n = end >> q->cluster_bits;
    if (c->n > MAX_CLUSTERS)
        return -EFBIG;
    c->cnt = calloc(c->n ? c->n : 1, sizeof(*c->cnt));
    if (!c->cnt)
        return -ENOMEM;
    add(c, 0, q->cluster_size, 1, "header");
    add(c, q->l1_off, (uint64_t)q->l1_size * 8, 1, "L1 table");
    if (meta) {
        add(c, q->rt_off, (uint64_t)q->rt_clusters * q->cluster_size, 1, "refcount table");
        for (uint32_t j = 0; j < q->rt_size; j++) {
            if (q->rt[j] && !bad_off(c, q->rt[j], 511, "refcount table"))
                add(c, q->rt[j] & ~511ull, q->cluster_size, 1, "refcount block");
        }
    }
    if ((ret = count_tables(c)) < 0) {
        free(c->cnt);
        c->cnt = NULL;
    }
    return ret;
}

/* Writes a fresh refcount table and blocks past the end of the file, then switches to them. */
static int rebuild_from(struct qcow2 *q, const struct counter *c)
{
    uint64_t cs = q->cluster_size, per = 1ull << q->rc_block_bits;
    uint64_t p = c->n, t = 1, m = 0;
    uint8_t *blocks = NULL, *tbuf = NULL;
    int ret = -EFBIG;

    for (unsigned iter = 0; iter < 64; iter++) {
        uint64_t m2 = (p + t + m + per - 1) / per;
        uint64_t t2 = q2_round_up(m2 * 8, cs) / cs;
        if (m2 == m && t2 == t)
            break;
        m = m2;
        t = t2 > t ? t2 : t;
    }
    if (t * cs > Q2_MAX_RT_BYTES)
        return -EFBIG;
    blocks = calloc(m, cs);
    tbuf = calloc(t, cs);
    ret = -ENOMEM;
    if (!blocks || !tbuf)
        goto out;
    for (uint64_t k = 0; k < p + t + m; k++) {
        uint64_t v = k < p ? c->cnt[k] : 1;
        if (v == 0)
            continue;
        if (v > q->rc_max) {
            ret = -ERANGE;
            goto out;
        }
        uint8_t *b = blocks + (k / per) * cs;
        uint64_t i = k % per;
        /* Reuse the engine's packing through a one-block view. */
        switch (q->rc_order) {
        case 0:
        case 1:
        case 2: {
            unsigned bits = 1u << q->rc_order, sh = (unsigned)((i % (8 / bits)) * bits);
            b[i * bits / 8] |= (uint8_t)(v << sh);
            break;
        }
        case 3:
            b[i] = (uint8_t)v;
            break;
        case 4:
            b[2 * i] = (uint8_t)(v >> 8);
            b[2 * i + 1] = (uint8_t)v;
            break;
        case 5:
            q2_put32(b + 4 * i, (uint32_t)v);
            break;
        default:
            q2_put64(b + 8 * i, v);
            break;
        }
    }
    for (uint64_t j = 0; j < m; j++)
        q2_put64(tbuf + 8 * j, (p + t + j) * cs);
    if ((ret = q2_pwrite_meta(q, blocks, m * cs, (p + t) * cs)) < 0 ||
        (ret = q2_pwrite_meta(q, tbuf, t * cs, p * cs)) < 0 ||
        (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    uint8_t h[12];
    q2_put64(h, p * cs);
    q2_put32(h + 8, (uint32_t)t);
    if ((ret = q2_pwrite_meta(q, h, sizeof(h), Q2_H_RT_OFF)) < 0 ||
        (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    uint64_t *nt = calloc(t * cs / 8, 8);
    ret = -ENOMEM;
    if (!nt)
        goto out;
    for (uint64_t j = 0; j < m; j++)
        nt[j] = (p + t + j) * cs;
    free(q->rt);
    q->rt = nt;
    q->rt_size = (uint32_t)(t * cs / 8);
    q->rt_off = p * cs;
    q->rt_clusters = (uint32_t)t;
    q->rt_dirty = false;
    for (unsigned i = 0; i < q->rbc.n; i++) {
        q->rbc.ents[i].off = 0;
        q->rbc.ents[i].dirty = false;
    }
    q->host_end = (p + t + m) * cs;
    q->free_hint = 0;
    q->npending = 0;
    /* The old refcount blocks are free now; conflicts were refused when the image opened. */
    ret = q2_meta_build(q, NULL, 0);
    if (ret == -EUCLEAN)
        ret = 0;
out:
    free(blocks);
    free(tbuf);
    return ret;
}

int q2_rebuild_refcounts(struct qcow2 *q)
{
    struct counter c;
    int ret = q2_flush_locked(q);

    if (ret < 0)
        return ret;
    /* Pending decrements are folded into the recount. */
    q->npending = 0;
    if ((ret = count_refs(q, false, &c)) < 0)
        return ret;
    ret = c.errors ? -EIO : rebuild_from(q, &c);
    free(c.cnt);
    return ret;
}

/* The refcount block of table entry j if the check can read it: a valid offset inside the file
 * (others were reported while counting; their refcounts read as 0). */
static uint64_t usable_block(const struct counter *c, uint64_t j)
{
    const struct qcow2 *q = c->q;
    uint64_t off = j < q->rt_size ? q->rt[j] & ~511ull : 0;

    if (!off || off % q->cluster_size || off >> q->cluster_bits >= c->n ||
        q2_meta_at(q, off, q->cluster_size, Q2_META_RB))
        return 0;
    return off;
}

/* Repair writes into a refcount block only if no one but the `users` table entries that name
 * it claims its cluster: a block that also serves another entry or holds other data would turn
 * one leak into another cluster's too-low refcount. */
static bool block_owned(const struct counter *c, uint64_t off, uint64_t users)
{
    return off && c->cnt[off >> c->q->cluster_bits] == users;
}

struct scan {
    struct counter c;
    struct qcow2_check_result *res;
    enum qcow2_repair repair;
    uint64_t unfixed; /* leaks a leak repair had to leave alone */
};

/* One cluster whose stored refcount `have` differs from the `want` references found. */
static int mismatch(struct scan *s, uint64_t k, uint64_t have, uint64_t want, bool can_fix)
{
    struct qcow2 *q = s->c.q;
    struct qcow2_check_result *res = s->res;

    if (have < want) {
        if (res->corruptions++ < MAX_FINDINGS)
            q2_warn(q, "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64, k, have,
                    want);
        return 0;
    }
    if (res->leaks++ < MAX_FINDINGS)
        q2_warn(q, "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64, k, have,
                want);
    if (s->repair == QCOW2_REPAIR_NONE)
        return 0;
    if (!can_fix) {
        s->unfixed++;
        return 0;
    }
    /* One store, whatever the width: a 64-bit refcount can be 2^64 - 1. */
    int ret = q2_rc_set(q, k, want);
    if (ret == 0)
        res->leaks_fixed++;
    return ret;
}

/* Clusters the file holds (or the metadata references): stored against counted. */
static int scan_image(struct scan *s)
{
    struct qcow2 *q = s->c.q;
    uint64_t blk = 0, have, j_cur = UINT64_MAX;
    int ret;

    for (uint64_t k = 0; k < s->c.n; k++) {
        uint64_t want = s->c.cnt[k];
        if (k >> q->rc_block_bits != j_cur) {
            j_cur = k >> q->rc_block_bits;
            blk = usable_block(&s->c, j_cur);
        }
        have = 0;
        if (blk && (ret = q2_rc_get(q, k, &have)) < 0)
            return ret;
        if (want)
            s->res->allocated++;
        if (have != want && (ret = mismatch(s, k, have, want, block_owned(&s->c, blk, 1))) < 0)
            return ret;
    }
    return 0;
}

/*
 * Refcounts past the end of the file: nothing references those clusters, so every non-zero
 * refcount there is a leak. Blocks named by several table entries are read once; each entry
 * still counts its own leaks.
 */
static int scan_past_end(struct scan *s)
{
    struct qcow2 *q = s->c.q;
    uint64_t bb = q->rc_block_bits, per = 1ull << bb, first = s->c.n >> bb, n = 0;
    uint64_t *whole = malloc(((q->rt_size > first ? q->rt_size - first : 0) + 1) * 16);
    int ret = 0;

    if (!whole)
        return -ENOMEM;
    for (uint64_t j = first; j < q->rt_size && ret == 0; j++) {
        uint64_t blk = usable_block(&s->c, j), have;
        if (!blk)
            continue;
        if (j << bb >= s->c.n) {
            whole[2 * n] = blk;
            whole[2 * n++ + 1] = j;
            continue;
        }
        for (uint64_t k = s->c.n; k < (j + 1) << bb && ret == 0; k++) {
            if ((ret = q2_rc_get(q, k, &have)) == 0 && have)
                ret = mismatch(s, k, have, 0, block_owned(&s->c, blk, 1));
        }
    }
    qsort(whole, n, 16, cmp_u64);
    for (uint64_t a = 0, b; a < n && ret == 0; a = b) {
        for (b = a + 1; b < n && whole[2 * b] == whole[2 * a]; b++)
            ;
        /* Named by b - a entries, all past the end: one store clears a slot for all of them. */
        uint64_t base = whole[2 * a + 1] << bb, nz = 0;
        bool own = block_owned(&s->c, whole[2 * a], b - a);
        for (uint64_t i = 0; i < per && ret == 0; i++) {
            uint64_t have;
            if ((ret = q2_rc_get(q, base + i, &have)) == 0 && have) {
                nz++;
                ret = mismatch(s, base + i, have, 0, own);
            }
        }
        s->res->leaks += nz * (b - a - 1);
        if (s->repair != QCOW2_REPAIR_NONE && own)
            s->res->leaks_fixed += nz * (b - a - 1);
        else if (s->repair != QCOW2_REPAIR_NONE)
            s->unfixed += nz * (b - a - 1);
    }
    free(whole);
    return ret;
}

int qcow2_check(struct qcow2 *q, enum qcow2_repair repair, struct qcow2_check_result *res)
{
    struct scan s = { .res = res, .repair = repair };
    int ret;

    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&q->lock);
    if (repair != QCOW2_REPAIR_NONE && q->readonly) {
        ret = -EROFS;
        goto out;
    }
    if ((ret = q2_flush_locked(q)) < 0 || (ret = count_refs(q, true, &s.c)) < 0)
        goto out;
    res->corruptions = s.c.errors;
    if ((ret = scan_image(&s)) < 0 || (ret = scan_past_end(&s)) < 0)
        goto out_free;
    res->image_end = s.c.n << q->cluster_bits;
    if (repair == QCOW2_REPAIR_ALL && (res->corruptions || res->leaks > res->leaks_fixed)) {
        free(s.c.cnt);
        s.c.cnt = NULL;
        ret = q2_rebuild_refcounts(q);
        if (ret == 0) {
            res->corruptions_fixed = res->corruptions;
            res->leaks_fixed = res->leaks;
        }
    } else if (res->leaks_fixed) {
        ret = q2_flush_locked(q);
    }
    if (ret == 0 && repair == QCOW2_REPAIR_LEAKS && s.unfixed)
        ret = -EUCLEAN;
out_free:
    free(s.c.cnt);
out:
    pthread_mutex_unlock(&q->lock);
    return ret;
}
