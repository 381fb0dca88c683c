#include "core/acpi/acpi.h"

#include <errno.h>
#include <string.h>

#include "core/acpi/acpi_buf.h"
#include "core/acpi/acpi_tables.h"
#include "core/acpi/numa.h"
#include "core/acpi/viot.h"
#include "core/platform.h"

/*
 * Layout inside the buffer: RSDP at offset 0, then the DSDT, the tables the XSDT lists (in
 * xsdt_tables[] order) and the XSDT itself last, each 8-byte aligned. The XSDT goes last
 * because it needs every other table's address; the RSDP is filled in at the very end.
 */
#define RSDP_REVISION                 2 /* ACPI 2.0+: XSDT address and extended checksum */
#define RSDP_LENGTH                   36
#define RSDP_V1_LENGTH                20 /* the range the first checksum covers */
#define RSDP_ALIGN                    16
#define TABLE_ALIGN                   8
#define XSDT_REVISION                 1
#define MADT_APIC_ID_X2APIC_BROADCAST 0xffffffffu

static void viot_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx)
{
    acpi_viot_build(b, ctx->p->viot);
}

static bool viot_present(const struct acpi_table_ctx *ctx)
{
    return ctx->p->viot != NULL;
}

/* One row per table the XSDT may list; present NULL means always. */
static const struct {
    void (*build)(struct acpi_buf *, const struct acpi_table_ctx *);
    bool (*present)(const struct acpi_table_ctx *);
} xsdt_tables[] = {
    { acpi_fadt_build, NULL },
    { acpi_madt_build, NULL },
    { acpi_srat_build, acpi_numa_present },
    { acpi_slit_build, acpi_numa_present },
    { acpi_mcfg_build, acpi_pci_present },
    { viot_build, viot_present },
};

#define XSDT_MAX_ENTRIES (sizeof(xsdt_tables) / sizeof(xsdt_tables[0]))

static int check_params(const struct acpi_params *p)
{
    bool any_enabled = false;

    if (!p->cpus || !p->ncpus || p->ncpus > ACPI_MAX_CPUS)
        return -EINVAL;
    if (p->pci && p->pci_segments > PCI_MAX_SEGMENTS)
        return -EINVAL;
    if (p->mem_hotplug_slots > MEM_HOTPLUG_MAX_SLOTS ||
        (p->hotplug_mem_size && p->hotplug_mem_base > UINT64_MAX - p->hotplug_mem_size))
        return -EINVAL;
    for (uint32_t i = 0; i < p->ncpus; i++) {
        if (p->cpus[i].apic_id == MADT_APIC_ID_X2APIC_BROADCAST)
            return -EINVAL;
        any_enabled |= p->cpus[i].enabled;
        /* Quadratic, but bounded by ACPI_MAX_CPUS and run once per boot. */
        for (uint32_t j = 0; j < i; j++) {
            if (p->cpus[j].apic_id == p->cpus[i].apic_id)
                return -EINVAL;
        }
    }
    return any_enabled ? acpi_numa_check(p) : -EINVAL;
}

static void put_rsdp(uint8_t *r, uint64_t xsdt_gpa)
{
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, ACPI_OEM_ID, 6);
    r[15] = RSDP_REVISION;
    acpi_le32(r + 16, 0); /* no RSDT: every consumer since ACPI 2.0 reads the XSDT */
    acpi_le32(r + 20, RSDP_LENGTH);
    acpi_le64(r + 24, xsdt_gpa);
    r[8] = (uint8_t)(0x100 - acpi_sum(r, RSDP_V1_LENGTH));
    r[32] = (uint8_t)(0x100 - acpi_sum(r, RSDP_LENGTH));
}

long acpi_build(const struct acpi_params *p, uint8_t *buf, uint64_t buf_gpa, size_t cap)
{
    struct acpi_table_ctx ctx = { .p = p };
    uint64_t entries[XSDT_MAX_ENTRIES];
    size_t nentries = 0, xsdt;
    struct acpi_buf b;
    int err;

    if (!p || !buf || buf_gpa % RSDP_ALIGN || buf_gpa > UINT64_MAX - cap)
        return -EINVAL;
    err = check_params(p);
    if (err)
        return err;

    acpi_buf_init(&b, buf, cap);
    acpi_buf_grow(&b, RSDP_LENGTH);

    acpi_buf_align(&b, TABLE_ALIGN);
    ctx.dsdt_gpa = buf_gpa + b.len;
    acpi_dsdt_build(&b, p);

    for (size_t i = 0; i < XSDT_MAX_ENTRIES; i++) {
        if (xsdt_tables[i].present && !xsdt_tables[i].present(&ctx))
            continue;
        acpi_buf_align(&b, TABLE_ALIGN);
        entries[nentries++] = buf_gpa + b.len;
        xsdt_tables[i].build(&b, &ctx);
    }

    acpi_buf_align(&b, TABLE_ALIGN);
    xsdt = acpi_sdt_begin(&b, "XSDT", XSDT_REVISION);
    for (size_t i = 0; i < nentries; i++)
        acpi_buf_put64(&b, entries[i]);
    acpi_sdt_end(&b, xsdt);

    if (b.err)
        return b.err;
    put_rsdp(buf, buf_gpa + xsdt);
    return (long)b.len;
}
