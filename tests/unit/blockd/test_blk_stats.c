/* Cloud Hypervisor's block counters as blockd keeps them: per queue, summed on request. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "blockd/blk_stats.h"

Test(blk_stats, empty_sums_to_zero)
{
    struct blk_stats q[4] = { 0 }, sum;

    blk_stats_sum(q, 4, &sum);
    cr_assert_eq(sum.rd.ops, 0);
    cr_assert_eq(sum.wr.lat_min, 0, "no request: latencies stay unset");
    cr_assert_eq(sum.wr.lat_max, 0);
}

Test(blk_stats, directions_and_queues_sum)
{
    struct blk_stats q[3] = { 0 }, sum;

    blk_stats_record(&q[0], false, 4096, 30);
    blk_stats_record(&q[0], false, 512, 10);
    blk_stats_record(&q[0], true, 8192, 200);
    blk_stats_record(&q[2], true, 1024, 50);
    blk_stats_record(&q[2], false, 2048, 70);
    blk_stats_sum(q, 3, &sum);
    cr_assert_eq(sum.rd.ops, 3);
    cr_assert_eq(sum.rd.bytes, 4096 + 512 + 2048);
    cr_assert_eq(sum.rd.lat_min, 10);
    cr_assert_eq(sum.rd.lat_max, 70);
    cr_assert_eq(sum.rd.lat_total, 110);
    cr_assert_eq(sum.wr.ops, 2);
    cr_assert_eq(sum.wr.bytes, 9216);
    cr_assert_eq(sum.wr.lat_min, 50, "queue 1 never wrote: its zeros are not a minimum");
    cr_assert_eq(sum.wr.lat_max, 200);
    cr_assert_eq(sum.wr.lat_total, 250);
}

Test(blk_stats, saturates_instead_of_wrapping)
{
    struct blk_stats q[2] = { 0 }, sum;

    blk_stats_record(&q[0], true, UINT64_MAX - 1, UINT64_MAX);
    blk_stats_record(&q[1], true, 5, 1);
    blk_stats_sum(q, 2, &sum);
    cr_assert_eq(sum.wr.bytes, UINT64_MAX);
    cr_assert_eq(sum.wr.lat_total, UINT64_MAX);
    cr_assert_eq(sum.wr.lat_min, 1);
}

/* One writer per queue, a reader summing all the while: the reader never sees min above max
 * nor a count going backwards, and the final sum is exact. */
#define RACE_N 200000

static void *writer(void *arg)
{
    struct blk_stats *s = arg;

    for (uint64_t i = 0; i < RACE_N; i++)
        blk_stats_record(s, i & 1, 512, 1000 - i % 1000);
    return NULL;
}

Test(blk_stats, concurrent_reader_sees_consistent_figures)
{
    static struct blk_stats q[2];
    struct blk_stats sum;
    pthread_t th[2];
    uint64_t last = 0;

    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, writer, &q[i]), 0);
    do {
        blk_stats_sum(q, 2, &sum);
        cr_assert_geq(sum.rd.ops + sum.wr.ops, last);
        last = sum.rd.ops + sum.wr.ops;
        if (sum.rd.ops)
            cr_assert_leq(sum.rd.lat_min, sum.rd.lat_max);
        if (sum.wr.ops)
            cr_assert_leq(sum.wr.lat_min, sum.wr.lat_max);
    } while (last < 2 * RACE_N);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    blk_stats_sum(q, 2, &sum);
    cr_assert_eq(sum.rd.ops, RACE_N);
    cr_assert_eq(sum.wr.bytes, RACE_N * 512ull);
    /* Reads are the even i (latency 1000 down to 2), writes the odd ones (999 down to 1). */
    cr_assert_eq(sum.rd.lat_min, 2);
    cr_assert_eq(sum.rd.lat_max, 1000);
    cr_assert_eq(sum.wr.lat_min, 1);
    cr_assert_eq(sum.wr.lat_max, 999);
}
