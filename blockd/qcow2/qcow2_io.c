/*
 * Requests: planned under the metadata lock (mapping, allocation, metadata-only changes),
 * executed outside it (data I/O on the request's channel), finished under the lock again
 * (L2 entries of newly written clusters installed, replaced clusters released).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_priv.h"

enum seg_kind {
    SEG_READ_HOST,
    SEG_ZERO,
    SEG_BACKING,
    SEG_COMPRESSED,
    SEG_WRITE_HOST,
    SEG_WRITE_ALLOC,
};

struct q2_op;

struct q2_seg {
    struct qcow2_fio fio;
    struct q2_op *op;
    enum seg_kind kind;
    bool zsrc;  /* write zeroes instead of request data */
    bool fresh; /* host cluster newly allocated (released again if the write fails) */
    int err;
    uint64_t roff; /* offset into the request's data */
    uint64_t len;
    uint64_t host;
    uint64_t coff; /* offset inside the guest cluster */
    uint64_t gc;
    uint64_t old;    /* L2 entry before the write */
    uint64_t newent; /* L2 entry installed when the data is down */
    uint8_t *bounce;
    struct iovec one;
    struct iovec *iov;
    unsigned iovcnt;
};

struct q2_op {
    struct qcow2 *q;
    struct qcow2_req *req;
    struct q2_range range;
    struct q2_op *next_blocked;
    bool busy;
    int pending;
    int err;
    uint64_t total;
    struct q2_seg *segs; /* seg_one, or an array of cap on the heap */
    size_t nsegs, cap;
    uint8_t *zero; /* one cluster of zeroes for write-zeroes pieces */
    /* Most requests (a read or write inside one cluster, or contiguous on the host) are one
     * segment: it lives here, so they cost one allocation, not two. */
    struct q2_seg seg_one;
};

static bool is_write(enum qcow2_op op)
{
    return op == QCOW2_OP_WRITE || op == QCOW2_OP_DISCARD || op == QCOW2_OP_WRITE_ZEROES;
}

static struct q2_seg *seg_add(struct q2_op *op, enum seg_kind kind, uint64_t roff, uint64_t len)
{
    if (op->nsegs == 0 && op->cap == 0) {
        op->segs = &op->seg_one;
        op->cap = 1;
    } else if (op->nsegs == op->cap) {
        /* Segments move only while the request is planned, before any of them runs. */
        size_t cap = op->cap * 4;
        struct q2_seg *s = op->segs == &op->seg_one ? malloc(cap * sizeof(*s))
                                                    : realloc(op->segs, cap * sizeof(*s));
        if (!s)
            return NULL;
        if (op->segs == &op->seg_one)
            s[0] = op->seg_one;
        op->segs = s;
        op->cap = cap;
    }
    struct q2_seg *s = &op->segs[op->nsegs++];
    memset(s, 0, sizeof(*s));
    s->op = op;
    s->kind = kind;
    s->roff = roff;
    s->len = len;
    return s;
}

/* Appends or extends the previous segment when the host range continues it. */
static int seg_host(struct q2_op *op, enum seg_kind kind, uint64_t roff, uint64_t len,
                    uint64_t host, bool zsrc)
{
    if (op->nsegs) {
        struct q2_seg *p = &op->segs[op->nsegs - 1];
        if (p->kind == kind && !zsrc && !p->zsrc && p->roff + p->len == roff &&
            (kind == SEG_ZERO || p->host + p->len == host)) {
            p->len += len;
            return 0;
        }
    }
    struct q2_seg *s = seg_add(op, kind, roff, len);
    if (!s)
        return -ENOMEM;
    s->host = host;
    s->zsrc = zsrc;
    return 0;
}

static bool entry_zero(const struct qcow2 *q, uint64_t e)
{
    return q->version >= 3 && !(e & Q2_OFLAG_COMPRESSED) && (e & Q2_OFLAG_ZERO);
}

/* Guest data must never alias the image's own tables: reading would show them to the guest,
 * writing would overwrite them. */
static int data_overlap(struct qcow2 *q, uint64_t off, uint64_t len)
{
    char why[96];
    const char *what = q2_meta_at(q, off, len, 0);

    if (!what)
        return 0;
    snprintf(why, sizeof(why), "an L2 entry maps guest data onto %s", what);
    return q2_mark_corrupt(q, why);
}

/* Checks a normal (uncompressed) entry's host offset; 0 = unallocated. */
static int entry_host(struct qcow2 *q, uint64_t e, uint64_t *host)
{
    uint64_t reserved = Q2_L2_RESERVED | (q->version < 3 ? Q2_OFLAG_ZERO : 0);

    *host = e & Q2_OFF_MASK;
    if ((e & reserved) || (*host & (q->cluster_size - 1)))
        return q2_mark_corrupt(q, "invalid L2 entry");
    return *host ? data_overlap(q, *host, q->cluster_size) : 0;
}

static int plan_read(struct q2_op *op, uint64_t pos, uint64_t roff, uint64_t n)
{
    struct qcow2 *q = op->q;
    uint64_t gc = pos >> q->cluster_bits, coff = pos & (q->cluster_size - 1), e, host;
    int ret = q2_l2_get(q, gc, &e);

    if (ret < 0)
        return ret;
    if (e & Q2_OFLAG_COMPRESSED) {
        uint64_t zoff, zlen;
        q2_compressed_span(q, e, &zoff, &zlen);
        if ((ret = data_overlap(q, zoff, zlen)) < 0)
            return ret;
        struct q2_seg *s = seg_add(op, SEG_COMPRESSED, roff, n);
        if (!s)
            return -ENOMEM;
        s->old = e;
        s->coff = coff;
        return 0;
    }
    if (entry_zero(q, e))
        return seg_host(op, SEG_ZERO, roff, n, 0, false);
    if ((ret = entry_host(q, e, &host)) < 0)
        return ret;
    if (host)
        return seg_host(op, SEG_READ_HOST, roff, n, host + coff, false);
    if (!q->opts.backing)
        return seg_host(op, SEG_ZERO, roff, n, 0, false);
    struct q2_seg *s = seg_add(op, SEG_BACKING, roff, n);
    if (!s)
        return -ENOMEM;
    s->gc = gc;
    s->coff = coff;
    return 0;
}

static int plan_write(struct q2_op *op, uint64_t pos, uint64_t roff, uint64_t n, bool zsrc)
{
    struct qcow2 *q = op->q;
    uint64_t gc = pos >> q->cluster_bits, coff = pos & (q->cluster_size - 1), e, host = 0;
    int ret = q2_l2_get(q, gc, &e);

    if (ret < 0)
        return ret;
    if (!(e & Q2_OFLAG_COMPRESSED) && (ret = entry_host(q, e, &host)) < 0)
        return ret;
    if (host && host >= q->host_end)
        return q2_mark_corrupt(q, "data cluster past the end of the image");
    if (host && (e & Q2_OFLAG_COPIED) && !entry_zero(q, e))
        return seg_host(op, SEG_WRITE_HOST, roff, n, host + coff, zsrc);

    struct q2_seg *s = seg_add(op, SEG_WRITE_ALLOC, roff, n);
    if (!s)
        return -ENOMEM;
    s->zsrc = zsrc;
    s->gc = gc;
    s->coff = coff;
    s->old = e;
    if (host && (e & Q2_OFLAG_COPIED)) {
        s->host = host; /* zero-flagged cluster we own: rewrite it in place */
    } else {
        if ((ret = q2_alloc_clusters(q, 1, &s->host)) < 0)
            return ret;
        s->fresh = true;
    }
    s->newent = s->host | Q2_OFLAG_COPIED;
    return 0;
}

/* Releases what entry e referenced, once the new mapping is flushed. */
static int release_entry(struct qcow2 *q, uint64_t e, uint64_t keep_host)
{
    uint64_t off, len;

    if (e & Q2_OFLAG_COMPRESSED) {
        q2_compressed_span(q, e, &off, &len);
        return q2_free_later(q, off & ~(q->cluster_size - 1), len + (off & (q->cluster_size - 1)));
    }
    off = e & Q2_OFF_MASK;
    if (off && off != keep_host)
        return q2_free_later(q, off, q->cluster_size);
    return 0;
}

/* A whole cluster of discard or write-zeroes: mostly an L2 change, no data I/O. */
static int plan_zero_cluster(struct q2_op *op, uint64_t pos, uint64_t roff, uint64_t n)
{
    struct qcow2 *q = op->q;
    uint64_t gc = pos >> q->cluster_bits, e, host = 0, ne;
    bool discard = op->req->op == QCOW2_OP_DISCARD, v3 = q->version >= 3;
    bool backing = q->opts.backing != NULL;
    int ret = q2_l2_get(q, gc, &e);

    if (ret < 0)
        return ret;
    if (!(e & Q2_OFLAG_COMPRESSED) && (ret = entry_host(q, e, &host)) < 0)
        return ret;
    bool owned = host && (e & Q2_OFLAG_COPIED);
    if (!v3) {
        if (backing || (discard && !q->opts.sparse && host))
            return discard && backing ? 0 : plan_write(op, pos, roff, n, true);
        ne = 0;
    } else if (!q->opts.sparse && owned) {
        ne = host | Q2_OFLAG_COPIED | Q2_OFLAG_ZERO;
    } else if (discard && q->opts.sparse && !backing) {
        ne = 0;
    } else {
        ne = Q2_OFLAG_ZERO;
    }
    if (ne == e || (e == 0 && ne == 0))
        return 0;
    if ((ret = q2_l2_set(q, gc, ne)) < 0)
        return ret;
    return release_entry(q, e, ne & Q2_OFF_MASK);
}

static int plan(struct q2_op *op)
{
    struct qcow2 *q = op->q;
    uint64_t cs = q->cluster_size, pos = op->req->offset, end = pos + op->total;
    int ret = 0;

    if (q->corrupt && is_write(op->req->op))
        return -EIO;
    while (pos < end && ret == 0) {
        uint64_t n = cs - (pos & (cs - 1));
        if (n > end - pos)
            n = end - pos;
        uint64_t roff = pos - op->req->offset;
        bool whole = (pos & (cs - 1)) == 0 && (n == cs || pos + n == q->size);
        switch (op->req->op) {
        case QCOW2_OP_READ:
            ret = plan_read(op, pos, roff, n);
            break;
        case QCOW2_OP_WRITE:
            ret = plan_write(op, pos, roff, n, false);
            break;
        case QCOW2_OP_WRITE_ZEROES:
            ret = whole ? plan_zero_cluster(op, pos, roff, n) : plan_write(op, pos, roff, n, true);
            break;
        case QCOW2_OP_DISCARD:
            ret = whole ? plan_zero_cluster(op, pos, roff, n) : 0;
            break;
        default:
            ret = -EINVAL;
            break;
        }
        pos += n;
    }
    return ret;
}

/* Builds the iovec for request bytes [roff, roff+len) of seg (or a zero source). */
static int seg_iov(struct q2_seg *s)
{
    struct q2_op *op = s->op;
    const struct iovec *src = op->req->iov;
    unsigned cnt = op->req->iovcnt, first = 0, k = 0;
    uint64_t skip = s->roff, left = s->len;

    if (s->zsrc) {
        s->one.iov_base = op->zero;
        s->one.iov_len = s->len;
        s->iov = &s->one;
        s->iovcnt = 1;
        return 0;
    }
    while (first < cnt && skip >= src[first].iov_len)
        skip -= src[first++].iov_len;
    unsigned need = 0;
    for (uint64_t l = left + skip, i = first; i < cnt && l; i++, need++)
        l -= l < src[i].iov_len ? l : src[i].iov_len;
    if (need == 1) {
        s->iov = &s->one;
    } else {
        s->iov = calloc(need ? need : 1, sizeof(*s->iov));
        if (!s->iov)
            return -ENOMEM;
    }
    for (unsigned i = first; i < cnt && left; i++, k++) {
        uint64_t take = src[i].iov_len - skip;
        if (take > left)
            take = left;
        s->iov[k].iov_base = (uint8_t *)src[i].iov_base + skip;
        s->iov[k].iov_len = take;
        left -= take;
        skip = 0;
    }
    s->iovcnt = k;
    return 0;
}

/* Copies between a flat buffer and seg's iovec. */
static void iov_copy(const struct q2_seg *s, uint8_t *buf, bool to_iov)
{
    for (unsigned i = 0; i < s->iovcnt; i++) {
        if (to_iov)
            memcpy(s->iov[i].iov_base, buf, s->iov[i].iov_len);
        else
            memcpy(buf, s->iov[i].iov_base, s->iov[i].iov_len);
        buf += s->iov[i].iov_len;
    }
}

static void op_finish(struct q2_op *op);

static void op_put(struct q2_op *op)
{
    if (__atomic_sub_fetch(&op->pending, 1, __ATOMIC_ACQ_REL) == 0)
        op_finish(op);
}

static void seg_done(struct q2_seg *s, int err)
{
    s->err = err;
    if (err && !s->op->err)
        s->op->err = err;
    op_put(s->op);
}

/* Past the end of the file reads as zeroes: clears what follows the first skip bytes. */
static void zero_tail(const struct iovec *iov, unsigned iovcnt, uint64_t skip)
{
    for (unsigned i = 0; i < iovcnt; i++) {
        uint64_t l = iov[i].iov_len;
        if (skip < l)
            memset((uint8_t *)iov[i].iov_base + skip, 0, l - skip);
        skip = skip > l ? skip - l : 0;
    }
}

static void fio_done(struct qcow2_fio *fio, ssize_t res)
{
    struct q2_seg *s = (struct q2_seg *)((char *)fio - offsetof(struct q2_seg, fio));
    uint64_t want = fio->op == QCOW2_FIO_WRITE && s->bounce ? s->op->q->cluster_size : s->len;

    if (res >= 0 && (uint64_t)res < want && fio->op == QCOW2_FIO_READ) {
        zero_tail(s->iov, s->iovcnt, (uint64_t)res);
        res = (ssize_t)want;
    }
    seg_done(s, res < 0 ? (int)res : (uint64_t)res == want ? 0 : -EIO);
}

static void seg_submit(struct q2_seg *s, enum qcow2_fio_op fop)
{
    struct qcow2_file *ch = s->op->req->chan ? s->op->req->chan : s->op->q->file;

    s->fio.op = fop;
    s->fio.off = s->host;
    s->fio.iov = s->iov;
    s->fio.iovcnt = s->iovcnt;
    s->fio.done = fio_done;
    int ret = ch->ops->submit(ch, &s->fio);
    if (ret < 0)
        seg_done(s, ret);
}

/* Old contents of a cluster being rewritten: what a partial write does not cover. */
static int fill_old(struct q2_seg *s)
{
    struct qcow2 *q = s->op->q;
    uint64_t e = s->old;

    if (e & Q2_OFLAG_COMPRESSED)
        return q2_read_compressed(q, e, s->bounce);
    memset(s->bounce, 0, q->cluster_size);
    if (entry_zero(q, e))
        return 0;
    if (e & Q2_OFF_MASK) {
        ssize_t n = q->file->ops->pread(q->file, s->bounce, q->cluster_size, e & Q2_OFF_MASK);
        return n < 0 ? (int)n : 0;
    }
    if (q->opts.backing) {
        uint64_t g = s->gc << q->cluster_bits, len = q->cluster_size;
        if (g + len > q->size)
            len = q->size - g;
        return q->opts.backing->read(q->opts.backing->opaque, g, s->bounce, len);
    }
    return 0;
}

static void seg_run(struct q2_seg *s)
{
    struct qcow2 *q = s->op->q;
    uint8_t *tmp = NULL;
    int ret = seg_iov(s);

    if (ret < 0) {
        seg_done(s, ret);
        return;
    }
    switch (s->kind) {
    case SEG_READ_HOST:
        seg_submit(s, QCOW2_FIO_READ);
        return;
    case SEG_WRITE_HOST:
        seg_submit(s, QCOW2_FIO_WRITE);
        return;
    case SEG_ZERO:
        for (unsigned i = 0; i < s->iovcnt; i++)
            memset(s->iov[i].iov_base, 0, s->iov[i].iov_len);
        break;
    case SEG_BACKING:
        tmp = malloc(s->len);
        ret = tmp ? q->opts.backing->read(q->opts.backing->opaque,
                                          (s->gc << q->cluster_bits) + s->coff, tmp, s->len)
                  : -ENOMEM;
        if (ret == 0)
            iov_copy(s, tmp, true);
        break;
    case SEG_COMPRESSED:
        tmp = malloc(q->cluster_size);
        ret = tmp ? q2_read_compressed(q, s->old, tmp) : -ENOMEM;
        if (ret == 0)
            iov_copy(s, tmp + s->coff, true);
        else if (ret == -EIO)
            ret = q2_mark_corrupt(q, "compressed cluster does not decompress");
        break;
    case SEG_WRITE_ALLOC:
        if (s->coff == 0 && s->len == q->cluster_size) {
            seg_submit(s, QCOW2_FIO_WRITE);
            return;
        }
        s->bounce = malloc(q->cluster_size);
        ret = s->bounce ? fill_old(s) : -ENOMEM;
        if (ret == 0) {
            iov_copy(s, s->bounce + s->coff, false);
            s->one.iov_base = s->bounce;
            s->one.iov_len = q->cluster_size;
            if (s->iov != &s->one)
                free(s->iov);
            s->iov = &s->one;
            s->iovcnt = 1;
            seg_submit(s, QCOW2_FIO_WRITE);
            return;
        }
        break;
    }
    free(tmp);
    seg_done(s, ret);
}

/*
 * Replaced clusters are released only once a flush made their new mapping durable. A guest that
 * never flushes would otherwise grow the image without bound: past this many pending clusters
 * the engine flushes on its own (under the lock, like any flush).
 */
#define Q2_MAX_PENDING 1024u

static void trim_pending(struct qcow2 *q)
{
    int ret;

    if (q->npending < Q2_MAX_PENDING)
        return;
    ret = q2_flush_locked(q);
    if (ret < 0)
        q2_warn(q, "qcow2: flush to release replaced clusters failed: %d", ret);
}

static bool ranges_overlap(const struct q2_range *a, const struct q2_range *b)
{
    return a->start < b->end && b->start < a->end;
}

/* Plans and runs op, or parks it behind an overlapping in-flight write. */
static void op_start(struct q2_op *op)
{
    struct qcow2 *q = op->q;
    int ret;

    pthread_mutex_lock(&q->lock);
    if (is_write(op->req->op)) {
        for (struct q2_range *r = q->busy; r; r = r->next) {
            if (ranges_overlap(r, &op->range)) {
                op->next_blocked = NULL;
                *q->blocked_tl = op;
                q->blocked_tl = &op->next_blocked;
                pthread_mutex_unlock(&q->lock);
                return;
            }
        }
        op->range.next = q->busy;
        q->busy = &op->range;
        op->busy = true;
    }
    ret = plan(op);
    trim_pending(q);
    pthread_mutex_unlock(&q->lock);

    op->pending = (int)op->nsegs + 1;
    if (ret < 0) {
        op->err = ret;
        op->pending = 1;
    } else {
        for (size_t i = 0; i < op->nsegs; i++)
            seg_run(&op->segs[i]);
    }
    op_put(op);
}

static void op_finish(struct q2_op *op)
{
    struct qcow2 *q = op->q;
    struct qcow2_req *req = op->req;
    struct q2_op *wake = NULL;
    int err = op->err;

    if (op->busy) {
        pthread_mutex_lock(&q->lock);
        for (size_t i = 0; i < op->nsegs; i++) {
            struct q2_seg *s = &op->segs[i];
            if (s->kind != SEG_WRITE_ALLOC)
                continue;
            int r;
            if (s->err || err) {
                r = s->fresh ? q2_rc_add(q, s->host >> q->cluster_bits, -1) : 0;
            } else {
                r = q2_l2_set(q, s->gc, s->newent);
                if (r == 0)
                    r = release_entry(q, s->old, s->host);
            }
            if (r < 0 && !err)
                err = r;
        }
        for (struct q2_range **pp = &q->busy; *pp; pp = &(*pp)->next) {
            if (*pp == &op->range) {
                *pp = op->range.next;
                break;
            }
        }
        wake = q->blocked;
        q->blocked = NULL;
        q->blocked_tl = &q->blocked;
        trim_pending(q);
        pthread_mutex_unlock(&q->lock);
    }
    for (size_t i = 0; i < op->nsegs; i++) {
        struct q2_seg *s = &op->segs[i];
        if (s->iov != &s->one)
            free(s->iov);
        free(s->bounce);
    }
    if (op->segs != &op->seg_one)
        free(op->segs);
    free(op->zero);
    free(op);
    req->priv = NULL;
    req->done(req, err);
    while (wake) {
        struct q2_op *next = wake->next_blocked;
        if (wake->req->wake)
            wake->req->wake(wake->req);
        else
            op_start(wake);
        wake = next;
    }
}

void qcow2_resume(struct qcow2_req *req)
{
    op_start(req->priv);
}

static void fast_done(struct qcow2_fio *fio, ssize_t res)
{
    struct qcow2_req *req = (struct qcow2_req *)((char *)fio - offsetof(struct qcow2_req, fio));

    if (res >= 0)
        zero_tail(req->iov, req->iovcnt, (uint64_t)res);
    req->done(req, res < 0 ? (int)res : 0);
}

/*
 * The common read: inside one cluster, which holds plain data or reads as zeroes. Mapped under
 * the lock like any plan, then read straight into the request's iovec, with no op and no
 * segment to allocate. Returns 1 when it took the request (done() will run), 0 when the full
 * path must (compressed or backing clusters).
 */
static int read_fast(struct qcow2 *q, struct qcow2_req *req, uint64_t total)
{
    uint64_t coff = req->offset & (q->cluster_size - 1), e, host = 0;
    int ret;

    if (coff + total > q->cluster_size)
        return 0;
    pthread_mutex_lock(&q->lock);
    ret = q2_l2_get(q, req->offset >> q->cluster_bits, &e);
    if (ret == 0 && (e & Q2_OFLAG_COMPRESSED)) {
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    if (ret == 0 && !entry_zero(q, e))
        ret = entry_host(q, e, &host);
    pthread_mutex_unlock(&q->lock);
    if (ret == 0 && !host && !entry_zero(q, e) && q->opts.backing)
        return 0;
    if (ret < 0 || !host) {
        if (ret == 0)
            zero_tail(req->iov, req->iovcnt, 0);
        req->done(req, ret);
        return 1;
    }
    struct qcow2_file *ch = req->chan ? req->chan : q->file;
    req->fio = (struct qcow2_fio){ .op = QCOW2_FIO_READ,
                                   .off = host + coff,
                                   .iov = req->iov,
                                   .iovcnt = req->iovcnt,
                                   .done = fast_done };
    ret = ch->ops->submit(ch, &req->fio);
    if (ret < 0)
        req->done(req, ret);
    return 1;
}

int qcow2_submit(struct qcow2 *q, struct qcow2_req *req)
{
    uint64_t total = req->len;
    struct q2_op *op;

    if (req->op == QCOW2_OP_FLUSH) {
        pthread_mutex_lock(&q->lock);
        int ret = q->corrupt && !q->readonly ? -EIO : q2_flush_locked(q);
        pthread_mutex_unlock(&q->lock);
        req->done(req, ret);
        return 0;
    }
    if (req->op == QCOW2_OP_READ || req->op == QCOW2_OP_WRITE) {
        total = 0;
        for (unsigned i = 0; i < req->iovcnt; i++) {
            if (req->iov[i].iov_len > UINT64_MAX - total)
                return -EINVAL;
            total += req->iov[i].iov_len;
        }
    } else if (req->op != QCOW2_OP_DISCARD && req->op != QCOW2_OP_WRITE_ZEROES) {
        return -EINVAL;
    }
    if (is_write(req->op) && q->readonly)
        return -EROFS;
    /* A Resize stores it atomically (qcow2_resize): no lock on the way in. */
    uint64_t size = __atomic_load_n(&q->size, __ATOMIC_ACQUIRE);
    if (req->offset > size || total > size - req->offset)
        return -EINVAL;
    if (total == 0) {
        req->done(req, 0);
        return 0;
    }
    if (req->op == QCOW2_OP_READ && read_fast(q, req, total))
        return 0;
    op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->q = q;
    op->req = req;
    op->total = total;
    op->range.start = req->offset & ~(q->cluster_size - 1);
    op->range.end = q2_round_up(req->offset + total, q->cluster_size);
    if (req->op == QCOW2_OP_WRITE_ZEROES || req->op == QCOW2_OP_DISCARD) {
        op->zero = calloc(1, q->cluster_size);
        if (!op->zero) {
            free(op);
            return -ENOMEM;
        }
    }
    req->priv = op;
    op_start(op);
    return 0;
}
