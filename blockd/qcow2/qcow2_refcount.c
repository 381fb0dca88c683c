/*
 * Refcounts: sub-byte to 64-bit entries, the cluster allocator and refcount table growth.
 * Invariant that keeps crashes leak-only: a refcount block may be written at any time, because
 * between flushes it only ever gains increments (decrements of referenced clusters wait in
 * q->pending until the L2/L1 writes that dropped the reference are on disk).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_priv.h"

static uint64_t rb_get(const uint8_t *b, uint32_t order, uint64_t i)
{
    switch (order) {
    case 0:
        return (b[i / 8] >> (i % 8)) & 1;
    case 1:
        return (b[i / 4] >> (2 * (i % 4))) & 3;
    case 2:
        return (b[i / 2] >> (4 * (i % 2))) & 15;
    case 3:
        return b[i];
    case 4:
        return q2_be16(b + 2 * i);
    case 5:
        return q2_be32(b + 4 * i);
    default:
        return q2_be64(b + 8 * i);
    }
}

static void rb_set(uint8_t *b, uint32_t order, uint64_t i, uint64_t v)
{
    unsigned shift, bits;

    switch (order) {
    case 0:
    case 1:
    case 2:
        bits = 1u << order;
        shift = (unsigned)((i % (8 / bits)) * bits);
        b[i * bits / 8] =
            (uint8_t)((b[i * bits / 8] & ~(((1u << bits) - 1) << shift)) | (v << shift));
        break;
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

/* Loads a refcount block; fresh ones start zeroed and dirty. Returned pointer is valid until
 * the next cache call. */
static int rb_load(struct qcow2 *q, uint64_t off, bool fresh, struct q2_cache_ent **out)
{
    struct q2_cache_ent *e = q2_cache_find(&q->rbc, off);
    int ret;

    if (!e) {
        e = q2_cache_victim(&q->rbc);
        if (e->off && e->dirty) {
            ret = q2_pwrite_meta(q, e->data, q->cluster_size, e->off);
            if (ret < 0)
                return ret;
        }
        e->off = 0;
        e->dirty = false;
        if (fresh) {
            memset(e->data, 0, q->cluster_size);
            e->dirty = true;
        } else {
            /* Refcount updates are written back here: never into another table. */
            if (q2_meta_at(q, off, q->cluster_size, Q2_META_RB))
                return q2_mark_corrupt(q, "a refcount block overlaps other metadata");
            ret = q2_pread_meta(q, e->data, q->cluster_size, off);
            if (ret < 0)
                return ret;
        }
        e->off = off;
    }
    q2_cache_touch(&q->rbc, e);
    *out = e;
    return 0;
}

static int rb_of(struct qcow2 *q, uint64_t cluster, uint64_t *rb_off)
{
    uint64_t j = cluster >> q->rc_block_bits;

    *rb_off = 0;
    if (j >= q->rt_size)
        return 0;
    uint64_t off = q->rt[j] & ~511ull;
    if ((off & (q->cluster_size - 1)) || off >= Q2_MAX_HOST_OFF)
        return q2_mark_corrupt(q, "misaligned refcount block");
    *rb_off = off;
    return 0;
}

int q2_rc_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
    struct q2_cache_ent *e;
    uint64_t off;
    int ret = rb_of(q, cluster, &off);

    *rc = 0;
    if (ret < 0 || off == 0)
        return ret;
    ret = rb_load(q, off, false, &e);
    if (ret < 0)
        return ret;
    *rc = rb_get(e->data, q->rc_order, cluster & ((1ull << q->rc_block_bits) - 1));
    return 0;
}

int q2_rc_add(struct qcow2 *q, uint64_t cluster, int delta)
{
    struct q2_cache_ent *e;
    uint64_t off;
    int ret = rb_of(q, cluster, &off);

    if (ret < 0)
        return ret;
    if (off == 0)
        return q2_mark_corrupt(q, "refcount update for a cluster without a refcount block");
    ret = rb_load(q, off, false, &e);
    if (ret < 0)
        return ret;
    uint64_t i = cluster & ((1ull << q->rc_block_bits) - 1);
    uint64_t v = rb_get(e->data, q->rc_order, i);
    if (delta < 0 && v < (uint64_t)-delta)
        return q2_mark_corrupt(q, "refcount underflow");
    if (delta > 0 && v > q->rc_max - (uint64_t)delta)
        return -ERANGE; /* refcount overflow: refuse the operation */
    rb_set(e->data, q->rc_order, i, v + (uint64_t)(int64_t)delta);
    e->dirty = true;
    return 0;
}

int q2_rc_set(struct qcow2 *q, uint64_t cluster, uint64_t v)
{
    struct q2_cache_ent *e;
    uint64_t off;
    int ret = rb_of(q, cluster, &off);

    if (ret < 0)
        return ret;
    if (v > q->rc_max)
        return -ERANGE;
    if (off == 0)
        return v ? q2_mark_corrupt(q, "refcount update for a cluster without a refcount block") : 0;
    ret = rb_load(q, off, false, &e);
    if (ret < 0)
        return ret;
    rb_set(e->data, q->rc_order, cluster & ((1ull << q->rc_block_bits) - 1), v);
    e->dirty = true;
    return 0;
}

/* Metadata never counts as free, whatever its (wrong) refcount says. */
static bool fixed_meta(const struct qcow2 *q, uint64_t c)
{
    return q2_meta_at(q, c << q->cluster_bits, q->cluster_size, 0) != NULL;
}

int q2_rt_write(struct qcow2 *q)
{
    uint64_t bytes = (uint64_t)q->rt_clusters * q->cluster_size;
    uint8_t *buf = calloc(1, bytes);
    int ret;

    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < q->rt_size; i++)
        q2_put64(buf + 8 * (uint64_t)i, q->rt[i]);
    ret = q2_pwrite_meta(q, buf, bytes, q->rt_off);
    free(buf);
    if (ret == 0)
        q->rt_dirty = false;
    return ret;
}

int q2_rc_write_dirty(struct qcow2 *q)
{
    for (unsigned i = 0; i < q->rbc.n; i++) {
        struct q2_cache_ent *e = &q->rbc.ents[i];
        if (!e->off || !e->dirty)
            continue;
        int ret = q2_pwrite_meta(q, e->data, q->cluster_size, e->off);
        if (ret < 0)
            return ret;
        e->dirty = false;
    }
    return 0;
}

static bool rb_missing(const struct qcow2 *q, uint64_t j)
{
    return j >= q->rt_size || q->rt[j] == 0;
}

/*
 * Moves the refcount table to the end of the file, large enough for block index need_j. The
 * new table and the blocks it needs for itself are written and flushed before the header
 * switches to it; the old table is freed at the next flush.
 */
static int grow_reftable(struct qcow2 *q, uint64_t need_j)
{
    uint64_t cs = q->cluster_size, bb = q->rc_block_bits;
    uint64_t p = q->host_end >> q->cluster_bits, t, m = 0, entries;
    uint8_t *blocks = NULL, *tbuf = NULL;
    uint64_t *nt = NULL;
    int ret;

    ret = q2_flush_locked(q);
    if (ret < 0)
        return ret;
    entries = need_j + 1 > q->rt_size + q->rt_size / 2 ? need_j + 1 : q->rt_size + q->rt_size / 2;
    t = q2_round_up(entries * 8, cs) / cs;
    for (unsigned iter = 0;; iter++) {
        if (iter > 64 || t * cs > Q2_MAX_RT_BYTES)
            return -EFBIG;
        entries = t * cs / 8;
        uint64_t first = p >> bb, last = (p + t + m - 1) >> bb, cnt = 0;
        if (last >= entries) {
            t++;
            continue;
        }
        for (uint64_t j = first; j <= last; j++)
            cnt += rb_missing(q, j);
        if (cnt == m)
            break;
        m = cnt;
    }
    /* The new table and blocks go past the end of the image, bypassing the allocator: a stale
     * entry that names a cluster there must not get a table written over it. */
    if (q2_meta_at(q, p * cs, (t + m) * cs, 0))
        return q2_mark_corrupt(q, "a table entry names a cluster past the end of the image");
    nt = calloc(entries, 8);
    blocks = calloc(m ? m : 1, cs);
    tbuf = calloc(t, cs);
    ret = -ENOMEM;
    if (!nt || !blocks || !tbuf)
        goto out;
    memcpy(nt, q->rt, (size_t)q->rt_size * 8);
    uint64_t k = 0;
    for (uint64_t j = p >> bb; j <= (p + t + m - 1) >> bb; j++) {
        if (rb_missing(q, j))
            nt[j] = (p + t + k++) << q->cluster_bits;
    }
    for (uint64_t c = p; c < p + t + m; c++) {
        uint64_t j = c >> bb;
        if (rb_missing(q, j)) {
            uint64_t blk = (nt[j] >> q->cluster_bits) - (p + t);
            uint8_t *b = blocks + blk * cs;
            uint64_t i = c & ((1ull << bb) - 1);
            rb_set(b, q->rc_order, i, rb_get(b, q->rc_order, i) + 1);
        } else {
            ret = q2_rc_add(q, c, 1);
            if (ret < 0)
                goto out;
        }
    }
    if (m && (ret = q2_pwrite_meta(q, blocks, m * cs, (p + t) * cs)) < 0)
        goto out;
    if ((ret = q2_rc_write_dirty(q)) < 0 || (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    for (uint64_t i = 0; i < entries; i++)
        q2_put64(tbuf + 8 * i, nt[i]);
    if ((ret = q2_pwrite_meta(q, tbuf, t * cs, p * cs)) < 0 ||
        (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    uint8_t h[12];
    q2_put64(h, p * cs);
    q2_put32(h + 8, (uint32_t)t);
    if ((ret = q2_pwrite_meta(q, h, sizeof(h), Q2_H_RT_OFF)) < 0 ||
        (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    uint64_t old_off = q->rt_off, old_bytes = (uint64_t)q->rt_clusters * cs;
    free(q->rt);
    q->rt = nt;
    nt = NULL;
    q->rt_size = (uint32_t)entries;
    q->rt_off = p * cs;
    q->rt_clusters = (uint32_t)t;
    q->host_end = (p + t + m) * cs;
    for (uint64_t i = 0; i < m && ret == 0; i++)
        ret = q2_meta_add(q, (p + t + i) * cs, Q2_META_RB);
    if (ret == 0)
        ret = q2_free_later(q, old_off, old_bytes);
out:
    free(nt);
    free(blocks);
    free(tbuf);
    return ret;
}

int q2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *host_off)
{
    uint64_t limit = Q2_MAX_HOST_OFF >> q->cluster_bits;
    uint64_t c = q->free_hint, start = 0, run = 0, hint = q->free_hint, first_free = UINT64_MAX;
    struct q2_cache_ent *e;
    int ret;

    if (n == 0 || n > limit)
        return -EINVAL;
    while (run < n) {
        if (c >= limit)
            return -ENOSPC;
        uint64_t j = c >> q->rc_block_bits;
        if (j >= q->rt_size) {
            ret = grow_reftable(q, j);
            if (ret < 0)
                return ret;
            run = 0;
            c = hint;
            first_free = UINT64_MAX; /* the new table may have taken clusters after hint */
            continue;
        }
        if (q->rt[j] == 0) {
            /* No block covers c yet, so c is free: the new block describes itself there. */
            if (fixed_meta(q, c))
                return q2_mark_corrupt(q, "refcount table leaves metadata uncounted");
            ret = rb_load(q, c << q->cluster_bits, true, &e);
            if (ret < 0)
                return ret;
            rb_set(e->data, q->rc_order, c & ((1ull << q->rc_block_bits) - 1), 1);
            if ((ret = q2_meta_add(q, c << q->cluster_bits, Q2_META_RB)) < 0)
                return ret;
            q->rt[j] = c << q->cluster_bits;
            q->rt_dirty = true;
            if (q->host_end < (c + 1) << q->cluster_bits)
                q->host_end = (c + 1) << q->cluster_bits;
            run = 0;
            c++;
            continue;
        }
        uint64_t rc;
        ret = q2_rc_get(q, c, &rc);
        if (ret < 0)
            return ret;
        if (rc == 0 && fixed_meta(q, c))
            return q2_mark_corrupt(q, "metadata cluster has refcount 0");
        if (rc == 0) {
            if (first_free == UINT64_MAX)
                first_free = c;
            if (run++ == 0)
                start = c;
        } else {
            run = 0;
        }
        c++;
    }
    for (uint64_t i = 0; i < n; i++) {
        ret = q2_rc_add(q, start + i, 1);
        if (ret < 0)
            return ret;
    }
    /* Everything from the hint up to the first free cluster seen is in use (a new refcount
     * block placed itself there too): the next search starts after this run if it began at
     * that first free cluster, else at the free clusters this run was too long for. Before,
     * the hint moved only when the run began exactly at it, so once a refcount block or a
     * table landed there every allocation scanned all the clusters from it again. */
    q->free_hint = first_free == start ? start + n : first_free;
    if (q->host_end < (start + n) << q->cluster_bits)
        q->host_end = (start + n) << q->cluster_bits;
    *host_off = start << q->cluster_bits;
    return 0;
}

int q2_free_later(struct qcow2 *q, uint64_t host_off, uint64_t bytes)
{
    uint64_t first = host_off >> q->cluster_bits;
    uint64_t last = (host_off + bytes - 1) >> q->cluster_bits;

    if (bytes == 0)
        return 0;
    for (uint64_t c = first; c <= last; c++) {
        if (q->npending == q->cappending) {
            size_t cap = q->cappending ? q->cappending * 2 : 64;
            uint64_t *p = realloc(q->pending, cap * sizeof(*p));
            if (!p)
                return -ENOMEM;
            q->pending = p;
            q->cappending = cap;
        }
        q->pending[q->npending++] = c;
    }
    return 0;
}

/* Runs after the L2/L1 writes that dropped the references are flushed. */
int q2_apply_pending(struct qcow2 *q)
{
    int ret = 0;

    for (size_t i = 0; i < q->npending && ret == 0; i++)
        ret = q2_rc_add(q, q->pending[i], -1);
    if (ret == 0)
        ret = q2_rc_write_dirty(q);
    if (ret == 0)
        ret = q->file->ops->flush(q->file);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < q->npending; i++) {
        uint64_t c = q->pending[i], rc = 1;
        if (c < q->free_hint)
            q->free_hint = c;
        if (q->opts.sparse && q2_rc_get(q, c, &rc) == 0 && rc == 0 && q->file->ops->punch)
            q->file->ops->punch(q->file, c << q->cluster_bits, q->cluster_size);
    }
    q->npending = 0;
    return 0;
}
