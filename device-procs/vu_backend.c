#include "device-procs/vu_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "device-procs/devmem_guard.h"
#include "device-procs/vu_backend_priv.h"

/* Protocol features the runtime implements for every device. BACKEND_REQ goes with
 * ACCESS_PLATFORM (a frontend, QEMU too, wants it and REPLY_ACK for an IOMMU); the channel
 * carries CONFIG_CHANGE_MSG only when CONFIG is negotiated. */
#define BASE_PF                                                                                 \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |           \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                                      \
     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |                                           \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) | (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) | \
     (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ))
/* Features a device may add on top; anything else in ops is ignored. */
#define DEVICE_PF (1ull << VHOST_USER_PROTOCOL_F_CONFIG)
/* Transport features the runtime handles itself: devices never see them in set_features. */
#define RUNTIME_F                                                                \
    ((1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VHOST_USER_F_LOG_ALL) | \
     (1ull << VIRTIO_F_ACCESS_PLATFORM))

struct vu_backend *vu_backend_new(const struct devproc_ops *ops, void *dev)
{
    struct vu_backend *b;

    if (!ops->max_queues || !ops->start_queue || !ops->stop_queue)
        return NULL;
    /* Before any guest memory is mapped; a process without it dies on a truncated file. */
    if (devmem_guard_install() < 0)
        return NULL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->q = calloc(ops->max_queues, sizeof(*b->q));
    if (!b->q || iotlb_init(&b->iotlb)) {
        free(b->q);
        free(b);
        return NULL;
    }
    b->ops = ops;
    b->dev = dev;
    b->nqueues = ops->max_queues;
    /* LOG_ALL: every write into guest memory goes through virtq.c, which logs it.
     * ACCESS_PLATFORM: virtq.c translates every ring and buffer address through the IOTLB;
     * a frontend that does not ack it sees guest-physical translation as before. */
    b->offered = ops->features | RUNTIME_F;
    b->offered_pf = BASE_PF | (ops->protocol_features & DEVICE_PF);
    if (!ops->get_config)
        b->offered_pf &= ~(1ull << VHOST_USER_PROTOCOL_F_CONFIG);
    /* DEVICE_STATE only for a device that can both save and load. */
    if (ops->save_state && ops->load_state)
        b->offered_pf |= 1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE;
    b->backend_req_fd = -1;
    b->inflight_guard = -1;
    b->xfer.fd = -1;
    devmem_init(&b->mem);
    b->mem.keep_fds = ops->keep_mem_fds;
    for (uint16_t i = 0; i < b->nqueues; i++) {
        virtq_init(&b->q[i].vq, i);
        b->q[i].err_fd = -1;
    }
    return b;
}

void vu_backend_free(struct vu_backend *b)
{
    if (!b)
        return;
    vu_backend_disconnect(b);
    iotlb_destroy(&b->iotlb);
    free(b->q);
    free(b);
}

void vu_backend_disconnect(struct vu_backend *b)
{
    vub_xfer_abort(b);
    vub_ring_teardown(b);
    /* A new frontend sends its whole table again. */
    iotlb_clear(&b->iotlb);
    if (b->backend_req_fd >= 0)
        close(b->backend_req_fd);
    b->backend_req_fd = -1;
    b->features = b->pf = 0;
    b->features_set = false;
    for (uint16_t i = 0; i < b->nqueues; i++)
        b->q[i].enabled = false;
    if (b->ops->reset)
        b->ops->reset(b->dev);
}

bool vu_backend_suspended(const struct vu_backend *b)
{
    for (uint16_t i = 0; i < b->nqueues; i++)
        if (b->q[i].running)
            return false;
    return true;
}

const struct virtq *vu_backend_queue(const struct vu_backend *b, uint16_t idx)
{
    return idx < b->nqueues ? &b->q[idx].vq : NULL;
}

int vu_backend_config_changed(struct vu_backend *b)
{
    struct vu_msg m;

    if (b->backend_req_fd < 0 || !vub_has_pf(b, VHOST_USER_PROTOCOL_F_CONFIG))
        return 0;
    /* No NEED_REPLY: waiting here could deadlock against a frontend waiting on us. */
    vu_msg_init(&m, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 0, 0);
    return vu_msg_send(b->backend_req_fd, &m, NULL, 0);
}

static int set_features(struct vu_backend *b, uint64_t f)
{
    const uint64_t log_all = 1ull << VHOST_USER_F_LOG_ALL;
    bool proto = f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    bool only_log = b->features_set && !((f ^ b->features) & ~log_all);
    int r;

    if (f & ~b->offered)
        return -EINVAL;
    /* Features change under running queues only for LOG_ALL (a migration starting or ending):
     * the queues stop and restart around it so each picks the log up or drops it. */
    for (uint16_t i = 0; i < b->nqueues; i++)
        if (b->q[i].running && !only_log)
            return -EBUSY;
    if (b->ops->set_features && !only_log) {
        r = b->ops->set_features(b->dev, f & ~RUNTIME_F);
        if (r)
            return r;
    }
    if ((f ^ b->features) & log_all)
        vub_stop_all(b);
    b->features = f;
    b->features_set = true;
    /* Without bit 30 every ring is enabled at once; SET_FEATURES never disables one. */
    if (!proto)
        for (uint16_t i = 0; i < b->nqueues; i++)
            b->q[i].enabled = true;
    return vub_sync_all(b);
}

static int get_config(struct vu_backend *b, struct vu_msg *m, uint32_t *reply_size)
{
    struct vu_config *c = &m->p.config;
    int r = -EINVAL;

    if (vub_has_pf(b, VHOST_USER_PROTOCOL_F_CONFIG) && c->size &&
        c->offset <= b->ops->config_size && c->size <= b->ops->config_size - c->offset)
        r = b->ops->get_config(b->dev, c->region, c->offset, c->size);
    /* The protocol's failure answer: a reply carrying no config bytes. */
    if (r) {
        c->size = 0;
        *reply_size = VU_CONFIG_HDR_SIZE;
        return 0;
    }
    *reply_size = VU_CONFIG_HDR_SIZE + c->size;
    return 0;
}

static int set_config(struct vu_backend *b, const struct vu_config *c)
{
    if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_CONFIG) || !b->ops->set_config)
        return -ENOTSUP;
    if (c->flags > VHOST_USER_CONFIG_MIGRATION || !c->size || c->offset > b->ops->config_size ||
        c->size > b->ops->config_size - c->offset)
        return -EINVAL;
    return b->ops->set_config(b->dev, c->region, c->offset, c->size, c->flags);
}

static int reset_device(struct vu_backend *b)
{
    vub_xfer_abort(b);
    for (uint16_t i = 0; i < b->nqueues; i++)
        vub_reset_queue(b, i);
    /* Ownership, protocol features, memory, the IOTLB and the backend channel stay. */
    b->features = 0;
    b->features_set = false;
    for (uint16_t i = 0; i < b->nqueues; i++)
        b->q[i].enabled = false;
    if (b->ops->reset)
        b->ops->reset(b->dev);
    return 0;
}

/* Handles one checked request. Fills the reply if the request has one. */
static int dispatch(struct vu_backend *b, struct vu_msg *m, int *fds, size_t nfds,
                    uint32_t *reply_size, int *reply_fd)
{
    switch (m->hdr.request) {
    case VHOST_USER_GET_FEATURES:
        m->p.u64 = b->offered;
        *reply_size = 8;
        return 0;
    case VHOST_USER_SET_FEATURES:
        return set_features(b, m->p.u64);
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        m->p.u64 = b->offered_pf;
        *reply_size = 8;
        return 0;
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        if (m->p.u64 & ~b->offered_pf)
            return -EINVAL;
        b->pf = m->p.u64;
        return 0;
    case VHOST_USER_SET_OWNER:
        return 0;
    case VHOST_USER_RESET_OWNER: /* deprecated: same as a device reset */
    case VHOST_USER_RESET_DEVICE:
        return reset_device(b);
    case VHOST_USER_GET_QUEUE_NUM:
        m->p.u64 = b->nqueues;
        *reply_size = 8;
        return 0;
    case VHOST_USER_GET_CONFIG:
        return get_config(b, m, reply_size);
    case VHOST_USER_SET_CONFIG:
        return set_config(b, &m->p.config);
    case VHOST_USER_SET_BACKEND_REQ_FD:
        if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_BACKEND_REQ))
            return -EPROTO;
        if (b->backend_req_fd >= 0)
            close(b->backend_req_fd);
        b->backend_req_fd = fds[0];
        fds[0] = -1;
        return 0;
    case VHOST_USER_SET_DEVICE_STATE_FD:
    case VHOST_USER_CHECK_DEVICE_STATE:
        return vub_state_request(b, m, fds, reply_size);
    case VHOST_USER_IOTLB_MSG:
        return vub_iotlb_msg(b, &m->p.iotlb);
    default:
        return vub_ring_request(b, m, fds, nfds, reply_size, reply_fd);
    }
}

/* Requests whose answer is part of the protocol, not an ack. */
static bool always_replies(uint32_t req)
{
    switch (req) {
    case VHOST_USER_GET_FEATURES:
    case VHOST_USER_GET_PROTOCOL_FEATURES:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_GET_QUEUE_NUM:
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_GET_INFLIGHT_FD:
    case VHOST_USER_GET_MAX_MEM_SLOTS:
    case VHOST_USER_SET_DEVICE_STATE_FD:
    case VHOST_USER_CHECK_DEVICE_STATE:
        return true;
    default:
        return false;
    }
}

int vu_backend_handle(struct vu_backend *b, int sock)
{
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;
    struct vu_msg m;
    uint32_t reply_size = 0;
    int reply_fd = -1;
    const char *why = NULL;
    bool need_reply;
    int r;

    memset(&m, 0, sizeof(m));
    r = vu_msg_recv(sock, &m, fds, &nfds);
    if (r == 0)
        return -EPIPE;
    if (r < 0)
        return r;
    r = vu_msg_check_request(&m, nfds, &why);
    if (r) {
        fprintf(stderr, "vhost-user: %s (%u): %s\n", vu_request_name(m.hdr.request), m.hdr.request,
                why);
        goto out;
    }
    need_reply = (m.hdr.flags & VHOST_USER_FLAG_NEED_REPLY) &&
                 vub_has_pf(b, VHOST_USER_PROTOCOL_F_REPLY_ACK);
    /* SET_LOG_BASE with its fd is answered either way (QEMU, DPDK and libvhost-user do, and a
     * frontend waits for it before it relies on the log): a u64, 0 mapped, 1 refused. */
    if (m.hdr.request == VHOST_USER_SET_LOG_BASE)
        need_reply = true;
    r = dispatch(b, &m, fds, nfds, &reply_size, &reply_fd);
    if (always_replies(m.hdr.request)) {
        /* A GET that cannot be answered leaves the frontend waiting: drop it instead. */
        if (r)
            goto out;
        vu_msg_init(&m, m.hdr.request, VHOST_USER_FLAG_REPLY, reply_size);
        r = vu_msg_send(sock, &m, reply_fd >= 0 ? &reply_fd : NULL, reply_fd >= 0);
        goto out;
    }
    if (r)
        fprintf(stderr, "vhost-user: %s refused: %s\n", vu_request_name(m.hdr.request),
                strerror(-r));
    if (need_reply) {
        uint32_t req = m.hdr.request;

        m.p.u64 = r ? 1 : 0;
        vu_msg_init(&m, req, VHOST_USER_FLAG_REPLY, 8);
        /* The failure went to the frontend; the connection itself is fine. */
        r = vu_msg_send(sock, &m, NULL, 0);
    }
out:
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (reply_fd >= 0)
        close(reply_fd);
    return r;
}
