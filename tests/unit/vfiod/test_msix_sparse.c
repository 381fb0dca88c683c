/*
 * vfiod_msix.c: finding the MSI-X capability in a config-space copy, and the mappable areas of
 * a BAR once the pages holding the MSI-X table and PBA are cut out (and the kernel's own sparse
 * areas honoured).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vfiod/vfiod_msix.h"

#define PAGE 4096u

/* A config space with the capability list: PM at 0x40, then MSI-X at 0x50. */
static void config_with_msix(uint8_t *cfg, uint16_t entries, uint32_t table, uint32_t pba)
{
    uint16_t ctrl = (uint16_t)(entries - 1u);

    memset(cfg, 0, 256);
    cfg[0x06] = 0x10; /* status: capability list */
    cfg[0x34] = 0x40;
    cfg[0x40] = 0x01; /* PM */
    cfg[0x41] = 0x50;
    cfg[0x50] = 0x11; /* MSI-X */
    cfg[0x51] = 0x00;
    memcpy(cfg + 0x52, &ctrl, 2);
    memcpy(cfg + 0x54, &table, 4);
    memcpy(cfg + 0x58, &pba, 4);
}

static void expect_areas(const struct vfu_sparse_area *got, int n,
                         const struct vfu_sparse_area *want, int nwant)
{
    cr_assert_eq(n, nwant, "got %d areas, want %d", n, nwant);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(got[i].offset, want[i].offset, "area %d offset 0x%llx, want 0x%llx", i,
                     (unsigned long long)got[i].offset, (unsigned long long)want[i].offset);
        cr_expect_eq(got[i].size, want[i].size, "area %d size 0x%llx, want 0x%llx", i,
                     (unsigned long long)got[i].size, (unsigned long long)want[i].size);
    }
}

Test(msix_find, reads_the_capability)
{
    uint8_t cfg[256];
    struct vfiod_msix m;

    config_with_msix(cfg, 65, 0x2000 | 0, 0x3000 | 2);
    cr_assert_eq(vfiod_msix_find(cfg, sizeof(cfg), &m), 0);
    cr_expect_eq(m.table_size, 65);
    cr_expect_eq(m.table_bar, 0);
    cr_expect_eq(m.table_off, 0x2000);
    cr_expect_eq(m.pba_bar, 2);
    cr_expect_eq(m.pba_off, 0x3000);
}

Test(msix_find, absent_or_malformed)
{
    uint8_t cfg[256];
    struct vfiod_msix m;

    config_with_msix(cfg, 1, 0, 0);
    cfg[0x06] = 0;
    cr_expect_eq(vfiod_msix_find(cfg, sizeof(cfg), &m), -ENOENT, "no capability list");
    config_with_msix(cfg, 1, 0, 0);
    cfg[0x41] = 0x40; /* PM points at itself: the walk must end */
    cr_expect_eq(vfiod_msix_find(cfg, sizeof(cfg), &m), -ENOENT);
    config_with_msix(cfg, 1, 0, 0);
    cfg[0x41] = 0xfc; /* MSI-X id at 0xfc: 12 bytes do not fit */
    cfg[0xfc] = 0x11;
    cr_expect_eq(vfiod_msix_find(cfg, sizeof(cfg), &m), -EINVAL);
    config_with_msix(cfg, 1, 0, 0);
    cfg[0x41] = 0x20; /* into the standard header: the list ends */
    cr_expect_eq(vfiod_msix_find(cfg, sizeof(cfg), &m), -ENOENT);
    cr_expect_eq(vfiod_msix_find(cfg, 32, &m), -EINVAL, "too short");
    config_with_msix(cfg, 1, 0, 0);
    cr_expect_eq(vfiod_msix_find(cfg, 0x52, &m), -EINVAL, "cut inside the capability");
}

Test(msix_find, table_size_is_eleven_bits)
{
    uint8_t cfg[256];
    struct vfiod_msix m;

    config_with_msix(cfg, 2048, 0, 0);
    cfg[0x53] |= 0xc0; /* enable and function-mask bits are not part of the size */
    cr_assert_eq(vfiod_msix_find(cfg, sizeof(cfg), &m), 0);
    cr_expect_eq(m.table_size, 2048);
}

/* QEMU's nvme: BAR0 16 KiB, table at 0x2000, PBA at 0x3000. */
Test(msix_sparse, nvme_like_bar0)
{
    struct vfiod_msix m = { .table_size = 65, .table_off = 0x2000, .pba_off = 0x3000 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x2000 } };
    int n = vfiod_msix_sparse(&m, 0, 0x4000, PAGE, NULL, 0, out, VFU_MAX_SPARSE);

    expect_areas(out, n, want, 1);
}

Test(msix_sparse, other_bar_is_whole)
{
    struct vfiod_msix m = { .table_size = 8, .table_bar = 4, .pba_bar = 4 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x100000 } };

    expect_areas(out, vfiod_msix_sparse(&m, 0, 0x100000, PAGE, NULL, 0, out, VFU_MAX_SPARSE), want,
                 1);
    expect_areas(out, vfiod_msix_sparse(NULL, 0, 0x100000, PAGE, NULL, 0, out, VFU_MAX_SPARSE),
                 want, 1);
}

Test(msix_sparse, table_and_pba_share_a_page)
{
    struct vfiod_msix m = { .table_size = 16, .table_off = 0x8000, .pba_off = 0x8800 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x8000 }, { 0x9000, 0x7000 } };

    expect_areas(out, vfiod_msix_sparse(&m, 0, 0x10000, PAGE, NULL, 0, out, VFU_MAX_SPARSE), want,
                 2);
}

Test(msix_sparse, unaligned_and_multi_page_table)
{
    /* 2048 entries: 32 KiB from 0x1100 covers pages 0x1000..0x9fff; PBA (256 bytes) at
       0xc010 takes page 0xc000. */
    struct vfiod_msix m = { .table_size = 2048, .table_off = 0x1100, .pba_off = 0xc010 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x1000 }, { 0xa000, 0x2000 }, { 0xd000, 0x3000 } };

    expect_areas(out, vfiod_msix_sparse(&m, 0, 0x10000, PAGE, NULL, 0, out, VFU_MAX_SPARSE), want,
                 3);
}

Test(msix_sparse, pba_before_table)
{
    struct vfiod_msix m = { .table_size = 4, .table_off = 0x6000, .pba_off = 0x1000 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x1000 }, { 0x2000, 0x4000 }, { 0x7000, 0x1000 } };

    expect_areas(out, vfiod_msix_sparse(&m, 0, 0x8000, PAGE, NULL, 0, out, VFU_MAX_SPARSE), want,
                 3);
}

Test(msix_sparse, nested_holes)
{
    /* The PBA's page lies inside the table's pages: one hole. */
    struct vfiod_msix m = { .table_size = 1024, .table_off = 0x2000, .pba_off = 0x3000 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x2000 }, { 0x6000, 0x2000 } };

    expect_areas(out, vfiod_msix_sparse(&m, 0, 0x8000, PAGE, NULL, 0, out, VFU_MAX_SPARSE), want,
                 2);
}

Test(msix_sparse, intersects_the_kernel_areas)
{
    struct vfiod_msix m = { .table_size = 32, .table_off = 0x2000, .pba_off = 0x2800 };
    /* Unsorted, one not page-aligned, one past the BAR's end, one wrapping around. */
    const struct vfu_sparse_area in[] = {
        { 0x4000, 0x2000 },  { 0, 0x3000 },          { 0x6800, 0x1000 },
        { 0x20000, 0x1000 }, { 0xe000, UINT64_MAX },
    };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x2000 }, { 0x4000, 0x2000 }, { 0xe000, 0x2000 } };

    expect_areas(out, vfiod_msix_sparse(&m, 0, 0x10000, PAGE, in, 5, out, VFU_MAX_SPARSE), want, 3);
}

Test(msix_sparse, touching_kernel_areas_merge)
{
    const struct vfu_sparse_area in[] = { { 0x1000, 0x1000 }, { 0, 0x1000 } };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x2000 } };

    expect_areas(out, vfiod_msix_sparse(NULL, 0, 0x2000, PAGE, in, 2, out, VFU_MAX_SPARSE), want,
                 1);
}

Test(msix_sparse, small_or_covered_bars_map_nothing)
{
    struct vfiod_msix m = { .table_size = 1, .table_off = 0, .pba_off = 0x800 };
    struct vfu_sparse_area out[VFU_MAX_SPARSE];
    const struct vfu_sparse_area want[] = { { 0, 0x1000 } };

    cr_expect_eq(vfiod_msix_sparse(NULL, 0, 0x800, PAGE, NULL, 0, out, VFU_MAX_SPARSE), 0,
                 "a BAR below a page");
    cr_expect_eq(vfiod_msix_sparse(&m, 0, 0x1000, PAGE, NULL, 0, out, VFU_MAX_SPARSE), 0,
                 "the table's page is the whole BAR");
    /* A BAR of a page and a half: only the whole page. */
    expect_areas(out, vfiod_msix_sparse(NULL, 0, 0x1800, PAGE, NULL, 0, out, VFU_MAX_SPARSE), want,
                 1);
}

Test(msix_sparse, limits)
{
    struct vfiod_msix m = { .table_size = 1, .table_off = 0x1000, .pba_off = 0x3000 };
    struct vfu_sparse_area out[2];

    cr_expect_eq(vfiod_msix_sparse(&m, 0, 0x8000, PAGE, NULL, 0, out, 2), -E2BIG);
    cr_expect_eq(vfiod_msix_sparse(&m, 0, 0x8000, 3000, NULL, 0, out, 2), -EINVAL);
    cr_expect_eq(vfiod_msix_sparse(&m, 0, 0x8000, 0, NULL, 0, out, 2), -EINVAL);
}
