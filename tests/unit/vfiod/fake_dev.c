#include "tests/unit/vfiod/fake_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NUM_REGIONS VFU_PCI_NUM_REGIONS
#define NUM_IRQS    3
#define BAR2_INDEX  2
#define CMD_OFFSET  4

static int fake_info(void *dev, uint32_t *flags, uint32_t *num_regions, uint32_t *num_irqs)
{
    (void)dev;
    *flags = VFU_DEV_F_PCI;
    *num_regions = NUM_REGIONS;
    *num_irqs = NUM_IRQS;
    return 0;
}

static int fake_region_info(void *dev, uint32_t index, struct vfiod_region *r, int *mmap_fd)
{
    struct fake_dev *d = dev;

    memset(r, 0, sizeof(*r));
    *mmap_fd = -1;
    switch (index) {
    case VFU_PCI_BAR0_REGION_INDEX:
        r->flags = VFU_REGION_F_READ | VFU_REGION_F_WRITE | VFU_REGION_F_MMAP;
        r->size = FAKE_BAR0_SIZE;
        r->nsparse = d->bar0_nsparse;
        if (r->nsparse)
            r->sparse[0] = (struct vfu_sparse_area){ .offset = 0, .size = FAKE_BAR0_SIZE };
        *mmap_fd = d->bar0_fd;
        return 0;
    case BAR2_INDEX:
        r->flags = VFU_REGION_F_READ | VFU_REGION_F_WRITE;
        r->size = FAKE_BAR2_SIZE;
        return 0;
    case VFU_PCI_CONFIG_REGION_INDEX:
        r->flags = VFU_REGION_F_READ | VFU_REGION_F_WRITE;
        r->size = FAKE_CFG_SIZE;
        return 0;
    default:
        return index < NUM_REGIONS ? 0 : -EINVAL; /* absent: size 0 */
    }
}

static int fake_irq_info(void *dev, uint32_t index, uint32_t *flags, uint32_t *count)
{
    (void)dev;
    switch (index) {
    case VFU_PCI_INTX_IRQ_INDEX:
        *flags = VFU_IRQ_F_EVENTFD | VFU_IRQ_F_MASKABLE | VFU_IRQ_F_AUTOMASKED;
        *count = 1;
        return 0;
    case VFU_PCI_MSI_IRQ_INDEX:
        *flags = VFU_IRQ_F_EVENTFD | VFU_IRQ_F_NORESIZE;
        *count = 1;
        return 0;
    case VFU_PCI_MSIX_IRQ_INDEX:
        *flags = VFU_IRQ_F_EVENTFD | VFU_IRQ_F_NORESIZE;
        *count = 8;
        return 0;
    default:
        return -EINVAL;
    }
}

static ssize_t fake_region_read(void *dev, uint32_t index, uint64_t off, void *buf, uint32_t len)
{
    struct fake_dev *d = dev;
    ssize_t n;

    switch (index) {
    case VFU_PCI_BAR0_REGION_INDEX:
        n = pread(d->bar0_fd, buf, len, (off_t)off);
        return n < 0 ? -errno : n;
    case BAR2_INDEX:
        memcpy(buf, d->bar2 + off, len);
        return len;
    case VFU_PCI_CONFIG_REGION_INDEX:
        memcpy(buf, d->cfg + off, len);
        return len;
    default:
        return -EINVAL;
    }
}

static ssize_t fake_region_write(void *dev, uint32_t index, uint64_t off, const void *buf,
                                 uint32_t len)
{
    struct fake_dev *d = dev;
    ssize_t n;

    switch (index) {
    case VFU_PCI_BAR0_REGION_INDEX:
        n = pwrite(d->bar0_fd, buf, len, (off_t)off);
        return n < 0 ? -errno : n;
    case BAR2_INDEX:
        memcpy(d->bar2 + off, buf, len);
        return len;
    case VFU_PCI_CONFIG_REGION_INDEX:
        /* Only the command register's bytes change; the rest is read-only, as hardware. */
        for (uint32_t i = 0; i < len; i++)
            if (off + i == CMD_OFFSET || off + i == CMD_OFFSET + 1)
                d->cfg[off + i] = ((const uint8_t *)buf)[i];
        return len;
    default:
        return -EINVAL;
    }
}

static int fake_set_irqs(void *dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                         const int *fds, const uint8_t *bools)
{
    struct fake_dev *d = dev;
    struct fake_irq_call c = { .flags = flags, .index = index, .start = start, .count = count };

    if (fds) {
        d->last_irq_nfds = count < 16 ? count : 16;
        for (uint32_t i = 0; i < count && i < 16; i++) {
            d->last_irq_fds[i] = fds[i];
            if (fcntl(fds[i], F_GETFD) >= 0)
                c.nfds_valid++;
        }
    }
    if (bools)
        memcpy(c.bools, bools, count < sizeof(c.bools) ? count : sizeof(c.bools));
    if (d->nirq_calls < FAKE_LOG)
        d->irq_calls[d->nirq_calls] = c;
    d->nirq_calls++;
    return 0;
}

static int fake_dma_map(void *dev, uint64_t iova, uint64_t size, void *vaddr, uint32_t prot)
{
    struct fake_dev *d = dev;

    if (d->dma_map_ret)
        return d->dma_map_ret;
    if (d->nmap_calls < FAKE_LOG)
        d->map_calls[d->nmap_calls] =
            (struct fake_dma_call){ .iova = iova, .size = size, .vaddr = vaddr, .prot = prot };
    d->nmap_calls++;
    /* Proves the mapping is the client's memory: a writable one gets a mark the test reads. */
    if (prot & VFU_DMA_WRITE)
        memcpy(vaddr, "fake-dma", 8);
    d->live_maps++;
    return 0;
}

static int fake_dma_unmap(void *dev, uint64_t iova, uint64_t size)
{
    struct fake_dev *d = dev;

    if (d->nunmap_calls < FAKE_LOG)
        d->unmap_calls[d->nunmap_calls] = (struct fake_dma_call){ .iova = iova, .size = size };
    d->nunmap_calls++;
    if (d->live_maps)
        d->live_maps--;
    return 0;
}

static int fake_reset(void *dev)
{
    struct fake_dev *d = dev;

    d->nresets++;
    return d->reset_ret;
}

const struct vfiod_dev_ops fake_dev_ops = {
    .info = fake_info,
    .region_info = fake_region_info,
    .irq_info = fake_irq_info,
    .region_read = fake_region_read,
    .region_write = fake_region_write,
    .set_irqs = fake_set_irqs,
    .dma_map = fake_dma_map,
    .dma_unmap = fake_dma_unmap,
    .reset = fake_reset,
};

int fake_dev_init(struct fake_dev *d)
{
    memset(d, 0, sizeof(*d));
    d->bar0_fd = memfd_create("fake-bar0", MFD_CLOEXEC);
    if (d->bar0_fd < 0)
        return -errno;
    if (ftruncate(d->bar0_fd, FAKE_BAR0_SIZE) < 0) {
        int r = -errno;

        close(d->bar0_fd);
        d->bar0_fd = -1;
        return r;
    }
    d->bar0_nsparse = 1;
    d->reset_ret = -ENOTTY;
    /* QEMU's edu: vendor 0x1234, device 0x11e8. */
    d->cfg[0] = 0x34;
    d->cfg[1] = 0x12;
    d->cfg[2] = 0xe8;
    d->cfg[3] = 0x11;
    return 0;
}

void fake_dev_fini(struct fake_dev *d)
{
    if (d->bar0_fd >= 0)
        close(d->bar0_fd);
    d->bar0_fd = -1;
}
