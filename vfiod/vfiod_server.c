#include "vfiod/vfiod_server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_PGSIZES 4096u

/* What a handler answers with; sent after the handler returns 0. */
struct out {
    union {
        uint8_t buf[512]; /* every fixed-size reply; a region info with VFU_MAX_SPARSE areas */
        uint64_t align;
    } u;
    uint8_t *heap; /* REGION_READ data, freed after sending */
    const void *data;
    size_t len;
    int fd; /* borrowed from the device; -1: none */
};

_Static_assert(sizeof(struct vfu_region_info) + sizeof(struct vfu_cap_sparse) +
                       VFU_MAX_SPARSE * sizeof(struct vfu_sparse_area) <=
                   sizeof(((struct out *)0)->u.buf),
               "region info reply fits");

__attribute__((format(printf, 2, 3))) static void slog(struct vfiod_server *s, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (s->log)
        s->log(s->log_opaque, line);
    else
        fprintf(stderr, "vfiod: %s\n", line);
}

static int why(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int why(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

static void set_reply(struct out *o, const void *p, size_t len)
{
    memcpy(o->u.buf, p, len);
    o->data = o->u.buf;
    o->len = len;
}

static void peer_defaults(struct vfiod_server *s)
{
    /* The spec's defaults for a client that sends no capabilities. */
    s->peer = (struct vfu_caps){ .max_msg_fds = 1,
                                 .max_data_xfer_size = 1u << 20,
                                 .pgsizes = SERVER_PGSIZES };
}

static int h_version(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                     size_t errlen)
{
    const struct vfu_caps ours = { .max_msg_fds = VFU_MAX_FDS,
                                   .max_data_xfer_size = VFU_MAX_DATA,
                                   .pgsizes = SERVER_PGSIZES };
    struct vfu_version v, rv;
    struct vfu_caps caps;
    size_t len;

    if (s->versioned)
        return why(err, errlen, -EINVAL, "already negotiated");
    if (vfu_version_decode(m->payload, m->len, &v, &caps))
        return why(err, errlen, -EINVAL, "malformed capabilities");
    if (v.major != VFU_VERSION_MAJOR)
        return why(err, errlen, -ENOTSUP, "major version %u", v.major);
    rv.major = VFU_VERSION_MAJOR;
    rv.minor = v.minor < VFU_VERSION_MINOR ? v.minor : VFU_VERSION_MINOR;
    memcpy(o->u.buf, &rv, sizeof(rv));
    if (vfu_version_encode(&ours, (char *)o->u.buf + sizeof(rv), sizeof(o->u.buf) - sizeof(rv),
                           &len))
        return why(err, errlen, -EIO, "capabilities do not fit");
    o->data = o->u.buf;
    o->len = sizeof(rv) + len;
    s->peer = caps;
    s->versioned = true;
    return 0;
}

static int h_device_info(struct vfiod_server *s, struct out *o)
{
    struct vfu_device_info info = { .argsz = sizeof(info),
                                    .flags = s->dev_flags,
                                    .num_regions = s->num_regions,
                                    .num_irqs = s->num_irqs };

    set_reply(o, &info, sizeof(info));
    return 0;
}

static int check_sparse(const struct vfiod_region *r)
{
    if (r->nsparse > VFU_MAX_SPARSE)
        return -EIO;
    for (unsigned i = 0; i < r->nsparse; i++) {
        const struct vfu_sparse_area *a = &r->sparse[i];

        if (a->offset > r->size || a->size > r->size - a->offset)
            return -EIO;
    }
    return 0;
}

static int h_region_info(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                         size_t errlen)
{
    struct vfu_region_info req, info;
    struct vfiod_region r;
    int fd = -1;
    bool mmap;
    int rc;

    memcpy(&req, m->payload, sizeof(req));
    if (req.index >= s->num_regions)
        return why(err, errlen, -EINVAL, "region index %u", req.index);
    memset(&r, 0, sizeof(r));
    rc = s->ops->region_info(s->dev, req.index, &r, &fd);
    if (rc < 0)
        return why(err, errlen, rc, "region %u: device", req.index);
    if (check_sparse(&r))
        return why(err, errlen, -EIO, "region %u: device reported bad sparse areas", req.index);
    /* A client that takes no fds gets every region trapped. */
    mmap = (r.flags & VFU_REGION_F_MMAP) && fd >= 0 && r.size && s->peer.max_msg_fds >= 1;
    info = (struct vfu_region_info){
        .argsz = sizeof(info),
        .flags =
            (r.flags & (VFU_REGION_F_READ | VFU_REGION_F_WRITE)) | (mmap ? VFU_REGION_F_MMAP : 0),
        .index = req.index,
        .size = r.size,
        .offset = r.offset,
    };
    o->data = o->u.buf;
    o->len = sizeof(info);
    if (mmap && r.nsparse) {
        struct vfu_cap_sparse cap = {
            .hdr = { .id = VFU_CAP_SPARSE_MMAP, .version = 1, .next = 0 },
            .nr_areas = r.nsparse,
        };
        size_t areas = r.nsparse * sizeof(struct vfu_sparse_area);

        info.argsz = (uint32_t)(sizeof(info) + sizeof(cap) + areas);
        if (req.argsz >= info.argsz) {
            info.flags |= VFU_REGION_F_CAPS;
            info.cap_offset = sizeof(info);
            memcpy(o->u.buf + sizeof(info), &cap, sizeof(cap));
            memcpy(o->u.buf + sizeof(info) + sizeof(cap), r.sparse, areas);
            o->len = info.argsz;
            o->fd = fd;
        }
    } else if (mmap) {
        o->fd = fd;
    }
    memcpy(o->u.buf, &info, sizeof(info));
    return 0;
}

static int h_irq_info(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                      size_t errlen)
{
    struct vfu_irq_info req, info;

    memcpy(&req, m->payload, sizeof(req));
    if (req.index >= s->num_irqs)
        return why(err, errlen, -EINVAL, "irq index %u", req.index);
    info = (struct vfu_irq_info){ .argsz = sizeof(info),
                                  .flags = s->irq[req.index].flags,
                                  .index = req.index,
                                  .count = s->irq[req.index].count };
    set_reply(o, &info, sizeof(info));
    return 0;
}

static int h_set_irqs(struct vfiod_server *s, const struct vfu_msg *m, char *err, size_t errlen)
{
    const uint32_t disable = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER;
    struct vfu_irq_set req;
    uint32_t n;
    int rc;

    memcpy(&req, m->payload, sizeof(req));
    if (req.index >= s->num_irqs)
        return why(err, errlen, -EINVAL, "irq index %u", req.index);
    n = s->irq[req.index].count;
    /* As VFIO: count 0 only to disable the index. */
    if (req.count == 0 && req.flags != disable)
        return why(err, errlen, -EINVAL, "count 0 without DATA_NONE|ACTION_TRIGGER");
    if (req.start > n || req.count > n - req.start)
        return why(err, errlen, -EINVAL, "irq %u: start %u + count %u past %u", req.index,
                   req.start, req.count, n);
    rc = s->ops->set_irqs(s->dev, req.flags, req.index, req.start, req.count,
                          (req.flags & VFU_IRQ_SET_DATA_EVENTFD) ? m->fds : NULL,
                          (req.flags & VFU_IRQ_SET_DATA_BOOL) ? m->payload + sizeof(req) : NULL);
    if (rc < 0)
        return why(err, errlen, rc, "irq %u: device", req.index);
    if (req.flags & VFU_IRQ_SET_DATA_EVENTFD)
        s->irqs_enabled |= 1u << req.index;
    else if (req.count == 0)
        s->irqs_enabled &= ~(1u << req.index);
    return 0;
}

/* The access's region and range, checked against what the device reported at init. */
static int check_access(struct vfiod_server *s, const struct vfu_region_access *a, uint32_t need,
                        char *err, size_t errlen)
{
    if (a->region >= s->num_regions)
        return why(err, errlen, -EINVAL, "region index %u", a->region);
    if (!(s->region[a->region].flags & need))
        return why(err, errlen, -EINVAL, "region %u does not allow this access", a->region);
    if (a->offset > s->region[a->region].size || a->count > s->region[a->region].size - a->offset)
        return why(err, errlen, -EINVAL, "region %u: [%#llx, +%u) past its size %#llx", a->region,
                   (unsigned long long)a->offset, a->count,
                   (unsigned long long)s->region[a->region].size);
    return 0;
}

static int h_region_read(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                         size_t errlen)
{
    struct vfu_region_access a;
    ssize_t n;
    int rc;

    memcpy(&a, m->payload, sizeof(a));
    rc = check_access(s, &a, VFU_REGION_F_READ, err, errlen);
    if (rc)
        return rc;
    o->heap = malloc(sizeof(a) + a.count);
    if (!o->heap)
        return why(err, errlen, -ENOMEM, "read buffer");
    n = s->ops->region_read(s->dev, a.region, a.offset, o->heap + sizeof(a), a.count);
    if (n < 0)
        return why(err, errlen, (int)n, "region %u: device", a.region);
    if ((size_t)n > a.count)
        return why(err, errlen, -EIO, "region %u: device read too much", a.region);
    a.count = (uint32_t)n;
    memcpy(o->heap, &a, sizeof(a));
    o->data = o->heap;
    o->len = sizeof(a) + (size_t)n;
    return 0;
}

static int h_region_write(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                          size_t errlen)
{
    struct vfu_region_access a;
    ssize_t n;
    int rc;

    memcpy(&a, m->payload, sizeof(a));
    rc = check_access(s, &a, VFU_REGION_F_WRITE, err, errlen);
    if (rc)
        return rc;
    n = s->ops->region_write(s->dev, a.region, a.offset, m->payload + sizeof(a), a.count);
    if (n < 0)
        return why(err, errlen, (int)n, "region %u: device", a.region);
    if ((size_t)n > a.count)
        return why(err, errlen, -EIO, "region %u: device wrote too much", a.region);
    a.count = (uint32_t)n;
    set_reply(o, &a, sizeof(a));
    return 0;
}

static int h_dma_map(struct vfiod_server *s, const struct vfu_msg *m, char *err, size_t errlen)
{
    struct vfu_dma_map req;
    int rc;

    memcpy(&req, m->payload, sizeof(req));
    rc = vfiod_dma_map(&s->dma, s->ops, s->dev, &req, m->fds[0]);
    if (rc)
        return why(err, errlen, rc, "iova %#llx size %#llx offset %#llx flags %#x",
                   (unsigned long long)req.addr, (unsigned long long)req.size,
                   (unsigned long long)req.offset, req.flags);
    return 0;
}

static int h_dma_unmap(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                       size_t errlen)
{
    struct vfu_dma_unmap req;
    int rc;

    memcpy(&req, m->payload, sizeof(req));
    rc = vfiod_dma_unmap(&s->dma, s->ops, s->dev, req.addr, req.size);
    if (rc)
        return why(err, errlen, rc, "iova %#llx size %#llx", (unsigned long long)req.addr,
                   (unsigned long long)req.size);
    set_reply(o, &req, sizeof(req));
    return 0;
}

static int serve(struct vfiod_server *s, const struct vfu_msg *m, struct out *o, char *err,
                 size_t errlen)
{
    uint16_t cmd = m->hdr.command;
    int rc;

    if (!s->versioned && cmd != VFU_CMD_VERSION)
        return why(err, errlen, -EINVAL, "before VERSION");
    switch (cmd) {
    case VFU_CMD_VERSION:
    case VFU_CMD_DMA_MAP:
    case VFU_CMD_DMA_UNMAP:
    case VFU_CMD_DEVICE_GET_INFO:
    case VFU_CMD_DEVICE_GET_REGION_INFO:
    case VFU_CMD_DEVICE_GET_IRQ_INFO:
    case VFU_CMD_DEVICE_SET_IRQS:
    case VFU_CMD_REGION_READ:
    case VFU_CMD_REGION_WRITE:
    case VFU_CMD_DEVICE_RESET:
        break;
    default:
        return why(err, errlen, -ENOSYS, "not served");
    }
    rc = vfu_check_request(m, err, errlen);
    if (rc)
        return rc;
    switch (cmd) {
    case VFU_CMD_VERSION:
        return h_version(s, m, o, err, errlen);
    case VFU_CMD_DMA_MAP:
        return h_dma_map(s, m, err, errlen);
    case VFU_CMD_DMA_UNMAP:
        return h_dma_unmap(s, m, o, err, errlen);
    case VFU_CMD_DEVICE_GET_INFO:
        return h_device_info(s, o);
    case VFU_CMD_DEVICE_GET_REGION_INFO:
        return h_region_info(s, m, o, err, errlen);
    case VFU_CMD_DEVICE_GET_IRQ_INFO:
        return h_irq_info(s, m, o, err, errlen);
    case VFU_CMD_DEVICE_SET_IRQS:
        return h_set_irqs(s, m, err, errlen);
    case VFU_CMD_REGION_READ:
        return h_region_read(s, m, o, err, errlen);
    case VFU_CMD_REGION_WRITE:
        return h_region_write(s, m, o, err, errlen);
    default:
        rc = s->ops->reset(s->dev);
        return rc < 0 ? why(err, errlen, rc, "device") : 0;
    }
}

static int send_reply(int sock, const struct vfu_hdr *req, int rc, const struct out *o)
{
    struct vfu_hdr rep;

    if (req->flags & VFU_F_NO_REPLY)
        return 0;
    vfu_reply_hdr(req, &rep, rc < 0 ? (uint32_t)-rc : 0);
    if (rc < 0 || !o)
        return vfu_send(sock, &rep, NULL, 0, NULL, 0);
    return vfu_send(sock, &rep, o->data, o->len, o->fd >= 0 ? &o->fd : NULL, o->fd >= 0 ? 1 : 0);
}

int vfiod_server_handle(struct vfiod_server *s, int sock)
{
    struct out o = { .heap = NULL, .data = NULL, .len = 0, .fd = -1 };
    char err[160] = "";
    struct vfu_msg m;
    int r, sent;

    r = vfu_recv(sock, &m, VFU_MAX_MSG, VFU_MAX_FDS);
    if (r == 0)
        return 0;
    if (r == -E2BIG || r == -EPROTO) {
        /* Read whole, so the stream is still framed: answer and go on. */
        slog(s, "%s (id %u): %s", vfu_cmd_name(m.hdr.command), m.hdr.msg_id,
             r == -E2BIG ? "too many fds" : "fds after the header");
        sent = send_reply(sock, &m.hdr, r, NULL);
        vfu_msg_release(&m);
        return sent < 0 ? sent : 1;
    }
    if (r < 0) {
        slog(s, "connection: %s", strerror(-r));
        return r;
    }
    r = serve(s, &m, &o, err, sizeof(err));
    if (r < 0)
        slog(s, "%s (id %u) refused: %s: %s", vfu_cmd_name(m.hdr.command), m.hdr.msg_id, err,
             strerror(-r));
    sent = send_reply(sock, &m.hdr, r, &o);
    if (sent < 0)
        slog(s, "reply to %s: %s", vfu_cmd_name(m.hdr.command), strerror(-sent));
    free(o.heap);
    vfu_msg_release(&m);
    return sent < 0 ? sent : 1;
}

int vfiod_server_init(struct vfiod_server *s, const struct vfiod_dev_ops *ops, void *dev)
{
    uint32_t flags = 0, nreg = 0, nirq = 0;
    int r;

    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->dev = dev;
    peer_defaults(s);
    r = ops->info(dev, &flags, &nreg, &nirq);
    if (r < 0)
        return r;
    s->dev_flags = flags;
    s->num_regions = nreg < VFIOD_MAX_REGIONS ? nreg : VFIOD_MAX_REGIONS;
    s->num_irqs = nirq < VFIOD_MAX_IRQS ? nirq : VFIOD_MAX_IRQS;
    /* An index the device cannot describe (VFIO's VGA region on a non-VGA device) stays empty. */
    for (uint32_t i = 0; i < s->num_regions; i++) {
        struct vfiod_region reg;
        int fd = -1;

        memset(&reg, 0, sizeof(reg));
        if (ops->region_info(dev, i, &reg, &fd) == 0) {
            s->region[i].flags = reg.flags;
            s->region[i].size = reg.size;
        }
    }
    for (uint32_t i = 0; i < s->num_irqs; i++) {
        uint32_t f = 0, c = 0;

        if (ops->irq_info(dev, i, &f, &c) == 0) {
            s->irq[i].flags = f;
            s->irq[i].count = c;
        }
    }
    return 0;
}

void vfiod_server_set_log(struct vfiod_server *s, vfiod_log_fn fn, void *opaque)
{
    s->log = fn;
    s->log_opaque = opaque;
}

void vfiod_server_disconnect(struct vfiod_server *s)
{
    /* Interrupts first, so that a device still running signals nobody; then its memory. */
    for (uint32_t i = 0; i < s->num_irqs; i++)
        if (s->irqs_enabled & (1u << i))
            s->ops->set_irqs(s->dev, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER, i, 0, 0,
                             NULL, NULL);
    s->irqs_enabled = 0;
    vfiod_dma_clear(&s->dma, s->ops, s->dev);
    s->versioned = false;
    peer_defaults(s);
}

void vfiod_server_destroy(struct vfiod_server *s)
{
    if (!s->ops)
        return;
    vfiod_server_disconnect(s);
    s->ops = NULL;
    s->dev = NULL;
}
