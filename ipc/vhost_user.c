#include "ipc/vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdsend.h"

_Static_assert(sizeof(struct vu_hdr) == VHOST_USER_HDR_SIZE, "header size");
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr size");
_Static_assert(sizeof(struct vu_mem_region) == 32, "region size");
_Static_assert(sizeof(struct vu_inflight) == 24, "inflight size");

/* How a request's payload and fds are shaped on the wire. */
enum size_rule {
    SZ_NONE,     /* no payload */
    SZ_EXACT,    /* exactly size */
    SZ_MIN,      /* at least size (padded structs some frontends send longer) */
    SZ_MEMTABLE, /* 8 + 32 * nregions */
    SZ_CONFIG,   /* 12 + config.size */
};

enum fd_rule {
    FD_NONE,  /* no fd */
    FD_ONE,   /* exactly one */
    FD_VRING, /* one, or none with VHOST_USER_VRING_NOFD */
    FD_TABLE, /* one per region */
    FD_OPT,   /* zero or one (SET_LOG_BASE without LOG_SHMFD, REM_MEM_REG) */
};

struct req_shape {
    const char *name;
    uint8_t size_rule;
    uint8_t fd_rule;
    uint16_t size;
};

static const struct req_shape shapes[VHOST_USER_REQUEST_MAX] = {
    [VHOST_USER_GET_FEATURES] = { "GET_FEATURES", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_SET_FEATURES] = { "SET_FEATURES", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_SET_OWNER] = { "SET_OWNER", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_RESET_OWNER] = { "RESET_OWNER", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_SET_MEM_TABLE] = { "SET_MEM_TABLE", SZ_MEMTABLE, FD_TABLE, 0 },
    [VHOST_USER_SET_LOG_BASE] = { "SET_LOG_BASE", SZ_EXACT, FD_OPT, 16 },
    [VHOST_USER_SET_LOG_FD] = { "SET_LOG_FD", SZ_NONE, FD_ONE, 0 },
    [VHOST_USER_SET_VRING_NUM] = { "SET_VRING_NUM", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_SET_VRING_ADDR] = { "SET_VRING_ADDR", SZ_EXACT, FD_NONE, 40 },
    [VHOST_USER_SET_VRING_BASE] = { "SET_VRING_BASE", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_GET_VRING_BASE] = { "GET_VRING_BASE", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_SET_VRING_KICK] = { "SET_VRING_KICK", SZ_EXACT, FD_VRING, 8 },
    [VHOST_USER_SET_VRING_CALL] = { "SET_VRING_CALL", SZ_EXACT, FD_VRING, 8 },
    [VHOST_USER_SET_VRING_ERR] = { "SET_VRING_ERR", SZ_EXACT, FD_VRING, 8 },
    [VHOST_USER_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_SEND_RARP] = { "SEND_RARP", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_NET_SET_MTU] = { "NET_SET_MTU", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_SET_BACKEND_REQ_FD] = { "SET_BACKEND_REQ_FD", SZ_NONE, FD_ONE, 0 },
    [VHOST_USER_IOTLB_MSG] = { "IOTLB_MSG", SZ_EXACT, FD_NONE, 32 },
    [VHOST_USER_SET_VRING_ENDIAN] = { "SET_VRING_ENDIAN", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_GET_CONFIG] = { "GET_CONFIG", SZ_CONFIG, FD_NONE, 0 },
    [VHOST_USER_SET_CONFIG] = { "SET_CONFIG", SZ_CONFIG, FD_NONE, 0 },
    [VHOST_USER_GET_INFLIGHT_FD] = { "GET_INFLIGHT_FD", SZ_MIN, FD_NONE, VU_INFLIGHT_MIN_SIZE },
    [VHOST_USER_SET_INFLIGHT_FD] = { "SET_INFLIGHT_FD", SZ_MIN, FD_ONE, VU_INFLIGHT_MIN_SIZE },
    [VHOST_USER_RESET_DEVICE] = { "RESET_DEVICE", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_VRING_KICK] = { "VRING_KICK", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_GET_MAX_MEM_SLOTS] = { "GET_MAX_MEM_SLOTS", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_ADD_MEM_REG] = { "ADD_MEM_REG", SZ_EXACT, FD_ONE, 40 },
    [VHOST_USER_REM_MEM_REG] = { "REM_MEM_REG", SZ_EXACT, FD_OPT, 40 },
    [VHOST_USER_SET_STATUS] = { "SET_STATUS", SZ_EXACT, FD_NONE, 8 },
    [VHOST_USER_GET_STATUS] = { "GET_STATUS", SZ_NONE, FD_NONE, 0 },
    [VHOST_USER_SET_DEVICE_STATE_FD] = { "SET_DEVICE_STATE_FD", SZ_EXACT, FD_ONE, 8 },
    [VHOST_USER_CHECK_DEVICE_STATE] = { "CHECK_DEVICE_STATE", SZ_NONE, FD_NONE, 0 },
};

const char *vu_request_name(uint32_t request)
{
    if (request < VHOST_USER_REQUEST_MAX && shapes[request].name)
        return shapes[request].name;
    return "UNKNOWN";
}

void vu_msg_init(struct vu_msg *m, uint32_t request, uint32_t extra_flags, uint32_t size)
{
    m->hdr.request = request;
    m->hdr.flags = VHOST_USER_VERSION | extra_flags;
    m->hdr.size = size;
}

int vu_msg_send(int sock, const struct vu_msg *m, const int *fds, size_t nfds)
{
    /* The payload union is 8-byte aligned, so it does not follow the header directly. */
    struct iovec iov[2] = {
        { .iov_base = (void *)&m->hdr, .iov_len = VHOST_USER_HDR_SIZE },
        { .iov_base = (void *)&m->p, .iov_len = m->hdr.size },
    };

    if (m->hdr.size > VU_MAX_PAYLOAD || nfds > VHOST_USER_MAX_FDS)
        return -EMSGSIZE;
    return ipc_sendv(sock, iov, m->hdr.size ? 2 : 1, fds, nfds);
}

/* Moves every SCM_RIGHTS fd into fds[]; more than VHOST_USER_MAX_FDS closes all of them. */
static int take_fds(struct msghdr *msg, int *fds, size_t *nfds)
{
    size_t n = 0;
    int r = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t cnt;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < cnt; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (n < VHOST_USER_MAX_FDS)
                fds[n++] = fd;
            else {
                close(fd);
                r = -EMSGSIZE;
            }
        }
    }
    if (msg->msg_flags & MSG_CTRUNC)
        r = -EMSGSIZE;
    if (r) {
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        n = 0;
    }
    *nfds = n;
    return r;
}

static int read_full(int sock, void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = recv(sock, (char *)buf + done, len - done, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        done += (size_t)n;
    }
    return 0;
}

int vu_msg_recv(int sock, struct vu_msg *m, int *fds, size_t *nfds)
{
    union {
        char raw[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = &m->hdr, .iov_len = VHOST_USER_HDR_SIZE };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;
    int r;

    *nfds = 0;
    msg.msg_control = ctl.raw;
    msg.msg_controllen = sizeof(ctl.raw);
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return 0;
    r = take_fds(&msg, fds, nfds);
    if (r)
        return r;
    if ((size_t)n < VHOST_USER_HDR_SIZE)
        r = read_full(sock, (char *)&m->hdr + n, VHOST_USER_HDR_SIZE - (size_t)n);
    if (!r && (m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
        r = -EBADMSG;
    if (!r && m->hdr.size > VU_MAX_PAYLOAD)
        r = -EBADMSG;
    if (!r && m->hdr.size)
        r = read_full(sock, &m->p, m->hdr.size);
    if (r) {
        for (size_t i = 0; i < *nfds; i++)
            close(fds[i]);
        *nfds = 0;
        return r;
    }
    return 1;
}

static int bad(const char **why, const char *what)
{
    *why = what;
    return -EINVAL;
}

static int check_size(const struct req_shape *s, const struct vu_msg *m, const char **why)
{
    uint32_t size = m->hdr.size;

    switch (s->size_rule) {
    case SZ_NONE:
        /* Some frontends send a zero u64 with payload-less requests; tolerate exactly that. */
        if (size != 0 && size != 8)
            return bad(why, "payload size");
        return 0;
    case SZ_EXACT:
        return size == s->size ? 0 : bad(why, "payload size");
    case SZ_MIN:
        return size >= s->size ? 0 : bad(why, "payload size");
    case SZ_MEMTABLE:
        if (size < 8 || m->p.mem.nregions > VHOST_USER_MAX_REGIONS)
            return bad(why, "memory table region count");
        if (size != 8 + m->p.mem.nregions * sizeof(struct vu_mem_region))
            return bad(why, "memory table size");
        return 0;
    case SZ_CONFIG:
        if (size < VU_CONFIG_HDR_SIZE || m->p.config.size > VHOST_USER_MAX_CONFIG)
            return bad(why, "config size");
        if (size != VU_CONFIG_HDR_SIZE + m->p.config.size)
            return bad(why, "config payload size");
        return 0;
    default:
        return bad(why, "request shape");
    }
}

static int check_fds(const struct req_shape *s, const struct vu_msg *m, size_t nfds,
                     const char **why)
{
    switch (s->fd_rule) {
    case FD_NONE:
        return nfds == 0 ? 0 : bad(why, "unexpected fd");
    case FD_ONE:
        return nfds == 1 ? 0 : bad(why, "fd count");
    case FD_OPT:
        return nfds <= 1 ? 0 : bad(why, "fd count");
    case FD_VRING:
        if (m->p.u64 & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD))
            return bad(why, "vring fd payload");
        if (m->p.u64 & VHOST_USER_VRING_NOFD)
            return nfds == 0 ? 0 : bad(why, "fd with NOFD");
        return nfds == 1 ? 0 : bad(why, "missing vring fd");
    case FD_TABLE:
        return nfds == m->p.mem.nregions ? 0 : bad(why, "memory table fd count");
    default:
        return bad(why, "request shape");
    }
}

int vu_msg_check_request(const struct vu_msg *m, size_t nfds, const char **why)
{
    const struct req_shape *s;
    int r;

    if (m->hdr.request >= VHOST_USER_REQUEST_MAX || !shapes[m->hdr.request].name)
        return bad(why, "unknown request");
    if (m->hdr.flags & VHOST_USER_FLAG_REPLY)
        return bad(why, "reply flag on a request");
    s = &shapes[m->hdr.request];
    r = check_size(s, m, why);
    if (!r)
        r = check_fds(s, m, nfds, why);
    return r;
}

int vu_msg_check_backend_request(const struct vu_msg *m, size_t nfds, const char **why)
{
    if (m->hdr.flags & VHOST_USER_FLAG_REPLY)
        return bad(why, "reply flag on a request");
    switch (m->hdr.request) {
    case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
        if (m->hdr.size != 0 && m->hdr.size != 8)
            return bad(why, "payload size");
        return nfds == 0 ? 0 : bad(why, "unexpected fd");
    case VHOST_USER_BACKEND_IOTLB_MSG:
    case VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG:
        return nfds <= 1 ? 0 : bad(why, "fd count");
    default:
        return bad(why, "unknown backend request");
    }
}

int vu_msg_check_reply(const struct vu_msg *m, uint32_t request, uint32_t size, size_t nfds)
{
    if (!(m->hdr.flags & VHOST_USER_FLAG_REPLY) || m->hdr.request != request)
        return -EBADMSG;
    if (m->hdr.size != size || nfds)
        return -EBADMSG;
    return 0;
}
