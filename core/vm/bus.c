#include "core/vm/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *b)
{
    memset(b, 0, sizeof(*b));
}

int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque,
            const char *name)
{
    unsigned int i;

    if (len == 0 || base + len - 1 < base || !ops)
        return -EINVAL;
    if (b->n == BUS_MAX_RANGES)
        return -ENOSPC;
    for (i = 0; i < b->n; i++) {
        const struct bus_range *r = &b->ranges[i];

        if (base <= r->base + (r->len - 1) && r->base <= base + (len - 1))
            return -EEXIST;
        if (r->base > base)
            break;
    }
    memmove(&b->ranges[i + 1], &b->ranges[i], (b->n - i) * sizeof(b->ranges[0]));
    b->ranges[i] =
        (struct bus_range){ .base = base, .len = len, .ops = ops, .opaque = opaque, .name = name };
    b->n++;
    return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
    unsigned int lo = 0, hi = b->n;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;
        const struct bus_range *r = &b->ranges[mid];

        if (addr < r->base)
            hi = mid;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

uint64_t bus_ones(uint32_t len)
{
    return len >= 8 ? ~0ull : (1ull << (len * 8)) - 1;
}

int bus_read(const struct bus *b, uint64_t addr, uint32_t len, uint64_t *val)
{
    const struct bus_range *r = bus_find(b, addr);

    *val = bus_ones(len);
    if (!r || !r->ops->read)
        return r ? 1 : 0;
    r->ops->read(r->opaque, addr - r->base, len, val);
    *val &= bus_ones(len);
    return 1;
}

int bus_write(const struct bus *b, uint64_t addr, uint32_t len, uint64_t val)
{
    const struct bus_range *r = bus_find(b, addr);

    if (!r)
        return 0;
    if (r->ops->write)
        r->ops->write(r->opaque, addr - r->base, len, val & bus_ones(len));
    return 1;
}
