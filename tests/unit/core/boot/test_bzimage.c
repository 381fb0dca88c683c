#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "boot_test.h"
#include "core/platform.h"

/* Zero page offsets (Documentation/arch/x86/zero-page.rst), spelled out independently here. */
#define ZP(off) (GPA_ZERO_PAGE + (off))

static struct test_mem mem;

static void setup64(void)
{
    tmem_init(&mem, 64 * MiB, true);
}

static void teardown(void)
{
    tmem_fini(&mem);
}

static int bz_file(const struct bz_opts *o)
{
    size_t len;
    uint8_t *img = bz_build(o, &len);
    int fd = memfile(img, len);

    free(img);
    return fd;
}

static void check_code_at(uint64_t gpa, size_t len)
{
    const uint8_t *p = guest_mem_ptr(&mem.gm, gpa, len);

    cr_assert_not_null(p);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(p[i], bz_code_byte(i), "kernel byte %zu", i);
}

static void check_e820(const uint64_t (*want)[3], unsigned int n)
{
    cr_assert_eq(g16(&mem.gm, ZP(0x1e8)) & 0xff, n);
    for (unsigned int i = 0; i < n; i++) {
        uint64_t e = ZP(0x2d0) + i * 20;

        cr_expect_eq(g64(&mem.gm, e), want[i][0], "e820[%u].addr", i);
        cr_expect_eq(g64(&mem.gm, e + 8), want[i][1], "e820[%u].size", i);
        cr_expect_eq(g32(&mem.gm, e + 16), want[i][2], "e820[%u].type", i);
    }
}

TestSuite(bzimage, .init = setup64, .fini = teardown);

Test(bzimage, loads_at_1mib)
{
    struct bz_opts o = bz_defaults();
    struct boot_entry e;
    char err[256];
    int fd = bz_file(&o);
    const uint64_t map[][3] = {
        { 0, 0xa0000, 1 },
        { 0xe0000, 0x20000, 2 },
        { 0x100000, 63 * MiB, 1 },
        { 0xe0000000, 0x10000000, 2 },
    };

    cr_assert_eq(run_load(&mem, fd, -1, "console=ttyS0", &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(err, "");
    cr_expect_eq(e.mode, BOOT_LINUX64);
    cr_expect_eq(e.rip, 0x100200);
    cr_expect_eq(e.rsi, GPA_ZERO_PAGE);
    cr_expect_eq(e.rsp, GPA_BOOT_STACK);
    check_code_at(0x100000, o.code_len);

    cr_expect_eq(g16(&mem.gm, ZP(0x1fe)), 0xaa55);
    cr_expect_eq(g32(&mem.gm, ZP(0x202)), 0x53726448);
    cr_expect_eq(g16(&mem.gm, ZP(0x206)), 0x020f);
    cr_expect_eq(g16(&mem.gm, ZP(0x1fa)), 0xffff, "vid_mode");
    cr_expect_eq(g16(&mem.gm, ZP(0x210)) & 0xff, 0xff, "type_of_loader");
    cr_expect_eq(g16(&mem.gm, ZP(0x211)) & 0xff, 0x01, "loadflags");
    cr_expect_eq(g32(&mem.gm, ZP(0x214)), 0x100000, "code32_start");
    cr_expect_eq(g32(&mem.gm, ZP(0x218)), 0, "ramdisk_image");
    cr_expect_eq(g32(&mem.gm, ZP(0x21c)), 0, "ramdisk_size");
    cr_expect_eq(g32(&mem.gm, ZP(0x228)), GPA_CMDLINE, "cmd_line_ptr");
    cr_expect_eq(g32(&mem.gm, ZP(0x238)), 2048, "cmdline_size");
    cr_expect_eq(g64(&mem.gm, ZP(0x070)), TEST_RSDP_GPA, "acpi_rsdp_addr");
    cr_expect_eq(g64(&mem.gm, ZP(0x000)), 0, "screen_info is zero");
    cr_expect_eq(g16(&mem.gm, ZP(0x1ee)) >> 8, 0, "sentinel");
    cr_expect_str_eq((const char *)guest_mem_ptr(&mem.gm, GPA_CMDLINE, 14), "console=ttyS0");
    check_e820(map, 4);
    /* Below the zero page nothing is written. */
    cr_expect_eq(g64(&mem.gm, GPA_ZERO_PAGE - 8), 0xccccccccccccccccull);
    close(fd);
}

Test(bzimage, relocatable_loads_at_pref_address)
{
    struct bz_opts o = bz_defaults();
    struct boot_entry e;
    char err[256];
    int fd;

    o.relocatable = 1;
    fd = bz_file(&o);
    cr_assert_eq(run_load(&mem, fd, -1, NULL, &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.rip, 0x1000200);
    cr_expect_eq(g32(&mem.gm, ZP(0x214)), 0x1000000, "code32_start");
    check_code_at(0x1000000, o.code_len);
    cr_expect_eq(g16(&mem.gm, GPA_CMDLINE) & 0xff, 0, "empty cmdline");
    close(fd);
}

Test(bzimage, pref_address_outside_ram_falls_back_to_1mib)
{
    struct bz_opts o = bz_defaults();
    struct boot_entry e;
    char err[256];
    int fd;

    o.relocatable = 1;
    o.pref_address = 0x10000000;
    fd = bz_file(&o);
    cr_assert_eq(run_load(&mem, fd, -1, NULL, &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.rip, 0x100200);
    check_code_at(0x100000, o.code_len);
    close(fd);
}

static void check_initramfs(uint64_t gpa, const uint8_t *data, size_t len)
{
    cr_expect_eq(gpa % 4096, 0, "initramfs at 0x%llx is not page aligned", (unsigned long long)gpa);
    cr_expect_eq(g32(&mem.gm, ZP(0x218)), gpa, "ramdisk_image");
    cr_expect_eq(g32(&mem.gm, ZP(0x21c)), len, "ramdisk_size");
    cr_expect_eq(memcmp(guest_mem_ptr(&mem.gm, gpa, len), data, len), 0);
}

static uint8_t *initramfs_data(size_t len)
{
    uint8_t *d = malloc(len);

    cr_assert_not_null(d);
    for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5a);
    return d;
}

Test(bzimage, initramfs_at_top_of_memory)
{
    struct bz_opts o = bz_defaults();
    size_t len = 100 * 1024 + 123;
    uint8_t *data = initramfs_data(len);
    struct boot_entry e;
    char err[256];
    int fd = bz_file(&o), ifd = memfile(data, len);

    cr_assert_eq(run_load(&mem, fd, ifd, "x", &e, err, sizeof(err)), 0, "%s", err);
    check_initramfs((64 * MiB - len) & ~0xfffull, data, len);
    free(data);
    close(fd);
    close(ifd);
}

Test(bzimage, initramfs_below_initrd_addr_max)
{
    struct bz_opts o = bz_defaults();
    size_t len = 8192;
    uint8_t *data = initramfs_data(len);
    struct boot_entry e;
    char err[256];
    int fd, ifd = memfile(data, len);

    o.initrd_addr_max = 32 * MiB - 1;
    fd = bz_file(&o);
    cr_assert_eq(run_load(&mem, fd, ifd, NULL, &e, err, sizeof(err)), 0, "%s", err);
    check_initramfs(32 * MiB - len, data, len);
    free(data);
    close(fd);
    close(ifd);
}

Test(bzimage, initramfs_below_kernel_when_top_is_taken)
{
    struct bz_opts o = bz_defaults();
    size_t len = MiB;
    uint8_t *data = initramfs_data(len);
    struct boot_entry e;
    char err[256];
    int fd, ifd = memfile(data, len);

    o.relocatable = 1;
    o.pref_address = 48 * MiB;
    o.init_size = 16 * MiB;
    fd = bz_file(&o);
    cr_assert_eq(run_load(&mem, fd, ifd, NULL, &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.rip, 48 * MiB + 0x200);
    check_initramfs(47 * MiB, data, len);
    free(data);
    close(fd);
    close(ifd);
}

Test(bzimage, initramfs_larger_than_memory)
{
    struct bz_opts o = bz_defaults();
    int fd = bz_file(&o), ifd = memfile(NULL, 65 * MiB);

    expect_fail(&mem, fd, ifd, NULL, -EFBIG,
                "initramfs: 68157440 bytes do not fit in guest memory");
    close(fd);
    close(ifd);
}

Test(bzimage, old_protocol)
{
    struct bz_opts o = bz_defaults();
    int fd;

    o.version = 0x0205;
    fd = bz_file(&o);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: bzImage boot protocol 2.05 is older than 2.06");
    close(fd);
}

Test(bzimage, no_64bit_entry)
{
    struct bz_opts o = bz_defaults();
    int fd;

    o.xloadflags = 0;
    fd = bz_file(&o);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: bzImage has no 64-bit entry point");
    close(fd);
}

Test(bzimage, xloadflags_ignored_before_2_12)
{
    struct bz_opts o = bz_defaults();
    int fd;

    o.version = 0x020b;
    fd = bz_file(&o);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: bzImage has no 64-bit entry point");
    close(fd);
}

Test(bzimage, not_loaded_high)
{
    struct bz_opts o = bz_defaults();
    int fd;

    o.loadflags = 0;
    fd = bz_file(&o);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: zImage (not loaded high) is not supported");
    close(fd);
}

Test(bzimage, truncated_setup_header)
{
    struct bz_opts o = bz_defaults();
    size_t len;
    uint8_t *img = bz_build(&o, &len);
    int fd = memfile(img, 0x210);

    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: bzImage truncated inside its setup header (528 of 620 bytes)");
    free(img);
    close(fd);
}

Test(bzimage, truncated_before_protected_mode_code)
{
    struct bz_opts o = bz_defaults();
    size_t len;
    uint8_t *img = bz_build(&o, &len);
    int fd = memfile(img, 5 * 512);

    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: bzImage truncated: protected-mode code at 2560, file has 2560 bytes");
    free(img);
    close(fd);
}

Test(bzimage, cmdline_too_long)
{
    struct bz_opts o = bz_defaults();
    int fd;

    o.cmdline_size = 16;
    fd = bz_file(&o);
    expect_fail(&mem, fd, -1, "0123456789abcdefg", -E2BIG,
                "cmdline: 17 bytes, kernel accepts at most 16");
    close(fd);
}

Test(bzimage, cmdline_at_limit)
{
    struct bz_opts o = bz_defaults();
    struct boot_entry e;
    char err[256];
    int fd;

    o.cmdline_size = 16;
    fd = bz_file(&o);
    cr_expect_eq(run_load(&mem, fd, -1, "0123456789abcdef", &e, err, sizeof(err)), 0, "%s", err);
    close(fd);
}

Test(bzimage, kernel_larger_than_memory)
{
    struct bz_opts o = bz_defaults();
    int fd;

    o.init_size = 128 * MiB;
    o.pref_address = 0x100000;
    fd = bz_file(&o);
    expect_fail(&mem, fd, -1, NULL, -EFBIG,
                "kernel: needs 0x8000000 bytes at 0x100000, guest has 0x4000000 bytes below 3 GiB");
    close(fd);
}

Test(bzimage, no_rsdp_field_before_2_14)
{
    struct bz_opts o = bz_defaults();
    struct boot_entry e;
    char err[256];
    int fd;

    o.version = 0x020c;
    fd = bz_file(&o);
    cr_assert_eq(run_load(&mem, fd, -1, NULL, &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(g64(&mem.gm, ZP(0x070)), 0);
    close(fd);
}

Test(bzimage, not_a_kernel)
{
    uint8_t junk[4096];
    int fd, empty = memfile(NULL, 0);

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 11);
    fd = memfile(junk, sizeof(junk));
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: not a bzImage or a PVH ELF");
    expect_fail(&mem, empty, -1, NULL, -ENOEXEC, "kernel: not a bzImage or a PVH ELF");
    close(fd);
    close(empty);
}

Test(bzimage, kernel_not_a_regular_file)
{
    int p[2];

    cr_assert_eq(pipe(p), 0);
    expect_fail(&mem, p[0], -1, NULL, -EINVAL, "kernel: not a regular file");
    close(p[0]);
    close(p[1]);
}

static void setup1(void)
{
    tmem_init(&mem, MiB, true);
}

Test(boot_memory, too_small, .init = setup1, .fini = teardown)
{
    struct bz_opts o = bz_defaults();
    int fd = bz_file(&o);

    expect_fail(&mem, fd, -1, NULL, -EINVAL,
                "memory: 1048576 bytes are too few to boot (need over 1 MiB)");
    close(fd);
}
