/* The source's merge of the device log (vm_migrate_log.c): every marked page lands in its
 * region's pending bitmap, the log is cleared as it is read, pages KVM's log already had are
 * told apart, and marks in no region (holes) are dropped. Guest RAM is plain buffers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem/guest_mem.h"
#include "core/vm/vm_migrate_log.h"
#include "ipc/dirty_log.h"

#define PG 4096u

Test(mig_devlog, log_pages_go_to_their_regions)
{
    static uint8_t ram0[256 * PG], ram1[64 * PG];
    uint64_t words[8] = { 0 }; /* 512 pages of log */
    uint64_t pend0[4] = { 0 }, pend1[1] = { 0 }, kvm0[4] = { 0 }, kvm1[1] = { 0 };
    uint64_t *pend[2] = { pend0, pend1 }, *kvm[2] = { kvm0, kvm1 };
    struct mig_devlog l = { .fd = -1, .base = (uint8_t *)words, .size = sizeof(words) };
    struct guest_mem gm;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, ram0, sizeof(ram0), -1), 0);
    cr_assert_eq(guest_mem_add_zone(&gm, ram1, sizeof(ram1), -1), 1);
    cr_assert_eq(gm.regions[1].gpa, 256 * PG, "zones follow each other");
    dirty_log_mark(l.base, l.size, 3 * PG, 1);          /* region 0, page 3 */
    dirty_log_mark(l.base, l.size, 255 * PG, 2 * PG);   /* 255 in region 0, 0 in region 1 */
    dirty_log_mark(l.base, l.size, (256 + 63) * PG, 1); /* region 1, last page */
    dirty_log_mark(l.base, l.size, 400 * PG, 1);        /* no region: dropped */
    kvm0[0] = 1ull << 3;                                /* KVM saw page 3 too */
    cr_assert_eq(mig_devlog_take(&l, &gm, 2, pend, kvm), 4);
    cr_assert_eq(pend0[0], 1ull << 3);
    cr_assert_eq(pend0[3], 1ull << 63);
    cr_assert_eq(pend1[0], 1ull | (1ull << 63));
    cr_assert_eq(l.pages, 4);
    cr_assert_eq(l.pages_log_only, 3, "page 3 was in KVM's log");
    for (unsigned w = 0; w < 8; w++)
        cr_assert_eq(words[w], 0, "the log is cleared as it is read");
    cr_assert_eq(mig_devlog_take(&l, &gm, 2, pend, kvm), 0, "nothing new");
}

Test(mig_devlog, digest_tells_ram_apart)
{
    static uint8_t ram[16 * PG];
    struct guest_mem gm;
    uint64_t a, b;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, ram, sizeof(ram), -1), 0);
    a = vm_ram_digest(&gm);
    cr_assert_eq(vm_ram_digest(&gm), a);
    ram[5 * PG + 17] = 1;
    b = vm_ram_digest(&gm);
    cr_assert_neq(a, b, "one byte changes the digest");
    ram[5 * PG + 17] = 0;
    cr_assert_eq(vm_ram_digest(&gm), a);
}
