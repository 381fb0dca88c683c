#include "core/vm/vm_numa.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Resolves each initiator's device_id to its index among the virtio devices. */
static int copy_initiators(struct vm_numa_state *dst, const struct vm_numa *src,
                           const struct vpci_params *virtio, uint32_t nvirtio)
{
    if (src->ninitiators > ACPI_MAX_INITIATORS || (src->ninitiators && !src->initiators))
        return -EINVAL;
    for (uint32_t i = 0; i < src->ninitiators; i++) {
        const struct vm_numa_initiator *g = &src->initiators[i];
        uint32_t k = 0;

        if (!g->device_id || g->node >= src->nnodes)
            return -EINVAL;
        while (k < nvirtio && (!virtio[k].id || strcmp(virtio[k].id, g->device_id)))
            k++;
        if (k == nvirtio)
            return -ENOENT;
        for (uint32_t j = 0; j < i; j++)
            if (dst->initiators[j].virtio == k)
                return -EINVAL;
        dst->initiators[i].virtio = k;
        dst->initiators[i].node = g->node;
    }
    dst->ninitiators = src->ninitiators;
    return 0;
}

int vm_numa_copy(struct vm_numa_state *dst, const struct vm_numa *src, uint32_t max_vcpus,
                 uint32_t nzones, const struct vpci_params *virtio, uint32_t nvirtio)
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
    r = copy_initiators(dst, src, virtio, nvirtio);
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
                  const struct pci_devices *pd, struct acpi_mem_range *out,
                  struct acpi_pci_initiator *gi, struct acpi_params *ap)
{
    uint32_t i;

    ap->numa_nodes = s->nnodes;
    if (!s->nnodes)
        return;
    ap->cpu_node = s->cpu_node;
    for (i = 0; i < gm->nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
        const struct guest_mem_region *r = &gm->regions[i];

        out[i] =
            (struct acpi_mem_range){ .base = r->gpa,
                                     .size = r->size,
                                     .node = r->zone < GUEST_MEM_MAX_ZONES ? s->zone_node[r->zone]
                                                                           : 0 };
    }
    ap->mem = out;
    ap->nmem = i;
    ap->distances = s->distances;
    for (i = 0; i < s->ninitiators && i < ACPI_MAX_INITIATORS; i++) {
        uint32_t k = s->initiators[i].virtio;

        /* Every virtio function sits on bus 0 as function 0 of its own slot. */
        gi[i] = (struct acpi_pci_initiator){
            .dev = pd && k < pd->n ? pd->devs[k].pci.slot : 0xff, /* 0xff: acpi_build refuses */
            .fn = 0,
            .node = s->initiators[i].node,
        };
    }
    ap->initiators = gi;
    ap->ninitiators = i;
}
