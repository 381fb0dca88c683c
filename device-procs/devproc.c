#include "device-procs/devproc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "device-procs/devproc_priv.h"
#include "device-procs/devproc_sys.h"
#include "ipc/startup.h"

/* A frontend that stalls mid-message is dropped after this long. */
#define DEVPROC_RECV_TIMEOUT_S 10

int devproc_config_changed(struct devproc *dp)
{
    if (!dp->vu || dp->conn_fd < 0)
        return 0;
    return vu_backend_config_changed(dp->vu);
}

void devproc_needs_reset(struct devproc *dp, uint16_t queue, int err)
{
    uint64_t one = 1;

    __atomic_store_n(&dp->reset_queue, queue, __ATOMIC_RELAXED);
    __atomic_store_n(&dp->reset_err, -err, __ATOMIC_RELEASE);
    if (dp->notify_fd >= 0 && write(dp->notify_fd, &one, sizeof(one)) < 0)
        fprintf(stderr, "%s: queue %u needs reset (%s)\n", dp->ops->name, queue, strerror(-err));
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    struct devproc *dp = arg;
    uint64_t v;
    int32_t err;

    (void)what;
    if (read(fd, &v, sizeof(v)) < 0)
        return;
    err = __atomic_load_n(&dp->reset_err, __ATOMIC_ACQUIRE);
    fprintf(stderr, "%s: queue %u broken (%s): device needs reset\n", dp->ops->name,
            __atomic_load_n(&dp->reset_queue, __ATOMIC_RELAXED), strerror(err));
    devproc_ctl_event(dp, CELLVM__DEVICE_EVENT__KIND__KIND_NEEDS_RESET,
                      __atomic_load_n(&dp->reset_queue, __ATOMIC_RELAXED), err);
}

static void unwatch_xfer(struct devproc *dp)
{
    if (dp->ev_xfer)
        event_free(dp->ev_xfer);
    dp->ev_xfer = NULL;
    dp->xfer_fd = -1;
}

static void sync_xfer(struct devproc *dp);

static void on_xfer(evutil_socket_t fd, short what, void *arg)
{
    struct devproc *dp = arg;

    (void)fd;
    (void)what;
    vu_backend_xfer_pump(dp->vu);
    sync_xfer(dp);
}

/* The loop watches the DEVICE_STATE pipe exactly while a transfer has bytes left to move. */
static void sync_xfer(struct devproc *dp)
{
    bool wr;
    int fd = vu_backend_xfer_fd(dp->vu, &wr);

    if (fd == dp->xfer_fd && (fd < 0 || dp->ev_xfer))
        return;
    unwatch_xfer(dp);
    if (fd < 0)
        return;
    dp->ev_xfer = event_new(dp->base, fd, (wr ? EV_WRITE : EV_READ) | EV_PERSIST, on_xfer, dp);
    if (!dp->ev_xfer || event_add(dp->ev_xfer, NULL) < 0) {
        /* Left to CHECK_DEVICE_STATE, which moves what it can and reports the rest. */
        fprintf(stderr, "%s: cannot watch the device state pipe\n", dp->ops->name);
        unwatch_xfer(dp);
        return;
    }
    dp->xfer_fd = fd;
}

static void drop_conn(struct devproc *dp)
{
    unwatch_xfer(dp);
    vu_backend_disconnect(dp->vu);
    if (dp->ev_conn) {
        event_free(dp->ev_conn);
        dp->ev_conn = NULL;
    }
    if (dp->conn_fd >= 0)
        close(dp->conn_fd);
    dp->conn_fd = -1;
    devproc_ctl_event(dp, CELLVM__DEVICE_EVENT__KIND__KIND_FRONTEND_DISCONNECTED, 0, 0);
    if (dp->ev_listen)
        event_add(dp->ev_listen, NULL);
    else
        event_base_loopbreak(dp->base); /* --fd: nothing left to serve */
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
    struct devproc *dp = arg;
    int r;

    (void)what;
    r = vu_backend_handle(dp->vu, fd);
    if (!r) {
        sync_xfer(dp);
        return;
    }
    if (r != -EPIPE)
        fprintf(stderr, "%s: dropping frontend: %s\n", dp->ops->name, strerror(-r));
    drop_conn(dp);
}

static int serve_conn(struct devproc *dp, int fd)
{
    struct timeval tv = { .tv_sec = DEVPROC_RECV_TIMEOUT_S };

    /* The loop calls us only when a message starts; the rest of it must follow promptly. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    dp->conn_fd = fd;
    dp->ev_conn = event_new(dp->base, fd, EV_READ | EV_PERSIST, on_conn, dp);
    if (!dp->ev_conn || event_add(dp->ev_conn, NULL) < 0)
        return -ENOMEM;
    devproc_ctl_event(dp, CELLVM__DEVICE_EVENT__KIND__KIND_FRONTEND_CONNECTED, 0, 0);
    return 0;
}

static void on_listen(evutil_socket_t fd, short what, void *arg)
{
    struct devproc *dp = arg;
    int c;

    (void)what;
    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    /* One frontend at a time: stop listening until it goes away. */
    event_del(dp->ev_listen);
    if (serve_conn(dp, c) < 0) {
        fprintf(stderr, "%s: cannot serve the frontend\n", dp->ops->name);
        drop_conn(dp);
    }
}

static void on_ctl(evutil_socket_t fd, short what, void *arg)
{
    struct devproc *dp = arg;
    int r;

    (void)fd;
    (void)what;
    r = devproc_ctl_handle(dp);
    if (!r)
        return;
    if (r != -ESHUTDOWN && dp->ctl_listen_fd >= 0) {
        /* A --control-socket supervisor went away: wait for the next one. */
        event_free(dp->ev_ctl);
        dp->ev_ctl = NULL;
        close(dp->ctl_fd);
        dp->ctl_fd = -1;
        return;
    }
    if (r != -ESHUTDOWN)
        fprintf(stderr, "%s: control channel closed\n", dp->ops->name);
    event_base_loopbreak(dp->base);
}

/* --control-socket: one supervisor at a time speaks the controller's control messages. */
static void on_ctl_listen(evutil_socket_t fd, short what, void *arg)
{
    struct devproc *dp = arg;
    int c;

    (void)what;
    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (dp->ctl_fd >= 0) {
        close(c);
        return;
    }
    dp->ctl_fd = c;
    dp->ev_ctl = event_new(dp->base, c, EV_READ | EV_PERSIST, on_ctl, dp);
    if (!dp->ev_ctl || event_add(dp->ev_ctl, NULL) < 0) {
        if (dp->ev_ctl)
            event_free(dp->ev_ctl);
        dp->ev_ctl = NULL;
        close(c);
        dp->ctl_fd = -1;
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct devproc *dp = arg;

    (void)sig;
    (void)what;
    event_base_loopbreak(dp->base);
}

/* A listening unix socket of `type` on path; returns the fd or -errno. */
static int listen_unix(const char *path, int type)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int s;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    /* A stale socket from an earlier run; never remove anything else. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0) {
        int r = -errno;

        close(s);
        return r;
    }
    return s;
}

static int listen_on(struct devproc *dp, const char *path)
{
    int s = listen_unix(path, SOCK_STREAM);

    if (s < 0)
        return s;
    dp->listen_fd = s;
    strcpy(dp->socket_path, path);
    return 0;
}

static void print_capabilities(const struct devproc_ops *ops)
{
    printf("{\n  \"type\": \"%s\",\n  \"features\": []\n}\n", ops->name);
    fflush(stdout);
}

enum {
    OPT_SOCKET = 1,
    OPT_FD,
    OPT_CAPS,
    OPT_CONTROL,
    OPT_CTLSOCK,
    OPT_SECCOMP,
    OPT_SPEC,
    OPT_HELP,
};

static void usage(const struct devproc_ops *ops, const char *argv0)
{
    fprintf(stderr,
            "usage: %s (--socket-path PATH | --fd N) --%s SPEC [--seccomp on|log|off]\n"
            "          [--control-socket PATH]\n"
            "       %s --print-capabilities\n",
            argv0, ops->spec_option, argv0);
}

static int parse_fd(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

/* Parses argv; spec options go to the device as they come. 1 means "exit 0 now". */
static int parse_args(struct devproc *dp, int argc, char **argv, char *err, size_t errlen)
{
    const struct option opts[] = {
        { "socket-path", required_argument, NULL, OPT_SOCKET },
        { "fd", required_argument, NULL, OPT_FD },
        { "print-capabilities", no_argument, NULL, OPT_CAPS },
        { "control-fd", required_argument, NULL, OPT_CONTROL },
        { "control-socket", required_argument, NULL, OPT_CTLSOCK },
        { "seccomp", required_argument, NULL, OPT_SECCOMP },
        { dp->ops->spec_option, required_argument, NULL, OPT_SPEC },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SOCKET:
            r = listen_on(dp, optarg);
            if (r) {
                snprintf(err, errlen, "--socket-path %s: %s", optarg, strerror(-r));
                return r;
            }
            break;
        case OPT_FD:
            dp->conn_fd = parse_fd(optarg);
            if (dp->conn_fd < 0 || fcntl(dp->conn_fd, F_SETFD, FD_CLOEXEC) < 0) {
                snprintf(err, errlen, "--fd %s: not an open fd", optarg);
                return -EBADF;
            }
            break;
        case OPT_CAPS:
            print_capabilities(dp->ops);
            return 1;
        case OPT_CONTROL:
            dp->ctl_fd = parse_fd(optarg);
            if (dp->ctl_fd < 0 || fcntl(dp->ctl_fd, F_SETFD, FD_CLOEXEC) < 0) {
                snprintf(err, errlen, "--control-fd %s: not an open fd", optarg);
                return -EBADF;
            }
            break;
        case OPT_CTLSOCK:
            if (dp->ctl_listen_fd >= 0) {
                snprintf(err, errlen, "--control-socket given twice");
                return -EINVAL;
            }
            dp->ctl_listen_fd = listen_unix(optarg, SOCK_SEQPACKET);
            if (dp->ctl_listen_fd < 0) {
                r = dp->ctl_listen_fd;
                dp->ctl_listen_fd = -1;
                snprintf(err, errlen, "--control-socket %s: %s", optarg, strerror(-r));
                return r;
            }
            break;
        case OPT_SECCOMP:
            if (!strcmp(optarg, "on"))
                dp->seccomp = DEVPROC_SECCOMP_KILL;
            else if (!strcmp(optarg, "log"))
                dp->seccomp = DEVPROC_SECCOMP_LOG;
            else if (!strcmp(optarg, "off"))
                dp->seccomp = DEVPROC_SECCOMP_OFF;
            else {
                snprintf(err, errlen, "--seccomp %s: on, log or off", optarg);
                return -EINVAL;
            }
            break;
        case OPT_SPEC:
            r = dp->ops->parse_spec(dp->dev, dp->ops->spec_option, optarg, NULL, 0, err, errlen);
            if (r)
                return r;
            break;
        default:
            usage(dp->ops, argv[0]);
            snprintf(err, errlen, "bad arguments");
            return -EINVAL;
        }
    }
    if (dp->ctl_listen_fd >= 0 && dp->ctl_fd >= 0) {
        snprintf(err, errlen, "--control-socket is for standalone use, not with --control-fd");
        return -EINVAL;
    }
    if (optind < argc || (dp->listen_fd < 0) == (dp->conn_fd < 0)) {
        usage(dp->ops, argv[0]);
        snprintf(err, errlen, "exactly one of --socket-path and --fd is needed");
        return -EINVAL;
    }
    return 0;
}

static int add_event(struct devproc *dp, struct event **ev, int fd, short what,
                     event_callback_fn cb)
{
    *ev = event_new(dp->base, fd, what, cb, dp);
    if (!*ev || event_add(*ev, NULL) < 0)
        return -ENOMEM;
    return 0;
}

static int setup_loop(struct devproc *dp)
{
    int r;

    dp->base = event_base_new();
    if (!dp->base)
        return -ENOMEM;
    r = add_event(dp, &dp->ev_term, SIGTERM, EV_SIGNAL | EV_PERSIST, on_signal);
    if (!r)
        r = add_event(dp, &dp->ev_int, SIGINT, EV_SIGNAL | EV_PERSIST, on_signal);
    if (!r)
        r = add_event(dp, &dp->ev_notify, dp->notify_fd, EV_READ | EV_PERSIST, on_notify);
    if (!r && dp->ctl_fd >= 0)
        r = add_event(dp, &dp->ev_ctl, dp->ctl_fd, EV_READ | EV_PERSIST, on_ctl);
    if (!r && dp->listen_fd >= 0)
        r = add_event(dp, &dp->ev_listen, dp->listen_fd, EV_READ | EV_PERSIST, on_listen);
    if (!r && dp->ctl_listen_fd >= 0)
        r = add_event(dp, &dp->ev_ctl_listen, dp->ctl_listen_fd, EV_READ | EV_PERSIST,
                      on_ctl_listen);
    if (!r && dp->conn_fd >= 0) {
        int fd = dp->conn_fd;

        dp->conn_fd = -1;
        r = serve_conn(dp, fd);
    }
    return r;
}

static void teardown(struct devproc *dp)
{
    struct event *evs[] = { dp->ev_listen, dp->ev_conn, dp->ev_ctl,       dp->ev_notify,
                            dp->ev_term,   dp->ev_int,  dp->ev_ctl_listen };

    unwatch_xfer(dp);
    if (dp->vu)
        vu_backend_free(dp->vu);
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (dp->base)
        event_base_free(dp->base);
    if (dp->conn_fd >= 0)
        close(dp->conn_fd);
    if (dp->listen_fd >= 0)
        close(dp->listen_fd);
    if (dp->ctl_fd >= 0)
        close(dp->ctl_fd);
    if (dp->ctl_listen_fd >= 0)
        close(dp->ctl_listen_fd);
    if (dp->notify_fd >= 0)
        close(dp->notify_fd);
}

/* With the controller's -v: the time since it started (ipc/startup.h). */
static void mark(const struct devproc *dp, const char *what)
{
    char line[96];

    if (!dp->verbose)
        return;
    snprintf(line, sizeof(line), "%s: %s", dp->ops->name, what);
    startup_note(STDERR_FILENO, "", dp->t0, line);
}

static int enter_jail(struct devproc *dp, char *err, size_t errlen)
{
    int keep[5];
    size_t n = 0;

    if (!dp->ops->jail)
        return devproc_jail(dp->seccomp, err, errlen);
    if (dp->listen_fd >= 0)
        keep[n++] = dp->listen_fd;
    if (dp->ctl_listen_fd >= 0)
        keep[n++] = dp->ctl_listen_fd;
    if (dp->conn_fd >= 0)
        keep[n++] = dp->conn_fd;
    if (dp->ctl_fd >= 0)
        keep[n++] = dp->ctl_fd;
    keep[n++] = dp->notify_fd;
    return dp->ops->jail(dp->dev, dp->seccomp, keep, n, err, errlen);
}

int devproc_main(int argc, char **argv, const struct devproc_ops *ops, void *dev)
{
    struct devproc dp = {
        .ops = ops,
        .dev = dev,
        .listen_fd = -1,
        .conn_fd = -1,
        .ctl_fd = -1,
        .ctl_listen_fd = -1,
        .notify_fd = -1,
        .xfer_fd = -1,
        .seccomp = DEVPROC_SECCOMP_LOG,
        .exit_code = 1,
    };
    char err[256] = "";
    int r;

    dp.t0 = startup_origin(); /* before the jail clears the environment */
    signal(SIGPIPE, SIG_IGN);
    r = parse_args(&dp, argc, argv, err, sizeof(err));
    if (r == 1) {
        dp.exit_code = 0;
        goto out;
    }
    if (!r && dp.ctl_fd >= 0) {
        devproc_sys_pdeathsig();
        r = devproc_ctl_hello(&dp);
        if (!r)
            r = devproc_ctl_configure(&dp, err, sizeof(err));
    }
    if (!r && ops->prepare)
        r = ops->prepare(dev, &dp, err, sizeof(err));
    if (!r) {
        dp.vu = vu_backend_new(ops, dev);
        dp.notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!dp.vu || dp.notify_fd < 0) {
            snprintf(err, sizeof(err), "out of memory");
            r = -ENOMEM;
        }
    }
    if (!r)
        mark(&dp, "configured (device opened)");
    if (!r)
        r = enter_jail(&dp, err, sizeof(err));
    if (!r)
        mark(&dp, "jailed (namespaces, capabilities, seccomp)");
    /* Ready before the loop exists, so it precedes the frontend-connected event. */
    if (!r && dp.ctl_fd >= 0)
        r = devproc_ctl_ready(&dp);
    if (!r && setup_loop(&dp)) {
        snprintf(err, sizeof(err), "event loop setup failed");
        r = -ENOMEM;
    }
    if (r) {
        fprintf(stderr, "%s: %s\n", ops->name, err[0] ? err : strerror(-r));
        devproc_ctl_error(&dp, -r, err[0] ? err : strerror(-r));
        goto out;
    }
    event_base_dispatch(dp.base);
    dp.exit_code = 0;
out:
    teardown(&dp);
    return dp.exit_code;
}
