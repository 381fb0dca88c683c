#include "device-procs/ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "device-procs/ratelimit_sys.h"

#define NS_PER_MS 1000000ull
#define COST_MAX  (1ull << 63) /* one take never moves full_at further than this */
#define CAS_TRIES 64           /* a word other processes keep changing cannot hold us forever */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t clamp_wait(uint64_t ns)
{
    if (ns < RL_MIN_WAIT_NS)
        return RL_MIN_WAIT_NS;
    return ns > RL_MAX_WAIT_NS ? RL_MAX_WAIT_NS : ns;
}

/* Time n tokens are worth: ceil(n * refill / size), saturated. */
static uint64_t cost(const struct rl_bucket *b, uint64_t n)
{
    unsigned __int128 c = ((unsigned __int128)n * b->refill_ns + b->size - 1) / b->size;

    return c > COST_MAX ? COST_MAX : (uint64_t)c;
}

struct rl_bucket rl_bucket_make(uint64_t size, uint64_t refill_ms)
{
    struct rl_bucket b = { 0, 0 };

    if (!size || !refill_ms)
        return b;
    b.size = size;
    b.refill_ns =
        refill_ms > RL_REFILL_NS_MAX / NS_PER_MS ? RL_REFILL_NS_MAX : refill_ms * NS_PER_MS;
    return b;
}

uint64_t rl_bucket_budget(const struct rl_bucket *b, const struct rl_state *s, uint64_t now)
{
    uint64_t full_at = atomic_load_explicit(&s->full_at, memory_order_relaxed);
    uint64_t ahead = full_at > now ? full_at - now : 0;

    if (!b->size)
        return UINT64_MAX;
    if (ahead >= b->refill_ns)
        return 0;
    return (uint64_t)((unsigned __int128)(b->refill_ns - ahead) * b->size / b->refill_ns);
}

/* Spends up to n burst tokens; returns how many. */
static uint64_t burst_take(struct rl_state *s, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&s->burst, memory_order_relaxed);

    for (unsigned i = 0; cur && i < CAS_TRIES; i++) {
        uint64_t t = cur < n ? cur : n;

        if (atomic_compare_exchange_weak_explicit(&s->burst, &cur, cur - t, memory_order_relaxed,
                                                  memory_order_relaxed))
            return t;
    }
    return 0;
}

static void burst_give(struct rl_state *s, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&s->burst, memory_order_relaxed);

    for (unsigned i = 0; n && i < CAS_TRIES; i++)
        if (atomic_compare_exchange_weak_explicit(&s->burst, &cur, sat_add(cur, n),
                                                  memory_order_relaxed, memory_order_relaxed))
            return;
}

/* The bucket part of a take (no burst). */
static bool bucket_take(const struct rl_bucket *b, struct rl_state *s, uint64_t n, uint64_t now,
                        bool force, uint64_t *wait_ns)
{
    uint64_t cur = atomic_load_explicit(&s->full_at, memory_order_relaxed);
    uint64_t c = cost(b, n);

    for (unsigned i = 0; i < CAS_TRIES; i++) {
        uint64_t base = cur > now ? cur : now;
        uint64_t ahead = base - now;

        if (!force) {
            if (ahead > b->refill_ns) { /* paying off an over-size take */
                *wait_ns = clamp_wait(ahead - b->refill_ns);
                return false;
            }
            /* n <= size costs at most refill_ns; larger takes pass on a bucket out of debt */
            if (n <= b->size && c > b->refill_ns - ahead) {
                *wait_ns = clamp_wait(c - (b->refill_ns - ahead));
                return false;
            }
        }
        if (atomic_compare_exchange_weak_explicit(&s->full_at, &cur, sat_add(base, c),
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
    *wait_ns = RL_MIN_WAIT_NS;
    return false;
}

/* A take that reports how much of it came from the burst, so it can be undone exactly. */
static bool take(const struct rl_bucket *b, struct rl_state *s, uint64_t n, uint64_t now,
                 uint64_t *wait_ns, uint64_t *from_burst)
{
    uint64_t t;

    *from_burst = 0;
    if (!b->size || !n)
        return true;
    t = burst_take(s, n);
    if (t == n) {
        *from_burst = t;
        return true;
    }
    if (!bucket_take(b, s, n - t, now, false, wait_ns)) {
        burst_give(s, t);
        return false;
    }
    *from_burst = t;
    return true;
}

bool rl_bucket_take(const struct rl_bucket *b, struct rl_state *s, uint64_t n, uint64_t now,
                    uint64_t *wait_ns)
{
    uint64_t from_burst;

    return take(b, s, n, now, wait_ns, &from_burst);
}

void rl_bucket_charge(const struct rl_bucket *b, struct rl_state *s, uint64_t n, uint64_t now)
{
    uint64_t unused, t;

    if (!b->size || !n)
        return;
    t = burst_take(s, n);
    if (t < n)
        bucket_take(b, s, n - t, now, true, &unused);
}

void rl_bucket_give(const struct rl_bucket *b, struct rl_state *s, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&s->full_at, memory_order_relaxed);
    uint64_t c;

    if (!b->size || !n)
        return;
    c = cost(b, n);
    for (unsigned i = 0; i < CAS_TRIES; i++)
        if (atomic_compare_exchange_weak_explicit(&s->full_at, &cur, cur > c ? cur - c : 0,
                                                  memory_order_relaxed, memory_order_relaxed))
            return;
}

bool rl_bucket_ready(const struct rl_bucket *b, const struct rl_state *s, uint64_t now,
                     uint64_t *wait_ns)
{
    uint64_t full_at = atomic_load_explicit(&s->full_at, memory_order_relaxed);
    uint64_t ahead = full_at > now ? full_at - now : 0;

    if (!b->size || ahead <= b->refill_ns)
        return true;
    *wait_ns = clamp_wait(ahead - b->refill_ns);
    return false;
}

bool rl_init(struct ratelimit *rl, const struct rl_config *cfg)
{
    memset(rl, 0, sizeof(*rl));
    rl->b[RL_BYTES] = rl_bucket_make(cfg->bw.size, cfg->bw.refill_time);
    rl->b[RL_OPS] = rl_bucket_make(cfg->ops.size, cfg->ops.refill_time);
    atomic_init(&rl->own[RL_BYTES].full_at, 0);
    atomic_init(&rl->own[RL_OPS].full_at, 0);
    atomic_init(&rl->own[RL_BYTES].burst, rl->b[RL_BYTES].size ? cfg->bw.one_time_burst : 0);
    atomic_init(&rl->own[RL_OPS].burst, rl->b[RL_OPS].size ? cfg->ops.one_time_burst : 0);
    rl->st = rl->own;
    return rl_on(rl);
}

bool rl_on(const struct ratelimit *rl)
{
    return rl->b[RL_BYTES].size || rl->b[RL_OPS].size;
}

int rl_attach_shared(struct ratelimit *rl, int fd, char *err, size_t errlen)
{
    const char *why = "";
    struct rl_shm *shm;
    void *p = NULL;
    int r;

    r = rl_sys_map(fd, RL_SHM_SIZE, &p, &why);
    if (r) {
        snprintf(err, errlen, "rate limit group: shared bucket %s", why);
        return r;
    }
    shm = p;
    if (shm->magic != RL_SHM_MAGIC || shm->version != RL_SHM_VERSION) {
        rl_sys_unmap(p, RL_SHM_SIZE);
        snprintf(err, errlen, "rate limit group: shared bucket has a foreign header");
        return -EINVAL;
    }
    rl_destroy(rl);
    rl->map = p;
    rl->st = shm->st;
    return 0;
}

void rl_destroy(struct ratelimit *rl)
{
    rl_sys_unmap(rl->map, RL_SHM_SIZE);
    rl->map = NULL;
    rl->st = rl->own;
}

bool rl_take(struct ratelimit *rl, uint64_t bytes, uint64_t now, uint64_t *wait_ns)
{
    uint64_t op_burst, unused;

    if (!take(&rl->b[RL_OPS], &rl->st[RL_OPS], 1, now, wait_ns, &op_burst))
        return false;
    if (take(&rl->b[RL_BYTES], &rl->st[RL_BYTES], bytes, now, wait_ns, &unused))
        return true;
    burst_give(&rl->st[RL_OPS], op_burst);
    if (op_burst < 1)
        rl_bucket_give(&rl->b[RL_OPS], &rl->st[RL_OPS], 1);
    return false;
}

bool rl_ready(const struct ratelimit *rl, uint64_t now, uint64_t *wait_ns)
{
    uint64_t w1 = 0, w2 = 0;
    bool a = rl_bucket_ready(&rl->b[RL_OPS], &rl->st[RL_OPS], now, &w1);
    bool b = rl_bucket_ready(&rl->b[RL_BYTES], &rl->st[RL_BYTES], now, &w2);

    if (a && b)
        return true;
    *wait_ns = w1 > w2 ? w1 : w2;
    return false;
}

void rl_charge(struct ratelimit *rl, uint64_t bytes, uint64_t now)
{
    rl_bucket_charge(&rl->b[RL_OPS], &rl->st[RL_OPS], 1, now);
    rl_bucket_charge(&rl->b[RL_BYTES], &rl->st[RL_BYTES], bytes, now);
}

uint64_t rl_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
