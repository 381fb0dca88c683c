#include "ipc/channel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdsend.h"

int ipc_chan_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    return 0;
}

void ipc_close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

int ipc_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    if (len == 0 || len > IPC_MAX_PACKET || nfds > IPC_MAX_FDS)
        return -EMSGSIZE;
    /* SEQPACKET: the packet goes whole or not at all, so ipc_sendv sends it once. */
    return ipc_sendv(sock, &iov, 1, fds, nfds);
}

/* Collects every fd of every SCM_RIGHTS header; returns how many were stored, or -EMSGSIZE
 * (all closed) when there were more than maxfds. */
static int take_fds(struct msghdr *msg, int *fds, size_t maxfds, size_t *nfds)
{
    int extra[IPC_MAX_FDS];
    size_t got = 0, over = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t n;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (got < maxfds)
                fds[got++] = fd;
            else if (over < IPC_MAX_FDS)
                extra[over++] = fd;
            else
                close(fd);
        }
    }
    *nfds = got;
    if (over) {
        ipc_close_fds(extra, over);
        ipc_close_fds(fds, got);
        *nfds = 0;
        return -EMSGSIZE;
    }
    return 0;
}

ssize_t ipc_recv(int sock, void *buf, size_t cap, int *fds, size_t maxfds, size_t *nfds)
{
    union {
        char raw[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.raw,
        .msg_controllen = sizeof(ctl.raw),
    };
    ssize_t n;
    int r;

    *nfds = 0;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    r = take_fds(&msg, fds, maxfds, nfds);
    if (r < 0)
        return r;
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (n == 0 && *nfds)) {
        ipc_close_fds(fds, *nfds);
        *nfds = 0;
        return -EMSGSIZE;
    }
    return n;
}
