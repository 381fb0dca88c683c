#include "core/vm/pci_hotplug.h"

#include <errno.h>
#include <string.h>

enum phpr_reg {
    PHPR_PCIU = 0,
    PHPR_PCID = 4,
    PHPR_B0EJ = 8,
    PHPR_PSEG = 12,
    PHPR_REGS_END = 16,
};

#define PHPR_SLOTS 32

int pci_hotplug_init(struct pci_hotplug *h, uint32_t nseg, void (*eject)(void *opaque),
                     void *opaque)
{
    int err;

    if (nseg == 0 || nseg > PCI_MAX_SEGMENTS)
        return -EINVAL;
    memset(h, 0, sizeof(*h));
    err = pthread_mutex_init(&h->lock, NULL);
    if (err)
        return -err;
    h->nseg = nseg;
    h->eject = eject;
    h->opaque = opaque;
    return 0;
}

void pci_hotplug_destroy(struct pci_hotplug *h)
{
    pthread_mutex_destroy(&h->lock);
}

void pci_hotplug_reset(struct pci_hotplug *h)
{
    pthread_mutex_lock(&h->lock);
    h->sel = 0;
    memset(h->up, 0, sizeof(h->up));
    memset(h->down, 0, sizeof(h->down));
    pthread_mutex_unlock(&h->lock);
}

int pci_hotplug_announce(struct pci_hotplug *h, uint32_t seg, unsigned slot, bool add)
{
    if (seg >= h->nseg || slot >= PHPR_SLOTS)
        return -EINVAL;
    pthread_mutex_lock(&h->lock);
    if (add)
        h->up[seg] |= 1u << slot;
    else
        h->down[seg] |= 1u << slot;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

bool pci_hotplug_take_ejects(struct pci_hotplug *h, uint32_t *masks)
{
    bool any = false;

    pthread_mutex_lock(&h->lock);
    for (uint32_t s = 0; s < h->nseg; s++) {
        masks[s] = h->ejected[s];
        any |= masks[s] != 0;
        h->ejected[s] = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return any;
}

/* Only aligned dword accesses inside the 16 bytes are register accesses; the AML's Field is
 * DWordAcc, so nothing else comes from a well-behaved guest. */
static bool is_reg(uint64_t off, uint32_t len)
{
    return len == 4 && off < PHPR_REGS_END && off % 4 == 0;
}

static void phpr_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct pci_hotplug *h = opaque;
    uint32_t v = 0;

    if (!is_reg(off, len)) {
        *val = 0;
        return;
    }
    pthread_mutex_lock(&h->lock);
    switch (off) {
    case PHPR_PCIU:
        v = h->up[h->sel];
        h->up[h->sel] = 0;
        break;
    case PHPR_PCID:
        v = h->down[h->sel];
        h->down[h->sel] = 0;
        break;
    case PHPR_PSEG:
        v = h->sel;
        break;
    default: /* B0EJ is write-only */
        break;
    }
    pthread_mutex_unlock(&h->lock);
    *val = v;
}

static void phpr_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct pci_hotplug *h = opaque;
    uint32_t v = (uint32_t)val;
    bool ejected = false;

    if (!is_reg(off, len))
        return;
    pthread_mutex_lock(&h->lock);
    if (off == PHPR_B0EJ && v) {
        h->ejected[h->sel] |= v;
        ejected = true;
    } else if (off == PHPR_PSEG && v < h->nseg) {
        h->sel = v;
    }
    pthread_mutex_unlock(&h->lock);
    /* Outside the lock: the callback may wake a thread that takes the ejects at once. */
    if (ejected && h->eject)
        h->eject(h->opaque);
}

const struct bus_ops pci_hotplug_bus_ops = {
    .read = phpr_read,
    .write = phpr_write,
};
