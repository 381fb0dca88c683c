/*
 * Image creation: a three-cluster bootstrap (header, refcount table, one refcount block) that
 * the engine then grows to the requested size with its own allocator, so creation exercises
 * the same code paths as resize.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_create.h"
#include "blockd/qcow2/qcow2_priv.h"

#define HEADER_LEN 112

static int log2_exact(uint64_t v)
{
    if (v == 0 || (v & (v - 1)))
        return -1;
    return __builtin_ctzll(v);
}

static void set_rc(uint8_t *b, unsigned order, uint64_t i)
{
    unsigned bits = 1u << order;
    uint64_t bit = i * bits + bits - 1; /* value 1 sits in the entry's lowest bit */

    if (order <= 2)
        b[i * bits / 8] |= (uint8_t)(1u << ((i % (8 / bits)) * bits));
    else
        b[bit / 8] = 1;
}

static int prealloc(struct qcow2 *q, enum qcow2_prealloc mode)
{
    uint64_t clusters = (q->size + q->cluster_size - 1) >> q->cluster_bits, host;
    uint8_t *zero = NULL;
    int ret = 0;

    if (mode == QCOW2_PREALLOC_FULL && !(zero = calloc(1, q->cluster_size)))
        return -ENOMEM;
    pthread_mutex_lock(&q->lock);
    for (uint64_t gc = 0; gc < clusters && ret == 0; gc++) {
        ret = q2_alloc_clusters(q, 1, &host);
        if (ret == 0)
            ret = q2_l2_set(q, gc, host | Q2_OFLAG_COPIED);
        if (ret == 0 && zero)
            ret = q2_pwrite_meta(q, zero, q->cluster_size, host);
    }
    if (ret == 0)
        ret = q2_flush_locked(q);
    if (ret == 0)
        ret = q->file->ops->truncate(q->file, q->host_end);
    pthread_mutex_unlock(&q->lock);
    free(zero);
    return ret;
}

int qcow2_create(struct qcow2_file *f, const struct qcow2_create_opts *o, char *err, size_t errlen)
{
    uint32_t cs = o->cluster_size ? o->cluster_size : 65536;
    uint32_t rb = o->refcount_bits ? o->refcount_bits : 16;
    int cbits = log2_exact(cs), order = log2_exact(rb);
    struct qcow2_opts eo = { .sparse = true };
    struct qcow2 *q = NULL;
    uint8_t *boot = NULL;
    int ret;

    if (cbits < 9 || cbits > 21) {
        snprintf(err, errlen, "cluster size must be a power of two from 512 B to 2 MiB");
        return -EINVAL;
    }
    if (order < 0 || order > 6) {
        snprintf(err, errlen, "refcount bits must be a power of two from 1 to 64");
        return -EINVAL;
    }
    if (o->size > Q2_MAX_SIZE) {
        snprintf(err, errlen, "image size exceeds 16 TiB");
        return -EFBIG;
    }
    boot = calloc(3, cs);
    if (!boot)
        return -ENOMEM;
    uint8_t *h = boot;
    q2_put32(h, Q2_MAGIC);
    q2_put32(h + 4, 3);
    q2_put32(h + 20, (uint32_t)cbits);
    q2_put64(h + Q2_H_RT_OFF, cs);
    q2_put32(h + 56, 1);
    q2_put32(h + 96, (uint32_t)order);
    q2_put32(h + 100, HEADER_LEN);
    /* Header extensions end right after the header: an all-zero end marker. */
    q2_put64(boot + cs, 2ull * cs);
    for (unsigned i = 0; i < 3; i++)
        set_rc(boot + 2ull * cs, (unsigned)order, i);
    ret = f->ops->truncate(f, 0);
    if (ret == 0) {
        ssize_t n = f->ops->pwrite(f, boot, 3ull * cs, 0);
        ret = n < 0 ? (int)n : 0;
    }
    if (ret == 0)
        ret = f->ops->flush(f);
    free(boot);
    if (ret < 0) {
        snprintf(err, errlen, "cannot write the image: %s", strerror(-ret));
        return ret;
    }
    ret = qcow2_open(&q, f, &eo, err, errlen);
    if (ret < 0)
        return ret;
    ret = qcow2_resize(q, o->size);
    if (ret == 0 && o->prealloc != QCOW2_PREALLOC_OFF)
        ret = prealloc(q, o->prealloc);
    int cret = qcow2_close(q);
    if (ret == 0)
        ret = cret;
    if (ret == 0 && o->lazy_refcounts) {
        uint8_t c[8];
        q2_put64(c, Q2_COMPAT_LAZY);
        ssize_t n = f->ops->pwrite(f, c, sizeof(c), Q2_H_COMPAT);
        ret = n < 0 ? (int)n : f->ops->flush(f);
    }
    if (ret < 0 && !err[0])
        snprintf(err, errlen, "cannot create the image: %s", strerror(-ret));
    return ret;
}
