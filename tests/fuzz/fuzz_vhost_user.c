/*
 * Feeds vhost-user messages to the backend state machine. Input: a sequence of records
 * {u32 request, u32 flags, u16 size, size payload bytes}; each becomes one message on a
 * socketpair, with the fds its request type carries (memfd-backed guest memory, eventfds, a
 * backend channel) attached, so memory tables map and queues start. Every region is the same
 * memfd; a record with request GUEST_WRITE copies its payload into it at offset `flags`, so
 * the input lays out rings and descriptors. The test device drains every queue it is given
 * synchronously, which walks whatever the input laid out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "device-procs/vu_backend.h"
#include "ipc/vhost_user.h"

#define MEM_SIZE    (1u << 20)
#define GUEST_WRITE 0xffffffffu

struct run {
    int mem_fd;
    uint8_t *mem;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int drain_queue(void *dev, uint16_t idx, struct virtq *vq)
{
    static struct virtq_elem e;
    int r;

    (void)dev;
    (void)idx;
    for (int n = 0; n < 64 && (r = virtq_pop(vq, &e)) == 1; n++) {
        /* Write the device's whole writable part, as a read request would. */
        for (unsigned i = e.out_num; i < (unsigned)e.out_num + e.in_num; i++)
            memset(e.iov[i].iov_base, 0x5a, e.iov[i].iov_len);
        virtq_push(vq, &e, (uint32_t)e.in_len);
    }
    virtq_notify(vq);
    virtq_enable_notify(vq);
    return 0;
}

static int stop_queue(void *dev, uint16_t idx)
{
    (void)dev;
    (void)idx;
    return 0;
}

static int get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    (void)dev;
    memset(buf, (int)off, len);
    return 0;
}

static const struct devproc_ops ops = {
    .name = "fuzz",
    .spec_option = "fuzz",
    .features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                (1ull << VIRTIO_RING_F_INDIRECT_DESC),
    .max_queues = 2,
    .protocol_features =
        (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ),
    .config_size = 60,
    .get_config = get_config,
    .start_queue = drain_queue,
    .stop_queue = stop_queue,
};

static int run_init(struct run *g)
{
    g->mem = NULL;
    g->mem_fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (g->mem_fd < 0)
        return -1;
    if (ftruncate(g->mem_fd, MEM_SIZE) == 0) {
        void *p = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->mem_fd, 0);

        if (p != MAP_FAILED) {
            g->mem = p;
            return 0;
        }
    }
    close(g->mem_fd);
    return -1;
}

static void run_fini(struct run *g)
{
    munmap(g->mem, MEM_SIZE);
    close(g->mem_fd);
}

/* fds the request type carries; returns their count. */
static size_t make_fds(const struct run *g, const struct vu_msg *m, int *fds)
{
    size_t n = 0;

    switch (m->hdr.request) {
    case VHOST_USER_SET_MEM_TABLE:
        for (uint32_t i = 0; i < m->p.mem.nregions && i < VHOST_USER_MAX_REGIONS; i++)
            fds[n++] = dup(g->mem_fd);
        break;
    case VHOST_USER_ADD_MEM_REG:
    case VHOST_USER_SET_INFLIGHT_FD:
        fds[n++] = dup(g->mem_fd);
        break;
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
        if (!(m->p.u64 & VHOST_USER_VRING_NOFD))
            fds[n++] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        break;
    case VHOST_USER_SET_BACKEND_REQ_FD: {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0) {
            close(sv[0]); /* the frontend end: config-change sends then fail, harmlessly */
            fds[n++] = sv[1];
        }
        break;
    }
    default:
        break;
    }
    return n;
}

/* Throws away whatever the backend answered, fds included. */
static void drain_replies(int sock)
{
    char buf[4096];
    char ctl[CMSG_SPACE(sizeof(int) * 16)];

    for (;;) {
        struct iovec iov = { buf, sizeof(buf) };
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
        };
        ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n <= 0)
            return;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            for (size_t i = 0; i < cnt; i++) {
                int fd;

                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                close(fd);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vu_backend *b = NULL;
    struct run g;
    int sv[2];
    size_t pos = 0;

    if (run_init(&g))
        return 0;
    b = vu_backend_new(&ops, NULL);
    if (!b || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        vu_backend_free(b);
        run_fini(&g);
        return 0;
    }
    while (size - pos >= 10) {
        struct vu_msg m;
        int fds[VHOST_USER_MAX_FDS];
        size_t nfds;
        uint16_t len;
        int r;

        memset(&m, 0, sizeof(m));
        memcpy(&m.hdr.request, data + pos, 4);
        memcpy(&m.hdr.flags, data + pos + 4, 4);
        memcpy(&len, data + pos + 8, 2);
        pos += 10;
        if (len > VU_MAX_PAYLOAD)
            len = VU_MAX_PAYLOAD;
        if (len > size - pos)
            len = (uint16_t)(size - pos);
        memcpy(&m.p, data + pos, len);
        pos += len;
        m.hdr.size = len;
        if (m.hdr.request == GUEST_WRITE) {
            uint32_t off = m.hdr.flags % MEM_SIZE;

            memcpy(g.mem + off, &m.p, len <= MEM_SIZE - off ? len : MEM_SIZE - off);
            continue;
        }
        /* Mostly well-versioned, so the input reaches the state machine. */
        m.hdr.flags = (m.hdr.flags & ~3u) | VHOST_USER_VERSION;
        nfds = make_fds(&g, &m, fds);
        r = vu_msg_send(sv[0], &m, fds, nfds);
        for (size_t i = 0; i < nfds; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (r)
            break;
        r = vu_backend_handle(b, sv[1]);
        drain_replies(sv[0]);
        if (r)
            break;
    }
    close(sv[0]);
    close(sv[1]);
    vu_backend_free(b);
    run_fini(&g);
    return 0;
}
