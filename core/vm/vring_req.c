#include "core/vm/vring_req.h"
#include "core/vm/vm_dirty.h"

#include <errno.h>
#include <string.h>

#define DESC_F_NEXT     1
#define DESC_F_WRITE    2
#define DESC_F_INDIRECT 4
#define DESC_SIZE       16
#define INDIRECT_MAX    65536u /* entries of one indirect table */

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct chain {
    uint8_t in[VRING_REQ_MAX];
    size_t nin;
    uint64_t out_gpa;
    uint32_t out_len;
    bool has_out;
};

static int load16(const struct guest_mem *m, uint64_t gpa, uint16_t *v)
{
    const void *p = guest_mem_ptr(m, gpa, 2);

    if (!p)
        return -EFAULT;
    memcpy(v, p, 2);
    return 0;
}

static int store16(const struct guest_mem *m, uint64_t gpa, uint16_t v)
{
    void *p = guest_mem_ptr(m, gpa, 2);

    if (!p)
        return -EFAULT;
    memcpy(p, &v, 2);
    vm_dirty_mark(m, gpa, 2);
    return 0;
}

static int read_desc(const struct guest_mem *m, uint64_t table, uint32_t n, uint32_t i,
                     struct desc *d)
{
    const uint8_t *p;

    if (i >= n)
        return -EFAULT;
    p = guest_mem_ptr(m, table + (uint64_t)DESC_SIZE * i, DESC_SIZE);
    if (!p)
        return -EFAULT;
    memcpy(&d->addr, p, 8);
    memcpy(&d->len, p + 8, 4);
    memcpy(&d->flags, p + 12, 2);
    memcpy(&d->next, p + 14, 2);
    return 0;
}

/* Readable bytes are gathered (up to VRING_REQ_MAX); the first writable descriptor is kept. */
static int take(const struct guest_mem *m, struct chain *c, const struct desc *d)
{
    size_t room = sizeof(c->in) - c->nin, n = d->len < room ? d->len : room;
    const void *p;

    if (d->flags & DESC_F_WRITE) {
        if (!c->has_out) {
            c->out_gpa = d->addr;
            c->out_len = d->len;
            c->has_out = true;
        }
        return 0;
    }
    if (c->has_out)
        return -EFAULT; /* readable after writable: a malformed chain (2.7.4.2) */
    if (!n)
        return 0;
    p = guest_mem_ptr(m, d->addr, n);
    if (!p)
        return -EFAULT;
    memcpy(c->in + c->nin, p, n);
    c->nin += n;
    return 0;
}

/* One chain, with at most one indirect table, every step bounded by its table's size. */
static int walk(const struct guest_mem *m, const struct vring_req_ring *r, uint16_t head,
                struct chain *c)
{
    uint64_t table = r->desc;
    uint32_t n = r->size, budget = r->size, i = head;
    bool indirect = false;
    struct desc d;

    for (;;) {
        int e;

        if (!budget--)
            return -EFAULT; /* a loop */
        e = read_desc(m, table, n, i, &d);
        if (e)
            return e;
        if (d.flags & DESC_F_INDIRECT) {
            if (indirect || !d.len || d.len % DESC_SIZE || d.len / DESC_SIZE > INDIRECT_MAX)
                return -EFAULT;
            indirect = true;
            table = d.addr;
            n = budget = d.len / DESC_SIZE;
            i = 0;
            continue;
        }
        e = take(m, c, &d);
        if (e)
            return e;
        if (!(d.flags & DESC_F_NEXT))
            return 0;
        i = d.next;
    }
}

static int complete(const struct guest_mem *m, const struct vring_req_ring *r, uint16_t head,
                    uint32_t len)
{
    uint32_t id = head;
    uint16_t idx;
    uint8_t *p;

    if (load16(m, r->used + 2, &idx))
        return -EFAULT;
    p = guest_mem_ptr(m, r->used + 4 + 8ull * (idx % r->size), 8);
    if (!p)
        return -EFAULT;
    memcpy(p, &id, 4);
    memcpy(p + 4, &len, 4);
    vm_dirty_mark(m, r->used + 4 + 8ull * (idx % r->size), 8);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the element before the index */
    return store16(m, r->used + 2, (uint16_t)(idx + 1));
}

static int one(const struct guest_mem *m, struct vring_req_ring *r, vring_req_fn fn, void *arg)
{
    struct chain c = { .nin = 0 };
    uint8_t out[VRING_RESP_MAX];
    uint16_t head;
    size_t n;
    void *p;
    int e;

    if (load16(m, r->avail + 4 + 2ull * (r->last_avail % r->size), &head) || head >= r->size)
        return -EFAULT;
    e = walk(m, r, head, &c);
    if (e)
        return e;
    if (!c.has_out)
        return -EFAULT; /* nowhere to answer */
    n = fn(arg, c.in, c.nin, out);
    if (n > VRING_RESP_MAX || n > c.out_len)
        return -EFAULT;
    p = guest_mem_ptr(m, c.out_gpa, n);
    if (!p)
        return -EFAULT;
    memcpy(p, out, n);
    vm_dirty_mark(m, c.out_gpa, n);
    e = complete(m, r, head, (uint32_t)n);
    if (e)
        return e;
    r->last_avail++;
    return 0;
}

int vring_req_process(const struct guest_mem *m, struct vring_req_ring *r, unsigned budget,
                      vring_req_fn fn, void *arg)
{
    int done = 0;

    if (!r->size || r->size > 32768 || (r->size & (r->size - 1)))
        return -EFAULT;
    /* Each round takes what the index shows; with EVENT_IDX avail_event is published and the
     * index read again so that a kick is never lost. */
    for (unsigned round = 0; round < 4 && (unsigned)done < budget; round++) {
        uint16_t avail;

        if (load16(m, r->avail + 2, &avail))
            return -EFAULT;
        __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the index before the entries */
        if ((uint16_t)(avail - r->last_avail) > r->size)
            return -EFAULT;
        if (avail == r->last_avail) {
            if (!r->event_idx)
                return done;
            if (store16(m, r->used + 4 + 8ull * r->size, r->last_avail))
                return -EFAULT;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (load16(m, r->avail + 2, &avail))
                return -EFAULT;
            if (avail == r->last_avail)
                return done;
            continue;
        }
        while (r->last_avail != avail && (unsigned)done < budget) {
            int e = one(m, r, fn, arg);

            if (e)
                return e;
            done++;
        }
    }
    if (r->event_idx && store16(m, r->used + 4 + 8ull * r->size, r->last_avail))
        return -EFAULT;
    return done;
}

bool vring_req_pending(const struct guest_mem *m, const struct vring_req_ring *r)
{
    uint16_t avail;

    return r->size && !load16(m, r->avail + 2, &avail) && avail != r->last_avail;
}
