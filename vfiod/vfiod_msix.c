#include "vfiod/vfiod_msix.h"

#include <errno.h>
#include <stdbool.h>

#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_PTR         0x34
#define PCI_CAP_ID_MSIX     0x11
#define PCI_STD_HEADER_END  0x40
#define MSIX_CAP_LEN        12
/* 192 bytes of capability space hold at most 48 four-byte capabilities: a longer walk loops. */
#define MAX_CAPS 48

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vfiod_msix_find(const uint8_t *cfg, size_t len, struct vfiod_msix *m)
{
    size_t ptr;

    if (len < PCI_STD_HEADER_END)
        return -EINVAL;
    if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
        return -ENOENT;
    ptr = cfg[PCI_CAP_PTR] & 0xfcu;
    for (unsigned i = 0; i < MAX_CAPS && ptr >= PCI_STD_HEADER_END; i++) {
        if (ptr + 2 > len)
            return -ENOENT;
        if (cfg[ptr] == PCI_CAP_ID_MSIX) {
            uint32_t table, pba;

            if (ptr + MSIX_CAP_LEN > len)
                return -EINVAL;
            table = le32(cfg + ptr + 4);
            pba = le32(cfg + ptr + 8);
            m->table_size = (uint16_t)(((cfg[ptr + 2] | cfg[ptr + 3] << 8) & 0x7ffu) + 1u);
            m->table_bar = (uint8_t)(table & 7u);
            m->table_off = table & ~7u;
            m->pba_bar = (uint8_t)(pba & 7u);
            m->pba_off = pba & ~7u;
            return 0;
        }
        ptr = cfg[ptr + 1] & 0xfcu;
    }
    return -ENOENT;
}

struct range {
    uint64_t start, end; /* [start, end) */
};

/* The pages holding [off, off + len), as a range. */
static struct range page_span(uint64_t off, uint64_t len, uint64_t page)
{
    struct range r = { off & ~(page - 1), (off + len + page - 1) & ~(page - 1) };

    return r;
}

/* Appends [start, end) to out when it is not empty; false when out is full. */
static bool put(struct vfu_sparse_area *out, unsigned max, unsigned *n, uint64_t start,
                uint64_t end)
{
    if (end <= start)
        return true;
    if (*n >= max)
        return false;
    out[*n].offset = start;
    out[*n].size = end - start;
    (*n)++;
    return true;
}

/* Area a minus the holes (at most two), appended to out. */
static bool subtract(struct range a, const struct range *holes, unsigned nholes,
                     struct vfu_sparse_area *out, unsigned max, unsigned *n)
{
    struct range lo = holes[0], hi = holes[nholes > 1 ? 1 : 0];

    if (nholes == 0)
        return put(out, max, n, a.start, a.end);
    if (lo.start > hi.start) {
        struct range t = lo;

        lo = hi;
        hi = t;
    }
    /* Pieces: before lo, between lo and hi, after hi; each clipped to a. */
    if (!put(out, max, n, a.start, lo.start < a.end ? lo.start : a.end))
        return false;
    if (nholes > 1 &&
        !put(out, max, n, lo.end > a.start ? lo.end : a.start, hi.start < a.end ? hi.start : a.end))
        return false;
    if (lo.end > hi.end)
        hi.end = lo.end; /* hi nested in lo */
    return put(out, max, n, hi.end > a.start ? hi.end : a.start, a.end);
}

static void sort_merge(struct vfu_sparse_area *a, unsigned *n)
{
    unsigned k = 0;

    for (unsigned i = 1; i < *n; i++) {
        struct vfu_sparse_area t = a[i];
        unsigned j = i;

        for (; j > 0 && a[j - 1].offset > t.offset; j--)
            a[j] = a[j - 1];
        a[j] = t;
    }
    for (unsigned i = 1; i < *n; i++) {
        uint64_t end = a[k].offset + a[k].size;

        if (a[i].offset <= end) {
            uint64_t e2 = a[i].offset + a[i].size;

            if (e2 > end)
                a[k].size = e2 - a[k].offset;
        } else {
            a[++k] = a[i];
        }
    }
    if (*n)
        *n = k + 1;
}

int vfiod_msix_sparse(const struct vfiod_msix *m, unsigned bar, uint64_t size, uint64_t page,
                      const struct vfu_sparse_area *in, unsigned nin, struct vfu_sparse_area *out,
                      unsigned max)
{
    struct range holes[2];
    unsigned nholes = 0, n = 0;
    uint64_t bar_end;

    if (page == 0 || (page & (page - 1)) || page > (1ull << 30))
        return -EINVAL;
    /* The BAR's usable end: whole pages only (a BAR below a page is never mapped). */
    bar_end = size & ~(page - 1);
    if (m && m->table_bar == bar)
        holes[nholes++] = page_span(m->table_off, (uint64_t)m->table_size * 16u, page);
    if (m && m->pba_bar == bar)
        holes[nholes++] = page_span(m->pba_off, ((uint64_t)m->table_size + 63u) / 64u * 8u, page);
    for (unsigned i = 0; i < (nin ? nin : 1); i++) {
        struct range a = { 0, bar_end };

        if (nin) {
            /* Overflow-safe clip: an area past the BAR or wrapping around is cut at its end. */
            a.start = in[i].offset;
            a.end = in[i].size > UINT64_MAX - in[i].offset ? UINT64_MAX : in[i].offset + in[i].size;
            if (a.start >= bar_end)
                continue;
            if (a.end > bar_end)
                a.end = bar_end;
            a.start = (a.start + page - 1) & ~(page - 1);
            a.end &= ~(page - 1);
        }
        if (a.end <= a.start)
            continue;
        if (!subtract(a, holes, nholes, out, max, &n))
            return -E2BIG;
    }
    sort_merge(out, &n);
    return (int)n;
}
