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

#include "core/controller/liveness.h"
#include "core/controller/tap_sys.h"
#include "core/controller/unix_sock.h"
#include "core/controller/vfio_host.h"
#include "core/controller/devices_priv.h"
#include "ipc/channel.h"
/* The fd at which a device process finds its vhost-user socket (after its control channel). */
#define DEV_VU_FD (LAUNCH_CHANNEL_FD + 1)

static void dev_error(struct device *dv, const char *what)
{
    struct supervisor *sv = dv->svc.sv;
    const struct devices *d = dv->svc.arg;

    sv_report(sv, "cellvm: error: device %s (%s): %s\n", dv->id, dv->kind->role, what);
    if (d->stopping && !sv->stopping)
        return; /* the VM is stopping anyway; the VMM stays */
    sv_set_status(sv, 1);
    sv_stop(sv);
}

static void send_configure(struct device *dv)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceConfigure cfg = CELLVM__DEVICE_CONFIGURE__INIT;
    struct devices *d = dv->svc.arg;
    int r;

    (void)d;
    cfg.option = (char *)dv->kind->option;
    cfg.spec = dv->spec;
    cfg.nfds = (uint32_t)dv->ndata;
    cfg.seccomp = d->seccomp;
    cfg.verbosity = d->verbosity;
    if (dv->rl_group[0])
        cfg.rate_limit_group = dv->rl_group;
    cfg.defer_image_lock = d->defer_image_lock && dv->virtio_id == 2; /* disks (virtio-blk) */
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE;
    env.device_configure = &cfg;
    /* The controller keeps its own copies: a replacement gets them again (respawn.h). VFIO's
     * too (vfio_host.h): they hold the device's state and DMA mappings across a vfiod's death,
     * and go with the row (VM end, hot removal), so the group is free again then. */
    r = sv_send(&dv->svc, &env, dv->data_fds, dv->ndata);
    /* A process that died before its configuration went out: its exit, which follows, tells
     * why and counts against the respawn budget like any other death (respawn.h). */
    if (r && !((r == -EPIPE || r == -ECONNRESET) && !dv->external))
        dev_error(dv, "cannot send its configuration");
    dv->configured = true;
}

static void answer_backing(struct device *dv, const Cellvm__OpenBackingFile *req)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__BackingFile bf = CELLVM__BACKING_FILE__INIT;
    Cellvm__Error e = CELLVM__ERROR__INIT;
    char why[PB_MAX_MESSAGE_LEN];
    int fd = -1, r;

    r = backing_open(&dv->policy, req->path, req->read_only, &fd, why, sizeof(why));
    if (r == 0) {
        bf.path = req->path;
        env.body_case = CELLVM__ENVELOPE__BODY_BACKING_FILE;
        env.backing_file = &bf;
        r = sv_send(&dv->svc, &env, &fd, 1);
        close(fd);
        return;
    }
    for (char *c = why; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    e.errnum = -r;
    e.message = why;
    env.body_case = CELLVM__ENVELOPE__BODY_ERROR;
    env.error = &e;
    sv_send(&dv->svc, &env, NULL, 0);
}

static int send_link(struct device *dv)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__LinkState ls = CELLVM__LINK_STATE__INIT;

    ls.up = !dv->link_down;
    env.body_case = CELLVM__ENVELOPE__BODY_LINK_STATE;
    env.link_state = &ls;
    return sv_send(&dv->svc, &env, NULL, 0);
}

int devices_set_link(struct device *dv, bool up)
{
    if (dv->link_down == !up)
        return 0;
    dv->link_down = !up;
    return dv->ready && !dv->svc.exited ? send_link(dv) : 0;
}

static void dev_message(struct sv_child *c, Cellvm__Envelope *env, int *fds, size_t nfds)
{
    struct device *dv = (struct device *)((char *)c - offsetof(struct device, svc));

    ipc_close_fds(fds, nfds); /* no message a device sends carries fds */
    switch (env->body_case) {
    case CELLVM__ENVELOPE__BODY_HELLO:
        if (dv->configured || env->hello->role != dv->kind->hello_role ||
            (pid_t)env->hello->pid != dv->proc.self_pid) {
            dev_error(dv, "introduced itself wrongly");
            sv_kill(c);
            return;
        }
        send_configure(dv);
        return;
    case CELLVM__ENVELOPE__BODY_READY: {
        struct devices *d = c->arg;

        dv->ready = true;
        dv->probe_ms = 0;  /* a replacement owes nothing its predecessor did */
        if (dv->link_down) /* went down before the device could be told */
            send_link(dv);
        if (dv->hot == DEV_HOT_STARTING && d->on_hot)
            d->on_hot(d->hot_arg, dv, -1);
        else
            respawn_on_ready(d, dv);
        return;
    }
    case CELLVM__ENVELOPE__BODY_ERROR:
        if (dv->pending) { /* the refusal of a request; its DeviceStats follows */
            sv_report(c->sv, "cellvm: device %s: %s\n", dv->id, env->error->message);
            dv->req_errnum = env->error->errnum > 0 ? env->error->errnum : EIO;
            return;
        }
        dev_error(dv, env->error->message);
        return;
    case CELLVM__ENVELOPE__BODY_DEVICE_STATS: {
        struct devices *d = c->arg;
        int e = dv->req_errnum;
        uint8_t tag = dv->tags[0];

        if (!dv->pending)
            break;
        dv->pending--;
        memmove(dv->tags, dv->tags + 1, dv->pending);
        dv->req_errnum = 0;
        if (tag == DEVICES_TAG_LIVENESS) {
            liveness_answered(dv);
            return;
        }
        if (d->on_reply)
            d->on_reply(d->reply_arg, dv, tag, e, env->device_stats);
        return;
    }
    case CELLVM__ENVELOPE__BODY_OPEN_BACKING_FILE:
        answer_backing(dv, env->open_backing_file);
        return;
    case CELLVM__ENVELOPE__BODY_BALLOON_ACTUAL:
        if (dv->kind->hello_role != CELLVM__ROLE__ROLE_BALLOOND)
            break;
        /* The guest's word, checked by the validator only for shape: vm.info clamps it. */
        dv->balloon_actual = env->balloon_actual->size;
        return;
    case CELLVM__ENVELOPE__BODY_DEVICE_EVENT:
        if (env->device_event->kind == CELLVM__DEVICE_EVENT__KIND__KIND_NEEDS_RESET)
            sv_report(c->sv, "cellvm: device %s: queue %u needs a reset (error %d)\n", dv->id,
                      env->device_event->queue, env->device_event->errnum);
        return;
    default:
        break;
    }
    sv_report(c->sv, "cellvm: unexpected control message from device %s ignored\n", dv->id);
}

static void dev_exit(struct sv_child *c, int st)
{
    struct device *dv = (struct device *)((char *)c - offsetof(struct device, svc));
    char msg[320];

    bool abnormal = WIFSIGNALED(st) ? !c->killed : WEXITSTATUS(st) != 0;
    struct devices *d = c->arg;

    /* Hotplug: a hot-added process that died before the core had it, or the end of a removed
     * device's process; hotplug.c decides (the VM goes on). */
    if (dv->hot != DEV_HOT_NONE && dv->hot != DEV_HOT_REMOVING && d->on_hot && !c->sv->stopping &&
        !d->stopping) {
        d->on_hot(d->hot_arg, dv, st);
        return;
    }
    if (d->stopping && !c->sv->stopping) { /* only the VM stops (vm_stop.h) */
        if (abnormal) {
            sv_describe_death(c->sv, c, st, msg, sizeof(msg));
            sv_report(c->sv, "cellvm: warning: device %s: %s\n", dv->id, msg);
        }
        if (d->on_gone)
            d->on_gone(d->gone_arg);
        return;
    }
    /* The core died first and its exit waits in the loop: the VM ends (vm_stop.h), and this
     * process only saw its frontend go; a replacement would be told to stop before it was
     * configured. */
    if (!c->sv->stopping && d->core && sv_child_gone(d->core))
        return;
    if (!c->sv->stopping && !dv->external) {
        respawn_on_exit(c->arg, dv, st);
        return;
    }
    /* Once the VM stops, a device leaving cleanly (its frontend closed) is the normal end. */
    if (c->sv->stopping && !abnormal)
        return;
    sv_describe_death(c->sv, c, st, msg, sizeof(msg));
    sv_report(c->sv, "cellvm: error: device %s: %s; stopping the VM\n", dv->id, msg);
    sv_set_status(c->sv, 1);
    sv_stop(c->sv);
}

/* The VMM or the VM stops: nothing will start this device's process again, so its TAP fds
 * close here rather than once every process has exited (devices_stop_net). */
static void dev_stop(struct sv_child *c)
{
    struct device *dv = (struct device *)((char *)c - offsetof(struct device, svc));

    if (sv_send_shutdown(c))
        sv_kill(c);
    if (dv->kind && dv->kind->hello_role == CELLVM__ROLE__ROLE_NETD) {
        ipc_close_fds(dv->data_fds, dv->ndata);
        dv->ndata = 0;
    }
}

static const struct sv_child_ops dev_ops = {
    .on_message = dev_message,
    .on_exit = dev_exit,
    .on_stop = dev_stop,
};

int devices_start_process(struct device *dv, char *err, size_t errlen)
{
    char exe[PATH_MAX], ctl_arg[16], fd_arg[16];
    char *argv[] = {
        (char *)dv->kind->exe, (char *)"--control-fd", ctl_arg, (char *)"--fd", fd_arg, NULL
    };
    int r;

    r = child_exe_path(dv->kind->exe, exe, sizeof(exe));
    if (r)
        return devices_fail(err, errlen, r, "cannot locate %s: %s", dv->kind->exe, strerror(-r));
    snprintf(ctl_arg, sizeof(ctl_arg), "%d", LAUNCH_CHANNEL_FD);
    snprintf(fd_arg, sizeof(fd_arg), "%d", DEV_VU_FD);
    dv->proc.role = dv->kind->role;
    dv->proc.id = dv->id;
    r = child_spawn_fds(&dv->proc, exe, argv, &dv->dev_sock, 1);
    if (r)
        return devices_fail(err, errlen, r, "cannot start %.200s: %s", exe, strerror(-r));
    close(dv->dev_sock);
    dv->dev_sock = -1;
    /* Before its Hello is read, so before it gets its fds and can map anything for DMA. */
    if (dv->vfio_user)
        return vfio_host_limit(dv, err, errlen);
    return 0;
}

int devices_spawn_one(struct devices *d, struct supervisor *sv, struct device *dv, char *err,
                      size_t errlen)
{
    int r;

    dv->proc.spawner = d->spawner; /* kept for its respawns */
    dv->proc.netns = d->netns;
    r = devices_start_process(dv, err, errlen);
    if (r)
        return r;
    r = sv_add(sv, &dv->svc, &dv->proc, &dev_ops, d, 1);
    if (!r)
        r = vsock_relay_watch(&dv->relay, sv->base);
    if (r)
        return devices_fail(err, errlen, r, "cannot watch %s: %s", dv->id, strerror(-r));
    return 0;
}

int devices_spawn(struct devices *d, struct supervisor *sv, char *err, size_t errlen)
{
    int r = liveness_start(d, sv);

    if (r) {
        snprintf(err, errlen, "device liveness timer: %s", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < d->n; i++) {
        /* What the processes started so far said (the core's Hello above all, which its
         * configuration answers) is served between two starts, so they go on in parallel
         * with the next start rather than after the last one. */
        sv_drain(sv);
        r = d->v[i].external ? 0 : devices_spawn_one(d, sv, &d->v[i], err, errlen);
        if (r)
            return r;
    }
    return 0;
}

static int send_attach(struct sv_child *core, struct device *dv, int fd, bool reconnect,
                       bool hotplug)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__AttachDevice ad = CELLVM__ATTACH_DEVICE__INIT;

    ad.id = dv->id;
    ad.virtio_id = dv->virtio_id;
    ad.num_queues = dv->num_queues;
    ad.queue_size = dv->queue_size;
    ad.pci_segment = dv->pci_segment;
    /* The core needs no difference between a vfio-user server we started and one we did not
     * (only ours is replaced, and the controller decides that), so AttachDevice keeps external
     * for vhost-user. */
    ad.external = dv->external && !dv->vfio_user;
    ad.reconnect = reconnect;
    ad.vfio_user = dv->vfio_user;
    ad.hotplug = hotplug;
    ad.fs_tag = dv->fs_tag;
    ad.iommu = dv->iommu;
    env.body_case = CELLVM__ENVELOPE__BODY_ATTACH_DEVICE;
    env.attach_device = &ad;
    return sv_send(core, &env, &fd, 1);
}

int devices_send_attach(struct sv_child *core, struct device *dv, int fd, bool reconnect)
{
    return send_attach(core, dv, fd, reconnect, false);
}

int devices_send_hot_attach(struct sv_child *core, struct device *dv)
{
    int r = send_attach(core, dv, dv->core_sock, false, true);

    close(dv->core_sock);
    dv->core_sock = -1;
    return r;
}

int devices_attach(struct devices *d, struct sv_child *core)
{
    d->core = core;
    for (size_t i = 0; i < d->n; i++) {
        struct device *dv = &d->v[i];
        int r = devices_send_attach(core, dv, dv->core_sock, false);

        close(dv->core_sock);
        dv->core_sock = -1;
        if (r)
            return r;
    }
    return 0;
}

struct device *devices_row(struct devices *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++)
        if (!d->v[i].unused && !strcmp(d->v[i].id, id))
            return &d->v[i];
    return NULL;
}

struct device *devices_find(struct devices *d, const char *id)
{
    struct device *dv = devices_row(d, id);

    return !dv || dv->external || dv->vfio_user || !dv->ready || dv->svc.exited ? NULL : dv;
}

int devices_request(struct device *dv, const Cellvm__Envelope *req, uint8_t tag)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__StatsRequest sr = CELLVM__STATS_REQUEST__INIT;
    int r = 0;

    if (dv->pending >= DEVICES_MAX_PENDING)
        return -EBUSY; /* a device that stopped answering gets no more requests */
    if (req)
        r = sv_send(&dv->svc, req, NULL, 0);
    env.body_case = CELLVM__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &sr;
    if (!r)
        r = sv_send(&dv->svc, &env, NULL, 0);
    if (!r)
        dv->tags[dv->pending++] = tag;
    return r;
}

void devices_fail_pending(struct devices *d, struct device *dv)
{
    const Cellvm__DeviceStats none = CELLVM__DEVICE_STATS__INIT;

    while (dv->pending) {
        uint8_t tag = dv->tags[0];

        dv->pending--;
        memmove(dv->tags, dv->tags + 1, dv->pending);
        if (tag != DEVICES_TAG_LIVENESS && d->on_reply)
            d->on_reply(d->reply_arg, dv, tag, EIO, &none);
    }
    dv->req_errnum = 0;
    dv->probe_ms = 0;
}

void devices_close(struct devices *d)
{
    liveness_stop(d);
    for (size_t i = 0; i < d->n; i++)
        if (!d->v[i].unused)
            devices_release(&d->v[i]);
    free(d->v);
    d->v = NULL;
    d->n = 0;
    rl_groups_close(&d->rl_groups);
}

void devices_stop_net(struct devices *d)
{
    for (size_t i = 0; i < d->n; i++) {
        struct device *dv = &d->v[i];

        if (!dv->unused && dv->svc.sv && dv->kind &&
            dv->kind->hello_role == CELLVM__ROLE__ROLE_NETD)
            sv_stop_child(&dv->svc);
    }
}
