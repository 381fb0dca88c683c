#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * cellvm-api: HTTP over the --api-socket listener it was handed, relayed to evhttp through
 * AF_UNIX sockets in its own (empty) network namespace, and protobuf to the controller on its
 * channel. It opens no file, maps nothing shared and never creates a process.
 */
static const struct sbx_rule api[] = {
    SBX_ALLOW(epoll_create1, "libevent control loop, made after the jail"),
    SBX_ALLOW(epoll_ctl, "libevent control loop"),
    SBX_ALLOW(epoll_wait, "libevent control loop"),
    SBX_ALLOW(epoll_pwait, "libevent control loop"),
    SBX_ALLOW1(pipe2, SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(O_CLOEXEC | O_NONBLOCK), 0),
               "libevent's signal pipe, made when the loop starts"),
    SBX_ALLOW(getuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(geteuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(getgid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(getegid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(accept4, "API clients, and evhttp accepting the relayed connections"),
    SBX_ALLOW1(socket, SBX_ARG(0, SCMP_CMP_EQ, AF_UNIX, 0),
               "one relay socket per client towards evhttp, AF_UNIX only"),
    SBX_ALLOW(bind, "the relay socket autobinds an abstract name (private network namespace)"),
    SBX_ALLOW(connect, "the relay socket connects to evhttp's private listener"),
    SBX_ALLOW(getsockname, "the relay socket's autobound name"),
    SBX_ALLOW(getpeername, "evhttp's peer name identifies the client whose fds a request gets"),
    SBX_ALLOW1(shutdown, SBX_ARG(1, SCMP_CMP_EQ, SHUT_WR, 0),
               "a half-closed client: evhttp sees the end once the bytes are through"),
    SBX_ALLOW(readv, "evhttp reads requests"),
    SBX_ALLOW(writev, "evhttp writes answers"),
    SBX_ALLOW(sendto, "libevent writes to sockets with send()"),
    SBX_ALLOW(recvfrom, "libevent reads sockets with recv()"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_REUSEADDR, 0),
               "evhttp marks the listener it is handed reusable"),
    SBX_ALLOW2(getsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_ERROR, 0), "libevent checks a socket's pending error"),
    SBX_ALLOW(ioctl, "libevent's FIONREAD sizes a read (no device is open in this process)"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFD, 0), "libevent: close-on-exec check"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFD, 0), "libevent: close-on-exec"),
    SBX_ALLOW(getrandom, "json-c seeds its hash tables, libevent its secure RNG"),
    SBX_ALLOW(time, "evhttp's Date header"),
    SBX_ERRNO(openat, ENOENT, "no file is opened; library probes (timezone) fail softly"),
    SBX_ERRNO(open, ENOENT, "no file is opened; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_api = { api, sizeof(api) / sizeof(api[0]) };
