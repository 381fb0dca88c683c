/* File layers over a host fd: a synchronous one (tools, tests) and an io_uring one (blockd). */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockd/qcow2/qcow2_file.h"
#include "blockd/qcow2/qcow2_uring.h"

struct fd_file {
    struct qcow2_file base;
    int fd; /* not owned */
};

struct uring_file {
    struct fd_file f;
    struct io_uring ring; /* owns the ring fd (O_CLOEXEC by the kernel) */
    unsigned queued;
};

static int fd_of(struct qcow2_file *f)
{
    return ((struct fd_file *)f)->fd;
}

static ssize_t fd_pread(struct qcow2_file *f, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd_of(f), (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static ssize_t fd_pwrite(struct qcow2_file *f, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd_of(f), (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int fd_flush(struct qcow2_file *f)
{
    return fdatasync(fd_of(f)) < 0 ? -errno : 0;
}

static int fd_size(struct qcow2_file *f, uint64_t *size)
{
    struct stat st;

    if (fstat(fd_of(f), &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int fd_truncate(struct qcow2_file *f, uint64_t size)
{
    return ftruncate(fd_of(f), (off_t)size) < 0 ? -errno : 0;
}

static int fd_punch(struct qcow2_file *f, uint64_t off, uint64_t len)
{
    int r = fallocate(fd_of(f), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
    return r < 0 ? -errno : 0;
}

static int fd_submit(struct qcow2_file *f, struct qcow2_fio *fio)
{
    ssize_t res = 0;

    if (fio->op == QCOW2_FIO_FLUSH) {
        res = fd_flush(f);
    } else {
        uint64_t off = fio->off;
        for (unsigned i = 0; i < fio->iovcnt; i++) {
            const struct iovec *v = &fio->iov[i];
            ssize_t n = fio->op == QCOW2_FIO_READ ? fd_pread(f, v->iov_base, v->iov_len, off)
                                                  : fd_pwrite(f, v->iov_base, v->iov_len, off);
            if (n < 0) {
                res = n;
                break;
            }
            res += n;
            off += (uint64_t)n;
            if ((size_t)n < v->iov_len)
                break;
        }
    }
    fio->done(fio, res);
    return 0;
}

static void fd_destroy(struct qcow2_file *f)
{
    free(f);
}

static const struct qcow2_file_ops fd_ops = {
    .pread = fd_pread,
    .pwrite = fd_pwrite,
    .flush = fd_flush,
    .size = fd_size,
    .truncate = fd_truncate,
    .punch = fd_punch,
    .submit = fd_submit,
    .destroy = fd_destroy,
};

int qcow2_fd_file_new(int fd, struct qcow2_file **out)
{
    struct fd_file *f = calloc(1, sizeof(*f));

    if (!f)
        return -ENOMEM;
    f->base.ops = &fd_ops;
    f->fd = fd;
    *out = &f->base;
    return 0;
}

void qcow2_file_destroy(struct qcow2_file *f)
{
    if (f)
        f->ops->destroy(f);
}

static int uring_submit(struct qcow2_file *f, struct qcow2_fio *fio)
{
    struct uring_file *u = (struct uring_file *)f;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

    if (!sqe) {
        int r = io_uring_submit(&u->ring);
        if (r < 0)
            return r;
        u->queued = 0;
        sqe = io_uring_get_sqe(&u->ring);
        if (!sqe)
            return -EAGAIN;
    }
    switch (fio->op) {
    case QCOW2_FIO_READ:
        io_uring_prep_readv(sqe, u->f.fd, fio->iov, fio->iovcnt, fio->off);
        break;
    case QCOW2_FIO_WRITE:
        io_uring_prep_writev(sqe, u->f.fd, fio->iov, fio->iovcnt, fio->off);
        break;
    default:
        io_uring_prep_fsync(sqe, u->f.fd, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, fio);
    u->queued++;
    return 0;
}

int qcow2_uring_poll(struct qcow2_file *f, unsigned wait)
{
    struct uring_file *u = (struct uring_file *)f;
    struct io_uring_cqe *cqe;
    int ran = 0, r;

    r = io_uring_submit_and_wait(&u->ring, wait);
    if (r < 0 && r != -EINTR)
        return r;
    u->queued = 0;
    /* One at a time: a completion may submit more work on this ring. */
    while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
        struct qcow2_fio *fio = io_uring_cqe_get_data(cqe);
        ssize_t res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        fio->done(fio, res);
        ran++;
    }
    return ran;
}

int qcow2_uring_fd(struct qcow2_file *f)
{
    return ((struct uring_file *)f)->ring.ring_fd;
}

static void uring_destroy(struct qcow2_file *f)
{
    struct uring_file *u = (struct uring_file *)f;

    io_uring_queue_exit(&u->ring);
    free(u);
}

static const struct qcow2_file_ops uring_ops = {
    .pread = fd_pread,
    .pwrite = fd_pwrite,
    .flush = fd_flush,
    .size = fd_size,
    .truncate = fd_truncate,
    .punch = fd_punch,
    .submit = uring_submit,
    .destroy = uring_destroy,
};

int qcow2_uring_file_new(int fd, unsigned depth, struct qcow2_file **out)
{
    struct uring_file *u = calloc(1, sizeof(*u));
    int r;

    if (!u)
        return -ENOMEM;
    r = io_uring_queue_init(depth, &u->ring, 0);
    if (r < 0) {
        free(u);
        return r;
    }
    u->f.base.ops = &uring_ops;
    u->f.fd = fd;
    *out = &u->f.base;
    return 0;
}
