#include "core/controller/api_dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/cli/cli_validate.h"
#include "core/controller/api_cfg.h"
#include "core/controller/balloon_ctl.h"
#include "core/controller/hotplug.h"
#include "core/controller/hotplug_pmem.h"
#include "core/controller/tap_sys.h"
#include "devspec/devspec.h"
#include "ipc/channel.h"
#include "validate.h"

/* devices_request() tags: which API request a device's answer closes. */
enum { TAG_RESIZE = 1, TAG_COUNTERS = 2 };

static void resize_done(struct api_ctl *a, int errnum)
{
    char msg[PB_MAX_MESSAGE_LEN];
    uint64_t id = a->resize_id;

    if (a->ev_resize)
        evtimer_del(a->ev_resize);
    a->resize_id = 0;
    if (!errnum) {
        evmon_device(a->evmon, "device-resized", a->resize_dev->id);
        api_ctl_respond(a, id, 204, NULL, NULL);
        return;
    }
    if (errnum == ENOTSUP || errnum == EOPNOTSUPP)
        snprintf(msg, sizeof(msg), "disk %s: shrinking a disk is not supported", a->resize_dev->id);
    else if (errnum == EROFS)
        snprintf(msg, sizeof(msg), "disk %s is read-only", a->resize_dev->id);
    else if (errnum == ETIMEDOUT)
        snprintf(msg, sizeof(msg), "disk %s: its device process did not answer", a->resize_dev->id);
    else
        snprintf(msg, sizeof(msg), "disk %s: resize failed: %s", a->resize_dev->id,
                 strerror(errnum));
    api_ctl_respond(a, id, 500, msg, NULL);
}

static void resize_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    resize_done(arg, ETIMEDOUT);
}

/* vm.resize-disk: blockd grows the image, then tells the core (CONFIG_CHANGE), which raises
 * the guest's config interrupt; the controller only relays and waits for the answer. */
void api_dev_resize_disk(struct api_ctl *a, uint64_t id, const Cellvm__ApiResizeDisk *rd)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Resize rz = CELLVM__RESIZE__INIT;
    struct device *dv = a->devs ? devices_find(a->devs, rd->id) : NULL;
    struct timeval tv = { API_RESIZE_MS / 1000, (API_RESIZE_MS % 1000) * 1000 };
    char msg[PB_MAX_MESSAGE_LEN];
    const char *why = NULL;
    int r;

    if (a->state == API_VM_NONE)
        why = "the VM is not created";
    else if (a->state != API_VM_RUNNING && a->state != API_VM_PAUSED)
        why = "the VM is not booted";
    else if (a->resize_id)
        why = "another disk resize is in progress";
    if (!why && (!dv || dv->virtio_id != 2)) {
        snprintf(msg, sizeof(msg), "no disk with id '%.64s' served by cellvm-blockd", rd->id);
        why = msg;
    }
    if (!why && (!rd->desired_size || rd->desired_size % 512 || rd->desired_size > (1ull << 62)))
        why = "desired_size must be a non-zero multiple of 512";
    if (why) {
        api_ctl_respond(a, id, 500, why, NULL);
        return;
    }
    if (!a->ev_resize)
        a->ev_resize = evtimer_new(a->svc.sv->base, resize_timeout, a);
    rz.size = rd->desired_size;
    env.body_case = CELLVM__ENVELOPE__BODY_RESIZE;
    env.resize = &rz;
    r = a->ev_resize ? devices_request(dv, &env, TAG_RESIZE) : -ENOMEM;
    if (r) {
        snprintf(msg, sizeof(msg), "disk %s: cannot reach its device process: %s", dv->id,
                 strerror(-r));
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    a->resize_id = id;
    a->resize_dev = dv;
    evtimer_add(a->ev_resize, &tv);
}

/* vm.counters in Cloud Hypervisor's shape: disks and nets only, with its names; a device
 * without counters (vsock, ...) has no row. */
static const char *const ctr_blk[] = { "read_bytes",       "write_bytes",       "read_ops",
                                       "write_ops",        "read_latency_min",  "read_latency_max",
                                       "read_latency_avg", "write_latency_min", "write_latency_max",
                                       "write_latency_avg" };
static const char *const ctr_net[] = { "rx_bytes", "rx_frames", "tx_bytes", "tx_frames" };

_Static_assert(sizeof(ctr_blk) / sizeof(ctr_blk[0]) <= API_COUNTERS_NAMES,
               "room for disk counters");
_Static_assert(sizeof(ctr_net) / sizeof(ctr_net[0]) <= API_COUNTERS_NAMES, "room for net counters");

/* Cloud Hypervisor starts each latency at u64::MAX and reports the average scaled down by its
 * fixed-point factor, so a direction without requests reads max, max and max / 10000. */
#define CH_LATENCY_SCALE 10000u

static void latency(uint64_t *v, uint64_t ops, uint64_t min, uint64_t max, uint64_t total)
{
    v[0] = ops ? min : UINT64_MAX;
    v[1] = ops ? max : UINT64_MAX;
    v[2] = ops ? total / ops : UINT64_MAX / CH_LATENCY_SCALE;
}

static void counters_collect(struct api_dev_counters *c, const struct device *dv,
                             const Cellvm__DeviceStats *st)
{
    memset(c, 0, sizeof(*c));
    if (dv->virtio_id == 2) {
        c->names = ctr_blk;
        c->n = sizeof(ctr_blk) / sizeof(ctr_blk[0]);
        c->v[0] = st->read_bytes;
        c->v[1] = st->write_bytes;
        c->v[2] = st->read_ops;
        c->v[3] = st->write_ops;
        latency(&c->v[4], st->read_ops, st->read_latency_min, st->read_latency_max,
                st->read_latency_total);
        latency(&c->v[7], st->write_ops, st->write_latency_min, st->write_latency_max,
                st->write_latency_total);
    } else if (dv->virtio_id == 1) {
        c->names = ctr_net;
        c->n = sizeof(ctr_net) / sizeof(ctr_net[0]);
        c->v[0] = st->rx_bytes;
        c->v[1] = st->rx_frames;
        c->v[2] = st->tx_bytes;
        c->v[3] = st->tx_frames;
    }
    c->got = c->n > 0;
}

static void counters_done(struct api_ctl *a)
{
    Cellvm__ApiResponse rs = CELLVM__API_RESPONSE__INIT;
    Cellvm__ApiCounters all = CELLVM__API_COUNTERS__INIT;
    size_t n = a->devs ? a->devs->n : 0, nd = 0;
    Cellvm__ApiDeviceCounters *dc = calloc(n ? n : 1, sizeof(*dc));
    Cellvm__ApiDeviceCounters **dp = calloc(n ? n : 1, sizeof(*dp));
    Cellvm__ApiCounter *cv = calloc(n ? n * API_COUNTERS_NAMES : 1, sizeof(*cv));
    Cellvm__ApiCounter **cp = calloc(n ? n * API_COUNTERS_NAMES : 1, sizeof(*cp));
    uint64_t id = a->counters_id;

    if (a->ev_counters)
        evtimer_del(a->ev_counters);
    a->counters_id = 0;
    if (!dc || !dp || !cv || !cp) {
        api_ctl_respond(a, id, 500, "out of memory", NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct device *dv = &a->devs->v[i];
        const struct api_dev_counters *c = &a->ctr[i];
        Cellvm__ApiCounter *row = &cv[i * API_COUNTERS_NAMES];
        Cellvm__ApiCounter **prow = &cp[i * API_COUNTERS_NAMES];
        size_t k = 0;

        if (!c->got)
            continue; /* external, not ready, or silent past the bound: left out */
        cellvm__api_device_counters__init(&dc[nd]);
        dc[nd].id = (char *)dv->id;
        for (size_t j = 0; j < c->n && j < API_COUNTERS_NAMES; j++) {
            cellvm__api_counter__init(&row[k]);
            row[k].name = (char *)c->names[j];
            row[k].value = c->v[j];
            row[k].has_value = 1;
            prow[k] = &row[k];
            k++;
        }
        dc[nd].counters = prow;
        dc[nd].n_counters = k;
        dp[nd] = &dc[nd];
        nd++;
    }
    all.devices = dp;
    all.n_devices = nd;
    rs.counters = &all;
    api_ctl_respond(a, id, 200, NULL, &rs);
out:
    free(dc);
    free(dp);
    free(cv);
    free(cp);
    free(a->ctr);
    a->ctr = NULL;
}

static void counters_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    counters_done(arg);
}

/* vm.counters: every device process is asked at once; the answer goes out when all have
 * answered or API_COUNTERS_MS has passed, whichever is first. The loop never waits. */
void api_dev_counters(struct api_ctl *a, uint64_t id)
{
    struct timeval tv = { 0, API_COUNTERS_MS * 1000 };
    size_t n = a->devs ? a->devs->n : 0;

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, 500, "the VM is not created", NULL);
        return;
    }
    if (a->counters_id) {
        api_ctl_respond(a, id, 500, "another vm.counters request is in progress", NULL);
        return;
    }
    if (!a->ev_counters)
        a->ev_counters = evtimer_new(a->svc.sv->base, counters_timeout, a);
    a->ctr = calloc(n ? n : 1, sizeof(*a->ctr));
    if (!a->ev_counters || !a->ctr) {
        free(a->ctr);
        a->ctr = NULL;
        api_ctl_respond(a, id, 500, "out of memory", NULL);
        return;
    }
    a->counters_id = id;
    a->counters_owed = 0;
    for (size_t i = 0; i < n && (a->state == API_VM_RUNNING || a->state == API_VM_PAUSED); i++) {
        struct device *dv = devices_find(a->devs, a->devs->v[i].id);

        if (dv == &a->devs->v[i] && !devices_request(dv, NULL, TAG_COUNTERS))
            a->counters_owed++;
    }
    if (!a->counters_owed) {
        counters_done(a);
        return;
    }
    evtimer_add(a->ev_counters, &tv);
}

/* devices_reply_fn: a device process answered a resize or a counters request. */
void api_dev_reply(void *arg, struct device *dv, uint8_t tag, int errnum,
                   const Cellvm__DeviceStats *st)
{
    struct api_ctl *a = arg;

    if (tag == TAG_RESIZE && a->resize_id && dv == a->resize_dev) {
        resize_done(a, errnum);
        return;
    }
    if (tag != TAG_COUNTERS || !a->counters_id || !a->ctr)
        return; /* an answer after its bound: the request was answered without it */
    counters_collect(&a->ctr[dv - a->devs->v], dv, st);
    if (a->counters_owed && !--a->counters_owed)
        counters_done(a);
}

/* Whether fd is one of the TAP fds vm.add-net handed over. */
static bool owns_fd(const struct api_ctl *a, uint32_t fd)
{
    for (size_t i = 0; i < a->n_net_fds; i++)
        if ((uint32_t)a->net_fds[i] == fd)
            return true;
    return false;
}

/* Closes one of those fds and stops owning it. */
static void forget_fd(struct api_ctl *a, int fd)
{
    for (size_t i = 0; i < a->n_net_fds; i++)
        if (a->net_fds[i] == fd) {
            close(fd);
            a->net_fds[i] = a->net_fds[--a->n_net_fds];
            return;
        }
}

/* Whether a configured net lists fd in its fd=[...]. */
static bool net_lists_fd(const struct cli_config *cfg, int fd)
{
    for (size_t i = 0; i < cfg->nnets; i++)
        for (size_t j = 0; j < cfg->nets[i].fds.n; j++)
            if (cfg->nets[i].fds.v[j] == (uint32_t)fd)
                return true;
    return false;
}

/* One device of an add request, parsed by the command line's own parser. */
union api_item {
    struct cli_disk disk;
    struct cli_net net;
    struct cli_vsock vsock;
    struct cli_device device;
    struct cli_user_device user;
    struct cli_fs fs;
};

/* The configuration list of each kind; the vsock is a single entry (arr NULL). */
struct api_list {
    void **arr;
    size_t *n;
    size_t size, max;
    const char *what;
};

static struct api_list list_of(struct cli_config *cfg, enum api_dev_kind k)
{
    switch (k) {
    case API_DEV_DISK:
        return (struct api_list){ (void **)&cfg->disks, &cfg->ndisks, sizeof(*cfg->disks),
                                  CLI_MAX_DISKS, "disk" };
    case API_DEV_NET:
        return (struct api_list){ (void **)&cfg->nets, &cfg->nnets, sizeof(*cfg->nets),
                                  CLI_MAX_NETS, "net" };
    case API_DEV_DEVICE:
        return (struct api_list){ (void **)&cfg->devices, &cfg->ndevices, sizeof(*cfg->devices),
                                  CLI_MAX_DEVICES, "VFIO" };
    case API_DEV_USER_DEVICE:
        return (struct api_list){ (void **)&cfg->user_devices, &cfg->nuser_devices,
                                  sizeof(*cfg->user_devices), CLI_MAX_USER_DEVS, "vfio-user" };
    case API_DEV_FS:
        return (struct api_list){ (void **)&cfg->fs, &cfg->nfs, sizeof(*cfg->fs), CLI_MAX_FS,
                                  "virtio-fs" };
    default:
        return (struct api_list){ NULL, NULL, sizeof(cfg->vsock), 1, "vsock" };
    }
}

static void item_free(enum api_dev_kind k, union api_item *it)
{
    switch (k) {
    case API_DEV_DISK:
        cli_disk_free(&it->disk);
        break;
    case API_DEV_NET:
        cli_net_free(&it->net);
        break;
    case API_DEV_VSOCK:
        cli_vsock_free(&it->vsock);
        break;
    case API_DEV_DEVICE:
        cli_device_free(&it->device);
        break;
    case API_DEV_USER_DEVICE:
        cli_user_device_free(&it->user);
        break;
    case API_DEV_FS:
        cli_fs_free(&it->fs);
        break;
    }
    memset(it, 0, sizeof(*it));
}

static int item_parse(enum api_dev_kind k, const char *opt, union api_item *it, char *err,
                      size_t errlen)
{
    memset(it, 0, sizeof(*it));
    switch (k) {
    case API_DEV_DISK:
        return cli_disk_parse(opt, &it->disk, err, errlen);
    case API_DEV_NET:
        return cli_net_parse(opt, &it->net, err, errlen);
    case API_DEV_VSOCK:
        return cli_vsock_parse(opt, &it->vsock, err, errlen);
    case API_DEV_DEVICE:
        return cli_device_parse(opt, &it->device, err, errlen);
    case API_DEV_USER_DEVICE:
        return cli_user_device_parse(opt, &it->user, err, errlen);
    default:
        return cli_fs_parse(opt, &it->fs, err, errlen);
    }
}

/* Appends `it` (moved in) to the configuration, gives it an id if it has none, and checks the
 * whole configuration again, as Cloud Hypervisor validates a clone with the new device; on
 * failure nothing changes and `it` is the caller's again. *index: where it went. */
static int add_to_config(struct cli_config *cfg, enum api_dev_kind k, union api_item *it,
                         size_t *index, char *err, size_t errlen)
{
    unsigned nwarnings = cfg->nwarnings;
    struct api_list l = list_of(cfg, k);
    char *arr;
    int r;

    if (api_cfg_fill_ids(cfg)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (!l.arr && cfg->vsock.present) {
        snprintf(err, errlen, "the VM already has a vsock device (%s)",
                 cfg->vsock.id ? cfg->vsock.id : "_vsock0");
        return -EINVAL;
    }
    if (l.arr && *l.n >= l.max) {
        snprintf(err, errlen, "more than %zu %s devices", l.max, l.what);
        return -EINVAL;
    }
    if (l.arr) {
        arr = realloc(*l.arr, (*l.n + 1) * l.size);
        if (!arr) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        *l.arr = arr;
        memcpy(arr + *l.n * l.size, it, l.size);
        *index = (*l.n)++;
    } else {
        cfg->vsock = it->vsock;
        *index = 0;
    }
    r = api_cfg_fill_ids(cfg);
    if (r)
        snprintf(err, errlen, "out of memory");
    else
        r = cli_validate(cfg, err, errlen);
    cfg->nwarnings = nwarnings; /* said when the configuration was created */
    if (r) {
        if (l.arr)
            memcpy(it, (char *)*l.arr + --(*l.n) * l.size, l.size);
        else
            memset(&cfg->vsock, 0, sizeof(cfg->vsock));
        return r;
    }
    memset(it, 0, sizeof(*it));
    return 0;
}

/* The error status Cloud Hypervisor's file gives each add endpoint. */
static uint32_t add_error_status(enum api_dev_kind k)
{
    return k == API_DEV_DEVICE || k == API_DEV_USER_DEVICE ? 404 : 500;
}

static const enum hotplug_kind hotplug_kinds[] = {
    [API_DEV_DISK] = HOTPLUG_DISK,
    [API_DEV_NET] = HOTPLUG_NET,
    [API_DEV_VSOCK] = HOTPLUG_VSOCK,
    [API_DEV_DEVICE] = HOTPLUG_DEVICE,
    [API_DEV_USER_DEVICE] = HOTPLUG_USER_DEVICE,
    [API_DEV_FS] = HOTPLUG_FS,
};

/* Parsed, added, answered: 204 before boot ("cold" added, as Cloud Hypervisor), hotplug_add()
 * on a booted VM, which answers itself. `opt` is the device's option string. */
static void add_item(struct api_ctl *a, uint64_t id, enum api_dev_kind k, const char *opt,
                     char *err, size_t errlen)
{
    bool booted = a->state == API_VM_RUNNING || a->state == API_VM_PAUSED;
    union api_item it;
    size_t index = 0;
    int r;

    r = item_parse(k, opt, &it, err, errlen);
    if (!r)
        r = add_to_config(a->cfg, k, &it, &index, err, errlen);
    item_free(k, &it);
    if (r) {
        api_ctl_respond(a, id, add_error_status(k), err, NULL);
        return;
    }
    if (booted && (k == API_DEV_DEVICE || k == API_DEV_USER_DEVICE))
        balloon_ctl_no_discard(a); /* before the device can map guest memory for DMA */
    if (booted)
        hotplug_add(a, id, hotplug_kinds[k], index);
    else
        api_ctl_respond(a, id, 204, NULL, NULL);
}

void api_dev_add(struct api_ctl *a, uint64_t id, enum api_dev_kind k, const ProtobufCMessage *m)
{
    char err[CLI_ERR_LEN] = "";
    char *opt = NULL;

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, add_error_status(k), "the VM is not created", NULL);
        return;
    }
    if (!m || api_cfg_option(m, &opt, err, sizeof(err))) {
        api_ctl_respond(a, id, add_error_status(k), m ? err : "the device configuration is missing",
                        NULL);
        return;
    }
    add_item(a, id, k, opt, err, sizeof(err));
    free(opt);
}

/* Each fd is a TAP device. 0, or -errno with the reason in err. */
static int check_taps(const int *fds, size_t nfds, const char *what, char *err, size_t errlen)
{
    for (size_t i = 0; i < nfds; i++) {
        int r = ctl_tap_ifindex(fds[i]);

        if (r < 0) {
            snprintf(err, errlen, "%s: fd %zu is not a TAP device: %s", what, i, strerror(-r));
            return r;
        }
    }
    return 0;
}

/* a->net_fds can take nfds more without failing. */
static int room_for_fds(struct api_ctl *a, size_t nfds, char *err, size_t errlen)
{
    int *owned;

    if (!nfds)
        return 0;
    owned = realloc(a->net_fds, (a->n_net_fds + nfds) * sizeof(*owned));
    if (!owned) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    a->net_fds = owned;
    return 0;
}

int api_dev_take_net_fds(struct api_ctl *a, int *fds, size_t nfds, const char *what, char *err,
                         size_t errlen)
{
    int r = check_taps(fds, nfds, what, err, errlen);

    if (!r)
        r = room_for_fds(a, nfds, err, errlen);
    if (r) {
        ipc_close_fds(fds, nfds);
        return r;
    }
    for (size_t i = 0; i < nfds; i++)
        a->net_fds[a->n_net_fds++] = fds[i];
    return 0;
}

/* vm.add-net. The fds that came with the request become the net's fd=[...] list, one per queue
 * pair; the controller keeps them (devices_open() duplicates them at boot, hotplug when the VM
 * runs) until api_dev_drop_net_fds() or the net's removal. */
void api_dev_add_net(struct api_ctl *a, uint64_t id, const Cellvm__ApiNetConfig *nc, int *fds,
                     size_t nfds)
{
    char err[CLI_ERR_LEN] = "";
    char *opt = NULL;
    int r = -EINVAL;

    if (a->state == API_VM_NONE)
        snprintf(err, sizeof(err), "the VM is not created");
    else if (!nc)
        snprintf(err, sizeof(err), "vm.add-net: NetConfig missing");
    else
        r = check_taps(fds, nfds, "vm.add-net", err, sizeof(err));
    if (!r)
        r = api_cfg_net_option(nc, fds, nfds, &opt, err, sizeof(err));
    if (!r)
        r = room_for_fds(a, nfds, err, sizeof(err));
    if (r) {
        free(opt);
        ipc_close_fds(fds, nfds);
        /* Cloud Hypervisor's file allows only 500 for a device that cannot be added. */
        api_ctl_respond(a, id, 500, err, NULL);
        return;
    }
    /* Owned before the net is added: a hot add that fails takes them out again. */
    for (size_t i = 0; i < nfds; i++)
        a->net_fds[a->n_net_fds++] = fds[i];
    add_item(a, id, API_DEV_NET, opt, err, sizeof(err));
    free(opt);
    /* Refused: no configured net lists them, so they are closed now. */
    for (size_t i = 0; i < nfds; i++)
        if (!net_lists_fd(a->cfg, fds[i]))
            forget_fd(a, fds[i]);
}

int api_ctl_remove_device(struct api_ctl *a, const char *dev_id)
{
    struct optparse_u32_list fds = { 0 };
    int r;

    for (size_t i = 0; i < a->cfg->nnets; i++)
        if (a->cfg->nets[i].id && !strcmp(a->cfg->nets[i].id, dev_id)) {
            fds = a->cfg->nets[i].fds;
            memset(&a->cfg->nets[i].fds, 0, sizeof(fds)); /* the values are ours now */
        }
    r = api_cfg_remove_device(a->cfg, dev_id);
    for (size_t i = 0; i < fds.n; i++)
        if (owns_fd(a, fds.v[i]))
            forget_fd(a, (int)fds.v[i]);
    optparse_u32_list_free(&fds);
    return r;
}

/* vm.remove-device: a booted VM's device goes through PCI hotplug (the guest ejects it);
 * before boot it leaves the configuration at once. */
void api_dev_remove(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmRemoveDevice *rm)
{
    char msg[PB_MAX_MESSAGE_LEN];

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, 404, "the VM is not created", NULL);
        return;
    }
    if (a->state == API_VM_RUNNING || a->state == API_VM_PAUSED) {
        hotplug_remove(a, id, rm->id);
        return;
    }
    if (api_cfg_fill_ids(a->cfg)) {
        api_ctl_respond(a, id, 500, "out of memory", NULL);
        return;
    }
    if (api_ctl_remove_device(a, rm->id)) {
        snprintf(msg, sizeof(msg), "no device with id '%.64s'", rm->id);
        api_ctl_respond(a, id, 404, msg, NULL);
        return;
    }
    api_ctl_respond(a, id, 204, NULL, NULL);
}

void api_dev_drop_net_fds(struct api_ctl *a)
{
    for (size_t i = 0; a->n_net_fds && i < a->cfg->nnets; i++) {
        struct optparse_u32_list *l = &a->cfg->nets[i].fds;

        if (l->n && owns_fd(a, l->v[0]))
            l->n = 0; /* the values go with the list when the configuration is freed */
    }
    ipc_close_fds(a->net_fds, a->n_net_fds);
    free(a->net_fds);
    a->net_fds = NULL;
    a->n_net_fds = 0;
}

void api_dev_close(struct api_ctl *a)
{
    if (a->ev_resize)
        event_free(a->ev_resize);
    if (a->ev_counters)
        event_free(a->ev_counters);
    a->ev_resize = a->ev_counters = NULL;
    hotplug_pmem_close(a);
    free(a->ctr);
    a->ctr = NULL;
    api_dev_drop_net_fds(a);
}
