#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * A vhost-user-vsock backend: guest memory and eventfds arrive on the vhost-user socket (mapped
 * shared, never executable: the base's mmap rule); the hybrid listener, the epoll set and the
 * worker's eventfd exist before the jail. The only new sockets are AF_UNIX streams connected to
 * <socket>_<port> inside the one bind-mounted socket directory; no other family, no bind, no
 * listen, no open.
 */
static const struct sbx_rule vsockd[] = {
    SBX_ALLOW2(socket, SBX_ARG(0, SCMP_CMP_EQ, AF_UNIX, 0),
               SBX_ARG(1, SCMP_CMP_EQ, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
               "a guest connect to host port P: a unix stream to <socket>_P"),
    SBX_ALLOW(connect,
              "to <socket>_P in the bind-mounted socket directory (nothing else is there)"),
    SBX_ALLOW(recvfrom, "the CONNECT line is peeked so bytes behind it stay in the socket"),
    SBX_ALLOW(shutdown, "a guest SHUTDOWN(SEND) half-closes the host stream"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_SNDBUF, 0),
               "host streams hold a whole credit window, so guest bytes need no second copy"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd"),
    SBX_ERRNO(openat, ENOENT, "no file is ever opened; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "no file is ever opened; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_vsockd = { vsockd, sizeof(vsockd) / sizeof(vsockd[0]) };
