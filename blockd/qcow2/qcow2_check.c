/* Reference counting from scratch: image check, leak repair and the refcount rebuild that a
 * dirty (lazy_refcounts or crashed) image gets on open. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_check.h"
#include "blockd/qcow2/qcow2_priv.h"

#define MAX_CLUSTERS (1ull << 28) /* counting array bound: 1 GiB of uint32 */
#define MAX_FINDINGS 20

struct counter {
    struct qcow2 *q;
    uint32_t *cnt;
    uint64_t n;
    uint64_t errors;
};

static void add(struct counter *c, uint64_t off, uint64_t len, const char *what)
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
        if (c->cnt[k] != UINT32_MAX)
            c->cnt[k]++;
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

static int count_l2(struct counter *c, uint64_t l1_idx)
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
            add(c, off, len, "compressed cluster");
        } else if ((e & Q2_OFF_MASK) && !bad_off(c, e, reserved, "L2")) {
            add(c, e & Q2_OFF_MASK, q->cluster_size, "data cluster");
        }
    }
    return 0;
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
    add(c, 0, q->cluster_size, "header");
    add(c, q->l1_off, (uint64_t)q->l1_size * 8, "L1 table");
    if (meta) {
        add(c, q->rt_off, (uint64_t)q->rt_clusters * q->cluster_size, "refcount table");
        for (uint32_t j = 0; j < q->rt_size; j++) {
            if (q->rt[j] && !bad_off(c, q->rt[j], 511, "refcount table"))
                add(c, q->rt[j] & ~511ull, q->cluster_size, "refcount block");
        }
    }
    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t e = q->l1[i];
        if (!(e & Q2_OFF_MASK) || bad_off(c, e, Q2_L1_RESERVED, "L1"))
            continue;
        add(c, e & Q2_OFF_MASK, q->cluster_size, "L2 table");
        if ((e & Q2_OFF_MASK) >= end)
            continue;
        if ((ret = count_l2(c, i)) < 0) {
            free(c->cnt);
            return ret;
        }
    }
    return 0;
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

int qcow2_check(struct qcow2 *q, enum qcow2_repair repair, struct qcow2_check_result *res)
{
    struct counter c;
    int ret;

    memset(res, 0, sizeof(*res));
    pthread_mutex_lock(&q->lock);
    if (repair != QCOW2_REPAIR_NONE && q->readonly) {
        ret = -EROFS;
        goto out;
    }
    if ((ret = q2_flush_locked(q)) < 0 || (ret = count_refs(q, true, &c)) < 0)
        goto out;
    res->corruptions = c.errors;
    uint64_t limit = (uint64_t)q->rt_size << q->rc_block_bits;
    for (uint64_t k = 0; k < limit; k++) {
        uint64_t want = k < c.n ? c.cnt[k] : 0, have;
        if (k >= c.n && (k & ((1ull << q->rc_block_bits) - 1)) == 0 &&
            q->rt[k >> q->rc_block_bits] == 0) {
            k += (1ull << q->rc_block_bits) - 1; /* no block: all zero */
            continue;
        }
        if ((ret = q2_rc_get(q, k, &have)) < 0)
            goto out_free;
        if (want)
            res->allocated++;
        if (have == want)
            continue;
        if (have > want) {
            res->leaks++;
            if (res->leaks <= MAX_FINDINGS)
                q2_warn(q, "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64, k,
                        have, want);
            if (repair != QCOW2_REPAIR_NONE) {
                for (uint64_t extra = have - want; extra && ret == 0; extra--)
                    ret = q2_rc_add(q, k, -1);
                if (ret < 0)
                    goto out_free;
                res->leaks_fixed++;
            }
        } else {
            res->corruptions++;
            if (res->corruptions <= MAX_FINDINGS)
                q2_warn(q, "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64, k,
                        have, want);
        }
    }
    res->image_end = c.n << q->cluster_bits;
    if (repair == QCOW2_REPAIR_ALL && (res->corruptions || res->leaks > res->leaks_fixed)) {
        free(c.cnt);
        c.cnt = NULL;
        ret = q2_rebuild_refcounts(q);
        if (ret == 0) {
            res->corruptions_fixed = res->corruptions;
            res->leaks_fixed = res->leaks;
        }
    } else if (res->leaks_fixed) {
        ret = q2_flush_locked(q);
    }
out_free:
    free(c.cnt);
out:
    pthread_mutex_unlock(&q->lock);
    return ret;
}
