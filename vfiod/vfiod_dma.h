#ifndef CELLVM_VFIOD_VFIOD_DMA_H
#define CELLVM_VFIOD_VFIOD_DMA_H

/*
 * vfiod's DMA table: the client's DMA_MAP regions, each an fd range mapped shared into this
 * process and handed to the device (ops->dma_map), so the IOMMU maps IOVA -> these pages.
 */

#include <stdint.h>

#include "ipc/vfio_user.h"
#include "vfiod/vfiod_dev.h"

#define VFIOD_MAX_DMA 256

struct vfiod_dma_entry {
    uint64_t iova;
    uint64_t size;
    void *vaddr; /* owned: munmap'd when the entry goes */
};

struct vfiod_dma_table {
    unsigned n;
    struct vfiod_dma_entry e[VFIOD_MAX_DMA];
};

/*
 * Maps req's range of fd (borrowed: the caller closes it) and hands it to the device. Refuses
 * zero or unaligned (4 KiB) addr/offset/size, wrapping ranges, no access flags (-EINVAL), a range
 * past the fd's size (-EINVAL), overlap with a mapping (-EEXIST), a full table (-ENOSPC).
 */
int vfiod_dma_map(struct vfiod_dma_table *t, const struct vfiod_dev_ops *ops, void *dev,
                  const struct vfu_dma_map *req, int fd);

/*
 * Removes the mapping that is exactly [iova, iova + size): -EINVAL when none is (a partial or
 * a spanning unmap is refused rather than split, since the client always unmaps what it mapped).
 * When the device refuses to unmap, the entry stays (its pages are still pinned by the IOMMU).
 */
int vfiod_dma_unmap(struct vfiod_dma_table *t, const struct vfiod_dev_ops *ops, void *dev,
                    uint64_t iova, uint64_t size);

/* Unmaps everything (client gone): device first, then our mapping. */
void vfiod_dma_clear(struct vfiod_dma_table *t, const struct vfiod_dev_ops *ops, void *dev);

#endif
