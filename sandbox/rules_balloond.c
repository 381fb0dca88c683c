#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/falloc.h>

#include "sandbox/profile_rules.h"

/*
 * A vhost-user-balloon backend: guest memory and eventfds arrive on the vhost-user socket
 * (mapped shared, never executable: the base's mmap rule), and the memory fds are kept so that
 * pages the guest gives up can be punched out of the file. One thread per queue (inflate,
 * deflate, reporting) waits on its kick fd and a stop eventfd made before the jail. fallocate
 * may only punch (PUNCH_HOLE | KEEP_SIZE): never grow, allocate or zero-range a guest file.
 */
static const struct sbx_rule balloond[] = {
    SBX_ALLOW1(fallocate, SBX_ARG(1, SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0),
               "inflated and reported pages are punched out of the guest memory file"),
    SBX_ALLOW1(recvfrom, SBX_ARG(4, SCMP_CMP_EQ, 0, 0),
               "recv(): the rest of a vhost-user message after its header"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd"),
    SBX_ERRNO(openat, ENOENT, "no file is ever opened; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "no file is ever opened; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_balloond = { balloond,
                                                   sizeof(balloond) / sizeof(balloond[0]) };
