/* Engine lifecycle: open (header rules, dirty/corrupt/autoclear bits), close, resize, info. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_priv.h"

#define DEFAULT_L2_CACHE (4u << 20)
#define DEFAULT_RC_CACHE (1u << 20)
#define MIN_CACHE_TABLES 4u

void q2_warn(struct qcow2 *q, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (!q->opts.warn)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    q->opts.warn(q->opts.warn_opaque, msg);
}

/* Records an inconsistency: further writes fail, and the header says so (best effort). */
int q2_mark_corrupt(struct qcow2 *q, const char *why)
{
    if (!q->corrupt)
        q2_warn(q, "qcow2: image is corrupt: %s; marking it corrupt", why);
    q->corrupt = true;
    if (!q->readonly && q->version >= 3 && !(q->incompat & Q2_INCOMPAT_CORRUPT)) {
        q->incompat |= Q2_INCOMPAT_CORRUPT;
        if (q2_header_put_features(q) == 0)
            q->file->ops->flush(q->file);
    }
    return -EIO;
}

static unsigned cache_tables(size_t bytes, size_t dflt, uint64_t cs)
{
    uint64_t n = (bytes ? bytes : dflt) / cs;

    return n < MIN_CACHE_TABLES ? MIN_CACHE_TABLES : n > 65536 ? 65536 : (unsigned)n;
}

static void engine_free(struct qcow2 *q)
{
    q2_cache_free(&q->l2c);
    q2_cache_free(&q->rbc);
    q2_meta_free(&q->meta);
    free(q->l1);
    free(q->rt);
    free(q->pending);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int qcow2_open(struct qcow2 **out, struct qcow2_file *f, const struct qcow2_opts *o, char *err,
               size_t errlen)
{
    char dummy[8];
    struct qcow2 *q;
    int ret;

    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = 0;
    *out = NULL;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->file = f;
    q->opts = *o;
    q->blocked_tl = &q->blocked;
    q->readonly = true; /* nothing is written back until the image is validated */
    pthread_mutex_init(&q->lock, NULL);

    ret = q2_header_load(q, err, errlen);
    if (ret < 0)
        goto fail;
    if (q->incompat & Q2_INCOMPAT_CORRUPT) {
        if (!o->readonly) {
            snprintf(err, errlen,
                     "qcow2: image is marked corrupt; it can only be opened "
                     "read-only");
            ret = -EUCLEAN;
            goto fail;
        }
        q->corrupt = true;
        q2_warn(q, "qcow2: image is marked corrupt; opened read-only");
    }
    if (q->nb_snapshots && !o->readonly) {
        snprintf(err, errlen, "qcow2: image has internal snapshots, which cannot be written");
        ret = -ENOTSUP;
        goto fail;
    }
    ret = q2_cache_init(&q->l2c, cache_tables(o->l2_cache_bytes, DEFAULT_L2_CACHE, q->cluster_size),
                        q->cluster_size);
    if (ret == 0)
        ret = q2_cache_init(&q->rbc,
                            cache_tables(o->rc_cache_bytes, DEFAULT_RC_CACHE, q->cluster_size),
                            q->cluster_size);
    if (ret < 0) {
        snprintf(err, errlen, "qcow2: out of memory");
        goto fail;
    }
    char why[160];
    ret = q2_meta_build(q, why, sizeof(why));
    if (ret == -EUCLEAN && !o->readonly) {
        snprintf(err, errlen, "qcow2: image is corrupt: %s; it can only be opened read-only", why);
        goto fail;
    }
    if (ret == -EUCLEAN) {
        /* Reads through the overlapping tables fail; the rest of the image stays readable. */
        q->corrupt = true;
        q2_warn(q, "qcow2: image is corrupt: %s; opened read-only", why);
    } else if (ret < 0) {
        snprintf(err, errlen, "qcow2: out of memory");
        goto fail;
    }
    if (!o->readonly) {
        q->readonly = false;
        if (q->incompat & Q2_INCOMPAT_DIRTY) {
            q2_warn(q, "qcow2: image was not closed cleanly; rebuilding refcounts");
            ret = q2_rebuild_refcounts(q);
            if (ret < 0) {
                snprintf(err, errlen, "qcow2: cannot rebuild the refcounts of a dirty image: %s",
                         strerror(-ret));
                goto fail;
            }
        }
        if (q->version >= 3) {
            /* Refcounts are always kept exact here, so lazy_refcounts is dropped; autoclear
             * bits name features this engine does not keep up to date. */
            q->incompat |= Q2_INCOMPAT_DIRTY;
            q->compat &= ~Q2_COMPAT_LAZY;
            q->autoclear = 0;
            q->lazy = false;
            ret = q2_header_put_features(q);
            if (ret == 0)
                ret = f->ops->flush(f);
            if (ret < 0) {
                snprintf(err, errlen, "qcow2: cannot set the dirty bit: %s", strerror(-ret));
                goto fail;
            }
            q->dirty_set = true;
        }
    }
    *out = q;
    return 0;
fail:
    engine_free(q);
    return ret;
}

int qcow2_close(struct qcow2 *q)
{
    int ret;

    if (!q)
        return 0;
    pthread_mutex_lock(&q->lock);
    ret = q2_flush_locked(q);
    if (ret == 0 && q->dirty_set && !q->corrupt) {
        q->incompat &= ~Q2_INCOMPAT_DIRTY;
        ret = q2_header_put_features(q);
        if (ret == 0)
            ret = q->file->ops->flush(q->file);
    }
    pthread_mutex_unlock(&q->lock);
    engine_free(q);
    return ret;
}

int qcow2_flush(struct qcow2 *q)
{
    pthread_mutex_lock(&q->lock);
    int ret = q2_flush_locked(q);
    pthread_mutex_unlock(&q->lock);
    return ret;
}

int qcow2_resize(struct qcow2 *q, uint64_t new_size)
{
    int ret = 0;

    pthread_mutex_lock(&q->lock);
    if (q->readonly)
        ret = -EROFS;
    else if (q->corrupt)
        ret = -EIO;
    else if (new_size < q->size)
        ret = -ENOTSUP;
    else if (new_size > Q2_MAX_SIZE)
        ret = -EFBIG;
    if (ret < 0 || new_size == q->size)
        goto out;
    uint64_t span = q->cluster_size << q->l2_bits;
    uint64_t need = (new_size + span - 1) / span;
    ret = q2_grow_l1(q, (uint32_t)need);
    if (ret == 0)
        ret = q2_flush_locked(q);
    if (ret == 0)
        ret = q2_header_put64(q, Q2_H_SIZE, new_size);
    if (ret == 0)
        ret = q->file->ops->flush(q->file);
    if (ret == 0)
        __atomic_store_n(&q->size, new_size, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void qcow2_set_backing(struct qcow2 *q, const struct qcow2_backing *backing)
{
    pthread_mutex_lock(&q->lock);
    q->opts.backing = backing;
    pthread_mutex_unlock(&q->lock);
}

uint64_t qcow2_size(const struct qcow2 *q)
{
    return __atomic_load_n(&q->size, __ATOMIC_ACQUIRE);
}

uint32_t qcow2_cluster_size(const struct qcow2 *q)
{
    return (uint32_t)q->cluster_size;
}

void qcow2_get_info(struct qcow2 *q, struct qcow2_info *info)
{
    memset(info, 0, sizeof(*info));
    pthread_mutex_lock(&q->lock);
    info->version = q->version;
    info->cluster_bits = q->cluster_bits;
    info->refcount_bits = 1u << q->rc_order;
    info->size = q->size;
    q->file->ops->size(q->file, &info->file_size);
    info->lazy_refcounts = q->lazy;
    info->corrupt = q->corrupt;
    info->dirty = q->incompat & Q2_INCOMPAT_DIRTY;
    info->zstd = q->zstd;
    snprintf(info->backing, sizeof(info->backing), "%s", q->backing_name);
    snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s", q->backing_fmt);
    pthread_mutex_unlock(&q->lock);
}

bool qcow2_probe(struct qcow2_file *f)
{
    uint8_t m[4];

    return f->ops->pread(f, m, sizeof(m), 0) == 4 && q2_be32(m) == Q2_MAGIC;
}

struct sync_wait {
    int res;
    bool done;
};

static void sync_done(struct qcow2_req *req, int res)
{
    struct sync_wait *w = req->opaque;

    w->res = res;
    w->done = true;
}

static int sync_req(struct qcow2 *q, enum qcow2_op op, void *buf, size_t len, uint64_t off)
{
    struct iovec iov = { buf, len };
    struct sync_wait w = { 0, false };
    struct qcow2_req req = {
        .op = op,
        .offset = off,
        .len = len,
        .iov = &iov,
        .iovcnt = 1,
        .done = sync_done,
        .opaque = &w,
    };
    int ret = qcow2_submit(q, &req);

    if (ret < 0)
        return ret;
    return w.done ? w.res : -EINPROGRESS;
}

int qcow2_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
    return sync_req(q, QCOW2_OP_READ, buf, len, off);
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
    return sync_req(q, QCOW2_OP_WRITE, (void *)(uintptr_t)buf, len, off);
}

int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zeroes)
{
    return sync_req(q, zeroes ? QCOW2_OP_WRITE_ZEROES : QCOW2_OP_DISCARD, NULL, len, off);
}
