/* Where a backend finds a ring: frontend user addresses, or I/O virtual addresses behind the
 * virtio-iommu (issue 20), whose IOTLB the VM's IOMMU fills before the rings start. */
#include <errno.h>
#include <stdint.h>

#include "core/vm/virtio_pci_vu.h"

static int ring_uva(const struct guest_mem *m, uint64_t gpa, uint64_t len, uint64_t *uva)
{
    void *p = guest_mem_ptr(m, gpa, len);

    if (!p)
        return -EFAULT;
    *uva = (uint64_t)(uintptr_t)p;
    return 0;
}

bool vpci_vu_iova(const struct vpci_dev *d)
{
    return d->iommu && (d->driver_features & (1ull << VIRTIO_F_ACCESS_PLATFORM));
}

/* A ring's three parts (guest-physical, size entries) as frontend addresses in v; -EFAULT when
 * one lies outside guest RAM. */
int vpci_vu_ring_uvas(const struct vpci_dev *d, uint64_t desc, uint64_t avail, uint64_t used,
                      uint16_t size, struct vu_fe_vring *v)
{
    const struct guest_mem *m = d->ctx->mem;
    uint64_t n = size;

    if (vpci_vu_iova(d)) { /* not logged: a VM with an IOMMU is never migrated */
        v->desc_uva = desc;
        v->avail_uva = avail;
        v->used_uva = used;
        v->has_gpa = false;
        return 0;
    }
    if (ring_uva(m, desc, 16 * n, &v->desc_uva) || ring_uva(m, avail, 6 + 2 * n, &v->avail_uva) ||
        ring_uva(m, used, 6 + 8 * n, &v->used_uva))
        return -EFAULT;
    v->has_gpa = true; /* a live migration logs the used ring here */
    v->used_gpa = used;
    return 0;
}

int vpci_vu_iotlb_replay(struct vpci_dev *d)
{
    if (!vpci_vu_iova(d) || !d->ctx->iotlb_replay)
        return 0;
    return d->ctx->iotlb_replay(d->ctx->iotlb_arg, d);
}
