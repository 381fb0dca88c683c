#ifndef CELLVM_CORE_CONTROLLER_UNIX_SOCK_H
#define CELLVM_CORE_CONTROLLER_UNIX_SOCK_H

#include <stdbool.h>
#include <sys/un.h>

/* Unix stream sockets the controller makes for others: the vsock listener it binds and the
 * external vhost-user backends (vhost_user=on,socket=) it connects to. */

/* A new CLOEXEC unix stream socket (non-blocking with nonblock) and PATH's address for it: the
 * fd, or -errno (-ENAMETOOLONG when PATH does not fit). */
int unix_stream(const char *path, struct sockaddr_un *sa, bool nonblock);

/*
 * Connects to PATH. With nonblock the attempt never waits (a backend's full backlog is
 * -EAGAIN, as is a connection still in progress); the connected fd is blocking either way.
 * 0 with *out, or -errno: -ENOENT or -ECONNREFUSED while nobody listens there.
 */
int unix_connect(const char *path, bool nonblock, int *out);

#endif
