#include "core/controller/migration.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "blockd/imglock.h"
#include "core/api/api_json.h"
#include "core/controller/api_cfg.h"
#include "core/controller/mig_connect.h"
#include "core/controller/mig_url.h"
#include "core/controller/snapshot.h"
#include "core/controller/unix_sock.h"
#include "ipc/channel.h"
#include "ipc/mig_stream.h"
#include "validate.h"

#define VIRTIO_ID_BLOCK 2

/* Each disk this VM's processes opened: its image description's locks released (release) or
 * taken as the disk's readonly= says. Stops at the first failure when taking (the ones taken
 * are released again). 0 or -errno with err. */
static int disk_locks(struct api_ctl *a, bool release, char *err, size_t errlen)
{
    size_t done = 0;
    int r = 0;

    if (!a->devs)
        return 0;
    for (size_t i = 0; i < a->devs->n && !r; i++, done = i) {
        struct device *dv = &a->devs->v[i];
        bool ro = false;

        if (dv->unused || dv->external || dv->virtio_id != VIRTIO_ID_BLOCK || !dv->ndata ||
            dv->data_fds[0] < 0)
            continue;
        for (size_t k = 0; k < a->cfg->ndisks; k++)
            if (a->cfg->disks[k].id && !strcmp(a->cfg->disks[k].id, dv->id))
                ro = a->cfg->disks[k].readonly;
        r = release ? imglock_release(dv->data_fds[0]) : imglock_acquire(dv->data_fds[0], !ro);
        if (r)
            snprintf(err, errlen, "disk '%s': cannot %s its image lock: %s", dv->id,
                     release ? "release" : "take",
                     r == -EBUSY ? "another process holds it" : strerror(-r));
    }
    if (r && !release)
        for (size_t i = 0; i + 1 < done; i++) {
            struct device *dv = &a->devs->v[i];

            if (!dv->unused && !dv->external && dv->virtio_id == VIRTIO_ID_BLOCK && dv->ndata &&
                dv->data_fds[0] >= 0)
                (void)imglock_release(dv->data_fds[0]);
        }
    return r;
}

static void send_locks(struct api_ctl *a, int r, const char *why)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__MigrationLocks ml = CELLVM__MIGRATION_LOCKS__INIT;
    struct sv_child *core = a->ops->core(a->arg);

    ml.errnum = r < 0 && -r < 4096 ? -r : r ? EIO : 0;
    ml.message = (char *)(r ? why : "");
    env.body_case = CELLVM__ENVELOPE__BODY_MIGRATION_LOCKS;
    env.migration_locks = &ml;
    if (!core || sv_send(core, &env, NULL, 0))
        sv_report(a->svc.sv, "cellvm: migration: the core is not reachable\n");
}

static const char *busy(const struct api_ctl *a)
{
    if (a->mig_id)
        return "a migration is in progress already";
    if (a->snapshot_id || a->control_id || a->vm_resize_id || a->vm_resize_zone_id ||
        a->vm_stopping || a->boot_id || a->restoring)
        return "another VM operation is in progress";
    return NULL;
}

/* What the source cannot migrate beyond snapshot_refusal's list. NULL if none. */
static const char *refusal(struct api_ctl *a, char *buf, size_t len)
{
    const char *no = snapshot_refusal(a, "migrate", buf, len);

    if (no)
        return no;
    for (size_t i = 0; i < a->cfg->ndisks; i++)
        if (a->cfg->disks[i].image_type == CLI_IMAGE_QCOW2 && !a->cfg->disks[i].readonly &&
            !a->cfg->disks[i].vhost_user) {
            snprintf(buf, len,
                     "cannot migrate a VM with a writable QCOW2 disk ('%s') yet: the "
                     "destination's cellvm-blockd would keep metadata read before the switch",
                     a->cfg->disks[i].id ? a->cfg->disks[i].id : "?");
            return buf;
        }
    return NULL;
}

/* The destination answered (fd) or could not be reached: the core gets the stream. */
static void on_connected(void *arg, int fd, int r, const char *why)
{
    struct api_ctl *a = arg;
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VmMigrate vmg = CELLVM__VM_MIGRATE__INIT;
    struct sv_child *core = a->ops->core(a->arg);
    Cellvm__ApiVmConfig *vc = NULL;
    uint64_t id = a->mig_id;
    char *json = NULL;

    a->mig_conn = NULL;
    if (r || !core) {
        a->mig_id = 0;
        api_ctl_respond(a, id, 500, r ? why : "the VM's core process is not reachable", NULL);
        goto out;
    }
    /* The destination builds the VM as vm.info shows it now. */
    vc = api_cfg_from_cli(a->cfg);
    json = vc ? apij_render(&vc->base) : NULL;
    if (!json || strlen(json) > IPC_PB_MAX_CONFIG_JSON) {
        a->mig_id = 0;
        api_ctl_respond(a, id, 500,
                        json ? "the VM's configuration is too large to send" : "out of memory",
                        NULL);
        goto out;
    }
    vmg.config_json = json;
    vmg.local = a->mig_local;
    env.body_case = CELLVM__ENVELOPE__BODY_VM_MIGRATE;
    env.vm_migrate = &vmg;
    if (sv_send(core, &env, &fd, 1)) {
        a->mig_id = 0;
        api_ctl_respond(a, id, 500, "the VM's core process is not reachable", NULL);
        goto out;
    }
    evmon_event(a->evmon, "vm", "migration-started");
out:
    if (fd >= 0)
        close(fd); /* the core has its own */
    free(json);
    if (vc)
        protobuf_c_message_free_unpacked(&vc->base, NULL);
}

void migration_send_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiSendMigrationData *sm)
{
    struct sv_child *core = a->ops->core(a->arg);
    char err[CLI_ERR_LEN], why[300];
    bool local = sm->has_local && sm->local;
    struct mig_url url;
    const char *no;
    int r;

    if (a->state == API_VM_NONE) { /* Cloud Hypervisor: VmSendMigration's error, a 500 */
        api_ctl_respond(a, id, 500, "the VM is not created", NULL);
        return;
    }
    if ((a->state != API_VM_RUNNING && a->state != API_VM_PAUSED) || !core) {
        api_ctl_respond(a, id, 405, "the VM is not booted", NULL);
        return;
    }
    no = busy(a);
    if (!no)
        no = refusal(a, why, sizeof(why));
    /* Cloud Hypervisor's order: shared memory first, then the transport. */
    if (!no && local && !migration_shared_memory(a->cfg))
        no = "local migration requires shared memory or hugepages enabled: boot the VM with "
             "--memory shared=on (or hugepages=on; with --memory-zone, on every zone)";
    if (no) {
        api_ctl_respond(a, id, 500, no, NULL);
        return;
    }
    r = mig_url_parse("destination_url", sm->destination_url, &url, err, sizeof(err));
    if (r) {
        api_ctl_respond(a, id, 400, err, NULL);
        return;
    }
    if (local && url.kind != MIG_URL_UNIX) {
        api_ctl_respond(a, id, 500,
                        "local migration is only supported with a unix: destination_url "
                        "(guest memory goes as fds to a VMM on this host)",
                        NULL);
        return;
    }
    r = mig_connect_start(a->svc.sv->base, &url, MIG_URL_CONNECT_MS, on_connected, a, &a->mig_conn,
                          err, sizeof(err));
    if (r) {
        api_ctl_respond(a, id, 500, err, NULL);
        return;
    }
    /* Busy from here: the answer comes once the destination took the VM or failed. */
    a->mig_id = id;
    a->mig_source = true;
    a->mig_local = local;
    a->mig_released = false;
}

static void mig_reset(struct api_ctl *a)
{
    mig_connect_cancel(a->mig_conn);
    a->mig_conn = NULL;
    if (a->mig_ev)
        event_free(a->mig_ev);
    a->mig_ev = NULL;
    if (a->mig_listen >= 0)
        close(a->mig_listen);
    a->mig_listen = -1;
    if (a->mig_path) {
        (void)unlink(a->mig_path);
        free(a->mig_path);
    }
    a->mig_path = NULL;
    if (a->mig_fd >= 0)
        close(a->mig_fd);
    a->mig_fd = -1;
    migration_memfd_close(a);
}

/* Start and Config from the source just connected, then the boot of that VM; the core takes
 * it from there. 0, or -errno with err (the source is told). */
static int take_config(struct api_ctl *a, int fd, char *err, size_t errlen)
{
    struct cli_config tmp;
    struct mig_hdr h;
    char *json;
    int r = mig_recv_hdr(fd, &h, MIGRATION_ACCEPT_MS, err, errlen);

    if (!r && h.cmd != MIG_START)
        r = -EPROTO, snprintf(err, errlen, "migration: the source did not begin with Start");
    if (!r)
        r = mig_reply(fd, true, NULL);
    if (!r)
        r = mig_recv_hdr(fd, &h, MIGRATION_ACCEPT_MS, err, errlen);
    /* A local migration's memory fds come between Start and Config, as Cloud Hypervisor's. */
    if (!r && h.cmd == MIG_MEMORY_FD) {
        r = migration_memfd_take(a, fd, &h, err, errlen);
        if (!r)
            r = mig_reply(fd, true, NULL);
        if (!r)
            r = mig_recv_hdr(fd, &h, MIGRATION_ACCEPT_MS, err, errlen);
    }
    if (!r && h.cmd != MIG_CONFIG)
        r = -EPROTO, snprintf(err, errlen, "migration: Config was due after Start");
    if (r)
        return r;
    json = malloc((size_t)h.len);
    if (!json)
        return -ENOMEM;
    r = mig_read(fd, json, (size_t)h.len, MIGRATION_ACCEPT_MS);
    if (r)
        snprintf(err, errlen, "migration: truncated Config");
    else
        r = snapshot_parse_config(json, (size_t)h.len, &tmp, err, errlen);
    free(json);
    if (r)
        return r;
    if (!tmp.payload.kernel) {
        cli_config_free(&tmp);
        snprintf(err, errlen, "migration: the VM has no payload.kernel");
        return -EINVAL;
    }
    r = migration_memfd_check(a, &tmp, err, errlen);
    if (r) {
        cli_config_free(&tmp);
        return r;
    }
    api_ctl_adopt_config(a, &tmp);
    return 0;
}

static void on_connect(evutil_socket_t lfd, short what, void *arg)
{
    struct api_ctl *a = arg;
    char err[CLI_ERR_LEN] = "";
    int fd = accept4((int)lfd, NULL, NULL, SOCK_CLOEXEC), r;

    (void)what;
    if (fd < 0)
        return; /* spurious: still listening */
    /* One source: the listener and its file go now. */
    event_free(a->mig_ev);
    a->mig_ev = NULL;
    close(a->mig_listen);
    a->mig_listen = -1;
    if (a->mig_path)
        (void)unlink(a->mig_path);
    free(a->mig_path);
    a->mig_path = NULL;
    mig_url_accepted(fd);
    r = take_config(a, fd, err, sizeof(err));
    if (r) {
        (void)mig_reply(fd, false, err);
        close(fd);
        migration_abort(a, err);
        return;
    }
    a->mig_fd = fd;
    a->mig_incoming = true;
    if (a->devs)
        a->devs->defer_image_lock = true;
    a->state = API_VM_CREATED;
    evmon_event(a->evmon, "vm", "migration-receiving");
    if (api_cfg_fill_ids(a->cfg)) {
        (void)mig_reply(fd, false, "out of memory");
        migration_abort(a, "out of memory");
        return;
    }
    a->state = API_VM_RUNNING; /* as vm.boot: the core's Ready makes it Paused */
    r = a->ops->boot(a->arg, err, sizeof(err));
    if (r && a->mig_id) {
        (void)mig_reply(a->mig_fd, false, err[0] ? err : strerror(-r));
        migration_abort(a, err[0] ? err : strerror(-r));
    }
}

void migration_receive_request(struct api_ctl *a, uint64_t id,
                               const Cellvm__ApiReceiveMigrationData *rm)
{
    struct mig_url url;
    char err[CLI_ERR_LEN];
    const char *no = busy(a);
    int fd = -1;

    if (a->state != API_VM_NONE) {
        api_ctl_respond(a, id, 500, "the VM is already created", NULL);
        return;
    }
    if (no) {
        api_ctl_respond(a, id, 500, no, NULL);
        return;
    }
    if (mig_url_parse("receiver_url", rm->receiver_url, &url, err, sizeof(err))) {
        api_ctl_respond(a, id, 400, err, NULL);
        return;
    }
    if (mig_url_listen(&url, &fd, err, sizeof(err))) {
        api_ctl_respond(a, id, 500, err, NULL);
        return;
    }
    a->mig_listen = fd;
    a->mig_path = url.kind == MIG_URL_UNIX ? strdup(url.path) : NULL;
    a->mig_ev = event_new(a->svc.sv->base, fd, EV_READ | EV_PERSIST, on_connect, a);
    if ((url.kind == MIG_URL_UNIX && !a->mig_path) || !a->mig_ev || event_add(a->mig_ev, NULL)) {
        mig_reset(a);
        api_ctl_respond(a, id, 500, "out of memory", NULL);
        return;
    }
    a->mig_id = id;
    a->mig_source = false;
}

void migration_on_ready(struct api_ctl *a)
{
    if (!a->mig_incoming || !a->mig_id)
        return;
    a->state = API_VM_PAUSED; /* until Complete */
    if (a->mig_fd >= 0)
        close(a->mig_fd); /* the core has its own */
    a->mig_fd = -1;
}

int migration_core_fd(const struct api_ctl *a)
{
    return a->mig_incoming ? a->mig_fd : -1;
}

bool migration_defer_locks(const struct api_ctl *a)
{
    return a->mig_incoming;
}

static void on_switch(struct api_ctl *a)
{
    char err[CLI_ERR_LEN] = "";
    int r;

    if (!a->mig_id) {
        send_locks(a, -ECANCELED, "no migration in progress");
        return;
    }
    r = disk_locks(a, a->mig_source, err, sizeof(err));
    if (!r && a->mig_source)
        a->mig_released = true;
    if (r)
        sv_report(a->svc.sv, "cellvm: migration: %s\n", err);
    send_locks(a, r, err);
}

static void on_done(struct api_ctl *a, const Cellvm__MigrationStep *st)
{
    uint64_t id = a->mig_id;
    char msg[PB_MAX_MESSAGE_LEN + 64], err[CLI_ERR_LEN] = "";

    if (!id)
        return;
    a->mig_id = 0;
    if (a->mig_source && !st->errnum && a->mig_local)
        sv_report(a->svc.sv,
                  "cellvm: migration: guest memory passed as fds (local), %llu bytes of it "
                  "copied, %llu ms, %llu ms paused\n",
                  (unsigned long long)st->bytes, (unsigned long long)st->total_ms,
                  (unsigned long long)st->downtime_ms);
    else if (a->mig_source && !st->errnum)
        sv_report(a->svc.sv,
                  "cellvm: migration: sent %llu MiB in %u passes (%llu pages written outside "
                  "the dirty log resent), %llu ms, %llu ms paused\n",
                  (unsigned long long)(st->bytes >> 20), st->passes,
                  (unsigned long long)st->pages_outside_log, (unsigned long long)st->total_ms,
                  (unsigned long long)st->downtime_ms);
    if (a->mig_source && !st->errnum) {
        evmon_event(a->evmon, "vm", "migration-completed");
        api_ctl_respond(a, id, 204, NULL, NULL);
        /* The VM runs on the destination: this VMM ends, as Cloud Hypervisor's does. */
        sv_set_status(a->svc.sv, 0);
        sv_stop(a->svc.sv);
        return;
    }
    if (a->devs)
        a->devs->defer_image_lock = false;
    if (!st->errnum) { /* the destination runs it */
        a->mig_incoming = false;
        a->state = API_VM_RUNNING;
        evmon_event(a->evmon, "vm", "migration-completed");
        api_ctl_respond(a, id, 204, NULL, NULL);
        return;
    }
    snprintf(msg, sizeof(msg), "the migration failed: %s",
             st->message && *st->message ? st->message : strerror(st->errnum));
    if (a->mig_source) {
        /* The VM stays here (the core resumed it if it ran, or kept it paused when the outcome
         * is unknown): the disks come back, unless the destination took them and runs. */
        if (a->mig_released && disk_locks(a, false, err, sizeof(err)))
            sv_report(a->svc.sv, "cellvm: migration failed and %s%s\n", err,
                      st->outcome_unknown ? " (the destination runs the guest)" : "");
        a->mig_released = false;
        if (st->outcome_unknown)
            a->state = API_VM_PAUSED;
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    /* The destination's half-made VM goes. */
    a->mig_incoming = false;
    api_ctl_respond(a, id, 500, msg, NULL);
    if (!a->vm_stopping && !a->ops->stop(a->arg)) {
        a->vm_stopping = true;
        a->delete_after = true;
        a->stop_id = 0;
    }
}

bool migration_core_message(struct api_ctl *a, const Cellvm__Envelope *env)
{
    if (env->body_case != CELLVM__ENVELOPE__BODY_MIGRATION_STEP)
        return false;
    if (env->migration_step->step == CELLVM__MIGRATION_STEP__STEP__STEP_SWITCH)
        on_switch(a);
    else
        on_done(a, env->migration_step);
    return true;
}

void migration_abort(struct api_ctl *a, const char *why)
{
    uint64_t id = a->mig_id;
    char msg[CLI_ERR_LEN + 32];

    if (!id)
        return;
    a->mig_id = 0;
    mig_connect_cancel(a->mig_conn); /* a source still connecting */
    a->mig_conn = NULL;
    if (a->mig_source && a->mig_released) {
        char err[CLI_ERR_LEN];

        if (disk_locks(a, false, err, sizeof(err)))
            sv_report(a->svc.sv, "cellvm: migration failed and %s\n", err);
    }
    a->mig_released = false;
    if (!a->mig_source) {
        if (a->mig_fd >= 0) /* the core never had it: the source hears why from here */
            (void)mig_reply(a->mig_fd, false, why && *why ? why : "the VM could not be built");
        a->mig_incoming = false;
        if (a->devs)
            a->devs->defer_image_lock = false;
        mig_reset(a);
        if (a->state == API_VM_CREATED || a->state == API_VM_RUNNING)
            a->state = API_VM_NONE;
    }
    snprintf(msg, sizeof(msg), "the migration failed: %s", why && *why ? why : "the VM stopped");
    api_ctl_respond(a, id, 500, msg, NULL);
}

void migration_close(struct api_ctl *a)
{
    mig_reset(a);
}
