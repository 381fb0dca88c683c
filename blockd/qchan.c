/* Per-queue QCOW2 data channel. Everything but submit() is forwarded to a plain fd layer: the
 * engine does metadata I/O synchronously on its own file, so those entries are here only to
 * complete the interface. */
#include "qchan.h"

#include <errno.h>
#include <stdlib.h>

const uint8_t qchan_uring_ops[] = {
    IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_FALLOCATE, IORING_OP_READ,
};
const unsigned qchan_uring_nops = sizeof(qchan_uring_ops) / sizeof(qchan_uring_ops[0]);

struct qchan {
    struct qcow2_file base;
    struct qcow2_file *sync;  /* owned: fd layer for the synchronous entries */
    struct io_uring *ring;    /* the owner thread's ring (not owned) */
    const struct imgmap *map; /* not owned */
    unsigned fixed;
};

static struct qchan *of(struct qcow2_file *f)
{
    return (struct qchan *)f;
}

static ssize_t qc_pread(struct qcow2_file *f, void *buf, size_t len, uint64_t off)
{
    return of(f)->sync->ops->pread(of(f)->sync, buf, len, off);
}

static ssize_t qc_pwrite(struct qcow2_file *f, const void *buf, size_t len, uint64_t off)
{
    return of(f)->sync->ops->pwrite(of(f)->sync, buf, len, off);
}

static int qc_flush(struct qcow2_file *f)
{
    return of(f)->sync->ops->flush(of(f)->sync);
}

static int qc_size(struct qcow2_file *f, uint64_t *size)
{
    return of(f)->sync->ops->size(of(f)->sync, size);
}

static int qc_truncate(struct qcow2_file *f, uint64_t size)
{
    return of(f)->sync->ops->truncate(of(f)->sync, size);
}

static int qc_punch(struct qcow2_file *f, uint64_t off, uint64_t len)
{
    return of(f)->sync->ops->punch(of(f)->sync, off, len);
}

static int qc_submit(struct qcow2_file *f, struct qcow2_fio *fio)
{
    struct qchan *c = of(f);
    struct io_uring_sqe *sqe;

    if (fio->op == QCOW2_FIO_READ) {
        uint64_t len = 0;
        int e;

        for (unsigned i = 0; i < fio->iovcnt; i++)
            len += fio->iov[i].iov_len;
        e = imgmap_read(c->map, fio->off, len, fio->iov, fio->iovcnt);
        if (e != -ERANGE) {
            fio->done(fio, e ? e : (ssize_t)len);
            return 0;
        }
    }
    sqe = io_uring_get_sqe(c->ring);
    if (!sqe) {
        int r = io_uring_submit(c->ring);

        if (r < 0)
            return r;
        sqe = io_uring_get_sqe(c->ring);
        if (!sqe)
            return -EAGAIN;
    }
    switch (fio->op) {
    case QCOW2_FIO_READ:
        io_uring_prep_readv(sqe, (int)c->fixed, fio->iov, fio->iovcnt, fio->off);
        break;
    case QCOW2_FIO_WRITE:
        io_uring_prep_writev(sqe, (int)c->fixed, fio->iov, fio->iovcnt, fio->off);
        break;
    default:
        io_uring_prep_fsync(sqe, (int)c->fixed, IORING_FSYNC_DATASYNC);
        break;
    }
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, fio);
    return 0;
}

void qchan_complete(uint64_t user_data, int res)
{
    struct qcow2_fio *fio = (struct qcow2_fio *)(uintptr_t)user_data;

    fio->done(fio, res);
}

static void qc_destroy(struct qcow2_file *f)
{
    qcow2_file_destroy(of(f)->sync);
    free(f);
}

static const struct qcow2_file_ops qchan_ops = {
    .pread = qc_pread,
    .pwrite = qc_pwrite,
    .flush = qc_flush,
    .size = qc_size,
    .truncate = qc_truncate,
    .punch = qc_punch,
    .submit = qc_submit,
    .destroy = qc_destroy,
};

int qchan_new(int fd, const struct imgmap *map, struct io_uring *ring, unsigned fixed,
              struct qcow2_file **out)
{
    struct qchan *c = calloc(1, sizeof(*c));
    int r;

    if (!c)
        return -ENOMEM;
    r = qcow2_fd_file_new(fd, &c->sync);
    if (r < 0) {
        free(c);
        return r;
    }
    c->base.ops = &qchan_ops;
    c->ring = ring;
    c->map = map;
    c->fixed = fixed;
    *out = &c->base;
    return 0;
}
