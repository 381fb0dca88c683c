#include "vsockd/host_unix.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int host_listen(const char *path, int *fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int s, r;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path));
    /* A socket left by an earlier run; never remove anything else. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -errno;
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 128) < 0) {
        r = -errno;
        close(s);
        return r;
    }
    *fd = s;
    return 0;
}

int host_accept(int listen_fd, int *fd)
{
    int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (c < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    *fd = c;
    return 0;
}

int host_parse_connect(const char *line, size_t len, uint32_t *port)
{
    uint64_t v = 0;
    size_t i = 7, digits = 0;

    if (len < 9 || strncasecmp(line, "connect", 7) != 0)
        return -EPROTO;
    while (i < len && line[i] == ' ')
        i++;
    if (i == 7)
        return -EPROTO;
    for (; i < len && line[i] >= '0' && line[i] <= '9'; i++, digits++) {
        v = v * 10 + (uint64_t)(line[i] - '0');
        if (v > UINT32_MAX)
            return -EPROTO;
    }
    if (!digits || i != len)
        return -EPROTO;
    *port = (uint32_t)v;
    return 0;
}

int host_handshake(int fd, uint32_t *port)
{
    char line[HOST_HANDSHAKE_MAX];
    const char *nl;
    ssize_t n;

    /* Peek, so payload a client sent right behind the line stays in the socket. */
    n = recv(fd, line, sizeof(line), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0)
        return errno == EWOULDBLOCK ? 0 : -errno;
    if (n == 0)
        return -ECONNRESET;
    nl = memchr(line, '\n', (size_t)n);
    if (!nl)
        return (size_t)n == sizeof(line) ? -EPROTO : 0;
    n = nl - line + 1;
    if (recv(fd, line, (size_t)n, MSG_DONTWAIT) != n)
        return -EIO;
    n--;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    return host_parse_connect(line, (size_t)n, port) ? -EPROTO : 1;
}

int host_connect(const char *dir, const char *name, uint32_t port, int *fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s_%u", dir, name, port);
    int s, r;

    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -errno;
    /* A unix stream connect completes at once or fails (EAGAIN: the backlog is full). */
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(s);
        return r;
    }
    *fd = s;
    return 0;
}

int host_send_ok(int fd, uint32_t port)
{
    char line[24];
    int n = snprintf(line, sizeof(line), "OK %u\n", port);
    struct iovec v = { .iov_base = line, .iov_len = (size_t)n };
    ssize_t w = host_send(fd, &v, 1);

    if (w < 0)
        return (int)w;
    return w == n ? 0 : -EAGAIN;
}

int host_set_sndbuf(int fd, uint32_t bytes)
{
    int v = bytes > INT32_MAX / 2 ? INT32_MAX / 2 : (int)bytes;

    return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) < 0 ? -errno : 0;
}

ssize_t host_send(int fd, const struct iovec *iov, unsigned n)
{
    struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
    ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (w < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return w;
}

ssize_t host_recv(int fd, const struct iovec *iov, unsigned n)
{
    struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
    ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);

    if (r < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return r;
}
