/*
 * Cross-checks with iasl (Debian package acpica-tools). For each CPU configuration, every table
 * is written to a temporary directory and:
 *  1. disassembled with `iasl -d`; neither the log nor the .dsl may mention Error, Warning,
 *     Invalid or Incorrect (iasl exits 0 even on a wrong checksum, so its output is what
 *     tells; test_acpi_tables.c checks the checksums independently);
 *  2. the .dsl, minus the lines naming iasl's version, its copyright and the time of the
 *     disassembly and minus trailing blanks, must equal golden/<config>-<table>.dsl;
 *  3. the .dsl is compiled back with `iasl -on` (no name-path optimisation), which must report
 *     0 errors and 0 warnings and yield our exact bytes after the 36-byte header (the header
 *     differs: iasl writes its own compiler id and revision).
 *
 * After an intended change, regenerate the goldens and review the diff:
 *     CELLVM_UPDATE_GOLDEN=1 meson test -C build --suite unit core-acpi
 * acpiexec (same package) then loads the tables into ACPICA's interpreter, the one Linux
 * runs, and executes the GED's _EVT with the event register reading as the power button bit
 * and as another bit, expecting Notify (PWRB, 0x80) only for the first. For PCI hotplug it
 * runs a slot's _EJ0 and reads the register writes from acpiexec's region trace (-vr), and
 * runs \_SB_.PHPR.PSCN (directly and through _EVT) with the hotplug registers preset by an
 * init file (-fi), expecting Notify on exactly the slots whose bits are set.
 *
 * The goldens belong to the iasl version in golden/IASL_VERSION (Debian 12: 20200925); with
 * another version step 2 is skipped with a warning, steps 1 and 3 still run. Without iasl the
 * tests are skipped.
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

struct config {
    const char *name;
    const struct acpi_cpu *cpus;
    uint32_t ncpus;
    /* iasl 20200925 does not know the x2APIC Online Capable flag and drops it when it
     * recompiles, so the APIC round trip of a config with a disabled x2APIC CPU is lossy. */
    bool apic_roundtrip_lossy;
    uint32_t pci_segments; /* 0: no PCI; otherwise also checks MCFG */
    uint32_t mem_slots;    /* ACPI memory hotplug slots */
};

/* A 64-bit PCI window from 5 GiB to 1 TiB, as a guest with 4 GiB of RAM would get. */
#define TEST_MMIO64_START 0x140000000ull
#define TEST_MMIO64_END   0x10000000000ull

static struct acpi_params config_params(const struct config *cfg)
{
    return (struct acpi_params){ .cpus = cfg->cpus,
                                 .ncpus = cfg->ncpus,
                                 .pci = cfg->pci_segments != 0,
                                 .pci_segments = cfg->pci_segments,
                                 .mem_hotplug_slots = cfg->mem_slots,
                                 .pci_mmio64_start = TEST_MMIO64_START,
                                 .pci_mmio64_end = TEST_MMIO64_END };
}

static const struct acpi_cpu cpus_1[] = { { 0, true } };
static const struct acpi_cpu cpus_2[] = { { 0, true }, { 1, true } };
static const struct acpi_cpu cpus_hotplug[] = {
    { 0, true }, { 1, true }, { 2, false }, { 0x100, false }
};

static const char *const table_sigs[] = { "DSDT", "FACP", "APIC", "XSDT", "MCFG" };
static const char *const volatile_lines[] = { "Disassembler version", "Copyright (c)",
                                              "Disassembly of " };

static bool update_mode(void)
{
    const char *v = getenv("CELLVM_UPDATE_GOLDEN");

    return v && !strcmp(v, "1");
}

static void require_iasl(void)
{
    if (!find_in_path("iasl"))
        cr_skip_test("iasl not found in PATH (Debian: apt-get install acpica-tools); "
                     "skipping the disassembly checks");
}

/* "20200925" from `iasl -v`, or "" */
static void iasl_version(const char *dir, char out[16])
{
    char log[4096], *text, *v;
    char *argv[] = { "iasl", "-v", NULL };

    out[0] = '\0';
    snprintf(log, sizeof(log), "%s/version.log", dir);
    run_logged(argv, log);
    text = read_file(log, NULL);
    if (text && (v = strstr(text, "version ")))
        sscanf(v + 8, "%15[0-9]", out);
    free(text);
}

static char *filter_volatile(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;

    cr_assert_not_null(out);
    while (*text) {
        const char *eol = strchr(text, '\n');
        size_t n = eol ? (size_t)(eol - text + 1) : strlen(text);
        bool keep = true;

        for (size_t i = 0; i < sizeof(volatile_lines) / sizeof(volatile_lines[0]); i++) {
            const char *hit = memmem(text, n, volatile_lines[i], strlen(volatile_lines[i]));

            keep &= hit == NULL;
        }
        if (keep) {
            /* Trailing blanks (iasl leaves some) are dropped so goldens diff cleanly. */
            size_t body = n - (eol != NULL);

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

static void assert_same_text(const char *got, const char *want, const char *what)
{
    const char *got_line = got, *want_line = want;
    int line = 1;

    if (!strcmp(got, want))
        return;
    while (*got && *got == *want) {
        if (*got == '\n') {
            line++;
            got_line = got + 1;
            want_line = want + 1;
        }
        got++;
        want++;
    }
    cr_assert_fail("%s differs from its golden at line %d (regenerate with "
                   "CELLVM_UPDATE_GOLDEN=1 if intended):\n got: %.*s\nwant: %.*s",
                   what, line, (int)strcspn(got_line, "\n"), got_line,
                   (int)strcspn(want_line, "\n"), want_line);
}

static void golden_compare(const char *cfg, const char *sig, const char *dsl, bool compare)
{
    char path[4096], lower[5] = { 0 };
    char *filtered = filter_volatile(dsl), *want;

    for (int i = 0; i < 4; i++)
        lower[i] = (char)(sig[i] - 'A' + 'a');
    snprintf(path, sizeof(path), "%s/%s-%s.dsl", ACPI_GOLDEN_DIR, cfg, lower);
    if (update_mode()) {
        cr_assert_eq(write_file(path, filtered, strlen(filtered)), 0, "writing %s", path);
        cr_log_info("updated %s", path);
    } else if (compare) {
        want = read_file(path, NULL);
        cr_assert_not_null(want, "missing golden %s (CELLVM_UPDATE_GOLDEN=1 creates it)", path);
        assert_same_text(filtered, want, path);
        free(want);
    }
    free(filtered);
}

/* Disassembles one table; returns the .dsl text after checking iasl's verdict. */
static char *disassemble(const char *dir, const char *sig, const uint8_t *t)
{
    char dat[4096], prefix[4096], dsl[4096], log[4096];
    char *argv[] = { "iasl", "-vs", "-p", prefix, "-d", dat, NULL };
    char *out, *logtext;
    const char *bad;
    int rc;

    snprintf(dat, sizeof(dat), "%s/%.4s.dat", dir, sig);
    snprintf(prefix, sizeof(prefix), "%s/%.4s", dir, sig);
    snprintf(dsl, sizeof(dsl), "%s/%.4s.dsl", dir, sig);
    snprintf(log, sizeof(log), "%s/%.4s-d.log", dir, sig);
    cr_assert_eq(write_file(dat, t, rd32(t + 4)), 0);
    rc = run_logged(argv, log);
    logtext = read_file(log, NULL);
    cr_assert_eq(rc, 0, "iasl -d %s failed (%d):\n%s", dat, rc, logtext ? logtext : "");
    out = read_file(dsl, NULL);
    cr_assert_not_null(out, "iasl wrote no %s:\n%s", dsl, logtext ? logtext : "");
    bad = find_bad_word(logtext ? logtext : "");
    cr_assert_null(bad, "iasl -d %.4s says \"%s\":\n%s", sig, bad, logtext);
    bad = find_bad_word(out);
    cr_assert_null(bad, "%s contains \"%s\"", dsl, bad);
    free(logtext);
    return out;
}

/* Compiles <sig>.dsl back and compares the AML with the table we built. */
static void recompile(const char *dir, const char *sig, const uint8_t *t, bool exact)
{
    char dsl[4096], prefix[4096], aml[4096], log[4096];
    char *argv[] = { "iasl", "-vs", "-on", "-p", prefix, dsl, NULL };
    char *logtext, *bytes;
    size_t len;
    int rc;

    snprintf(dsl, sizeof(dsl), "%s/%.4s.dsl", dir, sig);
    snprintf(prefix, sizeof(prefix), "%s/re-%.4s", dir, sig);
    snprintf(aml, sizeof(aml), "%s/re-%.4s.aml", dir, sig);
    snprintf(log, sizeof(log), "%s/%.4s-c.log", dir, sig);
    rc = run_logged(argv, log);
    logtext = read_file(log, NULL);
    cr_assert_not_null(logtext);
    cr_assert_eq(rc, 0, "iasl %s failed (%d):\n%s", dsl, rc, logtext);
    cr_assert_not_null(strstr(logtext, " 0 Errors, 0 Warnings"), "iasl %s:\n%s", dsl, logtext);
    bytes = read_file(aml, &len);
    cr_assert_not_null(bytes, "iasl wrote no %s", aml);
    cr_assert_eq(len, rd32(t + 4), "%.4s recompiled to %zu bytes, built %u", sig, len, rd32(t + 4));
    if (exact)
        cr_assert(!memcmp(bytes + 36, t + 36, len - 36), "%.4s body differs after round trip", sig);
    free(bytes);
    free(logtext);
}

static void check_config(const struct config *cfg)
{
    struct acpi_params p = config_params(cfg);
    struct acpi_image *img;
    char *dir, version[16], *golden_version, path[4096];
    bool compare;

    require_iasl();
    img = calloc(1, sizeof(*img));
    cr_assert_not_null(img);
    cr_assert_gt(image_build_params(img, &p), 0);
    dir = make_tmpdir();
    iasl_version(dir, version);

    snprintf(path, sizeof(path), "%s/IASL_VERSION", ACPI_GOLDEN_DIR);
    if (update_mode()) {
        char line[32];
        int n = snprintf(line, sizeof(line), "%s\n", version);

        cr_assert_eq(write_file(path, line, (size_t)n), 0);
    }
    golden_version = read_file(path, NULL);
    compare = golden_version && !strncmp(golden_version, version, strlen(version)) && version[0] &&
              golden_version[strlen(version)] == '\n';
    if (!compare)
        cr_log_warn("iasl %s, goldens from %s: skipping the golden comparison", version,
                    golden_version ? golden_version : "(none)");
    free(golden_version);

    for (size_t i = 0; i < sizeof(table_sigs) / sizeof(table_sigs[0]); i++) {
        const char *sig = table_sigs[i];
        const uint8_t *t = image_table(img, sig);
        char *dsl;

        if (!strcmp(sig, "MCFG") && !cfg->pci_segments) {
            cr_expect_null(t, "MCFG without PCI");
            continue;
        }
        cr_assert_not_null(t, "%s missing", sig);
        dsl = disassemble(dir, sig, t);
        golden_compare(cfg->name, sig, dsl, compare);
        free(dsl);
        recompile(dir, sig, t, !(cfg->apic_roundtrip_lossy && !strcmp(sig, "APIC")));
    }
    remove_tree(dir);
    free(dir);
    free(img);
}

Test(acpi_iasl, one_cpu)
{
    static const struct config cfg = { "1cpu", cpus_1, 1, false, 0, 0 };

    check_config(&cfg);
}

Test(acpi_iasl, two_cpus)
{
    static const struct config cfg = { "2cpu", cpus_2, 2, false, 0, 0 };

    check_config(&cfg);
}

Test(acpi_iasl, hotplug_and_x2apic)
{
    static const struct config cfg = { "hotplug", cpus_hotplug, 4, true, 0, 0 };

    check_config(&cfg);
}

/* Two PCI segments: host bridges PC00 and PC01 with their slots, PHPR, GED's PCI event,
 * MBRD's ECAM and hotplug pages, and an MCFG with two allocations. */
Test(acpi_iasl, two_pci_segments)
{
    static const struct config cfg = { "pci2", cpus_2, 2, false, 2, 0 };

    check_config(&cfg);
}

/* Four ACPI memory hotplug slots: \_SB_.MHPC with M000..M003, the GED's memory event and
 * MBRD's page. (The CPU hotplug AML is in every config; "hotplug" has 2 of 4 vCPUs enabled.) */
Test(acpi_iasl, memory_hotplug_slots)
{
    static const struct config cfg = { "memhp", cpus_2, 2, false, 0, 4 };

    check_config(&cfg);
}

/* The verdict scan must notice what iasl reports about a broken table. */
Test(acpi_iasl, bad_checksum_is_noticed)
{
    struct acpi_image *img;
    char *dir, dat[4096], prefix[4096], log[4096], *text;
    char *argv[] = { "iasl", "-vs", "-p", prefix, "-d", dat, NULL };
    uint8_t copy[276];
    const uint8_t *f;

    require_iasl();
    img = calloc(1, sizeof(*img));
    cr_assert_not_null(img);
    cr_assert_gt(image_build(img, cpus_1, 1), 0);
    f = image_table(img, "FACP");
    cr_assert_not_null(f);
    memcpy(copy, f, sizeof(copy));
    copy[9]++;
    dir = make_tmpdir();
    snprintf(dat, sizeof(dat), "%s/FACP.dat", dir);
    snprintf(prefix, sizeof(prefix), "%s/FACP", dir);
    snprintf(log, sizeof(log), "%s/d.log", dir);
    cr_assert_eq(write_file(dat, copy, sizeof(copy)), 0);
    cr_assert_eq(run_logged(argv, log), 0, "iasl exits 0 even on a bad checksum");
    text = read_file(log, NULL);
    cr_assert_not_null(text);
    cr_assert_not_null(find_bad_word(text), "bad checksum not reported:\n%s", text);
    free(text);
    remove_tree(dir);
    free(dir);
    free(img);
}

/* Fill 1 makes every CPEN read 1 (so C001._STA is 0x0F); GDAT comes from the init file. */
Test(acpi_iasl, ged_event_notifies_power_button)
{
    const char *cmds = "evaluate \\_SB.GED._EVT 5; evaluate \\_SB.CPUS.C001._STA; "
                       "evaluate \\_S5";
    struct acpi_image *img;
    char *dir, *text, init[64];

    require_acpiexec();
    img = calloc(1, sizeof(*img));
    cr_assert_not_null(img);
    cr_assert_gt(image_build(img, cpus_hotplug, 4), 0);
    dir = make_tmpdir();

    snprintf(init, sizeof(init), "\\_SB.GED.GDAT 0x%x\n", GED_EVENT_POWER_BUTTON);
    text = acpiexec_init(img, dir, "1", init, cmds);
    cr_assert_not_null(strstr(text, "Notify on [PWRB]"), "no power button notify:\n%s", text);
    cr_assert_not_null(strstr(text, "Value 0x80"), "%s", text);
    cr_assert_not_null(strstr(text, "[Integer] = 000000000000000F"), "C001 present:\n%s", text);
    free(text);

    /* The memory bit, whose branch this config (no memory hotplug) does not have. */
    snprintf(init, sizeof(init), "\\_SB.GED.GDAT 0x%x\n", GED_EVENT_MEMORY);
    text = acpiexec_init(img, dir, "1", init, cmds);
    cr_assert_null(strstr(text, "Notify"), "notify without the power button bit:\n%s", text);
    free(text);

    remove_tree(dir);
    free(dir);
    free(img);
}

static struct acpi_image *pci_image(uint32_t nseg)
{
    static const struct config cfg1 = { "pci1", cpus_1, 1, false, 1, 0 };
    struct acpi_image *img = calloc(1, sizeof(*img));
    struct config cfg = cfg1;
    struct acpi_params p;

    cr_assert_not_null(img);
    cfg.pci_segments = nseg;
    p = config_params(&cfg);
    cr_assert_gt(image_build_params(img, &p), 0);
    return img;
}

#define PHPR_PCIU (GPA_PCI_HOTPLUG_START + 0)
#define PHPR_PCID (GPA_PCI_HOTPLUG_START + 4)
#define PHPR_B0EJ (GPA_PCI_HOTPLUG_START + 8)
#define PHPR_PSEG (GPA_PCI_HOTPLUG_START + 12)

/* _EJ0 of slot 3 on segment 0 writes PSEG = 0, then B0EJ = 1 << 3; slot 31 of segment 1
 * writes PSEG = 1, then B0EJ = 1 << 31. */
Test(acpi_iasl, pci_eject_writes_pseg_and_b0ej)
{
    const char *cmds = "evaluate \\_SB.PC00.S003._EJ0 0; evaluate \\_SB.PC01.S031._EJ0 0";
    struct acpi_image *img;
    const char *at;
    char *dir, *text;

    require_acpiexec();
    img = pci_image(2);
    dir = make_tmpdir();
    text = acpiexec(img, dir, "0", cmds);
    at = after_evaluating(text);
    at = region_access(at, "Write", 0, PHPR_PSEG);
    cr_assert_not_null(at, "S003._EJ0 did not write PSEG = 0:\n%s", text);
    at = region_access(at, "Write", 1u << 3, PHPR_B0EJ);
    cr_assert_not_null(at, "S003._EJ0 did not write B0EJ = 8 after PSEG:\n%s", text);
    at = region_access(at, "Write", 1, PHPR_PSEG);
    cr_assert_not_null(at, "PC01.S031._EJ0 did not write PSEG = 1:\n%s", text);
    at = region_access(at, "Write", 1u << 31, PHPR_B0EJ);
    cr_assert_not_null(at, "PC01.S031._EJ0 did not write B0EJ = 1 << 31:\n%s", text);
    cr_expect_eq(count_lines(after_evaluating(text), (const char *const[]){ "Write", NULL }), 4,
                 "exactly two writes per _EJ0:\n%s", text);
    free(text);
    remove_tree(dir);
    free(dir);
    free(img);
}

/* PCIU reads slot 3 (device check, 1), PCID slot 5 (eject request, 3); nothing else. */
static void expect_slot_notifies(const char *text)
{
    static const char *const s3_check[] = { "Notify on [S003]", "Value 0x01", NULL };
    static const char *const s5_eject[] = { "Notify on [S005]", "Value 0x03", NULL };
    static const char *const any_slot[] = { "Notify on [S0", NULL };
    const char *run = after_evaluating(text);

    cr_expect_eq(count_lines(run, s3_check), 1, "Notify (S003, 1) once:\n%s", text);
    cr_expect_eq(count_lines(run, s5_eject), 1, "Notify (S005, 3) once:\n%s", text);
    cr_expect_eq(count_lines(run, any_slot), 2, "no other slot notified:\n%s", text);
    cr_expect_not_null(region_access(run, "Write", 0, PHPR_PSEG), "PSEG = 0 first:\n%s", text);
    cr_expect_not_null(region_access(run, "Read ", 1u << 3, PHPR_PCIU), "%s", text);
    cr_expect_not_null(region_access(run, "Read ", 1u << 5, PHPR_PCID), "%s", text);
}

Test(acpi_iasl, pci_scan_notifies_slots)
{
    const char *regs = "\\_SB.PHPR.PCIU 0x8\n\\_SB.PHPR.PCID 0x20\n";
    struct acpi_image *img;
    char *dir, *text, init[128];

    require_acpiexec();
    img = pci_image(1);
    dir = make_tmpdir();

    text = acpiexec_init(img, dir, "0", regs, "evaluate \\_SB.PHPR.PSCN");
    expect_slot_notifies(text);
    free(text);

    /* The same through the GED: event bit GED_EVENT_PCI runs PSCN. */
    snprintf(init, sizeof(init), "\\_SB.GED.GDAT 0x%x\n%s", GED_EVENT_PCI, regs);
    text = acpiexec_init(img, dir, "0", init, "evaluate \\_SB.GED._EVT 5");
    expect_slot_notifies(text);
    cr_expect_null(strstr(text, "Notify on [PWRB]"), "%s", text);
    free(text);

    /* The power button alone leaves the hotplug registers unread. */
    snprintf(init, sizeof(init), "\\_SB.GED.GDAT 0x%x\n%s", GED_EVENT_POWER_BUTTON, regs);
    text = acpiexec_init(img, dir, "0", init, "evaluate \\_SB.GED._EVT 5");
    cr_expect_not_null(strstr(text, "Notify on [PWRB]"), "%s", text);
    cr_expect_null(strstr(after_evaluating(text), "Notify on [S0"), "%s", text);
    cr_expect_null(region_access(after_evaluating(text), "Read ", 1u << 3, PHPR_PCIU), "%s", text);
    free(text);

    remove_tree(dir);
    free(dir);
    free(img);
}
