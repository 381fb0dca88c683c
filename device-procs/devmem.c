#include "device-procs/devmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/devmem_guard.h"
#include "device-procs/devmem_sys.h"

void devmem_init(struct devmem *m)
{
    m->n = 0;
    m->broken = 0;
    m->keep_fds = false;
}

/* [a, a + alen) and [b, b + blen) overlap; both already known not to wrap. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static int check_new(const struct devmem *m, uint64_t gpa, uint64_t uva, uint64_t size)
{
    /* A region may not wrap or end exactly at 2^64 (its end must be representable). */
    if (size == 0 || gpa + size <= gpa || uva + size <= uva)
        return -EINVAL;
    if (m->n >= DEVMEM_MAX_REGIONS)
        return -ENOSPC;
    for (unsigned i = 0; i < m->n; i++)
        if (overlaps(gpa, size, m->r[i].gpa, m->r[i].size) ||
            overlaps(uva, size, m->r[i].uva, m->r[i].size))
            return -EINVAL;
    return 0;
}

/* Keeps the table sorted by gpa so lookups can bisect. */
static void insert(struct devmem *m, const struct devmem_region *nr)
{
    unsigned pos = 0;

    while (pos < m->n && m->r[pos].gpa < nr->gpa)
        pos++;
    memmove(&m->r[pos + 1], &m->r[pos], (m->n - pos) * sizeof(m->r[0]));
    m->r[pos] = *nr;
    m->n++;
}

int devmem_add_fd(struct devmem *m, const struct vu_mem_region *r, int fd)
{
    struct devmem_region nr = { 0 };
    const char *why = NULL;
    uint64_t page_off;
    void *base = NULL;
    int ret = 0;

    for (unsigned i = 0; i < m->n; i++) {
        struct devmem_region *x = &m->r[i];

        if (x->map_base && x->gpa == r->guest_addr && x->uva == r->user_addr &&
            x->size == r->size) {
            x->refs++;
            goto out;
        }
    }
    ret = check_new(m, r->guest_addr, r->user_addr, r->size);
    if (ret)
        goto out;
    /* mmap wants a page-aligned offset; map from the page start and skip the head. */
    page_off = r->mmap_offset & 4095u;
    if (r->size + page_off < r->size) {
        ret = -EINVAL;
        goto out;
    }
    /* A region past the end of its file, or in one that may shrink later, would SIGBUS us. */
    ret = devmem_sys_check_fd(fd, r->mmap_offset, r->size, &why);
    if (ret) {
        fprintf(stderr, "guest memory region gpa 0x%llx size 0x%llx refused: %s\n",
                (unsigned long long)r->guest_addr, (unsigned long long)r->size, why);
        goto out;
    }
    ret = devmem_sys_map(fd, r->mmap_offset - page_off, r->size + page_off, &base);
    if (ret)
        goto out;
    /* A regular file can still be truncated by the frontend: survive that (devmem_guard.h). */
    nr.guard = devmem_guard_add(base, r->size + page_off, &m->broken,
                                "vhost-user: guest memory (a region)");
    if (nr.guard < 0) {
        ret = nr.guard;
        devmem_sys_unmap(base, r->size + page_off);
        goto out;
    }
    nr.gpa = r->guest_addr;
    nr.size = r->size;
    nr.uva = r->user_addr;
    nr.host = (uint8_t *)base + page_off;
    nr.map_base = base;
    nr.map_len = r->size + page_off;
    nr.refs = 1;
    nr.fd = -1;
    nr.fd_offset = r->mmap_offset;
    if (m->keep_fds) {
        nr.fd = fd;
        fd = -1;
    }
    insert(m, &nr);
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

int devmem_add_host(struct devmem *m, uint64_t gpa, uint64_t uva, void *host, uint64_t size)
{
    struct devmem_region nr = {
        .gpa = gpa, .size = size, .uva = uva, .host = host, .guard = -1, .fd = -1
    };
    int ret = check_new(m, gpa, uva, size);

    if (!ret)
        insert(m, &nr);
    return ret;
}

int devmem_remove(struct devmem *m, const struct vu_mem_region *r)
{
    for (unsigned i = 0; i < m->n; i++) {
        struct devmem_region *x = &m->r[i];

        if (x->gpa != r->guest_addr || x->uva != r->user_addr || x->size != r->size)
            continue;
        if (x->refs > 1) {
            x->refs--;
            return 0;
        }
        devmem_guard_remove(x->guard);
        devmem_sys_unmap(x->map_base, x->map_len);
        if (x->fd >= 0)
            close(x->fd);
        memmove(x, x + 1, (m->n - i - 1) * sizeof(*x));
        m->n--;
        /* Broken only while a region whose file shrank is still in the table. */
        m->broken = 0;
        for (unsigned k = 0; k < m->n; k++)
            if (devmem_guard_hit(m->r[k].guard))
                m->broken = 1;
        return 0;
    }
    return -ENOENT;
}

void devmem_clear(struct devmem *m)
{
    for (unsigned i = 0; i < m->n; i++) {
        devmem_guard_remove(m->r[i].guard);
        devmem_sys_unmap(m->r[i].map_base, m->r[i].map_len);
        if (m->r[i].fd >= 0)
            close(m->r[i].fd);
    }
    m->n = 0;
    m->broken = 0;
}

/* The region holding gpa, or NULL. Bisects the sorted table. */
static const struct devmem_region *find_gpa(const struct devmem *m, uint64_t gpa)
{
    unsigned lo = 0, hi = m->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct devmem_region *x = &m->r[mid];

        if (gpa < x->gpa)
            hi = mid;
        else if (gpa - x->gpa >= x->size)
            lo = mid + 1;
        else
            return x;
    }
    return NULL;
}

void *devmem_gpa(const struct devmem *m, uint64_t gpa, uint64_t len)
{
    const struct devmem_region *x = find_gpa(m, gpa);
    uint64_t off;

    if (!x || len == 0)
        return NULL;
    off = gpa - x->gpa;
    /* off < size holds; compare lengths without forming gpa + len. */
    if (len > x->size - off)
        return NULL;
    return x->host + off;
}

void *devmem_uva(const struct devmem *m, uint64_t uva, uint64_t len)
{
    if (len == 0)
        return NULL;
    for (unsigned i = 0; i < m->n; i++) {
        const struct devmem_region *x = &m->r[i];

        if (uva < x->uva || uva - x->uva >= x->size)
            continue;
        if (len > x->size - (uva - x->uva))
            return NULL;
        return x->host + (uva - x->uva);
    }
    return NULL;
}

int devmem_gpa_iov(const struct devmem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
                   unsigned max)
{
    unsigned n = 0;

    if (len == 0)
        return 0;
    if (gpa + len < gpa)
        return -EFAULT;
    /* Each step consumes a whole region's tail, so at most m->n + 1 iterations. */
    while (len) {
        const struct devmem_region *x = find_gpa(m, gpa);
        uint64_t off, chunk;

        if (!x)
            return -EFAULT;
        if (n == max)
            return -ENOBUFS;
        off = gpa - x->gpa;
        chunk = x->size - off < len ? x->size - off : len;
        iov[n].iov_base = x->host + off;
        iov[n].iov_len = chunk;
        n++;
        gpa += chunk;
        len -= chunk;
    }
    return (int)n;
}

int devmem_host_file(const struct devmem *m, const void *p, uint64_t len, int *fd, uint64_t *off)
{
    uintptr_t a = (uintptr_t)p;

    if (len == 0)
        return -EFAULT;
    for (unsigned i = 0; i < m->n; i++) {
        const struct devmem_region *x = &m->r[i];
        uintptr_t h = (uintptr_t)x->host;

        if (a < h || a - h >= x->size)
            continue;
        if (len > x->size - (a - h))
            return -EFAULT;
        if (x->fd < 0)
            return -EBADF;
        *fd = x->fd;
        *off = x->fd_offset + (a - h);
        return 0;
    }
    return -EFAULT;
}
