#ifndef CELLVM_VFIOD_VFIOD_DEV_H
#define CELLVM_VFIOD_VFIOD_DEV_H

/*
 * The seam between the vfio-user server (vfiod_server.c: protocol, validation, DMA table) and
 * the device behind it: a real VFIO device (vfiod_vfio.c, group + container + device fd) or the
 * unit tests' fake device. The server calls these only with arguments it has already checked
 * against what the device reported (region index < num_regions, [off, off + len) inside the
 * region, irq index < num_irqs, start + count <= irq count, DMA ranges inside a mapping it
 * made). Every op returns 0 (or a byte count) or -errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc/vfio_user.h"

struct vfiod_region {
    uint32_t flags;  /* VFU_REGION_F_READ / WRITE / MMAP */
    uint64_t size;   /* 0: the region does not exist (an absent BAR) */
    uint64_t offset; /* where the region starts in mmap_fd (VFIO's region offset) */
    /* The parts of the region the client may mmap (page-aligned, inside size): for a BAR,
     * everything but the pages holding the MSI-X table and PBA. nsparse 0 with F_MMAP: the
     * whole region. */
    unsigned nsparse;
    struct vfu_sparse_area sparse[VFU_MAX_SPARSE];
};

struct vfiod_dev_ops {
    /* Flags (VFU_DEV_F_*), region and irq counts. */
    int (*info)(void *dev, uint32_t *flags, uint32_t *num_regions, uint32_t *num_irqs);
    /* *mmap_fd: a borrowed fd the server sends with the reply when F_MMAP is set; -1 otherwise. */
    int (*region_info)(void *dev, uint32_t index, struct vfiod_region *r, int *mmap_fd);
    int (*irq_info)(void *dev, uint32_t index, uint32_t *flags, uint32_t *count);
    ssize_t (*region_read)(void *dev, uint32_t index, uint64_t off, void *buf, uint32_t len);
    ssize_t (*region_write)(void *dev, uint32_t index, uint64_t off, const void *buf, uint32_t len);
    /*
     * VFIO_DEVICE_SET_IRQS: flags and index as sent; for DATA_EVENTFD, fds[count] (the device
     * dups what it keeps: the server closes them afterwards); for DATA_BOOL, bools[count].
     * Disabling is count 0 with DATA_NONE | ACTION_TRIGGER.
     */
    int (*set_irqs)(void *dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                    const int *fds, const uint8_t *bools);
    /* Pins and maps [iova, iova + size) to the server's mapping at vaddr. */
    int (*dma_map)(void *dev, uint64_t iova, uint64_t size, void *vaddr, uint32_t prot);
    int (*dma_unmap)(void *dev, uint64_t iova, uint64_t size);
    /* -ENOTTY when the device cannot be reset (QEMU's edu); the server then answers ENOTTY. */
    int (*reset)(void *dev);
};

#endif
