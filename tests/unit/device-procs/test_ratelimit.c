/* Token-bucket arithmetic of device-procs/ratelimit.c, driven with explicit instants, and the
 * checks a group's shared region passes before it is used. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "device-procs/ratelimit.h"

#define MS 1000000ull
#define S  1000000000ull
#define T0 (100 * S) /* an instant well past 0, so "now" is not the initial full_at */

static struct rl_state fresh(uint64_t burst)
{
    struct rl_state s;

    atomic_init(&s.full_at, 0);
    atomic_init(&s.burst, burst);
    return s;
}

Test(ratelimit, zero_size_or_refill_disables)
{
    struct rl_bucket a = rl_bucket_make(0, 1000), b = rl_bucket_make(1000, 0);
    struct rl_state s = fresh(0);
    uint64_t w = 0;

    cr_expect_eq(a.size, 0);
    cr_expect_eq(b.size, 0);
    for (int i = 0; i < 1000; i++)
        cr_assert(rl_bucket_take(&a, &s, UINT64_MAX, T0, &w));
    cr_expect_eq(atomic_load(&s.full_at), 0, "an off bucket keeps no state");

    struct ratelimit rl;
    struct rl_config cfg = { .bw = { 0, 5, 1000 }, .ops = { 10, 0, 0 } };

    cr_expect_not(rl_init(&rl, &cfg), "no bucket with both size and refill is on");
    cr_expect(rl_take(&rl, 1u << 30, T0, &w));
    rl_destroy(&rl);
}

Test(ratelimit, starts_full_then_refills_at_size_per_refill_time)
{
    struct rl_bucket b = rl_bucket_make(1000, 1000); /* 1000 tokens per second */
    struct rl_state s = fresh(0);
    uint64_t w = 0;

    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 1000);
    cr_assert(rl_bucket_take(&b, &s, 1000, T0, &w));
    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 0);
    cr_assert_not(rl_bucket_take(&b, &s, 1, T0, &w));
    cr_expect_eq(w, 1 * MS, "one token is worth 1 ms: got %llu ns", (unsigned long long)w);
    cr_assert_not(rl_bucket_take(&b, &s, 250, T0, &w));
    cr_expect_eq(w, 250 * MS);
    /* 250 ms later exactly 250 tokens are back */
    cr_expect_eq(rl_bucket_budget(&b, &s, T0 + 250 * MS), 250);
    cr_assert(rl_bucket_take(&b, &s, 250, T0 + 250 * MS, &w));
    cr_assert_not(rl_bucket_take(&b, &s, 1, T0 + 250 * MS, &w));
    /* never more than size, however long it rested */
    cr_expect_eq(rl_bucket_budget(&b, &s, T0 + 3600 * S), 1000);
}

Test(ratelimit, rate_over_many_small_takes)
{
    /* 4 MiB per second, 4 KiB requests for 10 simulated seconds: 40 MiB + the initial 4 MiB */
    struct rl_bucket b = rl_bucket_make(4u << 20, 1000);
    struct rl_state s = fresh(0);
    uint64_t now = T0, moved = 0, w = 0;

    while (now < T0 + 10 * S) {
        if (rl_bucket_take(&b, &s, 4096, now, &w))
            moved += 4096;
        else
            now += w;
    }
    /* the last take happened before the 10 s were over: one request short at most */
    cr_expect_geq(moved, (44ull << 20) - 4096, "moved %llu", (unsigned long long)moved);
    cr_expect_leq(moved, 44ull << 20, "moved %llu", (unsigned long long)moved);
}

Test(ratelimit, one_time_burst_is_spent_first_and_once)
{
    struct rl_bucket b = rl_bucket_make(100, 1000);
    struct rl_state s = fresh(50);
    uint64_t w = 0;

    cr_assert(rl_bucket_take(&b, &s, 30, T0, &w));
    cr_expect_eq(atomic_load(&s.burst), 20);
    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 100, "the bucket is untouched while burst lasts");
    cr_assert(rl_bucket_take(&b, &s, 70, T0, &w)); /* 20 burst + 50 bucket */
    cr_expect_eq(atomic_load(&s.burst), 0);
    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 50);
    /* refused: the burst is not given again, nothing taken */
    cr_assert_not(rl_bucket_take(&b, &s, 51, T0, &w));
    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 50);

    /* a refused take that would have used part of a burst leaves the burst whole */
    struct rl_state t = fresh(10);

    cr_assert(rl_bucket_take(&b, &t, 100, T0, &w)); /* 10 burst + 90 bucket */
    cr_expect_eq(atomic_load(&t.burst), 0);
    cr_expect_eq(rl_bucket_budget(&b, &t, T0), 10);
    atomic_store(&t.burst, 10);
    cr_assert_not(rl_bucket_take(&b, &t, 60, T0, &w));
    cr_expect_eq(atomic_load(&t.burst), 10);
}

Test(ratelimit, over_size_take_passes_then_blocks_for_its_excess)
{
    struct rl_bucket b = rl_bucket_make(1000, 1000);
    struct rl_state s = fresh(0);
    uint64_t w = 0;

    /* 3000 tokens from a full 1000-token bucket: goes, then 2 refill times of debt */
    cr_assert(rl_bucket_take(&b, &s, 3000, T0, &w));
    cr_assert_not(rl_bucket_take(&b, &s, 1, T0, &w));
    cr_expect_eq(w, RL_MAX_WAIT_NS, "debt of 2 s looks again after at most 1 s");
    cr_assert_not(rl_bucket_ready(&b, &s, T0 + 1999 * MS, &w));
    cr_expect_eq(w, 1 * MS);
    cr_assert(rl_bucket_ready(&b, &s, T0 + 2000 * MS, &w));
    /* another over-size take waits while the first is paid off */
    cr_assert_not(rl_bucket_take(&b, &s, 5000, T0 + 1000 * MS, &w));
    cr_assert(rl_bucket_take(&b, &s, 5000, T0 + 2000 * MS, &w));
}

Test(ratelimit, huge_values_saturate)
{
    struct rl_bucket b = rl_bucket_make(UINT64_MAX, UINT64_MAX);
    struct rl_bucket one = rl_bucket_make(1, UINT64_MAX);
    struct rl_state s = fresh(UINT64_MAX);
    uint64_t w = 0;

    cr_expect_eq(b.refill_ns, RL_REFILL_NS_MAX);
    cr_assert(rl_bucket_take(&b, &s, UINT64_MAX, T0, &w), "the burst covers it");
    cr_assert(rl_bucket_take(&b, &s, UINT64_MAX, T0, &w), "a full bucket of that size too");
    cr_assert_not(rl_bucket_take(&b, &s, UINT64_MAX, T0, &w));
    cr_expect_leq(w, RL_MAX_WAIT_NS);

    /* a 1-token bucket asked for 2^64-1 tokens: the debt saturates, nothing wraps */
    struct rl_state t = fresh(0);

    cr_assert(rl_bucket_take(&one, &t, UINT64_MAX, T0, &w));
    cr_assert(rl_bucket_take(&one, &t, UINT64_MAX, T0, &w) == false);
    cr_expect_geq(atomic_load(&t.full_at), T0);
    rl_bucket_charge(&one, &t, UINT64_MAX, UINT64_MAX - 5);
    cr_expect_eq(atomic_load(&t.full_at), UINT64_MAX);
    cr_expect_eq(rl_bucket_budget(&one, &t, UINT64_MAX - 5), 0);

    /* a refused take gives the whole burst part back */
    struct rl_state u = fresh(UINT64_MAX - 1);

    atomic_store(&u.full_at, T0 + 10 * S);
    cr_assert_not(rl_bucket_take(&one, &u, UINT64_MAX, T0, &w));
    cr_expect_eq(atomic_load(&u.burst), UINT64_MAX - 1);
}

Test(ratelimit, time_going_backwards_grants_nothing_extra)
{
    struct rl_bucket b = rl_bucket_make(1000, 1000);
    struct rl_state s = fresh(0);
    uint64_t w = 0;

    cr_assert(rl_bucket_take(&b, &s, 600, T0, &w));
    /* an earlier instant than the last take: the bucket looks emptier, never fuller */
    cr_expect_eq(rl_bucket_budget(&b, &s, T0 - 500 * MS), 0);
    cr_assert_not(rl_bucket_take(&b, &s, 1, T0 - 500 * MS, &w));
    cr_expect_eq(rl_bucket_budget(&b, &s, T0 - 100 * MS), 300);
    cr_assert(rl_bucket_take(&b, &s, 100, T0 - 100 * MS, &w));
    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 300);
    cr_expect_eq(rl_bucket_budget(&b, &s, T0 + 700 * MS), 1000);
    /* a state from a hostile peer far in the future: refused, bounded wait, no wrap */
    atomic_store(&s.full_at, UINT64_MAX);
    cr_assert_not(rl_bucket_take(&b, &s, 1, T0, &w));
    cr_expect_eq(w, RL_MAX_WAIT_NS);
    cr_expect_eq(rl_bucket_budget(&b, &s, T0), 0);
}

Test(ratelimit, request_gives_op_back_when_bytes_are_refused)
{
    struct ratelimit rl;
    struct rl_config cfg = { .bw = { 1000, 0, 1000 }, .ops = { 10, 0, 1000 } };
    uint64_t w = 0;

    cr_assert(rl_init(&rl, &cfg));
    cr_assert(rl_take(&rl, 800, T0, &w));
    cr_expect_eq(rl_bucket_budget(&rl.b[RL_OPS], &rl.st[RL_OPS], T0), 9);
    cr_assert_not(rl_take(&rl, 800, T0, &w));
    cr_expect_eq(rl_bucket_budget(&rl.b[RL_OPS], &rl.st[RL_OPS], T0), 9, "op given back");
    cr_expect_eq(w, 600 * MS);
    /* flushes cost an op and no bytes */
    for (int i = 0; i < 9; i++)
        cr_assert(rl_take(&rl, 0, T0, &w));
    cr_assert_not(rl_take(&rl, 0, T0, &w));
    cr_expect_eq(w, 100 * MS);
    /* net: after-the-fact charges push into debt, ready() waits it out */
    cr_assert(rl_ready(&rl, T0 + 1000 * MS, &w));
    rl_charge(&rl, 3000, T0 + 1000 * MS);
    cr_assert_not(rl_ready(&rl, T0 + 1000 * MS, &w));
    cr_expect_eq(w, RL_MAX_WAIT_NS);
    cr_assert(rl_ready(&rl, T0 + 3000 * MS, &w));
    rl_destroy(&rl);
}

static int region(size_t size, unsigned seals, const struct rl_shm *hdr)
{
    int fd = memfd_create("rl-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    if (hdr)
        cr_assert_eq(pwrite(fd, hdr, sizeof(*hdr), 0), (ssize_t)sizeof(*hdr));
    if (seals)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
    return fd;
}

Test(ratelimit, shared_region_is_checked_and_shared)
{
    struct rl_config cfg = { .bw = { 1000, 100, 1000 } };
    const unsigned seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    struct ratelimit a, b;
    struct rl_shm hdr, bad;
    char err[128];
    uint64_t w = 0;
    int fd;

    rl_shm_init(&hdr, &cfg);
    rl_init(&a, &cfg);
    rl_init(&b, &cfg);

    fd = region(RL_SHM_SIZE - 1, seals, &hdr);
    cr_expect_eq(rl_attach_shared(&a, fd, err, sizeof(err)), -EINVAL, "short region");
    close(fd);
    fd = region(RL_SHM_SIZE, 0, &hdr);
    cr_expect_eq(rl_attach_shared(&a, fd, err, sizeof(err)), -EINVAL, "unsealed region");
    close(fd);
    bad = hdr;
    bad.magic ^= 1;
    fd = region(RL_SHM_SIZE, seals, &bad);
    cr_expect_eq(rl_attach_shared(&a, fd, err, sizeof(err)), -EINVAL, "foreign header");
    cr_expect(strstr(err, "foreign"));
    close(fd);
    cr_expect_eq(a.map, NULL, "a refused region leaves the private state");

    fd = region(RL_SHM_SIZE, seals, &hdr);
    cr_assert_eq(rl_attach_shared(&a, fd, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rl_attach_shared(&b, fd, err, sizeof(err)), 0, "%s", err);
    close(fd); /* the mappings keep it */
    /* 100 burst + 1000 bucket between the two members, not each */
    cr_assert(rl_take(&a, 600, T0, &w));
    cr_assert(rl_take(&b, 500, T0, &w));
    cr_assert_not(rl_take(&a, 1, T0, &w));
    cr_assert_not(rl_take(&b, 1, T0, &w));
    cr_assert(rl_take(&b, 100, T0 + 100 * MS, &w));
    rl_destroy(&a);
    rl_destroy(&b);
}
