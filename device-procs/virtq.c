#include "device-procs/virtq.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/devmem.h"
#include "device-procs/inflight.h"
#include "device-procs/iotlb.h"
#include "ipc/dirty_log.h"

/*
 * The rings live in guest memory the driver writes concurrently: every field is read once into
 * a local before it is checked and used, indices with acquire/release ordering.
 */

static uint16_t load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint16_t *used_event(struct virtq *vq)
{
    return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event(struct virtq *vq)
{
    return (uint16_t *)&vq->used->ring[vq->num];
}

void virtq_init(struct virtq *vq, uint16_t idx)
{
    memset(vq, 0, sizeof(*vq));
    vq->index = idx;
    vq->kick_fd = -1;
    vq->call_fd = -1;
}

static bool aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static bool size_ok(uint64_t n)
{
    return n && n <= VIRTQ_MAX_SIZE && !(n & (n - 1));
}

static int set_rings(struct virtq *vq, const struct devmem *mem, struct iotlb *t, void *d, void *a,
                     void *u)
{
    if (!d || !a || !u)
        return -EFAULT;
    if (!aligned(d, 16) || !aligned(a, 2) || !aligned(u, 4))
        return -EINVAL;
    vq->mem = mem;
    vq->iotlb = t;
    vq->desc = d;
    vq->avail = a;
    vq->used = u;
    return 0;
}

/* Sizes include the event-idx words whether or not EVENT_IDX is negotiated. */
#define DESC_BYTES(n)  (16 * (n))
#define AVAIL_BYTES(n) (6 + 2 * (n))
#define USED_BYTES(n)  (6 + 8 * (n))

int virtq_map(struct virtq *vq, const struct devmem *mem, uint64_t desc_uva, uint64_t avail_uva,
              uint64_t used_uva)
{
    uint64_t n = vq->num;

    if (!size_ok(n))
        return -EINVAL;
    return set_rings(vq, mem, NULL, devmem_uva(mem, desc_uva, DESC_BYTES(n)),
                     devmem_uva(mem, avail_uva, AVAIL_BYTES(n)),
                     devmem_uva(mem, used_uva, USED_BYTES(n)));
}

int virtq_map_iotlb(struct virtq *vq, const struct devmem *mem, struct iotlb *t, uint64_t desc,
                    uint64_t avail, uint64_t used, uint64_t *used_gpa)
{
    uint64_t n = vq->num;
    void *d, *a, *u;

    if (!size_ok(n))
        return -EINVAL;
    iotlb_rdlock(t);
    d = iotlb_host(t, mem, desc, DESC_BYTES(n), IOTLB_READ, NULL);
    a = iotlb_host(t, mem, avail, AVAIL_BYTES(n), IOTLB_READ, NULL);
    u = iotlb_host(t, mem, used, USED_BYTES(n), IOTLB_WRITE, used_gpa);
    iotlb_unlock(t);
    return set_rings(vq, mem, t, d, a, u);
}

void virtq_prepare(struct virtq *vq)
{
    vq->broken = 0;
    vq->signalled_used_valid = false;
    if (vq->used)
        vq->used_idx = load16(&vq->used->idx);
}

static int fail(struct virtq *vq, int err)
{
    vq->broken = err;
    return err;
}

/* One descriptor table being walked: the ring's own or an indirect one. */
struct table {
    const struct vring_desc *d;
    uint32_t size;
};

static int add_segment(const struct virtq *vq, struct virtq_elem *e, const struct vring_desc *d,
                       unsigned *nseg)
{
    uint64_t total = e->out_len + e->in_len;
    bool write = d->flags & VRING_DESC_F_WRITE;
    int n;

    if (!write && e->in_num)
        return -EINVAL; /* readable after writable */
    if (d->len > VIRTQ_MAX_ELEM_BYTES - total)
        return -E2BIG;
    if (vq->iotlb) {
        unsigned got = *nseg;

        n = iotlb_iov(vq->iotlb, vq->mem, d->addr, d->len, write ? IOTLB_WRITE : IOTLB_READ, e->iov,
                      &got, VIRTQ_MAX_SEGS);
        if (n == -EACCES)
            n = -EFAULT;
        if (!n)
            n = (int)(got - *nseg);
    } else {
        n = devmem_gpa_iov(vq->mem, d->addr, d->len, &e->iov[*nseg], VIRTQ_MAX_SEGS - *nseg);
    }
    if (n == -ENOBUFS)
        return -E2BIG;
    if (n < 0)
        return n;
    *nseg += (unsigned)n;
    if (write) {
        e->in_num += (uint16_t)n;
        e->in_len += d->len;
    } else {
        e->out_num += (uint16_t)n;
        e->out_len += d->len;
    }
    return 0;
}

/* An indirect table the device reads: contiguous in host memory. */
static const void *indirect_table(const struct virtq *vq, uint64_t addr, uint32_t len)
{
    if (vq->iotlb)
        return iotlb_host(vq->iotlb, vq->mem, addr, len, IOTLB_READ, NULL);
    return devmem_gpa(vq->mem, addr, len);
}

/*
 * Walks the chain at head. Bounded: at most table size descriptors per table (a longer walk
 * loops), and one indirect table per chain.
 */
static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_elem *e)
{
    struct table t = { .d = vq->desc, .size = vq->num };
    bool in_indirect = false;
    unsigned nseg = 0;
    uint32_t i = head, count = 0;
    int r;

    e->head = head;
    e->out_num = e->in_num = 0;
    e->out_len = e->in_len = 0;
    if (head >= vq->num)
        return -EINVAL;
    for (;;) {
        struct vring_desc d;

        if (++count > t.size)
            return -ELOOP;
        memcpy(&d, &t.d[i], sizeof(d));
        if (d.flags & VRING_DESC_F_INDIRECT) {
            const void *tbl;

            if (!vq->indirect || in_indirect || (d.flags & VRING_DESC_F_NEXT))
                return -EINVAL;
            if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
                d.len / sizeof(struct vring_desc) > VIRTQ_MAX_SIZE)
                return -EINVAL;
            tbl = indirect_table(vq, d.addr, d.len);
            if (!tbl)
                return -EFAULT;
            t.d = tbl;
            t.size = d.len / sizeof(struct vring_desc);
            in_indirect = true;
            i = 0;
            count = 0;
            continue;
        }
        r = add_segment(vq, e, &d, &nseg);
        if (r)
            return r;
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 0;
        i = d.next;
        if (i >= t.size)
            return -EINVAL;
    }
}

/* With an IOTLB the whole chain is translated under one read lock: a change the backend acked
 * applies to every chain walked after it, never to half of one. */
static int walk(struct virtq *vq, uint16_t head, struct virtq_elem *e)
{
    int r;

    if (!vq->iotlb)
        return walk_chain(vq, head, e);
    iotlb_rdlock(vq->iotlb);
    r = walk_chain(vq, head, e);
    iotlb_unlock(vq->iotlb);
    return r;
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
    uint16_t avail, head;
    int r;

    if (vq->broken)
        return vq->broken;
    /* A file under guest memory shrank (devmem_guard.h): nothing more from this table. */
    if (vq->mem && devmem_broken(vq->mem))
        return fail(vq, -EFAULT);
    if (vq->inflight) {
        int h = inflight_next_resubmit(vq->inflight);

        if (h >= 0) {
            r = walk(vq, (uint16_t)h, elem);
            return r ? fail(vq, r) : 1;
        }
    }
    avail = load16(&vq->avail->idx);
    if ((uint16_t)(avail - vq->last_avail_idx) > vq->num)
        return fail(vq, -EPROTO);
    if (avail == vq->last_avail_idx)
        return 0;
    head = vq->avail->ring[vq->last_avail_idx & (vq->num - 1)];
    r = walk(vq, head, elem);
    if (r)
        return fail(vq, r);
    if (vq->inflight)
        inflight_mark(vq->inflight, head, vq->last_avail_idx);
    vq->last_avail_idx++;
    vq->stats.popped++;
    return 1;
}

void virtq_unpop(struct virtq *vq)
{
    /* A resubmitted element never moved the avail index: it goes back on its list instead. */
    if (vq->inflight && inflight_unpop(vq->inflight, (uint16_t)(vq->last_avail_idx - 1)))
        return;
    vq->last_avail_idx--;
}

void virtq_log_write(struct virtq *vq, uint64_t gpa, uint64_t len)
{
    dirty_log_mark(vq->log.base, vq->log.size, gpa, len);
}

/* The used ring's bytes [off, off + len) were written. */
static void log_used(struct virtq *vq, uint64_t off, uint64_t len)
{
    if (vq->log.base && vq->log.used)
        dirty_log_mark(vq->log.base, vq->log.size, vq->log.used_gpa + off, len);
}

/* Used entries [from, from + n) (ring positions, wrapping) and the index were written. */
static void log_used_entries(struct virtq *vq, uint16_t from, unsigned n)
{
    uint16_t slot = from & (vq->num - 1);
    unsigned first = n < (unsigned)(vq->num - slot) ? n : (unsigned)(vq->num - slot);

    log_used(vq, 4 + 8ull * slot, 8ull * first);
    if (n > first)
        log_used(vq, 4, 8ull * (n - first));
    log_used(vq, 2, 2);
}

static int log_piece(void *opaque, uint8_t *host, uint64_t gpa, uint64_t len)
{
    struct virtq *vq = opaque;

    (void)host;
    dirty_log_mark(vq->log.base, vq->log.size, gpa, len);
    return 0;
}

/* Marks [addr, addr + len) of a descriptor: by IOVA, the guest-physical pages behind it. */
static void log_desc(struct virtq *vq, uint64_t addr, uint64_t len)
{
    if (vq->iotlb)
        iotlb_walk(vq->iotlb, vq->mem, addr, len, IOTLB_WRITE, log_piece, vq);
    else
        dirty_log_mark(vq->log.base, vq->log.size, addr, len);
}

static void log_chain_walk(struct virtq *vq, uint16_t head, uint64_t written)
{
    const struct vring_desc *t = vq->desc;
    uint32_t size = vq->num, i = head, count = 0;
    bool in_indirect = false;

    while (written && ++count <= size) {
        struct vring_desc d;

        memcpy(&d, &t[i], sizeof(d));
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (in_indirect || !d.len || d.len % sizeof(d) || d.len / sizeof(d) > VIRTQ_MAX_SIZE)
                return;
            t = indirect_table(vq, d.addr, d.len);
            if (!t)
                return;
            size = d.len / sizeof(d);
            in_indirect = true;
            i = count = 0;
            continue;
        }
        if (d.flags & VRING_DESC_F_WRITE) {
            uint64_t n = d.len < written ? d.len : written;

            log_desc(vq, d.addr, n);
            written -= n;
        }
        if (!(d.flags & VRING_DESC_F_NEXT) || d.next >= size)
            return;
        i = d.next;
    }
}

/*
 * The first `written` bytes of the writable part of the chain at head were written: their pages
 * are marked, walking the chain again by descriptor address (the element's iovecs are host
 * addresses), an IOVA translated to the guest-physical pages behind it under the IOTLB's read
 * lock. Bounded like walk(); a chain the driver changed meanwhile is logged as it now reads, or
 * where it stops making sense.
 */
static void log_chain(struct virtq *vq, uint16_t head, uint64_t written)
{
    if (!vq->log.base || !written || head >= vq->num)
        return;
    if (!vq->iotlb) {
        log_chain_walk(vq, head, written);
        return;
    }
    iotlb_rdlock(vq->iotlb);
    log_chain_walk(vq, head, written);
    iotlb_unlock(vq->iotlb);
}

int virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t written)
{
    struct vring_used_elem *u;

    if (vq->broken)
        return vq->broken;
    if (written > elem->in_len)
        written = (uint32_t)elem->in_len;
    u = &vq->used->ring[vq->used_idx & (vq->num - 1)];
    u->id = elem->head;
    u->len = written;
    /* The buffers' pages are marked after the device's writes into them (a page copied before
     * its mark is sent again) but before the used index hands the chain back: once the driver
     * sees it, it may reuse the descriptors for other buffers. */
    log_chain(vq, elem->head, written);
    vq->used_idx++;
    store16(&vq->used->idx, vq->used_idx);
    log_used_entries(vq, (uint16_t)(vq->used_idx - 1), 1);
    vq->stats.bytes_in += written;
    if (vq->inflight)
        inflight_clear(vq->inflight, elem->head, vq->used_idx);
    return 0;
}

int virtq_push_n(struct virtq *vq, const uint16_t *heads, const uint32_t *lens, unsigned n)
{
    uint16_t before = vq->used_idx;

    if (vq->broken)
        return vq->broken;
    if (n > vq->num)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        struct vring_used_elem *u = &vq->used->ring[(uint16_t)(vq->used_idx + i) & (vq->num - 1)];

        u->id = heads[i];
        u->len = lens[i];
        vq->stats.bytes_in += lens[i];
    }
    /* Marked before the used index hands the chains back, as in virtq_push. */
    for (unsigned i = 0; vq->log.base && i < n; i++)
        log_chain(vq, heads[i], lens[i]);
    vq->used_idx = (uint16_t)(vq->used_idx + n);
    store16(&vq->used->idx, vq->used_idx);
    log_used_entries(vq, before, n);
    /* The record moves past the group with its last head only: a death while the heads are
       cleared leaves the group to the used-ring walk on attach, not resubmitted. */
    for (unsigned i = 0; vq->inflight && i < n; i++)
        inflight_clear(vq->inflight, heads[i], i + 1 < n ? before : vq->used_idx);
    return 0;
}

int virtq_notify(struct virtq *vq)
{
    uint64_t one = 1;
    bool want;

    if (vq->call_fd < 0 || !vq->used)
        return 0;
    /* The used index store must be visible before we read the driver's suppression state. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->event_idx) {
        uint16_t old = vq->signalled_used, now = vq->used_idx;
        bool valid = vq->signalled_used_valid;

        vq->signalled_used = now;
        vq->signalled_used_valid = true;
        want = !valid || vring_need_event(load16(used_event(vq)), now, old);
    } else {
        want = !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    }
    if (!want)
        return 0;
    if (write(vq->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return -errno;
    vq->stats.notifies++;
    return 1;
}

void virtq_disable_notify(struct virtq *vq)
{
    /* With EVENT_IDX the driver kicks once per avail_event crossing: nothing to do. */
    if (!vq->event_idx && vq->used) {
        store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
        log_used(vq, 0, 2);
    }
}

bool virtq_enable_notify(struct virtq *vq)
{
    if (!vq->used || vq->broken)
        return false;
    if (vq->event_idx) {
        store16(avail_event(vq), vq->last_avail_idx);
        log_used(vq, 4 + 8ull * vq->num, 2);
    } else {
        store16(&vq->used->flags, 0);
        log_used(vq, 0, 2);
    }
    /* Publish the request before looking again, or a kick between the two is lost. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return !virtq_empty(vq);
}

bool virtq_empty(struct virtq *vq)
{
    if (vq->broken || !vq->avail)
        return true;
    if (vq->inflight && vq->inflight->resubmit_pos < vq->inflight->nresubmit)
        return false;
    return load16(&vq->avail->idx) == vq->last_avail_idx;
}

int virtq_kick_drain(struct virtq *vq)
{
    uint64_t v;

    if (vq->kick_fd < 0)
        return 0;
    if (read(vq->kick_fd, &v, sizeof(v)) < 0)
        return errno == EAGAIN ? 0 : -errno;
    vq->stats.kicks++;
    return 0;
}
