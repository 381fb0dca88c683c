#include "core/vm/vm_numa.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Resolves each initiator's device_id to its index among the virtio or the vfio devices. */
static int copy_initiators(struct vm_numa_state *dst, const struct vm_numa *src,
                           const struct vpci_params *virtio, uint32_t nvirtio,
                           const struct vfio_pci_params *vfio, uint32_t nvfio)
{
    if (src->ninitiators > ACPI_MAX_INITIATORS || (src->ninitiators && !src->initiators))
        return -EINVAL;
    for (uint32_t i = 0; i < src->ninitiators; i++) {
        const struct vm_numa_initiator *g = &src->initiators[i];
        uint32_t k;

        if (!g->device_id || g->node >= src->nnodes)
            return -EINVAL;
        k = 0;
        while (k < nvirtio && (!virtio[k].id || strcmp(virtio[k].id, g->device_id)))
            k++;
        if (k == nvirtio) {
            k = 0;
            while (k < nvfio && (!vfio[k].id || strcmp(vfio[k].id, g->device_id)))
                k++;
            if (k == nvfio)
                return -ENOENT;
        }
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(dst->initiators[j].id, g->device_id))
                return -EINVAL;
        snprintf(dst->initiators[i].id, sizeof(dst->initiators[i].id), "%s", g->device_id);
        dst->initiators[i].node = g->node;
    }
    dst->ninitiators = src->ninitiators;
    return 0;
}

int vm_numa_copy(struct vm_numa_state *dst, const struct vm_numa *src, uint32_t max_vcpus,
                 uint32_t nzones, const struct vpci_params *virtio, uint32_t nvirtio,
                 const struct vfio_pci_params *vfio, uint32_t nvfio)
{
    int r;

    uint32_t n = src->nnodes;

    memset(dst, 0, sizeof(*dst));
    if (n == 0)
        return src->ninitiators ? -EINVAL : 0;
    if (n > ACPI_MAX_NUMA_NODES || nzones > GUEST_MEM_MAX_ZONES || !src->cpu_node ||
        !src->zone_node || !src->distances)
        return -EINVAL;
    for (uint32_t i = 0; i < max_vcpus; i++)
        if (src->cpu_node[i] >= n)
            return -EINVAL;
    for (uint32_t i = 0; i < nzones; i++)
        if (src->zone_node[i] >= n)
            return -EINVAL;
    dst->cpu_node = calloc(max_vcpus, sizeof(*dst->cpu_node));
    dst->distances = malloc((size_t)n * n);
    if (!dst->cpu_node || !dst->distances) {
        vm_numa_free(dst);
        return -ENOMEM;
    }
    memcpy(dst->cpu_node, src->cpu_node, max_vcpus * sizeof(*dst->cpu_node));
    memcpy(dst->zone_node, src->zone_node, nzones * sizeof(*dst->zone_node));
    memcpy(dst->distances, src->distances, (size_t)n * n);
    dst->nnodes = n;
    r = copy_initiators(dst, src, virtio, nvirtio, vfio, nvfio);
    if (r < 0)
        vm_numa_free(dst);
    return r;
}

void vm_numa_free(struct vm_numa_state *s)
{
    free(s->cpu_node);
    free(s->distances);
    memset(s, 0, sizeof(*s));
}

void vm_numa_acpi(const struct vm_numa_state *s, const struct guest_mem *gm,
                  int (*slot_of)(const void *arg, const char *id), const void *arg,
                  struct acpi_mem_range *out, struct acpi_pci_initiator *gi, struct acpi_params *ap)
{
    uint32_t i, n = 0, nmem = 0;

    ap->numa_nodes = s->nnodes;
    if (!s->nnodes)
        return;
    ap->cpu_node = s->cpu_node;
    for (i = 0; i < gm->nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
        const struct guest_mem_region *r = &gm->regions[i];

        if (r->vmem || r->pmem) /* virtio-mem: the device names the node (ACPI_PXM) */
            continue;
        out[nmem++] =
            (struct acpi_mem_range){ .base = r->gpa,
                                     .size = r->size,
                                     .node = r->zone < GUEST_MEM_MAX_ZONES ? s->zone_node[r->zone]
                                                                           : 0 };
    }
    ap->mem = out;
    ap->nmem = nmem;
    ap->distances = s->distances;
    /* Every virtio and vfio function sits on bus 0 as function 0 of its own slot. */
    for (i = 0; i < s->ninitiators && i < ACPI_MAX_INITIATORS; i++) {
        int slot = slot_of ? slot_of(arg, s->initiators[i].id) : -1;

        if (slot < 0)
            continue;
        gi[n++] = (struct acpi_pci_initiator){
            .dev = (uint8_t)slot,
            .fn = 0,
            .node = s->initiators[i].node,
        };
    }
    ap->initiators = gi;
    ap->ninitiators = n;
}
