#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * A vhost-user backend with no thread of its own (cellvm-rngd, cellvm-consoled): the runtime's
 * libevent loop receives the vhost-user messages and, on a kick or when a host fd is ready,
 * moves bytes between the guest's buffers and the fds handed in before the jail (rngd: the
 * entropy source; consoled: the console's output and input, whose terminal size is read before
 * the jail). Guest memory and eventfds arrive on the vhost-user socket (mapped shared, never
 * executable). No base table: nothing here creates a thread, opens a path, makes a socket or
 * asks a terminal anything.
 */
static const struct sbx_rule loopd[] = {
    SBX_ALLOW(read, "the host fd (entropy source, console input), kick and notify eventfds"),
    SBX_ALLOW(write, "console output, log lines on the stderr pipe, the kick resuming a pass"),
    SBX_ALLOW(close, "fds the process owns (memory regions, eventfds, frontend sockets)"),
    SBX_ALLOW(sendmsg, "vhost-user replies and control-channel messages"),
    SBX_ALLOW(recvmsg, "vhost-user requests with their fds, control-channel messages"),
    SBX_ALLOW1(recvfrom, SBX_ARG(4, SCMP_CMP_EQ, 0, 0),
               "recv(): the rest of a vhost-user message after its header"),
    SBX_ALLOW(epoll_create1, "libevent's loop, made after the jail"),
    SBX_ALLOW(epoll_ctl, "libevent: the socket, the kick fds and the host fds come and go"),
    SBX_ALLOW(epoll_wait, "libevent's loop waits"),
    SBX_ALLOW1(pipe2, SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(O_CLOEXEC | O_NONBLOCK), 0),
               "libevent's signal pipe, made when the loop starts after the jail"),
    SBX_ALLOW(rt_sigaction, "libevent's SIGTERM/SIGINT handlers"),
    SBX_ALLOW(rt_sigreturn, "return from libevent's signal handler"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFL, 0), "libevent: non-blocking fds"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFL, 0), "libevent: non-blocking fds"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFD, 0), "libevent: close-on-exec check"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFD, 0), "libevent: close-on-exec"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_ADD_SEALS, 0), "sealing the inflight memfd"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GET_SEALS, 0),
               "a received memfd (guest memory, inflight) must be sealed against shrinking"),
    SBX_ALLOW1(mmap, SBX_ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
               "guest memory and the inflight buffer, malloc; never executable"),
    SBX_ALLOW(munmap, "memory regions going away, free"),
    SBX_ALLOW(brk, "malloc grows the heap"),
    SBX_ALLOW(accept4, "--socket-path: the next frontend after a disconnect"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a frontend that stalls mid-message times out instead of hanging the loop"),
    SBX_ALLOW1(memfd_create,
               SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(MFD_CLOEXEC | MFD_ALLOW_SEALING), 0),
               "GET_INFLIGHT_FD: the inflight buffer shared with the frontend"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd"),
    SBX_ALLOW1(newfstatat, SBX_ARG(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH),
               "fstat() of a received memory region's fd; the root is empty, so no path resolves"),
    SBX_ALLOW1(getrusage, SBX_ARG(0, SCMP_CMP_EQ, 0 /* RUSAGE_SELF */, 0),
               "CPU time in the controller's Stats"),
    SBX_ALLOW(clock_gettime, "libevent's clock where the vDSO falls back to the syscall"),
    SBX_ALLOW(gettimeofday, "libevent re-syncs its cached wall clock every few seconds"),
    SBX_ALLOW(exit_group, "the process ends"),
    /* libevent compares real and effective ids before reading EVENT_* variables; an error
       answer reads as "not set-id", which this process is not. */
    SBX_ERRNO(getuid, EPERM, "libevent's set-uid check: answered, not needed"),
    SBX_ERRNO(geteuid, EPERM, "libevent's set-uid check: answered, not needed"),
    SBX_ERRNO(getgid, EPERM, "libevent's set-gid check: answered, not needed"),
    SBX_ERRNO(getegid, EPERM, "libevent's set-gid check: answered, not needed"),
    SBX_ERRNO(clone3, ENOSYS, "nothing here makes a thread; glibc's fallback, clone, dies"),
    SBX_ERRNO(openat, ENOENT, "no file is ever opened; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "no file is ever opened; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_loopd = { loopd, sizeof(loopd) / sizeof(loopd[0]) };
