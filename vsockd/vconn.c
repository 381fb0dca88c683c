#include "vsockd/vconn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "ipc/channel.h"
#include "ipc/msg.h"

void vconn_init(struct vconn *vc)
{
    vc->fd = -1;
    vc->kind = VCONN_NONE;
    vc->seq = 0;
}

void vconn_set(struct vconn *vc, int fd, enum vconn_kind kind)
{
    vconn_close(vc);
    vc->fd = fd;
    vc->kind = fd >= 0 ? kind : VCONN_NONE;
}

void vconn_close(struct vconn *vc)
{
    if (vc->fd >= 0)
        close(vc->fd);
    vc->fd = -1;
    vc->kind = VCONN_NONE;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ask(struct vconn *vc, uint32_t port)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VsockConnect req = CELLVM__VSOCK_CONNECT__INIT;
    struct vconn_req raw = { .seq = vc->seq, .port = port };

    if (vc->kind == VCONN_CONNECTOR)
        return ipc_send(vc->fd, &raw, sizeof(raw), NULL, 0);
    req.port = port;
    req.seq = vc->seq;
    env.body_case = CELLVM__ENVELOPE__BODY_VSOCK_CONNECT;
    env.vsock_connect = &req;
    return ipc_send_envelope(vc->fd, &env, NULL, 0);
}

/* Reads one answer: 1 with its *seq, *errnum and (errnum 0) *fd, or -errno when the channel
   broke or the packet makes no sense. Validated first: an errno comes with no fd, a success
   with exactly one. */
static int take_answer(struct vconn *vc, uint32_t *seq, int *errnum, int *fd)
{
    Cellvm__Envelope *env = NULL;
    int fds[IPC_MAX_FDS];
    struct vconn_ans raw;
    const char *why = NULL;
    size_t nfds = 0;
    ssize_t n;
    int r;

    if (vc->kind == VCONN_CONNECTOR) {
        n = ipc_recv(vc->fd, &raw, sizeof(raw), fds, 1, &nfds);
        if (n <= 0)
            return n == 0 ? -EPIPE : (int)n;
        if (n != (ssize_t)sizeof(raw) || raw.errnum < 0 || raw.errnum > 4095 ||
            nfds != (raw.errnum ? 0u : 1u)) {
            ipc_close_fds(fds, nfds);
            return -EPROTO;
        }
        *seq = raw.seq;
        *errnum = raw.errnum;
    } else {
        r = ipc_recv_envelope(vc->fd, &env, fds, IPC_MAX_FDS, &nfds, &why);
        if (r)
            return r;
        if (env->body_case != CELLVM__ENVELOPE__BODY_VSOCK_CONNECT_RESULT) {
            ipc_close_fds(fds, nfds);
            ipc_free_envelope(env);
            return -EPROTO;
        }
        *seq = env->vsock_connect_result->seq;
        *errnum = env->vsock_connect_result->errnum;
        ipc_free_envelope(env);
    }
    *fd = *errnum ? -1 : fds[0];
    return 1;
}

int vconn_connect(void *arg, uint32_t port, int *fd)
{
    struct vconn *vc = arg;
    int64_t deadline = now_ms() + VCONN_WAIT_MS;
    int r;

    if (vc->fd < 0)
        return -ENOTCONN;
    vc->seq++;
    r = ask(vc, port);
    if (r)
        return r;
    for (;;) {
        struct pollfd p = { .fd = vc->fd, .events = POLLIN };
        int64_t left = deadline - now_ms();
        int errnum = 0, got = -1;
        uint32_t seq = 0;

        if (left <= 0)
            return -ETIMEDOUT;
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -ETIMEDOUT;
        r = take_answer(vc, &seq, &errnum, &got);
        if (r < 0)
            return r;
        if (seq != vc->seq) {
            if (got >= 0)
                close(got); /* the answer to a request that already gave up */
            continue;
        }
        if (errnum)
            return -errnum;
        /* The peer made it non-blocking; the data plane must never block on it regardless. */
        if (fcntl(got, F_SETFL, O_NONBLOCK) < 0) {
            r = -errno;
            close(got);
            return r;
        }
        *fd = got;
        return 0;
    }
}
