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
    SBX_ALLOW(io_uring_enter, "transmitted frames in batches: the pair's ring, made before the "
                              "jail, runs only WRITEV on its TAP (sandbox/uring.h)"),
    SBX_ALLOW1(recvfrom, SBX_ARG(4, SCMP_CMP_EQ, 0, 0),
               "recv(): the rest of a vhost-user message after its header"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd"),
    SBX_IOCTL(TUNSETOFFLOAD, "TAP offloads follow the features the driver acked (SET_FEATURES)"),
    SBX_IOCTL(TUNSETVNETHDRSZ, "the vnet header is 10 or 12 bytes by the acked features"),
    SBX_ERRNO(openat, ENOENT, "every file is handed in; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "every file is handed in; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_netd = { netd, sizeof(netd) / sizeof(netd[0]) };
