#include "core/acpi/dsdt_hotplug.h"

#include <stdio.h>

#include "core/acpi/acpi_tables.h"
#include "core/acpi/aml.h"
#include "core/platform.h"

/*
 * CPU and memory hotplug in the DSDT, in Cloud Hypervisor's shape (vmm/src/cpu.rs,
 * vmm/src/memory_manager.rs) so that a guest sees the same namespace under either VMM:
 *
 *   \_SB_.PRES   the CPU hotplug controller: the registers of core/vm/cpu_hotplug.h
 *   \_SB_.CPUS   the processor container (ACPI0010) with CSTA, CTFY, CEJ0, CSCN and one
 *     Cxxx         processor device (ACPI0007) per vCPU, xxx its UID in hex
 *   \_SB_.MHPC   the memory hotplug controller: the registers of core/vm/mem_hotplug.h,
 *     Mnnn         MTFY, MSCN, MSTA, MCRS and one memory device (PNP0C80) per slot, nnn decimal
 *
 * A scan (CSCN, MSCN; GED._EVT calls them) walks every vCPU or slot under the controller's
 * mutex: select it, and for a set inserting bit Notify (device, 1) (device check) and write the
 * bit back, for a set removing bit Notify (device, 3) (eject request) and write it back. The
 * mutexes have SyncLevel 0 like the implicit mutex of a Serialized method, so a scan may call
 * the Serialized notify method while holding its mutex (dsdt_pci.c says the same for BLCK).
 */

#define NOTIFY_DEVICE_CHECK        1
#define NOTIFY_EJECT_REQUEST       3
#define STA_PRESENT_ENABLED        0x0f
#define ACQUIRE_FOREVER            0xffff

#define CPU_HOTPLUG_REGISTER_BYTES 0x0c /* Cloud Hypervisor's CPU_MANAGER_ACPI_SIZE */
#define MEM_HOTPLUG_REGISTER_BYTES 0x18 /* and MEMORY_MANAGER_ACPI_SIZE */

/* MCRS's template: one QWordMemory, whose minimum, maximum and length sit at these offsets. */
#define MR64_MIN 14
#define MR64_MAX 22
#define MR64_LEN 38

/* The names one controller's methods use. */
struct hp_names {
    const char *lock, *sel, *enabled, *inserting, *removing, *notify;
};

static const struct hp_names cpu_names = {
    "\\_SB.PRES.CPLK", "\\_SB.PRES.CSEL", "\\_SB.PRES.CPEN",
    "\\_SB.PRES.CINS", "\\_SB.PRES.CRMV", "CTFY",
};

static const struct hp_names mem_names = {
    "MLCK", "\\_SB.MHPC.MSEL", "\\_SB.MHPC.MEN_", "\\_SB.MHPC.MINS", "\\_SB.MHPC.MRMV", "MTFY",
};

/* target = value (Store) */
static void store_int(struct acpi_buf *b, uint64_t value, const char *target)
{
    aml_op(b, AML_STORE);
    aml_int(b, value);
    aml_name_ref(b, target);
}

/* The controller device head: PNP0A06, a _UID string, its mutex and a _CRS with the
 * registers (the page is also reserved in \_SB_.MBRD, see dsdt_pci.c on why). */
static size_t controller(struct acpi_buf *b, const char *name, const char *uid, const char *mutex,
                         uint64_t gpa, uint32_t len)
{
    size_t dev = aml_device(b, name), crs;

    aml_name(b, "_HID");
    aml_eisaid(b, "PNP0A06");
    aml_name(b, "_UID");
    aml_string(b, uid);
    aml_mutex(b, mutex, 0);
    aml_name(b, "_CRS");
    crs = aml_restemp(b);
    aml_res_mem32_fixed(b, true, (uint32_t)gpa, len);
    aml_restemp_end(b, crs);
    return dev;
}

#define DEV_NAME_LEN 8

/* Cxxx: the UID in hex, as Cloud Hypervisor (and the MADT's UID) */
static void cpu_dev_name(char name[DEV_NAME_LEN], uint32_t i)
{
    snprintf(name, DEV_NAME_LEN, "C%03X", (unsigned)i & 0xfff);
}

/* Mnnn: the slot in decimal, as Cloud Hypervisor */
static void mem_dev_name(char name[DEV_NAME_LEN], uint32_t i)
{
    snprintf(name, DEV_NAME_LEN, "M%03u", (unsigned)i % 1000);
}

/* Method (name, 2, Serialized): If (Arg0 == i) { Notify (device i, Arg1) } for each i. */
static void notify_method(struct acpi_buf *b, const char *name,
                          void (*dev_name)(char[DEV_NAME_LEN], uint32_t), uint32_t n)
{
    size_t m = aml_method(b, name, 2, true);

    for (uint32_t i = 0; i < n; i++) {
        char dev[DEV_NAME_LEN];
        size_t cond = aml_if(b);

        dev_name(dev, i);
        aml_op(b, AML_LEQUAL);
        aml_arg(b, 0);
        aml_int(b, i);
        aml_op(b, AML_NOTIFY);
        aml_name_ref(b, dev);
        aml_arg(b, 1);
        aml_end(b, cond);
    }
    aml_end(b, m);
}

/* If (bit == One) { notify (Local0, value); bit = One } */
static void scan_bit(struct acpi_buf *b, const struct hp_names *n, const char *bit, uint8_t value)
{
    size_t cond = aml_if(b);

    aml_op(b, AML_LEQUAL);
    aml_name_ref(b, bit);
    aml_int(b, 1);
    aml_name_ref(b, n->notify);
    aml_local(b, 0);
    aml_int(b, value);
    store_int(b, 1, bit);
    aml_end(b, cond);
}

/* Method (name, 0, Serialized): Acquire; Local0 = Zero; While (Local0 < count) { sel = Local0;
 * scan_bit (inserting, 1); scan_bit (removing, 3); Local0++ }; Release */
static void scan_method(struct acpi_buf *b, const char *name, const struct hp_names *n,
                        uint32_t count)
{
    size_t m = aml_method(b, name, 0, true), loop;

    aml_acquire(b, n->lock, ACQUIRE_FOREVER);
    aml_op(b, AML_STORE);
    aml_int(b, 0);
    aml_local(b, 0);
    loop = aml_while(b);
    aml_op(b, AML_LLESS);
    aml_local(b, 0);
    aml_int(b, count);
    aml_op(b, AML_STORE);
    aml_local(b, 0);
    aml_name_ref(b, n->sel);
    scan_bit(b, n, n->inserting, NOTIFY_DEVICE_CHECK);
    scan_bit(b, n, n->removing, NOTIFY_EJECT_REQUEST);
    aml_op(b, AML_ADD);
    aml_local(b, 0);
    aml_int(b, 1);
    aml_local(b, 0);
    aml_end(b, loop);
    aml_release(b, n->lock);
    aml_end(b, m);
}

/* Method (name, 1, Serialized): Acquire; sel = Arg0; Local0 = Zero;
 * If (enabled == One) { Local0 = 0x0F }; Release; Return (Local0) */
static void status_method(struct acpi_buf *b, const char *name, const struct hp_names *n)
{
    size_t m = aml_method(b, name, 1, true), cond;

    aml_acquire(b, n->lock, ACQUIRE_FOREVER);
    aml_op(b, AML_STORE);
    aml_arg(b, 0);
    aml_name_ref(b, n->sel);
    aml_op(b, AML_STORE);
    aml_int(b, 0);
    aml_local(b, 0);
    cond = aml_if(b);
    aml_op(b, AML_LEQUAL);
    aml_name_ref(b, n->enabled);
    aml_int(b, 1);
    aml_op(b, AML_STORE);
    aml_int(b, STA_PRESENT_ENABLED);
    aml_local(b, 0);
    aml_end(b, cond);
    aml_release(b, n->lock);
    aml_op(b, AML_RETURN);
    aml_local(b, 0);
    aml_end(b, m);
}

/* Method (name, nargs) { [Return] (callee (id)) }, not Serialized, as Cloud Hypervisor. */
static void call_method(struct acpi_buf *b, const char *name, unsigned nargs, bool ret,
                        const char *callee, uint32_t id)
{
    size_t m = aml_method(b, name, nargs, false);

    if (ret)
        aml_op(b, AML_RETURN);
    aml_name_ref(b, callee);
    aml_int(b, id);
    aml_end(b, m);
}

/*
 * Field (PRST, ByteAcc, NoLock, WriteAsZeros) { Offset (4), CPEN 1, CINS 1, CRMV 1, CEJ0 1,
 *                                               , 4, CCMD 8 }
 * Field (PRST, DWordAcc, NoLock, Preserve) { CSEL 32, , 32, CDAT 32 }
 */
static void cpu_controller(struct acpi_buf *b)
{
    size_t dev = controller(b, "PRES", "CPU Hotplug Controller", "CPLK", GPA_CPU_HOTPLUG_START,
                            CPU_HOTPLUG_REGISTER_BYTES);
    size_t field;

    aml_op_region(b, "PRST", AML_SYSTEM_MEMORY, GPA_CPU_HOTPLUG_START, CPU_HOTPLUG_REGISTER_BYTES);
    field = aml_field(b, "PRST", AML_FIELD_BYTE_ACC | AML_FIELD_WRITE_AS_ZEROS);
    aml_field_reserved(b, 32);
    aml_field_unit(b, "CPEN", 1);
    aml_field_unit(b, "CINS", 1);
    aml_field_unit(b, "CRMV", 1);
    aml_field_unit(b, "CEJ0", 1);
    aml_field_reserved(b, 4);
    aml_field_unit(b, "CCMD", 8);
    aml_end(b, field);
    field = aml_field(b, "PRST", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
    aml_field_unit(b, "CSEL", 32);
    aml_field_reserved(b, 32);
    aml_field_unit(b, "CDAT", 32);
    aml_end(b, field);
    aml_end(b, dev);
}

/*
 * Device (Cxxx) { Name (_HID, "ACPI0007") Name (_UID, xxx) Method (_STA) { Return (CSTA (xxx)) }
 *                 [Method (_PXM) { Return (node) }] Name (_MAT, Buffer { MADT entry })
 *                 Method (_EJ0, 1) { CEJ0 (xxx) } }
 * _MAT carries the vCPU's MADT structure with the Enabled flag set whatever the MADT says, as
 * Cloud Hypervisor's: Linux reads the APIC id of a hot-added processor from it and ignores a
 * disabled entry.
 */
static void cpu_device(struct acpi_buf *b, const struct acpi_params *p, uint32_t i)
{
    char name[DEV_NAME_LEN];
    size_t dev, mat;

    cpu_dev_name(name, i);
    dev = aml_device(b, name);
    aml_name(b, "_HID");
    aml_string(b, "ACPI0007");
    aml_name(b, "_UID");
    aml_int(b, i);
    call_method(b, "_STA", 0, true, "CSTA", i);
    if (p->numa_nodes) {
        size_t m = aml_method(b, "_PXM", 0, false);

        aml_op(b, AML_RETURN);
        aml_int(b, p->cpu_node[i]);
        aml_end(b, m);
    }
    aml_name(b, "_MAT");
    mat = aml_buffer(b);
    acpi_madt_cpu_entry(b, i, p->cpus[i].apic_id, ACPI_MADT_CPU_ENABLED);
    aml_buffer_end(b, mat);
    call_method(b, "_EJ0", 1, false, "CEJ0", i);
    aml_end(b, dev);
}

/* Method (CEJ0, 1, Serialized): Acquire; CSEL = Arg0; CEJ0 (the field) = One; Release */
static void cpu_eject_method(struct acpi_buf *b)
{
    size_t m = aml_method(b, "CEJ0", 1, true);

    aml_acquire(b, cpu_names.lock, ACQUIRE_FOREVER);
    aml_op(b, AML_STORE);
    aml_arg(b, 0);
    aml_name_ref(b, cpu_names.sel);
    store_int(b, 1, "\\_SB.PRES.CEJ0");
    aml_release(b, cpu_names.lock);
    aml_end(b, m);
}

void acpi_dsdt_cpu_hotplug(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev;

    cpu_controller(b);
    dev = aml_device(b, "CPUS");
    aml_name(b, "_HID");
    aml_string(b, "ACPI0010");
    aml_name(b, "_CID");
    aml_eisaid(b, "PNP0A05");
    status_method(b, "CSTA", &cpu_names);
    notify_method(b, "CTFY", cpu_dev_name, p->ncpus);
    cpu_eject_method(b);
    scan_method(b, "CSCN", &cpu_names, p->ncpus);
    for (uint32_t i = 0; i < p->ncpus; i++)
        cpu_device(b, p, i);
    aml_end(b, dev);
}

/*
 * Method (MCRS, 1, Serialized): MR64, a QWordMemory over the selected slot. MINL/MAXL/LENL are
 * its QWords and MINH/LENH the high DWords of two of them, as Cloud Hypervisor names them: the
 * low registers go into the QWords (clearing the high halves), then the high registers into
 * the DWords. Cloud Hypervisor then adds the halves separately (MAXH = MINH + LENH, plus a
 * carry when MAXL < MINL), which loses the carry when the length's high half is not zero; a
 * revision 2 DSDT has 64-bit integers, so here MAXL = MINL + LENL - 1 in one piece.
 */
static void mem_crs_method(struct acpi_buf *b)
{
    static const struct {
        const char *name;
        enum aml_opcode op;
        unsigned off;
        const char *reg;
    } fields[] = {
        { "MINL", AML_CREATE_QWORD_FIELD, MR64_MIN, "\\_SB.MHPC.MHBL" },
        { "MINH", AML_CREATE_DWORD_FIELD, MR64_MIN + 4, "\\_SB.MHPC.MHBH" },
        { "MAXL", AML_CREATE_QWORD_FIELD, MR64_MAX, NULL },
        { "LENL", AML_CREATE_QWORD_FIELD, MR64_LEN, "\\_SB.MHPC.MHLL" },
        { "LENH", AML_CREATE_DWORD_FIELD, MR64_LEN + 4, "\\_SB.MHPC.MHLH" },
    };
    size_t m = aml_method(b, "MCRS", 1, true), tmpl;
    const size_t n = sizeof(fields) / sizeof(fields[0]);

    aml_acquire(b, mem_names.lock, ACQUIRE_FOREVER);
    aml_op(b, AML_STORE);
    aml_arg(b, 0);
    aml_name_ref(b, mem_names.sel);
    aml_name(b, "MR64");
    tmpl = aml_restemp(b);
    aml_res_qword_ram(b, 0, UINT64_MAX - 1);
    aml_restemp_end(b, tmpl);
    for (size_t i = 0; i < n; i++) {
        aml_op(b, fields[i].op);
        aml_name_ref(b, "MR64");
        aml_int(b, fields[i].off);
        aml_name_ref(b, fields[i].name);
    }
    for (size_t i = 0; i < n; i++) {
        if (!fields[i].reg)
            continue;
        aml_op(b, AML_STORE);
        aml_name_ref(b, fields[i].reg);
        aml_name_ref(b, fields[i].name);
    }
    aml_op(b, AML_ADD);
    aml_name_ref(b, "MINL");
    aml_name_ref(b, "LENL");
    aml_name_ref(b, "MAXL");
    aml_op(b, AML_SUBTRACT);
    aml_name_ref(b, "MAXL");
    aml_int(b, 1);
    aml_name_ref(b, "MAXL");
    aml_release(b, mem_names.lock);
    aml_op(b, AML_RETURN);
    aml_name_ref(b, "MR64");
    aml_end(b, m);
}

/* Four views of MHPR, as Cloud Hypervisor's: base and length (read), the proximity domain,
 * the status bits, and the selection with two unused registers (write). */
static void mem_fields(struct acpi_buf *b)
{
    static const char *const regs[] = { "MHBL", "MHBH", "MHLL", "MHLH" };
    static const char *const bits[] = { "MEN_", "MINS", "MRMV", "MEJ0" };
    static const char *const sel[] = { "MSEL", "MOEV", "MOSC" };
    size_t field;

    field = aml_field(b, "MHPR", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        aml_field_unit(b, regs[i], 32);
    aml_end(b, field);
    field = aml_field(b, "MHPR", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
    aml_field_reserved(b, 128);
    aml_field_unit(b, "MHPX", 32);
    aml_end(b, field);
    field = aml_field(b, "MHPR", AML_FIELD_BYTE_ACC | AML_FIELD_WRITE_AS_ZEROS);
    aml_field_reserved(b, 160);
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        aml_field_unit(b, bits[i], 1);
    aml_end(b, field);
    field = aml_field(b, "MHPR", AML_FIELD_DWORD_ACC | AML_FIELD_PRESERVE);
    for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++)
        aml_field_unit(b, sel[i], 32);
    aml_end(b, field);
}

/* Device (Mnnn) { Name (_HID, EisaId ("PNP0C80")) Name (_UID, nnn)
 *                 Method (_STA) { Return (MSTA (nnn)) } Method (_CRS) { Return (MCRS (nnn)) } }
 * No _EJ0: Cloud Hypervisor does not remove ACPI memory. */
static void mem_device(struct acpi_buf *b, uint32_t i)
{
    char name[DEV_NAME_LEN];
    size_t dev;

    mem_dev_name(name, i);
    dev = aml_device(b, name);
    aml_name(b, "_HID");
    aml_eisaid(b, "PNP0C80");
    aml_name(b, "_UID");
    aml_int(b, i);
    call_method(b, "_STA", 0, true, "MSTA", i);
    call_method(b, "_CRS", 0, true, "MCRS", i);
    aml_end(b, dev);
}

void acpi_dsdt_mem_hotplug(struct acpi_buf *b, const struct acpi_params *p)
{
    size_t dev = controller(b, "MHPC", "Memory Hotplug Controller", "MLCK", GPA_MEM_HOTPLUG_START,
                            MEM_HOTPLUG_REGISTER_BYTES);

    aml_op_region(b, "MHPR", AML_SYSTEM_MEMORY, GPA_MEM_HOTPLUG_START, MEM_HOTPLUG_REGISTER_BYTES);
    mem_fields(b);
    notify_method(b, "MTFY", mem_dev_name, p->mem_hotplug_slots);
    scan_method(b, "MSCN", &mem_names, p->mem_hotplug_slots);
    status_method(b, "MSTA", &mem_names);
    mem_crs_method(b);
    for (uint32_t i = 0; i < p->mem_hotplug_slots; i++)
        mem_device(b, i);
    aml_end(b, dev);
}
