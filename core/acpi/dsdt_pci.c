#include "core/acpi/dsdt_pci.h"

#include <stdio.h>

#include "core/acpi/acpi_tables.h"
#include "core/acpi/aml.h"
#include "core/pci_layout.h"
#include "core/platform.h"

/*
 * The PCI part of the DSDT, in Cloud Hypervisor's shape so that a guest sees the same
 * namespace under either VMM:
 *
 *   \_SB_.PHPR        the hotplug controller: the registers of core/vm/pci_hotplug.h
 *   \_SB_.PCnn        one PNP0A08 host bridge per segment (nn in hex), bus 0 only, with
 *     Sddd              32 slot devices (ddd decimal) whose _EJ0 writes B0EJ through PHPR.PCEJ,
 *     DVNT, PCNT        and the methods that turn PCIU/PCID into Notify on the slots.
 *
 * Hot-add: the core latches the slot in PCIU and raises GED_EVENT_PCI; GED._EVT calls
 * PHPR.PSCN, which runs every segment's PCNT: select the segment, Notify (Sddd, 1) (device
 * check: the OS enumerates the slot) for each PCIU bit and Notify (Sddd, 3) (eject request:
 * the OS unbinds the driver and runs _EJ0) for each PCID bit. _EJ0 reports the slot in B0EJ.
 *
 * Every method is Serialized as in Cloud Hypervisor. BLCK has SyncLevel 0 like the implicit
 * mutex of a Serialized method, and ACPI allows acquiring a mutex of the same level, so
 * PCNT may take BLCK and then call DVNT.
 */

#define PCI_SLOTS 32
#define PCI_PINS  4

/* Notify values (ACPI 6.5, 5.6.6). */
#define NOTIFY_DEVICE_CHECK  1
#define NOTIFY_EJECT_REQUEST 3

/* _STA of PHPR as Cloud Hypervisor has it: present, enabled, functioning, not shown in UI. */
#define STA_PRESENT_HIDDEN  0x0b

#define PHPR_REGISTER_BYTES 16
#define ACQUIRE_FOREVER     0xffff

/*
 * _PRT: INTx of every slot of bus 0 as GSIs (source Zero), INTA-INTD of slot s on
 * IRQ_PCI_INTX(s, pin), the swizzle over IOAPIC pins 16-23 that core/vm/vfio_pci_irq.c raises.
 * A GSI entry makes the OS program the pin level-triggered, active-low (ACPI 6.2.13);
 * KVM's IOAPIC honours either polarity. Entries: {0xSSSSFFFF (any function of slot s), pin,
 * Zero, GSI}. Every segment gets the same table.
 */
static void pci_prt(struct acpi_buf *b)
{
    size_t prt;

    aml_name(b, "_PRT");
    prt = aml_package(b, PCI_SLOTS * PCI_PINS);
    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        for (unsigned pin = 0; pin < PCI_PINS; pin++) {
            size_t e = aml_package(b, 4);

            aml_int(b, (uint64_t)s << 16 | 0xffff);
            aml_int(b, pin);
            aml_int(b, 0);
            aml_int(b, IRQ_PCI_INTX(s, pin));
            aml_end(b, e);
        }
    }
    aml_end(b, prt);
}

/* The Generic Initiator for function fn of slot dev, if there is one (segment 0 only). */
static const struct acpi_pci_initiator *initiator_of(const struct acpi_params *p, uint32_t seg,
                                                     unsigned dev, unsigned fn)
{
    if (seg != 0)
        return NULL;
    for (uint32_t i = 0; i < p->ninitiators; i++) {
        if (p->initiators[i].dev == dev && p->initiators[i].fn == fn)
            return &p->initiators[i];
    }
    return NULL;
}

/*
 * Device (Sddd) { Name (_SUN, ddd) Name (_ADR, ddd << 16) [Name (_PXM, node)]
 *                 Method (_EJ0, 1, Serialized) { \_SB_.PHPR.PCEJ (_SUN, _SEG) } }
 * _SEG resolves upward to the host bridge's. A Generic Initiator on function 0 puts its _PXM
 * here: Linux finds the ACPI companion of a PCI function by _ADR, so this device is it.
 */
static void pci_slot(struct acpi_buf *b, const struct acpi_params *p, uint32_t seg, unsigned s)
{
    const struct acpi_pci_initiator *g = initiator_of(p, seg, s, 0);
    char name[8];
    size_t dev, ej0;

    snprintf(name, sizeof(name), "S%03u", s);
    dev = aml_device(b, name);
    aml_name(b, "_SUN");
    aml_int(b, s);
    aml_name(b, "_ADR");
    aml_int(b, (uint64_t)s << 16);
    if (g) {
        aml_name(b, "_PXM");
        aml_int(b, g->node);
    }
    ej0 = aml_method(b, "_EJ0", 1, true);
    aml_name_ref(b, "\\_SB.PHPR.PCEJ");
    aml_name_ref(b, "_SUN");
    aml_name_ref(b, "_SEG");
    aml_end(b, ej0);
    aml_end(b, dev);
}

/* A Generic Initiator on a function other than 0: its own device next to the slot, named
 * Fddf (slot and function in hex) so that it cannot collide with the decimal Sddd names. */
static void pci_function_initiator(struct acpi_buf *b, const struct acpi_pci_initiator *g)
{
    char name[8];
    size_t dev;

    snprintf(name, sizeof(name), "F%02X%X", (unsigned)g->dev & 0x1f, (unsigned)g->fn & 7);
    dev = aml_device(b, name);
    aml_name(b, "_ADR");
    aml_int(b, (uint64_t)g->dev << 16 | g->fn);
    aml_name(b, "_PXM");
    aml_int(b, g->node);
    aml_end(b, dev);
}

/*
 * Method (DVNT, 2, Serialized): for each slot s,
 *     Local0 = Arg0 & (1 << s); If (Local0 == (1 << s)) { Notify (Sddd, Arg1) }
 * Method (PCNT, 0, Serialized):
 *     Acquire (\_SB_.PHPR.BLCK, 0xFFFF); \_SB_.PHPR.PSEG = _SEG
 *     DVNT (\_SB_.PHPR.PCIU, 1); DVNT (\_SB_.PHPR.PCID, 3); Release (\_SB_.PHPR.BLCK)
 * PCIU and PCID clear on read, so each is read exactly once, under BLCK, after PSEG is set.
 */
static void pci_slot_methods(struct acpi_buf *b)
{
    size_t m = aml_method(b, "DVNT", 2, true);

    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        char name[8];
        size_t cond;

        snprintf(name, sizeof(name), "S%03u", s);
        aml_op(b, AML_AND);
        aml_arg(b, 0);
        aml_int(b, 1ull << s);
        aml_local(b, 0);
        cond = aml_if(b);
        aml_op(b, AML_LEQUAL);
        aml_local(b, 0);
        aml_int(b, 1ull << s);
        aml_op(b, AML_NOTIFY);
        aml_name_ref(b, name);
        aml_arg(b, 1);
        aml_end(b, cond);
    }
    aml_end(b, m);

    m = aml_method(b, "PCNT", 0, true);
    aml_acquire(b, "\\_SB.PHPR.BLCK", ACQUIRE_FOREVER);
    aml_op(b, AML_STORE);
    aml_name_ref(b, "_SEG");
    aml_name_ref(b, "\\_SB.PHPR.PSEG");
    aml_name_ref(b, "DVNT");
    aml_name_ref(b, "\\_SB.PHPR.PCIU");
    aml_int(b, NOTIFY_DEVICE_CHECK);
    aml_name_ref(b, "DVNT");
    aml_name_ref(b, "\\_SB.PHPR.PCID");
    aml_int(b, NOTIFY_EJECT_REQUEST);
    aml_release(b, "\\_SB.PHPR.BLCK");
    aml_end(b, m);
}

/*
 * The host bridge of one segment: bus 0 only, the segment's MMIO32 window and its MMIO64
 * window when non-empty (pci_layout.h), and on segment 0 alone the I/O ports around the 0xCF8
 * configuration pair. ECAM is not listed here: it is reserved in \_SB_.MBRD and described by
 * MCFG. No _ADR: a device has _HID or _ADR, never both.
 */
static void pci_host_bridge(struct acpi_buf *b, const struct acpi_params *p, uint32_t nseg,
                            uint32_t seg)
{
    struct pci_seg_layout l;
    char name[8];
    size_t dev, crs;

    pci_seg_layout(nseg, seg, p->pci_mmio64_start, p->pci_mmio64_end, &l);
    snprintf(name, sizeof(name), "PC%02X", (unsigned)seg & 0xff);
    dev = aml_device(b, name);
    aml_name(b, "_HID");
    aml_eisaid(b, "PNP0A08");
    aml_name(b, "_CID");
    aml_eisaid(b, "PNP0A03");
    aml_name(b, "_SEG");
    aml_int(b, seg);
    aml_name(b, "_UID");
    aml_int(b, seg);
    aml_name(b, "_BBN");
    aml_int(b, 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    aml_res_word_bus(b, 0, 0);
    if (seg == 0) {
        aml_res_io(b, 0xcf8, 8);
        aml_res_word_io(b, 0x0000, 0x0cf7);
        aml_res_word_io(b, 0x0d00, 0xffff);
    }
    aml_res_dword_mem(b, (uint32_t)l.mmio32_start, (uint32_t)(l.mmio32_end - 1));
    if (l.mmio64_end > l.mmio64_start)
        aml_res_qword_mem(b, l.mmio64_start, l.mmio64_end - 1);
    aml_restemp_end(b, crs);
    pci_prt(b);
    for (unsigned s = 0; s < PCI_SLOTS; s++)
        pci_slot(b, p, seg, s);
    for (uint32_t i = 0; seg == 0 && i < p->ninitiators; i++) {
        if (p->initiators[i].fn != 0)
            pci_function_initiator(b, &p->initiators[i]);
    }
    pci_slot_methods(b);
    aml_end(b, dev);
}

void acpi_dsdt_pci_bridges(struct acpi_buf *b, const struct acpi_params *p)
{
    uint32_t nseg = acpi_pci_segments(p);

    for (uint32_t seg = 0; seg < nseg; seg++)
        pci_host_bridge(b, p, nseg, seg);
}

/* Method (PCEJ, 2, Serialized): Arg0 the slot, Arg1 the segment. */
static void phpr_pcej(struct acpi_buf *b)
{
    size_t m = aml_method(b, "PCEJ", 2, true);

    aml_acquire(b, "BLCK", ACQUIRE_FOREVER);
    aml_op(b, AML_STORE);
    aml_arg(b, 1);
    aml_name_ref(b, "PSEG");
    aml_op(b, AML_SHIFT_LEFT);
    aml_int(b, 1);
    aml_arg(b, 0);
    aml_name_ref(b, "B0EJ");
    aml_release(b, "BLCK");
    aml_op(b, AML_RETURN);
    aml_int(b, 0);
    aml_end(b, m);
}

/*
 * \_SB_.PHPR as Cloud Hypervisor declares it (PNP0A06, its _UID string, _STA 0x0B, a _CRS
 * with the registers). Linux binds PNP0A06 to its ACPI container handler
 * (drivers/acpi/container.c), so PHPR never becomes a PNP device and nothing claims that
 * _CRS; the page is therefore also reserved in \_SB_.MBRD, as the GED's is. The _CRS stays
 * for parity and for OSes that do read it.
 */
void acpi_dsdt_pci_hotplug(struct acpi_buf *b, const struct acpi_params *p)
{
    uint32_t nseg = acpi_pci_segments(p);
    size_t dev, crs, field, m;

    dev = aml_device(b, "PHPR");
    aml_name(b, "_HID");
    aml_eisaid(b, "PNP0A06");
    aml_name(b, "_STA");
    aml_int(b, STA_PRESENT_HIDDEN);
    aml_name(b, "_UID");
    aml_string(b, "PCI Hotplug Controller");
    aml_mutex(b, "BLCK", 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    aml_res_mem32_fixed(b, true, (uint32_t)GPA_PCI_HOTPLUG_START, PHPR_REGISTER_BYTES);
    aml_restemp_end(b, crs);
    aml_op_region(b, "PCST", AML_SYSTEM_MEMORY, GPA_PCI_HOTPLUG_START, PHPR_REGISTER_BYTES);
    field = aml_field(b, "PCST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
    aml_field_unit(b, "PCIU", 32);
    aml_field_unit(b, "PCID", 32);
    aml_field_unit(b, "B0EJ", 32);
    aml_field_unit(b, "PSEG", 32);
    aml_end(b, field);
    phpr_pcej(b);

    m = aml_method(b, "PSCN", 0, true);
    for (uint32_t seg = 0; seg < nseg; seg++) {
        char path[24];

        snprintf(path, sizeof(path), "\\_SB.PC%02X.PCNT", (unsigned)seg & 0xff);
        aml_name_ref(b, path);
    }
    aml_end(b, m);
    aml_end(b, dev);
}
