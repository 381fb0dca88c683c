#include <criterion/criterion.h>
#include <errno.h>

#include "core/vm/bus.h"

struct rec {
    uint64_t last_off, last_val;
    uint32_t last_len;
    int reads, writes;
};

static void rec_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct rec *r = opaque;

    r->reads++;
    r->last_off = off;
    r->last_len = len;
    *val = 0x1122334455667788ull;
}

static void rec_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct rec *r = opaque;

    r->writes++;
    r->last_off = off;
    r->last_len = len;
    r->last_val = val;
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

Test(bus, sorted_insert_and_lookup)
{
    struct bus b;
    struct rec a = { 0 }, c = { 0 };

    bus_init(&b);
    cr_assert_eq(bus_add(&b, 0x3f8, 8, &rec_ops, &a, "com1"), 0);
    cr_assert_eq(bus_add(&b, 0x70, 2, &rec_ops, &c, "cmos"), 0);
    cr_assert_eq(b.n, 2);
    cr_assert_eq(b.ranges[0].base, 0x70);
    cr_assert_eq(b.ranges[1].base, 0x3f8);
    cr_assert_eq(bus_find(&b, 0x71)->opaque, &c);
    cr_assert_eq(bus_find(&b, 0x3ff)->opaque, &a);
    cr_assert_null(bus_find(&b, 0x72));
    cr_assert_null(bus_find(&b, 0x400));
    cr_assert_null(bus_find(&b, 0));
}

Test(bus, rejects_overlap_empty_and_wrap)
{
    struct bus b;
    struct rec a = { 0 };

    bus_init(&b);
    cr_assert_eq(bus_add(&b, 0x100, 0x10, &rec_ops, &a, "x"), 0);
    cr_assert_eq(bus_add(&b, 0x10f, 1, &rec_ops, &a, "y"), -EEXIST);
    cr_assert_eq(bus_add(&b, 0xf0, 0x11, &rec_ops, &a, "y"), -EEXIST);
    cr_assert_eq(bus_add(&b, 0xf0, 0x10, &rec_ops, &a, "y"), 0);
    cr_assert_eq(bus_add(&b, 0x110, 0, &rec_ops, &a, "y"), -EINVAL);
    cr_assert_eq(bus_add(&b, ~0ull, 2, &rec_ops, &a, "y"), -EINVAL);
    cr_assert_eq(bus_add(&b, ~0ull, 1, &rec_ops, &a, "top"), 0);
    cr_assert_eq(bus_find(&b, ~0ull)->base, ~0ull);
}

Test(bus, fills_up)
{
    struct bus b;
    struct rec a = { 0 };
    unsigned int i;

    bus_init(&b);
    for (i = 0; i < BUS_MAX_RANGES; i++)
        cr_assert_eq(bus_add(&b, 0x1000 - i * 0x10, 0x10, &rec_ops, &a, "r"), 0);
    cr_assert_eq(bus_add(&b, 0x5000, 1, &rec_ops, &a, "r"), -ENOSPC);
    for (i = 1; i < b.n; i++)
        cr_assert_lt(b.ranges[i - 1].base, b.ranges[i].base);
}

Test(bus, dispatch_and_all_ones)
{
    struct bus b;
    struct rec a = { 0 };
    uint64_t v = 0;

    bus_init(&b);
    cr_assert_eq(bus_add(&b, 0xfeb00000, 0x1000, &rec_ops, &a, "ged"), 0);
    cr_assert_eq(bus_read(&b, 0xfeb00004, 2, &v), 1);
    cr_assert_eq(a.last_off, 4);
    cr_assert_eq(a.last_len, 2);
    cr_assert_eq(v, 0x7788, "reads are truncated to the access size");
    cr_assert_eq(bus_write(&b, 0xfeb00008, 1, 0x1ff), 1);
    cr_assert_eq(a.last_val, 0xff);
    cr_assert_eq(bus_read(&b, 0x1000, 4, &v), 0);
    cr_assert_eq(v, 0xffffffffull);
    cr_assert_eq(bus_read(&b, 0x1000, 8, &v), 0);
    cr_assert_eq(v, ~0ull);
    cr_assert_eq(bus_write(&b, 0x1000, 4, 1), 0);
    cr_assert_eq(a.writes, 1);
}
