#include "core/controller/unix_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int unix_stream(const char *path, struct sockaddr_un *sa, bool nonblock)
{
    int fd;

    *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    return fd < 0 ? -errno : fd;
}

int unix_connect(const char *path, bool nonblock, int *out)
{
    struct sockaddr_un sa;
    int fd = unix_stream(path, &sa, nonblock);
    int e;

    if (fd < 0)
        return fd;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        e = errno == EINPROGRESS ? -EAGAIN : -errno;
        close(fd);
        return e;
    }
    if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        e = -errno;
        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}
