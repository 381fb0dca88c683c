#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * A vhost-user-vsock backend: guest memory and eventfds arrive on the vhost-user socket (mapped
 * shared, never executable: the base's mmap rule); the hybrid listener, the epoll set and the
 * worker's eventfd exist before the jail. It makes no socket of its own: a guest's connect to
 * host port P is a request on the connect channel (recvmsg/sendmsg, in the base), answered
 * with a socket connected to <socket>_P by the controller or, standalone, by the connector
 * forked before the jail (vsockd/vconn.h). No socket, connect, bind, listen or open.
 */
static const struct sbx_rule vsockd[] = {
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
