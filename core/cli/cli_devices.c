/* --disk, --net, --vsock key tables and per-option checks (Cloud Hypervisor v51.0 semantics). */
#include "cli_devices.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_util.h"

#define VIRTIO_BLK_ID_BYTES 20
#define MIN_BLOCK_QUEUE     2 /* CH: a block queue must be larger than this */
#define MAX_QUEUE_SIZE      32768
#define MIN_MTU             1280

/* Copies a dequoted scalar value into `buf`, refusing what cannot be one. */
static int scalar(const char *value, char *buf, size_t buflen)
{
    size_t len = strlen(value);

    if (len >= buflen)
        return -EINVAL;
    optparse_dequote(value, len, buf);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned i;

    /* "aa:bb:cc:dd:ee:ff": 17 bytes, colons at fixed places, nothing before or after. */
    if (strlen(s) != 17)
        return -EINVAL;
    for (i = 0; i < 6; i++) {
        const char *p = s + i * 3;
        int hi = hexval(p[0]), lo = hexval(p[1]);

        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int conv_mac(const char *value, void *dst, char *why, size_t whylen)
{
    char buf[32];

    if (scalar(value, buf, sizeof(buf)) < 0 || cli_parse_mac(buf, dst) < 0) {
        snprintf(why, whylen, "expected six colon-separated hex pairs, e.g. 2e:00:00:00:00:01");
        return -EINVAL;
    }
    return 0;
}

static int conv_ip(const char *value, void *dst, char *why, size_t whylen)
{
    struct cli_ip *ip = dst;
    char buf[64];

    memset(ip, 0, sizeof(*ip));
    if (scalar(value, buf, sizeof(buf)) < 0)
        goto bad;
    if (inet_pton(AF_INET, buf, ip->addr) == 1) {
        ip->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, ip->addr) == 1) {
        ip->family = AF_INET6;
        return 0;
    }
bad:
    snprintf(why, whylen, "not an IPv4 or IPv6 address");
    return -EINVAL;
}

static int conv_vhost_mode(const char *value, void *dst, char *why, size_t whylen)
{
    enum cli_vhost_mode *m = dst;
    char buf[16];

    if (scalar(value, buf, sizeof(buf)) == 0) {
        if (!strcasecmp(buf, "client")) {
            *m = CLI_VHOST_CLIENT;
            return 0;
        }
        if (!strcasecmp(buf, "server")) {
            *m = CLI_VHOST_SERVER;
            return 0;
        }
    }
    snprintf(why, whylen, "expected client or server");
    return -EINVAL;
}

static int conv_queue_affinity(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_tuple_list_free(dst);
    return optparse_tuples(value, UINT16_MAX, 65535, true, dst, why, whylen);
}

static int conv_fds(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_u32_list_free(dst);
    return optparse_intlist(value, INT32_MAX, dst, why, whylen);
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
    DISK_KEY("iommu", OPTPARSE_TOGGLE, d.iommu, false, "off", NULL), /* no virtio-iommu */
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
    /* segments other than 0 need --platform */
    DISK_KEY("pci_segment", OPTPARSE_U16, d.pci_segment, false, "0", NULL),
    DISK_S("serial", OPTPARSE_STR, d.serial),
    /* names a --rate-limit-group, which cellvm does not have yet */
    DISK_KEY("rate_limit_group", OPTPARSE_STR, d.rate_limit_group, false, NULL, NULL),
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

/* Queue sizes: virtio split rings need a power of two no larger than 32768. */
static int check_queue_size(const char *opt, unsigned qs, unsigned min, char *err, size_t errlen)
{
    unsigned lo = 1;

    while (lo <= min)
        lo <<= 1;
    if (qs < lo || !cli_is_pow2(qs) || qs > MAX_QUEUE_SIZE) {
        cli_err(err, errlen,
                "%s: invalid value for 'queue_size': '%u' (a power of two from %u "
                "to %d)",
                opt, qs, lo, MAX_QUEUE_SIZE);
        return -EINVAL;
    }
    return 0;
}

static int check_id(const char *opt, const char *id, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (id && !strncmp(id, "__", 2)) {
        optparse_show(id, shown, sizeof(shown));
        cli_err(err, errlen,
                "%s: invalid value for 'id': '%s' (ids starting with '__' are "
                "reserved)",
                opt, shown);
        return -EINVAL;
    }
    return 0;
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
    if (check_queue_size("--disk", d->queue_size, MIN_BLOCK_QUEUE, err, errlen) < 0)
        return -EINVAL;
    if (d->serial && strlen(d->serial) > VIRTIO_BLK_ID_BYTES) {
        optparse_show(d->serial, shown, sizeof(shown));
        cli_err(err, errlen, "--disk: invalid value for 'serial': '%s' (longer than %d bytes)",
                shown, VIRTIO_BLK_ID_BYTES);
        return -EINVAL;
    }
    return check_id("--disk", d->id, err, errlen);
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

#define NET_KEY(n, t, m, sup, dflt_, c)                                                           \
    {                                                                                             \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_net, m), .supported = sup, .dflt = dflt_, \
        .conv = c                                                                                 \
    }
#define NET_S(n, t, m) NET_KEY(n, t, m, true, NULL, NULL)

static const struct optparse_key net_keys[] = {
    NET_S("tap", OPTPARSE_STR, tap),
    NET_KEY("ip", OPTPARSE_CUSTOM, ip, true, NULL, conv_ip),
    NET_KEY("mask", OPTPARSE_CUSTOM, mask, true, NULL, conv_ip),
    NET_KEY("mac", OPTPARSE_CUSTOM, mac, true, NULL, conv_mac),
    NET_KEY("host_mac", OPTPARSE_CUSTOM, host_mac, true, NULL, conv_mac),
    NET_S("offload_tso", OPTPARSE_TOGGLE, offload_tso),
    NET_S("offload_ufo", OPTPARSE_TOGGLE, offload_ufo),
    NET_S("offload_csum", OPTPARSE_TOGGLE, offload_csum),
    NET_S("mtu", OPTPARSE_U16, mtu),
    NET_KEY("iommu", OPTPARSE_TOGGLE, iommu, false, "off", NULL),
    NET_S("queue_size", OPTPARSE_U16, queue_size),
    NET_S("num_queues", OPTPARSE_U16, num_queues),
    NET_S("vhost_user", OPTPARSE_TOGGLE, vhost_user),
    NET_S("socket", OPTPARSE_STR, socket),
    NET_KEY("vhost_mode", OPTPARSE_CUSTOM, vhost_mode, true, NULL, conv_vhost_mode),
    NET_S("id", OPTPARSE_STR, id),
    NET_KEY("fd", OPTPARSE_CUSTOM, fds, true, NULL, conv_fds),
    NET_S("bw_size", OPTPARSE_U64, rl.bw_size),
    NET_S("bw_one_time_burst", OPTPARSE_U64, rl.bw_one_time_burst),
    NET_S("bw_refill_time", OPTPARSE_U64, rl.bw_refill_time),
    NET_S("ops_size", OPTPARSE_U64, rl.ops_size),
    NET_S("ops_one_time_burst", OPTPARSE_U64, rl.ops_one_time_burst),
    NET_S("ops_refill_time", OPTPARSE_U64, rl.ops_refill_time),
    NET_KEY("pci_segment", OPTPARSE_U16, pci_segment, false, "0", NULL),
};

static const struct optparse_spec net_spec = {
    .opt = "--net",
    .keys = net_keys,
    .nkeys = sizeof(net_keys) / sizeof(net_keys[0]),
};

void cli_net_free(struct cli_net *n)
{
    free(n->tap);
    free(n->socket);
    free(n->id);
    optparse_u32_list_free(&n->fds);
    n->tap = n->socket = n->id = NULL;
}

static int net_check(struct cli_net *n, char *err, size_t errlen)
{
    size_t i;

    if (n->num_queues < 2 || n->num_queues % 2) {
        cli_err(err, errlen,
                "--net: invalid value for 'num_queues': '%u' (an even number, at "
                "least 2)",
                n->num_queues);
        return -EINVAL;
    }
    if (n->fds.n) {
        if (n->fds.n * 2 != n->num_queues) {
            cli_err(err, errlen,
                    "--net: invalid value for 'fd': %zu fds for %u queues (one fd "
                    "per queue pair)",
                    n->fds.n, n->num_queues);
            return -EINVAL;
        }
        for (i = 0; i < n->fds.n; i++) {
            if (n->fds.v[i] <= 2) {
                cli_err(err, errlen,
                        "--net: invalid value for 'fd': '%u' (0, 1 and 2 are "
                        "reserved)",
                        n->fds.v[i]);
                return -EINVAL;
            }
        }
    }
    if (check_queue_size("--net", n->queue_size, 1, err, errlen) < 0)
        return -EINVAL;
    if (n->has_mtu && n->mtu < MIN_MTU) {
        cli_err(err, errlen, "--net: invalid value for 'mtu': '%u' (at least %d)", n->mtu, MIN_MTU);
        return -EINVAL;
    }
    if (!n->offload_csum && (n->offload_tso || n->offload_ufo)) {
        cli_err(err, errlen,
                "--net: invalid value for 'offload_csum': 'off' (offload_tso and "
                "offload_ufo need it on)");
        return -EINVAL;
    }
    if (n->has_ip != n->has_mask) {
        cli_err(err, errlen, "--net: invalid value for '%s': ip and mask go together",
                n->has_ip ? "ip" : "mask");
        return -EINVAL;
    }
    if (n->vhost_user && !n->socket) {
        cli_err(err, errlen, "--net: missing required key 'socket' (vhost_user=on)");
        return -EINVAL;
    }
    if (n->socket && cli_check_path("--net", "socket", n->socket, err, errlen) < 0)
        return -EINVAL;
    return check_id("--net", n->id, err, errlen);
}

int cli_net_parse(const char *value, struct cli_net *net, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(net, 0, sizeof(*net));
    net->num_queues = 2;
    net->queue_size = 256;
    net->vhost_mode = CLI_VHOST_CLIENT;
    net->offload_tso = net->offload_ufo = net->offload_csum = true;
    r = optparse_parse(&net_spec, value, net, &seen, err, errlen);
    if (r < 0)
        return r;
    net->has_ip = optparse_valued(&net_spec, &seen, "ip");
    net->has_mask = optparse_valued(&net_spec, &seen, "mask");
    net->has_mac = optparse_valued(&net_spec, &seen, "mac");
    net->has_host_mac = optparse_valued(&net_spec, &seen, "host_mac");
    net->has_mtu = optparse_valued(&net_spec, &seen, "mtu");
    return net_check(net, err, errlen);
}

#define VSOCK_KEY(n, t, m, sup, dflt_)                                                             \
    {                                                                                              \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_vsock, m), .supported = sup, .dflt = dflt_ \
    }

static const struct optparse_key vsock_keys[] = {
    VSOCK_KEY("socket", OPTPARSE_STR, socket, true, NULL),
    VSOCK_KEY("cid", OPTPARSE_U32, cid, true, NULL),
    VSOCK_KEY("iommu", OPTPARSE_TOGGLE, iommu, false, "off"),
    VSOCK_KEY("id", OPTPARSE_STR, id, true, NULL),
    VSOCK_KEY("pci_segment", OPTPARSE_U16, pci_segment, false, "0"),
};

static const struct optparse_spec vsock_spec = {
    .opt = "--vsock",
    .keys = vsock_keys,
    .nkeys = sizeof(vsock_keys) / sizeof(vsock_keys[0]),
};

void cli_vsock_free(struct cli_vsock *v)
{
    free(v->socket);
    free(v->id);
    v->socket = v->id = NULL;
}

int cli_vsock_parse(const char *value, struct cli_vsock *v, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(v, 0, sizeof(*v));
    r = optparse_parse(&vsock_spec, value, v, &seen, err, errlen);
    if (r < 0)
        return r;
    if (!v->socket) {
        cli_err(err, errlen, "--vsock: missing required key 'socket'");
        return -EINVAL;
    }
    if (cli_check_path("--vsock", "socket", v->socket, err, errlen) < 0)
        return -EINVAL;
    if (!optparse_valued(&vsock_spec, &seen, "cid")) {
        cli_err(err, errlen, "--vsock: missing required key 'cid'");
        return -EINVAL;
    }
    /* 0 hypervisor, 1 local, 2 host; -1 is VMADDR_CID_ANY. */
    if (v->cid <= 2 || v->cid == UINT32_MAX) {
        cli_err(err, errlen,
                "--vsock: invalid value for 'cid': '%u' (0, 1, 2 and 4294967295 are "
                "reserved)",
                v->cid);
        return -EINVAL;
    }
    v->present = true;
    return check_id("--vsock", v->id, err, errlen);
}
