#ifndef CELLVM_CORE_ACPI_H
#define CELLVM_CORE_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ACPI tables for the hardware-reduced x86_64 platform of platform.h: RSDP, XSDT, FADT, DSDT
 * (COM1, RTC, GED with the power button, _S5_), MADT (LAPIC/x2APIC per vCPU, IOAPIC, IRQ0 ->
 * GSI2 override). Pure byte building: no KVM, unit-testable.
 */

struct acpi_cpu {
    uint32_t apic_id;
    bool enabled; /* false: present but disabled (max > boot), for hotplug later */
};

struct acpi_params {
    const struct acpi_cpu *cpus;
    uint32_t ncpus;
};

/*
 * Builds all tables into buf (cap bytes), which the guest will see at guest-physical address
 * buf_gpa. The RSDP is at buf_gpa itself. Returns the number of bytes used, or -ENOSPC /
 * -EINVAL.
 */
long acpi_build(const struct acpi_params *p, uint8_t *buf, uint64_t buf_gpa, size_t cap);

#endif
