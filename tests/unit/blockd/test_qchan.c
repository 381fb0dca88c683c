/* The QCOW2 data channel on a restricted io_uring built as the queue threads build it: writes
 * that continue each other are joined into one writev, each still completes with its own count
 * and lands where it said; a short joined write gives each write the part it got. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "blockd/qchan.h"
#include "blockd/uring_sys.h"

#define NW  7
#define WSZ 8192u

struct w {
    struct qcow2_fio fio;
    struct iovec iov[2];
    uint8_t buf[WSZ];
    ssize_t res;
    bool done;
};

static char path[64];
static int fd = -1;
static struct io_uring ring;
static bool ring_up;
static struct imgmap map;
static struct qcow2_file *chan;
static struct w w[NW];

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/cellvm-qchan-XXXXXX");
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(blk_uring_create(&ring, 32, &fd, 1, qchan_uring_ops, qchan_uring_nops), 0);
    ring_up = true;
    imgmap_init(&map);
    cr_assert_eq(qchan_new(fd, &map, &ring, 0, &chan), 0);
    memset(w, 0, sizeof(w));
}

static void teardown(void)
{
    qcow2_file_destroy(chan);
    if (ring_up)
        io_uring_queue_exit(&ring);
    if (fd >= 0)
        close(fd);
    unlink(path);
}

TestSuite(qchan, .init = setup, .fini = teardown, .timeout = 30);

static void w_done(struct qcow2_fio *fio, ssize_t res)
{
    struct w *x = (struct w *)fio;

    cr_assert_not(x->done, "completed twice");
    x->done = true;
    x->res = res;
}

/* Write i: WSZ bytes of 0x10 + i in two iovecs, at off. */
static void submit(unsigned i, uint64_t off)
{
    struct w *x = &w[i];

    memset(x->buf, 0x10 + (int)i, WSZ);
    x->iov[0] = (struct iovec){ x->buf, 1000 };
    x->iov[1] = (struct iovec){ x->buf + 1000, WSZ - 1000 };
    x->fio = (struct qcow2_fio){
        .op = QCOW2_FIO_WRITE, .off = off, .iov = x->iov, .iovcnt = 2, .done = w_done
    };
    cr_assert_eq(chan->ops->submit(chan, &x->fio), 0);
}

static void reap(unsigned n)
{
    struct io_uring_cqe *cqe;
    unsigned seen = 0;

    qchan_issue(chan);
    while (seen < n) {
        cr_assert_eq(io_uring_submit_and_wait(&ring, 1) >= 0, true);
        while (io_uring_peek_cqe(&ring, &cqe) == 0) {
            uint64_t ud = io_uring_cqe_get_data64(cqe);
            int res = cqe->res;

            io_uring_cqe_seen(&ring, cqe);
            qchan_complete(ud, res);
            seen++;
        }
    }
}

static unsigned ndone(void)
{
    unsigned n = 0;

    for (unsigned i = 0; i < NW; i++)
        n += w[i].done;
    return n;
}

Test(qchan, joined_writes_land_in_place)
{
    uint8_t got[WSZ];

    /* Six back to back (joined four and two), one elsewhere; nothing moves before the issue. */
    for (unsigned i = 0; i < 6; i++)
        submit(i, (uint64_t)i * WSZ);
    submit(6, 1u << 20);
    cr_assert_eq(io_uring_sq_ready(&ring), 2, "both groups queued, the last write held back");
    for (int tries = 0; ndone() < NW && tries < 100; tries++)
        reap(1);
    cr_assert_eq(ndone(), NW);
    for (unsigned i = 0; i < NW; i++) {
        uint64_t off = i < 6 ? (uint64_t)i * WSZ : 1u << 20;

        cr_assert_eq(w[i].res, (ssize_t)WSZ, "write %u: %zd", i, w[i].res);
        cr_assert_eq(pread(fd, got, WSZ, (off_t)off), (ssize_t)WSZ);
        for (unsigned k = 0; k < WSZ; k++)
            cr_assert_eq(got[k], 0x10 + i, "write %u byte %u", i, k);
    }
}

Test(qchan, short_joined_write_splits_the_count)
{
    struct rlimit lim = { .rlim_cur = 2 * WSZ + WSZ / 2, .rlim_max = RLIM_INFINITY };

    /* The file may not grow past 2.5 writes: the joined write of four stops there. */
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (unsigned i = 0; i < 4; i++)
        submit(i, (uint64_t)i * WSZ);
    for (int tries = 0; ndone() < 4 && tries < 100; tries++)
        reap(1);
    cr_assert_eq(ndone(), 4);
    cr_assert_eq(w[0].res, (ssize_t)WSZ);
    cr_assert_eq(w[1].res, (ssize_t)WSZ);
    cr_assert_eq(w[2].res, (ssize_t)(WSZ / 2));
    cr_assert_eq(w[3].res, 0);
}
