/*
 * The asynchronous path on io_uring: many requests in flight at once, including pairs that
 * allocate the same guest cluster and writes spanning clusters; then qemu-img check and
 * compare against a raw copy of what was written.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockd/qcow2/qcow2_uring.h"
#include "q2t.h"

#define CS   65536u
#define NREQ 48
#define SIZE (8u << 20)

struct slot {
    struct qcow2_req req;
    struct iovec iov[2];
    uint8_t *buf;
    int res;
    bool done;
};

static void done_cb(struct qcow2_req *req, int res)
{
    struct slot *s = req->opaque;
    s->res = res;
    s->done = true;
}

static void run_all(struct qcow2 *q, struct qcow2_file *u, struct slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(qcow2_submit(q, &s[i].req), 0);
    for (unsigned spins = 0; spins < 100000; spins++) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            left += !s[i].done;
        if (!left)
            break;
        cr_assert_geq(qcow2_uring_poll(u, 1), 0);
    }
    for (size_t i = 0; i < n; i++) {
        cr_assert(s[i].done, "request %zu never completed", i);
        cr_assert_eq(s[i].res, 0, "request %zu failed: %d", i, s[i].res);
    }
}

Test(qcow2_async, parallel_writes_on_io_uring, .timeout = 60)
{
    char dir[64], path[128], raw[128], err[256];
    static struct slot s[NREQ];
    uint8_t *model = calloc(1, SIZE);

    if (!q2t_have_qemu())
        cr_skip_test("qemu-img not installed (Debian qemu-utils)");
    q2t_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/a.qcow2", dir);
    snprintf(raw, sizeof(raw), "%s/a.raw", dir);
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 %s %u", path, SIZE), 0);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct qcow2_file *u;
    cr_assert_eq(qcow2_uring_file_new(fd, 64, &u), 0);
    struct qcow2 *q;
    struct qcow2_opts o = { .sparse = true };
    cr_assert_eq(qcow2_open(&q, u, &o, err, sizeof(err)), 0, "%s", err);

    /* Pairs share an unallocated cluster (disjoint halves); every 8th spans two clusters and
     * is split over two iovecs. */
    for (size_t i = 0; i < NREQ; i++) {
        uint64_t cl = 2 + (i / 2) * 3, off = cl * CS + (i % 2) * (CS / 2) + 100;
        uint64_t len = CS / 2 - 200;
        if (i % 8 == 7) {
            off = cl * CS + CS - 5000;
            len = 12000;
        }
        s[i].buf = malloc(len);
        memset(s[i].buf, (int)(0x10 + i), len);
        s[i].iov[0] = (struct iovec){ s[i].buf, len / 3 };
        s[i].iov[1] = (struct iovec){ s[i].buf + len / 3, len - len / 3 };
        s[i].req = (struct qcow2_req){ .op = QCOW2_OP_WRITE,
                                       .offset = off,
                                       .iov = s[i].iov,
                                       .iovcnt = 2,
                                       .done = done_cb,
                                       .opaque = &s[i] };
        memcpy(model + off, s[i].buf, len);
    }
    run_all(q, u, s, NREQ);

    /* Then reads in parallel, plus zeroes and discards on other clusters, plus a flush. */
    static struct slot r[NREQ];
    for (size_t i = 0; i < NREQ; i++) {
        r[i].buf = malloc(CS);
        r[i].iov[0] = (struct iovec){ r[i].buf, CS };
        r[i].req = (struct qcow2_req){ .op = QCOW2_OP_READ,
                                       .offset = (2 + i * 3) * (uint64_t)CS,
                                       .iov = r[i].iov,
                                       .iovcnt = 1,
                                       .done = done_cb,
                                       .opaque = &r[i] };
        if ((2 + i * 3 + 1) * (uint64_t)CS > SIZE)
            r[i].req.offset = 0;
    }
    run_all(q, u, r, NREQ);
    for (size_t i = 0; i < NREQ; i++)
        cr_expect_eq(memcmp(r[i].buf, model + r[i].req.offset, CS), 0, "read %zu differs", i);

    static struct slot z[3];
    z[0].req = (struct qcow2_req){ .op = QCOW2_OP_WRITE_ZEROES,
                                   .offset = 5 * CS,
                                   .len = CS + 7,
                                   .done = done_cb,
                                   .opaque = &z[0] };
    z[1].req = (struct qcow2_req){
        .op = QCOW2_OP_DISCARD, .offset = 8 * CS, .len = 2 * CS, .done = done_cb, .opaque = &z[1]
    };
    z[2].req = (struct qcow2_req){ .op = QCOW2_OP_FLUSH, .done = done_cb, .opaque = &z[2] };
    memset(model + 5 * CS, 0, CS + 7);
    memset(model + 8 * CS, 0, 2 * CS);
    run_all(q, u, z, 3);
    cr_assert_eq(qcow2_close(q), 0);
    qcow2_file_destroy(u);
    close(fd);

    int rfd = open(raw, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    cr_assert_eq(write(rfd, model, SIZE), SIZE);
    close(rfd);
    cr_expect_eq(q2t_sh("qemu-img check -q %s", path), 0);
    cr_expect_eq(q2t_sh("qemu-img compare -q -f qcow2 -F raw %s %s", path, raw), 0);
    for (size_t i = 0; i < NREQ; i++) {
        free(s[i].buf);
        free(r[i].buf);
    }
    free(model);
    q2t_rmdir(dir);
}
