/* guest_mem: zones laid out in order from 0 across the 3-4 GiB hole, and guest_mem_ptr's
 * one-region contract. Host pointers are fake (never dereferenced). */
#include <criterion/criterion.h>
#include <errno.h>

#include "core/mem/guest_mem.h"
#include "core/platform.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static uint8_t *fake(uintptr_t v)
{
    return (uint8_t *)v;
}

Test(guest_mem, zones_cross_the_hole_in_order)
{
    struct guest_mem gm;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x10000000), 2 * GiB, 3), 0);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x200000000), 2 * GiB, 4), 1);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x400000000), 512 * MiB, 5), 2);
    cr_assert_eq(gm.nregions, 4);
    cr_expect_eq(gm.regions[1].gpa, 2 * GiB);
    cr_expect_eq(gm.regions[1].size, 1 * GiB, "zone 1 stops at 3 GiB");
    cr_expect_eq(gm.regions[2].gpa, GPA_RAM_ABOVE_4G);
    cr_expect_eq(gm.regions[2].size, 1 * GiB);
    cr_expect_eq(gm.regions[2].zone, 1);
    cr_expect_eq(gm.regions[2].fd_offset, 1 * GiB);
    cr_expect_eq(gm.regions[2].host, fake(0x200000000 + GiB));
    cr_expect_eq(gm.regions[3].gpa, GPA_RAM_ABOVE_4G + GiB);
    cr_expect_eq(gm.regions[3].fd, 5);
    cr_expect_eq(guest_mem_low_size(&gm), 3 * GiB);
    cr_expect_eq(guest_mem_high_size(&gm), GiB + 512 * MiB);
    cr_expect_eq(gm.size, 4 * GiB + 512 * MiB);

    cr_expect_eq(guest_mem_ptr(&gm, 2 * GiB - 16, 16), fake(0x10000000 + 2 * GiB - 16));
    cr_expect_null(guest_mem_ptr(&gm, 2 * GiB - 16, 17), "spans two zones");
    cr_expect_null(guest_mem_ptr(&gm, 3 * GiB - 1, 2), "runs into the hole");
    cr_expect_null(guest_mem_ptr(&gm, 3 * GiB, 0), "the hole");
    cr_expect_eq(guest_mem_ptr(&gm, GPA_RAM_ABOVE_4G, 0), fake(0x200000000 + GiB));
    cr_expect_null(guest_mem_ptr(&gm, GPA_RAM_ABOVE_4G + GiB + 512 * MiB, 0), "past the end");
    cr_expect_null(guest_mem_ptr(&gm, GPA_RAM_ABOVE_4G, UINT64_MAX), "overflow-safe");
    cr_expect_null(guest_mem_ptr(&gm, UINT64_MAX, 2));
}

Test(guest_mem, zone_ending_at_the_hole_continues_at_4g)
{
    struct guest_mem gm;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x1000), 3 * GiB, -1), 0);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x10000000000), GiB, -1), 1);
    cr_assert_eq(gm.nregions, 2);
    cr_expect_eq(gm.regions[1].gpa, GPA_RAM_ABOVE_4G);
}

Test(guest_mem, refuses)
{
    struct guest_mem gm;

    guest_mem_init(&gm);
    cr_expect_eq(guest_mem_add_zone(&gm, fake(0x1000), 0, -1), -EINVAL);
    cr_expect_eq(guest_mem_add_zone(&gm, fake(0x1000), 4097, -1), -EINVAL);
    cr_expect_eq(guest_mem_add_zone(&gm, NULL, 4096, -1), -EINVAL);
    cr_expect_eq(guest_mem_add_zone(&gm, fake(0x1000), 1ull << 53, -1), -ENOSPC, "past 2^52");
    for (int i = 0; i < GUEST_MEM_MAX_ZONES; i++)
        cr_assert_eq(guest_mem_add_zone(&gm, fake(0x1000), 4096, -1), i);
    cr_expect_eq(guest_mem_add_zone(&gm, fake(0x1000), 4096, -1), -ENOSPC);
}
