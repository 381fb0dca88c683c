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

/* ACPI memory hotplug: regions at a given address above the last one, never in the hole. */
Test(guest_mem, hotplug_region_at_gpa)
{
    struct guest_mem gm;
    int slot;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x10000000), 512 * MiB, 3), 0);
    cr_expect_eq(guest_mem_end(&gm), 512 * MiB);
    slot = guest_mem_add_at(&gm, GPA_RAM_ABOVE_4G, fake(0x80000000), 128 * MiB, 7);
    cr_assert_eq(slot, 1, "the region index is its KVM slot");
    cr_expect_eq(gm.regions[1].gpa, GPA_RAM_ABOVE_4G);
    cr_expect_eq(gm.regions[1].zone, GUEST_MEM_HOTPLUG_ZONE);
    cr_expect_eq(gm.regions[1].fd, 7);
    cr_expect_eq(gm.regions[1].fd_offset, 0);
    cr_expect_eq(gm.nhotplug, 1);
    cr_expect_eq(gm.size, 640 * MiB);
    cr_expect_eq(guest_mem_end(&gm), GPA_RAM_ABOVE_4G + 128 * MiB);
    cr_expect_eq(guest_mem_ptr(&gm, GPA_RAM_ABOVE_4G + 4096, 8), fake(0x80000000 + 4096));
    cr_expect_null(guest_mem_ptr(&gm, GPA_RAM_ABOVE_4G + 128 * MiB, 1));

    /* Order and overlap: only at or above the end of the last region. */
    cr_expect_eq(guest_mem_add_at(&gm, GPA_RAM_ABOVE_4G, fake(0x90000000), 128 * MiB, 8), -EINVAL,
                 "overlaps the last region");
    cr_expect_eq(guest_mem_add_at(&gm, 1 * GiB, fake(0x90000000), 128 * MiB, 8), -EINVAL,
                 "below the last region");
    /* Alignment and size. */
    cr_expect_eq(guest_mem_add_at(&gm, 5 * GiB + 1, fake(0x90000000), 128 * MiB, 8), -EINVAL);
    cr_expect_eq(guest_mem_add_at(&gm, 5 * GiB, fake(0x90000000), 128 * MiB + 1, 8), -EINVAL);
    cr_expect_eq(guest_mem_add_at(&gm, 5 * GiB, fake(0x90000000), 0, 8), -EINVAL);
    cr_expect_eq(guest_mem_add_at(&gm, 5 * GiB, NULL, 128 * MiB, 8), -EINVAL);
    /* Past 2^52. */
    cr_expect_eq(guest_mem_add_at(&gm, (1ull << 52) - 64 * MiB, fake(0x90000000), 128 * MiB, 8),
                 -ENOSPC);
    cr_expect_eq(gm.nregions, 2, "nothing added by the refusals");
    /* A gap is fine (the next piece is placed by the caller); zones may not follow. */
    cr_expect_eq(guest_mem_add_at(&gm, 5 * GiB, fake(0x90000000), 256 * MiB, 8), 2);
    cr_expect_eq(guest_mem_add_zone(&gm, fake(0xa0000000), 128 * MiB, 9), -EINVAL);
    guest_mem_drop_last(&gm);
    cr_expect_eq(gm.nregions, 2);
    cr_expect_eq(gm.nhotplug, 1);
    cr_expect_eq(gm.size, 640 * MiB);
    cr_expect_eq(guest_mem_end(&gm), GPA_RAM_ABOVE_4G + 128 * MiB);
}

Test(guest_mem, hotplug_region_not_in_the_hole)
{
    struct guest_mem gm;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x10000000), 1 * GiB, 3), 0);
    cr_expect_eq(guest_mem_add_at(&gm, 3 * GiB - 64 * MiB, fake(0x90000000), 128 * MiB, 8), -EINVAL,
                 "crosses into the hole");
    cr_expect_eq(guest_mem_add_at(&gm, 3 * GiB, fake(0x90000000), 128 * MiB, 8), -EINVAL,
                 "inside the hole");
    cr_expect_eq(guest_mem_add_at(&gm, GPA_RAM_ABOVE_4G - 4096, fake(0x90000000), 8192, 8), -EINVAL,
                 "ends above 4 GiB but starts in the hole");
    /* Below the hole is allowed when it fits there. */
    cr_expect_eq(guest_mem_add_at(&gm, 2 * GiB, fake(0x90000000), 1 * GiB, 8), 1);
    cr_expect_eq(guest_mem_low_size(&gm), 2 * GiB);
}

Test(guest_mem, hotplug_regions_limited)
{
    struct guest_mem gm;
    uint64_t gpa = GPA_RAM_ABOVE_4G;

    guest_mem_init(&gm);
    for (int i = 0; i < GUEST_MEM_MAX_ZONES; i++)
        cr_assert_geq(guest_mem_add_zone(&gm, fake(0x10000000), 1 * GiB, 3), 0);
    gpa = guest_mem_end(&gm);
    for (int i = 0; i < GUEST_MEM_MAX_HOTPLUG; i++, gpa += 128 * MiB) {
        int want = (int)gm.nregions;

        cr_assert_eq(guest_mem_add_at(&gm, gpa, fake(0x90000000), 128 * MiB, 8), want);
    }
    cr_expect_leq(gm.nregions, GUEST_MEM_MAX_REGIONS);
    cr_expect_eq(guest_mem_add_at(&gm, gpa, fake(0x90000000), 128 * MiB, 8), -ENOSPC,
                 "every hotplug region is used");
    cr_expect_eq(guest_mem_region_of(&gm, gpa - 1)->zone, GUEST_MEM_HOTPLUG_ZONE,
                 "the last one is found");
}

/* vm.add-pmem (issue 20): a detachable pmem region goes above the PCI windows, out of order;
 * RAM hot-added later still goes right after RAM, the region may leave again from the middle. */
Test(guest_mem, detachable_pmem_region)
{
    const uint64_t far = 80 * GiB;
    struct guest_mem gm;
    int r;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x10000000), 512 * MiB, 3), 0);
    r = guest_mem_add_detachable(&gm, far, fake(0x40000000), 4 * MiB, 9, false);
    cr_assert_eq(r, 1);
    cr_expect(gm.regions[1].pmem && gm.regions[1].detachable && !gm.regions[1].core_only);
    cr_expect_eq(gm.size, 512 * MiB, "pmem is not RAM");
    cr_expect_eq(guest_mem_end(&gm), 512 * MiB, "the end of RAM ignores the detachable region");
    cr_expect_eq(guest_mem_ptr(&gm, far + 4096, 8), fake(0x40000000 + 4096));
    /* Refusals: overlap, below 4 GiB, unaligned, empty, past 2^52. */
    cr_expect_eq(guest_mem_add_detachable(&gm, far + 2 * MiB, fake(0x1000), 4 * MiB, 9, false),
                 -EINVAL);
    cr_expect_eq(guest_mem_add_detachable(&gm, 1 * GiB, fake(0x1000), 4 * MiB, 9, false), -EINVAL);
    cr_expect_eq(guest_mem_add_detachable(&gm, far + 8 * MiB + 1, fake(0x1000), 4 * MiB, 9, false),
                 -EINVAL);
    cr_expect_eq(guest_mem_add_detachable(&gm, far + 8 * MiB, fake(0x1000), 0, 9, false), -EINVAL);
    cr_expect_eq(
        guest_mem_add_detachable(&gm, (1ull << 52) - 2 * MiB, fake(0x1000), 4 * MiB, 9, false),
        -ENOSPC);
    /* Hot-added RAM after it: placed by the end of RAM, not overlapping the pmem region. */
    cr_expect_eq(guest_mem_add_at(&gm, GPA_RAM_ABOVE_4G, fake(0x80000000), 128 * MiB, 7), 2);
    cr_expect_eq(guest_mem_end(&gm), GPA_RAM_ABOVE_4G + 128 * MiB);
    cr_expect_eq(guest_mem_add_at(&gm, far, fake(0x90000000), 128 * MiB, 7), -EINVAL,
                 "hot-added RAM over the pmem region");
    cr_expect_eq(guest_mem_add_detachable(&gm, far + 4 * MiB, fake(0x50000000), 2 * MiB, 10, true),
                 3);
    /* Leaving from the middle: the later regions move down one index (their KVM slot). */
    cr_expect_eq(guest_mem_remove(&gm, 0), -EINVAL, "RAM never leaves");
    cr_expect_eq(guest_mem_remove(&gm, 1), 0);
    cr_expect_eq(gm.nregions, 3);
    cr_expect_eq(gm.regions[1].gpa, GPA_RAM_ABOVE_4G);
    cr_expect_eq(gm.regions[2].gpa, far + 4 * MiB);
    cr_expect(gm.regions[2].core_only);
    cr_expect_null(guest_mem_ptr(&gm, far, 1));
    cr_expect_eq(gm.size, 640 * MiB);
    cr_expect_eq(gm.nhotplug, 1);
    cr_expect_eq(guest_mem_remove(&gm, 3), -EINVAL, "past the table");
}

Test(guest_mem, detachable_pmem_limited)
{
    struct guest_mem gm;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, fake(0x10000000), 512 * MiB, 3), 0);
    for (int i = 0; i < GUEST_MEM_MAX_PMEM; i++)
        cr_assert_eq(guest_mem_add_detachable(&gm, 80 * GiB + (uint64_t)i * 2 * MiB,
                                              fake(0x40000000), 2 * MiB, 9, false),
                     i + 1);
    cr_expect_eq(guest_mem_add_detachable(&gm, 90 * GiB, fake(0x40000000), 2 * MiB, 9, false),
                 -ENOSPC, "one more than GUEST_MEM_MAX_PMEM");
}
