/*
 * cellvm-vfiod: one VFIO device served over vfio-user (QEMU's docs/interop/vfio-user.rst) to
 * one client at a time. The protocol is vfiod_server.c's, the device vfiod_vfio.c's; this file
 * gets the device (from the controller or opened here), enters the jail and runs the loop.
 *
 *   cellvm-vfiod --socket-path PATH --device path=/sys/bus/pci/devices/<BDF>
 *        listen on PATH, serve one client at a time, accept the next after a disconnect
 *   cellvm-vfiod --fd N --device path=...
 *        serve the connected socket N, exit 0 at its end
 *   cellvm-vfiod --control-fd 3 --fd 4
 *        started by cellvm: Hello, DeviceConfigure (spec, container, group and device fds), jail,
 *        Ready, serve fd 4 until its end; Shutdown or SIGTERM end it earlier
 *   --seccomp on|log|off   the filter's action for a syscall outside the profile (default log)
 *
 * Standalone, the group and container are opened here with the caller's rights, and
 * RLIMIT_MEMLOCK is whatever the caller set: VFIO pins DMA pages against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "devspec/devspec.h"
#include "ipc/channel.h"
#include "sandbox/jail.h"
#include "vfiod/vfio_group.h"
#include "vfiod/vfiod_ctl.h"
#include "vfiod/vfiod_server.h"
#include "vfiod/vfiod_sys.h"
#include "vfiod/vfiod_vfio.h"

/* A client that stalls mid-message is dropped after this long. */
#define RECV_TIMEOUT_S 10

struct vfiod {
    struct vfiod_vfio dev; /* owns the container, group and device fds */
    struct vfiod_server srv;
    bool srv_ready;
    int listen_fd;           /* owned: --socket-path, -1 otherwise */
    int conn_fd;             /* owned: the client being served, -1 if none */
    int ctl_fd;              /* owned: the controller's channel, -1 standalone */
    int sig_fd;              /* owned: SIGTERM, SIGINT */
    char *spec;              /* owned: the --device value or DeviceConfigure's spec */
    const char *socket_path; /* --socket-path (argv's), bound once the device is open */
    enum sbx_seccomp seccomp;
};

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s (--socket-path PATH | --fd N) --device path=/sys/bus/pci/devices/BDF\n"
            "          [--seccomp on|log|off]\n"
            "       %s --control-fd N --fd N   (started by cellvm)\n",
            argv0, argv0);
}

static int parse_fd(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > INT_MAX)
        return -1;
    return fcntl(v, F_SETFD, FD_CLOEXEC) < 0 ? -1 : (int)v;
}

static int listen_on(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int s = -1, r;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "--socket-path %s: too long", path);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* Replace a stale socket of an earlier run, never any other file. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(s, 1) == 0)
        return s;
    r = -errno;
    if (s >= 0)
        close(s);
    snprintf(err, errlen, "--socket-path %s: %s", path, strerror(-r));
    return r;
}

enum { OPT_SOCKET = 1, OPT_FD, OPT_CONTROL, OPT_DEVICE, OPT_SECCOMP, OPT_HELP };

static int parse_args(struct vfiod *d, int argc, char **argv, char *err, size_t errlen)
{
    static const struct option opts[] = {
        { "socket-path", required_argument, NULL, OPT_SOCKET },
        { "fd", required_argument, NULL, OPT_FD },
        { "control-fd", required_argument, NULL, OPT_CONTROL },
        { "device", required_argument, NULL, OPT_DEVICE },
        { "seccomp", required_argument, NULL, OPT_SECCOMP },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SOCKET:
            d->socket_path = optarg;
            break;
        case OPT_FD:
        case OPT_CONTROL: {
            int fd = parse_fd(optarg), *slot = c == OPT_FD ? &d->conn_fd : &d->ctl_fd;

            if (fd < 0 || *slot >= 0) {
                snprintf(err, errlen, "--%s %s: not an open fd (or given twice)",
                         c == OPT_FD ? "fd" : "control-fd", optarg);
                return -EBADF;
            }
            *slot = fd;
            break;
        }
        case OPT_DEVICE:
            if (d->spec) {
                snprintf(err, errlen, "one --device per process");
                return -EINVAL;
            }
            d->spec = strdup(optarg);
            if (!d->spec)
                return -ENOMEM;
            break;
        case OPT_SECCOMP:
            if (!strcmp(optarg, "on"))
                d->seccomp = SBX_SECCOMP_ON;
            else if (!strcmp(optarg, "log"))
                d->seccomp = SBX_SECCOMP_LOG;
            else if (!strcmp(optarg, "off"))
                d->seccomp = SBX_SECCOMP_OFF;
            else {
                snprintf(err, errlen, "--seccomp %s: on, log or off", optarg);
                return -EINVAL;
            }
            break;
        case OPT_HELP:
            usage(argv[0]);
            return 1;
        default:
            usage(argv[0]);
            snprintf(err, errlen, "bad arguments");
            return -EINVAL;
        }
    }
    if (optind < argc || !d->socket_path == (d->conn_fd < 0)) {
        usage(argv[0]);
        snprintf(err, errlen, "exactly one of --socket-path and --fd is needed");
        return -EINVAL;
    }
    if (d->ctl_fd >= 0 && (d->socket_path || d->spec)) {
        snprintf(err, errlen, "--control-fd takes --fd and the spec from the controller");
        return -EINVAL;
    }
    if (d->ctl_fd < 0 && !d->spec) {
        usage(argv[0]);
        snprintf(err, errlen, "--device is needed");
        return -EINVAL;
    }
    return 0;
}

/* "0000:00:03.0" from the last component of a sysfs path the controller already resolved. */
static int bdf_of(const char *path, char bdf[VFIOD_BDF_LEN])
{
    const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    unsigned dom, bus, slot, fn;
    int end = 0;

    if (strlen(b) != 12 || sscanf(b, "%4x:%2x:%2x.%1x%n", &dom, &bus, &slot, &fn, &end) != 4 ||
        end != 12 || slot > 0x1f || fn > 7)
        return -EINVAL;
    snprintf(bdf, VFIOD_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, slot, fn);
    return 0;
}

/* Standalone: the group and container opened here, as the controller would. */
static int open_standalone(const char *path, char bdf[VFIOD_BDF_LEN], int *container, int *group,
                           char *err, size_t errlen)
{
    unsigned grp;
    int r;

    r = vfio_group_resolve("/sys", path, bdf, &grp, err, errlen);
    if (!r)
        r = vfio_group_viable("/sys", grp, err, errlen);
    if (!r)
        r = vfio_group_open("/dev/vfio", grp, container, group, err, errlen);
    if (!r)
        fprintf(stderr, "vfiod: %s: IOMMU group %u opened\n", bdf, grp);
    return r;
}

/* The device behind the spec: from the controller's fds or opened here. */
static int setup_device(struct vfiod *d, struct vfiod_fds f, char *err, size_t errlen)
{
    struct cli_device cd;
    char bdf[VFIOD_BDF_LEN] = "";
    int r;

    r = cli_device_parse(d->spec, &cd, err, errlen);
    if (!r && d->ctl_fd >= 0 && bdf_of(cd.path, bdf)) {
        snprintf(err, errlen, "--device: path=%s does not end in a PCI address", cd.path);
        r = -EINVAL;
    }
    if (!r && d->ctl_fd < 0)
        r = open_standalone(cd.path, bdf, &f.container, &f.group, err, errlen);
    if (!r)
        fprintf(stderr, "vfiod: device %s (%s)%s%s\n", bdf, cd.path, cd.id ? ", id " : "",
                cd.id ? cd.id : "");
    cli_device_free(&cd);
    if (r) {
        ipc_close_fds((int[]){ f.container, f.group, f.device }, 3);
        return r;
    }
    /* From here d->dev owns the fds. */
    r = vfiod_vfio_init(&d->dev, f.container, f.group, f.device, bdf, err, errlen);
    if (r)
        return r;
    r = vfiod_server_init(&d->srv, &vfiod_vfio_ops, &d->dev);
    if (r) {
        snprintf(err, errlen, "%s: the vfio-user server refused the device: %s", bdf, strerror(-r));
        return r;
    }
    d->srv_ready = true;
    return 0;
}

static void set_timeout(int fd)
{
    struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };

    /* Requests are handled one at a time: a client must send a message once it starts it. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int enter_jail(struct vfiod *d, char *err, size_t errlen)
{
    int keep[7];
    size_t n = 0;
    struct sbx_config cfg = {
        .profile = SBX_PROFILE_VFIOD,
        .seccomp = d->seccomp,
        .keep_fds = keep,
        .memlock = 0, /* the caller's (the controller raised it to guest RAM) */
    };
    const int fds[] = { d->listen_fd,     d->conn_fd,      d->ctl_fd,          d->sig_fd,
                        d->dev.device_fd, d->dev.group_fd, d->dev.container_fd };
    struct rlimit ml;

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            keep[n++] = fds[i];
    cfg.nkeep = n;
    if (getrlimit(RLIMIT_MEMLOCK, &ml) == 0) {
        if (ml.rlim_cur == RLIM_INFINITY)
            fprintf(stderr, "vfiod: RLIMIT_MEMLOCK unlimited\n");
        else
            fprintf(stderr,
                    "vfiod: RLIMIT_MEMLOCK %" PRIu64 " KiB: DMA pinning of guest RAM "
                    "counts against it\n",
                    (uint64_t)ml.rlim_cur / 1024);
    }
    return sbx_enter(&cfg, err, errlen);
}

static void drop_client(struct vfiod *d, int why)
{
    if (why < 0)
        fprintf(stderr, "vfiod: dropping the client: %s\n", strerror(-why));
    else
        fprintf(stderr, "vfiod: client disconnected\n");
    vfiod_server_disconnect(&d->srv);
    /* Whatever the server did not undo: no trigger and no DMA mapping outlives the client. */
    vfiod_vfio_quiesce(&d->dev);
    close(d->conn_fd);
    d->conn_fd = -1;
}

static void accept_client(struct vfiod *d)
{
    int c = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (c < 0) {
        fprintf(stderr, "vfiod: accept: %s\n", strerror(errno));
        return;
    }
    set_timeout(c);
    d->conn_fd = c;
    fprintf(stderr, "vfiod: client connected\n");
}

/* The loop: 0 for a clean end (signal, Shutdown, the only client gone), -errno otherwise. */
static int serve(struct vfiod *d)
{
    for (;;) {
        struct pollfd p[3] = { { .fd = d->sig_fd, .events = POLLIN } };
        nfds_t n = 1, ctl = 0, cli;
        int r;

        if (d->ctl_fd >= 0) {
            ctl = n;
            p[n++] = (struct pollfd){ .fd = d->ctl_fd, .events = POLLIN };
        }
        cli = n;
        p[n++] =
            (struct pollfd){ .fd = d->conn_fd >= 0 ? d->conn_fd : d->listen_fd, .events = POLLIN };
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[0].revents) {
            struct signalfd_siginfo si;

            if (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                fprintf(stderr, "vfiod: signal %u: exiting\n", si.ssi_signo);
            return 0;
        }
        if (ctl && p[ctl].revents) {
            r = vfiod_ctl_handle(d->ctl_fd, d->conn_fd >= 0);
            if (r == -ESHUTDOWN || r == -EPIPE) {
                fprintf(stderr, "vfiod: %s\n",
                        r == -EPIPE ? "control channel closed" : "shutdown requested");
                return 0;
            }
        }
        if (!p[cli].revents)
            continue;
        if (d->conn_fd < 0) {
            accept_client(d);
            continue;
        }
        r = vfiod_server_handle(&d->srv, d->conn_fd);
        if (r == 1)
            continue;
        drop_client(d, r);
        if (d->listen_fd < 0)
            return r; /* --fd: one client only */
    }
}

static int run(struct vfiod *d, int argc, char **argv, char *err, size_t errlen)
{
    struct vfiod_fds f = { -1, -1, -1 };
    sigset_t sigs;
    int r;

    r = parse_args(d, argc, argv, err, errlen);
    if (r)
        return r;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    d->sig_fd = vfiod_sys_signalfd(&sigs);
    if (d->sig_fd < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(-d->sig_fd));
        return d->sig_fd;
    }
    if (d->ctl_fd >= 0) {
        vfiod_sys_pdeathsig();
        r = vfiod_ctl_hello(d->ctl_fd);
        if (r)
            snprintf(err, errlen, "Hello: %s", strerror(-r));
        else
            r = vfiod_ctl_configure(d->ctl_fd, &d->spec, &d->seccomp, &f, err, errlen);
        if (r)
            return r;
    }
    r = setup_device(d, f, err, errlen);
    if (r)
        return r;
    /* Only now: a refused device leaves no socket file behind. */
    if (d->socket_path && (d->listen_fd = listen_on(d->socket_path, err, errlen)) < 0)
        return d->listen_fd;
    if (d->conn_fd >= 0)
        set_timeout(d->conn_fd);
    r = enter_jail(d, err, errlen);
    if (r)
        return r;
    if (d->ctl_fd >= 0 && (r = vfiod_ctl_ready(d->ctl_fd))) {
        snprintf(err, errlen, "Ready: %s", strerror(-r));
        return r;
    }
    fprintf(stderr, "vfiod: serving %s\n",
            d->listen_fd >= 0 ? "clients on the socket path" : "the client on its fd");
    r = serve(d);
    if (r)
        snprintf(err, errlen, "%s", strerror(-r));
    return r;
}

int main(int argc, char **argv)
{
    struct vfiod d = {
        .listen_fd = -1,
        .conn_fd = -1,
        .ctl_fd = -1,
        .sig_fd = -1,
        .seccomp = SBX_SECCOMP_LOG,
        .dev = { .container_fd = -1, .group_fd = -1, .device_fd = -1 },
    };
    char err[512] = "";
    int r;

    signal(SIGPIPE, SIG_IGN);
    r = run(&d, argc, argv, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "vfiod: %s\n", err[0] ? err : strerror(-r));
        if (d.ctl_fd >= 0)
            vfiod_ctl_error(d.ctl_fd, -r, err[0] ? err : strerror(-r));
    }
    if (d.conn_fd >= 0 && d.srv_ready)
        drop_client(&d, 0);
    if (d.srv_ready)
        vfiod_server_destroy(&d.srv);
    vfiod_vfio_close(&d.dev);
    if (d.conn_fd >= 0)
        close(d.conn_fd);
    if (d.listen_fd >= 0)
        close(d.listen_fd);
    if (d.ctl_fd >= 0)
        close(d.ctl_fd);
    if (d.sig_fd >= 0)
        close(d.sig_fd);
    free(d.spec);
    return r < 0 ? 1 : 0;
}
