#include "blk_stats.h"

static uint64_t ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void st(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void blk_stats_record(struct blk_stats *s, bool write, uint64_t bytes, uint64_t lat_us)
{
    struct blk_stats_dir *d = write ? &s->wr : &s->rd;
    uint64_t ops = ld(&d->ops);

    /* Single writer: plain read-modify-write of each field. ops is published last with release
     * and read first with acquire, so a reader that counts a request also sees its latency;
     * min only falls and max only rises, so min <= max holds in any mix the reader sees. */
    if (ops == 0 || lat_us < ld(&d->lat_min))
        st(&d->lat_min, lat_us);
    if (ops == 0 || lat_us > ld(&d->lat_max))
        st(&d->lat_max, lat_us);
    st(&d->lat_total, sat_add(ld(&d->lat_total), lat_us));
    st(&d->bytes, sat_add(ld(&d->bytes), bytes));
    __atomic_store_n(&d->ops, sat_add(ops, 1), __ATOMIC_RELEASE);
}

static void sum_dir(const struct blk_stats_dir *d, struct blk_stats_dir *o)
{
    uint64_t ops = __atomic_load_n(&d->ops, __ATOMIC_ACQUIRE), mn, mx;

    if (ops == 0)
        return;
    mn = ld(&d->lat_min);
    mx = ld(&d->lat_max);
    if (o->ops == 0 || mn < o->lat_min)
        o->lat_min = mn;
    if (o->ops == 0 || mx > o->lat_max)
        o->lat_max = mx;
    o->ops = sat_add(o->ops, ops);
    o->bytes = sat_add(o->bytes, ld(&d->bytes));
    o->lat_total = sat_add(o->lat_total, ld(&d->lat_total));
}

void blk_stats_sum(const struct blk_stats *s, size_t n, struct blk_stats *out)
{
    *out = (struct blk_stats){ 0 };
    for (size_t i = 0; i < n; i++) {
        sum_dir(&s[i].rd, &out->rd);
        sum_dir(&s[i].wr, &out->wr);
    }
}
