/* Backing chain layers. Every layer is opened read-only through the fd file layer, whose reads
 * complete inline, so a layer is read synchronously by the queue thread that needs it (outside
 * the top image's lock). Reads are clamped to each layer's size: the overlay may be larger
 * than its backing file, and a raw backing file that shrinks underneath reads as zeroes past
 * its new end instead of failing. */
#include "chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imglock.h"

struct chain_layer {
    int fd; /* owner: this layer (received from the opener) */
    struct qcow2_file *file;
    struct qcow2 *q; /* NULL: raw */
    uint64_t size;   /* virtual size (qcow2) or file size when opened (raw) */
    struct chain_layer *below;
    struct qcow2_backing hook; /* reads `below`, for q */
};

struct chain {
    unsigned n;
    struct chain_layer *layers[CHAIN_MAX_DEPTH];
    struct qcow2_backing top_hook;
};

static int layer_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    struct chain_layer *l = opaque;
    uint64_t n;
    ssize_t r;

    if (off >= l->size) {
        memset(buf, 0, len);
        return 0;
    }
    n = len < l->size - off ? len : l->size - off;
    if (n < len)
        memset((uint8_t *)buf + n, 0, len - n);
    if (l->q)
        return qcow2_pread(l->q, buf, n, off);
    r = l->file->ops->pread(l->file, buf, n, off);
    if (r < 0)
        return (int)r;
    if ((uint64_t)r < n) /* the file shrank: what is gone reads as zeroes */
        memset((uint8_t *)buf + r, 0, n - (uint64_t)r);
    return 0;
}

static void layer_free(struct chain_layer *l)
{
    if (!l)
        return;
    if (l->q)
        qcow2_close(l->q);
    qcow2_file_destroy(l->file);
    if (l->fd >= 0) {
        (void)imglock_release(l->fd);
        close(l->fd);
    }
    free(l);
}

void chain_close(struct chain *c)
{
    if (!c)
        return;
    for (unsigned i = c->n; i-- > 0;)
        layer_free(c->layers[i]);
    free(c);
}

static void warn_stderr(void *opaque, const char *msg)
{
    fprintf(stderr, "cellvm-blockd: backing file %s: %s\n", (const char *)opaque, msg);
}

/* Name of the next layer: absolute as given, relative joined onto the directory of `prev`. */
static int next_path(const char *prev, const char *name, char *out, size_t outlen)
{
    const char *slash = strrchr(prev, '/');
    int n;

    if (name[0] == '/' || !slash)
        n = snprintf(out, outlen, "%s", name);
    else
        n = snprintf(out, outlen, "%.*s/%s", (int)(slash - prev), prev, name);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* Opens the layer's image on its fd; fills *next_name with what it names in turn. */
static int layer_setup(struct chain_layer *l, const char *path, const char *fmt,
                       struct qcow2_info *info, char *err, size_t errlen)
{
    struct qcow2_opts o = { .readonly = true, .allow_backing = true, .warn = warn_stderr };
    char why[256] = "";
    bool magic;
    int r;

    r = qcow2_fd_file_new(l->fd, &l->file);
    if (r < 0)
        return r;
    magic = qcow2_probe(l->file);
    if (fmt[0] && strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
        snprintf(err, errlen, "backing file %s: format %s is not supported (raw, qcow2)", path,
                 fmt);
        return -ENOTSUP;
    }
    if (!strcmp(fmt, "qcow2") && !magic) {
        snprintf(err, errlen, "backing file %s: named as qcow2 but is not a qcow2 image", path);
        return -EINVAL;
    }
    info->backing[0] = 0;
    info->backing_fmt[0] = 0;
    if (!strcmp(fmt, "raw") || !magic)
        return l->file->ops->size(l->file, &l->size);
    o.warn_opaque = (void *)path;
    r = qcow2_open(&l->q, l->file, &o, why, sizeof(why));
    if (r < 0) {
        snprintf(err, errlen, "backing file %s: %s", path, why);
        return r;
    }
    l->size = qcow2_size(l->q);
    qcow2_get_info(l->q, info);
    return 0;
}

struct seen {
    dev_t dev[CHAIN_MAX_DEPTH + 1];
    ino_t ino[CHAIN_MAX_DEPTH + 1];
    unsigned n;
};

static int check_file(struct seen *s, int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "backing file %s: %s", path, strerror(errno));
        return -errno;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "backing file %s is not a regular file", path);
        return -EINVAL;
    }
    for (unsigned i = 0; i < s->n; i++) {
        if (s->dev[i] == st.st_dev && s->ino[i] == st.st_ino) {
            snprintf(err, errlen, "backing chain loops: %s is %s", path,
                     i == 0 ? "the disk image itself" : "already in the chain");
            return -ELOOP;
        }
    }
    s->dev[s->n] = st.st_dev;
    s->ino[s->n++] = st.st_ino;
    return 0;
}

int chain_open(struct chain **out, const char *name, const char *fmt, dev_t top_dev, ino_t top_ino,
               chain_open_fn open_fn, void *opaque, char *err, size_t errlen)
{
    struct chain *c = calloc(1, sizeof(*c));
    struct qcow2_info *info = calloc(1, sizeof(*info));
    struct seen seen = { .dev = { top_dev }, .ino = { top_ino }, .n = 1 };
    char path[1024], prev[1024], cur_fmt[sizeof(info->backing_fmt)];
    int r = -ENOMEM;

    *out = NULL;
    if (!c || !info)
        goto fail;
    r = next_path("", name, path, sizeof(path));
    snprintf(cur_fmt, sizeof(cur_fmt), "%s", fmt);
    while (r == 0) {
        struct chain_layer *l;

        if (c->n == CHAIN_MAX_DEPTH) {
            snprintf(err, errlen, "backing chain deeper than %d files", CHAIN_MAX_DEPTH);
            r = -ELOOP;
            break;
        }
        l = calloc(1, sizeof(*l));
        if (!l) {
            r = -ENOMEM;
            break;
        }
        l->fd = -1;
        c->layers[c->n++] = l;
        r = open_fn(opaque, path, &l->fd, err, errlen);
        if (r == 0)
            r = check_file(&seen, l->fd, path, err, errlen);
        if (r == 0 && imglock_acquire(l->fd, false) < 0) {
            snprintf(err, errlen, "backing file %s is being written by another process", path);
            r = -EBUSY;
        }
        if (r == 0)
            r = layer_setup(l, path, cur_fmt, info, err, errlen);
        if (r < 0 || !info->backing[0])
            break;
        snprintf(cur_fmt, sizeof(cur_fmt), "%s", info->backing_fmt);
        memcpy(prev, path, sizeof(prev));
        r = next_path(prev, info->backing, path, sizeof(path));
        if (r < 0)
            snprintf(err, errlen, "backing file name %s is too long", info->backing);
    }
    if (r < 0)
        goto fail;
    /* Wire each qcow2 layer to the one below it, then the top hook to the first. */
    for (unsigned i = 0; i < c->n; i++) {
        struct chain_layer *l = c->layers[i];

        l->below = i + 1 < c->n ? c->layers[i + 1] : NULL;
        l->hook = (struct qcow2_backing){ layer_read, l->below };
        if (l->q && l->below)
            qcow2_set_backing(l->q, &l->hook);
    }
    c->top_hook = (struct qcow2_backing){ layer_read, c->layers[0] };
    free(info);
    *out = c;
    return 0;
fail:
    free(info);
    chain_close(c);
    return r;
}

const struct qcow2_backing *chain_hook(const struct chain *c)
{
    return &c->top_hook;
}

unsigned chain_depth(const struct chain *c)
{
    return c->n;
}
