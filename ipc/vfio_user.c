#include "ipc/vfio_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdsend.h"

_Static_assert(sizeof(struct vfu_hdr) == 16, "header size");
_Static_assert(sizeof(struct vfu_dma_map) == 32, "dma map size");
_Static_assert(sizeof(struct vfu_dma_unmap) == 24, "dma unmap size");
_Static_assert(sizeof(struct vfu_region_info) == 32, "region info size");
_Static_assert(sizeof(struct vfu_cap_sparse) == 16, "sparse cap size");
_Static_assert(sizeof(struct vfu_irq_set) == 20, "irq set size");
_Static_assert(sizeof(struct vfu_region_access) == 16, "region access size");

#define HDR_SIZE sizeof(struct vfu_hdr)

int vfu_send(int sock, struct vfu_hdr *hdr, const void *payload, size_t len, const int *fds,
             unsigned nfds)
{
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = HDR_SIZE },
        { .iov_base = (void *)payload, .iov_len = len },
    };

    if (nfds > VFU_MAX_FDS)
        return -EINVAL;
    if (len > VFU_MAX_MSG - HDR_SIZE || (len && !payload))
        return -EMSGSIZE;
    hdr->size = (uint32_t)(HDR_SIZE + len);
    return ipc_sendv(sock, iov, len ? 2 : 1, fds, nfds);
}

static void close_fds(int *fds, unsigned *nfds)
{
    for (unsigned i = 0; i < *nfds; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
    *nfds = 0;
}

/*
 * Moves every SCM_RIGHTS fd of msg into m->fds. Any fd past max_fds (or fds the kernel dropped
 * because the control buffer was full: MSG_CTRUNC) makes the result -E2BIG; the fds are kept
 * until the caller closes them so that the stream can still be drained.
 */
static int take_fds(struct msghdr *msg, struct vfu_msg *m, unsigned max_fds)
{
    int r = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t cnt;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < cnt; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (m->nfds < max_fds && m->nfds < VFU_MAX_FDS) {
                m->fds[m->nfds++] = fd;
            } else {
                close(fd);
                r = -E2BIG;
            }
        }
    }
    if (msg->msg_flags & MSG_CTRUNC)
        r = -E2BIG;
    return r;
}

/*
 * Reads exactly len bytes. with_fds: fds that come along are taken (header); otherwise they are
 * closed and reported as -EPROTO after the bytes were read, so the stream keeps its framing.
 * Returns 0, -ECONNRESET at end of stream (*got tells how far it came), or -errno.
 */
static int read_exact(int sock, void *buf, size_t len, struct vfu_msg *m, unsigned max_fds,
                      bool with_fds, size_t *got, int *fd_err)
{
    size_t done = 0;

    while (done < len) {
        union {
            char raw[CMSG_SPACE(sizeof(int) * VFU_MAX_FDS)];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { .iov_base = (char *)buf + done, .iov_len = len - done };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;
        int r;

        msg.msg_control = ctl.raw;
        msg.msg_controllen = sizeof(ctl.raw);
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (msg.msg_controllen) {
            if (with_fds) {
                r = take_fds(&msg, m, max_fds);
            } else {
                struct vfu_msg stray = { .nfds = 0 };

                take_fds(&msg, &stray, VFU_MAX_FDS);
                close_fds(stray.fds, &stray.nfds);
                r = -EPROTO;
            }
            if (r && !*fd_err)
                *fd_err = r;
        }
        if (n == 0) {
            *got = done;
            return -ECONNRESET;
        }
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

int vfu_recv(int sock, struct vfu_msg *m, size_t max_size, unsigned max_fds)
{
    size_t got = 0, len;
    int fd_err = 0;
    int r;

    memset(m, 0, sizeof(*m));
    for (unsigned i = 0; i < VFU_MAX_FDS; i++)
        m->fds[i] = -1;
    if (max_size > VFU_MAX_MSG)
        max_size = VFU_MAX_MSG;
    r = read_exact(sock, &m->hdr, HDR_SIZE, m, max_fds, true, &got, &fd_err);
    if (r == -ECONNRESET && got == 0 && m->nfds == 0 && !fd_err) {
        r = 0; /* clean end of stream, between messages */
        goto fail;
    }
    if (r)
        goto fail;
    if (m->hdr.size < HDR_SIZE || m->hdr.size > max_size) {
        r = -EMSGSIZE;
        goto fail;
    }
    len = m->hdr.size - HDR_SIZE;
    if (len) {
        m->payload = malloc(len);
        if (!m->payload) {
            r = -ENOMEM;
            goto fail;
        }
        r = read_exact(sock, m->payload, len, m, max_fds, false, &got, &fd_err);
        if (r)
            goto fail;
        m->len = len;
    }
    if (fd_err) {
        /* The message was read whole: the header stays so that the caller can answer it. */
        free(m->payload);
        m->payload = NULL;
        m->len = 0;
        close_fds(m->fds, &m->nfds);
        return fd_err;
    }
    return 1;
fail:
    free(m->payload);
    m->payload = NULL;
    m->len = 0;
    close_fds(m->fds, &m->nfds);
    return r;
}

void vfu_msg_release(struct vfu_msg *m)
{
    free(m->payload);
    m->payload = NULL;
    m->len = 0;
    if (m->nfds > VFU_MAX_FDS)
        m->nfds = VFU_MAX_FDS;
    close_fds(m->fds, &m->nfds);
}

void vfu_reply_hdr(const struct vfu_hdr *req, struct vfu_hdr *rep, uint32_t err)
{
    memset(rep, 0, sizeof(*rep));
    rep->msg_id = req->msg_id;
    rep->command = req->command;
    rep->size = HDR_SIZE;
    rep->flags = VFU_F_TYPE_REPLY | (err ? VFU_F_ERROR : 0);
    rep->error = err;
}

static int bad(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
    return -EINVAL;
}

const char *vfu_cmd_name(uint16_t cmd)
{
    static const char *const names[VFU_CMD_MAX + 1] = {
        [VFU_CMD_VERSION] = "VERSION",
        [VFU_CMD_DMA_MAP] = "DMA_MAP",
        [VFU_CMD_DMA_UNMAP] = "DMA_UNMAP",
        [VFU_CMD_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
        [VFU_CMD_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
        [VFU_CMD_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
        [VFU_CMD_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
        [VFU_CMD_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
        [VFU_CMD_REGION_READ] = "REGION_READ",
        [VFU_CMD_REGION_WRITE] = "REGION_WRITE",
        [VFU_CMD_DMA_READ] = "DMA_READ",
        [VFU_CMD_DMA_WRITE] = "DMA_WRITE",
        [VFU_CMD_DEVICE_RESET] = "DEVICE_RESET",
    };

    return cmd < VFU_CMD_MAX + 1 && names[cmd] ? names[cmd] : "UNKNOWN";
}

static int fmt(char *err, size_t errlen, const struct vfu_msg *m, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", vfu_cmd_name(m->hdr.command), what);
    return -EINVAL;
}

static int check_set_irqs(const struct vfu_msg *m, char *err, size_t errlen)
{
    const uint32_t data = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_DATA_EVENTFD;
    const uint32_t action =
        VFU_IRQ_SET_ACTION_MASK | VFU_IRQ_SET_ACTION_UNMASK | VFU_IRQ_SET_ACTION_TRIGGER;
    struct vfu_irq_set s;

    if (m->len < sizeof(s))
        return fmt(err, errlen, m, "payload too short");
    memcpy(&s, m->payload, sizeof(s));
    if (s.argsz != m->len)
        return fmt(err, errlen, m, "argsz does not match the payload");
    if (s.flags & ~(data | action))
        return fmt(err, errlen, m, "unknown flags");
    /* Exactly one data type and one action, as VFIO demands. */
    if (__builtin_popcount(s.flags & data) != 1 || __builtin_popcount(s.flags & action) != 1)
        return fmt(err, errlen, m, "flags need one data type and one action");
    switch (s.flags & data) {
    case VFU_IRQ_SET_DATA_BOOL:
        if (m->len - sizeof(s) != s.count)
            return fmt(err, errlen, m, "bool bytes do not match count");
        return m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    case VFU_IRQ_SET_DATA_EVENTFD:
        if (m->len != sizeof(s))
            return fmt(err, errlen, m, "trailing bytes");
        return m->nfds == s.count ? 0 : fmt(err, errlen, m, "fd count differs from count");
    default:
        if (m->len != sizeof(s))
            return fmt(err, errlen, m, "trailing bytes");
        return m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    }
}

static int check_access(const struct vfu_msg *m, bool write, char *err, size_t errlen)
{
    struct vfu_region_access a;

    if (m->len < sizeof(a))
        return fmt(err, errlen, m, "payload too short");
    memcpy(&a, m->payload, sizeof(a));
    if (a.count == 0 || a.count > VFU_MAX_DATA)
        return fmt(err, errlen, m, "count out of range");
    if (m->len != sizeof(a) + (write ? a.count : 0))
        return fmt(err, errlen, m, "payload size does not match count");
    return m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
}

/* The fixed-size requests whose first word is argsz: exact payload size, argsz at least that. */
static int check_argsz(const struct vfu_msg *m, size_t size, bool exact_argsz, char *err,
                       size_t errlen)
{
    uint32_t argsz;

    if (m->len != size)
        return fmt(err, errlen, m, "payload size");
    memcpy(&argsz, m->payload, sizeof(argsz));
    if (argsz < size || (exact_argsz && argsz != size))
        return fmt(err, errlen, m, "argsz");
    return 0;
}

int vfu_check_request(const struct vfu_msg *m, char *err, size_t errlen)
{
    uint32_t flags;
    int r;

    if ((m->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND)
        return bad(err, errlen, "not a command");
    if (m->hdr.flags & ~(VFU_F_TYPE_MASK | VFU_F_NO_REPLY))
        return bad(err, errlen, "unknown header flags");
    if (m->hdr.size != HDR_SIZE + m->len || m->len > VFU_MAX_MSG - HDR_SIZE)
        return bad(err, errlen, "header size does not match the payload");
    if (m->nfds > VFU_MAX_FDS)
        return bad(err, errlen, "too many fds");
    if (m->len && !m->payload)
        return bad(err, errlen, "missing payload");
    switch (m->hdr.command) {
    case VFU_CMD_VERSION:
        if (m->len < sizeof(struct vfu_version) ||
            m->len > sizeof(struct vfu_version) + VFU_MAX_VERSION)
            return fmt(err, errlen, m, "payload size");
        return m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    case VFU_CMD_DMA_MAP:
        r = check_argsz(m, sizeof(struct vfu_dma_map), true, err, errlen);
        if (r)
            return r;
        memcpy(&flags, m->payload + 4, sizeof(flags));
        if (flags & ~(VFU_DMA_READ | VFU_DMA_WRITE))
            return fmt(err, errlen, m, "unknown flags");
        /* Only fd-backed mappings: DMA_READ/DMA_WRITE messages are not offered. */
        return m->nfds == 1 ? 0 : fmt(err, errlen, m, "needs exactly one fd");
    case VFU_CMD_DMA_UNMAP:
        r = check_argsz(m, sizeof(struct vfu_dma_unmap), true, err, errlen);
        if (r)
            return r;
        memcpy(&flags, m->payload + 4, sizeof(flags));
        if (flags)
            return fmt(err, errlen, m, "dirty bitmap and unmap-all are not offered");
        return m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    case VFU_CMD_DEVICE_GET_INFO:
        r = check_argsz(m, sizeof(struct vfu_device_info), false, err, errlen);
        return r ? r : m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    case VFU_CMD_DEVICE_GET_REGION_INFO:
        r = check_argsz(m, sizeof(struct vfu_region_info), false, err, errlen);
        return r ? r : m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    case VFU_CMD_DEVICE_GET_IRQ_INFO:
        r = check_argsz(m, sizeof(struct vfu_irq_info), false, err, errlen);
        return r ? r : m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    case VFU_CMD_DEVICE_SET_IRQS:
        return check_set_irqs(m, err, errlen);
    case VFU_CMD_REGION_READ:
        return check_access(m, false, err, errlen);
    case VFU_CMD_REGION_WRITE:
        return check_access(m, true, err, errlen);
    case VFU_CMD_DEVICE_RESET:
        if (m->len)
            return fmt(err, errlen, m, "payload size");
        return m->nfds ? fmt(err, errlen, m, "unexpected fds") : 0;
    default:
        return fmt(err, errlen, m, "command not served");
    }
}
