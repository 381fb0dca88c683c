/*
 * The mappable parts of a passed-through function's BARs: mapped once from the fd the server
 * sent with the region info (which the caller then closes: see vfio_pci.c), and put in KVM
 * memory slots wherever the guest's BAR decodes, so those accesses never exit. The pages of the
 * MSI-X table and PBA are never mapped, whatever the server says: the core emulates them. A
 * slot is refused (the BAR stays trapped and works through REGION_READ/WRITE, slowly) when it
 * would cover guest RAM, another slot or another BAR decoding at that moment; a BAR that another
 * function later moves over a mapped one is the guest's own mess (the slot wins over the other
 * BAR's trapped accesses), as on real hardware where decoding would collide.
 */
#include <errno.h>
#include <string.h>

#include "core/vm/vfio_pci.h"
#include "core/vm/vfio_pci_sys.h"

#define PAGE 4096ull

struct span {
    uint64_t lo, hi;
};

static uint64_t page_down(uint64_t v)
{
    return v & ~(PAGE - 1);
}

static uint64_t page_up(uint64_t v)
{
    return v > UINT64_MAX - (PAGE - 1) ? UINT64_MAX & ~(PAGE - 1) : page_down(v + PAGE - 1);
}

static void add_piece(struct vfio_pci_dev *d, unsigned bar, const struct vfuc_region *r,
                      uint64_t off, uint64_t size)
{
    struct vfio_bar *b = &d->bars[bar];
    void *host;

    if (b->nmaps >= VFIO_BAR_MAPS || r->offset > UINT64_MAX - off) {
        log_warn(d->ctx->log, "%s: BAR %u: area at 0x%llx left trapped", d->id, bar,
                 (unsigned long long)off);
        return;
    }
    host = vfio_sys_map_bar(r->fd, r->offset + off, size);
    if (!host) {
        log_warn(d->ctx->log, "%s: BAR %u: mmap of 0x%llx bytes at 0x%llx: %s: left trapped", d->id,
                 bar, (unsigned long long)size, (unsigned long long)off, strerror(errno));
        return;
    }
    b->maps[b->nmaps++] =
        (struct vfio_map){ .off = off, .size = size, .host = host, .slot = VFIO_NO_SLOT };
}

/* Removes [t.lo, t.hi) from the n spans in s (room for n + 1). Returns the new count. */
static unsigned carve(struct span *s, unsigned n, struct span t)
{
    unsigned out = n;

    for (unsigned i = 0; i < n; i++) {
        struct span p = s[i];

        if (t.hi <= p.lo || t.lo >= p.hi)
            continue;
        s[i] = (struct span){ p.lo, t.lo > p.lo ? t.lo : p.lo };
        if (t.hi < p.hi)
            s[out++] = (struct span){ t.hi, p.hi };
    }
    return out;
}

void vfio_bar_map(struct vfio_pci_dev *d, unsigned bar, const struct vfuc_region *r)
{
    struct vfu_sparse_area whole = { 0, r->size };
    const struct vfu_sparse_area *a = r->nsparse ? r->sparse : &whole;
    unsigned na = r->nsparse ? r->nsparse : 1;
    bool msix = d->msix_nvec && d->msix_bar == bar;
    struct span traps[2] = {
        { page_down(d->msix_table),
          page_up(d->msix_table + (uint64_t)d->msix_nvec * MSIX_ENTRY_SIZE) },
        { page_down(d->msix_pba), page_up(d->msix_pba + (d->msix_nvec + 63u) / 64u * 8u) },
    };

    if (r->fd < 0)
        return;
    for (unsigned i = 0; i < na; i++) {
        struct span s[3] = { { a[i].offset, a[i].offset + a[i].size } };
        unsigned n = 1;

        /* The client checked offset + size against the region; mmap needs whole pages. */
        if (!a[i].size || a[i].offset % PAGE || a[i].size % PAGE) {
            log_info(d->ctx->log, "%s: BAR %u: unaligned area at 0x%llx left trapped", d->id, bar,
                     (unsigned long long)a[i].offset);
            continue;
        }
        if (msix) {
            n = carve(s, n, traps[0]);
            n = carve(s, n, traps[1]);
        }
        for (unsigned k = 0; k < n; k++)
            if (s[k].hi > s[k].lo)
                add_piece(d, bar, r, s[k].lo, s[k].hi - s[k].lo);
    }
}

static bool crosses(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Whether [gpa, gpa + size) may become a slot: no RAM, no other slot, no other BAR there. */
static const char *conflict(const struct vfio_pci_dev *d, unsigned bar, uint64_t gpa, uint64_t size)
{
    const struct vfio_pci_ctx *c = d->ctx;

    for (uint32_t i = 0; i < c->mem->nregions; i++)
        if (crosses(gpa, size, c->mem->regions[i].gpa, c->mem->regions[i].size))
            return "guest RAM";
    for (unsigned i = 0; i < VFIO_MAX_SLOTS; i++)
        if (c->slots[i].used && crosses(gpa, size, c->slots[i].gpa, c->slots[i].size))
            return "another mapped BAR";
    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        const struct pci_dev *o = c->bus->slots[s];

        for (unsigned i = 0; o && i < PCI_NUM_BARS; i++) {
            if (!o->bar_size[i] || o->bar_at[i] == PCI_BAR_UNMAPPED || (o == &d->pci && i == bar))
                continue;
            if (crosses(gpa, size, o->bar_at[i], o->bar_size[i]))
                return "another BAR";
        }
    }
    return NULL;
}

static void slot_del(struct vfio_pci_dev *d, struct vfio_map *m)
{
    struct vfio_pci_ctx *c = d->ctx;

    if (m->slot == VFIO_NO_SLOT)
        return;
    c->set_slot(c->vm_fd, VFIO_SLOT_FIRST + m->slot, c->slots[m->slot].gpa, 0, m->host);
    c->slots[m->slot].used = false;
    m->slot = VFIO_NO_SLOT;
}

static void slot_add(struct vfio_pci_dev *d, unsigned bar, struct vfio_map *m, uint64_t gpa)
{
    struct vfio_pci_ctx *c = d->ctx;
    const char *why = conflict(d, bar, gpa, m->size);
    unsigned s = 0;
    int r;

    if (why) {
        log_warn(c->log, "%s: BAR %u at 0x%llx would cover %s: left trapped", d->id, bar,
                 (unsigned long long)gpa, why);
        return;
    }
    while (s < VFIO_MAX_SLOTS && c->slots[s].used)
        s++;
    if (s == VFIO_MAX_SLOTS) {
        log_warn(c->log, "%s: BAR %u: no free KVM slot: left trapped", d->id, bar);
        return;
    }
    r = c->set_slot(c->vm_fd, VFIO_SLOT_FIRST + s, gpa, m->size, m->host);
    if (r) {
        log_warn(c->log, "%s: BAR %u: KVM_SET_USER_MEMORY_REGION at 0x%llx: %s: left trapped",
                 d->id, bar, (unsigned long long)gpa, strerror(-r));
        return;
    }
    c->slots[s].used = true;
    c->slots[s].gpa = gpa;
    c->slots[s].size = m->size;
    m->slot = s;
}

void vfio_bar_mapped(struct vfio_pci_dev *d, unsigned bar, uint64_t addr)
{
    struct vfio_bar *b;

    if (bar >= PCI_NUM_BARS)
        return;
    b = &d->bars[bar];
    for (unsigned i = 0; i < b->nmaps; i++)
        slot_del(d, &b->maps[i]);
    if (addr == PCI_BAR_UNMAPPED)
        return;
    for (unsigned i = 0; i < b->nmaps; i++)
        slot_add(d, bar, &b->maps[i], addr + b->maps[i].off);
}

void vfio_bar_unmap_all(struct vfio_pci_dev *d)
{
    for (unsigned bar = 0; bar < PCI_NUM_BARS; bar++) {
        struct vfio_bar *b = &d->bars[bar];

        for (unsigned i = 0; i < b->nmaps; i++) {
            slot_del(d, &b->maps[i]);
            vfio_sys_unmap_bar(b->maps[i].host, b->maps[i].size);
        }
        b->nmaps = 0;
    }
}
