#include "core/vm/vm_numa.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vm_numa_copy(struct vm_numa_state *dst, const struct vm_numa *src, uint32_t max_vcpus,
                 uint32_t nzones)
{
    uint32_t n = src->nnodes;

    memset(dst, 0, sizeof(*dst));
    if (n == 0)
        return 0;
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
    return 0;
}

void vm_numa_free(struct vm_numa_state *s)
{
    free(s->cpu_node);
    free(s->distances);
    memset(s, 0, sizeof(*s));
}

void vm_numa_acpi(const struct vm_numa_state *s, const struct guest_mem *gm,
                  struct acpi_mem_range *out, struct acpi_params *ap)
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
}
