#include "core/vm/virtio_pci.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/msi_irq.h"
#include "core/vm/virtio_pci_rc.h"
#include "core/vm/virtio_pci_vu.h"
#include "ipc/le.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYS      0x1100
#define VIRTIO_F_VERSION_1     32

#define PCI_CAP_ID_VNDR        0x09
#define VIRTIO_CAP_COMMON      1
#define VIRTIO_CAP_NOTIFY      2
#define VIRTIO_CAP_ISR         3
#define VIRTIO_CAP_DEVICE      4
#define VIRTIO_CAP_PCI_CFG     5
#define VIRTIO_CAP_LEN         16
#define VIRTIO_NOTIFY_CAP_LEN  20
#define VIRTIO_PCICFG_CAP_LEN  20
/* struct virtio_pci_cfg_cap: cap.bar at +4, cap.offset at +8, cap.length at +12, data at +16 */
#define PCICFG_BAR  4
#define PCICFG_OFF  8
#define PCICFG_LEN  12
#define PCICFG_DATA 16

#define ISR_CONFIG  0x2

/* Common configuration registers (virtio 1.x, 4.1.4.3). */
enum {
    CC_DFSELECT = 0x00,
    CC_DF = 0x04,
    CC_GFSELECT = 0x08,
    CC_GF = 0x0c,
    CC_MSIX = 0x10,
    CC_NUMQ = 0x12,
    CC_STATUS = 0x14,
    CC_CFGGEN = 0x15,
    CC_Q_SELECT = 0x16,
    CC_Q_SIZE = 0x18,
    CC_Q_MSIX = 0x1a,
    CC_Q_ENABLE = 0x1c,
    CC_Q_NOFF = 0x1e,
    CC_Q_DESCLO = 0x20,
    CC_Q_DESCHI = 0x24,
    CC_Q_AVAILLO = 0x28,
    CC_Q_AVAILHI = 0x2c,
    CC_Q_USEDLO = 0x30,
    CC_Q_USEDHI = 0x34,
    CC_END = 0x38,
};

static void wake_worker(struct vpci_dev *d)
{
    uint64_t one = 1;

    if (d->ctx->wake_fd >= 0 && write(d->ctx->wake_fd, &one, sizeof(one)) < 0)
        log_warn(d->ctx->log, "%s: cannot wake the frontend thread", d->id);
}

static void signal_fd(int fd)
{
    uint64_t one = 1;

    (void)!write(fd, &one, sizeof(one));
}

/* Binds fd's irqfd to the route of `vector` when that vector may deliver, else unbinds it. */
static void irq_bind(struct vpci_dev *d, int fd, uint32_t *cur, uint16_t vector)
{
    bool deliver = vector < d->msix.nvec && !msix_masked(&d->msix, vector);
    uint64_t addr = 0;
    uint32_t data = 0, none = GSI_NONE;
    int r;

    if (deliver)
        msix_message(&d->msix, vector, &addr, &data);
    r = msi_irq_bind(d->ctx->gsi, d->ctx->vm_fd, fd, deliver, addr, data,
                     deliver ? &d->vec_gsi[vector] : &none, cur);
    if (r)
        log_warn(d->ctx->log, "%s: vector %u: MSI route or KVM_IRQFD: %s", d->id, vector,
                 strerror(-r));
}

void vpci_sync_irqs(struct vpci_dev *d)
{
    for (uint16_t i = 0; i < d->nqueues; i++)
        irq_bind(d, d->q[i].call_fd, &d->q[i].irq_gsi, d->q[i].vector);
    irq_bind(d, d->config_fd, &d->config_gsi, d->config_vector);
    msi_irq_flush_pending(&d->msix, d->ctx->vm_fd);
    /* Which call fds the frontend thread must read has changed. */
    wake_worker(d);
}

/* Registers each enabled queue's notify address as an ioeventfd on its kick fd. */
static void notify_sync(struct vpci_dev *d)
{
    for (uint16_t i = 0; i < d->nqueues; i++) {
        struct vpci_queue *q = &d->q[i];
        uint64_t want = q->enabled && d->bar_addr != PCI_BAR_UNMAPPED
                            ? d->bar_addr + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * i
                            : PCI_BAR_UNMAPPED;

        if (q->notify_gpa == want)
            continue;
        if (q->notify_gpa != PCI_BAR_UNMAPPED)
            kvm_ioeventfd(d->ctx->vm_fd, q->kick_fd, q->notify_gpa, 2, false);
        q->notify_gpa = PCI_BAR_UNMAPPED;
        if (want != PCI_BAR_UNMAPPED) {
            int r = kvm_ioeventfd(d->ctx->vm_fd, q->kick_fd, want, 2, true);

            if (r == 0)
                q->notify_gpa = want;
            else
                log_warn(d->ctx->log, "%s: KVM_IOEVENTFD: %s", d->id, strerror(-r));
        }
    }
}

void vpci_reset_transport(struct vpci_dev *d, bool msix)
{
    d->driver_features = 0;
    d->dfselect = d->gfselect = 0;
    d->queue_select = 0;
    d->config_vector = MSIX_NO_VECTOR;
    d->isr = 0;
    d->ctrl_avail = 0;
    for (uint16_t i = 0; i < d->nqueues; i++) {
        struct vpci_queue *q = &d->q[i];

        q->size = q->max_size;
        q->vector = MSIX_NO_VECTOR;
        q->enabled = false;
        q->desc = q->avail = q->used = 0;
    }
    if (msix)
        msix_reset(&d->msix);
    vpci_sync_irqs(d);
    notify_sync(d);
    d->work &= ~(unsigned)(VPCI_WORK_START | VPCI_WORK_CONFIG);
    if (d->backend_dirty || d->busy) {
        d->work |= VPCI_WORK_STOP;
        d->resetting = true;
        wake_worker(d);
    } else {
        d->status = 0;
        d->resetting = false;
    }
}

void vpci_raise_config(struct vpci_dev *d)
{
    d->generation++;
    d->isr |= ISR_CONFIG;
    if (d->config_gsi != GSI_NONE)
        signal_fd(d->config_fd);
    else if (d->config_vector < d->msix.nvec)
        msix_set_pending(&d->msix, d->config_vector, true);
}

void vpci_queue_signalled(struct vpci_dev *d, uint16_t qi)
{
    struct vpci_queue *q = &d->q[qi];

    if (q->irq_gsi != GSI_NONE)
        signal_fd(q->call_fd); /* bound again meanwhile: let the irqfd deliver it */
    else if (q->vector < d->msix.nvec)
        msix_set_pending(&d->msix, q->vector, true);
}

static void write_status(struct vpci_dev *d, uint8_t v)
{
    if (v == 0) {
        if (d->status || d->resetting)
            vpci_reset_transport(d, false);
        return;
    }
    if (d->resetting)
        return; /* the driver must wait for 0 first */
    if ((v & VPCI_S_FEATURES_OK) && !(d->status & VPCI_S_FEATURES_OK) &&
        ((d->driver_features & ~d->host_features) ||
         !(d->driver_features & (1ull << VIRTIO_F_VERSION_1))))
        v &= (uint8_t)~VPCI_S_FEATURES_OK;
    if ((v & VPCI_S_DRIVER_OK) && !(d->status & VPCI_S_DRIVER_OK)) {
        d->work |= VPCI_WORK_START;
        wake_worker(d);
    }
    d->status = (uint8_t)(v | (d->status & VPCI_S_NEEDS_RESET));
}

static uint64_t common_value(struct vpci_dev *d, uint32_t reg)
{
    struct vpci_queue *q = d->queue_select < d->nqueues ? &d->q[d->queue_select] : NULL;

    switch (reg) {
    case CC_DFSELECT:
        return d->dfselect;
    case CC_DF:
        return d->dfselect < 2 ? (uint32_t)(d->host_features >> (32 * d->dfselect)) : 0;
    case CC_GFSELECT:
        return d->gfselect;
    case CC_GF:
        return d->gfselect < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfselect)) : 0;
    case CC_MSIX:
        return d->config_vector;
    case CC_NUMQ:
        return d->nqueues;
    case CC_STATUS:
        return d->status;
    case CC_CFGGEN:
        return d->generation;
    case CC_Q_SELECT:
        return d->queue_select;
    case CC_Q_SIZE:
        return q ? q->size : 0;
    case CC_Q_MSIX:
        return q ? q->vector : MSIX_NO_VECTOR;
    case CC_Q_ENABLE:
        return q ? q->enabled : 0;
    case CC_Q_NOFF:
        return q ? d->queue_select : 0;
    case CC_Q_DESCLO:
    case CC_Q_DESCHI:
        return q ? (uint32_t)(q->desc >> (reg == CC_Q_DESCHI ? 32 : 0)) : 0;
    case CC_Q_AVAILLO:
    case CC_Q_AVAILHI:
        return q ? (uint32_t)(q->avail >> (reg == CC_Q_AVAILHI ? 32 : 0)) : 0;
    case CC_Q_USEDLO:
    case CC_Q_USEDHI:
        return q ? (uint32_t)(q->used >> (reg == CC_Q_USEDHI ? 32 : 0)) : 0;
    default:
        return 0;
    }
}

/* Width of the register at reg (32-bit halves for the 64-bit queue addresses). */
static uint32_t common_width(uint32_t reg)
{
    if (reg < CC_MSIX || reg >= CC_Q_DESCLO)
        return 4;
    if (reg == CC_STATUS || reg == CC_CFGGEN)
        return 1;
    return 2;
}

static void common_read(struct vpci_dev *d, uint64_t off, uint32_t len, uint64_t *val)
{
    if (off >= CC_END)
        *val = 0;
    else if (len == 8 && off >= CC_Q_DESCLO && off % 8 == 0)
        *val = common_value(d, (uint32_t)off) | common_value(d, (uint32_t)off + 4) << 32;
    else if (len == common_width((uint32_t)off))
        *val = common_value(d, (uint32_t)off);
}

static void set_half(uint64_t *v, bool hi, uint32_t x)
{
    *v = hi ? (*v & 0xffffffffull) | (uint64_t)x << 32 : (*v & ~0xffffffffull) | x;
}

static void queue_write(struct vpci_dev *d, struct vpci_queue *q, uint32_t reg, uint32_t v)
{
    if (d->status & VPCI_S_DRIVER_OK && reg != CC_Q_MSIX)
        return; /* ring layout is frozen while the device runs */
    switch (reg) {
    case CC_Q_SIZE:
        if (v && v <= q->max_size && !(v & (v - 1)))
            q->size = (uint16_t)v;
        return;
    case CC_Q_MSIX:
        q->vector = v < d->msix.nvec ? (uint16_t)v : MSIX_NO_VECTOR;
        vpci_sync_irqs(d);
        return;
    case CC_Q_ENABLE:
        q->enabled = v == 1;
        notify_sync(d);
        return;
    case CC_Q_DESCLO:
    case CC_Q_DESCHI:
        set_half(&q->desc, reg == CC_Q_DESCHI, v);
        return;
    case CC_Q_AVAILLO:
    case CC_Q_AVAILHI:
        set_half(&q->avail, reg == CC_Q_AVAILHI, v);
        return;
    case CC_Q_USEDLO:
    case CC_Q_USEDHI:
        set_half(&q->used, reg == CC_Q_USEDHI, v);
        return;
    default:
        return;
    }
}

static void common_write_reg(struct vpci_dev *d, uint32_t reg, uint32_t v)
{
    switch (reg) {
    case CC_DFSELECT:
        d->dfselect = v;
        return;
    case CC_GFSELECT:
        d->gfselect = v;
        return;
    case CC_GF:
        if (d->gfselect < 2 && !(d->status & VPCI_S_FEATURES_OK))
            set_half(&d->driver_features, d->gfselect == 1, v);
        return;
    case CC_MSIX:
        d->config_vector = v < d->msix.nvec ? (uint16_t)v : MSIX_NO_VECTOR;
        vpci_sync_irqs(d);
        return;
    case CC_STATUS:
        write_status(d, (uint8_t)v);
        return;
    case CC_Q_SELECT:
        d->queue_select = (uint16_t)v;
        return;
    default:
        if (reg >= CC_Q_SIZE && d->queue_select < d->nqueues)
            queue_write(d, &d->q[d->queue_select], reg, v);
        return;
    }
}

static void common_write(struct vpci_dev *d, uint64_t off, uint32_t len, uint64_t val)
{
    if (off >= CC_END)
        return;
    if (len == 8 && off >= CC_Q_DESCLO && off % 8 == 0) {
        common_write_reg(d, (uint32_t)off, (uint32_t)val);
        common_write_reg(d, (uint32_t)off + 4, (uint32_t)(val >> 32));
    } else if (len == common_width((uint32_t)off)) {
        common_write_reg(d, (uint32_t)off, (uint32_t)val);
    }
}

static void device_cfg_read(struct vpci_dev *d, uint64_t off, uint32_t len, uint64_t *val)
{
    uint64_t v = 0;

    for (uint32_t i = 0; i < len; i++)
        if (off + i < d->config_len)
            v |= (uint64_t)d->config[off + i] << (8 * i);
    *val = v;
}

static void device_cfg_write(struct vpci_dev *d, uint64_t off, uint32_t len, uint64_t val)
{
    if (d->local || off >= d->config_len || d->config_len - off < len)
        return; /* a local device's config is read-only to the driver */
    for (uint32_t i = 0; i < len; i++)
        d->config[off + i] = (uint8_t)(val >> (8 * i));
    if (!(d->work & VPCI_WORK_CONFIG)) {
        d->cfg_lo = (uint32_t)off;
        d->cfg_hi = (uint32_t)off + len;
    } else {
        d->cfg_lo = d->cfg_lo < off ? d->cfg_lo : (uint32_t)off;
        d->cfg_hi = d->cfg_hi > off + len ? d->cfg_hi : (uint32_t)(off + len);
    }
    d->work |= VPCI_WORK_CONFIG;
    wake_worker(d);
}

static struct vpci_dev *dev_of(struct pci_dev *p)
{
    return p->opaque;
}

static void vpci_bar_read(struct pci_dev *p, unsigned bar, uint64_t off, uint32_t len,
                          uint64_t *val)
{
    struct vpci_dev *d = dev_of(p);
    uint64_t roff = off % VPCI_REGION_SIZE;

    if (bar != 0)
        return;
    pthread_mutex_lock(&d->lock);
    if (off < VPCI_ISR_OFF) {
        common_read(d, roff, len, val);
    } else if (off < VPCI_DEVICE_OFF) {
        *val = roff == 0 ? d->isr : 0;
        if (roff == 0)
            d->isr = 0; /* reading ISR acknowledges it */
    } else if (off < VPCI_NOTIFY_OFF) {
        device_cfg_read(d, roff, len, val);
    } else if (off < VPCI_MSIX_OFF) {
        *val = 0;
    } else if (off < VPCI_PBA_OFF) {
        msix_table_read(&d->msix, off - VPCI_MSIX_OFF, len, val);
    } else {
        msix_pba_read(&d->msix, off - VPCI_PBA_OFF, len, val);
    }
    pthread_mutex_unlock(&d->lock);
}

static void vpci_bar_write(struct pci_dev *p, unsigned bar, uint64_t off, uint32_t len,
                           uint64_t val)
{
    struct vpci_dev *d = dev_of(p);
    uint64_t roff = off % VPCI_REGION_SIZE;

    if (bar != 0)
        return;
    pthread_mutex_lock(&d->lock);
    if (off < VPCI_ISR_OFF) {
        common_write(d, roff, len, val);
    } else if (off >= VPCI_DEVICE_OFF && off < VPCI_NOTIFY_OFF) {
        device_cfg_write(d, roff, len, val);
    } else if (off >= VPCI_NOTIFY_OFF && off < VPCI_MSIX_OFF) {
        /* A notify the ioeventfd did not catch (another width, or not registered yet). */
        if (roff / VPCI_NOTIFY_MULT < d->nqueues)
            signal_fd(d->q[roff / VPCI_NOTIFY_MULT].kick_fd);
    } else if (off >= VPCI_MSIX_OFF && off < VPCI_PBA_OFF) {
        if (msix_table_write(&d->msix, off - VPCI_MSIX_OFF, len, val) >= 0)
            vpci_sync_irqs(d);
    }
    pthread_mutex_unlock(&d->lock);
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window (virtio 1.x, 4.1.4.9): an access to its data field
 * reaches BAR cap.bar at cap.offset, cap.length (1, 2 or 4) bytes wide, through the same
 * handlers as an MMIO access. Whether [off, off + len) touches the data field; *bar_off and
 * *width say where the window points, when it points inside BAR 0 at an aligned offset.
 */
static bool pcicfg_target(const struct pci_dev *p, uint8_t cap, uint32_t off, uint32_t len,
                          uint64_t *bar_off, uint32_t *width)
{
    uint32_t o, w;

    if (!cap || off + len <= cap + PCICFG_DATA + 0u || off >= cap + PCICFG_DATA + 4u)
        return false;
    o = le_get32(p->cfg + cap + PCICFG_OFF);
    w = le_get32(p->cfg + cap + PCICFG_LEN);
    if (p->cfg[cap + PCICFG_BAR] != 0 || (w != 1 && w != 2 && w != 4) || o % w ||
        o > VPCI_BAR_SIZE - w)
        return false;
    *bar_off = o;
    *width = w;
    return true;
}

static void vpci_cfg_read(struct pci_dev *p, uint32_t off, uint32_t len)
{
    struct vpci_dev *d = dev_of(p);
    uint64_t at, val = 0;
    uint32_t w;

    if (!pcicfg_target(p, d->pcicfg_cap, off, len, &at, &w))
        return;
    vpci_bar_read(p, 0, at, w, &val);
    le_put32(p->cfg + d->pcicfg_cap + PCICFG_DATA, (uint32_t)val);
}

static void vpci_cfg_written(struct pci_dev *p, uint32_t off, uint32_t len)
{
    struct vpci_dev *d = dev_of(p);
    uint64_t at;
    uint32_t w;

    if (pcicfg_target(p, d->pcicfg_cap, off, len, &at, &w)) {
        uint32_t v = le_get32(p->cfg + d->pcicfg_cap + PCICFG_DATA);

        vpci_bar_write(p, 0, at, w, w == 4 ? v : v & ((1u << (8 * w)) - 1));
        return;
    }
    pthread_mutex_lock(&d->lock);
    if (msix_sync_control(&d->msix))
        vpci_sync_irqs(d);
    pthread_mutex_unlock(&d->lock);
}

static void vpci_bar_mapped(struct pci_dev *p, unsigned bar, uint64_t addr)
{
    struct vpci_dev *d = dev_of(p);

    if (bar != 0)
        return;
    pthread_mutex_lock(&d->lock);
    d->bar_addr = addr;
    notify_sync(d);
    pthread_mutex_unlock(&d->lock);
}

static const struct pci_dev_ops vpci_pci_ops = {
    .bar_read = vpci_bar_read,
    .bar_write = vpci_bar_write,
    .cfg_written = vpci_cfg_written,
    .cfg_read = vpci_cfg_read,
    .bar_mapped = vpci_bar_mapped,
};

static int add_virtio_cap(struct pci_dev *p, uint8_t type, uint32_t off, uint32_t len)
{
    bool notify = type == VIRTIO_CAP_NOTIFY;
    int c = pci_dev_add_cap(p, PCI_CAP_ID_VNDR, notify ? VIRTIO_NOTIFY_CAP_LEN : VIRTIO_CAP_LEN);

    if (c < 0)
        return c;
    p->cfg[c + 2] = notify ? VIRTIO_NOTIFY_CAP_LEN : VIRTIO_CAP_LEN;
    p->cfg[c + 3] = type;
    p->cfg[c + 4] = 0; /* BAR 0 */
    le_put32(p->cfg + c + 8, off);
    le_put32(p->cfg + c + 12, len);
    if (notify)
        le_put32(p->cfg + c + 16, VPCI_NOTIFY_MULT);
    return 0;
}

/* The config-space window into BAR 0; bar, offset, length and data are the driver's to set. */
static int add_pcicfg_cap(struct vpci_dev *d)
{
    struct pci_dev *p = &d->pci;
    int c = pci_dev_add_cap(p, PCI_CAP_ID_VNDR, VIRTIO_PCICFG_CAP_LEN);

    if (c < 0)
        return c;
    p->cfg[c + 2] = VIRTIO_PCICFG_CAP_LEN;
    p->cfg[c + 3] = VIRTIO_CAP_PCI_CFG;
    p->wmask[c + PCICFG_BAR] = 0xff;
    memset(p->wmask + c + PCICFG_OFF, 0xff, 12); /* offset, length, data */
    d->pcicfg_cap = (uint8_t)c;
    return 0;
}

static uint32_t class_of(uint16_t virtio_id)
{
    switch (virtio_id) {
    case 1:
        return 0x020000; /* network controller */
    case 2:
        return 0x010000; /* mass storage (SCSI), as QEMU */
    case 3:
        return 0x078000; /* communication controller, other: virtio-console, as QEMU */
    case 26:
        return 0x018000; /* mass storage, other: virtio-fs, as QEMU */
    case 24:
        return 0x058000; /* memory controller, other: virtio-mem, as QEMU */
    default:
        return 0xff0000;
    }
}

static int make_fds(struct vpci_dev *d)
{
    d->config_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->config_fd < 0)
        return -errno;
    for (uint16_t i = 0; i < VPCI_MAX_QUEUES; i++) {
        d->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        d->q[i].call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->q[i].kick_fd < 0 || d->q[i].call_fd < 0)
            return -errno;
        if (i + 1 >= d->nqueues)
            break;
    }
    return 0;
}

static int build_function(struct vpci_dev *d, struct pci_bus *bus)
{
    struct pci_dev *p = &d->pci;
    int r;

    pci_dev_init(p, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->virtio_id),
                 class_of(d->virtio_id), 1, VIRTIO_PCI_SUBSYS, &vpci_pci_ops, d);
    r = pci_dev_add_bar(bus, p, 0, VPCI_BAR_SIZE, true, false);
    if (!r)
        r = msix_init(&d->msix, p, (uint16_t)(d->nqueues + 1), 0, VPCI_MSIX_OFF, VPCI_PBA_OFF);
    if (!r)
        r = add_virtio_cap(p, VIRTIO_CAP_COMMON, VPCI_COMMON_OFF, CC_END);
    if (!r)
        r = add_virtio_cap(p, VIRTIO_CAP_ISR, VPCI_ISR_OFF, 1);
    if (!r)
        r = add_virtio_cap(p, VIRTIO_CAP_DEVICE, VPCI_DEVICE_OFF,
                           d->config_len ? d->config_len : 4);
    if (!r)
        r = add_virtio_cap(p, VIRTIO_CAP_NOTIFY, VPCI_NOTIFY_OFF, VPCI_NOTIFY_MULT * d->nqueues);
    if (!r)
        r = add_pcicfg_cap(d);
    if (!r)
        r = pci_bus_add(bus, p);
    return r;
}

/* A device the core serves: its features and config are the owner's, no backend to ask. */
static int local_init(struct vpci_dev *d, const struct vpci_params *p, char *err, size_t errlen)
{
    if (p->local->config_len > VPCI_CONFIG_MAX || !p->local->serve) {
        snprintf(err, errlen, "%s: %u bytes of config", d->id, p->local->config_len);
        return -EINVAL;
    }
    d->host_features = 1ull << VIRTIO_F_VERSION_1 | p->local->features;
    d->nqueues = p->num_queues;
    d->ctrl_q = 0; /* served here, never handed anywhere */
    d->config_len = p->local->config_len;
    memcpy(d->config, p->local->config, p->local->config_len);
    return 0;
}

int vpci_dev_init(struct vpci_dev *d, struct vpci_ctx *ctx, struct pci_bus *bus,
                  const struct vpci_params *p, char *err, size_t errlen)
{
    int r;

    memset(d, 0, sizeof(*d));
    d->config_fd = -1;
    for (uint16_t i = 0; i < VPCI_MAX_QUEUES; i++) {
        d->q[i].kick_fd = d->q[i].call_fd = -1;
        d->q[i].irq_gsi = GSI_NONE;
        d->q[i].notify_gpa = PCI_BAR_UNMAPPED;
        d->q[i].max_size = p->queue_size;
    }
    for (uint16_t v = 0; v < MSIX_MAX_VECTORS; v++)
        d->vec_gsi[v] = GSI_NONE;
    d->config_gsi = GSI_NONE;
    d->config_vector = MSIX_NO_VECTOR;
    d->ctrl_q = -1;
    d->bar_addr = PCI_BAR_UNMAPPED;
    d->ctx = ctx;
    d->seg = bus->seg;
    d->virtio_id = p->virtio_id;
    d->iommu = p->iommu && !p->local;
    if (p->fs_tag)
        snprintf(d->fs_tag, sizeof(d->fs_tag), "%s", p->fs_tag);
    snprintf(d->id, sizeof(d->id), "%s", p->id);
    vu_fe_init(&d->fe, p->local ? -1 : p->sock);
    d->local = p->local;
    d->rc = (struct vpci_rc){ .managed = !p->local && (!p->external || ctx->lost),
                              .external = p->external,
                              .new_sock = -1,
                              .inflight_fd = -1 };
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->idle, NULL);
    if (!p->num_queues || p->num_queues > VPCI_MAX_QUEUES) {
        snprintf(err, errlen, "%s: %u queues", d->id, p->num_queues);
        return -EINVAL;
    }
    r = p->local ? local_init(d, p, err, errlen) : vpci_vu_connect(d, p->num_queues, err, errlen);
    if (r)
        return r;
    r = make_fds(d);
    if (!r)
        r = build_function(d, bus);
    if (r) {
        snprintf(err, errlen, "%s: PCI function: %s", d->id, strerror(-r));
        return r;
    }
    vpci_reset_transport(d, true);
    return 0;
}

void vpci_dev_destroy(struct vpci_dev *d)
{
    for (uint16_t i = 0; i < VPCI_MAX_QUEUES; i++) {
        if (d->q[i].irq_gsi != GSI_NONE)
            kvm_irqfd(d->ctx->vm_fd, d->q[i].call_fd, d->q[i].irq_gsi, false);
        if (d->q[i].notify_gpa != PCI_BAR_UNMAPPED)
            kvm_ioeventfd(d->ctx->vm_fd, d->q[i].kick_fd, d->q[i].notify_gpa, 2, false);
        if (d->q[i].kick_fd >= 0)
            close(d->q[i].kick_fd);
        if (d->q[i].call_fd >= 0)
            close(d->q[i].call_fd);
    }
    if (d->config_gsi != GSI_NONE)
        kvm_irqfd(d->ctx->vm_fd, d->config_fd, d->config_gsi, false);
    if (d->config_fd >= 0)
        close(d->config_fd);
    for (uint16_t v = 0; v < MSIX_MAX_VECTORS; v++) /* hot removal: the VM goes on */
        if (d->vec_gsi[v] != GSI_NONE && d->ctx)
            gsi_free_msi(d->ctx->gsi, d->vec_gsi[v]);
    vu_fe_close(&d->fe);
    vpci_rc_destroy(d);
    pthread_cond_destroy(&d->idle);
    pthread_mutex_destroy(&d->lock);
}
