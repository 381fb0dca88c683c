#ifndef CELLVM_CORE_ACPI_ACPI_TABLES_H
#define CELLVM_CORE_ACPI_ACPI_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/acpi/acpi.h"
#include "core/acpi/acpi_buf.h"

/*
 * Builders for the tables that the XSDT lists. Each appends one complete table (header,
 * body, checksum) at the buffer's end; errors are latched in the buffer. acpi_build() keeps
 * them in one registration table, so a new table (SRAT, SLIT, MCFG) is one builder and one row.
 */
struct acpi_table_ctx {
    const struct acpi_params *p;
    uint64_t dsdt_gpa;
};

void acpi_fadt_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx);
void acpi_madt_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx);

/* One MADT processor structure for ACPI UID uid: Local APIC (type 0) when the APIC id and the
 * UID fit in a byte, x2APIC (type 9) otherwise; true for the latter. Processor devices' _MAT
 * holds the same structure. */
#define ACPI_MADT_CPU_ENABLED (1u << 0)
bool acpi_madt_cpu_entry(struct acpi_buf *b, uint32_t uid, uint32_t apic_id, uint32_t flags);

/* MCFG: ECAM of every PCI segment, present with acpi_params.pci. */
void acpi_mcfg_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx);
bool acpi_pci_present(const struct acpi_table_ctx *ctx);
/* The number of PCI segments the tables describe: 0 without pci, pci_segments (0 meaning 1)
 * with it. */
uint32_t acpi_pci_segments(const struct acpi_params *p);

/* The DSDT, which the FADT (not the XSDT) points to. */
void acpi_dsdt_build(struct acpi_buf *b, const struct acpi_params *p);

#endif
