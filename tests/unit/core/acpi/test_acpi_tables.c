/* Structural checks of acpi_build(): checksums, lengths, pointers and the fields the
 * hardware-reduced platform depends on, independent of iasl. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_test_util.h"
#include "core/platform.h"

static struct acpi_image *new_image(void)
{
    struct acpi_image *img = calloc(1, sizeof(*img));

    cr_assert_not_null(img);
    return img;
}

static const struct acpi_cpu one_cpu[] = { { 0, true } };
static const struct acpi_cpu two_cpus[] = { { 0, true }, { 1, true } };
/* 8 vCPUs, the last three present but disabled (max > boot), ids not contiguous. */
static const struct acpi_cpu eight_cpus[] = {
    { 0, true }, { 1, true },  { 2, true },  { 3, true },
    { 4, true }, { 6, false }, { 8, false }, { 10, false },
};
/* APIC ids that need x2APIC structures (>= 255), one of them disabled. */
static const struct acpi_cpu x2apic_cpus[] = { { 0, true }, { 255, true }, { 0x1000, false } };

#define NCPUS(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static void check_table(const struct acpi_image *img, const uint8_t *t, const char *sig)
{
    cr_assert_not_null(t, "%s not reachable", sig);
    cr_assert(!memcmp(t, sig, 4), "expected %s", sig);
    cr_assert_geq(rd32(t + 4), 36u);
    cr_assert_eq(byte_sum(t, rd32(t + 4)), 0, "%s checksum", sig);
    cr_assert(!memcmp(t + 10, "CELLVM", 6), "%s OEM id", sig);
    cr_assert(!memcmp(t + 16, "CVM", 3) && !memcmp(t + 19, sig, 4), "%s OEM table id", sig);
    cr_assert_not_null(image_at(img, img->gpa + (uint64_t)(t - img->buf), rd32(t + 4)));
}

static void check_all_tables(const struct acpi_image *img)
{
    const uint8_t *r = img->buf, *xsdt;
    uint32_t nent;

    cr_assert_gt(img->len, 0, "acpi_build: %ld", img->len);
    cr_assert(!memcmp(r, "RSD PTR ", 8));
    cr_assert_eq(r[15], 2, "RSDP revision");
    cr_assert_eq(byte_sum(r, 20), 0, "RSDP checksum (first 20 bytes)");
    cr_assert_eq(rd32(r + 20), 36u);
    cr_assert_eq(byte_sum(r, 36), 0, "RSDP extended checksum");
    cr_assert(!memcmp(r + 9, "CELLVM", 6));
    cr_assert_eq(rd32(r + 16), 0u, "no RSDT");
    xsdt = image_table(img, "XSDT");
    check_table(img, xsdt, "XSDT");
    cr_assert_eq(xsdt[8], 1, "XSDT revision");
    cr_assert_eq((rd32(xsdt + 4) - 36) % 8, 0u);
    nent = (rd32(xsdt + 4) - 36) / 8;
    cr_assert_eq(nent, 2u, "XSDT lists FADT and MADT");
    for (uint32_t i = 0; i < nent; i++) {
        const uint8_t *t = image_at(img, rd64(xsdt + 36 + 8 * i), 36);

        cr_assert_not_null(t, "XSDT entry %u outside the image", i);
        cr_assert_not_null(image_at(img, rd64(xsdt + 36 + 8 * i), rd32(t + 4)));
        cr_assert_eq(byte_sum(t, rd32(t + 4)), 0, "table %.4s checksum", (const char *)t);
    }
    check_table(img, image_table(img, "FACP"), "FACP");
    check_table(img, image_table(img, "APIC"), "APIC");
    check_table(img, image_table(img, "DSDT"), "DSDT");
}

Test(acpi_tables, checksums_lengths_pointers)
{
    struct acpi_image *img = new_image();

    image_build(img, one_cpu, NCPUS(one_cpu));
    check_all_tables(img);
    image_build(img, two_cpus, NCPUS(two_cpus));
    check_all_tables(img);
    image_build(img, eight_cpus, NCPUS(eight_cpus));
    check_all_tables(img);
    image_build(img, x2apic_cpus, NCPUS(x2apic_cpus));
    check_all_tables(img);
    free(img);
}

static void check_gas_io8(const uint8_t *g, uint64_t port)
{
    cr_assert_eq(g[0], 1, "SystemIO");
    cr_assert_eq(g[1], 8, "bit width");
    cr_assert_eq(g[2], 0, "bit offset");
    cr_assert_eq(g[3], 1, "byte access");
    cr_assert_eq(rd64(g + 4), port);
}

Test(acpi_tables, fadt)
{
    struct acpi_image *img = new_image();
    const uint8_t *f, *dsdt;
    uint32_t flags;

    image_build(img, two_cpus, NCPUS(two_cpus));
    f = image_table(img, "FACP");
    dsdt = image_table(img, "DSDT");
    cr_assert_not_null(f);
    cr_assert_not_null(dsdt);
    cr_assert_eq(rd32(f + 4), 276u);
    cr_assert_eq(f[8], 6, "FADT revision");
    cr_assert_eq(f[131], 3, "minor revision");
    flags = rd32(f + 112);
    cr_assert(flags & (1u << 20), "HW_REDUCED_ACPI");
    cr_assert(flags & (1u << 10), "RESET_REG_SUP");
    cr_assert(flags & (1u << 4), "power button is a control-method device");
    cr_assert_eq(flags & (1u << 8), 0u, "no PM timer, so no TMR_VAL_EXT");
    cr_assert_eq(rd16(f + 109), 1u << 2, "IAPC_BOOT_ARCH: VGA not present only");
    cr_assert_eq(f[45], 0, "PM profile unspecified");
    cr_assert_eq(rd16(f + 46), 0u, "no SCI");
    check_gas_io8(f + 116, PORT_ACPI_RESET);
    cr_assert_eq(f[128], ACPI_RESET_VALUE);
    check_gas_io8(f + 244, PORT_ACPI_SLEEP_CONTROL);
    check_gas_io8(f + 256, PORT_ACPI_SLEEP_STATUS);
    cr_assert_eq(rd32(f + 40), 0u, "32-bit DSDT must be zero when X_DSDT is set");
    cr_assert_eq(rd64(f + 140), img->gpa + (uint64_t)(dsdt - img->buf));
    cr_assert_eq(rd32(f + 36), 0u, "no FACS");
    cr_assert_eq(rd64(f + 132), 0u, "no X_FACS");
    for (int off = 148; off < 244; off++)
        cr_assert_eq(f[off], 0, "fixed-hardware block at offset %d must be empty", off);
    cr_assert(!memcmp(f + 268, "CELLVM  ", 8), "hypervisor vendor identity");
    free(img);
}

/* Walks the MADT and checks every entry against the CPU list. */
static void check_madt(const struct acpi_cpu *cpus, uint32_t n)
{
    struct acpi_image *img = new_image();
    const uint8_t *m;
    uint32_t len, off, next_uid = 0;
    int ioapic = 0, iso = 0, nmi = 0, x2nmi = 0;
    bool any_x2 = false;

    cr_assert_gt(image_build(img, cpus, n), 0);
    m = image_table(img, "APIC");
    cr_assert_not_null(m);
    cr_assert_eq(m[8], 5, "MADT revision");
    cr_assert_eq(rd32(m + 36), (uint32_t)GPA_LAPIC);
    cr_assert_eq(rd32(m + 40), 1u, "PCAT_COMPAT");
    len = rd32(m + 4);
    for (off = 44; off < len; off += m[off + 1]) {
        const uint8_t *e = m + off;

        cr_assert_geq(e[1], 2u, "entry length");
        cr_assert_leq(off + e[1], len, "entry overruns the table");
        switch (e[0]) {
        case 0: {
            const struct acpi_cpu *c;

            cr_assert_eq(e[1], 8);
            cr_assert_eq(e[2], next_uid, "CPUs in UID order");
            c = &cpus[next_uid++];
            cr_assert_eq(e[3], c->apic_id);
            cr_assert_eq(rd32(e + 4), c->enabled ? 1u : 2u, "Enabled / Online Capable");
            break;
        }
        case 9: {
            uint32_t uid = rd32(e + 12);

            cr_assert_eq(e[1], 16);
            cr_assert_eq(uid, next_uid, "CPUs in UID order");
            next_uid++;
            cr_assert_geq(cpus[uid].apic_id, 255u, "x2APIC entry only when needed");
            cr_assert_eq(rd32(e + 4), cpus[uid].apic_id);
            cr_assert_eq(rd32(e + 8), cpus[uid].enabled ? 1u : 2u);
            any_x2 = true;
            break;
        }
        case 1:
            ioapic++;
            cr_assert_eq(e[1], 12);
            cr_assert_eq(e[2], 0, "IOAPIC id");
            cr_assert_eq(rd32(e + 4), (uint32_t)GPA_IOAPIC);
            cr_assert_eq(rd32(e + 8), 0u, "GSI base");
            break;
        case 2:
            iso++;
            cr_assert_eq(e[1], 10);
            cr_assert_eq(e[2], 0, "bus ISA");
            cr_assert_eq(e[3], 0, "source IRQ0");
            cr_assert_eq(rd32(e + 4), 2u, "GSI 2");
            cr_assert_eq(rd16(e + 8), 0u, "conforms");
            break;
        case 4:
            nmi++;
            cr_assert_eq(e[1], 6);
            cr_assert_eq(e[2], 0xff, "all processors");
            cr_assert_eq(rd16(e + 3), 0u);
            cr_assert_eq(e[5], 1, "LINT1");
            break;
        case 10:
            x2nmi++;
            cr_assert_eq(e[1], 12);
            cr_assert_eq(rd32(e + 4), 0xffffffffu, "all processors");
            cr_assert_eq(e[8], 1, "LINT1");
            break;
        default:
            cr_assert_fail("unexpected MADT entry type %u", e[0]);
        }
    }
    cr_assert_eq(off, len, "entries fill the table exactly");
    cr_assert_eq(next_uid, n, "one entry per CPU");
    cr_assert_eq(ioapic, 1);
    cr_assert_eq(iso, 1);
    cr_assert_eq(nmi, 1);
    cr_assert_eq(x2nmi, any_x2 ? 1 : 0);
    free(img);
}

Test(acpi_tables, madt_one_cpu)
{
    check_madt(one_cpu, NCPUS(one_cpu));
}

Test(acpi_tables, madt_two_cpus)
{
    check_madt(two_cpus, NCPUS(two_cpus));
}

Test(acpi_tables, madt_eight_cpus_some_disabled)
{
    check_madt(eight_cpus, NCPUS(eight_cpus));
}

Test(acpi_tables, madt_x2apic)
{
    check_madt(x2apic_cpus, NCPUS(x2apic_cpus));
}

static bool dsdt_has(const struct acpi_image *img, const char *needle)
{
    const uint8_t *d = image_table(img, "DSDT");

    cr_assert_not_null(d);
    return memmem(d, rd32(d + 4), needle, strlen(needle)) != NULL;
}

Test(acpi_tables, dsdt_devices)
{
    struct acpi_image *img = new_image();
    struct acpi_params p = { .cpus = eight_cpus, .ncpus = NCPUS(eight_cpus), .no_com1 = true };

    image_build(img, eight_cpus, NCPUS(eight_cpus));
    cr_assert(dsdt_has(img, "_S5_"));
    cr_assert(dsdt_has(img, "COM1"));
    cr_assert(dsdt_has(img, "ACPI0013"));
    cr_assert(dsdt_has(img, "C007"), "one processor device per CPU");
    cr_assert(!dsdt_has(img, "C008"));

    img->len = acpi_build(&p, img->buf, img->gpa, sizeof(img->buf));
    check_all_tables(img);
    cr_assert(!dsdt_has(img, "COM1"), "no_com1 leaves COM1 out");
    free(img);
}

Test(acpi_tables, deterministic)
{
    struct acpi_image *a = new_image(), *b = new_image();

    image_build(a, eight_cpus, NCPUS(eight_cpus));
    image_build(b, eight_cpus, NCPUS(eight_cpus));
    cr_assert_eq(a->len, b->len);
    cr_assert(!memcmp(a->buf, b->buf, (size_t)a->len));
    free(a);
    free(b);
}

Test(acpi_tables, rejects_bad_params)
{
    static uint8_t buf[4096];
    const struct acpi_cpu dup[] = { { 0, true }, { 1, true }, { 0, false } };
    const struct acpi_cpu none_enabled[] = { { 0, false }, { 1, false } };
    const struct acpi_cpu broadcast[] = { { 0, true }, { 0xffffffffu, false } };
    struct acpi_params p = { .cpus = one_cpu, .ncpus = 0 };

    cr_assert_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL, "no CPU");
    p.ncpus = ACPI_MAX_CPUS + 1;
    cr_assert_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL, "too many");
    p = (struct acpi_params){ .cpus = dup, .ncpus = NCPUS(dup) };
    cr_assert_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL, "duplicate id");
    p = (struct acpi_params){ .cpus = none_enabled, .ncpus = NCPUS(none_enabled) };
    cr_assert_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL, "none enabled");
    p = (struct acpi_params){ .cpus = broadcast, .ncpus = NCPUS(broadcast) };
    cr_assert_eq(acpi_build(&p, buf, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL, "broadcast id");
    p = (struct acpi_params){ .cpus = one_cpu, .ncpus = 1 };
    cr_assert_eq(acpi_build(&p, buf, GPA_ACPI_TABLES + 8, sizeof(buf)), -EINVAL, "misaligned");
    cr_assert_eq(acpi_build(NULL, buf, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL);
    cr_assert_eq(acpi_build(&p, NULL, GPA_ACPI_TABLES, sizeof(buf)), -EINVAL);
    cr_assert_gt(acpi_build(&p, buf, GPA_ACPI_TABLES, sizeof(buf)), 0);
}

/* Every capacity short of the full size fails cleanly and never writes past cap. */
Test(acpi_tables, enospc_never_overruns)
{
    struct acpi_image *img = new_image();
    struct acpi_params p = { .cpus = eight_cpus, .ncpus = NCPUS(eight_cpus) };
    long full = image_build(img, eight_cpus, NCPUS(eight_cpus));

    cr_assert_gt(full, 0);
    for (size_t cap = 0; cap < (size_t)full; cap++) {
        memset(img->buf, 0xa5, (size_t)full + 16);
        cr_assert_eq(acpi_build(&p, img->buf, img->gpa, cap), -ENOSPC, "cap %zu", cap);
        for (size_t i = cap; i < (size_t)full + 16; i++)
            cr_assert_eq(img->buf[i], 0xa5, "cap %zu: byte %zu written", cap, i);
    }
    cr_assert_eq(acpi_build(&p, img->buf, img->gpa, (size_t)full), full);
    free(img);
}

/* The 128 KiB window below 1 MiB holds tables for the CPU counts KVM supports (1024). */
Test(acpi_tables, many_cpus_fit_the_bios_window)
{
    struct acpi_image *img = new_image();
    struct acpi_cpu *cpus = calloc(1024, sizeof(*cpus));

    cr_assert_not_null(cpus);
    for (uint32_t i = 0; i < 1024; i++)
        cpus[i] = (struct acpi_cpu){ .apic_id = i, .enabled = i < 4 };
    cr_assert_gt(image_build(img, cpus, 1024), 0, "1024 CPUs: %ld", img->len);
    cr_assert_leq(img->len, (long)ACPI_TABLES_MAX);
    check_all_tables(img);
    free(cpus);
    free(img);
}
