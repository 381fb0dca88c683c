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
    SBX_ALLOW(epoll_create1, "libevent control loop"),
    SBX_ALLOW(epoll_ctl, "libevent control loop; host sockets join the data-plane epoll set"),
    SBX_ALLOW(epoll_wait, "libevent control loop and the data-plane thread"),
    SBX_ALLOW(epoll_pwait, "libevent control loop and the data-plane thread"),
    SBX_ALLOW1(pipe2, SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(O_CLOEXEC | O_NONBLOCK), 0),
               "libevent's signal pipe, made when the loop starts after the jail"),
    SBX_ALLOW(getuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(geteuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(getgid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(getegid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(accept4, "the next frontend, and host programs on the hybrid socket"),
    SBX_ALLOW2(socket, SBX_ARG(0, SCMP_CMP_EQ, AF_UNIX, 0),
               SBX_ARG(1, SCMP_CMP_EQ, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
               "a guest connect to host port P: a unix stream to <socket>_P"),
    SBX_ALLOW(connect,
              "to <socket>_P in the bind-mounted socket directory (nothing else is there)"),
    SBX_ALLOW(recvfrom, "the CONNECT line is peeked so bytes behind it stay in the socket"),
    SBX_ALLOW(shutdown, "a guest SHUTDOWN(SEND) half-closes the host stream"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a frontend that stalls mid-message times out instead of hanging the loop"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_SNDBUF, 0),
               "host streams hold a whole credit window, so guest bytes need no second copy"),
    SBX_ALLOW1(getrusage, SBX_ARG(0, SCMP_CMP_EQ, 0 /* RUSAGE_SELF */, 0),
               "CPU time in the controller's Stats"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd"),
    SBX_ALLOW1(memfd_create,
               SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(MFD_CLOEXEC | MFD_ALLOW_SEALING), 0),
               "GET_INFLIGHT_FD: the inflight buffer shared with the frontend"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFD, 0), "libevent: close-on-exec check"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFD, 0), "libevent: close-on-exec"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_ADD_SEALS, 0), "sealing the inflight memfd"),
    SBX_ERRNO(openat, ENOENT, "no file is ever opened; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "no file is ever opened; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_vsockd = { vsockd, sizeof(vsockd) / sizeof(vsockd[0]) };
