#include "vfiod/vfiod_dma.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vfiod/vfiod_dma_sys.h"

#define DMA_ALIGN 4096u

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "a DMA size fits a mapping length");

static bool overlaps(const struct vfiod_dma_entry *e, uint64_t iova, uint64_t size)
{
    /* Both ranges are non-empty and do not wrap (checked on entry). */
    return iova < e->iova + e->size && e->iova < iova + size;
}

static int check_range(const struct vfu_dma_map *req, int fd)
{
    struct stat st;

    if (!req->size || (req->addr | req->offset | req->size) & (DMA_ALIGN - 1))
        return -EINVAL;
    if (req->addr > UINT64_MAX - req->size || req->offset > UINT64_MAX - req->size)
        return -EINVAL;
    if (!(req->flags & (VFU_DMA_READ | VFU_DMA_WRITE)))
        return -EINVAL;
    if (fstat(fd, &st) < 0)
        return -errno;
    /* A memfd or file only: a device node's st_size says nothing about what may be mapped. */
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || req->offset + req->size > (uint64_t)st.st_size)
        return -EINVAL;
    return 0;
}

int vfiod_dma_map(struct vfiod_dma_table *t, const struct vfiod_dev_ops *ops, void *dev,
                  const struct vfu_dma_map *req, int fd)
{
    int prot = 0;
    void *p;
    int r;

    r = check_range(req, fd);
    if (r)
        return r;
    for (unsigned i = 0; i < t->n; i++)
        if (overlaps(&t->e[i], req->addr, req->size))
            return -EEXIST;
    if (t->n >= VFIOD_MAX_DMA)
        return -ENOSPC;
    if (req->flags & VFU_DMA_READ)
        prot |= PROT_READ;
    if (req->flags & VFU_DMA_WRITE)
        prot |= PROT_WRITE;
    p = vfiod_dma_sys_map(fd, req->offset, req->size, prot, &r);
    if (!p)
        return r;
    /* VFU_DMA_READ/WRITE have the values of VFIO_DMA_MAP_FLAG_READ/WRITE. */
    r = ops->dma_map(dev, req->addr, req->size, p, req->flags & (VFU_DMA_READ | VFU_DMA_WRITE));
    if (r) {
        vfiod_dma_sys_unmap(p, req->size);
        return r < 0 ? r : -EIO;
    }
    t->e[t->n++] = (struct vfiod_dma_entry){ .iova = req->addr, .size = req->size, .vaddr = p };
    return 0;
}

int vfiod_dma_unmap(struct vfiod_dma_table *t, const struct vfiod_dev_ops *ops, void *dev,
                    uint64_t iova, uint64_t size)
{
    for (unsigned i = 0; i < t->n; i++) {
        struct vfiod_dma_entry *e = &t->e[i];
        int r;

        if (e->iova != iova || e->size != size)
            continue;
        r = ops->dma_unmap(dev, e->iova, e->size);
        if (r)
            return r < 0 ? r : -EIO;
        vfiod_dma_sys_unmap(e->vaddr, e->size);
        t->e[i] = t->e[--t->n];
        memset(&t->e[t->n], 0, sizeof(t->e[t->n]));
        return 0;
    }
    return -EINVAL;
}

void vfiod_dma_clear(struct vfiod_dma_table *t, const struct vfiod_dev_ops *ops, void *dev)
{
    while (t->n) {
        struct vfiod_dma_entry *e = &t->e[--t->n];

        /* Our mapping goes even when the device refuses: the IOMMU keeps its own pin. */
        ops->dma_unmap(dev, e->iova, e->size);
        vfiod_dma_sys_unmap(e->vaddr, e->size);
        memset(e, 0, sizeof(*e));
    }
}
