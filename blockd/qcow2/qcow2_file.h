#ifndef CELLVM_QCOW2_FILE_H
#define CELLVM_QCOW2_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * The file layer under the QCOW2 engine. The engine does metadata I/O with the synchronous
 * entries (under its metadata lock, rarely) and guest data I/O with submit(), which may
 * complete inline (the plain fd layer, the crash recorder) or later from the owner's poll loop
 * (io_uring). A layer is used by one thread at a time for submit(); the synchronous entries
 * must be safe to call from any thread.
 */
struct qcow2_file;

enum qcow2_fio_op {
    QCOW2_FIO_READ,
    QCOW2_FIO_WRITE,
    QCOW2_FIO_FLUSH,
};

struct qcow2_fio {
    enum qcow2_fio_op op;
    uint64_t off;
    const struct iovec *iov;
    unsigned iovcnt;
    /* res: bytes transferred (a read may be short at end of file) or -errno. */
    void (*done)(struct qcow2_fio *fio, ssize_t res);
};

struct qcow2_file_ops {
    /* Whole-buffer transfers; a read past end of file returns the short count. */
    ssize_t (*pread)(struct qcow2_file *f, void *buf, size_t len, uint64_t off);
    ssize_t (*pwrite)(struct qcow2_file *f, const void *buf, size_t len, uint64_t off);
    int (*flush)(struct qcow2_file *f);
    int (*size)(struct qcow2_file *f, uint64_t *size);
    int (*truncate)(struct qcow2_file *f, uint64_t size);
    /* Deallocates host space (reads back zeroes); -EOPNOTSUPP is fine. */
    int (*punch)(struct qcow2_file *f, uint64_t off, uint64_t len);
    /* Queues fio; 0 or -errno (then done() is not called). */
    int (*submit)(struct qcow2_file *f, struct qcow2_fio *fio);
    void (*destroy)(struct qcow2_file *f);
};

struct qcow2_file {
    const struct qcow2_file_ops *ops;
};

/* A layer over an fd (not owned: the caller closes it after destroy). submit() runs inline. */
int qcow2_fd_file_new(int fd, struct qcow2_file **out);

/* Closes f through its destroy entry; NULL is fine. */
void qcow2_file_destroy(struct qcow2_file *f);

#endif
