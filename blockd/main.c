/* cellvm-blockd: the virtio-blk device process for raw images. The device-process runtime
 * (devproc_main) owns the command line, the jail and the vhost-user socket; this file turns a
 * --disk spec into an open, locked, prepared image and serves queues on demand. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blk.h"
#include "blk_queue.h"
#include "core/cli/cli_devices.h"
#include "device-procs/devproc.h"
#include "imglock.h"
#include "raw.h"

#define VIRTIO_ID_BLOCK        2
#define VIRTIO_RING_F_INDIRECT 28
#define VIRTIO_RING_F_EVENT    29
#define VHOST_USER_PF_CONFIG   (1ull << 9)
#define BLOCKD_CONFIG_SIZE     128 /* room for newer frontends' larger virtio_blk_config */
#define BLOCKD_MAX_QUEUES      64

struct blockd {
    struct devproc_ops ops; /* features and queue count follow the spec */
    struct blk_disk disk;
    struct raw_image img; /* img.fd: owned here, closed in main */
    struct devproc *dp;
    struct blk_queue *queues[BLOCKD_MAX_QUEUES];
};

__attribute__((format(printf, 4, 5))) static int spec_err(char *err, size_t errlen, int r,
                                                          const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* Autodetection as Cloud Hypervisor v51.0 does it, with its sector-0 rule for raw. Only raw
 * images are served by this process. */
static int check_format(struct blockd *b, const struct cli_disk *cd, char *err, size_t errlen)
{
    static const char *const names[] = { "raw", "qcow2", "vhd", "vhdx" };
    enum raw_format fmt;
    int r = raw_detect(&b->img, &fmt);

    if (r < 0)
        return spec_err(err, errlen, r, "--disk: cannot read the image: %s", strerror(-r));
    if (cd->image_type == CLI_IMAGE_UNKNOWN) {
        if (fmt != RAW_FORMAT_RAW)
            return spec_err(err, errlen, -ENOTSUP,
                            "--disk: detected a %s image: only raw images are served", names[fmt]);
        fprintf(stderr, "cellvm-blockd: image type autodetected as raw; writes to sector 0 are "
                        "refused (give image_type=raw to allow them)\n");
        b->disk.protect_sector0 = true;
        return 0;
    }
    if (cd->image_type != CLI_IMAGE_RAW)
        return spec_err(err, errlen, -ENOTSUP, "--disk: image_type=%s: only raw is served",
                        names[cd->image_type]);
    if (fmt != RAW_FORMAT_RAW)
        return spec_err(err, errlen, -EINVAL, "--disk: image_type=raw but the image looks like %s",
                        names[fmt]);
    return 0;
}

static int setup_disk(struct blockd *b, const struct cli_disk *cd, int *fds, size_t nfds, char *err,
                      size_t errlen)
{
    struct blk_disk *d = &b->disk;
    struct stat st;
    int r;

    if (cd->vhost_user || cd->socket)
        return spec_err(err, errlen, -EINVAL, "--disk: %s", "socket/vhost_user name a frontend");
    if (cd->num_queues > BLOCKD_MAX_QUEUES)
        return spec_err(err, errlen, -EINVAL, "--disk: num_queues above %s", "64");
    if (nfds > 0) {
        r = raw_adopt(&b->img, fds[0], cd->direct);
        if (r == 0)
            fds[0] = -1;
    } else {
        r = raw_open(&b->img, cd->path, cd->readonly, cd->direct);
    }
    if (r < 0)
        return spec_err(err, errlen, r, "--disk: cannot open the image: %s", strerror(-r));
    r = imglock_acquire(b->img.fd, !cd->readonly);
    if (r < 0)
        return spec_err(err, errlen, r, "--disk: cannot lock the image: %s",
                        r == -EBUSY ? "another process is using it" : strerror(-r));
    r = check_format(b, cd, err, errlen);
    if (r < 0)
        return r;
    r = raw_prepare(&b->img, cd->readonly, cd->sparse);
    if (r < 0)
        return spec_err(err, errlen, r, "--disk: cannot prepare the image: %s", strerror(-r));

    d->size = b->img.size;
    d->readonly = cd->readonly;
    d->sparse = cd->sparse;
    d->num_queues = cd->num_queues;
    d->queue_size = cd->queue_size;
    atomic_store(&d->writeback, true);
    if (cd->serial) {
        memset(d->serial, 0, sizeof(d->serial));
        memcpy(d->serial, cd->serial, strnlen(cd->serial, sizeof(d->serial)));
    } else if (fstat(b->img.fd, &st) == 0) {
        blk_serial_default(st.st_dev, st.st_rdev, st.st_ino, d->serial);
    }
    blk_disk_init(d);
    b->ops.features =
        blk_features(d) | 1ull << VIRTIO_RING_F_INDIRECT | 1ull << VIRTIO_RING_F_EVENT;
    b->ops.max_queues = d->num_queues;
    return 0;
}

static int blockd_parse_spec(void *dev, const char *opt, const char *val, int *fds, size_t nfds,
                             char *err, size_t errlen)
{
    struct blockd *b = dev;
    struct cli_disk cd;
    int r;

    if (strcmp(opt, "disk") != 0)
        return spec_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (b->img.fd >= 0)
        return spec_err(err, errlen, -EINVAL, "%s", "one --disk per process");
    r = cli_disk_parse(val, &cd, err, errlen);
    if (r == 0)
        r = setup_disk(b, &cd, fds, nfds, err, errlen);
    cli_disk_free(&cd);
    if (r < 0)
        raw_close(&b->img);
    return r;
}

static int blockd_prepare(void *dev, struct devproc *dp, char *err, size_t errlen)
{
    struct blockd *b = dev;

    (void)err;
    (void)errlen;
    b->dp = dp;
    return 0;
}

static int blockd_get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    struct blockd *b = dev;
    uint8_t space[BLOCKD_CONFIG_SIZE] = { 0 };

    if (off > sizeof(space) || len > sizeof(space) - off)
        return -EINVAL;
    blk_config(&b->disk, (struct virtio_blk_config *)space);
    memcpy(buf, space + off, len);
    return 0;
}

static int blockd_set_config(void *dev, const uint8_t *buf, uint32_t off, uint32_t len,
                             uint32_t flags)
{
    struct blockd *b = dev;

    (void)flags;
    return blk_config_write(&b->disk, off, buf, len) < 0 ? -EPERM : 0;
}

static int blockd_start_queue(void *dev, uint16_t idx, struct virtq *vq)
{
    struct blockd *b = dev;

    if (idx >= b->disk.num_queues || b->queues[idx])
        return -EINVAL;
    return blk_queue_start(&b->queues[idx], &b->disk, &b->img, vq, b->dp);
}

static int blockd_stop_queue(void *dev, uint16_t idx)
{
    struct blockd *b = dev;

    if (idx >= BLOCKD_MAX_QUEUES)
        return -EINVAL;
    blk_queue_stop(b->queues[idx]);
    b->queues[idx] = NULL;
    return 0;
}

static void blockd_reset(void *dev)
{
    struct blockd *b = dev;

    for (unsigned i = 0; i < BLOCKD_MAX_QUEUES; i++) {
        blk_queue_stop(b->queues[i]);
        b->queues[i] = NULL;
    }
    atomic_store(&b->disk.writeback, true);
}

int main(int argc, char **argv)
{
    struct blockd b;
    int status;

    memset(&b, 0, sizeof(b));
    b.img.fd = -1;
    b.ops = (struct devproc_ops){
        .name = "blk",
        .spec_option = "disk",
        .virtio_id = VIRTIO_ID_BLOCK,
        .features = 0, /* set by parse_spec: RO, DISCARD and MQ depend on the disk */
        .max_queues = 1,
        .protocol_features = VHOST_USER_PF_CONFIG,
        .config_size = BLOCKD_CONFIG_SIZE,
        .parse_spec = blockd_parse_spec,
        .prepare = blockd_prepare,
        .get_config = blockd_get_config,
        .set_config = blockd_set_config,
        .start_queue = blockd_start_queue,
        .stop_queue = blockd_stop_queue,
        .reset = blockd_reset,
    };
    status = devproc_main(argc, argv, &b.ops, &b);
    blockd_reset(&b);
    /* Rings drop their reference to the image asynchronously after they are torn down, which
     * would keep the locks a moment past our exit: release them now. */
    if (b.img.fd >= 0)
        (void)imglock_release(b.img.fd);
    raw_close(&b.img);
    return status;
}
