#include "core/acpi/acpi_tables.h"

#include "core/pci_layout.h"
#include "core/platform.h"

/*
 * FADT (ACPI 6.5, 5.2.9), revision 6: 276 bytes. Only the fields a hardware-reduced platform
 * uses are set; every PM1/GPE/PM timer block stays zero because there is no fixed hardware.
 */
#define FADT_REVISION       6
#define FADT_MINOR_REVISION 3 /* ACPI 6.3, the version Online Capable (MADT) came with */
#define FADT_LENGTH         276

enum fadt_offset {
    FADT_PM_PROFILE = 45,
    FADT_IAPC_BOOT_ARCH = 109,
    FADT_FLAGS = 112,
    FADT_RESET_REG = 116,
    FADT_RESET_VALUE = 128,
    FADT_MINOR_VERSION = 131,
    FADT_X_DSDT = 140,
    FADT_SLEEP_CONTROL_REG = 244,
    FADT_SLEEP_STATUS_REG = 256,
    FADT_HYPERVISOR_ID = 268,
};

/* Preferred_PM_Profile 0, "Unspecified": a VM has no form factor, and the values Linux acts
 * on (mobile, server) would only steer host-side policies such as battery or pstate drivers. */
#define FADT_PM_UNSPECIFIED 0

/*
 * IAPC_BOOT_ARCH: "VGA Not Present" only. LEGACY_DEVICES stays clear (COM1 and the RTC are
 * described in the DSDT, not probed blindly); 8042 stays clear so Linux does not probe a
 * keyboard controller (the core's i8042 exists only to catch the 0xFE reset write, which
 * Linux issues as a reboot fallback regardless of this flag); MSI is supported; the CMOS RTC
 * is present.
 */
#define IAPC_VGA_NOT_PRESENT (1u << 2)

/*
 * Flags: WBINVD works (the spec requires new systems to set it), the power and sleep buttons
 * are control-method devices (PNP0C0C in the DSDT; no fixed-feature button exists), the
 * reset register is valid, and the platform is hardware-reduced (no SCI, PM1, GPE, FACS).
 */
#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_PWR_BUTTON    (1u << 4)
#define FADT_F_SLP_BUTTON    (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED    (1u << 20)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SYSTEM_IO   1
#define GAS_ACCESS_BYTE 1

/* Hypervisor Vendor Identity, 8 bytes; informational only. */
#define FADT_HYPERVISOR_ID_STR "CELLVM  "

static void put_gas_io8(uint8_t *p, uint16_t port)
{
    p[0] = GAS_SYSTEM_IO;
    p[1] = 8; /* register bit width */
    p[2] = 0; /* bit offset */
    p[3] = GAS_ACCESS_BYTE;
    acpi_le64(p + 4, port);
}

void acpi_fadt_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx)
{
    size_t start = acpi_sdt_begin(b, "FACP", FADT_REVISION);
    uint8_t *t;

    if (!acpi_buf_grow(b, FADT_LENGTH - ACPI_SDT_HDR_SIZE))
        return;
    t = b->base + start;
    t[FADT_PM_PROFILE] = FADT_PM_UNSPECIFIED;
    acpi_le16(t + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT);
    acpi_le32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
                                  FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED);
    put_gas_io8(t + FADT_RESET_REG, PORT_ACPI_RESET);
    t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
    t[FADT_MINOR_VERSION] = FADT_MINOR_REVISION;
    /* The 32-bit DSDT field stays zero: ACPI 2.0+ says it must when X_DSDT is set. */
    acpi_le64(t + FADT_X_DSDT, ctx->dsdt_gpa);
    put_gas_io8(t + FADT_SLEEP_CONTROL_REG, PORT_ACPI_SLEEP_CONTROL);
    put_gas_io8(t + FADT_SLEEP_STATUS_REG, PORT_ACPI_SLEEP_STATUS);
    for (int i = 0; i < 8; i++)
        t[FADT_HYPERVISOR_ID + i] = (uint8_t)FADT_HYPERVISOR_ID_STR[i];
    acpi_sdt_end(b, start);
}

/*
 * MADT (5.2.12), revision 5 (ACPI 6.3): the first revision with the Online Capable flag, which
 * Linux honours only from revision 5 on. Without it a disabled CPU would be ignored for good
 * rather than counted as hot-pluggable.
 */
#define MADT_REVISION 5

/*
 * PCAT_COMPAT set: KVM_CREATE_IRQCHIP really does instantiate a dual 8259, and the flag tells
 * an OS to mask it before using the IOAPIC. Linux ignores the flag here (a hardware-reduced
 * FADT makes it use no legacy PIC at all), so it matters only to other guests.
 */
#define MADT_PCAT_COMPAT 1u

enum madt_type {
    MADT_LAPIC = 0,
    MADT_IOAPIC = 1,
    MADT_INT_OVERRIDE = 2,
    MADT_LAPIC_NMI = 4,
    MADT_X2APIC = 9,
    MADT_X2APIC_NMI = 10,
};

#define MADT_CPU_ONLINE_CAPABLE (1u << 1)
#define MADT_ALL_CPUS_UID8      0xffu
#define MADT_ALL_CPUS_UID32     0xffffffffu
#define MADT_LINT1              1
#define MADT_IRQ_CONFORMS       0 /* polarity and trigger as the bus defines them */

/* Type 0 holds an 8-bit APIC id (0xff is reserved) and an 8-bit UID; anything larger needs
 * the x2APIC structure (5.2.12.12). */
static bool cpu_fits_lapic(uint32_t apic_id, uint32_t uid)
{
    return apic_id < 0xff && uid < 0xff;
}

bool acpi_madt_cpu_entry(struct acpi_buf *b, uint32_t uid, uint32_t apic_id, uint32_t flags)
{
    if (cpu_fits_lapic(apic_id, uid)) {
        acpi_buf_put8(b, MADT_LAPIC);
        acpi_buf_put8(b, 8);
        acpi_buf_put8(b, (uint8_t)uid);
        acpi_buf_put8(b, (uint8_t)apic_id);
        acpi_buf_put32(b, flags);
        return false;
    }
    acpi_buf_put8(b, MADT_X2APIC);
    acpi_buf_put8(b, 16);
    acpi_buf_put16(b, 0);
    acpi_buf_put32(b, apic_id);
    acpi_buf_put32(b, flags);
    acpi_buf_put32(b, uid);
    return true;
}

static void madt_cpus(struct acpi_buf *b, const struct acpi_params *p, bool *any_x2apic)
{
    *any_x2apic = false;
    for (uint32_t uid = 0; uid < p->ncpus; uid++) {
        const struct acpi_cpu *c = &p->cpus[uid];
        /* Enabled and Online Capable are exclusive: Online Capable marks a CPU that is off
         * now but may be hot-added later. */
        uint32_t flags = c->enabled ? ACPI_MADT_CPU_ENABLED : MADT_CPU_ONLINE_CAPABLE;

        *any_x2apic |= acpi_madt_cpu_entry(b, uid, c->apic_id, flags);
    }
}

void acpi_madt_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx)
{
    size_t start = acpi_sdt_begin(b, "APIC", MADT_REVISION);
    bool any_x2apic;

    acpi_buf_put32(b, (uint32_t)GPA_LAPIC);
    acpi_buf_put32(b, MADT_PCAT_COMPAT);
    madt_cpus(b, ctx->p, &any_x2apic);

    acpi_buf_put8(b, MADT_IOAPIC);
    acpi_buf_put8(b, 12);
    acpi_buf_put8(b, 0); /* IOAPIC id, as KVM's in-kernel IOAPIC reports it */
    acpi_buf_put8(b, 0);
    acpi_buf_put32(b, (uint32_t)GPA_IOAPIC);
    acpi_buf_put32(b, 0); /* GSI base: pin n is GSI n */

    /* The ISA timer (IRQ0) is wired to IOAPIC pin 2, as on every PC; all other ISA IRQs are
     * identity-mapped and need no entry. */
    acpi_buf_put8(b, MADT_INT_OVERRIDE);
    acpi_buf_put8(b, 10);
    acpi_buf_put8(b, 0); /* bus: ISA */
    acpi_buf_put8(b, 0); /* source IRQ */
    acpi_buf_put32(b, 2);
    acpi_buf_put16(b, MADT_IRQ_CONFORMS);

    /* NMI arrives on LINT1 of every processor. The x2APIC form covers CPUs that only have an
     * x2APIC structure, whose UIDs the 8-bit "all" value cannot name. */
    acpi_buf_put8(b, MADT_LAPIC_NMI);
    acpi_buf_put8(b, 6);
    acpi_buf_put8(b, MADT_ALL_CPUS_UID8);
    acpi_buf_put16(b, MADT_IRQ_CONFORMS);
    acpi_buf_put8(b, MADT_LINT1);
    if (any_x2apic) {
        acpi_buf_put8(b, MADT_X2APIC_NMI);
        acpi_buf_put8(b, 12);
        acpi_buf_put16(b, MADT_IRQ_CONFORMS);
        acpi_buf_put32(b, MADT_ALL_CPUS_UID32);
        acpi_buf_put8(b, MADT_LINT1);
        acpi_buf_put8(b, 0);
        acpi_buf_put16(b, 0);
    }
    acpi_sdt_end(b, start);
}

/* MCFG (PCI Firmware Specification 3.2, 4.1.2): one allocation per segment, bus 0 only, at
 * the segment's ECAM (pci_layout.h). */
#define MCFG_REVISION 1

bool acpi_pci_present(const struct acpi_table_ctx *ctx)
{
    return ctx->p->pci;
}

uint32_t acpi_pci_segments(const struct acpi_params *p)
{
    if (!p->pci)
        return 0;
    return p->pci_segments ? p->pci_segments : 1;
}

void acpi_mcfg_build(struct acpi_buf *b, const struct acpi_table_ctx *ctx)
{
    size_t start = acpi_sdt_begin(b, "MCFG", MCFG_REVISION);
    uint32_t nseg = acpi_pci_segments(ctx->p);

    acpi_buf_put64(b, 0); /* reserved */
    for (uint32_t seg = 0; seg < nseg; seg++) {
        struct pci_seg_layout l;

        pci_seg_layout(nseg, seg, ctx->p->pci_mmio64_start, ctx->p->pci_mmio64_end, &l);
        acpi_buf_put64(b, l.ecam);
        acpi_buf_put16(b, (uint16_t)seg);
        acpi_buf_put8(b, 0); /* first bus */
        acpi_buf_put8(b, 0); /* last bus */
        acpi_buf_put32(b, 0);
    }
    acpi_sdt_end(b, start);
}
