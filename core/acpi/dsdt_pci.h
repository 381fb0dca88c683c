#ifndef CELLVM_CORE_ACPI_DSDT_PCI_H
#define CELLVM_CORE_ACPI_DSDT_PCI_H

#include "core/acpi/acpi.h"
#include "core/acpi/acpi_buf.h"

/* DSDT pieces for PCI, written into the open \_SB scope; only called with acpi_params.pci. */

/* \_SB_.PHPR, the PCI hotplug controller (core/vm/pci_hotplug.h's registers). */
void acpi_dsdt_pci_hotplug(struct acpi_buf *b, const struct acpi_params *p);
/* \_SB_.PC00, PC01, ...: one host bridge per segment with its 32 hotplug slots. */
void acpi_dsdt_pci_bridges(struct acpi_buf *b, const struct acpi_params *p);

#endif
