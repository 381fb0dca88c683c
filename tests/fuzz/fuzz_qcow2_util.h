/*
 * Shared by the qcow2 fuzz targets (static, included once per target). The image under test is
 * the fuzz input after an 8-byte control header, written into one memfd reused across inputs
 * and opened through the synchronous fd file layer (the path cellvm-img and the unit tests use;
 * blockd's io_uring layer differs only in how guest data I/O completes).
 *
 * Control header: h[0] flags (FQ_*), h[1..7] one guest operation each: kind in the low 3 bits,
 * a position in 32nds of the virtual size in the high 5.
 */
#ifndef CELLVM_TESTS_FUZZ_QCOW2_UTIL_H
#define CELLVM_TESTS_FUZZ_QCOW2_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blockd/qcow2/qcow2.h"
#include "blockd/qcow2/qcow2_file.h"

#define FQ_HDR        8
#define FQ_READONLY   0x01
#define FQ_BACKING    0x02 /* allow_backing, with a backing hook that fills a pattern */
#define FQ_SPARSE     0x04
#define FQ_SMALLCACHE 0x08 /* smallest caches: every few tables are evicted and written back */
#define FQ_MAX_IO     (4u << 20)

enum fq_kind { FQ_READ, FQ_READ2, FQ_WRITE, FQ_WRITE2, FQ_DISCARD, FQ_ZEROES, FQ_FLUSH, FQ_RESIZE };

struct fq {
    int fd;
    struct qcow2_file *f;
    struct qcow2 *q;
    struct qcow2_backing hook;
    uint8_t *buf, *chk; /* FQ_MAX_IO each */
};

static void fq_warn(void *opaque, const char *msg)
{
    (void)opaque;
    /* Findings go to logs: one printable line, bounded by the engine's 512-byte buffer. */
    for (size_t i = 0; msg[i]; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] == 0x7f)
            abort();
}

/* The engine asks the chain only for guest bytes of this disk. */
static int fq_backing_read(void *opaque, uint64_t guest_off, void *buf, size_t len)
{
    struct fq *s = opaque;

    if (!len || guest_off + len < guest_off || guest_off + len > qcow2_size(s->q))
        abort();
    memset(buf, 0x42, len);
    return 0;
}

static int fq_init(struct fq *s)
{
    if (s->fd >= 0)
        return 0;
    s->fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    s->buf = malloc(FQ_MAX_IO);
    s->chk = malloc(FQ_MAX_IO);
    if (s->fd < 0 || !s->buf || !s->chk)
        abort();
    return 0;
}

/* Loads the image bytes into the memfd and opens it. 0 or -errno. */
static int fq_open(struct fq *s, const uint8_t *img, size_t len, uint8_t flags, bool readonly)
{
    struct qcow2_opts o = {
        .readonly = readonly,
        .allow_backing = flags & FQ_BACKING,
        .sparse = flags & FQ_SPARSE,
        /* Not the 4 MiB default: thousands of table buffers per input would dominate. */
        .l2_cache_bytes = flags & FQ_SMALLCACHE ? 1 : 64 * 1024,
        .rc_cache_bytes = flags & FQ_SMALLCACHE ? 1 : 32 * 1024,
        .warn = fq_warn,
    };
    char err[256];
    int r;

    s->q = NULL;
    s->f = NULL;
    if (img) {
        if (ftruncate(s->fd, 0) < 0 || (len && pwrite(s->fd, img, len, 0) != (ssize_t)len))
            abort();
    }
    s->hook.read = fq_backing_read;
    s->hook.opaque = s;
    if (flags & FQ_BACKING)
        o.backing = &s->hook;
    if (qcow2_fd_file_new(s->fd, &s->f) < 0)
        abort();
    err[0] = '\0';
    r = qcow2_open(&s->q, s->f, &o, err, sizeof(err));
    if (r < 0) {
        if (s->q || !err[0])
            abort();        /* a refusal always says why */
        fq_warn(NULL, err); /* printable too: names from the image are escaped */
        qcow2_file_destroy(s->f);
        s->f = NULL;
    }
    return r;
}

static int fq_close(struct fq *s)
{
    int r = qcow2_close(s->q);

    qcow2_file_destroy(s->f);
    s->q = NULL;
    s->f = NULL;
    return r;
}

static bool fq_corrupt(struct fq *s)
{
    struct qcow2_info info;

    qcow2_get_info(s->q, &info);
    return info.corrupt;
}

/*
 * One guest operation. Reads and writes cross a cluster boundary when they can; a write is read
 * back at once, and write-zeroes must read as zeroes, unless the engine declared the image
 * corrupt meanwhile. Returns the engine's result, or 1 when the disk is empty.
 */
static int fq_op(struct fq *s, uint8_t code, uint8_t salt)
{
    uint64_t size = qcow2_size(s->q), cs = qcow2_cluster_size(s->q);
    uint64_t off, len;
    int r;

    if ((code & 7) == FQ_FLUSH)
        return qcow2_flush(s->q);
    if ((code & 7) == FQ_RESIZE)
        return qcow2_resize(s->q, size + cs * (1 + salt % 4));
    if (!size)
        return 1; /* nothing to do on an empty disk */
    off = (size / 32 * (code >> 3)) & ~511ull;
    if ((salt & 1) && off + 512 < size)
        off += 512;
    len = cs + 512 < FQ_MAX_IO ? cs + 512 : FQ_MAX_IO;
    if (len > size - off)
        len = size - off;
    switch (code & 7) {
    case FQ_READ:
    case FQ_READ2:
        return qcow2_pread(s->q, s->buf, len, off);
    case FQ_WRITE:
    case FQ_WRITE2:
        memset(s->buf, salt | 1, len);
        r = qcow2_pwrite(s->q, s->buf, len, off);
        if (r < 0)
            return r;
        r = qcow2_pread(s->q, s->chk, len, off);
        if (r == 0 && memcmp(s->buf, s->chk, len) && !fq_corrupt(s))
            abort(); /* a write that succeeded does not read back */
        return r;
    case FQ_DISCARD:
        return qcow2_discard(s->q, off, len, false);
    default:
        r = qcow2_discard(s->q, off, len, true);
        if (r < 0)
            return r;
        r = qcow2_pread(s->q, s->chk, len, off);
        if (r == 0 && !fq_corrupt(s))
            for (uint64_t i = 0; i < len; i++)
                if (s->chk[i])
                    abort(); /* write-zeroes that does not read as zeroes */
        return r;
    }
}

#endif
