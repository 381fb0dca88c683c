#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "q2t.h"
#include "record_file.h"

struct rec_file {
    struct qcow2_file base;
    uint8_t *orig;
    size_t orig_len;
    uint8_t *live; /* current contents */
    size_t len, cap;
    struct rec_entry *log;
    size_t n, logcap;
};

static struct rec_file *rf(struct qcow2_file *f)
{
    return (struct rec_file *)f;
}

static int log_add(struct rec_file *r, enum rec_kind k, uint64_t off, const void *d, uint64_t len)
{
    if (r->n == r->logcap) {
        size_t cap = r->logcap ? r->logcap * 2 : 256;
        struct rec_entry *l = realloc(r->log, cap * sizeof(*l));
        if (!l)
            return -ENOMEM;
        r->log = l;
        r->logcap = cap;
    }
    struct rec_entry *e = &r->log[r->n];
    memset(e, 0, sizeof(*e));
    e->kind = k;
    e->off = off;
    e->len = len;
    if (d && len) {
        e->data = malloc(len);
        if (!e->data)
            return -ENOMEM;
        memcpy(e->data, d, len);
    }
    r->n++;
    return 0;
}

static int set_len(struct rec_file *r, size_t len)
{
    if (len > r->cap) {
        size_t cap = len * 2;
        uint8_t *p = realloc(r->live, cap);
        if (!p)
            return -ENOMEM;
        r->live = p;
        r->cap = cap;
    }
    if (len > r->len)
        memset(r->live + r->len, 0, len - r->len);
    r->len = len;
    return 0;
}

static ssize_t rec_pread(struct qcow2_file *f, void *buf, size_t len, uint64_t off)
{
    struct rec_file *r = rf(f);

    if (off >= r->len)
        return 0;
    size_t n = len < r->len - off ? len : r->len - off;
    memcpy(buf, r->live + off, n);
    return (ssize_t)n;
}

static ssize_t rec_pwrite(struct qcow2_file *f, const void *buf, size_t len, uint64_t off)
{
    struct rec_file *r = rf(f);

    if (off + len > (1ull << 32))
        return -EFBIG; /* the simulated disk is small; anything past this is a bug */
    if (off + len > r->len && set_len(r, off + len) < 0)
        return -ENOMEM;
    memcpy(r->live + off, buf, len);
    return log_add(r, REC_WRITE, off, buf, len) < 0 ? -ENOMEM : (ssize_t)len;
}

static int rec_flush(struct qcow2_file *f)
{
    return log_add(rf(f), REC_FLUSH, 0, NULL, 0);
}

static int rec_size(struct qcow2_file *f, uint64_t *size)
{
    *size = rf(f)->len;
    return 0;
}

static int rec_truncate(struct qcow2_file *f, uint64_t size)
{
    struct rec_file *r = rf(f);
    if (size > (1ull << 32) || set_len(r, size) < 0)
        return -EFBIG;
    return log_add(r, REC_TRUNC, size, NULL, 0);
}

static int rec_punch(struct qcow2_file *f, uint64_t off, uint64_t len)
{
    struct rec_file *r = rf(f);

    if (off >= r->len)
        return 0;
    if (len > r->len - off)
        len = r->len - off;
    uint8_t *z = calloc(1, len ? len : 1);
    if (!z)
        return -ENOMEM;
    memset(r->live + off, 0, len);
    int ret = log_add(r, REC_WRITE, off, z, len);
    free(z);
    return ret;
}

static int rec_submit(struct qcow2_file *f, struct qcow2_fio *fio)
{
    ssize_t res = 0;

    if (fio->op == QCOW2_FIO_FLUSH) {
        res = rec_flush(f);
    } else {
        uint64_t off = fio->off;
        for (unsigned i = 0; i < fio->iovcnt && res >= 0; i++) {
            ssize_t n = fio->op == QCOW2_FIO_READ
                            ? rec_pread(f, fio->iov[i].iov_base, fio->iov[i].iov_len, off)
                            : rec_pwrite(f, fio->iov[i].iov_base, fio->iov[i].iov_len, off);
            if (n < 0) {
                res = n;
                break;
            }
            res += n;
            off += (uint64_t)n;
            if ((size_t)n < fio->iov[i].iov_len)
                break;
        }
    }
    fio->done(fio, res);
    return 0;
}

static void rec_destroy(struct qcow2_file *f)
{
    (void)f; /* owned by rec_free */
}

static const struct qcow2_file_ops rec_ops = {
    .pread = rec_pread,
    .pwrite = rec_pwrite,
    .flush = rec_flush,
    .size = rec_size,
    .truncate = rec_truncate,
    .punch = rec_punch,
    .submit = rec_submit,
    .destroy = rec_destroy,
};

struct rec_file *rec_new(const uint8_t *base, size_t len)
{
    struct rec_file *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->base.ops = &rec_ops;
    r->orig = malloc(len ? len : 1);
    if (!r->orig || set_len(r, len) < 0) {
        rec_free(r);
        return NULL;
    }
    memcpy(r->orig, base, len);
    memcpy(r->live, base, len);
    r->orig_len = len;
    return r;
}

void rec_free(struct rec_file *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->log[i].data);
    free(r->log);
    free(r->live);
    free(r->orig);
    free(r);
}

struct qcow2_file *rec_layer(struct rec_file *r)
{
    return &r->base;
}

size_t rec_count(const struct rec_file *r)
{
    return r->n;
}

const struct rec_entry *rec_get(const struct rec_file *r, size_t i)
{
    return &r->log[i];
}

int rec_rebuild(const struct rec_file *r, size_t keep_all, size_t cut, uint64_t *rng,
                const char *path)
{
    size_t len = r->orig_len, cap = r->orig_len + 1;
    uint8_t *img = malloc(cap);
    int ret = 0;

    if (!img)
        return -ENOMEM;
    /* Whatever precedes the last flush before the cut is on disk, whatever the caller says. */
    for (size_t i = cut < r->n ? cut : r->n; i > keep_all; i--) {
        if (r->log[i - 1].kind == REC_FLUSH) {
            keep_all = i;
            break;
        }
    }
    memcpy(img, r->orig, r->orig_len);
    for (size_t i = 0; i < cut && i < r->n; i++) {
        const struct rec_entry *e = &r->log[i];
        uint64_t wlen = e->len;
        if (e->kind == REC_FLUSH)
            continue;
        if (i >= keep_all && rng) {
            uint64_t pick = q2t_rand(rng) % 4;
            if (pick == 0)
                continue; /* dropped */
            if (pick == 1 && e->kind == REC_WRITE && wlen > 512)
                wlen = 512 * (1 + q2t_rand(rng) % (wlen / 512)); /* torn */
        }
        uint64_t need = e->kind == REC_TRUNC ? e->off : e->off + wlen;
        if (need > cap) {
            cap = need * 2;
            uint8_t *p = realloc(img, cap);
            if (!p) {
                free(img);
                return -ENOMEM;
            }
            img = p;
        }
        if (need > len)
            memset(img + len, 0, need - len);
        if (e->kind == REC_TRUNC)
            len = e->off;
        else {
            memcpy(img + e->off, e->data, wlen);
            if (need > len)
                len = need;
        }
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, img, len) != (ssize_t)len)
        ret = -EIO;
    if (fd >= 0)
        close(fd);
    free(img);
    return ret;
}
