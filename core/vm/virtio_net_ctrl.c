#include "core/vm/virtio_net_ctrl.h"
#include "core/vm/vm_dirty.h"

#include <errno.h>
#include <string.h>

#define DESC_F_NEXT     1
#define DESC_F_WRITE    2
#define DESC_F_INDIRECT 4
#define DESC_SIZE       16
/* An indirect table holds at most 2^16 entries (its chain cannot be longer than that). */
#define INDIRECT_MAX 65536u

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct chain {
    uint8_t buf[2 + VNET_CTRL_DATA_MAX]; /* class, command, data */
    size_t nread;
    uint64_t ack_gpa;
    bool has_ack;
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
                     struct vdesc *d)
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

static int take(const struct guest_mem *m, struct chain *c, const struct vdesc *d)
{
    size_t room = sizeof(c->buf) - c->nread;
    size_t n = d->len < room ? d->len : room;
    const void *p;

    if (d->flags & DESC_F_WRITE) {
        if (!c->has_ack && d->len) {
            c->ack_gpa = d->addr;
            c->has_ack = true;
        }
        return 0;
    }
    if (!n)
        return 0;
    p = guest_mem_ptr(m, d->addr, n);
    if (!p)
        return -EFAULT;
    memcpy(c->buf + c->nread, p, n);
    c->nread += n;
    return 0;
}

/* Walks one chain (with at most one indirect table), every step bounded by its table size. */
static int walk(const struct guest_mem *m, const struct vnet_ctrl_ring *r, uint16_t head,
                struct chain *c)
{
    uint64_t table = r->desc;
    uint32_t n = r->size, budget = r->size, i = head;
    bool indirect = false;
    struct vdesc d;

    for (;;) {
        int e;

        if (!budget--)
            return -EFAULT; /* a loop in the chain */
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

static int complete(const struct guest_mem *m, const struct vnet_ctrl_ring *r, uint16_t head,
                    uint32_t len)
{
    uint64_t slot;
    uint16_t idx;
    uint8_t *p;
    uint32_t id = head;

    if (load16(m, r->used + 2, &idx))
        return -EFAULT;
    slot = r->used + 4 + 8ull * (idx % r->size);
    p = guest_mem_ptr(m, slot, 8);
    if (!p)
        return -EFAULT;
    memcpy(p, &id, 4);
    memcpy(p + 4, &len, 4);
    vm_dirty_mark(m, slot, 8);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the element before the index */
    return store16(m, r->used + 2, (uint16_t)(idx + 1));
}

static int one(const struct guest_mem *m, struct vnet_ctrl_ring *r, vnet_ctrl_fn fn, void *arg)
{
    struct chain c = { .nread = 0 };
    uint16_t head;
    uint8_t ack = VNET_CTRL_ERR;
    int e;

    if (load16(m, r->avail + 4 + 2ull * (r->last_avail % r->size), &head))
        return -EFAULT;
    if (head >= r->size)
        return -EFAULT;
    e = walk(m, r, head, &c);
    if (e)
        return e;
    if (c.nread >= 2)
        ack = fn(arg, c.buf[0], c.buf[1], c.buf + 2, c.nread - 2);
    if (c.has_ack) {
        uint8_t *p = guest_mem_ptr(m, c.ack_gpa, 1);

        if (!p)
            return -EFAULT;
        *p = ack;
        vm_dirty_mark(m, c.ack_gpa, 1);
    }
    e = complete(m, r, head, c.has_ack ? 1 : 0);
    if (e)
        return e;
    r->last_avail++;
    return 0;
}

int vnet_ctrl_process(const struct guest_mem *m, struct vnet_ctrl_ring *r, vnet_ctrl_fn fn,
                      void *arg)
{
    int done = 0;

    if (!r->size || r->size > 32768 || (r->size & (r->size - 1)))
        return -EFAULT;
    /* Rounds bounded: each sees at most size new chains; after the last, avail_event is
     * published and the index read again so a kick is never lost. */
    for (unsigned round = 0; round < 4; round++) {
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
        while (r->last_avail != avail) {
            int e = one(m, r, fn, arg);

            if (e)
                return e;
            done++;
        }
    }
    /* Still busy after the last round: the caller kicks again (vnet_ctrl_pending). */
    if (r->event_idx && store16(m, r->used + 4 + 8ull * r->size, r->last_avail))
        return -EFAULT;
    return done;
}

bool vnet_ctrl_pending(const struct guest_mem *m, const struct vnet_ctrl_ring *r)
{
    uint16_t avail;

    return r->size && !load16(m, r->avail + 2, &avail) && avail != r->last_avail;
}
