#include "core/vm/vfu_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Room for the region info, one sparse capability and VFU_MAX_SPARSE areas. */
#define REGION_ARGSZ                                                  \
    (sizeof(struct vfu_region_info) + sizeof(struct vfu_cap_sparse) + \
     VFU_MAX_SPARSE * sizeof(struct vfu_sparse_area))
/* A server asking for more than this for one region's capabilities is not believed. */
#define REGION_ARGSZ_MAX 4096u
#define MAX_CAPS         16

static int err_of(uint32_t e)
{
    return e > 0 && e < 4096 ? -(int)e : -EIO;
}

/* The framing can no longer be trusted: every later call fails at once. Lock held. */
static int broken(struct vfu_client *c, int r)
{
    c->broken = true;
    return r == -EAGAIN || r == -EWOULDBLOCK ? -ETIMEDOUT : r;
}

/*
 * How long the server may take: pinning guest RAM (DMA_MAP) faults in and pins every page, which
 * takes seconds per GiB on a loaded or nested host (512 MiB took more than 5 s in the nested
 * bench), and a function reset may wait for the device; so those get VFUC_SLOW_TIMEOUT_S plus
 * one second per 64 MiB mapped. Everything else answers from the server's memory.
 */
static unsigned timeout_for(uint16_t cmd, const void *req, size_t len)
{
    const struct vfu_dma_map *m = req;

    if (cmd == VFU_CMD_DMA_MAP && len >= sizeof(*m))
        return VFUC_SLOW_TIMEOUT_S + (unsigned)((m->size >> 26) > 3600 ? 3600 : m->size >> 26);
    if (cmd == VFU_CMD_DMA_UNMAP || cmd == VFU_CMD_DEVICE_RESET)
        return VFUC_SLOW_TIMEOUT_S;
    return VFUC_TIMEOUT_S;
}

/*
 * Waits up to secs for the reply's first byte without consuming anything: a peek that times out
 * (the socket's VFUC_TIMEOUT_S) leaves the stream in step, so a slow request can wait longer
 * without changing the socket's options (a vCPU thread's filter has no setsockopt). 0 when
 * bytes are there; -ETIMEDOUT, -ECONNRESET or -errno.
 */
static int wait_reply(int sock, unsigned secs)
{
    for (unsigned waited = 0;; waited += VFUC_TIMEOUT_S) {
        char b;
        struct iovec iov = { .iov_base = &b, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n = recvmsg(sock, &mh, MSG_PEEK);

        if (n > 0)
            return 0;
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (waited + VFUC_TIMEOUT_S >= secs)
            return -ETIMEDOUT;
    }
}

/*
 * One request and its reply, which must be a reply to exactly this message (id, command). On 0
 * the reply (payload and at most max_fds fds) is the caller's to check and release; an error
 * reply becomes -error.
 */
static int call(struct vfu_client *c, uint16_t cmd, const void *req, size_t len, const int *fds,
                unsigned nfds, struct vfu_msg *rep, unsigned max_fds)
{
    struct vfu_hdr h = { .command = cmd, .flags = VFU_F_TYPE_COMMAND };
    int r;

    memset(rep, 0, sizeof(*rep));
    for (unsigned i = 0; i < VFU_MAX_FDS; i++)
        rep->fds[i] = -1;
    pthread_mutex_lock(&c->lock);
    if (c->broken || c->sock < 0) {
        r = -ENOTCONN;
        goto out;
    }
    h.msg_id = c->next_id++;
    r = vfu_send(c->sock, &h, req, len, fds, nfds);
    if (r) {
        r = broken(c, r);
        goto out;
    }
    r = wait_reply(c->sock, timeout_for(cmd, req, len));
    if (!r)
        r = vfu_recv(c->sock, rep, VFU_MAX_MSG, max_fds);
    if (r <= 0) {
        r = broken(c, r ? r : -ECONNRESET);
        goto out;
    }
    if ((rep->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_REPLY || rep->hdr.msg_id != h.msg_id ||
        rep->hdr.command != cmd) {
        vfu_msg_release(rep);
        r = broken(c, -EPROTO);
        goto out;
    }
    r = 0;
    if (rep->hdr.flags & VFU_F_ERROR) {
        r = err_of(rep->hdr.error);
        vfu_msg_release(rep);
    }
out:
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Only receives wait on the server: one request is in flight at a time and each is smaller
 * than the socket buffer, so a send never waits for the server to read. */
static int set_timeouts(int sock)
{
    struct timeval tv = { .tv_sec = VFUC_TIMEOUT_S };

    return setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ? -errno : 0;
}

static int version(struct vfu_client *c, char *err, size_t errlen)
{
    /* What this side accepts: one fd per reply (the region fd), data as the codec allows. */
    const struct vfu_caps mine = { .max_msg_fds = 1,
                                   .max_data_xfer_size = VFU_MAX_DATA,
                                   .pgsizes = 4096 };
    uint8_t req[sizeof(struct vfu_version) + VFU_MAX_VERSION];
    struct vfu_version v = { VFU_VERSION_MAJOR, VFU_VERSION_MINOR };
    struct vfu_msg rep;
    size_t jlen;
    int r;

    memcpy(req, &v, sizeof(v));
    r = vfu_version_encode(&mine, (char *)req + sizeof(v), VFU_MAX_VERSION, &jlen);
    if (!r)
        r = call(c, VFU_CMD_VERSION, req, sizeof(v) + jlen, NULL, 0, &rep, 0);
    if (r) {
        snprintf(err, errlen, "vfio-user VERSION: %s", strerror(-r));
        return r;
    }
    r = vfu_version_decode(rep.payload, rep.len, &v, &c->caps);
    vfu_msg_release(&rep);
    if (r || v.major != VFU_VERSION_MAJOR || !c->caps.max_data_xfer_size) {
        snprintf(err, errlen, "vfio-user VERSION: unusable reply (version %u.%u)", v.major,
                 v.minor);
        return -EPROTO;
    }
    if (c->caps.max_msg_fds > VFU_MAX_FDS)
        c->caps.max_msg_fds = VFU_MAX_FDS;
    if (c->caps.max_data_xfer_size > VFU_MAX_DATA)
        c->caps.max_data_xfer_size = VFU_MAX_DATA;
    return 0;
}

int vfuc_connect(struct vfu_client *c, int sock, char *err, size_t errlen)
{
    int r;

    memset(c, 0, sizeof(*c));
    c->sock = sock;
    r = pthread_mutex_init(&c->lock, NULL);
    if (r) {
        close(sock);
        c->sock = -1;
        snprintf(err, errlen, "vfio-user: mutex: %s", strerror(r));
        return -r;
    }
    r = set_timeouts(sock);
    if (r)
        snprintf(err, errlen, "vfio-user: socket timeouts: %s", strerror(-r));
    else
        r = version(c, err, errlen);
    if (r)
        vfuc_close(c);
    return r;
}

void vfuc_close(struct vfu_client *c)
{
    if (c->sock < 0)
        return;
    close(c->sock);
    c->sock = -1;
    pthread_mutex_destroy(&c->lock);
}

/* A request whose reply is exactly one fixed-size struct, copied to out. */
static int call_fixed(struct vfu_client *c, uint16_t cmd, const void *req, size_t len, void *out,
                      size_t outlen)
{
    struct vfu_msg rep;
    int r = call(c, cmd, req, len, NULL, 0, &rep, 0);

    if (r)
        return r;
    if (rep.len != outlen)
        r = -EPROTO;
    else
        memcpy(out, rep.payload, outlen);
    vfu_msg_release(&rep);
    return r;
}

int vfuc_device_info(struct vfu_client *c, struct vfu_device_info *out)
{
    struct vfu_device_info req = { .argsz = sizeof(req) };

    return call_fixed(c, VFU_CMD_DEVICE_GET_INFO, &req, sizeof(req), out, sizeof(*out));
}

int vfuc_irq_info(struct vfu_client *c, uint32_t index, struct vfu_irq_info *out)
{
    struct vfu_irq_info req = { .argsz = sizeof(req), .index = index };
    int r = call_fixed(c, VFU_CMD_DEVICE_GET_IRQ_INFO, &req, sizeof(req), out, sizeof(*out));

    return !r && out->index != index ? -EPROTO : r;
}

/* The sparse-mmap capability at off (its header inside buf[0, len) already checked). */
static int parse_sparse(const uint8_t *buf, size_t len, size_t off, struct vfuc_region *out)
{
    struct vfu_cap_sparse sp;

    if (len - off < sizeof(sp))
        return -EPROTO;
    memcpy(&sp, buf + off, sizeof(sp));
    if (sp.nr_areas > VFU_MAX_SPARSE ||
        (len - off - sizeof(sp)) / sizeof(struct vfu_sparse_area) < sp.nr_areas)
        return -EPROTO;
    for (uint32_t i = 0; i < sp.nr_areas; i++) {
        struct vfu_sparse_area *a = &out->sparse[i];

        memcpy(a, buf + off + sizeof(sp) + i * sizeof(*a), sizeof(*a));
        if (a->offset > out->size || out->size - a->offset < a->size)
            return -EPROTO;
    }
    out->nsparse = sp.nr_areas;
    return 0;
}

/* Walks the capability chain of a region info reply: offsets strictly increase, so it ends. */
static int parse_caps(const uint8_t *buf, size_t len, uint32_t first, struct vfuc_region *out)
{
    size_t off = first;

    for (unsigned n = 0; off && n < MAX_CAPS; n++) {
        struct vfu_cap_hdr h;
        int r;

        if (off < sizeof(struct vfu_region_info) || off > len || len - off < sizeof(h))
            return -EPROTO;
        memcpy(&h, buf + off, sizeof(h));
        if (h.id == VFU_CAP_SPARSE_MMAP) {
            r = parse_sparse(buf, len, off, out);
            if (r)
                return r;
        }
        if (h.next && h.next <= off)
            return -EPROTO;
        off = h.next;
    }
    return off ? -EPROTO : 0;
}

static int region_info_once(struct vfu_client *c, uint32_t index, uint32_t argsz,
                            struct vfuc_region *out, uint32_t *need)
{
    struct vfu_region_info req = { .argsz = argsz, .index = index }, ri;
    struct vfu_msg rep;
    int r = call(c, VFU_CMD_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0, &rep, 1);

    *need = 0;
    if (r)
        return r;
    if (rep.len < sizeof(ri) || rep.len > argsz) {
        r = -EPROTO;
        goto out;
    }
    memcpy(&ri, rep.payload, sizeof(ri));
    if (ri.index != index) {
        r = -EPROTO;
        goto out;
    }
    if (ri.argsz > argsz) {
        *need = ri.argsz; /* the capabilities did not fit: ask again */
        goto out;
    }
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    out->flags = ri.flags;
    out->size = ri.size;
    out->offset = ri.offset;
    if ((ri.flags & VFU_REGION_F_CAPS) && ri.cap_offset)
        r = parse_caps(rep.payload, rep.len, ri.cap_offset, out);
    if (r)
        goto out;
    if ((ri.flags & VFU_REGION_F_MMAP) && rep.nfds == 1) {
        out->fd = rep.fds[0];
        rep.fds[0] = -1;
        rep.nfds = 0;
    } else {
        out->flags &= ~VFU_REGION_F_MMAP; /* mappable without an fd is not mappable */
        out->nsparse = 0;
    }
out:
    vfu_msg_release(&rep);
    return r;
}

int vfuc_region_info(struct vfu_client *c, uint32_t index, struct vfuc_region *out)
{
    uint32_t need;
    int r = region_info_once(c, index, REGION_ARGSZ, out, &need);

    if (!r && need) {
        if (need > REGION_ARGSZ_MAX)
            return -EPROTO;
        r = region_info_once(c, index, need, out, &need);
        if (!r && need)
            r = -EPROTO; /* it grew again */
    }
    return r;
}

int vfuc_set_irqs(struct vfu_client *c, uint32_t flags, uint32_t index, uint32_t start,
                  uint32_t count, const int *fds)
{
    bool eventfds = flags & VFU_IRQ_SET_DATA_EVENTFD;
    uint32_t step = eventfds ? c->caps.max_msg_fds : count;
    uint32_t done = 0;

    if (eventfds && (!fds || (count && !step)))
        return -EINVAL;
    if (!eventfds && (flags & VFU_IRQ_SET_DATA_BOOL))
        return -EOPNOTSUPP; /* the core never sends booleans */
    do {
        uint32_t n = count - done < step ? count - done : step;
        struct vfu_irq_set req = {
            .argsz = sizeof(req), .flags = flags, .index = index, .start = start + done, .count = n
        };
        struct vfu_msg rep;
        int r = call(c, VFU_CMD_DEVICE_SET_IRQS, &req, sizeof(req), eventfds ? fds + done : NULL,
                     eventfds ? n : 0, &rep, 0);

        if (r)
            return r;
        vfu_msg_release(&rep);
        done += n;
    } while (done < count);
    return 0;
}

/* One REGION_READ or REGION_WRITE of at most max_data_xfer_size bytes. */
static int access_once(struct vfu_client *c, bool write, uint32_t region, uint64_t off, void *buf,
                       uint32_t len)
{
    uint8_t req[sizeof(struct vfu_region_access) + VFU_MAX_DATA];
    struct vfu_region_access a = { .offset = off, .region = region, .count = len }, got;
    size_t want = sizeof(a) + (write ? 0 : len);
    struct vfu_msg rep;
    int r;

    memcpy(req, &a, sizeof(a));
    if (write)
        memcpy(req + sizeof(a), buf, len);
    r = call(c, write ? VFU_CMD_REGION_WRITE : VFU_CMD_REGION_READ, req,
             sizeof(a) + (write ? len : 0), NULL, 0, &rep, 0);
    if (r)
        return r;
    if (rep.len != want) {
        r = -EPROTO;
    } else {
        memcpy(&got, rep.payload, sizeof(got));
        if (got.count != len || got.region != region || got.offset != off)
            r = -EPROTO;
        else if (!write)
            memcpy(buf, rep.payload + sizeof(got), len);
    }
    vfu_msg_release(&rep);
    return r;
}

static int access_split(struct vfu_client *c, bool write, uint32_t region, uint64_t off,
                        uint8_t *buf, uint32_t len)
{
    uint32_t step = c->caps.max_data_xfer_size;

    if (off + len < off)
        return -EINVAL;
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < step ? len - done : step;
        int r = access_once(c, write, region, off + done, buf + done, n);

        if (r)
            return r;
        done += n;
    }
    return 0;
}

int vfuc_region_read(struct vfu_client *c, uint32_t region, uint64_t off, void *buf, uint32_t len)
{
    return access_split(c, false, region, off, buf, len);
}

int vfuc_region_write(struct vfu_client *c, uint32_t region, uint64_t off, const void *buf,
                      uint32_t len)
{
    /* access_split only reads from buf when writing. */
    return access_split(c, true, region, off, (uint8_t *)buf, len);
}

/* A command whose reply carries nothing the client needs. */
static int simple(struct vfu_client *c, uint16_t cmd, const void *req, size_t len, const int *fds,
                  unsigned nfds)
{
    struct vfu_msg rep;
    int r = call(c, cmd, req, len, fds, nfds, &rep, 0);

    if (!r)
        vfu_msg_release(&rep);
    return r;
}

int vfuc_dma_map(struct vfu_client *c, int fd, uint64_t offset, uint64_t iova, uint64_t size,
                 uint32_t flags)
{
    struct vfu_dma_map req = {
        .argsz = sizeof(req), .flags = flags, .offset = offset, .addr = iova, .size = size
    };

    return simple(c, VFU_CMD_DMA_MAP, &req, sizeof(req), &fd, 1);
}

int vfuc_dma_unmap(struct vfu_client *c, uint64_t iova, uint64_t size)
{
    struct vfu_dma_unmap req = { .argsz = sizeof(req), .addr = iova, .size = size };

    return simple(c, VFU_CMD_DMA_UNMAP, &req, sizeof(req), NULL, 0);
}

int vfuc_reset(struct vfu_client *c)
{
    return simple(c, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0);
}
