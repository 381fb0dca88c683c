/* The virtio-watchdog model: Cloud Hypervisor's schedule (armed by the first ping, a check
 * every 15 s that fires after more than 20 s without a ping), pause and resume, the answer a
 * ping gets, and pings through the split ring the core serves (guest RAM a plain buffer). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem/guest_mem.h"
#include "core/vm/virtio_watchdog.h"
#include "core/vm/vring_req.h"

static int64_t tick(struct wdt *w, int64_t now, bool *fire)
{
    int64_t gap;

    return wdt_tick(w, now, fire, &gap);
}

Test(virtio_watchdog, disarmed_until_first_ping)
{
    struct wdt w;
    bool fire;

    wdt_reset(&w);
    cr_expect_eq(tick(&w, 0, &fire), -1);
    cr_expect_eq(tick(&w, 1000000, &fire), -1);
    cr_expect(!fire);
    cr_expect(wdt_ping(&w, 5000));
    cr_expect(!wdt_ping(&w, 6000), "only the first ping arms");
    cr_expect_eq(tick(&w, 6000, &fire), 14000, "first check 15 s after the first ping");
}

Test(virtio_watchdog, pings_keep_it_quiet)
{
    struct wdt w;
    bool fire;

    wdt_reset(&w);
    wdt_ping(&w, 0);
    for (int64_t t = 4000; t <= 120000; t += 4000) {
        wdt_ping(&w, t);
        cr_expect_geq(tick(&w, t, &fire), 0);
        cr_expect(!fire, "fired at %lld with a ping every 4 s", (long long)t);
    }
}

Test(virtio_watchdog, fires_after_more_than_20_seconds)
{
    struct wdt w;
    bool fire;
    int64_t gap;

    wdt_reset(&w);
    wdt_ping(&w, 0);
    wdt_ping(&w, 24000); /* the last ping */
    cr_expect_eq(wdt_tick(&w, 15000, &fire, &gap), 15000);
    cr_expect(!fire);
    cr_expect_eq(wdt_tick(&w, 30000, &fire, &gap), 15000);
    cr_expect(!fire, "6 s since the last ping");
    cr_expect_eq(wdt_tick(&w, 44999, &fire, &gap), 1);
    cr_expect(!fire, "not a check time");
    cr_expect_eq(wdt_tick(&w, 45000, &fire, &gap), -1);
    cr_expect(fire, "21 s since the last ping");
    cr_expect_eq(gap, 21);
    cr_expect(!w.armed, "disarmed once fired");
    cr_expect_eq(tick(&w, 100000, &fire), -1);
    cr_expect(!fire, "fires once");
}

Test(virtio_watchdog, exactly_20_seconds_is_not_late)
{
    struct wdt w;
    bool fire;

    wdt_reset(&w);
    wdt_ping(&w, 0);
    wdt_ping(&w, 10000);
    tick(&w, 15000, &fire);
    cr_expect_eq(tick(&w, 30000, &fire), 15000);
    cr_expect(!fire, "20 whole seconds: Cloud Hypervisor waits for more");
    tick(&w, 45000, &fire);
    cr_expect(fire);
}

Test(virtio_watchdog, late_check_keeps_the_period)
{
    struct wdt w;
    bool fire;

    wdt_reset(&w);
    wdt_ping(&w, 0);
    wdt_ping(&w, 60000);
    cr_expect_eq(tick(&w, 62000, &fire), 13000, "checks stay on the 15 s grid");
    cr_expect(!fire);
}

Test(virtio_watchdog, no_check_while_paused_and_timeout_restarts)
{
    struct wdt w;
    bool fire;

    wdt_reset(&w);
    wdt_ping(&w, 0);
    wdt_pause(&w, 0);
    cr_expect_eq(tick(&w, 15000, &fire), -1);
    cr_expect_eq(tick(&w, 600000, &fire), -1);
    cr_expect(!fire, "paused for 10 minutes");
    wdt_resume(&w, 600000);
    cr_expect_eq(tick(&w, 600000, &fire), 15000);
    cr_expect(!fire);
    tick(&w, 615000, &fire);
    cr_expect(!fire, "15 s after resume");
    tick(&w, 630000, &fire);
    cr_expect(fire, "30 s after resume without a ping");
}

Test(virtio_watchdog, resume_of_a_disarmed_watchdog_arms_nothing)
{
    struct wdt w;
    bool fire;

    wdt_reset(&w);
    wdt_pause(&w, 0);
    wdt_resume(&w, 1000);
    cr_expect_eq(tick(&w, 1000000, &fire), -1);
    cr_expect(!fire);
}

/* A snapshot (issue 18): the times are the pause's, the restored copy is paused, and its resume
 * gives the guest a full period from then, as after any pause. */
Test(virtio_watchdog, save_and_load_across_a_snapshot)
{
    struct wdt w, r;
    bool armed, fire;
    uint32_t since, to_check;

    wdt_reset(&w);
    wdt_ping(&w, 1000); /* checks at 16000, 31000, ... */
    wdt_ping(&w, 9000);
    wdt_pause(&w, 12000);
    wdt_pause(&w, 50000); /* already paused: the first pause's time stays */
    wdt_save(&w, 600000, &armed, &since, &to_check);
    cr_expect(armed);
    cr_expect_eq(since, 3000);
    cr_expect_eq(to_check, 4000);
    wdt_load(&r, 5000000, armed, since, to_check);
    cr_expect(r.armed && r.paused);
    cr_expect_eq(r.last_ping_ms, 5000000 - 3000);
    cr_expect_eq(r.next_check_ms, 5000000 + 4000);
    cr_expect_eq(tick(&r, 5010000, &fire), -1, "no check before the resume");
    wdt_resume(&r, 9000000);
    cr_expect_eq(tick(&r, 9000000, &fire), 15000);
    tick(&r, 9015000, &fire);
    cr_expect(!fire, "15 s after the resume");
    tick(&r, 9030000, &fire);
    cr_expect(fire, "30 s after the resume without a ping");
}

Test(virtio_watchdog, save_clamps_and_disarmed_saves_zeros)
{
    struct wdt w;
    bool armed;
    uint32_t since, to_check;

    wdt_reset(&w);
    wdt_pause(&w, 7000);
    wdt_save(&w, 600000, &armed, &since, &to_check);
    cr_expect(!armed);
    cr_expect_eq(since + to_check, 0);
    wdt_ping(&w, 0);
    w.next_check_ms = 5000; /* a check overdue at the pause */
    w.paused_ms = 9000000;
    wdt_save(&w, 600000, &armed, &since, &to_check);
    cr_expect_eq(since, 600000);
    cr_expect_eq(to_check, 0);
    wdt_load(&w, 100, false, 0, 0);
    cr_expect(!w.armed && w.paused);
}

/* Guest RAM: a 64 KiB buffer at GPA 0; ring at 0x1000, ping buffers at 0x8000. */
#define RAM_SIZE 0x10000u
#define DESC     0x1000u
#define AVAIL    0x1100u
#define USED     0x1200u
#define BUF      0x8000u

struct ping_ctx {
    struct wdt w;
    int64_t now;
};

static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    struct ping_ctx *c = arg;

    (void)in;
    (void)len;
    wdt_ping(&c->w, c->now);
    return wdt_answer(out);
}

static void put_desc(uint8_t *ram, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
    uint8_t *d = ram + DESC + 16u * i;

    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memset(d + 14, 0, 2);
}

static void make_avail(uint8_t *ram, uint16_t idx, uint16_t head)
{
    memcpy(ram + AVAIL + 4 + 2u * (idx % WDT_QUEUE_SIZE), &head, 2);
    idx++;
    memcpy(ram + AVAIL + 2, &idx, 2);
}

Test(virtio_watchdog, pings_through_the_ring)
{
    uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
    struct guest_mem m;
    struct vring_req_ring r = {
        .desc = DESC, .avail = AVAIL, .used = USED, .size = WDT_QUEUE_SIZE
    };
    struct ping_ctx c = { .now = 7000 };
    uint16_t used_idx;
    uint32_t used_len;

    cr_assert(ram);
    memset(ram, 0, RAM_SIZE);
    guest_mem_init(&m);
    cr_assert_eq(guest_mem_add_zone(&m, ram, RAM_SIZE, -1), 0);
    wdt_reset(&c.w);
    /* A flood: every ring entry made available at once; one pass answers at most the budget. */
    for (uint16_t i = 0; i < WDT_QUEUE_SIZE; i++) {
        put_desc(ram, i, BUF + i, 1, 2 /* WRITE */);
        make_avail(ram, i, i);
    }
    cr_expect_eq(vring_req_process(&m, &r, 3, answer, &c), 3);
    cr_expect(vring_req_pending(&m, &r));
    cr_expect_eq(vring_req_process(&m, &r, WDT_QUEUE_SIZE, answer, &c), WDT_QUEUE_SIZE - 3);
    cr_expect(!vring_req_pending(&m, &r));
    for (unsigned i = 0; i < WDT_QUEUE_SIZE; i++)
        cr_expect_eq(ram[BUF + i], 1, "ping %u marked", i);
    memcpy(&used_idx, ram + USED + 2, 2);
    memcpy(&used_len, ram + USED + 4 + 4, 4);
    cr_expect_eq(used_idx, WDT_QUEUE_SIZE);
    cr_expect_eq(used_len, 1);
    cr_expect(c.w.armed);
    cr_expect_eq(c.w.last_ping_ms, 7000);
    /* A read-only buffer has nowhere for the answer: the ring is broken, nothing is pinged. */
    put_desc(ram, 0, BUF, 1, 0);
    make_avail(ram, WDT_QUEUE_SIZE, 0);
    c.now = 9000;
    cr_expect_eq(vring_req_process(&m, &r, WDT_QUEUE_SIZE, answer, &c), -EFAULT);
    cr_expect_eq(c.w.last_ping_ms, 7000);
    free(ram);
}
