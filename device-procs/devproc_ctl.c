#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "device-procs/devproc_priv.h"
#include "ipc/channel.h"
#include "ipc/msg.h"
#include "validate.h"
#include "validate_device.h"

static int send_env(struct devproc *dp, Cellvm__Envelope *env, const int *fds, size_t nfds)
{
    if (dp->ctl_fd < 0)
        return -ENOTCONN;
    return ipc_send_envelope(dp->ctl_fd, env, fds, nfds);
}

int devproc_ctl_hello(struct devproc *dp)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Hello hello = CELLVM__HELLO__INIT;

    hello.protocol_version = 1;
    hello.role = CELLVM__ROLE__ROLE_BLOCKD;
    if (!strcmp(dp->ops->name, "net"))
        hello.role = CELLVM__ROLE__ROLE_NETD;
    else if (!strcmp(dp->ops->name, "vsock"))
        hello.role = CELLVM__ROLE__ROLE_VSOCKD;
    else if (!strcmp(dp->ops->name, "rng"))
        hello.role = CELLVM__ROLE__ROLE_RNGD;
    else if (!strcmp(dp->ops->name, "balloon"))
        hello.role = CELLVM__ROLE__ROLE_BALLOOND;
    else if (!strcmp(dp->ops->name, "console"))
        hello.role = CELLVM__ROLE__ROLE_CONSOLED;
    hello.id = (char *)"";
    hello.pid = (uint32_t)getpid();
    env.body_case = CELLVM__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return send_env(dp, &env, NULL, 0);
}

static enum devproc_seccomp seccomp_mode(Cellvm__SeccompMode m)
{
    if (m == CELLVM__SECCOMP_MODE__SECCOMP_ON)
        return DEVPROC_SECCOMP_KILL;
    if (m == CELLVM__SECCOMP_MODE__SECCOMP_OFF)
        return DEVPROC_SECCOMP_OFF;
    return DEVPROC_SECCOMP_LOG;
}

int devproc_ctl_configure(struct devproc *dp, char *err, size_t errlen)
{
    Cellvm__Envelope *env = NULL;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    const char *why = NULL;
    const char *group;
    int r;

    r = ipc_recv_envelope(dp->ctl_fd, &env, fds, IPC_MAX_FDS, &nfds, &why);
    if (r) {
        snprintf(err, errlen, "control channel: %s", why ? why : strerror(-r));
        return r;
    }
    if (env->body_case != CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE) {
        snprintf(err, errlen, "expected DeviceConfigure first");
        r = -EPROTO;
        goto out;
    }
    dp->seccomp = seccomp_mode(env->device_configure->seccomp);
    dp->verbose = env->device_configure->verbosity > 0;
    if (strcmp(env->device_configure->option, dp->ops->spec_option)) {
        snprintf(err, errlen, "unknown option --%s", env->device_configure->option);
        r = -EINVAL;
        goto out;
    }
    group = env->device_configure->rate_limit_group;
    if (group && group[0] && (!dp->ops->rate_limit_group || nfds == 0)) {
        snprintf(err, errlen, "rate limit group %s: not supported by this device", group);
        r = -EINVAL;
        goto out;
    }
    if (env->device_configure->defer_image_lock) {
        if (!dp->ops->defer_image_lock) {
            snprintf(err, errlen, "deferred image locks: not supported by this device");
            r = -EINVAL;
            goto out;
        }
        dp->ops->defer_image_lock(dp->dev);
    }
    /* A group's shared region is the last fd: not the spec's. */
    r = dp->ops->parse_spec(dp->dev, env->device_configure->option, env->device_configure->spec,
                            fds, group && group[0] ? nfds - 1 : nfds, err, errlen);
    if (r == 0 && group && group[0])
        r = dp->ops->rate_limit_group(dp->dev, group, fds[nfds - 1], err, errlen);
out:
    ipc_close_fds(fds, nfds);
    ipc_free_envelope(env);
    return r;
}

int devproc_ctl_ready(struct devproc *dp)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Ready ready = CELLVM__READY__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    return send_env(dp, &env, NULL, 0);
}

void devproc_ctl_error(struct devproc *dp, int errnum, const char *msg)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Error e = CELLVM__ERROR__INIT;
    char line[PB_MAX_MESSAGE_LEN + 1];

    /* The validator wants printable ASCII: flatten anything else. */
    snprintf(line, sizeof(line), "%s", msg);
    for (char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    e.errnum = errnum > 0 && errnum <= 4095 ? errnum : EIO;
    e.message = line;
    env.body_case = CELLVM__ENVELOPE__BODY_ERROR;
    env.error = &e;
    send_env(dp, &env, NULL, 0);
}

void devproc_ctl_event(struct devproc *dp, int kind, uint32_t queue, int errnum)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceEvent ev = CELLVM__DEVICE_EVENT__INIT;

    if (dp->ctl_fd < 0)
        return;
    ev.kind = kind;
    ev.queue = queue < PB_MAX_QUEUES ? queue : 0;
    ev.errnum = errnum > 0 && errnum <= 4095 ? errnum : 0;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_EVENT;
    env.device_event = &ev;
    send_env(dp, &env, NULL, 0);
}

static uint64_t tv_us(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static int send_stats(struct devproc *dp)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceStats st = CELLVM__DEVICE_STATS__INIT;
    uint16_t n = dp->ops->max_queues < PB_MAX_QUEUES ? dp->ops->max_queues : PB_MAX_QUEUES;
    Cellvm__QueueStats *qs = calloc(n, sizeof(*qs));
    Cellvm__QueueStats **qp = calloc(n, sizeof(*qp));
    struct rusage ru;
    int r = -ENOMEM;

    if (!qs || !qp)
        goto out;
    for (uint16_t i = 0; i < n; i++) {
        const struct virtq *vq = vu_backend_queue(dp->vu, i);

        cellvm__queue_stats__init(&qs[i]);
        qs[i].index = i;
        qs[i].kicks = vq->stats.kicks;
        qs[i].notifies = vq->stats.notifies;
        qs[i].requests = vq->stats.popped;
        qs[i].bytes_written = vq->stats.bytes_in;
        qs[i].errors = vq->broken ? 1 : 0;
        qp[i] = &qs[i];
    }
    st.n_queues = n;
    st.queues = qp;
    st.connected = dp->conn_fd >= 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        st.user_us = tv_us(ru.ru_utime);
        st.system_us = tv_us(ru.ru_stime);
    }
    if (dp->ops->stats)
        dp->ops->stats(dp->dev, &st);
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_STATS;
    env.device_stats = &st;
    r = send_env(dp, &env, NULL, 0);
out:
    free(qs);
    free(qp);
    return r;
}

int devproc_ctl_handle(struct devproc *dp)
{
    Cellvm__Envelope *env = NULL;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    const char *why = NULL;
    int r;

    r = ipc_recv_envelope(dp->ctl_fd, &env, fds, IPC_MAX_FDS, &nfds, &why);
    if (r == -EPIPE)
        return r;
    if (r) {
        /* A bad message is reported, not fatal: the controller is the trusted side. */
        devproc_ctl_error(dp, -r, why ? why : "bad control message");
        return 0;
    }
    switch (env->body_case) {
    case CELLVM__ENVELOPE__BODY_SHUTDOWN:
        r = -ESHUTDOWN;
        break;
    case CELLVM__ENVELOPE__BODY_STATS_REQUEST:
        r = send_stats(dp);
        break;
    case CELLVM__ENVELOPE__BODY_RESIZE:
    case CELLVM__ENVELOPE__BODY_LINK_STATE:
    case CELLVM__ENVELOPE__BODY_BALLOON_TARGET:
        r = dp->ops->control ? dp->ops->control(dp->dev, dp, env) : -ENOTSUP;
        if (r)
            devproc_ctl_error(dp, -r, "device refused the control message");
        r = 0;
        break;
    default:
        devproc_ctl_error(dp, EPROTO, "unexpected control message");
        r = 0;
        break;
    }
    ipc_close_fds(fds, nfds);
    ipc_free_envelope(env);
    return r;
}

int devproc_send_control(struct devproc *dp, Cellvm__Envelope *env)
{
    return send_env(dp, env, NULL, 0);
}

int devproc_open_backing_file(struct devproc *dp, const char *path, bool read_only, int *fd)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__OpenBackingFile req = CELLVM__OPEN_BACKING_FILE__INIT;
    Cellvm__Envelope *ans = NULL;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    const char *why = NULL;
    int r;

    if (dp->ctl_fd < 0)
        return -ENOTCONN;
    req.path = (char *)path;
    req.read_only = read_only;
    env.body_case = CELLVM__ENVELOPE__BODY_OPEN_BACKING_FILE;
    env.open_backing_file = &req;
    r = send_env(dp, &env, NULL, 0);
    if (r)
        return r;
    r = ipc_recv_envelope(dp->ctl_fd, &ans, fds, IPC_MAX_FDS, &nfds, &why);
    if (r)
        return r;
    if (ans->body_case == CELLVM__ENVELOPE__BODY_BACKING_FILE) {
        *fd = fds[0]; /* the validator guarantees exactly one */
        fds[0] = -1;
        r = 0;
    } else if (ans->body_case == CELLVM__ENVELOPE__BODY_ERROR) {
        r = -ans->error->errnum;
    } else {
        r = -EPROTO;
    }
    ipc_close_fds(fds, nfds);
    ipc_free_envelope(ans);
    return r;
}
