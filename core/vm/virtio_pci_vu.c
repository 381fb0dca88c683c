#include "core/vm/virtio_pci_vu.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/vm/virtio_net_ctrl.h"
#include "core/vm/virtio_pci_rc.h"
#include "core/vm/vm_thread.h"
#include "ipc/vhost_user.h"

#define VIRTIO_ID_NET   1
#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_FS    26
/* virtio-fs config (virtio 1.2, 5.11.4): tag[36], le32 num_request_queues. */
#define VIRTIO_FS_TAG_LEN 36
/* virtio-vsock's rx and tx go to the backend; the event queue after them stays here. */
#define VSOCK_DATA_QUEUES       2
#define VIRTIO_NET_F_CTRL_VQ    17
#define VIRTIO_NET_F_MQ         22
#define VIRTIO_RING_F_EVENT_IDX 29
/* Poll-set tag of a control queue's kick fd (>= 0 are call fds, -1 channel, -2 socket). */
#define PQ_CTRL_KICK (-3)
/* Protocol features the core uses; CONFIG and BACKEND_REQ keep vCPUs off the socket;
 * CONFIGURE_MEM_SLOTS carries more than VHOST_USER_MAX_REGIONS memory regions; INFLIGHT_SHMFD
 * lets a replacement backend resubmit what a dead one had in flight (virtio_pci_rc.c);
 * DEVICE_STATE carries the backend's own state through snapshots and migrations; LOG_SHMFD
 * lets a live migration see what the backend writes (virtio_pci_pause.c). */
#define WANT_PF                                                                                  \
    (1ull << VHOST_USER_PROTOCOL_F_MQ | 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK |                \
     1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ | 1ull << VHOST_USER_PROTOCOL_F_CONFIG |          \
     1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE |                                                \
     1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS |                                         \
     1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD | 1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE | \
     1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD)

/* Transport features this core does not implement (or a guest must never see): log-all,
 * protocol features, access-platform (offered again to a device behind the virtio-iommu),
 * packed ring, SR-IOV, notification data, ring reset. */
#define HIDDEN_FEATURES                                                                         \
    (1ull << 26 | 1ull << 30 | 1ull << 33 | 1ull << 34 | 1ull << 37 | 1ull << 38 | 1ull << 40 | \
     1ull << 41)

/* How much config each device type has that the core caches (virtio 1.x layouts). */
static uint32_t config_size(uint16_t virtio_id)
{
    switch (virtio_id) {
    case 1:
        return 12; /* mac, status, max_virtqueue_pairs, mtu */
    case 2:
        return 60; /* through the write-zeroes fields: what every blk backend answers */
    case 19:
        return 8; /* guest_cid */
    case 3:
        return 12; /* console: cols, rows, max_nr_ports, emerg_wr */
    case 5:
        return 8; /* balloon: num_pages, actual (the driver writes actual: SET_CONFIG) */
    case VIRTIO_ID_FS:
        return VIRTIO_FS_TAG_LEN + 4; /* tag, num_request_queues: the core's own */
    default:
        return 0;
    }
}

static bool has_pf(const struct vpci_dev *d, unsigned bit)
{
    return d->fe.protocol_features & (1ull << bit);
}

int vpci_vu_connect(struct vpci_dev *d, uint16_t want_queues, char *err, size_t errlen)
{
    uint64_t offered = 0, qn;
    int r;

    r = vu_fe_negotiate(&d->fe, WANT_PF, &offered);
    if (r) {
        snprintf(err, errlen, "%s: vhost-user negotiation: %s", d->id, strerror(-r));
        return r;
    }
    d->host_features = offered & ~HIDDEN_FEATURES;
    if (d->iommu) {
        if (!vu_fe_has_access_platform(&d->fe)) {
            snprintf(err, errlen,
                     "%s: the backend cannot serve a device behind the IOMMU (no "
                     "VIRTIO_F_ACCESS_PLATFORM, REPLY_ACK or BACKEND_REQ)",
                     d->id);
            return -EOPNOTSUPP;
        }
        d->host_features |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
    }
    d->nqueues = want_queues;
    if (has_pf(d, VHOST_USER_PROTOCOL_F_MQ)) {
        r = vu_fe_get_queue_num(&d->fe, &qn);
        if (r) {
            snprintf(err, errlen, "%s: GET_QUEUE_NUM: %s", d->id, strerror(-r));
            return r;
        }
        if (qn < d->nqueues)
            d->nqueues = (uint16_t)qn;
    }
    if (d->virtio_id == VIRTIO_ID_NET) {
        /* Data queues in pairs, then the control queue the core serves itself. */
        d->nqueues &= (uint16_t)~1u;
        if (d->nqueues >= VPCI_MAX_QUEUES)
            d->nqueues = VPCI_MAX_QUEUES - 2;
    }
    if (!d->nqueues) {
        snprintf(err, errlen, "%s: the backend serves no queue", d->id);
        return -EINVAL;
    }
    if (d->virtio_id == VIRTIO_ID_VSOCK) {
        if (d->nqueues != VSOCK_DATA_QUEUES && d->nqueues != VSOCK_DATA_QUEUES + 1) {
            snprintf(err, errlen, "%s: a vsock backend serves %u queues", d->id, d->nqueues);
            return -EINVAL;
        }
        d->nqueues = VSOCK_DATA_QUEUES;
        d->ctrl_q = d->nqueues++;
    }
    if (d->virtio_id == VIRTIO_ID_NET) {
        d->ctrl_pairs = d->nqueues / 2;
        d->ctrl_q = d->nqueues++;
        /* Behind the IOMMU the control queue's addresses are IOVAs, which the core's own
         * queue code does not translate: no control queue, hence one queue pair. */
        d->core_features = d->iommu ? 0 : 1ull << VIRTIO_NET_F_CTRL_VQ;
        d->host_features |= d->core_features;
        if (d->ctrl_pairs < 2 || d->iommu)
            d->host_features &= ~(1ull << VIRTIO_NET_F_MQ);
    }
    d->config_len = config_size(d->virtio_id);
    if (d->virtio_id == VIRTIO_ID_FS) {
        /* virtiofsd has no config of its own (QEMU's frontend makes it too): the tag the user
         * gave and the request queues, all queues but the high-priority one. */
        uint32_t nreq = d->nqueues > 1 ? d->nqueues - 1u : 1u;

        if (d->nqueues < 2) {
            snprintf(err, errlen, "%s: a virtio-fs backend must serve 2 queues or more", d->id);
            return -EINVAL;
        }
        memcpy(d->config, d->fs_tag, strnlen(d->fs_tag, VIRTIO_FS_TAG_LEN));
        d->config[VIRTIO_FS_TAG_LEN] = (uint8_t)nreq;
        d->config[VIRTIO_FS_TAG_LEN + 1] = (uint8_t)(nreq >> 8);
        return 0;
    }
    if (d->config_len && has_pf(d, VHOST_USER_PROTOCOL_F_CONFIG)) {
        r = vu_fe_get_config(&d->fe, 0, d->config, d->config_len);
        if (r) {
            snprintf(err, errlen, "%s: GET_CONFIG: %s", d->id, strerror(-r));
            return r;
        }
    }
    return 0;
}

static void config_changed(void *opaque)
{
    *(bool *)opaque = true;
}

/* The backend is gone or broke the protocol: the device is dead and the VM must stop. */
void vpci_vu_fail(struct vpci_dev *d, const char *what, int r)
{
    char msg[200];

    if (d->rc.managed) { /* its process is replaced: closing our end makes sure it goes */
        vpci_rc_lost(d, what, r);
        return;
    }
    pthread_mutex_lock(&d->lock);
    if (d->failed) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->failed = true;
    d->status |= VPCI_S_NEEDS_RESET;
    d->resetting = false;
    vpci_raise_config(d);
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
    snprintf(msg, sizeof(msg), "device %s: vhost-user backend %s%s%s", d->id, what, r ? ": " : "",
             r ? strerror(-r) : "");
    log_info(d->ctx->log, "%s", msg);
    if (d->ctx->fatal)
        d->ctx->fatal(d->ctx->fatal_arg, msg);
}

/* A guest mistake (a ring outside RAM): the device needs a reset, the VM goes on. */
void vpci_vu_needs_reset(struct vpci_dev *d, const char *why)
{
    log_warn(d->ctx->log, "%s: %s; device needs reset", d->id, why);
    pthread_mutex_lock(&d->lock);
    d->status |= VPCI_S_NEEDS_RESET;
    vpci_raise_config(d);
    pthread_mutex_unlock(&d->lock);
}

struct start_snap {
    uint64_t features;
    uint16_t n;
    struct {
        bool enabled;
        uint16_t size;
        uint64_t desc, avail, used;
        int kick, call;
    } q[VPCI_MAX_QUEUES];
};

/* Whether the device failed (dev_fail), read under its lock. */
bool vpci_vu_failed(struct vpci_dev *d)
{
    bool failed;

    pthread_mutex_lock(&d->lock);
    failed = d->failed;
    pthread_mutex_unlock(&d->lock);
    return failed;
}

/* Frontend thread only: whether the backend serves ring i (others read it under the lock). */
void vpci_vu_set_started(struct vpci_dev *d, uint16_t i, bool started)
{
    pthread_mutex_lock(&d->lock);
    d->q[i].started = started;
    pthread_mutex_unlock(&d->lock);
}

int vpci_vu_send_mem_table(struct vpci_dev *d)
{
    const struct guest_mem *m = d->ctx->mem;
    struct vu_fe_region regs[GUEST_MEM_MAX_REGIONS];
    uint32_t n = 0;

    if (m->nregions > GUEST_MEM_MAX_REGIONS)
        return -E2BIG;
    for (uint32_t i = 0; i < m->nregions; i++)
        if (!m->regions[i].core_only) /* a private pmem mapping cannot be shared */
            regs[n++] = (struct vu_fe_region){
                .gpa = m->regions[i].gpa,
                .size = m->regions[i].size,
                .uva = (uint64_t)(uintptr_t)m->regions[i].host,
                .mmap_offset = m->regions[i].fd_offset,
                .fd = m->regions[i].fd,
            };
    return vu_fe_set_memory(&d->fe, regs, n);
}

/* SET_VRING_ENABLE on every started data queue: pairs below `pairs` on, the rest off. */
static void set_pairs(struct vpci_dev *d, uint16_t pairs)
{
    if (!(d->fe.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
        return; /* rings run from their start: nothing to switch */
    for (uint16_t i = 0; i < 2u * d->ctrl_pairs; i++) {
        int r;

        if (!d->q[i].started) /* only this thread changes it */
            continue;
        r = vu_fe_set_vring_enable(&d->fe, i, i / 2u < pairs);
        if (r) {
            vpci_vu_fail(d, "refused SET_VRING_ENABLE", r);
            return;
        }
    }
    d->rc.pairs = pairs;
    log_debug(d->ctx->log, "%s: %u queue pairs enabled", d->id, pairs);
}

static void do_start(struct vpci_dev *d, const struct start_snap *s)
{
    int r = vu_fe_set_features(&d->fe, s->features & ~d->core_features);

    pthread_mutex_lock(&d->lock);
    d->backend_dirty = true;
    pthread_mutex_unlock(&d->lock);
    if (!r)
        r = vpci_vu_send_mem_table(d);
    if (r) {
        vpci_vu_fail(d, "refused the features or memory table", r);
        return;
    }
    r = vpci_vu_iotlb_replay(d);
    if (r) {
        vpci_vu_fail(d, "refused the IOMMU's mappings", r);
        return;
    }
    for (uint16_t i = 0; i < s->n && d->rc.inflight_fd < 0; i++)
        if (s->q[i].enabled && i != d->ctrl_q)
            vpci_rc_inflight_get(d, s->q[i].size); /* the first data ring's size */
    for (uint16_t i = 0; i < s->n; i++) {
        struct vu_fe_vring v = { .num = s->q[i].size,
                                 .kick_fd = s->q[i].kick,
                                 .call_fd = s->q[i].call };

        if (!s->q[i].enabled || i == d->ctrl_q)
            continue;
        if (vpci_vu_ring_uvas(d, s->q[i].desc, s->q[i].avail, s->q[i].used, s->q[i].size, &v)) {
            vpci_vu_needs_reset(d, "a ring lies outside guest RAM");
            return;
        }
        r = vu_fe_start_vring(&d->fe, i, &v);
        if (r) {
            vpci_vu_fail(d, "refused a ring", r);
            return;
        }
        vpci_vu_set_started(d, i, true);
    }
    /* With MQ only the first pair runs until the driver asks for more on the control queue. */
    if (d->virtio_id == VIRTIO_ID_NET && (s->features & (1ull << VIRTIO_NET_F_MQ)))
        set_pairs(d, 1);
    log_debug(d->ctx->log, "%s: started (features 0x%llx)", d->id, (unsigned long long)s->features);
}

static void do_stop(struct vpci_dev *d)
{
    bool bit30 = d->fe.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    int r = 0;

    d->iotlb_on = false; /* the next start replays the IOMMU's mappings */
    for (uint16_t i = 0; i < d->nqueues && !r; i++) {
        uint16_t base;

        if (!d->q[i].started) /* only this thread changes it */
            continue;
        if (bit30)
            r = vu_fe_set_vring_enable(&d->fe, i, false);
        if (!r)
            r = vu_fe_get_vring_base(&d->fe, i, &base);
        vpci_vu_set_started(d, i, false);
    }
    if (!r && has_pf(d, VHOST_USER_PROTOCOL_F_RESET_DEVICE))
        r = vu_fe_reset_device(&d->fe);
    vpci_rc_inflight_drop(d); /* the driver starts over: nothing of the old rings is replayed */
    log_debug(d->ctx->log, "%s: rings stopped, backend reset: %d", d->id, r);
    if (r) {
        vpci_vu_fail(d, "did not stop", r);
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->backend_dirty = false;
    if (!(d->work & VPCI_WORK_STOP)) {
        d->status = 0;
        d->resetting = false;
    }
    pthread_mutex_unlock(&d->lock);
}

static void do_config(struct vpci_dev *d, uint32_t lo, const uint8_t *buf, uint32_t len)
{
    int r = vu_fe_set_config(&d->fe, lo, buf, len, VHOST_USER_CONFIG_WRITABLE);

    if (r == -EPIPE || r == -ECONNRESET || r == -EBADMSG || r == -EPROTO)
        vpci_vu_fail(d, "failed SET_CONFIG", r);
    else if (r)
        log_info(d->ctx->log, "%s: backend refused a config write at %u", d->id, lo);
}

/* Runs what vCPUs queued for d, one item at a time, the lock dropped around the I/O. */
static void process_work(struct vpci_dev *d)
{
    struct start_snap snap; /* 2.6 KiB on the frontend thread's (default-sized) stack */
    uint8_t cfg[VPCI_CONFIG_MAX];

    if (d->local) { /* nothing to start, stop or configure: no backend */
        pthread_mutex_lock(&d->lock);
        d->work = 0;
        pthread_cond_broadcast(&d->idle);
        pthread_mutex_unlock(&d->lock);
        return;
    }
    if (vpci_rc_hold_work(d))
        return; /* no backend: the work waits for the replacement */
    pthread_mutex_lock(&d->lock);
    while (d->work) {
        unsigned w = d->work & VPCI_WORK_STOP    ? VPCI_WORK_STOP
                     : d->work & VPCI_WORK_START ? VPCI_WORK_START
                                                 : VPCI_WORK_CONFIG;
        uint32_t lo = d->cfg_lo, hi = d->cfg_hi;

        if (d->rc.disconnected)
            break; /* lost meanwhile: vpci_rc_hold_work takes it from here */
        d->work &= ~w;
        if (d->failed)
            continue;
        d->busy = true;
        if (w == VPCI_WORK_START) {
            snap.features = d->driver_features;
            snap.n = d->nqueues;
            for (uint16_t i = 0; i < d->nqueues; i++) {
                snap.q[i].enabled = d->q[i].enabled;
                snap.q[i].size = d->q[i].size;
                snap.q[i].desc = d->q[i].desc;
                snap.q[i].avail = d->q[i].avail;
                snap.q[i].used = d->q[i].used;
                snap.q[i].kick = d->q[i].kick_fd;
                snap.q[i].call = d->q[i].call_fd;
            }
        } else if (w == VPCI_WORK_CONFIG && hi > lo && hi <= d->config_len) {
            memcpy(cfg, d->config + lo, hi - lo);
        }
        pthread_mutex_unlock(&d->lock);
        if (w == VPCI_WORK_START)
            do_start(d, &snap);
        else if (w == VPCI_WORK_STOP)
            do_stop(d);
        else if (hi > lo && hi <= d->config_len)
            do_config(d, lo, cfg, hi - lo);
        pthread_mutex_lock(&d->lock);
        d->busy = false;
    }
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
}

struct ctrl_req {
    const struct vpci_dev *d;
    uint16_t pairs; /* last valid VQ_PAIRS_SET, 0 if none */
};

/* Lock held. RX mode, MAC, VLAN and announce commands need nothing from a TAP backend. */
static uint8_t ctrl_command(void *arg, uint8_t cls, uint8_t cmd, const uint8_t *data, size_t len)
{
    struct ctrl_req *c = arg;
    uint16_t pairs;

    switch (cls) {
    case VNET_CTRL_MQ:
        if (cmd != VNET_CTRL_MQ_PAIRS_SET || len < 2 ||
            !(c->d->driver_features & (1ull << VIRTIO_NET_F_MQ)))
            return VNET_CTRL_ERR;
        memcpy(&pairs, data, 2);
        if (!pairs || pairs > c->d->ctrl_pairs)
            return VNET_CTRL_ERR;
        c->pairs = pairs;
        return VNET_CTRL_OK;
    case VNET_CTRL_RX:
    case VNET_CTRL_MAC:
    case VNET_CTRL_VLAN:
    case VNET_CTRL_ANNOUNCE:
        return VNET_CTRL_OK;
    default:
        return VNET_CTRL_ERR;
    }
}

/* The control queue was kicked: complete its commands, then apply a queue-pair change. */
static void serve_ctrl(struct vpci_dev *d)
{
    struct ctrl_req req = { .d = d, .pairs = 0 };
    struct vnet_ctrl_ring ring;
    struct vpci_queue *q;
    bool more = false;
    int n;

    process_work(d); /* DRIVER_OK's start first: the command may switch its rings */
    pthread_mutex_lock(&d->lock);
    q = &d->q[d->ctrl_q];
    if (!(d->status & VPCI_S_DRIVER_OK) || d->resetting || d->failed || !q->enabled) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    ring = (struct vnet_ctrl_ring){ .desc = q->desc,
                                    .avail = q->avail,
                                    .used = q->used,
                                    .size = q->size,
                                    .last_avail = d->ctrl_avail,
                                    .event_idx =
                                        d->driver_features & (1ull << VIRTIO_RING_F_EVENT_IDX) };
    n = vnet_ctrl_process(d->ctx->mem, &ring, ctrl_command, &req);
    d->ctrl_avail = ring.last_avail;
    if (n > 0)
        vpci_queue_signalled(d, (uint16_t)d->ctrl_q);
    if (n >= 0)
        more = vnet_ctrl_pending(d->ctx->mem, &ring);
    pthread_mutex_unlock(&d->lock);
    if (n < 0)
        vpci_vu_needs_reset(d, "malformed control queue");
    if (req.pairs)
        set_pairs(d, req.pairs);
    if (more) {
        uint64_t one = 1;

        (void)!write(q->kick_fd, &one, sizeof(one)); /* come back after the other devices */
    }
}

static void refresh_config(struct vpci_dev *d)
{
    uint8_t buf[VPCI_CONFIG_MAX];
    int r = vu_fe_get_config(&d->fe, 0, buf, d->config_len);

    if (r) {
        vpci_vu_fail(d, "failed GET_CONFIG", r);
        return;
    }
    pthread_mutex_lock(&d->lock);
    /* A driver write not yet sent (SET_CONFIG pending) is newer than what the backend said. */
    if (d->work & VPCI_WORK_CONFIG && d->cfg_hi <= d->config_len && d->cfg_lo < d->cfg_hi)
        memcpy(buf + d->cfg_lo, d->config + d->cfg_lo, d->cfg_hi - d->cfg_lo);
    memcpy(d->config, buf, d->config_len);
    vpci_raise_config(d);
    pthread_mutex_unlock(&d->lock);
}

static int grow(struct vpci_worker *w, size_t need)
{
    struct pollfd *p;
    struct vpci_dev **pd;
    int16_t *pq;

    if (need <= w->cap)
        return 0;
    p = realloc(w->pfd, need * sizeof(*p));
    if (p)
        w->pfd = p;
    pd = realloc(w->pdev, need * sizeof(*pd));
    if (pd)
        w->pdev = pd;
    pq = realloc(w->pq, need * sizeof(*pq));
    if (pq)
        w->pq = pq;
    if (!p || !pd || !pq)
        return -ENOMEM;
    w->cap = need;
    return 0;
}

static size_t add_pfd(struct vpci_worker *w, size_t n, int fd, short ev, struct vpci_dev *d,
                      int16_t q)
{
    w->pfd[n] = (struct pollfd){ .fd = fd, .events = ev };
    w->pdev[n] = d;
    w->pq[n] = q;
    return n + 1;
}

/* The wake fd, every live backend's socket and channel, and the call fds nobody else reads. */
static size_t build_pollset(struct vpci_worker *w)
{
    size_t n = add_pfd(w, 0, w->wake_fd, POLLIN, NULL, 0);

    for (size_t i = 0; i < w->n; i++) {
        struct vpci_dev *d = w->devs[i];

        pthread_mutex_lock(&d->lock);
        if (d->local) {
            if ((d->status & VPCI_S_DRIVER_OK) && !d->resetting && d->q[0].enabled)
                n = add_pfd(w, n, d->q[0].kick_fd, POLLIN, d, PQ_CTRL_KICK);
        } else if (!d->failed && !d->rc.disconnected) {
            n = add_pfd(w, n, d->fe.sock, POLLRDHUP, d, -2);
            if (d->fe.backend_req_fd >= 0)
                n = add_pfd(w, n, d->fe.backend_req_fd, POLLIN, d, -1);
            if (d->virtio_id == VIRTIO_ID_NET && d->ctrl_q >= 0 && (d->status & VPCI_S_DRIVER_OK) &&
                d->q[d->ctrl_q].enabled)
                n = add_pfd(w, n, d->q[d->ctrl_q].kick_fd, POLLIN, d, PQ_CTRL_KICK);
            for (uint16_t q = 0; q < d->nqueues; q++)
                if (d->q[q].started && d->q[q].irq_gsi == GSI_NONE &&
                    d->q[q].vector != MSIX_NO_VECTOR)
                    n = add_pfd(w, n, d->q[q].call_fd, POLLIN, d, (int16_t)q);
        }
        pthread_mutex_unlock(&d->lock);
    }
    return n;
}

static void drain(int fd)
{
    uint64_t v;

    (void)!read(fd, &v, sizeof(v));
}

static void handle(struct vpci_worker *w, size_t i)
{
    struct vpci_dev *d = w->pdev[i];
    short re = w->pfd[i].revents;
    bool changed = false;

    if (!re || !d)
        return;
    if (w->pq[i] == -2) {
        vpci_vu_fail(d, "disconnected", 0);
    } else if (w->pq[i] == PQ_CTRL_KICK) {
        drain(w->pfd[i].fd);
        if (d->local)
            d->local->serve(d->local->arg, d);
        else
            serve_ctrl(d);
    } else if (w->pq[i] == -1) {
        d->fe.config_changed = config_changed;
        d->fe.opaque = &changed;
        if (vu_fe_handle_backend_req(&d->fe)) {
            close(d->fe.backend_req_fd); /* the channel only: the device goes on */
            d->fe.backend_req_fd = -1;
        }
        d->fe.config_changed = NULL;
        if (changed && d->config_len)
            refresh_config(d);
    } else {
        drain(w->pfd[i].fd);
        pthread_mutex_lock(&d->lock);
        vpci_queue_signalled(d, (uint16_t)w->pq[i]);
        pthread_mutex_unlock(&d->lock);
    }
}

/* The timers of core-served devices: what is due runs; the poll timeout until the next one
 * (ms, capped so it fits poll), or -1 when none waits. */
static int run_ticks(struct vpci_worker *w)
{
    int64_t next = -1;

    for (size_t i = 0; i < w->n; i++) {
        const struct vpci_local *l = w->devs[i]->local;
        int64_t t;

        if (!l || !l->tick)
            continue;
        t = l->tick(l->arg, w->devs[i]);
        if (t >= 0 && (next < 0 || t < next))
            next = t;
    }
    return next < 0 ? -1 : next > INT32_MAX ? INT32_MAX : (int)next;
}

static void *worker_main(void *arg)
{
    struct vpci_worker *w = arg;

    while (!atomic_load(&w->quit)) {
        size_t n;
        int timeout;

        for (size_t i = 0; i < w->n; i++) {
            vpci_rc_poll(w, w->devs[i]); /* a replacement's connection first, then its work */
            process_work(w->devs[i]);
        }
        vpci_pause_work(w);
        timeout = run_ticks(w);
        n = build_pollset(w);
        if (poll(w->pfd, n, timeout) < 0 && errno != EINTR)
            break;
        if (w->pfd[0].revents)
            drain(w->wake_fd);
        for (size_t i = 1; i < n; i++)
            handle(w, i);
    }
    return NULL;
}

int vpci_worker_init(struct vpci_worker *w, struct vpci_ctx *ctx, struct vpci_dev **devs, size_t n,
                     size_t cap)
{
    memset(w, 0, sizeof(*w));
    atomic_init(&w->quit, false);
    atomic_init(&w->pause_req, 0);
    atomic_init(&w->pause_dev, -1);
    atomic_init(&w->vm_paused, false);
    w->devs = devs;
    w->cap_devs = cap > n ? cap : n;
    w->paused = calloc(w->cap_devs ? w->cap_devs : 1, sizeof(*w->paused));
    if (!w->paused)
        return -ENOMEM;
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0)
        return -errno;
    ctx->wake_fd = w->wake_fd;
    return vpci_worker_update(w, n, SIZE_MAX);
}

int vpci_worker_update(struct vpci_worker *w, size_t n, size_t removed)
{
    int r;

    if (n > w->cap_devs)
        return -ENOSPC;
    /* Per device: socket, channel and every queue's call fd (or the control queue's kick). */
    r = grow(w, 1 + n * (2 + VPCI_MAX_QUEUES));
    if (r)
        return r;
    if (removed < w->n) {
        memmove(&w->paused[removed], &w->paused[removed + 1],
                (w->n - removed - 1) * sizeof(w->paused[0]));
    }
    for (size_t i = removed < w->n ? w->n - 1 : w->n; i < n; i++)
        memset(&w->paused[i], 0, sizeof(w->paused[i])); /* a new device: no ring stopped */
    w->n = n;
    return 0;
}

int vpci_worker_start(struct vpci_worker *w)
{
    int r;

    if (w->running)
        return 0;
    atomic_store(&w->quit, false);
    r = vm_thread_start(&w->thread, worker_main, w);
    if (r)
        return r;
    w->running = true;
    return 0;
}

void vpci_worker_stop(struct vpci_worker *w)
{
    uint64_t one = 1;

    if (!w->running)
        return;
    atomic_store(&w->quit, true);
    (void)!write(w->wake_fd, &one, sizeof(one));
    pthread_join(w->thread, NULL);
    w->running = false;
}

void vpci_worker_destroy(struct vpci_worker *w)
{
    vpci_worker_stop(w);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    free(w->pfd);
    free(w->pdev);
    free(w->pq);
    free(w->paused);
    w->paused = NULL;
    w->wake_fd = -1;
}

int vpci_reset_all(struct vpci_worker *w, char *err, size_t errlen)
{
    for (size_t i = 0; i < w->n; i++) {
        struct vpci_dev *d = w->devs[i];

        pthread_mutex_lock(&d->lock);
        vpci_reset_transport(d, true);
        pthread_mutex_unlock(&d->lock);
    }
    for (size_t i = 0; i < w->n; i++) {
        struct vpci_dev *d = w->devs[i];
        bool failed;

        pthread_mutex_lock(&d->lock);
        /* Bounded by the backend: a dead one fails its request, which sets failed; without a
         * backend only the stop is done (virtio_pci_rc.c), the rest waits for a new one. */
        while ((d->busy || (d->work & VPCI_WORK_STOP) || (d->work && !d->rc.disconnected)) &&
               !d->failed && w->running)
            pthread_cond_wait(&d->idle, &d->lock);
        failed = d->failed;
        pthread_mutex_unlock(&d->lock);
        if (failed) {
            snprintf(err, errlen, "device %s did not come back from the reset", d->id);
            return -EIO;
        }
    }
    return 0;
}
