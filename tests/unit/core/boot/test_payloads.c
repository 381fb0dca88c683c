#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "boot_test.h"
#include "core/platform.h"

/*
 * The project's payload guests load as PVH kernels: entry at 1 MiB (pvh_start is the first
 * thing in .text), start info written. CELLVM_PAYLOAD_DIR is set by tests/payloads/meson.build,
 * which registers this suite once the payloads are built; without it the tests skip.
 */

static struct test_mem mem;

static void setup64(void)
{
    tmem_init(&mem, 64 * MiB, false);
}

static void teardown(void)
{
    tmem_fini(&mem);
}

static void load_payload(const char *name)
{
    const char *dir = getenv("CELLVM_PAYLOAD_DIR");
    char path[4096], err[256];
    struct boot_entry e;
    int fd;

    if (!dir || !*dir)
        cr_skip_test("CELLVM_PAYLOAD_DIR not set");
    snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s", path);
    cr_assert_eq(run_load(&mem, fd, -1, "console=ttyS0", &e, err, sizeof(err)), 0, "%s: %s", name,
                 err);
    cr_expect_eq(e.mode, BOOT_PVH);
    cr_expect_eq(e.rip, GPA_HIGH_RAM_START);
    cr_expect_eq(e.rbx, GPA_PVH_START_INFO);
    cr_expect_eq(g32(&mem.gm, GPA_PVH_START_INFO), 0x336ec578);
    /* pvh_start begins with cli; cld. */
    cr_expect_eq(g16(&mem.gm, e.rip), 0xfcfa);
    close(fd);
}

TestSuite(payloads, .init = setup64, .fini = teardown);

Test(payloads, hello)
{
    load_payload("hello");
}

Test(payloads, pio_mmio)
{
    load_payload("pio-mmio");
}

Test(payloads, reset)
{
    load_payload("reset");
}

Test(payloads, idle)
{
    load_payload("idle");
}
