#include "core/acpi/numa.h"

#include <errno.h>

/* SRAT (ACPI 6.5, 5.2.16), revision 3; SLIT (5.2.17), revision 1. */
#define SRAT_REVISION 3
#define SLIT_REVISION 1

enum srat_type {
    SRAT_LAPIC_AFFINITY = 0,
    SRAT_MEMORY_AFFINITY = 1,
    SRAT_X2APIC_AFFINITY = 2,
    SRAT_GENERIC_INITIATOR = 5,
};

#define SRAT_LAPIC_LEN      16
#define SRAT_MEMORY_LEN     40
#define SRAT_X2APIC_LEN     24
#define SRAT_GI_LEN         32
#define SRAT_GI_HANDLE_PCI  1
#define SRAT_F_ENABLED      (1u << 0)
#define SRAT_F_HOTPLUGGABLE (1u << 1)
#define SLIT_LOCAL          10
#define SLIT_REMOTE         20 /* the default between two nodes when no distances are given */
#define SLIT_UNREACHABLE    255

int acpi_numa_check(const struct acpi_params *p)
{
    uint32_t n = p->numa_nodes;

    if (n == 0)
        return p->nmem || p->ninitiators ? -EINVAL : 0;
    if (n > ACPI_MAX_NUMA_NODES || p->nmem > ACPI_MAX_MEM_RANGES || (p->nmem && !p->mem) ||
        !p->cpu_node)
        return -EINVAL;
    for (uint32_t i = 0; i < p->ncpus; i++)
        if (p->cpu_node[i] >= n)
            return -EINVAL;
    for (uint32_t i = 0; i < p->nmem; i++) {
        const struct acpi_mem_range *m = &p->mem[i];

        if (m->node >= n || m->size == 0 || m->base > UINT64_MAX - m->size)
            return -EINVAL;
    }
    if (p->ninitiators > ACPI_MAX_INITIATORS || (p->ninitiators && (!p->initiators || !p->pci)))
        return -EINVAL;
    for (uint32_t i = 0; i < p->ninitiators; i++) {
        const struct acpi_pci_initiator *g = &p->initiators[i];

        if (g->node >= n || g->dev > 31 || g->fn > 7)
            return -EINVAL;
        for (uint32_t j = 0; j < i; j++)
            if (p->initiators[j].dev == g->dev && p->initiators[j].fn == g->fn)
                return -EINVAL;
    }
    if (!p->distances)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            uint8_t d = p->distances[i * n + j];

            /* Linux drops a whole SLIT whose off-diagonal entries are not above 10. */
            if (i == j ? d != SLIT_LOCAL : d <= SLIT_LOCAL || d == SLIT_UNREACHABLE)
                return -EINVAL;
        }
    }
    return 0;
}

bool acpi_numa_present(const struct acpi_table_ctx *ctx)
{
    return ctx->p->numa_nodes > 0;
}

/* The 8-bit LAPIC form for what fits in it, as the MADT does; x2APIC affinity beyond. */
static void srat_cpu(struct acpi_buf *b, const struct acpi_cpu *c, uint32_t node)
{
    if (c->apic_id < 0xff) {
        acpi_buf_put8(b, SRAT_LAPIC_AFFINITY);
        acpi_buf_put8(b, SRAT_LAPIC_LEN);
        acpi_buf_put8(b, (uint8_t)node); /* proximity domain bits 7:0 */
        acpi_buf_put8(b, (uint8_t)c->apic_id);
        /* Enabled says the entry is valid: hot-pluggable CPUs need their node too. */
        acpi_buf_put32(b, SRAT_F_ENABLED);
        acpi_buf_put8(b, 0); /* local SAPIC EID */
        acpi_buf_put8(b, (uint8_t)(node >> 8));
        acpi_buf_put16(b, (uint16_t)(node >> 16)); /* proximity domain bits 31:8 */
        acpi_buf_put32(b, 0);                      /* clock domain */
        return;
    }
    acpi_buf_put8(b, SRAT_X2APIC_AFFINITY);
    acpi_buf_put8(b, SRAT_X2APIC_LEN);
    acpi_buf_put16(b, 0);
    acpi_buf_put32(b, node);
    acpi_buf_put32(b, c->apic_id);
    acpi_buf_put32(b, SRAT_F_ENABLED);
    acpi_buf_put32(b, 0); /* clock domain */
    acpi_buf_put32(b, 0);
}

static void srat_mem(struct acpi_buf *b, const struct acpi_mem_range *m, uint32_t flags)
{
    acpi_buf_put8(b, SRAT_MEMORY_AFFINITY);
    acpi_buf_put8(b, SRAT_MEMORY_LEN);
    acpi_buf_put32(b, m->node);
    acpi_buf_put16(b, 0);
    acpi_buf_put64(b, m->base);
    acpi_buf_put64(b, m->size);
    acpi_buf_put32(b, 0);
    acpi_buf_put32(b, flags); /* enabled, hot-pluggable or not; never non-volatile */
    acpi_buf_put64(b, 0);
}

/*
 * Generic Initiator Affinity (ACPI 6.3+, 5.2.16.6) with a PCI device handle (Table 5-80): the
 * 16-bit segment at offset 0, then the 16-bit BDF (bus in bits 15:8, device 7:3, function 2:0)
 * at offset 2, both little-endian like every ACPI integer, then 12 reserved bytes.
 */
static void srat_initiator(struct acpi_buf *b, const struct acpi_pci_initiator *g)
{
    acpi_buf_put8(b, SRAT_GENERIC_INITIATOR);
    acpi_buf_put8(b, SRAT_GI_LEN);
    acpi_buf_put8(b, 0);
    acpi_buf_put8(b, SRAT_GI_HANDLE_PCI);
    acpi_buf_put32(b, g->node);
    acpi_buf_put16(b, 0);                               /* segment */
    acpi_buf_put16(b, (uint16_t)(g->dev << 3 | g->fn)); /* bus 0 */
    acpi_buf_put32(b, 0);
    acpi_buf_put64(b, 0);
    /* Enabled; no Architectural Transactions bit: a virtio device is an ordinary PCI master. */
    acpi_buf_put32(b, SRAT_F_ENABLED);
    acpi_buf_put32(b, 0);
}

void acpi_srat_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx)
{
    const struct acpi_params *p = ctx->p;
    size_t start = acpi_sdt_begin(b, "SRAT", SRAT_REVISION);

    acpi_buf_put32(b, 1); /* reserved, 1 for compatibility with older OSes */
    acpi_buf_put64(b, 0);
    for (uint32_t i = 0; i < p->ncpus; i++)
        srat_cpu(b, &p->cpus[i], p->cpu_node[i]);
    for (uint32_t i = 0; i < p->nmem; i++)
        srat_mem(b, &p->mem[i], SRAT_F_ENABLED);
    /* Where hot-added memory will appear (Cloud Hypervisor: each zone's hotplug range), so the
     * guest knows its node and sizes for it in advance (Linux: max_possible_pfn). */
    if (p->hotplug_mem_size) {
        struct acpi_mem_range hp = { p->hotplug_mem_base, p->hotplug_mem_size, 0 };

        srat_mem(b, &hp, SRAT_F_ENABLED | SRAT_F_HOTPLUGGABLE);
    }
    for (uint32_t i = 0; i < p->ninitiators; i++)
        srat_initiator(b, &p->initiators[i]);
    acpi_sdt_end(b, start);
}

void acpi_slit_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx)
{
    const struct acpi_params *p = ctx->p;
    uint32_t n = p->numa_nodes;
    size_t start = acpi_sdt_begin(b, "SLIT", SLIT_REVISION);

    acpi_buf_put64(b, n);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            uint8_t d = i == j ? SLIT_LOCAL : SLIT_REMOTE;

            if (p->distances)
                d = p->distances[i * n + j];
            acpi_buf_put8(b, d);
        }
    }
    acpi_sdt_end(b, start);
}
