/* L1/L2 mapping, L1 growth and the ordered metadata write-back (flush). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_priv.h"

int q2_pread_meta(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
    ssize_t n = q->file->ops->pread(q->file, buf, len, off);

    if (n < 0)
        return (int)n;
    return (size_t)n == len ? 0 : -EIO;
}

int q2_pwrite_meta(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
    if (off >= Q2_MAX_HOST_OFF || len > Q2_MAX_HOST_OFF - off)
        return -EIO;
    ssize_t n = q->file->ops->pwrite(q->file, buf, len, off);
    if (n < 0)
        return (int)n;
    return (size_t)n == len ? 0 : -EIO;
}

static bool any_dirty(const struct q2_cache *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->ents[i].off && c->ents[i].dirty)
            return true;
    }
    return false;
}

static int l1_write(struct qcow2 *q)
{
    size_t bytes = (size_t)q->l1_size * 8;
    uint8_t *buf = malloc(bytes ? bytes : 1);
    int ret;

    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < q->l1_size; i++)
        q2_put64(buf + 8 * (size_t)i, q->l1[i]);
    ret = bytes ? q2_pwrite_meta(q, buf, bytes, q->l1_off) : 0;
    free(buf);
    if (ret == 0)
        q->l1_dirty = false;
    return ret;
}

/*
 * Data, then refcount blocks, then the refcount table, then L2 tables, then L1, each step
 * flushed before the next, then the deferred decrements: every state a crash can leave
 * references only clusters whose refcount is already on disk.
 */
int q2_flush_locked(struct qcow2 *q)
{
    struct qcow2_file *f = q->file;
    int ret;

    if (q->readonly)
        return 0;
    if ((ret = f->ops->flush(f)) < 0)
        return ret;
    if (any_dirty(&q->rbc)) {
        if ((ret = q2_rc_write_dirty(q)) < 0 || (ret = f->ops->flush(f)) < 0)
            return ret;
    }
    if (q->rt_dirty) {
        if ((ret = q2_rt_write(q)) < 0 || (ret = f->ops->flush(f)) < 0)
            return ret;
    }
    if (any_dirty(&q->l2c)) {
        for (unsigned i = 0; i < q->l2c.n; i++) {
            struct q2_cache_ent *e = &q->l2c.ents[i];
            if (!e->off || !e->dirty)
                continue;
            if ((ret = q2_pwrite_meta(q, e->data, q->cluster_size, e->off)) < 0)
                return ret;
            e->dirty = false;
        }
        if ((ret = f->ops->flush(f)) < 0)
            return ret;
    }
    if (q->l1_dirty) {
        if ((ret = l1_write(q)) < 0 || (ret = f->ops->flush(f)) < 0)
            return ret;
    }
    if (q->npending)
        return q2_apply_pending(q);
    return 0;
}

static int l2_slot(struct qcow2 *q, uint64_t off, bool fresh, struct q2_cache_ent **out)
{
    struct q2_cache_ent *e = q2_cache_find(&q->l2c, off);
    int ret;

    if (!e) {
        e = q2_cache_victim(&q->l2c);
        if (e->off && e->dirty) {
            /* A dirty L2 table may reference clusters counted only in memory. */
            ret = q2_flush_locked(q);
            if (ret < 0)
                return ret;
        }
        e->off = 0;
        e->dirty = false;
        if (fresh) {
            memset(e->data, 0, q->cluster_size);
            e->dirty = true;
        } else {
            /* Entries are written back here: never into another kind of table. */
            if (q2_meta_at(q, off, q->cluster_size, Q2_META_L2))
                return q2_mark_corrupt(q, "an L2 table overlaps other metadata");
            ret = q2_pread_meta(q, e->data, q->cluster_size, off);
            if (ret < 0)
                return ret == -EIO ? q2_mark_corrupt(q, "L2 table past the end of the file") : ret;
        }
        e->off = off;
    }
    q2_cache_touch(&q->l2c, e);
    *out = e;
    return 0;
}

/* Finds (and with alloc, creates or unshares) the L2 table of guest cluster gc. */
static int l2_table(struct qcow2 *q, uint64_t gc, bool alloc, struct q2_cache_ent **out)
{
    uint64_t idx = gc >> q->l2_bits, newoff, rc;
    struct q2_cache_ent *e;
    int ret;

    *out = NULL;
    if (idx >= q->l1_size)
        return alloc ? -EIO : 0;
    uint64_t ent = q->l1[idx], off = ent & Q2_OFF_MASK;
    if (off == 0) {
        if (!alloc)
            return 0;
        if ((ret = q2_alloc_clusters(q, 1, &newoff)) < 0 ||
            (ret = q2_meta_add(q, newoff, Q2_META_L2)) < 0)
            return ret;
        if ((ret = l2_slot(q, newoff, true, &e)) < 0)
            return ret;
        q->l1[idx] = newoff | Q2_OFLAG_COPIED;
        q->l1_dirty = true;
        *out = e;
        return 0;
    }
    if ((off & (q->cluster_size - 1)) || (ent & Q2_L1_RESERVED) || off >= q->host_end)
        return q2_mark_corrupt(q, "invalid L2 table offset in the L1 table");
    if ((ret = l2_slot(q, off, false, &e)) < 0)
        return ret;
    if (alloc && !(ent & Q2_OFLAG_COPIED)) {
        if ((ret = q2_rc_get(q, off >> q->cluster_bits, &rc)) < 0)
            return ret;
        if (rc != 1) {
            /* Shared table: copy it, point L1 at the copy, release ours at the next flush. */
            uint8_t *copy = malloc(q->cluster_size);
            if (!copy)
                return -ENOMEM;
            memcpy(copy, e->data, q->cluster_size);
            ret = q2_alloc_clusters(q, 1, &newoff);
            if (ret == 0)
                ret = q2_meta_add(q, newoff, Q2_META_L2);
            if (ret == 0)
                ret = l2_slot(q, newoff, true, &e);
            if (ret == 0)
                memcpy(e->data, copy, q->cluster_size);
            free(copy);
            if (ret == 0)
                ret = q2_free_later(q, off, q->cluster_size);
            if (ret < 0)
                return ret;
            off = newoff;
        }
        q->l1[idx] = off | Q2_OFLAG_COPIED;
        q->l1_dirty = true;
    }
    *out = e;
    return 0;
}

int q2_l2_get(struct qcow2 *q, uint64_t gc, uint64_t *entry)
{
    struct q2_cache_ent *e;
    int ret = l2_table(q, gc, false, &e);

    *entry = 0;
    if (ret < 0 || !e)
        return ret;
    *entry = q2_be64(e->data + 8 * (gc & ((1ull << q->l2_bits) - 1)));
    return 0;
}

int q2_l2_set(struct qcow2 *q, uint64_t gc, uint64_t entry)
{
    struct q2_cache_ent *e;
    int ret = l2_table(q, gc, true, &e);

    if (ret < 0)
        return ret;
    q2_put64(e->data + 8 * (gc & ((1ull << q->l2_bits) - 1)), entry);
    e->dirty = true;
    return 0;
}

/* Moves L1 to new clusters sized for `entries`; flushed and switched in the header. */
int q2_grow_l1(struct qcow2 *q, uint32_t entries)
{
    uint64_t cs = q->cluster_size, bytes = (uint64_t)entries * 8, off;
    uint64_t *nl1 = NULL;
    uint8_t *buf = NULL;
    int ret;

    if (entries <= q->l1_size)
        return 0;
    if (bytes > Q2_MAX_L1_BYTES)
        return -EFBIG;
    uint64_t clusters = q2_round_up(bytes, cs) / cs;
    if ((ret = q2_alloc_clusters(q, clusters, &off)) < 0)
        return ret;
    if ((ret = q2_flush_locked(q)) < 0)
        return ret;
    nl1 = calloc(entries, 8);
    buf = calloc(clusters, cs);
    ret = -ENOMEM;
    if (!nl1 || !buf)
        goto out;
    memcpy(nl1, q->l1, (size_t)q->l1_size * 8);
    for (uint32_t i = 0; i < entries; i++)
        q2_put64(buf + 8 * (uint64_t)i, nl1[i]);
    if ((ret = q2_pwrite_meta(q, buf, clusters * cs, off)) < 0 ||
        (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    uint8_t h[12];
    q2_put32(h, entries);
    q2_put64(h + 4, off);
    if ((ret = q2_pwrite_meta(q, h, sizeof(h), Q2_H_L1_SIZE)) < 0 ||
        (ret = q->file->ops->flush(q->file)) < 0)
        goto out;
    uint64_t old = q->l1_off, old_bytes = q2_round_up((uint64_t)q->l1_size * 8, cs);
    free(q->l1);
    q->l1 = nl1;
    nl1 = NULL;
    q->l1_size = entries;
    q->l1_off = off;
    ret = old ? q2_free_later(q, old, old_bytes) : 0;
out:
    free(nl1);
    free(buf);
    return ret;
}
