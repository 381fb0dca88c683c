/*
 * SMBIOS tables (core/boot/smbios.c): the entry point's checksum and fields, a walk of the
 * structure table as Linux's dmi_scan does it (formatted length, string set, end of table),
 * the UUID's byte order, the refusals; then Debian's dmidecode decodes the bytes from a dump
 * file written in its --dump-bin layout (entry point with the table address rewritten to 32,
 * table at offset 32), and its output must equal golden/smbios-dmidecode.txt, minus the lines
 * naming dmidecode's version and the dump file. The golden belongs to dmidecode 3.4 (Debian
 * 12); with another version only the fields are checked. Without dmidecode those tests skip.
 * After an intended change: CELLVM_UPDATE_GOLDEN=1 meson test -C build --suite unit boot
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_test.h"
#include "core/boot/loader.h"
#include "core/boot/smbios.h"
#include "core/platform.h"

#ifndef SMBIOS_GOLDEN
#error "SMBIOS_GOLDEN must name tests/unit/core/boot/golden/smbios-dmidecode.txt"
#endif

extern char **environ;

#define GOLDEN_DMIDECODE_VERSION "3.4"

static const uint8_t test_uuid[SMBIOS_UUID_LEN] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
};
static const char *const test_oem[] = { "io.systemd.credential:k=v", "second, with a comma" };

static const struct smbios_params full = {
    .serial_number = "cellvm-serial-42",
    .uuid = test_uuid,
    .oem_strings = test_oem,
    .noem_strings = 2,
};

static uint8_t buf[SMBIOS_MAX];

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

struct structure {
    const uint8_t *hdr;   /* formatted part */
    const char *str[256]; /* str[1..nstr] */
    unsigned nstr;
};

/* Walks the table as dmi_scan/dmidecode do; returns the structure count and fills out[]. */
static unsigned walk(const uint8_t *t, size_t len, struct structure *out, unsigned max)
{
    size_t off = 0;
    unsigned n = 0;

    while (off + 4 <= len && n < max) {
        const uint8_t *h = t + off;
        struct structure *s = &out[n++];
        size_t p;

        cr_assert_geq(h[1], 4, "structure %u: formatted length %u", n, h[1]);
        cr_assert_leq(off + h[1] + 2, len, "structure %u runs past the table", n);
        s->hdr = h;
        s->nstr = 0;
        p = off + h[1];
        if (t[p] == 0 && t[p + 1] == 0) {
            p += 2;
        } else {
            while (p < len && t[p]) {
                cr_assert_lt(s->nstr, 255u);
                s->str[++s->nstr] = (const char *)t + p;
                p += strlen((const char *)t + p) + 1;
                cr_assert_leq(p, len);
            }
            p++; /* the set's final NUL */
        }
        off = p;
        if (h[0] == 127)
            break;
    }
    cr_assert_eq(off, len, "the table is %zu bytes, the walk ended at %zu", len, off);
    return n;
}

static long build_full(void)
{
    long n = smbios_build(&full, buf, GPA_SMBIOS, sizeof(buf));

    cr_assert_gt(n, SMBIOS_EP_SIZE, "smbios_build: %ld", n);
    return n;
}

Test(smbios, entry_point)
{
    long n = build_full();

    cr_expect_eq(memcmp(buf, "_SM3_", 5), 0);
    cr_expect_eq(buf[6], SMBIOS_EP_SIZE);
    cr_expect_eq(sum(buf, SMBIOS_EP_SIZE), 0, "entry point checksum");
    cr_expect_eq(buf[7], 3);
    cr_expect_eq(buf[8], 2);
    cr_expect_eq(buf[10], 1, "entry point revision");
    cr_expect_eq(le32(buf + 12), (uint32_t)(n - SMBIOS_EP_SIZE), "table maximum size");
    cr_expect_eq(le64(buf + 16), GPA_SMBIOS + SMBIOS_EP_SIZE, "table address");
    /* Where Linux's scan without EFI looks: 16-byte steps in 0xF0000-0xFFFFF, and clear of
     * the reset vector the core writes at the top. */
    cr_expect_eq(GPA_SMBIOS & 0xf, 0);
    cr_expect_geq(GPA_SMBIOS, 0xf0000ull);
    cr_expect_leq(GPA_SMBIOS + SMBIOS_MAX, GPA_RESET_VECTOR);
    cr_expect_geq(GPA_SMBIOS, GPA_ACPI_TABLES + ACPI_TABLES_MAX);
}

Test(smbios, structures)
{
    static struct structure s[8];
    long n = build_full();
    unsigned count = walk(buf + SMBIOS_EP_SIZE, (size_t)n - SMBIOS_EP_SIZE, s, 8);
    const uint8_t *sys;

    cr_assert_eq(count, 4);
    for (unsigned i = 0; i < count; i++)
        cr_expect_eq(s[i].hdr[2] | s[i].hdr[3] << 8, i + 1, "handle of structure %u", i);
    cr_expect_eq(s[0].hdr[0], 0);
    cr_expect_eq(s[0].hdr[1], 0x14);
    cr_assert_eq(s[0].nstr, 2);
    cr_expect_str_eq(s[0].str[s[0].hdr[4]], "cloud-hypervisor");
    cr_expect_str_eq(s[0].str[s[0].hdr[5]], "0");
    cr_expect_eq(le64(s[0].hdr + 10), 1u << 7, "PCI is supported");
    cr_expect_eq(s[0].hdr[19], 1u << 4, "virtual machine");

    sys = s[1].hdr;
    cr_expect_eq(sys[0], 1);
    cr_expect_eq(sys[1], 0x1b);
    cr_assert_eq(s[1].nstr, 3);
    cr_expect_str_eq(s[1].str[sys[4]], "Cloud Hypervisor");
    cr_expect_str_eq(s[1].str[sys[5]], "cloud-hypervisor");
    cr_expect_eq(sys[6], 0, "no version string");
    cr_expect_str_eq(s[1].str[sys[7]], "cellvm-serial-42");
    {
        /* SMBIOS 2.6+: the first three fields little-endian. */
        const uint8_t want[16] = { 0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

        cr_expect_eq(memcmp(sys + 8, want, 16), 0, "uuid bytes");
    }

    cr_expect_eq(s[2].hdr[0], 11);
    cr_expect_eq(s[2].hdr[1], 5);
    cr_expect_eq(s[2].hdr[4], 2, "OEM string count");
    cr_assert_eq(s[2].nstr, 2);
    cr_expect_str_eq(s[2].str[1], test_oem[0]);
    cr_expect_str_eq(s[2].str[2], test_oem[1]);

    cr_expect_eq(s[3].hdr[0], 127);
    cr_expect_eq(s[3].hdr[1], 4);
    cr_expect_eq(s[3].nstr, 0);
}

/* The guest's memory map (e820 and the PVH memmap) reserves the tables' page, so Linux keeps
 * its hands off it and maps it when the scan finds the entry point. */
Test(smbios, reserved_in_memmap)
{
    struct test_mem m;
    struct boot_mem_range map[BOOT_MEMMAP_MAX];
    bool covered = false;
    int n;

    tmem_init(&m, 512 * MiB, false);
    n = boot_memmap(&m.gm, map);
    for (int i = 0; i < n; i++) {
        bool overlaps =
            map[i].addr < GPA_SMBIOS + SMBIOS_MAX && GPA_SMBIOS < map[i].addr + map[i].size;

        if (overlaps)
            cr_expect_eq(map[i].type, BOOT_MEM_RESERVED, "map[%d] overlaps the SMBIOS page", i);
        covered |= map[i].type == BOOT_MEM_RESERVED && map[i].addr <= GPA_SMBIOS &&
                   GPA_SMBIOS + SMBIOS_MAX <= map[i].addr + map[i].size;
    }
    cr_expect(covered, "no reserved range covers 0x%llx+0x%llx", (unsigned long long)GPA_SMBIOS,
              (unsigned long long)SMBIOS_MAX);
    tmem_fini(&m);
}

/* Nothing given: no serial string, a zero UUID ("not present"), no type 11. */
Test(smbios, defaults)
{
    static struct structure s[8];
    struct smbios_params none = { 0 };
    const uint8_t zero[16] = { 0 };
    long n = smbios_build(&none, buf, GPA_SMBIOS, sizeof(buf));
    unsigned count;

    cr_assert_gt(n, 0);
    cr_expect_eq(sum(buf, SMBIOS_EP_SIZE), 0);
    count = walk(buf + SMBIOS_EP_SIZE, (size_t)n - SMBIOS_EP_SIZE, s, 8);
    cr_assert_eq(count, 3);
    cr_expect_eq(s[1].hdr[7], 0, "no serial number string");
    cr_expect_eq(s[1].nstr, 2);
    cr_expect_eq(memcmp(s[1].hdr + 8, zero, 16), 0);
    cr_expect_eq(s[2].hdr[0], 127);
}

Test(smbios, refusals)
{
    static const char *many[SMBIOS_MAX_OEM_STRINGS + 1];
    static char big[SMBIOS_MAX];
    const char *empty_one[] = { "a", "" };
    struct smbios_params p = { 0 };

    cr_expect_eq(smbios_build(&full, buf, GPA_SMBIOS + 8, sizeof(buf)), -EINVAL, "misaligned");
    p.serial_number = "";
    cr_expect_eq(smbios_build(&p, buf, GPA_SMBIOS, sizeof(buf)), -EINVAL, "empty serial");
    p.serial_number = NULL;
    p.oem_strings = empty_one;
    p.noem_strings = 2;
    cr_expect_eq(smbios_build(&p, buf, GPA_SMBIOS, sizeof(buf)), -EINVAL, "empty OEM string");

    for (size_t i = 0; i < SMBIOS_MAX_OEM_STRINGS + 1; i++)
        many[i] = "x";
    p.oem_strings = many;
    p.noem_strings = SMBIOS_MAX_OEM_STRINGS + 1;
    cr_expect_eq(smbios_build(&p, buf, GPA_SMBIOS, sizeof(buf)), -EINVAL, "256 OEM strings");
    p.noem_strings = SMBIOS_MAX_OEM_STRINGS;
    cr_expect_gt(smbios_build(&p, buf, GPA_SMBIOS, sizeof(buf)), 0, "255 OEM strings fit");
    cr_expect_eq(buf[SMBIOS_EP_SIZE + 0x14 + 20 + 0x1b + 35 + 4], SMBIOS_MAX_OEM_STRINGS);

    /* Too long for the page: refused whole, not cut. */
    memset(big, 'x', sizeof(big) - 1);
    p.noem_strings = 0;
    p.serial_number = big;
    cr_expect_eq(smbios_build(&p, buf, GPA_SMBIOS, sizeof(buf)), -ENOSPC);
    cr_expect_eq(smbios_build(&full, buf, GPA_SMBIOS, 100), -ENOSPC, "cap below the table");
    cr_expect_eq(smbios_build(&full, buf, GPA_SMBIOS, 10), -ENOSPC, "cap below the entry point");
}

/* --- dmidecode --------------------------------------------------------------------------- */

static const char *dmidecode_path(void)
{
    static const char *const where[] = { "/usr/sbin/dmidecode", "/sbin/dmidecode",
                                         "/usr/bin/dmidecode" };

    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
        if (access(where[i], X_OK) == 0)
            return where[i];
    return NULL;
}

/* Runs argv with stdout and stderr into a fresh string (NULL on failure); *rc gets the exit. */
static char *run(char *const argv[], int *rc)
{
    posix_spawn_file_actions_t fa;
    char *out = NULL;
    size_t len = 0, cap = 0;
    int pipefd[2], status;
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) {
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[0]);
        close(pipefd[1]);
        return NULL;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    for (;;) {
        ssize_t n;

        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        n = read(pipefd[0], out + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

struct dump {
    char dir[64];
    char file[96];
};

/* The bytes in dmidecode's --dump-bin layout: the entry point (table address 32, checksum
 * redone) padded to 32 bytes, then the table. */
static void write_dump(struct dump *d, const uint8_t *img, size_t len)
{
    uint8_t head[32] = { 0 };
    FILE *f;

    snprintf(d->dir, sizeof(d->dir), "/tmp/cellvm-smbios-XXXXXX");
    cr_assert_not_null(mkdtemp(d->dir));
    snprintf(d->file, sizeof(d->file), "%s/dmi.bin", d->dir);
    memcpy(head, img, SMBIOS_EP_SIZE);
    memset(head + 16, 0, 8);
    head[16] = 32;
    head[5] = 0;
    head[5] = (uint8_t)(0x100 - sum(head, SMBIOS_EP_SIZE));
    f = fopen(d->file, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(head, 1, 32, f), 32u);
    cr_assert_eq(fwrite(img + SMBIOS_EP_SIZE, 1, len - SMBIOS_EP_SIZE, f), len - SMBIOS_EP_SIZE);
    cr_assert_eq(fclose(f), 0);
}

static void remove_dump(const struct dump *d)
{
    unlink(d->file);
    rmdir(d->dir);
}

static char *dmidecode(const struct dump *d, const char *keyword)
{
    const char *bin = dmidecode_path();
    char *argv[] = { (char *)bin, "--from-dump", (char *)d->file, NULL, NULL, NULL };
    char *out;
    int rc = -1;

    if (keyword) {
        argv[3] = "-s";
        argv[4] = (char *)keyword;
    }
    out = run(argv, &rc);
    cr_assert_not_null(out, "cannot run %s", bin);
    cr_assert_eq(rc, 0, "dmidecode exited %d:\n%s", rc, out);
    return out;
}

static void require_dmidecode(void)
{
    if (!dmidecode_path())
        cr_skip_test("dmidecode not found (Debian: apt-get install dmidecode); skipping the "
                     "decoding checks");
}

/* dmidecode's output without the lines naming its version and the dump file. */
static char *stable_lines(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;

    cr_assert_not_null(out);
    while (*text) {
        const char *eol = strchr(text, '\n');
        size_t n = eol ? (size_t)(eol - text + 1) : strlen(text);

        if (strncmp(text, "# dmidecode ", 12) && strncmp(text, "Reading SMBIOS/DMI data", 23)) {
            memcpy(o, text, n);
            o += n;
        }
        text += n;
    }
    *o = '\0';
    return out;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(smbios, dmidecode_decodes, .init = require_dmidecode)
{
    static const char *const want[] = {
        "SMBIOS 3.2.0 present.",
        "Handle 0x0001, DMI type 0, 20 bytes",
        "\tVendor: cloud-hypervisor",
        "\t\tPCI is supported",
        "\t\tSystem is a virtual machine",
        "Handle 0x0002, DMI type 1, 27 bytes",
        "\tManufacturer: Cloud Hypervisor",
        "\tProduct Name: cloud-hypervisor",
        "\tSerial Number: cellvm-serial-42",
        "\tUUID: 00112233-4455-6677-8899-aabbccddeeff",
        "Handle 0x0003, DMI type 11, 5 bytes",
        "\tString 1: io.systemd.credential:k=v",
        "\tString 2: second, with a comma",
        "Handle 0x0004, DMI type 127, 4 bytes",
    };
    static const char *const bad[] = { "Invalid", "invalid",   "wrong",       "Wrong",
                                       "corrupt", "truncated", "<BAD INDEX>", "Unknown" };
    long n = build_full();
    struct dump d;
    char *out, *kw, *golden, *stable, *version;
    int rc = -1;

    write_dump(&d, buf, (size_t)n);
    out = dmidecode(&d, NULL);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect_not_null(strstr(out, want[i]), "missing \"%s\" in:\n%s", want[i], out);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_null(strstr(out, bad[i]), "dmidecode says \"%s\":\n%s", bad[i], out);
    kw = dmidecode(&d, "system-serial-number");
    cr_expect_str_eq(kw, "cellvm-serial-42\n");
    free(kw);
    kw = dmidecode(&d, "system-uuid");
    cr_expect_str_eq(kw, "00112233-4455-6677-8899-aabbccddeeff\n");
    free(kw);

    stable = stable_lines(out);
    {
        char *argv[] = { (char *)dmidecode_path(), "--version", NULL };

        version = run(argv, &rc);
        cr_assert_not_null(version);
        version[strcspn(version, "\n")] = '\0';
    }
    if (getenv("CELLVM_UPDATE_GOLDEN") && !strcmp(getenv("CELLVM_UPDATE_GOLDEN"), "1")) {
        FILE *f = fopen(SMBIOS_GOLDEN, "w");

        cr_assert_not_null(f);
        fputs(stable, f);
        fclose(f);
    } else if (strcmp(version, GOLDEN_DMIDECODE_VERSION)) {
        cr_log_warn("dmidecode %s, the golden belongs to %s: comparison skipped", version,
                    GOLDEN_DMIDECODE_VERSION);
    } else {
        golden = slurp(SMBIOS_GOLDEN);
        cr_assert_not_null(golden, "cannot read %s", SMBIOS_GOLDEN);
        cr_expect_str_eq(stable, golden, "dmidecode's decoding differs from %s", SMBIOS_GOLDEN);
        free(golden);
    }
    free(version);
    free(stable);
    free(out);
    remove_dump(&d);
}

/* Without strings: dmidecode shows the defaults; an all-zero UUID reads "Not Settable". */
Test(smbios, dmidecode_defaults, .init = require_dmidecode)
{
    struct smbios_params none = { 0 };
    long n = smbios_build(&none, buf, GPA_SMBIOS, sizeof(buf));
    struct dump d;
    char *out;

    cr_assert_gt(n, 0);
    write_dump(&d, buf, (size_t)n);
    out = dmidecode(&d, NULL);
    cr_expect_not_null(strstr(out, "\tSerial Number: Not Specified"), "%s", out);
    cr_expect_not_null(strstr(out, "\tUUID: Not Settable"), "%s", out);
    cr_expect_null(strstr(out, "DMI type 11"), "%s", out);
    cr_expect_not_null(strstr(out, "DMI type 127"), "%s", out);
    free(out);
    remove_dump(&d);
}
