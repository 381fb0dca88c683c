/* PCI segments and hotplug in the tables, structurally (no iasl): MCFG allocations, the host
 * bridges' windows from pci_layout.h, MBRD's reservations, and the limits. The AML as a whole
 * is checked against golden/pci2-*.dsl and run in acpiexec by test_acpi_iasl.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_test_util.h"
#include "core/pci_layout.h"
#include "core/platform.h"

#define MMIO64_START 0x140000000ull
#define MMIO64_END   0x10000000000ull

static const struct acpi_cpu one_cpu[] = { { 0, true } };

static struct acpi_params pci_params(uint32_t nseg)
{
    return (struct acpi_params){ .cpus = one_cpu,
                                 .ncpus = 1,
                                 .pci = true,
                                 .pci_segments = nseg,
                                 .pci_mmio64_start = MMIO64_START,
                                 .pci_mmio64_end = MMIO64_END };
}

static struct acpi_image *build(const struct acpi_params *p)
{
    struct acpi_image *img = calloc(1, sizeof(*img));

    cr_assert_not_null(img);
    image_build_params(img, p);
    return img;
}

static size_t count_bytes(const uint8_t *t, size_t len, const void *pat, size_t n)
{
    size_t count = 0;

    for (const uint8_t *at = t; (at = memmem(at, len - (size_t)(at - t), pat, n)); at++)
        count++;
    return count;
}

/* Memory32Fixed (writable?, base, len) as aml_res_mem32_fixed writes it. */
static size_t count_mem32_fixed(const uint8_t *t, bool writable, uint32_t base, uint32_t len)
{
    uint8_t d[12] = { 0x86, 9, 0, writable };

    memcpy(d + 4, &base, 4);
    memcpy(d + 8, &len, 4);
    return count_bytes(t, rd32(t + 4), d, sizeof(d));
}

/* The head of a DWordMemory window [min, max] as aml_res_dword_mem writes it. */
static size_t count_dword_window(const uint8_t *t, uint32_t min, uint32_t max)
{
    uint8_t d[18] = { 0x87, 23, 0, 0, 0x0c, 0x01 };

    memcpy(d + 10, &min, 4);
    memcpy(d + 14, &max, 4);
    return count_bytes(t, rd32(t + 4), d, sizeof(d));
}

static size_t count_qword_window(const uint8_t *t, uint64_t min, uint64_t max)
{
    uint8_t d[30] = { 0x8a, 43, 0, 0, 0x0c, 0x01 };

    memcpy(d + 14, &min, 8);
    memcpy(d + 22, &max, 8);
    return count_bytes(t, rd32(t + 4), d, sizeof(d));
}

Test(acpi_pci, mcfg_one_allocation_per_segment)
{
    struct acpi_params p = pci_params(3);
    struct acpi_image *img = build(&p);
    const uint8_t *mcfg;

    cr_assert_gt(img->len, 0);
    mcfg = image_table(img, "MCFG");
    cr_assert_not_null(mcfg);
    cr_assert_eq(byte_sum(mcfg, rd32(mcfg + 4)), 0);
    cr_assert_eq(rd32(mcfg + 4), 44 + 3 * 16);
    for (uint32_t s = 0; s < 3; s++) {
        const uint8_t *e = mcfg + 44 + 16 * s;

        cr_expect_eq(rd64(e), GPA_ECAM_START + s * GPA_ECAM_SEG_SIZE, "segment %u ECAM", s);
        cr_expect_eq(rd16(e + 8), s, "segment number");
        cr_expect_eq(e[10], 0, "start bus");
        cr_expect_eq(e[11], 0, "end bus: one bus per segment");
        cr_expect_eq(rd32(e + 12), 0);
    }
    free(img);
}

Test(acpi_pci, zero_segments_means_one)
{
    struct acpi_params p = pci_params(0);
    struct acpi_image *img = build(&p);
    const uint8_t *mcfg, *dsdt;

    cr_assert_gt(img->len, 0);
    mcfg = image_table(img, "MCFG");
    dsdt = image_table(img, "DSDT");
    cr_assert(mcfg && dsdt);
    cr_expect_eq(rd32(mcfg + 4), 44 + 16);
    cr_expect_not_null(memmem(dsdt, rd32(dsdt + 4), "PC00", 4));
    cr_expect_null(memmem(dsdt, rd32(dsdt + 4), "PC01", 4));
    cr_expect_null(memmem(dsdt, rd32(dsdt + 4), "PCI0", 4), "the old name is gone");
    free(img);
}

Test(acpi_pci, bridges_windows_and_reservations)
{
    struct acpi_params p = pci_params(2);
    struct acpi_image *img = build(&p);
    static const uint8_t cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c };
    const uint8_t *dsdt;

    cr_assert_gt(img->len, 0);
    dsdt = image_table(img, "DSDT");
    cr_assert_not_null(dsdt);
    cr_expect_not_null(memmem(dsdt, rd32(dsdt + 4), "PHPR", 4));
    for (uint32_t s = 0; s < 2; s++) {
        struct pci_seg_layout l;

        pci_seg_layout(2, s, MMIO64_START, MMIO64_END, &l);
        cr_expect_eq(
            count_dword_window(dsdt, (uint32_t)l.mmio32_start, (uint32_t)(l.mmio32_end - 1)), 1,
            "segment %u MMIO32 window", s);
        cr_assert_gt(l.mmio64_end, l.mmio64_start);
        cr_expect_eq(count_qword_window(dsdt, l.mmio64_start, l.mmio64_end - 1), 1,
                     "segment %u MMIO64 window", s);
    }
    cr_expect_eq(count_bytes(dsdt, rd32(dsdt + 4), cf8, sizeof(cf8)), 1,
                 "the 0xCF8 ports only on segment 0");
    cr_expect_eq(
        count_mem32_fixed(dsdt, false, (uint32_t)GPA_ECAM_START, (uint32_t)(2 * GPA_ECAM_SEG_SIZE)),
        1, "MBRD reserves both segments' ECAM");
    cr_expect_eq(count_mem32_fixed(dsdt, true, (uint32_t)GPA_PCI_HOTPLUG_START,
                                   (uint32_t)GPA_PCI_HOTPLUG_SIZE),
                 1, "MBRD reserves the hotplug page");
    free(img);
}

Test(acpi_pci, nothing_without_pci)
{
    struct acpi_params p = pci_params(2);
    struct acpi_image *img;
    const uint8_t *dsdt;

    p.pci = false;
    img = build(&p);
    cr_assert_gt(img->len, 0, "pci_segments is ignored without pci");
    dsdt = image_table(img, "DSDT");
    cr_assert_not_null(dsdt);
    cr_expect_null(image_table(img, "MCFG"));
    cr_expect_null(memmem(dsdt, rd32(dsdt + 4), "PHPR", 4));
    cr_expect_null(memmem(dsdt, rd32(dsdt + 4), "PC00", 4));
    cr_expect_null(memmem(dsdt, rd32(dsdt + 4), "PSCN", 4), "no PCI branch in _EVT");
    cr_expect_eq(count_mem32_fixed(dsdt, true, (uint32_t)GPA_PCI_HOTPLUG_START,
                                   (uint32_t)GPA_PCI_HOTPLUG_SIZE),
                 0);
    free(img);
}

/* Every segment the core supports can be described (the names run up to PC5F); whether the
 * tables then fit is the caller's buffer's business. */
Test(acpi_pci, segment_limits)
{
    struct acpi_params p = pci_params(PCI_MAX_SEGMENTS);
    size_t cap = 1u << 20;
    uint8_t *buf = calloc(1, cap);
    char last[8];
    long n;

    cr_assert_not_null(buf);
    n = acpi_build(&p, buf, GPA_ACPI_TABLES, cap);
    cr_assert_gt(n, 0);
    snprintf(last, sizeof(last), "PC%02X", PCI_MAX_SEGMENTS - 1);
    cr_expect_not_null(memmem(buf, (size_t)n, last, 4));
    cr_expect_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, 8192), -ENOSPC);
    p.pci_segments = PCI_MAX_SEGMENTS + 1;
    cr_expect_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, cap), -EINVAL);
    free(buf);
}
