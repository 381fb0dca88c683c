/* A standalone cellvm-blockd and its driver's kicks (blockd/blk_queue.c, drain): with many
 * requests in flight blockd leaves the driver's kicks off and finds new requests when the
 * in-flight ones complete; with few it must not, or a new request waits for a slow one. Here
 * the slow one is a real FLUSH: fdatasync of an image file on disk with 128 MiB of dirty pages
 * the test wrote beside blockd. A read submitted once blockd has taken the flush alone, whose
 * page is in the page cache, must complete while the flush is still in flight. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe_util.h"

#define DIRTY_MIB 128

static struct fe_daemon t;

static void setup(void)
{
    fe_init(&t); /* under /var/tmp: a disk, where fdatasync writes back */
    cr_assert_eq(fe_sh("truncate -s %dM %s/d.img", DIRTY_MIB, t.dir), 0);
}

static void teardown(void)
{
    fe_fini(&t);
}

TestSuite(kick_fe, .init = setup, .fini = teardown, .timeout = 60);

/* Dirties the whole image through the test's own descriptor (buffered, not synced). */
static void dirty_image(void)
{
    static char buf[1 << 20];
    char path[128];
    int fd;

    snprintf(path, sizeof(path), "%s/d.img", t.dir);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    memset(buf, 0x5a, sizeof(buf));
    for (int i = 0; i < DIRTY_MIB; i++)
        cr_assert_eq(pwrite(fd, buf, sizeof(buf), (off_t)i << 20), (ssize_t)sizeof(buf));
    close(fd);
}

Test(kick_fe, slow_flush_does_not_hold_back_a_later_read)
{
    char spec[160];
    double t0, read_done = 0, flush_done = 0;
    int s;

    snprintf(spec, sizeof(spec), "path=%s/d.img,image_type=raw,direct=off", t.dir);
    cr_assert_eq(fe_start(&t, spec, false), 0, "blockd refused: see %s", t.log);
    fe_connect(&t, 1);
    /* The read's page in the page cache first, so the read itself is fast. */
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_IN, 0, 4096, true), VIRTIO_BLK_S_OK);
    dirty_image();
    t0 = fe_now();
    fe_submit(&t, 0, 1, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    /* Long enough for blockd to take the flush alone and wait on it; far shorter than it. */
    usleep(20000);
    fe_submit(&t, 0, 2, VIRTIO_BLK_T_IN, 0, 4096, true);
    while ((!read_done || !flush_done) && fe_now() - t0 < 30) {
        fe_wait(&t, 100);
        while ((s = fe_reap(&t, 0)) >= 0) {
            cr_assert_eq(fe_status(&t, 0, (unsigned)s), VIRTIO_BLK_S_OK, "slot %d", s);
            if (s == 1)
                flush_done = fe_now() - t0;
            else if (s == 2)
                read_done = fe_now() - t0;
        }
    }
    cr_assert(read_done > 0 && flush_done > 0, "read %.3f s, flush %.3f s: not both completed",
              read_done, flush_done);
    cr_assert_eq(fe_data(&t, 0, 2)[0], 0x5a, "the read sees the test's bytes");
    fprintf(stderr, "blockd-kick: flush of %d MiB dirty: %.1f ms; the read behind it: %.2f ms\n",
            DIRTY_MIB, flush_done * 1e3, read_done * 1e3);
    if (flush_done < 0.1 && flush_done < read_done)
        cr_skip_test("the flush took %.1f ms: too short to tell whether the read waited for it",
                     flush_done * 1e3);
    cr_assert_lt(read_done, flush_done,
                 "the read (%.2f ms) waited for the flush in flight before it (%.1f ms)",
                 read_done * 1e3, flush_done * 1e3);
}
