#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

#include "sandbox/profile_rules.h"

/*
 * A vhost-user-net backend over TAP fds opened before the jail: guest memory and eventfds
 * arrive on the vhost-user socket (mapped shared, never executable: the base's mmap rule); one
 * thread per queue pair reads and writes its TAP queue. The only ioctls are the two that follow
 * the driver's feature choice on an fd already attached; creating or re-attaching a TAP
 * (TUNSETIFF) or touching interfaces is the controller's job and dies here.
 */
static const struct sbx_rule netd[] = {
    SBX_ALLOW(writev, "a transmitted frame: the checked header, then guest buffers, to the TAP"),
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
    SBX_ALLOW1(recvfrom, SBX_ARG(4, SCMP_CMP_EQ, 0, 0),
               "recv(): the rest of a vhost-user message after its header"),
    SBX_ALLOW(accept4, "--socket-path: the next frontend after a disconnect"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a frontend that stalls mid-message times out instead of hanging the loop"),
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
    SBX_IOCTL(TUNSETOFFLOAD, "TAP offloads follow the features the driver acked (SET_FEATURES)"),
    SBX_IOCTL(TUNSETVNETHDRSZ, "the vnet header is 10 or 12 bytes by the acked features"),
    SBX_ERRNO(openat, ENOENT, "every file is handed in; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "every file is handed in; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_netd = { netd, sizeof(netd) / sizeof(netd[0]) };
