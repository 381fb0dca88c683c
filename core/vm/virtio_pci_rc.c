#include "core/vm/virtio_pci_rc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/vhost_user.h"
#include "ipc/vu_inflight.h"

#define VIRTIO_ID_NET      1
#define VIRTIO_ID_VSOCK    19
#define VIRTIO_NET_F_MQ    22
#define VRING_DESC_F_WRITE 2
/* virtio-vsock event id: the guest drops its connections and reads the CID again. */
#define VSOCK_EVENT_TRANSPORT_RESET 0

int vpci_rc_post(struct vpci_dev *d, int sock)
{
    uint64_t one = 1;

    pthread_mutex_lock(&d->lock);
    if (!d->rc.managed || d->failed) {
        pthread_mutex_unlock(&d->lock);
        close(sock);
        return -ENODEV;
    }
    if (d->rc.new_sock >= 0)
        close(d->rc.new_sock); /* an older replacement that never got its turn */
    d->rc.new_sock = sock;
    pthread_mutex_unlock(&d->lock);
    (void)!write(d->ctx->wake_fd, &one, sizeof(one));
    return 0;
}

/* Lock held: every started ring becomes a lost one. */
static void mark_lost(struct vpci_dev *d)
{
    for (uint16_t i = 0; i < d->nqueues; i++) {
        if (!d->q[i].started)
            continue;
        d->q[i].started = false;
        d->rc.lost_rings |= 1ull << i;
    }
}

void vpci_rc_lost(struct vpci_dev *d, const char *what, int r)
{
    uint64_t one = 1;
    char why[160];
    bool unsafe;

    pthread_mutex_lock(&d->lock);
    if (d->rc.disconnected) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->rc.disconnected = true;
    unsafe = d->backend_dirty && d->rc.inflight_fd < 0;
    mark_lost(d);
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
    /* Features and protocol features stay in d->fe: the replacement must match them. */
    vu_fe_close(&d->fe);
    (void)!write(d->ctx->wake_fd, &one, sizeof(one)); /* queued work goes to hold_work */
    snprintf(why, sizeof(why), "%s%s%s", what, r ? ": " : "", r ? strerror(-r) : "");
    if (atomic_load(&d->ctx->ending)) {
        /* The controller stops the device processes once the core has said the VM ended. */
        log_debug(d->ctx->log, "%s: vhost-user backend %s as the VM ends", d->id, why);
        return;
    }
    log_warn(d->ctx->log, "%s: vhost-user backend %s; waiting for %s", d->id, why,
             d->rc.external ? "it to come back" : "its replacement");
    if (unsafe)
        log_warn(d->ctx->log,
                 "%s: the backend kept no inflight region (no INFLIGHT_SHMFD): requests it had "
                 "in flight are lost",
                 d->id);
    if (d->rc.external && d->ctx->lost)
        d->ctx->lost(d->ctx->lost_arg, d->id, why);
}

bool vpci_rc_hold_work(struct vpci_dev *d)
{
    pthread_mutex_lock(&d->lock);
    if (!d->rc.disconnected) {
        pthread_mutex_unlock(&d->lock);
        return false;
    }
    if (d->work & VPCI_WORK_STOP) {
        /* A guest reset: the replacement will start from power-on, as a reset backend would. */
        d->work &= ~(unsigned)VPCI_WORK_STOP;
        d->rc.lost_rings = 0;
        d->rc.pairs = 0;
        d->backend_dirty = false;
        d->status = 0;
        d->resetting = false;
        if (d->rc.inflight_fd >= 0)
            close(d->rc.inflight_fd);
        d->rc.inflight_fd = -1;
    }
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
    return true;
}

bool vpci_rc_skip_pause(struct vpci_dev *d, struct vpci_paused *ps, bool stop)
{
    bool gone;

    pthread_mutex_lock(&d->lock);
    gone = d->rc.disconnected;
    if (gone && !stop) {
        d->rc.lost_rings |= ps->rings;
        ps->rings = 0;
    }
    pthread_mutex_unlock(&d->lock);
    return gone;
}

void vpci_rc_inflight_get(struct vpci_dev *d, uint16_t queue_size)
{
    uint16_t nq = d->ctrl_q >= 0 ? (uint16_t)d->ctrl_q : d->nqueues;
    uint64_t size = 0;
    int fd = -1, r;

    if (!d->rc.managed || d->rc.inflight_fd >= 0 || !queue_size ||
        (queue_size & (queue_size - 1)) ||
        !(d->fe.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)))
        return;
    r = vu_fe_get_inflight_fd(&d->fe, nq, queue_size, &fd, &size);
    if (r) {
        log_info(d->ctx->log, "%s: no inflight region (%s): a backend crash loses requests", d->id,
                 strerror(-r));
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->rc.inflight_fd = fd;
    d->rc.inflight_size = size;
    d->rc.inflight_nq = nq;
    d->rc.inflight_qs = queue_size;
    pthread_mutex_unlock(&d->lock);
}

void vpci_rc_inflight_drop(struct vpci_dev *d)
{
    pthread_mutex_lock(&d->lock);
    if (d->rc.inflight_fd >= 0)
        close(d->rc.inflight_fd);
    d->rc.inflight_fd = -1;
    pthread_mutex_unlock(&d->lock);
}

void vpci_rc_destroy(struct vpci_dev *d)
{
    if (d->rc.new_sock >= 0)
        close(d->rc.new_sock);
    if (d->rc.inflight_fd >= 0)
        close(d->rc.inflight_fd);
    d->rc.new_sock = d->rc.inflight_fd = -1;
}

static uint16_t load16(const void *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

/*
 * Where ring i resumes: vu_inflight_ring_base on a copy of the ring's inflight record (the used
 * index in guest memory plus the heads still in flight). Without a valid inflight record:
 * *paused_base (what the backend said when a pause stopped the ring) if given, else the used
 * index (what was in flight is lost).
 */
static uint16_t ring_base(struct vpci_dev *d, uint16_t i, const struct vpci_queue *q,
                          const uint16_t *paused_base)
{
    const struct guest_mem *m = d->ctx->mem;
    const uint8_t *used = guest_mem_ptr(m, q->used, 4 + 8ull * q->size);
    uint16_t qs = d->rc.inflight_qs, now, base;
    uint64_t per = vu_inflight_queue_bytes(qs);
    uint16_t fallback;
    uint8_t *buf;

    if (!used)
        return paused_base ? *paused_base : 0;
    now = load16(used + 2);
    fallback = paused_base ? *paused_base : now;
    if (d->rc.inflight_fd < 0 || i >= d->rc.inflight_nq || q->size != qs)
        return fallback;
    buf = malloc(per);
    if (!buf || pread(d->rc.inflight_fd, buf, per, (off_t)(per * i)) != (ssize_t)per) {
        free(buf);
        return fallback;
    }
    base = vu_inflight_ring_base(buf, used, now, qs);
    free(buf);
    return base;
}

/* Tells a vsock driver its transport was reset (streams of the old backend are gone): one
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue the core keeps. Lock held. */
static void vsock_reset_event(struct vpci_dev *d)
{
    const struct guest_mem *m = d->ctx->mem;
    struct vpci_queue *q;
    uint16_t head, uidx, qs;
    const uint8_t *avail, *desc;
    uint8_t *used, *buf;
    uint64_t addr;
    uint32_t len, ev = VSOCK_EVENT_TRANSPORT_RESET, one = 4;
    uint16_t flags;

    if (d->virtio_id != VIRTIO_ID_VSOCK || d->ctrl_q < 0 || !(d->status & VPCI_S_DRIVER_OK))
        return;
    q = &d->q[d->ctrl_q];
    qs = q->size;
    avail = guest_mem_ptr(m, q->avail, 4 + 2ull * qs);
    used = guest_mem_ptr(m, q->used, 4 + 8ull * qs);
    if (!q->enabled || !qs || (qs & (qs - 1)) || !avail || !used ||
        load16(avail + 2) == d->ctrl_avail) {
        log_warn(d->ctx->log, "%s: no event buffer for the transport reset", d->id);
        return;
    }
    head = load16(avail + 4 + 2u * (d->ctrl_avail & (qs - 1)));
    desc = head < qs ? guest_mem_ptr(m, q->desc + 16ull * head, 16) : NULL;
    if (!desc)
        return;
    memcpy(&addr, desc, 8);
    memcpy(&len, desc + 8, 4);
    memcpy(&flags, desc + 12, 2);
    buf = (flags & VRING_DESC_F_WRITE) && len >= 4 ? guest_mem_ptr(m, addr, 4) : NULL;
    if (!buf)
        return;
    memcpy(buf, &ev, 4);
    uidx = load16(used + 2);
    memcpy(used + 4 + 8u * (uidx & (qs - 1)), &head, 2);
    memset(used + 4 + 8u * (uidx & (qs - 1)) + 2, 0, 2);
    memcpy(used + 8 + 8u * (uidx & (qs - 1)), &one, 4);
    __atomic_store_n((uint16_t *)(used + 2), (uint16_t)(uidx + 1), __ATOMIC_RELEASE);
    d->ctrl_avail++;
    vpci_queue_signalled(d, (uint16_t)d->ctrl_q);
    log_info(d->ctx->log, "%s: transport reset sent to the guest", d->id);
}

void vpci_rc_transport_reset(struct vpci_dev *d)
{
    pthread_mutex_lock(&d->lock);
    vsock_reset_event(d);
    pthread_mutex_unlock(&d->lock);
}

/* After a restart: requests the guest queued (and kicked into the void) and completions the
 * old backend made without an interrupt are looked at once more. */
static void nudge(const struct vpci_queue *q)
{
    uint64_t one = 1;

    (void)!write(q->kick_fd, &one, sizeof(one));
    (void)!write(q->call_fd, &one, sizeof(one));
}

static int restore_rings(struct vpci_worker *w, struct vpci_dev *d)
{
    bool paused = atomic_load(&w->vm_paused);
    bool bit30 = d->fe.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    struct vpci_paused *ps = NULL;
    uint64_t lost;
    int r = 0;

    for (size_t k = 0; k < w->n; k++)
        if (w->devs[k] == d)
            ps = &w->paused[k];
    pthread_mutex_lock(&d->lock);
    lost = d->rc.lost_rings;
    pthread_mutex_unlock(&d->lock);
    for (uint16_t i = 0; i < d->nqueues && !r; i++) {
        uint64_t bit = 1ull << i;
        bool was_paused = ps && (ps->rings & bit);
        bool on = d->virtio_id != VIRTIO_ID_NET || !d->rc.pairs || i / 2u < d->rc.pairs;
        struct vpci_queue q;
        struct vu_fe_vring v;

        if (!(lost & bit) && !(paused && was_paused))
            continue;
        pthread_mutex_lock(&d->lock);
        q = d->q[i];
        pthread_mutex_unlock(&d->lock);
        v = (struct vu_fe_vring){ .num = q.size, .kick_fd = q.kick_fd, .call_fd = q.call_fd };
        v.base = ring_base(d, i, &q, was_paused ? &ps->base[i] : NULL);
        if (paused && ps) {
            /* Set up but not kicked: the resume restarts it from here. */
            ps->rings |= bit;
            ps->base[i] = v.base;
            r = bit30 ? vu_fe_set_vring_enable(&d->fe, i, on) : 0;
            continue;
        }
        if (vpci_vu_ring_uvas(d, q.desc, q.avail, q.used, q.size, &v)) {
            vpci_vu_needs_reset(d, "a ring lies outside guest RAM");
            continue;
        }
        r = vu_fe_start_vring(&d->fe, i, &v);
        if (!r && bit30 && !on)
            r = vu_fe_set_vring_enable(&d->fe, i, false);
        if (!r) {
            vpci_vu_set_started(d, i, true);
            nudge(&q);
        }
    }
    return r;
}

/* The new connection's opening; then, if the driver had started the device, everything the old
 * backend held. 0 or -errno. */
static int reconnect(struct vpci_worker *w, struct vpci_dev *d, int sock)
{
    uint64_t want_pf = d->fe.protocol_features, offered = 0, features;
    uint8_t cfg[VPCI_CONFIG_MAX];
    bool dirty;
    int r;

    d->iotlb_on = false; /* a new backend's IOTLB is empty until the replay below */
    vu_fe_init(&d->fe, sock);
    r = vu_fe_negotiate(&d->fe, want_pf, &offered);
    if (r)
        return r;
    if (d->fe.protocol_features != want_pf)
        return -EPROTO; /* the replacement lacks what its predecessor offered */
    if (d->config_len && (want_pf & (1ull << VHOST_USER_PROTOCOL_F_CONFIG))) {
        r = vu_fe_get_config(&d->fe, 0, cfg, d->config_len);
        if (r)
            return r;
        pthread_mutex_lock(&d->lock);
        if (memcmp(cfg, d->config, d->config_len)) {
            memcpy(d->config, cfg, d->config_len);
            vpci_raise_config(d);
        }
        pthread_mutex_unlock(&d->lock);
    }
    pthread_mutex_lock(&d->lock);
    dirty = d->backend_dirty;
    features = d->driver_features & ~d->core_features;
    pthread_mutex_unlock(&d->lock);
    if (!dirty)
        return 0; /* the driver had not started it: DRIVER_OK's work does the rest */
    if (vu_fe_has_access_platform(&d->fe)) /* negotiate hides it from what a guest may see */
        offered |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
    if (features & ~offered)
        return -EPROTO;
    r = vu_fe_set_features(&d->fe, features);
    if (!r)
        r = vpci_vu_send_mem_table(d);
    if (!r && d->rc.inflight_fd >= 0)
        r = vu_fe_set_inflight_fd(&d->fe, d->rc.inflight_nq, d->rc.inflight_qs, d->rc.inflight_fd,
                                  d->rc.inflight_size);
    if (!r)
        r = vpci_vu_iotlb_replay(d);
    if (!r)
        r = restore_rings(w, d);
    return r;
}

void vpci_rc_poll(struct vpci_worker *w, struct vpci_dev *d)
{
    uint64_t features = d->fe.features, pf = d->fe.protocol_features;
    bool reply_ack = d->fe.reply_ack;
    int sock, r;

    pthread_mutex_lock(&d->lock);
    sock = d->rc.new_sock;
    d->rc.new_sock = -1;
    pthread_mutex_unlock(&d->lock);
    if (sock < 0)
        return;
    if (!d->rc.disconnected) /* replaced before its hang-up reached us */
        vpci_rc_lost(d, "was replaced", 0);
    r = reconnect(w, d, sock);
    pthread_mutex_lock(&d->lock);
    if (r) {
        mark_lost(d); /* rings restarted before the failure wait for the next replacement */
    } else {
        d->rc.disconnected = false;
        d->rc.lost_rings = 0;
        vsock_reset_event(d);
    }
    pthread_mutex_unlock(&d->lock);
    if (r) {
        vu_fe_close(&d->fe);
        d->fe.features = features;
        d->fe.protocol_features = pf;
        d->fe.reply_ack = reply_ack;
        log_warn(d->ctx->log, "%s: the replacement backend failed its reconnection: %s", d->id,
                 strerror(-r));
    } else {
        log_info(d->ctx->log, "%s: reconnected to the replacement backend", d->id);
    }
    if (d->ctx->reconnected)
        d->ctx->reconnected(d->ctx->reconnected_arg, d->id, r);
}
