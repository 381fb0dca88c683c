#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "device-procs/devmem_guard.h"
#include "device-procs/devmem_sys.h"
#include "device-procs/vu_backend_priv.h"
#include "ipc/dirty_log.h"

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static bool should_run(const struct vu_backend *b, const struct vu_queue *q)
{
    return q->vq.num && q->addr_set && q->kick_set && q->enabled && b->mem.n;
}

void vub_stop_queue(struct vu_backend *b, uint16_t i)
{
    struct vu_queue *q = &b->q[i];

    if (!q->running)
        return;
    b->ops->stop_queue(b->dev, i);
    q->running = false;
    inflight_detach(&q->vq);
}

static int attach_inflight(struct vu_backend *b, uint16_t i)
{
    struct vu_queue *q = &b->q[i];
    uint64_t per;
    int r;

    if (!b->inflight_base || i >= b->inflight_nq || q->vq.num != b->inflight_qs)
        return 0;
    per = inflight_queue_bytes(b->inflight_qs);
    r = inflight_attach(&q->vq, &q->inflight, (uint8_t *)b->inflight_base + per * i);
    /* Only after a predecessor died with requests taken: says that the region did its job. */
    if (!r && q->inflight.nresubmit)
        fprintf(stderr, "vhost-user: queue %u: resubmitting %u requests in flight\n", i,
                q->inflight.nresubmit);
    return r;
}

/*
 * Maps queue i's ring into vq. With ACCESS_PLATFORM the addresses are IOVAs: each part must be
 * mapped by the IOTLB, contiguous in host memory, and the used ring's guest-physical address
 * (*used_gpa, for the dirty log) comes from the translation rather than from the frontend.
 */
static int map_ring(struct vu_backend *b, uint16_t i, struct virtq *vq, uint64_t *used_gpa)
{
    struct vu_queue *q = &b->q[i];
    int r;

    if (!vub_iotlb_on(b))
        return virtq_map(vq, &b->mem, q->desc_uva, q->avail_uva, q->used_uva);
    r = virtq_map_iotlb(vq, &b->mem, &b->iotlb, q->desc_uva, q->avail_uva, q->used_uva, used_gpa);
    if (r && !q->unmapped)
        fprintf(stderr,
                "vhost-user: queue %u: ring at IOVA desc 0x%llx avail 0x%llx used 0x%llx (size %u) "
                "is not mapped by the IOTLB with the access it needs, contiguously in memory: "
                "the queue cannot start (%s)\n",
                i, (unsigned long long)q->desc_uva, (unsigned long long)q->avail_uva,
                (unsigned long long)q->used_uva, vq->num, strerror(-r));
    q->unmapped = r != 0;
    return r;
}

int vub_sync_queue(struct vu_backend *b, uint16_t i)
{
    struct vu_queue *q = &b->q[i];
    uint64_t used_gpa;
    int r;

    if (!should_run(b, q)) {
        vub_stop_queue(b, i);
        return 0;
    }
    if (q->running)
        return 0;
    used_gpa = q->log_gpa;
    r = map_ring(b, i, &q->vq, &used_gpa);
    if (r)
        return r;
    q->vq.event_idx = b->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
    q->vq.log = (struct virtq_log){ .base = vub_logging(b) ? b->log_base : NULL,
                                    .size = b->log_size,
                                    .used = q->log_used,
                                    .used_gpa = used_gpa };
    q->vq.indirect = b->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
    virtq_prepare(&q->vq);
    r = attach_inflight(b, i);
    if (r)
        return r;
    r = b->ops->start_queue(b->dev, i, &q->vq);
    if (r) {
        inflight_detach(&q->vq);
        return r;
    }
    q->running = true;
    return 0;
}

void vub_stop_all(struct vu_backend *b)
{
    for (uint16_t i = 0; i < b->nqueues; i++)
        vub_stop_queue(b, i);
}

int vub_sync_all(struct vu_backend *b)
{
    int first = 0;

    for (uint16_t i = 0; i < b->nqueues; i++) {
        int r = vub_sync_queue(b, i);

        if (r && !first)
            first = r;
    }
    return first;
}

void vub_reset_queue(struct vu_backend *b, uint16_t i)
{
    struct vu_queue *q = &b->q[i];

    vub_stop_queue(b, i);
    close_fd(&q->vq.kick_fd);
    close_fd(&q->vq.call_fd);
    close_fd(&q->err_fd);
    virtq_init(&q->vq, i);
    q->addr_set = q->kick_set = q->running = q->unmapped = false;
    /* Without bit 30 rings are enabled as soon as they exist. */
    q->enabled = b->features_set && !(b->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
}

static int set_mem_table(struct vu_backend *b, const struct vu_mem_table *t, int *fds)
{
    int r = 0;

    vub_stop_all(b);
    devmem_clear(&b->mem);
    for (uint32_t i = 0; i < t->nregions; i++) {
        int fd = fds[i];

        fds[i] = -1;
        if (!r)
            r = devmem_add_fd(&b->mem, &t->regions[i], fd);
        else
            close(fd);
    }
    if (r) {
        devmem_clear(&b->mem);
        return r;
    }
    return vub_sync_all(b);
}

static int add_mem_reg(struct vu_backend *b, const struct vu_mem_region *reg, int *fd)
{
    int f = *fd, r, s;

    *fd = -1;
    if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
        close(f);
        return -EPROTO;
    }
    vub_stop_all(b);
    r = devmem_add_fd(&b->mem, reg, f);
    /* A refused region changes nothing: the queues stopped for it must run again. */
    s = vub_sync_all(b);
    return r ? r : s;
}

static int rem_mem_reg(struct vu_backend *b, const struct vu_mem_region *reg)
{
    int r;

    if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
        return -EPROTO;
    vub_stop_all(b);
    r = devmem_remove(&b->mem, reg);
    /* A ring left inside the removed region fails to map and stays stopped. */
    vub_sync_all(b);
    return r;
}

static struct vu_queue *queue_of(struct vu_backend *b, uint64_t index)
{
    return index < b->nqueues ? &b->q[index] : NULL;
}

static int set_vring_fd(struct vu_backend *b, const struct vu_msg *m, int *fds, size_t nfds)
{
    struct vu_queue *q = queue_of(b, m->p.u64 & VHOST_USER_VRING_IDX_MASK);
    uint16_t i;
    int fd = -1;

    if (!q)
        return -ERANGE;
    i = (uint16_t)(q - b->q);
    if (nfds) {
        fd = fds[0];
        fds[0] = -1;
    }
    switch (m->hdr.request) {
    case VHOST_USER_SET_VRING_KICK:
        if (fd < 0)
            return -ENOTSUP; /* polling mode: no device thread here polls rings */
        vub_stop_queue(b, i);
        close_fd(&q->vq.kick_fd);
        q->vq.kick_fd = fd;
        q->kick_set = true;
        return vub_sync_queue(b, i);
    case VHOST_USER_SET_VRING_CALL:
        /* The device thread may be signalling the old fd: swap it only while stopped. */
        if (q->running) {
            vub_stop_queue(b, i);
            close_fd(&q->vq.call_fd);
            q->vq.call_fd = fd;
            return vub_sync_queue(b, i);
        }
        close_fd(&q->vq.call_fd);
        q->vq.call_fd = fd;
        return 0;
    default:
        close_fd(&q->err_fd);
        q->err_fd = fd;
        return 0;
    }
}

static int vring_state(struct vu_backend *b, struct vu_msg *m, uint32_t *reply_size)
{
    struct vu_queue *q = queue_of(b, m->p.state.index);
    uint16_t i;

    if (!q)
        return -ERANGE;
    i = (uint16_t)(q - b->q);
    switch (m->hdr.request) {
    case VHOST_USER_SET_VRING_NUM:
        if (q->running)
            return -EBUSY;
        if (!m->p.state.num || m->p.state.num > VIRTQ_MAX_SIZE ||
            (m->p.state.num & (m->p.state.num - 1)))
            return -EINVAL;
        q->vq.num = (uint16_t)m->p.state.num;
        return 0;
    case VHOST_USER_SET_VRING_BASE:
        if (q->running)
            return -EBUSY;
        if (m->p.state.num > 0xffff)
            return -EINVAL;
        q->vq.last_avail_idx = (uint16_t)m->p.state.num;
        return 0;
    case VHOST_USER_GET_VRING_BASE:
        /* Stops the ring without resetting it: a new kick fd restarts it where it was. */
        vub_stop_queue(b, i);
        q->kick_set = false;
        close_fd(&q->vq.kick_fd);
        m->p.state.num = q->vq.last_avail_idx;
        *reply_size = sizeof(m->p.state);
        return 0;
    default: /* SET_VRING_ENABLE */
        if (m->p.state.num > 1)
            return -EINVAL;
        q->enabled = m->p.state.num;
        return vub_sync_queue(b, i);
    }
}

static int set_vring_addr(struct vu_backend *b, const struct vu_vring_addr *a)
{
    struct vu_queue *q = queue_of(b, a->index);
    struct virtq probe;
    uint64_t gpa;
    int r;

    if (!q)
        return -ERANGE;
    if (a->flags & ~VHOST_USER_VRING_F_LOG)
        return -EINVAL;
    /* Check now when memory is known, so the frontend hears about a bad ring early (with
     * ACCESS_PLATFORM it sends the ring's IOTLB updates before its address). */
    if (b->mem.n && q->vq.num) {
        probe = q->vq;
        if (vub_iotlb_on(b))
            r = virtq_map_iotlb(&probe, &b->mem, &b->iotlb, a->desc, a->avail, a->used, &gpa);
        else
            r = virtq_map(&probe, &b->mem, a->desc, a->avail, a->used);
        if (r) {
            if (vub_iotlb_on(b))
                fprintf(stderr,
                        "vhost-user: SET_VRING_ADDR %u: IOVA desc 0x%llx avail 0x%llx used 0x%llx "
                        "not mapped by the IOTLB (contiguously, with the access needed)\n",
                        a->index, (unsigned long long)a->desc, (unsigned long long)a->avail,
                        (unsigned long long)a->used);
            return -EFAULT;
        }
    }
    /* A running ring takes new addresses (the frontend switching its log flag at migration)
     * only stopped and restarted where it was. */
    vub_stop_queue(b, (uint16_t)(q - b->q));
    q->desc_uva = a->desc;
    q->avail_uva = a->avail;
    q->used_uva = a->used;
    q->log_used = a->flags & VHOST_USER_VRING_F_LOG;
    q->log_gpa = a->log;
    q->addr_set = true;
    return vub_sync_queue(b, (uint16_t)(q - b->q));
}

static bool any_running(const struct vu_backend *b)
{
    for (uint16_t i = 0; i < b->nqueues; i++)
        if (b->q[i].running)
            return true;
    return false;
}

static void drop_inflight(struct vu_backend *b)
{
    devmem_guard_remove(b->inflight_guard);
    b->inflight_guard = -1;
    devmem_sys_unmap(b->inflight_base, b->inflight_size);
    b->inflight_base = NULL;
    b->inflight_size = 0;
    b->inflight_nq = b->inflight_qs = 0;
}

static int inflight_shape(const struct vu_backend *b, const struct vu_inflight *in, uint64_t *size)
{
    if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))
        return -EPROTO;
    if (!in->num_queues || in->num_queues > b->nqueues || !in->queue_size ||
        in->queue_size > VIRTQ_MAX_SIZE || (in->queue_size & (in->queue_size - 1)))
        return -EINVAL;
    if (any_running(b))
        return -EBUSY;
    *size = inflight_queue_bytes(in->queue_size) * in->num_queues;
    return 0;
}

static int get_inflight(struct vu_backend *b, struct vu_msg *m, uint32_t *reply_size, int *reply_fd)
{
    uint64_t size;
    void *base = NULL;
    int fd = -1, r;

    r = inflight_shape(b, &m->p.inflight, &size);
    if (r)
        return r;
    r = devmem_sys_memfd("cellvm-inflight", size, &fd, &base);
    if (r)
        return r;
    drop_inflight(b);
    b->inflight_base = base;
    b->inflight_size = size;
    b->inflight_nq = m->p.inflight.num_queues;
    b->inflight_qs = m->p.inflight.queue_size;
    m->p.inflight.mmap_size = size;
    m->p.inflight.mmap_offset = 0;
    *reply_size = sizeof(m->p.inflight);
    *reply_fd = fd;
    return 0;
}

static int set_inflight(struct vu_backend *b, const struct vu_inflight *in, int *fds)
{
    const char *why = NULL;
    uint64_t size;
    void *base = NULL;
    int fd = fds[0], guard = -1, r;

    fds[0] = -1;
    r = inflight_shape(b, in, &size);
    if (!r && in->mmap_size < size)
        r = -EINVAL;
    /* Mapped as claimed, a file shorter than the queues need would SIGBUS the first queue that
       starts: check it the way guest memory is checked. */
    if (!r && (r = devmem_sys_check_fd(fd, in->mmap_offset, size, &why)) != 0)
        fprintf(stderr, "vhost-user: SET_INFLIGHT_FD: %s\n", why);
    if (!r)
        r = devmem_sys_map(fd, in->mmap_offset, size, &base);
    close(fd);
    /* A regular file may still be truncated later: only the buffer's contents are lost then. */
    if (!r && (guard = devmem_guard_add(base, size, NULL, "vhost-user: the inflight buffer")) < 0) {
        r = guard;
        devmem_sys_unmap(base, size);
    }
    if (r)
        return r;
    drop_inflight(b);
    b->inflight_base = base;
    b->inflight_size = size;
    b->inflight_guard = guard;
    b->inflight_nq = in->num_queues;
    b->inflight_qs = in->queue_size;
    return 0;
}

static void drop_log(struct vu_backend *b)
{
    devmem_guard_remove(b->log_guard);
    b->log_guard = -1;
    devmem_sys_unmap(b->log_base, b->log_size);
    b->log_base = NULL;
    b->log_size = 0;
}

/*
 * SET_LOG_BASE with LOG_SHMFD: maps the frontend's log (size bytes of the fd at offset) in place
 * of the old one, the queues stopped meanwhile so none writes to a log being unmapped. A size
 * of 0 or above DIRTY_LOG_MAX, an offset not page-aligned, a range past the end of its file,
 * an fd that cannot be mapped: refused, the old log kept.
 */
static int set_log_base(struct vu_backend *b, const struct vu_msg *m, int *fds, size_t nfds)
{
    const char *why = NULL;
    void *base = NULL;
    int fd, guard = -1, r = 0;
    uint64_t size, off;

    if (!nfds)
        return -EINVAL;
    fd = fds[0];
    fds[0] = -1;
    if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_LOG_SHMFD) || m->hdr.size != sizeof(m->p.log))
        r = -EPROTO;
    size = m->p.log.size;
    off = m->p.log.offset;
    if (!r && (!size || size > DIRTY_LOG_MAX || off % DIRTY_LOG_PAGE))
        r = -EINVAL;
    if (!r && (r = devmem_sys_check_fd(fd, off, size, &why)) != 0)
        fprintf(stderr, "vhost-user: SET_LOG_BASE: %s\n", why);
    if (!r)
        r = devmem_sys_map(fd, off, size, &base);
    close(fd);
    if (!r && (guard = devmem_guard_add(base, size, NULL, "vhost-user: the dirty log")) < 0) {
        r = guard;
        devmem_sys_unmap(base, size);
    }
    if (r)
        return r;
    vub_stop_all(b);
    drop_log(b);
    b->log_base = base;
    b->log_size = size;
    b->log_guard = guard;
    return vub_sync_all(b);
}

int vub_ring_request(struct vu_backend *b, struct vu_msg *m, int *fds, size_t nfds,
                     uint32_t *reply_size, int *reply_fd)
{
    switch (m->hdr.request) {
    case VHOST_USER_SET_MEM_TABLE:
        return set_mem_table(b, &m->p.mem, fds);
    case VHOST_USER_GET_MAX_MEM_SLOTS:
        m->p.u64 = DEVMEM_MAX_REGIONS;
        *reply_size = sizeof(m->p.u64);
        return 0;
    case VHOST_USER_ADD_MEM_REG:
        return add_mem_reg(b, &m->p.mem_reg.region, &fds[0]);
    case VHOST_USER_REM_MEM_REG:
        /* An fd here is allowed but meaningless: the caller closes it unused. */
        return rem_mem_reg(b, &m->p.mem_reg.region);
    case VHOST_USER_SET_VRING_NUM:
    case VHOST_USER_SET_VRING_BASE:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_SET_VRING_ENABLE:
        return vring_state(b, m, reply_size);
    case VHOST_USER_SET_VRING_ADDR:
        return set_vring_addr(b, &m->p.addr);
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
        return set_vring_fd(b, m, fds, nfds);
    case VHOST_USER_GET_INFLIGHT_FD:
        return get_inflight(b, m, reply_size, reply_fd);
    case VHOST_USER_SET_INFLIGHT_FD:
        return set_inflight(b, &m->p.inflight, fds);
    case VHOST_USER_SET_LOG_BASE:
        return set_log_base(b, m, fds, nfds);
    default:
        return -ENOTSUP;
    }
}

void vub_ring_teardown(struct vu_backend *b)
{
    for (uint16_t i = 0; i < b->nqueues; i++)
        vub_reset_queue(b, i);
    devmem_clear(&b->mem);
    drop_inflight(b);
    drop_log(b);
}
