/* Fixed-size table cache for L2 tables and refcount blocks (write-back is the caller's), and
 * the index of where those tables live. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "blockd/qcow2/qcow2_priv.h"

int q2_cache_init(struct q2_cache *c, unsigned n, uint64_t table_size)
{
    c->ents = calloc(n, sizeof(*c->ents));
    if (!c->ents)
        return -ENOMEM;
    c->n = n;
    for (unsigned i = 0; i < n; i++) {
        c->ents[i].data = malloc(table_size);
        if (!c->ents[i].data) {
            q2_cache_free(c);
            return -ENOMEM;
        }
    }
    return 0;
}

void q2_cache_free(struct q2_cache *c)
{
    for (unsigned i = 0; c->ents && i < c->n; i++)
        free(c->ents[i].data);
    free(c->ents);
    c->ents = NULL;
    c->n = 0;
}

struct q2_cache_ent *q2_cache_find(struct q2_cache *c, uint64_t off)
{
    if (c->n && c->ents[c->last].off == off)
        return &c->ents[c->last];
    for (unsigned i = 0; i < c->n; i++) {
        if (c->ents[i].off == off) {
            c->last = i;
            return &c->ents[i];
        }
    }
    return NULL;
}

struct q2_cache_ent *q2_cache_victim(struct q2_cache *c)
{
    struct q2_cache_ent *v = &c->ents[0];

    for (unsigned i = 0; i < c->n; i++) {
        struct q2_cache_ent *e = &c->ents[i];
        if (e->off == 0)
            return e;
        if (e->used < v->used)
            v = e;
    }
    return v;
}

void q2_cache_touch(struct q2_cache *c, struct q2_cache_ent *e)
{
    e->used = ++c->tick;
    c->last = (unsigned)(e - c->ents);
}

/*
 * Where the image keeps its own metadata, so that no guest-data mapping, table entry or
 * allocation lands on it (the overlap checks QEMU makes before its writes). The header, the L1
 * table, the refcount table and the snapshot table's first cluster are ranges from the header;
 * L2 tables and refcount blocks go in a hash set keyed by cluster, built from the L1 and
 * refcount tables at open and extended whenever the engine creates one. Entries are never
 * removed one by one: the engine frees an L2 table or a refcount block only when it rebuilds
 * the refcount structure, and then rebuilds the set too.
 */

static size_t slot_of(const struct q2_meta *m, uint64_t cluster)
{
    uint64_t h = cluster * 0x9e3779b97f4a7c15ull;

    return (size_t)(h ^ (h >> 29)) & (m->cap - 1);
}

static void put_slot(struct q2_meta *m, uint64_t v)
{
    size_t i = slot_of(m, v >> 2);

    while (m->slots[i] && m->slots[i] >> 2 != v >> 2)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i])
        m->used++;
    m->slots[i] |= v;
}

static int grow(struct q2_meta *m)
{
    struct q2_meta n = { .cap = m->cap ? m->cap * 2 : 64 };

    n.slots = calloc(n.cap, sizeof(*n.slots));
    if (!n.slots)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i])
            put_slot(&n, m->slots[i]);
    }
    free(m->slots);
    *m = n;
    return 0;
}

void q2_meta_free(struct q2_meta *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}

int q2_meta_add(struct qcow2 *q, uint64_t host_off, unsigned kind)
{
    struct q2_meta *m = &q->meta;
    int ret;

    /* Three quarters full at most, so every probe ends at an empty slot soon. */
    if ((m->used + 1) * 4 > m->cap * 3 && (ret = grow(m)) < 0)
        return ret;
    put_slot(m, (host_off >> q->cluster_bits) << 2 | kind);
    return 0;
}

static unsigned kinds_at(const struct q2_meta *m, uint64_t cluster)
{
    if (!m->cap)
        return 0;
    for (size_t i = slot_of(m, cluster); m->slots[i]; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i] >> 2 == cluster)
            return (unsigned)(m->slots[i] & 3);
    }
    return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

const char *q2_meta_at(const struct qcow2 *q, uint64_t off, uint64_t len, unsigned ignore)
{
    uint64_t cs = q->cluster_size;

    if (len == 0)
        return NULL;
    /* Whole clusters: the tail of a table's last cluster is still the table's. */
    if (off < cs)
        return "the header";
    if (overlaps(off, len, q->l1_off, q2_round_up((uint64_t)q->l1_size * 8, cs)))
        return "the L1 table";
    if (overlaps(off, len, q->rt_off, (uint64_t)q->rt_clusters * cs))
        return "the refcount table";
    if (q->nb_snapshots && overlaps(off, len, q->snapshots_off, cs))
        return "the snapshot table";
    for (uint64_t c = off >> q->cluster_bits; c <= (off + len - 1) >> q->cluster_bits; c++) {
        unsigned k = kinds_at(&q->meta, c) & ~ignore;
        if (k & Q2_META_L2)
            return "an L2 table";
        if (k & Q2_META_RB)
            return "a refcount block";
    }
    return NULL;
}

/* A table entry's cluster, or 0 if it names none (misaligned ones are refused where used).
 * Entries past the end of the file count too: the file may grow over them, and the allocator
 * must then not hand those clusters out as data. */
static uint64_t entry_cluster(const struct qcow2 *q, uint64_t off)
{
    return off && off % q->cluster_size == 0 && off < Q2_MAX_HOST_OFF ? off : 0;
}

int q2_meta_build(struct qcow2 *q, char *why, size_t whylen)
{
    const char *what;
    uint64_t off;
    int ret = 0;

    q2_meta_free(&q->meta);
    for (uint32_t j = 0; j < q->rt_size && ret == 0; j++) {
        if ((off = entry_cluster(q, q->rt[j] & ~511ull)))
            ret = q2_meta_add(q, off, Q2_META_RB);
    }
    for (uint32_t i = 0; i < q->l1_size && ret == 0; i++) {
        if ((off = entry_cluster(q, q->l1[i] & Q2_OFF_MASK)))
            ret = q2_meta_add(q, off, Q2_META_L2);
    }
    if (ret < 0)
        return ret;
    /* Shared L2 tables are legal (a copy is made on write); one cluster in two roles is not. */
    for (uint32_t j = 0; j < q->rt_size; j++) {
        off = entry_cluster(q, q->rt[j] & ~511ull);
        if (off && (what = q2_meta_at(q, off, q->cluster_size, Q2_META_RB))) {
            snprintf(why, whylen, "refcount table entry %" PRIu32 " puts a refcount block on %s", j,
                     what);
            return -EUCLEAN;
        }
    }
    for (uint32_t i = 0; i < q->l1_size; i++) {
        off = entry_cluster(q, q->l1[i] & Q2_OFF_MASK);
        if (off && (what = q2_meta_at(q, off, q->cluster_size, Q2_META_L2))) {
            snprintf(why, whylen, "L1 entry %" PRIu32 " puts an L2 table on %s", i, what);
            return -EUCLEAN;
        }
    }
    return 0;
}
