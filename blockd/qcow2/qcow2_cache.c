/* Fixed-size table cache for L2 tables and refcount blocks; write-back is the caller's. */
#include <errno.h>
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
