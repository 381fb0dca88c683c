#ifndef CELLVM_CORE_ACPI_NUMA_H
#define CELLVM_CORE_ACPI_NUMA_H

#include <stdbool.h>

#include "core/acpi/acpi.h"
#include "core/acpi/acpi_tables.h"

/*
 * SRAT (processor and memory affinity) and SLIT (distances between proximity domains), built
 * only when acpi_params.numa_nodes > 0.
 */

/* -EINVAL when the NUMA part of p breaks acpi.h's rules; 0 otherwise (also without NUMA). */
int acpi_numa_check(const struct acpi_params *p);

/* Whether SRAT and SLIT belong in the XSDT. */
bool acpi_numa_present(const struct acpi_table_ctx *ctx);

void acpi_srat_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx);
void acpi_slit_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx);

#endif
