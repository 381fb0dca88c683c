/*
 * The passed-through function's config space and trapped BAR accesses (see vfio_pci.h for what
 * the guest sees).
 *
 * Trust decision: the core never keeps the VFIO device fd. GET_REGION_INFO hands it over with
 * each mappable BAR; the core mmaps the BAR's mappable areas once, at VM build, and closes the
 * fd right away (vfio_pci_bar.c). With the fd gone, no thread of the core can pread/pwrite
 * config space (command register, function reset, MSI-X table behind the guest's back) or issue
 * a VFIO ioctl on it, so the core's seccomp filter needs no fd-specific rule and allows no VFIO
 * ioctl at all; what stays is what a memory slot gives the guest anyway (the mapped BAR pages).
 * Everything else reaches the device through vfiod, which checks each request. crosvm hands the
 * same fd to its main process and keeps it; trapping every BAR access instead would cost an
 * exit and a round trip per MMIO access on the fast path.
 */
#include "core/vm/vfio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/kvm_ioctl.h"
#include "ipc/le.h"

#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_REVISION        0x08
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYS_VENDOR   0x2c
#define PCI_CAP_PTR         0x34
#define PCI_STATUS_CAP_LIST 0x10
#define STATUS_INTX         0x08

#define CMD_IO              0x0001u
#define CMD_MEMORY          0x0002u
#define CMD_MASTER          0x0004u
#define CMD_INTX_OFF        0x0400u

#define BAR_IO              0x1u
#define BAR_TYPE_MASK       0x6u
#define BAR_TYPE_64         0x4u
#define BAR_PREFETCH        0x8u
/* Larger BARs would not fit the MMIO64 window anyway. */
#define BAR_MAX_SIZE (1ull << 36)
/* Prefetchable 64-bit BARs and big ones go to MMIO64, the rest below 4 GiB (512 MiB there). */
#define BAR_PREFER64_SIZE (64ull << 20)

#define CAP_PM            0x01
#define CAP_MSI           0x05
#define CAP_PCIE          0x10
#define CAP_MSIX          0x11
#define PM_CAP_LEN        8
#define PCIE_V1_LEN       0x24
#define PCIE_V2_LEN       0x3c
#define MAX_CAPS          48

#define PCIE_FLAGS        2
#define PCIE_TYPE_SHIFT   4
#define PCIE_TYPE_MASK    0xf0u
#define PCIE_TYPE_EP      0x0
#define PCIE_TYPE_LEG_EP  0x1
#define PCIE_TYPE_RCIEP   0x9
#define PCIE_SLOT_IMPL    0x100u
#define PCIE_LINK_FIRST   0x0c /* link, slot and root registers: zero for an integrated EP */
#define PCIE_LINK_END     0x24
#define PCIE_LINK2_FIRST  0x2c
#define PCIE_LINK2_END    0x3c

void vfio_pci_failed(struct vfio_pci_dev *d, const char *what, int r)
{
    if (r == -ENOTCONN || r == -ETIMEDOUT || r == -ECONNRESET || r == -EPIPE || r == -EPROTO ||
        d->cl.broken) {
        if (!__atomic_exchange_n(&d->dead, true, __ATOMIC_RELAXED))
            log_error(d->ctx->log,
                      "%s: vfio-user connection lost (%s: %s): the device reads as all-ones", d->id,
                      what, strerror(-r));
        return;
    }
    /* The guest can repeat this at will: not worth more than a debug line. */
    log_debug(d->ctx->log, "%s: %s: %s", d->id, what, strerror(-r));
}

static void dev_cfg_write16(struct vfio_pci_dev *d, uint32_t off, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    int r;

    if (vfio_pci_gone(d))
        return; /* dev_cfg keeps the old value: vfio_pci_reconnect writes the guest's */
    r = vfuc_region_write(&d->cl, VFU_PCI_CONFIG_REGION_INDEX, off, b, 2);
    if (r)
        vfio_pci_failed(d, "config write", r);
    else
        memcpy(d->dev_cfg + off, b, 2);
}

/* The device's command register follows the guest's memory, bus-master and INTx-disable bits
 * (vfio-pci masks INTx while INTx-disable is set); I/O stays off (no I/O BARs), and so does
 * INTx of a function that shows no pin. */
static void sync_command(struct vfio_pci_dev *d)
{
    uint16_t guest = le_get16(d->pci.cfg + PCI_COMMAND) & (CMD_MEMORY | CMD_MASTER | CMD_INTX_OFF);
    uint16_t dev = le_get16(d->dev_cfg + PCI_COMMAND);
    uint16_t want = (uint16_t)((dev & ~(CMD_IO | CMD_MEMORY | CMD_MASTER | CMD_INTX_OFF)) | guest |
                               (d->intx_pin ? 0 : CMD_INTX_OFF));

    if (want != dev)
        dev_cfg_write16(d, PCI_COMMAND, want);
}

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t n)
{
    return n && off < start + n && start < off + len;
}

static void vfio_cfg_written(struct pci_dev *p, uint32_t off, uint32_t len)
{
    struct vfio_pci_dev *d = p->opaque;

    if (overlaps(off, len, PCI_COMMAND, 2))
        sync_command(d);
    vfio_irq_cfg_written(d, off, len);
}

/* The status register's interrupt bit is the device's (INTx drivers such as uio_pci_generic
 * check it to tell whether the shared line was theirs). */
static void vfio_cfg_read(struct pci_dev *p, uint32_t off, uint32_t len)
{
    struct vfio_pci_dev *d = p->opaque;
    uint8_t st[2];
    int r;

    if (!d->intx_pin || !overlaps(off, len, PCI_STATUS, 2) || d->dead)
        return;
    r = vfuc_region_read(&d->cl, VFU_PCI_CONFIG_REGION_INDEX, PCI_STATUS, st, sizeof(st));
    if (r) {
        vfio_pci_failed(d, "config read", r);
        return;
    }
    d->pci.cfg[PCI_STATUS] =
        (uint8_t)((d->pci.cfg[PCI_STATUS] & ~STATUS_INTX) | (st[0] & STATUS_INTX));
}

static uint64_t ones(uint32_t len)
{
    return len >= 8 ? UINT64_MAX : (1ull << (8 * len)) - 1;
}

static void vfio_bar_read(struct pci_dev *p, unsigned bar, uint64_t off, uint32_t len,
                          uint64_t *val)
{
    struct vfio_pci_dev *d = p->opaque;
    uint64_t v = 0;
    int r;

    if (bar >= PCI_NUM_BARS || len > 8 || vfio_irq_bar_read(d, bar, off, len, val))
        return;
    *val = ones(len);
    /* Past the device's region (a BAR rounded up to a page): nothing there. */
    if (off >= d->bars[bar].dev_size || d->bars[bar].dev_size - off < len)
        return;
    if (vfio_pci_gone(d))
        return;
    r = vfuc_region_read(&d->cl, bar, off, &v, len);
    if (r)
        vfio_pci_failed(d, "BAR read", r);
    else
        *val = v;
}

static void vfio_bar_write(struct pci_dev *p, unsigned bar, uint64_t off, uint32_t len,
                           uint64_t val)
{
    struct vfio_pci_dev *d = p->opaque;
    int r;

    if (bar >= PCI_NUM_BARS || len > 8 || vfio_irq_bar_write(d, bar, off, len, val))
        return;
    if (off >= d->bars[bar].dev_size || d->bars[bar].dev_size - off < len || vfio_pci_gone(d))
        return;
    r = vfuc_region_write(&d->cl, bar, off, &val, len);
    if (r)
        vfio_pci_failed(d, "BAR write", r);
}

static void vfio_pci_bar_mapped(struct pci_dev *p, unsigned bar, uint64_t addr)
{
    vfio_bar_mapped(p->opaque, bar, addr);
}

static const struct pci_dev_ops vfio_pci_ops = {
    .bar_read = vfio_bar_read,
    .bar_write = vfio_bar_write,
    .cfg_written = vfio_cfg_written,
    .cfg_read = vfio_cfg_read,
    .bar_mapped = vfio_pci_bar_mapped,
};

static int read_config(struct vfio_pci_dev *d)
{
    struct vfuc_region cfg;
    int r = vfuc_region_info(&d->cl, VFU_PCI_CONFIG_REGION_INDEX, &cfg);

    if (r)
        return r;
    if (cfg.fd >= 0)
        close(cfg.fd); /* config space is never mapped */
    if (cfg.size < PCI_CFG_SIZE || !(cfg.flags & VFU_REGION_F_READ))
        return -ENODEV;
    return vfuc_region_read(&d->cl, VFU_PCI_CONFIG_REGION_INDEX, 0, d->dev_cfg, PCI_CFG_SIZE);
}

static uint64_t pow2_at_least(uint64_t v)
{
    uint64_t p = 4096;

    while (p < v && p < BAR_MAX_SIZE)
        p <<= 1;
    return p;
}

/* One memory BAR: sized by the server, placed by the core's allocator, mapped where it can. */
static int setup_bar(struct vfio_pci_dev *d, unsigned i, bool is64, bool prefetch)
{
    struct vfuc_region reg;
    uint64_t size;
    int r = vfuc_region_info(&d->cl, i, &reg);

    if (r)
        return r;
    if (!reg.size || reg.size > BAR_MAX_SIZE) {
        if (reg.size)
            log_warn(d->ctx->log, "%s: BAR %u of 0x%llx bytes is too large: left out", d->id, i,
                     (unsigned long long)reg.size);
        goto out;
    }
    size = pow2_at_least(reg.size);
    if (!is64 && size > (1ull << 31)) {
        log_warn(d->ctx->log, "%s: 32-bit BAR %u too large: left out", d->id, i);
        goto out;
    }
    d->pci.bar_prefetch[i] = prefetch;
    r = pci_dev_add_bar(d->ctx->bus, &d->pci, i, size, is64,
                        is64 && (prefetch || size >= BAR_PREFER64_SIZE));
    if (r == -ENOSPC && is64)
        r = pci_dev_add_bar(d->ctx->bus, &d->pci, i, size, is64, true);
    if (r) {
        log_error(d->ctx->log, "%s: no room for BAR %u (0x%llx bytes)", d->id, i,
                  (unsigned long long)size);
        goto out;
    }
    d->bars[i].dev_size = reg.size;
    if (reg.flags & VFU_REGION_F_MMAP)
        vfio_bar_map(d, i, &reg);
out:
    if (reg.fd >= 0)
        close(reg.fd); /* see the trust decision at the top */
    return r;
}

static int setup_bars(struct vfio_pci_dev *d)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        uint32_t v = le_get32(d->dev_cfg + PCI_BAR0 + 4 * i);
        bool is64 = (v & BAR_TYPE_MASK) == BAR_TYPE_64;
        int r;

        if (v & BAR_IO) {
            if (v & ~3u)
                log_warn(d->ctx->log, "%s: BAR %u is an I/O BAR: not supported, left out", d->id,
                         i);
            continue;
        }
        if (is64 && i + 1 >= PCI_NUM_BARS)
            continue;
        r = setup_bar(d, i, is64, v & BAR_PREFETCH);
        if (r)
            return r;
        if (is64)
            i++; /* the upper half */
    }
    return 0;
}

/* The device's capability list, bounded: offsets in order, at most MAX_CAPS. */
static unsigned list_caps(const uint8_t *cfg, uint8_t *offs)
{
    uint8_t at = cfg[PCI_CAP_PTR] & 0xfc;
    unsigned n = 0;

    if (!(le_get16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    while (at >= PCI_CAP_START && n < MAX_CAPS) {
        bool seen = false;

        for (unsigned i = 0; i < n; i++)
            seen |= offs[i] == at;
        if (seen)
            break; /* a loop */
        offs[n++] = at;
        at = cfg[at + 1] & 0xfc;
    }
    return n;
}

/* A capability shown read-only: its bytes copied, nothing writable. */
static int copy_cap(struct vfio_pci_dev *d, uint8_t dev_off, uint32_t len)
{
    int c;

    if (dev_off + len > PCI_CFG_SIZE)
        len = PCI_CFG_SIZE - dev_off;
    c = pci_dev_add_cap(&d->pci, d->dev_cfg[dev_off], (uint8_t)len);
    if (c < 0)
        return c;
    memcpy(d->pci.cfg + c + 2, d->dev_cfg + dev_off + 2, len - 2);
    return c;
}

/* PCI Express, as an integrated endpoint of the root complex: the guest's bus 0 has no root
 * port, so there is no link to describe. */
static int copy_pcie(struct vfio_pci_dev *d, uint8_t dev_off)
{
    uint16_t flags = le_get16(d->dev_cfg + dev_off + PCIE_FLAGS);
    unsigned type = (flags & PCIE_TYPE_MASK) >> PCIE_TYPE_SHIFT;
    int c;

    if (type != PCIE_TYPE_EP && type != PCIE_TYPE_LEG_EP && type != PCIE_TYPE_RCIEP) {
        log_info(d->ctx->log, "%s: PCIe port type %u: capability hidden", d->id, type);
        return 0;
    }
    c = copy_cap(d, dev_off, (flags & 0xf) >= 2 ? PCIE_V2_LEN : PCIE_V1_LEN);
    if (c < 0)
        return c;
    flags = (uint16_t)((flags & ~(PCIE_TYPE_MASK | PCIE_SLOT_IMPL)) | PCIE_TYPE_RCIEP
                                                                          << PCIE_TYPE_SHIFT);
    le_put16(d->pci.cfg + c + PCIE_FLAGS, flags);
    for (unsigned i = PCIE_LINK_FIRST; i < PCIE_LINK_END && c + i < PCI_CFG_SIZE; i++)
        d->pci.cfg[c + i] = 0;
    for (unsigned i = PCIE_LINK2_FIRST; i < PCIE_LINK2_END && c + i < PCI_CFG_SIZE; i++)
        d->pci.cfg[c + i] = 0;
    return 0;
}

/* Builds the guest's capability list in the device's order: what vfio_pci.h says is shown. */
static int setup_caps(struct vfio_pci_dev *d, const uint8_t *offs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t at = offs[i], id = d->dev_cfg[at];
        int r = 0;

        if (id == CAP_PM)
            r = copy_cap(d, at, PM_CAP_LEN);
        else if (id == CAP_PCIE)
            r = copy_pcie(d, at);
        else if (id == CAP_MSI)
            r = vfio_irq_add_msi(d, at);
        else if (id == CAP_MSIX && d->msix_nvec)
            r = vfio_irq_add_msix(d);
        else
            log_debug(d->ctx->log, "%s: capability 0x%02x at 0x%02x hidden", d->id, id, at);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_device(struct vfio_pci_dev *d, char *err, size_t errlen)
{
    struct vfu_device_info info;
    int r = vfuc_device_info(&d->cl, &info);

    if (r) {
        snprintf(err, errlen, "%s: DEVICE_GET_INFO: %s", d->id, strerror(-r));
        return r;
    }
    if (!(info.flags & VFU_DEV_F_PCI) || info.num_regions <= VFU_PCI_CONFIG_REGION_INDEX) {
        snprintf(err, errlen, "%s: not a PCI device (flags 0x%x, %u regions)", d->id, info.flags,
                 info.num_regions);
        return -ENODEV;
    }
    r = read_config(d);
    if (r) {
        snprintf(err, errlen, "%s: reading config space: %s", d->id, strerror(-r));
        return r;
    }
    if (d->dev_cfg[PCI_HEADER_TYPE] & 0x7f) {
        snprintf(err, errlen, "%s: header type 0x%02x: only type-0 functions pass through", d->id,
                 d->dev_cfg[PCI_HEADER_TYPE]);
        return -ENODEV;
    }
    return 0;
}

/* DMA_MAP of one RAM region, IOVA = guest-physical address (no vIOMMU). */
static int dma_map_one(struct vfio_pci_dev *d, const struct guest_mem_region *g, char *err,
                       size_t errlen)
{
    int r = g->fd < 0 ? -EINVAL
                      : vfuc_dma_map(&d->cl, g->fd, g->fd_offset, g->gpa, g->size,
                                     VFU_DMA_READ | VFU_DMA_WRITE);

    if (r)
        snprintf(err, errlen, "%s: DMA_MAP of RAM at 0x%llx: %s", d->id, (unsigned long long)g->gpa,
                 strerror(-r));
    return r;
}

int vfio_pci_map_region(struct vfio_pci_dev *d, const struct guest_mem_region *g, char *err,
                        size_t errlen)
{
    return vfio_pci_gone(d) ? 0 : dma_map_one(d, g, err, errlen);
}

void vfio_pci_unmap_region(struct vfio_pci_dev *d, const struct guest_mem_region *g)
{
    int r = vfio_pci_gone(d) ? 0 : vfuc_dma_unmap(&d->cl, g->gpa, g->size);

    if (r)
        vfio_pci_failed(d, "DMA_UNMAP of hot-added RAM", r);
}

/* All of guest RAM for the device's DMA. */
static int map_dma(struct vfio_pci_dev *d, char *err, size_t errlen)
{
    const struct guest_mem *m = d->ctx->mem;
    int r = 0;

    for (uint32_t i = 0; !r && i < m->nregions; i++)
        if (!m->regions[i].core_only) /* a private pmem mapping: vfiod cannot map it */
            r = dma_map_one(d, &m->regions[i], err, errlen);
    return r;
}

static int build(struct vfio_pci_dev *d, char *err, size_t errlen)
{
    const uint8_t *c = d->dev_cfg;
    uint8_t offs[MAX_CAPS];
    unsigned n;
    int r = check_device(d, err, errlen);

    if (r)
        return r;
    pci_dev_init(&d->pci, le_get16(c), le_get16(c + 2), le_get32(c + PCI_REVISION) >> 8,
                 c[PCI_REVISION], le_get16(c + PCI_SUBSYS_VENDOR + 2), &vfio_pci_ops, d);
    memcpy(d->pci.cfg + PCI_SUBSYS_VENDOR, c + PCI_SUBSYS_VENDOR, 2);
    n = list_caps(c, offs);
    /* MSI-X first: its pages stay out of the BAR mappings. */
    for (unsigned i = 0; i < n; i++)
        if (c[offs[i]] == CAP_MSIX && vfio_irq_find_msix(d, offs[i]) < 0)
            log_warn(d->ctx->log, "%s: unusable MSI-X capability: hidden", d->id);
    r = setup_bars(d);
    if (r) {
        snprintf(err, errlen, "%s: BARs: %s", d->id, strerror(-r));
        return r;
    }
    r = setup_caps(d, offs, n);
    vfio_irq_add_intx(d);
    if (!r)
        r = vfio_irq_make_fds(d);
    if (r) {
        snprintf(err, errlen, "%s: capabilities: %s", d->id, strerror(-r));
        return r;
    }
    sync_command(d); /* quiet until the guest enables it */
    r = pci_bus_add(d->ctx->bus, &d->pci);
    if (r)
        snprintf(err, errlen, "%s: no free PCI slot", d->id);
    return r;
}

void vfio_pci_ctx_init(struct vfio_pci_ctx *ctx, int vm_fd, struct gsi_table *gsi,
                       const struct guest_mem *mem, const struct log *log, struct pci_bus *bus)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->vm_fd = vm_fd;
    ctx->gsi = gsi;
    ctx->mem = mem;
    ctx->log = log;
    ctx->bus = bus;
    ctx->set_slot = kvm_set_user_memory_region;
}

int vfio_pci_init(struct vfio_pci_dev *d, struct vfio_pci_ctx *ctx, const struct vfio_pci_params *p,
                  char *err, size_t errlen)
{
    int r;

    memset(d, 0, sizeof(*d));
    d->ctx = ctx;
    d->cl.sock = -1;
    snprintf(d->id, sizeof(d->id), "%s", p->id ? p->id : "vfio");
    for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++) {
        d->irq_fd[v] = -1;
        d->irq_bound[v] = d->vec_gsi[v] = GSI_NONE;
    }
    d->intx_fd = d->intx_unmask = -1;
    for (unsigned i = 0; i < PCI_NUM_BARS; i++)
        for (unsigned k = 0; k < VFIO_BAR_MAPS; k++)
            d->bars[i].maps[k].slot = VFIO_NO_SLOT;
    pthread_mutex_init(&d->lock, NULL);
    r = vfuc_connect(&d->cl, p->sock, err, errlen);
    if (!r)
        r = map_dma(d, err, errlen);
    if (!r)
        r = build(d, err, errlen);
    if (r) {
        vfio_pci_destroy(d);
        return r;
    }
    log_info(ctx->log, "%s: %04x:%04x passed through in slot %u", d->id, le_get16(d->dev_cfg),
             le_get16(d->dev_cfg + 2), d->pci.slot);
    return 0;
}

int vfio_pci_reset(struct vfio_pci_dev *d)
{
    int r;

    if (d->cl.sock < 0)
        return -ENOTCONN;
    vfio_irq_reset(d);
    r = vfuc_reset(&d->cl);
    if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
        r = 0; /* no function reset (QEMU's edu): the guest's driver copes */
    if (!r)
        r = vfuc_region_read(&d->cl, VFU_PCI_CONFIG_REGION_INDEX, 0, d->dev_cfg, PCI_CFG_SIZE);
    if (r) {
        vfio_pci_failed(d, "reset", r);
        return r;
    }
    sync_command(d); /* pci_bus_reset cleared the guest's command register */
    return 0;
}

struct vfio_pci_dev *vfio_pci_find(struct vfio_pci_dev *const *v, uint32_t n, const char *id)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(v[i]->id, id))
            return v[i];
    return NULL;
}

bool vfio_pci_any_gone(struct vfio_pci_dev *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (vfio_pci_gone(v[i]))
            return true;
    return false;
}

void vfio_pci_detach(struct vfio_pci_dev *d)
{
    __atomic_store_n(&d->dead, true, __ATOMIC_RELEASE);
    pthread_mutex_lock(&d->ctx->bus->lock);
    vfio_bar_unmap_all(d);
    pthread_mutex_unlock(&d->ctx->bus->lock);
    /* The socket's peer is dead, so any late call fails at once; vfio_pci_reconnect replaces
     * it (the core's filter allows shutdown with SHUT_RD only, so it is not shut down here). */
    log_info(d->ctx->log, "%s: detached from its dead server: BAR areas unmapped", d->id);
}

/* The BARs' mappable areas from the new server, in KVM slots where the guest has them now. */
static int remap_bars(struct vfio_pci_dev *d)
{
    int r = 0;

    pthread_mutex_lock(&d->ctx->bus->lock);
    for (unsigned i = 0; i < PCI_NUM_BARS && !r; i++) {
        struct vfuc_region reg;

        if (!d->bars[i].dev_size)
            continue;
        r = vfuc_region_info(&d->cl, i, &reg);
        if (r)
            break;
        if (reg.size != d->bars[i].dev_size)
            r = -ENODEV; /* not the device the guest knows */
        else if (reg.flags & VFU_REGION_F_MMAP)
            vfio_bar_map(d, i, &reg);
        if (reg.fd >= 0)
            close(reg.fd); /* see the trust decision at the top */
        if (!r && d->pci.bar_at[i] != PCI_BAR_UNMAPPED)
            vfio_bar_mapped(d, i, d->pci.bar_at[i]);
    }
    pthread_mutex_unlock(&d->ctx->bus->lock);
    return r;
}

/* The new server drives the same open device (the controller kept its fds, vfio_host.h): no
 * reset, and the interrupt triggers the kernel holds still signal our eventfds, so only what
 * the guest changed meanwhile is set again (vfio_irq_restore; a re-request would drop an
 * interrupt firing during it). DMA_MAP of guest RAM the container still maps is taken as done
 * by the server. */
int vfio_pci_reconnect(struct vfio_pci_dev *d, int sock, char *err, size_t errlen)
{
    int r;

    vfuc_close(&d->cl);
    r = vfuc_connect(&d->cl, sock, err, errlen);
    if (!r)
        r = map_dma(d, err, errlen);
    if (!r) {
        r = vfuc_region_read(&d->cl, VFU_PCI_CONFIG_REGION_INDEX, 0, d->dev_cfg, PCI_CFG_SIZE);
        if (r)
            snprintf(err, errlen, "%s: reading config space: %s", d->id, strerror(-r));
    }
    if (!r) {
        r = remap_bars(d);
        if (r)
            snprintf(err, errlen, "%s: BARs: %s", d->id, strerror(-r));
    }
    if (r) {
        pthread_mutex_lock(&d->ctx->bus->lock);
        vfio_bar_unmap_all(d);
        pthread_mutex_unlock(&d->ctx->bus->lock);
        return r;
    }
    __atomic_store_n(&d->dead, false, __ATOMIC_RELEASE);
    pthread_mutex_lock(&d->ctx->bus->lock);
    sync_command(d); /* memory decoding and bus mastering as the guest left them */
    pthread_mutex_unlock(&d->ctx->bus->lock);
    vfio_irq_restore(d);
    log_info(d->ctx->log, "%s: reconnected to a new server; the device kept its state", d->id);
    return 0;
}

void vfio_pci_destroy(struct vfio_pci_dev *d)
{
    vfio_bar_unmap_all(d);
    vfio_irq_destroy(d);
    vfuc_close(&d->cl);
    pthread_mutex_destroy(&d->lock);
}
