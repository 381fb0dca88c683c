#ifndef CELLVM_CORE_PLATFORM_H
#define CELLVM_CORE_PLATFORM_H

/*
 * The x86_64 guest platform: one place for every address, port and interrupt line that the
 * boot loaders, ACPI tables and device emulation must agree on (DESIGN.md, "Memory map").
 */

/* Guest-physical memory map. */
#define GPA_LOW_RAM_END       0x000A0000ull /* RAM below 640 KiB */
#define GPA_BIOS_START        0x000E0000ull /* reserved: ACPI tables live here */
#define GPA_HIGH_RAM_START    0x00100000ull /* RAM from 1 MiB ... */
#define GPA_MEM32_END         0xC0000000ull /* ... up to 3 GiB, then the hole */
#define GPA_MMIO32_START      0xC0000000ull /* 32-bit PCI BARs */
#define GPA_MMIO32_END        0xE0000000ull
#define GPA_ECAM_START        0xE0000000ull /* PCI ECAM: segment s at + s * GPA_ECAM_SEG_SIZE */
#define GPA_ECAM_SIZE         0x10000000ull /* reserved whole (E820) */
#define GPA_ECAM_SEG_SIZE     0x00100000ull /* one bus (bus 0) per segment, as Cloud Hypervisor */
#define GPA_GED_START         0xFEB00000ull /* ACPI generic event device, one 32-bit register */
#define GPA_GED_SIZE          0x1000ull
#define GPA_PCI_HOTPLUG_START 0xFEB01000ull /* \_SB_.PHPR: PCIU, PCID, B0EJ, PSEG (16 bytes) */
#define GPA_PCI_HOTPLUG_SIZE  0x1000ull     /* the page is reserved; 16 bytes decode */
#define GPA_CPU_HOTPLUG_START 0xFEB02000ull /* \_SB_.PRES: CSEL, status byte (12 bytes) */
#define GPA_CPU_HOTPLUG_SIZE  0x1000ull     /* the page is reserved; 12 bytes decode */
#define GPA_MEM_HOTPLUG_START 0xFEB03000ull /* \_SB_.MHPC: base, length, status (24 bytes) */
#define GPA_MEM_HOTPLUG_SIZE  0x1000ull     /* the page is reserved; 24 bytes decode */
#define GPA_IOAPIC            0xFEC00000ull
#define GPA_LAPIC             0xFEE00000ull
#define GPA_RAM_ABOVE_4G      0x100000000ull /* RAM beyond 3 GiB continues here */

/* Pages KVM needs inside the hole on Intel (VMX real-mode emulation): the identity-map page
 * table (one page) and the TSS (three pages), both unused by the guest. */
#define GPA_KVM_IDENTITY_MAP 0xFFFBC000ull
#define GPA_KVM_TSS          0xFFFBD000ull

/* Low-memory boot structures (all inside RAM below 640 KiB, reserved from the guest's view
 * only by virtue of being used before it runs). */
#define GPA_BOOT_GDT       0x00000500ull
#define GPA_PVH_START_INFO 0x00006000ull /* struct hvm_start_info, module list, memmap */
#define GPA_ZERO_PAGE      0x00007000ull /* Linux boot_params */
#define GPA_BOOT_STACK     0x00008ff0ull
#define GPA_PML4           0x00009000ull /* identity map of the first 4 GiB, 2 MiB pages */
#define GPA_PDPT           0x0000a000ull
#define GPA_PD             0x0000b000ull /* four pages: 0xb000..0xefff */
#define GPA_CMDLINE        0x00020000ull
#define CMDLINE_MAX        0x00010000ull /* room reserved; the protocol limit is smaller */
#define GPA_ACPI_TABLES    GPA_BIOS_START
#define ACPI_TABLES_MAX    0x0001f000ull /* up to the reset-vector page */
#define GPA_RESET_VECTOR   0x000ffff0ull /* F000:FFF0, where a real-mode restart jumps */
/* SMBIOS entry point and tables: the reset-vector page below the vector itself, inside the
 * 0xF0000-0xFFFFF range Linux scans without EFI and inside the reserved BIOS area. */
#define GPA_SMBIOS 0x000ff000ull
#define SMBIOS_MAX (GPA_RESET_VECTOR - GPA_SMBIOS)

/* I/O ports. */
#define PORT_PIC_MASTER         0x20
#define PORT_I8042_DATA         0x60
#define PORT_I8042_CMD          0x64
#define PORT_CMOS_INDEX         0x70
#define PORT_CMOS_DATA          0x71
#define PORT_POST_CODE          0x80 /* firmware/kernel debug and I/O delay writes: ignored */
#define PORT_SERIAL_COM1        0x3f8
#define PORT_ACPI_PM_BASE       0x600 /* hardware-reduced sleep control, sleep status, reset */
#define PORT_ACPI_SLEEP_CONTROL (PORT_ACPI_PM_BASE + 0)
#define PORT_ACPI_SLEEP_STATUS  (PORT_ACPI_PM_BASE + 1)
#define PORT_ACPI_RESET         (PORT_ACPI_PM_BASE + 2)
#define ACPI_RESET_VALUE        0x01
#define ACPI_S5_SLP_TYP         5 /* _S5_ package value; SLP_EN is bit 5, SLP_TYP bits 2-4 */

/* GED event bits (the register at GPA_GED_START reads and clears them), Cloud Hypervisor's
 * values (devices/src/acpi.rs), each naming what _EVT runs. */
#define GED_EVENT_CPU          0x1u /* vCPUs added or to be removed: \_SB_.CPUS.CSCN */
#define GED_EVENT_MEMORY       0x2u /* memory slots added: \_SB_.MHPC.MSCN */
#define GED_EVENT_PCI          0x4u /* PCI slots changed: \_SB_.PHPR.PSCN */
#define GED_EVENT_POWER_BUTTON 0x8u /* Notify (\_SB_.PWRB, 0x80) */

/* ACPI memory hotplug slots (\_SB_.MHPC.Mnnn), one per hot-added region. */
#define MEM_HOTPLUG_MAX_SLOTS 64

/* PCI segments (--platform num_pci_segments): 1..PCI_MAX_SEGMENTS, 32 slots on bus 0 each. */
#define PCI_MAX_SEGMENTS 96

/* Interrupt lines (IOAPIC pins, GSI = pin). */
#define IRQ_SERIAL_COM1 4
#define IRQ_GED         5
#define IRQ_RTC         8
/* PCI INTx: IOAPIC pins 16-23 (above every ISA IRQ, below the MSI GSIs), level-triggered,
 * active-low; INTA-INTD of slot s go to GSI 16 + (s + pin) % 8 (pin 0 = INTA), the DSDT's
 * _PRT says so. */
#define IRQ_PCI_INTX_FIRST 16
#define IRQ_PCI_INTX_COUNT 8
#define IRQ_PCI_INTX(slot, pin) \
    (IRQ_PCI_INTX_FIRST + ((unsigned)(slot) + (unsigned)(pin)) % IRQ_PCI_INTX_COUNT)

#endif
