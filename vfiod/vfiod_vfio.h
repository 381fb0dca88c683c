#ifndef CELLVM_VFIOD_VFIOD_VFIO_H
#define CELLVM_VFIOD_VFIOD_VFIO_H

/*
 * The vfiod_dev_ops (vfiod/vfiod_dev.h) over a real VFIO device: a group attached to a type1v2
 * container and the device fd from it. Everything the device reports (info, regions with their
 * mappable areas, irqs) is read once at init, before the jail, so the jailed process only needs
 * the ioctls that act: SET_IRQS, RESET, MAP_DMA, UNMAP_DMA (vfiod/vfiod_sys.h).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfiod/vfiod_dev.h"

#define VFIOD_DEV_MAX_REGIONS 16 /* vfio-pci has 9, plus device-specific ones */
#define VFIOD_DEV_MAX_IRQS    8  /* vfio-pci has 5 */
#define VFIOD_BDF_LEN         16

struct vfiod_vfio {
    int container_fd; /* owned */
    int group_fd;     /* owned */
    int device_fd;    /* owned; also the mmap fd of every mappable region */
    char bdf[VFIOD_BDF_LEN];
    uint32_t flags; /* VFU_DEV_F_* */
    uint32_t num_regions, num_irqs;
    struct vfiod_region regions[VFIOD_DEV_MAX_REGIONS];
    uint32_t irq_flags[VFIOD_DEV_MAX_IRQS]; /* VFU_IRQ_F_* */
    uint32_t irq_count[VFIOD_DEV_MAX_IRQS];
    bool irq_on[VFIOD_DEV_MAX_IRQS]; /* triggers enabled in the kernel (its irq_type) */
    /* The device fd came from the controller, which keeps its own (vfio_host.h): an earlier
     * vfiod may have left DMA mappings in the container and triggers in the kernel, so a
     * MAP_DMA the IOMMU has already is done, and irq_on is only what this process enabled. */
    bool inherited;
};

extern const struct vfiod_dev_ops vfiod_vfio_ops;

/*
 * Takes container_fd, group_fd and device_fd (owned by v from this call on, whatever it
 * returns): checks the group is viable, attaches it to the container, selects
 * VFIO_TYPE1v2_IOMMU (both skipped when the group already sits in a container), gets the device
 * fd for bdf unless device_fd is one already (>= 0: inherited), requires a PCI device and reads
 * its regions (mappable areas without the MSI-X table and PBA pages) and irqs. 0 or -errno
 * with err filled; vfiod_vfio_close releases v either way.
 */
int vfiod_vfio_init(struct vfiod_vfio *v, int container_fd, int group_fd, int device_fd,
                    const char *bdf, char *err, size_t errlen);

/* Between two clients: every irq trigger off and every DMA mapping gone from the IOMMU. */
void vfiod_vfio_quiesce(struct vfiod_vfio *v);

/* Closes the device fd, then the group, then the container, so the group can be opened again
   at once. Safe on a zeroed or half-initialised v with fds -1. */
void vfiod_vfio_close(struct vfiod_vfio *v);

#endif
