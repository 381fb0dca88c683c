/*
 * MSI and MSI-X of a passed-through function, emulated in the core. Each vector has an eventfd
 * that vfiod hands to VFIO (SET_IRQS with DATA_EVENTFD when the guest enables MSI or MSI-X,
 * DATA_NONE when it disables them); while a vector may deliver, its eventfd is a KVM irqfd on
 * the vector's MSI route, so an interrupt never passes through the core. A masked MSI-X vector
 * has no irqfd: the device's signal stays in the eventfd counter, which the core reads (without
 * blocking) on a PBA read and on unmask, and a vector found pending is injected on unmask, as
 * virtio-pci does. MSI is shown with one vector and no per-vector mask.
 * INTx: the device's pin goes to IOAPIC pin IRQ_PCI_INTX(slot, pin) (the DSDT's _PRT). While
 * the guest has INTx-disable clear and MSI and MSI-X off, vfiod holds a trigger eventfd that
 * is a resampling KVM irqfd (it asserts the level-triggered pin) and an unmask eventfd that
 * KVM signals at the guest's EOI: vfio-pci masks the host's INTx when it fires and unmasks it
 * from that eventfd, so the line never passes through the core.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm/kvm_ioctl.h"
#include "core/vm/msi_irq.h"
#include "core/vm/vfio_pci.h"
#include "ipc/le.h"

#define CAP_MSI      0x05
#define MSI_CTRL     2
#define MSI_ENABLE   0x01
#define MSI_64BIT    0x80
#define MSI_ADDR     4
#define MSI_LEN_32   10
#define MSI_LEN_64   14
#define MSIX_CTRL    2
#define MSIX_TABLE   4
#define MSIX_PBA     8
#define MSIX_LEN     12
#define MSIX_QSIZE   0x7ffu
#define MSIX_BIR     0x7u
#define MSIX_ON      0x80 /* enable, in the control word's high byte */
#define PCI_CMD      0x04
#define CMD_INTX_OFF 0x0400u
#define PCI_INT_PIN  0x3d

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t n)
{
    return n && off < start + n && start < off + len;
}

static uint32_t msi_len(const struct vfio_pci_dev *d)
{
    return d->msi64 ? MSI_LEN_64 : MSI_LEN_32;
}

static uint32_t pba_bytes(uint16_t nvec)
{
    return ((nvec + 63u) / 64u) * 8u;
}

int vfio_irq_add_msi(struct vfio_pci_dev *d, uint8_t dev_off)
{
    struct vfu_irq_info ii;
    uint8_t *cfg = d->pci.cfg, *wm = d->pci.wmask;
    int c, r = vfuc_irq_info(&d->cl, VFU_PCI_MSI_IRQ_INDEX, &ii);

    if (r || !ii.count || !(ii.flags & VFU_IRQ_F_EVENTFD) || d->msi_cap) {
        log_info(d->ctx->log, "%s: MSI not offered by the server: capability hidden", d->id);
        return 0;
    }
    d->msi64 = le_get16(d->dev_cfg + dev_off + MSI_CTRL) & MSI_64BIT;
    c = pci_dev_add_cap(&d->pci, CAP_MSI, (uint8_t)msi_len(d));
    if (c < 0)
        return c;
    /* One vector (multiple message capable 0), no mask bits: only enable is writable. */
    le_put16(cfg + c + MSI_CTRL, d->msi64 ? MSI_64BIT : 0);
    wm[c + MSI_CTRL] = MSI_ENABLE;
    le_put32(wm + c + MSI_ADDR, 0xfffffffcu);
    if (d->msi64)
        le_put32(wm + c + MSI_ADDR + 4, 0xffffffffu);
    le_put16(wm + c + (d->msi64 ? 12 : 8), 0xffff);
    d->msi_cap = (uint8_t)c;
    return 0;
}

int vfio_irq_find_msix(struct vfio_pci_dev *d, uint8_t dev_off)
{
    const uint8_t *p = d->dev_cfg + dev_off;
    uint32_t table = le_get32(p + MSIX_TABLE), pba = le_get32(p + MSIX_PBA);
    uint16_t nvec = (uint16_t)((le_get16(p + MSIX_CTRL) & MSIX_QSIZE) + 1);
    struct vfu_irq_info ii;
    int r;

    /* msix.c keeps table and PBA in one BAR, as nearly every device does. */
    if (dev_off + MSIX_LEN > PCI_CFG_SIZE || (table & MSIX_BIR) != (pba & MSIX_BIR) ||
        (table & MSIX_BIR) >= PCI_NUM_BARS)
        return -EINVAL;
    r = vfuc_irq_info(&d->cl, VFU_PCI_MSIX_IRQ_INDEX, &ii);
    if (r || !ii.count || !(ii.flags & VFU_IRQ_F_EVENTFD))
        return r ? r : -ENODEV;
    if (nvec > ii.count)
        nvec = (uint16_t)ii.count;
    if (nvec > MSIX_MAX_VECTORS)
        nvec = MSIX_MAX_VECTORS; /* the guest just sees fewer vectors */
    d->msix_bar = table & MSIX_BIR;
    d->msix_table = table & ~MSIX_BIR;
    d->msix_pba = pba & ~MSIX_BIR;
    d->msix_nvec = nvec;
    return 0;
}

int vfio_irq_add_msix(struct vfio_pci_dev *d)
{
    uint64_t size = d->pci.bar_size[d->msix_bar];
    int r;

    if (!d->bars[d->msix_bar].dev_size || d->msix_table > size ||
        size - d->msix_table < (uint64_t)d->msix_nvec * MSIX_ENTRY_SIZE || d->msix_pba > size ||
        size - d->msix_pba < pba_bytes(d->msix_nvec)) {
        log_warn(d->ctx->log, "%s: MSI-X table outside BAR %u: capability hidden", d->id,
                 d->msix_bar);
        d->msix_nvec = 0;
        return 0;
    }
    r = msix_init(&d->msix, &d->pci, d->msix_nvec, d->msix_bar, d->msix_table, d->msix_pba);
    if (r)
        return r;
    d->msix_cap = (uint8_t)(d->msix.ctrl - d->pci.cfg - MSIX_CTRL);
    return 0;
}

void vfio_irq_add_intx(struct vfio_pci_dev *d)
{
    uint8_t pin = d->dev_cfg[PCI_INT_PIN];
    struct vfu_irq_info ii;
    int r;

    if (pin < 1 || pin > 4)
        return;
    r = vfuc_irq_info(&d->cl, VFU_PCI_INTX_IRQ_INDEX, &ii);
    if (r || ii.count != 1 || !(ii.flags & VFU_IRQ_F_EVENTFD)) {
        log_info(d->ctx->log, "%s: INTx not offered by the server: no interrupt pin", d->id);
        return;
    }
    d->intx_pin = pin;
    d->pci.cfg[PCI_INT_PIN] = pin;
}

int vfio_irq_make_fds(struct vfio_pci_dev *d)
{
    uint16_t n = d->msix_cap ? d->msix_nvec : d->msi_cap ? 1 : 0;

    if (d->intx_pin) {
        d->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->intx_fd < 0)
            return -errno;
        d->intx_unmask = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->intx_unmask < 0)
            return -errno;
    }

    for (uint16_t v = 0; v < n; v++) {
        d->irq_fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->irq_fd[v] < 0)
            return -errno;
        d->nfds = (uint16_t)(v + 1);
    }
    return 0;
}

/* Whatever the eventfd counted while nobody listened: 0 or more signals. */
static bool drain(int fd)
{
    uint64_t n = 0;

    return read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n) && n;
}

static uint32_t index_of(enum vfio_irq_mode m)
{
    return m == VFIO_IRQ_MSIX ? VFU_PCI_MSIX_IRQ_INDEX : VFU_PCI_MSI_IRQ_INDEX;
}

static void unbind_all(struct vfio_pci_dev *d)
{
    uint32_t none = GSI_NONE;

    for (uint16_t v = 0; v < d->nfds; v++) {
        msi_irq_bind(d->ctx->gsi, d->ctx->vm_fd, d->irq_fd[v], false, 0, 0, &none,
                     &d->irq_bound[v]);
        drain(d->irq_fd[v]);
    }
}

/* Hands vfiod the eventfds of mode (or takes them back). Lock held. */
static void set_mode(struct vfio_pci_dev *d, enum vfio_irq_mode want)
{
    uint32_t n = want == VFIO_IRQ_MSIX ? d->msix_nvec : 1;
    int r;

    if (d->mode == want)
        return;
    if (d->mode != VFIO_IRQ_NONE) {
        r = vfio_pci_gone(d)
                ? 0
                : vfuc_set_irqs(&d->cl, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
                                index_of(d->mode), 0, 0, NULL);
        if (r)
            vfio_pci_failed(d, "SET_IRQS disable", r);
        unbind_all(d);
        d->mode = VFIO_IRQ_NONE;
    }
    if (want == VFIO_IRQ_NONE || n > d->nfds || vfio_pci_gone(d))
        return; /* gone: vfio_irq_restore hands them to the next server */
    r = vfuc_set_irqs(&d->cl, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER, index_of(want),
                      0, n, d->irq_fd);
    if (r)
        vfio_pci_failed(d, "SET_IRQS enable", r);
    else
        d->mode = want;
}

static int intx_hand(struct vfio_pci_dev *d);

/* INTx on (the irqfd bound, vfiod handed both eventfds) or off. Lock held. */
static void intx_set(struct vfio_pci_dev *d, bool on)
{
    int r;

    if (d->intx_on == on)
        return;
    if (!on) {
        r = vfio_pci_gone(d)
                ? 0
                : vfuc_set_irqs(&d->cl, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
                                VFU_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
        if (r)
            vfio_pci_failed(d, "SET_IRQS INTx disable", r);
        kvm_irqfd_resample(d->ctx->vm_fd, d->intx_fd, -1, d->intx_gsi, false);
        drain(d->intx_fd);
        drain(d->intx_unmask);
        d->intx_on = false;
        return;
    }
    d->intx_gsi = IRQ_PCI_INTX(d->pci.slot, d->intx_pin - 1u);
    r = kvm_irqfd_resample(d->ctx->vm_fd, d->intx_fd, d->intx_unmask, d->intx_gsi, true);
    if (r) {
        log_warn(d->ctx->log, "%s: INTx: KVM_IRQFD on GSI %u: %s", d->id, d->intx_gsi,
                 strerror(-r));
        return;
    }
    r = intx_hand(d);
    if (r) {
        vfio_pci_failed(d, "SET_IRQS INTx enable", r);
        kvm_irqfd_resample(d->ctx->vm_fd, d->intx_fd, -1, d->intx_gsi, false);
        return;
    }
    d->intx_on = true;
}

/* Hands vfiod INTx's trigger and unmask eventfds. 0 or -errno (then it holds neither). */
static int intx_hand(struct vfio_pci_dev *d)
{
    int fds[1], r;

    if (vfio_pci_gone(d))
        return -ENOTCONN;
    fds[0] = d->intx_fd;
    r = vfuc_set_irqs(&d->cl, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
                      VFU_PCI_INTX_IRQ_INDEX, 0, 1, fds);
    if (!r) {
        fds[0] = d->intx_unmask;
        r = vfuc_set_irqs(&d->cl, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_UNMASK,
                          VFU_PCI_INTX_IRQ_INDEX, 0, 1, fds);
        if (r)
            vfuc_set_irqs(&d->cl, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
                          VFU_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
    }
    return r;
}

/* INTx is set up from the guest's first command write on while neither MSI nor MSI-X is
 * enabled. INTx-disable does not tear it down: vfio_pci.c forwards the bit to the device, and
 * vfio-pci masks INTx while it is set, which is what the guest's driver asks for (uio and
 * others flip it at each interrupt; a SET_IRQS pair each time would cost round trips).
 * may_enable false only turns it off (before MSI or MSI-X take over). Lock held. */
static void intx_sync(struct vfio_pci_dev *d, bool may_enable)
{
    const uint8_t *c = d->pci.cfg;
    bool want = d->intx_pin && !(d->msi_cap && (c[d->msi_cap + MSI_CTRL] & MSI_ENABLE)) &&
                !(d->msix_cap && (c[d->msix_cap + MSIX_CTRL + 1] & MSIX_ON)) && !d->dead;

    if (!want || may_enable)
        intx_set(d, want);
}

static void msi_message(const struct vfio_pci_dev *d, uint64_t *addr, uint32_t *data)
{
    const uint8_t *c = d->pci.cfg + d->msi_cap;

    *addr = le_get32(c + MSI_ADDR) | (d->msi64 ? (uint64_t)le_get32(c + MSI_ADDR + 4) << 32 : 0);
    *data = le_get16(c + (d->msi64 ? 12 : 8));
}

/* Binds or unbinds vector v's irqfd to what the guest's registers say now. Lock held. */
static void sync_vector(struct vfio_pci_dev *d, uint16_t v)
{
    bool deliver = false;
    uint64_t addr = 0;
    uint32_t data = 0;
    int r;

    if (d->mode == VFIO_IRQ_MSIX) {
        deliver = !msix_masked(&d->msix, v);
        msix_message(&d->msix, v, &addr, &data);
        /* Signals that came while it was masked: injected below, once it is bound. */
        if (deliver && d->irq_bound[v] == GSI_NONE && drain(d->irq_fd[v]))
            msix_set_pending(&d->msix, v, true);
    } else if (d->mode == VFIO_IRQ_MSI && v == 0) {
        deliver = true;
        msi_message(d, &addr, &data);
    }
    r = msi_irq_bind(d->ctx->gsi, d->ctx->vm_fd, d->irq_fd[v], deliver, addr, data, &d->vec_gsi[v],
                     &d->irq_bound[v]);
    if (r)
        log_warn(d->ctx->log, "%s: vector %u: MSI route or KVM_IRQFD: %s", d->id, v, strerror(-r));
}

static void sync_all(struct vfio_pci_dev *d)
{
    for (uint16_t v = 0; v < d->nfds; v++)
        sync_vector(d, v);
    if (d->mode == VFIO_IRQ_MSIX)
        msi_irq_flush_pending(&d->msix, d->ctx->vm_fd);
}

void vfio_irq_cfg_written(struct vfio_pci_dev *d, uint32_t off, uint32_t len)
{
    bool msi = d->msi_cap && overlaps(off, len, d->msi_cap, msi_len(d));
    bool msix = d->msix_cap && overlaps(off, len, d->msix_cap, MSIX_LEN);
    bool cmd = d->intx_pin && overlaps(off, len, PCI_CMD, 2);

    if (!msi && !msix && !cmd)
        return;
    pthread_mutex_lock(&d->lock);
    intx_sync(d, false);
    if (msix && msix_sync_control(&d->msix)) {
        if (d->msix.enabled)
            set_mode(d, VFIO_IRQ_MSIX);
        else if (d->mode == VFIO_IRQ_MSIX)
            set_mode(d, VFIO_IRQ_NONE);
    }
    if (msi) {
        bool on = d->pci.cfg[d->msi_cap + MSI_CTRL] & MSI_ENABLE;

        /* MSI-X wins while both are on (a guest enables one at a time). */
        if (on && d->mode != VFIO_IRQ_MSIX)
            set_mode(d, VFIO_IRQ_MSI);
        else if (!on && d->mode == VFIO_IRQ_MSI)
            set_mode(d, VFIO_IRQ_NONE);
    }
    sync_all(d);
    intx_sync(d, true);
    pthread_mutex_unlock(&d->lock);
}

/* Where [off, off + len) of bar falls: 1 table, 2 PBA, 0 elsewhere. */
static int msix_part(const struct vfio_pci_dev *d, unsigned bar, uint64_t off)
{
    if (!d->msix_cap || bar != d->msix_bar)
        return 0;
    if (off >= d->msix_table && off - d->msix_table < (uint64_t)d->msix_nvec * MSIX_ENTRY_SIZE)
        return 1;
    if (off >= d->msix_pba && off - d->msix_pba < pba_bytes(d->msix_nvec))
        return 2;
    return 0;
}

bool vfio_irq_bar_read(struct vfio_pci_dev *d, unsigned bar, uint64_t off, uint32_t len,
                       uint64_t *val)
{
    int part = msix_part(d, bar, off);

    if (!part)
        return false;
    *val = 0;
    pthread_mutex_lock(&d->lock);
    if (part == 1) {
        msix_table_read(&d->msix, off - d->msix_table, len, val);
    } else {
        /* Masked vectors' signals wait in their eventfds: they are what is pending. */
        for (uint16_t v = 0; d->mode == VFIO_IRQ_MSIX && v < d->nfds; v++)
            if (d->irq_bound[v] == GSI_NONE && drain(d->irq_fd[v]))
                msix_set_pending(&d->msix, v, true);
        msix_pba_read(&d->msix, off - d->msix_pba, len, val);
    }
    pthread_mutex_unlock(&d->lock);
    return true;
}

bool vfio_irq_bar_write(struct vfio_pci_dev *d, unsigned bar, uint64_t off, uint32_t len,
                        uint64_t val)
{
    int part = msix_part(d, bar, off);

    if (!part)
        return false;
    if (part == 1) { /* the PBA is read-only */
        pthread_mutex_lock(&d->lock);
        if (msix_table_write(&d->msix, off - d->msix_table, len, val) >= 0)
            sync_all(d);
        pthread_mutex_unlock(&d->lock);
    }
    return true;
}

void vfio_irq_reset(struct vfio_pci_dev *d)
{
    pthread_mutex_lock(&d->lock);
    intx_set(d, false);
    set_mode(d, VFIO_IRQ_NONE);
    unbind_all(d);
    if (d->msix_cap)
        msix_reset(&d->msix);
    if (d->msi_cap) {
        uint8_t *c = d->pci.cfg + d->msi_cap;

        c[MSI_CTRL] &= (uint8_t)~MSI_ENABLE;
        memset(c + MSI_ADDR, 0, msi_len(d) - MSI_ADDR);
    }
    pthread_mutex_unlock(&d->lock);
}

void vfio_irq_restore(struct vfio_pci_dev *d)
{
    const uint8_t *c = d->pci.cfg;
    enum vfio_irq_mode want = VFIO_IRQ_NONE;

    pthread_mutex_lock(&d->lock);
    if (d->msix_cap && d->msix.enabled)
        want = VFIO_IRQ_MSIX;
    else if (d->msi_cap && (c[d->msi_cap + MSI_CTRL] & MSI_ENABLE))
        want = VFIO_IRQ_MSI;
    /* The kernel kept the triggers (and INTx's unmask eventfd) the dead server set: only a mode
     * the guest changed while it was gone is handed over (set_mode left d->mode NONE then). */
    set_mode(d, want);
    sync_all(d);
    intx_sync(d, true);
    pthread_mutex_unlock(&d->lock);
}

void vfio_irq_destroy(struct vfio_pci_dev *d)
{
    if (d->intx_on && !d->cl.broken && d->cl.sock >= 0)
        intx_set(d, false);
    else if (d->intx_on)
        kvm_irqfd_resample(d->ctx->vm_fd, d->intx_fd, -1, d->intx_gsi, false);
    d->intx_on = false;
    if (d->mode != VFIO_IRQ_NONE && !d->cl.broken && d->cl.sock >= 0)
        set_mode(d, VFIO_IRQ_NONE);
    unbind_all(d);
    for (uint16_t v = 0; v < MSIX_MAX_VECTORS; v++) {
        if (d->vec_gsi[v] != GSI_NONE)
            gsi_free_msi(d->ctx->gsi, d->vec_gsi[v]);
        d->vec_gsi[v] = GSI_NONE;
        if (d->irq_fd[v] >= 0)
            close(d->irq_fd[v]);
        d->irq_fd[v] = -1;
    }
    d->nfds = 0;
    if (d->intx_fd >= 0)
        close(d->intx_fd);
    if (d->intx_unmask >= 0)
        close(d->intx_unmask);
    d->intx_fd = d->intx_unmask = -1;
}
