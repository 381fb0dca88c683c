#include <criterion/criterion.h>
#include <errno.h>

#include "core/platform.h"
#include "core/vm/bus.h"
#include "core/vm/cpu_hotplug.h"

#define CSEL   0
#define STATUS 4
#define CPEN   0x1
#define CINS   0x2
#define CRMV   0x4
#define CEJ0   0x8

static uint64_t rd(struct cpu_hotplug *h, uint64_t off, uint32_t len)
{
    uint64_t v = bus_ones(len);

    cpu_hotplug_bus_ops.read(h, off, len, &v);
    return v;
}

static void wr(struct cpu_hotplug *h, uint64_t off, uint32_t len, uint64_t val)
{
    cpu_hotplug_bus_ops.write(h, off, len, val);
}

/* The status byte of cpu, as CSTA and CSCN read it: select, then read a byte. */
static uint64_t status_of(struct cpu_hotplug *h, uint32_t cpu)
{
    wr(h, CSEL, 4, cpu);
    return rd(h, STATUS, 1);
}

struct eject_rec {
    struct cpu_hotplug *h;
    int calls;
    bool lock_free; /* the callback could take the lock: it runs outside it */
};

static void on_eject(void *opaque)
{
    struct eject_rec *r = opaque;

    r->calls++;
    r->lock_free = pthread_mutex_trylock(&r->h->lock) == 0;
    if (r->lock_free)
        pthread_mutex_unlock(&r->h->lock);
}

Test(cpu_hotplug, init_bounds)
{
    struct cpu_hotplug h;

    cr_expect_eq(cpu_hotplug_init(&h, 0, 0, NULL, NULL), -EINVAL);
    cr_expect_eq(cpu_hotplug_init(&h, 4, 0, NULL, NULL), -EINVAL, "no boot vCPU");
    cr_expect_eq(cpu_hotplug_init(&h, 4, 5, NULL, NULL), -EINVAL, "boot above max");
    cr_expect_eq(cpu_hotplug_init(&h, CPU_HOTPLUG_MAX_VCPUS + 1, 1, NULL, NULL), -EINVAL);
    cr_assert_eq(cpu_hotplug_init(&h, CPU_HOTPLUG_MAX_VCPUS, 2, NULL, NULL), 0);
    cr_expect_eq(rd(&h, CSEL, 4), 0);
    cr_expect(cpu_hotplug_enabled(&h, 1));
    cr_expect_not(cpu_hotplug_enabled(&h, 2));
    cr_expect_not(cpu_hotplug_enabled(&h, CPU_HOTPLUG_MAX_VCPUS), "out of range");
    cr_expect_eq(status_of(&h, 0), CPEN);
    cr_expect_eq(status_of(&h, CPU_HOTPLUG_MAX_VCPUS - 1), 0, "the last vCPU is absent");
    cpu_hotplug_destroy(&h);
}

Test(cpu_hotplug, insert_then_acknowledge)
{
    struct cpu_hotplug h;

    cr_assert_eq(cpu_hotplug_init(&h, 4, 2, NULL, NULL), 0);
    cr_expect_eq(cpu_hotplug_insert(&h, 4), -EINVAL, "out of range");
    cr_expect_eq(cpu_hotplug_insert(&h, 1), -EEXIST, "a boot vCPU is enabled");
    cr_assert_eq(cpu_hotplug_insert(&h, 3), 0);
    cr_expect_eq(cpu_hotplug_insert(&h, 3), -EEXIST);
    cr_expect(cpu_hotplug_enabled(&h, 3));
    cr_expect_eq(status_of(&h, 2), 0);
    cr_expect_eq(status_of(&h, 3), CPEN | CINS);
    cr_expect_eq(rd(&h, STATUS, 1), CPEN | CINS, "reading does not clear");
    cr_expect_eq(rd(&h, STATUS, 4), CPEN | CINS, "a dword read of the status");
    wr(&h, STATUS, 1, CPEN | CRMV);
    cr_expect_eq(rd(&h, STATUS, 1), CPEN | CINS, "only a written CINS clears CINS");
    wr(&h, STATUS, 1, CINS); /* CSCN's "CINS = One" with WriteAsZeros */
    cr_expect_eq(rd(&h, STATUS, 1), CPEN);
    cpu_hotplug_destroy(&h);
}

Test(cpu_hotplug, remove_request_and_eject)
{
    struct cpu_hotplug h;
    struct eject_rec r = { .h = &h };
    uint64_t mask[CPU_HOTPLUG_WORDS];

    cr_assert_eq(cpu_hotplug_init(&h, 200, 150, on_eject, &r), 0);
    cr_expect_eq(cpu_hotplug_request_remove(&h, 150), -ENODEV, "not enabled");
    cr_expect_eq(cpu_hotplug_request_remove(&h, 200), -EINVAL);
    cr_assert_eq(cpu_hotplug_request_remove(&h, 149), 0);
    cr_assert_eq(cpu_hotplug_request_remove(&h, 70), 0);
    cr_expect_eq(status_of(&h, 149), CPEN | CRMV);
    wr(&h, STATUS, 1, CRMV);
    cr_expect_eq(rd(&h, STATUS, 1), CPEN, "CRMV acknowledged");
    cr_expect_eq(r.calls, 0);

    wr(&h, STATUS, 1, CEJ0); /* 149's _EJ0 */
    cr_expect_eq(r.calls, 1);
    cr_expect(r.lock_free, "eject() must run outside the lock");
    cr_expect_eq(rd(&h, STATUS, 1), 0, "disabled at once: _STA after _EJ0 reads absent");
    cr_expect_not(cpu_hotplug_enabled(&h, 149));
    wr(&h, STATUS, 1, CEJ0);
    cr_expect_eq(r.calls, 1, "ejecting a disabled vCPU does nothing");
    cr_expect_eq(status_of(&h, 70), CPEN | CRMV);
    wr(&h, STATUS, 1, CEJ0);
    cr_expect_eq(r.calls, 2);
    cr_expect_eq(rd(&h, STATUS, 1), 0, "the eject also drops the pending CRMV");

    cr_assert(cpu_hotplug_take_ejects(&h, mask));
    cr_expect_eq(mask[0], 0);
    cr_expect_eq(mask[1], 1ull << (70 - 64));
    cr_expect_eq(mask[2], 1ull << (149 - 128));
    cr_expect_eq(mask[3], 0);
    cr_expect_not(cpu_hotplug_take_ejects(&h, mask), "taken once");
    cr_expect_eq(mask[1] | mask[2], 0);

    cr_expect_eq(cpu_hotplug_insert(&h, 149), 0, "an ejected vCPU can come back");
    cr_expect_eq(status_of(&h, 149), CPEN | CINS);
    cpu_hotplug_destroy(&h);
}

Test(cpu_hotplug, selection_out_of_range)
{
    struct cpu_hotplug h;
    struct eject_rec r = { .h = &h };
    uint64_t mask[CPU_HOTPLUG_WORDS];

    cr_assert_eq(cpu_hotplug_init(&h, 2, 2, on_eject, &r), 0);
    wr(&h, CSEL, 4, 0xfffffffe);
    cr_expect_eq(rd(&h, CSEL, 4), 0xfffffffe, "CSEL keeps what was written, as CH");
    cr_expect_eq(rd(&h, STATUS, 1), 0, "no vCPU selected");
    wr(&h, STATUS, 1, CINS | CRMV | CEJ0);
    cr_expect_eq(r.calls, 0);
    cr_expect_not(cpu_hotplug_take_ejects(&h, mask));
    cr_expect_eq(status_of(&h, 0), CPEN);
    cr_expect_eq(status_of(&h, 1), CPEN);
    cpu_hotplug_destroy(&h);
}

Test(cpu_hotplug, bogus_offsets_and_widths)
{
    struct cpu_hotplug h;
    struct eject_rec r = { .h = &h };

    cr_assert_eq(cpu_hotplug_init(&h, 4, 1, on_eject, &r), 0);
    cr_assert_eq(cpu_hotplug_insert(&h, 2), 0);
    wr(&h, CSEL, 4, 2);
    cr_expect_eq(rd(&h, CSEL, 1), 0, "byte read of CSEL");
    cr_expect_eq(rd(&h, CSEL, 8), 0, "qword read of CSEL");
    cr_expect_eq(rd(&h, STATUS, 8), 0, "qword read of the status");
    cr_expect_eq(rd(&h, 5, 1), 0, "CCMD");
    cr_expect_eq(rd(&h, 8, 4), 0, "CDAT");
    cr_expect_eq(rd(&h, GPA_CPU_HOTPLUG_SIZE - 4, 4), 0, "end of the page");
    wr(&h, CSEL, 1, 0);
    wr(&h, CSEL, 2, 0);
    wr(&h, 1, 4, 0);
    cr_expect_eq(rd(&h, CSEL, 4), 2, "odd-width CSEL writes ignored");
    wr(&h, STATUS, 8, CEJ0 | CINS);
    wr(&h, 5, 1, CEJ0 | CINS);
    wr(&h, 8, 4, CEJ0 | CINS);
    cr_expect_eq(r.calls, 0, "no eject from a bogus write");
    cr_expect_eq(rd(&h, STATUS, 1), CPEN | CINS);
    cpu_hotplug_destroy(&h);
}

Test(cpu_hotplug, reset_keeps_enabled_and_ejects)
{
    struct cpu_hotplug h;
    uint64_t mask[CPU_HOTPLUG_WORDS];

    cr_assert_eq(cpu_hotplug_init(&h, 4, 2, NULL, NULL), 0);
    cr_assert_eq(cpu_hotplug_insert(&h, 2), 0);
    cr_assert_eq(cpu_hotplug_request_remove(&h, 1), 0);
    cr_assert_eq(cpu_hotplug_insert(&h, 3), 0);
    wr(&h, CSEL, 4, 3);
    wr(&h, STATUS, 1, CEJ0);
    cpu_hotplug_reset(&h);
    cr_expect_eq(rd(&h, CSEL, 4), 0);
    cr_expect_eq(status_of(&h, 1), CPEN, "removing cleared, still enabled");
    cr_expect_eq(status_of(&h, 2), CPEN, "inserting cleared, still enabled");
    cr_expect_eq(status_of(&h, 3), 0);
    cr_assert(cpu_hotplug_take_ejects(&h, mask), "a reset keeps ejects not taken yet");
    cr_expect_eq(mask[0], 1ull << 3);
    cpu_hotplug_destroy(&h);
}

Test(cpu_hotplug, through_the_bus)
{
    struct cpu_hotplug h;
    struct bus b;
    uint64_t v = 0;

    cr_assert_eq(cpu_hotplug_init(&h, 2, 1, NULL, NULL), 0);
    bus_init(&b);
    cr_assert_eq(bus_add(&b, GPA_CPU_HOTPLUG_START, GPA_CPU_HOTPLUG_SIZE, &cpu_hotplug_bus_ops, &h,
                         "cpu-hotplug"),
                 0);
    cr_assert_eq(cpu_hotplug_insert(&h, 1), 0);
    cr_assert_eq(bus_write(&b, GPA_CPU_HOTPLUG_START + CSEL, 4, 1), 1);
    cr_assert_eq(bus_read(&b, GPA_CPU_HOTPLUG_START + STATUS, 1, &v), 1);
    cr_expect_eq(v, CPEN | CINS);
    cpu_hotplug_destroy(&h);
}
