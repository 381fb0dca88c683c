#ifndef CELLVM_VSOCKD_HOST_UNIX_H
#define CELLVM_VSOCKD_HOST_UNIX_H

/*
 * The host side of the hybrid vsock protocol (Firecracker's, kept by Cloud Hypervisor): host
 * programs connect to the socket PATH and say "CONNECT <port>\n" (answered "OK <local port>\n"),
 * and a guest connecting to host port P reaches whoever listens on PATH_P. Every socket here is
 * non-blocking and close-on-exec; every send avoids SIGPIPE.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The longest handshake line, newline included, as Cloud Hypervisor bounds it. */
#define HOST_HANDSHAKE_MAX 32u

/* Binds and listens on path (a stale socket there is replaced). *fd owned by the caller. */
int host_listen(const char *path, int *fd);
/* Accepts one pending connection: 0 with *fd, -EAGAIN when none is left, -errno. */
int host_accept(int listen_fd, int *fd);
/*
 * Reads the handshake without consuming any byte past its newline. 1 with *port, 0 when the
 * line is incomplete (wait for more), -EPROTO for a malformed or overlong line, -ECONNRESET on
 * EOF, -errno.
 */
int host_handshake(int fd, uint32_t *port);
/* Parses "CONNECT <port>" (keyword in any case, decimal u32). 0 or -EPROTO. Exposed for tests. */
int host_parse_connect(const char *line, size_t len, uint32_t *port);
/* Connects to "<dir>/<name>_<port>". 0 with *fd (connected), -errno (-ENAMETOOLONG, refused). */
int host_connect(const char *dir, const char *name, uint32_t port, int *fd);
/* "OK <port>\n". 0, or -errno (a short write counts as -EAGAIN). */
int host_send_ok(int fd, uint32_t port);
/*
 * Sets SO_SNDBUF on fd to bytes: the kernel then holds about twice that of unread data we sent
 * (it doubles the value for its bookkeeping, after capping it at net.core.wmem_max). With room
 * for the whole credit a guest may use, a host reader that keeps up never makes us copy guest
 * bytes into our own buffer or wait for EPOLLOUT. Best effort: 0 or -errno; the socket works
 * either way.
 */
int host_set_sndbuf(int fd, uint32_t bytes);
/* sendmsg/recvmsg without blocking: bytes, 0 for EOF (recv), -EAGAIN or -errno. */
ssize_t host_send(int fd, const struct iovec *iov, unsigned n);
ssize_t host_recv(int fd, const struct iovec *iov, unsigned n);

#endif
