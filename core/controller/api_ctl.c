#include "core/controller/api_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/controller/api_cfg.h"
#include "core/controller/api_dev.h"
#include "core/controller/balloon_ctl.h"
#include "core/controller/hotplug_pmem.h"
#include "core/controller/landlock_ctl.h"
#include "core/controller/resize.h"
#include "core/controller/migration.h"
#include "core/controller/snapshot.h"
#include "core/controller/resize_vmem.h"
#include "ipc/channel.h"
#include "validate.h"
#include "validate_api.h"

#define EP(x) CELLVM__API_ENDPOINT__API_##x

void api_ctl_init(struct api_ctl *a, struct cli_config *cfg, const struct api_ctl_ops *ops,
                  void *arg)
{
    memset(a, 0, sizeof(*a));
    a->listen_fd = -1;
    a->snapshot_dir = -1;
    a->restore_fd[0] = a->restore_fd[1] = -1;
    a->mig_fd = a->mig_listen = -1;
    a->cfg = cfg;
    a->ops = ops;
    a->arg = arg;
    child_init(&a->proc, "api");
}

int api_ctl_open(struct api_ctl *a, char *err, size_t errlen)
{
    const struct cli_endpoint *ep = &a->cfg->api_socket;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    if (ep->fd >= 0) {
        /* fd=: a socket the caller bound and listens on; it is ours from now on. */
        a->listen_fd = fcntl(ep->fd, F_DUPFD_CLOEXEC, 3);
        if (a->listen_fd < 0) {
            snprintf(err, errlen, "--api-socket fd=%d: %s", ep->fd, strerror(errno));
            return -errno;
        }
        close(ep->fd);
        return 0;
    }
    if (!ep->path || strlen(ep->path) >= sizeof(addr.sun_path)) {
        snprintf(err, errlen, "--api-socket: path missing or longer than %zu bytes",
                 sizeof(addr.sun_path) - 1);
        return -EINVAL;
    }
    strcpy(addr.sun_path, ep->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 128)) {
        int e = errno;

        snprintf(err, errlen, "--api-socket: cannot listen on '%s': %s", ep->path, strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    a->listen_fd = fd;
    a->unlink_path = strdup(ep->path);
    return 0;
}

static int send_env(struct api_ctl *a, Cellvm__Envelope *env, const int *fds, size_t nfds)
{
    return sv_send(&a->svc, env, fds, nfds);
}

/* Answers one request; `error` is made one printable line for the API's validator. */
void api_ctl_respond(struct api_ctl *a, uint64_t id, uint32_t status, const char *error,
                     Cellvm__ApiResponse *rs)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__ApiResponse plain = CELLVM__API_RESPONSE__INIT;
    char line[PB_MAX_MESSAGE_LEN + 1];

    if (!rs)
        rs = &plain;
    rs->id = id;
    rs->has_id = 1;
    rs->status = status;
    rs->has_status = 1;
    if (error) {
        /* Under --landlock an open outside the rules fails with EACCES: say who refused. */
        snprintf(line, sizeof(line), "%s%s", error,
                 a->landlocked && strstr(error, strerror(EACCES)) ? LANDLOCK_CTL_REFUSED : "");
        for (char *p = line; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '?';
        rs->error = line;
    }
    env.body_case = CELLVM__ENVELOPE__BODY_API_RESPONSE;
    env.api_response = rs;
    if (send_env(a, &env, NULL, 0))
        sv_report(a->svc.sv, "cellvm: cannot answer the API process\n");
}

static void respond_ping(struct api_ctl *a, uint64_t id)
{
    Cellvm__ApiResponse rs = CELLVM__API_RESPONSE__INIT;
    Cellvm__ApiPing ping = CELLVM__API_PING__INIT;
    char *features[] = { (char *)"kvm" };

    ping.version = (char *)"51.0.0";
    ping.build_version = (char *)"cellvm-0.1.0 (Cloud Hypervisor v51.0 API)";
    ping.pid = (uint64_t)getpid();
    ping.has_pid = 1;
    ping.features = features;
    ping.n_features = 1;
    rs.ping = &ping;
    api_ctl_respond(a, id, 200, NULL, &rs);
}

static void respond_info(struct api_ctl *a, uint64_t id)
{
    static const Cellvm__ApiVmState states[] = {
        [API_VM_CREATED] = CELLVM__API_VM_STATE__API_VM_STATE_CREATED,
        [API_VM_RUNNING] = CELLVM__API_VM_STATE__API_VM_STATE_RUNNING,
        [API_VM_PAUSED] = CELLVM__API_VM_STATE__API_VM_STATE_PAUSED,
        [API_VM_SHUTDOWN] = CELLVM__API_VM_STATE__API_VM_STATE_SHUTDOWN,
    };
    Cellvm__ApiResponse rs = CELLVM__API_RESPONSE__INIT;
    Cellvm__ApiVmInfo info = CELLVM__API_VM_INFO__INIT;

    info.config = api_cfg_from_cli(a->cfg);
    if (!info.config) {
        api_ctl_respond(a, id, 500, "out of memory", NULL);
        return;
    }
    info.state = states[a->state];
    info.has_state = 1;
    info.memory_actual_size = a->cfg->memory.size - balloon_ctl_actual(a);
    info.has_memory_actual_size = 1;
    rs.info = &info;
    api_ctl_respond(a, id, 200, NULL, &rs);
    protobuf_c_message_free_unpacked(&info.config->base, NULL);
}

/* vm.create: the configuration goes through the command-line parser and its checks. */
static void create(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmConfig *vc)
{
    struct api_argv argv;
    struct cli_config tmp;
    char err[CLI_ERR_LEN];
    int r;

    if (a->state != API_VM_NONE) {
        api_ctl_respond(a, id, 500, "the VM is already created", NULL);
        return;
    }
    r = api_cfg_to_argv(vc, &argv, err, sizeof(err));
    if (!r)
        r = cli_parse(argv.n, argv.v, &tmp, err, sizeof(err));
    else
        memset(&tmp, 0, sizeof(tmp));
    api_argv_free(&argv);
    if (r) {
        cli_config_free(&tmp);
        api_ctl_respond(a, id, r == -ENOMEM ? 500 : 400, err, NULL);
        return;
    }
    api_ctl_adopt_config(a, &tmp);
    a->state = API_VM_CREATED;
    api_ctl_respond(a, id, 204, NULL, NULL);
}

void api_ctl_adopt_config(struct api_ctl *a, struct cli_config *tmp)
{
    /* What the command line said about the VMM itself stays: the API socket, logging. */
    tmp->api_socket = a->cfg->api_socket;
    tmp->event_monitor = a->cfg->event_monitor;
    tmp->seccomp = a->cfg->seccomp;
    tmp->verbosity = a->cfg->verbosity;
    tmp->log_file = a->cfg->log_file;
    memset(&a->cfg->api_socket, 0, sizeof(a->cfg->api_socket));
    memset(&a->cfg->event_monitor, 0, sizeof(a->cfg->event_monitor));
    a->cfg->log_file = NULL;
    cli_config_free(a->cfg);
    *a->cfg = *tmp;
    memset(tmp, 0, sizeof(*tmp));
}

static void boot(struct api_ctl *a, uint64_t id)
{
    char err[CLI_ERR_LEN] = "";
    enum api_vm was = a->state;
    int r;

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, 404, "the VM is not created", NULL);
        return;
    }
    /* Shutdown: booted afresh from the same configuration, as Cloud Hypervisor does. */
    if (a->state != API_VM_CREATED && a->state != API_VM_SHUTDOWN) {
        api_ctl_respond(a, id, 500, "the VM is already booted", NULL);
        return;
    }
    if (a->vm_stopping) {
        api_ctl_respond(a, id, 500, "the VM is still stopping", NULL);
        return;
    }
    /* Cloud Hypervisor names every device in the configuration when the VM is built. */
    if (api_cfg_fill_ids(a->cfg)) {
        api_ctl_respond(a, id, 500, "out of memory", NULL);
        return;
    }
    /* Set first: the answer may come from inside ops->boot's failure path. */
    a->state = API_VM_RUNNING;
    a->boot_id = id; /* answered when the core is Ready, or when the boot has failed */
    r = a->ops->boot(a->arg, err, sizeof(err));
    if (r && a->boot_id == id) {
        a->boot_id = 0;
        a->state = was;
        api_ctl_respond(a, id, 500, err[0] ? err : strerror(-r), NULL);
    }
}

void api_ctl_boot(struct api_ctl *a, uint64_t id)
{
    boot(a, id);
}

/* vm.shutdown and vm.delete of a booted VM: the core and the device processes stop, the VMM
 * keeps serving. */
static void stop_vm(struct api_ctl *a, uint64_t id, bool delete)
{
    struct sv_child *core = a->ops->core(a->arg);

    if (!core || a->vm_stopping || a->boot_id || a->ops->stop(a->arg)) {
        api_ctl_respond(a, id, 500, "the VM cannot be stopped now", NULL);
        return;
    }
    a->vm_stopping = true;
    a->delete_after = delete;
    a->stop_id = id;
}

/* Cloud Hypervisor's event names around pause, resume and reboot; NULL (no event) otherwise. */
static const char *control_event(Cellvm__ApiEndpoint ep, bool done)
{
    switch (ep) {
    case EP(VM_PAUSE):
        return done ? "paused" : "pausing";
    case EP(VM_RESUME):
        return done ? "resumed" : "resuming";
    case EP(VM_REBOOT):
        return done ? "rebooted" : "rebooting";
    default:
        return NULL;
    }
}

static void vm_control(struct api_ctl *a, uint64_t id, Cellvm__ApiEndpoint ep)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VmControl vc = CELLVM__VM_CONTROL__INIT;
    struct sv_child *core = a->ops->core(a->arg);
    bool paused = a->state == API_VM_PAUSED;

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, 404, "the VM is not created", NULL);
        return;
    }
    if ((ep == EP(VM_RESUME) && !paused) || (ep != EP(VM_RESUME) && a->state != API_VM_RUNNING) ||
        !core) {
        api_ctl_respond(a, id, 405,
                        ep == EP(VM_RESUME) ? "the VM is not paused"
                        : paused            ? "the VM is paused"
                                            : "the VM is not booted",
                        NULL);
        return;
    }
    if (a->control_id || a->snapshot_id || a->mig_id) {
        api_ctl_respond(a, id, 500, "another VM operation is in progress", NULL);
        return;
    }
    vc.op = ep == EP(VM_PAUSE)          ? CELLVM__VM_CONTROL__OP__OP_PAUSE
            : ep == EP(VM_RESUME)       ? CELLVM__VM_CONTROL__OP__OP_RESUME
            : ep == EP(VM_POWER_BUTTON) ? CELLVM__VM_CONTROL__OP__OP_POWER_BUTTON
            : ep == EP(VM_REBOOT)       ? CELLVM__VM_CONTROL__OP__OP_REBOOT
                                        : CELLVM__VM_CONTROL__OP__OP_NMI;
    env.body_case = CELLVM__ENVELOPE__BODY_VM_CONTROL;
    env.vm_control = &vc;
    if (sv_send(core, &env, NULL, 0)) {
        api_ctl_respond(a, id, 500, "the VM's core process is not reachable", NULL);
        return;
    }
    a->control_id = id;
    a->control_ep = ep;
    evmon_event(a->evmon, "vm", control_event(ep, false));
}

static void handle(struct api_ctl *a, const Cellvm__ApiRequest *rq, int *fds, size_t nfds)
{
    uint64_t id = rq->id;

    if (rq->endpoint == EP(VM_ADD_NET)) {
        api_dev_add_net(a, id, rq->net, fds, nfds); /* takes the fds */
        return;
    }
    if (rq->endpoint == EP(VM_RESTORE) && !a->restoring) {
        restore_request(a, id, rq->restore, fds, nfds); /* takes the fds (net_fds) */
        return;
    }
    ipc_close_fds(fds, nfds); /* the API process lets fds through with vm.add-net, vm.restore */
    if (a->restoring && rq->endpoint != EP(VMM_PING) && rq->endpoint != EP(VM_INFO) &&
        rq->endpoint != EP(VMM_SHUTDOWN)) {
        api_ctl_respond(a, id, 500, "the VM is being restored", NULL);
        return;
    }
    switch (rq->endpoint) {
    case EP(VMM_PING):
        respond_ping(a, id);
        return;
    case EP(VMM_SHUTDOWN):
        api_ctl_respond(a, id, 204, NULL, NULL);
        sv_set_status(a->svc.sv, 0); /* a requested end, unless something failed first */
        sv_stop(a->svc.sv);
        return;
    case EP(VM_CREATE):
        create(a, id, rq->vm_config);
        return;
    case EP(VM_BOOT):
        boot(a, id);
        return;
    case EP(VM_INFO):
        if (a->state == API_VM_NONE)
            api_ctl_respond(a, id, 500, "the VM is not created", NULL);
        else
            respond_info(a, id);
        return;
    case EP(VM_COUNTERS):
        api_dev_counters(a, id);
        return;
    case EP(VM_SHUTDOWN):
        if (a->state == API_VM_NONE)
            api_ctl_respond(a, id, 404, "the VM is not created", NULL);
        else if (a->state != API_VM_RUNNING && a->state != API_VM_PAUSED)
            api_ctl_respond(a, id, 405, "the VM is not booted", NULL);
        else
            stop_vm(a, id, false);
        return;
    case EP(VM_DELETE):
        if (a->state == API_VM_RUNNING || a->state == API_VM_PAUSED) {
            stop_vm(a, id, true);
            return;
        }
        if (a->state != API_VM_NONE)
            evmon_event(a->evmon, "vm", "deleted");
        a->state = API_VM_NONE;
        api_dev_drop_net_fds(a);
        api_ctl_respond(a, id, 204, NULL, NULL);
        return;
    case EP(VM_PAUSE):
    case EP(VM_RESUME):
    case EP(VM_REBOOT):
    case EP(VM_POWER_BUTTON):
    case EP(VM_NMI):
        vm_control(a, id, rq->endpoint);
        return;
    case EP(VM_RESIZE_DISK):
        api_dev_resize_disk(a, id, rq->resize_disk);
        return;
    case EP(VM_ADD_DISK):
        api_dev_add(a, id, API_DEV_DISK, rq->disk ? &rq->disk->base : NULL);
        return;
    case EP(VM_ADD_VSOCK):
        api_dev_add(a, id, API_DEV_VSOCK, rq->vsock ? &rq->vsock->base : NULL);
        return;
    case EP(VM_ADD_DEVICE):
        api_dev_add(a, id, API_DEV_DEVICE, rq->device ? &rq->device->base : NULL);
        return;
    case EP(VM_ADD_USER_DEVICE):
        api_dev_add(a, id, API_DEV_USER_DEVICE, rq->user_device ? &rq->user_device->base : NULL);
        return;
    case EP(VM_ADD_FS):
        api_dev_add(a, id, API_DEV_FS, rq->fs ? &rq->fs->base : NULL);
        return;
    case EP(VM_ADD_PMEM):
        hotplug_pmem_add(a, id, rq->pmem);
        return;
    case EP(VM_REMOVE_DEVICE):
        api_dev_remove(a, id, rq->remove_device);
        return;
    case EP(VM_RESIZE):
        resize_request(a, id, rq->resize);
        return;
    case EP(VM_SNAPSHOT):
        snapshot_request(a, id, rq->snapshot);
        return;
    case EP(VM_RESTORE):
        restore_request(a, id, rq->restore, NULL, 0);
        return;
    case EP(VM_SEND_MIGRATION):
        migration_send_request(a, id, rq->send_migration);
        return;
    case EP(VM_RECEIVE_MIGRATION):
        migration_receive_request(a, id, rq->receive_migration);
        return;
    case EP(VM_RESIZE_ZONE):
        resize_zone_request(a, id, rq->resize_zone);
        return;
    default:
        api_ctl_respond(a, id, 404, "no such endpoint", NULL);
        return;
    }
}

static void send_serve(struct api_ctl *a)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__ApiServe serve = CELLVM__API_SERVE__INIT;
    int e;

    serve.seccomp = a->cfg->seccomp == CLI_SECCOMP_FALSE ? CELLVM__SECCOMP_MODE__SECCOMP_OFF
                    : a->cfg->seccomp == CLI_SECCOMP_LOG ? CELLVM__SECCOMP_MODE__SECCOMP_LOG
                                                         : CELLVM__SECCOMP_MODE__SECCOMP_ON;
    serve.verbosity = a->cfg->verbosity > 4 ? 4 : a->cfg->verbosity;
    env.body_case = CELLVM__ENVELOPE__BODY_API_SERVE;
    env.api_serve = &serve;
    e = send_env(a, &env, &a->listen_fd, 1);
    if (e) {
        sv_report(a->svc.sv, "cellvm: error: cannot configure the API process: %s\n", strerror(-e));
        sv_set_status(a->svc.sv, 1);
        sv_stop(a->svc.sv);
        return;
    }
    close(a->listen_fd);
    a->listen_fd = -1;
    a->configured = true;
}

static void api_message(struct sv_child *c, Cellvm__Envelope *env, int *fds, size_t nfds)
{
    struct api_ctl *a = c->arg;

    if (env->body_case == CELLVM__ENVELOPE__BODY_API_REQUEST && a->configured) {
        handle(a, env->api_request, fds, nfds);
        return;
    }
    ipc_close_fds(fds, nfds);
    if (env->body_case == CELLVM__ENVELOPE__BODY_HELLO && !a->configured &&
        env->hello->role == CELLVM__ROLE__ROLE_API && (pid_t)env->hello->pid == a->proc.self_pid)
        send_serve(a);
    else if (env->body_case == CELLVM__ENVELOPE__BODY_READY && a->configured)
        return;
    else if (env->body_case == CELLVM__ENVELOPE__BODY_ERROR)
        sv_report(c->sv, "cellvm: API process: %s\n", env->error->message);
    else
        sv_report(c->sv, "cellvm: unexpected control message from the API process ignored\n");
}

static void api_exit(struct sv_child *c, int st)
{
    char msg[256];

    if (c->sv->stopping)
        return;
    /* Without its API a VMM started with --api-socket cannot be driven: stop. */
    sv_describe_death(c->sv, c, st, msg, sizeof(msg));
    sv_report(c->sv, "cellvm: error: %s\n", msg);
    sv_set_status(c->sv, 1);
    sv_stop(c->sv);
}

static const struct sv_child_ops api_ops = {
    .on_message = api_message,
    .on_exit = api_exit,
};

int api_ctl_start(struct api_ctl *a, struct supervisor *sv, char *err, size_t errlen)
{
    char exe[PATH_MAX], chan_arg[16];
    char *argv[] = { (char *)"cellvm-api", (char *)"--channel-fd", chan_arg, NULL };
    int r;

    r = child_exe_path("cellvm-api", exe, sizeof(exe));
    if (r) {
        snprintf(err, errlen, "cannot locate cellvm-api: %s", strerror(-r));
        return r;
    }
    snprintf(chan_arg, sizeof(chan_arg), "%d", LAUNCH_CHANNEL_FD);
    r = child_spawn(&a->proc, exe, argv);
    if (r) {
        snprintf(err, errlen, "cannot start %.200s: %s", exe, strerror(-r));
        return r;
    }
    if (a->devs) {
        a->devs->on_reply = api_dev_reply;
        a->devs->reply_arg = a;
    }
    r = sv_add(sv, &a->svc, &a->proc, &api_ops, a, 2);
    if (r) {
        snprintf(err, errlen, "cannot watch the API process: %s", strerror(-r));
        kill(a->proc.pid, SIGKILL);
    }
    return r;
}

void api_ctl_vm_booted(struct api_ctl *a)
{
    /* The same names devices_open() gave; without memory they stay unset, as before. */
    (void)api_cfg_fill_ids(a->cfg);
    /* --restore: Created until the core has loaded the snapshot, then Paused. */
    a->state = a->restoring ? API_VM_CREATED : API_VM_RUNNING;
}

void api_ctl_vm_ready(struct api_ctl *a)
{
    restore_on_ready(a);
    migration_on_ready(a);
    if (a->boot_id)
        api_ctl_respond(a, a->boot_id, 204, NULL, NULL);
    a->boot_id = 0;
}

bool api_ctl_core_message(struct api_ctl *a, const Cellvm__Envelope *env)
{
    const Cellvm__VmControlDone *d;
    uint64_t id = a->control_id;

    if (env->body_case == CELLVM__ENVELOPE__BODY_VM_RESIZE_DONE) {
        resize_on_done(a, env->vm_resize_done);
        return true;
    }
    if (env->body_case == CELLVM__ENVELOPE__BODY_SNAPSHOT_DONE) {
        snapshot_on_done(a, env->snapshot_done);
        return true;
    }
    if (migration_core_message(a, env))
        return true;
    if (env->body_case == CELLVM__ENVELOPE__BODY_MEMORY_ADDED) {
        resize_on_memory_added(a, env->memory_added);
        return true;
    }
    if (env->body_case == CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZED) {
        resize_vmem_on_resized(a, env->virtio_mem_resized);
        return true;
    }
    if (env->body_case != CELLVM__ENVELOPE__BODY_VM_CONTROL_DONE)
        return false;
    d = env->vm_control_done;
    if (!id)
        return true;
    a->control_id = 0;
    if (d->errnum) {
        char msg[160];

        snprintf(msg, sizeof(msg), "%s failed: %s",
                 a->control_ep == EP(VM_PAUSE)    ? "pause"
                 : a->control_ep == EP(VM_RESUME) ? "resume"
                 : a->control_ep == EP(VM_REBOOT) ? "reboot"
                 : a->control_ep == EP(VM_NMI)    ? "NMI injection"
                                                  : "the power button",
                 d->errnum == EOPNOTSUPP ? "not supported by cellvm yet" : strerror(d->errnum));
        api_ctl_respond(a, id, 500, msg, NULL);
        return true;
    }
    if (a->control_ep == EP(VM_PAUSE))
        a->state = API_VM_PAUSED;
    else if (a->control_ep == EP(VM_RESUME))
        a->state = API_VM_RUNNING;
    evmon_event(a->evmon, "vm", control_event(a->control_ep, true));
    api_ctl_respond(a, id, 204, NULL, NULL);
    return true;
}

void api_ctl_vm_ended(struct api_ctl *a)
{
    if (!a->vm_stopping)
        return;
    a->vm_stopping = false;
    a->state = a->delete_after ? API_VM_NONE : API_VM_SHUTDOWN;
    if (a->delete_after)
        api_dev_drop_net_fds(a); /* vm.boot after vm.shutdown uses them again */
    evmon_event(a->evmon, "vm", "shutdown");
    if (a->delete_after)
        evmon_event(a->evmon, "vm", "deleted");
    if (a->stop_id)
        api_ctl_respond(a, a->stop_id, 204, NULL, NULL);
    a->stop_id = 0;
    if (a->control_id)
        api_ctl_respond(a, a->control_id, 500, "the VM stopped", NULL);
    a->control_id = 0;
    snapshot_abort(a, "the VM stopped during the snapshot");
    migration_abort(a, "the VM stopped during the migration");
}

void api_ctl_boot_failed(struct api_ctl *a, const char *why)
{
    if (a->state == API_VM_RUNNING)
        a->state = API_VM_CREATED;
    restore_on_failed(a); /* a failed restore leaves no VM */
    migration_abort(a, why && *why ? why : "the VM could not be built");
    if (a->boot_id)
        api_ctl_respond(a, a->boot_id, 500, why && *why ? why : "the VM could not boot", NULL);
    a->boot_id = 0;
}

void api_ctl_vmm_ended(struct api_ctl *a)
{
    if (a->state == API_VM_RUNNING || a->state == API_VM_PAUSED)
        evmon_event(a->evmon, "vm", "shutdown");
    if (a->state != API_VM_NONE)
        evmon_event(a->evmon, "vm", "deleted");
    evmon_event(a->evmon, "vmm", "shutdown");
}

void api_ctl_close(struct api_ctl *a)
{
    api_dev_close(a);
    snapshot_close(a);
    migration_close(a);
    if (a->listen_fd >= 0)
        close(a->listen_fd);
    a->listen_fd = -1;
    if (a->unlink_path)
        unlink(a->unlink_path);
    free(a->unlink_path);
    a->unlink_path = NULL;
    child_close(&a->proc);
}
