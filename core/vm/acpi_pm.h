#ifndef CELLVM_CORE_VM_ACPI_PM_H
#define CELLVM_CORE_VM_ACPI_PM_H

#include "core/vm/bus.h"
#include "core/vm/vmev.h"

/*
 * Hardware-reduced ACPI power management at PORT_ACPI_PM_BASE (platform.h): the FADT's sleep
 * control register (SLP_EN with SLP_TYP == _S5_ powers off), sleep status register, and reset
 * register (ACPI_RESET_VALUE reboots).
 */

#define ACPI_PM_NR_PORTS 3

struct acpi_pm {
    struct vmev *ev; /* borrowed */
};

void acpi_pm_init(struct acpi_pm *pm, struct vmev *ev);

extern const struct bus_ops acpi_pm_bus_ops;

#endif
