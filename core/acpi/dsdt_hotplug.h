#ifndef CELLVM_CORE_ACPI_DSDT_HOTPLUG_H
#define CELLVM_CORE_ACPI_DSDT_HOTPLUG_H

#include "core/acpi/acpi.h"
#include "core/acpi/acpi_buf.h"

/* DSDT pieces for CPU and memory hotplug, written into the open \_SB scope. */

/* \_SB_.PRES (core/vm/cpu_hotplug.h's registers) and \_SB_.CPUS with every processor device;
 * always written. */
void acpi_dsdt_cpu_hotplug(struct acpi_buf *b, const struct acpi_params *p);
/* \_SB_.MHPC (core/vm/mem_hotplug.h's registers) with its memory devices; only called with
 * acpi_params.mem_hotplug_slots > 0. */
void acpi_dsdt_mem_hotplug(struct acpi_buf *b, const struct acpi_params *p);

#endif
