#include "core/vm/mem_hotplug.h"

#include <errno.h>
#include <string.h>

enum memhp_reg {
    MEMHP_BASE_LO = 0x00, /* write: MSEL */
    MEMHP_BASE_HI = 0x04,
    MEMHP_LEN_LO = 0x08,
    MEMHP_LEN_HI = 0x0c,
    MEMHP_PXM = 0x10,
    MEMHP_STATUS = 0x14,
    MEMHP_REGS_END = 0x18,
};

enum memhp_status {
    MEMHP_ENABLED = 1u << 0,
    MEMHP_INSERTING = 1u << 1,
    MEMHP_REMOVING = 1u << 2,
    MEMHP_EJECT = 1u << 3,
};

int mem_hotplug_init(struct mem_hotplug *h, uint32_t nslots, void (*eject)(void *opaque),
                     void *opaque)
{
    int err;

    if (nslots == 0 || nslots > MEM_HOTPLUG_MAX_SLOTS)
        return -EINVAL;
    memset(h, 0, sizeof(*h));
    err = pthread_mutex_init(&h->lock, NULL);
    if (err)
        return -err;
    h->nslots = nslots;
    h->eject = eject;
    h->opaque = opaque;
    return 0;
}

void mem_hotplug_destroy(struct mem_hotplug *h)
{
    pthread_mutex_destroy(&h->lock);
}

void mem_hotplug_reset(struct mem_hotplug *h)
{
    pthread_mutex_lock(&h->lock);
    h->sel = 0;
    for (uint32_t i = 0; i < h->nslots; i++) {
        h->slots[i].inserting = false;
        h->slots[i].removing = false;
    }
    pthread_mutex_unlock(&h->lock);
}

int mem_hotplug_insert(struct mem_hotplug *h, uint32_t slot, uint64_t base, uint64_t size)
{
    struct mem_hotplug_slot *s;
    int err = 0;

    if (slot >= h->nslots || size == 0 || base > UINT64_MAX - size + 1)
        return -EINVAL;
    pthread_mutex_lock(&h->lock);
    s = &h->slots[slot];
    if (s->enabled) {
        err = -EEXIST;
    } else {
        s->base = base;
        s->size = size;
        s->enabled = true;
        s->inserting = true;
    }
    pthread_mutex_unlock(&h->lock);
    return err;
}

bool mem_hotplug_take_ejects(struct mem_hotplug *h, uint64_t *mask)
{
    pthread_mutex_lock(&h->lock);
    *mask = h->ejected;
    h->ejected = 0;
    pthread_mutex_unlock(&h->lock);
    return *mask != 0;
}

static bool is_status(uint64_t off, uint32_t len)
{
    return off == MEMHP_STATUS && (len == 1 || len == 2 || len == 4);
}

static bool is_reg(uint64_t off, uint32_t len)
{
    return is_status(off, len) || (len == 4 && off < MEMHP_STATUS && off % 4 == 0);
}

/* Called with the lock held; sel is in range. */
static uint32_t slot_reg(const struct mem_hotplug_slot *s, uint64_t off)
{
    switch (off) {
    case MEMHP_BASE_LO:
        return (uint32_t)s->base;
    case MEMHP_BASE_HI:
        return (uint32_t)(s->base >> 32);
    case MEMHP_LEN_LO:
        return (uint32_t)s->size;
    case MEMHP_LEN_HI:
        return (uint32_t)(s->size >> 32);
    case MEMHP_STATUS:
        return (s->enabled ? MEMHP_ENABLED : 0) | (s->inserting ? MEMHP_INSERTING : 0) |
               (s->removing ? MEMHP_REMOVING : 0);
    default: /* MHPX */
        return 0;
    }
}

static void memhp_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct mem_hotplug *h = opaque;
    uint32_t v = 0;

    if (!is_reg(off, len)) {
        *val = 0;
        return;
    }
    pthread_mutex_lock(&h->lock);
    if (h->sel < h->nslots)
        v = slot_reg(&h->slots[h->sel], off);
    pthread_mutex_unlock(&h->lock);
    *val = v;
}

static void memhp_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct mem_hotplug *h = opaque;
    bool ejected = false;

    if (!is_reg(off, len))
        return;
    pthread_mutex_lock(&h->lock);
    if (off == MEMHP_BASE_LO) {
        h->sel = (uint32_t)val;
    } else if (off == MEMHP_STATUS && h->sel < h->nslots) {
        struct mem_hotplug_slot *s = &h->slots[h->sel];

        /* The guest acknowledges a Notify by writing the bit back. */
        if (val & MEMHP_INSERTING)
            s->inserting = false;
        if (val & MEMHP_REMOVING)
            s->removing = false;
        if (val & MEMHP_EJECT) {
            h->ejected |= 1ull << h->sel;
            ejected = true;
        }
    }
    pthread_mutex_unlock(&h->lock);
    /* Outside the lock: the callback may wake a thread that takes the ejects at once. */
    if (ejected && h->eject)
        h->eject(h->opaque);
}

const struct bus_ops mem_hotplug_bus_ops = {
    .read = memhp_read,
    .write = memhp_write,
};
