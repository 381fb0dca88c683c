/* cellvm-blockd: the virtio-blk device process for raw and QCOW2 images. The device-process
 * runtime (devproc_main) owns the command line, the jail and the vhost-user socket; this file
 * turns a --disk spec into an open image (image.c), serves queues on demand and applies
 * Resize control messages. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blk.h"
#include "blk_queue.h"
#include "device-procs/devproc.h"
#include "device-procs/devproc_util.h"
#include "devspec/devspec.h"
#include "image.h"
#include "sandbox/jail.h"

#define VIRTIO_ID_BLOCK           2
#define VIRTIO_RING_F_INDIRECT    28
#define VIRTIO_RING_F_EVENT       29
#define VHOST_USER_PF_CONFIG      (1ull << 9)
#define VHOST_USER_PF_BACKEND_REQ (1ull << 5) /* CONFIG_CHANGE after a resize */
#define BLOCKD_CONFIG_SIZE        128 /* room for newer frontends' larger virtio_blk_config */
#define BLOCKD_MAX_QUEUES         64
#define BLOCKD_MAX_KEEP           64 /* runtime fds, the image and its backing chain */

struct blockd {
    struct devproc_ops ops; /* features and queue count follow the spec */
    struct blk_disk disk;
    struct image img; /* owned: closed by image_close in main */
    struct blk_backend be;
    struct devproc *dp;
    struct blk_queue *queues[BLOCKD_MAX_QUEUES];
    struct blk_stats stats[BLOCKD_MAX_QUEUES]; /* be.stats; kept across resets, as CH's */
    struct ratelimit rl; /* be.rl when a bucket is on; a group's maps the shared region */
};

static int setup_disk(struct blockd *b, const struct cli_disk *cd, int *fds, size_t nfds, char *err,
                      size_t errlen)
{
    struct blk_disk *d = &b->disk;
    struct stat st;
    int r;

    if (cd->vhost_user || cd->socket)
        return devproc_err(err, errlen, -EINVAL, "--disk: %s", "socket/vhost_user name a frontend");
    /* cellvm hands a group's member its buckets and shared region in DeviceConfigure */
    if (cd->rate_limit_group)
        return devproc_err(err, errlen, -EINVAL, "--disk: %s",
                           "rate_limit_group needs the shared bucket cellvm hands its disks");
    if (cd->num_queues > BLOCKD_MAX_QUEUES)
        return devproc_err(err, errlen, -EINVAL, "--disk: num_queues above %s", "64");
    r = image_open(&b->img, cd, fds, nfds, d, err, errlen);
    if (r < 0)
        return r;
    b->be.img = &b->img.raw;
    b->be.q2 = b->img.q2;
    b->be.stats = b->stats; /* indexed by ring index, which start_queue keeps < num_queues */
    if (rl_init(&b->rl,
                &(struct rl_config){
                    .bw = { cd->rl.bw_size, cd->rl.bw_one_time_burst, cd->rl.bw_refill_time },
                    .ops = { cd->rl.ops_size, cd->rl.ops_one_time_burst, cd->rl.ops_refill_time },
                }))
        b->be.rl = &b->rl;
    if (b->img.q2)
        d->discard_align = qcow2_cluster_size(b->img.q2);

    d->readonly = cd->readonly;
    d->sparse = cd->sparse;
    d->num_queues = cd->num_queues;
    d->queue_size = cd->queue_size;
    atomic_store(&d->writeback, true);
    if (cd->serial) {
        memset(d->serial, 0, sizeof(d->serial));
        memcpy(d->serial, cd->serial, strnlen(cd->serial, sizeof(d->serial)));
    } else if (fstat(b->img.raw.fd, &st) == 0) {
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
        return devproc_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (b->img.raw.fd >= 0)
        return devproc_err(err, errlen, -EINVAL, "%s", "one --disk per process");
    r = cli_disk_parse(val, &cd, err, errlen);
    if (r == 0)
        r = setup_disk(b, &cd, fds, nfds, err, errlen);
    cli_disk_free(&cd);
    if (r < 0) {
        image_close(&b->img);
        image_init(&b->img);
    }
    return r;
}

/* The spec's buckets are a --rate-limit-group's: their state is the group's shared region. */
static int blockd_rate_limit_group(void *dev, const char *group, int fd, char *err, size_t errlen)
{
    struct blockd *b = dev;

    if (!b->be.rl)
        return devproc_err(err, errlen, -EINVAL, "rate limit group %s: no bucket in the spec",
                           group);
    return rl_attach_shared(&b->rl, fd, err, errlen);
}

static void blockd_defer_image_lock(void *dev)
{
    struct blockd *b = dev;

    b->img.no_lock = true;
}

static int blockd_prepare(void *dev, struct devproc *dp, char *err, size_t errlen)
{
    struct blockd *b = dev;

    b->dp = dp;
    /* Backing files come before the jail: standalone, this process opens them itself. */
    return image_open_chain(&b->img, dp, err, errlen);
}

/*
 * The image and its backing layers are open (O_CLOEXEC, as every fd this process opens) and
 * owned by the image layer, which keeps no list of them: they are the close-on-exec fds open
 * now. Inherited fds lack FD_CLOEXEC (they survived the exec) and are dropped, unless the
 * runtime listed them (--fd, the control channel).
 */
static int own_fds(int *fds, size_t max, size_t *n)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int r = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        int fl;

        if (*end || end == e->d_name || fd <= 2 || fd == dirfd(d) || fd > INT_MAX)
            continue;
        fl = fcntl((int)fd, F_GETFD);
        if (fl < 0 || !(fl & FD_CLOEXEC))
            continue;
        if (*n == max) {
            r = -EMFILE;
            break;
        }
        fds[(*n)++] = (int)fd;
    }
    closedir(d);
    return r;
}

/* sandbox/'s jail with the blockd profile; nothing is mounted into the empty root. Rings come
 * later, per queue thread, created disabled and restricted (uring_sys.c). */
static int blockd_jail(void *dev, enum devproc_seccomp mode, const int *keep, size_t nkeep,
                       char *err, size_t errlen)
{
    int fds[BLOCKD_MAX_KEEP];
    size_t k = 0;
    int r;
    struct sbx_config cfg = { .profile = SBX_PROFILE_BLOCKD };

    (void)dev;
    if (nkeep > BLOCKD_MAX_KEEP)
        return devproc_err(err, errlen, -EMFILE, "%s", "jail: too many fds to keep");
    for (; k < nkeep; k++)
        fds[k] = keep[k];
    r = own_fds(fds, BLOCKD_MAX_KEEP, &k);
    if (r)
        return devproc_err(err, errlen, r, "jail: listing open fds: %s", strerror(-r));
    cfg.keep_fds = fds;
    cfg.nkeep = k;
    cfg.seccomp = devproc_sbx_seccomp(mode);
    return sbx_enter(&cfg, err, errlen);
}

static int blockd_get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    struct blockd *b = dev;
    uint8_t space[BLOCKD_CONFIG_SIZE] = { 0 };

    blk_config(&b->disk, (struct virtio_blk_config *)space);
    return devproc_config_read(space, sizeof(space), off, buf, len);
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
    return blk_queue_start(&b->queues[idx], &b->disk, &b->be, vq, b->dp);
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

/* Resize: the image grows first, then the capacity the guest can address, then the frontend
 * hears of it (CONFIG_CHANGE), so no request ever sees a capacity the image does not have. */
static int blockd_control(void *dev, struct devproc *dp, const Cellvm__Envelope *msg)
{
    struct blockd *b = dev;
    uint64_t size;
    int r;

    if (msg->body_case != CELLVM__ENVELOPE__BODY_RESIZE)
        return -ENOTSUP;
    size = msg->resize->size;
    if (b->disk.readonly)
        return -EROFS;
    if (size < b->disk.size)
        return -ENOTSUP;
    r = image_grow(&b->img, size);
    if (r < 0) {
        fprintf(stderr, "cellvm-blockd: resize to %llu bytes failed: %s\n",
                (unsigned long long)size, strerror(-r));
        return r;
    }
    b->disk.size = size;
    fprintf(stderr, "cellvm-blockd: resized to %llu bytes\n", (unsigned long long)size);
    r = devproc_config_changed(dp);
    if (r < 0)
        fprintf(stderr, "cellvm-blockd: config-change notification failed: %s\n", strerror(-r));
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

/*
 * DEVICE_STATE (issue 18): what lives only in this process once the rings are stopped (every
 * request popped has completed by then: stop_queue waits for them, so nothing is in flight).
 * The guest's write-cache choice (the writeback bit it wrote into config space) and the
 * counters vm.counters shows; capacity, read-only and the queue count are checked on load
 * against the disk this process opened, so a state never lands on a different disk layout.
 */
struct blockd_state {
    uint64_t size;
    uint8_t writeback, readonly;
    uint16_t num_queues;
    uint32_t reserved;
    struct blk_stats stats[]; /* num_queues of them */
};
_Static_assert(sizeof(struct blockd_state) == 16, "blockd_state layout");

static int blockd_save_state(void *dev, uint8_t *buf, size_t cap)
{
    struct blockd *b = dev;
    struct blockd_state st = {
        .size = atomic_load(&b->disk.size),
        .writeback = atomic_load(&b->disk.writeback),
        .readonly = b->disk.readonly,
        .num_queues = b->disk.num_queues,
    };
    size_t n = sizeof(st) + (size_t)st.num_queues * sizeof(struct blk_stats);

    if (n > cap || st.num_queues > BLOCKD_MAX_QUEUES)
        return -E2BIG;
    memcpy(buf, &st, sizeof(st));
    memcpy(buf + sizeof(st), b->stats, (size_t)st.num_queues * sizeof(struct blk_stats));
    return (int)n;
}

static bool stats_sane(const struct blk_stats_dir *d)
{
    return d->ops ? d->lat_min <= d->lat_max
                  : !d->bytes && !d->lat_min && !d->lat_max && !d->lat_total;
}

static int blockd_load_state(void *dev, const uint8_t *buf, size_t len)
{
    struct blockd *b = dev;
    struct blockd_state st;
    struct blk_stats q[BLOCKD_MAX_QUEUES];
    size_t n;

    if (len < sizeof(st))
        return -EINVAL;
    memcpy(&st, buf, sizeof(st));
    n = (size_t)st.num_queues * sizeof(struct blk_stats);
    if (st.num_queues != b->disk.num_queues || len != sizeof(st) + n || st.writeback > 1 ||
        st.readonly != b->disk.readonly || st.reserved) {
        fprintf(stderr, "cellvm-blockd: device state for %u queues%s, this disk has %u%s\n",
                st.num_queues, st.readonly ? " read-only" : "", b->disk.num_queues,
                b->disk.readonly ? " read-only" : "");
        return -EINVAL;
    }
    if (st.size != atomic_load(&b->disk.size)) {
        fprintf(stderr, "cellvm-blockd: device state of a %llu-byte disk, the image has %llu\n",
                (unsigned long long)st.size, (unsigned long long)atomic_load(&b->disk.size));
        return -EINVAL;
    }
    memcpy(q, buf + sizeof(st), n);
    for (unsigned i = 0; i < st.num_queues; i++)
        if (!stats_sane(&q[i].rd) || !stats_sane(&q[i].wr))
            return -EINVAL;
    /* The rings are stopped: no queue thread writes the counters now. */
    memcpy(b->stats, q, n);
    atomic_store(&b->disk.writeback, st.writeback != 0);
    fprintf(stderr, "cellvm-blockd: state loaded: write cache %s, %u queue(s) of counters\n",
            st.writeback ? "writeback" : "writethrough", st.num_queues);
    return 0;
}

static void blockd_stats(void *dev, Cellvm__DeviceStats *st)
{
    struct blockd *b = dev;
    struct blk_stats sum;

    blk_stats_sum(b->stats, BLOCKD_MAX_QUEUES, &sum);
    st->read_bytes = sum.rd.bytes;
    st->read_ops = sum.rd.ops;
    st->read_latency_min = sum.rd.lat_min;
    st->read_latency_max = sum.rd.lat_max;
    st->read_latency_total = sum.rd.lat_total;
    st->write_bytes = sum.wr.bytes;
    st->write_ops = sum.wr.ops;
    st->write_latency_min = sum.wr.lat_min;
    st->write_latency_max = sum.wr.lat_max;
    st->write_latency_total = sum.wr.lat_total;
}

int main(int argc, char **argv)
{
    struct blockd b;
    int status;

    memset(&b, 0, sizeof(b));
    image_init(&b.img);
    b.ops = (struct devproc_ops){
        .name = "blk",
        .spec_option = "disk",
        .virtio_id = VIRTIO_ID_BLOCK,
        .features = 0, /* set by parse_spec: RO, DISCARD and MQ depend on the disk */
        .max_queues = 1,
        .protocol_features = VHOST_USER_PF_CONFIG | VHOST_USER_PF_BACKEND_REQ,
        .config_size = BLOCKD_CONFIG_SIZE,
        .parse_spec = blockd_parse_spec,
        .rate_limit_group = blockd_rate_limit_group,
        .defer_image_lock = blockd_defer_image_lock,
        .prepare = blockd_prepare,
        .get_config = blockd_get_config,
        .set_config = blockd_set_config,
        .start_queue = blockd_start_queue,
        .stop_queue = blockd_stop_queue,
        .reset = blockd_reset,
        .jail = blockd_jail,
        .control = blockd_control,
        .stats = blockd_stats,
        .save_state = blockd_save_state,
        .load_state = blockd_load_state,
    };
    status = devproc_main(argc, argv, &b.ops, &b);
    blockd_reset(&b);
    /* Rings drop their reference to the image asynchronously after they are torn down, which
     * would keep the locks a moment past our exit: image_close releases them now. */
    image_close(&b.img);
    rl_destroy(&b.rl);
    return status;
}
