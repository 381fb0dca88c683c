#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * What every device process (blockd, netd, vsockd) needs for the runtime they share,
 * device-procs/: the libevent control loop, the vhost-user socket and the inflight memfd.
 * Each role's own table adds its data path.
 */
static const struct sbx_rule devproc[] = {
    SBX_ALLOW(epoll_create1, "libevent control loop"),
    SBX_ALLOW(epoll_ctl, "libevent control loop"),
    SBX_ALLOW(epoll_wait, "libevent control loop"),
    SBX_ALLOW(epoll_pwait, "libevent control loop"),
    SBX_ALLOW1(pipe2, SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(O_CLOEXEC | O_NONBLOCK), 0),
               "libevent's signal pipe, made when the loop starts after the jail"),
    SBX_ALLOW(getuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(geteuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(getgid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(getegid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(accept4, "--socket-path: the next frontend after a disconnect"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a frontend that stalls mid-message times out instead of hanging the loop"),
    SBX_ALLOW1(getrusage, SBX_ARG(0, SCMP_CMP_EQ, 0 /* RUSAGE_SELF */, 0),
               "CPU time in the controller's Stats"),
    SBX_ALLOW1(memfd_create,
               SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(MFD_CLOEXEC | MFD_ALLOW_SEALING), 0),
               "GET_INFLIGHT_FD: the inflight buffer shared with the frontend"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFD, 0), "libevent: close-on-exec check"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFD, 0), "libevent: close-on-exec"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_ADD_SEALS, 0), "sealing the inflight memfd"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GET_SEALS, 0),
               "a received memfd (guest memory, inflight) must be sealed against shrinking"),
};

const struct sbx_rule_table sbx_rules_devproc = { devproc, sizeof(devproc) / sizeof(devproc[0]) };
