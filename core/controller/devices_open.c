#include "core/controller/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/controller/console_host.h"
#include "core/controller/tap_sys.h"
#include "core/controller/unix_sock.h"
#include "core/controller/vfio_host.h"
#include "core/controller/devices_priv.h"
#include "ipc/channel.h"

#include <event2/event.h>

static const struct dev_kind kind_disk = { "disk", "blockd", "cellvm-blockd",
                                           CELLVM__ROLE__ROLE_BLOCKD, 2 };
static const struct dev_kind kind_vsock = { "vsock", "vsockd", "cellvm-vsockd",
                                            CELLVM__ROLE__ROLE_VSOCKD, 19 };
static const struct dev_kind kind_net = { "net", "netd", "cellvm-netd", CELLVM__ROLE__ROLE_NETD,
                                          1 };
/* Not virtio: the core speaks vfio-user to it and emulates the PCI function itself. */
static const struct dev_kind kind_vfio = { "device", "vfiod", "cellvm-vfiod",
                                           CELLVM__ROLE__ROLE_VFIOD, 0 };
/* --fs: a virtiofsd someone else runs (always vhost-user, never a process of ours). */
static const struct dev_kind kind_fs = { "fs", "virtiofsd", NULL, CELLVM__ROLE__ROLE_BLOCKD, 26 };
/* --rng: cellvm-rngd reading the source the controller opened. */
static const struct dev_kind kind_rng = { "rng", "rngd", "cellvm-rngd", CELLVM__ROLE__ROLE_RNGD,
                                          4 };
/* --balloon: cellvm-balloond; no data fd (it punches the guest memory the core sends it). */
static const struct dev_kind kind_balloon = { "balloon", "balloond", "cellvm-balloond",
                                              CELLVM__ROLE__ROLE_BALLOOND, 5 };
/* --console: cellvm-consoled moving bytes between the rings and what the controller opened. */
static const struct dev_kind kind_console = { "console", "consoled", "cellvm-consoled",
                                              CELLVM__ROLE__ROLE_CONSOLED, 3 };
/* --user-device: a vfio-user server someone else runs; no process of ours, so no exe. */
static const struct dev_kind kind_user = { "user-device", "vfio-user", NULL,
                                           CELLVM__ROLE__ROLE_VFIOD, 0 };

int devices_fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

void devices_init(struct devices *d)
{
    memset(d, 0, sizeof(*d));
    rl_groups_init(&d->rl_groups);
}

static void device_init(struct device *dv)
{
    memset(dv, 0, sizeof(*dv));
    for (size_t i = 0; i < PB_MAX_DEVICE_FDS; i++)
        dv->data_fds[i] = -1;
    dv->core_sock = -1;
    dv->dev_sock = -1;
    child_init(&dv->proc, "device");
    vsock_relay_init(&dv->relay);
    respawn_init(&dv->rs);
    vu_reconnect_init(&dv->vr);
}

/* Appends key=value to the spec, quoting values that hold a comma (CH's syntax). */
static int spec_add(struct device *dv, const char *key, const char *val)
{
    size_t len = strlen(dv->spec);
    bool quote = strchr(val, ',') != NULL;
    int w;

    if (strchr(val, '"'))
        return -EINVAL; /* cannot be written back in CH's syntax unambiguously */
    w = snprintf(dv->spec + len, sizeof(dv->spec) - len, "%s%s=%s%s%s", len ? "," : "", key,
                 quote ? "\"" : "", val, quote ? "\"" : "");
    return w > 0 && (size_t)w < sizeof(dv->spec) - len ? 0 : -ENAMETOOLONG;
}

static int disk_spec(struct device *dv, const struct cli_disk *c)
{
    static const char *const types[] = { [CLI_IMAGE_RAW] = "raw", [CLI_IMAGE_QCOW2] = "qcow2" };
    char num[16];
    int r;

    r = spec_add(dv, "path", c->path);
    if (!r && c->readonly)
        r = spec_add(dv, "readonly", "on");
    if (!r && c->direct)
        r = spec_add(dv, "direct", "on");
    snprintf(num, sizeof(num), "%u", (unsigned)c->num_queues);
    if (!r)
        r = spec_add(dv, "num_queues", num);
    snprintf(num, sizeof(num), "%u", (unsigned)c->queue_size);
    if (!r)
        r = spec_add(dv, "queue_size", num);
    if (!r && c->serial)
        r = spec_add(dv, "serial", c->serial);
    if (!r)
        r = spec_add(dv, "id", dv->id);
    if (!r && c->image_type != CLI_IMAGE_UNKNOWN && (size_t)c->image_type < 3 &&
        types[c->image_type])
        r = spec_add(dv, "image_type", types[c->image_type]);
    if (!r && c->backing_files)
        r = spec_add(dv, "backing_files", "on");
    if (!r && !c->sparse)
        r = spec_add(dv, "sparse", "off");
    return r;
}

/* bw_* and ops_* keys of a limiter (a disk's or net's own, or its group's); off buckets left out. */
static int rl_spec(struct device *dv, const struct cli_rate_limit *rl)
{
    const struct {
        const char *key;
        uint64_t v;
        bool on;
    } k[] = {
        { "bw_size", rl->bw_size, rl->bw_size && rl->bw_refill_time },
        { "bw_one_time_burst", rl->bw_one_time_burst, rl->bw_size && rl->bw_refill_time },
        { "bw_refill_time", rl->bw_refill_time, rl->bw_size && rl->bw_refill_time },
        { "ops_size", rl->ops_size, rl->ops_size && rl->ops_refill_time },
        { "ops_one_time_burst", rl->ops_one_time_burst, rl->ops_size && rl->ops_refill_time },
        { "ops_refill_time", rl->ops_refill_time, rl->ops_size && rl->ops_refill_time },
    };
    char num[24];
    int r = 0;

    for (size_t i = 0; !r && i < sizeof(k) / sizeof(k[0]); i++) {
        if (!k[i].on || !k[i].v)
            continue;
        snprintf(num, sizeof(num), "%llu", (unsigned long long)k[i].v);
        r = spec_add(dv, k[i].key, num);
    }
    return r;
}

/* A disk's limiter: its own buckets, or its group's with the group's region as the last fd. */
static int disk_limiter(struct devices *d, struct device *dv, const struct cli_config *cfg,
                        const struct cli_disk *c, char *err, size_t errlen)
{
    size_t gi;
    int fd, r;

    if (!c->rate_limit_group)
        return rl_spec(dv, &c->rl) ? devices_fail(err, errlen, -ENAMETOOLONG,
                                                  "--disk %s: spec cannot be passed on", dv->id)
                                   : 0;
    r = rl_groups_get(&d->rl_groups, cfg, c->rate_limit_group, &gi, &fd);
    if (r)
        return devices_fail(err, errlen, r, "--disk %s: rate limit group '%s': %s", dv->id,
                            c->rate_limit_group,
                            r == -ENOENT ? "no such --rate-limit-group" : strerror(-r));
    if (rl_spec(dv, &cfg->rl_groups[gi].rl))
        return devices_fail(err, errlen, -ENAMETOOLONG, "--disk %s: spec cannot be passed on",
                            dv->id);
    fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return devices_fail(err, errlen, -errno, "--disk %s: rate limit group: %s", dv->id,
                            strerror(errno));
    dv->data_fds[dv->ndata++] = fd;
    snprintf(dv->rl_group, sizeof(dv->rl_group), "%s", cfg->rl_groups[gi].id);
    return 0;
}

static void remember_dir(struct device *dv, const char *path)
{
    char *real = realpath(path, NULL);
    char *slash = real ? strrchr(real, '/') : NULL;

    if (slash && slash != real)
        snprintf(dv->image_dir, sizeof(dv->image_dir), "%.*s", (int)(slash - real), real);
    else
        snprintf(dv->image_dir, sizeof(dv->image_dir), "/");
    free(real);
}

/* What every device row starts with; Cloud Hypervisor names unnamed devices _disk0, _net0, ... */
static void device_base(struct device *dv, const struct dev_kind *kind, const char *id,
                        const char *prefix, size_t index, uint16_t num_queues, uint16_t queue_size,
                        uint16_t pci_segment)
{
    dv->kind = kind;
    dv->virtio_id = kind->virtio_id;
    if (id)
        snprintf(dv->id, sizeof(dv->id), "%s", id);
    else
        snprintf(dv->id, sizeof(dv->id), "%s%zu", prefix, index);
    dv->num_queues = num_queues;
    dv->queue_size = queue_size;
    dv->pci_segment = pci_segment;
}

/* vhost_user=on: the core talks to a backend someone else runs. */
static int device_external(struct device *dv, const char *opt, const char *socket, char *err,
                           size_t errlen)
{
    int r;

    dv->external = true;
    snprintf(dv->vr.path, sizeof(dv->vr.path), "%s", socket ? socket : "");
    r = unix_connect(socket ? socket : "", false, &dv->core_sock);
    if (r)
        return devices_fail(err, errlen, r, "%s %s: cannot connect to vhost-user socket '%s': %s",
                            opt, dv->id, socket ? socket : "", strerror(-r));
    return 0;
}

static int open_disk(struct devices *d, struct device *dv, const struct cli_config *cfg,
                     const struct cli_disk *c, size_t index, char *err, size_t errlen)
{
    int sv[2];
    struct stat st;
    int fd, r;

    device_base(dv, &kind_disk, c->id, "_disk", index, c->num_queues, c->queue_size,
                c->pci_segment);
    dv->iommu = c->iommu;
    if (c->vhost_user)
        return device_external(dv, "--disk", c->socket, err, errlen);
    fd = open(c->path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return devices_fail(err, errlen, -errno, "--disk %s: cannot open '%s': %s", dv->id, c->path,
                            strerror(errno));
    dv->data_fds[dv->ndata++] = fd;
    if (fstat(fd, &st) < 0)
        return devices_fail(err, errlen, -errno, "--disk %s: %s", dv->id, strerror(errno));
    remember_dir(dv, c->path);
    dv->policy.allow = c->backing_files;
    dv->policy.image_dir = dv->image_dir;
    dv->policy.image_dev = st.st_dev;
    dv->policy.image_ino = st.st_ino;
    r = disk_spec(dv, c);
    if (r)
        return devices_fail(err, errlen, r, "--disk %s: path or serial cannot be passed on",
                            dv->id);
    r = disk_limiter(d, dv, cfg, c, err, errlen);
    if (r)
        return r;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

static int net_spec(struct device *dv, const struct cli_net *c, const char *tap,
                    const uint8_t mac[6])
{
    char v[32];
    int r;

    r = tap[0] ? spec_add(dv, "tap", tap) : 0;
    snprintf(v, sizeof(v), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    if (!r)
        r = spec_add(dv, "mac", v);
    snprintf(v, sizeof(v), "%u", (unsigned)c->num_queues);
    if (!r)
        r = spec_add(dv, "num_queues", v);
    snprintf(v, sizeof(v), "%u", (unsigned)c->queue_size);
    if (!r)
        r = spec_add(dv, "queue_size", v);
    snprintf(v, sizeof(v), "%u", (unsigned)c->mtu);
    if (!r && c->has_mtu)
        r = spec_add(dv, "mtu", v);
    if (!r && !c->offload_tso)
        r = spec_add(dv, "offload_tso", "off");
    if (!r && !c->offload_ufo)
        r = spec_add(dv, "offload_ufo", "off");
    if (!r && !c->offload_csum)
        r = spec_add(dv, "offload_csum", "off");
    if (!r)
        r = spec_add(dv, "id", dv->id);
    return r;
}

/* TAP fds for every queue pair: the ones given with fd=[...] (duplicated, the caller keeps
 * its own), or a TAP opened (created if missing) and set up as the keys say. */
static int net_taps(struct device *dv, const struct cli_net *c, unsigned pairs, char *tap,
                    char *err, size_t errlen)
{
    struct ctl_tap_if ic = { .has_ip = c->has_ip, .has_mac = c->has_host_mac, .mtu = 0 };
    int r;

    if (c->fds.n) {
        if (c->fds.n != pairs)
            return devices_fail(err, errlen, -EINVAL, "--net %s: %zu fds for %u queue pairs",
                                dv->id, c->fds.n, pairs);
        for (size_t i = 0; i < c->fds.n; i++) {
            int fd = fcntl((int)c->fds.v[i], F_DUPFD_CLOEXEC, 3);

            if (fd < 0)
                return devices_fail(err, errlen, -errno, "--net %s: fd %u: %s", dv->id,
                                    (unsigned)c->fds.v[i], strerror(errno));
            dv->data_fds[dv->ndata++] = fd;
        }
        return 0;
    }
    snprintf(tap, IFNAMSIZ, "%s", c->tap ? c->tap : "");
    r = ctl_tap_open(tap, pairs, dv->data_fds);
    if (r == -EMLINK)
        return devices_fail(
            err, errlen, -EINVAL,
            "--net %s: TAP '%s' exists without multi_queue, so it carries one queue "
            "pair only: use num_queues=2, or recreate it with multi_queue",
            dv->id, tap);
    if (r)
        return devices_fail(err, errlen, r, "--net %s: cannot open TAP '%s': %s", dv->id, tap,
                            strerror(-r));
    dv->ndata = pairs;
    if (c->has_ip && (c->ip.family != AF_INET || (c->has_mask && c->mask.family != AF_INET)))
        return devices_fail(err, errlen, -EINVAL, "--net %s: ip/mask: IPv4 only", dv->id);
    memcpy(ic.ip, c->ip.addr, 4);
    if (c->has_mask)
        memcpy(ic.mask, c->mask.addr, 4);
    else
        memset(ic.mask, 0xff, 3); /* Cloud Hypervisor's default 255.255.255.0 */
    memcpy(ic.mac, c->host_mac, 6);
    ic.mtu = c->has_mtu ? c->mtu : 0;
    r = ctl_tap_configure(tap, &ic);
    if (r)
        return devices_fail(err, errlen, r, "--net %s: cannot set up TAP '%s': %s", dv->id, tap,
                            strerror(-r));
    return 0;
}

static int open_net(struct device *dv, const struct cli_net *c, size_t index, char *err,
                    size_t errlen)
{
    char tap[IFNAMSIZ] = "";
    uint8_t mac[6];
    unsigned pairs = c->num_queues / 2u;
    int sv[2], r;

    device_base(dv, &kind_net, c->id, "_net", index, c->num_queues, c->queue_size, c->pci_segment);
    dv->iommu = c->iommu;
    if (c->vhost_user)
        return device_external(dv, "--net", c->socket, err, errlen);
    if (!pairs || c->num_queues % 2 || pairs > PB_MAX_DEVICE_FDS)
        return devices_fail(err, errlen, -EINVAL, "--net %s: num_queues must be even, 2 to %d",
                            dv->id, 2 * PB_MAX_DEVICE_FDS);
    r = net_taps(dv, c, pairs, tap, err, errlen);
    if (r)
        return r;
    /* Without it the link is simply not watched (see linkwatch.h). */
    r = ctl_tap_ifindex(dv->data_fds[0]);
    dv->tap_ifindex = r > 0 ? r : 0;
    if (c->has_mac) {
        memcpy(mac, c->mac, 6);
    } else {
        if (getrandom(mac, sizeof(mac), 0) != (ssize_t)sizeof(mac))
            return devices_fail(err, errlen, -EIO, "--net %s: no random MAC", dv->id);
        mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
    }
    r = net_spec(dv, c, tap, mac);
    if (!r)
        r = rl_spec(dv, &c->rl);
    if (r)
        return devices_fail(err, errlen, r, "--net %s: spec cannot be passed on", dv->id);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

/* The host side of the hybrid vsock protocol: bound here, where the user's permissions apply
 * (cellvm-vsockd starts unprivileged); it accepts on the fd and connects to PATH_<port> in
 * the directory its jail mounts. */
static int vsock_listen(struct device *dv, const char *path, int *out)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd = unix_stream(path, &sa, false);

    if (fd < 0)
        return fd;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;

        close(fd);
        return e;
    }
    /* Ours from here: remembered so that closing removes this file and no later one. */
    if (lstat(path, &st) == 0) {
        snprintf(dv->bound_path, sizeof(dv->bound_path), "%s", path);
        dv->bound_dev = st.st_dev;
        dv->bound_ino = st.st_ino;
    }
    if (listen(fd, 64) < 0) {
        int e = -errno;

        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}

/* Removes the vsock socket file this controller bound, if the path still names it. */
void devices_vsock_unlink(struct device *dv)
{
    struct stat st;

    if (dv->bound_path[0] && lstat(dv->bound_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == dv->bound_dev && st.st_ino == dv->bound_ino)
        unlink(dv->bound_path);
    dv->bound_path[0] = '\0';
}

static int open_vsock(struct device *dv, const struct cli_vsock *c, char *err, size_t errlen)
{
    char num[24];
    int sv[2], r;

    dv->kind = &kind_vsock;
    dv->virtio_id = kind_vsock.virtio_id;
    snprintf(dv->id, sizeof(dv->id), "%s", c->id ? c->id : "_vsock0");
    dv->num_queues = 2; /* rx and tx; the core adds and keeps the event queue */
    dv->queue_size = 256;
    dv->pci_segment = c->pci_segment;
    dv->iommu = c->iommu;
    snprintf(num, sizeof(num), "%u", (unsigned)c->cid);
    r = spec_add(dv, "cid", num);
    if (!r)
        r = spec_add(dv, "socket", c->socket ? c->socket : "");
    if (!r)
        r = spec_add(dv, "id", dv->id);
    if (r)
        return devices_fail(err, errlen, r, "--vsock: socket path cannot be passed on");
    r = vsock_listen(dv, c->socket ? c->socket : "", &dv->data_fds[0]);
    if (r)
        return devices_fail(err, errlen, r, "--vsock: cannot listen on '%s': %s",
                            c->socket ? c->socket : "", strerror(-r));
    dv->ndata = 1;
    /* The jailed daemon cannot connect to a listener only the user may reach: we do. */
    r = vsock_relay_open(&dv->relay, c->socket ? c->socket : "", &dv->data_fds[1]);
    if (r)
        return devices_fail(err, errlen, r, "--vsock: socket '%s': %s", c->socket ? c->socket : "",
                            strerror(-r));
    dv->ndata = 2;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

/* --device: the group resolved, checked and opened here (the controller's privileged step);
 * vfiod gets the container and the group, and finds the function by the canonical path. */
static int open_vfio(struct devices *d, struct device *dv, const struct cli_device *c, size_t index,
                     uint64_t memlock, char *err, size_t errlen)
{
    char path[VFIO_HOST_PATH_LEN];
    int sv[2], r;

    device_base(dv, &kind_vfio, c->id, "_vfio", index, 0, 0, c->pci_segment);
    dv->vfio_user = true;
    dv->memlock = memlock;
    r = vfio_host_setup(d, dv, c->path, path, err, errlen);
    if (r)
        return r;
    r = spec_add(dv, "path", path);
    if (!r)
        r = spec_add(dv, "id", dv->id);
    if (r)
        return devices_fail(err, errlen, r, "--device %s: spec cannot be passed on", dv->id);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

/* --user-device: connected here like a vhost_user=on backend. Never reconnected or replaced:
 * when the server goes away the core logs it and the function reads as all-ones. */
static int open_user_device(struct device *dv, const struct cli_user_device *c, size_t index,
                            char *err, size_t errlen)
{
    int r;

    device_base(dv, &kind_user, c->id, "_vfio_user", index, 0, 0, c->pci_segment);
    dv->vfio_user = true;
    dv->external = true;
    r = unix_connect(c->socket, false, &dv->core_sock);
    if (r)
        return devices_fail(err, errlen, r,
                            "--user-device %s: cannot connect to vfio-user socket '%s': %s", dv->id,
                            c->socket, strerror(-r));
    return 0;
}

/* --fs: connected here like a vhost_user=on disk; the core makes the device's config from the
 * tag. Queues: the high-priority one, then num_queues request queues. */
static int open_fs(struct device *dv, const struct cli_fs *c, size_t index, char *err,
                   size_t errlen)
{
    device_base(dv, &kind_fs, c->id, "_fs", index, (uint16_t)(c->num_queues + 1), c->queue_size,
                c->pci_segment);
    snprintf(dv->fs_tag, sizeof(dv->fs_tag), "%s", c->tag);
    return device_external(dv, "--fs", c->socket, err, errlen);
}

/* --rng: the source opened here, where the user's permissions apply (cellvm-rngd never opens a
 * path), non-blocking so that a source with nothing to give cannot stall the daemon's loop. Cloud
 * Hypervisor names the device __rng; it has one request queue. */
static int open_rng(struct device *dv, const struct cli_rng *c, char *err, size_t errlen)
{
    struct stat st;
    int sv[2], fd, r;

    device_base(dv, &kind_rng, "__rng", NULL, 0, 1, 256, 0);
    dv->iommu = c->iommu;
    fd = open(c->src, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return devices_fail(err, errlen, -errno, "--rng: cannot open source '%s': %s", c->src,
                            strerror(errno));
    dv->data_fds[dv->ndata++] = fd;
    if (fstat(fd, &st) < 0)
        return devices_fail(err, errlen, -errno, "--rng: source '%s': %s", c->src, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return devices_fail(err, errlen, -EISDIR, "--rng: source '%s' is a directory", c->src);
    r = spec_add(dv, "src", c->src);
    if (r)
        return devices_fail(err, errlen, r, "--rng: source path cannot be passed on");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

int devices_balloon_spec(struct device *dv, const struct cli_config *cfg)
{
    const struct cli_balloon *c = &cfg->balloon;
    char num[24];
    int r;

    dv->spec[0] = '\0';
    snprintf(num, sizeof(num), "%llu", (unsigned long long)c->size);
    r = spec_add(dv, "size", num);
    if (!r)
        r = spec_add(dv, "deflate_on_oom", c->deflate_on_oom ? "on" : "off");
    if (!r)
        r = spec_add(dv, "free_page_reporting", c->free_page_reporting ? "on" : "off");
    /* QEMU disables discard while VFIO is attached: a punched page would be replaced under the
     * device's DMA mapping of it. vfio-user servers map guest memory for DMA too. */
    if (!r && (cfg->ndevices || cfg->nuser_devices))
        r = spec_add(dv, "discard", "off");
    return r;
}

/* --balloon: Cloud Hypervisor names it __balloon; inflate and deflate queues, and the free page
 * reporting queue with free_page_reporting=on (CH's 128-entry rings). */
static int open_balloon(struct device *dv, const struct cli_config *cfg, char *err, size_t errlen)
{
    int sv[2];

    device_base(dv, &kind_balloon, "__balloon", NULL, 0, cfg->balloon.free_page_reporting ? 3 : 2,
                128, 0);
    if (devices_balloon_spec(dv, cfg))
        return devices_fail(err, errlen, -ENAMETOOLONG, "--balloon: spec cannot be passed on");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

/* --console: dups of the output and input fds the controller opened (console_host.c); the row
 * keeps them for a replacement. Cloud Hypervisor names the device __console; receiveq and
 * transmitq of 256 entries (its queue size). */
static int open_console(struct devices *d, struct device *dv, const struct cli_config *cfg,
                        char *err, size_t errlen)
{
    const struct console_host *h = d->console;
    const int fds[2] = { h ? h->out_fd : -1, h ? h->in_fd : -1 };
    int sv[2];

    device_base(dv, &kind_console, "__console", NULL, 0, 2, 256, 0);
    dv->iommu = cfg->console.iommu;
    if (!h || h->out_fd < 0)
        return devices_fail(err, errlen, -EBADF, "--console: its host side is not open");
    if (console_host_spec(h, &cfg->console, dv->spec, sizeof(dv->spec)))
        return devices_fail(err, errlen, -ENAMETOOLONG, "--console: spec cannot be passed on");
    for (size_t i = 0; i < 2 && fds[i] >= 0; i++) {
        int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

        if (fd < 0)
            return devices_fail(err, errlen, -errno, "--console: %s", strerror(errno));
        dv->data_fds[dv->ndata++] = fd;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return devices_fail(err, errlen, -errno, "socketpair: %s", strerror(errno));
    dv->core_sock = sv[0];
    dv->dev_sock = sv[1];
    return 0;
}

/* Room for every row a VM can have, allocated once: rows never move (the supervisor, timers and
 * API requests point at them). */
static int rows_alloc(struct devices *d, char *err, size_t errlen)
{
    if (d->v)
        return 0;
    d->v = calloc(DEVICES_MAX_ROWS, sizeof(*d->v));
    if (!d->v)
        return devices_fail(err, errlen, -ENOMEM, "out of memory");
    return 0;
}

/* Opens row dv for entry index of the kind's list (0 disks, 1 nets, 2 vsock, 3 devices, 4 user
 * devices, 5 virtio-fs, 6 rng, 7 balloon, 8 console). */
static int open_kind(struct devices *d, struct device *dv, const struct cli_config *cfg,
                     unsigned kind, size_t index, char *err, size_t errlen)
{
    switch (kind) {
    case 0:
        return open_disk(d, dv, cfg, &cfg->disks[index], index, err, errlen);
    case 1:
        return open_net(dv, &cfg->nets[index], index, err, errlen);
    case 2:
        return open_vsock(dv, &cfg->vsock, err, errlen);
    case 3:
        return open_vfio(d, dv, &cfg->devices[index], index, vfio_host_memlock(cfg), err, errlen);
    case 4:
        return open_user_device(dv, &cfg->user_devices[index], index, err, errlen);
    case 6:
        return open_rng(dv, &cfg->rng, err, errlen);
    case 7:
        return open_balloon(dv, cfg, err, errlen);
    case 8:
        return open_console(d, dv, cfg, err, errlen);
    default:
        return open_fs(dv, &cfg->fs[index], index, err, errlen);
    }
}

static void set_modes(struct devices *d, const struct cli_config *cfg)
{
    d->seccomp = cfg->seccomp == CLI_SECCOMP_FALSE ? CELLVM__SECCOMP_MODE__SECCOMP_OFF
                 : cfg->seccomp == CLI_SECCOMP_LOG ? CELLVM__SECCOMP_MODE__SECCOMP_LOG
                                                   : CELLVM__SECCOMP_MODE__SECCOMP_ON;
    d->verbosity = cfg->verbosity > 4 ? 4 : cfg->verbosity;
}

int devices_open(struct devices *d, const struct cli_config *cfg, char *err, size_t errlen)
{
    const size_t count[9] = {
        cfg->ndisks,
        cfg->nnets,
        cfg->vsock.present ? 1 : 0,
        cfg->ndevices,
        cfg->nuser_devices,
        cfg->nfs,
        cfg->rng.present ? 1 : 0,
        cfg->balloon.present ? 1 : 0,
        cfg->console.mode != CLI_CONSOLE_OFF ? 1 : 0,
    };
    size_t total = 0;
    int r = 0;

    for (unsigned k = 0; k < 9; k++)
        total += count[k];
    set_modes(d, cfg);
    if (!total)
        return 0;
    if (total > DEVICES_MAX_ROWS)
        return devices_fail(err, errlen, -E2BIG, "more than %d PCI devices", DEVICES_MAX_ROWS);
    r = rows_alloc(d, err, errlen);
    for (unsigned kind = 0; kind < 9 && !r; kind++) {
        for (size_t i = 0; i < count[kind] && !r; i++) {
            device_init(&d->v[d->n]);
            d->n++;
            r = open_kind(d, &d->v[d->n - 1], cfg, kind, i, err, errlen);
        }
    }
    return r;
}

int devices_open_one(struct devices *d, const struct cli_config *cfg, unsigned kind, size_t index,
                     struct device **out, char *err, size_t errlen)
{
    struct device *dv = NULL;
    int r = rows_alloc(d, err, errlen);

    for (size_t i = 0; !r && i < d->n && !dv; i++)
        if (d->v[i].unused)
            dv = &d->v[i];
    if (!r && !dv && d->n >= DEVICES_MAX_ROWS)
        r = devices_fail(err, errlen, -ENOSPC, "no room for more than %d devices",
                         DEVICES_MAX_ROWS);
    if (r)
        return r;
    if (!dv)
        dv = &d->v[d->n++];
    device_init(dv);
    r = open_kind(d, dv, cfg, kind, index, err, errlen);
    if (r) {
        devices_release(dv);
        return r;
    }
    *out = dv;
    return 0;
}

void devices_release(struct device *dv)
{
    ipc_close_fds(dv->data_fds, dv->ndata);
    if (dv->core_sock >= 0)
        close(dv->core_sock);
    if (dv->dev_sock >= 0)
        close(dv->dev_sock);
    child_close(&dv->proc);
    respawn_close(&dv->rs);
    vu_reconnect_close(&dv->vr);
    vsock_relay_close(&dv->relay);
    devices_vsock_unlink(dv);
    if (dv->hot_timer)
        event_free(dv->hot_timer);
    device_init(dv);
    dv->unused = true;
}
