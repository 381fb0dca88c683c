/* Image setup for cellvm-blockd: the format rules of Cloud Hypervisor v51.0 (autodetection, and
 * the sector-zero rule that keeps an autodetected raw guest from turning its disk into a
 * QCOW2 header), the QCOW2 engine, and the backing chain under the backing-file policy. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device-procs/devmem_guard.h"
#include "device-procs/devproc.h"
#include "imglock.h"

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int r,
                                                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

void image_init(struct image *im)
{
    memset(im, 0, sizeof(*im));
    im->raw.fd = -1;
    imgmap_init(&im->raw.map);
}

static void warn_stderr(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "cellvm-blockd: %s\n", msg);
}

static int open_qcow2(struct image *im, const struct cli_disk *cd, char *err, size_t errlen)
{
    struct qcow2_opts o = {
        .readonly = cd->readonly,
        .allow_backing = cd->backing_files,
        .sparse = cd->sparse,
        .warn = warn_stderr,
    };
    struct qcow2_info *info;
    char why[512] = "";
    int fl, r;

    /* The engine's metadata buffers are not sector aligned: QCOW2 goes through the page
     * cache whatever direct= says. */
    fl = fcntl(im->raw.fd, F_GETFL);
    if (fl >= 0 && (fl & O_DIRECT)) {
        fprintf(stderr, "cellvm-blockd: direct=on is not applied to QCOW2 images\n");
        (void)fcntl(im->raw.fd, F_SETFL, fl & ~O_DIRECT);
    }
    im->raw.direct = false;
    r = qcow2_fd_file_new(im->raw.fd, &im->file);
    if (r < 0)
        return fail(err, errlen, r, "--disk: %s", strerror(-r));
    r = qcow2_open(&im->q2, im->file, &o, why, sizeof(why));
    if (r == -EPERM && !cd->backing_files)
        return fail(err, errlen, r, "--disk: %s (add backing_files=on to the --disk option)", why);
    if (r < 0)
        return fail(err, errlen, r, "--disk: %s", why);
    info = calloc(1, sizeof(*info));
    if (!info)
        return fail(err, errlen, -ENOMEM, "--disk: out of memory");
    qcow2_get_info(im->q2, info);
    snprintf(im->backing, sizeof(im->backing), "%s", info->backing);
    snprintf(im->backing_fmt, sizeof(im->backing_fmt), "%s", info->backing_fmt);
    free(info);
    return 0;
}

/* Autodetection as Cloud Hypervisor v51.0 does it; VHD and VHDX are not served here. */
static int check_format(struct image *im, const struct cli_disk *cd, struct blk_disk *d,
                        enum raw_format *out, char *err, size_t errlen)
{
    static const char *const names[] = { "raw", "qcow2", "vhd", "vhdx" };
    enum raw_format fmt;
    int r = raw_detect(&im->raw, &fmt);

    if (r < 0)
        return fail(err, errlen, r, "--disk: cannot read the image: %s", strerror(-r));
    *out = fmt;
    if (cd->image_type == CLI_IMAGE_UNKNOWN) {
        if (fmt != RAW_FORMAT_RAW && fmt != RAW_FORMAT_QCOW2)
            return fail(err, errlen, -ENOTSUP,
                        "--disk: detected a %s image: only raw and qcow2 images are served",
                        names[fmt]);
        if (fmt == RAW_FORMAT_RAW) {
            fprintf(stderr, "cellvm-blockd: image type autodetected as raw; writes to sector 0 "
                            "are refused (give image_type=raw to allow them)\n");
            d->protect_sector0 = true;
        }
        return 0;
    }
    if (cd->image_type != CLI_IMAGE_RAW && cd->image_type != CLI_IMAGE_QCOW2)
        return fail(err, errlen, -ENOTSUP, "--disk: image_type=%s: only raw and qcow2 are served",
                    names[cd->image_type]);
    if (cd->image_type == CLI_IMAGE_RAW && fmt != RAW_FORMAT_RAW)
        return fail(err, errlen, -EINVAL, "--disk: image_type=raw but the image looks like %s",
                    names[fmt]);
    if (cd->image_type == CLI_IMAGE_QCOW2 && fmt != RAW_FORMAT_QCOW2)
        return fail(err, errlen, -EINVAL, "--disk: image_type=qcow2 but the image is not QCOW2");
    return 0;
}

/* A memory-file-system image is read through a mapping (imgmap.h), guarded against the file
 * shrinking under it. Not mapped, the image is served through its fd as before. */
static void map_image(struct image *im)
{
    struct imgmap *m = &im->raw.map;
    int r = imgmap_open(m, im->raw.fd, im->raw.size, im->raw.direct);

    if (r < 0)
        fprintf(stderr, "cellvm-blockd: not mapping the image (%s): reads use the fd\n",
                strerror(-r));
    if (r <= 0)
        return;
    r = devmem_guard_install();
    if (r == 0)
        m->guard =
            devmem_guard_add((void *)m->base, m->len, &m->broken, "cellvm-blockd: the disk image");
    if (r < 0 || m->guard < 0) /* unguarded, a truncation would kill us: use the fd */
        imgmap_close(m);
}

static void remember_dir(struct image *im, const char *path)
{
    char *real = path ? realpath(path, NULL) : NULL;
    char *slash = real ? strrchr(real, '/') : NULL;

    if (slash)
        snprintf(im->dir, sizeof(im->dir), "%.*s", slash == real ? 1 : (int)(slash - real), real);
    else
        snprintf(im->dir, sizeof(im->dir), ".");
    free(real);
}

int image_open(struct image *im, const struct cli_disk *cd, int *fds, size_t nfds,
               struct blk_disk *d, char *err, size_t errlen)
{
    enum raw_format fmt = RAW_FORMAT_RAW;
    struct stat st;
    int r;

    if (nfds > 0) {
        r = raw_adopt(&im->raw, fds[0], cd->direct);
        if (r == 0)
            fds[0] = -1;
    } else {
        r = raw_open(&im->raw, cd->path, cd->readonly, cd->direct);
    }
    if (r < 0)
        return fail(err, errlen, r, "--disk: cannot open the image: %s", strerror(-r));
    r = im->no_lock ? 0 : imglock_acquire(im->raw.fd, !cd->readonly);
    if (r < 0)
        return fail(err, errlen, r, "--disk: cannot lock the image: %s",
                    r == -EBUSY ? "another process is using it" : strerror(-r));
    if (fstat(im->raw.fd, &st) < 0)
        return fail(err, errlen, -errno, "--disk: %s", strerror(errno));
    im->dev = st.st_dev;
    im->ino = st.st_ino;
    im->sparse = cd->sparse;
    im->policy.allow = cd->backing_files;
    remember_dir(im, cd->path);
    r = check_format(im, cd, d, &fmt, err, errlen);
    if (r < 0)
        return r;
    if (fmt == RAW_FORMAT_QCOW2) {
        r = open_qcow2(im, cd, err, errlen);
        if (r < 0)
            return r;
        d->size = qcow2_size(im->q2);
        map_image(im);
        return 0;
    }
    r = raw_prepare(&im->raw, cd->readonly, cd->sparse);
    if (r < 0)
        return fail(err, errlen, r, "--disk: cannot prepare the image: %s", strerror(-r));
    d->size = im->raw.size;
    map_image(im);
    return 0;
}

/* Standalone: this process plays the controller's part with the controller's function. */
static int open_standalone(struct image *im, const char *path, int *fd, char *err, size_t errlen)
{
    im->policy.image_dir = im->dir;
    im->policy.image_dev = im->dev;
    im->policy.image_ino = im->ino;
    return backing_open(&im->policy, path, true, fd, err, errlen);
}

struct opener {
    struct image *im;
    struct devproc *dp;
};

static int open_backing(void *opaque, const char *path, int *fd, char *err, size_t errlen)
{
    struct opener *o = opaque;
    int r = o->dp ? devproc_open_backing_file(o->dp, path, true, fd) : -ENOTCONN;

    if (r == -ENOTCONN)
        return open_standalone(o->im, path, fd, err, errlen);
    if (r < 0)
        snprintf(err, errlen, "the controller refused backing file %s: %s", path, strerror(-r));
    return r;
}

int image_open_chain(struct image *im, struct devproc *dp, char *err, size_t errlen)
{
    struct opener o = { im, dp };
    char why[512] = "";
    int r;

    if (!im->q2 || !im->backing[0])
        return 0;
    r = chain_open(&im->chain, im->backing, im->backing_fmt, im->dev, im->ino, open_backing, &o,
                   why, sizeof(why));
    if (r < 0)
        return fail(err, errlen, r, "--disk: %s", why);
    qcow2_set_backing(im->q2, chain_hook(im->chain));
    return 0;
}

int image_grow(struct image *im, uint64_t size)
{
    struct stat st;
    uint64_t old = im->raw.size;

    if (im->q2)
        return qcow2_resize(im->q2, size);
    if (size < old)
        return -ENOTSUP;
    if (size == old)
        return 0;
    if (fstat(im->raw.fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -ENOTSUP; /* a block device has the size it has */
    if (ftruncate(im->raw.fd, (off_t)size) < 0)
        return -errno;
    /* sparse=off: the image owns all of its space, the new part too. */
    if (!im->sparse && fallocate(im->raw.fd, 0, (off_t)old, (off_t)(size - old)) < 0 &&
        errno != EOPNOTSUPP)
        return -errno;
    im->raw.size = size;
    return 0;
}

void image_close(struct image *im)
{
    if (im->q2 && qcow2_close(im->q2) < 0)
        fprintf(stderr, "cellvm-blockd: flushing the image on exit failed\n");
    im->q2 = NULL;
    chain_close(im->chain);
    im->chain = NULL;
    qcow2_file_destroy(im->file);
    im->file = NULL;
    if (im->raw.fd >= 0)
        (void)imglock_release(im->raw.fd);
    devmem_guard_remove(im->raw.map.guard);
    im->raw.map.guard = -1;
    raw_close(&im->raw);
}
