/* --disk: the key table and per-option checks (Cloud Hypervisor v51.0 semantics). */
#include "devspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "devspec_util.h"

#define VIRTIO_BLK_ID_BYTES 20
#define MIN_BLOCK_QUEUE     2 /* CH: a block queue must be larger than this */

static int conv_queue_affinity(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_tuple_list_free(dst);
    return optparse_tuples(value, UINT16_MAX, 65535, true, dst, why, whylen);
}

/* The parse target for --disk: image_type is only looked at when there is no socket. */
struct disk_raw {
    struct cli_disk d;
    char *image_type;
};

#define DISK_KEY(n, t, m, sup, dflt_, c)                                                           \
    {                                                                                              \
        .name = n, .type = t, OPTPARSE_FIELD(struct disk_raw, m), .supported = sup, .dflt = dflt_, \
        .conv = c                                                                                  \
    }
#define DISK_S(n, t, m) DISK_KEY(n, t, m, true, NULL, NULL)

static const struct optparse_key disk_keys[] = {
    DISK_S("path", OPTPARSE_STR, d.path),
    DISK_S("readonly", OPTPARSE_TOGGLE, d.readonly),
    DISK_S("direct", OPTPARSE_TOGGLE, d.direct),
    DISK_S("iommu", OPTPARSE_TOGGLE, d.iommu),
    DISK_S("queue_size", OPTPARSE_U16, d.queue_size),
    DISK_S("num_queues", OPTPARSE_U16, d.num_queues),
    DISK_S("vhost_user", OPTPARSE_TOGGLE, d.vhost_user),
    DISK_S("socket", OPTPARSE_STR, d.socket),
    DISK_S("bw_size", OPTPARSE_U64, d.rl.bw_size),
    DISK_S("bw_one_time_burst", OPTPARSE_U64, d.rl.bw_one_time_burst),
    DISK_S("bw_refill_time", OPTPARSE_U64, d.rl.bw_refill_time),
    DISK_S("ops_size", OPTPARSE_U64, d.rl.ops_size),
    DISK_S("ops_one_time_burst", OPTPARSE_U64, d.rl.ops_one_time_burst),
    DISK_S("ops_refill_time", OPTPARSE_U64, d.rl.ops_refill_time),
    DISK_S("id", OPTPARSE_STR, d.id),
    DISK_S("_disable_io_uring", OPTPARSE_TOGGLE, d.disable_io_uring),
    DISK_S("_disable_aio", OPTPARSE_TOGGLE, d.disable_aio),
    /* below --platform num_pci_segments: checked with the whole configuration */
    DISK_KEY("pci_segment", OPTPARSE_U16, d.pci_segment, true, "0", NULL),
    DISK_S("serial", OPTPARSE_STR, d.serial),
    /* names a --rate-limit-group (checked with the whole configuration) */
    DISK_S("rate_limit_group", OPTPARSE_STR, d.rate_limit_group),
    DISK_KEY("queue_affinity", OPTPARSE_CUSTOM, d.queue_affinity, true, NULL, conv_queue_affinity),
    DISK_S("backing_files", OPTPARSE_TOGGLE, d.backing_files),
    DISK_S("sparse", OPTPARSE_TOGGLE, d.sparse),
    DISK_S("image_type", OPTPARSE_STR, image_type),
};

static const struct optparse_spec disk_spec = {
    .opt = "--disk",
    .keys = disk_keys,
    .nkeys = sizeof(disk_keys) / sizeof(disk_keys[0]),
};

void cli_disk_free(struct cli_disk *d)
{
    free(d->path);
    free(d->socket);
    free(d->id);
    free(d->serial);
    free(d->rate_limit_group);
    optparse_tuple_list_free(&d->queue_affinity);
    d->path = d->socket = d->id = d->serial = d->rate_limit_group = NULL;
}

static int image_type(const char *s, enum cli_image_type *t)
{
    static const char *const names[] = {
        [CLI_IMAGE_RAW] = "raw",
        [CLI_IMAGE_QCOW2] = "qcow2",
        [CLI_IMAGE_VHD] = "vhd",
        [CLI_IMAGE_VHDX] = "vhdx",
    };
    unsigned i;

    for (i = CLI_IMAGE_RAW; i <= CLI_IMAGE_VHDX; i++) {
        if (!strcasecmp(s, names[i])) {
            *t = (enum cli_image_type)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int disk_check(struct disk_raw *raw, char *err, size_t errlen)
{
    struct cli_disk *d = &raw->d;
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (d->path && d->socket) {
        cli_err(err, errlen,
                "--disk: invalid value for 'socket': path and socket exclude each "
                "other");
        return -EINVAL;
    }
    if (!d->path && !d->socket) {
        cli_err(err, errlen, "--disk: missing required key 'path' (or socket with vhost_user=on)");
        return -EINVAL;
    }
    if (d->path && cli_check_path("--disk", "path", d->path, err, errlen) < 0)
        return -EINVAL;
    if (d->socket && cli_check_path("--disk", "socket", d->socket, err, errlen) < 0)
        return -EINVAL;
    if (d->vhost_user != !!d->socket) {
        cli_err(err, errlen,
                "--disk: invalid value for '%s': vhost_user=on and socket go "
                "together",
                d->socket ? "socket" : "vhost_user");
        return -EINVAL;
    }
    if (!d->socket && raw->image_type && raw->image_type[0] &&
        image_type(raw->image_type, &d->image_type) < 0) {
        optparse_show(raw->image_type, shown, sizeof(shown));
        cli_err(err, errlen,
                "--disk: invalid value for 'image_type': '%s' (expected raw, qcow2, "
                "vhd or vhdx)",
                shown);
        return -EINVAL;
    }
    if (d->num_queues == 0) {
        cli_err(err, errlen, "--disk: invalid value for 'num_queues': '0' (at least 1)");
        return -EINVAL;
    }
    if (devspec_check_queue_size("--disk", d->queue_size, MIN_BLOCK_QUEUE, err, errlen) < 0)
        return -EINVAL;
    if (d->serial && strlen(d->serial) > VIRTIO_BLK_ID_BYTES) {
        optparse_show(d->serial, shown, sizeof(shown));
        cli_err(err, errlen, "--disk: invalid value for 'serial': '%s' (longer than %d bytes)",
                shown, VIRTIO_BLK_ID_BYTES);
        return -EINVAL;
    }
    if (cli_rate_limit_check("--disk", &d->rl, err, errlen) < 0)
        return -EINVAL;
    /* Cloud Hypervisor: VhostUserRateLimiterNotSupported, InvalidRateLimiterGroup */
    if (d->vhost_user && (cli_rate_limit_on(&d->rl) || d->rate_limit_group)) {
        cli_err(err, errlen, "--disk: rate limiting is not supported with vhost-user");
        return -EINVAL;
    }
    if (d->rate_limit_group && cli_rate_limit_on(&d->rl)) {
        cli_err(err, errlen,
                "--disk: invalid rate-limiter group: rate_limit_group and its own bw_* and ops_* "
                "buckets exclude each other");
        return -EINVAL;
    }
    return devspec_check_id("--disk", d->id, err, errlen);
}

int cli_disk_parse(const char *value, struct cli_disk *disk, char *err, size_t errlen)
{
    struct disk_raw raw;
    struct optparse_seen seen;
    int r;

    memset(&raw, 0, sizeof(raw));
    raw.d.num_queues = 1;
    raw.d.queue_size = 128;
    raw.d.sparse = true;
    raw.d.image_type = CLI_IMAGE_UNKNOWN;
    r = optparse_parse(&disk_spec, value, &raw, &seen, err, errlen);
    if (r == 0)
        r = disk_check(&raw, err, errlen);
    *disk = raw.d;
    free(raw.image_type);
    return r;
}
