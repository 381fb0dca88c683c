#include "core/acpi/acpi_tables.h"

#include "core/acpi/aml.h"
#include "core/acpi/dsdt_hotplug.h"
#include "core/acpi/dsdt_pci.h"
#include "core/platform.h"

/*
 * The DSDT: \_S5_ at the root and the platform devices under \_SB. Each device is one
 * function writing into the open \_SB scope, listed in sb_devices[]; the CPU and memory
 * hotplug controllers with the processor and memory devices (dsdt_hotplug.c), the PCI hotplug
 * controller and the host bridges (dsdt_pci.c, plus ECAM in \_SB.MBRD) slot in the same way.
 */
#define DSDT_REVISION 2 /* 2 and up: integers are 64 bits wide */

/* Notify value for a power button press (5.6.6, "Device Object Notification Values"). */
#define NOTIFY_BUTTON_PRESSED 0x80

#define GED_REGISTER_BYTES    4

/* Name (_HID, EisaId (id)); Name (_UID, uid) */
static void hid_uid(struct acpi_buf *b, const char *eisaid, uint64_t uid)
{
    aml_name(b, "_HID");
    aml_eisaid(b, eisaid);
    aml_name(b, "_UID");
    aml_int(b, uid);
}

/* \_S5_: SLP_TYPa for soft-off; hardware-reduced sleep writes it to SLEEP_CONTROL_REG. The
 * other elements (SLP_TYPb, reserved) are zero. */
static void dsdt_sleep_states(struct acpi_buf *b)
{
    size_t pkg;

    aml_name(b, "_S5");
    pkg = aml_package(b, 4);
    aml_int(b, ACPI_S5_SLP_TYP);
    aml_int(b, 0);
    aml_int(b, 0);
    aml_int(b, 0);
    aml_end(b, pkg);
}

static void sb_com1(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev, crs;

    if (p->no_com1)
        return;
    dev = aml_device(b, "COM1");
    hid_uid(b, "PNP0501", 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    aml_res_io(b, PORT_SERIAL_COM1, 8);
    aml_res_irq_noflags(b, IRQ_SERIAL_COM1);
    aml_restemp_end(b, crs);
    aml_end(b, dev);
}

/*
 * The CMOS RTC without an interrupt: rtc-cmos then runs without alarm and update interrupts
 * (hwclock falls back to polling), which is right while the core's CMOS model raises none.
 * Declaring IRQNoFlags {IRQ_RTC} here would make hwclock wait for an interrupt that never
 * comes; add it when the model raises IRQ 8.
 */
static void sb_rtc(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev, crs;

    (void)p;
    dev = aml_device(b, "RTC");
    hid_uid(b, "PNP0B00", 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    aml_res_io(b, PORT_CMOS_INDEX, 2);
    aml_restemp_end(b, crs);
    aml_end(b, dev);
}

static void sb_power_button(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev;

    (void)p;
    dev = aml_device(b, "PWRB");
    hid_uid(b, "PNP0C0C", 0);
    aml_end(b, dev);
}

/* If (Local0 & bit): opens the If; the caller writes the body and closes it. */
static size_t ged_if(struct acpi_buf *b, uint32_t bit)
{
    size_t cond = aml_if(b);

    aml_op(b, AML_AND);
    aml_local(b, 0);
    aml_int(b, bit);
    aml_null_target(b);
    return cond;
}

/* If (Local0 & bit) { method () } */
static void ged_call(struct acpi_buf *b, uint32_t bit, const char *method)
{
    size_t cond = ged_if(b, bit);

    aml_name_ref(b, method);
    aml_end(b, cond);
}

/*
 * The Generic Event Device (5.6.9): its interrupt runs _EVT, which reads (and thereby clears)
 * the event register and notifies the devices whose bits are set. Its _CRS holds the interrupt
 * and nothing else, because Linux's driver (drivers/acpi/evged.c) fails the whole device on
 * any other resource type; the register window is reserved by \_SB.MBRD instead.
 */
static void sb_ged(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev, crs, field, method, cond;

    dev = aml_device(b, "GED");
    aml_name(b, "_HID");
    aml_string(b, "ACPI0013");
    aml_name(b, "_UID");
    aml_int(b, 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    aml_res_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, IRQ_GED);
    aml_restemp_end(b, crs);

    aml_op_region(b, "GDST", AML_SYSTEM_MEMORY, GPA_GED_START, GED_REGISTER_BYTES);
    field = aml_field(b, "GDST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
    aml_field_unit(b, "GDAT", 32);
    aml_end(b, field);

    /* Method (_EVT, 1, Serialized) { Local0 = GDAT; If (Local0 & CPU) { \_SB_.CPUS.CSCN () }
     *   If (Local0 & MEMORY) { \_SB_.MHPC.MSCN () } If (Local0 & PCI) { \_SB_.PHPR.PSCN () }
     *   If (Local0 & POWER) { Notify (\_SB_.PWRB, 0x80) } }, in Cloud Hypervisor's order; a
     * branch only where its device exists. */
    method = aml_method(b, "_EVT", 1, true);
    aml_op(b, AML_STORE);
    aml_name_ref(b, "GDAT");
    aml_local(b, 0);
    ged_call(b, GED_EVENT_CPU, "\\_SB.CPUS.CSCN");
    if (p->mem_hotplug_slots)
        ged_call(b, GED_EVENT_MEMORY, "\\_SB.MHPC.MSCN");
    if (p->pci)
        ged_call(b, GED_EVENT_PCI, "\\_SB.PHPR.PSCN");
    cond = ged_if(b, GED_EVENT_POWER_BUTTON);
    aml_op(b, AML_NOTIFY);
    aml_name_ref(b, "\\_SB.PWRB");
    aml_int(b, NOTIFY_BUTTON_PRESSED);
    aml_end(b, cond);
    aml_end(b, method);
    aml_end(b, dev);
}

/* Motherboard resources (PNP0C02): address ranges that belong to no enumerable device, so
 * the OS keeps them out of its allocators: ECAM, the GED's and the hotplug controllers'
 * register pages and the PM/reset ports. */
static void sb_motherboard(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev, crs;

    dev = aml_device(b, "MBRD");
    hid_uid(b, "PNP0C02", 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    /* ECAM must be reserved here (or in E820) before Linux trusts MCFG; the segments' ECAM
     * windows are contiguous, one MiB each. */
    if (p->pci)
        aml_res_mem32_fixed(b, false, (uint32_t)GPA_ECAM_START,
                            (uint32_t)(acpi_pci_segments(p) * GPA_ECAM_SEG_SIZE));
    aml_res_mem32_fixed(b, true, (uint32_t)GPA_GED_START, (uint32_t)GPA_GED_SIZE);
    if (p->pci)
        aml_res_mem32_fixed(b, true, (uint32_t)GPA_PCI_HOTPLUG_START,
                            (uint32_t)GPA_PCI_HOTPLUG_SIZE);
    aml_res_mem32_fixed(b, true, (uint32_t)GPA_CPU_HOTPLUG_START, (uint32_t)GPA_CPU_HOTPLUG_SIZE);
    if (p->mem_hotplug_slots)
        aml_res_mem32_fixed(b, true, (uint32_t)GPA_MEM_HOTPLUG_START,
                            (uint32_t)GPA_MEM_HOTPLUG_SIZE);
    aml_res_io(b, PORT_ACPI_PM_BASE, PORT_ACPI_RESET - PORT_ACPI_PM_BASE + 1);
    aml_restemp_end(b, crs);
    aml_end(b, dev);
}

static void sb_cpu_hotplug(struct acpi_buf *b, const struct acpi_params *p)
{
    acpi_dsdt_cpu_hotplug(b, p);
}

static void sb_mem_hotplug(struct acpi_buf *b, const struct acpi_params *p)
{
    if (p->mem_hotplug_slots)
        acpi_dsdt_mem_hotplug(b, p);
}

static void sb_pci_hotplug(struct acpi_buf *b, const struct acpi_params *p)
{
    if (p->pci)
        acpi_dsdt_pci_hotplug(b, p);
}

static void sb_pci(struct acpi_buf *b, const struct acpi_params *p)
{
    if (p->pci)
        acpi_dsdt_pci_bridges(b, p);
}

static void (*const sb_devices[])(struct acpi_buf *, const struct acpi_params *) = {
    sb_cpu_hotplug, sb_com1,        sb_rtc, sb_power_button, sb_ged,
    sb_mem_hotplug, sb_pci_hotplug, sb_pci, sb_motherboard,
};

void acpi_dsdt_build(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t start = acpi_sdt_begin(b, "DSDT", DSDT_REVISION);
    size_t sb;

    dsdt_sleep_states(b);
    sb = aml_scope(b, "\\_SB");
    for (size_t i = 0; i < sizeof(sb_devices) / sizeof(sb_devices[0]); i++)
        sb_devices[i](b, p);
    aml_end(b, sb);
    acpi_sdt_end(b, start);
}
