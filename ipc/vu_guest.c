#include "ipc/vu_guest.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ipc/vu_sys.h"

int vu_gmem_create(struct vu_gmem *m, uint64_t size)
{
    void *p = NULL;
    int r;

    memset(m, 0, sizeof(*m));
    m->fd = -1;
    size = (size + 4095) & ~(uint64_t)4095;
    r = vu_sys_memfd("cellvm-guest", size, &m->fd, &p);
    if (r)
        return r;
    m->base = p;
    m->size = size;
    m->brk = 4096; /* gpa 0 stays unused so 0 never names a buffer by accident */
    return 0;
}

void vu_gmem_destroy(struct vu_gmem *m)
{
    vu_sys_unmap(m->base, m->size);
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    m->base = NULL;
}

uint64_t vu_gmem_alloc(struct vu_gmem *m, uint64_t len, uint64_t align)
{
    uint64_t at = (m->brk + align - 1) & ~(align - 1);

    if (at < m->brk || len > m->size || at > m->size - len)
        return UINT64_MAX;
    m->brk = at + len;
    return at;
}

void *vu_gmem_ptr(const struct vu_gmem *m, uint64_t gpa)
{
    return gpa < m->size ? m->base + gpa : NULL;
}

struct vu_fe_region vu_gmem_region(const struct vu_gmem *m)
{
    struct vu_fe_region r = {
        .gpa = 0,
        .size = m->size,
        .uva = (uint64_t)(uintptr_t)m->base,
        .mmap_offset = 0,
        .fd = m->fd,
    };
    return r;
}

int vu_gring_init(struct vu_gring *r, struct vu_gmem *m, uint16_t num, bool event_idx)
{
    uint64_t d, a, u;

    memset(r, 0, sizeof(*r));
    r->kick_fd = r->call_fd = -1;
    if (!num || (num & (num - 1)))
        return -EINVAL;
    d = vu_gmem_alloc(m, 16ull * num, 16);
    a = vu_gmem_alloc(m, 6 + 2ull * num, 2);
    u = vu_gmem_alloc(m, 6 + 8ull * num, 4096);
    if (d == UINT64_MAX || a == UINT64_MAX || u == UINT64_MAX)
        return -ENOMEM;
    r->chain_len = calloc(num, sizeof(uint16_t));
    if (!r->chain_len)
        return -ENOMEM;
    r->num = num;
    r->event_idx = event_idx;
    r->desc_gpa = d;
    r->avail_gpa = a;
    r->used_gpa = u;
    r->desc = vu_gmem_ptr(m, d);
    r->avail = vu_gmem_ptr(m, a);
    r->used = vu_gmem_ptr(m, u);
    memset(r->desc, 0, 16ull * num);
    memset(r->avail, 0, 6 + 2ull * num);
    memset(r->used, 0, 6 + 8ull * num);
    for (uint16_t i = 0; i + 1 < num; i++)
        r->desc[i].next = i + 1;
    r->num_free = num;
    r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->kick_fd < 0 || r->call_fd < 0) {
        vu_gring_destroy(r);
        return -errno;
    }
    return 0;
}

void vu_gring_destroy(struct vu_gring *r)
{
    free(r->chain_len);
    r->chain_len = NULL;
    if (r->kick_fd >= 0)
        close(r->kick_fd);
    if (r->call_fd >= 0)
        close(r->call_fd);
    r->kick_fd = r->call_fd = -1;
}

struct vu_fe_vring vu_gring_vring(const struct vu_gring *r, const struct vu_gmem *m)
{
    uint64_t base = (uint64_t)(uintptr_t)m->base;
    struct vu_fe_vring v = {
        .num = r->num,
        .base = 0,
        .desc_uva = base + r->desc_gpa,
        .avail_uva = base + r->avail_gpa,
        .used_uva = base + r->used_gpa,
        .kick_fd = r->kick_fd,
        .call_fd = r->call_fd,
        .has_gpa = true,
        .used_gpa = r->used_gpa,
    };
    return v;
}

int vu_gring_add(struct vu_gring *r, const struct vu_gbuf *bufs, unsigned nout, unsigned nin,
                 uint16_t *head)
{
    unsigned n = nout + nin;
    uint16_t h = r->free_head, i = h, last = h;

    if (n == 0 || n > r->num_free)
        return -ENOSPC;
    for (unsigned k = 0; k < n; k++) {
        struct vring_desc *d = &r->desc[i];

        d->addr = bufs[k].gpa;
        d->len = bufs[k].len;
        d->flags = (k >= nout ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
        last = i;
        i = d->next;
    }
    r->free_head = r->desc[last].next;
    r->num_free -= n;
    r->chain_len[h] = n;
    r->avail->ring[r->avail_idx & (r->num - 1)] = h;
    r->avail_idx++;
    __atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
    *head = h;
    return 0;
}

int vu_gring_kick(struct vu_gring *r)
{
    uint64_t one = 1;
    bool want;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (r->event_idx) {
        uint16_t ev = __atomic_load_n((uint16_t *)&r->used->ring[r->num], __ATOMIC_ACQUIRE);

        want = vring_need_event(ev, r->avail_idx, r->kicked_idx);
    } else {
        want = !(__atomic_load_n(&r->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY);
    }
    r->kicked_idx = r->avail_idx;
    if (!want)
        return 0;
    if (write(r->kick_fd, &one, sizeof(one)) < 0)
        return -errno;
    return 1;
}

int vu_gring_get_used(struct vu_gring *r, uint16_t *head, uint32_t *len)
{
    uint16_t idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
    struct vring_used_elem e;
    uint16_t n, last;

    if (idx == r->last_used)
        return 0;
    e = r->used->ring[r->last_used & (r->num - 1)];
    r->last_used++;
    if (e.id >= r->num || !r->chain_len[e.id])
        return -EPROTO;
    n = r->chain_len[e.id];
    r->chain_len[e.id] = 0;
    last = (uint16_t)e.id;
    for (uint16_t k = 1; k < n; k++)
        last = r->desc[last].next;
    r->desc[last].next = r->free_head;
    r->free_head = (uint16_t)e.id;
    r->num_free += n;
    *head = (uint16_t)e.id;
    *len = e.len;
    return 1;
}

int vu_gring_wait(struct vu_gring *r, int timeout_ms)
{
    struct pollfd p = { .fd = r->call_fd, .events = POLLIN };
    uint64_t v;
    int n;

    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return 0;
    if (read(r->call_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return -errno;
    return 1;
}

void vu_gring_want_interrupt(struct vu_gring *r)
{
    __atomic_store_n(&r->avail->ring[r->num], r->last_used, __ATOMIC_RELEASE);
}
