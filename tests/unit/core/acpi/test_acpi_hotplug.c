/*
 * CPU and memory hotplug in the tables: structure (MBRD's pages, the GED's branches, limits)
 * and the AML run in acpiexec. The whole DSDT is checked against golden/hotplug-dsdt.dsl (2 of 4
 * vCPUs enabled) and golden/memhp-dsdt.dsl (4 memory slots) by test_acpi_iasl.c.
 *
 * acpiexec backs each operation region with plain memory, so a register reads what was last
 * written there, whatever the selection: a preset CINS reads 1 for every vCPU, and MCRS's write
 * of MSEL (offset 0) replaces MHBL (offset 0, read) with the slot number. The tests expect
 * exactly that, and check the per-device routing through CTFY/MTFY directly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_test_util.h"
#include "core/platform.h"

#define CPU_CSEL             (GPA_CPU_HOTPLUG_START + 0)
#define CPU_STATUS           (GPA_CPU_HOTPLUG_START + 4)
#define MEM_MSEL             (GPA_MEM_HOTPLUG_START + 0)
#define MEM_STATUS           (GPA_MEM_HOTPLUG_START + 0x14)
#define CPU_HOTPLUG_TEST_MAX 255 /* PB_MAX_VCPUS */

static const struct acpi_cpu cpus_2of4[] = {
    { 0, true }, { 1, true }, { 2, false }, { 0x100, false }
};
static const struct acpi_cpu one_cpu[] = { { 0, true } };

static struct acpi_image *build(const struct acpi_params *p)
{
    struct acpi_image *img = calloc(1, sizeof(*img));

    cr_assert_not_null(img);
    cr_assert_gt(image_build_params(img, p), 0);
    return img;
}

static struct acpi_image *cpu_image(void)
{
    struct acpi_params p = { .cpus = cpus_2of4, .ncpus = 4 };

    return build(&p);
}

static struct acpi_image *mem_image(uint32_t slots)
{
    struct acpi_params p = { .cpus = one_cpu, .ncpus = 1, .mem_hotplug_slots = slots };

    return build(&p);
}

static const uint8_t *dsdt_of(const struct acpi_image *img, uint32_t *len)
{
    const uint8_t *dsdt = image_table(img, "DSDT");

    cr_assert_not_null(dsdt);
    *len = rd32(dsdt + 4);
    return dsdt;
}

static bool dsdt_has(const struct acpi_image *img, const char *s)
{
    uint32_t len;
    const uint8_t *dsdt = dsdt_of(img, &len);

    return memmem(dsdt, len, s, strlen(s)) != NULL;
}

/* Memory32Fixed (ReadWrite, base, len) as aml_res_mem32_fixed writes it. */
static bool has_page(const struct acpi_image *img, uint32_t base, uint32_t size)
{
    uint8_t d[12] = { 0x86, 9, 0, 1 };
    uint32_t len;
    const uint8_t *dsdt = dsdt_of(img, &len);

    memcpy(d + 4, &base, 4);
    memcpy(d + 8, &size, 4);
    return memmem(dsdt, len, d, sizeof(d)) != NULL;
}

Test(acpi_hotplug, cpu_controller_always)
{
    struct acpi_image *img = mem_image(0);

    cr_expect(dsdt_has(img, "PRES"));
    cr_expect(dsdt_has(img, "CSCN"));
    cr_expect(dsdt_has(img, "C000"));
    cr_expect(has_page(img, (uint32_t)GPA_CPU_HOTPLUG_START, (uint32_t)GPA_CPU_HOTPLUG_SIZE),
              "MBRD reserves the CPU hotplug page");
    cr_expect_not(dsdt_has(img, "MHPC"), "no memory hotplug without slots");
    cr_expect_not(dsdt_has(img, "MSCN"), "no memory branch in _EVT");
    cr_expect_not(has_page(img, (uint32_t)GPA_MEM_HOTPLUG_START, (uint32_t)GPA_MEM_HOTPLUG_SIZE));
    free(img);
}

Test(acpi_hotplug, memory_controller_with_slots)
{
    struct acpi_image *img = mem_image(MEM_HOTPLUG_MAX_SLOTS);

    cr_expect(dsdt_has(img, "MHPC"));
    cr_expect(dsdt_has(img, "MSCN"));
    cr_expect(dsdt_has(img, "M063"), "the last slot");
    cr_expect_not(dsdt_has(img, "M064"));
    cr_expect(has_page(img, (uint32_t)GPA_MEM_HOTPLUG_START, (uint32_t)GPA_MEM_HOTPLUG_SIZE),
              "MBRD reserves the memory hotplug page");
    free(img);
}

Test(acpi_hotplug, limits)
{
    static struct acpi_cpu many[CPU_HOTPLUG_TEST_MAX];
    struct acpi_params p = { .cpus = one_cpu, .ncpus = 1 };
    struct acpi_image *img = calloc(1, sizeof(*img));

    cr_assert_not_null(img);
    p.mem_hotplug_slots = MEM_HOTPLUG_MAX_SLOTS + 1;
    cr_expect_eq(image_build_params(img, &p), -EINVAL);
    p.mem_hotplug_slots = 1;
    p.hotplug_mem_base = UINT64_MAX - 0xfff;
    p.hotplug_mem_size = 0x2000;
    cr_expect_eq(image_build_params(img, &p), -EINVAL, "hotplug range past 2^64");

    /* 255 vCPUs (the most the core runs), one enabled: every processor device and its
     * notify branch fit in the tables. */
    for (uint32_t i = 0; i < CPU_HOTPLUG_TEST_MAX; i++)
        many[i] = (struct acpi_cpu){ i, i == 0 };
    p = (struct acpi_params){ .cpus = many, .ncpus = CPU_HOTPLUG_TEST_MAX };
    cr_assert_gt(image_build_params(img, &p), 0);
    cr_expect(dsdt_has(img, "C0FE"));
    free(img);
}

/* _MAT: the MADT structure with Enabled set, Local APIC or x2APIC as the MADT has it. */
Test(acpi_hotplug, mat_entries)
{
    static const uint8_t lapic2[] = { 0x08, '_',  'M',  'A',  'T',  0x11, 0x0b, 0x0a, 0x08,
                                      0x00, 0x08, 0x02, 0x02, 0x01, 0x00, 0x00, 0x00 };
    static const uint8_t x2apic3[] = { 0x08, '_',  'M',  'A',  'T',  0x11, 0x13, 0x0a, 0x10,
                                       0x09, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01,
                                       0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00 };
    struct acpi_image *img = cpu_image();
    uint32_t len;
    const uint8_t *dsdt = dsdt_of(img, &len);

    cr_expect_not_null(memmem(dsdt, len, lapic2, sizeof(lapic2)), "C002: LAPIC 2, enabled");
    cr_expect_not_null(memmem(dsdt, len, x2apic3, sizeof(x2apic3)), "C003: x2APIC 0x100");
    free(img);
}

/* The bytes of the first "[Buffer] Length" acpiexec prints at or after from; returns the
 * count. */
static size_t read_buffer(const char *from, uint8_t *out, size_t cap)
{
    const char *at = strstr(from, "[Buffer] Length");
    size_t n = 0;

    cr_assert_not_null(at, "no buffer returned:\n%s", from);
    at = strchr(at, '\n');
    while (at && n < cap) {
        const char *colon, *end;
        unsigned v;
        int used;

        at++;
        colon = strstr(at, ": ");
        end = strstr(at, "//");
        if (!colon || !end || colon > end || strchr(at, '\n') < end)
            break;
        for (const char *c = colon + 2; c < end && n < cap; c += used) {
            if (sscanf(c, " %2x%n", &v, &used) != 1)
                break;
            out[n++] = (uint8_t)v;
        }
        at = strchr(at, '\n');
    }
    return n;
}

/* MCRS of slot with MHBH, MHLL, MHLH preset (MHBL reads back the slot number, see above):
 * the QWordMemory it returns. */
static void expect_mem_crs(const struct acpi_image *img, const char *dir, unsigned slot,
                           uint32_t bh, uint32_t ll, uint32_t lh)
{
    uint64_t base = (uint64_t)bh << 32 | slot, size = (uint64_t)lh << 32 | ll;
    char init[256], cmd[64], *text;
    uint8_t d[64];
    size_t n;

    snprintf(init, sizeof(init),
             "\\_SB.MHPC.MHBH 0x%x\n\\_SB.MHPC.MHLL 0x%x\n\\_SB.MHPC.MHLH 0x%x\n", bh, ll, lh);
    snprintf(cmd, sizeof(cmd), "evaluate \\_SB.MHPC.M%03u._CRS", slot);
    text = acpiexec_init(img, dir, "0", init, cmd);
    cr_expect_not_null(region_access(after_evaluating(text), "Write", slot, MEM_MSEL),
                       "MCRS selects the slot first:\n%s", text);
    n = read_buffer(after_evaluating(text), d, sizeof(d));
    cr_assert_eq(n, 48, "QWordMemory and the end tag:\n%s", text);
    cr_expect_eq(d[0], 0x8a, "QWord address space descriptor");
    cr_expect_eq(d[3], 0, "memory range");
    cr_expect_eq(d[5], 0x03, "cacheable, read-write");
    cr_expect_eq(rd64(d + 14), base, "minimum %#llx:\n%s", (unsigned long long)base, text);
    cr_expect_eq(rd64(d + 22), base + size - 1, "maximum %#llx:\n%s",
                 (unsigned long long)(base + size - 1), text);
    cr_expect_eq(rd64(d + 38), size, "length");
    cr_expect_eq(d[46], 0x79, "end tag");
    free(text);
}

Test(acpi_hotplug, memory_crs_reads_the_registers)
{
    struct acpi_image *img;
    char *dir;

    require_acpiexec();
    img = mem_image(4);
    dir = make_tmpdir();
    expect_mem_crs(img, dir, 0, 0x1, 0x40000000, 0); /* 1 GiB at 4 GiB */
    /* A length with both halves set whose low halves wrap: the 64-bit sum keeps the carry
     * (Cloud Hypervisor's split sum would give 0x2_0000_0000). */
    expect_mem_crs(img, dir, 3, 0x1, 0xfffffffe, 0x1);
    remove_tree(dir);
    free(dir);
    free(img);
}

/* One Notify on dev with value, and on no other device whose name starts with prefix. */
static void expect_only_notify(const char *text, const char *dev, const char *value,
                               const char *prefix)
{
    char on[32], any[32];
    const char *run = after_evaluating(text);

    snprintf(on, sizeof(on), "Notify on [%s]", dev);
    snprintf(any, sizeof(any), "Notify on [%s", prefix);
    cr_expect_eq(count_lines(run, (const char *const[]){ on, value, NULL }), 1,
                 "Notify (%s, %s) once:\n%s", dev, value, text);
    cr_expect_eq(count_lines(run, (const char *const[]){ any, NULL }), 1,
                 "no other device notified:\n%s", text);
}

/* Every vCPU or slot selected in turn and notified with value, and the bit written back. */
static void expect_scan(const char *text, uint64_t sel_addr, uint64_t status_addr, char prefix,
                        const char *value, uint32_t bit)
{
    const char *at = after_evaluating(text);
    char on[32];

    for (unsigned i = 0; i < 4; i++) {
        at = region_access(at, "Write", i, sel_addr);
        cr_assert_not_null(at, "device %u not selected:\n%s", i, text);
        at = region_access(at, "Write", bit, status_addr);
        cr_assert_not_null(at, "device %u: bit %#x not written back:\n%s", i, bit, text);
        snprintf(on, sizeof(on), "Notify on [%c%03u]", prefix, i); /* i < 10: hex = decimal */
        cr_expect_eq(count_lines(after_evaluating(text), (const char *const[]){ on, value, NULL }),
                     1, "%s %s once:\n%s", on, value, text);
    }
}

Test(acpi_hotplug, cpu_scan_notifies)
{
    struct acpi_image *img;
    char *dir, *text, init[96];

    require_acpiexec();
    img = cpu_image();
    dir = make_tmpdir();

    text = acpiexec(img, dir, "0", "evaluate \\_SB.CPUS.CSCN");
    cr_expect_null(strstr(after_evaluating(text), "Notify"), "nothing inserting:\n%s", text);
    free(text);

    text = acpiexec_init(img, dir, "0", "\\_SB.PRES.CINS 1\n", "evaluate \\_SB.CPUS.CSCN");
    expect_scan(text, CPU_CSEL, CPU_STATUS, 'C', "Value 0x01", 0x2);
    free(text);

    text = acpiexec_init(img, dir, "0", "\\_SB.PRES.CRMV 1\n", "evaluate \\_SB.CPUS.CSCN");
    expect_scan(text, CPU_CSEL, CPU_STATUS, 'C', "Value 0x03", 0x4);
    free(text);

    text = acpiexec(img, dir, "0", "evaluate \\_SB.CPUS.CTFY 2 1");
    expect_only_notify(text, "C002", "Value 0x01", "C0");
    free(text);

    /* Through the GED: event bit GED_EVENT_CPU runs CSCN, and nothing else. */
    snprintf(init, sizeof(init), "\\_SB.GED.GDAT 0x%x\n\\_SB.PRES.CINS 1\n", GED_EVENT_CPU);
    text = acpiexec_init(img, dir, "0", init, "evaluate \\_SB.GED._EVT 5");
    expect_scan(text, CPU_CSEL, CPU_STATUS, 'C', "Value 0x01", 0x2);
    cr_expect_null(strstr(text, "Notify on [PWRB]"), "%s", text);
    free(text);

    remove_tree(dir);
    free(dir);
    free(img);
}

/* _STA is CSTA: select, then 0x0F when CPEN reads 1, else 0. */
Test(acpi_hotplug, cpu_status_reads_cpen)
{
    struct acpi_image *img;
    char *dir, *text;

    require_acpiexec();
    img = cpu_image();
    dir = make_tmpdir();
    text = acpiexec(img, dir, "0", "evaluate \\_SB.CPUS.C002._STA");
    cr_expect_not_null(region_access(after_evaluating(text), "Write", 2, CPU_CSEL), "%s", text);
    cr_expect_not_null(strstr(text, "[Integer] = 0000000000000000"), "absent:\n%s", text);
    free(text);
    text = acpiexec_init(img, dir, "0", "\\_SB.PRES.CPEN 1\n", "evaluate \\_SB.CPUS.C002._STA");
    cr_expect_not_null(strstr(text, "[Integer] = 000000000000000F"), "present:\n%s", text);
    free(text);
    remove_tree(dir);
    free(dir);
    free(img);
}

/* _EJ0 of C002 writes CSEL = 2, then the status byte with CEJ0 (bit 3) alone. */
Test(acpi_hotplug, cpu_eject_writes_csel_and_cej0)
{
    struct acpi_image *img;
    const char *at;
    char *dir, *text;

    require_acpiexec();
    img = cpu_image();
    dir = make_tmpdir();
    text = acpiexec(img, dir, "0", "evaluate \\_SB.CPUS.C002._EJ0 0");
    at = region_access(after_evaluating(text), "Write", 2, CPU_CSEL);
    cr_assert_not_null(at, "C002._EJ0 did not select vCPU 2:\n%s", text);
    at = region_access(at, "Write", 0x8, CPU_STATUS);
    cr_assert_not_null(at, "C002._EJ0 did not write CEJ0 after CSEL:\n%s", text);
    cr_expect_eq(count_lines(after_evaluating(text), (const char *const[]){ "Write", NULL }), 2,
                 "exactly two writes:\n%s", text);
    free(text);
    remove_tree(dir);
    free(dir);
    free(img);
}

Test(acpi_hotplug, memory_scan_notifies)
{
    struct acpi_image *img;
    char *dir, *text, init[96];

    require_acpiexec();
    img = mem_image(4);
    dir = make_tmpdir();

    text = acpiexec(img, dir, "0", "evaluate \\_SB.MHPC.MSCN");
    cr_expect_null(strstr(after_evaluating(text), "Notify"), "nothing inserting:\n%s", text);
    free(text);

    text = acpiexec_init(img, dir, "0", "\\_SB.MHPC.MINS 1\n", "evaluate \\_SB.MHPC.MSCN");
    expect_scan(text, MEM_MSEL, MEM_STATUS, 'M', "Value 0x01", 0x2);
    free(text);

    text = acpiexec(img, dir, "0", "evaluate \\_SB.MHPC.MTFY 2 1");
    expect_only_notify(text, "M002", "Value 0x01", "M0");
    free(text);

    snprintf(init, sizeof(init), "\\_SB.GED.GDAT 0x%x\n\\_SB.MHPC.MINS 1\n", GED_EVENT_MEMORY);
    text = acpiexec_init(img, dir, "0", init, "evaluate \\_SB.GED._EVT 5");
    expect_scan(text, MEM_MSEL, MEM_STATUS, 'M', "Value 0x01", 0x2);
    cr_expect_null(strstr(text, "Notify on [C0"), "no CPU scan:\n%s", text);
    free(text);

    /* _STA is MSTA: 0x0F when MEN_ reads 1. */
    text = acpiexec_init(img, dir, "0", "\\_SB.MHPC.MEN_ 1\n", "evaluate \\_SB.MHPC.M001._STA");
    cr_expect_not_null(region_access(after_evaluating(text), "Write", 1, MEM_MSEL), "%s", text);
    cr_expect_not_null(strstr(text, "[Integer] = 000000000000000F"), "present:\n%s", text);
    free(text);

    remove_tree(dir);
    free(dir);
    free(img);
}
