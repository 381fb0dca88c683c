#include "core/vm/pci.h"

#include <errno.h>
#include <string.h>

#include "core/platform.h"
#include "ipc/le.h"

#define PCI_VENDOR_ID           0x00
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION            0x08
#define PCI_CACHE_LINE          0x0c
#define PCI_HEADER_TYPE         0x0e
#define PCI_BAR0                0x10
#define PCI_SUBSYS_VENDOR       0x2c
#define PCI_SUBSYS_ID           0x2e
#define PCI_CAP_PTR             0x34
#define PCI_INT_LINE            0x3c

#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_INTX_OFF    0x0400
#define PCI_STATUS_CAP_LIST     0x0010
#define PCI_BAR_MEM_64          0x04
#define PCI_BAR_PREFETCH        0x08

#define PORT_PCI_CONFIG_ADDRESS 0xcf8
#define PORT_PCI_CONFIG_DATA    0xcfc

/* The host bridge: Red Hat's id for a generic PCIe host bridge, class 06.00 (host bridge). */
#define HOST_VENDOR 0x1b36
#define HOST_DEVICE 0x0008

static void put_cfg(uint8_t *p, uint32_t off, uint32_t len, uint32_t v)
{
    for (uint32_t i = 0; i < len; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                  uint8_t revision, uint16_t subsys_id, const struct pci_dev_ops *ops, void *opaque)
{
    memset(d, 0, sizeof(*d));
    le_put16(d->cfg + PCI_VENDOR_ID, vendor);
    le_put16(d->cfg + PCI_VENDOR_ID + 2, device);
    d->cfg[PCI_REVISION] = revision;
    put_cfg(d->cfg, PCI_REVISION + 1, 3, class_code);
    le_put16(d->cfg + PCI_SUBSYS_VENDOR, vendor);
    le_put16(d->cfg + PCI_SUBSYS_ID, subsys_id);
    le_put16(d->wmask + PCI_COMMAND,
             PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_OFF);
    d->wmask[PCI_CACHE_LINE] = 0xff;
    d->wmask[PCI_CACHE_LINE + 1] = 0xff; /* latency timer */
    d->wmask[PCI_INT_LINE] = 0xff;
    d->ops = ops;
    d->opaque = opaque;
    d->cap_tail = PCI_CAP_PTR;
    d->cap_free = PCI_CAP_START;
    for (unsigned i = 0; i < PCI_NUM_BARS; i++)
        d->bar_at[i] = PCI_BAR_UNMAPPED;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The end of a BAR of d or of a function on the bus that [a, a + size) would overlap, or 0. */
static uint64_t taken_until(const struct pci_bus *b, const struct pci_dev *d, uint64_t a,
                            uint64_t size)
{
    for (unsigned s = 0; s <= PCI_SLOTS; s++) {
        const struct pci_dev *o = s < PCI_SLOTS ? b->slots[s] : d;

        for (unsigned i = 0; o && i < PCI_NUM_BARS; i++)
            if (o->bar_size[i] && overlaps(a, size, o->bar_home[i], o->bar_size[i]))
                return o->bar_home[i] + o->bar_size[i];
    }
    return 0;
}

/*
 * First fit, lowest address: a BAR freed by a removed function is used again. Each step moves
 * past one BAR, so the search ends after at most every BAR of the bus and of d. Bus lock held.
 */
static int window_alloc(const struct pci_bus *b, const struct pci_window *w,
                        const struct pci_dev *d, uint64_t size, uint64_t *addr)
{
    uint64_t a = w->start;

    for (unsigned n = 0; n <= (PCI_SLOTS + 1) * PCI_NUM_BARS; n++) {
        uint64_t next;

        a = (a + size - 1) & ~(size - 1);
        if (a < w->start || a > w->end || w->end - a < size)
            return -ENOSPC;
        next = taken_until(b, d, a, size);
        if (!next) {
            *addr = a;
            return 0;
        }
        a = next;
    }
    return -ENOSPC;
}

static void bar_store(struct pci_dev *d, unsigned bar, uint64_t addr)
{
    le_put32(d->cfg + PCI_BAR0 + 4 * bar, (uint32_t)addr | (d->bar64[bar] ? PCI_BAR_MEM_64 : 0) |
                                              (d->bar_prefetch[bar] ? PCI_BAR_PREFETCH : 0));
    if (d->bar64[bar])
        le_put32(d->cfg + PCI_BAR0 + 4 * (bar + 1), (uint32_t)(addr >> 32));
}

int pci_dev_add_bar(struct pci_bus *b, struct pci_dev *d, unsigned bar, uint64_t size, bool is64,
                    bool prefer64)
{
    struct pci_window *w =
        prefer64 && is64 && b->mmio64.end > b->mmio64.start ? &b->mmio64 : &b->mmio32;
    uint64_t addr, mask = ~(size - 1);
    int r;

    if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS) || size < 4096 ||
        (size & (size - 1)) || (!is64 && size > (1ull << 31)))
        return -EINVAL;
    pthread_mutex_lock(&b->lock);
    r = window_alloc(b, w, d, size, &addr);
    pthread_mutex_unlock(&b->lock);
    if (r)
        return r;
    d->bar_size[bar] = size;
    d->bar64[bar] = is64;
    d->bar_home[bar] = addr;
    le_put32(d->wmask + PCI_BAR0 + 4 * bar, (uint32_t)mask & ~0xfu);
    if (is64)
        le_put32(d->wmask + PCI_BAR0 + 4 * (bar + 1), (uint32_t)(mask >> 32));
    bar_store(d, bar, addr);
    return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, uint8_t len)
{
    uint32_t off = (d->cap_free + 3u) & ~3u;

    if (len < 2 || off + len > PCI_CFG_SIZE)
        return -ENOSPC;
    d->cfg[off] = id;
    d->cfg[off + 1] = 0;
    d->cfg[d->cap_tail] = (uint8_t)off;
    le_put16(d->cfg + PCI_STATUS, PCI_STATUS_CAP_LIST);
    d->cap_tail = (uint8_t)(off + 1);
    d->cap_free = (uint8_t)(off + len);
    return (int)off;
}

/* Where BAR `bar` decodes now: inside a window with memory decode on, else unmapped. */
static uint64_t bar_decode(const struct pci_bus *b, const struct pci_dev *d, unsigned bar)
{
    uint64_t addr = le_get32(d->cfg + PCI_BAR0 + 4 * bar) & ~0xfull;
    uint64_t size = d->bar_size[bar];
    const struct pci_window *w;

    if (d->bar64[bar])
        addr |= (uint64_t)le_get32(d->cfg + PCI_BAR0 + 4 * (bar + 1)) << 32;
    if (!(d->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY))
        return PCI_BAR_UNMAPPED;
    w = addr >= b->mmio32.start && addr < b->mmio32.end ? &b->mmio32 : &b->mmio64;
    if (addr < w->start || addr >= w->end || w->end - addr < size)
        return PCI_BAR_UNMAPPED;
    return addr;
}

static void update_bars(struct pci_bus *b, struct pci_dev *d)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        uint64_t at;

        if (!d->bar_size[i])
            continue;
        at = bar_decode(b, d, i);
        if (at == d->bar_at[i])
            continue;
        d->bar_at[i] = at;
        if (d->ops && d->ops->bar_mapped)
            d->ops->bar_mapped(d, i, at);
    }
}

static struct pci_dev *lookup(struct pci_bus *b, uint8_t bus, uint8_t dev, uint8_t fn)
{
    return bus == 0 && fn == 0 && dev < PCI_SLOTS ? b->slots[dev] : NULL;
}

/* The status register's interrupt bit can be the device's (a passed-through function). */
static bool reads_status(uint32_t reg, uint32_t len)
{
    return reg < PCI_STATUS + 2 && reg + len > PCI_STATUS;
}

uint32_t pci_cfg_read(struct pci_bus *b, uint8_t bus, uint8_t dev, uint8_t fn, uint32_t reg,
                      uint32_t len)
{
    struct pci_dev *d;
    uint32_t v = 0;

    if ((len != 1 && len != 2 && len != 4) || reg % len)
        return len == 1 ? 0xff : len == 2 ? 0xffff : UINT32_MAX;
    pthread_mutex_lock(&b->lock);
    d = lookup(b, bus, dev, fn);
    if (!d)
        v = UINT32_MAX;
    else if (reg + len <= PCI_CFG_SIZE && (reg + len > PCI_CAP_START || reads_status(reg, len)) &&
             d->ops && d->ops->cfg_read)
        d->ops->cfg_read(d, reg, len);
    if (d && reg + len <= PCI_CFG_SIZE)
        for (uint32_t i = 0; i < len; i++)
            v |= (uint32_t)d->cfg[reg + i] << (8 * i);
    /* Extended space of a conventional PCI function reads as zero: no capabilities. */
    pthread_mutex_unlock(&b->lock);
    return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

void pci_cfg_write(struct pci_bus *b, uint8_t bus, uint8_t dev, uint8_t fn, uint32_t reg,
                   uint32_t len, uint32_t val)
{
    struct pci_dev *d;

    if ((len != 1 && len != 2 && len != 4) || reg % len || reg + len > PCI_CFG_SIZE)
        return;
    pthread_mutex_lock(&b->lock);
    d = lookup(b, bus, dev, fn);
    if (d) {
        for (uint32_t i = 0; i < len; i++) {
            uint8_t m = d->wmask[reg + i];

            d->cfg[reg + i] = (uint8_t)((d->cfg[reg + i] & ~m) | ((val >> (8 * i)) & m));
        }
        if (reg < PCI_BAR0 + 4 * PCI_NUM_BARS && reg + len > PCI_COMMAND)
            update_bars(b, d);
        if (d->ops && d->ops->cfg_written)
            d->ops->cfg_written(d, reg, len);
    }
    pthread_mutex_unlock(&b->lock);
}

/* ECAM of every segment: 1 MiB (bus 0) each, segment s at s MiB. */
static void ecam_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct pci_host *h = opaque;
    uint64_t seg = off / GPA_ECAM_SEG_SIZE;

    if (seg < h->n)
        *val = pci_cfg_read(&h->bus[seg], 0, (off >> 15) & 31, (off >> 12) & 7, off & 0xfff, len);
}

static void ecam_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct pci_host *h = opaque;
    uint64_t seg = off / GPA_ECAM_SEG_SIZE;

    if (seg < h->n)
        pci_cfg_write(&h->bus[seg], 0, (off >> 15) & 31, (off >> 12) & 7, off & 0xfff, len,
                      (uint32_t)val);
}

static const struct bus_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

static void cf8_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct pci_bus *b = opaque;

    if (off == 0 && len == 4) {
        pthread_mutex_lock(&b->lock);
        *val = b->cf8;
        pthread_mutex_unlock(&b->lock);
    }
}

static void cf8_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct pci_bus *b = opaque;

    if (off == 0 && len == 4) {
        pthread_mutex_lock(&b->lock);
        b->cf8 = (uint32_t)val & 0x80fffffcu;
        pthread_mutex_unlock(&b->lock);
    }
}

static bool cfc_target(struct pci_bus *b, uint64_t off, uint8_t t[3], uint32_t *reg)
{
    uint32_t a;

    pthread_mutex_lock(&b->lock);
    a = b->cf8;
    pthread_mutex_unlock(&b->lock);
    if (!(a & 0x80000000u))
        return false;
    t[0] = (uint8_t)(a >> 16);
    t[1] = (a >> 11) & 31;
    t[2] = (a >> 8) & 7;
    *reg = (a & 0xfc) + (uint32_t)off;
    return true;
}

static void cfc_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    uint8_t t[3];
    uint32_t reg;

    if (off + len <= 4 && cfc_target(opaque, off, t, &reg))
        *val = pci_cfg_read(opaque, t[0], t[1], t[2], reg, len);
}

static void cfc_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    uint8_t t[3];
    uint32_t reg;

    if (off + len <= 4 && cfc_target(opaque, off, t, &reg))
        pci_cfg_write(opaque, t[0], t[1], t[2], reg, len, (uint32_t)val);
}

static const struct bus_ops cf8_ops = { .read = cf8_read, .write = cf8_write };
static const struct bus_ops cfc_ops = { .read = cfc_read, .write = cfc_write };

/* The function and BAR decoding gpa, found under the lock; the access itself runs without. */
static struct pci_dev *bar_lookup(struct pci_bus *b, uint64_t gpa, unsigned *bar, uint64_t *off)
{
    struct pci_dev *found = NULL;

    pthread_mutex_lock(&b->lock);
    for (unsigned s = 0; s < PCI_SLOTS && !found; s++) {
        struct pci_dev *d = b->slots[s];

        for (unsigned i = 0; d && i < PCI_NUM_BARS; i++) {
            if (d->bar_at[i] != PCI_BAR_UNMAPPED && gpa >= d->bar_at[i] &&
                gpa - d->bar_at[i] < d->bar_size[i]) {
                found = d;
                *bar = i;
                *off = gpa - d->bar_at[i];
                break;
            }
        }
    }
    pthread_mutex_unlock(&b->lock);
    return found;
}

/* The segment whose MMIO32 or MMIO64 window holds gpa (windows never overlap), or NULL. */
static struct pci_bus *bus_at(struct pci_host *h, uint64_t gpa)
{
    for (uint32_t i = 0; i < h->n; i++) {
        const struct pci_bus *b = &h->bus[i];

        if ((gpa >= b->mmio32.start && gpa < b->mmio32.end) ||
            (gpa >= b->mmio64.start && gpa < b->mmio64.end))
            return &h->bus[i];
    }
    return NULL;
}

static void window_access(struct pci_host *h, uint64_t gpa, uint32_t len, uint64_t *rval,
                          uint64_t wval)
{
    struct pci_bus *b = bus_at(h, gpa);
    unsigned bar;
    uint64_t boff;
    struct pci_dev *d = b ? bar_lookup(b, gpa, &bar, &boff) : NULL;

    if (d && rval && d->ops->bar_read)
        d->ops->bar_read(d, bar, boff, len, rval);
    else if (d && !rval && d->ops->bar_write)
        d->ops->bar_write(d, bar, boff, len, wval);
}

static void mmio32_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    window_access(opaque, GPA_MMIO32_START + off, len, val, 0);
}

static void mmio32_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    window_access(opaque, GPA_MMIO32_START + off, len, NULL, val);
}

static void mmio64_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct pci_host *h = opaque;

    window_access(h, h->mmio64_start + off, len, val, 0);
}

static void mmio64_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct pci_host *h = opaque;

    window_access(h, h->mmio64_start + off, len, NULL, val);
}

static const struct bus_ops mmio32_ops = { .read = mmio32_read, .write = mmio32_write };
static const struct bus_ops mmio64_ops = { .read = mmio64_read, .write = mmio64_write };

int pci_bus_init_seg(struct pci_bus *b, uint32_t seg, const struct pci_seg_layout *l)
{
    int r;

    memset(b, 0, sizeof(*b));
    r = pthread_mutex_init(&b->lock, NULL);
    if (r)
        return -r;
    b->seg = seg;
    b->mmio32 = (struct pci_window){ b, l->mmio32_start, l->mmio32_end };
    if (l->mmio64_end > l->mmio64_start)
        b->mmio64 = (struct pci_window){ b, l->mmio64_start, l->mmio64_end };
    else
        b->mmio64 = (struct pci_window){ b, 0, 0 };
    pci_dev_init(&b->host, HOST_VENDOR, HOST_DEVICE, 0x060000, 0, 0x1100, NULL, NULL);
    b->slots[0] = &b->host;
    return 0;
}

int pci_bus_init(struct pci_bus *b, uint64_t mmio64_start, uint64_t mmio64_end)
{
    struct pci_seg_layout l;

    pci_seg_layout(1, 0, mmio64_start, mmio64_end, &l);
    return pci_bus_init_seg(b, 0, &l);
}

void pci_bus_destroy(struct pci_bus *b)
{
    pthread_mutex_destroy(&b->lock);
}

int pci_host_register(struct pci_host *h, struct bus *pio, struct bus *mmio)
{
    int r = h->n >= 1 && h->n <= PCI_MAX_SEGMENTS ? 0 : -EINVAL;

    if (!r)
        r = bus_add(mmio, GPA_ECAM_START, h->n * GPA_ECAM_SEG_SIZE, &ecam_ops, h, "pci-ecam");
    if (!r)
        r = bus_add(mmio, GPA_MMIO32_START, GPA_MMIO32_END - GPA_MMIO32_START, &mmio32_ops, h,
                    "pci-mmio32");
    if (!r && h->mmio64_end > h->mmio64_start)
        r = bus_add(mmio, h->mmio64_start, h->mmio64_end - h->mmio64_start, &mmio64_ops, h,
                    "pci-mmio64");
    /* The legacy configuration ports reach segment 0 only, as on real machines. */
    if (!r)
        r = bus_add(pio, PORT_PCI_CONFIG_ADDRESS, 4, &cf8_ops, &h->bus[0], "pci-cf8");
    if (!r)
        r = bus_add(pio, PORT_PCI_CONFIG_DATA, 4, &cfc_ops, &h->bus[0], "pci-cfc");
    return r;
}

int pci_bus_add(struct pci_bus *b, struct pci_dev *d)
{
    int r = -ENOSPC;

    pthread_mutex_lock(&b->lock);
    for (uint8_t s = 1; s < PCI_SLOTS; s++) {
        if (!b->slots[s]) {
            b->slots[s] = d;
            d->slot = s;
            r = 0;
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return r;
}

int pci_bus_remove(struct pci_bus *b, struct pci_dev *d)
{
    int r = -ENOENT;

    pthread_mutex_lock(&b->lock);
    if (d->slot && d->slot < PCI_SLOTS && b->slots[d->slot] == d) {
        /* Memory decode off: every BAR reports unmapped before the slot empties. */
        le_put16(d->cfg + PCI_COMMAND, 0);
        update_bars(b, d);
        b->slots[d->slot] = NULL;
        r = 0;
    }
    pthread_mutex_unlock(&b->lock);
    return r;
}

void pci_bus_reset(struct pci_bus *b)
{
    pthread_mutex_lock(&b->lock);
    b->cf8 = 0;
    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        struct pci_dev *d = b->slots[s];

        if (!d)
            continue;
        le_put16(d->cfg + PCI_COMMAND, 0);
        for (unsigned i = 0; i < PCI_NUM_BARS; i++)
            if (d->bar_size[i])
                bar_store(d, i, d->bar_home[i]);
        update_bars(b, d);
    }
    pthread_mutex_unlock(&b->lock);
}
