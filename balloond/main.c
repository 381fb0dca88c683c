/*
 * cellvm-balloond: the virtio-balloon device process (virtio 1.2, 5.5). The device-process
 * runtime (devproc_main) owns the command line, the control channel and the vhost-user socket;
 * this file turns a --balloon spec into the device model (balloon.h) and one thread per
 * running queue (bqueue.h).
 *
 * Queues: inflate 0, deflate 1 and, with free_page_reporting=on, the reporting queue 2. Pages
 * the guest gives up (inflate) or reports free are punched out of the guest memory file the
 * frontend sent (SET_MEM_TABLE/ADD_MEM_REG, kept open for this: keep_mem_fds) at their file
 * offset, so the host gets the memory back; the core never punches. With discard=off (the
 * controller sets it while a VFIO device is attached) nothing is punched and the log says so.
 *
 * The target (config num_pages) comes with the spec's size= and then from the controller
 * (BalloonTarget, vm.resize desired_balloon): it is set and CONFIG_CHANGE_MSG tells the core
 * to re-read the config and interrupt the guest. The driver writes `actual` back (SET_CONFIG),
 * which goes to the controller (BalloonActual) for vm.info.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "balloond/balloon.h"
#include "balloond/bqueue.h"
#include "device-procs/devproc.h"
#include "device-procs/devproc_util.h"
#include "devspec/devspec.h"
#include "ipc/vhost_user.h"
#include "sandbox/jail.h"

#define VIRTIO_ID_BALLOON      5
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_RING_F_INDIRECT 28
#define VIRTIO_RING_F_EVENT    29
#define VHOST_USER_PF_CONFIG   (1ull << 9)
#define VHOST_USER_PF_BACKEND  (1ull << 5)
#define BALLOOND_QUEUES        3
#define BALLOOND_MAX_KEEP      (8 + BALLOOND_QUEUES)

struct balloond {
    struct devproc_ops ops; /* features and queue count follow the spec */
    struct cli_balloon spec;
    bool parsed, model_ready;
    struct balloon b;
    struct devproc *dp;
    struct bqueue q[BALLOOND_QUEUES];
    unsigned queues_ready; /* q[0..queues_ready) initialised */
};

static int balloond_parse_spec(void *dev, const char *opt, const char *val, int *fds, size_t nfds,
                               char *err, size_t errlen)
{
    struct balloond *d = dev;
    int r;

    (void)fds; /* the balloon needs no fd but the guest memory the frontend sends */
    if (strcmp(opt, "balloon") != 0)
        return devproc_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (d->parsed)
        return devproc_err(err, errlen, -EINVAL, "%s", "one --balloon per process");
    if (nfds)
        return devproc_err(err, errlen, -EINVAL, "--balloon: %zu unexpected fds", nfds);
    r = cli_balloon_parse(val, true, &d->spec, err, errlen);
    if (r)
        return r;
    r = balloon_init(&d->b, d->spec.size, d->spec.discard);
    if (r)
        return devproc_err(err, errlen, r, "--balloon: %s", strerror(-r));
    d->parsed = d->model_ready = true;
    d->ops.features =
        1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT | 1ull << VIRTIO_RING_F_EVENT;
    if (d->spec.deflate_on_oom)
        d->ops.features |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
    if (d->spec.free_page_reporting)
        d->ops.features |= 1ull << VIRTIO_BALLOON_F_REPORTING;
    d->ops.max_queues = d->spec.free_page_reporting ? 3 : 2;
    fprintf(stderr,
            "cellvm-balloond: target %llu bytes, deflate_on_oom=%s, free_page_reporting=%s, %s\n",
            (unsigned long long)d->spec.size, d->spec.deflate_on_oom ? "on" : "off",
            d->spec.free_page_reporting ? "on" : "off",
            d->spec.discard ? "given-back pages are punched out of guest memory"
                            : "discard off (a VFIO device is attached): no page is given back "
                              "to the host");
    return 0;
}

static int balloond_prepare(void *dev, struct devproc *dp, char *err, size_t errlen)
{
    struct balloond *d = dev;

    if (!d->parsed)
        return devproc_err(err, errlen, -EINVAL, "%s", "--balloon size=... is required");
    d->dp = dp;
    for (; d->queues_ready < d->ops.max_queues; d->queues_ready++) {
        int r = bqueue_init(&d->q[d->queues_ready], (uint16_t)d->queues_ready, &d->b, dp);

        if (r)
            return devproc_err(err, errlen, r, "queue setup: %s", strerror(-r));
    }
    return 0;
}

/* sandbox/'s jail with the balloond profile and nothing mounted: every fd it uses arrives on
   the vhost-user socket. */
static int balloond_jail(void *dev, enum devproc_seccomp mode, const int *keep, size_t nkeep,
                         char *err, size_t errlen)
{
    struct balloond *d = dev;
    int fds[BALLOOND_MAX_KEEP];
    size_t k = 0;
    struct sbx_config cfg = { .profile = SBX_PROFILE_BALLOOND };

    for (size_t i = 0; i < nkeep && k < BALLOOND_MAX_KEEP; i++)
        fds[k++] = keep[i];
    for (unsigned i = 0; i < d->queues_ready && k < BALLOOND_MAX_KEEP; i++)
        fds[k++] = d->q[i].stop_fd;
    if (k == BALLOOND_MAX_KEEP)
        return devproc_err(err, errlen, -EMFILE, "%s", "jail: too many fds to keep");
    cfg.keep_fds = fds;
    cfg.nkeep = k;
    cfg.seccomp = devproc_sbx_seccomp(mode);
    return sbx_enter(&cfg, err, errlen);
}

static int balloond_get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    struct balloond *d = dev;
    uint8_t space[BALLOON_CONFIG_SIZE];

    balloon_config(&d->b, space);
    return devproc_config_read(space, sizeof(space), off, buf, len);
}

static void send_actual(struct balloond *d)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__BalloonActual ba = CELLVM__BALLOON_ACTUAL__INIT;

    ba.size = (uint64_t)__atomic_load_n(&d->b.actual, __ATOMIC_RELAXED) << BALLOON_PAGE_SHIFT;
    env.body_case = CELLVM__ENVELOPE__BODY_BALLOON_ACTUAL;
    env.balloon_actual = &ba;
    if (d->dp)
        devproc_send_control(d->dp, &env); /* -ENOTCONN standalone: nobody to tell */
}

static int balloond_set_config(void *dev, const uint8_t *buf, uint32_t off, uint32_t len,
                               uint32_t flags)
{
    struct balloond *d = dev;
    bool changed;
    int r;

    r = balloon_config_write(&d->b, buf, off, len, flags == VHOST_USER_CONFIG_MIGRATION, &changed);
    if (r) {
        balloon_log(&d->b, "config write at %u (%u bytes) refused: only `actual` is writable", off,
                    len);
        return r;
    }
    if (changed)
        send_actual(d);
    return 0;
}

static int balloond_start_queue(void *dev, uint16_t idx, struct virtq *vq)
{
    struct balloond *d = dev;

    if (idx >= d->queues_ready)
        return -EINVAL;
    return bqueue_set(&d->q[idx], vq);
}

static int balloond_stop_queue(void *dev, uint16_t idx)
{
    struct balloond *d = dev;

    if (idx >= d->queues_ready)
        return -EINVAL;
    return bqueue_set(&d->q[idx], NULL);
}

static void balloond_reset(void *dev)
{
    struct balloond *d = dev;
    bool changed;
    uint8_t zero[4] = { 0 };

    for (unsigned i = 0; i < d->queues_ready; i++)
        bqueue_set(&d->q[i], NULL);
    /* A reset driver starts with an empty balloon; the target stays. */
    if (d->model_ready && !balloon_config_write(&d->b, zero, 4, 4, false, &changed) && changed)
        send_actual(d);
}

static int balloond_control(void *dev, struct devproc *dp, const Cellvm__Envelope *msg)
{
    struct balloond *d = dev;
    uint64_t size;

    if (msg->body_case != CELLVM__ENVELOPE__BODY_BALLOON_TARGET)
        return -ENOTSUP;
    if (msg->balloon_target->no_discard &&
        __atomic_exchange_n(&d->b.discard, false, __ATOMIC_RELAXED))
        fprintf(stderr, "cellvm-balloond: discard off (a VFIO device is being attached): no page "
                        "is given back to the host from now on\n");
    size = msg->balloon_target->size;
    if (!balloon_set_target(&d->b, size))
        return 0;
    fprintf(stderr, "cellvm-balloond: target %llu bytes (%llu pages)\n", (unsigned long long)size,
            (unsigned long long)(size >> BALLOON_PAGE_SHIFT));
    return devproc_config_changed(dp);
}

static void balloond_stats(void *dev, Cellvm__DeviceStats *st)
{
    struct balloond *d = dev;

    for (size_t i = 0; i < st->n_queues; i++) {
        Cellvm__QueueStats *q = st->queues[i];

        if (q->index == BALLOON_Q_INFLATE)
            q->errors += balloon_counter(&d->b, BALLOON_C_BAD_PFN) +
                         balloon_counter(&d->b, BALLOON_C_DUP_PFN) +
                         balloon_counter(&d->b, BALLOON_C_TOO_MANY) +
                         balloon_counter(&d->b, BALLOON_C_PUNCH_ERRORS);
        else if (q->index == BALLOON_Q_REPORTING)
            q->errors += balloon_counter(&d->b, BALLOON_C_BAD_RANGE);
    }
}

/*
 * DEVICE_STATE (issue 18), rings stopped: the pages the driver says the balloon holds (its last
 * write of `actual`: the guest keeps those pages out of use after a restore, so the new process
 * must report them rather than 0) and the counters. The target is the configuration's and
 * comes with config.json.
 */
struct balloond_state {
    uint32_t actual;
    uint16_t ncounters;
    uint16_t reserved;
    uint64_t ctr[];
};

static int balloond_save_state(void *dev, uint8_t *buf, size_t cap)
{
    struct balloond *d = dev;
    struct balloond_state st = { .ncounters = BALLOON_C_COUNT };
    size_t n = sizeof(st) + BALLOON_C_COUNT * 8;

    if (!d->model_ready || n > cap)
        return d->model_ready ? -E2BIG : -ENODEV;
    st.actual = __atomic_load_n(&d->b.actual, __ATOMIC_RELAXED);
    memcpy(buf, &st, sizeof(st));
    for (unsigned c = 0; c < BALLOON_C_COUNT; c++) {
        uint64_t v = balloon_counter(&d->b, (enum balloon_ctr)c);

        memcpy(buf + sizeof(st) + 8 * c, &v, 8);
    }
    return (int)n;
}

static int balloond_load_state(void *dev, const uint8_t *buf, size_t len)
{
    struct balloond *d = dev;
    struct balloond_state st;
    uint8_t le[4];
    bool changed;
    int r;

    if (!d->model_ready || len != sizeof(st) + BALLOON_C_COUNT * 8)
        return -EINVAL;
    memcpy(&st, buf, sizeof(st));
    if (st.ncounters != BALLOON_C_COUNT || st.reserved)
        return -EINVAL;
    le[0] = (uint8_t)st.actual;
    le[1] = (uint8_t)(st.actual >> 8);
    le[2] = (uint8_t)(st.actual >> 16);
    le[3] = (uint8_t)(st.actual >> 24);
    r = balloon_config_write(&d->b, le, 4, 4, true, &changed);
    if (r)
        return r;
    for (unsigned c = 0; c < BALLOON_C_COUNT; c++)
        memcpy(&d->b.ctr[c], buf + sizeof(st) + 8 * c, 8);
    if (changed)
        send_actual(d);
    fprintf(stderr, "cellvm-balloond: state loaded: the driver holds %u pages\n", st.actual);
    return 0;
}

static void print_counters(const struct balloond *d)
{
    static const char *const names[BALLOON_C_COUNT] = {
        "inflated_pages", "deflated_pages", "reported_bytes", "discarded_bytes", "bad_pfns",
        "duplicate_pfns", "excess_pfns",    "bad_ranges",     "punch_errors",
    };

    if (!d->model_ready)
        return;
    fprintf(stderr, "cellvm-balloond:");
    for (unsigned c = 0; c < BALLOON_C_COUNT; c++)
        fprintf(stderr, " %s=%llu", names[c],
                (unsigned long long)balloon_counter(&d->b, (enum balloon_ctr)c));
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
    struct balloond d;
    int status;

    memset(&d, 0, sizeof(d));
    d.ops = (struct devproc_ops){
        .name = "balloon",
        .spec_option = "balloon",
        .virtio_id = VIRTIO_ID_BALLOON,
        .features = 0, /* set by parse_spec */
        .max_queues = 2,
        .protocol_features = VHOST_USER_PF_CONFIG | VHOST_USER_PF_BACKEND,
        .config_size = BALLOON_CONFIG_SIZE,
        .keep_mem_fds = true,
        .parse_spec = balloond_parse_spec,
        .prepare = balloond_prepare,
        .jail = balloond_jail,
        .get_config = balloond_get_config,
        .set_config = balloond_set_config,
        .start_queue = balloond_start_queue,
        .stop_queue = balloond_stop_queue,
        .reset = balloond_reset,
        .control = balloond_control,
        .stats = balloond_stats,
        .save_state = balloond_save_state,
        .load_state = balloond_load_state,
    };
    status = devproc_main(argc, argv, &d.ops, &d);
    for (unsigned i = 0; i < d.queues_ready; i++)
        bqueue_destroy(&d.q[i]);
    print_counters(&d);
    if (d.model_ready)
        balloon_destroy(&d.b);
    return status;
}
