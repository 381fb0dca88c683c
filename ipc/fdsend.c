#include "ipc/fdsend.h"

#include <errno.h>
#include <string.h>

int ipc_sendv(int sock, struct iovec *iov, size_t iovcnt, const int *fds, size_t nfds)
{
    union {
        char raw[CMSG_SPACE(sizeof(int) * IPC_SENDV_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = iovcnt };

    if (nfds > IPC_SENDV_MAX_FDS)
        return -EINVAL;
    if (nfds) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.raw;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    /* Empty entries first and last would stall the loop below: skip them. */
    while (msg.msg_iovlen && !msg.msg_iov[0].iov_len && !nfds) {
        msg.msg_iov++;
        msg.msg_iovlen--;
    }
    while (msg.msg_iovlen) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        size_t left;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        /* The fds went with the first byte; the rest is plain data. */
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        left = (size_t)n;
        while (msg.msg_iovlen && left >= msg.msg_iov[0].iov_len) {
            left -= msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + left;
            msg.msg_iov[0].iov_len -= left;
        }
    }
    return 0;
}
