/* A standalone cellvm-blockd with Cloud Hypervisor's rate limiter keys, driven through the ipc/
 * frontend library on the host: requests beyond the buckets wait (complete OK, later) instead of
 * failing, at the configured rate once the initially full bucket is spent; the one-time burst
 * comes on top; both queues of a disk share its buckets; half-given buckets are refused. */
#include <criterion/criterion.h>
#include <linux/virtio_blk.h>
#include <stdio.h>

#include "fe_util.h"

static struct fe_daemon t;

static void setup(void)
{
    fe_init(&t);
    cr_assert_eq(fe_sh("truncate -s 8M %s/d.img", t.dir), 0);
}

static void teardown(void)
{
    fe_fini(&t);
}

TestSuite(ratelimit_fe, .init = setup, .fini = teardown, .timeout = 60);

static void start(const char *keys, unsigned nq)
{
    char spec[256];

    snprintf(spec, sizeof(spec), "path=%s/d.img,image_type=raw,num_queues=%u,%s", t.dir, nq, keys);
    cr_assert_eq(fe_start(&t, spec, false), 0, "blockd refused: see %s", t.log);
    fe_connect(&t, nq);
}

/* n synchronous 64 KiB reads; the seconds they took. Each must complete OK. */
static double reads(unsigned n)
{
    double t0 = fe_now();

    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_IN, (uint64_t)i * 128, FE_BUF, true), VIRTIO_BLK_S_OK,
                     "read %u", i);
    return fe_now() - t0;
}

static void expect_near(double got, double want, const char *what)
{
    cr_expect(got >= want * 0.9 && got <= want * 1.1, "%s: %.3f s, want %.3f s +-10%%", what, got,
              want);
}

Test(ratelimit_fe, bandwidth_bucket_holds_the_rate)
{
    /* 256 KiB per second: 4 reads of 64 KiB from the full bucket at once, then 4 per second */
    start("bw_size=262144,bw_refill_time=1000", 1);
    cr_expect_lt(reads(4), 0.2, "the full bucket's 256 KiB go without waiting");
    expect_near(reads(8), 2.0, "8 x 64 KiB at 256 KiB/s");
}

Test(ratelimit_fe, ops_bucket_and_one_time_burst)
{
    /* 20 ops per second with 10 extra at first: 30 requests at once, then 20 per second */
    start("ops_size=20,ops_one_time_burst=10,ops_refill_time=1000", 1);
    cr_expect_lt(reads(30), 0.5, "bucket and burst go without waiting");
    expect_near(reads(10), 0.5, "10 requests at 20 ops/s");
}

Test(ratelimit_fe, queues_of_a_disk_share_its_buckets)
{
    double t0, took;
    unsigned done[2] = { 0, 0 };

    /* 512 KiB per second for the disk, not per queue: 8 reads on each queue = 1 MiB, of which
     * the full bucket covers 512 KiB: about 1 s */
    start("bw_size=524288,bw_refill_time=1000", 2);
    t0 = fe_now();
    for (unsigned round = 0; round < 8; round++) {
        for (unsigned q = 0; q < 2; q++)
            fe_submit(&t, q, 0, VIRTIO_BLK_T_IN, round * 128, FE_BUF, true);
        for (unsigned q = 0; q < 2; q++) {
            int s;

            for (int tries = 0; (s = fe_reap(&t, q)) < 0 && tries < 500; tries++)
                fe_wait(&t, 10);
            cr_assert_eq(s, 0, "queue %u round %u never completed", q, round);
            cr_assert_eq(fe_status(&t, q, 0), VIRTIO_BLK_S_OK);
            done[q]++;
        }
    }
    took = fe_now() - t0;
    cr_expect_eq(done[0] + done[1], 16);
    expect_near(took, 1.0, "16 x 64 KiB over two queues at 512 KiB/s");
}

Test(ratelimit_fe, half_given_bucket_refused)
{
    char spec[256];

    snprintf(spec, sizeof(spec), "path=%s/d.img,bw_size=4096", t.dir);
    cr_expect_gt(fe_start_refused(&t, spec), 0);
    cr_expect(fe_log_has(&t, "invalid value for 'bw_refill_time'"), "see %s", t.log);
}

Test(ratelimit_fe, group_refused_standalone)
{
    char spec[256];

    snprintf(spec, sizeof(spec), "path=%s/d.img,rate_limit_group=g0", t.dir);
    cr_expect_gt(fe_start_refused(&t, spec), 0);
    cr_expect(fe_log_has(&t, "rate_limit_group needs the shared bucket"), "see %s", t.log);
}
