/*
 * cellvm-rngd: the virtio-rng device process. The device-process runtime (devproc_main) owns
 * the command line, the control channel and the vhost-user socket; this file gets the entropy
 * source, enters the jail and serves the one request queue from the runtime's control loop
 * (rngd/rng.c does the requests): a kick, or the source becoming readable, runs one bounded pass.
 *
 * Where the source comes from:
 *   - from the controller (DeviceConfigure): fds[0], opened by the controller from --rng src=
 *     (read-only, non-blocking); src= in the spec only names it;
 *   - standalone: --rng src=PATH (Cloud Hypervisor's key) or --source PATH, or /dev/urandom,
 *     opened here before the jail. The jailed daemon never opens a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/devproc.h"
#include "device-procs/devproc_util.h"
#include "devspec/devspec.h"
#include "rngd/rng.h"
#include "rngd/rng_args.h"
#include "sandbox/jail.h"

#define VIRTIO_ID_RNG      4
#define VIRTIO_F_VERSION_1 32
#define RNGD_MAX_KEEP      8

struct rngd {
    struct devproc_ops ops;
    struct rng_dev rng;             /* rng.src_fd owned here, closed in main */
    struct devproc *dp;             /* borrowed from prepare */
    struct event *ev_kick, *ev_src; /* owned while the queue runs */
    bool have_spec;
};

static int open_source(struct rngd *d, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    if (fd < 0)
        return devproc_err(err, errlen, -errno, "--rng: cannot open source '%s': %s", path,
                           strerror(errno));
    d->rng.src_fd = fd;
    return 0;
}

/* The source must be readable: its file mode allows it and it is not a directory. */
static int check_source(int fd, char *err, size_t errlen)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return devproc_err(err, errlen, -errno, "--rng: source fd: %s", strerror(errno));
    if ((fl & O_ACCMODE) == O_WRONLY)
        return devproc_err(err, errlen, -EBADF, "--rng: source fd is not open for reading");
    return 0;
}

static int rngd_parse_spec(void *dev, const char *opt, const char *val, int *fds, size_t nfds,
                           char *err, size_t errlen)
{
    struct rngd *d = dev;
    struct cli_rng cr;
    int r;

    if (strcmp(opt, "rng") != 0)
        return devproc_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (d->have_spec)
        return devproc_err(err, errlen, -EINVAL, "%s", "one --rng (or --source) per process");
    r = cli_rng_parse(val, &cr, err, errlen);
    if (r == 0 && fds) {
        /* From the controller: the source it opened, never a path. */
        if (nfds != 1)
            r = devproc_err(err, errlen, -EINVAL, "--rng: %zu source fds, want 1", nfds);
        else if ((r = check_source(fds[0], err, errlen)) == 0) {
            d->rng.src_fd = fds[0];
            fds[0] = -1;
        }
    } else if (r == 0) {
        r = open_source(d, cr.src, err, errlen);
    }
    if (r == 0)
        fprintf(stderr, "cellvm-rngd: entropy source %s\n", cr.src);
    cli_rng_free(&cr);
    if (r == 0)
        d->have_spec = true;
    return r;
}

static int rngd_prepare(void *dev, struct devproc *dp, char *err, size_t errlen)
{
    struct rngd *d = dev;

    d->dp = dp;
    /* Only standalone without --rng/--source: the controller always sends a spec and an fd. */
    if (d->rng.src_fd < 0) {
        int r = open_source(d, CLI_RNG_DEFAULT_SRC, err, errlen);

        if (r)
            return r;
        fprintf(stderr, "cellvm-rngd: entropy source %s\n", CLI_RNG_DEFAULT_SRC);
    }
    return 0;
}

static int rngd_jail(void *dev, enum devproc_seccomp mode, const int *keep, size_t nkeep, char *err,
                     size_t errlen)
{
    struct rngd *d = dev;
    int fds[RNGD_MAX_KEEP];
    size_t k = 0;
    struct sbx_config cfg = { .profile = SBX_PROFILE_RNGD };

    for (size_t i = 0; i < nkeep && k + 1 < RNGD_MAX_KEEP; i++)
        fds[k++] = keep[i];
    fds[k++] = d->rng.src_fd;
    cfg.keep_fds = fds;
    cfg.nkeep = k;
    cfg.seccomp = devproc_sbx_seccomp(mode);
    return sbx_enter(&cfg, err, errlen);
}

static void run(struct rngd *d);

static void on_kick(int fd, short what, void *arg)
{
    struct rngd *d = arg;

    (void)fd;
    (void)what;
    if (!d->rng.vq)
        return;
    virtq_kick_drain(d->rng.vq);
    run(d);
}

static void on_source(int fd, short what, void *arg)
{
    struct rngd *d = arg;

    (void)fd;
    (void)what;
    devproc_unwatch(&d->ev_src);
    if (d->rng.vq)
        run(d);
}

/* One pass, then whatever it asks for: nothing, another turn of the loop, or the source. */
static void run(struct rngd *d)
{
    static const uint64_t one = 1;
    enum rng_pass p = rng_pass(&d->rng);
    int r;

    switch (p) {
    case RNG_PASS_IDLE:
        return;
    case RNG_PASS_MORE:
        /* Back after the loop has served everything else: the kick is our own doorbell. */
        if (write(d->rng.vq->kick_fd, &one, sizeof(one)) != sizeof(one))
            fprintf(stderr, "cellvm-rngd: cannot requeue the rest: %s\n", strerror(errno));
        return;
    case RNG_PASS_WAIT_SRC:
        if (d->ev_src)
            return;
        r = devproc_watch(d->dp, d->rng.src_fd, on_source, d, &d->ev_src);
        if (r)
            fprintf(stderr, "cellvm-rngd: cannot wait for the source: %s\n", strerror(-r));
        return;
    case RNG_PASS_BROKEN:
        devproc_unwatch(&d->ev_kick);
        devproc_unwatch(&d->ev_src);
        devproc_needs_reset(d->dp, 0, d->rng.vq->broken ? d->rng.vq->broken : -EIO);
        return;
    }
}

static int rngd_start_queue(void *dev, uint16_t idx, struct virtq *vq)
{
    struct rngd *d = dev;
    int r;

    if (idx != 0)
        return -EINVAL;
    if (vq->kick_fd < 0) {
        fprintf(stderr, "cellvm-rngd: a polled queue (no kick fd) is not supported\n");
        return -EINVAL;
    }
    r = devproc_watch(d->dp, vq->kick_fd, on_kick, d, &d->ev_kick);
    if (r)
        return r;
    d->rng.vq = vq;
    run(d); /* requests may be waiting already (a reconnect, a replaced daemon) */
    return 0;
}

/* Everything runs on the control loop, so no request is half done when this is called. */
static int rngd_stop_queue(void *dev, uint16_t idx)
{
    struct rngd *d = dev;

    if (idx != 0)
        return -EINVAL;
    devproc_unwatch(&d->ev_kick);
    devproc_unwatch(&d->ev_src);
    d->rng.vq = NULL;
    return 0;
}

static void rngd_reset(void *dev)
{
    rngd_stop_queue(dev, 0);
}

static void rngd_stats(void *dev, Cellvm__DeviceStats *st)
{
    struct rngd *d = dev;

    for (size_t i = 0; i < st->n_queues; i++)
        if (st->queues[i]->index == 0)
            st->queues[i]->errors += d->rng.st.src_errors;
}

int main(int argc, char **argv)
{
    char spec[4200]; /* PATH_MAX and the key, quoted */
    char *args[RNGD_MAX_ARGS + 1];
    char err[256];
    struct rngd d;
    int n, status;

    memset(&d, 0, sizeof(d));
    if (rng_init(&d.rng)) {
        fprintf(stderr, "rng: out of memory\n");
        return 1;
    }
    n = rngd_rewrite_args(argc, argv, args, spec, sizeof(spec), err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "rng: %s\n", err);
        rng_destroy(&d.rng);
        return 1;
    }
    d.ops = (struct devproc_ops){
        .name = "rng",
        .spec_option = "rng",
        .virtio_id = VIRTIO_ID_RNG,
        .features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
                    1ull << VIRTIO_RING_F_EVENT_IDX,
        .max_queues = 1,
        .protocol_features = 0, /* no config space */
        .config_size = 0,
        .parse_spec = rngd_parse_spec,
        .prepare = rngd_prepare,
        .jail = rngd_jail,
        .start_queue = rngd_start_queue,
        .stop_queue = rngd_stop_queue,
        .reset = rngd_reset,
        .stats = rngd_stats,
    };
    status = devproc_main(n, args, &d.ops, &d);
    rngd_reset(&d);
    fprintf(stderr,
            "cellvm-rngd: requests=%llu bytes=%llu empty=%llu src_errors=%llu src_waits=%llu\n",
            (unsigned long long)d.rng.st.requests, (unsigned long long)d.rng.st.bytes,
            (unsigned long long)d.rng.st.empty, (unsigned long long)d.rng.st.src_errors,
            (unsigned long long)d.rng.st.src_waits);
    if (d.rng.src_fd >= 0)
        close(d.rng.src_fd);
    rng_destroy(&d.rng);
    return status;
}
