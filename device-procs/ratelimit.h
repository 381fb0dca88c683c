/*
 * Cloud Hypervisor's I/O rate limiter: a bandwidth (bytes) and an ops token bucket, each with a
 * size, a one-time burst and the time (ms) it takes to refill from empty. Used by blockd (per
 * disk, or per --rate-limit-group shared by several blockd processes) and netd (each queue pair
 * and direction, as CH).
 *
 * A bucket's state is one 64-bit instant, `full_at`: the CLOCK_MONOTONIC time at which it holds
 * `size` tokens again (the GCRA form of a token bucket). Taking n tokens moves it later by
 * n * refill / size; the bucket refuses when that would put full_at more than one refill time
 * ahead of now. So the state is a single word every taker updates with compare-and-swap, which
 * lets processes share it through memory without a lock, and no thread ever refills anything.
 * The one-time burst is a second word, spent before the bucket.
 *
 * Every value is treated as untrusted: a group's state lives in memory other processes write,
 * so all arithmetic saturates and no state makes a taker wait longer than RL_MAX_WAIT_NS per
 * look (it looks again after the wait).
 */
#ifndef CELLVM_DEVICE_PROCS_RATELIMIT_H
#define CELLVM_DEVICE_PROCS_RATELIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_REFILL_NS_MAX (1ull << 62)  /* ~146 years: larger refill times are cut to this */
#define RL_MIN_WAIT_NS   100000ull     /* waits shorter than 0.1 ms are rounded up to it */
#define RL_MAX_WAIT_NS   1000000000ull /* a throttled queue looks again at least every second */

/* One bucket as configured: CH's TokenBucket {size, one_time_burst, refill_time (ms)}. */
struct rl_tb {
    uint64_t size, one_time_burst, refill_time;
};

/* A limiter's configuration: a bucket with size 0 or refill_time 0 is off (CH's rule). */
struct rl_config {
    struct rl_tb bw, ops;
};

/* A bucket in effect. size 0: off, every take succeeds. */
struct rl_bucket {
    uint64_t size;
    uint64_t refill_ns;
};

/* The mutable part of a bucket: private, or in a group's shared region. */
struct rl_state {
    _Atomic uint64_t full_at; /* CLOCK_MONOTONIC ns; 0 (or any past instant): full */
    _Atomic uint64_t burst;   /* one-time burst tokens left */
};

enum rl_kind { RL_BYTES, RL_OPS };

/* The region a --rate-limit-group's members share: a memfd of RL_SHM_SIZE bytes, sealed against
 * shrinking and growing, made and initialised by the controller. */
#define RL_SHM_MAGIC   0x4c52564cu /* "LVRL" */
#define RL_SHM_VERSION 1u
#define RL_SHM_SIZE    4096u

struct rl_shm {
    uint32_t magic;
    uint32_t version;
    uint64_t reserved;
    struct rl_state st[2]; /* [RL_BYTES], [RL_OPS] */
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shared buckets need lock-free 64-bit atomics");
_Static_assert(sizeof(struct rl_shm) <= RL_SHM_SIZE, "rl_shm fits its region");

struct ratelimit {
    struct rl_bucket b[2]; /* [RL_BYTES], [RL_OPS] */
    struct rl_state *st;   /* own, or the shared region's st */
    struct rl_state own[2];
    void *map; /* the group's mapping (RL_SHM_SIZE bytes), or NULL */
};

/* The bucket in effect for size tokens refilled in refill_ms (saturated at RL_REFILL_NS_MAX). */
struct rl_bucket rl_bucket_make(uint64_t size, uint64_t refill_ms);

/* Tokens available at `now` (bounded by size; the burst not counted). */
uint64_t rl_bucket_budget(const struct rl_bucket *b, const struct rl_state *s, uint64_t now);

/*
 * Takes n tokens at `now`: from the one-time burst first, then from the bucket. Refuses (false,
 * nothing taken, *wait_ns set to when to look again) when the bucket holds fewer than n, or, for
 * n larger than the whole bucket, while an earlier over-size take is still being paid off. An
 * over-size take succeeds on a bucket that is not in debt and leaves it in debt, as CH's
 * OverConsumption: the next take waits n / size refill times.
 */
bool rl_bucket_take(const struct rl_bucket *b, struct rl_state *s, uint64_t n, uint64_t now,
                    uint64_t *wait_ns);
/* Takes n tokens whatever the bucket holds (after the fact: the frame already went). */
void rl_bucket_charge(const struct rl_bucket *b, struct rl_state *s, uint64_t n, uint64_t now);
/* Gives back n tokens taken by a take whose request did not go after all. */
void rl_bucket_give(const struct rl_bucket *b, struct rl_state *s, uint64_t n);
/* Whether the bucket is out of debt (holds at least nothing); else *wait_ns as for take. */
bool rl_bucket_ready(const struct rl_bucket *b, const struct rl_state *s, uint64_t now,
                     uint64_t *wait_ns);

/* A private limiter for cfg (its one-time bursts granted now). Returns whether any bucket is on. */
bool rl_init(struct ratelimit *rl, const struct rl_config *cfg);
/*
 * Moves rl's state to a group's shared region: fd is a memfd of RL_SHM_SIZE bytes, sealed
 * against shrink and grow, with the header the controller wrote; anything else is refused with
 * one line in err. The fd stays the caller's. 0 or -errno.
 */
int rl_attach_shared(struct ratelimit *rl, int fd, char *err, size_t errlen);
void rl_destroy(struct ratelimit *rl);
bool rl_on(const struct ratelimit *rl);

/* One request of `bytes` bytes (0: not a data transfer): 1 op, then the bytes, as CH's block
 * device; the op is given back when the bytes are refused. */
bool rl_take(struct ratelimit *rl, uint64_t bytes, uint64_t now, uint64_t *wait_ns);
/* Net: whether a frame may go now (no bucket in debt), and its charge once it went. */
bool rl_ready(const struct ratelimit *rl, uint64_t now, uint64_t *wait_ns);
void rl_charge(struct ratelimit *rl, uint64_t bytes, uint64_t now);

/* CLOCK_MONOTONIC in ns (shared by every process on the host, so group members agree). */
uint64_t rl_now(void);

/* Initial contents of a group's region, for the controller that creates it (which links no
 * device-process code, hence inline): full buckets, the one-time bursts not spent. */
static inline void rl_shm_init(struct rl_shm *shm, const struct rl_config *cfg)
{
    bool bw = cfg->bw.size && cfg->bw.refill_time, ops = cfg->ops.size && cfg->ops.refill_time;

    *shm = (struct rl_shm){ .magic = RL_SHM_MAGIC, .version = RL_SHM_VERSION };
    atomic_init(&shm->st[RL_BYTES].full_at, 0);
    atomic_init(&shm->st[RL_OPS].full_at, 0);
    atomic_init(&shm->st[RL_BYTES].burst, bw ? cfg->bw.one_time_burst : 0);
    atomic_init(&shm->st[RL_OPS].burst, ops ? cfg->ops.one_time_burst : 0);
}

#endif
