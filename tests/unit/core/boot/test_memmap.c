#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "boot_test.h"
#include "core/platform.h"

/*
 * Memory maps of guests above and at 3 GiB (sparse mappings: only the pages the loader writes
 * become real memory), and loads of a real Debian kernel when the nested image build left one.
 */

static struct test_mem mem;

static void teardown(void)
{
    tmem_fini(&mem);
}

static void setup_4g5(void)
{
    tmem_init(&mem, 4 * GiB + GiB / 2, false);
}

static void setup_3g(void)
{
    tmem_init(&mem, 3 * GiB, false);
}

static void check_map(uint64_t table, uint32_t stride, uint32_t n, const uint64_t (*want)[3],
                      uint32_t nwant)
{
    cr_assert_eq(n, nwant);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = table + (uint64_t)i * stride;

        cr_expect_eq(g64(&mem.gm, e), want[i][0], "map[%u].addr", i);
        cr_expect_eq(g64(&mem.gm, e + 8), want[i][1], "map[%u].size", i);
        cr_expect_eq(g32(&mem.gm, e + 16), want[i][2], "map[%u].type", i);
    }
}

static int pvh_kernel(void)
{
    struct elf_opts o = elf_defaults();
    size_t len;
    uint8_t *img = elf_build(&o, &len);
    int fd = memfile(img, len);

    free(img);
    return fd;
}

static int bz_kernel(void)
{
    struct bz_opts o = bz_defaults();
    size_t len;
    uint8_t *img = bz_build(&o, &len);
    int fd = memfile(img, len);

    free(img);
    return fd;
}

static const uint64_t map_4g5[][3] = {
    { 0, 0xa0000, 1 },
    { 0xe0000, 0x20000, 2 },
    { 0x100000, 3 * GiB - MiB, 1 },
    { 0xe0000000, 0x10000000, 2 },
    { 4 * GiB, GiB + GiB / 2, 1 },
};

Test(memmap, pvh_above_3g, .init = setup_4g5, .fini = teardown)
{
    uint8_t initrd[4096] = { 7 };
    struct boot_entry e;
    char err[256];
    int fd = pvh_kernel(), ifd = memfile(initrd, sizeof(initrd));

    cr_assert_eq(run_load(&mem, fd, ifd, NULL, &e, err, sizeof(err)), 0, "%s", err);
    check_map(g64(&mem.gm, GPA_PVH_START_INFO + 40), 24, g32(&mem.gm, GPA_PVH_START_INFO + 48),
              map_4g5, 5);
    /* The module stays below the hole. */
    cr_expect_eq(g64(&mem.gm, g64(&mem.gm, GPA_PVH_START_INFO + 16)), 3 * GiB - 4096);
    close(fd);
    close(ifd);
}

Test(memmap, e820_above_3g, .init = setup_4g5, .fini = teardown)
{
    uint8_t initrd[4096] = { 7 };
    struct boot_entry e;
    char err[256];
    int fd = bz_kernel(), ifd = memfile(initrd, sizeof(initrd));

    cr_assert_eq(run_load(&mem, fd, ifd, NULL, &e, err, sizeof(err)), 0, "%s", err);
    check_map(GPA_ZERO_PAGE + 0x2d0, 20, g16(&mem.gm, GPA_ZERO_PAGE + 0x1e8) & 0xff, map_4g5, 5);
    /* initrd_addr_max 0x7fffffff keeps it below 2 GiB. */
    cr_expect_eq(g32(&mem.gm, GPA_ZERO_PAGE + 0x218), 2 * GiB - 4096);
    close(fd);
    close(ifd);
}

Test(memmap, exactly_3g, .init = setup_3g, .fini = teardown)
{
    struct boot_entry e;
    char err[256];
    int fd = pvh_kernel();

    cr_assert_eq(run_load(&mem, fd, -1, NULL, &e, err, sizeof(err)), 0, "%s", err);
    check_map(g64(&mem.gm, GPA_PVH_START_INFO + 40), 24, g32(&mem.gm, GPA_PVH_START_INFO + 48),
              map_4g5, 4);
    close(fd);
}

/* The Debian cloud kernel, from CELLVM_TEST_BZIMAGE or the nested image build. */
static int open_real(const char *env, const char *name)
{
    const char *p = getenv(env), *root = getenv("CELLVM_SOURCE_ROOT");
    char path[4096];

    if (!p || !*p) {
        if (!root)
            return -1;
        snprintf(path, sizeof(path), "%s/build/tests/nested/images/%s", root, name);
        p = path;
    }
    return open(p, O_RDONLY | O_CLOEXEC);
}

static void setup_256m(void)
{
    tmem_init(&mem, 256 * MiB, false);
}

Test(real_kernel, bzimage, .init = setup_256m, .fini = teardown)
{
    struct boot_entry e;
    char err[256];
    int fd = open_real("CELLVM_TEST_BZIMAGE", "vmlinuz");
    uint8_t initrd[4096] = { 1 };
    int ifd;

    if (fd < 0)
        cr_skip_test("no Debian bzImage (set CELLVM_TEST_BZIMAGE)");
    ifd = memfile(initrd, sizeof(initrd));
    cr_assert_eq(run_load(&mem, fd, ifd, "console=ttyS0 panic=-1", &e, err, sizeof(err)), 0, "%s",
                 err);
    cr_expect_eq(e.mode, BOOT_LINUX64);
    cr_expect_geq(g16(&mem.gm, GPA_ZERO_PAGE + 0x206), 0x020f);
    /* Debian kernels are relocatable with pref_address 16 MiB. */
    cr_expect_eq(e.rip, g64(&mem.gm, GPA_ZERO_PAGE + 0x258) + 0x200);
    cr_expect_eq(g32(&mem.gm, GPA_ZERO_PAGE + 0x218), 256 * MiB - 4096);
    cr_expect_eq(g64(&mem.gm, GPA_ZERO_PAGE + 0x70), TEST_RSDP_GPA);
    close(fd);
    close(ifd);
}

Test(real_kernel, vmlinux_pvh, .init = setup_256m, .fini = teardown)
{
    struct boot_entry e;
    char err[256];
    int fd = open_real("CELLVM_TEST_VMLINUX", "vmlinux");

    if (fd < 0)
        cr_skip_test("no Debian vmlinux (set CELLVM_TEST_VMLINUX)");
    cr_assert_eq(run_load(&mem, fd, -1, "console=hvc0", &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.mode, BOOT_PVH);
    /* Linux's pvh_start_xen lives in the first segment, at 16 MiB and up. */
    cr_expect(e.rip >= 16 * MiB && e.rip < 64 * MiB, "entry 0x%llx", (unsigned long long)e.rip);
    cr_expect_eq(g32(&mem.gm, GPA_PVH_START_INFO), 0x336ec578);
    close(fd);
}
