/*
 * DEVICE_STATE on the frontend side (issue 18, split from vu_frontend.c): the backend's state
 * read out of it, or written into it, through a socket pair (the protocol takes any fd that
 * ends in EOF; a pipe would need syscalls the core's jail does not have), then checked with
 * CHECK_DEVICE_STATE. Every wait is bounded: a backend that stops moving bytes ends the call
 * with -ETIMEDOUT, one that sends more than max with -EFBIG.
 */
#include "ipc/vu_frontend.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long the transfer may go without progress. */
#define STATE_WAIT_MS 5000

bool vu_fe_has_device_state(const struct vu_frontend *fe)
{
    return fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE);
}

/* The u64 answer to req, with at most one fd (in *fd when given, else refused). */
static int recv_u64(struct vu_frontend *fe, uint32_t req, uint64_t *v, int *fd)
{
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;
    struct vu_msg m;
    int r = vu_msg_recv(fe->sock, &m, fds, &nfds);

    if (r == 0)
        return -ECONNRESET;
    if (r < 0)
        return r;
    r = !(m.hdr.flags & VHOST_USER_FLAG_REPLY) || m.hdr.request != req || m.hdr.size != 8 ||
                nfds > 1 || (nfds && !fd)
            ? -EBADMSG
            : 0;
    for (size_t i = 0; i < nfds; i++) {
        if (!r && fd)
            *fd = fds[i];
        else
            close(fds[i]);
    }
    if (!r)
        *v = m.p.u64;
    return r;
}

/* SET_DEVICE_STATE_FD with the backend's end of a new socket pair; *mine is ours (or the fd
 * the backend answered with instead). */
static int open_transfer(struct vu_frontend *fe, uint32_t direction, int *mine)
{
    struct vu_msg m;
    uint64_t v = 0;
    int sv[2], theirs = -1, r;

    if (!vu_fe_has_device_state(fe))
        return -ENOTSUP;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    vu_msg_init(&m, VHOST_USER_SET_DEVICE_STATE_FD, 0, sizeof(m.p.dstate));
    m.p.dstate.direction = direction;
    m.p.dstate.phase = VHOST_USER_TRANSFER_STATE_PHASE_STOPPED;
    r = vu_msg_send(fe->sock, &m, &sv[1], 1);
    close(sv[1]);
    if (!r)
        r = recv_u64(fe, VHOST_USER_SET_DEVICE_STATE_FD, &v, &theirs);
    if (!r && (v & VHOST_USER_DEVICE_STATE_ERR_MASK))
        r = -EIO;
    else if (!r && !(v & VHOST_USER_DEVICE_STATE_NOFD) && theirs < 0)
        r = -EBADMSG; /* said it sent its own fd, and did not */
    if (!r && theirs >= 0 && !(v & VHOST_USER_DEVICE_STATE_NOFD)) {
        close(sv[0]);
        *mine = theirs; /* blocking, probably: the polls below still bound every wait */
        return 0;
    }
    if (theirs >= 0)
        close(theirs);
    if (r) {
        close(sv[0]);
        return r;
    }
    *mine = sv[0];
    return 0;
}

static int check(struct vu_frontend *fe)
{
    struct vu_msg m;
    uint64_t v = 0;
    int r;

    vu_msg_init(&m, VHOST_USER_CHECK_DEVICE_STATE, 0, 0);
    r = vu_msg_send(fe->sock, &m, NULL, 0);
    if (!r)
        r = recv_u64(fe, VHOST_USER_CHECK_DEVICE_STATE, &v, NULL);
    return r ? r : v ? -EIO : 0;
}

static int wait_fd(int fd, short what)
{
    struct pollfd p = { .fd = fd, .events = what };
    int n;

    do
        n = poll(&p, 1, STATE_WAIT_MS);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n ? 0 : -ETIMEDOUT;
}

int vu_fe_save_state(struct vu_frontend *fe, uint8_t **out, size_t *len, size_t max)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    int fd = -1, r;

    if (!buf)
        return -ENOMEM;
    r = open_transfer(fe, VHOST_USER_TRANSFER_STATE_SAVE, &fd);
    while (!r) {
        ssize_t k;

        if (n == cap) {
            uint8_t *t = cap > max ? NULL : realloc(buf, cap * 2);

            if (!t) {
                r = cap > max ? -EFBIG : -ENOMEM;
                break;
            }
            buf = t;
            cap *= 2;
        }
        k = read(fd, buf + n, cap - n);
        if (k > 0) {
            n += (size_t)k;
            if (n > max)
                r = -EFBIG;
        } else if (k == 0) {
            break;
        } else if (errno == EAGAIN) {
            r = wait_fd(fd, POLLIN);
        } else if (errno != EINTR) {
            r = -errno;
        }
    }
    if (fd >= 0)
        close(fd);
    /* Checked even after a local failure, so the backend ends its side of the transfer. */
    if (fd >= 0) {
        int c = check(fe);

        if (!r)
            r = c;
    }
    if (r) {
        free(buf);
        return r;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* A write that cannot raise SIGPIPE on our socket pair (sendmsg); write only on a pipe a
 * backend answered with instead, where the core's ignored SIGPIPE makes a closed end -EPIPE. */
static ssize_t put(int fd, const uint8_t *p, size_t n)
{
    struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (k < 0 && errno == ENOTSOCK)
        k = write(fd, p, n);
    return k;
}

int vu_fe_load_state(struct vu_frontend *fe, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    int fd = -1, r, c;

    r = open_transfer(fe, VHOST_USER_TRANSFER_STATE_LOAD, &fd);
    if (r)
        return r;
    while (!r && n < len) {
        ssize_t k = put(fd, buf + n, len - n);

        if (k > 0)
            n += (size_t)k;
        else if (k < 0 && errno == EAGAIN)
            r = wait_fd(fd, POLLOUT);
        else if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k == 0)
            r = -EIO;
    }
    close(fd); /* EOF: the backend checks what it read */
    c = check(fe);
    return r ? r : c;
}
