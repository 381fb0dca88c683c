#include "device-procs/iotlb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-procs/devmem.h"

int iotlb_init(struct iotlb *t)
{
    pthread_rwlockattr_t a;
    int r;

    memset(t, 0, sizeof(*t));
    r = pthread_rwlockattr_init(&a);
    if (r)
        return -r;
    /* Writer-preferring: an INVALIDATE waits for the translations in progress, not for every
     * pop that comes after it. Readers never take it twice. */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    r = pthread_rwlock_init(&t->lock, &a);
    pthread_rwlockattr_destroy(&a);
    return -r;
}

void iotlb_destroy(struct iotlb *t)
{
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
    pthread_rwlock_destroy(&t->lock);
}

void iotlb_rdlock(struct iotlb *t)
{
    pthread_rwlock_rdlock(&t->lock);
}

void iotlb_unlock(struct iotlb *t)
{
    pthread_rwlock_unlock(&t->lock);
}

uint32_t iotlb_count(const struct iotlb *t)
{
    return t->n;
}

/* Index of the first entry whose end is at or after iova (n if none). */
static uint32_t first_at(const struct iotlb *t, uint64_t iova)
{
    uint32_t lo = 0, hi = t->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (t->e[mid].last < iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* b continues a: adjacent in iova and uaddr, same permission. */
static bool continues(const struct iotlb_entry *a, const struct iotlb_entry *b)
{
    return a->last != UINT64_MAX && a->last + 1 == b->iova && a->perm == b->perm &&
           a->uaddr + (a->last - a->iova) + 1 == b->uaddr;
}

/* Appends x to rep[], merging it into the previous entry when it continues it. */
static void push(struct iotlb_entry *rep, unsigned *nr, const struct iotlb_entry *x)
{
    if (*nr && continues(&rep[*nr - 1], x)) {
        rep[*nr - 1].last = x->last;
        return;
    }
    rep[(*nr)++] = *x;
}

static int reserve(struct iotlb *t, uint32_t want)
{
    struct iotlb_entry *e;
    uint32_t cap = t->cap ? t->cap : 64;

    if (want <= t->cap)
        return 0;
    while (cap < want)
        cap *= 2;
    if (cap > IOTLB_MAX_ENTRIES)
        cap = IOTLB_MAX_ENTRIES;
    e = realloc(t->e, (size_t)cap * sizeof(*e));
    if (!e)
        return -ENOMEM;
    t->e = e;
    t->cap = cap;
    return 0;
}

/*
 * Replaces what [iova, last] overlaps with `add` (NULL: nothing), keeping the parts of
 * overlapped entries outside the range unless `whole` (they go too). The window rewritten is
 * the overlapped entries plus one neighbour on each side, so merges with them are seen before
 * the count is checked: an UPDATE that repeats an existing mapping never grows the table.
 */
static int carve(struct iotlb *t, uint64_t iova, uint64_t last, const struct iotlb_entry *add,
                 bool whole)
{
    struct iotlb_entry rep[5], x;
    uint32_t lo = first_at(t, iova), hi = lo, from, to, count;
    unsigned nr = 0;
    int r;

    while (hi < t->n && t->e[hi].iova <= last)
        hi++;
    from = lo ? lo - 1 : lo;
    to = hi < t->n ? hi + 1 : hi;
    if (from < lo)
        push(rep, &nr, &t->e[from]);
    if (lo < hi && t->e[lo].iova < iova && !whole) {
        x = t->e[lo];
        x.last = iova - 1;
        push(rep, &nr, &x);
    }
    if (add)
        push(rep, &nr, add);
    if (lo < hi && t->e[hi - 1].last > last && !whole) {
        x = t->e[hi - 1];
        x.uaddr += last + 1 - x.iova;
        x.iova = last + 1;
        push(rep, &nr, &x);
    }
    if (hi < to)
        push(rep, &nr, &t->e[hi]);
    count = t->n - (to - from) + nr;
    if (count > IOTLB_MAX_ENTRIES)
        return -ENOSPC;
    r = reserve(t, count);
    if (r)
        return r;
    if (t->n > to)
        memmove(&t->e[from + nr], &t->e[to], (size_t)(t->n - to) * sizeof(t->e[0]));
    if (nr)
        memcpy(&t->e[from], rep, nr * sizeof(rep[0]));
    t->n = count;
    return 0;
}

int iotlb_update(struct iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr, uint8_t perm)
{
    struct iotlb_entry add = {
        .iova = iova, .last = iova + size - 1, .uaddr = uaddr, .perm = perm
    };
    int r;

    if (!size || add.last < iova || uaddr + (size - 1) < uaddr)
        return -EINVAL;
    if (!perm || perm > (IOTLB_READ | IOTLB_WRITE))
        return -EINVAL;
    pthread_rwlock_wrlock(&t->lock);
    r = carve(t, iova, add.last, &add, false);
    pthread_rwlock_unlock(&t->lock);
    if (r == -ENOSPC)
        fprintf(stderr,
                "vhost-user: IOTLB full (%u entries): update of iova 0x%llx size 0x%llx refused\n",
                IOTLB_MAX_ENTRIES, (unsigned long long)iova, (unsigned long long)size);
    return r;
}

int iotlb_invalidate(struct iotlb *t, uint64_t iova, uint64_t size)
{
    uint64_t last = iova + size - 1;
    int r;

    if (!size || last < iova)
        return -EINVAL;
    pthread_rwlock_wrlock(&t->lock);
    r = carve(t, iova, last, NULL, false);
    /* Splitting one entry in two at the bound, or no memory for it: the entries go whole
     * (this never grows the table, so it cannot fail). */
    if (r)
        carve(t, iova, last, NULL, true);
    pthread_rwlock_unlock(&t->lock);
    if (r)
        fprintf(stderr,
                "vhost-user: IOTLB: invalidating iova 0x%llx size 0x%llx would split an entry "
                "past %u entries (%s): the entries it touches go whole\n",
                (unsigned long long)iova, (unsigned long long)size, IOTLB_MAX_ENTRIES,
                strerror(-r));
    return 0;
}

void iotlb_clear(struct iotlb *t)
{
    pthread_rwlock_wrlock(&t->lock);
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
    pthread_rwlock_unlock(&t->lock);
}

int iotlb_lookup(const struct iotlb *t, uint64_t iova, uint64_t len, unsigned access,
                 uint64_t *uaddr)
{
    uint32_t i = first_at(t, iova);
    const struct iotlb_entry *x;

    if (!len || iova + (len - 1) < iova || i == t->n)
        return -EFAULT;
    x = &t->e[i];
    if (x->iova > iova || len - 1 > x->last - iova)
        return -EFAULT;
    if ((x->perm & access) != access)
        return -EACCES;
    *uaddr = x->uaddr + (iova - x->iova);
    return 0;
}

/* The memory region holding frontend user address uva, or NULL. */
static const struct devmem_region *uva_region(const struct devmem *m, uint64_t uva)
{
    for (unsigned i = 0; i < m->n; i++)
        if (uva >= m->r[i].uva && uva - m->r[i].uva < m->r[i].size)
            return &m->r[i];
    return NULL;
}

/* [uva, uva + len) (len > 0, not wrapping) through the memory table, piece by piece. */
static int uva_walk(const struct devmem *m, uint64_t uva, uint64_t len, iotlb_piece_fn fn,
                    void *opaque)
{
    /* Each step takes a region's whole tail: at most m->n + 1 steps. */
    while (len) {
        const struct devmem_region *x = uva_region(m, uva);
        uint64_t off, chunk;
        int r;

        if (!x)
            return -EFAULT;
        off = uva - x->uva;
        chunk = x->size - off < len ? x->size - off : len;
        r = fn(opaque, x->host + off, x->gpa + off, chunk);
        if (r)
            return r;
        uva += chunk;
        len -= chunk;
    }
    return 0;
}

int iotlb_walk(const struct iotlb *t, const struct devmem *m, uint64_t iova, uint64_t len,
               unsigned access, iotlb_piece_fn fn, void *opaque)
{
    uint32_t i;

    if (!len)
        return 0;
    if (iova + (len - 1) < iova)
        return -EFAULT;
    /* Each step consumes the rest of one entry: at most n steps. */
    for (i = first_at(t, iova); len; i++) {
        const struct iotlb_entry *x;
        uint64_t chunk_m1;
        int r;

        if (i == t->n || t->e[i].iova > iova)
            return -EFAULT;
        x = &t->e[i];
        if ((x->perm & access) != access)
            return -EACCES;
        /* Lengths minus one: an entry may end at 2^64. */
        chunk_m1 = x->last - iova < len - 1 ? x->last - iova : len - 1;
        r = uva_walk(m, x->uaddr + (iova - x->iova), chunk_m1 + 1, fn, opaque);
        if (r)
            return r;
        len -= chunk_m1 + 1;
        iova += chunk_m1 + 1; /* may wrap to 0 exactly when len reaches 0 */
    }
    return 0;
}

struct iov_fill {
    struct iovec *iov;
    unsigned *n, start, max;
};

static int fill_iov(void *opaque, uint8_t *host, uint64_t gpa, uint64_t len)
{
    struct iov_fill *f = opaque;
    struct iovec *prev = *f->n > f->start ? &f->iov[*f->n - 1] : NULL;

    (void)gpa;
    if (prev && (uint8_t *)prev->iov_base + prev->iov_len == host) {
        prev->iov_len += len;
        return 0;
    }
    if (*f->n == f->max)
        return -ENOBUFS;
    f->iov[*f->n].iov_base = host;
    f->iov[*f->n].iov_len = len;
    (*f->n)++;
    return 0;
}

int iotlb_iov(const struct iotlb *t, const struct devmem *m, uint64_t iova, uint64_t len,
              unsigned access, struct iovec *iov, unsigned *n, unsigned max)
{
    struct iov_fill f = { .iov = iov, .n = n, .start = *n, .max = max };
    int r = iotlb_walk(t, m, iova, len, access, fill_iov, &f);

    if (r)
        *n = f.start;
    return r;
}

struct contig {
    uint8_t *host, *next_host;
    uint64_t gpa, next_gpa;
    bool want_gpa;
};

static int check_contig(void *opaque, uint8_t *host, uint64_t gpa, uint64_t len)
{
    struct contig *c = opaque;

    if (!c->host) {
        c->host = host;
        c->gpa = gpa;
    } else if (host != c->next_host || (c->want_gpa && gpa != c->next_gpa)) {
        return -EFAULT;
    }
    c->next_host = host + len;
    c->next_gpa = gpa + len;
    return 0;
}

void *iotlb_host(const struct iotlb *t, const struct devmem *m, uint64_t iova, uint64_t len,
                 unsigned access, uint64_t *gpa)
{
    struct contig c = { .want_gpa = gpa != NULL };

    if (!len || iotlb_walk(t, m, iova, len, access, check_contig, &c))
        return NULL;
    if (gpa)
        *gpa = c.gpa;
    return c.host;
}
