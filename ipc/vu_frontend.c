#include "ipc/vu_frontend.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void vu_fe_init(struct vu_frontend *fe, int sock)
{
    memset(fe, 0, sizeof(*fe));
    fe->sock = sock;
    fe->backend_req_fd = -1;
}

int vu_fe_connect(struct vu_frontend *fe, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;

        close(s);
        return r;
    }
    vu_fe_init(fe, s);
    return 0;
}

void vu_fe_close(struct vu_frontend *fe)
{
    if (fe->sock >= 0)
        close(fe->sock);
    if (fe->backend_req_fd >= 0)
        close(fe->backend_req_fd);
    fe->sock = fe->backend_req_fd = -1;
}

/* Waits for the reply to req; keeps at most one fd (in *fd if given, else closed). */
static int recv_reply(struct vu_frontend *fe, uint32_t req, struct vu_msg *m, int *fd)
{
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;
    int r = vu_msg_recv(fe->sock, m, fds, &nfds);

    if (r == 0)
        return -ECONNRESET;
    if (r < 0)
        return r;
    if (!(m->hdr.flags & VHOST_USER_FLAG_REPLY) || m->hdr.request != req)
        r = -EBADMSG;
    else if (nfds > 1 || (nfds && !fd))
        r = -EBADMSG;
    else
        r = 0;
    for (size_t i = 0; i < nfds; i++) {
        if (!r && fd) {
            *fd = fds[i];
            continue;
        }
        close(fds[i]);
    }
    return r;
}

/* Sends a state-changing request; with REPLY_ACK waits for the backend's verdict. */
static int request(struct vu_frontend *fe, struct vu_msg *m, const int *fds, size_t nfds)
{
    uint32_t req = m->hdr.request;
    int r;

    if (fe->reply_ack)
        m->hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
    r = vu_msg_send(fe->sock, m, fds, nfds);
    if (r || !fe->reply_ack)
        return r;
    r = recv_reply(fe, req, m, NULL);
    if (r)
        return r;
    if (m->hdr.size != 8)
        return -EBADMSG;
    return m->p.u64 ? -EIO : 0;
}

static int get_u64(struct vu_frontend *fe, uint32_t req, uint64_t *out)
{
    struct vu_msg m;
    int r;

    vu_msg_init(&m, req, 0, 0);
    r = vu_msg_send(fe->sock, &m, NULL, 0);
    if (!r)
        r = recv_reply(fe, req, &m, NULL);
    if (!r && m.hdr.size != 8)
        r = -EBADMSG;
    if (!r)
        *out = m.p.u64;
    return r;
}

static int set_u64(struct vu_frontend *fe, uint32_t req, uint64_t v)
{
    struct vu_msg m;

    vu_msg_init(&m, req, 0, 8);
    m.p.u64 = v;
    return request(fe, &m, NULL, 0);
}

int vu_fe_get_features(struct vu_frontend *fe, uint64_t *features)
{
    return get_u64(fe, VHOST_USER_GET_FEATURES, features);
}

int vu_fe_set_features(struct vu_frontend *fe, uint64_t features)
{
    int r;

    if (fe->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
        features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
    /* A driver restarting its device during a migration keeps the backend logging. */
    if (fe->log_all)
        features |= 1ull << VHOST_USER_F_LOG_ALL;
    r = set_u64(fe, VHOST_USER_SET_FEATURES, features);
    if (!r)
        fe->features = features;
    return r;
}

int vu_fe_get_protocol_features(struct vu_frontend *fe, uint64_t *pf)
{
    return get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, pf);
}

int vu_fe_set_protocol_features(struct vu_frontend *fe, uint64_t pf)
{
    /* REPLY_ACK takes effect after this message, so it is never acked itself. */
    struct vu_msg m;
    int r;

    vu_msg_init(&m, VHOST_USER_SET_PROTOCOL_FEATURES, 0, 8);
    m.p.u64 = pf;
    r = vu_msg_send(fe->sock, &m, NULL, 0);
    if (!r) {
        fe->protocol_features = pf;
        fe->reply_ack = pf & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    }
    return r;
}

int vu_fe_set_owner(struct vu_frontend *fe)
{
    struct vu_msg m;

    vu_msg_init(&m, VHOST_USER_SET_OWNER, 0, 0);
    return request(fe, &m, NULL, 0);
}

static int setup_backend_req(struct vu_frontend *fe)
{
    struct vu_msg m;
    int sv[2];
    int r;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    vu_msg_init(&m, VHOST_USER_SET_BACKEND_REQ_FD, 0, 0);
    r = request(fe, &m, &sv[1], 1);
    close(sv[1]);
    if (r) {
        close(sv[0]);
        return r;
    }
    fe->backend_req_fd = sv[0];
    return 0;
}

int vu_fe_negotiate(struct vu_frontend *fe, uint64_t want_pf, uint64_t *offered)
{
    uint64_t f, pf = 0;
    int r;

    r = vu_fe_get_features(fe, &f);
    if (r)
        return r;
    fe->backend_features = f;
    if (f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
        r = vu_fe_get_protocol_features(fe, &pf);
        if (!r)
            r = vu_fe_set_protocol_features(fe, pf & want_pf);
        if (r)
            return r;
        /* Remembered so set_features adds bit 30 back. */
        fe->features = 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
    }
    r = vu_fe_set_owner(fe);
    if (!r && (fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ)))
        r = setup_backend_req(fe);
    if (!r && offered)
        *offered =
            f & ~((1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_F_ACCESS_PLATFORM));
    return r;
}

static void put_region(struct vu_mem_region *w, const struct vu_fe_region *r)
{
    w->guest_addr = r->gpa;
    w->size = r->size;
    w->user_addr = r->uva;
    w->mmap_offset = r->mmap_offset;
}

int vu_fe_set_mem_table(struct vu_frontend *fe, const struct vu_fe_region *r, unsigned n)
{
    int fds[VHOST_USER_MAX_REGIONS];
    struct vu_msg m;

    if (n > VHOST_USER_MAX_REGIONS)
        return -E2BIG;
    vu_msg_init(&m, VHOST_USER_SET_MEM_TABLE, 0, 8 + n * sizeof(struct vu_mem_region));
    m.p.mem.nregions = n;
    m.p.mem.padding = 0;
    for (unsigned i = 0; i < n; i++) {
        put_region(&m.p.mem.regions[i], &r[i]);
        fds[i] = r[i].fd;
    }
    return request(fe, &m, fds, n);
}

static int mem_reg(struct vu_frontend *fe, uint32_t req, const struct vu_fe_region *r, bool fd)
{
    struct vu_msg m;

    vu_msg_init(&m, req, 0, sizeof(m.p.mem_reg));
    m.p.mem_reg.padding = 0;
    put_region(&m.p.mem_reg.region, r);
    return request(fe, &m, fd ? &r->fd : NULL, fd);
}

int vu_fe_add_mem_reg(struct vu_frontend *fe, const struct vu_fe_region *r)
{
    return mem_reg(fe, VHOST_USER_ADD_MEM_REG, r, true);
}

int vu_fe_rem_mem_reg(struct vu_frontend *fe, const struct vu_fe_region *r)
{
    return mem_reg(fe, VHOST_USER_REM_MEM_REG, r, false);
}

int vu_fe_get_max_mem_slots(struct vu_frontend *fe, uint64_t *slots)
{
    return get_u64(fe, VHOST_USER_GET_MAX_MEM_SLOTS, slots);
}

static bool same_region(const struct vu_mem_region *a, const struct vu_mem_region *b)
{
    return a->guest_addr == b->guest_addr && a->size == b->size && a->user_addr == b->user_addr &&
           a->mmap_offset == b->mmap_offset;
}

static bool region_in(const struct vu_mem_region *x, const struct vu_mem_region *set, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (same_region(x, &set[i]))
            return true;
    return false;
}

/* The ADD_MEM_REG path: drop what r lacks, add what the backend lacks. fe->held is kept
 * exact after every message the backend accepted. */
static int update_mem_regs(struct vu_frontend *fe, const struct vu_fe_region *r, unsigned n,
                           const struct vu_mem_region *want)
{
    uint64_t slots = 0;
    unsigned i = 0;
    int rc = vu_fe_get_max_mem_slots(fe, &slots);

    if (rc)
        return rc;
    if (n > slots)
        return -E2BIG;
    while (i < fe->nheld) {
        struct vu_fe_region old;

        if (region_in(&fe->held[i], want, n)) {
            i++;
            continue;
        }
        old = (struct vu_fe_region){ .gpa = fe->held[i].guest_addr,
                                     .size = fe->held[i].size,
                                     .uva = fe->held[i].user_addr,
                                     .mmap_offset = fe->held[i].mmap_offset,
                                     .fd = -1 };
        rc = vu_fe_rem_mem_reg(fe, &old);
        if (rc)
            return rc;
        fe->held[i] = fe->held[--fe->nheld];
    }
    for (i = 0; i < n; i++) {
        if (region_in(&want[i], fe->held, fe->nheld))
            continue;
        rc = vu_fe_add_mem_reg(fe, &r[i]);
        if (rc)
            return rc;
        fe->held[fe->nheld++] = want[i];
    }
    return 0;
}

int vu_fe_set_memory(struct vu_frontend *fe, const struct vu_fe_region *r, unsigned n)
{
    struct vu_mem_region want[VU_FE_MAX_MEM];
    int rc;

    if (n > VU_FE_MAX_MEM)
        return -E2BIG;
    for (unsigned i = 0; i < n; i++)
        put_region(&want[i], &r[i]);
    if (n <= VHOST_USER_MAX_REGIONS) {
        fe->nheld = 0;
        rc = vu_fe_set_mem_table(fe, r, n);
        if (rc)
            return rc;
        memcpy(fe->held, want, n * sizeof(want[0]));
        fe->nheld = n;
        return 0;
    }
    if (!(fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)))
        return -E2BIG;
    rc = update_mem_regs(fe, r, n, want);
    if (rc)
        fe->nheld = 0; /* unknown: the next call replaces the whole table */
    return rc;
}

int vu_fe_get_queue_num(struct vu_frontend *fe, uint64_t *num)
{
    return get_u64(fe, VHOST_USER_GET_QUEUE_NUM, num);
}

static int vring_state(struct vu_frontend *fe, uint32_t req, uint16_t idx, uint32_t num)
{
    struct vu_msg m;

    vu_msg_init(&m, req, 0, sizeof(m.p.state));
    m.p.state.index = idx;
    m.p.state.num = num;
    return request(fe, &m, NULL, 0);
}

int vu_fe_set_vring_num(struct vu_frontend *fe, uint16_t idx, uint16_t num)
{
    return vring_state(fe, VHOST_USER_SET_VRING_NUM, idx, num);
}

int vu_fe_set_vring_base(struct vu_frontend *fe, uint16_t idx, uint16_t base)
{
    return vring_state(fe, VHOST_USER_SET_VRING_BASE, idx, base);
}

int vu_fe_set_vring_enable(struct vu_frontend *fe, uint16_t idx, bool enable)
{
    return vring_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, enable);
}

int vu_fe_set_vring_addr_log(struct vu_frontend *fe, uint16_t idx, uint64_t desc, uint64_t avail,
                             uint64_t used, bool log, uint64_t used_gpa)
{
    struct vu_msg m;

    vu_msg_init(&m, VHOST_USER_SET_VRING_ADDR, 0, sizeof(m.p.addr));
    memset(&m.p.addr, 0, sizeof(m.p.addr));
    m.p.addr.index = idx;
    m.p.addr.desc = desc;
    m.p.addr.avail = avail;
    m.p.addr.used = used;
    if (log) {
        m.p.addr.flags = VHOST_USER_VRING_F_LOG;
        m.p.addr.log = used_gpa;
    }
    return request(fe, &m, NULL, 0);
}

int vu_fe_set_vring_addr(struct vu_frontend *fe, uint16_t idx, uint64_t desc, uint64_t avail,
                         uint64_t used)
{
    return vu_fe_set_vring_addr_log(fe, idx, desc, avail, used, false, 0);
}

int vu_fe_set_log_base(struct vu_frontend *fe, int fd, uint64_t size, uint64_t offset)
{
    struct vu_msg m;
    int r;

    if (!(fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD)))
        return -ENOTSUP;
    /* One answer either way: QEMU's and DPDK's backends always reply, rust-vmm's only to
     * NEED_REPLY (with REPLY_ACK), cellvm's to both. */
    vu_msg_init(&m, VHOST_USER_SET_LOG_BASE, fe->reply_ack ? VHOST_USER_FLAG_NEED_REPLY : 0,
                sizeof(m.p.log));
    m.p.log.size = size;
    m.p.log.offset = offset;
    r = vu_msg_send(fe->sock, &m, &fd, 1);
    if (!r)
        r = recv_reply(fe, VHOST_USER_SET_LOG_BASE, &m, NULL);
    if (r)
        return r;
    /* DPDK answers with no payload, QEMU's libvhost-user and cellvm's backends with a u64. */
    if (m.hdr.size == 0)
        return 0;
    if (m.hdr.size != 8)
        return -EBADMSG;
    return m.p.u64 ? -EIO : 0;
}

int vu_fe_set_log_all(struct vu_frontend *fe, bool on)
{
    uint64_t f = fe->features & ~(1ull << VHOST_USER_F_LOG_ALL);

    fe->log_all = on;
    return vu_fe_set_features(fe, f);
}

static int vring_fd(struct vu_frontend *fe, uint32_t req, uint16_t idx, int fd)
{
    struct vu_msg m;

    vu_msg_init(&m, req, 0, 8);
    m.p.u64 = (idx & VHOST_USER_VRING_IDX_MASK) | (fd < 0 ? VHOST_USER_VRING_NOFD : 0);
    return request(fe, &m, fd >= 0 ? &fd : NULL, fd >= 0);
}

int vu_fe_set_vring_kick(struct vu_frontend *fe, uint16_t idx, int fd)
{
    return vring_fd(fe, VHOST_USER_SET_VRING_KICK, idx, fd);
}

int vu_fe_set_vring_call(struct vu_frontend *fe, uint16_t idx, int fd)
{
    return vring_fd(fe, VHOST_USER_SET_VRING_CALL, idx, fd);
}

int vu_fe_get_vring_base(struct vu_frontend *fe, uint16_t idx, uint16_t *base)
{
    struct vu_msg m;
    int r;

    vu_msg_init(&m, VHOST_USER_GET_VRING_BASE, 0, sizeof(m.p.state));
    m.p.state.index = idx;
    m.p.state.num = 0;
    r = vu_msg_send(fe->sock, &m, NULL, 0);
    if (!r)
        r = recv_reply(fe, VHOST_USER_GET_VRING_BASE, &m, NULL);
    if (!r && (m.hdr.size != sizeof(m.p.state) || m.p.state.num > 0xffff))
        r = -EBADMSG;
    if (!r)
        *base = (uint16_t)m.p.state.num;
    return r;
}

int vu_fe_start_vring(struct vu_frontend *fe, uint16_t idx, const struct vu_fe_vring *v)
{
    int r = vu_fe_set_vring_num(fe, idx, v->num);

    if (!r)
        r = vu_fe_set_vring_addr_log(fe, idx, v->desc_uva, v->avail_uva, v->used_uva,
                                     fe->log_all && v->has_gpa, v->used_gpa);
    if (!r)
        r = vu_fe_set_vring_base(fe, idx, v->base);
    if (!r)
        r = vu_fe_set_vring_call(fe, idx, v->call_fd);
    if (!r)
        r = vu_fe_set_vring_kick(fe, idx, v->kick_fd);
    if (!r && (fe->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
        r = vu_fe_set_vring_enable(fe, idx, true);
    return r;
}

int vu_fe_get_config(struct vu_frontend *fe, uint32_t off, void *buf, uint32_t len)
{
    struct vu_msg m;
    int r;

    if (len == 0 || len > VHOST_USER_MAX_CONFIG)
        return -EINVAL;
    vu_msg_init(&m, VHOST_USER_GET_CONFIG, 0, VU_CONFIG_HDR_SIZE + len);
    memset(&m.p.config, 0, sizeof(m.p.config));
    m.p.config.offset = off;
    m.p.config.size = len;
    r = vu_msg_send(fe->sock, &m, NULL, 0);
    if (!r)
        r = recv_reply(fe, VHOST_USER_GET_CONFIG, &m, NULL);
    if (r)
        return r;
    /* Size 0 is the backend saying no; any other mismatch is a broken peer. */
    if (m.hdr.size == VU_CONFIG_HDR_SIZE && m.p.config.size == 0)
        return -EIO;
    if (m.hdr.size != VU_CONFIG_HDR_SIZE + len || m.p.config.size != len)
        return -EBADMSG;
    memcpy(buf, m.p.config.region, len);
    return 0;
}

int vu_fe_set_config(struct vu_frontend *fe, uint32_t off, const void *buf, uint32_t len,
                     uint32_t flags)
{
    struct vu_msg m;

    if (len == 0 || len > VHOST_USER_MAX_CONFIG)
        return -EINVAL;
    vu_msg_init(&m, VHOST_USER_SET_CONFIG, 0, VU_CONFIG_HDR_SIZE + len);
    m.p.config.offset = off;
    m.p.config.size = len;
    m.p.config.flags = flags;
    memcpy(m.p.config.region, buf, len);
    return request(fe, &m, NULL, 0);
}

int vu_fe_reset_device(struct vu_frontend *fe)
{
    struct vu_msg m;

    vu_msg_init(&m, VHOST_USER_RESET_DEVICE, 0, 0);
    return request(fe, &m, NULL, 0);
}

int vu_fe_get_inflight_fd(struct vu_frontend *fe, uint16_t num_queues, uint16_t queue_size, int *fd,
                          uint64_t *size)
{
    struct vu_msg m;
    int got = -1;
    int r;

    vu_msg_init(&m, VHOST_USER_GET_INFLIGHT_FD, 0, sizeof(m.p.inflight));
    memset(&m.p.inflight, 0, sizeof(m.p.inflight));
    m.p.inflight.num_queues = num_queues;
    m.p.inflight.queue_size = queue_size;
    r = vu_msg_send(fe->sock, &m, NULL, 0);
    if (!r)
        r = recv_reply(fe, VHOST_USER_GET_INFLIGHT_FD, &m, &got);
    if (!r && (m.hdr.size < VU_INFLIGHT_MIN_SIZE || got < 0 || !m.p.inflight.mmap_size))
        r = -EBADMSG;
    if (r) {
        if (got >= 0)
            close(got);
        return r;
    }
    *fd = got;
    *size = m.p.inflight.mmap_size;
    return 0;
}

int vu_fe_set_inflight_fd(struct vu_frontend *fe, uint16_t num_queues, uint16_t queue_size, int fd,
                          uint64_t size)
{
    struct vu_msg m;

    vu_msg_init(&m, VHOST_USER_SET_INFLIGHT_FD, 0, sizeof(m.p.inflight));
    memset(&m.p.inflight, 0, sizeof(m.p.inflight));
    m.p.inflight.mmap_size = size;
    m.p.inflight.num_queues = num_queues;
    m.p.inflight.queue_size = queue_size;
    return request(fe, &m, &fd, 1);
}

bool vu_fe_has_access_platform(const struct vu_frontend *fe)
{
    const uint64_t pf =
        (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ);

    return (fe->backend_features & (1ull << VIRTIO_F_ACCESS_PLATFORM)) &&
           (fe->protocol_features & pf) == pf;
}

static int iotlb_msg(struct vu_frontend *fe, uint8_t type, uint64_t iova, uint64_t size,
                     uint64_t uaddr, uint8_t perm)
{
    struct vu_msg m;

    /* Without an ack the guest could use (or reuse) a range before the backend knows. */
    if (!fe->reply_ack)
        return -ENOTSUP;
    vu_msg_init(&m, VHOST_USER_IOTLB_MSG, 0, sizeof(m.p.iotlb));
    memset(&m.p.iotlb, 0, sizeof(m.p.iotlb));
    m.p.iotlb.iova = iova;
    m.p.iotlb.size = size;
    m.p.iotlb.uaddr = uaddr;
    m.p.iotlb.perm = perm;
    m.p.iotlb.type = type;
    return request(fe, &m, NULL, 0);
}

int vu_fe_iotlb_update(struct vu_frontend *fe, uint64_t iova, uint64_t size, uint64_t uaddr,
                       uint8_t perm)
{
    return iotlb_msg(fe, VHOST_USER_IOTLB_UPDATE, iova, size, uaddr, perm);
}

int vu_fe_iotlb_invalidate(struct vu_frontend *fe, uint64_t iova, uint64_t size)
{
    return iotlb_msg(fe, VHOST_USER_IOTLB_INVALIDATE, iova, size, 0, 0);
}

int vu_fe_handle_backend_req(struct vu_frontend *fe)
{
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;
    const char *why;
    struct vu_msg m;
    int r;

    if (fe->backend_req_fd < 0)
        return -ENOTCONN;
    r = vu_msg_recv(fe->backend_req_fd, &m, fds, &nfds);
    if (r == 0)
        return -EPIPE;
    if (r < 0)
        return r;
    r = vu_msg_check_backend_request(&m, nfds, &why);
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    if (r)
        return r;
    if (m.hdr.request == VHOST_USER_BACKEND_CONFIG_CHANGE_MSG && fe->config_changed)
        fe->config_changed(fe->opaque);
    if (m.hdr.flags & VHOST_USER_FLAG_NEED_REPLY) {
        uint32_t req = m.hdr.request;

        /* Requests other than CONFIG_CHANGE are not supported: answer failure. */
        m.p.u64 = req == VHOST_USER_BACKEND_CONFIG_CHANGE_MSG ? 0 : 1;
        vu_msg_init(&m, req, VHOST_USER_FLAG_REPLY, 8);
        r = vu_msg_send(fe->backend_req_fd, &m, NULL, 0);
    }
    return r;
}
