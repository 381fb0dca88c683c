#include "core/vm/ged.h"

void ged_init(struct ged *g, void (*pulse)(void *opaque), void *opaque)
{
    atomic_init(&g->pending, 0);
    g->pulse = pulse;
    g->opaque = opaque;
}

void ged_reset(struct ged *g)
{
    atomic_store(&g->pending, 0);
}

void ged_raise(struct ged *g, uint32_t events)
{
    atomic_fetch_or(&g->pending, events);
    if (g->pulse)
        g->pulse(g->opaque);
}

static void ged_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct ged *g = opaque;

    if (off == 0 && len == 4)
        *val = atomic_exchange(&g->pending, 0);
    else
        *val = 0;
}

static void ged_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    /* The register is read-only; writes are dropped. */
    (void)opaque;
    (void)off;
    (void)len;
    (void)val;
}

const struct bus_ops ged_bus_ops = {
    .read = ged_read,
    .write = ged_write,
};
