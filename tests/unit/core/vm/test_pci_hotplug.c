#include <criterion/criterion.h>
#include <errno.h>

#include "core/platform.h"
#include "core/vm/bus.h"
#include "core/vm/pci_hotplug.h"

#define PCIU 0
#define PCID 4
#define B0EJ 8
#define PSEG 12

static uint64_t rd(struct pci_hotplug *h, uint64_t off, uint32_t len)
{
    uint64_t v = bus_ones(len);

    pci_hotplug_bus_ops.read(h, off, len, &v);
    return v;
}

static void wr(struct pci_hotplug *h, uint64_t off, uint32_t len, uint64_t val)
{
    pci_hotplug_bus_ops.write(h, off, len, val);
}

struct eject_rec {
    struct pci_hotplug *h;
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

Test(pci_hotplug, init_bounds)
{
    struct pci_hotplug h;

    cr_expect_eq(pci_hotplug_init(&h, 0, NULL, NULL), -EINVAL);
    cr_expect_eq(pci_hotplug_init(&h, PCI_MAX_SEGMENTS + 1, NULL, NULL), -EINVAL);
    cr_assert_eq(pci_hotplug_init(&h, PCI_MAX_SEGMENTS, NULL, NULL), 0);
    cr_expect_eq(rd(&h, PSEG, 4), 0);
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, up_and_down_read_to_clear)
{
    struct pci_hotplug h;

    cr_assert_eq(pci_hotplug_init(&h, 1, NULL, NULL), 0);
    cr_expect_eq(rd(&h, PCIU, 4), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 3, true), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 31, true), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 5, false), 0);
    cr_expect_eq(rd(&h, PCIU, 4), (1u << 3) | (1u << 31));
    cr_expect_eq(rd(&h, PCIU, 4), 0, "the read cleared PCIU");
    cr_expect_eq(rd(&h, PCID, 4), 1u << 5, "PCID untouched by the PCIU read");
    cr_expect_eq(rd(&h, PCID, 4), 0, "the read cleared PCID");
    cr_expect_eq(rd(&h, B0EJ, 4), 0, "B0EJ is write-only");
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, announce_bounds)
{
    struct pci_hotplug h;

    cr_assert_eq(pci_hotplug_init(&h, 2, NULL, NULL), 0);
    cr_expect_eq(pci_hotplug_announce(&h, 2, 0, true), -EINVAL, "segment out of range");
    cr_expect_eq(pci_hotplug_announce(&h, 0, 32, true), -EINVAL, "slot out of range");
    cr_expect_eq(pci_hotplug_announce(&h, 1, 31, false), 0);
    cr_expect_eq(rd(&h, PCIU, 4), 0);
    cr_expect_eq(rd(&h, PCID, 4), 0);
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, segment_selection)
{
    struct pci_hotplug h;

    cr_assert_eq(pci_hotplug_init(&h, 3, NULL, NULL), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 1, true), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 2, 7, true), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 2, 9, false), 0);
    wr(&h, PSEG, 4, 2);
    cr_expect_eq(rd(&h, PSEG, 4), 2);
    cr_expect_eq(rd(&h, PCIU, 4), 1u << 7);
    cr_expect_eq(rd(&h, PCID, 4), 1u << 9);
    wr(&h, PSEG, 4, 3);
    cr_expect_eq(rd(&h, PSEG, 4), 2, "PSEG of nseg is ignored");
    wr(&h, PSEG, 4, 0xffffffff);
    cr_expect_eq(rd(&h, PSEG, 4), 2);
    wr(&h, PSEG, 4, 1);
    cr_expect_eq(rd(&h, PCIU, 4), 0, "segment 1 has nothing");
    wr(&h, PSEG, 4, 0);
    cr_expect_eq(rd(&h, PCIU, 4), 1u << 1, "segment 0 kept its bit");
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, bogus_offsets_and_widths)
{
    struct pci_hotplug h;
    struct eject_rec r = { .h = &h };
    uint32_t masks[2] = { 0xdead, 0xbeef };

    cr_assert_eq(pci_hotplug_init(&h, 2, on_eject, &r), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 4, true), 0);
    cr_expect_eq(rd(&h, PCIU, 1), 0, "byte read");
    cr_expect_eq(rd(&h, PCIU, 2), 0, "word read");
    cr_expect_eq(rd(&h, PCIU, 8), 0, "qword read");
    cr_expect_eq(rd(&h, 1, 4), 0, "misaligned dword");
    cr_expect_eq(rd(&h, 16, 4), 0, "past the registers");
    cr_expect_eq(rd(&h, GPA_PCI_HOTPLUG_SIZE - 4, 4), 0, "end of the page");
    cr_expect_eq(rd(&h, PCIU, 4), 1u << 4, "none of those cleared PCIU");

    wr(&h, PSEG, 1, 1);
    wr(&h, PSEG, 8, 1);
    wr(&h, 13, 4, 1);
    cr_expect_eq(rd(&h, PSEG, 4), 0, "odd-width PSEG writes ignored");
    wr(&h, B0EJ, 2, 1);
    wr(&h, B0EJ, 8, 1);
    wr(&h, 9, 4, 1);
    wr(&h, 24, 4, 1);
    wr(&h, PCIU, 4, 0xffffffff);
    wr(&h, PCID, 4, 0xffffffff);
    cr_expect_eq(r.calls, 0, "no eject from a bogus write");
    cr_expect_not(pci_hotplug_take_ejects(&h, masks));
    cr_expect_eq(masks[0], 0);
    cr_expect_eq(masks[1], 0);
    cr_expect_eq(rd(&h, PCIU, 4), 0, "PCIU is not writable");
    cr_expect_eq(rd(&h, PCID, 4), 0);
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, eject_latches_and_calls_back)
{
    struct pci_hotplug h;
    struct eject_rec r = { .h = &h };
    uint32_t masks[3];

    cr_assert_eq(pci_hotplug_init(&h, 3, on_eject, &r), 0);
    wr(&h, B0EJ, 4, 1u << 3);
    cr_expect_eq(r.calls, 1);
    cr_expect(r.lock_free, "eject() must run outside the lock");
    wr(&h, PSEG, 4, 2);
    wr(&h, B0EJ, 4, 1u << 0);
    wr(&h, B0EJ, 4, 1u << 30);
    cr_expect_eq(r.calls, 3);
    wr(&h, B0EJ, 4, 0);
    cr_expect_eq(r.calls, 3, "a write of no bits ejects nothing");
    cr_assert(pci_hotplug_take_ejects(&h, masks));
    cr_expect_eq(masks[0], 1u << 3);
    cr_expect_eq(masks[1], 0);
    cr_expect_eq(masks[2], (1u << 0) | (1u << 30), "B0EJ writes OR together");
    cr_expect_not(pci_hotplug_take_ejects(&h, masks), "taken once");
    cr_expect_eq(masks[0], 0);
    cr_expect_eq(masks[2], 0);
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, reset_keeps_ejects)
{
    struct pci_hotplug h;
    uint32_t masks[2];

    cr_assert_eq(pci_hotplug_init(&h, 2, NULL, NULL), 0);
    wr(&h, PSEG, 4, 1);
    wr(&h, B0EJ, 4, 1u << 6);
    cr_assert_eq(pci_hotplug_announce(&h, 1, 2, true), 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 2, false), 0);
    pci_hotplug_reset(&h);
    cr_expect_eq(rd(&h, PSEG, 4), 0);
    cr_expect_eq(rd(&h, PCID, 4), 0);
    wr(&h, PSEG, 4, 1);
    cr_expect_eq(rd(&h, PCIU, 4), 0);
    cr_assert(pci_hotplug_take_ejects(&h, masks), "a reset keeps ejects not taken yet");
    cr_expect_eq(masks[1], 1u << 6);
    pci_hotplug_destroy(&h);
}

Test(pci_hotplug, through_the_bus)
{
    struct pci_hotplug h;
    struct bus b;
    uint64_t v = 0;

    cr_assert_eq(pci_hotplug_init(&h, 1, NULL, NULL), 0);
    bus_init(&b);
    cr_assert_eq(bus_add(&b, GPA_PCI_HOTPLUG_START, GPA_PCI_HOTPLUG_SIZE, &pci_hotplug_bus_ops, &h,
                         "pci-hotplug"),
                 0);
    cr_assert_eq(pci_hotplug_announce(&h, 0, 12, true), 0);
    cr_assert_eq(bus_read(&b, GPA_PCI_HOTPLUG_START + PCIU, 4, &v), 1);
    cr_expect_eq(v, 1u << 12);
    cr_assert_eq(bus_read(&b, GPA_PCI_HOTPLUG_START + PCIU, 4, &v), 1);
    cr_expect_eq(v, 0);
    pci_hotplug_destroy(&h);
}
