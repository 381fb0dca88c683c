#ifndef CELLVM_QCOW2_H
#define CELLVM_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "blockd/qcow2/qcow2_file.h"

/*
 * QCOW2 v2/v3 engine. No VM, no vhost-user: guest offsets in, file-layer I/O out.
 *
 * Concurrency: requests may be submitted from several threads, each with its own file-layer
 * channel (qcow2_req.chan). Mapping and metadata changes happen under a short internal lock;
 * guest data I/O runs outside it, in parallel. Writes (and discards, write-zeroes) whose
 * cluster-aligned ranges overlap an in-flight write wait for it, so allocation of one guest
 * cluster is never raced. Metadata reaches the file only at flush (or cache eviction), in an
 * order that keeps every flushed state consistent: refcount blocks, refcount table, L2 tables,
 * L1 table, then deferred refcount decrements. A crash between flushes can only leak clusters.
 */
struct qcow2;

/*
 * Backing hook (blockd's chain plugs in here): called outside the engine lock, on the thread
 * that submitted the request, to fill guest bytes of clusters this image does not allocate.
 * Bytes past the end of the backing image must read as zeroes (the overlay may be larger, or
 * grow by resize). Returns 0 or -errno.
 */
struct qcow2_backing {
    int (*read)(void *opaque, uint64_t guest_off, void *buf, size_t len);
    void *opaque;
};

struct qcow2_opts {
    bool readonly;
    /* An image naming a backing file is refused unless this is set (backing_files=on). */
    bool allow_backing;
    /* sparse=on: discard frees clusters; off: discard keeps them, zero-flagged. */
    bool sparse;
    const struct qcow2_backing *backing; /* NULL: unallocated clusters read as zeroes */
    size_t l2_cache_bytes;               /* 0: default (4 MiB) */
    size_t rc_cache_bytes;               /* 0: default (1 MiB) */
    /* Warnings (dirty image repaired, corrupt image opened read-only...). NULL: silent. */
    void (*warn)(void *opaque, const char *msg);
    void *warn_opaque;
};

enum qcow2_op {
    QCOW2_OP_READ,
    QCOW2_OP_WRITE,
    QCOW2_OP_DISCARD,
    QCOW2_OP_WRITE_ZEROES,
    QCOW2_OP_FLUSH,
};

struct qcow2_req {
    enum qcow2_op op;
    uint64_t offset; /* guest bytes */
    uint64_t len;    /* DISCARD/WRITE_ZEROES; READ/WRITE take the iovec total */
    const struct iovec *iov;
    unsigned iovcnt;
    struct qcow2_file *chan; /* data channel of the submitting thread; NULL: the image file */
    /* res: 0 or -errno. Runs inline or from chan's completion path, never under the lock. */
    void (*done)(struct qcow2_req *req, int res);
    /*
     * Optional. A write that waited behind an overlapping in-flight write is woken by whichever
     * thread finishes that write. With wake set, the engine calls it there (outside the lock)
     * and the owner must call qcow2_resume(req) from the thread that owns chan; without it the
     * request restarts inline on the waking thread, which is only right for a chan any thread
     * may submit to (the fd layer).
     */
    void (*wake)(struct qcow2_req *req);
    void *opaque;
    void *priv;           /* engine-owned while in flight */
    struct qcow2_fio fio; /* engine-owned: the data I/O of a read served without a plan */
};

/* What `info` shows; filled by qcow2_get_info. */
struct qcow2_info {
    uint32_t version;
    uint32_t cluster_bits;
    uint32_t refcount_bits;
    uint64_t size;
    uint64_t file_size;
    bool lazy_refcounts;
    bool corrupt;
    bool dirty;
    bool zstd;
    char backing[1024];   /* empty: none */
    char backing_fmt[16]; /* backing format extension ("raw", "qcow2"); empty: none */
};

/*
 * Opens the image on f (not owned; it must outlive the engine). On failure returns -errno and,
 * if err is set, a message saying why (an unknown feature bit is named).
 */
int qcow2_open(struct qcow2 **out, struct qcow2_file *f, const struct qcow2_opts *o, char *err,
               size_t errlen);

/* Flushes, clears the dirty bit and frees the engine. Returns the flush result. */
int qcow2_close(struct qcow2 *q);

/* Starts req; returns 0 (done() will run) or -errno (done() will not run). */
int qcow2_submit(struct qcow2 *q, struct qcow2_req *req);

/* Restarts a request the engine handed to its wake() hook; done() will run. */
void qcow2_resume(struct qcow2_req *req);

/*
 * Attaches the backing chain after qcow2_open (which tells, through qcow2_get_info, what the
 * image names) and before the first request. backing must outlive the engine.
 */
void qcow2_set_backing(struct qcow2 *q, const struct qcow2_backing *backing);

/* Synchronous helpers for tools and tests: 0 or -errno; only with inline-completing files. */
int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off);

/* Discard (zeroes false) or write-zeroes of [off, off+len), synchronously. */
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zeroes);

int qcow2_flush(struct qcow2 *q);

/* Grow-only resize; shrinking is refused with -ENOTSUP. With a backing file, the bytes past
 * its end read as zeroes (the hook's contract). */
int qcow2_resize(struct qcow2 *q, uint64_t new_size);

uint64_t qcow2_size(const struct qcow2 *q);
uint32_t qcow2_cluster_size(const struct qcow2 *q);
void qcow2_get_info(struct qcow2 *q, struct qcow2_info *info);

/* True if f starts with the QCOW magic. */
bool qcow2_probe(struct qcow2_file *f);

#endif
