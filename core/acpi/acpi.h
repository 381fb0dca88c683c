#ifndef CELLVM_CORE_ACPI_H
#define CELLVM_CORE_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct viot_params;

/*
 * ACPI tables for the hardware-reduced x86_64 platform of platform.h: RSDP, XSDT, FADT, DSDT
 * (COM1, RTC, GED with the power button, _S5_, PCI host bridges and hotplug, CPU and memory
 * hotplug), MADT
 * (LAPIC/x2APIC per vCPU, IOAPIC, IRQ0 -> GSI2 override), MCFG with PCI. Pure byte building:
 * no KVM, unit-testable.
 */

struct acpi_cpu {
    uint32_t apic_id;
    bool enabled; /* false: present but disabled (max > boot), for hotplug later */
};

/* A PCI function that initiates memory accesses for a node of its own: a Generic Initiator
 * (SRAT type 5) on segment 0, bus 0, which the DSDT lists under the host bridge with _PXM. */
struct acpi_pci_initiator {
    uint8_t dev, fn; /* dev 0..31, fn 0..7 */
    uint32_t node;
};

/* A guest-physical RAM range and the proximity domain it belongs to (SRAT). */
struct acpi_mem_range {
    uint64_t base, size;
    uint32_t node;
};

struct acpi_params {
    const struct acpi_cpu *cpus; /* index = ACPI processor UID; cpus[i].apic_id unique */
    uint32_t ncpus;              /* 1..ACPI_MAX_CPUS */
    bool no_com1;                /* --serial off: leave COM1 out of the DSDT */
    /*
     * NUMA: with numa_nodes > 0 an SRAT (every CPU and every mem range) and a SLIT are added.
     * Nodes are the proximity domains 0..numa_nodes-1; every cpu_node[i] and mem[i].node is
     * below numa_nodes; distances is numa_nodes^2 bytes, row-major, 10 on the diagonal and
     * 11..254 elsewhere (NULL: 20 between any two nodes).
     */
    uint32_t numa_nodes;      /* 0..ACPI_MAX_NUMA_NODES */
    const uint32_t *cpu_node; /* ncpus entries: the node of cpus[i] */
    const struct acpi_mem_range *mem;
    uint32_t nmem; /* 0..ACPI_MAX_MEM_RANGES */
    const uint8_t *distances;
    /* Generic Initiators (need pci and NUMA; each node below numa_nodes, each function once). */
    const struct acpi_pci_initiator *initiators;
    uint32_t ninitiators; /* 0..ACPI_MAX_INITIATORS */
    /*
     * PCI segments 0..pci_segments-1 (0 counts as 1), each with bus 0 only, laid out by
     * pci_layout.h from platform.h's ECAM and MMIO32 window and [pci_mmio64_start,
     * pci_mmio64_end). With pci, the DSDT gets one PNP0A08 host bridge per segment (\_SB_.PCnn)
     * with 32 hotplug slots each, the hotplug controller \_SB_.PHPR and the GED's PCI event,
     * and the MCFG table describes every segment's ECAM.
     */
    bool pci;
    uint32_t pci_segments; /* 0..PCI_MAX_SEGMENTS */
    uint64_t pci_mmio64_start, pci_mmio64_end;
    /*
     * CPU hotplug is always described, as Cloud Hypervisor does: \_SB_.PRES (the registers of
     * core/vm/cpu_hotplug.h, which the core must map whenever it loads these tables) and
     * \_SB_.CPUS with one processor device per cpus[] entry, whose _STA reads the register.
     * Memory hotplug: with mem_hotplug_slots > 0, \_SB_.MHPC (core/vm/mem_hotplug.h's
     * registers) with that many PNP0C80 devices and the GED's memory event. With NUMA as well,
     * [hotplug_mem_base, hotplug_mem_base + hotplug_mem_size), where hot-added memory appears,
     * gets a hot-pluggable SRAT memory affinity entry on node 0 (size 0: none).
     */
    uint32_t mem_hotplug_slots; /* 0..MEM_HOTPLUG_MAX_SLOTS */
    uint64_t hotplug_mem_base, hotplug_mem_size;
    /* The virtio-iommu and the endpoints behind it (core/acpi/viot.h): a VIOT table; NULL for
     * none. */
    const struct viot_params *viot;
};

/* Processor devices are named \_SB.Cxxx (three hex digits). */
#define ACPI_MAX_CPUS       4096
#define ACPI_MAX_NUMA_NODES 64
#define ACPI_MAX_MEM_RANGES 64
#define ACPI_MAX_INITIATORS 32

/*
 * Builds all tables into buf (cap bytes), which the guest will see at guest-physical address
 * buf_gpa (16-byte aligned, as the RSDP must be). The RSDP is at buf_gpa itself. Returns the
 * number of bytes used, or -ENOSPC, or -EINVAL (ncpus 0 or above ACPI_MAX_CPUS, no enabled
 * CPU, an APIC id used twice or 0xffffffff, a misaligned buf_gpa, NUMA parameters that break
 * the rules above, pci_segments above PCI_MAX_SEGMENTS, mem_hotplug_slots above
 * MEM_HOTPLUG_MAX_SLOTS, a hotplug range past 2^64). Each PCI segment costs about 4.3 KiB
 * of DSDT (32 slot devices, DVNT, _PRT), so ACPI_TABLES_MAX holds about 28 of them.
 */
long acpi_build(const struct acpi_params *p, uint8_t *buf, uint64_t buf_gpa, size_t cap);

#endif
