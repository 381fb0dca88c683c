/*
 * SRAT and SLIT: structure checks, and the iasl cross-check of test_acpi_iasl.c (disassemble,
 * compare with golden/numa-*.dsl, recompile to the same bytes). Regenerate the goldens after an
 * intended change with CELLVM_UPDATE_GOLDEN=1 (see test_acpi_iasl.c) and review the diff.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_test_util.h"
#include "core/platform.h"

#ifndef ACPI_GOLDEN_DIR
#error "ACPI_GOLDEN_DIR must name tests/unit/core/acpi/golden"
#endif

#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* Two nodes of two vCPUs (the last one present but disabled) and one x2APIC vCPU, zones of
 * 2 GiB and 2 GiB: the second crosses the 3 GiB hole, so node 1 has two ranges. */
static const struct acpi_cpu cpus[] = {
    { 0, true }, { 1, true }, { 2, true }, { 3, false }, { 0x100, false },
};
static const uint32_t cpu_node[] = { 0, 0, 1, 1, 1 };
static const struct acpi_mem_range mem[] = {
    { 0, 2 * GiB, 0 },
    { 2 * GiB, 1 * GiB, 1 },
    { GPA_RAM_ABOVE_4G, 1 * GiB, 1 },
};
static const uint8_t distances[] = { 10, 20, 25, 10 };

static struct acpi_params numa_params(void)
{
    return (struct acpi_params){ .cpus = cpus,
                                 .ncpus = 5,
                                 .numa_nodes = 2,
                                 .cpu_node = cpu_node,
                                 .mem = mem,
                                 .nmem = 3,
                                 .distances = distances };
}

static struct acpi_image *build(const struct acpi_params *p)
{
    struct acpi_image *img = calloc(1, sizeof(*img));

    cr_assert_not_null(img);
    img->gpa = GPA_ACPI_TABLES;
    img->len = acpi_build(p, img->buf, img->gpa, sizeof(img->buf));
    return img;
}

Test(acpi_numa, srat_and_slit_bytes)
{
    struct acpi_params p = numa_params();
    struct acpi_image *img = build(&p);
    const uint8_t *srat, *slit, *e;

    cr_assert_gt(img->len, 0);
    srat = image_table(img, "SRAT");
    slit = image_table(img, "SLIT");
    cr_assert_not_null(srat);
    cr_assert_not_null(slit);
    cr_assert_eq(byte_sum(srat, rd32(srat + 4)), 0);
    cr_assert_eq(byte_sum(slit, rd32(slit + 4)), 0);
    cr_assert_eq(srat[8], 3, "SRAT revision");
    cr_assert_eq(rd32(srat + 36), 1, "reserved 1");
    /* 4 LAPIC affinities (16), 1 x2APIC affinity (24), 3 memory affinities (40). */
    cr_assert_eq(rd32(srat + 4), 48 + 4 * 16 + 24 + 3 * 40);
    e = srat + 48 + 2 * 16; /* vCPU 2 */
    cr_expect_eq(e[0], 0);
    cr_expect_eq(e[2], 1, "proximity domain");
    cr_expect_eq(e[3], 2, "apic id");
    cr_expect_eq(rd32(e + 4), 1, "enabled");
    e = srat + 48 + 4 * 16;
    cr_expect_eq(e[0], 2, "x2APIC affinity");
    cr_expect_eq(rd32(e + 4), 1);
    cr_expect_eq(rd32(e + 8), 0x100);
    e = srat + 48 + 4 * 16 + 24 + 2 * 40;
    cr_expect_eq(e[0], 1, "memory affinity");
    cr_expect_eq(rd32(e + 2), 1);
    cr_expect_eq(rd64(e + 8), GPA_RAM_ABOVE_4G);
    cr_expect_eq(rd64(e + 16), GiB);
    cr_expect_eq(rd32(e + 28), 1, "enabled, not hot-pluggable");
    cr_assert_eq(rd32(slit + 4), 36 + 8 + 4);
    cr_expect_eq(rd64(slit + 36), 2);
    cr_expect(!memcmp(slit + 44, distances, 4));
    free(img);
}

Test(acpi_numa, absent_without_numa)
{
    struct acpi_params p = { .cpus = cpus, .ncpus = 3 };
    struct acpi_image *img = build(&p);

    cr_assert_gt(img->len, 0);
    cr_expect_null(image_table(img, "SRAT"));
    cr_expect_null(image_table(img, "SLIT"));
    free(img);
}

/* The hotplug range (Cloud Hypervisor: a zone's hotplug_size) as one more memory affinity on
 * node 0, enabled and hot-pluggable; without NUMA there is no SRAT to put it in. */
Test(acpi_numa, hotplug_memory_affinity)
{
    struct acpi_params p = numa_params();
    struct acpi_image *img;
    const uint8_t *srat, *e;

    p.hotplug_mem_base = 5 * GiB;
    p.hotplug_mem_size = 8 * GiB;
    img = build(&p);
    cr_assert_gt(img->len, 0);
    srat = image_table(img, "SRAT");
    cr_assert_not_null(srat);
    cr_assert_eq(byte_sum(srat, rd32(srat + 4)), 0);
    cr_assert_eq(rd32(srat + 4), 48 + 4 * 16 + 24 + 4 * 40);
    e = srat + 48 + 4 * 16 + 24 + 3 * 40;
    cr_expect_eq(e[0], 1, "memory affinity");
    cr_expect_eq(e[1], 40);
    cr_expect_eq(rd32(e + 2), 0, "node 0");
    cr_expect_eq(rd64(e + 8), 5 * GiB);
    cr_expect_eq(rd64(e + 16), 8 * GiB);
    cr_expect_eq(rd32(e + 28), 3, "enabled, hot-pluggable");
    free(img);

    p = (struct acpi_params){
        .cpus = cpus, .ncpus = 3, .hotplug_mem_base = 5 * GiB, .hotplug_mem_size = 8 * GiB
    };
    img = build(&p);
    cr_assert_gt(img->len, 0);
    cr_expect_null(image_table(img, "SRAT"));
    free(img);
}

Test(acpi_numa, refuses_bad_layouts)
{
    static const uint8_t bad_self[] = { 11, 20, 20, 10 }, bad_remote[] = { 10, 10, 20, 10 };
    static const uint32_t bad_node[] = { 0, 0, 2, 1, 1 };
    static const struct acpi_mem_range bad_mem[] = { { 0, GiB, 2 } };
    struct acpi_params p = numa_params();
    struct acpi_image *img;

    p.distances = bad_self;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "distance to itself must be 10");
    free(img);
    p = numa_params();
    p.distances = bad_remote;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "remote distance 10 makes Linux drop the SLIT");
    free(img);
    p = numa_params();
    p.cpu_node = bad_node;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "CPU on a node that does not exist");
    free(img);
    p = numa_params();
    p.mem = bad_mem;
    p.nmem = 1;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "memory on a node that does not exist");
    free(img);
    p = numa_params();
    p.numa_nodes = 0;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "memory ranges without nodes");
    free(img);
}

/* One node with the CPU and the RAM, two memory-less, CPU-less nodes that are Generic
 * Initiators for the PCI functions in slots 3 and 5 and for function 2 of slot 5. */
static const uint32_t gi_cpu_node[] = { 0 };
static const struct acpi_mem_range gi_mem[] = { { 0, GiB, 0 } };
static const struct acpi_pci_initiator gi[] = { { 3, 0, 2 }, { 5, 0, 1 }, { 5, 2, 2 } };

static struct acpi_params gi_params(void)
{
    return (struct acpi_params){ .cpus = cpus,
                                 .ncpus = 1,
                                 .numa_nodes = 3,
                                 .cpu_node = gi_cpu_node,
                                 .mem = gi_mem,
                                 .nmem = 1,
                                 .initiators = gi,
                                 .ninitiators = 3,
                                 .pci = true };
}

/* The named object name inside [from, from + n): its NameOp and name, then want. */
static bool has_name(const uint8_t *from, size_t n, const char name[4], const uint8_t *want,
                     size_t want_len)
{
    uint8_t pat[16] = { 0x08 };

    memcpy(pat + 1, name, 4);
    memcpy(pat + 5, want, want_len);
    return memmem(from, n, pat, 5 + want_len) != NULL;
}

Test(acpi_numa, generic_initiator_bytes)
{
    struct acpi_params p = gi_params();
    struct acpi_image *img = build(&p);
    static const uint8_t adr3[] = { 0x0c, 0, 0, 3, 0 }, adr52[] = { 0x0c, 2, 0, 5, 0 };
    static const uint8_t pxm1[] = { 0x01 }, pxm2[] = { 0x0a, 2 };
    const uint8_t *srat, *slit, *dsdt, *e, *s3, *s4, *s5, *f52;
    size_t dlen;

    cr_assert_gt(img->len, 0);
    srat = image_table(img, "SRAT");
    slit = image_table(img, "SLIT");
    dsdt = image_table(img, "DSDT");
    cr_assert(srat && slit && dsdt);
    dlen = rd32(dsdt + 4);
    cr_assert_eq(byte_sum(srat, rd32(srat + 4)), 0);
    cr_assert_eq(rd32(srat + 4), 48 + 16 + 40 + 3 * 32);
    e = srat + 48 + 16 + 40;
    cr_expect_eq(e[0], 5, "Generic Initiator Affinity");
    cr_expect_eq(e[1], 32);
    cr_expect_eq(e[3], 1, "PCI device handle");
    cr_expect_eq(rd32(e + 4), 2, "proximity domain");
    cr_expect_eq(rd16(e + 8), 0, "segment first");
    cr_expect_eq(rd16(e + 10), 3 << 3, "then the BDF: bus 0, device 3, function 0");
    for (int i = 12; i < 24; i++)
        cr_expect_eq(e[i], 0, "reserved byte %d", i);
    cr_expect_eq(rd32(e + 24), 1, "enabled");
    cr_expect_eq(rd32(e + 28), 0);
    cr_expect_eq(rd16(e + 32 + 10), 5 << 3);
    cr_expect_eq(rd32(e + 32 + 4), 1);
    cr_expect_eq(rd16(e + 64 + 10), 5 << 3 | 2, "device 5, function 2");
    cr_expect_eq(rd64(slit + 36), 3, "SLIT covers the initiator nodes");
    /* Function 0: _PXM in the hotplug slot device itself, Device (S003) { _SUN _ADR _PXM }
     * under \_SB_.PC00; a slot without an initiator has no _PXM. */
    s3 = memmem(dsdt, dlen, "S003", 4);
    s4 = memmem(dsdt, dlen, "S004", 4);
    s5 = memmem(dsdt, dlen, "S005", 4);
    cr_assert(s3 && s4 && s5, "no S003/S004/S005 slot devices in the DSDT");
    cr_expect(has_name(s3, 40, "_ADR", adr3, sizeof(adr3)), "S003 _ADR 0x00030000");
    cr_expect(has_name(s3, 40, "_PXM", pxm2, sizeof(pxm2)), "S003 _PXM 2");
    cr_expect(has_name(s5, 40, "_PXM", pxm1, sizeof(pxm1)), "S005 _PXM 1");
    cr_expect_not(has_name(s4, 40, "_PXM", pxm1, 0), "S004 has no _PXM");
    /* Function 2 of slot 5: a device of its own, named apart from the slots. */
    f52 = memmem(dsdt, dlen, "F052", 4);
    cr_assert_not_null(f52, "no F052 device");
    cr_expect(has_name(f52, 24, "_ADR", adr52, sizeof(adr52)), "F052 _ADR 0x00050002");
    cr_expect(has_name(f52, 24, "_PXM", pxm2, sizeof(pxm2)), "F052 _PXM 2");
    free(img);
}

Test(acpi_numa, generic_initiator_refusals)
{
    static const struct acpi_pci_initiator bad_node[] = { { 3, 0, 3 } };
    static const struct acpi_pci_initiator twice[] = { { 3, 0, 1 }, { 3, 0, 2 } };
    static const struct acpi_pci_initiator bad_dev[] = { { 32, 0, 1 } };
    struct acpi_params p = gi_params();
    struct acpi_image *img;

    p.initiators = bad_node;
    p.ninitiators = 1;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "initiator on a node that does not exist");
    free(img);
    p.initiators = twice;
    p.ninitiators = 2;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "one function on two nodes");
    free(img);
    p.initiators = bad_dev;
    p.ninitiators = 1;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "device 32");
    free(img);
    p = gi_params();
    p.pci = false;
    img = build(&p);
    cr_expect_eq(img->len, -EINVAL, "initiators without a PCI host bridge");
    free(img);
}

static bool update_mode(void)
{
    const char *v = getenv("CELLVM_UPDATE_GOLDEN");

    return v && !strcmp(v, "1");
}

/* Drops iasl's volatile header lines and trailing blanks, as test_acpi_iasl.c does. */
static char *filtered(const char *text)
{
    static const char *const skip[] = { "Disassembler version", "Copyright (c)",
                                        "Disassembly of " };
    char *out = malloc(strlen(text) + 1), *o = out;

    cr_assert_not_null(out);
    while (*text) {
        const char *eol = strchr(text, '\n');
        size_t n = eol ? (size_t)(eol - text + 1) : strlen(text), body = n - (eol != NULL);
        bool keep = true;

        for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
            keep &= memmem(text, n, skip[i], strlen(skip[i])) == NULL;
        if (keep) {
            while (body && (text[body - 1] == ' ' || text[body - 1] == '\t'))
                body--;
            memcpy(o, text, body);
            o += body;
            if (eol)
                *o++ = '\n';
        }
        text += n;
    }
    *o = '\0';
    return out;
}

static bool goldens_match_iasl(const char *dir)
{
    char log[4096], path[4096], *text, *want, version[16] = "";
    char *argv[] = { "iasl", "-v", NULL };
    const char *v;
    bool same;

    snprintf(log, sizeof(log), "%s/version.log", dir);
    run_logged(argv, log);
    text = read_file(log, NULL);
    if (text && (v = strstr(text, "version ")))
        sscanf(v + 8, "%15[0-9]", version);
    free(text);
    snprintf(path, sizeof(path), "%s/IASL_VERSION", ACPI_GOLDEN_DIR);
    want = read_file(path, NULL);
    same = want && version[0] && !strncmp(want, version, strlen(version)) &&
           want[strlen(version)] == '\n';
    if (!same)
        cr_log_warn("iasl %s, goldens from %s: skipping the golden comparison", version,
                    want ? want : "(none)");
    free(want);
    return same;
}

static void iasl_check(const char *dir, const char *set, const char *sig, const uint8_t *t,
                       bool compare)
{
    char dat[4096], prefix[4096], dsl[4096], log[4096], re[4096], aml[4096], golden[4096];
    char *dis[] = { "iasl", "-vs", "-p", prefix, "-d", dat, NULL };
    char *comp[] = { "iasl", "-vs", "-on", "-p", re, dsl, NULL };
    char *text, *got, *want, *bytes;
    char lower[5] = { 0 };
    size_t len;

    for (int i = 0; i < 4; i++)
        lower[i] = (char)(sig[i] - 'A' + 'a');
    snprintf(dat, sizeof(dat), "%s/%s.dat", dir, sig);
    snprintf(prefix, sizeof(prefix), "%s/%s", dir, sig);
    snprintf(dsl, sizeof(dsl), "%s/%s.dsl", dir, sig);
    snprintf(re, sizeof(re), "%s/re-%s", dir, sig);
    snprintf(aml, sizeof(aml), "%s/re-%s.aml", dir, sig);
    snprintf(golden, sizeof(golden), "%s/%s-%s.dsl", ACPI_GOLDEN_DIR, set, lower);
    cr_assert_eq(write_file(dat, t, rd32(t + 4)), 0);
    snprintf(log, sizeof(log), "%s/%s-d.log", dir, sig);
    cr_assert_eq(run_logged(dis, log), 0, "iasl -d %s", sig);
    text = read_file(log, NULL);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, "Error"), "iasl -d %s:\n%s", sig, text);
    cr_assert_null(strstr(text, "Warning"), "iasl -d %s:\n%s", sig, text);
    free(text);
    text = read_file(dsl, NULL);
    cr_assert_not_null(text, "iasl wrote no %s", dsl);
    cr_assert_null(strstr(text, "Invalid"), "%s:\n%s", dsl, text);
    cr_assert_null(strstr(text, "Incorrect"), "%s:\n%s", dsl, text);
    got = filtered(text);
    free(text);
    if (update_mode()) {
        cr_assert_eq(write_file(golden, got, strlen(got)), 0);
        cr_log_info("updated %s", golden);
    } else if (compare) {
        want = read_file(golden, NULL);
        cr_assert_not_null(want, "missing golden %s (CELLVM_UPDATE_GOLDEN=1 creates it)", golden);
        cr_assert_str_eq(got, want, "%s differs from its golden", sig);
        free(want);
    }
    free(got);
    snprintf(log, sizeof(log), "%s/%s-c.log", dir, sig);
    cr_assert_eq(run_logged(comp, log), 0, "iasl %s", dsl);
    text = read_file(log, NULL);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, " 0 Errors, 0 Warnings"), "iasl %s:\n%s", dsl, text);
    free(text);
    bytes = read_file(aml, &len);
    cr_assert_not_null(bytes);
    cr_assert_eq(len, rd32(t + 4), "%s recompiled to %zu bytes", sig, len);
    cr_assert(!memcmp(bytes + 36, t + 36, len - 36), "%s body differs after round trip", sig);
    free(bytes);
}

/* With a hotplug range: numa-srat.dsl ends with its hot-pluggable memory affinity. */
Test(acpi_numa, iasl_golden)
{
    struct acpi_params p = numa_params();
    struct acpi_image *img;
    const char *base = getenv("TMPDIR");
    char *dir;
    bool compare;

    if (!find_in_path("iasl"))
        cr_skip_test("iasl not found in PATH (Debian: apt-get install acpica-tools); skipping");
    p.hotplug_mem_base = 5 * GiB;
    p.hotplug_mem_size = 8 * GiB;
    img = build(&p);
    cr_assert_gt(img->len, 0);
    cr_assert_gt(asprintf(&dir, "%s/cellvm-numa-XXXXXX", base ? base : "/tmp"), 0);
    cr_assert_not_null(mkdtemp(dir));
    compare = goldens_match_iasl(dir);
    iasl_check(dir, "numa", "SRAT", image_table(img, "SRAT"), compare);
    iasl_check(dir, "numa", "SLIT", image_table(img, "SLIT"), compare);
    remove_tree(dir);
    free(dir);
    free(img);
}

Test(acpi_numa, iasl_golden_generic_initiator)
{
    struct acpi_params p = gi_params();
    struct acpi_image *img;
    const char *base = getenv("TMPDIR");
    char *dir;
    bool compare;

    if (!find_in_path("iasl"))
        cr_skip_test("iasl not found in PATH (Debian: apt-get install acpica-tools); skipping");
    img = build(&p);
    cr_assert_gt(img->len, 0);
    cr_assert_gt(asprintf(&dir, "%s/cellvm-gi-XXXXXX", base ? base : "/tmp"), 0);
    cr_assert_not_null(mkdtemp(dir));
    compare = goldens_match_iasl(dir);
    iasl_check(dir, "gi", "SRAT", image_table(img, "SRAT"), compare);
    iasl_check(dir, "gi", "DSDT", image_table(img, "DSDT"), compare);
    remove_tree(dir);
    free(dir);
    free(img);
}
