#include <criterion/criterion.h>
#include <errno.h>

#include "core/platform.h"
#include "core/vm/bus.h"
#include "core/vm/mem_hotplug.h"

#define MSEL   0x00 /* write */
#define MHBL   0x00 /* read */
#define MHBH   0x04
#define MHLL   0x08
#define MHLH   0x0c
#define MHPX   0x10
#define STATUS 0x14
#define MEN    0x1
#define MINS   0x2
#define MRMV   0x4
#define MEJ0   0x8

static uint64_t rd(struct mem_hotplug *h, uint64_t off, uint32_t len)
{
    uint64_t v = bus_ones(len);

    mem_hotplug_bus_ops.read(h, off, len, &v);
    return v;
}

static void wr(struct mem_hotplug *h, uint64_t off, uint32_t len, uint64_t val)
{
    mem_hotplug_bus_ops.write(h, off, len, val);
}

struct eject_rec {
    struct mem_hotplug *h;
    int calls;
    bool lock_free;
};

static void on_eject(void *opaque)
{
    struct eject_rec *r = opaque;

    r->calls++;
    r->lock_free = pthread_mutex_trylock(&r->h->lock) == 0;
    if (r->lock_free)
        pthread_mutex_unlock(&r->h->lock);
}

Test(mem_hotplug, init_bounds)
{
    struct mem_hotplug h;

    cr_expect_eq(mem_hotplug_init(&h, 0, NULL, NULL), -EINVAL);
    cr_expect_eq(mem_hotplug_init(&h, MEM_HOTPLUG_MAX_SLOTS + 1, NULL, NULL), -EINVAL);
    cr_assert_eq(mem_hotplug_init(&h, MEM_HOTPLUG_MAX_SLOTS, NULL, NULL), 0);
    for (uint64_t off = 0; off < 0x18; off += 4)
        cr_expect_eq(rd(&h, off, 4), 0, "empty slot 0, offset %#llx", (unsigned long long)off);
    mem_hotplug_destroy(&h);
}

Test(mem_hotplug, insert_reads_back)
{
    struct mem_hotplug h;

    cr_assert_eq(mem_hotplug_init(&h, 4, NULL, NULL), 0);
    cr_expect_eq(mem_hotplug_insert(&h, 4, 0x100000000ull, 0x8000000), -EINVAL, "slot");
    cr_expect_eq(mem_hotplug_insert(&h, 0, 0x100000000ull, 0), -EINVAL, "size 0");
    cr_expect_eq(mem_hotplug_insert(&h, 0, UINT64_MAX, 2), -EINVAL, "past 2^64");
    cr_assert_eq(mem_hotplug_insert(&h, 2, 0x1c0000000ull, 0x240000000ull), 0);
    cr_expect_eq(mem_hotplug_insert(&h, 2, 0x500000000ull, 0x1000), -EEXIST);
    cr_assert_eq(mem_hotplug_insert(&h, 3, 0ull - 0x1000, 0x1000), 0, "up to the very top");
    wr(&h, MSEL, 4, 2);
    cr_expect_eq(rd(&h, MHBL, 4), 0xc0000000);
    cr_expect_eq(rd(&h, MHBH, 4), 0x1);
    cr_expect_eq(rd(&h, MHLL, 4), 0x40000000);
    cr_expect_eq(rd(&h, MHLH, 4), 0x2);
    cr_expect_eq(rd(&h, MHPX, 4), 0);
    cr_expect_eq(rd(&h, STATUS, 1), MEN | MINS);
    cr_expect_eq(rd(&h, STATUS, 4), MEN | MINS);
    wr(&h, STATUS, 1, MEN);
    cr_expect_eq(rd(&h, STATUS, 1), MEN | MINS, "only a written MINS clears MINS");
    wr(&h, STATUS, 1, MINS);
    cr_expect_eq(rd(&h, STATUS, 1), MEN);
    wr(&h, MSEL, 4, 1);
    cr_expect_eq(rd(&h, STATUS, 1), 0, "slot 1 is empty");
    cr_expect_eq(rd(&h, MHLL, 4), 0);
    wr(&h, MSEL, 4, 3);
    cr_expect_eq(rd(&h, MHBH, 4), 0xffffffff);
    cr_expect_eq(rd(&h, MHBL, 4), 0xfffff000);
    mem_hotplug_destroy(&h);
}

Test(mem_hotplug, selection_out_of_range_and_bogus_accesses)
{
    struct mem_hotplug h;
    struct eject_rec r = { .h = &h };
    uint64_t mask = 0;

    cr_assert_eq(mem_hotplug_init(&h, 2, on_eject, &r), 0);
    cr_assert_eq(mem_hotplug_insert(&h, 1, 0x200000000ull, 0x10000000), 0);
    wr(&h, MSEL, 4, 2);
    cr_expect_eq(rd(&h, MHBH, 4), 0, "nothing selected");
    cr_expect_eq(rd(&h, STATUS, 1), 0);
    wr(&h, STATUS, 1, MEJ0);
    cr_expect_eq(r.calls, 0);
    wr(&h, MSEL, 4, 1);
    cr_expect_eq(rd(&h, MHBH, 2), 0, "word read");
    cr_expect_eq(rd(&h, MHBH, 8), 0, "qword read");
    cr_expect_eq(rd(&h, 2, 4), 0, "misaligned");
    cr_expect_eq(rd(&h, 0x18, 4), 0, "past the registers");
    cr_expect_eq(rd(&h, 0x15, 1), 0);
    wr(&h, MSEL, 2, 0);
    wr(&h, MSEL, 8, 0);
    wr(&h, 0x04, 4, 0); /* MOEV */
    wr(&h, 0x08, 4, 0); /* MOSC */
    wr(&h, STATUS, 8, MINS | MEJ0);
    wr(&h, 0x15, 1, MINS | MEJ0);
    cr_expect_eq(r.calls, 0, "no eject from a bogus write");
    cr_expect_not(mem_hotplug_take_ejects(&h, &mask));
    cr_expect_eq(rd(&h, MHBH, 4), 2, "slot 1 still selected");
    cr_expect_eq(rd(&h, STATUS, 1), MEN | MINS);
    mem_hotplug_destroy(&h);
}

/* Cloud Hypervisor does not remove ACPI memory: an eject is latched for the core to refuse,
 * and the slot stays. */
Test(mem_hotplug, eject_latches_only)
{
    struct mem_hotplug h;
    struct eject_rec r = { .h = &h };
    uint64_t mask;

    cr_assert_eq(mem_hotplug_init(&h, 64, on_eject, &r), 0);
    cr_assert_eq(mem_hotplug_insert(&h, 63, 0x400000000ull, 0x8000000), 0);
    wr(&h, MSEL, 4, 63);
    wr(&h, STATUS, 1, MEJ0);
    cr_expect_eq(r.calls, 1);
    cr_expect(r.lock_free, "eject() must run outside the lock");
    cr_expect_eq(rd(&h, STATUS, 1), MEN | MINS, "the slot stays");
    cr_assert(mem_hotplug_take_ejects(&h, &mask));
    cr_expect_eq(mask, 1ull << 63);
    cr_expect_not(mem_hotplug_take_ejects(&h, &mask), "taken once");
    cr_expect_eq(mask, 0);
    mem_hotplug_destroy(&h);
}

Test(mem_hotplug, reset_keeps_slots)
{
    struct mem_hotplug h;
    uint64_t mask;

    cr_assert_eq(mem_hotplug_init(&h, 2, NULL, NULL), 0);
    cr_assert_eq(mem_hotplug_insert(&h, 1, 0x300000000ull, 0x10000000), 0);
    wr(&h, MSEL, 4, 1);
    wr(&h, STATUS, 1, MEJ0);
    mem_hotplug_reset(&h);
    cr_expect_eq(rd(&h, MHBH, 4), 0, "MSEL back to the empty slot 0");
    wr(&h, MSEL, 4, 1);
    cr_expect_eq(rd(&h, STATUS, 1), MEN, "inserting cleared, still filled");
    cr_expect_eq(rd(&h, MHBH, 4), 3);
    cr_expect_eq(rd(&h, MHLL, 4), 0x10000000);
    cr_assert(mem_hotplug_take_ejects(&h, &mask));
    cr_expect_eq(mask, 1ull << 1);
    mem_hotplug_destroy(&h);
}

Test(mem_hotplug, through_the_bus)
{
    struct mem_hotplug h;
    struct bus b;
    uint64_t v = 0;

    cr_assert_eq(mem_hotplug_init(&h, 1, NULL, NULL), 0);
    bus_init(&b);
    cr_assert_eq(bus_add(&b, GPA_MEM_HOTPLUG_START, GPA_MEM_HOTPLUG_SIZE, &mem_hotplug_bus_ops, &h,
                         "mem-hotplug"),
                 0);
    cr_assert_eq(mem_hotplug_insert(&h, 0, 0x140000000ull, 0x40000000), 0);
    cr_assert_eq(bus_read(&b, GPA_MEM_HOTPLUG_START + MHBH, 4, &v), 1);
    cr_expect_eq(v, 1);
    cr_assert_eq(bus_read(&b, GPA_MEM_HOTPLUG_START + STATUS, 1, &v), 1);
    cr_expect_eq(v, MEN | MINS);
    mem_hotplug_destroy(&h);
}
